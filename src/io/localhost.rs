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
//! Samples carry the clock's whole second; a tick that lands in the same second as the
//! previous one is skipped, so a series never holds two samples at one time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sysinfo::{Disks, Networks, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::io::live::{Clock, ConnState, LiveEvent, LiveHandle, Notify, SyncReport, Wake, Worker, edge};
use crate::io::prometheus::twin_id_from;
use crate::model::{EdgeKind, SeriesKey, Twin, TwinId, TwinKind, UnixSecs, metric};

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

    /// The events of one sample at `now`, or `None` when nothing could be measured.
    fn sample(&mut self, now: UnixSecs, top: usize) -> Option<Vec<LiveEvent>> {
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
        // A second sample in the same second is not taken by the loop; network needs two.
        let events = s.sample(1005, 3).unwrap();
        assert!(
            events.iter().any(|e| matches!(e, LiveEvent::Samples { key, .. } if key.metric.as_str() == "network_io"))
        );
    }
}
