//! The workbench application: state, the per-frame logic (draining background jobs,
//! shortcuts, playback, automation) and the layout of the panels.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};

use eframe::egui::{self, RichText};
use serde::{Deserialize, Serialize};

use super::findings::{FindingsInput, RemediationRequest, RemediationState, findings_ui, remediation_ui};
use super::graph_panel::{ColourMode, GraphAction, GraphFilter, GraphModel, graph_ui};
use super::inspector::{InspectorInput, InspectorState, inspector_ui};
use super::jobs::{
    AnomalyScans, Job, LoadEvent, LoadJob, Loaded, Source, TwinForecasts, spawn_anomaly_scan, spawn_predictions,
    spawn_twin_forecasts, spawn_violations,
};
use super::lab::{ChaosMark, LabState, Section, lab_ui};
use super::learn::{LearnReason, Learning, ModelCounts, TwinsInfo, TwinsRequest};
use super::notify::Notifications;
use super::plot_cache::PlotCache;
use super::policy_editor::{EditorEvent, PolicyEditor, editor_ui as policy_editor_ui, effective};
use super::theme;
use super::timeline::{Timeline, timeline_ui};
use crate::analytics::compliance::CurrentViolation;
use crate::analytics::drift::{DriftReport, drift};
use crate::analytics::learn::needs_learning;
use crate::analytics::predict::{Predictions, SeriesForecast};
use crate::analytics::scan::twin_level;
use crate::io::time::format_short;
use crate::model::{SeriesKey, TwinId};
use crate::policy::Policy;
use crate::policy::spans::{ViolationHistory, health_at};
use crate::remediation::plan::{
    ApproveSpec, Candidate, Finding, PlanContext, anomaly_findings, candidates, findings, plan, predicted_findings,
};
use crate::remediation::priority::Weights;
use crate::scenario::Scenario;

/// What the window should do by itself (command-line automation).
#[derive(Clone, Debug, PartialEq)]
pub enum Automation {
    /// Render the first settled frame to this PNG, then close.
    Screenshot(PathBuf),
    /// Render N frames after loading and report CPU time per frame, then close.
    FrameStats(u32),
}

/// What automation produced.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The screenshot was written.
    Screenshot(PathBuf),
    /// Frame statistics as JSON.
    FrameStats(serde_json::Value),
    /// Automation could not finish.
    Failed(String),
}

/// How the app starts.
#[derive(Clone, Debug, Default)]
pub struct Launch {
    /// Scenario to open; `None` opens the default scenario.
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
    pub live: Option<super::connect::ConnectRequest>,
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
const LIVE_ANALYSIS_SECS: f64 = 10.0;

/// How far ahead the drift forecast looks in the workbench.
const DRIFT_HORIZON_SECS: i64 = 7 * 86_400;

/// Actions requested by panels, executed after the UI pass.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Select a twin (or clear the selection).
    Select(Option<TwinId>),
    /// Move the time cursor.
    SetTime(i64),
    /// Open a scenario or telemetry file.
    Open(Source),
    /// Show the native file picker.
    OpenDialog,
    /// Show the typed-path dialog.
    OpenPathDialog,
    /// Switch between dark and light.
    ToggleTheme,
    /// Close the window.
    Quit,
    /// Select a twin and show it in the inspector.
    Inspect(TwinId),
    /// Show the policy editor.
    EditPolicies,
    /// Pick a policy file to open in the editor.
    OpenPolicyFile,
    /// Start a lab run (or keep it waiting while the twins' models are learned).
    RunLab(Section),
    /// Refit the learned workload models (and learn missing ones): *Learn twins*.
    LearnTwins,
    /// Stop learning the twins.
    CancelLearning,
    /// Choose a file and write the scenario with its learned models.
    SaveLearned,
}

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

/// What a file picked in the native dialog is for.
/// Whether a file picker can be shown: on Linux the dialog is the desktop portal's,
/// reached over the D-Bus session bus; without one (CI, Xvfb, a bare SSH session) there
/// is nobody to ask. Elsewhere the system dialog is always there.
fn file_picker_reachable() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|dir| std::path::Path::new(&dir).join("bus").exists())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PickPurpose {
    Scenario,
    Policy,
    /// The Connect dialog's mapping file.
    Mapping,
    /// A file field of the lab.
    Lab(super::lab::LabFile),
    /// Where to save the scenario with its learned models.
    SaveLearned,
}

/// What is derived for the time cursor (recomputed when it moves).
pub struct AtCursor {
    key: (i64, u64),
    /// Configuration drift at the cursor time.
    pub drift: DriftReport,
    /// Violations and drift at the cursor time, as findings.
    pub findings: Vec<Finding>,
    /// Proposed actions for the findings, best first.
    pub candidates: Vec<Candidate>,
}

/// The loaded scenario and what is derived from it.
struct Current {
    scenario: Arc<Scenario>,
    /// The policies in force: the scenario's own and the editor's.
    policies: Arc<Vec<Policy>>,
    /// Anomaly scans, once the background analysis finished.
    anomalies: Option<Arc<AnomalyScans>>,
    violations: Arc<ViolationHistory>,
    /// Predicted violations and the forecasts behind them, once forecasting finished.
    predictions: Option<Arc<Predictions>>,
    /// Forecasts of series no rule applies to, made when their twin is selected.
    twin_forecasts: BTreeMap<SeriesKey, Result<SeriesForecast, String>>,
    history_ready: bool,
    source: Source,
    /// How many series have a learned, a written or no workload model.
    models: ModelCounts,
}

impl Current {
    /// The forecast of a series, from the predictions or the selected twin's forecasts.
    fn forecast(&self, key: &SeriesKey) -> Option<&SeriesForecast> {
        self.predictions
            .as_ref()
            .and_then(|p| p.forecasts.get(key))
            .or_else(|| self.twin_forecasts.get(key).and_then(|r| r.as_ref().ok()))
    }
}

struct AutomationState {
    mode: Automation,
    settled_frames: u32,
    screenshot_requested: bool,
    cpu_ms: Vec<f64>,
    done: bool,
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
    commands: Vec<Command>,
    automation: Option<AutomationState>,
    outcome: Arc<Mutex<Option<Outcome>>>,
    pending_select: Option<String>,
    file_pick: Option<(Receiver<Option<PathBuf>>, f64, PickPurpose)>,
    path_dialog: Option<String>,
    show_help: bool,
    painted: Option<(i64, u64, ColourMode)>,
    analysis: Option<Job<AnomalyScans>>,
    prediction: Option<Job<Predictions>>,
    /// Predictions are wanted once the running backtest has the violation history.
    predict_after_backtest: bool,
    twin_forecast: Option<(TwinId, Job<TwinForecasts>)>,
    backtest: Option<Job<ViolationHistory>>,
    right_tab: RightTab,
    lab: LabState,
    lab_painted: Option<(i64, u64)>,
    lab_run: Option<String>,
    editor: PolicyEditor,
    editor_policies: Vec<Policy>,
    remediation: RemediationState,
    user: String,
    ctx: egui::Context,
    at_cursor: Option<AtCursor>,
    paint_generation: u64,
    started: Option<crate::io::Stopwatch>,
    first_frame_ms: Option<f64>,
    ready_ms: Option<f64>,
    /// Live connect (src/ui/connect.rs).
    live: super::connect::LiveState,
    /// Live samples arrived since the analyses last started.
    live_stale: bool,
    /// When (egui time, s) the analyses of live data last started.
    live_analysed_at: Option<f64>,
    /// Learning the twins' workload models from history (src/ui/learn.rs).
    learning: Learning,
    /// Writing a learned scenario (*Save learned scenario…*).
    save_job: Option<Job<String>>,
    /// The typed path of *Save learned scenario…* (Some while its window is shown).
    save_learned_path: Option<String>,
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
            file_pick: None,
            path_dialog: None,
            show_help: false,
            painted: None,
            analysis: None,
            prediction: None,
            predict_after_backtest: false,
            twin_forecast: None,
            backtest: None,
            right_tab: RightTab::default(),
            lab: LabState::default(),
            lab_painted: None,
            lab_run: launch.lab_run.clone(),
            editor: PolicyEditor::default(),
            editor_policies: Vec::new(),
            remediation: RemediationState::default(),
            user: std::env::var("USER")
                .ok()
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| "workbench user".into()),
            ctx: cc.egui_ctx.clone(),
            at_cursor: None,
            paint_generation: 0,
            started: launch.started,
            first_frame_ms: None,
            ready_ms: None,
            live: super::connect::LiveState::default(),
            live_stale: false,
            live_analysed_at: None,
            learning: Learning::default(),
            save_job: None,
            save_learned_path: None,
        };
        app.right_tab = match launch.tab.as_deref() {
            Some("findings") => RightTab::Findings,
            Some("remediation") => RightTab::Remediation,
            Some("lab") => RightTab::Lab,
            _ => RightTab::Inspector,
        };
        if let Some(path) = &launch.policies {
            app.open_policy_file(path);
        }
        match launch.live {
            Some(request) => app.connect(&cc.egui_ctx, request),
            None => {
                let source = launch.scenario.map_or(Source::Default, Source::from_path);
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
        self.backtest.is_some()
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

    fn open(&mut self, source: &Source, ctx: &egui::Context) {
        match LoadJob::spawn(source.clone(), ctx) {
            Ok(job) => self.job = Some(job),
            Err(e) => self.notifications.error(format!("Cannot start loading {}: {e}", source.label())),
        }
    }

    fn remember(&mut self, source: &Source) {
        if let Source::File(path) | Source::Telemetry(path) = source {
            self.settings.recent.retain(|p| p != path);
            self.settings.recent.insert(0, path.clone());
            self.settings.recent.truncate(8);
        }
    }

    fn install(&mut self, scenario: Scenario, violations: ViolationHistory, history_ready: bool, source: Source) {
        self.paint_generation += 1;
        let same_scenario =
            self.current.as_ref().is_some_and(|c| c.source == source && c.scenario.name == scenario.name);
        if !same_scenario {
            self.graph = Some(GraphModel::build(&scenario.graph));
            self.timeline.time = scenario.end;
            self.timeline.playing = false;
            self.inspector = InspectorState::default();
            self.filter = GraphFilter::default();
            self.selected = None;
            self.lab.reset_for(&scenario);
        }
        self.plot_cache.clear();
        self.paint_generation += 1;
        // A live source's twins arrive later: its selection waits for them (live_logic).
        let pending = if matches!(source, Source::Live(_)) { None } else { self.pending_select.take() };
        let scenario = Arc::new(scenario);
        self.analysis = None;
        if history_ready {
            match spawn_anomaly_scan(Arc::clone(&scenario), &self.ctx) {
                Ok(job) => self.analysis = Some(job),
                Err(e) => self.notifications.error(format!("Cannot start the anomaly scan: {e}")),
            }
        }
        let policies = effective(&scenario.policies, &self.editor_policies);
        let extra_policies = policies.len() > scenario.policies.len();
        let models = ModelCounts::of(&scenario);
        self.current = Some(Current {
            scenario,
            policies,
            anomalies: None,
            violations: Arc::new(violations),
            predictions: None,
            twin_forecasts: BTreeMap::new(),
            history_ready,
            source,
            models,
        });
        // Learning belongs to the scenario it learns from; a lab run that waited for
        // the previous one's goes ahead when nothing is left to learn.
        self.learning = Learning::default();
        self.learn_missing();
        if !self.learning.is_running()
            && let Some(section) = self.lab.take_waiting()
        {
            self.launch_lab(section);
        }
        self.twin_forecast = None;
        self.prediction = None;
        self.predict_after_backtest = false;
        // A new scenario starts a new decision log; the loop's settings stay.
        let loop_config = self.remediation.orchestrator.config;
        self.remediation = RemediationState::default();
        self.remediation.orchestrator.config = loop_config;
        if extra_policies && history_ready {
            self.start_backtest();
        }
        if history_ready {
            self.start_predictions();
        }
        if let Some(id) = pending {
            let id = TwinId::new(&id);
            if self.scenario().is_some_and(|s| s.graph.twin(&id).is_some()) {
                self.select(Some(id));
            } else {
                self.notifications.error(format!("No twin {:?} in this scenario", id.as_str()));
            }
        }
    }

    fn select(&mut self, id: Option<TwinId>) {
        if let Some(graph) = &mut self.graph {
            graph.select(id.as_ref());
        }
        self.selected = id;
    }

    fn poll_analysis(&mut self) {
        let Some(result) = self.analysis.as_ref().and_then(Job::poll) else {
            return;
        };
        self.analysis = None;
        match result {
            Ok(scans) => {
                if let Some(c) = &mut self.current {
                    c.anomalies = Some(Arc::new(scans));
                    self.paint_generation += 1;
                }
            }
            Err(e) => self.notifications.error(format!("The anomaly scan failed: {e}")),
        }
    }

    /// Forecasts the series the policies in force apply to and predicts violations —
    /// once the backtest, when one is running, has their violation history.
    fn start_predictions(&mut self) {
        let Some(current) = &self.current else {
            return;
        };
        self.prediction = None;
        if self.backtest.is_some() {
            self.predict_after_backtest = true;
            return;
        }
        let (scenario, policies) = (Arc::clone(&current.scenario), Arc::clone(&current.policies));
        match spawn_predictions(scenario, policies, Arc::clone(&current.violations), &self.ctx) {
            Ok(job) => self.prediction = Some(job),
            Err(e) => self.notifications.error(format!("Cannot start forecasting: {e}")),
        }
    }

    fn poll_predictions(&mut self) {
        let Some(result) = self.prediction.as_ref().and_then(Job::poll) else {
            return;
        };
        self.prediction = None;
        match result {
            Ok(predictions) => {
                if let Some(c) = &mut self.current {
                    c.predictions = Some(Arc::new(predictions));
                    self.paint_generation += 1;
                }
            }
            Err(e) => self.notifications.error(format!("Forecasting failed: {e}")),
        }
    }

    /// Forecasts the selected twin's series that the predictions did not cover.
    fn request_twin_forecasts(&mut self) {
        let (Some(current), Some(id)) = (&self.current, &self.selected) else {
            return;
        };
        if !current.history_ready
            || current.predictions.is_none()
            || self.twin_forecast.as_ref().is_some_and(|(t, _)| t == id)
        {
            return;
        }
        let keys: Vec<SeriesKey> = current
            .scenario
            .telemetry
            .metrics_of(id)
            .map(|m| SeriesKey::new(id.clone(), m.clone()))
            .filter(|k| current.forecast(k).is_none() && !current.twin_forecasts.contains_key(k))
            .collect();
        if keys.is_empty() {
            return;
        }
        match spawn_twin_forecasts(Arc::clone(&current.scenario), keys, &self.ctx) {
            Ok(job) => self.twin_forecast = Some((id.clone(), job)),
            Err(e) => self.notifications.error(format!("Cannot start forecasting: {e}")),
        }
    }

    fn poll_twin_forecasts(&mut self) {
        let Some(result) = self.twin_forecast.as_ref().and_then(|(_, job)| job.poll()) else {
            return;
        };
        self.twin_forecast = None;
        match result {
            Ok(forecasts) => {
                if let Some(c) = &mut self.current {
                    c.twin_forecasts.extend(forecasts);
                }
            }
            Err(e) => self.notifications.error(format!("Forecasting the twin failed: {e}")),
        }
    }

    /// Learns the models the open scenario's history lacks, when it lacks some and
    /// nothing is learning yet (a file's history once loaded; a live source's series
    /// are looked after by `live_logic`).
    fn learn_missing(&mut self) {
        let Some(c) = &self.current else {
            return;
        };
        if c.history_ready && !self.learning.is_running() && c.models.missing > 0 && needs_learning(&c.scenario) {
            self.start_learning(LearnReason::Missing);
        }
    }

    /// Starts a learn job on the open scenario (see src/ui/learn.rs).
    fn start_learning(&mut self, reason: LearnReason) {
        let Some(c) = &self.current else {
            return;
        };
        // A file's scenario stays as it is while learning, so the job can hand back a
        // copy with the models applied; a live one moves on and gets them applied.
        let prepare = !matches!(c.source, Source::Live(_));
        let now = self.ctx.input(|i| i.time);
        if let Err(e) = self.learning.start(&c.scenario, reason, prepare, now, &self.ctx) {
            self.notifications.error(format!("Cannot start learning the twins: {e}"));
        }
    }

    /// Puts finished learning into the open scenario and starts a lab run that waited
    /// for it.
    fn poll_learning(&mut self, now: f64) {
        let Some(done) = self.learning.poll(self.current.as_ref().map(|c| &c.scenario), now) else {
            return;
        };
        let live = self.current.as_ref().is_some_and(|c| matches!(c.source, Source::Live(_)));
        // What a live session learns by itself after its first models (refits, series
        // it discovers) is quiet: the Lab's header says when it happened.
        let quiet = match done.reason {
            LearnReason::User => false,
            LearnReason::Missing => live && !done.first,
            LearnReason::LiveRefit => true,
        };
        match done.result {
            Ok(outcome) => {
                if let Some(c) = &mut self.current {
                    match outcome.applied {
                        Some(applied) if done.same_input => c.scenario = applied,
                        // Live events moved the scenario on: the models go into the
                        // latest state (copied once if an analysis still reads it).
                        _ => outcome.learned.apply(Arc::make_mut(&mut c.scenario)),
                    }
                    c.models = ModelCounts::of(&c.scenario);
                    self.paint_generation += 1;
                }
                if !quiet {
                    let line = crate::cli::learned_line(&outcome.learned, outcome.secs);
                    self.notifications.info(capitalised(&line));
                }
            }
            Err(e) if e == "cancelled" => {
                if !quiet {
                    self.notifications.info("Learning cancelled: the twins keep the models they had.");
                }
            }
            Err(e) => self.notifications.error(format!("Cannot learn the twins' workload models: {e}")),
        }
        if let Some(section) = self.lab.take_waiting() {
            self.launch_lab(section);
        }
    }

    /// A *Run* of the lab: on the latest models; while they are being learned (or when
    /// series lack one) the run waits for them.
    fn request_lab_run(&mut self, section: Section) {
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

    fn launch_lab(&mut self, section: Section) {
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
    fn save_learned(&mut self, path: &std::path::Path) {
        let Some(c) = &self.current else {
            return;
        };
        let out = match super::learn::ron_path(path) {
            Ok(out) => out,
            Err(e) => {
                self.notifications.error(format!("Cannot save the learned scenario: {e}"));
                return;
            }
        };
        match super::learn::spawn_save(Arc::clone(&c.scenario), c.source.clone(), out, &self.ctx) {
            Ok(job) => self.save_job = Some(job),
            Err(e) => self.notifications.error(format!("Cannot save the learned scenario: {e}")),
        }
    }

    fn poll_save(&mut self) {
        let Some(result) = self.save_job.as_ref().and_then(Job::poll) else {
            return;
        };
        self.save_job = None;
        match result {
            Ok(message) => self.notifications.info(message),
            Err(e) => self.notifications.error(format!("Cannot save the learned scenario: {e}")),
        }
    }

    fn poll_job(&mut self) {
        let Some(job) = &self.job else {
            return;
        };
        let source = job.source.clone();
        while let Some(event) = self.job.as_ref().and_then(LoadJob::poll) {
            match event {
                LoadEvent::Defined(scenario) => {
                    self.previous = self.current.take();
                    self.install(*scenario, ViolationHistory::new(), false, source.clone());
                }
                LoadEvent::Loaded(loaded) => {
                    let Loaded { scenario, violations } = *loaded;
                    self.previous = None;
                    if let Some(name) = self.live.handle.as_ref().map(|h| h.name().to_string()) {
                        // Another scenario replaced the live one: stop syncing into nothing.
                        self.live.act(super::connect::SyncAction::Disconnect);
                        self.notifications.info(format!("Disconnected from {name}"));
                    }
                    self.install(scenario, violations, true, source.clone());
                    self.remember(&source);
                    self.job = None;
                }
                LoadEvent::Failed(message) => {
                    self.job = None;
                    if let Some(previous) = self.previous.take() {
                        // Back to what was open: same graph, same selection and time.
                        self.graph = Some(GraphModel::build(&previous.scenario.graph));
                        self.paint_generation += 1;
                        self.current = Some(previous);
                        self.learn_missing();
                    }
                    let kept = if self.current.is_some() { " The open scenario is unchanged." } else { "" };
                    self.notifications.error(format!("Cannot open {}: {message}.{kept}", source.label()));
                    if let Some(auto) = &mut self.automation {
                        auto.done = true;
                        self.set_outcome(Outcome::Failed(message));
                    }
                }
            }
        }
    }

    fn set_outcome(&self, outcome: Outcome) {
        if let Ok(mut slot) = self.outcome.lock() {
            *slot = Some(outcome);
        }
    }

    fn poll_file_pick(&mut self, now: f64) {
        let Some((rx, started, purpose)) = &self.file_pick else {
            return;
        };
        let Ok(result) = rx.try_recv() else {
            return;
        };
        let (quick, purpose) = (now - *started < 0.5, *purpose);
        self.file_pick = None;
        match (result, purpose) {
            (Some(path), PickPurpose::Scenario) => self.commands.push(Command::Open(Source::from_path(path))),
            (Some(path), PickPurpose::Policy) => self.open_policy_file(&path),
            (Some(path), PickPurpose::Mapping) => self.live.dialog.mapping = path.display().to_string(),
            (None, PickPurpose::Mapping) if quick => {
                self.notifications.info("No file picker is available here; type the mapping file's path.");
            }
            (Some(path), PickPurpose::Lab(which)) => self.lab.set_path(which, &path),
            (Some(path), PickPurpose::SaveLearned) => self.save_learned(&path),
            (None, PickPurpose::SaveLearned) if quick => {
                self.notifications.info("No file picker is available here; type the path of the learned scenario.");
                self.save_learned_path =
                    self.current.as_ref().map(|c| super::learn::default_save_path(&c.source).display().to_string());
            }
            (None, PickPurpose::Lab(which)) if quick => {
                self.notifications.info(format!("No file picker is available here; type the path ({}).", which.title()))
            }
            (None, PickPurpose::Scenario) if quick => {
                self.notifications.info("No file picker is available here; type the path instead.");
                self.path_dialog = Some(String::new());
            }
            (None, PickPurpose::Policy) if quick => {
                self.notifications.info(
                    "No file picker is available here: paste the policies into the editor, or Save as a typed path.",
                );
            }
            (None, _) => {}
        }
    }

    fn open_policy_file(&mut self, path: &std::path::Path) {
        match crate::io::read_text(path, "policy file") {
            Ok(text) => {
                self.editor.load(path, text);
                self.editor.open = true;
            }
            Err(e) => self.notifications.error(format!("{e:#}")),
        }
    }

    /// Re-evaluates the policies in force over history in the background.
    fn start_backtest(&mut self) {
        let Some(current) = &self.current else {
            return;
        };
        match spawn_violations(Arc::clone(&current.scenario), Arc::clone(&current.policies), &self.ctx) {
            Ok(job) => self.backtest = Some(job),
            Err(e) => self.notifications.error(format!("Cannot evaluate the policies: {e}")),
        }
    }

    fn poll_backtest(&mut self) {
        let Some(result) = self.backtest.as_ref().and_then(Job::poll) else {
            return;
        };
        self.backtest = None;
        match result {
            Ok(violations) => {
                if let Some(c) = &mut self.current {
                    c.violations = Arc::new(violations);
                    self.paint_generation += 1;
                }
            }
            Err(e) => self.notifications.error(format!("Evaluating the policies failed: {e}")),
        }
        if std::mem::take(&mut self.predict_after_backtest) {
            self.start_predictions();
        }
    }

    /// Puts the editor's policies in force and re-evaluates.
    fn apply_editor_policies(&mut self, policies: Vec<Policy>) {
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

    fn editor_events(&mut self, events: Vec<EditorEvent>) {
        for event in events {
            match event {
                EditorEvent::Apply(policies) => self.apply_editor_policies(policies),
                EditorEvent::Open => self.commands.push(Command::OpenPolicyFile),
                EditorEvent::SaveAs => {
                    self.editor.save_as = Some(
                        self.editor.path.as_ref().map_or_else(|| "policies.yaml".into(), |p| p.display().to_string()),
                    );
                }
                EditorEvent::Save(path) => {
                    match crate::io::write_bytes(&path, "policy file", self.editor.text.as_bytes()) {
                        Ok(()) => {
                            self.editor.path = Some(path.clone());
                            if let Some(format) = crate::io::format::Format::of(&path) {
                                self.editor.format = format;
                            }
                            self.notifications.info(format!("Saved {}", path.display()));
                        }
                        Err(e) => self.notifications.error(format!("{e:#}")),
                    }
                }
            }
        }
    }

    /// One tick of the orchestration loop on the findings at the cursor.
    fn run_loop(&mut self) {
        let (Some(current), Some(at)) = (&self.current, &self.at_cursor) else {
            return;
        };
        let before = self.remediation.audit.len();
        let approved =
            self.remediation.run_loop(self.timeline.time, &at.findings, &current.scenario.graph, &current.policies);
        let logged = self.remediation.audit.len() - before;
        self.notifications.info(format!(
            "Orchestration loop ({}): {logged} decisions logged, {approved} actions approved",
            self.remediation.orchestrator.config.mode.as_str()
        ));
    }

    /// The decision log of the Remediation tab (approvals, rejections, loop decisions).
    pub fn decision_log(&self) -> &[crate::remediation::orchestrate::AuditEntry] {
        &self.remediation.audit
    }

    fn export_plan(&mut self, path: &std::path::Path) {
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

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let (start, end) = self.current.as_ref().map_or((0, 0), |c| (c.scenario.start, c.scenario.end));
        let typing = ctx.egui_wants_keyboard_input();
        let mut focus_search = false;
        ctx.input_mut(|i| {
            use egui::{Key, KeyboardShortcut, Modifiers};
            if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::O)) {
                self.commands.push(Command::OpenDialog);
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
                self.show_help = !self.show_help;
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

    fn dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(path) = dropped.into_iter().next() {
            self.commands.push(Command::Open(Source::from_path(path)));
        }
    }

    fn run_commands(&mut self, ctx: &egui::Context) {
        let commands = std::mem::take(&mut self.commands);
        for command in commands {
            match command {
                Command::Select(id) => self.select(id),
                Command::SetTime(t) => {
                    if let Some(c) = &self.current {
                        self.timeline.time = t.clamp(c.scenario.start, c.scenario.end);
                        self.timeline.playing = false;
                    }
                }
                Command::Open(source) => self.open(&source, ctx),
                Command::OpenDialog => self.start_file_pick(ctx, PickPurpose::Scenario),
                Command::OpenPolicyFile => self.start_file_pick(ctx, PickPurpose::Policy),
                Command::EditPolicies => self.editor.open = true,
                Command::Inspect(id) => {
                    self.select(Some(id));
                    self.right_tab = RightTab::Inspector;
                }
                Command::OpenPathDialog => self.path_dialog = Some(String::new()),
                Command::ToggleTheme => {
                    self.settings.dark_mode = !self.settings.dark_mode;
                    theme::apply(ctx, self.settings.dark_mode);
                    self.paint_generation += 1;
                }
                Command::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
                Command::RunLab(section) => self.request_lab_run(section),
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
                Command::SaveLearned => self.start_file_pick(ctx, PickPurpose::SaveLearned),
            }
        }
    }

    fn start_file_pick(&mut self, ctx: &egui::Context, purpose: PickPurpose) {
        if self.file_pick.is_some() {
            return;
        }
        let (tx, rx) = channel();
        if !file_picker_reachable() {
            // Answer "no file" at once: `poll_file_pick` then offers the typed path.
            let _ = tx.send(None);
            self.file_pick = Some((rx, ctx.input(|i| i.time), purpose));
            return;
        }
        let ctx2 = ctx.clone();
        let suggested = self.current.as_ref().map(|c| super::learn::default_save_path(&c.source));
        let spawned = std::thread::Builder::new().name("file-dialog".into()).spawn(move || {
            let dialog = match purpose {
                PickPurpose::Scenario => rfd::FileDialog::new()
                    .set_title("Open scenario or telemetry")
                    .add_filter("Scenario", &["ron"])
                    .add_filter("Telemetry", &["csv", "parquet"]),
                PickPurpose::Policy => rfd::FileDialog::new()
                    .set_title("Open policies")
                    .add_filter("Policies", &["yaml", "yml", "json", "ron"]),
                PickPurpose::Mapping => {
                    rfd::FileDialog::new().set_title("Prometheus mapping").add_filter("Mapping", &["yaml", "yml"])
                }
                PickPurpose::Lab(which) => rfd::FileDialog::new()
                    .set_title(which.title())
                    .add_filter(which.title(), &["ron", "yaml", "yml", "json"]),
                PickPurpose::SaveLearned => {
                    let mut dialog =
                        rfd::FileDialog::new().set_title("Save learned scenario").add_filter("Scenario", &["ron"]);
                    if let Some(path) = &suggested {
                        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                            dialog = dialog.set_file_name(name);
                        }
                        if let Some(dir) = path.parent().filter(|d| d.is_dir()) {
                            dialog = dialog.set_directory(dir);
                        }
                    }
                    dialog
                }
            };
            let picked = if purpose == PickPurpose::SaveLearned { dialog.save_file() } else { dialog.pick_file() };
            // The app may have closed; then nobody needs the answer.
            let _ = tx.send(picked);
            ctx2.request_repaint();
        });
        match spawned {
            Ok(_) => self.file_pick = Some((rx, ctx.input(|i| i.time), purpose)),
            Err(e) => self.notifications.error(format!("Cannot show the file picker: {e}")),
        }
    }

    /// Live connect (src/ui/connect.rs): starts a source and opens its (empty, growing)
    /// scenario in place of the open one.
    fn connect(&mut self, ctx: &egui::Context, request: super::connect::ConnectRequest) {
        match self.live.start(ctx, request) {
            Ok(scenario) => {
                let source = Source::Live(scenario.name.clone());
                self.install(scenario, ViolationHistory::new(), true, source);
            }
            Err(e) => self.notifications.error(format!("Cannot connect: {e}")),
        }
    }

    /// Live connect (src/ui/connect.rs): folds new twins and samples into the open
    /// scenario when it is the live one; plots refresh, a cursor or plot view at "now"
    /// follows it, and the anomaly scan, policy evaluation and forecasts re-run on the
    /// grown history (when none is running, at most every [`LIVE_ANALYSIS_SECS`]).
    fn live_logic(&mut self, now: f64) {
        let live_scenario = self.current.as_mut().filter(|c| matches!(c.source, Source::Live(_)));
        let is_live = live_scenario.is_some();
        let tick = self.live.logic(live_scenario.map(|c| &mut c.scenario));
        for (error, text) in tick.messages {
            if error {
                self.notifications.error(text);
            } else {
                self.notifications.info(text);
            }
        }
        if !is_live {
            return;
        }
        let Some(c) = &self.current else {
            return;
        };
        if tick.graph_changed {
            self.graph = Some(match &self.graph {
                Some(shown) => shown.rebuild(&c.scenario.graph),
                None => GraphModel::build(&c.scenario.graph),
            });
            let pending =
                self.pending_select.as_ref().map(TwinId::new).filter(|id| c.scenario.graph.twin(id).is_some());
            if pending.is_some() {
                self.pending_select = None;
            }
            self.select(pending.or_else(|| self.selected.clone()));
        }
        if tick.samples > 0 || tick.graph_changed {
            self.plot_cache.clear();
            self.paint_generation += 1;
            self.live_stale = true;
        }
        // Twins adapt (src/ui/learn.rs): new series get a model at once, learned ones
        // are refitted on the grown history every few minutes, one job at a time.
        if tick.samples > 0 {
            self.learning.samples_arrived();
        }
        let mut due_learning = None;
        if let Some(c) = &mut self.current {
            if tick.samples > 0 || tick.graph_changed {
                c.models = ModelCounts::of(&c.scenario);
            }
            due_learning = self.learning.live_due(&c.scenario, now);
        }
        if let Some(reason) = due_learning {
            self.start_learning(reason);
        }
        if let Some((old_end, new_end)) = tick.end_moved {
            if self.timeline.time >= old_end {
                self.timeline.time = new_end;
            }
            super::connect::follow_view(&mut self.inspector.view, old_end, new_end);
        }
        let due = self.live_analysed_at.is_none_or(|t| now - t >= LIVE_ANALYSIS_SECS);
        let idle = self.analysis.is_none() && self.backtest.is_none() && self.prediction.is_none();
        if self.live_stale && due && idle {
            self.live_stale = false;
            self.live_analysed_at = Some(now);
            if let Some(c) = &mut self.current {
                // Forecasts re-fit on the grown history: the selected twin's are asked
                // again, the predictions (policies' series) are redone below.
                c.twin_forecasts.clear();
                match spawn_anomaly_scan(Arc::clone(&c.scenario), &self.ctx) {
                    Ok(job) => self.analysis = Some(job),
                    Err(e) => self.notifications.error(format!("Cannot start the anomaly scan: {e}")),
                }
                if !c.policies.is_empty() {
                    self.start_backtest();
                }
                self.start_predictions();
            }
        }
    }

    /// Recomputes what depends on the time cursor when it (or the scenario) changed.
    fn refresh_cursor(&mut self) {
        let key = (self.timeline.time, self.paint_generation);
        if self.at_cursor.as_ref().is_some_and(|c| c.key == key) {
            return;
        }
        let Some(current) = &self.current else {
            self.at_cursor = None;
            return;
        };
        let s = &current.scenario;
        let t = self.timeline.time;
        let drift = drift(&s.graph, &current.policies, s.start, t, DRIFT_HORIZON_SECS);
        // Rule violations active at the cursor, with the value then.
        let mut current_now = Vec::new();
        for (twin, spans) in current.violations.iter() {
            for span in spans.iter().filter(|sp| sp.active_at(t)) {
                let Some((policy, rule)) =
                    current.policies.get(span.policy).and_then(|p| Some((p, p.rules.get(span.rule)?)))
                else {
                    continue;
                };
                let key = crate::model::SeriesKey::new(twin.clone(), rule.metric.clone());
                let value =
                    s.telemetry.series(&key).and_then(|x| x.value_at(t).ok().flatten()).map_or(span.worst, |(_, v)| v);
                current_now.push(CurrentViolation {
                    policy: policy.name.clone(),
                    severity: policy.severity,
                    twin: twin.clone(),
                    rule: rule.clone(),
                    value,
                    since: span.start,
                    worst: span.worst,
                });
            }
        }
        let mut findings = findings(&s.graph, &current_now, &drift);
        if let Some(scans) = &current.anomalies {
            findings.extend(anomaly_findings(&s.graph, &current.policies, scans, t));
        }
        // Predictions start at the end of history: they are findings "now".
        if t + s.resolution_secs >= s.end
            && let Some(p) = &current.predictions
        {
            findings.extend(predicted_findings(&p.violations));
        }
        let candidates = candidates(&s.graph, &current.policies, &findings, &Weights::default());
        self.at_cursor = Some(AtCursor { key, drift, findings, candidates });
    }

    /// Recolours graph nodes when the time cursor, filter, colour mode or data changed.
    fn paint_graph(&mut self) {
        let key = (self.timeline.time, self.paint_generation, self.filter.colour);
        if self.painted == Some(key) && !self.filter_changed() {
            return;
        }
        let (Some(current), Some(graph), Some(at)) = (&self.current, &mut self.graph, &self.at_cursor) else {
            return;
        };
        let dark = self.settings.dark_mode;
        let t = self.timeline.time;
        let s = &current.scenario;
        let mode = self.filter.colour;
        let overlay = if self.lab_painted.is_some() { self.lab.chaos_overlay() } else { None };
        if let Some(marks) = overlay {
            graph.paint(
                |id| match marks.get(id) {
                    Some(ChaosMark::Down) => theme::status_color(crate::model::Status::Down, dark),
                    Some(ChaosMark::Faulted) => theme::status_color(crate::model::Status::Degraded, dark),
                    None => theme::status_color(crate::model::Status::Healthy, dark),
                },
                |id, kind| self.filter.hides(id, kind),
            );
            self.painted = Some(key);
            return;
        }
        graph.paint(
            |id| match mode {
                ColourMode::Health => {
                    let status = s.graph.twin(id).map_or(crate::model::Status::Unknown, |twin| {
                        if current.history_ready {
                            health_at(twin, current.violations.get(id), t)
                        } else {
                            twin.status_at(t)
                        }
                    });
                    theme::status_color(status, dark)
                }
                ColourMode::Drift => match at.drift.twin(id) {
                    Some(d) => theme::score_color(d.score, dark),
                    None => theme::status_color(crate::model::Status::Unknown, dark),
                },
                ColourMode::Predicted => match &current.predictions {
                    Some(p) => theme::score_color(
                        p.violations.iter().filter(|v| &v.twin == id).map(|v| v.probability).fold(0.0, f64::max),
                        dark,
                    ),
                    None => theme::status_color(crate::model::Status::Unknown, dark),
                },
                ColourMode::Anomaly => match &current.anomalies {
                    Some(scans) => theme::score_color(twin_level(scans, id, t).0, dark),
                    None => theme::status_color(crate::model::Status::Unknown, dark),
                },
            },
            |id, kind| self.filter.hides(id, kind),
        );
        self.painted = Some(key);
    }

    fn filter_changed(&self) -> bool {
        // The filter is cheap to re-apply; repaint whenever it is active.
        !self.filter.search.is_empty() || self.filter.kind.is_some()
    }

    fn automate(&mut self, ctx: &egui::Context, frame: &eframe::Frame) {
        // Settled: history loaded and the background analyses finished; for a screenshot
        // of a live source, also its first answer (data, or a retry or failure to show).
        // Frame statistics start at once, so a hanging server can be measured.
        let live_waiting = matches!(self.automation.as_ref().map(|a| &a.mode), Some(Automation::Screenshot(_)))
            && self.live.handle.as_ref().is_some_and(|h| h.state() == crate::io::live::ConnState::Connecting);
        let ready = self.is_ready()
            && self.analysis.is_none()
            && self.prediction.is_none()
            && !self.predict_after_backtest
            && !live_waiting
            && self.lab_run.is_none()
            && !self.lab.is_running()
            && !self.learning.is_running();
        if ready && self.ready_ms.is_none() {
            self.ready_ms = self.started.map(|s| s.secs() * 1000.0);
        }
        let Some(auto) = &mut self.automation else {
            return;
        };
        if auto.done {
            return;
        }
        ctx.request_repaint();
        let screenshot = ctx.input(|i| {
            i.raw.events.iter().find_map(|e| match e {
                egui::Event::Screenshot { image, .. } => Some(Arc::clone(image)),
                _ => None,
            })
        });
        if !ready {
            return;
        }
        auto.settled_frames += 1;
        match &auto.mode {
            Automation::Screenshot(path) => {
                if let Some(image) = screenshot {
                    let [w, h] = image.size;
                    let bytes: Vec<u8> = image.pixels.iter().flat_map(|p| p.to_array()).collect();
                    let outcome = match crate::io::image::write_png(path, w as u32, h as u32, &bytes) {
                        Ok(()) => Outcome::Screenshot(path.clone()),
                        Err(e) => Outcome::Failed(format!("{e:#}")),
                    };
                    auto.done = true;
                    let outcome_slot = Arc::clone(&self.outcome);
                    if let Ok(mut slot) = outcome_slot.lock() {
                        *slot = Some(outcome);
                    }
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                } else if auto.settled_frames >= 4 && !auto.screenshot_requested {
                    auto.screenshot_requested = true;
                    ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(egui::UserData::default()));
                }
            }
            Automation::FrameStats(n) => {
                // Skip the first settled frames (fonts, layout warm-up).
                if auto.settled_frames > 3
                    && let Some(cpu) = frame.info().cpu_usage
                {
                    auto.cpu_ms.push(f64::from(cpu) * 1000.0);
                }
                if auto.cpu_ms.len() >= *n as usize {
                    let mut sorted = auto.cpu_ms.clone();
                    sorted.sort_by(f64::total_cmp);
                    let pick = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
                    let stats = serde_json::json!({
                        "frames": sorted.len(),
                        "median_ms": (pick(0.5) * 1000.0).round() / 1000.0,
                        "p95_ms": (pick(0.95) * 1000.0).round() / 1000.0,
                        "first_frame_ms": self.first_frame_ms.map(f64::round),
                        "ready_ms": self.ready_ms.map(f64::round),
                    });
                    auto.done = true;
                    if let Ok(mut slot) = self.outcome.lock() {
                        *slot = Some(Outcome::FrameStats(stats));
                    }
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            }
        }
    }

    fn menu_ui(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.add(egui::Button::new("Open…").shortcut_text("Ctrl+O")).clicked() {
                    self.commands.push(Command::OpenDialog);
                }
                if ui.add(egui::Button::new("Open path…").shortcut_text("Ctrl+L")).clicked() {
                    self.commands.push(Command::OpenPathDialog);
                }
                ui.menu_button("Open recent", |ui| {
                    if self.settings.recent.is_empty() {
                        ui.weak("Nothing yet");
                    }
                    for path in self.settings.recent.clone() {
                        if ui.button(path.display().to_string()).clicked() {
                            self.commands.push(Command::Open(Source::from_path(path)));
                        }
                    }
                });
                if ui.button("Open default scenario").clicked() {
                    self.commands.push(Command::Open(Source::Default));
                }
                self.live.file_menu_ui(ui, self.current.is_some()); // live connect (src/ui/connect.rs)
                let learned = self.current.as_ref().is_some_and(|c| c.models.learned > 0);
                let save = ui.add_enabled(learned, egui::Button::new("Save learned scenario…")).on_hover_text(
                    "Write the scenario with the workload models learned from its history (Lab → Learn twins)",
                );
                if save.clicked() {
                    self.commands.push(Command::SaveLearned);
                }
                ui.separator();
                if ui.add(egui::Button::new("Quit").shortcut_text("Ctrl+Q")).clicked() {
                    self.commands.push(Command::Quit);
                }
            });
            ui.menu_button("Policies", |ui| {
                if ui.add(egui::Button::new("Edit policies…").shortcut_text("Ctrl+P")).clicked() {
                    self.commands.push(Command::EditPolicies);
                }
                if ui.button("Open policy file…").clicked() {
                    self.commands.push(Command::OpenPolicyFile);
                }
                ui.separator();
                if let Some(c) = &self.current {
                    ui.weak(format!("{} policies in force", c.policies.len()));
                }
            });
            ui.menu_button("View", |ui| {
                let label = if self.settings.dark_mode { "Light theme" } else { "Dark theme" };
                if ui.add(egui::Button::new(label).shortcut_text("Ctrl+T")).clicked() {
                    self.commands.push(Command::ToggleTheme);
                }
                if ui.button("Whole range in plots").clicked() {
                    self.inspector.reset_view = true;
                }
            });
            ui.menu_button("Help", |ui| {
                if ui.add(egui::Button::new("Keyboard shortcuts").shortcut_text("F1")).clicked() {
                    self.show_help = true;
                }
            });
            if let Some(c) = &self.current {
                ui.separator();
                ui.label(RichText::new(&c.scenario.name).strong());
                ui.weak(&c.scenario.description);
            }
        });
    }

    fn status_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            match &self.current {
                Some(c) => {
                    let stats = c.scenario.telemetry.stats();
                    ui.label(format!(
                        "{} twins · {} edges · {} policies",
                        c.scenario.graph.twin_count(),
                        c.scenario.graph.edge_count(),
                        c.scenario.policies.len()
                    ));
                    ui.separator();
                    if c.history_ready {
                        ui.label(format!(
                            "{} samples in {} series · {:.1} days at {} s · {:.2} bytes/sample",
                            stats.samples,
                            stats.series,
                            c.scenario.history_days(),
                            c.scenario.resolution_secs,
                            stats.bytes_per_sample()
                        ));
                        let degraded = c.violations.keys().count();
                        ui.separator();
                        ui.label(format!("{degraded} twins violated a rule at some point"));
                    }
                }
                None => {
                    ui.label("No scenario loaded");
                }
            }
            // Live connect (src/ui/connect.rs): the source's sync status.
            let live_action = self.live.handle.as_ref().and_then(|h| {
                ui.separator();
                super::connect::sync_status_ui(ui, h)
            });
            if let Some(action) = live_action {
                self.live.act(action);
            }
            if let Some(job) = &self.analysis {
                ui.separator();
                ui.spinner();
                ui.label(&job.label);
                ui.add(egui::ProgressBar::new(job.progress()).desired_width(120.0).show_percentage());
            }
            if let Some(job) = &self.prediction {
                ui.separator();
                ui.spinner();
                ui.label(&job.label);
                ui.add(egui::ProgressBar::new(job.progress()).desired_width(120.0).show_percentage());
            }
            if let Some(job) = &self.backtest {
                ui.separator();
                ui.spinner();
                ui.label(&job.label);
            }
            if let Some((reason, progress)) = self.learning.progress() {
                ui.separator();
                ui.spinner();
                ui.label(reason.label());
                ui.add(egui::ProgressBar::new(progress).desired_width(120.0).show_percentage());
                if ui.small_button("Cancel").on_hover_text("Stop learning; the twins keep their models").clicked() {
                    self.commands.push(Command::CancelLearning);
                }
            }
            if let Some(job) = &self.save_job {
                ui.separator();
                ui.spinner();
                ui.label(&job.label);
            }
            if let Some(job) = &self.job {
                ui.separator();
                ui.spinner();
                ui.label(format!("Loading {}", job.source.label()));
                ui.add(egui::ProgressBar::new(job.progress()).desired_width(160.0).show_percentage());
                if ui.small_button("Cancel").clicked() {
                    job.cancel();
                }
            }
        });
    }

    fn dialogs_ui(&mut self, ctx: &egui::Context) {
        // Live connect (src/ui/connect.rs): the Connect and Save snapshot windows.
        if let Some(request) = super::connect::connect_dialog_ui(ctx, &mut self.live.dialog) {
            self.connect(ctx, request);
        }
        if std::mem::take(&mut self.live.dialog.browse_mapping) {
            self.start_file_pick(ctx, PickPurpose::Mapping);
        }
        if let Some(which) = self.lab.browse.take() {
            self.start_file_pick(ctx, PickPurpose::Lab(which));
        }
        self.live.snapshot_dialog_ui(ctx, self.current.as_ref().map(|c| &c.scenario));
        if let Some(path) = super::learn::save_dialog_ui(ctx, &mut self.save_learned_path) {
            self.save_learned(&path);
        }
        if let Some(mut text) = self.path_dialog.take() {
            let mut open = true;
            let mut submit = false;
            egui::Window::new("Open path").collapsible(false).resizable(false).open(&mut open).show(ctx, |ui| {
                ui.label("Scenario (.ron) or telemetry (.csv, .parquet) file:");
                let edit = ui
                    .add(egui::TextEdit::singleline(&mut text).desired_width(420.0).hint_text("scenarios/webshop.ron"));
                edit.request_focus();
                submit = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.horizontal(|ui| {
                    submit |= ui.button("Open").clicked();
                });
            });
            if submit && !text.trim().is_empty() {
                self.commands.push(Command::Open(Source::from_path(PathBuf::from(text.trim()))));
            } else if open {
                self.path_dialog = Some(text);
            }
        }
        if self.show_help {
            let mut open = true;
            egui::Window::new("Keyboard shortcuts").open(&mut open).resizable(false).show(ctx, |ui| {
                egui::Grid::new("shortcuts").num_columns(2).striped(true).show(ui, |ui| {
                    for (keys, what) in [
                        ("Ctrl+O", "Open a scenario or telemetry file"),
                        ("Ctrl+L", "Open a file by typing its path"),
                        ("Ctrl+T", "Toggle dark/light theme"),
                        ("Ctrl+F", "Search twins in the graph"),
                        ("Ctrl+P", "Edit policies (YAML, JSON or RON; re-evaluated as you type)"),
                        ("Space", "Play / pause the timeline"),
                        ("Left / Right", "Move the time cursor by an hour (Shift: a day)"),
                        ("Home / End", "Start of history / now"),
                        ("Esc", "Clear the selection"),
                        ("F1", "This help"),
                        ("Ctrl+Q", "Quit"),
                    ] {
                        ui.label(RichText::new(keys).monospace().strong());
                        ui.label(what);
                        ui.end_row();
                    }
                });
                ui.separator();
                ui.label("Drop a .ron scenario or a .csv/.parquet telemetry file on the window to open it.");
            });
            self.show_help = open;
        }
    }

    fn central_ui(&mut self, ui: &mut egui::Ui) {
        let Some(current) = &self.current else {
            ui.centered_and_justified(|ui| {
                if self.job.is_some() {
                    ui.spinner();
                } else {
                    ui.label("Open a scenario with File > Open (Ctrl+O), or drop a file here.");
                }
            });
            return;
        };
        let Some(graph) = &mut self.graph else {
            return;
        };
        if let Some(action) = graph_ui(ui, graph, &mut self.filter, &current.scenario.graph) {
            match action {
                GraphAction::Select(id) => self.commands.push(Command::Select(Some(id))),
                GraphAction::Clear => self.commands.push(Command::Select(None)),
            }
        }
    }
}

impl eframe::App for WorkbenchApp {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        self.poll_job();
        self.poll_analysis();
        self.poll_backtest();
        self.poll_predictions();
        self.poll_twin_forecasts();
        self.request_twin_forecasts();
        self.poll_learning(ctx.input(|i| i.time));
        self.poll_save();
        for failure in self.lab.poll() {
            self.notifications.error(failure);
        }
        // A run asked for on the command line: for a live source once its first samples
        // (and the twin to select) are in; it waits for learned models like a click on
        // Run.
        let settled = self.lab_run.is_some()
            && self.current.as_ref().is_some_and(|c| match c.source {
                Source::Live(_) => c.scenario.has_history(),
                _ => self.pending_select.is_none(),
            });
        if self.is_ready()
            && settled
            && let Some(run) = self.lab_run.take()
        {
            match self.lab.prepare(&run, self.selected.as_ref()) {
                Ok(section) => self.request_lab_run(section),
                Err(e) => {
                    self.notifications.error(format!("Lab: {e}"));
                    self.lab.fail(e);
                }
            }
        }
        self.poll_file_pick(ctx.input(|i| i.time));
        self.dropped_files(ctx);
        self.shortcuts(ctx);
        self.run_commands(ctx);
        self.live_logic(ctx.input(|i| i.time)); // live connect (src/ui/connect.rs)
        if let Some(c) = &self.current {
            let (start, end) = (c.scenario.start, c.scenario.end);
            self.timeline.time = self.timeline.time.clamp(start, end);
            if self.timeline.playing {
                self.timeline.advance(f64::from(ctx.input(|i| i.stable_dt)), start, end);
                ctx.request_repaint();
            }
        }
        self.refresh_cursor();
        // The chaos replay colours the graph while the lab is shown.
        let lab_key = (self.right_tab == RightTab::Lab).then(|| self.lab.chaos_key()).flatten();
        if lab_key != self.lab_painted {
            self.lab_painted = lab_key;
            self.paint_generation += 1;
        }
        self.paint_graph();
        self.automate(ctx, frame);
        if self.job.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        if self.first_frame_ms.is_none() && self.current.is_some() {
            // The first frame that shows the scenario (its graph), history may still load.
            self.first_frame_ms = self.started.map(|s| s.secs() * 1000.0);
        }
        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        if let Some(c) = &self.current {
            let (start, end) = (c.scenario.start, c.scenario.end);
            egui::Panel::bottom("timeline").show(ui, |ui| {
                ui.add_space(2.0);
                timeline_ui(ui, &mut self.timeline, start, end);
                ui.add_space(2.0);
            });
        }
        let mut export = None;
        egui::Panel::right("inspector").resizable(true).default_size(520.0).size_range(320.0..=1100.0).show(ui, |ui| {
            ui.horizontal(|ui| {
                for (tab, label) in [
                    (RightTab::Inspector, "Inspector"),
                    (RightTab::Findings, "Findings"),
                    (RightTab::Remediation, "Remediation"),
                    (RightTab::Lab, "Lab"),
                ] {
                    let count = match (tab, &self.at_cursor) {
                        (RightTab::Findings, Some(at)) => format!(" ({})", at.findings.len()),
                        (RightTab::Remediation, Some(at)) => format!(" ({})", at.candidates.len()),
                        _ => String::new(),
                    };
                    ui.selectable_value(&mut self.right_tab, tab, format!("{label}{count}"));
                }
            });
            ui.separator();
            match (self.right_tab, &self.current, &self.selected, &self.at_cursor) {
                (_, None, _, _) => {
                    ui.weak("Nothing loaded yet.");
                }
                (RightTab::Findings, Some(current), _, Some(at)) => findings_ui(
                    ui,
                    &FindingsInput {
                        scenario: &current.scenario,
                        findings: &at.findings,
                        drift: &at.drift,
                        anomalies: current.anomalies.as_deref(),
                        predictions: current.predictions.as_deref(),
                        time: self.timeline.time,
                    },
                    &mut self.commands,
                ),
                (RightTab::Lab, Some(current), selected, _) => {
                    let planned = &self.remediation;
                    let twins = TwinsInfo {
                        counts: current.models,
                        learning: self.learning.progress(),
                        last: self.learning.last.clone(),
                        now: ui.input(|i| i.time),
                        has_history: current.history_ready && current.scenario.telemetry.keys().next().is_some(),
                        live: matches!(current.source, Source::Live(_)),
                        saving: self.save_job.is_some(),
                    };
                    let output = lab_ui(
                        ui,
                        &mut self.lab,
                        &current.scenario,
                        selected.as_ref(),
                        &|id| planned.is_planned(id),
                        &twins,
                    );
                    if let Some(section) = self.lab.take_run_request() {
                        self.commands.push(Command::RunLab(section));
                    }
                    self.commands.extend(output.twins.map(|request| match request {
                        TwinsRequest::Learn => Command::LearnTwins,
                        TwinsRequest::CancelLearning => Command::CancelLearning,
                        TwinsRequest::SaveLearned => Command::SaveLearned,
                    }));
                    let to_plan = output.to_plan;
                    if !to_plan.is_empty() {
                        let n = to_plan.len();
                        self.remediation.add_rehearsed(to_plan, &self.user, self.timeline.time);
                        self.notifications.info(format!(
                            "{n} rehearsed action{} approved for the plan (Remediation tab → Export plan)",
                            if n == 1 { "" } else { "s" }
                        ));
                    }
                }
                (RightTab::Remediation, Some(_), _, Some(at)) => {
                    export = remediation_ui(
                        ui,
                        &at.candidates,
                        &mut self.remediation,
                        &self.user,
                        self.timeline.time,
                        &mut self.commands,
                    );
                }
                (_, Some(current), Some(id), _) => {
                    let input = InspectorInput {
                        scenario: &current.scenario,
                        violations: &current.violations,
                        policies: &current.policies,
                        id,
                        time: self.timeline.time,
                        dark: self.settings.dark_mode,
                        history_ready: current.history_ready,
                        drift: self.at_cursor.as_ref().and_then(|c| c.drift.twin(id)),
                        anomalies: current.anomalies.as_deref(),
                        forecast: &|key| current.forecast(key),
                        predicted: current.predictions.as_deref().map_or(&[], |p| &p.violations),
                    };
                    inspector_ui(ui, &input, &mut self.inspector, &mut self.plot_cache, &mut self.commands);
                }
                (_, Some(current), None, _) => {
                    overview_ui(ui, current, self.at_cursor.as_ref(), self.timeline.time, &mut self.commands);
                }
            }
        });
        match export {
            Some(RemediationRequest::Export(path)) => self.export_plan(&path),
            Some(RemediationRequest::RunLoop) => self.run_loop(),
            Some(RemediationRequest::SaveAudit(path)) => match crate::io::audit::append(&path, &self.remediation.audit)
            {
                Ok(()) => self.notifications.info(format!(
                    "Appended {} decisions to {}",
                    self.remediation.audit.len(),
                    path.display()
                )),
                Err(e) => self.notifications.error(format!("{e:#}")),
            },
            None => {}
        }
        egui::CentralPanel::default().show(ui, |ui| self.central_ui(ui));
        self.dialogs_ui(&ctx);
        if let Some(current) = &self.current {
            let scenario = Arc::clone(&current.scenario);
            let events = policy_editor_ui(&ctx, &mut self.editor, &scenario.graph);
            self.editor_events(events);
        }
        self.notifications.ui(&ctx);
        if !self.commands.is_empty() {
            ctx.request_repaint();
        }
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

/// The inspector when nothing is selected: what the scenario is and where to look.
fn overview_ui(
    ui: &mut egui::Ui,
    current: &Current,
    at_cursor: Option<&AtCursor>,
    time: i64,
    commands: &mut Vec<Command>,
) {
    let s = &current.scenario;
    ui.heading(&s.name);
    ui.label(&s.description);
    ui.separator();
    ui.label(format!("History {} to {} ({:.0} days)", format_short(s.start), format_short(s.end), s.history_days()));
    if !current.history_ready {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Generating history…");
        });
        return;
    }
    ui.add_space(6.0);
    ui.strong("Twins violating a rule at the cursor time");
    let mut any = false;
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        egui::Grid::new("overview-violations").striped(true).num_columns(2).show(ui, |ui| {
            for (id, spans) in current.violations.iter() {
                for span in spans.iter().filter(|sp| sp.active_at(time)) {
                    any = true;
                    if ui.link(id.as_str()).clicked() {
                        commands.push(Command::Select(Some(id.clone())));
                    }
                    let rule = current.policies.get(span.policy).and_then(|p| p.rules.get(span.rule));
                    ui.label(rule.map_or_else(String::new, |r| format!("{r} since {}", format_short(span.start))));
                    ui.end_row();
                }
            }
        });
        if !any {
            ui.weak("None — every twin is within its thresholds.");
        }
        ui.add_space(8.0);
        if let Some(at) = at_cursor {
            let drift = &at.drift;
            let drifting: Vec<_> = drift.drifting().collect();
            ui.strong(format!("Configuration drift: fleet score {:.2}", drift.fleet_score));
            if drifting.is_empty() {
                ui.weak("None: every twin holds its desired configuration.");
            }
            egui::Grid::new("overview-drift").striped(true).num_columns(3).show(ui, |ui| {
                for t in drifting {
                    if ui.link(t.twin.as_str()).clicked() {
                        commands.push(Command::Select(Some(t.twin.clone())));
                    }
                    ui.label(
                        RichText::new(format!("{:.2}", t.score))
                            .color(theme::score_color(t.score, ui.visuals().dark_mode)),
                    );
                    let keys: Vec<&str> = t.keys.iter().map(|k| k.rule.key.as_str()).collect();
                    ui.weak(keys.join(", "));
                    ui.end_row();
                }
            });
            ui.weak(format!(
                "{} drift events so far ({:.2}/day): P(new drift within 7 days) = {:.0}%",
                drift.events.len(),
                drift.rate_per_day,
                drift.probability_new * 100.0
            ));
        }
        ui.add_space(8.0);
        ui.weak("Click a twin in the graph to inspect it. Drag the timeline to replay history.");
    });
}
