//! Plan files: JSON shaped like a Terraform plan (`resource_changes[{address,
//! change{actions, before, after}, action_reason}]`, twinbench's own details under
//! `twinbench`), RON with the same fields, and a Markdown runbook for humans. All three
//! carry the fingerprint of the state the plan was computed on; `verify` reads it back
//! (from JSON, RON, or the runbook's header comment).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::time::format_rfc3339;
use super::{IoError, read_text};
use crate::model::{ActionKind, TwinGraph, TwinId};
use crate::remediation::plan::{Approval, Plan, PlanStep, address};

/// Version of the plan format.
pub const PLAN_FORMAT_VERSION: &str = "1.0";

/// A plan as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanFile {
    /// Format version.
    pub format_version: String,
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
}

/// One action, Terraform style.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResourceChange {
    /// `kind.id`, e.g. `database.db-primary`.
    pub address: String,
    /// Twin kind.
    #[serde(rename = "type")]
    pub kind: String,
    /// Twin id.
    pub name: String,
    /// What changes.
    pub change: Change,
    /// Why, in one line.
    pub action_reason: String,
    /// twinbench's details.
    pub twinbench: Details,
}

/// Before and after.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Change {
    /// `update`, `delete`+`create` (a restart), or `no-op` (a notification).
    pub actions: Vec<String>,
    /// Field values before.
    pub before: BTreeMap<String, String>,
    /// Field values after.
    pub after: BTreeMap<String, String>,
}

/// twinbench's details of an action.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
pub struct ApprovalFile {
    /// `approved`, `rejected` or `pending`.
    pub status: String,
    /// Who decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
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
    let resource_changes = plan
        .steps
        .iter()
        .map(|step| {
            let c = &step.candidate;
            let kind = graph.twin(&c.target).map_or("unknown", |t| t.kind.as_str());
            let (status, by) = match &step.approval {
                Approval::Approved { by } => ("approved", Some(by.clone())),
                Approval::Rejected { by } => ("rejected", Some(by.clone())),
                Approval::Pending => ("pending", None),
            };
            ResourceChange {
                address: graph.twin(&c.target).map_or_else(|| c.target.to_string(), |t| address(t.kind, &t.id)),
                kind: kind.to_string(),
                name: c.target.to_string(),
                change: Change {
                    actions: terraform_actions(&c.kind),
                    before: c.changes.iter().map(|(f, b, _)| (f.clone(), b.clone())).collect(),
                    after: c.changes.iter().map(|(f, _, a)| (f.clone(), a.clone())).collect(),
                },
                action_reason: c.finding.reason(),
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
                    approval: ApprovalFile { status: status.into(), by },
                },
            }
        })
        .collect();
    PlanFile {
        format_version: PLAN_FORMAT_VERSION.into(),
        tool: "twinbench".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        scenario: plan.scenario.clone(),
        computed_for: format_rfc3339(plan.computed_for),
        fingerprint: plan.fingerprint.clone(),
        twin_fingerprints: plan.twin_fingerprints.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        resource_changes,
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
        file.resource_changes.iter().filter(|r| r.twinbench.approval.status == "approved").collect();
    let header = serde_json::json!({"fingerprint": file.fingerprint, "twin_fingerprints": file.twin_fingerprints});
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
            let _ = writeln!(md, "- **Why:** {}", r.action_reason);
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
                d.approval.status,
                d.approval.by.as_ref().map_or(String::new(), |b| format!(" by {b}")),
                d.id
            );
            if !r.change.before.is_empty() {
                let _ = writeln!(md, "| field | before | after |\n|---|---|---|");
                for (field, before) in &r.change.before {
                    let after = r.change.after.get(field).map_or("", String::as_str);
                    let _ = writeln!(md, "| `{field}` | {before} | {after} |");
                }
                let _ = writeln!(md);
            }
            let _ = writeln!(md, "- [ ] Done, and the twin's metrics look as expected afterwards\n");
        }
    };
    let pending: Vec<&ResourceChange> =
        file.resource_changes.iter().filter(|r| r.twinbench.approval.status != "approved").collect();
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

/// The fingerprints a plan file was computed on: (whole, per twin).
pub fn read_fingerprints(path: &Path) -> Result<(String, BTreeMap<TwinId, String>), IoError> {
    let text = read_text(path, "plan")?;
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let (fingerprint, per_twin) = match ext.as_deref() {
        Some("json") => {
            let file: PlanFile = serde_json::from_str(&text).map_err(|e| {
                IoError::at(path, (e.line().max(1), e.column().max(1)), format!("not a twinbench plan: {e}"))
            })?;
            (file.fingerprint, file.twin_fingerprints)
        }
        Some("ron") => {
            let file: PlanFile = super::format::parse_ron(path, &text)?;
            (file.fingerprint, file.twin_fingerprints)
        }
        Some("md" | "markdown") => {
            #[derive(Deserialize)]
            struct Header {
                fingerprint: String,
                twin_fingerprints: BTreeMap<String, String>,
            }
            let line = text
                .lines()
                .find_map(|l| l.strip_prefix(FINGERPRINT_TAG).and_then(|l| l.strip_suffix(" -->")))
                .ok_or_else(|| IoError::at(path, (1, 1), "no twinbench fingerprint in this runbook"))?;
            let header: Header = serde_json::from_str(line)
                .map_err(|e| IoError::at(path, (1, 1), format!("damaged fingerprint: {e}")))?;
            (header.fingerprint, header.twin_fingerprints)
        }
        _ => return Err(IoError::invalid(path, "unknown plan format: use .json, .ron or .md")),
    };
    if fingerprint.len() != 64 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(IoError::invalid(path, "the plan's fingerprint is damaged"));
    }
    Ok((fingerprint, per_twin.into_iter().map(|(k, v)| (TwinId::new(k), v)).collect()))
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
