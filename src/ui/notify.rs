//! Notifications: errors and notices shown as toasts in the corner of the window.
//! Errors stay until dismissed; notices fade after a few seconds.

use eframe::egui::{self, Align2, Color32, RichText};

/// How serious a notification is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Something finished.
    Info,
    /// Something went wrong; the user's work is untouched.
    Error,
}

#[derive(Clone, Debug)]
struct Toast {
    level: Level,
    text: String,
    shown_at: Option<f64>,
}

/// The list of notifications.
#[derive(Default)]
pub struct Notifications {
    toasts: Vec<Toast>,
}

const NOTICE_SECS: f64 = 6.0;

impl Notifications {
    /// Adds a notice.
    pub fn info(&mut self, text: impl Into<String>) {
        self.toasts.push(Toast { level: Level::Info, text: text.into(), shown_at: None });
    }

    /// Adds an error.
    pub fn error(&mut self, text: impl Into<String>) {
        self.toasts.push(Toast { level: Level::Error, text: text.into(), shown_at: None });
    }

    /// Texts of the visible notifications (for tests and the status bar).
    pub fn texts(&self) -> Vec<(Level, &str)> {
        self.toasts.iter().map(|t| (t.level, t.text.as_str())).collect()
    }

    /// Draws the toasts in the bottom-right corner.
    pub fn ui(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        self.toasts.retain(|t| t.level == Level::Error || t.shown_at.is_none_or(|s| now - s < NOTICE_SECS));
        if self.toasts.is_empty() {
            return;
        }
        let mut dismiss = None;
        egui::Area::new(egui::Id::new("notifications"))
            .anchor(Align2::RIGHT_BOTTOM, [-12.0, -40.0])
            .order(egui::Order::Foreground)
            .show(ctx, |ui| {
                ui.set_max_width(460.0);
                for (i, toast) in self.toasts.iter_mut().enumerate() {
                    toast.shown_at.get_or_insert(now);
                    let (accent, title) = match toast.level {
                        Level::Info => (Color32::from_rgb(70, 140, 220), "Notice"),
                        Level::Error => (Color32::from_rgb(220, 70, 70), "Error"),
                    };
                    egui::Frame::popup(ui.style()).stroke((1.5, accent)).show(ui, |ui| {
                        ui.horizontal(|ui| {
                            ui.label(RichText::new(title).strong().color(accent));
                            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                                if ui.small_button("✕").on_hover_text("Dismiss").clicked() {
                                    dismiss = Some(i);
                                }
                            });
                        });
                        ui.add(egui::Label::new(&toast.text).wrap());
                    });
                    ui.add_space(4.0);
                }
            });
        if let Some(i) = dismiss {
            self.toasts.remove(i);
        }
        if self.toasts.iter().any(|t| t.level == Level::Info) {
            ctx.request_repaint_after(std::time::Duration::from_millis(500));
        }
    }
}
