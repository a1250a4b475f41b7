//! The deterministic tick engine: `step(&mut World, &Inputs) -> StepReport` advances
//! the world by one tick of the scenario's resolution.
//!
//! # The model
//!
//! Every series is driven by its workload model: `expected(t)` (with a learned model's
//! daily and weekly profiles) plus AR(1) noise from its twin's stream
//! `engine/noise/<twin>` (`rng::NoiseStream`, normals by `rng::normal`, or Student's t
//! innovations for heavy tails, through the tables of `model::noise`), with the model's incidents applied and clamped to its range (the
//! same semantics as history generation, so an undisturbed world continues its
//! history). The engine then computes how the
//! estate's state bends those values, in passes over structure-of-arrays data:
//!
//! 1. **Reachability** (hosts before their workloads): a twin is *down* while a crash
//!    fault holds it, while it restarts (an action or an OOM kill), during an outage
//!    incident of its workload model, or while its host is down — a dead host takes
//!    its workloads down. It is *reachable* when it is not down, not partitioned and
//!    its host is reachable. `up` is 1 for reachable twins, 0 otherwise; a twin that is
//!    not reachable reports no other metric (rules see missing data).
//! 2. **Traffic** (callers before callees, along `routes_to` and `depends_on`): a
//!    twin's traffic factor `f` is the traffic-share-weighted mean of its reachable
//!    callers' factors (1 for a twin nobody calls), times any traffic spike. A load
//!    balancer spreads the share of an unreachable target over its healthy ones.
//! 3. **Load** (workloads before hosts): CPU demand is
//!    `drive × f' × (cpu₀/cpu) × (replicas₀/replicas) × config + cpu_hog`, so scaling
//!    CPU up ×1.5 lowers cpu_usage to 1/1.5 and a scale-out divides per-replica load.
//!    `f' = 1 + k·(f − 1)` where `k` is the share of the CPU that follows traffic
//!    (`follows_traffic` of the cpu_usage model: learned from CPU against request
//!    rate, 1 by default, where `f' = f`).
//!    A host's CPU is its own model plus the sum of its workloads' changes in cores
//!    used (`cpu% × cores × replicas`): its model already holds their usual load, so
//!    an undisturbed host is unchanged, a workload that dies or migrates frees its
//!    cores there and adds them on the new host. Memory is
//!    `(drive + leak) × memory₀/memory`, capped by an eviction policy; above 100% the
//!    twin is killed (OOM) and restarts. Disk is `(drive + fill) × disk₀/disk`; a full
//!    disk fails every write.
//! 4. **Slowdown and failure** (callees before callers): a twin's utilisation ρ slows
//!    it by `(1 − q) + q·(1 − ρ₀) / (1 − ρ)` relative to the model's own utilisation
//!    ρ₀ (a queueing-style blow-up near saturation, 1 when undisturbed), where `q` is
//!    the share of its latency that is queueing (`queueing_share` of the latency_ms
//!    model: learned from latency against utilisation, 1 by default) and sheds
//!    `max(0, 1 − 1/ρ)` of its requests when demand exceeds capacity; its host's
//!    contention multiplies in. Extra latency and failure travel to callers by
//!    traffic share: `Δlatency = latency × (slow − 1) + fault + Σ share·Δlatency(dep)`
//!    and a call to an unreachable dependency fails and waits the caller's
//!    `timeout_ms` (default 1000). So a saturated database slows and errors its
//!    callers, and a dead one fails them.
//! 5. **Values**: latency = model + Δlatency, error_rate = model + 100 × failure,
//!    request_rate and network_io scale with `f`, a queue's depth grows as its
//!    consumers (callers without a request rate: workers) go away; clamped and rounded
//!    like the workload model.
//!
//! Every pass is a function of its own (`#[inline(never)]`), so profiles attribute the
//! time of a step to its passes. The passes visit only the twins something bends and
//! those they reach (`calm`: a calm twin's values and what its rules and load do are
//! known when its block is drawn, `draw`), and take shortcuts for undisturbed twins,
//! each exact (see the passes); `World::set_shortcuts(false)` turns them off (every
//! twin visited in full) and a test checks that changes nothing.
//!
//! Configuration effects (the table in `sim::config`): the log level and `replicas`
//! scale CPU demand (`config` above); eviction caps memory at `maxmemory_mb`; a server's
//! connection limit refuses the connections wanted beyond it and a pool or worker
//! count queues (latency × `1 + W(u) − W(u₀)`, Sakasegawa's M/M/c wait) and fails
//! beyond its size — both in the load pass, into `slow` and `shed` (`limits`); a
//! cache's size sets its miss ratio, and its callers' traffic to databases scales with
//! the misses (the traffic pass); a changed timeout fails the requests slower than it
//! (the failure pass, latency taken as exponential) and is the wait on an unreachable
//! dependency. Effects are relative to the configuration the world started with, so
//! the starting state matches the models; a twin whose configuration effects differ
//! from its start is loud. Negligible queueing (below 10⁻⁶ of the service time) is not
//! applied, so a pool that never nears its size changes no bit.
//!
//! Actions take effect after their `duration_secs`: capacity and configuration change
//! then; a restart takes the twin down for its duration and then clears leaks and
//! ramps (and a crash); a migration moves the twin to its new host.
//!
//! # Orchestration
//!
//! After the metrics, every rule instance (policy × selected twin × rule) is fed to
//! its `policy::eval::RuleState`; firing rules of the acting policies become
//! `Finding::Violation`s (one per firing episode, made when it starts) and go to
//! `Orchestrator::tick`, whose `apply` starts the action in the world. The orchestrator
//! is not asked at a tick where nothing it depends on changed — the findings, the
//! twins' configuration and capacity, its guard state (nothing executed last time, no
//! cooldown or rate window expired) and the approval queue — because its decisions
//! and its (deduplicated) log would be the same; `World::set_orchestrate_every_tick`
//! turns this off and a test checks the outcome is identical.

use super::config;
use super::draw::ensure_drawn;
use super::fault::{Fault, FaultKind};
use super::input::{Command, Inputs};
use super::world::{
    ActionRecord, ActiveFault, Caps, ConfigEffects, Event, EventKind, FaultEffects, NONE, Pending, Role, SimError,
    Timed, World, apply_incidents, placement_order,
};
use super::world::{SeriesTable, Twins, clamp_unchecked};
use crate::model::{ActionKind, ConfigChange, Status, TwinId, TwinKind, UnixSecs};
use crate::remediation::orchestrate::Orchestrator;
use crate::remediation::plan::{Candidate, Finding};
use rand::Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What one tick did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepReport {
    /// Time of the new state.
    pub now: UnixSecs,
    /// Rule instances firing.
    pub firing: usize,
    /// (policy, twin) pairs in violation.
    pub violating: usize,
    /// Violations that began at this tick.
    pub new_violations: usize,
    /// Actions started at this tick (orchestrated, approved or manual).
    pub actions_started: usize,
    /// Twins not serving.
    pub down: usize,
    /// Inputs that could not be applied, with the reason.
    pub rejected: Vec<String>,
}

/// Advances the world by one tick and reports what happened.
pub fn step(world: &mut World, inputs: &Inputs) -> StepReport {
    let t = world.now + world.resolution;
    let n = world.tick;
    world.now = t;
    world.tick += 1;
    let mut report = StepReport { now: t, ..StepReport::default() };

    let due = world.scheduled.partition_point(|x| x.at <= t);
    let scheduled: Vec<Timed> = world.scheduled.drain(..due).collect();
    for command in scheduled.iter().map(|x| &x.command).chain(&inputs.commands) {
        match apply_command(world, t, command) {
            Ok(started) => report.actions_started += started,
            Err(e) => report.rejected.push(e.to_string()),
        }
    }
    take_effect(world, t);
    update_faults(world, t);

    drive(world, n, t);
    reachability(world, t);
    traffic(world);
    if world.twins.loud_dirty {
        world.twins.loud_dirty = false;
        world.calm.refresh(&world.twins, &world.topo, world.shortcuts);
    }
    load(world, t);
    failure(world);
    values(world);
    rules(world, t, &mut report);
    report.actions_started += orchestrate(world, t);
    statuses(world, &mut report);
    world.acct.ticks += 1;
    world.acct.twin_ticks += world.twins.ids.len() as u64;
    report
}

fn reason_of(world: &World, i: usize) -> String {
    let tw = &world.twins;
    if tw.fx[i].crashed {
        "crashed".into()
    } else if world.now < tw.restart_until[i] {
        "restarting".into()
    } else if tw.model_down[i] {
        "outage in its workload model".into()
    } else if tw.fx[i].partitioned {
        "partitioned from the network".into()
    } else if tw.host[i] != NONE && !tw.reachable[tw.host[i] as usize] {
        format!("its host {} is not serving", tw.ids[tw.host[i] as usize])
    } else {
        "unreachable".into()
    }
}

fn push_event(world: &mut World, at: UnixSecs, twin: u32, what: EventKind) {
    match what {
        // A twin back up, or a fault over: its symptoms linger (`World::causes`).
        EventKind::Up | EventKind::FaultEnded(_) => {
            world.twins.recovered_at[twin as usize] = at;
            world.orch.dirty = true;
        }
        // What the orchestrator attributes to causes changed.
        EventKind::FaultStarted(_) => world.orch.dirty = true,
        _ => {}
    }
    let twin = world.twins.ids[twin as usize].clone();
    world.acct.events.push(Event { at, twin, what });
}

/// Checks that an action can start on a twin now.
fn check_action(world: &World, twin: u32, kind: &ActionKind) -> Result<(), String> {
    kind.validate()?;
    let i = twin as usize;
    let id = &world.twins.ids[i];
    match kind {
        ActionKind::Restart if world.now < world.twins.restart_until[i] => Err(format!("{id} is already restarting")),
        ActionKind::Migrate { to } => {
            let current = world.twins.host[i];
            if current == NONE {
                return Err(format!("{id} runs on no host, so it cannot migrate"));
            }
            if let Some(to) = to {
                let target = world.twin_index(to).ok_or_else(|| format!("unknown twin {to:?}"))?;
                if !matches!(world.twins.kind[target as usize], TwinKind::Host | TwinKind::Vm) {
                    return Err(format!("{to} is not a host"));
                }
                if target == current {
                    return Err(format!("{id} already runs on {to}"));
                }
            } else if least_loaded_host(world, current).is_none() {
                return Err(format!("there is no other host to move {id} to"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The host with the lowest CPU use now, other than `except` (ties: lowest index).
fn least_loaded_host(world: &World, except: u32) -> Option<u32> {
    let tw = &world.twins;
    (0..tw.ids.len() as u32)
        .filter(|h| *h != except && matches!(tw.kind[*h as usize], TwinKind::Host | TwinKind::Vm))
        .filter(|h| tw.reachable[*h as usize])
        .map(|h| {
            let s = tw.slot[h as usize][Role::Cpu as usize];
            let load = if s == NONE { 0.0 } else { world.value_now(s as usize) };
            (h, load)
        })
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
        .map(|(h, _)| h)
}

/// Starts an action: it is recorded now and takes effect after its duration.
fn start_action(world: &mut World, t: UnixSecs, twin: u32, kind: &ActionKind, id: &str, reason: &str, by: &str) {
    let i = twin as usize;
    let twin_id = world.twins.ids[i].clone();
    if let ActionKind::Notify { .. } = kind {
        // Recorded once per proposal: the orchestrator hands a standing notification
        // over at every tick it is asked.
        if !world.acct.notified.insert(id.to_string()) {
            return;
        }
    }
    let monthly_cost = world.graph.twin(&twin_id).map_or(0.0, |tw| kind.monthly_cost(tw));
    let due = t + kind.duration_secs();
    world.acct.actions.push(ActionRecord {
        at: t,
        effective_at: due,
        twin: twin_id,
        kind: kind.clone(),
        id: id.to_string(),
        reason: reason.to_string(),
        decided_by: by.to_string(),
        monthly_cost,
    });
    if let ActionKind::Notify { .. } = kind {
        return;
    }
    if let ActionKind::Restart = kind {
        world.twins.restart_until[i] = world.twins.restart_until[i].max(due);
        world.restarts_until = world.restarts_until.max(due);
    }
    world.seq += 1;
    let pending = Pending { due, seq: world.seq, twin, kind: kind.clone(), id: id.to_string() };
    let pos = world.pending.partition_point(|p| (p.due, p.seq) <= (pending.due, pending.seq));
    world.pending.insert(pos, pending);
}

fn apply_command(world: &mut World, t: UnixSecs, command: &Command) -> Result<usize, SimError> {
    let index = |world: &World, id: &TwinId| world.twin_index(id).ok_or_else(|| SimError::UnknownTwin(id.to_string()));
    match command {
        Command::Act { twin, action } => {
            let i = index(world, twin)?;
            check_action(world, i, action).map_err(SimError::Invalid)?;
            start_action(world, t, i, action, "manual", "started by hand", "manual");
            world.orch.dirty = true;
            Ok(1)
        }
        Command::SetConfig { twin, key, value } => {
            let i = index(world, twin)?;
            if key.trim().is_empty() {
                return Err(SimError::Invalid("configuration key is empty".into()));
            }
            if let Some(tw) = world.graph.twin_mut(twin) {
                let before = tw.config.insert(key.clone(), value.clone());
                tw.config_history.push(ConfigChange { at: t, key: key.clone(), before, after: Some(value.clone()) });
                let caps = world.twins.caps[i as usize];
                world.twins.set_capacity(i as usize, caps, ConfigEffects::of(&tw.config, &caps));
            }
            world.config_changed(i as usize);
            world.orch.graph_version += 1;
            Ok(0)
        }
        Command::StartFault(fault) => {
            let i = index(world, &fault.twin)?;
            fault.kind.validate().map_err(SimError::Invalid)?;
            if let Some(d) = fault.duration_secs
                && d <= 0
            {
                return Err(SimError::Invalid(format!("fault duration must be positive, not {d} s")));
            }
            let other = match &fault.kind {
                FaultKind::DependencyOutage { dependency } => {
                    let j = index(world, dependency)?;
                    let (a, b) =
                        (world.topo.out_start[i as usize] as usize, world.topo.out_start[i as usize + 1] as usize);
                    if !world.topo.out_to[a..b].contains(&j) {
                        return Err(SimError::Invalid(format!("{} does not depend on {dependency}", fault.twin)));
                    }
                    j
                }
                _ => NONE,
            };
            let mut fault = fault.clone();
            fault.start = t;
            push_event(world, t, i, EventKind::FaultStarted(fault.kind.to_string()));
            world.faults.push(ActiveFault { fault, twin: i, other, cleared: false });
            Ok(0)
        }
        Command::RandomFaults(spec) => {
            if !(spec.rate_per_hour.is_finite() && spec.rate_per_hour >= 0.0) {
                return Err(SimError::Invalid("random faults: rate_per_hour must be a non-negative number".into()));
            }
            if spec.kinds.is_empty() {
                return Err(SimError::Invalid("random faults: no fault kinds to draw from".into()));
            }
            for kind in &spec.kinds {
                kind.validate().map_err(SimError::Invalid)?;
            }
            let purpose = format!("chaos/random/{}", world.random_faults.len());
            let stream = super::rng::stream(world.seed, &purpose);
            world.random_faults.push((spec.clone(), stream));
            Ok(0)
        }
        Command::StopFaults { twin } => {
            let only = match twin {
                Some(id) => Some(index(world, id)?),
                None => None,
            };
            let mut ended = Vec::new();
            world.faults.retain(|f| {
                let hit = only.is_none_or(|i| f.twin == i);
                if hit {
                    ended.push((f.twin, f.fault.kind.to_string()));
                }
                !hit
            });
            for (i, what) in ended {
                push_event(world, t, i, EventKind::FaultEnded(format!("{what} (rolled back)")));
            }
            if only.is_none() {
                for (spec, _) in &mut world.random_faults {
                    spec.until = spec.until.min(t);
                }
            }
            Ok(0)
        }
        Command::Approve { id, by } => {
            let (result, accepted) = consult(world, |o, w, apply| o.approve(t, id, by, &w.graph, apply));
            world.orch.dirty = true;
            let by = format!("approved by {by}");
            let count = accepted.len();
            for c in accepted {
                if let Some(i) = world.twin_index(&c.target) {
                    start_action(world, t, i, &c.kind, &c.id, &c.finding.reason(), &by);
                }
            }
            result.map_err(SimError::Invalid)?;
            Ok(count)
        }
        Command::Reject { id, by } => {
            world.orchestrator.reject(t, id, by).map_err(SimError::Invalid)?;
            world.orch.dirty = true;
            Ok(0)
        }
    }
}

/// The applier the orchestrator is given.
type Apply<'a> = dyn FnMut(&Candidate) -> Result<(), String> + 'a;

/// Asks the world's orchestrator (`decide`) with an `apply` that accepts a candidate
/// when its action can start now (the caller starts the accepted ones); returns what
/// `decide` returned and the accepted candidates, in order.
fn consult<R>(
    world: &mut World,
    decide: impl FnOnce(&mut Orchestrator, &World, &mut Apply<'_>) -> R,
) -> (R, Vec<Candidate>) {
    let mut orchestrator = std::mem::take(&mut world.orchestrator);
    let mut accepted: Vec<Candidate> = Vec::new();
    let result = {
        let w: &World = world;
        let mut apply = |c: &Candidate| -> Result<(), String> {
            let i = w.twin_index(&c.target).ok_or_else(|| format!("unknown twin {}", c.target))?;
            check_action(w, i, &c.kind)?;
            accepted.push(c.clone());
            Ok(())
        };
        decide(&mut orchestrator, w, &mut apply)
    };
    world.orchestrator = orchestrator;
    (result, accepted)
}

/// Effects of actions whose duration is over.
#[inline(never)]
fn take_effect(world: &mut World, t: UnixSecs) {
    while world.pending.first().is_some_and(|p| p.due <= t) {
        let p = world.pending.remove(0);
        let i = p.twin as usize;
        let id = world.twins.ids[i].clone();
        match &p.kind {
            ActionKind::Restart => {
                world.twins.reset_at[i] = p.due;
                for f in world.faults.iter_mut().filter(|f| f.twin == p.twin) {
                    if f.fault.kind == FaultKind::Crash {
                        f.cleared = true;
                    }
                }
            }
            ActionKind::Migrate { to } => {
                let current = world.twins.host[i];
                let target = match to {
                    Some(to) => world.twin_index(to),
                    None => least_loaded_host(world, current),
                };
                if let Some(target) = target.filter(|h| *h != current) {
                    let host_id = world.twins.ids[target as usize].clone();
                    if world.graph.set_host(&id, &host_id).is_ok() {
                        world.twins.host[i] = target;
                        world.twins.loud_dirty = true;
                        world.topo.placement = placement_order(&world.twins.host, &world.twins.base_host);
                    }
                }
            }
            kind => {
                if let Some(tw) = world.graph.twin_mut(&id) {
                    kind.apply(tw);
                    let caps = Caps::of(&tw.capacity);
                    world.twins.set_capacity(i, caps, ConfigEffects::of(&tw.config, &caps));
                }
                world.config_changed(i);
            }
        }
        world.orch.graph_version += 1;
        push_event(world, t, p.twin, EventKind::ActionTookEffect(p.kind.to_string()));
    }
}

/// Ends faults whose time is over, injects random ones, and sums what the active
/// faults do to each twin.
#[inline(never)]
fn update_faults(world: &mut World, t: UnixSecs) {
    let mut ended = Vec::new();
    world.faults.retain(|f| {
        let over = f.fault.end().is_some_and(|end| end <= t);
        if over {
            ended.push((f.twin, f.fault.kind.to_string()));
        }
        !over
    });
    for (i, what) in ended {
        push_event(world, t, i, EventKind::FaultEnded(what));
    }

    let tick_hours = world.resolution as f64 / 3600.0;
    let mut injected = Vec::new();
    for (spec, stream) in &mut world.random_faults {
        if t < spec.from || t >= spec.until {
            continue;
        }
        let u: f64 = stream.random();
        if u >= spec.rate_per_hour * tick_hours {
            continue;
        }
        let candidates: Vec<u32> = world
            .graph
            .twins()
            .enumerate()
            .filter(|(_, tw)| spec.selector.matches(tw))
            .map(|(i, _)| i as u32)
            .collect();
        if candidates.is_empty() || spec.kinds.is_empty() {
            continue;
        }
        let twin = candidates[stream.random_range(0..candidates.len())];
        let kind = spec.kinds[stream.random_range(0..spec.kinds.len())].clone();
        injected.push(Fault {
            kind,
            twin: world.twins.ids[twin as usize].clone(),
            start: t,
            duration_secs: Some(spec.duration_secs.max(1)),
        });
    }
    for fault in injected {
        // Random kinds never need a dependency, so starting them cannot fail on one;
        // a dependency outage drawn for a twin without that edge is skipped.
        let _ = apply_command(world, t, &Command::StartFault(fault));
    }

    // Faults now or at the last tick may bend traffic (reachability changes mark it too).
    world.traffic_dirty |= !world.fx_touched.is_empty() || !world.faults.is_empty();
    for i in world.fx_touched.drain(..) {
        world.twins.fx[i as usize] = FaultEffects::default();
        world.twins.refresh_plain(i as usize);
    }
    for e in world.cut_touched.drain(..) {
        world.topo.out_cut[e as usize] = false;
    }
    world.any_cut_off = false;
    for f in &world.faults {
        let i = f.twin as usize;
        world.any_cut_off |= matches!(f.fault.kind, FaultKind::Crash | FaultKind::Partition);
        let fx = &mut world.twins.fx[i];
        match &f.fault.kind {
            FaultKind::Crash => fx.crashed |= !f.cleared,
            FaultKind::Partition => fx.partitioned = true,
            FaultKind::CpuHog { percent } => fx.cpu_hog += percent,
            FaultKind::MemoryLeak { percent_per_hour } => {
                let from = f.fault.start.max(world.twins.reset_at[i]);
                fx.memory_leak += percent_per_hour * (t - from).max(0) as f64 / 3600.0;
            }
            FaultKind::Latency { ms } => fx.latency_ms += ms,
            FaultKind::DiskFill { percent_per_hour } => {
                fx.disk_fill += percent_per_hour * (t - f.fault.start).max(0) as f64 / 3600.0;
            }
            FaultKind::TrafficSpike { factor } => fx.traffic *= factor,
            FaultKind::DependencyOutage { .. } => {
                let (a, b) = (world.topo.out_start[i] as usize, world.topo.out_start[i + 1] as usize);
                for e in a..b {
                    if world.topo.out_to[e] == f.other {
                        world.topo.out_cut[e] = true;
                        world.cut_touched.push(e as u32);
                        fx.cut = true;
                    }
                }
            }
        }
        world.fx_touched.push(f.twin);
    }
    for k in 0..world.fx_touched.len() {
        let i = world.fx_touched[k] as usize;
        world.twins.refresh_plain(i);
    }
}

/// The workload models' values at this tick.
#[inline(never)]
fn drive(world: &mut World, n: u64, t: UnixSecs) {
    let s = &world.series;
    if s.block_len == 0 || n >= s.block_first_tick + s.block_len as u64 {
        super::draw::fill_block(world, n);
        world.calm.index_block();
        // The block was drawn with every twin's capacity and configuration as they are.
        if world.twins.stale.contains(&true) {
            world.twins.stale.fill(false);
            world.twins.loud_dirty = true;
        }
    }
    let tw = &mut world.twins;
    tw.model_down.fill(false);
    world.any_model_down = false;
    let s = &mut world.series;
    s.cur = (n - s.block_first_tick) as usize;
    // The block's entries for this tick are the drive: only series with incidents still
    // need them applied (and clamping).
    for k in 0..s.with_incidents.len() {
        let j = s.with_incidents[k] as usize;
        ensure_drawn(s, s.twin[j] as usize);
        let at = s.at(j);
        let (a, b) = s.incident_range[j];
        let twin = s.twin[j] as usize;
        let (v, outage) = apply_incidents(&s.incidents[a as usize..b as usize], t, s.block[at], tw.reset_at[twin]);
        if outage {
            tw.model_down[twin] = true;
            world.any_model_down = true;
        }
        s.block[at] = v.clamp(s.min[j], s.max[j]);
    }
}

#[inline(never)]
fn reachability(world: &mut World, t: UnixSecs) {
    // Every twin serves, and nothing could take one down: no crash, partition, restart
    // or outage in a workload model.
    // (`world.down` counts the twins not serving at the last statuses, which follow
    // every change of reachability.)
    if world.shortcuts && world.down == 0 && !world.any_model_down && !world.any_cut_off && t >= world.restarts_until {
        return;
    }
    let count = world.twins.ids.len();
    let mut changed = Vec::new();
    for k in (0..count).rev() {
        let i = world.topo.placement[k] as usize;
        let tw = &mut world.twins;
        let h = tw.host[i];
        let own_down = tw.fx[i].crashed || t < tw.restart_until[i] || tw.model_down[i];
        let host_down = h != NONE && tw.down[h as usize];
        let down = own_down || host_down;
        let reachable = !down && !tw.fx[i].partitioned && (h == NONE || tw.reachable[h as usize]);
        tw.down[i] = down;
        if reachable != tw.reachable[i] {
            tw.reachable[i] = reachable;
            changed.push(i as u32);
        }
    }
    world.traffic_dirty |= !changed.is_empty();
    world.status_dirty |= !changed.is_empty();
    world.twins.loud_dirty |= !changed.is_empty();
    for i in changed {
        let what = if world.twins.reachable[i as usize] {
            EventKind::Up
        } else {
            EventKind::Down(reason_of(world, i as usize))
        };
        push_event(world, t, i, what);
        world.orch.dirty = true;
    }
}

#[inline(never)]
fn traffic(world: &mut World) {
    // (In a dependency cycle, traffic feeds back on itself from tick to tick.)
    if world.shortcuts && !world.traffic_dirty && !world.topo.cyclic {
        return;
    }
    world.traffic_dirty = false;
    let tw = &mut world.twins;
    tw.loud_dirty = true;
    let topo = &world.topo;
    let count = tw.ids.len();
    // A load balancer spreads the share of unreachable targets over the healthy ones.
    for c in 0..count {
        let (a, b) = (topo.out_start[c] as usize, topo.out_start[c + 1] as usize);
        let (mut total, mut healthy) = (0.0, 0.0);
        for e in a..b {
            if topo.out_routes[e] {
                total += topo.out_share[e];
                if tw.reachable[topo.out_to[e] as usize] && !topo.out_cut[e] {
                    healthy += topo.out_share[e];
                }
            }
        }
        tw.route_scale[c] = if total <= 0.0 {
            1.0
        } else if healthy > 0.0 {
            total / healthy
        } else {
            0.0
        };
    }
    for &i in &topo.order {
        let i = i as usize;
        if !tw.reachable[i] {
            tw.traffic[i] = 0.0;
            continue;
        }
        let (a, b) = (topo.in_start[i] as usize, topo.in_start[i + 1] as usize);
        let mut f = 1.0;
        let database = tw.kind[i] == TwinKind::Database;
        if a < b {
            let (mut num, mut den) = (0.0, 0.0);
            for e in a..b {
                let c = topo.in_from[e] as usize;
                let share = topo.in_share[e];
                den += share;
                if tw.reachable[c] {
                    let scale = if topo.in_routes[e] { tw.route_scale[c] } else { 1.0 };
                    // A database also takes the misses of its callers' caches.
                    let backend = if database { tw.backend[c] } else { 1.0 };
                    num += share * tw.traffic[c] * scale * backend;
                }
            }
            if den > 0.0 {
                f = num / den;
            }
        }
        tw.traffic[i] = f * tw.fx[i].traffic;
    }
    // Share of a queue's consumers that are reachable.
    for q in 0..count {
        let (a, b) = (topo.consumer_start[q] as usize, topo.consumer_start[q + 1] as usize);
        if a < b {
            let up = topo.consumers[a..b].iter().filter(|c| tw.reachable[**c as usize]).count();
            tw.consumers_up[q] = up as f64 / (b - a) as f64;
        }
    }
}

/// Extra share of requests failed at utilisation ρ (demand above capacity is shed).
#[inline]
fn shed_at(rho: f64) -> f64 {
    if rho > 1.0 { 1.0 - 1.0 / rho } else { 0.0 }
}

#[inline(never)]
fn load(world: &mut World, t: UnixSecs) {
    let tw = &mut world.twins;
    let s = &mut world.series;
    let calm = &mut world.calm;
    let stamp = world.tick;
    // As an undisturbed twin has them (only those the last tick changed need it); the
    // visits below change them.
    for &i in &calm.load_touched {
        let i = i as usize;
        (tw.delta_cores[i], tw.slow[i], tw.shed[i]) = (0.0, 1.0, 0.0);
    }
    calm.load_touched.clear();
    let mut oom = Vec::new();
    calm.load_visited.clear();
    calm.heap.clear();
    // Workloads before hosts: the loud twins, the calm ones whose drawn load does
    // something now, and the hosts given or freed cores by them.
    let (a, b) = (calm.trig_start[s.cur] as usize, calm.trig_start[s.cur + 1] as usize);
    for &i in &calm.trig[a..b] {
        calm.heap.push(Reverse((calm.placement_rank[i as usize], i)));
    }
    let mut next = 0;
    while let Some(i) = next_visit(&mut calm.heap, &calm.loud_load, &mut next, |i| calm.placement_rank[i as usize]) {
        let i = i as usize;
        if calm.load_seen[i] == stamp {
            continue;
        }
        calm.load_seen[i] = stamp;
        calm.load_visited.push(i as u32);
        calm.load_touched.push(i as u32);
        ensure_drawn(s, i);
        for h in load_twin(tw, s, world.shortcuts, i, &mut oom) {
            if h == NONE {
                continue;
            }
            calm.load_touched.push(h);
            let h = h as usize;
            // (A host earlier in the order has had its turn, as in a pass over all.)
            if calm.placement_rank[h] > calm.placement_rank[i] && calm.load_seen[h] != stamp {
                calm.heap.push(Reverse((calm.placement_rank[h], h as u32)));
            }
        }
    }
    // Killed for want of memory: down while it restarts, then leaks and ramps are gone.
    let restart = ActionKind::Restart.duration_secs();
    for i in oom {
        world.twins.restart_until[i] = t + restart;
        world.restarts_until = world.restarts_until.max(t + restart);
        world.twins.reset_at[i] = t + restart;
        push_event(world, t, i as u32, EventKind::OutOfMemory);
    }
}

/// The next twin to visit in ascending `key` order: the next of `list` (sorted by key,
/// read from `*next`) or of those added to `heap` on the way, whichever comes first.
#[inline]
fn next_visit(
    heap: &mut BinaryHeap<Reverse<(u32, u32)>>,
    list: &[u32],
    next: &mut usize,
    key: impl Fn(u32) -> u32,
) -> Option<u32> {
    let listed = list.get(*next).copied();
    match (listed, heap.peek()) {
        (None, None) => None,
        (Some(i), Some(Reverse((k, _)))) if key(i) <= *k => {
            *next += 1;
            Some(i)
        }
        (Some(i), None) => {
            *next += 1;
            Some(i)
        }
        (_, Some(_)) => heap.pop().map(|Reverse((_, i))| i),
    }
}

/// Twin `i`'s load: its demand into the block's entries of its load roles, its slowdown
/// and shedding, its change in cores used added to its hosts (returned when not 0),
/// and `oom` if it runs out of memory.
#[inline]
fn load_twin(tw: &mut Twins, s: &mut SeriesTable, shortcuts: bool, i: usize, oom: &mut Vec<usize>) -> [u32; 2] {
    let mut given = [NONE; 2];
    let mut give = |delta_cores: &mut [f64], h: u32, k: usize, cores: f64| {
        delta_cores[h as usize] += cores;
        if cores != 0.0 || cores.is_nan() {
            given[k] = h;
        }
    };
    let up = !tw.down[i];
    let slot = tw.slot[i];
    // Undisturbed (the usual case): demand is the drive, nothing is slowed or shed,
    // and its cores used are those its host's model already holds.
    if shortcuts
        && tw.plain[i]
        && up
        && tw.traffic[i] == 1.0
        && tw.delta_cores[i] == 0.0
        && tw.host[i] == tw.base_host[i]
    {
        let (cpu, memory, disk) = (slot[Role::Cpu as usize], slot[Role::Memory as usize], slot[Role::Disk as usize]);
        tw.slow[i] = 1.0;
        tw.shed[i] = 0.0;
        if cpu != NONE {
            let d0 = s.block[s.at(cpu as usize)];
            let h = tw.host[i];
            // Its change in cores used is 0 (its capacity is as at the start), unless
            // its model's CPU goes below zero (used is then 0, not negative).
            if h != NONE && (d0 < 0.0 || d0.is_nan()) {
                let used0 = d0 / 100.0 * (tw.caps0[i].cpu * tw.caps0[i].replicas);
                give(&mut tw.delta_cores, h, 0, 0.0 - used0);
            }
        }
        if memory != NONE {
            let at = s.at(memory as usize);
            let demand = s.block[at].min(tw.cfg[i].memory_cap);
            s.block[at] = demand;
            if demand > 100.0 {
                oom.push(i);
            }
        }
        if disk != NONE && s.block[s.at(disk as usize)] >= 100.0 {
            tw.shed[i] = 1.0;
        }
        return given;
    }
    let (caps, caps0, fx, ratio) = (tw.caps[i], tw.caps0[i], tw.fx[i], tw.ratios[i]);
    let cpu = slot[Role::Cpu as usize];
    if cpu != NONE {
        let at = s.at(cpu as usize);
        let d0 = s.block[at];
        let cores = caps.cpu * caps.replicas;
        // The share of the CPU that follows traffic (learned; 1 by default, where the
        // demand is the drive times the traffic factor, computed as before).
        let follows = tw.follows_traffic[i];
        let traffic = if follows == 1.0 { tw.traffic[i] } else { 1.0 + follows * (tw.traffic[i] - 1.0) };
        let demand = if up {
            d0 * traffic * ratio.cpu * ratio.replicas * ratio.config + fx.cpu_hog + tw.delta_cores[i] / cores * 100.0
        } else {
            0.0
        };
        let (rho, rho0) = (demand / 100.0, d0 / 100.0);
        // Undisturbed (the usual case), the quotient is exactly 1 and nothing is shed.
        (tw.slow[i], tw.shed[i]) = if demand == d0 {
            (1.0, 0.0)
        } else {
            let queueing = (1.0 - rho0.min(0.99)) / (1.0 - rho.min(0.99));
            // Only the queueing share of the latency grows (learned; all of it by default).
            let q = tw.queueing[i];
            let slow = if q == 1.0 { queueing } else { (1.0 - q) + q * queueing };
            (slow, shed_at(rho) - shed_at(rho0))
        };
        s.block[at] = demand;
        let used = if up { (demand / 100.0 * cores).max(0.0) } else { 0.0 };
        let used0 = d0 / 100.0 * (caps0.cpu * caps0.replicas);
        let (h, h0) = (tw.host[i], tw.base_host[i]);
        if h != NONE && h == h0 {
            give(&mut tw.delta_cores, h, 0, used - used0);
        } else {
            if h != NONE {
                give(&mut tw.delta_cores, h, 0, used);
            }
            if h0 != NONE {
                give(&mut tw.delta_cores, h0, 1, -used0);
            }
        }
    } else {
        tw.slow[i] = 1.0;
        tw.shed[i] = 0.0;
    }
    if up {
        limits(tw, i);
    }
    let memory = slot[Role::Memory as usize];
    if memory != NONE {
        let at = s.at(memory as usize);
        let demand = ((s.block[at] + fx.memory_leak) * ratio.memory).min(tw.cfg[i].memory_cap);
        s.block[at] = demand;
        if up && demand > 100.0 {
            oom.push(i);
        }
    }
    let disk = slot[Role::Disk as usize];
    if disk != NONE {
        let at = s.at(disk as usize);
        let demand = (s.block[at] + fx.disk_fill) * ratio.disk;
        s.block[at] = demand;
        if demand >= 100.0 {
            tw.shed[i] = 1.0;
        }
    }
    given
}

/// Twin `i`'s connection limit and pools (`sim::config`): connections wanted beyond
/// the limit are refused, and a pool near or beyond its size queues and fails
/// requests; both relative to the start, so an undisturbed twin is unchanged.
/// Concurrency not held by pools follows traffic and slowdown.
#[inline]
fn limits(tw: &mut Twins, i: usize) {
    let (cfg, cfg0, lim) = (tw.cfg[i], tw.cfg0[i], tw.limits[i]);
    let flow = tw.traffic[i] * tw.slow[i];
    let mut failed = 0.0;
    if let Some(limit) = cfg.connections {
        let limit0 = cfg0.connections.unwrap_or(limit);
        let (wanted, wanted0) = if lim.connections0 > 0.0 {
            (lim.connections, lim.connections0)
        } else {
            let c0 = lim.concurrency0.unwrap_or(0.5 * limit0);
            (c0 * flow, c0)
        };
        failed = config::excess(wanted / limit) - config::excess(wanted0 / limit0);
    }
    if let Some(slots) = cfg.slots {
        let (total, total0) = (slots * tw.caps[i].replicas, cfg0.slots.unwrap_or(slots) * tw.caps0[i].replicas);
        let c0 = lim.concurrency0.unwrap_or(0.5 * total0);
        let (u, u0) = (c0 * flow / total, c0 / total0);
        if u != u0 {
            // Negligible queueing (far from a busy pool) is left out, so a twin whose
            // pool never nears its size keeps its latency to the bit.
            let wait = config::wait(u, total) - config::wait(u0, total0);
            if wait.abs() > 1e-6 {
                tw.slow[i] *= 1.0 + wait;
            }
            let beyond = config::excess(u) - config::excess(u0);
            failed = 1.0 - (1.0 - failed) * (1.0 - beyond);
        }
    }
    if failed != 0.0 {
        tw.shed[i] = 1.0 - (1.0 - tw.shed[i]) * (1.0 - failed);
    }
}

#[inline(never)]
fn failure(world: &mut World) {
    let tw = &mut world.twins;
    let topo = &world.topo;
    let s = &mut world.series;
    let calm = &mut world.calm;
    let stamp = world.tick;
    // Callees first. A twin whose dependencies all answer at once and in full, and which
    // is itself neither slowed, shedding, delayed by a fault nor cut off from one, has
    // none (`dep_dirty` is set by each dependency that has some, before its callers).
    // It also lists the twins whose values the estate's state bends (`bent`).
    // Visited: the loud twins, the slowed or shedding ones and the workloads of such
    // hosts, and the callers of those with extra latency or failure.
    // As for an undisturbed twin (only those the last tick changed need it).
    for &i in &calm.failure_touched {
        let i = i as usize;
        (tw.xlat[i], tw.xfail[i], tw.dep_dirty[i]) = (0.0, 0.0, false);
    }
    calm.failure_touched.clear();
    tw.bent.clear();
    calm.heap.clear();
    let key = |i: u32| !calm.order_rank[i as usize];
    for &i in &calm.load_visited {
        let iu = i as usize;
        if tw.slow[iu] != 1.0 || tw.shed[iu] != 0.0 {
            calm.heap.push(Reverse((key(i), i)));
            let (a, b) = (calm.hosted_start[iu] as usize, calm.hosted_start[iu + 1] as usize);
            for &w in &calm.hosted[a..b] {
                calm.heap.push(Reverse((key(w), w)));
            }
        }
    }
    let mut next = 0;
    while let Some(i) = next_visit(&mut calm.heap, &calm.loud_failure, &mut next, key) {
        let i = i as usize;
        if calm.failure_seen[i] == stamp {
            continue;
        }
        calm.failure_seen[i] = stamp;
        calm.failure_touched.push(i as u32);
        ensure_drawn(s, i);
        if failure_twin(tw, topo, s, world.shortcuts, i) {
            // Its callers have to know.
            let (a, b) = (topo.in_start[i] as usize, topo.in_start[i + 1] as usize);
            for &c in &topo.in_from[a..b] {
                tw.dep_dirty[c as usize] = true;
                calm.failure_touched.push(c);
                // (A caller later in the order has had its turn, as in a pass over all.)
                if calm.order_rank[c as usize] < calm.order_rank[i] && calm.failure_seen[c as usize] != stamp {
                    calm.heap.push(Reverse((key(c), c)));
                }
            }
        }
    }
}

/// Twin `i`'s extra latency and failure; whether its callers have to know.
#[inline]
fn failure_twin(tw: &mut Twins, topo: &super::world::Topology, s: &SeriesTable, shortcuts: bool, i: usize) -> bool {
    if !tw.reachable[i] {
        tw.xlat[i] = 0.0;
        tw.xfail[i] = 1.0;
        tw.bent.push(i as u32);
        return true;
    }
    let h = tw.host[i];
    let (host_slow, host_shed) = if h == NONE { (1.0, 0.0) } else { (tw.slow[h as usize], tw.shed[h as usize]) };
    if shortcuts
        && !tw.dep_dirty[i]
        && !topo.back_edge[i]
        && tw.slow[i] * host_slow == 1.0
        && tw.shed[i] == 0.0
        && host_shed == 0.0
        && tw.fx[i].latency_ms == 0.0
        && !tw.fx[i].cut
        && tw.cfg[i].timeout_ms == tw.cfg0[i].timeout_ms
    {
        tw.xlat[i] = 0.0;
        tw.xfail[i] = 0.0;
        if tw.traffic[i] != 1.0 || tw.consumers_up[i] < 1.0 {
            tw.bent.push(i as u32);
        }
        return false;
    }
    let lat = tw.slot[i][Role::Latency as usize];
    let base_latency = if lat == NONE { 0.0 } else { s.block[s.at(lat as usize)] };
    let mut xlat = base_latency * (tw.slow[i] * host_slow - 1.0) + tw.fx[i].latency_ms;
    let own_fail = 1.0 - (1.0 - tw.shed[i].clamp(0.0, 1.0)) * (1.0 - host_shed.clamp(0.0, 1.0));
    let mut dep_fail = 0.0;
    let timeout = tw.cfg[i].timeout_ms;
    let (a, b) = (topo.out_start[i] as usize, topo.out_start[i + 1] as usize);
    for e in a..b {
        let j = topo.out_to[e] as usize;
        let share = topo.out_share[e];
        let ok = tw.reachable[j] && !topo.out_cut[e];
        if topo.out_routes[e] {
            let scale = tw.route_scale[i];
            if scale == 0.0 {
                dep_fail += share;
                xlat += share * timeout;
            } else if ok {
                dep_fail += share * scale * tw.xfail[j];
                xlat += share * scale * tw.xlat[j];
            }
        } else if ok {
            dep_fail += share * tw.xfail[j];
            xlat += share * tw.xlat[j];
        } else {
            dep_fail += share;
            xlat += share * timeout;
        }
    }
    tw.xlat[i] = xlat;
    tw.xfail[i] = 1.0 - (1.0 - own_fail) * (1.0 - dep_fail.min(1.0));
    // A changed timeout fails the requests slower than it (latency as exponential).
    let (timeout, timeout0) = (tw.cfg[i].timeout_ms, tw.cfg0[i].timeout_ms);
    if timeout != timeout0 && lat != NONE {
        let latency = base_latency + xlat;
        if latency > 0.0 {
            let extra = (libm::exp(-timeout / latency) - libm::exp(-timeout0 / latency)).max(0.0);
            tw.xfail[i] = 1.0 - (1.0 - tw.xfail[i]) * (1.0 - extra);
        }
    }
    if tw.xlat[i] != 0.0 || tw.xfail[i] != 0.0 || tw.traffic[i] != 1.0 || tw.consumers_up[i] < 1.0 {
        tw.bent.push(i as u32);
    }
    tw.xlat[i] != 0.0 || tw.xfail[i] != 0.0
}

#[inline(never)]
fn values(world: &mut World) {
    let tw = &world.twins;
    let s = &mut world.series;
    let calm = &mut world.calm;
    let stamp = world.tick;
    // A twin not visited has its values as drawn. The others: those the load pass
    // visited (their load roles' values are its demand) and those the estate's state
    // bends (listed by the failure pass).
    calm.values_visited.clear();
    for &i in calm.load_visited.iter().chain(&tw.bent) {
        let iu = i as usize;
        if calm.values_seen[iu] == stamp {
            continue;
        }
        calm.values_seen[iu] = stamp;
        calm.values_visited.push(i);
        ensure_drawn(s, iu);
        values_twin(tw, s, iu, calm.load_seen[iu] == stamp);
    }
}

/// Twin `i`'s values at this tick: v = x × mul + add by role, x the drive (the load
/// roles' demand), clamped and rounded; a queue's depth is then divided by its share of
/// consumers. The load roles are the load pass's demand if it visited the twin
/// (`load_roles`), else as drawn. The values replace the drive in the block.
#[inline]
fn values_twin(tw: &Twins, s: &mut SeriesTable, i: usize, load_roles: bool) {
    let (a, b) = (s.twin_start[i] as usize, s.twin_start[i + 1] as usize);
    if !tw.reachable[i] {
        for j in a..b {
            let at = s.at(j);
            s.block[at] = s.min[j];
        }
        return;
    }
    let consumers = tw.consumers_up[i].max(0.05);
    for j in a..b {
        let at = s.at(j);
        let x = s.block[at];
        let v = match s.role[j] {
            Role::Cpu | Role::Memory | Role::Disk | Role::Other if load_roles => x,
            // As drawn (the load pass's shortcut).
            Role::Memory => x.min(tw.cfg[i].memory_cap),
            Role::Cpu | Role::Disk | Role::Other => x,
            Role::Latency => x + tw.xlat[i],
            Role::Errors => x + 100.0 * tw.xfail[i],
            Role::Requests | Role::Network => x * tw.traffic[i],
            Role::QueueDepth => x * tw.traffic[i] / consumers,
        };
        s.block[at] = s.rounding[j].apply(clamp_unchecked(v, s.min[j], s.max[j]));
    }
}

#[inline(never)]
fn rules(world: &mut World, t: UnixSecs, report: &mut StepReport) {
    let r = &mut world.rules;
    let s = &mut world.series;
    let tw = &world.twins;
    let calm = &mut world.calm;
    let stamp = world.tick;
    let mut changed = false;
    // The tests that may fire now or have fired at the last tick: of the twins whose
    // values were computed, firing on the drawn values, firing at the last tick, and
    // those with a state. Every other one did not and does not fire. In full, all.
    let mut candidates = std::mem::take(&mut calm.candidates);
    candidates.clear();
    if world.shortcuts {
        candidates.extend_from_slice(&calm.always);
        candidates.extend_from_slice(&calm.firing);
        let (a, b) = (calm.fire_start[s.cur] as usize, calm.fire_start[s.cur + 1] as usize);
        candidates.extend_from_slice(&calm.fire[a..b]);
        for &i in &calm.values_visited {
            let (a, b) = (calm.twin_tests_start[i as usize] as usize, calm.twin_tests_start[i as usize + 1] as usize);
            candidates.extend_from_slice(&calm.twin_tests[a..b]);
        }
    } else {
        candidates.extend(0..r.test.len() as u32);
    }
    calm.firing.clear();
    for &k in &candidates {
        let k = k as usize;
        if calm.test_seen[k] == stamp {
            continue;
        }
        calm.test_seen[k] = stamp;
        let test = r.test[k];
        if test.series != NONE {
            ensure_drawn(s, test.twin as usize);
        }
        let s = &*s;
        let reachable = tw.reachable[test.twin as usize];
        let up = test.series == NONE;
        let value = || {
            if up {
                Some(if reachable { 1.0 } else { 0.0 })
            } else if reachable {
                Some(s.value(tw, &calm.values_seen, stamp, test.series as usize))
            } else {
                None
            }
        };
        // (firing, start of the episode, the value it fires on)
        let (firing, since, seen) = if test.sign != 0.0 {
            // A plain threshold: no data (unreachable) is no violation.
            let v = if up {
                f64::from(u8::from(reachable))
            } else {
                s.value(tw, &calm.values_seen, stamp, test.series as usize)
            };
            let firing = (reachable || up) && test.fires(v);
            if firing == r.firing[k] {
                if firing {
                    report.firing += 1;
                    r.mark_firing(test.group);
                    calm.firing.push(k as u32);
                }
                continue;
            }
            (firing, t, value())
        } else {
            let inst = &r.inst[k];
            let value = value();
            let rule = &world.policies[inst.policy as usize].rules[inst.rule as usize];
            let state = &mut r.state[k];
            match state.update(rule, t, value) {
                crate::policy::eval::RuleStatus::Firing { since } => (true, since, state.last_value.or(value)),
                _ => (false, t, None),
            }
        };
        let inst = &r.inst[k];
        if firing != r.firing[k] {
            r.firing[k] = firing;
            if inst.acting {
                changed = true;
            }
            r.finding[k] = (firing && inst.acting).then(|| {
                let policy = &world.policies[inst.policy as usize];
                let rule = &policy.rules[inst.rule as usize];
                Finding::Violation {
                    policy: policy.name.clone(),
                    rule: rule.to_string(),
                    metric: rule.metric.clone(),
                    twin: tw.ids[inst.twin as usize].clone(),
                    value: seen.unwrap_or(0.0),
                    since,
                    cause: None,
                }
            });
        }
        if firing {
            report.firing += 1;
            r.mark_firing(inst.group);
            calm.firing.push(k as u32);
        }
    }
    calm.candidates = candidates;
    if changed {
        world.orch.findings_version += 1;
    }
    let acct = &mut world.acct;
    if world.shortcuts {
        // Only the groups firing now or in violation at the last tick can change.
        let mut status_changed = false;
        for &g in &r.firing_groups {
            let g = g as usize;
            acct.group_ticks[g] += 1;
            if !r.group_violating[g] {
                report.new_violations += 1;
                acct.group_episodes[g] += 1;
                status_changed = true;
            }
        }
        for &g in &r.violating_groups {
            if !r.group_firing_now[g as usize] {
                r.group_violating[g as usize] = false;
                status_changed = true;
            }
        }
        for &g in &r.firing_groups {
            r.group_violating[g as usize] = true;
            r.group_firing_now[g as usize] = false;
        }
        report.violating += r.firing_groups.len();
        if !r.firing_groups.is_empty() && acct.first_firing.is_none() {
            acct.first_firing = Some(t);
        }
        world.status_dirty |= status_changed;
    } else {
        for g in 0..r.groups.len() {
            let now = r.group_firing_now[g];
            r.group_firing_now[g] = false;
            if now {
                report.violating += 1;
                acct.group_ticks[g] += 1;
                if acct.first_firing.is_none() {
                    acct.first_firing = Some(t);
                }
            }
            if now && !r.group_violating[g] {
                report.new_violations += 1;
                acct.group_episodes[g] += 1;
            }
            world.status_dirty |= now != r.group_violating[g];
            r.group_violating[g] = now;
        }
    }
    // The groups firing now are those in violation at the next tick.
    std::mem::swap(&mut r.violating_groups, &mut r.firing_groups);
    r.firing_groups.clear();
}

#[inline(never)]
fn orchestrate(world: &mut World, t: UnixSecs) -> usize {
    let cache = &world.orch;
    // A guard's verdict can change by time alone (a cooldown ends): ask again at the
    // first tick at or after the first change since the last time it was asked.
    let expiry = world.orchestrator.next_guard_change(cache.asked_at);
    let must = cache.every_tick
        || cache.dirty
        || !cache.asked_once
        || cache.asked_findings != cache.findings_version
        || cache.asked_graph != cache.graph_version
        || expiry.is_some_and(|e| e <= t)
        || cache.cause_expiry.is_some_and(|e| e <= t);
    if !must {
        return 0;
    }
    let mut findings: Vec<Finding> = world
        .rules
        .finding
        .iter()
        .zip(&world.rules.firing)
        .filter(|(_, f)| **f)
        .filter_map(|(finding, _)| finding.clone())
        .collect();
    // Root cause before symptoms: a violation on a twin whose dependency is down or
    // faulted (or was, within the grace time) is that dependency's symptom.
    let causes = world.causes(t);
    crate::remediation::plan::attribute(&mut findings, &world.graph, &causes);
    let (_, accepted) = consult(world, |o, w, apply| o.tick(t, &findings, &w.graph, &w.acting, apply));
    let cache = &mut world.orch;
    cache.asked_once = true;
    cache.asked_at = t;
    cache.asked_findings = cache.findings_version;
    cache.asked_graph = cache.graph_version;
    // Executing changes the guard state (the next tick's decisions may differ); a
    // notification does not.
    cache.dirty = accepted.iter().any(|c| !matches!(c.kind, ActionKind::Notify { .. }));
    let mut started = 0;
    for c in accepted {
        if let Some(i) = world.twin_index(&c.target) {
            let before = world.acct.actions.len();
            start_action(world, t, i, &c.kind, &c.id, &c.finding.reason(), "auto");
            started += world.acct.actions.len() - before;
        }
    }
    started
}

#[inline(never)]
fn statuses(world: &mut World, report: &mut StepReport) {
    // Statuses follow reachability and the groups in violation: unchanged when neither is.
    if world.shortcuts && !world.status_dirty {
        report.down = world.down;
        return;
    }
    world.status_dirty = false;
    let count = world.twins.ids.len();
    world.twins.degraded.fill(false);
    for (g, (_, twin)) in world.rules.groups.iter().enumerate() {
        if world.rules.group_violating[g] {
            world.twins.degraded[*twin as usize] = true;
        }
    }
    for i in 0..count {
        let status = if !world.twins.reachable[i] {
            report.down += 1;
            Status::Down
        } else if world.twins.degraded[i] {
            Status::Degraded
        } else {
            Status::Healthy
        };
        if status != world.twins.status[i] {
            world.twins.status[i] = status;
            let id = world.twins.ids[i].clone();
            if let Some(tw) = world.graph.twin_mut(&id) {
                tw.status = status;
                tw.status_history.push((world.now, status));
            }
        }
    }
    world.down = report.down;
}
