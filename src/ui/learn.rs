//! Learned twins in the workbench (SPEC M20): the learn job, the live refit, the
//! *Learn twins* header of the Lab and *Save learned scenario…*.
//!
//! A scenario opened from a telemetry file (or a live source) has history but no
//! workload models, so the simulation lab has nothing to drive its twins with. When
//! history arrives and series lack a model, the app starts a learn job
//! ([`LearnReason::Missing`]); in a live session the learned models are refitted on
//! the grown history at most every [`LIVE_REFIT_SECS`] ([`LearnReason::LiveRefit`],
//! written models stay). One learn job runs at a time, on a named thread
//! (`twin-learn`); learning itself reads at most the latest eight weeks
//! (`LearnConfig::max_days`). A finished job's models are put into the open scenario
//! by the app: for a file the job hands back the scenario with the models applied (the
//! copy is made on the job's thread), for a live source, whose scenario moved on while
//! it learned, the models are applied to the latest scenario through `Arc::make_mut`,
//! as live events are.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use eframe::egui::{self, RichText};

use super::command::{Command, Commands};
use super::files::FilePurpose;
use super::jobs::{Job, Source};
use crate::analytics::learn::{LearnConfig, LearnError, Learned, Relearn, learn, needs_learning};
use crate::io::time::format_short;
use crate::model::{HOUR_SECS, WorkloadModel, metric};
use crate::scenario::Scenario;

/// Least time (s) between two refits of a live session's learned models: the twins
/// follow the data without learning all the time.
pub const LIVE_REFIT_SECS: f64 = 180.0;

/// Least time (s) between two learns of series a live source added.
const NEW_SERIES_SECS: f64 = 10.0;

/// Why a learn job runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LearnReason {
    /// History arrived with series that have no model: learn those
    /// ([`Relearn::Missing`]).
    Missing,
    /// A live session's periodic refit ([`Relearn::Learned`]).
    LiveRefit,
    /// The user asked (*Learn twins*, [`Relearn::Learned`]).
    User,
}

impl LearnReason {
    fn relearn(self) -> Relearn {
        match self {
            LearnReason::Missing => Relearn::Missing,
            LearnReason::LiveRefit | LearnReason::User => Relearn::Learned,
        }
    }

    /// A word or two for a progress bar.
    pub fn short(self) -> &'static str {
        match self {
            LearnReason::Missing | LearnReason::User => "learning",
            LearnReason::LiveRefit => "refitting",
        }
    }

    /// What the job does, for progress displays.
    pub fn label(self) -> &'static str {
        match self {
            LearnReason::Missing => "Learning the twins from history",
            LearnReason::LiveRefit => "Refitting the twins to new data",
            LearnReason::User => "Learning the twins",
        }
    }
}

/// What a learn job hands back.
pub struct LearnOutcome {
    /// The models, couplings and shares learned.
    pub learned: Learned,
    /// Wall time of learning, in seconds.
    pub secs: f64,
    /// The input scenario with the models applied, when the job was asked to make it
    /// (a scenario that does not change while the job runs).
    pub applied: Option<Arc<Scenario>>,
}

/// A finished learn job.
pub struct Finished {
    /// Why it ran.
    pub reason: LearnReason,
    /// The outcome, or why there is none (`"cancelled"` when stopped).
    pub result: Result<LearnOutcome, String>,
    /// Whether the scenario it learned from is still the open one, unchanged.
    pub same_input: bool,
    /// Whether it is the first learn of this scenario to finish.
    pub first: bool,
}

struct Running {
    job: Job<LearnOutcome>,
    reason: LearnReason,
    input: Weak<Scenario>,
}

/// The last learn that finished, for the Lab's header.
#[derive(Clone, Debug, PartialEq)]
pub struct LastLearn {
    /// Why it ran.
    pub reason: LearnReason,
    /// Models learned.
    pub count: usize,
    /// When it finished (UI time, seconds).
    pub at: f64,
}

/// The learning of the open scenario's twins: at most one job, and when the next is due.
#[derive(Default)]
pub struct Learning {
    running: Option<Running>,
    /// Live samples arrived since the last learn started (a refit would see more).
    pub stale: bool,
    /// Live samples arrived since series without a model were last looked for.
    check_missing: bool,
    last_started: Option<f64>,
    series_at_last: usize,
    /// The last learn that finished.
    pub last: Option<LastLearn>,
}

impl Learning {
    /// True while a learn job runs.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Why the running job runs and its progress in [0, 1].
    pub fn progress(&self) -> Option<(LearnReason, f32)> {
        self.running.as_ref().map(|r| (r.reason, r.job.progress()))
    }

    /// Stops the running job (its thread sees the cancel flag).
    pub fn cancel(&mut self) {
        self.running = None;
    }

    /// Starts learning `scenario`'s twins (replacing a running job). With `prepare`
    /// the job also returns the scenario with the models applied.
    pub fn start(
        &mut self,
        scenario: &Arc<Scenario>,
        reason: LearnReason,
        prepare: bool,
        now: f64,
        ctx: &egui::Context,
    ) -> std::io::Result<()> {
        let input = Arc::clone(scenario);
        let job = Job::spawn("twin-learn", reason.label(), ctx, move |p| {
            let clock = crate::io::Stopwatch::start();
            let config = LearnConfig { relearn: reason.relearn(), ..LearnConfig::for_scenario(&input) };
            let learned = learn(&input, &config, &|d, t| p.report(d, t), p.cancel_flag()).map_err(|e| match e {
                LearnError::Cancelled => "cancelled".to_string(),
                other => other.to_string(),
            })?;
            let secs = clock.secs();
            let applied = prepare.then(|| {
                let mut s = (*input).clone();
                learned.apply(&mut s);
                Arc::new(s)
            });
            Ok(LearnOutcome { learned, secs, applied })
        })?;
        self.running = Some(Running { job, reason, input: Arc::downgrade(scenario) });
        self.stale = false;
        self.check_missing = false;
        self.last_started = Some(now);
        self.series_at_last = scenario.telemetry.keys().count();
        Ok(())
    }

    /// The finished job, if it finished; `current` is the open scenario.
    pub fn poll(&mut self, current: Option<&Arc<Scenario>>, now: f64) -> Option<Finished> {
        let result = self.running.as_ref()?.job.poll()?;
        let running = self.running.take()?;
        let same_input = current.is_some_and(|c| running.input.upgrade().is_some_and(|input| Arc::ptr_eq(&input, c)));
        let first = self.last.is_none();
        if let Ok(outcome) = &result {
            self.last = Some(LastLearn { reason: running.reason, count: outcome.learned.count(), at: now });
        }
        Some(Finished { reason: running.reason, result, same_input, first })
    }

    /// Live samples arrived (new series may need a model, learned ones a refit).
    pub fn samples_arrived(&mut self) {
        self.stale = true;
        self.check_missing = true;
    }

    /// The learn a live session needs now, if any: series the source added without a
    /// model (at once, then at most every 10 s), or a refit of the learned models when
    /// data arrived and [`LIVE_REFIT_SECS`] passed since the last learn started.
    pub fn live_due(&mut self, scenario: &Scenario, now: f64) -> Option<LearnReason> {
        if self.running.is_some() {
            return None;
        }
        let since = |secs: f64| self.last_started.is_none_or(|t| now - t >= secs);
        if self.check_missing && since(NEW_SERIES_SECS) {
            self.check_missing = false;
            let series = scenario.telemetry.keys().count();
            if series > self.series_at_last && needs_learning(scenario) {
                return Some(LearnReason::Missing);
            }
        }
        let refit = self.stale && self.last_started.is_some() && since(LIVE_REFIT_SECS);
        (refit && scenario.workloads.values().any(|m| m.learned.is_some())).then_some(LearnReason::LiveRefit)
    }
}

/// How many series of a scenario have a learned, a written or no workload model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelCounts {
    /// Learned from history.
    pub learned: usize,
    /// Written in the scenario.
    pub written: usize,
    /// Series with history but no model (not simulated).
    pub missing: usize,
}

impl ModelCounts {
    /// Counts over the series with history or a model (`up` is the simulation's own).
    pub fn of(s: &Scenario) -> ModelCounts {
        let mut counts = ModelCounts::default();
        for model in s.workloads.values() {
            if model.learned.is_some() {
                counts.learned += 1;
            } else {
                counts.written += 1;
            }
        }
        counts.missing =
            s.telemetry.keys().filter(|k| k.metric.as_str() != metric::UP && !s.workloads.contains_key(*k)).count();
        counts
    }

    /// "6 learned · 2 written · 1 without a model", leaving out zeros.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.learned > 0 {
            parts.push(format!("{} learned", self.learned));
        }
        if self.written > 0 {
            parts.push(format!("{} written", self.written));
        }
        if self.missing > 0 {
            parts.push(format!("{} without a model", self.missing));
        }
        if parts.is_empty() {
            return "no workload models".into();
        }
        parts.join(" · ")
    }
}

/// Where a series' workload model came from, in words for the inspector.
#[derive(Clone, Debug, PartialEq)]
pub enum Provenance {
    /// Written in the scenario.
    Written,
    /// Learned from history.
    Learned {
        /// "from 2026-01-01 00:00 until 2026-01-03 23:55, 864 samples".
        span: String,
        /// Couplings that differ from the defaults ("follows traffic 78%", "queueing 35%").
        couplings: Vec<String>,
        /// "MASE 0.64 vs replay 1.21, coverage 0.78 (1 d held out)", when measured.
        fit: Option<String>,
        /// Whether the model beat the replay twin on held-out history.
        fit_good: bool,
        /// The learner's notes.
        notes: Vec<String>,
    },
    /// History without a model: the simulation does not drive this series.
    None,
}

impl Provenance {
    /// The provenance of `model` (`None`: the series has none).
    pub fn of(model: Option<&WorkloadModel>) -> Provenance {
        let Some(m) = model else {
            return Provenance::None;
        };
        let Some(l) = &m.learned else {
            return Provenance::Written;
        };
        let mut couplings = Vec::new();
        if m.follows_traffic < 1.0 {
            couplings.push(format!("follows traffic {:.0}%", m.follows_traffic * 100.0));
        }
        if m.queueing_share < 1.0 {
            couplings.push(format!("queueing {:.0}%", m.queueing_share * 100.0));
        }
        let fit = l.fit.map(|f| {
            format!(
                "MASE {:.2} vs replay {:.2}, coverage {:.2} ({} held out)",
                f.mase_sim,
                f.mase_replay,
                f.coverage80,
                held_out(f.holdout_secs)
            )
        });
        Provenance::Learned {
            span: format!(
                "from {} until {}, {} sample{}",
                format_short(l.from),
                format_short(l.until),
                l.samples,
                if l.samples == 1 { "" } else { "s" }
            ),
            couplings,
            fit,
            fit_good: l.fit.is_some_and(|f| f.mase_sim <= f.mase_replay),
            notes: l.notes.clone(),
        }
    }

    /// The one-word tag: `learned`, `written` or `no model`.
    pub fn tag(&self) -> &'static str {
        match self {
            Provenance::Written => "written",
            Provenance::Learned { .. } => "learned",
            Provenance::None => "no model",
        }
    }
}

/// "1 d", "12 h", "90 min".
fn held_out(secs: i64) -> String {
    if secs % crate::model::DAY_SECS == 0 {
        format!("{} d", secs / crate::model::DAY_SECS)
    } else if secs % HOUR_SECS == 0 {
        format!("{} h", secs / HOUR_SECS)
    } else {
        format!("{} min", secs / 60)
    }
}

/// What the Lab's twins header shows.
pub struct TwinsInfo {
    /// Models of the open scenario.
    pub counts: ModelCounts,
    /// The running learn job: why, and its progress.
    pub learning: Option<(LearnReason, f32)>,
    /// The last learn that finished.
    pub last: Option<LastLearn>,
    /// UI time now (seconds), for "2 min ago".
    pub now: f64,
    /// The scenario has history to learn from.
    pub has_history: bool,
    /// The scenario is a live source's (refitted as data arrives).
    pub live: bool,
    /// A learned scenario is being written.
    pub saving: bool,
}

/// The Lab's header line about the twins' models: counts, *Learn twins* (a progress
/// bar and Cancel while learning) and *Save learned scenario…*.
pub fn twins_ui(ui: &mut egui::Ui, info: &TwinsInfo, commands: &mut Commands) {
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Twins").strong());
        ui.label(info.counts.describe()).on_hover_text(
            "Workload models drive the simulation: learned ones come from the history, written ones from the \
             scenario file; a series without one is not simulated.",
        );
        if let Some(last) = &info.last {
            let ago = ((info.now - last.at) / 60.0).floor();
            let when = if ago < 1.0 { "just now".to_string() } else { format!("{ago:.0} min ago") };
            let what = match last.reason {
                LearnReason::LiveRefit => "refitted",
                LearnReason::Missing | LearnReason::User => "learned",
            };
            ui.weak(format!("({what} {when})"));
        }
        match info.learning {
            Some((reason, progress)) => {
                let bar = egui::ProgressBar::new(progress)
                    .text(format!("{} {:.0}%", reason.short(), progress * 100.0))
                    .desired_width(150.0);
                ui.add(bar).on_hover_text(reason.label());
                if ui.button("Cancel").on_hover_text("Stop learning; the twins keep the models they have").clicked() {
                    commands.push(Command::CancelLearning);
                }
            }
            None => {
                let learnable = info.has_history && (info.counts.learned > 0 || info.counts.missing > 0);
                let hover = if !info.has_history {
                    "No history to learn from yet".to_string()
                } else if !learnable {
                    "Every series has a model written in the scenario; those stay as they are".to_string()
                } else if info.live {
                    format!(
                        "Refit the learned models to the history now (a live session refits them every {:.0} min \
                         as data arrives); written models stay",
                        LIVE_REFIT_SECS / 60.0
                    )
                } else {
                    "Refit the learned models to the history (and learn those missing); written models stay".into()
                };
                if ui.add_enabled(learnable, egui::Button::new("Learn twins")).on_hover_text(hover).clicked() {
                    commands.push(Command::LearnTwins);
                }
            }
        }
        if info.learning.is_some() && info.counts.learned == 0 {
            // Nothing to save until the first models are in.
            return;
        }
        let can_save = info.counts.learned > 0 && !info.saving;
        let save = ui.add_enabled(can_save, egui::Button::new("Save learned scenario…")).on_hover_text(if info.live {
            "Write a snapshot of the live twins with their learned models as a scenario file (its history beside it)"
        } else {
            "Write the scenario with its learned models as a scenario file that names the same history"
        });
        if save.clicked() {
            commands.push(Command::PickFile(FilePurpose::SaveLearned));
        }
        if info.saving {
            crate::ui::theme::spinner(ui);
        }
    });
}

/// The file name offered for a learned scenario: `<stem>.learned.ron` beside the
/// source file, `live-learned.ron` for a live source.
pub fn default_save_path(source: &Source) -> PathBuf {
    match source {
        Source::File(p) | Source::Telemetry(p) => {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario");
            let stem = stem.strip_suffix(".learned").unwrap_or(stem);
            p.with_file_name(format!("{stem}.learned.ron"))
        }
        Source::Default => PathBuf::from("webshop.learned.ron"),
        Source::Live(_) => PathBuf::from("live-learned.ron"),
    }
}

/// `path` with `.ron` added when it has no extension; an error for another extension.
pub fn ron_path(path: &Path) -> Result<PathBuf, String> {
    match path.extension().and_then(|e| e.to_str()) {
        None => Ok(path.with_extension("ron")),
        Some(e) if e.eq_ignore_ascii_case("ron") => Ok(path.to_path_buf()),
        Some(_) => Err(format!("a learned scenario is a .ron file, not {}", path.display())),
    }
}

/// Writes the open scenario with its learned models to `out` in the background: a
/// scenario file carrying over the source file's content and naming the same history
/// (`io::learned::write_learned`); a live source is first written as a snapshot
/// (`io::live::snapshot`, its history beside it as `<stem>.telemetry.parquet`), which
/// the learned scenario then names. The job's value is the message for the user.
pub fn spawn_save(
    scenario: Arc<Scenario>,
    source: Source,
    out: PathBuf,
    ctx: &egui::Context,
) -> std::io::Result<Job<String>> {
    use crate::io::learned::{Source as Written, write_learned};
    Job::spawn("learned-write", "Saving the learned scenario", ctx, move |_| {
        let learned = scenario.workloads.values().filter(|m| m.learned.is_some()).count();
        let from_file = |path: PathBuf| -> Result<Written, String> {
            let def = crate::io::scenario::load_def(&path).map_err(|e| format!("{e:#}"))?;
            Ok(Written::Scenario { path, telemetry: def.telemetry })
        };
        let (from, snapshot) = match source {
            Source::Telemetry(path) => (Written::Telemetry(path), false),
            Source::File(path) => (from_file(path)?, false),
            Source::Default => {
                let path = PathBuf::from(crate::io::scenario::DEFAULT_SCENARIO);
                if !path.is_file() {
                    return Err("the default scenario is built into the program: open it from a file \
                                (scenarios/webshop.ron) to save it learned"
                        .into());
                }
                (from_file(path)?, false)
            }
            Source::Live(_) => {
                let summary = crate::io::live::snapshot(&scenario, &out, crate::io::live::TelemetryFormat::Parquet)
                    .map_err(|e| format!("{e:#}"))?;
                (Written::Scenario { path: out.clone(), telemetry: summary.telemetry }, true)
            }
        };
        let written = write_learned(&out, &from, &scenario).map_err(|e| format!("{e:#}"))?;
        let history = written.telemetry.as_ref().map_or_else(
            || "no history file".to_string(),
            |t| format!("history: {}", t.file_name().map_or(t.display().to_string(), |n| n.to_string_lossy().into())),
        );
        Ok(format!(
            "Saved {}{learned} learned model{} to {} ({history})",
            if snapshot { "a snapshot of the live twins and their " } else { "" },
            if learned == 1 { "" } else { "s" },
            written.scenario.display()
        ))
    })
}

/// The typed-path window for *Save learned scenario…* (when no file picker is
/// available). Returns the path when the user confirms.
pub fn save_dialog_ui(ctx: &egui::Context, path: &mut Option<String>) -> Option<PathBuf> {
    crate::ui::files::save_path_window(
        ctx,
        "Save learned scenario",
        "A scenario file (.ron) with the learned models; it names the same history.",
        "Learned scenario file",
        "Save",
        path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Fidelity, LearnedInfo};

    fn model() -> WorkloadModel {
        WorkloadModel::flat(10.0)
    }

    #[test]
    fn provenance_says_where_a_model_came_from() {
        assert_eq!(Provenance::of(None).tag(), "no model");
        assert_eq!(Provenance::of(Some(&model())), Provenance::Written);
        let mut m = model();
        m.follows_traffic = 0.72;
        m.queueing_share = 1.0;
        m.learned = Some(LearnedInfo {
            from: 1_767_225_600,
            until: 1_767_484_500,
            samples: 864,
            notes: vec!["daily season: 3 cycles".into()],
            fit: Some(Fidelity { holdout_secs: 86_400, mase_sim: 0.64, mase_replay: 1.21, coverage80: 0.78 }),
        });
        let Provenance::Learned { span, couplings, fit, fit_good, notes } = Provenance::of(Some(&m)) else {
            panic!("learned");
        };
        assert_eq!(span, "from 2026-01-01 00:00 until 2026-01-03 23:55, 864 samples");
        assert_eq!(couplings, ["follows traffic 72%"]);
        assert_eq!(fit.as_deref(), Some("MASE 0.64 vs replay 1.21, coverage 0.78 (1 d held out)"));
        assert!(fit_good);
        assert_eq!(notes, ["daily season: 3 cycles"]);
    }

    /// A live scenario holding `hours` of one series at 60 s.
    fn live(hours: i64, metrics: &[&str]) -> Arc<Scenario> {
        let mut s = Scenario { resolution_secs: 60, start: 0, end: hours * 3600, ..Scenario::default() };
        for m in metrics {
            let ts: Vec<i64> = (0..hours * 60).map(|i| i * 60).collect();
            let values: Vec<f64> = ts.iter().map(|t| 50.0 + (*t % 7) as f64).collect();
            s.telemetry.append_many(&crate::model::SeriesKey::new("host", *m), &ts, &values).unwrap();
        }
        Arc::new(s)
    }

    fn finish(learning: &mut Learning, scenario: &mut Arc<Scenario>, now: f64) -> Finished {
        for _ in 0..2000 {
            if let Some(done) = learning.poll(Some(scenario), now) {
                return done;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("learning did not finish");
    }

    #[test]
    fn a_live_session_learns_new_series_at_once_and_refits_every_few_minutes() {
        let ctx = egui::Context::default();
        let mut learning = Learning::default();
        let mut s = live(3, &["cpu_usage"]);
        assert_eq!(learning.live_due(&s, 0.0), None, "no samples reported yet");
        learning.samples_arrived();
        assert_eq!(learning.live_due(&s, 0.0), Some(LearnReason::Missing));
        learning.start(&s, LearnReason::Missing, false, 0.0, &ctx).unwrap();
        learning.samples_arrived();
        assert_eq!(learning.live_due(&s, 1.0), None, "one job at a time");
        let done = finish(&mut learning, &mut s, 2.0);
        assert!(done.same_input && done.result.as_ref().is_ok_and(|o| o.applied.is_none()));
        done.result.unwrap().learned.apply(Arc::make_mut(&mut s));
        assert_eq!(ModelCounts::of(&s), ModelCounts { learned: 1, written: 0, missing: 0 });
        // More samples: nothing until the refit is due, then a refit of the learned model.
        learning.samples_arrived();
        assert_eq!(learning.live_due(&s, 60.0), None);
        assert_eq!(learning.live_due(&s, LIVE_REFIT_SECS - 1.0), None);
        assert_eq!(learning.live_due(&s, LIVE_REFIT_SECS), Some(LearnReason::LiveRefit));
        // A new series is learned without waiting for the refit (10 s after a learn).
        let mut grown = live(3, &["cpu_usage", "memory_usage"]);
        Arc::make_mut(&mut grown).workloads = s.workloads.clone();
        learning.start(&grown, LearnReason::LiveRefit, false, 200.0, &ctx).unwrap();
        finish(&mut learning, &mut grown, 201.0);
        let mut more = live(3, &["cpu_usage", "memory_usage", "disk_usage"]);
        Arc::make_mut(&mut more).workloads = s.workloads.clone();
        learning.samples_arrived();
        assert_eq!(learning.live_due(&more, 205.0), None, "not within 10 s of the last learn");
        assert_eq!(learning.live_due(&more, 210.0), Some(LearnReason::Missing));
        // Nothing new arrived: nothing is due until the refit.
        let mut idle = Learning::default();
        assert_eq!(idle.live_due(&more, 1000.0), None);
    }

    #[test]
    fn counts_leave_out_zeros() {
        assert_eq!(ModelCounts { learned: 6, written: 0, missing: 1 }.describe(), "6 learned · 1 without a model");
        assert_eq!(ModelCounts::default().describe(), "no workload models");
    }

    #[test]
    fn learned_scenarios_are_ron_files() {
        assert_eq!(ron_path(Path::new("/tmp/x")), Ok(PathBuf::from("/tmp/x.ron")));
        assert_eq!(ron_path(Path::new("a.RON")), Ok(PathBuf::from("a.RON")));
        assert!(ron_path(Path::new("a.csv")).is_err());
        let from_csv = default_save_path(&Source::Telemetry(PathBuf::from("/data/estate.csv")));
        assert_eq!(from_csv, PathBuf::from("/data/estate.learned.ron"));
        let again = default_save_path(&Source::File(PathBuf::from("/data/estate.learned.ron")));
        assert_eq!(again, PathBuf::from("/data/estate.learned.ron"));
    }
}
