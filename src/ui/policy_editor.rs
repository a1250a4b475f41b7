//! The policy editor: YAML, JSON or RON policies with line numbers, the parse error
//! marked on its line, live re-evaluation as you type (the last good policies stay in
//! force while the text is broken), undo/redo, open and save.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui::{self, Color32, RichText, text::LayoutJob};

use super::command::{Command, Commands};
use super::files::FilePurpose;
use crate::io::format::Format;
use crate::io::policy::parse_policies;
use crate::model::TwinGraph;
use crate::policy::Policy;

/// Where the editor's text stands.
#[derive(Clone, Debug, PartialEq)]
pub enum EditorStatus {
    /// Nothing written yet.
    Empty,
    /// Parsed: these policies are in force.
    Valid {
        /// Number of policies.
        policies: usize,
        /// Number of metric and configuration rules.
        rules: usize,
    },
    /// Broken at a position; the previous good policies stay in force.
    Invalid {
        /// 1-based line (0: no position).
        line: usize,
        /// 1-based column.
        col: usize,
        /// The message.
        message: String,
    },
}

/// The editor's state.
pub struct PolicyEditor {
    /// Window shown.
    pub open: bool,
    /// The text.
    pub text: String,
    /// File the text came from or was saved to.
    pub path: Option<PathBuf>,
    /// Format of the text (from the path, or chosen for a new document).
    pub format: Format,
    /// Parse status.
    pub status: EditorStatus,
    checked: Option<String>,
    undo: Vec<String>,
    redo: Vec<String>,
    last_edit: f64,
    /// Typed path of the save-as prompt, when shown.
    pub save_as: Option<String>,
}

const TEMPLATE: &str = "# Policies in force in addition to the scenario's own. Edit: they are\n# re-evaluated as you type. Formats: YAML here; .json and .ron files work too.\npolicies:\n  - name: cpu-sustained\n    severity: high\n    selector: {kinds: [service]}\n    rules:\n      - {metric: cpu_usage, aggregation: avg, window: 15m, operator: \">\", threshold: 75, for: 10m}\n    actions:\n      - scale_out: {replicas: 1}\n";

impl Default for PolicyEditor {
    fn default() -> Self {
        Self {
            open: false,
            text: TEMPLATE.to_string(),
            path: None,
            format: Format::Yaml,
            status: EditorStatus::Empty,
            checked: None,
            undo: Vec::new(),
            redo: Vec::new(),
            last_edit: f64::NEG_INFINITY,
            save_as: None,
        }
    }
}

impl PolicyEditor {
    /// Replaces the text with a file's content.
    pub fn load(&mut self, path: &Path, text: String) {
        self.undo.push(std::mem::replace(&mut self.text, text));
        self.redo.clear();
        self.format = Format::of(path).unwrap_or(Format::Yaml);
        self.path = Some(path.to_path_buf());
        self.checked = None;
        self.open = true;
    }

    fn label_path(&self) -> PathBuf {
        self.path.clone().unwrap_or_else(|| {
            PathBuf::from(match self.format {
                Format::Yaml => "untitled.yaml",
                Format::Json => "untitled.json",
                Format::Ron => "untitled.ron",
            })
        })
    }

    /// Puts back a text whose policies were in force (undo, a workspace): the editor
    /// shows it and its status; returns its policies (none when it no longer parses)
    /// without a new *apply* of its own.
    pub fn restore(&mut self, text: String, graph: &TwinGraph) -> Vec<Policy> {
        if text != self.text {
            self.undo.push(std::mem::replace(&mut self.text, text));
            self.redo.clear();
        }
        self.checked = None;
        self.check(graph).unwrap_or_default()
    }

    /// Parses the text if it changed; returns the policies to apply when it is valid.
    pub fn check(&mut self, graph: &TwinGraph) -> Option<Vec<Policy>> {
        if self.checked.as_deref() == Some(self.text.as_str()) {
            return None;
        }
        self.checked = Some(self.text.clone());
        if self.text.trim().is_empty() {
            self.status = EditorStatus::Empty;
            return Some(Vec::new());
        }
        match parse_policies(&self.label_path(), &self.text, graph) {
            Ok(policies) => {
                let rules = policies.iter().map(|p| p.rules.len() + p.config_rules.len()).sum();
                self.status = EditorStatus::Valid { policies: policies.len(), rules };
                Some(policies)
            }
            Err(e) => {
                let (line, col, message) = match e {
                    crate::io::IoError::Parse { line, col, message, .. } => (line, col, message),
                    other => (0, 0, other.to_string()),
                };
                self.status = EditorStatus::Invalid { line, col, message };
                None
            }
        }
    }

    fn remember(&mut self, before: String, now: f64) {
        // Keystrokes within a second form one undo step.
        if now - self.last_edit > 1.0 || self.undo.is_empty() {
            self.undo.push(before);
            if self.undo.len() > 200 {
                self.undo.remove(0);
            }
        }
        self.redo.clear();
        self.last_edit = now;
    }
}

fn error_line(status: &EditorStatus) -> Option<usize> {
    match status {
        EditorStatus::Invalid { line, .. } if *line > 0 => Some(*line),
        _ => None,
    }
}

/// Draws the editor window.
pub fn editor_ui(ctx: &egui::Context, editor: &mut PolicyEditor, graph: &TwinGraph, commands: &mut Commands) {
    if !editor.open {
        return;
    }
    let mut open = true;
    let now = ctx.input(|i| i.time);
    egui::Window::new("Policy editor").open(&mut open).default_size([720.0, 560.0]).resizable(true).show(ctx, |ui| {
        ui.horizontal(|ui| {
            if ui.button("Open…").clicked() {
                commands.push(Command::PickFile(FilePurpose::Policy));
            }
            let can_save = editor.path.is_some();
            if ui.add_enabled(can_save, egui::Button::new("Save")).clicked()
                && let Some(path) = &editor.path
            {
                commands.push(Command::SavePolicies(path.clone()));
            }
            if ui.button("Save as…").clicked() {
                commands.push(Command::PickFile(FilePurpose::SavePolicies));
            }
            ui.separator();
            if ui.add_enabled(!editor.undo.is_empty(), egui::Button::new("Undo")).clicked()
                && let Some(previous) = editor.undo.pop()
            {
                editor.redo.push(std::mem::replace(&mut editor.text, previous));
            }
            if ui.add_enabled(!editor.redo.is_empty(), egui::Button::new("Redo")).clicked()
                && let Some(next) = editor.redo.pop()
            {
                editor.undo.push(std::mem::replace(&mut editor.text, next));
            }
            ui.separator();
            ui.label("Format");
            let before = editor.format;
            egui::ComboBox::from_id_salt("policy-format").selected_text(format_name(editor.format)).show_ui(ui, |ui| {
                for f in [Format::Yaml, Format::Json, Format::Ron] {
                    ui.selectable_value(&mut editor.format, f, format_name(f));
                }
            });
            if before != editor.format {
                editor.checked = None;
            }
            ui.weak(editor.path.as_ref().map_or("unsaved".to_string(), |p| p.display().to_string()));
        });
        status_ui(ui, &editor.status);
        ui.separator();
        let text_label = ui.weak("Policy text");
        let bad_line = error_line(&editor.status);
        let dark = ui.visuals().dark_mode;
        let mut layouter = |ui: &egui::Ui, text: &dyn egui::TextBuffer, wrap: f32| {
            let mut job = LayoutJob::default();
            let font = egui::TextStyle::Monospace.resolve(ui.style());
            let normal = ui.visuals().text_color();
            for (i, line) in text.as_str().split_inclusive('\n').enumerate() {
                let mut format = egui::TextFormat::simple(font.clone(), normal);
                if Some(i + 1) == bad_line {
                    format.background =
                        if dark { Color32::from_rgb(90, 30, 30) } else { Color32::from_rgb(255, 210, 210) };
                    format.underline = egui::Stroke::new(1.0, Color32::from_rgb(220, 60, 60));
                }
                job.append(line, 0.0, format);
            }
            // No wrapping: one text line per line number.
            let _ = wrap;
            job.wrap.max_width = f32::INFINITY;
            ui.fonts_mut(|f| f.layout_job(job))
        };
        let before = editor.text.clone();
        egui::ScrollArea::both().auto_shrink([false, false]).show(ui, |ui| {
            ui.horizontal_top(|ui| {
                let lines = editor.text.lines().count().max(1) + usize::from(editor.text.ends_with('\n'));
                let numbers: String = (1..=lines).map(|n| format!("{n:>3}\n")).collect();
                let mut numbers_text = RichText::new(numbers.trim_end()).monospace().weak();
                if bad_line.is_some() {
                    numbers_text = numbers_text.color(ui.visuals().weak_text_color());
                }
                ui.label(numbers_text);
                ui.add(
                    egui::TextEdit::multiline(&mut editor.text)
                        .id(egui::Id::new("policy-text"))
                        .code_editor()
                        .desired_width(f32::INFINITY)
                        .desired_rows(24)
                        .lock_focus(true)
                        .layouter(&mut layouter),
                )
                .labelled_by(text_label.id);
            });
        });
        if editor.text != before {
            editor.remember(before, now);
        }
    });
    if let Some(policies) = editor.check(graph) {
        commands.push(Command::ApplyPolicies(policies));
    }
    if let Some(mut path) = editor.save_as.take() {
        let mut keep = true;
        egui::Window::new("Save policies as").collapsible(false).resizable(false).show(ctx, |ui| {
            ui.label("File (.yaml, .json or .ron):");
            ui.text_edit_singleline(&mut path);
            ui.horizontal(|ui| {
                if ui.button("Save").clicked() && !path.trim().is_empty() {
                    commands.push(Command::SavePolicies(PathBuf::from(path.trim())));
                    keep = false;
                }
                if ui.button("Cancel").clicked() {
                    keep = false;
                }
            });
        });
        if keep {
            editor.save_as = Some(path);
        }
    }
    editor.open = open;
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Yaml => "YAML",
        Format::Json => "JSON",
        Format::Ron => "RON",
    }
}

fn status_ui(ui: &mut egui::Ui, status: &EditorStatus) {
    match status {
        EditorStatus::Empty => {
            ui.weak("No extra policies: only the scenario's own are in force.");
        }
        EditorStatus::Valid { policies, rules } => {
            ui.colored_label(
                Color32::from_rgb(60, 170, 90),
                format!("{policies} policies, {rules} rules in force (re-evaluated as you type)"),
            );
        }
        EditorStatus::Invalid { line, col, message } => {
            let at = if *line > 0 { format!("line {line}, column {col}: ") } else { String::new() };
            ui.colored_label(Color32::from_rgb(230, 80, 80), format!("{at}{message}"));
            ui.weak("The last valid version of these policies stays in force until this is fixed.");
        }
    }
}

/// The policies in force: the scenario's own, then the editor's.
pub fn effective(scenario_policies: &[Policy], extra: &[Policy]) -> Arc<Vec<Policy>> {
    let mut all = scenario_policies.to_vec();
    all.extend(extra.iter().filter(|p| !scenario_policies.iter().any(|s| s.name == p.name)).cloned());
    Arc::new(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Twin, TwinKind};

    #[test]
    fn a_broken_edit_keeps_the_last_good_policies() {
        let mut g = TwinGraph::new();
        g.add_twin(Twin::new("web", TwinKind::Service)).unwrap();
        let mut e = PolicyEditor::default();
        let first = e.check(&g).expect("the template is valid");
        assert_eq!(first.len(), 1);
        assert!(matches!(e.status, EditorStatus::Valid { policies: 1, .. }));
        assert!(e.check(&g).is_none(), "unchanged text is not re-applied");
        e.text = e.text.replace("operator: \">\"", "operator: \"~\"");
        assert!(e.check(&g).is_none(), "a broken text applies nothing");
        assert!(
            matches!(&e.status, EditorStatus::Invalid { line: 8, message, .. } if message.contains("unknown operator")),
            "{:?}",
            e.status
        );
    }
}
