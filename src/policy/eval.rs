//! Streaming evaluation of a metric rule with Prometheus' alerting semantics (those of
//! Prometheus 2.42, which `promtool test rules` checks): feed samples in time order,
//! evaluate at a time, get the rule's state. The same state machine serves history
//! backtests and the per-tick orchestration loop, so a rule means the same thing in
//! both, and a rule exported as a Prometheus alerting rule fires at the same
//! evaluations there.
//!
//! At an evaluation time `t`:
//! - a windowed aggregation (`avg`, `min`, `max`, `p95` over `window`, PromQL's
//!   `*_over_time(m[window])`) summarises the samples with timestamps in the closed
//!   window `[t − window, t]`; none there is no data;
//! - `last` (a plain threshold, PromQL's instant selector `m`) takes the latest sample
//!   at or before `t`, looked back for at most [`LOOKBACK_SECS`] (5 minutes); none there
//!   is no data;
//! - `avg` is Prometheus' incremental mean, `p95` its `quantile_over_time(0.95, …)`:
//!   linear interpolation between the closest ranks ([`prometheus_quantile`]);
//! - the condition must hold at every evaluation from the first at which it held for
//!   at least `for` before the rule fires (Prometheus' pending → firing); an evaluation
//!   without data is the rule's missing-data behaviour (`ok`: the condition does not
//!   hold, as in Prometheus, where the expression returns nothing).

use std::collections::VecDeque;

use super::{Aggregation, MetricRule, MissingData, prometheus_mean, prometheus_quantile};
use crate::model::UnixSecs;

/// How far back an instant selector looks for the latest sample (Prometheus'
/// default `--query.lookback-delta`).
pub const LOOKBACK_SECS: i64 = 300;

/// The state of a rule after an evaluation.
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
/// and computed afresh as Prometheus does whenever it is within 1e-9 of the threshold,
/// so comparisons are those of a fresh evaluation), min and max as monotone queues, p95
/// as a sorted copy of the window (binary-search insert and remove).
#[derive(Clone, Debug, Default)]
pub struct RuleState {
    window: VecDeque<(UnixSecs, f64)>,
    /// Candidates for the window's max (or min): values decreasing (increasing).
    extreme: VecDeque<(UnixSecs, f64)>,
    sum: f64,
    removals: u32,
    /// The window's values in order (p95 only).
    sorted: Vec<f64>,
    /// The latest sample (`last` rules).
    latest: Option<(UnixSecs, f64)>,
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

    fn windowed(rule: &MetricRule) -> bool {
        rule.window_secs > 0 && rule.aggregation != Aggregation::Last
    }

    fn clear_window(&mut self) {
        self.window.clear();
        self.extreme.clear();
        self.sum = 0.0;
        self.removals = 0;
        self.sorted.clear();
        self.latest = None;
    }

    /// Adds the sample at `ts` (samples come in time order).
    pub fn push(&mut self, rule: &MetricRule, ts: UnixSecs, v: f64) {
        self.latest = Some((ts, v));
        if !Self::windowed(rule) {
            return;
        }
        self.window.push_back((ts, v));
        self.sum += v;
        match rule.aggregation {
            Aggregation::P95 => {
                let at = self.sorted.partition_point(|x| x.total_cmp(&v).is_lt());
                self.sorted.insert(at, v);
            }
            Aggregation::Max | Aggregation::Min => {
                let keeps = |a: f64, b: f64| if rule.aggregation == Aggregation::Max { a > b } else { a < b };
                while self.extreme.back().is_some_and(|(_, e)| !keeps(*e, v)) {
                    self.extreme.pop_back();
                }
                self.extreme.push_back((ts, v));
            }
            Aggregation::Avg | Aggregation::Last => {}
        }
    }

    /// Drops the samples before the closed window `[t − window, t]`.
    fn evict(&mut self, rule: &MetricRule, t: UnixSecs) {
        let keep_from = t - rule.window_secs;
        while self.window.front().is_some_and(|(s, _)| *s < keep_from) {
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
        while self.extreme.front().is_some_and(|(s, _)| *s < keep_from) {
            self.extreme.pop_front();
        }
        if self.window.is_empty() {
            self.sum = 0.0;
            self.removals = 0;
        } else if self.removals >= 4096 {
            self.sum = self.window.iter().map(|(_, v)| v).sum();
            self.removals = 0;
        }
    }

    /// The rule's aggregated value at `t` (samples up to `t` pushed), or `None` when
    /// there is no data: an empty window, or no sample within the lookback.
    fn value_at(&mut self, rule: &MetricRule, t: UnixSecs) -> Option<f64> {
        if !Self::windowed(rule) {
            return self.latest.filter(|(s, _)| *s <= t && t - *s <= LOOKBACK_SECS).map(|(_, v)| v);
        }
        self.evict(rule, t);
        if self.window.is_empty() {
            return None;
        }
        match rule.aggregation {
            Aggregation::Last => self.window.back().map(|(_, v)| *v),
            Aggregation::Avg => {
                let running = self.sum / self.window.len() as f64;
                // Near the threshold, rounding in the running sum could decide the
                // comparison: compute the mean afresh, exactly as Prometheus does.
                if (running - rule.threshold).abs() <= 1e-9 * rule.threshold.abs().max(1.0) {
                    Some(prometheus_mean(self.window.iter().map(|(_, v)| *v)))
                } else {
                    Some(running)
                }
            }
            Aggregation::Max | Aggregation::Min => self.extreme.front().map(|(_, e)| *e),
            Aggregation::P95 => prometheus_quantile(0.95, &self.sorted),
        }
    }

    /// Evaluates the rule at `t` on the samples pushed so far (those after `t` must not
    /// have been pushed yet): Prometheus' windows and lookback, then `for`.
    pub fn evaluate(&mut self, rule: &MetricRule, t: UnixSecs) -> RuleStatus {
        let value = self.value_at(rule, t);
        self.conclude(rule, t, value)
    }

    /// Feeds the sample at `ts` (`None`: no data at `ts`, which also empties the
    /// window) and evaluates the rule at `ts`. The orchestration loop's per-tick call.
    pub fn update(&mut self, rule: &MetricRule, ts: UnixSecs, value: Option<f64>) -> RuleStatus {
        match value {
            Some(v) => {
                self.push(rule, ts, v);
                self.evaluate(rule, ts)
            }
            None => {
                self.clear_window();
                self.conclude(rule, ts, None)
            }
        }
    }

    fn conclude(&mut self, rule: &MetricRule, t: UnixSecs, value: Option<f64>) -> RuleStatus {
        let condition = match value {
            Some(aggregated) => {
                self.last_value = Some(aggregated);
                rule.violated_by(aggregated)
            }
            None => match rule.missing {
                MissingData::Ok => false,
                MissingData::Violate => true,
                MissingData::Keep => self.last_condition,
            },
        };
        self.last_condition = condition;
        if !condition {
            self.held_since = None;
            return RuleStatus::Ok;
        }
        let since = *self.held_since.get_or_insert(t);
        if t - since >= rule.for_secs {
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
        rule.window_secs = 120; // three samples: the window [t − 120, t] is closed
        rule.aggregation = Aggregation::Avg;
        let s = run(&rule, &[Some(100.0), Some(0.0), Some(0.0), Some(0.0)]);
        assert!(s[0].is_firing(), "avg of 100");
        assert!(!s[1].is_firing(), "avg of 100, 0");
        rule.aggregation = Aggregation::Max;
        let s = run(&rule, &[Some(100.0), Some(0.0), Some(0.0), Some(0.0)]);
        assert_eq!(s.iter().map(|x| x.is_firing()).collect::<Vec<_>>(), [true, true, true, false]);
        // Prometheus' quantile: rank 0.95 · 99 = 94.05 between the 95th and 96th value.
        let p95 = Aggregation::P95.apply(&(1..=100).map(f64::from).collect::<Vec<_>>()).unwrap();
        assert!((p95 - 95.05).abs() < 1e-12, "{p95}");
    }

    #[test]
    fn windows_are_closed_and_instant_values_look_back_five_minutes() {
        // Samples every 60 s at 0..=240, then nothing.
        let mut max = MetricRule::threshold("cpu", Operator::Gt, 50.0);
        (max.aggregation, max.window_secs) = (Aggregation::Max, 120);
        let last = MetricRule::threshold("cpu", Operator::Gt, 50.0);
        let samples = [(0, 90.0), (60, 10.0), (120, 10.0), (180, 10.0), (240, 90.0)];
        for (rule, expected) in [
            // max over [t − 120, t]: 90 at 0 is still in the window at 120.
            (&max, [true, true, true, false, true, true, false, false, false]),
            // the instant value: 90 at 240 is seen until 240 + 300 = 540.
            (&last, [true, false, false, false, true, true, true, true, false]),
        ] {
            let mut state = RuleState::new();
            let mut pending = samples.iter().peekable();
            let fired: Vec<bool> = [0, 60, 120, 180, 240, 300, 420, 540, 600]
                .into_iter()
                .map(|t| {
                    while let Some((ts, v)) = pending.next_if(|(ts, _)| *ts <= t) {
                        state.push(rule, *ts, *v);
                    }
                    state.evaluate(rule, t).is_firing()
                })
                .collect();
            assert_eq!(fired, expected, "{rule}");
        }
        let mut state = RuleState::new();
        state.push(&last, 240, 90.0);
        assert!(state.evaluate(&last, 540).is_firing(), "540 − 240 = 300 is within the lookback");
        assert!(!state.evaluate(&last, 541).is_firing(), "beyond the lookback is no data");
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
                            let keep_from = t - window_secs;
                            let first = samples.iter().position(|(s, _)| *s >= keep_from).unwrap_or(samples.len() - 1);
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
