//! `twinbench forecast`: the output contract on a real NAB series, determinism, and
//! malformed inputs (each an exit 2 with one located line, or a documented repair).

use std::fmt::Write as _;

use twinbench::io::time::parse_timestamp;

use crate::support::{nab_dir, stderr, stdout, twinbench, write};

const HEADER: &str = "timestamp,forecast,lower,upper,lower_95,upper_95";

fn nab_cpu() -> String {
    nab_dir().join("realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv").to_str().unwrap().to_string()
}

/// Checks the CSV contract and returns the row timestamps.
fn check_forecast_csv(text: &str, rows: usize) -> Vec<i64> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(HEADER));
    let mut stamps = Vec::new();
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), 6, "row {i}: {line}");
        assert_eq!(cells[0].len(), 19, "row {i}: YYYY-MM-DD HH:MM:SS expected, got {}", cells[0]);
        stamps.push(parse_timestamp(cells[0]).unwrap());
        let v: Vec<f64> = cells[1..].iter().map(|c| c.parse::<f64>().unwrap()).collect();
        let (mean, lower, upper, lower_95, upper_95) = (v[0], v[1], v[2], v[3], v[4]);
        assert!(v.iter().all(|x| x.is_finite()), "row {i}: {line}");
        assert!(lower_95 <= lower && lower <= mean && mean <= upper && upper <= upper_95, "row {i}: {line}");
    }
    assert_eq!(stamps.len(), rows);
    stamps
}

#[test]
fn forecast_of_a_nab_series_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.csv");
    let input = nab_cpu();
    let out = twinbench(&["forecast", &input, "--horizon", "288", "--out", out_path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "with --out nothing goes to stdout");
    let err = stderr(&out);
    for needle in ["model", "MASE", "fit+predict", "coverage"] {
        assert!(err.contains(needle), "{needle} missing in {err}");
    }
    let text = std::fs::read_to_string(&out_path).unwrap();
    let stamps = check_forecast_csv(&text, 288);
    // The first row is one interval (5 minutes) after the last input row.
    let source = std::fs::read_to_string(&input).unwrap();
    let last_input = source.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    let last_ts = parse_timestamp(last_input.split(',').next().unwrap()).unwrap();
    assert_eq!(stamps[0], last_ts + 300);
    assert!(stamps.windows(2).all(|w| w[1] - w[0] == 300));

    // Without --out the same bytes go to stdout; a second run is byte-identical.
    let again = twinbench(&["forecast", &input, "--horizon", "288"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), text);
}

#[test]
fn forecast_json_is_one_document_with_the_backtest() {
    let out = twinbench(&["forecast", &nab_cpu(), "--horizon", "12", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["horizon"], 12);
    assert_eq!(v["step_secs"], 300);
    assert_eq!(v["forecast"].as_array().unwrap().len(), 12);
    assert!(v["model"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(v["backtest"]["mase"].as_f64().is_some_and(|m| m > 0.0 && m.is_finite()));
    let c80 = v["backtest"]["coverage_80"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&c80));
    assert!(v["candidates"].as_array().unwrap().len() >= 3);

    let out = twinbench(&["forecast", &nab_cpu(), "--horizon", "12", "--json", "--backtest-origins", "0"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let w: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(w["backtest"].is_null());
    assert_eq!(w["forecast"], v["forecast"], "the backtest does not change the forecast");
}

/// A regular 5-minute series of `n` rows with a daily cycle.
fn series(n: usize) -> Vec<(String, f64)> {
    (0..n)
        .map(|i| {
            let t = 1_392_388_200 + i as i64 * 300;
            let v = 50.0 + 10.0 * (i as f64 * std::f64::consts::TAU / 288.0).sin() + (i % 7) as f64 * 0.3;
            (twinbench::io::time::format_datetime(t), v)
        })
        .collect()
}

fn csv(rows: &[(String, f64)]) -> String {
    let mut s = String::from("timestamp,value\n");
    for (t, v) in rows {
        writeln!(s, "{t},{v}").unwrap();
    }
    s
}

#[test]
fn malformed_series_exit_2_with_a_located_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = series(60);
    let mut bad_ts = csv(&good);
    bad_ts = bad_ts.replacen(&good[3].0, "2014-02-30 99:00:00", 1);
    let mut gap = good.clone();
    for row in &mut gap[30..] {
        let t = parse_timestamp(&row.0).unwrap() + 86_400;
        row.0 = twinbench::io::time::format_datetime(t);
    }
    let nan = csv(&good).replacen(&format!(",{}\n", good[5].1), ",NaN\n", 1);
    let inf = csv(&good).replacen(&format!(",{}\n", good[6].1), ",inf\n", 1);
    let cases: Vec<(&str, String, &str)> = vec![
        ("bad-ts.csv", bad_ts, "bad-ts.csv:5:1:"),
        ("gap.csv", csv(&gap), "gap.csv:32:1: a gap of 288 missing samples"),
        ("nan.csv", nan, "nan.csv:7:"),
        ("inf.csv", inf, "inf.csv:8:"),
        ("one-row.csv", csv(&good[..1]), "at least 16"),
        ("few-rows.csv", csv(&good[..5]), "5 distinct sample(s)"),
        ("same-time.csv", "timestamp,value\n2014-02-14 14:30:00,1\n2014-02-14 14:30:00,2\n".into(), "at least 16"),
        ("empty.csv", String::new(), "empty.csv"),
        ("header-only.csv", "timestamp,value\n".into(), "header-only.csv:2:1: the file has a header but no samples"),
        ("columns.csv", "time,val\n2014-02-14 14:30:00,1\n".into(), "columns.csv:1:1: expected the columns"),
        ("ragged.csv", "timestamp,value\n2014-02-14 14:30:00,1,7\n".into(), "ragged.csv:2:"),
        ("text.csv", csv(&good).replacen(&format!(",{}\n", good[2].1), ",high\n", 1), "text.csv:4:"),
    ];
    for (name, text, needle) in cases {
        let path = write(dir.path(), name, &text);
        let out = twinbench(&["forecast", path.to_str().unwrap(), "--horizon", "10"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(needle), "{name}: expected {needle:?} in {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
        assert!(stdout(&out).is_empty(), "{name}");
    }
    for args in [
        vec!["forecast", "x.csv", "--horizon", "0"],
        vec!["forecast", "x.csv"],
        vec!["forecast", "missing.csv", "--horizon", "3"],
    ] {
        let out = twinbench(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
}

#[test]
fn unsorted_duplicate_and_short_gap_rows_are_repaired_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let good = series(80);
    let clean = write(dir.path(), "clean.csv", &csv(&good));
    let expected = twinbench(&["forecast", clean.to_str().unwrap(), "--horizon", "6"]);
    assert!(expected.status.success(), "{}", stderr(&expected));

    let mut shuffled = good.clone();
    shuffled.swap(10, 40);
    shuffled.swap(3, 70);
    let unsorted = write(dir.path(), "unsorted.csv", &csv(&shuffled));
    let out = twinbench(&["forecast", unsorted.to_str().unwrap(), "--horizon", "6"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("rows sorted by time"), "{}", stderr(&out));
    assert_eq!(stdout(&out), stdout(&expected), "sorting repairs the series exactly");

    let mut dup = good.clone();
    dup.insert(20, good[20].clone());
    let dup_path = write(dir.path(), "dup.csv", &csv(&dup));
    let out = twinbench(&["forecast", dup_path.to_str().unwrap(), "--horizon", "6"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 sample(s) sharing a timestamp slot merged"), "{}", stderr(&out));
    assert_eq!(stdout(&out), stdout(&expected), "an exact duplicate merges into itself");

    let mut holes = good.clone();
    holes.drain(30..33);
    let holes_path = write(dir.path(), "holes.csv", &csv(&holes));
    let out = twinbench(&["forecast", holes_path.to_str().unwrap(), "--horizon", "6"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 gap(s) (3 samples) filled by linear interpolation"), "{}", stderr(&out));
    check_forecast_csv(&stdout(&out), 6);
}
