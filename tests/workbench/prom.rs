//! Test servers for the live tests, all on loopback and all stopping by themselves:
//! a real Prometheus (history written with `promtool tsdb create-blocks-from
//! openmetrics`, served from a temporary data directory on a free port, killed and
//! restarted on demand), and a tiny HTTP responder that replays recorded answers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::root;

/// Set (to anything) to make a missing Prometheus a test failure instead of a skip;
/// `.ci/run` sets it, so CI cannot pass without running these tests.
pub const REQUIRE_ENV: &str = "TWINBENCH_REQUIRE_PROMETHEUS";

/// True when `prometheus` and `promtool` are installed. When they are not, the tests
/// that need them skip with a message on stderr, unless [`REQUIRE_ENV`] is set: then
/// this panics, so those tests fail.
pub fn tools_available() -> bool {
    let missing: Vec<&str> = ["prometheus", "promtool"]
        .into_iter()
        .filter(|tool| !Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success()))
        .collect();
    if missing.is_empty() {
        return true;
    }
    let what = format!(
        "{} not installed; the live tests run against a real Prometheus \
         (install it with `apt-get install -y prometheus`, as .ci/run does)",
        missing.join(" and ")
    );
    assert!(std::env::var_os(REQUIRE_ENV).is_none(), "{what}, and {REQUIRE_ENV} is set");
    eprintln!("SKIPPED: {what}. Set {REQUIRE_ENV}=1 to make this a failure.");
    false
}

/// One series of history: metric name, labels and (Unix seconds, value) samples.
#[derive(Clone, Debug)]
pub struct Written {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub samples: Vec<(i64, f64)>,
}

impl Written {
    pub fn new(name: &str, labels: &[(&str, &str)], samples: Vec<(i64, f64)>) -> Self {
        Written {
            name: name.into(),
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            samples,
        }
    }

    pub fn label(&self, name: &str) -> &str {
        self.labels.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }
}

/// The OpenMetrics text promtool reads: one family per metric name, samples in time
/// order, values in Rust's shortest round-trip form (which Go parses to the same bits).
pub fn openmetrics(series: &[Written]) -> String {
    let mut families: BTreeMap<&str, Vec<&Written>> = BTreeMap::new();
    for s in series {
        families.entry(&s.name).or_default().push(s);
    }
    let mut out = String::new();
    for (name, members) in families {
        writeln!(out, "# TYPE {name} gauge").unwrap();
        for s in members {
            let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            for (t, v) in &s.samples {
                writeln!(out, "{name}{{{}}} {v} {t}", labels.join(",")).unwrap();
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// A free loopback port (bound and released; Prometheus binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A Prometheus server over a temporary data directory.
pub struct Prometheus {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
    web_config: Option<PathBuf>,
    starts: u32,
}

impl Prometheus {
    /// Writes the history into TSDB blocks and starts the server (plain http); `None`
    /// when Prometheus is not installed (see [`tools_available`]).
    pub fn start(history: &[Written]) -> Option<Prometheus> {
        Self::start_with(history, None)
    }

    /// Starts with a web configuration (TLS, basic auth), written into the data folder.
    pub fn start_with(history: &[Written], web_config: Option<&str>) -> Option<Prometheus> {
        if !tools_available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        if !history.is_empty() {
            let input = dir.path().join("history.om");
            std::fs::write(&input, openmetrics(history)).unwrap();
            let out = Command::new("promtool")
                .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
                .arg(&input)
                .arg(&data)
                .output()
                .unwrap();
            assert!(out.status.success(), "promtool failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::fs::write(dir.path().join("prometheus.yml"), "global:\n  scrape_interval: 1m\nscrape_configs: []\n")
            .unwrap();
        let web_config = web_config.map(|text| {
            let p = dir.path().join("web.yml");
            std::fs::write(&p, text).unwrap();
            p
        });
        let mut server = Prometheus { dir, port: free_port(), child: None, web_config, starts: 0 };
        server.launch();
        Some(server)
    }

    fn launch(&mut self) {
        assert!(self.child.is_none(), "already running");
        self.starts += 1;
        let log = std::fs::File::create(self.dir.path().join(format!("prometheus-{}.log", self.starts))).unwrap();
        let mut cmd = Command::new("prometheus");
        cmd.current_dir(self.dir.path())
            .arg("--config.file=prometheus.yml")
            .arg("--storage.tsdb.path=data")
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(web) = &self.web_config {
            cmd.arg(format!("--web.config.file={}", web.display()));
        }
        self.child = Some(cmd.spawn().expect("start prometheus"));
        self.wait_ready();
    }

    /// Waits for `/-/ready` (about 60 s at most).
    fn wait_ready(&mut self) {
        for _ in 0..1200 {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("prometheus exited ({status}): {}", self.log());
            }
            if self.ready() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("prometheus did not become ready in 60 s: {}", self.log());
    }

    fn ready(&self) -> bool {
        // Plain TCP, so the check works with TLS and basic auth too: a listening socket
        // that answers HTTP (even 401 or a TLS alert) means the web server is up, and
        // Prometheus opens it only after loading the TSDB.
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        if self.web_config.is_some() {
            return true;
        }
        let request = format!("GET /-/ready HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n", self.port);
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut head = String::new();
        BufReader::new(stream).read_line(&mut head).is_ok() && head.contains(" 200 ")
    }

    pub fn log(&self) -> String {
        let p = self.dir.path().join(format!("prometheus-{}.log", self.starts));
        std::fs::read_to_string(p).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        let scheme = if self.web_config.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// SIGSTOP: the server hangs (its socket still accepts connections, nothing answers).
    #[cfg_attr(not(feature = "gui"), allow(dead_code))] // only the GUI test hangs the server
    pub fn hang(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`hang`](Self::hang).
    #[cfg_attr(not(feature = "gui"), allow(dead_code))] // only the GUI test hangs the server
    pub fn unhang(&self) {
        self.signal("-CONT");
    }

    #[cfg_attr(not(feature = "gui"), allow(dead_code))] // only the GUI test hangs the server
    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill").args([sig, &pid]).status().unwrap();
        assert!(status.success(), "kill {sig} {pid}");
    }

    /// SIGKILL, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port and data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A request the responder saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub body: String,
    pub authorization: Option<String>,
}

impl Seen {
    /// A query of the sample times behind a query's grid points: `timestamp(\n…\n)`
    /// (its parenthesis form-encoded or not).
    fn asks_sample_times(&self) -> bool {
        self.form("query").is_some_and(|q| q.starts_with("timestamp%28") || q.starts_with("timestamp("))
    }

    /// A form field of the body.
    pub fn form(&self, key: &str) -> Option<String> {
        self.body.split('&').find_map(|kv| kv.strip_prefix(&format!("{key}="))).map(str::to_string)
    }
}

/// What the responder sends.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Status, content type and body.
    Body(u16, &'static str, Vec<u8>),
    /// Accept, read the request, send nothing for this long, then close.
    Hang(Duration),
}

impl Reply {
    pub fn json(status: u16, text: &str) -> Reply {
        Reply::Body(status, "application/json", text.as_bytes().to_vec())
    }

    /// A recorded fixture from tests/fixtures/prometheus.
    pub fn fixture(status: u16, name: &str) -> Reply {
        let bytes = std::fs::read(fixture_path(name)).unwrap();
        let kind = if name.ends_with(".json") { "application/json" } else { "text/html" };
        Reply::Body(status, kind, bytes)
    }
}

pub fn fixture_path(name: &str) -> PathBuf {
    root().join("tests/fixtures/prometheus").join(name)
}

type Handler = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

/// A loopback HTTP server that answers each `query_range` with `handler(request, n)`
/// (n counts query_range requests from 0) and the runtime info with the recorded
/// fixture. A `timestamp(…)` query (the sync's sample times) is answered as a server
/// answers it for a scalar expression, with `bad_data`, so the recorded answers keep
/// every grid point (the fallback) and these queries are neither counted nor listed
/// in [`queries`](Self::queries). It stops when dropped, after 120 s, or after 2,000
/// connections.
pub struct Responder {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Responder {
    pub fn start(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Responder {
        Self::serving(false, handler)
    }

    /// A server (a proxy without its upstream, a web server at the wrong port) that
    /// answers every request, whatever the path, with `reply`.
    pub fn always(reply: Reply) -> Responder {
        Self::serving(true, move |_, _| reply.clone())
    }

    fn serving(every_path: bool, handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Responder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (seen2, stop2) = (Arc::clone(&seen), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("test-responder".into())
            .spawn(move || {
                // Bounded: about 120 s of idle polling or 2,000 connections.
                let mut idle_polls = 0;
                let mut connections = 0;
                let counter = Arc::new(Mutex::new(0usize));
                while !stop2.load(Ordering::SeqCst) && idle_polls < 60_000 && connections < 2000 {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            connections += 1;
                            let (handler, seen, counter) =
                                (Arc::clone(&handler), Arc::clone(&seen2), Arc::clone(&counter));
                            std::thread::spawn(move || serve(stream, every_path, &*handler, &seen, &counter));
                        }
                        Err(_) => {
                            idle_polls += 1;
                            std::thread::sleep(Duration::from_millis(2));
                        }
                    }
                }
            })
            .unwrap();
        Responder { url, seen, stop }
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The `query_range` requests seen so far.
    pub fn queries(&self) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|s| s.path.ends_with("/query_range") && !s.asks_sample_times()).cloned().collect()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(stream: TcpStream, every_path: bool, handler: &Handler, seen: &Mutex<Vec<Seen>>, counter: &Mutex<usize>) {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut length = 0;
    let mut authorization = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((&header, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => authorization = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Seen { path: path.clone(), body: String::from_utf8_lossy(&body).into_owned(), authorization };
    seen.lock().unwrap().push(request.clone());
    let reply = if every_path {
        handler(&request, 0)
    } else if path.ends_with("/status/runtimeinfo") {
        Reply::fixture(200, "runtimeinfo.json")
    } else if path == "/-/ready" {
        Reply::Body(200, "text/plain", b"Prometheus Server is Ready.\n".to_vec())
    } else if request.asks_sample_times() {
        let error = r#"expected type instant vector in call to function \"timestamp\", got scalar"#;
        Reply::json(400, &format!(r#"{{"status":"error","errorType":"bad_data","error":"{error}"}}"#))
    } else {
        let n = {
            let mut c = counter.lock().unwrap();
            *c += 1;
            *c - 1
        };
        handler(&request, n)
    };
    let mut stream = stream;
    match reply {
        Reply::Hang(d) => std::thread::sleep(d),
        Reply::Body(status, kind, bytes) => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&bytes);
        }
    }
}

/// Writes a text file into a folder.
pub fn write_in(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}
