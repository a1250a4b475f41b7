//! Strategy files (YAML, JSON or RON by extension, like policies): a name, the
//! policies the orchestrator acts on (inline and/or paths to policy files, relative to
//! the strategy file), the loop's mode, guards and prioritization weights, and the
//! objective the strategy is judged on.
//!
//! ```ron
//! (
//!     version: 1,
//!     name: "remediate",
//!     mode: "auto",
//!     guards: (max_actions_per_hour: 6, cooldown: "30m", max_blast_radius: 10),
//!     weights: (severity: 0.4, impact: 0.25, urgency: 0.25, cost: 0.1),
//!     objective: "violation_minutes",
//!     policy_files: ["../policies/webshop-remediation.ron"],
//!     policies: [(name: "db-up", rules: [(metric: "up", operator: "<", threshold: 1)], actions: [restart])],
//! )
//! ```
//!
//! Errors point at `file:line:col` of the strategy, or of the policy file they are in.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::format::{DurationFile, Format, parse_doc};
use super::located::Locator;
use super::policy::{PolicyConverter, PolicyFile, load_policies};
use super::{IoError, read_text};
use crate::model::TwinGraph;
use crate::remediation::orchestrate::{Guards, Mode, OrchestratorConfig};
use crate::remediation::priority::Weights;
use crate::sim::strategy::{Objective, Strategy};

/// The strategy format version this build reads.
pub const STRATEGY_VERSION: u32 = 1;

/// A strategy as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StrategyFile {
    /// Format version (default 1).
    #[serde(default = "default_version")]
    pub version: u32,
    /// Name shown in reports.
    pub name: String,
    /// What it is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `auto` (default), `approve` or `dry-run`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Safety limits of the loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guards: Option<GuardsFile>,
    /// Prioritization weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<WeightsFile>,
    /// `violation_minutes` (default), `cost` or `slo_breaches`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<String>,
    /// Policy files, relative to this file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_files: Vec<String>,
    /// Inline policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyFile>,
}

fn default_version() -> u32 {
    STRATEGY_VERSION
}

/// Guards as written; absent fields keep the defaults (6 per hour, 30 min, 10).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GuardsFile {
    /// Executed actions allowed in any hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_actions_per_hour: Option<u32>,
    /// Quiet time per twin after an action on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<DurationFile>,
    /// Largest blast radius an action may have to run without approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_blast_radius: Option<usize>,
}

/// Weights as written; absent fields keep the defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WeightsFile {
    /// Weight of severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<f64>,
    /// Weight of impact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<f64>,
    /// Weight of urgency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<f64>,
    /// Weight of cost and risk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

/// Reads a strategy file and validates it (and its policy files) against the twins.
pub fn load_strategy(path: &Path, graph: &TwinGraph) -> Result<Strategy, IoError> {
    let src = read_text(path, "strategy file")?;
    parse_strategy(path, &src, graph)
}

/// The format of a file by extension, or an error naming the accepted ones.
pub(crate) fn format_of(path: &Path, what: &str) -> Result<Format, IoError> {
    Format::of(path)
        .ok_or_else(|| IoError::invalid(path, format!("unknown {what} format: use a .yaml, .yml, .json or .ron file")))
}

/// A path written in a file, relative to that file's folder.
pub(crate) fn relative_to(path: &Path, written: &str) -> PathBuf {
    let p = Path::new(written);
    if p.is_absolute() { p.to_path_buf() } else { path.parent().unwrap_or(Path::new(".")).join(p) }
}

/// Parses strategy text in the format of `path`'s extension and validates it.
pub fn parse_strategy(path: &Path, src: &str, graph: &TwinGraph) -> Result<Strategy, IoError> {
    let format = format_of(path, "strategy")?;
    let file: StrategyFile = parse_doc(path, src, format)?;
    let locator = Locator::new(src);
    let err = |needle: &str, message: String| IoError::at(path, locator.find(&[], needle, 0), message);
    if file.version != STRATEGY_VERSION {
        return Err(err(
            "version",
            format!("unsupported strategy version {}; this twinbench reads version {STRATEGY_VERSION}", file.version),
        ));
    }
    if file.name.trim().is_empty() {
        return Err(err("name", "strategy name is empty".into()));
    }
    let mode = match &file.mode {
        None => Mode::Automatic,
        Some(m) => Mode::parse(m)
            .ok_or_else(|| err("mode", format!("unknown mode {m:?} (expected auto, approve or dry-run)")))?,
    };
    let objective = match &file.objective {
        None => Objective::default(),
        Some(o) => Objective::parse(o).ok_or_else(|| {
            err("objective", format!("unknown objective {o:?} (expected violation_minutes, cost or slo_breaches)"))
        })?,
    };
    let mut guards = Guards::default();
    if let Some(g) = &file.guards {
        if let Some(max) = g.max_actions_per_hour {
            guards.max_actions_per_hour = max;
        }
        if let Some(c) = &g.cooldown {
            guards.cooldown_secs = c.to_secs().map_err(|m| err("cooldown", format!("guards.cooldown: {m}")))?;
        }
        if let Some(b) = g.max_blast_radius {
            guards.max_blast_radius = b;
        }
    }
    let mut weights = Weights::default();
    if let Some(w) = &file.weights {
        let fields = [
            ("severity", w.severity, &mut weights.severity),
            ("impact", w.impact, &mut weights.impact),
            ("urgency", w.urgency, &mut weights.urgency),
            ("cost", w.cost, &mut weights.cost),
        ];
        for (name, value, slot) in fields {
            if let Some(v) = value {
                if !(v.is_finite() && (0.0..=10.0).contains(&v)) {
                    return Err(err(name, format!("weights.{name} must be between 0 and 10, not {v}")));
                }
                *slot = v;
            }
        }
    }
    let mut policies = Vec::new();
    for written in &file.policy_files {
        let policy_path = relative_to(path, written);
        if !policy_path.is_file() {
            return Err(IoError::at(
                path,
                locator.find_value(&["policy_files"], written),
                format!("policy file {written:?} does not exist (looked at {})", policy_path.display()),
            ));
        }
        policies.extend(load_policies(&policy_path, graph)?);
    }
    let converter = PolicyConverter::new(path, src);
    for p in &file.policies {
        policies.push(converter.policy(p, graph)?);
    }
    for (i, p) in policies.iter().enumerate() {
        if policies[..i].iter().any(|q| q.name == p.name) {
            return Err(IoError::at(
                path,
                locator.find_value(&[], &p.name),
                format!("policy {:?} appears twice in the strategy", p.name),
            ));
        }
    }
    Ok(Strategy {
        name: file.name.clone(),
        description: file.description.clone(),
        policies,
        orchestrator: OrchestratorConfig { mode, guards, weights },
        objective,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Twin, TwinKind};

    fn graph() -> TwinGraph {
        let mut g = TwinGraph::new();
        g.add_twin(Twin::new("db", TwinKind::Database)).unwrap();
        g
    }

    #[test]
    fn a_strategy_reads_in_every_format() {
        let g = graph();
        let cases = [
            (
                "s.ron",
                r#"(name: "fast", mode: "auto", guards: (cooldown: "5m", max_actions_per_hour: 20),
                   objective: "cost", policies: [(name: "db-up", rules: [(metric: "up", operator: "<", threshold: 1)], actions: [restart])])"#,
            ),
            (
                "s.yaml",
                "name: fast\nmode: auto\nguards: {cooldown: 5m, max_actions_per_hour: 20}\nobjective: cost\npolicies:\n  - name: db-up\n    rules: [{metric: up, operator: \"<\", threshold: 1}]\n    actions: [restart]\n",
            ),
            (
                "s.json",
                r#"{"name": "fast", "mode": "auto", "guards": {"cooldown": "5m", "max_actions_per_hour": 20}, "objective": "cost",
                   "policies": [{"name": "db-up", "rules": [{"metric": "up", "operator": "<", "threshold": 1}], "actions": ["restart"]}]}"#,
            ),
        ];
        for (name, text) in cases {
            let s = parse_strategy(Path::new(name), text, &g).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(s.orchestrator.guards.cooldown_secs, 300, "{name}");
            assert_eq!(s.orchestrator.guards.max_actions_per_hour, 20);
            assert_eq!(s.objective, Objective::Cost);
            assert_eq!(s.policies[0].actions, vec![crate::model::ActionKind::Restart]);
        }
    }

    #[test]
    fn errors_are_located() {
        let g = graph();
        let cases = [
            ("s.ron", "(name: \"x\",\n mode: \"sometimes\")", "s.ron:2:", "unknown mode"),
            ("s.yaml", "name: x\nobjective: speed\n", "s.yaml:2:", "unknown objective"),
            ("s.yaml", "name: x\nguards: {cooldown: soon}\n", "s.yaml:2:", "guards.cooldown"),
            ("s.yaml", "name: x\npolicy_files: [nope.yaml]\n", "s.yaml:2:", "does not exist"),
            ("s.yaml", "name: x\ncolour: red\n", "s.yaml:2:", "colour"),
            ("s.yaml", "name: x\npolicies:\n  - name: p\n    selector: {ids: [nope]}\n", "s.yaml:4:", "unknown twin"),
            ("s.txt", "name: x", "s.txt", "unknown strategy format"),
        ];
        for (name, text, at, needle) in cases {
            let e = parse_strategy(Path::new(name), text, &g).unwrap_err().to_string();
            assert!(e.starts_with(at), "{name} {text:?}: {e}");
            assert!(e.contains(needle), "{name} {text:?}: {e}");
        }
    }
}
