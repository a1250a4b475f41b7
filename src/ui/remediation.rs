//! The Remediation tab: the actions proposed for the findings at the time cursor and
//! those rehearsed in the lab, with their score breakdowns, approve/reject, the
//! orchestration loop, the log of decisions, plan export, and a plan file re-opened for
//! review (*Open plan…*: its steps with their approvals, and whether it still matches
//! the twins). The tab pushes commands; the decisions themselves are kept by the core's
//! [`Review`].

use eframe::egui::{self, RichText};

use super::command::{Command, Commands};
use super::files::FilePurpose;
use super::theme;
use crate::io::plan::{ApprovalStatus, PlanFile, value_text};
use crate::io::time::format_short;
use crate::model::UnixSecs;
use crate::remediation::orchestrate::Mode;
use crate::remediation::plan::{Candidate, Finding};
use crate::remediation::review::Review;

/// The Remediation tab's path prompts: the text typed while each is shown.
#[derive(Default)]
pub struct RemediationPrompts {
    /// *Export plan…*: the plan file's path.
    pub export_path: Option<String>,
    /// *Save log…*: the log file's path.
    pub audit_path: Option<String>,
    /// *Open plan…* where no file dialog can be shown: the plan file's path.
    pub open_path: Option<String>,
}

/// A plan file opened for review.
#[derive(Clone, Debug)]
pub struct OpenedPlan {
    /// Where it was read from.
    pub path: std::path::PathBuf,
    /// The plan as read (version 1.0 files brought up to the current format).
    pub file: PlanFile,
    /// Why it no longer matches the open twins and policies (`None`: it does).
    pub stale: Option<String>,
    /// The paint generation `stale` was computed at (recomputed when the data changes).
    pub checked: Option<u64>,
}

/// What the Remediation tab shows.
pub struct RemediationInput<'a> {
    /// The proposals for the findings at the cursor, best first.
    pub candidates: &'a [Candidate],
    /// The decisions, the log, the loop and the rehearsed actions.
    pub state: &'a Review,
    /// Who decides.
    pub user: &'a str,
    /// The time cursor.
    pub time: UnixSecs,
    /// A plan file opened for review, if any.
    pub opened: Option<&'a OpenedPlan>,
}

/// A one-line path prompt shown while `slot` holds text: the path when `action` is
/// clicked (closing the prompt), `None` otherwise; Cancel closes it.
fn path_prompt(ui: &mut egui::Ui, slot: &mut Option<String>, label: &str, action: &str) -> Option<std::path::PathBuf> {
    let mut path = slot.take()?;
    let mut keep = true;
    let mut chosen = None;
    ui.horizontal(|ui| {
        let label = ui.label(label);
        ui.add(egui::TextEdit::singleline(&mut path).desired_width(220.0)).labelled_by(label.id);
        if ui.button(action).clicked() && !path.trim().is_empty() {
            chosen = Some(std::path::PathBuf::from(path.trim()));
            keep = false;
        }
        if ui.button("Cancel").clicked() {
            keep = false;
        }
    });
    if keep {
        *slot = Some(path);
    }
    chosen
}

fn mode_label(mode: Mode) -> &'static str {
    match mode {
        Mode::Automatic => "automatic",
        Mode::ApproveEach => "approve each",
        Mode::DryRun => "dry run",
    }
}

/// One proposal with its score, effect and approve/reject buttons; rehearsed ones also
/// get a Remove button.
fn proposal_ui(ui: &mut egui::Ui, number: usize, c: &Candidate, input: &RemediationInput<'_>, commands: &mut Commands) {
    let (state, user) = (input.state, input.user);
    let dark = ui.visuals().dark_mode;
    let rehearsed = matches!(c.finding, Finding::Rehearsed { .. });
    let decision = state.decisions.get(&c.id).copied();
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.label(RichText::new(format!("{number}.")).strong());
            if ui.link(c.target.as_str()).clicked() {
                commands.push(Command::Inspect(c.target.clone()));
            }
            ui.label(RichText::new(c.kind.to_string()).strong());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if rehearsed
                    && ui.button("Remove").on_hover_text("Take this rehearsed action out of the plan").clicked()
                {
                    commands.push(Command::RemoveRehearsed(c.id.clone()));
                }
                let reject = ui.selectable_label(decision == Some(false), "Reject");
                let approve = ui.selectable_label(decision == Some(true), "Approve");
                if approve.clicked() && decision != Some(true) {
                    commands.push(Command::Decide { candidate: Box::new(c.clone()), approved: true });
                }
                if reject.clicked() && decision != Some(false) {
                    commands.push(Command::Decide { candidate: Box::new(c.clone()), approved: false });
                }
                ui.label(RichText::new(format!("{:.3}", c.score.total)).monospace()).on_hover_ui(|ui| {
                    egui::Grid::new(("score", &c.id)).num_columns(2).show(ui, |ui| {
                        for (name, value) in [
                            ("severity", c.score.severity),
                            ("impact (blast radius)", c.score.impact),
                            ("urgency", c.score.urgency),
                            ("cost and risk", c.score.cost),
                        ] {
                            ui.label(name);
                            ui.label(format!("{value:.3}"));
                            ui.end_row();
                        }
                    });
                    ui.weak("total = 0.4·severity + 0.25·impact + 0.25·urgency − 0.1·cost");
                });
            });
        });
        ui.label(RichText::new(c.finding.reason()).small());
        ui.horizontal_wrapped(|ui| {
            ui.weak(format!(
                "effect: {} · risk {:.2} · {:+.0}/month · {} min · rollback: {}",
                c.predicted_effect,
                c.risk,
                c.monthly_cost,
                c.duration_secs / 60,
                c.rollback.as_ref().map_or("none".to_string(), ToString::to_string)
            ));
        });
        let bar = |ui: &mut egui::Ui, label: &str, v: f64| {
            ui.add(egui::ProgressBar::new(v as f32).desired_width(70.0).text(RichText::new(label).small()));
        };
        ui.horizontal(|ui| {
            bar(ui, "severity", c.score.severity);
            bar(ui, "impact", c.score.impact);
            bar(ui, "urgency", c.score.urgency);
            bar(ui, "cost", c.score.cost);
        });
        if decision == Some(true) {
            ui.colored_label(theme::status_color(crate::model::Status::Healthy, dark), format!("approved by {user}"));
        }
    });
}

/// The Remediation tab.
pub fn remediation_ui(
    ui: &mut egui::Ui,
    input: &RemediationInput<'_>,
    prompts: &mut RemediationPrompts,
    commands: &mut Commands,
) {
    let (candidates, state, time) = (input.candidates, input.state, input.time);
    ui.heading("Remediation");
    // The plan: the proposals for the findings, then the rehearsed actions.
    let in_plan = state.plan_candidates(candidates);
    let rehearsed: Vec<Candidate> = in_plan[candidates.len()..].to_vec();
    let approved = state.approved_ids(&in_plan).len();
    ui.horizontal(|ui| {
        let rehearsed = rehearsed.len();
        let from_lab = if rehearsed > 0 { format!(" and {rehearsed} from rehearsals") } else { String::new() };
        ui.label(format!(
            "{} proposed actions for the findings at {}{from_lab}, {approved} approved.",
            candidates.len(),
            format_short(time)
        ));
    });
    ui.horizontal(|ui| {
        if ui.button("Approve all").clicked() {
            commands.push(Command::ApproveAll(candidates.to_vec()));
        }
        if ui.button("Export plan…").on_hover_text("Write the approved actions as a plan: .json, .ron or .md").clicked()
        {
            commands.push(Command::PickFile(FilePurpose::SavePlan));
        }
        if ui.button("Open plan…").on_hover_text("Review a plan file (.json or .ron) against the open twins").clicked()
        {
            commands.push(Command::PickFile(FilePurpose::Plan));
        }
    });
    if let Some(path) = path_prompt(ui, &mut prompts.open_path, "Plan to open", "Open") {
        commands.push(Command::OpenPlan(path));
    }
    if let Some(opened) = input.opened {
        opened_plan_ui(ui, opened, commands);
    }
    ui.horizontal(|ui| {
        let mode = state.orchestrator.config.mode;
        egui::ComboBox::from_id_salt("orchestrator-mode").selected_text(format!("Mode: {}", mode_label(mode))).show_ui(
            ui,
            |ui| {
                for m in Mode::ALL {
                    if ui.selectable_label(mode == m, mode_label(m)).clicked() && mode != m {
                        commands.push(Command::SetLoopMode(m));
                    }
                }
            },
        );
        let g = state.orchestrator.config.guards;
        if ui
            .button("Run loop")
            .on_hover_text(format!(
                "One tick of the orchestration loop on the findings at the cursor. Automatic: approves what passes \
                 the guards (at most {} actions an hour, {} min cooldown per twin, blast radius ≤ {}; larger ones \
                 wait for a person). Approve each: queues everything. Dry run: logs the decisions only.",
                g.max_actions_per_hour,
                g.cooldown_secs / 60,
                g.max_blast_radius
            ))
            .clicked()
        {
            commands.push(Command::RunLoop);
        }
        if ui.button("Save log…").on_hover_text("Append the decision log to a JSON-lines file").clicked() {
            commands.push(Command::PickFile(FilePurpose::SaveAuditLog));
        }
    });
    if let Some(path) = path_prompt(ui, &mut prompts.audit_path, "Log file", "Append") {
        commands.push(Command::SaveAuditLog(path));
    }
    if let Some(path) = path_prompt(ui, &mut prompts.export_path, "Plan file", "Write") {
        commands.push(Command::ExportPlan(path));
    }
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("remediation-queue")
        .auto_shrink([false, false])
        .max_height(ui.available_height() * 0.7)
        .show(ui, |ui| {
            if candidates.is_empty() {
                ui.weak("Nothing to do at this moment.");
            }
            for (i, c) in candidates.iter().enumerate() {
                proposal_ui(ui, i + 1, c, input, commands);
            }
            if !rehearsed.is_empty() {
                ui.add_space(6.0);
                ui.strong(format!("From rehearsals ({})", rehearsed.len())).on_hover_text(
                    "Actions added in the Lab; they are part of the plan whatever the time cursor shows",
                );
            }
            for (i, c) in rehearsed.iter().enumerate() {
                proposal_ui(ui, candidates.len() + i + 1, c, input, commands);
            }
        });
    ui.separator();
    egui::CollapsingHeader::new(format!("Decision log ({})", state.audit.len())).id_salt("audit-log").show(ui, |ui| {
        egui::ScrollArea::vertical().id_salt("audit-scroll").max_height(160.0).show(ui, |ui| {
            for e in state.audit.iter().rev() {
                ui.label(
                    RichText::new(format!(
                        "{}  [{}] {} {} on {} — {}",
                        format_short(e.at),
                        e.mode.as_str(),
                        e.decision.name(),
                        e.action,
                        e.twin,
                        e.decision.detail().unwrap_or("")
                    ))
                    .monospace()
                    .small(),
                );
            }
        });
    });
}

/// A plan file opened for review: where it came from, whether it still matches the
/// twins (a stale plan is shown with a warning, not hidden), and its steps with their
/// addresses, changes, reasons and approvals.
fn opened_plan_ui(ui: &mut egui::Ui, opened: &OpenedPlan, commands: &mut Commands) {
    let file = &opened.file;
    let dark = ui.visuals().dark_mode;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.horizontal(|ui| {
            let name = opened
                .path
                .file_name()
                .map_or_else(|| opened.path.display().to_string(), |n| n.to_string_lossy().into_owned());
            ui.strong(format!("Plan {name}: {} steps", file.resource_changes.len()));
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Close plan").clicked() {
                    commands.push(Command::ClosePlan);
                }
            });
        });
        ui.label(
            RichText::new(format!(
                "{} at {} · fingerprint {}",
                file.scenario,
                file.computed_for,
                &file.fingerprint[..16.min(file.fingerprint.len())]
            ))
            .small(),
        );
        match &opened.stale {
            Some(why) => {
                ui.colored_label(
                    theme::status_color(crate::model::Status::Degraded, dark),
                    format!("⚠ Stale plan: {why}. Its steps may no longer fit the twins; compute a new plan."),
                );
            }
            None => {
                ui.colored_label(
                    theme::status_color(crate::model::Status::Healthy, dark),
                    "✔ Current: computed on the twins and policies open now.",
                );
            }
        }
        egui::ScrollArea::vertical().id_salt("opened-plan").max_height(220.0).show(ui, |ui| {
            for r in &file.resource_changes {
                let d = &r.twinbench;
                let approval = match &d.approval.by {
                    Some(by) => format!("{} by {by}", d.approval.status.as_str()),
                    None => d.approval.status.as_str().to_string(),
                };
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(format!("{}.", d.order)).strong());
                    ui.label(RichText::new(&r.address).monospace());
                    ui.label(&d.description);
                    let tone = match d.approval.status {
                        ApprovalStatus::Approved => crate::model::Status::Healthy,
                        ApprovalStatus::Rejected => crate::model::Status::Down,
                        ApprovalStatus::Pending => crate::model::Status::Unknown,
                    };
                    ui.colored_label(theme::status_color(tone, dark), approval);
                });
                for (field, before) in &r.change.before {
                    let after = r.change.after.get(field).map_or_else(String::new, value_text);
                    ui.label(
                        RichText::new(format!("    {field}: {} → {after}", value_text(before))).monospace().small(),
                    );
                }
                ui.label(RichText::new(format!("    {}: {}", r.action_reason.as_str(), r.reason_text)).small());
            }
        });
    });
}
