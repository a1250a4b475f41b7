//! A remediation strategy: the configuration of the orchestration loop that an A/B
//! test compares — which policies it acts on (with their bound actions), its mode,
//! guards and prioritization weights, and the objective it is judged on.

use crate::policy::Policy;
use crate::remediation::orchestrate::{Guards, Mode, OrchestratorConfig};
use crate::remediation::priority::Weights;

/// What a strategy is judged on (lower is better for each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Objective {
    /// Minutes of policy violation, summed over policies and twins.
    #[default]
    ViolationMinutes,
    /// Change of monthly cost of the actions taken.
    Cost,
    /// Times a twin went from compliant to violating a policy.
    SloBreaches,
}

impl Objective {
    /// Every objective.
    pub const ALL: [Objective; 3] = [Objective::ViolationMinutes, Objective::Cost, Objective::SloBreaches];

    /// Name in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Objective::ViolationMinutes => "violation_minutes",
            Objective::Cost => "cost",
            Objective::SloBreaches => "slo_breaches",
        }
    }

    /// Parses the name.
    pub fn parse(s: &str) -> Option<Objective> {
        Objective::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The objective's value in a run summary.
    pub fn of(self, summary: &super::RunSummary) -> f64 {
        match self {
            Objective::ViolationMinutes => summary.violation_minutes,
            Objective::Cost => summary.cost,
            Objective::SloBreaches => f64::from(summary.slo_breaches),
        }
    }
}

/// A remediation strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct Strategy {
    /// Name shown in reports.
    pub name: String,
    /// What it is.
    pub description: String,
    /// The policies the orchestrator acts on.
    pub policies: Vec<Policy>,
    /// Mode, guards and weights of the loop.
    pub orchestrator: OrchestratorConfig,
    /// The objective it declares.
    pub objective: Objective,
}

impl Strategy {
    /// A strategy acting automatically on `policies` with default guards and weights.
    pub fn automatic(name: impl Into<String>, policies: Vec<Policy>) -> Self {
        Strategy {
            name: name.into(),
            description: String::new(),
            policies,
            orchestrator: OrchestratorConfig {
                mode: Mode::Automatic,
                guards: Guards::default(),
                weights: Weights::default(),
            },
            objective: Objective::default(),
        }
    }
}
