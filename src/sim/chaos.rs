//! Chaos experiments (M15), in the spirit of Chaos Toolkit: a steady-state hypothesis
//! (policy rules that must hold), a method (scheduled and random faults, optionally
//! with remediation on), rollbacks, and a duration. The experiment runs on a fresh
//! world of the scenario; the report says whether the hypothesis held before the
//! method and after it, how long detection and recovery took, which twins the faults
//! reached, and a resilience score.
//!
//! Definitions (the report's fields):
//! - *before*: the hypothesis holds before the method when none of its rules fires
//!   from the start up to the first fault. If it does not hold, the experiment is
//!   aborted there (the method is not run), as Chaos Toolkit does.
//! - *after*: the hypothesis holds after the method when none of its rules fires in
//!   the final `after` window (default 15 minutes) of the experiment.
//! - *time to detect*: from the first fault's start to the first rule (of any measured
//!   policy) that starts firing at or after it.
//! - *time to recover*: from the first tick at which the hypothesis deviated to the
//!   first tick after its last deviation — when it holds again at the end; otherwise
//!   the experiment did not recover.
//! - *blast radius observed*: twins that went down, or started violating a rule they
//!   were not violating just before the first fault, at any tick from the first fault
//!   on. The *predicted* blast radius (the graph's transitive dependents of the fault
//!   targets, and the targets) is reported beside it.
//! - *resilience score* in [0, 1]: the share of ticks from the first fault on at
//!   which the hypothesis held, halved when it does not hold at the end:
//!   `held_fraction × (1 if it holds after the method else 0.5)`. 1 means the faults
//!   never broke the steady state; a long deviation or no recovery pulls it to 0.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;

use super::engine::step;
use super::fault::{Fault, FaultKind, RandomFaults};
use super::input::{Command, Inputs};
use super::run::RunSummary;
use super::strategy::Strategy;
use super::world::{EventKind, SimError, World, WorldConfig};
use crate::model::{Status, TwinId, TwinKind, UnixSecs};
use crate::policy::{MetricRule, Operator, Policy, Selector};
use crate::remediation::orchestrate::{Mode, OrchestratorConfig};
use crate::scenario::Scenario;

/// Prefix of hypothesis policies inside the world (so their names never clash with
/// the scenario's or the strategy's).
pub const HYPOTHESIS_PREFIX: &str = "steady-state/";

/// One step of the method.
#[derive(Clone, Debug, PartialEq)]
pub enum MethodStep {
    /// A fault on each of `targets`, `at_secs` after the start.
    Fault {
        /// What.
        kind: FaultKind,
        /// Where.
        targets: Vec<TwinId>,
        /// Offset from the start of the experiment.
        at_secs: i64,
        /// How long (`None`: until a rollback).
        duration_secs: Option<i64>,
    },
    /// Random faults in a window (offsets from the start).
    Random {
        /// Expected faults per hour.
        rate_per_hour: f64,
        /// Which twins may be hit.
        selector: Selector,
        /// Which faults.
        kinds: Vec<FaultKind>,
        /// How long each lasts.
        duration_secs: i64,
        /// Window start offset.
        from_secs: i64,
        /// Window end offset.
        until_secs: i64,
    },
}

impl MethodStep {
    fn starts_at(&self) -> i64 {
        match self {
            MethodStep::Fault { at_secs, .. } => *at_secs,
            MethodStep::Random { from_secs, .. } => *from_secs,
        }
    }
}

/// A rollback: stop the faults (of these twins, or all) at an offset.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollback {
    /// Offset from the start.
    pub at_secs: i64,
    /// Only these twins' faults (empty: every fault and random injection).
    pub twins: Vec<TwinId>,
}

/// A chaos experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Experiment {
    /// Title.
    pub title: String,
    /// What it tests.
    pub description: String,
    /// Length of the whole experiment.
    pub duration_secs: i64,
    /// The steady state: rules that must hold.
    pub hypothesis: Vec<Policy>,
    /// Final window in which the hypothesis must hold again.
    pub after_secs: i64,
    /// Faults.
    pub method: Vec<MethodStep>,
    /// Rollbacks.
    pub rollbacks: Vec<Rollback>,
    /// Remediation during the experiment (`None`: hands off).
    pub remediation: Option<Strategy>,
}

/// A fault composed on one twin (in the lab, from the [`FaultType`](super::fault::FaultType)
/// catalogue), minutes from the experiment's start.
#[derive(Clone, Debug, PartialEq)]
pub struct ComposedFault {
    /// What.
    pub kind: FaultKind,
    /// Where.
    pub twin: TwinId,
    /// Minutes after the start.
    pub at_min: u32,
    /// How many minutes it lasts (`None`: until the rollback at the end).
    pub duration_min: Option<u32>,
}

/// The experiment of composed faults over `hours`: the hypothesis is that every twin
/// serves (`up >= 1`) and the load balancers' error rate stays at most 5%; it must hold
/// again in the last quarter of the run (at most 15 minutes, at least one); every fault
/// is rolled back at the end; no remediation.
pub fn composed_experiment(faults: &[ComposedFault], hours: f64) -> Experiment {
    let duration_secs = (hours * 3600.0).round() as i64;
    let mut up = Policy::named("every-twin-serves");
    up.rules.push(MetricRule::threshold("up", Operator::Lt, 1.0));
    let mut edge = Policy::named("edge-errors");
    edge.selector = Selector { kinds: vec![TwinKind::LoadBalancer], ..Selector::default() };
    edge.rules.push(MetricRule::threshold("error_rate", Operator::Gt, 5.0));
    Experiment {
        title: format!("{} composed fault(s)", faults.len()),
        description: "Composed in the lab from the fault catalogue.".into(),
        duration_secs,
        hypothesis: vec![up, edge],
        after_secs: 900.min(duration_secs / 4).max(60),
        method: faults
            .iter()
            .map(|f| MethodStep::Fault {
                kind: f.kind.clone(),
                targets: vec![f.twin.clone()],
                at_secs: i64::from(f.at_min) * 60,
                duration_secs: f.duration_min.map(|m| i64::from(m) * 60),
            })
            .collect(),
        rollbacks: vec![Rollback { at_secs: duration_secs, twins: Vec::new() }],
        remediation: None,
    }
}

/// Whether the hypothesis held in a window.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// No hypothesis rule fired.
    pub held: bool,
    /// The hypothesis policies that deviated, sorted.
    pub deviated_policies: Vec<String>,
    /// The twins on which they deviated, sorted.
    pub deviated_twins: Vec<TwinId>,
}

/// One tick of the experiment, for plots and for replaying the blast radius.
#[derive(Clone, Debug, PartialEq)]
pub struct ChaosSample {
    /// Time.
    pub at: UnixSecs,
    /// Whether the hypothesis held.
    pub held: bool,
    /// Twins not serving.
    pub down: usize,
    /// (policy, twin) pairs in violation.
    pub violating: usize,
    /// Twins in violation now that were not just before the method started (the
    /// spreading part of the blast radius), sorted; empty before the method.
    pub violating_twins: Vec<TwinId>,
}

/// The result of an experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct ChaosReport {
    /// Title of the experiment.
    pub title: String,
    /// Seed of the run.
    pub seed: u64,
    /// Start of the experiment.
    pub start: UnixSecs,
    /// Time of the last tick.
    pub end: UnixSecs,
    /// The hypothesis before the method.
    pub before: Verdict,
    /// The method was not run because the hypothesis did not hold before it.
    pub aborted: bool,
    /// The hypothesis deviated at some tick from the first fault on.
    pub deviated: bool,
    /// The hypothesis in the final window.
    pub after: Verdict,
    /// When the first fault started.
    pub first_fault_at: Option<UnixSecs>,
    /// Seconds from the first fault to the first new rule firing.
    pub time_to_detect_secs: Option<i64>,
    /// Seconds from the first deviation to the steady state holding again.
    pub time_to_recover_secs: Option<i64>,
    /// Twins the faults were seen to reach, sorted.
    pub blast_radius_observed: Vec<TwinId>,
    /// Twins the graph says they could reach, sorted.
    pub blast_radius_predicted: Vec<TwinId>,
    /// Share of ticks from the first fault on at which the hypothesis held.
    pub held_fraction: f64,
    /// The resilience score (module docs).
    pub resilience_score: f64,
    /// Remediation strategy used, if any.
    pub remediation: Option<String>,
    /// Violations, actions and events of the run.
    pub summary: RunSummary,
    /// Per tick: hypothesis held, twins down, violations.
    pub timeline: Vec<ChaosSample>,
}

impl ChaosReport {
    /// What the experiment showed, in one line.
    pub fn outcome(&self) -> String {
        let recovery = match (self.deviated, self.time_to_recover_secs) {
            (false, _) => "the steady state held".to_string(),
            (true, Some(s)) => format!("it deviated and recovered in {:.0} min", s as f64 / 60.0),
            (true, None) => "it deviated and did not recover".to_string(),
        };
        format!("{recovery}, resilience {:.2}", self.resilience_score)
    }

    /// The actions the remediation took during the experiment, as proposals for a
    /// plan (each action on each twin once, first occurrence first): their finding is
    /// the experiment, their predicted effect its outcome, their evidence why and when
    /// the loop started them. `graph` is the state the experiment started from.
    pub fn rehearsed_actions(&self, graph: &crate::model::TwinGraph) -> Vec<crate::remediation::plan::Candidate> {
        let rehearsal = format!("chaos experiment \"{}\" (seed {})", self.title, self.seed);
        let outcome = self.outcome();
        let since = self.first_fault_at.unwrap_or(self.start);
        let mut out: Vec<crate::remediation::plan::Candidate> = Vec::new();
        for a in &self.summary.actions {
            if out.iter().any(|c| c.target == a.twin && c.kind == a.kind) {
                continue;
            }
            let minutes = (a.at - since) as f64 / 60.0;
            let evidence = [format!("started {minutes:+.0} min from the first fault ({}): {}", a.decided_by, a.reason)];
            out.extend(crate::remediation::plan::rehearsed(
                graph,
                &a.twin,
                a.kind.clone(),
                crate::remediation::plan::Rehearsal::Chaos,
                &rehearsal,
                &outcome,
                &evidence,
            ));
        }
        out
    }
}

/// Runs an experiment on a fresh world of `scenario` with `seed`. `progress(done,
/// total)` and `cancel` as in [`super::run::run`].
pub fn run_experiment(
    scenario: &Scenario,
    experiment: &Experiment,
    seed: u64,
    progress: &dyn Fn(u64, u64),
    cancel: &AtomicBool,
) -> Result<ChaosReport, SimError> {
    if experiment.duration_secs <= 0 {
        return Err(SimError::Invalid("the experiment's duration must be positive".into()));
    }
    if experiment.method.is_empty() {
        return Err(SimError::Invalid("the experiment's method has no faults".into()));
    }
    let hypothesis: Vec<Policy> = experiment
        .hypothesis
        .iter()
        .map(|p| Policy { name: format!("{HYPOTHESIS_PREFIX}{}", p.name), ..p.clone() })
        .collect();
    let (acting, orchestrator) = match &experiment.remediation {
        Some(s) => (s.policies.clone(), s.orchestrator),
        None => (Vec::new(), OrchestratorConfig { mode: Mode::DryRun, ..OrchestratorConfig::default() }),
    };
    let mut watching = scenario.policies.clone();
    watching.extend(hypothesis.iter().cloned());
    let config = WorldConfig { seed, acting, watching, orchestrator, warm_up_from_history: false };
    let mut world = World::new(scenario, config)?;
    let t0 = world.start();
    let res = world.resolution_secs();
    let method_start = t0 + experiment.method.iter().map(MethodStep::starts_at).min().unwrap_or(0);
    let end = t0 + experiment.duration_secs - res;
    let after_from = end - experiment.after_secs.max(res) + res;

    let predicted = schedule_method(&mut world, experiment)?;

    let hypothesis_groups: Vec<usize> = world
        .rules
        .groups
        .iter()
        .enumerate()
        .filter(|(_, (p, _))| world.policies[*p as usize].name.starts_with(HYPOTHESIS_PREFIX))
        .map(|(g, _)| g)
        .collect();
    let deviations = |w: &World| -> Vec<usize> {
        hypothesis_groups.iter().copied().filter(|g| w.rules.group_violating[*g]).collect()
    };
    let mut before = (BTreeSet::new(), BTreeSet::new());
    let mut after = (BTreeSet::new(), BTreeSet::new());
    let mut firing_before: Vec<bool> = Vec::new();
    let mut reached: BTreeSet<TwinId> = BTreeSet::new();
    let mut first_deviation = None;
    let mut last_deviation = None;
    let mut detected = None;
    let mut method_ticks = 0u64;
    let mut held_ticks = 0u64;
    let mut timeline = Vec::new();
    let mut aborted = false;
    let total = ((end - t0) / res + 1) as u64;
    let mut done = 0u64;
    while world.now() < end {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(SimError::Cancelled);
        }
        let report = step(&mut world, &Inputs::default());
        done += 1;
        if done.is_multiple_of((total / 100).max(1)) {
            progress(done, total);
        }
        let t = world.now();
        let deviating = deviations(&world);
        let held = deviating.is_empty();
        timeline.push(ChaosSample {
            at: t,
            held,
            down: report.down,
            violating: report.violating,
            violating_twins: Vec::new(),
        });
        let note = |set: &mut (BTreeSet<String>, BTreeSet<TwinId>), w: &World| {
            for g in &deviating {
                let (p, twin) = w.rules.groups[*g];
                let name = &w.policies[p as usize].name;
                set.0.insert(name.strip_prefix(HYPOTHESIS_PREFIX).unwrap_or(name).to_string());
                set.1.insert(w.twins.ids[twin as usize].clone());
            }
        };
        if t < method_start {
            note(&mut before, &world);
            firing_before = world.rules.group_violating.clone();
            if t + res >= method_start && !before.0.is_empty() {
                aborted = true;
                break;
            }
            continue;
        }
        if firing_before.is_empty() && t == method_start {
            // The method starts at the first tick: nothing was violated "just before".
            firing_before = vec![false; world.rules.groups.len()];
        }
        method_ticks += 1;
        if held {
            held_ticks += 1;
        } else {
            first_deviation.get_or_insert(t);
            last_deviation = Some(t);
        }
        if detected.is_none() && report.new_violations > 0 {
            detected = Some(t);
        }
        for (i, status) in world.twins.status.iter().enumerate() {
            if *status == Status::Down {
                reached.insert(world.twins.ids[i].clone());
            }
        }
        let mut newly: BTreeSet<&TwinId> = BTreeSet::new();
        for (g, violating) in world.rules.group_violating.iter().enumerate() {
            if *violating && !firing_before.get(g).copied().unwrap_or(false) {
                newly.insert(&world.twins.ids[world.rules.groups[g].1 as usize]);
            }
        }
        reached.extend(newly.iter().map(|id| (*id).clone()));
        if let Some(sample) = timeline.last_mut() {
            sample.violating_twins = newly.into_iter().cloned().collect();
        }
        if t >= after_from {
            note(&mut after, &world);
        }
    }
    progress(total, total);
    let summary = world.summary();
    let first_fault_at = summary.events.iter().find(|e| matches!(e.what, EventKind::FaultStarted(_))).map(|e| e.at);
    let after_held = !aborted && after.0.is_empty();
    let time_to_recover_secs = match (first_deviation, last_deviation) {
        (Some(first), Some(last)) if after_held && last < world.now() => Some(last + res - first),
        _ => None,
    };
    let held_fraction = if method_ticks == 0 { 1.0 } else { held_ticks as f64 / method_ticks as f64 };
    let resilience_score = if aborted { 0.0 } else { held_fraction * if after_held { 1.0 } else { 0.5 } };
    let verdict = |(policies, twins): (BTreeSet<String>, BTreeSet<TwinId>)| Verdict {
        held: policies.is_empty(),
        deviated_policies: policies.into_iter().collect(),
        deviated_twins: twins.into_iter().collect(),
    };
    Ok(ChaosReport {
        title: experiment.title.clone(),
        seed,
        start: t0,
        end: world.now(),
        before: verdict(before),
        aborted,
        deviated: first_deviation.is_some(),
        after: if aborted {
            Verdict { held: false, deviated_policies: Vec::new(), deviated_twins: Vec::new() }
        } else {
            verdict(after)
        },
        time_to_detect_secs: match (first_fault_at, detected) {
            (Some(f), Some(d)) if d >= f => Some(d - f),
            _ => None,
        },
        first_fault_at,
        time_to_recover_secs,
        blast_radius_observed: reached.into_iter().collect(),
        blast_radius_predicted: predicted.into_iter().collect(),
        held_fraction,
        resilience_score,
        remediation: experiment.remediation.as_ref().map(|s| s.name.clone()),
        summary,
        timeline,
    })
}

/// Schedules an experiment's faults, random injections and rollbacks on a world
/// (offsets from the world's start) and returns the predicted blast radius: the
/// targets and everything the graph says their failure can reach, sorted.
pub fn schedule_method(world: &mut World, experiment: &Experiment) -> Result<BTreeSet<TwinId>, SimError> {
    let t0 = world.start();
    let mut predicted: BTreeSet<TwinId> = BTreeSet::new();
    for step in &experiment.method {
        match step {
            MethodStep::Fault { kind, targets, at_secs, duration_secs } => {
                for twin in targets {
                    world.twin_index(twin).ok_or_else(|| SimError::UnknownTwin(twin.to_string()))?;
                    predicted.insert(twin.clone());
                    predicted.extend(world.graph().blast_radius(twin));
                    let fault = Fault {
                        kind: kind.clone(),
                        twin: twin.clone(),
                        start: t0 + at_secs,
                        duration_secs: *duration_secs,
                    };
                    world.schedule_fault(fault);
                }
            }
            MethodStep::Random { rate_per_hour, selector, kinds, duration_secs, from_secs, until_secs } => {
                for twin in world.graph().twins().filter(|t| selector.matches(t)) {
                    predicted.insert(twin.id.clone());
                    predicted.extend(world.graph().blast_radius(&twin.id));
                }
                let spec = RandomFaults {
                    rate_per_hour: *rate_per_hour,
                    selector: selector.clone(),
                    kinds: kinds.clone(),
                    duration_secs: *duration_secs,
                    from: t0 + from_secs,
                    until: t0 + until_secs,
                };
                world.schedule(t0 + from_secs, Command::RandomFaults(spec));
            }
        }
    }
    for rollback in &experiment.rollbacks {
        if rollback.twins.is_empty() {
            world.schedule(t0 + rollback.at_secs, Command::StopFaults { twin: None });
        }
        for twin in &rollback.twins {
            world.schedule(t0 + rollback.at_secs, Command::StopFaults { twin: Some(twin.clone()) });
        }
    }

    Ok(predicted)
}
