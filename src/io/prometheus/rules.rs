//! Prometheus alerting-rule files in and out (SPEC M9, M24).
//!
//! **In.** A rule file (`groups:` of `rules:` with `alert`, `expr`, `for`, `labels`,
//! `annotations`) is accepted wherever a policy file is. Each alerting rule becomes a
//! metric rule; its expression must be in the PromQL subset of [`super::promql`]: one
//! metric's selector whose only label matcher is the twin label (`twin` unless a
//! mapping file names another for the metric: `=` one id, `=~` an alternation of ids),
//! optionally in `avg/min/max/last_over_time(…[range])` or
//! `quantile_over_time(0.95, …[range])`, compared with a number. Anything else is an
//! error at its line and column naming the construct. Rules with the same `alert`
//! name, `severity` label, twins and description form one policy named after the alert
//! (`NAME (2)`, … for the next sets; a rule whose `twinbench_policy` differs from the
//! policy's starts one of its own). `labels.severity` is a twinbench
//! severity (`info`, `low`, `medium`, `high`, `critical`; `warning` reads as medium and
//! `page` as critical; none is medium); `annotations.description` is the policy's
//! description. Recording rules are skipped (they define series, not violations),
//! except twinbench's policy carriers (below); other labels and annotations are not
//! kept.
//!
//! **Out.** Each policy with metric rules becomes a group named after it, each metric
//! rule an alerting rule `alert: POLICY` with `labels: {severity}` and static
//! annotations (`summary`: the rule as text; `description`). Selectors become twin
//! label matchers: ids directly, kinds and tags through a scenario's twins (without a
//! scenario such a selector is an error naming it). What PromQL cannot say travels in
//! annotations twinbench reads back, so a round trip loses nothing:
//! `twinbench_missing` (a rule's missing-data behaviour other than `ok`; Prometheus
//! itself treats no data as `ok`) and `twinbench_policy` (JSON of the policy's desired
//! configuration, anomaly rules and bound actions). A policy without metric rules (a
//! desired configuration, anomaly rules) has no alerting rule to carry it: it travels
//! in a *policy carrier*, a recording rule `record: twinbench:policy_carrier` with
//! `expr: vector(0) < 0` — valid PromQL that yields no series, so Prometheus records
//! nothing and alerts on nothing — whose label `twinbench_policy` holds the policy as
//! JSON (`name`, `description`, `severity`, twin `ids`, and under `policy` the
//! configuration, anomaly rules and actions). twinbench reads it back as that policy.
//!
//! With the same evaluation interval (the group's `interval`, written as the scenario's
//! resolution when one is given), such a rule fires in Prometheus at the evaluations at
//! which twinbench's backtest says it fires: both use closed range windows and a
//! 5-minute lookback (`policy::eval`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::mapping::{Mapping, TwinSelector};
use super::promql::{self, MatchOp};
use crate::io::IoError;
use crate::io::format::{ConfigValueFile, DurationFile};
use crate::io::policy::{ActionFile, AnomalyRuleFile, ConfigRuleFile, PolicyFile, RuleFile, SelectorFile};
use crate::model::{TwinGraph, TwinId};
use crate::policy::{Aggregation, MetricRule, MissingData, Policy, Severity};

/// The annotation carrying a rule's missing-data behaviour.
pub const MISSING_ANNOTATION: &str = "twinbench_missing";
/// The annotation carrying a policy's desired configuration, anomaly rules and actions.
pub const POLICY_ANNOTATION: &str = "twinbench_policy";

/// The recording rule name of a policy carrier (see the module docs).
pub const CARRIER_RECORD: &str = "twinbench:policy_carrier";

/// A carrier's expression: valid PromQL that yields no series.
const CARRIER_EXPR: &str = "vector(0) < 0";

/// Which label names the twin in a metric's series: the mapping's `twin_label` for the
/// metric, else `twin`.
#[derive(Clone, Debug, Default)]
pub struct TwinLabels {
    per_metric: BTreeMap<String, String>,
}

impl TwinLabels {
    /// The default twin label.
    pub const DEFAULT: &'static str = "twin";

    /// The twin labels a mapping gives its series' metrics.
    pub fn of_mapping(mapping: &Mapping) -> Self {
        let mut per_metric = BTreeMap::new();
        for s in &mapping.series {
            if let TwinSelector::Label(label) = &s.twin {
                per_metric.entry(s.metric.as_str().to_string()).or_insert_with(|| label.clone());
            }
        }
        Self { per_metric }
    }

    /// The twin label of `metric`.
    pub fn of(&self, metric: &str) -> &str {
        self.per_metric.get(metric).map_or(Self::DEFAULT, String::as_str)
    }
}

/// Whether a text is a Prometheus rule file: YAML with a top-level `groups:` key.
pub fn is_rule_file(src: &str) -> bool {
    src.lines().any(|l| l.starts_with("groups:"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFileDoc {
    groups: Vec<GroupDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupDoc {
    name: Spanned<String>,
    /// Checked only: twinbench evaluates at the scenario's resolution.
    #[serde(default)]
    interval: Option<Spanned<DurationFile>>,
    #[serde(default)]
    #[allow(dead_code)] // an alert limit has no meaning for a backtest
    limit: Option<u64>,
    #[serde(default)]
    rules: Vec<RuleDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    #[serde(default)]
    record: Option<Spanned<String>>,
    #[serde(default)]
    alert: Option<Spanned<String>>,
    expr: Spanned<String>,
    #[serde(default, rename = "for")]
    for_duration: Option<Spanned<DurationFile>>,
    #[serde(default)]
    labels: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    annotations: BTreeMap<String, Spanned<String>>,
}

/// What a policy carries beyond PromQL, as JSON in [`POLICY_ANNOTATION`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Extras {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    config: Vec<ConfigRuleFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    anomaly: Vec<AnomalyRuleFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    actions: Vec<ActionFile>,
}

/// A policy without metric rules, as a carrier's `twinbench_policy` label holds it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Carrier {
    name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    severity: String,
    /// The twins (none: every twin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ids: Option<Vec<String>>,
    /// Its desired configuration, anomaly rules and actions.
    #[serde(default)]
    policy: Extras,
}

/// The policy a carrier recording rule holds; `None` for any other recording rule.
fn carried_policy(
    path: &Path,
    rule: &RuleDoc,
    record: &Spanned<String>,
    graph: Option<&TwinGraph>,
) -> Result<Option<PolicyFile>, IoError> {
    if record.value != CARRIER_RECORD {
        return Ok(None);
    }
    let at = |loc: &serde_saphyr::Location, message: String| {
        IoError::at(path, (loc.line().max(1) as usize, loc.column().max(1) as usize), message)
    };
    let label = rule.labels.get(POLICY_ANNOTATION).ok_or_else(|| {
        at(
            &record.referenced,
            format!("record {CARRIER_RECORD}: the label {POLICY_ANNOTATION} (the policy) is missing"),
        )
    })?;
    let carrier: Carrier = serde_json::from_str(&label.value)
        .map_err(|e| at(&label.referenced, format!("record {CARRIER_RECORD}: labels.{POLICY_ANNOTATION}: {e}")))?;
    if let (Some(graph), Some(ids)) = (graph, &carrier.ids)
        && let Some(unknown) = ids.iter().find(|id| graph.twin(&TwinId::new(id.as_str())).is_none())
    {
        return Err(at(&label.referenced, format!("policy {:?}: unknown twin {unknown:?}", carrier.name)));
    }
    let Carrier { name, description, severity, ids, policy: Extras { config, anomaly, actions } } = carrier;
    Ok(Some(PolicyFile {
        name,
        description,
        severity: Some(severity),
        selector: ids.map(|ids| SelectorFile { ids, ..SelectorFile::default() }),
        rules: anomaly.into_iter().map(|a| RuleFile { anomaly: Some(a), ..RuleFile::default() }).collect(),
        config,
        actions,
    }))
}

/// Reads a rule file into policy DTOs. With a graph, twin ids in matchers must be its
/// twins. Errors carry the file, line and column.
pub fn import(
    path: &Path,
    src: &str,
    labels: &TwinLabels,
    graph: Option<&TwinGraph>,
) -> Result<Vec<PolicyFile>, IoError> {
    let doc: RuleFileDoc = crate::io::format::parse_doc(path, src, crate::io::format::Format::Yaml)?;
    let at = |loc: &serde_saphyr::Location, message: String| {
        IoError::at(path, (loc.line().max(1) as usize, loc.column().max(1) as usize), message)
    };
    // Policies in order of first appearance, keyed by what makes rules one policy.
    let mut policies: Vec<(String, PolicyFile, Option<Extras>)> = Vec::new();
    let mut group_names = BTreeMap::new();
    for group in &doc.groups {
        if group.name.value.trim().is_empty() {
            return Err(at(&group.name.referenced, "group name is empty".into()));
        }
        if group_names.insert(group.name.value.clone(), ()).is_some() {
            return Err(at(&group.name.referenced, format!("duplicate group name {:?}", group.name.value)));
        }
        if let Some(interval) = &group.interval {
            interval.value.to_secs().map_err(|m| at(&interval.referenced, format!("interval: {m}")))?;
        }
        for rule in &group.rules {
            let Some(alert) = &rule.alert else {
                let Some(record) = &rule.record else {
                    return Err(at(&rule.expr.referenced, "a rule needs `alert` (or `record`)".into()));
                };
                if let Some(policy) = carried_policy(path, rule, record, graph)? {
                    policies.push((format!("\u{0}carrier\u{0}{}", policies.len()), policy, None));
                }
                continue;
            };
            if let Some(record) = &rule.record {
                return Err(at(&record.referenced, "a rule has either `alert` or `record`, not both".into()));
            }
            let name = alert.value.trim();
            if name.is_empty() {
                return Err(at(&alert.referenced, "alert name is empty".into()));
            }
            let parsed = promql::parse(&rule.expr.value).map_err(|e| {
                IoError::at(path, locate(src, &rule.expr, e.offset), format!("alert {name:?}: expr: {e}"))
            })?;
            let twin_label = labels.of(&parsed.metric);
            let mut ids: Option<Vec<String>> = None;
            for m in &parsed.matchers {
                let where_ = || locate(src, &rule.expr, m.offset);
                let construct = format!("{}{}{}", m.label, m.op.symbol(), promql::quote(&m.value));
                if m.label != twin_label {
                    return Err(IoError::at(
                        path,
                        where_(),
                        format!(
                            "alert {name:?}: expr: the label matcher {construct} is outside the supported subset (only the twin label {twin_label:?} may be matched)"
                        ),
                    ));
                }
                if ids.is_some() {
                    return Err(IoError::at(
                        path,
                        where_(),
                        format!("alert {name:?}: expr: a second matcher on {twin_label:?}"),
                    ));
                }
                let values = match m.op {
                    MatchOp::Equal => vec![m.value.clone()],
                    MatchOp::Regex => promql::literal_alternatives(&m.value).map_err(|what| {
                        IoError::at(
                            path,
                            where_(),
                            format!(
                                "alert {name:?}: expr: {construct}: {what} is outside the supported subset (a list of twin ids, a|b|c)"
                            ),
                        )
                    })?,
                    MatchOp::NotEqual | MatchOp::NotRegex => {
                        return Err(IoError::at(
                            path,
                            where_(),
                            format!("alert {name:?}: expr: the negative matcher {construct} is outside the supported subset"),
                        ));
                    }
                };
                if let Some(graph) = graph
                    && let Some(unknown) = values.iter().find(|v| graph.twin(&TwinId::new(v.as_str())).is_none())
                {
                    return Err(IoError::at(path, where_(), format!("alert {name:?}: expr: unknown twin {unknown:?}")));
                }
                let mut values = values;
                values.sort();
                values.dedup();
                ids = Some(values);
            }
            if !crate::model::ids::is_valid_name(&parsed.metric) {
                return Err(IoError::at(
                    path,
                    locate(src, &rule.expr, 0),
                    format!("alert {name:?}: expr: metric name {:?} is not valid", parsed.metric),
                ));
            }
            let severity = match rule.labels.get("severity") {
                None => Severity::default(),
                Some(s) => match s.value.as_str() {
                    "warning" => Severity::Medium,
                    "page" => Severity::Critical,
                    other => Severity::parse(other).ok_or_else(|| {
                        at(
                            &s.referenced,
                            format!(
                                "alert {name:?}: labels.severity {other:?} is unknown (expected info, low, medium, high, critical, warning or page)"
                            ),
                        )
                    })?,
                },
            };
            let for_duration = match &rule.for_duration {
                None => None,
                Some(d) => {
                    let secs = d.value.to_secs().map_err(|m| at(&d.referenced, format!("alert {name:?}: for: {m}")))?;
                    (secs > 0).then(|| DurationFile::Text(promql::format_prometheus_duration(secs)))
                }
            };
            let missing = match rule.annotations.get(MISSING_ANNOTATION) {
                None => None,
                Some(m) => {
                    MissingData::parse(&m.value).ok_or_else(|| {
                        at(
                            &m.referenced,
                            format!("alert {name:?}: annotations.{MISSING_ANNOTATION}: expected ok, violate or keep, not {:?}", m.value),
                        )
                    })?;
                    (m.value != "ok").then(|| m.value.clone())
                }
            };
            let extras = match rule.annotations.get(POLICY_ANNOTATION) {
                None => Extras::default(),
                Some(e) => serde_json::from_str::<Extras>(&e.value).map_err(|err| {
                    at(&e.referenced, format!("alert {name:?}: annotations.{POLICY_ANNOTATION}: {err}"))
                })?,
            };
            let description = rule.annotations.get("description").map(|d| d.value.clone()).unwrap_or_default();
            let metric_rule = RuleFile {
                metric: parsed.metric.clone(),
                aggregation: (parsed.aggregation != Aggregation::Last || parsed.window_secs > 0)
                    .then(|| parsed.aggregation.as_str().to_string()),
                window: (parsed.window_secs > 0)
                    .then(|| DurationFile::Text(promql::format_prometheus_duration(parsed.window_secs))),
                operator: parsed.operator.symbol().to_string(),
                threshold: Some(parsed.threshold),
                for_duration,
                missing,
                anomaly: None,
            };
            // One policy per alert name, severity, twins and description; its extras come
            // with one of its rules (the first, as written by `export`), and a rule
            // carrying other extras starts a policy of its own.
            let key = format!("{name}\u{0}{}\u{0}{ids:?}\u{0}{description}", severity.as_str());
            let has_extras = extras != Extras::default();
            if let Some((_, policy, carried)) = policies.iter_mut().find(|(k, _, carried)| {
                *k == key && (!has_extras || carried.is_none() || carried.as_ref() == Some(&extras))
            }) {
                policy.rules.push(metric_rule);
                if has_extras && carried.is_none() {
                    policy.rules.extend(
                        extras.anomaly.iter().map(|a| RuleFile { anomaly: Some(a.clone()), ..RuleFile::default() }),
                    );
                    policy.config = extras.config.clone();
                    policy.actions = extras.actions.clone();
                    *carried = Some(extras);
                }
                continue;
            }
            let taken =
                policies.iter().filter(|(_, p, _)| p.name == name || p.name.starts_with(&format!("{name} ("))).count();
            let policy_name = if taken == 0 { name.to_string() } else { format!("{name} ({})", taken + 1) };
            let mut rules = vec![metric_rule];
            rules.extend(extras.anomaly.iter().map(|a| RuleFile { anomaly: Some(a.clone()), ..RuleFile::default() }));
            let carried = has_extras.then(|| extras.clone());
            policies.push((
                key,
                PolicyFile {
                    name: policy_name,
                    description,
                    severity: Some(severity.as_str().to_string()),
                    selector: ids.map(|ids| SelectorFile { ids, ..SelectorFile::default() }),
                    rules,
                    config: extras.config,
                    actions: extras.actions,
                },
                carried,
            ));
        }
    }
    // Anomaly rules were appended after the first metric rule; keep metric rules first.
    Ok(policies
        .into_iter()
        .map(|(_, mut p, _)| {
            p.rules.sort_by_key(|r| r.anomaly.is_some());
            p
        })
        .collect())
}

/// The (line, column) of byte `offset` of a YAML scalar's value. A quoted scalar is
/// taken as one line; otherwise the value's whitespace-separated words are followed
/// through the source from where the value starts (plain scalars over several lines,
/// literal and folded blocks alike).
fn locate(src: &str, value: &Spanned<String>, offset: usize) -> (usize, usize) {
    let (line, col) = (value.referenced.line().max(1) as usize, value.referenced.column().max(1) as usize);
    let text = &value.value;
    let offset = offset.min(text.len());
    let lines: Vec<&str> = src.lines().collect();
    let Some(first) = lines.get(line - 1) else {
        return (line, col);
    };
    let start = first.char_indices().nth(col - 1).map_or(first.len(), |(b, _)| b);
    let at = &first[start..];
    if at.starts_with('"') || at.starts_with('\'') {
        return (line, col + 1 + text[..offset].chars().count());
    }
    // The word holding the offset (or the last one), and the characters into it.
    let value_words: Vec<(usize, usize)> = words(text).collect();
    let Some(index) = value_words.iter().position(|(_, end)| offset < *end).or(value_words.len().checked_sub(1)) else {
        return (line, col);
    };
    let inside = text.get(value_words[index].0..offset).map_or(0, |s| s.chars().count());
    let (mut li, mut from) = if at.starts_with('|') || at.starts_with('>') { (line, 0) } else { (line - 1, start) };
    let mut seen = 0;
    while let Some(l) = lines.get(li) {
        for (s, _) in words(&l[from..]) {
            if seen == index {
                return (li + 1, l[..from + s].chars().count() + 1 + inside);
            }
            seen += 1;
        }
        (li, from) = (li + 1, 0);
    }
    (line, col)
}

/// Byte ranges of the whitespace-separated words of a text.
fn words(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let rest = &text[at..];
        let skip = rest.len() - rest.trim_start().len();
        let begin = at + skip;
        if begin >= text.len() {
            return None;
        }
        let len = text[begin..].find(char::is_whitespace).unwrap_or(text.len() - begin);
        at = begin + len;
        Some((begin, at))
    })
}

/// A rule file written from policies.
#[derive(Debug)]
pub struct ExportedRules {
    /// The YAML text.
    pub text: String,
    /// Alerting rules written.
    pub rules: usize,
    /// The policies without metric rules, written as policy carriers.
    pub carried: Vec<String>,
}

#[derive(Serialize)]
struct OutFile {
    groups: Vec<OutGroup>,
}

#[derive(Serialize)]
struct OutGroup {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<String>,
    rules: Vec<OutRule>,
}

#[derive(Serialize)]
struct OutRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alert: Option<String>,
    expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    for_duration: Option<String>,
    labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

/// One exported alerting rule, for tests that need the annotations Prometheus reports.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportedAlert {
    /// The alert name (the policy's).
    pub alert: String,
    /// Index of the policy in the exported list.
    pub policy: usize,
    /// Index of the metric rule in the policy.
    pub rule: usize,
    /// The rule's labels.
    pub labels: BTreeMap<String, String>,
    /// The rule's annotations.
    pub annotations: BTreeMap<String, String>,
}

/// Writes policies as a Prometheus rule file. `graph` (a scenario's twins) resolves
/// selectors by kind or tag; `interval_secs` becomes each group's `interval`. `path`
/// names the policy file in errors.
pub fn export(
    path: &Path,
    policies: &[Policy],
    graph: Option<&TwinGraph>,
    labels: &TwinLabels,
    interval_secs: Option<i64>,
) -> Result<(ExportedRules, Vec<ExportedAlert>), IoError> {
    let mut groups = Vec::new();
    let mut alerts = Vec::new();
    let mut carried = Vec::new();
    for (pi, p) in policies.iter().enumerate() {
        let ids = twin_ids(path, p, graph)?;
        let extras = Extras {
            config: p
                .config_rules
                .iter()
                .map(|c| ConfigRuleFile {
                    key: c.key.clone(),
                    operator: c.operator.symbol().to_string(),
                    expected: ConfigValueFile::from(&c.expected),
                })
                .collect(),
            anomaly: p
                .anomaly_rules
                .iter()
                .map(|a| AnomalyRuleFile {
                    metric: a.metric.as_str().to_string(),
                    min_score: Some(a.min_score),
                    for_duration: Some(DurationFile::Text(promql::format_prometheus_duration(a.for_secs))),
                })
                .collect(),
            actions: p.actions.iter().map(ActionFile::from).collect(),
        };
        if p.rules.is_empty() {
            let carrier = Carrier {
                name: p.name.clone(),
                description: p.description.clone(),
                severity: p.severity.as_str().to_string(),
                ids,
                policy: extras,
            };
            let json = serde_json::to_string(&carrier)
                .map_err(|e| IoError::invalid(path, format!("policy {:?}: {e}", p.name)))?;
            carried.push(p.name.clone());
            groups.push(OutGroup {
                name: p.name.clone(),
                interval: interval_secs.map(promql::format_prometheus_duration),
                rules: vec![OutRule {
                    record: Some(CARRIER_RECORD.to_string()),
                    alert: None,
                    expr: CARRIER_EXPR.to_string(),
                    for_duration: None,
                    labels: BTreeMap::from([(POLICY_ANNOTATION.to_string(), json)]),
                    annotations: BTreeMap::new(),
                }],
            });
            continue;
        }
        let mut rules = Vec::new();
        for (ri, r) in p.rules.iter().enumerate() {
            let metric = r.metric.as_str();
            if !is_prometheus_metric_name(metric) {
                return Err(IoError::invalid(
                    path,
                    format!("policy {:?}: rules[{ri}]: metric {metric:?} is not a Prometheus metric name", p.name),
                ));
            }
            let expr = alert_expr(r, labels.of(metric), ids.as_deref());
            let mut annotations = BTreeMap::new();
            annotations.insert("summary".to_string(), r.to_string());
            if !p.description.is_empty() {
                annotations.insert("description".to_string(), p.description.clone());
            }
            if r.missing != MissingData::Ok {
                annotations.insert(MISSING_ANNOTATION.to_string(), r.missing.as_str().to_string());
            }
            if ri == 0 && extras != Extras::default() {
                annotations.insert(POLICY_ANNOTATION.to_string(), serde_json::to_string(&extras).unwrap_or_default());
            }
            let labels = BTreeMap::from([("severity".to_string(), p.severity.as_str().to_string())]);
            alerts.push(ExportedAlert {
                alert: p.name.clone(),
                policy: pi,
                rule: ri,
                labels: labels.clone(),
                annotations: annotations.clone(),
            });
            rules.push(OutRule {
                record: None,
                alert: Some(p.name.clone()),
                expr,
                for_duration: (r.for_secs > 0).then(|| promql::format_prometheus_duration(r.for_secs)),
                labels,
                annotations,
            });
        }
        groups.push(OutGroup {
            name: p.name.clone(),
            interval: interval_secs.map(promql::format_prometheus_duration),
            rules,
        });
    }
    let count = alerts.len();
    let text = serde_saphyr::to_string(&OutFile { groups })
        .map_err(|e| IoError::invalid(path, format!("cannot write the rule file: {e}")))?;
    Ok((ExportedRules { text, rules: count, carried }, alerts))
}

/// The alert expression of a metric rule in the documented PromQL subset: the rule's
/// metric, matched on `label` against `ids` (every series when `None`), under its range
/// function, compared with its threshold. [`import`] reads it back.
pub(crate) fn alert_expr(r: &MetricRule, label: &str, ids: Option<&[String]>) -> String {
    let metric = r.metric.as_str();
    let selector = match ids {
        None => metric.to_string(),
        Some([one]) => format!("{metric}{{{label}={}}}", promql::quote(one)),
        Some(many) => format!(
            "{metric}{{{label}=~{}}}",
            promql::quote(&promql::alternation(&many.iter().map(String::as_str).collect::<Vec<_>>()))
        ),
    };
    let vector = if r.aggregation == Aggregation::Last || r.window_secs == 0 {
        selector
    } else {
        let range = promql::format_prometheus_duration(r.window_secs);
        match r.aggregation {
            Aggregation::P95 => format!("quantile_over_time(0.95, {selector}[{range}])"),
            other => format!("{}_over_time({selector}[{range}])", other.as_str()),
        }
    };
    format!("{vector} {} {}", r.operator.symbol(), r.threshold)
}

/// The twin ids a policy's selector stands for (`None`: every twin, no matcher).
fn twin_ids(path: &Path, p: &Policy, graph: Option<&TwinGraph>) -> Result<Option<Vec<String>>, IoError> {
    let s = &p.selector;
    if s.kinds.is_empty() && s.tags.is_empty() {
        if s.ids.is_empty() {
            return Ok(None);
        }
        let mut ids: Vec<String> = s.ids.iter().map(|i| i.as_str().to_string()).collect();
        ids.sort();
        ids.dedup();
        return Ok(Some(ids));
    }
    let Some(graph) = graph else {
        let mut named = Vec::new();
        if !s.kinds.is_empty() {
            named.push(format!("kinds {:?}", s.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>()));
        }
        if !s.tags.is_empty() {
            named.push(format!("tags {:?}", s.tags));
        }
        return Err(IoError::invalid(
            path,
            format!(
                "policy {:?}: selector by {} needs --scenario to become twin ids in a label matcher",
                p.name,
                named.join(" and ")
            ),
        ));
    };
    let mut ids: Vec<String> = graph.twins().filter(|t| s.matches(t)).map(|t| t.id.as_str().to_string()).collect();
    ids.sort();
    if ids.is_empty() {
        return Err(IoError::invalid(
            path,
            format!("policy {:?}: its selector matches no twin of the scenario", p.name),
        ));
    }
    Ok(Some(ids))
}

fn is_prometheus_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Twin, TwinKind};

    fn graph() -> TwinGraph {
        let mut g = TwinGraph::new();
        for id in ["db-1", "db.2", "web"] {
            g.add_twin(Twin::new(id, TwinKind::Database)).unwrap();
        }
        g
    }

    #[test]
    fn a_mapping_names_the_twin_label_of_each_metric() {
        let mapping = super::super::mapping::parse(
            Path::new("m.yaml"),
            "series:\n  - {query: pg_up, metric: up, twin_label: instance}\n",
        )
        .unwrap();
        let labels = TwinLabels::of_mapping(&mapping);
        assert_eq!((labels.of("up"), labels.of("cpu_usage")), ("instance", "twin"));
        let src = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up{instance=~\"db-1|db\\\\.2\"} < 1\n    labels: {severity: warning}\n";
        let files = import(Path::new("r.yml"), src, &labels, Some(&graph())).unwrap();
        assert_eq!(files[0].selector.as_ref().unwrap().ids, ["db-1", "db.2"]);
        assert_eq!(files[0].severity.as_deref(), Some("medium"));
        let e = import(Path::new("r.yml"), src, &TwinLabels::default(), Some(&graph())).unwrap_err().to_string();
        assert!(e.starts_with("r.yml:5:14:") && e.contains("instance=~"), "{e}");
    }

    #[test]
    fn an_export_reads_back_as_the_same_policies() {
        let g = graph();
        let yaml = "policies:\n  - name: db\n    description: keep up\n    severity: critical\n    selector: {ids: [db-1, db.2]}\n    rules:\n      - {metric: disk_usage, aggregation: p95, window: 1h30m, operator: \">=\", threshold: -2.5, for: 10m, missing: keep}\n      - {metric: up, operator: \"<\", threshold: 1}\n      - anomaly: {metric: latency_ms, min_score: 0.8, for: 15m}\n    config:\n      - {key: ssl, expected: true}\n    actions:\n      - migrate: {to: web}\n      - notify: {to: dba}\n";
        let policies = crate::io::policy::parse_policies(Path::new("p.yaml"), yaml, &g).unwrap();
        let (out, alerts) = export(Path::new("p.yaml"), &policies, Some(&g), &TwinLabels::default(), Some(60)).unwrap();
        assert_eq!((out.rules, alerts.len()), (2, 2));
        assert!(
            out.text.contains("quantile_over_time(0.95, disk_usage{twin=~\"db-1|db\\\\.2\"}[1h30m]) >= -2.5"),
            "{}",
            out.text
        );
        let back = crate::io::policy::parse_policies(Path::new("r.yml"), &out.text, &g).unwrap();
        assert_eq!(back, policies, "{}", out.text);
    }

    #[test]
    fn a_policy_without_metric_rules_travels_in_a_carrier_that_records_nothing() {
        let g = graph();
        let yaml = "policies:\n  - name: baseline\n    description: desired settings\n    severity: high\n    selector: {ids: [web]}\n    rules:\n      - anomaly: {metric: latency_ms, min_score: 0.9}\n    config:\n      - {key: max_connections, operator: \">=\", expected: 200}\n    actions:\n      - reconfigure: {}\n  - name: fleet\n    config:\n      - {key: ssl, expected: true}\n";
        let policies = crate::io::policy::parse_policies(Path::new("p.yaml"), yaml, &g).unwrap();
        let (out, alerts) = export(Path::new("p.yaml"), &policies, Some(&g), &TwinLabels::default(), None).unwrap();
        assert_eq!((out.rules, alerts.len()), (0, 0));
        assert_eq!(out.carried, ["baseline", "fleet"]);
        assert!(out.text.contains("record: twinbench:policy_carrier") && out.text.contains("expr: vector(0) < 0"));
        let back = crate::io::policy::parse_policies(Path::new("r.yml"), &out.text, &g).unwrap();
        assert_eq!(back, policies, "{}", out.text);
        // A carrier naming a twin that is not there, or holding garbage: located errors.
        let bad = out.text.replace("web", "gone");
        let e = crate::io::policy::parse_policies(Path::new("r.yml"), &bad, &g).unwrap_err().to_string();
        assert!(e.starts_with("r.yml:") && e.contains("unknown twin \"gone\""), "{e}");
        let garbage = "groups:\n- name: g\n  rules:\n  - record: twinbench:policy_carrier\n    expr: vector(0) < 0\n    labels: {twinbench_policy: '{\"name\": 3}'}\n";
        let e = crate::io::policy::parse_policies(Path::new("r.yml"), garbage, &g).unwrap_err().to_string();
        assert!(e.starts_with("r.yml:6:") && e.contains("labels.twinbench_policy"), "{e}");
        // Other recording rules are still skipped.
        let other = "groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum(up)\n";
        assert!(crate::io::policy::parse_policies(Path::new("r.yml"), other, &g).unwrap().is_empty());
    }

    #[test]
    fn positions_inside_block_and_folded_expressions() {
        let g = graph();
        for (src, at) in [
            (
                "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: >-\n      max_over_time(up[5m])\n      > nope\n",
                "r.yml:7:9:",
            ),
            ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: \"up{twin='db-1'} > 1 or up\"\n", "r.yml:5:32:"),
            ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n      offset 5m > 1\n", "r.yml:6:7:"),
        ] {
            let e = import(Path::new("r.yml"), src, &TwinLabels::default(), Some(&g)).unwrap_err().to_string();
            assert!(e.starts_with(at), "{src}\n→ {e}");
        }
    }
}
