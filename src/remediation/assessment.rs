//! An assessment: what is wrong with a scenario under a set of policies, and what to
//! do about it, at any time of its history. The command line asks at the end of
//! history ([`Assessment::at_end`]); the workbench at its time cursor
//! ([`Assessment::at`]). Both read the same chain: the policies' violation spans →
//! the rules violated at the time, configuration drift as of the time, sustained
//! anomalies from the anomaly scan, predicted violations (which start at the end of
//! history, so they are findings only there) → findings → ranked candidate actions.
//!
//! The parts arrive separately in the workbench (the violation spans, the scan and the
//! predictions are background jobs), so they are shared (`Arc`) and each can be added
//! when it is ready; an assessment without a scan or predictions has no findings of
//! those kinds.

use std::sync::Arc;

use super::plan::{Candidate, Finding, anomaly_findings, candidates, findings, predicted_findings};
use super::priority::Weights;
use crate::analytics::compliance::{CurrentViolation, current_violations};
use crate::analytics::drift::{DriftReport, drift};
use crate::analytics::predict::Predictions;
use crate::analytics::scan::AnomalyScans;
use crate::model::{SeriesKey, StoreError, UnixSecs};
use crate::policy::Policy;
use crate::policy::spans::{ViolationHistory, violation_history};
use crate::scenario::Scenario;

/// How far ahead configuration drift is forecast unless told otherwise: a week.
pub const DEFAULT_DRIFT_HORIZON_SECS: i64 = 7 * 86_400;

/// A scenario, the policies in force and what has been computed from them.
#[derive(Clone, Debug)]
pub struct Assessment {
    scenario: Arc<Scenario>,
    policies: Arc<Vec<Policy>>,
    violations: Arc<ViolationHistory>,
    anomalies: Option<Arc<AnomalyScans>>,
    predictions: Option<Arc<Predictions>>,
    drift_horizon_secs: i64,
}

/// What is wrong at one time and what to do about it.
#[derive(Clone, Debug)]
pub struct AtTime {
    /// The time assessed.
    pub time: UnixSecs,
    /// Configuration drift as of the time.
    pub drift: DriftReport,
    /// Rules violated at the time.
    pub current: Vec<CurrentViolation>,
    /// The violations, drift, sustained anomalies and (at the end of history)
    /// predicted violations, as findings.
    pub findings: Vec<Finding>,
    /// Proposed actions for the findings, best first.
    pub candidates: Vec<Candidate>,
}

impl Assessment {
    /// Assesses `scenario` under `policies`, evaluating the policies over its whole
    /// history (the violation spans).
    pub fn new(scenario: Arc<Scenario>, policies: Arc<Vec<Policy>>) -> Result<Self, StoreError> {
        let s = &scenario;
        let violations = violation_history(&policies, &s.graph, &s.telemetry, s.resolution_secs)?;
        Ok(Self::with_violations(scenario, policies, Arc::new(violations)))
    }

    /// Assesses `scenario` under `policies` with their violation spans already
    /// computed (`violations` must come from the same policies, in the same order).
    pub fn with_violations(
        scenario: Arc<Scenario>,
        policies: Arc<Vec<Policy>>,
        violations: Arc<ViolationHistory>,
    ) -> Self {
        Self {
            scenario,
            policies,
            violations,
            anomalies: None,
            predictions: None,
            drift_horizon_secs: DEFAULT_DRIFT_HORIZON_SECS,
        }
    }

    /// Adds the anomaly scan: sustained anomalies become findings.
    pub fn with_anomalies(mut self, scans: Arc<AnomalyScans>) -> Self {
        self.anomalies = Some(scans);
        self
    }

    /// Adds the predicted violations: findings at the end of history.
    pub fn with_predictions(mut self, predictions: Arc<Predictions>) -> Self {
        self.predictions = Some(predictions);
        self
    }

    /// Forecasts configuration drift `secs` ahead (default a week).
    pub fn with_drift_horizon(mut self, secs: i64) -> Self {
        self.drift_horizon_secs = secs;
        self
    }

    /// The scenario.
    pub fn scenario(&self) -> &Arc<Scenario> {
        &self.scenario
    }

    /// The policies in force.
    pub fn policies(&self) -> &Arc<Vec<Policy>> {
        &self.policies
    }

    /// The policies' violation spans over history.
    pub fn violations(&self) -> &Arc<ViolationHistory> {
        &self.violations
    }

    /// The anomaly scan, once added.
    pub fn anomalies(&self) -> Option<&Arc<AnomalyScans>> {
        self.anomalies.as_ref()
    }

    /// The predicted violations, once added.
    pub fn predictions(&self) -> Option<&Arc<Predictions>> {
        self.predictions.as_ref()
    }

    /// Rules violated at `t`: every violation span active at `t`, with the series'
    /// value at `t` (the span's worst where the series has none), in span order (by
    /// twin, then start).
    pub fn current_at(&self, t: UnixSecs) -> Vec<CurrentViolation> {
        let s = &self.scenario;
        let mut out = Vec::new();
        for (twin, spans) in self.violations.iter() {
            for span in spans.iter().filter(|sp| sp.active_at(t)) {
                let Some((policy, rule)) =
                    self.policies.get(span.policy).and_then(|p| Some((p, p.rules.get(span.rule)?)))
                else {
                    continue;
                };
                let key = SeriesKey::new(twin.clone(), rule.metric.clone());
                let value =
                    s.telemetry.series(&key).and_then(|x| x.value_at(t).ok().flatten()).map_or(span.worst, |(_, v)| v);
                out.push(CurrentViolation {
                    policy: policy.name.clone(),
                    severity: policy.severity,
                    twin: twin.clone(),
                    rule: rule.clone(),
                    value,
                    since: span.start,
                    worst: span.worst,
                });
            }
        }
        out
    }

    /// Configuration drift as of `t`, forecast the assessment's drift horizon ahead.
    pub fn drift_at(&self, t: UnixSecs) -> DriftReport {
        let s = &self.scenario;
        drift(&s.graph, &self.policies, s.start, t, self.drift_horizon_secs)
    }

    /// What is wrong at `t` (the workbench's time cursor): the violations active at
    /// `t` ([`Assessment::current_at`]), drift as of `t`, sustained anomalies up to
    /// `t`, and the predicted violations when `t` is at the end of history (within one
    /// sample of it), as findings with their candidate actions.
    pub fn at(&self, t: UnixSecs) -> AtTime {
        let s = &self.scenario;
        let current = self.current_at(t);
        let drift = self.drift_at(t);
        let mut found = findings(&s.graph, &current, &drift);
        found.extend(self.anomaly_findings_at(t));
        // Predictions start at the end of history: they are findings "now".
        if t + s.resolution_secs >= s.end {
            found.extend(self.predicted_findings());
        }
        let candidates = candidates(&s.graph, &self.policies, &found, &Weights::default());
        AtTime { time: t, drift, current, findings: found, candidates }
    }

    /// Rules violated at the end of history as the command line reports them: the
    /// ongoing spans with the series' latest value, most severe first
    /// ([`current_violations`]).
    pub fn current_at_end(&self) -> Vec<CurrentViolation> {
        current_violations(&self.scenario, &self.policies, &self.violations)
    }

    /// What is wrong at the end of history, as the command line reports it and plans
    /// for: [`Assessment::current_at_end`], drift, then the predicted violations, then
    /// the sustained anomalies. (The order of findings is the order of a plan's
    /// evidence; the workbench lists anomalies before predictions.)
    pub fn at_end(&self) -> AtTime {
        let s = &self.scenario;
        let current = self.current_at_end();
        let drift = self.drift_at(s.end);
        let mut found = findings(&s.graph, &current, &drift);
        found.extend(self.predicted_findings());
        found.extend(self.anomaly_findings_at(s.end));
        let candidates = candidates(&s.graph, &self.policies, &found, &Weights::default());
        AtTime { time: s.end, drift, current, findings: found, candidates }
    }

    fn anomaly_findings_at(&self, t: UnixSecs) -> Vec<Finding> {
        let s = &self.scenario;
        self.anomalies.as_ref().map_or_else(Vec::new, |scans| anomaly_findings(&s.graph, &self.policies, scans, t))
    }

    fn predicted_findings(&self) -> Vec<Finding> {
        self.predictions.as_ref().map_or_else(Vec::new, |p| predicted_findings(&p.violations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::predict::PredictedViolation;
    use crate::model::{Twin, TwinKind};
    use crate::policy::{MetricRule, Operator, Severity};

    const RES: i64 = 60;

    /// `db`'s disk over 90 from minute 10 to minute 20 of a 60-minute history, and
    /// again from minute 50 to the end; a policy `disk_usage > 90`.
    fn scenario() -> Scenario {
        let mut s = Scenario { name: "t".into(), resolution_secs: RES, start: 0, end: 3600, ..Scenario::default() };
        s.graph.add_twin(Twin::new("db", TwinKind::Database)).unwrap();
        let key = SeriesKey::new("db", "disk_usage");
        for i in 0..60 {
            let v = if (10..20).contains(&i) || i >= 50 { 95.0 + f64::from(i % 3) } else { 50.0 };
            s.telemetry.append(&key, i64::from(i) * RES, v).unwrap();
        }
        let mut p = crate::policy::Policy::named("disk");
        p.severity = Severity::High;
        p.rules.push(MetricRule::threshold("disk_usage", Operator::Gt, 90.0));
        s.policies.push(p);
        s
    }

    fn assess(s: Scenario) -> Assessment {
        let policies = Arc::new(s.policies.clone());
        Assessment::new(Arc::new(s), policies).unwrap()
    }

    fn predicted() -> Predictions {
        let s = scenario();
        Predictions {
            violations: vec![PredictedViolation {
                policy: "disk".into(),
                severity: Severity::High,
                twin: "db".into(),
                rule: s.policies[0].rules[0].clone(),
                at: 7200,
                eta_secs: 3600,
                probability: 0.8,
                expected: 97.0,
                value: 95.0,
                model: "ets".into(),
                mase: None,
            }],
            ..Predictions::default()
        }
    }

    #[test]
    fn violations_are_current_while_their_span_lasts_and_not_after() {
        let a = assess(scenario());
        let before = a.at(5 * RES);
        assert!(before.current.is_empty() && before.findings.is_empty() && before.candidates.is_empty());
        let during = a.at(12 * RES);
        assert_eq!(during.current.len(), 1);
        let v = &during.current[0];
        assert_eq!((v.twin.as_str(), v.since, v.value, v.worst), ("db", 10 * RES, 95.0, 97.0), "the value at t");
        assert_eq!(during.findings.len(), 1);
        assert!(!during.candidates.is_empty(), "a violation gets a proposal");
        // The span ends at the first sample under the threshold.
        assert_eq!(a.at(19 * RES).current.len(), 1);
        assert!(a.at(20 * RES).current.is_empty());
        assert!(a.at(30 * RES).findings.is_empty());
        // The ongoing one holds to the end and beyond.
        assert_eq!(a.at(55 * RES).current[0].since, 50 * RES);
        assert_eq!(a.at(3600).current.len(), 1);
    }

    #[test]
    fn predictions_are_findings_only_at_the_end_of_history() {
        let a = assess(scenario()).with_predictions(Arc::new(predicted()));
        let kinds = |at: &AtTime| at.findings.iter().filter(|f| matches!(f, Finding::Predicted { .. })).count();
        assert_eq!(kinds(&a.at(12 * RES)), 0);
        assert_eq!(kinds(&a.at(3600 - 2 * RES)), 0);
        assert_eq!(kinds(&a.at(3600 - RES)), 1, "within one sample of the end");
        assert_eq!(kinds(&a.at(3600)), 1);
        assert_eq!(kinds(&a.at_end()), 1);
        assert_eq!(kinds(&assess(scenario()).at(3600)), 0, "no predictions yet");
    }

    #[test]
    fn at_the_end_the_command_lines_current_violations_are_the_cursors() {
        let a = assess(scenario());
        let end = a.at_end();
        assert_eq!(end.time, 3600);
        assert_eq!(end.current, a.at(3600).current);
        assert_eq!(end.current, current_violations(a.scenario(), a.policies(), a.violations()));
        assert_eq!(end.candidates, a.at(3600).candidates);
    }
}
