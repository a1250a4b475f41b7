//! Learning one series' workload model from its samples (see the module docs of
//! `learn` for the method and the reasons).

use super::{Grid, LearnConfig};
use crate::analytics::season::{self, median_in_place};
use crate::model::{DAY_SECS, HOUR_SECS, LearnedInfo, NoiseTails, UnixSecs, WorkloadModel, metric};

/// Points of a learned daily profile (one an hour).
pub const DAILY_POINTS: usize = 24;
/// Shortest final segment (hours) a level shift may leave, and the shortest stretch
/// before it.
const MIN_SEGMENT_HOURS: usize = 12;
/// A trend is kept only over at least this many days of the final segment.
const MIN_TREND_DAYS: f64 = 3.0;
/// Hours the level at the end is the median of (at most; less after a recent shift).
const LEVEL_HOURS: usize = 72;
/// Days of residuals the noise is measured on (the latest, within the final segment).
const NOISE_DAYS: i64 = 7;

/// A learned model with the hourly means it was learned from (for couplings).
#[derive(Clone, Debug)]
pub struct SeriesFit {
    /// The model.
    pub model: WorkloadModel,
    /// Hourly means of the samples, from `hours_start` (a whole hour), NaN where none.
    pub hourly: Vec<f64>,
    /// Time of `hourly[0]`.
    pub hours_start: UnixSecs,
}

/// Learns a model for `metric` from samples `(ts, values)` (sorted by time, finite),
/// whose scenario starts at `origin` (the time `base` refers to). `None` when there
/// are no samples.
pub fn learn_series(
    metric_name: &str,
    ts: &[UnixSecs],
    values: &[f64],
    origin: UnixSecs,
    config: &LearnConfig,
) -> Option<SeriesFit> {
    let grid = Grid::new(ts, values, config.resolution_secs, config.max_days)?;
    let mut notes = Vec::new();
    let step = grid.step;
    let n = grid.values.len();
    let end = grid.time(n - 1);
    let bounds = natural_bounds(metric_name, values);
    let decimals = decimals_of(values);

    // Seasons, each only when earned (`season`), on bins aligned with the UTC clock.
    let per_day = usize::try_from(DAY_SECS / step).unwrap_or(0);
    let daily_ok = per_day >= 2 && DAY_SECS % step == 0;
    let mut y: Vec<f64> = grid.values.clone();
    let (mut daily_profile, mut weekly_profile) = (Vec::new(), Vec::new());
    if daily_ok {
        let since_midnight = usize::try_from(grid.start.rem_euclid(DAY_SECS) / step).unwrap_or(0);
        // Tested at the profile's own resolution (hours of the UTC day): a feature only
        // finer bins see (a ten-minute nightly job, which earns forecasts a season)
        // would not be carried by hourly knots anyway.
        let (ev, profile) = season::profile(&y, per_day, DAILY_POINTS.min(per_day), since_midnight);
        notes.push(ev.describe("daily"));
        if ev.earned {
            // Knots whose interpolation averages to each hour's mean (a nightly spike
            // stays the size it is, rather than smeared into its neighbours).
            daily_profile = if HOUR_SECS / step >= 2 && profile.len() == DAILY_POINTS {
                hour_mean_knots(&profile)
            } else {
                profile
            };
            for (k, v) in y.iter_mut().enumerate() {
                *v -= crate::model::workload::profile_value(&daily_profile, grid.time(k));
            }
        }
        let per_week = 7 * per_day;
        let since_monday = usize::try_from((grid.start.div_euclid(DAY_SECS) + 3).rem_euclid(7)).unwrap_or(0) * per_day
            + since_midnight;
        let (ev, _) = season::profile(&y, per_week, 28, since_monday);
        notes.push(ev.describe("weekly"));
        if ev.earned {
            weekly_profile = season::profile(&y, per_week, 7, since_monday).1;
            for (k, v) in y.iter_mut().enumerate() {
                *v -= crate::model::workload::weekday_value(&weekly_profile, grid.time(k));
            }
        }
    } else {
        notes.push(format!("no daily season: the resolution ({step} s) does not divide a day into samples"));
    }

    // Level, shifts and trend on hourly means of the deseasonalised series.
    let hours = Hourly::new(&grid, &y);
    let z = &hours.means;
    let quantum = 0.5 * 10f64.powi(-i32::from(decimals));
    let segment_start = last_segment_start(z, quantum, &mut notes, &hours);
    let seg = &z[segment_start..];
    let (slope_per_hour, level_end) = level_and_trend(seg, &mut notes);
    let trend_per_day = slope_per_hour * 24.0;
    // The model's expected value at `end` is the level there.
    let days_to_end = (end - origin) as f64 / DAY_SECS as f64;
    let base = level_end - trend_per_day * days_to_end;

    // Noise: residuals over the latest days of the final segment, then calibrated to
    // how far a day's hourly means stray from the level known before it.
    let seg_from = hours.time(segment_start);
    let noise_from = seg_from.max(end - NOISE_DAYS * DAY_SECS);
    let mut residuals = Vec::new();
    for (k, v) in y.iter().enumerate() {
        let t = grid.time(k);
        if t < noise_from {
            continue;
        }
        let fitted = level_end + trend_per_day * (t - end) as f64 / DAY_SECS as f64;
        residuals.push(if v.is_finite() { v - fitted } else { f64::NAN });
    }
    let per_hour = usize::try_from(HOUR_SECS / step).unwrap_or(1).max(1);
    let mut noise = Noise::fit(&residuals, per_hour);
    let mut base = base;
    let recent: Vec<f64> =
        (0..n).filter(|k| grid.time(*k) >= noise_from).map(|k| grid.values[k]).filter(|v| v.is_finite()).collect();
    if let Some((level, sd)) = censored_at_floor(&recent, bounds.0) {
        // Mostly at its floor with bursts above (bytes written, errors): a latent
        // level below the floor and a wide noise, clamped, give the share of samples
        // at the floor and the size of the bursts.
        notes.push(format!(
            "{:.0}% of samples at the floor {}: latent level {level:.4} and noise sd {sd:.4} clamped there",
            100.0 * recent.iter().filter(|v| **v <= bounds.0).count() as f64 / recent.len() as f64,
            bounds.0
        ));
        base += level - level_end;
        noise.sd = sd;
        noise.tails = NoiseTails::Normal;
    } else if let Some(spread) = day_ahead_spread(z, slope_per_hour) {
        noise.calibrate(spread, per_hour);
    }
    notes.push(noise.describe());

    let model = WorkloadModel {
        base: round_sig(base),
        trend_per_day: round_sig(trend_per_day),
        noise: round_sig(noise.sd),
        noise_memory: (noise.memory * 1e4).round() / 1e4,
        min: bounds.0,
        max: bounds.1,
        decimals,
        daily_profile: daily_profile.iter().map(|v| round_sig(*v)).collect(),
        weekly_profile: weekly_profile.iter().map(|v| round_sig(*v)).collect(),
        tails: noise.tails,
        learned: Some(LearnedInfo { from: grid.start, until: end, samples: grid.samples, notes, fit: None }),
        ..WorkloadModel::flat(0.0)
    };
    Some(SeriesFit { model, hourly: hours.means, hours_start: hours.start })
}

/// For samples of which at least 20% (and less than 95%) sit at the floor `floor`
/// (a lower bound such as 0): the latent normal level and standard deviation whose
/// clamped values put the same share at the floor and the same median above it
/// (quantile matching: `level + sd·Φ⁻¹(p₀) = floor` and `level + sd·Φ⁻¹((1 + p₀)/2)`
/// = the median of the samples above the floor).
fn censored_at_floor(samples: &[f64], floor: f64) -> Option<(f64, f64)> {
    if samples.len() < 100 || !floor.is_finite() {
        return None;
    }
    let mut above: Vec<f64> = samples.iter().copied().filter(|v| *v > floor).collect();
    let p0 = 1.0 - above.len() as f64 / samples.len() as f64;
    if !(0.2..0.95).contains(&p0) {
        return None;
    }
    let quantile = |p: f64| crate::model::noise::normal(((p * 65536.0) as u32).min(65535));
    let mid = median_in_place(&mut above) - floor;
    let sd = mid / (quantile((1.0 + p0) / 2.0) - quantile(p0));
    (sd.is_finite() && sd > 0.0).then(|| (floor - sd * quantile(p0), sd))
}

/// The knots `P` of a cyclic, linearly interpolated profile (point k in the middle of
/// hour k) whose average over each hour is that hour's mean `M`:
/// `(Pₖ₋₁ + 6·Pₖ + Pₖ₊₁)/8 = Mₖ`, solved by Gauss–Seidel (diagonally dominant: the
/// error shrinks threefold a sweep).
fn hour_mean_knots(means: &[f64]) -> Vec<f64> {
    let n = means.len();
    let mut p = means.to_vec();
    for _ in 0..60 {
        for k in 0..n {
            p[k] = (8.0 * means[k] - p[(k + n - 1) % n] - p[(k + 1) % n]) / 6.0;
        }
    }
    p
}

/// Hours of history before an origin whose median is the level a day ahead is
/// judged against (as the learned level is the median of the last 72 hours).
const ORIGIN_HOURS: usize = 72;

/// The spread (standard deviation, from the 10–90% quantiles) of how far the hourly
/// means of the next day stray from the median of the previous [`ORIGIN_HOURS`]
/// hours (moved along the trend), over origins every 6 hours: the uncertainty a twin's
/// hourly means should show one day ahead. `None` with fewer than 48 such errors.
fn day_ahead_spread(z: &[f64], slope_per_hour: f64) -> Option<f64> {
    let mut errors = Vec::new();
    let mut o = 24;
    while o + 1 < z.len() {
        let from = o.saturating_sub(ORIGIN_HOURS);
        let mut past: Vec<f64> = z[from..o].iter().copied().filter(|v| v.is_finite()).collect();
        if past.len() >= 12 {
            let centre = (o - from) as f64 / 2.0;
            let level = median_in_place(&mut past);
            for h in 0..24.min(z.len() - o) {
                if z[o + h].is_finite() {
                    errors.push(z[o + h] - (level + slope_per_hour * (h as f64 + centre)));
                }
            }
        }
        o += 6;
    }
    if errors.len() < 48 {
        return None;
    }
    errors.sort_by(f64::total_cmp);
    let q = |p: f64| errors[((errors.len() - 1) as f64 * p).round() as usize];
    // For a normal distribution the 10–90% range is 2.563 standard deviations.
    Some((q(0.9) - q(0.1)) / 2.563)
}

/// Hourly means of a regular series (NaN where an hour has no sample).
struct Hourly {
    start: UnixSecs,
    means: Vec<f64>,
}

impl Hourly {
    fn new(grid: &Grid, y: &[f64]) -> Self {
        let start = grid.start - grid.start.rem_euclid(HOUR_SECS);
        let last = grid.time(y.len().saturating_sub(1));
        let count = usize::try_from((last - start) / HOUR_SECS + 1).unwrap_or(0);
        let mut sum = vec![0.0; count];
        let mut n = vec![0u32; count];
        for (k, v) in y.iter().enumerate() {
            if v.is_finite() {
                let h = usize::try_from((grid.time(k) - start) / HOUR_SECS).unwrap_or(usize::MAX);
                if h < count {
                    sum[h] += v;
                    n[h] += 1;
                }
            }
        }
        let means = sum.iter().zip(&n).map(|(s, c)| if *c > 0 { s / f64::from(*c) } else { f64::NAN }).collect();
        Hourly { start, means }
    }

    fn time(&self, h: usize) -> UnixSecs {
        self.start + h as i64 * HOUR_SECS
    }
}

/// The scale of hour-to-hour noise: the robust standard deviation of first
/// differences divided by √2 (a level shift is one difference, so it barely counts),
/// at least a tenth of the series' own robust spread and half its rounding unit
/// (`quantum`), so a quantised series (values 0.132, 0.134) does not see shifts in
/// its rounding.
fn difference_scale(z: &[f64], quantum: f64) -> f64 {
    let mut d: Vec<f64> =
        z.windows(2).filter(|w| w[0].is_finite() && w[1].is_finite()).map(|w| (w[1] - w[0]).abs()).collect();
    let diff = 1.4826 * median_in_place(&mut d) / std::f64::consts::SQRT_2;
    let mut finite: Vec<f64> = z.iter().copied().filter(|v| v.is_finite()).collect();
    let centre = median_in_place(&mut finite);
    let mut dev: Vec<f64> = finite.iter().map(|v| (v - centre).abs()).collect();
    let spread = 1.4826 * median_in_place(&mut dev);
    diff.max(0.1 * spread).max(quantum)
}

/// Where the final level segment of the hourly means `z` starts.
///
/// Binary segmentation for changes in mean: a segment is split at its CUSUM split when
/// the means differ by more than 4 hour-to-hour noise scales and both sides hold at
/// least [`MIN_SEGMENT_HOURS`] (at most 8 splits). The steps found are then weighed
/// against one straight line by BIC, with the sample size shrunk for autocorrelation
/// (`n·(1 − ρ)/(1 + ρ)`, ρ the lag-1 autocorrelation of the steps' residuals): a ramp
/// needs many steps and is a trend; a few clean steps are level shifts, and the level
/// is learned after the last one.
fn last_segment_start(z: &[f64], quantum: f64, notes: &mut Vec<String>, hours: &Hourly) -> usize {
    let sigma = difference_scale(z, quantum);
    let mut splits: Vec<(usize, f64)> = Vec::new();
    let mut todo = vec![(0usize, z.len())];
    while let Some((lo, hi)) = todo.pop() {
        if splits.len() >= 8 {
            break;
        }
        let Some((at, delta)) = best_split(&z[lo..hi]) else {
            continue;
        };
        if delta.abs() > 4.0 * sigma {
            splits.push((lo + at, delta));
            todo.push((lo, lo + at));
            todo.push((lo + at, hi));
        }
    }
    if splits.is_empty() {
        return 0;
    }
    splits.sort_by_key(|s| s.0);
    let pts: Vec<(f64, f64)> =
        z.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(k, v)| (k as f64, *v)).collect();
    let n = pts.len() as f64;
    // Steps: each segment at its mean.
    let bounds: Vec<usize> =
        std::iter::once(0).chain(splits.iter().map(|s| s.0)).chain(std::iter::once(z.len())).collect();
    let mut resid_steps = Vec::with_capacity(pts.len());
    for w in bounds.windows(2) {
        let part: Vec<f64> = z[w[0]..w[1]].iter().copied().filter(|v| v.is_finite()).collect();
        let mean = part.iter().sum::<f64>() / part.len().max(1) as f64;
        resid_steps.extend(part.iter().map(|v| v - mean));
    }
    let (a, b) = ols(&pts);
    let rss_line: f64 = pts.iter().map(|(x, y)| (y - a - b * x).powi(2)).sum();
    let rss_steps: f64 = resid_steps.iter().map(|r| r * r).sum();
    let rho = lag1(&resid_steps).clamp(0.0, 0.9);
    let n_eff = (n * (1.0 - rho) / (1.0 + rho)).max(3.0);
    let floor = (quantum * quantum).max(f64::MIN_POSITIVE) * n;
    let bic = |rss: f64, params: f64| n_eff * libm::log(rss.max(floor) / n) + params * libm::log(n_eff);
    let (steps, line) = (bic(rss_steps, 2.0 * splits.len() as f64 + 1.0), bic(rss_line, 2.0));
    if line <= steps {
        notes.push(format!(
            "{} change(s) in level look like a trend (BIC {line:.0} for a line, {steps:.0} for steps)",
            splits.len()
        ));
        return 0;
    }
    for (at, delta) in &splits {
        notes.push(format!("level shift of {delta:+.4} at {}", format_time(hours.time(*at))));
    }
    let last = splits[splits.len() - 1].0;
    notes.push(format!("the level is learned from {} on", format_time(hours.time(last))));
    last
}

/// The split of `z` (NaN skipped) maximising the CUSUM statistic for a change in
/// mean, with at least [`MIN_SEGMENT_HOURS`] finite values each side: (index, mean
/// after − mean before).
fn best_split(z: &[f64]) -> Option<(usize, f64)> {
    let idx: Vec<usize> = (0..z.len()).filter(|k| z[*k].is_finite()).collect();
    let m = idx.len();
    if m < 2 * MIN_SEGMENT_HOURS {
        return None;
    }
    let total: f64 = idx.iter().map(|k| z[*k]).sum();
    let mut left = 0.0;
    let mut best: Option<(f64, usize, f64)> = None;
    for (j, k) in idx.iter().enumerate().take(m - MIN_SEGMENT_HOURS) {
        left += z[*k];
        let n1 = j + 1;
        if n1 < MIN_SEGMENT_HOURS {
            continue;
        }
        let n2 = m - n1;
        let (mean1, mean2) = (left / n1 as f64, (total - left) / n2 as f64);
        let stat = (mean2 - mean1).abs() * ((n1 * n2) as f64 / m as f64).sqrt();
        if best.is_none_or(|(s, _, _)| stat > s) {
            best = Some((stat, idx[j + 1], mean2 - mean1));
        }
    }
    best.map(|(_, split, delta)| (split, delta))
}

/// Ordinary least squares `y = a + b·x`; (mean, 0) when x does not vary.
fn ols(pts: &[(f64, f64)]) -> (f64, f64) {
    let n = pts.len() as f64;
    if pts.is_empty() {
        return (0.0, 0.0);
    }
    let (mx, my) = pts.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (mx / n, my / n);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, y) in pts {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
    }
    if sxx <= 0.0 { (my, 0.0) } else { (my - sxy / sxx * mx, sxy / sxx) }
}

/// The slope per hour (0 unless significant) and the level at the segment's last
/// hour, from hourly medians `seg`.
fn level_and_trend(seg: &[f64], notes: &mut Vec<String>) -> (f64, f64) {
    let pts: Vec<(f64, f64)> =
        seg.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(k, v)| (k as f64, *v)).collect();
    let last = seg.len().saturating_sub(1) as f64;
    if pts.is_empty() {
        return (0.0, 0.0);
    }
    let mut slope = 0.0;
    if seg.len() as f64 >= MIN_TREND_DAYS * 24.0 && pts.len() >= 48 {
        let (a, b) = ols(&pts);
        let resid: Vec<f64> = pts.iter().map(|(x, y)| y - a - b * x).collect();
        let n = resid.len() as f64;
        let var = resid.iter().map(|r| r * r).sum::<f64>() / (n - 2.0).max(1.0);
        // Autocorrelated residuals carry less information: inflate the standard error.
        let rho = lag1(&resid).clamp(0.0, 0.95);
        let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let se = (var / sxx).sqrt() * ((1.0 + rho) / (1.0 - rho)).sqrt();
        let t = if se > 0.0 { b / se } else { 0.0 };
        if t.abs() >= 3.0 {
            slope = b;
            notes.push(format!("trend {:+.4} a day (t = {t:.1})", b * 24.0));
        } else {
            notes.push(format!("no trend (t = {t:.1}, 3 needed)"));
        }
    }
    // The level at the end: the median of the latest hours, each moved along the trend.
    let recent = (seg.len().saturating_sub(LEVEL_HOURS)) as f64;
    let mut at_end: Vec<f64> = pts.iter().filter(|(x, _)| *x >= recent).map(|(x, y)| y + slope * (last - x)).collect();
    let level = if at_end.is_empty() { pts[pts.len() - 1].1 } else { median_in_place(&mut at_end) };
    (slope, level)
}

/// Lag-1 autocorrelation of a series (NaN-free); 0 when too short or constant.
pub(crate) fn lag1(r: &[f64]) -> f64 {
    if r.len() < 3 {
        return 0.0;
    }
    let m = r.iter().sum::<f64>() / r.len() as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for k in 0..r.len() {
        den += (r[k] - m).powi(2);
        if k > 0 {
            num += (r[k] - m) * (r[k - 1] - m);
        }
    }
    if den > 0.0 { num / den } else { 0.0 }
}

/// The noise process fitted to residuals.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Noise {
    /// Stationary standard deviation.
    pub sd: f64,
    /// AR(1) coefficient per sample.
    pub memory: f64,
    /// The innovations' distribution.
    pub tails: NoiseTails,
    /// Share of innovations beyond 4 robust standard deviations (for the note).
    tail_share: f64,
}

impl Noise {
    /// Fits an AR(1) whose hourly means vary as the residuals' do: the standard
    /// deviation is the residuals' (winsorised at 8 robust standard deviations, so one
    /// wild sample does not decide), the memory φ solves
    /// `Var(mean of k) / Var = (1/k)·[1 + 2 Σⱼ (1 − j/k) φʲ]` for the residuals' own
    /// ratio over blocks of `k` samples (an hour), or is the lag-1 autocorrelation when
    /// `k` is 1. The scale of hourly means is what a twin is judged on, and the
    /// residuals of real telemetry hold slow wander that a lag-1 fit would miss. The
    /// tails: the share of innovations `eₜ = rₜ − φ rₜ₋₁` beyond 4 robust standard
    /// deviations picks the nearest of normal, t₁₀, t₅ and t₃.
    pub fn fit(residuals: &[f64], per_hour: usize) -> Noise {
        let mut finite: Vec<f64> = residuals.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.len() < 3 {
            return Noise { sd: 0.0, memory: 0.0, tails: NoiseTails::Normal, tail_share: 0.0 };
        }
        let centre = median_in_place(&mut finite.clone());
        let mut dev: Vec<f64> = finite.iter().map(|v| (v - centre).abs()).collect();
        let robust = 1.4826 * median_in_place(&mut dev);
        let limit = if robust > 0.0 { 8.0 * robust } else { f64::INFINITY };
        for v in &mut finite {
            *v = v.clamp(centre - limit, centre + limit);
        }
        let mean = finite.iter().sum::<f64>() / finite.len() as f64;
        let var = finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (finite.len() - 1) as f64;
        let sd = var.sqrt();
        let clipped: Vec<f64> = residuals
            .iter()
            .map(|v| if v.is_finite() { v.clamp(centre - limit, centre + limit) - mean } else { f64::NAN })
            .collect();
        let memory = if per_hour >= 2 {
            let ratio = block_variance(&clipped, per_hour) / var.max(f64::MIN_POSITIVE);
            solve_memory(ratio, per_hour)
        } else {
            let pairs: Vec<f64> = clipped.iter().copied().filter(|v| v.is_finite()).collect();
            lag1(&pairs).clamp(0.0, 0.99)
        };
        // Innovations and their tails.
        let mut innovations: Vec<f64> =
            clipped.windows(2).filter(|w| w[0].is_finite() && w[1].is_finite()).map(|w| w[1] - memory * w[0]).collect();
        let (tails, tail_share) = pick_tails(&mut innovations);
        Noise { sd, memory, tails, tail_share }
    }

    /// Matches the spread of the model's hourly means (`sd·√g(φ)`, g the variance
    /// ratio of a mean of `k` AR(1) samples) to `target`, the spread one day ahead
    /// (`day_ahead_spread`): φ is re-solved for it, and where even φ = 0.999 or 0 cannot
    /// reach it, the standard deviation moves too. The hourly scale is what a twin is
    /// judged on; the sample-to-sample scale follows.
    fn calibrate(&mut self, target: f64, k: usize) {
        if !(target.is_finite() && target > 0.0) {
            return;
        }
        if self.sd <= 0.0 {
            self.sd = target;
            self.memory = if k >= 2 { 0.999 } else { 0.0 };
            return;
        }
        let ratio = (target / self.sd).powi(2);
        let (low, high) = (mean_variance_ratio(0.0, k), mean_variance_ratio(0.999, k));
        if k < 2 {
            self.sd = target;
        } else if ratio < low {
            self.memory = 0.0;
            self.sd = target / low.sqrt();
        } else if ratio > high {
            self.memory = 0.999;
            self.sd = target / high.sqrt();
        } else {
            self.memory = solve_memory(ratio, k);
        }
    }

    fn describe(&self) -> String {
        let tails = match self.tails {
            NoiseTails::Normal => "normal".to_string(),
            NoiseTails::StudentT(d) => format!("Student t{d}"),
        };
        format!(
            "noise sd {:.4}, memory {:.3} a sample, {tails} tails ({:.2}% of innovations beyond 4 robust sd)",
            self.sd,
            self.memory,
            100.0 * self.tail_share
        )
    }
}

/// Variance of the means of consecutive blocks of `k` values (blocks with a missing
/// value are left out); 0 when fewer than 3 blocks.
fn block_variance(x: &[f64], k: usize) -> f64 {
    let means: Vec<f64> = x
        .chunks_exact(k)
        .filter(|c| c.iter().all(|v| v.is_finite()))
        .map(|c| c.iter().sum::<f64>() / k as f64)
        .collect();
    if means.len() < 3 {
        return 0.0;
    }
    let m = means.iter().sum::<f64>() / means.len() as f64;
    means.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (means.len() - 1) as f64
}

/// The variance of the mean of `k` consecutive AR(1) samples with coefficient `phi`,
/// relative to one sample's: `(1/k)·[1 + 2 Σⱼ₌₁ᵏ⁻¹ (1 − j/k) φʲ]`.
fn mean_variance_ratio(phi: f64, k: usize) -> f64 {
    let mut s = 1.0;
    let mut p = 1.0;
    for j in 1..k {
        p *= phi;
        s += 2.0 * (1.0 - j as f64 / k as f64) * p;
    }
    s / k.max(1) as f64
}

/// The AR(1) φ ∈ [0, 0.999] whose block-of-`k` mean has variance `ratio` times the
/// series' (by bisection: the ratio grows with φ from 1/k to 1).
fn solve_memory(ratio: f64, k: usize) -> f64 {
    let of = |phi: f64| mean_variance_ratio(phi, k);
    if !ratio.is_finite() || ratio <= of(0.0) {
        return 0.0;
    }
    let (mut lo, mut hi) = (0.0f64, 0.999f64);
    if ratio >= of(hi) {
        return hi;
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if of(mid) < ratio {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The share of each distribution (unit variance) beyond 4 of its robust standard
/// deviations (1.4826 × MAD): normal, t₁₀, t₅, t₃ — read off the engine's quantile
/// tables so the choice matches what the engine draws.
fn reference_tail_shares() -> [(NoiseTails, f64); 4] {
    use std::sync::OnceLock;
    static SHARES: OnceLock<[(NoiseTails, f64); 4]> = OnceLock::new();
    *SHARES.get_or_init(|| {
        let kinds = [NoiseTails::Normal, NoiseTails::StudentT(10), NoiseTails::StudentT(5), NoiseTails::StudentT(3)];
        kinds.map(|k| {
            let mut q: Vec<f64> = (0..65536u32).map(|l| crate::model::noise::innovation(k, l)).collect();
            let mut abs: Vec<f64> = q.iter().map(|v| v.abs()).collect();
            let robust = 1.4826 * median_in_place(&mut abs);
            let beyond = q.iter_mut().filter(|v| v.abs() > 4.0 * robust).count();
            (k, beyond as f64 / 65536.0)
        })
    })
}

/// The tails whose share beyond 4 robust sd is nearest (on a log scale) to the
/// innovations'; normal without enough innovations to tell (fewer than 500).
fn pick_tails(e: &mut [f64]) -> (NoiseTails, f64) {
    if e.len() < 500 {
        return (NoiseTails::Normal, 0.0);
    }
    let centre = median_in_place(e);
    let mut dev: Vec<f64> = e.iter().map(|v| (v - centre).abs()).collect();
    let robust = 1.4826 * median_in_place(&mut dev);
    if robust <= 0.0 {
        return (NoiseTails::Normal, 0.0);
    }
    let share = e.iter().filter(|v| (*v - centre).abs() > 4.0 * robust).count() as f64 / e.len() as f64;
    // Half a count keeps the logarithm finite.
    let observed = libm::log(share.max(0.5 / e.len() as f64));
    let best = reference_tail_shares()
        .into_iter()
        .min_by(|a, b| {
            (libm::log(a.1.max(1e-9)) - observed).abs().total_cmp(&(libm::log(b.1.max(1e-9)) - observed).abs())
        })
        .map_or(NoiseTails::Normal, |(k, _)| k);
    (best, share)
}

/// The metric's own range when it has one; else non-negative when every sample is
/// (a count, a rate, a size), unbounded otherwise.
fn natural_bounds(metric_name: &str, values: &[f64]) -> (f64, f64) {
    if let Some((lo, hi)) = metric::info(metric_name).and_then(|i| i.bounds) {
        return (lo, hi);
    }
    let lowest = values.iter().copied().fold(f64::INFINITY, f64::min);
    (if lowest >= 0.0 { 0.0 } else { -f64::MAX }, f64::MAX)
}

/// Decimals the samples carry (0 to 6): the most any of them needs to be written
/// exactly, so simulated values look like the real ones.
pub(crate) fn decimals_of(values: &[f64]) -> i8 {
    let mut most = 0i8;
    // Every sample of a short series, else a spread of 2,000.
    let stride = (values.len() / 2000).max(1);
    for v in values.iter().step_by(stride) {
        let mut d = most;
        while d < 6 {
            let scaled = v * 10f64.powi(i32::from(d));
            if (scaled - scaled.round()).abs() <= 1e-9 * scaled.abs().max(1.0) {
                break;
            }
            d += 1;
        }
        most = most.max(d);
        if most == 6 {
            break;
        }
    }
    most
}

/// `x` rounded to 6 significant digits (learned numbers are estimates; more digits
/// only make the file harder to read).
pub(crate) fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 6 - 1 - libm::log10(x.abs()).floor() as i32;
    let scale = 10f64.powi(digits.clamp(-300, 300));
    (x * scale).round() / scale
}

/// RFC 3339 in UTC, for notes.
pub(crate) fn format_time(t: UnixSecs) -> String {
    chrono::DateTime::from_timestamp(t, 0).map_or_else(|| t.to_string(), |d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}
