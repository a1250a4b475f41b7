//! Benchmark: what the workbench computes after opening an estate, phase by phase —
//! history generation, the policies over history, the anomaly scan and the
//! predictions (forecasts of every series a threshold rule applies to) — with wall
//! and process CPU seconds per phase (SPEC §5b: 1,000 twins ready in ≤ 20 s,
//! 10,000 twins in ≤ 3 min).
//!
//! Run: `cargo run --release --example estate_analyses -- [SCENARIO.ron | --twins N]
//! [--days D] [--seed S] [--trouble RATE] [--skip scan,predict]`
//!
//! Process CPU time is read from `/proc/self/stat` (Linux); elsewhere only wall time is
//! shown.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, bail};
use twinbench::analytics::compliance::current_violations;
use twinbench::analytics::predict::{PredictConfig, predict};
use twinbench::analytics::scan::scan;
use twinbench::io::{Stopwatch, peak_rss_bytes, scenario, synth};
use twinbench::policy::spans::violation_history;

/// CPU seconds of the whole process (user + system), from `/proc/self/stat`.
fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Times `f`, printing its wall and CPU seconds under `name`.
fn phase<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let wall = Stopwatch::start();
    let cpu = process_cpu_secs();
    let out = f()?;
    let cpu = cpu.and_then(|c| Some(process_cpu_secs()? - c));
    println!(
        "{name:<12} {:>8.2} s wall {:>9} CPU s",
        wall.secs(),
        cpu.map_or_else(|| "?".to_string(), |c| format!("{c:.2}"))
    );
    Ok(out)
}

fn main() -> Result<()> {
    let mut file: Option<PathBuf> = None;
    let (mut twins, mut days, mut seed, mut trouble) = (1000usize, 30.0, 1u64, 0.05);
    let mut skip = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().with_context(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--twins" => twins = value("--twins")?.parse()?,
            "--days" => days = value("--days")?.parse()?,
            "--seed" => seed = value("--seed")?.parse()?,
            "--trouble" => trouble = value("--trouble")?.parse()?,
            "--skip" => skip = value("--skip")?,
            other if other.starts_with("--") => bail!("unknown argument {other:?}"),
            path => file = Some(PathBuf::from(path)),
        }
    }
    let total = Stopwatch::start();
    let total_cpu = process_cpu_secs();
    let def = match &file {
        Some(path) => scenario::load_def(path)?,
        None => {
            let trouble = synth::TroubleRate::new(trouble).context("--trouble is a share in 0..=1")?;
            let estate = synth::estate(synth::SynthSpec { twins, days, seed, trouble });
            scenario::parse_def(Path::new("generated.ron"), &scenario::to_ron(&estate)?)?
        }
    };
    let s = phase("history", || Ok(scenario::fill_history(def, &|_, _| {}, &AtomicBool::new(false))?))?;
    let stats = s.telemetry.stats();
    println!(
        "  {} twins, {} series, {} samples, {:.3} bytes/sample",
        s.graph.twin_count(),
        s.telemetry.keys().count(),
        stats.samples,
        stats.bytes_per_sample()
    );
    let history = phase("policies", || Ok(violation_history(&s.policies, &s.graph, &s.telemetry, s.resolution_secs)?))?;
    println!("  {} twins with violation spans", history.len());
    if !skip.contains("scan") {
        let scans = phase("scan", || Ok(scan(&s, &|_, _| {}, &AtomicBool::new(false))?))?;
        let episodes: usize = scans.values().map(|a| a.episodes.len()).sum();
        println!("  {} series scanned, {episodes} anomaly episodes", scans.len());
    }
    if !skip.contains("predict") {
        let predictions = phase("predict", || {
            let current = current_violations(&s, &s.policies, &history);
            let config = PredictConfig::new(7 * 86_400);
            predict(&s, &s.policies, &current, &config, &|_, _| {}, &AtomicBool::new(false))
                .context("prediction was cancelled")
        })?;
        println!(
            "  {} series forecast, {} predicted violations, {} skipped",
            predictions.forecasts.len(),
            predictions.violations.len(),
            predictions.skipped.len()
        );
    }
    let cpu = total_cpu.and_then(|c| Some(process_cpu_secs()? - c));
    println!(
        "{:<12} {:>8.2} s wall {:>9} CPU s, peak RSS {} MB",
        "total",
        total.secs(),
        cpu.map_or_else(|| "?".to_string(), |c| format!("{c:.2}")),
        peak_rss_bytes().map_or(0, |b| b / (1 << 20))
    );
    Ok(())
}
