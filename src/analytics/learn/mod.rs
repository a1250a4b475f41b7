//! Learned twins: workload models and couplings fitted to a scenario's history, so any
//! scenario with telemetry (a `connect` snapshot, a CSV of real series) can be
//! simulated, forked and broken on purpose (SPEC M20). The results are ordinary
//! [`WorkloadModel`]s — readable and editable in the scenario file — that say what they
//! were learned from ([`WorkloadModel::learned`]).
//!
//! # One series ([`learn_series`])
//!
//! The samples (the last [`LearnConfig::max_days`] days before [`LearnConfig::until`])
//! are put on the scenario's grid (samples of one slot averaged, missing slots NaN).
//! 1. **Seasons, only when earned** (`analytics::season`: at least three full cycles
//!    whose odd and even halves agree, r ≥ 0.5). A daily profile of 24 hourly points
//!    (clipped mean of the series minus its centred one-day moving average, per hour of
//!    the UTC day, centred on zero, interpolated between hours) is subtracted, then a
//!    weekly profile of 7 day offsets the same way over one week. A level shift in
//!    the second of two weeks is not a weekly season: two cycles are too few, and in
//!    three the shift sits in one half only.
//! 2. **Level shifts** on hourly medians of what remains: binary segmentation for a
//!    change in mean (the CUSUM split), recursing to the right of each accepted shift.
//!    A split is a shift when the means differ by more than 4 hour-to-hour noise
//!    scales (robust sd of hourly differences / √2), both sides hold 12 hours, and a
//!    step fits better than a straight line (else it is a trend). The level is learned
//!    after the last shift, so a twin continues the series' *new* level.
//! 3. **Trend**: least squares on the final segment's hourly medians, kept when the
//!    segment is at least 3 days long and |slope / se| ≥ 3 with the standard error
//!    inflated by √((1 + ρ)/(1 − ρ)) for autocorrelated residuals (lag-1 ρ).
//! 4. **Level at the end**: the median of the final segment's last 72 hourly medians,
//!    each moved along the trend to the end. `base` is that level minus the trend back
//!    to the scenario's start (the time `base` refers to).
//! 5. **Noise** on the residuals of the latest 7 days of the final segment: the
//!    standard deviation (winsorised at 8 robust sd), an AR(1) memory chosen so the
//!    variance of hourly means matches the residuals' (what a twin is judged on: slow
//!    wander in real residuals would be missed by a lag-1 fit), and tails — the share
//!    of innovations beyond 4 robust sd picks normal, t₁₀, t₅ or t₃ (the engine's
//!    tables, `model::noise`).
//! 6. **Range and precision**: the metric's own bounds (0–100 for percentages), else
//!    non-negative when every sample is, unbounded otherwise; decimals as many as the
//!    samples carry (0–6).
//!
//! # Couplings ([`learn`])
//!
//! From hourly means over the hours both series have (at least 24):
//! - **CPU against request rate** (same twin): `cpu = a + b·rate`; with correlation ≥
//!   0.5 and b > 0 the share of CPU that follows traffic is `b·mean(rate)/mean(cpu)`
//!   (in [0, 1]; the engine scales only that share with the traffic factor).
//! - **Latency against utilisation** (same twin, ρ = cpu/100): `latency = a + b/(1 − ρ)`
//!   (a saturating curve, linear in `x = 1/(1 − ρ)`); with b > 0 at t ≥ 3 the share of
//!   the latency that is queueing is `b·x̄/(max(a, 0) + b·x̄)`.
//! - **Traffic shares along edges** (`routes_to`, `depends_on`): a twin's request rate
//!   against its callers' by non-negative least squares without intercept; with the fit
//!   correlating ≥ 0.5, each caller's coefficient (capped at 1) is the share of its
//!   traffic that goes along the edge.
//!
//! Where the data has no such evidence, the documented defaults stay (all CPU follows
//! traffic, all latency is queueing, the edge's written share), and a note says so.
//!
//! Deterministic and pure (no clock, no randomness); series are learned on all cores
//! (`par::map_items`) with results in key order.

mod coupling;
mod series;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

pub use coupling::{Coupling, EdgeShare};
pub use series::{DAILY_POINTS, SeriesFit, learn_series};

use crate::model::{EdgeKind, SeriesKey, TwinId, UnixSecs, WorkloadModel};

use crate::scenario::Scenario;

/// Settings of learning.
#[derive(Clone, Debug, PartialEq)]
pub struct LearnConfig {
    /// The grid samples are put on (the scenario's resolution).
    pub resolution_secs: i64,
    /// At most this many latest days are learned from (default 56: eight weeks).
    pub max_days: f64,
    /// Only samples before this time are learned from (a holdout's start).
    pub until: Option<UnixSecs>,
    /// Which series get a new model.
    pub relearn: Relearn,
}

/// Which series learning gives a new model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relearn {
    /// Only those without a model.
    Missing,
    /// Those without one and those whose model was learned (written models stay):
    /// what a live session's periodic refit and the workbench's *Learn twins* do.
    Learned,
    /// Every series, written models too (`learn --refit`).
    All,
}

impl Relearn {
    /// Whether a series whose model is `model` (if any) gets a new one.
    pub fn wants(self, model: Option<&WorkloadModel>) -> bool {
        match (self, model) {
            (_, None) | (Relearn::All, _) => true,
            (Relearn::Learned, Some(m)) => m.learned.is_some(),
            (Relearn::Missing, Some(_)) => false,
        }
    }
}

impl LearnConfig {
    /// Defaults for a scenario.
    pub fn for_scenario(s: &Scenario) -> Self {
        LearnConfig {
            resolution_secs: s.resolution_secs.max(1),
            max_days: 56.0,
            until: None,
            relearn: Relearn::Missing,
        }
    }
}

/// Why learning stopped.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LearnError {
    /// The caller asked to stop.
    #[error("learning was cancelled")]
    Cancelled,
    /// The store could not decode a series.
    #[error("series {0}: {1}")]
    Store(String, String),
}

/// What learning found: models for the series that lacked one (or all, when
/// relearning), edge shares and couplings, and what it could not learn.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Learned {
    /// New models, by series.
    pub models: BTreeMap<SeriesKey, WorkloadModel>,
    /// Traffic shares learned for edges (only where the data showed them).
    pub shares: Vec<EdgeShare>,
    /// Couplings looked for per twin, with the evidence or why the default stays.
    pub couplings: Vec<Coupling>,
    /// Series with a model already, kept as they are.
    pub kept: usize,
    /// Twins with no history at all: they keep no model and are simulated with `up`
    /// only (the documented fallback), with the reason.
    pub without_history: Vec<TwinId>,
}

impl Learned {
    /// Puts the learned models, couplings and edge shares into `scenario`.
    pub fn apply(&self, scenario: &mut Scenario) {
        for (key, model) in &self.models {
            scenario.workloads.insert(key.clone(), model.clone());
        }
        for c in &self.couplings {
            if let Some(share) = c.follows_traffic
                && let Some(m) = scenario.workloads.get_mut(&SeriesKey::new(c.twin.clone(), "cpu_usage"))
                && self.models.contains_key(&SeriesKey::new(c.twin.clone(), "cpu_usage"))
            {
                m.follows_traffic = share;
            }
            if let Some(share) = c.queueing_share
                && let Some(m) = scenario.workloads.get_mut(&SeriesKey::new(c.twin.clone(), "latency_ms"))
                && self.models.contains_key(&SeriesKey::new(c.twin.clone(), "latency_ms"))
            {
                m.queueing_share = share;
            }
        }
        for e in &self.shares {
            if let Some(dep) = scenario.graph.dependency_mut(&e.from, &e.to, e.kind) {
                dep.traffic_share = e.share;
            }
        }
    }

    /// Number of models learned.
    pub fn count(&self) -> usize {
        self.models.len()
    }
}

/// Learns a model for every series of `scenario`'s history that [`LearnConfig::relearn`]
/// wants (by default those without one), and the couplings its data shows. `progress(done, total)`
/// is called per series.
pub fn learn(
    scenario: &Scenario,
    config: &LearnConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Result<Learned, LearnError> {
    let keys: Vec<SeriesKey> =
        scenario.telemetry.keys().filter(|k| k.metric.as_str() != crate::model::metric::UP).cloned().collect();
    let wanted = |k: &SeriesKey| config.relearn.wants(scenario.workloads.get(k));
    // Hourly means are needed of every series a coupling reads, learned or not.
    let reads_coupling = |k: &SeriesKey| coupling::READS.contains(&k.metric.as_str());
    let items: Vec<&SeriesKey> = keys.iter().filter(|k| wanted(k) || reads_coupling(k)).collect();
    let results = crate::analytics::par::map_items(&items, progress, cancel, |key| {
        let series = scenario.telemetry.series(key)?;
        let data = match series.read_all() {
            Ok(d) => d,
            Err(e) => return Some(Err(LearnError::Store(key.to_string(), e.to_string()))),
        };
        let cut = config.until.map_or(data.ts.len(), |u| data.ts.partition_point(|t| *t < u));
        let fit = learn_series(key.metric.as_str(), &data.ts[..cut], &data.values[..cut], scenario.start, config)?;
        Some(Ok(fit))
    })
    .ok_or(LearnError::Cancelled)?;
    let mut learned = Learned { kept: keys.iter().filter(|k| !wanted(k)).count(), ..Learned::default() };
    let mut hourly: BTreeMap<SeriesKey, (UnixSecs, Vec<f64>)> = BTreeMap::new();
    for (key, result) in items.iter().zip(results) {
        let Some(fit) = result.transpose()? else {
            continue;
        };
        hourly.insert((*key).clone(), (fit.hours_start, fit.hourly));
        if wanted(key) {
            learned.models.insert((*key).clone(), fit.model);
        }
    }
    let (couplings, shares) = coupling::learn_couplings(scenario, &hourly);
    learned.couplings = couplings;
    learned.shares = shares
        .into_iter()
        .filter(|e| {
            config.relearn == Relearn::All || learned.models.contains_key(&SeriesKey::new(e.to.clone(), "request_rate"))
        })
        .collect();
    learned.without_history = scenario
        .graph
        .ids()
        .filter(|id| {
            !scenario.telemetry.keys().any(|k| &k.twin == *id) && !scenario.workloads.keys().any(|k| &k.twin == *id)
        })
        .cloned()
        .collect();
    Ok(learned)
}

/// Whether `scenario` has telemetry for a series without a workload model (so the
/// simulation would miss it).
pub fn needs_learning(scenario: &Scenario) -> bool {
    scenario
        .telemetry
        .keys()
        .any(|k| k.metric.as_str() != crate::model::metric::UP && !scenario.workloads.contains_key(k))
}

/// A regular grid of samples: the scenario's resolution, the latest `max_days`.
#[derive(Clone, Debug)]
pub(crate) struct Grid {
    /// Time of `values[0]`.
    pub start: UnixSecs,
    /// Seconds between slots.
    pub step: i64,
    /// One value per slot (mean of its samples), NaN where there is none.
    pub values: Vec<f64>,
    /// Samples placed.
    pub samples: usize,
}

impl Grid {
    /// The grid of samples `(ts, values)` (sorted), or `None` when there are none.
    /// Slots are multiples of `step` (so the phases of the day are whole slots).
    pub fn new(ts: &[UnixSecs], values: &[f64], step: i64, max_days: f64) -> Option<Grid> {
        let step = step.max(1);
        let last = *ts.last()?;
        let window = (max_days * crate::model::DAY_SECS as f64) as i64;
        let first = ts.partition_point(|t| *t <= last - window);
        let (ts, values) = (&ts[first..], &values[first..]);
        let slot = |t: UnixSecs| t.div_euclid(step);
        let start_slot = slot(*ts.first()?);
        let n = usize::try_from(slot(last) - start_slot + 1).ok()?;
        let mut sum = vec![0.0; n];
        let mut count = vec![0u32; n];
        let mut samples = 0;
        for (t, v) in ts.iter().zip(values) {
            if !v.is_finite() {
                continue;
            }
            let k = usize::try_from(slot(*t) - start_slot).ok()?;
            sum[k] += v;
            count[k] += 1;
            samples += 1;
        }
        if samples == 0 {
            return None;
        }
        let values = sum.iter().zip(&count).map(|(s, c)| if *c > 0 { s / f64::from(*c) } else { f64::NAN }).collect();
        Some(Grid { start: start_slot * step, step, values, samples })
    }

    /// Time of slot `k`.
    pub fn time(&self, k: usize) -> UnixSecs {
        self.start + k as i64 * self.step
    }
}

/// Edge kinds that carry traffic (and so a learnable share).
pub(crate) fn carries_traffic(kind: EdgeKind) -> bool {
    matches!(kind, EdgeKind::RoutesTo | EdgeKind::DependsOn)
}
