//! The minimap of an estate's graph: every application box in miniature, coloured as
//! in the view, with a frame around the part in view. A click or a drag on it moves
//! the view there.

use eframe::egui::{self, Color32};
use egui_graphs::MetadataFrame;

use super::GraphModel;

/// The largest the map is drawn, in points.
const SIZE: egui::Vec2 = egui::vec2(190.0, 130.0);
/// Its distance from the view's corner.
const MARGIN: f32 = 10.0;

impl GraphModel {
    /// Draws the minimap in the bottom-right corner of the view `rect` (`view_id` is
    /// the graph view's) and moves the view to what is clicked or dragged on it. Only
    /// for graphs laid out in groups, while part of the graph is out of view, and not in
    /// a view too small to spare the room.
    pub(super) fn minimap_ui(&self, ui: &mut egui::Ui, rect: egui::Rect, view_id: &str) {
        if self.groups.is_empty() {
            return;
        }
        let boxes: Vec<(usize, egui::Rect)> =
            (0..self.groups.len()).filter_map(|i| Some((i, self.group_bounds(i)?))).collect();
        let world = boxes.iter().fold(egui::Rect::NOTHING, |all, (_, r)| all.union(*r));
        if !(world.width() > 0.0 && world.height() > 0.0) {
            return;
        }
        let scale = (SIZE.x / world.width()).min(SIZE.y / world.height());
        let size = world.size() * scale;
        let map = egui::Rect::from_min_size(rect.right_bottom() - size - egui::Vec2::splat(MARGIN), size);
        if size.x * 3.0 > rect.width() || size.y * 3.0 > rect.height() {
            return;
        }
        let to_map = |p: egui::Pos2| map.min + (p - world.min) * scale;
        // The part of the canvas in view: the view's corners, unpanned and unzoomed.
        let meta = MetadataFrame::new(Some(view_id.to_string())).load(ui);
        let seen_before = egui::Rect::from_min_max(
            (-meta.pan / meta.zoom).to_pos2(),
            ((rect.size() - meta.pan) / meta.zoom).to_pos2(),
        );
        if seen_before.contains_rect(world) {
            // Everything is in view: nothing to find.
            return;
        }
        let response = ui
            .interact(map, egui::Id::new(view_id).with("minimap"), egui::Sense::click_and_drag())
            .on_hover_text("Minimap: click or drag to move the view");
        response.widget_info(|| egui::WidgetInfo::labeled(egui::WidgetType::Other, true, "Minimap"));
        let mut meta = meta;
        let (zoom, mut pan) = (meta.zoom, meta.pan);
        if (response.clicked() || response.dragged())
            && let Some(at) = response.interact_pointer_pos()
        {
            let target = world.min + (at.clamp(map.min, map.max) - map.min) / scale;
            pan = rect.size() / 2.0 - target.to_vec2() * zoom;
            meta.pan = pan;
            meta.save(ui);
        }
        let painter = ui.painter_at(rect);
        let visuals = ui.visuals();
        painter.rect(
            map.expand(4.0),
            4.0,
            visuals.extreme_bg_color.gamma_multiply(0.92),
            visuals.widgets.noninteractive.bg_stroke,
            egui::StrokeKind::Outside,
        );
        for (i, r) in &boxes {
            let colour = self.summaries.get(*i).map_or(Color32::GRAY, |s| s.colour);
            let shown = egui::Rect::from_min_max(to_map(r.min), to_map(r.max)).shrink(0.5);
            painter.rect_filled(shown, 1.0, colour.gamma_multiply(0.75));
        }
        let seen = egui::Rect::from_min_max((-pan / zoom).to_pos2(), ((rect.size() - pan) / zoom).to_pos2());
        let frame = egui::Rect::from_min_max(to_map(seen.min), to_map(seen.max)).intersect(map.expand(2.0));
        if frame.is_positive() {
            painter.rect_stroke(
                frame,
                1.0,
                egui::Stroke::new(1.5, visuals.strong_text_color()),
                egui::StrokeKind::Inside,
            );
        }
    }
}
