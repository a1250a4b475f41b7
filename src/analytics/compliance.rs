//! Compliance now: which metric rules each twin violates at the scenario's "now" (the
//! end of its history), and since when. Predicted violations (the same rules evaluated
//! on forecasts) build on this.

use crate::model::{SeriesKey, TwinId, UnixSecs};

use crate::policy::spans::ViolationHistory;
use crate::policy::{MetricRule, Policy, Severity};
use crate::scenario::Scenario;

/// A rule violated at the end of history.
#[derive(Clone, Debug, PartialEq)]
pub struct CurrentViolation {
    /// Policy name.
    pub policy: String,
    /// Its severity.
    pub severity: Severity,
    /// The twin.
    pub twin: TwinId,
    /// The rule.
    pub rule: MetricRule,
    /// The latest value.
    pub value: f64,
    /// When the violation started (first sample of the ongoing run).
    pub since: UnixSecs,
    /// Worst value since then.
    pub worst: f64,
}

/// Rules of `policies` violated at the end of history, most severe first (then by twin,
/// policy). `history` is the violation history of the same policies.
pub fn current_violations(
    scenario: &Scenario,
    policies: &[Policy],
    history: &ViolationHistory,
) -> Vec<CurrentViolation> {
    let mut out = Vec::new();
    for (twin_id, spans) in history {
        for span in spans {
            let Some(policy) = policies.get(span.policy) else {
                continue;
            };
            let Some(rule) = policy.rules.get(span.rule) else {
                continue;
            };
            let key = SeriesKey::new(twin_id.clone(), rule.metric.clone());
            let Some((_, value)) = scenario.telemetry.series(&key).and_then(|s| s.value_at(i64::MAX).ok().flatten())
            else {
                continue;
            };
            if span.ongoing {
                out.push(CurrentViolation {
                    policy: policy.name.clone(),
                    severity: policy.severity,
                    twin: twin_id.clone(),
                    rule: rule.clone(),
                    value,
                    since: span.start,
                    worst: span.worst,
                });
            }
        }
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| (&a.twin, &a.policy).cmp(&(&b.twin, &b.policy))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TelemetryStore, Twin, TwinKind};
    use crate::policy::Operator;
    use crate::policy::spans::violation_history;

    #[test]
    fn only_ongoing_violations_are_current() {
        let mut s = Scenario { resolution_secs: 60, ..Scenario::default() };
        for id in ["a", "b"] {
            s.graph.add_twin(Twin::new(id, TwinKind::Service)).unwrap();
        }
        let mut policy = Policy::named("cpu");
        policy.severity = Severity::High;
        policy.rules.push(MetricRule::threshold("cpu_usage", Operator::Gt, 80.0));
        s.policies.push(policy);
        let mut store = TelemetryStore::new();
        let ts = [0, 60, 120, 180];
        store.append_many(&SeriesKey::new("a", "cpu_usage"), &ts, &[10.0, 90.0, 95.0, 91.0]).unwrap();
        store.append_many(&SeriesKey::new("b", "cpu_usage"), &ts, &[90.0, 95.0, 10.0, 12.0]).unwrap();
        s.telemetry = store;
        let history = violation_history(&s.policies, &s.graph, &s.telemetry, 60).unwrap();
        let now = current_violations(&s, &s.policies, &history);
        assert_eq!(now.len(), 1);
        assert_eq!((now[0].twin.as_str(), now[0].since, now[0].value, now[0].worst), ("a", 60, 91.0, 95.0));
    }
}
