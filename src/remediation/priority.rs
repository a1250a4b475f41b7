//! Prioritization: every candidate action gets a documented score
//!
//! `score = w_sev·S + w_impact·I + w_urgency·U − w_cost·C`
//!
//! - `S` severity of the finding's policy: info 0, low 0.25, medium 0.5, high 0.75,
//!   critical 1;
//! - `I` impact: how much of the estate a failure of the target reaches,
//!   `ln(1 + blast radius) / ln(1 + twins)`;
//! - `U` urgency: 1 for a current violation, `exp(−ETA / 24 h)` for a predicted one,
//!   0.3 for configuration drift;
//! - `C` cost: half the action's risk plus half its monthly cost change squashed into
//!   [0, 1) as `cost / (cost + 100)` (savings count as 0).
//!
//! Default weights 0.4 / 0.25 / 0.25 / 0.1. Plans order actions by score; a notification
//! follows the action it accompanies (same twin and policy) whatever its own score, and
//! ties break by severity, then twin id, then action id, so the order is deterministic.

use crate::policy::Severity;

/// Weights of the score terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    /// Weight of severity.
    pub severity: f64,
    /// Weight of impact (blast radius).
    pub impact: f64,
    /// Weight of urgency (time to violation).
    pub urgency: f64,
    /// Weight of cost and risk.
    pub cost: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self { severity: 0.4, impact: 0.25, urgency: 0.25, cost: 0.1 }
    }
}

/// The terms of a score and its total.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreBreakdown {
    /// `S` in [0, 1].
    pub severity: f64,
    /// `I` in [0, 1].
    pub impact: f64,
    /// `U` in [0, 1].
    pub urgency: f64,
    /// `C` in [0, 1).
    pub cost: f64,
    /// The weighted total.
    pub total: f64,
}

/// How soon a finding bites.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Urgency {
    /// Violated now.
    Now,
    /// Predicted to be violated in this many seconds.
    In(i64),
    /// Configuration drift (no deadline).
    Drift,
}

impl Urgency {
    /// `U` of the score.
    pub fn value(self) -> f64 {
        match self {
            Urgency::Now => 1.0,
            Urgency::In(secs) => (-(secs.max(0) as f64) / 86_400.0).exp(),
            Urgency::Drift => 0.3,
        }
    }
}

/// `S` of the score.
pub fn severity_value(severity: Severity) -> f64 {
    match severity {
        Severity::Info => 0.0,
        Severity::Low => 0.25,
        Severity::Medium => 0.5,
        Severity::High => 0.75,
        Severity::Critical => 1.0,
    }
}

/// `I` of the score from a blast radius in an estate of `twins` twins.
pub fn impact_value(blast_radius: usize, twins: usize) -> f64 {
    if twins <= 1 {
        return 0.0;
    }
    ((1.0 + blast_radius as f64).ln() / (1.0 + twins as f64).ln()).clamp(0.0, 1.0)
}

/// `C` of the score from a risk in [0, 1] and a monthly cost change.
pub fn cost_value(risk: f64, monthly_cost: f64) -> f64 {
    let cost = monthly_cost.max(0.0);
    0.5 * risk.clamp(0.0, 1.0) + 0.5 * cost / (cost + 100.0)
}

/// The score of a candidate.
pub fn score(
    weights: &Weights,
    severity: Severity,
    blast_radius: usize,
    twins: usize,
    urgency: Urgency,
    risk: f64,
    monthly_cost: f64,
) -> ScoreBreakdown {
    let s = severity_value(severity);
    let i = impact_value(blast_radius, twins);
    let u = urgency.value();
    let c = cost_value(risk, monthly_cost);
    ScoreBreakdown {
        severity: s,
        impact: i,
        urgency: u,
        cost: c,
        total: weights.severity * s + weights.impact * i + weights.urgency * u - weights.cost * c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_follow_the_documented_formula() {
        let w = Weights::default();
        let b = score(&w, Severity::Critical, 9, 99, Urgency::Now, 0.2, 100.0);
        assert_eq!(b.severity, 1.0);
        assert!((b.impact - 0.5).abs() < 1e-12);
        assert_eq!(b.urgency, 1.0);
        assert!((b.cost - 0.35).abs() < 1e-12);
        assert!((b.total - (0.4 + 0.125 + 0.25 - 0.035)).abs() < 1e-12);
    }

    #[test]
    fn sooner_and_more_severe_ranks_higher() {
        let w = Weights::default();
        let soon = score(&w, Severity::High, 3, 20, Urgency::In(3600), 0.2, 10.0);
        let later = score(&w, Severity::High, 3, 20, Urgency::In(5 * 86_400), 0.2, 10.0);
        assert!(soon.total > later.total);
        let critical = score(&w, Severity::Critical, 3, 20, Urgency::In(5 * 86_400), 0.2, 10.0);
        assert!(critical.total > later.total);
        assert!(Urgency::Now.value() > Urgency::In(0).value() - 1e-12);
    }
}
