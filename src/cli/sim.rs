//! The simulation lab on the command line: `simulate` (run forward with the
//! orchestration loop), `whatif` (a changed fork against its baseline), `ab` (two
//! strategies over seeded replications) and `chaos` (an experiment's hypothesis,
//! detection, recovery and blast radius).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::{Result, anyhow, bail};
use serde_json::{Value, json};

use super::{AbArgs, ChaosArgs, SimulateArgs, WhatIfArgs, print_json};
use crate::io::chaostoolkit;
use crate::io::experiment::load_experiment;
use crate::io::strategy::load_strategy;
use crate::io::time::format_rfc3339;
use crate::io::{Stopwatch, audit, thread_cpu_secs};
use crate::model::{ActionKind, ConfigValue, Resource, SeriesData, SeriesKey, TwinId};
use crate::remediation::orchestrate::{Mode, OrchestratorConfig};
use crate::remediation::plan::{self, ApproveSpec, PlanContext};
use crate::scenario::Scenario;
use crate::sim::ab::{AbSpec, ObjectiveComparison, ab_test};
use crate::sim::chaos::{ChaosReport, Experiment, HYPOTHESIS_PREFIX, run_experiment, schedule_method};
use crate::sim::whatif::{Change, WhatIfSpec, what_if};
use crate::sim::{ActionRecord, EventKind, Objective, RunSummary, Strategy, World, WorldConfig, run, ticks_for_hours};

/// Rounds for reports; `+ 0.0` turns a negative zero into zero ("-0.0" reads as a
/// tiny negative number).
fn round(x: f64, decimals: i32) -> f64 {
    let s = 10f64.powi(decimals);
    (x * s).round() / s + 0.0
}

fn finite(x: f64) -> Value {
    if x.is_finite() { json!(round(x, 6)) } else { Value::Null }
}

fn parse_mode(text: Option<&str>) -> Result<Option<Mode>> {
    text.map(|m| Mode::parse(m).ok_or_else(|| anyhow!("--mode must be auto, approve or dry-run, not {m:?}")))
        .transpose()
}

fn check_hours(hours: f64) -> Result<()> {
    if !(hours.is_finite() && hours > 0.0 && hours <= 24.0 * 3660.0) {
        bail!("--hours must be above 0 and at most 87840, not {hours}");
    }
    Ok(())
}

/// The scenario to run: without history when its workload models cover it (the
/// engine starts from them at the scenario's end; generating 30 days of history is not
/// needed to run forward), else with the missing models learned from its history.
fn load_scenario(path: &Path) -> Result<Scenario> {
    super::learn::scenario_for_simulation(path)
}

fn action_json(a: &ActionRecord) -> Value {
    json!({
        "at": format_rfc3339(a.at),
        "effective_at": format_rfc3339(a.effective_at),
        "twin": a.twin.as_str(),
        "action": a.kind.name(),
        "detail": a.kind.to_string(),
        "id": a.id,
        "reason": a.reason,
        "decided_by": a.decided_by,
        "monthly_cost": round(a.monthly_cost, 2),
    })
}

fn summary_json(s: &RunSummary) -> Value {
    let by_policy: BTreeMap<&str, Value> = s
        .violations
        .iter()
        .map(|(name, v)| {
            (
                name.as_str(),
                json!({
                    "minutes": round(v.minutes, 2),
                    "breaches": v.breaches,
                    "twins": v.twins.iter().map(TwinId::as_str).collect::<Vec<_>>(),
                }),
            )
        })
        .collect();
    json!({
        "from": format_rfc3339(s.from),
        "to": format_rfc3339(s.to),
        "ticks": s.ticks,
        "twin_ticks": s.twin_ticks,
        "violation_minutes": { "total": round(s.violation_minutes, 2), "by_policy": by_policy },
        "slo_breaches": s.slo_breaches,
        "actions": { "count": s.actions.len(), "list": s.actions.iter().map(action_json).collect::<Vec<_>>() },
        "cost": { "monthly_change": round(s.cost, 2) },
        "events": s.events.len(),
        "state_digest": s.state_digest,
    })
}

fn event_text(kind: &EventKind) -> String {
    match kind {
        EventKind::Down(why) => format!("down: {why}"),
        EventKind::Up => "up".into(),
        EventKind::FaultStarted(f) => format!("fault started: {f}"),
        EventKind::FaultEnded(f) => format!("fault ended: {f}"),
        EventKind::OutOfMemory => "out of memory: killed, restarting".into(),
        EventKind::ActionTookEffect(a) => format!("took effect: {a}"),
    }
}

fn print_summary(s: &RunSummary) {
    eprintln!(
        "  violation minutes {:.0} ({} breaches), {} actions, monthly cost {:+.2}",
        s.violation_minutes,
        s.slo_breaches,
        s.actions.len(),
        s.cost + 0.0
    );
    for (name, v) in s.violations.iter().filter(|(_, v)| v.minutes > 0.0) {
        eprintln!("    {name:<28} {:>9.0} min  {} breaches on {} twins", v.minutes, v.breaches, v.twins.len());
    }
    for a in s.actions.iter().take(20) {
        eprintln!(
            "    {} {:<16} {:<28} ({}, {:+.2}/month)",
            format_rfc3339(a.at),
            a.twin,
            a.kind,
            a.decided_by,
            a.monthly_cost + 0.0
        );
    }
    if s.actions.len() > 20 {
        eprintln!("    … {} more actions", s.actions.len() - 20);
    }
}

/// The orchestration settings: the strategy's (or the scenario's policies acted on
/// automatically), with `--mode` overriding the mode.
fn world_config(s: &Scenario, seed: Option<u64>, strategy: Option<&Strategy>, mode: Option<Mode>) -> WorldConfig {
    let mut config = WorldConfig::for_scenario(s);
    if let Some(seed) = seed {
        config.seed = seed;
    }
    if let Some(strategy) = strategy {
        config.acting = strategy.policies.clone();
        config.watching = s.policies.clone();
        config.orchestrator = strategy.orchestrator;
    }
    if let Some(mode) = mode {
        config.orchestrator = OrchestratorConfig { mode, ..config.orchestrator };
    }
    config
}

/// `twinbench simulate`.
pub fn simulate(args: &SimulateArgs) -> Result<ExitCode> {
    check_hours(args.hours)?;
    let mode = parse_mode(args.mode.as_deref())?;
    let load = Stopwatch::start();
    let s = load_scenario(&args.scenario)?;
    let mut strategy = args.strategy.as_deref().map(|p| load_strategy(p, &s.graph)).transpose()?;
    let experiment = args.chaos.as_deref().map(|p| load_experiment(p, &s.graph)).transpose()?;
    if strategy.is_none() {
        strategy = experiment.as_ref().and_then(|e| e.remediation.clone());
    }
    let mut config = world_config(&s, args.seed, strategy.as_ref(), mode);
    if let Some(e) = &experiment {
        config.watching.extend(
            e.hypothesis
                .iter()
                .map(|p| crate::policy::Policy { name: format!("{HYPOTHESIS_PREFIX}{}", p.name), ..p.clone() }),
        );
    }
    let mut world = World::new(&s, config.clone())?;
    if let Some(e) = &experiment {
        schedule_method(&mut world, e)?;
    }
    let ticks = ticks_for_hours(&world, args.hours)?;
    let load_secs = load.secs();
    let cpu_before = thread_cpu_secs();
    let clock = Stopwatch::start();
    let mut exported: Vec<SeriesData> = Vec::new();
    if args.export.is_some() {
        exported = world.series_keys().iter().map(|_| SeriesData { ts: Vec::new(), values: Vec::new() }).collect();
        let mut record = |w: &World, _: &crate::sim::StepReport| {
            for (data, v) in exported.iter_mut().zip(w.reported_values()) {
                if let Some(v) = v {
                    data.ts.push(w.now());
                    data.values.push(v);
                }
            }
        };
        run(&mut world, ticks, &mut record, &|_, _| {}, &AtomicBool::new(false))?;
    } else {
        run(&mut world, ticks, &mut |_, _| {}, &|_, _| {}, &AtomicBool::new(false))?;
    }
    let wall_secs = clock.secs();
    if let Some(path) = &args.export {
        let series: Vec<(SeriesKey, SeriesData)> = world.series_keys().iter().cloned().zip(exported).collect();
        let rows = crate::io::telemetry::write_long(path, &series)?;
        eprintln!("wrote {rows} simulated samples of {} series to {}", series.len(), path.display());
    }
    let cpu_secs = thread_cpu_secs().zip(cpu_before).map(|(a, b)| a - b);
    let summary = world.summary();
    if let Some(path) = &args.audit {
        audit::append(path, &world.drain_audit())?;
    }
    let per_sec = summary.twin_ticks as f64 / wall_secs.max(1e-9);
    let per_cpu_sec = cpu_secs.map(|c| summary.twin_ticks as f64 / c.max(1e-9));
    if args.json {
        let mut doc = json!({
            "scenario": s.name,
            "seed": config.seed,
            "hours": args.hours,
            "mode": config.orchestrator.mode.as_str(),
            "strategy": strategy.as_ref().map(|x| x.name.clone()),
            "chaos": experiment.as_ref().map(|e| e.title.clone()),
            "twins": world.twin_count(),
            "series": world.series_keys().len(),
            "rule_instances": world.rules_len(),
            "load_secs": round(load_secs, 3),
            "wall_secs": round(wall_secs, 3),
            "cpu_secs": cpu_secs.map(|c| round(c, 3)),
            "twin_ticks_per_sec": per_sec.round(),
            "twin_ticks_per_cpu_sec": per_cpu_sec.map(f64::round),
            "queue": world.orchestrator().queue().iter().map(|c| json!({
                "id": c.id, "twin": c.target.as_str(), "action": c.kind.to_string(), "reason": c.finding.reason(),
            })).collect::<Vec<_>>(),
        });
        if let (Value::Object(doc), Value::Object(more)) = (&mut doc, summary_json(&summary)) {
            doc.extend(more);
        }
        print_json(&doc)?;
    } else {
        eprintln!(
            "{}: {} twins, {} h from {} ({} mode{}), seed {}",
            s.name,
            world.twin_count(),
            args.hours,
            format_rfc3339(summary.from),
            config.orchestrator.mode.as_str(),
            strategy.as_ref().map_or(String::new(), |x| format!(", strategy {}", x.name)),
            config.seed
        );
        print_summary(&summary);
        eprintln!(
            "  {} twin-ticks in {:.2} s ({:.1} M/s{}), load {:.2} s",
            summary.twin_ticks,
            wall_secs,
            per_sec / 1e6,
            per_cpu_sec.map_or(String::new(), |c| format!(", {:.1} M per CPU second", c / 1e6)),
            load_secs
        );
        eprintln!("  state digest {}", summary.state_digest);
    }
    Ok(ExitCode::SUCCESS)
}

/// Finds the twin a `twin.key` path starts with: the longest prefix before a dot
/// that is a twin id (ids may contain dots too).
fn split_twin_key<'a>(s: &Scenario, path: &'a str) -> Option<(TwinId, &'a str)> {
    path.match_indices('.')
        .map(|(i, _)| (&path[..i], &path[i + 1..]))
        .filter(|(twin, key)| !key.is_empty() && s.graph.twin(&TwinId::new(twin)).is_some())
        .max_by_key(|(twin, _)| twin.len())
        .map(|(twin, key)| (TwinId::new(twin), key))
}

/// An action written as `twin:kind(args)`: `db:scale_up(disk,1.25)`, `web:scale_out(2)`,
/// `cache:restart`, `api:migrate(host-03)`, `cache:reconfigure(eviction=allkeys-lru)`,
/// `db:notify(dba)`.
pub fn parse_action(text: &str) -> Result<(TwinId, ActionKind)> {
    let usage = "write an action as TWIN:KIND(ARGS), e.g. db-primary:scale_up(disk,1.25), web-1:scale_out(2), \
                 cache-redis:restart, api-orders:migrate(host-03), cache-redis:reconfigure(eviction=allkeys-lru)";
    let (twin, rest) = text.split_once(':').ok_or_else(|| anyhow!("{text:?}: {usage}"))?;
    let (kind, args) = match rest.split_once('(') {
        Some((k, a)) => (k.trim(), a.strip_suffix(')').ok_or_else(|| anyhow!("{text:?}: missing `)`"))?),
        None => (rest.trim(), ""),
    };
    let args: Vec<&str> = args.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
    let number = |i: usize, what: &str| -> Result<f64> {
        args.get(i)
            .ok_or_else(|| anyhow!("{text:?}: {kind} needs {what}"))?
            .parse::<f64>()
            .map_err(|_| anyhow!("{text:?}: {what} must be a number"))
    };
    let count = |i: usize| -> Result<u32> {
        match args.get(i) {
            None => Ok(1),
            Some(a) => a.parse::<u32>().map_err(|_| anyhow!("{text:?}: replicas must be a whole number")),
        }
    };
    let resource = || -> Result<Resource> {
        let r = args.first().ok_or_else(|| anyhow!("{text:?}: {kind} needs a resource (cpu, memory or disk)"))?;
        Resource::parse(r).ok_or_else(|| anyhow!("{text:?}: unknown resource {r:?} (cpu, memory or disk)"))
    };
    let action = match kind {
        "scale_up" => ActionKind::ScaleUp { resource: resource()?, factor: number(1, "a factor")? },
        "scale_down" => ActionKind::ScaleDown { resource: resource()?, factor: number(1, "a factor")? },
        "scale_out" => ActionKind::ScaleOut { replicas: count(0)? },
        "scale_in" => ActionKind::ScaleIn { replicas: count(0)? },
        "restart" => ActionKind::Restart,
        "migrate" => ActionKind::Migrate { to: args.first().map(TwinId::new) },
        "notify" => ActionKind::Notify { to: args.first().unwrap_or(&"on-call").to_string() },
        "reconfigure" => {
            let mut set = BTreeMap::new();
            for a in &args {
                let (k, v) = a.split_once('=').ok_or_else(|| anyhow!("{text:?}: reconfigure takes key=value pairs"))?;
                set.insert(k.trim().to_string(), ConfigValue::from_text(v));
            }
            ActionKind::Reconfigure { set }
        }
        other => bail!("{text:?}: unknown action {other:?}; {usage}"),
    };
    action.validate().map_err(|m| anyhow!("{text:?}: {m}"))?;
    Ok((TwinId::new(twin.trim()), action))
}

/// `twinbench whatif`.
pub fn whatif(args: &WhatIfArgs) -> Result<ExitCode> {
    check_hours(args.hours)?;
    let s = load_scenario(&args.scenario)?;
    let strategy = args.strategy.as_deref().map(|p| load_strategy(p, &s.graph)).transpose()?;
    let mut changes = Vec::new();
    for c in &args.change {
        let (path, value) = c.split_once('=').ok_or_else(|| anyhow!("--change {c:?}: write TWIN.KEY=VALUE"))?;
        let (twin, key) = split_twin_key(&s, path.trim()).ok_or_else(|| {
            let twin = path.split('.').next().unwrap_or(path).trim();
            if path.contains('.') {
                anyhow!("--change {c:?}: unknown twin {twin:?} (no twin's id starts {path:?})")
            } else {
                anyhow!("--change {c:?}: write TWIN.KEY=VALUE, with a twin id, a dot and a key")
            }
        })?;
        changes.push(Change::SetConfig { twin, key: key.to_string(), value: ConfigValue::from_text(value) });
    }
    for a in &args.action {
        let (twin, action) = parse_action(a)?;
        if s.graph.twin(&twin).is_none() {
            bail!("--action {a:?}: unknown twin {:?}", twin.as_str());
        }
        changes.push(Change::Action { twin, action });
    }
    if changes.is_empty() {
        bail!("give at least one --change TWIN.KEY=VALUE or --action TWIN:KIND(ARGS)");
    }
    let world = World::new(&s, world_config(&s, args.seed, strategy.as_ref(), None))?;
    let spec = WhatIfSpec {
        hours: args.hours,
        changes,
        twins: args.twin.iter().map(TwinId::new).collect(),
        record_series: args.series,
    };
    let report = what_if(&world, &spec, &|_, _| {}, &AtomicBool::new(false))?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    let deltas = report.violation_minutes_delta();
    if let Some(path) = &args.plan {
        let approve = if args.approve { ApproveSpec::All } else { ApproveSpec::None };
        let approver = args.approver.clone().unwrap_or_else(|| "cli whatif --approve".into());
        let proposals = report.rehearsed_actions(&s.graph);
        let plan = plan::plan(PlanContext::of(&s), proposals, &approve, &approver).map_err(anyhow::Error::msg)?;
        crate::io::plan::write(path, &plan, &s.graph)?;
        eprintln!(
            "wrote {} ({} rehearsed action{}, {}; fingerprint {})",
            path.display(),
            plan.steps.len(),
            if plan.steps.len() == 1 { "" } else { "s" },
            if args.approve { "approved" } else { "pending review" },
            &plan.fingerprint[..16]
        );
    }
    if args.json {
        print_json(&json!({
            "scenario": s.name,
            "seed": world.seed(),
            "hours": args.hours,
            "changes": report.changes,
            "warnings": report.warnings,
            "twins": report.twins.iter().map(TwinId::as_str).collect::<Vec<_>>(),
            "metrics": report.metrics.iter().map(|m| json!({
                "twin": m.twin.as_str(),
                "metric": m.metric,
                "baseline": {"mean": m.baseline_mean.map(|x| round(x, 4)), "max": m.baseline_max},
                "variant": {"mean": m.variant_mean.map(|x| round(x, 4)), "max": m.variant_max},
                "delta_mean": m.delta_mean().map(|x| round(x, 4)),
                "delta_max": m.delta_max().map(|x| round(x, 4)),
            })).collect::<Vec<_>>(),
            "violation_minutes_delta": deltas.iter().map(|(k, v)| (k.clone(), json!(round(*v, 2)))).collect::<BTreeMap<_, _>>(),
            "cost_delta": round(report.cost_delta(), 2),
            "baseline": summary_json(&report.baseline),
            "variant": summary_json(&report.variant),
            "series": report.series.iter().map(|p| json!({
                "twin": p.twin.as_str(),
                "metric": p.metric,
                "times": p.times.iter().map(|t| format_rfc3339(*t)).collect::<Vec<_>>(),
                "baseline": p.baseline,
                "variant": p.variant,
            })).collect::<Vec<_>>(),
        }))?;
    } else {
        eprintln!("{}: what if {} — {} h, seed {}", s.name, report.changes.join("; "), args.hours, world.seed());
        eprintln!(
            "  {:<18} {:<14} {:>12} {:>12} {:>12} {:>12}",
            "twin", "metric", "base mean", "what-if mean", "base max", "what-if max"
        );
        let show = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.2}"));
        for m in &report.metrics {
            eprintln!(
                "  {:<18} {:<14} {:>12} {:>12} {:>12} {:>12}",
                m.twin.as_str(),
                m.metric,
                show(m.baseline_mean),
                show(m.variant_mean),
                show(m.baseline_max),
                show(m.variant_max)
            );
        }
        eprintln!(
            "  violation minutes: baseline {:.0}, what-if {:.0}; cost change {:+.2}/month",
            report.baseline.violation_minutes,
            report.variant.violation_minutes,
            report.cost_delta() + 0.0
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn comparison_json(c: &ObjectiveComparison) -> Value {
    let arm = |a: &crate::sim::ab::ArmStats| {
        json!({
            "mean": finite(a.mean),
            "std_dev": finite(a.std_dev),
            "ci95": [finite(a.ci95.0), finite(a.ci95.1)],
            "values": a.values.iter().map(|v| finite(*v)).collect::<Vec<_>>(),
        })
    };
    json!({
        "objective": c.objective.as_str(),
        "a": arm(&c.a),
        "b": arm(&c.b),
        "mean_difference": finite(c.mean_difference),
        "difference_ci95": [finite(c.difference_ci95.0), finite(c.difference_ci95.1)],
        "test": "paired t-test on A − B (common random numbers pair the runs)",
        "t": finite(c.t),
        "df": c.df,
        "p_value": finite(c.p_value),
        "welch_p_value": finite(c.welch_p_value),
        "significant": c.significant,
    })
}

/// `twinbench ab`.
pub fn ab(args: &AbArgs) -> Result<ExitCode> {
    check_hours(args.hours)?;
    let s = load_scenario(&args.scenario)?;
    let a = load_strategy(&args.a, &s.graph)?;
    let b = load_strategy(&args.b, &s.graph)?;
    let objective = args
        .objective
        .as_deref()
        .map(|o| {
            Objective::parse(o).ok_or_else(|| anyhow!("--objective must be violation_minutes, cost or slo_breaches"))
        })
        .transpose()?;
    let spec = AbSpec { runs: args.runs, seed: args.seed.unwrap_or(s.seed), hours: args.hours, objective };
    let report = ab_test(&s, &a, &b, &spec, &|_, _| {}, &AtomicBool::new(false))?;
    if args.json {
        print_json(&json!({
            "scenario": s.name,
            "a": report.a,
            "b": report.b,
            "runs": report.runs,
            "seed": report.seed,
            "hours": report.hours,
            "objective": report.objective.as_str(),
            "winner": report.winner,
            "comparisons": report.comparisons.iter().map(comparison_json).collect::<Vec<_>>(),
            "replications": report.replications.iter().enumerate().map(|(r, (x, y))| json!({
                "seed": report.seed.wrapping_add(r as u64),
                "a": {"violation_minutes": round(x.violation_minutes, 2), "cost": round(x.cost, 2), "slo_breaches": x.slo_breaches, "actions": x.actions.len(), "state_digest": x.state_digest},
                "b": {"violation_minutes": round(y.violation_minutes, 2), "cost": round(y.cost, 2), "slo_breaches": y.slo_breaches, "actions": y.actions.len(), "state_digest": y.state_digest},
            })).collect::<Vec<_>>(),
        }))?;
    } else {
        eprintln!(
            "{}: A = {}, B = {}; {} runs of {} h from seed {} (replication r uses seed + r for both)",
            s.name, report.a, report.b, report.runs, report.hours, report.seed
        );
        eprintln!(
            "  {:<18} {:>22} {:>22} {:>12} {:>9}",
            "objective", "A mean [95% CI]", "B mean [95% CI]", "A − B", "paired p"
        );
        for c in &report.comparisons {
            eprintln!(
                "  {:<18} {:>8.1} [{:>5.1}, {:>5.1}] {:>8.1} [{:>5.1}, {:>5.1}] {:>12.2} {:>9.4}{}",
                c.objective.as_str(),
                c.a.mean,
                c.a.ci95.0,
                c.a.ci95.1,
                c.b.mean,
                c.b.ci95.0,
                c.b.ci95.1,
                c.mean_difference,
                c.p_value,
                if c.significant { " *" } else { "" }
            );
        }
        match &report.winner {
            Some(w) => eprintln!("  winner on {}: {w} (p < 0.05, paired t-test)", report.objective.as_str()),
            None => eprintln!("  no significant difference on {} (p ≥ 0.05)", report.objective.as_str()),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn chaos_json(s: &Scenario, e: &Experiment, r: &ChaosReport) -> Value {
    let verdict = |v: &crate::sim::chaos::Verdict| {
        json!({
            "held": v.held,
            "deviated_policies": v.deviated_policies,
            "deviated_twins": v.deviated_twins.iter().map(TwinId::as_str).collect::<Vec<_>>(),
        })
    };
    json!({
        "scenario": s.name,
        "title": r.title,
        "seed": r.seed,
        "start": format_rfc3339(r.start),
        "end": format_rfc3339(r.end),
        "duration_secs": e.duration_secs,
        "remediation": r.remediation,
        "status": if r.aborted { "aborted" } else if r.after.held { "completed" } else { "deviated" },
        "hypothesis_before": verdict(&r.before),
        "deviated_during_method": r.deviated,
        "hypothesis_after": verdict(&r.after),
        "first_fault_at": r.first_fault_at.map(format_rfc3339),
        "time_to_detect_secs": r.time_to_detect_secs,
        "time_to_recover_secs": r.time_to_recover_secs,
        "blast_radius": {
            "observed": r.blast_radius_observed.iter().map(TwinId::as_str).collect::<Vec<_>>(),
            "predicted": r.blast_radius_predicted.iter().map(TwinId::as_str).collect::<Vec<_>>(),
        },
        "held_fraction": round(r.held_fraction, 4),
        "resilience_score": round(r.resilience_score, 4),
        "events": r.summary.events.iter().map(|ev| json!({
            "at": format_rfc3339(ev.at), "twin": ev.twin.as_str(), "what": event_text(&ev.what),
        })).collect::<Vec<_>>(),
        "run": summary_json(&r.summary),
    })
}

/// `twinbench chaos`: exit 0 when the hypothesis holds after the method, 1 when it
/// does not (or the experiment was aborted), 2 on error.
pub fn chaos(args: &ChaosArgs) -> Result<ExitCode> {
    let s = load_scenario(&args.scenario)?;
    let mut experiment = load_experiment(&args.experiment, &s.graph)?;
    if args.no_remediation {
        experiment.remediation = None;
    }
    if let Some(path) = &args.strategy {
        experiment.remediation = Some(load_strategy(path, &s.graph)?);
    }
    let seed = args.seed.unwrap_or(s.seed);
    let report = run_experiment(&s, &experiment, seed, &|_, _| {}, &AtomicBool::new(false))?;
    if let Some(path) = &args.journal {
        let file = crate::io::experiment::load_file(&args.experiment, &s.graph)?;
        let exported = chaostoolkit::export(&args.experiment, &file, &experiment, &s.graph, path)?;
        let as_ctk: Value = serde_json::from_str(&exported.text)?;
        let journal = chaostoolkit::journal(&as_ctk, &experiment, &report, &s.graph);
        let mut text = serde_json::to_string_pretty(&journal)?;
        text.push('\n');
        crate::io::write_bytes(path, "journal", text.as_bytes())?;
        eprintln!("wrote the run as a Chaos Toolkit journal to {}", path.display());
    }
    if args.json {
        print_json(&chaos_json(&s, &experiment, &report))?;
    } else {
        let verdict = |held: bool| if held { "held" } else { "deviated" };
        eprintln!(
            "{}: {} ({} h, seed {}, remediation {})",
            s.name,
            report.title,
            experiment.duration_secs as f64 / 3600.0,
            seed,
            report.remediation.as_deref().unwrap_or("off")
        );
        eprintln!("  hypothesis before the method: {}", verdict(report.before.held));
        if report.aborted {
            eprintln!(
                "  aborted: the steady state did not hold before the method ({:?})",
                report.before.deviated_policies
            );
        } else {
            eprintln!("  during the method: {}", if report.deviated { "deviated" } else { "held" });
            eprintln!("  hypothesis after the method: {}", verdict(report.after.held));
            let secs = |x: Option<i64>| x.map_or("-".to_string(), |s| format!("{:.1} min", s as f64 / 60.0));
            eprintln!(
                "  time to detect {}, time to recover {}",
                secs(report.time_to_detect_secs),
                secs(report.time_to_recover_secs)
            );
            eprintln!(
                "  blast radius: {} twins reached ({} predicted): {}",
                report.blast_radius_observed.len(),
                report.blast_radius_predicted.len(),
                report.blast_radius_observed.iter().map(TwinId::as_str).collect::<Vec<_>>().join(", ")
            );
            eprintln!(
                "  resilience score {:.3} (held {:.1}% of the time)",
                report.resilience_score,
                report.held_fraction * 100.0
            );
            for ev in report.summary.events.iter().take(30) {
                eprintln!("    {} {:<16} {}", format_rfc3339(ev.at), ev.twin, event_text(&ev.what));
            }
        }
    }
    Ok(if !report.aborted && report.after.held { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
