//! Point correction and prediction intervals from empirical quantiles of in-sample
//! multi-step errors.
//!
//! The chosen model replays its forecasts from about 200 origins spread over the last
//! three quarters of the history (see `models::Origins`); the errors at each step
//! `h` estimate the error distribution `h` steps ahead, skew and heavy tails included,
//! without assuming Gaussian errors. Steps are pooled in blocks that widen with the
//! step (about h/6 wide, at least 20 errors), the block quantiles are interpolated
//! between block centres, the interval bounds made monotone (an interval never narrows
//! with the horizon), and beyond the longest replayed step they grow with √h.
//!
//! Beyond the longest replayed step (which `models::Origins::longest_trusted_step`
//! keeps short enough that one event in the history cannot decide a step's median) the
//! median correction stays at its last value — unless its slope over the second half
//! of the replayed steps is *earned*: the earlier and the later half of the origins
//! show the same slope (same sign, within a factor of two). Then it continues with that
//! slope. A steady climb that a damped trend under-forecasts grows the correction at
//! every origin and is carried on (a filling disk still crosses its threshold days
//! ahead); a level shift grows it only at the origins just before the shift, the later
//! half, and is not — so a shift in the history is not forecast to happen again.
//!
//! The point forecast is the model's forecast plus the median error of its step: the
//! median minimises the absolute error (what MASE measures), and on bursty telemetry —
//! mostly idle with spikes — a least-squares model sits above the idle level, which the
//! median correction takes back. With symmetric errors the correction is about zero.

use super::models::StepErrors;

/// Fewest errors a block pools before its quantiles are trusted.
const MIN_POOL: usize = 20;

/// Offsets to add to the model's forecast, per step (index h - 1).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IntervalOffsets {
    /// Median of the errors: the point forecast's correction.
    pub median: Vec<f64>,
    /// 10% quantile of the errors (≤ median).
    pub lower_80: Vec<f64>,
    /// 90% quantile (≥ median).
    pub upper_80: Vec<f64>,
    /// 2.5% quantile (≤ lower_80).
    pub lower_95: Vec<f64>,
    /// 97.5% quantile (≥ upper_80).
    pub upper_95: Vec<f64>,
}

/// The `q` quantile (linear interpolation between order statistics) of `x`, which is
/// reordered.
fn quantile(x: &mut [f64], q: f64) -> f64 {
    let n = x.len();
    if n == 0 {
        return 0.0;
    }
    let pos = q * (n - 1) as f64;
    let k = pos.floor() as usize;
    let frac = pos - k as f64;
    let (_, low, rest) = x.select_nth_unstable_by(k, f64::total_cmp);
    let low = *low;
    if frac == 0.0 || rest.is_empty() {
        return low;
    }
    let high = rest.iter().copied().fold(f64::INFINITY, f64::min);
    low + frac * (high - low)
}

/// Blocks of replayed steps that pool errors, as index ranges `first..=last` into
/// `errors.steps`: about h/6 steps wide and holding at least [`MIN_POOL`] errors (the
/// first block may hold fewer when nothing else is left).
fn blocks(errors: &StepErrors) -> Vec<(usize, usize)> {
    let available = errors.steps.len();
    let mut out = Vec::new();
    let mut first = 0;
    while first < available {
        let step = errors.steps[first];
        let last_step = step + (step / 6).max(1) - 1;
        let mut last = first;
        while last + 1 < available && errors.steps[last + 1] <= last_step {
            last += 1;
        }
        let mut count: usize = errors.by_step[first..=last].iter().map(Vec::len).sum();
        while count < MIN_POOL && last + 1 < available {
            last += 1;
            count += errors.by_step[last].len();
        }
        if count >= MIN_POOL || (out.is_empty() && count > 0) {
            out.push((first, last));
        }
        first = last + 1;
    }
    out
}

/// The slope (per step) of the median correction over the second half of the replayed
/// steps, from `(step, median)` knots: from the interpolated median at half the last
/// knot's step to the last knot's median. 0 when the first knot is beyond that half
/// (too few steps replayed).
fn correction_slope(knots: &[(f64, f64)]) -> f64 {
    let Some(&(last, last_median)) = knots.last() else {
        return 0.0;
    };
    let mid = last / 2.0;
    if knots.len() < 2 || mid < knots[0].0 {
        return 0.0;
    }
    let i = knots.partition_point(|(x, _)| *x < mid).clamp(1, knots.len() - 1);
    let ((x0, m0), (x1, m1)) = (knots[i - 1], knots[i]);
    let at_mid = if x1 > x0 { m0 + (mid - x0) / (x1 - x0) * (m1 - m0) } else { m1 };
    (last_median - at_mid) / (last - mid)
}

/// The slope the correction continues with beyond the replayed steps: `all` when the
/// earlier and the later half of the origins show it alike (same sign, the smaller at
/// least half the larger), else 0. A steady trend the model under-forecasts (a damped
/// trend on a disk that fills steadily) grows the correction at every origin; an
/// event seen once (a level shift) grows it only at the origins just before the event,
/// and a drift of noise at neither consistently — those are not carried on.
fn earned_slope(all: f64, early: f64, late: f64) -> f64 {
    let agree = early * late > 0.0 && early.abs().min(late.abs()) >= 0.5 * early.abs().max(late.abs());
    if agree && all * early > 0.0 { all } else { 0.0 }
}

/// Mean absolute error after the per-block median correction: how well a candidate's
/// corrected point forecast did in-sample (the model-selection score). `None` without
/// errors.
pub fn corrected_mae(errors: &StepErrors) -> Option<f64> {
    let mut pool: Vec<f64> = Vec::new();
    let (mut sum, mut count) = (0.0, 0usize);
    for (first, last) in blocks(errors) {
        pool.clear();
        pool.extend(errors.by_step[first..=last].iter().flatten());
        let centre = quantile(&mut pool, 0.5);
        sum += pool.iter().map(|e| (e - centre).abs()).sum::<f64>();
        count += pool.len();
    }
    (count > 0).then(|| sum / count as f64)
}

/// The 10%, 90%, 2.5%, 97.5% and 50% quantiles of `x` (reordered). The median is
/// selected first; the lower quantiles are then selected in the part below it and the
/// upper ones in the part above, which halves the work of five independent selections.
fn quantiles(x: &mut [f64]) -> [f64; 5] {
    let n = x.len();
    if n < 8 {
        return [0.10, 0.90, 0.025, 0.975, 0.5].map(|q| quantile(x, q));
    }
    let median = quantile(x, 0.5);
    // After the median's selection, everything at index ≤ floor(0.5·(n-1)) is ≤ the
    // order statistics above it, so ranks below the middle lie in the left part.
    let mid = (0.5 * (n - 1) as f64).floor() as usize;
    let rank = |q: f64| q * (n - 1) as f64;
    let low = |x: &mut [f64], q: f64| -> f64 {
        let pos = rank(q);
        let k = pos.floor() as usize;
        let frac = pos - k as f64;
        // k + 1 ≤ mid here (q ≤ 0.1 and n ≥ 8), so both order statistics are left.
        let (_, a, right) = x[..=mid].select_nth_unstable_by(k, f64::total_cmp);
        let a = *a;
        let b = right.iter().copied().fold(f64::INFINITY, f64::min);
        if frac == 0.0 { a } else { a + frac * (b - a) }
    };
    let high = |x: &mut [f64], q: f64| -> f64 {
        let pos = rank(q);
        let k = pos.floor() as usize;
        let frac = pos - k as f64;
        let part = &mut x[mid..];
        let (_, a, right) = part.select_nth_unstable_by(k - mid, f64::total_cmp);
        let a = *a;
        let b = if frac == 0.0 || right.is_empty() { a } else { right.iter().copied().fold(f64::INFINITY, f64::min) };
        a + frac * (b - a)
    };
    let q10 = low(x, 0.10);
    let q025 = low(x, 0.025);
    let q90 = high(x, 0.90);
    let q975 = high(x, 0.975);
    [q10, q90, q025, q975, median]
}

impl IntervalOffsets {
    /// Moves every bound `by` further from the point forecast.
    pub fn widen(&mut self, by: f64) {
        for v in self.lower_80.iter_mut().chain(&mut self.lower_95) {
            *v -= by;
        }
        for v in self.upper_80.iter_mut().chain(&mut self.upper_95) {
            *v += by;
        }
    }

    /// Offsets for steps 1..=horizon from in-sample errors. The correction continues
    /// along an earned slope beyond the replayed steps only when those reach
    /// `min_trend_steps` (a day of samples: over fewer steps, the flank of a daily swing
    /// looks like a trend).
    pub fn from_errors(errors: &StepErrors, horizon: usize, min_trend_steps: usize) -> IntervalOffsets {
        // (centre step, [q10, q90, q2.5, q97.5, q50]) per block.
        let mut knots: Vec<(f64, [f64; 5])> = Vec::new();
        // (centre step, median) per block, of the earlier and of the later half of the
        // origins (each step's errors are in origin order).
        let mut early: Vec<(f64, f64)> = Vec::new();
        let mut late: Vec<(f64, f64)> = Vec::new();
        let mut pool: Vec<f64> = Vec::new();
        for (first, last) in blocks(errors) {
            let centre = (errors.steps[first] + errors.steps[last]) as f64 / 2.0;
            for (half, out) in [(0, &mut early), (1, &mut late)] {
                pool.clear();
                for e in &errors.by_step[first..=last] {
                    let mid = e.len() / 2;
                    pool.extend(if half == 0 { &e[..mid] } else { &e[mid..] });
                }
                out.push((centre, quantile(&mut pool, 0.5)));
            }
            pool.clear();
            pool.extend(errors.by_step[first..=last].iter().flatten());
            let q = quantiles(&mut pool);
            knots.push((centre, q));
        }
        let mut out = IntervalOffsets::default();
        let Some(&(last_centre, last_q)) = knots.last() else {
            out.median = vec![0.0; horizon];
            out.lower_80 = vec![0.0; horizon];
            out.upper_80 = vec![0.0; horizon];
            out.lower_95 = vec![0.0; horizon];
            out.upper_95 = vec![0.0; horizon];
            return out;
        };
        let medians: Vec<(f64, f64)> = knots.iter().map(|(x, q)| (*x, q[4])).collect();
        let slope = if last_centre >= min_trend_steps as f64 {
            earned_slope(correction_slope(&medians), correction_slope(&early), correction_slope(&late))
        } else {
            0.0
        };
        let mut k = 0;
        let mut running = [f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY];
        for h in 1..=horizon {
            let x = h as f64;
            let q = if x <= knots[0].0 {
                knots[0].1
            } else if x >= last_centre {
                // The correction continues its course over the second half of the
                // replayed steps; the spread grows with √h around it.
                let grow = (x / last_centre).sqrt();
                let centre = last_q[4] + slope * (x - last_centre);
                last_q.map(|v| centre + (v - last_q[4]) * grow)
            } else {
                while knots[k + 1].0 < x {
                    k += 1;
                }
                let (x0, q0) = knots[k];
                let (x1, q1) = knots[k + 1];
                let w = (x - x0) / (x1 - x0);
                [0, 1, 2, 3, 4].map(|i| q0[i] + w * (q1[i] - q0[i]))
            };
            // Bounds monotone in h, and nested: the 95% interval contains the 80% one,
            // which contains the corrected point forecast.
            let median = q[4];
            running[0] = running[0].min(q[0]).min(median);
            running[1] = running[1].max(q[1]).max(median);
            running[2] = running[2].min(q[2]).min(running[0]);
            running[3] = running[3].max(q[3]).max(running[1]);
            out.median.push(median);
            out.lower_80.push(running[0]);
            out.upper_80.push(running[1]);
            out.lower_95.push(running[2]);
            out.upper_95.push(running[3]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let mut x: Vec<f64> = (0..=10).rev().map(f64::from).collect();
        assert_eq!(quantile(&mut x, 0.5), 5.0);
        assert!((quantile(&mut x, 0.25) - 2.5).abs() < 1e-12);
        assert_eq!(quantile(&mut x, 1.0), 10.0);
    }

    #[test]
    fn partitioned_quantiles_match_independent_ones() {
        for n in [5usize, 8, 9, 40, 41, 200, 1001] {
            let data: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1009) as f64 * 0.37 - 50.0).collect();
            let mut a = data.clone();
            let got = quantiles(&mut a);
            let want = [0.10, 0.90, 0.025, 0.975, 0.5].map(|q| quantile(&mut data.clone(), q));
            assert_eq!(got, want, "n = {n}");
        }
    }

    #[test]
    fn a_steady_bias_continues_beyond_the_replay_and_an_event_does_not() {
        // 100 origins, steps 1..=60. Steady: every origin under-forecasts by 0.1 per
        // step (a damped trend on a steady climb), with a little noise.
        let noise = |i: usize| ((i * 37) % 11) as f64 * 0.01;
        let steady: Vec<Vec<f64>> = (1..=60).map(|h| (0..100).map(|i| 0.1 * h as f64 + noise(i)).collect()).collect();
        let off = IntervalOffsets::from_errors(&StepErrors { steps: (1..=60).collect(), by_step: steady }, 120, 40);
        assert!((off.median[119] - 12.0).abs() < 0.5, "{}", off.median[119]);
        // Event: a level shift of +8 before origin 90 of 100; origins reaching step h
        // are 0..100 - h, and those within h before the shift straddle it.
        let event: Vec<Vec<f64>> = (1..=60)
            .map(|h| (0..100 - h).map(|o| if o + h >= 90 && o < 90 { 8.0 } else { 0.0 } + noise(o)).collect())
            .collect();
        let off = IntervalOffsets::from_errors(&StepErrors { steps: (1..=60).collect(), by_step: event }, 120, 40);
        let at_last_step = off.median[59];
        assert_eq!(off.median[119], at_last_step, "the event's growth is not carried on");
        // Replayed over fewer steps than a day: not a trend yet.
        let steady: Vec<Vec<f64>> = (1..=60).map(|h| (0..100).map(|i| 0.1 * h as f64 + noise(i)).collect()).collect();
        let short = IntervalOffsets::from_errors(&StepErrors { steps: (1..=60).collect(), by_step: steady }, 120, 288);
        assert_eq!(short.median[119], short.median[59]);
        assert_eq!(earned_slope(1.0, 1.0, 0.6), 1.0);
        assert_eq!(earned_slope(1.0, 0.1, 2.0), 0.0);
        assert_eq!(earned_slope(1.0, -1.0, 1.0), 0.0);
    }

    #[test]
    fn offsets_widen_and_nest() {
        // Errors whose spread grows with the step.
        let by_step: Vec<Vec<f64>> =
            (1..=30).map(|h| (0..50).map(|i| (f64::from(i) - 24.5) * f64::from(h) / 10.0).collect()).collect();
        let off = IntervalOffsets::from_errors(&StepErrors { steps: (1..=30).collect(), by_step }, 60, 1);
        assert_eq!(off.upper_80.len(), 60);
        for h in 1..60 {
            assert!(off.upper_80[h] >= off.upper_80[h - 1] && off.lower_80[h] <= off.lower_80[h - 1]);
            assert!(off.upper_95[h] >= off.upper_80[h] && off.lower_95[h] <= off.lower_80[h]);
        }
        assert!(off.upper_80[59] > 2.0 * off.upper_80[0]);
        assert!(off.median.iter().all(|m| m.abs() < 1e-9), "symmetric errors need no correction");
        let skewed = StepErrors { steps: (1..=10).collect(), by_step: vec![vec![-1.0, -1.0, -1.0, 5.0, -1.0]; 10] };
        let off_skewed = IntervalOffsets::from_errors(&skewed, 30, 1);
        assert_eq!(off_skewed.median, vec![-1.0; 30], "a flat correction stays flat beyond the replay");
        let off = IntervalOffsets::from_errors(&skewed, 10, 1);
        assert_eq!(off.median, vec![-1.0; 10]);
        assert_eq!(corrected_mae(&skewed), Some(1.2));
    }
}
