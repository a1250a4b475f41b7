//! The simulated world: everything the engine's step reads and writes, laid out as
//! structures of arrays indexed by twin, series and rule instance. A `World` is built
//! from a [`Scenario`] and a [`WorldConfig`]; it owns its copy of the twin graph (whose
//! twins carry the current configuration and capacity, as actions change them), the
//! policies, the orchestrator, the seeded random streams, active faults and pending
//! actions. Cloning a world is a fork: both copies continue identically until their
//! inputs differ (what-if and A/B rely on this for common random numbers).
//!
//! Indices: twins are numbered in id order, series in (twin, metric) order, rule
//! instances in (policy, twin, rule) order. Every loop over them runs in index order,
//! so nothing depends on hash order or thread timing.

use std::collections::{BTreeMap, BTreeSet};
use std::f64::consts::TAU;

use rand_chacha::ChaCha8Rng;

use super::calm::Calm;
use super::fault::{Fault, RandomFaults};
use super::input::Command;
use super::rng;
use crate::model::{
    ActionKind, EdgeKind, Incident, IncidentEffect, MetricName, SeriesKey, Status, TwinGraph, TwinId, TwinKind,
    UnixSecs,
};
use crate::policy::eval::RuleState;
use crate::policy::{Aggregation, MetricRule, MissingData, Operator, Policy};
use crate::remediation::orchestrate::{Mode, Orchestrator, OrchestratorConfig};
use crate::remediation::plan::Finding;
use crate::scenario::Scenario;

/// "No index".
pub(crate) const NONE: u32 = u32::MAX;

/// How long after a twin comes back up (or a fault on it ends) violations of what
/// depends on it are still its symptoms: a rule's window (15 minutes of p95, say) and
/// `for` still hold the outage for a while after it ends.
pub const SYMPTOM_GRACE_SECS: i64 = 1800;

/// The metric every twin has in the simulation: 1 while it serves (running and
/// reachable), 0 while it is down or cut off. Named after Prometheus' `up`.
pub const UP_METRIC: &str = "up";

/// Ticks of noise drawn ahead per series (one block): each of a twin's series takes
/// `BLOCK_TICKS / 2` words of the twin's stream per block, in series order.
pub(crate) const BLOCK_TICKS: usize = 32;

/// Errors building or driving a world.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SimError {
    /// The scenario's resolution is not a positive number of seconds.
    #[error("the scenario's resolution must be a positive number of seconds, not {0}")]
    Resolution(i64),
    /// The scenario has no workload models to drive the simulation with.
    #[error("the scenario has no workload models: the simulation needs them to drive its metrics")]
    NoWorkloads,
    /// A twin named in an input does not exist.
    #[error("unknown twin {0:?}")]
    UnknownTwin(String),
    /// An input is not valid (the message says why).
    #[error("{0}")]
    Invalid(String),
    /// The caller asked to stop.
    #[error("the simulation was cancelled")]
    Cancelled,
}

/// What a series measures, as far as the engine's model is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Role {
    Cpu,
    Memory,
    Disk,
    Latency,
    Errors,
    Requests,
    Network,
    QueueDepth,
    Other,
}

/// Number of roles with a per-twin slot (all but `Other`).
pub(crate) const ROLE_SLOTS: usize = 8;

impl Role {
    pub(crate) fn of(metric: &str) -> Role {
        match metric {
            "cpu_usage" => Role::Cpu,
            "memory_usage" => Role::Memory,
            "disk_usage" => Role::Disk,
            "latency_ms" => Role::Latency,
            "error_rate" => Role::Errors,
            "request_rate" => Role::Requests,
            "network_io" => Role::Network,
            "queue_depth" => Role::QueueDepth,
            _ => Role::Other,
        }
    }

    pub(crate) fn slot(self) -> Option<usize> {
        match self {
            Role::Other => None,
            r => Some(r as usize),
        }
    }
}

/// Capacity of a twin as the engine uses it (defaults as in `ActionKind::apply`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Caps {
    pub cpu: f64,
    pub memory: f64,
    pub disk: f64,
    pub replicas: f64,
}

impl Caps {
    pub(crate) fn of(c: &crate::model::Capacity) -> Self {
        Caps {
            cpu: c.cpu_cores.unwrap_or(2.0).max(1e-6),
            memory: c.memory_gib.unwrap_or(4.0).max(1e-6),
            disk: c.disk_gib.unwrap_or(100.0).max(1e-6),
            replicas: f64::from(c.replicas.unwrap_or(1).max(1)),
        }
    }
}

/// Quotients of a twin's capacity and configuration now and at the start: the same
/// numbers as dividing at every tick, divided once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Ratios {
    /// cpu₀ / cpu.
    pub cpu: f64,
    /// replicas₀ / replicas.
    pub replicas: f64,
    /// CPU factor of the configuration now / at the start.
    pub config: f64,
    /// memory₀ / memory.
    pub memory: f64,
    /// disk₀ / disk.
    pub disk: f64,
}

impl Ratios {
    pub(crate) fn of(caps: &Caps, caps0: &Caps, cfg: &ConfigEffects, cfg0: &ConfigEffects) -> Self {
        Ratios {
            cpu: caps0.cpu / caps.cpu,
            replicas: caps0.replicas / caps.replicas,
            config: cfg.cpu_factor / cfg0.cpu_factor,
            memory: caps0.memory / caps.memory,
            disk: caps0.disk / caps.disk,
        }
    }
}

impl Twins {
    /// Sets twin `i`'s capacity and configuration effects (and their ratios).
    pub(crate) fn set_capacity(&mut self, i: usize, caps: Caps, cfg: ConfigEffects) {
        self.caps[i] = caps;
        self.cfg[i] = cfg;
        self.ratios[i] = Ratios::of(&caps, &self.caps0[i], &cfg, &self.cfg0[i]);
        self.stale[i] = true;
        self.refresh_plain(i);
    }

    /// Recomputes `plain[i]` after its ratios or fault effects changed.
    pub(crate) fn refresh_plain(&mut self, i: usize) {
        let (r, fx) = (&self.ratios[i], &self.fx[i]);
        self.plain[i] = [r.cpu, r.replicas, r.config, r.memory, r.disk] == [1.0; 5]
            && fx.cpu_hog == 0.0
            && fx.memory_leak == 0.0
            && fx.disk_fill == 0.0
            && self.cfg[i] == self.cfg0[i]
            && self.limits[i].connections == self.limits[i].connections0;
        self.loud_dirty = true;
    }
}

pub(crate) use super::config::ConfigEffects;

/// What a twin's connection limit and pools are measured against (see `sim::config`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Limits {
    /// Concurrency at the start: by Little's law (request rate × latency) when the
    /// twin has both series, else `None` (half of a limit or pool is assumed).
    pub concurrency0: Option<f64>,
    /// Connections its callers' pools hold now and at the start (0: no caller declares
    /// a pool; the demand is then its concurrency).
    pub connections: f64,
    pub connections0: f64,
}

/// What the active faults do to one twin this tick (summed over its faults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct FaultEffects {
    pub crashed: bool,
    pub partitioned: bool,
    pub cpu_hog: f64,
    pub memory_leak: f64,
    pub latency_ms: f64,
    pub disk_fill: f64,
    pub traffic: f64,
    /// A dependency outage cuts one of its edges.
    pub cut: bool,
}

impl Default for FaultEffects {
    fn default() -> Self {
        FaultEffects {
            crashed: false,
            partitioned: false,
            cpu_hog: 0.0,
            memory_leak: 0.0,
            latency_ms: 0.0,
            disk_fill: 0.0,
            traffic: 1.0,
            cut: false,
        }
    }
}

/// Per-twin state, one vector per field.
#[derive(Clone, Debug)]
pub(crate) struct Twins {
    pub ids: Vec<TwinId>,
    pub kind: Vec<TwinKind>,
    /// Current placement (first `runs_on` target) and the placement at the start.
    pub host: Vec<u32>,
    pub base_host: Vec<u32>,
    /// Series index per role.
    pub slot: Vec<[u32; ROLE_SLOTS]>,
    pub caps: Vec<Caps>,
    pub caps0: Vec<Caps>,
    pub cfg: Vec<ConfigEffects>,
    pub cfg0: Vec<ConfigEffects>,
    /// The quotients of capacity and configuration the load pass multiplies by,
    /// computed when they change (see [`Twins::set_capacity`]).
    pub ratios: Vec<Ratios>,
    /// Down while `now < restart_until` (a restart in progress, an OOM kill).
    pub restart_until: Vec<UnixSecs>,
    /// The last completed restart (clears leaks and ramps).
    pub reset_at: Vec<UnixSecs>,
    pub model_down: Vec<bool>,
    pub down: Vec<bool>,
    pub reachable: Vec<bool>,
    pub status: Vec<Status>,
    pub fx: Vec<FaultEffects>,
    // Per-tick physics.
    pub traffic: Vec<f64>,
    pub route_scale: Vec<f64>,
    pub slow: Vec<f64>,
    pub shed: Vec<f64>,
    pub delta_cores: Vec<f64>,
    pub xlat: Vec<f64>,
    pub xfail: Vec<f64>,
    pub consumers_up: Vec<f64>,
    /// Connection and pool demand per twin (see `sim::config`).
    pub limits: Vec<Limits>,
    /// When the twin last came back up or a fault on it ended.
    pub recovered_at: Vec<UnixSecs>,
    /// Per caller: how its traffic to databases scales with the misses of the caches
    /// it calls (1 unless a cache's size changed).
    pub backend: Vec<f64>,
    /// Learned couplings (1 = the documented defaults): the share of the CPU that
    /// follows traffic, and the share of the latency that is queueing.
    pub follows_traffic: Vec<f64>,
    pub queueing: Vec<f64>,
    pub degraded: Vec<bool>,
    /// Capacity and configuration as at the start and no fault bending its load: the
    /// load pass can take the drive as it is (see `Twins::refresh_plain`).
    pub plain: Vec<bool>,
    /// Scratch of the failure pass: a dependency has extra latency or failure.
    pub dep_dirty: Vec<bool>,
    /// Listed by the failure pass: twins not serving, or with extra latency or
    /// failure, traffic other than usual or consumers gone (their values are bent).
    pub bent: Vec<u32>,
    /// Capacity or configuration changed since the block was drawn (its drawn values
    /// may not hold).
    pub stale: Vec<bool>,
    /// Something the loud twins depend on changed (see `calm`).
    pub loud_dirty: bool,
}

/// One series driven by a workload model.
#[derive(Clone, Debug)]
pub(crate) struct SeriesTable {
    pub key: Vec<SeriesKey>,
    pub twin: Vec<u32>,
    pub role: Vec<Role>,
    pub base: Vec<f64>,
    pub trend: Vec<f64>,
    pub amp_cos: Vec<f64>,
    pub amp_sin: Vec<f64>,
    pub weekend: Vec<f64>,
    pub memory: Vec<f64>,
    pub innovation: Vec<f64>,
    /// Where the series' noise distribution starts in `rng::noise_tables` (0: normal).
    pub tails: Vec<u32>,
    /// Index of the series' (daily, weekly) profiles in `profiles`, or `NONE`.
    pub profile: Vec<u32>,
    pub profiles: Vec<(Vec<f64>, Vec<f64>)>,
    pub min: Vec<f64>,
    pub max: Vec<f64>,
    pub rounding: Vec<Rounding>,
    /// Twin i's series are `twin_start[i]..twin_start[i + 1]` (series are in twin order).
    pub twin_start: Vec<u32>,
    /// Range of the series' incidents in `incidents` (those not over at the start).
    pub incident_range: Vec<(u32, u32)>,
    pub incidents: Vec<Incident>,
    pub noise: Vec<f64>,
    /// Per twin: the stream of its series' noise (`engine/noise/<twin>`).
    pub noise_rng: Vec<rng::NoiseStream>,
    /// Scratch for a twin's random words while a block is drawn.
    pub words: Vec<u32>,
    /// Drawn ahead (see `draw`): `block[s * BLOCK_TICKS + k]` is expected + noise of series `s` at
    /// block tick `k`, clamped unless the series has incidents. From the `drive` pass
    /// on, a tick's entries hold the workload models' values at the tick (incidents
    /// applied, clamped), from the load pass on the load roles' demand, and from the
    /// values pass the simulated values of the twins it visited (see `World::value_now`).
    pub block: Vec<f64>,
    /// Per twin: whether its series' rows in `block` are this block's.
    pub drawn: Vec<bool>,
    /// The noise states and the streams at the start of the block, and its terms (to
    /// draw a twin again).
    pub noise_start: Vec<f64>,
    pub stream_start: Vec<rng::NoiseStream>,
    pub terms: super::draw::Terms,
    pub block_first_tick: u64,
    pub block_len: usize,
    /// This tick's place in the block.
    pub cur: usize,
    /// Series with incidents (the others' values are final when drawn).
    pub with_incidents: Vec<u32>,
}

impl SeriesTable {
    /// Index of series `j`'s entry for this tick in `block`.
    #[inline(always)]
    pub(crate) fn at(&self, j: usize) -> usize {
        j * BLOCK_TICKS + self.cur
    }

    /// Series `j`'s value as an undisturbed twin has it, from its drive `x`: memory
    /// capped by the eviction policy (`memory_cap`, the load pass), clamped and rounded
    /// (the values pass).
    #[inline]
    pub(crate) fn undisturbed(&self, j: usize, x: f64, memory_cap: f64) -> f64 {
        let x = if self.role[j] == Role::Memory { x.min(memory_cap) } else { x };
        self.rounding[j].apply(clamp_unchecked(x, self.min[j], self.max[j]))
    }

    /// Series `j`'s value now (0 before the first tick): as the values pass computed
    /// it if it visited the twin at this tick (`values_seen` of the twin is `tick`),
    /// else as drawn.
    #[inline]
    pub(crate) fn value(&self, twins: &Twins, values_seen: &[u64], tick: u64, j: usize) -> f64 {
        if self.block_len == 0 {
            return 0.0;
        }
        let i = self.twin[j] as usize;
        if values_seen[i] == tick {
            return self.block[self.at(j)];
        }
        let x = if self.drawn[i] { self.block[self.at(j)] } else { super::draw::drive_at(self, j, self.cur) };
        self.undisturbed(j, x, twins.cfg[i].memory_cap)
    }
}

/// `x.clamp(lo, hi)` without its check of the bounds (which would stop a loop from
/// vectorizing); the same result when `lo ≤ hi`, as a model's range is.
#[inline(always)]
pub(crate) fn clamp_unchecked(x: f64, lo: f64, hi: f64) -> f64 {
    let x = if x < lo { lo } else { x };
    if x > hi { hi } else { x }
}

/// Dependency edges as compressed rows, for the traffic and failure passes.
#[derive(Clone, Debug)]
pub(crate) struct Topology {
    /// Incoming traffic edges (`routes_to`, `depends_on`) per twin: rows into `in_*`.
    pub in_start: Vec<u32>,
    pub in_from: Vec<u32>,
    pub in_share: Vec<f64>,
    pub in_routes: Vec<bool>,
    /// Outgoing traffic edges per twin: rows into `out_*`.
    pub out_start: Vec<u32>,
    pub out_to: Vec<u32>,
    pub out_share: Vec<f64>,
    pub out_routes: Vec<bool>,
    /// Cut by a dependency outage this tick.
    pub out_cut: Vec<bool>,
    /// Callers before callees (a cycle is broken at its smallest index).
    pub order: Vec<u32>,
    /// Workloads before the hosts they run on.
    pub placement: Vec<u32>,
    /// Consumers of a queue: its callers without a `request_rate` series.
    pub consumer_start: Vec<u32>,
    pub consumers: Vec<u32>,
    /// The twin depends on one that `order` does not put after it (a cycle): the
    /// failure pass reads that one's previous value and cannot take its shortcut.
    pub back_edge: Vec<bool>,
    /// Some twin has a back edge.
    pub cyclic: bool,
}

/// One (policy, twin, rule) the world evaluates every tick.
#[derive(Clone, Debug)]
pub(crate) struct RuleInstance {
    pub twin: u32,
    /// Series read by the rule, or `NONE` for the `up` metric.
    pub series: u32,
    pub policy: u32,
    pub rule: u32,
    /// Index of the (policy, twin) group.
    pub group: u32,
    /// Whether the orchestrator acts on the policy (else it is only measured).
    pub acting: bool,
    /// A plain threshold (no window, no `for`, no data is no violation): it fires
    /// exactly while `operator.holds(value, threshold)`, and its `RuleState` is not used.
    pub plain: Option<(Operator, f64)>,
}

/// What the rules pass reads of a rule instance at every tick, packed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RuleTest {
    pub twin: u32,
    pub series: u32,
    pub group: u32,
    /// A plain ordered threshold fires while `sign × value > bound` (`≥` unless
    /// `strict`): `value < t` is `−value > −t`, exactly. `sign` 0: any other rule, fed
    /// to its `RuleState`.
    pub sign: f64,
    pub bound: f64,
    pub strict: bool,
}

impl RuleTest {
    fn of(inst: &RuleInstance) -> Self {
        let (sign, bound, strict) = match inst.plain {
            Some((Operator::Gt, t)) => (1.0, t, true),
            Some((Operator::Ge, t)) => (1.0, t, false),
            Some((Operator::Lt, t)) => (-1.0, -t, true),
            Some((Operator::Le, t)) => (-1.0, -t, false),
            _ => (0.0, 0.0, false),
        };
        RuleTest { twin: inst.twin, series: inst.series, group: inst.group, sign, bound, strict }
    }
}

/// Rule instances and what they concluded.
#[derive(Clone, Debug)]
pub(crate) struct Rules {
    pub inst: Vec<RuleInstance>,
    pub test: Vec<RuleTest>,
    pub state: Vec<RuleState>,
    pub firing: Vec<bool>,
    /// The finding of the current firing episode (made when it starts).
    pub finding: Vec<Option<Finding>>,
    /// (policy, twin) groups.
    pub groups: Vec<(u32, u32)>,
    pub group_violating: Vec<bool>,
    pub group_firing_now: Vec<bool>,
    /// The groups with `group_firing_now` set at this tick, and those in violation.
    pub firing_groups: Vec<u32>,
    pub violating_groups: Vec<u32>,
}

impl Rules {
    /// Notes that a rule of group `g` fires at this tick.
    #[inline]
    pub(crate) fn mark_firing(&mut self, g: u32) {
        if !self.group_firing_now[g as usize] {
            self.group_firing_now[g as usize] = true;
            self.firing_groups.push(g);
        }
    }
}

/// An action waiting for its duration before it takes effect.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Pending {
    pub due: UnixSecs,
    pub seq: u64,
    pub twin: u32,
    pub kind: ActionKind,
    pub id: String,
}

/// A command scheduled at a time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Timed {
    pub at: UnixSecs,
    pub seq: u64,
    pub command: Command,
}

/// An active fault.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ActiveFault {
    pub fault: Fault,
    pub twin: u32,
    /// For a dependency outage: the twin it cuts off.
    pub other: u32,
    /// A crash cleared by a restart.
    pub cleared: bool,
}

/// One action the world carried out.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRecord {
    /// When it was started.
    pub at: UnixSecs,
    /// When its effect arrives (start + duration).
    pub effective_at: UnixSecs,
    /// The twin.
    pub twin: TwinId,
    /// What was done.
    pub kind: ActionKind,
    /// Proposal id (orchestrated) or `manual`.
    pub id: String,
    /// Why.
    pub reason: String,
    /// Who decided: `auto`, `approved by …`, `manual`.
    pub decided_by: String,
    /// Change of monthly cost (measured on the twin when the action started).
    pub monthly_cost: f64,
}

/// Something that happened in the world, for timelines.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// When.
    pub at: UnixSecs,
    /// Which twin.
    pub twin: TwinId,
    /// What happened.
    pub what: EventKind,
}

/// Kinds of [`Event`].
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// The twin stopped serving (the reason says why).
    Down(String),
    /// The twin serves again.
    Up,
    /// A fault started.
    FaultStarted(String),
    /// A fault ended (rollback or its duration).
    FaultEnded(String),
    /// Memory reached 100%: the twin was killed and restarts.
    OutOfMemory,
    /// An action's effect arrived.
    ActionTookEffect(String),
}

/// Running totals since the last [`World::reset_accounting`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Accounting {
    pub since: UnixSecs,
    pub ticks: u64,
    pub twin_ticks: u64,
    pub group_ticks: Vec<u64>,
    pub group_episodes: Vec<u32>,
    pub first_firing: Option<UnixSecs>,
    pub actions: Vec<ActionRecord>,
    pub events: Vec<Event>,
    pub notified: BTreeSet<String>,
}

/// When the orchestrator must be asked again (see the engine's docs: skipping a tick
/// at which nothing it depends on changed leaves its decisions and log unchanged).
#[derive(Clone, Debug, Default)]
pub(crate) struct OrchestrationCache {
    pub findings_version: u64,
    pub graph_version: u64,
    pub asked_findings: u64,
    pub asked_graph: u64,
    pub dirty: bool,
    pub every_tick: bool,
    pub asked_once: bool,
    /// The tick at which the orchestrator was last asked.
    pub asked_at: UnixSecs,
    /// When the grace time of the latest recovery ends (a symptom then stops being
    /// one): the orchestrator is asked again at that tick.
    pub cause_expiry: Option<UnixSecs>,
}

/// Settings of a world.
#[derive(Clone, Debug)]
pub struct WorldConfig {
    /// Seed of every random stream of the run (replication r of an A/B test uses
    /// `seed + r`).
    pub seed: u64,
    /// Policies the orchestrator acts on.
    pub acting: Vec<Policy>,
    /// Policies only measured (violation minutes, hypotheses). A name already in
    /// `acting` is skipped.
    pub watching: Vec<Policy>,
    /// The orchestration loop's mode, guards and weights.
    pub orchestrator: OrchestratorConfig,
    /// Warm rule windows up from the scenario's history, when it has one. Off by
    /// default: a run then depends only on the scenario's definition, the seed and the
    /// inputs, so the command line (which does not generate history to run forward)
    /// and the workbench (which has it) give the same results.
    pub warm_up_from_history: bool,
}

impl WorldConfig {
    /// The scenario's seed, its policies acted on in automatic mode with default guards.
    pub fn for_scenario(scenario: &Scenario) -> Self {
        WorldConfig {
            seed: scenario.seed,
            acting: scenario.policies.clone(),
            watching: Vec::new(),
            orchestrator: OrchestratorConfig { mode: Mode::Automatic, ..OrchestratorConfig::default() },
            warm_up_from_history: false,
        }
    }
}

/// The simulated estate and everything that evolves with it.
#[derive(Clone, Debug)]
pub struct World {
    pub(crate) graph: TwinGraph,
    pub(crate) policies: Vec<Policy>,
    pub(crate) acting: Vec<Policy>,
    pub(crate) orchestrator: Orchestrator,
    pub(crate) seed: u64,
    pub(crate) resolution: i64,
    pub(crate) origin: UnixSecs,
    pub(crate) start: UnixSecs,
    pub(crate) now: UnixSecs,
    pub(crate) tick: u64,
    pub(crate) twins: Twins,
    pub(crate) series: SeriesTable,
    pub(crate) topo: Topology,
    pub(crate) rules: Rules,
    pub(crate) calm: Calm,
    pub(crate) faults: Vec<ActiveFault>,
    pub(crate) scheduled: Vec<Timed>,
    pub(crate) random_faults: Vec<(RandomFaults, ChaCha8Rng)>,
    pub(crate) pending: Vec<Pending>,
    pub(crate) seq: u64,
    pub(crate) acct: Accounting,
    pub(crate) orch: OrchestrationCache,
    pub(crate) fx_touched: Vec<u32>,
    pub(crate) cut_touched: Vec<u32>,
    /// Reachability, a cut or a traffic fault may have changed since the traffic pass
    /// last ran (its result depends on nothing else).
    pub(crate) traffic_dirty: bool,
    /// Whether the passes take their shortcuts for undisturbed twins (always, but for
    /// the test that checks they change nothing).
    pub(crate) shortcuts: bool,
    /// Reachability or a group's violation changed since statuses were last computed.
    pub(crate) status_dirty: bool,
    /// Twins not serving, as of the last statuses computed.
    pub(crate) down: usize,
    /// An outage incident of a workload model holds at this tick.
    pub(crate) any_model_down: bool,
    /// A crash or partition fault is active.
    pub(crate) any_cut_off: bool,
    /// No twin restarts at or after this time.
    pub(crate) restarts_until: UnixSecs,
}

/// How a series' values are rounded: to its model's decimals, half away from zero,
/// exactly as `WorkloadModel::quantize` (powers of ten up to 10²² are exact either way).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rounding {
    unit: f64,
    /// Decimals ≥ 0: scale up, round, scale down; otherwise divide by the unit first.
    fraction: bool,
}

impl Rounding {
    pub(crate) fn new(decimals: i8) -> Self {
        let mut unit = 1.0;
        for _ in 0..decimals.unsigned_abs() {
            unit *= 10.0;
        }
        Rounding { unit, fraction: decimals >= 0 }
    }

    /// The rounded value.
    #[inline]
    pub(crate) fn apply(self, value: f64) -> f64 {
        if self.fraction {
            round_half_away(value * self.unit) / self.unit
        } else {
            round_half_away(value / self.unit) * self.unit
        }
    }
}

/// `x.round()` without a branch on the fraction (which is random, so a branch on it
/// is mispredicted half the time) and without a library call.
#[inline]
fn round_half_away(x: f64) -> f64 {
    if x.abs() < 4.0e15 {
        let t = x as i64 as f64;
        let frac = x - t;
        t + f64::from(u8::from(frac >= 0.5)) - f64::from(u8::from(frac <= -0.5))
    } else {
        x
    }
}

/// Rounds like `WorkloadModel::quantize` (half away from zero).
#[cfg(test)]
pub(crate) fn quantize(value: f64, decimals: i8) -> f64 {
    Rounding::new(decimals).apply(value)
}

impl World {
    /// Schedules a command at a time (it runs at the first tick at or after `at`).
    pub fn schedule(&mut self, at: UnixSecs, command: Command) {
        self.seq += 1;
        let timed = Timed { at, seq: self.seq, command };
        let pos = self.scheduled.partition_point(|x| (x.at, x.seq) <= (timed.at, timed.seq));
        self.scheduled.insert(pos, timed);
    }

    /// Schedules a fault at its start time.
    pub fn schedule_fault(&mut self, fault: Fault) {
        let at = fault.start;
        self.schedule(at, Command::StartFault(fault));
    }
}

impl World {
    /// Builds a world that continues `scenario` from the end of its history: the first
    /// step computes the state at `scenario.end`.
    pub fn new(scenario: &Scenario, config: WorldConfig) -> Result<World, SimError> {
        let res = scenario.resolution_secs;
        if res <= 0 {
            return Err(SimError::Resolution(res));
        }
        if scenario.workloads.is_empty() {
            return Err(SimError::NoWorkloads);
        }
        let graph = scenario.graph.clone();
        let ids: Vec<TwinId> = graph.ids().cloned().collect();
        let index: BTreeMap<&TwinId, u32> = ids.iter().enumerate().map(|(i, id)| (id, i as u32)).collect();
        let n = ids.len();
        let start = scenario.end;
        let now = start - res;

        // Twins.
        let mut kind = Vec::with_capacity(n);
        let mut caps = Vec::with_capacity(n);
        let mut cfg = Vec::with_capacity(n);
        let mut host = vec![NONE; n];
        for (i, twin) in graph.twins().enumerate() {
            kind.push(twin.kind);
            let c = Caps::of(&twin.capacity);
            cfg.push(ConfigEffects::of(&twin.config, &c));
            caps.push(c);
            if let Some((h, _)) = graph.dependencies(&twin.id).into_iter().find(|(_, d)| d.kind == EdgeKind::RunsOn) {
                host[i] = index.get(&h.id).copied().unwrap_or(NONE);
            }
        }

        // Series, in (twin, metric) order.
        let mut series = SeriesTable {
            key: Vec::new(),
            twin: Vec::new(),
            role: Vec::new(),
            base: Vec::new(),
            trend: Vec::new(),
            amp_cos: Vec::new(),
            amp_sin: Vec::new(),
            weekend: Vec::new(),
            memory: Vec::new(),
            innovation: Vec::new(),
            tails: Vec::new(),
            profile: Vec::new(),
            profiles: Vec::new(),
            min: Vec::new(),
            max: Vec::new(),
            rounding: Vec::new(),
            twin_start: Vec::new(),
            incident_range: Vec::new(),
            incidents: Vec::new(),
            noise: Vec::new(),
            noise_rng: Vec::new(),
            words: Vec::new(),
            block: Vec::new(),
            drawn: Vec::new(),
            noise_start: Vec::new(),
            stream_start: Vec::new(),
            terms: Default::default(),
            block_first_tick: 0,
            block_len: 0,
            cur: 0,
            with_incidents: Vec::new(),
        };
        let mut slot = vec![[NONE; ROLE_SLOTS]; n];
        let (mut follows_traffic, mut queueing) = (vec![1.0; n], vec![1.0; n]);
        for (key, model) in &scenario.workloads {
            let Some(&t) = index.get(&key.twin) else {
                continue;
            };
            let s = series.key.len() as u32;
            let role = Role::of(key.metric.as_str());
            if let Some(k) = role.slot() {
                slot[t as usize][k] = s;
            }
            series.key.push(key.clone());
            series.twin.push(t);
            series.role.push(role);
            // expected(origin, t) = (base + trend·days + amp·cos(τ(hour − peak)/24)) × weekend,
            // with cos(a − p) = cos a cos p + sin a sin p so the angle is computed once a tick.
            let base_at_origin = model.base;
            let peak = TAU * model.peak_hour / 24.0;
            series.base.push(base_at_origin);
            series.trend.push(model.trend_per_day);
            series.amp_cos.push(model.daily_amplitude * libm::cos(peak));
            series.amp_sin.push(model.daily_amplitude * libm::sin(peak));
            series.weekend.push(model.weekend_factor);
            let memory = model.noise_memory.clamp(0.0, 0.999);
            series.memory.push(memory);
            series.innovation.push(model.noise * (1.0 - memory * memory).sqrt());
            series.tails.push(rng::tails_offset(model.tails));
            if model.has_profiles() {
                series.profile.push(series.profiles.len() as u32);
                series.profiles.push((model.daily_profile.clone(), model.weekly_profile.clone()));
            } else {
                series.profile.push(NONE);
            }
            match role {
                Role::Cpu => follows_traffic[t as usize] = model.follows_traffic,
                Role::Latency => queueing[t as usize] = model.queueing_share,
                _ => {}
            }
            series.min.push(model.min);
            series.max.push(model.max);
            series.rounding.push(Rounding::new(model.decimals));
            let first = series.incidents.len() as u32;
            series.incidents.extend(model.incidents.iter().filter(|i| i.end() > start).copied());
            series.incident_range.push((first, series.incidents.len() as u32));
            // The scale of the stationary distribution; the draw is made below.
            series.noise.push(model.noise);
        }
        let s_count = series.key.len();
        // Series are in twin order: twin i's are `twin_start[i]..twin_start[i + 1]`.
        series.twin_start = vec![0; n + 1];
        for &t in &series.twin {
            series.twin_start[t as usize + 1] += 1;
        }
        for i in 0..n {
            series.twin_start[i + 1] += series.twin_start[i];
        }
        // The AR(1) noise starts in its stationary distribution, drawn from the first
        // words of the twin's stream.
        for (i, id) in ids.iter().enumerate() {
            let (a, b) = (series.twin_start[i] as usize, series.twin_start[i + 1] as usize);
            let mut stream = rng::NoiseStream::new(config.seed, &format!("engine/noise/{id}"));
            series.words.resize(b - a, 0);
            stream.fill(&mut series.words);
            for (j, w) in (a..b).zip(&series.words) {
                series.noise[j] *= f64::from(rng::noise_tables()[(series.tails[j] | (w & 0xffff)) as usize]);
            }
            series.noise_rng.push(stream);
        }
        series.with_incidents = (0..s_count as u32)
            .filter(|j| series.incident_range[*j as usize].0 < series.incident_range[*j as usize].1)
            .collect();

        let topo = build_topology(&graph, &index, &slot, &host, n);
        // What connection limits and pools are measured against (see `sim::config`):
        // concurrency by Little's law from the models at the start, and the
        // connections callers' pools hold.
        let expected = |id: &TwinId, metric: &str| {
            scenario.workloads.get(&SeriesKey::new(id.clone(), metric)).map(|m| m.expected(scenario.start, start))
        };
        let limits: Vec<Limits> = ids
            .iter()
            .map(|id| {
                let concurrency0 = match (expected(id, "request_rate"), expected(id, "latency_ms")) {
                    (Some(rate), Some(latency)) if rate > 0.0 && latency > 0.0 => Some(rate * latency / 1000.0),
                    _ => None,
                };
                let connections = held_connections(&graph, id);
                Limits { concurrency0, connections, connections0: connections }
            })
            .collect();
        let twins = Twins {
            ids: ids.clone(),
            kind,
            base_host: host.clone(),
            host,
            slot,
            ratios: caps.iter().zip(&cfg).map(|(c, e)| Ratios::of(c, c, e, e)).collect(),
            caps0: caps.clone(),
            caps,
            cfg0: cfg.clone(),
            cfg,
            restart_until: vec![UnixSecs::MIN; n],
            reset_at: vec![UnixSecs::MIN; n],
            model_down: vec![false; n],
            down: vec![false; n],
            reachable: vec![true; n],
            status: vec![Status::Healthy; n],
            fx: vec![FaultEffects::default(); n],
            traffic: vec![1.0; n],
            route_scale: vec![1.0; n],
            slow: vec![1.0; n],
            shed: vec![0.0; n],
            delta_cores: vec![0.0; n],
            xlat: vec![0.0; n],
            xfail: vec![0.0; n],
            consumers_up: vec![1.0; n],
            follows_traffic,
            queueing,
            limits,
            recovered_at: vec![UnixSecs::MIN; n],
            backend: vec![1.0; n],
            degraded: vec![false; n],
            plain: vec![true; n],
            dep_dirty: vec![false; n],
            bent: Vec::new(),
            stale: vec![false; n],
            loud_dirty: true,
        };
        let mut twins = twins;
        for i in 0..n {
            twins.refresh_plain(i);
        }

        // Policies: the acting ones first, then watched ones with new names.
        let mut policies = config.acting.clone();
        for p in &config.watching {
            if !policies.iter().any(|q| q.name == p.name) {
                policies.push(p.clone());
            }
        }
        let acting_count = config.acting.len();
        let rules = build_rules(&graph, &policies, acting_count, &index, &series);
        let groups = rules.groups.len();
        let calm = Calm::new(&twins, &series, &topo, &rules.test);

        let warm_up = config.warm_up_from_history;
        let mut world = World {
            graph,
            policies,
            acting: config.acting,
            orchestrator: Orchestrator::new(config.orchestrator),
            seed: config.seed,
            resolution: res,
            origin: scenario.start,
            start,
            now,
            tick: 0,
            twins,
            series,
            topo,
            rules,
            calm,
            faults: Vec::new(),
            scheduled: Vec::new(),
            random_faults: Vec::new(),
            pending: Vec::new(),
            seq: 0,
            acct: Accounting {
                since: start,
                group_ticks: vec![0; groups],
                group_episodes: vec![0; groups],
                ..Accounting::default()
            },
            orch: OrchestrationCache { dirty: true, ..OrchestrationCache::default() },
            fx_touched: Vec::new(),
            cut_touched: Vec::new(),
            traffic_dirty: true,
            shortcuts: true,
            status_dirty: true,
            down: 0,
            any_model_down: false,
            any_cut_off: false,
            restarts_until: UnixSecs::MIN,
        };
        if warm_up && scenario.has_history() {
            world.warm_up(scenario);
        }
        Ok(world)
    }

    /// Feeds the tail of the scenario's history into every rule's window.
    fn warm_up(&mut self, scenario: &Scenario) {
        for (i, inst) in self.rules.inst.iter().enumerate() {
            if inst.series == NONE {
                continue;
            }
            let rule = &self.policies[inst.policy as usize].rules[inst.rule as usize];
            let span = rule.window_secs.max(0) + rule.for_secs.max(0);
            if span == 0 {
                continue;
            }
            let key = &self.series.key[inst.series as usize];
            let Some(data) = scenario.telemetry.series(key).and_then(|s| s.read(self.start - span, self.start).ok())
            else {
                continue;
            };
            let state = &mut self.rules.state[i];
            for (t, v) in data.ts.iter().zip(&data.values) {
                state.update(rule, *t, Some(*v));
            }
        }
    }

    /// Time of the current state.
    pub fn now(&self) -> UnixSecs {
        self.now
    }

    /// Time of the first simulated tick (the scenario's end).
    pub fn start(&self) -> UnixSecs {
        self.start
    }

    /// Seconds per tick.
    pub fn resolution_secs(&self) -> i64 {
        self.resolution
    }

    /// The seed of the world's random streams.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Ticks stepped so far.
    pub fn ticks(&self) -> u64 {
        self.tick
    }

    /// Number of twins.
    pub fn twin_count(&self) -> usize {
        self.twins.ids.len()
    }

    /// The twins with their current configuration and capacity.
    pub fn graph(&self) -> &TwinGraph {
        &self.graph
    }

    /// Every measured policy (acting first).
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// The policies the orchestrator acts on.
    pub fn acting_policies(&self) -> &[Policy] {
        &self.acting
    }

    /// The orchestration loop (approval queue, audit log).
    pub fn orchestrator(&self) -> &Orchestrator {
        &self.orchestrator
    }

    /// Takes the audit entries recorded so far (to append them to a file).
    pub fn drain_audit(&mut self) -> Vec<crate::remediation::orchestrate::AuditEntry> {
        self.orchestrator.drain_audit()
    }

    /// Always ask the orchestrator, also at ticks where nothing it depends on changed
    /// (for tests that check the skipping changes nothing).
    pub fn set_orchestrate_every_tick(&mut self, every_tick: bool) {
        self.orch.every_tick = every_tick;
    }

    /// Computes every twin in full at every tick, without the shortcuts the passes take
    /// for undisturbed twins (for tests that check the shortcuts change nothing).
    pub fn set_shortcuts(&mut self, shortcuts: bool) {
        self.shortcuts = shortcuts;
        self.twins.loud_dirty = true;
    }

    pub(crate) fn twin_index(&self, id: &TwinId) -> Option<u32> {
        self.twins.ids.binary_search(id).ok().map(|i| i as u32)
    }

    /// The simulated value of a metric of a twin now (`None`: no such series, or the
    /// twin did not report it because it is down). `up` is available for every twin.
    pub fn value(&self, twin: &TwinId, metric: &str) -> Option<f64> {
        let t = self.twin_index(twin)?;
        if metric == UP_METRIC {
            return Some(if self.twins.reachable[t as usize] { 1.0 } else { 0.0 });
        }
        let s = self.series_index(twin, metric)?;
        self.reported(s).then(|| self.value_now(s))
    }

    /// Index of a series for fast repeated reads with [`World::series_value`].
    pub fn series_index(&self, twin: &TwinId, metric: &str) -> Option<usize> {
        let key = SeriesKey::new(twin.clone(), metric);
        self.series.key.binary_search(&key).ok()
    }

    /// Whether series `j` reported a value at this tick: its twin served (and a tick
    /// was computed).
    pub(crate) fn reported(&self, j: usize) -> bool {
        self.tick > 0 && self.twins.reachable[self.series.twin[j] as usize]
    }

    /// The value of a series by index (`None`: not reported this tick).
    pub fn series_value(&self, series: usize) -> Option<f64> {
        (series < self.series.key.len() && self.reported(series)).then(|| self.value_now(series))
    }

    /// The value of series `j` now, reported or not (0 before the first tick).
    pub(crate) fn value_now(&self, j: usize) -> f64 {
        self.series.value(&self.twins, &self.calm.values_seen, self.tick, j)
    }

    /// What is wrong with each twin that is down, cut off or faulted now, or that
    /// recovered less than [`SYMPTOM_GRACE_SECS`] ago (its callers' rule windows still
    /// hold the outage): the causes violations are attributed to. Also notes when the
    /// earliest grace time ends (`OrchestrationCache::cause_expiry`).
    pub(crate) fn causes(&mut self, t: UnixSecs) -> BTreeMap<TwinId, String> {
        let tw = &self.twins;
        let mut causes = BTreeMap::new();
        let mut expiry: Option<UnixSecs> = None;
        for (i, id) in tw.ids.iter().enumerate() {
            let faults: Vec<String> = self
                .faults
                .iter()
                .filter(|f| f.twin as usize == i && !f.cleared)
                .map(|f| f.fault.kind.to_string())
                .collect();
            let what = if tw.down[i] {
                "down".to_string()
            } else if !tw.reachable[i] {
                "cut off".to_string()
            } else if !faults.is_empty() {
                format!("fault: {}", faults.join(", "))
            } else if t.saturating_sub(tw.recovered_at[i]) < SYMPTOM_GRACE_SECS {
                let end = tw.recovered_at[i] + SYMPTOM_GRACE_SECS;
                expiry = Some(expiry.map_or(end, |e| e.min(end)));
                let at = tw.recovered_at[i].rem_euclid(86_400);
                format!("recovering (back at {:02}:{:02} UTC)", at / 3600, at % 3600 / 60)
            } else {
                continue;
            };
            causes.insert(id.clone(), what);
        }
        self.orch.cause_expiry = expiry;
        causes
    }

    /// After twin `i`'s configuration or capacity changed: the connections its pools
    /// hold on the servers it calls, and (a cache) how its callers' traffic to their
    /// databases follows its misses.
    pub(crate) fn config_changed(&mut self, i: usize) {
        let (a, b) = (self.topo.out_start[i] as usize, self.topo.out_start[i + 1] as usize);
        for e in a..b {
            let j = self.topo.out_to[e] as usize;
            let held = held_connections(&self.graph, &self.twins.ids[j]);
            if held != self.twins.limits[j].connections {
                self.twins.limits[j].connections = held;
                self.twins.stale[j] = true;
                self.twins.refresh_plain(j);
            }
        }
        if self.twins.kind[i] == TwinKind::Cache {
            let (a, b) = (self.topo.in_start[i] as usize, self.topo.in_start[i + 1] as usize);
            for e in a..b {
                let c = self.topo.in_from[e] as usize;
                let backend = self.backend_of(c);
                if backend != self.twins.backend[c] {
                    self.twins.backend[c] = backend;
                    self.traffic_dirty = true;
                    self.twins.loud_dirty = true;
                }
            }
        }
    }

    /// How caller `c`'s traffic to its databases scales with the misses of the caches
    /// it calls: `Π (1 − s + s·m)/(1 − s + s·m₀)` over them (`s` its share to the cache).
    fn backend_of(&self, c: usize) -> f64 {
        let (a, b) = (self.topo.out_start[c] as usize, self.topo.out_start[c + 1] as usize);
        let mut factor = 1.0;
        for e in a..b {
            let k = self.topo.out_to[e] as usize;
            if self.twins.kind[k] != TwinKind::Cache {
                continue;
            }
            let (now, start) = (&self.twins.cfg[k], &self.twins.cfg0[k]);
            let (m, m0) = (now.miss_ratio(start), 1.0 - start.hit_ratio);
            if m != m0 {
                let s = self.topo.out_share[e].clamp(0.0, 1.0);
                factor *= (1.0 - s + s * m) / (1.0 - s + s * m0);
            }
        }
        factor
    }

    /// Keeps twin `i`'s drive when blocks are drawn, for a caller that reads its values
    /// at every tick (they are the same either way; reading a calm twin's otherwise
    /// draws it again).
    pub(crate) fn watch(&mut self, i: u32) {
        self.calm.watched[i as usize] = true;
        if self.series.block_len > 0 {
            super::draw::ensure_drawn(&mut self.series, i as usize);
        }
    }

    /// Every series' value now (as `value_now`, drawing a twin not drawn once).
    pub(crate) fn values_now(&self) -> Vec<f64> {
        let s = &self.series;
        if s.block_len == 0 {
            return vec![0.0; s.key.len()];
        }
        let mut values = Vec::with_capacity(s.key.len());
        for i in 0..self.twins.ids.len() {
            let (a, b) = (s.twin_start[i] as usize, s.twin_start[i + 1] as usize);
            if s.drawn[i] || self.calm.values_seen[i] == self.tick {
                values.extend((a..b).map(|j| self.value_now(j)));
            } else {
                let drive = super::draw::drive_of(s, i, s.cur);
                let cap = self.twins.cfg[i].memory_cap;
                values.extend((a..b).zip(drive).map(|(j, x)| s.undisturbed(j, x, cap)));
            }
        }
        values
    }

    /// Every series' value now, in [`World::series_keys`] order (`None`: not reported,
    /// its twin is down or cut off). Each twin not kept is drawn once, not per series.
    pub fn reported_values(&self) -> Vec<Option<f64>> {
        self.values_now().into_iter().enumerate().map(|(j, v)| self.reported(j).then_some(v)).collect()
    }

    /// Number of rule instances (policy × selected twin × rule) evaluated per tick.
    pub fn rules_len(&self) -> usize {
        self.rules.inst.len()
    }

    /// Every simulated series, in (twin, metric) order.
    pub fn series_keys(&self) -> &[SeriesKey] {
        &self.series.key
    }

    /// The status of a twin now.
    pub fn status(&self, twin: &TwinId) -> Option<Status> {
        self.twin_index(twin).map(|t| self.twins.status[t as usize])
    }

    /// Whether a twin serves now (running and reachable).
    pub fn is_up(&self, twin: &TwinId) -> Option<bool> {
        self.twin_index(twin).map(|t| self.twins.reachable[t as usize])
    }

    /// The active faults.
    pub fn faults(&self) -> Vec<&Fault> {
        self.faults.iter().map(|f| &f.fault).collect()
    }

    /// Actions started and waiting for their effect, as (due, twin, action).
    pub fn pending_actions(&self) -> Vec<(UnixSecs, &TwinId, &ActionKind)> {
        self.pending.iter().map(|p| (p.due, &self.twins.ids[p.twin as usize], &p.kind)).collect()
    }

    /// Rules firing now, as (policy, twin, rule).
    pub fn firing(&self) -> Vec<(&str, &TwinId, &MetricRule)> {
        self.rules
            .inst
            .iter()
            .zip(&self.rules.firing)
            .filter(|(_, f)| **f)
            .map(|(inst, _)| {
                let p = &self.policies[inst.policy as usize];
                (p.name.as_str(), &self.twins.ids[inst.twin as usize], &p.rules[inst.rule as usize])
            })
            .collect()
    }

    /// Forgets the running totals (violation minutes, actions, events) so the next
    /// report counts from now on. The state itself is untouched.
    pub fn reset_accounting(&mut self) {
        let groups = self.rules.groups.len();
        self.acct = Accounting {
            since: self.now + self.resolution,
            group_ticks: vec![0; groups],
            group_episodes: vec![0; groups],
            ..Accounting::default()
        };
    }
}

/// The connections the pools of `id`'s callers hold to it: each caller's pool size
/// times its replicas (0 when no caller declares a pool).
fn held_connections(graph: &TwinGraph, id: &TwinId) -> f64 {
    graph
        .dependents(id)
        .into_iter()
        .filter(|(_, d)| matches!(d.kind, EdgeKind::DependsOn | EdgeKind::RoutesTo))
        .filter_map(|(c, _)| {
            super::config::pool_size(&c.config).map(|p| p * f64::from(c.capacity.replicas.unwrap_or(1).max(1)))
        })
        .sum()
}

fn build_topology(
    graph: &TwinGraph,
    index: &BTreeMap<&TwinId, u32>,
    slot: &[[u32; ROLE_SLOTS]],
    host: &[u32],
    n: usize,
) -> Topology {
    let mut incoming: Vec<Vec<(u32, f64, bool)>> = vec![Vec::new(); n];
    let mut outgoing: Vec<Vec<(u32, f64, bool)>> = vec![Vec::new(); n];
    for (from, to, dep) in graph.edges() {
        if !matches!(dep.kind, EdgeKind::DependsOn | EdgeKind::RoutesTo) {
            continue;
        }
        let (Some(&a), Some(&b)) = (index.get(from), index.get(to)) else {
            continue;
        };
        let routes = dep.kind == EdgeKind::RoutesTo;
        outgoing[a as usize].push((b, dep.traffic_share, routes));
        incoming[b as usize].push((a, dep.traffic_share, routes));
    }
    let rows = |lists: &[Vec<(u32, f64, bool)>]| {
        let mut start = Vec::with_capacity(n + 1);
        let (mut to, mut share, mut routes) = (Vec::new(), Vec::new(), Vec::new());
        start.push(0u32);
        for list in lists {
            for (t, s, r) in list {
                to.push(*t);
                share.push(*s);
                routes.push(*r);
            }
            start.push(to.len() as u32);
        }
        (start, to, share, routes)
    };
    let (in_start, in_from, in_share, in_routes) = rows(&incoming);
    let (out_start, out_to, out_share, out_routes) = rows(&outgoing);
    let out_cut = vec![false; out_to.len()];

    // Callers before callees: Kahn's algorithm taking the smallest ready index; a
    // cycle is broken at its smallest remaining index.
    let mut indegree: Vec<usize> = incoming.iter().map(Vec::len).collect();
    let mut done = vec![false; n];
    let mut ready: BTreeSet<u32> = (0..n as u32).filter(|i| indegree[*i as usize] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let next = match ready.pop_first() {
            Some(i) => i,
            None => match (0..n as u32).find(|i| !done[*i as usize]) {
                Some(i) => i,
                None => break,
            },
        };
        if done[next as usize] {
            continue;
        }
        done[next as usize] = true;
        order.push(next);
        for (to, _, _) in &outgoing[next as usize] {
            let d = &mut indegree[*to as usize];
            *d = d.saturating_sub(1);
            if *d == 0 && !done[*to as usize] {
                ready.insert(*to);
            }
        }
    }

    let mut position = vec![0usize; n];
    for (k, &i) in order.iter().enumerate() {
        position[i as usize] = k;
    }
    let back_edge: Vec<bool> =
        (0..n).map(|i| outgoing[i].iter().any(|(to, _, _)| position[*to as usize] <= position[i])).collect();

    let placement = placement_order(host, host);

    let mut consumer_start = Vec::with_capacity(n + 1);
    let mut consumers = Vec::new();
    consumer_start.push(0u32);
    for list in &incoming {
        for (from, _, _) in list {
            if slot[*from as usize][Role::Requests as usize] == NONE {
                consumers.push(*from);
            }
        }
        consumer_start.push(consumers.len() as u32);
    }
    Topology {
        in_start,
        in_from,
        in_share,
        in_routes,
        out_start,
        out_to,
        out_share,
        out_routes,
        out_cut,
        order,
        placement,
        consumer_start,
        consumers,
        cyclic: back_edge.iter().any(|b| *b),
        back_edge,
    }
}

/// Twins ordered so that each comes before the hosts it runs (or ran) on: by depth of
/// the `runs_on` chain, deepest first, then by index.
pub(crate) fn placement_order(host: &[u32], base_host: &[u32]) -> Vec<u32> {
    let n = host.len();
    let mut depth = vec![0usize; n];
    for (i, depth_i) in depth.iter_mut().enumerate() {
        let mut d = 0;
        let mut at = i;
        // Follow the chain (bounded: a cycle of runs_on stops after n steps).
        while d < n {
            let next = if host[at] != NONE { host[at] } else { base_host[at] };
            if next == NONE {
                break;
            }
            at = next as usize;
            d += 1;
        }
        *depth_i = d;
    }
    for i in 0..n {
        if base_host[i] != NONE && base_host[i] != host[i] {
            depth[i] = depth[i].max(depth[base_host[i] as usize] + 1);
        }
    }
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by(|a, b| depth[*b as usize].cmp(&depth[*a as usize]).then(a.cmp(b)));
    order
}

fn build_rules(
    graph: &TwinGraph,
    policies: &[Policy],
    acting_count: usize,
    index: &BTreeMap<&TwinId, u32>,
    series: &SeriesTable,
) -> Rules {
    let mut inst = Vec::new();
    let mut groups = Vec::new();
    for (p, policy) in policies.iter().enumerate() {
        for twin in graph.twins() {
            if !policy.selector.matches(twin) {
                continue;
            }
            let Some(&t) = index.get(&twin.id) else {
                continue;
            };
            let mut group = None;
            for (r, rule) in policy.rules.iter().enumerate() {
                let s = if rule.metric.as_str() == UP_METRIC {
                    NONE
                } else {
                    let key = SeriesKey { twin: twin.id.clone(), metric: MetricName::new(rule.metric.as_str()) };
                    match series.key.binary_search(&key) {
                        Ok(s) => s as u32,
                        // The twin has no such metric: the rule does not apply to it.
                        Err(_) => continue,
                    }
                };
                let g = *group.get_or_insert_with(|| {
                    groups.push((p as u32, t));
                    groups.len() as u32 - 1
                });
                let windowless = rule.window_secs <= 0 || rule.aggregation == Aggregation::Last;
                let plain = (windowless && rule.for_secs == 0 && rule.missing == MissingData::Ok)
                    .then_some((rule.operator, rule.threshold));
                inst.push(RuleInstance {
                    twin: t,
                    series: s,
                    policy: p as u32,
                    rule: r as u32,
                    group: g,
                    acting: p < acting_count,
                    plain,
                });
            }
        }
    }
    let count = inst.len();
    let group_count = groups.len();
    Rules {
        test: inst.iter().map(RuleTest::of).collect(),
        inst,
        state: vec![RuleState::new(); count],
        firing: vec![false; count],
        finding: vec![None; count],
        groups,
        group_violating: vec![false; group_count],
        group_firing_now: vec![false; group_count],
        firing_groups: Vec::new(),
        violating_groups: Vec::new(),
    }
}

/// Applies a workload model's incidents to a raw value at `t`, as
/// `WorkloadModel::finish` does before clamping, except that a ramp (a leak) starts
/// again from zero after a restart at `reset_at`. Returns the value and whether an
/// outage incident is active.
#[inline]
pub(crate) fn apply_incidents(incidents: &[Incident], t: UnixSecs, raw: f64, reset_at: UnixSecs) -> (f64, bool) {
    let mut value = raw;
    let mut outage = false;
    for incident in incidents {
        if !incident.active_at(t) {
            continue;
        }
        let duration = incident.duration_secs.max(1) as f64;
        let progress = (t - incident.start) as f64 / duration;
        value = match incident.effect {
            IncidentEffect::Spike(add) => value + add * (1.0 - (2.0 * progress - 1.0).abs()),
            IncidentEffect::Shift(add) => value + add,
            IncidentEffect::Ramp(add) => {
                let from = incident.start.max(reset_at);
                value + add * ((t - from).max(0) as f64 / duration)
            }
            IncidentEffect::Scale(factor) => value * factor,
            IncidentEffect::Outage => {
                outage = true;
                value
            }
        };
    }
    (value, outage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_matches_the_workload_model() {
        let m = |d: i8| {
            let mut w = crate::model::WorkloadModel::flat(0.0);
            w.decimals = d;
            w
        };
        for (x, d) in [
            (12.345_678, 2),
            (-0.5, 0),
            (2.5, 0),
            (-2.5, 0),
            (-7.45, 1),
            (1234.0, -2),
            (-1250.0, -2),
            (0.049, 1),
            (99.95, 1),
            (5.0e15, 0),
            (f64::MAX, 3),
        ] {
            assert_eq!(quantize(x, d), m(d).quantize(x), "{x} at {d}");
        }
    }

    #[test]
    fn packed_rule_tests_hold_as_their_operators() {
        let values =
            [f64::NEG_INFINITY, -2.5, -0.0, 0.0, 1e-300, 2.5, 90.0, 90.000_000_000_01, f64::INFINITY, f64::NAN];
        for op in [Operator::Gt, Operator::Ge, Operator::Lt, Operator::Le] {
            for &threshold in &values {
                let inst = RuleInstance {
                    twin: 0,
                    series: 0,
                    policy: 0,
                    rule: 0,
                    group: 0,
                    acting: true,
                    plain: Some((op, threshold)),
                };
                let test = RuleTest::of(&inst);
                for &v in &values {
                    let x = v * test.sign;
                    let packed = if test.strict { x > test.bound } else { x >= test.bound };
                    assert_eq!(packed, op.holds(v, threshold), "{v} {op} {threshold}");
                }
            }
        }
        let eq = RuleInstance {
            plain: Some((Operator::Eq, 1.0)),
            ..RuleInstance { twin: 0, series: 0, policy: 0, rule: 0, group: 0, acting: true, plain: None }
        };
        assert_eq!(RuleTest::of(&eq).sign, 0.0, "other operators go through their RuleState");
    }

    #[test]
    fn placement_puts_workloads_before_hosts() {
        // 0 runs on 1, 1 runs on 2 (a VM on a host), 3 alone.
        let host = vec![1, 2, NONE, NONE];
        let order = placement_order(&host, &host);
        let pos = |i: u32| order.iter().position(|x| *x == i).unwrap();
        assert!(pos(0) < pos(1) && pos(1) < pos(2));
    }
}
