//! Configuration drift: each twin's configuration against the desired state its
//! policies declare. Every rule gives a per-key [`Deviation`]; a twin's drift score
//! combines its deviations weighted by the policies' severities as a probabilistic OR,
//! `1 − Π(1 − wₖ·dₖ)`, so one fully wrong critical key is a drift of 1 and several
//! small ones add up without exceeding 1. The fleet score is the mean over twins that
//! have a desired state. From the configuration history: when each drift started, the
//! drift events of the past (changes that took a key out of compliance) and a forecast
//! of new drift from their rate (a Poisson process).

use std::collections::BTreeMap;

use crate::model::{ConfigValue, TwinGraph, TwinId, UnixSecs};
use crate::policy::{ConfigRule, Deviation, DeviationKind, Policy, Severity};

/// Weight of a severity in the twin drift score.
pub fn severity_weight(severity: Severity) -> f64 {
    match severity {
        Severity::Critical => 1.0,
        Severity::High => 0.8,
        Severity::Medium => 0.6,
        Severity::Low => 0.4,
        Severity::Info => 0.2,
    }
}

/// One configuration key off its desired state.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyDrift {
    /// The policy that wants it.
    pub policy: String,
    /// The rule, e.g. `max_connections == 500`.
    pub rule: ConfigRule,
    /// The value the twin has (`None`: absent).
    pub actual: Option<ConfigValue>,
    /// How far off.
    pub deviation: Deviation,
    /// When the key left its desired state, or `None` when it was already off at the
    /// start of recorded history.
    pub since: Option<UnixSecs>,
}

/// Drift of one twin.
#[derive(Clone, Debug, PartialEq)]
pub struct TwinDrift {
    /// The twin.
    pub twin: TwinId,
    /// Combined score in [0, 1].
    pub score: f64,
    /// Keys checked against a desired state.
    pub checked: usize,
    /// Keys off their desired state, worst first.
    pub keys: Vec<KeyDrift>,
}

/// A change in history that took a key out of compliance.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftEvent {
    /// When.
    pub at: UnixSecs,
    /// Which twin.
    pub twin: TwinId,
    /// Which key.
    pub key: String,
}

/// Drift of the whole estate.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftReport {
    /// Twins with a desired state, most drifted first (ties by id).
    pub twins: Vec<TwinDrift>,
    /// Mean twin score over twins with a desired state.
    pub fleet_score: f64,
    /// Drift events in history, in time order.
    pub events: Vec<DriftEvent>,
    /// Drift events per day over the history.
    pub rate_per_day: f64,
    /// Expected new drift events within the forecast horizon.
    pub expected_new: f64,
    /// Probability of at least one new drift event within the horizon.
    pub probability_new: f64,
    /// Horizon of the forecast, in seconds.
    pub horizon_secs: i64,
}

impl DriftReport {
    /// The drift of one twin, if it has a desired state.
    pub fn twin(&self, id: &TwinId) -> Option<&TwinDrift> {
        self.twins.iter().find(|t| &t.twin == id)
    }

    /// Twins that drift (score > 0).
    pub fn drifting(&self) -> impl Iterator<Item = &TwinDrift> {
        self.twins.iter().filter(|t| t.score > 0.0)
    }
}

/// Computes drift of every twin against the configuration rules of `policies` as the
/// configuration was at `now` (any point of history; the scenario's end for "now"),
/// with history from `start` and a drift forecast `horizon_secs` ahead.
pub fn drift(graph: &TwinGraph, policies: &[Policy], start: UnixSecs, now: UnixSecs, horizon_secs: i64) -> DriftReport {
    let mut twins = Vec::new();
    let mut events = Vec::new();
    for twin in graph.twins() {
        let rules: Vec<(&Policy, &ConfigRule)> = policies
            .iter()
            .filter(|p| p.selector.matches(twin))
            .flat_map(|p| p.config_rules.iter().map(move |r| (p, r)))
            .collect();
        if rules.is_empty() {
            continue;
        }
        let mut keys = Vec::new();
        let mut keep = 1.0;
        let config = twin.config_at(now);
        for (policy, rule) in &rules {
            let actual = config.get(&rule.key);
            let deviation = rule.deviation(actual);
            // Replay the key's history: compliance at the start, then after each change.
            let initial = twin.config_at(start.min(twin.config_history.first().map_or(start, |c| c.at - 1)));
            let mut compliant = rule.deviation(initial.get(&rule.key)).kind == DeviationKind::None;
            let mut since = None;
            for change in twin.config_history.iter().filter(|c| c.key == rule.key && c.at <= now) {
                let now_compliant = rule.deviation(change.after.as_ref()).kind == DeviationKind::None;
                if compliant && !now_compliant {
                    events.push(DriftEvent { at: change.at, twin: twin.id.clone(), key: rule.key.clone() });
                    since = Some(change.at);
                }
                if now_compliant {
                    since = None;
                }
                compliant = now_compliant;
            }
            if deviation.kind != DeviationKind::None {
                keep *= 1.0 - severity_weight(policy.severity) * deviation.amount;
                keys.push(KeyDrift {
                    policy: policy.name.clone(),
                    rule: (*rule).clone(),
                    actual: actual.cloned(),
                    deviation,
                    since,
                });
            }
        }
        keys.sort_by(|a, b| {
            b.deviation.amount.total_cmp(&a.deviation.amount).then_with(|| a.rule.key.cmp(&b.rule.key))
        });
        twins.push(TwinDrift {
            twin: twin.id.clone(),
            score: (1.0 - keep).clamp(0.0, 1.0),
            checked: rules.len(),
            keys,
        });
    }
    let fleet_score =
        if twins.is_empty() { 0.0 } else { twins.iter().map(|t| t.score).sum::<f64>() / twins.len() as f64 };
    twins.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.twin.cmp(&b.twin)));
    events.sort_by(|a, b| (a.at, &a.twin, &a.key).cmp(&(b.at, &b.twin, &b.key)));
    let days = ((now - start) as f64 / 86_400.0).max(1.0 / 24.0);
    let rate_per_day = events.len() as f64 / days;
    let expected_new = rate_per_day * horizon_secs.max(0) as f64 / 86_400.0;
    DriftReport {
        twins,
        fleet_score,
        events,
        rate_per_day,
        expected_new,
        probability_new: 1.0 - (-expected_new).exp(),
        horizon_secs,
    }
}

/// Per-twin drift scores as a map (for colouring the graph).
pub fn scores(report: &DriftReport) -> BTreeMap<TwinId, f64> {
    report.twins.iter().map(|t| (t.twin.clone(), t.score)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConfigChange, Twin, TwinKind};
    use crate::policy::{ConfigOperator, Selector};

    fn setup() -> (TwinGraph, Vec<Policy>) {
        let mut g = TwinGraph::new();
        let mut db = Twin::new("db", TwinKind::Database);
        db.config.insert("max_connections".into(), ConfigValue::Int(200));
        db.config.insert("ssl".into(), ConfigValue::Bool(true));
        db.config_history.push(ConfigChange {
            at: 1000,
            key: "max_connections".into(),
            before: Some(ConfigValue::Int(500)),
            after: Some(ConfigValue::Int(200)),
        });
        g.add_twin(db).unwrap();
        let mut web = Twin::new("web", TwinKind::Service);
        web.config.insert("log_level".into(), ConfigValue::Str("info".into()));
        g.add_twin(web).unwrap();
        let policies = vec![Policy {
            name: "db-baseline".into(),
            description: String::new(),
            severity: Severity::Critical,
            selector: Selector { kinds: vec![TwinKind::Database], ..Selector::default() },
            rules: Vec::new(),
            anomaly_rules: Vec::new(),
            actions: Vec::new(),
            config_rules: vec![
                ConfigRule {
                    key: "max_connections".into(),
                    operator: ConfigOperator::Eq,
                    expected: ConfigValue::Int(500),
                },
                ConfigRule { key: "ssl".into(), operator: ConfigOperator::Eq, expected: ConfigValue::Bool(true) },
                ConfigRule {
                    key: "backup".into(),
                    operator: ConfigOperator::Eq,
                    expected: ConfigValue::Str("daily".into()),
                },
            ],
        }];
        (g, policies)
    }

    #[test]
    fn drift_per_key_twin_and_fleet() {
        let (g, policies) = setup();
        let report = drift(&g, &policies, 0, 10 * 86_400, 7 * 86_400);
        assert_eq!(report.twins.len(), 1, "web has no desired state");
        let db = report.twin(&"db".into()).unwrap();
        assert_eq!(db.checked, 3);
        assert_eq!(db.keys.len(), 2);
        // backup is missing (1.0), max_connections is 60% off.
        assert_eq!(db.keys[0].rule.key, "backup");
        assert_eq!(db.keys[0].deviation.kind, DeviationKind::Missing);
        assert_eq!(db.keys[0].since, None);
        assert_eq!(db.keys[1].deviation.amount, 0.6);
        assert_eq!(db.keys[1].since, Some(1000));
        assert_eq!(db.score, 1.0);
        assert_eq!(report.fleet_score, 1.0);
        assert_eq!(report.events.len(), 1);
        assert!((report.rate_per_day - 0.1).abs() < 1e-12);
        assert!((report.expected_new - 0.7).abs() < 1e-12);
        assert!((report.probability_new - (1.0 - (-0.7f64).exp())).abs() < 1e-12);
    }

    #[test]
    fn drift_at_an_earlier_time_uses_the_configuration_of_then() {
        let (g, policies) = setup();
        let report = drift(&g, &policies, 0, 999, 86_400);
        let db = report.twin(&"db".into()).unwrap();
        assert_eq!(db.keys.len(), 1, "only backup was off before the change");
        assert!(report.events.is_empty());
    }

    #[test]
    fn score_combines_by_severity() {
        let (g, mut policies) = setup();
        policies[0].severity = Severity::Medium;
        policies[0].config_rules.truncate(2);
        let report = drift(&g, &policies, 0, 86_400, 86_400);
        let db = report.twin(&"db".into()).unwrap();
        assert!((db.score - 0.6 * 0.6).abs() < 1e-12);
    }
}
