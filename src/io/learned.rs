//! Writing a scenario with learned models (`twinbench learn --out`, the workbench's
//! *Save learned scenario…*). The learned models become ordinary `metrics` entries of
//! their twins, learned traffic shares update the `dependencies`, and everything else
//! is carried over: from a scenario file its own text's content (twins, configuration
//! and its changes, policies, retention, seed), from a telemetry file a scenario of
//! its twins. The history stays where it is: the new file names the same telemetry
//! file (relative when it sits in the same folder, else by its absolute path); a
//! scenario whose history was generated from models and is relearned (`--refit`)
//! gets its history written beside it (`<stem>.telemetry.parquet`), since the
//! learned models would not regenerate it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::format::{ConfigValueFile, parse_ron};
use super::scenario::{CapacityFile, FORMAT_VERSION, MetricFile, ScenarioFile, TwinFile, save_depth, timestamp_field};
use super::{IoError, read_text};
use crate::model::{DAY_SECS, SeriesData};
use crate::scenario::Scenario;

/// Where a scenario was read from, as `load_any` saw it.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A scenario file (`.ron`), and the telemetry file it names, if any.
    Scenario {
        /// The scenario file.
        path: PathBuf,
        /// Its telemetry file, resolved.
        telemetry: Option<PathBuf>,
    },
    /// A telemetry file opened as a scenario (`.csv`, `.parquet`, or a log mapping).
    Telemetry(PathBuf),
}

/// Whether a path names a telemetry file (or a log mapping, read with its logs) rather
/// than a scenario.
pub fn is_telemetry_path(path: &Path) -> bool {
    super::logs::is_mapping_path(path)
        || matches!(
            path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(),
            Some("csv" | "parquet")
        )
}

/// Reads a scenario with its history from a scenario file or a telemetry file.
pub fn load_any(path: &Path) -> Result<(Scenario, Source), IoError> {
    if is_telemetry_path(path) {
        return Ok((super::scenario::from_telemetry(path)?, Source::Telemetry(path.to_path_buf())));
    }
    let def = super::scenario::load_def(path)?;
    let telemetry = def.telemetry.clone();
    let scenario = super::scenario::fill_history(def, &|_, _| {}, &std::sync::atomic::AtomicBool::new(false))?;
    Ok((scenario, Source::Scenario { path: path.to_path_buf(), telemetry }))
}

/// What [`write_learned`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The telemetry file it names, when it names one.
    pub telemetry: Option<PathBuf>,
    /// Whether the telemetry file was written now (else it was already there).
    pub telemetry_written: bool,
}

/// Writes `scenario` (its workloads and edges as learned) to `out`, carrying over
/// what `source` holds.
pub fn write_learned(out: &Path, source: &Source, scenario: &Scenario) -> Result<Written, IoError> {
    let out_dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let (mut file, telemetry) = match source {
        Source::Scenario { path, telemetry } => {
            let text = read_text(path, "scenario")?;
            (parse_ron::<ScenarioFile>(path, &text)?, telemetry.clone())
        }
        Source::Telemetry(path) => (file_of_telemetry(scenario), Some(path.clone())),
    };
    // Every model, as the scenario has it now (written ones round-trip unchanged).
    for twin in &mut file.twins {
        for (key, model) in scenario.workloads.range(crate::model::SeriesKey::new(twin.id.as_str(), "")..) {
            if key.twin.as_str() != twin.id {
                break;
            }
            if model.learned.is_some() {
                twin.metrics
                    .insert(key.metric.as_str().to_string(), MetricFile::from_model(key.metric.as_str(), model));
            }
        }
    }
    for dep in &mut file.dependencies {
        let (from, to) = (crate::model::TwinId::new(&dep.from), crate::model::TwinId::new(&dep.to));
        if let Some((_, _, d)) =
            scenario.graph.edges().into_iter().find(|(f, t, d)| **f == from && **t == to && d.kind.as_str() == dep.kind)
        {
            dep.traffic_share = d.traffic_share;
        }
    }
    let mut written = false;
    let telemetry = match telemetry {
        Some(path) => Some(path),
        // Generated history, relearned: keep the history the models were learned from.
        None if scenario.workloads.values().any(|m| m.learned.is_some()) && scenario.has_history() => {
            let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("learned");
            let path = out_dir.join(format!("{stem}.telemetry.parquet"));
            // Series by series: a month of a thousand twins does not fit in memory as rows.
            let mut keys = scenario.telemetry.keys();
            super::telemetry::write_long_with(&path, || {
                let Some(key) = keys.next() else { return Ok(None) };
                let data = match scenario.telemetry.series(key) {
                    Some(s) => s.read_all().map_err(|e| IoError::invalid(&path, format!("series {key}: {e}")))?,
                    None => SeriesData { ts: Vec::new(), values: Vec::new() },
                };
                Ok(Some((key.clone(), std::borrow::Cow::Owned(data))))
            })?;
            written = true;
            Some(path)
        }
        None => None,
    };
    match telemetry.as_deref() {
        // A log mapping is history read through `logs:`.
        Some(t) if super::logs::is_mapping_path(t) => {
            file.logs = vec![reference(t, out_dir)];
            file.telemetry = None;
        }
        t => file.telemetry = t.map(|t| reference(t, out_dir)),
    }
    // A field of a model per line: learned models are meant to be read and edited.
    save_depth(out, &file, 5)?;
    Ok(Written { scenario: out.to_path_buf(), telemetry, telemetry_written: written })
}

/// How the scenario at `out_dir` names `telemetry`: its file name when both are in one
/// folder, else its absolute path.
fn reference(telemetry: &Path, out_dir: &Path) -> String {
    let dir = telemetry.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let same = match (std::fs::canonicalize(dir), std::fs::canonicalize(out_dir)) {
        (Ok(a), Ok(b)) => a == b,
        _ => dir == out_dir,
    };
    let name = telemetry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if same {
        return name;
    }
    std::fs::canonicalize(telemetry).unwrap_or_else(|_| telemetry.to_path_buf()).to_string_lossy().into_owned()
}

/// A scenario file for a scenario made from a telemetry file: its twins (kind, tags,
/// configuration) and span; metrics are added by the caller.
fn file_of_telemetry(s: &Scenario) -> ScenarioFile {
    let twins = s
        .graph
        .twins()
        .map(|t| TwinFile {
            id: t.id.as_str().into(),
            kind: t.kind.as_str().into(),
            name: (t.name != t.id.as_str()).then(|| t.name.clone()),
            tags: t.tags.iter().cloned().collect(),
            config: t.config.iter().map(|(k, v)| (k.clone(), ConfigValueFile::from(v))).collect(),
            capacity: CapacityFile::default(),
            metrics: BTreeMap::new(),
            changes: Vec::new(),
        })
        .collect();
    ScenarioFile {
        version: FORMAT_VERSION,
        name: s.name.clone(),
        description: s.description.clone(),
        seed: s.seed,
        resolution_secs: s.resolution_secs,
        start: timestamp_field(s.start),
        // Whole slots, so the file's end is the scenario's.
        days: {
            let res = s.resolution_secs.max(1);
            let slots = (s.end - s.start + res - 1).div_euclid(res).max(1);
            (slots * res) as f64 / DAY_SECS as f64
        },
        retention: None,
        twins,
        dependencies: Vec::new(),
        policies: Vec::new(),
        telemetry: None,
        logs: Vec::new(),
    }
}
