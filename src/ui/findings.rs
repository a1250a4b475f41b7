//! The Findings and Remediation tabs: what is wrong at the time cursor (rule
//! violations, configuration drift, anomalies), the actions proposed for it with their
//! score breakdowns, approve/reject, the log of those decisions, and plan export.

use eframe::egui::{self, RichText};

use super::command::{Command, Commands};
use super::theme;
use crate::analytics::drift::DriftReport;
use crate::analytics::predict::Predictions;
use crate::analytics::scan::AnomalyScans;
use crate::analytics::scan::{ALARM, twin_level};
use crate::io::time::format_short;
use crate::model::UnixSecs;
use crate::remediation::plan::Finding;
use crate::scenario::Scenario;

/// The predictions table: rules the forecasts say will be violated within the horizon,
/// from the end of history.
fn predictions_ui(ui: &mut egui::Ui, scenario: &Scenario, predictions: Option<&Predictions>, commands: &mut Commands) {
    let dark = ui.visuals().dark_mode;
    let Some(p) = predictions else {
        ui.horizontal(|ui| {
            crate::ui::theme::spinner(ui);
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
fn sustained_anomalies_ui(ui: &mut egui::Ui, findings: &[Finding], scanned: bool, commands: &mut Commands) {
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
pub fn findings_ui(ui: &mut egui::Ui, input: &FindingsInput<'_>, commands: &mut Commands) {
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
                    crate::ui::theme::spinner(ui);
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
