//! The Prometheus live source: backfill through `/api/v1/query_range`, then periodic
//! delta syncs, on a named background thread (`prometheus-sync`).
//!
//! # What a series is
//! Each mapped query is evaluated on a grid of whole seconds: `start`, `start + step`,
//! … with `start` a multiple of `step` (the mapping's `step`, default 60 s). Prometheus
//! answers a range query with the query's value at each grid time (the newest sample at
//! or before it, within the server's lookback), so a twin's series holds one sample per
//! grid time where the query had a new value (see below). Data scraped exactly on the
//! grid comes back bit for bit.
//!
//! # Only what the server had
//! Within its lookback (5 minutes by default) Prometheus answers a grid time with the
//! newest sample before it, however old: a series that ended at 10:00 still has values
//! at 10:01 … 10:05, a short gap is filled with the sample before it, and a scrape
//! interval longer than the step repeats each sample. Those grid points are not
//! samples the server had, so they are dropped: next to each series query (and over
//! the same grid) the sync asks `timestamp(query)`, which for a selector gives the
//! time of the sample behind each grid point, and keeps a grid point at `t` only when
//! its sample is newer than the previous grid time (`sample > t - step`, so each
//! sample is stored once, at the first grid time that sees it, and a grid point whose
//! sample is older is a repeat, counted in `duplicates_dropped`). The rule needs no
//! state across requests, so backfill chunks and live syncs apply it alike. A series
//! that ends before now therefore holds exactly the samples written, and its last
//! sample is its last grid point with data.
//!
//! What "the sample behind a grid point" means depends on the expression. For a
//! selector (`up`, `node_load1{job="node"}`, in parentheses or not) it is the raw
//! sample. For anything computed — aggregations (`sum by (instance) (…)`), arithmetic
//! (`x * 100`), range functions (`rate(x[5m])`) — Prometheus gives the evaluation time
//! itself, so every grid point counts as new and is kept: such a series can still run
//! up to the lookback (or the range function's window) past its inputs' last sample,
//! as before. A selector is therefore the exact choice; for a computed series, map
//! the selector itself where the twin's value is one series. When the server cannot
//! take `timestamp()` of a query (a scalar expression; series that differ only by
//! name) the query's grid points are all kept and the user is warned once. The cost
//! is a second request per chunk and series query, with one value per grid point like
//! the first (its bytes are counted like any other request's).
//!
//! # Timestamps
//! Prometheus sends timestamps as float seconds with millisecond precision. They are
//! read as milliseconds (`round(t × 1000)`, exact for every value it sends) and stored
//! as `floor(ms / 1000)` whole seconds. Because start and step are whole seconds, grid
//! times are whole seconds and the floor changes nothing. In general the floor is
//! monotonic and maps two samples at least 1 s apart to different seconds, so for
//! scrape intervals ≥ 1 s it can neither merge nor reorder samples; equal seconds (only
//! possible for sub-second data) are deduplicated, keeping the first.
//!
//! # The delta
//! Every query remembers the last grid time it has completely read (its cursor); the
//! next request starts one step after it, so a sync transfers only new grid points.
//! Every series remembers its last timestamp, and anything at or before it is dropped
//! (counted in [`LiveStats::duplicates_dropped`](crate::io::live::LiveStats)). A request
//! that fails leaves the cursor where it was: after a server restart, or however long
//! an outage, the next successful sync reads the whole gap, once. Backfill starts at
//! `now - backfill` (no earlier than the server's retention) and is split into requests
//! of at most `max_points` grid points per series (Prometheus refuses more than 11,000)
//! and at most `points_budget` points over all series of a query. The newest grid time
//! read is `now - settle`, so a scrape still being written is not read half-way.
//!
//! # Configuration
//! The mapping's `config:` entries are read the same way, after the series, on the same
//! grid, cursors and chunking: their values over the backfill window first, then the
//! new grid points at each sync. [`config::ConfigTracker`] turns each key's values into
//! [`LiveEvent::Config`](crate::io::live::LiveEvent): the value at the window's first
//! grid time is the twin's configuration before history (`baseline`), and each later
//! change an event at the first grid time the new value is seen, which
//! [`io::live::apply`](crate::io::live::apply) records as configuration history.
//! Configuration changes are rare, but a coarser grid would only make their times less
//! precise, and a sync transfers only new grid points, so the cost is small: one point
//! per key per step. A value equal to the current one is no change (replays add
//! nothing); a key whose series disappears keeps its last value (see
//! [`config`] for every rule).
//!
//! # Faults
//! Network errors, timeouts, 5xx answers, bodies that are not the API's JSON and error
//! envelopes other than `bad_data` put the source in
//! [`ConnState::Retrying`](crate::io::live::ConnState) with exponential backoff;
//! refused authentication, `bad_data` (bad PromQL) and TLS failures in
//! [`ConnState::Failed`](crate::io::live::ConnState) until `resume()`.

pub mod auth;
pub mod client;
pub mod config;
pub mod mapping;
pub mod promql;
pub mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use self::auth::Auth;
use self::client::{ApiError, Client, ClientConfig, Matrix};
use self::config::ConfigTracker;
use self::mapping::{Mapping, SeriesMapping, TwinSelector};
use crate::io::live::{Backoff, Clock, ConnState, LiveEvent, LiveHandle, Notify, SyncReport, Wake, Worker, edge};
use crate::model::ids::is_valid_name;
use crate::model::{EdgeKind, SeriesKey, Twin, TwinId, TwinKind, UnixSecs};

/// Prometheus' limit on points per series in one range query.
pub const SERVER_MAX_POINTS: usize = 11_000;

/// How to connect and what to fetch.
#[derive(Clone)]
pub struct PrometheusConfig {
    /// Server URL, `http(s)://host:port[/prefix]`, without credentials.
    pub url: String,
    /// What to fetch and how it maps to twins.
    pub mapping: Mapping,
    /// Credentials (resolved from env or file), overriding the mapping's.
    pub auth: Option<Auth>,
    /// Extra trusted CA certificates (PEM).
    pub ca_pem: Option<Vec<u8>>,
    /// How far back the first sync reaches.
    pub backfill: Duration,
    /// Limit of one request.
    pub timeout: Duration,
    /// Delay between retries.
    pub backoff: Backoff,
    /// Grid points per series in one request (at most [`SERVER_MAX_POINTS`]).
    pub max_points: usize,
    /// Grid points over all series of a query in one request (bounds response size).
    pub points_budget: usize,
    /// Where "now" comes from.
    pub clock: Clock,
    /// Called after events are sent (the GUI requests a repaint).
    pub notify: Option<Notify>,
}

impl std::fmt::Debug for PrometheusConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusConfig")
            .field("url", &self.url)
            .field("auth", &self.auth.is_some())
            .field("backfill", &self.backfill)
            .finish_non_exhaustive()
    }
}

impl PrometheusConfig {
    /// Defaults: 1 h backfill, 30 s timeout, backoff 1 s → 60 s, 11,000 points per
    /// series and 2,000,000 per request, the system clock.
    pub fn new(url: &str, mapping: Mapping) -> Self {
        PrometheusConfig {
            url: url.to_string(),
            mapping,
            auth: None,
            ca_pem: None,
            backfill: Duration::from_secs(3600),
            timeout: Duration::from_secs(30),
            backoff: Backoff::default(),
            max_points: SERVER_MAX_POINTS,
            points_budget: 2_000_000,
            clock: Clock::System,
            notify: None,
        }
    }
}

/// Starts syncing on a background thread. Fails at once (without network) on a bad URL,
/// an unreadable CA certificate or a mapping credential that cannot be read; everything
/// else is reported through the handle's state.
pub fn start(mut config: PrometheusConfig) -> Result<LiveHandle, String> {
    if config.auth.is_none()
        && let Some(source) = &config.mapping.auth
    {
        config.auth = Some(source.resolve()?);
    }
    if config.ca_pem.is_none()
        && let Some(path) = &config.mapping.ca_file
    {
        config.ca_pem =
            Some(std::fs::read(path).map_err(|e| format!("cannot read the CA file ({e}): {}", path.display()))?);
    }
    let client = Client::new(ClientConfig {
        base_url: config.url.clone(),
        auth: config.auth.clone(),
        ca_pem: config.ca_pem.clone(),
        timeout: config.timeout,
    })?;
    let name = client.base_url().to_string();
    let notify = config.notify.clone();
    LiveHandle::spawn(name, "prometheus-sync", notify, move |worker| run(worker, &client, &config))
        .map_err(|e| format!("cannot start the sync thread: {e}"))
}

/// Checks that a server answers and accepts every query of a mapping, without syncing:
/// the runtime info, then each query over its last five grid points. Blocking (up to
/// `timeout` per request): call it on a background thread. Returns a one-line summary.
pub fn test_connection(config: &PrometheusConfig) -> Result<String, String> {
    let mut config = config.clone();
    if config.auth.is_none()
        && let Some(source) = &config.mapping.auth
    {
        config.auth = Some(source.resolve()?);
    }
    let client = Client::new(ClientConfig {
        base_url: config.url.clone(),
        auth: config.auth.clone(),
        ca_pem: config.ca_pem.clone(),
        timeout: config.timeout,
    })?;
    let (retention, _) = client.retention().map_err(|e| e.message().to_string())?;
    let step = config.mapping.step_secs.max(1);
    let end = config.clock.now().div_euclid(step) * step;
    let mut series = 0;
    for query in config.mapping.queries() {
        let m = client.query_range(query, end - 4 * step, end, step).map_err(|e| e.message().to_string())?;
        series += m.series.len();
    }
    let retention =
        retention.map_or_else(String::new, |r| format!(", retention {}", crate::io::time::format_duration(r)));
    Ok(format!(
        "{} answers: {} queries, {series} series in the last {} s{retention}",
        client.base_url(),
        config.mapping.queries().count(),
        4 * step
    ))
}

fn run(worker: &Worker, client: &Client, config: &PrometheusConfig) {
    let mut sync = SyncState::new(config);
    if !sync.emit_static(worker) {
        return;
    }
    let mut attempt: u32 = 0;
    loop {
        if worker.stopped() {
            return;
        }
        if worker.paused() {
            if worker.wait(None) == Wake::Stop {
                return;
            }
            continue;
        }
        match sync.round(client, worker) {
            Ok(Some(report)) => {
                attempt = 0;
                worker.set_state(ConnState::Connected { last_sync: report.until });
                if !worker.emit(LiveEvent::Synced(report)) {
                    return;
                }
                if worker.wait(Some(config.mapping.sync_interval)) == Wake::Stop {
                    return;
                }
            }
            // Paused or stopped between requests; the loop head decides.
            Ok(None) => {}
            Err(ApiError::Permanent(reason)) => {
                worker.set_state(ConnState::Failed { reason });
                if worker.wait(None) == Wake::Stop {
                    return;
                }
                attempt = 0;
            }
            Err(ApiError::Transient(reason)) => {
                let delay = config.backoff.delay(attempt);
                attempt = attempt.saturating_add(1);
                let in_secs = delay.as_millis().div_ceil(1000) as u64;
                worker.set_state(ConnState::Retrying { in_secs, attempt, reason });
                if worker.wait(Some(delay)) == Wake::Stop {
                    return;
                }
            }
        }
    }
}

/// The sync state: cursors per query, last timestamps per series, what was reported.
struct SyncState<'c> {
    config: &'c PrometheusConfig,
    step: i64,
    /// Per query (series entries, then config entries): the last grid time completely read.
    cursors: Vec<Option<UnixSecs>>,
    /// Per query: series in its last answer (sizes the next request).
    series_counts: Vec<usize>,
    last_ts: BTreeMap<SeriesKey, UnixSecs>,
    /// Per config entry: the first grid time of its first successful request (values
    /// seen there are the configuration before history).
    config_origins: Vec<Option<UnixSecs>>,
    tracker: ConfigTracker,
    twins: BTreeSet<TwinId>,
    edges: BTreeSet<(TwinId, TwinId, EdgeKind)>,
    warned: BTreeSet<String>,
    /// Series queries whose sample times the server cannot give (see [`Client::sample_times`]).
    without_sample_times: BTreeSet<usize>,
    /// Retention learned from the server: `None` = not asked yet, `Some(None)` = unknown.
    retention: Option<Option<Duration>>,
    rounds: u64,
}

impl<'c> SyncState<'c> {
    fn new(config: &'c PrometheusConfig) -> Self {
        let n = config.mapping.series.len() + config.mapping.config.len();
        SyncState {
            config,
            step: config.mapping.step_secs.max(1),
            cursors: vec![None; n],
            series_counts: vec![1; n],
            last_ts: BTreeMap::new(),
            config_origins: vec![None; config.mapping.config.len()],
            tracker: ConfigTracker::new(),
            twins: BTreeSet::new(),
            edges: BTreeSet::new(),
            warned: BTreeSet::new(),
            without_sample_times: BTreeSet::new(),
            retention: None,
            rounds: 0,
        }
    }

    /// Reports the mapping's static twins (and the dependencies between them).
    fn emit_static(&mut self, worker: &Worker) -> bool {
        let config = self.config;
        for t in &config.mapping.twins {
            let mut twin = Twin::new(t.id.clone(), t.kind);
            twin.tags.extend(t.tags.iter().cloned());
            twin.tags.insert("prometheus".into());
            self.twins.insert(t.id.clone());
            if !worker.emit(LiveEvent::Twin(twin)) {
                return false;
            }
        }
        self.emit_pending_static_edges(worker)
    }

    fn emit_pending_static_edges(&mut self, worker: &Worker) -> bool {
        let config = self.config;
        for d in &config.mapping.dependencies {
            if self.twins.contains(&d.from)
                && self.twins.contains(&d.to)
                && !self.emit_edge(worker, &d.from, &d.to, d.kind)
            {
                return false;
            }
        }
        true
    }

    fn emit_twin(&mut self, worker: &Worker, id: &TwinId, kind: TwinKind, tags: &[String]) -> bool {
        if self.twins.contains(id) {
            return true;
        }
        self.twins.insert(id.clone());
        let mut twin = Twin::new(id.clone(), kind);
        twin.tags.extend(tags.iter().cloned());
        twin.tags.insert("prometheus".into());
        worker.emit(LiveEvent::Twin(twin)) && self.emit_pending_static_edges(worker)
    }

    fn emit_edge(&mut self, worker: &Worker, from: &TwinId, to: &TwinId, kind: EdgeKind) -> bool {
        if from == to || !self.edges.insert((from.clone(), to.clone(), kind)) {
            return true;
        }
        worker.emit(LiveEvent::Dependency { from: from.clone(), to: to.clone(), dependency: edge(kind) })
    }

    fn warn(&mut self, worker: &Worker, message: String) {
        if self.warned.insert(message.clone()) {
            worker.emit(LiveEvent::Warning(message));
        }
    }

    /// One sync round over every query. `Ok(None)` when paused or stopped part-way
    /// (cursors keep what was read).
    fn round(&mut self, client: &Client, worker: &Worker) -> Result<Option<SyncReport>, ApiError> {
        let mut bytes = 0;
        if self.retention.is_none() {
            let (retention, wire) = client.retention()?;
            worker.count(1, wire, 0, 0);
            bytes += wire;
            self.retention = Some(retention);
        }
        let now = self.config.clock.now();
        let step = self.step;
        let end = (now - self.config.mapping.settle_secs).div_euclid(step) * step;
        let backfill = i64::try_from(self.config.backfill.as_secs()).unwrap_or(i64::MAX / 4);
        let mut earliest = now.saturating_sub(backfill);
        if let Some(Some(retention)) = self.retention {
            earliest = earliest.max(now.saturating_sub(i64::try_from(retention.as_secs()).unwrap_or(0)));
        }
        let first = earliest.div_euclid(step) * step + if earliest.rem_euclid(step) == 0 { 0 } else { step };
        let mut new_samples = 0;
        let mut queried = false;
        let initial = self.rounds == 0;
        let n_series = self.config.mapping.series.len();
        for q in 0..self.cursors.len() {
            let mut start = self.cursors[q].map_or(first, |c| c + step);
            while start <= end {
                if worker.stopped() || worker.paused() {
                    return Ok(None);
                }
                let per_series = self.config.max_points.clamp(2, SERVER_MAX_POINTS);
                let by_budget = self.config.points_budget / self.series_counts[q].max(1);
                let points = per_series.min(by_budget).max(2) as i64;
                let chunk_end = end.min(start + (points - 1) * step);
                let query = match q.checked_sub(n_series) {
                    None => &self.config.mapping.series[q].query,
                    Some(c) => &self.config.mapping.config[c].query,
                };
                let matrix = client.query_range(query, start, chunk_end, step)?;
                queried = true;
                worker.count(1, matrix.bytes, 0, 0);
                bytes += matrix.bytes;
                self.series_counts[q] = matrix.series.len().max(1);
                match q.checked_sub(n_series) {
                    None => {
                        let times = self.sample_times(client, worker, q, start, chunk_end)?;
                        if let Some(t) = &times {
                            bytes += t.bytes;
                        }
                        new_samples += self.ingest(worker, q, matrix, times.as_ref(), chunk_end)?;
                    }
                    Some(c) => {
                        let origin = *self.config_origins[c].get_or_insert(start);
                        if !self.ingest_config(worker, c, &matrix, origin, chunk_end) {
                            return Ok(None);
                        }
                    }
                }
                self.cursors[q] = Some(chunk_end);
                start = chunk_end + step;
            }
        }
        // Nothing was due (no new grid point since the last round): ask whether the
        // server is still there, so one that went away is noticed within a sync
        // interval rather than at the next grid point.
        if !queried && self.rounds > 0 {
            let wire = client.ping()?;
            worker.count(1, wire, 0, 0);
        }
        self.rounds += 1;
        let until = self.cursors.iter().map(|c| c.unwrap_or(end)).min().unwrap_or(end);
        Ok(Some(SyncReport { until, new_samples, bytes, initial }))
    }

    /// The sample times behind series query `q`'s grid points in `[start, end]` (see
    /// "Only what the server had"); `None` once the server could not give them for
    /// this query (it is warned about once, and not asked again).
    fn sample_times(
        &mut self,
        client: &Client,
        worker: &Worker,
        q: usize,
        start: UnixSecs,
        end: UnixSecs,
    ) -> Result<Option<Matrix>, ApiError> {
        if self.without_sample_times.contains(&q) {
            return Ok(None);
        }
        let query = &self.config.mapping.series[q].query;
        let times = client.sample_times(query, start, end, self.step)?;
        match &times {
            Some(t) => worker.count(1, t.bytes, 0, 0),
            None => {
                worker.count(1, 0, 0, 0);
                self.without_sample_times.insert(q);
                let message = format!(
                    "query `{query}`: the server cannot take timestamp() of it, so a grid point that only repeats an \
                     older sample (Prometheus' lookback) cannot be told from a new one and is kept"
                );
                self.warn(worker, message);
            }
        }
        Ok(times)
    }

    /// Turns one answer into events, keeping of each series only the grid points whose
    /// sample is new (`times`, see "Only what the server had"). Returns the number of
    /// samples delivered.
    fn ingest(
        &mut self,
        worker: &Worker,
        q: usize,
        mut matrix: Matrix,
        times: Option<&Matrix>,
        chunk_end: UnixSecs,
    ) -> Result<usize, ApiError> {
        let config = self.config;
        let mapping: &SeriesMapping = &config.mapping.series[q];
        for w in std::mem::take(&mut matrix.warnings) {
            self.warn(worker, format!("query `{}`: the server warns: {w}", mapping.query));
        }
        // Server order is sorted by labels already; sort anyway so the outcome never
        // depends on it.
        matrix.series.sort_by(|a, b| a.labels.cmp(&b.labels));
        let sample_times = times.map(|t| SampleTimes::new(t, self.step)).unwrap_or_default();
        let mut seen: BTreeMap<SeriesKey, String> = BTreeMap::new();
        let mut delivered = 0;
        let (mut duplicates, mut non_finite) = (0u64, 0u64);
        for series in matrix.series {
            let labels = format_labels(&series.labels);
            let twin = match &mapping.twin {
                TwinSelector::Fixed(id) => id.clone(),
                TwinSelector::Label(label) => match series.labels.get(label).map(|v| twin_id_from(v)) {
                    Some(Some(id)) => id,
                    _ => {
                        self.warn(
                            worker,
                            format!(
                                "query `{}`: a series has no usable label `{label}` ({labels}); it is skipped",
                                mapping.query
                            ),
                        );
                        continue;
                    }
                },
            };
            let key = SeriesKey::new(twin.clone(), mapping.metric.clone());
            if let Some(first) = seen.get(&key) {
                let message = format!(
                    "query `{}` returns several series for twin {} ({first} and {labels}); only the first is kept \
                     — aggregate, e.g. `sum by (…)`",
                    mapping.query, twin
                );
                self.warn(worker, message);
                continue;
            }
            seen.insert(key.clone(), labels);
            if !self.emit_twin(worker, &twin, mapping.kind, &mapping.tags) {
                return Ok(delivered);
            }
            for e in &mapping.edges {
                if let Some(target) = series.labels.get(&e.label).and_then(|v| twin_id_from(v))
                    && (!self.emit_twin(worker, &target, e.target_kind, &[])
                        || !self.emit_edge(worker, &twin, &target, e.kind))
                {
                    return Ok(delivered);
                }
            }
            let mut samples = series.samples;
            let before = samples.len();
            sample_times.keep_new(&series.labels, &mut samples);
            duplicates += (before - samples.len()) as u64;
            samples.sort_by_key(|(ms, _)| *ms);
            let mut last = self.last_ts.get(&key).copied();
            let mut ts = Vec::with_capacity(samples.len());
            let mut values = Vec::with_capacity(samples.len());
            for (ms, v) in samples {
                let t = ms.div_euclid(1000);
                if last.is_some_and(|l| t <= l) || t > chunk_end {
                    duplicates += 1;
                    continue;
                }
                if !v.is_finite() {
                    non_finite += 1;
                    continue;
                }
                last = Some(t);
                ts.push(t);
                values.push(v);
            }
            if let Some(l) = last {
                self.last_ts.insert(key.clone(), l);
            }
            if !ts.is_empty() {
                delivered += ts.len();
                if !worker.emit(LiveEvent::Samples { key, ts, values }) {
                    break;
                }
            }
        }
        worker.count(0, 0, duplicates, non_finite);
        Ok(delivered)
    }

    /// Turns one answer of config entry `c` into twins and configuration events.
    /// False when the handle is gone.
    fn ingest_config(
        &mut self,
        worker: &Worker,
        c: usize,
        matrix: &Matrix,
        origin: UnixSecs,
        chunk_end: UnixSecs,
    ) -> bool {
        let config = self.config;
        let mapping = &config.mapping.config[c];
        for w in &matrix.warnings {
            self.warn(worker, format!("config query `{}`: the server warns: {w}", mapping.query));
        }
        let answer = self.tracker.ingest(c, mapping, matrix, origin, chunk_end);
        for w in answer.warnings {
            self.warn(worker, w);
        }
        worker.count(0, 0, answer.duplicates, answer.non_finite);
        for twin in &answer.twins {
            if !self.emit_twin(worker, twin, mapping.kind, &mapping.tags) {
                return false;
            }
        }
        for u in answer.updates {
            let event = LiveEvent::Config { twin: u.twin, key: u.key, at: u.at, value: u.value, baseline: u.baseline };
            if !worker.emit(event) {
                return false;
            }
        }
        true
    }
}

/// The sample time behind each grid point of a query's series (the answer of
/// `timestamp(query)`), by label set without `__name__` (which `timestamp()` drops).
#[derive(Debug, Default)]
struct SampleTimes {
    /// Per label set: grid time (ms) → sample time (ms).
    by_labels: BTreeMap<BTreeMap<String, String>, BTreeMap<i64, i64>>,
    step_ms: i64,
}

impl SampleTimes {
    fn new(times: &Matrix, step_secs: i64) -> Self {
        let by_labels = times
            .series
            .iter()
            .map(|s| {
                let mut labels = s.labels.clone();
                labels.remove("__name__");
                // Seconds with millisecond precision, as timestamps are sent.
                let points =
                    s.samples.iter().filter(|(_, v)| v.is_finite()).map(|(g, v)| (*g, (v * 1000.0).round() as i64));
                (labels, points.collect())
            })
            .collect();
        SampleTimes { by_labels, step_ms: step_secs.saturating_mul(1000) }
    }

    /// Drops the grid points of a series whose sample is at or before the previous
    /// grid time: the server only repeated it through its lookback. A grid point
    /// without a known sample time is kept.
    fn keep_new(&self, labels: &BTreeMap<String, String>, samples: &mut Vec<(i64, f64)>) {
        let times = if labels.contains_key("__name__") {
            let mut without = labels.clone();
            without.remove("__name__");
            self.by_labels.get(&without)
        } else {
            self.by_labels.get(labels)
        };
        let Some(times) = times else {
            return;
        };
        samples.retain(|(grid_ms, _)| times.get(grid_ms).is_none_or(|at| *at > grid_ms - self.step_ms));
    }
}

/// A label value as a twin id: characters outside the id alphabet become `_`, at most
/// 128 characters. `None` for an empty value.
pub fn twin_id_from(value: &str) -> Option<TwinId> {
    let id: String = value
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/') { c } else { '_' })
        .take(128)
        .collect();
    is_valid_name(&id).then(|| TwinId::new(&id))
}

pub(crate) fn format_labels(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_become_twin_ids() {
        assert_eq!(twin_id_from("10.0.0.1:9100"), Some(TwinId::new("10.0.0.1:9100")));
        assert_eq!(twin_id_from("db primary#1"), Some(TwinId::new("db_primary_1")));
        assert_eq!(twin_id_from(""), None);
        assert_eq!(twin_id_from(&"x".repeat(300)).unwrap().as_str().len(), 128);
    }
}
