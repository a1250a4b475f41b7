//! The lab's chaos experiments: an experiment file, or faults composed from the
//! catalogue on the selected twin, run against a steady-state hypothesis with optional
//! remediation; the blast radius is replayed on the graph along the experiment's time.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui::{self, RichText};
use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};

use super::{LabFile, Run, Section, SectionEnv, browse_button, sim_error, ui_dark};
use crate::model::{Status, TwinId};
use crate::remediation::plan::Candidate;
use crate::scenario::Scenario;
use crate::sim::EventKind;
use crate::sim::chaos::{ChaosReport, ComposedFault, composed_experiment, run_experiment};
use crate::sim::fault::FaultType;
use crate::ui::command::{Command, Commands};
use crate::ui::theme;

/// Seconds a chaos replay takes from the start of the experiment to its end.
const REPLAY_SECS: f64 = 12.0;

/// How a twin looks on the graph at the chaos cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChaosMark {
    /// A fault is active on it but it still serves.
    Faulted,
    /// It is down (crashed, partitioned, its host dead, restarting).
    Down,
}

/// The chaos section's inputs, its run, its last result and the replay of it.
pub struct ChaosLab {
    pub(super) use_file: bool,
    pub(super) experiment_path: String,
    fault_choice: FaultType,
    magnitude: f64,
    at_min: u32,
    duration_min: u32,
    until_rollback: bool,
    pub(super) composed: Vec<ComposedFault>,
    pub(super) chaos_hours: f64,
    pub(super) remediate: bool,
    pub(super) strategy_path: String,
    /// The run and its last report.
    pub run: Run<ChaosReport>,
    /// The last report's remediation actions as plan proposals (made when first shown).
    actions: Option<Vec<Candidate>>,
    /// The experiment time the graph shows.
    pub cursor: i64,
    /// Replaying the experiment: (input time when started, cursor then).
    replay: Option<(f64, i64)>,
    /// Changes with every new report (the graph's colours depend on it).
    generation: u64,
}

impl Default for ChaosLab {
    fn default() -> Self {
        Self {
            use_file: true,
            experiment_path: "scenarios/experiments/db-primary-outage.ron".into(),
            fault_choice: FaultType::Crash,
            magnitude: 60.0,
            at_min: 20,
            duration_min: 60,
            until_rollback: true,
            composed: Vec::new(),
            chaos_hours: 2.0,
            remediate: true,
            strategy_path: "scenarios/strategies/remediate.ron".into(),
            run: Run::default(),
            actions: None,
            cursor: 0,
            replay: None,
            generation: 0,
        }
    }
}

impl ChaosLab {
    /// The text of a path field.
    pub(super) fn path(&self, which: LabFile) -> &str {
        if which == LabFile::Remediation { &self.strategy_path } else { &self.experiment_path }
    }

    /// The editable text of a path field.
    pub(super) fn path_mut(&mut self, which: LabFile) -> &mut String {
        if which == LabFile::Remediation { &mut self.strategy_path } else { &mut self.experiment_path }
    }

    /// Starts the experiment (the file's, or the composed one) on `scenario`.
    pub(super) fn start(&mut self, scenario: &Arc<Scenario>, seed: u64, ctx: &egui::Context) -> Result<(), String> {
        let scenario = Arc::clone(scenario);
        let file = self.use_file.then(|| PathBuf::from(self.experiment_path.trim()));
        let composed = composed_experiment(&self.composed, self.chaos_hours);
        let strategy = self.remediate.then(|| PathBuf::from(self.strategy_path.trim()));
        let use_file_remediation = self.use_file && self.remediate;
        self.run.start("lab-chaos", "Chaos experiment", ctx, move |p| {
            let mut experiment = match &file {
                Some(path) => {
                    crate::io::experiment::load_experiment(path, &scenario.graph).map_err(|e| format!("{e:#}"))?
                }
                None => composed,
            };
            // With a file, its own remediation applies unless remediation is off.
            if !use_file_remediation {
                experiment.remediation = match &strategy {
                    Some(path) => {
                        Some(crate::io::strategy::load_strategy(path, &scenario.graph).map_err(|e| format!("{e:#}"))?)
                    }
                    None => None,
                };
            }
            run_experiment(&scenario, &experiment, seed, &|d, t| p.report(d as usize, t as usize), p.cancel_flag())
                .map_err(sim_error)
        })
    }

    /// Takes in a finished run: the replay starts at the first fault.
    pub(super) fn poll(&mut self) -> Option<String> {
        match self.run.poll()? {
            Ok(()) => {
                if let Some(r) = &self.run.result {
                    self.cursor = r.first_fault_at.unwrap_or(r.start);
                }
                self.replay = None;
                self.actions = None;
                self.generation += 1;
                None
            }
            Err(e) => Some(format!("Chaos experiment: {e}")),
        }
    }

    /// Changes whenever the chaos marks may (the cursor moved or a new result came).
    pub(super) fn key(&self) -> Option<(i64, u64)> {
        self.run.result.as_ref().map(|_| (self.cursor, self.generation))
    }

    /// True while the experiment is being replayed on the graph.
    pub(super) fn is_replaying(&self) -> bool {
        self.replay.is_some()
    }

    /// The twins to mark on the graph at the chaos cursor.
    pub(super) fn overlay(&self) -> Option<BTreeMap<TwinId, ChaosMark>> {
        let report = self.run.result.as_ref()?;
        let t = self.cursor;
        let mut marks = BTreeMap::new();
        let mut down: BTreeMap<&TwinId, bool> = BTreeMap::new();
        let mut faults: BTreeMap<&TwinId, i32> = BTreeMap::new();
        for e in report.summary.events.iter().filter(|e| e.at <= t) {
            match &e.what {
                EventKind::Down(_) => {
                    down.insert(&e.twin, true);
                }
                EventKind::Up => {
                    down.insert(&e.twin, false);
                }
                EventKind::FaultStarted(_) => *faults.entry(&e.twin).or_default() += 1,
                EventKind::FaultEnded(_) => *faults.entry(&e.twin).or_default() -= 1,
                EventKind::OutOfMemory | EventKind::ActionTookEffect(_) => {}
            }
        }
        for (twin, n) in faults {
            if n > 0 {
                marks.insert(twin.clone(), ChaosMark::Faulted);
            }
        }
        for (twin, is_down) in down {
            if is_down {
                marks.insert(twin.clone(), ChaosMark::Down);
            }
        }
        // Twins failing through their dependencies (not down themselves) are the
        // spreading part of the blast radius: the samples name them.
        if let Some(sample) = report.timeline.iter().rev().find(|s| s.at <= t) {
            for twin in &sample.violating_twins {
                marks.entry(twin.clone()).or_insert(ChaosMark::Faulted);
            }
        }
        Some(marks)
    }
}

/// The chaos section.
pub(super) fn chaos_ui(ui: &mut egui::Ui, state: &mut ChaosLab, env: &SectionEnv<'_>, commands: &mut Commands) {
    let scenario = env.scenario;
    ui.label("Break something on purpose: does the steady state hold, is it detected, does it recover?");
    ui.horizontal(|ui| {
        ui.radio_value(&mut state.use_file, true, "Experiment file");
        ui.radio_value(&mut state.use_file, false, "Compose from the catalogue");
    });
    if state.use_file {
        ui.horizontal(|ui| {
            ui.add(egui::TextEdit::singleline(&mut state.experiment_path).desired_width(360.0));
            browse_button(ui, LabFile::Experiment, true, commands);
        });
    } else {
        compose_ui(ui, state, scenario, env.selected);
    }
    ui.horizontal(|ui| {
        ui.checkbox(&mut state.remediate, "Remediate with");
        ui.add_enabled(state.remediate, egui::TextEdit::singleline(&mut state.strategy_path).desired_width(280.0));
        let enabled = state.remediate;
        browse_button(ui, LabFile::Remediation, enabled, commands);
    });
    if state.use_file && state.remediate {
        ui.weak("(an experiment file that names its own remediation strategy uses it)");
    }
    let ready = state.use_file || !state.composed.is_empty();
    env.run_ui(ui, Section::Chaos, "Run experiment", ready, &state.run, commands);
    let Some(report) = &state.run.result else {
        return;
    };
    ui.separator();
    ui.strong(&report.title);
    let verdict = |held: bool| if held { "held" } else { "deviated" };
    let minutes = |s: Option<i64>| s.map_or("–".to_string(), |s| format!("{:.1} min", s as f64 / 60.0));
    egui::Grid::new("chaos-results").num_columns(2).striped(true).show(ui, |ui| {
        ui.label("hypothesis before");
        ui.label(verdict(report.before.held));
        ui.end_row();
        ui.label("during the method");
        ui.label(if report.deviated { "deviated" } else { "held" });
        ui.end_row();
        ui.label("hypothesis after");
        ui.label(RichText::new(verdict(report.after.held)).strong());
        ui.end_row();
        ui.label("time to detect");
        ui.label(minutes(report.time_to_detect_secs));
        ui.end_row();
        ui.label("time to recover");
        ui.label(minutes(report.time_to_recover_secs));
        ui.end_row();
        ui.label("resilience score");
        ui.label(format!("{:.3}", report.resilience_score));
        ui.end_row();
        ui.label("remediation");
        ui.label(report.remediation.as_deref().unwrap_or("off"));
        ui.end_row();
        ui.label("blast radius");
        ui.label(format!(
            "{} twins reached ({} predicted)",
            report.blast_radius_observed.len(),
            report.blast_radius_predicted.len()
        ));
        ui.end_row();
    });
    let actions = state.actions.get_or_insert_with(|| report.rehearsed_actions(&scenario.graph));
    if !actions.is_empty() {
        ui.add_space(4.0);
        ui.strong(format!("Remediation in this experiment ({} actions)", actions.len()));
        let since = report.first_fault_at.unwrap_or(report.start);
        egui::Grid::new("chaos-actions").num_columns(4).striped(true).show(ui, |ui| {
            for c in actions.iter() {
                // When the loop first started it, from the first fault (clicking moves the
                // replay there).
                let at = report.summary.actions.iter().find(|a| a.twin == c.target && a.kind == c.kind).map(|a| a.at);
                let when = at.map_or_else(String::new, |t| format!("{:+.0} min", (t - since) as f64 / 60.0));
                if ui.link(when).on_hover_text("Show this moment on the graph").clicked()
                    && let Some(t) = at
                {
                    state.cursor = t.clamp(report.start, report.end);
                    state.replay = None;
                }
                ui.label(c.target.as_str());
                ui.label(c.kind.to_string()).on_hover_text(c.evidence.join("\n"));
                if (env.planned)(&c.id) {
                    ui.label("✔ in the plan");
                } else if ui
                    .small_button("Add to plan")
                    .on_hover_text("Approve this action for the plan, with the experiment as its evidence")
                    .clicked()
                {
                    commands.push(Command::AddRehearsed(vec![c.clone()]));
                }
                ui.end_row();
            }
        });
    }
    ui.add_space(4.0);
    ui.label("Experiment time (the graph shows faulted and down twins at this moment):");
    let (start, end) = (report.start, report.end);
    let res = scenario.resolution_secs.max(1);
    let now = ui.input(|i| i.time);
    if let Some((t0, from)) = state.replay {
        // The whole experiment plays in REPLAY_SECS; the graph follows the cursor.
        let at = from + ((now - t0) / REPLAY_SECS * (end - start) as f64) as i64;
        state.cursor = ((at - start).div_euclid(res) * res + start).min(end);
        if state.cursor >= end {
            state.replay = None;
        }
        ui.ctx().request_repaint();
    }
    ui.horizontal(|ui| {
        let playing = state.replay.is_some();
        let label = if playing { "⏸ Pause" } else { "▶ Replay" };
        if ui.button(label).on_hover_text("Watch the faults spread over the graph, from the cursor on").clicked() {
            state.replay = if playing {
                None
            } else {
                let from = if state.cursor >= end { start } else { state.cursor };
                Some((now, from))
            };
        }
        ui.spacing_mut().slider_width = 300.0;
        let slider = ui.add(
            egui::Slider::new(&mut state.cursor, start..=end)
                .step_by(res as f64)
                .custom_formatter(move |v, _| format!("+{:.0} min", (v - start as f64) / 60.0)),
        );
        if slider.dragged() || slider.changed() {
            state.replay = None;
        }
    });
    let down: PlotPoints = report.timeline.iter().map(|s| [s.at as f64, s.down as f64]).collect();
    let violating: PlotPoints = report.timeline.iter().map(|s| [s.at as f64, s.violating as f64]).collect();
    let cursor = state.cursor as f64;
    let response = Plot::new("chaos-timeline")
        .height(150.0)
        .legend(Legend::default())
        .x_axis_formatter(move |mark, _| format!("+{:.0}m", (mark.value - start as f64) / 60.0))
        .show(ui, |p| {
            p.line(Line::new("twins down", down).color(theme::status_color(Status::Down, ui_dark(p.ctx()))));
            let dark = ui_dark(p.ctx());
            p.line(Line::new("policy groups violated", violating).color(theme::status_color(Status::Degraded, dark)));
            p.vline(VLine::new("cursor", cursor).color(theme::cursor_color(dark)));
            p.pointer_coordinate()
        });
    if response.response.clicked()
        && let Some(at) = response.inner
    {
        let t = (at.x as i64 - start).div_euclid(res) * res + start;
        state.cursor = t.clamp(start, end);
        state.replay = None;
    }
    ui.collapsing(format!("Events ({})", report.summary.events.len()), |ui| {
        for e in report.summary.events.iter().take(200) {
            let what = match &e.what {
                EventKind::Down(why) => format!("down: {why}"),
                EventKind::Up => "up".into(),
                EventKind::FaultStarted(f) => format!("fault started: {f}"),
                EventKind::FaultEnded(f) => format!("fault ended: {f}"),
                EventKind::OutOfMemory => "out of memory".into(),
                EventKind::ActionTookEffect(a) => format!("took effect: {a}"),
            };
            ui.label(format!("+{:.0} min  {}  {what}", (e.at - start) as f64 / 60.0, e.twin));
        }
    });
}

/// Composing faults from the catalogue on the selected twin.
fn compose_ui(ui: &mut egui::Ui, state: &mut ChaosLab, scenario: &Scenario, selected: Option<&TwinId>) {
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("chaos-fault").selected_text(state.fault_choice.label()).show_ui(ui, |ui| {
            for f in FaultType::ALL {
                if ui.selectable_value(&mut state.fault_choice, f, f.label()).clicked()
                    && let Some(m) = f.magnitude()
                {
                    state.magnitude = m.default;
                }
            }
        });
        if let Some(m) = state.fault_choice.magnitude() {
            ui.add(egui::DragValue::new(&mut state.magnitude).range(m.range).suffix(format!(" {}", m.unit)));
        }
    });
    ui.horizontal(|ui| {
        ui.label("at +");
        ui.add(egui::DragValue::new(&mut state.at_min).range(0..=24 * 60).suffix(" min"));
        ui.checkbox(&mut state.until_rollback, "until the end");
        if !state.until_rollback {
            ui.label("for");
            ui.add(egui::DragValue::new(&mut state.duration_min).range(1..=24 * 60).suffix(" min"));
        }
    });
    match selected.and_then(|id| scenario.graph.twin(id)) {
        None => {
            ui.weak("Select a twin in the graph to put a fault on it.");
        }
        Some(twin) => {
            let dependency = scenario.graph.dependencies(&twin.id).into_iter().map(|(t, _)| t.id.clone()).next();
            let fault = state.fault_choice.fault(state.magnitude, dependency);
            ui.horizontal(|ui| {
                let add = ui.add_enabled(fault.is_ok(), egui::Button::new(format!("Add fault on {}", twin.id)));
                if let Err(e) = &fault {
                    ui.weak(e.to_string());
                }
                if add.clicked()
                    && let Ok(kind) = fault
                {
                    state.composed.push(ComposedFault {
                        kind,
                        twin: twin.id.clone(),
                        at_min: state.at_min,
                        duration_min: (!state.until_rollback).then_some(state.duration_min),
                    });
                }
            });
        }
    }
    let mut remove = None;
    for (i, f) in state.composed.iter().enumerate() {
        ui.horizontal(|ui| {
            if ui.small_button("✖").on_hover_text("Remove this fault").clicked() {
                remove = Some(i);
            }
            let until = f.duration_min.map_or("until the end".to_string(), |d| format!("for {d} min"));
            ui.label(format!("{} on {} at +{} min, {until}", f.kind, f.twin, f.at_min));
        });
    }
    if let Some(i) = remove {
        state.composed.remove(i);
    }
    ui.horizontal(|ui| {
        ui.label("Experiment length");
        ui.add(egui::DragValue::new(&mut state.chaos_hours).range(0.5..=72.0).speed(0.25).suffix(" h"));
    });
    ui.weak("Steady state: every twin serves (up = 1) and no load balancer fails more than 5% of requests.");
}
