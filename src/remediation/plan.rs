//! From findings to a plan. Findings (current violations, predicted violations,
//! configuration drift) become candidate actions — the policy's bound actions, or a
//! default per metric when it binds none — each with its modeled change, cost, risk,
//! duration, rollback and score ([`super::priority`]). A plan is the candidates in
//! score order with their approvals, and a fingerprint of the twin state and policies
//! it was computed on, so a stale plan can be refused.

use std::collections::BTreeMap;

use crate::model::{
    ActionKind, ConfigValue, EdgeKind, FieldChange, MetricName, Resource, SeriesKey, Twin, TwinGraph, TwinId, TwinKind,
    UnixSecs,
};

use super::priority::{ScoreBreakdown, Urgency, Weights, score};
use crate::analytics::compliance::CurrentViolation;
use crate::analytics::drift::{DriftReport, KeyDrift};
use crate::analytics::predict::PredictedViolation;
use crate::analytics::scan::SeriesAnomalies;
use crate::policy::{ConfigOperator, Policy, Severity};
use crate::scenario::Scenario;

/// Why a violation is a symptom: a dependency of its twin (directly or through
/// others) that is down or faulted. The dependency is the root cause; acting on the
/// symptom (scaling out the slow callers of a dead database) does not help.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cause {
    /// The dependency at fault.
    pub twin: TwinId,
    /// What is wrong with it: `down`, `fault: latency +300 ms`, `down until 15:22`…
    pub what: String,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.twin, self.what)
    }
}

/// Something that needs remediation.
#[derive(Clone, Debug, PartialEq)]
pub enum Finding {
    /// A metric rule violated now.
    Violation {
        /// Policy name.
        policy: String,
        /// The rule, as text.
        rule: String,
        /// The metric.
        metric: MetricName,
        /// The twin.
        twin: TwinId,
        /// Latest value.
        value: f64,
        /// Since when.
        since: UnixSecs,
        /// The dependency it is a symptom of, if any ([`attribute`]).
        cause: Option<Cause>,
    },
    /// A metric rule predicted to be violated.
    Predicted {
        /// Policy name.
        policy: String,
        /// The rule, as text.
        rule: String,
        /// The metric.
        metric: MetricName,
        /// The twin.
        twin: TwinId,
        /// Expected time of the violation.
        at: UnixSecs,
        /// Seconds from now until then.
        eta_secs: i64,
        /// Probability of the violation within the horizon.
        probability: f64,
        /// The latest value.
        value: f64,
    },
    /// A sustained anomaly (a policy's anomaly rule).
    Anomaly {
        /// Policy name.
        policy: String,
        /// The rule, as text.
        rule: String,
        /// The anomalous metric.
        metric: MetricName,
        /// The twin.
        twin: TwinId,
        /// The highest anomaly score since it began.
        score: f64,
        /// Since when the score has stayed at or above the rule's.
        since: UnixSecs,
    },
    /// Configuration keys off their desired values.
    Drift {
        /// Policy name.
        policy: String,
        /// The twin.
        twin: TwinId,
        /// The drifted keys of that policy.
        keys: Vec<KeyDrift>,
    },
    /// An action rehearsed on the twins (a what-if or a chaos experiment) and chosen
    /// by an engineer for its measured outcome.
    Rehearsed {
        /// The twin.
        twin: TwinId,
        /// Which kind of rehearsal.
        kind: Rehearsal,
        /// The rehearsal, e.g. `what-if over 24 h (seed 42)`.
        rehearsal: String,
        /// What the rehearsal measured, in one line.
        outcome: String,
    },
}

/// The policy name of rehearsed findings (no policy raised them).
pub const REHEARSAL: &str = "rehearsal";

/// The kind of rehearsal an action was chosen in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rehearsal {
    /// A what-if: the twins forked, changed and run forward against a baseline.
    WhatIf,
    /// A chaos experiment whose remediation took the action.
    Chaos,
}

/// What a plan step rests on, as a closed set a tool can match on (plan files write
/// it as `action_reason`, the sentence beside it as `reason_text`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ActionReason {
    /// A policy's metric rule is violated now (also when the violation is the symptom
    /// of a failed dependency: the text then names the cause).
    PolicyViolation,
    /// A policy's metric rule is forecast to be violated within the horizon.
    PredictedViolation,
    /// A policy's anomaly rule: a sustained anomaly.
    Anomaly,
    /// Configuration off the desired values of a policy.
    Drift,
    /// Chosen by a person after a what-if on the twins.
    WhatIfRehearsal,
    /// Taken by the remediation during a chaos experiment and chosen by a person.
    ChaosRehearsal,
}

impl ActionReason {
    /// Every reason, in the order documented.
    pub const ALL: [ActionReason; 6] = [
        ActionReason::PolicyViolation,
        ActionReason::PredictedViolation,
        ActionReason::Anomaly,
        ActionReason::Drift,
        ActionReason::WhatIfRehearsal,
        ActionReason::ChaosRehearsal,
    ];

    /// The names in plan files, in the order of [`ActionReason::ALL`].
    pub const NAMES: [&'static str; 6] =
        ["policy_violation", "predicted_violation", "anomaly", "drift", "what_if_rehearsal", "chaos_rehearsal"];

    /// The name in plan files.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Parses the name.
    pub fn parse(s: &str) -> Option<ActionReason> {
        ActionReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl Finding {
    /// The twin concerned.
    pub fn twin(&self) -> &TwinId {
        match self {
            Finding::Violation { twin, .. }
            | Finding::Predicted { twin, .. }
            | Finding::Anomaly { twin, .. }
            | Finding::Drift { twin, .. }
            | Finding::Rehearsed { twin, .. } => twin,
        }
    }

    /// The policy that raised it.
    pub fn policy(&self) -> &str {
        match self {
            Finding::Violation { policy, .. }
            | Finding::Predicted { policy, .. }
            | Finding::Anomaly { policy, .. }
            | Finding::Drift { policy, .. } => policy,
            Finding::Rehearsed { .. } => REHEARSAL,
        }
    }

    /// What the finding is about, independent of values and times: the same rule on
    /// the same twin is the same finding now, later, and when predicted.
    pub fn key(&self) -> String {
        match self {
            Finding::Violation { policy, rule, twin, .. } | Finding::Predicted { policy, rule, twin, .. } => {
                format!("{twin}|{policy}|{rule}")
            }
            Finding::Anomaly { policy, metric, twin, .. } => format!("{twin}|{policy}|anomaly|{metric}"),
            Finding::Drift { policy, twin, keys } => {
                let keys: Vec<&str> = keys.iter().map(|k| k.rule.key.as_str()).collect();
                format!("{twin}|{policy}|drift|{}", keys.join(","))
            }
            Finding::Rehearsed { twin, rehearsal, .. } => format!("{twin}|{REHEARSAL}|{rehearsal}"),
        }
    }

    /// The dependency this finding is a symptom of, if any.
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            Finding::Violation { cause, .. } => cause.as_ref(),
            _ => None,
        }
    }

    /// What kind of evidence the finding is.
    pub fn reason_kind(&self) -> ActionReason {
        match self {
            Finding::Violation { .. } => ActionReason::PolicyViolation,
            Finding::Predicted { .. } => ActionReason::PredictedViolation,
            Finding::Anomaly { .. } => ActionReason::Anomaly,
            Finding::Drift { .. } => ActionReason::Drift,
            Finding::Rehearsed { kind: Rehearsal::WhatIf, .. } => ActionReason::WhatIfRehearsal,
            Finding::Rehearsed { kind: Rehearsal::Chaos, .. } => ActionReason::ChaosRehearsal,
        }
    }

    /// Why an action is needed, in one line.
    pub fn reason(&self) -> String {
        match self {
            Finding::Violation { policy, rule, value, cause: Some(cause), .. } => {
                format!("violation of {policy}: {rule} (now {value}), caused by {cause}")
            }
            Finding::Violation { policy, rule, value, .. } => {
                format!("violation of {policy}: {rule} (now {value})")
            }
            Finding::Predicted { policy, rule, probability, eta_secs, .. } => format!(
                "predicted violation of {policy}: {rule} in {:.1} h (probability {:.0}%)",
                *eta_secs as f64 / 3600.0,
                probability * 100.0
            ),
            Finding::Anomaly { policy, rule, metric, score, since, .. } => {
                let at = since.rem_euclid(86_400);
                format!(
                    "sustained anomaly of {metric} (score {score:.2} since {:02}:{:02} UTC; {policy}: {rule})",
                    at / 3600,
                    at % 3600 / 60
                )
            }
            Finding::Drift { policy, keys, .. } => {
                let keys: Vec<String> = keys.iter().map(|k| k.rule.describe()).collect();
                format!("configuration drift from {policy}: wants {}", keys.join(", "))
            }
            // The outcome is the proposal's predicted effect; the reason names the run.
            Finding::Rehearsed { rehearsal, .. } => format!("rehearsed in a {rehearsal}"),
        }
    }

    fn urgency(&self) -> Urgency {
        match self {
            Finding::Violation { .. } | Finding::Anomaly { .. } => Urgency::Now,
            Finding::Predicted { eta_secs, .. } => Urgency::In(*eta_secs),
            // Chosen by a person, not raised by a rule: ranked like drift.
            Finding::Drift { .. } | Finding::Rehearsed { .. } => Urgency::Drift,
        }
    }

    /// The metric of a violation or prediction.
    pub fn metric(&self) -> Option<&MetricName> {
        match self {
            Finding::Violation { metric, .. } | Finding::Predicted { metric, .. } | Finding::Anomaly { metric, .. } => {
                Some(metric)
            }
            Finding::Drift { .. } | Finding::Rehearsed { .. } => None,
        }
    }

    fn value(&self) -> Option<f64> {
        match self {
            Finding::Violation { value, .. } | Finding::Predicted { value, .. } => Some(*value),
            Finding::Anomaly { .. } | Finding::Drift { .. } | Finding::Rehearsed { .. } => None,
        }
    }
}

/// Findings from the analyses: current violations and drift (one finding per twin and
/// policy with all its drifted keys). Predicted violations are added by the caller. A
/// violation on a twin that depends on a twin whose `up` rule fires (down) is
/// attributed to it ([`attribute`]).
pub fn findings(graph: &TwinGraph, current: &[CurrentViolation], drift: &DriftReport) -> Vec<Finding> {
    let mut out: Vec<Finding> = current
        .iter()
        .map(|v| Finding::Violation {
            policy: v.policy.clone(),
            rule: v.rule.to_string(),
            metric: v.rule.metric.clone(),
            twin: v.twin.clone(),
            value: v.value,
            since: v.since,
            cause: None,
        })
        .collect();
    // A twin whose `up` rule fires is down: what depends on it is its symptom.
    let down: BTreeMap<TwinId, String> = current
        .iter()
        .filter(|v| v.rule.metric.as_str() == crate::model::metric::UP)
        .map(|v| (v.twin.clone(), "down".to_string()))
        .collect();
    attribute(&mut out, graph, &down);
    for twin in drift.drifting() {
        let mut by_policy: BTreeMap<&str, Vec<KeyDrift>> = BTreeMap::new();
        for key in &twin.keys {
            by_policy.entry(key.policy.as_str()).or_default().push(key.clone());
        }
        for (policy, keys) in by_policy {
            out.push(Finding::Drift { policy: policy.to_string(), twin: twin.twin.clone(), keys });
        }
    }
    out
}

/// Attributes violations to their root cause: for each violation not yet attributed,
/// the nearest twin it depends on (breadth first along edges that carry failure,
/// `depends_on`, `routes_to`, `runs_on`; ties by id) that is in `causes` (twin → what
/// is wrong with it), other than its own twin. A twin that is down itself is still
/// attributed to a dead dependency (a workload on a dead host comes back with its
/// host); a twin with no such dependency keeps its violations as its own.
pub fn attribute(findings: &mut [Finding], graph: &TwinGraph, causes: &BTreeMap<TwinId, String>) {
    if causes.is_empty() {
        return;
    }
    let mut memo: BTreeMap<TwinId, Option<Cause>> = BTreeMap::new();
    for f in findings.iter_mut() {
        if let Finding::Violation { twin, cause: cause @ None, .. } = f {
            let found = memo.entry(twin.clone()).or_insert_with(|| root_cause(graph, twin, causes)).clone();
            *cause = found;
        }
    }
}

/// The nearest dependency of `twin` in `causes` (see [`attribute`]).
fn root_cause(graph: &TwinGraph, twin: &TwinId, causes: &BTreeMap<TwinId, String>) -> Option<Cause> {
    let mut seen: std::collections::BTreeSet<TwinId> = std::collections::BTreeSet::new();
    seen.insert(twin.clone());
    let mut level = vec![twin.clone()];
    while !level.is_empty() {
        let mut next: Vec<TwinId> = Vec::new();
        for id in &level {
            for (dep, edge) in graph.dependencies(id) {
                if edge.kind.propagates_failure() && seen.insert(dep.id.clone()) {
                    next.push(dep.id.clone());
                }
            }
        }
        next.sort();
        if let Some(hit) = next.iter().find(|id| causes.contains_key(*id)) {
            return Some(Cause { twin: hit.clone(), what: causes[hit].clone() });
        }
        level = next;
    }
    None
}

/// Findings from sustained anomalies at `t`: for each policy's anomaly rules (the
/// built-in [`Policy::builtin_anomalies`] when no policy in force has any), every
/// selected twin's watched series whose anomaly score has stayed at or above the
/// rule's `min_score` for its `for` up to `t` ([`SeriesAnomalies::sustained`]). One
/// finding per policy, twin and metric; ranked with the rest by the policy's severity.
pub fn anomaly_findings(
    graph: &TwinGraph,
    policies: &[Policy],
    scans: &BTreeMap<SeriesKey, SeriesAnomalies>,
    t: UnixSecs,
) -> Vec<Finding> {
    let builtin;
    let with_rules: Vec<&Policy> = match policies.iter().filter(|p| !p.anomaly_rules.is_empty()).collect::<Vec<_>>() {
        found if !found.is_empty() => found,
        _ => {
            builtin = Policy::builtin_anomalies();
            vec![&builtin]
        }
    };
    let mut out = Vec::new();
    for (key, scan) in scans {
        let Some(twin) = graph.twin(&key.twin) else {
            continue;
        };
        for policy in with_rules.iter().filter(|p| p.selector.matches(twin)) {
            // The first rule of the policy that holds for the series.
            let hit = policy
                .anomaly_rules
                .iter()
                .filter(|r| r.watches(key.metric.as_str()))
                .find_map(|r| scan.sustained(t, r.min_score, r.for_secs).map(|(since, score)| (r, since, score)));
            if let Some((rule, since, score)) = hit {
                out.push(Finding::Anomaly {
                    policy: policy.name.clone(),
                    rule: rule.to_string(),
                    metric: key.metric.clone(),
                    twin: key.twin.clone(),
                    score,
                    since,
                });
            }
        }
    }
    out
}

/// Findings from predicted violations.
pub fn predicted_findings(predicted: &[PredictedViolation]) -> Vec<Finding> {
    predicted
        .iter()
        .map(|v| Finding::Predicted {
            policy: v.policy.clone(),
            rule: v.rule.to_string(),
            metric: v.rule.metric.clone(),
            twin: v.twin.clone(),
            at: v.at,
            eta_secs: v.eta_secs,
            probability: v.probability,
            value: v.value,
        })
        .collect()
}

/// An action proposed for a finding.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Stable id (hash of target, action and finding).
    pub id: String,
    /// The twin acted on.
    pub target: TwinId,
    /// What to do.
    pub kind: ActionKind,
    /// Why.
    pub finding: Finding,
    /// Severity of the finding's policy.
    pub severity: Severity,
    /// Priority score with its terms.
    pub score: ScoreBreakdown,
    /// Risk in [0, 1].
    pub risk: f64,
    /// Change of monthly cost.
    pub monthly_cost: f64,
    /// Time to take effect.
    pub duration_secs: i64,
    /// The action that undoes it, if any.
    pub rollback: Option<ActionKind>,
    /// What changes on the twin, field by field.
    pub changes: Vec<FieldChange>,
    /// The modeled effect, in words.
    pub predicted_effect: String,
    /// What the proposal rests on.
    pub evidence: Vec<String>,
}

/// The default action for a metric when the policy binds none.
fn default_action(metric: &str, twin: &Twin) -> ActionKind {
    let replicated = twin.capacity.replicas.is_some();
    match metric {
        "cpu_usage" if replicated => ActionKind::ScaleOut { replicas: 1 },
        "cpu_usage" => ActionKind::ScaleUp { resource: Resource::Cpu, factor: 1.5 },
        "memory_usage" => ActionKind::ScaleUp { resource: Resource::Memory, factor: 1.5 },
        "disk_usage" => ActionKind::ScaleUp { resource: Resource::Disk, factor: 1.25 },
        crate::model::metric::UP => ActionKind::Restart,
        "latency_ms" | "error_rate" | "request_rate" if replicated => ActionKind::ScaleOut { replicas: 1 },
        _ => ActionKind::Notify { to: "on-call".into() },
    }
}

/// The desired values that put drifted keys back in line.
fn restore(keys: &[KeyDrift]) -> BTreeMap<String, ConfigValue> {
    keys.iter()
        .filter_map(|k| {
            let value = match (&k.rule.operator, &k.rule.expected) {
                (ConfigOperator::OneOf, ConfigValue::List(options)) => options.first()?.clone(),
                (ConfigOperator::Ne, _) => return None,
                (_, v) => v.clone(),
            };
            Some((k.rule.key.clone(), value))
        })
        .collect()
}

/// What an action does to a metric's value, as a factor, when the model knows.
fn metric_factor(kind: &ActionKind, metric: &str, twin: &Twin) -> Option<f64> {
    match kind {
        ActionKind::ScaleUp { resource, factor } if resource.metric() == metric => Some(1.0 / factor),
        ActionKind::ScaleDown { resource, factor } if resource.metric() == metric => Some(*factor),
        ActionKind::ScaleOut { replicas } | ActionKind::ScaleIn { replicas }
            if matches!(metric, "cpu_usage" | "latency_ms" | "error_rate" | "memory_usage") =>
        {
            let n = f64::from(twin.capacity.replicas.unwrap_or(1));
            let k = f64::from(*replicas);
            Some(if matches!(kind, ActionKind::ScaleOut { .. }) { n / (n + k) } else { n / (n - k).max(1.0) })
        }
        _ => None,
    }
}

fn effect_text(kind: &ActionKind, finding: &Finding, twin: &Twin, graph: &TwinGraph) -> String {
    if let (Some(metric), Some(value)) = (finding.metric(), finding.value())
        && let Some(f) = metric_factor(kind, metric.as_str(), twin)
    {
        return format!("{metric} {value:.1} to about {:.1} ({kind})", value * f);
    }
    match kind {
        ActionKind::Reconfigure { set } => {
            let keys: Vec<&str> = set.keys().map(String::as_str).collect();
            format!("configuration back to the desired state for {}", keys.join(", "))
        }
        ActionKind::Restart => {
            let hit = graph.dependents(&twin.id).len();
            format!("leaks cleared; down for about 2 min, {hit} direct dependents see errors meanwhile")
        }
        ActionKind::Migrate { .. } => "load moves to a less busy host; contention drops".into(),
        ActionKind::Notify { to } => format!("{to} is told; the twin itself does not change"),
        other => format!("{other}"),
    }
}

fn action_id(target: &TwinId, kind: &ActionKind, finding: &Finding) -> String {
    let text = format!("{target}|{kind}|{}", finding.key());
    blake3::hash(text.as_bytes()).to_hex()[..10].to_string()
}

/// The host a twin runs on (its first `runs_on` target).
pub fn host_of(graph: &TwinGraph, id: &TwinId) -> Option<TwinId> {
    graph.dependencies(id).into_iter().find(|(_, d)| d.kind == EdgeKind::RunsOn).map(|(t, _)| t.id.clone())
}

/// Where a migration without a named target would go, as a plan can tell now: the
/// host (or VM) other than the twin's own with the fewest workloads running on it
/// (ties by id). The simulation picks the least loaded host by CPU at the moment the
/// action takes effect, which the plan cannot know in advance.
pub fn migration_target(graph: &TwinGraph, twin: &TwinId) -> Option<TwinId> {
    let current = host_of(graph, twin);
    graph
        .twins()
        .filter(|h| matches!(h.kind, TwinKind::Host | TwinKind::Vm) && Some(&h.id) != current.as_ref())
        .map(|h| {
            let workloads = graph.dependents(&h.id).iter().filter(|(_, d)| d.kind == EdgeKind::RunsOn).count();
            (workloads, h.id.clone())
        })
        .min()
        .map(|(_, id)| id)
}

/// Candidate actions for findings, best first (see the module docs of
/// [`super::priority`] for the order); actions for symptoms (findings with a
/// [`Cause`]) rank below all others. For each finding: the policy's first bound
/// action that is not a notification (or the default for the metric), plus every
/// bound notification. The same action on the same twin proposed by several findings
/// is kept once, with the best score and all the evidence.
pub fn candidates(graph: &TwinGraph, policies: &[Policy], findings: &[Finding], weights: &Weights) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for finding in findings {
        let Some(twin) = graph.twin(finding.twin()) else {
            continue;
        };
        let policy: Option<&Policy> = policies.iter().find(|p| p.name == finding.policy());
        let severity = policy.map_or(Severity::Medium, |p| p.severity);
        let bound: &[ActionKind] = policy.map_or(&[], |p| &p.actions);
        let mut kinds: Vec<ActionKind> = Vec::new();
        let primary =
            bound.iter().find(|k| !matches!(k, ActionKind::Notify { .. })).cloned().or_else(|| match finding {
                Finding::Drift { keys, .. } => Some(ActionKind::Reconfigure { set: restore(keys) }),
                // An anomaly is a question before it is a fault: someone looks.
                Finding::Anomaly { .. } => Some(ActionKind::Notify { to: "on-call".into() }),
                _ => finding.metric().map(|m| default_action(m.as_str(), twin)),
            });
        kinds.extend(primary);
        kinds.extend(bound.iter().filter(|k| matches!(k, ActionKind::Notify { .. })).cloned());
        for mut kind in kinds {
            // `reconfigure` without keys restores the desired values of the keys that are
            // off: the drift finding's keys, or the policy's own configuration rules.
            if let ActionKind::Reconfigure { set } = &kind
                && set.is_empty()
            {
                let keys = match finding {
                    Finding::Drift { keys, .. } => keys.clone(),
                    _ => policy.map_or_else(Vec::new, |p| drifted_keys(p, twin)),
                };
                if keys.is_empty() {
                    continue;
                }
                kind = ActionKind::Reconfigure { set: restore(&keys) };
            }
            let effect = effect_text(&kind, finding, twin, graph);
            let candidate = proposal(graph, twin, kind, finding.clone(), severity, weights, effect);
            match out.iter_mut().find(|c| c.target == candidate.target && c.kind == candidate.kind) {
                Some(existing) => {
                    existing.evidence.extend(candidate.evidence.iter().cloned());
                    // A finding of its own outweighs a symptom's, then the best score.
                    let own = |c: &Candidate| c.finding.cause().is_none();
                    let better = (own(&candidate), candidate.score.total) > (own(existing), existing.score.total);
                    if better {
                        let evidence = std::mem::take(&mut existing.evidence);
                        *existing = Candidate { evidence, ..candidate };
                    }
                }
                None => out.push(candidate),
            }
        }
    }
    // Notifications follow the action they accompany: they rank by the best score of
    // the other actions for the same twin and policy.
    let group_score = |c: &Candidate| -> f64 {
        if !matches!(c.kind, ActionKind::Notify { .. }) {
            return c.score.total;
        }
        out.iter()
            .filter(|o| o.target == c.target && o.finding.policy() == c.finding.policy())
            .filter(|o| !matches!(o.kind, ActionKind::Notify { .. }))
            .map(|o| o.score.total)
            .reduce(f64::max)
            .unwrap_or(c.score.total)
    };
    let mut keyed: Vec<(f64, bool, Candidate)> =
        out.iter().map(|c| (group_score(c), matches!(c.kind, ActionKind::Notify { .. }), c.clone())).collect();
    // Root cause before symptoms: an action for a symptom ranks below every other.
    keyed.sort_by(|(ga, na, a), (gb, nb, b)| {
        a.finding
            .cause()
            .is_some()
            .cmp(&b.finding.cause().is_some())
            .then_with(|| gb.total_cmp(ga))
            .then_with(|| na.cmp(nb))
            .then_with(|| b.score.total.total_cmp(&a.score.total))
            .then_with(|| b.severity.cmp(&a.severity))
            .then_with(|| a.target.cmp(&b.target))
            .then_with(|| a.id.cmp(&b.id))
    });
    keyed.into_iter().map(|(_, _, c)| c).collect()
}

/// A proposal of `kind` on `twin` for `finding`: the changes it makes, its risk, cost,
/// rollback and score.
fn proposal(
    graph: &TwinGraph,
    twin: &Twin,
    kind: ActionKind,
    finding: Finding,
    severity: Severity,
    weights: &Weights,
    predicted_effect: String,
) -> Candidate {
    let mut after = twin.clone();
    let mut changes = kind.apply(&mut after);
    if let ActionKind::Migrate { to } = &kind {
        // A plan names both hosts: where the twin runs now and where it goes.
        let from = host_of(graph, &twin.id).map_or_else(|| "(no host)".to_string(), |h| h.to_string());
        let target = match to {
            Some(to) => to.to_string(),
            None => migration_target(graph, &twin.id)
                .map_or_else(|| "(no other host)".to_string(), |h| format!("{h} (fewest workloads now)")),
        };
        changes = vec![FieldChange::text("placement", Some(&from), &target)];
    }
    let risk = kind.risk();
    let monthly_cost = kind.monthly_cost(twin);
    let blast = graph.blast_radius(&twin.id).len();
    let score = score(weights, severity, blast, graph.twin_count(), finding.urgency(), risk, monthly_cost);
    Candidate {
        id: action_id(&twin.id, &kind, &finding),
        target: twin.id.clone(),
        rollback: kind.inverse(twin, host_of(graph, &twin.id).as_ref()),
        predicted_effect,
        duration_secs: kind.duration_secs(),
        evidence: vec![finding.reason()],
        kind,
        finding,
        severity,
        score,
        risk,
        monthly_cost,
        changes,
    }
}

/// A proposal for an action rehearsed on the twins: `kind` on `target`, justified by
/// the rehearsal (of kind `what`, described by `rehearsal`) and what it measured
/// (`outcome`, which is also its predicted effect), with `evidence` after that. `None`
/// when the twin does not exist or the action is not valid.
pub fn rehearsed(
    graph: &TwinGraph,
    target: &TwinId,
    kind: ActionKind,
    what: Rehearsal,
    rehearsal: &str,
    outcome: &str,
    evidence: &[String],
) -> Option<Candidate> {
    let twin = graph.twin(target)?;
    kind.validate().ok()?;
    let finding = Finding::Rehearsed {
        twin: twin.id.clone(),
        kind: what,
        rehearsal: rehearsal.to_string(),
        outcome: outcome.to_string(),
    };
    let mut c = proposal(graph, twin, kind, finding, Severity::Medium, &Weights::default(), outcome.to_string());
    c.evidence.extend(evidence.iter().cloned());
    Some(c)
}

/// The configuration rules of `policy` that `twin` does not hold, as drifted keys.
fn drifted_keys(policy: &Policy, twin: &Twin) -> Vec<KeyDrift> {
    policy
        .config_rules
        .iter()
        .filter_map(|rule| {
            let actual = twin.config.get(&rule.key);
            let deviation = rule.deviation(actual);
            (deviation.kind != crate::policy::DeviationKind::None).then(|| KeyDrift {
                policy: policy.name.clone(),
                rule: rule.clone(),
                actual: actual.cloned(),
                deviation,
                since: None,
            })
        })
        .collect()
}

/// Whether an action was approved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Approval {
    /// Approved by someone.
    Approved {
        /// Who (user name or the command line's `--approve`).
        by: String,
    },
    /// Rejected by someone.
    Rejected {
        /// Who.
        by: String,
    },
    /// Waiting.
    Pending,
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanStep {
    /// Position in the plan, from 1.
    pub order: usize,
    /// The proposal.
    pub candidate: Candidate,
    /// Its approval.
    pub approval: Approval,
}

/// A plan: approved (and pending) actions in order, with the fingerprint of the state
/// they were computed on.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Scenario name.
    pub scenario: String,
    /// The scenario's "now" the plan was computed for.
    pub computed_for: UnixSecs,
    /// Fingerprint of twin state and policies.
    pub fingerprint: String,
    /// Fingerprint per twin (to say which twins changed when the plan is stale).
    pub twin_fingerprints: BTreeMap<TwinId, String>,
    /// Steps in order.
    pub steps: Vec<PlanStep>,
}

/// Which candidates to approve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApproveSpec {
    /// Everything.
    All,
    /// Nothing (a proposal for review).
    None,
    /// These action ids.
    Ids(Vec<String>),
}

/// What a plan is computed on: the scenario's name and "now", its twins and the
/// policies in force.
#[derive(Clone, Copy, Debug)]
pub struct PlanContext<'a> {
    /// Scenario name.
    pub scenario: &'a str,
    /// The time the findings are for.
    pub computed_for: UnixSecs,
    /// The twins.
    pub graph: &'a TwinGraph,
    /// The policies in force.
    pub policies: &'a [Policy],
}

impl<'a> PlanContext<'a> {
    /// A scenario with its own policies, at its end.
    pub fn of(scenario: &'a Scenario) -> Self {
        Self {
            scenario: &scenario.name,
            computed_for: scenario.end,
            graph: &scenario.graph,
            policies: &scenario.policies,
        }
    }
}

/// Builds a plan from ranked candidates.
pub fn plan(
    context: PlanContext<'_>,
    candidates: Vec<Candidate>,
    approve: &ApproveSpec,
    approver: &str,
) -> Result<Plan, String> {
    if let ApproveSpec::Ids(ids) = approve
        && let Some(unknown) = ids.iter().find(|id| !candidates.iter().any(|c| &&c.id == id))
    {
        let known: Vec<&str> = candidates.iter().map(|c| c.id.as_str()).collect();
        return Err(format!("no proposed action has id {unknown:?} (ids: {})", known.join(", ")));
    }
    let steps = candidates
        .into_iter()
        .enumerate()
        .map(|(i, candidate)| {
            let approved = match approve {
                ApproveSpec::All => true,
                ApproveSpec::None => false,
                ApproveSpec::Ids(ids) => ids.contains(&candidate.id),
            };
            let approval = if approved { Approval::Approved { by: approver.to_string() } } else { Approval::Pending };
            PlanStep { order: i + 1, candidate, approval }
        })
        .collect();
    let (fingerprint, twin_fingerprints) = fingerprint(context.graph, context.policies);
    Ok(Plan {
        scenario: context.scenario.to_string(),
        computed_for: context.computed_for,
        fingerprint,
        twin_fingerprints,
        steps,
    })
}

pub use super::fingerprint::fingerprint;

/// Twins whose fingerprint differs between a plan and the current state (added,
/// removed or changed), sorted.
pub fn changed_twins(old: &BTreeMap<TwinId, String>, new: &BTreeMap<TwinId, String>) -> Vec<TwinId> {
    let mut ids: Vec<TwinId> =
        old.keys().chain(new.keys()).filter(|id| old.get(*id) != new.get(*id)).cloned().collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Why a plan computed on (`planned`, `planned_twins`) no longer matches the twins
/// and policies now, or `None` when it does: the twins whose fingerprint changed, or
/// that the policies or dependencies changed.
pub fn staleness(
    planned: &str,
    planned_twins: &BTreeMap<TwinId, String>,
    graph: &TwinGraph,
    policies: &[Policy],
) -> Option<String> {
    let (now, now_twins) = fingerprint(graph, policies);
    if now == planned {
        return None;
    }
    let changed = changed_twins(planned_twins, &now_twins);
    Some(if changed.is_empty() {
        "the policies or dependencies changed".to_string()
    } else {
        let names: Vec<&str> = changed.iter().map(|t| t.as_str()).collect();
        format!("twins changed since it was computed: {}", names.join(", "))
    })
}

/// A plan step's address in Terraform's indexed style, `KIND.ID[INDEX]`, e.g.
/// `database.db-primary[1]`: `index` counts the plan's steps on the same twin from 0,
/// in plan order, so the address is unique in a plan and the same for the same inputs.
pub fn address(kind: &str, id: &TwinId, index: usize) -> String {
    format!("{kind}.{id}[{index}]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConfigChange, Twin};
    use crate::policy::{ConfigRule, Deviation, DeviationKind};

    fn scenario() -> Scenario {
        let mut s = Scenario { name: "t".into(), end: 1000, ..Scenario::default() };
        let mut db = Twin::new("db", TwinKind::Database);
        db.capacity.disk_gib = Some(100.0);
        db.config.insert("max_connections".into(), ConfigValue::Int(200));
        db.config_history.push(ConfigChange { at: 10, key: "max_connections".into(), before: None, after: None });
        s.graph.add_twin(db).unwrap();
        let mut web = Twin::new("web", TwinKind::Service);
        web.capacity.replicas = Some(2);
        s.graph.add_twin(web).unwrap();
        s.graph
            .add_dependency(&"web".into(), &"db".into(), crate::model::Dependency::new(EdgeKind::DependsOn))
            .unwrap();
        let mut disk = Policy::named("disk");
        disk.severity = Severity::Critical;
        disk.actions = vec![
            ActionKind::ScaleUp { resource: Resource::Disk, factor: 1.5 },
            ActionKind::Notify { to: "dba".into() },
        ];
        s.policies.push(disk);
        s.policies.push(Policy::named("cpu"));
        s
    }

    fn findings() -> Vec<Finding> {
        let drift_key = KeyDrift {
            policy: "db-config".into(),
            rule: ConfigRule {
                key: "max_connections".into(),
                operator: ConfigOperator::Eq,
                expected: ConfigValue::Int(500),
            },
            actual: Some(ConfigValue::Int(200)),
            deviation: Deviation { amount: 0.6, kind: DeviationKind::Numeric },
            since: Some(10),
        };
        vec![
            Finding::Predicted {
                policy: "disk".into(),
                rule: "disk_usage > 90".into(),
                metric: "disk_usage".into(),
                twin: "db".into(),
                at: 5000,
                eta_secs: 4000,
                probability: 0.8,
                value: 85.0,
            },
            Finding::Violation {
                policy: "cpu".into(),
                rule: "cpu_usage > 80".into(),
                metric: "cpu_usage".into(),
                twin: "web".into(),
                value: 91.0,
                since: 900,
                cause: None,
            },
            Finding::Drift { policy: "db-config".into(), twin: "db".into(), keys: vec![drift_key] },
        ]
    }

    #[test]
    fn bound_defaults_and_drift_become_ranked_candidates() {
        let s = scenario();
        let c = candidates(&s.graph, &s.policies, &findings(), &Weights::default());
        let kinds: Vec<String> = c.iter().map(|c| format!("{} {}", c.target, c.kind)).collect();
        assert_eq!(c.len(), 4, "{kinds:?}");
        assert!(kinds.contains(&"db scale disk up ×1.5".to_string()));
        assert!(kinds.contains(&"db notify dba".to_string()));
        assert!(kinds.contains(&"web add 1 replica(s)".to_string()), "cpu default for a replicated twin");
        assert!(kinds.contains(&"db reconfigure max_connections = 500".to_string()));
        let scale = c.iter().find(|c| matches!(c.kind, ActionKind::ScaleUp { .. })).unwrap();
        let disk = |gib| Some(ConfigValue::Float(gib));
        assert_eq!(scale.changes, vec![FieldChange::new("capacity.disk_gib", disk(100.0), disk(150.0))]);
        assert!(scale.predicted_effect.contains("disk_usage 85.0 to about 56.7"), "{}", scale.predicted_effect);
        assert!(matches!(scale.rollback, Some(ActionKind::ScaleDown { .. })));
        let primaries: Vec<f64> =
            c.iter().filter(|c| !matches!(c.kind, ActionKind::Notify { .. })).map(|c| c.score.total).collect();
        assert!(primaries.windows(2).all(|w| w[0] >= w[1]), "actions in score order");
        let notify = c.iter().position(|c| matches!(c.kind, ActionKind::Notify { .. })).unwrap();
        assert!(matches!(c[notify - 1].kind, ActionKind::ScaleUp { .. }), "the notification follows its action");
        // Deterministic ids and order.
        assert_eq!(candidates(&s.graph, &s.policies, &findings(), &Weights::default()), c);
    }

    #[test]
    fn a_violation_behind_a_dead_dependency_is_its_symptom_and_ranks_last() {
        let mut s = scenario();
        let mut host = Twin::new("host", TwinKind::Host);
        host.capacity.cpu_cores = Some(4.0);
        s.graph.add_twin(host).unwrap();
        s.graph.add_dependency(&"db".into(), &"host".into(), crate::model::Dependency::new(EdgeKind::RunsOn)).unwrap();
        let mut found = findings();
        // The database is down: web's cpu violation is its symptom, the db's own are not.
        let causes: BTreeMap<TwinId, String> = [("db".into(), "down".to_string())].into();
        attribute(&mut found, &s.graph, &causes);
        let web = found.iter().find(|f| f.twin().as_str() == "web").unwrap();
        assert_eq!(web.cause(), Some(&Cause { twin: "db".into(), what: "down".into() }));
        assert!(web.reason().ends_with("caused by db down"), "{}", web.reason());
        assert!(found.iter().filter(|f| f.twin().as_str() == "db").all(|f| f.cause().is_none()));
        let c = candidates(&s.graph, &s.policies, &found, &Weights::default());
        let last = c.last().unwrap();
        assert_eq!((last.target.as_str(), last.finding.cause().is_some()), ("web", true), "the symptom ranks last");
        // Through two hops: the host is down, so are the db's violations and web's.
        let mut found = findings();
        attribute(&mut found, &s.graph, &[("host".into(), "down".to_string())].into());
        let violation = found.iter().find(|f| matches!(f, Finding::Violation { .. })).unwrap();
        assert_eq!(violation.cause().map(|c| c.twin.as_str()), Some("host"));
        // Nothing down: nothing attributed.
        let mut found = findings();
        attribute(&mut found, &s.graph, &BTreeMap::new());
        assert!(found.iter().all(|f| f.cause().is_none()));
    }

    #[test]
    fn a_migration_names_its_source_and_target_hosts() {
        let mut s = scenario();
        for host in ["host-a", "host-b", "host-c"] {
            s.graph.add_twin(Twin::new(host, TwinKind::Host)).unwrap();
        }
        let runs_on = || crate::model::Dependency::new(EdgeKind::RunsOn);
        s.graph.add_dependency(&"db".into(), &"host-a".into(), runs_on()).unwrap();
        s.graph.add_dependency(&"web".into(), &"host-b".into(), runs_on()).unwrap();
        let migrate = |to: Option<&str>| {
            let kind = ActionKind::Migrate { to: to.map(TwinId::new) };
            rehearsed(&s.graph, &"db".into(), kind, Rehearsal::WhatIf, "what-if", "less contention", &[])
                .unwrap()
                .changes
        };
        let row = |from: &str, to: &str| vec![FieldChange::text("placement", Some(from), to)];
        // host-c runs nothing, host-b runs web: the least busy is host-c.
        assert_eq!(migrate(None), row("host-a", "host-c (fewest workloads now)"));
        assert_eq!(migrate(Some("host-b")), row("host-a", "host-b"));
    }

    #[test]
    fn reason_names_round_trip() {
        for reason in ActionReason::ALL {
            assert_eq!(ActionReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(ActionReason::WhatIfRehearsal.as_str(), "what_if_rehearsal");
        assert_eq!(ActionReason::parse("manual"), None);
    }

    #[test]
    fn plans_approve_and_fingerprint() {
        let s = scenario();
        let c = candidates(&s.graph, &s.policies, &findings(), &Weights::default());
        let first = c[0].id.clone();
        let p = plan(PlanContext::of(&s), c.clone(), &ApproveSpec::Ids(vec![first.clone()]), "alice").unwrap();
        assert_eq!(p.steps[0].approval, Approval::Approved { by: "alice".into() });
        assert_eq!(p.steps[1].approval, Approval::Pending);
        assert!(plan(PlanContext::of(&s), c, &ApproveSpec::Ids(vec!["nope".into()]), "alice").is_err());
        let mut changed = s.clone();
        changed.graph.twin_mut(&"db".into()).unwrap().config.insert("max_connections".into(), ConfigValue::Int(300));
        let (a, per_a) = fingerprint(&s.graph, &s.policies);
        let (b, per_b) = fingerprint(&changed.graph, &changed.policies);
        assert_ne!(a, b);
        assert_eq!(changed_twins(&per_a, &per_b), vec![TwinId::from("db")]);
    }
}
