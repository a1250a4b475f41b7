//! The command line as a user meets it: exit codes, JSON shapes, one-line errors.

use crate::support::{stderr, stdout, twinbench, write};

#[test]
fn info_json_has_the_contract_fields() {
    let out = twinbench(&["info", "scenarios/teaching-minimal.ron", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["twins"], 4);
    assert_eq!(v["edges"], 4);
    assert_eq!(v["metrics"], 5);
    assert_eq!(v["samples"], 7 * 7 * 1440);
    assert_eq!(v["history_days"], 7.0);
}

#[test]
fn generate_then_info_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("estate.ron");
    let out =
        twinbench(&["generate", "--twins", "40", "--days", "2", "--seed", "5", "--out", out_path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let info = twinbench(&["info", out_path.to_str().unwrap(), "--json"]);
    assert!(info.status.success(), "{}", stderr(&info));
    let v: serde_json::Value = serde_json::from_str(&stdout(&info)).unwrap();
    assert_eq!(v["twins"], 40);
    assert_eq!(v["samples"], 40 * 6 * 2 * 1440);
    assert!(v["edges"].as_u64().unwrap() > 40);
}

#[test]
fn errors_exit_2_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.ron",
        "(version: 1, name: \"x\", start: \"2026-01-01T00:00:00Z\", days: 1, twins: [(id: \"a\", kind: \"servce\")])",
    );
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["info", "does-not-exist.ron"], "does-not-exist.ron"),
        (vec!["info", bad.to_str().unwrap()], "bad.ron:1:"),
        (vec!["generate", "--twins", "0", "--out", "x.ron"], "--twins"),
        (vec!["generate", "--twins", "5", "--days", "-3", "--out", "x.ron"], "days"),
        (vec!["ingest", "missing.csv"], "missing.csv"),
        (vec!["frobnicate"], "frobnicate"),
        (vec!["info"], "SCENARIO"),
    ];
    for (args, needle) in cases {
        let out = twinbench(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let err = stderr(&twinbench(&["info", bad.to_str().unwrap()]));
    assert!(err.contains("unknown twin kind \"servce\""), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn help_and_version_exit_0() {
    for args in [vec!["--help"], vec!["--version"], vec!["ingest", "--help"]] {
        let out = twinbench(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
}

#[test]
fn export_writes_csv_and_parquet_that_ingest_verifies() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["web.csv", "web.parquet"] {
        let path = dir.path().join(name);
        let out =
            twinbench(&["export", "scenarios/teaching-minimal.ron", "--twin", "web", "--out", path.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = twinbench(&["ingest", path.to_str().unwrap(), "--stats", "--verify", "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["samples"], 2 * 7 * 1440);
        assert_eq!(v["verified"], true);
    }
    let out = twinbench(&["export", "scenarios/teaching-minimal.ron", "--twin", "nope", "--out", "/tmp/x.csv"]);
    assert_eq!(out.status.code(), Some(2));
}
