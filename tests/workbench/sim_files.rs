//! Malformed strategy and chaos experiment files: every truncated or garbled variant
//! of the bundled files either parses or fails with `file:line:col: message`; none
//! panics, and on the command line each gives exit 2 and one `error:` line.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use twinbench::io::experiment::parse_experiment;
use twinbench::io::scenario;
use twinbench::io::strategy::parse_strategy;
use twinbench::model::TwinGraph;

use crate::support::{garble, root, stderr, twinbench, write};

fn graph() -> TwinGraph {
    scenario::load_def(&root().join("scenarios/webshop.ron")).unwrap().scenario.graph
}

/// The mutant pretends to live beside the bundled file so relative references resolve.
fn mutant_path(kind: &str) -> PathBuf {
    root().join(format!("scenarios/{kind}/mutant.ron"))
}

/// Parses a mutant; an error must name a file with line and column and say something.
fn check(kind: &str, text: &str, graph: &TwinGraph, what: &str) -> Option<String> {
    let path = mutant_path(kind);
    let result = catch_unwind(AssertUnwindSafe(|| match kind {
        "strategies" => parse_strategy(&path, text, graph).map(|_| ()),
        _ => parse_experiment(&path, text, graph).map(|_| ()),
    }))
    .unwrap_or_else(|_| panic!("{kind}: parsing panicked on {what}"));
    let e = result.err()?;
    let msg = e.to_string();
    let (_, rest) = msg.split_once(".ron:").unwrap_or_else(|| panic!("{what}: no file in {msg:?}"));
    let mut parts = rest.splitn(3, ':');
    let line: usize = parts.next().and_then(|l| l.parse().ok()).unwrap_or_else(|| panic!("{what}: no line in {msg:?}"));
    let col: usize =
        parts.next().and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("{what}: no column in {msg:?}"));
    assert!(line >= 1 && col >= 1, "{what}: {msg}");
    if msg.contains("mutant.ron:") {
        assert!(line <= text.lines().count() + 1, "{what}: line {line} beyond the file: {msg}");
    }
    assert!(parts.next().is_some_and(|m| m.trim().len() > 3), "{what}: no message: {msg}");
    Some(msg)
}

fn bundled() -> Vec<(&'static str, String)> {
    [
        ("strategies", "scenarios/strategies/remediate.ron"),
        ("strategies", "scenarios/strategies/hands-off.ron"),
        ("experiments", "scenarios/experiments/db-primary-outage.ron"),
    ]
    .into_iter()
    .map(|(kind, p)| (kind, std::fs::read_to_string(root().join(p)).unwrap()))
    .collect()
}

#[test]
fn the_bundled_files_parse() {
    let g = graph();
    for (kind, text) in bundled() {
        assert_eq!(check(kind, &text, &g, "the bundled file"), None);
    }
}

#[test]
fn truncated_strategies_and_experiments_give_located_errors() {
    let g = graph();
    for (kind, base) in bundled() {
        let mut rejected = 0;
        let n = base.len();
        for i in 0..120 {
            let cut = (0..=n * i / 120).rev().find(|c| base.is_char_boundary(*c)).unwrap_or(0);
            if check(kind, &base[..cut], &g, &format!("{kind} cut at {cut}")).is_some() {
                rejected += 1;
            }
        }
        assert!(rejected >= 115, "{kind}: only {rejected} of 120 truncations were rejected");
    }
}

#[test]
fn garbled_strategies_and_experiments_never_panic() {
    let g = graph();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let junk = ['"', '(', ')', ',', ':', '[', ']', 'x', '9', '-', '.', '\n', 'é', '\u{0}', ' ', '/', 'e', 'h'];
    for (kind, base) in bundled() {
        let chars: Vec<char> = base.chars().collect();
        let mut rejected = 0;
        for round in 0..250 {
            let text = garble(&mut rng, &chars, &junk);
            if check(kind, &text, &g, &format!("{kind} garble {round}")).is_some() {
                rejected += 1;
            }
        }
        assert!(rejected > 60, "{kind}: only {rejected} garbled files were rejected");
    }
}

#[test]
fn semantic_errors_name_the_place() {
    let g = graph();
    let strategy = std::fs::read_to_string(root().join("scenarios/strategies/remediate.ron")).unwrap();
    let experiment = std::fs::read_to_string(root().join("scenarios/experiments/db-primary-outage.ron")).unwrap();
    let cases = [
        ("strategies", &strategy, "mode: \"auto\"", "mode: \"sometimes\"", "mode"),
        ("strategies", &strategy, "version: 1", "version: 9", "version"),
        ("strategies", &strategy, "objective: \"violation_minutes\"", "objective: \"happiness\"", "objective"),
        ("strategies", &strategy, "cooldown: \"30m\"", "cooldown: \"soon\"", "cooldown"),
        ("experiments", &experiment, "targets: [\"db-primary\"]", "targets: [\"db-nowhere\"]", "db-nowhere"),
        ("experiments", &experiment, "kind: crash", "kind: meteor", "meteor"),
        ("experiments", &experiment, "duration: \"2h\"", "duration: \"-2h\"", "duration"),
        ("experiments", &experiment, "operator: \">\", threshold: 500", "operator: \"~\", threshold: 500", "operator"),
    ];
    for (kind, base, from, to, needle) in cases {
        assert!(base.contains(from), "fixture lacks {from:?}");
        let text = base.replacen(from, to, 1);
        let msg = check(kind, &text, &g, to).unwrap_or_else(|| panic!("{to:?} was accepted"));
        assert!(msg.contains(needle), "{to:?}: {msg}");
    }
}

fn run_cli_on(dir: &Path, kind: &str, text: &str) -> String {
    let file = write(dir, "broken.ron", text);
    let file = file.to_str().unwrap();
    let out = match kind {
        "strategies" => twinbench(&["simulate", "scenarios/webshop.ron", "--hours", "1", "--strategy", file]),
        _ => twinbench(&["chaos", "scenarios/webshop.ron", file]),
    };
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{kind}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().filter(|l| l.starts_with("error:")).count(), 1, "{err}");
    err
}

#[test]
fn the_cli_rejects_broken_files_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, base) in bundled() {
        let cut = base.len() * 2 / 3;
        let cut = (0..=cut).rev().find(|c| base.is_char_boundary(*c)).unwrap();
        let err = run_cli_on(dir.path(), kind, &base[..cut]);
        assert!(err.contains("broken.ron:"), "{err}");
        run_cli_on(dir.path(), kind, "");
        run_cli_on(dir.path(), kind, "(version: 1, name: 3)");
    }
}
