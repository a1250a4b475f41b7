//! Benchmark: evaluating every policy over an estate for one tick (SPEC §5: all
//! policies over 1,000 twins in under 1 ms).
//!
//! A synthetic estate (the generator of `twinbench generate`) with one day of history
//! at 60 s, its own policies plus nine generic rules (windows up to an hour, `for`
//! durations, avg/max/p95, missing-data behaviour) bound to every twin they select. Each tick feeds every bound rule
//! its series' sample and collects the firing rules, as the orchestration loop does.
//! Binding (selector matching) happens once, outside the timed ticks.
//!
//! Run: `cargo run --release --example policy_tick -- [--twins N] [--ticks T]`

use std::path::Path;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, bail};
use twinbench::io::{Stopwatch, policy, scenario, synth};

use twinbench::model::SeriesKey;
use twinbench::policy::eval::RuleState;
use twinbench::policy::{MetricRule, rules_for};

const GENERIC: &str = r#"
- name: cpu-sustained
  severity: high
  rules:
    - {metric: cpu_usage, aggregation: avg, window: 15m, operator: ">", threshold: 85, for: 10m}
- name: memory-p95
  rules:
    - {metric: memory_usage, aggregation: p95, window: 30m, operator: ">", threshold: 90}
- name: latency
  rules:
    - {metric: latency_ms, aggregation: max, window: 5m, operator: ">", threshold: 250, for: 5m}
- name: errors
  severity: critical
  rules:
    - {metric: error_rate, aggregation: avg, window: 5m, operator: ">", threshold: 0.05}
- name: disk
  selector: {kinds: [database, host]}
  rules:
    - {metric: disk_usage, operator: ">", threshold: 85}
    - {metric: disk_usage, operator: ">", threshold: 95, for: 2m}
- name: network-silent
  rules:
    - {metric: network_io, aggregation: max, window: 10m, operator: "<", threshold: 1, missing: violate}
- name: cpu-idle
  severity: low
  rules:
    - {metric: cpu_usage, aggregation: avg, window: 1h, operator: "<", threshold: 2}
"#;

fn main() -> Result<()> {
    let mut twins = 1000usize;
    let mut ticks = 1440usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--twins" => twins = args.next().context("--twins needs a number")?.parse()?,
            "--ticks" => ticks = args.next().context("--ticks needs a number")?.parse()?,
            other => bail!("unknown argument {other:?}"),
        }
    }
    let file = synth::estate(synth::SynthSpec { twins, days: 1.0, seed: 7, trouble: synth::TroubleRate::NONE });
    let src = scenario::to_ron(&file)?;
    let def = scenario::parse_def(Path::new("generated.ron"), &src)?;
    let s = scenario::fill_history(def, &|_, _| {}, &AtomicBool::new(false))?;
    let mut policies = s.policies.clone();
    policies.extend(policy::parse_policies(Path::new("generic.yaml"), GENERIC, &s.graph)?);

    // Bind once: (series index, rule, state) for every rule that applies. The samples
    // of each tick are laid out as one row (as the engine holds the current sample of
    // every series), so the timed loop is the rule evaluation itself.
    let bind = Stopwatch::start();
    let mut bound: Vec<(usize, &MetricRule, RuleState)> = Vec::new();
    let mut columns: Vec<(Vec<i64>, Vec<f64>)> = Vec::new();
    for twin in s.graph.twins() {
        for metric in s.telemetry.metrics_of(&twin.id) {
            let rules: Vec<_> = rules_for(&policies, twin, metric.as_str()).map(|(_, r)| r).collect();
            if rules.is_empty() {
                continue;
            }
            let data =
                s.telemetry.series(&SeriesKey::new(twin.id.clone(), metric.clone())).context("series")?.read_all()?;
            for rule in rules {
                bound.push((columns.len(), rule, RuleState::new()));
            }
            columns.push((data.ts, data.values));
        }
    }
    let bind_ms = bind.secs() * 1e3;
    let series = columns.len();
    let ticks = ticks.min(columns.iter().map(|c| c.0.len()).min().unwrap_or(0));
    let rows: Vec<(i64, Vec<f64>)> =
        (0..ticks).map(|t| (columns.first().map_or(0, |c| c.0[t]), columns.iter().map(|c| c.1[t]).collect())).collect();
    let mut per_tick: Vec<f64> = Vec::with_capacity(ticks);
    let mut firing_total = 0usize;
    for (ts, row) in &rows {
        let clock = Stopwatch::start();
        let mut firing = 0;
        for (series, rule, state) in &mut bound {
            if state.update(rule, *ts, Some(row[*series])).is_firing() {
                firing += 1;
            }
        }
        per_tick.push(clock.secs() * 1e3);
        firing_total += firing;
    }
    per_tick.sort_by(f64::total_cmp);
    let q = |p: f64| per_tick[((per_tick.len() - 1) as f64 * p).round() as usize];
    println!(
        "{} twins, {} policies, {} series with rules, {} bound rules; binding {:.1} ms",
        s.graph.twin_count(),
        policies.len(),
        series,
        bound.len(),
        bind_ms
    );
    println!(
        "{} ticks: median {:.3} ms, p95 {:.3} ms, max {:.3} ms per tick ({:.0} ns per rule); {} firing rule-ticks",
        ticks,
        q(0.5),
        q(0.95),
        q(1.0),
        q(0.5) * 1e6 / bound.len().max(1) as f64,
        firing_total
    );
    Ok(())
}
