//! `twinbench connect`: snapshot a live Prometheus (through a mapping file) or this
//! machine into a scenario file plus a telemetry file beside it. Configuration the
//! source reports (a mapping's `config:` entries, the local host's kernel, OS, CPUs and
//! memory) is written into the scenario with its history.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{ArgGroup, Args};
use serde_json::json;

use super::print_json;
use crate::io::first_sync::FirstSync;
use crate::io::live::{self, Clock, ConnState, LiveHandle, TelemetryFormat};
use crate::io::prometheus::auth::{Auth, AuthSource, SecretSource};
use crate::io::prometheus::{self, PrometheusConfig, mapping};
use crate::io::{Stopwatch, localhost, time};
use crate::scenario::Scenario;

/// Arguments of `connect`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["prometheus", "local"])))]
pub struct ConnectArgs {
    /// Prometheus server URL (http or https), e.g. http://127.0.0.1:9090. Credentials go
    /// in --auth-env/--auth-file, never in the URL.
    #[arg(long, value_name = "URL", requires = "mapping")]
    pub prometheus: Option<String>,
    /// Mapping file (YAML): which PromQL gives which metric of which twin.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Snapshot this machine instead: cpu, memory, network, disk and its top processes.
    #[arg(long, conflicts_with_all = ["prometheus", "mapping", "end", "auth_env", "auth_file", "basic_user", "ca_file"])]
    pub local: bool,
    /// How far back to read from Prometheus (bounded by the server's retention), e.g. 6h, 30d.
    #[arg(long, value_name = "DUR", default_value = "1h", value_parser = duration_arg)]
    pub backfill: Duration,
    /// End of the window read from Prometheus (RFC 3339 or Unix seconds; default: now).
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
    /// Read the bearer token (or with --basic-user the password) from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "auth_file")]
    pub auth_env: Option<String>,
    /// Read the bearer token (or with --basic-user the password) from this file.
    #[arg(long, value_name = "PATH")]
    pub auth_file: Option<PathBuf>,
    /// Use basic auth as this user (the password comes from --auth-env or --auth-file).
    #[arg(long, value_name = "NAME")]
    pub basic_user: Option<String>,
    /// Also trust this CA certificate (PEM) for https.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Limit of one HTTP request.
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = duration_arg)]
    pub timeout: Duration,
    /// Give up when no complete sync succeeded within this time (retrying meanwhile).
    /// Default: 10s while the server has never answered, 2m once it has.
    #[arg(long, value_name = "DUR", value_parser = duration_arg)]
    pub wait: Option<Duration>,
    /// Grid points per series in one request (Prometheus allows at most 11000).
    #[arg(long, value_name = "N", default_value_t = 11_000, value_parser = clap::value_parser!(u32).range(2..=11_000))]
    pub max_points: u32,
    /// How long to sample this machine (--local).
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = duration_arg)]
    pub duration: Duration,
    /// Time between samples of this machine (--local, at least 1s).
    #[arg(long, value_name = "DUR", default_value = "1s", value_parser = duration_arg)]
    pub interval: Duration,
    /// How many of this machine's busiest processes become twins (--local).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub processes: usize,
    /// Scenario file to write (.ron); the telemetry file goes beside it.
    #[arg(long, value_name = "SCENARIO")]
    pub out: PathBuf,
    /// Format of the telemetry file: parquet or csv.
    #[arg(long, value_name = "FORMAT", default_value = "parquet", value_parser = ["parquet", "csv"])]
    pub telemetry_format: String,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    time::parse_duration(s)
}

/// `twinbench connect`.
pub fn connect(args: &ConnectArgs) -> Result<ExitCode> {
    let clock = Stopwatch::start();
    let format = if args.telemetry_format == "csv" { TelemetryFormat::Csv } else { TelemetryFormat::Parquet };
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!("cannot write the scenario: no such folder: {}", dir.display());
    }
    let (scenario, handle, source) = if args.local { local(args)? } else { remote(args)? };
    let stats = handle.stats();
    let summary = live::snapshot(&scenario, &args.out, format)?;
    let secs = clock.secs();
    let (start, end) = scenario.telemetry.span().unwrap_or((scenario.start, scenario.end));
    if args.json {
        print_json(&json!({
            "source": source,
            "twins": summary.twins,
            "edges": summary.edges,
            "series": summary.series,
            "samples": summary.samples,
            "config_keys": summary.config_keys,
            "config_changes": summary.config_changes,
            "requests": stats.requests,
            "bytes_transferred": stats.bytes_received,
            "bytes_per_sample": if summary.samples > 0 { stats.bytes_received as f64 / summary.samples as f64 } else { 0.0 },
            "duplicates_dropped": stats.duplicates_dropped,
            "non_finite_dropped": stats.non_finite_dropped,
            "start": time::format_rfc3339(start),
            "end": time::format_rfc3339(end),
            "secs": (secs * 1000.0).round() / 1000.0,
            "samples_per_sec": (summary.samples as f64 / secs.max(1e-9)).round(),
            "out": summary.scenario,
            "telemetry": summary.telemetry,
        }))?;
    } else {
        eprintln!(
            "wrote {} twins, {} dependencies, {} samples in {} series from {source} to {}{}",
            summary.twins,
            summary.edges,
            summary.samples,
            summary.series,
            summary.scenario.display(),
            summary.telemetry.as_ref().map_or_else(String::new, |t| format!(" (history in {})", t.display()))
        );
        if summary.config_keys > 0 {
            eprintln!("  configuration: {} keys, {} changes in history", summary.config_keys, summary.config_changes);
        }
        eprintln!(
            "  {} requests, {} bytes received ({:.1} bytes/sample), {:.2} s",
            stats.requests,
            stats.bytes_received,
            if summary.samples > 0 { stats.bytes_received as f64 / summary.samples as f64 } else { 0.0 },
            secs
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Credentials from `--auth-env VAR` or `--auth-file PATH` (a bearer token, or with
/// `--basic-user NAME` the password), read now; the same flags for every server
/// twinbench talks to (Prometheus, Alertmanager).
pub(crate) fn credentials(
    auth_env: Option<&str>,
    auth_file: Option<&std::path::Path>,
    basic_user: Option<&str>,
) -> Result<Option<Auth>> {
    let secret = match (auth_env, auth_file) {
        (Some(var), _) => Some(SecretSource::Env(var.to_string())),
        (None, Some(path)) => Some(SecretSource::File(path.to_path_buf())),
        (None, None) => None,
    };
    let auth = match (secret, basic_user) {
        (Some(s), Some(user)) => Some(AuthSource::Basic { user: user.to_string(), password: s }),
        (Some(s), None) => Some(AuthSource::Bearer(s)),
        (None, Some(_)) => bail!("--basic-user needs --auth-env VAR or --auth-file PATH for the password"),
        (None, None) => None,
    };
    auth.map(|a| a.resolve()).transpose().map_err(anyhow::Error::msg)
}

/// The PEM of `--ca-file`, if given.
pub(crate) fn ca_file(path: Option<&std::path::Path>) -> Result<Option<Vec<u8>>> {
    path.map(|path| std::fs::read(path).with_context(|| format!("cannot read the CA file: {}", path.display())))
        .transpose()
}

fn remote(args: &ConnectArgs) -> Result<(Scenario, LiveHandle, String)> {
    let (Some(url), Some(mapping_path)) = (&args.prometheus, &args.mapping) else {
        bail!("--prometheus needs --mapping FILE");
    };
    let mut mapping = mapping::load(mapping_path)?;
    let auth = credentials(args.auth_env.as_deref(), args.auth_file.as_deref(), args.basic_user.as_deref())?;
    let clock = match &args.end {
        Some(text) => {
            let end = time::parse_timestamp(text).map_err(|m| anyhow::anyhow!("--end: {m}"))?;
            // A fixed window in the past has nothing still being written.
            mapping.settle_secs = 0;
            Clock::manual(end)
        }
        None => Clock::System,
    };
    let ca_pem = ca_file(args.ca_file.as_deref())?;
    let step = mapping.step_secs;
    let config = PrometheusConfig {
        auth,
        ca_pem,
        backfill: args.backfill,
        timeout: args.timeout,
        max_points: args.max_points as usize,
        clock,
        ..PrometheusConfig::new(url, mapping)
    };
    let handle = prometheus::start(config).map_err(anyhow::Error::msg)?;
    let source = handle.name().to_string();
    let mut scenario = live::live_scenario(
        &scenario_name(args),
        &format!("Snapshot of {source} (mapping {})", mapping_path.display()),
        step,
    );
    // Until the first complete sync: each retry is told on stderr, and a server that
    // never answered is given up on within 10 s unless --wait says otherwise
    // (io::first_sync).
    let mut watch = FirstSync::new(&source, args.wait);
    let waited = Stopwatch::start();
    loop {
        let applied = live::apply(&mut scenario, handle.poll());
        for w in &applied.warnings {
            eprintln!("warning: {w}");
        }
        if let Some(e) = applied.errors.first() {
            bail!("{e}");
        }
        if applied.synced.iter().any(|r| r.initial) {
            break;
        }
        let answered = handle.stats().requests > 0;
        let elapsed = Duration::from_secs_f64(waited.secs());
        let observed = watch.observe(&applied.states, &handle.state(), answered, elapsed);
        for line in &observed.lines {
            eprintln!("{line}");
        }
        if let Some(cause) = observed.give_up {
            let hint = if args.wait.is_none() && !answered { " (--wait DUR waits longer)" } else { "" };
            bail!("cannot connect to {source}: {cause}{hint}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    handle.stop();
    Ok((scenario, handle, source))
}

fn local(args: &ConnectArgs) -> Result<(Scenario, LiveHandle, String)> {
    if args.interval < Duration::from_secs(1) {
        bail!("--interval must be at least 1s");
    }
    if args.duration < args.interval {
        bail!("--duration must be at least one --interval");
    }
    let handle = localhost::start(localhost::LocalConfig {
        interval: args.interval,
        top_processes: args.processes,
        ..Default::default()
    })
    .map_err(anyhow::Error::msg)?;
    let source = handle.name().to_string();
    let resolution = i64::try_from(args.interval.as_secs()).unwrap_or(1).max(1);
    let mut scenario = live::live_scenario(&scenario_name(args), &format!("Snapshot of {source}"), resolution);
    let ran = Stopwatch::start();
    while ran.secs() < args.duration.as_secs_f64() {
        live::apply(&mut scenario, handle.poll());
        if let ConnState::Failed { reason } = handle.state() {
            bail!("{reason}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    handle.stop();
    live::apply(&mut scenario, handle.poll());
    if scenario.telemetry.stats().samples == 0 {
        bail!("no sample was taken in {}", time::format_duration(args.duration));
    }
    Ok((scenario, handle, source))
}

fn scenario_name(args: &ConnectArgs) -> String {
    args.out.file_stem().and_then(|s| s.to_str()).unwrap_or("live").to_string()
}
