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
    let policy = format!("{POLICY}.yaml");
    let plan = webshop_plan(dir.path(), "plan.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let changes = v["resource_changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    assert_eq!(v["twinbench_plan_version"], 2);
    assert!(v.get("format_version").is_none(), "not Terraform's version: {v}");
    let first = &changes[0];
    assert_eq!(first["address"], "database.db-primary[0]");
    assert_eq!(
        (&first["type"], &first["name"], &first["index"]),
        (&"database".into(), &"db-primary".into(), &0.into())
    );
    assert_eq!(first["change"]["actions"][0], "update");
    assert_eq!(first["change"]["before"]["capacity.disk_gib"], 2000.0);
    assert_eq!(first["change"]["after"]["capacity.disk_gib"], 2500.0);
    assert_eq!(first["twinbench"]["approval"]["status"], "approved");
    assert_eq!(first["action_reason"], "policy_violation");
    assert!(first["reason_text"].as_str().unwrap().contains("db-disk-headroom"));
    // Same inputs, same bytes.
    let again = webshop_plan(dir.path(), "again.json");
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
    let reasons: Vec<(&str, &str)> = v["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action_reason"].as_str().unwrap(), c["reason_text"].as_str().unwrap()))
        .collect();
    let (kind, predicted) = reasons
        .iter()
        .find(|(_, r)| r.starts_with("predicted violation of disk-space"))
        .unwrap_or_else(|| panic!("{reasons:?}"));
    assert_eq!(*kind, "predicted_violation");
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

/// `twinbench plan scenarios/webshop.ron --policy webshop-remediation.yaml --approve all --out DIR/NAME`.
fn webshop_plan(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let out_path = dir.join(name);
    let policy = format!("{POLICY}.yaml");
    let out = twinbench(&[
        "plan",
        "scenarios/webshop.ron",
        "--policy",
        &policy,
        "--approve",
        "all",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    out_path
}

const REASONS: [&str; 6] =
    ["policy_violation", "predicted_violation", "anomaly", "drift", "what_if_rehearsal", "chaos_rehearsal"];

#[test]
fn plan_addresses_are_unique_and_values_typed() {
    let dir = tempfile::tempdir().unwrap();
    let plan = webshop_plan(dir.path(), "plan.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let changes = v["resource_changes"].as_array().unwrap();
    let mut addresses = std::collections::BTreeSet::new();
    let mut per_twin: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for c in changes {
        let address = c["address"].as_str().unwrap();
        assert!(addresses.insert(address), "{address} repeats");
        let name = c["name"].as_str().unwrap();
        let index = per_twin.entry(name).or_insert(0);
        assert_eq!(c["index"], *index, "the index counts the steps on the twin in plan order: {c}");
        assert_eq!(address, format!("{}.{name}[{index}]", c["type"].as_str().unwrap()));
        *index += 1;
        assert!(REASONS.contains(&c["action_reason"].as_str().unwrap()), "{c}");
        assert!(!c["reason_text"].as_str().unwrap().is_empty());
        for side in ["before", "after"] {
            for (field, value) in c["change"][side].as_object().unwrap() {
                if field.starts_with("capacity.") {
                    assert!(value.is_number(), "{field}: {value}");
                }
                if field == "capacity.replicas" {
                    assert!(value.is_u64(), "replicas are whole: {value}");
                }
                assert!(!value.as_str().is_some_and(|s| s.starts_with('"')), "no quoted strings: {field} {value}");
            }
        }
    }
    // A twin with two steps is addressed [0] and [1] (v1 repeated the address).
    assert!(per_twin.values().any(|n| *n >= 2), "{per_twin:?}");
    assert!(addresses.contains("database.db-primary[1]"), "{addresses:?}");
    // Configuration keys keep their type: numbers where the twin holds numbers.
    let config_numbers = changes
        .iter()
        .flat_map(|c| c["change"]["after"].as_object().unwrap().iter())
        .filter(|(k, v)| k.starts_with("config.") && v.is_number())
        .count();
    assert!(config_numbers > 0, "drift restores numeric keys as numbers: {changes:?}");
    assert!(changes.iter().any(|c| c["action_reason"] == "drift"));
}

#[test]
fn plan_show_prints_json_and_ron_plans_alike_for_review() {
    let dir = tempfile::tempdir().unwrap();
    let json = webshop_plan(dir.path(), "plan.json");
    let ron = webshop_plan(dir.path(), "plan.ron");
    let shown: Vec<String> = [&json, &ron]
        .iter()
        .map(|p| {
            let out = twinbench(&["plan", "show", p.to_str().unwrap()]);
            assert!(out.status.success(), "{}", stderr(&out));
            stdout(&out)
        })
        .collect();
    assert_eq!(shown[0], shown[1], "the RON plan holds the same, typed");
    let text = &shown[0];
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(text.contains(v["fingerprint"].as_str().unwrap()), "{text}");
    assert!(text.starts_with("plan for webshop at "), "{text}");
    assert!(text.contains("database.db-primary[0]  scale disk up ×1.25  [approved by cli --approve all]"), "{text}");
    assert!(text.contains("change   capacity.disk_gib: 2000.0 → 2500.0"), "{text}");
    assert!(text.contains("reason   policy_violation: violation of db-disk-headroom"), "{text}");
    assert!(text.contains("database.db-primary[1]"), "{text}");
    // The runbook is for people: `show` says which file to read instead.
    let md = webshop_plan(dir.path(), "plan.md");
    let out = twinbench(&["plan", "show", md.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("read the .json or .ron plan"), "{}", stderr(&out));
    let runbook = std::fs::read_to_string(&md).unwrap();
    assert!(runbook.contains("- **Address:** `database.db-primary[1]`"), "{runbook}");
    assert!(runbook.contains("- **Why** (`policy_violation`): violation of db-disk-headroom"), "{runbook}");
    assert!(runbook.contains("| `capacity.disk_gib` | 2000.0 | 2500.0 |"), "{runbook}");
    assert!(runbook.starts_with("<!-- twinbench-plan {\"fingerprint\""), "{runbook}");
}

/// A plan written by twinbench before plan format 2 (`format_version: "1.0"`, repeated
/// addresses, string values) of the same inputs as [`webshop_plan`].
const V1_PLAN: &str = "tests/fixtures/plans/webshop-v1.json";

#[test]
fn version_1_plans_are_still_read() {
    let ok =
        twinbench(&["verify", V1_PLAN, "--scenario", "scenarios/webshop.ron", "--policy", &format!("{POLICY}.yaml")]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let old = twinbench(&["plan", "show", V1_PLAN]);
    assert!(old.status.success(), "{}", stderr(&old));
    // Brought up to format 2 it reads like the plan written now (only the tool's
    // version and the format line may differ).
    let dir = tempfile::tempdir().unwrap();
    let new = twinbench(&["plan", "show", webshop_plan(dir.path(), "plan.json").to_str().unwrap()]);
    let body = |text: &str| text.lines().filter(|l| !l.contains("written by")).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&stdout(&old)), body(&stdout(&new)));
}

#[test]
fn malformed_plans_are_located_errors_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let plan = webshop_plan(dir.path(), "plan.json");
    let good = std::fs::read_to_string(&plan).unwrap();
    let show = |name: &str, text: &str| {
        let path = write(dir.path(), name, text);
        let out = twinbench(&["plan", "show", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(err.lines().count(), 1, "one message: {err}");
        err
    };
    // Cut anywhere: a located parse error.
    for cut in (0..good.len() - 2).step_by(good.len() / 17) {
        let err = show("cut.json", &good[..good.floor_char_boundary(cut)]);
        assert!(err.contains("cut.json:") && err.contains("not a twinbench plan"), "{cut}: {err}");
    }
    let ron = std::fs::read_to_string(webshop_plan(dir.path(), "plan.ron")).unwrap();
    let err = show("cut.ron", &ron[..ron.len() / 2]);
    assert!(err.contains("cut.ron:"), "{err}");
    // A repeated address points at the repeat.
    let first = "\"address\": \"database.db-primary[0]\"";
    let dup = good.replacen("\"address\": \"database.db-primary[1]\"", first, 1);
    assert_ne!(dup, good);
    let err = show("dup.json", &dup);
    let line = dup.match_indices(first).nth(1).map(|(i, _)| dup[..i].lines().count()).unwrap();
    assert!(err.contains(&format!("dup.json:{line}:")), "{err}");
    assert!(err.contains("repeats resource_changes["), "{err}");
    // Versions this twinbench does not read are named.
    let err = show("v3.json", &good.replacen("\"twinbench_plan_version\": 2", "\"twinbench_plan_version\": 3", 1));
    assert!(err.contains("plan format version 3"), "{err}");
    let err = show("tf.json", &good.replacen("\"twinbench_plan_version\": 2", "\"format_version\": \"0.9\"", 1));
    assert!(err.contains("format_version \"0.9\""), "{err}");
    // Values outside the documented sets: at their line.
    let err = show("reason.json", &good.replacen("\"policy_violation\"", "\"because\"", 1));
    assert!(err.contains("reason.json:") && err.contains("unknown variant `because`"), "{err}");
    let err = show("approval.json", &good.replacen("\"approved\"", "\"maybe\"", 1));
    assert!(err.contains("approval.json:") && err.contains("`maybe`"), "{err}");
    let err = show("empty.json", "");
    assert!(err.contains("empty.json:1:"), "{err}");
    let err = show("number.json", "42");
    assert!(err.contains("number.json:1:"), "{err}");
    // Verify reads the same way.
    let out =
        twinbench(&["verify", dir.path().join("dup.json").to_str().unwrap(), "--scenario", "scenarios/webshop.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("repeats"), "{}", stderr(&out));
}
