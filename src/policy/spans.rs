//! Rules evaluated over history: for every twin, the time spans during which each of
//! its metric rules was violated. The workbench colours the graph at any point of the
//! timeline from these spans, and a rule's backtest ("would have fired N times, for M
//! minutes") is their count and total length.

use std::collections::BTreeMap;

use super::eval::{RuleState, RuleStatus};
use super::{MetricRule, Policy, rules_for};
use crate::model::{Status, StoreError, TelemetryStore, Twin, TwinGraph, TwinId, UnixSecs};

/// A continuous run of evaluations at which one rule fired.
#[derive(Clone, Debug, PartialEq)]
pub struct ViolationSpan {
    /// Index of the policy in the policy list.
    pub policy: usize,
    /// Index of the rule in the policy.
    pub rule: usize,
    /// The first evaluation at which the rule fires.
    pub start: UnixSecs,
    /// End of the span (exclusive): the first evaluation at which the rule no longer
    /// fires, or (ongoing) the evaluation after the last.
    pub end: UnixSecs,
    /// The worst value seen (largest for `>`/`>=`, smallest for `<`/`<=`).
    pub worst: f64,
    /// The run reaches the last evaluation (the series' last sample): the violation is
    /// still going on.
    pub ongoing: bool,
}

impl ViolationSpan {
    /// Whether the violation holds at `at` (an ongoing one holds from its start on).
    pub fn active_at(&self, at: UnixSecs) -> bool {
        self.start <= at && (at < self.end || self.ongoing)
    }
}

/// Violation spans per twin, each list sorted by start.
pub type ViolationHistory = BTreeMap<TwinId, Vec<ViolationSpan>>;

/// Evaluates every applicable rule over the whole stored history of every twin.
/// `resolution_secs` is the evaluation interval (see [`rule_spans`]).
pub fn violation_history(
    policies: &[Policy],
    graph: &TwinGraph,
    store: &TelemetryStore,
    resolution_secs: i64,
) -> Result<ViolationHistory, StoreError> {
    let mut out = ViolationHistory::new();
    for twin in graph.twins() {
        let spans = twin_spans(policies, twin, store, resolution_secs)?;
        if !spans.is_empty() {
            out.insert(twin.id.clone(), spans);
        }
    }
    Ok(out)
}

fn twin_spans(
    policies: &[Policy],
    twin: &Twin,
    store: &TelemetryStore,
    resolution_secs: i64,
) -> Result<Vec<ViolationSpan>, StoreError> {
    let mut spans = Vec::new();
    let metrics: Vec<_> = store.metrics_of(&twin.id).cloned().collect();
    for metric in metrics {
        let applicable: Vec<_> = rules_for(policies, twin, metric.as_str()).collect();
        if applicable.is_empty() {
            continue;
        }
        let Some(series) = store.series(&crate::model::SeriesKey::new(twin.id.clone(), metric.clone())) else {
            continue;
        };
        let data = series.read_all()?;
        for (policy, rule) in applicable {
            let policy_index = policies.iter().position(|p| std::ptr::eq(p, policy)).unwrap_or(0);
            let rule_index = policy.rules.iter().position(|r| std::ptr::eq(r, rule)).unwrap_or(0);
            spans.extend(rule_spans(rule, &data.ts, &data.values, resolution_secs).into_iter().map(|mut s| {
                s.policy = policy_index;
                s.rule = rule_index;
                s
            }));
        }
    }
    spans.sort_by_key(|s| (s.start, s.policy, s.rule));
    Ok(spans)
}

/// The spans during which `rule` fired over one series (policy and rule indices 0),
/// evaluated as Prometheus evaluates an alerting rule: at every step of
/// `resolution_secs` from the first sample to the last, on the samples up to the
/// evaluation time (closed windows, a 5-minute lookback for instant values; see
/// [`super::eval`]). A span starts at the first evaluation at which the rule fires and
/// ends (exclusive) at the first at which it no longer does.
pub fn rule_spans(rule: &MetricRule, ts: &[UnixSecs], values: &[f64], resolution_secs: i64) -> Vec<ViolationSpan> {
    let step = resolution_secs.max(1);
    let (Some(&first), Some(&last)) = (ts.first(), ts.last()) else {
        return Vec::new();
    };
    let mut state = RuleState::new();
    let mut spans = Vec::new();
    let mut open: Option<ViolationSpan> = None;
    let mut next = 0;
    let mut at = first;
    while at <= last {
        let before = next;
        while next < ts.len() && ts[next] <= at {
            state.push(rule, ts[next], values[next]);
            next += 1;
        }
        let fresh = next > before;
        match state.evaluate(rule, at) {
            RuleStatus::Firing { .. } => {
                let v = state.last_value.unwrap_or(f64::NAN);
                let span = open.get_or_insert(ViolationSpan {
                    policy: 0,
                    rule: 0,
                    start: at,
                    end: at,
                    worst: v,
                    ongoing: false,
                });
                if fresh
                    && (span.worst.is_nan()
                        || (rule.higher_is_worse() && v > span.worst)
                        || (!rule.higher_is_worse() && v < span.worst))
                {
                    span.worst = v;
                }
            }
            _ => {
                if let Some(mut span) = open.take() {
                    span.end = at;
                    spans.push(span);
                }
            }
        }
        at += step;
    }
    if let Some(mut span) = open {
        span.end = at;
        span.ongoing = true;
        spans.push(span);
    }
    spans
}

/// The health of a twin at `at`: down when its history records it down, degraded when
/// a rule is violated then, otherwise its recorded status.
pub fn health_at(twin: &Twin, spans: Option<&Vec<ViolationSpan>>, at: UnixSecs) -> Status {
    let recorded = twin.status_at(at);
    let violated = spans.is_some_and(|spans| spans.iter().any(|s| s.active_at(at)));
    if violated { recorded.worst(Status::Degraded) } else { recorded }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SeriesKey, TwinKind};
    use crate::policy::{Operator, Severity};

    #[test]
    fn gaps_beyond_the_lookback_are_missing_data() {
        let mut rule = MetricRule::threshold("cpu_usage", Operator::Gt, 85.0);
        rule.missing = crate::policy::MissingData::Violate;
        // The sample at 60 is looked back on until 360; from 420 on there is no data.
        let spans = rule_spans(&rule, &[0, 60, 600, 660], &[10.0, 10.0, 10.0, 10.0], 60);
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].start, spans[0].end), (420, 600));
        rule.missing = crate::policy::MissingData::Ok;
        assert!(rule_spans(&rule, &[0, 60, 600, 660], &[10.0, 10.0, 10.0, 10.0], 60).is_empty());
    }

    #[test]
    fn for_duration_shortens_spans() {
        let mut rule = MetricRule::threshold("cpu_usage", Operator::Gt, 85.0);
        rule.for_secs = 120;
        let ts: Vec<i64> = (0..6).map(|i| i * 60).collect();
        let spans = rule_spans(&rule, &ts, &[90.0, 90.0, 90.0, 90.0, 10.0, 90.0], 60);
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].start, spans[0].end), (120, 240));
    }

    #[test]
    fn spans_cover_violating_runs() {
        let mut graph = TwinGraph::new();
        graph.add_twin(Twin::new("web", TwinKind::Service)).unwrap();
        let mut store = TelemetryStore::new();
        let key = SeriesKey::new("web", "cpu_usage");
        let values = [10.0, 90.0, 95.0, 20.0, 99.0];
        let ts: Vec<i64> = (0..5).map(|i| i * 60).collect();
        store.append_many(&key, &ts, &values).unwrap();
        let mut policy = Policy::named("cpu");
        policy.severity = Severity::High;
        policy.rules.push(MetricRule::threshold("cpu_usage", Operator::Gt, 85.0));
        let policies = vec![policy];
        let history = violation_history(&policies, &graph, &store, 60).unwrap();
        let spans = &history[&TwinId::from("web")];
        assert_eq!(spans.len(), 2);
        assert_eq!((spans[0].start, spans[0].end, spans[0].worst), (60, 180, 95.0));
        assert_eq!((spans[1].start, spans[1].end), (240, 300));
        let twin = graph.twin(&"web".into()).unwrap();
        assert_eq!(health_at(twin, Some(spans), 100), Status::Degraded);
        assert_eq!(health_at(twin, Some(spans), 200), Status::Healthy);
        assert!(!spans[0].ongoing && spans[1].ongoing);
        assert_eq!(health_at(twin, Some(spans), 10_000), Status::Degraded, "still violated after the last sample");
    }
}
