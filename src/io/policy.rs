//! The policy language: one schema read from YAML, JSON or RON (by file extension).
//! A file holds one policy, a list of policies, or `{version: 1, policies: [...]}`.
//! The seed's `CompliancePolicy` — `name` and `rules` of `metric`, `operator`,
//! `threshold` — loads as written.
//!
//! ```yaml
//! policies:
//!   - name: db-disk
//!     severity: critical
//!     selector: {kinds: [database]}
//!     rules:
//!       - {metric: disk_usage, aggregation: max, window: 15m, operator: ">", threshold: 90, for: 10m}
//!     config:
//!       - {key: max_connections, expected: 500}
//!     actions:
//!       - scale_up: {resource: disk, factor: 1.25}
//!       - notify: {to: dba-oncall}
//! ```
//!
//! A Prometheus alerting-rule file (YAML with a top-level `groups:`) is read as
//! policies too, through `io::prometheus::rules`.
//!
//! Syntax errors come from the format's parser with line and column; semantic errors
//! (unknown operator, twin or resource; bad numbers) are located in the text and name
//! the offending field.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::format::{ConfigValueFile, DurationFile, Format, parse_doc, parse_kind};
use super::located::Locator;
use super::prometheus::rules;
use super::{IoError, read_text};
use crate::model::ids::is_valid_name;
use crate::model::{ActionKind, ConfigValue, MetricName, Resource, TwinGraph, TwinId};
use crate::policy::{
    Aggregation, AnomalyRule, ConfigOperator, ConfigRule, MetricRule, MissingData, Operator, Policy, Selector, Severity,
};

/// The policy format version this build reads and writes.
pub const POLICY_VERSION: u32 = 1;

/// A policy as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Unique name.
    pub name: String,
    /// What the policy is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `info`, `low`, `medium` (default), `high` or `critical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Which twins (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<SelectorFile>,
    /// Metric rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleFile>,
    /// Desired configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<ConfigRuleFile>,
    /// Remediation actions, in order of preference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionFile>,
}

/// Several policies with a version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicySetFile {
    /// Format version (default 1).
    #[serde(default = "default_version")]
    pub version: u32,
    /// The policies.
    pub policies: Vec<PolicyFile>,
}

fn default_version() -> u32 {
    POLICY_VERSION
}

/// A selector as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SelectorFile {
    /// Kinds (any of).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    /// Tags (all of).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Ids (any of).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
}

/// A rule as written: a threshold on a metric, `(metric: "cpu_usage", operator: ">",
/// threshold: 85)`, or a sustained anomaly, `(anomaly: (metric: "latency_ms",
/// min_score: 0.8, for: "15m"))`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Metric (threshold rules).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metric: String,
    /// `last` (default), `avg`, `min`, `max` or `p95` over `window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<String>,
    /// Window of the aggregation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<DurationFile>,
    /// `>`, `>=`, `<`, `<=`, `==` or `!=`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operator: String,
    /// Threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// How long the condition must hold before the rule fires.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_duration: Option<DurationFile>,
    /// `ok` (default), `violate` or `keep`: what no data means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    /// A sustained anomaly instead of a threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<AnomalyRuleFile>,
}

/// A sustained-anomaly rule as written: `{metric: latency_ms, min_score: 0.8, for: 15m}`
/// (`metric: "*"` watches every metric; `min_score` defaults to 0.9, `for` to 15m).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnomalyRuleFile {
    /// Metric, or `*` for every metric.
    pub metric: String,
    /// Least anomaly score in (0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<f64>,
    /// How long the score must stay at or above `min_score`.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_duration: Option<DurationFile>,
}

/// A desired-state rule as written: `(key: "max_connections", operator: "==", expected: 500)`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigRuleFile {
    /// Key path.
    pub key: String,
    /// `==` (default), `!=`, `<`, `<=`, `>`, `>=` or `in`.
    #[serde(default = "default_config_operator")]
    pub operator: String,
    /// The desired value (a list for `in`).
    pub expected: ConfigValueFile,
}

fn default_config_operator() -> String {
    "==".into()
}

/// A remediation action as written, e.g. `scale_up: {resource: disk, factor: 1.25}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionFile {
    /// Set configuration keys (none: restore the desired values of drifted keys).
    Reconfigure {
        /// Keys and values.
        #[serde(default)]
        set: BTreeMap<String, ConfigValueFile>,
    },
    /// Vertical scale-up.
    ScaleUp {
        /// `cpu`, `memory` or `disk`.
        resource: String,
        /// Multiplier above 1.
        factor: f64,
    },
    /// Vertical scale-down.
    ScaleDown {
        /// `cpu`, `memory` or `disk`.
        resource: String,
        /// Divider above 1.
        factor: f64,
    },
    /// Add replicas.
    ScaleOut {
        /// How many (default 1).
        #[serde(default = "one")]
        replicas: u32,
    },
    /// Remove replicas.
    ScaleIn {
        /// How many (default 1).
        #[serde(default = "one")]
        replicas: u32,
    },
    /// Move the workload to another host.
    Migrate {
        /// Target host (default: the least loaded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// Restart.
    Restart,
    /// Notify someone (recorded, not sent).
    Notify {
        /// Who.
        to: String,
    },
}

fn one() -> u32 {
    1
}

impl From<&ActionKind> for ActionFile {
    fn from(a: &ActionKind) -> Self {
        match a {
            ActionKind::Reconfigure { set } => ActionFile::Reconfigure {
                set: set.iter().map(|(k, v)| (k.clone(), ConfigValueFile::from(v))).collect(),
            },
            ActionKind::ScaleUp { resource, factor } => {
                ActionFile::ScaleUp { resource: resource.as_str().to_string(), factor: *factor }
            }
            ActionKind::ScaleDown { resource, factor } => {
                ActionFile::ScaleDown { resource: resource.as_str().to_string(), factor: *factor }
            }
            ActionKind::ScaleOut { replicas } => ActionFile::ScaleOut { replicas: *replicas },
            ActionKind::ScaleIn { replicas } => ActionFile::ScaleIn { replicas: *replicas },
            ActionKind::Migrate { to } => ActionFile::Migrate { to: to.as_ref().map(|t| t.as_str().to_string()) },
            ActionKind::Restart => ActionFile::Restart,
            ActionKind::Notify { to } => ActionFile::Notify { to: to.clone() },
        }
    }
}

impl ActionFile {
    /// The action it describes, checked; the message names what is wrong.
    pub fn kind(&self) -> Result<ActionKind, String> {
        let kind = self.unchecked()?;
        kind.validate()?;
        Ok(kind)
    }

    /// The action it describes, its parameters not checked yet.
    fn unchecked(&self) -> Result<ActionKind, String> {
        let resource = |r: &str| {
            Resource::parse(r).ok_or_else(|| format!("unknown resource {r:?} (expected cpu, memory or disk)"))
        };
        let kind = match self {
            ActionFile::Reconfigure { set } => {
                ActionKind::Reconfigure { set: set.iter().map(|(k, v)| (k.clone(), ConfigValue::from(v))).collect() }
            }
            ActionFile::ScaleUp { resource: r, factor } => {
                ActionKind::ScaleUp { resource: resource(r)?, factor: *factor }
            }
            ActionFile::ScaleDown { resource: r, factor } => {
                ActionKind::ScaleDown { resource: resource(r)?, factor: *factor }
            }
            ActionFile::ScaleOut { replicas } => ActionKind::ScaleOut { replicas: *replicas },
            ActionFile::ScaleIn { replicas } => ActionKind::ScaleIn { replicas: *replicas },
            ActionFile::Migrate { to } => ActionKind::Migrate { to: to.as_ref().map(TwinId::new) },
            ActionFile::Restart => ActionKind::Restart,
            ActionFile::Notify { to } => ActionKind::Notify { to: to.clone() },
        };
        Ok(kind)
    }
}

/// Reads the policies of a file and validates them against the scenario's twins.
pub fn load_policies(path: &Path, graph: &TwinGraph) -> Result<Vec<Policy>, IoError> {
    let src = read_text(path, "policy file")?;
    parse_policies(path, &src, graph)
}

/// Parses policy text in the format of `path`'s extension and validates it. A YAML
/// Prometheus rule file (`groups:`) is imported (`io::prometheus::rules`).
pub fn parse_policies(path: &Path, src: &str, graph: &TwinGraph) -> Result<Vec<Policy>, IoError> {
    let format = policy_format(path)?;
    let files = if format == Format::Yaml && rules::is_rule_file(src) {
        rules::import(path, src, &rules::TwinLabels::default(), Some(graph))?
    } else {
        parse_files(path, src, format)?
    };
    convert_files(path, src, &files, Some(graph))
}

/// Reads the policies of a file (a Prometheus rule file with these twin labels);
/// twin references are checked when there is a graph (`convert` may have none).
pub fn load_policies_with(
    path: &Path,
    graph: Option<&TwinGraph>,
    labels: &rules::TwinLabels,
) -> Result<Vec<Policy>, IoError> {
    let src = read_text(path, "policy file")?;
    let format = policy_format(path)?;
    let files = if format == Format::Yaml && rules::is_rule_file(&src) {
        rules::import(path, &src, labels, graph)?
    } else {
        parse_files(path, &src, format)?
    };
    convert_files(path, &src, &files, graph)
}

/// Reads the policy documents of a file (a policy file in any format, or a Prometheus
/// rule file) without validating them against twins.
pub fn load_files(path: &Path, labels: &rules::TwinLabels) -> Result<Vec<PolicyFile>, IoError> {
    let src = read_text(path, "policy file")?;
    load_files_from(path, &src, labels)
}

fn load_files_from(path: &Path, src: &str, labels: &rules::TwinLabels) -> Result<Vec<PolicyFile>, IoError> {
    let format = policy_format(path)?;
    if format == Format::Yaml && rules::is_rule_file(src) {
        return rules::import(path, src, labels, None);
    }
    parse_files(path, src, format)
}

fn policy_format(path: &Path) -> Result<Format, IoError> {
    Format::of(path)
        .ok_or_else(|| IoError::invalid(path, "unknown policy format: use a .yaml, .yml, .json or .ron file"))
}

fn convert_files(
    path: &Path,
    src: &str,
    files: &[PolicyFile],
    graph: Option<&TwinGraph>,
) -> Result<Vec<Policy>, IoError> {
    let converter = PolicyConverter::new(path, src);
    let mut seen = BTreeMap::new();
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        if seen.insert(file.name.clone(), ()).is_some() {
            return Err(converter.err_value(&[], &file.name, 1, format!("duplicate policy name {:?}", file.name)));
        }
        out.push(converter.policy_with(file, graph)?);
    }
    Ok(out)
}

/// Parses the policy documents of a text without validating them against twins (a
/// Prometheus rule file too, with the default twin label).
pub fn parse_files(path: &Path, src: &str, format: Format) -> Result<Vec<PolicyFile>, IoError> {
    if format == Format::Yaml && rules::is_rule_file(src) {
        return rules::import(path, src, &rules::TwinLabels::default(), None);
    }
    match shape(src, format) {
        Shape::List => parse_doc::<Vec<PolicyFile>>(path, src, format),
        Shape::Set => {
            let set: PolicySetFile = parse_doc(path, src, format)?;
            if set.version != POLICY_VERSION {
                return Err(IoError::at(
                    path,
                    Locator::new(src).find(&[], "version", 0),
                    format!(
                        "unsupported policy version {}; this twinbench reads version {POLICY_VERSION}",
                        set.version
                    ),
                ));
            }
            Ok(set.policies)
        }
        Shape::One => Ok(vec![parse_doc::<PolicyFile>(path, src, format)?]),
    }
}

enum Shape {
    One,
    List,
    Set,
}

/// Whether the document is one policy, a list, or a versioned set — from its first
/// significant character and a top-level `policies` key.
fn shape(src: &str, format: Format) -> Shape {
    let significant = src
        .lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//") && !l.starts_with("---"));
    let Some(first) = significant else {
        return Shape::One;
    };
    if first.starts_with('[') || (format == Format::Yaml && first.starts_with('-')) {
        return Shape::List;
    }
    let has_policies_key = match format {
        Format::Yaml => src.lines().any(|l| l.starts_with("policies:")),
        Format::Json => src.contains("\"policies\""),
        Format::Ron => src.contains("policies:"),
    };
    if has_policies_key { Shape::Set } else { Shape::One }
}

/// Writes policies in a format (for the editor and for round trips).
pub fn to_text(policies: &[PolicyFile], format: Format) -> Result<String, String> {
    let set = PolicySetFile { version: POLICY_VERSION, policies: policies.to_vec() };
    match format {
        Format::Json => serde_json::to_string_pretty(&set).map_err(|e| e.to_string()),
        Format::Yaml => serde_saphyr::to_string(&set).map_err(|e| e.to_string()),
        Format::Ron => {
            let config = ron::ser::PrettyConfig::new().struct_names(false).depth_limit(5);
            ron::Options::default()
                .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
                .to_string_pretty(&set, config)
                .map_err(|e| e.to_string())
        }
    }
}

/// Converts policy DTOs into model types, locating errors in the source text.
pub(crate) struct PolicyConverter<'a> {
    path: &'a Path,
    locator: Locator<'a>,
}

impl<'a> PolicyConverter<'a> {
    /// A converter for the text `src` of the file `path`.
    pub(crate) fn new(path: &'a Path, src: &'a str) -> Self {
        Self { path, locator: Locator::new(src) }
    }

    fn err(&self, path: &[&str], needle: &str, message: impl Into<String>) -> IoError {
        IoError::at(self.path, self.locator.find(path, needle, 0), message)
    }

    fn err_value(&self, path: &[&str], value: &str, nth: usize, message: impl Into<String>) -> IoError {
        IoError::at(self.path, self.locator.find_value_nth(path, value, nth), message)
    }

    /// Validates one policy against the scenario's twins.
    pub(crate) fn policy(&self, p: &PolicyFile, graph: &TwinGraph) -> Result<Policy, IoError> {
        self.policy_with(p, Some(graph))
    }

    /// Validates one policy; twin references are checked when there is a graph.
    pub(crate) fn policy_with(&self, p: &PolicyFile, graph: Option<&TwinGraph>) -> Result<Policy, IoError> {
        let quoted = format!("{:?}", p.name);
        let ctx_owned = [p.name.clone()];
        let ctx: Vec<&str> = ctx_owned.iter().map(String::as_str).collect();
        if p.name.trim().is_empty() {
            return Err(self.err(&[], "name", "policy name is empty"));
        }
        let severity = match &p.severity {
            None => Severity::default(),
            Some(s) => Severity::parse(s).ok_or_else(|| {
                self.err_value(
                    &ctx,
                    s,
                    0,
                    format!(
                        "policy {quoted}: severity {s:?} is unknown (expected info, low, medium, high or critical)"
                    ),
                )
            })?,
        };
        let selector = p.selector.clone().unwrap_or_default();
        let mut kinds = Vec::new();
        for kind in &selector.kinds {
            kinds.push(
                parse_kind(kind)
                    .map_err(|m| self.err_value(&ctx, kind, 0, format!("policy {quoted}: selector.kinds: {m}")))?,
            );
        }
        for id in &selector.ids {
            if graph.is_some_and(|g| g.twin(&TwinId::new(id)).is_none()) {
                return Err(self.err_value(&ctx, id, 0, format!("policy {quoted}: selector.ids: unknown twin {id:?}")));
            }
        }
        let mut rules = Vec::new();
        let mut anomaly_rules = Vec::new();
        for (i, r) in p.rules.iter().enumerate() {
            match &r.anomaly {
                Some(a) => anomaly_rules.push(self.anomaly_rule(&ctx, &quoted, i, r, a)?),
                None => rules.push(self.rule(&ctx, &quoted, i, r)?),
            }
        }
        let mut config_rules = Vec::new();
        for (i, c) in p.config.iter().enumerate() {
            config_rules.push(self.config_rule(&ctx, &quoted, i, c)?);
        }
        let mut actions = Vec::new();
        for (i, a) in p.actions.iter().enumerate() {
            actions.push(self.action(&ctx, &quoted, i, a, graph)?);
        }
        Ok(Policy {
            name: p.name.clone(),
            description: p.description.clone(),
            severity,
            selector: Selector { kinds, tags: selector.tags, ids: selector.ids.iter().map(TwinId::new).collect() },
            rules,
            config_rules,
            anomaly_rules,
            actions,
        })
    }

    fn anomaly_rule(
        &self,
        ctx: &[&str],
        policy: &str,
        i: usize,
        r: &RuleFile,
        a: &AnomalyRuleFile,
    ) -> Result<AnomalyRule, IoError> {
        let field = |f: &str| format!("policy {policy}: rules[{i}].anomaly.{f}");
        let mut path = ctx.to_vec();
        path.push("anomaly");
        let threshold_fields = [
            ("metric", !r.metric.is_empty()),
            ("operator", !r.operator.is_empty()),
            ("threshold", r.threshold.is_some()),
            ("aggregation", r.aggregation.is_some()),
            ("window", r.window.is_some()),
            ("for", r.for_duration.is_some()),
            ("missing", r.missing.is_some()),
        ];
        if let Some((name, _)) = threshold_fields.iter().find(|(_, set)| *set) {
            return Err(self.err(
                ctx,
                "anomaly",
                format!("policy {policy}: rules[{i}]: an anomaly rule has no {name} of its own (write it inside anomaly: {{...}})"),
            ));
        }
        if a.metric != AnomalyRule::ANY_METRIC && !is_valid_name(&a.metric) {
            return Err(self.err_value(
                &path,
                &a.metric,
                0,
                format!(
                    "{}: metric name {:?} is not valid (a metric, or \"*\" for every metric)",
                    field("metric"),
                    a.metric
                ),
            ));
        }
        let builtin = AnomalyRule::builtin();
        let min_score = a.min_score.unwrap_or(builtin.min_score);
        if !(min_score > 0.0 && min_score <= 1.0) {
            return Err(self.err(
                &path,
                "min_score",
                format!("{}: must be in (0, 1], not {min_score}", field("min_score")),
            ));
        }
        let for_secs = match &a.for_duration {
            None => builtin.for_secs,
            Some(d) => d.to_secs().map_err(|m| self.err(&path, "for", format!("{}: {m}", field("for"))))?,
        };
        Ok(AnomalyRule { metric: MetricName::new(&a.metric), min_score, for_secs })
    }

    fn rule(&self, ctx: &[&str], policy: &str, i: usize, r: &RuleFile) -> Result<MetricRule, IoError> {
        let field = |f: &str| format!("policy {policy}: rules[{i}].{f}");
        if r.metric.is_empty() {
            let near = if i == 0 { "rules" } else { "operator" };
            return Err(self.err(
                ctx,
                near,
                format!(
                    "policy {policy}: rules[{i}] needs metric, operator and threshold (or anomaly: {{metric, min_score, for}})"
                ),
            ));
        }
        let mut path = ctx.to_vec();
        path.push(&r.metric);
        let Some(threshold) = r.threshold else {
            return Err(self.err(
                &path,
                &r.metric,
                format!("{}: missing (a threshold rule needs one)", field("threshold")),
            ));
        };
        if r.operator.is_empty() {
            return Err(self.err(&path, &r.metric, format!("{}: missing (>, >=, <, <=, == or !=)", field("operator"))));
        }
        if !is_valid_name(&r.metric) {
            return Err(self.err_value(
                ctx,
                &r.metric,
                0,
                format!("{}: metric name {:?} is not valid", field("metric"), r.metric),
            ));
        }
        let operator = Operator::parse(&r.operator).ok_or_else(|| {
            self.err_value(
                &path,
                &r.operator,
                0,
                format!("{}: unknown operator {:?} (expected >, >=, <, <=, == or !=)", field("operator"), r.operator),
            )
        })?;
        if !threshold.is_finite() {
            return Err(self.err(&path, "threshold", format!("{}: must be a finite number", field("threshold"))));
        }
        let aggregation = match &r.aggregation {
            None => Aggregation::Last,
            Some(a) => Aggregation::parse(a).ok_or_else(|| {
                self.err_value(
                    &path,
                    a,
                    0,
                    format!(
                        "{}: unknown aggregation {a:?} (expected last, avg, min, max or p95)",
                        field("aggregation")
                    ),
                )
            })?,
        };
        let duration = |d: &Option<DurationFile>, name: &str| -> Result<i64, IoError> {
            match d {
                None => Ok(0),
                Some(d) => d.to_secs().map_err(|m| self.err(&path, name, format!("{}: {m}", field(name)))),
            }
        };
        let window_secs = duration(&r.window, "window")?;
        let for_secs = duration(&r.for_duration, "for")?;
        if aggregation != Aggregation::Last && window_secs == 0 {
            return Err(self.err(
                &path,
                "aggregation",
                format!("{}: {} needs a window, e.g. window: 15m", field("aggregation"), aggregation.as_str()),
            ));
        }
        let missing = match &r.missing {
            None => MissingData::Ok,
            Some(m) => MissingData::parse(m).ok_or_else(|| {
                self.err_value(
                    &path,
                    m,
                    0,
                    format!("{}: unknown behaviour {m:?} (expected ok, violate or keep)", field("missing")),
                )
            })?,
        };
        Ok(MetricRule {
            metric: MetricName::new(&r.metric),
            aggregation,
            window_secs,
            operator,
            threshold,
            for_secs,
            missing,
        })
    }

    fn config_rule(&self, ctx: &[&str], policy: &str, i: usize, c: &ConfigRuleFile) -> Result<ConfigRule, IoError> {
        let field = |f: &str| format!("policy {policy}: config[{i}].{f}");
        let mut path = ctx.to_vec();
        path.push(&c.key);
        if c.key.trim().is_empty() {
            return Err(self.err(ctx, "key", format!("{}: configuration key is empty", field("key"))));
        }
        let operator = ConfigOperator::parse(&c.operator).ok_or_else(|| {
            self.err_value(
                &path,
                &c.operator,
                0,
                format!(
                    "{}: unknown operator {:?} (expected ==, !=, <, <=, >, >= or in)",
                    field("operator"),
                    c.operator
                ),
            )
        })?;
        let expected = ConfigValue::from(&c.expected);
        if operator == ConfigOperator::OneOf && !matches!(expected, ConfigValue::List(_)) {
            return Err(self.err(
                &path,
                "expected",
                format!("{}: operator `in` needs a list, e.g. [\"a\", \"b\"]", field("expected")),
            ));
        }
        if matches!(operator, ConfigOperator::Lt | ConfigOperator::Le | ConfigOperator::Gt | ConfigOperator::Ge)
            && expected.as_f64().is_none_or(|v| !v.is_finite())
        {
            return Err(self.err(
                &path,
                "expected",
                format!("{}: operator {} needs a number", field("expected"), c.operator),
            ));
        }
        Ok(ConfigRule { key: c.key.clone(), operator, expected })
    }

    fn action(
        &self,
        ctx: &[&str],
        policy: &str,
        i: usize,
        a: &ActionFile,
        graph: Option<&TwinGraph>,
    ) -> Result<ActionKind, IoError> {
        let field = format!("policy {policy}: actions[{i}]");
        let mut path = ctx.to_vec();
        path.push("actions");
        match a {
            ActionFile::ScaleUp { resource: r, .. } | ActionFile::ScaleDown { resource: r, .. }
                if Resource::parse(r).is_none() =>
            {
                let message = format!("{field}: unknown resource {r:?} (expected cpu, memory or disk)");
                return Err(self.err_value(&path, r, 0, message));
            }
            ActionFile::Migrate { to: Some(to) } if graph.is_some_and(|g| g.twin(&TwinId::new(to)).is_none()) => {
                return Err(self.err_value(&path, to, 0, format!("{field}: migrate.to: unknown twin {to:?}")));
            }
            _ => {}
        }
        let kind = a.unchecked().map_err(|m| self.err(&path, "actions", format!("{field}: {m}")))?;
        kind.validate().map_err(|m| self.err(&path, kind.name(), format!("{field}: {m}")))?;
        Ok(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Twin, TwinKind};

    fn graph() -> TwinGraph {
        let mut g = TwinGraph::new();
        g.add_twin(Twin::new("web", TwinKind::Service)).unwrap();
        g.add_twin(Twin::new("db", TwinKind::Database)).unwrap();
        g
    }

    #[test]
    fn the_seed_policy_loads_as_written_in_every_format() {
        let g = graph();
        let cases = [
            ("p.ron", r#"(name: "cpu-limit", rules: [(metric: "cpu_usage", operator: ">", threshold: 80.0)])"#),
            (
                "p.json",
                r#"{"name": "cpu-limit", "rules": [{"metric": "cpu_usage", "operator": ">", "threshold": 80.0}]}"#,
            ),
            ("p.yaml", "name: cpu-limit\nrules:\n  - metric: cpu_usage\n    operator: \">\"\n    threshold: 80.0\n"),
        ];
        for (name, text) in cases {
            let p = parse_policies(Path::new(name), text, &g).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.len(), 1);
            assert_eq!(p[0].rules[0], MetricRule::threshold("cpu_usage", Operator::Gt, 80.0));
        }
    }

    #[test]
    fn the_full_language_round_trips_through_every_format() {
        let g = graph();
        let yaml = r#"
policies:
  - name: db-disk
    description: keep room on database disks
    severity: critical
    selector: {kinds: [database], ids: [db]}
    rules:
      - {metric: disk_usage, aggregation: max, window: 15m, operator: ">", threshold: 90, for: 10m, missing: violate}
    config:
      - {key: max_connections, expected: 500}
      - {key: engine, operator: in, expected: [postgres, mysql]}
    actions:
      - scale_up: {resource: disk, factor: 1.25}
      - reconfigure: {set: {max_connections: 500}}
      - restart
      - notify: {to: dba-oncall}
"#;
        let from_yaml = parse_policies(Path::new("p.yaml"), yaml, &g).unwrap();
        assert_eq!(from_yaml[0].rules[0].to_string(), "max(disk_usage, 15m) > 90 for 10m");
        assert_eq!(from_yaml[0].actions.len(), 4);
        let files = parse_files(Path::new("p.yaml"), yaml, Format::Yaml).unwrap();
        for (format, name) in [(Format::Json, "p.json"), (Format::Ron, "p.ron"), (Format::Yaml, "q.yaml")] {
            let text = to_text(&files, format).unwrap();
            let back = parse_policies(Path::new(name), &text, &g).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
            assert_eq!(back, from_yaml, "{name}");
        }
    }

    #[test]
    fn errors_are_located_and_name_the_field() {
        let g = graph();
        let cases = [
            (
                "p.yaml",
                "name: x\nrules:\n  - metric: cpu_usage\n    operator: \"~\"\n    threshold: 1\n",
                "p.yaml:4:",
                "rules[0].operator: unknown operator",
            ),
            (
                "p.yaml",
                "name: x\nrules:\n  - metric: cpu_usage\n    operator: \">\"\n    threshold: high\n",
                "p.yaml:5:",
                "",
            ),
            (
                "p.json",
                "{\"name\": \"x\",\n \"rules\": [{\"metric\": \"cpu_usage\", \"operator\": \">\", \"threshold\": \"high\"}]}",
                "p.json:2:",
                "",
            ),
            (
                "p.ron",
                "(name: \"x\",\n selector: (ids: [\"nope\"]))",
                "p.ron:2:",
                "selector.ids: unknown twin \"nope\"",
            ),
            (
                "p.yaml",
                "name: x\nactions:\n  - scale_up: {resource: gpu, factor: 2}\n",
                "p.yaml:3:",
                "unknown resource \"gpu\"",
            ),
            (
                "p.yaml",
                "name: x\nactions:\n  - scale_up: {resource: cpu, factor: 0.5}\n",
                "p.yaml:3:",
                "factor must be above 1",
            ),
            (
                "p.yaml",
                "name: x\nrules:\n  - {metric: cpu, operator: \">\", threshold: 1, window: soon}\n",
                "p.yaml:3:",
                "rules[0].window: cannot read \"soon\"",
            ),
            (
                "p.yaml",
                "name: x\nrules:\n  - {metric: cpu, aggregation: max, operator: \">\", threshold: 1}\n",
                "p.yaml:3:",
                "max needs a window",
            ),
            ("p.yaml", "name: x\ncolour: red\n", "p.yaml:2:", "colour"),
            ("p.txt", "name: x", "p.txt", "unknown policy format"),
            ("p.yaml", "- name: a\n- name: a\n", "p.yaml:2:", "duplicate policy name"),
        ];
        for (name, text, at, needle) in cases {
            let e = parse_policies(Path::new(name), text, &g).unwrap_err().to_string();
            assert!(e.starts_with(at), "{name} {text:?}: {e}");
            assert!(e.contains(needle), "{name} {text:?}: {e}");
        }
    }
}
