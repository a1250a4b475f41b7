//! Per-series forecasting with trend, daily/weekly seasonality and calibrated 80% and
//! 95% prediction intervals, the model chosen automatically per series.
//!
//! How a forecast is made:
//! 1. [`series::regularize`]: the sampling interval is the median positive difference
//!    of the timestamps; rows are sorted, samples of one grid slot merged (mean), gaps of
//!    up to [`ForecastConfig::max_gap_steps`] slots filled linearly, longer gaps refused.
//! 2. Seasons are earned, not assumed ([`Seasonality`]): the daily (`86400 / step`
//!    samples, when the step divides a day) and weekly periods are tested on the last
//!    [`ForecastConfig::max_history`] samples by [`season::evidence`] — at least three
//!    full cycles, odd and even cycles showing the same phase profile, a profile of
//!    some strength. Then the candidates ([`ModelKind`]) are fitted on those samples:
//!    ETS(A,N,N) and ETS(A,Ad,N) always; with an earned daily season seasonal naive
//!    (daily; else the naive forecast), ETS(A,N,A) and ETS(A,Ad,A) with a daily season;
//!    an MSTL-style model with a profile for each earned period; and the equal-weight
//!    mean of the ETS/MSTL models. A seasonal model also needs two full seasons of
//!    history. The verdicts travel with the result ([`Forecast::seasons`]) so a reader
//!    sees why a season was or was not used.
//! 3. Each candidate replays its forecasts from up to 200 in-sample origins up to the
//!    horizon (on a sparse grid of steps), or up to the longest step whose origins span
//!    four windows of that many steps (`Origins::longest_trusted_step`: with two weeks
//!    of history and a one-week horizon, 2.6 days; longer steps are reached only by
//!    origins that straddle the same few events). The point forecast is the model's
//!    forecast plus the median replayed error of its step (beyond the replayed steps:
//!    held, or continued along a slope both halves of the origins agree on — see
//!    `intervals`); the candidate whose corrected forecasts have the lowest mean
//!    absolute error wins (ties: the earlier, simpler candidate). The winner's errors
//!    give the prediction intervals as empirical quantiles per step, pooled over
//!    neighbouring steps and never narrowing with the horizon.
//!
//! Why both gates: with two weeks of history and a level shift in the second, an
//! unearned weekly profile is the shift, and the median errors of origins that can
//! reach five days ahead all straddle the shift; either alone made the one-week
//! forecast of the NAB series `rds_cpu_utilization_cc0c53` jump from the new level to
//! about 23% three and a half days ahead.
//!
//! [`backtest`] refits at rolling origins (the last `origins` non-overlapping windows of
//! one horizon each) and reports MASE, interval coverage and per-model MASE. MASE is
//! scaled by the in-sample MAE of the seasonal naive forecast (daily period) of the
//! training part, or of the naive (lag-1) forecast when the training part holds less
//! than one day plus one sample.
//!
//! Live data: [`Forecaster::update`] absorbs one sample in O(1) (one filter step of the
//! chosen model; gaps filled as above); every [`ForecastConfig::refit_every`] samples
//! (default: one day's worth) it re-fits fully — model choice, parameters, intervals.
//!
//! Everything here is deterministic: no clock, no randomness, no hash maps; the same
//! input gives bit-identical output.

mod intervals;
mod models;
mod optim;
pub mod series;

use intervals::{IntervalOffsets, corrected_mae};
pub use models::ModelKind;
use models::{Model, Origins, StepErrors};
pub use series::{RegularSeries, Repairs, infer_step_secs, regularize};

use super::season::{self, SeasonEvidence};

/// Fewest samples (after regularising) a forecast needs.
pub const MIN_SAMPLES: usize = 16;
/// Longest horizon accepted, in steps.
pub const MAX_HORIZON: usize = 1_000_000;
/// In-sample errors are replayed up to this many steps; interval widths beyond it grow
/// with √h. Keeps fitting cost bounded for very long horizons.
const MAX_REPLAY_STEPS: usize = 2_016;

/// Why a forecast could not be made. Indices refer to the caller's slices (for
/// [`Forecaster::update`], to the position the sample would have in the history).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ForecastError {
    /// No samples at all.
    #[error("the series has no samples")]
    Empty,
    /// The timestamp and value slices differ in length.
    #[error("{timestamps} timestamps but {values} values")]
    LengthMismatch {
        /// Number of timestamps.
        timestamps: usize,
        /// Number of values.
        values: usize,
    },
    /// A value is NaN or infinite.
    #[error("sample {index}: value {value} is not a finite number")]
    NonFinite {
        /// Index of the sample.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Too few distinct samples to infer an interval and fit a model.
    #[error("the series has {samples} distinct sample(s); a forecast needs at least {min}")]
    TooShort {
        /// Samples available (after merging duplicates).
        samples: usize,
        /// Samples needed.
        min: usize,
    },
    /// A gap longer than `max_gap_steps` missing samples.
    #[error(
        "sample {index}: a gap of {missing_steps} missing samples (interval {step_secs} s) before it; at most {max_gap_steps} are filled"
    )]
    Gap {
        /// Index of the first sample after the gap.
        index: usize,
        /// Missing grid slots.
        missing_steps: u64,
        /// The inferred interval in seconds.
        step_secs: i64,
        /// The configured limit.
        max_gap_steps: usize,
    },
    /// A live sample that is not later than the last one (by at least half an interval).
    #[error("sample at {ts} is not after the last sample at {last}")]
    NotAfterLast {
        /// The sample's Unix seconds.
        ts: i64,
        /// Unix seconds of the last sample.
        last: i64,
    },
    /// The horizon is 0 or above [`MAX_HORIZON`].
    #[error("the horizon must be 1..={max} steps, not {horizon}")]
    InvalidHorizon {
        /// The horizon asked for.
        horizon: usize,
        /// The limit.
        max: usize,
    },
    /// A configuration value is out of range.
    #[error("invalid forecast configuration: {0}")]
    InvalidConfig(String),
    /// The models' arithmetic overflowed (values near the limits of f64), so the
    /// forecast would not be finite.
    #[error("the forecast is not finite: the values are too large for the models' arithmetic")]
    NotFinite,
    /// The grid or the forecast's timestamps would not fit in i64 seconds.
    #[error("timestamps out of range: the series' grid or the forecast times do not fit in 64-bit seconds")]
    TimeOverflow,
}

/// Settings of a forecast. [`ForecastConfig::new`] gives the documented defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastConfig {
    /// Steps to forecast (1..=[`MAX_HORIZON`]).
    pub horizon: usize,
    /// Longest gap, in missing samples, filled by linear interpolation (default 12).
    pub max_gap_steps: usize,
    /// Rolling origins of the backtest that gives [`Forecast::mase`] (default 3; 0
    /// skips it).
    pub backtest_origins: usize,
    /// Samples absorbed by [`Forecaster::update`] between full re-fits (default: one
    /// day of samples, or 288 when the interval does not divide a day).
    pub refit_every: Option<usize>,
    /// Models are fitted on at most this many latest samples (default 50,000).
    pub max_history: usize,
    /// Seasonal candidates only for the periods the history has earned (see
    /// [`Seasonality`]; default true). False offers every period the history holds two
    /// cycles of, as before the evidence test — for measuring what the test costs.
    pub require_season_evidence: bool,
}

impl ForecastConfig {
    /// Defaults for a horizon.
    pub fn new(horizon: usize) -> Self {
        Self {
            horizon,
            max_gap_steps: 12,
            backtest_origins: 3,
            refit_every: None,
            max_history: 50_000,
            require_season_evidence: true,
        }
    }

    fn validate(&self) -> Result<(), ForecastError> {
        check_horizon(self.horizon)?;
        if self.max_history < MIN_SAMPLES {
            return Err(ForecastError::InvalidConfig(format!("max_history must be at least {MIN_SAMPLES}")));
        }
        if self.refit_every == Some(0) {
            return Err(ForecastError::InvalidConfig("refit_every must be at least 1".into()));
        }
        Ok(())
    }
}

fn check_horizon(horizon: usize) -> Result<(), ForecastError> {
    if horizon == 0 || horizon > MAX_HORIZON {
        return Err(ForecastError::InvalidHorizon { horizon, max: MAX_HORIZON });
    }
    Ok(())
}

/// A forecast: one row per step after the last sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Forecast {
    /// Unix seconds of the first forecast row.
    pub start: i64,
    /// Seconds between rows (the series' inferred interval).
    pub step_secs: i64,
    /// Point forecast.
    pub mean: Vec<f64>,
    /// Lower bound of the 80% prediction interval.
    pub lower_80: Vec<f64>,
    /// Upper bound of the 80% prediction interval.
    pub upper_80: Vec<f64>,
    /// Lower bound of the 95% prediction interval.
    pub lower_95: Vec<f64>,
    /// Upper bound of the 95% prediction interval.
    pub upper_95: Vec<f64>,
    /// Human name of the chosen model, e.g. `ETS(A,Ad,A) daily`.
    pub model: String,
    /// MASE of the rolling-origin backtest, when one was run and defined.
    pub mase: Option<f64>,
    /// Which seasons the fitted history earned, and why (see [`Seasonality`]).
    pub seasons: Seasonality,
}

impl Forecast {
    /// Unix seconds of row `i`.
    pub fn timestamp(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step_secs
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    /// True without rows (never for a forecast made by this module).
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }
}

/// How one candidate did in model selection.
#[derive(Clone, Debug, PartialEq)]
pub struct CandidateScore {
    /// The candidate's name.
    pub name: String,
    /// Mean absolute in-sample multi-step error.
    pub mae: f64,
}

/// One fitted candidate.
struct Fitted {
    kind: ModelKind,
    model: Model,
    errors: StepErrors,
}

/// Seasonal periods (in samples) for an interval: daily when the interval divides a
/// day into at least two samples, weekly with it. These are the periods a season may
/// have; whether a series carries one is [`Seasonality`]'s verdict.
fn periods(step_secs: i64) -> (Option<usize>, Option<usize>) {
    if step_secs > 0 && step_secs <= 43_200 && 86_400 % step_secs == 0 {
        let daily = (86_400 / step_secs) as usize;
        (Some(daily), Some(daily * 7))
    } else {
        (None, None)
    }
}

/// Samples in a day at an interval (at least 1), whether or not the interval divides it.
fn day_steps(step_secs: i64) -> usize {
    usize::try_from(86_400 / step_secs.max(1)).unwrap_or(1).max(1)
}

use season::{DAILY_BINS, WEEKLY_BINS, strongest};

/// Which seasonal periods a series has *earned*. A candidate model carries a daily or
/// weekly season only when [`season::evidence`] finds it in the fitted history: at
/// least [`season::MIN_CYCLES`] full cycles (so a weekly season needs three weeks), the
/// phase profiles of the odd and the even cycles agree (split-half r ≥
/// [`season::MIN_SPLIT_HALF_R`]) and the profile explains at least
/// [`season::MIN_STRENGTH`] of the variance of the cycles' bin means. A level shift, a
/// trend or a one-off incident is in one cycle, not in every other one, and does not
/// pass; a pattern seen in every cycle does.
///
/// Why: a seasonal model fitted without that evidence turns whatever happened once
/// into a pattern. With two weeks of history and a level shift in the second, a weekly
/// profile is the shift, and the forecast repeats it as a jump a week later.
///
/// The daily season is tested at three resolutions and earned when any passes. Hourly
/// bins find a weak, smooth daily swing (a dozen samples per bin average the noise
/// away); 15- and 5-minute bins find a sharp recurring feature — a nightly job of ten
/// minutes — that an hour-wide bin dilutes below the noise (on the NAB series
/// `ec2_cpu_utilization_5f5533` only the 15-minute bins see its daily pattern). Under
/// independent noise r has mean 0 and a standard deviation of about 1/√(bins − 3)
/// (0.2 at 24 bins, 0.1 at 96, 0.06 at 288), so each extra resolution adds little to
/// the chance of a false season (tested on noise in `season`'s tests).
///
/// Seasonal naive is also a seasonal candidate and needs the daily season like the
/// others; it stays the MASE scale and the backtest baseline regardless.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Seasonality {
    /// The daily period's evidence (the resolution that passed, else the one with the
    /// highest split-half r); `None` when the interval does not divide a day.
    pub daily: Option<SeasonEvidence>,
    /// The weekly period's evidence, likewise.
    pub weekly: Option<SeasonEvidence>,
}

impl Seasonality {
    /// Tests the daily and weekly periods of an interval on a regular series.
    pub fn of(y: &[f64], step_secs: i64) -> Seasonality {
        let (daily, weekly) = periods(step_secs);
        Seasonality {
            daily: daily.map(|p| strongest(y, p, &DAILY_BINS)),
            weekly: weekly.map(|p| strongest(y, p, &WEEKLY_BINS)),
        }
    }

    /// The daily period in samples, when earned.
    pub fn daily_period(&self) -> Option<usize> {
        self.daily.filter(|e| e.earned).map(|e| e.period)
    }

    /// The weekly period in samples, when earned.
    pub fn weekly_period(&self) -> Option<usize> {
        self.weekly.filter(|e| e.earned).map(|e| e.period)
    }

    /// A short label: `daily season`, `daily and weekly seasons`, `weekly season` or
    /// `no season`.
    pub fn label(&self) -> &'static str {
        match (self.daily_period().is_some(), self.weekly_period().is_some()) {
            (true, true) => "daily and weekly seasons",
            (true, false) => "daily season",
            (false, true) => "weekly season",
            (false, false) => "no season",
        }
    }

    /// One line for reports: `daily season: 14 cycles, split-half r 0.86, strength
    /// 0.17; no weekly season: 2 full cycle(s), 3 needed`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [("daily", self.daily), ("weekly", self.weekly)]
            .into_iter()
            .filter_map(|(name, e)| e.map(|e| e.describe(name)))
            .collect();
        if parts.is_empty() { "no daily or weekly period at this interval".into() } else { parts.join("; ") }
    }
}

/// The candidates that the history of `n` samples can support, simplest first, with
/// the daily and weekly periods a season may use (`None`: no such season).
fn candidates(n: usize, daily: Option<usize>, weekly: Option<usize>) -> Vec<ModelKind> {
    let mut out = Vec::new();
    match daily {
        Some(d) if n > d => out.push(ModelKind::SeasonalNaive { period: d }),
        _ => out.push(ModelKind::SeasonalNaive { period: 1 }),
    }
    out.push(ModelKind::Ets { damped: false, period: None });
    out.push(ModelKind::Ets { damped: true, period: None });
    let daily = daily.filter(|d| n >= 2 * d);
    if let Some(d) = daily {
        out.push(ModelKind::Ets { damped: false, period: Some(d) });
        out.push(ModelKind::Ets { damped: true, period: Some(d) });
    }
    let weekly = weekly.filter(|w| n >= 2 * w);
    if daily.is_some() || weekly.is_some() {
        out.push(ModelKind::Mstl { daily, weekly });
    }
    out
}

/// The seasonal periods candidates may use: the earned ones, or with
/// `require_evidence` false every period of the interval.
fn allowed_periods(seasons: &Seasonality, step_secs: i64, require_evidence: bool) -> (Option<usize>, Option<usize>) {
    if require_evidence { (seasons.daily_period(), seasons.weekly_period()) } else { periods(step_secs) }
}

/// Fits every candidate the allowed periods (daily, weekly) admit, and their combination.
fn fit_candidates(y: &[f64], horizon: usize, allowed: (Option<usize>, Option<usize>)) -> Vec<Fitted> {
    let replayed = horizon.min(MAX_REPLAY_STEPS).min(Origins::longest_trusted_step(y.len()));
    let origins = Origins::for_series(y.len(), replayed);
    let mut fitted: Vec<Fitted> = Vec::new();
    for kind in candidates(y.len(), allowed.0, allowed.1) {
        // A damped model starts its search from the undamped fit of the same season.
        let warm = match kind {
            ModelKind::Ets { damped: true, period } => {
                fitted.iter().find(|f| f.kind == ModelKind::Ets { damped: false, period }).map(|f| &f.model)
            }
            _ => None,
        };
        if let Some((model, errors)) = Model::fit(kind, y, &origins, warm) {
            fitted.push(Fitted { kind, model, errors });
        }
    }
    let parts: Vec<(&Model, &StepErrors)> = fitted
        .iter()
        .filter(|f| !matches!(f.kind, ModelKind::SeasonalNaive { .. }))
        .map(|f| (&f.model, &f.errors))
        .collect();
    let count = parts.len();
    if let Some((model, errors)) = Model::combine(&parts) {
        fitted.push(Fitted { kind: ModelKind::Combination { parts: count }, model, errors });
    }
    fitted
}

/// The outcome of model selection.
struct Selection {
    kind: ModelKind,
    model: Model,
    offsets: IntervalOffsets,
    scores: Vec<CandidateScore>,
    seasons: Seasonality,
}

/// Tests the seasons, fits every candidate they allow and keeps the one with the lowest
/// in-sample multi-step MAE (the earlier, simpler candidate on a tie).
fn select(y: &[f64], step_secs: i64, config: &ForecastConfig) -> Result<Selection, ForecastError> {
    select_keeping(y, step_secs, config).map(|(selection, _)| selection)
}

/// [`select`], also handing back every candidate it fitted, in candidate order (a
/// backtest scores each of them without fitting them again).
fn select_keeping(
    y: &[f64],
    step_secs: i64,
    config: &ForecastConfig,
) -> Result<(Selection, Vec<Fitted>), ForecastError> {
    let horizon = config.horizon;
    let seasons = Seasonality::of(y, step_secs);
    let allowed = allowed_periods(&seasons, step_secs, config.require_season_evidence);
    let fitted = fit_candidates(y, horizon, allowed);
    let (daily, _) = periods(step_secs);
    let scores: Vec<CandidateScore> = fitted
        .iter()
        .map(|f| CandidateScore { name: f.kind.name(daily), mae: corrected_mae(&f.errors).unwrap_or(f64::INFINITY) })
        .collect();
    let mut best: Option<(usize, f64)> = None;
    for (i, s) in scores.iter().enumerate() {
        if best.is_none_or(|(_, b)| s.mae < b) {
            best = Some((i, s.mae));
        }
    }
    let Some((index, _)) = best else {
        return Err(ForecastError::TooShort { samples: y.len(), min: MIN_SAMPLES });
    };
    let chosen = &fitted[index];
    let mut offsets = IntervalOffsets::from_errors(&chosen.errors, horizon, day_steps(step_secs));
    offsets.widen(resolution(y) / 2.0);
    let selection = Selection { kind: chosen.kind, offsets, model: chosen.model.clone(), scores, seasons };
    Ok((selection, fitted))
}

/// The resolution of the recorded values: the smallest positive difference between two
/// distinct values (0 for a constant series). Telemetry is often quantised (0.066 and
/// 0.068 % CPU, whole requests); a value recorded as `v` stands for anything within half
/// a resolution of it, so the interval bounds are widened by that much. Without it a
/// bound can sit just inside the most common value and miss it every time.
fn resolution(y: &[f64]) -> f64 {
    let mut sorted = y.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    sorted
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .fold(0.0, |acc: f64, d| if acc == 0.0 { d } else { acc.min(d) })
}

/// A fitted forecaster for one series: predicts any horizon, absorbs live samples.
#[derive(Clone, Debug)]
pub struct Forecaster {
    config: ForecastConfig,
    step_secs: i64,
    /// Unix seconds of `history[0]`.
    start: i64,
    /// The regular history the models were fitted on, plus samples absorbed since.
    history: Vec<f64>,
    kind: ModelKind,
    model: Model,
    offsets: IntervalOffsets,
    scores: Vec<CandidateScore>,
    seasons: Seasonality,
    since_refit: usize,
    repairs: Repairs,
}

/// What [`Forecaster::update`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Grid slots filled by interpolation before the sample.
    pub filled: usize,
    /// True when the update triggered a full re-fit.
    pub refitted: bool,
}

impl Forecaster {
    /// Regularises raw samples and fits (see the module doc).
    pub fn fit(ts: &[i64], values: &[f64], config: ForecastConfig) -> Result<Self, ForecastError> {
        config.validate()?;
        let series = regularize(ts, values, config.max_gap_steps)?;
        Self::fit_regular(&series, config)
    }

    /// Fits a series that is already regular (as [`regularize`] makes it; a
    /// hand-built one is checked for a positive step and finite values).
    pub fn fit_regular(series: &RegularSeries, config: ForecastConfig) -> Result<Self, ForecastError> {
        Ok(Self::fit_keeping(series, config)?.0)
    }

    /// [`Self::fit_regular`], also handing back every candidate it fitted (in candidate
    /// order) and whether the history was trimmed to `max_history`.
    fn fit_keeping(series: &RegularSeries, config: ForecastConfig) -> Result<(Self, Vec<Fitted>, bool), ForecastError> {
        config.validate()?;
        if series.step_secs <= 0 {
            return Err(ForecastError::InvalidConfig(format!("step_secs must be positive, not {}", series.step_secs)));
        }
        if let Some(index) = series.values.iter().position(|v| !v.is_finite()) {
            return Err(ForecastError::NonFinite { index, value: series.values[index] });
        }
        let n = series.values.len();
        if n < MIN_SAMPLES {
            return Err(ForecastError::TooShort { samples: n, min: MIN_SAMPLES });
        }
        let skip = n.saturating_sub(config.max_history);
        let history = series.values[skip..].to_vec();
        let (selection, fitted) = select_keeping(&history, series.step_secs, &config)?;
        let forecaster = Forecaster {
            step_secs: series.step_secs,
            start: series.start + skip as i64 * series.step_secs,
            history,
            kind: selection.kind,
            model: selection.model,
            offsets: selection.offsets,
            scores: selection.scores,
            seasons: selection.seasons,
            since_refit: 0,
            repairs: series.repairs,
            config,
        };
        Ok((forecaster, fitted, skip > 0))
    }

    /// Full re-fit on the (trimmed) history: model choice, parameters, intervals.
    fn refit(&mut self) -> Result<(), ForecastError> {
        let skip = self.history.len().saturating_sub(self.config.max_history);
        if skip > 0 {
            self.history.drain(..skip);
            self.start += skip as i64 * self.step_secs;
        }
        let selection = select(&self.history, self.step_secs, &self.config)?;
        self.kind = selection.kind;
        self.model = selection.model;
        self.offsets = selection.offsets;
        self.scores = selection.scores;
        self.seasons = selection.seasons;
        self.since_refit = 0;
        Ok(())
    }

    /// The chosen model's human name, e.g. `MSTL(daily) + ETS(A,N,N)`.
    pub fn model_name(&self) -> String {
        let (daily, _) = periods(self.step_secs);
        match &self.model {
            Model::Mstl(m) => format!("{} ({})", self.kind.name(daily), m.inner_name()),
            _ => self.kind.name(daily),
        }
    }

    /// The chosen model's structure.
    pub fn model_kind(&self) -> ModelKind {
        self.kind
    }

    /// Which seasons the history earned at the last (re-)fit, with the evidence.
    pub fn seasons(&self) -> &Seasonality {
        &self.seasons
    }

    /// Every candidate's in-sample score, in candidate order.
    pub fn candidate_scores(&self) -> &[CandidateScore] {
        &self.scores
    }

    /// The inferred sampling interval in seconds.
    pub fn step_secs(&self) -> i64 {
        self.step_secs
    }

    /// Unix seconds of the last sample.
    pub fn last_ts(&self) -> i64 {
        self.start + (self.history.len() as i64 - 1) * self.step_secs
    }

    /// Samples in the history.
    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    /// What regularising the fitted input repaired.
    pub fn repairs(&self) -> Repairs {
        self.repairs
    }

    /// The configuration.
    pub fn config(&self) -> &ForecastConfig {
        &self.config
    }

    /// Forecasts `horizon` steps after the last sample. Intervals beyond the configured
    /// horizon grow with √h from its last step.
    pub fn predict(&self, horizon: usize) -> Result<Forecast, ForecastError> {
        check_horizon(horizon)?;
        let start = self.last_ts().checked_add(self.step_secs).ok_or(ForecastError::TimeOverflow)?;
        (horizon as i64 - 1)
            .checked_mul(self.step_secs)
            .and_then(|span| start.checked_add(span))
            .ok_or(ForecastError::TimeOverflow)?;
        // The model's forecast; the point forecast adds the median error of each step.
        let model = self.model.forecast(horizon);
        let offsets = if horizon <= self.offsets.upper_80.len() { None } else { Some(self.extended_offsets(horizon)) };
        let off = offsets.as_ref().unwrap_or(&self.offsets);
        let band = |o: &[f64]| -> Vec<f64> { model.iter().zip(o).map(|(m, d)| m + d).collect() };
        let out = Forecast {
            start,
            step_secs: self.step_secs,
            mean: band(&off.median),
            lower_80: band(&off.lower_80),
            upper_80: band(&off.upper_80),
            lower_95: band(&off.lower_95),
            upper_95: band(&off.upper_95),
            model: self.model_name(),
            mase: None,
            seasons: self.seasons,
        };
        let rows = [&out.mean, &out.lower_80, &out.upper_80, &out.lower_95, &out.upper_95];
        if rows.iter().any(|r| r.iter().any(|v| !v.is_finite())) {
            return Err(ForecastError::NotFinite);
        }
        Ok(out)
    }

    fn extended_offsets(&self, horizon: usize) -> IntervalOffsets {
        let mut off = self.offsets.clone();
        let last = off.upper_80.len();
        let centre = off.median.last().copied().unwrap_or(0.0);
        off.median.resize(horizon, centre);
        let extend = |v: &mut Vec<f64>| {
            let end = v.last().copied().unwrap_or(0.0);
            v.extend((last + 1..=horizon).map(|h| centre + (end - centre) * (h as f64 / last.max(1) as f64).sqrt()));
        };
        extend(&mut off.lower_80);
        extend(&mut off.upper_80);
        extend(&mut off.lower_95);
        extend(&mut off.upper_95);
        off
    }

    /// Absorbs one live sample: gaps of up to `max_gap_steps` are filled linearly,
    /// every sample is one O(1) state update of the chosen model, and after
    /// `refit_every` samples the forecaster re-fits fully. On error nothing changes.
    pub fn update(&mut self, ts: i64, value: f64) -> Result<UpdateOutcome, ForecastError> {
        let index = self.history.len();
        if !value.is_finite() {
            return Err(ForecastError::NonFinite { index, value });
        }
        let last = self.last_ts();
        let offset = i128::from(ts) - i128::from(last);
        let step = i128::from(self.step_secs);
        let slots = (offset + step / 2).div_euclid(step);
        if slots <= 0 {
            return Err(ForecastError::NotAfterLast { ts, last });
        }
        let missing = (slots - 1) as u64;
        if missing > self.config.max_gap_steps as u64 {
            return Err(ForecastError::Gap {
                index,
                missing_steps: missing,
                step_secs: self.step_secs,
                max_gap_steps: self.config.max_gap_steps,
            });
        }
        let before = self.history.last().copied().unwrap_or(value);
        let mut outcome = UpdateOutcome { filled: missing as usize, refitted: false };
        for k in 1..=missing + 1 {
            let v = if k == missing + 1 { value } else { before + (value - before) * k as f64 / (missing + 1) as f64 };
            self.history.push(v);
            self.model.push(v);
            self.since_refit += 1;
        }
        if self.since_refit >= self.refit_every() {
            self.refit()?;
            outcome.refitted = true;
        }
        Ok(outcome)
    }

    /// Samples between full re-fits.
    pub fn refit_every(&self) -> usize {
        self.config.refit_every.unwrap_or_else(|| periods(self.step_secs).0.unwrap_or(288))
    }
}

/// Forecasts `horizon` steps with the default configuration, including the backtest's
/// MASE when the history allows one.
pub fn forecast(ts: &[i64], values: &[f64], horizon: usize) -> Result<Forecast, ForecastError> {
    forecast_with(ts, values, &ForecastConfig::new(horizon))
}

/// [`forecast`] with a configuration.
pub fn forecast_with(ts: &[i64], values: &[f64], config: &ForecastConfig) -> Result<Forecast, ForecastError> {
    config.validate()?;
    let series = regularize(ts, values, config.max_gap_steps)?;
    let forecaster = Forecaster::fit_regular(&series, config.clone())?;
    let mut out = forecaster.predict(config.horizon)?;
    if config.backtest_origins > 0 {
        out.mase = match backtest_regular(&series, config, config.backtest_origins) {
            Ok(b) => b.mase,
            Err(ForecastError::TooShort { .. }) => None,
            Err(e) => return Err(e),
        };
    }
    Ok(out)
}

/// One model's backtest figure.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelBacktest {
    /// The model's name.
    pub name: String,
    /// Mean MASE over the origins where the history supported the model.
    pub mase: Option<f64>,
    /// Origins where it could be fitted.
    pub origins: usize,
}

/// Result of a rolling-origin backtest.
#[derive(Clone, Debug, PartialEq)]
pub struct Backtest {
    /// Steps forecast at each origin.
    pub horizon: usize,
    /// Origins evaluated (latest first).
    pub origins: usize,
    /// Mean over origins of the automatically chosen model's MASE (`None` when every
    /// origin's scale is zero, e.g. a constant series).
    pub mase: Option<f64>,
    /// The same for the seasonal naive forecast (daily; naive without a daily period).
    pub mase_seasonal_naive: Option<f64>,
    /// Which in-sample MAE scales the errors: `seasonal naive (daily)` or `naive`.
    pub scale: String,
    /// Share of actual values inside the 80% interval.
    pub coverage_80: f64,
    /// Share inside the 95% interval.
    pub coverage_95: f64,
    /// Model chosen at each origin, latest origin first.
    pub chosen: Vec<String>,
    /// Each candidate forced at every origin, in candidate order.
    pub models: Vec<ModelBacktest>,
}

/// Rolling-origin backtest: for k = 1..=origins the model is fitted on all samples but
/// the last k·horizon, forecasts `horizon` steps and is scored on them (see the module
/// doc for the MASE scale). Needs `MIN_SAMPLES + horizon` samples for one origin;
/// fewer origins are used when the history is short.
pub fn backtest(ts: &[i64], values: &[f64], horizon: usize, origins: usize) -> Result<Backtest, ForecastError> {
    let config = ForecastConfig::new(horizon);
    config.validate()?;
    let series = regularize(ts, values, config.max_gap_steps)?;
    backtest_regular(&series, &config, origins)
}

/// [`backtest`] on a regular series with a configuration.
pub fn backtest_regular(
    series: &RegularSeries,
    config: &ForecastConfig,
    origins: usize,
) -> Result<Backtest, ForecastError> {
    config.validate()?;
    if origins == 0 {
        return Err(ForecastError::InvalidConfig("a backtest needs at least one origin".into()));
    }
    let horizon = config.horizon;
    let y = &series.values;
    let n = y.len();
    let usable = (1..=origins).take_while(|k| n >= MIN_SAMPLES + k * horizon).count();
    if usable == 0 {
        return Err(ForecastError::TooShort { samples: n, min: MIN_SAMPLES + horizon });
    }
    let (daily, _) = periods(series.step_secs);
    let mut mase_sum = 0.0;
    let mut mase_count = 0usize;
    let mut snaive_sum = 0.0;
    let mut snaive_count = 0usize;
    let (mut in80, mut in95, mut total) = (0usize, 0usize, 0usize);
    let mut chosen = Vec::with_capacity(usable);
    let mut per_model: Vec<(String, f64, usize, usize)> = Vec::new();
    let mut scale_name = String::new();
    for k in 1..=usable {
        let cut = n - k * horizon;
        let train = &y[..cut];
        let test = &y[cut..cut + horizon];
        let (scale, name) = mase_scale(train, daily);
        if scale_name.is_empty() || k == 1 {
            scale_name = name.to_string();
        }
        let part = RegularSeries {
            start: series.start,
            step_secs: series.step_secs,
            values: train.to_vec(),
            repairs: Repairs::default(),
        };
        let (f, fitted, trimmed) = Forecaster::fit_keeping(&part, config.clone())?;
        let p = f.predict(horizon)?;
        chosen.push(p.model.clone());
        for (i, a) in test.iter().enumerate() {
            in80 += usize::from(*a >= p.lower_80[i] && *a <= p.upper_80[i]);
            in95 += usize::from(*a >= p.lower_95[i] && *a <= p.upper_95[i]);
            total += 1;
        }
        if scale > 0.0 {
            mase_sum += mae(test, &p.mean) / scale;
            mase_count += 1;
            let baseline = match daily {
                Some(d) if train.len() > d => (0..horizon).map(|h| train[cut - d + h % d]).collect::<Vec<_>>(),
                _ => vec![train[cut - 1]; horizon],
            };
            snaive_sum += mae(test, &baseline) / scale;
            snaive_count += 1;
        }
        // Every candidate forced: the fits this origin's forecaster compared (fitted
        // again on the whole training part when the forecaster saw only its latest
        // `max_history` samples).
        let candidates = if trimmed {
            let allowed = allowed_periods(f.seasons(), series.step_secs, config.require_season_evidence);
            fit_candidates(train, horizon, allowed)
        } else {
            fitted
        };
        for fitted in candidates {
            let name = fitted.kind.name(daily);
            let median = IntervalOffsets::from_errors(&fitted.errors, horizon, day_steps(series.step_secs)).median;
            let mean: Vec<f64> = fitted.model.forecast(horizon).iter().zip(&median).map(|(f, m)| f + m).collect();
            let entry = match per_model.iter().position(|(n, ..)| *n == name) {
                Some(i) => &mut per_model[i],
                None => {
                    per_model.push((name, 0.0, 0, 0));
                    let last = per_model.len() - 1;
                    &mut per_model[last]
                }
            };
            entry.3 += 1;
            if scale > 0.0 {
                entry.1 += mae(test, &mean) / scale;
                entry.2 += 1;
            }
        }
    }
    let mean_of = |sum: f64, count: usize| (count > 0).then(|| sum / count as f64);
    Ok(Backtest {
        horizon,
        origins: usable,
        mase: mean_of(mase_sum, mase_count),
        mase_seasonal_naive: mean_of(snaive_sum, snaive_count),
        scale: scale_name,
        coverage_80: in80 as f64 / total.max(1) as f64,
        coverage_95: in95 as f64 / total.max(1) as f64,
        chosen,
        models: per_model
            .into_iter()
            .map(|(name, sum, scored, fitted)| ModelBacktest { name, mase: mean_of(sum, scored), origins: fitted })
            .collect(),
    })
}

/// The MASE scale of a training part: in-sample MAE of the seasonal naive forecast
/// (daily) when it holds more than a day, else of the naive forecast.
fn mase_scale(train: &[f64], daily: Option<usize>) -> (f64, &'static str) {
    let lag_mae = |lag: usize| -> f64 {
        let n = train.len();
        if n <= lag {
            return 0.0;
        }
        train.windows(lag + 1).map(|w| (w[lag] - w[0]).abs()).sum::<f64>() / (n - lag) as f64
    };
    match daily {
        Some(d) if train.len() > d => (lag_mae(d), "seasonal naive (daily)"),
        _ => (lag_mae(1), "naive"),
    }
}

fn mae(actual: &[f64], forecast: &[f64]) -> f64 {
    actual.iter().zip(forecast).map(|(a, f)| (a - f).abs()).sum::<f64>() / actual.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    const STEP: i64 = 300;
    const DAY: usize = 288;

    fn timestamps(n: usize) -> Vec<i64> {
        (0..n as i64).map(|i| 1_400_000_000 + i * STEP).collect()
    }

    fn daily_sine(n: usize) -> Vec<f64> {
        (0..n).map(|t| 50.0 + 20.0 * (2.0 * std::f64::consts::PI * t as f64 / DAY as f64).sin()).collect()
    }

    fn noisy(values: &[f64], sd: f64, seed: u64) -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let normal = Normal::new(0.0, sd).unwrap();
        values.iter().map(|v| v + normal.sample(&mut rng)).collect()
    }

    #[test]
    fn a_pure_daily_sine_is_forecast_nearly_exactly() {
        let n = DAY * 7;
        let all = daily_sine(n + DAY);
        let f = forecast(&timestamps(n), &all[..n], DAY).unwrap();
        let worst = f.mean.iter().zip(&all[n..]).map(|(p, a)| (p - a).abs()).fold(0.0, f64::max);
        assert!(worst < 0.2, "max error {worst} with {}", f.model);
        assert_eq!(f.start, 1_400_000_000 + n as i64 * STEP);
        assert_eq!(f.step_secs, STEP);
        assert_eq!(f.len(), DAY);
        // Nearly exact forecasts, so narrow intervals. (MASE is degenerate here: the
        // seasonal naive scale of an exactly periodic series is zero up to rounding.)
        assert!(f.upper_95[DAY - 1] - f.lower_95[DAY - 1] < 2.0);
    }

    const WEEK: usize = 7 * DAY;

    /// A daily cycle of ±10 around 50, 15 lower on Saturdays and Sundays (days 5 and 6
    /// of each week), with noise.
    fn weekly_pattern(n: usize, seed: u64) -> Vec<f64> {
        let y: Vec<f64> = daily_sine(n)
            .iter()
            .enumerate()
            .map(|(t, v)| 50.0 + (v - 50.0) / 2.0 - if t % WEEK >= 5 * DAY { 15.0 } else { 0.0 })
            .collect();
        noisy(&y, 2.0, seed)
    }

    #[test]
    fn a_weekly_pattern_over_three_weeks_or_more_gets_the_weekly_mstl() {
        let n = 4 * WEEK;
        let all = weekly_pattern(n + WEEK, 21);
        let f = Forecaster::fit(&timestamps(n), &all[..n], ForecastConfig::new(WEEK)).unwrap();
        let seasons = f.seasons();
        assert_eq!(seasons.weekly_period(), Some(WEEK), "{}", seasons.describe());
        assert_eq!(seasons.daily_period(), Some(DAY), "{}", seasons.describe());
        assert_eq!(seasons.label(), "daily and weekly seasons");
        let names: Vec<&str> = f.candidate_scores().iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"MSTL(daily, weekly) + ETS"), "{names:?}");
        assert_eq!(f.model_kind(), ModelKind::Mstl { daily: Some(DAY), weekly: Some(WEEK) }, "{names:?}");
        // The weekend dip is forecast where it recurs.
        let p = f.predict(WEEK).unwrap();
        assert_eq!(p.seasons, *seasons);
        let mean_of = |from: usize, to: usize| p.mean[from..to].iter().sum::<f64>() / (to - from) as f64;
        let (weekdays, weekend) = (mean_of(0, 5 * DAY), mean_of(5 * DAY, WEEK));
        assert!((weekdays - weekend - 15.0).abs() < 2.0, "weekdays {weekdays}, weekend {weekend}");
    }

    #[test]
    fn two_weeks_with_a_level_shift_earn_no_weekly_season_and_keep_the_new_level() {
        // Flat at 6 with noise; from day 10 on, at 14.5: the shape of the NAB series
        // rds_cpu_utilization_cc0c53. Two weekly cycles cannot tell a shift from a
        // weekly pattern, so no model may carry one.
        let n = 2 * WEEK;
        let y: Vec<f64> = (0..n).map(|t| if t >= 10 * DAY { 14.5 } else { 6.0 }).collect();
        let y = noisy(&y, 0.3, 22);
        let f = Forecaster::fit(&timestamps(n), &y, ForecastConfig::new(WEEK)).unwrap();
        let seasons = f.seasons();
        assert_eq!(seasons.weekly.map(|e| e.cycles), Some(2));
        assert_eq!(seasons.weekly_period(), None);
        assert_eq!(seasons.daily_period(), None, "{}", seasons.describe());
        assert!(f.candidate_scores().iter().all(|c| !c.name.contains("weekly") && !c.name.contains("daily")));
        let p = f.predict(WEEK).unwrap();
        let (lo, hi) = p.mean.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        assert!(lo > 13.5 && hi < 15.5, "{} forecasts {lo}..{hi}", p.model);
        // As before the evidence test: the weekly profile of the same two weeks is the
        // shift, and the forecast jumps back to the old level where the shift was.
        let mut config = ForecastConfig::new(WEEK);
        config.require_season_evidence = false;
        let mstl = Model::fit(
            ModelKind::Mstl { daily: Some(DAY), weekly: Some(WEEK) },
            &y,
            &Origins::for_series(n, WEEK),
            None,
        )
        .unwrap()
        .0
        .forecast(WEEK);
        let lowest = mstl.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(lowest < 13.0, "the unearned weekly season does not repeat the shift: {lowest}");
        let unchecked = Forecaster::fit(&timestamps(n), &y, config).unwrap();
        assert!(unchecked.candidate_scores().iter().any(|c| c.name == "MSTL(daily, weekly) + ETS"));
    }

    #[test]
    fn noise_earns_no_season_and_no_seasonal_candidate() {
        let n = 14 * DAY;
        let y = noisy(&vec![40.0; n], 3.0, 23);
        let f = Forecaster::fit(&timestamps(n), &y, ForecastConfig::new(DAY)).unwrap();
        assert_eq!(f.seasons().label(), "no season", "{}", f.seasons().describe());
        let names: Vec<&str> = f.candidate_scores().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["naive", "ETS(A,N,N)", "ETS(A,Ad,N)", "mean of 2 ETS/MSTL models"]);
        // An interval that does not divide a day has no periods to test.
        let odd: Vec<i64> = (0..200).map(|i| i * 7 * 60).collect();
        let g = Forecaster::fit(&odd, &y[..200], ForecastConfig::new(10)).unwrap();
        assert_eq!(*g.seasons(), Seasonality::default());
        assert_eq!(g.seasons().describe(), "no daily or weekly period at this interval");
    }

    #[test]
    fn a_trend_continues() {
        let n = 600;
        let y: Vec<f64> = (0..n).map(|t| 10.0 + 0.5 * t as f64).collect();
        let f = forecast(&timestamps(n), &y, 24).unwrap();
        // A damped trend keeps rising (though it flattens slowly).
        for w in f.mean.windows(2) {
            assert!(w[1] > w[0], "{}: {:?}", f.model, &f.mean[..4]);
        }
        let last = y[n - 1];
        assert!((f.mean[0] - (last + 0.5)).abs() < 0.1, "{} {}", f.mean[0], f.model);
        assert!(f.mean[23] > last + 5.0, "{} {}", f.mean[23], f.model);
    }

    #[test]
    fn intervals_widen_with_the_horizon_and_nest() {
        let n = DAY * 6;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let normal = Normal::new(0.0, 1.0).unwrap();
        // A random walk on a daily cycle: uncertainty grows with the step.
        let mut walk = 0.0;
        let y: Vec<f64> = daily_sine(n)
            .iter()
            .map(|v| {
                walk += normal.sample(&mut rng);
                v + walk
            })
            .collect();
        let f = forecast(&timestamps(n), &y, DAY).unwrap();
        for i in 0..DAY {
            assert!(f.lower_95[i] <= f.lower_80[i] && f.lower_80[i] <= f.mean[i], "row {i}");
            assert!(f.mean[i] <= f.upper_80[i] && f.upper_80[i] <= f.upper_95[i], "row {i}");
            if i > 0 {
                assert!(f.upper_80[i] - f.lower_80[i] >= f.upper_80[i - 1] - f.lower_80[i - 1] - 1e-9);
            }
        }
        let first = f.upper_80[0] - f.lower_80[0];
        let last = f.upper_80[DAY - 1] - f.lower_80[DAY - 1];
        assert!(last > 3.0 * first, "width {first} -> {last}");
    }

    #[test]
    fn the_same_input_gives_identical_bits() {
        let n = DAY * 5;
        let y = noisy(&daily_sine(n), 2.0, 9);
        let ts = timestamps(n);
        let a = forecast(&ts, &y, 100).unwrap();
        let b = forecast(&ts, &y, 100).unwrap();
        let bits = |f: &Forecast| -> Vec<u64> {
            [&f.mean, &f.lower_80, &f.upper_80, &f.lower_95, &f.upper_95]
                .iter()
                .flat_map(|v| v.iter().map(|x| x.to_bits()))
                .chain(f.mase.map(f64::to_bits))
                .collect()
        };
        assert_eq!(bits(&a), bits(&b));
        assert_eq!(a.model, b.model);
    }

    #[test]
    fn noisy_seasonal_series_choose_a_seasonal_model_and_beat_seasonal_naive() {
        let n = DAY * 8;
        let y = noisy(&daily_sine(n), 3.0, 5);
        let b = backtest(&timestamps(n), &y, DAY, 3).unwrap();
        assert_eq!(b.origins, 3);
        assert_eq!(b.scale, "seasonal naive (daily)");
        let (mase, naive) = (b.mase.unwrap(), b.mase_seasonal_naive.unwrap());
        // Seasonal naive carries yesterday's noise: about √2 × the noise of a good model.
        assert!(mase < 0.85 * naive, "{mase} vs {naive}");
        assert!(b.chosen.iter().all(|m| m.contains("daily")), "{:?}", b.chosen);
        assert!((0.7..=0.9).contains(&b.coverage_80), "{}", b.coverage_80);
        assert!(b.coverage_95 > b.coverage_80);
        assert!(b.models.iter().any(|m| m.name.starts_with("MSTL")));
    }

    #[test]
    fn update_is_a_state_step_and_refits_on_schedule() {
        let n = DAY * 4;
        let all = noisy(&daily_sine(n + DAY), 1.0, 2);
        let ts = timestamps(n + DAY);
        let mut live = Forecaster::fit(&ts[..n], &all[..n], ForecastConfig::new(DAY)).unwrap();
        assert_eq!(live.refit_every(), DAY);
        let mut refits = 0;
        for i in n..n + DAY - 1 {
            let out = live.update(ts[i], all[i]).unwrap();
            refits += usize::from(out.refitted);
        }
        assert_eq!(refits, 0);
        let out = live.update(ts[n + DAY - 1], all[n + DAY - 1]).unwrap();
        assert!(out.refitted);
        // After the scheduled re-fit the live forecaster equals a fresh fit.
        let fresh = Forecaster::fit(&ts, &all, ForecastConfig::new(DAY)).unwrap();
        assert_eq!(live.predict(DAY).unwrap(), fresh.predict(DAY).unwrap());
        // Errors leave the state alone.
        let before = live.predict(10).unwrap();
        assert!(matches!(live.update(ts[n + DAY - 1], 1.0), Err(ForecastError::NotAfterLast { .. })));
        assert!(matches!(live.update(ts[n + DAY - 1] + 100 * STEP, 1.0), Err(ForecastError::Gap { .. })));
        assert!(matches!(live.update(ts[n + DAY - 1] + STEP, f64::NAN), Err(ForecastError::NonFinite { .. })));
        assert_eq!(live.predict(10).unwrap(), before);
        // A short gap is filled.
        let out = live.update(ts[n + DAY - 1] + 3 * STEP, 50.0).unwrap();
        assert_eq!(out.filled, 2);
        assert_eq!(live.last_ts(), ts[n + DAY - 1] + 3 * STEP);
    }

    #[test]
    fn update_between_refits_moves_the_forecast_with_the_data() {
        // A random walk: the best models follow the last value closely.
        let n = DAY * 3;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let normal = Normal::new(0.0, 1.0).unwrap();
        let mut level = 100.0;
        let y: Vec<f64> = (0..n)
            .map(|_| {
                level += normal.sample(&mut rng);
                level
            })
            .collect();
        let mut live = Forecaster::fit(&timestamps(n), &y, ForecastConfig::new(12)).unwrap();
        let before = live.predict(1).unwrap().mean[0];
        for i in 0..12 {
            let out = live.update(1_400_000_000 + (n + i) as i64 * STEP, level + 30.0).unwrap();
            assert!(!out.refitted);
        }
        let after = live.predict(1).unwrap().mean[0];
        assert!(after > before + 20.0, "{before} -> {after} ({})", live.model_name());
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let ts = timestamps(40);
        let y = vec![1.0; 40];
        assert_eq!(forecast(&[], &[], 5), Err(ForecastError::Empty));
        assert!(matches!(forecast(&ts[..1], &y[..1], 5), Err(ForecastError::TooShort { .. })));
        assert!(matches!(forecast(&ts[..5], &y[..5], 5), Err(ForecastError::TooShort { samples: 5, .. })));
        assert!(matches!(forecast(&ts, &y, 0), Err(ForecastError::InvalidHorizon { .. })));
        let mut bad = y.clone();
        bad[7] = f64::INFINITY;
        assert!(matches!(forecast(&ts, &bad, 5), Err(ForecastError::NonFinite { index: 7, .. })));
        let mut gap = ts.clone();
        for t in &mut gap[20..] {
            *t += 3900;
        }
        assert!(matches!(forecast(&gap, &y, 5), Err(ForecastError::Gap { index: 20, missing_steps: 13, .. })));
        for t in &mut gap[20..] {
            *t -= 300;
        }
        assert!(forecast(&gap, &y, 5).is_ok(), "a gap of 12 samples is filled");
        let near_end = i64::MAX - 10 * STEP;
        let far: Vec<i64> = (0..20).map(|i| near_end + i * STEP / 2).collect();
        assert!(forecast(&far, &[1.0; 20], 5).is_err());
        let hand_made = |step_secs: i64, v: f64| RegularSeries {
            start: 0,
            step_secs,
            values: vec![v; 40],
            repairs: Repairs::default(),
        };
        let config = ForecastConfig::new(5);
        assert!(matches!(
            Forecaster::fit_regular(&hand_made(0, 1.0), config.clone()),
            Err(ForecastError::InvalidConfig(_))
        ));
        assert!(matches!(
            Forecaster::fit_regular(&hand_made(60, f64::NAN), config),
            Err(ForecastError::NonFinite { .. })
        ));
    }

    #[test]
    fn constant_and_short_series_forecast_without_panics() {
        let f = forecast(&timestamps(100), &[5.0; 100], 30).unwrap();
        assert!(f.mean.iter().all(|v| (v - 5.0).abs() < 1e-9));
        assert_eq!(f.mase, None); // the MASE scale of a constant series is zero
        let ts = timestamps(MIN_SAMPLES);
        let f = forecast(&ts, &noisy(&[5.0; MIN_SAMPLES], 1.0, 1), 30).unwrap();
        assert_eq!(f.len(), 30);
        assert!(f.upper_95.iter().zip(&f.lower_95).all(|(u, l)| u >= l));
    }

    #[test]
    fn quantised_series_keep_their_common_value_inside_the_interval() {
        assert!((resolution(&[0.066, 0.068, 0.066, 0.134]) - 0.002).abs() < 1e-12);
        assert_eq!(resolution(&[3.0, 3.0]), 0.0);
        // Mostly 1, now and then 2 or 3: the 80% interval must hold the common value.
        let n = DAY * 4;
        let y: Vec<f64> = (0..n)
            .map(|t| {
                if t % 7 == 0 {
                    2.0
                } else if t % 31 == 0 {
                    3.0
                } else {
                    1.0
                }
            })
            .collect();
        let f = forecast(&timestamps(n), &y, 24).unwrap();
        for i in 0..24 {
            assert!(f.lower_80[i] < 1.0 && 1.0 < f.upper_80[i], "row {i}: {} {}", f.lower_80[i], f.upper_80[i]);
        }
    }

    #[test]
    fn random_inputs_give_a_forecast_or_an_error_never_a_panic() {
        use rand::Rng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        let mut ok = 0;
        for case in 0..300 {
            let n = rng.random_range(0..80);
            let step = [1i64, 60, 300, 3600, 86_400, 7 * 86_400][case % 6];
            let base = [0i64, 1_400_000_000, -2_208_988_800, i64::MAX - 1000][case % 4];
            let ts: Vec<i64> = (0..n)
                .map(|i| {
                    let jitter = rng.random_range(-3..=3) * step / 4;
                    base.saturating_add((i as i64 + rng.random_range(0..2)) * step).saturating_add(jitter)
                })
                .collect();
            let values: Vec<f64> = (0..n)
                .map(|_| match rng.random_range(0..20) {
                    0 => 0.0,
                    1 => 1e300,
                    _ => rng.random_range(-1e3..1e3),
                })
                .collect();
            let horizon = rng.random_range(1..50);
            if let Ok(f) = forecast(&ts, &values, horizon) {
                ok += 1;
                assert_eq!(f.len(), horizon);
                assert!(f.lower_95.iter().zip(&f.upper_95).all(|(l, u)| l.is_finite() && u.is_finite() && l <= u));
            }
        }
        assert!(ok > 50, "only {ok} random series were forecast");
    }

    #[test]
    fn unsorted_and_duplicate_rows_are_repaired_like_sorted_ones() {
        let n = DAY * 3;
        let y = noisy(&daily_sine(n), 1.0, 8);
        let ts = timestamps(n);
        let clean = forecast(&ts, &y, 12).unwrap();
        let mut ts2: Vec<i64> = ts.iter().rev().copied().collect();
        let mut y2: Vec<f64> = y.iter().rev().copied().collect();
        ts2.push(ts[10]);
        y2.push(y[10]);
        let repaired = forecast(&ts2, &y2, 12).unwrap();
        assert_eq!(clean, repaired);
        let f = Forecaster::fit(&ts2, &y2, ForecastConfig::new(12)).unwrap();
        assert_eq!(f.repairs(), Repairs { sorted: true, merged: 1, gaps_filled: 0, samples_filled: 0 });
    }
}
