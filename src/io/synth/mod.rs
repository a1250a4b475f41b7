//! Synthetic estates for `twinbench generate`: a realistic layered graph (load
//! balancers → web → API services → databases, caches and queues, with workers, all
//! running on hosts) grouped into applications of about eighteen twins, a few calls
//! between applications, and workload models drawn from a seeded stream. The result
//! is a scenario file: generating its history is the loader's job.
//!
//! At a [`TroubleRate`] above zero, [`trouble`] then makes the estate worth exploring:
//! drifted configuration against desired-configuration policies, creeping disks,
//! noisy neighbours and outages, drawn from a stream of their own so the healthy
//! estate underneath is the same at every rate.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::format::ConfigValueFile;
use super::policy::{PolicyFile, RuleFile, SelectorFile};
use super::scenario::{
    CapacityFile, ChangeFile, DependencyFile, EffectFile, FORMAT_VERSION, IncidentFile, MetricFile, ScenarioFile,
    TwinFile,
};
use crate::model::TwinKind;
use crate::sim::rng;

pub mod trouble;

/// Errors of estate settings.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A trouble rate outside 0..=1, or not a number.
    #[error("the trouble rate is a share of twins between 0 and 1, not {0}")]
    TroubleRate(f64),
}

/// Settings of a synthetic estate.
#[derive(Clone, Copy, Debug)]
pub struct SynthSpec {
    /// Exact number of twins.
    pub twins: usize,
    /// Days of history.
    pub days: f64,
    /// Seed (of the generator and of the scenario).
    pub seed: u64,
    /// Share of twins that are the origin of some trouble ([`trouble`]).
    pub trouble: TroubleRate,
}

/// The share of twins in trouble: a number in 0..=1, checked on construction.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct TroubleRate(f64);

impl TroubleRate {
    /// No trouble: the healthy estate, as `generate` wrote it before trouble existed.
    pub const NONE: TroubleRate = TroubleRate(0.0);
    /// `generate`'s default: one twin in twenty is the origin of some trouble.
    pub const DEFAULT: TroubleRate = TroubleRate(0.05);

    /// A rate of `share` (0 ≤ share ≤ 1).
    pub fn new(share: f64) -> Result<Self, SynthError> {
        if (0.0..=1.0).contains(&share) { Ok(TroubleRate(share)) } else { Err(SynthError::TroubleRate(share)) }
    }

    /// The share.
    pub fn share(self) -> f64 {
        self.0
    }
}

/// The limits of the metric policies every generated estate carries: CPU (%).
const CPU_LIMIT: f64 = 85.0;
/// Disk (%).
const DISK_LIMIT: f64 = 90.0;
/// Latency of services and load balancers (ms).
const LATENCY_LIMIT: f64 = 250.0;

/// The roles of an application, in creation order (so a partial application still has
/// what its first members depend on).
const ROLES: [(&str, TwinKind); 18] = [
    ("host-1", TwinKind::Host),
    ("db-primary", TwinKind::Database),
    ("api-1", TwinKind::Service),
    ("web-1", TwinKind::Service),
    ("lb", TwinKind::LoadBalancer),
    ("cache", TwinKind::Cache),
    ("queue", TwinKind::Queue),
    ("worker-1", TwinKind::Service),
    ("host-2", TwinKind::Host),
    ("db-replica", TwinKind::Database),
    ("api-2", TwinKind::Service),
    ("web-2", TwinKind::Service),
    ("worker-2", TwinKind::Service),
    ("host-3", TwinKind::Host),
    ("api-3", TwinKind::Service),
    ("web-3", TwinKind::Service),
    ("host-4", TwinKind::Host),
    ("host-5", TwinKind::Host),
];

/// Builds the scenario file of a synthetic estate.
pub fn estate(spec: SynthSpec) -> ScenarioFile {
    estate_with_trouble(spec).0
}

/// Builds the scenario file of a synthetic estate, with how much trouble it got.
pub fn estate_with_trouble(spec: SynthSpec) -> (ScenarioFile, trouble::TroubleCounts) {
    let mut rng = rng::stream(spec.seed, "generate");
    let mut twins: Vec<TwinFile> = Vec::with_capacity(spec.twins);
    let mut deps: Vec<DependencyFile> = Vec::new();
    let apps = spec.twins.div_ceil(ROLES.len());
    let mut remaining = spec.twins;
    for app in 0..apps {
        let take = remaining.min(ROLES.len());
        remaining -= take;
        let prefix = format!("app{:0width$}", app + 1, width = digits(apps));
        let members: Vec<(&str, TwinKind)> = ROLES[..take].to_vec();
        let peak_hour = rng.random_range(10.0..16.0);
        for (role, kind) in &members {
            twins.push(twin(&mut rng, &prefix, role, *kind, peak_hour, spec.days));
        }
        let has = |role: &str| members.iter().any(|(r, _)| *r == role);
        let id = |role: &str| format!("{prefix}-{role}");
        let of = |prefix_role: &str| -> Vec<String> {
            members.iter().filter(|(r, _)| r.starts_with(prefix_role)).map(|(r, _)| id(r)).collect()
        };
        let (webs, apis, workers, hosts) = (of("web-"), of("api-"), of("worker-"), of("host-"));
        let mut edge = |from: &str, to: &str, kind: &str, share: f64, latency: f64| {
            deps.push(DependencyFile {
                from: from.into(),
                to: to.into(),
                kind: kind.into(),
                traffic_share: round(share, 3),
                latency_ms: round(latency, 1),
            });
        };
        if has("lb") {
            for web in &webs {
                edge(&id("lb"), web, "routes_to", 1.0 / webs.len() as f64, 0.5);
            }
        }
        for web in &webs {
            for api in &apis {
                edge(web, api, "depends_on", 1.0 / apis.len() as f64, rng.random_range(1.0..4.0));
            }
        }
        for api in &apis {
            for (role, latency) in [("db-primary", 3.0), ("cache", 0.6), ("queue", 1.2)] {
                if has(role) {
                    edge(api, &id(role), "depends_on", 1.0, latency * rng.random_range(0.8..1.5));
                }
            }
        }
        for worker in &workers {
            for (role, latency) in [("queue", 1.0), ("db-primary", 3.0)] {
                if has(role) {
                    edge(worker, &id(role), "depends_on", 1.0, latency);
                }
            }
        }
        if has("db-replica") {
            edge(&id("db-primary"), &id("db-replica"), "replicates_to", 1.0, 0.8);
        }
        // Every workload runs on one of the application's hosts, round robin.
        if !hosts.is_empty() {
            let workloads = members.iter().filter(|(_, k)| *k != TwinKind::Host);
            for (i, (role, _)) in workloads.enumerate() {
                edge(&id(role), &hosts[i % hosts.len()], "runs_on", 1.0, 0.0);
            }
        }
        // Some applications call an earlier application's API.
        if app > 0 && has("api-1") && rng.random_bool(0.3) {
            let other = rng.random_range(0..app);
            let other_prefix = format!("app{:0width$}", other + 1, width = digits(apps));
            edge(&id("api-1"), &format!("{other_prefix}-api-1"), "depends_on", 0.2, 5.0);
        }
    }
    // Edges to roles a truncated last application lacks were never added; drop edges
    // to twins that do not exist (cross-application calls into a partial app).
    let ids: std::collections::BTreeSet<String> = twins.iter().map(|t| t.id.clone()).collect();
    deps.retain(|d| ids.contains(&d.from) && ids.contains(&d.to));
    let mut file = ScenarioFile {
        version: FORMAT_VERSION,
        name: format!("estate-{}", spec.twins),
        description: format!(
            "Synthetic estate of {} twins in {apps} applications (twinbench generate, seed {}).",
            spec.twins, spec.seed
        ),
        seed: spec.seed,
        resolution_secs: 60,
        start: "2026-10-01T00:00:00Z".into(),
        days: spec.days,
        retention: None,
        twins,
        dependencies: deps,
        policies: default_policies(),
        telemetry: None,
        logs: Vec::new(),
    };
    let counts = if spec.trouble.share() > 0.0 {
        trouble::add(&mut file, spec.trouble, spec.seed)
    } else {
        trouble::TroubleCounts::default()
    };
    (file, counts)
}

fn digits(n: usize) -> usize {
    n.to_string().len()
}

fn round(x: f64, decimals: i32) -> f64 {
    let s = 10f64.powi(decimals);
    (x * s).round() / s
}

/// The policies every generated estate carries.
pub fn default_policies() -> Vec<PolicyFile> {
    let rule = |metric: &str, threshold: f64| RuleFile {
        metric: metric.into(),
        operator: ">".into(),
        threshold: Some(threshold),
        ..RuleFile::default()
    };
    let policy = |name: &str, severity: &str, kinds: &[&str], rules: Vec<RuleFile>| PolicyFile {
        name: name.into(),
        description: String::new(),
        severity: Some(severity.into()),
        selector: (!kinds.is_empty()).then(|| SelectorFile {
            kinds: kinds.iter().map(|k| (*k).to_string()).collect(),
            ..SelectorFile::default()
        }),
        rules,
        config: Vec::new(),
        actions: Vec::new(),
    };
    vec![
        policy("cpu-headroom", "high", &[], vec![rule("cpu_usage", CPU_LIMIT)]),
        policy("memory-headroom", "high", &[], vec![rule("memory_usage", 90.0)]),
        policy("disk-space", "critical", &["database", "host"], vec![rule("disk_usage", DISK_LIMIT)]),
        policy("error-budget", "high", &["service", "load_balancer"], vec![rule("error_rate", 5.0)]),
        policy("latency-slo", "medium", &["service", "load_balancer"], vec![rule("latency_ms", LATENCY_LIMIT)]),
    ]
}

fn metric(base: f64, daily: f64, peak_hour: f64, noise: f64, decimals: i8) -> MetricFile {
    MetricFile { daily, peak_hour, noise, noise_memory: 0.7, decimals, ..MetricFile::new(base) }
}

fn r(rng: &mut ChaCha8Rng, lo: f64, hi: f64, decimals: i32) -> f64 {
    round(rng.random_range(lo..hi), decimals)
}

fn twin(rng: &mut ChaCha8Rng, prefix: &str, role: &str, kind: TwinKind, peak_hour: f64, days: f64) -> TwinFile {
    let peak_hour = round(peak_hour, 1);
    let load = r(rng, 0.4, 1.0, 2); // how busy this twin is, scales its metrics
    let weekend = r(rng, 0.55, 0.95, 2);
    let mut metrics = BTreeMap::new();
    let mut cpu = metric(
        round(r(rng, 15.0, 45.0, 1) * load + 5.0, 1),
        round(r(rng, 4.0, 18.0, 1) * load, 1),
        peak_hour,
        r(rng, 0.8, 2.5, 1),
        1,
    );
    cpu.weekend = weekend;
    cpu.trend = r(rng, -0.05, 0.2, 2);
    let mut memory = metric(r(rng, 30.0, 65.0, 1), r(rng, 0.0, 4.0, 1), peak_hour, r(rng, 0.2, 0.6, 1), 1);
    memory.trend = r(rng, 0.0, 0.25, 2);
    let net_base = round(r(rng, 2e5, 4e7, -3) * load, -3);
    let mut network =
        metric(round(net_base, -3), round(net_base * 0.4, -3), peak_hour, round(net_base * 0.01, -3).max(1000.0), -3);
    network.weekend = weekend;
    let latency_base = r(rng, 4.0, 60.0, 1);
    let latency = metric(latency_base, round(latency_base * 0.25, 1), peak_hour, round(latency_base * 0.08, 1), 1);
    let mut errors = metric(r(rng, 0.05, 0.6, 2), 0.0, peak_hour, 0.05, 2);
    errors.noise_memory = 0.3;
    metrics.insert("cpu_usage".to_string(), cpu);
    metrics.insert("memory_usage".to_string(), memory);
    metrics.insert("network_io".to_string(), network);
    metrics.insert("latency_ms".to_string(), latency);
    metrics.insert("error_rate".to_string(), errors);
    match kind {
        TwinKind::Database | TwinKind::Host => {
            let mut disk = metric(r(rng, 30.0, 72.0, 1), 0.0, peak_hour, 0.05, 2);
            disk.trend = r(rng, 0.02, 0.45, 2);
            metrics.insert("disk_usage".to_string(), disk);
        }
        TwinKind::Queue => {
            let base = r(rng, 10.0, 400.0, 0);
            metrics.insert(
                "queue_depth".to_string(),
                metric(base, round(base * 0.5, 0), peak_hour, round(base * 0.1, 0).max(1.0), 0),
            );
        }
        _ => {
            let base = round(r(rng, 50.0, 1500.0, 0) * load, 1);
            let mut requests = metric(round(base, 1), round(base * 0.5, 1), peak_hour, round(base * 0.04, 1), 1);
            requests.weekend = weekend;
            metrics.insert("request_rate".to_string(), requests);
        }
    }
    let hours = days * 24.0;
    if rng.random_bool(0.08)
        && let Some(cpu) = metrics.get_mut("cpu_usage")
    {
        cpu.incidents.push(IncidentFile {
            at_hours: Some(round(rng.random_range(0.0..hours), 1)),
            at: None,
            hours: r(rng, 0.5, 4.0, 1),
            effect: EffectFile::Spike(r(rng, 25.0, 60.0, 0)),
        });
    }
    if kind != TwinKind::Host
        && rng.random_bool(0.01)
        && let Some(cpu) = metrics.get_mut("cpu_usage")
    {
        cpu.incidents.push(IncidentFile {
            at_hours: Some(round(rng.random_range(0.0..hours), 1)),
            at: None,
            hours: r(rng, 0.2, 2.0, 1),
            effect: EffectFile::Outage,
        });
    }
    let (config, capacity) = config_for(rng, kind);
    let mut changes = Vec::new();
    if rng.random_bool(0.06) {
        let (key, value) = match kind {
            TwinKind::Database => ("max_connections", ConfigValueFile::Int(300)),
            TwinKind::Host => ("kernel", ConfigValueFile::Str("6.1.0-28".into())),
            _ => ("log_level", ConfigValueFile::Str("debug".into())),
        };
        changes.push(ChangeFile {
            at_hours: Some(round(rng.random_range(hours * 0.3..hours), 1)),
            at: None,
            key: key.into(),
            value: Some(value),
        });
    }
    let tier = match kind {
        TwinKind::LoadBalancer => "edge",
        TwinKind::Service if role.starts_with("web") => "web",
        TwinKind::Service if role.starts_with("api") => "api",
        TwinKind::Service => "worker",
        TwinKind::Host => "infra",
        _ => "data",
    };
    TwinFile {
        id: format!("{prefix}-{role}"),
        kind: kind.as_str().into(),
        name: None,
        tags: vec![prefix.to_string(), format!("tier:{tier}"), "prod".into()],
        config,
        capacity,
        metrics,
        changes,
    }
}

fn config_for(rng: &mut ChaCha8Rng, kind: TwinKind) -> (BTreeMap<String, ConfigValueFile>, CapacityFile) {
    let s = |v: &str| ConfigValueFile::Str(v.into());
    let i = ConfigValueFile::Int;
    let mut config = BTreeMap::new();
    let mut capacity = CapacityFile::default();
    match kind {
        TwinKind::Host => {
            config.insert("os".into(), s("debian-12"));
            config.insert("kernel".into(), s("6.1.0-27"));
            capacity.cpu_cores = Some(f64::from(*[8u32, 16, 32].get(rng.random_range(0..3)).unwrap_or(&16)));
            capacity.memory_gib = Some(64.0);
            capacity.disk_gib = Some(500.0);
        }
        TwinKind::Database => {
            config.insert("engine".into(), s("postgres"));
            config.insert("version".into(), s("16.4"));
            config.insert("max_connections".into(), i(500));
            config.insert("shared_buffers_mb".into(), i(8192));
            capacity.cpu_cores = Some(8.0);
            capacity.memory_gib = Some(32.0);
            capacity.disk_gib = Some(1000.0);
        }
        TwinKind::Cache => {
            config.insert("engine".into(), s("redis"));
            config.insert("maxmemory_mb".into(), i(4096));
            config.insert("eviction".into(), s("allkeys-lru"));
            capacity.memory_gib = Some(8.0);
        }
        TwinKind::Queue => {
            config.insert("engine".into(), s("rabbitmq"));
            config.insert("max_length".into(), i(100_000));
            capacity.memory_gib = Some(4.0);
        }
        TwinKind::LoadBalancer => {
            config.insert("algorithm".into(), s("least_conn"));
            config.insert("max_connections".into(), i(20_000));
            config.insert("tls".into(), ConfigValueFile::Bool(true));
            capacity.network_mbps = Some(10_000.0);
        }
        _ => {
            config.insert("version".into(), s(&format!("2.{}.{}", rng.random_range(0..9), rng.random_range(0..20))));
            config.insert("threads".into(), i(64));
            config.insert("log_level".into(), s("info"));
            capacity.cpu_cores = Some(2.0);
            capacity.memory_gib = Some(4.0);
            capacity.replicas = Some(rng.random_range(2..6));
        }
    }
    (config, capacity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estates_have_the_requested_size_and_valid_edges() {
        for n in [1, 5, 18, 19, 100] {
            let f = estate(SynthSpec { twins: n, days: 1.0, seed: 3, trouble: TroubleRate::NONE });
            assert_eq!(f.twins.len(), n);
            let text = super::super::scenario::to_ron(&f).unwrap();
            let s = super::super::scenario::parse_def(std::path::Path::new("gen.ron"), &text).unwrap().scenario;
            assert_eq!(s.graph.twin_count(), n);
            assert_eq!(s.workloads.len(), s.graph.twins().map(|_| 6).sum::<usize>());
        }
    }

    #[test]
    fn same_seed_same_estate() {
        let a = super::super::scenario::to_ron(&estate(SynthSpec {
            twins: 40,
            days: 1.0,
            seed: 9,
            trouble: TroubleRate::NONE,
        }))
        .unwrap();
        let b = super::super::scenario::to_ron(&estate(SynthSpec {
            twins: 40,
            days: 1.0,
            seed: 9,
            trouble: TroubleRate::NONE,
        }))
        .unwrap();
        let c = super::super::scenario::to_ron(&estate(SynthSpec {
            twins: 40,
            days: 1.0,
            seed: 10,
            trouble: TroubleRate::NONE,
        }))
        .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
