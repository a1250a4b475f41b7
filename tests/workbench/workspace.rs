//! Workspaces and undo, driven like a user would: an hour of work saved, the window
//! closed, the workspace opened again with everything in place; corrupt, truncated and
//! out-of-date workspaces refused without touching the open work; decisions, policy
//! edits and lab inputs undone and redone.

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use twinbench::remediation::orchestrate::Mode;
use twinbench::ui::app::RightTab;
use twinbench::ui::command::Command;
use twinbench::ui::{Launch, WorkbenchApp};

use crate::gui::{click, fill_path, wait_until};
use crate::support::{root, write};

fn launch(path: &std::path::Path, select: Option<&str>) -> Harness<'static, WorkbenchApp> {
    let launch = Launch { scenario: Some(path.to_path_buf()), select: select.map(str::to_string), ..Launch::default() };
    Harness::builder().with_size(egui::vec2(1500.0, 950.0)).build_eframe(move |cc| WorkbenchApp::new(cc, launch))
}

fn notified(harness: &Harness<'static, WorkbenchApp>, part: &str) -> bool {
    harness.state().notification_texts().iter().any(|t| t.contains(part))
}

/// What a restored workspace must give back, read from the app.
#[derive(Debug, PartialEq)]
struct Restorable {
    decisions: Vec<twinbench::remediation::orchestrate::AuditEntry>,
    approved: usize,
    policies: usize,
    selected: Option<String>,
    time: i64,
    tab: RightTab,
    colour: &'static str,
    lab: twinbench::ui::lab::LabInputs,
    view: Option<(f32, egui::Vec2)>,
}

fn restorable(app: &WorkbenchApp) -> Restorable {
    Restorable {
        decisions: app.decision_log().to_vec(),
        approved: app.approved_count(),
        policies: app.policies_in_force(),
        selected: app.selected().map(|id| id.to_string()),
        time: app.time(),
        tab: app.right_tab(),
        colour: app.colour_mode(),
        lab: app.lab().inputs(),
        view: app.graph_view().map(|(zoom, pan)| (zoom, egui::vec2(pan.x.round(), pan.y.round()))),
    }
}

#[test]
fn save_quit_and_reopen_restores_every_decision_edit_and_view() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("minimal.ron");
    std::fs::copy(root().join("scenarios/teaching-minimal.ron"), &scenario).unwrap();
    let mut harness = launch(&scenario, Some("db"));
    wait_until(&mut harness, "the scenario", WorkbenchApp::is_ready);
    let own = harness.state().policies_in_force();

    // A rehearsed change approved for the plan (a decision with who and when).
    click(&mut harness, "Lab");
    click(&mut harness, "What-if");
    click(&mut harness, "Add change");
    harness.get_by_label("Run what-if").click();
    wait_until(&mut harness, "the what-if run", |app| app.lab().whatif_report().is_some());
    click(&mut harness, "Approve for the plan");
    // A policy edit in force, the loop's mode, the time cursor, the colour mode, a
    // zoomed view and another lab section.
    harness.get_by_value("Colour: Health").click();
    harness.run_steps(1);
    click(&mut harness, "Drift");
    harness.get_by_value("Colour: Drift");
    harness.event(egui::Event::PointerMoved(egui::pos2(300.0, 400.0)));
    harness.event(egui::Event::Zoom(1.25));
    harness.run_steps(3);
    harness.state_mut().push_command(Command::EditPolicies);
    wait_until(&mut harness, "the template policy", |app| app.policies_in_force() == own + 1 && !app.is_evaluating());
    harness.state_mut().push_command(Command::SetLoopMode(Mode::DryRun));
    let start = harness.state().scenario().unwrap().start;
    harness.state_mut().push_command(Command::SetTime(start + 3 * 86_400 + 1800));
    harness.run_steps(2);
    click(&mut harness, "Chaos");
    harness.run_steps(2);
    let saved = restorable(harness.state());
    assert_eq!(saved.decisions.len(), 1, "{:?}", saved.decisions);
    assert_eq!(saved.colour, "Drift");
    assert_eq!(saved.lab.section, "chaos");
    assert_eq!(saved.lab.changes.len(), 1);
    let summaries = harness.state().lab().summaries();
    assert_eq!(summaries.len(), 1, "the what-if's result");

    // Save as: no file dialog here, so the path is typed.
    let workspace = dir.path().join("work.ron");
    harness.key_press_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, egui::Key::S);
    wait_until(&mut harness, "the path prompt", |app| {
        app.notification_texts().iter().any(|t| t.contains("type where to save the workspace"))
    });
    fill_path(&mut harness, "Workspace file", &workspace, "Save workspace");
    assert!(workspace.exists(), "{:?}", harness.state().notification_texts());
    assert_eq!(harness.state().workspace_path(), Some(workspace.as_path()));
    let text = std::fs::read_to_string(&workspace).unwrap();
    for part in
        ["twinbench_workspace: 1,", "path: \"minimal.ron\"", "loop_mode: \"dry-run\"", "colour: Some(\"drift\")"]
    {
        assert!(text.contains(part), "{part} in\n{text}");
    }
    drop(harness);

    // Reopen: `twinbench gui WORKSPACE`.
    let mut harness = launch(&workspace, None);
    wait_until(&mut harness, "the workspace", |app| app.is_ready() && app.workspace_path().is_some());
    harness.run_steps(6);
    let restored = restorable(harness.state());
    assert_eq!(restored, saved);
    assert_eq!(harness.state().lab().restored(), summaries.as_slice());
    harness.get_by_label("Results when the workspace was saved");
    assert!(notified(&harness, "Opened workspace"));
    // The restored plan entry is the same proposal: still approved, and exported.
    assert_eq!(harness.state().undo_names(), (None, None), "a fresh history");
}

#[test]
fn corrupt_truncated_and_out_of_date_workspaces_keep_the_open_work() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("minimal.ron");
    std::fs::copy(root().join("scenarios/teaching-minimal.ron"), &scenario).unwrap();
    let mut harness = launch(&scenario, Some("web"));
    wait_until(&mut harness, "the scenario", WorkbenchApp::is_ready);
    harness.state_mut().push_command(Command::SetLoopMode(Mode::Automatic));
    let workspace = dir.path().join("good.ron");
    harness.state_mut().push_command(Command::SaveWorkspace(Some(workspace.clone())));
    harness.run_steps(2);
    let text = std::fs::read_to_string(&workspace)
        .unwrap_or_else(|e| panic!("{e}: {:?}", harness.state().notification_texts()));
    let before = restorable(harness.state());

    let truncated = write(dir.path(), "truncated.ron", &text[..text.len() / 2]);
    let garbage = write(dir.path(), "garbage.ron", "(twinbench_workspace: 1, source: scenario(path: 7))");
    let newer = write(dir.path(), "newer.ron", &text.replace("twinbench_workspace: 1", "twinbench_workspace: 99"));
    let missing = write(dir.path(), "missing.ron", &text.replace("minimal.ron", "gone.ron"));
    for (path, says) in [
        (&truncated, "truncated.ron:"),
        (&garbage, "garbage.ron:1:"),
        (&newer, "a newer twinbench wrote it"),
        (&missing, "gone.ron is missing"),
    ] {
        harness.state_mut().push_command(Command::OpenWorkspace(path.clone()));
        harness.run_steps(3);
        assert!(notified(&harness, says), "{says}: {:?}", harness.state().notification_texts());
        assert_eq!(restorable(harness.state()), before, "{}", path.display());
    }

    // The scenario changed since the workspace was saved: refused, naming the twin,
    // while another scenario is open; that one stays.
    let edited = std::fs::read_to_string(&scenario).unwrap();
    let changed = edited.replacen("cpu_cores: 4", "cpu_cores: 6", 1);
    assert_ne!(changed, edited, "the scenario has a twin with 4 cores");
    std::fs::write(&scenario, changed).unwrap();
    harness.state_mut().push_command(Command::Open(twinbench::ui::Source::File(root().join("scenarios/webshop.ron"))));
    harness.run_steps(1);
    wait_until(&mut harness, "the webshop", WorkbenchApp::is_ready);
    let webshop = restorable(harness.state());
    harness.state_mut().push_command(Command::Open(twinbench::ui::Source::File(workspace.clone())));
    wait_until(&mut harness, "the refusal", |app| {
        app.notification_texts().iter().any(|t| t.contains("its scenario changed since it was saved (changed: db)"))
    });
    harness.run_steps(3);
    assert!(harness.state().is_ready());
    assert_eq!(harness.state().scenario().map(|s| s.name.as_str()), Some("webshop"));
    assert_eq!(restorable(harness.state()), webshop);
}

#[test]
fn decisions_policy_edits_and_lab_inputs_are_undone_and_redone() {
    let mut harness = launch(&root().join("scenarios/webshop.ron"), None);
    wait_until(&mut harness, "the scenario", WorkbenchApp::is_ready);
    harness.get_by_label_contains("Remediation (").click();
    harness.run_steps(2);
    click(&mut harness, "Approve all");
    let approved = harness.state().approved_count();
    assert!(approved > 0);
    let name = harness.state().undo_names().0.unwrap().to_string();
    assert!(name.starts_with("Approve all ("), "{name}");

    // The Edit menu names the action; Ctrl+Z takes it back, Ctrl+Shift+Z redoes it.
    click(&mut harness, "Edit");
    harness.get_by_label_contains(&format!("Undo {name}"));
    harness.key_press(egui::Key::Escape);
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.run_steps(2);
    assert_eq!(harness.state().approved_count(), 0);
    assert!(harness.state().decision_log().is_empty());
    assert!(notified(&harness, &format!("Undid: {name}")));
    harness.key_press_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, egui::Key::Z);
    harness.run_steps(2);
    assert_eq!(harness.state().approved_count(), approved);

    // A policy edit: the template policy goes, then comes back.
    let own = harness.state().policies_in_force();
    harness.state_mut().push_command(Command::EditPolicies);
    wait_until(&mut harness, "the template policy", |app| app.policies_in_force() == own + 1);
    assert_eq!(harness.state().undo_names().0, Some("Edit policies"));
    harness.state_mut().push_command(Command::Undo);
    harness.run_steps(2);
    assert_eq!(harness.state().policies_in_force(), own);
    harness.state_mut().push_command(Command::Redo);
    harness.run_steps(2);
    assert_eq!(harness.state().policies_in_force(), own + 1);

    // A lab input: the section shown.
    click(&mut harness, "Lab");
    click(&mut harness, "A/B test");
    harness.run_steps(2);
    assert_eq!(harness.state().lab().inputs().section, "ab");
    assert_eq!(harness.state().undo_names().0, Some("Edit lab inputs"));
    harness.state_mut().push_command(Command::Undo);
    harness.run_steps(2);
    assert_eq!(harness.state().lab().inputs().section, "whatif");
    // Undoing further takes back the policy edit, then the approvals.
    harness.state_mut().push_command(Command::Undo);
    harness.state_mut().push_command(Command::Undo);
    harness.run_steps(2);
    assert_eq!((harness.state().policies_in_force(), harness.state().approved_count()), (own, 0));
}
