//! The local-host live source: this machine as a twin, through `sysinfo`, sampled on a
//! named background thread (`localhost-sampler`). No infrastructure needed.
//!
//! The host twin (kind `host`, id = the host name made into a valid id) gets
//! `cpu_usage` (% of all cores), `memory_usage` (% of RAM in use), `network_io` (bytes
//! per second received plus sent on all interfaces since the previous sample) and
//! `disk_usage` (% of space used over the distinct mounted disks). The processes using
//! the most CPU (then memory) become child twins of kind `process` with a `runs_on`
//! edge to the host and `cpu_usage` (% of the host's cores) and `memory_usage` (% of
//! RAM); a process joins when it first ranks in the top N and keeps reporting while it
//! lives (at most 4 × N process twins per session, so the graph stays readable).
//!
//! The host twin's configuration records what the machine is, as configuration
//! events like a Prometheus mapping's `config:` entries (so drift rules and the
//! inspector see it the same way):
//!
//! | key | value | from |
//! |---|---|---|
//! | `kernel` | text, e.g. `6.1.0-18-amd64` | the kernel release (`uname -r`; node_exporter's `node_uname_info{release}`) |
//! | `os` | text, e.g. `Debian GNU/Linux 12` | `NAME` and `VERSION_ID` of os-release (`node_os_info{name, version_id}`) |
//! | `arch` | text, e.g. `x86_64` | the machine (`uname -m`; `node_uname_info{machine}`) |
//! | `cpu_count` | integer | logical CPUs |
//! | `memory_gib` | number, 2 decimals | total RAM in GiB (an integer when whole) |
//!
//! Values are read at every sample; the first sample's are the configuration at the
//! start of the session's history, and a value that changes later (a CPU taken offline,
//! memory hot-added, an OS upgraded under a long session) is a configuration change at
//! the time it is seen. A value the system cannot tell is left out.
//!
//! Samples carry the clock's whole second; a tick that lands in the same second as the
//! previous one is skipped, so a series never holds two samples at one time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sysinfo::{Disks, Networks, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::io::live::{Clock, ConnState, LiveEvent, LiveHandle, Notify, SyncReport, Wake, Worker, edge};
use crate::io::prometheus::config::value_from_sample;
use crate::io::prometheus::twin_id_from;
use crate::model::{ConfigValue, EdgeKind, SeriesKey, Twin, TwinId, TwinKind, UnixSecs, metric};

/// How to sample.
#[derive(Clone)]
pub struct LocalConfig {
    /// Time between samples (at least 1 s).
    pub interval: Duration,
    /// How many top processes become twins (0 for none).
    pub top_processes: usize,
    /// Where "now" comes from.
    pub clock: Clock,
    /// Called after events are sent.
    pub notify: Option<Notify>,
}

impl Default for LocalConfig {
    /// Every 5 s, the top 5 processes, the system clock.
    fn default() -> Self {
        Self { interval: Duration::from_secs(5), top_processes: 5, clock: Clock::System, notify: None }
    }
}

/// The host's twin id: the host name made into a valid id, or `localhost`.
pub fn host_twin_id() -> TwinId {
    System::host_name().ok().and_then(|h| twin_id_from(&h)).unwrap_or_else(|| TwinId::new("localhost"))
}

/// Starts sampling this machine on a background thread.
pub fn start(config: LocalConfig) -> Result<LiveHandle, String> {
    let host = host_twin_id();
    let notify = config.notify.clone();
    LiveHandle::spawn(format!("this machine ({host})"), "localhost-sampler", notify, move |worker| {
        run(worker, &config, &host);
    })
    .map_err(|e| format!("cannot start the sampling thread: {e}"))
}

struct Sampler {
    system: System,
    networks: Networks,
    disks: Disks,
    cores: f64,
    total_memory: f64,
    host: TwinId,
    /// Tracked processes: pid → twin id.
    processes: BTreeMap<Pid, TwinId>,
    ever_tracked: BTreeSet<TwinId>,
    last_ts: Option<UnixSecs>,
    last_net_ts: Option<UnixSecs>,
    /// The host's configuration as last reported.
    config: BTreeMap<String, ConfigValue>,
}

/// What the host's configuration keys are made of, as read from the system.
#[derive(Clone, Debug, Default, PartialEq)]
struct HostFacts {
    kernel: Option<String>,
    os_name: Option<String>,
    os_version: Option<String>,
    arch: Option<String>,
    cpus: usize,
    memory_bytes: u64,
}

/// The host's configuration keys (documented in the module docs); facts the system
/// could not tell are left out.
fn host_config(facts: &HostFacts) -> BTreeMap<String, ConfigValue> {
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
    let mut config = BTreeMap::new();
    if let Some(kernel) = text(&facts.kernel) {
        config.insert("kernel".to_string(), ConfigValue::Str(kernel));
    }
    let os = match (text(&facts.os_name), text(&facts.os_version)) {
        (Some(name), Some(version)) => Some(format!("{name} {version}")),
        (name, version) => name.or(version),
    };
    if let Some(os) = os {
        config.insert("os".to_string(), ConfigValue::Str(os));
    }
    if let Some(arch) = text(&facts.arch).filter(|a| a != "unknown") {
        config.insert("arch".to_string(), ConfigValue::Str(arch));
    }
    if facts.cpus > 0 {
        config.insert("cpu_count".to_string(), ConfigValue::Int(i64::try_from(facts.cpus).unwrap_or(i64::MAX)));
    }
    if facts.memory_bytes > 0
        && let Some(gib) = value_from_sample(round(facts.memory_bytes as f64 / f64::from(1u32 << 30), 2))
    {
        config.insert("memory_gib".to_string(), gib);
    }
    config
}

fn run(worker: &Worker, config: &LocalConfig, host: &TwinId) {
    let mut sampler = match Sampler::new(host.clone()) {
        Ok(s) => s,
        Err(reason) => {
            worker.set_state(ConnState::Failed { reason });
            return;
        }
    };
    let mut twin = Twin::new(host.clone(), TwinKind::Host);
    twin.tags.insert("local".into());
    twin.capacity.cpu_cores = Some(sampler.cores);
    twin.capacity.memory_gib = Some((sampler.total_memory / f64::from(1u32 << 30) * 100.0).round() / 100.0);
    if let Ok(name) = System::host_name() {
        twin.name = name;
    }
    if !worker.emit(LiveEvent::Twin(twin)) {
        return;
    }
    let interval = config.interval.max(Duration::from_secs(1));
    // CPU usage is measured between two refreshes: prime them, then wait one interval.
    sampler.refresh();
    let mut initial = true;
    loop {
        match worker.wait(Some(interval)) {
            Wake::Stop => return,
            Wake::Timeout | Wake::Woken => {}
        }
        if worker.paused() {
            continue;
        }
        sampler.refresh();
        let now = config.clock.now();
        if sampler.last_ts.is_some_and(|l| now <= l) {
            continue;
        }
        let Some(events) = sampler.sample(now, config.top_processes) else {
            continue;
        };
        let new_samples = events.iter().map(|e| if let LiveEvent::Samples { ts, .. } = e { ts.len() } else { 0 }).sum();
        for event in events {
            if !worker.emit(event) {
                return;
            }
        }
        worker.count(1, 0, 0, 0);
        worker.set_state(ConnState::Connected { last_sync: now });
        if !worker.emit(LiveEvent::Synced(SyncReport { until: now, new_samples, bytes: 0, initial })) {
            return;
        }
        initial = false;
    }
}

impl Sampler {
    fn new(host: TwinId) -> Result<Sampler, String> {
        let system = System::new().map_err(|e| format!("cannot read this machine's statistics: {e}"))?;
        let networks =
            Networks::new_with_refreshed_list().map_err(|e| format!("cannot read this machine's network: {e}"))?;
        let disks = Disks::new_with_refreshed_list().map_err(|e| format!("cannot read this machine's disks: {e}"))?;
        let mut sampler = Sampler {
            system,
            networks,
            disks,
            cores: 1.0,
            total_memory: 1.0,
            host,
            processes: BTreeMap::new(),
            ever_tracked: BTreeSet::new(),
            last_ts: None,
            last_net_ts: None,
            config: BTreeMap::new(),
        };
        sampler.system.refresh_cpu_usage();
        sampler.system.refresh_memory();
        sampler.cores = (sampler.system.cpus().len() as f64).max(1.0);
        sampler.total_memory = (sampler.system.total_memory() as f64).max(1.0);
        Ok(sampler)
    }

    fn refresh(&mut self) {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        self.networks.refresh(true);
        self.disks.refresh(true);
    }

    /// What the system says about itself now.
    fn facts(&self) -> HostFacts {
        HostFacts {
            kernel: System::kernel_version().ok(),
            os_name: System::name().ok(),
            os_version: System::os_version().ok(),
            arch: Some(System::cpu_arch()),
            cpus: self.system.cpus().len(),
            memory_bytes: self.system.total_memory(),
        }
    }

    /// Configuration events for keys whose value differs from the last reported one;
    /// the first sample's values are the baseline.
    fn config_events(&mut self, now: UnixSecs, facts: &HostFacts) -> Vec<LiveEvent> {
        let baseline = self.last_ts.is_none();
        let mut events = Vec::new();
        for (key, value) in host_config(facts) {
            if self.config.get(&key) != Some(&value) {
                self.config.insert(key.clone(), value.clone());
                events.push(LiveEvent::Config { twin: self.host.clone(), key, at: now, value, baseline });
            }
        }
        events
    }

    /// The events of one sample at `now`, or `None` when nothing could be measured.
    fn sample(&mut self, now: UnixSecs, top: usize) -> Option<Vec<LiveEvent>> {
        let facts = self.facts();
        let mut config_events = self.config_events(now, &facts);
        let mut events = Vec::new();
        let mut push = |twin: &TwinId, metric: &str, value: f64| {
            if value.is_finite() {
                events.push(LiveEvent::Samples {
                    key: SeriesKey::new(twin.clone(), metric),
                    ts: vec![now],
                    values: vec![round(value, 3)],
                });
            }
        };
        let host = self.host.clone();
        push(&host, metric::CPU_USAGE, f64::from(self.system.global_cpu_usage()));
        let used = self.total_memory - self.system.available_memory() as f64;
        push(&host, metric::MEMORY_USAGE, 100.0 * used / self.total_memory);
        let (rx, tx) =
            self.networks.iter().fold((0u64, 0u64), |(r, t), (_, n)| (r + n.received(), t + n.transmitted()));
        if let Some(prev) = self.last_net_ts.filter(|p| now > *p) {
            push(&host, metric::NETWORK_IO, (rx + tx) as f64 / (now - prev) as f64);
        }
        self.last_net_ts = Some(now);
        let mut seen_devices = BTreeSet::new();
        let (mut total, mut available) = (0u64, 0u64);
        let mut disks: Vec<_> = self.disks.iter().collect();
        disks.sort_by(|a, b| a.mount_point().cmp(b.mount_point()));
        for d in disks {
            if d.total_space() > 0 && seen_devices.insert(d.name().to_os_string()) {
                total += d.total_space();
                available += d.available_space();
            }
        }
        if total > 0 {
            push(&host, "disk_usage", 100.0 * (total - available.min(total)) as f64 / total as f64);
        }
        // Processes: rank by CPU, then memory, then pid (a total order).
        let mut ranked: Vec<(Pid, f64, f64, String)> = self
            .system
            .processes()
            .values()
            .map(|p| {
                let name = p.name().to_string_lossy().into_owned();
                (p.pid(), f64::from(p.cpu_usage()) / self.cores, 100.0 * p.memory() as f64 / self.total_memory, name)
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(&b.0)));
        let alive: BTreeSet<Pid> = ranked.iter().map(|r| r.0).collect();
        self.processes.retain(|pid, _| alive.contains(pid));
        let mut new_twins = Vec::new();
        for (pid, _, _, name) in ranked.iter().take(top) {
            if self.processes.contains_key(pid) || self.ever_tracked.len() >= top * 4 {
                continue;
            }
            let Some(id) = twin_id_from(&format!("{host}/{name}-{pid}")) else {
                continue;
            };
            if self.ever_tracked.insert(id.clone()) {
                self.processes.insert(*pid, id.clone());
                let mut twin = Twin::new(id.clone(), TwinKind::Process);
                twin.name = format!("{name} ({pid})");
                twin.tags.insert("local".into());
                new_twins.push(twin);
            }
        }
        let mut process_samples = Vec::new();
        for (pid, cpu, mem, _) in &ranked {
            if let Some(id) = self.processes.get(pid) {
                process_samples.push((id.clone(), *cpu, *mem));
            }
        }
        let mut out = Vec::new();
        out.append(&mut config_events);
        for twin in new_twins {
            let id = twin.id.clone();
            out.push(LiveEvent::Twin(twin));
            out.push(LiveEvent::Dependency { from: id, to: host.clone(), dependency: edge(EdgeKind::RunsOn) });
        }
        out.append(&mut events);
        process_samples.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, cpu, mem) in process_samples {
            for (m, v) in [(metric::CPU_USAGE, cpu), (metric::MEMORY_USAGE, mem)] {
                if v.is_finite() {
                    out.push(LiveEvent::Samples {
                        key: SeriesKey::new(id.clone(), m),
                        ts: vec![now],
                        values: vec![round(v, 3)],
                    });
                }
            }
        }
        self.last_ts = Some(now);
        (!out.is_empty()).then_some(out)
    }
}

/// Rounds to `decimals` places (keeps the store's decimal-aware compression effective).
fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_describes_this_machine() {
        let mut s = Sampler::new(TwinId::new("here")).unwrap();
        s.refresh();
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        s.refresh();
        let events = s.sample(1000, 3).unwrap();
        let keys: BTreeSet<String> = events
            .iter()
            .filter_map(|e| match e {
                LiveEvent::Samples { key, .. } if key.twin.as_str() == "here" => Some(key.metric.to_string()),
                _ => None,
            })
            .collect();
        assert!(keys.contains("cpu_usage") && keys.contains("memory_usage"), "{keys:?}");
        let processes =
            events.iter().filter(|e| matches!(e, LiveEvent::Twin(t) if t.kind == TwinKind::Process)).count();
        assert!((1..=3).contains(&processes), "{processes}");
        for e in &events {
            if let LiveEvent::Samples { key, values, .. } = e
                && key.metric.as_str().ends_with("_usage")
            {
                assert!(values[0] >= 0.0 && values[0] <= 100.0 + 1e-9, "{key}: {}", values[0]);
            }
        }
        // What the machine is: configuration at the start of history.
        let config: BTreeMap<&str, (&ConfigValue, bool)> = events
            .iter()
            .filter_map(|e| match e {
                LiveEvent::Config { twin, key, value, baseline, at } if twin.as_str() == "here" && *at == 1000 => {
                    Some((key.as_str(), (value, *baseline)))
                }
                _ => None,
            })
            .collect();
        assert!(config.values().all(|(_, baseline)| *baseline), "{config:?}");
        assert!(matches!(config.get("cpu_count"), Some((ConfigValue::Int(n), _)) if *n >= 1), "{config:?}");
        assert!(matches!(config.get("memory_gib"), Some((v, _)) if v.as_f64().is_some_and(|g| g > 0.0)));
        assert!(matches!(config.get("kernel"), Some((ConfigValue::Str(k), _)) if !k.is_empty()), "{config:?}");
        // A second sample in the same second is not taken by the loop; network needs two.
        let events = s.sample(1005, 3).unwrap();
        assert!(
            events.iter().any(|e| matches!(e, LiveEvent::Samples { key, .. } if key.metric.as_str() == "network_io"))
        );
        // Nothing changed: no configuration event.
        assert!(!events.iter().any(|e| matches!(e, LiveEvent::Config { .. })));
    }

    #[test]
    fn host_facts_become_typed_configuration() {
        let facts = HostFacts {
            kernel: Some("6.1.0-18-amd64\n".into()),
            os_name: Some("Debian GNU/Linux".into()),
            os_version: Some("12".into()),
            arch: Some("x86_64".into()),
            cpus: 8,
            memory_bytes: 16 * (1 << 30),
        };
        let config = host_config(&facts);
        let s = |t: &str| ConfigValue::Str(t.into());
        assert_eq!(config["kernel"], s("6.1.0-18-amd64"));
        assert_eq!(config["os"], s("Debian GNU/Linux 12"));
        assert_eq!(config["arch"], s("x86_64"));
        assert_eq!(config["cpu_count"], ConfigValue::Int(8));
        assert_eq!(config["memory_gib"], ConfigValue::Int(16));
        let odd = host_config(&HostFacts {
            memory_bytes: 16_761_733_120,
            arch: Some("unknown".into()),
            ..HostFacts::default()
        });
        assert_eq!(odd.keys().collect::<Vec<_>>(), ["memory_gib"]);
        assert_eq!(odd["memory_gib"], ConfigValue::Float(15.61));
    }

    #[test]
    fn a_changed_fact_is_a_change_and_the_rest_stays_quiet() {
        let mut s = Sampler::new(TwinId::new("here")).unwrap();
        let facts = HostFacts { kernel: Some("6.1".into()), cpus: 4, ..HostFacts::default() };
        assert_eq!(s.config_events(100, &facts).len(), 2);
        s.last_ts = Some(100);
        let more = HostFacts { cpus: 8, ..facts.clone() };
        let events = s.config_events(200, &more);
        assert_eq!(
            events,
            vec![LiveEvent::Config {
                twin: TwinId::new("here"),
                key: "cpu_count".into(),
                at: 200,
                value: ConfigValue::Int(8),
                baseline: false
            }]
        );
        assert!(s.config_events(300, &more).is_empty());
    }
}
