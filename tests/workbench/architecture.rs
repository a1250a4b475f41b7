//! The architecture's rules, checked on the `src/` tree (issue 15, `ARCHITECTURE.md`'s
//! invariants): the layers only import downwards, threads are started only by the
//! modules that own them, and only `src/io` writes files. The rules are the tables
//! below; `check` applies them to (path, text) pairs and is tested on small made-up
//! sources, so a rule that can no longer fail would be noticed.

use std::path::Path;

/// The layers, lowest first. A module may use its own layer and the ones before it.
/// `scenario` (the bundle) sits above `model` and `policy` because it holds both.
const LAYERS: &[&str] = &["model", "policy", "scenario", "analytics", "remediation", "sim", "io", "cli", "ui"];

/// Imports between modules of one layer that would close a cycle: (the importing
/// file, the path it may not use, why).
const FORBIDDEN_IMPORTS: &[(&str, &str, &str)] = &[
    ("src/sim/world.rs", "engine", "the engine steps the world; shared inputs live in `sim::input`"),
    ("src/sim/input.rs", "engine", "the inputs are below the engine"),
    ("src/io/policy.rs", "scenario", "shared file-format helpers live in `io::format`"),
    ("src/io/format.rs", "scenario", "`io::format` is below every file format"),
    ("src/io/format.rs", "policy", "`io::format` is below every file format"),
];

/// A capability only some modules may use: what it is, the text that uses it, and
/// where it is allowed (a path, or a folder ending in `/`; a prefix matches files and
/// folders: `src/ui/app` is `app.rs` and `app/`).
struct Capability {
    what: &'static str,
    patterns: &'static [&'static str],
    owners: &'static [&'static str],
}

const CAPABILITIES: &[Capability] = &[
    Capability {
        what: "starts a thread",
        patterns: &["thread::spawn", "thread::Builder", "thread::scope"],
        owners: &["src/analytics/par.rs", "src/sim/history.rs", "src/io/", "src/ui/jobs.rs"],
    },
    Capability {
        what: "writes a file",
        patterns: &["fs::write", "File::create", "OpenOptions", "fs::rename", "create_dir"],
        owners: &["src/io/"],
    },
];

/// Every broken rule in `files` ((path relative to the package, text) pairs), one
/// message each.
fn check(files: &[(String, String)]) -> Vec<String> {
    let mut broken = Vec::new();
    for (path, text) in files {
        let code = code_of(text);
        for cap in CAPABILITIES {
            let allowed = cap.owners.iter().any(|owner| path.starts_with(owner));
            if allowed {
                continue;
            }
            for pattern in cap.patterns {
                if let Some(line) = line_of(&code, pattern) {
                    broken.push(format!(
                        "{path}:{line}: {} (`{pattern}`) outside the modules that own it ({})",
                        cap.what,
                        cap.owners.join(", ")
                    ));
                }
            }
        }
        if is_test_file(path) {
            continue;
        }
        let Some(layer) = layer_of(path) else {
            continue;
        };
        let rank = |l: &str| LAYERS.iter().position(|x| *x == l);
        for (line, used) in crate_imports(&code) {
            if let (Some(mine), Some(theirs)) = (rank(layer), rank(&used))
                && theirs > mine
            {
                broken.push(format!(
                    "{path}:{line}: `{layer}` imports `crate::{used}`, a higher layer (layers, lowest first: {})",
                    LAYERS.join(" → ")
                ));
            }
        }
        for (file, target, why) in FORBIDDEN_IMPORTS {
            if path != file {
                continue;
            }
            let parent = Path::new(path).parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("");
            for form in [format!("super::{target}"), format!("crate::{parent}::{target}")] {
                if let Some(line) = line_of(&code, &form) {
                    broken.push(format!("{path}:{line}: imports `{form}`: {why}"));
                }
            }
        }
    }
    broken
}

/// The layer of a file: the first folder under `src/`, or the file's own name for a
/// top-level module (`src/scenario.rs`). `lib.rs` and `main.rs` are above every layer.
fn layer_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("src/")?;
    let top = rest.split('/').next()?;
    let top = top.strip_suffix(".rs").unwrap_or(top);
    (!matches!(top, "lib" | "main")).then_some(top)
}

/// Test modules of their own (`tests.rs`, `tests/`) may use any layer to build their
/// inputs.
fn is_test_file(path: &str) -> bool {
    path.ends_with("/tests.rs") || path.contains("/tests/")
}

/// The code of a source file as lines: comment lines blanked (docs may mention any
/// module), and `#[cfg(test)]` modules blanked (tests may use any layer).
fn code_of(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        let test_module = trimmed.starts_with("#[cfg(test)]")
            && lines.get(i + 1).is_some_and(|next| {
                let next = next.trim_start();
                next.starts_with("mod ") || next.starts_with("pub mod ") || next.starts_with("pub(crate) mod ")
            });
        if test_module {
            // Blank to the line that closes the module's braces.
            let mut depth = 0i64;
            let mut opened = false;
            while i < lines.len() {
                for c in lines[i].chars() {
                    match c {
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth -= 1,
                        _ => {}
                    }
                }
                out.push(String::new());
                i += 1;
                if opened && depth <= 0 {
                    break;
                }
            }
            continue;
        }
        out.push(if trimmed.starts_with("//") { String::new() } else { lines[i].to_string() });
        i += 1;
    }
    out
}

/// The 1-based line of the first use of `pattern`.
fn line_of(code: &[String], pattern: &str) -> Option<usize> {
    code.iter().position(|l| l.contains(pattern)).map(|i| i + 1)
}

/// The top-level modules a file's code names through `crate::`, with the line:
/// `use crate::x::…`, `crate::x::f()`, and each item of `use crate::{x, y::…}`.
fn crate_imports(code: &[String]) -> Vec<(usize, String)> {
    let text = code.join("\n");
    let line_at = |byte: usize| text[..byte].matches('\n').count() + 1;
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let mut out = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The group's top-level items.
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push((line_at(at), ident(item.trim())));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            if !item.trim().is_empty() {
                out.push((line_at(at), ident(item.trim())));
            }
        } else {
            out.push((line_at(at), ident(rest)));
        }
    }
    out
}

/// Every `.rs` file under `src/`, as (path relative to the package, text), sorted.
fn source_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                files.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn the_source_tree_keeps_the_architecture_rules() {
    let files = source_files();
    assert!(files.len() > 50, "found the source tree ({} files)", files.len());
    let broken = check(&files);
    assert!(
        broken.is_empty(),
        "architecture rules broken (see tests/workbench/architecture.rs):\n{}",
        broken.join("\n")
    );
}

#[test]
fn every_layer_is_a_module_of_the_crate() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    for layer in LAYERS {
        assert!(lib.contains(&format!("pub mod {layer};")), "src/lib.rs declares `{layer}`");
        assert!(
            lib.contains(&format!("[`{layer}`]")) || lib.contains(&format!("`{layer}`")),
            "the crate map names `{layer}`"
        );
    }
}

fn file(path: &str, text: &str) -> (String, String) {
    (path.to_string(), text.to_string())
}

#[test]
fn the_checker_finds_each_kind_of_broken_rule() {
    let files = [
        file("src/model/twin.rs", "use crate::policy::Policy;\nuse crate::model::ids::TwinId;\n"),
        file("src/policy/mod.rs", "use crate::{model::TwinId, remediation::ActionKind};\n"),
        file("src/analytics/x.rs", "fn f() { let _ = crate::sim::run; }\n"),
        file("src/sim/world.rs", "use super::engine::Command;\n"),
        file("src/io/policy.rs", "use super::scenario::parse_ron;\n"),
        file("src/sim/engine.rs", "fn f() { std::thread::spawn(|| ()); }\n"),
        file("src/cli/plan.rs", "fn f() { std::fs::write(\"p\", b\"\").unwrap(); }\n"),
        file("src/ui/panel.rs", "fn f() { let _ = std::fs::OpenOptions::new(); }\n"),
    ];
    let broken = check(&files);
    let expect = [
        "src/model/twin.rs:1: `model` imports `crate::policy`",
        "src/policy/mod.rs:1: `policy` imports `crate::remediation`",
        "src/analytics/x.rs:1: `analytics` imports `crate::sim`",
        "src/sim/world.rs:1: imports `super::engine`",
        "src/io/policy.rs:1: imports `super::scenario`",
        "src/sim/engine.rs:1: starts a thread (`thread::spawn`)",
        "src/cli/plan.rs:1: writes a file (`fs::write`)",
        "src/ui/panel.rs:1: writes a file (`OpenOptions`)",
    ];
    for e in expect {
        assert!(broken.iter().any(|b| b.starts_with(e)), "expected {e:?} in {broken:#?}");
    }
    assert_eq!(broken.len(), expect.len(), "{broken:#?}");
}

#[test]
fn the_checker_allows_what_the_rules_allow() {
    let files = [
        // Downward and same-layer imports.
        file(
            "src/remediation/plan.rs",
            "use crate::{analytics::drift::DriftReport, model::TwinId};\nuse super::priority::Weights;\n",
        ),
        file("src/scenario.rs", "use crate::policy::Policy;\n"),
        // Comments, tests and test files may name any layer.
        file("src/model/graph.rs", "//! Used by [`crate::ui`].\n/// See `crate::sim::World`.\nfn f() {}\n"),
        file(
            "src/model/noise.rs",
            "fn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::sim::World;\n    #[test]\n    fn t() { let _ = std::fs::write(\"x\", \"\"); }\n}\n",
        ),
        file("src/sim/tests.rs", "use crate::io::scenario::load;\n"),
        // Owners of threads and file writes.
        file("src/analytics/par.rs", "fn f() { std::thread::scope(|_| ()); }\n"),
        file("src/io/live.rs", "fn f() { std::thread::Builder::new(); std::fs::rename(\"a\", \"b\").unwrap(); }\n"),
        file("src/ui/jobs.rs", "fn f() { std::thread::Builder::new(); }\n"),
        // The entry point is above every layer.
        file("src/main.rs", "fn main() { twinbench::ui::run(); let _ = crate::ui::run; }\n"),
    ];
    assert_eq!(check(&files), Vec::<String>::new());
}
