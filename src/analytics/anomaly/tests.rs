//! Unit tests of the anomaly detectors on small synthetic series.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::*;
use crate::policy::MetricRule;

const STEP: i64 = 300;
const T0: i64 = 1_396_310_400; // 2014-04-01 00:00:00 UTC

fn noise(seed: u64, n: usize, sd: f64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0, sd).unwrap();
    (0..n).map(|_| normal.sample(&mut rng)).collect()
}

fn times(n: usize) -> Vec<i64> {
    (0..n as i64).map(|i| T0 + i * STEP).collect()
}

fn learned() -> LearnedDetector {
    LearnedDetector::new(LearnedConfig::default())
}

fn scores(values: &[f64]) -> Vec<Score> {
    score_series(&mut learned(), &times(values.len()), values).unwrap()
}

/// Ten days of a daily cycle (5-minute samples) with noise.
fn seasonal(seed: u64) -> Vec<f64> {
    let n = 10 * 288;
    noise(seed, n, 2.0)
        .into_iter()
        .enumerate()
        .map(|(i, e)| 50.0 + 30.0 * (2.0 * std::f64::consts::PI * i as f64 / 288.0).sin() + e)
        .collect()
}

#[test]
fn spike_in_a_seasonal_series_scores_high_with_a_reason() {
    let mut values = seasonal(1);
    // At the daily trough (value about 20) a jump to the usual daily peak: normal for
    // the metric overall, anomalous for this time of day.
    let at = 8 * 288 + 216;
    values[at] += 45.0;
    let s = scores(&values);
    assert!(s[at].score >= 0.5, "{:?}", s[at]);
    let reason = s[at].reason("cpu");
    assert!(reason.starts_with("cpu ") && reason.contains("above"), "{reason}");
    let before = s[..at].iter().skip(3 * 288).map(|s| s.score).fold(0.0, f64::max);
    assert!(s[at].score > before, "spike {} vs max before {before}", s[at].score);
}

#[test]
fn stationary_noise_stays_low() {
    let values: Vec<f64> = noise(2, 4000, 1.0).into_iter().map(|e| 40.0 + e).collect();
    let s = scores(&values);
    let alarms = s.iter().filter(|s| s.score >= 0.5).count();
    let mean = s.iter().map(|s| s.score).sum::<f64>() / s.len() as f64;
    assert!(alarms <= 1, "{alarms} alarms on pure noise");
    assert!(mean < 0.15, "mean score {mean}");
    assert!(s.iter().all(|s| (0.0..=1.0).contains(&s.score)));
}

#[test]
fn level_shift_is_detected_as_such() {
    // A shift of 2σ: too small to stand out sample by sample, clear in the mean.
    let mut values: Vec<f64> = noise(3, 1500, 1.0).into_iter().map(|e| 10.0 + e).collect();
    for v in &mut values[1000..] {
        *v += 2.0;
    }
    let s = scores(&values);
    let max_before = s[300..1000].iter().map(|s| s.score).fold(0.0, f64::max);
    let max_after = s[1000..1030].iter().map(|s| s.score).fold(0.0, f64::max);
    assert!(max_after > max_before && max_after > 0.35, "{max_after} after vs {max_before} before");
    // The samples after the onset explain it as a level shift of about +20%.
    let shift = s[1000..1030]
        .iter()
        .find_map(|s| match s.cause {
            Some(Cause::LevelShift { relative: Some(r), .. }) if (0.05..0.4).contains(&r) => Some(s.reason("latency")),
            _ => None,
        })
        .expect("a level-shift reason");
    assert!(shift.starts_with("latency level shift +"), "{shift}");
}

#[test]
fn an_incident_is_reported_once_then_held() {
    let mut values: Vec<f64> = noise(4, 1500, 1.0).into_iter().map(|e| 10.0 + e).collect();
    for v in &mut values[1000..1100] {
        *v += 6.0;
    }
    let s = scores(&values);
    let alarms = s[1000..1100].iter().filter(|s| s.score >= 0.5).count();
    assert!((1..=3).contains(&alarms), "{alarms} alarms in one incident");
    assert!(s[1000..1100].iter().any(|s| s.ongoing));
}

#[test]
fn flat_line_is_reported_as_such() {
    let mut values = seasonal(5);
    let start = 7 * 288 + 100;
    let stuck = values[start];
    for v in &mut values[start..start + 200] {
        *v = stuck;
    }
    let s = scores(&values);
    let hit = s[start..start + 60].iter().find(|s| s.score >= 0.5).expect("flat-lining raises an alarm");
    assert!(s[start..start + 60].iter().any(|s| s.reason("cpu").contains("flat-lined")), "{hit:?}");
}

#[test]
fn threshold_rules_fire_with_their_reason() {
    let rule = MetricRule::threshold("cpu", Operator::Gt, 85.0);
    let mut rules = RuleDetector::from_policy_rules([&rule]);
    assert_eq!(rules.update(T0, 80.0), Score::quiet());
    let hit = rules.update(T0 + STEP, 91.5);
    assert_eq!(hit.score, 1.0);
    assert_eq!(hit.reason("cpu"), "cpu above threshold 85 (91.5 > 85)");

    let mut rate = RuleDetector::new(Vec::new(), Some(RateLimit { max_abs_per_sec: 0.1 }));
    assert_eq!(rate.update(T0, 10.0).score, 0.0);
    assert_eq!(rate.update(T0 + 100, 15.0).score, 0.0); // 0.05/s
    let fast = rate.update(T0 + 200, 40.0); // 0.25/s
    assert_eq!(fast.score, 1.0);
    assert_eq!(fast.reason("queue"), "queue rising 0.25/s, faster than the limit 0.1/s");

    // Attached to the learned detector, a violation wins even during warm-up.
    let mut d = learned().with_rules(RuleDetector::from_policy_rules([&rule]));
    assert_eq!(d.update(T0, 50.0).score, 0.0);
    assert_eq!(d.update(T0 + STEP, 86.0).score, 1.0);
}

#[test]
fn scores_of_a_prefix_do_not_depend_on_what_follows() {
    let mut values = seasonal(6);
    values[2500] += 40.0;
    let ts = times(values.len());
    let full = score_series(&mut learned(), &ts, &values).unwrap();
    let prefix = score_series(&mut learned(), &ts[..1800], &values[..1800]).unwrap();
    for (i, (a, b)) in prefix.iter().zip(&full).enumerate() {
        assert_eq!(a.score.to_bits(), b.score.to_bits(), "row {i}");
        assert_eq!(a, b, "row {i}");
    }
    let mut wg = WindowedGaussian::new();
    let full = score_series(&mut wg, &ts, &values).unwrap();
    let prefix = score_series(&mut WindowedGaussian::new(), &ts[..900], &values[..900]).unwrap();
    assert_eq!(&full[..900], &prefix[..]);
}

#[test]
fn same_input_gives_identical_scores() {
    let values = seasonal(7);
    let a = scores(&values);
    let b = scores(&values);
    assert_eq!(a, b);
    assert!(a.iter().zip(&b).all(|(x, y)| x.score.to_bits() == y.score.to_bits()));
}

#[test]
fn warm_up_is_quiet_and_missing_values_are_skipped() {
    let values = noise(8, 500, 1.0);
    let s = scores(&values);
    assert!(s[..300].iter().all(|s| s.score == 0.0 && s.cause.is_none()));
    assert!(s[400..].iter().any(|s| s.cause.is_some()));
    let mut d = learned();
    let mut e = learned();
    for (i, v) in values.iter().enumerate() {
        let t = T0 + i as i64 * STEP;
        d.update(t, *v);
        if i == 150 {
            assert_eq!(e.update(t, f64::NAN), Score::quiet());
        }
        e.update(t, *v);
    }
    assert_eq!(d.update(T0 + 600 * STEP, 1.0), e.update(T0 + 600 * STEP, 1.0));
}

#[test]
fn batch_scoring_rejects_bad_input() {
    let mut d = learned();
    assert_eq!(score_series(&mut d, &[1, 2], &[1.0]), Err(AnomalyError::LengthMismatch { timestamps: 2, values: 1 }));
    let e = score_series(&mut d, &[1, 2], &[1.0, f64::INFINITY]).unwrap_err();
    assert_eq!(e.to_string(), "sample 1 is not a finite number (inf)");
    assert!(LearnedConfig { short_window: 1, ..LearnedConfig::default() }.validate().is_err());
    assert!(LearnedConfig::default().validate().is_ok());
}

#[test]
fn timestamps_that_step_back_are_scored_in_order() {
    let values = seasonal(9);
    let mut ts = times(values.len());
    // A repeated hour, as in files written across a clock change.
    for t in &mut ts[1200..] {
        *t -= 3600;
    }
    let s = score_series(&mut learned(), &ts, &values).unwrap();
    assert_eq!(s.len(), values.len());
    assert!(s.iter().all(|s| (0.0..=1.0).contains(&s.score)));
}

#[test]
fn twin_score_names_the_top_metric() {
    let calm = Score::from_tail_prob(0.3, Some(Cause::Spike { sigmas: 0.5 }));
    let hot = Score::from_tail_prob(1e-6, Some(Cause::Seasonal { sigmas: 5.2, expected: 40.0 }));
    let twin = combine_twin(&[("cpu_usage", &calm), ("memory_usage", &hot), ("disk", &Score::quiet())]);
    assert_eq!(twin.top_metric.as_deref(), Some("memory_usage"));
    assert!((twin.tail_prob - 3e-6).abs() < 1e-12);
    assert!(twin.score < hot.score && twin.score > 0.5);
    assert_eq!(twin.reason.as_deref(), Some("memory_usage 5.2σ above the daily baseline (expected 40)"));
    let none = combine_twin(&[("cpu_usage", &Score::quiet())]);
    assert_eq!((none.score, none.top_metric), (0.0, None));
}

#[test]
fn score_mapping_is_monotone_and_invertible() {
    assert_eq!(score_from_tail_prob(1.0), 0.0);
    assert_eq!(score_from_tail_prob(0.0), 1.0);
    assert!((score_from_tail_prob(1e-4) - 0.5).abs() < 1e-12);
    let mut last = 0.0;
    for k in 1..40 {
        let p = 10f64.powi(-k);
        let s = score_from_tail_prob(p);
        assert!(s > last);
        last = s;
        assert!((tail_prob_from_score(s).log10() + k as f64).abs() < 1e-9);
    }
}

#[test]
fn windowed_gaussian_matches_the_reference_formula() {
    let mut wg = WindowedGaussian::new();
    assert_eq!(wg.update(0, 1.0).score, 0.0);
    wg.update(1, 3.0); // window {1, 3}: mean 2, std 1
    let s = wg.update(2, 4.0); // z = 2 → 1 − Q(2)
    assert!((s.score - (1.0 - 0.022_750_131_948_179)).abs() < 1e-12, "{}", s.score);
    assert!(matches!(s.cause, Some(Cause::Gaussian { sigmas }) if (sigmas - 2.0).abs() < 1e-12));
}
