//! The learned detector: several robust, causal statistics of how unusual a sample is,
//! each calibrated against its own history, combined into one score.
//!
//! Statistics (each a "surprise": larger = more unusual):
//! - **spike**: |x − median| / robust σ over the reference window (the recent past,
//!   excluding the short window);
//! - **level shift**: |mean of the short window − reference median| in standard errors
//!   of that mean — a shift too small to stand out sample by sample still shows up;
//! - **drift**: the same for a window six times longer, for slower shifts and
//!   changes in the density of bursts;
//! - **variability**: |ln(mean |Δx| in the short window / mean |Δx| in the reference)|
//!   — a metric that flat-lines (a stuck exporter, a hung process) or turns erratic;
//! - **seasonal**: |x − median of the same time of day on earlier days| / robust σ of
//!   those residuals, once two earlier days are known and only while that baseline
//!   explains the series (its residuals clearly tighter than the plain spread).
//!
//! A raw statistic says little by itself (a 5σ move is daily life for a spiky metric),
//! so each is turned into a tail probability by a tail calibrator that remembers
//! that statistic's values on this series. The smallest probability, times the number
//! of statistics in use (Bonferroni), is the sample's probability; its statistic is
//! the cause. Once a sample is notable (p ≤ √alarm, 1e-2 by default), the following
//! samples of the same episode are held low unless they are ten times less likely
//! than its peak so far (escalation), so an incident is reported once, at its start,
//! like a deduplicated alert.

use std::collections::VecDeque;

use super::stats::{SortedWindow, TailCalibrator, lane_sum, median_in_place};
use super::{AnomalyError, Cause, Detector, RuleDetector, Score};
use crate::model::UnixSecs;

/// Settings of [`LearnedDetector`]. Window lengths are in samples.
#[derive(Clone, Debug, PartialEq)]
pub struct LearnedConfig {
    /// Samples in the reference window that defines "usual" (default 288: a day of
    /// 5-minute samples, 4.8 hours of 1-minute samples).
    pub reference_window: usize,
    /// Samples in the short window for level and variability (default 12).
    pub short_window: usize,
    /// Past values of each statistic kept for calibration (default 8640: 30 days of
    /// 5-minute samples, 6 days of 1-minute samples).
    pub calibration_memory: usize,
    /// Values of a statistic seen before it contributes (default 288, one reference
    /// window).
    pub min_calibration: usize,
    /// Length of the seasonal cycle in seconds (default one day).
    pub season_secs: i64,
    /// Earlier cycles kept per time of day for the seasonal baseline (default 7).
    pub season_cycles: usize,
    /// Tail probability at or below which a sample raises an alarm and opens an
    /// episode (default 1e-4, a score of 0.5).
    pub alarm_tail_prob: f64,
    /// Decades of improbability by which a sample must beat the episode's peak to be
    /// reported again while the episode lasts (default 1: ten times less likely).
    pub escalation_decades: f64,
}

impl Default for LearnedConfig {
    fn default() -> Self {
        LearnedConfig {
            reference_window: 288,
            short_window: 12,
            calibration_memory: 8640,
            min_calibration: 288,
            season_secs: 86_400,
            season_cycles: 7,
            alarm_tail_prob: 1e-4,
            escalation_decades: 1.0,
        }
    }
}

impl LearnedConfig {
    /// Checks the ranges of the settings.
    pub fn validate(&self) -> Result<(), AnomalyError> {
        let bad = |m: &str| Err(AnomalyError::InvalidConfig(m.to_string()));
        if self.short_window < 2 || self.short_window > 10_000 {
            return bad("short_window must be 2..=10000 samples");
        }
        if self.reference_window < 4 * self.short_window || self.reference_window > 1_000_000 {
            return bad("reference_window must be at least 4 short windows and at most 1,000,000 samples");
        }
        if self.calibration_memory < 50 || self.calibration_memory > 1_000_000 {
            return bad("calibration_memory must be 50..=1000000");
        }
        if self.min_calibration < 10 || self.min_calibration > self.calibration_memory {
            return bad("min_calibration must be 10..=calibration_memory");
        }
        if self.season_secs < 60 || self.season_secs > 366 * 86_400 {
            return bad("season_secs must be 60 s ..= 366 days");
        }
        if self.season_cycles < 2 || self.season_cycles > 1000 {
            return bad("season_cycles must be 2..=1000");
        }
        if !(self.alarm_tail_prob > 0.0 && self.alarm_tail_prob < 1.0) {
            return bad("alarm_tail_prob must be in (0, 1)");
        }
        if !(self.escalation_decades.is_finite() && self.escalation_decades >= 0.0) {
            return bad("escalation_decades must be a non-negative number");
        }
        Ok(())
    }
}

/// The reference window must hold this many values before any statistic is computed.
const MIN_REFERENCE: usize = 32;
/// Largest ratio of seasonal-residual σ to plain σ at which the seasonal statistic is
/// used (0.8: the seasonal baseline explains at least 36% of the variance).
const SEASONAL_FIT: f64 = 0.8;
/// Positive timestamp steps looked at to learn the sampling interval.
const INTERVAL_PROBES: usize = 16;

/// Indices of the statistics.
const SPIKE: usize = 0;
const LEVEL: usize = 1;
const VARIABILITY: usize = 2;
const SEASONAL: usize = 3;
const DRIFT: usize = 4;
const STATISTICS: usize = 5;
/// The drift window is this many short windows long.
const DRIFT_SHORT_WINDOWS: usize = 6;

/// The default detector: learned robust baselines, calibrated and combined (see the
/// module documentation), optionally with rules on top.
#[derive(Clone, Debug)]
pub struct LearnedDetector {
    config: LearnedConfig,
    /// Values before the short window.
    reference: SortedWindow,
    /// The last `short_window` values, oldest first.
    short: VecDeque<f64>,
    /// The last `DRIFT_SHORT_WINDOWS × short_window` values, oldest first.
    drift: VecDeque<f64>,
    /// |Δx| before the short window.
    reference_steps: VecDeque<f64>,
    /// The last `short_window` |Δx|.
    short_steps: VecDeque<f64>,
    last_value: Option<f64>,
    last_ts: Option<UnixSecs>,
    interval_probes: Vec<i64>,
    seasonal: Option<SeasonalBaseline>,
    calibrators: Vec<TailCalibrator>,
    episode: Episode,
    rules: Option<RuleDetector>,
}

impl LearnedDetector {
    /// A detector with these settings. Out-of-range settings are clamped into range
    /// (use [`LearnedConfig::validate`] to reject them instead).
    pub fn new(config: LearnedConfig) -> Self {
        let mut config = config;
        config.short_window = config.short_window.clamp(2, 10_000);
        config.reference_window = config.reference_window.clamp(4 * config.short_window, 1_000_000);
        config.calibration_memory = config.calibration_memory.clamp(50, 1_000_000);
        config.min_calibration = config.min_calibration.clamp(10, config.calibration_memory);
        config.season_secs = config.season_secs.clamp(60, 366 * 86_400);
        config.season_cycles = config.season_cycles.clamp(2, 1000);
        if !(config.alarm_tail_prob > 0.0 && config.alarm_tail_prob < 1.0) {
            config.alarm_tail_prob = LearnedConfig::default().alarm_tail_prob;
        }
        if !(config.escalation_decades.is_finite() && config.escalation_decades >= 0.0) {
            config.escalation_decades = LearnedConfig::default().escalation_decades;
        }
        LearnedDetector {
            reference: SortedWindow::new(config.reference_window),
            short: VecDeque::with_capacity(config.short_window + 1),
            drift: VecDeque::with_capacity(DRIFT_SHORT_WINDOWS * config.short_window + 1),
            reference_steps: VecDeque::with_capacity(config.reference_window + 1),
            short_steps: VecDeque::with_capacity(config.short_window + 1),
            last_value: None,
            last_ts: None,
            interval_probes: Vec::new(),
            seasonal: None,
            calibrators: (0..STATISTICS)
                .map(|_| TailCalibrator::new(config.calibration_memory, config.min_calibration))
                .collect(),
            episode: Episode::default(),
            rules: None,
            config,
        }
    }

    /// Adds rules (thresholds, rate of change); a rule violation outranks any learned
    /// statistic.
    pub fn with_rules(mut self, rules: RuleDetector) -> Self {
        self.rules = Some(rules);
        self
    }

    /// The settings in use.
    pub fn config(&self) -> &LearnedConfig {
        &self.config
    }

    /// The raw statistics of sample `x` against the state before it, with their causes.
    /// `seasonal_expected` is the seasonal baseline's expectation for the sample's time.
    fn statistics(&self, x: f64, seasonal_expected: Option<f64>) -> [Option<(f64, Cause)>; STATISTICS] {
        let mut out: [Option<(f64, Cause)>; STATISTICS] = [None, None, None, None, None];
        if self.reference.len() < MIN_REFERENCE {
            return out;
        }
        let (Some(median), Some(spread)) = (self.reference.median(), self.reference.robust_sigma(0.0)) else {
            return out;
        };
        // A floor for the scale: a tiny fraction of the level, so a perfectly constant
        // reference still gives finite statistics.
        let floor = 1e-6 * (median.abs() + spread) + 1e-12;
        let sigma = spread.max(floor);
        let z = (x - median) / sigma;
        out[SPIKE] = Some((z.abs(), Cause::Spike { sigmas: z }));

        let m = self.config.short_window;
        if self.short.len() + 1 >= m {
            let recent = self.short.iter().skip(self.short.len() + 1 - m).copied().chain(std::iter::once(x));
            let mean = recent.sum::<f64>() / m as f64;
            let zl = (mean - median) / (sigma / (m as f64).sqrt());
            let relative =
                (median.abs() > 10.0 * floor && median.abs() >= 0.05 * spread).then(|| (mean - median) / median.abs());
            out[LEVEL] = Some((zl.abs(), Cause::LevelShift { relative, sigmas: zl, samples: m }));
        }

        let long = DRIFT_SHORT_WINDOWS * m;
        if self.drift.len() + 1 >= long {
            let recent = self.drift.iter().skip(self.drift.len() + 1 - long).copied().chain(std::iter::once(x));
            let mean = recent.sum::<f64>() / long as f64;
            let zd = (mean - median) / (sigma / (long as f64).sqrt());
            let relative =
                (median.abs() > 10.0 * floor && median.abs() >= 0.05 * spread).then(|| (mean - median) / median.abs());
            out[DRIFT] = Some((zd.abs(), Cause::LevelShift { relative, sigmas: zd, samples: long }));
        }

        if let Some(last) = self.last_value
            && self.short_steps.len() + 1 >= m
            && self.reference_steps.len() >= MIN_REFERENCE
        {
            let step = (x - last).abs();
            let recent: f64 = self.short_steps.iter().skip(self.short_steps.len() + 1 - m).sum::<f64>() + step;
            let recent = recent / m as f64;
            let usual = lane_sum(self.reference_steps.iter().copied()) / self.reference_steps.len() as f64;
            let eps = (0.01 * usual).max(floor);
            let ratio = (recent + eps) / (usual + eps);
            out[VARIABILITY] = Some((ratio.ln().abs(), Cause::Variability { ratio: recent / usual.max(floor) }));
        }

        // The seasonal baseline is used only while it explains the series: its
        // residuals must be clearly tighter than the spread around the plain median
        // (at least a third of the variance explained). After a regime change the
        // residuals widen and the seasonal view steps aside until it fits again.
        if let Some(seasonal) = &self.seasonal
            && let Some(expected) = seasonal_expected
            && let Some(residual_sigma) = seasonal.residual_sigma()
            && residual_sigma < SEASONAL_FIT * sigma
        {
            let residual_sigma = residual_sigma.max(floor);
            let zs = (x - expected) / residual_sigma;
            out[SEASONAL] = Some((zs.abs(), Cause::Seasonal { sigmas: zs, expected }));
        }
        out
    }

    /// Learns from sample `x` after it was scored (`seasonal_expected` as for
    /// [`Self::statistics`]).
    fn learn(&mut self, ts: UnixSecs, x: f64, seasonal_expected: Option<f64>) {
        let m = self.config.short_window;
        if let Some(last) = self.last_value {
            self.short_steps.push_back((x - last).abs());
            if self.short_steps.len() > m
                && let Some(old) = self.short_steps.pop_front()
            {
                self.reference_steps.push_back(old);
                if self.reference_steps.len() > self.config.reference_window {
                    self.reference_steps.pop_front();
                }
            }
        }
        self.drift.push_back(x);
        if self.drift.len() > DRIFT_SHORT_WINDOWS * m {
            self.drift.pop_front();
        }
        self.short.push_back(x);
        if self.short.len() > m
            && let Some(old) = self.short.pop_front()
        {
            self.reference.push(old);
        }
        if let Some(last_ts) = self.last_ts
            && ts > last_ts
            && self.seasonal.is_none()
        {
            self.interval_probes.push(ts - last_ts);
            if self.interval_probes.len() >= INTERVAL_PROBES {
                let mut probes = std::mem::take(&mut self.interval_probes);
                probes.sort_unstable();
                let interval = probes[probes.len() / 2];
                self.seasonal = SeasonalBaseline::new(
                    self.config.season_secs,
                    interval,
                    self.config.season_cycles,
                    self.config.reference_window,
                );
            }
        }
        if let Some(seasonal) = &mut self.seasonal {
            seasonal.learn(ts, x, seasonal_expected);
        }
        self.last_value = Some(x);
        self.last_ts = Some(ts);
    }
}

impl Detector for LearnedDetector {
    fn update(&mut self, ts: UnixSecs, value: f64) -> Score {
        if !value.is_finite() {
            return Score::quiet();
        }
        let rule_score = self.rules.as_mut().map(|r| r.update(ts, value));
        // The seasonal expectation is the median of earlier cycles' values, which
        // scoring and learning both need: computed once.
        let seasonal_expected = self.seasonal.as_mut().and_then(|s| s.expected(ts));
        let stats = self.statistics(value, seasonal_expected);
        let mut best: Option<(f64, Cause)> = None;
        let mut in_use = 0usize;
        for (calibrator, stat) in self.calibrators.iter_mut().zip(stats) {
            let Some((s, cause)) = stat else { continue };
            if calibrator.is_ready() {
                in_use += 1;
                let p = calibrator.tail_prob(s);
                if best.as_ref().is_none_or(|(bp, _)| p < *bp) {
                    best = Some((p, cause));
                }
            }
            calibrator.record(s);
        }
        self.learn(ts, value, seasonal_expected);

        let learned = match best {
            Some((p, cause)) => {
                let p = (p * in_use as f64).min(1.0);
                self.episode.report(p, cause, &self.config)
            }
            None => Score::quiet(),
        };
        match rule_score {
            Some(rule) if rule.tail_prob < learned.tail_prob => rule,
            _ => learned,
        }
    }
}

/// Alarm deduplication. An episode opens when a sample reaches half the alarm level's
/// decades of improbability (`sqrt(alarm_tail_prob)`: notable, not yet alarming) and
/// closes after a short window of calmer samples (or after a whole reference window:
/// by then the change is the new normal). Inside an episode a sample is
/// reported as it is only when it beats the episode's peak by `escalation_decades`;
/// otherwise it is held at half the opening level. A slowly building incident therefore
/// alarms once, when it has clearly outgrown its first sign, not on every sample.
#[derive(Clone, Debug, Default)]
struct Episode {
    active: bool,
    peak_decades: f64,
    calm_run: usize,
    /// Samples since the episode opened.
    age: usize,
}

impl Episode {
    fn report(&mut self, tail_prob: f64, cause: Cause, config: &LearnedConfig) -> Score {
        let open = -config.alarm_tail_prob.log10() / 2.0;
        let decades = if tail_prob > 0.0 { -tail_prob.log10() } else { f64::INFINITY };
        if self.active {
            self.age += 1;
            // An episode lasting a whole reference window is the new normal.
            if self.age >= config.reference_window {
                self.active = false;
            }
        }
        if decades < open {
            if self.active {
                self.calm_run += 1;
                if self.calm_run >= config.short_window {
                    self.active = false;
                }
            }
            return Score::from_tail_prob(tail_prob, Some(cause));
        }
        self.calm_run = 0;
        if !self.active || decades >= self.peak_decades + config.escalation_decades {
            if !self.active {
                self.age = 0;
            }
            self.peak_decades = decades;
            self.active = true;
            return Score::from_tail_prob(tail_prob, Some(cause));
        }
        let mut score = Score::from_tail_prob(10f64.powf(-open / 2.0), Some(cause));
        score.ongoing = true;
        score
    }
}

/// Seasonal baseline: for each time-of-day bucket (one sampling interval wide, at
/// least a minute), the values of the same bucket on earlier cycles.
#[derive(Clone, Debug)]
struct SeasonalBaseline {
    season_secs: i64,
    bucket_secs: i64,
    per_bucket: usize,
    /// (cycle number, value), oldest first, per bucket.
    buckets: Vec<VecDeque<(i64, f64)>>,
    residuals: SortedWindow,
    /// Scratch space for [`Self::expected`] (kept to spare an allocation per sample).
    scratch: Vec<f64>,
}

impl SeasonalBaseline {
    fn new(season_secs: i64, interval_secs: i64, cycles: usize, residual_window: usize) -> Option<Self> {
        let bucket_secs = interval_secs.clamp(60, season_secs / 24);
        let n = usize::try_from((season_secs + bucket_secs - 1) / bucket_secs).ok()?;
        let samples_per_bucket = usize::try_from((bucket_secs / interval_secs.max(1)).max(1)).ok()?;
        Some(SeasonalBaseline {
            season_secs,
            bucket_secs,
            per_bucket: cycles * samples_per_bucket,
            buckets: vec![VecDeque::new(); n],
            residuals: SortedWindow::new(residual_window),
            scratch: Vec::new(),
        })
    }

    fn bucket(&self, ts: UnixSecs) -> (usize, i64) {
        let phase = ts.rem_euclid(self.season_secs);
        let index = usize::try_from(phase / self.bucket_secs).unwrap_or(0).min(self.buckets.len() - 1);
        (index, ts.div_euclid(self.season_secs))
    }

    /// The expected value at `ts`: the median of earlier cycles' values in the bucket
    /// of `ts` and its two neighbours, once there are at least six of them.
    fn expected(&mut self, ts: UnixSecs) -> Option<f64> {
        let (index, cycle) = self.bucket(ts);
        let n = self.buckets.len();
        let values = &mut self.scratch;
        values.clear();
        for i in [(index + n - 1) % n, index, (index + 1) % n] {
            values.extend(self.buckets[i].iter().filter(|(c, _)| *c < cycle).map(|(_, v)| *v));
        }
        if values.len() < 6 {
            return None;
        }
        median_in_place(values)
    }

    /// The robust σ of past residuals, once there are enough of them.
    fn residual_sigma(&self) -> Option<f64> {
        if self.residuals.len() < MIN_REFERENCE {
            return None;
        }
        self.residuals.robust_sigma(0.0)
    }

    /// Learns `x` at `ts`, whose [`Self::expected`] value was `expected`.
    fn learn(&mut self, ts: UnixSecs, x: f64, expected: Option<f64>) {
        if let Some(expected) = expected {
            self.residuals.push(x - expected);
        }
        let (index, cycle) = self.bucket(ts);
        let bucket = &mut self.buckets[index];
        bucket.push_back((cycle, x));
        if bucket.len() > self.per_bucket {
            bucket.pop_front();
        }
    }
}
