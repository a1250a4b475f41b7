//! Choosing files: the native dialog (rfd, on its own thread so the window keeps
//! drawing), and knowing when there is none. On Linux the dialog is the desktop portal's,
//! reached over the D-Bus session bus; without one (CI, Xvfb, a bare SSH session) the
//! answer "no file" comes back at once and the app offers a typed path instead.

use std::path::{Path, PathBuf};

use eframe::egui;

use super::jobs::Job;
use super::lab::LabFile;

/// What a file is being chosen for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilePurpose {
    /// A scenario, telemetry file or log mapping to open.
    Scenario,
    /// A policy file to open in the editor.
    Policy,
    /// The Connect dialog's mapping file.
    Mapping,
    /// A file field of the lab.
    Lab(LabFile),
    /// Where to save the scenario with its learned models.
    SaveLearned,
    /// A plan file to review in the Remediation tab.
    Plan,
    /// A workspace to open.
    OpenWorkspace,
    /// Where to save the workspace.
    SaveWorkspace,
    /// Where to write the plan of the approved actions.
    SavePlan,
    /// The JSON-lines file the decision log is appended to.
    SaveAuditLog,
    /// Where to write a snapshot of the open scenario with its history.
    SaveSnapshot,
    /// Where to write the policy editor's text.
    SavePolicies,
}

impl FilePurpose {
    /// True when the dialog chooses where to write rather than what to read.
    pub fn saves(self) -> bool {
        matches!(
            self,
            FilePurpose::SaveLearned
                | FilePurpose::SaveWorkspace
                | FilePurpose::SavePlan
                | FilePurpose::SaveAuditLog
                | FilePurpose::SaveSnapshot
                | FilePurpose::SavePolicies
        )
    }

    /// The native dialog for this purpose; `suggested` is where a save dialog starts.
    fn dialog(self, suggested: Option<&Path>) -> rfd::FileDialog {
        let dialog = rfd::FileDialog::new();
        let dialog = match self {
            FilePurpose::Scenario => dialog
                .set_title("Open scenario, workspace, telemetry or log mapping")
                .add_filter("Scenario or workspace", &["ron"])
                .add_filter("Telemetry", &["csv", "parquet"])
                .add_filter("Log mapping", &["yaml", "yml"]),
            FilePurpose::Policy => {
                dialog.set_title("Open policies").add_filter("Policies", &["yaml", "yml", "json", "ron"])
            }
            FilePurpose::Mapping => dialog.set_title("Prometheus mapping").add_filter("Mapping", &["yaml", "yml"]),
            FilePurpose::Plan => dialog.set_title("Open plan").add_filter("Plan", &["json", "ron"]),
            FilePurpose::Lab(which) => {
                dialog.set_title(which.title()).add_filter(which.title(), &["ron", "yaml", "yml", "json"])
            }
            FilePurpose::OpenWorkspace => dialog.set_title("Open workspace").add_filter("Workspace", &["ron"]),
            FilePurpose::SaveLearned => dialog.set_title("Save learned scenario").add_filter("Scenario", &["ron"]),
            FilePurpose::SaveWorkspace => dialog.set_title("Save workspace").add_filter("Workspace", &["ron"]),
            FilePurpose::SavePlan => dialog
                .set_title("Export plan")
                .add_filter("Plan (JSON)", &["json"])
                .add_filter("Plan (RON)", &["ron"])
                .add_filter("Plan for review (Markdown)", &["md"]),
            FilePurpose::SaveAuditLog => {
                dialog.set_title("Append the decision log").add_filter("JSON lines", &["jsonl"])
            }
            FilePurpose::SaveSnapshot => dialog.set_title("Save snapshot").add_filter("Scenario", &["ron"]),
            FilePurpose::SavePolicies => {
                dialog.set_title("Save policies").add_filter("Policies", &["yaml", "yml", "json", "ron"])
            }
        };
        match suggested {
            Some(path) if self.saves() => {
                let mut dialog = dialog;
                if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                    dialog = dialog.set_file_name(name);
                }
                if let Some(dir) = path.parent().filter(|d| d.is_dir()) {
                    dialog = dialog.set_directory(dir);
                }
                dialog
            }
            _ => dialog,
        }
    }
}

/// `path` with extension `ext` added when it has none (a name typed into a save
/// dialog without one).
pub fn with_extension(path: PathBuf, ext: &str) -> PathBuf {
    if path.extension().is_some() { path } else { path.with_extension(ext) }
}

/// A small window asking for a path to write to, shown while `text` holds one: the
/// path when the `action` button is clicked (or Enter pressed), `None` otherwise. For where no
/// native dialog can be shown.
pub fn save_path_window(
    ctx: &egui::Context,
    title: &str,
    help: &str,
    label: &str,
    action: &str,
    text: &mut Option<String>,
) -> Option<PathBuf> {
    let mut current = text.take()?;
    let mut open = true;
    let mut submit = false;
    egui::Window::new(title).collapsible(false).resizable(false).open(&mut open).show(ctx, |ui| {
        ui.weak(help);
        ui.horizontal(|ui| {
            let name = ui.label(label);
            let edit = ui.add(egui::TextEdit::singleline(&mut current).desired_width(360.0)).labelled_by(name.id);
            submit = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        });
        submit |= ui.button(action).clicked();
    });
    if submit && !current.trim().is_empty() {
        return Some(PathBuf::from(current.trim()));
    }
    if open {
        *text = Some(current);
    }
    None
}

/// Whether a file dialog can be shown: on Linux only with a session bus to reach the
/// portal; elsewhere the system dialog is always there.
pub fn dialog_reachable() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|dir| Path::new(&dir).join("bus").exists())
}

/// A chosen file (or none) and what it was for.
pub struct Picked {
    /// What the file is for.
    pub purpose: FilePurpose,
    /// The file, or `None` when the dialog was dismissed or could not be shown.
    pub path: Option<PathBuf>,
    /// The answer came within half a second: no dialog was really shown, so a typed
    /// path should be offered.
    pub quick: bool,
}

enum Pending {
    /// No dialog can be shown: the answer is "no file", at once.
    Unreachable,
    /// The dialog is open on its thread.
    Dialog(Job<Option<PathBuf>>),
}

/// At most one file dialog at a time.
#[derive(Default)]
pub struct FilePicker {
    pending: Option<(Pending, f64, FilePurpose)>,
}

impl FilePicker {
    /// Shows the dialog for `purpose` (nothing if one is already open). `now` is the
    /// input clock, `suggested` where a save dialog starts.
    pub fn start(
        &mut self,
        ctx: &egui::Context,
        purpose: FilePurpose,
        suggested: Option<PathBuf>,
        now: f64,
    ) -> Result<(), String> {
        if self.pending.is_some() {
            return Ok(());
        }
        let pending = if dialog_reachable() {
            let job = Job::spawn("file-dialog", "Choosing a file", ctx, move |_| {
                let dialog = purpose.dialog(suggested.as_deref());
                Ok(if purpose.saves() { dialog.save_file() } else { dialog.pick_file() })
            })
            .map_err(|e| format!("Cannot show the file picker: {e}"))?;
            Pending::Dialog(job)
        } else {
            Pending::Unreachable
        };
        self.pending = Some((pending, now, purpose));
        Ok(())
    }

    /// The dialog's answer, once there is one.
    pub fn poll(&mut self, now: f64) -> Option<Picked> {
        let (pending, started, purpose) = self.pending.as_ref()?;
        let path = match pending {
            Pending::Unreachable => None,
            Pending::Dialog(job) => job.poll()?.ok().flatten(),
        };
        let picked = Picked { purpose: *purpose, path, quick: now - started < 0.5 };
        self.pending = None;
        Some(picked)
    }
}
