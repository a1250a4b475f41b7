//! Live sources: telemetry that keeps arriving from a real system (a Prometheus server,
//! this machine) on a named background thread, and the pieces every source shares.
//!
//! A source is started with its own `start` function (`io::prometheus::start`,
//! `io::localhost::start`) and returns a [`LiveHandle`]. The handle never blocks its
//! caller: [`LiveHandle::poll`] drains a channel, [`LiveHandle::state`] reads a value the
//! worker updates between network calls, and [`LiveHandle::stop`] only raises a flag
//! (the worker notices it after the request in flight, bounded by its timeout). The
//! worker owns its HTTP client or system handle and never panics: every failure becomes
//! a [`ConnState`].
//!
//! [`apply`] folds events into a [`Scenario`] (twins into the graph, samples into the
//! store, deduplicated on series and timestamp, with the store's retention kept up, configuration values into each twin's
//! configuration and its history); [`snapshot`] writes such a scenario as a scenario
//! file (configuration at the start of history plus its changes) and a telemetry file
//! beside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::IoError;
use super::format::ConfigValueFile;
use super::scenario::{
    CapacityFile, ChangeFile, DependencyFile, FORMAT_VERSION, ScenarioFile, TwinFile, save, timestamp_field,
};
use super::time::format_rfc3339;
use crate::model::{
    ConfigChange, ConfigValue, DAY_SECS, Dependency, EdgeKind, RetentionPolicy, SeriesKey, TelemetryStore, Twin,
    TwinGraph, TwinId, TwinKind, UnixSecs,
};
use crate::scenario::Scenario;

/// Where a source reads "now" from.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A clock the caller sets: tests step it through recorded history, and a snapshot
    /// with `--end` pins it to a fixed instant.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock at `t`.
    pub fn manual(t: UnixSecs) -> Self {
        Clock::Manual(Arc::new(AtomicI64::new(t)))
    }

    /// The current time in whole Unix seconds.
    #[allow(clippy::disallowed_methods)] // the IO layer may read the wall clock
    pub fn now(&self) -> UnixSecs {
        match self {
            Clock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Sets a manual clock (no effect on the system clock).
    pub fn set(&self, t: UnixSecs) {
        if let Clock::Manual(cell) = self {
            cell.store(t, Ordering::SeqCst);
        }
    }
}

/// Exponential backoff between retries: `initial`, doubling per failed attempt, capped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s doubling up to 60 s.
    fn default() -> Self {
        Self { initial: Duration::from_secs(1), max: Duration::from_secs(60) }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (0 for the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(30)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// The connection state of a source, as shown to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// Started; no successful sync yet.
    Connecting,
    /// The last sync succeeded; the data is complete up to `last_sync`.
    Connected {
        /// The time (Unix seconds) up to which every series is synced.
        last_sync: UnixSecs,
    },
    /// The last attempt failed; the next one starts after a backoff.
    Retrying {
        /// Seconds until the next attempt (rounded up).
        in_secs: u64,
        /// Failed attempts in a row.
        attempt: u32,
        /// Why the last attempt failed.
        reason: String,
    },
    /// Retrying cannot help (authentication refused, a query the server rejects, bad
    /// configuration). The source waits for [`LiveHandle::resume`] or [`LiveHandle::stop`].
    Failed {
        /// What went wrong.
        reason: String,
    },
    /// The worker has ended.
    Stopped,
}

impl ConnState {
    /// One line for a status bar: `connected, synced to 12:00:00`, `retrying in 4 s: …`.
    pub fn describe(&self) -> String {
        match self {
            ConnState::Connecting => "connecting".into(),
            ConnState::Connected { last_sync } => {
                format!("connected, synced to {}", super::time::format_rfc3339(*last_sync))
            }
            ConnState::Retrying { in_secs, attempt, reason } => {
                format!("retrying in {in_secs} s (attempt {attempt}): {reason}")
            }
            ConnState::Failed { reason } => format!("failed: {reason}"),
            ConnState::Stopped => "stopped".into(),
        }
    }
}

/// What one completed sync round brought.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    /// Every series is complete up to this time.
    pub until: UnixSecs,
    /// Samples delivered in this round.
    pub new_samples: usize,
    /// Response bytes received in this round (as sent on the wire, compressed or not).
    pub bytes: u64,
    /// True for the first round (the backfill).
    pub initial: bool,
}

/// What a source reports. Events of one source arrive in order: a twin before its
/// samples and before any dependency that names it.
#[derive(Clone, Debug, PartialEq)]
pub enum LiveEvent {
    /// A twin was discovered (or declared statically by the mapping).
    Twin(Twin),
    /// A dependency between two already reported twins.
    Dependency {
        /// The dependent twin.
        from: TwinId,
        /// The twin it needs.
        to: TwinId,
        /// Kind and attributes.
        dependency: Dependency,
    },
    /// New samples of one series, strictly after every sample reported before for it.
    Samples {
        /// The series.
        key: SeriesKey,
        /// Timestamps (whole seconds), strictly increasing.
        ts: Vec<UnixSecs>,
        /// One value per timestamp, finite.
        values: Vec<f64>,
    },
    /// A configuration value of a twin, reported when it is first known and whenever it
    /// changes; events of one key arrive in time order.
    Config {
        /// The twin.
        twin: TwinId,
        /// The configuration key (a dotted key path).
        key: String,
        /// When the value was first seen.
        at: UnixSecs,
        /// The value.
        value: ConfigValue,
        /// True when the value held from the start of the source's window (the start of
        /// its history): it becomes the twin's configuration without a change entry if
        /// the key had no value yet. False: a change at `at` (from absent, if the key
        /// had no value).
        baseline: bool,
    },
    /// The connection state changed.
    State(ConnState),
    /// A sync round completed.
    Synced(SyncReport),
    /// Something the user should know that does not stop the source (a query that
    /// returns several series for one twin, a series without the twin label, …).
    Warning(String),
}

/// Counters of a source since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Requests sent (HTTP) or samplings taken (local host).
    pub requests: u64,
    /// Response bytes received (as sent on the wire).
    pub bytes_received: u64,
    /// Samples delivered as events.
    pub samples: u64,
    /// Samples dropped because their series already had that timestamp or a later one.
    pub duplicates_dropped: u64,
    /// Samples dropped because their value was NaN or infinite (e.g. a division by zero
    /// in PromQL); the store keeps finite values only.
    pub non_finite_dropped: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    bytes_received: AtomicU64,
    samples: AtomicU64,
    duplicates_dropped: AtomicU64,
    non_finite_dropped: AtomicU64,
}

struct Control {
    state: ConnState,
    paused: bool,
    stop: bool,
    /// Set by `sync_now`/`resume`/`stop` to end the worker's current wait early.
    wake: bool,
}

pub(crate) struct Shared {
    control: Mutex<Control>,
    cond: Condvar,
    counters: Counters,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Control> {
        // A poisoned lock means a thread panicked while holding it; the data (flags and
        // a state value) is still meaningful, so keep going.
        self.control.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A callback the worker calls after sending events (the GUI passes one that requests
/// a repaint), so nobody has to poll on a timer.
pub type Notify = Arc<dyn Fn() + Send + Sync>;

/// The caller's side of a running source. Dropping it stops the source.
pub struct LiveHandle {
    name: String,
    shared: Arc<Shared>,
    rx: Receiver<LiveEvent>,
}

impl std::fmt::Debug for LiveHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHandle").field("name", &self.name).field("state", &self.state()).finish()
    }
}

impl LiveHandle {
    /// Starts `work` on a thread named `thread_name`; `name` is what the UI shows (a URL
    /// without credentials, or the host name).
    pub(crate) fn spawn(
        name: String,
        thread_name: &str,
        notify: Option<Notify>,
        work: impl FnOnce(&Worker) + Send + 'static,
    ) -> std::io::Result<LiveHandle> {
        let shared = Arc::new(Shared {
            control: Mutex::new(Control { state: ConnState::Connecting, paused: false, stop: false, wake: false }),
            cond: Condvar::new(),
            counters: Counters::default(),
        });
        let (tx, rx) = channel();
        let worker = Worker { shared: Arc::clone(&shared), tx, notify };
        std::thread::Builder::new().name(thread_name.into()).spawn(move || {
            work(&worker);
            worker.set_state(ConnState::Stopped);
        })?;
        Ok(LiveHandle { name, shared, rx })
    }

    /// What the source is called in the UI (never contains credentials).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every event that arrived since the last call, in order. Never blocks.
    pub fn poll(&self) -> Vec<LiveEvent> {
        let mut events = Vec::new();
        // Empty or disconnected (the worker ended): either way, nothing more for now.
        while let Ok(event) = self.rx.try_recv() {
            events.push(event);
        }
        events
    }

    /// The current connection state. The worker holds the lock only to copy a value,
    /// never across network IO, so this does not wait on the network.
    pub fn state(&self) -> ConnState {
        self.shared.lock().state.clone()
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.shared.lock().paused
    }

    /// Stops syncing after the current request; [`resume`](Self::resume) continues where
    /// it stopped (the gap is then backfilled).
    pub fn pause(&self) {
        self.shared.lock().paused = true;
    }

    /// Continues after [`pause`](Self::pause), or retries after [`ConnState::Failed`].
    pub fn resume(&self) {
        let mut c = self.shared.lock();
        c.paused = false;
        c.wake = true;
        self.shared.cond.notify_all();
    }

    /// Syncs now instead of at the end of the current wait (interval or backoff).
    pub fn sync_now(&self) {
        self.shared.lock().wake = true;
        self.shared.cond.notify_all();
    }

    /// Asks the worker to end; returns at once. The worker finishes the request in
    /// flight (bounded by its timeout), reports [`ConnState::Stopped`] and exits.
    pub fn stop(&self) {
        let mut c = self.shared.lock();
        c.stop = true;
        c.wake = true;
        self.shared.cond.notify_all();
    }

    /// Counters since the start.
    pub fn stats(&self) -> LiveStats {
        let c = &self.shared.counters;
        LiveStats {
            requests: c.requests.load(Ordering::Relaxed),
            bytes_received: c.bytes_received.load(Ordering::Relaxed),
            samples: c.samples.load(Ordering::Relaxed),
            duplicates_dropped: c.duplicates_dropped.load(Ordering::Relaxed),
            non_finite_dropped: c.non_finite_dropped.load(Ordering::Relaxed),
        }
    }
}

impl Drop for LiveHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Why a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The time ran out.
    Timeout,
    /// `sync_now` or `resume` was called.
    Woken,
    /// `stop` was called (or the handle was dropped).
    Stop,
}

/// The worker's side: sends events, publishes the state, waits interruptibly.
pub(crate) struct Worker {
    shared: Arc<Shared>,
    tx: Sender<LiveEvent>,
    notify: Option<Notify>,
}

impl Worker {
    /// Sends an event; false when the handle is gone (the worker should end).
    pub(crate) fn emit(&self, event: LiveEvent) -> bool {
        if let LiveEvent::Samples { ts, .. } = &event {
            self.shared.counters.samples.fetch_add(ts.len() as u64, Ordering::Relaxed);
        }
        let sent = self.tx.send(event).is_ok();
        if let Some(notify) = &self.notify {
            notify();
        }
        sent
    }

    /// Publishes a state (and reports it as an event when it changed).
    pub(crate) fn set_state(&self, state: ConnState) {
        let changed = {
            let mut c = self.shared.lock();
            let changed = c.state != state;
            c.state = state.clone();
            changed
        };
        if changed {
            self.emit(LiveEvent::State(state));
        }
    }

    /// True once `stop` was called.
    pub(crate) fn stopped(&self) -> bool {
        self.shared.lock().stop
    }

    /// True while paused.
    pub(crate) fn paused(&self) -> bool {
        self.shared.lock().paused
    }

    /// Waits up to `timeout` (forever with `None`), ending early on stop, resume or
    /// sync-now.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> Wake {
        let mut c = self.shared.lock();
        let deadline = timeout.map(Deadline::after);
        loop {
            if c.stop {
                return Wake::Stop;
            }
            if c.wake {
                c.wake = false;
                return Wake::Woken;
            }
            let remaining = match &deadline {
                Some(d) => match d.remaining() {
                    Some(r) => r,
                    None => return Wake::Timeout,
                },
                None => Duration::from_secs(3600),
            };
            c = match self.shared.cond.wait_timeout(c, remaining) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Adds to the counters.
    pub(crate) fn count(&self, requests: u64, bytes: u64, duplicates: u64, non_finite: u64) {
        let c = &self.shared.counters;
        c.requests.fetch_add(requests, Ordering::Relaxed);
        c.bytes_received.fetch_add(bytes, Ordering::Relaxed);
        c.duplicates_dropped.fetch_add(duplicates, Ordering::Relaxed);
        c.non_finite_dropped.fetch_add(non_finite, Ordering::Relaxed);
    }
}

/// A point in monotonic time, for waits.
struct Deadline(std::time::Instant);

impl Deadline {
    #[allow(clippy::disallowed_methods)] // the IO layer may read the wall clock
    fn after(d: Duration) -> Self {
        let now = std::time::Instant::now();
        Deadline(now.checked_add(d).unwrap_or(now + Duration::from_secs(86_400 * 365)))
    }

    #[allow(clippy::disallowed_methods)] // the IO layer may read the wall clock
    fn remaining(&self) -> Option<Duration> {
        let left = self.0.saturating_duration_since(std::time::Instant::now());
        (!left.is_zero()).then_some(left)
    }
}

/// Removes every occurrence of a secret from a message (a server may echo request
/// headers in an error page; the message must not carry them into logs or the UI).
pub(crate) fn redact(message: &str, secrets: &[&str]) -> String {
    let mut out = message.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 3) {
        out = out.replace(secret, "***");
    }
    out
}

/// An empty scenario for a live session. History grows as samples arrive; `start` and
/// `end` follow the samples (see [`apply`]).
pub fn live_scenario(name: &str, description: &str, resolution_secs: i64) -> Scenario {
    Scenario {
        name: name.to_string(),
        description: description.to_string(),
        seed: 0,
        resolution_secs: resolution_secs.max(1),
        start: 0,
        end: 0,
        graph: TwinGraph::new(),
        telemetry: TelemetryStore::with_retention(RetentionPolicy::default()),
        workloads: BTreeMap::new(),
        policies: Vec::new(),
    }
}

/// What [`apply`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    /// Twins added to the graph.
    pub twins_added: usize,
    /// Dependencies added.
    pub edges_added: usize,
    /// Samples appended to the store.
    pub samples_added: usize,
    /// Samples dropped because the series already held that timestamp or a later one.
    pub duplicates_dropped: usize,
    /// Configuration values set or changed.
    pub config_values: usize,
    /// Of those, the ones recorded as changes in configuration history.
    pub config_changes: usize,
    /// States reported, in order (the last is the current one).
    pub states: Vec<ConnState>,
    /// Sync rounds completed.
    pub synced: Vec<SyncReport>,
    /// Warnings, in order.
    pub warnings: Vec<String>,
    /// Problems applying events (a store error); the events are skipped.
    pub errors: Vec<String>,
}

/// Folds events into a scenario: twins and dependencies into the graph (first report
/// wins), samples into the store after dropping any at or before the series' last
/// timestamp (so a replayed or overlapping batch can never duplicate a sample),
/// configuration values into the twin (see [`apply_config`]), and the scenario's
/// `start`/`end` widened to cover the samples and configuration times (end = last +
/// resolution).
pub fn apply(scenario: &mut Scenario, events: Vec<LiveEvent>) -> Applied {
    let mut applied = Applied::default();
    let mut touched = false;
    let mut config_span: Option<(UnixSecs, UnixSecs)> = None;
    for event in events {
        match event {
            LiveEvent::Twin(twin) => {
                if scenario.graph.twin(&twin.id).is_none() && scenario.graph.add_twin(twin).is_ok() {
                    applied.twins_added += 1;
                }
            }
            LiveEvent::Dependency { from, to, dependency } => {
                // The graph refuses self-edges, unknown twins and repeats; all are fine to skip.
                if scenario.graph.add_dependency(&from, &to, dependency).is_ok() {
                    applied.edges_added += 1;
                }
            }
            LiveEvent::Samples { key, ts, values } => {
                if scenario.graph.twin(&key.twin).is_none() {
                    let mut twin = Twin::new(key.twin.clone(), TwinKind::Service);
                    twin.tags.insert("live".into());
                    if scenario.graph.add_twin(twin).is_ok() {
                        applied.twins_added += 1;
                    }
                }
                let last = scenario.telemetry.series(&key).and_then(crate::model::telemetry::Series::last_ts);
                let mut keep_ts = Vec::with_capacity(ts.len());
                let mut keep_values = Vec::with_capacity(ts.len());
                let mut floor = last;
                for (t, v) in ts.into_iter().zip(values) {
                    if floor.is_some_and(|f| t <= f) || !v.is_finite() {
                        applied.duplicates_dropped += 1;
                        continue;
                    }
                    floor = Some(t);
                    keep_ts.push(t);
                    keep_values.push(v);
                }
                if keep_ts.is_empty() {
                    continue;
                }
                match scenario.telemetry.append_many(&key, &keep_ts, &keep_values) {
                    Ok(()) => {
                        applied.samples_added += keep_ts.len();
                        touched = true;
                    }
                    Err(e) => applied.errors.push(e.to_string()),
                }
            }
            LiveEvent::Config { twin, key, at, value, baseline } => {
                if scenario.graph.twin(&twin).is_none() {
                    let mut new = Twin::new(twin.clone(), TwinKind::Service);
                    new.tags.insert("live".into());
                    if scenario.graph.add_twin(new).is_ok() {
                        applied.twins_added += 1;
                    }
                }
                let Some(target) = scenario.graph.twin_mut(&twin) else {
                    continue;
                };
                let outcome = apply_config(target, key, at, value, baseline);
                if matches!(outcome, ConfigApplied::Set | ConfigApplied::Changed) {
                    applied.config_values += 1;
                    applied.config_changes += usize::from(outcome == ConfigApplied::Changed);
                    config_span = Some(config_span.map_or((at, at), |(lo, hi)| (lo.min(at), hi.max(at))));
                }
            }
            LiveEvent::State(state) => applied.states.push(state),
            LiveEvent::Synced(report) => applied.synced.push(report),
            LiveEvent::Warning(w) => applied.warnings.push(w),
        }
    }
    // Bounded memory: past the raw window, chunks become hourly rollups (checked at most
    // once per rollup bucket of data time).
    if touched && let Err(e) = scenario.telemetry.maintain_retention() {
        applied.errors.push(e.to_string());
    }
    let resolution = scenario.resolution_secs.max(1);
    let mut span = if touched { scenario.telemetry.span() } else { None };
    if let Some((lo, hi)) = config_span {
        span = Some(span.map_or((lo, hi), |(first, last)| (first.min(lo), last.max(hi))));
    }
    if let Some((first, last)) = span {
        let (start, end) = (first - first.rem_euclid(resolution), last + resolution);
        // A fresh live scenario has start = end = 0: take the span as it is. Later
        // batches only widen it (configuration times can lie before the samples).
        if scenario.start == 0 && scenario.end == 0 {
            (scenario.start, scenario.end) = (start, end);
        } else {
            scenario.start = scenario.start.min(start);
            scenario.end = scenario.end.max(end);
        }
    }
    applied
}

/// What [`apply_config`] did with a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigApplied {
    /// The key had no value and no history, and the value is a baseline: it became the
    /// configuration before history (no change entry).
    Set,
    /// Recorded as a change at its time (from absent, or from the previous value).
    Changed,
    /// Equal to the key's current value: no change (a replay, a reconnect).
    Unchanged,
    /// Older than a change of the key already recorded: dropped, so history stays in
    /// time order and the current value stays the newest.
    Stale,
}

/// Folds one configuration value into a twin: a value equal to the current one is no
/// change; a baseline value for a key with no value and no history sets it without a
/// change entry; anything else is a [`ConfigChange`] at `at` (inserted in time order,
/// after any change at the same second), so [`Twin::config_at`] and drift's `since`
/// see when it happened.
pub fn apply_config(twin: &mut Twin, key: String, at: UnixSecs, value: ConfigValue, baseline: bool) -> ConfigApplied {
    if twin.config.get(&key) == Some(&value) {
        return ConfigApplied::Unchanged;
    }
    let mut history = twin.config_history.iter().filter(|c| c.key == key).peekable();
    let has_history = history.peek().is_some();
    if history.any(|c| c.at > at) {
        return ConfigApplied::Stale;
    }
    if baseline && !has_history && !twin.config.contains_key(&key) {
        twin.config.insert(key, value);
        return ConfigApplied::Set;
    }
    let before = twin.config.insert(key.clone(), value.clone());
    let position = twin.config_history.partition_point(|c| c.at <= at);
    twin.config_history.insert(position, ConfigChange { at, key, before, after: Some(value) });
    ConfigApplied::Changed
}

/// Telemetry file formats a snapshot can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TelemetryFormat {
    /// Long Parquet (`timestamp,twin,metric,value`, Int64 seconds).
    #[default]
    Parquet,
    /// Long CSV with RFC 3339 timestamps.
    Csv,
}

impl TelemetryFormat {
    fn extension(self) -> &'static str {
        match self {
            TelemetryFormat::Parquet => "parquet",
            TelemetryFormat::Csv => "csv",
        }
    }
}

/// What [`snapshot`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotSummary {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The telemetry file beside it (absent when there were no samples).
    pub telemetry: Option<PathBuf>,
    /// Twins written.
    pub twins: usize,
    /// Dependencies written.
    pub edges: usize,
    /// Series written.
    pub series: usize,
    /// Samples written.
    pub samples: usize,
    /// Configuration keys of all twins (as they are now).
    pub config_keys: usize,
    /// Configuration changes written (the twins' configuration history).
    pub config_changes: usize,
}

/// Writes a live scenario as a scenario file (RON) and its history as a telemetry file
/// beside it, named `<scenario stem>.telemetry.<ext>` and referenced by the scenario's
/// `telemetry` field, so `twinbench info` and the workbench load it like any scenario.
/// Each twin's configuration is written as it was before its recorded history
/// (`config`) plus every change with its time (`changes`), which is how scenario files
/// describe configuration history, so the reloaded twin has the same configuration,
/// history and drift `since`. Twins are written sorted by id and dependencies by
/// (from, to, kind): the same samples give the same bytes.
pub fn snapshot(scenario: &Scenario, out: &Path, format: TelemetryFormat) -> Result<SnapshotSummary, IoError> {
    let mut twins: Vec<&Twin> = scenario.graph.twins().collect();
    twins.sort_by(|a, b| a.id.cmp(&b.id));
    if twins.is_empty() {
        return Err(IoError::invalid(out, "nothing to snapshot: no twins were discovered"));
    }
    let twin_files: Vec<TwinFile> = twins.iter().map(|t| twin_file(t)).collect();
    let mut deps: Vec<DependencyFile> = scenario
        .graph
        .edges()
        .into_iter()
        .map(|(from, to, d)| DependencyFile {
            from: from.as_str().into(),
            to: to.as_str().into(),
            kind: d.kind.as_str().into(),
            traffic_share: d.traffic_share,
            latency_ms: d.latency_ms,
        })
        .collect();
    deps.sort_by(|a, b| (&a.from, &a.to, &a.kind).cmp(&(&b.from, &b.to, &b.kind)));
    let resolution = scenario.resolution_secs.max(1);
    let mut series = Vec::new();
    for key in scenario.telemetry.keys() {
        let data = scenario
            .telemetry
            .series(key)
            .map(crate::model::telemetry::Series::read_all)
            .transpose()
            .map_err(|e| IoError::invalid(out, e.to_string()))?
            .unwrap_or_default();
        if !data.is_empty() {
            series.push((key.clone(), data));
        }
    }
    let samples: usize = series.iter().map(|(_, d)| d.len()).sum();
    // History covers the samples and every configuration change (a mapping may bring
    // configuration only: then the span `apply` kept, which includes the baselines).
    let (mut first, mut last) =
        scenario.telemetry.span().unwrap_or((scenario.start, (scenario.end - resolution).max(scenario.start)));
    for change in twins.iter().flat_map(|t| &t.config_history) {
        (first, last) = (first.min(change.at), last.max(change.at));
    }
    let start = first - first.rem_euclid(resolution);
    let span = (last + resolution - start).max(resolution);
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("snapshot");
    let telemetry_name = format!("{stem}.telemetry.{}", format.extension());
    let telemetry_path = out.parent().unwrap_or(Path::new("")).join(&telemetry_name);
    if !series.is_empty() {
        super::telemetry::write_long(&telemetry_path, &series)?;
    }
    let file = ScenarioFile {
        version: FORMAT_VERSION,
        name: scenario.name.clone(),
        description: scenario.description.clone(),
        seed: scenario.seed,
        resolution_secs: resolution,
        start: timestamp_field(start),
        days: span as f64 / DAY_SECS as f64,
        retention: None,
        twins: twin_files,
        dependencies: deps,
        policies: Vec::new(),
        telemetry: (!series.is_empty()).then(|| telemetry_name.clone()),
        logs: Vec::new(),
    };
    save(out, &file)?;
    Ok(SnapshotSummary {
        scenario: out.to_path_buf(),
        telemetry: (!series.is_empty()).then_some(telemetry_path),
        twins: file.twins.len(),
        edges: file.dependencies.len(),
        series: series.len(),
        samples,
        config_keys: twins.iter().map(|t| t.config.len()).sum(),
        config_changes: twins.iter().map(|t| t.config_history.len()).sum(),
    })
}

fn twin_file(t: &Twin) -> TwinFile {
    TwinFile {
        id: t.id.as_str().into(),
        kind: t.kind.as_str().into(),
        name: (t.name != t.id.as_str()).then(|| t.name.clone()),
        tags: t.tags.iter().cloned().collect(),
        // Every recorded change undone: the configuration at the start of history.
        config: t.config_at(UnixSecs::MIN).iter().map(|(k, v)| (k.clone(), ConfigValueFile::from(v))).collect(),
        capacity: CapacityFile {
            cpu_cores: t.capacity.cpu_cores,
            memory_gib: t.capacity.memory_gib,
            disk_gib: t.capacity.disk_gib,
            replicas: t.capacity.replicas,
            network_mbps: t.capacity.network_mbps,
        },
        metrics: BTreeMap::new(),
        changes: t
            .config_history
            .iter()
            .map(|c| ChangeFile {
                at_hours: None,
                at: Some(format_rfc3339(c.at)),
                key: c.key.clone(),
                value: c.after.as_ref().map(ConfigValueFile::from),
            })
            .collect(),
    }
}

/// A dependency of a kind with default attributes.
pub(crate) fn edge(kind: EdgeKind) -> Dependency {
    Dependency::new(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(1) };
        let ms: Vec<u128> = (0..6).map(|a| b.delay(a).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn apply_drops_duplicates_and_widens_the_span() {
        let mut s = live_scenario("live", "", 60);
        let key = SeriesKey::new("db", "cpu_usage");
        let samples = |ts: &[i64]| LiveEvent::Samples {
            key: key.clone(),
            ts: ts.to_vec(),
            values: ts.iter().map(|t| *t as f64 / 60.0).collect(),
        };
        let a = apply(
            &mut s,
            vec![LiveEvent::Twin(Twin::new(TwinId::new("db"), TwinKind::Database)), samples(&[600, 660, 720])],
        );
        assert_eq!((a.twins_added, a.samples_added, a.duplicates_dropped), (1, 3, 0));
        // A batch overlapping what is stored: only the new samples land.
        let a = apply(&mut s, vec![samples(&[660, 720, 780, 780, 840])]);
        assert_eq!((a.samples_added, a.duplicates_dropped), (2, 3));
        let data = s.telemetry.series(&key).unwrap().read_all().unwrap();
        assert_eq!(data.ts, vec![600, 660, 720, 780, 840]);
        assert_eq!((s.start, s.end), (600, 900));
    }

    fn config_event(twin: &str, key: &str, at: i64, value: ConfigValue, baseline: bool) -> LiveEvent {
        LiveEvent::Config { twin: TwinId::new(twin), key: key.into(), at, value, baseline }
    }

    #[test]
    fn configuration_values_become_config_and_history() {
        let mut twin = Twin::new("db", TwinKind::Database);
        let set = |twin: &mut Twin, at, v: i64, baseline| {
            apply_config(twin, "max_connections".into(), at, ConfigValue::Int(v), baseline)
        };
        assert_eq!(set(&mut twin, 600, 100, true), ConfigApplied::Set);
        assert!(twin.config_history.is_empty());
        assert_eq!(set(&mut twin, 660, 100, false), ConfigApplied::Unchanged);
        assert_eq!(set(&mut twin, 900, 500, false), ConfigApplied::Changed);
        // Replayed and older values change nothing.
        assert_eq!(set(&mut twin, 900, 500, false), ConfigApplied::Unchanged);
        assert_eq!(set(&mut twin, 800, 300, false), ConfigApplied::Stale);
        assert_eq!(twin.config["max_connections"], ConfigValue::Int(500));
        assert_eq!(
            twin.config_history,
            vec![ConfigChange {
                at: 900,
                key: "max_connections".into(),
                before: Some(ConfigValue::Int(100)),
                after: Some(ConfigValue::Int(500)),
            }]
        );
        // A key first seen after the start of the window appears as a change from absent,
        // and an earlier change of another key is inserted in time order.
        let kernel = apply_config(&mut twin, "kernel".into(), 700, ConfigValue::Str("6.1".into()), false);
        assert_eq!(kernel, ConfigApplied::Changed);
        let times: Vec<(i64, &str)> = twin.config_history.iter().map(|c| (c.at, c.key.as_str())).collect();
        assert_eq!(times, vec![(700, "kernel"), (900, "max_connections")]);
        assert_eq!(twin.config_history[0].before, None);
        assert!(!twin.config_at(650).contains_key("kernel"));
        assert_eq!(twin.config_at(899)["max_connections"], ConfigValue::Int(100));
        // A baseline for a key that already has history is a change like any other.
        assert_eq!(
            apply_config(&mut twin, "kernel".into(), 950, ConfigValue::Str("6.2".into()), true),
            ConfigApplied::Changed
        );
    }

    #[test]
    fn a_snapshot_keeps_configuration_and_its_history() {
        let mut s = live_scenario("live", "", 60);
        let key = SeriesKey::new("db", "cpu_usage");
        let ts: Vec<i64> = (0..20).map(|i| 6000 + i * 60).collect();
        let a = apply(
            &mut s,
            vec![
                LiveEvent::Twin(Twin::new(TwinId::new("db"), TwinKind::Database)),
                LiveEvent::Samples { key: key.clone(), values: ts.iter().map(|_| 1.0).collect(), ts: ts.clone() },
                config_event("db", "max_connections", 6000, ConfigValue::Int(100), true),
                config_event("db", "kernel", 6000, ConfigValue::Str("6.1.0-17".into()), true),
                config_event("db", "max_connections", 6600, ConfigValue::Int(500), false),
                config_event("db", "max_connections", 6660, ConfigValue::Int(500), false),
                config_event("db", "shared_buffers", 6720, ConfigValue::Float(0.25), false),
                // A configuration-only twin: created on the fly.
                config_event("cache", "maxmemory", 6000, ConfigValue::Int(1 << 30), true),
            ],
        );
        assert_eq!((a.config_values, a.config_changes, a.twins_added), (5, 2, 2));
        assert_eq!((s.start, s.end), (6000, 6000 + 20 * 60));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("snap.ron");
        let summary = snapshot(&s, &out, TelemetryFormat::Csv).unwrap();
        assert_eq!((summary.config_keys, summary.config_changes), (4, 2));
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains("\"max_connections\": 100"), "{text}");
        let loaded = crate::io::scenario::load(&out).unwrap();
        for id in ["db", "cache"] {
            let (a, b) = (s.graph.twin(&TwinId::new(id)).unwrap(), loaded.graph.twin(&TwinId::new(id)).unwrap());
            assert_eq!(a.config, b.config, "{id}");
            assert_eq!(a.config_history, b.config_history, "{id}");
        }
        let db = loaded.graph.twin(&TwinId::new("db")).unwrap();
        assert_eq!(db.config_at(6599)["max_connections"], ConfigValue::Int(100));
        assert_eq!(db.config["shared_buffers"], ConfigValue::Float(0.25));
    }

    #[test]
    fn configuration_alone_gives_the_scenario_its_span() {
        let mut s = live_scenario("live", "", 60);
        apply(&mut s, vec![config_event("h", "kernel", 6000, ConfigValue::Str("a".into()), true)]);
        apply(&mut s, vec![config_event("h", "kernel", 9000, ConfigValue::Str("b".into()), false)]);
        assert_eq!((s.start, s.end), (6000, 9060));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("cfg.ron");
        let summary = snapshot(&s, &out, TelemetryFormat::Csv).unwrap();
        assert_eq!((summary.samples, summary.config_changes), (0, 1));
        let loaded = crate::io::scenario::load(&out).unwrap();
        let h = loaded.graph.twin(&TwinId::new("h")).unwrap();
        assert_eq!(h.config_at(8999)["kernel"], ConfigValue::Str("a".into()));
        assert_eq!(h.config["kernel"], ConfigValue::Str("b".into()));
        assert!(loaded.start <= 6000 && loaded.end > 9000, "{} {}", loaded.start, loaded.end);
    }

    #[test]
    fn redaction_removes_every_copy() {
        assert_eq!(redact("Bearer s3cret and s3cret", &["s3cret"]), "Bearer *** and ***");
    }
}
