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
