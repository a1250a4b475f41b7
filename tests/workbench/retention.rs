//! Bounded memory: a live session fed by a fast synthetic source on a fake clock through
//! 60 days keeps its store flat once the raw window (35 days) is full, and retention is
//! applied when a telemetry file is loaded.
//!
//! The samples go through `live::apply`, the way a live sync folds them in. "Flat" is
//! measured on the store's own figures (raw samples held, encoded bytes), never on
//! process RSS: the head of each series fills and seals every 4,096 samples (2.8 days
//! at 60 s), so the figures are a sawtooth, and the test compares their peaks over
//! the three days after the window fills with their peaks over the last three days.

use twinbench::io::live::{self, LiveEvent};
use twinbench::model::{DAY_SECS, SeriesKey, StoreStats};
use twinbench::scenario::Scenario;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;
const STEP_SECS: i64 = 60;

/// One synthetic reading: a daily cycle plus deterministic noise, two decimals, as a
/// host's gauges are reported.
fn reading(series: usize, t: i64, x: &mut u64) -> f64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    let phase = (t % DAY_SECS) as f64 / DAY_SECS as f64 * std::f64::consts::TAU;
    let noise = (*x % 1000) as f64 / 100.0;
    ((40.0 + series as f64 + 20.0 * phase.sin() + noise) * 100.0).round() / 100.0
}

/// Feeds `days` of samples of `series` series in 5-minute syncs; calls `observe` after
/// each simulated hour with the day number and the store's figures.
fn soak(series: usize, days: i64, mut observe: impl FnMut(f64, &Scenario, StoreStats)) -> Scenario {
    let mut scenario = live::live_scenario("soak", "synthetic", STEP_SECS);
    let keys: Vec<SeriesKey> = (0..series).map(|i| SeriesKey::new(format!("host-{i}").as_str(), "cpu_usage")).collect();
    let mut x = 0x2545_F491_4F6C_DD1D_u64;
    let batch = 5;
    let end = T0 + days * DAY_SECS;
    let mut t = T0;
    while t < end {
        let ts: Vec<i64> = (0..batch).map(|i| t + i * STEP_SECS).collect();
        let events = keys
            .iter()
            .enumerate()
            .map(|(i, key)| LiveEvent::Samples {
                key: key.clone(),
                ts: ts.clone(),
                values: ts.iter().map(|&t| reading(i, t, &mut x)).collect(),
            })
            .collect();
        let applied = live::apply(&mut scenario, events);
        assert!(applied.errors.is_empty(), "{:?}", applied.errors);
        t += batch * STEP_SECS;
        if (t - T0) % 3600 == 0 {
            let stats = scenario.telemetry.stats();
            observe((t - T0) as f64 / DAY_SECS as f64, &scenario, stats);
        }
    }
    scenario
}

fn peak(points: &[(f64, StoreStats)], from: f64, to: f64, f: fn(&StoreStats) -> usize) -> usize {
    points.iter().filter(|(d, _)| *d >= from && *d <= to).map(|(_, s)| f(s)).max().unwrap_or(0)
}

#[test]
fn a_live_session_through_sixty_days_stays_flat_after_the_raw_window_fills() {
    let mut points = Vec::new();
    let scenario = soak(8, 60, |day, _, stats| points.push((day, stats)));
    let samples = |s: &StoreStats| s.samples;
    let bytes = |s: &StoreStats| s.encoded_bytes;
    let (s35, s60) = (peak(&points, 35.0, 38.0, samples), peak(&points, 57.0, 60.0, samples));
    let (b35, b60) = (peak(&points, 35.0, 38.0, bytes), peak(&points, 57.0, 60.0, bytes));
    eprintln!(
        "soak, 8 series: peak raw samples {s35} (days 35-38) vs {s60} (days 57-60); encoded bytes {b35} vs {b60}"
    );
    assert!(s60 as f64 <= s35 as f64 * 1.10, "raw samples grew from {s35} to {s60}");
    assert!(b60 as f64 <= b35 as f64 * 1.10, "encoded bytes grew from {b35} to {b60}");
    // Before the window fills the store does grow (35/20 of the samples): the checks
    // above would see it.
    let (s20, b20) = (peak(&points, 17.0, 20.0, samples), peak(&points, 17.0, 20.0, bytes));
    assert!(s35 as f64 > s20 as f64 * 1.6, "{s20} -> {s35}");
    assert!(b35 as f64 > b20 as f64 * 1.25, "{b20} -> {b35}");
    // Nothing is lost: every sample is either raw or counted in a rollup, and the
    // hourly rollups span the whole session.
    let total = (60 * DAY_SECS / STEP_SECS) as usize;
    for key in scenario.telemetry.keys() {
        let series = scenario.telemetry.series(key).unwrap();
        assert_eq!(series.sample_count() + series.rolled_up_count().unwrap(), total);
        let hours = series.rollup(T0, T0 + 60 * DAY_SECS, 3600).unwrap();
        assert_eq!(hours.len(), 60 * 24);
        assert!(hours.iter().all(|b| b.count == 60));
    }
    assert_eq!(scenario.telemetry.span(), Some((T0, T0 + 60 * DAY_SECS - STEP_SECS)));
}

/// Resident set size of this process in bytes (Linux).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

/// The process's RSS through the same soak with 200 series, peaks over the three days
/// after the raw window fills and over the last three (run alone:
/// `cargo test --test workbench soak_rss -- --ignored --nocapture`).
#[test]
#[ignore = "a measurement for the README, not a check: RSS depends on the allocator"]
fn soak_rss() {
    let mut points = Vec::new();
    let mut rss = Vec::new();
    soak(200, 60, |day, _, stats| {
        points.push((day, stats));
        rss.push((day, rss_bytes().unwrap_or(0)));
    });
    let peak_rss = |from: f64, to: f64| rss.iter().filter(|(d, _)| *d >= from && *d <= to).map(|(_, r)| *r).max();
    for (from, to) in [(17.0, 20.0), (35.0, 38.0), (57.0, 60.0)] {
        eprintln!(
            "days {from}-{to}: peak RSS {:.1} MB, peak store {} raw samples, {:.2} MB encoded",
            peak_rss(from, to).unwrap_or(0) as f64 / 1e6,
            peak(&points, from, to, |s| s.samples),
            peak(&points, from, to, |s| s.encoded_bytes) as f64 / 1e6
        );
    }
}
