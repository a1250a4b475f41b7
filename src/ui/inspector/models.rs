//! The inspector's *Workload models* section: where each metric's model came from
//! (written, learned, none), the learned fit, and the tags the plots carry.

use eframe::egui::{self, Color32, RichText};

use super::{InspectorInput, twin_metrics};
use crate::model::{MetricName, SeriesKey};
use crate::ui::learn::Provenance;
use crate::ui::theme;

/// A small coloured tag saying where a model came from.
pub(super) fn provenance_tag(provenance: &Provenance, dark: bool) -> RichText {
    let color = match provenance {
        Provenance::Learned { .. } => theme::learned_color(dark),
        Provenance::Written => Color32::GRAY,
        Provenance::None => theme::status_color(crate::model::Status::Degraded, dark),
    };
    RichText::new(provenance.tag()).small().color(color)
}

/// The provenance as hover text: where the model came from, its couplings, fit and
/// the learner's notes.
pub(super) fn provenance_hover(provenance: &Provenance) -> String {
    match provenance {
        Provenance::Written => "Workload model written in the scenario file".into(),
        Provenance::None => {
            "No workload model: the simulation does not drive this series (Lab → Learn twins learns one)".into()
        }
        Provenance::Learned { span, couplings, fit, notes, .. } => {
            let mut lines = vec![format!("Workload model learned from history {span}")];
            if !couplings.is_empty() {
                lines.push(couplings.join(", "));
            }
            lines.extend(fit.iter().map(|f| format!("holdout: {f}")));
            lines.extend(notes.iter().map(|n| format!("• {n}")));
            lines.join("\n")
        }
    }
}

/// Where each of the twin's metric models came from: written, learned (span, samples,
/// couplings, holdout fit, the learner's notes) or none.
pub(super) fn models_ui(ui: &mut egui::Ui, input: &InspectorInput<'_>) {
    let s = input.scenario;
    let metrics = twin_metrics(s, input.id);
    if metrics.is_empty() {
        return;
    }
    let provenances: Vec<(MetricName, Provenance)> = metrics
        .into_iter()
        .map(|m| {
            let p = Provenance::of(s.workloads.get(&SeriesKey::new(input.id.clone(), m.clone())));
            (m, p)
        })
        .collect();
    let count = |tag: &str| provenances.iter().filter(|(_, p)| p.tag() == tag).count();
    let mut summary = Vec::new();
    for tag in ["learned", "written", "no model"] {
        let n = count(tag);
        if n > 0 {
            summary.push(if tag == "no model" { format!("{n} without") } else { format!("{n} {tag}") });
        }
    }
    egui::CollapsingHeader::new(format!("Workload models ({})", summary.join(", ")))
        .id_salt("inspector-models")
        .default_open(false)
        .show(ui, |ui| {
            for (metric_name, provenance) in &provenances {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(metric_name.as_str()).monospace());
                    ui.label(provenance_tag(provenance, input.dark));
                    match provenance {
                        Provenance::Written => {
                            ui.weak("in the scenario file");
                        }
                        Provenance::None => {
                            ui.weak("not simulated");
                        }
                        Provenance::Learned { span, .. } => {
                            ui.weak(span);
                        }
                    }
                });
                if let Provenance::Learned { couplings, fit, fit_good, notes, .. } = provenance {
                    ui.indent(("model-notes", metric_name.as_str()), |ui| {
                        if !couplings.is_empty() {
                            ui.label(RichText::new(couplings.join(" · ")).small()).on_hover_text(
                                "Learned couplings: the share of CPU that scales with traffic, the share of latency \
                                 that is queueing (the rest stays as it is under load)",
                            );
                        }
                        if let Some(fit) = fit {
                            let color = if *fit_good {
                                theme::status_color(crate::model::Status::Healthy, input.dark)
                            } else {
                                theme::status_color(crate::model::Status::Degraded, input.dark)
                            };
                            ui.label(RichText::new(fit).small().color(color)).on_hover_text(
                                "On held-out history: MASE of the simulated hourly median (below the replay \
                                 twin's is better) and the share of hours inside the simulated 10–90% envelope \
                                 (0.8 is calibrated)",
                            );
                        }
                        for note in notes {
                            ui.label(RichText::new(format!("• {note}")).small().weak());
                        }
                    });
                }
                ui.add_space(2.0);
            }
        });
}
