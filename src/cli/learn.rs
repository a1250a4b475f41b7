//! `twinbench learn`: workload models and couplings learned from a scenario's history,
//! written as a scenario file, and optionally scored on held-out history. Also the
//! learning the simulation commands do first when a scenario lacks models.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, anyhow};
use serde_json::{Value, json};

use super::{LearnArgs, print_json};
use crate::analytics::learn::{LearnConfig, Learned, Relearn, learn as learn_models, needs_learning};
use crate::io::learned::{is_telemetry_path, load_any, write_learned};
use crate::io::time::{format_rfc3339, parse_duration};
use crate::io::{Stopwatch, scenario};
use crate::model::{HOUR_SECS, NoiseTails, WorkloadModel};
use crate::scenario::Scenario;
use crate::sim::fidelity::{HoldoutSpec, holdout};

fn round(x: f64, decimals: i32) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    let s = 10f64.powi(decimals);
    json!((x * s).round() / s + 0.0)
}

/// The scenario a simulation command runs: without history when its workload models
/// cover it (the engine starts from them), else with its history and the missing
/// models learned first — said on stderr (`learned 6 workload models from history in
/// 0.4 s`).
pub(crate) fn scenario_for_simulation(path: &Path) -> Result<Scenario> {
    if !is_telemetry_path(path) {
        let def = scenario::load_def(path)?;
        if def.telemetry.is_none() {
            return Ok(def.scenario);
        }
    }
    let clock = Stopwatch::start();
    let (mut s, _) = load_any(path)?;
    if needs_learning(&s) {
        let learned = learn_models(&s, &LearnConfig::for_scenario(&s), &|_, _| {}, &AtomicBool::new(false))
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        learned.apply(&mut s);
        eprintln!("{}", learned_line(&learned, clock.secs()));
    }
    Ok(s)
}

/// `learned 6 workload models from history in 0.4 s` (and what could not be).
pub fn learned_line(learned: &Learned, secs: f64) -> String {
    let n = learned.count();
    let mut line = format!("learned {n} workload model{} from history in {secs:.1} s", if n == 1 { "" } else { "s" });
    if !learned.shares.is_empty() {
        line.push_str(&format!(
            ", {} traffic share{}",
            learned.shares.len(),
            if learned.shares.len() == 1 { "" } else { "s" }
        ));
    }
    if !learned.without_history.is_empty() {
        let ids: Vec<&str> = learned.without_history.iter().map(|t| t.as_str()).collect();
        line.push_str(&format!(
            "; no history for {} (simulated with `up` only)",
            if ids.len() > 5 { format!("{} twins", ids.len()) } else { ids.join(", ") }
        ));
    }
    line
}

fn model_json(twin: &str, metric: &str, m: &WorkloadModel) -> Value {
    let learned = m.learned.as_ref();
    json!({
        "twin": twin,
        "metric": metric,
        "base": m.base,
        "trend_per_day": m.trend_per_day,
        "daily_profile": !m.daily_profile.is_empty(),
        "weekly_profile": !m.weekly_profile.is_empty(),
        "noise": m.noise,
        "noise_memory": round(m.noise_memory, 4),
        "tails": match m.tails { NoiseTails::Normal => json!("normal"), NoiseTails::StudentT(d) => json!(format!("t{d}")) },
        "follows_traffic": m.follows_traffic,
        "queueing_share": m.queueing_share,
        "samples": learned.map(|l| l.samples),
        "from": learned.map(|l| format_rfc3339(l.from)),
        "until": learned.map(|l| format_rfc3339(l.until)),
        "notes": learned.map(|l| l.notes.clone()).unwrap_or_default(),
        "holdout": learned.and_then(|l| l.fit).map(|f| json!({
            "mase_sim": round(f.mase_sim, 4), "mase_replay": round(f.mase_replay, 4), "coverage80": round(f.coverage80, 4),
        })),
    })
}

/// `twinbench learn`.
pub fn learn(args: &LearnArgs) -> Result<ExitCode> {
    if args.out.extension().and_then(|e| e.to_str()) != Some("ron") {
        anyhow::bail!("--out {}: the learned scenario is a .ron file", args.out.display());
    }
    let holdout_secs = args
        .holdout
        .as_deref()
        .map(|d| {
            let secs = parse_duration(d).map_err(|m| anyhow!("--holdout {d:?}: {m}"))?.as_secs();
            i64::try_from(secs)
                .ok()
                .filter(|s| (HOUR_SECS..=366 * 24 * HOUR_SECS).contains(s))
                .ok_or_else(|| anyhow!("--holdout {d:?}: at least 1h and at most 366d"))
        })
        .transpose()?;
    let (mut s, source) = load_any(&args.scenario)?;
    if !s.has_history() {
        anyhow::bail!("{}: the scenario has no history to learn from", args.scenario.display());
    }
    let relearn = if args.refit { Relearn::All } else { Relearn::Missing };
    let config = LearnConfig { relearn, ..LearnConfig::for_scenario(&s) };
    let cancel = AtomicBool::new(false);
    let clock = Stopwatch::start();
    let learned =
        learn_models(&s, &config, &|_, _| {}, &cancel).map_err(|e| anyhow!("{}: {e}", args.scenario.display()))?;
    let learn_secs = clock.secs();
    learned.apply(&mut s);
    eprintln!("{}: {}", s.name, learned_line(&learned, learn_secs));
    let report = match holdout_secs {
        None => None,
        Some(secs) => {
            let clock = Stopwatch::start();
            let spec = HoldoutSpec { holdout_secs: secs, seeds: args.seeds, seed: s.seed };
            // Scored on the scenario as given: its own models, learned where missing.
            let base = load_any(&args.scenario)?.0;
            let base = if args.refit { Scenario { workloads: BTreeMap::new(), ..base } } else { base };
            let r = holdout(&base, &config, &spec, &|_, _| {}, &cancel).context("holdout")?;
            eprintln!(
                "  holdout {}: {} series over {} world(s) × {} seeds in {:.1} s",
                args.holdout.as_deref().unwrap_or(""),
                r.series.len(),
                r.groups,
                args.seeds,
                clock.secs()
            );
            for score in &r.series {
                if let Some(m) = s.workloads.get_mut(&score.key)
                    && let Some(l) = &mut m.learned
                {
                    l.fit = Some(score.fidelity);
                }
            }
            Some(r)
        }
    };
    let written = write_learned(&args.out, &source, &s)?;
    eprintln!(
        "  wrote {}{}",
        written.scenario.display(),
        match (&written.telemetry, written.telemetry_written) {
            (Some(t), true) => format!(" and its history {}", t.display()),
            (Some(t), false) => format!(" (history: {})", t.display()),
            (None, _) => String::new(),
        }
    );
    if let Some(r) = &report {
        eprintln!(
            "  {:<28} {:<14} {:>6} {:>9} {:>11} {:>10}",
            "twin", "metric", "hours", "mase_sim", "mase_replay", "coverage80"
        );
        for x in &r.series {
            eprintln!(
                "  {:<28} {:<14} {:>6} {:>9.3} {:>11.3} {:>10.2}",
                x.key.twin.as_str(),
                x.key.metric.as_str(),
                x.hours,
                x.fidelity.mase_sim,
                x.fidelity.mase_replay,
                x.fidelity.coverage80
            );
        }
        eprintln!(
            "  {:<43} {:>6} {:>9.3} {:>11.3} {:>10.2}",
            "aggregate (mean MASE, pooled coverage)",
            r.series.iter().map(|x| x.hours).sum::<usize>(),
            r.mase_sim,
            r.mase_replay,
            r.coverage80
        );
        for (key, why) in &r.skipped {
            eprintln!("  not scored: {key}: {why}");
        }
    }
    if args.json {
        let models: Vec<Value> = learned
            .models
            .keys()
            .filter_map(|k| s.workloads.get(k).map(|m| model_json(k.twin.as_str(), k.metric.as_str(), m)))
            .collect();
        print_json(&json!({
            "scenario": s.name,
            "out": args.out.display().to_string(),
            "learned": learned.count(),
            "kept": learned.kept,
            "models": models,
            "couplings": learned.couplings.iter().map(|c| json!({
                "twin": c.twin.as_str(),
                "follows_traffic": c.follows_traffic,
                "queueing_share": c.queueing_share,
                "notes": c.notes,
            })).collect::<Vec<_>>(),
            "edges": learned.shares.iter().map(|e| json!({
                "from": e.from.as_str(), "to": e.to.as_str(), "kind": e.kind.as_str(),
                "traffic_share": e.share, "before": e.before, "r": round(e.r, 4),
            })).collect::<Vec<_>>(),
            "without_history": learned.without_history.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            "holdout": report.as_ref().map(|r| json!({
                "duration": args.holdout,
                "seeds": args.seeds,
                "worlds": r.groups,
                "aggregate": {
                    "series": r.series.len(),
                    "hours": r.series.iter().map(|x| x.hours).sum::<usize>(),
                    "mase_sim": round(r.mase_sim, 4),
                    "mase_replay": round(r.mase_replay, 4),
                    "coverage80": round(r.coverage80, 4),
                },
                "series": r.series.iter().map(|x| json!({
                    "twin": x.key.twin.as_str(),
                    "metric": x.key.metric.as_str(),
                    "hours": x.hours,
                    "mase_sim": round(x.fidelity.mase_sim, 4),
                    "mase_replay": round(x.fidelity.mase_replay, 4),
                    "coverage80": round(x.fidelity.coverage80, 4),
                    "replay_lag_hours": x.replay_lag_secs / HOUR_SECS,
                })).collect::<Vec<_>>(),
                "skipped": r.skipped.iter().map(|(k, why)| json!({"series": k.to_string(), "reason": why})).collect::<Vec<_>>(),
            })),
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}
