//! The fingerprint of what a plan depends on, so a stale plan can be refused.
//!
//! It is the BLAKE3 hash of a documented canonical serialisation, not of Rust's
//! `Debug` text, so it is the same in every process and every build, and a harmless
//! refactor of a type does not make saved plans stale:
//!
//! - The document is JSON with **sorted keys** and no whitespace; a version string
//!   (`twinbench.fingerprint/2`) comes first in it (the key `format`).
//! - **Typed values:** configuration values are `{"int": 5}`, `{"float": 5.0}`,
//!   `{"str": "5"}`, `{"bool": true}` or `{"list": [...]}`, so `5`, `5.0` and `"5"`
//!   differ; numbers are printed by `serde_json` (shortest round-trip form); a
//!   non-finite float is the string `"NaN"`, `"inf"` or `"-inf"`.
//! - **Sets are sorted**, lists whose order means something are kept: tags, selector
//!   kinds, tags and ids, and a policy's configuration rules are sorted; its metric and
//!   anomaly rules and its actions (in order of preference) keep their order. Twins
//!   come in id order, edges in (from, to) order, policies in name order — so
//!   reordering the keys of a policy file, or the policies in it, changes nothing.
//! - **What counts:** per twin its kind, tags, configuration, capacity and status
//!   (each twin also gets its own hash, to name the twins that changed); the edges with
//!   kind, traffic share and latency; every policy field. Telemetry does not count: new
//!   samples do not make a plan stale, changed twins or policies do.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::model::{ActionKind, ConfigValue, Twin, TwinGraph, TwinId};
use crate::policy::{AnomalyRule, ConfigRule, MetricRule, Policy, Selector};

/// The version of the canonical form; part of every fingerprint.
pub const FORMAT: &str = "twinbench.fingerprint/2";

/// The fingerprint of the twins and policies (hex BLAKE3 of [`canonical`]), and one
/// per twin (16 hex digits of the hash of the twin's canonical form).
pub fn fingerprint(graph: &TwinGraph, policies: &[Policy]) -> (String, BTreeMap<TwinId, String>) {
    let doc = document(graph, policies);
    let per_twin = doc["twins"]
        .as_object()
        .map(|twins| {
            twins
                .iter()
                .map(|(id, twin)| {
                    (TwinId::new(id), blake3::hash(canonical(twin).as_bytes()).to_hex()[..16].to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    (blake3::hash(canonical(&doc).as_bytes()).to_hex().to_string(), per_twin)
}

/// The canonical document of the twins and policies (see the module docs).
pub fn document(graph: &TwinGraph, policies: &[Policy]) -> Value {
    let twins: Map<String, Value> = graph.twins().map(|t| (t.id.to_string(), twin(t))).collect();
    let mut edges: Vec<Value> = graph
        .edges()
        .into_iter()
        .map(|(from, to, d)| {
            json!({
                "from": from.as_str(),
                "to": to.as_str(),
                "kind": d.kind.as_str(),
                "traffic_share": float(d.traffic_share),
                "latency_ms": float(d.latency_ms),
            })
        })
        .collect();
    edges.sort_by_key(canonical);
    let mut policies: Vec<&Policy> = policies.iter().collect();
    policies.sort_by(|a, b| a.name.cmp(&b.name));
    json!({
        "format": FORMAT,
        "twins": twins,
        "edges": edges,
        "policies": policies.into_iter().map(policy).collect::<Vec<_>>(),
    })
}

/// JSON text with sorted keys and no whitespace.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A float as a JSON number, or a string for values JSON has no number for.
fn float(x: f64) -> Value {
    match serde_json::Number::from_f64(x) {
        Some(n) => Value::Number(n),
        None if x.is_nan() => Value::from("NaN"),
        None if x > 0.0 => Value::from("inf"),
        None => Value::from("-inf"),
    }
}

fn typed(v: &ConfigValue) -> Value {
    match v {
        ConfigValue::Str(s) => json!({ "str": s }),
        ConfigValue::Int(i) => json!({ "int": i }),
        ConfigValue::Float(x) => json!({ "float": float(*x) }),
        ConfigValue::Bool(b) => json!({ "bool": b }),
        ConfigValue::List(items) => json!({ "list": items.iter().map(typed).collect::<Vec<_>>() }),
    }
}

fn sorted<T: ToString>(items: impl IntoIterator<Item = T>) -> Vec<String> {
    let mut v: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    v.sort();
    v
}

fn twin(t: &Twin) -> Value {
    let c = &t.capacity;
    let opt = |x: Option<f64>| x.map_or(Value::Null, float);
    json!({
        "kind": t.kind.as_str(),
        "tags": sorted(&t.tags),
        "config": t.config.iter().map(|(k, v)| (k.clone(), typed(v))).collect::<Map<_, _>>(),
        "capacity": {
            "cpu_cores": opt(c.cpu_cores),
            "memory_gib": opt(c.memory_gib),
            "disk_gib": opt(c.disk_gib),
            "replicas": c.replicas,
            "network_mbps": opt(c.network_mbps),
        },
        "status": t.status.as_str(),
    })
}

fn selector(s: &Selector) -> Value {
    json!({
        "kinds": sorted(s.kinds.iter().map(|k| k.as_str())),
        "tags": sorted(&s.tags),
        "ids": sorted(&s.ids),
    })
}

fn metric_rule(r: &MetricRule) -> Value {
    json!({
        "metric": r.metric.as_str(),
        "aggregation": r.aggregation.as_str(),
        "window_secs": r.window_secs,
        "operator": r.operator.symbol(),
        "threshold": float(r.threshold),
        "for_secs": r.for_secs,
        "missing": r.missing.as_str(),
    })
}

fn anomaly_rule(r: &AnomalyRule) -> Value {
    json!({ "metric": r.metric.as_str(), "min_score": float(r.min_score), "for_secs": r.for_secs })
}

fn config_rule(r: &ConfigRule) -> Value {
    json!({ "key": r.key, "operator": r.operator.symbol(), "expected": typed(&r.expected) })
}

fn action(a: &ActionKind) -> Value {
    let params = match a {
        ActionKind::Reconfigure { set } => {
            json!({ "set": set.iter().map(|(k, v)| (k.clone(), typed(v))).collect::<Map<_, _>>() })
        }
        ActionKind::ScaleUp { resource, factor } | ActionKind::ScaleDown { resource, factor } => {
            json!({ "resource": resource.as_str(), "factor": float(*factor) })
        }
        ActionKind::ScaleOut { replicas } | ActionKind::ScaleIn { replicas } => json!({ "replicas": replicas }),
        ActionKind::Migrate { to } => json!({ "to": to.as_ref().map(TwinId::as_str) }),
        ActionKind::Restart => json!({}),
        ActionKind::Notify { to } => json!({ "to": to }),
    };
    json!({ "action": a.name(), "params": params })
}

fn policy(p: &Policy) -> Value {
    let mut config_rules: Vec<Value> = p.config_rules.iter().map(config_rule).collect();
    config_rules.sort_by_key(canonical);
    json!({
        "name": p.name,
        "description": p.description,
        "severity": p.severity.as_str(),
        "selector": selector(&p.selector),
        "rules": p.rules.iter().map(metric_rule).collect::<Vec<_>>(),
        "anomaly_rules": p.anomaly_rules.iter().map(anomaly_rule).collect::<Vec<_>>(),
        "config_rules": config_rules,
        "actions": p.actions.iter().map(action).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TwinGraph, TwinKind};
    use crate::policy::{ConfigOperator, Operator};

    fn graph() -> TwinGraph {
        let mut g = TwinGraph::new();
        let mut db = Twin::new("db", TwinKind::Database);
        db.config.insert("max_connections".into(), ConfigValue::Int(5));
        db.tags.insert("prod".into());
        db.tags.insert("eu".into());
        g.add_twin(db).unwrap();
        g.add_twin(Twin::new("web", TwinKind::Service)).unwrap();
        g.add_dependency(&"web".into(), &"db".into(), crate::model::Dependency::new(crate::model::EdgeKind::DependsOn))
            .unwrap();
        g
    }

    fn policy_with(config_rules: Vec<ConfigRule>) -> Policy {
        let mut p = Policy::named("db");
        p.rules = vec![MetricRule::threshold("cpu_usage", Operator::Gt, 80.0)];
        p.config_rules = config_rules;
        p
    }

    #[test]
    fn the_canonical_form_is_sorted_typed_and_versioned() {
        let doc = canonical(&document(&graph(), &[]));
        assert!(doc.starts_with(r#"{"edges":[{"from":"web","kind":"depends_on","latency_ms":0.0"#), "{doc}");
        assert!(doc.contains(r#""format":"twinbench.fingerprint/2""#), "{doc}");
        assert!(doc.contains(r#""config":{"max_connections":{"int":5}}"#), "{doc}");
        assert!(doc.contains(r#""tags":["eu","prod"]"#), "{doc}");
        // Typed: an integer 5, a float 5.0 and a string "5" are three different states.
        let mut prints = Vec::new();
        for v in [ConfigValue::Int(5), ConfigValue::Float(5.0), ConfigValue::Str("5".into())] {
            let mut g = graph();
            g.twin_mut(&"db".into()).unwrap().config.insert("max_connections".into(), v);
            prints.push(fingerprint(&g, &[]).0);
        }
        prints.dedup();
        assert_eq!(prints.len(), 3);
    }

    #[test]
    fn order_of_sets_and_policies_does_not_matter_order_of_preferences_does() {
        let a = ConfigRule { key: "a".into(), operator: ConfigOperator::Eq, expected: ConfigValue::Int(1) };
        let b = ConfigRule { key: "b".into(), operator: ConfigOperator::Eq, expected: ConfigValue::Bool(true) };
        let one = policy_with(vec![a.clone(), b.clone()]);
        let two = policy_with(vec![b, a]);
        let other = Policy::named("another");
        let g = graph();
        assert_eq!(fingerprint(&g, &[one.clone(), other.clone()]), fingerprint(&g, &[other.clone(), two]));
        let mut preferring = one.clone();
        preferring.actions = vec![ActionKind::Restart, ActionKind::Notify { to: "x".into() }];
        let mut reversed = one;
        reversed.actions = vec![ActionKind::Notify { to: "x".into() }, ActionKind::Restart];
        assert_ne!(fingerprint(&g, &[preferring]).0, fingerprint(&g, &[reversed]).0);
    }

    #[test]
    fn a_pinned_fingerprint_guards_the_format() {
        // Changing the canonical form changes every saved plan's fingerprint: such a
        // change must bump FORMAT and this value, deliberately.
        let (all, per_twin) = fingerprint(&graph(), &[policy_with(Vec::new())]);
        assert_eq!(all, "862b003cb5c268437382128d2cdf563e4872b664cd6fd9d8e38614cfacaaac0a");
        assert_eq!(per_twin.len(), 2);
    }
}
