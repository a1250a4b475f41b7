//! Determinism: the same scenario and seed give byte-identical history.

use std::path::Path;

use twinbench::io::scenario;
use twinbench::scenario::Scenario;

fn digest(s: &Scenario) -> String {
    let mut hasher = blake3::Hasher::new();
    for key in s.telemetry.keys() {
        let data = s.telemetry.series(key).unwrap().read_all().unwrap();
        hasher.update(key.to_string().as_bytes());
        for (t, v) in data.ts.iter().zip(&data.values) {
            hasher.update(&t.to_le_bytes());
            hasher.update(&v.to_bits().to_le_bytes());
        }
    }
    hasher.finalize().to_hex().to_string()
}

#[test]
fn same_scenario_same_history() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/teaching-minimal.ron");
    let a = scenario::load(&path).unwrap();
    let b = scenario::load(&path).unwrap();
    assert_eq!(digest(&a), digest(&b));
    let mut def = scenario::load_def(&path).unwrap();
    def.scenario.seed += 1;
    let c = scenario::fill_history(def, &|_, _| {}, &Default::default()).unwrap();
    assert_ne!(digest(&a), digest(&c));
}

/// Golden digests of the bundled scenarios: their generated history and a six-hour run
/// from it. History and the engine use only portable arithmetic (`libm`, quantile
/// tables), so these are the same bits on every machine; a change of results must be a
/// deliberate, reviewed update of these values.
#[test]
fn golden_digests_of_the_bundled_scenarios() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden = [
        (
            "teaching-minimal",
            None,
            "48ab048b26f44bf40f7073f3c71c97e7e9a182917db4a5c39fc78f753687c24e",
            "148a54f5108e1a18991569665ff214400498f9013a8ae407c01d5a00652b585b",
        ),
        (
            "webshop",
            Some("scenarios/strategies/remediate.ron"),
            "0d64e2b1b479c94679edef0a1568e20d801c9d0c2523b3e84180f1e4eb55c8c3",
            "5e57a09b5de3754c74e0a76da223d94e033302afe63b7565308228e3f316dbc7",
        ),
        (
            "estate-400",
            None,
            "c5ef9c7105b206bd81bccddcc63030e80b3a544a9bb3248688102ffbb65f6018",
            "0bcd4dc5f748b6763c542da7bad1c5d09dc6a2f26a79be235049f715c1d40f4d",
        ),
    ];
    let mut seen = Vec::new();
    for (name, strategy, _, _) in golden {
        let path = root.join(format!("scenarios/{name}.ron"));
        let history = digest(&scenario::load(&path).unwrap());
        let path_arg = path.to_str().unwrap().to_string();
        let mut args = vec!["simulate", &path_arg, "--hours", "6", "--seed", "7", "--json"];
        if let Some(strategy) = strategy {
            args.extend(["--strategy", strategy]);
        }
        let out = crate::support::twinbench(&args);
        assert!(out.status.success(), "{name}: {}", crate::support::stderr(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        seen.push((name, history, doc["state_digest"].as_str().unwrap().to_string()));
    }
    let expected: Vec<(&str, String, String)> =
        golden.iter().map(|(n, _, h, r)| (*n, (*h).to_string(), (*r).to_string())).collect();
    assert_eq!(seen, expected);
}
