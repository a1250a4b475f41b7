//! Prediction intervals from empirical quantiles of in-sample multi-step errors.
//!
//! The chosen model replays its forecasts from about 400 origins spread over the last
//! three quarters of the history (see `models::Origins`); the errors at each step
//! `h` estimate the error distribution `h` steps ahead, skew and heavy tails included,
//! without assuming Gaussian errors. Steps are pooled in blocks that widen with the
//! step (about h/6 wide, at least 20 errors), the block quantiles are interpolated
//! between block centres, made monotone (an interval never narrows with the horizon),
//! and beyond the longest replayed step they grow with √h.

use super::models::StepErrors;

/// Fewest errors a block pools before its quantiles are trusted.
const MIN_POOL: usize = 20;

/// Offsets to add to the point forecast, per step (index h - 1).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IntervalOffsets {
    /// 10% quantile of the errors (≤ 0).
    pub lower_80: Vec<f64>,
    /// 90% quantile (≥ 0).
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

impl IntervalOffsets {
    /// Interval offsets for steps 1..=horizon from in-sample errors.
    pub fn from_errors(errors: &StepErrors, horizon: usize) -> IntervalOffsets {
        let available = errors.by_step.len();
        // (centre step, [q10, q90, q2.5, q97.5]) per block.
        let mut knots: Vec<(f64, [f64; 4])> = Vec::new();
        let mut start = 1;
        let mut pool: Vec<f64> = Vec::new();
        while start <= available {
            pool.clear();
            let mut end = start + (start / 6).max(1) - 1;
            end = end.min(available);
            pool.extend(errors.by_step[start - 1..end].iter().flatten());
            while pool.len() < MIN_POOL && end < available {
                end += 1;
                pool.extend(&errors.by_step[end - 1]);
            }
            if pool.len() >= MIN_POOL || knots.is_empty() {
                if pool.is_empty() {
                    break;
                }
                let q = [
                    quantile(&mut pool, 0.10),
                    quantile(&mut pool, 0.90),
                    quantile(&mut pool, 0.025),
                    quantile(&mut pool, 0.975),
                ];
                knots.push(((start + end) as f64 / 2.0, q));
            }
            start = end + 1;
        }
        let mut out = IntervalOffsets::default();
        let Some(&(last_centre, last_q)) = knots.last() else {
            out.lower_80 = vec![0.0; horizon];
            out.upper_80 = vec![0.0; horizon];
            out.lower_95 = vec![0.0; horizon];
            out.upper_95 = vec![0.0; horizon];
            return out;
        };
        let mut k = 0;
        let mut running = [0.0f64; 4];
        for h in 1..=horizon {
            let x = h as f64;
            let q = if x <= knots[0].0 {
                knots[0].1
            } else if x >= last_centre {
                let grow = (x / last_centre).sqrt();
                last_q.map(|v| v * grow)
            } else {
                while knots[k + 1].0 < x {
                    k += 1;
                }
                let (x0, q0) = knots[k];
                let (x1, q1) = knots[k + 1];
                let w = (x - x0) / (x1 - x0);
                [0, 1, 2, 3].map(|i| q0[i] + w * (q1[i] - q0[i]))
            };
            // Monotone in h, and nested: the 95% interval contains the 80% one, which
            // contains the point forecast.
            running[0] = running[0].min(q[0]).min(0.0);
            running[1] = running[1].max(q[1]).max(0.0);
            running[2] = running[2].min(q[2]).min(running[0]);
            running[3] = running[3].max(q[3]).max(running[1]);
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
    fn offsets_widen_and_nest() {
        // Errors whose spread grows with the step.
        let by_step: Vec<Vec<f64>> =
            (1..=30).map(|h| (0..50).map(|i| (f64::from(i) - 24.5) * f64::from(h) / 10.0).collect()).collect();
        let off = IntervalOffsets::from_errors(&StepErrors { by_step }, 60);
        assert_eq!(off.upper_80.len(), 60);
        for h in 1..60 {
            assert!(off.upper_80[h] >= off.upper_80[h - 1] && off.lower_80[h] <= off.lower_80[h - 1]);
            assert!(off.upper_95[h] >= off.upper_80[h] && off.lower_95[h] <= off.lower_80[h]);
        }
        assert!(off.upper_80[59] > 2.0 * off.upper_80[0]);
    }
}
