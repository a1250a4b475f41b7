//! Malformed input never panics: hundreds of broken scenario and telemetry files give a
//! clear error naming the file (with line and column where the format has them).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use twinbench::io::{scenario, telemetry};

use crate::support::{garble, nab_dir, root, write};

fn base_scenarios() -> Vec<String> {
    ["scenarios/teaching-minimal.ron", "scenarios/webshop.ron"]
        .iter()
        .map(|p| std::fs::read_to_string(root().join(p)).unwrap())
        .collect()
}

/// Every mutant either parses or fails with `path:line:col: message`; none panics.
fn check_scenario(text: &str, what: &str) -> Option<String> {
    let path = Path::new("mutant.ron");
    let result = catch_unwind(AssertUnwindSafe(|| scenario::parse_def(path, text)));
    let result = result.unwrap_or_else(|_| panic!("parse_def panicked on {what}"));
    match result {
        Ok(_) => None,
        Err(e) => {
            let msg = e.to_string();
            let rest = msg.strip_prefix("mutant.ron:").unwrap_or_else(|| panic!("{what}: no file in {msg:?}"));
            let mut parts = rest.splitn(3, ':');
            let line: usize =
                parts.next().and_then(|l| l.parse().ok()).unwrap_or_else(|| panic!("{what}: no line in {msg:?}"));
            let col: usize =
                parts.next().and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("{what}: no column in {msg:?}"));
            assert!(line >= 1 && col >= 1, "{what}: {msg}");
            assert!(line <= text.lines().count().max(1) + 1, "{what}: line {line} beyond the file: {msg}");
            assert!(parts.next().is_some_and(|m| m.trim().len() > 3), "{what}: no message: {msg}");
            Some(msg)
        }
    }
}

#[test]
fn truncated_scenarios_give_located_errors() {
    let mut errors = 0;
    for base in base_scenarios() {
        let n = base.len();
        for i in 0..150 {
            let cut = n * i / 150;
            let cut = (0..=cut).rev().find(|c| base.is_char_boundary(*c)).unwrap_or(0);
            if check_scenario(&base[..cut], &format!("truncation at {cut}")).is_some() {
                errors += 1;
            }
        }
    }
    assert!(errors >= 290, "only {errors} truncations were rejected");
}

#[test]
fn garbled_scenarios_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let junk = ['"', '(', ')', ',', ':', '[', ']', '{', '}', 'x', '9', '-', '.', '\n', 'é', '\u{0}', ' ', '/', 'e'];
    let mut rejected = 0;
    for base in base_scenarios() {
        let chars: Vec<char> = base.chars().collect();
        for round in 0..200 {
            let text = garble(&mut rng, &chars, &junk);
            if check_scenario(&text, &format!("garble round {round}")).is_some() {
                rejected += 1;
            }
        }
    }
    assert!(rejected > 200, "only {rejected} garbled files were rejected");
}

#[test]
fn semantic_errors_point_at_the_offending_place() {
    let base = std::fs::read_to_string(root().join("scenarios/teaching-minimal.ron")).unwrap();
    let cases = [
        ("id: \"host\"", "id: \"web\"", "duplicate twin id \"web\""),
        ("to: \"db\", kind: \"depends_on\"", "to: \"dbx\", kind: \"depends_on\"", "unknown twin \"dbx\""),
        ("kind: \"database\"", "kind: \"databse\"", "unknown twin kind \"databse\""),
        ("kind: \"runs_on\")", "kind: \"runs_onto\")", "unknown dependency kind"),
        ("version: 1", "version: 7", "unsupported scenario version 7"),
        ("days: 7", "days: 0", "days must be"),
        ("days: 7", "days: 1e9", "days must be"),
        ("resolution_secs: 60", "resolution_secs: 0", "resolution_secs must be"),
        ("(base: 35, daily: 20, noise: 2,", "(base: 35, daily: 20, noise: -2,", "noise must not be negative"),
        ("noise_memory: 0.9", "noise_memory: 1.5", "noise_memory must be"),
        ("operator: \">\", threshold: 85", "operator: \"=>\", threshold: 85", "unknown operator \"=>\""),
        ("start: \"2026-11-01T00:00:00Z\"", "start: \"yesterday\"", "as a timestamp"),
        ("hours: 1, effect", "hours: -1, effect", "incident hours must be positive"),
        (
            "(cpu_cores: 2, memory_gib: 4, replicas: 2)",
            "(cpu_cores: -2, memory_gib: 4, replicas: 2)",
            "cpu_cores must be a positive",
        ),
        (
            "(from: \"web\", to: \"host\", kind: \"runs_on\")",
            "(from: \"web\", to: \"web\", kind: \"runs_on\")",
            "cannot depend on itself",
        ),
        ("days: 7", "days: \"seven\"", "Expected float"),
        ("base: 120", "base: true", "Expected float"),
        ("id: \"lb\"", "id: \"l b\"", "must be 1–128"),
        ("latency_ms: 3.0", "latency_ms: -3.0", "latency_ms must not be negative"),
        ("name: \"cpu-headroom\"", "name: \"cpu-headroom\", colour: 1", "colour"),
    ];
    for (from, to, needle) in cases {
        assert!(base.contains(from), "fixture lacks {from:?}");
        let text = base.replacen(from, to, 1);
        let msg = check_scenario(&text, to).unwrap_or_else(|| panic!("{to:?} was accepted"));
        assert!(msg.contains(needle), "{to:?}: {msg}");
        // The reported line holds the offending text (or the field it belongs to).
        let line: usize = msg.split(':').nth(1).unwrap().parse().unwrap();
        let reported = text.lines().nth(line - 1).unwrap_or("");
        let key = to.split([':', '(', ',']).map(str::trim).find(|s| !s.is_empty()).unwrap_or(to);
        assert!(
            reported.contains(key) || reported.contains(to.trim_start_matches('(')),
            "{to:?}: line {line} is {reported:?} ({msg})"
        );
    }
}

#[test]
fn broken_telemetry_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(nab_dir().join("realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv")).unwrap();
    let head: String = good.lines().take(60).collect::<Vec<_>>().join("\n");
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut variants: Vec<String> = vec![
        String::new(),
        "timestamp,value\n".into(),
        "timestamp,value\n2014-02-14 14:30:00\n".into(),
        "timestamp,value\n2014-02-14 14:30:00,1,2\n".into(),
        "timestamp;value\n2014-02-14 14:30:00;1\n".into(),
        "timestamp,value\n2014-02-14 14:30:00,NaN\n".into(),
        "timestamp,value\n2014-02-14 14:30:00,inf\n".into(),
        "timestamp,value\n2014-02-30 14:30:00,1\n".into(),
        "timestamp,value\n,1\n".into(),
        "timestamp,value\n2014-02-14 14:30:00,\n".into(),
        "timestamp,value\n\"2014-02-14 14:30:00,1\n".into(),
        "\u{feff}timestamp,value\n2014-02-14 14:30:00,1\n".into(),
        "timestamp,twin,metric,value\n2014-02-14 14:30:00,web server,cpu,1\n".into(),
        "timestamp,twin,metric,value\n2014-02-14 14:30:00,web,,1\n".into(),
        "\u{0}\u{1}\u{2}binary".into(),
    ];
    for i in 0..120 {
        let cut = (head.len() * i / 120).min(head.len());
        variants.push(head[..cut].to_string());
    }
    let bytes: Vec<char> = head.chars().collect();
    for _ in 0..120 {
        let mut m = bytes.clone();
        let at = rng.random_range(0..m.len());
        m[at] = [',', '"', 'x', '\n', ':', '-', ' '][rng.random_range(0..7)];
        variants.push(m.into_iter().collect());
    }
    let mut rejected = 0;
    for (i, text) in variants.iter().enumerate() {
        let path = write(dir.path(), &format!("v{i}.csv"), text);
        let result = catch_unwind(AssertUnwindSafe(|| telemetry::read_table(&path)));
        let result = result.unwrap_or_else(|_| panic!("read_table panicked on variant {i}: {text:?}"));
        if let Err(e) = result {
            rejected += 1;
            let msg = e.to_string();
            assert!(msg.contains(&format!("v{i}.csv")), "variant {i}: {msg}");
        }
    }
    assert!(rejected >= 100, "only {rejected} variants were rejected");
}

#[test]
fn broken_policy_files_give_located_errors() {
    let def = scenario::load_def(&root().join("scenarios/webshop.ron")).unwrap();
    let graph = &def.scenario.graph;
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let junk = ['"', '{', '}', '[', ']', ':', ',', '-', ' ', '\n', 'x', '9', '(', ')', '\t', '#', '&', '*'];
    let mut rejected = 0;
    let mut total = 0;
    for ext in ["yaml", "json", "ron"] {
        let text =
            std::fs::read_to_string(root().join(format!("scenarios/policies/webshop-remediation.{ext}"))).unwrap();
        let path = std::path::PathBuf::from(format!("mutant.{ext}"));
        let chars: Vec<char> = text.chars().collect();
        let mut variants: Vec<String> = (0..60).map(|i| chars[..chars.len() * i / 60].iter().collect()).collect();
        for _ in 0..60 {
            let mut m = chars.clone();
            for _ in 0..rng.random_range(1..3) {
                let at = rng.random_range(0..m.len());
                if rng.random_bool(0.5) {
                    m[at] = junk[rng.random_range(0..junk.len())];
                } else {
                    m.insert(at, junk[rng.random_range(0..junk.len())]);
                }
            }
            variants.push(m.into_iter().collect());
        }
        for (i, variant) in variants.iter().enumerate() {
            total += 1;
            let result =
                catch_unwind(AssertUnwindSafe(|| twinbench::io::policy::parse_policies(&path, variant, graph)));
            let result = result.unwrap_or_else(|_| panic!("{ext} variant {i} panicked: {variant:?}"));
            if let Err(e) = result {
                rejected += 1;
                let msg = e.to_string();
                let rest = msg.strip_prefix(&format!("mutant.{ext}:")).unwrap_or_else(|| panic!("{ext} {i}: {msg}"));
                let line: usize = rest
                    .split(':')
                    .next()
                    .and_then(|l| l.parse().ok())
                    .unwrap_or_else(|| panic!("{ext} {i}: no line: {msg}"));
                assert!(line >= 1 && line <= variant.lines().count().max(1) + 1, "{ext} {i}: {msg}");
            }
        }
    }
    assert_eq!(total, 360);
    assert!(rejected >= 200, "only {rejected} of {total} broken policy files were rejected");
}

/// Every mapping mutant either loads or fails with `mutant.yaml:line:col: message` on
/// one line, the line within the file; none panics.
fn check_mapping(text: &str, what: &str) -> Option<String> {
    let path = Path::new("mutant.yaml");
    let result = catch_unwind(AssertUnwindSafe(|| twinbench::io::prometheus::mapping::parse(path, text)));
    let result = result.unwrap_or_else(|_| panic!("the mapping parser panicked on {what}: {text:?}"));
    let msg = result.err()?.to_string();
    let rest = msg.strip_prefix("mutant.yaml:").unwrap_or_else(|| panic!("{what}: no file in {msg:?}"));
    let mut parts = rest.splitn(3, ':');
    let line: usize = parts.next().and_then(|l| l.parse().ok()).unwrap_or_else(|| panic!("{what}: no line: {msg}"));
    let col: usize = parts.next().and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("{what}: no column: {msg}"));
    assert!(line >= 1 && col >= 1 && line <= text.lines().count().max(1) + 1, "{what}: {msg}");
    assert!(parts.next().is_some_and(|m| m.trim().len() > 3), "{what}: no message: {msg}");
    assert_eq!(msg.lines().count(), 1, "{what}: {msg}");
    Some(msg)
}

#[test]
fn broken_mapping_files_give_located_errors() {
    let base = std::fs::read_to_string(root().join("scenarios/mappings/node_exporter.yaml")).unwrap();
    assert!(check_mapping(&base, "the shipped mapping").is_none());
    let chars: Vec<char> = base.chars().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let junk = ['"', '\'', '{', '}', '[', ']', ':', ',', '-', ' ', '\n', 'x', '9', '#', '&', '*', '|', '>', '\t'];
    let mut rejected = 0;
    let mut total = 0;
    for i in 0..120 {
        total += 1;
        let cut: String = chars[..chars.len() * i / 120].iter().collect();
        rejected += usize::from(check_mapping(&cut, &format!("truncation {i}")).is_some());
    }
    for round in 0..300 {
        total += 1;
        let text = garble(&mut rng, &chars, &junk);
        rejected += usize::from(check_mapping(&text, &format!("garble round {round}")).is_some());
    }
    assert_eq!(total, 420);
    assert!(rejected >= 150, "only {rejected} of {total} broken mappings were rejected");
}

#[test]
fn malformed_config_entries_point_at_the_offending_field() {
    let base = std::fs::read_to_string(root().join("scenarios/mappings/node_exporter.yaml")).unwrap();
    // (text in the shipped mapping, its replacement, what the message says). The
    // replacement is on the line the error must point at.
    let cases = [
        ("    key: kernel\n", "    key: ''\n", "config[0].key: the configuration key is empty"),
        ("    key: arch\n", "    key: 'arch..x'\n", "config[1].key: \"arch..x\" is not a key path"),
        ("    key: arch\n", "    key: arch\n    colour: red\n", "unknown field `colour`"),
        ("    from_label: release\n", "    from_label: 're-lease'\n", "config[0].from_label"),
        ("    from_label: release\n", "    from_label: release\n    twin: web-1\n", "config[0].twin: give either"),
        (
            "    key: cpu_count\n    twin_label: instance\n",
            "    key: cpu_count\n",
            "config[3].twin_label: this entry needs",
        ),
        (
            "    key: memory_gib\n    twin_label: instance\n    kind: host\n",
            "    key: memory_gib\n    twin_label: instance\n    kind: hots\n",
            "config[4].kind: unknown twin kind \"hots\"",
        ),
        (
            "  - query: node_uname_info\n    key: kernel\n",
            "  - query: ''\n    key: kernel\n",
            "config[0].query: the query is empty",
        ),
        ("    key: arch\n", "    key: [arch]\n", "expected string"),
    ];
    for (from, to, needle) in cases {
        assert!(base.contains(from), "the shipped mapping lacks {from:?}");
        let text = base.replacen(from, to, 1);
        let msg = check_mapping(&text, to).unwrap_or_else(|| panic!("{to:?} was accepted"));
        assert!(msg.contains(needle), "{to:?}: {msg}");
        let line: usize = msg.split(':').nth(1).unwrap().parse().unwrap();
        let first_changed = base.find(from).map(|at| base[..at].lines().count() + 1).unwrap();
        let changed = first_changed..first_changed + to.lines().count();
        assert!(changed.contains(&line), "{to:?}: line {line} is not in {changed:?} ({msg})");
    }
}
