//! `twinbench check`: current violations, configuration drift and (with forecasts)
//! predicted violations of a scenario's policies. Exit 0 clean, 1 found, 2 error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use serde_json::json;

use super::{CheckArgs, horizon_secs, print_json};
use crate::analytics::predict::{PredictConfig, Predictions, predict};
use crate::io::Stopwatch;
use crate::io::time::format_rfc3339;
use crate::io::{policy, scenario};
use crate::remediation::assessment::{Assessment, AtTime};

/// A scenario file with extra policy files, assessed at its end with predictions
/// `horizon_secs` ahead (and drift forecast as far). Shared by `check` and `plan`.
pub struct Loaded {
    /// The assessment: the scenario, its policies extended by the `--policy` files,
    /// their violation spans and the predictions.
    pub assessment: Assessment,
    /// Seconds the forecasts took.
    pub predict_secs: f64,
}

/// Loads `scenario_path` with the extra policy files and assesses it `horizon_secs`
/// ahead.
pub fn load_assessment(scenario_path: &Path, policy_paths: &[PathBuf], horizon_secs: i64) -> Result<Loaded> {
    let mut s = scenario::load(scenario_path)?;
    for path in policy_paths {
        let extra = policy::load_policies(path, &s.graph)?;
        s.policies.extend(extra);
    }
    let policies = Arc::new(s.policies.clone());
    let assessment = Assessment::new(Arc::new(s), policies)?.with_drift_horizon(horizon_secs);
    let clock = Stopwatch::start();
    let config = PredictConfig::new(horizon_secs);
    let never = AtomicBool::new(false);
    let s = assessment.scenario();
    let predictions =
        predict(s, &s.policies, &assessment.current_at_end(), &config, &|_, _| {}, &never).unwrap_or_default();
    let predict_secs = clock.secs();
    Ok(Loaded { assessment: assessment.with_predictions(Arc::new(predictions)), predict_secs })
}

/// `twinbench check`.
pub fn check(args: &CheckArgs) -> Result<ExitCode> {
    let Loaded { assessment, predict_secs } =
        load_assessment(&args.scenario, &args.policy, horizon_secs(args.horizon)?)?;
    let s = assessment.scenario();
    let AtTime { current, drift, .. } = assessment.at_end();
    let no_predictions = Predictions::default();
    let predictions = assessment.predictions().map_or(&no_predictions, |p| p.as_ref());
    let drifting: Vec<_> = drift.drifting().collect();
    let predicted = &predictions.violations;
    let found = !current.is_empty() || !drifting.is_empty() || !predicted.is_empty();
    if args.json {
        print_json(&json!({
            "scenario": s.name,
            "now": format_rfc3339(s.end),
            "horizon_hours": args.horizon,
            "policies": s.policies.len(),
            "current": current.iter().map(|v| json!({
                "policy": v.policy,
                "severity": v.severity.as_str(),
                "twin": v.twin.as_str(),
                "rule": v.rule.to_string(),
                "metric": v.rule.metric.as_str(),
                "value": v.value,
                "since": format_rfc3339(v.since),
                "worst": v.worst,
            })).collect::<Vec<_>>(),
            "predicted": predicted.iter().map(|v| json!({
                "policy": v.policy,
                "severity": v.severity.as_str(),
                "twin": v.twin.as_str(),
                "rule": v.rule.to_string(),
                "metric": v.rule.metric.as_str(),
                "at": format_rfc3339(v.at),
                "eta_hours": round4(v.eta_secs as f64 / 3600.0),
                "probability": round4(v.probability),
                "expected": round4(v.expected),
                "value": v.value,
                "model": v.model,
                "mase": v.mase.map(round4),
            })).collect::<Vec<_>>(),
            "forecast": {
                "series": predictions.forecasts.len(),
                "step_secs": predictions.forecasts.values().next().map(|f| f.forecast.step_secs),
                "skipped": predictions.skipped.iter().map(|(k, why)| json!({"series": k.to_string(), "reason": why})).collect::<Vec<_>>(),
            },
            "drift": {
                "fleet_score": round4(drift.fleet_score),
                "rate_per_day": round4(drift.rate_per_day),
                "expected_new_in_horizon": round4(drift.expected_new),
                "probability_new_in_horizon": round4(drift.probability_new),
                "twins": drifting.iter().map(|t| json!({
                    "twin": t.twin.as_str(),
                    "score": round4(t.score),
                    "checked_keys": t.checked,
                    "keys": t.keys.iter().map(|k| json!({
                        "policy": k.policy,
                        "key": k.rule.key,
                        "expected": format!("{} {}", k.rule.operator.symbol(), k.rule.expected),
                        "actual": k.actual.as_ref().map(ToString::to_string),
                        "kind": format!("{:?}", k.deviation.kind).to_lowercase(),
                        "deviation": round4(k.deviation.amount),
                        "since": k.since.map(format_rfc3339),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            },
        }))?;
    } else {
        eprintln!(
            "{}: {} current violations, {} predicted within {} h, {} drifting twins (fleet drift {:.2}) at {}",
            s.name,
            current.len(),
            predicted.len(),
            args.horizon,
            drifting.len(),
            drift.fleet_score,
            format_rfc3339(s.end)
        );
        if !current.is_empty() {
            eprintln!("\nCurrent violations");
            for v in &current {
                eprintln!(
                    "  {:<8} {:<22} {:<18} {} (now {}, worst {}) since {}",
                    v.severity.as_str(),
                    v.policy,
                    v.twin,
                    v.rule,
                    v.value,
                    v.worst,
                    format_rfc3339(v.since)
                );
            }
        }
        if !predicted.is_empty() {
            eprintln!("\nPredicted violations (forecasts of 5-minute means)");
            for v in predicted {
                eprintln!(
                    "  {:<8} {:<22} {:<18} {} in {:.1} h at {} (p = {:.0}%, expected {:.1}, now {}; {}, MASE {})",
                    v.severity.as_str(),
                    v.policy,
                    v.twin,
                    v.rule,
                    v.eta_secs as f64 / 3600.0,
                    format_rfc3339(v.at),
                    v.probability * 100.0,
                    v.expected,
                    v.value,
                    v.model,
                    v.mase.map_or("n/a".to_string(), |m| format!("{m:.2}"))
                );
            }
        }
        for (key, why) in &predictions.skipped {
            eprintln!("  note: {key} was not forecast: {why}");
        }
        if !drifting.is_empty() {
            eprintln!("\nConfiguration drift");
            for t in &drifting {
                eprintln!("  {:.2}  {}", t.score, t.twin);
                for k in &t.keys {
                    eprintln!(
                        "        {:<28} wants {} {}, has {} ({}){}",
                        k.rule.key,
                        k.rule.operator.symbol(),
                        k.rule.expected,
                        k.actual.as_ref().map_or("nothing".to_string(), ToString::to_string),
                        k.policy,
                        k.since
                            .map_or(" since before history".to_string(), |t| format!(" since {}", format_rfc3339(t)))
                    );
                }
            }
            eprintln!(
                "\n  {} drift events in history ({:.2}/day): {:.1} expected in the next {} h, P(at least one) = {:.0}%",
                drift.events.len(),
                drift.rate_per_day,
                drift.expected_new,
                args.horizon,
                drift.probability_new * 100.0
            );
        }
    }
    eprintln!("({} series forecast in {:.2} s)", predictions.forecasts.len(), predict_secs);
    Ok(if found { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
