//! Determinism: the same scenario and seed give byte-identical history.

use std::path::Path;

use twinbench::io::scenario;
use twinbench::model::Scenario;

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
