//! Policies in three formats, plans in three formats, and `verify` refusing a stale plan.

use crate::support::{stderr, stdout, twinbench, write};

const POLICY: &str = "scenarios/policies/webshop-remediation";

#[test]
fn the_same_policy_in_yaml_json_and_ron_gives_identical_results() {
    let outputs: Vec<String> = ["yaml", "json", "ron"]
        .iter()
        .map(|ext| {
            let out = twinbench(&["check", "scenarios/webshop.ron", "--policy", &format!("{POLICY}.{ext}"), "--json"]);
            assert_eq!(out.status.code(), Some(1), "{ext}: {}", stderr(&out));
            stdout(&out)
        })
        .collect();
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
    let v: serde_json::Value = serde_json::from_str(&outputs[0]).unwrap();
    assert!(
        v["current"].as_array().unwrap().iter().any(|c| c["policy"] == "db-disk-headroom" && c["twin"] == "db-primary")
    );
}

#[test]
fn json_plan_loads_and_verify_refuses_it_after_one_config_change() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let policy = format!("{POLICY}.yaml");
    let out = twinbench(&[
        "plan",
        "scenarios/webshop.ron",
        "--policy",
        &policy,
        "--approve",
        "all",
        "--out",
        plan.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let changes = v["resource_changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    let first = &changes[0];
    assert_eq!(first["address"], "database.db-primary");
    assert_eq!(first["change"]["actions"][0], "update");
    assert_eq!(first["change"]["before"]["capacity.disk_gib"], "2000");
    assert_eq!(first["change"]["after"]["capacity.disk_gib"], "2500");
    assert_eq!(first["twinbench"]["approval"]["status"], "approved");
    assert!(first["action_reason"].as_str().unwrap().contains("db-disk-headroom"));
    // Same inputs, same bytes.
    let again = dir.path().join("again.json");
    twinbench(&[
        "plan",
        "scenarios/webshop.ron",
        "--policy",
        &policy,
        "--approve",
        "all",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&plan).unwrap(), std::fs::read(&again).unwrap());

    let ok = twinbench(&["verify", plan.to_str().unwrap(), "--scenario", "scenarios/webshop.ron", "--policy", &policy]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let text = std::fs::read_to_string(crate::support::root().join("scenarios/webshop.ron")).unwrap();
    let changed = text.replacen("\"max_connections\": 500", "\"max_connections\": 400", 1);
    assert_ne!(changed, text);
    let changed_path = write(dir.path(), "changed.ron", &changed);
    let stale = twinbench(&[
        "verify",
        plan.to_str().unwrap(),
        "--scenario",
        changed_path.to_str().unwrap(),
        "--policy",
        &policy,
    ]);
    assert_eq!(stale.status.code(), Some(3));
    assert!(stderr(&stale).contains("stale") && stderr(&stale).contains("db-primary"), "{}", stderr(&stale));
}

#[test]
fn ron_and_markdown_plans_carry_the_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    for (ext, approve) in [("ron", "none"), ("md", "all")] {
        let plan = dir.path().join(format!("plan.{ext}"));
        let out = twinbench(&["plan", "scenarios/webshop.ron", "--approve", approve, "--out", plan.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let ok = twinbench(&["verify", plan.to_str().unwrap(), "--scenario", "scenarios/webshop.ron"]);
        assert_eq!(ok.status.code(), Some(0), "{ext}: {}", stderr(&ok));
    }
    let md = std::fs::read_to_string(dir.path().join("plan.md")).unwrap();
    assert!(md.contains("# Remediation plan: webshop") && md.contains("- [ ] Done"));
    let bad = twinbench(&[
        "plan",
        "scenarios/webshop.ron",
        "--approve",
        "nope123",
        "--out",
        dir.path().join("x.json").to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("no proposed action has id \"nope123\""), "{}", stderr(&bad));
    let garbage = write(dir.path(), "garbage.json", "{\"format_version\": 1");
    let out = twinbench(&["verify", garbage.to_str().unwrap(), "--scenario", "scenarios/webshop.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("garbage.json:1:"), "{}", stderr(&out));
}

#[test]
fn predicted_violations_become_proposals_ranked_by_urgency() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let out = twinbench(&["plan", "scenarios/webshop.ron", "--approve", "none", "--out", plan.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let reasons: Vec<&str> =
        v["resource_changes"].as_array().unwrap().iter().map(|c| c["action_reason"].as_str().unwrap()).collect();
    let predicted = reasons
        .iter()
        .find(|r| r.starts_with("predicted violation of disk-space"))
        .unwrap_or_else(|| panic!("{reasons:?}"));
    assert!(predicted.contains("probability"), "{predicted}");
    // Shorter horizons see less: a day ahead, nothing about the disk is predicted.
    let out = twinbench(&[
        "plan",
        "scenarios/webshop.ron",
        "--horizon",
        "24",
        "--approve",
        "none",
        "--out",
        plan.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(!text.contains("predicted violation of disk-space"), "{text}");
}

/// A service whose latency jumps for its last 40 minutes: a sustained anomaly.
pub(crate) fn anomalous_estate(dir: &std::path::Path) -> std::path::PathBuf {
    let start: i64 = 1_789_948_800; // 2026-09-21T00:00:00Z
    let n = 3 * 288;
    let mut csv = String::from("timestamp,twin,metric,value\n");
    for k in 0..n {
        let t = start + k * 300;
        let mut latency = 20.0 + ((k * 7919) % 13) as f64 * 0.4;
        if k >= n - 8 {
            latency *= 3.0 + ((k * 31) % 7) as f64 * 0.5;
        }
        let cpu = 30.0 + ((k * 104_729) % 11) as f64 * 0.5;
        csv.push_str(&format!("{t},api,latency_ms,{latency:.1}\n{t},api,cpu_usage,{cpu:.1}\n"));
    }
    write(dir, "estate.csv", &csv);
    let ron = "(version: 1, name: \"anomalous\", resolution_secs: 300, start: \"2026-09-21T00:00:00Z\", days: 3, \
               telemetry: \"estate.csv\", twins: [(id: \"api\", kind: \"service\", capacity: (replicas: 2))])";
    write(dir, "estate.ron", ron)
}

#[test]
fn sustained_anomalies_become_findings_with_actions() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = anomalous_estate(dir.path());
    let s = scenario.to_str().unwrap();
    let plan = dir.path().join("plan.json");
    // No anomaly rule in force: the built-in one asks on-call to look.
    let out = twinbench(&["plan", s, "--out", plan.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("api notify on-call"), "{err}");
    assert!(err.contains("sustained anomaly of latency_ms"), "{err}");
    assert!(err.contains("anomaly-watch"), "{err}");
    assert!(!err.contains("of cpu_usage"), "the steady metric is no finding: {err}");
    // A policy's anomaly rule with bound actions: they are proposed, ranked with the rest.
    let policy = write(
        dir.path(),
        "anomalies.yaml",
        "policies:\n  - name: api-anomalies\n    severity: high\n    rules:\n      \
         - anomaly: {metric: latency_ms, min_score: 0.8, for: 15m}\n    actions:\n      \
         - scale_out: {replicas: 1}\n      - notify: {to: api-oncall}\n",
    );
    let out = plan_with(&scenario, &policy, &plan);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("api add 1 replica(s)"), "{err}");
    assert!(err.contains("api notify api-oncall"), "{err}");
    assert!(!err.contains("anomaly-watch"), "a policy's own anomaly rules replace the built-in: {err}");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert!(doc.to_string().contains("sustained anomaly of latency_ms"), "the plan says why");
    // Longer than the anomaly has lasted: no finding.
    let policy = write(
        dir.path(),
        "patient.yaml",
        "- name: patient\n  rules:\n    - anomaly: {metric: latency_ms, min_score: 0.8, for: 2h}\n",
    );
    let out = plan_with(&scenario, &policy, &plan);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("0 findings"), "{}", stderr(&out));
}

#[test]
fn malformed_anomaly_rules_are_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = anomalous_estate(dir.path());
    for (text, needle) in [
        ("- name: p\n  rules:\n    - anomaly: {metric: latency_ms, min_score: 1.5}\n", "min_score: must be in (0, 1]"),
        ("- name: p\n  rules:\n    - anomaly: {metric: latency_ms, for: soon}\n", "anomaly.for"),
        (
            "- name: p\n  rules:\n    - anomaly: {metric: latency_ms}\n      threshold: 3\n",
            "an anomaly rule has no threshold",
        ),
        ("- name: p\n  rules:\n    - anomaly: {min_score: 0.9}\n", "metric"),
        ("- name: p\n  rules:\n    - {metric: cpu_usage, operator: \">\"}\n", "threshold: missing"),
    ] {
        let policy = write(dir.path(), "bad.yaml", text);
        let out = plan_with(&scenario, &policy, &dir.path().join("p.json"));
        assert_eq!(out.status.code(), Some(2), "{text}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(needle), "{text}: {err}");
        assert!(err.contains("bad.yaml:"), "located: {err}");
    }
}

/// The fingerprint is a canonical serialisation: the same in separate processes, and
/// unchanged when a policy file's keys (or its policies) come in another order.
#[test]
fn plan_fingerprints_are_canonical() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(format!("{POLICY}.json")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&original).unwrap();
    // serde_json's maps sort their keys: written back, every key moves.
    if let Some(list) = doc.get_mut("policies").and_then(|p| p.as_array_mut()) {
        list.reverse();
    } else if let Some(list) = doc.as_array_mut() {
        list.reverse();
    }
    let reordered_text = serde_json::to_string_pretty(&doc).unwrap();
    assert_ne!(reordered_text, original);
    let reordered = write(dir.path(), "reordered.json", &reordered_text);
    let fingerprint = |policy: &str, out: &str| {
        let out_path = dir.path().join(out);
        let o = twinbench(&["plan", "scenarios/webshop.ron", "--policy", policy, "--out", out_path.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let plan: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
        plan["fingerprint"].as_str().unwrap().to_string()
    };
    let a = fingerprint(&format!("{POLICY}.json"), "a.json");
    let b = fingerprint(&format!("{POLICY}.json"), "b.json");
    let c = fingerprint(reordered.to_str().unwrap(), "c.json");
    let yaml = fingerprint(&format!("{POLICY}.yaml"), "d.json");
    assert_eq!(a, b, "two processes");
    assert_eq!(a, c, "reordered keys and policies");
    assert_eq!(a, yaml, "the same policies in another format");
}

/// The database stopped serving 20 minutes before the end; its caller is slow since.
#[test]
fn a_plan_acts_on_the_root_cause_and_explains_the_symptoms() {
    let dir = tempfile::tempdir().unwrap();
    let start: i64 = 1_789_948_800; // 2026-09-21T00:00:00Z
    let n = 288;
    let mut csv = String::from("timestamp,twin,metric,value\n");
    for k in 0..n {
        let t = start + k * 300;
        let down = k >= n - 4;
        let latency = if down { 900.0 } else { 40.0 + (k % 5) as f64 };
        csv.push_str(&format!("{t},db,up,{}\n{t},api,latency_ms,{latency:.1}\n", if down { 0 } else { 1 }));
    }
    write(dir.path(), "estate.csv", &csv);
    let scenario = write(
        dir.path(),
        "estate.ron",
        "(version: 1, name: \"outage\", resolution_secs: 300, start: \"2026-09-21T00:00:00Z\", days: 1, \
         telemetry: \"estate.csv\", twins: [(id: \"api\", kind: \"service\", capacity: (replicas: 2)), \
         (id: \"db\", kind: \"database\")], dependencies: [(from: \"api\", to: \"db\", kind: \"depends_on\")])",
    );
    let policy = write(
        dir.path(),
        "p.yaml",
        "- name: db-available\n  severity: critical\n  selector: {kinds: [database]}\n  rules:\n    \
         - {metric: up, operator: \"<\", threshold: 1}\n  actions: [restart]\n\
         - name: api-latency\n  severity: critical\n  selector: {kinds: [service]}\n  rules:\n    \
         - {metric: latency_ms, operator: \">\", threshold: 300}\n  actions:\n    - scale_out: {replicas: 1}\n",
    );
    let out_path = dir.path().join("plan.json");
    let out = plan_with(&scenario, &policy, &out_path);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let steps: Vec<&str> = err.lines().filter(|l| l.trim_start().starts_with(char::is_numeric)).collect();
    assert!(steps[0].contains("db restart"), "the root cause's action first: {err}");
    let symptom = steps.iter().find(|l| l.contains("api add 1 replica(s)")).expect("the symptom's action is listed");
    assert!(symptom.contains("caused by db down"), "{symptom}");
    let plan = std::fs::read_to_string(&out_path).unwrap();
    assert!(plan.contains("caused by db down"), "the plan file says why too");
}

/// `twinbench plan SCENARIO --policy POLICY --out OUT`.
fn plan_with(scenario: &std::path::Path, policy: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    let arg = |p: &std::path::Path| p.to_str().unwrap().to_string();
    twinbench(&["plan", &arg(scenario), "--policy", &arg(policy), "--out", &arg(out)])
}
