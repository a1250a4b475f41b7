//! The Findings and Remediation tabs: what is wrong at the time cursor (rule
//! violations, configuration drift, anomalies), the actions proposed for it with their
//! score breakdowns, approve/reject, the log of those decisions, and plan export.

use std::collections::BTreeMap;

use eframe::egui::{self, RichText};

use super::app::Command;
use super::jobs::AnomalyScans;
use super::theme;
use crate::analytics::drift::DriftReport;
use crate::analytics::predict::Predictions;
use crate::analytics::scan::{ALARM, twin_level};
use crate::io::time::format_short;
use crate::model::{TwinGraph, UnixSecs};
use crate::policy::Policy;
use crate::remediation::orchestrate::{AuditEntry, Decision, Mode, Orchestrator};
use crate::remediation::plan::{Candidate, Finding};
use crate::scenario::Scenario;

/// A person's decisions on proposals, and their log.
#[derive(Default)]
pub struct RemediationState {
    /// Approved (true) or rejected (false), by proposal id.
    pub decisions: BTreeMap<String, bool>,
    /// Every decision, oldest first.
    pub audit: Vec<AuditEntry>,
    /// Path typed into the export prompt, when shown.
    pub export_path: Option<String>,
    /// Path typed into the save-log prompt, when shown.
    pub audit_path: Option<String>,
    /// The orchestration loop (mode, guards, approval queue) run on the findings.
    pub orchestrator: Orchestrator,
    /// Actions added from rehearsals in the lab (what-if changes, a chaos experiment's
    /// remediation), in the order added. They stay whatever the time cursor shows.
    pub rehearsed: Vec<Candidate>,
}

impl RemediationState {
    fn decide(&mut self, c: &Candidate, approved: bool, by: &str, at: UnixSecs) {
        self.decisions.insert(c.id.clone(), approved);
        let decision = if approved { Decision::Approved(by.to_string()) } else { Decision::Rejected(by.to_string()) };
        self.audit.push(AuditEntry::new(at, c, Mode::ApproveEach, decision));
    }

    /// Runs one tick of the orchestration loop on the findings at `time`: in automatic
    /// mode what passes the guards is approved (for the plan) in the loop's name, in
    /// dry-run mode decisions are only logged, in approve-each mode proposals are queued.
    /// Returns how many proposals the loop approved.
    pub fn run_loop(&mut self, time: UnixSecs, findings: &[Finding], graph: &TwinGraph, policies: &[Policy]) -> usize {
        let mut approved = Vec::new();
        self.orchestrator.tick(time, findings, graph, policies, &mut |c| {
            approved.push(c.id.clone());
            Ok(())
        });
        for id in &approved {
            self.decisions.insert(id.clone(), true);
        }
        self.audit.extend(self.orchestrator.drain_audit());
        approved.len()
    }

    /// Adds actions from a rehearsal, approved by `by` (an action already added is
    /// approved again, not repeated). Returns how many were new.
    pub fn add_rehearsed(&mut self, actions: Vec<Candidate>, by: &str, at: UnixSecs) -> usize {
        let mut added = 0;
        for c in actions {
            if self.decisions.get(&c.id) != Some(&true) {
                self.decide(&c, true, by, at);
            }
            if !self.rehearsed.iter().any(|r| r.id == c.id) {
                self.rehearsed.push(c);
                added += 1;
            }
        }
        added
    }

    /// Whether a rehearsed action (by id) is in the plan and approved.
    pub fn is_planned(&self, id: &str) -> bool {
        self.decisions.get(id) == Some(&true) && self.rehearsed.iter().any(|r| r.id == id)
    }

    /// What a plan is made of: the proposals for the findings at the cursor, then the
    /// rehearsed actions that are not among them.
    pub fn plan_candidates(&self, candidates: &[Candidate]) -> Vec<Candidate> {
        let mut all = candidates.to_vec();
        all.extend(self.rehearsed.iter().filter(|r| !candidates.iter().any(|c| c.id == r.id)).cloned());
        all
    }

    /// Ids of the approved proposals among `candidates`.
    pub fn approved_ids(&self, candidates: &[Candidate]) -> Vec<String> {
        candidates.iter().filter(|c| self.decisions.get(&c.id) == Some(&true)).map(|c| c.id.clone()).collect()
    }
}

/// The predictions table: rules the forecasts say will be violated within the horizon,
/// from the end of history.
fn predictions_ui(
    ui: &mut egui::Ui,
    scenario: &Scenario,
    predictions: Option<&Predictions>,
    commands: &mut Vec<Command>,
) {
    let dark = ui.visuals().dark_mode;
    let Some(p) = predictions else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.weak("Forecasting…");
        });
        return;
    };
    ui.strong(format!("Predicted violations ({})", p.violations.len())).on_hover_text(
        "Threshold rules evaluated on the forecast of each series (5-minute means) over the next 7 days",
    );
    ui.weak(format!("From the end of history ({}), next 7 days.", format_short(scenario.end)));
    if p.violations.is_empty() {
        ui.weak(format!("None: {} forecast series stay within their thresholds.", p.forecasts.len()));
    }
    egui::Grid::new("findings-predicted").striped(true).num_columns(4).show(ui, |ui| {
        for v in &p.violations {
            if ui.link(v.twin.as_str()).clicked() {
                commands.push(Command::Inspect(v.twin.clone()));
            }
            ui.label(v.rule.to_string()).on_hover_text(format!(
                "policy {} ({}); now {}, expected {:.1} then",
                v.policy,
                v.severity.as_str(),
                v.value,
                v.expected
            ));
            ui.label(format!("in {}", format_eta(v.eta_secs))).on_hover_text(format_short(v.at));
            ui.label(
                RichText::new(format!("{:.0}%", v.probability * 100.0)).color(theme::score_color(v.probability, dark)),
            )
            .on_hover_text(format!(
                "model {}; backtest MASE {}",
                v.model,
                v.mase.map_or("n/a".into(), |m| format!("{m:.2}"))
            ));
            ui.end_row();
        }
    });
    if !p.skipped.is_empty() {
        let names: Vec<String> = p.skipped.iter().map(|(k, why)| format!("{k}: {why}")).collect();
        ui.weak(format!("{} series could not be forecast", p.skipped.len())).on_hover_text(names.join("\n"));
    }
}

/// A time span from now in hours or days.
pub fn format_eta(secs: i64) -> String {
    let hours = secs as f64 / 3600.0;
    if hours < 48.0 { format!("{hours:.1} h") } else { format!("{:.1} d", hours / 24.0) }
}

/// What the Findings tab shows.
#[derive(Clone, Copy)]
pub struct FindingsInput<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// Findings at the cursor.
    pub findings: &'a [Finding],
    /// Drift at the cursor.
    pub drift: &'a DriftReport,
    /// Anomaly scans, once done.
    pub anomalies: Option<&'a AnomalyScans>,
    /// Predicted violations, once forecast.
    pub predictions: Option<&'a Predictions>,
    /// The cursor time.
    pub time: UnixSecs,
}

/// Sustained anomalies that policies' anomaly rules (or the built-in one) make findings.
fn sustained_anomalies_ui(ui: &mut egui::Ui, findings: &[Finding], scanned: bool, commands: &mut Vec<Command>) {
    let sustained: Vec<&Finding> = findings.iter().filter(|f| matches!(f, Finding::Anomaly { .. })).collect();
    ui.strong(format!("Sustained anomalies ({})", sustained.len()));
    if !scanned {
        ui.weak("Waiting for the anomaly scan…");
        return;
    }
    if sustained.is_empty() {
        ui.weak("None: no anomaly has lasted as long as an anomaly rule asks.");
    }
    for f in sustained {
        if let Finding::Anomaly { policy, rule, metric, twin, score, since } = f {
            ui.horizontal(|ui| {
                if ui.link(twin.as_str()).clicked() {
                    commands.push(Command::Inspect(twin.clone()));
                }
                ui.label(format!("{metric}: score {score:.2}")).on_hover_text(format!("{policy}: {rule}"));
                ui.weak(format!("since {}", format_short(*since)));
            });
        }
    }
}

/// The Findings tab.
pub fn findings_ui(ui: &mut egui::Ui, input: &FindingsInput<'_>, commands: &mut Vec<Command>) {
    let FindingsInput { scenario, findings, drift, anomalies, predictions, time } = *input;
    let dark = ui.visuals().dark_mode;
    ui.heading("Findings");
    ui.weak(format!("At {} (move the timeline to see another moment).", format_short(time)));
    ui.separator();
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        let violations: Vec<&Finding> = findings.iter().filter(|f| matches!(f, Finding::Violation { .. })).collect();
        ui.strong(format!("Rule violations ({})", violations.len()));
        if violations.is_empty() {
            ui.weak("None: every twin is within its thresholds.");
        }
        egui::Grid::new("findings-violations").striped(true).num_columns(3).show(ui, |ui| {
            for f in violations {
                if let Finding::Violation { policy, rule, twin, value, since, cause, .. } = f {
                    if ui.link(twin.as_str()).clicked() {
                        commands.push(Command::Inspect(twin.clone()));
                    }
                    ui.horizontal(|ui| {
                        ui.label(format!("{rule}  (now {value})")).on_hover_text(format!("policy {policy}"));
                        if let Some(cause) = cause {
                            let text = RichText::new(format!("caused by {cause}")).italics();
                            if ui.link(text).on_hover_text("A symptom: its root cause is acted on first").clicked() {
                                commands.push(Command::Inspect(cause.twin.clone()));
                            }
                        }
                    });
                    ui.weak(format!("since {}", format_short(*since)));
                    ui.end_row();
                }
            }
        });
        ui.add_space(8.0);
        sustained_anomalies_ui(ui, findings, anomalies.is_some(), commands);
        ui.add_space(8.0);
        predictions_ui(ui, scenario, predictions, commands);
        ui.add_space(8.0);
        let drifting: Vec<_> = drift.drifting().collect();
        ui.strong(format!("Configuration drift ({} twins, fleet {:.2})", drifting.len(), drift.fleet_score));
        if drifting.is_empty() {
            ui.weak("None: every twin holds its desired configuration.");
        }
        egui::Grid::new("findings-drift").striped(true).num_columns(3).show(ui, |ui| {
            for t in drifting {
                if ui.link(t.twin.as_str()).clicked() {
                    commands.push(Command::Inspect(t.twin.clone()));
                }
                ui.label(RichText::new(format!("{:.2}", t.score)).color(theme::score_color(t.score, dark)));
                let mut keys: Vec<String> = Vec::new();
                for k in &t.keys {
                    let text = format!(
                        "{} (has {})",
                        k.rule.describe(),
                        k.actual.as_ref().map_or("nothing".into(), ToString::to_string)
                    );
                    // Two policies may want the same thing of a key: say it once.
                    if !keys.contains(&text) {
                        keys.push(text);
                    }
                }
                ui.label(keys.join("; "));
                ui.end_row();
            }
        });
        ui.weak(format!(
            "{} drift events so far; P(new drift within 7 days) = {:.0}%",
            drift.events.len(),
            drift.probability_new * 100.0
        ));
        ui.add_space(8.0);
        match anomalies {
            None => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.weak("Scanning for anomalies…");
                });
            }
            Some(scans) => {
                let mut hot: Vec<(f64, &crate::model::TwinId, Option<String>)> = scenario
                    .graph
                    .ids()
                    .filter_map(|id| {
                        let (level, mark) = twin_level(scans, id, time);
                        (level >= ALARM).then(|| (level, id, mark.map(|m| m.reason.clone())))
                    })
                    .collect();
                hot.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
                ui.strong(format!("Anomalies ({})", hot.len()));
                if hot.is_empty() {
                    ui.weak("None at this moment.");
                }
                egui::Grid::new("findings-anomalies").striped(true).num_columns(3).show(ui, |ui| {
                    for (level, id, reason) in hot {
                        if ui.link(id.as_str()).clicked() {
                            commands.push(Command::Inspect(id.clone()));
                        }
                        ui.label(RichText::new(format!("{level:.2}")).color(theme::score_color(level, dark)));
                        ui.label(reason.unwrap_or_default());
                        ui.end_row();
                    }
                });
            }
        }
    });
}

/// What the remediation tab asks the app to do.
pub enum RemediationRequest {
    /// Write a plan with the approved proposals to this path.
    Export(std::path::PathBuf),
    /// Run one tick of the orchestration loop on the findings at the cursor.
    RunLoop,
    /// Append the decision log to this JSON-lines file.
    SaveAudit(std::path::PathBuf),
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
/// get a Remove button. Returns true when Remove was clicked.
fn proposal_ui(
    ui: &mut egui::Ui,
    number: usize,
    c: &Candidate,
    state: &mut RemediationState,
    user: &str,
    time: UnixSecs,
    commands: &mut Vec<Command>,
) -> bool {
    let dark = ui.visuals().dark_mode;
    let rehearsed = matches!(c.finding, Finding::Rehearsed { .. });
    let mut remove = false;
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
                    remove = true;
                }
                let reject = ui.selectable_label(decision == Some(false), "Reject");
                let approve = ui.selectable_label(decision == Some(true), "Approve");
                if approve.clicked() && decision != Some(true) {
                    state.decide(c, true, user, time);
                }
                if reject.clicked() && decision != Some(false) {
                    state.decide(c, false, user, time);
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
    remove
}

/// The Remediation tab.
pub fn remediation_ui(
    ui: &mut egui::Ui,
    candidates: &[Candidate],
    state: &mut RemediationState,
    user: &str,
    time: UnixSecs,
    commands: &mut Vec<Command>,
) -> Option<RemediationRequest> {
    let mut request = None;
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
            for c in candidates {
                if state.decisions.get(&c.id) != Some(&true) {
                    state.decide(c, true, user, time);
                }
            }
        }
        if ui.button("Export plan…").on_hover_text("Write the approved actions as a plan: .json, .ron or .md").clicked()
        {
            state.export_path = Some(state.export_path.clone().unwrap_or_else(|| "plan.json".into()));
        }
    });
    ui.horizontal(|ui| {
        let mode = &mut state.orchestrator.config.mode;
        egui::ComboBox::from_id_salt("orchestrator-mode")
            .selected_text(format!("Mode: {}", mode_label(*mode)))
            .show_ui(ui, |ui| {
                for m in Mode::ALL {
                    ui.selectable_value(mode, m, mode_label(m));
                }
            });
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
            request = Some(RemediationRequest::RunLoop);
        }
        if ui.button("Save log…").on_hover_text("Append the decision log to a JSON-lines file").clicked() {
            state.audit_path = Some(state.audit_path.clone().unwrap_or_else(|| "audit.jsonl".into()));
        }
    });
    if let Some(path) = path_prompt(ui, &mut state.audit_path, "Log file", "Append") {
        request = Some(RemediationRequest::SaveAudit(path));
    }
    if let Some(path) = path_prompt(ui, &mut state.export_path, "Plan file", "Write") {
        request = Some(RemediationRequest::Export(path));
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
                proposal_ui(ui, i + 1, c, state, user, time, commands);
            }
            if !rehearsed.is_empty() {
                ui.add_space(6.0);
                ui.strong(format!("From rehearsals ({})", rehearsed.len())).on_hover_text(
                    "Actions added in the Lab; they are part of the plan whatever the time cursor shows",
                );
            }
            for (i, c) in rehearsed.iter().enumerate() {
                if proposal_ui(ui, candidates.len() + i + 1, c, state, user, time, commands) {
                    state.rehearsed.retain(|r| r.id != c.id);
                    state.decisions.remove(&c.id);
                }
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
    request
}
