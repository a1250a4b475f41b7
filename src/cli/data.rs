//! Data subcommands: `info`, `generate`, `ingest`, `export`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::{ExportArgs, GenerateArgs, InfoArgs, IngestArgs, print_json};
use crate::io::{self, Stopwatch, logs, scenario, synth, telemetry};
use crate::model::{SeriesData, SeriesKey, TelemetryStore};

/// `twinbench info`.
pub fn info(args: &InfoArgs) -> Result<ExitCode> {
    let clock = Stopwatch::start();
    let s = io::learned::load_any(&args.scenario)?.0;
    let load_secs = clock.secs();
    let stats = s.telemetry.stats();
    let metrics = s.telemetry.metric_names();
    let (first, last) = s.telemetry.span().unwrap_or((s.start, s.end));
    let history_days = (last - first + s.resolution_secs) as f64 / 86_400.0;
    // Workload models: written, learned, and series of the history without one.
    let learned = s.workloads.values().filter(|m| m.learned.is_some()).count();
    let written = s.workloads.len() - learned;
    let missing = s
        .telemetry
        .keys()
        .filter(|k| k.metric.as_str() != crate::model::metric::UP && !s.workloads.contains_key(k))
        .count();
    if args.json {
        print_json(&json!({
            "name": s.name,
            "twins": s.graph.twin_count(),
            "edges": s.graph.edge_count(),
            "metrics": metrics.len(),
            "series": stats.series,
            "samples": stats.samples,
            "history_days": round3(history_days),
            "start": io::time::format_rfc3339(first),
            "end": io::time::format_rfc3339(last),
            "resolution_secs": s.resolution_secs,
            "policies": s.policies.len(),
            "workload_models": {"written": written, "learned": learned, "missing": missing},
            "encoded_bytes": stats.encoded_bytes,
            "bytes_per_sample": round3(stats.bytes_per_sample()),
            "load_secs": round3(load_secs),
            "peak_rss_bytes": io::peak_rss_bytes(),
        }))?;
    } else {
        eprintln!("{} — {}", s.name, s.description);
        eprintln!(
            "  twins      {}  ({} dependency edges, {} policies)",
            s.graph.twin_count(),
            s.graph.edge_count(),
            s.policies.len()
        );
        eprintln!(
            "  metrics    {}  ({})",
            metrics.len(),
            metrics.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
        );
        eprintln!(
            "  samples    {} in {} series, {:.1} days at {} s",
            stats.samples, stats.series, history_days, s.resolution_secs
        );
        eprintln!("  history    {} .. {}", io::time::format_rfc3339(first), io::time::format_rfc3339(last));
        eprintln!(
            "  models     {written} written, {learned} learned{}",
            if missing > 0 {
                format!(", {missing} series without one (learned when simulated)")
            } else {
                String::new()
            }
        );
        eprintln!("  store      {} bytes encoded, {:.3} bytes/sample", stats.encoded_bytes, stats.bytes_per_sample());
        eprintln!("  loaded in  {load_secs:.2} s");
    }
    Ok(ExitCode::SUCCESS)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `twinbench generate`.
pub fn generate(args: &GenerateArgs) -> Result<ExitCode> {
    if !(args.days.is_finite() && args.days > 0.0 && args.days <= 3650.0) {
        bail!("--days must be more than 0 and at most 3650, not {}", args.days);
    }
    let trouble = synth::TroubleRate::new(args.trouble).context("--trouble")?;
    let spec = synth::SynthSpec { twins: args.twins as usize, days: args.days, seed: args.seed, trouble };
    let (file, troubles) = synth::estate_with_trouble(spec);
    scenario::save(&args.out, &file)?;
    eprintln!(
        "wrote {} ({} twins, {} dependencies, {} days) to {}",
        file.name,
        file.twins.len(),
        file.dependencies.len(),
        args.days,
        args.out.display()
    );
    if troubles.total() > 0 {
        eprintln!(
            "  trouble at rate {}: {} drifted configurations, {} creeping disks, {} noisy neighbours, {} outages",
            trouble.share(),
            troubles.drifted,
            troubles.creeping_disks,
            troubles.noisy_neighbours,
            troubles.outages
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `twinbench ingest`.
pub fn ingest(args: &IngestArgs) -> Result<ExitCode> {
    if let Some(mapping) = &args.logs {
        return ingest_logs(args, mapping);
    }
    let clock = Stopwatch::start();
    let mut merged: BTreeMap<SeriesKey, SeriesData> = BTreeMap::new();
    let mut rows = 0;
    for path in &args.files {
        let table = telemetry::read_table(path)?;
        rows += table.rows;
        for (key, data) in table.series {
            let entry = merged.entry(key).or_default();
            entry.ts.extend(data.ts);
            entry.values.extend(data.values);
        }
    }
    let mut table = telemetry::TelemetryTable { layout: telemetry::Layout::Long, rows, series: merged };
    let repairs = telemetry::sort_series(&mut table);
    let label = args.files.first().map_or(Path::new("input"), |p| p.as_path());
    let store = telemetry::table_into_store(label, &table, Default::default())?;
    let load_secs = clock.secs();
    let verified = if args.verify { Some(verify(&store, &table.series)?) } else { None };
    let stats = store.stats();
    if args.json {
        print_json(&json!({
            "files": args.files.len(),
            "series": stats.series,
            "samples": stats.samples,
            "raw_bytes": stats.raw_bytes,
            "encoded_bytes": stats.encoded_bytes,
            "bytes_per_sample": round3(stats.bytes_per_sample()),
            "verified": verified,
            "sorted_series": repairs.sorted_series,
            "duplicate_timestamps": repairs.duplicate_timestamps,
            "load_secs": round3(load_secs),
            "samples_per_sec": (stats.samples as f64 / load_secs.max(1e-9)).round(),
        }))?;
    } else {
        eprintln!(
            "ingested {} samples in {} series from {} files in {load_secs:.2} s",
            stats.samples,
            stats.series,
            args.files.len()
        );
        if repairs.sorted_series > 0 || repairs.duplicate_timestamps > 0 {
            eprintln!(
                "  repaired: {} series sorted by time; {} samples share a timestamp with their predecessor (kept)",
                repairs.sorted_series, repairs.duplicate_timestamps
            );
        }
        if args.stats {
            eprintln!("  samples          {}", stats.samples);
            eprintln!("  raw_bytes        {}", stats.raw_bytes);
            eprintln!("  encoded_bytes    {}", stats.encoded_bytes);
            eprintln!("  bytes_per_sample {:.3}", stats.bytes_per_sample());
        }
        match verified {
            Some(true) => eprintln!("  verified: every sample reads back bit-identical"),
            Some(false) => eprintln!("  VERIFY FAILED: the store did not give back what was ingested"),
            None => {}
        }
    }
    Ok(if verified == Some(false) { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `twinbench ingest --logs MAPPING [FILE…] --out TELEMETRY`.
fn ingest_logs(args: &IngestArgs, mapping_path: &Path) -> Result<ExitCode> {
    let Some(out) = &args.out else {
        bail!("--logs needs --out TELEMETRY.csv or TELEMETRY.parquet, where the telemetry is written");
    };
    if !telemetry::is_telemetry_file(out) {
        bail!("--out must end in .csv or .parquet, not {}", out.display());
    }
    let clock = Stopwatch::start();
    let mapping = logs::load_mapping(mapping_path)?;
    let files = if args.files.is_empty() {
        if mapping.files.is_empty() {
            bail!(
                "no log files: give them after the mapping, or list them under `files:` in {}",
                mapping_path.display()
            );
        }
        logs::resolve_files(mapping_path, &mapping.files)?
    } else {
        args.files.clone()
    };
    let ingested = logs::ingest(&mapping, &files)?;
    let read_secs = clock.secs();
    let cpu_secs = clock.cpu_secs();
    let series: Vec<(SeriesKey, SeriesData)> = ingested.series.into_iter().collect();
    let rows = telemetry::write_long(out, &series)?;
    let total_secs = clock.secs();
    let r = &ingested.report;
    let mb_per_sec = r.bytes as f64 / 1e6 / read_secs.max(1e-9);
    if args.json {
        print_json(&json!({
            "files": r.files,
            "lines": r.lines,
            "used": r.used,
            "unparsable": r.unparsable,
            "late": r.late,
            "out_of_order": r.out_of_order,
            "problems": r.problems,
            "twins": series.iter().map(|(k, _)| k.twin.as_str()).collect::<std::collections::BTreeSet<_>>().len(),
            "series": series.len(),
            "samples": rows,
            "bytes": r.bytes,
            "file_bytes": r.file_bytes,
            "out": out.display().to_string(),
        }))?;
    }
    let twins = series.iter().map(|(k, _)| k.twin.as_str()).collect::<std::collections::BTreeSet<_>>();
    eprintln!(
        "wrote {rows} samples of {} series ({} twins) from {} of {} log lines in {} files to {}",
        series.len(),
        twins.len(),
        r.used,
        r.lines,
        r.files,
        out.display()
    );
    if r.unparsable > 0 || r.late > 0 {
        eprintln!("  skipped: {} unparsable lines, {} late lines (behind max_delay)", r.unparsable, r.late);
        for p in &r.problems {
            eprintln!("    {p}");
        }
    }
    if r.out_of_order > 0 {
        eprintln!("  sorted: {} lines were older than the line before them", r.out_of_order);
    }
    if args.stats {
        eprintln!("  bytes            {} of log text ({} on disk)", r.bytes, r.file_bytes);
        eprintln!(
            "  read             {read_secs:.2} s wall{}, {mb_per_sec:.1} MB/s of log text",
            cpu_secs.map_or_else(String::new, |c| format!(" ({c:.2} s CPU)"))
        );
        eprintln!("  total            {total_secs:.2} s with writing");
        eprintln!(
            "  parser           {}",
            if r.fast_path { "nginx split parser (same fields as the pattern)" } else { "general (regex or JSON)" }
        );
        eprintln!("  open steps       {} at most", r.peak_open_steps);
        if let Some(rss) = io::peak_rss_bytes() {
            eprintln!("  peak_rss         {:.1} MB", rss as f64 / 1e6);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Decodes every series and compares it bit for bit with what was put in. Samples
/// older than the raw retention window were rolled up: those are checked by count, the
/// raw rest (the newest samples) bit for bit.
fn verify(store: &TelemetryStore, input: &BTreeMap<SeriesKey, SeriesData>) -> Result<bool> {
    for (key, want) in input {
        let Some(series) = store.series(key) else {
            return Ok(false);
        };
        let got = series.read_all()?;
        let rolled = series.rolled_up_count()?;
        let Some(raw_start) = want.len().checked_sub(got.len()).filter(|&n| n == rolled) else {
            return Ok(false);
        };
        let same_values = got.values.iter().zip(&want.values[raw_start..]).all(|(a, b)| a.to_bits() == b.to_bits());
        if got.ts != want.ts[raw_start..] || !same_values {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `twinbench export`.
pub fn export(args: &ExportArgs) -> Result<ExitCode> {
    let s = scenario::load(&args.scenario)?;
    for id in &args.twins {
        if s.graph.twin(&id.as_str().into()).is_none() {
            bail!("scenario {} has no twin {id:?}", s.name);
        }
    }
    let mut series = Vec::new();
    for key in s.telemetry.keys() {
        let twin_ok = args.twins.is_empty() || args.twins.iter().any(|t| t == key.twin.as_str());
        let metric_ok = args.metrics.is_empty() || args.metrics.iter().any(|m| m == key.metric.as_str());
        if twin_ok && metric_ok {
            let data = s.telemetry.series(key).context("series vanished")?.read_all()?;
            series.push((key.clone(), data));
        }
    }
    if series.is_empty() {
        bail!("nothing to export: no series match the --twin/--metric filters");
    }
    let rows = telemetry::write_long(&args.out, &series)?;
    eprintln!("wrote {rows} rows of {} series to {}", series.len(), args.out.display());
    Ok(ExitCode::SUCCESS)
}
