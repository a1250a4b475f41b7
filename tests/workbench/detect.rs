//! `twinbench detect`: scores every row of a series in file order, keeps the rows as
//! written, and turns malformed input into one clear error (exit 2), never a panic.

use crate::support::{nab_dir, stderr, stdout, twinbench, write};

fn data_rows(text: &str) -> Vec<&str> {
    text.lines().skip(1).filter(|l| !l.trim().is_empty()).collect()
}

fn check_scored(input: &str, output: &str, extra_columns: usize) {
    let mut lines = output.lines();
    let header = lines.next().expect("a header");
    assert!(header.starts_with("timestamp,value,anomaly_score"), "{header}");
    let rows_in = data_rows(input);
    let rows_out: Vec<&str> = lines.collect();
    assert_eq!(rows_in.len(), rows_out.len(), "same number of rows");
    for (i, (a, b)) in rows_in.iter().zip(&rows_out).enumerate() {
        let fields: Vec<&str> = b.splitn(3 + extra_columns, ',').collect();
        assert_eq!(format!("{},{}", fields[0], fields[1]), *a, "row {i} written back as read");
        let score: f64 = fields[2].parse().unwrap_or_else(|_| panic!("row {i}: score {:?}", fields[2]));
        assert!((0.0..=1.0).contains(&score), "row {i}: score {score}");
    }
}

#[test]
fn nab_file_keeps_rows_and_order() {
    let dir = tempfile::tempdir().unwrap();
    // This file has a repeated hour: timestamps step back once.
    let input = nab_dir().join("realAWSCloudwatch/ec2_network_in_5abac7.csv");
    let out = dir.path().join("scored.csv");
    let o = twinbench(&["detect", input.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text_in = std::fs::read_to_string(&input).unwrap();
    let text_out = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text_out.lines().next(), Some("timestamp,value,anomaly_score"));
    check_scored(&text_in, &text_out, 0);
    assert!(stderr(&o).contains("step back in time"), "{}", stderr(&o));
}

#[test]
fn reasons_and_methods_and_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let input = nab_dir().join("artificialWithAnomaly/art_daily_jumpsup.csv");
    let text_in = std::fs::read_to_string(&input).unwrap();
    let o = twinbench(&["detect", input.to_str().unwrap(), "--reasons"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().next(), Some("timestamp,value,anomaly_score,reason"));
    check_scored(&text_in, &out, 1);
    // The injected jump is found, with a reason naming the series.
    let top = out
        .lines()
        .skip(1)
        .map(|l| l.splitn(4, ',').collect::<Vec<_>>())
        .max_by(|a, b| a[2].parse::<f64>().unwrap().total_cmp(&b[2].parse::<f64>().unwrap()))
        .unwrap();
    assert!(top[2].parse::<f64>().unwrap() >= 0.5, "{top:?}");
    assert!(top[3].starts_with("art_daily_jumpsup "), "{top:?}");

    let wg = dir.path().join("wg.csv");
    let o =
        twinbench(&["detect", input.to_str().unwrap(), "--method", "windowed-gaussian", "--out", wg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    check_scored(&text_in, &std::fs::read_to_string(&wg).unwrap(), 0);
}

#[test]
fn threshold_flags_give_rule_scores() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "cpu.csv", "timestamp,value\n2026-01-01 00:00:00,50\n2026-01-01 00:01:00,91\n");
    let o = twinbench(&["detect", input.to_str().unwrap(), "--above", "85", "--reasons"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "timestamp,value,anomaly_score,reason\n2026-01-01 00:00:00,50,0,\n\
         2026-01-01 00:01:00,91,1,cpu above threshold 85 (91 > 85)\n"
    );
}

#[test]
fn same_input_gives_identical_output() {
    let input = nab_dir().join("realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv");
    let a = twinbench(&["detect", input.to_str().unwrap()]);
    let b = twinbench(&["detect", input.to_str().unwrap()]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn malformed_series_give_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("empty.csv", "", "bad"),
        ("header-only.csv", "timestamp,value\n", "no samples"),
        ("bad-ts.csv", "timestamp,value\n2026-01-01 00:00:00,1\nyesterday,2\n", ":3:1: cannot read \"yesterday\""),
        ("nan.csv", "timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:01:00,NaN\n", ":3:21: value NaN"),
        ("text.csv", "timestamp,value\n2026-01-01 00:00:00,high\n", ":2:21: cannot read \"high\""),
        ("ragged.csv", "timestamp,value\n2026-01-01 00:00:00,1,2\n", ":2:"),
        ("columns.csv", "time,val\n1,2\n", ":1:1: expected the columns"),
        ("binary.csv", "\u{0}\u{1}\u{2}garbage", "bad"),
    ];
    for (name, text, expect) in cases {
        let p = write(dir.path(), name, text);
        let o = twinbench(&["detect", p.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
        assert!(err.starts_with("error: ") && err.contains(name), "{name}: {err}");
        if *expect != "bad" {
            assert!(err.contains(expect), "{name}: {err}");
        }
    }
    let missing = dir.path().join("missing.csv");
    let o = twinbench(&["detect", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.csv"));
    let p = write(dir.path(), "ok.csv", "timestamp,value\n2026-01-01 00:00:00,1\n");
    let o = twinbench(&["detect", p.to_str().unwrap(), "--max-rate", "-1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--max-rate must be a positive number"));
}

#[test]
fn unusual_but_valid_series_are_scored_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("one-row.csv", "timestamp,value\n2026-01-01 00:00:00,1\n"),
        ("unsorted.csv", "timestamp,value\n2026-01-01 00:02:00,3\n2026-01-01 00:01:00,2\n2026-01-01 00:03:00,4\n"),
        ("duplicates.csv", "timestamp,value\n2026-01-01 00:01:00,1\n2026-01-01 00:01:00,2\n"),
        ("gap.csv", "timestamp,value\n2026-01-01 00:00:00,1\n2026-03-01 00:00:00,2\n1767225600,3\n"),
        ("quoted.csv", "\"timestamp\",\"value\"\n\"2026-01-01 00:00:00\",\"1.50\"\n"),
    ];
    for (name, text) in cases {
        let p = write(dir.path(), name, text);
        let o = twinbench(&["detect", p.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let out = stdout(&o);
        assert_eq!(data_rows(text).len(), data_rows(&out).len(), "{name}: {out}");
    }
    let p = write(dir.path(), "unsorted2.csv", cases[1].1);
    let out = stdout(&twinbench(&["detect", p.to_str().unwrap()]));
    assert_eq!(
        out,
        "timestamp,value,anomaly_score\n2026-01-01 00:02:00,3,0\n2026-01-01 00:01:00,2,0\n2026-01-01 00:03:00,4,0\n"
    );
}
