//! Small streaming statistics the detectors share: a sliding window kept sorted (for
//! medians and quantiles over the recent past) and a tail calibrator that turns a raw
//! surprise statistic into a tail probability measured against that statistic's own
//! history on this series.

use std::cmp::Ordering;
use std::collections::VecDeque;

/// The last `capacity` values in arrival order, with a sorted copy for quantiles.
///
/// Insertion and eviction are a binary search plus a memmove: O(capacity) in the worst
/// case, which for the windows used here (hundreds to a few thousand values) is cheaper
/// than a balanced tree. Values must be finite (callers check).
#[derive(Clone, Debug)]
pub(crate) struct SortedWindow {
    capacity: usize,
    fifo: VecDeque<f64>,
    sorted: Vec<f64>,
}

impl SortedWindow {
    /// An empty window that keeps at most `capacity` values (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self { capacity, fifo: VecDeque::with_capacity(capacity), sorted: Vec::with_capacity(capacity) }
    }

    /// Number of values held.
    pub(crate) fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Adds a value, evicting the oldest when full; returns the evicted value.
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        let evicted = if self.fifo.len() == self.capacity { self.fifo.pop_front() } else { None };
        self.fifo.push_back(x);
        let at = self.sorted.partition_point(|v| v.total_cmp(&x) != Ordering::Greater);
        if let Some(old) = evicted {
            let i = self.sorted.partition_point(|v| v.total_cmp(&old) == Ordering::Less);
            if i < self.sorted.len() {
                // Remove `old` and insert `x` in one shift of the values between them
                // (the same order as removing, then inserting).
                if i < at {
                    let at = at - 1;
                    self.sorted.copy_within(i + 1..=at, i);
                    self.sorted[at] = x;
                } else {
                    self.sorted.copy_within(at..i, at + 1);
                    self.sorted[at] = x;
                }
                return evicted;
            }
        }
        self.sorted.insert(at, x);
        evicted
    }

    /// The `q` quantile (0..=1) with linear interpolation; `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        quantile_sorted(&self.sorted, q)
    }

    /// The median; `None` when empty.
    pub(crate) fn median(&self) -> Option<f64> {
        self.quantile(0.5)
    }

    /// How many held values are `>= x` (the reference the blocked window is tested against).
    #[cfg(test)]
    pub(crate) fn count_at_least(&self, x: f64) -> usize {
        self.sorted.len() - self.sorted.partition_point(|v| *v < x)
    }

    /// The values in ascending order.
    #[cfg(test)]
    pub(crate) fn sorted(&self) -> &[f64] {
        &self.sorted
    }

    /// A robust, conservative estimate of the standard deviation: the largest of
    /// IQR/1.349, the 10–90% range / 2.563 and the mean absolute deviation from the
    /// median / 0.798 (each equals σ for Gaussian data). The second keeps a scale when
    /// more than half the window is one repeated value (idle CPU, zero traffic); the
    /// third when more than 80% is, so that the bursts of a mostly idle metric set its
    /// scale instead of a vanishing one. Never below `floor`.
    pub(crate) fn robust_sigma(&self, floor: f64) -> Option<f64> {
        let median = self.median()?;
        let iqr = self.quantile(0.75)? - self.quantile(0.25)?;
        let d80 = self.quantile(0.9)? - self.quantile(0.1)?;
        let mean_abs_dev = lane_sum_abs_dev(&self.sorted, median) / self.sorted.len() as f64;
        Some((iqr / 1.349).max(d80 / 2.563).max(mean_abs_dev / 0.798).max(floor))
    }
}

/// The last `capacity` values in arrival order, kept sorted in blocks of a few hundred:
/// for the long calibration histories (thousands of values) an insertion moves one
/// block instead of half the window. Answers exactly what a [`SortedWindow`] of the
/// same values would. Values must be finite (callers check).
#[derive(Clone, Debug)]
pub(crate) struct BlockedWindow {
    capacity: usize,
    fifo: VecDeque<f64>,
    /// Ascending runs; every value of a block is at most every value of the next.
    blocks: Vec<Vec<f64>>,
}

/// Blocks are split when they grow past twice this.
const BLOCK: usize = 256;

impl BlockedWindow {
    /// An empty window that keeps at most `capacity` values (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self { capacity, fifo: VecDeque::with_capacity(capacity), blocks: Vec::new() }
    }

    /// Number of values held.
    pub(crate) fn len(&self) -> usize {
        self.fifo.len()
    }

    /// Adds a value, evicting the oldest when full.
    pub(crate) fn push(&mut self, x: f64) {
        if self.fifo.len() == self.capacity
            && let Some(old) = self.fifo.pop_front()
        {
            self.remove(old);
        }
        self.fifo.push_back(x);
        // The first block whose largest value is above `x` (equal values go after
        // their equals, as in `SortedWindow`), else the last block.
        let b = self.blocks.partition_point(|b| b.last().is_some_and(|v| v.total_cmp(&x) != Ordering::Greater));
        let b = b.min(self.blocks.len().saturating_sub(1));
        let Some(block) = self.blocks.get_mut(b) else {
            self.blocks.push(vec![x]);
            return;
        };
        let i = block.partition_point(|v| v.total_cmp(&x) != Ordering::Greater);
        block.insert(i, x);
        if block.len() > 2 * BLOCK {
            let tail = block.split_off(BLOCK);
            self.blocks.insert(b + 1, tail);
        }
    }

    fn remove(&mut self, old: f64) {
        let b = self.blocks.partition_point(|b| b.last().is_some_and(|v| v.total_cmp(&old) == Ordering::Less));
        let Some(block) = self.blocks.get_mut(b) else {
            return;
        };
        let i = block.partition_point(|v| v.total_cmp(&old) == Ordering::Less);
        if i < block.len() {
            block.remove(i);
        }
        if block.is_empty() {
            self.blocks.remove(b);
        }
    }

    /// The largest value held.
    pub(crate) fn max(&self) -> Option<f64> {
        self.blocks.last().and_then(|b| b.last()).copied()
    }

    /// How many held values are `>= x`.
    pub(crate) fn count_at_least(&self, x: f64) -> usize {
        let mut count = 0;
        for block in self.blocks.iter().rev() {
            match block.first() {
                Some(first) if *first >= x => count += block.len(),
                _ => return count + block.len() - block.partition_point(|v| *v < x),
            }
        }
        count
    }

    /// The `k` largest values, ascending.
    pub(crate) fn top(&self, k: usize) -> Vec<f64> {
        let mut out: Vec<f64> = self.blocks.iter().rev().flat_map(|b| b.iter().rev()).take(k).copied().collect();
        out.reverse();
        out
    }
}

/// The `q` quantile of ascending `sorted` values with linear interpolation.
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = pos - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// The sum of `values` in four interleaved partial sums (value `i` goes to sum
/// `i mod 4`, then `(s0 + s1) + (s2 + s3)`): a function of the values and their order
/// alone, like a plain sum, but four additions run at once instead of one after the
/// other (the detector sums windows of hundreds of values per sample).
pub(crate) fn lane_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut lanes = [0.0f64; 4];
    for (i, v) in values.into_iter().enumerate() {
        lanes[i % 4] += v;
    }
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}

/// `lane_sum(values.iter().map(|v| (v - m).abs()))`, the same number, in a form the
/// compiler turns into vector instructions.
pub(crate) fn lane_sum_abs_dev(values: &[f64], m: f64) -> f64 {
    let mut lanes = [0.0f64; 4];
    let chunks = values.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..4 {
            lanes[k] += (c[k] - m).abs();
        }
    }
    for (k, v) in rest.iter().enumerate() {
        lanes[k] += (v - m).abs();
    }
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}

/// The median of a small slice (copied and sorted); `None` when empty.
#[cfg(test)]
pub(crate) fn median_of(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, 0.5)
}

/// The median of `values` as [`median_of`] gives it (the same number), reordering
/// them in place instead of sorting a copy; `None` when empty.
pub(crate) fn median_in_place(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    // The positions `quantile_sorted` reads at q = 0.5, found by selection.
    let pos = 0.5 * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = pos - lo as f64;
    let (_, at_lo, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let at_lo = *at_lo;
    let at_hi = if hi == lo { at_lo } else { above.iter().copied().min_by(f64::total_cmp).unwrap_or(at_lo) };
    Some(at_lo + (at_hi - at_lo) * frac)
}

/// Turns a raw surprise statistic (larger = more unusual) into a tail probability
/// P(S ≥ s) estimated from the statistic's own recent history on this series.
///
/// Within the range of past values the probability is the empirical rank, so a
/// pattern that recurs (a nightly batch spike) is exactly as rare as it has been.
/// Beyond the largest past value, a generalised Pareto tail fitted to the top
/// [`TAIL_FRACTION`] of the history (peaks over threshold, probability-weighted
/// moments, shape clamped to [0, [`MAX_SHAPE`]]) extrapolates to values never seen
/// before. Calibrating each
/// statistic against itself is what lets one threshold mean the same false-alarm rate
/// on a calm series and on a spiky one.
#[derive(Clone, Debug)]
pub(crate) struct TailCalibrator {
    history: BlockedWindow,
    min_history: usize,
}

/// Share of the calibration history treated as the tail.
pub(crate) const TAIL_FRACTION: f64 = 0.1;
/// Largest tail shape allowed.
pub(crate) const MAX_SHAPE: f64 = 0.0;

impl TailCalibrator {
    /// A calibrator remembering `memory` past statistics, silent (probability 1) until
    /// it has seen `min_history` of them.
    pub(crate) fn new(memory: usize, min_history: usize) -> Self {
        Self { history: BlockedWindow::new(memory), min_history: min_history.max(10) }
    }

    /// Whether enough history has been seen to give probabilities.
    pub(crate) fn is_ready(&self) -> bool {
        self.history.len() >= self.min_history
    }

    /// P(S ≥ s) from the history so far (1 while not ready). Does not record `s`.
    pub(crate) fn tail_prob(&self, s: f64) -> f64 {
        if !self.is_ready() {
            return 1.0;
        }
        let n = self.history.len();
        let Some(max) = self.history.max() else {
            return 1.0;
        };
        if s <= max {
            return (self.history.count_at_least(s) + 1) as f64 / (n + 1) as f64;
        }
        // Beyond everything seen: the tail fitted to the top exceedances, conditioned
        // on being above the maximum.
        let k = ((TAIL_FRACTION * n as f64).ceil() as usize).clamp(5, n - 1);
        let top = self.history.top(k + 1);
        let u = top[0];
        let (xi, sigma) = fit_gpd(&top[1..], u);
        let survival = |x: f64| {
            let y = (x - u).max(0.0);
            if xi < 1e-6 { (-y / sigma).exp() } else { (1.0 + xi * y / sigma).powf(-1.0 / xi) }
        };
        let beyond = survival(s) / survival(max).max(f64::MIN_POSITIVE);
        (beyond / (n + 1) as f64).clamp(f64::MIN_POSITIVE, 1.0)
    }

    /// Records a statistic into the history.
    pub(crate) fn record(&mut self, s: f64) {
        if s.is_finite() {
            self.history.push(s);
        }
    }
}

/// Generalised Pareto (shape ξ, scale σ) of the exceedances `ascending - u` by
/// probability-weighted moments (Hosking & Wallis 1987), ξ clamped to [0, 0.5] and σ
/// re-derived from the mean so the fitted tail keeps the observed mean excess.
fn fit_gpd(ascending: &[f64], u: f64) -> (f64, f64) {
    let k = ascending.len() as f64;
    let mut a0 = 0.0;
    let mut a1 = 0.0;
    for (i, x) in ascending.iter().enumerate() {
        let y = x - u;
        let p = (i as f64 + 1.0 - 0.35) / k;
        a0 += y;
        a1 += (1.0 - p) * y;
    }
    a0 /= k;
    a1 /= k;
    let denom = a0 - 2.0 * a1;
    // Hosking's shape parameter is −ξ.
    let xi = if denom > 0.0 { -(a0 / denom - 2.0) } else { 0.0 };
    let xi = if xi.is_finite() { xi.clamp(0.0, MAX_SHAPE) } else { 0.0 };
    let sigma = (a0 * (1.0 - xi)).max(1e-12 * (1.0 + u.abs()));
    (xi, sigma)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_sums_agree_with_each_other() {
        for len in 0..19 {
            let v: Vec<f64> = (0..len).map(|i| (i as f64 * 0.37).sin() * 10.0 + 0.1).collect();
            let plain = lane_sum(v.iter().map(|x| (x - 1.5).abs()));
            assert_eq!(lane_sum_abs_dev(&v, 1.5).to_bits(), plain.to_bits(), "{len}");
            let exact: f64 = v.iter().map(|x| (x - 1.5).abs()).sum();
            assert!((plain - exact).abs() <= 1e-12 * exact.abs().max(1.0));
        }
    }

    #[test]
    fn median_in_place_is_the_sorted_median_bit_for_bit() {
        // Odd and even lengths, ties, signed zeros and wide magnitudes, from a fixed
        // xorshift stream.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in 0..40 {
            for _ in 0..50 {
                let v: Vec<f64> = (0..len)
                    .map(|_| match next() % 6 {
                        0 => 0.0,
                        1 => -0.0,
                        2 => (next() % 5) as f64,
                        3 => -1e300 * (next() % 3) as f64,
                        _ => (next() % 1_000_000) as f64 / 7.0 - 70_000.0,
                    })
                    .collect();
                let expected = median_of(&v);
                let mut work = v.clone();
                let got = median_in_place(&mut work);
                assert_eq!(got.map(f64::to_bits), expected.map(f64::to_bits), "{v:?}");
            }
        }
    }

    #[test]
    fn sorted_window_slides_and_orders() {
        let mut w = SortedWindow::new(3);
        for x in [5.0, 1.0, 3.0] {
            assert_eq!(w.push(x), None);
        }
        assert_eq!(w.sorted(), &[1.0, 3.0, 5.0]);
        assert_eq!(w.push(2.0), Some(5.0));
        assert_eq!(w.sorted(), &[1.0, 2.0, 3.0]);
        assert_eq!(w.median(), Some(2.0));
        assert_eq!(w.count_at_least(2.0), 2);
        assert_eq!(quantile_sorted(&[0.0, 10.0], 0.25), Some(2.5));
    }

    #[test]
    fn repeated_values_are_evicted_one_at_a_time() {
        let mut w = SortedWindow::new(2);
        w.push(1.0);
        w.push(1.0);
        w.push(2.0);
        assert_eq!(w.sorted(), &[1.0, 2.0]);
        // Mean absolute deviation 0.5 dominates IQR and the 10–90% range here.
        assert_eq!(w.robust_sigma(0.1), Some(0.5 / 0.798));
        assert_eq!(w.robust_sigma(0.7), Some(0.7));
    }

    #[test]
    fn blocked_window_answers_as_the_sorted_window() {
        let mut sorted = SortedWindow::new(1500);
        let mut blocked = BlockedWindow::new(1500);
        let mut state = 12345u64;
        for i in 0..6000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Many repeats (a coarse grid) and signed zeros, as idle metrics give.
            let x = ((state >> 33) % 200) as f64 / 4.0 - 25.0;
            let x = if x == 0.0 && i % 2 == 0 { -0.0 } else { x };
            sorted.push(x);
            blocked.push(x);
            assert_eq!(blocked.len(), sorted.len());
            assert_eq!(blocked.max(), sorted.sorted().last().copied());
            for probe in [x, x + 0.1, -30.0, 30.0, 0.0, -0.0] {
                assert_eq!(blocked.count_at_least(probe), sorted.count_at_least(probe), "{probe} at {i}");
            }
            if i % 97 == 0 {
                let k = (i % 700).min(sorted.len());
                let all = sorted.sorted();
                assert_eq!(blocked.top(k), all[all.len() - k..].to_vec());
            }
        }
    }

    #[test]
    fn calibrator_is_rank_inside_and_extrapolates_beyond() {
        let mut c = TailCalibrator::new(1000, 100);
        assert_eq!(c.tail_prob(5.0), 1.0);
        for i in 0..1000 {
            c.record(f64::from(i % 100) / 10.0); // uniform on 0..9.9
        }
        let mid = c.tail_prob(5.0);
        assert!((mid - 0.5).abs() < 0.02, "{mid}");
        let edge = c.tail_prob(9.95);
        let far = c.tail_prob(20.0);
        let farther = c.tail_prob(40.0);
        assert!(edge < 0.02 && far < edge && farther < far && farther > 0.0, "{edge} {far} {farther}");
    }
}
