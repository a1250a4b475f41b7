//! Forecast evaluation on the NAB CPU series (`ec2_cpu_utilization_*`,
//! `rds_cpu_utilization_*` in `../shared/data/nab/realAWSCloudwatch`): a rolling-origin
//! backtest with a one-day horizon (288 steps at 5 minutes), refitting at each origin.
//! Prints per file and the mean: MASE of the automatically chosen model and of the
//! seasonal naive (daily) forecast, 80% and 95% interval coverage, and the time of one
//! fit+predict on the whole series (CPU time of the thread, mean of 20 runs; and the
//! median wall time, which on a busy machine includes waiting for a core).
//!
//! Run: `cargo run --release --no-default-features --example forecast_eval [-- --origins N] [--per-model] [--all] [DIR]`
//!
//! `--all` takes every CSV in the directory (e.g. the other AWS metrics: network, disk,
//! request counts), a check that the method is not tuned to CPU series only.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use twinbench::analytics::forecast::{ForecastConfig, Forecaster, Seasonality, backtest_regular, regularize};
use twinbench::io::{Stopwatch, telemetry};

const HORIZON: usize = 288;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<()> {
    let mut origins = 7;
    let mut per_model_rows = false;
    let mut all_files = false;
    let mut ungated = false;
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/nab/realAWSCloudwatch");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--all" {
            all_files = true;
        } else if a == "--ungated" {
            ungated = true;
        } else if a == "--per-model" {
            per_model_rows = true;
        } else if a == "--origins" {
            origins = args.next().and_then(|v| v.parse().ok()).ok_or_else(|| anyhow::anyhow!("--origins N"))?;
        } else {
            dir = PathBuf::from(a);
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                (all_files || n.starts_with("ec2_cpu_utilization_") || n.starts_with("rds_cpu_utilization_"))
                    && n.ends_with(".csv")
            })
        })
        .collect();
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no NAB CPU series in {}", dir.display());

    println!(
        "rolling-origin backtest: horizon {HORIZON} steps (1 day at 5 min), {origins} origins, refit at each origin"
    );
    println!(
        "{:<32} {:>7} {:>7} {:>6} {:>6} {:>12}  model (latest origin)",
        "file", "MASE", "sNaive", "cov80", "cov95", "fit+pred cpu"
    );
    let mut sums = [0.0f64; 5];
    let mut per_model: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    let mut worst_ms: f64 = 0.0;
    let mut wall_sum = 0.0;
    for path in &files {
        let data = telemetry::read_single_series(path)?;
        let mut config = ForecastConfig::new(HORIZON);
        config.require_season_evidence = !ungated;
        let series = regularize(&data.ts, &data.values, config.max_gap_steps)?;
        let b = backtest_regular(&series, &config, origins)?;
        let (mase, naive) = (b.mase.unwrap_or(f64::NAN), b.mase_seasonal_naive.unwrap_or(f64::NAN));
        // Timing: fit + predict on the whole series, RUNS times. CPU time is the
        // thread's total over all runs divided by RUNS (the kernel updates it at
        // scheduler ticks, so single short runs would be coarse); wall time is the median
        // run, which on a busy machine includes waiting for a core.
        const RUNS: usize = 20;
        let mut walls = Vec::with_capacity(RUNS);
        let total = Stopwatch::start();
        for _ in 0..RUNS {
            let clock = Stopwatch::start();
            let f = Forecaster::fit(&data.ts, &data.values, config.clone())?;
            let p = f.predict(HORIZON)?;
            walls.push(clock.secs() * 1e3);
            std::hint::black_box(p);
        }
        walls.sort_by(f64::total_cmp);
        let wall_ms = walls[RUNS / 2];
        let ms = total.cpu_secs().map_or(wall_ms, |c| c * 1e3 / RUNS as f64);
        wall_sum += wall_ms;
        worst_ms = worst_ms.max(ms);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        println!(
            "{:<32} {:>7.3} {:>7.3} {:>6.3} {:>6.3} {:>10.2}ms  {} ({} pts)",
            name,
            mase,
            naive,
            b.coverage_80,
            b.coverage_95,
            ms,
            b.chosen.first().map_or("", String::as_str),
            data.ts.len()
        );
        if per_model_rows {
            println!("    whole series: {}", Seasonality::of(&series.values, series.step_secs).describe());
            for m in &b.models {
                println!("    {:<28} {:>7.3}", m.name, m.mase.unwrap_or(f64::NAN));
            }
            println!("    chosen per origin (latest first): {}", b.chosen.join(" | "));
        }
        for (s, v) in sums.iter_mut().zip([mase, naive, b.coverage_80, b.coverage_95, ms]) {
            *s += v;
        }
        for m in &b.models {
            if let Some(v) = m.mase {
                let e = per_model.entry(m.name.clone()).or_default();
                e.0 += v;
                e.1 += 1;
            }
        }
    }
    let n = files.len() as f64;
    let mean = sums.map(|s| s / n);
    println!(
        "{:<32} {:>7.3} {:>7.3} {:>6.3} {:>6.3} {:>10.2}ms  (median wall time per run, mean over files: {:.2} ms)",
        "mean",
        mean[0],
        mean[1],
        mean[2],
        mean[3],
        mean[4],
        wall_sum / n
    );
    println!("\nmean MASE of each candidate when forced (same origins):");
    for (name, (sum, count)) in &per_model {
        println!("  {:<32} {:>7.3}  ({count} files)", name, sum / *count as f64);
    }
    println!("\nbars:");
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!("  mean MASE below seasonal naive: {:.3} < {:.3}: {}", mean[0], mean[1], verdict(mean[0] < mean[1]));
    println!("  80% coverage within 0.70–0.90: {:.3}: {}", mean[2], verdict((0.70..=0.90).contains(&mean[2])));
    println!(
        "  fit+predict ≤ 10 ms per ~4,000 points (CPU time, mean of 20 runs): worst {worst_ms:.2} ms: {}",
        verdict(worst_ms <= 10.0)
    );
    if cfg!(debug_assertions) {
        println!("  (debug build: timings are not representative; use --release)");
    }
    Ok(())
}
