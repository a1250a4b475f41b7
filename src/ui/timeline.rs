//! The time scrubber: replay history. The cursor time drives the graph's colours, the
//! inspector's configuration view and the plots' cursor line.

use eframe::egui;

use crate::io::time::format_short;
use crate::model::UnixSecs;

/// Playback state.
pub struct Timeline {
    /// Cursor time.
    pub time: UnixSecs,
    /// Playing forward.
    pub playing: bool,
    /// Simulated seconds per real second while playing.
    pub speed: f64,
    /// Fractional seconds carried between frames while playing.
    carry: f64,
}

impl Default for Timeline {
    fn default() -> Self {
        Self { time: 0, playing: false, speed: 6.0 * 3600.0, carry: 0.0 }
    }
}

const SPEEDS: [(f64, &str); 4] =
    [(3600.0, "1 h/s"), (6.0 * 3600.0, "6 h/s"), (86_400.0, "1 day/s"), (7.0 * 86_400.0, "1 week/s")];

impl Timeline {
    /// Advances playback by `dt` real seconds within `[start, end]`; stops at the end.
    pub fn advance(&mut self, dt: f64, start: UnixSecs, end: UnixSecs) {
        if !self.playing {
            return;
        }
        self.carry += dt * self.speed;
        let step = self.carry.floor();
        self.carry -= step;
        self.time = (self.time + step as i64).clamp(start, end);
        if self.time >= end {
            self.playing = false;
        }
    }

    /// Moves the cursor by `delta` seconds within `[start, end]`.
    pub fn nudge(&mut self, delta: i64, start: UnixSecs, end: UnixSecs) {
        self.time = (self.time + delta).clamp(start, end);
    }
}

/// The scrubber row.
pub fn timeline_ui(ui: &mut egui::Ui, timeline: &mut Timeline, start: UnixSecs, end: UnixSecs) {
    ui.horizontal(|ui| {
        if ui.button("⏮").on_hover_text("Start of history (Home)").clicked() {
            timeline.time = start;
            timeline.playing = false;
        }
        let label = if timeline.playing { "⏸" } else { "▶" };
        if ui.button(label).on_hover_text("Play / pause (Space)").clicked() {
            if !timeline.playing && timeline.time >= end {
                timeline.time = start;
            }
            timeline.playing = !timeline.playing;
        }
        if ui.button("⏭").on_hover_text("End of history: now (End)").clicked() {
            timeline.time = end;
            timeline.playing = false;
        }
        egui::ComboBox::from_id_salt("play-speed")
            .width(80.0)
            .selected_text(SPEEDS.iter().find(|(s, _)| *s == timeline.speed).map_or("speed", |(_, l)| *l))
            .show_ui(ui, |ui| {
                for (speed, label) in SPEEDS {
                    ui.selectable_value(&mut timeline.speed, speed, label);
                }
            });
        ui.label(egui::RichText::new(format_short(timeline.time)).monospace().strong())
            .on_hover_text("Time cursor (UTC). Left/Right arrows move it by an hour, Shift+arrow by a day.");
        let mut t = timeline.time as f64;
        ui.spacing_mut().slider_width = (ui.available_width() - 150.0).max(120.0);
        let slider = egui::Slider::new(&mut t, start as f64..=end as f64).show_value(false);
        if ui.add(slider).on_hover_text("Drag to replay history").changed() {
            timeline.time = t as i64;
            timeline.playing = false;
        }
        let days_before_end = (end - timeline.time) as f64 / 86_400.0;
        ui.weak(if days_before_end < 1.0 / 24.0 { "now".to_string() } else { format!("-{days_before_end:.1} d") });
    });
}
