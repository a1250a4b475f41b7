//! Logs as telemetry (issue 18 item 4): `ingest --logs` writes the long layout the
//! library computes, byte for byte the same on every run; scenarios read it, or the
//! mappings directly; malformed mappings and lines are located, never a panic; the
//! workbench opens a mapping like a telemetry file.

use twinbench::io::logs;
use twinbench::io::telemetry;
use twinbench::model::SeriesKey;

use crate::support::{root, stderr, stdout, twinbench, write};

#[test]
fn ingest_logs_writes_what_the_mapping_computes() {
    let dir = tempfile::tempdir().unwrap();
    let want = logs::ingest_mapping(&root().join("scenarios/logs/nginx.yaml")).unwrap();
    for name in ["web.csv", "web.parquet"] {
        let out = dir.path().join(name);
        let run = twinbench(&[
            "ingest",
            "--logs",
            "scenarios/logs/nginx.yaml",
            "assets/logs/shop-web.log.gz",
            "--out",
            out.to_str().unwrap(),
            "--stats",
        ]);
        assert!(run.status.success(), "{}", stderr(&run));
        let text = stderr(&run);
        assert!(text.contains("from 23508 of 23508 log lines in 1 files"), "{text}");
        assert!(text.contains("MB/s of log text") && text.contains("nginx split parser"), "{text}");
        let table = telemetry::read_table(&out).unwrap();
        assert_eq!(table.series, want.series, "{name}");
    }
    // Byte-identical output on a second run; the mapping's own files by default.
    let again = dir.path().join("again.csv");
    let run = twinbench(&["ingest", "--logs", "scenarios/logs/nginx.yaml", "--out", again.to_str().unwrap(), "--json"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(std::fs::read(dir.path().join("web.csv")).unwrap(), std::fs::read(&again).unwrap());
    let v: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!((v["lines"].as_u64(), v["series"].as_u64(), v["unparsable"].as_u64()), (Some(23_508), Some(3), Some(0)));

    // A scenario references the telemetry written.
    let scenario = write(
        dir.path(),
        "web.ron",
        "(version: 1, name: \"web\", start: \"2026-11-01T00:00:00Z\", days: 1,\n twins: [(id: \"shop-web\", kind: \"load_balancer\")], telemetry: \"web.parquet\")",
    );
    let run = twinbench(&["info", scenario.to_str().unwrap(), "--json"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let v: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!(v["series"], 3);
    assert_eq!(v["samples"].as_u64().unwrap() as usize, want.samples());
}

#[test]
fn the_sample_scenario_reads_both_logs() {
    let run = twinbench(&["info", "scenarios/shop-logs.ron", "--json"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let v: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!((v["twins"].as_u64(), v["series"].as_u64()), (Some(4), Some(15)));
    assert_eq!(v["start"], "2026-11-01T00:00:00Z");
    // A mapping opens as a scenario too (`info`, `learn`, the workbench).
    let run = twinbench(&["info", "scenarios/logs/jsonl.yaml", "--json"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let v: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!((v["twins"].as_u64(), v["series"].as_u64()), (Some(3), Some(12)));
    // Learned from a mapping, the scenario names the mapping as its `logs`.
    let dir = tempfile::tempdir().unwrap();
    let learned = dir.path().join("learned.ron");
    let run = twinbench(&["learn", "scenarios/logs/nginx.yaml", "--out", learned.to_str().unwrap()]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(std::fs::read_to_string(&learned).unwrap().contains("logs: ["));
    let run = twinbench(&["info", learned.to_str().unwrap(), "--json"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let v: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!((v["series"].as_u64(), v["workload_models"]["learned"].as_u64()), (Some(3), Some(3)));
    // A mapping without `files:` cannot be opened by itself, and says so.
    let bare = write(
        dir.path(),
        "bare.yaml",
        "version: 1\nformat: json\ntwin: a\ntimestamp: {field: ts}\nmetrics: [{name: n, aggregate: rate}]\n",
    );
    let run = twinbench(&["info", bare.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("the log mapping names no log files"), "{}", stderr(&run));
    // A scenario whose logs name a twin it does not declare says which.
    let mapping = root().join("scenarios/logs/nginx.yaml");
    let bad = write(
        dir.path(),
        "s.ron",
        &format!(
            "(version: 1, name: \"s\", start: \"2026-11-01T00:00:00Z\", days: 1,\n twins: [(id: \"web\", kind: \"service\")], logs: [{:?}])",
            mapping.display()
        ),
    );
    let run = twinbench(&["info", bad.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("names twin \"shop-web\", which the scenario does not declare"), "{}", stderr(&run));
}

#[test]
fn malformed_mappings_and_lines_are_located_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.csv");
    let out = out.to_str().unwrap();
    let mapping = write(
        dir.path(),
        "m.yaml",
        "version: 1\nformat: json\ntwin: {field: service}\ntimestamp: {field: ts}\nmetrics:\n  - {name: errors, aggregate: count, where: {field: level, op: '~', value: error}}\n",
    );
    let log = write(dir.path(), "a.jsonl", "{\"ts\": 1793491200, \"service\": \"a\"}\n");
    let run = twinbench(&["ingest", "--logs", mapping.to_str().unwrap(), log.to_str().unwrap(), "--out", out]);
    assert_eq!(run.status.code(), Some(2));
    let e = stderr(&run);
    assert!(e.contains("m.yaml:6:") && e.contains("metrics[0].where: unknown op \"~\""), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");

    // Bad lines: counted and reported by position; the good ones are written.
    let mapping = write(
        dir.path(),
        "m.yaml",
        "version: 1\nformat: json\ntwin: {field: service}\ntimestamp: {field: ts}\nmetrics:\n  - {name: errors, aggregate: count, where: {field: level, op: '==', value: error}}\n",
    );
    let log = write(
        dir.path(),
        "a.jsonl",
        "{\"ts\": 1793491200, \"service\": \"a\", \"level\": \"error\"}\n{\"ts\": \"yesterday\", \"service\": \"a\"}\n{oops\n{\"ts\": 1793491260, \"service\": \"a\"}\n",
    );
    let run = twinbench(&["ingest", "--logs", mapping.to_str().unwrap(), log.to_str().unwrap(), "--out", out]);
    assert!(run.status.success(), "{}", stderr(&run));
    let e = stderr(&run);
    assert!(e.contains("2 unparsable lines"), "{e}");
    assert!(e.contains("a.jsonl:2: cannot read \"yesterday\" as a timestamp"), "{e}");
    assert!(e.contains("a.jsonl:3:2: not a JSON object"), "{e}");
    let table = telemetry::read_table(std::path::Path::new(out)).unwrap();
    assert_eq!(table.series[&SeriesKey::new("a", "errors")].values, vec![1.0, 0.0]);

    // Flags.
    let run = twinbench(&["ingest", "--logs", mapping.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("--logs needs --out"), "{}", stderr(&run));
    let run = twinbench(&["ingest", "--logs", mapping.to_str().unwrap(), log.to_str().unwrap(), "--out", "x.txt"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("--out must end in .csv or .parquet"), "{}", stderr(&run));
    let run = twinbench(&["ingest", "--logs", mapping.to_str().unwrap(), "--out", out]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("no log files"), "{}", stderr(&run));
    let run = twinbench(&["ingest", "--logs", "nope.yaml", "--out", out]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("cannot read log mapping") && stderr(&run).contains("nope.yaml"));
}

#[test]
fn garbled_mappings_never_panic() {
    use rand::SeedableRng;
    let text: Vec<char> = std::fs::read_to_string(root().join("scenarios/logs/nginx.yaml")).unwrap().chars().collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(26);
    let junk = ['{', '}', '[', ']', ':', '\'', '"', '\n', ' ', '-', '(', '?', '*', 'x', '0', '%'];
    let path = std::path::Path::new("garbled.yaml");
    for _ in 0..2000 {
        let mutant = crate::support::garble(&mut rng, &text, &junk);
        if let Err(e) = logs::mapping::parse(path, &mutant) {
            let e = e.to_string();
            assert!(e.starts_with("garbled.yaml:"), "{e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }
}

#[cfg(feature = "gui")]
#[test]
fn the_workbench_opens_a_log_mapping_like_a_telemetry_file() {
    use eframe::egui;
    use egui_kittest::Harness;
    use twinbench::ui::command::Command;
    use twinbench::ui::{Launch, Source, WorkbenchApp};

    let launch = Launch { scenario: Some(root().join("scenarios/logs/nginx.yaml")), ..Launch::default() };
    let mut harness =
        Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_eframe(move |cc| WorkbenchApp::new(cc, launch));
    crate::gui::wait_until(&mut harness, "the log mapping and its learned twins", |app| {
        app.is_ready() && !app.is_learning()
    });
    let s = harness.state().scenario().unwrap();
    assert_eq!(s.name, "nginx");
    assert!(s.graph.twin(&"shop-web".into()).is_some());
    assert_eq!(s.telemetry.keys().count(), 3);
    // A broken mapping keeps what is open and says where it is broken.
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.yaml", "version: 1\nformat: regex\npattern: '(unclosed'\n");
    harness.state_mut().push_command(Command::Open(Source::from_path(bad)));
    // Other notifications (the twins learned) may come first: wait for this one.
    crate::gui::wait_until(&mut harness, "the error naming bad.yaml", |app| {
        app.notification_texts().iter().any(|t| t.contains("bad.yaml:"))
    });
    assert_eq!(harness.state().scenario().map(|s| s.name.as_str()), Some("nginx"));
}
