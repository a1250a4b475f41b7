//! How faithful learned twins are: train on the history before the last `holdout`,
//! simulate the held-out span with several seeds, and compare with what really
//! happened, on hourly means (SPEC M20; `twinbench learn --holdout`).
//!
//! Per series, over the held-out clock hours that have data (UTC hours from the one
//! the held-out span starts in, `cut`, counting only samples from `cut` on):
//! - `mase_sim`: mean |simulated hourly median − actual hourly mean| over the hours,
//!   divided by the in-sample MAE of the one-day seasonal naive forecast on the
//!   training part's hourly means (its whole clock hours before `cut`'s; lag 24 hours);
//! - `mase_replay`: the same for a *replay twin*, which says each hour will be what
//!   the training history showed one week earlier — one day when the training part
//!   is shorter than 14 days — repeated back as often as needed to land in training
//!   (it never sees held-out data);
//! - `coverage80`: the share of actual hourly means within the 10–90% quantiles of
//!   the seeds' hourly means.
//!
//! The aggregate is the mean of the series' MASEs and the coverage pooled over every
//! series' hours. Series end at different times in one scenario (telemetry files
//! join series of different spans): each series holds out *its own* last span, and
//! the series that end at the same time are trained and simulated together (one world
//! per end, starting at its cut). The simulations run with no policies (nothing acts)
//! and seed `seed + r` for replication r, spread over the cores, results in order.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use super::world::{SimError, World, WorldConfig};
use crate::analytics::learn::{LearnConfig, learn};
use crate::model::{Fidelity, HOUR_SECS, SeriesKey, UnixSecs};
use crate::scenario::Scenario;

/// A series' key, timestamps and values.
type Held = (SeriesKey, Vec<UnixSecs>, Vec<f64>);

/// What to hold out and how many replications to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct HoldoutSpec {
    /// Seconds held out at the end of each series.
    pub holdout_secs: i64,
    /// Replications (seeds `seed`, `seed + 1`, …).
    pub seeds: u32,
    /// The first seed.
    pub seed: u64,
}

/// The score of one series.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesScore {
    /// The series.
    pub key: SeriesKey,
    /// Held-out hours with data.
    pub hours: usize,
    /// The scores.
    pub fidelity: Fidelity,
    /// The replay twin's lag in seconds (a week or a day).
    pub replay_lag_secs: i64,
}

/// Scores of every series that could be scored, and why others could not.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HoldoutReport {
    /// Per series, in key order.
    pub series: Vec<SeriesScore>,
    /// Series not scored, with the reason.
    pub skipped: Vec<(SeriesKey, String)>,
    /// Mean `mase_sim` over the scored series.
    pub mase_sim: f64,
    /// Mean `mase_replay` over the scored series.
    pub mase_replay: f64,
    /// Coverage pooled over all scored hours.
    pub coverage80: f64,
    /// Worlds simulated (one per distinct end of series).
    pub groups: usize,
}

/// Trains on everything before each series' last `spec.holdout_secs` and scores the
/// simulated continuation against the held-out samples. `scenario` must hold its
/// telemetry; `config` is the learning configuration (its `until` is set per group).
pub fn holdout(
    scenario: &Scenario,
    config: &LearnConfig,
    spec: &HoldoutSpec,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Result<HoldoutReport, SimError> {
    let res = scenario.resolution_secs.max(1);
    if spec.holdout_secs < HOUR_SECS {
        return Err(SimError::Invalid(format!("the holdout must be at least an hour, not {} s", spec.holdout_secs)));
    }
    if spec.seeds < 2 {
        return Err(SimError::Invalid("a holdout needs at least 2 seeds for its envelope".into()));
    }
    // Series by the end of their data (the first grid time after their last sample).
    let mut groups: BTreeMap<UnixSecs, Vec<Held>> = BTreeMap::new();
    let mut report = HoldoutReport::default();
    for key in scenario.telemetry.keys() {
        if key.metric.as_str() == crate::model::metric::UP {
            continue;
        }
        let Some(series) = scenario.telemetry.series(key) else { continue };
        let data = series.read_all().map_err(|e| SimError::Invalid(format!("series {key}: {e}")))?;
        let Some(&last) = data.ts.last() else { continue };
        let end = last - last.rem_euclid(res) + res;
        groups.entry(end).or_default().push((key.clone(), data.ts, data.values));
    }
    report.groups = groups.len();
    let total = groups.len() * spec.seeds as usize;
    let mut done = 0;
    let (mut covered, mut hours_total) = (0usize, 0usize);
    for (end, members) in groups {
        let cut = end - spec.holdout_secs;
        // Train: the scenario as it was at the cut.
        let mut trained = scenario.clone();
        trained.end = cut;
        let learn_config = LearnConfig { until: Some(cut), ..config.clone() };
        let learned =
            learn(&trained, &learn_config, &|_, _| {}, cancel).map_err(|e| SimError::Invalid(e.to_string()))?;
        learned.apply(&mut trained);
        for (key, _, _) in &members {
            if !trained.workloads.contains_key(key) {
                report.skipped.push((key.clone(), "no history before the held-out span".into()));
            }
        }
        let scored: Vec<&Held> = members.iter().filter(|(k, _, _)| trained.workloads.contains_key(k)).collect();
        if scored.is_empty() {
            continue;
        }
        let world_config =
            WorldConfig { acting: Vec::new(), watching: Vec::new(), ..WorldConfig::for_scenario(&trained) };
        let world = World::new(&trained, world_config.clone())?;
        let indices: Vec<usize> =
            scored.iter().filter_map(|(k, _, _)| world.series_index(&k.twin, k.metric.as_str())).collect();
        let ticks = (spec.holdout_secs / res).max(1) as u64;
        // Clock hours: the first starts at the hour the cut falls in.
        let first_hour = cut - cut.rem_euclid(HOUR_SECS);
        let hours = usize::try_from((cut + spec.holdout_secs - first_hour + HOUR_SECS - 1) / HOUR_SECS).unwrap_or(0);
        let seeds: Vec<u64> = (0..u64::from(spec.seeds)).map(|r| spec.seed.wrapping_add(r)).collect();
        // Per seed: hourly means of each scored series.
        let runs = crate::analytics::par::map_items(&seeds, &|_, _| {}, cancel, |seed| {
            let world = World::new(&trained, WorldConfig { seed: *seed, ..world_config.clone() })?;
            simulate_hourly(world, ticks, first_hour, hours, &indices)
        })
        .ok_or(SimError::Cancelled)?;
        let runs: Vec<Vec<Vec<f64>>> = runs.into_iter().collect::<Result<_, _>>()?;
        done += seeds.len();
        progress(done, total);
        for (s, (key, ts, values)) in scored.iter().enumerate() {
            let held = ts.partition_point(|t| *t < cut);
            let actual = hourly_means(&ts[held..], &values[held..], first_hour, hours);
            // Whole clock hours of training before the cut's hour.
            let history_hours = usize::try_from((first_hour - ts[0]).max(0) / HOUR_SECS).unwrap_or(0);
            let training = hourly_means(ts, values, first_hour - history_hours as i64 * HOUR_SECS, history_hours);
            match score(&actual, &training, &runs.iter().map(|r| r[s].clone()).collect::<Vec<_>>()) {
                Ok((fit, lag_hours, n, inside)) => {
                    covered += inside;
                    hours_total += n;
                    report.series.push(SeriesScore {
                        key: key.clone(),
                        hours: n,
                        fidelity: Fidelity { holdout_secs: spec.holdout_secs, ..fit },
                        replay_lag_secs: lag_hours as i64 * HOUR_SECS,
                    });
                }
                Err(why) => report.skipped.push((key.clone(), why)),
            }
        }
    }
    report.series.sort_by(|a, b| a.key.cmp(&b.key));
    report.skipped.sort();
    let n = report.series.len().max(1) as f64;
    report.mase_sim = report.series.iter().map(|s| s.fidelity.mase_sim).sum::<f64>() / n;
    report.mase_replay = report.series.iter().map(|s| s.fidelity.mase_replay).sum::<f64>() / n;
    report.coverage80 = if hours_total > 0 { covered as f64 / hours_total as f64 } else { 0.0 };
    Ok(report)
}

/// Hourly means of the series at `indices` over `ticks` ticks of `w`, by clock hour
/// from `first_hour`: `[series][hour]`, NaN for an hour with no reported value.
fn simulate_hourly(
    mut w: World,
    ticks: u64,
    first_hour: UnixSecs,
    hours: usize,
    indices: &[usize],
) -> Result<Vec<Vec<f64>>, SimError> {
    let mut sum = vec![vec![0.0; hours]; indices.len()];
    let mut count = vec![vec![0u32; hours]; indices.len()];
    let inputs = super::input::Inputs::default();
    for _ in 0..ticks {
        super::engine::step(&mut w, &inputs);
        let h = usize::try_from((w.now() - first_hour) / HOUR_SECS).unwrap_or(usize::MAX);
        if h >= hours {
            continue;
        }
        for (s, &j) in indices.iter().enumerate() {
            if let Some(v) = w.series_value(j) {
                sum[s][h] += v;
                count[s][h] += 1;
            }
        }
    }
    Ok(sum
        .into_iter()
        .zip(count)
        .map(|(s, c)| s.iter().zip(&c).map(|(s, c)| if *c > 0 { s / f64::from(*c) } else { f64::NAN }).collect())
        .collect())
}

/// Means of the samples in hours `[from + h·3600, from + (h + 1)·3600)` for h in
/// `0..count` (NaN for an hour without samples).
fn hourly_means(ts: &[UnixSecs], values: &[f64], from: UnixSecs, count: usize) -> Vec<f64> {
    let mut sum = vec![0.0; count];
    let mut n = vec![0u32; count];
    let lo = ts.partition_point(|t| *t < from);
    for (t, v) in ts[lo..].iter().zip(&values[lo..]) {
        let h = usize::try_from((t - from) / HOUR_SECS).unwrap_or(usize::MAX);
        if h >= count {
            break;
        }
        sum[h] += v;
        n[h] += 1;
    }
    sum.iter().zip(&n).map(|(s, c)| if *c > 0 { s / f64::from(*c) } else { f64::NAN }).collect()
}

/// The `q` quantile (linear interpolation) of finite values; NaN when none.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    if i + 1 < v.len() { v[i] + (v[i + 1] - v[i]) * frac } else { v[i] }
}

/// Scores a series: `(fidelity, replay lag in hours, hours scored, hours inside the
/// envelope)`, or why it cannot be scored.
fn score(actual: &[f64], training: &[f64], runs: &[Vec<f64>]) -> Result<(Fidelity, usize, usize, usize), String> {
    // The MASE scale: the one-day seasonal naive on the training hourly means.
    let diffs: Vec<f64> = (24..training.len())
        .filter_map(|h| {
            let (a, b) = (training[h], training[h - 24]);
            (a.is_finite() && b.is_finite()).then(|| (a - b).abs())
        })
        .collect();
    if diffs.is_empty() {
        return Err("less than a day and an hour of training history (no MASE scale)".into());
    }
    let scale = diffs.iter().sum::<f64>() / diffs.len() as f64;
    if scale <= 0.0 {
        return Err("the training history repeats itself exactly from day to day (MASE scale 0)".into());
    }
    let lag = if training.len() >= 14 * 24 { 7 * 24 } else { 24 };
    let replay_at = |h: usize| -> f64 {
        // Hour h of the holdout is training index len + h; step back by the lag until
        // it lands in training.
        let mut i = (training.len() + h) as i64;
        while i >= training.len() as i64 {
            i -= lag as i64;
        }
        if i < 0 { f64::NAN } else { training[i as usize] }
    };
    let (mut err_sim, mut err_replay, mut n, mut inside, mut n_replay) = (0.0, 0.0, 0usize, 0usize, 0usize);
    for (h, a) in actual.iter().enumerate() {
        if !a.is_finite() {
            continue;
        }
        let sims: Vec<f64> = runs.iter().map(|r| r[h]).collect();
        let median = quantile(&sims, 0.5);
        if !median.is_finite() {
            continue;
        }
        n += 1;
        err_sim += (median - a).abs();
        let (lo, hi) = (quantile(&sims, 0.1), quantile(&sims, 0.9));
        if lo <= *a && *a <= hi {
            inside += 1;
        }
        let r = replay_at(h);
        if r.is_finite() {
            err_replay += (r - a).abs();
            n_replay += 1;
        }
    }
    if n == 0 {
        return Err("no held-out hour with data".into());
    }
    let fit = Fidelity {
        holdout_secs: 0,
        mase_sim: err_sim / n as f64 / scale,
        mase_replay: if n_replay > 0 { err_replay / n_replay as f64 / scale } else { f64::NAN },
        coverage80: inside as f64 / n as f64,
    };
    Ok((fit, lag, n, inside))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_hourly_means() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0, f64::NAN], 0.5), 2.0);
        assert_eq!(quantile(&[1.0, 2.0], 0.1), 1.1);
        assert!(quantile(&[], 0.5).is_nan());
        let ts = [0, 1800, 3600, 9000];
        let m = hourly_means(&ts, &[1.0, 3.0, 5.0, 7.0], 0, 3);
        assert_eq!(m[..2], [2.0, 5.0]);
        assert_eq!(m[2], 7.0);
    }

    #[test]
    fn the_replay_twin_never_reads_held_out_hours() {
        // Training: 2 days of hour-of-day values, the second day 0.5 higher (so the
        // seasonal naive's error, the scale, is 0.5); actual: the first day + 1.
        let training: Vec<f64> = (0..48).map(|h| (h % 24) as f64 + if h >= 24 { 0.5 } else { 0.0 }).collect();
        let actual: Vec<f64> = (0..30).map(|h| (h % 24) as f64 + 1.0).collect();
        let runs =
            vec![actual.clone(), actual.iter().map(|a| a + 2.0).collect(), actual.iter().map(|a| a - 2.0).collect()];
        let (fit, lag, n, inside) = score(&actual, &training, &runs).unwrap();
        assert_eq!((lag, n, inside), (24, 30, 30));
        assert_eq!(fit.mase_sim, 0.0);
        // The replay repeats the second training day (off by 0.5) for every held-out
        // hour, also those after the first held-out day.
        assert!((fit.mase_replay - 1.0).abs() < 1e-12, "{}", fit.mase_replay);
        assert_eq!(fit.coverage80, 1.0);
        assert!(score(&actual, &training[..20], &runs).is_err());
        let flat = vec![1.0; 48];
        assert!(score(&actual, &flat, &runs).unwrap_err().contains("MASE scale 0"));
    }
}
