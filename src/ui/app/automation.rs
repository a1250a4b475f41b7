//! Automation from the command line: `--screenshot` renders the first settled frame to
//! a PNG, `--frame-stats` measures CPU time per frame (with the first-frame and
//! analyses-ready times); both close the window when done.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use super::WorkbenchApp;
use crate::ui::graph_panel::Motion;

/// What the window should do by itself (command-line automation).
#[derive(Clone, Debug, PartialEq)]
pub enum Automation {
    /// Render the first settled frame to this PNG, then close.
    Screenshot(PathBuf),
    /// Render N frames after loading and report CPU time per frame, then close.
    FrameStats(u32),
}

/// What automation produced.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The screenshot was written.
    Screenshot(PathBuf),
    /// Frame statistics as JSON.
    FrameStats(serde_json::Value),
    /// Automation could not finish.
    Failed(String),
}

/// Progress of the automation of this window.
pub(super) struct AutomationState {
    pub(super) mode: Automation,
    pub(super) settled_frames: u32,
    pub(super) screenshot_requested: bool,
    pub(super) cpu_ms: Vec<f64>,
    pub(super) done: bool,
}

impl WorkbenchApp {
    /// Hands automation's result to the caller of the window.
    pub(super) fn set_outcome(&self, outcome: Outcome) {
        if let Ok(mut slot) = self.outcome.lock() {
            *slot = Some(outcome);
        }
    }

    /// Counts settled frames; takes the screenshot or the frame figures when due.
    pub(super) fn automate(&mut self, ctx: &egui::Context, frame: &eframe::Frame) {
        // Settled: history loaded and the background analyses finished; for a screenshot
        // of a live source, also its first answer (data, or a retry or failure to show).
        // Frame statistics start at once, so a hanging server can be measured.
        let live_waiting = matches!(self.automation.as_ref().map(|a| &a.mode), Some(Automation::Screenshot(_)))
            && self.live.handle.as_ref().is_some_and(|h| h.state() == crate::io::live::ConnState::Connecting);
        let ready = self.is_ready()
            && self.analyses.is_idle()
            && !self.analyses.is_predicting()
            && !live_waiting
            && self.lab_run.is_none()
            && !self.lab.is_running()
            && !self.learning.is_running();
        if ready && self.ready_ms.is_none() {
            self.ready_ms = self.started.map(|s| s.secs() * 1000.0);
        }
        let Some(auto) = &mut self.automation else {
            return;
        };
        if auto.done {
            return;
        }
        ctx.request_repaint();
        let screenshot = ctx.input(|i| {
            i.raw.events.iter().find_map(|e| match e {
                egui::Event::Screenshot { image, .. } => Some(Arc::clone(image)),
                _ => None,
            })
        });
        if !ready {
            return;
        }
        auto.settled_frames += 1;
        match &auto.mode {
            Automation::Screenshot(path) => {
                if let Some(image) = screenshot {
                    let [w, h] = image.size;
                    let bytes: Vec<u8> = image.pixels.iter().flat_map(|p| p.to_array()).collect();
                    let outcome = match crate::io::image::write_png(path, w as u32, h as u32, &bytes) {
                        Ok(()) => Outcome::Screenshot(path.clone()),
                        Err(e) => Outcome::Failed(format!("{e:#}")),
                    };
                    auto.done = true;
                    if let Ok(mut slot) = self.outcome.lock() {
                        *slot = Some(outcome);
                    }
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                } else if auto.settled_frames >= 4 && !auto.screenshot_requested {
                    auto.screenshot_requested = true;
                    ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(egui::UserData::default()));
                }
            }
            Automation::FrameStats(n) => {
                // Skip the first settled frames (fonts, layout warm-up). Each measured
                // frame moves the view as a user exploring the graph would.
                if auto.settled_frames > 3
                    && let Some(cpu) = frame.info().cpu_usage
                {
                    auto.cpu_ms.push(f64::from(cpu) * 1000.0);
                }
                if auto.settled_frames > 2
                    && let Some(graph) = &mut self.graph
                {
                    graph.motion = Some(scripted_motion(auto.settled_frames));
                }
                if auto.cpu_ms.len() >= *n as usize {
                    let mut sorted = auto.cpu_ms.clone();
                    sorted.sort_by(f64::total_cmp);
                    let pick = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
                    let stats = serde_json::json!({
                        "frames": sorted.len(),
                        "median_ms": (pick(0.5) * 1000.0).round() / 1000.0,
                        "p95_ms": (pick(0.95) * 1000.0).round() / 1000.0,
                        "first_frame_ms": self.first_frame_ms.map(f64::round),
                        "ready_ms": self.ready_ms.map(f64::round),
                        "view": "zooming in and out and panning, 40-frame cycle",
                        "peak_rss_mb": crate::io::peak_rss_bytes().map(|b| (b as f64 / 1e6).round()),
                    });
                    auto.done = true;
                    if let Ok(mut slot) = self.outcome.lock() {
                        *slot = Some(Outcome::FrameStats(stats));
                    }
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            }
        }
    }
}

/// The view's motion in the `frame`-th settled frame of `--frame-stats`: a 40-frame
/// cycle of zooming in, panning, zooming out and panning back, so the frames measured
/// are those of someone exploring the graph (the view returns to where it started).
fn scripted_motion(frame: u32) -> Motion {
    const STEP_ZOOM: f32 = 1.04;
    let pan = egui::vec2(14.0, 7.0);
    match frame % 40 {
        0..10 => Motion { zoom: STEP_ZOOM, pan: egui::Vec2::ZERO },
        10..20 => Motion { zoom: 1.0, pan },
        20..30 => Motion { zoom: 1.0 / STEP_ZOOM, pan: egui::Vec2::ZERO },
        _ => Motion { zoom: 1.0, pan: -pan },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scripted_motion_zooms_and_pans_back_over_a_cycle() {
        let cycle: Vec<Motion> = (0..40).map(scripted_motion).collect();
        let zoom: f32 = cycle.iter().map(|m| m.zoom).product();
        let pan = cycle.iter().fold(egui::Vec2::ZERO, |sum, m| sum + m.pan);
        assert!((zoom - 1.0).abs() < 1e-4, "zoom after a cycle {zoom}");
        assert_eq!(pan, egui::Vec2::ZERO);
        assert!(cycle.iter().any(|m| m.zoom > 1.0) && cycle.iter().any(|m| m.pan != egui::Vec2::ZERO));
    }
}
