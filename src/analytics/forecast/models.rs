//! The candidate models: seasonal naive, additive ETS (Holt–Winters family: level,
//! optional damped trend, optional additive season) and an MSTL-style decomposition
//! (one additive seasonal profile per period, removed by backfitting, with a
//! non-seasonal ETS on what remains).
//!
//! Every model can (a) fit on a regular series, (b) forecast from its current state,
//! (c) absorb one new sample in O(1) (`push`), and (d) replay its fit to give the
//! in-sample multi-step errors used for model selection and prediction intervals.

use super::optim::nelder_mead;

/// Which model a candidate is, with its structural choices (no fitted numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ModelKind {
    /// `y[t+h] = y[t+h-m·k]`: the last value at the same phase of the season
    /// (`period` 1 is the plain naive forecast).
    SeasonalNaive {
        /// Season length in samples.
        period: usize,
    },
    /// Additive-error ETS: level, optional damped trend, optional additive season.
    Ets {
        /// True for a damped additive trend (Ad), false for none (N).
        damped: bool,
        /// Additive seasonal period in samples, if any.
        period: Option<usize>,
    },
    /// Seasonal profiles for the daily and/or the weekly period removed by
    /// backfitting; the rest forecast by ETS(A,N,N) or ETS(A,Ad,N) (by AIC). Offered
    /// only with at least one period the series has earned.
    Mstl {
        /// Daily period in samples, when the series carries a daily season.
        daily: Option<usize>,
        /// Weekly period in samples, when the series carries a weekly season.
        weekly: Option<usize>,
    },
    /// The mean of the ETS and MSTL candidates' forecasts (built from them after they
    /// are fitted).
    Combination {
        /// How many models are averaged.
        parts: usize,
    },
}

impl ModelKind {
    /// A human name such as `ETS(A,Ad,A) daily`.
    pub fn name(&self, daily: Option<usize>) -> String {
        let season = |p: usize| if Some(p) == daily { "daily".to_string() } else { format!("period {p}") };
        match *self {
            ModelKind::SeasonalNaive { period: 1 } => "naive".into(),
            ModelKind::SeasonalNaive { period } => format!("seasonal naive ({})", season(period)),
            ModelKind::Ets { damped, period } => {
                let trend = if damped { "Ad" } else { "N" };
                match period {
                    Some(p) => format!("ETS(A,{trend},A) {}", season(p)),
                    None => format!("ETS(A,{trend},N)"),
                }
            }
            ModelKind::Mstl { daily: Some(_), weekly: Some(_) } => "MSTL(daily, weekly) + ETS".into(),
            ModelKind::Mstl { daily: Some(_), weekly: None } => "MSTL(daily) + ETS".into(),
            ModelKind::Mstl { daily: None, weekly: Some(_) } => "MSTL(weekly) + ETS".into(),
            ModelKind::Mstl { daily: None, weekly: None } => "MSTL + ETS".into(),
            ModelKind::Combination { parts } => format!("mean of {parts} ETS/MSTL models"),
        }
    }
}

/// Smoothing parameters of an additive ETS model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EtsParams {
    /// Level smoothing.
    pub alpha: f64,
    /// Trend smoothing (0 without trend).
    pub beta: f64,
    /// Seasonal smoothing (0 without season).
    pub gamma: f64,
    /// Damping (1 without trend, where it has no effect).
    pub phi: f64,
}

/// The state of an additive ETS model after the samples seen so far.
#[derive(Clone, Debug, PartialEq)]
pub struct Ets {
    damped: bool,
    params: EtsParams,
    level: f64,
    slope: f64,
    /// Ring of seasonal values; `season[t % m]` is the value for time index `t`.
    season: Vec<f64>,
    /// Time index of the next sample.
    t: usize,
    /// Sum of squared one-step errors of the fit.
    sse: f64,
}

/// Initial states of an ETS filter.
struct EtsInit {
    level: f64,
    slope: f64,
    season: Vec<f64>,
}

/// What a filter pass records for replaying in-sample forecasts.
#[derive(Default)]
struct EtsTrace {
    level: Vec<f64>,
    slope: Vec<f64>,
    /// The seasonal value written at each time index.
    season_written: Vec<f64>,
}

/// Runs the ETS filter over `y`, recording the states, and returns the sum of squared
/// one-step errors.
fn ets_filter(y: &[f64], p: &EtsParams, damped: bool, init: &EtsInit, trace: &mut EtsTrace) -> f64 {
    let m = init.season.len();
    let mut season = init.season.clone();
    let (mut level, mut slope) = (init.level, if damped { init.slope } else { 0.0 });
    let phi = if damped { p.phi } else { 0.0 };
    let mut sse = 0.0;
    let mut phase = 0;
    for &v in y {
        let s = if m > 0 { season[phase] } else { 0.0 };
        let damped_slope = phi * slope;
        let e = v - (level + damped_slope + s);
        sse += e * e;
        level += damped_slope + p.alpha * e;
        slope = damped_slope + p.beta * e;
        if m > 0 {
            season[phase] = s + p.gamma * e;
        }
        trace.level.push(level);
        trace.slope.push(slope);
        if m > 0 {
            trace.season_written.push(season[phase]);
        }
        if m > 0 {
            phase += 1;
            if phase == m {
                phase = 0;
            }
        }
    }
    sse
}

/// Samples the smoothing parameters are estimated on (at least four seasons).
const OPT_WINDOW: usize = 1_152;

/// The sum of squared one-step errors of the ETS filter: [`ets_filter`] without a
/// trace, with the seasonal and non-seasonal loops written out so the hot loop of
/// parameter estimation has no branches.
fn ets_sse(y: &[f64], p: &EtsParams, damped: bool, init: &EtsInit) -> f64 {
    let phi = if damped { p.phi } else { 0.0 };
    let (mut level, mut slope) = (init.level, if damped { init.slope } else { 0.0 });
    let mut sse = 0.0;
    let m = init.season.len();
    if m == 0 {
        for &v in y {
            let damped_slope = phi * slope;
            let e = v - (level + damped_slope);
            sse += e * e;
            level += damped_slope + p.alpha * e;
            slope = damped_slope + p.beta * e;
        }
        return sse;
    }
    let mut season = init.season.clone();
    for chunk in y.chunks(m) {
        for (s, &v) in season.iter_mut().zip(chunk) {
            let damped_slope = phi * slope;
            let e = v - (level + damped_slope + *s);
            sse += e * e;
            level += damped_slope + p.alpha * e;
            slope = damped_slope + p.beta * e;
            *s += p.gamma * e;
        }
    }
    sse
}

/// `phi + phi² + … + phi^h` for h = 0..=horizon (index h).
fn damped_sums(phi: f64, horizon: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(horizon + 1);
    let (mut sum, mut power) = (0.0, 1.0);
    out.push(0.0);
    for _ in 0..horizon {
        power *= phi;
        sum += power;
        out.push(sum);
    }
    out
}

impl Ets {
    /// Fits by minimising the one-step squared error over the latest [`OPT_WINDOW`]
    /// samples (Nelder–Mead over the smoothing parameters; initial states from a robust
    /// decomposition), then filters the whole history with those parameters.
    /// `None` when the history is too short (two full seasons are needed with a season,
    /// four samples without). Also returns the in-sample multi-step errors.
    /// `warm` is a fitted model without trend of the same season, whose parameters start
    /// the search (fewer evaluations for the damped variant).
    pub fn fit(
        y: &[f64],
        damped: bool,
        period: Option<usize>,
        origins: &Origins,
        warm: Option<&Ets>,
    ) -> Option<(Ets, StepErrors)> {
        let m = period.unwrap_or(0);
        if (m > 0 && y.len() < 2 * m) || y.len() < 4 {
            return None;
        }
        let init = ets_init(y, damped, m);
        let seasonal = m > 0;
        // Parameter vector: alpha, then beta as a share of alpha and phi (damped), then
        // gamma as a share of 1 - alpha (seasonal). Shares keep the usual constraints
        // (beta ≤ alpha, gamma ≤ 1 - alpha) inside a box.
        let warm = warm.filter(|w| w.season.len() == m).map(|w| w.params);
        let mut x0 = vec![warm.map_or(0.2, |w| w.alpha)];
        let mut lo = vec![1e-4];
        let mut hi = vec![0.9999];
        if damped {
            x0.extend([0.1, 0.95]);
            lo.extend([0.0, 0.8]);
            hi.extend([1.0, 0.98]);
        }
        if seasonal {
            x0.push(warm.map_or(0.1, |w| (w.gamma / (1.0 - w.alpha).max(1e-9)).clamp(0.0, 1.0)));
            lo.push(0.0);
            hi.push(1.0);
        }
        let params_of = |x: &[f64]| -> EtsParams {
            let alpha = x[0];
            let (beta, phi) = if damped { (x[1] * alpha, x[2]) } else { (0.0, 1.0) };
            let gamma = if seasonal { x[x.len() - 1] * (1.0 - alpha) } else { 0.0 };
            EtsParams { alpha, beta, gamma, phi }
        };
        // Parameters are estimated on the latest OPT_WINDOW samples (four seasons when
        // that is longer): this bounds the cost of fitting (each objective evaluation is
        // a pass over the window) and weights the recent behaviour; the final filter
        // then runs over the whole history.
        let window = y.len().min(OPT_WINDOW.max(4 * m));
        let recent = &y[y.len() - window..];
        let recent_init = ets_init(recent, damped, m);
        let mut objective = |x: &[f64]| ets_sse(recent, &params_of(x), damped, &recent_init);
        let dims = x0.len();
        let first_step = if warm.is_some() { 0.05 } else { 0.1 };
        let (best, _) = nelder_mead(&mut objective, &x0, &lo, &hi, first_step, 20 + 30 * dims, 1e-5);
        let params = params_of(&best);
        let mut trace = EtsTrace::default();
        let sse = ets_filter(y, &params, damped, &init, &mut trace);
        let n = y.len();
        let mut season = init.season.clone();
        if m > 0 {
            // The ring after the fit: the last value written for every phase.
            for t in n.saturating_sub(m)..n {
                season[t % m] = trace.season_written[t];
            }
        }
        let model = Ets { damped, params, level: trace.level[n - 1], slope: trace.slope[n - 1], season, t: n, sse };
        let sums = damped_sums(if damped { params.phi } else { 0.0 }, origins.horizon);
        let errors = origins.collect(y, |o, h| {
            let s = if m > 0 {
                // Seasonal value for time o+h as known at o: written at tau ≤ o.
                let tau = (o + h) as isize - (m * h.div_ceil(m)) as isize;
                if tau >= 0 { trace.season_written[tau as usize] } else { init.season[(o + h) % m] }
            } else {
                0.0
            };
            trace.level[o] + sums[h] * trace.slope[o] + s
        });
        Some((model, errors))
    }

    /// Absorbs one sample: one filter step.
    pub fn push(&mut self, v: f64) {
        let m = self.season.len();
        let phase = if m > 0 { self.t % m } else { 0 };
        let s = if m > 0 { self.season[phase] } else { 0.0 };
        let phi = if self.damped { self.params.phi } else { 0.0 };
        let damped_slope = phi * self.slope;
        let e = v - (self.level + damped_slope + s);
        self.level += damped_slope + self.params.alpha * e;
        self.slope = damped_slope + self.params.beta * e;
        if m > 0 {
            self.season[phase] = s + self.params.gamma * e;
        }
        self.t += 1;
    }

    /// Point forecasts for steps 1..=horizon.
    pub fn forecast(&self, horizon: usize) -> Vec<f64> {
        let m = self.season.len();
        let sums = damped_sums(if self.damped { self.params.phi } else { 0.0 }, horizon);
        (1..=horizon)
            .map(|h| {
                let s = if m > 0 { self.season[(self.t + h - 1) % m] } else { 0.0 };
                self.level + sums[h] * self.slope + s
            })
            .collect()
    }

    /// Akaike's information criterion of the fit (Gaussian one-step errors).
    fn aic(&self, n: usize) -> f64 {
        let k = 2 + if self.damped { 3 } else { 0 };
        let n = n as f64;
        n * (self.sse.max(1e-300) / n).ln() + 2.0 * k as f64
    }
}

/// Initial level, slope and seasonal states from the start of the history.
fn ets_init(y: &[f64], damped: bool, m: usize) -> EtsInit {
    if m == 0 {
        let k = y.len().min(12);
        let level = y[..k].iter().sum::<f64>() / k as f64;
        let slope = if damped && y.len() >= 2 * k {
            (y[k..2 * k].iter().sum::<f64>() / k as f64 - level) / k as f64
        } else {
            0.0
        };
        return EtsInit { level, slope, season: Vec::new() };
    }
    let season = seasonal_profile(y, m);
    let deseason = |t: usize| y[t] - season[t % m];
    let first = (0..m).map(deseason).sum::<f64>() / m as f64;
    let second = (m..2 * m).map(deseason).sum::<f64>() / m as f64;
    let slope = if damped { (second - first) / m as f64 } else { 0.0 };
    // The filter starts before sample 0: put the level at the first cycle's centre,
    // moved back half a season along the slope.
    let level = first - slope * (m as f64 - 1.0) / 2.0;
    EtsInit { level, slope, season }
}

/// Centred moving average over one season of `m` samples (the 2×m average for even
/// `m`), `None` where the window does not fit inside the series.
fn centred_season_mean(x: &[f64], m: usize) -> Vec<Option<f64>> {
    let n = x.len();
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0);
    let mut acc = 0.0;
    for v in x {
        acc += v;
        prefix.push(acc);
    }
    let half = m / 2;
    (0..n)
        .map(|t| {
            if t < half || t + half >= n {
                return None;
            }
            let sum = prefix[t + half + 1] - prefix[t - half];
            Some(if m.is_multiple_of(2) {
                (sum - 0.5 * (x[t - half] + x[t + half])) / m as f64
            } else {
                sum / m as f64
            })
        })
        .collect()
}

/// The median of a slice (copied); 0 for an empty slice.
pub fn median(x: &[f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let mut v = x.to_vec();
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

/// A robust additive seasonal profile of period `m` (mean zero): detrend with a centred
/// moving average of one season (samples within half a season of either end, where it
/// does not fit, are left out), clip outliers at 5 robust standard deviations, average
/// each phase over all cycles, smooth over neighbouring phases (about 1/96 of the season
/// each side, e.g. ±15 minutes of a day) and centre. Needs `x.len() >= 2 * m` to see
/// every phase; phases never seen get 0.
pub fn seasonal_profile(x: &[f64], m: usize) -> Vec<f64> {
    let trend = centred_season_mean(x, m);
    let detrended: Vec<(usize, f64)> =
        x.iter().zip(&trend).enumerate().filter_map(|(t, (v, tr))| tr.map(|tr| (t, v - tr))).collect();
    let values: Vec<f64> = detrended.iter().map(|(_, d)| *d).collect();
    let centre = median(&values);
    let spread: Vec<f64> = values.iter().map(|d| (d - centre).abs()).collect();
    let limit = 5.0 * 1.4826 * median(&spread);
    let mut sum = vec![0.0; m];
    let mut count = vec![0usize; m];
    for (t, d) in &detrended {
        let d = if limit > 0.0 { d.clamp(centre - limit, centre + limit) } else { *d };
        sum[t % m] += d;
        count[t % m] += 1;
    }
    let raw: Vec<f64> = sum.iter().zip(&count).map(|(s, c)| if *c > 0 { s / *c as f64 } else { 0.0 }).collect();
    let half = m / 96;
    let mut profile: Vec<f64> = (0..m)
        .map(|j| {
            let total: f64 = (0..=2 * half).map(|k| raw[(j + m + k - half) % m]).sum();
            total / (2 * half + 1) as f64
        })
        .collect();
    let mean = profile.iter().sum::<f64>() / m as f64;
    for p in &mut profile {
        *p -= mean;
    }
    profile
}

/// An MSTL-style model: seasonal profiles plus a non-seasonal ETS on the rest.
#[derive(Clone, Debug, PartialEq)]
pub struct Mstl {
    /// (period, profile) pairs, shortest period first.
    profiles: Vec<(usize, Vec<f64>)>,
    inner: Ets,
    /// Time index of the next sample.
    t: usize,
}

impl Mstl {
    /// Fits: two backfitting passes over the periods (each period's profile is
    /// re-estimated with the others removed), then ETS(A,N,N) and ETS(A,Ad,N) on the
    /// seasonally adjusted series, the lower AIC kept. `None` unless the history holds
    /// two full cycles of every period.
    pub fn fit(y: &[f64], periods: &[usize], origins: &Origins) -> Option<(Mstl, StepErrors)> {
        if periods.is_empty() || periods.iter().any(|p| *p < 2 || y.len() < 2 * p) {
            return None;
        }
        let mut profiles: Vec<(usize, Vec<f64>)> = periods.iter().map(|p| (*p, vec![0.0; *p])).collect();
        let mut adjusted = y.to_vec();
        for _pass in 0..2 {
            for (p, profile) in &mut profiles {
                let with_this: Vec<f64> = adjusted.iter().enumerate().map(|(t, a)| a + profile[t % *p]).collect();
                *profile = seasonal_profile(&with_this, *p);
                for (t, a) in adjusted.iter_mut().enumerate() {
                    *a = with_this[t] - profile[t % *p];
                }
            }
        }
        // Errors of the adjusted series are the errors of the whole model, because the
        // seasonal part is known in advance; only the inner model's fit differs.
        let simple = Ets::fit(&adjusted, false, None, origins, None)?;
        let damped = Ets::fit(&adjusted, true, None, origins, Some(&simple.0));
        let n = y.len();
        let (inner, errors) = match damped {
            Some(d) if d.0.aic(n) < simple.0.aic(n) => d,
            _ => simple,
        };
        Some((Mstl { profiles, inner, t: n }, errors))
    }

    fn seasonal_at(&self, t: usize) -> f64 {
        self.profiles.iter().map(|(p, prof)| prof[t % p]).sum()
    }

    /// Absorbs one sample: the seasonal profiles stay as fitted until the next full
    /// re-fit; the inner ETS takes one filter step on the seasonally adjusted value.
    pub fn push(&mut self, v: f64) {
        let s = self.seasonal_at(self.t);
        self.inner.push(v - s);
        self.t += 1;
    }

    /// Point forecasts for steps 1..=horizon.
    pub fn forecast(&self, horizon: usize) -> Vec<f64> {
        let inner = self.inner.forecast(horizon);
        inner.iter().enumerate().map(|(i, z)| z + self.seasonal_at(self.t + i)).collect()
    }

    /// The name of the inner model, e.g. `ETS(A,Ad,N)`.
    pub fn inner_name(&self) -> &'static str {
        if self.inner.damped { "ETS(A,Ad,N)" } else { "ETS(A,N,N)" }
    }
}

/// Seasonal naive state: the last `period` values.
#[derive(Clone, Debug, PartialEq)]
pub struct SeasonalNaive {
    period: usize,
    /// Ring of the last `period` values; `last[t % period]` is the value at index t.
    last: Vec<f64>,
    t: usize,
}

impl SeasonalNaive {
    /// Fits (remembers the last season). `None` without one full season plus a sample.
    pub fn fit(y: &[f64], period: usize, origins: &Origins) -> Option<(SeasonalNaive, StepErrors)> {
        let n = y.len();
        if period == 0 || n <= period {
            return None;
        }
        let mut last = vec![0.0; period];
        for (t, v) in y.iter().enumerate().skip(n - period) {
            last[t % period] = *v;
        }
        let errors = origins.collect(y, |o, h| {
            let back = (o + 1 + (h - 1) % period) as isize - period as isize;
            // Before one full season the earliest value stands in.
            y[back.max(0) as usize]
        });
        Some((SeasonalNaive { period, last, t: n }, errors))
    }

    /// Absorbs one sample.
    pub fn push(&mut self, v: f64) {
        self.last[self.t % self.period] = v;
        self.t += 1;
    }

    /// Point forecasts for steps 1..=horizon.
    pub fn forecast(&self, horizon: usize) -> Vec<f64> {
        (1..=horizon).map(|h| self.last[(self.t + (h - 1) % self.period) % self.period]).collect()
    }
}

/// A fitted model of any kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Model {
    /// See [`SeasonalNaive`].
    SeasonalNaive(SeasonalNaive),
    /// See [`Ets`].
    Ets(Ets),
    /// See [`Mstl`].
    Mstl(Mstl),
    /// The mean forecast of several fitted models.
    Combination(Vec<Model>),
}

impl Model {
    /// Fits a model of the given kind; `None` when the history is too short for it.
    /// `warm`: a fitted model whose parameters may start the search (see [`Ets::fit`]).
    pub fn fit(kind: ModelKind, y: &[f64], origins: &Origins, warm: Option<&Model>) -> Option<(Model, StepErrors)> {
        match kind {
            ModelKind::SeasonalNaive { period } => {
                SeasonalNaive::fit(y, period, origins).map(|(m, e)| (Model::SeasonalNaive(m), e))
            }
            ModelKind::Ets { damped, period } => {
                let warm = match warm {
                    Some(Model::Ets(w)) => Some(w),
                    _ => None,
                };
                Ets::fit(y, damped, period, origins, warm).map(|(m, e)| (Model::Ets(m), e))
            }
            ModelKind::Mstl { daily, weekly } => {
                let periods: Vec<usize> = daily.into_iter().chain(weekly).collect();
                Mstl::fit(y, &periods, origins).map(|(m, e)| (Model::Mstl(m), e))
            }
            // A combination is built from fitted parts by `combine`.
            ModelKind::Combination { .. } => None,
        }
    }

    /// The equal-weight combination of fitted models: its forecast is the mean of
    /// theirs, so its in-sample errors are the mean of theirs (all parts replayed the
    /// same origins on the same series). `None` for fewer than two parts or errors of
    /// different shapes.
    pub fn combine(parts: &[(&Model, &StepErrors)]) -> Option<(Model, StepErrors)> {
        let (_, first) = parts.first()?;
        if parts.len() < 2
            || parts.iter().any(|(_, e)| {
                e.steps != first.steps || e.by_step.iter().zip(&first.by_step).any(|(a, b)| a.len() != b.len())
            })
        {
            return None;
        }
        let k = parts.len() as f64;
        let by_step = (0..first.by_step.len())
            .map(|h| {
                (0..first.by_step[h].len())
                    .map(|i| parts.iter().map(|(_, e)| e.by_step[h][i]).sum::<f64>() / k)
                    .collect()
            })
            .collect();
        let models = parts.iter().map(|(m, _)| (*m).clone()).collect();
        Some((Model::Combination(models), StepErrors { steps: first.steps.clone(), by_step }))
    }

    /// Absorbs one sample in O(1).
    pub fn push(&mut self, v: f64) {
        match self {
            Model::SeasonalNaive(m) => m.push(v),
            Model::Ets(m) => m.push(v),
            Model::Mstl(m) => m.push(v),
            Model::Combination(parts) => parts.iter_mut().for_each(|m| m.push(v)),
        }
    }

    /// Point forecasts for steps 1..=horizon.
    pub fn forecast(&self, horizon: usize) -> Vec<f64> {
        match self {
            Model::SeasonalNaive(m) => m.forecast(horizon),
            Model::Ets(m) => m.forecast(horizon),
            Model::Mstl(m) => m.forecast(horizon),
            Model::Combination(parts) => {
                let mut sum = vec![0.0; horizon];
                for m in parts {
                    for (s, f) in sum.iter_mut().zip(m.forecast(horizon)) {
                        *s += f;
                    }
                }
                let k = parts.len().max(1) as f64;
                sum.into_iter().map(|s| s / k).collect()
            }
        }
    }
}

/// The forecast origins replayed in-sample: every `stride`-th index from `first` to
/// the second-to-last sample, each forecasting up to `horizon` steps (as far as the
/// history reaches).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origins {
    /// First origin (index of the last sample the forecast may use).
    pub first: usize,
    /// Distance between origins.
    pub stride: usize,
    /// Longest step replayed.
    pub horizon: usize,
}

/// Most in-sample origins replayed per candidate: enough for stable quantiles (a
/// block of steps pools at least 20 errors), few enough to keep fitting fast.
pub const MAX_ORIGINS: usize = 200;

/// Fewest non-overlapping windows of `h` steps the replayed origins must span for step
/// `h` to be replayed (see [`Origins::longest_trusted_step`]).
pub const MIN_WINDOWS: usize = 4;

/// In-sample forecast errors (actual − forecast) by step, for a sparse set of steps:
/// `by_step[i]` holds the errors of all origins at step `steps[i]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepErrors {
    /// The replayed steps (1-based, increasing).
    pub steps: Vec<usize>,
    /// Errors per replayed step, in origin order.
    pub by_step: Vec<Vec<f64>>,
}

/// The steps replayed up to `max_step`: every step up to 24, then steps about 4% apart
/// (the interval width changes slowly with the step, so a sparse grid loses little and
/// keeps replay and quantile costs independent of the horizon's length).
pub fn replay_steps(max_step: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut h = 1;
    while h <= max_step {
        out.push(h);
        h += (h / 24).max(1);
    }
    out
}

impl Origins {
    /// Origins for a series of `n` samples: from a quarter of the history (so the
    /// states have settled) to the end, at most about [`MAX_ORIGINS`] of them.
    pub fn for_series(n: usize, horizon: usize) -> Origins {
        let first = (n / 4).max(1);
        let span = n.saturating_sub(1 + first).max(1);
        Origins { first, stride: span.div_ceil(MAX_ORIGINS).max(1), horizon }
    }

    /// The longest step worth replaying on `n` samples: the origins (from a quarter
    /// of the history to its end) span at least [`MIN_WINDOWS`] windows of that many
    /// steps. An event seen once in the history — a level shift — is in the errors at
    /// step `h` of the `h` origins before it, out of the `span − h` that reach step `h`:
    /// at most a third of them here, so it never decides the median correction. At
    /// longer steps the few origins that reach them all straddle the same events (with
    /// two weeks of history and a one-week horizon, every origin that reaches day 5 is
    /// from the first week), and their median would carry a past shift into the
    /// forecast as a jump days ahead. Beyond this step the corrections stay at their
    /// last replayed value and the interval widths grow with √h (see `intervals`).
    pub fn longest_trusted_step(n: usize) -> usize {
        let first = (n / 4).max(1);
        (n.saturating_sub(1 + first) / MIN_WINDOWS).max(1)
    }

    /// Replays `forecast(origin, step)` against `y`.
    pub fn collect(&self, y: &[f64], forecast: impl Fn(usize, usize) -> f64) -> StepErrors {
        let n = y.len();
        let max_step = self.horizon.min(n.saturating_sub(self.first + 1));
        let origins: Vec<usize> = (self.first..n.saturating_sub(1)).step_by(self.stride.max(1)).collect();
        // Step-major, each column allocated once at its exact length: the origins that
        // reach step h are those with o + h < n.
        let steps = replay_steps(max_step);
        let by_step = steps
            .iter()
            .map(|&h| {
                let reach = origins.partition_point(|o| o + h < n);
                origins[..reach].iter().map(|&o| y[o + h] - forecast(o, h)).collect()
            })
            .collect();
        StepErrors { steps, by_step }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(n: usize, m: usize) -> Vec<f64> {
        (0..n).map(|t| 10.0 + 3.0 * (2.0 * std::f64::consts::PI * t as f64 / m as f64).sin()).collect()
    }

    #[test]
    fn seasonal_profile_recovers_a_clean_season() {
        let y = sine(24 * 10, 24);
        let p = seasonal_profile(&y, 24);
        for (j, v) in p.iter().enumerate() {
            let want = 3.0 * (2.0 * std::f64::consts::PI * j as f64 / 24.0).sin();
            assert!((v - want).abs() < 0.05, "phase {j}: {v} vs {want}");
        }
    }

    #[test]
    fn push_matches_a_refit_filter_for_ets() {
        let y = sine(24 * 6, 24);
        let origins = Origins::for_series(y.len(), 24);
        let (mut model, _) = Ets::fit(&y[..24 * 5], true, Some(24), &origins, None).unwrap();
        for v in &y[24 * 5..] {
            model.push(*v);
        }
        let f = model.forecast(24);
        for (h, v) in f.iter().enumerate() {
            assert!((v - y[24 * 5 + h]).abs() < 0.2, "step {h}: {v}");
        }
    }

    #[test]
    fn seasonal_naive_repeats_the_last_season() {
        let y: Vec<f64> = (0..10).map(f64::from).collect();
        let origins = Origins::for_series(10, 5);
        let (mut m, errors) = SeasonalNaive::fit(&y, 3, &origins).unwrap();
        assert_eq!(m.forecast(5), vec![7.0, 8.0, 9.0, 7.0, 8.0]);
        m.push(10.0);
        assert_eq!(m.forecast(3), vec![8.0, 9.0, 10.0]);
        // In-sample: from origin 2 (values 0,1,2) step 1 predicts y[0] = 0 for y[3] = 3.
        assert_eq!(errors.steps[0], 1);
        assert_eq!(errors.by_step[0][0], 3.0);
        let steps = replay_steps(288);
        assert_eq!(&steps[..25], &(1..=25).collect::<Vec<_>>()[..]);
        assert!(steps.len() < 100 && *steps.last().unwrap() <= 288 && steps.windows(2).all(|w| w[1] > w[0]));
    }
}
