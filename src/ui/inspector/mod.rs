//! The twin inspector: identity and health at the cursor time, configuration (as it was
//! at the cursor, with changes marked), capacity, dependencies, where each metric's
//! workload model came from (written, learned — from when, on how many samples, the
//! learner's notes, couplings and holdout fit — or none) and one plot per metric
//! (mean line, min–max band, thresholds, cursor).

mod models;

use eframe::egui::{self, Color32, RichText};
use egui_plot::{FilledArea, HLine, Line, LineStyle, MarkerShape, Plot, PlotPoints, Points, VLine};

use super::command::{Command, Commands};
use super::learn::Provenance;
use super::plot_cache::{PlotCache, time_marks};
use super::theme;
use crate::analytics::drift::TwinDrift;
use crate::analytics::predict::{PredictedViolation, SeriesForecast};
use crate::analytics::scan::AnomalyScans;
use crate::io::time::{format_axis, format_short};
use crate::model::{MetricName, SeriesKey, TwinId, metric};
use crate::policy::rules_for;
use crate::policy::spans::{ViolationHistory, health_at};
use crate::scenario::Scenario;

/// Inspector state that lives across frames.
#[derive(Default)]
pub struct InspectorState {
    /// Visible x range of the (linked) metric plots, from the last frame.
    pub view: Option<(f64, f64)>,
    /// Reset the plots to the whole history on the next frame.
    pub reset_view: bool,
    /// The whole range (history and forecast) the view was last reset to.
    full: Option<(f64, f64)>,
    cursor_values: Option<(TwinId, i64, Vec<Option<f64>>)>,
}

/// What the inspector reads.
pub struct InspectorInput<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The policies in force (the scenario's own and the editor's).
    pub policies: &'a [crate::policy::Policy],
    /// Rule violations over history.
    pub violations: &'a ViolationHistory,
    /// Rules violated at the cursor time (of every twin).
    pub current: &'a [crate::analytics::compliance::CurrentViolation],
    /// The twin shown.
    pub id: &'a TwinId,
    /// Cursor time.
    pub time: i64,
    /// Dark theme.
    pub dark: bool,
    /// Whether history is loaded yet.
    pub history_ready: bool,
    /// The twin's configuration drift at the cursor time (`None`: no desired state).
    pub drift: Option<&'a TwinDrift>,
    /// Anomaly scans (`None` until the background scan finished).
    pub anomalies: Option<&'a AnomalyScans>,
    /// The forecast of a series, when one was made.
    pub forecast: &'a dyn Fn(&SeriesKey) -> Option<&'a SeriesForecast>,
    /// Predicted violations of every twin.
    pub predicted: &'a [PredictedViolation],
}

/// Draws the inspector of one twin.
pub fn inspector_ui(
    ui: &mut egui::Ui,
    input: &InspectorInput<'_>,
    state: &mut InspectorState,
    cache: &mut PlotCache,
    commands: &mut Commands,
) {
    let s = input.scenario;
    let Some(twin) = s.graph.twin(input.id) else {
        ui.label("This twin is not in the scenario.");
        return;
    };
    let spans = input.violations.get(input.id);
    let health = health_at(twin, spans, input.time);
    ui.horizontal(|ui| {
        ui.heading(&twin.name);
        theme::status_badge(ui, health, input.dark).on_hover_text(format!("Health at {}", format_short(input.time)));
    });
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(twin.kind.as_str()).monospace());
        ui.weak(twin.id.as_str());
        for tag in &twin.tags {
            ui.label(RichText::new(tag).small().background_color(ui.visuals().faint_bg_color));
        }
    });
    if let Some(spans) = spans {
        for v in input.current.iter().filter(|v| &v.twin == input.id) {
            ui.colored_label(
                theme::status_color(crate::model::Status::Degraded, input.dark),
                format!("Violating {} since {} (worst {})", v.rule, format_short(v.since), v.worst),
            );
        }
        let total_minutes: i64 = spans.iter().map(|sp| sp.end - sp.start).sum::<i64>() / 60;
        ui.weak(format!("{} violation spans in history, {} minutes in total", spans.len(), total_minutes));
    }
    if twin.status_at(input.time) == crate::model::Status::Down {
        ui.colored_label(
            theme::status_color(crate::model::Status::Down, input.dark),
            "Down at the cursor time (recorded outage)",
        );
    }
    ui.separator();
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        config_ui(ui, input);
        capacity_ui(ui, input);
        dependencies_ui(ui, input, commands);
        anomalies_ui(ui, input, commands);
        models::models_ui(ui, input);
        metrics_ui(ui, input, state, cache, commands);
    });
}

fn config_ui(ui: &mut egui::Ui, input: &InspectorInput<'_>) {
    let Some(twin) = input.scenario.graph.twin(input.id) else {
        return;
    };
    let config = twin.config_at(input.time);
    let drifted = |key: &str| input.drift.and_then(|d| d.keys.iter().find(|k| k.rule.key == key));
    let amber = theme::status_color(crate::model::Status::Degraded, input.dark);
    egui::CollapsingHeader::new(format!("Configuration ({} keys)", config.len()))
        .id_salt("inspector-config")
        .default_open(true)
        .show(ui, |ui| {
            if config.is_empty() {
                ui.weak("No configuration recorded.");
                return;
            }
            egui::Grid::new("config-grid").striped(true).num_columns(3).show(ui, |ui| {
                for (key, value) in &config {
                    ui.label(RichText::new(key).monospace());
                    let text = RichText::new(value.to_string()).monospace();
                    match drifted(key) {
                        Some(k) => {
                            ui.label(text.color(amber)).on_hover_text(format!(
                                "Drift: policy {} wants {}",
                                k.policy,
                                k.rule.describe()
                            ));
                        }
                        None => {
                            ui.label(text);
                        }
                    }
                    let changes: Vec<_> = twin.config_history.iter().filter(|c| &c.key == key).collect();
                    match changes.iter().rev().find(|c| c.at <= input.time) {
                        Some(change) => {
                            let was = change.before.as_ref().map_or("absent".to_string(), ToString::to_string);
                            ui.label(
                                RichText::new(format!("changed {} (was {was})", format_short(change.at)))
                                    .small()
                                    .color(Color32::from_rgb(200, 140, 40)),
                            );
                        }
                        None if changes.iter().any(|c| c.at > input.time) => {
                            ui.weak("changes later");
                        }
                        None => {
                            ui.label("");
                        }
                    }
                    ui.end_row();
                }
            });
        });
    drift_ui(ui, input);
}

/// Desired against actual configuration, key by key.
fn drift_ui(ui: &mut egui::Ui, input: &InspectorInput<'_>) {
    let Some(drift) = input.drift else {
        return;
    };
    let title = if drift.keys.is_empty() {
        format!("Drift: none ({} keys checked)", drift.checked)
    } else {
        format!("Drift {:.2}: {} of {} keys off", drift.score, drift.keys.len(), drift.checked)
    };
    egui::CollapsingHeader::new(title).id_salt("inspector-drift").default_open(!drift.keys.is_empty()).show(ui, |ui| {
        if drift.keys.is_empty() {
            ui.weak("Every key holds its desired value.");
            return;
        }
        egui::Grid::new("drift-grid").striped(true).num_columns(5).show(ui, |ui| {
            for header in ["key", "desired", "actual", "off by", "since"] {
                ui.label(RichText::new(header).strong());
            }
            ui.end_row();
            for k in &drift.keys {
                ui.label(RichText::new(&k.rule.key).monospace()).on_hover_text(format!("policy {}", k.policy));
                ui.label(RichText::new(format!("{} {}", k.rule.operator.symbol(), k.rule.expected)).monospace());
                ui.label(
                    RichText::new(k.actual.as_ref().map_or("(absent)".to_string(), ToString::to_string)).monospace(),
                );
                let off = match k.deviation.kind {
                    crate::policy::DeviationKind::Numeric => format!("{:.0}%", k.deviation.amount * 100.0),
                    crate::policy::DeviationKind::Missing => "missing".to_string(),
                    _ => "mismatch".to_string(),
                };
                ui.label(RichText::new(off).color(theme::score_color(k.deviation.amount, input.dark)));
                ui.label(k.since.map_or("before history".to_string(), format_short));
                ui.end_row();
            }
        });
    });
}

fn capacity_ui(ui: &mut egui::Ui, input: &InspectorInput<'_>) {
    let Some(twin) = input.scenario.graph.twin(input.id) else {
        return;
    };
    let rows = twin.capacity.rows();
    if rows.is_empty() {
        return;
    }
    egui::CollapsingHeader::new("Capacity").id_salt("inspector-capacity").default_open(true).show(ui, |ui| {
        egui::Grid::new("capacity-grid").striped(true).num_columns(2).show(ui, |ui| {
            for (label, value, unit) in rows {
                ui.label(label);
                ui.label(RichText::new(format!("{value} {unit}")).monospace());
                ui.end_row();
            }
        });
    });
}

fn dependencies_ui(ui: &mut egui::Ui, input: &InspectorInput<'_>, commands: &mut Commands) {
    let g = &input.scenario.graph;
    let needs = g.dependencies(input.id);
    let needed_by = g.dependents(input.id);
    let blast = g.blast_radius(input.id);
    egui::CollapsingHeader::new(format!("Dependencies ({} out, {} in)", needs.len(), needed_by.len()))
        .id_salt("inspector-deps")
        .default_open(true)
        .show(ui, |ui| {
            for (title, list) in [("Needs", &needs), ("Needed by", &needed_by)] {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(title).strong());
                    if list.is_empty() {
                        ui.weak("nothing");
                    }
                    for (other, dep) in list.iter() {
                        let text = format!(
                            "{} ({}{})",
                            other.id,
                            dep.kind,
                            if dep.latency_ms > 0.0 { format!(", {} ms", dep.latency_ms) } else { String::new() }
                        );
                        if ui.link(text).on_hover_text("Select").clicked() {
                            commands.push(Command::Select(Some(other.id.clone())));
                        }
                    }
                });
            }
            let names: Vec<&str> = blast.iter().map(TwinId::as_str).collect();
            ui.label(format!("Blast radius: {} twins", blast.len())).on_hover_text(if names.is_empty() {
                "Nothing depends on this twin.".to_string()
            } else {
                names.join(", ")
            });
        });
}

/// The twin's anomaly marks, newest first, each a link to its time.
fn anomalies_ui(ui: &mut egui::Ui, input: &InspectorInput<'_>, commands: &mut Commands) {
    let Some(scans) = input.anomalies else {
        ui.horizontal(|ui| {
            crate::ui::theme::spinner(ui);
            ui.weak("Scanning for anomalies…");
        });
        return;
    };
    let mut marks: Vec<(&str, &crate::analytics::scan::AnomalyMark)> = scans
        .iter()
        .filter(|(k, _)| &k.twin == input.id)
        .flat_map(|(k, s)| s.marks.iter().map(move |m| (k.metric.as_str(), m)))
        .collect();
    marks.sort_by(|a, b| b.1.ts.cmp(&a.1.ts).then_with(|| a.0.cmp(b.0)));
    egui::CollapsingHeader::new(format!("Anomalies ({})", marks.len()))
        .id_salt("inspector-anomalies")
        .default_open(!marks.is_empty())
        .show(ui, |ui| {
            if marks.is_empty() {
                ui.weak("No anomalies found in this twin's history.");
                return;
            }
            for (_, m) in marks.iter().take(12) {
                ui.horizontal(|ui| {
                    if ui.link(format_short(m.ts)).on_hover_text("Move the time cursor here").clicked() {
                        commands.push(Command::SetTime(m.ts));
                    }
                    ui.label(RichText::new(format!("{:.2}", m.score)).color(theme::score_color(m.score, input.dark)));
                    ui.label(&m.reason);
                });
            }
            if marks.len() > 12 {
                ui.weak(format!("and {} earlier", marks.len() - 12));
            }
        });
}

/// The metrics of the twin: those with history and those with a model.
fn twin_metrics(s: &Scenario, id: &TwinId) -> Vec<MetricName> {
    let mut metrics: Vec<MetricName> = s.telemetry.metrics_of(id).cloned().collect();
    let modelled = s.workloads.range(SeriesKey::new(id.clone(), "")..).take_while(|(k, _)| &k.twin == id);
    metrics.extend(modelled.map(|(k, _)| k.metric.clone()));
    metrics.sort();
    metrics.dedup();
    metrics
}

fn metrics_ui(
    ui: &mut egui::Ui,
    input: &InspectorInput<'_>,
    state: &mut InspectorState,
    cache: &mut PlotCache,
    commands: &mut Commands,
) {
    let s = input.scenario;
    let Some(twin) = s.graph.twin(input.id) else {
        return;
    };
    let metrics: Vec<MetricName> = s.telemetry.metrics_of(input.id).cloned().collect();
    ui.horizontal(|ui| {
        ui.strong(format!("Metrics ({})", metrics.len()));
        if ui.small_button("Whole range").on_hover_text("Show the whole history and forecast").clicked() {
            state.reset_view = true;
        }
        ui.weak("Scroll to zoom, drag to pan, click to move the time cursor.");
    });
    if !input.history_ready {
        ui.horizontal(|ui| {
            crate::ui::theme::spinner(ui);
            ui.label("Generating history…");
        });
        return;
    }
    if metrics.is_empty() {
        ui.weak("No telemetry for this twin.");
        return;
    }
    let cursor_values = match &state.cursor_values {
        Some((id, t, values)) if id == input.id && *t == input.time => values.clone(),
        _ => {
            let values: Vec<Option<f64>> = metrics
                .iter()
                .map(|m| {
                    s.telemetry
                        .series(&SeriesKey::new(input.id.clone(), m.clone()))
                        .and_then(|series| series.value_at(input.time).ok().flatten())
                        .map(|(_, v)| v)
                })
                .collect();
            state.cursor_values = Some((input.id.clone(), input.time, values.clone()));
            values
        }
    };
    // The view runs to the end of the longest forecast of the twin's metrics.
    let forecast_end = metrics
        .iter()
        .filter_map(|m| (input.forecast)(&SeriesKey::new(input.id.clone(), m.clone())))
        .map(|f| f.forecast.timestamp(shown_steps(s, &f.forecast)))
        .max();
    let full = (s.start as f64, forecast_end.unwrap_or(s.end).max(s.end) as f64);
    // Forecasts arriving (or another twin's longer ones) widen the whole range; a view
    // showing the whole previous range follows it, a zoomed one stays.
    let near = |a: (f64, f64), b: (f64, f64)| {
        let tolerance = 0.01 * (b.1 - b.0).abs();
        (a.0 - b.0).abs() <= tolerance && (a.1 - b.1).abs() <= tolerance
    };
    if state.full.is_some_and(|old| old != full && state.view.is_none_or(|v| near(v, old))) {
        state.reset_view = true;
    }
    state.full = Some(full);
    let reset = std::mem::take(&mut state.reset_view);
    let view = if reset { full } else { state.view.unwrap_or(full) };
    let width = ui.available_width();
    let mut new_view = None;
    for (metric_name, cursor_value) in metrics.iter().zip(cursor_values) {
        let key = SeriesKey::new(input.id.clone(), metric_name.clone());
        let unit = metric::unit(metric_name.as_str());
        let data = match cache.get(&s.telemetry, &key, view, width, s.resolution_secs) {
            Ok(data) => data,
            Err(e) => {
                ui.colored_label(Color32::RED, format!("{key}: {e}"));
                continue;
            }
        };
        let rules: Vec<_> = rules_for(input.policies, twin, metric_name.as_str()).collect();
        ui.horizontal(|ui| {
            ui.label(RichText::new(metric_name.as_str()).strong().monospace());
            if !unit.is_empty() {
                ui.weak(unit);
            }
            if let Some(v) = cursor_value {
                ui.label(format!("{} at cursor", format_value(v)));
            }
            let provenance = Provenance::of(s.workloads.get(&key));
            let tag = ui.label(models::provenance_tag(&provenance, input.dark));
            tag.on_hover_text(models::provenance_hover(&provenance));
            for (policy, rule) in &rules {
                ui.label(
                    RichText::new(format!("limit {} {}", rule.operator, rule.threshold))
                        .small()
                        .color(theme::threshold_color(input.dark)),
                )
                .on_hover_text(format!(
                    "Policy {} ({}): the dashed line",
                    policy.name,
                    policy.severity.as_str()
                ));
            }
            if data.bucket_secs > s.resolution_secs {
                ui.weak(format!("· mean and min-max per {}", format_bucket(data.bucket_secs)));
            }
        });
        let forecast = (input.forecast)(&key);
        if let Some(f) = forecast {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new("forecast").small().color(theme::forecast_color(input.dark)));
                ui.weak(
                    RichText::new(format!(
                        "{} · backtest MASE {} · 80%/95% bands",
                        f.forecast.model,
                        f.forecast.mase.map_or("n/a".into(), |m| format!("{m:.2}"))
                    ))
                    .small(),
                )
                .on_hover_text(
                    "MASE below 1: more accurate than repeating yesterday (seasonal naive), over rolling backtests",
                );
                let seasons = &f.forecast.seasons;
                ui.weak(RichText::new(format!("· {}", seasons.label())).small()).on_hover_text(format!(
                    "A forecast carries a daily or weekly season only when the history shows it in \
                     every cycle (at least three cycles, odd and even cycles alike): {}",
                    seasons.describe()
                ));
                for v in input.predicted.iter().filter(|v| v.twin == *input.id && v.rule.metric == *metric_name) {
                    ui.label(
                        RichText::new(format!(
                            "⚠ {} in {} (p {:.0}%)",
                            v.rule,
                            super::findings::format_eta(v.eta_secs),
                            v.probability * 100.0
                        ))
                        .small()
                        .color(theme::score_color(v.probability, input.dark)),
                    )
                    .on_hover_text(format!(
                        "policy {}, expected at {}",
                        v.policy,
                        format_short(v.at)
                    ));
                }
            });
        }
        let data_max = data.max.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let dark = input.dark;
        let unit_owned = unit.to_string();
        // Anomaly marks in view, placed on the plotted line.
        let marks: Vec<(f64, f64, String)> = input
            .anomalies
            .and_then(|a| a.get(&key))
            .map(|scan| {
                scan.marks
                    .iter()
                    .filter(|m| {
                        (m.ts as f64) >= view.0 - (view.1 - view.0) && (m.ts as f64) <= view.1 + (view.1 - view.0)
                    })
                    .filter_map(|m| {
                        let i = data.xs.partition_point(|x| *x <= m.ts as f64).checked_sub(1)?;
                        Some((data.xs[i], data.max[i], format!("{} (score {:.2})", m.reason, m.score)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mark_reasons = marks.clone();
        let mut plot = Plot::new(("metric-plot", input.id.as_str(), metric_name.as_str()))
            .height(120.0)
            .link_axis("metric-plots", [true, false])
            .link_cursor("metric-plots", [true, false])
            .allow_zoom([true, false])
            .allow_scroll([true, false])
            .allow_drag([true, false])
            .allow_double_click_reset(false)
            .x_grid_spacer(|input| time_marks(input.bounds))
            .x_axis_formatter(|mark, _| format_axis(mark.value as i64, mark.step_size))
            .y_axis_min_width(48.0)
            .label_formatter(move |pos| {
                if let egui_plot::HoverPosition::NearDataPoint { plot_name: "anomalies", position, .. } = pos
                    && let Some((_, _, reason)) = mark_reasons.iter().find(|(x, _, _)| *x == position.x)
                {
                    return Some(format!("{}\n{reason}", format_short(position.x as i64)));
                }
                let p = match pos {
                    egui_plot::HoverPosition::NearDataPoint { position, .. }
                    | egui_plot::HoverPosition::Elsewhere { position } => position,
                };
                Some(format!("{}\n{} {}", format_short(p.x as i64), format_value(p.y), unit_owned))
            });
        if reset {
            plot = plot.reset();
        }
        let response = plot.show(ui, |plot_ui| {
            if reset || state.view.is_none() {
                plot_ui.set_plot_bounds_x(full.0..=full.1);
            }
            if data.bucket_secs > s.resolution_secs && !data.xs.is_empty() {
                plot_ui.add(
                    FilledArea::new("min–max", &data.xs, &data.min, &data.max)
                        .fill_color(theme::series_color(dark).gamma_multiply(0.25))
                        .allow_hover(false),
                );
            }
            if let Some(f) = forecast {
                let f = &f.forecast;
                // A short history (a live source just connected) shows as much
                // forecast as it has history, so the forecast does not swamp it.
                let n = shown_steps(s, f);
                let xs: Vec<f64> = (0..n).map(|i| f.timestamp(i) as f64).collect();
                let color = theme::forecast_color(dark);
                plot_ui.add(
                    FilledArea::new("forecast 95%", &xs, &f.lower_95[..n], &f.upper_95[..n])
                        .fill_color(color.gamma_multiply(0.15))
                        .allow_hover(false),
                );
                plot_ui.add(
                    FilledArea::new("forecast 80%", &xs, &f.lower_80[..n], &f.upper_80[..n])
                        .fill_color(color.gamma_multiply(0.3))
                        .allow_hover(false),
                );
                let points: PlotPoints = xs.iter().zip(&f.mean).map(|(x, y)| [*x, *y]).collect();
                plot_ui.line(Line::new("forecast", points).color(color).width(1.2).style(LineStyle::dashed_dense()));
            }
            let points: PlotPoints = data.xs.iter().zip(&data.avg).map(|(x, y)| [*x, *y]).collect();
            plot_ui.line(
                Line::new(if data.bucket_secs > s.resolution_secs { "mean" } else { "value" }, points)
                    .color(theme::series_color(dark))
                    .width(1.4),
            );
            for (policy, rule) in &rules {
                if rule.threshold <= data_max * 1.6 || rule.threshold <= 100.0 && unit == "%" {
                    plot_ui.hline(
                        HLine::new(format!("{}: {}", policy.name, rule), rule.threshold)
                            .color(theme::threshold_color(dark))
                            .style(LineStyle::dashed_loose()),
                    );
                }
            }
            if !marks.is_empty() {
                let points: PlotPoints = marks.iter().map(|(x, y, _)| [*x, *y]).collect();
                plot_ui.points(
                    Points::new("anomalies", points)
                        .shape(MarkerShape::Circle)
                        .radius(4.0)
                        .filled(false)
                        .color(theme::status_color(crate::model::Status::Down, dark)),
                );
            }
            plot_ui.vline(VLine::new("cursor", input.time as f64).color(theme::cursor_color(dark)).width(1.2));
            if plot_ui.response().clicked()
                && let Some(p) = plot_ui.pointer_coordinate()
            {
                commands.push(Command::SetTime(p.x as i64));
            }
        });
        let b = response.transform.bounds();
        new_view = Some((b.min()[0], b.max()[0]));
    }
    if let Some(v) = new_view {
        state.view = Some(v);
    }
}

/// Forecast steps drawn: the whole forecast, or as many steps as the history spans when
/// that is shorter.
fn shown_steps(s: &Scenario, f: &crate::analytics::forecast::Forecast) -> usize {
    let span = (s.end - s.start).max(0) / f.step_secs.max(1);
    usize::try_from(span).unwrap_or(usize::MAX).clamp(1, f.len().max(1)).min(f.len())
}

/// A value with sensible precision for its magnitude.
pub fn format_value(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn format_bucket(secs: i64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s => format!("{} min", s / 60),
    }
}
