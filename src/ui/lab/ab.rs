//! The lab's A/B test: two strategy files over seeded replications (the same seeds for
//! both arms), compared per objective with a paired t-test.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui::{self, RichText};
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::{LabFile, Run, Section, SectionEnv, browse_button, sim_error};
use crate::scenario::Scenario;
use crate::sim::ab::{AbReport, AbSpec, ab_test};
use crate::ui::command::Commands;

/// The A/B test's inputs, its run and its last result.
pub struct AbLab {
    pub(super) a_path: String,
    pub(super) b_path: String,
    pub(super) runs: u32,
    pub(super) ab_hours: f64,
    /// The run and its last report.
    pub run: Run<AbReport>,
}

impl Default for AbLab {
    fn default() -> Self {
        Self {
            a_path: "scenarios/strategies/remediate.ron".into(),
            b_path: "scenarios/strategies/hands-off.ron".into(),
            runs: 10,
            ab_hours: 24.0,
            run: Run::default(),
        }
    }
}

impl AbLab {
    /// The text of a strategy's path field.
    pub(super) fn path(&self, which: LabFile) -> &str {
        if which == LabFile::StrategyB { &self.b_path } else { &self.a_path }
    }

    /// The editable text of a strategy's path field.
    pub(super) fn path_mut(&mut self, which: LabFile) -> &mut String {
        if which == LabFile::StrategyB { &mut self.b_path } else { &mut self.a_path }
    }

    /// Starts the replications of both strategies on `scenario` from `seed`.
    pub(super) fn start(
        &mut self,
        scenario: &Arc<Scenario>,
        seed: u64,
        ctx: &eframe::egui::Context,
    ) -> Result<(), String> {
        let (a_path, b_path) = (PathBuf::from(self.a_path.trim()), PathBuf::from(self.b_path.trim()));
        let spec = AbSpec { runs: self.runs, seed, hours: self.ab_hours, objective: None };
        let scenario = Arc::clone(scenario);
        let label = format!("A/B test: {} runs of {} h", spec.runs, spec.hours);
        self.run.start("lab-ab", label, ctx, move |p| {
            let load = |path: &PathBuf| {
                crate::io::strategy::load_strategy(path, &scenario.graph).map_err(|e| format!("{e:#}"))
            };
            let (a, b) = (load(&a_path)?, load(&b_path)?);
            ab_test(&scenario, &a, &b, &spec, &|d, t| p.report(d as usize, t as usize), p.cancel_flag())
                .map_err(sim_error)
        })
    }

    /// Takes in a finished run; the message of a failed one.
    pub(super) fn poll(&mut self) -> Option<String> {
        self.run.poll()?.err().map(|e| format!("A/B test: {e}"))
    }
}

/// The A/B section.
pub(super) fn ab_ui(ui: &mut egui::Ui, state: &mut AbLab, env: &SectionEnv<'_>, commands: &mut Commands) {
    ui.label("Run two strategy files over seeded replications (the same seeds for both arms) and compare.");
    egui::Grid::new("ab-inputs").num_columns(2).show(ui, |ui| {
        for which in [LabFile::StrategyA, LabFile::StrategyB] {
            ui.label(which.title());
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(state.path_mut(which)).desired_width(320.0));
                browse_button(ui, which, true, commands);
            });
            ui.end_row();
        }
        ui.label("Runs");
        ui.add(egui::DragValue::new(&mut state.runs).range(2..=500));
        ui.end_row();
        ui.label("Hours per run");
        ui.add(egui::DragValue::new(&mut state.ab_hours).range(1.0..=24.0 * 30.0));
        ui.end_row();
    });
    let ready = !state.a_path.trim().is_empty() && !state.b_path.trim().is_empty();
    env.run_ui(ui, Section::Ab, "Run A/B test", ready, &state.run, commands);
    let Some(report) = &state.run.result else {
        return;
    };
    ui.separator();
    ui.strong(format!(
        "A = {}, B = {}: {} runs of {} h from seed {}",
        report.a, report.b, report.runs, report.hours, report.seed
    ));
    egui::Grid::new("ab-results").num_columns(5).striped(true).show(ui, |ui| {
        for h in ["objective", "A mean [95% CI]", "B mean [95% CI]", "A − B", "paired p"] {
            ui.strong(h);
        }
        ui.end_row();
        for c in &report.comparisons {
            ui.label(c.objective.as_str());
            // `+ 0.0`: no "-0.0" for a zero that came out of a subtraction.
            let interval = |m: f64, (lo, hi): (f64, f64)| format!("{:.1} [{:.1}, {:.1}]", m + 0.0, lo + 0.0, hi + 0.0);
            ui.label(interval(c.a.mean, c.a.ci95));
            ui.label(interval(c.b.mean, c.b.ci95));
            ui.label(format!("{:+.1}", c.mean_difference + 0.0));
            let p = if c.p_value.is_finite() { format!("{:.4}", c.p_value) } else { "–".into() };
            ui.label(if c.significant { RichText::new(format!("{p} *")).strong() } else { RichText::new(p) });
            ui.end_row();
        }
    });
    match &report.winner {
        Some(w) => ui.label(
            RichText::new(format!("Winner on {}: {w} (p < 0.05, paired t-test)", report.objective.as_str())).strong(),
        ),
        None => ui.label(format!("No significant difference on {} (p ≥ 0.05).", report.objective.as_str())),
    };
    if let Some(c) = report.declared() {
        // Each replication's objective, A against B: common random numbers pair them.
        let a: PlotPoints = c.a.values.iter().enumerate().map(|(i, v)| [i as f64, *v]).collect();
        let b: PlotPoints = c.b.values.iter().enumerate().map(|(i, v)| [i as f64, *v]).collect();
        Plot::new("ab-plot").height(160.0).legend(Legend::default()).show(ui, |p| {
            p.line(Line::new(format!("A: {}", report.a), a));
            p.line(Line::new(format!("B: {}", report.b), b));
        });
        ui.weak(format!("{} per replication", c.objective.as_str()));
    }
}
