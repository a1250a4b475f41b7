//! Streaming evaluation of a metric rule: feed samples in time order (or "no data"),
//! get the rule's state. The same state machine serves history backtests and the
//! per-tick orchestration loop, so a rule means the same thing in both.

use std::collections::VecDeque;

use super::{MetricRule, MissingData};
use crate::model::UnixSecs;

/// The state of a rule after a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RuleStatus {
    /// The condition does not hold.
    Ok,
    /// The condition holds but not yet for the rule's `for` duration.
    Pending {
        /// Since when it holds.
        since: UnixSecs,
    },
    /// The rule fires.
    Firing {
        /// When it started to fire (condition start + `for`).
        since: UnixSecs,
    },
}

impl RuleStatus {
    /// Whether the rule fires.
    pub fn is_firing(self) -> bool {
        matches!(self, RuleStatus::Firing { .. })
    }
}

/// Per (twin, rule) evaluation state.
#[derive(Clone, Debug, Default)]
pub struct RuleState {
    window: VecDeque<(UnixSecs, f64)>,
    scratch: Vec<f64>,
    held_since: Option<UnixSecs>,
    last_condition: bool,
    /// The aggregated value of the last evaluation with data.
    pub last_value: Option<f64>,
}

impl RuleState {
    /// A fresh state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the sample at `ts` (`None`: no data at `ts`) and returns the rule's status.
    pub fn update(&mut self, rule: &MetricRule, ts: UnixSecs, value: Option<f64>) -> RuleStatus {
        let condition = match value {
            Some(v) => {
                self.window.push_back((ts, v));
                let keep_after = ts - rule.window_secs.max(0);
                while self.window.len() > 1 && self.window.front().is_some_and(|(t, _)| *t <= keep_after) {
                    self.window.pop_front();
                }
                self.scratch.clear();
                self.scratch.extend(self.window.iter().map(|(_, v)| *v));
                let aggregated = if rule.window_secs == 0 { Some(v) } else { rule.aggregation.apply(&self.scratch) };
                self.last_value = aggregated;
                aggregated.is_some_and(|a| rule.violated_by(a))
            }
            None => {
                self.window.clear();
                match rule.missing {
                    MissingData::Ok => false,
                    MissingData::Violate => true,
                    MissingData::Keep => self.last_condition,
                }
            }
        };
        self.last_condition = condition;
        if !condition {
            self.held_since = None;
            return RuleStatus::Ok;
        }
        let since = *self.held_since.get_or_insert(ts);
        if ts - since >= rule.for_secs {
            RuleStatus::Firing { since: since + rule.for_secs }
        } else {
            RuleStatus::Pending { since }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Aggregation, Operator};

    fn run(rule: &MetricRule, values: &[Option<f64>]) -> Vec<RuleStatus> {
        let mut state = RuleState::new();
        values.iter().enumerate().map(|(i, v)| state.update(rule, i as i64 * 60, *v)).collect()
    }

    #[test]
    fn plain_threshold_fires_at_once() {
        let rule = MetricRule::threshold("cpu", Operator::Gt, 80.0);
        let s = run(&rule, &[Some(10.0), Some(90.0), Some(70.0)]);
        assert_eq!(s, vec![RuleStatus::Ok, RuleStatus::Firing { since: 60 }, RuleStatus::Ok]);
    }

    #[test]
    fn for_duration_delays_firing() {
        let mut rule = MetricRule::threshold("cpu", Operator::Gt, 80.0);
        rule.for_secs = 120;
        let s = run(&rule, &[Some(90.0), Some(90.0), Some(90.0), Some(10.0)]);
        assert_eq!(s[0], RuleStatus::Pending { since: 0 });
        assert_eq!(s[1], RuleStatus::Pending { since: 0 });
        assert_eq!(s[2], RuleStatus::Firing { since: 120 });
        assert_eq!(s[3], RuleStatus::Ok);
    }

    #[test]
    fn window_aggregations() {
        let mut rule = MetricRule::threshold("cpu", Operator::Gt, 50.0);
        rule.window_secs = 180; // three samples
        rule.aggregation = Aggregation::Avg;
        let s = run(&rule, &[Some(100.0), Some(0.0), Some(0.0), Some(0.0)]);
        assert!(s[0].is_firing(), "avg of 100");
        assert!(!s[1].is_firing(), "avg of 100, 0");
        rule.aggregation = Aggregation::Max;
        let s = run(&rule, &[Some(100.0), Some(0.0), Some(0.0), Some(0.0)]);
        assert_eq!(s.iter().map(|x| x.is_firing()).collect::<Vec<_>>(), [true, true, true, false]);
        assert_eq!(Aggregation::P95.apply(&(1..=100).map(f64::from).collect::<Vec<_>>()), Some(95.0));
    }

    #[test]
    fn missing_data_behaviours() {
        let mut rule = MetricRule::threshold("cpu", Operator::Gt, 50.0);
        assert!(!run(&rule, &[Some(90.0), None])[1].is_firing());
        rule.missing = MissingData::Violate;
        assert!(run(&rule, &[Some(10.0), None])[1].is_firing());
        rule.missing = MissingData::Keep;
        assert!(run(&rule, &[Some(90.0), None])[1].is_firing());
        assert!(!run(&rule, &[Some(10.0), None])[1].is_firing());
    }
}
