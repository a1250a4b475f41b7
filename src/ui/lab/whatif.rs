//! The lab's what-if: fork the twins, apply changes (actions on a twin, configuration
//! values), run both forward from the end of history and compare with the unchanged
//! baseline, per metric and over time.

use eframe::egui::{self, Color32, RichText};
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::{Run, Section, SectionEnv, short_time, sim_error, ui_dark};
use crate::model::{ActionKind, Resource};
use crate::model::{ConfigValue, Status, TwinId};
use crate::remediation::plan::Candidate;
use crate::scenario::Scenario;
use crate::sim::whatif::{Change, WhatIfReport, WhatIfSpec, what_if};
use crate::sim::{World, WorldConfig};
use crate::ui::command::{Command, Commands};
use crate::ui::theme;

/// Kinds of change offered by the what-if picker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChangeKind {
    ScaleUp,
    ScaleDown,
    ScaleOut,
    Restart,
    SetConfig,
}

impl ChangeKind {
    const ALL: [ChangeKind; 5] =
        [ChangeKind::ScaleUp, ChangeKind::ScaleDown, ChangeKind::ScaleOut, ChangeKind::Restart, ChangeKind::SetConfig];

    fn label(self) -> &'static str {
        match self {
            ChangeKind::ScaleUp => "scale up",
            ChangeKind::ScaleDown => "scale down",
            ChangeKind::ScaleOut => "add replicas",
            ChangeKind::Restart => "restart",
            ChangeKind::SetConfig => "set configuration",
        }
    }
}

/// The what-if's inputs, its run and its last result.
pub struct WhatIfLab {
    /// Hours to simulate.
    pub hours: f64,
    change_kind: ChangeKind,
    resource: Resource,
    factor: f64,
    replicas: u32,
    config_key: String,
    config_value: String,
    /// The changes to rehearse.
    pub changes: Vec<Change>,
    /// The run and its last report.
    pub run: Run<WhatIfReport>,
    /// The last report's changes as plan proposals (made when first shown).
    actions: Option<Vec<Candidate>>,
    series_shown: usize,
}

impl Default for WhatIfLab {
    fn default() -> Self {
        Self {
            hours: 24.0,
            change_kind: ChangeKind::ScaleUp,
            resource: Resource::Cpu,
            factor: 1.5,
            replicas: 1,
            config_key: String::new(),
            config_value: String::new(),
            changes: Vec::new(),
            run: Run::default(),
            actions: None,
            series_shown: 0,
        }
    }
}

impl WhatIfLab {
    /// Starts the what-if of the changes on `scenario` with `seed`.
    pub(super) fn start(
        &mut self,
        scenario: &std::sync::Arc<Scenario>,
        seed: u64,
        ctx: &egui::Context,
    ) -> Result<(), String> {
        let spec =
            WhatIfSpec { hours: self.hours, changes: self.changes.clone(), twins: Vec::new(), record_series: true };
        let scenario = std::sync::Arc::clone(scenario);
        let label = format!("What-if: {} change(s), {} h", spec.changes.len(), spec.hours);
        self.run.start("lab-whatif", label, ctx, move |p| {
            let config = WorldConfig { seed, ..WorldConfig::for_scenario(&scenario) };
            let world = World::new(&scenario, config).map_err(sim_error)?;
            what_if(&world, &spec, &|d, t| p.report(d as usize, t as usize), p.cancel_flag()).map_err(sim_error)
        })
    }

    /// Takes in a finished run: the series the change moved most is shown first.
    pub(super) fn poll(&mut self) -> Option<String> {
        match self.run.poll()? {
            Ok(()) => {
                if let Some(r) = &self.run.result {
                    self.series_shown = r
                        .series
                        .iter()
                        .enumerate()
                        .max_by(|(_, a), (_, b)| relative_change(a).total_cmp(&relative_change(b)))
                        .map_or(0, |(i, _)| i);
                }
                self.actions = None;
                None
            }
            Err(e) => Some(format!("What-if: {e}")),
        }
    }

    /// A what-if asked for without changes (`--lab-run whatif`) scales up `twin` by
    /// the picker's factor.
    pub(super) fn default_change(&mut self, twin: &TwinId) {
        if self.changes.is_empty() {
            let action = ActionKind::ScaleUp { resource: self.resource, factor: self.factor };
            self.changes.push(Change::Action { twin: twin.clone(), action });
        }
    }
}

/// The what-if section.
pub(super) fn whatif_ui(ui: &mut egui::Ui, state: &mut WhatIfLab, env: &SectionEnv<'_>, commands: &mut Commands) {
    let (scenario, selected) = (env.scenario, env.selected);
    ui.label("Fork the twins, change something, run both forward and compare with the unchanged baseline.");
    ui.add_space(4.0);
    match selected.and_then(|id| scenario.graph.twin(id)) {
        None => {
            ui.weak("Select a twin in the graph to change it.");
        }
        Some(twin) => {
            ui.horizontal(|ui| {
                ui.label(RichText::new(twin.id.as_str()).strong());
                egui::ComboBox::from_id_salt("whatif-kind").selected_text(state.change_kind.label()).show_ui(
                    ui,
                    |ui| {
                        for k in ChangeKind::ALL {
                            ui.selectable_value(&mut state.change_kind, k, k.label());
                        }
                    },
                );
            });
            let change = ui
                .horizontal(|ui| match state.change_kind {
                    ChangeKind::ScaleUp | ChangeKind::ScaleDown => {
                        for (r, label) in
                            [(Resource::Cpu, "cpu"), (Resource::Memory, "memory"), (Resource::Disk, "disk")]
                        {
                            ui.radio_value(&mut state.resource, r, label);
                        }
                        ui.label("×");
                        ui.add(egui::DragValue::new(&mut state.factor).range(1.05..=8.0).speed(0.05));
                        let action = if state.change_kind == ChangeKind::ScaleUp {
                            ActionKind::ScaleUp { resource: state.resource, factor: state.factor }
                        } else {
                            ActionKind::ScaleDown { resource: state.resource, factor: state.factor }
                        };
                        Some(Change::Action { twin: twin.id.clone(), action })
                    }
                    ChangeKind::ScaleOut => {
                        ui.add(egui::DragValue::new(&mut state.replicas).range(1..=20).suffix(" replica(s)"));
                        Some(Change::Action {
                            twin: twin.id.clone(),
                            action: ActionKind::ScaleOut { replicas: state.replicas },
                        })
                    }
                    ChangeKind::Restart => Some(Change::Action { twin: twin.id.clone(), action: ActionKind::Restart }),
                    ChangeKind::SetConfig => {
                        // A typed key (a key the twin lacks is checked when the run
                        // starts: a typo is an error, an unmodelled key a warning), or
                        // one picked from the twin's keys and those the engine models.
                        let key_edit = egui::TextEdit::singleline(&mut state.config_key)
                            .desired_width(150.0)
                            .hint_text("e.g. max_connections");
                        let label = ui.label("key");
                        ui.add(key_edit).labelled_by(label.id).on_hover_text("The configuration key to set");
                        egui::ComboBox::from_id_salt("whatif-key").selected_text("keys").width(60.0).show_ui(
                            ui,
                            |ui| {
                                if twin.config.is_empty() {
                                    ui.weak("(this twin has no configuration)");
                                }
                                for (key, value) in twin.config.iter() {
                                    let effect = crate::sim::config::modelled_effect(key)
                                        .unwrap_or("no modelled effect: the comparison would show no difference");
                                    let item =
                                        ui.selectable_label(state.config_key == *key, format!("{key} = {value}"));
                                    if item.on_hover_text(effect).clicked() {
                                        state.config_key = key.clone();
                                        state.config_value = value.to_string();
                                    }
                                }
                                ui.separator();
                                ui.weak("modelled by the simulation");
                                for (keys, effect) in crate::sim::config::MODELLED {
                                    let Some(key) = keys.first().filter(|k| !twin.config.contains_key(**k)) else {
                                        continue;
                                    };
                                    let item = ui.selectable_label(state.config_key == *key, *key);
                                    if item.on_hover_text(*effect).clicked() {
                                        state.config_key = (*key).to_string();
                                    }
                                }
                            },
                        );
                        let label = ui.label("=");
                        ui.add(
                            egui::TextEdit::singleline(&mut state.config_value).desired_width(100.0).hint_text("value"),
                        )
                        .labelled_by(label.id)
                        .on_hover_text("The new value");
                        let key = state.config_key.trim();
                        (!key.is_empty()).then(|| Change::SetConfig {
                            twin: twin.id.clone(),
                            key: key.to_string(),
                            value: ConfigValue::from_text(&state.config_value),
                        })
                    }
                })
                .inner;
            let valid = match &change {
                Some(Change::Action { action, .. }) => action.validate().is_ok(),
                Some(Change::SetConfig { .. }) => true,
                None => false,
            };
            if ui.add_enabled(valid, egui::Button::new("Add change")).clicked()
                && let Some(c) = change
                && !state.changes.contains(&c)
            {
                state.changes.push(c);
            }
        }
    }
    ui.add_space(4.0);
    let mut remove = None;
    for (i, c) in state.changes.iter().enumerate() {
        ui.horizontal(|ui| {
            if ui.small_button("✖").on_hover_text("Remove this change").clicked() {
                remove = Some(i);
            }
            ui.label(c.describe());
        });
    }
    if let Some(i) = remove {
        state.changes.remove(i);
    }
    ui.horizontal(|ui| {
        ui.label("Hours");
        ui.add(egui::DragValue::new(&mut state.hours).range(1.0..=24.0 * 90.0).speed(1.0));
    });
    env.run_ui(ui, Section::WhatIf, "Run what-if", !state.changes.is_empty(), &state.run, commands);
    let Some(report) = &state.run.result else {
        return;
    };
    ui.separator();
    ui.strong(format!("What if {}", report.changes.join("; ")));
    let amber = theme::status_color(Status::Degraded, ui.visuals().dark_mode);
    for warning in &report.warnings {
        ui.colored_label(amber, format!("⚠ {warning}"));
    }
    egui::Grid::new("whatif-summary").num_columns(3).striped(true).show(ui, |ui| {
        ui.label("");
        ui.strong("baseline");
        ui.strong("with the change");
        ui.end_row();
        // `+ 0.0`: no "-0" for a zero that came out of a subtraction.
        ui.label("violation minutes");
        ui.label(format!("{:.0}", report.baseline.violation_minutes + 0.0));
        ui.label(format!("{:.0}", report.variant.violation_minutes + 0.0));
        ui.end_row();
        ui.label("SLO breaches");
        ui.label(report.baseline.slo_breaches.to_string());
        ui.label(report.variant.slo_breaches.to_string());
        ui.end_row();
        ui.label("actions");
        ui.label(report.baseline.actions.len().to_string());
        ui.label(report.variant.actions.len().to_string());
        ui.end_row();
        ui.label("monthly cost change");
        ui.label(format!("{:+.2}", report.baseline.cost + 0.0));
        ui.label(format!("{:+.2}", report.variant.cost + 0.0));
        ui.end_row();
    });
    let actions = state.actions.get_or_insert_with(|| report.rehearsed_actions(&scenario.graph));
    if !actions.is_empty() {
        ui.horizontal(|ui| {
            if actions.iter().all(|c| (env.planned)(&c.id)) {
                ui.label("✔ These changes are approved in the plan (Remediation tab).");
            } else if ui
                .button("Approve for the plan")
                .on_hover_text(
                    "Add the changes to the plan as approved actions, with this comparison as their evidence \
                     (Remediation tab → Export plan)",
                )
                .clicked()
            {
                commands.push(Command::AddRehearsed(actions.clone()));
            }
        });
    }
    if !report.series.is_empty() {
        let shown = state.series_shown.min(report.series.len() - 1);
        let current = &report.series[shown];
        egui::ComboBox::from_id_salt("whatif-series")
            .selected_text(format!("{} {}", current.twin, current.metric))
            .show_ui(ui, |ui| {
                for (i, p) in report.series.iter().enumerate() {
                    ui.selectable_value(&mut state.series_shown, i, format!("{} {}", p.twin, p.metric));
                }
            });
        let pair = &report.series[state.series_shown.min(report.series.len() - 1)];
        let points = |values: &[Option<f64>]| -> PlotPoints {
            pair.times.iter().zip(values).filter_map(|(t, v)| v.map(|v| [*t as f64, v])).collect()
        };
        Plot::new(("whatif-plot", pair.twin.as_str(), pair.metric.as_str()))
            .height(200.0)
            .legend(Legend::default())
            .x_axis_formatter(|mark, _| short_time(mark.value))
            .show(ui, |p| {
                p.line(Line::new("baseline", points(&pair.baseline)).color(Color32::GRAY));
                p.line(
                    Line::new("with the change", points(&pair.variant)).color(theme::series_color(ui_dark(p.ctx()))),
                );
            });
    }
    ui.strong("Per-metric deltas");
    egui::Grid::new("whatif-deltas").num_columns(6).striped(true).show(ui, |ui| {
        for h in ["twin", "metric", "baseline mean", "what-if mean", "Δ mean", "Δ max"] {
            ui.strong(h);
        }
        ui.end_row();
        let show = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.2}"));
        // What changed most first; ties keep the report's (twin, metric) order.
        let mut rows: Vec<&crate::sim::whatif::MetricComparison> = report.metrics.iter().collect();
        let moved = |m: &crate::sim::whatif::MetricComparison| match (m.delta_mean(), m.baseline_mean) {
            (Some(d), Some(b)) => d.abs() / b.abs().max(1e-9),
            (Some(d), None) => d.abs(),
            _ => 0.0,
        };
        rows.sort_by(|a, b| moved(b).total_cmp(&moved(a)));
        for m in rows {
            ui.label(m.twin.as_str());
            ui.label(&m.metric);
            ui.label(show(m.baseline_mean));
            ui.label(show(m.variant_mean));
            ui.label(m.delta_mean().map_or("–".into(), |d| format!("{d:+.2}")));
            ui.label(m.delta_max().map_or("–".into(), |d| format!("{d:+.2}")));
            ui.end_row();
        }
    });
}

/// How much the variant's mean differs from the baseline's, relative to it.
fn relative_change(pair: &crate::sim::whatif::SeriesPair) -> f64 {
    let mean = |v: &[Option<f64>]| {
        let (sum, n) = v.iter().flatten().fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
        (n > 0).then(|| sum / n as f64)
    };
    match (mean(&pair.baseline), mean(&pair.variant)) {
        (Some(b), Some(v)) => (v - b).abs() / b.abs().max(1e-9),
        (None, Some(_)) | (Some(_), None) => f64::INFINITY,
        (None, None) => 0.0,
    }
}
