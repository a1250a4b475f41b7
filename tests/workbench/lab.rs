//! The Lab tab driven like a user would (egui_kittest, no GPU): pick a change on the
//! selected twin and compare it with the baseline, A/B two strategy files, compose a
//! fault from the catalogue and replay its blast radius on the graph. A telemetry file
//! or a live source gets learned twins, so the lab works on it too.

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use twinbench::model::TwinId;
use twinbench::ui::app::RightTab;
use twinbench::ui::command::Command;
use twinbench::ui::lab::{ChaosMark, LabFile, Section};
use twinbench::ui::{Launch, WorkbenchApp};

use crate::gui::{click, click_save, estate_csv, fill_path, open_learned, wait_until};
use crate::support::root;

fn open_lab(scenario: &str, select: &str) -> Harness<'static, WorkbenchApp> {
    let launch = Launch { scenario: Some(root().join(scenario)), select: Some(select.into()), ..Launch::default() };
    let mut harness =
        Harness::builder().with_size(egui::vec2(1500.0, 950.0)).build_eframe(move |cc| WorkbenchApp::new(cc, launch));
    wait_until(&mut harness, "the scenario", WorkbenchApp::is_ready);
    click(&mut harness, "Lab");
    assert_eq!(harness.state().right_tab(), RightTab::Lab);
    harness
}

#[test]
fn what_if_scaling_the_database_up_lowers_its_cpu() {
    let mut harness = open_lab("scenarios/teaching-minimal.ron", "db");
    click(&mut harness, "What-if");
    // The picker starts on "scale up cpu × 1.5" for the selected twin.
    click(&mut harness, "Add change");
    harness.get_by_label_contains("scale cpu up");
    harness.get_by_label("Run what-if").click();
    wait_until(&mut harness, "the what-if run", |app| app.lab().whatif_report().is_some());
    let report = harness.state().lab().whatif_report().unwrap();
    let cpu = report.metrics.iter().find(|m| m.twin.as_str() == "db" && m.metric == "cpu_usage").unwrap();
    assert!(cpu.delta_mean().unwrap() < 0.0, "more cores, less cpu: {cpu:?}");
    assert!(!report.series.is_empty(), "series for the plot");
    harness.get_by_label("Per-metric deltas");
    assert!(harness.query_all_by_label("with the change").count() >= 1);
}

#[test]
fn a_rehearsed_change_approved_in_the_lab_is_exported_in_the_plan() {
    let mut harness = open_lab("scenarios/teaching-minimal.ron", "db");
    click(&mut harness, "What-if");
    click(&mut harness, "Add change");
    harness.get_by_label("Run what-if").click();
    wait_until(&mut harness, "the what-if run", |app| app.lab().whatif_report().is_some());
    let before = harness.state().approved_count();
    click(&mut harness, "Approve for the plan");
    assert_eq!(harness.state().approved_count(), before + 1);
    let texts = harness.state().notification_texts();
    assert!(texts.iter().any(|t| t.contains("1 rehearsed action approved for the plan")), "{texts:?}");
    harness.get_by_label_contains("These changes are approved in the plan");

    harness.get_by_label_contains("Remediation (").click();
    harness.run_steps(2);
    harness.get_by_label("From rehearsals (1)");
    harness.get_by_label_contains("and 1 from rehearsals, 1 approved");
    harness.get_by_label_contains("rehearsed in a what-if over 24 h (seed");
    click_save(&mut harness, "Export plan…");
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("rehearsed.json");
    fill_path(&mut harness, "Plan file", &plan, "Write");
    let text =
        std::fs::read_to_string(&plan).unwrap_or_else(|e| panic!("{e}; {:?}", harness.state().notification_texts()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let changes = v["resource_changes"].as_array().unwrap();
    let rehearsed: Vec<&serde_json::Value> =
        changes.iter().filter(|c| c["action_reason"] == "what_if_rehearsal").collect();
    assert_eq!(rehearsed.len(), 1, "{changes:?}");
    let step = rehearsed[0];
    assert_eq!((&step["name"], &step["twinbench"]["action"]), (&"db".into(), &"scale_up".into()));
    assert_eq!(step["twinbench"]["approval"]["status"], "approved");
    assert!(step["twinbench"]["predicted_effect"].as_str().unwrap().starts_with("violation minutes"), "{step}");
    assert!(step["reason_text"].as_str().unwrap().starts_with("rehearsed in a what-if"), "{step}");
    assert!(step["change"]["after"]["capacity.cpu_cores"].is_f64(), "a number: {step}");

    // Taken out again, it leaves the plan.
    click(&mut harness, "Remove");
    assert_eq!(harness.state().approved_count(), before);
    assert!(harness.query_by_label("From rehearsals (1)").is_none());
}

#[test]
fn the_bundled_outage_experiment_offers_its_remediation_for_the_plan() {
    let mut harness = open_lab("scenarios/webshop.ron", "db-primary");
    click(&mut harness, "Chaos");
    // Defaults: the bundled experiment file, remediated with the bundled strategy.
    harness.get_by_label("Run experiment").click();
    wait_until(&mut harness, "the chaos experiment", |app| app.lab().chaos_report().is_some());
    let report = harness.state().lab().chaos_report().unwrap().clone();
    assert!(!report.summary.actions.is_empty());
    harness.get_by_label_contains("Remediation in this experiment (");
    let before = harness.state().approved_count();
    harness.get_all_by_label("Add to plan").next().unwrap().click();
    harness.run_steps(2);
    assert_eq!(harness.state().approved_count(), before + 1);
    harness.get_by_label("✔ in the plan");
    // The first action's time, relative to the first fault, moves the replay there.
    let first = &report.summary.actions[0];
    let since = report.first_fault_at.unwrap();
    let label = format!("{:+.0} min", (first.at - since) as f64 / 60.0);
    harness.get_all_by_label(&label).next().unwrap().click();
    harness.run_steps(2);
    assert_eq!(harness.state().lab().chaos_cursor(), first.at);
}

#[test]
fn ab_test_of_two_strategy_files_shows_intervals_and_a_verdict() {
    // The bundled strategies name the default scenario's twins.
    let mut harness = open_lab("scenarios/webshop.ron", "db-primary");
    click(&mut harness, "A/B test");
    harness.get_by_label("Run A/B test").click();
    harness.run_steps(1);
    wait_until(&mut harness, "the A/B test", |app| !app.lab().is_running());
    let report = harness.state().lab().ab_report().expect("a result, not a failure");
    assert_eq!((report.a.as_str(), report.b.as_str(), report.runs), ("remediate", "hands-off", 10));
    assert_eq!(report.comparisons.len(), 3);
    harness.get_by_label_contains("A = remediate, B = hands-off: 10 runs");
    harness.get_by_label("A mean [95% CI]");
    let verdict = harness.query_by_label_contains("Winner on violation_minutes").is_some()
        || harness.query_by_label_contains("No significant difference on violation_minutes").is_some();
    assert!(verdict, "a verdict on the declared objective is shown");
}

#[test]
fn browsing_for_a_strategy_without_a_file_picker_keeps_the_typed_path() {
    let mut harness = open_lab("scenarios/teaching-minimal.ron", "db");
    click(&mut harness, "A/B test");
    assert_eq!(harness.query_all_by_label("Browse…").count(), 2, "one per strategy");
    harness.get_all_by_label("Browse…").nth(1).unwrap().click();
    // No xdg portal here (as in CI): the picker answers "nothing" at once.
    wait_until(&mut harness, "the fallback message", |app| {
        app.notification_texts().iter().any(|t| t.contains("type the path (Strategy B)"))
    });
    assert_eq!(harness.state().lab().path(LabFile::StrategyB), "scenarios/strategies/hands-off.ron");
    click(&mut harness, "Chaos");
    assert_eq!(harness.query_all_by_label("Browse…").count(), 2, "experiment and remediation strategy");
}

#[test]
fn a_missing_strategy_file_becomes_a_notification() {
    let mut harness = open_lab("scenarios/teaching-minimal.ron", "db");
    click(&mut harness, "A/B test");
    harness.get_all_by_value("scenarios/strategies/remediate.ron").next().unwrap().click();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_steps(1);
    harness
        .get_all_by_value("scenarios/strategies/remediate.ron")
        .next()
        .unwrap()
        .type_text("scenarios/strategies/nope.ron");
    harness.run_steps(2);
    harness.get_by_label("Run A/B test").click();
    wait_until(&mut harness, "the failure", |app| !app.lab().is_running() && !app.notification_texts().is_empty());
    let texts = harness.state().notification_texts();
    assert!(texts.iter().any(|t| t.contains("nope.ron")), "{texts:?}");
    assert!(harness.state().lab().ab_report().is_none());
    assert!(harness.state().is_ready(), "the scenario stays open");
}

#[test]
fn a_crash_composed_on_the_database_spreads_and_is_replayed_on_the_graph() {
    let mut harness = open_lab("scenarios/teaching-minimal.ron", "db");
    click(&mut harness, "Chaos");
    click(&mut harness, "Compose from the catalogue");
    // The catalogue starts on a crash at +20 min until the end.
    click(&mut harness, "Add fault on db");
    harness.get_by_label_contains("crash on db at +20 min");
    harness.get_by_label("Remediate with").click(); // hands off
    harness.run_steps(2);
    harness.get_by_label("Run experiment").click();
    wait_until(&mut harness, "the chaos experiment", |app| app.lab().chaos_report().is_some());
    let lab = harness.state().lab();
    let report = lab.chaos_report().unwrap();
    assert!(report.before.held);
    assert!(report.deviated);
    assert!(!report.after.held, "nobody restarts the database");
    assert!(report.blast_radius_observed.iter().any(|t| t.as_str() == "db"));
    // The replay starts at the fault: the database is down on the graph.
    assert_eq!(lab.chaos_cursor(), report.first_fault_at.unwrap());
    let marks = lab.chaos_overlay().unwrap();
    assert_eq!(marks.get(&TwinId::new("db")), Some(&ChaosMark::Down), "{marks:?}");
    assert_eq!(marks.get(&TwinId::new("host")), None, "the host is untouched");
    harness.get_by_label("hypothesis after");
    assert!(harness.query_all_by_label("deviated").count() >= 2, "during and after the method");

    // Replay: the cursor moves on by itself, the database stays down on the graph, and
    // Pause stops it.
    let (fault, end) = (report.first_fault_at.unwrap(), report.end);
    harness.get_by_label("▶ Replay").click();
    harness.run_steps(3);
    let lab = harness.state().lab();
    assert!(lab.is_replaying());
    let moved = lab.chaos_cursor();
    assert!(moved > fault && moved < end, "{moved} after {fault}, before {end}");
    assert_eq!(lab.chaos_overlay().unwrap().get(&TwinId::new("db")), Some(&ChaosMark::Down));
    harness.get_by_label("⏸ Pause").click();
    harness.run_steps(10);
    let paused = harness.state().lab().chaos_cursor();
    harness.run_steps(30);
    assert_eq!(harness.state().lab().chaos_cursor(), paused, "paused");
    assert!(!harness.state().lab().is_replaying());
    // Played on, it stops at the end of the experiment.
    harness.get_by_label("▶ Replay").click();
    harness.run_steps(400);
    assert_eq!(harness.state().lab().chaos_cursor(), end);
    assert!(!harness.state().lab().is_replaying());
}

/// A telemetry file opened in the workbench, its twins learned, the Lab on.
fn open_csv_lab(select: &str) -> (tempfile::TempDir, Harness<'static, WorkbenchApp>) {
    let dir = tempfile::tempdir().unwrap();
    let csv = estate_csv(dir.path());
    let mut harness = open_learned(&csv, select);
    click(&mut harness, "Lab");
    (dir, harness)
}

#[test]
fn a_telemetry_file_is_learned_and_rehearsed_in_the_lab() {
    let (_dir, mut harness) = open_csv_lab("web");
    let texts = harness.state().notification_texts();
    assert!(texts.iter().any(|t| t.starts_with("Learned 4 workload models from history")), "{texts:?}");
    harness.get_by_label("4 learned");
    click(&mut harness, "Add change");
    click(&mut harness, "Run what-if");
    wait_until(&mut harness, "the what-if run", |app| !app.lab().is_running());
    assert_eq!(harness.state().lab().error(), None);
    let report = harness.state().lab().whatif_report().expect("a report, not \"no workload models\"");
    let cpu = report.metrics.iter().find(|m| m.twin.as_str() == "web" && m.metric == "cpu_usage").unwrap();
    assert!(cpu.delta_mean().unwrap() < 0.0, "more cores, less cpu: {cpu:?}");
    // The other runs drive the learned twins too: a crash composed on the database.
    click(&mut harness, "Chaos");
    click(&mut harness, "Compose from the catalogue");
    harness.state_mut().push_command(twinbench::ui::command::Command::Select(Some(TwinId::new("db"))));
    harness.run_steps(2);
    click(&mut harness, "Add fault on db");
    harness.get_by_label("Remediate with").click();
    harness.run_steps(2);
    click(&mut harness, "Run experiment");
    wait_until(&mut harness, "the chaos experiment", |app| !app.lab().is_running());
    let report = harness.state().lab().chaos_report().expect("a chaos report");
    assert!(report.deviated, "the database is down");
}

#[test]
fn a_run_asked_for_while_learning_waits_for_the_models() {
    let (_dir, mut harness) = open_csv_lab("web");
    click(&mut harness, "Add change");
    // In one frame: a refit starts, then the run is asked for; it waits.
    harness.state_mut().push_command(Command::LearnTwins);
    harness.state_mut().push_command(Command::RunLab(Section::WhatIf));
    harness.step();
    assert!(harness.state().is_learning());
    assert_eq!(harness.state().lab().waiting(), Some(Section::WhatIf));
    assert!(harness.state().lab().is_running());
    // That frame drew it waiting (the job is polled at the start of the next).
    harness.get_by_label_contains("Waiting for the twins' models: learning the twins (");
    wait_until(&mut harness, "the what-if run", |app| !app.lab().is_running());
    assert!(!harness.state().is_learning());
    assert_eq!(harness.state().lab().error(), None);
    assert!(harness.state().lab().whatif_report().is_some());
}

#[test]
fn learn_twins_refits_with_a_progress_bar_and_can_be_cancelled() {
    let (_dir, mut harness) = open_csv_lab("web");
    harness.get_by_label("Learn twins").click();
    // The click's command runs in the next frame: learning has started and shows.
    harness.run_steps(2);
    assert!(harness.state().is_learning());
    assert!(harness.query_by_label("Learn twins").is_none(), "a progress bar in its place");
    assert!(harness.query_all_by_label("Cancel").count() >= 1);
    wait_until(&mut harness, "the refit", |app| !app.is_learning());
    let texts = harness.state().notification_texts();
    assert_eq!(texts.iter().filter(|t| t.starts_with("Learned 4 workload models from history")).count(), 2);
    harness.get_by_label("(learned just now)");
    // Again, cancelled (in the same frame, so the job cannot finish first): the models
    // stay.
    harness.state_mut().push_command(Command::LearnTwins);
    harness.state_mut().push_command(Command::CancelLearning);
    harness.step();
    assert!(!harness.state().is_learning());
    let texts = harness.state().notification_texts();
    assert!(texts.iter().any(|t| t.starts_with("Learning cancelled")), "{texts:?}");
    assert_eq!(harness.state().model_counts().unwrap().learned, 4);
}

#[test]
fn the_learned_scenario_is_saved_and_names_the_same_history() {
    let (dir, mut harness) = open_csv_lab("web");
    click(&mut harness, "Save learned scenario…");
    // No xdg portal here (as in CI): the typed path instead.
    wait_until(&mut harness, "the path window", |app| {
        app.notification_texts().iter().any(|t| t.contains("type the path of the learned scenario"))
    });
    let out = dir.path().join("estate-twins");
    fill_path(&mut harness, "Learned scenario file", &out, "Save");
    wait_until(&mut harness, "the learned scenario", |app| {
        app.notification_texts().iter().any(|t| t.starts_with("Saved") || t.starts_with("Cannot"))
    });
    let texts = harness.state().notification_texts();
    let saved = dir.path().join("estate-twins.ron");
    let expected = format!("Saved 4 learned models to {} (history: estate.csv)", saved.display());
    assert!(texts.contains(&expected), "{texts:?}");
    let (s, _) = twinbench::io::learned::load_any(&saved).unwrap();
    assert_eq!(s.workloads.len(), 4);
    assert!(s.workloads.values().all(|m| m.learned.as_ref().is_some_and(|l| l.samples == 864)));
    assert!(std::fs::read_to_string(&saved).unwrap().contains("telemetry: \"estate.csv\""));
}

#[test]
fn what_if_warns_about_an_unmodelled_key_and_names_an_unknown_one() {
    let mut harness = open_lab("scenarios/teaching-minimal.ron", "db");
    click(&mut harness, "What-if");
    harness.get_by_value("scale up").click();
    harness.run_steps(1);
    click(&mut harness, "set configuration");
    fill_field(&mut harness, "key", "engine");
    fill_field(&mut harness, "=", "mysql");
    click(&mut harness, "Add change");
    click(&mut harness, "Run what-if");
    wait_until(&mut harness, "the what-if run", |app| !app.lab().is_running());
    let report = harness.state().lab().whatif_report().expect("a report");
    assert_eq!(report.warnings, ["no modelled effect for db.engine: the comparison shows no difference"]);
    harness.get_by_label("⚠ no modelled effect for db.engine: the comparison shows no difference");

    // A typo in the key: the run fails and says what was meant.
    click(&mut harness, "✖");
    fill_field(&mut harness, "key", "max_conections");
    fill_field(&mut harness, "=", "400");
    click(&mut harness, "Add change");
    click(&mut harness, "Run what-if");
    wait_until(&mut harness, "the what-if run", |app| !app.lab().is_running());
    let message = "What-if: db has no configuration key \"max_conections\" (did you mean \"max_connections\"?)";
    assert_eq!(harness.state().lab().error(), Some(message));
    assert_eq!(harness.query_all_by_label(message).count(), 2, "at the top of the lab and as a notification");
    assert!(harness.state().notification_texts().iter().any(|t| t == message));
    assert!(harness.state().is_ready(), "the scenario stays open");
}

#[test]
fn a_live_source_is_learned_and_rehearsed() {
    use twinbench::ui::connect::ConnectRequest;
    let launch = Launch {
        live: Some(ConnectRequest::LocalHost { interval: std::time::Duration::from_secs(1) }),
        tab: Some("lab".into()),
        ..Launch::default()
    };
    let mut harness =
        Harness::builder().with_size(egui::vec2(1500.0, 950.0)).build_eframe(move |cc| WorkbenchApp::new(cc, launch));
    // This machine's first samples arrive, and its series are learned at once.
    wait_until(&mut harness, "learned live twins", |app| {
        app.model_counts().is_some_and(|c| c.learned > 0) && !app.is_learning()
    });
    let texts = harness.state().notification_texts();
    assert!(texts.iter().any(|t| t.starts_with("Learned ") && t.contains(" workload model")), "{texts:?}");
    let host = harness.state().scenario().unwrap().graph.ids().next().unwrap().clone();
    harness.state_mut().push_command(Command::Select(Some(host)));
    harness.run_steps(2);
    click(&mut harness, "Add change");
    click(&mut harness, "Run what-if");
    wait_until(&mut harness, "the what-if run", |app| !app.lab().is_running());
    assert_eq!(harness.state().lab().error(), None);
    assert!(harness.state().lab().whatif_report().is_some_and(|r| !r.metrics.is_empty()));
    // More samples keep the learned models (they are refitted every few minutes).
    let samples = |app: &WorkbenchApp| app.scenario().map_or(0, |s| s.telemetry.stats().samples);
    let before = samples(harness.state());
    wait_until(&mut harness, "more samples", |app| samples(app) > before);
    assert!(harness.state().model_counts().is_some_and(|c| c.learned > 0));
    // Saved: a snapshot (history beside it) that carries the learned models.
    let dir = tempfile::tempdir().unwrap();
    harness.state_mut().push_command(Command::PickFile(twinbench::ui::files::FilePurpose::SaveLearned));
    wait_until(&mut harness, "the path window", |app| {
        app.notification_texts().iter().any(|t| t.contains("type the path of the learned scenario"))
    });
    fill_path(&mut harness, "Learned scenario file", &dir.path().join("here.ron"), "Save");
    wait_until(&mut harness, "the learned snapshot", |app| {
        app.notification_texts().iter().any(|t| t.starts_with("Saved") || t.starts_with("Cannot"))
    });
    let texts = harness.state().notification_texts();
    assert!(
        texts.iter().any(|t| t.starts_with("Saved a snapshot of the live twins and their ")
            && t.ends_with("(history: here.telemetry.parquet)")),
        "{texts:?}"
    );
    let (saved, _) = twinbench::io::learned::load_any(&dir.path().join("here.ron")).unwrap();
    assert!(saved.has_history());
    assert!(saved.workloads.values().any(|m| m.learned.is_some()));
}

/// Replaces the text of the field labelled `label`.
fn fill_field(harness: &mut Harness<'static, WorkbenchApp>, label: &str, text: &str) {
    harness.get_by_label(label).click();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_label(label).type_text(text);
    harness.run_steps(1);
}

#[test]
fn a_lab_run_asked_for_at_launch_runs_on_the_learned_twins() {
    // As `twinbench gui estate.csv --select web --lab-run whatif` does.
    let dir = tempfile::tempdir().unwrap();
    let csv = estate_csv(dir.path());
    let launch = Launch {
        scenario: Some(csv),
        select: Some("web".into()),
        tab: Some("lab".into()),
        lab_run: Some("whatif".into()),
        ..Launch::default()
    };
    let mut harness =
        Harness::builder().with_size(egui::vec2(1500.0, 950.0)).build_eframe(move |cc| WorkbenchApp::new(cc, launch));
    wait_until(&mut harness, "the what-if run", |app| {
        app.lab().whatif_report().is_some() || app.lab().error().is_some()
    });
    assert_eq!(harness.state().lab().error(), None);
    assert_eq!(harness.state().model_counts().unwrap().learned, 4);
    let report = harness.state().lab().whatif_report().unwrap();
    assert_eq!(report.changes, ["web: scale cpu up ×1.5"]);
}
