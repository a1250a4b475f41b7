//! Compliance policies as model types: which twins a policy selects and the metric
//! thresholds it sets. The seed's `CompliancePolicy { name, rules: [{metric, operator,
//! threshold}] }` is this schema with an empty selector (every twin).

pub mod eval;
pub mod spans;

use std::fmt;

use crate::model::{ActionKind, ConfigValue, MetricName, Twin, TwinId, TwinKind};

/// Comparison of a metric with a threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operator {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Operator {
    /// Every operator.
    pub const ALL: [Operator; 6] = [Operator::Gt, Operator::Ge, Operator::Lt, Operator::Le, Operator::Eq, Operator::Ne];

    /// The symbol (`>`, `>=`, …).
    pub fn symbol(self) -> &'static str {
        match self {
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Eq => "==",
            Operator::Ne => "!=",
        }
    }

    /// Parses a symbol or its name (`gt`, `greater_than`, …).
    pub fn parse(s: &str) -> Option<Operator> {
        Some(match s.trim() {
            ">" | "gt" | "greater_than" => Operator::Gt,
            ">=" | "ge" | "gte" | "greater_or_equal" => Operator::Ge,
            "<" | "lt" | "less_than" => Operator::Lt,
            "<=" | "le" | "lte" | "less_or_equal" => Operator::Le,
            "==" | "=" | "eq" | "equal" => Operator::Eq,
            "!=" | "ne" | "not_equal" => Operator::Ne,
            _ => return None,
        })
    }

    /// Whether `value <op> threshold` holds.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Operator::Gt => value > threshold,
            Operator::Ge => value >= threshold,
            Operator::Lt => value < threshold,
            Operator::Le => value <= threshold,
            Operator::Eq => value == threshold,
            Operator::Ne => value != threshold,
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// How much a violation matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium (the default).
    #[default]
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Every severity, least first.
    pub const ALL: [Severity; 5] =
        [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses the lower-case name.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Which twins a policy applies to. Empty lists do not restrict; a twin must match
/// every non-empty list: one of the kinds, all of the tags, one of the ids.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selector {
    /// Twin kinds (any of).
    pub kinds: Vec<TwinKind>,
    /// Tags (all of).
    pub tags: Vec<String>,
    /// Twin ids (any of).
    pub ids: Vec<TwinId>,
}

impl Selector {
    /// Whether the selector picks `twin`.
    pub fn matches(&self, twin: &Twin) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&twin.kind))
            && self.tags.iter().all(|t| twin.tags.contains(t))
            && (self.ids.is_empty() || self.ids.contains(&twin.id))
    }
}

/// How the samples in a rule's window are summarised before comparing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Aggregation {
    /// The latest sample (the default; the window is ignored).
    #[default]
    Last,
    /// Mean of the window.
    Avg,
    /// Smallest sample of the window.
    Min,
    /// Largest sample of the window.
    Max,
    /// 95th percentile of the window, as Prometheus' `quantile_over_time(0.95, …)`
    /// computes it ([`prometheus_quantile`]).
    P95,
}

impl Aggregation {
    /// Every aggregation.
    pub const ALL: [Aggregation; 5] =
        [Aggregation::Last, Aggregation::Avg, Aggregation::Min, Aggregation::Max, Aggregation::P95];

    /// Name in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Last => "last",
            Aggregation::Avg => "avg",
            Aggregation::Min => "min",
            Aggregation::Max => "max",
            Aggregation::P95 => "p95",
        }
    }

    /// Parses the name (`mean` is accepted for `avg`).
    pub fn parse(s: &str) -> Option<Aggregation> {
        if s == "mean" {
            return Some(Aggregation::Avg);
        }
        Aggregation::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Summarises values (not empty), as Prometheus' `*_over_time` functions do.
    pub fn apply(self, values: &[f64]) -> Option<f64> {
        let last = *values.last()?;
        Some(match self {
            Aggregation::Last => last,
            Aggregation::Avg => prometheus_mean(values.iter().copied()),
            Aggregation::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            Aggregation::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Aggregation::P95 => {
                let mut sorted = values.to_vec();
                sorted.sort_by(f64::total_cmp);
                return prometheus_quantile(0.95, &sorted);
            }
        })
    }
}

/// The mean as Prometheus 2.42's `avg_over_time` computes it, value by value
/// (`mean += v/n − mean/n`), so a mean on the threshold compares as it does there.
pub fn prometheus_mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut mean, mut count) = (0.0_f64, 0.0_f64);
    for v in values {
        count += 1.0;
        mean += v / count - mean / count;
    }
    mean
}

/// The `q` quantile of sorted values as Prometheus' `quantile_over_time` computes it:
/// rank `q·(n − 1)`, linear interpolation between the two closest values. `None` for
/// no values.
pub fn prometheus_quantile(q: f64, sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    let last = n.checked_sub(1)?;
    let rank = q * last as f64;
    let lower = rank.floor().max(0.0) as usize;
    let upper = (lower + 1).min(last);
    let weight = rank - rank.floor();
    Some(sorted[lower.min(last)] * (1.0 - weight) + sorted[upper] * weight)
}

/// What a rule concludes when its metric has no data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MissingData {
    /// No data is not a violation (the default).
    #[default]
    Ok,
    /// No data is a violation (a silent twin is a broken twin).
    Violate,
    /// Keep whatever the rule concluded last.
    Keep,
}

impl MissingData {
    /// Every behaviour.
    pub const ALL: [MissingData; 3] = [MissingData::Ok, MissingData::Violate, MissingData::Keep];

    /// Name in files.
    pub fn as_str(self) -> &'static str {
        match self {
            MissingData::Ok => "ok",
            MissingData::Violate => "violate",
            MissingData::Keep => "keep",
        }
    }

    /// Parses the name.
    pub fn parse(s: &str) -> Option<MissingData> {
        MissingData::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// A metric threshold: the rule is violated when the aggregated metric satisfies
/// `operator threshold` continuously for `for_secs`. (`cpu_usage > 85` is violated when
/// cpu_usage is above 85.)
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRule {
    /// The metric.
    pub metric: MetricName,
    /// How the window is summarised.
    pub aggregation: Aggregation,
    /// Window length in seconds (0: the latest sample only).
    pub window_secs: i64,
    /// Comparison that signals a violation.
    pub operator: Operator,
    /// Threshold.
    pub threshold: f64,
    /// How long the condition must hold before the rule fires, in seconds.
    pub for_secs: i64,
    /// What no data means.
    pub missing: MissingData,
}

impl MetricRule {
    /// A plain threshold on the latest sample (the seed's rule shape).
    pub fn threshold(metric: impl Into<MetricName>, operator: Operator, threshold: f64) -> Self {
        Self {
            metric: metric.into(),
            aggregation: Aggregation::Last,
            window_secs: 0,
            operator,
            threshold,
            for_secs: 0,
            missing: MissingData::Ok,
        }
    }

    /// Whether an (aggregated) value satisfies the violation condition.
    pub fn violated_by(&self, value: f64) -> bool {
        self.operator.holds(value, self.threshold)
    }

    /// Whether larger values are worse for this rule.
    pub fn higher_is_worse(&self) -> bool {
        matches!(self.operator, Operator::Gt | Operator::Ge)
    }
}

fn format_secs(secs: i64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

impl fmt::Display for MetricRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.aggregation == Aggregation::Last || self.window_secs == 0 {
            write!(f, "{}", self.metric)?;
        } else {
            write!(f, "{}({}, {})", self.aggregation.as_str(), self.metric, format_secs(self.window_secs))?;
        }
        write!(f, " {} {}", self.operator, self.threshold)?;
        if self.for_secs > 0 {
            write!(f, " for {}", format_secs(self.for_secs))?;
        }
        Ok(())
    }
}

/// A sustained anomaly as a finding: the anomaly score of `metric` (every metric for
/// [`AnomalyRule::ANY_METRIC`]) stays at or above `min_score` for at least `for_secs`.
/// Scores are those of the workbench's anomaly scan (`analytics::scan`, 5-minute
/// buckets, in [0, 1]).
#[derive(Clone, Debug, PartialEq)]
pub struct AnomalyRule {
    /// The metric watched, or `*` for every metric of the selected twins.
    pub metric: MetricName,
    /// Least anomaly score, in (0, 1].
    pub min_score: f64,
    /// How long the score must stay at or above `min_score`.
    pub for_secs: i64,
}

impl AnomalyRule {
    /// The metric name that stands for every metric.
    pub const ANY_METRIC: &'static str = "*";

    /// Whether the rule watches `metric`.
    pub fn watches(&self, metric: &str) -> bool {
        self.metric.as_str() == Self::ANY_METRIC || self.metric.as_str() == metric
    }

    /// The built-in default: any metric scoring 0.9 or more for 15 minutes.
    pub fn builtin() -> Self {
        Self { metric: MetricName::new(Self::ANY_METRIC), min_score: 0.9, for_secs: 900 }
    }
}

impl fmt::Display for AnomalyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let metric = if self.metric.as_str() == Self::ANY_METRIC { "any metric" } else { self.metric.as_str() };
        write!(f, "anomaly of {metric} >= {} for {}", self.min_score, format_secs(self.for_secs))
    }
}

/// The name of the built-in policy that turns sustained anomalies into findings when
/// no policy in force has anomaly rules of its own ([`Policy::builtin_anomalies`]).
pub const BUILTIN_ANOMALY_POLICY: &str = "anomaly-watch";

/// A named set of rules over selected twins.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Unique name.
    pub name: String,
    /// What the policy is for.
    pub description: String,
    /// Severity of its violations.
    pub severity: Severity,
    /// Which twins it applies to.
    pub selector: Selector,
    /// Metric thresholds.
    pub rules: Vec<MetricRule>,
    /// Desired configuration: what the configuration of selected twins should be.
    pub config_rules: Vec<ConfigRule>,
    /// Sustained anomalies that are findings.
    pub anomaly_rules: Vec<AnomalyRule>,
    /// Remediation actions bound to the policy, in order of preference.
    pub actions: Vec<ActionKind>,
}

impl Policy {
    /// A policy with a name and nothing else (severity medium, every twin).
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: String::new(),
            severity: Severity::default(),
            selector: Selector::default(),
            rules: Vec::new(),
            config_rules: Vec::new(),
            anomaly_rules: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// The built-in anomaly policy ([`BUILTIN_ANOMALY_POLICY`]): every twin, severity
    /// low, [`AnomalyRule::builtin`], notifying on-call to investigate.
    pub fn builtin_anomalies() -> Self {
        let mut p = Policy::named(BUILTIN_ANOMALY_POLICY);
        p.description = "Built in: a sustained anomaly is worth a look by on-call".into();
        p.severity = Severity::Low;
        p.anomaly_rules = vec![AnomalyRule::builtin()];
        p.actions = vec![ActionKind::Notify { to: "on-call".into() }];
        p
    }
}

/// How a configuration value is compared with the desired one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigOperator {
    /// Equal to the expected value.
    Eq,
    /// Different from the expected value.
    Ne,
    /// Below (numbers).
    Lt,
    /// At most (numbers).
    Le,
    /// Above (numbers).
    Gt,
    /// At least (numbers).
    Ge,
    /// One of the values of the expected list.
    OneOf,
}

impl ConfigOperator {
    /// The symbol in files and messages.
    pub fn symbol(self) -> &'static str {
        match self {
            ConfigOperator::Eq => "==",
            ConfigOperator::Ne => "!=",
            ConfigOperator::Lt => "<",
            ConfigOperator::Le => "<=",
            ConfigOperator::Gt => ">",
            ConfigOperator::Ge => ">=",
            ConfigOperator::OneOf => "in",
        }
    }

    /// Parses a symbol or name.
    pub fn parse(s: &str) -> Option<ConfigOperator> {
        if matches!(s.trim(), "in" | "one_of") {
            return Some(ConfigOperator::OneOf);
        }
        Some(match Operator::parse(s)? {
            Operator::Eq => ConfigOperator::Eq,
            Operator::Ne => ConfigOperator::Ne,
            Operator::Lt => ConfigOperator::Lt,
            Operator::Le => ConfigOperator::Le,
            Operator::Gt => ConfigOperator::Gt,
            Operator::Ge => ConfigOperator::Ge,
        })
    }
}

/// What kind of difference a configuration key shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviationKind {
    /// The key holds its desired value.
    None,
    /// A number off its desired value or bound (amount = relative distance, at most 1).
    Numeric,
    /// A value of the wrong category (text, flag, list, or a different type).
    Categorical,
    /// The key is absent.
    Missing,
}

/// How far a configuration key is from its desired state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Deviation {
    /// In [0, 1]: 0 compliant, 1 completely off.
    pub amount: f64,
    /// What kind of difference.
    pub kind: DeviationKind,
}

/// A desired-state rule: configuration key `key` must satisfy `operator expected`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigRule {
    /// Dotted key path, e.g. `pool.max_connections`.
    pub key: String,
    /// Comparison.
    pub operator: ConfigOperator,
    /// The desired value (a list for `in`).
    pub expected: ConfigValue,
}

impl ConfigRule {
    /// The deviation of an actual value (`None`: key absent). Numbers compared with a
    /// number give the relative distance `|actual − expected| / |expected|` (at most 1)
    /// when the rule does not hold; anything else that does not hold is a full
    /// categorical mismatch; an absent key is missing.
    pub fn deviation(&self, actual: Option<&ConfigValue>) -> Deviation {
        let Some(actual) = actual else {
            return Deviation { amount: 1.0, kind: DeviationKind::Missing };
        };
        let ok = Deviation { amount: 0.0, kind: DeviationKind::None };
        let categorical = Deviation { amount: 1.0, kind: DeviationKind::Categorical };
        if self.operator == ConfigOperator::OneOf {
            let ConfigValue::List(options) = &self.expected else {
                return if actual == &self.expected { ok } else { categorical };
            };
            return if options.iter().any(|o| values_equal(o, actual)) { ok } else { categorical };
        }
        match (actual.as_f64(), self.expected.as_f64()) {
            (Some(a), Some(e)) => {
                let holds = match self.operator {
                    ConfigOperator::Eq => a == e,
                    ConfigOperator::Ne => a != e,
                    ConfigOperator::Lt => a < e,
                    ConfigOperator::Le => a <= e,
                    ConfigOperator::Gt => a > e,
                    ConfigOperator::Ge => a >= e,
                    ConfigOperator::OneOf => false,
                };
                if holds {
                    ok
                } else if self.operator == ConfigOperator::Ne {
                    categorical
                } else {
                    let amount = ((a - e).abs() / e.abs().max(f64::MIN_POSITIVE)).min(1.0);
                    Deviation { amount: amount.max(1e-9), kind: DeviationKind::Numeric }
                }
            }
            _ => {
                let equal = values_equal(actual, &self.expected);
                let holds = match self.operator {
                    ConfigOperator::Eq => equal,
                    ConfigOperator::Ne => !equal,
                    _ => false,
                };
                if holds { ok } else { categorical }
            }
        }
    }

    /// The rule as text, e.g. `max_connections == 500`.
    pub fn describe(&self) -> String {
        format!("{} {} {}", self.key, self.operator.symbol(), self.expected)
    }
}

fn values_equal(a: &ConfigValue, b: &ConfigValue) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Every rule of `policies` that applies to `metric` of `twin`, with its policy.
pub fn rules_for<'a>(
    policies: &'a [Policy],
    twin: &'a Twin,
    metric: &'a str,
) -> impl Iterator<Item = (&'a Policy, &'a MetricRule)> + 'a {
    policies
        .iter()
        .filter(move |p| p.selector.matches(twin))
        .flat_map(|p| p.rules.iter().map(move |r| (p, r)))
        .filter(move |(_, r)| r.metric.as_str() == metric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_parse_and_compare() {
        for op in Operator::ALL {
            assert_eq!(Operator::parse(op.symbol()), Some(op));
        }
        assert!(Operator::Gt.holds(86.0, 85.0));
        assert!(!Operator::Gt.holds(85.0, 85.0));
        assert!(Operator::Le.holds(85.0, 85.0));
        assert_eq!(Operator::parse("≥"), None);
    }

    #[test]
    fn config_deviation_by_kind() {
        let rule = |op, expected| ConfigRule { key: "k".into(), operator: op, expected };
        let eq500 = rule(ConfigOperator::Eq, ConfigValue::Int(500));
        assert_eq!(eq500.deviation(Some(&ConfigValue::Int(500))).kind, DeviationKind::None);
        let d = eq500.deviation(Some(&ConfigValue::Int(200)));
        assert_eq!((d.kind, d.amount), (DeviationKind::Numeric, 0.6));
        assert_eq!(eq500.deviation(Some(&ConfigValue::Float(500.0))).amount, 0.0);
        assert_eq!(eq500.deviation(None).kind, DeviationKind::Missing);
        assert_eq!(eq500.deviation(Some(&ConfigValue::Str("500".into()))).kind, DeviationKind::Categorical);
        let text = rule(ConfigOperator::Eq, ConfigValue::Str("info".into()));
        assert_eq!(text.deviation(Some(&ConfigValue::Str("debug".into()))).amount, 1.0);
        let at_least = rule(ConfigOperator::Ge, ConfigValue::Int(100));
        assert_eq!(at_least.deviation(Some(&ConfigValue::Int(150))).amount, 0.0);
        assert_eq!(at_least.deviation(Some(&ConfigValue::Int(75))).amount, 0.25);
        let one_of = rule(
            ConfigOperator::OneOf,
            ConfigValue::List(vec![ConfigValue::Str("a".into()), ConfigValue::Str("b".into())]),
        );
        assert_eq!(one_of.deviation(Some(&ConfigValue::Str("b".into()))).amount, 0.0);
        assert_eq!(one_of.deviation(Some(&ConfigValue::Str("c".into()))).amount, 1.0);
    }

    #[test]
    fn selector_requires_every_list() {
        let mut twin = Twin::new("db-1", TwinKind::Database);
        twin.tags.insert("prod".into());
        let mut s = Selector::default();
        assert!(s.matches(&twin));
        s.kinds = vec![TwinKind::Database, TwinKind::Cache];
        s.tags = vec!["prod".into()];
        assert!(s.matches(&twin));
        s.tags.push("eu".into());
        assert!(!s.matches(&twin));
    }
}
