//! How a dependency is drawn: a straight arrow from the dependent to what it needs,
//! styled by kind (calls solid, routing blue, replication dashed violet, placement on a
//! host faint and dashed), brighter when either end is selected.

use eframe::egui::{Color32, Pos2, Rect, Shape, Stroke, Vec2};
use egui_graphs::{DisplayEdge, DisplayNode, DrawContext, EdgeProps, Node};
use petgraph::EdgeType;
use petgraph::stable_graph::IndexType;

use super::node_shape::{TwinNode, collapsed};
use crate::model::EdgeKind;

/// Drawing state of an edge.
#[derive(Clone, Debug)]
pub struct DependencyEdgeShape {
    kind: EdgeKind,
}

impl From<EdgeProps<EdgeKind>> for DependencyEdgeShape {
    fn from(props: EdgeProps<EdgeKind>) -> Self {
        Self { kind: props.payload }
    }
}

/// The colour of an edge kind.
pub fn edge_color(kind: EdgeKind, dark: bool) -> Color32 {
    match (kind, dark) {
        (EdgeKind::DependsOn, true) => Color32::from_gray(150),
        (EdgeKind::DependsOn, false) => Color32::from_gray(110),
        (EdgeKind::RoutesTo, true) => Color32::from_rgb(100, 160, 240),
        (EdgeKind::RoutesTo, false) => Color32::from_rgb(40, 100, 200),
        (EdgeKind::ReplicatesTo, true) => Color32::from_rgb(180, 130, 230),
        (EdgeKind::ReplicatesTo, false) => Color32::from_rgb(130, 70, 190),
        (EdgeKind::RunsOn, true) => Color32::from_gray(90),
        (EdgeKind::RunsOn, false) => Color32::from_gray(175),
    }
}

fn endpoints<Ty: EdgeType, Ix: IndexType, D: DisplayNode<TwinNode, EdgeKind, Ty, Ix>>(
    start: &Node<TwinNode, EdgeKind, Ty, Ix, D>,
    end: &Node<TwinNode, EdgeKind, Ty, Ix, D>,
) -> Option<(Pos2, Pos2)> {
    let d = end.location() - start.location();
    if d.length_sq() < 1e-6 {
        return None;
    }
    let dir = d.normalized();
    Some((start.display().closest_boundary_point(dir), end.display().closest_boundary_point(-dir)))
}

impl<Ty: EdgeType, Ix: IndexType, D: DisplayNode<TwinNode, EdgeKind, Ty, Ix>> DisplayEdge<TwinNode, EdgeKind, Ty, Ix, D>
    for DependencyEdgeShape
{
    fn shapes(
        &mut self,
        start: &Node<TwinNode, EdgeKind, Ty, Ix, D>,
        end: &Node<TwinNode, EdgeKind, Ty, Ix, D>,
        ctx: &DrawContext,
    ) -> Vec<Shape> {
        let zoom = ctx.meta.zoom;
        // Inside collapsed groups the twins are not drawn, nor their edges: the groups'
        // bundled edges stand for them.
        let shown = |n: &Node<TwinNode, EdgeKind, Ty, Ix, D>| {
            let p = n.payload();
            !p.grouped || n.selected() || p.picked || !collapsed(zoom)
        };
        if !shown(start) || !shown(end) {
            return Vec::new();
        }
        let Some((a, b)) = endpoints(start, end) else {
            return Vec::new();
        };
        let (a, b) = (ctx.meta.canvas_to_screen_pos(a), ctx.meta.canvas_to_screen_pos(b));
        if !ctx.painter.clip_rect().intersects(Rect::from_two_pos(a, b)) {
            return Vec::new();
        }
        let dark = ctx.ctx.global_style().visuals.dark_mode;
        let touched = start.selected() || end.selected();
        let faded = start.payload().dimmed && end.payload().dimmed;
        let mut color = edge_color(self.kind, dark);
        if touched {
            color = if dark { Color32::from_rgb(250, 210, 90) } else { Color32::from_rgb(200, 120, 0) };
        } else if faded {
            color = color.gamma_multiply(0.3);
        }
        let width = (if touched { 2.4 } else { 1.2 } * zoom).clamp(0.6, 4.0);
        let stroke = Stroke::new(width, color);
        let mut shapes = match self.kind {
            EdgeKind::RunsOn | EdgeKind::ReplicatesTo => {
                Shape::dashed_line(&[a, b], stroke, 6.0 * zoom.max(0.5), 4.0 * zoom.max(0.5))
            }
            _ => vec![Shape::line_segment([a, b], stroke)],
        };
        if self.kind != EdgeKind::RunsOn {
            let dir = (b - a).normalized();
            let size = (9.0 * zoom).clamp(4.0, 16.0);
            let back = b - dir * size;
            let side = Vec2::new(-dir.y, dir.x) * size * 0.45;
            shapes.push(Shape::convex_polygon(vec![b, back + side, back - side], color, Stroke::NONE));
        }
        shapes
    }

    fn update(&mut self, state: &EdgeProps<EdgeKind>) {
        self.kind = state.payload;
    }

    fn is_inside(
        &self,
        start: &Node<TwinNode, EdgeKind, Ty, Ix, D>,
        end: &Node<TwinNode, EdgeKind, Ty, Ix, D>,
        pos: Pos2,
    ) -> bool {
        let Some((a, b)) = endpoints(start, end) else {
            return false;
        };
        let ab = b - a;
        let t = ((pos - a).dot(ab) / ab.length_sq()).clamp(0.0, 1.0);
        (a + ab * t - pos).length() < 3.0
    }
}
