//! Scenario files (`.ron`, versioned). The DTOs here mirror the file; [`load_def`]
//! parses and validates one into a [`Scenario`] without history, and [`load`] also
//! fills the history (generated from workload models, or read from the telemetry file
//! the scenario names). Every error names the file with line and column.
//!
//! ```ron
//! (
//!     version: 1,
//!     name: "teaching-minimal",
//!     seed: 7,
//!     start: "2026-10-01T00:00:00Z",
//!     days: 7,
//!     twins: [
//!         (id: "web", kind: service, metrics: {"cpu_usage": (base: 40, daily: 15, noise: 2)}),
//!         (id: "db", kind: database, config: {"max_connections": 200}),
//!     ],
//!     dependencies: [(from: "web", to: "db", kind: depends_on, latency_ms: 2.0)],
//!     policies: [(name: "cpu", rules: [(metric: "cpu_usage", operator: ">", threshold: 85)])],
//! )
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use ron::extensions::Extensions;
use serde::{Deserialize, Serialize};

use super::format::{ConfigValueFile, parse_kind, parse_ron};
use super::located::Locator;
use super::policy::{PolicyConverter, PolicyFile};
use super::time::{format_rfc3339, parse_timestamp};
use super::{IoError, read_text};
use crate::model::ids::is_valid_name;
use crate::model::{
    Capacity, ConfigChange, ConfigValue, DAY_SECS, Dependency, EdgeKind, Fidelity, GraphError, HOUR_SECS, Incident,
    IncidentEffect, LearnedInfo, MetricName, NoiseTails, RetentionPolicy, SeriesKey, TelemetryStore, Twin, TwinGraph,
    TwinId, TwinKind, WorkloadModel, metric,
};
use crate::scenario::Scenario;

/// The scenario format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Upper bound on samples per series (10 years of minutes), so a typo in `days` or
/// `resolution_secs` is an error instead of an out-of-memory.
pub const MAX_SAMPLES_PER_SERIES: i64 = 5_300_000;

/// The bundled scenarios, compiled in so the workbench starts on any machine.
pub const BUNDLED: &[(&str, &str)] = &[
    ("webshop", include_str!("../../scenarios/webshop.ron")),
    ("teaching-minimal", include_str!("../../scenarios/teaching-minimal.ron")),
];

/// Path of the default scenario, relative to the project root.
pub const DEFAULT_SCENARIO: &str = "scenarios/webshop.ron";

/// A scenario file as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Format version; must be [`FORMAT_VERSION`].
    pub version: u32,
    /// Short name.
    pub name: String,
    /// What the scenario shows.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Seed of every random stream.
    #[serde(default)]
    pub seed: u64,
    /// Sampling interval of the history.
    #[serde(default = "default_resolution")]
    pub resolution_secs: i64,
    /// First instant of history (RFC 3339 or `YYYY-MM-DD HH:MM:SS`).
    pub start: String,
    /// Length of history in days.
    pub days: f64,
    /// Retention of raw samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionFile>,
    /// The twins.
    pub twins: Vec<TwinFile>,
    /// Dependency edges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<DependencyFile>,
    /// Inline policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyFile>,
    /// A telemetry file (long CSV or Parquet, relative to the scenario) holding the
    /// history instead of generating it from workload models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<String>,
    /// Log mappings (YAML, relative to the scenario; `io::logs`) whose log files (each
    /// mapping's `files`) become history too, beside or instead of `telemetry`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
}

fn default_resolution() -> i64 {
    60
}

/// Retention settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionFile {
    /// Days of raw samples kept.
    pub raw_days: f64,
    /// Width of the rollups that replace older samples.
    #[serde(default = "default_rollup_secs")]
    pub rollup_bucket_secs: i64,
    /// Days of rollups kept.
    #[serde(default = "default_rollup_days")]
    pub rollup_keep_days: f64,
}

fn default_rollup_secs() -> i64 {
    HOUR_SECS
}

fn default_rollup_days() -> f64 {
    400.0
}

/// One twin as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwinFile {
    /// Unique id.
    pub id: String,
    /// Kind (`"service"`, `"database"`, `"load_balancer"`, …).
    pub kind: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Configuration at the start of history.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, ConfigValueFile>,
    /// Capacity.
    #[serde(default, skip_serializing_if = "CapacityFile::is_empty")]
    pub capacity: CapacityFile,
    /// Workload models per metric.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, MetricFile>,
    /// Configuration changes during history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ChangeFile>,
}

/// Capacity as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CapacityFile {
    /// CPU cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_cores: Option<f64>,
    /// Memory in GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_gib: Option<f64>,
    /// Disk in GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_gib: Option<f64>,
    /// Replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Network bandwidth in Mbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mbps: Option<f64>,
}

impl CapacityFile {
    fn is_empty(&self) -> bool {
        self == &CapacityFile::default()
    }
}

/// A workload model as written. Only `base` is required.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricFile {
    /// Level at the start of history.
    pub base: f64,
    /// Half the daily swing.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub daily: f64,
    /// Hour of the daily peak (UTC).
    #[serde(default = "default_peak_hour", skip_serializing_if = "is_default_peak_hour")]
    pub peak_hour: f64,
    /// Level multiplier on weekends.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub weekend: f64,
    /// Change per day.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub trend: f64,
    /// Noise standard deviation.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub noise: f64,
    /// Noise autocorrelation in [0, 1).
    #[serde(default = "default_memory", skip_serializing_if = "is_default_memory")]
    pub noise_memory: f64,
    /// Lower clamp (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper clamp (default: 100 for percentages, unbounded otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Decimals kept (negative rounds to tens, hundreds…).
    #[serde(default = "default_decimals", skip_serializing_if = "is_default_decimals")]
    pub decimals: i8,
    /// Incidents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<IncidentFile>,
    /// Daily profile added to the level: point k at the middle of the k-th of `len`
    /// equal parts of the UTC day, interpolated (e.g. 24 hourly values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daily_profile: Vec<f64>,
    /// Offsets added to the level per day of the week, Monday first (7 values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekly_profile: Vec<f64>,
    /// Student-t degrees of freedom of the noise (3, 5 or 10); absent: Gaussian.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tails: Option<u8>,
    /// `cpu_usage` only: share of the CPU that follows traffic (default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub follows_traffic: f64,
    /// `latency_ms` only: share of the latency that is queueing (default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub queueing_share: f64,
    /// Set by `twinbench learn`: what the model was learned from, and its fidelity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned: Option<LearnedFile>,
}

impl MetricFile {
    /// A flat model at `base` with the file's defaults.
    pub fn new(base: f64) -> Self {
        MetricFile {
            base,
            daily: 0.0,
            peak_hour: default_peak_hour(),
            weekend: 1.0,
            trend: 0.0,
            noise: 0.0,
            noise_memory: default_memory(),
            min: None,
            max: None,
            decimals: default_decimals(),
            incidents: Vec::new(),
            daily_profile: Vec::new(),
            weekly_profile: Vec::new(),
            tails: None,
            follows_traffic: 1.0,
            queueing_share: 1.0,
            learned: None,
        }
    }

    /// The file form of metric `name`'s model: bounds equal to the metric's defaults
    /// are left out, incidents are written with absolute times.
    pub fn from_model(name: &str, m: &WorkloadModel) -> Self {
        let bounds = metric::info(name).and_then(|i| i.bounds);
        let (dmin, dmax) = (bounds.map_or(0.0, |b| b.0), bounds.map_or(f64::MAX, |b| b.1));
        MetricFile {
            base: m.base,
            daily: m.daily_amplitude,
            peak_hour: m.peak_hour,
            weekend: m.weekend_factor,
            trend: m.trend_per_day,
            noise: m.noise,
            noise_memory: m.noise_memory,
            min: (m.min != dmin).then_some(m.min),
            max: (m.max != dmax).then_some(m.max),
            decimals: m.decimals,
            incidents: m
                .incidents
                .iter()
                .map(|i| IncidentFile {
                    at_hours: None,
                    at: Some(timestamp_field(i.start)),
                    hours: i.duration_secs as f64 / HOUR_SECS as f64,
                    effect: match i.effect {
                        IncidentEffect::Spike(x) => EffectFile::Spike(x),
                        IncidentEffect::Shift(x) => EffectFile::Shift(x),
                        IncidentEffect::Ramp(x) => EffectFile::Ramp(x),
                        IncidentEffect::Scale(x) => EffectFile::Scale(x),
                        IncidentEffect::Outage => EffectFile::Outage,
                    },
                })
                .collect(),
            daily_profile: m.daily_profile.clone(),
            weekly_profile: m.weekly_profile.clone(),
            tails: m.tails.degrees(),
            follows_traffic: m.follows_traffic,
            queueing_share: m.queueing_share,
            learned: m.learned.as_ref().map(|l| LearnedFile {
                from: timestamp_field(l.from),
                until: timestamp_field(l.until),
                samples: l.samples as u64,
                notes: l.notes.clone(),
                holdout: l.fit.map(|f| FidelityFile {
                    hours: f.holdout_secs as f64 / HOUR_SECS as f64,
                    mase_sim: f.mase_sim,
                    mase_replay: f.mase_replay,
                    coverage80: f.coverage80,
                }),
            }),
        }
    }
}

/// Where a learned model came from, as written by `twinbench learn`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LearnedFile {
    /// First sample learned from.
    pub from: String,
    /// Last sample learned from.
    pub until: String,
    /// Samples learned from.
    pub samples: u64,
    /// What the learner decided and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Fidelity on held-out history (`--holdout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout: Option<FidelityFile>,
}

/// Fidelity of a learned model on held-out history.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FidelityFile {
    /// Hours held out.
    pub hours: f64,
    /// MASE of the simulated hourly median.
    pub mase_sim: f64,
    /// MASE of the replay twin.
    pub mase_replay: f64,
    /// Share of actual hourly means inside the simulated 10–90% envelope.
    pub coverage80: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}
fn is_one(x: &f64) -> bool {
    *x == 1.0
}
fn one() -> f64 {
    1.0
}
fn is_default_peak_hour(x: &f64) -> bool {
    *x == default_peak_hour()
}
fn is_default_memory(x: &f64) -> bool {
    *x == default_memory()
}
fn is_default_decimals(x: &i8) -> bool {
    *x == default_decimals()
}
fn default_peak_hour() -> f64 {
    14.0
}
fn default_memory() -> f64 {
    0.6
}
fn default_decimals() -> i8 {
    2
}

/// An incident as written: when (hours after the start of history, or a timestamp),
/// how long, and what it does.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IncidentFile {
    /// Start, in hours after the start of history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hours: Option<f64>,
    /// Start as a timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Duration in hours.
    pub hours: f64,
    /// Effect.
    pub effect: EffectFile,
}

/// Incident effects as written: `spike(40)`, `shift(10)`, `ramp(30)`, `scale(1.5)`, `outage`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum EffectFile {
    /// Triangle peak added.
    Spike(f64),
    /// Constant added.
    Shift(f64),
    /// Linearly growing addition.
    Ramp(f64),
    /// Multiplier.
    Scale(f64),
    /// Twin down.
    Outage,
}

/// A configuration change during history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChangeFile {
    /// When, in hours after the start of history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hours: Option<f64>,
    /// When, as a timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Key path.
    pub key: String,
    /// New value; absent removes the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ConfigValueFile>,
}

/// A dependency edge as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DependencyFile {
    /// Dependent twin.
    pub from: String,
    /// Twin depended on.
    pub to: String,
    /// Edge kind: `"depends_on"` (default), `"runs_on"`, `"routes_to"`, `"replicates_to"`.
    #[serde(default = "default_edge_kind", skip_serializing_if = "is_depends_on")]
    pub kind: String,
    /// Share of traffic in [0, 1].
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub traffic_share: f64,
    /// Added latency in ms.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub latency_ms: f64,
}

fn default_edge_kind() -> String {
    EdgeKind::DependsOn.as_str().into()
}

fn is_depends_on(kind: &str) -> bool {
    kind == EdgeKind::DependsOn.as_str()
}

/// A validated scenario without history, and where its history comes from.
#[derive(Clone, Debug)]
pub struct ScenarioDef {
    /// The scenario, with empty telemetry.
    pub scenario: Scenario,
    /// The telemetry file named by the scenario (resolved against its folder), if any.
    pub telemetry: Option<PathBuf>,
    /// The log mappings named by the scenario (resolved against its folder).
    pub logs: Vec<PathBuf>,
    /// The file the definition came from (for messages), or the bundled name.
    pub origin: PathBuf,
}

/// Reads and validates a scenario file into a scenario without history.
pub fn load_def(path: &Path) -> Result<ScenarioDef, IoError> {
    let src = read_text(path, "scenario")?;
    parse_def(path, &src)
}

/// Parses and validates scenario text; `path` names it in errors and anchors the
/// telemetry file reference.
pub fn parse_def(path: &Path, src: &str) -> Result<ScenarioDef, IoError> {
    let file: ScenarioFile = parse_ron(path, src)?;
    let scenario = Converter { path, locator: Locator::new(src) }.convert(&file)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let telemetry = file.telemetry.map(|t| base.join(t));
    let logs = file.logs.iter().map(|m| base.join(m)).collect();
    Ok(ScenarioDef { scenario, telemetry, logs, origin: path.to_path_buf() })
}

/// The definition of a bundled scenario by name (`webshop`, `teaching-minimal`).
pub fn bundled_def(name: &str) -> Result<ScenarioDef, IoError> {
    let origin = PathBuf::from(format!("<bundled {name}.ron>"));
    let (_, text) = BUNDLED
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| IoError::invalid(&origin, "no bundled scenario of that name"))?;
    parse_def(&origin, text)
}

/// The default scenario: `scenarios/webshop.ron` when it exists under the working
/// directory (so edits to it show), else the copy compiled into the binary.
pub fn default_def() -> Result<ScenarioDef, IoError> {
    let path = Path::new(DEFAULT_SCENARIO);
    if path.is_file() { load_def(path) } else { bundled_def("webshop") }
}

/// Reads a scenario and fills its history: generated from workload models, or read
/// from the telemetry file it names.
pub fn load(path: &Path) -> Result<Scenario, IoError> {
    fill_history(load_def(path)?, &|_, _| {}, &AtomicBool::new(false))
}

/// Fills history: from the telemetry file when the scenario names one, else from its
/// workload models.
pub fn fill_history(
    def: ScenarioDef,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Result<Scenario, IoError> {
    let ScenarioDef { mut scenario, telemetry, logs, origin } = def;
    match telemetry {
        _ if !logs.is_empty() => {
            // Telemetry file and logs into one table, so series they share merge in time order.
            let mut table = match &telemetry {
                Some(file) => super::telemetry::read_table(file)?,
                None => super::telemetry::TelemetryTable {
                    layout: super::telemetry::Layout::Long,
                    rows: 0,
                    series: BTreeMap::new(),
                },
            };
            for (i, mapping) in logs.iter().enumerate() {
                let ingested = super::logs::ingest_mapping(mapping)?;
                check_declared(&scenario, mapping, ingested.series.keys(), "the log mapping")?;
                table.rows += ingested.samples();
                for (key, data) in ingested.series {
                    let entry = table.series.entry(key).or_default();
                    entry.ts.extend(data.ts);
                    entry.values.extend(data.values);
                }
                progress(i + 1, logs.len());
            }
            super::telemetry::sort_series(&mut table);
            let label = telemetry.as_deref().unwrap_or(&origin);
            let store = super::telemetry::table_into_store(label, &table, scenario.telemetry.retention())?;
            if let Some(file) = &telemetry {
                check_declared(&scenario, file, store.keys(), "telemetry")?;
            }
            scenario.telemetry = store;
        }
        Some(file) => {
            let store = super::telemetry::read_store(&file, scenario.telemetry.retention())?;
            check_declared(&scenario, &file, store.keys(), "telemetry")?;
            scenario.telemetry = store;
            progress(1, 1);
        }
        None => {
            crate::sim::history::generate(&mut scenario, progress, cancel)
                .map_err(|e| IoError::invalid(&origin, e.to_string()))?;
            scenario.telemetry.enforce_retention().map_err(|e| IoError::invalid(&origin, e.to_string()))?;
        }
    }
    Ok(scenario)
}

/// An error when a history source names a twin the scenario does not declare.
fn check_declared<'k>(
    scenario: &Scenario,
    file: &Path,
    mut keys: impl Iterator<Item = &'k SeriesKey>,
    what: &str,
) -> Result<(), IoError> {
    match keys.find(|k| scenario.graph.twin(&k.twin).is_none()) {
        Some(key) => Err(IoError::invalid(
            file,
            format!("{what} names twin {:?}, which the scenario does not declare", key.twin.as_str()),
        )),
        None => Ok(()),
    }
}

/// A scenario made from a telemetry file alone (dropped on the window, or opened):
/// one twin per distinct twin id in the file (kind `service`, tagged `imported`), no
/// dependencies, resolution inferred from the median sample interval.
/// A log mapping (`.yaml`) is read with the log files it names (`io::logs`).
pub fn from_telemetry(path: &Path) -> Result<Scenario, IoError> {
    let mut summary = None;
    let mut table = if super::logs::is_mapping_path(path) {
        let ingested = super::logs::ingest_mapping(path)?;
        let r = &ingested.report;
        summary = Some(format!(
            "{} of {} log lines in {} files{}",
            r.used,
            r.lines,
            r.files,
            match (r.unparsable + r.late, r.problems.first()) {
                (0, _) | (_, None) => String::new(),
                (n, Some(first)) => format!("; {n} skipped, the first: {first}"),
            }
        ));
        ingested.into_table()
    } else {
        super::telemetry::read_table(path)?
    };
    super::telemetry::sort_series(&mut table);
    let store = super::telemetry::table_into_store(path, &table, RetentionPolicy::default())?;
    let mut graph = TwinGraph::new();
    for key in table.series.keys() {
        if graph.twin(&key.twin).is_none() {
            let mut twin = Twin::new(key.twin.clone(), TwinKind::Service);
            twin.tags.insert("imported".into());
            graph.add_twin(twin).map_err(|e| IoError::invalid(path, e.to_string()))?;
        }
    }
    let mut deltas: Vec<i64> = table
        .series
        .values()
        .flat_map(|d| d.ts.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 0).collect::<Vec<_>>())
        .collect();
    deltas.sort_unstable();
    let resolution_secs = deltas.get(deltas.len() / 2).copied().unwrap_or(60).max(1);
    let (first, last) = store.span().unwrap_or((0, 0));
    // On the grid, as a scenario file's start is.
    let start = first - first.rem_euclid(resolution_secs);
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("telemetry").to_string();
    Ok(Scenario {
        description: match summary {
            Some(lines) => format!("Imported from {} ({lines})", path.display()),
            None => format!("Imported from {}", path.display()),
        },
        name,
        seed: 0,
        resolution_secs,
        start,
        end: last + resolution_secs,
        graph,
        telemetry: store,
        workloads: BTreeMap::new(),
        policies: Vec::new(),
    })
}

/// Converts file DTOs into model types, locating errors in the source text.
pub(crate) struct Converter<'a> {
    path: &'a Path,
    locator: Locator<'a>,
}

impl Converter<'_> {
    fn err(&self, context: &[&str], needle: &str, message: impl Into<String>) -> IoError {
        IoError::at(self.path, self.locator.find(context, needle, 0), message)
    }

    fn err_nth(&self, needle: &str, nth: usize, message: impl Into<String>) -> IoError {
        IoError::at(self.path, self.locator.find(&[], needle, nth), message)
    }

    fn convert(&self, f: &ScenarioFile) -> Result<Scenario, IoError> {
        if f.version != FORMAT_VERSION {
            return Err(self.err(
                &[],
                "version",
                format!("unsupported scenario version {}; this twinbench reads version {FORMAT_VERSION}", f.version),
            ));
        }
        if f.name.trim().is_empty() {
            return Err(self.err(&[], "name", "the scenario name is empty"));
        }
        if !(1..=DAY_SECS).contains(&f.resolution_secs) {
            return Err(self.err(
                &[],
                "resolution_secs",
                format!("resolution_secs must be between 1 and 86400, not {}", f.resolution_secs),
            ));
        }
        let start = parse_timestamp(&f.start).map_err(|m| self.err(&[], "start", m))?;
        let start = start - start.rem_euclid(f.resolution_secs);
        if !(f.days.is_finite() && f.days > 0.0 && f.days <= 3650.0) {
            return Err(self.err(&[], "days", format!("days must be more than 0 and at most 3650, not {}", f.days)));
        }
        let span = (f.days * DAY_SECS as f64).round() as i64;
        if span / f.resolution_secs > MAX_SAMPLES_PER_SERIES {
            return Err(self.err(
                &[],
                "days",
                format!(
                    "{} days at {} s is {} samples per series; the limit is {MAX_SAMPLES_PER_SERIES}",
                    f.days,
                    f.resolution_secs,
                    span / f.resolution_secs
                ),
            ));
        }
        let end = start + span - span.rem_euclid(f.resolution_secs);
        let retention = match &f.retention {
            None => RetentionPolicy::default(),
            Some(r) => self.retention(r)?,
        };
        let mut scenario = Scenario {
            name: f.name.clone(),
            description: f.description.clone(),
            seed: f.seed,
            resolution_secs: f.resolution_secs,
            start,
            end,
            graph: TwinGraph::new(),
            telemetry: TelemetryStore::with_retention(retention),
            workloads: BTreeMap::new(),
            policies: Vec::new(),
        };
        if f.twins.is_empty() {
            return Err(self.err(&[], "twins", "the scenario declares no twins"));
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for twin in &f.twins {
            let n = seen.entry(twin.id.as_str()).or_insert(0);
            *n += 1;
            let quoted = format!("{:?}", twin.id);
            if *n > 1 {
                return Err(self.err_nth(&quoted, *n - 1, format!("duplicate twin id {quoted}")));
            }
            let (model, workloads) = self.twin(twin, start)?;
            scenario.graph.add_twin(model).map_err(|e| self.err(&[], &quoted, e.to_string()))?;
            scenario.workloads.extend(workloads);
        }
        for i in 0..f.dependencies.len() {
            self.dependency(&mut scenario.graph, &f.dependencies, i)?;
        }
        let policies = PolicyConverter::new(self.path, self.locator.src());
        for policy in &f.policies {
            scenario.policies.push(policies.policy(policy, &scenario.graph)?);
        }
        Ok(scenario)
    }

    fn retention(&self, r: &RetentionFile) -> Result<RetentionPolicy, IoError> {
        if !(r.raw_days.is_finite() && r.raw_days >= 1.0) {
            return Err(self.err(&["retention"], "raw_days", "raw_days must be at least 1"));
        }
        if !(60..=7 * DAY_SECS).contains(&r.rollup_bucket_secs) {
            return Err(self.err(
                &["retention"],
                "rollup_bucket_secs",
                "rollup_bucket_secs must be between 60 and 604800",
            ));
        }
        if !(r.rollup_keep_days.is_finite() && r.rollup_keep_days >= r.raw_days) {
            return Err(self.err(&["retention"], "rollup_keep_days", "rollup_keep_days must be at least raw_days"));
        }
        Ok(RetentionPolicy {
            raw_secs: (r.raw_days * DAY_SECS as f64) as i64,
            rollup_bucket_secs: r.rollup_bucket_secs,
            rollup_keep_secs: (r.rollup_keep_days * DAY_SECS as f64) as i64,
        })
    }

    fn when(&self, ctx: &[&str], at_hours: Option<f64>, at: Option<&str>, start: i64) -> Result<i64, IoError> {
        match (at_hours, at) {
            (Some(h), None) if h.is_finite() && h.abs() < 1e6 => Ok(start + (h * HOUR_SECS as f64).round() as i64),
            (Some(h), None) => Err(self.err(ctx, "at_hours", format!("at_hours {h} is not a usable number of hours"))),
            (None, Some(text)) => parse_timestamp(text).map_err(|m| self.err(ctx, "at", m)),
            (Some(_), Some(_)) => Err(self.err(ctx, "at", "give either at_hours or at, not both")),
            (None, None) => Err(self.err(ctx, "(", "a start time is needed: at_hours or at")),
        }
    }

    fn twin(&self, f: &TwinFile, start: i64) -> Result<(Twin, Vec<(SeriesKey, WorkloadModel)>), IoError> {
        let quoted = format!("{:?}", f.id);
        let ctx = [quoted.as_str()];
        if !is_valid_name(&f.id) {
            return Err(self.err(&[], &quoted, format!("twin id {quoted} must be 1–128 letters, digits or - _ . : /")));
        }
        let id = TwinId::new(&f.id);
        let kind = parse_kind(&f.kind).map_err(|m| self.err(&ctx, &format!("{:?}", f.kind), m))?;
        let mut twin = Twin::new(id.clone(), kind);
        if let Some(name) = &f.name {
            twin.name = name.clone();
        }
        twin.tags = f.tags.iter().cloned().collect();
        twin.config = f.config.iter().map(|(k, v)| (k.clone(), ConfigValue::from(v))).collect();
        twin.capacity = self.capacity(&ctx, &f.capacity)?;
        let mut changes: Vec<(i64, &ChangeFile)> = Vec::new();
        for change in &f.changes {
            let at = self.when(&[&quoted, "changes"], change.at_hours, change.at.as_deref(), start)?;
            if change.key.trim().is_empty() {
                return Err(self.err(&[&quoted, "changes"], "key", "configuration key is empty"));
            }
            changes.push((at, change));
        }
        changes.sort_by_key(|(at, _)| *at);
        for (at, change) in changes {
            let after = change.value.as_ref().map(ConfigValue::from);
            let before = match &after {
                Some(v) => twin.config.insert(change.key.clone(), v.clone()),
                None => twin.config.remove(&change.key),
            };
            twin.config_history.push(ConfigChange { at, key: change.key.clone(), before, after });
        }
        let mut workloads = Vec::new();
        for (name, m) in &f.metrics {
            if !is_valid_name(name) {
                return Err(self.err(&ctx, &format!("{name:?}"), format!("metric name {name:?} is not valid")));
            }
            let model = self.metric(&[&quoted, &format!("{name:?}")], name, m, start)?;
            workloads.push((SeriesKey::new(id.clone(), MetricName::new(name)), model));
        }
        Ok((twin, workloads))
    }

    fn capacity(&self, ctx: &[&str], c: &CapacityFile) -> Result<Capacity, IoError> {
        for (field, value) in [
            ("cpu_cores", c.cpu_cores),
            ("memory_gib", c.memory_gib),
            ("disk_gib", c.disk_gib),
            ("network_mbps", c.network_mbps),
        ] {
            if let Some(v) = value
                && !(v.is_finite() && v > 0.0)
            {
                return Err(self.err(ctx, field, format!("capacity {field} must be a positive number, not {v}")));
            }
        }
        if c.replicas == Some(0) {
            return Err(self.err(ctx, "replicas", "replicas must be at least 1"));
        }
        Ok(Capacity {
            cpu_cores: c.cpu_cores,
            memory_gib: c.memory_gib,
            disk_gib: c.disk_gib,
            replicas: c.replicas,
            network_mbps: c.network_mbps,
        })
    }

    fn metric(&self, ctx: &[&str], name: &str, m: &MetricFile, start: i64) -> Result<WorkloadModel, IoError> {
        let bounds = metric::info(name).and_then(|i| i.bounds);
        let min = m.min.unwrap_or(bounds.map_or(0.0, |b| b.0));
        let max = m.max.unwrap_or(bounds.map_or(f64::MAX, |b| b.1));
        let finite = [
            ("base", m.base),
            ("daily", m.daily),
            ("peak_hour", m.peak_hour),
            ("weekend", m.weekend),
            ("trend", m.trend),
            ("noise", m.noise),
            ("noise_memory", m.noise_memory),
            ("min", min),
            ("max", max),
        ];
        for (field, v) in finite {
            if !v.is_finite() {
                return Err(self.err(ctx, field, format!("metric {name}: {field} must be a finite number")));
            }
        }
        let checks: [(bool, &str, String); 6] = [
            (m.noise >= 0.0, "noise", format!("noise must not be negative, not {}", m.noise)),
            (
                (0.0..1.0).contains(&m.noise_memory),
                "noise_memory",
                format!("noise_memory must be in [0, 1), not {}", m.noise_memory),
            ),
            (min <= max, "min", format!("min ({min}) is above max ({max})")),
            (
                (0.0..24.0).contains(&m.peak_hour),
                "peak_hour",
                format!("peak_hour must be in [0, 24), not {}", m.peak_hour),
            ),
            (m.weekend >= 0.0, "weekend", format!("weekend factor must not be negative, not {}", m.weekend)),
            (
                (-9..=12).contains(&m.decimals),
                "decimals",
                format!("decimals must be between -9 and 12, not {}", m.decimals),
            ),
        ];
        for (ok, field, message) in checks {
            if !ok {
                return Err(self.err(ctx, field, format!("metric {name}: {message}")));
            }
        }
        let mut incidents = Vec::new();
        for inc in &m.incidents {
            let at = self.when(&[ctx[0], ctx[1], "incidents"], inc.at_hours, inc.at.as_deref(), start)?;
            if !(inc.hours.is_finite() && inc.hours > 0.0 && inc.hours < 1e5) {
                return Err(self.err(
                    &[ctx[0], ctx[1], "incidents"],
                    "hours",
                    format!("metric {name}: incident hours must be positive, not {}", inc.hours),
                ));
            }
            let effect = match inc.effect {
                EffectFile::Spike(x) => IncidentEffect::Spike(x),
                EffectFile::Shift(x) => IncidentEffect::Shift(x),
                EffectFile::Ramp(x) => IncidentEffect::Ramp(x),
                EffectFile::Scale(x) => IncidentEffect::Scale(x),
                EffectFile::Outage => IncidentEffect::Outage,
            };
            if let IncidentEffect::Spike(x)
            | IncidentEffect::Shift(x)
            | IncidentEffect::Ramp(x)
            | IncidentEffect::Scale(x) = effect
                && !x.is_finite()
            {
                return Err(self.err(
                    &[ctx[0], ctx[1], "incidents"],
                    "effect",
                    format!("metric {name}: incident size must be finite"),
                ));
            }
            incidents.push(Incident {
                start: at,
                duration_secs: (inc.hours * HOUR_SECS as f64).round().max(1.0) as i64,
                effect,
            });
        }
        incidents.sort_by_key(|i| i.start);
        if let Some(bad) = m.daily_profile.iter().chain(&m.weekly_profile).find(|v| !v.is_finite()) {
            let field = if m.daily_profile.iter().any(|v| !v.is_finite()) { "daily_profile" } else { "weekly_profile" };
            return Err(self.err(ctx, field, format!("metric {name}: {field} holds {bad}, not a finite number")));
        }
        if m.daily_profile.len() > 1440 {
            return Err(self.err(
                ctx,
                "daily_profile",
                format!(
                    "metric {name}: daily_profile has {} points; at most 1440 (one a minute)",
                    m.daily_profile.len()
                ),
            ));
        }
        if !(m.weekly_profile.is_empty() || m.weekly_profile.len() == 7) {
            return Err(self.err(
                ctx,
                "weekly_profile",
                format!(
                    "metric {name}: weekly_profile needs 7 values (Monday to Sunday), not {}",
                    m.weekly_profile.len()
                ),
            ));
        }
        let tails = NoiseTails::from_degrees(m.tails).ok_or_else(|| {
            self.err(
                ctx,
                "tails",
                format!("metric {name}: tails must be 3, 5 or 10 degrees of freedom, not {}", m.tails.unwrap_or(0)),
            )
        })?;
        for (field, value, only) in
            [("follows_traffic", m.follows_traffic, "cpu_usage"), ("queueing_share", m.queueing_share, "latency_ms")]
        {
            if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
                return Err(self.err(ctx, field, format!("metric {name}: {field} must be in [0, 1], not {value}")));
            }
            if value != 1.0 && name != only {
                return Err(self.err(
                    ctx,
                    field,
                    format!("metric {name}: {field} applies only to {only}; the engine would ignore it here"),
                ));
            }
        }
        let learned = match &m.learned {
            None => None,
            Some(l) => Some(self.learned(&[ctx[0], ctx[1], "learned"], name, l)?),
        };
        Ok(WorkloadModel {
            base: m.base,
            daily_amplitude: m.daily,
            peak_hour: m.peak_hour,
            weekend_factor: m.weekend,
            trend_per_day: m.trend,
            noise: m.noise,
            noise_memory: m.noise_memory,
            min,
            max,
            decimals: m.decimals,
            incidents,
            daily_profile: m.daily_profile.clone(),
            weekly_profile: m.weekly_profile.clone(),
            tails,
            follows_traffic: m.follows_traffic,
            queueing_share: m.queueing_share,
            learned,
        })
    }

    fn learned(&self, ctx: &[&str], name: &str, l: &LearnedFile) -> Result<LearnedInfo, IoError> {
        let from = parse_timestamp(&l.from).map_err(|m| self.err(ctx, "from", format!("metric {name}: {m}")))?;
        let until = parse_timestamp(&l.until).map_err(|m| self.err(ctx, "until", format!("metric {name}: {m}")))?;
        let fit = match l.holdout {
            None => None,
            Some(h) => {
                for (field, v) in [("hours", h.hours), ("mase_sim", h.mase_sim), ("mase_replay", h.mase_replay)] {
                    if !(v.is_finite() && v >= 0.0) {
                        return Err(self.err(ctx, field, format!("metric {name}: {field} must be a number ≥ 0")));
                    }
                }
                if !(0.0..=1.0).contains(&h.coverage80) {
                    return Err(self.err(ctx, "coverage80", format!("metric {name}: coverage80 must be in [0, 1]")));
                }
                Some(Fidelity {
                    holdout_secs: (h.hours * HOUR_SECS as f64).round() as i64,
                    mase_sim: h.mase_sim,
                    mase_replay: h.mase_replay,
                    coverage80: h.coverage80,
                })
            }
        };
        Ok(LearnedInfo {
            from,
            until,
            samples: usize::try_from(l.samples).unwrap_or(usize::MAX),
            notes: l.notes.clone(),
            fit,
        })
    }

    fn dependency(&self, graph: &mut TwinGraph, deps: &[DependencyFile], index: usize) -> Result<(), IoError> {
        let d = &deps[index];
        let from_q = format!("{:?}", d.from);
        let to_q = format!("{:?}", d.to);
        let ctx = ["dependencies"];
        if !(d.traffic_share.is_finite() && (0.0..=1.0).contains(&d.traffic_share)) {
            return Err(self.err(
                &ctx,
                "traffic_share",
                format!("dependency {from_q} -> {to_q}: traffic_share must be in [0, 1], not {}", d.traffic_share),
            ));
        }
        if !(d.latency_ms.is_finite() && d.latency_ms >= 0.0) {
            return Err(self.err(
                &ctx,
                "latency_ms",
                format!("dependency {from_q} -> {to_q}: latency_ms must not be negative, not {}", d.latency_ms),
            ));
        }
        let kind = EdgeKind::ALL.into_iter().find(|k| k.as_str() == d.kind).ok_or_else(|| {
            self.err(
                &ctx,
                &format!("{:?}", d.kind),
                format!(
                    "unknown dependency kind {:?} (expected depends_on, runs_on, routes_to or replicates_to)",
                    d.kind
                ),
            )
        })?;
        let dep = Dependency { kind, traffic_share: d.traffic_share, latency_ms: d.latency_ms };
        graph.add_dependency(&TwinId::new(&d.from), &TwinId::new(&d.to), dep).map_err(|e| {
            // Point at this edge. An unknown id appears nowhere before it; otherwise the
            // edge's `from` is preceded by one occurrence per earlier mention of that id.
            let (needle, nth) = match &e {
                GraphError::UnknownTwin(id) => (format!("{:?}", id.as_str()), 0),
                _ => {
                    let earlier = &deps[..index];
                    let mentions = earlier.iter().filter(|x| x.from == d.from).count()
                        + earlier.iter().filter(|x| x.to == d.from).count();
                    (from_q.clone(), mentions)
                }
            };
            IoError::at(self.path, self.locator.find(&["dependencies"], &needle, nth), e.to_string())
        })?;
        Ok(())
    }
}

/// Serialises a scenario file as pretty RON: a metric's model on one line.
pub fn to_ron(file: &ScenarioFile) -> Result<String, ron::Error> {
    to_ron_depth(file, 4)
}

/// Serialises a scenario file as pretty RON, nesting expanded to `depth` (4: a metric's
/// model on one line; 5: a field per line, as learned models read best).
pub fn to_ron_depth(file: &ScenarioFile, depth: usize) -> Result<String, ron::Error> {
    let config = ron::ser::PrettyConfig::new()
        .depth_limit(depth)
        .separate_tuple_members(false)
        .struct_names(false)
        .extensions(Extensions::IMPLICIT_SOME);
    let body = ron::Options::default().to_string_pretty(file, config)?;
    Ok(format!("// twinbench scenario, format version {FORMAT_VERSION}\n{body}\n"))
}

/// Writes a scenario file.
pub fn save(path: &Path, file: &ScenarioFile) -> Result<(), IoError> {
    save_depth(path, file, 4)
}

/// Writes a scenario file with nesting expanded to `depth` (see [`to_ron_depth`]).
pub fn save_depth(path: &Path, file: &ScenarioFile, depth: usize) -> Result<(), IoError> {
    let text =
        to_ron_depth(file, depth).map_err(|e| IoError::invalid(path, format!("cannot serialise scenario: {e}")))?;
    super::write_bytes(path, "scenario", text.as_bytes())
}

/// The file form of a timestamp.
pub fn timestamp_field(t: i64) -> String {
    format_rfc3339(t)
}

/// Ids of every twin in a file, for checks that need the set before conversion.
pub fn twin_ids(file: &ScenarioFile) -> BTreeSet<&str> {
    file.twins.iter().map(|t| t.id.as_str()).collect()
}
