//! What-if (M13): fork a world, apply configuration changes or actions to the fork,
//! run the fork and the untouched baseline forward side by side with common random
//! numbers (both are clones, so every noise stream draws the same numbers), and
//! compare: per-metric mean and maximum for the twins of interest, violations per
//! policy, actions and cost — plus the time series of both runs for plots.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use super::engine::step;
use super::input::{Command, Inputs};
use super::run::{RunSummary, ticks_for_hours};
use super::world::{SimError, World};
use crate::model::{ActionKind, ConfigValue, EdgeKind, TwinGraph, TwinId, UnixSecs};
use crate::remediation::plan::{self, Candidate};

/// A change made on the fork.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Set a configuration key (effective at once).
    SetConfig {
        /// The twin.
        twin: TwinId,
        /// Key path.
        key: String,
        /// New value.
        value: ConfigValue,
    },
    /// Start an action (effective after its duration).
    Action {
        /// The twin.
        twin: TwinId,
        /// The action.
        action: ActionKind,
    },
}

impl Change {
    fn command(&self) -> Command {
        match self {
            Change::SetConfig { twin, key, value } => {
                Command::SetConfig { twin: twin.clone(), key: key.clone(), value: value.clone() }
            }
            Change::Action { twin, action } => Command::Act { twin: twin.clone(), action: action.clone() },
        }
    }

    /// The change as an action: configuration changes are a `reconfigure`.
    pub fn action(&self) -> ActionKind {
        match self {
            Change::SetConfig { key, value, .. } => {
                ActionKind::Reconfigure { set: [(key.clone(), value.clone())].into_iter().collect() }
            }
            Change::Action { action, .. } => action.clone(),
        }
    }

    /// The twin changed.
    pub fn twin(&self) -> &TwinId {
        match self {
            Change::SetConfig { twin, .. } | Change::Action { twin, .. } => twin,
        }
    }

    /// The change in words.
    pub fn describe(&self) -> String {
        match self {
            Change::SetConfig { twin, key, value } => format!("{twin}.{key} = {value}"),
            Change::Action { twin, action } => format!("{twin}: {action}"),
        }
    }
}

/// What to compare.
#[derive(Clone, Debug, PartialEq)]
pub struct WhatIfSpec {
    /// How long to run both arms.
    pub hours: f64,
    /// Changes applied to the fork at its first tick.
    pub changes: Vec<Change>,
    /// Twins of interest (empty: the changed twins, what they depend on and what
    /// depends on them).
    pub twins: Vec<TwinId>,
    /// Record the time series of every metric of the twins of interest.
    pub record_series: bool,
}

/// One metric of one twin in both arms (over the ticks at which it was reported).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricComparison {
    /// Twin.
    pub twin: TwinId,
    /// Metric.
    pub metric: String,
    /// Mean in the baseline.
    pub baseline_mean: Option<f64>,
    /// Maximum in the baseline.
    pub baseline_max: Option<f64>,
    /// Mean with the changes.
    pub variant_mean: Option<f64>,
    /// Maximum with the changes.
    pub variant_max: Option<f64>,
}

impl MetricComparison {
    /// Variant mean minus baseline mean.
    pub fn delta_mean(&self) -> Option<f64> {
        Some(self.variant_mean? - self.baseline_mean?)
    }

    /// Variant max minus baseline max.
    pub fn delta_max(&self) -> Option<f64> {
        Some(self.variant_max? - self.baseline_max?)
    }
}

/// The time series of one metric in both arms.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesPair {
    /// Twin.
    pub twin: TwinId,
    /// Metric.
    pub metric: String,
    /// Tick times.
    pub times: Vec<UnixSecs>,
    /// Baseline values (`None`: not reported).
    pub baseline: Vec<Option<f64>>,
    /// Variant values.
    pub variant: Vec<Option<f64>>,
}

/// The comparison of a fork with its baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct WhatIfReport {
    /// The changes, in words.
    pub changes: Vec<String>,
    /// The changes as made.
    pub applied: Vec<Change>,
    /// Simulated hours of each arm.
    pub hours: f64,
    /// Seed of both arms.
    pub seed: u64,
    /// Twins of interest.
    pub twins: Vec<TwinId>,
    /// Per (twin, metric), in that order.
    pub metrics: Vec<MetricComparison>,
    /// The untouched run.
    pub baseline: RunSummary,
    /// The run with the changes.
    pub variant: RunSummary,
    /// Time series for plots (when asked for).
    pub series: Vec<SeriesPair>,
    /// Changes of keys the engine does not model ("no modelled effect for …").
    pub warnings: Vec<String>,
}

impl WhatIfReport {
    /// Variant minus baseline violation minutes, per policy (every measured policy).
    pub fn violation_minutes_delta(&self) -> BTreeMap<String, f64> {
        self.variant
            .violations
            .iter()
            .map(|(name, v)| {
                let base = self.baseline.violations.get(name).map_or(0.0, |b| b.minutes);
                (name.clone(), v.minutes - base)
            })
            .collect()
    }

    /// Variant minus baseline change of monthly cost.
    pub fn cost_delta(&self) -> f64 {
        self.variant.cost - self.baseline.cost
    }

    /// What the changes did, in one line: violation minutes, breaches and cost of both
    /// arms.
    pub fn outcome(&self) -> String {
        format!(
            "violation minutes {:.0} → {:.0}, SLO breaches {} → {}, monthly cost of the run's actions {:+.2}",
            self.baseline.violation_minutes,
            self.variant.violation_minutes,
            self.baseline.slo_breaches,
            self.variant.slo_breaches,
            self.cost_delta()
        )
    }

    /// The changes as proposals for a plan, in the order made: each action as it is,
    /// each configuration change as a `reconfigure`. Their finding is the rehearsal,
    /// their predicted effect its outcome, their evidence the metrics of the changed
    /// twin that moved most. `graph` is the state the what-if forked from.
    pub fn rehearsed_actions(&self, graph: &TwinGraph) -> Vec<Candidate> {
        let rehearsal = format!("what-if over {} h (seed {})", self.hours, self.seed);
        let outcome = self.outcome();
        let mut out: Vec<Candidate> = Vec::new();
        for change in &self.applied {
            let twin = change.twin();
            let mut evidence: Vec<String> = Vec::new();
            if self.applied.len() > 1 {
                let others: Vec<String> = self.applied.iter().filter(|c| *c != change).map(Change::describe).collect();
                evidence.push(format!("rehearsed together with {}", others.join("; ")));
            }
            let mut moved: Vec<(&MetricComparison, f64, f64, f64)> = self
                .metrics
                .iter()
                .filter(|m| &m.twin == twin)
                .filter_map(|m| {
                    let (b, v) = (m.baseline_mean?, m.variant_mean?);
                    Some((m, b, v, (v - b).abs() / b.abs().max(1e-9)))
                })
                .filter(|(_, _, _, r)| *r >= 0.005)
                .collect();
            moved.sort_by(|a, b| b.3.total_cmp(&a.3).then_with(|| a.0.metric.cmp(&b.0.metric)));
            evidence
                .extend(moved.iter().take(3).map(|(m, b, v, _)| format!("{twin} {} mean {b:.2} → {v:.2}", m.metric)));
            let kind = change.action();
            if let Some(c) =
                plan::rehearsed(graph, twin, kind, plan::Rehearsal::WhatIf, &rehearsal, &outcome, &evidence)
                && !out.iter().any(|o| o.id == c.id)
            {
                out.push(c);
            }
        }
        out
    }
}

#[derive(Default)]
struct Acc {
    sum: f64,
    count: u64,
    max: Option<f64>,
}

impl Acc {
    fn add(&mut self, v: Option<f64>) {
        if let Some(v) = v {
            self.sum += v;
            self.count += 1;
            self.max = Some(self.max.map_or(v, |m| m.max(v)));
        }
    }
    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// Forks `base` into a baseline and a variant with `spec.changes`, runs both
/// `spec.hours`, and compares them. `progress(done, total)` counts ticks of both arms;
/// `cancel` stops with [`SimError::Cancelled`]. `base` is not changed.
/// Checks changes before a what-if: an unknown twin, an invalid action or a key the
/// twin lacks and the engine does not model is an error; a key without a modelled
/// effect gives a warning (`sim::config`).
pub fn check_changes(world: &World, changes: &[Change]) -> Result<Vec<String>, SimError> {
    let mut warnings = Vec::new();
    for change in changes {
        let twin = world.graph().twin(change.twin()).ok_or_else(|| SimError::UnknownTwin(change.twin().to_string()))?;
        let keys: Vec<&str> = match change {
            Change::SetConfig { key, .. } => vec![key.as_str()],
            Change::Action { action, .. } => {
                action.validate().map_err(SimError::Invalid)?;
                match action {
                    ActionKind::Reconfigure { set } => set.keys().map(String::as_str).collect(),
                    _ => Vec::new(),
                }
            }
        };
        for key in keys {
            if let Some(warning) =
                super::config::check_change(twin, key).map_err(|e| SimError::Invalid(e.to_string()))?
            {
                warnings.push(warning);
            }
        }
    }
    Ok(warnings)
}

pub fn what_if(
    base: &World,
    spec: &WhatIfSpec,
    progress: &dyn Fn(u64, u64),
    cancel: &AtomicBool,
) -> Result<WhatIfReport, SimError> {
    let ticks = ticks_for_hours(base, spec.hours)?;
    let warnings = check_changes(base, &spec.changes)?;
    let twins = interest(base, spec)?;
    let mut baseline = base.clone();
    let mut variant = base.clone();
    baseline.reset_accounting();
    variant.reset_accounting();
    // Their values are read at every tick.
    for twin in &twins {
        if let Some(i) = base.twin_index(twin) {
            baseline.watch(i);
            variant.watch(i);
        }
    }
    let series: Vec<(TwinId, String, usize)> = twins
        .iter()
        .flat_map(|t| {
            base.series_keys()
                .iter()
                .enumerate()
                .filter(move |(_, k)| &k.twin == t)
                .map(|(i, k)| (k.twin.clone(), k.metric.to_string(), i))
        })
        .collect();
    let mut acc: Vec<(Acc, Acc)> = series.iter().map(|_| (Acc::default(), Acc::default())).collect();
    let mut pairs: Vec<SeriesPair> = if spec.record_series {
        series
            .iter()
            .map(|(twin, metric, _)| SeriesPair {
                twin: twin.clone(),
                metric: metric.clone(),
                times: Vec::with_capacity(ticks as usize),
                baseline: Vec::with_capacity(ticks as usize),
                variant: Vec::with_capacity(ticks as usize),
            })
            .collect()
    } else {
        Vec::new()
    };
    let first = Inputs { commands: spec.changes.iter().map(Change::command).collect() };
    let none = Inputs::default();
    let every = (ticks / 50).max(1);
    for tick in 0..ticks {
        if cancel.load(Ordering::Relaxed) {
            return Err(SimError::Cancelled);
        }
        step(&mut baseline, &none);
        let report = step(&mut variant, if tick == 0 { &first } else { &none });
        if let Some(reason) = report.rejected.first() {
            return Err(SimError::Invalid(format!("a change could not be applied: {reason}")));
        }
        for (k, (_, _, s)) in series.iter().enumerate() {
            let (b, v) = (baseline.series_value(*s), variant.series_value(*s));
            acc[k].0.add(b);
            acc[k].1.add(v);
            if let Some(pair) = pairs.get_mut(k) {
                pair.times.push(baseline.now());
                pair.baseline.push(b);
                pair.variant.push(v);
            }
        }
        if (tick + 1) % every == 0 || tick + 1 == ticks {
            progress(2 * (tick + 1), 2 * ticks);
        }
    }
    let metrics = series
        .iter()
        .zip(&acc)
        .map(|((twin, metric, _), (b, v))| MetricComparison {
            twin: twin.clone(),
            metric: metric.clone(),
            baseline_mean: b.mean(),
            baseline_max: b.max,
            variant_mean: v.mean(),
            variant_max: v.max,
        })
        .collect();
    Ok(WhatIfReport {
        changes: spec.changes.iter().map(Change::describe).collect(),
        applied: spec.changes.clone(),
        hours: spec.hours,
        seed: base.seed(),
        twins,
        metrics,
        baseline: baseline.summary(),
        variant: variant.summary(),
        series: pairs,
        warnings,
    })
}

/// The twins of interest: those asked for, or the changed twins with their direct
/// dependencies and dependents (not hosts' other workloads), sorted.
fn interest(base: &World, spec: &WhatIfSpec) -> Result<Vec<TwinId>, SimError> {
    let mut twins: Vec<TwinId> = Vec::new();
    if spec.twins.is_empty() {
        for change in &spec.changes {
            let id = change.twin();
            twins.push(id.clone());
            for (t, d) in base.graph().dependents(id) {
                if d.kind != EdgeKind::RunsOn {
                    twins.push(t.id.clone());
                }
            }
            for (t, _) in base.graph().dependencies(id) {
                twins.push(t.id.clone());
            }
        }
    } else {
        for t in &spec.twins {
            base.twin_index(t).ok_or_else(|| SimError::UnknownTwin(t.to_string()))?;
            twins.push(t.clone());
        }
    }
    twins.sort();
    twins.dedup();
    Ok(twins)
}
