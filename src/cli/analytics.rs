//! Analytics subcommands: `detect` (causal anomaly scores for one series).

use std::process::ExitCode;

use anyhow::{Result, bail};

use super::{DetectArgs, DetectMethod};
use crate::analytics::anomaly::{
    Detector, LearnedConfig, LearnedDetector, Method, RateLimit, RuleDetector, ThresholdRule, WindowedGaussian,
    score_series,
};
use crate::io::scores::{read_series_rows, write_scores};
use crate::policy::Operator;

/// `twinbench detect`: scores every row of a `timestamp,value` file in file order.
pub fn detect(args: &DetectArgs) -> Result<ExitCode> {
    let mut thresholds = Vec::new();
    for (flag, operator, value) in [("--above", Operator::Gt, args.above), ("--below", Operator::Lt, args.below)] {
        if let Some(threshold) = value {
            if !threshold.is_finite() {
                bail!("{flag} must be a finite number, not {threshold}");
            }
            thresholds.push(ThresholdRule { operator, threshold });
        }
    }
    let rate = match args.max_rate {
        Some(r) if !(r.is_finite() && r > 0.0) => bail!("--max-rate must be a positive number, not {r}"),
        Some(max_abs_per_sec) => Some(RateLimit { max_abs_per_sec }),
        None => None,
    };
    let has_rules = !thresholds.is_empty() || rate.is_some();
    let method = match args.method {
        DetectMethod::Combined => Method::Combined,
        DetectMethod::WindowedGaussian => Method::WindowedGaussian,
    };
    let mut detector: Box<dyn Detector> = match method {
        Method::Combined => {
            let learned = LearnedDetector::new(LearnedConfig::default());
            if has_rules {
                Box::new(learned.with_rules(RuleDetector::new(thresholds, rate)))
            } else {
                Box::new(learned)
            }
        }
        Method::WindowedGaussian if has_rules => {
            bail!("--above, --below and --max-rate work with the combined method only")
        }
        Method::WindowedGaussian => Box::new(WindowedGaussian::new()),
    };

    let rows = read_series_rows(&args.input)?;
    let data = &rows.data;
    let steps_back = data.ts.windows(2).filter(|w| w[1] < w[0]).count();
    let repeats = data.ts.windows(2).filter(|w| w[1] == w[0]).count();
    let scores = score_series(detector.as_mut(), &data.ts, &data.values)?;
    let values: Vec<f64> = scores.iter().map(|s| s.score).collect();
    let metric = args.input.file_stem().and_then(|s| s.to_str()).unwrap_or("value");
    let reasons: Option<Vec<String>> = args.reasons.then(|| scores.iter().map(|s| s.reason(metric)).collect());
    write_scores(args.out.as_deref(), &rows, &values, reasons.as_deref())?;

    let alarms = scores.iter().filter(|s| s.score >= 0.5).count();
    eprintln!(
        "scored {} rows of {} with the {} detector; {alarms} at or above 0.5",
        data.len(),
        args.input.display(),
        match method {
            Method::Combined => "combined",
            Method::WindowedGaussian => "windowed-gaussian",
        }
    );
    if steps_back > 0 || repeats > 0 {
        eprintln!(
            "  note: {steps_back} rows step back in time and {repeats} repeat the previous timestamp; \
             rows were scored in file order"
        );
    }
    Ok(ExitCode::SUCCESS)
}
