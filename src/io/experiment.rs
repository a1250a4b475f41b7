//! Chaos experiment files (YAML, JSON or RON by extension), in the spirit of Chaos
//! Toolkit: a title, a steady-state hypothesis (policies whose rules must hold, inline
//! or from policy files), a method (faults at offsets on named twins or on a selector,
//! or random faults in a window), rollbacks and a duration; optionally a remediation
//! strategy file that runs during the experiment. Paths are relative to the file.
//!
//! ```ron
//! (
//!     version: 1,
//!     title: "The orders database dies",
//!     duration: "3h",
//!     steady_state: (
//!         after: "15m",
//!         policies: [(name: "orders-work", selector: (tags: ["tier:api"]),
//!                     rules: [(metric: "error_rate", operator: ">", threshold: 5)])],
//!     ),
//!     method: [
//!         fault(kind: crash, targets: ["db-primary"], at: "30m", duration: "2h"),
//!         random(kinds: [latency(ms: 200)], rate_per_hour: 1, selector: (kinds: ["service"]),
//!                from: "1h", until: "2h", duration: "10m"),
//!     ],
//!     rollbacks: [(at: "2h30m")],
//!     remediation: "../strategies/remediate.ron",
//! )
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::format::{DurationFile, Format, parse_doc, parse_kind};
use super::located::Locator;
use super::policy::{PolicyConverter, PolicyFile, SelectorFile, load_policies};
use super::strategy::{format_of, load_strategy, relative_to};
use super::{IoError, read_text};
use crate::model::{TwinGraph, TwinId};
use crate::policy::Selector;
use crate::sim::chaos::{Experiment, MethodStep, Rollback};
use crate::sim::fault::FaultKind;

/// The experiment format version this build reads.
pub const EXPERIMENT_VERSION: u32 = 1;

/// An experiment as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// Format version (default 1).
    #[serde(default = "default_version")]
    pub version: u32,
    /// Title.
    pub title: String,
    /// What it tests.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Length of the experiment.
    pub duration: DurationFile,
    /// The steady-state hypothesis.
    pub steady_state: SteadyStateFile,
    /// The faults.
    pub method: Vec<MethodFile>,
    /// Rollbacks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollbacks: Vec<RollbackFile>,
    /// A strategy file to run during the experiment (absent: hands off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
}

fn default_version() -> u32 {
    EXPERIMENT_VERSION
}

/// The steady-state hypothesis as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SteadyStateFile {
    /// Title of the hypothesis.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Final window in which it must hold again (default 15m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<DurationFile>,
    /// Policy files, relative to the experiment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_files: Vec<String>,
    /// Inline policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyFile>,
}

/// A fault as written: `crash`, `cpu_hog(percent: 50)`, …
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultFile {
    /// The process dies.
    Crash,
    /// CPU taken.
    CpuHog {
        /// Percentage points.
        percent: f64,
    },
    /// Memory grows.
    MemoryLeak {
        /// Points per hour.
        percent_per_hour: f64,
    },
    /// Requests slower.
    Latency {
        /// Added milliseconds.
        ms: f64,
    },
    /// Cut off the network.
    Partition,
    /// Disk fills.
    DiskFill {
        /// Points per hour.
        percent_per_hour: f64,
    },
    /// One dependency unreachable.
    DependencyOutage {
        /// The dependency.
        dependency: String,
    },
    /// More traffic.
    TrafficSpike {
        /// Multiplier.
        factor: f64,
    },
}

/// One step of the method as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum MethodFile {
    /// A fault on named twins and/or the twins a selector picks.
    Fault {
        /// What.
        kind: FaultFile,
        /// Twin ids.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        targets: Vec<String>,
        /// Or every twin a selector picks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selector: Option<SelectorFile>,
        /// Offset from the start.
        at: DurationFile,
        /// How long (absent: until a rollback or the end).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<DurationFile>,
    },
    /// Random faults.
    Random {
        /// Kinds drawn from.
        kinds: Vec<FaultFile>,
        /// Expected faults per hour.
        rate_per_hour: f64,
        /// Candidates (default: every twin).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selector: Option<SelectorFile>,
        /// Window start offset (default 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<DurationFile>,
        /// Window end offset (default: the end).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<DurationFile>,
        /// Duration of each fault.
        duration: DurationFile,
    },
}

/// A rollback as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RollbackFile {
    /// Offset from the start.
    pub at: DurationFile,
    /// Only these twins' faults (default: all faults and random injection).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub twins: Vec<String>,
}

/// Reads an experiment file and validates it against the twins.
pub fn load_experiment(path: &Path, graph: &TwinGraph) -> Result<Experiment, IoError> {
    let src = read_text(path, "experiment file")?;
    parse_experiment(path, &src, graph)
}

/// Parses experiment text in the format of `path`'s extension and validates it. A JSON
/// file shaped like a Chaos Toolkit experiment ([`super::chaostoolkit::is_chaostoolkit`])
/// is read through the provider table of [`super::chaostoolkit`].
pub fn parse_experiment(path: &Path, src: &str, graph: &TwinGraph) -> Result<Experiment, IoError> {
    let file = parse_file(path, src, graph)?;
    experiment_of(path, src, &file, graph)
}

/// Reads an experiment file as written (a Chaos Toolkit experiment as the twinbench
/// experiment it stands for), without validating it against the twins.
pub fn load_file(path: &Path, graph: &TwinGraph) -> Result<ExperimentFile, IoError> {
    let src = read_text(path, "experiment file")?;
    parse_file(path, &src, graph)
}

fn parse_file(path: &Path, src: &str, graph: &TwinGraph) -> Result<ExperimentFile, IoError> {
    let format = format_of(path, "experiment")?;
    if format == Format::Json && super::chaostoolkit::is_chaostoolkit(src) {
        return super::chaostoolkit::import(path, src, graph);
    }
    parse_doc(path, src, format)
}

/// Validates an experiment as written against the twins; `src` is the text it was read
/// from, for error positions.
pub(crate) fn experiment_of(
    path: &Path,
    src: &str,
    file: &ExperimentFile,
    graph: &TwinGraph,
) -> Result<Experiment, IoError> {
    let locator = Locator::new(src);
    let at = |ctx: &[&str], needle: &str, message: String| IoError::at(path, locator.find(ctx, needle, 0), message);
    let at_value =
        |ctx: &[&str], value: &str, message: String| IoError::at(path, locator.find_value(ctx, value), message);
    if file.version != EXPERIMENT_VERSION {
        return Err(at(
            &[],
            "version",
            format!(
                "unsupported experiment version {}; this twinbench reads version {EXPERIMENT_VERSION}",
                file.version
            ),
        ));
    }
    if file.title.trim().is_empty() {
        return Err(at(&[], "title", "experiment title is empty".into()));
    }
    let duration = |ctx: &[&str], d: &DurationFile, name: &str| -> Result<i64, IoError> {
        d.to_secs().map_err(|m| at(ctx, name, format!("{name}: {m}")))
    };
    let duration_secs = duration(&[], &file.duration, "duration")?;
    if duration_secs <= 0 {
        return Err(at(&[], "duration", "duration must be positive".into()));
    }
    let twin = |ctx: &[&str], id: &str| -> Result<TwinId, IoError> {
        let id = TwinId::new(id);
        match graph.twin(&id) {
            Some(_) => Ok(id),
            None => Err(at_value(ctx, id.as_str(), format!("unknown twin {:?}", id.as_str()))),
        }
    };
    let selector = |ctx: &[&str], s: &Option<SelectorFile>| -> Result<Selector, IoError> {
        let s = s.clone().unwrap_or_default();
        let mut kinds = Vec::new();
        for k in &s.kinds {
            kinds.push(parse_kind(k).map_err(|m| at_value(ctx, k, format!("selector.kinds: {m}")))?);
        }
        let mut ids = Vec::new();
        for id in &s.ids {
            ids.push(twin(ctx, id)?);
        }
        Ok(Selector { kinds, tags: s.tags, ids })
    };
    let fault = |ctx: &[&str], f: &FaultFile| -> Result<FaultKind, IoError> {
        let kind = match f {
            FaultFile::Crash => FaultKind::Crash,
            FaultFile::CpuHog { percent } => FaultKind::CpuHog { percent: *percent },
            FaultFile::MemoryLeak { percent_per_hour } => FaultKind::MemoryLeak { percent_per_hour: *percent_per_hour },
            FaultFile::Latency { ms } => FaultKind::Latency { ms: *ms },
            FaultFile::Partition => FaultKind::Partition,
            FaultFile::DiskFill { percent_per_hour } => FaultKind::DiskFill { percent_per_hour: *percent_per_hour },
            FaultFile::DependencyOutage { dependency } => {
                FaultKind::DependencyOutage { dependency: twin(ctx, dependency)? }
            }
            FaultFile::TrafficSpike { factor } => FaultKind::TrafficSpike { factor: *factor },
        };
        kind.validate().map_err(|m| at(ctx, kind.name(), m))?;
        Ok(kind)
    };
    let within = |ctx: &[&str], secs: i64, name: &str| -> Result<i64, IoError> {
        if secs > duration_secs {
            Err(at(ctx, name, format!("{name} is after the end of the experiment ({secs} s > {duration_secs} s)")))
        } else {
            Ok(secs)
        }
    };

    let mut hypothesis = Vec::new();
    for written in &file.steady_state.policy_files {
        let p = relative_to(path, written);
        if !p.is_file() {
            return Err(at_value(
                &["steady_state"],
                written,
                format!("policy file {written:?} does not exist (looked at {})", p.display()),
            ));
        }
        hypothesis.extend(load_policies(&p, graph)?);
    }
    let converter = PolicyConverter::new(path, src);
    for p in &file.steady_state.policies {
        hypothesis.push(converter.policy(p, graph)?);
    }
    if hypothesis.iter().all(|p| p.rules.is_empty()) {
        return Err(at(&[], "steady_state", "the steady-state hypothesis has no metric rules".into()));
    }
    let after_secs = match &file.steady_state.after {
        Some(d) => duration(&["steady_state"], d, "after")?,
        None => 900,
    };

    if file.method.is_empty() {
        return Err(at(&[], "method", "the method has no steps".into()));
    }
    let mut method = Vec::new();
    for (i, step) in file.method.iter().enumerate() {
        let label = format!("method[{i}]");
        let ctx_owned = ["method".to_string()];
        let ctx: Vec<&str> = ctx_owned.iter().map(String::as_str).collect();
        match step {
            MethodFile::Fault { kind, targets, selector: sel, at: at_offset, duration: d } => {
                let kind = fault(&ctx, kind)?;
                let mut ids = Vec::new();
                for id in targets {
                    ids.push(twin(&ctx, id)?);
                }
                if sel.is_some() {
                    let sel = selector(&ctx, sel)?;
                    ids.extend(graph.twins().filter(|t| sel.matches(t)).map(|t| t.id.clone()));
                }
                ids.sort();
                ids.dedup();
                if ids.is_empty() {
                    return Err(at(&ctx, "fault", format!("{label}: the fault has no targets")));
                }
                let at_secs = within(&ctx, duration(&ctx, at_offset, "at")?, "at")?;
                let duration_secs = match d {
                    Some(d) => {
                        let secs = duration(&ctx, d, "duration")?;
                        if secs <= 0 {
                            return Err(at(&ctx, "duration", format!("{label}: duration must be positive")));
                        }
                        Some(secs)
                    }
                    None => None,
                };
                method.push(MethodStep::Fault { kind, targets: ids, at_secs, duration_secs });
            }
            MethodFile::Random { kinds, rate_per_hour, selector: sel, from, until, duration: d } => {
                if !(rate_per_hour.is_finite() && *rate_per_hour > 0.0 && *rate_per_hour <= 3600.0) {
                    return Err(at(
                        &ctx,
                        "rate_per_hour",
                        format!("{label}: rate_per_hour must be above 0 and at most 3600"),
                    ));
                }
                if kinds.is_empty() {
                    return Err(at(&ctx, "kinds", format!("{label}: no fault kinds to draw from")));
                }
                let mut fault_kinds = Vec::new();
                for k in kinds {
                    fault_kinds.push(fault(&ctx, k)?);
                }
                let from_secs = match from {
                    Some(f) => within(&ctx, duration(&ctx, f, "from")?, "from")?,
                    None => 0,
                };
                let until_secs = match until {
                    Some(u) => within(&ctx, duration(&ctx, u, "until")?, "until")?,
                    None => duration_secs,
                };
                if until_secs <= from_secs {
                    return Err(at(&ctx, "until", format!("{label}: until must be after from")));
                }
                let each = duration(&ctx, d, "duration")?;
                if each <= 0 {
                    return Err(at(&ctx, "duration", format!("{label}: duration must be positive")));
                }
                method.push(MethodStep::Random {
                    rate_per_hour: *rate_per_hour,
                    selector: selector(&ctx, sel)?,
                    kinds: fault_kinds,
                    duration_secs: each,
                    from_secs,
                    until_secs,
                });
            }
        }
    }
    let mut rollbacks = Vec::new();
    for r in &file.rollbacks {
        let ctx = ["rollbacks"];
        let at_secs = within(&ctx, duration(&ctx, &r.at, "at")?, "at")?;
        let mut twins = Vec::new();
        for id in &r.twins {
            twins.push(twin(&ctx, id)?);
        }
        rollbacks.push(Rollback { at_secs, twins });
    }
    let remediation = match &file.remediation {
        Some(written) => {
            let p = relative_to(path, written);
            if !p.is_file() {
                return Err(at_value(
                    &[],
                    written,
                    format!("strategy file {written:?} does not exist (looked at {})", p.display()),
                ));
            }
            Some(load_strategy(&p, graph)?)
        }
        None => None,
    };
    Ok(Experiment {
        title: file.title.clone(),
        description: file.description.clone(),
        duration_secs,
        hypothesis,
        after_secs,
        method,
        rollbacks,
        remediation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Twin, TwinKind};

    fn graph() -> TwinGraph {
        let mut g = TwinGraph::new();
        g.add_twin(Twin::new("db", TwinKind::Database)).unwrap();
        g.add_twin(Twin::new("web", TwinKind::Service)).unwrap();
        g
    }

    const RON: &str = r#"(
    title: "db dies",
    duration: "2h",
    steady_state: (policies: [(name: "web-ok", selector: (ids: ["web"]), rules: [(metric: "error_rate", operator: ">", threshold: 5)])]),
    method: [
        fault(kind: crash, targets: ["db"], at: "10m", duration: "1h"),
        random(kinds: [latency(ms: 200), cpu_hog(percent: 40)], rate_per_hour: 2, selector: (kinds: ["service"]), from: "20m", duration: "5m"),
    ],
    rollbacks: [(at: "90m")],
)"#;

    #[test]
    fn an_experiment_reads_in_ron_and_yaml() {
        let g = graph();
        let e = parse_experiment(Path::new("e.ron"), RON, &g).unwrap();
        assert_eq!(e.duration_secs, 7200);
        assert_eq!(e.after_secs, 900);
        assert_eq!(
            e.method[0],
            MethodStep::Fault {
                kind: FaultKind::Crash,
                targets: vec!["db".into()],
                at_secs: 600,
                duration_secs: Some(3600)
            }
        );
        assert!(matches!(&e.method[1], MethodStep::Random { until_secs: 7200, kinds, .. } if kinds.len() == 2));
        assert_eq!(e.rollbacks, vec![Rollback { at_secs: 5400, twins: vec![] }]);
        let yaml = "title: db dies\nduration: 2h\nsteady_state:\n  policies:\n    - name: web-ok\n      rules: [{metric: error_rate, operator: \">\", threshold: 5}]\nmethod:\n  - fault: {kind: crash, targets: [db], at: 10m, duration: 1h}\n";
        let e = parse_experiment(Path::new("e.yaml"), yaml, &g).unwrap();
        assert_eq!(e.method.len(), 1);
    }

    #[test]
    fn errors_are_located() {
        let g = graph();
        let cases = [
            (RON.replace("targets: [\"db\"]", "targets: [\"dbx\"]"), "e.ron:6:", "unknown twin \"dbx\""),
            (RON.replace("at: \"10m\"", "at: \"9h\""), "e.ron:6:", "after the end"),
            (RON.replace("cpu_hog(percent: 40)", "cpu_hog(percent: -4)"), "e.ron:7:", "percent must be above 0"),
            (RON.replace("crash", "explode"), "e.ron:6:", "explode"),
            (RON.replace("rate_per_hour: 2", "rate_per_hour: 0"), "e.ron:7:", "rate_per_hour"),
        ];
        for (text, at, needle) in cases {
            let e = parse_experiment(Path::new("e.ron"), &text, &g).unwrap_err().to_string();
            assert!(e.starts_with(at), "{e}");
            assert!(e.contains(needle), "{e}");
        }
    }
}
