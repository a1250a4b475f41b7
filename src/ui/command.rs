//! The one way panels change anything: a [`Command`] pushed during the UI pass and
//! carried out by the app after it (`app/commands.rs`), as rerun's command sender does.
//!
//! Panels read the app's state and push commands. Every change of workbench state,
//! every background thread and every file write happens when a command runs, never in
//! the middle of drawing a frame. Widget-local inputs (a text field's text, a combo
//! box's choice) stay in the panel's own state: they are not the workbench's state
//! until a command carries them.
//!
//! To add a feature: a variant here (documented), a panel that pushes it, and its arm in
//! `app/commands.rs`.

use std::path::PathBuf;

use super::connect::{ConnectRequest, SyncAction};
use super::files::FilePurpose;
use super::jobs::Source;
use super::lab::Section;
use crate::model::TwinId;
use crate::policy::Policy;
use crate::remediation::orchestrate::Mode;
use crate::remediation::plan::Candidate;

/// Something a panel, a menu, a shortcut or automation asks of the workbench.
#[derive(Clone, Debug)]
pub enum Command {
    // Selection and time.
    /// Select a twin (or clear the selection).
    Select(Option<TwinId>),
    /// Select a twin and show it in the inspector.
    Inspect(TwinId),
    /// Move the time cursor (clamped to the history) and stop playback.
    SetTime(i64),

    // Files and the window.
    /// Open a scenario or telemetry file (or the default scenario).
    Open(Source),
    /// Show the native file dialog for `purpose` (the typed-path fallback where none
    /// can be shown); the chosen path comes back as the purpose's own command.
    PickFile(FilePurpose),
    /// Show the typed-path *Open path* window.
    OpenPathDialog,
    /// Switch between the dark and the light theme.
    ToggleTheme,
    /// Show or hide the keyboard-shortcut help.
    ToggleHelp,
    /// Close the window.
    Quit,

    // Workspaces and undo.
    /// Save the workspace: to this file, or (`None`) to the file it was opened from or
    /// last saved to, asking for one when there is none.
    SaveWorkspace(Option<PathBuf>),
    /// Open a workspace file: its scenario, decisions, edits and view.
    OpenWorkspace(PathBuf),
    /// Take back the last decision or edit.
    Undo,
    /// Do again what was last taken back.
    Redo,

    // Policies.
    /// Show the policy editor.
    EditPolicies,
    /// Read a policy file into the editor.
    OpenPolicyFile(PathBuf),
    /// Put these (the editor's valid) policies in force and re-evaluate.
    ApplyPolicies(Vec<Policy>),
    /// Write the editor's text to this policy file.
    SavePolicies(PathBuf),

    // Remediation.
    /// Approve (true) or reject (false) a proposal, in the user's name.
    Decide {
        /// The proposal.
        candidate: Box<Candidate>,
        /// Approve (true) or reject (false).
        approved: bool,
    },
    /// Approve every proposal given that is not approved yet.
    ApproveAll(Vec<Candidate>),
    /// Take a rehearsed action (by id) out of the plan.
    RemoveRehearsed(String),
    /// Add actions rehearsed in the lab to the plan, approved by the user.
    AddRehearsed(Vec<Candidate>),
    /// Set the orchestration loop's mode.
    SetLoopMode(Mode),
    /// Run one tick of the orchestration loop on the findings at the cursor.
    RunLoop,
    /// Write the plan of the approved proposals to this file (.json, .ron or .md).
    ExportPlan(PathBuf),
    /// Append the decision log to this JSON-lines file.
    SaveAuditLog(PathBuf),
    /// Read a plan file (.json or .ron) and show it in the Remediation tab for review.
    OpenPlan(PathBuf),
    /// Stop showing the opened plan.
    ClosePlan,

    // The lab.
    /// Start a lab run (or keep it waiting while the twins' models are learned).
    RunLab(Section),
    /// Stop a lab run of this section, running or waiting.
    CancelLab(Section),

    // The twins' models.
    /// Refit the learned workload models (and learn missing ones): *Learn twins*.
    LearnTwins,
    /// Stop learning the twins.
    CancelLearning,
    /// Write the scenario with its learned models to this file.
    SaveLearned(PathBuf),

    // Live sources.
    /// Connect to a live source; its growing scenario replaces the open one.
    Connect(ConnectRequest),
    /// Test the Connect dialog's Prometheus settings without connecting.
    TestConnection(ConnectRequest),
    /// Pause, resume, sync now or disconnect the live source.
    Sync(SyncAction),
    /// Write the open scenario with its history as a snapshot to this file.
    SaveSnapshot(PathBuf),
}

impl Command {
    /// The name an undo step of this command has, and whether quick repeats of it are
    /// one step; `None` for commands that change nothing undoable.
    pub fn undo_name(&self) -> Option<(String, bool)> {
        let name = match self {
            Command::Decide { candidate, approved } => {
                let verb = if *approved { "Approve" } else { "Reject" };
                format!("{verb} {} on {}", candidate.kind, candidate.target)
            }
            Command::ApproveAll(candidates) => format!("Approve all ({})", candidates.len()),
            Command::RemoveRehearsed(_) => "Remove rehearsed action".into(),
            Command::AddRehearsed(actions) => format!("Add {} rehearsed action(s) to the plan", actions.len()),
            Command::SetLoopMode(mode) => format!("Set loop mode to {}", mode.as_str()),
            Command::RunLoop => "Run the orchestration loop".into(),
            Command::ApplyPolicies(_) => return Some(("Edit policies".into(), true)),
            _ => return None,
        };
        Some((name, false))
    }
}

/// The commands pushed in one frame, run in order after the UI pass.
pub type Commands = Vec<Command>;
