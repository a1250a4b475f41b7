//! The workspace file (SPEC §4): what a session of work holds, so that closing the
//! window loses nothing. A versioned RON document:
//!
//! ```ron
//! (
//!     twinbench_workspace: 1,
//!     source: scenario(path: "scenarios/webshop.ron"),
//!     fingerprints: {"db-primary": "3f0c…", …},
//!     policies: Some((text: "policies: …", format: "yaml", path: None, applied: true, open: false)),
//!     decisions: [(id: "a1b2…", approved: true)],
//!     audit: [(at: "2026-10-31T12:00:00Z", action_id: "a1b2…", twin: "db-primary", …)],
//!     rehearsed: [(twin: "web", action: scale_out(replicas: 1), rehearsal: what_if, …)],
//!     loop_mode: "approve",
//!     lab: (section: "whatif", seed: 42, …),
//!     lab_results: ["What-if (scale_out web) over 24 h, seed 42: …"],
//!     view: (selected: Some("db-primary"), time: Some("2026-10-31T12:00:00Z"), zoom: Some(0.8), …),
//! )
//! ```
//!
//! - **Source:** the scenario or telemetry file (relative to the workspace's folder
//!   when it lies under it, so a project folder can move), the default scenario, or a
//!   live source's Connect settings — the names of the environment variable or file a
//!   secret is read from, never the secret.
//! - **Fingerprints:** each twin's fingerprint (`remediation::fingerprint`, twins only)
//!   when saved. Decisions are keyed by proposal ids that depend on the twins, so a
//!   workspace whose scenario changed since is refused, naming the twins that changed.
//! - **Versions:** `twinbench_workspace` is this format's version. Every field but the
//!   version and the source has a default, so files of older versions load; a newer
//!   version is refused with a message rather than half read.
//!
//! Saving writes a temporary file and renames it over the old one
//! ([`crate::io::write_atomic`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::io::IoError;
use crate::io::format::{Format, parse_doc};
use crate::io::policy::ActionFile;
use crate::io::time::{format_rfc3339, parse_timestamp};
use crate::model::{TwinGraph, TwinId};
use crate::remediation::orchestrate::{AuditEntry, Decision, Mode};
use crate::remediation::plan::{Candidate, Finding, Rehearsal, rehearsed};
use crate::remediation::priority::ScoreBreakdown;
use crate::remediation::review::Review;
use crate::ui::lab::LabInputs;

/// The workspace format version this build writes and the newest it reads.
pub const WORKSPACE_VERSION: u32 = 1;

/// The key that marks a RON file as a workspace (rather than a scenario).
const MARKER: &str = "twinbench_workspace";

/// A saved workspace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceFile {
    /// Format version.
    pub twinbench_workspace: u32,
    /// What the twins come from.
    pub source: SourceFile,
    /// Each twin's fingerprint when saved.
    #[serde(default)]
    pub fingerprints: BTreeMap<String, String>,
    /// The policy editor: its text and whether its policies were in force.
    #[serde(default)]
    pub policies: Option<PoliciesFile>,
    /// Decisions on proposals by id: approved (true) or rejected.
    #[serde(default)]
    pub decisions: Vec<DecisionFile>,
    /// The decision log, oldest first: who decided what, and when.
    #[serde(default)]
    pub audit: Vec<AuditFile>,
    /// Actions added to the plan from rehearsals, in the order added.
    #[serde(default)]
    pub rehearsed: Vec<RehearsedFile>,
    /// The orchestration loop's mode (`auto`, `approve`, `dry-run`).
    #[serde(default = "default_mode")]
    pub loop_mode: String,
    /// The lab's inputs.
    #[serde(default)]
    pub lab: LabInputs,
    /// One line per lab result there was when saved.
    #[serde(default)]
    pub lab_results: Vec<String>,
    /// What the window showed.
    #[serde(default)]
    pub view: ViewFile,
}

fn default_mode() -> String {
    Mode::default().as_str().to_string()
}

/// Where the twins come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceFile {
    /// The default scenario.
    Default,
    /// A scenario file.
    Scenario {
        /// Relative to the workspace's folder, or absolute.
        path: PathBuf,
    },
    /// A telemetry file or log mapping opened as an ad-hoc scenario.
    Telemetry {
        /// Relative to the workspace's folder, or absolute.
        path: PathBuf,
    },
    /// A live source: the Connect dialog's settings, without secrets.
    Live(Box<LiveFile>),
}

/// The Connect dialog's settings of a live source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveFile {
    /// `prometheus` or `local`.
    pub kind: String,
    /// Prometheus URL.
    pub url: String,
    /// Mapping file.
    pub mapping: String,
    /// Where the secret is read from: `none`, `env` or `file`.
    pub auth: String,
    /// The environment variable the secret is read from (its name only).
    pub auth_env: String,
    /// The file the secret is read from (its path only).
    pub auth_file: String,
    /// Basic auth user name.
    pub basic_user: String,
    /// History fetched on connecting.
    pub backfill: String,
    /// Sampling interval of the local host.
    pub interval: String,
    /// Where the automatic loop's approved notifications go.
    pub alertmanager: String,
}

/// The policy editor's document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoliciesFile {
    /// The text.
    pub text: String,
    /// Its syntax: `yaml`, `json` or `ron`.
    pub format: String,
    /// The file it came from or was saved to.
    pub path: Option<PathBuf>,
    /// Its policies were in force.
    pub applied: bool,
    /// The editor window was open.
    pub open: bool,
}

impl Default for PoliciesFile {
    fn default() -> Self {
        Self { text: String::new(), format: "yaml".into(), path: None, applied: false, open: false }
    }
}

/// A decision on a proposal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionFile {
    /// The proposal's id.
    pub id: String,
    /// Approved (true) or rejected.
    pub approved: bool,
}

/// One line of the decision log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFile {
    /// Scenario time of the decision (RFC 3339).
    pub at: String,
    /// The proposal's id.
    pub action_id: String,
    /// The twin.
    pub twin: String,
    /// The action in words.
    pub action: String,
    /// Why it was proposed.
    pub reason: String,
    /// Its score: severity, impact, urgency, cost, total.
    pub score: [f64; 5],
    /// The loop's mode.
    pub mode: String,
    /// `executed`, `queued`, `dry-run`, `skipped`, `approved`, `rejected`, `failed`.
    pub decision: String,
    /// Who approved or rejected, the guard that skipped, the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An action added to the plan from a rehearsal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RehearsedFile {
    /// The twin acted on.
    pub twin: String,
    /// The action.
    pub action: ActionFile,
    /// `what_if` or `chaos`.
    pub rehearsal: String,
    /// The rehearsal, e.g. `what-if over 24 h (seed 42)`.
    pub label: String,
    /// What it measured.
    pub outcome: String,
    /// What the proposal rests on.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// What the window showed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ViewFile {
    /// The selected twin.
    pub selected: Option<String>,
    /// The time cursor (RFC 3339).
    pub time: Option<String>,
    /// The graph view's zoom.
    pub zoom: Option<f32>,
    /// The graph view's pan from its corner, in points.
    pub pan: Option<[f32; 2]>,
    /// The graph's colour mode: `health`, `drift`, `anomaly`, `predicted`.
    pub colour: Option<String>,
    /// The right-hand tab: `inspector`, `findings`, `remediation`, `lab`.
    pub tab: Option<String>,
}

/// True when `path` is a workspace file: RON whose first field is the workspace marker
/// (scenarios are RON too).
pub fn is_workspace(path: &Path) -> bool {
    if Format::of(path) != Some(Format::Ron) {
        return false;
    }
    let Some(head) = crate::io::read_head(path, 4096) else {
        return false;
    };
    head.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .take(2)
        .any(|l| l.trim_start_matches('(').trim_start().starts_with(MARKER))
}

/// Reads a workspace file; a malformed one is an error at `file:line:col`.
pub fn read(path: &Path) -> Result<WorkspaceFile, IoError> {
    let text = crate::io::read_text(path, "workspace")?;
    if text.trim().is_empty() {
        return Err(IoError::invalid(path, "the workspace file is empty"));
    }
    let file: WorkspaceFile = parse_doc(path, &text, Format::Ron)?;
    if file.twinbench_workspace == 0 || file.twinbench_workspace > WORKSPACE_VERSION {
        return Err(IoError::invalid(
            path,
            format!(
                "workspace version {} is not one this build reads (1 to {WORKSPACE_VERSION}); a newer twinbench wrote it",
                file.twinbench_workspace
            ),
        ));
    }
    Ok(file)
}

/// Writes a workspace file atomically.
pub fn write(path: &Path, file: &WorkspaceFile) -> Result<(), IoError> {
    let config = ron::ser::PrettyConfig::new().depth_limit(4).struct_names(false);
    let text = ron::ser::to_string_pretty(file, config)
        .map_err(|e| IoError::invalid(path, format!("cannot write the workspace: {e}")))?;
    crate::io::write_atomic(path, "workspace", format!("{text}\n").as_bytes())
}

/// `path` as the workspace at `workspace` should name it: relative to the workspace's
/// folder when under it, else as it is (made absolute when possible).
pub fn relative_path(path: &Path, workspace: &Path) -> PathBuf {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (path, dir) = (absolute(path), absolute(workspace.parent().unwrap_or(Path::new("."))));
    path.strip_prefix(&dir).map_or(path.clone(), Path::to_path_buf)
}

/// A path named in the workspace at `workspace`, resolved against its folder.
pub fn resolve(path: &Path, workspace: &Path) -> PathBuf {
    if path.is_absolute() { path.to_path_buf() } else { workspace.parent().unwrap_or(Path::new("")).join(path) }
}

/// Each twin's fingerprint (twins only: the policies are saved with the workspace).
pub fn twin_fingerprints(graph: &TwinGraph) -> BTreeMap<String, String> {
    crate::remediation::fingerprint::fingerprint(graph, &[]).1.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Why the twins of `graph` are not the ones the workspace was saved on, or `None`
/// when they are: the twins added, removed or changed since.
pub fn changed_twins(saved: &BTreeMap<String, String>, graph: &TwinGraph) -> Option<String> {
    let now = twin_fingerprints(graph);
    let mut parts = Vec::new();
    let list = |ids: Vec<&String>| ids.into_iter().map(String::as_str).collect::<Vec<_>>().join(", ");
    let changed: Vec<&String> =
        saved.iter().filter(|(k, v)| now.get(*k).is_some_and(|n| n != *v)).map(|(k, _)| k).collect();
    let removed: Vec<&String> = saved.keys().filter(|k| !now.contains_key(*k)).collect();
    let added: Vec<&String> = now.keys().filter(|k| !saved.contains_key(*k)).collect();
    for (what, ids) in [("changed", changed), ("gone", removed), ("new", added)] {
        if !ids.is_empty() {
            let n = ids.len();
            let shown: Vec<&String> = ids.into_iter().take(8).collect();
            let more = if n > 8 { format!(" and {} more", n - 8) } else { String::new() };
            parts.push(format!("{what}: {}{more}", list(shown)));
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

impl AuditFile {
    /// The file form of a log entry.
    pub fn of(e: &AuditEntry) -> Self {
        let s = e.score;
        AuditFile {
            at: format_rfc3339(e.at),
            action_id: e.action_id.clone(),
            twin: e.twin.to_string(),
            action: e.action.clone(),
            reason: e.reason.clone(),
            score: [s.severity, s.impact, s.urgency, s.cost, s.total],
            mode: e.mode.as_str().to_string(),
            decision: e.decision.name().to_string(),
            detail: e.decision.detail().map(str::to_string),
        }
    }

    /// The log entry, or what is wrong with it.
    pub fn entry(&self) -> Result<AuditEntry, String> {
        let at = parse_timestamp(&self.at).map_err(|e| format!("audit entry at {:?}: {e}", self.at))?;
        let mode = Mode::parse(&self.mode).ok_or_else(|| format!("unknown loop mode {:?}", self.mode))?;
        let detail = || self.detail.clone().unwrap_or_default();
        let decision = match self.decision.as_str() {
            "executed" => Decision::Executed,
            "queued" => Decision::Queued,
            "dry-run" => Decision::DryRun,
            "skipped" => Decision::Skipped(detail()),
            "approved" => Decision::Approved(detail()),
            "rejected" => Decision::Rejected(detail()),
            "failed" => Decision::Failed(detail()),
            other => return Err(format!("unknown decision {other:?}")),
        };
        let [severity, impact, urgency, cost, total] = self.score;
        Ok(AuditEntry {
            at,
            action_id: self.action_id.clone(),
            twin: TwinId::new(&self.twin),
            action: self.action.clone(),
            reason: self.reason.clone(),
            score: ScoreBreakdown { severity, impact, urgency, cost, total },
            mode,
            decision,
        })
    }
}

impl RehearsedFile {
    /// The file form of a rehearsed plan entry (`None` for a proposal that did not
    /// come from a rehearsal).
    pub fn of(c: &Candidate) -> Option<Self> {
        let Finding::Rehearsed { twin, kind, rehearsal, outcome } = &c.finding else {
            return None;
        };
        Some(RehearsedFile {
            twin: twin.to_string(),
            action: ActionFile::from(&c.kind),
            rehearsal: match kind {
                Rehearsal::WhatIf => "what_if",
                Rehearsal::Chaos => "chaos",
            }
            .to_string(),
            label: rehearsal.clone(),
            outcome: outcome.clone(),
            evidence: c.evidence.clone(),
        })
    }

    /// The plan entry on `graph`, or what is wrong with it.
    pub fn candidate(&self, graph: &TwinGraph) -> Result<Candidate, String> {
        let what = match self.rehearsal.as_str() {
            "what_if" => Rehearsal::WhatIf,
            "chaos" => Rehearsal::Chaos,
            other => return Err(format!("unknown rehearsal {other:?} (what_if or chaos)")),
        };
        let kind = self.action.kind().map_err(|e| format!("rehearsed action on {}: {e}", self.twin))?;
        let twin = TwinId::new(&self.twin);
        let mut c = rehearsed(graph, &twin, kind, what, &self.label, &self.outcome, &[])
            .ok_or_else(|| format!("rehearsed action on {}: no such twin", self.twin))?;
        c.evidence.clone_from(&self.evidence);
        Ok(c)
    }
}

/// The review's part of a workspace: decisions, log, rehearsed entries, loop mode.
pub fn review_file(review: &Review) -> (Vec<DecisionFile>, Vec<AuditFile>, Vec<RehearsedFile>, String) {
    (
        review.decisions.iter().map(|(id, approved)| DecisionFile { id: id.clone(), approved: *approved }).collect(),
        review.audit.iter().map(AuditFile::of).collect(),
        review.rehearsed.iter().filter_map(RehearsedFile::of).collect(),
        review.orchestrator.config.mode.as_str().to_string(),
    )
}

/// The review a workspace holds, on `graph`, keeping the loop's other settings from
/// `base`; or the first thing that cannot be restored.
pub fn restore_review(file: &WorkspaceFile, graph: &TwinGraph, base: &Review) -> Result<Review, String> {
    let mut review = Review::default();
    review.orchestrator.config = base.orchestrator.config;
    review.orchestrator.config.mode =
        Mode::parse(&file.loop_mode).ok_or_else(|| format!("unknown loop mode {:?}", file.loop_mode))?;
    review.decisions = file.decisions.iter().map(|d| (d.id.clone(), d.approved)).collect();
    review.audit = file.audit.iter().map(AuditFile::entry).collect::<Result<_, _>>()?;
    review.rehearsed = file.rehearsed.iter().map(|r| r.candidate(graph)).collect::<Result<_, _>>()?;
    Ok(review)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ActionKind, Twin, TwinKind};

    fn graph() -> TwinGraph {
        let mut g = TwinGraph::new();
        g.add_twin(Twin::new("web", TwinKind::Service)).unwrap();
        g.add_twin(Twin::new("db", TwinKind::Database)).unwrap();
        g
    }

    fn sample(g: &TwinGraph) -> WorkspaceFile {
        let c = rehearsed(g, &"web".into(), ActionKind::Restart, Rehearsal::WhatIf, "what-if 24 h", "errors fell", &[])
            .unwrap();
        let mut review = Review::default();
        review.add_rehearsed(vec![c.clone()], "ana", 1_700_000_000);
        review.decide(&c, false, "bo", 1_700_000_600);
        let (decisions, audit, rehearsed, loop_mode) = review_file(&review);
        WorkspaceFile {
            twinbench_workspace: WORKSPACE_VERSION,
            source: SourceFile::Scenario { path: "webshop.ron".into() },
            fingerprints: twin_fingerprints(g),
            policies: Some(PoliciesFile { text: "policies: []".into(), applied: true, ..PoliciesFile::default() }),
            decisions,
            audit,
            rehearsed,
            loop_mode,
            lab: LabInputs::default(),
            lab_results: vec!["What-if …".into()],
            view: ViewFile {
                selected: Some("db".into()),
                zoom: Some(0.5),
                pan: Some([10.0, -3.5]),
                ..ViewFile::default()
            },
        }
    }

    #[test]
    fn a_workspace_round_trips_and_restores_the_review() {
        let g = graph();
        let file = sample(&g);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("work.ron");
        write(&path, &file).unwrap();
        assert!(is_workspace(&path));
        let back = read(&path).unwrap();
        assert_eq!(back, file);
        let review = restore_review(&back, &g, &Review::default()).unwrap();
        assert_eq!(review_file(&review), (file.decisions, file.audit, file.rehearsed, file.loop_mode));
        assert_eq!(review.audit[1].decision, Decision::Rejected("bo".into()));
        assert_eq!(changed_twins(&back.fingerprints, &g), None);
        assert!(
            !std::fs::read_dir(dir.path()).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().contains("tmp"))
        );
    }

    #[test]
    fn scenarios_are_not_workspaces() {
        assert!(!is_workspace(Path::new("scenarios/webshop.ron")));
        assert!(!is_workspace(Path::new("no/such/file.ron")));
    }

    #[test]
    fn changed_twins_are_named() {
        let g = graph();
        let mut saved = twin_fingerprints(&g);
        saved.insert("db".into(), "other".into());
        saved.insert("old".into(), "x".into());
        saved.remove("web");
        assert_eq!(changed_twins(&saved, &g).as_deref(), Some("changed: db; gone: old; new: web"));
    }

    #[test]
    fn malformed_workspaces_are_errors_at_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let g = graph();
        let good = ron::ser::to_string_pretty(&sample(&g), ron::ser::PrettyConfig::default()).unwrap();
        let cases = [
            ("empty.ron", String::new(), "empty"),
            ("truncated.ron", good[..good.len() / 2].to_string(), "truncated.ron:"),
            ("newer.ron", good.replace("twinbench_workspace: 1", "twinbench_workspace: 9"), "newer twinbench"),
            ("badsource.ron", good.replace("scenario(", "satellite("), "badsource.ron:"),
        ];
        for (name, text, expect) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let e = format!("{:#}", read(&path).unwrap_err());
            assert!(e.contains(expect), "{name}: {e}");
        }
        let e = format!("{:#}", read(&dir.path().join("truncated.ron")).unwrap_err());
        assert!(e.split(':').nth(1).is_some_and(|l| l.parse::<usize>().is_ok()), "line number: {e}");
    }

    #[test]
    fn paths_are_kept_relative_to_the_workspace_folder() {
        let ws = Path::new("/projects/shop/work.ron");
        assert_eq!(relative_path(Path::new("/projects/shop/scenarios/a.ron"), ws), PathBuf::from("scenarios/a.ron"));
        assert_eq!(relative_path(Path::new("/elsewhere/b.ron"), ws), PathBuf::from("/elsewhere/b.ron"));
        assert_eq!(resolve(Path::new("scenarios/a.ron"), ws), PathBuf::from("/projects/shop/scenarios/a.ron"));
    }
}
