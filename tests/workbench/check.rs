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
    let out = twinbench(&["check", "scenarios/teaching-minimal.ron"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    let seed = write(
        dir.path(),
        "seed.ron",
        "(name: \"disk-80\", rules: [(metric: \"disk_usage\", operator: \">\", threshold: 80.0)])\n",
    );
    let out = twinbench(&["check", "scenarios/teaching-minimal.ron", "--policy", seed.to_str().unwrap(), "--json"]);
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
