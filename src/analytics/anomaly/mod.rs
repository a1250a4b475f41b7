//! Causal anomaly detection (SPEC M6). A detector is fed one sample at a time
//! ([`Detector::update`]) and answers at once with a [`Score`]: a number in [0, 1], the
//! tail probability behind it, and the dominant [`Cause`] as a human reason. The score
//! of a sample depends only on the samples up to it, so a detector gives the same
//! scores live as on a file read offline ([`score_series`] just loops `update`).
//!
//! Detectors:
//! - [`LearnedDetector`] (the default): robust baselines learned from the series
//!   itself — spikes against the recent median/MAD, residuals from the daily seasonal
//!   baseline, level shifts of the short- and medium-term mean, and changes of variability
//!   (flat-lining or bursts). Each statistic is calibrated against its own history into
//!   a tail probability; the smallest wins (with a Bonferroni correction), and an
//!   ongoing episode is reported once (re-reported only when it escalates).
//! - [`RuleDetector`]: thresholds and rate-of-change limits, e.g. from policy rules.
//!   It can be attached to a learned detector ([`LearnedDetector::with_rules`]).
//! - [`WindowedGaussian`]: NAB's windowed-Gaussian baseline, for comparison.
//!
//! [`combine_twin`] turns the scores of several metrics of one twin into one twin
//! score with the top contributing metric.
//!
//! Scores map tail probabilities `p` onto [0, 1] by `d / (d + 4)` with
//! `d = -log10 p` ([`score_from_tail_prob`]): 0.5 is a one-in-10,000 sample.

mod gaussian;
mod learned;
mod rules;
mod stats;

pub use gaussian::WindowedGaussian;
pub use learned::{LearnedConfig, LearnedDetector};
pub use rules::{RateLimit, RuleDetector, ThresholdRule};

use crate::model::UnixSecs;
use crate::policy::Operator;

/// Decades of improbability (`-log10 p`) that map to a score of 0.5.
pub const HALF_SCORE_DECADES: f64 = 4.0;

/// Errors of anomaly detection.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnomalyError {
    /// Timestamps and values have different lengths.
    #[error("{timestamps} timestamps but {values} values")]
    LengthMismatch {
        /// Number of timestamps.
        timestamps: usize,
        /// Number of values.
        values: usize,
    },
    /// A value is NaN or infinite.
    #[error("sample {index} is not a finite number ({value})")]
    NonFinite {
        /// 0-based sample index.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A detector parameter is out of its range.
    #[error("invalid detector setting: {0}")]
    InvalidConfig(String),
}

/// Why a sample is unusual: the dominant cause, with the figures for a reason.
#[derive(Clone, Debug, PartialEq)]
pub enum Cause {
    /// The value is far from the recent median (signed robust σ).
    Spike {
        /// Signed distance from the recent median in robust standard deviations.
        sigmas: f64,
    },
    /// The value is far from what this time of day usually looks like.
    Seasonal {
        /// Signed distance from the seasonal baseline in robust σ of its residuals.
        sigmas: f64,
        /// The seasonal baseline (median of the same time of day on earlier days).
        expected: f64,
    },
    /// The short-term mean moved away from the usual level.
    LevelShift {
        /// Relative change of the level (+0.42 = +42%), when the usual level is not
        /// close to zero.
        relative: Option<f64>,
        /// Signed size of the shift in standard errors of the short-term mean.
        sigmas: f64,
        /// Samples averaged for the short-term mean.
        samples: usize,
    },
    /// The sample-to-sample variation changed (below 1: quieter or flat-lined).
    Variability {
        /// Recent mean absolute change divided by the usual one.
        ratio: f64,
    },
    /// A threshold rule is violated.
    Threshold {
        /// The comparison that signals a violation.
        operator: Operator,
        /// The threshold.
        threshold: f64,
        /// The value that violated it.
        value: f64,
    },
    /// The value changes faster than a rate-of-change limit.
    RateOfChange {
        /// Observed change per second (signed).
        per_sec: f64,
        /// The limit on its absolute value.
        limit_per_sec: f64,
    },
    /// The value is far from the mean of a Gaussian fitted to a window (baseline).
    Gaussian {
        /// Signed distance from the window mean in standard deviations.
        sigmas: f64,
    },
}

fn direction(x: f64) -> &'static str {
    if x >= 0.0 { "above" } else { "below" }
}

fn sigmas_text(s: f64) -> String {
    let a = s.abs();
    if a >= 1000.0 { ">1000σ".to_string() } else { format!("{a:.1}σ") }
}

impl Cause {
    /// A one-line explanation naming `metric`, e.g. "cpu 3.1σ above the daily baseline".
    pub fn describe(&self, metric: &str) -> String {
        match self {
            Cause::Spike { sigmas } => {
                format!("{metric} {} {} the recent median", sigmas_text(*sigmas), direction(*sigmas))
            }
            Cause::Seasonal { sigmas, expected } => format!(
                "{metric} {} {} the daily baseline (expected {})",
                sigmas_text(*sigmas),
                direction(*sigmas),
                short_number(*expected)
            ),
            Cause::LevelShift { relative: Some(r), sigmas, samples } if r.abs() < 100.0 => format!(
                "{metric} level shift {:+.0}% over the last {samples} samples ({})",
                r * 100.0,
                sigmas_text(*sigmas)
            ),
            Cause::LevelShift { sigmas, samples, .. } => format!(
                "{metric} level shift {} {} over the last {samples} samples",
                sigmas_text(*sigmas),
                if *sigmas >= 0.0 { "up" } else { "down" }
            ),
            Cause::Variability { ratio } if *ratio < 0.05 => {
                format!("{metric} flat-lined (variation {ratio:.2}× usual)")
            }
            Cause::Variability { ratio } if *ratio < 1.0 => {
                format!("{metric} unusually steady (variation {ratio:.2}× usual)")
            }
            Cause::Variability { ratio } => format!("{metric} unusually erratic (variation {ratio:.1}× usual)"),
            Cause::Threshold { operator, threshold, value } => {
                let relation = match operator {
                    Operator::Gt | Operator::Ge => "above",
                    Operator::Lt | Operator::Le => "below",
                    Operator::Eq => "at",
                    Operator::Ne => "away from",
                };
                format!(
                    "{metric} {relation} threshold {} ({} {operator} {})",
                    short_number(*threshold),
                    short_number(*value),
                    short_number(*threshold)
                )
            }
            Cause::RateOfChange { per_sec, limit_per_sec } => format!(
                "{metric} {} {}/s, faster than the limit {}/s",
                if *per_sec >= 0.0 { "rising" } else { "falling" },
                short_number(per_sec.abs()),
                short_number(*limit_per_sec)
            ),
            Cause::Gaussian { sigmas } => {
                format!("{metric} {} {} the window mean", sigmas_text(*sigmas), direction(*sigmas))
            }
        }
    }
}

/// A number with about four significant digits, without trailing zeros.
fn short_number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-4..=9).contains(&magnitude) {
        return format!("{x:.3e}");
    }
    let decimals = (3 - magnitude).max(0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
}

/// The anomaly score of one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// In [0, 1]; higher is more anomalous. `score_from_tail_prob(tail_prob)`.
    pub score: f64,
    /// The probability, under what the detector has learned, of a sample at least this
    /// unusual (1 = nothing unusual; 0 = a rule violation).
    pub tail_prob: f64,
    /// The dominant cause, when the detector had enough data to judge the sample.
    pub cause: Option<Cause>,
    /// True when the sample continues an anomaly episode that was already reported:
    /// its score is held below the alarm level unless the episode escalates.
    pub ongoing: bool,
}

impl Score {
    /// A score for a sample the detector cannot judge yet (warm-up, missing value).
    pub fn quiet() -> Self {
        Score { score: 0.0, tail_prob: 1.0, cause: None, ongoing: false }
    }

    /// A score from a tail probability and a cause.
    pub fn from_tail_prob(tail_prob: f64, cause: Option<Cause>) -> Self {
        let tail_prob = if tail_prob.is_nan() { 1.0 } else { tail_prob.clamp(0.0, 1.0) };
        Score { score: score_from_tail_prob(tail_prob), tail_prob, cause, ongoing: false }
    }

    /// The reason naming `metric`; empty when there is no cause.
    pub fn reason(&self, metric: &str) -> String {
        match &self.cause {
            Some(cause) if self.ongoing => format!("{} (ongoing)", cause.describe(metric)),
            Some(cause) => cause.describe(metric),
            None => String::new(),
        }
    }
}

/// Maps a tail probability onto [0, 1]: `d / (d + 4)` with `d = -log10 p` (p = 1 → 0,
/// p = 1e-4 → 0.5, p = 0 → 1). Monotone, so thresholds on scores are thresholds on p.
pub fn score_from_tail_prob(tail_prob: f64) -> f64 {
    if tail_prob.is_nan() || tail_prob >= 1.0 {
        return 0.0;
    }
    if tail_prob <= 0.0 {
        return 1.0;
    }
    let decades = -tail_prob.log10();
    decades / (decades + HALF_SCORE_DECADES)
}

/// The inverse of [`score_from_tail_prob`].
pub fn tail_prob_from_score(score: f64) -> f64 {
    if score.is_nan() || score <= 0.0 {
        return 1.0;
    }
    if score >= 1.0 {
        return 0.0;
    }
    let decades = HALF_SCORE_DECADES * score / (1.0 - score);
    10f64.powf(-decades)
}

/// A streaming, causal anomaly detector.
pub trait Detector {
    /// Scores the next sample and learns from it. A non-finite value is treated as a
    /// missing sample: it scores [`Score::quiet`] and leaves the detector unchanged.
    /// Timestamps may repeat or step back (a repeated hour); they only steer seasonal
    /// baselines and rates of change.
    fn update(&mut self, ts: UnixSecs, value: f64) -> Score;
}

/// Which detector to build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Method {
    /// [`LearnedDetector`] with default settings.
    #[default]
    Combined,
    /// [`WindowedGaussian`], NAB's baseline.
    WindowedGaussian,
}

impl Method {
    /// A fresh detector of this kind.
    pub fn detector(self) -> Box<dyn Detector> {
        match self {
            Method::Combined => Box::new(LearnedDetector::new(LearnedConfig::default())),
            Method::WindowedGaussian => Box::new(WindowedGaussian::new()),
        }
    }
}

/// Scores a whole series in order with `detector` (a loop over [`Detector::update`]).
/// Unlike `update`, which skips non-finite values, this rejects them, since a batch
/// caller can fix its input.
pub fn score_series<D: Detector + ?Sized>(
    detector: &mut D,
    ts: &[UnixSecs],
    values: &[f64],
) -> Result<Vec<Score>, AnomalyError> {
    if ts.len() != values.len() {
        return Err(AnomalyError::LengthMismatch { timestamps: ts.len(), values: values.len() });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(AnomalyError::NonFinite { index, value });
    }
    Ok(ts.iter().zip(values).map(|(&t, &v)| detector.update(t, v)).collect())
}

/// The anomaly score of a twin at one time, from the scores of its metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct TwinScore {
    /// In [0, 1], on the same scale as [`Score::score`].
    pub score: f64,
    /// Bonferroni-combined tail probability: min(1, metrics × smallest p).
    pub tail_prob: f64,
    /// The metric with the smallest tail probability (first in input order on ties);
    /// `None` when no metric had a cause.
    pub top_metric: Option<String>,
    /// The top metric's reason.
    pub reason: Option<String>,
}

/// Combines per-metric scores of one twin into one twin score: the smallest tail
/// probability, multiplied by the number of metrics (Bonferroni), so a twin with many
/// metrics does not look anomalous just because one of many is a little unusual. The
/// top contributing metric and its reason come with it. Pass metrics in a stable order
/// (e.g. sorted by name): ties go to the first.
pub fn combine_twin(metrics: &[(&str, &Score)]) -> TwinScore {
    let mut best: Option<(&str, &Score)> = None;
    for &(name, score) in metrics {
        if best.is_none_or(|(_, b)| score.tail_prob < b.tail_prob) {
            best = Some((name, score));
        }
    }
    match best {
        Some((name, score)) if score.cause.is_some() => {
            let tail_prob = (score.tail_prob * metrics.len() as f64).min(1.0);
            TwinScore {
                score: score_from_tail_prob(tail_prob),
                tail_prob,
                top_metric: Some(name.to_string()),
                reason: Some(score.reason(name)),
            }
        }
        _ => TwinScore { score: 0.0, tail_prob: 1.0, top_metric: None, reason: None },
    }
}

#[cfg(test)]
mod tests;
