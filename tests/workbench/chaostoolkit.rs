//! Chaos Toolkit in and out: the bundled experiment converted passes the real
//! `chaos validate` (chaostoolkit with the extensions the provider table names), reads
//! back to the same `chaos --json` result, runs write deterministic journals, and
//! malformed Chaos Toolkit experiments are located errors, never panics.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{root, stderr, stdout, twinbench, write};
use twinbench::io::experiment::parse_experiment;
use twinbench::io::scenario;

/// Set (to anything) to make a missing `chaos` a test failure instead of a skip;
/// `.ci/run` sets it, so CI cannot pass without running `chaos validate`.
pub const REQUIRE_ENV: &str = "TWINBENCH_REQUIRE_CHAOSTOOLKIT";
/// Where the `chaos` command is (`.ci/run` installs chaostoolkit and the extensions in
/// a Python 3.12 venv and points this at its `bin/chaos`).
pub const CHAOS_ENV: &str = "TWINBENCH_CHAOS";
const EXPERIMENT: &str = "scenarios/experiments/db-primary-outage.ron";
const SCENARIO: &str = "scenarios/webshop.ron";

/// The `chaos` command, or `None` (a skip) when it is not installed and [`REQUIRE_ENV`]
/// is not set.
fn chaos_command() -> Option<PathBuf> {
    let candidates =
        [std::env::var_os(CHAOS_ENV).map(PathBuf::from), Some(PathBuf::from("/var/tmp/twinbench-ctk-venv/bin/chaos"))];
    if let Some(found) = candidates.into_iter().flatten().find(|p| p.is_file()) {
        return Some(found);
    }
    let what = format!(
        "chaostoolkit not installed (set {CHAOS_ENV} to its `chaos`; .ci/run installs it with \
         chaostoolkit-prometheus, chaostoolkit-kubernetes and chaostoolkit-toxiproxy in a Python 3.12 venv)"
    );
    assert!(std::env::var_os(REQUIRE_ENV).is_none(), "{what}, and {REQUIRE_ENV} is set");
    eprintln!("SKIPPED: {what}. Set {REQUIRE_ENV}=1 to make this a failure.");
    None
}

fn validate(chaos: &Path, experiment: &Path, dir: &Path) {
    let out = Command::new(chaos)
        .args(["--no-log-file", "validate"])
        .arg(experiment)
        .current_dir(dir)
        .output()
        .expect("chaos runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "chaos validate {}:\n{text}", experiment.display());
    assert!(text.contains("Experiment looks valid"), "{text}");
}

fn convert(input: &Path, out: &Path) {
    let o = twinbench(&[
        "convert",
        input.to_str().unwrap(),
        "--to",
        "chaostoolkit",
        "--scenario",
        SCENARIO,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn without_extensions(path: &Path, out: &Path) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("extensions");
    std::fs::write(out, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// Every fault type of the catalogue once, so `chaos validate` binds every row of the
/// provider table (and its undo) against the installed extensions' signatures.
const EVERY_FAULT: &str = r#"(
    title: "Every fault type",
    duration: "3h",
    steady_state: (policies: [
        (name: "edge", selector: (kinds: ["load_balancer"]), rules: [(metric: "error_rate", operator: ">", threshold: 5)]),
        (name: "api-p95", selector: (ids: ["api-orders"]), rules: [(metric: "latency_ms", aggregation: "p95", window: "10m", operator: ">", threshold: 800)]),
    ]),
    method: [
        fault(kind: crash, targets: ["db-replica"], at: "10m"),
        fault(kind: cpu_hog(percent: 150), targets: ["web-1"], at: "15m"),
        fault(kind: memory_leak(percent_per_hour: 25), targets: ["web-2"], at: "20m"),
        fault(kind: latency(ms: 300), targets: ["api-catalog"], at: "25m"),
        fault(kind: partition, targets: ["cache-redis"], at: "30m"),
        fault(kind: disk_fill(percent_per_hour: 20), targets: ["search-index"], at: "35m"),
        fault(kind: dependency_outage(dependency: "db-primary"), targets: ["api-orders"], at: "40m"),
        fault(kind: traffic_spike(factor: 3), targets: ["lb-edge"], at: "45m"),
    ],
    rollbacks: [(at: "2h", twins: ["cache-redis"]), (at: "3h")],
)"#;

#[test]
fn converted_experiments_pass_chaos_validate() {
    let Some(chaos) = chaos_command() else { return };
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("db-primary-outage.json");
    convert(&root().join(EXPERIMENT), &exp);
    validate(&chaos, &exp, dir.path());
    // The native part alone, too.
    let native = dir.path().join("native.json");
    without_extensions(&exp, &native);
    validate(&chaos, &native, dir.path());
    // Every provider of the table, faults and undos.
    let every = write(dir.path(), "every.ron", EVERY_FAULT);
    let every_json = dir.path().join("every.json");
    convert(&every, &every_json);
    validate(&chaos, &every_json, dir.path());
}

fn chaos_json(experiment: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["chaos", SCENARIO, experiment.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let o = twinbench(&args);
    assert!(o.status.code().is_some_and(|c| c < 2), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

#[test]
fn imported_back_an_experiment_gives_the_same_chaos_result() {
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("exp.json");
    convert(&root().join(EXPERIMENT), &exp);
    let original = chaos_json(&root().join(EXPERIMENT), &[]);
    let back = chaos_json(&exp, &[]);
    assert_eq!(back, original);
    assert!(original["run"]["state_digest"].is_string());
    // Its remediation came back through the extension: the loop acted.
    assert!(original["remediation"].is_string());

    // Read natively (no extension: hands off), the same as the original hands off.
    let native = dir.path().join("native.json");
    without_extensions(&exp, &native);
    let original = chaos_json(&root().join(EXPERIMENT), &["--no-remediation"]);
    let back = chaos_json(&native, &["--no-remediation"]);
    assert_eq!(back["run"]["state_digest"], original["run"]["state_digest"]);
    assert_eq!(back, original);

    // Converting the Chaos Toolkit file again gives the same file (a fixed point).
    let again = dir.path().join("again.json");
    convert(&exp, &again);
    assert_eq!(std::fs::read_to_string(&again).unwrap(), std::fs::read_to_string(&exp).unwrap());
}

#[test]
fn journals_have_chaos_toolkit_keys_and_are_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let journal = |name: &str| {
        let path = dir.path().join(name);
        let o = twinbench(&["chaos", SCENARIO, EXPERIMENT, "--journal", path.to_str().unwrap()]);
        assert!(o.status.code().is_some_and(|c| c < 2), "{}", stderr(&o));
        std::fs::read_to_string(path).unwrap()
    };
    let a = journal("a.json");
    assert_eq!(a, journal("b.json"));
    let j: Value = serde_json::from_str(&a).unwrap();
    for key in ["chaoslib-version", "platform", "node", "experiment", "start", "end", "duration", "status", "deviated"]
    {
        assert!(j.get(key).is_some(), "{key}");
    }
    assert_eq!(j["status"], "completed");
    assert_eq!(j["deviated"], false);
    assert_eq!(j["steady_states"]["before"]["steady_state_met"], true);
    assert_eq!(j["steady_states"]["after"]["steady_state_met"], true);
    assert_eq!(j["steady_states"]["before"]["probes"].as_array().unwrap().len(), 3);
    let run = j["run"].as_array().unwrap();
    assert_eq!(run.len(), 1);
    assert_eq!(run[0]["activity"]["name"], "crash db-primary");
    assert_eq!(run[0]["status"], "succeeded");
    let start = run[0]["start"].as_str().unwrap();
    assert!(start.ends_with("15:20:00Z"), "{start}");
    assert_eq!(j["rollbacks"].as_array().unwrap().len(), 1);
    assert_eq!(j["experiment"]["title"], "The orders database primary dies");

    // Hands off, the steady state stays broken: deviated, with the failing series.
    let path = dir.path().join("hands-off.json");
    let o = twinbench(&["chaos", SCENARIO, EXPERIMENT, "--no-remediation", "--journal", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let j: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(j["status"], "completed");
    assert_eq!(j["deviated"], true);
    let after = &j["steady_states"]["after"];
    assert_eq!(after["steady_state_met"], false);
    let failing: Vec<&Value> =
        after["probes"].as_array().unwrap().iter().filter(|p| p["tolerance_met"] == false).collect();
    assert!(!failing.is_empty());
    let series = failing[0]["output"]["data"]["result"].as_array().unwrap();
    assert!(series.iter().all(|s| s["metric"]["twin"].is_string()) && !series.is_empty(), "{series:?}");
}

#[test]
fn malformed_chaos_toolkit_experiments_are_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("exp.json");
    convert(&root().join(EXPERIMENT), &exp);
    let native = dir.path().join("native.json");
    without_extensions(&exp, &native);
    let text = std::fs::read_to_string(&native).unwrap();
    let line_of = |t: &str, needle: &str| t[..t.find(needle).unwrap()].matches('\n').count() + 1;
    let run = |name: &str, t: &str| {
        let p = write(dir.path(), name, t);
        let o = twinbench(&["chaos", SCENARIO, p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(!e.contains("panicked"), "{e}");
        (p, e)
    };
    // Bad JSON.
    let (p, e) = run("bad.json", &text.replacen("\"title\":", "\"title\" ", 1));
    assert!(e.contains(&format!("{}:2:", p.display())), "{e}");
    // A provider outside the table names the activity, at its line.
    let foreign = text.replacen("chaosk8s.pod.actions", "chaosaws.ec2.actions", 1);
    let (p, e) = run("foreign.json", &foreign);
    assert!(e.contains(&format!("{}:{}:", p.display(), line_of(&foreign, "\"crash db-primary\""))), "{e}");
    assert!(e.contains("activity \"crash db-primary\"") && e.contains("chaosaws.ec2.actions.terminate_pods"), "{e}");
    // Missing fields.
    let (_, e) = run("missing.json", &text.replacen("\"title\": \"The orders", "\"titl\": \"The orders", 1));
    assert!(e.contains("missing field `title`"), "{e}");
    let (_, e) = run("no-func.json", &text.replacen("\"func\": \"terminate_pods\",", "", 1));
    assert!(e.contains("activity \"crash db-primary\"") && e.contains("not in twinbench's provider table"), "{e}");
    // An argument of the wrong form.
    let (_, e) = run("selector.json", &text.replacen("twin=db-primary", "app=db", 1));
    assert!(e.contains("label_selector \"app=db\" must be twin=ID"), "{e}");
}

#[test]
fn garbled_chaos_toolkit_experiments_never_panic() {
    use rand::SeedableRng;
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("exp.json");
    convert(&root().join(EXPERIMENT), &exp);
    let native = dir.path().join("native.json");
    without_extensions(&exp, &native);
    let text = std::fs::read_to_string(&native).unwrap();
    let graph = scenario::load_def(&root().join(SCENARIO)).unwrap().scenario.graph;
    let chars: Vec<char> = text.chars().collect();
    let junk: Vec<char> = "{}[]\":,-0.5x=|~é\\ \n".chars().collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
    for _ in 0..1500 {
        let mutant = crate::support::garble(&mut rng, &chars, &junk);
        if let Err(e) = parse_experiment(Path::new("x.json"), &mutant, &graph) {
            let e = e.to_string();
            assert!(e.starts_with("x.json"), "{mutant}\n→ {e}");
        }
    }
}
