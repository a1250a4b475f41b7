//! The desktop workbench (eframe/egui). The app state lives in [`app::WorkbenchApp`];
//! each panel is a file with a `*_ui` function that reads state and pushes
//! [`command::Command`]s, which the app carries out after the UI pass; background work
//! (loading, analyses, lab runs, learning, file dialogs, writes) runs as [`jobs::Job`]s
//! on named threads whose results `logic()` drains.

mod analyses;
pub mod app;
pub mod command;
pub mod connect;
mod edge_shape;
pub mod files;
mod findings;
mod graph_filter;
mod graph_panel;
mod inspector;
pub mod jobs;
pub mod lab;
pub mod learn;
mod node_shape;
mod notify;
mod plot_cache;
mod policy_editor;
mod remediation;
mod theme;
mod timeline;
pub mod undo;
pub mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Result, anyhow};

use crate::cli::GuiArgs;
pub use app::{Automation, Launch, Outcome, WorkbenchApp};
pub use jobs::Source;

/// Opens the window and runs until it closes. With `--screenshot` or
/// `--frame-stats` the app closes itself and reports through the shared outcome.
pub fn run(args: &GuiArgs) -> Result<ExitCode> {
    let automation = match (&args.screenshot, args.frame_stats) {
        (Some(path), _) => Some(Automation::Screenshot(path.clone())),
        (None, Some(n)) => Some(Automation::FrameStats(n)),
        (None, None) => None,
    };
    if let Some(Automation::Screenshot(path)) = &automation {
        check_writable(path)?;
    }
    // A workspace is read here first: a corrupt one is an error on the command line.
    if let Some(path) = args.scenario.as_deref().filter(|p| workspace::is_workspace(p)) {
        workspace::read(path)?;
    }
    // A live source is checked here (URL, mapping file, credentials), so bad input is
    // an error on the command line rather than in a window.
    let live = if args.local || args.prometheus.is_some() {
        let mut dialog = connect::ConnectDialogState::default();
        if let (Some(url), Some(mapping)) = (&args.prometheus, &args.mapping) {
            dialog.url = url.clone();
            dialog.mapping = mapping.display().to_string();
            if let Some(backfill) = &args.backfill {
                dialog.backfill = backfill.clone();
            }
        } else {
            dialog.source = connect::SourceChoice::LocalHost;
        }
        Some(dialog.request().map_err(|e| anyhow!(e))?)
    } else {
        None
    };
    let started = crate::io::Stopwatch::start();
    let (w, h) = args.size.unwrap_or((1600.0, 1000.0));
    let outcome: Arc<Mutex<Option<Outcome>>> = Arc::new(Mutex::new(None));
    let launch = Launch {
        scenario: args.scenario.clone(),
        automation: automation.clone(),
        select: args.select.clone(),
        tab: if args.lab_run.is_some() { Some("lab".into()) } else { args.tab.clone() },
        lab_run: args.lab_run.clone(),
        policies: args.policies.clone(),
        live,
        outcome: Arc::clone(&outcome),
        started: Some(started),
    };
    let mut viewport = eframe::egui::ViewportBuilder::default()
        .with_title("twinbench")
        .with_app_id("twinbench")
        .with_inner_size([w, h])
        .with_min_inner_size([720.0, 480.0])
        .with_drag_and_drop(true);
    if automation.is_some() {
        viewport = viewport.with_inner_size([w, h]);
    }
    let options = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        persist_window: automation.is_none(),
        ..Default::default()
    };
    eframe::run_native("twinbench", options, Box::new(move |cc| Ok(Box::new(WorkbenchApp::new(cc, launch)))))
        .map_err(|e| anyhow!("cannot open the workbench window: {e}"))?;
    let result = outcome.lock().map_err(|_| anyhow!("the window thread failed"))?.take();
    match (automation, result) {
        (None, _) => Ok(ExitCode::SUCCESS),
        (Some(_), Some(Outcome::Failed(message))) => Err(anyhow!(message)),
        (Some(_), Some(Outcome::Screenshot(path))) => {
            eprintln!("wrote screenshot {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        (Some(_), Some(Outcome::FrameStats(stats))) => {
            crate::cli::print_json(&stats)?;
            Ok(ExitCode::SUCCESS)
        }
        (Some(_), None) => Err(anyhow!("the window closed before the requested output was produced")),
    }
}

fn check_writable(path: &std::path::Path) -> Result<()> {
    let dir: PathBuf =
        path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), PathBuf::from);
    if !dir.is_dir() {
        return Err(anyhow!("cannot write the screenshot: no such folder: {}", dir.display()));
    }
    Ok(())
}
