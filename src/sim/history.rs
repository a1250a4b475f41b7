//! Generation of telemetry history from workload models. Each series draws its noise
//! from its own seeded stream (`history/<twin>/<metric>`), so the history of a twin
//! does not change when other twins are added, and series can be generated on several
//! threads with a byte-identical result.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rand::Rng;

use super::rng;
use crate::model::telemetry::Series;
use crate::model::{SeriesKey, Status, StoreError, UnixSecs, WorkloadModel};
use crate::scenario::Scenario;

/// Why generation stopped early.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The store rejected a sample (a bug in a workload model, e.g. a NaN parameter).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The caller asked to stop.
    #[error("history generation was cancelled")]
    Cancelled,
}

/// Generates samples of one series: timestamps `start, start+res, … < end`.
pub fn series_samples(
    model: &WorkloadModel,
    seed: u64,
    key: &SeriesKey,
    start: UnixSecs,
    end: UnixSecs,
    resolution_secs: i64,
) -> (Vec<UnixSecs>, Vec<f64>) {
    let resolution = resolution_secs.max(1);
    let n = usize::try_from((end - start).max(0) / resolution).unwrap_or(0);
    let mut rng = rng::stream(seed, &format!("history/{}/{}", key.twin, key.metric));
    let memory = model.noise_memory.clamp(0.0, 0.999);
    let innovation = model.noise * (1.0 - memory * memory).sqrt();
    // Innovations by inverse transform through the engine's tables of normal and
    // Student's t quantiles (built with `libm`): the same bits on every machine, which
    // a sampler calling the platform's `exp` and `ln` would not guarantee.
    let draw = |rng: &mut rand_chacha::ChaCha8Rng| rng::innovation(model.tails, rng.random::<u32>());
    // Start the AR(1) noise in its stationary distribution.
    let mut noise = model.noise * draw(&mut rng);
    let mut ts = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    let mut t = start;
    for _ in 0..n {
        noise = memory * noise + innovation * draw(&mut rng);
        values.push(model.finish(t, model.expected(start, t) + noise));
        ts.push(t);
        t += resolution;
    }
    (ts, values)
}

/// Fills `scenario.telemetry` from its workload models and records outage incidents
/// in each twin's status history. `progress(done, total)` is called after each series;
/// setting `cancel` stops early with [`HistoryError::Cancelled`].
pub fn generate(
    scenario: &mut Scenario,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Result<(), HistoryError> {
    let jobs: Vec<(&SeriesKey, &WorkloadModel)> = scenario.workloads.iter().collect();
    let total = jobs.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Series, StoreError>>>> = Mutex::new((0..total).map(|_| None).collect());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let (seed, start, end, res) = (scenario.seed, scenario.start, scenario.end, scenario.resolution_secs);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    if cancel.load(Ordering::Relaxed) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((key, model)) = jobs.get(i) else {
                        return;
                    };
                    let (ts, values) = series_samples(model, seed, key, start, end, res);
                    let series = Series::from_samples(key, &ts, &values);
                    if let Ok(mut slots) = results.lock() {
                        slots[i] = Some(series);
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                }
            });
        }
    });
    if cancel.load(Ordering::Relaxed) {
        return Err(HistoryError::Cancelled);
    }
    let slots = results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    let keys: Vec<SeriesKey> = jobs.iter().map(|(k, _)| (*k).clone()).collect();
    for (key, slot) in keys.into_iter().zip(slots) {
        match slot {
            Some(series) => scenario.telemetry.insert_series(key, series?),
            None => return Err(HistoryError::Cancelled),
        }
    }
    record_outages(scenario);
    Ok(())
}

/// Writes each twin's outage incidents into its status history and sets its current
/// status to the status at the end of history.
fn record_outages(scenario: &mut Scenario) {
    let mut windows: std::collections::BTreeMap<crate::model::TwinId, Vec<(UnixSecs, UnixSecs)>> = Default::default();
    for (key, model) in &scenario.workloads {
        windows.entry(key.twin.clone()).or_default().extend(model.outages());
    }
    for (twin_id, mut spans) in windows {
        spans.sort_unstable();
        let mut merged: Vec<(UnixSecs, UnixSecs)> = Vec::new();
        for (s, e) in spans {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let end = scenario.end;
        if let Some(twin) = scenario.graph.twin_mut(&twin_id) {
            twin.status_history =
                merged.iter().flat_map(|(s, e)| [(*s, Status::Down), (*e, Status::Healthy)]).collect();
            if !twin.status_history.is_empty() {
                twin.status = twin.status_at(end);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{HOUR_SECS, Incident, IncidentEffect, Twin, TwinKind};

    fn scenario() -> Scenario {
        let mut s = Scenario {
            seed: 42,
            resolution_secs: 60,
            start: 1_700_000_000 - 1_700_000_000 % 86_400,
            ..Scenario::default()
        };
        s.end = s.start + 3 * 86_400;
        for id in ["web", "db"] {
            s.graph.add_twin(Twin::new(id, TwinKind::Service)).unwrap();
            let mut m = WorkloadModel::flat(40.0);
            m.noise = 3.0;
            m.noise_memory = 0.8;
            m.daily_amplitude = 10.0;
            m.max = 100.0;
            s.workloads.insert(SeriesKey::new(id, "cpu_usage"), m);
        }
        s
    }

    #[test]
    fn generation_is_deterministic_and_per_series() {
        let mut a = scenario();
        generate(&mut a, &|_, _| {}, &AtomicBool::new(false)).unwrap();
        let mut b = scenario();
        b.workloads.remove(&SeriesKey::new("db", "cpu_usage"));
        generate(&mut b, &|_, _| {}, &AtomicBool::new(false)).unwrap();
        let key = SeriesKey::new("web", "cpu_usage");
        let va = a.telemetry.series(&key).unwrap().read_all().unwrap();
        let vb = b.telemetry.series(&key).unwrap().read_all().unwrap();
        assert_eq!(va, vb);
        assert_eq!(va.len(), 3 * 1440);
        assert!(va.values.iter().all(|v| (0.0..=100.0).contains(v)));
        let mut c = scenario();
        c.seed = 43;
        generate(&mut c, &|_, _| {}, &AtomicBool::new(false)).unwrap();
        assert_ne!(c.telemetry.series(&key).unwrap().read_all().unwrap(), va);
    }

    #[test]
    fn outages_become_status_history() {
        let mut s = scenario();
        let start = s.start;
        let model = s.workloads.get_mut(&SeriesKey::new("db", "cpu_usage")).unwrap();
        model.incidents.push(Incident {
            start: start + HOUR_SECS,
            duration_secs: HOUR_SECS,
            effect: IncidentEffect::Outage,
        });
        generate(&mut s, &|_, _| {}, &AtomicBool::new(false)).unwrap();
        let db = s.graph.twin(&"db".into()).unwrap();
        assert_eq!(db.status_at(start + HOUR_SECS + 5), Status::Down);
        assert_eq!(db.status_at(start + 3 * HOUR_SECS), Status::Healthy);
        let (_, v) = s
            .telemetry
            .series(&SeriesKey::new("db", "cpu_usage"))
            .unwrap()
            .value_at(start + HOUR_SECS + 60)
            .unwrap()
            .unwrap();
        assert_eq!(v, 0.0);
    }

    #[test]
    fn cancel_stops_generation() {
        let mut s = scenario();
        assert!(matches!(generate(&mut s, &|_, _| {}, &AtomicBool::new(true)), Err(HistoryError::Cancelled)));
    }
}
