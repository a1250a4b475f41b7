//! The lab's inputs as data: what a workspace saves of the lab and what undo restores
//! (the sections' fields, the what-if's changes, the composed faults), and one-line
//! summaries of the last results. Widget-only choices (the change picker's current
//! kind, the fault picker's magnitude) are not inputs: nothing is lost without them.

use serde::{Deserialize, Serialize};

use super::{LabState, Section};
use crate::io::format::ConfigValueFile;
use crate::io::policy::ActionFile;
use crate::model::{ConfigValue, TwinId};
use crate::sim::chaos::ComposedFault;
use crate::sim::fault::FaultType;
use crate::sim::whatif::Change;

/// Everything a user typed or chose in the lab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabInputs {
    /// The section shown: `whatif`, `ab` or `chaos`.
    pub section: String,
    /// The runs' seed.
    pub seed: u64,
    /// Hours the what-if runs.
    pub whatif_hours: f64,
    /// The what-if's changes, in order.
    pub changes: Vec<ChangeInput>,
    /// The A/B test's strategy files.
    pub strategy_a: String,
    /// Strategy B.
    pub strategy_b: String,
    /// Replications of the A/B test.
    pub ab_runs: u32,
    /// Hours each replication runs.
    pub ab_hours: f64,
    /// The chaos section runs the experiment file (else the composed faults).
    pub chaos_use_file: bool,
    /// The chaos experiment file.
    pub experiment: String,
    /// Faults composed on twins.
    pub faults: Vec<FaultInput>,
    /// Hours the composed experiment runs.
    pub chaos_hours: f64,
    /// Remediation runs during the chaos experiment.
    pub chaos_remediate: bool,
    /// Its strategy file.
    pub chaos_strategy: String,
}

impl Default for LabInputs {
    fn default() -> Self {
        LabState::default().inputs()
    }
}

/// One what-if change as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangeInput {
    /// Set a configuration key.
    SetConfig {
        /// The twin.
        twin: String,
        /// Key path.
        key: String,
        /// New value.
        value: ConfigValueFile,
    },
    /// Start an action.
    Action {
        /// The twin.
        twin: String,
        /// The action, as in policy files.
        action: ActionFile,
    },
}

impl ChangeInput {
    fn of(change: &Change) -> Self {
        match change {
            Change::SetConfig { twin, key, value } => {
                ChangeInput::SetConfig { twin: twin.to_string(), key: key.clone(), value: ConfigValueFile::from(value) }
            }
            Change::Action { twin, action } => {
                ChangeInput::Action { twin: twin.to_string(), action: ActionFile::from(action) }
            }
        }
    }

    fn change(&self) -> Result<Change, String> {
        Ok(match self {
            ChangeInput::SetConfig { twin, key, value } => {
                Change::SetConfig { twin: TwinId::new(twin), key: key.clone(), value: ConfigValue::from(value) }
            }
            ChangeInput::Action { twin, action } => {
                Change::Action { twin: TwinId::new(twin), action: action.kind().map_err(|e| format!("{twin}: {e}"))? }
            }
        })
    }
}

/// One composed fault as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultInput {
    /// The fault's kind, as in experiment files (`crash`, `cpu_hog`, …).
    pub fault: String,
    /// Its magnitude in the kind's unit (none for crash, partition and outage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub magnitude: Option<f64>,
    /// The dependency a dependency outage cuts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency: Option<String>,
    /// The twin it hits.
    pub twin: String,
    /// Minutes after the start.
    pub at_min: u32,
    /// Minutes it lasts (none: until the rollback at the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_min: Option<u32>,
}

impl FaultInput {
    fn of(f: &ComposedFault) -> Self {
        FaultInput {
            fault: f.kind.name().to_string(),
            magnitude: f.kind.magnitude(),
            dependency: f.kind.dependency().map(|d| d.to_string()),
            twin: f.twin.to_string(),
            at_min: f.at_min,
            duration_min: f.duration_min,
        }
    }

    fn fault(&self) -> Result<ComposedFault, String> {
        let kind = FaultType::parse(&self.fault).ok_or_else(|| format!("unknown fault kind {:?}", self.fault))?;
        let fault = kind
            .fault(self.magnitude.unwrap_or(0.0), self.dependency.as_deref().map(TwinId::new))
            .map_err(|e| e.to_string())?;
        fault.validate().map_err(|e| format!("{} on {}: {e}", self.fault, self.twin))?;
        Ok(ComposedFault {
            kind: fault,
            twin: TwinId::new(&self.twin),
            at_min: self.at_min,
            duration_min: self.duration_min,
        })
    }
}

fn section_name(section: Section) -> &'static str {
    match section {
        Section::WhatIf => "whatif",
        Section::Ab => "ab",
        Section::Chaos => "chaos",
    }
}

impl LabState {
    /// The lab's inputs now.
    pub fn inputs(&self) -> LabInputs {
        let (whatif, ab, chaos) = (&self.whatif, &self.ab, &self.chaos);
        LabInputs {
            section: section_name(self.section).to_string(),
            seed: self.seed,
            whatif_hours: whatif.hours,
            changes: whatif.changes.iter().map(ChangeInput::of).collect(),
            strategy_a: ab.a_path.clone(),
            strategy_b: ab.b_path.clone(),
            ab_runs: ab.runs,
            ab_hours: ab.ab_hours,
            chaos_use_file: chaos.use_file,
            experiment: chaos.experiment_path.clone(),
            faults: chaos.composed.iter().map(FaultInput::of).collect(),
            chaos_hours: chaos.chaos_hours,
            chaos_remediate: chaos.remediate,
            chaos_strategy: chaos.strategy_path.clone(),
        }
    }

    /// Puts `inputs` in the lab's fields (results and runs stay). What cannot be
    /// restored (an unknown fault kind, an invalid action) is left out and named in
    /// the returned messages.
    pub fn set_inputs(&mut self, inputs: &LabInputs) -> Vec<String> {
        let mut problems = Vec::new();
        self.section = match inputs.section.as_str() {
            "ab" => Section::Ab,
            "chaos" => Section::Chaos,
            _ => Section::WhatIf,
        };
        self.seed = inputs.seed;
        let whatif = &mut self.whatif;
        whatif.hours = clamp_hours(inputs.whatif_hours, whatif.hours);
        whatif.changes = inputs
            .changes
            .iter()
            .filter_map(|c| c.change().map_err(|e| problems.push(format!("what-if change: {e}"))).ok())
            .collect();
        let ab = &mut self.ab;
        ab.a_path.clone_from(&inputs.strategy_a);
        ab.b_path.clone_from(&inputs.strategy_b);
        ab.runs = inputs.ab_runs.clamp(2, 500);
        ab.ab_hours = clamp_hours(inputs.ab_hours, ab.ab_hours);
        let chaos = &mut self.chaos;
        chaos.use_file = inputs.chaos_use_file;
        chaos.experiment_path.clone_from(&inputs.experiment);
        chaos.composed = inputs
            .faults
            .iter()
            .filter_map(|f| f.fault().map_err(|e| problems.push(format!("chaos fault: {e}"))).ok())
            .collect();
        chaos.chaos_hours = clamp_hours(inputs.chaos_hours, chaos.chaos_hours);
        chaos.remediate = inputs.chaos_remediate;
        chaos.strategy_path.clone_from(&inputs.chaos_strategy);
        problems
    }

    /// One line per section with a result: what ran and what it found.
    pub fn summaries(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(r) = self.whatif_report() {
            lines.push(format!(
                "What-if ({}) over {} h, seed {}: violation minutes {:.0} → {:.0}, SLO breaches {} → {}",
                r.changes.join("; "),
                r.hours,
                r.seed,
                r.baseline.violation_minutes,
                r.variant.violation_minutes,
                r.baseline.slo_breaches,
                r.variant.slo_breaches
            ));
        }
        if let Some(r) = self.ab_report() {
            lines.push(format!(
                "A/B {} vs {}, {} runs of {} h, seed {}: {}",
                r.a,
                r.b,
                r.runs,
                r.hours,
                r.seed,
                r.winner.as_deref().map_or_else(|| "no significant winner".to_string(), |w| format!("{w} wins"))
            ));
        }
        if let Some(r) = self.chaos_report() {
            let recovered = r
                .time_to_recover_secs
                .map_or_else(|| "did not recover".into(), |s| format!("recovered in {} min", s / 60));
            lines.push(format!(
                "Chaos \"{}\", seed {}: hypothesis {} at the end, resilience {:.2}, {recovered}",
                r.title,
                r.seed,
                if r.after.held { "held" } else { "deviated" },
                r.resilience_score
            ));
        }
        lines
    }

    /// Shows the results a restored workspace had until a run replaces them.
    pub fn set_restored(&mut self, lines: Vec<String>) {
        self.restored = lines;
    }

    /// The restored results shown.
    pub fn restored(&self) -> &[String] {
        &self.restored
    }
}

/// Hours from a file, within what the lab's fields allow (`fallback` when not a number).
fn clamp_hours(hours: f64, fallback: f64) -> f64 {
    if hours.is_finite() { hours.clamp(0.25, 24.0 * 30.0) } else { fallback }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ActionKind, Resource};
    use crate::sim::fault::FaultKind;

    #[test]
    fn inputs_round_trip_through_ron() {
        let mut lab = LabState { section: Section::Chaos, seed: 42, ..LabState::default() };
        lab.whatif.changes = vec![
            Change::Action { twin: "db".into(), action: ActionKind::ScaleUp { resource: Resource::Disk, factor: 1.5 } },
            Change::SetConfig { twin: "web".into(), key: "pool".into(), value: ConfigValue::Int(40) },
        ];
        lab.chaos.composed = vec![
            ComposedFault {
                kind: FaultKind::Latency { ms: 250.0 },
                twin: "web".into(),
                at_min: 5,
                duration_min: Some(30),
            },
            ComposedFault {
                kind: FaultKind::DependencyOutage { dependency: "db".into() },
                twin: "web".into(),
                at_min: 0,
                duration_min: None,
            },
        ];
        let inputs = lab.inputs();
        let text = ron::ser::to_string_pretty(&inputs, ron::ser::PrettyConfig::default()).unwrap();
        let back: LabInputs = ron::from_str(&text).unwrap();
        assert_eq!(back, inputs);
        let mut restored = LabState::default();
        assert!(restored.set_inputs(&back).is_empty());
        assert_eq!(restored.inputs(), inputs);
        assert_eq!(restored.whatif.changes, lab.whatif.changes);
        assert_eq!(restored.chaos.composed, lab.chaos.composed);
    }

    #[test]
    fn what_cannot_be_restored_is_named_and_left_out() {
        let mut inputs = LabState::default().inputs();
        inputs.faults.push(FaultInput {
            fault: "meteor".into(),
            magnitude: None,
            dependency: None,
            twin: "db".into(),
            at_min: 0,
            duration_min: None,
        });
        inputs.changes.push(ChangeInput::Action {
            twin: "db".into(),
            action: ActionFile::ScaleUp { resource: "gpu".into(), factor: 2.0 },
        });
        let mut lab = LabState::default();
        let problems = lab.set_inputs(&inputs);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("gpu"), "{problems:?}");
        assert!(problems[1].contains("meteor"), "{problems:?}");
        assert!(lab.whatif.changes.is_empty() && lab.chaos.composed.is_empty());
    }
}
