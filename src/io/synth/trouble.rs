//! Trouble in a synthetic estate, so a generated demo has findings, predictions and
//! remediation to show. A share `rate` of the twins are each the origin of one kind of
//! trouble, a quarter of them of each kind: for each kind in turn (those that fit
//! fewer twins first), every twin it fits that has none yet (in file order) is picked
//! with the probability that makes `rate·n/4` picks expected (at most all of them),
//! drawn from the seeded stream `generate/trouble` (its own, so the healthy estate
//! underneath is the same at every rate). The kinds:
//!
//! - **drifted configuration** (every kind): a key moves away from its desired value
//!   at some hour of history (`changes`), measured by the desired-configuration
//!   policies [`add`] puts in the estate, so `check` reports drift with its `since`.
//!   A cache whose eviction was switched off also sees its memory climb from then on.
//!   (The healthy estate already carries a few routine changes — `log_level`,
//!   `max_connections`, `kernel` on 6% of the twins; once the desired configuration is
//!   stated they count as drift too.)
//! - **creeping disk** (databases and hosts): `disk_usage` trends up so steeply that it
//!   crosses the disk policy's limit half a day to six days after the end of history,
//!   a predicted violation; the early ones are already near it.
//! - **noisy neighbour** (a workload sharing its host): a batch job saturates the
//!   workload's CPU for two or three hours every day, the host's CPU goes over its
//!   limit with it and the host's other workloads answer slowly meanwhile: daily
//!   violation spans, and a predicted one for the next night.
//! - **outage** (a twin others call): the twin is down for 20 minutes to 2.5 hours
//!   (status history), and its callers' errors and latency break their limits
//!   meanwhile: violation spans and anomalies.
//!
//! Everything is written as the scenario format's own workload models, changes and
//! incidents: the loader, the engine and the analyses need nothing new.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{CPU_LIMIT, DISK_LIMIT, LATENCY_LIMIT, TroubleRate, r, round};
use crate::io::format::ConfigValueFile;
use crate::io::policy::{ConfigRuleFile, PolicyFile, SelectorFile};
use crate::io::scenario::{ChangeFile, EffectFile, IncidentFile, MetricFile, ScenarioFile, TwinFile};

/// A kind of trouble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trouble {
    Drift,
    CreepingDisk,
    NoisyNeighbour,
    Outage,
}

impl Trouble {
    /// Every kind, in the order they are handed out: the ones fewer twins fit first,
    /// so drift (which fits all) does not take their twins.
    const ALL: [Trouble; 4] = [Trouble::CreepingDisk, Trouble::Outage, Trouble::NoisyNeighbour, Trouble::Drift];
}

/// How many twins are the origin of each kind of trouble.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TroubleCounts {
    /// Twins whose configuration drifted.
    pub drifted: usize,
    /// Databases and hosts whose disk creeps towards its limit.
    pub creeping_disks: usize,
    /// Workloads whose daily batch job saturates their host.
    pub noisy_neighbours: usize,
    /// Twins that were down for a while.
    pub outages: usize,
}

impl TroubleCounts {
    /// All of them.
    pub fn total(&self) -> usize {
        self.drifted + self.creeping_disks + self.noisy_neighbours + self.outages
    }
}

/// Who runs where and who calls whom, from the estate's dependencies (file order).
struct Topology {
    /// Twin index by id.
    index: BTreeMap<String, usize>,
    /// The host each workload runs on.
    host_of: BTreeMap<String, String>,
    /// The workloads on each host.
    residents: BTreeMap<String, Vec<String>>,
    /// The twins that call each twin (`depends_on`, `routes_to`).
    callers: BTreeMap<String, Vec<String>>,
}

impl Topology {
    fn of(file: &ScenarioFile) -> Self {
        let index = file.twins.iter().enumerate().map(|(i, t)| (t.id.clone(), i)).collect();
        let mut host_of = BTreeMap::new();
        let mut residents: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut callers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for d in &file.dependencies {
            match d.kind.as_str() {
                "runs_on" => {
                    host_of.insert(d.from.clone(), d.to.clone());
                    residents.entry(d.to.clone()).or_default().push(d.from.clone());
                }
                "depends_on" | "routes_to" => callers.entry(d.to.clone()).or_default().push(d.from.clone()),
                _ => {}
            }
        }
        Topology { index, host_of, residents, callers }
    }

    /// Whether trouble of `kind` can start at `twin`.
    fn fits(&self, twin: &TwinFile, kind: Trouble) -> bool {
        match kind {
            Trouble::Drift => true,
            Trouble::CreepingDisk => twin.metrics.contains_key("disk_usage"),
            Trouble::NoisyNeighbour => {
                twin.metrics.contains_key("cpu_usage")
                    && self
                        .host_of
                        .get(&twin.id)
                        .and_then(|host| self.residents.get(host))
                        .is_some_and(|on_host| on_host.len() > 1)
            }
            Trouble::Outage => twin.kind != "host" && self.callers.get(&twin.id).is_some_and(|c| !c.is_empty()),
        }
    }

    fn twin_mut<'f>(&self, file: &'f mut ScenarioFile, id: &str) -> Option<&'f mut TwinFile> {
        self.index.get(id).and_then(|&i| file.twins.get_mut(i))
    }
}

/// Puts trouble into the twins of `file` at `rate` and adds the policies stating the
/// desired configuration (drift is measured against them). Deterministic in `seed`.
pub fn add(file: &mut ScenarioFile, rate: TroubleRate, seed: u64) -> TroubleCounts {
    let mut rng = crate::sim::rng::stream(seed, "generate/trouble");
    let topology = Topology::of(file);
    let hours = file.days * 24.0;
    let n = file.twins.len();
    let mut troubled = vec![false; n];
    let mut counts = TroubleCounts::default();
    for kind in Trouble::ALL {
        let fitting: Vec<usize> =
            (0..n).filter(|&i| !troubled[i] && file.twins.get(i).is_some_and(|t| topology.fits(t, kind))).collect();
        // A quarter of the troubled twins for each kind, so a rate means the same mix
        // in any estate (a quarter of the twins can have a creeping disk, all can drift).
        let p = (rate.share() * n as f64 / (Trouble::ALL.len() * fitting.len().max(1)) as f64).min(1.0);
        for i in fitting {
            if !rng.random_bool(p) {
                continue;
            }
            troubled[i] = true;
            let Some(id) = file.twins.get(i).map(|t| t.id.clone()) else {
                continue;
            };
            match kind {
                Trouble::Drift => {
                    if let Some(twin) = file.twins.get_mut(i) {
                        drift(&mut rng, twin, hours);
                    }
                    counts.drifted += 1;
                }
                Trouble::CreepingDisk => {
                    if let Some(disk) = file.twins.get_mut(i).and_then(|t| t.metrics.get_mut("disk_usage")) {
                        creeping_disk(&mut rng, disk, file.days);
                    }
                    counts.creeping_disks += 1;
                }
                Trouble::NoisyNeighbour => {
                    noisy_neighbour(&mut rng, file, &topology, &id);
                    counts.noisy_neighbours += 1;
                }
                Trouble::Outage => {
                    outage(&mut rng, file, &topology, &id, hours);
                    counts.outages += 1;
                }
            }
        }
    }
    file.policies.extend(desired_configuration());
    counts
}

/// A configuration key of `twin` moves away from its desired value at some hour of
/// the later three quarters of history.
fn drift(rng: &mut ChaCha8Rng, twin: &mut TwinFile, hours: f64) {
    let s = |v: &str| ConfigValueFile::Str(v.into());
    let at_hours = round(rng.random_range(0.2..0.95) * hours, 1);
    let (key, value) = match twin.kind.as_str() {
        "host" => ("kernel", s(if rng.random_bool(0.5) { "6.1.0-13" } else { "6.1.0-28" })),
        "database" => ("max_connections", ConfigValueFile::Int(if rng.random_bool(0.5) { 200 } else { 1000 })),
        "cache" => {
            // Without eviction the cache fills up: memory climbs from the change on.
            if let Some(memory) = twin.metrics.get_mut("memory_usage") {
                memory.incidents.push(IncidentFile {
                    at_hours: Some(at_hours),
                    at: None,
                    hours: round((hours - at_hours) * rng.random_range(1.2..2.0), 1).max(1.0),
                    effect: EffectFile::Ramp(r(rng, 25.0, 45.0, 0)),
                });
            }
            ("eviction", s("noeviction"))
        }
        "queue" => ("max_length", ConfigValueFile::Int(1_000_000)),
        "load_balancer" => ("algorithm", s("round_robin")),
        _ if rng.random_bool(0.5) => ("log_level", s("debug")),
        _ => ("threads", ConfigValueFile::Int(16)),
    };
    twin.changes.push(ChangeFile { at_hours: Some(at_hours), at: None, key: key.into(), value: Some(value) });
    twin.changes.sort_by(|a, b| a.at_hours.unwrap_or(0.0).total_cmp(&b.at_hours.unwrap_or(0.0)));
}

/// The disk crosses [`DISK_LIMIT`] half a day to six days after the end of history.
fn creeping_disk(rng: &mut ChaCha8Rng, disk: &mut MetricFile, days: f64) {
    let eta_days = rng.random_range(0.5..6.0);
    let trend = round((DISK_LIMIT - disk.base) / (days + eta_days), 2);
    disk.trend = disk.trend.max(trend);
}

/// A batch job on `id` saturates its CPU daily; its host's CPU goes over the limit and
/// the host's other workloads answer slowly while it runs.
fn noisy_neighbour(rng: &mut ChaCha8Rng, file: &mut ScenarioFile, topology: &Topology, id: &str) {
    let Some(host) = topology.host_of.get(id) else {
        return;
    };
    let from_hour = rng.random_range(0..24);
    let length_hours = rng.random_range(2..4);
    let bump = |m: &mut MetricFile, amount: f64| add_daily_bump(&mut m.daily_profile, from_hour, length_hours, amount);
    // The job's own CPU to 100%, the host's well over its limit.
    if let Some(cpu) = topology.twin_mut(file, id).and_then(|t| t.metrics.get_mut("cpu_usage")) {
        let amount = round(100.0 - cpu.base, 0);
        bump(cpu, amount);
    }
    if let Some(cpu) = topology.twin_mut(file, host).and_then(|t| t.metrics.get_mut("cpu_usage")) {
        let amount = round(CPU_LIMIT + 10.0 - cpu.base, 0);
        bump(cpu, amount);
    }
    // The neighbours wait for CPU: several times their usual latency, past the SLO.
    for neighbour in topology.residents.get(host).into_iter().flatten().filter(|n| *n != id) {
        if let Some(latency) = topology.twin_mut(file, neighbour).and_then(|t| t.metrics.get_mut("latency_ms")) {
            let amount = round((3.0 * latency.base).max(LATENCY_LIMIT + 50.0 - latency.base), 0);
            bump(latency, amount);
        }
    }
}

/// Adds `amount` to a 24-point daily profile for `length_hours` hours from `from_hour`
/// (UTC, wrapping at midnight); the points sit at the middle of their hours, so the
/// bump ramps up and down over the half hours either side.
fn add_daily_bump(profile: &mut Vec<f64>, from_hour: usize, length_hours: usize, amount: f64) {
    if profile.len() != 24 {
        *profile = vec![0.0; 24];
    }
    for k in 0..length_hours {
        if let Some(point) = profile.get_mut((from_hour + k) % 24) {
            *point = round(*point + amount, 1);
        }
    }
}

/// `id` is down for a while (status history from the outage); its callers fail and
/// slow down meanwhile.
fn outage(rng: &mut ChaCha8Rng, file: &mut ScenarioFile, topology: &Topology, id: &str, hours: f64) {
    let at_hours = Some(round(rng.random_range(0.05..0.97) * hours, 1));
    let length = r(rng, 0.3, 2.5, 1);
    let incident = |effect| IncidentFile { at_hours, at: None, hours: length, effect };
    if let Some(cpu) = topology.twin_mut(file, id).and_then(|t| t.metrics.get_mut("cpu_usage")) {
        cpu.incidents.push(incident(EffectFile::Outage));
    }
    for caller in topology.callers.get(id).into_iter().flatten() {
        let errors = EffectFile::Shift(r(rng, 8.0, 30.0, 1));
        let latency = EffectFile::Spike(r(rng, LATENCY_LIMIT + 50.0, 2.5 * LATENCY_LIMIT, 0));
        let Some(twin) = topology.twin_mut(file, caller) else {
            continue;
        };
        for (metric, effect) in [("error_rate", errors), ("latency_ms", latency)] {
            if let Some(m) = twin.metrics.get_mut(metric) {
                m.incidents.push(incident(effect));
            }
        }
    }
}

/// The desired configuration of a generated estate: what every twin starts with.
fn desired_configuration() -> Vec<PolicyFile> {
    let s = |v: &str| ConfigValueFile::Str(v.into());
    let key = |key: &str, operator: &str, expected: ConfigValueFile| ConfigRuleFile {
        key: key.into(),
        operator: operator.into(),
        expected,
    };
    let policy = |name: &str, severity: &str, kind: &str, config: Vec<ConfigRuleFile>| PolicyFile {
        name: name.into(),
        description: String::new(),
        severity: Some(severity.into()),
        selector: Some(SelectorFile { kinds: vec![kind.into()], ..SelectorFile::default() }),
        rules: Vec::new(),
        config,
        actions: Vec::new(),
    };
    vec![
        policy(
            "postgres-baseline",
            "high",
            "database",
            vec![key("max_connections", "==", ConfigValueFile::Int(500)), key("version", "==", s("16.4"))],
        ),
        policy(
            "cache-eviction",
            "high",
            "cache",
            vec![key("eviction", "in", ConfigValueFile::List(vec![s("allkeys-lru"), s("volatile-lru")]))],
        ),
        policy("queue-limits", "medium", "queue", vec![key("max_length", "<=", ConfigValueFile::Int(100_000))]),
        policy(
            "edge-baseline",
            "medium",
            "load_balancer",
            vec![key("algorithm", "==", s("least_conn")), key("tls", "==", ConfigValueFile::Bool(true))],
        ),
        policy("host-hardening", "medium", "host", vec![key("kernel", "==", s("6.1.0-27"))]),
        policy(
            "service-baseline",
            "low",
            "service",
            vec![key("log_level", "==", s("info")), key("threads", "==", ConfigValueFile::Int(64))],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::{SynthSpec, TroubleRate, estate_with_trouble};

    #[test]
    fn a_rate_is_a_share_of_twins_a_quarter_of_each_kind() {
        let spec = |share| SynthSpec { twins: 1000, days: 2.0, seed: 4, trouble: TroubleRate::new(share).unwrap() };
        let (healthy, none) = estate_with_trouble(spec(0.0));
        assert_eq!(none.total(), 0);
        let (troubled, counts) = estate_with_trouble(spec(0.2));
        assert!((170..=230).contains(&counts.total()), "{counts:?}");
        for n in [counts.drifted, counts.creeping_disks, counts.noisy_neighbours, counts.outages] {
            assert!((30..=70).contains(&n), "{counts:?}");
        }
        // Trouble is added to the same estate: same twins, same edges.
        let ids = |f: &crate::io::scenario::ScenarioFile| f.twins.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&healthy), ids(&troubled));
        assert_eq!(healthy.dependencies.len(), troubled.dependencies.len());
        assert_eq!(troubled.policies.len(), healthy.policies.len() + 6);
        // Every rate up to all of them works.
        let (_, all) = estate_with_trouble(spec(1.0));
        assert!(all.total() > 800, "{all:?}");
    }
}
