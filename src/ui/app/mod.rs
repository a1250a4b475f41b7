//! The workbench application, split by responsibility:
//! - this file: the app's state ([`WorkbenchApp`]), how it starts ([`Launch`]), what
//!   tests and automation may read, and the frame loop (`logic()`, then `ui()`);
//! - `logic.rs`: per-frame work outside the UI pass: loading, the analyses, learning,
//!   live data, what the time cursor shows, the graph's colours;
//! - `commands.rs`: carrying out the [`Command`]s pushed during the UI pass, shortcuts;
//! - `panels.rs`: the layout (menu, status bar, tabs, dialogs), which only reads state
//!   and pushes commands;
//! - `automation.rs`: `--screenshot` and `--frame-stats`.

mod automation;
mod commands;
mod logic;
mod panels;
mod workspace;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use eframe::egui;
use serde::{Deserialize, Serialize};

use self::automation::AutomationState;
pub use self::automation::{Automation, Outcome};
use super::analyses::Analyses;
use super::command::{Command, Commands};
use super::files::FilePicker;
use super::graph_filter::{ColourMode, FilterKey, GraphFilter};
use super::graph_panel::GraphModel;
use super::inspector::InspectorState;
use super::jobs::{Job, LoadJob, Source};
use super::lab::LabState;
use super::learn::{Learning, ModelCounts};
use super::notify::Notifications;
use super::plot_cache::PlotCache;
use super::policy_editor::PolicyEditor;
use super::remediation::{OpenedPlan, RemediationPrompts};
use super::theme;
use super::timeline::Timeline;
use crate::analytics::predict::{Predictions, SeriesForecast};
use crate::analytics::scan::AnomalyScans;
use crate::model::{SeriesKey, TwinId};
use crate::policy::Policy;
use crate::policy::spans::ViolationHistory;
use crate::remediation::assessment::{Assessment, AtTime};
use crate::remediation::plan::Finding;
use crate::remediation::review::Review;
use crate::scenario::Scenario;

/// How the app starts.
#[derive(Clone, Debug, Default)]
pub struct Launch {
    /// Scenario, telemetry file or workspace to open; `None` opens the default scenario.
    pub scenario: Option<PathBuf>,
    /// Automation, if any.
    pub automation: Option<Automation>,
    /// Twin to select once loaded.
    pub select: Option<String>,
    /// Right-hand tab to show (`inspector`, `findings`, `remediation`, `lab`).
    pub tab: Option<String>,
    /// Policy file to open in the editor.
    pub policies: Option<PathBuf>,
    /// A live source to connect to instead of opening a scenario.
    pub live: Option<crate::ui::connect::ConnectRequest>,
    /// Lab run to start once loaded (`whatif`, `ab`, `chaos`).
    pub lab_run: Option<String>,
    /// Where automation reports.
    pub outcome: Arc<Mutex<Option<Outcome>>>,
    /// When the process started opening the window (for the start-up figures).
    pub started: Option<crate::io::Stopwatch>,
}

/// Settings persisted between sessions (eframe storage).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Dark theme.
    pub dark_mode: bool,
    /// Recently opened scenario files, newest first.
    pub recent: Vec<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self { dark_mode: true, recent: Vec::new() }
    }
}

const SETTINGS_KEY: &str = "twinbench.settings";

/// Least time between two re-analyses (anomaly scan, policy evaluation) of live data.
pub(super) const LIVE_ANALYSIS_SECS: f64 = 10.0;

/// The tabs of the right-hand panel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RightTab {
    /// The selected twin (or the scenario overview).
    #[default]
    Inspector,
    /// Violations, drift and anomalies at the cursor.
    Findings,
    /// Proposed actions, approvals, plan export.
    Remediation,
    /// The simulation lab: what-if, A/B, chaos.
    Lab,
}

/// The loaded scenario and what is derived from it.
struct Current {
    scenario: Arc<Scenario>,
    /// The policies in force: the scenario's own and the editor's.
    policies: Arc<Vec<Policy>>,
    /// Anomaly scans, once the background analysis finished.
    anomalies: Option<Arc<AnomalyScans>>,
    /// The series scanned so far while the scan runs (streamed in, the selected twin
    /// and those on screen first).
    scans_so_far: AnomalyScans,
    violations: Arc<ViolationHistory>,
    /// Predicted violations and the forecasts behind them, once forecasting finished.
    predictions: Option<Arc<Predictions>>,
    /// The violations predicted so far while forecasting runs (streamed in, the
    /// selected twin and those on screen first).
    predicted_so_far: Vec<crate::analytics::predict::PredictedViolation>,
    /// While forecasting runs: how many of each twin's forecast series are not done
    /// yet (`None` before forecasting started).
    forecast_pending: Option<BTreeMap<TwinId, usize>>,
    /// Forecasts of series no rule applies to, made when their twin is selected.
    twin_forecasts: BTreeMap<SeriesKey, Result<SeriesForecast, String>>,
    history_ready: bool,
    source: Source,
    /// How many series have a learned, a written or no workload model.
    models: ModelCounts,
}

impl Current {
    /// A twin's health at `t`: its recorded status and the rules it violates then (the
    /// recorded status alone while history loads).
    fn health(&self, id: &TwinId, t: i64) -> crate::model::Status {
        self.scenario.graph.twin(id).map_or(crate::model::Status::Unknown, |twin| {
            if self.history_ready {
                crate::policy::spans::health_at(twin, self.violations.get(id), t)
            } else {
                twin.status_at(t)
            }
        })
    }

    /// What the policies, anomalies and predictions say about the scenario.
    fn assessment(&self) -> Assessment {
        let mut assessment = Assessment::with_violations(
            Arc::clone(&self.scenario),
            Arc::clone(&self.policies),
            Arc::clone(&self.violations),
        );
        if let Some(scans) = &self.anomalies {
            assessment = assessment.with_anomalies(Arc::clone(scans));
        }
        if let Some(predictions) = &self.predictions {
            assessment = assessment.with_predictions(Arc::clone(predictions));
        }
        assessment
    }

    /// The predicted violations to colour by: all of them once forecasting finished,
    /// else those found so far.
    fn predicted(&self) -> &[crate::analytics::predict::PredictedViolation] {
        self.predictions.as_ref().map_or(&self.predicted_so_far, |p| &p.violations)
    }

    /// Whether twin `id`'s predicted violations are known: forecasting finished, or
    /// every series of it that is forecast is done.
    fn forecast_known(&self, id: &TwinId) -> bool {
        self.predictions.is_some() || self.forecast_pending.as_ref().is_some_and(|p| p.get(id).is_none_or(|n| *n == 0))
    }

    /// Counts the series forecasting is about to do, per twin.
    fn expect_forecasts(&mut self) {
        let mut pending = BTreeMap::new();
        for key in crate::analytics::predict::predictable_series(&self.scenario, &self.policies) {
            *pending.entry(key.twin).or_insert(0) += 1;
        }
        self.forecast_pending = Some(pending);
    }

    /// The anomaly scans to colour by: the finished scan, or the series scanned so far.
    fn scans(&self) -> Option<&AnomalyScans> {
        self.anomalies.as_deref().or((!self.scans_so_far.is_empty()).then_some(&self.scans_so_far))
    }

    /// The scans that cover every series of twin `id`, once they do.
    fn twin_scans(&self, id: &TwinId) -> Option<&AnomalyScans> {
        if let Some(all) = &self.anomalies {
            return Some(all);
        }
        let mut metrics = self.scenario.telemetry.metrics_of(id);
        metrics
            .all(|m| self.scans_so_far.contains_key(&SeriesKey::new(id.clone(), m.clone())))
            .then_some(&self.scans_so_far)
    }

    /// The forecast of a series, from the predictions or the selected twin's forecasts.
    fn forecast(&self, key: &SeriesKey) -> Option<&SeriesForecast> {
        self.predictions
            .as_ref()
            .and_then(|p| p.forecasts.get(key))
            .or_else(|| self.twin_forecasts.get(key).and_then(|r| r.as_ref().ok()))
    }
}

/// The app's own small windows: what each shows while open.
#[derive(Default)]
struct Dialogs {
    /// *Open path*: the typed path (Some while shown).
    open_path: Option<String>,
    /// The keyboard-shortcut help.
    help: bool,
    /// *Save learned scenario* as a typed path (Some while shown).
    save_learned: Option<String>,
    /// *Save workspace* as a typed path (Some while shown).
    save_workspace: Option<String>,
}

/// The workbench.
pub struct WorkbenchApp {
    settings: Settings,
    current: Option<Current>,
    previous: Option<Current>,
    job: Option<LoadJob>,
    graph: Option<GraphModel>,
    filter: GraphFilter,
    selected: Option<TwinId>,
    timeline: Timeline,
    inspector: InspectorState,
    plot_cache: PlotCache,
    notifications: Notifications,
    commands: Commands,
    automation: Option<AutomationState>,
    outcome: Arc<Mutex<Option<Outcome>>>,
    pending_select: Option<String>,
    files: FilePicker,
    /// The app's own small windows.
    dialogs: Dialogs,
    painted: Option<(i64, u64, ColourMode, FilterKey)>,
    /// The background analyses of the open scenario.
    analyses: Analyses,
    right_tab: RightTab,
    lab: LabState,
    lab_painted: Option<(i64, u64)>,
    lab_run: Option<String>,
    editor: PolicyEditor,
    editor_policies: Vec<Policy>,
    /// Decisions on proposals, their log, the orchestration loop, rehearsed actions.
    remediation: Review,
    /// The Remediation tab's path prompts.
    remediation_prompts: RemediationPrompts,
    /// A plan file opened for review (*Open plan…*).
    opened_plan: Option<OpenedPlan>,
    user: String,
    ctx: egui::Context,
    /// The assessment at the time cursor (recomputed when it or the data changes).
    at_cursor: Option<AtTime>,
    /// (time, paint generation) `at_cursor` was computed for.
    cursor_key: Option<(i64, u64)>,
    paint_generation: u64,
    /// When the running anomaly scan was last told what is in view (egui seconds).
    scan_steered: f64,
    started: Option<crate::io::Stopwatch>,
    first_frame_ms: Option<f64>,
    ready_ms: Option<f64>,
    /// Live connect (src/ui/connect.rs).
    live: crate::ui::connect::LiveState,
    /// Live samples arrived since the analyses last started.
    live_stale: bool,
    /// When (egui time, s) the analyses of live data last started.
    live_analysed_at: Option<f64>,
    /// Learning the twins' workload models from history (src/ui/learn.rs).
    learning: Learning,
    /// Writing a learned scenario (*Save learned scenario…*).
    save_job: Option<Job<String>>,
    /// Undo and redo of decisions, policy edits and lab inputs (src/ui/undo.rs).
    history: super::undo::History,
    /// The lab's inputs as of the last frame (their widgets edit them in place).
    lab_seen: super::lab::LabInputs,
    /// The policy editor's text whose policies are in force, if any.
    applied_policies: Option<String>,
    /// The workspace file the work was opened from or last saved to.
    workspace_path: Option<PathBuf>,
    /// A workspace being opened, until its scenario is loaded and checked.
    pending_workspace: Option<workspace::PendingWorkspace>,
}

impl WorkbenchApp {
    /// Creates the app and starts loading the launch scenario.
    pub fn new(cc: &eframe::CreationContext<'_>, launch: Launch) -> Self {
        let settings = match (&launch.automation, cc.storage) {
            (None, Some(storage)) => eframe::get_value(storage, SETTINGS_KEY).unwrap_or_default(),
            _ => Settings::default(),
        };
        theme::apply(&cc.egui_ctx, settings.dark_mode);
        let mut app = Self {
            settings,
            current: None,
            previous: None,
            job: None,
            graph: None,
            filter: GraphFilter::default(),
            selected: None,
            timeline: Timeline::default(),
            inspector: InspectorState::default(),
            plot_cache: PlotCache::default(),
            notifications: Notifications::default(),
            commands: Vec::new(),
            automation: launch.automation.map(|mode| AutomationState {
                mode,
                settled_frames: 0,
                screenshot_requested: false,
                cpu_ms: Vec::new(),
                done: false,
            }),
            outcome: launch.outcome,
            pending_select: launch.select,
            files: FilePicker::default(),
            dialogs: Dialogs::default(),
            painted: None,
            analyses: Analyses::default(),
            right_tab: RightTab::default(),
            lab: LabState::default(),
            lab_painted: None,
            lab_run: launch.lab_run.clone(),
            editor: PolicyEditor::default(),
            editor_policies: Vec::new(),
            remediation: Review::default(),
            remediation_prompts: RemediationPrompts::default(),
            opened_plan: None,
            user: std::env::var("USER")
                .ok()
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| "workbench user".into()),
            ctx: cc.egui_ctx.clone(),
            at_cursor: None,
            cursor_key: None,
            paint_generation: 0,
            scan_steered: f64::NEG_INFINITY,
            started: launch.started,
            first_frame_ms: None,
            ready_ms: None,
            live: crate::ui::connect::LiveState::default(),
            live_stale: false,
            live_analysed_at: None,
            learning: Learning::default(),
            save_job: None,
            history: super::undo::History::default(),
            lab_seen: super::lab::LabInputs::default(),
            applied_policies: None,
            workspace_path: None,
            pending_workspace: None,
        };
        app.right_tab = match launch.tab.as_deref() {
            Some("findings") => RightTab::Findings,
            Some("remediation") => RightTab::Remediation,
            Some("lab") => RightTab::Lab,
            _ => RightTab::Inspector,
        };
        if let Some(path) = launch.policies {
            app.open_policy_file(&path);
        }
        match (launch.live, launch.scenario) {
            (Some(request), _) => app.connect(&cc.egui_ctx, request),
            (None, Some(path)) if super::workspace::is_workspace(&path) => {
                app.open_workspace(&cc.egui_ctx, &path);
                // A workspace that cannot be opened leaves nothing open: the default
                // scenario then, with the message about the workspace.
                if app.job.is_none() && app.current.is_none() && !app.live.dialog.open {
                    app.open(&Source::Default, &cc.egui_ctx);
                }
            }
            (None, scenario) => {
                let source = scenario.map_or(Source::Default, Source::from_path);
                app.open(&source, &cc.egui_ctx);
            }
        }
        app
    }

    /// The loaded scenario, if any.
    pub fn scenario(&self) -> Option<&Scenario> {
        self.current.as_ref().map(|c| c.scenario.as_ref())
    }

    /// Number of policies in force (the scenario's and the editor's).
    pub fn policies_in_force(&self) -> usize {
        self.current.as_ref().map_or(0, |c| c.policies.len())
    }

    /// The findings at the time cursor.
    pub fn findings(&self) -> &[Finding] {
        self.at_cursor.as_ref().map_or(&[], |a| &a.findings)
    }

    /// Approved proposals at the time cursor, rehearsed actions included.
    pub fn approved_count(&self) -> usize {
        self.at_cursor
            .as_ref()
            .map_or(0, |a| self.remediation.approved_ids(&self.remediation.plan_candidates(&a.candidates)).len())
    }

    /// True while policies are being re-evaluated over history.
    pub fn is_evaluating(&self) -> bool {
        self.analyses.is_evaluating()
    }

    /// True once the predicted violations of the open scenario are known.
    pub fn predictions_ready(&self) -> bool {
        self.current.as_ref().is_some_and(|c| c.predictions.is_some())
    }

    /// Predicted violations (empty until forecasting finished).
    pub fn predicted(&self) -> &[crate::analytics::predict::PredictedViolation] {
        self.current.as_ref().and_then(|c| c.predictions.as_deref()).map_or(&[], |p| &p.violations)
    }

    /// The simulation lab (its last results and whether a run is in progress).
    pub fn lab(&self) -> &LabState {
        &self.lab
    }

    /// The right-hand tab shown.
    pub fn right_tab(&self) -> RightTab {
        self.right_tab
    }

    /// True while the twins' workload models are being learned.
    pub fn is_learning(&self) -> bool {
        self.learning.is_running()
    }

    /// How many series of the open scenario have a learned, a written or no model.
    pub fn model_counts(&self) -> Option<ModelCounts> {
        self.current.as_ref().map(|c| c.models)
    }

    /// True once the background anomaly scan of the open scenario finished.
    pub fn anomalies_ready(&self) -> bool {
        self.current.as_ref().is_some_and(|c| c.anomalies.is_some())
    }

    /// True when a scenario and its history are loaded and nothing is loading.
    pub fn is_ready(&self) -> bool {
        self.job.is_none() && self.current.as_ref().is_some_and(|c| c.history_ready)
    }

    /// The selected twin.
    pub fn selected(&self) -> Option<&TwinId> {
        self.selected.as_ref()
    }

    /// The twins the graph's filters and focus fade out, sorted.
    pub fn faded_twins(&self) -> Vec<TwinId> {
        self.scenario().map_or_else(Vec::new, |s| {
            s.graph.twins().filter(|t| self.filter.hides(&t.id, t.kind)).map(|t| t.id.clone()).collect()
        })
    }

    /// The names of the groups the graph is boxed by (none for a small graph).
    pub fn graph_groups(&self) -> Vec<String> {
        self.graph.as_ref().map_or_else(Vec::new, |g| g.groups().map(|group| group.name.clone()).collect())
    }

    /// What each application box of the graph says, in group order.
    pub fn graph_group_texts(&self) -> Vec<String> {
        self.graph.as_ref().map_or_else(Vec::new, GraphModel::group_texts)
    }

    /// The graph view's zoom and pan (from its corner) in the last frame drawn.
    pub fn graph_view(&self) -> Option<(f32, egui::Vec2)> {
        self.graph.as_ref().and_then(GraphModel::view)
    }

    /// The graph's colour mode, by its menu label (`Health`, `Drift`, …).
    pub fn colour_mode(&self) -> &'static str {
        self.filter.colour.label()
    }

    /// The time cursor.
    pub fn time(&self) -> i64 {
        self.timeline.time
    }

    /// The live source's connection state and counters, while connected.
    pub fn live_status(&self) -> Option<(crate::io::live::ConnState, crate::io::live::LiveStats)> {
        self.live.handle.as_ref().map(|h| (h.state(), h.stats()))
    }

    /// Notification texts currently shown.
    pub fn notification_texts(&self) -> Vec<String> {
        self.notifications.texts().into_iter().map(|(_, t)| t.to_string()).collect()
    }

    /// Queues a command, as a panel would.
    pub fn push_command(&mut self, command: Command) {
        self.commands.push(command);
    }

    /// The plan file opened for review in the Remediation tab, if any.
    pub fn opened_plan(&self) -> Option<&OpenedPlan> {
        self.opened_plan.as_ref()
    }

    /// The decision log of the Remediation tab (approvals, rejections, loop decisions).
    pub fn decision_log(&self) -> &[crate::remediation::orchestrate::AuditEntry] {
        &self.remediation.audit
    }
}

impl eframe::App for WorkbenchApp {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        self.frame_logic(ctx, frame);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.automation.is_none() {
            eframe::set_value(storage, SETTINGS_KEY, &self.settings);
        }
    }
}

/// `text` with its first letter in upper case (a CLI line as a notification).
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}
