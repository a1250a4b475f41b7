//! The background analyses of the open scenario: the anomaly scan, the policies'
//! violation history (backtest), the predictions and the selected twin's forecasts. Each
//! is a [`Job`]; one poll collects whatever finished, and the app folds it into the
//! scenario's derived state (`app/logic.rs`).

use std::sync::{Arc, Mutex};

use eframe::egui;

use super::jobs::{
    ForecastDone, Job, TwinForecasts, spawn_anomaly_scan, spawn_predictions, spawn_twin_forecasts, spawn_violations,
};
use crate::analytics::predict::Predictions;
use crate::analytics::scan::{AnomalyScans, SeriesAnomalies};
use crate::model::{SeriesKey, TwinId};
use crate::policy::Policy;
use crate::policy::spans::ViolationHistory;
use crate::scenario::Scenario;

/// A finished analysis: its result, or why it failed.
pub enum Finished {
    /// The anomaly scan of every series.
    Anomalies(Result<AnomalyScans, String>),
    /// Scans of some series, streamed while the scan runs.
    AnomaliesSoFar(Vec<(SeriesKey, SeriesAnomalies)>),
    /// The policies evaluated over the history.
    Violations(Result<ViolationHistory, String>),
    /// Predicted violations and the forecasts behind them.
    Predictions(Result<Predictions, String>),
    /// Series forecast so far with their predicted violations, streamed while
    /// forecasting runs.
    PredictionsSoFar(Vec<ForecastDone>),
    /// Forecasts of the selected twin's other series.
    TwinForecasts(Result<TwinForecasts, String>),
}

/// The analyses running on the open scenario (at most one of each kind).
#[derive(Default)]
pub struct Analyses {
    scan: Option<Job<AnomalyScans>>,
    /// Twins the running scan should do first (most wanted first).
    scan_wanted: Arc<Mutex<Vec<TwinId>>>,
    /// Series scans done since the last poll.
    scan_streamed: Arc<Mutex<Vec<(SeriesKey, SeriesAnomalies)>>>,
    backtest: Option<Job<ViolationHistory>>,
    predictions: Option<Job<Predictions>>,
    /// Twins forecasting should do first (most wanted first).
    predict_wanted: Arc<Mutex<Vec<TwinId>>>,
    /// Series forecast since the last poll, with their predicted violations.
    predict_streamed: Arc<Mutex<Vec<ForecastDone>>>,
    /// Predictions are wanted once the running backtest has the violation history.
    predict_after_backtest: bool,
    twin: Option<(TwinId, Job<TwinForecasts>)>,
}

/// The result of a finished job in `slot`, emptying the slot.
fn take_finished<T: Send + 'static>(slot: &mut Option<Job<T>>) -> Option<Result<T, String>> {
    let result = slot.as_ref()?.poll()?;
    *slot = None;
    Some(result)
}

impl Analyses {
    /// Stops everything (a new scenario was opened).
    pub fn clear(&mut self) {
        *self = Analyses::default();
    }

    /// Scans every series for anomalies.
    pub fn start_scan(&mut self, scenario: &Arc<Scenario>, ctx: &egui::Context) -> Result<(), String> {
        self.scan = None;
        // A fresh stream: what a cancelled scan left behind belongs to the old scenario.
        self.scan_streamed = Arc::default();
        let job = spawn_anomaly_scan(
            Arc::clone(scenario),
            Arc::clone(&self.scan_wanted),
            Arc::clone(&self.scan_streamed),
            ctx,
        )
        .map_err(|e| format!("Cannot start the anomaly scan: {e}"))?;
        self.scan = Some(job);
        Ok(())
    }

    /// Whether the anomaly scan or forecasting is running.
    pub fn is_streaming(&self) -> bool {
        self.scan.is_some() || self.predictions.is_some()
    }

    /// Tells the running scan and forecasting which twins to do first, most wanted
    /// first.
    pub fn want_first(&self, twins: &[TwinId]) {
        for list in [&self.scan_wanted, &self.predict_wanted] {
            if let Ok(mut wanted) = list.lock() {
                *wanted = twins.to_vec();
            }
        }
    }

    /// Evaluates `policies` over the history.
    pub fn start_backtest(
        &mut self,
        scenario: &Arc<Scenario>,
        policies: &Arc<Vec<Policy>>,
        ctx: &egui::Context,
    ) -> Result<(), String> {
        let job = spawn_violations(Arc::clone(scenario), Arc::clone(policies), ctx)
            .map_err(|e| format!("Cannot evaluate the policies: {e}"))?;
        self.backtest = Some(job);
        Ok(())
    }

    /// Forecasts the policies' series and predicts violations — once the running
    /// backtest, if any, has the violation history (then [`Self::take_deferred_predictions`]
    /// says so and the app starts them again when it finishes).
    pub fn start_predictions(
        &mut self,
        scenario: &Arc<Scenario>,
        policies: &Arc<Vec<Policy>>,
        violations: &Arc<ViolationHistory>,
        ctx: &egui::Context,
    ) -> Result<(), String> {
        self.predictions = None;
        if self.backtest.is_some() {
            self.predict_after_backtest = true;
            return Ok(());
        }
        self.predict_streamed = Arc::default();
        let job = spawn_predictions(
            Arc::clone(scenario),
            Arc::clone(policies),
            Arc::clone(violations),
            Arc::clone(&self.predict_wanted),
            Arc::clone(&self.predict_streamed),
            ctx,
        )
        .map_err(|e| format!("Cannot start forecasting: {e}"))?;
        self.predictions = Some(job);
        Ok(())
    }

    /// True (once) when predictions waited for the backtest that just finished.
    pub fn take_deferred_predictions(&mut self) -> bool {
        self.backtest.is_none() && std::mem::take(&mut self.predict_after_backtest)
    }

    /// Forecasts `keys` of twin `id` (unless that twin's are already being forecast).
    pub fn start_twin_forecasts(
        &mut self,
        scenario: &Arc<Scenario>,
        id: &TwinId,
        keys: Vec<SeriesKey>,
        ctx: &egui::Context,
    ) -> Result<(), String> {
        let job = spawn_twin_forecasts(Arc::clone(scenario), keys, ctx)
            .map_err(|e| format!("Cannot start forecasting: {e}"))?;
        self.twin = Some((id.clone(), job));
        Ok(())
    }

    /// The twin whose forecasts are being made, if any.
    pub fn forecasting_twin(&self) -> Option<&TwinId> {
        self.twin.as_ref().map(|(id, _)| id)
    }

    /// What finished since the last poll.
    pub fn poll(&mut self) -> Vec<Finished> {
        let mut done = Vec::new();
        let streamed = self.scan_streamed.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default();
        if !streamed.is_empty() {
            done.push(Finished::AnomaliesSoFar(streamed));
        }
        let predicted = self.predict_streamed.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default();
        if !predicted.is_empty() {
            done.push(Finished::PredictionsSoFar(predicted));
        }
        done.extend(take_finished(&mut self.scan).map(Finished::Anomalies));
        done.extend(take_finished(&mut self.backtest).map(Finished::Violations));
        done.extend(take_finished(&mut self.predictions).map(Finished::Predictions));
        if let Some((_, job)) = &self.twin
            && let Some(result) = job.poll()
        {
            self.twin = None;
            done.push(Finished::TwinForecasts(result));
        }
        done
    }

    /// True while policies are being evaluated over history.
    pub fn is_evaluating(&self) -> bool {
        self.backtest.is_some()
    }

    /// True while predictions are being made or wait for the backtest.
    pub fn is_predicting(&self) -> bool {
        self.predictions.is_some() || self.predict_after_backtest
    }

    /// True when none of the scenario-wide analyses runs.
    pub fn is_idle(&self) -> bool {
        self.scan.is_none() && self.backtest.is_none() && self.predictions.is_none()
    }

    /// The status-bar entries of the running analyses.
    pub fn status_ui(&self, ui: &mut egui::Ui) {
        for (job, progress) in [
            (self.scan.as_ref().map(|j| (&j.label, j.progress())), true),
            (self.predictions.as_ref().map(|j| (&j.label, j.progress())), true),
            (self.backtest.as_ref().map(|j| (&j.label, j.progress())), false),
        ] {
            let Some((label, fraction)) = job else {
                continue;
            };
            ui.separator();
            crate::ui::theme::spinner(ui);
            ui.label(label);
            if progress {
                ui.add(egui::ProgressBar::new(fraction).desired_width(120.0).show_percentage());
            }
        }
    }
}
