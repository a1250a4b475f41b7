//! `twinbench check`: current violations and drift on the bundled scenarios, extra
//! policy files, exit codes.

use crate::support::{stderr, stdout, twinbench, write};

#[test]
fn webshop_has_a_current_violation_and_drift() {
    let out = twinbench(&["check", "scenarios/webshop.ron", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let current = v["current"].as_array().unwrap();
    assert!(current.iter().any(|c| c["twin"] == "cache-redis" && c["metric"] == "memory_usage"), "{current:?}");
    let drifting: Vec<&str> =
        v["drift"]["twins"].as_array().unwrap().iter().map(|t| t["twin"].as_str().unwrap()).collect();
    assert_eq!(drifting, ["cache-redis", "host-05", "db-replica", "web-3"]);
    let replica = &v["drift"]["twins"][2]["keys"][0];
    assert_eq!(replica["key"], "max_connections");
    assert_eq!(replica["actual"], "200");
    assert_eq!(replica["deviation"], 0.6);
    assert_eq!(replica["since"], "2026-10-21T13:00:00Z");
    assert!(v["drift"]["probability_new_in_horizon"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_clean_scenario_exits_0_and_a_seed_policy_can_be_added() {
    // The teaching scenario's disk grows about 1.2 points a day from 86%: clean for the
    // next day, a predicted violation of its 90% rule within the week.
    let out = twinbench(&["check", "scenarios/teaching-minimal.ron", "--horizon", "24"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = twinbench(&["check", "scenarios/teaching-minimal.ron", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["current"].as_array().unwrap().len(), 0);
    let eta = v["predicted"][0]["eta_hours"].as_f64().unwrap();
    assert_eq!(v["predicted"][0]["twin"], "db");
    assert!((48.0..120.0).contains(&eta), "{eta}");
    let dir = tempfile::tempdir().unwrap();
    let seed = write(
        dir.path(),
        "seed.ron",
        "(name: \"disk-80\", rules: [(metric: \"disk_usage\", operator: \">\", threshold: 80.0)])\n",
    );
    let out = twinbench(&[
        "check",
        "scenarios/teaching-minimal.ron",
        "--policy",
        seed.to_str().unwrap(),
        "--json",
        "--horizon",
        "24",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["current"][0]["policy"], "disk-80");
    assert_eq!(v["current"][0]["twin"], "db");
}

#[test]
fn a_broken_policy_file_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.ron",
        "(name: \"x\",\n rules: [(metric: \"cpu_usage\", operator: \"~\", threshold: 1)])\n",
    );
    let out = twinbench(&["check", "scenarios/teaching-minimal.ron", "--policy", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("bad.ron:2:") && err.contains("unknown operator \"~\""), "{err}");
    let out = twinbench(&["check", "scenarios/teaching-minimal.ron", "--horizon", "-5"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_approaching_disk_problem_is_predicted_with_eta_and_probability() {
    let first = twinbench(&["check", "scenarios/webshop.ron", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&first)).unwrap();
    let predicted = v["predicted"].as_array().unwrap();
    let db = predicted
        .iter()
        .find(|p| p["twin"] == "db-primary" && p["metric"] == "disk_usage")
        .unwrap_or_else(|| panic!("{predicted:?}"));
    let eta = db["eta_hours"].as_f64().unwrap();
    assert!((24.0..168.0).contains(&eta), "{db}");
    let p = db["probability"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&p), "{db}");
    assert!(db["expected"].as_f64().unwrap() >= 89.0 && db["value"].as_f64().unwrap() < 90.0, "{db}");
    assert!(db["mase"].as_f64().is_some() && db["model"].as_str().is_some(), "{db}");
    // Nothing currently violated is also listed as predicted.
    for c in v["current"].as_array().unwrap() {
        assert!(!predicted.iter().any(|p| p["twin"] == c["twin"] && p["rule"] == c["rule"]), "{c}");
    }
    assert!(v["forecast"]["series"].as_u64().unwrap() > 0);
    // A day ahead the disk is still below its threshold.
    let out = twinbench(&["check", "scenarios/webshop.ron", "--json", "--horizon", "24"]);
    let day: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        !day["predicted"].as_array().unwrap().iter().any(|p| p["twin"] == "db-primary" && p["metric"] == "disk_usage"),
        "{}",
        day["predicted"]
    );
    // Deterministic: byte-identical output twice.
    let again = twinbench(&["check", "scenarios/webshop.ron", "--json"]);
    assert_eq!(stdout(&first), stdout(&again));
}
