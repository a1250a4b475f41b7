//! The `forecast` subcommand.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::ForecastArgs;
use crate::analytics::forecast::{
    Backtest, ForecastConfig, ForecastError, Forecaster, Repairs, backtest_regular, regularize,
};
use crate::analytics::season::SeasonEvidence;
use crate::io::{IoError, Stopwatch, forecast as forecast_io, telemetry};

/// Turns a forecast error into an error naming the file, at the row it is about.
fn located(path: &Path, error: &ForecastError) -> IoError {
    let at = |row: usize, column: &str| telemetry::cell_position(path, row, column);
    let position = match error {
        ForecastError::NonFinite { index, .. } => at(*index, "value"),
        ForecastError::Gap { index, .. } => at(*index, "timestamp"),
        _ => None,
    };
    let message = match error {
        ForecastError::NonFinite { value, .. } => format!("value {value} is not a finite number"),
        ForecastError::Gap { missing_steps, step_secs, max_gap_steps, .. } => format!(
            "a gap of {missing_steps} missing samples (interval {step_secs} s) before this row; \
             at most {max_gap_steps} are filled"
        ),
        other => other.to_string(),
    };
    match position {
        Some(pos) => IoError::at(path, pos, message),
        None => IoError::invalid(path, message),
    }
}

fn repairs_text(r: Repairs) -> Option<String> {
    let mut parts = Vec::new();
    if r.sorted {
        parts.push("rows sorted by time".to_string());
    }
    if r.merged > 0 {
        parts.push(format!("{} sample(s) sharing a timestamp slot merged (mean)", r.merged));
    }
    if r.gaps_filled > 0 {
        parts.push(format!("{} gap(s) ({} samples) filled by linear interpolation", r.gaps_filled, r.samples_filled));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// One season verdict as JSON.
fn season_json(e: SeasonEvidence) -> serde_json::Value {
    json!({
        "period": e.period,
        "cycles": e.cycles,
        "split_half_r": e.split_half_r,
        "strength": e.strength,
        "earned": e.earned,
    })
}

/// Writes to stdout; a reader that went away (`| head`) ends the output quietly
/// instead of failing.
fn write_stdout(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// `twinbench forecast`.
pub fn forecast(args: &ForecastArgs) -> Result<ExitCode> {
    let path = args.input.as_path();
    let data = telemetry::read_single_series(path)?;
    let config = ForecastConfig::new(args.horizon as usize);
    let clock = Stopwatch::start();
    let fitted = Forecaster::fit(&data.ts, &data.values, config.clone()).map_err(|e| located(path, &e))?;
    let forecast = fitted.predict(args.horizon as usize).map_err(|e| located(path, &e))?;
    let fit_secs = clock.secs();

    let clock = Stopwatch::start();
    let backtest: Option<Backtest> = if args.backtest_origins == 0 {
        None
    } else {
        let series = regularize(&data.ts, &data.values, config.max_gap_steps).map_err(|e| located(path, &e))?;
        match backtest_regular(&series, &config, args.backtest_origins as usize) {
            Ok(b) => Some(b),
            Err(ForecastError::TooShort { .. }) => None,
            Err(e) => return Err(located(path, &e).into()),
        }
    };
    let backtest_secs = clock.secs();

    if let Some(out) = &args.out {
        forecast_io::write_forecast(out, &forecast)?;
    }
    let round = |x: f64| (x * 1e4).round() / 1e4;
    if args.json {
        let rows: Vec<_> = (0..forecast.len())
            .map(|i| {
                json!({
                    "timestamp": crate::io::time::format_datetime(forecast.timestamp(i)),
                    "forecast": forecast.mean[i],
                    "lower": forecast.lower_80[i],
                    "upper": forecast.upper_80[i],
                    "lower_95": forecast.lower_95[i],
                    "upper_95": forecast.upper_95[i],
                })
            })
            .collect();
        let summary = json!({
            "input": path.display().to_string(),
            "samples": data.ts.len(),
            "step_secs": fitted.step_secs(),
            "horizon": args.horizon,
            "model": forecast.model,
            "seasons": {
                "daily": forecast.seasons.daily.map(season_json),
                "weekly": forecast.seasons.weekly.map(season_json),
                "summary": forecast.seasons.describe(),
            },
            "candidates": fitted.candidate_scores().iter().map(|c| json!({"model": c.name, "in_sample_mae": c.mae})).collect::<Vec<_>>(),
            "backtest": backtest.as_ref().map(|b| json!({
                "origins": b.origins,
                "mase": b.mase,
                "mase_seasonal_naive": b.mase_seasonal_naive,
                "scale": b.scale,
                "coverage_80": b.coverage_80,
                "coverage_95": b.coverage_95,
            })),
            "repairs": repairs_text(fitted.repairs()),
            "fit_ms": round(fit_secs * 1e3),
            "backtest_ms": round(backtest_secs * 1e3),
            "forecast": rows,
        });
        write_stdout(&format!("{}\n", serde_json::to_string_pretty(&summary)?))?;
    } else if args.out.is_none() {
        write_stdout(&forecast_io::forecast_csv(&forecast))?;
    }
    eprintln!(
        "forecast: {} rows every {} s from {} samples of {}",
        forecast.len(),
        forecast.step_secs,
        data.ts.len(),
        path.display()
    );
    eprintln!("  model        {}", forecast.model);
    eprintln!("  seasons      {}", forecast.seasons.describe());
    match &backtest {
        Some(b) => eprintln!(
            "  backtest     MASE {} (seasonal naive {}; scale: in-sample {} MAE), 80%/95% coverage {:.2}/{:.2}, {} origins × {} steps, {:.1} ms",
            b.mase.map_or("n/a".into(), |m| format!("{m:.3}")),
            b.mase_seasonal_naive.map_or("n/a".into(), |m| format!("{m:.3}")),
            b.scale,
            b.coverage_80,
            b.coverage_95,
            b.origins,
            b.horizon,
            backtest_secs * 1e3
        ),
        None => eprintln!(
            "  backtest     none (history shorter than {} samples + one horizon)",
            crate::analytics::forecast::MIN_SAMPLES
        ),
    }
    eprintln!("  fit+predict  {:.1} ms", fit_secs * 1e3);
    if let Some(text) = repairs_text(fitted.repairs()) {
        eprintln!("  repaired     {text}");
    }
    if let Some(out) = &args.out {
        eprintln!("  wrote        {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}
