//! The dependency graph panel: a deterministic layered layout (what depends on
//! something sits above it), nodes coloured by health at the timeline's time, search
//! and kind filters that fade what does not match, click to select.

use std::collections::BTreeMap;

use eframe::egui::{self, Color32, Pos2};
use egui_graphs::{
    Graph, GraphChange, GraphView, Layout, LayoutState, MetadataFrame, SettingsInteraction, SettingsNavigation,
    SettingsStyle,
};
use petgraph::Directed;
use petgraph::stable_graph::{DefaultIx, NodeIndex};

mod minimap;

use super::command::{Command, Commands};
use super::edge_shape::{DependencyEdgeShape, edge_color};
use super::graph_filter::{ColourMode, GraphFilter, toolbar_ui};
use super::node_shape::{TwinNode, TwinNodeShape, collapsed};
use super::theme;
use crate::model::{EdgeKind, Status, TwinGraph, TwinGroup, TwinId, TwinKind};

/// The egui_graphs graph of a scenario.
pub type ViewGraph = Graph<TwinNode, EdgeKind, Directed, DefaultIx, TwinNodeShape, DependencyEdgeShape>;

/// A layout that keeps the positions it is given (ours are computed once, in
/// [`layered_positions`]).
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FixedState;

impl LayoutState for FixedState {}

/// The layout for [`FixedState`]: it never moves a node.
#[derive(Debug, Default)]
pub struct FixedLayout;

impl Layout<FixedState> for FixedLayout {
    fn from_state(_state: FixedState) -> impl Layout<FixedState> {
        FixedLayout
    }

    fn next<N, E, Ty, Ix, Dn, De>(&mut self, _g: &mut Graph<N, E, Ty, Ix, Dn, De>, _ui: &egui::Ui)
    where
        N: Clone,
        E: Clone,
        Ty: petgraph::EdgeType,
        Ix: petgraph::csr::IndexType,
        Dn: egui_graphs::DisplayNode<N, E, Ty, Ix>,
        De: egui_graphs::DisplayEdge<N, E, Ty, Ix, Dn>,
    {
    }

    fn state(&self) -> FixedState {
        FixedState
    }
}

/// The graph as shown, with the mapping from twins to view nodes.
pub struct GraphModel {
    /// The egui_graphs graph.
    pub graph: ViewGraph,
    index: BTreeMap<TwinId, NodeIndex>,
    /// Bumped to make the view fit the graph again.
    pub view_generation: u64,
    /// Frames left during which the view fits the graph to the panel (the first frames
    /// measure node sizes and panel widths).
    fit_frames: u8,
    /// Width and height of the layout (between node centres), for fitting.
    extent: egui::Vec2,
    /// A zoom and pan to apply in the next frame, as a user's scroll and drag would
    /// (`--frame-stats` measures frames while the view moves).
    pub motion: Option<Motion>,
    /// The named groups drawn as labelled boxes (estates of more than
    /// [`GROUPED_ABOVE`] twins), with their view nodes.
    groups: Vec<(TwinGroup, Vec<NodeIndex>)>,
    /// What each group's box says and its colour, in `groups` order (set by the app).
    summaries: Vec<GroupSummary>,
    /// Dependencies between groups, bundled: (from group, to group, how many), drawn
    /// in place of the twins' edges while the groups are collapsed.
    bundles: Vec<(usize, usize, usize)>,
    /// Where the view was in the last frame: its rectangle, zoom and pan (in screen
    /// points from the rectangle's corner), for [`GraphModel::twins_in_view`].
    last_view: Option<(egui::Rect, f32, egui::Vec2)>,
    /// The selected twin.
    selected: Option<TwinId>,
    /// A twin to bring into view once the view is fitted.
    reveal: Option<TwinId>,
    /// A zoom and pan to put the view at once it is fitted (a restored workspace).
    restore: Option<(f32, egui::Vec2)>,
}

/// Graphs of more twins than this are laid out and boxed by group (application,
/// namespace or community); smaller ones are one block.
pub const GROUPED_ABOVE: usize = 40;

/// The label and colour of a group's box.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupSummary {
    /// The label: name, size and what is wrong in it.
    pub text: String,
    /// The box's colour (its worst twin's).
    pub colour: Color32,
}

/// A change of the graph view: zoom by a factor about the panel's centre, then pan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Motion {
    /// Zoom factor (1 keeps the zoom).
    pub zoom: f32,
    /// Pan in screen points.
    pub pan: egui::Vec2,
}

const COL: f32 = 190.0;
const ROW: f32 = 95.0;

/// The most a fitted view zooms in: a graph of a few twins shows at a readable size
/// instead of blown up to fill the panel.
const MAX_FIT_ZOOM: f32 = 1.5;

/// The least zoom a twin brought into view is shown at: its card readable.
const REVEAL_ZOOM: f32 = 0.8;

/// The padding egui_graphs fits a layout of `extent` into a `canvas` with. It takes
/// the graph's bounds as the node centres plus a card's half height on every side and
/// scales them by `1 + padding`; the padding here makes the zoom the one that fits the
/// centres with a card's width and height to spare, at most [`MAX_FIT_ZOOM`].
fn fit_padding(extent: egui::Vec2, canvas: egui::Vec2) -> f32 {
    const HALF_HEIGHT: f32 = 12.0;
    let bounds = extent + egui::Vec2::splat(2.0 * HALF_HEIGHT);
    let theirs = (canvas.x / bounds.x).min(canvas.y / bounds.y);
    let ours = (canvas.x / (extent.x + COL)).min(canvas.y / (extent.y + 0.6 * ROW)).min(MAX_FIT_ZOOM);
    if !(theirs.is_finite() && ours.is_finite() && ours > 0.0) {
        return 0.1;
    }
    (theirs / ours - 1.0).max(0.1)
}

/// Positions of a layered layout. Each group of twins (an application, a namespace or
/// a community — [`TwinGraph::groups`]; the whole graph when it is small) is a block: rows from the dependency order (what
/// needs something sits above it, hosts at the bottom), each row ordered by the mean
/// position of the twins above that depend on it (ties by id), long rows wrapped.
/// Blocks are packed left to right in shelves. Deterministic.
pub fn layered_positions(graph: &TwinGraph) -> BTreeMap<TwinId, Pos2> {
    let levels = graph.levels();
    let groups: Vec<Vec<TwinId>> = if graph.twin_count() > GROUPED_ABOVE {
        graph.groups().into_iter().map(|g| g.twins).collect()
    } else {
        vec![graph.ids().cloned().collect()]
    };
    let max_level = levels.values().copied().max().unwrap_or(0);
    let shelf_width = ((graph.twin_count() as f32).sqrt() * 1.4).max(8.0) * COL;
    let mut positions = BTreeMap::new();
    let (mut x0, mut y0, mut shelf_height) = (0.0f32, 0.0f32, 0.0f32);
    for group in groups {
        let block = block_positions(graph, &levels, &group, max_level);
        let width = block.values().map(|p| p.x).fold(0.0f32, f32::max) + COL;
        let height = block.values().map(|p| p.y).fold(0.0f32, f32::max) + ROW;
        if x0 > 0.0 && x0 + width > shelf_width {
            x0 = 0.0;
            y0 += shelf_height + ROW;
            shelf_height = 0.0;
        }
        for (id, p) in block {
            positions.insert(id, Pos2::new(x0 + p.x, y0 + p.y));
        }
        x0 += width + COL * 0.5;
        shelf_height = shelf_height.max(height);
    }
    positions
}

/// Positions of one block, from (0, 0).
fn block_positions(
    graph: &TwinGraph,
    levels: &BTreeMap<TwinId, usize>,
    group: &[TwinId],
    max_level: usize,
) -> BTreeMap<TwinId, Pos2> {
    let mut by_level: Vec<Vec<TwinId>> = vec![Vec::new(); max_level + 1];
    for id in group {
        by_level[levels.get(id).copied().unwrap_or(0)].push(id.clone());
    }
    let wrap = ((group.len() as f32).sqrt() * 1.6).ceil().max(8.0) as usize;
    let widest = by_level.iter().map(|l| l.len().min(wrap)).max().unwrap_or(1) as f32;
    let mut x_of: BTreeMap<TwinId, f32> = BTreeMap::new();
    let mut out = BTreeMap::new();
    let mut row = 0.0f32;
    for ids in by_level.iter().filter(|l| !l.is_empty()) {
        let key = |id: &TwinId| -> f32 {
            let xs: Vec<f32> = graph.dependents(id).iter().filter_map(|(t, _)| x_of.get(&t.id).copied()).collect();
            if xs.is_empty() { f32::MAX } else { xs.iter().sum::<f32>() / xs.len() as f32 }
        };
        let mut keyed: Vec<(f32, TwinId)> = ids.iter().map(|id| (key(id), id.clone())).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        for chunk in keyed.chunks(wrap) {
            let offset = (widest - chunk.len() as f32) * COL / 2.0;
            for (i, (_, id)) in chunk.iter().enumerate() {
                let x = offset + i as f32 * COL;
                x_of.insert(id.clone(), x);
                out.insert(id.clone(), Pos2::new(x, row * ROW));
            }
            row += 1.0;
        }
    }
    out
}

impl GraphModel {
    /// Builds the view graph of a twin graph.
    pub fn build(twins: &TwinGraph) -> Self {
        let positions = layered_positions(twins);
        let named = if twins.twin_count() > GROUPED_ABOVE { twins.groups() } else { Vec::new() };
        let group_of: BTreeMap<&TwinId, usize> =
            named.iter().enumerate().flat_map(|(i, g)| g.twins.iter().map(move |id| (id, i))).collect();
        let mut graph = ViewGraph::new();
        let mut index = BTreeMap::new();
        for twin in twins.twins() {
            let pos = positions.get(&twin.id).copied().unwrap_or(Pos2::ZERO);
            let grouped = group_of.contains_key(&twin.id);
            let payload = TwinNode { id: twin.id.clone(), kind: twin.kind, dimmed: false, grouped, picked: false };
            let node = graph.add_node_with_label_and_location(payload, twin.id.to_string(), pos);
            index.insert(twin.id.clone(), node);
        }
        let mut bundled: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for (from, to, _) in twins.edges() {
            if let (Some(a), Some(b)) = (group_of.get(from), group_of.get(to))
                && a != b
            {
                *bundled.entry((*a, *b)).or_default() += 1;
            }
        }
        let bundles = bundled.into_iter().map(|((a, b), n)| (a, b, n)).collect();
        for (from, to, dep) in twins.edges() {
            if let (Some(a), Some(b)) = (index.get(from), index.get(to)) {
                graph.add_edge(*a, *b, dep.kind);
            }
        }
        let (mut lo, mut hi) = (Pos2::new(f32::MAX, f32::MAX), Pos2::new(f32::MIN, f32::MIN));
        for p in positions.values() {
            (lo, hi) = (lo.min(*p), hi.max(*p));
        }
        let extent = if positions.is_empty() { egui::Vec2::ZERO } else { hi - lo };
        let groups = named
            .into_iter()
            .map(|g| {
                let nodes = g.twins.iter().filter_map(|id| index.get(id).copied()).collect();
                (g, nodes)
            })
            .collect();
        Self {
            graph,
            index,
            view_generation: 0,
            fit_frames: 4,
            extent,
            motion: None,
            groups,
            summaries: Vec::new(),
            bundles,
            last_view: None,
            selected: None,
            reveal: None,
            restore: None,
        }
    }

    /// Rebuilds the view of a changed twin graph (a live source found a new twin)
    /// keeping the user's zoom and pan: the view is not fitted again (*Fit* does it),
    /// unless nothing was shown before.
    pub fn rebuild(&self, twins: &TwinGraph) -> Self {
        let fresh = Self::build(twins);
        let fit_frames = if self.index.is_empty() { fresh.fit_frames } else { 0 };
        Self { view_generation: self.view_generation, fit_frames, ..fresh }
    }

    /// Sets node colours and fading. With `picking` (a focus or search is active) the
    /// twins not faded are drawn also while their groups are collapsed.
    pub fn paint(
        &mut self,
        color_of: impl Fn(&TwinId) -> Color32,
        dimmed: impl Fn(&TwinId, TwinKind) -> bool,
        picking: bool,
    ) {
        for node in self.index.values() {
            if let Some(n) = self.graph.node_mut(*node) {
                let id = n.payload().id.clone();
                let kind = n.payload().kind;
                n.set_color(color_of(&id));
                let faded = dimmed(&id, kind);
                n.payload_mut().dimmed = faded;
                n.payload_mut().picked = picking && !faded;
            }
        }
    }

    /// The groups drawn as boxes (none for a small graph).
    pub fn groups(&self) -> impl Iterator<Item = &TwinGroup> {
        self.groups.iter().map(|(g, _)| g)
    }

    /// What each group's box says, in group order.
    pub fn group_texts(&self) -> Vec<String> {
        self.summaries.iter().map(|s| s.text.clone()).collect()
    }

    /// Sets what the group boxes say, in [`GraphModel::groups`] order.
    pub fn set_group_summaries(&mut self, summaries: Vec<GroupSummary>) {
        self.summaries = summaries;
    }

    /// The canvas rectangle of group `i`'s box: its twins' centres with a card's margin.
    fn group_bounds(&self, i: usize) -> Option<egui::Rect> {
        let (_, nodes) = self.groups.get(i)?;
        let mut bounds = egui::Rect::NOTHING;
        for node in nodes {
            if let Some(n) = self.graph.node(*node) {
                bounds.extend_with(n.location());
            }
        }
        (bounds.width() >= 0.0).then(|| bounds.expand2(egui::vec2(COL * 0.45, ROW * 0.3)))
    }

    /// Draws each group as a labelled box around its twins, under the view's zoom and
    /// pan (`view_id` is the graph view's): the labels keep their size, so the names
    /// stay readable when zoomed out. Zoomed out ([`collapsed`]) a group is one node —
    /// a filled box with its name and counts — and the dependencies between groups are
    /// drawn bundled, as one arrow per pair of groups, thicker the more it carries.
    /// Returns the group double-clicked, if any.
    fn groups_ui(&self, ui: &egui::Ui, rect: egui::Rect, view_id: &str) -> Option<usize> {
        if self.groups.is_empty() {
            return None;
        }
        let meta = MetadataFrame::new(Some(view_id.to_string())).load(ui);
        let folded = collapsed(meta.zoom);
        let painter = ui.painter_at(rect);
        let dark = ui.visuals().dark_mode;
        // The view draws at `pan` from its rect's corner.
        let corner = rect.left_top().to_vec2();
        let to_screen = |r: egui::Rect| {
            egui::Rect::from_min_max(
                meta.canvas_to_screen_pos(r.min) + corner,
                meta.canvas_to_screen_pos(r.max) + corner,
            )
        };
        let font = egui::FontId::proportional(13.0);
        let ink = if dark { Color32::WHITE } else { Color32::BLACK };
        let boxes: Vec<Option<egui::Rect>> =
            (0..self.groups.len()).map(|i| self.group_bounds(i).map(to_screen)).collect();
        if folded {
            for (a, b, n) in &self.bundles {
                let (Some(Some(ra)), Some(Some(rb))) = (boxes.get(*a), boxes.get(*b)) else {
                    continue;
                };
                let (from, to) = (ra.center(), rb.center());
                if !rect.intersects(egui::Rect::from_two_pos(from, to)) {
                    continue;
                }
                let colour = edge_color(EdgeKind::DependsOn, dark).gamma_multiply(0.8);
                let width = (1.0 + (*n as f32).ln()).clamp(1.0, 6.0);
                // From box edge to box edge, with the arrowhead on what is needed.
                let dir = (to - from).normalized();
                let exit = |r: &egui::Rect, d: egui::Vec2| {
                    let tx = if d.x.abs() > f32::EPSILON { r.width() / 2.0 / d.x.abs() } else { f32::INFINITY };
                    let ty = if d.y.abs() > f32::EPSILON { r.height() / 2.0 / d.y.abs() } else { f32::INFINITY };
                    r.center() + d * tx.min(ty)
                };
                let (a_pt, b_pt) = (exit(ra, dir), exit(rb, -dir));
                if (b_pt - a_pt).dot(dir) <= 0.0 {
                    continue;
                }
                painter.line_segment([a_pt, b_pt], egui::Stroke::new(width, colour));
                let size = 6.0 + width;
                let back = b_pt - dir * size;
                let side = egui::vec2(-dir.y, dir.x) * size * 0.45;
                painter.add(egui::Shape::convex_polygon(
                    vec![b_pt, back + side, back - side],
                    colour,
                    egui::Stroke::NONE,
                ));
            }
        }
        for (i, (group, _)) in self.groups.iter().enumerate() {
            let Some(Some(screen)) = boxes.get(i) else {
                continue;
            };
            if !screen.intersects(rect) {
                continue;
            }
            let summary = self.summaries.get(i);
            let colour = summary.map_or(Color32::GRAY, |s| s.colour);
            let text = summary.map_or_else(|| group.name.clone(), |s| s.text.clone());
            if folded {
                painter.rect(
                    *screen,
                    6.0,
                    colour.gamma_multiply(if dark { 0.35 } else { 0.22 }),
                    egui::Stroke::new(1.5, colour),
                    egui::StrokeKind::Inside,
                );
                // The name, then each count on a line of its own while the box has
                // room, each cut to the box's width.
                let width = (screen.width() - 8.0).max(40.0);
                let mut y = screen.top() + 3.0;
                for (i, line) in text.split(" · ").enumerate() {
                    let strong = i == 0;
                    let mut job = egui::text::LayoutJob::simple_singleline(
                        line.to_string(),
                        font.clone(),
                        if strong { ink } else { ink.gamma_multiply(0.8) },
                    );
                    job.wrap = egui::text::TextWrapping::truncate_at_width(width);
                    let galley = painter.layout_job(job);
                    if !strong && y + galley.size().y > screen.bottom() - 1.0 {
                        break;
                    }
                    let at = egui::pos2(screen.center().x - galley.size().x / 2.0, y);
                    y += galley.size().y;
                    painter.galley(at, galley, ink);
                }
                continue;
            }
            painter.rect_stroke(
                *screen,
                6.0,
                egui::Stroke::new(1.5, colour.gamma_multiply(0.8)),
                egui::StrokeKind::Outside,
            );
            let mut job = egui::text::LayoutJob::simple_singleline(text, font.clone(), ink);
            // A long label is cut at its box's width (at least a readable stub).
            job.wrap = egui::text::TextWrapping::truncate_at_width(screen.width().max(120.0));
            let galley = painter.layout_job(job);
            let at = screen.left_top() + egui::vec2(4.0, -galley.size().y - 2.0);
            let back = egui::Rect::from_min_size(at, galley.size()).expand(2.0);
            painter.rect_filled(back, 3.0, ui.visuals().panel_fill.gamma_multiply(0.9));
            painter.galley(at, galley, colour);
        }
        let double = ui.input(|i| i.pointer.button_double_clicked(egui::PointerButton::Primary));
        let at = ui.input(|i| i.pointer.interact_pos());
        match (double && folded, at) {
            (true, Some(at)) if rect.contains(at) => boxes.iter().position(|b| b.is_some_and(|b| b.contains(at))),
            _ => None,
        }
    }

    /// Zooms and pans the view (`view_id`, in a panel of `size`) so group `i` fills
    /// it, at a zoom where its twins are drawn.
    fn expand_group(&self, ui: &mut egui::Ui, i: usize, size: egui::Vec2, view_id: &str) {
        let Some(bounds) = self.group_bounds(i) else {
            return;
        };
        let mut meta = MetadataFrame::new(Some(view_id.to_string())).load(ui);
        let fit = (size.x / bounds.width()).min(size.y / bounds.height()) * 0.9;
        meta.zoom = fit.clamp(super::node_shape::COLLAPSE_ZOOM * 1.25, MAX_FIT_ZOOM);
        meta.pan = (size / 2.0) - bounds.center().to_vec2() * meta.zoom;
        meta.save(ui);
    }

    /// The view's zoom and pan (from its corner) in the last frame drawn.
    pub fn view(&self) -> Option<(f32, egui::Vec2)> {
        self.last_view.map(|(_, zoom, pan)| (zoom, pan))
    }

    /// Puts the view at `zoom` and `pan` (from its corner) once it is fitted, in place
    /// of bringing the selection into view.
    pub fn restore_view(&mut self, zoom: f32, pan: egui::Vec2) {
        self.restore = Some((zoom, pan));
    }

    /// Fits the whole graph into view.
    pub fn fit(&mut self) {
        self.fit_frames = 2;
    }

    /// Brings twin `id` into the view (`view_id`, in `rect`) when it is not drawn
    /// there: outside the view or in a collapsed group. The view centres on it, zoomed
    /// in at least far enough to draw its group's twins.
    fn reveal_now(&self, ui: &mut egui::Ui, id: &TwinId, rect: egui::Rect, view_id: &str) {
        let Some(at) = self.index.get(id).and_then(|n| self.graph.node(*n)).map(|n| n.location()) else {
            return;
        };
        let mut meta = MetadataFrame::new(Some(view_id.to_string())).load(ui);
        let shown = rect.left_top() + meta.pan + at.to_vec2() * meta.zoom;
        let grouped = !self.groups.is_empty();
        if rect.contains(shown) && !(grouped && collapsed(meta.zoom)) {
            return;
        }
        meta.zoom = meta.zoom.clamp(REVEAL_ZOOM, MAX_FIT_ZOOM);
        meta.pan = rect.size() / 2.0 - at.to_vec2() * meta.zoom;
        meta.save(ui);
    }

    /// The twins whose nodes were in view in the last frame, nearest the view's centre
    /// first (all of them before the first frame).
    pub fn twins_in_view(&self) -> Vec<TwinId> {
        let Some((rect, zoom, pan)) = self.last_view else {
            return self.index.keys().cloned().collect();
        };
        let centre = rect.center();
        let mut seen: Vec<(f32, &TwinId)> = self
            .index
            .iter()
            .filter_map(|(id, node)| {
                let at = rect.left_top() + pan + self.graph.node(*node)?.location().to_vec2() * zoom;
                rect.contains(at).then(|| ((at - centre).length_sq(), id))
            })
            .collect();
        seen.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        seen.into_iter().map(|(_, id)| id.clone()).collect()
    }

    /// Marks one twin (or none) as selected, and brings it into view when it is not
    /// drawn there ([`GraphModel::reveal_now`]).
    pub fn select(&mut self, id: Option<&TwinId>) {
        self.selected = id.cloned();
        self.reveal = id.cloned();
        let target = id.and_then(|id| self.index.get(id)).copied();
        for node in self.index.values() {
            if let Some(n) = self.graph.node_mut(*node) {
                n.set_selected(Some(*node) == target);
            }
        }
        self.graph.set_selected_nodes(target.into_iter().collect());
    }

    fn twin_of(&self, node: NodeIndex) -> Option<TwinId> {
        self.graph.node(node).map(|n| n.payload().id.clone())
    }
}

/// The toolbar and the graph view.
pub fn graph_ui(
    ui: &mut egui::Ui,
    model: &mut GraphModel,
    filter: &mut GraphFilter,
    twins: &TwinGraph,
    commands: &mut Commands,
) {
    // At most one selection change a frame: the last click wins over a search.
    let mut action: Option<Option<TwinId>> = None;
    if let Some(id) = toolbar_ui(ui, model, filter, twins) {
        action = Some(Some(id));
    }
    let interaction = SettingsInteraction::new()
        .with_dragging_enabled(true)
        .with_hover_enabled(true)
        .with_node_clicking_enabled(true)
        .with_node_selection_enabled(true);
    let fitting = model.fit_frames > 0;
    model.fit_frames = model.fit_frames.saturating_sub(1);
    let navigation = SettingsNavigation::new()
        .with_fit_to_screen_enabled(fitting)
        .with_fit_to_screen_padding(fit_padding(model.extent, ui.available_size()))
        .with_zoom_and_pan_enabled(true);
    let style = SettingsStyle::new().with_labels_always(true);
    let view_id = format!("twin-graph-{}", model.view_generation);
    if let Some(motion) = model.motion.take() {
        // Pan is from the view's corner.
        let view = ui.available_rect_before_wrap();
        let centre = view.center() - view.left_top();
        let mut meta = MetadataFrame::new(Some(view_id.clone())).load(ui);
        meta.pan = centre - (centre - meta.pan) * motion.zoom + motion.pan;
        meta.zoom *= motion.zoom;
        meta.save(ui);
    }
    if !fitting && let Some((zoom, pan)) = model.restore.take() {
        model.reveal = None;
        let mut meta = MetadataFrame::new(Some(view_id.clone())).load(ui);
        meta.zoom = zoom;
        meta.pan = pan;
        meta.save(ui);
    }
    if !fitting && let Some(id) = model.reveal.take() {
        model.reveal_now(ui, &id, ui.available_rect_before_wrap(), &view_id);
    }
    let response = GraphView::<FixedState, FixedLayout>::new()
        .with_interactions(&interaction)
        .with_navigations(&navigation)
        .with_styles(&style)
        .with_id(Some(view_id.clone()))
        .show(ui, &mut model.graph);
    let meta = MetadataFrame::new(Some(view_id.clone())).load(ui);
    model.last_view = Some((response.response.rect, meta.zoom, meta.pan));
    if let Some(group) = model.groups_ui(ui, response.response.rect, &view_id) {
        model.expand_group(ui, group, response.response.rect.size(), &view_id);
    }
    legend_ui(ui, response.response.rect, filter.colour);
    model.minimap_ui(ui, response.response.rect, &view_id);
    // Shift+click picks the far end of a path from the selected twin.
    let shift = ui.input(|i| i.modifiers.shift);
    for change in &response.changes {
        match change {
            GraphChange::NodeClicked { node } | GraphChange::NodeSelected { node } => {
                let Some(id) = model.twin_of(*node) else { continue };
                match model.selected.clone() {
                    Some(from) if shift && from != id => {
                        filter.path_to(id);
                        model.select(Some(&from));
                        action = None;
                    }
                    _ => action = Some(Some(id)),
                }
            }
            GraphChange::NodeDeselected { .. } if model.graph.selected_nodes().is_empty() && !shift => {
                action = action.or(Some(None));
            }
            _ => {}
        }
    }
    commands.extend(action.map(Command::Select));
}

/// A small key in the bottom-left corner of the graph: status colours and edge kinds.
fn legend_ui(ui: &egui::Ui, rect: egui::Rect, mode: ColourMode) {
    let dark = ui.visuals().dark_mode;
    let painter = ui.painter_at(rect);
    let font = egui::FontId::proportional(11.0);
    let text_color = ui.visuals().weak_text_color();
    let mut pos = egui::pos2(rect.left() + 10.0, rect.bottom() - 14.0);
    let swatches: Vec<(Color32, String)> = match mode {
        ColourMode::Health => [Status::Healthy, Status::Degraded, Status::Down]
            .into_iter()
            .map(|s| (theme::status_color(s, dark), s.as_str().to_string()))
            .collect(),
        ColourMode::Drift => {
            [0.0, 0.25, 0.5, 1.0].into_iter().map(|v| (theme::score_color(v, dark), format!("drift {v}"))).collect()
        }
        ColourMode::Anomaly => {
            [0.0, 0.25, 0.5, 1.0].into_iter().map(|v| (theme::score_color(v, dark), format!("anomaly {v}"))).collect()
        }
        ColourMode::Predicted => [0.0, 0.25, 0.5, 1.0]
            .into_iter()
            .map(|v| (theme::score_color(v, dark), format!("P(violation) {v}")))
            .collect(),
    };
    for (color, label) in swatches {
        painter.rect_filled(
            egui::Rect::from_center_size(pos + egui::vec2(5.0, 0.0), egui::vec2(10.0, 10.0)),
            2.0,
            color,
        );
        let r = painter.text(pos + egui::vec2(14.0, 0.0), egui::Align2::LEFT_CENTER, label, font.clone(), text_color);
        pos.x = r.right() + 12.0;
    }
    for kind in EdgeKind::ALL {
        let color = edge_color(kind, dark);
        let a = pos;
        let b = pos + egui::vec2(22.0, 0.0);
        if matches!(kind, EdgeKind::RunsOn | EdgeKind::ReplicatesTo) {
            painter.extend(egui::Shape::dashed_line(&[a, b], egui::Stroke::new(1.5, color), 4.0, 3.0));
        } else {
            painter.line_segment([a, b], egui::Stroke::new(1.5, color));
        }
        let r =
            painter.text(b + egui::vec2(4.0, 0.0), egui::Align2::LEFT_CENTER, kind.as_str(), font.clone(), text_color);
        pos.x = r.right() + 12.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dependency, Twin};

    #[test]
    fn layered_layout_puts_dependents_above() {
        let mut g = TwinGraph::new();
        for id in ["lb", "web", "db"] {
            g.add_twin(Twin::new(id, TwinKind::Service)).unwrap();
        }
        g.add_dependency(&"lb".into(), &"web".into(), Dependency::new(EdgeKind::RoutesTo)).unwrap();
        g.add_dependency(&"web".into(), &"db".into(), Dependency::new(EdgeKind::DependsOn)).unwrap();
        let p = layered_positions(&g);
        assert!(p[&TwinId::from("lb")].y < p[&TwinId::from("web")].y);
        assert!(p[&TwinId::from("web")].y < p[&TwinId::from("db")].y);
        assert_eq!(p, layered_positions(&g));
    }

    #[test]
    fn an_estate_is_laid_out_and_boxed_by_application() {
        let mut g = TwinGraph::new();
        for app in ["shop", "pay", "ship"] {
            for i in 0..15 {
                g.add_twin(Twin::new(format!("{app}-svc-{i:02}").as_str(), TwinKind::Service)).unwrap();
                if i > 0 {
                    let (from, to) = (format!("{app}-svc-{i:02}"), format!("{app}-svc-{:02}", i - 1));
                    g.add_dependency(&from.as_str().into(), &to.as_str().into(), Dependency::new(EdgeKind::DependsOn))
                        .unwrap();
                }
            }
        }
        let model = GraphModel::build(&g);
        let names: Vec<&str> = model.groups().map(|gr| gr.name.as_str()).collect();
        assert_eq!(names, ["pay-svc", "ship-svc", "shop-svc"]);
        // Each application is one block: its twins' boxes do not overlap another's.
        let p = layered_positions(&g);
        let span = |app: &str| {
            let xs: Vec<f32> = p.iter().filter(|(id, _)| id.as_str().starts_with(app)).map(|(_, q)| q.x).collect();
            (xs.iter().copied().fold(f32::MAX, f32::min), xs.iter().copied().fold(f32::MIN, f32::max))
        };
        let (pay, ship) = (span("pay-"), span("ship-"));
        assert!(pay.1 < ship.0 || ship.1 < pay.0, "{pay:?} {ship:?}");
        // A small graph is one block without boxes.
        let mut small = TwinGraph::new();
        small.add_twin(Twin::new("one", TwinKind::Host)).unwrap();
        assert_eq!(GraphModel::build(&small).groups().count(), 0);
    }

    #[test]
    fn a_new_twin_keeps_the_users_view_unless_nothing_was_shown() {
        let mut g = TwinGraph::new();
        let empty = GraphModel::build(&g);
        g.add_twin(Twin::new("host", TwinKind::Host)).unwrap();
        let first = empty.rebuild(&g);
        assert!(first.fit_frames > 0, "the first twins are fitted into view");
        let mut shown = GraphModel::build(&g);
        shown.view_generation = 3;
        g.add_twin(Twin::new("proc-1", TwinKind::Service)).unwrap();
        let grown = shown.rebuild(&g);
        assert_eq!((grown.fit_frames, grown.view_generation), (0, 3), "same view, not refitted");
        assert_eq!(grown.graph.node_count(), 2);
        assert!(grown.twin_of(grown.index[&TwinId::from("proc-1")]).is_some());
    }
}
