//! What the graph panel fades and colours, and the toolbar that sets it: a search, the
//! filters (kind, tag, health, finding), the colour mode and the focus around the
//! selected twin (its neighbourhood, its blast radius, or the path to another twin).
//!
//! Faded twins stay in place and clickable; while their groups are collapsed the twins
//! a filter or focus picks are drawn anyway, so a filter finds them at any zoom.

use std::collections::BTreeSet;

use eframe::egui;

use super::graph_panel::GraphModel;
use crate::model::{Status, TwinGraph, TwinId, TwinKind};
use crate::remediation::plan::Finding;

/// Filters of the graph panel.
#[derive(Default)]
pub struct GraphFilter {
    /// Substring of twin ids to highlight.
    pub search: String,
    /// Only this kind is highlighted.
    pub kind: Option<TwinKind>,
    /// Only twins with this tag are highlighted.
    pub tag: Option<String>,
    /// Only twins this unhealthy at the time cursor are highlighted.
    pub health: HealthFilter,
    /// Only twins with this kind of finding at the time cursor are highlighted.
    pub finding: FindingFilter,
    /// What node colours show.
    pub colour: ColourMode,
    /// Which part of the graph around the selected twin stays in view.
    pub focus: Focus,
    /// Only the twins of this application (a group of the graph) are highlighted;
    /// without a selected twin the focus is around the whole application.
    pub group: Option<(String, BTreeSet<TwinId>)>,
    /// The other end of [`Focus::Path`].
    pub path_to: Option<TwinId>,
    /// What is typed in the path's *to* field.
    path_text: String,
    /// The twins in focus (`None`: all), for the selection and focus they were made for.
    focused: Option<BTreeSet<TwinId>>,
    focused_for: Option<FocusKey>,
    /// The length of the path in focus (`Some(None)`: the two twins are not connected).
    path_length: Option<Option<usize>>,
    /// The twins passing the tag, health and finding filters (`None`: those are off),
    /// worked out by the app at the time cursor ([`passing_twins`]).
    passing: Option<BTreeSet<TwinId>>,
}

/// Everything the fading depends on, to repaint the graph only when it changed.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterKey {
    search: String,
    kind: Option<TwinKind>,
    tag: Option<String>,
    health: HealthFilter,
    finding: FindingFilter,
    group: Option<String>,
    focused_for: Option<FocusKey>,
}

/// What the twins in focus were worked out for: the selected twin, the focus, the path's
/// far end and the application.
type FocusKey = (Option<TwinId>, Focus, Option<TwinId>, Option<String>);

/// How unhealthy a twin must be to stay in view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HealthFilter {
    /// Any health.
    #[default]
    Any,
    /// Degraded or down.
    Unhealthy,
    /// Down.
    Down,
}

impl HealthFilter {
    /// Every choice.
    pub const ALL: [HealthFilter; 3] = [HealthFilter::Any, HealthFilter::Unhealthy, HealthFilter::Down];

    /// Name in the menu.
    pub fn label(self) -> &'static str {
        match self {
            HealthFilter::Any => "Any health",
            HealthFilter::Unhealthy => "Degraded or down",
            HealthFilter::Down => "Down",
        }
    }

    fn admits(self, status: Status) -> bool {
        match self {
            HealthFilter::Any => true,
            HealthFilter::Unhealthy => matches!(status, Status::Degraded | Status::Down),
            HealthFilter::Down => status == Status::Down,
        }
    }
}

/// Which findings a twin must have to stay in view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FindingFilter {
    /// With or without findings.
    #[default]
    Any,
    /// Any finding.
    AnyFinding,
    /// A rule violated now.
    Violation,
    /// A violation predicted.
    Predicted,
    /// A sustained anomaly.
    Anomaly,
    /// Configuration drift.
    Drift,
}

impl FindingFilter {
    /// Every choice.
    pub const ALL: [FindingFilter; 6] = [
        FindingFilter::Any,
        FindingFilter::AnyFinding,
        FindingFilter::Violation,
        FindingFilter::Predicted,
        FindingFilter::Anomaly,
        FindingFilter::Drift,
    ];

    /// Name in the menu.
    pub fn label(self) -> &'static str {
        match self {
            FindingFilter::Any => "With or without findings",
            FindingFilter::AnyFinding => "Any finding",
            FindingFilter::Violation => "Violating a rule",
            FindingFilter::Predicted => "Predicted to violate",
            FindingFilter::Anomaly => "Anomalous",
            FindingFilter::Drift => "Drifted",
        }
    }

    fn admits(self, finding: &Finding) -> bool {
        match self {
            FindingFilter::Any | FindingFilter::AnyFinding => true,
            FindingFilter::Violation => matches!(finding, Finding::Violation { .. }),
            FindingFilter::Predicted => matches!(finding, Finding::Predicted { .. }),
            FindingFilter::Anomaly => matches!(finding, Finding::Anomaly { .. }),
            FindingFilter::Drift => matches!(finding, Finding::Drift { .. }),
        }
    }
}

/// Which part of the graph around the selected twin stays in view; the rest is faded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Focus {
    /// The whole graph.
    #[default]
    Everything,
    /// The twins within this many hops of the selected one, up and down.
    Neighbourhood(usize),
    /// The selected twin and every twin its failure can reach.
    BlastRadius,
    /// The shortest chain of dependencies from the selected twin to
    /// [`GraphFilter::path_to`].
    Path,
}

impl Focus {
    /// Every focus, in menu order.
    pub const ALL: [Focus; 6] = [
        Focus::Everything,
        Focus::Neighbourhood(1),
        Focus::Neighbourhood(2),
        Focus::Neighbourhood(3),
        Focus::BlastRadius,
        Focus::Path,
    ];

    /// Name in the menu.
    pub fn label(self) -> String {
        match self {
            Focus::Everything => "Focus: everything".into(),
            Focus::Neighbourhood(hops) => format!("Focus: {hops} hop{}", if hops == 1 { "" } else { "s" }),
            Focus::BlastRadius => "Focus: blast radius".into(),
            Focus::Path => "Focus: path to…".into(),
        }
    }
}

/// What the colour of a graph node shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum ColourMode {
    /// Health at the time cursor (recorded status and rule violations).
    #[default]
    Health,
    /// Configuration drift score at the time cursor.
    Drift,
    /// Anomaly level at the time cursor (the highest of the twin's metrics).
    Anomaly,
    /// Probability of a predicted violation within the forecast horizon.
    Predicted,
}

impl ColourMode {
    /// Every mode.
    pub const ALL: [ColourMode; 4] =
        [ColourMode::Health, ColourMode::Drift, ColourMode::Anomaly, ColourMode::Predicted];

    /// Name in the menu.
    pub fn label(self) -> &'static str {
        match self {
            ColourMode::Health => "Health",
            ColourMode::Drift => "Drift",
            ColourMode::Anomaly => "Anomaly",
            ColourMode::Predicted => "Predicted",
        }
    }
}

impl GraphFilter {
    /// Whether a twin is faded out by the filter.
    pub fn hides(&self, id: &TwinId, kind: TwinKind) -> bool {
        let search = self.search.trim().to_lowercase();
        (!search.is_empty() && !id.as_str().to_lowercase().contains(&search))
            || self.kind.is_some_and(|k| k != kind)
            || self.passing.as_ref().is_some_and(|twins| !twins.contains(id))
            || self.focused.as_ref().is_some_and(|twins| !twins.contains(id))
            || (self.focused.is_none() && self.group.as_ref().is_some_and(|(_, twins)| !twins.contains(id)))
    }

    /// True when anything is faded.
    pub fn is_active(&self) -> bool {
        !self.search.trim().is_empty()
            || self.kind.is_some()
            || self.passing.is_some()
            || self.focused.is_some()
            || self.group.is_some()
    }

    /// How many of the kind, tag, health and finding filters are on.
    pub fn filters_on(&self) -> usize {
        usize::from(self.kind.is_some())
            + usize::from(self.group.is_some())
            + usize::from(self.tag.is_some())
            + usize::from(self.health != HealthFilter::Any)
            + usize::from(self.finding != FindingFilter::Any)
    }

    /// Everything the fading depends on besides the time cursor and the data.
    pub fn key(&self) -> FilterKey {
        FilterKey {
            search: self.search.trim().to_lowercase(),
            kind: self.kind,
            tag: self.tag.clone(),
            health: self.health,
            finding: self.finding,
            group: self.group.as_ref().map(|(name, _)| name.clone()),
            focused_for: self.focused_for.clone(),
        }
    }

    /// Sets the twins passing the tag, health and finding filters ([`passing_twins`]).
    pub fn set_passing(&mut self, passing: Option<BTreeSet<TwinId>>) {
        self.passing = passing;
    }

    /// Works out the twins in focus around `selected` (after the selection or the focus
    /// changed) or, without one, around the chosen application; with neither everything
    /// is in view. True when that changed.
    pub fn update_focus(&mut self, graph: &TwinGraph, selected: Option<&TwinId>) -> bool {
        let group = self.group.as_ref().map(|(name, _)| name.clone());
        let key = (selected.cloned(), self.focus, self.path_to.clone(), group);
        if self.focused_for.as_ref() == Some(&key) {
            return false;
        }
        self.path_length = None;
        let origin: Vec<TwinId> = match (selected, &self.group) {
            (Some(id), _) => vec![id.clone()],
            (None, Some((_, twins))) => twins.iter().cloned().collect(),
            (None, None) => Vec::new(),
        };
        self.focused = selected.or(origin.first()).and_then(|id| match self.focus {
            Focus::Everything => None,
            Focus::Neighbourhood(hops) => Some(origin.iter().flat_map(|id| graph.neighbourhood(id, hops)).collect()),
            Focus::BlastRadius => {
                let mut twins: BTreeSet<TwinId> = origin.iter().flat_map(|id| graph.blast_radius(id)).collect();
                twins.extend(origin.iter().cloned());
                Some(twins)
            }
            Focus::Path => {
                let to = self.path_to.as_ref()?;
                let path = graph.path_between(id, to);
                self.path_length = Some(path.as_ref().map(|p| p.len() - 1));
                // Not connected: the two ends stay in view, the rest fades.
                Some(path.unwrap_or_else(|| vec![id.clone(), to.clone()]).into_iter().collect())
            }
        });
        self.focused_for = Some(key);
        true
    }

    /// Sets the far end of a path focus and switches to it.
    pub fn path_to(&mut self, to: TwinId) {
        self.path_text = to.to_string();
        self.path_to = Some(to);
        self.focus = Focus::Path;
    }

    /// Turns the kind, tag, health and finding filters off.
    pub fn clear_filters(&mut self) {
        (self.kind, self.tag, self.health, self.finding) = (None, None, HealthFilter::Any, FindingFilter::Any);
        self.group = None;
    }
}

/// The twins passing `filter`'s tag, health and finding filters, given each twin's
/// health and the findings at the time cursor; `None` when those filters are off.
pub fn passing_twins(
    filter: &GraphFilter,
    graph: &TwinGraph,
    health: impl Fn(&TwinId) -> Status,
    findings: &[Finding],
) -> Option<BTreeSet<TwinId>> {
    if filter.tag.is_none() && filter.health == HealthFilter::Any && filter.finding == FindingFilter::Any {
        return None;
    }
    let with_finding: BTreeSet<&TwinId> =
        findings.iter().filter(|f| filter.finding.admits(f)).map(Finding::twin).collect();
    Some(
        graph
            .twins()
            .filter(|t| filter.tag.as_ref().is_none_or(|tag| t.tags.contains(tag)))
            .filter(|t| filter.finding == FindingFilter::Any || with_finding.contains(&t.id))
            .filter(|t| filter.health == HealthFilter::Any || filter.health.admits(health(&t.id)))
            .map(|t| t.id.clone())
            .collect(),
    )
}

/// The first twin whose id is `needle` or, failing that, contains it (ignoring case).
fn find_twin(twins: &TwinGraph, needle: &str) -> Option<TwinId> {
    let needle = needle.trim().to_lowercase();
    if needle.is_empty() {
        return None;
    }
    twins
        .ids()
        .find(|id| id.as_str().to_lowercase() == needle)
        .or_else(|| twins.ids().find(|id| id.as_str().to_lowercase().contains(&needle)))
        .cloned()
}

/// The graph panel's toolbar. Returns the twin to select, if the search picked one.
pub fn toolbar_ui(
    ui: &mut egui::Ui,
    model: &mut GraphModel,
    filter: &mut GraphFilter,
    twins: &TwinGraph,
) -> Option<TwinId> {
    let mut pick = None;
    ui.horizontal(|ui| {
        let label = ui.label("Search");
        let search = ui
            .add(
                egui::TextEdit::singleline(&mut filter.search)
                    .hint_text("twin id…")
                    .desired_width(150.0)
                    .id(egui::Id::new("graph-search")),
            )
            .labelled_by(label.id)
            .on_hover_text("Fades twins whose id does not match; Enter selects the first match and shows it (Ctrl+F)");
        if search.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            pick = find_twin(twins, &filter.search);
        }
        filters_menu(ui, filter, model, twins);
        egui::ComboBox::from_id_salt("colour-mode")
            .selected_text(format!("Colour: {}", filter.colour.label()))
            .show_ui(ui, |ui| {
                for mode in ColourMode::ALL {
                    ui.selectable_value(&mut filter.colour, mode, mode.label());
                }
            });
        egui::ComboBox::from_id_salt("graph-focus")
            .selected_text(filter.focus.label())
            .show_ui(ui, |ui| {
                for focus in Focus::ALL {
                    ui.selectable_value(&mut filter.focus, focus, focus.label());
                }
            })
            .response
            .on_hover_text(
                "Fade every twin outside the selected twin's neighbourhood, its blast radius, or the path \
                 from it to another twin (Shift+click a twin to pick the other end)",
            );
        if filter.focus == Focus::Path {
            path_ui(ui, filter, twins);
        }
        if ui.button("Fit").on_hover_text("Fit the whole graph in view").clicked() {
            model.fit();
        }
        ui.weak(format!("{} twins · {} edges", twins.twin_count(), twins.edge_count()));
    });
    pick
}

/// The *to* field of a path focus and what it found.
fn path_ui(ui: &mut egui::Ui, filter: &mut GraphFilter, twins: &TwinGraph) {
    let label = ui.label("to");
    let field = ui
        .add(
            egui::TextEdit::singleline(&mut filter.path_text)
                .hint_text("twin id…")
                .desired_width(110.0)
                .id(egui::Id::new("graph-path-to")),
        )
        .labelled_by(label.id)
        .on_hover_text("The other end of the path; Enter finds it (or Shift+click a twin)");
    if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
        match find_twin(twins, &filter.path_text) {
            Some(to) => filter.path_to(to),
            None => filter.path_to = None,
        }
    }
    match (&filter.path_to, filter.path_length) {
        (None, _) if !filter.path_text.trim().is_empty() && !field.has_focus() => {
            ui.colored_label(ui.visuals().warn_fg_color, "no such twin");
        }
        (Some(_), Some(None)) => {
            ui.colored_label(ui.visuals().warn_fg_color, "not connected");
        }
        (Some(_), Some(Some(hops))) => {
            ui.weak(format!("{hops} hop{}", if hops == 1 { "" } else { "s" }));
        }
        _ => {}
    }
}

/// The *Filter* menu: application, kind, tag, health and finding, each a submenu.
fn filters_menu(ui: &mut egui::Ui, filter: &mut GraphFilter, model: &GraphModel, twins: &TwinGraph) {
    let on = filter.filters_on();
    let title = if on == 0 { "Filter".to_string() } else { format!("Filter ({on})") };
    ui.menu_button(title, |ui| {
        if model.groups().next().is_some() {
            let shown = filter.group.as_ref().map_or("all", |(name, _)| name.as_str());
            ui.menu_button(format!("Application: {shown}"), |ui| {
                if ui.selectable_label(filter.group.is_none(), "All applications").clicked() {
                    filter.group = None;
                }
                egui::ScrollArea::vertical().max_height(320.0).show(ui, |ui| {
                    for group in model.groups() {
                        let chosen = filter.group.as_ref().is_some_and(|(name, _)| name == &group.name);
                        let label = format!("{} ({})", group.name, group.twins.len());
                        if ui.selectable_label(chosen, label).clicked() {
                            filter.group = Some((group.name.clone(), group.twins.iter().cloned().collect()));
                        }
                    }
                });
            })
            .response
            .on_hover_text("Fade the other applications; with no twin selected, Focus works around this one");
        }
        ui.menu_button(format!("Kind: {}", filter.kind.map_or("all", |k| k.as_str())), |ui| {
            ui.selectable_value(&mut filter.kind, None, "All kinds");
            for kind in TwinKind::ALL {
                if twins.twins().any(|t| t.kind == kind) {
                    ui.selectable_value(&mut filter.kind, Some(kind), kind.as_str());
                }
            }
        });
        ui.menu_button(format!("Tag: {}", filter.tag.as_deref().unwrap_or("any")), |ui| {
            let tags: BTreeSet<&String> = twins.twins().flat_map(|t| &t.tags).collect();
            ui.selectable_value(&mut filter.tag, None, "Any tag");
            if tags.is_empty() {
                ui.weak("No twin has tags");
            }
            egui::ScrollArea::vertical().max_height(320.0).show(ui, |ui| {
                for tag in tags {
                    ui.selectable_value(&mut filter.tag, Some(tag.clone()), tag.as_str());
                }
            });
        });
        ui.menu_button(format!("Health: {}", filter.health.label()), |ui| {
            for choice in HealthFilter::ALL {
                ui.selectable_value(&mut filter.health, choice, choice.label());
            }
        });
        ui.menu_button(format!("Findings: {}", filter.finding.label()), |ui| {
            for choice in FindingFilter::ALL {
                ui.selectable_value(&mut filter.finding, choice, choice.label());
            }
        });
        ui.separator();
        if ui.add_enabled(on > 0, egui::Button::new("Clear filters")).clicked() {
            filter.clear_filters();
            ui.close();
        }
    })
    .response
    .on_hover_text("Fade the twins that are not of a kind, do not carry a tag, are healthier or have no findings");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dependency, EdgeKind, Twin};

    fn estate() -> TwinGraph {
        let mut g = TwinGraph::new();
        for (id, kind, tag) in [
            ("lb", TwinKind::LoadBalancer, "app:shop"),
            ("web", TwinKind::Service, "app:shop"),
            ("db", TwinKind::Database, "app:data"),
            ("batch", TwinKind::Service, "app:data"),
        ] {
            let mut twin = Twin::new(id, kind);
            twin.tags.insert(tag.into());
            g.add_twin(twin).unwrap();
        }
        for (a, b) in [("lb", "web"), ("web", "db")] {
            g.add_dependency(&a.into(), &b.into(), Dependency::new(EdgeKind::DependsOn)).unwrap();
        }
        g
    }

    fn faded(filter: &GraphFilter, g: &TwinGraph) -> Vec<String> {
        g.twins().filter(|t| filter.hides(&t.id, t.kind)).map(|t| t.id.to_string()).collect()
    }

    #[test]
    fn tag_health_and_finding_filters_fade_the_rest() {
        let g = estate();
        let mut filter = GraphFilter::default();
        let health = |id: &TwinId| if id.as_str() == "db" { Status::Down } else { Status::Healthy };
        assert_eq!(passing_twins(&filter, &g, health, &[]), None);
        filter.tag = Some("app:data".into());
        filter.set_passing(passing_twins(&filter, &g, health, &[]));
        assert_eq!(faded(&filter, &g), ["lb", "web"]);
        assert_eq!(filter.filters_on(), 1);
        filter.tag = None;
        filter.health = HealthFilter::Unhealthy;
        filter.set_passing(passing_twins(&filter, &g, health, &[]));
        assert_eq!(faded(&filter, &g), ["batch", "lb", "web"]);
        filter.health = HealthFilter::Any;
        filter.finding = FindingFilter::Drift;
        let drift = Finding::Drift { policy: "p".into(), twin: "web".into(), keys: Vec::new() };
        filter.set_passing(passing_twins(&filter, &g, health, std::slice::from_ref(&drift)));
        assert_eq!(faded(&filter, &g), ["batch", "db", "lb"]);
        filter.finding = FindingFilter::Violation;
        filter.set_passing(passing_twins(&filter, &g, health, &[drift]));
        assert_eq!(faded(&filter, &g).len(), 4, "no twin violates a rule");
        filter.clear_filters();
        assert_eq!(filter.filters_on(), 0);
        filter.set_passing(passing_twins(&filter, &g, health, &[]));
        assert!(faded(&filter, &g).is_empty() && !filter.is_active());
    }

    #[test]
    fn a_path_focus_keeps_the_chain_between_two_twins() {
        let g = estate();
        let mut filter = GraphFilter::default();
        filter.path_to("db".into());
        assert!(filter.update_focus(&g, Some(&"lb".into())));
        assert_eq!(faded(&filter, &g), ["batch"]);
        assert_eq!(filter.path_length, Some(Some(2)));
        assert!(!filter.update_focus(&g, Some(&"lb".into())), "unchanged");
        // Not connected: only the two ends stay.
        filter.path_to("batch".into());
        assert!(filter.update_focus(&g, Some(&"lb".into())));
        assert_eq!(faded(&filter, &g), ["db", "web"]);
        assert_eq!(filter.path_length, Some(None));
        // Without a selection nothing is faded.
        filter.update_focus(&g, None);
        assert!(faded(&filter, &g).is_empty());
        // An application alone fades the others; with a focus and no selection, the
        // focus is around the whole application.
        filter.group = Some(("data".into(), ["batch".into(), "db".into()].into_iter().collect()));
        filter.focus = Focus::Everything;
        filter.update_focus(&g, None);
        assert_eq!(faded(&filter, &g), ["lb", "web"]);
        filter.focus = Focus::Neighbourhood(1);
        assert!(filter.update_focus(&g, None));
        assert_eq!(faded(&filter, &g), ["lb"]);
        filter.focus = Focus::BlastRadius;
        filter.update_focus(&g, None);
        assert!(faded(&filter, &g).is_empty(), "the database's failure reaches the web server and the balancer");
        assert_eq!(find_twin(&g, "WE").as_ref().map(TwinId::as_str), Some("web"));
        assert_eq!(find_twin(&g, "db").as_ref().map(TwinId::as_str), Some("db"));
        assert_eq!(find_twin(&g, " "), None);
    }
}
