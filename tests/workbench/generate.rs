//! `twinbench generate` with trouble: the healthy estate unchanged at rate 0, and at a
//! rate above 0 an estate whose assessment has drift, predicted and past violations,
//! outages and proposed remediation; the same seed gives the same file.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use twinbench::analytics::predict::{PredictConfig, predict};
use twinbench::io::scenario;
use twinbench::io::synth::{SynthSpec, TroubleRate, estate};
use twinbench::model::{ActionKind, Status};
use twinbench::remediation::assessment::Assessment;
use twinbench::scenario::Scenario;

use crate::support::{stderr, twinbench};

/// `generate --twins 60 --days 2 --seed SEED` with `extra` arguments: the file's bytes.
fn generate(dir: &Path, name: &str, seed: &str, extra: &[&str]) -> Vec<u8> {
    let path = dir.join(name);
    let mut args = vec!["generate", "--twins", "60", "--days", "2", "--seed", seed, "--out", path.to_str().unwrap()];
    args.extend(extra);
    let out = twinbench(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::read(path).unwrap()
}

/// At rate 0 the file is byte for byte what `generate` wrote before trouble existed
/// (the digest of `generate --twins 60 --days 2 --seed 5` from that build).
#[test]
fn no_trouble_is_the_healthy_estate_of_before() {
    let dir = tempfile::tempdir().unwrap();
    let healthy = generate(dir.path(), "healthy.ron", "5", &["--trouble", "0"]);
    assert_eq!(
        blake3::hash(&healthy).to_hex().to_string(),
        "a4ad311d1920d6d79173940df283ec6b54242cc6a0fa501834d49437b4390ac3"
    );
    let troubled = generate(dir.path(), "troubled.ron", "5", &[]);
    assert_ne!(healthy, troubled);
}

#[test]
fn the_same_seed_gives_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate(dir.path(), "a.ron", "5", &["--trouble", "0.3"]);
    let b = generate(dir.path(), "b.ron", "5", &["--trouble", "0.3"]);
    assert_eq!(a, b);
    let c = generate(dir.path(), "c.ron", "6", &["--trouble", "0.3"]);
    assert_ne!(a, c);
}

#[test]
fn a_bad_trouble_rate_exits_2_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("x.ron");
    for rate in ["1.5", "-0.1", "NaN"] {
        let out = twinbench(&["generate", "--twins", "5", "--trouble", rate, "--out", out_path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{rate}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("--trouble") && err.contains("between 0 and 1"), "{rate}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!out_path.exists());
    }
    let out = twinbench(&["generate", "--twins", "5", "--trouble", "lots", "--out", out_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--trouble"), "{}", stderr(&out));
}

fn troubled_estate() -> Scenario {
    let trouble = TroubleRate::new(0.2).unwrap();
    let file = estate(SynthSpec { twins: 200, days: 7.0, seed: 3, trouble });
    let text = scenario::to_ron(&file).unwrap();
    let def = scenario::parse_def(Path::new("estate-200.ron"), &text).unwrap();
    scenario::fill_history(def, &|_, _| {}, &AtomicBool::new(false)).unwrap()
}

/// Each kind of trouble shows in the assessment: drift with its start, a creeping disk
/// predicted to cross its limit, a noisy neighbour's daily saturation (past spans and
/// a predicted one), outages in status history with their callers' error spans, and
/// candidate actions for them.
#[test]
fn troubled_estates_have_findings_of_each_kind() {
    let s = troubled_estate();
    let (start, end) = (s.start, s.end);
    let policies = Arc::new(s.policies.clone());
    let assessment = Assessment::new(Arc::new(s), policies).unwrap();
    let s = assessment.scenario().clone();
    let predictions = predict(
        &s,
        &s.policies,
        &assessment.current_at_end(),
        &PredictConfig::new(168 * 3600),
        &|_, _| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let assessment = assessment.with_predictions(Arc::new(predictions.clone()));
    let now = assessment.at_end();

    // Drifted configuration, each with the hour it started.
    assert!(now.drift.fleet_score > 0.0);
    let drifting: Vec<_> = now.drift.drifting().collect();
    assert!(drifting.len() >= 5, "{}", drifting.len());
    let kernel = drifting.iter().flat_map(|t| &t.keys).find(|k| k.rule.key == "kernel").unwrap();
    assert!(kernel.since.is_some_and(|t| (start..end).contains(&t)), "{kernel:?}");

    // A creeping disk, predicted to cross its limit within the week; a noisy
    // neighbour's next saturation.
    let predicted = |metric: &str| predictions.violations.iter().filter(|v| v.rule.metric.as_str() == metric).count();
    assert!(predicted("disk_usage") >= 1, "{:?}", predictions.violations);
    assert!(predicted("cpu_usage") >= 1, "{:?}", predictions.violations);

    // Violation spans in history: saturated hosts, and callers failing during outages.
    let spans_of = |metric: &str| {
        assessment
            .violations()
            .values()
            .flatten()
            .filter(|sp| s.policies[sp.policy].rules[sp.rule].metric.as_str() == metric)
            .count()
    };
    assert!(spans_of("cpu_usage") >= 3, "{}", spans_of("cpu_usage"));
    assert!(spans_of("error_rate") >= 1, "{}", spans_of("error_rate"));
    assert!(spans_of("latency_ms") >= 1, "{}", spans_of("latency_ms"));
    assert!(s.graph.twins().any(|t| t.status_history.iter().any(|(_, st)| *st == Status::Down)));

    // Remediation: drift is restored, a predicted disk is acted on.
    assert!(now.candidates.iter().any(|c| matches!(c.kind, ActionKind::Reconfigure { .. })));
    assert!(now.candidates.iter().any(|c| c.finding.metric().is_some_and(|m| m.as_str() == "disk_usage")));
}
