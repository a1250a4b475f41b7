//! Anomaly scans of a whole scenario for the workbench: every series is scored by the
//! default causal detector on 5-minute means (the resolution the detector was
//! evaluated at; finer series are averaged, coarser ones are used as they are), giving
//! a compact level timeline per series (for colouring the graph at any time) and marks
//! of the moments worth a look (for the plots), at most one per hour per series.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::anomaly::{Method, score_series};
use super::par::map_items_prioritised;
use crate::model::{SeriesKey, StoreError, TwinId, UnixSecs};
use crate::scenario::Scenario;

/// Width of the scan buckets.
pub const SCAN_STEP_SECS: i64 = 300;
/// Scores at or above this are anomalies.
pub const ALARM: f64 = 0.5;

/// A moment worth a look.
#[derive(Clone, Debug, PartialEq)]
pub struct AnomalyMark {
    /// When (start of the bucket).
    pub ts: UnixSecs,
    /// Score in [0, 1].
    pub score: f64,
    /// Why.
    pub reason: String,
}

/// An anomaly episode: from the bucket whose score reached the alarm level to the last
/// bucket the detector still saw as part of it (it reports an episode once and holds
/// the scores of its continuation below the alarm, marking them `ongoing`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Episode {
    /// Start of its first bucket.
    pub start: UnixSecs,
    /// Start of its last bucket so far.
    pub last: UnixSecs,
    /// Its highest score.
    pub peak: f64,
}

/// The anomaly scan of one series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesAnomalies {
    /// Start of the first bucket.
    pub start: UnixSecs,
    /// Bucket width.
    pub step_secs: i64,
    /// Score per bucket, quantised to 0–255.
    pub levels: Vec<u8>,
    /// The strongest alarm of each hour that had one.
    pub marks: Vec<AnomalyMark>,
    /// The anomaly episodes, in time order.
    pub episodes: Vec<Episode>,
}

impl SeriesAnomalies {
    /// The score at time `t` (0 outside the scanned span).
    pub fn level_at(&self, t: UnixSecs) -> f64 {
        if t < self.start || self.step_secs <= 0 {
            return 0.0;
        }
        let i = usize::try_from((t - self.start) / self.step_secs).unwrap_or(usize::MAX);
        self.levels.get(i).map_or(0.0, |l| f64::from(*l) / 255.0)
    }

    /// The anomaly sustained up to `t`: the episode that the bucket holding `t`
    /// belongs to (the last bucket when `t` is at most one step past it), when its
    /// peak reached `min_score` and it has lasted at least `for_secs` (whole buckets up
    /// to and including that one). Its start and peak.
    pub fn sustained(&self, t: UnixSecs, min_score: f64, for_secs: i64) -> Option<(UnixSecs, f64)> {
        if t < self.start || self.step_secs <= 0 {
            return None;
        }
        let mut bucket = self.start + (t - self.start) / self.step_secs * self.step_secs;
        // The scenario's "now" may be one step past its last sample.
        let last = self.start + (self.levels.len() as i64 - 1) * self.step_secs;
        if bucket > last && t - last <= self.step_secs {
            bucket = last;
        }
        let e = self.episodes.iter().rev().find(|e| e.start <= bucket)?;
        let lasted = bucket - e.start + self.step_secs;
        (e.last >= bucket && e.peak >= min_score && lasted >= for_secs).then_some((e.start, e.peak))
    }

    /// The mark active at `t` (within an hour before it), if any.
    pub fn mark_near(&self, t: UnixSecs) -> Option<&AnomalyMark> {
        self.marks.iter().rev().find(|m| m.ts <= t && t - m.ts < 3600)
    }
}

/// Scans one series.
pub fn scan_series(scenario: &Scenario, key: &SeriesKey) -> Result<SeriesAnomalies, StoreError> {
    let Some(series) = scenario.telemetry.series(key) else {
        return Ok(SeriesAnomalies::default());
    };
    let step = SCAN_STEP_SECS.max(scenario.resolution_secs);
    let buckets = series.rollup(i64::MIN / 4, i64::MAX / 4, step)?;
    let ts: Vec<UnixSecs> = buckets.iter().map(|b| b.start).collect();
    let values: Vec<f64> = buckets.iter().map(|b| b.avg()).collect();
    let Some(&start) = ts.first() else {
        return Ok(SeriesAnomalies::default());
    };
    let mut detector = Method::Combined.detector();
    let scores = score_series(detector.as_mut(), &ts, &values).map_err(|e| StoreError::Codec(e.to_string()))?;
    let slots = usize::try_from((ts[ts.len() - 1] - start) / step + 1).unwrap_or(0);
    let mut levels = vec![0u8; slots];
    let mut marks: Vec<AnomalyMark> = Vec::new();
    let mut episodes: Vec<Episode> = Vec::new();
    let mut open = false;
    for (t, s) in ts.iter().zip(&scores) {
        if !open && s.score >= ALARM {
            episodes.push(Episode { start: *t, last: *t, peak: s.score });
            open = true;
        } else if open && (s.ongoing || s.score >= ALARM) {
            if let Some(e) = episodes.last_mut() {
                e.last = *t;
                e.peak = e.peak.max(s.score);
            }
        } else {
            open = false;
        }
        let slot = usize::try_from((t - start) / step).unwrap_or(0);
        if let Some(level) = levels.get_mut(slot) {
            *level = (s.score.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
        if s.score >= ALARM {
            let hour = t.div_euclid(3600);
            match marks.last_mut() {
                Some(last) if last.ts.div_euclid(3600) == hour => {
                    if s.score > last.score {
                        *last = AnomalyMark { ts: *t, score: s.score, reason: s.reason(key.metric.as_str()) };
                    }
                }
                _ => marks.push(AnomalyMark { ts: *t, score: s.score, reason: s.reason(key.metric.as_str()) }),
            }
        }
    }
    Ok(SeriesAnomalies { start, step_secs: step, levels, marks, episodes })
}

/// The anomaly scan of a whole scenario: every series' levels, marks and episodes.
pub type AnomalyScans = BTreeMap<SeriesKey, SeriesAnomalies>;

/// Scans every series (see the module docs).
pub fn scan(
    scenario: &Scenario,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Result<AnomalyScans, StoreError> {
    scan_prioritised(scenario, &Mutex::new(Vec::new()), &|_, _| {}, progress, cancel)
}

/// For [`map_items_prioritised`] over `keys` (sorted: a twin's series are one run):
/// the next series not yet taken of the first twin in `wanted`; twins whose series are
/// all taken leave the list.
pub(crate) fn wanted_first<'a>(
    keys: &'a [&'a SeriesKey],
    wanted: &'a Mutex<Vec<TwinId>>,
) -> impl Fn(&[AtomicBool]) -> Option<usize> + Sync + 'a {
    move |taken: &[AtomicBool]| {
        let mut wanted = wanted.lock().ok()?;
        while let Some(twin) = wanted.first() {
            let first = keys.partition_point(|k| &k.twin < twin);
            let run = first..first + keys[first..].partition_point(|k| &k.twin == twin);
            if let Some(i) = run.into_iter().find(|&i| !taken[i].load(Ordering::Relaxed)) {
                return Some(i);
            }
            wanted.remove(0);
        }
        None
    }
}

/// [`scan`], steered and streamed: `wanted` lists twins whose series should be scanned
/// first, most wanted first (the workbench puts the selected twin and those on screen
/// there, and may change it while the scan runs); `sink` receives each series' scan as
/// it is done. The result is the same whatever the order.
pub fn scan_prioritised(
    scenario: &Scenario,
    wanted: &Mutex<Vec<TwinId>>,
    sink: &(dyn Fn(&SeriesKey, &SeriesAnomalies) + Sync),
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Result<AnomalyScans, StoreError> {
    let keys: Vec<&SeriesKey> = scenario.telemetry.keys().collect();
    let urgent = wanted_first(&keys, wanted);
    let results = map_items_prioritised(
        &keys,
        &urgent,
        progress,
        cancel,
        |key| scan_series(scenario, key),
        |i, result| {
            if let Ok(scan) = result {
                sink(keys[i], scan);
            }
        },
    )
    .ok_or_else(|| StoreError::Codec("anomaly scan cancelled".into()))?;
    keys.iter().zip(results).map(|(key, result)| Ok(((*key).clone(), result?))).collect()
}

/// A twin's anomaly level at `t`: the highest level of its series, with that series'
/// mark near `t` when there is one.
pub fn twin_level<'a>(
    scans: &'a BTreeMap<SeriesKey, SeriesAnomalies>,
    twin: &TwinId,
    t: UnixSecs,
) -> (f64, Option<&'a AnomalyMark>) {
    let mut best = (0.0, None);
    for (key, scan) in scans.range(SeriesKey::new(twin.clone(), "")..).take_while(|(k, _)| &k.twin == twin) {
        let _ = key;
        let level = scan.level_at(t);
        if level > best.0 || best.1.is_none() && level >= best.0 {
            best = (level, scan.mark_near(t).or(best.1));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Twin, TwinKind};

    #[test]
    fn a_clear_spike_is_marked_and_levels_follow_time() {
        let mut s = Scenario { resolution_secs: 60, ..Scenario::default() };
        s.graph.add_twin(Twin::new("web", TwinKind::Service)).unwrap();
        let key = SeriesKey::new("web", "cpu_usage");
        let n = 4 * 1440;
        let ts: Vec<i64> = (0..n).map(|i| i as i64 * 60).collect();
        let values: Vec<f64> = (0..n)
            .map(|i| {
                let base =
                    40.0 + 10.0 * ((i as f64) * std::f64::consts::TAU / 1440.0).sin() + ((i * 7919) % 13) as f64 * 0.3;
                if (3 * 1440 + 600..3 * 1440 + 660).contains(&i) { base + 50.0 } else { base }
            })
            .collect();
        s.telemetry.append_many(&key, &ts, &values).unwrap();
        let scans = scan(&s, &|_, _| {}, &AtomicBool::new(false)).unwrap();
        let scan = &scans[&key];
        assert_eq!(scan.step_secs, 300);
        let spike = (3 * 1440 + 610) as i64 * 60;
        assert!(scan.marks.iter().any(|m| (m.ts - spike).abs() <= 3600), "marks: {:?}", scan.marks);
        let start = (3 * 1440 + 600) as i64 * 60;
        let peak = (start..start + 3600).step_by(300).map(|t| scan.level_at(t)).fold(0.0, f64::max);
        assert!(peak >= ALARM, "peak level {peak}");
        let quiet = (0..start - 7200).step_by(300).filter(|t| scan.level_at(*t) >= ALARM).count();
        assert!(quiet <= 3, "{quiet} alarms before the spike");
        let mark = scan.marks.iter().find(|m| (m.ts - spike).abs() <= 3600).unwrap();
        let (level, near) = twin_level(&scans, &"web".into(), mark.ts);
        assert!(level >= ALARM && near.is_some());
    }
}
