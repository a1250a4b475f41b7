//! Plan files: JSON shaped like a Terraform plan (`resource_changes[{address,
//! change{actions, before, after}, action_reason}]`, twinbench's own details under
//! `twinbench`), RON with the same fields, and a Markdown runbook for humans. All three
//! carry the fingerprint of the state the plan was computed on; `verify` reads it back
//! (from JSON, RON, or the runbook's header comment) and `plan show` prints a plan.
//!
//! The format is twinbench's own, version [`PLAN_VERSION`] (`twinbench_plan_version:
//! 2`), not Terraform's: a tool can rely on
//! - `address` being unique in the plan: Terraform's indexed form `KIND.ID[i]`, where `i`
//!   counts the steps on the same twin in plan order from 0 (`database.db-primary[0]`,
//!   `database.db-primary[1]`), so the same inputs give the same addresses; `type`,
//!   `name` and `index` are its parts;
//! - `before`/`after` values typed as the twin holds them: capacities as numbers
//!   (`capacity.disk_gib: 2000.0`, `capacity.replicas: 3`), configuration keys as their
//!   own type (number, boolean, string, list), `null` for a key that was absent, and
//!   text for what is not a setting (`placement`, `process`, `notification`);
//! - `action_reason` from a closed set — `policy_violation`, `predicted_violation`,
//!   `anomaly`, `drift`, `what_if_rehearsal`, `chaos_rehearsal`
//!   ([`crate::remediation::plan::ActionReason`]) — with the sentence in `reason_text`.
//!
//! Version 1.0 files (`format_version: "1.0"`: repeated addresses, every value a
//! string, the reason as text) are still read: their values are typed back from the
//! way version 1.0 wrote them and their addresses indexed as above, so `verify` and
//! `plan show` take them. Other versions are refused, naming the version.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::alertmanager::AlertFile;
use super::time::format_rfc3339;
use super::{IoError, read_text};
use crate::model::{ActionKind, ConfigValue, TwinGraph, TwinId};
use crate::remediation::plan::{ActionReason, Approval, Plan, PlanStep, address};

/// Version of the plan format written.
pub const PLAN_VERSION: u32 = 2;

/// The `format_version` of the first plan format (still read).
pub const PLAN_FORMAT_V1: &str = "1.0";

/// A plan as written (version [`PLAN_VERSION`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// twinbench's plan format version.
    pub twinbench_plan_version: u32,
    /// The tool that wrote it.
    pub tool: String,
    /// Its version.
    pub tool_version: String,
    /// Scenario name.
    pub scenario: String,
    /// The scenario time the plan was computed for.
    pub computed_for: String,
    /// Fingerprint of twin state and policies.
    pub fingerprint: String,
    /// Fingerprint per twin.
    pub twin_fingerprints: BTreeMap<String, String>,
    /// The actions, in order.
    pub resource_changes: Vec<ResourceChange>,
    /// The approved notifications as Alertmanager alerts (`plan --alertmanager` sends
    /// them; see [`super::alertmanager`]). Empty for a plan read from format 1.0.
    #[serde(default)]
    pub alerts: Vec<AlertFile>,
    /// The version of the file read, when it was an older one brought up to this
    /// format (not written).
    #[serde(skip)]
    pub read_from: Option<String>,
}

/// One action, Terraform style.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResourceChange {
    /// `kind.id[index]`, e.g. `database.db-primary[0]`: unique in the plan.
    pub address: String,
    /// Twin kind.
    #[serde(rename = "type")]
    pub kind: String,
    /// Twin id.
    pub name: String,
    /// The step's position among the steps on the same twin, from 0.
    pub index: usize,
    /// What changes.
    pub change: Change,
    /// What the step rests on.
    pub action_reason: ReasonFile,
    /// Why, in one line.
    pub reason_text: String,
    /// twinbench's details.
    pub twinbench: Details,
}

/// What a step rests on, as written: the name of an [`ActionReason`]
/// (`policy_violation`, …); any other name is an error listing the known ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasonFile(pub ActionReason);

impl ReasonFile {
    /// The name in files.
    pub fn as_str(self) -> &'static str {
        self.0.as_str()
    }
}

impl Serialize for ReasonFile {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ReasonFile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        ActionReason::parse(&name)
            .map(ReasonFile)
            .ok_or_else(|| serde::de::Error::unknown_variant(&name, &ActionReason::NAMES))
    }
}

/// Before and after.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// `update`, `delete`+`create` (a restart), or `no-op` (a notification).
    pub actions: Vec<String>,
    /// Field values before (`null`: absent).
    pub before: BTreeMap<String, Value>,
    /// Field values after.
    pub after: BTreeMap<String, Value>,
}

/// twinbench's details of an action.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Details {
    /// Stable id (use it with `--approve`).
    pub id: String,
    /// Position in the plan.
    pub order: usize,
    /// Action kind (`scale_up`, `reconfigure`, …).
    pub action: String,
    /// The action in words.
    pub description: String,
    /// What the proposal rests on.
    pub evidence: Vec<String>,
    /// Modeled effect.
    pub predicted_effect: String,
    /// Priority score and its terms.
    pub score: ScoreFile,
    /// Risk in [0, 1].
    pub risk: f64,
    /// Change of monthly cost.
    pub monthly_cost: f64,
    /// Time to take effect, seconds.
    pub duration_secs: i64,
    /// How to undo it (`null`: it cannot be undone).
    pub rollback: Option<String>,
    /// Approval.
    pub approval: ApprovalFile,
}

/// A score as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScoreFile {
    /// Weighted total.
    pub total: f64,
    /// Severity term.
    pub severity: f64,
    /// Impact term.
    pub impact: f64,
    /// Urgency term.
    pub urgency: f64,
    /// Cost/risk term.
    pub cost: f64,
}

/// An approval stamp.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApprovalFile {
    /// Approved, rejected or pending.
    pub status: ApprovalStatus,
    /// Who decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// The state of an approval.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Approved: to be carried out.
    Approved,
    /// Rejected.
    Rejected,
    /// Not decided.
    Pending,
}

impl ApprovalStatus {
    /// The name in files.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Rejected => "rejected",
            ApprovalStatus::Pending => "pending",
        }
    }
}

/// A configuration value as a JSON value (non-finite floats, which no twin holds,
/// become `null`).
pub fn config_json(value: &ConfigValue) -> Value {
    match value {
        ConfigValue::Str(s) => Value::String(s.clone()),
        ConfigValue::Int(i) => Value::from(*i),
        ConfigValue::Float(f) => Value::from(*f),
        ConfigValue::Bool(b) => Value::Bool(*b),
        ConfigValue::List(items) => Value::Array(items.iter().map(config_json).collect()),
    }
}

/// A plan value for people: text as it is, `(absent)` for null, numbers and lists as
/// JSON writes them.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Null => "(absent)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn terraform_actions(kind: &ActionKind) -> Vec<String> {
    match kind {
        ActionKind::Restart => vec!["delete".into(), "create".into()],
        ActionKind::Notify { .. } => vec!["no-op".into()],
        _ => vec!["update".into()],
    }
}

/// The file form of a plan.
pub fn to_file(plan: &Plan, graph: &TwinGraph) -> PlanFile {
    let mut per_twin: BTreeMap<&TwinId, usize> = BTreeMap::new();
    let resource_changes = plan
        .steps
        .iter()
        .map(|step| {
            let c = &step.candidate;
            let kind = graph.twin(&c.target).map_or("unknown", |t| t.kind.as_str());
            let index = {
                let next = per_twin.entry(&c.target).or_insert(0);
                *next += 1;
                *next - 1
            };
            let (status, by) = match &step.approval {
                Approval::Approved { by } => (ApprovalStatus::Approved, Some(by.clone())),
                Approval::Rejected { by } => (ApprovalStatus::Rejected, Some(by.clone())),
                Approval::Pending => (ApprovalStatus::Pending, None),
            };
            let typed = |v: &Option<ConfigValue>| v.as_ref().map_or(Value::Null, config_json);
            ResourceChange {
                address: address(kind, &c.target, index),
                kind: kind.to_string(),
                name: c.target.to_string(),
                index,
                change: Change {
                    actions: terraform_actions(&c.kind),
                    before: c.changes.iter().map(|f| (f.field.clone(), typed(&f.before))).collect(),
                    after: c.changes.iter().map(|f| (f.field.clone(), typed(&f.after))).collect(),
                },
                action_reason: ReasonFile(c.finding.reason_kind()),
                reason_text: c.finding.reason(),
                twinbench: Details {
                    id: c.id.clone(),
                    order: step.order,
                    action: c.kind.name().to_string(),
                    description: c.kind.to_string(),
                    evidence: c.evidence.clone(),
                    predicted_effect: c.predicted_effect.clone(),
                    score: ScoreFile {
                        total: round(c.score.total),
                        severity: round(c.score.severity),
                        impact: round(c.score.impact),
                        urgency: round(c.score.urgency),
                        cost: round(c.score.cost),
                    },
                    risk: round(c.risk),
                    monthly_cost: round(c.monthly_cost),
                    duration_secs: c.duration_secs,
                    rollback: c.rollback.as_ref().map(ToString::to_string),
                    approval: ApprovalFile { status, by },
                },
            }
        })
        .collect();
    PlanFile {
        twinbench_plan_version: PLAN_VERSION,
        tool: "twinbench".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        scenario: plan.scenario.clone(),
        computed_for: format_rfc3339(plan.computed_for),
        fingerprint: plan.fingerprint.clone(),
        twin_fingerprints: plan.twin_fingerprints.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        resource_changes,
        alerts: super::alertmanager::alerts(plan),
        read_from: None,
    }
}

/// Writes a plan; the format follows the extension (`.json`, `.ron`, `.md`).
pub fn write(path: &Path, plan: &Plan, graph: &TwinGraph) -> Result<(), IoError> {
    let file = to_file(plan, graph);
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let text = match ext.as_deref() {
        Some("json") => serde_json::to_string_pretty(&file).map_err(|e| IoError::invalid(path, e.to_string()))? + "\n",
        Some("ron") => {
            let config = ron::ser::PrettyConfig::new().struct_names(false);
            ron::Options::default()
                .to_string_pretty(&file, config)
                .map_err(|e| IoError::invalid(path, e.to_string()))?
                + "\n"
        }
        Some("md" | "markdown") => runbook(&file),
        _ => return Err(IoError::invalid(path, "unknown plan format: use .json, .ron or .md")),
    };
    super::write_bytes(path, "plan", text.as_bytes())
}

const FINGERPRINT_TAG: &str = "<!-- twinbench-plan ";

/// The Markdown runbook of a plan.
pub fn runbook(file: &PlanFile) -> String {
    let mut md = String::new();
    let approved: Vec<&ResourceChange> =
        file.resource_changes.iter().filter(|r| r.twinbench.approval.status == ApprovalStatus::Approved).collect();
    let header = serde_json::json!({
        "twinbench_plan_version": file.twinbench_plan_version,
        "fingerprint": file.fingerprint,
        "twin_fingerprints": file.twin_fingerprints,
    });
    let _ = writeln!(md, "{FINGERPRINT_TAG}{header} -->");
    let _ = writeln!(md, "# Remediation plan: {}\n", file.scenario);
    let _ = writeln!(
        md,
        "Computed for {} by {} {} — {} of {} proposed actions approved. Fingerprint `{}`.\n",
        file.computed_for,
        file.tool,
        file.tool_version,
        approved.len(),
        file.resource_changes.len(),
        &file.fingerprint[..16.min(file.fingerprint.len())]
    );
    let _ = writeln!(
        md,
        "Before you start, check the plan still matches the estate: `twinbench verify <this plan> --scenario <scenario>` \
         must report it current (exit 0). Work through the steps in order; tick each box when its check passes.\n"
    );
    let section = |md: &mut String, title: &str, items: &[&ResourceChange]| {
        if items.is_empty() {
            return;
        }
        let _ = writeln!(md, "## {title}\n");
        for r in items {
            let d = &r.twinbench;
            let _ = writeln!(md, "### {}. {} on `{}` ({})\n", d.order, capitalise(&d.description), r.name, r.kind);
            let _ = writeln!(md, "- **Address:** `{}`", r.address);
            let _ = writeln!(md, "- **Why** (`{}`): {}", r.action_reason.as_str(), r.reason_text);
            for e in d.evidence.iter().skip(1) {
                let _ = writeln!(md, "- **Also:** {e}");
            }
            let _ = writeln!(md, "- **Expected effect:** {}", d.predicted_effect);
            let _ = writeln!(
                md,
                "- **Risk** {:.2} · **cost** {:+.2}/month · **takes** about {} · **priority** {:.3} (severity {:.2}, impact {:.2}, urgency {:.2}, cost {:.2})",
                d.risk,
                d.monthly_cost,
                human_secs(d.duration_secs),
                d.score.total,
                d.score.severity,
                d.score.impact,
                d.score.urgency,
                d.score.cost
            );
            let _ = writeln!(
                md,
                "- **Rollback:** {}",
                d.rollback.as_deref().unwrap_or("none — this action cannot be undone")
            );
            let _ = writeln!(
                md,
                "- **Approval:** {}{}  (id `{}`)\n",
                d.approval.status.as_str(),
                d.approval.by.as_ref().map_or(String::new(), |b| format!(" by {b}")),
                d.id
            );
            if !r.change.before.is_empty() {
                let _ = writeln!(md, "| field | before | after |\n|---|---|---|");
                for (field, before) in &r.change.before {
                    let after = r.change.after.get(field).map_or_else(String::new, value_text);
                    let _ = writeln!(md, "| `{field}` | {} | {after} |", value_text(before));
                }
                let _ = writeln!(md);
            }
            let _ = writeln!(md, "- [ ] Done, and the twin's metrics look as expected afterwards\n");
        }
    };
    let pending: Vec<&ResourceChange> =
        file.resource_changes.iter().filter(|r| r.twinbench.approval.status != ApprovalStatus::Approved).collect();
    section(&mut md, "Approved steps", &approved);
    section(&mut md, "Proposed, not approved (for review)", &pending);
    if file.resource_changes.is_empty() {
        let _ = writeln!(md, "Nothing to do: no violations, predictions or drift needed an action.");
    }
    md
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().collect::<String>() + c.as_str())
}

fn human_secs(secs: i64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{} min", secs / 60)
    } else {
        format!("{:.1} h", secs as f64 / 3600.0)
    }
}

/// The version fields of a plan file, read before the whole (so a file of another
/// version is named as such rather than failing on its first unknown field).
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    twinbench_plan_version: Option<Value>,
    #[serde(default)]
    format_version: Option<Value>,
}

/// Reads a JSON or RON plan (version 2, or 1.0 brought up to it; see the module docs).
/// A `.md` runbook is for people: only its fingerprints are read back
/// ([`read_fingerprints`]).
pub fn read(path: &Path) -> Result<PlanFile, IoError> {
    let text = read_text(path, "plan")?;
    let format = match super::format::Format::of(path) {
        Some(f @ (super::format::Format::Json | super::format::Format::Ron)) => f,
        _ if is_markdown(path) => {
            return Err(IoError::invalid(
                path,
                "a Markdown runbook keeps only the plan's fingerprint for machines: read the .json or .ron plan it \
                 was written with",
            ));
        }
        _ => return Err(IoError::invalid(path, "unknown plan format: use .json or .ron")),
    };
    let probe: Probe = super::format::parse_doc(path, &text, format).map_err(not_a_plan)?;
    let version = match (&probe.twinbench_plan_version, &probe.format_version) {
        (Some(v), _) if v.as_u64() == Some(u64::from(PLAN_VERSION)) => PLAN_VERSION,
        (Some(v), _) => {
            return Err(IoError::invalid(
                path,
                format!("plan format version {v} is not one this twinbench reads (it reads {PLAN_VERSION} and 1.0)"),
            ));
        }
        (None, Some(Value::String(v))) if v == PLAN_FORMAT_V1 => 1,
        (None, Some(v)) => {
            return Err(IoError::invalid(
                path,
                format!("plan format_version {v} is not one this twinbench reads (it reads {PLAN_VERSION} and 1.0)"),
            ));
        }
        (None, None) => {
            return Err(IoError::invalid(path, "not a twinbench plan: it has no twinbench_plan_version"));
        }
    };
    let file = if version == 1 {
        let old: v1::PlanFile = super::format::parse_doc(path, &text, format).map_err(not_a_plan)?;
        v1::upgrade(old).map_err(|e| IoError::invalid(path, e))?
    } else {
        super::format::parse_doc(path, &text, format).map_err(not_a_plan)?
    };
    check(&file).map_err(|p| {
        let within: &[&str] = if p.in_steps { &["resource_changes"] } else { &[] };
        let at = super::located::Locator::new(&text).find_value_nth(within, &p.value, p.nth);
        IoError::at(path, at, p.message)
    })?;
    Ok(file)
}

fn not_a_plan(e: IoError) -> IoError {
    match e {
        IoError::Parse { path, line, col, message } => {
            IoError::Parse { path, line, col, message: format!("not a twinbench plan: {message}") }
        }
        other => other,
    }
}

fn is_markdown(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    matches!(ext.as_deref(), Some("md" | "markdown"))
}

/// Something wrong with a parsed plan, and the value to point at.
struct Problem {
    /// The value written where the problem is.
    value: String,
    /// Which occurrence of it (0-based).
    nth: usize,
    /// Whether it is inside `resource_changes`.
    in_steps: bool,
    /// What is wrong.
    message: String,
}

/// What a parsed plan must also hold: a sound fingerprint, unique addresses that
/// agree with `type`, `name` and `index`, and steps numbered in order.
fn check(file: &PlanFile) -> Result<(), Problem> {
    if !is_fingerprint(&file.fingerprint) {
        return Err(Problem {
            value: file.fingerprint.clone(),
            nth: 0,
            in_steps: false,
            message: "the plan's fingerprint is damaged (64 hex digits expected)".into(),
        });
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, r) in file.resource_changes.iter().enumerate() {
        let at = |nth: usize, message: String| Problem { value: r.address.clone(), nth, in_steps: true, message };
        if let Some(first) = seen.insert(&r.address, i) {
            let message = format!("resource_changes[{i}]: address {:?} repeats resource_changes[{first}]'s", r.address);
            return Err(at(1, message));
        }
        let expected = address(&r.kind, &TwinId::new(r.name.clone()), r.index);
        if r.address != expected {
            let message = format!(
                "resource_changes[{i}]: address {:?} does not match its type, name and index ({expected})",
                r.address
            );
            return Err(at(0, message));
        }
        if r.twinbench.order != i + 1 {
            let message = format!("resource_changes[{i}]: order {} where {} was expected", r.twinbench.order, i + 1);
            return Err(at(0, message));
        }
    }
    Ok(())
}

fn is_fingerprint(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The fingerprints a plan file was computed on: (whole, per twin).
pub fn read_fingerprints(path: &Path) -> Result<(String, BTreeMap<TwinId, String>), IoError> {
    let (fingerprint, per_twin) = if is_markdown(path) {
        #[derive(Deserialize)]
        struct Header {
            #[serde(default)]
            twinbench_plan_version: Option<u32>,
            fingerprint: String,
            twin_fingerprints: BTreeMap<String, String>,
        }
        let text = read_text(path, "plan")?;
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(FINGERPRINT_TAG).and_then(|l| l.strip_suffix(" -->")))
            .ok_or_else(|| IoError::at(path, (1, 1), "no twinbench fingerprint in this runbook"))?;
        let header: Header =
            serde_json::from_str(line).map_err(|e| IoError::at(path, (1, 1), format!("damaged fingerprint: {e}")))?;
        // Version 1.0 runbooks had no version in the header; both carry the same fields.
        if let Some(v) = header.twinbench_plan_version.filter(|v| *v != PLAN_VERSION) {
            return Err(IoError::at(path, (1, 1), format!("plan format version {v} is not one this twinbench reads")));
        }
        if !is_fingerprint(&header.fingerprint) {
            return Err(IoError::invalid(path, "the plan's fingerprint is damaged"));
        }
        (header.fingerprint, header.twin_fingerprints)
    } else {
        let file = read(path)?;
        (file.fingerprint, file.twin_fingerprints)
    };
    Ok((fingerprint, per_twin.into_iter().map(|(k, v)| (TwinId::new(k), v)).collect()))
}

/// The first plan format, read to bring old files up to the current one.
mod v1 {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::Value;

    use super::{ApprovalStatus, ReasonFile};
    use crate::remediation::plan::ActionReason;

    #[derive(Deserialize)]
    pub struct PlanFile {
        tool: String,
        tool_version: String,
        scenario: String,
        computed_for: String,
        fingerprint: String,
        twin_fingerprints: BTreeMap<String, String>,
        resource_changes: Vec<ResourceChange>,
    }

    #[derive(Deserialize)]
    struct ResourceChange {
        #[serde(rename = "type")]
        kind: String,
        name: String,
        change: Change,
        action_reason: String,
        twinbench: Details,
    }

    #[derive(Deserialize)]
    struct Change {
        actions: Vec<String>,
        before: BTreeMap<String, String>,
        after: BTreeMap<String, String>,
    }

    #[derive(Deserialize)]
    struct Details {
        id: String,
        order: usize,
        action: String,
        description: String,
        evidence: Vec<String>,
        predicted_effect: String,
        score: super::ScoreFile,
        risk: f64,
        monthly_cost: f64,
        duration_secs: i64,
        rollback: Option<String>,
        approval: Approval,
    }

    #[derive(Deserialize)]
    struct Approval {
        status: String,
        #[serde(default)]
        by: Option<String>,
    }

    /// A value of `field` as version 1.0 wrote it, typed: strings were quoted
    /// (`"warn"`), absent keys `(absent)`, a notification's before empty; numbers and
    /// booleans bare. What is neither (a host name, `running`) was text. Capacities
    /// other than replicas are real numbers (`2000` was written for 2000.0).
    pub(super) fn typed(field: &str, text: &str) -> Value {
        let value = match text {
            "" | "(absent)" => Value::Null,
            _ => serde_json::from_str::<Value>(text)
                .ok()
                .filter(|v| !v.is_object())
                .unwrap_or_else(|| Value::String(text.to_string())),
        };
        match (field.starts_with("capacity.") && field != "capacity.replicas", value.as_f64()) {
            (true, Some(x)) => Value::from(x),
            _ => value,
        }
    }

    /// The reason kind behind a version 1.0 reason sentence (they were written from
    /// the finding, so the start tells).
    fn reason(text: &str) -> Option<ReasonFile> {
        let prefixes = [
            ("violation of ", ActionReason::PolicyViolation),
            ("predicted violation of ", ActionReason::PredictedViolation),
            ("sustained anomaly of ", ActionReason::Anomaly),
            ("configuration drift from ", ActionReason::Drift),
            ("rehearsed in a what-if", ActionReason::WhatIfRehearsal),
            ("rehearsed in a chaos experiment", ActionReason::ChaosRehearsal),
        ];
        prefixes.iter().find(|(p, _)| text.starts_with(p)).map(|(_, r)| ReasonFile(*r))
    }

    pub fn upgrade(old: PlanFile) -> Result<super::PlanFile, String> {
        let mut per_twin: BTreeMap<String, usize> = BTreeMap::new();
        let mut changes = Vec::with_capacity(old.resource_changes.len());
        for (i, r) in old.resource_changes.into_iter().enumerate() {
            let index = {
                let next = per_twin.entry(r.name.clone()).or_insert(0);
                *next += 1;
                *next - 1
            };
            let action_reason = reason(&r.action_reason).ok_or_else(|| {
                format!("resource_changes[{i}]: cannot tell what the reason {:?} rests on", r.action_reason)
            })?;
            let status = match r.twinbench.approval.status.as_str() {
                "approved" => ApprovalStatus::Approved,
                "rejected" => ApprovalStatus::Rejected,
                "pending" => ApprovalStatus::Pending,
                other => return Err(format!("resource_changes[{i}]: unknown approval status {other:?}")),
            };
            let d = r.twinbench;
            changes.push(super::ResourceChange {
                address: crate::remediation::plan::address(&r.kind, &crate::model::TwinId::new(r.name.clone()), index),
                kind: r.kind,
                name: r.name,
                index,
                change: super::Change {
                    actions: r.change.actions,
                    before: r.change.before.iter().map(|(k, v)| (k.clone(), typed(k, v))).collect(),
                    after: r.change.after.iter().map(|(k, v)| (k.clone(), typed(k, v))).collect(),
                },
                action_reason,
                reason_text: r.action_reason,
                twinbench: super::Details {
                    id: d.id,
                    order: d.order,
                    action: d.action,
                    description: d.description,
                    evidence: d.evidence,
                    predicted_effect: d.predicted_effect,
                    score: d.score,
                    risk: d.risk,
                    monthly_cost: d.monthly_cost,
                    duration_secs: d.duration_secs,
                    rollback: d.rollback,
                    approval: super::ApprovalFile { status, by: d.approval.by },
                },
            });
        }
        Ok(super::PlanFile {
            twinbench_plan_version: super::PLAN_VERSION,
            tool: old.tool,
            tool_version: old.tool_version,
            scenario: old.scenario,
            computed_for: old.computed_for,
            fingerprint: old.fingerprint,
            twin_fingerprints: old.twin_fingerprints,
            resource_changes: changes,
            alerts: Vec::new(),
            read_from: Some(super::PLAN_FORMAT_V1.to_string()),
        })
    }
}

/// The plan for review, as text: what it was computed on, then each step with its
/// address, action, changes (before → after), reason and approval.
pub fn show(file: &PlanFile) -> String {
    let mut out = String::new();
    let approved = file.resource_changes.iter().filter(|r| r.twinbench.approval.status == ApprovalStatus::Approved);
    let _ = writeln!(out, "plan for {} at {}", file.scenario, file.computed_for);
    let _ = writeln!(out, "  fingerprint   {}", file.fingerprint);
    let format = match &file.read_from {
        Some(old) => format!("plan format {old}, read as {}", file.twinbench_plan_version),
        None => format!("plan format {}", file.twinbench_plan_version),
    };
    let _ = writeln!(out, "  written by    {} {} ({format})", file.tool, file.tool_version);
    let _ = writeln!(out, "  steps         {} ({} approved)", file.resource_changes.len(), approved.count());
    for r in &file.resource_changes {
        let d = &r.twinbench;
        let approval = match &d.approval.by {
            Some(by) => format!("{} by {by}", d.approval.status.as_str()),
            None => d.approval.status.as_str().to_string(),
        };
        let _ = writeln!(out, "\n{:>2}. {}  {}  [{approval}]", d.order, r.address, d.description);
        let _ = writeln!(out, "    action   {} ({}), id {}", d.action, r.change.actions.join("+"), d.id);
        for (field, before) in &r.change.before {
            let after = r.change.after.get(field).map_or_else(String::new, value_text);
            let _ = writeln!(out, "    change   {field}: {} → {after}", value_text(before));
        }
        let _ = writeln!(out, "    reason   {}: {}", r.action_reason.as_str(), r.reason_text);
        let _ = writeln!(out, "    effect   {}", d.predicted_effect);
        let _ = writeln!(
            out,
            "    risk {:.2} · cost {:+.2}/month · takes {} · score {:.3} · rollback: {}",
            d.risk,
            d.monthly_cost,
            human_secs(d.duration_secs),
            d.score.total,
            d.rollback.as_deref().unwrap_or("none")
        );
    }
    if file.resource_changes.is_empty() {
        let _ = writeln!(out, "\nNothing to do: no violations, predictions or drift needed an action.");
    }
    out
}

/// A line for a plan step in terminal output.
pub fn step_line(step: &PlanStep) -> String {
    let c = &step.candidate;
    let status = match &step.approval {
        Approval::Approved { .. } => "approved",
        Approval::Rejected { .. } => "rejected",
        Approval::Pending => "pending",
    };
    format!(
        "{:>2}. [{status:<8}] {:<10} {:<18} {:<34} score {:.3}  ({})",
        step.order,
        c.id,
        c.target,
        c.kind.to_string(),
        c.score.total,
        c.finding.reason()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_values_are_typed_back() {
        let typed = |field: &str, text: &str| v1::typed(field, text);
        assert_eq!(typed("capacity.disk_gib", "2000"), Value::from(2000.0));
        assert!(typed("capacity.disk_gib", "2000").is_f64());
        assert_eq!(typed("capacity.replicas", "3"), Value::from(3));
        assert_eq!(typed("config.log_level", "\"warn\""), Value::from("warn"));
        assert_eq!(typed("config.max_connections", "(absent)"), Value::Null);
        assert_eq!(typed("config.ratio", "0.5"), Value::from(0.5));
        assert_eq!(typed("config.tls", "true"), Value::Bool(true));
        assert_eq!(typed("config.zones", "[\"a\", \"b\"]"), serde_json::json!(["a", "b"]));
        assert_eq!(
            typed("placement", "host-03 → host-05 (fewest workloads now)").as_str(),
            Some("host-03 → host-05 (fewest workloads now)")
        );
        assert_eq!(typed("notification", ""), Value::Null);
        assert_eq!(typed("process", "running"), Value::from("running"));
    }

    #[test]
    fn configuration_values_keep_their_type() {
        let list = ConfigValue::List(vec![ConfigValue::Int(1), ConfigValue::Str("x".into())]);
        assert_eq!(config_json(&list), serde_json::json!([1, "x"]));
        assert_eq!(config_json(&ConfigValue::Float(2.0)).to_string(), "2.0");
        assert_eq!(value_text(&Value::Null), "(absent)");
        assert_eq!(value_text(&Value::from("warn")), "warn");
    }
}
