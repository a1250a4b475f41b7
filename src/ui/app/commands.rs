//! Carrying out [`Command`]s after the UI pass: every change of the workbench's state,
//! every background job and every file write a panel asks for happens here.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use super::{RightTab, WorkbenchApp};
use crate::analytics::learn::needs_learning;
use crate::model::TwinId;
use crate::policy::Policy;
use crate::policy::spans::ViolationHistory;
use crate::remediation::orchestrate::Mode;
use crate::remediation::plan::{ApproveSpec, PlanContext, plan, staleness};
use crate::ui::command::Command;
use crate::ui::connect::{ConnectRequest, SyncAction};
use crate::ui::files::{FilePurpose, Picked};
use crate::ui::jobs::{LoadJob, Source};
use crate::ui::lab::Section;
use crate::ui::learn::{LearnReason, default_save_path};
use crate::ui::policy_editor::effective;
use crate::ui::remediation::OpenedPlan;
use crate::ui::theme;

impl WorkbenchApp {
    pub(super) fn open(&mut self, source: &Source, ctx: &egui::Context) {
        match LoadJob::spawn(source.clone(), ctx) {
            Ok(job) => self.job = Some(job),
            Err(e) => self.notifications.error(format!("Cannot start loading {}: {e}", source.label())),
        }
    }

    pub(super) fn remember(&mut self, source: &Source) {
        if let Source::File(path) | Source::Telemetry(path) = source {
            self.remember_path(path);
        }
    }

    /// Puts a scenario, telemetry or workspace file first in *Open recent*.
    pub(super) fn remember_path(&mut self, path: &std::path::Path) {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.settings.recent.retain(|p| std::path::absolute(p).is_ok_and(|p| p != path));
        self.settings.recent.insert(0, path);
        self.settings.recent.truncate(8);
    }

    /// Shows the native file dialog for `purpose`, starting where it makes sense.
    pub(super) fn pick_file(&mut self, ctx: &egui::Context, purpose: FilePurpose) {
        let suggested = match purpose {
            FilePurpose::SaveLearned => self.current.as_ref().map(|c| default_save_path(&c.source)),
            FilePurpose::SaveWorkspace => self.workspace_path.clone().or_else(|| self.suggested_workspace_path()),
            FilePurpose::SavePlan => Some(PathBuf::from("plan.json")),
            FilePurpose::SaveAuditLog => Some(PathBuf::from("audit.jsonl")),
            FilePurpose::SaveSnapshot => Some(PathBuf::from("live-snapshot.ron")),
            FilePurpose::SavePolicies => Some(self.editor.path.clone().unwrap_or_else(|| "policies.yaml".into())),
            _ => None,
        };
        let now = ctx.input(|i| i.time);
        if let Err(e) = self.files.start(ctx, purpose, suggested, now) {
            self.notifications.error(e);
        }
    }

    /// Where a new workspace is offered to be saved: beside its scenario, named after it.
    fn suggested_workspace_path(&self) -> Option<PathBuf> {
        let c = self.current.as_ref()?;
        let (dir, stem) = match &c.source {
            Source::File(p) | Source::Telemetry(p) => {
                (p.parent().map(PathBuf::from).unwrap_or_default(), p.file_stem()?.to_string_lossy().into_owned())
            }
            Source::Default | Source::Live(_) => (PathBuf::new(), c.scenario.name.clone()),
        };
        Some(dir.join(format!("{stem}.workspace.ron")))
    }

    pub(super) fn select(&mut self, id: Option<TwinId>) {
        if let Some(graph) = &mut self.graph {
            graph.select(id.as_ref());
        }
        self.selected = id;
    }

    /// A *Run* of the lab: on the latest models; while they are being learned (or when
    /// series lack one) the run waits for them.
    pub(super) fn request_lab_run(&mut self, section: Section) {
        let Some(c) = &self.current else {
            return;
        };
        if !self.learning.is_running() && c.history_ready && needs_learning(&c.scenario) {
            self.start_learning(LearnReason::Missing);
        }
        if self.learning.is_running() {
            self.lab.wait_for_models(section);
        } else {
            self.launch_lab(section);
        }
    }

    pub(super) fn launch_lab(&mut self, section: Section) {
        let Some(c) = &self.current else {
            return;
        };
        if c.scenario.workloads.is_empty() {
            self.lab.fail(if c.scenario.telemetry.keys().next().is_none() {
                "Nothing to simulate yet: the twins have no history to learn their workload models from."
            } else {
                "The twins have no workload models yet: Learn twins learns them from the history."
            });
            return;
        }
        let scenario = Arc::clone(&c.scenario);
        self.lab.run(section, &scenario, &self.ctx);
    }

    /// Writes the open scenario with its learned models to `path` in the background.
    pub(super) fn save_learned(&mut self, path: &std::path::Path) {
        let Some(c) = &self.current else {
            return;
        };
        let out = match crate::ui::learn::ron_path(path) {
            Ok(out) => out,
            Err(e) => {
                self.notifications.error(format!("Cannot save the learned scenario: {e}"));
                return;
            }
        };
        match crate::ui::learn::spawn_save(Arc::clone(&c.scenario), c.source.clone(), out, &self.ctx) {
            Ok(job) => self.save_job = Some(job),
            Err(e) => self.notifications.error(format!("Cannot save the learned scenario: {e}")),
        }
    }

    pub(super) fn open_policy_file(&mut self, path: &std::path::Path) {
        match crate::io::read_text(path, "policy file") {
            Ok(text) => {
                self.editor.load(path, text);
                self.editor.open = true;
            }
            Err(e) => self.notifications.error(format!("{e:#}")),
        }
    }

    /// Puts the editor's policies in force and re-evaluates.
    pub(super) fn apply_editor_policies(&mut self, policies: Vec<Policy>) {
        self.editor_policies = policies;
        if let Some(c) = &mut self.current {
            c.policies = effective(&c.scenario.policies, &self.editor_policies);
            c.predictions = None;
            self.paint_generation += 1;
            if c.history_ready {
                self.start_backtest();
                self.start_predictions();
            }
        }
    }

    /// One tick of the orchestration loop on the findings at the cursor. In automatic
    /// mode on a live source with an Alertmanager (Connect dialog), the notifications
    /// it approves are sent as alerts, as `plan --alertmanager` sends a plan's.
    pub(super) fn run_loop(&mut self) {
        let (Some(current), Some(at)) = (&self.current, &self.at_cursor) else {
            return;
        };
        let before = self.remediation.audit.len();
        let approved =
            self.remediation.run_loop(self.timeline.time, &at.findings, &current.scenario.graph, &current.policies);
        let logged = self.remediation.audit.len() - before;
        let mode = self.remediation.orchestrator.config.mode;
        self.notifications.info(format!(
            "Orchestration loop ({}): {logged} decisions logged, {} actions approved",
            mode.as_str(),
            approved.len()
        ));
        let live = matches!(current.source, Source::Live(_));
        if mode != Mode::Automatic || !live || self.live.alertmanager.is_none() || approved.is_empty() {
            return;
        }
        let candidates: Vec<_> = at.candidates.iter().filter(|c| approved.contains(&c.id)).cloned().collect();
        let ids = candidates.iter().map(|c| c.id.clone()).collect();
        let context = PlanContext {
            scenario: &current.scenario.name,
            computed_for: self.timeline.time,
            graph: &current.scenario.graph,
            policies: &current.policies,
        };
        let alerts = match plan(context, candidates, &ApproveSpec::Ids(ids), "the automatic loop") {
            Ok(plan) => crate::io::alertmanager::alerts(&plan),
            Err(e) => {
                self.notifications.error(format!("Cannot make the alerts: {e}"));
                return;
            }
        };
        if alerts.is_empty() {
            return;
        }
        if let Err(e) = self.live.send_alerts(&self.ctx, alerts) {
            self.notifications.error(e);
        }
    }

    pub(super) fn export_plan(&mut self, path: &std::path::Path) {
        let (Some(current), Some(at)) = (&self.current, &self.at_cursor) else {
            return;
        };
        let candidates = self.remediation.plan_candidates(&at.candidates);
        let approved = self.remediation.approved_ids(&candidates);
        let context = PlanContext {
            scenario: &current.scenario.name,
            computed_for: self.timeline.time,
            graph: &current.scenario.graph,
            policies: &current.policies,
        };
        let proposed = candidates.len();
        let result = plan(context, candidates, &ApproveSpec::Ids(approved.clone()), &self.user)
            .map_err(|e| e.to_string())
            .and_then(|p| crate::io::plan::write(path, &p, &current.scenario.graph).map_err(|e| format!("{e:#}")));
        match result {
            Ok(()) => self.notifications.info(format!(
                "Wrote plan {} ({} approved of {} proposed actions)",
                path.display(),
                approved.len(),
                proposed
            )),
            Err(e) => self.notifications.error(format!("Cannot export the plan: {e}")),
        }
    }

    /// Reads a plan file for review; a malformed one is a notification (`file:line:col`)
    /// and the plan shown before, if any, stays.
    pub(super) fn open_plan(&mut self, path: &std::path::Path) {
        match crate::io::plan::read(path) {
            Ok(file) => {
                let steps = file.resource_changes.len();
                self.opened_plan = Some(OpenedPlan { path: path.to_path_buf(), file, stale: None, checked: None });
                self.check_opened_plan();
                let stale = self.opened_plan.as_ref().and_then(|p| p.stale.as_deref());
                match stale {
                    Some(why) => self.notifications.error(format!("Plan {} is stale: {why}", path.display())),
                    None => self.notifications.info(format!("Opened plan {} ({steps} steps)", path.display())),
                }
                self.right_tab = RightTab::Remediation;
            }
            Err(e) => self.notifications.error(format!("Cannot open the plan: {e:#}")),
        }
    }

    /// Compares the opened plan's fingerprint with the open twins and policies, when
    /// they changed since it was last compared.
    pub(super) fn check_opened_plan(&mut self) {
        let (Some(opened), Some(current)) = (&mut self.opened_plan, &self.current) else {
            return;
        };
        if opened.checked == Some(self.paint_generation) {
            return;
        }
        opened.checked = Some(self.paint_generation);
        let planned_twins = opened.file.twin_fingerprints.iter().map(|(k, v)| (TwinId::new(k.clone()), v.clone()));
        opened.stale =
            staleness(&opened.file.fingerprint, &planned_twins.collect(), &current.scenario.graph, &current.policies);
    }

    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        let (start, end) = self.current.as_ref().map_or((0, 0), |c| (c.scenario.start, c.scenario.end));
        let typing = ctx.egui_wants_keyboard_input();
        let mut focus_search = false;
        ctx.input_mut(|i| {
            use egui::{Key, KeyboardShortcut, Modifiers};
            // Shift variants first: a plain Ctrl shortcut also matches with Shift held.
            if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::S)) {
                self.commands.push(Command::PickFile(FilePurpose::SaveWorkspace));
            }
            if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::S)) {
                self.commands.push(Command::SaveWorkspace(None));
            }
            if !typing {
                // In a text field these are the field's own undo and redo.
                if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z))
                    || i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::Y))
                {
                    self.commands.push(Command::Redo);
                }
                if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::Z)) {
                    self.commands.push(Command::Undo);
                }
            }
            if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::O)) {
                self.commands.push(Command::PickFile(FilePurpose::Scenario));
            }
            if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::L)) {
                self.commands.push(Command::OpenPathDialog);
            }
            if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::P)) {
                self.commands.push(Command::EditPolicies);
            }
            if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::T)) {
                self.commands.push(Command::ToggleTheme);
            }
            if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::Q)) {
                self.commands.push(Command::Quit);
            }
            if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::F)) {
                focus_search = true;
            }
            if i.consume_key(Modifiers::NONE, Key::F1) {
                self.commands.push(Command::ToggleHelp);
            }
            if typing {
                return;
            }
            if i.consume_key(Modifiers::NONE, Key::Space) {
                self.timeline.playing = !self.timeline.playing;
            }
            if i.consume_key(Modifiers::NONE, Key::Home) {
                self.timeline.time = start;
            }
            if i.consume_key(Modifiers::NONE, Key::End) {
                self.timeline.time = end;
            }
            for (key, sign) in [(Key::ArrowLeft, -1), (Key::ArrowRight, 1)] {
                if i.consume_key(Modifiers::SHIFT, key) {
                    self.timeline.nudge(sign * 86_400, start, end);
                }
                if i.consume_key(Modifiers::NONE, key) {
                    self.timeline.nudge(sign * 3600, start, end);
                }
            }
            if i.consume_key(Modifiers::NONE, Key::Escape) {
                self.commands.push(Command::Select(None));
            }
        });
        if focus_search {
            ctx.memory_mut(|m| m.request_focus(egui::Id::new("graph-search")));
        }
    }

    pub(super) fn dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(path) = dropped.into_iter().next() {
            self.commands.push(Command::Open(Source::from_path(path)));
        }
    }

    /// Live connect (src/ui/connect.rs): starts a source and opens its (empty, growing)
    /// scenario in place of the open one.
    pub(super) fn connect(&mut self, ctx: &egui::Context, request: ConnectRequest) {
        match self.live.start(ctx, request) {
            Ok(scenario) => {
                let source = Source::Live(scenario.name.clone());
                // A workspace saved on a live source waited for this connection.
                let pending = self
                    .pending_workspace
                    .take_if(|p| matches!(p.file.source, crate::ui::workspace::SourceFile::Live(_)));
                self.install(scenario, ViolationHistory::new(), true, source);
                if let Some(pending) = pending {
                    self.apply_workspace(pending);
                }
            }
            Err(e) => self.notifications.error(format!("Cannot connect: {e}")),
        }
    }

    /// Carries out the commands pushed since the last frame, in order.
    pub(super) fn run_commands(&mut self, ctx: &egui::Context) {
        let commands = std::mem::take(&mut self.commands);
        for command in commands {
            self.run_command(ctx, command);
        }
    }

    fn run_command(&mut self, ctx: &egui::Context, command: Command) {
        // What changes decisions, policies or the plan is one undo step.
        let undo = command.undo_name().map(|(name, merge)| (name, merge, self.doc()));
        self.carry_out(ctx, command);
        if let Some((name, merge, before)) = undo {
            self.record_undo(&name, before, merge);
        }
    }

    fn carry_out(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::Select(id) => self.select(id),
            Command::Inspect(id) => {
                self.select(Some(id));
                self.right_tab = RightTab::Inspector;
            }
            Command::SetTime(t) => {
                if let Some(c) = &self.current {
                    self.timeline.time = t.clamp(c.scenario.start, c.scenario.end);
                    self.timeline.playing = false;
                }
            }
            Command::Open(Source::File(path)) if crate::ui::workspace::is_workspace(&path) => {
                self.open_workspace(ctx, &path);
            }
            Command::Open(source) => self.open(&source, ctx),
            Command::PickFile(purpose) => self.pick_file(ctx, purpose),
            Command::SaveWorkspace(path) => self.save_workspace(ctx, path),
            Command::OpenWorkspace(path) => self.open_workspace(ctx, &path),
            Command::Undo => self.undo(),
            Command::Redo => self.redo(),
            Command::OpenPathDialog => self.dialogs.open_path = Some(String::new()),
            Command::ToggleTheme => {
                self.settings.dark_mode = !self.settings.dark_mode;
                theme::apply(ctx, self.settings.dark_mode);
                self.paint_generation += 1;
            }
            Command::ToggleHelp => self.dialogs.help = !self.dialogs.help,
            Command::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            Command::EditPolicies => self.editor.open = true,
            Command::OpenPolicyFile(path) => self.open_policy_file(&path),
            Command::ApplyPolicies(policies) => {
                self.applied_policies = Some(self.editor.text.clone());
                self.apply_editor_policies(policies);
            }
            Command::SavePolicies(path) => self.save_policies(&path),
            Command::Decide { candidate, approved } => {
                self.remediation.decide(&candidate, approved, &self.user, self.timeline.time);
            }
            Command::ApproveAll(candidates) => {
                self.remediation.approve_all(&candidates, &self.user, self.timeline.time);
            }
            Command::RemoveRehearsed(id) => self.remediation.remove_rehearsed(&id),
            Command::AddRehearsed(actions) => {
                let n = actions.len();
                self.remediation.add_rehearsed(actions, &self.user, self.timeline.time);
                self.notifications.info(format!(
                    "{n} rehearsed action{} approved for the plan (Remediation tab → Export plan)",
                    if n == 1 { "" } else { "s" }
                ));
            }
            Command::SetLoopMode(mode) => self.remediation.orchestrator.config.mode = mode,
            Command::RunLoop => self.run_loop(),
            Command::ExportPlan(path) => self.export_plan(&path),
            Command::SaveAuditLog(path) => match crate::io::audit::append(&path, &self.remediation.audit) {
                Ok(()) => self.notifications.info(format!(
                    "Appended {} decisions to {}",
                    self.remediation.audit.len(),
                    path.display()
                )),
                Err(e) => self.notifications.error(format!("{e:#}")),
            },
            Command::OpenPlan(path) => self.open_plan(&path),
            Command::ClosePlan => self.opened_plan = None,
            Command::RunLab(section) => self.request_lab_run(section),
            Command::CancelLab(section) => self.lab.cancel(section),
            Command::LearnTwins => {
                if !self.learning.is_running() {
                    self.start_learning(LearnReason::User);
                }
            }
            Command::CancelLearning => {
                if let Some((reason, _)) = self.learning.progress() {
                    self.learning.cancel();
                    if reason != LearnReason::LiveRefit {
                        self.notifications.info("Learning cancelled: the twins keep the models they had.");
                    }
                    // A run that waited goes ahead on the models there are (or says why not).
                    if let Some(section) = self.lab.take_waiting() {
                        self.launch_lab(section);
                    }
                }
            }
            Command::SaveLearned(path) => self.save_learned(&path),
            Command::Connect(request) => self.connect(ctx, request),
            Command::TestConnection(request) => self.live.test_connection(ctx, request),
            Command::Sync(action) => {
                let name = self.live.handle.as_ref().map(|h| h.name().to_string());
                self.live.act(action);
                if action == SyncAction::Disconnect
                    && let Some(name) = name
                {
                    self.notifications.info(format!("Disconnected from {name}"));
                }
            }
            Command::SaveSnapshot(path) => {
                if let Some(c) = &self.current {
                    self.live.save_snapshot(ctx, &c.scenario, path);
                }
            }
        }
    }

    /// Hands a chosen file (or the absence of one) to what it was chosen for; when no
    /// dialog could be shown, offers a typed path instead.
    pub(super) fn poll_file_pick(&mut self, now: f64) {
        let Some(Picked { purpose, path, quick }) = self.files.poll(now) else {
            return;
        };
        match (path, purpose) {
            (Some(path), FilePurpose::Scenario) => self.commands.push(Command::Open(Source::from_path(path))),
            (Some(path), FilePurpose::Policy) => self.commands.push(Command::OpenPolicyFile(path)),
            (Some(path), FilePurpose::Mapping) => self.live.dialog.mapping = path.display().to_string(),
            (Some(path), FilePurpose::Lab(which)) => self.lab.set_path(which, &path),
            (Some(path), FilePurpose::SaveLearned) => self.commands.push(Command::SaveLearned(path)),
            (Some(path), FilePurpose::Plan) => self.commands.push(Command::OpenPlan(path)),
            (Some(path), FilePurpose::OpenWorkspace) => self.commands.push(Command::OpenWorkspace(path)),
            (Some(path), FilePurpose::SaveWorkspace) => self.commands.push(Command::SaveWorkspace(Some(path))),
            (Some(path), FilePurpose::SavePlan) => self.commands.push(Command::ExportPlan(path)),
            (Some(path), FilePurpose::SaveAuditLog) => self.commands.push(Command::SaveAuditLog(path)),
            (Some(path), FilePurpose::SaveSnapshot) => self.commands.push(Command::SaveSnapshot(path)),
            (Some(path), FilePurpose::SavePolicies) => self.commands.push(Command::SavePolicies(path)),
            (None, _) if !quick => {}
            (None, FilePurpose::Mapping) => {
                self.notifications.info("No file picker is available here; type the mapping file's path.");
            }
            (None, FilePurpose::SaveLearned) => {
                self.notifications.info("No file picker is available here; type the path of the learned scenario.");
                self.dialogs.save_learned =
                    self.current.as_ref().map(|c| default_save_path(&c.source).display().to_string());
            }
            (None, FilePurpose::Lab(which)) => {
                self.notifications.info(format!("No file picker is available here; type the path ({}).", which.title()))
            }
            (None, FilePurpose::Scenario) => {
                self.notifications.info("No file picker is available here; type the path instead.");
                self.dialogs.open_path = Some(String::new());
            }
            (None, FilePurpose::Plan) => {
                self.notifications.info("No file picker is available here; type the plan's path.");
                self.remediation_prompts.open_path =
                    Some(self.remediation_prompts.open_path.take().unwrap_or_default());
            }
            (None, FilePurpose::OpenWorkspace) => {
                self.notifications.info("No file picker is available here; type the workspace's path.");
                self.dialogs.open_path = Some(String::new());
            }
            (None, FilePurpose::SaveWorkspace) => {
                self.notifications.info("No file picker is available here; type where to save the workspace.");
                let suggested = self.workspace_path.clone().or_else(|| self.suggested_workspace_path());
                self.dialogs.save_workspace = Some(suggested.map(|p| p.display().to_string()).unwrap_or_default());
            }
            (None, FilePurpose::SavePlan) => {
                self.notifications.info("No file picker is available here; type the plan file's path.");
                self.remediation_prompts.export_path =
                    Some(self.remediation_prompts.export_path.take().unwrap_or_else(|| "plan.json".into()));
            }
            (None, FilePurpose::SaveAuditLog) => {
                self.notifications.info("No file picker is available here; type the log file's path.");
                self.remediation_prompts.audit_path =
                    Some(self.remediation_prompts.audit_path.take().unwrap_or_else(|| "audit.jsonl".into()));
            }
            (None, FilePurpose::SaveSnapshot) => {
                self.notifications.info("No file picker is available here; type the snapshot's path.");
                self.live.snapshot_path = Some("live-snapshot.ron".into());
            }
            (None, FilePurpose::SavePolicies) => {
                self.notifications.info("No file picker is available here; type where to save the policies.");
                self.editor.save_as =
                    Some(self.editor.path.as_ref().map_or_else(|| "policies.yaml".into(), |p| p.display().to_string()));
            }
            (None, FilePurpose::Policy) => {
                self.notifications.info(
                    "No file picker is available here: paste the policies into the editor, or Save as a typed path.",
                );
            }
        }
    }

    /// Writes the policy editor's text to `path`.
    fn save_policies(&mut self, path: &std::path::Path) {
        match crate::io::write_bytes(path, "policy file", self.editor.text.as_bytes()) {
            Ok(()) => {
                self.editor.path = Some(path.to_path_buf());
                if let Some(format) = crate::io::format::Format::of(path) {
                    self.editor.format = format;
                }
                self.notifications.info(format!("Saved {}", path.display()));
            }
            Err(e) => self.notifications.error(format!("{e:#}")),
        }
    }
}
