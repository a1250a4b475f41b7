//! Running a world for a while: the loop around [`step`] with a progress callback and
//! a cancel flag (so the GUI can run it on a background thread), and the summary of
//! what happened since the last reset of the world's accounting.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use super::engine::{StepReport, step};
use super::input::Inputs;
use super::world::{ActionRecord, Event, SimError, World};
use crate::model::{TwinId, UnixSecs};

/// Violations of one policy during a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyViolations {
    /// Minutes during which a twin violated the policy, summed over twins (a twin
    /// violates a policy at a tick when any of its rules fires for it).
    pub minutes: f64,
    /// Breaches: times a twin went from compliant to violating.
    pub breaches: u32,
    /// Twins that violated it at some tick, sorted.
    pub twins: Vec<TwinId>,
}

/// What happened since the world's accounting was last reset.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    /// First tick counted.
    pub from: UnixSecs,
    /// Time of the state at the end.
    pub to: UnixSecs,
    /// Ticks stepped.
    pub ticks: u64,
    /// Twins × ticks.
    pub twin_ticks: u64,
    /// Per measured policy (every one, also those never violated), by name.
    pub violations: BTreeMap<String, PolicyViolations>,
    /// Sum of the policies' violation minutes.
    pub violation_minutes: f64,
    /// Sum of the policies' breaches (SLO breaches).
    pub slo_breaches: u32,
    /// First tick at which any rule fired.
    pub first_violation: Option<UnixSecs>,
    /// Actions started, in order (orchestrated, approved, manual).
    pub actions: Vec<ActionRecord>,
    /// Change of monthly cost of the actions started.
    pub cost: f64,
    /// Status changes, faults and action effects, in order.
    pub events: Vec<Event>,
    /// BLAKE3 digest of the final state (see [`super::digest`]).
    pub state_digest: String,
}

impl World {
    /// The summary of the run since the last [`World::reset_accounting`] (or the start).
    pub fn summary(&self) -> RunSummary {
        let minutes_per_tick = self.resolution as f64 / 60.0;
        let mut violations: BTreeMap<String, PolicyViolations> =
            self.policies.iter().map(|p| (p.name.clone(), PolicyViolations::default())).collect();
        for (g, (policy, twin)) in self.rules.groups.iter().enumerate() {
            let ticks = self.acct.group_ticks[g];
            if ticks == 0 {
                continue;
            }
            if let Some(v) = violations.get_mut(&self.policies[*policy as usize].name) {
                v.minutes += ticks as f64 * minutes_per_tick;
                v.breaches += self.acct.group_episodes[g];
                v.twins.push(self.twins.ids[*twin as usize].clone());
            }
        }
        for v in violations.values_mut() {
            v.twins.sort();
            v.twins.dedup();
        }
        RunSummary {
            from: self.acct.since,
            to: self.now,
            ticks: self.acct.ticks,
            twin_ticks: self.acct.twin_ticks,
            violation_minutes: violations.values().map(|v| v.minutes).sum(),
            slo_breaches: violations.values().map(|v| v.breaches).sum(),
            violations,
            first_violation: self.acct.first_firing,
            cost: self.acct.actions.iter().map(|a| a.monthly_cost).sum(),
            actions: self.acct.actions.clone(),
            events: self.acct.events.clone(),
            state_digest: super::digest::state_digest(self),
        }
    }
}

/// Number of ticks in `hours` at the world's resolution (at least one).
pub fn ticks_for_hours(world: &World, hours: f64) -> Result<u64, SimError> {
    if !(hours.is_finite() && hours > 0.0 && hours <= 24.0 * 3660.0) {
        return Err(SimError::Invalid(format!("hours must be above 0 and at most 87840 (ten years), not {hours}")));
    }
    Ok(((hours * 3600.0 / world.resolution_secs() as f64).round() as u64).max(1))
}

/// Steps the world `ticks` times with no inputs of its own (scheduled commands still
/// run). `observe` sees the world after every tick; `progress(done, total)` is called
/// about a hundred times; setting `cancel` stops at the next tick with
/// [`SimError::Cancelled`] (the world stays consistent, at the tick reached).
pub fn run(
    world: &mut World,
    ticks: u64,
    observe: &mut dyn FnMut(&World, &StepReport),
    progress: &dyn Fn(u64, u64),
    cancel: &AtomicBool,
) -> Result<(), SimError> {
    let inputs = Inputs::default();
    let every = (ticks / 100).max(1);
    for done in 0..ticks {
        if cancel.load(Ordering::Relaxed) {
            return Err(SimError::Cancelled);
        }
        let report = step(world, &inputs);
        observe(world, &report);
        if (done + 1) % every == 0 || done + 1 == ticks {
            progress(done + 1, ticks);
        }
    }
    Ok(())
}
