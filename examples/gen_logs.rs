//! Writes synthetic logs for `twinbench ingest --logs`: nginx access logs in the
//! bundled mapping's format (`scenarios/logs/nginx.yaml`) and JSON-lines application
//! logs (`scenarios/logs/jsonl.yaml`), deterministic for a seed.
//!
//! ```sh
//! # the bundled samples (assets/logs/shop-web.log.gz, assets/logs/shop-app.jsonl.gz)
//! cargo run --example gen_logs -- samples assets/logs
//! # a large access log to measure ingest throughput
//! cargo run --release --example gen_logs -- nginx /var/tmp/big.log 500
//! twinbench ingest --logs scenarios/logs/nginx.yaml /var/tmp/big.log --out /var/tmp/big.parquet --stats
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const PATHS: [&str; 8] =
    ["/", "/products", "/products/42", "/cart", "/checkout", "/api/search?q=lamp", "/static/app.js", "/login"];
const AGENTS: [&str; 3] = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "curl/8.5.0",
];

/// Civil date of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, usize, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m as usize, d)
}

fn clf_time(t: i64) -> String {
    let (y, m, d) = civil(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!("{d:02}/{}/{y}:{:02}:{:02}:{:02} +0000", MONTHS[m - 1], s / 3600, s / 60 % 60, s % 60)
}

fn rfc3339(t: i64, ms: u32) -> String {
    let (y, m, d) = civil(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!("{y}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z", s / 3600, s / 60 % 60, s % 60)
}

/// Requests per second at `t`: a daily cycle, busiest in the afternoon.
fn rate(t: i64, peak: f64) -> f64 {
    let hour = t.rem_euclid(86_400) as f64 / 3600.0;
    peak * (0.55 - 0.45 * ((hour - 3.0) / 24.0 * std::f64::consts::TAU).cos())
}

/// One access log line at `t`; during `incident` more 5xx and slower answers.
fn nginx_line(rng: &mut ChaCha8Rng, t: i64, incident: bool, out: &mut impl Write) -> std::io::Result<()> {
    let ip = format!("10.{}.{}.{}", rng.random_range(0..4), rng.random_range(0..256), rng.random_range(1..255));
    let path = PATHS[rng.random_range(0..PATHS.len())];
    let method = if path == "/checkout" && rng.random_bool(0.5) { "POST" } else { "GET" };
    let error_p = if incident { 0.18 } else { 0.004 };
    let status = if rng.random_bool(error_p) {
        [500, 502, 503, 504][rng.random_range(0..4)]
    } else if rng.random_bool(0.03) {
        404
    } else {
        200
    };
    let base = if incident { 0.9 } else { 0.045 };
    let secs = base * (-(1.0 - rng.random::<f64>()).ln()) + 0.001;
    let bytes = if status == 200 { rng.random_range(300..40_000).to_string() } else { "0".into() };
    let agent = AGENTS[rng.random_range(0..AGENTS.len())];
    writeln!(
        out,
        "{ip} - - [{}] \"{method} {path} HTTP/1.1\" {status} {bytes} \"-\" \"{agent}\" {secs:.3}",
        clf_time(t)
    )
}

/// `days` of access log from `start` at up to `peak` requests per second, with an
/// incident in the afternoon of the last day; lines of one second may be out of order
/// by up to two seconds (as several workers write them).
fn nginx(path: &Path, start: i64, days: i64, peak: f64, seed: u64, limit_bytes: Option<u64>) -> std::io::Result<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let file = File::create(path)?;
    let gz = path.extension().is_some_and(|e| e == "gz");
    let mut out: Box<dyn Write> = if gz {
        Box::new(BufWriter::new(flate2::write::GzEncoder::new(file, flate2::Compression::best())))
    } else {
        Box::new(BufWriter::with_capacity(1 << 20, file))
    };
    let mut counter = CountingWriter { inner: &mut out, bytes: 0 };
    let end = start + days * 86_400;
    let incident = (end - 86_400 + 15 * 3600, end - 86_400 + 15 * 3600 + 40 * 60);
    let mut t = start;
    let mut lines = 0u64;
    loop {
        let n = {
            let lambda = rate(t, peak);
            // Poisson by inversion (small rates) or normal approximation.
            if lambda < 30.0 {
                let (mut k, mut p, l) = (0u32, rng.random::<f64>(), (-lambda).exp());
                while p > l {
                    k += 1;
                    p *= rng.random::<f64>();
                }
                k
            } else {
                (lambda + lambda.sqrt() * (rng.random::<f64>() - 0.5) * 3.4).max(0.0) as u32
            }
        };
        for _ in 0..n {
            let jitter = if rng.random_bool(0.02) { -rng.random_range(1..3) } else { 0 };
            nginx_line(&mut rng, t + jitter, (incident.0..incident.1).contains(&t), &mut counter)?;
            lines += 1;
        }
        t += 1;
        if let Some(limit) = limit_bytes {
            if counter.bytes >= limit {
                break;
            }
            if t >= end {
                t = start; // wrap around for a very large file
            }
        } else if t >= end {
            break;
        }
    }
    counter.flush()?;
    out.flush()?;
    Ok(lines)
}

/// JSON-lines logs of three services for `days` from `start`.
fn jsonl(path: &Path, start: i64, days: i64, seed: u64) -> std::io::Result<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out: Box<dyn Write> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufWriter::new(flate2::write::GzEncoder::new(File::create(path)?, flate2::Compression::best())))
    } else {
        Box::new(BufWriter::new(File::create(path)?))
    };
    let services = [("checkout", 0.25, 40.0), ("payments", 0.15, 120.0), ("catalog", 0.2, 15.0)];
    let end = start + days * 86_400;
    // payments slows down and fails in the afternoon of the last day.
    let incident = (end - 86_400 + 15 * 3600, end - 86_400 + 15 * 3600 + 40 * 60);
    let mut lines = 0;
    for t in start..end {
        for (service, peak, ms) in services {
            if !rng.random_bool(rate(t, peak).min(1.0)) {
                continue;
            }
            let bad = service == "payments" && (incident.0..incident.1).contains(&t);
            let level = if rng.random_bool(if bad { 0.3 } else { 0.01 }) {
                "error"
            } else if rng.random_bool(0.05) {
                "warn"
            } else {
                "info"
            };
            let duration = ms * (if bad { 8.0 } else { 1.0 }) * (-(1.0 - rng.random::<f64>()).ln()) + 0.5;
            let msg = if level == "error" { "upstream call failed" } else { "request handled" };
            writeln!(
                out,
                "{{\"ts\":\"{}\",\"level\":\"{level}\",\"service\":\"{service}\",\"msg\":\"{msg}\",\"duration_ms\":{duration:.1}}}",
                rfc3339(t, rng.random_range(0..1000))
            )?;
            lines += 1;
        }
    }
    out.flush()?;
    Ok(lines)
}

struct CountingWriter<'a, W: Write> {
    inner: &'a mut W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // 2026-11-01T00:00:00Z
    let start = 1_793_491_200;
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["samples", dir] => {
            let dir = Path::new(dir);
            std::fs::create_dir_all(dir)?;
            let n = nginx(&dir.join("shop-web.log.gz"), start, 1, 0.5, 7, None)?;
            let m = jsonl(&dir.join("shop-app.jsonl.gz"), start, 1, 8)?;
            eprintln!("wrote {n} access log lines and {m} application log lines to {}", dir.display());
        }
        ["nginx", out, mb] => {
            let limit = mb.parse::<u64>()? * 1_000_000;
            let n = nginx(Path::new(out), start, 7, 200.0, 1, Some(limit))?;
            eprintln!("wrote {n} lines to {out}");
        }
        _ => return Err("usage: gen_logs samples DIR | gen_logs nginx OUT.log MEGABYTES".into()),
    }
    Ok(())
}
