//! `twinbench backtest` (every violation span of the policies over history, with
//! Prometheus' alerting semantics) and `twinbench convert` (policies ⇄ Prometheus rule
//! files and between policy syntaxes).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;

use super::{BacktestArgs, ConvertArgs, ConvertTarget, print_json};
use crate::io::format::Format;
use crate::io::prometheus::mapping;
use crate::io::prometheus::rules::{self, TwinLabels};
use crate::io::time::format_rfc3339;
use crate::io::{Stopwatch, chaostoolkit, experiment, policy, scenario, write_bytes};
use crate::policy::spans::violation_history;

/// Spans, the twins they were on, and seconds firing in all.
type RuleSummary<'a> = (usize, BTreeSet<&'a str>, i64);

/// `twinbench backtest`.
pub fn backtest(args: &BacktestArgs) -> Result<ExitCode> {
    let clock = Stopwatch::start();
    let mut s = scenario::load(&args.scenario)?;
    for path in &args.policy {
        let extra = policy::load_policies(path, &s.graph)?;
        s.policies.extend(extra);
    }
    let history = violation_history(&s.policies, &s.graph, &s.telemetry, s.resolution_secs)?;
    let step = s.resolution_secs.max(1);
    // Rules are evaluated at every step from the history's first sample to its last.
    let last_sample =
        s.telemetry.keys().filter_map(|k| s.telemetry.series(k).and_then(|x| x.last_ts())).max().unwrap_or(s.start);
    let evaluations = if last_sample >= s.start { (last_sample - s.start) / step + 1 } else { 0 };
    let last_evaluation = s.start + (evaluations - 1).max(0) * step;
    // (policy, rule, twin, start, end); end None while it still fires.
    let mut spans: Vec<(usize, usize, &str, i64, Option<i64>)> = history
        .iter()
        .flat_map(|(twin, spans)| {
            spans.iter().map(move |sp| (sp.policy, sp.rule, twin.as_str(), sp.start, (!sp.ongoing).then_some(sp.end)))
        })
        .collect();
    spans.sort();
    // Per (policy, rule): spans, twins, firing seconds (an ongoing span counts to the end).
    let mut summary: BTreeMap<(usize, usize), RuleSummary> = BTreeMap::new();
    for (p, r, twin, start, end) in &spans {
        let entry = summary.entry((*p, *r)).or_default();
        entry.0 += 1;
        entry.1.insert(twin);
        entry.2 += end.unwrap_or(last_evaluation + step) - start;
    }
    let rule_text = |p: usize, r: usize| s.policies[p].rules[r].to_string();
    if args.json {
        print_json(&json!({
            "scenario": s.name,
            "from": format_rfc3339(s.start),
            "to": format_rfc3339(last_evaluation),
            "resolution_secs": s.resolution_secs,
            "evaluations": evaluations,
            "spans": spans.iter().map(|(p, r, twin, start, end)| json!({
                "policy": s.policies[*p].name,
                "rule": rule_text(*p, *r),
                "twin": twin,
                "start": format_rfc3339(*start),
                "end": end.map(format_rfc3339),
            })).collect::<Vec<_>>(),
            "rules": summary.iter().map(|((p, r), (count, twins, secs))| json!({
                "policy": s.policies[*p].name,
                "rule": rule_text(*p, *r),
                "fired": count,
                "twins": twins.len(),
                "minutes": *secs as f64 / 60.0,
            })).collect::<Vec<_>>(),
        }))?;
    } else {
        eprintln!(
            "{}: {} evaluations every {} s from {} to {}; {} violation spans of {} rules",
            s.name,
            evaluations,
            step,
            format_rfc3339(s.start),
            format_rfc3339(last_evaluation),
            spans.len(),
            summary.len()
        );
        for ((p, r), (count, twins, secs)) in &summary {
            eprintln!(
                "  {:<22} {:<40} fired {count} times on {} twins, {:.0} minutes in all",
                s.policies[*p].name,
                rule_text(*p, *r),
                twins.len(),
                *secs as f64 / 60.0
            );
        }
        for (p, r, twin, start, end) in &spans {
            eprintln!(
                "  {:<22} {:<18} {} → {}  {}",
                s.policies[*p].name,
                twin,
                format_rfc3339(*start),
                end.map_or("still firing".to_string(), format_rfc3339),
                rule_text(*p, *r)
            );
        }
    }
    eprintln!("(backtested in {:.2} s)", clock.secs());
    Ok(ExitCode::SUCCESS)
}

/// `twinbench convert`.
pub fn convert(args: &ConvertArgs) -> Result<ExitCode> {
    let labels = match &args.mapping {
        None => TwinLabels::default(),
        Some(path) => TwinLabels::of_mapping(&mapping::load(path)?),
    };
    match args.to {
        ConvertTarget::Prometheus => {
            let def = args.scenario.as_deref().map(scenario::load_def).transpose()?;
            let graph = def.as_ref().map(|d| &d.scenario.graph);
            let read = policy::load_policies_with(&args.input, graph, &labels);
            // A scenario file stands for its own policies.
            let own = if read.is_err() { scenario_def(&args.input) } else { None };
            let (policies, graph, interval) = match (read, &own) {
                (Ok(policies), _) => (policies, graph, def.as_ref().map(|d| d.scenario.resolution_secs)),
                (Err(_), Some(own)) => {
                    (own.scenario.policies.clone(), Some(&own.scenario.graph), Some(own.scenario.resolution_secs))
                }
                (Err(e), None) => return Err(e.into()),
            };
            let (exported, _) = rules::export(&args.input, &policies, graph, &labels, interval)?;
            write_bytes(&args.out, "rule file", exported.text.as_bytes())?;
            let carried = match exported.carried.len() {
                0 => String::new(),
                n => format!(
                    " and {n} policy carrier{} (no metric rule to alert on: {})",
                    if n == 1 { "" } else { "s" },
                    exported.carried.join(", ")
                ),
            };
            eprintln!(
                "wrote {} alerting rules{carried} of {} policies to {}",
                exported.rules,
                policies.len(),
                args.out.display()
            );
        }
        ConvertTarget::Chaostoolkit => {
            let def = match &args.scenario {
                Some(path) => scenario::load_def(path)?,
                None => {
                    eprintln!("(twins of the bundled webshop scenario; --scenario names another)");
                    scenario::default_def()?
                }
            };
            let graph = &def.scenario.graph;
            let file = experiment::load_file(&args.input, graph)?;
            let validated = experiment::load_experiment(&args.input, graph)?;
            let exported = chaostoolkit::export(&args.input, &file, &validated, graph, &args.out)?;
            for note in &exported.notes {
                eprintln!("note: {note}");
            }
            write_bytes(&args.out, "Chaos Toolkit experiment", exported.text.as_bytes())?;
            eprintln!(
                "wrote a Chaos Toolkit experiment ({} probes, {} actions; extensions: {}) to {}",
                exported.probes,
                exported.actions,
                chaostoolkit::packages().join(", "),
                args.out.display()
            );
        }
        target => {
            let format = match target {
                ConvertTarget::Yaml => Format::Yaml,
                ConvertTarget::Json => Format::Json,
                _ => Format::Ron,
            };
            let files = policy::load_files(&args.input, &labels)?;
            let text = policy::to_text(&files, format)
                .map_err(|e| anyhow::anyhow!("cannot write the policies: {e}"))
                .with_context(|| args.out.display().to_string())?;
            write_bytes(&args.out, "policy file", text.as_bytes())?;
            eprintln!("wrote {} policies to {}", files.len(), args.out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn scenario_def(path: &Path) -> Option<scenario::ScenarioDef> {
    (Format::of(path) == Some(Format::Ron)).then(|| scenario::load_def(path).ok()).flatten()
}
