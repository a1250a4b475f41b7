use super::*;
use crate::io::experiment::parse_experiment;
use crate::model::{Twin, TwinKind};

fn graph() -> TwinGraph {
    let mut g = TwinGraph::new();
    g.add_twin(Twin::new("db", TwinKind::Database)).unwrap();
    g.add_twin(Twin::new("web", TwinKind::Service)).unwrap();
    g.add_twin(Twin::new("api", TwinKind::Service)).unwrap();
    g
}

const RON: &str = r#"(
    title: "db dies",
    duration: "2h",
    steady_state: (title: "web works", policies: [
        (name: "web-ok", selector: (kinds: ["service"]), rules: [
            (metric: "error_rate", operator: ">", threshold: 5),
            (metric: "latency_ms", aggregation: "avg", window: "5m", operator: ">", threshold: 500),
        ]),
    ]),
    method: [
        fault(kind: crash, targets: ["db"], at: "10m", duration: "1h"),
        fault(kind: cpu_hog(percent: 150), targets: ["web"], at: "5m"),
        fault(kind: memory_leak(percent_per_hour: 20), targets: ["web"], at: "5m"),
        fault(kind: latency(ms: 250), targets: ["api"], at: "20m"),
        fault(kind: partition, targets: ["api"], at: "30m"),
        fault(kind: disk_fill(percent_per_hour: 20), targets: ["db"], at: "30m"),
        fault(kind: dependency_outage(dependency: "db"), targets: ["web"], at: "40m"),
        fault(kind: traffic_spike(factor: 3), targets: ["web"], at: "50m"),
    ],
    rollbacks: [(at: "90m", twins: ["api"]), (at: "2h")],
)"#;

fn exported(src: &str) -> (Exported, CtkExperiment) {
    let g = graph();
    let path = Path::new("e.ron");
    let file: ExperimentFile = crate::io::format::parse_ron(path, src).unwrap();
    let e = parse_experiment(path, src, &g).unwrap();
    let out = export(path, &file, &e, &g, Path::new("out.json")).unwrap();
    let doc: CtkExperiment = serde_json::from_str(&out.text).unwrap();
    (out, doc)
}

fn strip_extension(text: &str) -> String {
    let mut v: Value = serde_json::from_str(text).unwrap();
    v.as_object_mut().unwrap().remove("extensions");
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn every_fault_type_has_one_row_and_reads_back() {
    for ty in FaultType::ALL {
        assert_eq!(PROVIDERS.iter().filter(|r| r.fault == ty).count(), 1, "{}", ty.label());
    }
    let (_, doc) = exported(RON);
    let g = graph();
    for a in &doc.method {
        assert!(read_action(a, &g).is_ok(), "{}", a.name);
    }
}

#[test]
fn export_shapes_probes_pauses_and_rollbacks() {
    let (out, doc) = exported(RON);
    let h = doc.steady_state_hypothesis.as_ref().unwrap();
    assert_eq!(h.title, "web works");
    assert_eq!(h.probes.len(), 2);
    assert_eq!(h.probes[0].name, "web-ok");
    assert_eq!(h.probes[0].provider.arguments["query"], json!("error_rate{twin=~\"api|web\"} > 5"));
    assert_eq!(
        h.probes[1].provider.arguments["query"],
        json!("avg_over_time(latency_ms{twin=~\"api|web\"}[5m]) > 500")
    );
    // Sorted by offset, pauses between them; the last runs to the end (2 h).
    let names: Vec<&str> = doc.method.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names[0], "cpu_hog web");
    assert_eq!(doc.method[0].pauses.unwrap().before, Some(300.0));
    assert_eq!(doc.method[1].pauses, None);
    let last = doc.method.last().unwrap();
    assert_eq!(last.name, "stop partition api");
    assert_eq!(last.pauses.unwrap().after, Some(1800.0));
    // The rollback at the end undoes every fault.
    assert_eq!(doc.rollbacks.len(), 8);
    assert!(out.notes.iter().any(|n| n.contains("duration")), "{:?}", out.notes);
}

#[test]
fn import_uses_the_extension_while_the_native_part_is_unchanged() {
    let g = graph();
    let (out, _) = exported(RON);
    let original: ExperimentFile = crate::io::format::parse_ron(Path::new("e.ron"), RON).unwrap();
    let back = import(Path::new("x.json"), &out.text, &g).unwrap();
    assert_eq!(back, original);
    // Edited natively: the native part decides.
    let edited = out.text.replace("\"latency\": 250", "\"latency\": 400");
    let back = import(Path::new("x.json"), &edited, &g).unwrap();
    assert!(
        back.method
            .iter()
            .any(|m| matches!(m, MethodFile::Fault { kind: FaultFile::Latency { ms }, .. } if *ms == 400.0))
    );
}

#[test]
fn the_native_part_alone_reads_the_same_experiment() {
    let g = graph();
    let (out, _) = exported(RON);
    let native = strip_extension(&out.text);
    assert!(is_chaostoolkit(&native));
    let e = parse_experiment(Path::new("x.json"), &native, &g).unwrap();
    let original = parse_experiment(Path::new("e.ron"), RON, &g).unwrap();
    assert_eq!(e.duration_secs, original.duration_secs);
    assert_eq!(e.hypothesis.len(), 1);
    assert_eq!(e.hypothesis[0].rules, original.hypothesis[0].rules);
    let kinds = |e: &Experiment| -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = e
            .method
            .iter()
            .filter_map(|m| match m {
                MethodStep::Fault { kind, at_secs, .. } => Some((kind.to_string(), *at_secs)),
                MethodStep::Random { .. } => None,
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(kinds(&e), kinds(&original));
    assert_eq!(e.rollbacks.len(), 2);
    assert_eq!(e.rollbacks[0].at_secs, 5400);
    assert_eq!(e.rollbacks[0].twins, vec![TwinId::from("api")]);
    assert_eq!(e.rollbacks[1].at_secs, 7200);
    assert!(e.rollbacks[1].twins.is_empty());
}

#[test]
fn twinbench_json_experiments_are_not_chaostoolkit() {
    assert!(!is_chaostoolkit(r#"{"title": "x", "method": [{"fault": {"kind": "crash"}}]}"#));
    assert!(!is_chaostoolkit("{ broken"));
    assert!(is_chaostoolkit(r#"{"title": "x", "method": [{"type": "action"}]}"#));
}

#[test]
fn malformed_experiments_are_located_and_name_the_activity() {
    let g = graph();
    let (out, _) = exported(RON);
    let native = strip_extension(&out.text);
    let err = |text: &str| parse_experiment(Path::new("x.json"), text, &g).unwrap_err().to_string();
    let line_of = |text: &str, needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;

    // Bad JSON: the parser's line and column.
    let broken = native.replacen("\"title\":", "\"title\" ", 1);
    let e = err(&broken);
    assert!(e.starts_with("x.json:2:"), "{e}");

    // A provider outside the table: the activity named, at its line.
    let foreign = native.replacen("chaostoxi.proxy.actions", "chaosaws.ec2.actions", 1);
    let e = err(&foreign);
    assert!(e.contains("activity \"partition api\"") && e.contains("chaosaws.ec2.actions.disable_proxy"), "{e}");
    assert!(e.starts_with(&format!("x.json:{}:", line_of(&foreign, "\"partition api\""))), "{e}");

    // A missing field: serde's position.
    let missing = native.replacen("\"provider\": {", "\"provder\": {", 1);
    let e = err(&missing);
    assert!(e.contains("missing field `provider`"), "{e}");
    assert!(e.starts_with("x.json:"), "{e}");

    // An unknown twin.
    let unknown = native.replacen("twin=db", "twin=dbx", 1);
    let e = err(&unknown);
    assert!(e.contains("unknown twin \"dbx\""), "{e}");

    // A probe with another tolerance.
    let tolerance = native.replacen("\"count\": 0", "\"count\": 1", 1);
    let e = err(&tolerance);
    assert!(e.contains("activity \"web-ok\"") && e.contains("tolerance"), "{e}");
}

#[test]
fn random_faults_travel_in_the_extension_only() {
    let src = r#"(
    title: "random",
    duration: "2h",
    steady_state: (policies: [(name: "ok", rules: [(metric: "error_rate", operator: ">", threshold: 5)])]),
    method: [random(kinds: [latency(ms: 200)], rate_per_hour: 2, selector: (kinds: ["service"]), duration: "5m")],
)"#;
    let g = graph();
    let (out, doc) = exported(src);
    assert!(doc.method.is_empty());
    assert!(out.notes.iter().any(|n| n.contains("random faults")), "{:?}", out.notes);
    let original: ExperimentFile = crate::io::format::parse_ron(Path::new("e.ron"), src).unwrap();
    assert_eq!(import(Path::new("x.json"), &out.text, &g).unwrap(), original);
    // Without the extension there is nothing to run, and the error says so.
    let e = parse_experiment(Path::new("x.json"), &strip_extension(&out.text), &g).unwrap_err().to_string();
    assert!(e.contains("the method has no fault action"), "{e}");
}

#[test]
fn magnitudes_and_extensions_are_checked_at_the_activity() {
    let g = graph();
    let (out, _) = exported(RON);
    let native = strip_extension(&out.text);
    let e = parse_experiment(Path::new("x.json"), &native.replacen("\"workers\": 2", "\"workers\": 0", 1), &g)
        .unwrap_err()
        .to_string();
    assert!(e.contains("activity \"cpu_hog web\"") && e.contains("percent must be above 0"), "{e}");
    let broken = out.text.replacen("\"native\":", "\"nativ\":", 1);
    let e = parse_experiment(Path::new("x.json"), &broken, &g).unwrap_err().to_string();
    assert!(e.contains("extensions[0] (twinbench)") && e.contains("nativ"), "{e}");
    assert!(e.starts_with("x.json:"), "{e}");
}
