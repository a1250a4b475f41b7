//! How a twin is drawn in the dependency graph: a rounded card with the kind's tag and
//! the twin's id, filled with its status colour.

use eframe::egui::{self, Color32, FontId, Pos2, Rect, Shape, Stroke, Vec2, epaint::RectShape};
use egui_graphs::{DisplayNode, DrawContext, NodeProps};
use petgraph::EdgeType;
use petgraph::stable_graph::IndexType;

use crate::model::{TwinId, TwinKind};

/// The payload of a graph node.
#[derive(Clone, Debug)]
pub struct TwinNode {
    /// The twin.
    pub id: TwinId,
    /// Its kind (drawn as a tag).
    pub kind: TwinKind,
    /// Drawn faded (filtered out by search or kind).
    pub dimmed: bool,
    /// A member of a group box (estates of more than `GROUPED_ABOVE` twins): zoomed
    /// out, the group is drawn in its place ([`collapsed`]).
    pub grouped: bool,
    /// Drawn even while its group is collapsed: a focus or search picked it out.
    pub picked: bool,
}

/// Below this zoom a node's text would be under 4 points: twins are too small to read,
/// so grouped twins give way to their group drawn as one node.
pub const COLLAPSE_ZOOM: f32 = 4.0 / FONT;

/// Whether groups are drawn as nodes (in place of their twins) at `zoom`.
pub fn collapsed(zoom: f32) -> bool {
    zoom < COLLAPSE_ZOOM
}

/// How far outside the view (in points) a node is still drawn.
const CULL_MARGIN: f32 = 40.0;

/// The drawing state of a node.
#[derive(Clone, Debug)]
pub struct TwinNodeShape {
    pos: Pos2,
    selected: bool,
    hovered: bool,
    dragged: bool,
    dimmed: bool,
    grouped: bool,
    picked: bool,
    /// Not drawn in the last frame (inside a collapsed group): not clickable either.
    hidden: bool,
    color: Option<Color32>,
    label: String,
    tag: &'static str,
    /// Half size in canvas units, from the last drawing (for hit tests and edges).
    half: Vec2,
}

const FONT: f32 = 13.0;
const PAD: f32 = 7.0;

impl From<NodeProps<TwinNode>> for TwinNodeShape {
    fn from(props: NodeProps<TwinNode>) -> Self {
        let label = props.label.clone();
        let tag = super::theme::kind_tag(props.payload.kind);
        // Until the first draw measures the text, estimate its size.
        let half = Vec2::new((label.len() + tag.len() + 1) as f32 * FONT * 0.31 + PAD, FONT * 0.85);
        Self {
            pos: props.location(),
            selected: props.selected,
            hovered: props.hovered,
            dragged: props.dragged,
            dimmed: props.payload.dimmed,
            grouped: props.payload.grouped,
            picked: props.payload.picked,
            hidden: false,
            color: props.color(),
            label,
            tag,
            half,
        }
    }
}

impl<E: Clone, Ty: EdgeType, Ix: IndexType> DisplayNode<TwinNode, E, Ty, Ix> for TwinNodeShape {
    fn closest_boundary_point(&self, dir: Vec2) -> Pos2 {
        // Where the ray from the centre leaves the card.
        let d = dir.normalized();
        let tx = if d.x.abs() > f32::EPSILON { self.half.x / d.x.abs() } else { f32::INFINITY };
        let ty = if d.y.abs() > f32::EPSILON { self.half.y / d.y.abs() } else { f32::INFINITY };
        self.pos + d * tx.min(ty)
    }

    fn shapes(&mut self, ctx: &DrawContext) -> Vec<Shape> {
        let zoom = ctx.meta.zoom;
        self.hidden = self.grouped && collapsed(zoom) && !self.selected && !self.picked;
        if self.hidden {
            return Vec::new();
        }
        let center = ctx.meta.canvas_to_screen_pos(self.pos);
        // Off screen: nothing to draw (the size from the last drawing stays for edges).
        let reach = self.half * zoom + Vec2::splat(CULL_MARGIN);
        if !ctx.painter.clip_rect().expand2(reach).contains(center) {
            return Vec::new();
        }
        let dark = ctx.ctx.global_style().visuals.dark_mode;
        let base = self.color.unwrap_or(Color32::GRAY);
        let alpha = if self.dimmed { 0.25 } else { 1.0 };
        let fill = base.gamma_multiply(if dark { 0.55 } else { 0.35 } * alpha);
        let text_color =
            if dark { Color32::from_gray(235) } else { Color32::from_gray(20) }.gamma_multiply(alpha.max(0.45));
        let font_size = FONT * zoom;
        let mut shapes = Vec::with_capacity(3);
        if font_size < 4.0 {
            // Too small to read: a dot in the status colour.
            let r = (4.0 * zoom).max(1.5);
            self.half = Vec2::splat(r / zoom.max(1e-3));
            shapes.push(Shape::circle_filled(center, r, base.gamma_multiply(alpha)));
            return shapes;
        }
        let (tag_galley, label_galley) = ctx.ctx.fonts_mut(|f| {
            (
                f.layout_no_wrap(
                    self.tag.to_string(),
                    FontId::proportional(font_size * 0.72),
                    base.gamma_multiply(alpha.max(0.5)),
                ),
                f.layout_no_wrap(self.label.clone(), FontId::proportional(font_size), text_color),
            )
        });
        let gap = 5.0 * zoom;
        let pad = PAD * zoom;
        let width = tag_galley.size().x + gap + label_galley.size().x + 2.0 * pad;
        let height = label_galley.size().y + 1.1 * pad;
        let rect = Rect::from_center_size(center, Vec2::new(width, height));
        self.half = Vec2::new(width, height) / (2.0 * zoom.max(1e-3));
        let stroke = if self.selected {
            Stroke::new(2.5 * zoom.max(0.6), if dark { Color32::WHITE } else { Color32::BLACK })
        } else if self.hovered || self.dragged {
            Stroke::new(1.8 * zoom.max(0.6), base)
        } else {
            Stroke::new(1.2 * zoom.max(0.6), base.gamma_multiply(alpha))
        };
        shapes.push(RectShape::new(rect, 6.0 * zoom, fill, stroke, egui::StrokeKind::Inside).into());
        let tag_pos = Pos2::new(rect.left() + pad, center.y - tag_galley.size().y / 2.0);
        let label_pos = Pos2::new(tag_pos.x + tag_galley.size().x + gap, center.y - label_galley.size().y / 2.0);
        shapes.push(Shape::galley(tag_pos, tag_galley, Color32::PLACEHOLDER));
        shapes.push(Shape::galley(label_pos, label_galley, Color32::PLACEHOLDER));
        shapes
    }

    fn update(&mut self, state: &NodeProps<TwinNode>) {
        self.pos = state.location();
        self.selected = state.selected;
        self.hovered = state.hovered;
        self.dragged = state.dragged;
        self.dimmed = state.payload.dimmed;
        self.grouped = state.payload.grouped;
        self.picked = state.payload.picked;
        self.color = state.color();
        if self.label != state.label {
            self.label = state.label.clone();
        }
    }

    fn is_inside(&self, pos: Pos2) -> bool {
        if self.hidden {
            return false;
        }
        let d = pos - self.pos;
        d.x.abs() <= self.half.x && d.y.abs() <= self.half.y
    }
}
