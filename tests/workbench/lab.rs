//! The Lab tab driven like a user would (egui_kittest, no GPU): pick a change on the
//! selected twin and compare it with the baseline, A/B two strategy files, compose a
//! fault from the catalogue and replay its blast radius on the graph.

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use twinbench::model::TwinId;
use twinbench::ui::app::RightTab;
use twinbench::ui::lab::{ChaosMark, LabFile};
use twinbench::ui::{Launch, WorkbenchApp};

use crate::gui::{click, fill_path, wait_until};
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
    click(&mut harness, "Export plan…");
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("rehearsed.json");
    fill_path(&mut harness, "Plan file", &plan, "Write");
    let text =
        std::fs::read_to_string(&plan).unwrap_or_else(|e| panic!("{e}; {:?}", harness.state().notification_texts()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let changes = v["resource_changes"].as_array().unwrap();
    let rehearsed: Vec<&serde_json::Value> =
        changes.iter().filter(|c| c["action_reason"].as_str().unwrap().starts_with("rehearsed in a what-if")).collect();
    assert_eq!(rehearsed.len(), 1, "{changes:?}");
    let step = rehearsed[0];
    assert_eq!((&step["name"], &step["twinbench"]["action"]), (&"db".into(), &"scale_up".into()));
    assert_eq!(step["twinbench"]["approval"]["status"], "approved");
    assert!(step["twinbench"]["predicted_effect"].as_str().unwrap().starts_with("violation minutes"), "{step}");
    assert!(step["change"]["after"]["capacity.cpu_cores"].is_string(), "{step}");

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
