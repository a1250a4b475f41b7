//! The command line: argument definitions (clap) and the headless subcommands. Each
//! subcommand validates its arguments, calls the library and prints either human text
//! (stderr) or one JSON document (stdout with `--json`).

mod analytics;
mod check;
mod connect;
mod data;
mod forecast;
mod learn;
mod plan;
mod rules;
mod sim;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
pub use connect::ConnectArgs;
pub use learn::learned_line;

/// twinbench: rehearse changes on digital twins of your estate before touching it.
#[derive(Debug, Parser)]
#[command(name = "twinbench", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do; without a command the workbench opens on the default scenario.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the workbench window.
    Gui(GuiArgs),
    /// Summarise a scenario: twins, edges, metrics, samples, history span.
    Info(InfoArgs),
    /// Write a synthetic scenario with a realistic dependency graph and workload models.
    Generate(GenerateArgs),
    /// Load telemetry files (CSV/Parquet) into the store; report size and verify. With
    /// `--logs MAPPING`, turn log files into telemetry (long layout) written to `--out`.
    Ingest(IngestArgs),
    /// Export a scenario's telemetry to CSV or Parquet (long layout).
    Export(ExportArgs),
    /// Current violations, configuration drift and predicted violations (exit 1 when any).
    Check(CheckArgs),
    /// Snapshot a live Prometheus (through a mapping file) or this machine into a scenario.
    Connect(Box<ConnectArgs>),
    /// Propose remediation for the findings, approve, and export a plan (.json, .ron, .md).
    Plan(PlanArgs),
    /// Check that a plan still matches the scenario (exit 0 current, 3 stale).
    Verify(VerifyArgs),
    /// Score every row of a `timestamp,value` series for anomalies (causal, in file order).
    Detect(DetectArgs),
    /// Forecast a `timestamp,value` series with 80% and 95% prediction intervals.
    Forecast(ForecastArgs),
    /// Learn workload models and couplings from history (and score them on held-out history).
    Learn(LearnArgs),
    /// Run the scenario forward with the orchestration loop; report violations, actions,
    /// cost, throughput and the final state's digest.
    Simulate(SimulateArgs),
    /// Fork the twins, apply changes or actions, and compare with the unchanged baseline.
    Whatif(WhatIfArgs),
    /// Compare two remediation strategies over seeded replications (common random numbers).
    Ab(AbArgs),
    /// Run a chaos experiment: hypothesis before/after, detection, recovery, blast radius.
    Chaos(ChaosArgs),
    /// Every violation span of the policies over the history, per policy, rule and twin,
    /// evaluated as Prometheus evaluates alerting rules.
    Backtest(BacktestArgs),
    /// Convert policies: to a Prometheus rule file, or between YAML, JSON and RON (a
    /// Prometheus rule file is read as policies).
    Convert(ConvertArgs),
}

/// Arguments of `backtest`.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Scenario file (.ron) or telemetry file.
    pub scenario: PathBuf,
    /// Extra policy files (.yaml, .json, .ron, or a Prometheus rule file), added to the
    /// scenario's own.
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What `convert` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvertTarget {
    /// A Prometheus alerting-rule file (passes `promtool check rules`).
    Prometheus,
    /// Policies in YAML.
    Yaml,
    /// Policies in JSON.
    Json,
    /// Policies in RON.
    Ron,
    /// A Chaos Toolkit experiment (JSON, passes `chaos validate`) from a twinbench
    /// experiment file.
    Chaostoolkit,
}

/// Arguments of `convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Policy file (.yaml, .json, .ron), Prometheus rule file, (with --to prometheus)
    /// a scenario, for its own policies, or (with --to chaostoolkit) an experiment file.
    pub input: PathBuf,
    /// The format to write.
    #[arg(long, value_enum)]
    pub to: ConvertTarget,
    /// Scenario whose twins selectors by kind or tag stand for (--to prometheus, --to
    /// chaostoolkit: default the bundled webshop); its resolution becomes the groups'
    /// evaluation interval.
    #[arg(long, value_name = "SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// Live-connect mapping file: the twin label of each metric's series (default `twin`).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// The file to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `learn`.
#[derive(Debug, Args)]
pub struct LearnArgs {
    /// Scenario file (.ron) or telemetry file (.csv, .parquet).
    pub scenario: PathBuf,
    /// Where to write the scenario with a model for every series (.ron).
    #[arg(long, value_name = "LEARNED.ron")]
    pub out: PathBuf,
    /// Also score the twins: train on the history before the last DUR of each series
    /// (e.g. 1d, 6h), simulate DUR and compare hourly means with what happened.
    #[arg(long, value_name = "DUR")]
    pub holdout: Option<String>,
    /// Simulated replications for the holdout's envelope.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub seeds: u32,
    /// Relearn series that already have a model.
    #[arg(long)]
    pub refit: bool,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Scenario file (.ron) or telemetry file (.csv, .parquet); missing workload models
    /// are learned from history first.
    pub scenario: PathBuf,
    /// Simulated hours to run.
    #[arg(long, allow_negative_numbers = true)]
    pub hours: f64,
    /// Seed of the run's random streams (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Strategy file (.ron, .yaml, .json): the policies the loop acts on, its mode and
    /// guards (default: the scenario's policies, automatic, default guards).
    #[arg(long, value_name = "FILE")]
    pub strategy: Option<PathBuf>,
    /// Chaos experiment file whose faults and rollbacks to inject during the run.
    #[arg(long, value_name = "FILE")]
    pub chaos: Option<PathBuf>,
    /// Orchestration mode: auto, approve or dry-run (overrides the strategy's).
    #[arg(long)]
    pub mode: Option<String>,
    /// Append the orchestration audit log (JSON lines) to this file.
    #[arg(long, value_name = "FILE")]
    pub audit: Option<PathBuf>,
    /// Write the simulated telemetry of every series (long layout, .csv or .parquet),
    /// timestamps continuing from the end of history.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `whatif`.
#[derive(Debug, Args)]
pub struct WhatIfArgs {
    /// Scenario file (.ron).
    pub scenario: PathBuf,
    /// A configuration change TWIN.KEY=VALUE (repeatable).
    #[arg(long, value_name = "TWIN.KEY=VALUE")]
    pub change: Vec<String>,
    /// An action TWIN:KIND(ARGS), e.g. db-primary:scale_up(disk,1.25) (repeatable).
    #[arg(long, value_name = "TWIN:KIND(ARGS)")]
    pub action: Vec<String>,
    /// Simulated hours to run both arms.
    #[arg(long, default_value_t = 24.0, allow_negative_numbers = true)]
    pub hours: f64,
    /// Seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Twins to compare (repeatable; default: the changed twins and their neighbours).
    #[arg(long, value_name = "ID")]
    pub twin: Vec<String>,
    /// Strategy of the orchestration loop in both arms.
    #[arg(long, value_name = "FILE")]
    pub strategy: Option<PathBuf>,
    /// Include the time series of both arms in the JSON output.
    #[arg(long)]
    pub series: bool,
    /// Also write the changes as a plan (format by extension: .json .ron .md), with the
    /// what-if's outcome as their evidence.
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    /// Approve the changes in the plan written with --plan (default: pending review).
    #[arg(long, requires = "plan")]
    pub approve: bool,
    /// Name on the approval stamp (default: "cli whatif --approve").
    #[arg(long, requires = "approve")]
    pub approver: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `ab`.
#[derive(Debug, Args)]
pub struct AbArgs {
    /// Scenario file (.ron).
    pub scenario: PathBuf,
    /// Strategy A.
    #[arg(long, value_name = "FILE")]
    pub a: PathBuf,
    /// Strategy B.
    #[arg(long, value_name = "FILE")]
    pub b: PathBuf,
    /// Replications (replication r runs both arms with seed S + r).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub runs: u32,
    /// Seed S of replication 0 (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated hours per run.
    #[arg(long, default_value_t = 24.0, allow_negative_numbers = true)]
    pub hours: f64,
    /// Objective that names the winner (default: the one strategy A declares).
    #[arg(long)]
    pub objective: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `chaos`.
#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// Scenario file (.ron).
    pub scenario: PathBuf,
    /// Experiment file (.ron, .yaml, .json), or a Chaos Toolkit experiment (.json).
    pub experiment: PathBuf,
    /// Seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Remediation strategy during the experiment (overrides the experiment's).
    #[arg(long, value_name = "FILE")]
    pub strategy: Option<PathBuf>,
    /// Run hands off, whatever the experiment says.
    #[arg(long, conflicts_with = "strategy")]
    pub no_remediation: bool,
    /// Also write the run as a Chaos Toolkit journal (JSON, simulated times).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct PlanArgs {
    /// `show PLAN`: print a plan file for review instead of computing one.
    #[command(subcommand)]
    pub action: Option<PlanAction>,
    /// Scenario file (.ron).
    #[arg(required = true)]
    pub scenario: Option<PathBuf>,
    /// Extra policy files (.yaml, .json, .ron, or a Prometheus rule file), added to the
    /// scenario's own.
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// Which proposed actions to approve: all, none, or action ids separated by commas.
    #[arg(long, default_value = "none")]
    pub approve: String,
    /// Name on the approval stamp (default: the command line that approved).
    #[arg(long)]
    pub approver: Option<String>,
    /// How far ahead to look, in hours.
    #[arg(long, default_value_t = 168.0)]
    pub horizon: f64,
    /// The plan to write: .json (Terraform-plan-like), .ron or .md (runbook).
    #[arg(long, required = true)]
    pub out: Option<PathBuf>,
    /// Deliver the plan's approved notifications as alerts to this Alertmanager
    /// (API v2), e.g. http://127.0.0.1:9093. Credentials go in --auth-env/--auth-file.
    #[arg(long, value_name = "URL")]
    pub alertmanager: Option<String>,
    /// Read the Alertmanager's bearer token (or with --basic-user the password) from
    /// this environment variable.
    #[arg(long, value_name = "VAR", requires = "alertmanager", conflicts_with = "auth_file")]
    pub auth_env: Option<String>,
    /// Read the Alertmanager's bearer token (or with --basic-user the password) from this file.
    #[arg(long, value_name = "PATH", requires = "alertmanager")]
    pub auth_file: Option<PathBuf>,
    /// Use basic auth as this user with the Alertmanager.
    #[arg(long, value_name = "NAME", requires = "alertmanager")]
    pub basic_user: Option<String>,
    /// Also trust this CA certificate (PEM) for an https Alertmanager.
    #[arg(long, value_name = "PEM", requires = "alertmanager")]
    pub ca_file: Option<PathBuf>,
}

/// What `plan` does besides computing a plan.
#[derive(Debug, Subcommand)]
pub enum PlanAction {
    /// Print a plan (.json or .ron, format 2 or 1.0) for review: what it was computed
    /// on, and each step with its address, action, before → after, reason and approval.
    Show(PlanShowArgs),
}

/// Arguments of `plan show`.
#[derive(Debug, Args)]
pub struct PlanShowArgs {
    /// The plan file (.json or .ron).
    pub plan: PathBuf,
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The plan (.json, .ron or .md).
    pub plan: PathBuf,
    /// The scenario it should match.
    #[arg(long)]
    pub scenario: PathBuf,
    /// The extra policy files the plan was computed with.
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
}

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scenario file (.ron).
    pub scenario: PathBuf,
    /// Extra policy files (.yaml, .json, .ron, or a Prometheus rule file), added to the
    /// scenario's own.
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// How far ahead to look, in hours.
    #[arg(long, default_value_t = 168.0, allow_negative_numbers = true)]
    pub horizon: f64,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `gui`.
#[derive(Debug, Args, Default, Clone)]
pub struct GuiArgs {
    /// Scenario to open (default: scenarios/webshop.ron, or the bundled copy).
    pub scenario: Option<PathBuf>,
    /// Render the first settled frame to this PNG and exit.
    #[arg(long, value_name = "PNG")]
    pub screenshot: Option<PathBuf>,
    /// Render N frames, print {frames, median_ms, p95_ms} of CPU time per frame, exit.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub frame_stats: Option<u32>,
    /// Window size in logical pixels, e.g. 1600x1000.
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub size: Option<(f32, f32)>,
    /// Select this twin on start (useful with --screenshot).
    #[arg(long, value_name = "ID")]
    pub select: Option<String>,
    /// Open this tab of the right-hand panel: inspector, findings, remediation or lab.
    #[arg(long, value_parser = ["inspector", "findings", "remediation", "lab"])]
    pub tab: Option<String>,
    /// Start a lab run with the lab's defaults once the scenario is loaded (whatif
    /// scales the selected twin's CPU up ×1.5, ab compares the bundled strategies,
    /// chaos runs the bundled experiment); implies `--tab lab`. With `--screenshot`
    /// the picture is taken when the run finished.
    #[arg(long, value_name = "RUN", value_parser = ["whatif", "ab", "chaos"])]
    pub lab_run: Option<String>,
    /// Open the policy editor on this policy file (.yaml, .json or .ron).
    #[arg(long, value_name = "FILE")]
    pub policies: Option<PathBuf>,
    /// Open live, connected to this Prometheus server through --mapping (as File →
    /// Connect…; credentials from the mapping's `auth`).
    #[arg(long, value_name = "URL", requires = "mapping", conflicts_with_all = ["scenario", "local"])]
    pub prometheus: Option<String>,
    /// Mapping file (YAML) for --prometheus.
    #[arg(long, value_name = "FILE", requires = "prometheus")]
    pub mapping: Option<PathBuf>,
    /// How far back --prometheus reads at first, e.g. 6h or 30d (default 6h).
    #[arg(long, value_name = "DUR", requires = "prometheus")]
    pub backfill: Option<String>,
    /// Open live with this machine as a twin (sampled every 2 s).
    #[arg(long, conflicts_with = "scenario")]
    pub local: bool,
}

fn parse_size(s: &str) -> Result<(f32, f32), String> {
    let (w, h) = s.split_once(['x', 'X']).ok_or("expected WIDTHxHEIGHT, e.g. 1600x1000")?;
    let w: f32 = w.trim().parse().map_err(|_| format!("bad width {w:?}"))?;
    let h: f32 = h.trim().parse().map_err(|_| format!("bad height {h:?}"))?;
    if !(320.0..=8192.0).contains(&w) || !(240.0..=8192.0).contains(&h) {
        return Err("size must be between 320x240 and 8192x8192".into());
    }
    Ok((w, h))
}

/// Arguments of `info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Scenario file (.ron).
    pub scenario: PathBuf,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of twins.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    pub twins: u32,
    /// Days of history.
    #[arg(long, default_value_t = 30.0, allow_negative_numbers = true)]
    pub days: f64,
    /// Seed of the estate and of its history.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of twins (0 to 1) that are the origin of some trouble: drifted
    /// configuration, a creeping disk, a noisy neighbour or an outage. 0 writes a
    /// healthy estate.
    #[arg(long, value_name = "RATE", default_value_t = crate::io::synth::TroubleRate::DEFAULT.share(), allow_negative_numbers = true)]
    pub trouble: f64,
    /// Scenario file to write (.ron).
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Telemetry files: CSV or Parquet, `timestamp,value` or `timestamp,twin,metric,value`;
    /// with `--logs`, log files (plain or gzip; default: the mapping's `files`).
    #[arg(required_unless_present = "logs")]
    pub files: Vec<PathBuf>,
    /// A log mapping (YAML, e.g. scenarios/logs/nginx.yaml): read FILE… as logs.
    #[arg(long, value_name = "MAPPING")]
    pub logs: Option<PathBuf>,
    /// Where `--logs` writes the telemetry: .csv or .parquet (long layout).
    #[arg(long, value_name = "TELEMETRY", requires = "logs")]
    pub out: Option<PathBuf>,
    /// Print size figures (with `--logs`: lines, bytes, throughput, peak memory).
    #[arg(long)]
    pub stats: bool,
    /// Decode everything again and check the round trip is bit-exact.
    #[arg(long, conflicts_with = "logs")]
    pub verify: bool,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Scenario file (.ron).
    pub scenario: PathBuf,
    /// Output file: .csv or .parquet.
    #[arg(long)]
    pub out: PathBuf,
    /// Only these twins (repeatable).
    #[arg(long = "twin", value_name = "ID")]
    pub twins: Vec<String>,
    /// Only these metrics (repeatable).
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,
}

/// Arguments of `detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Input series: CSV (or Parquet) with columns timestamp,value.
    pub input: PathBuf,
    /// Output CSV: the same rows plus anomaly_score in [0, 1] (default: stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Add a `reason` column naming the dominant cause of each score.
    #[arg(long)]
    pub reasons: bool,
    /// Detector to use.
    #[arg(long, value_enum, default_value_t = DetectMethod::Combined)]
    pub method: DetectMethod,
    /// Rule: a value above this threshold scores 1 (combined method).
    #[arg(long, value_name = "THRESHOLD", allow_negative_numbers = true)]
    pub above: Option<f64>,
    /// Rule: a value below this threshold scores 1 (combined method).
    #[arg(long, value_name = "THRESHOLD", allow_negative_numbers = true)]
    pub below: Option<f64>,
    /// Rule: a change faster than this many units per second scores 1 (combined method).
    #[arg(long, value_name = "PER_SEC", allow_negative_numbers = true)]
    pub max_rate: Option<f64>,
}

/// Detectors selectable on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DetectMethod {
    /// Learned robust baselines (spike, level shift, variability, daily seasonality),
    /// calibrated and combined; the default.
    Combined,
    /// NAB's windowed-Gaussian baseline, for comparison.
    WindowedGaussian,
}

/// Arguments of `forecast`.
#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// Input series: CSV or Parquet with the columns timestamp,value.
    pub input: PathBuf,
    /// Steps to forecast, at the series' inferred interval.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub horizon: u32,
    /// Output CSV (timestamp,forecast,lower,upper,lower_95,upper_95); stdout without it.
    #[arg(long, value_name = "OUT.csv")]
    pub out: Option<PathBuf>,
    /// Rolling origins of the backtest that gives the MASE (0 skips it).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub backtest_origins: u32,
    /// Print a JSON summary (with the rows) on stdout instead of the CSV.
    #[arg(long)]
    pub json: bool,
}

/// Validates a `--horizon` in hours (0 < H ≤ 8784, a leap year) and gives it in seconds.
fn horizon_secs(hours: f64) -> Result<i64> {
    if !(hours.is_finite() && hours > 0.0 && hours <= 24.0 * 366.0) {
        anyhow::bail!("--horizon must be between 0 and 8784 hours, not {hours}");
    }
    Ok((hours * 3600.0).round() as i64)
}

/// Opens the desktop workbench (`ui::run`, or an error in a build without the `gui`
/// feature). The entry point hands it to [`run`], so the command line does not depend
/// on the layer above it.
pub type OpenWindow = fn(&GuiArgs) -> Result<ExitCode>;

/// Parses arguments and runs the command; `gui` (and no command) calls `open_window`.
/// Usage errors print clap's message and give exit code 2; `--help`/`--version` give 0.
pub fn run(args: impl IntoIterator<Item = OsString>, open_window: OpenWindow) -> Result<ExitCode> {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            // Printing can only fail when stdout/stderr are closed; nothing to do then.
            let _ = e.print();
            return Ok(ExitCode::from(code));
        }
    };
    match cli.command {
        None => open_window(&GuiArgs::default()),
        Some(Command::Gui(args)) => open_window(&args),
        Some(Command::Info(args)) => data::info(&args),
        Some(Command::Generate(args)) => data::generate(&args),
        Some(Command::Ingest(args)) => data::ingest(&args),
        Some(Command::Export(args)) => data::export(&args),
        Some(Command::Check(args)) => check::check(&args),
        Some(Command::Plan(args)) => plan::plan_command(&args),
        Some(Command::Verify(args)) => plan::verify(&args),
        Some(Command::Detect(args)) => analytics::detect(&args),
        Some(Command::Forecast(args)) => forecast::forecast(&args),
        Some(Command::Connect(args)) => connect::connect(&args),
        Some(Command::Learn(args)) => learn::learn(&args),
        Some(Command::Simulate(args)) => sim::simulate(&args),
        Some(Command::Whatif(args)) => sim::whatif(&args),
        Some(Command::Ab(args)) => sim::ab(&args),
        Some(Command::Chaos(args)) => sim::chaos(&args),
        Some(Command::Backtest(args)) => rules::backtest(&args),
        Some(Command::Convert(args)) => rules::convert(&args),
    }
}

/// Prints a JSON document on stdout.
/// A closed pipe (`twinbench … --json | head`) is not an error: the reader has what it
/// wanted.
pub(crate) fn print_json(value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    print_text(&text)
}

/// Prints text on stdout; a closed pipe (`… | head`) is not an error.
pub(crate) fn print_text(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
