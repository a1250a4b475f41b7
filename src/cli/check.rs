//! `twinbench check`: current violations, configuration drift and (with forecasts)
//! predicted violations of a scenario's policies. Exit 0 clean, 1 found, 2 error.

use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::json;

use super::{CheckArgs, print_json};
use crate::analytics::compliance::current_violations;
use crate::analytics::drift::drift;
use crate::io::time::format_rfc3339;
use crate::io::{policy, scenario};
use crate::policy::history::violation_history;

/// `twinbench check`.
pub fn check(args: &CheckArgs) -> Result<ExitCode> {
    if !(args.horizon.is_finite() && args.horizon > 0.0 && args.horizon <= 24.0 * 366.0) {
        bail!("--horizon must be between 0 and 8784 hours, not {}", args.horizon);
    }
    let mut s = scenario::load(&args.scenario)?;
    for path in &args.policy {
        let extra = policy::load_policies(path, &s.graph)?;
        s.policies.extend(extra);
    }
    let horizon_secs = (args.horizon * 3600.0).round() as i64;
    let history = violation_history(&s.policies, &s.graph, &s.telemetry, s.resolution_secs)?;
    let current = current_violations(&s, &history);
    let drift = drift(&s.graph, &s.policies, s.start, s.end, horizon_secs);
    let drifting: Vec<_> = drift.drifting().collect();
    let found = !current.is_empty() || !drifting.is_empty();
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
            "{}: {} current violations, {} drifting twins (fleet drift {:.2}) at {}",
            s.name,
            current.len(),
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
    Ok(if found { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
