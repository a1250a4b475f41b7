//! Learned models recover the parameters of series made from known ones.

use super::*;
use crate::model::{DAY_SECS, NoiseTails, WorkloadModel};

/// A deterministic generator of roughly normal numbers (xorshift; sum of 12 uniforms).
struct Gen(u64);

impl Gen {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }

    /// Student t with 3 degrees of freedom, unit variance.
    fn t3(&mut self) -> f64 {
        let z = self.normal();
        let chi: f64 = (0..3).map(|_| self.normal().powi(2)).sum();
        z / (chi / 3.0).sqrt() / 3f64.sqrt()
    }
}

const START: i64 = 1_700_000_000 - 1_700_000_000 % DAY_SECS; // a midnight

fn config(resolution: i64) -> LearnConfig {
    LearnConfig { resolution_secs: resolution, max_days: 56.0, until: None, relearn: Relearn::Missing }
}

/// `days` of samples every `step` seconds of `f(t) + AR(1)` noise with stationary sd
/// `sd` and memory `phi`.
fn series(days: i64, step: i64, sd: f64, phi: f64, seed: u64, f: impl Fn(i64) -> f64) -> (Vec<i64>, Vec<f64>) {
    let mut g = Gen(seed);
    let mut noise = sd * g.normal();
    let innovation = sd * (1.0 - phi * phi).sqrt();
    let n = days * DAY_SECS / step;
    let ts: Vec<i64> = (0..n).map(|k| START + k * step).collect();
    let values = ts
        .iter()
        .map(|t| {
            noise = phi * noise + innovation * g.normal();
            f(*t) + noise
        })
        .collect();
    (ts, values)
}

#[test]
fn a_daily_cycle_trend_and_noise_are_recovered() {
    let (amp, trend, sd, phi) = (10.0, 0.5, 2.0, 0.8);
    let daily = |t: i64| amp * (std::f64::consts::TAU * ((t % DAY_SECS) as f64 / DAY_SECS as f64 - 14.0 / 24.0)).cos();
    let (ts, values) = series(28, 60, sd, phi, 7, |t| 50.0 + trend * (t - START) as f64 / DAY_SECS as f64 + daily(t));
    let fit = learn_series("cpu_usage", &ts, &values, START, &config(60)).unwrap();
    let m = &fit.model;
    assert_eq!(m.daily_profile.len(), DAILY_POINTS, "{:?}", m.learned);
    let (lo, hi) = m.daily_profile.iter().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let learned_amp = (hi - lo) / 2.0;
    // Hourly points of a cosine sit up to half an hour off its peak: ≥ 98% of it.
    assert!((learned_amp - amp).abs() < 0.08 * amp, "daily amplitude {learned_amp}");
    let peak = m.daily_profile.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    assert!((13..=14).contains(&peak), "peak hour {peak}");
    assert!((m.trend_per_day - trend).abs() < 0.2 * trend, "trend {}", m.trend_per_day);
    assert!((m.noise - sd).abs() < 0.15 * sd, "noise {}", m.noise);
    assert!(m.noise_memory > 0.6 && m.noise_memory < 0.95, "memory {}", m.noise_memory);
    assert!(m.weekly_profile.is_empty(), "no weekly pattern was put in: {:?}", m.learned);
    // The level at the end of history, as the model has it.
    let end = *ts.last().unwrap();
    let truth = 50.0 + trend * (end - START) as f64 / DAY_SECS as f64 + daily(end);
    let model_at_end = m.expected(START, end);
    assert!((model_at_end - truth).abs() < 1.5, "expected {model_at_end} vs {truth}");
    assert_eq!((m.min, m.max), (0.0, 100.0));
    assert_eq!(m.tails, NoiseTails::Normal);
}

#[test]
fn a_weekend_dip_over_four_weeks_is_a_weekly_profile() {
    let weekend = |t: i64| if (t.div_euclid(DAY_SECS) + 3).rem_euclid(7) >= 5 { -20.0 } else { 0.0 };
    let (ts, values) = series(28, 300, 1.0, 0.5, 11, |t| 100.0 + weekend(t));
    let fit = learn_series("request_rate", &ts, &values, START, &config(300)).unwrap();
    let w = &fit.model.weekly_profile;
    assert_eq!(w.len(), 7, "{:?}", fit.model.learned);
    let drop = (w[5] + w[6]) / 2.0 - w[..5].iter().sum::<f64>() / 5.0;
    assert!((drop + 20.0).abs() < 2.0, "weekend drop {drop}: {w:?}");
}

#[test]
fn a_level_shift_in_the_second_week_is_a_new_level_not_a_season() {
    // Two weeks at 5 minutes (like the NAB rds series); the level jumps on day 9.
    let shift_at = START + 9 * DAY_SECS + 13 * 3600;
    let (ts, values) = series(14, 300, 1.5, 0.3, 5, |t| if t >= shift_at { 40.0 } else { 15.0 });
    let fit = learn_series("cpu_usage", &ts, &values, START, &config(300)).unwrap();
    let m = &fit.model;
    assert!(m.weekly_profile.is_empty() && m.daily_profile.is_empty(), "{:?}", m.learned);
    let end = *ts.last().unwrap();
    assert!((m.expected(START, end + DAY_SECS) - 40.0).abs() < 1.0, "continues the new level");
    assert!(m.trend_per_day.abs() < 0.5, "a shift is not a trend: {}", m.trend_per_day);
    let notes = &m.learned.as_ref().unwrap().notes;
    assert!(notes.iter().any(|n| n.starts_with("level shift of +")), "{notes:?}");
}

#[test]
fn white_noise_has_no_season_and_heavy_tails_are_seen() {
    let (ts, values) = series(10, 60, 3.0, 0.0, 3, |_| 20.0);
    let m = learn_series("latency_ms", &ts, &values, START, &config(60)).unwrap().model;
    assert!(m.daily_profile.is_empty() && m.weekly_profile.is_empty());
    assert_eq!(m.tails, NoiseTails::Normal);
    assert!(m.noise_memory < 0.2, "{}", m.noise_memory);
    assert_eq!(m.max, f64::MAX);
    let mut g = Gen(9);
    let ts: Vec<i64> = (0..20_000).map(|k| START + 60 * k).collect();
    let values: Vec<f64> = ts.iter().map(|_| 100.0 + 5.0 * g.t3()).collect();
    let m = learn_series("latency_ms", &ts, &values, START, &config(60)).unwrap().model;
    assert!(matches!(m.tails, NoiseTails::StudentT(3 | 5)), "{:?}", m.tails);
}

#[test]
fn gaps_duplicates_and_tiny_series_are_handled() {
    // Duplicated and missing samples.
    let ts = vec![START, START, START + 60, START + 600, START + 660];
    let values = vec![1.0, 3.0, 2.0, 2.5, 2.0];
    let fit = learn_series("queue_depth", &ts, &values, START, &config(60)).unwrap();
    assert!(fit.model.base.is_finite() && fit.model.noise.is_finite());
    assert_eq!(fit.model.decimals, 1);
    // One sample: a flat model at it.
    let m = learn_series("x", &[START], &[7.0], START, &config(60)).unwrap().model;
    assert_eq!((m.base, m.noise, m.trend_per_day), (7.0, 0.0, 0.0));
    assert!(learn_series("x", &[], &[], START, &config(60)).is_none());
    // Negative values: no lower bound.
    let m = learn_series("temperature", &[START, START + 60], &[-3.0, -4.0], START, &config(60)).unwrap().model;
    assert!(m.min < -1e300);
}

#[test]
fn decimals_and_rounding() {
    assert_eq!(series::decimals_of(&[1.0, 2.0, 300.0]), 0);
    assert_eq!(series::decimals_of(&[1.25, 2.5]), 2);
    // Floating-point noise is not precision; at most 6 decimals are kept.
    assert_eq!(series::decimals_of(&[0.1 + 0.2]), 1);
    assert_eq!(series::decimals_of(&[0.123_456_789]), 6);
    assert_eq!(series::round_sig(123.456_789), 123.457);
    assert_eq!(series::round_sig(-0.000_123_456_78), -0.000_123_457);
}

/// A scenario `lb -> {web-a, web-b}`, each web on CPU that follows its requests, from
/// series made here (a shared daily cycle plus each twin's own noise).
fn coupled_scenario() -> crate::scenario::Scenario {
    use crate::model::{Dependency, EdgeKind, Twin, TwinKind};
    use crate::scenario::Scenario;
    let mut s = Scenario {
        name: "coupled".into(),
        resolution_secs: 300,
        start: START,
        end: START + 7 * DAY_SECS,
        ..Scenario::default()
    };
    for (id, kind) in [("lb", TwinKind::LoadBalancer), ("web-a", TwinKind::Service), ("web-b", TwinKind::Service)] {
        s.graph.add_twin(Twin::new(id, kind)).unwrap();
    }
    for to in ["web-a", "web-b"] {
        s.graph.add_dependency(&"lb".into(), &to.into(), Dependency::new(EdgeKind::RoutesTo)).unwrap();
    }
    let mut g = Gen(21);
    let n = 7 * 288;
    let ts: Vec<i64> = (0..n).map(|k| START + 300 * k as i64).collect();
    let cycle: Vec<f64> = ts
        .iter()
        .map(|t| 1000.0 + 400.0 * (std::f64::consts::TAU * (t % DAY_SECS) as f64 / DAY_SECS as f64).sin())
        .collect();
    let lb: Vec<f64> = cycle.iter().map(|c| c + 10.0 * g.normal()).collect();
    let a: Vec<f64> = lb.iter().map(|x| 0.3 * x + 3.0 * g.normal()).collect();
    let b: Vec<f64> = lb.iter().map(|x| 0.7 * x + 3.0 * g.normal()).collect();
    // CPU: 20% floor, the rest proportional to requests; latency: fixed + queueing.
    let cpu_a: Vec<f64> = a.iter().map(|r| 10.0 + 40.0 * r / 300.0 + 0.5 * g.normal()).collect();
    let lat_a: Vec<f64> = cpu_a.iter().map(|c| 20.0 + 5.0 / (1.0 - c / 100.0) + 0.2 * g.normal()).collect();
    for (twin, metric, v) in [
        ("lb", "request_rate", &lb),
        ("web-a", "request_rate", &a),
        ("web-b", "request_rate", &b),
        ("web-a", "cpu_usage", &cpu_a),
        ("web-a", "latency_ms", &lat_a),
    ] {
        s.telemetry.append_many(&crate::model::SeriesKey::new(twin, metric), &ts, v).unwrap();
    }
    s.telemetry.seal().unwrap();
    s
}

#[test]
fn couplings_and_traffic_shares_are_learned_from_co_moving_series() {
    let s = coupled_scenario();
    let learned =
        learn(&s, &LearnConfig::for_scenario(&s), &|_, _| {}, &std::sync::atomic::AtomicBool::new(false)).unwrap();
    assert_eq!(learned.count(), 5);
    let share = |to: &str| learned.shares.iter().find(|e| e.to.as_str() == to).map(|e| e.share);
    assert!((share("web-a").unwrap() - 0.3).abs() < 0.02, "{:?}", learned.shares);
    assert!((share("web-b").unwrap() - 0.7).abs() < 0.02, "{:?}", learned.shares);
    let web = learned.couplings.iter().find(|c| c.twin.as_str() == "web-a").unwrap();
    // 40 of the 50% CPU at the mean request rate follows traffic: 0.8.
    let follows = web.follows_traffic.unwrap();
    assert!((follows - 0.8).abs() < 0.05, "{follows}: {:?}", web.notes);
    // Latency 20 fixed + 5/(1 − ρ) ≈ 10 queueing at ρ ≈ 0.5: a third queueing.
    let queueing = web.queueing_share.unwrap();
    assert!((queueing - 1.0 / 3.0).abs() < 0.08, "{queueing}: {:?}", web.notes);
    let mut applied = s.clone();
    learned.apply(&mut applied);
    let key = crate::model::SeriesKey::new("web-a", "cpu_usage");
    assert_eq!(applied.workloads[&key].follows_traffic, follows);
    let edge = applied.graph.edges().into_iter().find(|(_, to, _)| to.as_str() == "web-b").unwrap().2.traffic_share;
    assert_eq!(edge, share("web-b").unwrap());
    // Relearning only what was learned keeps a written model.
    let mut written = applied.clone();
    written.workloads.insert(key.clone(), WorkloadModel::flat(42.0));
    let again = learn(
        &written,
        &LearnConfig { relearn: Relearn::Learned, ..LearnConfig::for_scenario(&written) },
        &|_, _| {},
        &std::sync::atomic::AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(again.count(), 4);
    assert!(!again.models.contains_key(&key));
}
