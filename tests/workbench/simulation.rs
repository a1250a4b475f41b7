//! The simulation lab from the command line: `simulate` is deterministic, an A/B test
//! tells remediation from none (and a strategy from itself not), a chaos experiment
//! on the default scenario deviates and recovers with remediation.

use serde_json::Value;

use crate::support::{stderr, stdout, twinbench};

fn json(args: &[&str]) -> Value {
    let out = twinbench(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stdout(&out)))
}

fn simulate(seed: &str) -> Value {
    json(&["simulate", "scenarios/webshop.ron", "--hours", "12", "--seed", seed, "--json"])
}

#[test]
fn simulate_reports_the_contract_fields() {
    let doc = simulate("7");
    for key in ["twin_ticks", "wall_secs", "twin_ticks_per_sec", "violation_minutes", "actions", "cost", "state_digest"]
    {
        assert!(doc.get(key).is_some(), "missing {key}: {doc}");
    }
    let twins = doc["twins"].as_u64().unwrap();
    assert_eq!(doc["ticks"].as_u64().unwrap(), 12 * 60, "one tick a minute");
    assert_eq!(doc["twin_ticks"].as_u64().unwrap(), 12 * 60 * twins);
    assert_eq!(doc["state_digest"].as_str().unwrap().len(), 64);
}

#[test]
fn same_seed_same_digest_different_seed_different_digest() {
    let a = simulate("7");
    let b = simulate("7");
    let c = simulate("8");
    assert_eq!(a["state_digest"], b["state_digest"]);
    assert_eq!(a["violation_minutes"], b["violation_minutes"]);
    assert_eq!(a["actions"], b["actions"]);
    assert_ne!(a["state_digest"], c["state_digest"]);
}

#[test]
fn a_strategy_and_chaos_file_change_the_run() {
    let plain = simulate("7");
    let chaos = json(&[
        "simulate",
        "scenarios/webshop.ron",
        "--hours",
        "3",
        "--seed",
        "7",
        "--chaos",
        "scenarios/experiments/db-primary-outage.ron",
        "--strategy",
        "scenarios/strategies/hands-off.ron",
        "--json",
    ]);
    assert_eq!(chaos["mode"], "dry-run");
    assert_eq!(chaos["chaos"], "The orders database primary dies");
    assert_ne!(plain["state_digest"], chaos["state_digest"]);
    assert_eq!(chaos["actions"]["count"], 0, "hands off: nothing is done");
    let by_policy = &chaos["violation_minutes"]["by_policy"];
    let api_errors = by_policy["steady-state/api-errors"]["minutes"].as_f64().unwrap();
    assert!(api_errors > 60.0, "the dead primary fails the APIs until the end: {by_policy}");
}

#[test]
fn ab_remediation_beats_hands_off_significantly() {
    let doc = json(&[
        "ab",
        "scenarios/webshop.ron",
        "--a",
        "scenarios/strategies/remediate.ron",
        "--b",
        "scenarios/strategies/hands-off.ron",
        "--runs",
        "6",
        "--hours",
        "12",
        "--json",
    ]);
    assert_eq!(doc["objective"], "violation_minutes");
    assert_eq!(doc["winner"], "remediate");
    let c = doc["comparisons"].as_array().unwrap().iter().find(|c| c["objective"] == "violation_minutes").unwrap();
    assert_eq!(c["significant"], true);
    assert!(c["p_value"].as_f64().unwrap() < 0.05);
    let (a, b) = (c["a"]["mean"].as_f64().unwrap(), c["b"]["mean"].as_f64().unwrap());
    assert!(a < b, "remediation has fewer violation minutes: {a} vs {b}");
    let ci = c["a"]["ci95"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() <= a && a <= ci[1].as_f64().unwrap());
    assert_eq!(doc["replications"].as_array().unwrap().len(), 6);
}

#[test]
fn ab_of_a_strategy_against_itself_is_not_significant() {
    let doc = json(&[
        "ab",
        "scenarios/webshop.ron",
        "--a",
        "scenarios/strategies/remediate.ron",
        "--b",
        "scenarios/strategies/remediate.ron",
        "--runs",
        "4",
        "--hours",
        "6",
        "--json",
    ]);
    assert_eq!(doc["winner"], Value::Null);
    for c in doc["comparisons"].as_array().unwrap() {
        assert_eq!(c["significant"], false, "{c}");
    }
    // Common random numbers: each replication's arms end in the same state.
    for r in doc["replications"].as_array().unwrap() {
        assert_eq!(r["a"]["state_digest"], r["b"]["state_digest"]);
    }
    // Replications differ from one another (different seeds).
    let reps = doc["replications"].as_array().unwrap();
    assert_ne!(reps[0]["a"]["state_digest"], reps[1]["a"]["state_digest"]);
}

#[test]
fn chaos_db_primary_outage_deviates_spreads_and_recovers_with_remediation() {
    let exp = "scenarios/experiments/db-primary-outage.ron";
    let out = twinbench(&["chaos", "scenarios/webshop.ron", exp, "--json"]);
    assert_eq!(out.status.code(), Some(0), "recovered: exit 0; {}", stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["hypothesis_before"]["held"], true);
    assert_eq!(doc["deviated_during_method"], true);
    assert_eq!(doc["hypothesis_after"]["held"], true);
    assert!(doc["time_to_detect_secs"].as_i64().is_some());
    assert!(doc["time_to_recover_secs"].as_i64().unwrap() > 0);
    let observed: Vec<&str> =
        doc["blast_radius"]["observed"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for twin in ["db-primary", "api-orders", "lb-edge"] {
        assert!(observed.contains(&twin), "{twin} not reached: {observed:?}");
    }
    let score = doc["resilience_score"].as_f64().unwrap();
    assert!(score > 0.0 && score < 1.0, "{score}");

    // Hands off, the hypothesis stays broken: exit 1.
    let out = twinbench(&["chaos", "scenarios/webshop.ron", exp, "--no-remediation", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let off: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(off["hypothesis_after"]["held"], false);
    assert_eq!(off["time_to_recover_secs"], Value::Null);
    assert!(off["resilience_score"].as_f64().unwrap() < score);
}

/// Root cause before symptoms, priorities before guards: the dead primary is restarted
/// at once (a cooldown from a disk scale-up on it does not delay it), its callers are
/// not scaled out while it is down, and the rehearsal recovers quickly and cheaply.
#[test]
fn chaos_restarts_the_dead_primary_first_and_leaves_its_symptoms_alone() {
    let exp = "scenarios/experiments/db-primary-outage.ron";
    for seed in ["1", "2", "3"] {
        let out = twinbench(&["chaos", "scenarios/webshop.ron", exp, "--seed", seed, "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let crash = doc["first_fault_at"].as_str().unwrap().to_string();
        let actions = doc["run"]["actions"]["list"].as_array().unwrap();
        let restart = actions
            .iter()
            .find(|a| a["twin"] == "db-primary" && a["action"] == "restart")
            .unwrap_or_else(|| panic!("seed {seed}: no restart in {actions:?}"));
        let minutes = |a: &str, b: &str| (secs(b) - secs(a)) / 60;
        let decided = restart["at"].as_str().unwrap();
        assert!(minutes(&crash, decided) <= 5, "seed {seed}: restart decided at {decided}, crash at {crash}");
        let back = restart["effective_at"].as_str().unwrap();
        for a in actions.iter().filter(|a| a["action"] == "scale_out") {
            let at = a["at"].as_str().unwrap();
            assert!(!(crash.as_str()..back).contains(&at), "seed {seed}: scaled out while the db was down: {a}");
        }
        let recover = doc["time_to_recover_secs"].as_i64().unwrap();
        assert!(recover <= 15 * 60, "seed {seed}: recovered in {recover} s");
        let cost = doc["run"]["cost"]["monthly_change"].as_f64().unwrap();
        assert!(cost < 892.0, "seed {seed}: cost {cost}/month");
    }
}

/// Seconds of an RFC 3339 UTC time `YYYY-MM-DDTHH:MM:SSZ` (same day arithmetic only).
fn secs(t: &str) -> i64 {
    let day: i64 = t[8..10].parse().unwrap();
    let (h, m, s): (i64, i64, i64) =
        (t[11..13].parse().unwrap(), t[14..16].parse().unwrap(), t[17..19].parse().unwrap());
    ((day * 24 + h) * 60 + m) * 60 + s
}

#[test]
fn a_what_if_writes_its_changes_as_a_plan_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("rehearsed.json");
    let plan_arg = plan.to_str().unwrap();
    let args = [
        "whatif",
        "scenarios/webshop.ron",
        "--action",
        "db-primary:scale_up(disk,1.25)",
        "--change",
        "api-orders.log_level=warn",
        "--hours",
        "6",
        "--plan",
        plan_arg,
        "--approve",
        "--approver",
        "ana",
    ];
    let out = twinbench(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("2 rehearsed actions, approved"), "{}", stderr(&out));
    let text = std::fs::read_to_string(&plan).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let steps = v["resource_changes"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    // Configuration changes come first, then actions (as `whatif` applies them).
    assert_eq!(steps[0]["address"], "service.api-orders[0]");
    assert_eq!(steps[0]["twinbench"]["action"], "reconfigure");
    assert_eq!(steps[0]["change"]["after"]["config.log_level"], "warn");
    assert_eq!(steps[1]["address"], "database.db-primary[0]");
    assert_eq!(steps[1]["twinbench"]["action"], "scale_up");
    assert_eq!(steps[1]["twinbench"]["approval"]["by"], "ana");
    for s in steps {
        assert_eq!(s["action_reason"], "what_if_rehearsal", "{s}");
        assert!(s["reason_text"].as_str().unwrap().starts_with("rehearsed in a what-if over 6 h"), "{s}");
    }
    // Computed on the scenario as it is: it verifies.
    let out = twinbench(&["verify", plan_arg, "--scenario", "scenarios/webshop.ron"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Deterministic: the same what-if writes the same plan.
    assert!(twinbench(&args).status.success());
    assert_eq!(std::fs::read_to_string(&plan).unwrap(), text);
}

#[test]
fn bad_arguments_exit_2_with_one_message() {
    for args in [
        &["simulate", "scenarios/webshop.ron", "--hours", "-1"][..],
        &["simulate", "scenarios/webshop.ron", "--hours", "1", "--mode", "yolo"],
        &["simulate", "scenarios/webshop.ron", "--hours", "1", "--strategy", "nope.ron"],
        &["ab", "scenarios/webshop.ron", "--a", "scenarios/strategies/remediate.ron", "--b", "x.ron"],
        &[
            "ab",
            "scenarios/webshop.ron",
            "--a",
            "scenarios/strategies/remediate.ron",
            "--b",
            "scenarios/strategies/hands-off.ron",
            "--runs",
            "1",
        ],
        &["chaos", "scenarios/webshop.ron", "missing.ron"],
        &["whatif", "scenarios/webshop.ron", "--action", "db-primary:restart", "--approve"],
        &["whatif", "scenarios/webshop.ron", "--action", "db-primary:restart", "--plan", "/nonexistent-dir/p.json"],
        &["chaos", "scenarios/webshop.ron", "scenarios/strategies/remediate.ron"],
    ] {
        let out = twinbench(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.starts_with("error:") || err.contains("error:"), "{args:?}: {err}");
    }
}
