//! Whether a series has *earned* a seasonal period: a recurring pattern seen in enough
//! full cycles, told apart from a level shift, a trend or wandering noise. Learned
//! workload models (`learn`) and forecasts (`forecast`) carry a daily or weekly season
//! only when [`evidence`] says so, and learned profiles come from the same numbers
//! ([`profile`]).
//!
//! The test, on a regular series (NaN = missing) and a period of `period` samples:
//! 1. **Enough cycles**: the series holds at least [`MIN_CYCLES`] full cycles. Two
//!    cycles cannot tell a weekly pattern from a level shift in the second week; three
//!    can.
//! 2. **Detrending**: the centred moving average of one period is subtracted (the
//!    2×m average for even m). A trend or a slow wander disappears; a level shift
//!    becomes a ramp around the shift, inside one or two cycles only. The average is
//!    taken over a copy of the series whose gross outliers are pulled in to
//!    [`GROSS_OUTLIER_SDS`] robust standard deviations of a robust local level (the
//!    median of the medians of the 24 blocks of `period / 24` samples around the
//!    sample); the values themselves are not changed. Without that, one value a
//!    thousand times the usual level (a network counter's burst) moves the average of
//!    every sample within half a period of it — two cycles, one of each parity — and
//!    hides a real season for days.
//! 3. **Cycle profiles**: the detrended values are averaged per cycle and phase bin
//!    (`bins` bins per cycle, e.g. hours of the day): a matrix `M[cycle][bin]`. Bin
//!    means are what a twin is judged on (hourly means), and a pattern of recurring
//!    spikes (a nightly job) shows in them as it does in reality. The cells are then
//!    clipped at [`CELL_CLIP_SDS`] robust standard deviations around their median, so
//!    that one wild cell (a one-off incident, the ramp of a level shift) cannot make
//!    most of the variance that step 5 divides by.
//! 4. **Split-half agreement**: the median over the even cycles and the median over
//!    the odd cycles of each bin are correlated (Pearson). A recurring pattern is in
//!    every cycle, so both halves show it (r near 1); a shift, a one-off incident or
//!    noise lands in one half only or in neither (r near 0: under the null the halves
//!    are independent, so r has mean 0 and standard deviation about 1/√(bins − 3),
//!    ≈ 0.2 for 24 bins). Medians keep one wild cycle from deciding. The pattern is
//!    earned when r ≥ [`MIN_SPLIT_HALF_R`].
//! 5. **Strength**: the profile (the median over all cycles per bin) must explain at
//!    least [`MIN_STRENGTH`] of the variance of `M`, so a real but negligible ripple is
//!    not carried.
//!
//! Deterministic and pure: the same input gives the same verdict.

/// Fewest full cycles a season is tested on.
pub const MIN_CYCLES: usize = 3;
/// Smallest correlation between the odd- and even-cycle profiles of an earned season.
pub const MIN_SPLIT_HALF_R: f64 = 0.5;
/// Smallest share of the variance of the cycles' bin means an earned season explains.
pub const MIN_STRENGTH: f64 = 0.05;
/// Values further than this many robust standard deviations from the local level do
/// not enter the trend at their full size (step 2 of the module doc).
pub const GROSS_OUTLIER_SDS: f64 = 20.0;
/// The cycles' bin means are clipped at this many robust standard deviations before
/// the profiles and the strength are computed (step 3 of the module doc).
pub const CELL_CLIP_SDS: f64 = 5.0;

/// The verdict on one period, with the figures behind it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeasonEvidence {
    /// Period in samples.
    pub period: usize,
    /// Full cycles the series holds.
    pub cycles: usize,
    /// Correlation of the phase profiles of the odd and the even cycles (0 when there
    /// are too few cycles or the profiles are flat).
    pub split_half_r: f64,
    /// Share of the variance of the cycles' bin means the profile explains.
    pub strength: f64,
    /// Whether the series carries this season.
    pub earned: bool,
}

impl SeasonEvidence {
    fn none(period: usize, cycles: usize) -> Self {
        SeasonEvidence { period, cycles, split_half_r: 0.0, strength: 0.0, earned: false }
    }

    /// A short reason for reports: "daily season: 13 cycles, split-half r 0.91".
    pub fn describe(&self, name: &str) -> String {
        if self.cycles < MIN_CYCLES {
            format!("no {name} season: {} full cycle(s), {MIN_CYCLES} needed", self.cycles)
        } else if self.earned {
            format!(
                "{name} season: {} cycles, split-half r {:.2}, strength {:.2}",
                self.cycles, self.split_half_r, self.strength
            )
        } else {
            format!(
                "no {name} season: {} cycles, split-half r {:.2}, strength {:.2} (needs r ≥ {MIN_SPLIT_HALF_R}, strength ≥ {MIN_STRENGTH})",
                self.cycles, self.split_half_r, self.strength
            )
        }
    }
}

/// Phase bins per day the daily season is tested with: hours, quarter hours and
/// 5-minute bins (those finer than the series' samples are skipped). Hourly bins find
/// a weak, smooth daily swing; finer ones a sharp recurring feature (a nightly job of
/// ten minutes) that an hour-wide bin dilutes below the noise.
pub const DAILY_BINS: [usize; 3] = [24, 96, 288];
/// Phase bins per week the weekly season is tested with: 6-hour and hourly bins.
pub const WEEKLY_BINS: [usize; 2] = [28, 168];

/// The season test of one period at several resolutions (`bins`): the first that
/// earns the season, else the one with the highest split-half r (the closest to
/// earning it). Forecasts and learned models decide with this one function.
pub fn strongest(y: &[f64], period: usize, bins: &[usize]) -> SeasonEvidence {
    let mut best: Option<SeasonEvidence> = None;
    for &b in bins {
        if b > period {
            continue;
        }
        let e = evidence(y, period, b);
        if e.earned {
            return e;
        }
        if best.is_none_or(|x| e.split_half_r > x.split_half_r) {
            best = Some(e);
        }
    }
    best.unwrap_or_else(|| evidence(y, period, period))
}

/// Tests whether `y` (regular, NaN = missing) carries a season of `period` samples,
/// averaged into `bins` phase bins per cycle (clamped to 2..=period). Phase 0 is the
/// first sample of the last `cycles × period` samples.
pub fn evidence(y: &[f64], period: usize, bins: usize) -> SeasonEvidence {
    if period < 2 {
        return SeasonEvidence::none(period, 0);
    }
    let cycles = y.len() / period;
    if cycles < MIN_CYCLES {
        return SeasonEvidence::none(period, cycles);
    }
    let tail = &y[y.len() - cycles * period..];
    profile(tail, period, bins, 0).0
}

/// The evidence for a season of `period` samples in `y` and its profile: per phase
/// bin, the median over cycles of the cycles' bin means, centred on zero (bins never
/// seen are 0). Sample `k` is at phase `(k + offset) mod period` and in cycle
/// `(k + offset) / period`, so a caller aligns bins with the clock (`offset`: samples
/// from the start of a cycle, e.g. from midnight, to `y[0]`); partial cycles at
/// either end count for the profile, full ones for [`SeasonEvidence::cycles`].
pub fn profile(y: &[f64], period: usize, bins: usize, offset: usize) -> (SeasonEvidence, Vec<f64>) {
    let bins = bins.clamp(2, period.max(2));
    if period < 2 || y.len() < period {
        return (SeasonEvidence::none(period, 0), vec![0.0; bins]);
    }
    let offset = offset % period;
    // Cycles wholly inside the series.
    let full = ((y.len() + offset) / period).saturating_sub(offset.div_ceil(period));
    let detrended = detrend(y, &tame_gross_outliers(y, period), period);
    let cycles = (y.len() + offset).div_ceil(period);
    let mut sum = vec![vec![0.0f64; bins]; cycles];
    let mut count = vec![vec![0u32; bins]; cycles];
    for (k, v) in detrended.iter().enumerate() {
        if v.is_finite() {
            let at = k + offset;
            let (c, b) = (at / period, (at % period) * bins / period);
            sum[c][b] += v;
            count[c][b] += 1;
        }
    }
    let m: Vec<Vec<f64>> = sum
        .iter()
        .zip(&count)
        .map(|(s, n)| s.iter().zip(n).map(|(s, n)| if *n > 0 { s / f64::from(*n) } else { f64::NAN }).collect())
        .collect();
    let column = |m: &[Vec<f64>], b: usize, keep: &dyn Fn(usize) -> bool| -> f64 {
        let mut v: Vec<f64> = (0..cycles).filter(|c| keep(*c)).map(|c| m[c][b]).filter(|x| x.is_finite()).collect();
        if v.is_empty() { f64::NAN } else { median_in_place(&mut v) }
    };
    // The profile keeps the cells as they are (a nightly spike stays its size); the
    // test judges clipped cells.
    let profile_medians: Vec<f64> = (0..bins).map(|b| column(&m, b, &|_| true)).collect();
    let mut m = m;
    clip_cells(&mut m);
    let pooled: Vec<f64> = (0..bins).map(|b| column(&m, b, &|_| true)).collect();
    let even: Vec<f64> = (0..bins).map(|b| column(&m, b, &|c| c % 2 == 0)).collect();
    let odd: Vec<f64> = (0..bins).map(|b| column(&m, b, &|c| c % 2 == 1)).collect();
    let pairs: Vec<(f64, f64)> =
        even.iter().zip(&odd).filter(|(a, b)| a.is_finite() && b.is_finite()).map(|(a, b)| (*a, *b)).collect();
    let split_half_r = pearson(&pairs);
    let cells: Vec<(usize, f64)> =
        m.iter().flat_map(|row| row.iter().copied().enumerate()).filter(|(_, x)| x.is_finite()).collect();
    let mean = cells.iter().map(|(_, x)| x).sum::<f64>() / cells.len().max(1) as f64;
    let total: f64 = cells.iter().map(|(_, x)| (x - mean).powi(2)).sum();
    let resid: f64 =
        cells.iter().map(|(b, x)| (x - if pooled[*b].is_finite() { pooled[*b] } else { mean }).powi(2)).sum();
    let strength = if total > 0.0 { (1.0 - resid / total).max(0.0) } else { 0.0 };
    let earned = full >= MIN_CYCLES && split_half_r >= MIN_SPLIT_HALF_R && strength >= MIN_STRENGTH;
    let seen: Vec<f64> = profile_medians.iter().copied().filter(|x| x.is_finite()).collect();
    let centre = seen.iter().sum::<f64>() / seen.len().max(1) as f64;
    let profile = profile_medians.iter().map(|x| if x.is_finite() { x - centre } else { 0.0 }).collect();
    (SeasonEvidence { period, cycles: full, split_half_r, strength, earned }, profile)
}

/// Limits every finite cell of `m` to [`CELL_CLIP_SDS`] robust standard deviations
/// (1.4826 × the median absolute deviation) around the median cell; nothing changes
/// when the spread is zero.
fn clip_cells(m: &mut [Vec<f64>]) {
    let mut cells: Vec<f64> = m.iter().flatten().copied().filter(|x| x.is_finite()).collect();
    let centre = median_in_place(&mut cells);
    let mut spread: Vec<f64> = cells.iter().map(|x| (x - centre).abs()).collect();
    let limit = CELL_CLIP_SDS * 1.4826 * median_in_place(&mut spread);
    if limit.is_finite() && limit > 0.0 {
        for x in m.iter_mut().flatten().filter(|x| x.is_finite()) {
            *x = x.clamp(centre - limit, centre + limit);
        }
    }
}

/// A copy of `y` for estimating the trend: every value limited to
/// [`GROSS_OUTLIER_SDS`] robust standard deviations (1.4826 × the median absolute
/// deviation from the local level) around a robust local level, the median of the
/// medians of the 24 blocks of `period / 24` samples (at least one) centred on the
/// sample's block. NaN stays NaN; with a zero spread nothing is limited.
fn tame_gross_outliers(y: &[f64], period: usize) -> Vec<f64> {
    let block = (period / 24).max(1);
    let finite_median = |values: &[f64]| -> f64 {
        let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.is_empty() { f64::NAN } else { median_in_place(&mut finite) }
    };
    let block_medians: Vec<f64> = y.chunks(block).map(finite_median).collect();
    let level: Vec<f64> = (0..block_medians.len())
        .map(|i| finite_median(&block_medians[i.saturating_sub(12)..(i + 13).min(block_medians.len())]))
        .collect();
    let mut deviations: Vec<f64> =
        y.iter().enumerate().map(|(t, v)| v - level[t / block]).filter(|d| d.is_finite()).collect();
    let centre = median_in_place(&mut deviations);
    let mut spread: Vec<f64> = deviations.iter().map(|d| (d - centre).abs()).collect();
    let limit = GROSS_OUTLIER_SDS * 1.4826 * median_in_place(&mut spread);
    if !(limit.is_finite() && limit > 0.0) {
        return y.to_vec();
    }
    y.iter()
        .enumerate()
        .map(|(t, v)| {
            let l = level[t / block] + centre;
            if l.is_finite() { v.clamp(l - limit, l + limit) } else { *v }
        })
        .collect()
}

/// `y` minus the centred moving average of one period of `trend_input` (a copy of
/// `y` with the same missing values; NaN where the window does not fit or holds a
/// missing value's share of more than half).
fn detrend(y: &[f64], trend_input: &[f64], period: usize) -> Vec<f64> {
    let n = y.len();
    let mut prefix = Vec::with_capacity(n + 1);
    let mut counts = Vec::with_capacity(n + 1);
    let (mut acc, mut c) = (0.0, 0usize);
    prefix.push(0.0);
    counts.push(0);
    for v in trend_input {
        if v.is_finite() {
            acc += v;
            c += 1;
        }
        prefix.push(acc);
        counts.push(c);
    }
    let half = period / 2;
    (0..n)
        .map(|t| {
            if t < half || t + half >= n || !y[t].is_finite() {
                return f64::NAN;
            }
            // The 2×m average for even periods: the two end samples count half.
            let (lo, hi) = (t - half, t + half);
            let (mut s, mut w) = (prefix[hi + 1] - prefix[lo], (counts[hi + 1] - counts[lo]) as f64);
            if period.is_multiple_of(2) {
                for end in [lo, hi] {
                    if trend_input[end].is_finite() {
                        s -= 0.5 * trend_input[end];
                        w -= 0.5;
                    }
                }
            }
            if w < period as f64 / 2.0 { f64::NAN } else { y[t] - s / w }
        })
        .collect()
}

/// Pearson correlation of pairs; 0 when either side is constant or fewer than 3 pairs.
fn pearson(pairs: &[(f64, f64)]) -> f64 {
    if pairs.len() < 3 {
        return 0.0;
    }
    let n = pairs.len() as f64;
    let (ma, mb) = pairs.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (ma, mb) = (ma / n, mb / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa <= 0.0 || sbb <= 0.0 { 0.0 } else { sab / (saa * sbb).sqrt() }
}

/// The median, reordering the slice; 0 for an empty one.
pub(crate) fn median_in_place(x: &mut [f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let mid = x.len() / 2;
    let (_, m, _) = x.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift) of roughly normal noise.
    fn noise(n: usize, seed: u64, scale: f64) -> Vec<f64> {
        let mut s = seed.max(1);
        (0..n)
            .map(|_| {
                let mut u = 0.0;
                for _ in 0..12 {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    u += (s >> 11) as f64 / (1u64 << 53) as f64;
                }
                (u - 6.0) * scale
            })
            .collect()
    }

    const DAY: usize = 288; // 5-minute samples

    #[test]
    fn a_daily_cycle_under_noise_is_earned() {
        let e = noise(14 * DAY, 1, 3.0);
        let y: Vec<f64> = (0..14 * DAY)
            .map(|t| 50.0 + 8.0 * (std::f64::consts::TAU * (t % DAY) as f64 / DAY as f64).sin() + e[t])
            .collect();
        let ev = evidence(&y, DAY, 24);
        assert!(ev.earned, "{ev:?}");
        assert!(ev.split_half_r > 0.9, "{ev:?}");
    }

    #[test]
    fn noise_alone_earns_no_season() {
        for seed in 1..20 {
            let y: Vec<f64> = noise(14 * DAY, seed, 3.0).iter().map(|e| 40.0 + e).collect();
            // Forecasts try an hour, 15 minutes and one sample per bin.
            for bins in [24, 96, DAY] {
                let ev = evidence(&y, DAY, bins);
                assert!(!ev.earned, "seed {seed}, {bins} bins: {ev:?}");
            }
        }
    }

    #[test]
    fn one_gross_outlier_does_not_hide_a_daily_cycle() {
        // A clear daily cycle and one sample a thousand times the level on day 5.
        // Untamed, it lifts the moving average of every sample within half a day of
        // it by 3.5 amplitudes of the cycle, in two cycles, one of each parity, and
        // those cells make nearly all the variance.
        let e = noise(8 * DAY, 11, 1.0);
        let mut y: Vec<f64> = (0..8 * DAY)
            .map(|t| 100.0 + 10.0 * (std::f64::consts::TAU * (t % DAY) as f64 / DAY as f64).sin() + e[t])
            .collect();
        y[5 * DAY + 40] = 100_000.0;
        for bins in [24, 96] {
            let ev = evidence(&y, DAY, bins);
            assert!(ev.earned && ev.split_half_r > 0.9, "{bins} bins: {ev:?}");
        }
        // The profile is the cycle's, not the outlier's.
        let (_, p) = profile(&y, DAY, 24, 0);
        assert!((p[6] - 10.0).abs() < 1.5 && (p[18] + 10.0).abs() < 1.5, "{p:?}");
        assert_eq!(tame_gross_outliers(&[f64::NAN; 30], 24).len(), 30);
        assert_eq!(tame_gross_outliers(&[2.0; 30], 24), vec![2.0; 30]);
    }

    #[test]
    fn a_nightly_spike_keeps_its_size_in_the_profile() {
        // One hour a day at +40 over a flat 10 with small noise: far beyond the
        // cells' clip, which judges the season but does not shrink the profile.
        let e = noise(7 * DAY, 13, 0.5);
        let y: Vec<f64> = (0..7 * DAY).map(|t| if t % DAY / 12 == 3 { 50.0 } else { 10.0 } + e[t]).collect();
        let (ev, p) = profile(&y, DAY, 24, 0);
        assert!(ev.earned, "{ev:?}");
        assert!((p[3] - p[10] - 40.0).abs() < 1.0, "{p:?}");
    }

    #[test]
    fn a_level_shift_is_not_a_weekly_season() {
        // Three weeks of hourly samples; the level jumps by 30 in the middle of week 2.
        let week = 168;
        let e = noise(3 * week, 3, 2.0);
        let y: Vec<f64> = (0..3 * week).map(|t| if t >= week + 80 { 60.0 } else { 30.0 } + e[t]).collect();
        let ev = evidence(&y, week, 28);
        assert!(!ev.earned, "{ev:?}");
        // Two weeks are too few to tell at all.
        assert_eq!(evidence(&y[..2 * week], week, 28).cycles, 2);
        assert!(!evidence(&y[..2 * week], week, 28).earned);
    }

    #[test]
    fn a_trend_is_not_a_season_but_a_weekend_dip_is() {
        let week = 168;
        let e = noise(4 * week, 5, 1.0);
        let trend: Vec<f64> = (0..4 * week).map(|t| 10.0 + 0.05 * t as f64 + e[t]).collect();
        assert!(!evidence(&trend, week, 28).earned);
        let weekend: Vec<f64> =
            (0..4 * week).map(|t| if t % week >= 120 { 20.0 } else { 30.0 } + 0.01 * t as f64 + e[t]).collect();
        let ev = evidence(&weekend, week, 28);
        assert!(ev.earned, "{ev:?}");
    }

    #[test]
    fn missing_values_and_short_series_are_handled() {
        assert_eq!(evidence(&[1.0; 10], DAY, 24).cycles, 0);
        assert!(!evidence(&[], DAY, 24).earned);
        let mut y: Vec<f64> =
            (0..5 * DAY).map(|t| (std::f64::consts::TAU * (t % DAY) as f64 / DAY as f64).cos()).collect();
        for v in y.iter_mut().skip(100).step_by(3) {
            *v = f64::NAN;
        }
        assert!(evidence(&y, DAY, 24).earned);
        assert!(!evidence(&[f64::NAN; 5 * DAY], DAY, 24).earned);
    }
}
