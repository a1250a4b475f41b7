//! The workbench window driven like a user would (egui_kittest, no GPU): load a
//! scenario, find a twin, inspect it, follow a dependency, scrub the timeline, survive
//! a broken file.

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use twinbench::ui::command::Command;
use twinbench::ui::{Launch, Source, WorkbenchApp};

use crate::support::{root, write};

fn open(scenario: &str) -> Harness<'static, WorkbenchApp> {
    let launch = Launch { scenario: Some(root().join(scenario)), ..Launch::default() };
    let mut harness =
        Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_eframe(move |cc| WorkbenchApp::new(cc, launch));
    wait_ready(&mut harness);
    harness
}

/// Steps frames until the background load finishes (bounded, so a hang fails).
fn wait_ready(harness: &mut Harness<'static, WorkbenchApp>) {
    for _ in 0..6000 {
        harness.step();
        if harness.state().is_ready() {
            harness.run_steps(3);
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the scenario did not finish loading; notifications: {:?}", harness.state().notification_texts());
}

#[test]
fn search_selects_a_twin_and_the_inspector_shows_it() {
    let mut harness = open("scenarios/teaching-minimal.ron");
    assert_eq!(harness.state().scenario().map(|s| s.name.as_str()), Some("teaching-minimal"));
    assert!(harness.state().selected().is_none());
    // Without a selection the inspector gives the overview.
    harness.get_by_label("Twins violating a rule at the cursor time");

    let search = harness.get_by_label("Search");
    search.click();
    harness.step();
    harness.get_by_label("Search").type_text("db");
    harness.step();
    harness.key_press(egui::Key::Enter);
    harness.run_steps(3);
    assert_eq!(harness.state().selected().map(|id| id.as_str()), Some("db"));
    harness.get_by_label("Database");
    harness.get_by_label("Configuration (2 keys)");
    harness.get_by_label("max_connections");
    harness.get_by_label("disk_usage");

    // Follow a dependency link to the host.
    harness.get_by_label("host (runs_on)").click();
    harness.run_steps(3);
    assert_eq!(harness.state().selected().map(|id| id.as_str()), Some("host"));
    harness.get_by_label("Host");

    // Esc clears the selection.
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert!(harness.state().selected().is_none());
}

#[test]
fn timeline_keys_move_the_cursor() {
    let mut harness = open("scenarios/teaching-minimal.ron");
    let (start, end) = {
        let s = harness.state().scenario().unwrap();
        (s.start, s.end)
    };
    assert_eq!(harness.state().time(), end);
    harness.key_press(egui::Key::Home);
    harness.run_steps(2);
    assert_eq!(harness.state().time(), start);
    harness.key_press(egui::Key::ArrowRight);
    harness.run_steps(2);
    assert_eq!(harness.state().time(), start + 3600);
}

#[test]
fn a_broken_file_keeps_the_open_scenario_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "broken.ron",
        "(version: 1, name: \"x\", start: \"2026-01-01T00:00:00Z\", days: 1,\n twins: [(id: \"a\", kind: \"service\"), (id: \"a\", kind: \"host\")])",
    );
    let mut harness = open("scenarios/teaching-minimal.ron");
    harness.state_mut().push_command(Command::Open(Source::File(bad)));
    for _ in 0..500 {
        harness.step();
        if !harness.state().notification_texts().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let texts = harness.state().notification_texts();
    assert!(texts.iter().any(|t| t.contains("broken.ron:2:") && t.contains("duplicate twin id")), "{texts:?}");
    assert_eq!(harness.state().scenario().map(|s| s.name.as_str()), Some("teaching-minimal"));
    assert!(harness.state().is_ready());
}

/// Three days of a small estate at 5 min in the long layout, without workload models:
/// `web` (requests with a daily cycle and CPU following them) and `db` (CPU and latency
/// with the same cycle). The wobble is a fixed sequence, so the file is always the same.
pub fn estate_csv(dir: &std::path::Path) -> std::path::PathBuf {
    use std::fmt::Write;
    let start = 1_767_225_600; // 2026-01-01T00:00:00Z
    let mut text = String::from("timestamp,twin,metric,value\n");
    for i in 0..3 * 288_i64 {
        let t = start + i * 300;
        let day = ((t % 86_400) as f64 / 86_400.0 * std::f64::consts::TAU - 1.4 * std::f64::consts::PI).cos();
        let wobble = |k: i64| ((i * 7919 + k * 104_729) % 1000) as f64 / 1000.0 - 0.5;
        let rate = 200.0 + 120.0 * day + 20.0 * wobble(1);
        writeln!(text, "{t},web,request_rate,{rate:.2}").unwrap();
        writeln!(text, "{t},web,cpu_usage,{:.2}", 10.0 + 0.15 * rate + 4.0 * wobble(2)).unwrap();
        writeln!(text, "{t},db,cpu_usage,{:.2}", 30.0 + 10.0 * day + 6.0 * wobble(3)).unwrap();
        writeln!(text, "{t},db,latency_ms,{:.3}", 5.0 + 2.0 * day + wobble(4)).unwrap();
    }
    write(dir, "estate.csv", &text)
}

/// Opens `path` in the workbench with `select` selected and waits until it is loaded
/// and its twins are learned.
pub fn open_learned(path: &std::path::Path, select: &str) -> Harness<'static, WorkbenchApp> {
    let launch = Launch { scenario: Some(path.to_path_buf()), select: Some(select.into()), ..Launch::default() };
    let mut harness =
        Harness::builder().with_size(egui::vec2(1500.0, 950.0)).build_eframe(move |cc| WorkbenchApp::new(cc, launch));
    wait_until(&mut harness, "the scenario and its learned twins", |app| app.is_ready() && !app.is_learning());
    harness
}

#[test]
fn the_inspector_says_where_each_metric_model_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let csv = estate_csv(dir.path());
    let mut harness = open_learned(&csv, "db");
    // Learned from the file's history as soon as it loaded.
    let texts = harness.state().notification_texts();
    assert!(texts.iter().any(|t| t.starts_with("Learned 4 workload models from history in ")), "{texts:?}");
    let counts = harness.state().model_counts().unwrap();
    assert_eq!((counts.learned, counts.written, counts.missing), (4, 0, 0));
    // Each plot says so, and the models section tells from what.
    assert_eq!(harness.query_all_by_label("learned").count(), 2, "one tag per metric of db");
    click(&mut harness, "Workload models (2 learned)");
    assert_eq!(
        harness.query_all_by_label_contains("from 2026-01-01 00:00 until 2026-01-03 23:55, 864 samples").count(),
        2
    );
    harness.get_all_by_label_contains("• daily season: 3 cycles").next().unwrap();

    // A learned scenario scored on held-out history (`twinbench learn --holdout`)
    // shows the fit; nothing is left to learn when it opens.
    let (mut s, source) = twinbench::io::learned::load_any(&csv).unwrap();
    let config = twinbench::analytics::learn::LearnConfig::for_scenario(&s);
    let learned = twinbench::analytics::learn::learn(&s, &config, &|_, _| {}, &Default::default()).unwrap();
    learned.apply(&mut s);
    let cpu = twinbench::model::SeriesKey::new("db", "cpu_usage");
    s.workloads.get_mut(&cpu).unwrap().learned.as_mut().unwrap().fit =
        Some(twinbench::model::Fidelity { holdout_secs: 86_400, mase_sim: 0.64, mase_replay: 1.21, coverage80: 0.78 });
    let written = twinbench::io::learned::write_learned(&dir.path().join("scored.ron"), &source, &s).unwrap();
    let mut harness = open_learned(&written.scenario, "db");
    assert!(harness.state().notification_texts().is_empty(), "every series has its model");
    click(&mut harness, "Workload models (2 learned)");
    harness.get_by_label("MASE 0.64 vs replay 1.21, coverage 0.78 (1 d held out)");

    // Written models say so.
    let mut harness = open_learned(&root().join("scenarios/teaching-minimal.ron"), "db");
    assert_eq!(harness.state().model_counts().unwrap().learned, 0);
    click(&mut harness, "Workload models (2 written)");
    assert_eq!(harness.query_all_by_label("in the scenario file").count(), 2);
    assert_eq!(harness.query_all_by_label("written").count(), 4, "in the section and on each plot");
}

#[test]
fn focus_fades_all_but_the_selected_twins_neighbourhood_or_blast_radius() {
    let mut harness = open("scenarios/teaching-minimal.ron");
    assert!(harness.state().faded_twins().is_empty());
    // Without a selection a focus fades nothing.
    choose(&mut harness, "Focus: everything", "Focus: 1 hop");
    assert!(harness.state().faded_twins().is_empty());
    harness.state_mut().push_command(Command::Select(Some("db".into())));
    harness.run_steps(3);
    let scenario = harness.state().scenario().unwrap();
    let near: Vec<String> = scenario.graph.neighbourhood(&"db".into(), 1).iter().map(|t| t.to_string()).collect();
    let all = scenario.graph.twin_count();
    let faded: Vec<String> = harness.state().faded_twins().iter().map(|t| t.to_string()).collect();
    assert_eq!(faded.len() + near.len(), all, "faded {faded:?}, in focus {near:?}");
    assert!(near.contains(&"db".to_string()) && faded.iter().all(|t| !near.contains(t)));
    // The blast radius of the database: it and what needs it.
    choose(&mut harness, "Focus: 1 hop", "Focus: blast radius");
    let scenario = harness.state().scenario().unwrap();
    let reach = scenario.graph.blast_radius(&"db".into()).len() + 1;
    assert_eq!(harness.state().faded_twins().len(), scenario.graph.twin_count() - reach);
    // Clearing the selection brings everything back.
    harness.state_mut().push_command(Command::Select(None));
    harness.run_steps(3);
    assert!(harness.state().faded_twins().is_empty());
}

#[test]
fn filters_and_a_path_focus_fade_the_rest() {
    let mut harness = open("scenarios/teaching-minimal.ron");
    let faded = |h: &Harness<'static, WorkbenchApp>| -> Vec<String> {
        h.state().faded_twins().iter().map(|t| t.to_string()).collect()
    };
    click(&mut harness, "Filter");
    harness.get_by_label_contains("Kind: all").click();
    harness.run_steps(2);
    click(&mut harness, "database");
    assert_eq!(faded(&harness), ["host", "lb", "web"]);
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    click(&mut harness, "Filter (1)");
    click(&mut harness, "Clear filters");
    assert!(faded(&harness).is_empty());
    // Nothing is unhealthy at the end of this history's first hour.
    let start = harness.state().scenario().unwrap().start;
    harness.state_mut().push_command(Command::SetTime(start));
    harness.run_steps(2);
    click(&mut harness, "Filter");
    harness.get_by_label_contains("Health: Any health").click();
    harness.run_steps(2);
    click(&mut harness, "Down");
    assert_eq!(faded(&harness).len(), 4, "no twin is down: {:?}", faded(&harness));
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    click(&mut harness, "Filter (1)");
    click(&mut harness, "Clear filters");

    // The path from the load balancer to the database passes the web server.
    harness.state_mut().push_command(Command::Select(Some("lb".into())));
    harness.run_steps(3);
    choose(&mut harness, "Focus: everything", "Focus: path to…");
    harness.get_by_label("to").click();
    harness.step();
    harness.get_by_label("to").type_text("db");
    harness.step();
    harness.key_press(egui::Key::Enter);
    harness.run_steps(3);
    assert_eq!(faded(&harness), ["host"]);
    harness.get_by_label("2 hops");
}

#[test]
fn an_estate_is_boxed_by_application_with_a_minimap_that_moves_the_view() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("estate.ron");
    let out = crate::support::twinbench(&[
        "generate",
        "--twins",
        "60",
        "--days",
        "1",
        "--seed",
        "3",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let launch = Launch { scenario: Some(path), ..Launch::default() };
    let mut harness =
        Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_eframe(move |cc| WorkbenchApp::new(cc, launch));
    wait_ready(&mut harness);
    harness.run_steps(6);
    assert!(harness.state().graph_groups().len() > 1, "{:?}", harness.state().graph_groups());
    // Each box names its application and size; one with findings names its worst: the
    // finding behind its best-ranked proposal, on one of its own twins.
    let texts = harness.state().graph_group_texts();
    let groups = harness.state().scenario().unwrap().graph.groups();
    assert_eq!(texts.len(), groups.len());
    let mut worst_named = 0;
    for (text, group) in texts.iter().zip(&groups) {
        assert!(text.starts_with(&format!("{} · {} twins", group.name, group.twins.len())), "{text}");
        if text.contains(" finding") {
            let worst = text.split(" · ").find_map(|part| part.strip_prefix("worst: ")).expect(text);
            let (_, twin) = worst.rsplit_once(" on ").expect(text);
            assert!(group.twins.iter().any(|t| t.as_str() == twin), "{text}");
            worst_named += 1;
        }
    }
    assert!(worst_named > 0, "the generated estate has findings: {texts:?}");
    // With everything in view there is nothing to find on a map.
    assert!(harness.query_by_label("Minimap").is_none());
    // Zoom in (as Ctrl+scroll or a pinch would) over the graph.
    let fitted = harness.state().graph_view().expect("the graph was drawn");
    for _ in 0..12 {
        harness.event(egui::Event::PointerMoved(egui::pos2(400.0, 450.0)));
        harness.event(egui::Event::Zoom(1.5));
        harness.step();
    }
    harness.run_steps(2);
    let before = harness.state().graph_view().unwrap();
    assert!(before.0 > fitted.0 * 1.5, "zoomed in: {fitted:?} → {before:?}");
    // A click on the map's top-left corner brings that corner to the view's centre.
    let corner = harness.get_by_label("Minimap").rect().min + egui::vec2(2.0, 2.0);
    harness.event(egui::Event::PointerMoved(corner));
    for pressed in [true, false] {
        harness.event(egui::Event::PointerButton {
            pos: corner,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::default(),
        });
    }
    harness.run_steps(3);
    let after = harness.state().graph_view().unwrap();
    assert_eq!(after.0, before.0, "the zoom stays");
    assert!(after.1.x > before.1.x + 50.0 && after.1.y > before.1.y + 50.0, "{before:?} → {after:?}");

    // Choosing an application fades the others.
    let first = harness.state().graph_groups()[0].clone();
    let members = harness.state().scenario().unwrap().graph.groups()[0].twins.len();
    click(&mut harness, "Filter");
    harness.get_by_label_contains("Application: all").click();
    harness.run_steps(2);
    click(&mut harness, &format!("{first} ({members})"));
    let total = harness.state().scenario().unwrap().graph.twin_count();
    assert_eq!(harness.state().faded_twins().len(), total - members);
}

/// Opens the combo box showing `shown` and picks `item`.
fn choose(harness: &mut Harness<'static, WorkbenchApp>, shown: &str, item: &str) {
    harness.get_by_value(shown).click();
    harness.run_steps(1);
    click(harness, item);
    harness.get_by_value(item);
}

/// Clicks the widget labelled `label` and lets the workbench settle for two frames.
pub fn click(harness: &mut Harness<'static, WorkbenchApp>, label: &str) {
    harness.get_by_label(label).click();
    harness.run_steps(2);
}

/// Clicks a save button: with no file dialog here (no D-Bus session), the app asks
/// for a typed path instead.
pub fn click_save(harness: &mut Harness<'static, WorkbenchApp>, label: &str) {
    harness.get_by_label(label).click();
    wait_until(harness, "the typed-path prompt", |app| {
        app.notification_texts().iter().any(|t| t.starts_with("No file picker is available here"))
    });
    harness.run_steps(1);
}

pub fn wait_until(harness: &mut Harness<'static, WorkbenchApp>, what: &str, done: impl Fn(&WorkbenchApp) -> bool) {
    for _ in 0..6000 {
        harness.step();
        if done(harness.state()) {
            harness.run_steps(2);
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("timed out waiting for {what}; notifications: {:?}", harness.state().notification_texts());
}

/// Replaces the text of the path field `label` with `path` and clicks `button`.
pub fn fill_path(harness: &mut Harness<'static, WorkbenchApp>, label: &str, path: &std::path::Path, button: &str) {
    harness.get_by_label(label).click();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_label(label).type_text(path.to_str().unwrap());
    harness.run_steps(1);
    harness.get_by_label(button).click();
    harness.run_steps(2);
}

#[test]
fn findings_remediation_and_plan_export_on_the_default_scenario() {
    let mut harness = open("scenarios/webshop.ron");
    wait_until(&mut harness, "the forecasts", WorkbenchApp::predictions_ready);
    harness.get_by_label_contains("Findings (").click();
    harness.run_steps(2);
    harness.get_by_label("Rule violations (1)");
    harness.get_by_label_contains("Configuration drift (4 twins");
    harness.get_by_label_contains("Remediation (").click();
    harness.run_steps(2);
    harness.get_by_label_contains("proposed actions for the findings at");
    assert_eq!(harness.state().approved_count(), 0);
    click(&mut harness, "Approve all");
    let proposed = harness.state().findings().len();
    assert!(proposed > 0 && harness.state().approved_count() >= proposed);
    click_save(&mut harness, "Export plan…");
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("gui-plan.json");
    fill_path(&mut harness, "Plan file", &plan, "Write");
    let text =
        std::fs::read_to_string(&plan).unwrap_or_else(|e| panic!("{e}; {:?}", harness.state().notification_texts()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let changes = v["resource_changes"].as_array().unwrap();
    assert!(changes.iter().all(|c| c["twinbench"]["approval"]["status"] == "approved"));
    assert!(changes.iter().any(|c| c["name"] == "cache-redis"));
}

#[test]
fn the_policy_editor_applies_policies_as_you_type_and_keeps_the_last_good_ones() {
    let mut harness = open("scenarios/teaching-minimal.ron");
    let own = harness.state().policies_in_force();
    harness.state_mut().push_command(Command::EditPolicies);
    harness.run_steps(3);
    wait_until(&mut harness, "the template policy", |app| app.policies_in_force() == own + 1 && !app.is_evaluating());
    assert!(harness.state().findings().is_empty(), "teaching-minimal is clean at its end");
    // Replace the text with a policy that the database violates.
    harness.get_by_label("Policy text").click();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_label("Policy text")
        .type_text("name: disk-80\nrules:\n  - {metric: disk_usage, operator: \">\", threshold: 80}\n");
    wait_until(&mut harness, "re-evaluation", |app| !app.is_evaluating() && !app.findings().is_empty());
    assert_eq!(harness.state().policies_in_force(), own + 1);
    assert!(harness.state().findings().iter().any(|f| f.policy() == "disk-80"));
    // The predictions are redone on the new policies' violation history: the database
    // violates disk-80 now, so it is a finding, not a prediction.
    wait_until(&mut harness, "the predictions", WorkbenchApp::predictions_ready);
    let predicted: Vec<&str> = harness.state().predicted().iter().map(|p| p.policy.as_str()).collect();
    assert!(!predicted.contains(&"disk-80"), "{predicted:?}");
    // Break it: the error shows, the last good policy stays in force.
    harness.get_by_label("Policy text").type_text("  - {metric: cpu_usage, operator: \"~\", threshold: 1}\n");
    harness.run_steps(3);
    harness.get_by_label_contains("unknown operator \"~\"");
    assert!(harness.state().findings().iter().any(|f| f.policy() == "disk-80"));
}

#[test]
fn a_key_two_policies_want_alike_is_listed_once_in_the_drift_table() {
    // webshop's own cache-eviction and the remediation file's cache-memory both want
    // cache-redis' eviction in [allkeys-lru, volatile-lru].
    let launch = Launch {
        scenario: Some(root().join("scenarios/webshop.ron")),
        policies: Some(root().join("scenarios/policies/webshop-remediation.yaml")),
        tab: Some("findings".into()),
        ..Launch::default()
    };
    let mut harness =
        Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_eframe(move |cc| WorkbenchApp::new(cc, launch));
    wait_until(&mut harness, "the extra policies", |app| app.is_ready() && !app.is_evaluating());
    // The whole row's text is the one key (said twice it would be "…; …").
    harness.get_by_label("eviction in [\"allkeys-lru\", \"volatile-lru\"] (has \"noeviction\")");
}

#[test]
fn predicted_violations_are_listed_linked_and_drawn_on_the_plots() {
    let mut harness = open("scenarios/webshop.ron");
    wait_until(&mut harness, "the forecasts", WorkbenchApp::predictions_ready);
    let predicted: Vec<String> = harness.state().predicted().iter().map(|v| v.twin.to_string()).collect();
    assert_eq!(predicted, ["db-primary", "db-replica"]);
    harness.get_by_label_contains("Findings (").click();
    harness.run_steps(2);
    harness.get_by_label("Predicted violations (2)");
    // The prediction is a finding now, so remediation is proposed for it.
    assert!(harness.state().findings().iter().any(|f| f.reason().starts_with("predicted violation of disk-space")));
    click(&mut harness, "db-primary");
    assert_eq!(harness.state().selected().map(|id| id.as_str()), Some("db-primary"));
    harness.get_by_label("Inspector").click();
    harness.run_steps(3);
    harness.get_by_label_contains("⚠ disk_usage > 90 in ");
    assert!(harness.query_all_by_label_contains("backtest MASE").count() >= 3);
    // Moving the cursor into the past leaves the predictions out of the findings.
    harness.key_press(egui::Key::Home);
    harness.run_steps(2);
    assert!(!harness.state().findings().iter().any(|f| f.reason().starts_with("predicted")));
    // Colour the graph by predicted violations.
    harness.get_by_value("Colour: Health").click();
    harness.run_steps(1);
    click(&mut harness, "Predicted");
    harness.get_by_value("Colour: Predicted");
}

#[test]
fn the_orchestration_loop_runs_in_each_mode_and_its_log_can_be_saved() {
    let mut harness = open("scenarios/webshop.ron");
    wait_until(&mut harness, "the forecasts", WorkbenchApp::predictions_ready);
    harness.get_by_label_contains("Remediation (").click();
    harness.run_steps(2);
    // Dry run: decisions are logged, nothing is approved.
    harness.get_by_value("Mode: approve each").click();
    harness.run_steps(1);
    click(&mut harness, "dry run");
    harness.get_by_value("Mode: dry run");
    click(&mut harness, "Run loop");
    let log = harness.state().decision_log();
    assert!(
        !log.is_empty() && log.iter().all(|e| e.decision.name() == "dry-run"),
        "{log:?} {:?}",
        harness.state().notification_texts()
    );
    assert_eq!(harness.state().approved_count(), 0);
    // Automatic: what passes the guards is approved by the loop; the rate guard holds
    // the rest back.
    harness.get_by_value("Mode: dry run").click();
    harness.run_steps(1);
    harness.get_by_label("automatic").click();
    harness.run_steps(1);
    click(&mut harness, "Run loop");
    let approved = harness.state().approved_count();
    assert!(approved > 0, "{:?}", harness.state().decision_log());
    let executed = harness.state().decision_log().iter().filter(|e| e.decision.name() == "executed").count();
    assert_eq!(executed, approved);
    assert!(executed <= 6, "at most 6 actions an hour");
    // Save the log as JSON lines.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    click_save(&mut harness, "Save log…");
    fill_path(&mut harness, "Log file", &path, "Append");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}; {:?}", harness.state().notification_texts()));
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), harness.state().decision_log().len());
    assert!(lines.iter().any(|l| l["mode"] == "auto" && l["decision"] == "executed"));
}

#[test]
fn sustained_anomalies_are_findings_with_proposals_in_the_workbench() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = crate::plans::anomalous_estate(dir.path());
    let mut harness = open(scenario.to_str().unwrap());
    wait_until(&mut harness, "the anomaly scan", WorkbenchApp::anomalies_ready);
    harness.run_steps(2);
    harness.get_by_label_contains("Findings (").click();
    harness.run_steps(2);
    harness.get_by_label("Sustained anomalies (1)");
    harness.get_by_label_contains("latency_ms: score");
    harness.get_by_label_contains("Remediation (").click();
    harness.run_steps(2);
    harness.get_by_label_contains("sustained anomaly of latency_ms");
}

#[test]
fn a_plan_file_is_reopened_for_review_and_a_stale_one_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let out = crate::support::twinbench(&[
        "plan",
        "scenarios/webshop.ron",
        "--approve",
        "all",
        "--out",
        plan.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let mut harness = open("scenarios/webshop.ron");
    harness.get_by_label_contains("Remediation (").click();
    harness.run_steps(2);
    click(&mut harness, "Open plan…");
    // No file dialog here (no D-Bus session): the path is typed.
    wait_until(&mut harness, "the path prompt", |app| {
        app.notification_texts().iter().any(|t| t.contains("type the plan's path"))
    });
    fill_path(&mut harness, "Plan to open", &plan, "Open");
    let opened = harness.state().opened_plan().unwrap_or_else(|| panic!("{:?}", harness.state().notification_texts()));
    assert_eq!(opened.stale, None, "computed on the estate open now");
    let steps = opened.file.resource_changes.len();
    assert!(steps > 1);
    harness.get_by_label("✔ Current: computed on the twins and policies open now.");
    harness.get_by_label(&format!("Plan plan.json: {steps} steps"));
    let addresses: Vec<String> = opened.file.resource_changes.iter().map(|r| r.address.clone()).collect();
    for address in &addresses {
        harness.get_by_label(address);
    }
    assert!(addresses.contains(&"cache.cache-redis[1]".to_string()), "two steps on one twin: {addresses:?}");
    assert_eq!(harness.get_all_by_label("approved by cli --approve all").count(), steps);
    assert_eq!(harness.get_all_by_label_contains("capacity.disk_gib: 2000.0 → 2500.0").count(), 2);
    harness.get_by_label_contains("config.eviction: noeviction → allkeys-lru");

    // The same plan after db-primary changed: shown, with a warning naming it.
    let text = std::fs::read_to_string(&plan).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["fingerprint"] = "0".repeat(64).into();
    doc["twin_fingerprints"]["db-primary"] = "changed".into();
    let stale = write(dir.path(), "stale.json", &serde_json::to_string_pretty(&doc).unwrap());
    harness.state_mut().push_command(Command::OpenPlan(stale.clone()));
    harness.run_steps(3);
    let opened = harness.state().opened_plan().unwrap();
    assert_eq!(opened.stale.as_deref(), Some("twins changed since it was computed: db-primary"));
    harness.get_by_label(
        "⚠ Stale plan: twins changed since it was computed: db-primary. Its steps may no longer fit the twins; \
         compute a new plan.",
    );
    assert!(harness.state().notification_texts().iter().any(|t| t.contains("stale.json is stale")));

    // A truncated file: a located notification; the plan shown stays.
    let broken = write(dir.path(), "broken.json", &text[..text.len() / 3]);
    harness.state_mut().push_command(Command::OpenPlan(broken));
    harness.run_steps(3);
    let texts = harness.state().notification_texts();
    assert!(texts.iter().any(|t| t.starts_with("Cannot open the plan: ") && t.contains("broken.json:")), "{texts:?}");
    assert_eq!(harness.state().opened_plan().map(|p| p.path.clone()), Some(stale));

    click(&mut harness, "Close plan");
    assert!(harness.state().opened_plan().is_none());
}
