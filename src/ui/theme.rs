//! Colours and visuals: status colours readable in light and dark themes.

use eframe::egui::{self, Color32};

use crate::model::{Status, TwinKind};

/// The colour of a status.
pub fn status_color(status: Status, dark: bool) -> Color32 {
    match (status, dark) {
        (Status::Healthy, true) => Color32::from_rgb(46, 160, 90),
        (Status::Healthy, false) => Color32::from_rgb(34, 139, 74),
        (Status::Degraded, true) => Color32::from_rgb(230, 160, 40),
        (Status::Degraded, false) => Color32::from_rgb(204, 122, 0),
        (Status::Down, true) => Color32::from_rgb(225, 70, 70),
        (Status::Down, false) => Color32::from_rgb(200, 40, 40),
        (Status::Unknown, _) => Color32::from_rgb(128, 128, 140),
    }
}

/// A score in [0, 1] on a green → amber → red ramp (0 is the healthy colour).
pub fn score_color(score: f64, dark: bool) -> Color32 {
    let s = score.clamp(0.0, 1.0) as f32;
    let green = status_color(Status::Healthy, dark);
    let amber = status_color(Status::Degraded, dark);
    let red = status_color(Status::Down, dark);
    if s <= 0.0 {
        green
    } else if s < 0.5 {
        lerp(amber.gamma_multiply(0.85), amber, s * 2.0)
    } else {
        lerp(amber, red, (s - 0.5) * 2.0)
    }
}

fn lerp(a: Color32, b: Color32, t: f32) -> Color32 {
    let mix = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t).round() as u8;
    Color32::from_rgb(mix(a.r(), b.r()), mix(a.g(), b.g()), mix(a.b(), b.b()))
}

/// A short tag for a kind, drawn on graph nodes.
pub fn kind_tag(kind: TwinKind) -> &'static str {
    match kind {
        TwinKind::Host => "HOST",
        TwinKind::Vm => "VM",
        TwinKind::Container => "CTR",
        TwinKind::Service => "SVC",
        TwinKind::Database => "DB",
        TwinKind::Cache => "CACHE",
        TwinKind::Queue => "QUEUE",
        TwinKind::LoadBalancer => "LB",
        TwinKind::Link => "LINK",
        TwinKind::Process => "PROC",
    }
}

/// Colour of threshold lines.
pub fn threshold_color(dark: bool) -> Color32 {
    if dark { Color32::from_rgb(240, 90, 90) } else { Color32::from_rgb(200, 30, 30) }
}

/// Colour of metric lines.
pub fn series_color(dark: bool) -> Color32 {
    if dark { Color32::from_rgb(90, 180, 250) } else { Color32::from_rgb(20, 100, 190) }
}

/// Colour of forecasts (median line and interval bands).
pub fn forecast_color(dark: bool) -> Color32 {
    if dark { Color32::from_rgb(200, 150, 255) } else { Color32::from_rgb(120, 60, 190) }
}

/// Colour of what was learned from history (workload models' provenance).
pub fn learned_color(dark: bool) -> Color32 {
    if dark { Color32::from_rgb(80, 200, 190) } else { Color32::from_rgb(0, 128, 120) }
}

/// A status as a coloured dot and its name.
pub fn status_badge(ui: &mut egui::Ui, status: Status, dark: bool) -> egui::Response {
    let color = status_color(status, dark);
    ui.horizontal(|ui| {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
        ui.painter().circle_filled(rect.center(), 5.0, color);
        ui.label(egui::RichText::new(status.as_str()).strong().color(color));
    })
    .response
}

/// Colour of the time cursor.
pub fn cursor_color(dark: bool) -> Color32 {
    if dark { Color32::from_rgb(120, 170, 255) } else { Color32::from_rgb(30, 90, 200) }
}

/// Applies the chosen theme.
pub fn apply(ctx: &egui::Context, dark: bool) {
    ctx.set_visuals(if dark { egui::Visuals::dark() } else { egui::Visuals::light() });
}

/// How often a busy indicator redraws: often enough to look alive, rarely enough that
/// a window showing one does not take a core from the work it waits for (egui's own
/// spinner repaints every frame, which under software rendering costs most of a core).
const BUSY_REPAINT: std::time::Duration = std::time::Duration::from_millis(120);

/// A spinner that animates at about 8 frames a second.
pub fn spinner(ui: &mut egui::Ui) -> egui::Response {
    let size = ui.style().spacing.interact_size.y;
    let (rect, response) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    if ui.is_rect_visible(rect) {
        ui.ctx().request_repaint_after(BUSY_REPAINT);
        let color = ui.visuals().strong_text_color();
        let radius = rect.height() / 2.0 - 2.0;
        let turn = (ui.input(|i| i.time) * 4.0) as f32;
        let points: Vec<egui::Pos2> = (0..=24)
            .map(|i| {
                let angle = turn + i as f32 / 24.0 * std::f32::consts::TAU * 0.75;
                rect.center() + radius * egui::vec2(angle.cos(), angle.sin())
            })
            .collect();
        ui.painter().add(egui::Shape::line(points, egui::Stroke::new(3.0, color)));
    }
    response
}
