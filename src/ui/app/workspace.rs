//! Workspaces and undo in the app: what a workspace file is made of and how opening
//! one puts it back (`ui::workspace` is the file), and the undo history of decisions,
//! policy edits and lab inputs (`ui::undo`).
//!
//! Opening a workspace never loses the open state to a bad file: the file is read and
//! checked first; its scenario is loaded in the background and compared with the twins
//! the workspace was saved on as soon as its graph is known; only then does it replace
//! what is open. A missing scenario, changed twins or a corrupt file is a notification.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui;

use super::{RightTab, WorkbenchApp};
use crate::io::format::Format;
use crate::io::time::{format_rfc3339, parse_timestamp};
use crate::model::TwinId;
use crate::remediation::review::Review;
use crate::scenario::Scenario;
use crate::ui::connect::{AuthChoice, SourceChoice};
use crate::ui::files::FilePurpose;
use crate::ui::graph_filter::ColourMode;
use crate::ui::jobs::Source;
use crate::ui::undo::Doc;
use crate::ui::workspace::{
    self, LiveFile, PoliciesFile, SourceFile, ViewFile, WORKSPACE_VERSION, WorkspaceFile, changed_twins, relative_path,
    resolve, restore_review, review_file, twin_fingerprints,
};

/// A workspace being opened: its file, and what it says, until its scenario is in.
pub(super) struct PendingWorkspace {
    pub(super) path: PathBuf,
    pub(super) file: WorkspaceFile,
}

fn tab_name(tab: RightTab) -> &'static str {
    match tab {
        RightTab::Inspector => "inspector",
        RightTab::Findings => "findings",
        RightTab::Remediation => "remediation",
        RightTab::Lab => "lab",
    }
}

impl WorkbenchApp {
    /// The undoable state now.
    pub(super) fn doc(&self) -> Doc {
        Doc { review: self.remediation.clone(), policies: self.applied_policies.clone(), lab: self.lab.inputs() }
    }

    /// Puts an undone (or redone) state back.
    fn restore_doc(&mut self, doc: Doc) {
        self.remediation = doc.review;
        let problems = self.lab.set_inputs(&doc.lab);
        self.lab_seen = self.lab.inputs();
        for problem in problems {
            self.notifications.error(format!("Lab: {problem}"));
        }
        if doc.policies != self.applied_policies {
            let graph = self.current.as_ref().map(|c| Arc::clone(&c.scenario));
            let text = doc.policies.clone().unwrap_or_default();
            let policies = graph.map_or_else(Vec::new, |s| self.editor.restore(text, &s.graph));
            self.applied_policies = doc.policies;
            self.apply_editor_policies(policies);
        }
    }

    /// Records the state `before` a command named `name` changed it.
    pub(super) fn record_undo(&mut self, name: &str, before: Doc, merge: bool) {
        let now = self.ctx.input(|i| i.time);
        self.history.record(name, before, now, merge);
    }

    /// Takes back the last decision or edit.
    pub(super) fn undo(&mut self) {
        match self.history.undo(self.doc()) {
            Some((name, doc)) => {
                self.restore_doc(doc);
                self.notifications.info(format!("Undid: {name}"));
            }
            None => self.notifications.info("Nothing to undo"),
        }
    }

    /// Does again what was last taken back.
    pub(super) fn redo(&mut self) {
        match self.history.redo(self.doc()) {
            Some((name, doc)) => {
                self.restore_doc(doc);
                self.notifications.info(format!("Redid: {name}"));
            }
            None => self.notifications.info("Nothing to redo"),
        }
    }

    /// The lab's fields are edited in place by their widgets: a change since the last
    /// frame is an undo step (quick edits are one).
    pub(super) fn track_lab_inputs(&mut self) {
        let now = self.lab.inputs();
        if now != self.lab_seen {
            let before = Doc { lab: std::mem::replace(&mut self.lab_seen, now), ..self.doc() };
            self.record_undo("Edit lab inputs", before, true);
        }
    }

    /// The name of the action *Undo* takes back, and of the one *Redo* does again.
    pub fn undo_names(&self) -> (Option<&str>, Option<&str>) {
        (self.history.undo_name(), self.history.redo_name())
    }

    /// The workspace file the work is saved to, if any.
    pub fn workspace_path(&self) -> Option<&Path> {
        self.workspace_path.as_deref()
    }

    /// The workspace file for the open work, to be saved at `path`; `None` when
    /// nothing is open.
    pub(super) fn workspace_file(&self, path: &Path) -> Option<WorkspaceFile> {
        let c = self.current.as_ref()?;
        let source = match &c.source {
            Source::Default => SourceFile::Default,
            Source::File(p) => SourceFile::Scenario { path: relative_path(p, path) },
            Source::Telemetry(p) => SourceFile::Telemetry { path: relative_path(p, path) },
            Source::Live(_) => SourceFile::Live(Box::new(self.live_file())),
        };
        let editor_used = self.applied_policies.is_some() || self.editor.path.is_some() || self.editor.open;
        let policies = editor_used.then(|| PoliciesFile {
            text: self.editor.text.clone(),
            format: self.editor.format.name().to_string(),
            path: self.editor.path.clone(),
            applied: self.applied_policies.is_some(),
            open: self.editor.open,
        });
        let (decisions, audit, rehearsed, loop_mode) = review_file(&self.remediation);
        let view = self.graph.as_ref().and_then(|g| g.view());
        Some(WorkspaceFile {
            twinbench_workspace: WORKSPACE_VERSION,
            source,
            fingerprints: twin_fingerprints(&c.scenario.graph),
            policies,
            decisions,
            audit,
            rehearsed,
            loop_mode,
            lab: self.lab.inputs(),
            lab_results: self.lab.summaries(),
            view: ViewFile {
                selected: self.selected.as_ref().map(|id| id.to_string()),
                time: Some(format_rfc3339(self.timeline.time)),
                zoom: view.map(|(zoom, _)| zoom),
                pan: view.map(|(_, pan)| [pan.x, pan.y]),
                colour: Some(self.filter.colour.label().to_ascii_lowercase()),
                tab: Some(tab_name(self.right_tab).to_string()),
            },
        })
    }

    /// The Connect dialog's settings, without secrets.
    fn live_file(&self) -> LiveFile {
        let d = &self.live.dialog;
        LiveFile {
            kind: match d.source {
                SourceChoice::Prometheus => "prometheus",
                SourceChoice::LocalHost => "local",
            }
            .into(),
            url: d.url.clone(),
            mapping: d.mapping.clone(),
            auth: d.auth.name().into(),
            auth_env: d.auth_env.clone(),
            auth_file: d.auth_file.clone(),
            basic_user: d.basic_user.clone(),
            backfill: d.backfill.clone(),
            interval: d.interval.clone(),
            alertmanager: d.alertmanager.clone(),
        }
    }

    /// *Save workspace*: to `path`, or to the workspace's own file, or — when it has
    /// none yet — wherever the user chooses.
    pub(super) fn save_workspace(&mut self, ctx: &egui::Context, path: Option<PathBuf>) {
        let Some(path) = path.or_else(|| self.workspace_path.clone()) else {
            self.pick_file(ctx, FilePurpose::SaveWorkspace);
            return;
        };
        let path = crate::ui::files::with_extension(path, "ron");
        let Some(file) = self.workspace_file(&path) else {
            self.notifications.error("Nothing to save: open a scenario first.");
            return;
        };
        match workspace::write(&path, &file) {
            Ok(()) => {
                self.notifications.info(format!("Saved workspace {}", path.display()));
                self.remember_path(&path);
                self.workspace_path = Some(path);
            }
            Err(e) => self.notifications.error(format!("Cannot save the workspace: {e:#}")),
        }
    }

    /// *Open workspace*: reads and checks the file, then loads its scenario (or uses the
    /// open one when it is the same); the workspace replaces the open work only once
    /// its twins are known to match.
    pub(super) fn open_workspace(&mut self, ctx: &egui::Context, path: &Path) {
        let file = match workspace::read(path) {
            Ok(file) => file,
            Err(e) => {
                let kept = if self.current.is_some() { " The open work is unchanged." } else { "" };
                self.notifications.error(format!("Cannot open the workspace: {e:#}.{kept}"));
                return;
            }
        };
        let source = match &file.source {
            SourceFile::Default => Source::Default,
            SourceFile::Scenario { path: p } => Source::File(resolve(p, path)),
            SourceFile::Telemetry { path: p } => Source::Telemetry(resolve(p, path)),
            SourceFile::Live(live) => {
                self.prefill_connect(live);
                self.notifications.info(format!(
                    "Workspace {} was saved on a live source: press Connect to resume; its decisions, policies \
                     and lab inputs are restored when the twins arrive.",
                    path.display()
                ));
                self.pending_workspace = Some(PendingWorkspace { path: path.to_path_buf(), file });
                return;
            }
        };
        if let Source::File(p) | Source::Telemetry(p) = &source
            && !p.exists()
        {
            self.notifications.error(format!(
                "Cannot open the workspace {}: its scenario {} is missing. The open work is unchanged.",
                path.display(),
                p.display()
            ));
            return;
        }
        let pending = PendingWorkspace { path: path.to_path_buf(), file };
        let same = self.current.as_ref().is_some_and(|c| c.source == source && c.history_ready) && self.job.is_none();
        if same {
            let scenario = self.current.as_ref().map(|c| Arc::clone(&c.scenario));
            if let Some(scenario) = scenario
                && self.workspace_fits(&pending, &scenario)
            {
                self.apply_workspace(pending);
            }
        } else {
            self.pending_workspace = Some(pending);
            self.open(&source, ctx);
        }
    }

    /// Whether the workspace being opened was saved on these twins; when not, says
    /// which changed and forgets the workspace.
    pub(super) fn workspace_fits(&mut self, pending: &PendingWorkspace, scenario: &Scenario) -> bool {
        match changed_twins(&pending.file.fingerprints, &scenario.graph) {
            None => true,
            Some(why) => {
                self.notifications.error(format!(
                    "Cannot open the workspace {}: its scenario changed since it was saved ({why}). The open work \
                     is unchanged.",
                    pending.path.display()
                ));
                false
            }
        }
    }

    /// Puts a workspace's decisions, edits and view on the open scenario (its twins
    /// checked already).
    pub(super) fn apply_workspace(&mut self, pending: PendingWorkspace) {
        let PendingWorkspace { path, file } = pending;
        let Some(scenario) = self.current.as_ref().map(|c| Arc::clone(&c.scenario)) else {
            return;
        };
        let review = match restore_review(&file, &scenario.graph, &self.remediation) {
            Ok(review) => review,
            Err(e) => {
                self.notifications.error(format!("Cannot restore the decisions of {}: {e}", path.display()));
                Review { orchestrator: self.remediation.orchestrator.clone(), ..Review::default() }
            }
        };
        self.remediation = review;
        if let Some(p) = &file.policies {
            self.editor.text.clone_from(&p.text);
            self.editor.path.clone_from(&p.path);
            self.editor.format = Format::parse(&p.format).unwrap_or(Format::Yaml);
            self.editor.open = p.open;
            let policies = self.editor.restore(p.text.clone(), &scenario.graph);
            if p.applied {
                self.applied_policies = Some(p.text.clone());
                self.apply_editor_policies(policies);
            } else {
                self.applied_policies = None;
                self.apply_editor_policies(Vec::new());
            }
        }
        for problem in self.lab.set_inputs(&file.lab) {
            self.notifications.error(format!("Lab: {problem}"));
        }
        self.lab.set_restored(file.lab_results.clone());
        self.lab_seen = self.lab.inputs();
        self.apply_view(&file.view, &scenario);
        self.history.clear();
        self.notifications.info(format!(
            "Opened workspace {} ({} decisions, {} rehearsed actions)",
            path.display(),
            self.remediation.audit.len(),
            self.remediation.rehearsed.len()
        ));
        self.remember_path(&path);
        self.workspace_path = Some(path);
    }

    fn apply_view(&mut self, view: &ViewFile, scenario: &Scenario) {
        if let Some(t) = view.time.as_deref().and_then(|t| parse_timestamp(t).ok()) {
            self.timeline.time = t.clamp(scenario.start, scenario.end);
            self.timeline.playing = false;
        }
        if let Some(mode) =
            view.colour.as_deref().and_then(|c| ColourMode::ALL.into_iter().find(|m| m.label().eq_ignore_ascii_case(c)))
        {
            self.filter.colour = mode;
            self.painted = None;
        }
        self.right_tab = match view.tab.as_deref() {
            Some("findings") => RightTab::Findings,
            Some("remediation") => RightTab::Remediation,
            Some("lab") => RightTab::Lab,
            _ => RightTab::Inspector,
        };
        let selected = view.selected.as_deref().map(TwinId::new).filter(|id| scenario.graph.twin(id).is_some());
        self.select(selected);
        if let (Some(graph), Some(zoom), Some([x, y])) = (&mut self.graph, view.zoom, view.pan)
            && zoom.is_finite()
            && zoom > 0.0
            && x.is_finite()
            && y.is_finite()
        {
            graph.restore_view(zoom, egui::vec2(x, y));
        }
    }

    /// Fills the Connect dialog from a workspace saved on a live source and shows it.
    fn prefill_connect(&mut self, live: &LiveFile) {
        let d = &mut self.live.dialog;
        d.source = if live.kind == "local" { SourceChoice::LocalHost } else { SourceChoice::Prometheus };
        d.url.clone_from(&live.url);
        d.mapping.clone_from(&live.mapping);
        d.auth = AuthChoice::parse(&live.auth).unwrap_or_default();
        d.auth_env.clone_from(&live.auth_env);
        d.auth_file.clone_from(&live.auth_file);
        d.basic_user.clone_from(&live.basic_user);
        d.backfill.clone_from(&live.backfill);
        d.interval.clone_from(&live.interval);
        d.alertmanager.clone_from(&live.alertmanager);
        d.open = true;
    }
}
