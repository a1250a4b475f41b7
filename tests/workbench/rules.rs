//! Policies ⇄ Prometheus alerting rules, proved against the real `promtool`: exported
//! rule files pass `promtool check rules`; on the default scenario's history the
//! backtest and `promtool test rules` agree at every evaluation for every exported
//! rule; the rules imported back give the same spans and the same `check` output; a
//! malformed rule file is an error at its line and column.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::json;
use twinbench::io::policy::{load_policies, parse_policies};
use twinbench::io::prometheus::rules::{ExportedAlert, TwinLabels, export};
use twinbench::io::scenario;
use twinbench::model::{SeriesKey, TwinGraph, TwinId};
use twinbench::policy::Policy;
use twinbench::policy::spans::{ViolationHistory, violation_history};

use crate::prom::tools_available;
use crate::support::{root, stderr, stdout, twinbench, write};

fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("promtool").args(args).current_dir(dir).output().expect("promtool runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn exported_rule_files_pass_promtool_and_round_trip_to_the_same_check() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let webshop = "scenarios/webshop.ron";
    let check = |policy: &str| {
        let o = twinbench(&["check", webshop, "--policy", policy, "--json"]);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        stdout(&o)
    };
    let original = check("scenarios/policies/webshop-remediation.yaml");
    for source in ["yaml", "json", "ron"] {
        let rules = format!("{d}/rules-{source}.yml");
        let input = format!("scenarios/policies/webshop-remediation.{source}");
        let o = twinbench(&["convert", &input, "--to", "prometheus", "--scenario", webshop, "--out", &rules]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("wrote 5 alerting rules of 5 policies"), "{}", stderr(&o));
        let back = format!("{d}/back-{source}.yaml");
        let o = twinbench(&["convert", &rules, "--to", "yaml", "--out", &back]);
        assert!(o.status.success(), "{}", stderr(&o));
        if source == "yaml" {
            assert_eq!(check(&rules), original, "the rule file as a policy file");
            assert_eq!(check(&back), original, "the rule file converted back to YAML");
        }
        if tools_available() {
            let (ok, text) = promtool(&["check", "rules", &rules], dir.path());
            assert!(ok && text.contains("SUCCESS: 5 rules found"), "{text}");
        }
    }
    // The scenario's own policies: those without metric rules travel in policy carriers.
    let own = format!("{d}/own.yml");
    let o = twinbench(&["convert", webshop, "--to", "prometheus", "--out", &own]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("wrote 6 alerting rules and 5 policy carriers (no metric rule to alert on: postgres-baseline,"),
        "{}",
        stderr(&o)
    );
    if tools_available() {
        let (ok, text) = promtool(&["check", "rules", &own], dir.path());
        assert!(ok && text.contains("SUCCESS: 11 rules found"), "{text}");
    }
    // A desired configuration and an anomaly rule, selected by kind: the same check
    // from the policy file and from its rule file.
    let config_only = crate::support::write(
        dir.path(),
        "config-only.yaml",
        "policies:\n  - name: db-settings\n    severity: high\n    selector: {kinds: [database]}\n    config:\n      \
         - {key: max_connections, expected: 400}\n      - {key: ssl, expected: true}\n    rules:\n      \
         - anomaly: {metric: latency_ms, min_score: 0.9, for: 10m}\n    actions:\n      - reconfigure: {}\n",
    );
    let config_only = config_only.to_str().unwrap();
    let carried = format!("{d}/carried.yml");
    let o = twinbench(&["convert", config_only, "--to", "prometheus", "--scenario", webshop, "--out", &carried]);
    assert!(o.status.success() && stderr(&o).contains("1 policy carrier"), "{}", stderr(&o));
    assert_eq!(check(&carried), check(config_only), "the carrier reads back as the same policy");
    if tools_available() {
        let (ok, text) = promtool(&["check", "rules", &carried], dir.path());
        assert!(ok && text.contains("SUCCESS: 1 rules found"), "{text}");
    }
    // Selectors by kind need the scenario's twins.
    let o = twinbench(&[
        "convert",
        "scenarios/policies/webshop-remediation.yaml",
        "--to",
        "prometheus",
        "--out",
        &format!("{d}/x.yml"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("policy \"db-disk-headroom\": selector by kinds [\"database\"] needs --scenario"),
        "{}",
        stderr(&o)
    );
}

/// The twins a policy applies to.
fn selected(policy: &Policy, graph: &TwinGraph) -> Vec<TwinId> {
    graph.twins().filter(|t| policy.selector.matches(t)).map(|t| t.id.clone()).collect()
}

/// Whether the span list of `twin` has a span of (policy, rule) active at `t`.
fn fires(history: &ViolationHistory, twin: &TwinId, policy: usize, rule: usize, t: i64) -> bool {
    history.get(twin).is_some_and(|spans| {
        spans.iter().any(|s| s.policy == policy && s.rule == rule && s.start <= t && (t < s.end || s.ongoing))
    })
}

#[test]
fn backtest_agrees_with_promtool_test_rules_at_every_evaluation() {
    let s = scenario::load(&root().join("scenarios/webshop.ron")).unwrap();
    let mut policies = s.policies.clone();
    policies.extend(load_policies(&root().join("scenarios/policies/webshop-remediation.yaml"), &s.graph).unwrap());
    let res = s.resolution_secs;
    let history = violation_history(&policies, &s.graph, &s.telemetry, res).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rules_path = dir.path().join("rules.yml");
    let (exported, alerts) = export(&rules_path, &policies, Some(&s.graph), &TwinLabels::default(), Some(res)).unwrap();
    std::fs::write(&rules_path, &exported.text).unwrap();
    assert_eq!(alerts.len(), 11, "every metric rule of the scenario and the bundled file");

    // Import direction: the rule file read back as policies (those without metric rules
    // from their carriers) gives the same spans.
    let imported = parse_policies(&rules_path, &exported.text, &s.graph).unwrap();
    assert_eq!(imported.len(), policies.len());
    for (back, original) in imported.iter().zip(&policies) {
        assert_eq!((&back.name, &back.rules, back.severity), (&original.name, &original.rules, original.severity));
        assert_eq!((&back.config_rules, &back.actions), (&original.config_rules, &original.actions));
        assert_eq!(selected(back, &s.graph), selected(original, &s.graph), "{}", back.name);
    }
    let back_history = violation_history(&imported, &s.graph, &s.telemetry, res).unwrap();
    let index_of = |name: &str| policies.iter().position(|p| p.name == name).unwrap();
    let mut native_spans = 0;
    for (twin, spans) in &history {
        for sp in spans {
            native_spans += 1;
            let name = &policies[sp.policy].name;
            let same = |b: &&twinbench::policy::spans::ViolationSpan| {
                imported[b.policy].name == *name
                    && b.rule == sp.rule
                    && (b.start, b.end, b.ongoing) == (sp.start, sp.end, sp.ongoing)
            };
            assert!(back_history.get(twin).is_some_and(|b| b.iter().any(|b| same(&b))), "{twin} {name} {sp:?}");
        }
    }
    assert_eq!(native_spans, back_history.values().map(Vec::len).sum::<usize>());
    assert!(native_spans > 20, "the default scenario's history has violations to compare ({native_spans})");

    // Export direction: promtool evaluates the exported rules on the same series.
    if !tools_available() {
        return;
    }
    let t0 = s.start;
    let last = s
        .telemetry
        .keys()
        .filter_map(|k| s.telemetry.series(k).and_then(|x| x.read_all().ok()).and_then(|d| d.ts.last().copied()))
        .max()
        .unwrap();
    let evaluations = (last - t0) / res + 1;
    let mut failures = Vec::new();
    let mut runs = Vec::new();
    let mut checked = 0usize;
    for (name, group) in group_by_alert(&alerts) {
        let pi = index_of(&name);
        let policy = &policies[pi];
        let twins = selected(policy, &s.graph);
        let metrics: BTreeSet<&str> = policy.rules.iter().map(|r| r.metric.as_str()).collect();
        let mut input_series = Vec::new();
        for twin in &twins {
            for metric in &metrics {
                let Some(series) = s.telemetry.series(&SeriesKey::new(twin.clone(), *metric)) else { continue };
                let data = series.read_all().unwrap();
                let mut values = vec!["_".to_string(); evaluations as usize];
                for (t, v) in data.ts.iter().zip(&data.values) {
                    assert_eq!((t - t0) % res, 0, "samples on the grid");
                    values[((t - t0) / res) as usize] = format!("{v:?}");
                }
                input_series.push(json!({
                    "series": format!("{metric}{{twin={:?}}}", twin.as_str()),
                    "values": values.join(" "),
                }));
            }
        }
        let mut tests = Vec::new();
        for k in 0..evaluations {
            let t = t0 + k * res;
            let mut exp = Vec::new();
            for a in &group {
                for twin in &twins {
                    if fires(&history, twin, pi, a.rule, t) {
                        let mut labels = a.labels.clone();
                        labels.insert("twin".into(), twin.as_str().into());
                        exp.push(json!({"exp_labels": labels, "exp_annotations": a.annotations}));
                        checked += 1;
                    }
                }
            }
            tests.push(json!({"eval_time": format!("{}s", k * res), "alertname": name, "exp_alerts": exp}));
        }
        let file = json!({
            "rule_files": ["rules.yml"],
            "evaluation_interval": format!("{res}s"),
            "tests": [{"interval": format!("{res}s"), "input_series": input_series, "alert_rule_test": tests}],
        });
        let test_path = dir.path().join(format!("test-{pi}.yml"));
        std::fs::write(&test_path, serde_json::to_string(&file).unwrap()).unwrap();
        runs.push((name, test_path));
    }
    // The promtool runs are independent: two at a time.
    for pair in runs.chunks(2) {
        let children: Vec<_> = pair
            .iter()
            .map(|(name, path)| {
                let child = Command::new("promtool")
                    .args(["test", "rules", path.to_str().unwrap()])
                    .current_dir(dir.path())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("promtool runs");
                (name, child)
            })
            .collect();
        for (name, child) in children {
            let out = child.wait_with_output().unwrap();
            if !out.status.success() {
                let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
                failures.push(format!("{name}: {}", text.chars().take(3000).collect::<String>()));
            }
        }
    }
    eprintln!(
        "promtool test rules: {} alerting rules × {evaluations} evaluations, {checked} firing alerts expected",
        alerts.len()
    );
    assert!(failures.is_empty(), "promtool disagrees with the backtest:\n{}", failures.join("\n"));
}

fn group_by_alert(alerts: &[ExportedAlert]) -> BTreeMap<String, Vec<ExportedAlert>> {
    let mut out: BTreeMap<String, Vec<ExportedAlert>> = BTreeMap::new();
    for a in alerts {
        out.entry(a.alert.clone()).or_default().push(a.clone());
    }
    out
}

#[test]
fn backtest_lists_every_span_with_alert_semantics() {
    let o = twinbench(&["backtest", "scenarios/webshop.ron", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["evaluations"], 43_200, "30 days at 60 s: the first sample to the last");
    let spans = doc["spans"].as_array().unwrap();
    assert!(!spans.is_empty());
    for sp in spans {
        for field in ["policy", "rule", "twin", "start"] {
            assert!(sp[field].is_string(), "{sp}");
        }
        assert!(sp["end"].is_string() || sp["end"].is_null(), "{sp}");
    }
    // The bundled policies' disk rule is still firing at the end of history.
    let o = twinbench(&[
        "backtest",
        "scenarios/webshop.ron",
        "--policy",
        "scenarios/policies/webshop-remediation.yaml",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let ongoing = doc["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["policy"] == "db-disk-headroom" && sp["twin"] == "db-primary" && sp["end"].is_null());
    assert!(ongoing.is_some(), "{doc}");
    assert_eq!(ongoing.unwrap()["rule"], "max(disk_usage, 15m) > 85 for 10m");
}

#[test]
fn malformed_rule_files_are_errors_at_their_line_and_column() {
    let s = scenario::load_def(&root().join("scenarios/teaching-minimal.ron")).unwrap().scenario;
    let graph = &s.graph;
    let twin = graph.twins().next().unwrap().id.as_str().to_string();
    let cases: Vec<(String, &str, &str)> = vec![
        ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: rate(cpu_usage[5m]) > 1\n".into(), "r.yml:5:11:", "the function rate(…) is outside the supported PromQL subset"),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: 'cpu_usage{job=\"x\"} > 1'\n".into(), "r.yml:5:22:", "the label matcher job=\"x\""),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: cpu_usage{twin=~\"web.*\"} > 1\n".into(), "r.yml:5:21:", "regular-expression operator"),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: |\n      avg_over_time(cpu_usage[5m])\n        + 1 > 2\n".into(), "r.yml:7:9:", "arithmetic (+)"),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: cpu_usage{twin=\"nope\"} > 1\n".into(), "r.yml:5:21:", "unknown twin \"nope\""),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: quantile_over_time(0.5, cpu_usage[5m]) > 1\n".into(), "r.yml:5:30:", "only the 0.95 quantile"),
        (format!("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: cpu_usage{{twin=\"{twin}\"}} > 1\n    labels:\n      severity: loud\n"), "r.yml:7:17:", "labels.severity \"loud\" is unknown"),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: cpu_usage > 1\n    for: soon\n".into(), "r.yml:6:10:", "for:"),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: cpu_usage > 1\n    keep_firing: 5m\n".into(), "r.yml:6:", "keep_firing"),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n    exp: cpu_usage > 1\n".into(), "r.yml:", "exp"),
        ("groups:\n- name: g\n  rules: []\n- name: g\n  rules: []\n".into(), "r.yml:4:9:", "duplicate group name"),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: cpu_usage > 1\n    annotations:\n      twinbench_policy: '{\"actions\": [\"explode\"]}'\n".into(), "r.yml:7:", "twinbench_policy"),
    ];
    for (text, at, needle) in cases {
        let e = parse_policies(Path::new("r.yml"), &text, graph).unwrap_err().to_string();
        assert!(e.starts_with(at), "{text}\n→ {e}");
        assert!(e.contains(needle), "{text}\n→ {e}");
    }
    // Through the command line, as any policy file.
    let dir = tempfile::tempdir().unwrap();
    let bad =
        write(dir.path(), "bad.yml", "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(cpu_usage) > 1\n");
    let o = twinbench(&["backtest", "scenarios/teaching-minimal.ron", "--policy", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.yml:5:11: alert \"A\": expr: the aggregation sum(…)"), "{}", stderr(&o));
}

#[test]
fn garbled_rule_files_never_panic() {
    use rand::SeedableRng;
    let s = scenario::load_def(&root().join("scenarios/teaching-minimal.ron")).unwrap().scenario;
    let text = "groups:\n- name: g\n  interval: 1m\n  rules:\n  - alert: A\n    expr: max_over_time(cpu_usage{twin=~\"a|b\"}[15m]) >= 85\n    for: 10m\n    labels: {severity: high}\n    annotations: {twinbench_missing: violate}\n";
    let chars: Vec<char> = text.chars().collect();
    let junk: Vec<char> = "{}[]()\"'|~=!<>:,-# \n0.5xé\\".chars().collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    for _ in 0..2000 {
        let mutant = crate::support::garble(&mut rng, &chars, &junk);
        if let Err(e) = parse_policies(Path::new("r.yml"), &mutant, &s.graph) {
            let e = e.to_string();
            assert!(e.starts_with("r.yml"), "{mutant}\n→ {e}");
        }
    }
}
