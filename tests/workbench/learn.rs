//! Learned twins: `twinbench learn` recovers known parameters from generated history,
//! writes a scenario that loads and simulates, scores fidelity on held-out history
//! (and on the NAB AWS series, the issue's bar); the simulation commands learn missing
//! models first; `simulate --export`; what-if on configuration; bad input.

use std::path::Path;

use serde_json::Value;
use twinbench::model::{SeriesKey, WorkloadModel};

use crate::support::{nab_dir, stderr, stdout, twinbench, write};

/// A scenario of one service with known workload models, 28 days at 60 s.
const KNOWN: &str = r#"(
    version: 1,
    name: "known",
    seed: 11,
    resolution_secs: 60,
    start: "2026-09-07T00:00:00Z",
    days: 28,
    twins: [
        (id: "svc", kind: "service", metrics: {
            "cpu_usage": (base: 40, daily: 10, peak_hour: 14, trend: 0.3, noise: 1.5, noise_memory: 0.5, decimals: 2),
            "request_rate": (base: 200, daily: 60, peak_hour: 13, weekend: 0.6, noise: 5, noise_memory: 0.3, decimals: 1),
        }),
        (id: "db", kind: "database", metrics: {
            "latency_ms": (base: 8, noise: 0.5, noise_memory: 0.2, decimals: 2),
        }),
    ],
    dependencies: [(from: "svc", to: "db")],
)
"#;

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

fn model(path: &Path, twin: &str, metric: &str) -> WorkloadModel {
    let s = twinbench::io::scenario::load_def(path).unwrap().scenario;
    s.workloads.get(&SeriesKey::new(twin, metric)).unwrap().clone()
}

/// Variance of the mean of `k` AR(1) samples relative to one sample's.
fn mean_variance_ratio(phi: f64, k: usize) -> f64 {
    let s: f64 = 1.0 + (1..k).map(|j| 2.0 * (1.0 - j as f64 / k as f64) * phi.powi(j as i32)).sum::<f64>();
    s / k as f64
}

#[test]
fn learned_models_recover_the_parameters_of_generated_history() {
    let dir = tempfile::tempdir().unwrap();
    let known = write(dir.path(), "known.ron", KNOWN);
    let out_path = dir.path().join("learned.ron");
    let out = twinbench(&["learn", known.to_str().unwrap(), "--out", out_path.to_str().unwrap(), "--refit", "--json"]);
    let doc = json(&out);
    assert_eq!(doc["learned"], 3);
    // The history the models were learned from is kept beside the new scenario.
    assert!(dir.path().join("learned.telemetry.parquet").is_file());
    let cpu = model(&out_path, "svc", "cpu_usage");
    // Daily amplitude 10 (half the swing), peak at 14:00, within 10%.
    let (lo, hi) = cpu.daily_profile.iter().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    assert!(((hi - lo) / 2.0 - 10.0).abs() < 1.0, "daily amplitude {}", (hi - lo) / 2.0);
    let peak = cpu.daily_profile.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    assert!((13..=14).contains(&peak), "peak hour {peak}");
    // Trend 0.3 a day, within 25%.
    assert!((cpu.trend_per_day - 0.3).abs() < 0.075, "trend {}", cpu.trend_per_day);
    // No weekly pattern was written into the CPU; the requests' weekend is found.
    assert!(cpu.weekly_profile.is_empty(), "{:?}", cpu.learned);
    let rate = model(&out_path, "svc", "request_rate");
    assert_eq!(rate.weekly_profile.len(), 7, "{:?}", rate.learned);
    let weekend = (rate.weekly_profile[5] + rate.weekly_profile[6]) / 2.0;
    let weekday = rate.weekly_profile[..5].iter().sum::<f64>() / 5.0;
    // ×0.6 on a level of 200: 80 lower on weekends, within 15%.
    assert!((weekday - weekend - 80.0).abs() < 12.0, "weekend drop {}", weekday - weekend);
    // The noise of hourly means (what a twin is judged on): 1.5·√g(0.5, 60) ≈ 0.33 for
    // the CPU, within 50% (the learner adds the uncertainty of the level a day ahead).
    let truth = 1.5 * mean_variance_ratio(0.5, 60).sqrt();
    let learned = cpu.noise * mean_variance_ratio(cpu.noise_memory, 60).sqrt();
    assert!((learned / truth - 1.0).abs() < 0.5, "hourly noise {learned} vs {truth}");
    // A flat latency: no seasons, no trend, level 8.
    let latency = model(&out_path, "db", "latency_ms");
    assert!(latency.daily_profile.is_empty() && latency.weekly_profile.is_empty() && latency.trend_per_day == 0.0);
    assert!((latency.base - 8.0).abs() < 0.2, "{}", latency.base);
    assert_eq!(latency.decimals, 2);
}

#[test]
fn a_holdout_scores_the_twin_against_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let known = write(dir.path(), "known.ron", KNOWN);
    let out_path = dir.path().join("learned.ron");
    let args = ["learn", known.to_str().unwrap(), "--out", out_path.to_str().unwrap(), "--refit"];
    let doc = json(&twinbench(&[&args[..], &["--holdout", "1d", "--seeds", "10", "--json"]].concat()));
    let h = &doc["holdout"];
    assert_eq!(h["aggregate"]["series"], 3);
    for s in h["series"].as_array().unwrap() {
        assert_eq!(s["hours"], 24, "{s}");
        // 28 days of history: the replay twin repeats last week.
        assert_eq!(s["replay_lag_hours"], 168);
        let c = s["coverage80"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c));
    }
    let (sim, replay) = (h["aggregate"]["mase_sim"].as_f64().unwrap(), h["aggregate"]["mase_replay"].as_f64().unwrap());
    assert!(sim < replay, "a twin of the model beats replaying noise: {sim} vs {replay}");
    // The scores are written into the learned models.
    let cpu = model(&out_path, "svc", "cpu_usage");
    let fit = cpu.learned.unwrap().fit.unwrap();
    assert_eq!(fit.holdout_secs, 86_400);
    // The same run gives the same document.
    assert_eq!(doc, json(&twinbench(&[&args[..], &["--holdout", "1d", "--seeds", "10", "--json"]].concat())));
}

/// The 17 NAB realAWSCloudwatch series as twins of one scenario (the issue's bar).
fn nab_scenario(dir: &Path) -> std::path::PathBuf {
    let aws = nab_dir().join("realAWSCloudwatch");
    let mut files: Vec<_> = std::fs::read_dir(&aws).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "csv"));
    files.sort();
    let mut csv = String::from("timestamp,twin,metric,value\n");
    let mut twins = String::new();
    for f in &files {
        let stem = f.file_stem().unwrap().to_str().unwrap();
        let twin: String = stem.replace('_', "-");
        let metric = if stem.contains("cpu") { "cpu_usage" } else { "value" };
        for line in std::fs::read_to_string(f).unwrap().lines().skip(1) {
            let (ts, v) = line.split_once(',').unwrap();
            csv.push_str(&format!("{ts},{twin},{metric},{v}\n"));
        }
        twins.push_str(&format!("(id: \"{twin}\", kind: \"host\"),"));
    }
    write(dir, "nab.csv", &csv);
    let ron = format!(
        "(version: 1, name: \"nab-aws\", resolution_secs: 300, start: \"2013-10-09T00:00:00Z\", days: 200, \
         telemetry: \"nab.csv\", twins: [{twins}])"
    );
    write(dir, "nab.ron", &ron)
}

#[test]
fn learned_nab_twins_beat_replay_with_calibrated_envelopes() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = nab_scenario(dir.path());
    let out_path = dir.path().join("learned.ron");
    let doc = json(&twinbench(&[
        "learn",
        scenario.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
        "--holdout",
        "1d",
        "--json",
    ]));
    let a = &doc["holdout"]["aggregate"];
    assert_eq!(a["series"], 17, "{}", doc["holdout"]["skipped"]);
    let (sim, replay, coverage) =
        (a["mase_sim"].as_f64().unwrap(), a["mase_replay"].as_f64().unwrap(), a["coverage80"].as_f64().unwrap());
    assert!(sim <= replay, "mase_sim {sim} vs mase_replay {replay}");
    assert!((0.70..=0.90).contains(&coverage), "coverage80 {coverage}");
    // The RDS series with a level shift in its second week continues its new level.
    let rds = model(&out_path, "rds-cpu-utilization-cc0c53", "cpu_usage");
    assert!(rds.weekly_profile.is_empty(), "{:?}", rds.learned);
    let notes = rds.learned.unwrap().notes;
    assert!(notes.iter().any(|n| n.starts_with("level shift")), "{notes:?}");
}

#[test]
fn simulation_commands_learn_missing_models_first_and_export_what_they_simulate() {
    let dir = tempfile::tempdir().unwrap();
    // A telemetry file alone: two twins, three days at 5 minutes.
    let mut csv = String::from("timestamp,twin,metric,value\n");
    let start = 1_790_000_000 - 1_790_000_000 % 86_400;
    for k in 0..(3 * 288) {
        let t = start + k * 300;
        let hour = (t % 86_400) as f64 / 3600.0;
        let cpu = 30.0 + 10.0 * (std::f64::consts::TAU * (hour - 14.0) / 24.0).cos() + (k % 7) as f64 * 0.3;
        csv.push_str(&format!("{t},web,cpu_usage,{cpu:.1}\n{t},web,request_rate,{:.1}\n", cpu * 4.0));
        csv.push_str(&format!("{t},db,latency_ms,{:.2}\n", 5.0 + (k % 5) as f64 * 0.1));
    }
    let telemetry = write(dir.path(), "estate.csv", &csv);
    let t = telemetry.to_str().unwrap();
    let export = dir.path().join("sim.csv");
    let out = twinbench(&["simulate", t, "--hours", "2", "--export", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("learned 3 workload models from history in"), "{}", stderr(&out));
    let text = std::fs::read_to_string(&export).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,twin,metric,value"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3 * 24, "three series, two hours at 5 minutes");
    // Timestamps continue from the end of history (the last sample + 5 minutes).
    let end = twinbench::io::time::format_rfc3339(start + 3 * 86_400);
    assert!(rows.iter().any(|r| r.starts_with(&format!("{end},"))), "{end}: {:?}", &rows[..3]);
    for args in [
        vec!["whatif", t, "--action", "web:scale_out(2)", "--hours", "1"],
        vec!["chaos", t, "scenarios/experiments/db-primary-outage.ron"],
    ] {
        let out = twinbench(&args);
        // The bundled experiment names webshop twins: a clear error, not a panic.
        assert!(matches!(out.status.code(), Some(0 | 2)), "{args:?}: {}", stderr(&out));
        if out.status.code() == Some(2) {
            assert!(stderr(&out).contains("db-primary"), "{}", stderr(&out));
        }
    }
}

#[test]
fn whatif_on_configuration_refuses_unknown_twins_and_keys_and_warns_on_unmodelled_ones() {
    let out =
        twinbench(&["whatif", "scenarios/webshop.ron", "--change", "db-primary.max_conections=5", "--hours", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("did you mean \"max_connections\""), "{}", stderr(&out));
    let out = twinbench(&["whatif", "scenarios/webshop.ron", "--change", "db-nowhere.max_connections=5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown twin \"db-nowhere\""), "{}", stderr(&out));
    let out = twinbench(&["whatif", "scenarios/webshop.ron", "--action", "cache-redis:reconfigure(colour=red)"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let doc = json(&twinbench(&[
        "whatif",
        "scenarios/webshop.ron",
        "--change",
        "db-primary.backup.schedule=weekly",
        "--hours",
        "1",
        "--json",
    ]));
    assert_eq!(
        doc["warnings"][0],
        "no modelled effect for db-primary.backup.schedule: the comparison shows no difference"
    );
    assert_eq!(
        doc["violation_minutes_delta"].as_object().unwrap().values().map(|v| v.as_f64().unwrap()).sum::<f64>(),
        0.0
    );
    // A modelled key: a connection limit below what the APIs' pools hold fails them.
    let doc = json(&twinbench(&[
        "whatif",
        "scenarios/webshop.ron",
        "--change",
        "db-primary.max_connections=5",
        "--hours",
        "1",
        "--json",
    ]));
    assert_eq!(doc["warnings"].as_array().unwrap().len(), 0);
    let errors = doc["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["twin"] == "api-orders" && m["metric"] == "error_rate")
        .unwrap();
    assert!(errors["variant"]["mean"].as_f64().unwrap() > 50.0, "{errors}");
}

#[test]
fn learn_reports_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let known = write(dir.path(), "known.ron", KNOWN);
    let k = known.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["learn", k, "--out", "x.csv"], "the learned scenario is a .ron file"),
        (vec!["learn", k, "--out", "x.ron", "--holdout", "soon"], "--holdout \"soon\""),
        (vec!["learn", k, "--out", "x.ron", "--holdout", "5m"], "at least 1h"),
        (vec!["learn", "nowhere.ron", "--out", "x.ron"], "nowhere.ron"),
        (vec!["learn", k, "--out", "x.ron", "--seeds", "1"], "--seeds"),
    ];
    for (args, message) in cases {
        let out = twinbench(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    // Learned fields with bad values are located errors.
    for (field, bad, message) in [
        ("tails: 4", "tails", "tails must be 3, 5 or 10"),
        ("weekly_profile: [1, 2]", "weekly_profile", "needs 7 values"),
        ("follows_traffic: 0.5", "follows_traffic", "applies only to cpu_usage"),
        ("queueing_share: 1.5", "queueing_share", "must be in [0, 1]"),
    ] {
        let text = KNOWN.replace("\"latency_ms\": (base: 8,", &format!("\"latency_ms\": (base: 8, {field},"));
        let path = write(dir.path(), "bad.ron", &text);
        let err = twinbench::io::scenario::load_def(&path).unwrap_err().to_string();
        assert!(err.contains(message), "{field}: {err}");
        let line = text.lines().position(|l| l.contains(bad)).unwrap() + 1;
        assert!(err.contains(&format!("bad.ron:{line}:")), "{field}: {err}");
    }
}
