//! Compliance policies as model types: which twins a policy selects and the metric
//! thresholds it sets. The seed's `CompliancePolicy { name, rules: [{metric, operator,
//! threshold}] }` is this schema with an empty selector (every twin).

pub mod history;

use std::fmt;

use crate::model::{MetricName, Twin, TwinId, TwinKind};

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

/// A metric threshold: the metric must not satisfy `operator threshold`. (A rule
/// `cpu_usage > 85` is violated when cpu_usage is above 85.)
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRule {
    /// The metric.
    pub metric: MetricName,
    /// Comparison that signals a violation.
    pub operator: Operator,
    /// Threshold.
    pub threshold: f64,
}

impl MetricRule {
    /// Whether `value` violates the rule.
    pub fn violated_by(&self, value: f64) -> bool {
        self.operator.holds(value, self.threshold)
    }
}

impl fmt::Display for MetricRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.metric, self.operator, self.threshold)
    }
}

/// A named set of rules over selected twins.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Unique name.
    pub name: String,
    /// Severity of its violations.
    pub severity: Severity,
    /// Which twins it applies to.
    pub selector: Selector,
    /// Metric thresholds.
    pub rules: Vec<MetricRule>,
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
