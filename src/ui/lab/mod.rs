//! The simulation lab tab: what-if (fork, change, compare with the baseline), A/B of
//! two strategy files over seeded replications, and chaos experiments (a file, or
//! faults composed from the catalogue on the selected twin) whose blast radius is shown
//! on the graph along the experiment's timeline. Each section is a file with its own
//! state; every run is a [`Run`] (a [`Job`] on a named thread with a progress bar and
//! a cancel button, and its last result); the UI thread only polls.
//!
//! The runs drive the twins with the open scenario's workload models. A *Run* button
//! pushes [`Command::RunLab`]: the app starts it on the latest scenario, or — while the
//! twins' models are being learned (`ui::learn`) — keeps it waiting
//! ([`LabState::wait_for_models`]) and starts it when the models are in.
//!
//! To add a kind of lab run: a file here with its state, `start`, `poll` and `*_ui`, a
//! [`Section`] variant, and its arms in [`LabState`].

mod ab;
mod chaos;
mod inputs;
mod whatif;

use std::collections::BTreeMap;
use std::sync::Arc;

use eframe::egui;

pub use self::ab::AbLab;
pub use self::chaos::{ChaosLab, ChaosMark};
pub use self::inputs::LabInputs;
pub use self::whatif::WhatIfLab;
use super::command::{Command, Commands};
use super::files::FilePurpose;
use super::jobs::{Job, Progress};
use super::learn::{TwinsInfo, twins_ui};
use crate::io::time::format_rfc3339;
use crate::model::TwinId;
use crate::scenario::Scenario;
use crate::sim::SimError;
use crate::sim::ab::AbReport;
use crate::sim::chaos::ChaosReport;
use crate::sim::whatif::WhatIfReport;

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

/// A lab run: the background job while it runs, and the last result.
pub struct Run<T> {
    job: Option<Job<T>>,
    /// The last finished run's result.
    pub result: Option<T>,
}

impl<T> Default for Run<T> {
    fn default() -> Self {
        Self { job: None, result: None }
    }
}

impl<T: Send + 'static> Run<T> {
    /// Starts `work` on a thread named `name` (replacing a run in progress).
    fn start(
        &mut self,
        name: &str,
        label: impl Into<String>,
        ctx: &egui::Context,
        work: impl FnOnce(&Progress) -> Result<T, String> + Send + 'static,
    ) -> Result<(), String> {
        let job = Job::spawn(name, label, ctx, work).map_err(|e| format!("cannot start a background thread: {e}"))?;
        self.job = Some(job);
        Ok(())
    }

    /// `Some(Ok)` when a run finished (its result is now [`Run::result`]), `Some(Err)`
    /// when it failed, `None` while it runs or when none does.
    fn poll(&mut self) -> Option<Result<(), String>> {
        let result = self.job.as_ref()?.poll()?;
        self.job = None;
        Some(result.map(|r| self.result = Some(r)))
    }

    /// True while the run is in progress.
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// Stops the run (its thread sees the cancel flag).
    fn cancel(&mut self) {
        self.job = None;
    }

    /// A progress bar with a cancel button while the run is in progress.
    fn progress_ui(&self, ui: &mut egui::Ui, section: Section, commands: &mut Commands) {
        let Some(job) = &self.job else {
            return;
        };
        ui.horizontal(|ui| {
            crate::ui::theme::spinner(ui);
            ui.add(egui::ProgressBar::new(job.progress()).show_percentage().desired_width(240.0));
            if ui.button("Cancel").clicked() {
                commands.push(Command::CancelLab(section));
            }
        });
        ui.weak(&job.label);
    }
}

/// State of the lab tab (runtime only; nothing here is persisted).
pub struct LabState {
    /// Which part is shown.
    pub section: Section,
    pub(super) seed: u64,
    /// The what-if.
    pub whatif: WhatIfLab,
    /// The A/B test.
    pub ab: AbLab,
    /// Chaos experiments.
    pub chaos: ChaosLab,
    error: Option<String>,
    /// A run waiting for the twins' models to be learned.
    waiting: Option<Section>,
    /// The results a restored workspace had, shown until a run gives new ones.
    restored: Vec<String>,
}

impl Default for LabState {
    fn default() -> Self {
        Self {
            section: Section::default(),
            seed: 1,
            whatif: WhatIfLab::default(),
            ab: AbLab::default(),
            chaos: ChaosLab::default(),
            error: None,
            waiting: None,
            restored: Vec::new(),
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
            LabFile::StrategyA | LabFile::StrategyB => self.ab.path(which),
            LabFile::Experiment | LabFile::Remediation => self.chaos.path(which),
        }
    }

    fn path_mut(&mut self, which: LabFile) -> &mut String {
        match which {
            LabFile::StrategyA | LabFile::StrategyB => self.ab.path_mut(which),
            LabFile::Experiment | LabFile::Remediation => self.chaos.path_mut(which),
        }
    }

    /// True while any lab run is in progress or waiting for the twins' models.
    pub fn is_running(&self) -> bool {
        self.whatif.run.is_running()
            || self.ab.run.is_running()
            || self.chaos.run.is_running()
            || self.waiting.is_some()
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
        self.restored.clear();
        let started = match section {
            Section::WhatIf => self.whatif.start(scenario, self.seed, ctx),
            Section::Ab => self.ab.start(scenario, self.seed, ctx),
            Section::Chaos => self.chaos.start(scenario, self.seed, ctx),
        };
        self.error = started.err();
    }

    /// Stops the run of `section`, in progress or waiting for the models.
    pub fn cancel(&mut self, section: Section) {
        if self.waiting == Some(section) {
            self.waiting = None;
        }
        match section {
            Section::WhatIf => self.whatif.run.cancel(),
            Section::Ab => self.ab.run.cancel(),
            Section::Chaos => self.chaos.run.cancel(),
        }
    }

    /// The last what-if result.
    pub fn whatif_report(&self) -> Option<&WhatIfReport> {
        self.whatif.run.result.as_ref()
    }

    /// The last A/B result.
    pub fn ab_report(&self) -> Option<&AbReport> {
        self.ab.run.result.as_ref()
    }

    /// The last chaos result.
    pub fn chaos_report(&self) -> Option<&ChaosReport> {
        self.chaos.run.result.as_ref()
    }

    /// Collects finished runs; returns messages for failed ones (cancelled runs are
    /// quiet: the user asked for it).
    pub fn poll(&mut self) -> Vec<String> {
        let failures: Vec<String> = [self.whatif.poll(), self.ab.poll(), self.chaos.poll()]
            .into_iter()
            .flatten()
            .filter(|m| !m.ends_with(": cancelled"))
            .collect();
        if let Some(first) = failures.first() {
            self.error = Some(first.clone());
        }
        failures
    }

    /// Changes whenever the chaos marks may (the cursor moved or a new result came):
    /// the graph is repainted only then.
    pub fn chaos_key(&self) -> Option<(i64, u64)> {
        self.chaos.key()
    }

    /// The time the chaos replay shows.
    pub fn chaos_cursor(&self) -> i64 {
        self.chaos.cursor
    }

    /// True while the chaos experiment is being replayed on the graph.
    pub fn is_replaying(&self) -> bool {
        self.chaos.is_replaying()
    }

    /// The twins to mark on the graph at the chaos cursor.
    pub fn chaos_overlay(&self) -> Option<BTreeMap<TwinId, ChaosMark>> {
        self.chaos.overlay()
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
        if section == Section::WhatIf && self.whatif.changes.is_empty() {
            let twin = selected.ok_or("select a twin (--select ID) for a what-if")?;
            self.whatif.default_change(twin);
        }
        Ok(section)
    }
}

/// What the lab shows besides its own state.
pub struct LabContext<'a> {
    /// The open scenario.
    pub scenario: &'a Arc<Scenario>,
    /// The graph's selection: the target of changes and faults.
    pub selected: Option<&'a TwinId>,
    /// Whether a rehearsed action (by id) is approved in the plan.
    pub planned: &'a dyn Fn(&str) -> bool,
    /// The twins' models and their learning.
    pub twins: &'a TwinsInfo,
}

/// What a section's UI reads besides its own state.
struct SectionEnv<'a> {
    scenario: &'a Arc<Scenario>,
    selected: Option<&'a TwinId>,
    planned: &'a dyn Fn(&str) -> bool,
    twins: &'a TwinsInfo,
    /// The section's run waits for the twins' models.
    waiting: bool,
}

impl SectionEnv<'_> {
    /// The section's *Run* button (enabled when its inputs are `ready` and no run of it
    /// is in progress or waiting), the wait for the twins' models and the progress.
    fn run_ui<T: Send + 'static>(
        &self,
        ui: &mut egui::Ui,
        section: Section,
        label: &str,
        ready: bool,
        run: &Run<T>,
        commands: &mut Commands,
    ) {
        if ui.add_enabled(ready && !run.is_running() && !self.waiting, egui::Button::new(label)).clicked() {
            commands.push(Command::RunLab(section));
        }
        self.waiting_ui(ui, section, commands);
        run.progress_ui(ui, section, commands);
    }

    /// A run of `section` waiting for the twins' models: what it waits for, and Cancel.
    fn waiting_ui(&self, ui: &mut egui::Ui, section: Section, commands: &mut Commands) {
        if !self.waiting {
            return;
        }
        ui.horizontal(|ui| {
            crate::ui::theme::spinner(ui);
            let text = match self.twins.learning {
                Some((reason, progress)) => format!(
                    "Waiting for the twins' models: {} ({:.0}%)…",
                    reason.label().to_lowercase(),
                    progress * 100.0
                ),
                None => "Waiting for the twins' models…".to_string(),
            };
            ui.label(text);
            if ui.button("Cancel").on_hover_text("Do not start this run").clicked() {
                commands.push(Command::CancelLab(section));
            }
        });
        ui.weak("The run starts on the learned models as soon as they are in.");
    }
}

/// The lab tab.
pub fn lab_ui(ui: &mut egui::Ui, state: &mut LabState, context: &LabContext<'_>, commands: &mut Commands) {
    ui.horizontal(|ui| {
        ui.selectable_value(&mut state.section, Section::WhatIf, "What-if");
        ui.selectable_value(&mut state.section, Section::Ab, "A/B test");
        ui.selectable_value(&mut state.section, Section::Chaos, "Chaos");
        ui.separator();
        ui.label("Seed");
        ui.add(egui::DragValue::new(&mut state.seed));
    });
    twins_ui(ui, context.twins, commands);
    if !state.restored.is_empty() {
        egui::CollapsingHeader::new("Results when the workspace was saved").default_open(true).show(ui, |ui| {
            for line in &state.restored {
                ui.label(line);
            }
            ui.weak("Run again to see them in full.");
        });
    }
    if let Some(e) = &state.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    ui.separator();
    let section = state.section;
    let env = SectionEnv {
        scenario: context.scenario,
        selected: context.selected,
        planned: context.planned,
        twins: context.twins,
        waiting: state.waiting == Some(section),
    };
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| match section {
        Section::WhatIf => whatif::whatif_ui(ui, &mut state.whatif, &env, commands),
        Section::Ab => ab::ab_ui(ui, &mut state.ab, &env, commands),
        Section::Chaos => chaos::chaos_ui(ui, &mut state.chaos, &env, commands),
    });
}

/// A *Browse…* button that asks for a file picker for `which`.
fn browse_button(ui: &mut egui::Ui, which: LabFile, enabled: bool, commands: &mut Commands) {
    let button = ui.add_enabled(enabled, egui::Button::new("Browse…"));
    if button.on_hover_text(format!("Choose the file: {}", which.title())).clicked() {
        commands.push(Command::PickFile(FilePurpose::Lab(which)));
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
