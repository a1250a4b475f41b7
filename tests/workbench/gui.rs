//! The workbench window driven like a user would (egui_kittest, no GPU): load a
//! scenario, find a twin, inspect it, follow a dependency, scrub the timeline, survive
//! a broken file.

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use twinbench::ui::app::Command;
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
