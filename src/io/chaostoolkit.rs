//! Chaos Toolkit experiments in and out (SPEC M15 stretch), and runs written as Chaos
//! Toolkit journals.
//!
//! **Out** (`twinbench convert EXPERIMENT --to chaostoolkit`). The steady-state
//! hypothesis becomes one probe per metric rule, named after its policy: an instant
//! query of chaostoolkit-prometheus (`chaosprometheus.probes.query`) whose PromQL is the
//! rule as a Prometheus alert expression (the same as `convert --to prometheus` writes:
//! selectors become `twin` label matchers) with the tolerance "no series" —
//! `{"type": "jsonpath", "path": "$.data.result[*]", "count": 0}` — so the probe holds
//! while the rule fires on no twin. Each fault on each target becomes one action of the
//! [`PROVIDERS`] table; its offset becomes `pauses.before` (seconds since the previous
//! activity: Chaos Toolkit runs the method in order), and the last activity's
//! `pauses.after` runs to the end of the experiment, so the hypothesis is checked again
//! at the end as twinbench checks it. A rollback before the end becomes the table's undo
//! actions in the method at its time; a rollback at the end becomes Chaos Toolkit
//! `rollbacks`.
//!
//! What Chaos Toolkit cannot say travels in an `extensions` entry named `twinbench`:
//! `experiment`, the experiment exactly as written (policy files inlined, the
//! remediation strategy's path made relative to the written file), and `native`, a
//! BLAKE3 digest of the native part (title, description, hypothesis, method,
//! rollbacks) as written. Random fault injection has no Chaos Toolkit form: it lives in
//! the extension only, and `convert` says so.
//!
//! **In** (a `.json` experiment whose top-level object has a `steady-state-hypothesis`,
//! or whose `method` entries have a `type`: [`is_chaostoolkit`]). When the extension is
//! present and its `native` digest matches the native part, the extension's experiment
//! is used as written — so twinbench → Chaos Toolkit → twinbench is lossless (and it is
//! validated against the twins like any experiment). Otherwise the native part is read
//! through the same table backwards: probes must be
//! `chaosprometheus.probes.query` with the "no series" tolerance and a query in the
//! PromQL subset of [`super::prometheus::promql`] (probes of one name make one policy);
//! actions must be the table's faults or undos, on `twin=ID` selectors (or the table's
//! resource names); anything else is an error at the activity's line and column naming
//! it. Times are the running sum of pauses; the experiment lasts until the end of the
//! method's pauses; undo actions at one time make one rollback (of every fault when they
//! cover every faulted twin). So a native part edited in Chaos Toolkit (or written
//! without the extension) is the experiment it says, with these defaults: a 15-minute
//! final window, no remediation, faults lasting until a rollback, and magnitudes as the
//! provider arguments give them (the disk-fill rate, which no argument carries, is the
//! catalogue's default 20 %/h).
//!
//! **Journals** (`twinbench chaos … --journal FILE`): [`journal`] writes a run in the
//! shape of a Chaos Toolkit journal (chaoslib's keys), with simulated times, so a
//! journal is deterministic for a seed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::IoError;
use super::experiment::{ExperimentFile, FaultFile, MethodFile, RollbackFile, SteadyStateFile};
use super::format::{DurationFile, Format, parse_doc};
use super::located::Locator;
use super::policy::{PolicyFile, RuleFile, SelectorFile};
use super::prometheus::promql::{self, MatchOp};
use super::prometheus::rules::{self, TwinLabels};
use super::strategy::relative_to;
use super::time::format_rfc3339;
use crate::model::{TwinGraph, TwinId};
use crate::policy::{Aggregation, Policy};
use crate::sim::chaos::{ChaosReport, Experiment, MethodStep};
use crate::sim::fault::{FaultKind, FaultType};

/// The name of the extension entry carrying what Chaos Toolkit cannot say.
pub const EXTENSION_NAME: &str = "twinbench";
/// The label naming the twin in Prometheus series and Kubernetes selectors.
pub const TWIN_LABEL: &str = TwinLabels::DEFAULT;
/// The probe tolerance twinbench writes and reads: the query returns no series.
pub const NO_SERIES_PATH: &str = "$.data.result[*]";
/// The Python module of the steady-state probes.
pub const PROBE_MODULE: &str = "chaosprometheus.probes";
/// The probe function.
pub const PROBE_FUNC: &str = "query";
/// The file the disk-fill action writes (and its undo removes) in the twin's pods.
pub const DISK_FILL_FILE: &str = "/tmp/twinbench-disk-fill";

/// One row of the provider table: the Chaos Toolkit action a fault type becomes, the
/// action that undoes it (a rollback), and the PyPI package that provides both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProviderRow {
    /// The fault type.
    pub fault: FaultType,
    /// PyPI package of the extension.
    pub package: &'static str,
    /// Python module of the fault action.
    pub module: &'static str,
    /// Its function.
    pub func: &'static str,
    /// Python module of the undo action.
    pub undo_module: &'static str,
    /// Its function.
    pub undo_func: &'static str,
}

const K8S: &str = "chaostoolkit-kubernetes";
const TOXI: &str = "chaostoolkit-toxiproxy";

/// The provider table, one row per fault type. Arguments (`ID` the twin, `R` the
/// resource name `twinbench-KIND-ID`, KIND with dashes):
/// - crash: `terminate_pods(label_selector: "twin=ID", all: true)`; undo
///   `rollout_deployment(name: ID)`.
/// - CPU hog P %: `stress_cpu(name: R, workers: ⌈P/100⌉, load: P/workers,
///   label_selectors: "twin=ID")`; undo `delete_stressor(name: R)`.
/// - memory leak P %/h: `stress_memory(name: R, size: "100%", time_to_get_to_size:
///   "{360000/P}s", label_selectors: "twin=ID")`; undo `delete_stressor(name: R)`.
/// - latency M ms: toxiproxy `create_latency_toxic(for_proxy: ID, toxic_name: R,
///   latency: M)`; undo `delete_toxic(for_proxy: ID, toxic_name: R)`.
/// - partition: toxiproxy `disable_proxy(proxy_name: ID)`; undo `enable_proxy`.
/// - disk fill: `exec_in_pods(cmd: "dd if=/dev/zero of=/tmp/twinbench-disk-fill bs=1M",
///   label_selector: "twin=ID", all: true)`; undo the same with `rm -f` of the file.
/// - dependency outage of D: Chaos Mesh `set_loss(name: R, label_selectors: "twin=ID",
///   loss: "100", direction: "to", target_label_selectors: "twin=D")`; undo
///   `delete_network_fault(name: R)`.
/// - traffic spike ×F: `scale_deployment(name: "twinbench-load-ID", replicas: ⌈F⌉)`, a
///   load generator whose replica count is the traffic multiple; undo the same with
///   `replicas: 1`.
pub const PROVIDERS: [ProviderRow; 8] = [
    ProviderRow {
        fault: FaultType::Crash,
        package: K8S,
        module: "chaosk8s.pod.actions",
        func: "terminate_pods",
        undo_module: "chaosk8s.deployment.actions",
        undo_func: "rollout_deployment",
    },
    ProviderRow {
        fault: FaultType::CpuHog,
        package: K8S,
        module: "chaosk8s.chaosmesh.stress.actions",
        func: "stress_cpu",
        undo_module: "chaosk8s.chaosmesh.stress.actions",
        undo_func: "delete_stressor",
    },
    ProviderRow {
        fault: FaultType::MemoryLeak,
        package: K8S,
        module: "chaosk8s.chaosmesh.stress.actions",
        func: "stress_memory",
        undo_module: "chaosk8s.chaosmesh.stress.actions",
        undo_func: "delete_stressor",
    },
    ProviderRow {
        fault: FaultType::Latency,
        package: TOXI,
        module: "chaostoxi.toxic.actions",
        func: "create_latency_toxic",
        undo_module: "chaostoxi.toxic.actions",
        undo_func: "delete_toxic",
    },
    ProviderRow {
        fault: FaultType::Partition,
        package: TOXI,
        module: "chaostoxi.proxy.actions",
        func: "disable_proxy",
        undo_module: "chaostoxi.proxy.actions",
        undo_func: "enable_proxy",
    },
    ProviderRow {
        fault: FaultType::DiskFill,
        package: K8S,
        module: "chaosk8s.pod.actions",
        func: "exec_in_pods",
        undo_module: "chaosk8s.pod.actions",
        undo_func: "exec_in_pods",
    },
    ProviderRow {
        fault: FaultType::DependencyOutage,
        package: K8S,
        module: "chaosk8s.chaosmesh.network.actions",
        func: "set_loss",
        undo_module: "chaosk8s.chaosmesh.network.actions",
        undo_func: "delete_network_fault",
    },
    ProviderRow {
        fault: FaultType::TrafficSpike,
        package: K8S,
        module: "chaosk8s.deployment.actions",
        func: "scale_deployment",
        undo_module: "chaosk8s.deployment.actions",
        undo_func: "scale_deployment",
    },
];

/// The PyPI packages an exported experiment needs for `chaos validate`, sorted.
pub fn packages() -> Vec<&'static str> {
    let mut p: Vec<&str> = PROVIDERS.iter().map(|r| r.package).collect();
    p.push("chaostoolkit-prometheus");
    p.sort_unstable();
    p.dedup();
    p
}

/// A fault type's name in resource names: `cpu-hog`, `dependency-outage`, …
fn dashed(ty: FaultType) -> &'static str {
    match ty {
        FaultType::Crash => "crash",
        FaultType::CpuHog => "cpu-hog",
        FaultType::MemoryLeak => "memory-leak",
        FaultType::Latency => "latency",
        FaultType::Partition => "partition",
        FaultType::DiskFill => "disk-fill",
        FaultType::DependencyOutage => "dependency-outage",
        FaultType::TrafficSpike => "traffic-spike",
    }
}

fn row(ty: FaultType) -> &'static ProviderRow {
    // Every fault type has its row (a test checks it).
    PROVIDERS.iter().find(|r| r.fault == ty).unwrap_or(&PROVIDERS[0])
}

// ---------------------------------------------------------------------------------------
// The Chaos Toolkit document.

/// A Chaos Toolkit experiment: the keys twinbench writes and reads (others are ignored).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CtkExperiment {
    /// Title.
    pub title: String,
    /// Description (required by `chaos validate`).
    #[serde(default)]
    pub description: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Configuration (the Prometheus base URL the probes query).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub configuration: Map<String, Value>,
    /// Extensions; twinbench's is named [`EXTENSION_NAME`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Extension>,
    /// The steady-state hypothesis.
    #[serde(rename = "steady-state-hypothesis", default, skip_serializing_if = "Option::is_none")]
    pub steady_state_hypothesis: Option<CtkHypothesis>,
    /// The method.
    pub method: Vec<CtkActivity>,
    /// Rollbacks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollbacks: Vec<CtkActivity>,
}

/// A steady-state hypothesis.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CtkHypothesis {
    /// Title.
    pub title: String,
    /// Probes, each with a tolerance.
    #[serde(default)]
    pub probes: Vec<CtkActivity>,
}

/// An activity (probe or action).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CtkActivity {
    /// `probe` or `action`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Name.
    pub name: String,
    /// What runs.
    pub provider: CtkProvider,
    /// A probe's tolerance (in the hypothesis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<Value>,
    /// Pauses in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pauses: Option<CtkPauses>,
}

/// A provider.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CtkProvider {
    /// `python`, `process` or `http`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Python module.
    #[serde(default)]
    pub module: String,
    /// Function.
    #[serde(default)]
    pub func: String,
    /// Arguments.
    #[serde(default)]
    pub arguments: Map<String, Value>,
}

/// Pauses around an activity, in seconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct CtkPauses {
    /// Before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<f64>,
    /// After.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<f64>,
}

/// An entry of `extensions`: twinbench's, or another tool's (kept as it is).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Extension {
    /// twinbench's.
    Twinbench(Box<TwinbenchExtension>),
    /// Another (or a twinbench entry that does not read: [`import`] says why).
    Other(Value),
}

/// twinbench's extension entry: the experiment as written, and the digest of the
/// native part it was written with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TwinbenchExtension {
    name: String,
    /// Digest of the native part as written.
    native: String,
    /// The experiment as written.
    experiment: ExperimentFile,
}

/// The part of a Chaos Toolkit experiment that twinbench reads natively.
#[derive(Serialize)]
struct NativePart<'a> {
    title: &'a str,
    description: &'a str,
    hypothesis: &'a Option<CtkHypothesis>,
    method: &'a [CtkActivity],
    rollbacks: &'a [CtkActivity],
}

fn native_digest(doc: &CtkExperiment) -> String {
    let part = NativePart {
        title: &doc.title,
        description: &doc.description,
        hypothesis: &doc.steady_state_hypothesis,
        method: &doc.method,
        rollbacks: &doc.rollbacks,
    };
    let text = serde_json::to_string(&part).unwrap_or_default();
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

/// Whether JSON text is a Chaos Toolkit experiment rather than a twinbench one: its
/// top-level object has `steady-state-hypothesis`, or a `method` entry with a `type`
/// (twinbench's method entries are `{"fault": …}` / `{"random": …}`). Text that is
/// not a JSON object is not.
pub fn is_chaostoolkit(src: &str) -> bool {
    let Ok(Value::Object(top)) = serde_json::from_str::<Value>(src) else {
        return false;
    };
    top.contains_key("steady-state-hypothesis")
        || top.get("method").and_then(Value::as_array).is_some_and(|m| m.iter().any(|a| a.get("type").is_some()))
}

// ---------------------------------------------------------------------------------------
// Out.

/// An experiment written for Chaos Toolkit.
#[derive(Debug)]
pub struct Exported {
    /// The JSON text.
    pub text: String,
    /// Probes written.
    pub probes: usize,
    /// Method and rollback actions written.
    pub actions: usize,
    /// What has no native Chaos Toolkit form (kept in the twinbench extension only).
    pub notes: Vec<String>,
}

/// Writes an experiment as Chaos Toolkit JSON. `file` is the experiment as written in
/// `path`, `experiment` the same validated against `graph` (the scenario's twins, which
/// selectors by kind or tag stand for); `out` is where the JSON goes (the remediation
/// strategy's path is made relative to it).
pub fn export(
    path: &Path,
    file: &ExperimentFile,
    experiment: &Experiment,
    graph: &TwinGraph,
    out: &Path,
) -> Result<Exported, IoError> {
    let mut notes = Vec::new();
    let mut probes = Vec::new();
    for p in &experiment.hypothesis {
        for ri in 0..p.rules.len() {
            let query = alert_expr(p, ri, graph)
                .map_err(|m| IoError::invalid(path, format!("steady state: policy {:?}: {m}", p.name)))?;
            probes.push(CtkActivity {
                kind: "probe".into(),
                name: p.name.clone(),
                provider: python(PROBE_MODULE, PROBE_FUNC, [("query", json!(query))]),
                tolerance: Some(json!({"type": "jsonpath", "path": NO_SERIES_PATH, "count": 0})),
                pauses: None,
            });
        }
    }

    // Every activity of the method with its offset; sorted stably by offset.
    let mut timed: Vec<(i64, CtkActivity)> = Vec::new();
    let mut faulted: Vec<(FaultKind, TwinId)> = Vec::new();
    let mut names = BTreeSet::new();
    let mut unique = |base: String| {
        let mut name = base.clone();
        let mut n = 1;
        while !names.insert(name.clone()) {
            n += 1;
            name = format!("{base} ({n})");
        }
        name
    };
    for step in &experiment.method {
        match step {
            MethodStep::Fault { kind, targets, at_secs, duration_secs } => {
                for twin in targets {
                    let name = unique(format!("{} {twin}", kind.name()));
                    timed.push((*at_secs, fault_action(kind, twin, name)));
                    if !faulted.iter().any(|(k, t)| FaultType::of(k) == FaultType::of(kind) && t == twin) {
                        faulted.push((kind.clone(), twin.clone()));
                    }
                    if duration_secs.is_some() {
                        notes.push(format!(
                            "{} on {twin}: its duration is kept in the twinbench extension (Chaos Toolkit reads it as lasting until a rollback)",
                            kind.name()
                        ));
                    }
                }
            }
            MethodStep::Random { rate_per_hour, .. } => notes.push(format!(
                "random faults ({rate_per_hour}/h) have no Chaos Toolkit form: kept in the twinbench extension only"
            )),
        }
    }
    let mut rollbacks = Vec::new();
    for r in &experiment.rollbacks {
        let undo: Vec<&(FaultKind, TwinId)> =
            faulted.iter().filter(|(_, t)| r.twins.is_empty() || r.twins.contains(t)).collect();
        for (kind, twin) in undo {
            let name = unique(format!("stop {} {twin}", kind.name()));
            let action = undo_action(kind, twin, name);
            if r.at_secs >= experiment.duration_secs {
                rollbacks.push(action);
            } else {
                timed.push((r.at_secs, action));
            }
        }
    }
    timed.sort_by_key(|(at, _)| *at);
    let mut method = Vec::new();
    let mut clock = 0;
    for (at, mut a) in timed {
        if at > clock {
            a.pauses = Some(CtkPauses { before: Some((at - clock) as f64), after: None });
            clock = at;
        }
        method.push(a);
    }
    if let Some(last) = method.last_mut()
        && experiment.duration_secs > clock
    {
        let pauses = last.pauses.get_or_insert_with(CtkPauses::default);
        pauses.after = Some((experiment.duration_secs - clock) as f64);
    }

    // The experiment as written, self-contained: policy files inlined, the strategy's
    // path relative to the written file.
    let mut written = file.clone();
    for w in std::mem::take(&mut written.steady_state.policy_files) {
        let p = relative_to(path, &w);
        written.steady_state.policies.extend(super::policy::load_files(&p, &TwinLabels::default())?);
    }
    if let Some(r) = &written.remediation {
        written.remediation = Some(path_from(out, &relative_to(path, r)));
    }
    let actions = method.len() + rollbacks.len();
    let mut doc = CtkExperiment {
        title: file.title.clone(),
        description: if file.description.is_empty() { file.title.clone() } else { file.description.clone() },
        tags: vec!["twinbench".into()],
        configuration: Map::from_iter([("prometheus_base_url".to_string(), json!("http://localhost:9090"))]),
        extensions: Vec::new(),
        steady_state_hypothesis: Some(CtkHypothesis {
            title: if file.steady_state.title.is_empty() {
                "The steady state holds".into()
            } else {
                file.steady_state.title.clone()
            },
            probes,
        }),
        method,
        rollbacks,
    };
    let ext = TwinbenchExtension { name: EXTENSION_NAME.into(), native: native_digest(&doc), experiment: written };
    doc.extensions.push(Extension::Twinbench(Box::new(ext)));
    let probes = doc.steady_state_hypothesis.as_ref().map_or(0, |h| h.probes.len());
    let mut text = serde_json::to_string_pretty(&doc)
        .map_err(|e| IoError::invalid(path, format!("cannot write the experiment: {e}")))?;
    text.push('\n');
    notes.sort();
    notes.dedup();
    Ok(Exported { text, probes, actions, notes })
}

/// The alert expression of a policy's rule `ri` (as `convert --to prometheus` writes
/// it): the twins the selector picks become a `twin` matcher.
fn alert_expr(p: &Policy, ri: usize, graph: &TwinGraph) -> Result<String, String> {
    let r = p.rules.get(ri).ok_or("no such rule")?;
    let s = &p.selector;
    let ids: Option<Vec<String>> = if s.kinds.is_empty() && s.tags.is_empty() && s.ids.is_empty() {
        None
    } else {
        let mut ids: Vec<String> = graph.twins().filter(|t| s.matches(t)).map(|t| t.id.as_str().to_string()).collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Err("its selector matches no twin of the scenario".into());
        }
        Some(ids)
    };
    Ok(rules::alert_expr(r, TWIN_LABEL, ids.as_deref()))
}

fn python<const N: usize>(module: &str, func: &str, args: [(&str, Value); N]) -> CtkProvider {
    CtkProvider {
        kind: "python".into(),
        module: module.into(),
        func: func.into(),
        arguments: args.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    }
}

fn action(name: String, provider: CtkProvider) -> CtkActivity {
    CtkActivity { kind: "action".into(), name, provider, tolerance: None, pauses: None }
}

fn resource(ty: FaultType, twin: &TwinId) -> String {
    format!("twinbench-{}-{twin}", dashed(ty))
}

fn selector_of(twin: &TwinId) -> Value {
    json!(format!("{TWIN_LABEL}={twin}"))
}

fn load_generator(twin: &TwinId) -> String {
    format!("twinbench-load-{twin}")
}

/// The table's action for a fault on a twin.
fn fault_action(kind: &FaultKind, twin: &TwinId, name: String) -> CtkActivity {
    let ty = FaultType::of(kind);
    let r = row(ty);
    let provider = match kind {
        FaultKind::Crash => python(r.module, r.func, [("label_selector", selector_of(twin)), ("all", json!(true))]),
        FaultKind::CpuHog { percent } => {
            let workers = (percent / 100.0).ceil().max(1.0);
            let load = (percent / workers).round().clamp(1.0, 100.0);
            python(
                r.module,
                r.func,
                [
                    ("name", json!(resource(ty, twin))),
                    ("workers", json!(workers as i64)),
                    ("load", json!(load as i64)),
                    ("label_selectors", selector_of(twin)),
                ],
            )
        }
        FaultKind::MemoryLeak { percent_per_hour } => python(
            r.module,
            r.func,
            [
                ("name", json!(resource(ty, twin))),
                ("size", json!("100%")),
                ("time_to_get_to_size", json!(format!("{}s", (360_000.0 / percent_per_hour).round() as i64))),
                ("label_selectors", selector_of(twin)),
            ],
        ),
        FaultKind::Latency { ms } => python(
            r.module,
            r.func,
            [
                ("for_proxy", json!(twin.as_str())),
                ("toxic_name", json!(resource(ty, twin))),
                ("latency", json!(ms.round() as i64)),
            ],
        ),
        FaultKind::Partition => python(r.module, r.func, [("proxy_name", json!(twin.as_str()))]),
        FaultKind::DiskFill { .. } => python(
            r.module,
            r.func,
            [
                ("cmd", json!(format!("dd if=/dev/zero of={DISK_FILL_FILE} bs=1M"))),
                ("label_selector", selector_of(twin)),
                ("all", json!(true)),
            ],
        ),
        FaultKind::DependencyOutage { dependency } => python(
            r.module,
            r.func,
            [
                ("name", json!(resource(ty, twin))),
                ("label_selectors", selector_of(twin)),
                ("loss", json!("100")),
                ("direction", json!("to")),
                ("target_label_selectors", selector_of(dependency)),
            ],
        ),
        FaultKind::TrafficSpike { factor } => python(
            r.module,
            r.func,
            [("name", json!(load_generator(twin))), ("replicas", json!(factor.ceil().max(2.0) as i64))],
        ),
    };
    action(name, provider)
}

/// The table's undo action for a fault on a twin.
fn undo_action(kind: &FaultKind, twin: &TwinId, name: String) -> CtkActivity {
    let ty = FaultType::of(kind);
    let r = row(ty);
    let (m, f) = (r.undo_module, r.undo_func);
    let provider = match ty {
        FaultType::Crash => python(m, f, [("name", json!(twin.as_str()))]),
        FaultType::CpuHog | FaultType::MemoryLeak | FaultType::DependencyOutage => {
            python(m, f, [("name", json!(resource(ty, twin)))])
        }
        FaultType::Latency => {
            python(m, f, [("for_proxy", json!(twin.as_str())), ("toxic_name", json!(resource(ty, twin)))])
        }
        FaultType::Partition => python(m, f, [("proxy_name", json!(twin.as_str()))]),
        FaultType::DiskFill => python(
            m,
            f,
            [
                ("cmd", json!(format!("rm -f {DISK_FILL_FILE}"))),
                ("label_selector", selector_of(twin)),
                ("all", json!(true)),
            ],
        ),
        FaultType::TrafficSpike => python(m, f, [("name", json!(load_generator(twin))), ("replicas", json!(1))]),
    };
    action(name, provider)
}

/// `to` as written in a file at `from` (relative to its folder when they share one).
fn path_from(from: &Path, to: &Path) -> String {
    let abs = |p: &Path| -> PathBuf {
        let p = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(p) };
        std::fs::canonicalize(&p).unwrap_or(p)
    };
    let base = abs(from.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")));
    let target = abs(to);
    let b: Vec<_> = base.components().collect();
    let t: Vec<_> = target.components().collect();
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    // Sharing only the root (or nothing): absolute.
    if common <= 1 {
        return target.display().to_string();
    }
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c);
    }
    rel.display().to_string()
}

// ---------------------------------------------------------------------------------------
// In.

/// What an action of the method is, read through the table backwards.
enum Read {
    Fault(FaultFile, String),
    Undo(String),
}

/// Reads a Chaos Toolkit experiment into the twinbench experiment it stands for (see
/// the module docs); twin ids are checked against `graph`. Errors carry line and
/// column and name the activity.
pub fn import(path: &Path, src: &str, graph: &TwinGraph) -> Result<ExperimentFile, IoError> {
    let doc: CtkExperiment = parse_doc(path, src, Format::Json)?;
    let locator = Locator::new(src);
    let digest = native_digest(&doc);
    for (i, e) in doc.extensions.iter().enumerate() {
        let ext = match e {
            Extension::Twinbench(ext) if ext.name == EXTENSION_NAME => ext.as_ref().clone(),
            Extension::Twinbench(_) => continue,
            Extension::Other(v) if v.get("name").and_then(Value::as_str) == Some(EXTENSION_NAME) => {
                // Named twinbench but not shaped like it: say why.
                let err = serde_json::from_value::<TwinbenchExtension>(v.clone()).err();
                return Err(IoError::at(
                    path,
                    locator.find_value_nth(&["extensions"], EXTENSION_NAME, 0),
                    format!(
                        "extensions[{i}] ({EXTENSION_NAME}): {}",
                        err.map_or("unreadable".to_string(), |e| e.to_string())
                    ),
                ));
            }
            Extension::Other(_) => continue,
        };
        // Unchanged since twinbench wrote it: the experiment as written.
        if ext.native == digest {
            return Ok(ext.experiment);
        }
    }
    read_native(path, &locator, &doc, graph)
}

fn read_native(
    path: &Path,
    locator: &Locator,
    doc: &CtkExperiment,
    graph: &TwinGraph,
) -> Result<ExperimentFile, IoError> {
    let at_activity = |section: &str, name: &str, message: String| {
        IoError::at(path, locator.find_value(&[section], name), format!("activity {name:?}: {message}"))
    };
    let Some(hypothesis) = &doc.steady_state_hypothesis else {
        return Err(IoError::at(
            path,
            locator.find(&[], "\"method\"", 0),
            "no steady-state-hypothesis: twinbench needs its probes as the rules that must hold",
        ));
    };
    const HYP: &str = "steady-state-hypothesis";
    let mut policies: Vec<PolicyFile> = Vec::new();
    for probe in &hypothesis.probes {
        let fail = |m: String| at_activity(HYP, &probe.name, m);
        let p = &probe.provider;
        if probe.kind != "probe" || p.kind != "python" || p.module != PROBE_MODULE || p.func != PROBE_FUNC {
            return Err(fail(format!(
                "a steady-state probe must be a python probe {PROBE_MODULE}.{PROBE_FUNC} (chaostoolkit-prometheus), not {} {}{}",
                probe.kind,
                p.kind,
                if p.module.is_empty() { String::new() } else { format!(" {}.{}", p.module, p.func) }
            )));
        }
        let tolerance_ok = probe.tolerance.as_ref().is_some_and(|t| {
            t.get("type").and_then(Value::as_str) == Some("jsonpath")
                && t.get("path").and_then(Value::as_str).map(str::trim) == Some(NO_SERIES_PATH)
                && t.get("count").and_then(Value::as_i64) == Some(0)
                && t.get("expect").is_none()
        });
        if !tolerance_ok {
            return Err(fail(format!(
                "the tolerance must be {{\"type\": \"jsonpath\", \"path\": \"{NO_SERIES_PATH}\", \"count\": 0}} (the rule holds while the query returns no series)"
            )));
        }
        let query =
            p.arguments.get("query").and_then(Value::as_str).ok_or_else(|| fail("no `query` argument".into()))?;
        let (rule, ids) = rule_of_query(query, graph).map_err(fail)?;
        let selector = ids.map(|ids| SelectorFile { ids, ..SelectorFile::default() });
        match policies.iter_mut().find(|p| p.name == probe.name) {
            Some(existing) if existing.selector == selector => existing.rules.push(rule),
            Some(_) => return Err(fail("probes of one name (one policy) must select the same twins".into())),
            None => policies.push(PolicyFile {
                name: probe.name.clone(),
                description: String::new(),
                severity: None,
                selector,
                rules: vec![rule],
                config: Vec::new(),
                actions: Vec::new(),
            }),
        }
    }
    if policies.is_empty() {
        return Err(IoError::at(
            path,
            locator.find(&[], &format!("{HYP:?}"), 0),
            "the steady-state hypothesis has no probes",
        ));
    }

    let secs = |section: &str, a: &CtkActivity, x: Option<f64>| -> Result<f64, IoError> {
        match x {
            None => Ok(0.0),
            Some(s) if s.is_finite() && (0.0..=366.0 * 86_400.0).contains(&s) => Ok(s),
            Some(s) => Err(at_activity(
                section,
                &a.name,
                format!("pause of {s} s is not a number of seconds from 0 to a year"),
            )),
        }
    };
    let mut method = Vec::new();
    let mut undos: Vec<(i64, String)> = Vec::new();
    let mut faulted: BTreeSet<String> = BTreeSet::new();
    let mut clock = 0.0;
    for a in &doc.method {
        let pauses = a.pauses.unwrap_or_default();
        clock += secs("method", a, pauses.before)?;
        let at = clock.round() as i64;
        match read_action(a, graph).map_err(|m| at_activity("method", &a.name, m))? {
            Read::Fault(kind, twin) => {
                fault_kind(&kind).validate().map_err(|m| at_activity("method", &a.name, m))?;
                faulted.insert(twin.clone());
                method.push(MethodFile::Fault {
                    kind,
                    targets: vec![twin],
                    selector: None,
                    at: DurationFile::Secs(at as u64),
                    duration: None,
                });
            }
            Read::Undo(twin) => undos.push((at, twin)),
        }
        clock += secs("method", a, pauses.after)?;
    }
    let end = clock.round() as i64;
    if method.is_empty() {
        return Err(IoError::at(path, locator.find(&[], "\"method\"", 0), "the method has no fault action"));
    }
    if end <= 0 {
        return Err(IoError::at(
            path,
            locator.find(&[], "\"method\"", 0),
            "the method's pauses give the experiment no length (twinbench reads pauses as time: the last activity's `pauses.after` runs to the end)",
        ));
    }
    for a in &doc.rollbacks {
        match read_action(a, graph).map_err(|m| at_activity("rollbacks", &a.name, m))? {
            Read::Undo(twin) => undos.push((end, twin)),
            Read::Fault(..) => {
                return Err(at_activity("rollbacks", &a.name, "a fault action cannot be a rollback".into()));
            }
        }
    }
    let mut by_time: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for (at, twin) in undos {
        by_time.entry(at).or_default().insert(twin);
    }
    let rollbacks = by_time
        .into_iter()
        .map(|(at, twins)| RollbackFile {
            at: DurationFile::Secs(at as u64),
            twins: if faulted.is_subset(&twins) { Vec::new() } else { twins.into_iter().collect() },
        })
        .collect();
    Ok(ExperimentFile {
        version: super::experiment::EXPERIMENT_VERSION,
        title: doc.title.clone(),
        description: doc.description.clone(),
        duration: DurationFile::Secs(end as u64),
        steady_state: SteadyStateFile {
            title: hypothesis.title.clone(),
            after: None,
            policy_files: Vec::new(),
            policies,
        },
        method,
        rollbacks,
        remediation: None,
    })
}

/// The model fault of a fault as read (the dependency's id is checked by the caller).
fn fault_kind(f: &FaultFile) -> FaultKind {
    match f {
        FaultFile::Crash => FaultKind::Crash,
        FaultFile::CpuHog { percent } => FaultKind::CpuHog { percent: *percent },
        FaultFile::MemoryLeak { percent_per_hour } => FaultKind::MemoryLeak { percent_per_hour: *percent_per_hour },
        FaultFile::Latency { ms } => FaultKind::Latency { ms: *ms },
        FaultFile::Partition => FaultKind::Partition,
        FaultFile::DiskFill { percent_per_hour } => FaultKind::DiskFill { percent_per_hour: *percent_per_hour },
        FaultFile::DependencyOutage { dependency } => {
            FaultKind::DependencyOutage { dependency: TwinId::new(dependency.as_str()) }
        }
        FaultFile::TrafficSpike { factor } => FaultKind::TrafficSpike { factor: *factor },
    }
}

/// A metric rule and its twins (`None`: every twin) from a probe's query.
fn rule_of_query(query: &str, graph: &TwinGraph) -> Result<(RuleFile, Option<Vec<String>>), String> {
    let parsed = promql::parse(query).map_err(|e| format!("query {query:?}: {e}"))?;
    let mut ids = None;
    for m in &parsed.matchers {
        let construct = format!("{}{}{}", m.label, m.op.symbol(), promql::quote(&m.value));
        if m.label != TWIN_LABEL || ids.is_some() {
            return Err(format!(
                "query {query:?}: the matcher {construct} is outside the supported subset (one matcher on {TWIN_LABEL:?})"
            ));
        }
        let mut values = match m.op {
            MatchOp::Equal => vec![m.value.clone()],
            MatchOp::Regex => promql::literal_alternatives(&m.value)
                .map_err(|what| format!("query {query:?}: {construct}: {what} (expected a list of twin ids, a|b|c)"))?,
            MatchOp::NotEqual | MatchOp::NotRegex => {
                return Err(format!(
                    "query {query:?}: the negative matcher {construct} is outside the supported subset"
                ));
            }
        };
        if let Some(unknown) = values.iter().find(|v| graph.twin(&TwinId::new(v.as_str())).is_none()) {
            return Err(format!("query {query:?}: unknown twin {unknown:?}"));
        }
        values.sort();
        values.dedup();
        ids = Some(values);
    }
    let rule = RuleFile {
        metric: parsed.metric.clone(),
        aggregation: (parsed.aggregation != Aggregation::Last || parsed.window_secs > 0)
            .then(|| parsed.aggregation.as_str().to_string()),
        window: (parsed.window_secs > 0)
            .then(|| DurationFile::Text(promql::format_prometheus_duration(parsed.window_secs))),
        operator: parsed.operator.symbol().to_string(),
        threshold: Some(parsed.threshold),
        ..RuleFile::default()
    };
    Ok((rule, ids))
}

/// Reads an action through the provider table backwards.
fn read_action(a: &CtkActivity, graph: &TwinGraph) -> Result<Read, String> {
    let p = &a.provider;
    if a.kind != "action" {
        return Err(format!("twinbench reads only actions of its provider table here, not a {}", a.kind));
    }
    let known = || {
        let mut fns: Vec<String> = PROVIDERS
            .iter()
            .flat_map(|r| [format!("{}.{}", r.module, r.func), format!("{}.{}", r.undo_module, r.undo_func)])
            .collect();
        fns.sort();
        fns.dedup();
        fns.join(", ")
    };
    if p.kind != "python" {
        return Err(format!("a {} provider is not in twinbench's provider table ({})", p.kind, known()));
    }
    let args = &p.arguments;
    let text = |key: &str| -> Result<&str, String> {
        args.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{}.{}: no text argument `{key}`", p.module, p.func))
    };
    let number = |key: &str| -> Result<f64, String> {
        args.get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("{}.{}: no number argument `{key}`", p.module, p.func))
    };
    let twin = |id: &str| -> Result<String, String> {
        if graph.twin(&TwinId::new(id)).is_none() {
            return Err(format!("unknown twin {id:?}"));
        }
        Ok(id.to_string())
    };
    let labelled = |key: &str| -> Result<String, String> {
        let sel = text(key)?;
        let id = sel
            .strip_prefix(TWIN_LABEL)
            .and_then(|s| s.strip_prefix('='))
            .filter(|id| !id.contains(',') && !id.is_empty())
            .ok_or_else(|| format!("{key} {sel:?} must be {TWIN_LABEL}=ID"))?;
        twin(id)
    };
    let named = |ty: FaultType| -> Result<String, String> {
        let name = text("name")?;
        let prefix = format!("twinbench-{}-", dashed(ty));
        twin(name.strip_prefix(&prefix).ok_or_else(|| format!("name {name:?} must be {prefix}ID"))?)
    };
    let module_func = (p.module.as_str(), p.func.as_str());
    let is = |m: &str, f: &str| module_func == (m, f);
    // Faults first; where one function is both fault and undo, the arguments decide.
    let r = |ty| row(ty);
    Ok(if is(r(FaultType::Crash).module, r(FaultType::Crash).func) {
        Read::Fault(FaultFile::Crash, labelled("label_selector")?)
    } else if is(r(FaultType::CpuHog).module, r(FaultType::CpuHog).func) {
        let t = labelled("label_selectors")?;
        Read::Fault(FaultFile::CpuHog { percent: number("workers")? * number("load")? }, t)
    } else if is(r(FaultType::MemoryLeak).module, r(FaultType::MemoryLeak).func) {
        let t = labelled("label_selectors")?;
        let secs = super::time::parse_duration(text("time_to_get_to_size")?)
            .map_err(|m| format!("time_to_get_to_size: {m}"))?
            .as_secs_f64();
        if secs <= 0.0 {
            return Err("time_to_get_to_size must be positive".into());
        }
        Read::Fault(FaultFile::MemoryLeak { percent_per_hour: 360_000.0 / secs }, t)
    } else if is(r(FaultType::Latency).module, r(FaultType::Latency).func) {
        Read::Fault(FaultFile::Latency { ms: number("latency")? }, twin(text("for_proxy")?)?)
    } else if is(r(FaultType::Partition).module, r(FaultType::Partition).func) {
        Read::Fault(FaultFile::Partition, twin(text("proxy_name")?)?)
    } else if is(r(FaultType::DiskFill).module, r(FaultType::DiskFill).func) {
        let cmd = text("cmd")?;
        let t = labelled("label_selector")?;
        if cmd.starts_with("rm ") && cmd.contains(DISK_FILL_FILE) {
            Read::Undo(t)
        } else if cmd.contains(DISK_FILL_FILE) {
            let rate = FaultType::DiskFill.magnitude().map_or(20.0, |m| m.default);
            Read::Fault(FaultFile::DiskFill { percent_per_hour: rate }, t)
        } else {
            return Err(format!("exec_in_pods is read as a disk fill only when its cmd writes {DISK_FILL_FILE}"));
        }
    } else if is(r(FaultType::DependencyOutage).module, r(FaultType::DependencyOutage).func) {
        let t = labelled("label_selectors")?;
        let dependency = labelled("target_label_selectors")?;
        Read::Fault(FaultFile::DependencyOutage { dependency }, t)
    } else if is(r(FaultType::TrafficSpike).module, r(FaultType::TrafficSpike).func) {
        let name = text("name")?;
        let t = twin(
            name.strip_prefix("twinbench-load-")
                .ok_or_else(|| format!("name {name:?} must be twinbench-load-ID (the twin's load generator)"))?,
        )?;
        let replicas = number("replicas")?;
        if replicas <= 1.0 { Read::Undo(t) } else { Read::Fault(FaultFile::TrafficSpike { factor: replicas }, t) }
    } else if is(r(FaultType::Crash).undo_module, r(FaultType::Crash).undo_func) {
        Read::Undo(twin(text("name")?)?)
    } else if is(r(FaultType::CpuHog).undo_module, r(FaultType::CpuHog).undo_func) {
        let name = text("name")?;
        let ty = if name.starts_with("twinbench-cpu-hog-") { FaultType::CpuHog } else { FaultType::MemoryLeak };
        Read::Undo(named(ty)?)
    } else if is(r(FaultType::Latency).undo_module, r(FaultType::Latency).undo_func) {
        Read::Undo(twin(text("for_proxy")?)?)
    } else if is(r(FaultType::Partition).undo_module, r(FaultType::Partition).undo_func) {
        Read::Undo(twin(text("proxy_name")?)?)
    } else if is(r(FaultType::DependencyOutage).undo_module, r(FaultType::DependencyOutage).undo_func) {
        Read::Undo(named(FaultType::DependencyOutage)?)
    } else {
        return Err(format!("provider {}.{} is not in twinbench's provider table ({})", p.module, p.func, known()));
    })
}

// ---------------------------------------------------------------------------------------
// Journals.

/// A run written as a Chaos Toolkit journal: chaoslib's keys (`chaoslib-version`,
/// `platform`, `node`, `experiment`, `start`, `end`, `duration`, `status`, `deviated`,
/// `steady_states {before, after, during}`, `run`, `rollbacks`), with simulated times.
/// `experiment` is the experiment as Chaos Toolkit JSON ([`export`]'s text parsed).
/// `status` is `completed` as chaoslib writes it when every activity ran (a simulated
/// activity cannot fail); `deviated` says whether the steady state was not met after
/// the method; a steady state not met before it leaves `after` null and `run` empty.
/// twinbench's own figures (seed, resilience, detection and recovery times, whether the
/// method was aborted) are under `twinbench`.
/// Each probe's output has the shape of a Prometheus query response: the series of the
/// twins on which its policy deviated.
pub fn journal(experiment_json: &Value, experiment: &Experiment, report: &ChaosReport, graph: &TwinGraph) -> Value {
    let t0 = report.start;
    let method_start = t0 + experiment.method.iter().map(method_start).min().unwrap_or(0).min(experiment.duration_secs);
    let after_at = report.end;
    let probes = |at: i64, verdict: &crate::sim::chaos::Verdict| -> Value {
        let mut out = Vec::new();
        for p in &experiment.hypothesis {
            let twins: Vec<&TwinId> = if verdict.deviated_policies.contains(&p.name) {
                verdict
                    .deviated_twins
                    .iter()
                    .filter(|t| graph.twin(t).is_some_and(|twin| p.selector.matches(twin)))
                    .collect()
            } else {
                Vec::new()
            };
            for (ri, _) in p.rules.iter().enumerate() {
                let query = alert_expr(p, ri, graph).unwrap_or_default();
                let result: Vec<Value> =
                    twins.iter().map(|t| json!({"metric": {TWIN_LABEL: t.as_str()}, "value": [at, "1"]})).collect();
                let held = result.is_empty();
                out.push(json!({
                    "activity": {
                        "type": "probe",
                        "name": p.name,
                        "provider": {"type": "python", "module": PROBE_MODULE, "func": PROBE_FUNC, "arguments": {"query": query}},
                        "tolerance": {"type": "jsonpath", "path": NO_SERIES_PATH, "count": 0},
                    },
                    "output": {"status": "success", "data": {"resultType": "vector", "result": result}},
                    "start": format_rfc3339(at),
                    "end": format_rfc3339(at),
                    "duration": 0.0,
                    "status": "succeeded",
                    "tolerance_met": held,
                }));
            }
        }
        Value::Array(out)
    };
    let before = json!({
        "steady_state_met": report.before.held,
        "probes": probes(method_start, &report.before),
    });
    let after = if report.aborted {
        Value::Null
    } else {
        json!({"steady_state_met": report.after.held, "probes": probes(after_at, &report.after)})
    };
    let activity_json = |a: &CtkActivity| serde_json::to_value(a).unwrap_or(Value::Null);
    let ctk_method: Vec<CtkActivity> =
        experiment_json.get("method").and_then(|m| serde_json::from_value(m.clone()).ok()).unwrap_or_default();
    let ctk_rollbacks: Vec<CtkActivity> =
        experiment_json.get("rollbacks").and_then(|m| serde_json::from_value(m.clone()).ok()).unwrap_or_default();
    let mut run = Vec::new();
    if !report.aborted {
        let mut clock = 0.0;
        for a in &ctk_method {
            let pauses = a.pauses.unwrap_or_default();
            clock += pauses.before.unwrap_or(0.0);
            let at = t0 + clock.round() as i64;
            run.push(json!({
                "activity": activity_json(a),
                "output": Value::Null,
                "start": format_rfc3339(at),
                "end": format_rfc3339(at),
                "duration": 0.0,
                "status": "succeeded",
            }));
            clock += pauses.after.unwrap_or(0.0);
        }
    }
    let rollbacks: Vec<Value> = ctk_rollbacks
        .iter()
        .map(|a| {
            json!({
                "activity": activity_json(a),
                "output": Value::Null,
                "start": format_rfc3339(report.end),
                "end": format_rfc3339(report.end),
                "duration": 0.0,
                "status": "succeeded",
            })
        })
        .collect();
    // As chaoslib records it: every probe and action ran, so the run "completed"; a
    // steady state not met after the method is `deviated`, one not met before it
    // leaves the method unrun (no `after`, no `run`) without deviating.
    let status = "completed";
    json!({
        "chaoslib-version": Value::Null,
        "platform": format!("twinbench {} (simulated)", env!("CARGO_PKG_VERSION")),
        "node": "twinbench",
        "experiment": experiment_json,
        "start": format_rfc3339(t0),
        "end": format_rfc3339(report.end),
        "duration": (report.end - t0) as f64,
        "status": status,
        "deviated": !report.aborted && !report.after.held,
        "steady_states": {"before": before, "after": after, "during": []},
        "run": run,
        "rollbacks": rollbacks,
        "twinbench": {
            "seed": report.seed,
            "aborted": report.aborted,
            "deviated_during_method": report.deviated,
            "resilience_score": report.resilience_score,
            "time_to_detect_secs": report.time_to_detect_secs,
            "time_to_recover_secs": report.time_to_recover_secs,
        },
    })
}

fn method_start(step: &MethodStep) -> i64 {
    match step {
        MethodStep::Fault { at_secs, .. } => *at_secs,
        MethodStep::Random { from_secs, .. } => *from_secs,
    }
}

#[cfg(test)]
mod tests;
