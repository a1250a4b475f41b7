//! Rule-based detection: fixed thresholds and rate-of-change limits, the kind a policy
//! states (`cpu_usage > 85`). A violated rule is certain, not a matter of probability:
//! it scores 1 with tail probability 0.

use super::{Cause, Detector, Score};
use crate::model::UnixSecs;
use crate::policy::{MetricRule, Operator};

/// A threshold: the value violates it when `value operator threshold` holds.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdRule {
    /// The comparison that signals a violation.
    pub operator: Operator,
    /// The threshold.
    pub threshold: f64,
}

impl From<&MetricRule> for ThresholdRule {
    fn from(rule: &MetricRule) -> Self {
        ThresholdRule { operator: rule.operator, threshold: rule.threshold }
    }
}

/// A limit on how fast the value may change, in units per second (absolute value).
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimit {
    /// Largest allowed |Δvalue / Δt| in units per second.
    pub max_abs_per_sec: f64,
}

/// Scores samples against thresholds and an optional rate-of-change limit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleDetector {
    thresholds: Vec<ThresholdRule>,
    rate: Option<RateLimit>,
    last: Option<(UnixSecs, f64)>,
}

impl RuleDetector {
    /// A detector with these thresholds and rate limit.
    pub fn new(thresholds: Vec<ThresholdRule>, rate: Option<RateLimit>) -> Self {
        RuleDetector { thresholds, rate, last: None }
    }

    /// A detector from the metric rules of policies (e.g. every rule of
    /// `policy::rules_for(policies, twin, metric)`).
    pub fn from_policy_rules<'a>(rules: impl IntoIterator<Item = &'a MetricRule>) -> Self {
        RuleDetector::new(rules.into_iter().map(ThresholdRule::from).collect(), None)
    }

    /// The thresholds checked.
    pub fn thresholds(&self) -> &[ThresholdRule] {
        &self.thresholds
    }
}

impl Detector for RuleDetector {
    fn update(&mut self, ts: UnixSecs, value: f64) -> Score {
        if !value.is_finite() {
            return Score::quiet();
        }
        let previous = self.last.replace((ts, value));
        if let Some(rule) = self.thresholds.iter().find(|r| r.operator.holds(value, r.threshold)) {
            return Score::from_tail_prob(
                0.0,
                Some(Cause::Threshold { operator: rule.operator, threshold: rule.threshold, value }),
            );
        }
        if let (Some(limit), Some((t0, v0))) = (&self.rate, previous)
            && ts > t0
        {
            let per_sec = (value - v0) / (ts - t0) as f64;
            if per_sec.abs() > limit.max_abs_per_sec {
                return Score::from_tail_prob(
                    0.0,
                    Some(Cause::RateOfChange { per_sec, limit_per_sec: limit.max_abs_per_sec }),
                );
            }
        }
        Score::quiet()
    }
}
