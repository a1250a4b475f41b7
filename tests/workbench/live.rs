//! Live connect against a real Prometheus (history written with promtool, the server
//! on loopback) and against recorded answers: exact values, chunked backfill past the
//! 11,000-point limit, a kill and restart mid-sync with nothing lost or duplicated,
//! faults as connection states, secrets that never leak, configuration and its history
//! from gauges and info metrics (through a snapshot to `twinbench check`'s drift), and
//! `twinbench connect`.
//!
//! The sources run on a manual clock stepped through the written history, so what
//! each sync must return is known exactly and no assertion depends on timing.

use std::path::Path;
use std::time::Duration;

use twinbench::io::live::{self, Backoff, Clock, ConnState, LiveHandle, SyncReport};
use twinbench::io::prometheus::client::{ApiError, Client, ClientConfig};
use twinbench::io::prometheus::{self, PrometheusConfig, mapping};
use twinbench::model::{ConfigChange, ConfigValue, EdgeKind, SeriesKey, Twin, TwinId, TwinKind};
use twinbench::scenario::Scenario;

use crate::prom::{Prometheus, Reply, Responder, Written, fixture_path, write_in};
use crate::support::{stderr, stdout, twinbench};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;

/// Values that test exactness: decimals, a float with a long expansion, tiny numbers.
fn value(i: usize, seed: usize) -> f64 {
    match i % 17 {
        3 => 51.846000000000004,
        5 => 0.1 + 0.2,
        7 => 1e-7 * i as f64,
        11 => -((i * 13 + seed) as f64) / 3.0,
        _ => ((i * 37 + seed * 11) % 1000) as f64 / 8.0,
    }
}

fn history(name: &str, labels: &[(&str, &str)], start: i64, points: usize, step: i64, seed: usize) -> Written {
    Written::new(name, labels, (0..points).map(|i| (start + i as i64 * step, value(i, seed))).collect())
}

/// A running source and the scenario its events are folded into.
struct Session {
    handle: LiveHandle,
    scenario: Scenario,
    reports: Vec<SyncReport>,
    states: Vec<ConnState>,
    warnings: Vec<String>,
}

impl Session {
    fn new(handle: LiveHandle, step: i64) -> Session {
        Session {
            handle,
            scenario: live::live_scenario("test", "", step),
            reports: Vec::new(),
            states: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn pump(&mut self) {
        let applied = live::apply(&mut self.scenario, self.handle.poll());
        assert!(applied.errors.is_empty(), "{:?}", applied.errors);
        self.reports.extend(applied.synced);
        self.states.extend(applied.states);
        self.warnings.extend(applied.warnings);
    }

    /// Pumps events until `done` holds (about 60 s at most).
    fn wait(&mut self, what: &str, done: impl Fn(&Session) -> bool) {
        for _ in 0..3000 {
            self.pump();
            if done(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("waited in vain for {what}; state {:?}; states seen {:?}", self.handle.state(), self.states);
    }

    /// Waits until a completed round reached `until`.
    fn synced_to(&mut self, until: i64) {
        self.wait(&format!("a sync up to {until}"), |s| s.reports.iter().any(|r| r.until >= until));
    }

    fn samples(&self, key: &SeriesKey) -> Vec<(i64, u64)> {
        let data = self.scenario.telemetry.series(key).map(|s| s.read_all().unwrap()).unwrap_or_default();
        data.ts.iter().zip(&data.values).map(|(t, v)| (*t, v.to_bits())).collect()
    }
}

fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|(t, v)| (*t, v.to_bits())).collect()
}

fn config(url: &str, mapping_text: &str, clock: Clock, backfill: Duration) -> PrometheusConfig {
    let mut m = mapping::parse(Path::new("test.yaml"), mapping_text).unwrap();
    m.settle_secs = 0;
    let mut c = PrometheusConfig::new(url, m);
    c.clock = clock;
    c.backfill = backfill;
    c.timeout = Duration::from_secs(10);
    c.backoff = Backoff { initial: Duration::from_millis(20), max: Duration::from_millis(200) };
    c
}

/// `twinbench connect` of `url` through `mapping` over `backfill` up to `end`, written
/// to `out`, with `extra` arguments.
fn snapshot(url: &str, mapping: &Path, backfill: &str, end: i64, out: &Path, extra: &[&str]) -> std::process::Output {
    let end = end.to_string();
    let mut args = vec!["connect", "--prometheus", url, "--mapping", mapping.to_str().unwrap()];
    args.extend(["--backfill", backfill, "--end", &end]);
    args.extend(extra);
    args.extend(["--out", out.to_str().unwrap()]);
    twinbench(&args)
}

const MAPPING: &str = "\
step: 60s
series:
  - {query: twin_cpu_usage, metric: cpu_usage, twin_label: instance, kind: database}
  - query: twin_memory_usage
    metric: memory_usage
    twin_label: instance
    kind: database
    edges: [{label: node, kind: runs_on}]
twins: [{id: app, kind: service, tags: [frontend]}]
dependencies: [{from: app, to: db-1}]
";

/// 6 hours at 60 s of cpu and memory for three databases on two nodes.
fn six_hours() -> Vec<Written> {
    let mut h = Vec::new();
    for (n, (db, node)) in [("db-1", "node-a"), ("db-2", "node-a"), ("db-3", "node-b")].into_iter().enumerate() {
        h.push(history("twin_cpu_usage", &[("instance", db)], T0, 361, 60, n));
        h.push(history("twin_memory_usage", &[("instance", db), ("node", node)], T0, 361, 60, n + 10));
    }
    h
}

#[test]
fn backfill_returns_exactly_what_was_written() {
    let written = six_hours();
    let Some(server) = Prometheus::start(&written) else { return };
    let end = T0 + 360 * 60;
    let handle =
        prometheus::start(config(&server.url(), MAPPING, Clock::manual(end), Duration::from_secs(6 * 3600))).unwrap();
    let mut s = Session::new(handle, 60);
    s.synced_to(end);
    for w in &written {
        let metric = if w.name == "twin_cpu_usage" { "cpu_usage" } else { "memory_usage" };
        let key = SeriesKey::new(w.label("instance"), metric);
        assert_eq!(s.samples(&key), bits(&w.samples), "{key}");
    }
    let g = &s.scenario.graph;
    assert_eq!(g.twin_count(), 6, "app, three databases, two nodes");
    assert_eq!(g.twin(&TwinId::new("db-2")).unwrap().kind, TwinKind::Database);
    assert_eq!(g.twin(&TwinId::new("node-b")).unwrap().kind, TwinKind::Host);
    let edges: Vec<(String, String, EdgeKind)> =
        g.edges().into_iter().map(|(a, b, d)| (a.to_string(), b.to_string(), d.kind)).collect();
    assert!(edges.contains(&("app".into(), "db-1".into(), EdgeKind::DependsOn)), "{edges:?}");
    assert!(edges.contains(&("db-3".into(), "node-b".into(), EdgeKind::RunsOn)), "{edges:?}");
    assert_eq!(edges.len(), 4, "{edges:?}");
    let stats = s.handle.stats();
    assert_eq!(stats.samples, 6 * 361);
    assert_eq!((stats.duplicates_dropped, stats.non_finite_dropped), (0, 0));
    assert!(matches!(s.handle.state(), ConnState::Connected { last_sync } if last_sync == end));
}

/// Grid times of a written series as Prometheus' grid sees them: each sample at the
/// first grid time at or after it.
fn on_grid(samples: &[(i64, f64)], step: i64) -> Vec<(i64, f64)> {
    samples.iter().map(|(t, v)| (t + (step - t.rem_euclid(step)).rem_euclid(step), *v)).collect()
}

/// Series that ended two hours before "now": Prometheus' 5-minute lookback would
/// repeat each last sample at five more grid points, fill a short gap with the sample
/// before it, and repeat a sample scraped off the grid; none of that is stored, in
/// backfill and in later live syncs alike. A computed expression has no sample times
/// of its own (Prometheus gives the evaluation time), so its lookback points stay —
/// the documented limit.
#[test]
fn a_snapshot_holds_only_the_samples_the_server_had() {
    let end = T0 + 48 * 3600;
    let mut gappy = history("twin_cpu_usage", &[("instance", "db-2")], T0, 2881, 60, 2);
    // A 4-minute gap (grid points 1000..=1003 missing), within the lookback.
    gappy.samples.retain(|(t, _)| !(T0 + 1000 * 60..=T0 + 1003 * 60).contains(t));
    let mut offset = history("twin_cpu_usage", &[("instance", "db-3")], T0, 2881, 60, 3);
    for (t, _) in &mut offset.samples {
        *t += 7;
    }
    let written = vec![history("twin_cpu_usage", &[("instance", "db-1")], T0, 2881, 60, 1), gappy, offset];
    let Some(server) = Prometheus::start(&written) else { return };
    let clock = Clock::manual(end + 2 * 3600);
    let mapping = "\
series:
  - {query: twin_cpu_usage, metric: cpu_usage, twin_label: instance}
  - {query: 'sum by (instance) (twin_cpu_usage)', metric: cpu_sum, twin_label: instance}
";
    let mut cfg = config(&server.url(), mapping, clock.clone(), Duration::from_secs(51 * 3600));
    cfg.mapping.sync_interval = Duration::from_secs(3600);
    let mut s = Session::new(prometheus::start(cfg).unwrap(), 60);
    s.synced_to(end + 2 * 3600);
    let written_count: usize = written.iter().map(|w| w.samples.len()).sum();
    let mut stored = 0;
    for w in &written {
        let key = SeriesKey::new(w.label("instance"), "cpu_usage");
        let got = s.samples(&key);
        assert_eq!(got, bits(&on_grid(&w.samples, 60)), "{key}");
        stored += got.len();
    }
    assert_eq!(stored, written_count);
    let db1 = s.samples(&SeriesKey::new("db-1", "cpu_usage"));
    assert_eq!(db1.last().map(|(t, _)| *t), Some(end), "the twin is not alive after its last sample");
    // The computed series: the grid time is its sample time, so the lookback stays.
    let sum = s.samples(&SeriesKey::new("db-1", "cpu_sum"));
    assert_eq!(sum.len(), 2881 + 5, "a sum's lookback points are kept (documented)");
    // Repeats are counted as duplicates: after the last sample five grid points
    // (four for the series 7 s off the grid, whose last sample the fifth no longer
    // sees), and the four grid points of the gap.
    assert_eq!(s.handle.stats().duplicates_dropped, 5 + (5 + 4) + 4);

    // Live sync: later grid points bring nothing (the repeats are dropped again).
    clock.set(end + 2 * 3600 + 600);
    s.handle.sync_now();
    s.synced_to(end + 2 * 3600 + 600);
    for w in &written {
        let key = SeriesKey::new(w.label("instance"), "cpu_usage");
        assert_eq!(s.samples(&key).len(), w.samples.len(), "{key}");
    }

    // `twinbench connect` writes the same: as many samples as were written, the last
    // one at the last written time.
    let dir = tempfile::tempdir().unwrap();
    let mapping_file = write_in(dir.path(), "m.yaml", ONE_QUERY);
    let out_path = dir.path().join("snap.ron");
    let out = snapshot(&server.url(), &mapping_file, "51h", end + 2 * 3600, &out_path, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["samples"].as_u64(), Some(written_count as u64), "{v}");
    let loaded = twinbench::io::scenario::load(&out_path).unwrap();
    let last = loaded.telemetry.series(&SeriesKey::new("db-1", "cpu_usage")).unwrap().read_all().unwrap();
    assert_eq!(last.ts.last(), Some(&end));
    eprintln!("written {written_count}, stored {}, repeats dropped {}", v["samples"], v["duplicates_dropped"]);
}

#[test]
fn ranges_past_the_11000_point_limit_are_chunked() {
    // Two days at 10 s: 17,281 points, more than Prometheus answers in one request.
    let written = vec![history("twin_fine", &[("instance", "fine")], T0, 17_281, 10, 3)];
    let Some(server) = Prometheus::start(&written) else { return };
    let end = T0 + 2 * 86_400;
    let client = Client::new(ClientConfig {
        base_url: server.url(),
        auth: None,
        ca_pem: None,
        timeout: Duration::from_secs(30),
    })
    .unwrap();
    match client.query_range("twin_fine", T0, end, 10) {
        Err(ApiError::Permanent(m)) => assert!(m.contains("11,000"), "{m}"),
        other => panic!("the server should refuse one request of 17,281 points: {other:?}"),
    }
    let mapping = "step: 10s\nseries: [{query: twin_fine, metric: cpu_usage, twin: fine}]\n";
    let handle =
        prometheus::start(config(&server.url(), mapping, Clock::manual(end), Duration::from_secs(2 * 86_400))).unwrap();
    let mut s = Session::new(handle, 10);
    s.synced_to(end);
    assert_eq!(s.samples(&SeriesKey::new("fine", "cpu_usage")), bits(&written[0].samples));
    // The runtime info plus two range requests, each with its sample times.
    assert_eq!(s.handle.stats().requests, 5);
}

#[test]
fn kill_and_restart_mid_sync_loses_and_duplicates_nothing() {
    // 16 hours at 60 s of two series.
    let written = vec![
        history("twin_cpu_usage", &[("instance", "db-1")], T0, 961, 60, 1),
        history("twin_cpu_usage", &[("instance", "db-2")], T0, 961, 60, 2),
    ];
    let Some(mut server) = Prometheus::start(&written) else { return };
    let clock = Clock::manual(T0 + 2 * 3600);
    let mut cfg = config(
        &server.url(),
        "series: [{query: twin_cpu_usage, metric: cpu_usage, twin_label: instance}]\n",
        clock.clone(),
        Duration::from_secs(2 * 3600),
    );
    // Two grid points per request: the 12-hour gap below takes hundreds of requests,
    // so the kill lands in the middle of a sync.
    cfg.max_points = 2;
    cfg.mapping.sync_interval = Duration::from_secs(3600);
    let mut s = Session::new(prometheus::start(cfg).unwrap(), 60);
    s.synced_to(T0 + 2 * 3600);
    // Two ordinary delta syncs.
    for hour in [3, 4] {
        clock.set(T0 + hour * 3600);
        s.handle.sync_now();
        s.synced_to(T0 + hour * 3600);
    }
    let before = s.scenario.telemetry.stats().samples;
    assert_eq!(before, 2 * 241);
    // Jump 12 hours ahead and kill the server as soon as the catch-up has started.
    clock.set(T0 + 16 * 3600);
    s.handle.sync_now();
    s.wait("the catch-up to start", |s| s.scenario.telemetry.stats().samples > before);
    server.kill();
    s.wait("the source to notice", |s| matches!(s.handle.state(), ConnState::Retrying { .. }));
    let partial = s.scenario.telemetry.stats().samples;
    assert!(partial < 2 * 961, "the kill should interrupt the catch-up ({partial} samples arrived)");
    match s.handle.state() {
        ConnState::Retrying { reason, attempt, .. } => {
            assert!(attempt >= 1);
            assert!(reason.contains(&server.url()), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    server.restart();
    s.handle.sync_now();
    s.synced_to(T0 + 16 * 3600);
    for w in &written {
        let key = SeriesKey::new(w.label("instance"), "cpu_usage");
        assert_eq!(s.samples(&key), bits(&w.samples), "{key}: lost or duplicated samples");
    }
    assert_eq!(s.handle.stats().duplicates_dropped, 0, "a request re-read samples it already had");
    assert!(s.states.iter().any(|st| matches!(st, ConnState::Retrying { .. })));
}

#[test]
fn a_server_that_goes_away_between_grid_points_is_noticed_within_a_sync_interval() {
    let written = vec![history("twin_cpu_usage", &[("instance", "db-1")], T0, 121, 60, 1)];
    let Some(mut server) = Prometheus::start(&written) else { return };
    // The clock stands still: after the backfill no grid point is ever due again, so
    // only the liveness check can notice the server going.
    let clock = Clock::manual(T0 + 2 * 3600);
    let mut cfg = config(
        &server.url(),
        "series: [{query: twin_cpu_usage, metric: cpu_usage, twin_label: instance}]\n",
        clock,
        Duration::from_secs(2 * 3600),
    );
    cfg.mapping.sync_interval = Duration::from_millis(200);
    let mut s = Session::new(prometheus::start(cfg).unwrap(), 60);
    s.synced_to(T0 + 2 * 3600);
    s.wait("a round with nothing due", |s| s.reports.len() >= 3);
    assert!(s.reports[1..].iter().all(|r| r.new_samples == 0));
    assert!(matches!(s.handle.state(), ConnState::Connected { .. }));
    server.kill();
    s.wait("the source to notice", |s| matches!(s.handle.state(), ConnState::Retrying { .. }));
    server.restart();
    s.handle.sync_now();
    s.wait("the source to reconnect", |s| matches!(s.handle.state(), ConnState::Connected { .. }));
    let key = SeriesKey::new("db-1", "cpu_usage");
    assert_eq!(s.samples(&key), bits(&written[0].samples), "nothing lost or read twice");
}

#[test]
fn the_node_exporter_example_mapping_works_on_node_exporter_metrics() {
    // Synthetic node_exporter series for one host: two CPUs 75 % idle, 4 of 16 GiB
    // available, 1,000 + 2,000 B/s on eth0 (loopback excluded), 40 of 100 GiB free.
    let instance = [("instance", "web-1:9100"), ("job", "node")];
    let lbl = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        instance.iter().chain(extra).copied().collect()
    };
    let counter = |name: &str, labels: &[(&str, &str)], per_min: f64| {
        Written::new(name, labels, (0..121).map(|i| (T0 + i * 60, per_min * i as f64)).collect())
    };
    let gauge = |name: &str, labels: &[(&str, &str)], v: f64| {
        Written::new(name, labels, (0..121).map(|i| (T0 + i * 60, v)).collect())
    };
    let gib = f64::from(1u32 << 30);
    let written = vec![
        counter("node_cpu_seconds_total", &lbl(&[("cpu", "0"), ("mode", "idle")]), 45.0),
        counter("node_cpu_seconds_total", &lbl(&[("cpu", "0"), ("mode", "user")]), 15.0),
        counter("node_cpu_seconds_total", &lbl(&[("cpu", "1"), ("mode", "idle")]), 45.0),
        counter("node_cpu_seconds_total", &lbl(&[("cpu", "1"), ("mode", "user")]), 15.0),
        gauge("node_memory_MemAvailable_bytes", &lbl(&[]), 4.0 * gib),
        gauge("node_memory_MemTotal_bytes", &lbl(&[]), 16.0 * gib),
        counter("node_network_receive_bytes_total", &lbl(&[("device", "eth0")]), 60_000.0),
        counter("node_network_transmit_bytes_total", &lbl(&[("device", "eth0")]), 120_000.0),
        counter("node_network_receive_bytes_total", &lbl(&[("device", "lo")]), 9e9),
        counter("node_network_transmit_bytes_total", &lbl(&[("device", "lo")]), 9e9),
        gauge("node_filesystem_avail_bytes", &lbl(&[("mountpoint", "/"), ("fstype", "ext4")]), 40.0 * gib),
        gauge("node_filesystem_size_bytes", &lbl(&[("mountpoint", "/"), ("fstype", "ext4")]), 100.0 * gib),
        gauge("node_filesystem_avail_bytes", &lbl(&[("mountpoint", "/run"), ("fstype", "tmpfs")]), 1.0),
        gauge("node_filesystem_size_bytes", &lbl(&[("mountpoint", "/run"), ("fstype", "tmpfs")]), 1e12),
        gauge(
            "node_uname_info",
            &lbl(&[("machine", "x86_64"), ("release", "6.1.0-18-amd64"), ("sysname", "Linux"), ("nodename", "web-1")]),
            1.0,
        ),
        gauge(
            "node_os_info",
            &lbl(&[
                ("name", "Debian GNU/Linux"),
                ("version_id", "12"),
                ("pretty_name", "Debian GNU/Linux 12 (bookworm)"),
            ]),
            1.0,
        ),
    ];
    let Some(server) = Prometheus::start(&written) else { return };
    let text = std::fs::read_to_string(crate::support::root().join("scenarios/mappings/node_exporter.yaml")).unwrap();
    let end = T0 + 120 * 60;
    let handle =
        prometheus::start(config(&server.url(), &text, Clock::manual(end), Duration::from_secs(3600))).unwrap();
    let mut s = Session::new(handle, 60);
    s.synced_to(end);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let twin = TwinId::new("web-1:9100");
    assert_eq!(s.scenario.graph.twin(&twin).unwrap().kind, TwinKind::Host);
    for (metric, want) in [("cpu_usage", 25.0), ("memory_usage", 75.0), ("network_io", 3000.0), ("disk_usage", 60.0)] {
        let data = s.scenario.telemetry.series(&SeriesKey::new(twin.clone(), metric)).unwrap().read_all().unwrap();
        assert_eq!(data.ts.last(), Some(&end), "{metric}");
        let got = *data.values.last().unwrap();
        assert!((got - want).abs() < 1e-6 * want, "{metric}: {got}, expected {want}");
    }
    // The configuration the local-host source records, with the same keys and values.
    let host = s.scenario.graph.twin(&twin).unwrap();
    let text = |t: &str| ConfigValue::Str(t.into());
    let want = [
        ("arch", text("x86_64")),
        ("cpu_count", ConfigValue::Int(2)),
        ("kernel", text("6.1.0-18-amd64")),
        ("memory_gib", ConfigValue::Int(16)),
        ("os", text("Debian GNU/Linux 12")),
    ];
    assert_eq!(host.config, want.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    assert!(host.config_history.is_empty(), "{:?}", host.config_history);
}

/// `max_connections` of two databases over 8 hours: db-1 runs with 100 until hour 3,
/// then 500, then 300 from 6:30; db-2 with 200 throughout. Every written grid time has
/// a sample, so the value Prometheus answers at a grid time is the one written there.
fn max_connections_history() -> Vec<Written> {
    let db1 = |i: i64| {
        if i < 180 {
            100.0
        } else if i < 390 {
            500.0
        } else {
            300.0
        }
    };
    vec![
        Written::new(
            "pg_settings_max_connections",
            &[("instance", "db-1")],
            (0..481).map(|i| (T0 + i * 60, db1(i))).collect(),
        ),
        Written::new(
            "pg_settings_max_connections",
            &[("instance", "db-2")],
            (0..481).map(|i| (T0 + i * 60, 200.0)).collect(),
        ),
        history("twin_cpu_usage", &[("instance", "db-1")], T0, 481, 60, 1),
        history("twin_cpu_usage", &[("instance", "db-2")], T0, 481, 60, 2),
    ]
}

const CONFIG_MAPPING: &str = "\
series: [{query: twin_cpu_usage, metric: cpu_usage, twin_label: instance, kind: database}]
config:
  - {query: pg_settings_max_connections, key: max_connections, twin_label: instance, kind: database}
";

fn change(at: i64, key: &str, before: Option<ConfigValue>, after: ConfigValue) -> ConfigChange {
    ConfigChange { at, key: key.into(), before, after: Some(after) }
}

fn twin<'a>(s: &'a Session, id: &str) -> &'a Twin {
    s.scenario.graph.twin(&TwinId::new(id)).unwrap_or_else(|| panic!("no twin {id}"))
}

#[test]
fn a_gauge_becomes_configuration_with_its_changes_in_backfill_and_live_sync() {
    let written = max_connections_history();
    let Some(mut server) = Prometheus::start(&written) else { return };
    let clock = Clock::manual(T0 + 6 * 3600);
    let mut cfg = config(&server.url(), CONFIG_MAPPING, clock.clone(), Duration::from_secs(6 * 3600));
    // Small requests: the backfill takes four per query, the change at hour 3 lies in
    // the second.
    cfg.max_points = 97;
    cfg.mapping.sync_interval = Duration::from_secs(3600);
    let mut s = Session::new(prometheus::start(cfg).unwrap(), 60);
    s.synced_to(T0 + 6 * 3600);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let db1 = twin(&s, "db-1");
    assert_eq!(db1.kind, TwinKind::Database);
    assert_eq!(db1.config_at(T0)["max_connections"], ConfigValue::Int(100), "the value at the window's start");
    assert_eq!(db1.config["max_connections"], ConfigValue::Int(500));
    let hour3 = change(T0 + 3 * 3600, "max_connections", Some(ConfigValue::Int(100)), ConfigValue::Int(500));
    assert_eq!(db1.config_history, vec![hour3.clone()]);
    let db2 = twin(&s, "db-2");
    assert_eq!((db2.config["max_connections"].clone(), db2.config_history.len()), (ConfigValue::Int(200), 0));
    // Live: the change at 6:30 arrives with the sync after it, at its grid time.
    clock.set(T0 + 7 * 3600);
    s.handle.sync_now();
    s.synced_to(T0 + 7 * 3600);
    let six30 = change(T0 + 390 * 60, "max_connections", Some(ConfigValue::Int(500)), ConfigValue::Int(300));
    assert_eq!(twin(&s, "db-1").config_history, vec![hour3.clone(), six30.clone()]);
    // A restart, then past the written history: the series end (after Prometheus'
    // 5-minute lookback) and each key keeps its last value, with no new history.
    server.restart();
    clock.set(T0 + 9 * 3600);
    s.handle.sync_now();
    s.synced_to(T0 + 9 * 3600);
    let db1 = twin(&s, "db-1");
    assert_eq!(db1.config_history, vec![hour3, six30]);
    assert_eq!(db1.config["max_connections"], ConfigValue::Int(300));
    assert!(twin(&s, "db-2").config_history.is_empty());
    assert_eq!(s.scenario.start, T0);
}

#[test]
fn an_info_metric_label_becomes_a_text_key_and_a_new_release_is_a_change() {
    // The kernel is upgraded at hour 2: node_uname_info becomes a new series. Without
    // staleness markers (blocks written by promtool) the old series still answers for
    // Prometheus' 5-minute lookback; the newer one must win.
    let uname = |release: &str, from: i64, to: i64| {
        Written::new(
            "node_uname_info",
            &[("instance", "web-1:9100"), ("machine", "x86_64"), ("release", release)],
            (from..to).map(|i| (T0 + i * 60, 1.0)).collect(),
        )
    };
    let written = vec![uname("6.1.0-17-amd64", 0, 120), uname("6.1.0-18-amd64", 120, 241)];
    let Some(server) = Prometheus::start(&written) else { return };
    let mapping = "config:\n  - {query: node_uname_info, key: kernel, from_label: release, twin_label: instance, kind: host}\n\
                   \x20 - {query: 'node_uname_info * 2', key: uname_value, twin_label: instance}\n";
    let handle =
        prometheus::start(config(&server.url(), mapping, Clock::manual(T0 + 4 * 3600), Duration::from_secs(4 * 3600)))
            .unwrap();
    let mut s = Session::new(handle, 60);
    s.synced_to(T0 + 4 * 3600);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let host = twin(&s, "web-1:9100");
    assert_eq!(host.kind, TwinKind::Host, "a twin known only from configuration");
    let text = |t: &str| ConfigValue::Str(t.into());
    assert_eq!(host.config_at(T0)["kernel"], text("6.1.0-17-amd64"));
    assert_eq!(
        host.config_history,
        vec![change(T0 + 2 * 3600, "kernel", Some(text("6.1.0-17-amd64")), text("6.1.0-18-amd64"))]
    );
    // A gauge without from_label gives its value, an integer here.
    assert_eq!(host.config["uname_value"], ConfigValue::Int(2));
    // No samples: the scenario's span comes from the configuration.
    assert_eq!(s.scenario.telemetry.stats().samples, 0);
    assert_eq!(s.scenario.start, T0);
}

const DRIFT_POLICY: &str = "\
policies:
  - name: pg-connections
    severity: high
    selector: {kinds: [database]}
    config:
      - {key: max_connections, expected: 100}
";

#[test]
fn a_connect_snapshot_reloads_with_its_configuration_history_and_check_reports_drift_since_the_change() {
    let written = max_connections_history();
    let Some(server) = Prometheus::start(&written) else { return };
    let dir = tempfile::tempdir().unwrap();
    let mapping_file = write_in(dir.path(), "mapping.yaml", CONFIG_MAPPING);
    let policy = write_in(dir.path(), "policy.yaml", DRIFT_POLICY);
    let snap = dir.path().join("snap.ron");
    let end = T0 + 6 * 3600;
    let out = snapshot(&server.url(), &mapping_file, "6h", end, &snap, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((v["config_keys"].as_u64(), v["config_changes"].as_u64()), (Some(2), Some(1)), "{v}");
    let loaded = twinbench::io::scenario::load(&snap).unwrap();
    let db1 = loaded.graph.twin(&TwinId::new("db-1")).unwrap();
    assert_eq!(db1.config_at(T0)["max_connections"], ConfigValue::Int(100));
    assert_eq!(
        db1.config_history,
        vec![change(T0 + 3 * 3600, "max_connections", Some(ConfigValue::Int(100)), ConfigValue::Int(500))]
    );
    let check = twinbench(&["check", snap.to_str().unwrap(), "--policy", policy.to_str().unwrap(), "--json"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let c: serde_json::Value = serde_json::from_str(&stdout(&check)).unwrap();
    let twins = c["drift"]["twins"].as_array().unwrap();
    assert_eq!(twins.len(), 2, "db-1 (500) and db-2 (200) want 100: {c}");
    let db1 = twins.iter().find(|t| t["twin"] == "db-1").unwrap();
    let key = &db1["keys"][0];
    assert_eq!((key["key"].as_str(), key["actual"].as_str()), (Some("max_connections"), Some("500")), "{key}");
    assert_eq!(key["since"].as_str(), Some("2026-01-01T03:00:00Z"), "{key}");
    // db-2 ran with 200 from the start of the window: off since before history.
    let db2 = twins.iter().find(|t| t["twin"] == "db-2").unwrap();
    assert!(db2["keys"][0]["since"].is_null(), "{db2}");
    assert_eq!(c["drift"]["rate_per_day"].as_f64().map(|r| r > 0.0), Some(true), "{c}");

    // A plan restores the desired value; its fingerprint covers the live configuration:
    // a later snapshot, after db-1 changed again at 6:30, makes it stale for db-1 only.
    let plan = dir.path().join("plan.json");
    let (snap_arg, policy_arg) = (snap.to_str().unwrap(), policy.to_str().unwrap());
    let out =
        twinbench(&["plan", snap_arg, "--policy", policy_arg, "--approve", "all", "--out", plan.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let p: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let db1_change = p["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "db-1")
        .unwrap_or_else(|| panic!("no change for db-1: {p}"));
    let text = db1_change["change"].to_string();
    assert!(text.contains("max_connections") && text.contains("500") && text.contains("100"), "{text}");
    let verify =
        |scenario: &str| twinbench(&["verify", plan.to_str().unwrap(), "--scenario", scenario, "--policy", policy_arg]);
    assert_eq!(verify(snap_arg).status.code(), Some(0), "{}", stderr(&verify(snap_arg)));
    let later = dir.path().join("later.ron");
    let out = snapshot(&server.url(), &mapping_file, "7h", end + 3600, &later, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stale = verify(later.to_str().unwrap());
    assert_eq!(stale.status.code(), Some(3), "{}", stderr(&stale));
    assert!(stderr(&stale).contains("twins changed since it was computed: db-1;"), "{}", stderr(&stale));
}

/// A source against the recorded-answer responder.
fn replay(responder: &Responder, mapping_text: &str) -> Session {
    let mut c = config(&responder.url, mapping_text, Clock::manual(T0 + 180), Duration::from_secs(180));
    c.timeout = Duration::from_millis(500);
    Session::new(prometheus::start(c).unwrap(), 60)
}

const ONE_QUERY: &str = "series: [{query: twin_cpu_usage, metric: cpu_usage, twin_label: instance, kind: database}]\n";

/// The samples of `query_range_ok.json`.
fn recorded_samples() -> Vec<(SeriesKey, Vec<(i64, f64)>)> {
    let t = |i: i64| T0 + i * 60;
    vec![
        (SeriesKey::new("db1", "cpu_usage"), vec![(t(0), 0.0), (t(1), 0.5), (t(2), 1.0), (t(3), 1.5)]),
        (SeriesKey::new("db2", "cpu_usage"), vec![(t(0), 1.0), (t(1), 1.5), (t(2), 2.0), (t(3), 2.5)]),
    ]
}

#[test]
fn a_bad_query_fails_until_resumed() {
    let responder = Responder::start(|_, n| {
        if n == 0 { Reply::fixture(400, "error_bad_data.json") } else { Reply::fixture(200, "query_range_ok.json") }
    });
    let mut s = replay(&responder, ONE_QUERY);
    s.wait("the failure", |s| matches!(s.handle.state(), ConnState::Failed { .. }));
    let ConnState::Failed { reason } = s.handle.state() else { unreachable!() };
    assert!(reason.contains("unclosed left parenthesis") && reason.contains("bad_data"), "{reason}");
    // Failed means no retrying on its own: the request count stays at one.
    s.pump();
    assert_eq!(responder.queries().len(), 1);
    s.handle.resume();
    s.synced_to(T0 + 180);
    for (key, want) in recorded_samples() {
        assert_eq!(s.samples(&key), bits(&want));
    }
}

#[test]
fn error_envelopes_and_garbage_are_retried_then_recovered() {
    let faults: Vec<(u16, &str, &str)> = vec![
        (503, "error_timeout.json", "query timed out in expression evaluation"),
        (502, "garbage_proxy.txt", "HTTP 502"),
        (200, "garbage_truncated.txt", "not Prometheus JSON"),
        (200, "garbage_bad_value.txt", "bad value \"zero\""),
        (503, "garbage_starting.txt", "Service Unavailable"),
        (200, "instant_vector.json", "instead of a matrix"),
    ];
    let replies: Vec<Reply> = faults.iter().map(|(status, file, _)| Reply::fixture(*status, file)).collect();
    let responder = Responder::start(move |_, n| {
        replies.get(n).cloned().unwrap_or_else(|| Reply::fixture(200, "query_range_ok.json"))
    });
    let mut s = replay(&responder, ONE_QUERY);
    s.synced_to(T0 + 180);
    let reasons: Vec<String> = s
        .states
        .iter()
        .filter_map(|st| match st {
            ConnState::Retrying { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), faults.len(), "{reasons:#?}");
    for ((_, file, needle), reason) in faults.iter().zip(&reasons) {
        assert!(reason.contains(needle), "{file}: {reason}");
    }
    // Attempts count up while failures continue.
    let attempts: Vec<u32> = s
        .states
        .iter()
        .filter_map(|st| if let ConnState::Retrying { attempt, .. } = st { Some(*attempt) } else { None })
        .collect();
    assert_eq!(attempts, (1..=faults.len() as u32).collect::<Vec<_>>());
    for (key, want) in recorded_samples() {
        assert_eq!(s.samples(&key), bits(&want), "{key}");
    }
    // Every retry asked for the same range again (nothing was skipped).
    let starts: Vec<Option<String>> = responder.queries().iter().map(|q| q.form("start")).collect();
    assert!(starts.iter().all(|st| st.as_deref() == Some(&T0.to_string())), "{starts:?}");
}

#[test]
fn nan_values_are_dropped_and_counted() {
    let responder = Responder::start(|_, _| Reply::fixture(200, "query_range_nan.json"));
    let mut s = replay(&responder, "series: [{query: x, metric: cpu_usage, twin_label: instance}]\n");
    s.synced_to(T0 + 180);
    assert_eq!(s.scenario.telemetry.stats().samples, 0);
    assert_eq!(s.handle.stats().non_finite_dropped, 6);
}

#[test]
fn a_hanging_server_times_out_without_blocking_the_caller() {
    let responder = Responder::start(|_, n| {
        if n == 0 { Reply::Hang(Duration::from_secs(3)) } else { Reply::fixture(200, "query_range_ok.json") }
    });
    let mut s = replay(&responder, ONE_QUERY);
    // While the worker waits on the hanging server, the handle answers (a blocking call
    // would hang this test instead).
    for _ in 0..20 {
        assert!(matches!(s.handle.state(), ConnState::Connecting | ConnState::Retrying { .. }));
        s.pump();
        std::thread::sleep(Duration::from_millis(10));
    }
    s.synced_to(T0 + 180);
    let timed_out =
        s.states.iter().any(|st| matches!(st, ConnState::Retrying { reason, .. } if reason.contains("timed out")));
    assert!(timed_out, "{:?}", s.states);
}

#[test]
fn a_server_that_is_down_is_retried_with_backoff() {
    let port = crate::prom::free_port();
    let mut c = config(&format!("http://127.0.0.1:{port}"), ONE_QUERY, Clock::manual(T0), Duration::from_secs(60));
    c.backoff = Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(40) };
    let mut s = Session::new(prometheus::start(c).unwrap(), 60);
    s.wait(
        "three failed attempts",
        |s| matches!(s.handle.state(), ConnState::Retrying { attempt, .. } if attempt >= 3),
    );
    let ConnState::Retrying { reason, in_secs, .. } = s.handle.state() else { unreachable!() };
    assert!(reason.contains("connection refused"), "{reason}");
    assert_eq!(in_secs, 1, "40 ms rounds up to one second");
    s.handle.stop();
    s.wait("the worker to stop", |s| s.handle.state() == ConnState::Stopped);
}

const TOKEN: &str = "s3cr3t-T0KEN-for-tests-only";

#[test]
fn the_secret_never_appears_in_messages_or_files() {
    // The responder echoes the Authorization header in its error answers, as a
    // careless proxy might.
    let responder = Responder::start(|req, n| {
        let auth = req.authorization.clone().unwrap_or_default();
        match n {
            0 => Reply::Body(401, "text/plain", format!("denied: {auth}").into_bytes()),
            1 => {
                Reply::json(400, &format!(r#"{{"status":"error","errorType":"bad_data","error":"bad header {auth}"}}"#))
            }
            2 => Reply::json(503, &format!(r#"{{"status":"error","errorType":"unavailable","error":"{auth}"}}"#)),
            _ if auth == format!("Bearer {TOKEN}") => Reply::fixture(200, "query_range_ok.json"),
            _ => Reply::Body(401, "text/plain", b"no".to_vec()),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let token_file = write_in(dir.path(), "token", &format!("{TOKEN}\n"));
    let mapping_text = format!(
        "auth: {{type: bearer, file: {}}}\nseries: [{{query: twin_cpu_usage, metric: cpu_usage, twin_label: instance}}]\n",
        token_file.display()
    );
    let cfg = config(&responder.url, &mapping_text, Clock::manual(T0 + 180), Duration::from_secs(180));
    assert!(!format!("{cfg:?}").contains(TOKEN));
    let mut s = Session::new(prometheus::start(cfg).unwrap(), 60);
    s.wait("the 401", |s| matches!(s.handle.state(), ConnState::Failed { .. }));
    s.handle.resume();
    s.wait("the bad_data", |s| s.states.iter().filter(|st| matches!(st, ConnState::Failed { .. })).count() >= 2);
    s.handle.resume();
    s.synced_to(T0 + 180);
    let messages: Vec<String> = s.states.iter().map(ConnState::describe).chain(s.warnings.clone()).collect();
    assert!(messages.iter().any(|m| m.contains("authentication refused")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("bad header ***")), "{messages:#?}");
    for m in &messages {
        assert!(!m.contains(TOKEN), "leaked: {m}");
    }
    assert!(responder.queries().iter().all(|q| q.authorization.as_deref() == Some(&format!("Bearer {TOKEN}"))));
    // Nothing of the secret in a snapshot.
    let out = dir.path().join("snap.ron");
    live::snapshot(&s.scenario, &out, live::TelemetryFormat::Csv).unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path != token_file {
            let bytes = std::fs::read(&path).unwrap();
            assert!(!String::from_utf8_lossy(&bytes).contains(TOKEN), "{} holds the secret", path.display());
        }
    }
    // And the command line: the token from an environment variable, an error echoed.
    let snap = dir.path().join("cli.ron");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twinbench"))
        .args(["connect", "--prometheus", &responder.url, "--mapping"])
        .arg(write_in(dir.path(), "m.yaml", ONE_QUERY))
        .args(["--auth-env", "TWINBENCH_TEST_TOKEN", "--end", &(T0 + 180).to_string(), "--backfill", "3m", "--out"])
        .arg(&snap)
        .env("TWINBENCH_TEST_TOKEN", TOKEN)
        .output()
        .unwrap();
    // The responder now answers every request with the token: the snapshot succeeds.
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains(TOKEN) && !stdout(&out).contains(TOKEN));
    for name in ["cli.ron", "cli.telemetry.parquet"] {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(TOKEN), "{name} holds the secret");
    }
}

/// A web configuration with TLS (the fixture certificate for 127.0.0.1) and one basic
/// auth user whose password is `test-secret-4711`.
fn tls_web_config() -> String {
    format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  twinbench: {}\n",
        fixture_path("tls/server.pem").display(),
        fixture_path("tls/server.key").display(),
        "$2b$04$lUwKumkf4TC8rgT9RRoC0ujXYKuoSahSBX6hy4ew2BQPv88sP5CKa"
    )
}

#[test]
fn https_with_basic_auth_against_the_real_server() {
    let written = vec![history("twin_cpu_usage", &[("instance", "db-1")], T0, 61, 60, 4)];
    let Some(server) = Prometheus::start_with(&written, Some(&tls_web_config())) else { return };
    let dir = tempfile::tempdir().unwrap();
    let mapping_file = write_in(dir.path(), "m.yaml", ONE_QUERY);
    let good = write_in(dir.path(), "pw", "test-secret-4711\n");
    let bad = write_in(dir.path(), "bad", "wrong-password-0815\n");
    let ca = fixture_path("tls/ca.pem");
    let run = |password: &Path, ca: Option<&Path>, out: &str| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_twinbench"));
        cmd.args(["connect", "--prometheus", &server.url(), "--mapping"]).arg(&mapping_file);
        cmd.args(["--basic-user", "twinbench", "--auth-file"]).arg(password);
        if let Some(ca) = ca {
            cmd.arg("--ca-file").arg(ca);
        }
        cmd.args(["--end", &(T0 + 3600).to_string(), "--backfill", "1h", "--wait", "20s", "--json", "--out"]);
        cmd.arg(dir.path().join(out)).output().unwrap()
    };
    let out = run(&good, Some(&ca), "ok.ron");
    assert!(out.status.success(), "{}\n{}", stderr(&out), server.log());
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["samples"], 61);
    let out = run(&bad, Some(&ca), "bad.ron");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("authentication refused") && !err.contains("wrong-password"), "{err}");
    let out = run(&good, None, "noca.ron");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("TLS"), "{}", stderr(&out));
}

#[test]
fn connect_writes_a_scenario_that_info_loads_and_the_same_samples_give_the_same_bytes() {
    let written = six_hours();
    let Some(server) = Prometheus::start(&written) else { return };
    let dir = tempfile::tempdir().unwrap();
    let mapping_file = write_in(dir.path(), "mapping.yaml", MAPPING);
    let end = T0 + 360 * 60;
    let mut outputs = Vec::new();
    for (run, format) in [("a", "parquet"), ("b", "parquet"), ("c", "csv")] {
        std::fs::create_dir_all(dir.path().join(run)).unwrap();
        let out_path = dir.path().join(run).join("snap.ron");
        let out =
            snapshot(&server.url(), &mapping_file, "6h", end, &out_path, &["--telemetry-format", format, "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(
            (v["twins"].as_u64(), v["series"].as_u64(), v["samples"].as_u64()),
            (Some(6), Some(6), Some(6 * 361))
        );
        assert!(v["bytes_transferred"].as_u64().unwrap() > 0);
        let info = twinbench(&["info", out_path.to_str().unwrap(), "--json"]);
        assert!(info.status.success(), "{}", stderr(&info));
        let i: serde_json::Value = serde_json::from_str(&stdout(&info)).unwrap();
        assert_eq!(
            (i["twins"].as_u64(), i["edges"].as_u64(), i["samples"].as_u64()),
            (Some(6), Some(4), Some(6 * 361))
        );
        let loaded = twinbench::io::scenario::load(&out_path).unwrap();
        for w in &written {
            let metric = if w.name == "twin_cpu_usage" { "cpu_usage" } else { "memory_usage" };
            let data =
                loaded.telemetry.series(&SeriesKey::new(w.label("instance"), metric)).unwrap().read_all().unwrap();
            let got: Vec<(i64, f64)> = data.ts.into_iter().zip(data.values).collect();
            assert_eq!(bits(&got), bits(&w.samples));
        }
        let telemetry = format!("snap.telemetry.{format}");
        outputs.push((std::fs::read(&out_path).unwrap(), std::fs::read(dir.path().join(run).join(telemetry)).unwrap()));
    }
    assert!(outputs[0] == outputs[1], "two snapshots of the same samples differ");
}

#[test]
fn connect_reports_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let bad_mapping = write_in(
        dir.path(),
        "bad.yaml",
        "series:\n  - query: up\n    metric: cpu_usage\n    twin_label: instance\n    kind: databse\n",
    );
    let good_mapping = write_in(dir.path(), "good.yaml", ONE_QUERY);
    let out = dir.path().join("x.ron");
    let (bad, good, out) = (bad_mapping.to_str().unwrap(), good_mapping.to_str().unwrap(), out.to_str().unwrap());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["connect", "--prometheus", "http://127.0.0.1:1", "--mapping", bad, "--out", out],
            "bad.yaml:5:11: unknown twin kind",
        ),
        (
            vec!["connect", "--prometheus", "http://u:pw123@127.0.0.1:1", "--mapping", good, "--out", out],
            "must not contain credentials",
        ),
        (vec!["connect", "--prometheus", "127.0.0.1:9090", "--mapping", good, "--out", out], "http://"),
        (
            vec![
                "connect",
                "--prometheus",
                "http://127.0.0.1:1",
                "--mapping",
                good,
                "--auth-env",
                "TWINBENCH_UNSET_VAR",
                "--out",
                out,
            ],
            "TWINBENCH_UNSET_VAR is not set",
        ),
        (
            vec![
                "connect",
                "--prometheus",
                "http://127.0.0.1:1",
                "--mapping",
                good,
                "--basic-user",
                "bob",
                "--out",
                out,
            ],
            "--basic-user needs",
        ),
        (
            vec![
                "connect",
                "--prometheus",
                "http://127.0.0.1:1",
                "--mapping",
                good,
                "--backfill",
                "3 fortnights",
                "--out",
                out,
            ],
            "duration",
        ),
        (vec!["connect", "--prometheus", "http://127.0.0.1:1", "--out", out], "--mapping"),
        (vec!["connect", "--out", out], "--prometheus"),
        (vec!["connect", "--local", "--prometheus", "http://x", "--out", out], "cannot be used with"),
        (
            vec!["connect", "--prometheus", "http://127.0.0.1:1", "--mapping", good, "--wait", "1s", "--out", out],
            "connection refused",
        ),
    ];
    for (args, needle) in cases {
        let o = twinbench(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("pw123"), "{args:?}: {err}");
    }
}

/// `twinbench connect` to a server that is not there, or not well: exit 2 within about
/// ten seconds with the cause, each retry told on stderr meanwhile. (Elapsed time is
/// bounded generously, as a guard of "fails fast", not as a benchmark.)
#[test]
fn connect_fails_fast_with_the_cause_when_the_server_never_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = write_in(dir.path(), "m.yaml", ONE_QUERY);
    let out_path = dir.path().join("x.ron");
    let run = |url: &str, extra: &[&str]| {
        let mut args = vec!["connect", "--prometheus", url, "--mapping", mapping.to_str().unwrap()];
        args.extend(extra);
        args.extend(["--out", out_path.to_str().unwrap()]);
        let watch = twinbench::io::Stopwatch::start();
        let out = twinbench(&args);
        (out, watch.secs())
    };
    // Nothing listens: refused, retried with backoff, given up on with the cause.
    let url = format!("http://127.0.0.1:{}", crate::prom::free_port());
    let (out, secs) = run(&url, &[]);
    let err = stderr(&out);
    eprintln!("refused port: exit {:?} after {secs:.2} s\n{err}", out.status.code());
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(secs < 30.0, "took {secs:.1} s: {err}");
    assert!(err.contains(&format!("waiting for {url}: connection refused")), "{err}");
    assert!(err.contains("(attempt 1, 0 s elapsed, next attempt in 1 s, giving up in 10 s)"), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("error: cannot connect to {url}: gave up after "))
            && last.contains("connection refused")
            && last.ends_with("(--wait DUR waits longer)"),
        "{err}"
    );
    assert!(!out_path.exists());

    // An HTTP error status on every request: retried, then the status and the body's start.
    let down = Responder::always(Reply::Body(503, "text/plain", b"upstream prometheus is down".to_vec()));
    let (out, secs) = run(&down.url, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(secs < 30.0, "took {secs:.1} s: {err}");
    assert!(err.contains("HTTP 503 (body starts \"upstream prometheus is down\")"), "{err}");
    assert!(err.lines().last().unwrap_or_default().contains("gave up after"), "{err}");
    // Not a Prometheus at all (404 everywhere): permanent, so at once.
    let wrong = Responder::always(Reply::Body(404, "text/html", b"<html>Not Found</html>".to_vec()));
    let (out, _) = run(&wrong.url, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("HTTP 404: is this the Prometheus server URL") && err.contains("Not Found"), "{err}");
    // A server that accepts and never answers: a timeout, within the ten seconds.
    let silent = Responder::always(Reply::Hang(Duration::from_secs(60)));
    let (out, secs) = run(&silent.url, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(secs < 30.0, "took {secs:.1} s: {err}");
    assert!(err.contains("timed out: no answer from"), "{err}");
    // --wait sets the limit (here a shorter one, to keep the test short).
    let (out, _) = run(&url, &["--wait", "5s"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("(attempt 1, 0 s elapsed, next attempt in 1 s, giving up in 5 s)"), "{err}");
    assert!(!err.contains("--wait DUR"), "{err}");
}

#[test]
fn connect_local_snapshots_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("here.ron");
    let out = twinbench(&[
        "connect",
        "--local",
        "--duration",
        "3s",
        "--interval",
        "1s",
        "--processes",
        "2",
        "--json",
        "--telemetry-format",
        "csv",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v["samples"].as_u64().unwrap() >= 4, "{v}");
    let s = twinbench::io::scenario::load(&out_path).unwrap();
    let host = s.graph.twins().find(|t| t.kind == TwinKind::Host).expect("a host twin");
    assert!(s.telemetry.series(&SeriesKey::new(host.id.clone(), "cpu_usage")).is_some());
    assert!(s.telemetry.series(&SeriesKey::new(host.id.clone(), "memory_usage")).is_some());
    let processes: Vec<_> = s.graph.twins().filter(|t| t.kind == TwinKind::Process).collect();
    assert!(!processes.is_empty() && processes.len() <= 8);
    for p in processes {
        let deps = s.graph.dependencies(&p.id);
        assert!(deps.iter().any(|(t, d)| t.id == host.id && d.kind == EdgeKind::RunsOn), "{}", p.id);
    }
}

/// The workbench's File → Connect… with this machine, the status line, pause, and a
/// "Test connection" that reports a refused connection (egui_kittest, no GPU).
#[cfg(feature = "gui")]
pub(crate) mod gui {
    use eframe::egui;
    use egui::accesskit::Role;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    use twinbench::io::live::{Clock, ConnState};
    use twinbench::model::{SeriesKey, TwinId, TwinKind};
    use twinbench::ui::{Launch, WorkbenchApp};

    use super::{ONE_QUERY, bits, history};
    use crate::gui::{click, click_save};
    use crate::prom::{Prometheus, Reply, Responder, Written, write_in};

    fn step_until(
        h: &mut Harness<'static, WorkbenchApp>,
        what: &str,
        done: impl Fn(&Harness<'static, WorkbenchApp>) -> bool,
    ) {
        for _ in 0..3000 {
            h.step();
            if done(h) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("waited in vain for {what}; notifications {:?}", h.state().notification_texts());
    }

    /// The workbench on teaching-minimal with File → Connect… open.
    fn connect_dialog() -> Harness<'static, WorkbenchApp> {
        let launch = Launch {
            scenario: Some(crate::support::root().join("scenarios/teaching-minimal.ron")),
            ..Launch::default()
        };
        let mut h = Harness::builder()
            .with_size(egui::vec2(1400.0, 900.0))
            .build_eframe(move |cc| WorkbenchApp::new(cc, launch));
        step_until(&mut h, "the scenario", |h| h.state().is_ready());
        click(&mut h, "File");
        click(&mut h, "Connect…");
        h
    }

    #[test]
    fn browsing_for_a_mapping_without_a_file_picker_says_to_type_the_path() {
        let mut h = connect_dialog();
        h.get_by_label("Browse…").click();
        // No xdg portal here (as in CI): the picker answers "nothing" at once.
        step_until(&mut h, "the fallback message", |h| {
            h.state().notification_texts().iter().any(|t| t.contains("type the mapping file's path"))
        });
        h.get_by_label("Mapping file");
        h.get_all_by_value("scenarios/mappings/node_exporter.yaml").next().expect("the typed path is kept");
    }

    #[test]
    fn the_connect_dialog_makes_this_machine_a_live_twin() {
        let mut h = connect_dialog();
        click(&mut h, "This machine");
        h.get_by_role_and_label(Role::Button, "Connect").click();
        h.run_steps(2);
        step_until(&mut h, "live samples of this machine", |h| {
            h.state().scenario().is_some_and(|s| {
                s.name.starts_with("live: this machine")
                    && s.graph.twins().any(|t| t.kind == TwinKind::Host)
                    && s.telemetry.stats().samples > 0
            })
        });
        let first = h.state().scenario().unwrap().telemetry.stats().samples;
        step_until(&mut h, "more samples", |h| h.state().scenario().unwrap().telemetry.stats().samples > first);
        step_until(&mut h, "the status line", |h| h.query_by_label_contains("connected, synced to").is_some());
        click(&mut h, "Pause");
        assert!(h.query_by_label("Resume").is_some());

        // A server that is not there: the test runs on a thread and reports the refusal.
        let port = crate::prom::free_port();
        click(&mut h, "File");
        click(&mut h, "Connect…");
        click(&mut h, "Prometheus");
        h.get_by_label("Server URL").click();
        h.run_steps(1);
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        h.get_by_label("Server URL").type_text(&format!("http://127.0.0.1:{port}"));
        h.run_steps(2);
        h.get_by_label("Test connection").click();
        step_until(&mut h, "the test result", |h| h.query_by_label_contains("connection refused").is_some());
    }

    fn shows(h: &Harness<'static, WorkbenchApp>, text: &str) -> bool {
        h.query_all_by_label_contains(text).next().is_some()
    }

    /// Connect to a port where nothing listens: the dialog stays open with the fields
    /// as typed, lists each retry with its reason, and Cancel stops the source; then a
    /// server that is not a Prometheus: the dialog shows the cause and the source is
    /// gone.
    #[test]
    fn the_connect_dialog_shows_each_retry_and_the_cause_and_can_be_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let mapping = write_in(dir.path(), "m.yaml", ONE_QUERY);
        let mut h = connect_dialog();
        click(&mut h, "Prometheus");
        let url = format!("http://127.0.0.1:{}", crate::prom::free_port());
        set_field(&mut h, "Server URL", &url);
        set_field(&mut h, "Mapping file", mapping.to_str().unwrap());
        h.get_by_role_and_label(Role::Button, "Connect").click();
        h.run_steps(2);
        let retry = format!("waiting for {url}: connection refused");
        step_until(&mut h, "a retry in the dialog", |h| shows(h, &retry));
        assert!(shows(&h, &format!("Connecting to {url}…")));
        assert!(h.state().live_status().is_some());
        h.get_by_role_and_label(Role::Button, "Cancel").click();
        step_until(&mut h, "the cancellation", |h| shows(h, "Cancelled connecting to"));
        assert!(h.state().live_status().is_none(), "the source is stopped");
        h.get_all_by_value(&url).next().expect("the URL is kept");
        h.get_all_by_value(mapping.to_str().unwrap()).next().expect("the mapping is kept");

        // A web server that is not Prometheus: the cause, at once (a 404 is permanent).
        let wrong = Responder::always(Reply::Body(404, "text/html", b"<html>Not Found</html>".to_vec()));
        set_field(&mut h, "Server URL", &wrong.url);
        h.get_by_role_and_label(Role::Button, "Connect").click();
        step_until(&mut h, "the cause", |h| shows(h, "Cannot connect to ") && !shows(h, "Connecting to "));
        assert!(shows(&h, "HTTP 404: is this the Prometheus server URL"));
        assert!(h.state().live_status().is_none(), "the source is stopped");
        h.get_by_role_and_label(Role::Button, "Connect");
    }

    /// Replaces a text field's content, as a user would.
    pub(crate) fn set_field(h: &mut Harness<'static, WorkbenchApp>, label: &str, text: &str) {
        h.get_by_label(label).click();
        h.run_steps(1);
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        h.get_by_label(label).type_text(text);
        h.run_steps(1);
    }

    fn state_of(h: &Harness<'static, WorkbenchApp>) -> ConnState {
        h.state().live_status().map_or(ConnState::Stopped, |(s, _)| s)
    }

    /// The Connect dialog against a real Prometheus: test connection, connect, the graph
    /// and store fill with exactly the written history; then the server hangs (SIGSTOP)
    /// in the middle of a sync and the workbench keeps drawing frames, each timed and the
    /// figures printed (not asserted); the server comes back and nothing is lost or
    /// doubled. Then it is killed: the status shows the retry and its reason.
    #[test]
    fn the_connect_dialog_syncs_a_prometheus_and_keeps_drawing_while_it_hangs() {
        // History up to now at 5 s: the workbench syncs on the system clock, and a short
        // grid means a new grid point (so a request) is never more than 5 s away. Syncs
        // happen only on "Sync now" (interval 1 h), so the test knows which request hangs.
        let now = Clock::System.now();
        let end = now - now.rem_euclid(5) - 5;
        let start = end - 3600;
        let written: Vec<Written> = ["db-1", "db-2"]
            .iter()
            .enumerate()
            .map(|(n, db)| history("twin_cpu_usage", &[("instance", db)], start, 721, 5, n))
            .collect();
        let Some(mut server) = Prometheus::start(&written) else { return };
        let dir = tempfile::tempdir().unwrap();
        let mapping = write_in(dir.path(), "m.yaml", &format!("step: 5s\nsettle: 0s\nsync_interval: 1h\n{ONE_QUERY}"));

        let mut h = connect_dialog();
        click(&mut h, "Prometheus");
        set_field(&mut h, "Server URL", &server.url());
        set_field(&mut h, "Mapping file", mapping.to_str().unwrap());
        set_field(&mut h, "Backfill", "2h");
        h.get_by_label("Test connection").click();
        step_until(&mut h, "the test result", |h| h.query_by_label_contains("answers: 1 queries, 2 series").is_some());
        h.get_by_role_and_label(Role::Button, "Connect").click();
        h.run_steps(2);
        step_until(&mut h, "the backfill", |h| matches!(state_of(h), ConnState::Connected { .. }));
        step_until(&mut h, "the samples in the store", |h| {
            h.state().scenario().is_some_and(|s| s.telemetry.stats().samples >= 2 * 721)
        });
        let s = h.state().scenario().unwrap();
        assert!(s.name.starts_with("live: http://127.0.0.1:"), "{}", s.name);
        assert_eq!(s.graph.twin(&TwinId::new("db-1")).unwrap().kind, TwinKind::Database);
        assert!(h.query_by_label_contains("connected, synced to").is_some());

        // The server hangs; a sync starts and waits on it (the request times out after
        // 30 s). Frames go on meanwhile. First let a new grid point come due, so "Sync
        // now" really sends a request.
        let ConnState::Connected { last_sync } = state_of(&h) else { unreachable!() };
        step_until(&mut h, "a new grid point", |_| Clock::System.now() >= last_sync + 5);
        server.hang();
        let requests_before = h.state().live_status().unwrap().1.requests;
        h.get_by_label("Sync now").click();
        let mut frame_ms = Vec::new();
        for _ in 0..150 {
            let watch = twinbench::io::Stopwatch::start();
            h.step();
            frame_ms.push(watch.secs() * 1000.0);
        }
        let (state, stats) = h.state().live_status().unwrap();
        // Still waiting on the hung request: every frame above ran while it was open.
        assert!(matches!(state, ConnState::Connected { .. }), "{state:?}");
        assert_eq!(stats.requests, requests_before, "no answer can have arrived from a stopped server");
        frame_ms.sort_by(f64::total_cmp);
        let pick = |q: f64| frame_ms[((frame_ms.len() - 1) as f64 * q).round() as usize];
        println!(
            "frames while the server hangs (egui_kittest, CPU, no GPU): {} frames, median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            frame_ms.len(),
            pick(0.5),
            pick(0.95),
            pick(1.0)
        );
        server.unhang();
        step_until(&mut h, "the sync after the hang", |h| {
            h.state().live_status().is_some_and(|(_, st)| st.requests > requests_before)
        });
        let s = h.state().scenario().unwrap();
        for w in &written {
            let data =
                s.telemetry.series(&SeriesKey::new(w.label("instance"), "cpu_usage")).unwrap().read_all().unwrap();
            let got: Vec<(i64, f64)> = data.ts.into_iter().zip(data.values).collect();
            // Past the written history Prometheus answers with the last sample for its
            // 5-minute lookback; those repeats are not samples and are not stored.
            assert_eq!(bits(&got), bits(&w.samples), "{}", w.label("instance"));
        }

        // File → Save snapshot… writes what arrived as a scenario that loads like any other.
        let snap = dir.path().join("snap.ron");
        click(&mut h, "File");
        click_save(&mut h, "Save snapshot…");
        set_field(&mut h, "Scenario file", snap.to_str().unwrap());
        h.get_by_role_and_label(Role::Button, "Save").click();
        step_until(&mut h, "the snapshot", |h| h.state().notification_texts().iter().any(|t| t.starts_with("Saved ")));
        let loaded = twinbench::io::scenario::load(&snap).unwrap();
        let live_samples = h.state().scenario().unwrap().telemetry.stats().samples;
        assert_eq!(loaded.telemetry.stats().samples, live_samples);
        assert!(loaded.graph.twin(&TwinId::new("db-2")).is_some());

        // Killed: the status line says so, with the reason, and the source backs off.
        // (A sync asks the server only when a grid point is due.)
        let ConnState::Connected { last_sync } = state_of(&h) else { unreachable!() };
        step_until(&mut h, "a new grid point", |_| Clock::System.now() >= last_sync + 5);
        server.kill();
        h.get_by_label("Sync now").click();
        step_until(&mut h, "the retry", |h| h.query_by_label_contains("retrying in").is_some());
        assert!(h.query_by_label_contains("connection refused").is_some());
        assert!(h.query_by_label("Pause").is_some());
    }
}

/// Figures, not assertions (run with `cargo test --test workbench live_figures --
/// --ignored --nocapture`): a 30-day × 50-series backfill at 60 s from a local
/// Prometheus, then delta syncs of one new grid point per series compared with
/// re-querying the whole window.
#[test]
#[ignore = "a measurement: takes minutes and prints figures"]
fn live_figures() {
    use twinbench::io::Stopwatch;
    let days = 30;
    let points = days * 1440 + 60 + 1; // 30 days and one more hour for the deltas
    let written: Vec<Written> =
        (0..50).map(|i| history("bench_metric", &[("instance", &format!("host-{i:02}"))], T0, points, 60, i)).collect();
    let clock_prep = Stopwatch::start();
    let Some(server) = Prometheus::start(&written) else { return };
    println!("prepared and started Prometheus in {:.1} s", clock_prep.secs());
    let end = T0 + days as i64 * 86_400;
    let clock = Clock::manual(end);
    let mut cfg = config(
        &server.url(),
        "series: [{query: bench_metric, metric: cpu_usage, twin_label: instance}]\n",
        clock.clone(),
        Duration::from_secs(days as u64 * 86_400),
    );
    cfg.timeout = Duration::from_secs(120);
    cfg.mapping.sync_interval = Duration::from_secs(3600);
    let watch = Stopwatch::start();
    let mut s = Session::new(prometheus::start(cfg).unwrap(), 60);
    s.synced_to(end);
    let secs = watch.secs();
    let backfill = s.reports.iter().find(|r| r.initial).unwrap().clone();
    let samples = s.scenario.telemetry.stats().samples;
    assert_eq!(samples, 50 * (days * 1440 + 1));
    println!(
        "backfill: {samples} samples in {secs:.2} s = {:.0} samples/s, {} requests, {} bytes on the wire = {:.2} bytes/sample",
        samples as f64 / secs,
        s.handle.stats().requests,
        backfill.bytes,
        backfill.bytes as f64 / samples as f64
    );
    let mut delta_bytes = 0;
    let mut delta_samples = 0;
    for k in 1..=10 {
        clock.set(end + k * 60);
        s.handle.sync_now();
        s.synced_to(end + k * 60);
        let r = s.reports.last().unwrap();
        delta_bytes += r.bytes;
        delta_samples += r.new_samples;
    }
    println!(
        "delta: 10 syncs brought {delta_samples} new samples in {delta_bytes} bytes = {:.1} bytes/new sample",
        delta_bytes as f64 / delta_samples as f64
    );
    println!(
        "full re-query: {} bytes per sync for 50 new samples = {:.0} bytes/new sample ({:.0}× the delta)",
        backfill.bytes,
        backfill.bytes as f64 / 50.0,
        (backfill.bytes as f64 / 50.0) / (delta_bytes as f64 / delta_samples as f64)
    );
}

#[test]
fn a_connect_snapshot_is_learned_simulated_and_rehearsed_end_to_end() {
    let written = six_hours();
    let Some(server) = Prometheus::start(&written) else { return };
    let dir = tempfile::tempdir().unwrap();
    let mapping_file = write_in(dir.path(), "mapping.yaml", MAPPING);
    let snap = dir.path().join("snap.ron");
    let end = (T0 + 360 * 60).to_string();
    let url = server.url();
    let out = twinbench(&[
        "connect",
        "--prometheus",
        &url,
        "--mapping",
        mapping_file.to_str().unwrap(),
        "--backfill",
        "6h",
        "--end",
        &end,
        "--out",
        snap.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let snap = snap.to_str().unwrap();
    // The snapshot has no workload models: simulate learns them first and says so.
    let out = twinbench(&["simulate", snap, "--hours", "24", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("learned 6 workload models from history"), "{}", stderr(&out));
    assert!(stderr(&out).contains("no history for app"), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["series"], 6);
    assert_eq!(doc["ticks"], 24 * 60);
    // A what-if with an action on a learned twin, and one on a key it does not have.
    let out = twinbench(&["whatif", snap, "--action", "db-1:scale_up(cpu,2)", "--hours", "2", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let cpu =
        doc["metrics"].as_array().unwrap().iter().find(|m| m["twin"] == "db-1" && m["metric"] == "cpu_usage").unwrap();
    assert!(cpu["variant"]["mean"].as_f64().unwrap() < cpu["baseline"]["mean"].as_f64().unwrap(), "{cpu}");
    let out = twinbench(&["whatif", snap, "--change", "db-1.max_connections=5", "--hours", "1"]);
    assert!(out.status.success(), "a modelled key may be added: {}", stderr(&out));
    // Learning writes a scenario that loads, with a model per series, and scores it.
    let learned = dir.path().join("learned.ron");
    let out =
        twinbench(&["learn", snap, "--out", learned.to_str().unwrap(), "--holdout", "1h", "--seeds", "4", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["learned"], 6);
    let scenario = twinbench::io::scenario::load(&learned).unwrap();
    assert_eq!(scenario.workloads.len(), 6);
    assert!(scenario.workloads.values().all(|m| m.learned.is_some()));
    assert_eq!(scenario.telemetry.stats().samples, 6 * 361, "the history is carried over");
    let out = twinbench(&["simulate", learned.to_str().unwrap(), "--hours", "1"]);
    assert!(out.status.success() && !stderr(&out).contains("learned"), "{}", stderr(&out));
}
