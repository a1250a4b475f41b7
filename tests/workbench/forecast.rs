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
    for needle in
        ["model", "MASE", "fit+predict", "coverage", "seasons      ", "weekly season: 2 full cycle(s), 3 needed"]
    {
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
    // Why a season was or was not used: two weeks are two weekly cycles, too few.
    assert_eq!(v["seasons"]["weekly"]["cycles"], 2);
    assert_eq!(v["seasons"]["weekly"]["earned"], false);
    assert_eq!(v["seasons"]["daily"]["period"], 288);
    assert!(v["seasons"]["summary"].as_str().unwrap().contains("no weekly season"), "{}", v["seasons"]);

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

/// A NAB file, or `None` when the data is not on this machine (the test is then
/// skipped with a note): the same places `support::nab_dir` looks.
fn nab_file(name: &str) -> Option<std::path::PathBuf> {
    let candidates = [
        std::env::var_os("TWINBENCH_NAB_DIR").map(std::path::PathBuf::from),
        Some(crate::support::root().join("../shared/data/nab")),
        Some(std::path::PathBuf::from("/work/shared/data/nab")),
    ];
    candidates.into_iter().flatten().map(|d| d.join("realAWSCloudwatch").join(name)).find(|p| p.is_file())
}

/// Issue "seasonality is earned, not assumed": `rds_cpu_utilization_cc0c53` (two weeks
/// at 5 minutes, a level shift from about 6% to 14.5% CPU on day 10) forecast as the
/// Inspector does (`ui::jobs::spawn_twin_forecasts`: the file opened as a twin, 5-minute
/// bucket means of the last 14 days, a 7-day horizon, 3 backtest origins). It used to
/// get `MSTL(daily, weekly) + ETS`, whose weekly profile is the shift, and a forecast
/// that jumped to about 23% three and a half days ahead.
#[test]
fn a_level_shift_in_the_second_week_is_no_weekly_season_and_the_forecast_keeps_the_new_level() {
    use twinbench::analytics::forecast::backtest;
    use twinbench::analytics::predict::{PredictConfig, forecast_series};
    let Some(path) = nab_file("rds_cpu_utilization_cc0c53.csv") else {
        eprintln!("skipped: rds_cpu_utilization_cc0c53.csv not found (set TWINBENCH_NAB_DIR)");
        return;
    };
    let scenario = twinbench::io::scenario::from_telemetry(&path).unwrap();
    let key = scenario.telemetry.keys().next().unwrap().clone();
    // PREDICT_HORIZON_SECS of ui::jobs (a GUI-only module): 7 days.
    let sf = forecast_series(&scenario, &key, &PredictConfig::new(7 * 86_400)).unwrap().unwrap();
    let f = &sf.forecast;
    assert_eq!(f.len(), 2016);
    let weekly = f.seasons.weekly.unwrap();
    assert_eq!((weekly.cycles, weekly.earned), (2, false), "{}", f.seasons.describe());
    assert!(!f.model.contains("weekly"), "{}", f.model);

    // The forecast stays at the level of the last day (the new level) all week.
    let mut last_day = sf.recent.clone();
    last_day.sort_by(f64::total_cmp);
    let level = last_day[last_day.len() / 2];
    assert!((13.0..16.0).contains(&level), "level {level}");
    let (lo, hi) = f.mean.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
    assert!(lo > level - 1.5 && hi < level + 1.5, "{}: forecast {lo:.2}..{hi:.2} around {level:.2}", f.model);

    // The backtest MASE: one origin (14 days hold one 7-day window after the first
    // week), trained on the calm first week and scored on the second, which holds the
    // shift. No forecast made a week before a level shift sees it coming: the MASE is
    // what a flat forecast at the first week's level scores, whatever the model.
    let mase = f.mase.unwrap();
    let series = scenario.telemetry.series(&key).unwrap();
    let (last_ts, _) = series.value_at(i64::MAX).unwrap().unwrap();
    let buckets = series.rollup(last_ts - 14 * 86_400, last_ts + 1, 300).unwrap();
    let ts: Vec<i64> = buckets.iter().map(|b| b.start).collect();
    let values: Vec<f64> = buckets.iter().map(|b| b.avg()).collect();
    let cut = values.len() - 2016;
    let (train, test) = (&values[..cut], &values[cut..]);
    let scale = (288..cut).map(|t| (train[t] - train[t - 288]).abs()).sum::<f64>() / (cut - 288) as f64;
    let mut first_week_day = train[cut - 288..].to_vec();
    first_week_day.sort_by(f64::total_cmp);
    let flat = first_week_day[144];
    let flat_mase = test.iter().map(|v| (v - flat).abs()).sum::<f64>() / test.len() as f64 / scale;
    assert!((mase / flat_mase - 1.0).abs() < 0.05, "MASE {mase:.2}, flat forecast {flat_mase:.2}");
    // The same forecaster over the README's protocol (1-day horizon, 3 origins, all
    // after the shift) is as accurate as on the other CPU series.
    let daily = backtest(&ts, &values, 288, 3).unwrap();
    let daily_mase = daily.mase.unwrap();
    assert!(daily_mase < 1.5, "{daily:?}");
    eprintln!(
        "rds_cpu_utilization_cc0c53 as the Inspector forecasts it: {} ({}); forecast {lo:.2}..{hi:.2} around the \
         last day's median {level:.2}; backtest MASE {mase:.2} over 1 origin (a flat forecast at the first week's \
         level: {flat_mase:.2}); 1-day horizon, 3 origins: MASE {daily_mase:.2}",
        f.model,
        f.seasons.describe()
    );
}
