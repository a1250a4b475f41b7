//! Predictive compliance (SPEC M8): every metric threshold rule evaluated on the
//! forecast of its series, giving for each rule and twin the expected time of the
//! violation and its probability.
//!
//! How:
//! 1. Each series a threshold rule applies to is averaged into 5-minute buckets (the
//!    resolution the anomaly scan also uses; coarser series are used as they are) over
//!    the latest [`PredictConfig::history_secs`] and forecast over the horizon by
//!    [`super::forecast`] (model chosen per series, backtest MASE kept).
//! 2. The forecast's five quantiles per step (2.5%, 10%, median, 90%, 97.5%: the 95%
//!    and 80% interval bounds and the point forecast) are read as a predictive
//!    distribution: the CDF is linear between them and has exponential tails beyond the
//!    outer bounds, with the scale of the adjacent 80%–95% spacing.
//! 3. Forecast errors of neighbouring steps are strongly correlated (a level that is too
//!    low stays too low), so the quantile paths are treated as comonotone. Under that
//!    assumption an aggregation that is monotone in each sample (avg, min, max, p95,
//!    last) of a quantile path is the same quantile of the aggregated metric, so a
//!    rule's window is applied to each quantile path (the window reaching back into
//!    history uses the observed buckets), and the probability that the condition holds
//!    for the rule's whole `for` duration is the smallest per-step probability over it.
//!    The probability that the rule fires within the horizon is the largest of those.
//! 4. The expected time of violation (ETA) is the first step at which the rule fires
//!    with probability ≥ ½ — when the median forecast crosses — or, for a violation that
//!    is possible but less likely than not, the step where it is most likely.
//!
//! `==` and `!=` rules are not predicted (a continuous forecast equals a value with
//! probability 0). Rules already violated now are reported as current violations, not
//! predicted ones. Everything is deterministic: forecasts are pure and results are
//! sorted.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use super::compliance::CurrentViolation;
use super::forecast::{Forecast, ForecastConfig, ForecastError, forecast_with};
use super::par::map_items_prioritised;
use super::scan::wanted_first;
use crate::model::{SeriesKey, StoreError, TwinId, UnixSecs};
use crate::policy::{Aggregation, MetricRule, Operator, Policy, Severity, rules_for};
use crate::scenario::Scenario;

/// Width of the buckets that are forecast.
pub const PREDICT_STEP_SECS: i64 = 300;
/// Cumulative probabilities of the five quantiles a forecast carries per step.
const LEVELS: [f64; 5] = [0.025, 0.10, 0.5, 0.90, 0.975];

/// Settings of a prediction run.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictConfig {
    /// How far ahead to look, in seconds.
    pub horizon_secs: i64,
    /// History each forecast is fitted on, in seconds (default 14 days: two weekly
    /// seasons, so the MSTL-style model can use its weekly profile).
    pub history_secs: i64,
    /// Predicted violations less likely than this are not reported (default 0.2).
    pub min_probability: f64,
    /// Rolling origins of each forecast's backtest (MASE); 0 skips it (default 3).
    pub backtest_origins: usize,
}

impl PredictConfig {
    /// Defaults for a horizon in seconds.
    pub fn new(horizon_secs: i64) -> Self {
        Self { horizon_secs, history_secs: 14 * 86_400, min_probability: 0.2, backtest_origins: 3 }
    }
}

/// The forecast of one series on the prediction grid, with the recent history its
/// rule windows reach back into.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesForecast {
    /// The forecast (bucket means).
    pub forecast: Forecast,
    /// The latest observed bucket means, oldest first (up to one day).
    pub recent: Vec<f64>,
    /// The latest raw sample.
    pub last_value: f64,
}

/// A rule the forecast says will be violated.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictedViolation {
    /// Policy name.
    pub policy: String,
    /// Its severity.
    pub severity: Severity,
    /// The twin.
    pub twin: TwinId,
    /// The rule.
    pub rule: MetricRule,
    /// Expected time of the violation (start of the bucket in which the rule fires).
    pub at: UnixSecs,
    /// Seconds from the end of history until then.
    pub eta_secs: i64,
    /// Probability that the rule fires within the horizon.
    pub probability: f64,
    /// The median forecast of the rule's aggregated metric at `at`.
    pub expected: f64,
    /// The latest observed value.
    pub value: f64,
    /// The forecast model of the series.
    pub model: String,
    /// Backtest MASE of that forecast, when defined.
    pub mase: Option<f64>,
}

/// Everything a prediction run found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Predictions {
    /// Predicted violations, soonest first (then most severe, then by twin and policy).
    pub violations: Vec<PredictedViolation>,
    /// The forecasts made, per series.
    pub forecasts: BTreeMap<SeriesKey, SeriesForecast>,
    /// Series that could not be forecast, with the reason.
    pub skipped: Vec<(SeriesKey, String)>,
}

/// The prediction grid's bucket width for a scenario.
pub fn step_secs(scenario: &Scenario) -> i64 {
    PREDICT_STEP_SECS.max(scenario.resolution_secs)
}

/// Forecasts one series of a scenario on the prediction grid. `Ok(None)` when the
/// series does not exist.
pub fn forecast_series(
    scenario: &Scenario,
    key: &SeriesKey,
    config: &PredictConfig,
) -> Result<Option<SeriesForecast>, ForecastError> {
    let Some(series) = scenario.telemetry.series(key) else {
        return Ok(None);
    };
    let step = step_secs(scenario);
    let store_error = |e: StoreError| ForecastError::InvalidConfig(format!("telemetry: {e}"));
    let Some((last_ts, last_value)) = series.value_at(UnixSecs::MAX).map_err(store_error)? else {
        return Ok(None);
    };
    let from = last_ts.saturating_sub(config.history_secs.max(step));
    let buckets = series.rollup(from, last_ts.saturating_add(1), step).map_err(store_error)?;
    let ts: Vec<UnixSecs> = buckets.iter().map(|b| b.start).collect();
    let values: Vec<f64> = buckets.iter().map(|b| b.avg()).collect();
    let horizon = usize::try_from(config.horizon_secs.div_euclid(step).max(1)).unwrap_or(1);
    let mut fc = ForecastConfig::new(horizon);
    fc.backtest_origins = config.backtest_origins;
    let forecast = forecast_with(&ts, &values, &fc)?;
    let keep = values.len().min((86_400 / step).max(1) as usize);
    Ok(Some(SeriesForecast { forecast, recent: values[values.len() - keep..].to_vec(), last_value }))
}

/// The predictive CDF at `x` from five sorted quantiles at [`LEVELS`].
fn cdf(q: &[f64; 5], x: f64) -> f64 {
    let tail = |near: f64, far: f64| (far - near) / (LEVELS[1] / LEVELS[0]).ln();
    if x < q[0] {
        let scale = tail(q[1], q[0]).abs();
        return if scale > 0.0 { LEVELS[0] * (-(q[0] - x) / scale).exp() } else { 0.0 };
    }
    if x >= q[4] {
        let scale = tail(q[3], q[4]).abs();
        return if scale > 0.0 { 1.0 - LEVELS[0] * (-(x - q[4]) / scale).exp() } else { 1.0 };
    }
    for i in 0..4 {
        if x < q[i + 1] {
            // q[i] <= x < q[i + 1], so the width is positive.
            let w = q[i + 1] - q[i];
            return LEVELS[i] + (LEVELS[i + 1] - LEVELS[i]) * (x - q[i]) / w;
        }
    }
    1.0
}

/// Probability that a value drawn from the quantiles satisfies the rule's condition.
fn condition_probability(rule: &MetricRule, q: &[f64; 5]) -> f64 {
    let below = cdf(q, rule.threshold);
    match rule.operator {
        Operator::Gt | Operator::Ge => 1.0 - below,
        Operator::Lt | Operator::Le => below,
        Operator::Eq | Operator::Ne => 0.0,
    }
}

/// Whether a rule can be evaluated on a forecast.
pub fn predictable(rule: &MetricRule) -> bool {
    !matches!(rule.operator, Operator::Eq | Operator::Ne)
}

fn steps(secs: i64, step: i64) -> usize {
    usize::try_from((secs.max(0) + step - 1) / step).unwrap_or(usize::MAX).max(1)
}

/// Per forecast step: the probability that the rule fires there (its condition has held
/// for its whole `for` duration), and the median of the aggregated metric.
pub fn rule_probabilities(rule: &MetricRule, sf: &SeriesForecast) -> (Vec<f64>, Vec<f64>) {
    let f = &sf.forecast;
    let step = f.step_secs.max(1);
    let window = if rule.aggregation == Aggregation::Last { 1 } else { steps(rule.window_secs, step) };
    let hold = steps(rule.for_secs, step);
    let n = f.len();
    // Steps before the forecast that the `for` run may start in, limited by the history.
    let lead = (hold - 1).min(sf.recent.len().saturating_sub(window - 1).min(sf.recent.len()));
    let recent_used = (window - 1 + lead).min(sf.recent.len());
    let recent = &sf.recent[sf.recent.len() - recent_used..];
    let quantile = |i: usize, level: usize| -> f64 {
        let mut q = [f.lower_95[i], f.lower_80[i], f.mean[i], f.upper_80[i], f.upper_95[i]];
        q.sort_by(f64::total_cmp);
        q[level]
    };
    // Aggregated quantile paths over [lead steps of history] ++ [forecast].
    let total = lead + n;
    let mut agg = vec![[0.0f64; 5]; total];
    let mut buf: Vec<f64> = Vec::with_capacity(window);
    for level in 0..5 {
        for (j, slot) in agg.iter_mut().enumerate() {
            // Position j is extended index recent_used - lead + j; its window ends there.
            let end = recent_used - lead + j + 1;
            let begin = end.saturating_sub(window);
            buf.clear();
            buf.extend(
                (begin..end).map(|e| if e < recent_used { recent[e] } else { quantile(e - recent_used, level) }),
            );
            slot[level] = rule.aggregation.apply(&buf).unwrap_or(f64::NAN);
        }
    }
    let per_step: Vec<f64> = agg
        .iter()
        .map(|q| {
            let mut q = *q;
            q.sort_by(f64::total_cmp);
            if q.iter().all(|v| v.is_finite()) { condition_probability(rule, &q) } else { 0.0 }
        })
        .collect();
    let fires: Vec<f64> = (0..n)
        .map(|k| {
            let end = lead + k + 1;
            per_step[end.saturating_sub(hold)..end].iter().copied().fold(1.0, f64::min)
        })
        .collect();
    let medians = agg[lead..].iter().map(|q| q[2]).collect();
    (fires, medians)
}

/// Evaluates one rule on one series forecast: a predicted violation when the rule fires
/// within the horizon with at least `min_probability`.
pub fn predict_rule(
    rule: &MetricRule,
    sf: &SeriesForecast,
    now: UnixSecs,
    min_probability: f64,
) -> Option<(UnixSecs, f64, f64)> {
    if !predictable(rule) || sf.forecast.is_empty() {
        return None;
    }
    let (fires, medians) = rule_probabilities(rule, sf);
    let (best, probability) =
        fires.iter().copied().enumerate().fold((0, 0.0), |acc, (i, p)| if p > acc.1 { (i, p) } else { acc });
    if probability < min_probability || probability <= 0.0 {
        return None;
    }
    let k = fires.iter().position(|p| *p >= 0.5).unwrap_or(best);
    let at = sf.forecast.timestamp(k).max(now);
    Some((at, probability, medians[k]))
}

/// Forecasts every series a predictable threshold rule of `policies` applies to and
/// evaluates the rules on them. Rules in `current` (violated now) are left out. `None`
/// when cancelled.
pub fn predict(
    scenario: &Scenario,
    policies: &[Policy],
    current: &[CurrentViolation],
    config: &PredictConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Option<Predictions> {
    predict_prioritised(scenario, policies, current, config, &Mutex::new(Vec::new()), &|_, _| {}, progress, cancel)
}

/// The series [`predict`] forecasts: those a predictable rule of `policies` applies
/// to, sorted.
pub fn predictable_series(scenario: &Scenario, policies: &[Policy]) -> Vec<SeriesKey> {
    let mut keys: Vec<SeriesKey> = Vec::new();
    for twin in scenario.graph.twins() {
        for metric in scenario.telemetry.metrics_of(&twin.id) {
            if rules_for(policies, twin, metric.as_str()).any(|(_, r)| predictable(r)) {
                keys.push(SeriesKey::new(twin.id.clone(), metric.clone()));
            }
        }
    }
    keys.sort();
    keys
}

/// [`predict`], forecasting the series of the twins in `wanted` first (the caller may
/// change the list while it runs) and handing each series, with its predicted
/// violations (none when it has none or could not be forecast), to `sink` as soon as
/// its forecast is done. The result is the same as [`predict`]'s.
#[allow(clippy::too_many_arguments)]
pub fn predict_prioritised(
    scenario: &Scenario,
    policies: &[Policy],
    current: &[CurrentViolation],
    config: &PredictConfig,
    wanted: &Mutex<Vec<TwinId>>,
    sink: &(dyn Fn(&SeriesKey, Vec<PredictedViolation>) + Sync),
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Option<Predictions> {
    let keys = predictable_series(scenario, policies);
    let refs: Vec<&SeriesKey> = keys.iter().collect();
    let urgent = wanted_first(&refs, wanted);
    let results = map_items_prioritised(
        &keys,
        &urgent,
        progress,
        cancel,
        |key| forecast_series(scenario, key, config),
        |i, result| {
            let found = match result {
                Ok(Some(sf)) => series_violations(scenario, policies, current, config, &keys[i], sf),
                _ => Vec::new(),
            };
            sink(&keys[i], found);
        },
    )?;
    drop(urgent);
    let mut out = Predictions::default();
    for (key, result) in keys.into_iter().zip(results) {
        match result {
            Ok(Some(sf)) => {
                out.forecasts.insert(key, sf);
            }
            Ok(None) => {}
            Err(e) => out.skipped.push((key, e.to_string())),
        }
    }
    for (key, sf) in &out.forecasts {
        out.violations.extend(series_violations(scenario, policies, current, config, key, sf));
    }
    out.violations.sort_by(|a, b| {
        a.at.cmp(&b.at)
            .then_with(|| b.severity.cmp(&a.severity))
            .then_with(|| (&a.twin, &a.policy, a.rule.to_string()).cmp(&(&b.twin, &b.policy, b.rule.to_string())))
    });
    Some(out)
}

/// The predicted violations of the rules of `policies` on one series' forecast (rules
/// violated now, in `current`, left out), in the order of the policies and rules.
fn series_violations(
    scenario: &Scenario,
    policies: &[Policy],
    current: &[CurrentViolation],
    config: &PredictConfig,
    key: &SeriesKey,
    sf: &SeriesForecast,
) -> Vec<PredictedViolation> {
    let Some(twin) = scenario.graph.twin(&key.twin) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (policy, rule) in rules_for(policies, twin, key.metric.as_str()) {
        let violated_now = current.iter().any(|v| v.twin == twin.id && v.policy == policy.name && &v.rule == rule);
        if violated_now {
            continue;
        }
        if let Some((at, probability, expected)) = predict_rule(rule, sf, scenario.end, config.min_probability) {
            out.push(PredictedViolation {
                policy: policy.name.clone(),
                severity: policy.severity,
                twin: twin.id.clone(),
                rule: rule.clone(),
                at,
                eta_secs: at - scenario.end,
                probability,
                expected,
                value: sf.last_value,
                model: sf.forecast.model.clone(),
                mase: sf.forecast.mase,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Twin, TwinKind};

    fn flat_forecast(n: usize, q: [f64; 5]) -> SeriesForecast {
        SeriesForecast {
            forecast: Forecast {
                start: 1000,
                step_secs: 300,
                mean: vec![q[2]; n],
                lower_80: vec![q[1]; n],
                upper_80: vec![q[3]; n],
                lower_95: vec![q[0]; n],
                upper_95: vec![q[4]; n],
                model: "test".into(),
                mase: None,
                seasons: Default::default(),
            },
            recent: vec![q[2]; 12],
            last_value: q[2],
        }
    }

    #[test]
    fn cdf_passes_through_the_quantiles_and_has_tails() {
        let q = [10.0, 20.0, 30.0, 40.0, 50.0];
        for (x, p) in q.iter().zip(LEVELS) {
            assert!((cdf(&q, *x) - p).abs() < 1e-12, "{x}");
        }
        assert!((cdf(&q, 35.0) - 0.7).abs() < 1e-12);
        assert!(cdf(&q, 60.0) > 0.975 && cdf(&q, 60.0) < 1.0);
        assert!(cdf(&q, 0.0) > 0.0 && cdf(&q, 0.0) < 0.025);
        // The tail continues the 80%–95% spacing: one spacing further, the tail mass /4.
        assert!((1.0 - cdf(&q, 60.0) - 0.025 / 4.0).abs() < 1e-12);
        let mut last = 0.0;
        for i in -100..200 {
            let p = cdf(&q, f64::from(i) * 0.5);
            assert!(p >= last && (0.0..=1.0).contains(&p));
            last = p;
        }
        // Degenerate (zero-width) distribution: a step.
        let point = [5.0; 5];
        assert_eq!((cdf(&point, 4.9), cdf(&point, 5.0)), (0.0, 1.0));
    }

    #[test]
    fn probability_follows_the_threshold_and_operator() {
        let sf = flat_forecast(24, [60.0, 70.0, 80.0, 90.0, 100.0]);
        let p = |op, t| rule_probabilities(&MetricRule::threshold("cpu_usage", op, t), &sf).0[5];
        assert!((p(Operator::Gt, 80.0) - 0.5).abs() < 1e-12);
        assert!((p(Operator::Gt, 90.0) - 0.1).abs() < 1e-12);
        assert!((p(Operator::Lt, 70.0) - 0.1).abs() < 1e-12);
        assert!(p(Operator::Gt, 200.0) < 1e-6);
        assert_eq!(p(Operator::Eq, 80.0), 0.0);
    }

    #[test]
    fn a_rising_forecast_gives_an_eta_when_the_median_crosses() {
        let mut sf = flat_forecast(48, [0.0; 5]);
        let f = &mut sf.forecast;
        for i in 0..48 {
            let m = 50.0 + i as f64;
            (f.lower_95[i], f.lower_80[i], f.mean[i], f.upper_80[i], f.upper_95[i]) =
                (m - 10.0, m - 5.0, m, m + 5.0, m + 10.0);
        }
        sf.recent = vec![49.0; 12];
        let rule = MetricRule::threshold("cpu_usage", Operator::Gt, 80.0);
        let (at, probability, expected) = predict_rule(&rule, &sf, 1000, 0.2).unwrap();
        // The median passes 80 after step 30 (mean 80 is not > 80; step 31 is).
        assert_eq!(at, 1000 + 30 * 300);
        assert!((expected - 80.0).abs() < 1e-9 && probability > 0.99, "{expected} {probability}");
        // A `for` duration of 30 minutes delays it by 5 steps (6 buckets must hold).
        let mut held = rule.clone();
        held.for_secs = 1800;
        let (at_held, _, _) = predict_rule(&held, &sf, 1000, 0.2).unwrap();
        assert_eq!(at_held, at + 5 * 300);
        // An hour's average lags the rising median.
        let mut avg = rule.clone();
        (avg.aggregation, avg.window_secs) = (Aggregation::Avg, 3600);
        let (at_avg, _, _) = predict_rule(&avg, &sf, 1000, 0.2).unwrap();
        assert!(at_avg > at, "{at_avg} vs {at}");
        // Out of reach within the horizon: nothing.
        assert_eq!(predict_rule(&MetricRule::threshold("cpu_usage", Operator::Gt, 150.0), &sf, 1000, 0.2), None);
    }

    #[test]
    fn a_trending_scenario_series_is_predicted_and_current_violations_are_not() {
        let mut s = Scenario { resolution_secs: 60, ..Scenario::default() };
        for id in ["db", "web"] {
            s.graph.add_twin(Twin::new(id, TwinKind::Database)).unwrap();
        }
        let n = 10 * 1440;
        let ts: Vec<i64> = (0..n).map(|i| i as i64 * 60).collect();
        // db: disk grows 0.15 %/hour from 40% (76% at the end, 90% about 93 h later),
        // with a daily ripple; web: already above the threshold.
        let disk: Vec<f64> = (0..n)
            .map(|i| {
                let h = i as f64 / 60.0;
                let v = 40.0 + 0.15 * h + 2.0 * (h * std::f64::consts::TAU / 24.0).sin();
                (v * 10.0).round() / 10.0
            })
            .collect();
        s.telemetry.append_many(&SeriesKey::new("db", "disk_usage"), &ts, &disk).unwrap();
        s.telemetry.append_many(&SeriesKey::new("web", "disk_usage"), &ts, &vec![95.0; n]).unwrap();
        s.end = ts[n - 1] + 60;
        let mut policy = Policy::named("disk");
        policy.severity = Severity::High;
        policy.rules.push(MetricRule::threshold("disk_usage", Operator::Gt, 90.0));
        s.policies.push(policy);
        let history = crate::policy::spans::violation_history(&s.policies, &s.graph, &s.telemetry, 60).unwrap();
        let current = super::super::compliance::current_violations(&s, &s.policies, &history);
        assert_eq!(current.len(), 1);
        let config = PredictConfig { backtest_origins: 0, ..PredictConfig::new(7 * 86_400) };
        let out = predict(&s, &s.policies, &current, &config, &|_, _| {}, &AtomicBool::new(false)).unwrap();
        assert_eq!(out.forecasts.len(), 2);
        assert_eq!(out.violations.len(), 1, "{:?}", out.violations);
        let v = &out.violations[0];
        assert_eq!((v.twin.as_str(), v.policy.as_str()), ("db", "disk"));
        // Linear growth crosses 90% about 93 hours after the end of history.
        assert!(v.probability > 0.5, "{v:?}");
        assert!((60 * 3600..130 * 3600).contains(&v.eta_secs), "{v:?}");
        let again = predict(&s, &s.policies, &current, &config, &|_, _| {}, &AtomicBool::new(false)).unwrap();
        assert_eq!(again, out, "deterministic");
        assert!(predict(&s, &s.policies, &current, &config, &|_, _| {}, &AtomicBool::new(true)).is_none());
        // Prioritised and streamed: the same result, and every violation streamed.
        let wanted = Mutex::new(vec![TwinId::new("web"), TwinId::new("db")]);
        let streamed = Mutex::new(Vec::new());
        let done = Mutex::new(Vec::new());
        let sink = |key: &SeriesKey, found: Vec<PredictedViolation>| {
            done.lock().unwrap().push(key.clone());
            streamed.lock().unwrap().extend(found);
        };
        let first = predict_prioritised(
            &s,
            &s.policies,
            &current,
            &config,
            &wanted,
            &sink,
            &|_, _| {},
            &AtomicBool::new(false),
        );
        assert_eq!(first.as_ref(), Some(&out));
        assert_eq!(streamed.into_inner().unwrap(), out.violations);
        let mut done = done.into_inner().unwrap();
        done.sort();
        assert_eq!(done, predictable_series(&s, &s.policies), "every series is reported done");
        assert!(wanted.lock().unwrap().is_empty(), "wanted twins leave the list once taken");
    }
}
