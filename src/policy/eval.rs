//! Streaming evaluation of a metric rule: feed samples in time order (or "no data"),
//! get the rule's state. The same state machine serves history backtests and the
//! per-tick orchestration loop, so a rule means the same thing in both.

use std::collections::VecDeque;

use super::{Aggregation, MetricRule, MissingData};
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

/// Per (twin, rule) evaluation state. Windowed aggregations are kept incrementally:
/// avg as a running sum (re-summed every 4,096 removals so rounding cannot accumulate,
/// and summed afresh whenever it is within 1e-9 of the threshold, so comparisons are
/// those of a fresh evaluation), min and max as monotone queues, p95 as a sorted copy of
/// the window (binary-search insert and remove).
#[derive(Clone, Debug, Default)]
pub struct RuleState {
    window: VecDeque<(UnixSecs, f64)>,
    /// Candidates for the window's max (or min): values decreasing (increasing).
    extreme: VecDeque<(UnixSecs, f64)>,
    sum: f64,
    removals: u32,
    /// The window's values in order (p95 only).
    sorted: Vec<f64>,
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

    fn clear_window(&mut self) {
        self.window.clear();
        self.extreme.clear();
        self.sum = 0.0;
        self.removals = 0;
        self.sorted.clear();
    }

    /// Adds a sample to the window, drops what fell out of it, and aggregates.
    fn aggregate(&mut self, rule: &MetricRule, ts: UnixSecs, v: f64) -> Option<f64> {
        if rule.window_secs <= 0 || rule.aggregation == Aggregation::Last {
            return Some(v);
        }
        self.window.push_back((ts, v));
        self.sum += v;
        let keeps = |a: f64, b: f64| match rule.aggregation {
            Aggregation::Max => a > b,
            _ => a < b,
        };
        if rule.aggregation == Aggregation::P95 {
            let at = self.sorted.partition_point(|x| x.total_cmp(&v).is_lt());
            self.sorted.insert(at, v);
        }
        if matches!(rule.aggregation, Aggregation::Max | Aggregation::Min) {
            while self.extreme.back().is_some_and(|(_, e)| !keeps(*e, v)) {
                self.extreme.pop_back();
            }
            self.extreme.push_back((ts, v));
        }
        let keep_after = ts - rule.window_secs;
        while self.window.len() > 1 && self.window.front().is_some_and(|(t, _)| *t <= keep_after) {
            if let Some((_, old)) = self.window.pop_front() {
                self.sum -= old;
                self.removals += 1;
                if rule.aggregation == Aggregation::P95
                    && let Ok(at) = self.sorted.binary_search_by(|x| x.total_cmp(&old))
                {
                    self.sorted.remove(at);
                }
            }
        }
        while self.extreme.len() > 1 && self.extreme.front().is_some_and(|(t, _)| *t <= keep_after) {
            self.extreme.pop_front();
        }
        if self.removals >= 4096 {
            self.sum = self.window.iter().map(|(_, v)| v).sum();
            self.removals = 0;
        }
        match rule.aggregation {
            Aggregation::Last => Some(v),
            Aggregation::Avg => {
                let n = self.window.len() as f64;
                let running = self.sum / n;
                // Near the threshold, rounding in the running sum could decide the
                // comparison: sum the window afresh, exactly as a fresh evaluation would.
                if (running - rule.threshold).abs() <= 1e-9 * rule.threshold.abs().max(1.0) {
                    Some(self.window.iter().map(|(_, v)| v).sum::<f64>() / n)
                } else {
                    Some(running)
                }
            }
            Aggregation::Max | Aggregation::Min => self.extreme.front().map(|(_, e)| *e),
            Aggregation::P95 => {
                // Nearest rank, as `Aggregation::apply`.
                let n = self.sorted.len();
                let rank = ((0.95 * n as f64).ceil() as usize).clamp(1, n.max(1));
                self.sorted.get(rank - 1).copied()
            }
        }
    }

    /// Feeds the sample at `ts` (`None`: no data at `ts`) and returns the rule's status.
    pub fn update(&mut self, rule: &MetricRule, ts: UnixSecs, value: Option<f64>) -> RuleStatus {
        let condition = match value {
            Some(v) => {
                let aggregated = self.aggregate(rule, ts, v);
                self.last_value = aggregated;
                aggregated.is_some_and(|a| rule.violated_by(a))
            }
            None => {
                self.clear_window();
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
    fn incremental_windows_match_aggregating_the_window_afresh() {
        // A deterministic pseudo-random walk with irregular steps and gaps.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for aggregation in Aggregation::ALL {
            for window_secs in [60, 300, 3600] {
                let mut rule = MetricRule::threshold("cpu", Operator::Gt, 50.0);
                (rule.aggregation, rule.window_secs) = (aggregation, window_secs);
                let mut state = RuleState::new();
                let mut samples: Vec<(i64, f64)> = Vec::new();
                let mut t = 0;
                for i in 0..20_000 {
                    t += [60, 60, 61, 59, 600, 60][(next() % 6) as usize];
                    let v = (next() % 10_000) as f64 / 100.0;
                    let value = (i % 997 != 0).then_some(v);
                    state.update(&rule, t, value);
                    match value {
                        None => samples.clear(),
                        Some(v) => {
                            samples.push((t, v));
                            let keep_after = t - window_secs;
                            let first = samples.iter().position(|(s, _)| *s > keep_after).unwrap_or(samples.len() - 1);
                            samples.drain(..first);
                            let window: Vec<f64> = samples.iter().map(|(_, v)| *v).collect();
                            let expected =
                                if aggregation == Aggregation::Last { Some(v) } else { aggregation.apply(&window) };
                            let got = state.last_value.unwrap();
                            assert!(
                                (got - expected.unwrap()).abs() < 1e-9,
                                "{aggregation:?} {window_secs}: {got} vs {expected:?} at {i}"
                            );
                        }
                    }
                }
            }
        }
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
