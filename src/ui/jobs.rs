//! Background jobs: loading a scenario (parse, then generate or read history) on a
//! named thread. Results come back through a channel that `logic()` drains; the UI
//! thread never waits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::sync::{Arc, Mutex};

use eframe::egui;

use crate::analytics::predict::{
    PredictConfig, PredictedViolation, Predictions, SeriesForecast, forecast_series, predict_prioritised,
};
use crate::io::scenario::{self, ScenarioDef};
use crate::policy::spans::{ViolationHistory, violation_history};
use crate::scenario::Scenario;

/// Where a scenario comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// The default scenario (file in the working directory, else the bundled copy).
    Default,
    /// A scenario file.
    File(PathBuf),
    /// A telemetry file, or a log mapping read with the logs it names, opened as an
    /// ad-hoc scenario.
    Telemetry(PathBuf),
    /// A live source (File → Connect…), by name; it is not loaded from a file.
    Live(String),
}

impl Source {
    /// A file path becomes a scenario or telemetry source by its extension (a `.yaml`
    /// is a log mapping: `io::logs`).
    pub fn from_path(path: PathBuf) -> Source {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv" | "parquet" | "pq" | "yaml" | "yml") => Source::Telemetry(path),
            _ => Source::File(path),
        }
    }

    /// How to name the source in messages.
    pub fn label(&self) -> String {
        match self {
            Source::Default => "the default scenario".into(),
            Source::File(p) | Source::Telemetry(p) => p.display().to_string(),
            Source::Live(name) => name.clone(),
        }
    }
}

/// A scenario with everything derived from its history.
pub struct Loaded {
    /// The scenario.
    pub scenario: Scenario,
    /// When each twin violated which rule.
    pub violations: ViolationHistory,
}

/// What a load job reports.
pub enum LoadEvent {
    /// The scenario parsed; history is being generated. Show the graph.
    Defined(Box<Scenario>),
    /// Everything is ready.
    Loaded(Box<Loaded>),
    /// The load failed; the message is for the user.
    Failed(String),
}

/// A running load.
pub struct LoadJob {
    /// What is being loaded.
    pub source: Source,
    rx: Receiver<LoadEvent>,
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
}

impl LoadJob {
    /// Starts loading on a background thread; `ctx` is asked to repaint as news arrives.
    pub fn spawn(source: Source, ctx: &egui::Context) -> std::io::Result<LoadJob> {
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        let total = Arc::new(AtomicUsize::new(0));
        let job = LoadJob {
            source: source.clone(),
            rx,
            cancel: Arc::clone(&cancel),
            done: Arc::clone(&done),
            total: Arc::clone(&total),
        };
        let ctx = ctx.clone();
        std::thread::Builder::new().name("scenario-load".into()).spawn(move || {
            let event = match load(&source, &tx, &ctx, &cancel, &done, &total) {
                Ok(loaded) => LoadEvent::Loaded(Box::new(loaded)),
                Err(message) => LoadEvent::Failed(message),
            };
            // The receiver is gone only when the app dropped the job; nothing to do then.
            let _ = tx.send(event);
            ctx.request_repaint();
        })?;
        Ok(job)
    }

    /// The next event, if one arrived.
    pub fn poll(&self) -> Option<LoadEvent> {
        match self.rx.try_recv() {
            Ok(event) => Some(event),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                Some(LoadEvent::Failed("the loading thread stopped unexpectedly".into()))
            }
        }
    }

    /// Progress of history generation in [0, 1].
    pub fn progress(&self) -> f32 {
        let total = self.total.load(Ordering::Relaxed);
        if total == 0 { 0.0 } else { self.done.load(Ordering::Relaxed) as f32 / total as f32 }
    }

    /// Asks the job to stop.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl Drop for LoadJob {
    fn drop(&mut self) {
        self.cancel();
    }
}

fn load(
    source: &Source,
    tx: &std::sync::mpsc::Sender<LoadEvent>,
    ctx: &egui::Context,
    cancel: &AtomicBool,
    done: &AtomicUsize,
    total: &AtomicUsize,
) -> Result<Loaded, String> {
    let scenario = match source {
        Source::Live(name) => return Err(format!("{name} is a live source; connect again with File → Connect…")),
        Source::Telemetry(path) => scenario::from_telemetry(path).map_err(|e| format!("{e:#}"))?,
        Source::Default | Source::File(_) => {
            let def: ScenarioDef = match source {
                Source::File(path) => scenario::load_def(path),
                _ => scenario::default_def(),
            }
            .map_err(|e| format!("{e:#}"))?;
            // Ignored send error: the app dropped the job and will not look.
            let _ = tx.send(LoadEvent::Defined(Box::new(def.scenario.clone())));
            ctx.request_repaint();
            let progress = |d: usize, t: usize| {
                done.store(d, Ordering::Relaxed);
                total.store(t, Ordering::Relaxed);
                ctx.request_repaint_after(PROGRESS_REPAINT);
            };
            scenario::fill_history(def, &progress, cancel).map_err(|e| format!("{e:#}"))?
        }
    };
    let violations =
        violation_history(&scenario.policies, &scenario.graph, &scenario.telemetry, scenario.resolution_secs)
            .map_err(|e| format!("{e:#}"))?;
    Ok(Loaded { scenario, violations })
}

/// How soon progress is redrawn: repaints are coalesced, so progress from many series
/// a second costs about ten frames a second, not one per series.
const PROGRESS_REPAINT: std::time::Duration = std::time::Duration::from_millis(100);

/// Progress reporting handed to a background job.
pub struct Progress {
    done: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
    cancel: Arc<AtomicBool>,
    ctx: egui::Context,
}

impl Progress {
    /// Reports `done` of `total` steps (the progress bar is redrawn within a tenth of a
    /// second; the finished job repaints at once).
    pub fn report(&self, done: usize, total: usize) {
        self.done.store(done, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.ctx.request_repaint_after(PROGRESS_REPAINT);
    }

    /// The cancel flag the job should watch.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }
}

/// A background computation on a named thread with progress, cancel-on-drop and a
/// result channel the UI polls.
pub struct Job<T> {
    /// What the job does, for the status bar.
    pub label: String,
    rx: Receiver<Result<T, String>>,
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
}

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on a thread named `name`.
    pub fn spawn(
        name: &str,
        label: impl Into<String>,
        ctx: &egui::Context,
        work: impl FnOnce(&Progress) -> Result<T, String> + Send + 'static,
    ) -> std::io::Result<Job<T>> {
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        let total = Arc::new(AtomicUsize::new(0));
        let progress = Progress {
            done: Arc::clone(&done),
            total: Arc::clone(&total),
            cancel: Arc::clone(&cancel),
            ctx: ctx.clone(),
        };
        std::thread::Builder::new().name(name.into()).spawn(move || {
            let result = work(&progress);
            // The app may have dropped the job; nobody listens then.
            let _ = tx.send(result);
            progress.ctx.request_repaint();
        })?;
        Ok(Job { label: label.into(), rx, cancel, done, total })
    }

    /// The result, once it arrived.
    pub fn poll(&self) -> Option<Result<T, String>> {
        match self.rx.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(format!("{} stopped unexpectedly", self.label))),
        }
    }

    /// Progress in [0, 1].
    pub fn progress(&self) -> f32 {
        let total = self.total.load(Ordering::Relaxed);
        if total == 0 { 0.0 } else { self.done.load(Ordering::Relaxed) as f32 / total as f32 }
    }
}

impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

use crate::analytics::scan::{AnomalyScans, SeriesAnomalies};
use crate::model::{SeriesKey, TwinId};

/// Scans every series of `scenario` for anomalies in the background, the series of the
/// twins in `wanted` first (the app keeps it up to date while the scan runs), pushing
/// each series' scan to `streamed` as it is done.
pub fn spawn_anomaly_scan(
    scenario: Arc<Scenario>,
    wanted: Arc<Mutex<Vec<TwinId>>>,
    streamed: Arc<Mutex<Vec<(SeriesKey, SeriesAnomalies)>>>,
    ctx: &egui::Context,
) -> std::io::Result<Job<AnomalyScans>> {
    Job::spawn("anomaly-scan", "Scanning for anomalies", ctx, move |p| {
        let sink = |key: &SeriesKey, scan: &SeriesAnomalies| {
            if let Ok(mut out) = streamed.lock() {
                out.push((key.clone(), scan.clone()));
            }
        };
        crate::analytics::scan::scan_prioritised(&scenario, &wanted, &sink, &|d, t| p.report(d, t), p.cancel_flag())
            .map_err(|e| format!("{e:#}"))
    })
}

/// Evaluates `policies` over the whole history of `scenario` in the background.
pub fn spawn_violations(
    scenario: Arc<Scenario>,
    policies: Arc<Vec<crate::policy::Policy>>,
    ctx: &egui::Context,
) -> std::io::Result<Job<ViolationHistory>> {
    Job::spawn("rule-backtest", "Evaluating policies over history", ctx, move |_| {
        violation_history(&policies, &scenario.graph, &scenario.telemetry, scenario.resolution_secs)
            .map_err(|e| format!("{e:#}"))
    })
}

/// How far ahead the workbench predicts violations.
pub const PREDICT_HORIZON_SECS: i64 = 7 * 86_400;

/// A series whose forecast is done, with the violations predicted on it.
pub type ForecastDone = (crate::model::SeriesKey, Vec<PredictedViolation>);

/// Forecasts every series a threshold rule of `policies` applies to and evaluates the
/// rules on the forecasts (from the end of history), in the background. `history` is
/// the policies' violation history (the backtest's result), for what is violated now.
/// The series of the twins in `wanted` go first; each series, with its predicted
/// violations, is pushed to `streamed` as soon as its forecast is done.
pub fn spawn_predictions(
    scenario: Arc<Scenario>,
    policies: Arc<Vec<crate::policy::Policy>>,
    history: Arc<ViolationHistory>,
    wanted: Arc<Mutex<Vec<TwinId>>>,
    streamed: Arc<Mutex<Vec<ForecastDone>>>,
    ctx: &egui::Context,
) -> std::io::Result<Job<Predictions>> {
    Job::spawn("forecast", "Forecasting", ctx, move |p| {
        let current = crate::analytics::compliance::current_violations(&scenario, &policies, &history);
        let config = PredictConfig::new(PREDICT_HORIZON_SECS);
        let sink = |key: &crate::model::SeriesKey, found: Vec<PredictedViolation>| {
            if let Ok(mut out) = streamed.lock() {
                out.push((key.clone(), found));
            }
        };
        predict_prioritised(
            &scenario,
            &policies,
            &current,
            &config,
            &wanted,
            &sink,
            &|d, t| p.report(d, t),
            p.cancel_flag(),
        )
        .ok_or_else(|| "forecasting cancelled".to_string())
    })
}

/// Forecasts of one twin's series.
pub type TwinForecasts = Vec<(crate::model::SeriesKey, Result<SeriesForecast, String>)>;

/// Forecasts the given series (of the selected twin) in the background.
pub fn spawn_twin_forecasts(
    scenario: Arc<Scenario>,
    keys: Vec<crate::model::SeriesKey>,
    ctx: &egui::Context,
) -> std::io::Result<Job<TwinForecasts>> {
    Job::spawn("twin-forecast", "Forecasting the twin's metrics", ctx, move |p| {
        let config = PredictConfig::new(PREDICT_HORIZON_SECS);
        let total = keys.len();
        let mut out = Vec::with_capacity(total);
        for (i, key) in keys.into_iter().enumerate() {
            if p.cancel_flag().load(Ordering::Relaxed) {
                return Err("forecasting cancelled".into());
            }
            match forecast_series(&scenario, &key, &config) {
                Ok(Some(f)) => out.push((key, Ok(f))),
                Ok(None) => {}
                Err(e) => out.push((key, Err(e.to_string()))),
            }
            p.report(i + 1, total);
        }
        Ok(out)
    })
}
