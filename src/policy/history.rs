//! Rules evaluated over history: for every twin, the time spans during which each of
//! its metric rules was violated. The workbench colours the graph at any point of the
//! timeline from these spans, and a rule's backtest ("would have fired N times, for M
//! minutes") is their count and total length.

use std::collections::BTreeMap;

use super::{Policy, rules_for};
use crate::model::{Status, StoreError, TelemetryStore, Twin, TwinGraph, TwinId, UnixSecs};

/// A continuous run of samples violating one rule.
#[derive(Clone, Debug, PartialEq)]
pub struct ViolationSpan {
    /// Index of the policy in the policy list.
    pub policy: usize,
    /// Index of the rule in the policy.
    pub rule: usize,
    /// Timestamp of the first violating sample.
    pub start: UnixSecs,
    /// End of the span (exclusive): the first sample after it, or the last violating
    /// sample plus the series' resolution.
    pub end: UnixSecs,
    /// The worst value seen (largest for `>`/`>=`, smallest for `<`/`<=`).
    pub worst: f64,
    /// The run reaches the last sample of the series: the violation is still going on.
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
/// `resolution_secs` closes a span that runs to the end of a series.
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
            let higher_is_worse = matches!(rule.operator, super::Operator::Gt | super::Operator::Ge);
            let mut open: Option<ViolationSpan> = None;
            for (t, v) in data.ts.iter().zip(&data.values) {
                if rule.violated_by(*v) {
                    match &mut open {
                        Some(span) => {
                            if (higher_is_worse && *v > span.worst) || (!higher_is_worse && *v < span.worst) {
                                span.worst = *v;
                            }
                        }
                        None => {
                            open = Some(ViolationSpan {
                                policy: policy_index,
                                rule: rule_index,
                                start: *t,
                                end: *t,
                                worst: *v,
                                ongoing: false,
                            })
                        }
                    }
                } else if let Some(mut span) = open.take() {
                    span.end = *t;
                    spans.push(span);
                }
            }
            if let (Some(mut span), Some(last)) = (open, data.ts.last()) {
                span.end = last + resolution_secs.max(1);
                span.ongoing = true;
                spans.push(span);
            }
        }
    }
    spans.sort_by_key(|s| (s.start, s.policy, s.rule));
    Ok(spans)
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
    use crate::policy::{MetricRule, Operator, Selector, Severity};

    #[test]
    fn spans_cover_violating_runs() {
        let mut graph = TwinGraph::new();
        graph.add_twin(Twin::new("web", TwinKind::Service)).unwrap();
        let mut store = TelemetryStore::new();
        let key = SeriesKey::new("web", "cpu_usage");
        let values = [10.0, 90.0, 95.0, 20.0, 99.0];
        let ts: Vec<i64> = (0..5).map(|i| i * 60).collect();
        store.append_many(&key, &ts, &values).unwrap();
        let policies = vec![Policy {
            name: "cpu".into(),
            severity: Severity::High,
            selector: Selector::default(),
            rules: vec![MetricRule { metric: "cpu_usage".into(), operator: Operator::Gt, threshold: 85.0 }],
            config_rules: Vec::new(),
        }];
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
