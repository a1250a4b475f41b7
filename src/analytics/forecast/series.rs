//! Turning raw samples into a regular series: the sampling interval is inferred from
//! the timestamps, rows are put in time order, duplicates merged, samples snapped to the
//! grid and short gaps filled.
//!
//! Repair policy (documented in `ForecastConfig` and ARCHITECTURE.md):
//! - rows out of time order are sorted (stable) — reported, not an error;
//! - samples that land on the same grid slot (duplicate timestamps, or jitter smaller
//!   than half an interval) are merged into their mean — reported;
//! - a gap of up to `max_gap_steps` missing slots is filled by linear interpolation
//!   between its neighbours — reported; a longer gap is an error naming the sample after
//!   it, because a long interpolated line would teach the models a pattern that never
//!   happened.

use super::ForecastError;

/// What preparing the series had to repair. All zero for a clean, regular input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Repairs {
    /// True when the rows were not in time order and were sorted.
    pub sorted: bool,
    /// Samples merged into another sample of the same grid slot (duplicates or jitter).
    pub merged: usize,
    /// Gaps that were filled.
    pub gaps_filled: usize,
    /// Grid slots filled by interpolation.
    pub samples_filled: usize,
}

/// A regular series: `values[i]` is the value at `start + i * step_secs`.
#[derive(Clone, Debug, PartialEq)]
pub struct RegularSeries {
    /// Unix seconds of the first sample.
    pub start: i64,
    /// The sampling interval in seconds (> 0).
    pub step_secs: i64,
    /// One value per grid slot, gaps filled.
    pub values: Vec<f64>,
    /// What had to be repaired.
    pub repairs: Repairs,
}

impl RegularSeries {
    /// Unix seconds of the last sample.
    pub fn last_ts(&self) -> i64 {
        self.start + (self.values.len() as i64 - 1) * self.step_secs
    }
}

/// The median of the positive differences between sorted timestamps, or `None` when
/// all timestamps are equal.
pub fn infer_step_secs(sorted_ts: &[i64]) -> Option<i64> {
    let mut deltas: Vec<i64> = sorted_ts.windows(2).map(|w| w[1].saturating_sub(w[0])).filter(|d| *d > 0).collect();
    if deltas.is_empty() {
        return None;
    }
    let mid = deltas.len() / 2;
    let (_, median, _) = deltas.select_nth_unstable(mid);
    Some(*median)
}

/// Validates and regularises raw samples (see the module doc for the repair policy).
/// Indices in errors refer to the caller's slices.
pub fn regularize(ts: &[i64], values: &[f64], max_gap_steps: usize) -> Result<RegularSeries, ForecastError> {
    if ts.len() != values.len() {
        return Err(ForecastError::LengthMismatch { timestamps: ts.len(), values: values.len() });
    }
    if ts.is_empty() {
        return Err(ForecastError::Empty);
    }
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(ForecastError::NonFinite { index, value: values[index] });
    }
    let mut repairs = Repairs::default();
    let mut order: Vec<usize> = (0..ts.len()).collect();
    if ts.windows(2).any(|w| w[1] < w[0]) {
        repairs.sorted = true;
        order.sort_by_key(|&i| ts[i]);
    }
    let sorted_ts: Vec<i64> = order.iter().map(|&i| ts[i]).collect();
    let Some(step) = infer_step_secs(&sorted_ts) else {
        return Err(ForecastError::TooShort { samples: 1, min: super::MIN_SAMPLES });
    };
    let start = sorted_ts[0];
    // Slot of every sample: the nearest grid point. Offsets are bounded because
    // timestamps are i64 seconds; i128 keeps the rounding exact for any input.
    let slot_of = |t: i64| -> i128 {
        let offset = i128::from(t) - i128::from(start);
        let step = i128::from(step);
        (offset + step / 2).div_euclid(step)
    };
    // Every grid time, and the first forecast row after it, must be an i64.
    let last_grid = i128::from(start) + (slot_of(sorted_ts[sorted_ts.len() - 1]) + 1) * i128::from(step);
    if last_grid > i128::from(i64::MAX) {
        return Err(ForecastError::TimeOverflow);
    }
    let mut values_out: Vec<f64> = Vec::with_capacity(ts.len());
    let mut last_slot: i128 = -1;
    let mut run_sum = 0.0;
    let mut run_count = 0usize;
    for &i in &order {
        let slot = slot_of(ts[i]);
        if slot == last_slot {
            run_sum += values[i];
            run_count += 1;
            repairs.merged += 1;
            continue;
        }
        if run_count > 0 {
            values_out.push(run_sum / run_count as f64);
        }
        let missing = u64::try_from(slot - last_slot - 1).unwrap_or(u64::MAX);
        if last_slot >= 0 && missing > 0 {
            if missing > max_gap_steps as u64 {
                return Err(ForecastError::Gap { index: i, missing_steps: missing, step_secs: step, max_gap_steps });
            }
            let before = values_out.last().copied().unwrap_or(values[i]);
            let after = values[i];
            for k in 1..=missing {
                let w = k as f64 / (missing + 1) as f64;
                values_out.push(before + (after - before) * w);
            }
            repairs.gaps_filled += 1;
            repairs.samples_filled += missing as usize;
        }
        last_slot = slot;
        run_sum = values[i];
        run_count = 1;
    }
    if run_count > 0 {
        values_out.push(run_sum / run_count as f64);
    }
    Ok(RegularSeries { start, step_secs: step, values: values_out, repairs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_the_median_positive_step() {
        assert_eq!(infer_step_secs(&[0, 300, 600, 600, 900, 1500]), Some(300));
        assert_eq!(infer_step_secs(&[5, 5, 5]), None);
    }

    #[test]
    fn sorts_merges_and_fills() {
        let ts = [600, 0, 300, 300, 1500, 1800];
        let v = [3.0, 1.0, 2.0, 4.0, 6.0, 7.0];
        let s = regularize(&ts, &v, 3).unwrap();
        assert_eq!(s.step_secs, 300);
        assert_eq!(s.start, 0);
        // slots: 0 -> 1, 1 -> (2+4)/2, 2 -> 3, 3,4 filled between 3 and 6, 5 -> 6, 6 -> 7
        assert_eq!(s.values, vec![1.0, 3.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(s.repairs, Repairs { sorted: true, merged: 1, gaps_filled: 1, samples_filled: 2 });
        assert_eq!(s.last_ts(), 1800);
    }

    #[test]
    fn long_gaps_and_bad_values_are_errors() {
        let ts = [0, 60, 120, 1200, 1260];
        let v = [1.0; 5];
        assert!(matches!(regularize(&ts, &v, 5), Err(ForecastError::Gap { index: 3, missing_steps: 17, .. })));
        assert!(matches!(regularize(&[0, 60], &[1.0, f64::NAN], 5), Err(ForecastError::NonFinite { index: 1, .. })));
        assert!(matches!(regularize(&[], &[], 5), Err(ForecastError::Empty)));
        assert!(matches!(regularize(&[0], &[1.0, 2.0], 5), Err(ForecastError::LengthMismatch { .. })));
        assert!(matches!(regularize(&[7, 7], &[1.0, 2.0], 5), Err(ForecastError::TooShort { .. })));
        assert!(matches!(
            regularize(&[i64::MIN, 0, i64::MAX], &[1.0; 3], 5),
            Err(ForecastError::TimeOverflow | ForecastError::Gap { .. })
        ));
        assert!(matches!(regularize(&[i64::MAX - 1, i64::MAX], &[1.0; 2], 5), Err(ForecastError::TimeOverflow)));
    }
}
