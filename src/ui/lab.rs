//! The simulation lab tab: what-if (fork, change, compare with the baseline), A/B of
//! two strategy files over seeded replications, and chaos experiments (a file, or
//! faults composed from the catalogue on the selected twin) whose blast radius is shown
//! on the graph along the experiment's timeline. Every run is a [`Job`] on a named
//! thread with a progress bar and a cancel button; the UI thread only polls.
//!
//! The runs drive the twins with the open scenario's workload models. A *Run* button
//! only raises a request ([`LabState::take_run_request`]): the app starts it on the
//! latest scenario, or — while the twins' models are being learned
//! (`ui::learn`) — keeps it waiting ([`LabState::wait_for_models`]) and starts it when
//! the models are in.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui::{self, Color32, RichText};
use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};

use super::jobs::Job;
use super::learn::{TwinsInfo, TwinsRequest, twins_ui};
use super::theme;
use crate::io::time::format_rfc3339;
use crate::model::{ActionKind, ConfigValue, Resource, Status, TwinId, TwinKind};
use crate::policy::{MetricRule, Operator, Policy, Selector};
use crate::remediation::plan::Candidate;
use crate::scenario::Scenario;
use crate::sim::ab::{AbReport, AbSpec, ab_test};
use crate::sim::chaos::{ChaosReport, Experiment, MethodStep, Rollback, run_experiment};
use crate::sim::whatif::{Change, WhatIfReport, WhatIfSpec, what_if};
use crate::sim::{EventKind, FaultKind, SimError, World, WorldConfig};

/// The three parts of the lab.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Section {
    /// Fork, change, compare.
    #[default]
    WhatIf,
    /// Two strategies over replications.
    Ab,
    /// Faults and the steady-state hypothesis.
    Chaos,
}

/// Kinds of change offered by the what-if picker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChangeKind {
    ScaleUp,
    ScaleDown,
    ScaleOut,
    Restart,
    SetConfig,
}

impl ChangeKind {
    const ALL: [ChangeKind; 5] =
        [ChangeKind::ScaleUp, ChangeKind::ScaleDown, ChangeKind::ScaleOut, ChangeKind::Restart, ChangeKind::SetConfig];

    fn label(self) -> &'static str {
        match self {
            ChangeKind::ScaleUp => "scale up",
            ChangeKind::ScaleDown => "scale down",
            ChangeKind::ScaleOut => "add replicas",
            ChangeKind::Restart => "restart",
            ChangeKind::SetConfig => "set configuration",
        }
    }
}

/// Faults offered by the chaos composer (the catalogue).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FaultChoice {
    Crash,
    CpuHog,
    MemoryLeak,
    Latency,
    Partition,
    DiskFill,
    DependencyOutage,
    TrafficSpike,
}

impl FaultChoice {
    const ALL: [FaultChoice; 8] = [
        FaultChoice::Crash,
        FaultChoice::CpuHog,
        FaultChoice::MemoryLeak,
        FaultChoice::Latency,
        FaultChoice::Partition,
        FaultChoice::DiskFill,
        FaultChoice::DependencyOutage,
        FaultChoice::TrafficSpike,
    ];

    fn label(self) -> &'static str {
        match self {
            FaultChoice::Crash => "crash",
            FaultChoice::CpuHog => "CPU hog",
            FaultChoice::MemoryLeak => "memory leak",
            FaultChoice::Latency => "latency",
            FaultChoice::Partition => "network partition",
            FaultChoice::DiskFill => "disk fill",
            FaultChoice::DependencyOutage => "dependency outage",
            FaultChoice::TrafficSpike => "traffic spike",
        }
    }

    /// The fault with the composer's magnitude (its meaning depends on the kind).
    fn fault(self, magnitude: f64, dependency: Option<TwinId>) -> Result<FaultKind, String> {
        Ok(match self {
            FaultChoice::Crash => FaultKind::Crash,
            FaultChoice::CpuHog => FaultKind::CpuHog { percent: magnitude },
            FaultChoice::MemoryLeak => FaultKind::MemoryLeak { percent_per_hour: magnitude },
            FaultChoice::Latency => FaultKind::Latency { ms: magnitude },
            FaultChoice::Partition => FaultKind::Partition,
            FaultChoice::DiskFill => FaultKind::DiskFill { percent_per_hour: magnitude },
            FaultChoice::DependencyOutage => FaultKind::DependencyOutage {
                dependency: dependency.ok_or("the selected twin has no dependency to lose")?,
            },
            FaultChoice::TrafficSpike => FaultKind::TrafficSpike { factor: magnitude },
        })
    }

    /// What the magnitude means and a sensible default, if the kind has one.
    fn magnitude(self) -> Option<(&'static str, f64, std::ops::RangeInclusive<f64>)> {
        match self {
            FaultChoice::CpuHog => Some(("% CPU", 60.0, 1.0..=100.0)),
            FaultChoice::MemoryLeak => Some(("%/h", 20.0, 1.0..=200.0)),
            FaultChoice::Latency => Some(("ms", 300.0, 1.0..=10_000.0)),
            FaultChoice::DiskFill => Some(("%/h", 20.0, 1.0..=200.0)),
            FaultChoice::TrafficSpike => Some(("× traffic", 3.0, 1.1..=20.0)),
            _ => None,
        }
    }
}

/// A fault composed on a twin, minutes from the experiment's start.
#[derive(Clone, Debug, PartialEq)]
struct ComposedFault {
    kind: FaultKind,
    twin: TwinId,
    at_min: u32,
    duration_min: Option<u32>,
}

/// How a twin looks on the graph at the chaos cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChaosMark {
    /// A fault is active on it but it still serves.
    Faulted,
    /// It is down (crashed, partitioned, its host dead, restarting).
    Down,
}

/// A file path field of the lab that the file picker can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabFile {
    /// The A/B test's strategy A.
    StrategyA,
    /// The A/B test's strategy B.
    StrategyB,
    /// The chaos experiment file.
    Experiment,
    /// The chaos run's remediation strategy.
    Remediation,
}

impl LabFile {
    /// The file picker's title.
    pub fn title(self) -> &'static str {
        match self {
            LabFile::StrategyA => "Strategy A",
            LabFile::StrategyB => "Strategy B",
            LabFile::Experiment => "Chaos experiment",
            LabFile::Remediation => "Remediation strategy",
        }
    }
}

/// Seconds a chaos replay takes from the start of the experiment to its end.
const REPLAY_SECS: f64 = 12.0;

/// State of the lab tab (runtime only; nothing here is persisted).
pub struct LabState {
    /// Which part is shown.
    pub section: Section,
    seed: u64,
    // What-if.
    hours: f64,
    change_kind: ChangeKind,
    resource: Resource,
    factor: f64,
    replicas: u32,
    config_key: String,
    config_value: String,
    changes: Vec<Change>,
    whatif_job: Option<Job<WhatIfReport>>,
    whatif: Option<WhatIfReport>,
    /// The what-if's changes as plan proposals (made when first shown).
    whatif_actions: Option<Vec<Candidate>>,
    series_shown: usize,
    // A/B.
    a_path: String,
    b_path: String,
    runs: u32,
    ab_hours: f64,
    ab_job: Option<Job<AbReport>>,
    ab: Option<AbReport>,
    // Chaos.
    use_file: bool,
    experiment_path: String,
    fault_choice: FaultChoice,
    magnitude: f64,
    at_min: u32,
    duration_min: u32,
    until_rollback: bool,
    composed: Vec<ComposedFault>,
    chaos_hours: f64,
    remediate: bool,
    strategy_path: String,
    chaos_job: Option<Job<ChaosReport>>,
    chaos: Option<ChaosReport>,
    /// The chaos run's remediation actions as plan proposals (made when first shown).
    chaos_actions: Option<Vec<Candidate>>,
    chaos_cursor: i64,
    /// Replaying the experiment: (input time when started, cursor then).
    chaos_replay: Option<(f64, i64)>,
    chaos_generation: u64,
    error: Option<String>,
    /// A *Browse…* button was clicked: the app shows a file picker for this field.
    pub browse: Option<LabFile>,
    /// A *Run* button was clicked: the app starts the run (or keeps it waiting).
    run_request: Option<Section>,
    /// A run waiting for the twins' models to be learned.
    waiting: Option<Section>,
}

impl Default for LabState {
    fn default() -> Self {
        Self {
            section: Section::default(),
            seed: 1,
            hours: 24.0,
            change_kind: ChangeKind::ScaleUp,
            resource: Resource::Cpu,
            factor: 1.5,
            replicas: 1,
            config_key: String::new(),
            config_value: String::new(),
            changes: Vec::new(),
            whatif_job: None,
            whatif: None,
            whatif_actions: None,
            series_shown: 0,
            a_path: "scenarios/strategies/remediate.ron".into(),
            b_path: "scenarios/strategies/hands-off.ron".into(),
            runs: 10,
            ab_hours: 24.0,
            ab_job: None,
            ab: None,
            use_file: true,
            experiment_path: "scenarios/experiments/db-primary-outage.ron".into(),
            fault_choice: FaultChoice::Crash,
            magnitude: 60.0,
            at_min: 20,
            duration_min: 60,
            until_rollback: true,
            composed: Vec::new(),
            chaos_hours: 2.0,
            remediate: true,
            strategy_path: "scenarios/strategies/remediate.ron".into(),
            chaos_job: None,
            chaos: None,
            chaos_actions: None,
            chaos_cursor: 0,
            chaos_replay: None,
            chaos_generation: 0,
            error: None,
            browse: None,
            run_request: None,
            waiting: None,
        }
    }
}

fn sim_error(e: SimError) -> String {
    match e {
        SimError::Cancelled => "cancelled".into(),
        other => other.to_string(),
    }
}

impl LabState {
    /// Forgets results and runs that belong to another scenario.
    pub fn reset_for(&mut self, scenario: &Scenario) {
        *self = LabState { section: self.section, seed: scenario.seed, ..LabState::default() };
    }

    /// Puts a picked file's path in its field.
    pub fn set_path(&mut self, which: LabFile, path: &std::path::Path) {
        *self.path_mut(which) = path.display().to_string();
    }

    /// The text of a path field.
    pub fn path(&self, which: LabFile) -> &str {
        match which {
            LabFile::StrategyA => &self.a_path,
            LabFile::StrategyB => &self.b_path,
            LabFile::Experiment => &self.experiment_path,
            LabFile::Remediation => &self.strategy_path,
        }
    }

    fn path_mut(&mut self, which: LabFile) -> &mut String {
        match which {
            LabFile::StrategyA => &mut self.a_path,
            LabFile::StrategyB => &mut self.b_path,
            LabFile::Experiment => &mut self.experiment_path,
            LabFile::Remediation => &mut self.strategy_path,
        }
    }

    /// True while any lab run is in progress or waiting for the twins' models.
    pub fn is_running(&self) -> bool {
        self.whatif_job.is_some() || self.ab_job.is_some() || self.chaos_job.is_some() || self.waiting.is_some()
    }

    /// The run a *Run* button asked for in the last frame.
    pub fn take_run_request(&mut self) -> Option<Section> {
        self.run_request.take()
    }

    /// Keeps a run waiting until the twins' models are learned (shown in its section).
    pub fn wait_for_models(&mut self, section: Section) {
        self.waiting = Some(section);
        self.error = None;
    }

    /// The run that waited for the models, if one did.
    pub fn take_waiting(&mut self) -> Option<Section> {
        self.waiting.take()
    }

    /// The run waiting for the models, if one is.
    pub fn waiting(&self) -> Option<Section> {
        self.waiting
    }

    /// Shows why a run could not start.
    pub fn fail(&mut self, message: impl Into<String>) {
        self.error = Some(message.into());
    }

    /// The last run's error, as shown at the top of the lab.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Starts a run of `section` with the lab's current settings on `scenario`.
    pub fn run(&mut self, section: Section, scenario: &Arc<Scenario>, ctx: &egui::Context) {
        match section {
            Section::WhatIf => self.start_whatif(scenario, ctx),
            Section::Ab => self.start_ab(scenario, ctx),
            Section::Chaos => self.start_chaos(scenario, ctx),
        }
    }

    /// The last what-if result.
    pub fn whatif_report(&self) -> Option<&WhatIfReport> {
        self.whatif.as_ref()
    }

    /// The last A/B result.
    pub fn ab_report(&self) -> Option<&AbReport> {
        self.ab.as_ref()
    }

    /// The last chaos result.
    pub fn chaos_report(&self) -> Option<&ChaosReport> {
        self.chaos.as_ref()
    }

    /// Collects finished runs; returns messages for failed ones (cancelled runs are
    /// quiet: the user asked for it).
    pub fn poll(&mut self) -> Vec<String> {
        let mut failures = Vec::new();
        let mut keep = |message: String| {
            if message != "cancelled" {
                failures.push(message);
            }
        };
        if let Some(result) = self.whatif_job.as_ref().and_then(Job::poll) {
            self.whatif_job = None;
            match result {
                Ok(r) => {
                    // Show the series the change moved most first.
                    self.series_shown = r
                        .series
                        .iter()
                        .enumerate()
                        .max_by(|(_, a), (_, b)| relative_change(a).total_cmp(&relative_change(b)))
                        .map_or(0, |(i, _)| i);
                    self.whatif = Some(r);
                    self.whatif_actions = None;
                }
                Err(e) => keep(format!("What-if: {e}")),
            }
        }
        if let Some(result) = self.ab_job.as_ref().and_then(Job::poll) {
            self.ab_job = None;
            match result {
                Ok(r) => self.ab = Some(r),
                Err(e) => keep(format!("A/B test: {e}")),
            }
        }
        if let Some(result) = self.chaos_job.as_ref().and_then(Job::poll) {
            self.chaos_job = None;
            match result {
                Ok(r) => {
                    self.chaos_cursor = r.first_fault_at.unwrap_or(r.start);
                    self.chaos_replay = None;
                    self.chaos = Some(r);
                    self.chaos_actions = None;
                    self.chaos_generation += 1;
                }
                Err(e) => keep(format!("Chaos experiment: {e}")),
            }
        }
        if let Some(first) = failures.first() {
            self.error = Some(first.clone());
        }
        failures
    }

    /// Changes whenever the chaos marks may (the cursor moved or a new result came):
    /// the graph is repainted only then.
    pub fn chaos_key(&self) -> Option<(i64, u64)> {
        self.chaos.as_ref().map(|_| (self.chaos_cursor, self.chaos_generation))
    }

    /// The time the chaos replay shows.
    pub fn chaos_cursor(&self) -> i64 {
        self.chaos_cursor
    }

    /// True while the chaos experiment is being replayed on the graph.
    pub fn is_replaying(&self) -> bool {
        self.chaos_replay.is_some()
    }

    /// The twins to mark on the graph at the chaos cursor.
    pub fn chaos_overlay(&self) -> Option<BTreeMap<TwinId, ChaosMark>> {
        let report = self.chaos.as_ref()?;
        let t = self.chaos_cursor;
        let mut marks = BTreeMap::new();
        let mut down: BTreeMap<&TwinId, bool> = BTreeMap::new();
        let mut faults: BTreeMap<&TwinId, i32> = BTreeMap::new();
        for e in report.summary.events.iter().filter(|e| e.at <= t) {
            match &e.what {
                EventKind::Down(_) => {
                    down.insert(&e.twin, true);
                }
                EventKind::Up => {
                    down.insert(&e.twin, false);
                }
                EventKind::FaultStarted(_) => *faults.entry(&e.twin).or_default() += 1,
                EventKind::FaultEnded(_) => *faults.entry(&e.twin).or_default() -= 1,
                EventKind::OutOfMemory | EventKind::ActionTookEffect(_) => {}
            }
        }
        for (twin, n) in faults {
            if n > 0 {
                marks.insert(twin.clone(), ChaosMark::Faulted);
            }
        }
        for (twin, is_down) in down {
            if is_down {
                marks.insert(twin.clone(), ChaosMark::Down);
            }
        }
        // Twins failing through their dependencies (not down themselves) are the
        // spreading part of the blast radius: the samples name them.
        if let Some(sample) = report.timeline.iter().rev().find(|s| s.at <= t) {
            for twin in &sample.violating_twins {
                marks.entry(twin.clone()).or_insert(ChaosMark::Faulted);
            }
        }
        Some(marks)
    }

    /// Readies a run asked for by name (`whatif`, `ab` or `chaos`, as `--lab-run`
    /// says) with the lab's current settings: a what-if without changes gets the
    /// picker's change on `selected`. The app then starts it (`Command::RunLab`).
    pub fn prepare(&mut self, run: &str, selected: Option<&TwinId>) -> Result<Section, String> {
        let section = match run {
            "whatif" => Section::WhatIf,
            "ab" => Section::Ab,
            "chaos" => Section::Chaos,
            other => return Err(format!("no lab run {other:?} (whatif, ab or chaos)")),
        };
        self.section = section;
        if section == Section::WhatIf && self.changes.is_empty() {
            let twin = selected.ok_or("select a twin (--select ID) for a what-if")?;
            let action = ActionKind::ScaleUp { resource: self.resource, factor: self.factor };
            self.changes.push(Change::Action { twin: twin.clone(), action });
        }
        Ok(section)
    }

    fn start_whatif(&mut self, scenario: &Arc<Scenario>, ctx: &egui::Context) {
        let spec =
            WhatIfSpec { hours: self.hours, changes: self.changes.clone(), twins: Vec::new(), record_series: true };
        let scenario = Arc::clone(scenario);
        let seed = self.seed;
        let label = format!("What-if: {} change(s), {} h", spec.changes.len(), spec.hours);
        let job = Job::spawn("lab-whatif", label, ctx, move |p| {
            let config = WorldConfig { seed, ..WorldConfig::for_scenario(&scenario) };
            let world = World::new(&scenario, config).map_err(sim_error)?;
            what_if(&world, &spec, &|d, t| p.report(d as usize, t as usize), p.cancel_flag()).map_err(sim_error)
        });
        match job {
            Ok(j) => {
                self.whatif_job = Some(j);
                self.error = None;
            }
            Err(e) => self.error = Some(format!("cannot start a background thread: {e}")),
        }
    }

    fn start_ab(&mut self, scenario: &Arc<Scenario>, ctx: &egui::Context) {
        let (a_path, b_path) = (PathBuf::from(self.a_path.trim()), PathBuf::from(self.b_path.trim()));
        let spec = AbSpec { runs: self.runs, seed: self.seed, hours: self.ab_hours, objective: None };
        let scenario = Arc::clone(scenario);
        let label = format!("A/B test: {} runs of {} h", spec.runs, spec.hours);
        let job = Job::spawn("lab-ab", label, ctx, move |p| {
            let load = |path: &PathBuf| {
                crate::io::strategy::load_strategy(path, &scenario.graph).map_err(|e| format!("{e:#}"))
            };
            let (a, b) = (load(&a_path)?, load(&b_path)?);
            ab_test(&scenario, &a, &b, &spec, &|d, t| p.report(d as usize, t as usize), p.cancel_flag())
                .map_err(sim_error)
        });
        match job {
            Ok(j) => {
                self.ab_job = Some(j);
                self.error = None;
            }
            Err(e) => self.error = Some(format!("cannot start a background thread: {e}")),
        }
    }

    fn composed_experiment(&self) -> Experiment {
        let duration_secs = (self.chaos_hours * 3600.0).round() as i64;
        let mut up = Policy::named("every-twin-serves");
        up.rules.push(MetricRule::threshold("up", Operator::Lt, 1.0));
        let mut edge = Policy::named("edge-errors");
        edge.selector = Selector { kinds: vec![TwinKind::LoadBalancer], ..Selector::default() };
        edge.rules.push(MetricRule::threshold("error_rate", Operator::Gt, 5.0));
        Experiment {
            title: format!("{} composed fault(s)", self.composed.len()),
            description: "Composed in the lab from the fault catalogue.".into(),
            duration_secs,
            hypothesis: vec![up, edge],
            after_secs: 900.min(duration_secs / 4).max(60),
            method: self
                .composed
                .iter()
                .map(|f| MethodStep::Fault {
                    kind: f.kind.clone(),
                    targets: vec![f.twin.clone()],
                    at_secs: i64::from(f.at_min) * 60,
                    duration_secs: f.duration_min.map(|m| i64::from(m) * 60),
                })
                .collect(),
            rollbacks: vec![Rollback { at_secs: duration_secs, twins: Vec::new() }],
            remediation: None,
        }
    }

    fn start_chaos(&mut self, scenario: &Arc<Scenario>, ctx: &egui::Context) {
        let scenario = Arc::clone(scenario);
        let seed = self.seed;
        let file = self.use_file.then(|| PathBuf::from(self.experiment_path.trim()));
        let composed = self.composed_experiment();
        let strategy = self.remediate.then(|| PathBuf::from(self.strategy_path.trim()));
        let use_file_remediation = self.use_file && self.remediate;
        let job = Job::spawn("lab-chaos", "Chaos experiment", ctx, move |p| {
            let mut experiment = match &file {
                Some(path) => {
                    crate::io::experiment::load_experiment(path, &scenario.graph).map_err(|e| format!("{e:#}"))?
                }
                None => composed,
            };
            // With a file, its own remediation applies unless remediation is off.
            if !use_file_remediation {
                experiment.remediation = match &strategy {
                    Some(path) => {
                        Some(crate::io::strategy::load_strategy(path, &scenario.graph).map_err(|e| format!("{e:#}"))?)
                    }
                    None => None,
                };
            }
            run_experiment(&scenario, &experiment, seed, &|d, t| p.report(d as usize, t as usize), p.cancel_flag())
                .map_err(sim_error)
        });
        match job {
            Ok(j) => {
                self.chaos_job = Some(j);
                self.error = None;
            }
            Err(e) => self.error = Some(format!("cannot start a background thread: {e}")),
        }
    }
}

/// What the lab asks of the app in a frame.
#[derive(Default)]
pub struct LabOutput {
    /// Rehearsed actions the user approved for the plan.
    pub to_plan: Vec<Candidate>,
    /// *Learn twins*, its Cancel, or *Save learned scenario…*.
    pub twins: Option<TwinsRequest>,
}

/// The lab tab. `selected` is the graph's selection (the target of changes and faults);
/// `planned` says whether a rehearsed action (by id) is approved in the plan; `twins`
/// describes the twins' models and their learning. Returns the rehearsed actions the
/// user approved for the plan in this frame and a request about the models.
pub fn lab_ui(
    ui: &mut egui::Ui,
    state: &mut LabState,
    scenario: &Arc<Scenario>,
    selected: Option<&TwinId>,
    planned: &dyn Fn(&str) -> bool,
    twins: &TwinsInfo,
) -> LabOutput {
    let mut link = PlanLink { planned, to_plan: Vec::new() };
    ui.horizontal(|ui| {
        ui.selectable_value(&mut state.section, Section::WhatIf, "What-if");
        ui.selectable_value(&mut state.section, Section::Ab, "A/B test");
        ui.selectable_value(&mut state.section, Section::Chaos, "Chaos");
        ui.separator();
        ui.label("Seed");
        ui.add(egui::DragValue::new(&mut state.seed));
    });
    let request = twins_ui(ui, twins);
    if let Some(e) = &state.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    ui.separator();
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| match state.section {
        Section::WhatIf => whatif_ui(ui, state, scenario, selected, &mut link, twins),
        Section::Ab => ab_ui(ui, state, twins),
        Section::Chaos => chaos_ui(ui, state, scenario, selected, &mut link, twins),
    });
    LabOutput { to_plan: link.to_plan, twins: request }
}

/// A run of `section` waiting for the twins' models: what it waits for, and Cancel.
fn waiting_ui(ui: &mut egui::Ui, state: &mut LabState, section: Section, twins: &TwinsInfo) {
    if state.waiting != Some(section) {
        return;
    }
    ui.horizontal(|ui| {
        ui.spinner();
        let text = match twins.learning {
            Some((reason, progress)) => {
                format!("Waiting for the twins' models: {} ({:.0}%)…", reason.label().to_lowercase(), progress * 100.0)
            }
            None => "Waiting for the twins' models…".to_string(),
        };
        ui.label(text);
        if ui.button("Cancel").on_hover_text("Do not start this run").clicked() {
            state.waiting = None;
        }
    });
    ui.weak("The run starts on the learned models as soon as they are in.");
}

/// The lab's link to the plan: which rehearsed actions are in it, and those the user
/// approves for it in this frame.
struct PlanLink<'a> {
    planned: &'a dyn Fn(&str) -> bool,
    to_plan: Vec<Candidate>,
}

/// A *Browse…* button that asks the app for a file picker for `which`.
fn browse_button(ui: &mut egui::Ui, state: &mut LabState, which: LabFile, enabled: bool) {
    let button = ui.add_enabled(enabled, egui::Button::new("Browse…"));
    if button.on_hover_text(format!("Choose the file: {}", which.title())).clicked() {
        state.browse = Some(which);
    }
}

/// A progress bar with a cancel button; true when cancel was clicked.
fn progress_ui<T: Send + 'static>(ui: &mut egui::Ui, job: &Job<T>) -> bool {
    let mut cancel = false;
    ui.horizontal(|ui| {
        ui.spinner();
        ui.add(egui::ProgressBar::new(job.progress()).show_percentage().desired_width(240.0));
        cancel = ui.button("Cancel").clicked();
    });
    ui.weak(&job.label);
    cancel
}

fn whatif_ui(
    ui: &mut egui::Ui,
    state: &mut LabState,
    scenario: &Arc<Scenario>,
    selected: Option<&TwinId>,
    plan: &mut PlanLink<'_>,
    twins: &TwinsInfo,
) {
    ui.label("Fork the twins, change something, run both forward and compare with the unchanged baseline.");
    ui.add_space(4.0);
    match selected.and_then(|id| scenario.graph.twin(id)) {
        None => {
            ui.weak("Select a twin in the graph to change it.");
        }
        Some(twin) => {
            ui.horizontal(|ui| {
                ui.label(RichText::new(twin.id.as_str()).strong());
                egui::ComboBox::from_id_salt("whatif-kind").selected_text(state.change_kind.label()).show_ui(
                    ui,
                    |ui| {
                        for k in ChangeKind::ALL {
                            ui.selectable_value(&mut state.change_kind, k, k.label());
                        }
                    },
                );
            });
            let change = ui
                .horizontal(|ui| match state.change_kind {
                    ChangeKind::ScaleUp | ChangeKind::ScaleDown => {
                        for (r, label) in
                            [(Resource::Cpu, "cpu"), (Resource::Memory, "memory"), (Resource::Disk, "disk")]
                        {
                            ui.radio_value(&mut state.resource, r, label);
                        }
                        ui.label("×");
                        ui.add(egui::DragValue::new(&mut state.factor).range(1.05..=8.0).speed(0.05));
                        let action = if state.change_kind == ChangeKind::ScaleUp {
                            ActionKind::ScaleUp { resource: state.resource, factor: state.factor }
                        } else {
                            ActionKind::ScaleDown { resource: state.resource, factor: state.factor }
                        };
                        Some(Change::Action { twin: twin.id.clone(), action })
                    }
                    ChangeKind::ScaleOut => {
                        ui.add(egui::DragValue::new(&mut state.replicas).range(1..=20).suffix(" replica(s)"));
                        Some(Change::Action {
                            twin: twin.id.clone(),
                            action: ActionKind::ScaleOut { replicas: state.replicas },
                        })
                    }
                    ChangeKind::Restart => Some(Change::Action { twin: twin.id.clone(), action: ActionKind::Restart }),
                    ChangeKind::SetConfig => {
                        // A typed key (a key the twin lacks is checked when the run
                        // starts: a typo is an error, an unmodelled key a warning), or
                        // one picked from the twin's keys and those the engine models.
                        let key_edit = egui::TextEdit::singleline(&mut state.config_key)
                            .desired_width(150.0)
                            .hint_text("e.g. max_connections");
                        let label = ui.label("key");
                        ui.add(key_edit).labelled_by(label.id).on_hover_text("The configuration key to set");
                        egui::ComboBox::from_id_salt("whatif-key").selected_text("keys").width(60.0).show_ui(
                            ui,
                            |ui| {
                                if twin.config.is_empty() {
                                    ui.weak("(this twin has no configuration)");
                                }
                                for (key, value) in twin.config.iter() {
                                    let effect = crate::sim::config::modelled_effect(key)
                                        .unwrap_or("no modelled effect: the comparison would show no difference");
                                    let item =
                                        ui.selectable_label(state.config_key == *key, format!("{key} = {value}"));
                                    if item.on_hover_text(effect).clicked() {
                                        state.config_key = key.clone();
                                        state.config_value = value.to_string();
                                    }
                                }
                                ui.separator();
                                ui.weak("modelled by the simulation");
                                for (keys, effect) in crate::sim::config::MODELLED {
                                    let Some(key) = keys.first().filter(|k| !twin.config.contains_key(**k)) else {
                                        continue;
                                    };
                                    let item = ui.selectable_label(state.config_key == *key, *key);
                                    if item.on_hover_text(*effect).clicked() {
                                        state.config_key = (*key).to_string();
                                    }
                                }
                            },
                        );
                        let label = ui.label("=");
                        ui.add(
                            egui::TextEdit::singleline(&mut state.config_value).desired_width(100.0).hint_text("value"),
                        )
                        .labelled_by(label.id)
                        .on_hover_text("The new value");
                        let key = state.config_key.trim();
                        (!key.is_empty()).then(|| Change::SetConfig {
                            twin: twin.id.clone(),
                            key: key.to_string(),
                            value: ConfigValue::from_text(&state.config_value),
                        })
                    }
                })
                .inner;
            let valid = match &change {
                Some(Change::Action { action, .. }) => action.validate().is_ok(),
                Some(Change::SetConfig { .. }) => true,
                None => false,
            };
            if ui.add_enabled(valid, egui::Button::new("Add change")).clicked()
                && let Some(c) = change
                && !state.changes.contains(&c)
            {
                state.changes.push(c);
            }
        }
    }
    ui.add_space(4.0);
    let mut remove = None;
    for (i, c) in state.changes.iter().enumerate() {
        ui.horizontal(|ui| {
            if ui.small_button("✖").on_hover_text("Remove this change").clicked() {
                remove = Some(i);
            }
            ui.label(c.describe());
        });
    }
    if let Some(i) = remove {
        state.changes.remove(i);
    }
    ui.horizontal(|ui| {
        ui.label("Hours");
        ui.add(egui::DragValue::new(&mut state.hours).range(1.0..=24.0 * 90.0).speed(1.0));
        let can_run = !state.changes.is_empty() && state.whatif_job.is_none() && state.waiting.is_none();
        if ui.add_enabled(can_run, egui::Button::new("Run what-if")).clicked() {
            state.run_request = Some(Section::WhatIf);
        }
    });
    waiting_ui(ui, state, Section::WhatIf, twins);
    if let Some(job) = &state.whatif_job
        && progress_ui(ui, job)
    {
        state.whatif_job = None;
    }
    let Some(report) = &state.whatif else {
        return;
    };
    ui.separator();
    ui.strong(format!("What if {}", report.changes.join("; ")));
    let amber = theme::status_color(Status::Degraded, ui.visuals().dark_mode);
    for warning in &report.warnings {
        ui.colored_label(amber, format!("⚠ {warning}"));
    }
    egui::Grid::new("whatif-summary").num_columns(3).striped(true).show(ui, |ui| {
        ui.label("");
        ui.strong("baseline");
        ui.strong("with the change");
        ui.end_row();
        // `+ 0.0`: no "-0" for a zero that came out of a subtraction.
        ui.label("violation minutes");
        ui.label(format!("{:.0}", report.baseline.violation_minutes + 0.0));
        ui.label(format!("{:.0}", report.variant.violation_minutes + 0.0));
        ui.end_row();
        ui.label("SLO breaches");
        ui.label(report.baseline.slo_breaches.to_string());
        ui.label(report.variant.slo_breaches.to_string());
        ui.end_row();
        ui.label("actions");
        ui.label(report.baseline.actions.len().to_string());
        ui.label(report.variant.actions.len().to_string());
        ui.end_row();
        ui.label("monthly cost change");
        ui.label(format!("{:+.2}", report.baseline.cost + 0.0));
        ui.label(format!("{:+.2}", report.variant.cost + 0.0));
        ui.end_row();
    });
    let actions = state.whatif_actions.get_or_insert_with(|| report.rehearsed_actions(&scenario.graph));
    if !actions.is_empty() {
        ui.horizontal(|ui| {
            if actions.iter().all(|c| (plan.planned)(&c.id)) {
                ui.label("✔ These changes are approved in the plan (Remediation tab).");
            } else if ui
                .button("Approve for the plan")
                .on_hover_text(
                    "Add the changes to the plan as approved actions, with this comparison as their evidence \
                     (Remediation tab → Export plan)",
                )
                .clicked()
            {
                plan.to_plan.extend(actions.iter().cloned());
            }
        });
    }
    if !report.series.is_empty() {
        let shown = state.series_shown.min(report.series.len() - 1);
        let current = &report.series[shown];
        egui::ComboBox::from_id_salt("whatif-series")
            .selected_text(format!("{} {}", current.twin, current.metric))
            .show_ui(ui, |ui| {
                for (i, p) in report.series.iter().enumerate() {
                    ui.selectable_value(&mut state.series_shown, i, format!("{} {}", p.twin, p.metric));
                }
            });
        let pair = &report.series[state.series_shown.min(report.series.len() - 1)];
        let points = |values: &[Option<f64>]| -> PlotPoints {
            pair.times.iter().zip(values).filter_map(|(t, v)| v.map(|v| [*t as f64, v])).collect()
        };
        Plot::new(("whatif-plot", pair.twin.as_str(), pair.metric.as_str()))
            .height(200.0)
            .legend(Legend::default())
            .x_axis_formatter(|mark, _| short_time(mark.value))
            .show(ui, |p| {
                p.line(Line::new("baseline", points(&pair.baseline)).color(Color32::GRAY));
                p.line(
                    Line::new("with the change", points(&pair.variant)).color(theme::series_color(ui_dark(p.ctx()))),
                );
            });
    }
    ui.strong("Per-metric deltas");
    egui::Grid::new("whatif-deltas").num_columns(6).striped(true).show(ui, |ui| {
        for h in ["twin", "metric", "baseline mean", "what-if mean", "Δ mean", "Δ max"] {
            ui.strong(h);
        }
        ui.end_row();
        let show = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.2}"));
        // What changed most first; ties keep the report's (twin, metric) order.
        let mut rows: Vec<&crate::sim::whatif::MetricComparison> = report.metrics.iter().collect();
        let moved = |m: &crate::sim::whatif::MetricComparison| match (m.delta_mean(), m.baseline_mean) {
            (Some(d), Some(b)) => d.abs() / b.abs().max(1e-9),
            (Some(d), None) => d.abs(),
            _ => 0.0,
        };
        rows.sort_by(|a, b| moved(b).total_cmp(&moved(a)));
        for m in rows {
            ui.label(m.twin.as_str());
            ui.label(&m.metric);
            ui.label(show(m.baseline_mean));
            ui.label(show(m.variant_mean));
            ui.label(m.delta_mean().map_or("–".into(), |d| format!("{d:+.2}")));
            ui.label(m.delta_max().map_or("–".into(), |d| format!("{d:+.2}")));
            ui.end_row();
        }
    });
}

/// How much the variant's mean differs from the baseline's, relative to it.
fn relative_change(pair: &crate::sim::whatif::SeriesPair) -> f64 {
    let mean = |v: &[Option<f64>]| {
        let (sum, n) = v.iter().flatten().fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
        (n > 0).then(|| sum / n as f64)
    };
    match (mean(&pair.baseline), mean(&pair.variant)) {
        (Some(b), Some(v)) => (v - b).abs() / b.abs().max(1e-9),
        (None, Some(_)) | (Some(_), None) => f64::INFINITY,
        (None, None) => 0.0,
    }
}

fn ui_dark(ctx: &egui::Context) -> bool {
    ctx.global_style().visuals.dark_mode
}

fn short_time(t: f64) -> String {
    let text = format_rfc3339(t as i64);
    // "2026-10-31T15:00:00Z" → "10-31 15:00".
    text.get(5..16).map_or(text.clone(), |s| s.replace('T', " "))
}

fn ab_ui(ui: &mut egui::Ui, state: &mut LabState, twins: &TwinsInfo) {
    ui.label("Run two strategy files over seeded replications (the same seeds for both arms) and compare.");
    egui::Grid::new("ab-inputs").num_columns(2).show(ui, |ui| {
        for which in [LabFile::StrategyA, LabFile::StrategyB] {
            ui.label(which.title());
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(state.path_mut(which)).desired_width(320.0));
                browse_button(ui, state, which, true);
            });
            ui.end_row();
        }
        ui.label("Runs");
        ui.add(egui::DragValue::new(&mut state.runs).range(2..=500));
        ui.end_row();
        ui.label("Hours per run");
        ui.add(egui::DragValue::new(&mut state.ab_hours).range(1.0..=24.0 * 30.0));
        ui.end_row();
    });
    let can_run = state.ab_job.is_none()
        && state.waiting.is_none()
        && !state.a_path.trim().is_empty()
        && !state.b_path.trim().is_empty();
    if ui.add_enabled(can_run, egui::Button::new("Run A/B test")).clicked() {
        state.run_request = Some(Section::Ab);
    }
    waiting_ui(ui, state, Section::Ab, twins);
    if let Some(job) = &state.ab_job
        && progress_ui(ui, job)
    {
        state.ab_job = None;
    }
    let Some(report) = &state.ab else {
        return;
    };
    ui.separator();
    ui.strong(format!(
        "A = {}, B = {}: {} runs of {} h from seed {}",
        report.a, report.b, report.runs, report.hours, report.seed
    ));
    egui::Grid::new("ab-results").num_columns(5).striped(true).show(ui, |ui| {
        for h in ["objective", "A mean [95% CI]", "B mean [95% CI]", "A − B", "paired p"] {
            ui.strong(h);
        }
        ui.end_row();
        for c in &report.comparisons {
            ui.label(c.objective.as_str());
            // `+ 0.0`: no "-0.0" for a zero that came out of a subtraction.
            let interval = |m: f64, (lo, hi): (f64, f64)| format!("{:.1} [{:.1}, {:.1}]", m + 0.0, lo + 0.0, hi + 0.0);
            ui.label(interval(c.a.mean, c.a.ci95));
            ui.label(interval(c.b.mean, c.b.ci95));
            ui.label(format!("{:+.1}", c.mean_difference + 0.0));
            let p = if c.p_value.is_finite() { format!("{:.4}", c.p_value) } else { "–".into() };
            ui.label(if c.significant { RichText::new(format!("{p} *")).strong() } else { RichText::new(p) });
            ui.end_row();
        }
    });
    match &report.winner {
        Some(w) => ui.label(
            RichText::new(format!("Winner on {}: {w} (p < 0.05, paired t-test)", report.objective.as_str())).strong(),
        ),
        None => ui.label(format!("No significant difference on {} (p ≥ 0.05).", report.objective.as_str())),
    };
    if let Some(c) = report.declared() {
        // Each replication's objective, A against B: common random numbers pair them.
        let a: PlotPoints = c.a.values.iter().enumerate().map(|(i, v)| [i as f64, *v]).collect();
        let b: PlotPoints = c.b.values.iter().enumerate().map(|(i, v)| [i as f64, *v]).collect();
        Plot::new("ab-plot").height(160.0).legend(Legend::default()).show(ui, |p| {
            p.line(Line::new(format!("A: {}", report.a), a));
            p.line(Line::new(format!("B: {}", report.b), b));
        });
        ui.weak(format!("{} per replication", c.objective.as_str()));
    }
}

fn chaos_ui(
    ui: &mut egui::Ui,
    state: &mut LabState,
    scenario: &Arc<Scenario>,
    selected: Option<&TwinId>,
    plan: &mut PlanLink<'_>,
    twins: &TwinsInfo,
) {
    ui.label("Break something on purpose: does the steady state hold, is it detected, does it recover?");
    ui.horizontal(|ui| {
        ui.radio_value(&mut state.use_file, true, "Experiment file");
        ui.radio_value(&mut state.use_file, false, "Compose from the catalogue");
    });
    if state.use_file {
        ui.horizontal(|ui| {
            ui.add(egui::TextEdit::singleline(&mut state.experiment_path).desired_width(360.0));
            browse_button(ui, state, LabFile::Experiment, true);
        });
    } else {
        compose_ui(ui, state, scenario, selected);
    }
    ui.horizontal(|ui| {
        ui.checkbox(&mut state.remediate, "Remediate with");
        ui.add_enabled(state.remediate, egui::TextEdit::singleline(&mut state.strategy_path).desired_width(280.0));
        let enabled = state.remediate;
        browse_button(ui, state, LabFile::Remediation, enabled);
    });
    if state.use_file && state.remediate {
        ui.weak("(an experiment file that names its own remediation strategy uses it)");
    }
    let can_run =
        state.chaos_job.is_none() && state.waiting.is_none() && (state.use_file || !state.composed.is_empty());
    if ui.add_enabled(can_run, egui::Button::new("Run experiment")).clicked() {
        state.run_request = Some(Section::Chaos);
    }
    waiting_ui(ui, state, Section::Chaos, twins);
    if let Some(job) = &state.chaos_job
        && progress_ui(ui, job)
    {
        state.chaos_job = None;
    }
    let Some(report) = &state.chaos else {
        return;
    };
    ui.separator();
    ui.strong(&report.title);
    let verdict = |held: bool| if held { "held" } else { "deviated" };
    let minutes = |s: Option<i64>| s.map_or("–".to_string(), |s| format!("{:.1} min", s as f64 / 60.0));
    egui::Grid::new("chaos-results").num_columns(2).striped(true).show(ui, |ui| {
        ui.label("hypothesis before");
        ui.label(verdict(report.before.held));
        ui.end_row();
        ui.label("during the method");
        ui.label(if report.deviated { "deviated" } else { "held" });
        ui.end_row();
        ui.label("hypothesis after");
        ui.label(RichText::new(verdict(report.after.held)).strong());
        ui.end_row();
        ui.label("time to detect");
        ui.label(minutes(report.time_to_detect_secs));
        ui.end_row();
        ui.label("time to recover");
        ui.label(minutes(report.time_to_recover_secs));
        ui.end_row();
        ui.label("resilience score");
        ui.label(format!("{:.3}", report.resilience_score));
        ui.end_row();
        ui.label("remediation");
        ui.label(report.remediation.as_deref().unwrap_or("off"));
        ui.end_row();
        ui.label("blast radius");
        ui.label(format!(
            "{} twins reached ({} predicted)",
            report.blast_radius_observed.len(),
            report.blast_radius_predicted.len()
        ));
        ui.end_row();
    });
    let actions = state.chaos_actions.get_or_insert_with(|| report.rehearsed_actions(&scenario.graph));
    if !actions.is_empty() {
        ui.add_space(4.0);
        ui.strong(format!("Remediation in this experiment ({} actions)", actions.len()));
        let since = report.first_fault_at.unwrap_or(report.start);
        egui::Grid::new("chaos-actions").num_columns(4).striped(true).show(ui, |ui| {
            for c in actions.iter() {
                // When the loop first started it, from the first fault (clicking moves the
                // replay there).
                let at = report.summary.actions.iter().find(|a| a.twin == c.target && a.kind == c.kind).map(|a| a.at);
                let when = at.map_or_else(String::new, |t| format!("{:+.0} min", (t - since) as f64 / 60.0));
                if ui.link(when).on_hover_text("Show this moment on the graph").clicked()
                    && let Some(t) = at
                {
                    state.chaos_cursor = t.clamp(report.start, report.end);
                    state.chaos_replay = None;
                }
                ui.label(c.target.as_str());
                ui.label(c.kind.to_string()).on_hover_text(c.evidence.join("\n"));
                if (plan.planned)(&c.id) {
                    ui.label("✔ in the plan");
                } else if ui
                    .small_button("Add to plan")
                    .on_hover_text("Approve this action for the plan, with the experiment as its evidence")
                    .clicked()
                {
                    plan.to_plan.push(c.clone());
                }
                ui.end_row();
            }
        });
    }
    ui.add_space(4.0);
    ui.label("Experiment time (the graph shows faulted and down twins at this moment):");
    let (start, end) = (report.start, report.end);
    let res = scenario.resolution_secs.max(1);
    let now = ui.input(|i| i.time);
    if let Some((t0, from)) = state.chaos_replay {
        // The whole experiment plays in REPLAY_SECS; the graph follows the cursor.
        let at = from + ((now - t0) / REPLAY_SECS * (end - start) as f64) as i64;
        state.chaos_cursor = ((at - start).div_euclid(res) * res + start).min(end);
        if state.chaos_cursor >= end {
            state.chaos_replay = None;
        }
        ui.ctx().request_repaint();
    }
    ui.horizontal(|ui| {
        let playing = state.chaos_replay.is_some();
        let label = if playing { "⏸ Pause" } else { "▶ Replay" };
        if ui.button(label).on_hover_text("Watch the faults spread over the graph, from the cursor on").clicked() {
            state.chaos_replay = if playing {
                None
            } else {
                let from = if state.chaos_cursor >= end { start } else { state.chaos_cursor };
                Some((now, from))
            };
        }
        ui.spacing_mut().slider_width = 300.0;
        let slider = ui.add(
            egui::Slider::new(&mut state.chaos_cursor, start..=end)
                .step_by(res as f64)
                .custom_formatter(move |v, _| format!("+{:.0} min", (v - start as f64) / 60.0)),
        );
        if slider.dragged() || slider.changed() {
            state.chaos_replay = None;
        }
    });
    let down: PlotPoints = report.timeline.iter().map(|s| [s.at as f64, s.down as f64]).collect();
    let violating: PlotPoints = report.timeline.iter().map(|s| [s.at as f64, s.violating as f64]).collect();
    let cursor = state.chaos_cursor as f64;
    let response = Plot::new("chaos-timeline")
        .height(150.0)
        .legend(Legend::default())
        .x_axis_formatter(move |mark, _| format!("+{:.0}m", (mark.value - start as f64) / 60.0))
        .show(ui, |p| {
            p.line(Line::new("twins down", down).color(theme::status_color(Status::Down, ui_dark(p.ctx()))));
            let dark = ui_dark(p.ctx());
            p.line(Line::new("policy groups violated", violating).color(theme::status_color(Status::Degraded, dark)));
            p.vline(VLine::new("cursor", cursor).color(theme::cursor_color(dark)));
            p.pointer_coordinate()
        });
    if response.response.clicked()
        && let Some(at) = response.inner
    {
        let t = (at.x as i64 - start).div_euclid(res) * res + start;
        state.chaos_cursor = t.clamp(start, end);
        state.chaos_replay = None;
    }
    ui.collapsing(format!("Events ({})", report.summary.events.len()), |ui| {
        for e in report.summary.events.iter().take(200) {
            let what = match &e.what {
                EventKind::Down(why) => format!("down: {why}"),
                EventKind::Up => "up".into(),
                EventKind::FaultStarted(f) => format!("fault started: {f}"),
                EventKind::FaultEnded(f) => format!("fault ended: {f}"),
                EventKind::OutOfMemory => "out of memory".into(),
                EventKind::ActionTookEffect(a) => format!("took effect: {a}"),
            };
            ui.label(format!("+{:.0} min  {}  {what}", (e.at - start) as f64 / 60.0, e.twin));
        }
    });
}

fn compose_ui(ui: &mut egui::Ui, state: &mut LabState, scenario: &Arc<Scenario>, selected: Option<&TwinId>) {
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("chaos-fault").selected_text(state.fault_choice.label()).show_ui(ui, |ui| {
            for f in FaultChoice::ALL {
                if ui.selectable_value(&mut state.fault_choice, f, f.label()).clicked()
                    && let Some((_, default, _)) = f.magnitude()
                {
                    state.magnitude = default;
                }
            }
        });
        if let Some((unit, _, range)) = state.fault_choice.magnitude() {
            ui.add(egui::DragValue::new(&mut state.magnitude).range(range).suffix(format!(" {unit}")));
        }
    });
    ui.horizontal(|ui| {
        ui.label("at +");
        ui.add(egui::DragValue::new(&mut state.at_min).range(0..=24 * 60).suffix(" min"));
        ui.checkbox(&mut state.until_rollback, "until the end");
        if !state.until_rollback {
            ui.label("for");
            ui.add(egui::DragValue::new(&mut state.duration_min).range(1..=24 * 60).suffix(" min"));
        }
    });
    match selected.and_then(|id| scenario.graph.twin(id)) {
        None => {
            ui.weak("Select a twin in the graph to put a fault on it.");
        }
        Some(twin) => {
            let dependency = scenario.graph.dependencies(&twin.id).into_iter().map(|(t, _)| t.id.clone()).next();
            let fault = state.fault_choice.fault(state.magnitude, dependency);
            ui.horizontal(|ui| {
                let add = ui.add_enabled(fault.is_ok(), egui::Button::new(format!("Add fault on {}", twin.id)));
                if let Err(e) = &fault {
                    ui.weak(e);
                }
                if add.clicked()
                    && let Ok(kind) = fault
                {
                    state.composed.push(ComposedFault {
                        kind,
                        twin: twin.id.clone(),
                        at_min: state.at_min,
                        duration_min: (!state.until_rollback).then_some(state.duration_min),
                    });
                }
            });
        }
    }
    let mut remove = None;
    for (i, f) in state.composed.iter().enumerate() {
        ui.horizontal(|ui| {
            if ui.small_button("✖").on_hover_text("Remove this fault").clicked() {
                remove = Some(i);
            }
            let until = f.duration_min.map_or("until the end".to_string(), |d| format!("for {d} min"));
            ui.label(format!("{} on {} at +{} min, {until}", f.kind, f.twin, f.at_min));
        });
    }
    if let Some(i) = remove {
        state.composed.remove(i);
    }
    ui.horizontal(|ui| {
        ui.label("Experiment length");
        ui.add(egui::DragValue::new(&mut state.chaos_hours).range(0.5..=72.0).speed(0.25).suffix(" h"));
    });
    ui.weak("Steady state: every twin serves (up = 1) and no load balancer fails more than 5% of requests.");
}
