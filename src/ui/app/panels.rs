//! The layout of the window: menu, status bar, timeline, the right-hand tabs, the
//! graph and the app's dialogs. Panels read the state and push [`Command`]s; nothing
//! here changes the workbench's state or starts work.

use std::path::PathBuf;

use eframe::egui::{self, RichText};

use super::{Current, RightTab, WorkbenchApp};
use crate::io::time::format_short;
use crate::remediation::assessment::AtTime;
use crate::ui::command::Command;
use crate::ui::connect::{connect_dialog_ui, sync_status_ui};
use crate::ui::files::FilePurpose;
use crate::ui::findings::{FindingsInput, findings_ui};
use crate::ui::graph_panel::graph_ui;
use crate::ui::inspector::{InspectorInput, inspector_ui};
use crate::ui::jobs::Source;
use crate::ui::lab::{LabContext, lab_ui};
use crate::ui::learn::{TwinsInfo, save_dialog_ui};
use crate::ui::policy_editor::editor_ui as policy_editor_ui;
use crate::ui::remediation::{RemediationInput, remediation_ui};
use crate::ui::theme;
use crate::ui::timeline::timeline_ui;

impl WorkbenchApp {
    pub(super) fn menu_ui(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.add(egui::Button::new("Open…").shortcut_text("Ctrl+O")).clicked() {
                    self.commands.push(Command::PickFile(FilePurpose::Scenario));
                }
                if ui.add(egui::Button::new("Open path…").shortcut_text("Ctrl+L")).clicked() {
                    self.commands.push(Command::OpenPathDialog);
                }
                ui.menu_button("Open recent", |ui| {
                    if self.settings.recent.is_empty() {
                        ui.weak("Nothing yet");
                    }
                    for path in self.settings.recent.clone() {
                        if ui.button(path.display().to_string()).clicked() {
                            self.commands.push(Command::Open(Source::from_path(path)));
                        }
                    }
                });
                if ui.button("Open default scenario").clicked() {
                    self.commands.push(Command::Open(Source::Default));
                }
                ui.separator();
                if ui.button("Open workspace…").clicked() {
                    self.commands.push(Command::PickFile(FilePurpose::OpenWorkspace));
                }
                let have = self.current.is_some();
                let save = egui::Button::new("Save workspace").shortcut_text("Ctrl+S");
                let hint = self.workspace_path.as_ref().map_or_else(
                    || "Save the decisions, edits, lab inputs and view to a workspace file".to_string(),
                    |p| format!("Save to {}", p.display()),
                );
                if ui.add_enabled(have, save).on_hover_text(hint).clicked() {
                    self.commands.push(Command::SaveWorkspace(None));
                }
                if ui.add_enabled(have, egui::Button::new("Save workspace as…").shortcut_text("Ctrl+Shift+S")).clicked()
                {
                    self.commands.push(Command::PickFile(FilePurpose::SaveWorkspace));
                }
                ui.separator();
                self.live.file_menu_ui(ui, self.current.is_some(), &mut self.commands);
                let learned = self.current.as_ref().is_some_and(|c| c.models.learned > 0);
                let save = ui.add_enabled(learned, egui::Button::new("Save learned scenario…")).on_hover_text(
                    "Write the scenario with the workload models learned from its history (Lab → Learn twins)",
                );
                if save.clicked() {
                    self.commands.push(Command::PickFile(FilePurpose::SaveLearned));
                }
                ui.separator();
                if ui.add(egui::Button::new("Quit").shortcut_text("Ctrl+Q")).clicked() {
                    self.commands.push(Command::Quit);
                }
            });
            ui.menu_button("Edit", |ui| {
                let (undo, redo) = (self.history.undo_name(), self.history.redo_name());
                let label = undo.map_or_else(|| "Undo".to_string(), |n| format!("Undo {n}"));
                if ui.add_enabled(undo.is_some(), egui::Button::new(label).shortcut_text("Ctrl+Z")).clicked() {
                    self.commands.push(Command::Undo);
                }
                let label = redo.map_or_else(|| "Redo".to_string(), |n| format!("Redo {n}"));
                if ui.add_enabled(redo.is_some(), egui::Button::new(label).shortcut_text("Ctrl+Shift+Z")).clicked() {
                    self.commands.push(Command::Redo);
                }
            });
            ui.menu_button("Policies", |ui| {
                if ui.add(egui::Button::new("Edit policies…").shortcut_text("Ctrl+P")).clicked() {
                    self.commands.push(Command::EditPolicies);
                }
                if ui.button("Open policy file…").clicked() {
                    self.commands.push(Command::PickFile(FilePurpose::Policy));
                }
                ui.separator();
                if let Some(c) = &self.current {
                    ui.weak(format!("{} policies in force", c.policies.len()));
                }
            });
            ui.menu_button("View", |ui| {
                let label = if self.settings.dark_mode { "Light theme" } else { "Dark theme" };
                if ui.add(egui::Button::new(label).shortcut_text("Ctrl+T")).clicked() {
                    self.commands.push(Command::ToggleTheme);
                }
                if ui.button("Whole range in plots").clicked() {
                    self.inspector.reset_view = true;
                }
            });
            ui.menu_button("Help", |ui| {
                if ui.add(egui::Button::new("Keyboard shortcuts").shortcut_text("F1")).clicked() && !self.dialogs.help {
                    self.commands.push(Command::ToggleHelp);
                }
            });
            if let Some(c) = &self.current {
                ui.separator();
                ui.label(RichText::new(&c.scenario.name).strong());
                ui.weak(&c.scenario.description);
            }
        });
    }

    pub(super) fn status_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            match &self.current {
                Some(c) => {
                    let stats = c.scenario.telemetry.stats();
                    ui.label(format!(
                        "{} twins · {} edges · {} policies",
                        c.scenario.graph.twin_count(),
                        c.scenario.graph.edge_count(),
                        c.scenario.policies.len()
                    ));
                    ui.separator();
                    if c.history_ready {
                        ui.label(format!(
                            "{} samples in {} series · {:.1} days at {} s · {:.2} bytes/sample",
                            stats.samples,
                            stats.series,
                            c.scenario.history_days(),
                            c.scenario.resolution_secs,
                            stats.bytes_per_sample()
                        ));
                        let degraded = c.violations.keys().count();
                        ui.separator();
                        ui.label(format!("{degraded} twins violated a rule at some point"));
                    }
                }
                None => {
                    ui.label("No scenario loaded");
                }
            }
            // Live connect (src/ui/connect.rs): the source's sync status.
            let live_action = self.live.handle.as_ref().and_then(|h| {
                ui.separator();
                sync_status_ui(ui, h)
            });
            self.commands.extend(live_action.map(Command::Sync));
            self.analyses.status_ui(ui);
            if let Some((reason, progress)) = self.learning.progress() {
                ui.separator();
                crate::ui::theme::spinner(ui);
                ui.label(reason.label());
                ui.add(egui::ProgressBar::new(progress).desired_width(120.0).show_percentage());
                if ui.small_button("Cancel").on_hover_text("Stop learning; the twins keep their models").clicked() {
                    self.commands.push(Command::CancelLearning);
                }
            }
            if let Some(job) = &self.save_job {
                ui.separator();
                crate::ui::theme::spinner(ui);
                ui.label(&job.label);
            }
            if let Some(job) = &self.job {
                ui.separator();
                crate::ui::theme::spinner(ui);
                ui.label(format!("Loading {}", job.source.label()));
                ui.add(egui::ProgressBar::new(job.progress()).desired_width(160.0).show_percentage());
                if ui.small_button("Cancel").clicked() {
                    job.cancel();
                }
            }
        });
    }

    pub(super) fn dialogs_ui(&mut self, ctx: &egui::Context) {
        // Live connect (src/ui/connect.rs): the Connect and Save snapshot windows.
        connect_dialog_ui(ctx, &mut self.live.dialog, &mut self.commands);
        self.live.snapshot_dialog_ui(ctx, self.current.is_some(), &mut self.commands);
        if let Some(path) = save_dialog_ui(ctx, &mut self.dialogs.save_learned) {
            self.commands.push(Command::SaveLearned(path));
        }
        if let Some(path) = crate::ui::files::save_path_window(
            ctx,
            "Save workspace as",
            "A workspace file (.ron): the scenario's path, policy edits, decisions, rehearsed plan entries, lab \
             inputs and the view.",
            "Workspace file",
            "Save workspace",
            &mut self.dialogs.save_workspace,
        ) {
            self.commands.push(Command::SaveWorkspace(Some(path)));
        }
        if let Some(mut text) = self.dialogs.open_path.take() {
            let mut open = true;
            let mut submit = false;
            egui::Window::new("Open path").collapsible(false).resizable(false).open(&mut open).show(ctx, |ui| {
                ui.label("Scenario or workspace (.ron), telemetry (.csv, .parquet) or log mapping (.yaml) file:");
                let edit = ui
                    .add(egui::TextEdit::singleline(&mut text).desired_width(420.0).hint_text("scenarios/webshop.ron"));
                edit.request_focus();
                submit = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.horizontal(|ui| {
                    submit |= ui.button("Open").clicked();
                });
            });
            if submit && !text.trim().is_empty() {
                self.commands.push(Command::Open(Source::from_path(PathBuf::from(text.trim()))));
            } else if open {
                self.dialogs.open_path = Some(text);
            }
        }
        if self.dialogs.help {
            let mut open = true;
            egui::Window::new("Keyboard shortcuts").open(&mut open).resizable(false).show(ctx, |ui| {
                egui::Grid::new("shortcuts").num_columns(2).striped(true).show(ui, |ui| {
                    for (keys, what) in [
                        ("Ctrl+O", "Open a scenario, workspace or telemetry file"),
                        ("Ctrl+S", "Save the workspace (Ctrl+Shift+S: save as)"),
                        ("Ctrl+Z", "Undo a decision, policy edit or lab input (Ctrl+Shift+Z: redo)"),
                        ("Ctrl+L", "Open a file by typing its path"),
                        ("Ctrl+T", "Toggle dark/light theme"),
                        ("Ctrl+F", "Search twins in the graph"),
                        ("Ctrl+P", "Edit policies (YAML, JSON or RON; re-evaluated as you type)"),
                        ("Space", "Play / pause the timeline"),
                        ("Left / Right", "Move the time cursor by an hour (Shift: a day)"),
                        ("Home / End", "Start of history / now"),
                        ("Esc", "Clear the selection"),
                        ("F1", "This help"),
                        ("Ctrl+Q", "Quit"),
                    ] {
                        ui.label(RichText::new(keys).monospace().strong());
                        ui.label(what);
                        ui.end_row();
                    }
                });
                ui.separator();
                ui.label("Drop a .ron scenario or a .csv/.parquet telemetry file on the window to open it.");
            });
            self.dialogs.help = open;
        }
    }

    pub(super) fn central_ui(&mut self, ui: &mut egui::Ui) {
        let Some(current) = &self.current else {
            ui.centered_and_justified(|ui| {
                if self.job.is_some() {
                    crate::ui::theme::spinner(ui);
                } else {
                    ui.label("Open a scenario with File > Open (Ctrl+O), or drop a file here.");
                }
            });
            return;
        };
        let Some(graph) = &mut self.graph else {
            return;
        };
        graph_ui(ui, graph, &mut self.filter, &current.scenario.graph, &mut self.commands);
    }

    /// The UI pass: panels read the state and push commands.
    pub(super) fn frame_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if self.first_frame_ms.is_none() && self.current.is_some() {
            // The first frame that shows the scenario (its graph), history may still load.
            self.first_frame_ms = self.started.map(|s| s.secs() * 1000.0);
        }
        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        if let Some(c) = &self.current {
            let (start, end) = (c.scenario.start, c.scenario.end);
            egui::Panel::bottom("timeline").show(ui, |ui| {
                ui.add_space(2.0);
                timeline_ui(ui, &mut self.timeline, start, end);
                ui.add_space(2.0);
            });
        }
        egui::Panel::right("inspector").resizable(true).default_size(520.0).size_range(320.0..=1100.0).show(ui, |ui| {
            ui.horizontal(|ui| {
                for (tab, label) in [
                    (RightTab::Inspector, "Inspector"),
                    (RightTab::Findings, "Findings"),
                    (RightTab::Remediation, "Remediation"),
                    (RightTab::Lab, "Lab"),
                ] {
                    let count = match (tab, &self.at_cursor) {
                        (RightTab::Findings, Some(at)) => format!(" ({})", at.findings.len()),
                        (RightTab::Remediation, Some(at)) => format!(" ({})", at.candidates.len()),
                        _ => String::new(),
                    };
                    ui.selectable_value(&mut self.right_tab, tab, format!("{label}{count}"));
                }
            });
            ui.separator();
            match (self.right_tab, &self.current, &self.selected, &self.at_cursor) {
                (_, None, _, _) => {
                    ui.weak("Nothing loaded yet.");
                }
                (RightTab::Findings, Some(current), _, Some(at)) => findings_ui(
                    ui,
                    &FindingsInput {
                        scenario: &current.scenario,
                        findings: &at.findings,
                        drift: &at.drift,
                        anomalies: current.anomalies.as_deref(),
                        predictions: current.predictions.as_deref(),
                        time: self.timeline.time,
                    },
                    &mut self.commands,
                ),
                (RightTab::Lab, Some(current), selected, _) => {
                    let planned = &self.remediation;
                    let twins = TwinsInfo {
                        counts: current.models,
                        learning: self.learning.progress(),
                        last: self.learning.last.clone(),
                        now: ui.input(|i| i.time),
                        has_history: current.history_ready && current.scenario.telemetry.keys().next().is_some(),
                        live: matches!(current.source, Source::Live(_)),
                        saving: self.save_job.is_some(),
                    };
                    lab_ui(
                        ui,
                        &mut self.lab,
                        &LabContext {
                            scenario: &current.scenario,
                            selected: selected.as_ref(),
                            planned: &|id| planned.is_planned(id),
                            twins: &twins,
                        },
                        &mut self.commands,
                    );
                }
                (RightTab::Remediation, Some(_), _, Some(at)) => remediation_ui(
                    ui,
                    &RemediationInput {
                        candidates: &at.candidates,
                        state: &self.remediation,
                        user: &self.user,
                        time: self.timeline.time,
                        opened: self.opened_plan.as_ref(),
                    },
                    &mut self.remediation_prompts,
                    &mut self.commands,
                ),
                (_, Some(current), Some(id), _) => {
                    let input = InspectorInput {
                        scenario: &current.scenario,
                        violations: &current.violations,
                        current: self.at_cursor.as_ref().map_or(&[], |at| &at.current),
                        policies: &current.policies,
                        id,
                        time: self.timeline.time,
                        dark: self.settings.dark_mode,
                        history_ready: current.history_ready,
                        drift: self.at_cursor.as_ref().and_then(|c| c.drift.twin(id)),
                        anomalies: current.twin_scans(id),
                        forecast: &|key| current.forecast(key),
                        predicted: current.predictions.as_deref().map_or(&[], |p| &p.violations),
                    };
                    inspector_ui(ui, &input, &mut self.inspector, &mut self.plot_cache, &mut self.commands);
                }
                (_, Some(current), None, _) => {
                    overview_ui(ui, current, self.at_cursor.as_ref(), &mut self.commands);
                }
            }
        });
        egui::CentralPanel::default().show(ui, |ui| self.central_ui(ui));
        self.dialogs_ui(&ctx);
        if let Some(current) = &self.current {
            policy_editor_ui(&ctx, &mut self.editor, &current.scenario.graph, &mut self.commands);
        }
        self.notifications.ui(&ctx);
        if !self.commands.is_empty() {
            ctx.request_repaint();
        }
    }
}

/// The inspector when nothing is selected: what the scenario is and where to look.
fn overview_ui(
    ui: &mut egui::Ui,
    current: &Current,
    at_cursor: Option<&AtTime>,
    commands: &mut crate::ui::command::Commands,
) {
    let s = &current.scenario;
    ui.heading(&s.name);
    ui.label(&s.description);
    ui.separator();
    ui.label(format!("History {} to {} ({:.0} days)", format_short(s.start), format_short(s.end), s.history_days()));
    if !current.history_ready {
        ui.horizontal(|ui| {
            crate::ui::theme::spinner(ui);
            ui.label("Generating history…");
        });
        return;
    }
    ui.add_space(6.0);
    ui.strong("Twins violating a rule at the cursor time");
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        let violations = at_cursor.map_or(&[][..], |at| &at.current);
        egui::Grid::new("overview-violations").striped(true).num_columns(2).show(ui, |ui| {
            for v in violations {
                if ui.link(v.twin.as_str()).clicked() {
                    commands.push(Command::Select(Some(v.twin.clone())));
                }
                ui.label(format!("{} since {}", v.rule, format_short(v.since)));
                ui.end_row();
            }
        });
        if violations.is_empty() {
            ui.weak("None — every twin is within its thresholds.");
        }
        ui.add_space(8.0);
        if let Some(at) = at_cursor {
            let drift = &at.drift;
            let drifting: Vec<_> = drift.drifting().collect();
            ui.strong(format!("Configuration drift: fleet score {:.2}", drift.fleet_score));
            if drifting.is_empty() {
                ui.weak("None: every twin holds its desired configuration.");
            }
            egui::Grid::new("overview-drift").striped(true).num_columns(3).show(ui, |ui| {
                for t in drifting {
                    if ui.link(t.twin.as_str()).clicked() {
                        commands.push(Command::Select(Some(t.twin.clone())));
                    }
                    ui.label(
                        RichText::new(format!("{:.2}", t.score))
                            .color(theme::score_color(t.score, ui.visuals().dark_mode)),
                    );
                    let keys: Vec<&str> = t.keys.iter().map(|k| k.rule.key.as_str()).collect();
                    ui.weak(keys.join(", "));
                    ui.end_row();
                }
            });
            ui.weak(format!(
                "{} drift events so far ({:.2}/day): P(new drift within 7 days) = {:.0}%",
                drift.events.len(),
                drift.rate_per_day,
                drift.probability_new * 100.0
            ));
        }
        ui.add_space(8.0);
        ui.weak("Click a twin in the graph to inspect it. Drag the timeline to replay history.");
    });
}
