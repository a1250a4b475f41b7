//! Live connect in the workbench: the Connect dialog, the sync-status widget and the
//! glue that folds a live source's events into the open scenario each frame.
//!
//! Everything that touches the network runs on named threads (`prometheus-sync`,
//! `localhost-sampler`, and the [`Job`]s `prometheus-test` and `snapshot-write`); the
//! functions here only read channels and atomics, so a hanging server cannot stall a
//! frame. The dialogs push [`Command`]s; the app carries them out after the UI pass.
//!
//! After *Connect* (Prometheus) the dialog stays open, its fields as typed, until the
//! first complete sync: it lists each retry with its reason (the rules of
//! [`io::first_sync`](crate::io::first_sync), as `twinbench connect` follows them: a
//! server that never answered is given up on after 10 s), offers *Cancel*, and on
//! giving up stops the source and shows the cause, so the user can correct a field and
//! connect again. Closed meanwhile, the dialog lets the source go on connecting; the
//! status bar shows its state and a notification the cause if it gives up.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use eframe::egui::{self, Color32};

use super::command::{Command, Commands};
use super::files::FilePurpose;
use super::jobs::Job;
use crate::io::alertmanager::{self, AlertFile, AlertmanagerConfig, Delivery};
use crate::io::first_sync::FirstSync;
use crate::io::live::{self, ConnState, LiveHandle, SnapshotSummary, TelemetryFormat};
use crate::io::prometheus::auth::{Auth, AuthSource, SecretSource};
use crate::io::prometheus::{self, PrometheusConfig, mapping};
use crate::io::{Stopwatch, localhost, time};
use crate::scenario::Scenario;

/// Which source the dialog sets up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SourceChoice {
    /// A Prometheus server through a mapping file.
    #[default]
    Prometheus,
    /// This machine.
    LocalHost,
}

/// Where the Prometheus credentials are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthChoice {
    /// No credentials (or the mapping's `auth`).
    #[default]
    None,
    /// An environment variable.
    Env,
    /// A file.
    File,
}

impl AuthChoice {
    /// Its name in workspace files: `none`, `env` or `file`.
    pub fn name(self) -> &'static str {
        match self {
            AuthChoice::None => "none",
            AuthChoice::Env => "env",
            AuthChoice::File => "file",
        }
    }

    /// The choice of that name.
    pub fn parse(name: &str) -> Option<AuthChoice> {
        [AuthChoice::None, AuthChoice::Env, AuthChoice::File].into_iter().find(|a| a.name() == name)
    }
}

/// The Connect dialog. Only where secrets are is kept, never a secret.
pub struct ConnectDialogState {
    /// Shown.
    pub open: bool,
    /// Which source.
    pub source: SourceChoice,
    /// Server URL.
    pub url: String,
    /// Mapping file path.
    pub mapping: String,
    /// Where the credentials are.
    pub auth: AuthChoice,
    /// Environment variable name.
    pub auth_env: String,
    /// Secret file path.
    pub auth_file: String,
    /// Basic-auth user (empty for a bearer token).
    pub basic_user: String,
    /// How far back to read, e.g. `6h`.
    pub backfill: String,
    /// Sampling interval of this machine, e.g. `5s`.
    pub interval: String,
    /// Where the automatic loop's approved notifications go (empty: nowhere); the
    /// Prometheus credentials are used for it too.
    pub alertmanager: String,
    /// Result of the last "Test connection", while the dialog is open.
    pub test_result: Option<Result<String, String>>,
    /// A problem with the fields, shown under them.
    pub error: Option<String>,
    /// While a Prometheus source connects: its first sync being waited for.
    pub connecting: Option<Connecting>,
    /// *Cancel* was clicked while connecting.
    pub cancel: bool,
    test: Option<Job<String>>,
}

/// A connection attempt the dialog follows until the first complete sync.
pub struct Connecting {
    watch: FirstSync,
    started: Stopwatch,
    /// Each retry's line, oldest first.
    pub log: Vec<String>,
}

impl Connecting {
    fn new(url: &str) -> Self {
        let name = prometheus::client::check_url(url).unwrap_or_else(|_| url.trim().to_string());
        Connecting { watch: FirstSync::new(&name, None), started: Stopwatch::start(), log: Vec::new() }
    }
}

impl Default for ConnectDialogState {
    fn default() -> Self {
        Self {
            open: false,
            source: SourceChoice::Prometheus,
            url: "http://127.0.0.1:9090".into(),
            mapping: "scenarios/mappings/node_exporter.yaml".into(),
            auth: AuthChoice::None,
            auth_env: "PROMETHEUS_TOKEN".into(),
            auth_file: String::new(),
            basic_user: String::new(),
            backfill: "6h".into(),
            interval: "2s".into(),
            alertmanager: String::new(),
            test_result: None,
            error: None,
            connecting: None,
            cancel: false,
            test: None,
        }
    }
}

/// What the dialog asks for.
#[derive(Clone, Debug)]
pub enum ConnectRequest {
    /// Sync a Prometheus server.
    Prometheus(Box<PrometheusConfig>),
    /// Sample this machine.
    LocalHost {
        /// Time between samples.
        interval: Duration,
    },
}

impl ConnectDialogState {
    /// The request the fields describe, or what is wrong with them. Reads the mapping
    /// file and the secret (local files, no network).
    pub fn request(&self) -> Result<ConnectRequest, String> {
        match self.source {
            SourceChoice::LocalHost => {
                let interval = time::parse_duration(&self.interval).map_err(|m| format!("Interval: {m}"))?;
                if interval < Duration::from_secs(1) {
                    return Err("Interval: at least 1s".into());
                }
                Ok(ConnectRequest::LocalHost { interval })
            }
            SourceChoice::Prometheus => {
                prometheus::client::check_url(&self.url)?;
                let path = PathBuf::from(self.mapping.trim());
                if self.mapping.trim().is_empty() {
                    return Err("Mapping: choose a mapping file (YAML)".into());
                }
                let mapping = mapping::load(&path).map_err(|e| format!("{e:#}"))?;
                let backfill = time::parse_duration(&self.backfill).map_err(|m| format!("Backfill: {m}"))?;
                let auth = self.credentials()?;
                self.alertmanager_config().map_err(|e| format!("Alertmanager URL: {e}"))?;
                let mut config = PrometheusConfig::new(&self.url, mapping);
                config.auth = auth;
                config.backfill = backfill;
                Ok(ConnectRequest::Prometheus(Box::new(config)))
            }
        }
    }
}

impl ConnectDialogState {
    /// The credentials the fields name, read now (from the variable or the file).
    fn credentials(&self) -> Result<Option<Auth>, String> {
        let secret = match self.auth {
            AuthChoice::None => None,
            AuthChoice::Env if self.auth_env.trim().is_empty() => {
                return Err("Auth: name the environment variable".into());
            }
            AuthChoice::Env => Some(SecretSource::Env(self.auth_env.trim().into())),
            AuthChoice::File if self.auth_file.trim().is_empty() => {
                return Err("Auth: name the file".into());
            }
            AuthChoice::File => Some(SecretSource::File(PathBuf::from(self.auth_file.trim()))),
        };
        Ok(match secret {
            None => None,
            Some(s) if self.basic_user.trim().is_empty() => Some(AuthSource::Bearer(s).resolve()?),
            Some(s) => Some(AuthSource::Basic { user: self.basic_user.trim().into(), password: s }.resolve()?),
        })
    }

    /// The Alertmanager the automatic loop's approved notifications go to (with the
    /// Prometheus credentials), `None` when no URL is given.
    pub fn alertmanager_config(&self) -> Result<Option<AlertmanagerConfig>, String> {
        let url = self.alertmanager.trim();
        if url.is_empty() || self.source != SourceChoice::Prometheus {
            return Ok(None);
        }
        Ok(Some(AlertmanagerConfig {
            base_url: prometheus::client::check_server_url("Alertmanager", url)?,
            auth: self.credentials()?,
            ca_pem: None,
            timeout: Duration::from_secs(10),
        }))
    }
}

/// The Connect window. Returns a request when the user presses Connect and the fields
/// are valid; "Test connection" runs on a thread and shows its answer when it comes.
pub fn connect_dialog_ui(ctx: &egui::Context, state: &mut ConnectDialogState, commands: &mut Commands) {
    if !state.open {
        return;
    }
    let mut open = true;
    let mut request = None;
    egui::Window::new("Connect")
        .collapsible(false)
        .resizable(false)
        // Wide enough for the fields (a mapping path is long), opened near the middle;
        // anchored at its top-left corner so that growing (a test result) moves no button.
        .min_width(470.0)
        .default_pos(ctx.content_rect().center() - egui::vec2(235.0, 200.0))
        .open(&mut open)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut state.source, SourceChoice::Prometheus, "Prometheus");
                ui.selectable_value(&mut state.source, SourceChoice::LocalHost, "This machine");
            });
            ui.separator();
            egui::Grid::new("connect-fields").num_columns(2).show(ui, |ui| match state.source {
                SourceChoice::Prometheus => {
                    field(ui, "Server URL", &mut state.url, 320.0, "");
                    let label = ui.label("Mapping file");
                    ui.horizontal(|ui| {
                        let edit = egui::TextEdit::singleline(&mut state.mapping).desired_width(250.0);
                        ui.add(edit.hint_text("mapping.yaml")).labelled_by(label.id);
                        if ui.button("Browse…").on_hover_text("Choose the mapping file").clicked() {
                            commands.push(Command::PickFile(FilePurpose::Mapping));
                        }
                    });
                    ui.end_row();
                    field(ui, "Backfill", &mut state.backfill, 80.0, "6h");
                    field(ui, "Alertmanager URL", &mut state.alertmanager, 320.0, "optional: http://127.0.0.1:9093");
                    ui.label("Credentials");
                    ui.horizontal(|ui| {
                        ui.selectable_value(&mut state.auth, AuthChoice::None, "None");
                        ui.selectable_value(&mut state.auth, AuthChoice::Env, "Environment variable");
                        ui.selectable_value(&mut state.auth, AuthChoice::File, "File");
                    });
                    ui.end_row();
                    match state.auth {
                        AuthChoice::None => {}
                        AuthChoice::Env => {
                            field(ui, "Variable", &mut state.auth_env, 200.0, "PROMETHEUS_TOKEN");
                        }
                        AuthChoice::File => {
                            field(ui, "Secret file", &mut state.auth_file, 320.0, "token.txt");
                        }
                    }
                    if state.auth != AuthChoice::None {
                        field(ui, "Basic-auth user", &mut state.basic_user, 200.0, "empty: bearer token");
                    }
                }
                SourceChoice::LocalHost => {
                    field(ui, "Interval", &mut state.interval, 80.0, "2s");
                }
            });
            if state.source == SourceChoice::Prometheus {
                ui.weak("Secrets are read when connecting and are never saved.");
            }
            ui.horizontal(|ui| {
                if state.connecting.is_some() {
                    crate::ui::theme::spinner(ui);
                    ui.label(format!("Connecting to {}…", state.url.trim()));
                    if ui.button("Cancel").clicked() {
                        state.cancel = true;
                    }
                } else if ui.button("Connect").clicked() {
                    match state.request() {
                        Ok(r) => {
                            state.error = None;
                            if matches!(r, ConnectRequest::Prometheus(_)) {
                                state.connecting = Some(Connecting::new(&state.url));
                            }
                            request = Some(r);
                        }
                        Err(e) => state.error = Some(e),
                    }
                }
                if state.source == SourceChoice::Prometheus {
                    let testing = state.test.is_some();
                    if ui.add_enabled(!testing, egui::Button::new("Test connection")).clicked() {
                        state.test_result = None;
                        match state.request() {
                            Ok(request) => commands.push(Command::TestConnection(request)),
                            Err(e) => state.test_result = Some(Err(e)),
                        }
                    }
                    if testing {
                        crate::ui::theme::spinner(ui);
                    }
                }
            });
            if let Some(c) = &state.connecting {
                // The latest retries (the reason of each), oldest first.
                for line in c.log.iter().rev().take(6).rev() {
                    ui.colored_label(Color32::from_rgb(220, 150, 40), line);
                }
                // Elapsed time and "giving up in" move on without events.
                ctx.request_repaint_after(Duration::from_millis(250));
            }
            if let Some(e) = &state.error {
                ui.colored_label(Color32::from_rgb(220, 80, 60), e);
            }
            match &state.test_result {
                Some(Ok(text)) => {
                    ui.colored_label(Color32::from_rgb(60, 170, 90), text);
                }
                Some(Err(text)) => {
                    ui.colored_label(Color32::from_rgb(220, 80, 60), text);
                }
                None => {}
            }
        });
    // Connecting keeps the dialog open (its fields as typed) until the first sync.
    state.open = open && (request.is_none() || state.connecting.is_some());
    commands.extend(request.map(Command::Connect));
}

/// A labelled text field in a two-column grid (the label names it for screen readers
/// and tests).
fn field(ui: &mut egui::Ui, label: &str, text: &mut String, width: f32, hint: &str) {
    let label = ui.label(label);
    ui.add(egui::TextEdit::singleline(text).desired_width(width).hint_text(hint)).labelled_by(label.id);
    ui.end_row();
}

/// What the user asked the status widget for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncAction {
    /// Pause syncing.
    Pause,
    /// Resume (or retry after a failure).
    Resume,
    /// Sync now.
    SyncNow,
    /// Stop and forget the source (the data stays).
    Disconnect,
}

/// One line for the status bar: the source, its state (connected / retrying in N s /
/// failed with reason / paused) and its buttons.
pub fn sync_status_ui(ui: &mut egui::Ui, handle: &LiveHandle) -> Option<SyncAction> {
    let mut action = None;
    let state = handle.state();
    let paused = handle.is_paused();
    let (colour, text) = match (&state, paused) {
        (_, true) => (Color32::GRAY, "paused".to_string()),
        (ConnState::Connecting, _) => (Color32::from_rgb(200, 160, 40), "connecting…".to_string()),
        (ConnState::Connected { last_sync }, _) => {
            (Color32::from_rgb(60, 170, 90), format!("connected, synced to {}", time::format_short(*last_sync)))
        }
        (ConnState::Retrying { in_secs, attempt, reason }, _) => (
            Color32::from_rgb(220, 150, 40),
            format!("retrying in {in_secs} s (attempt {attempt}): {}", shorten(reason, 90)),
        ),
        (ConnState::Failed { reason }, _) => {
            (Color32::from_rgb(220, 80, 60), format!("failed: {}", shorten(reason, 120)))
        }
        (ConnState::Stopped, _) => (Color32::GRAY, "stopped".to_string()),
    };
    // A painted dot: the default fonts have no glyph for one.
    let (dot, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    ui.painter().circle_filled(dot.center(), 4.5, colour);
    ui.label(format!("{}: {text}", handle.name())).on_hover_text(state.describe());
    if paused {
        if ui.small_button("Resume").clicked() {
            action = Some(SyncAction::Resume);
        }
    } else if matches!(state, ConnState::Failed { .. }) {
        if ui.small_button("Retry").clicked() {
            action = Some(SyncAction::Resume);
        }
    } else if ui.small_button("Pause").clicked() {
        action = Some(SyncAction::Pause);
    }
    if matches!(state, ConnState::Connected { .. } | ConnState::Retrying { .. })
        && !paused
        && ui.small_button("Sync now").clicked()
    {
        action = Some(SyncAction::SyncNow);
    }
    if ui.small_button("Disconnect").clicked() {
        action = Some(SyncAction::Disconnect);
    }
    action
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}

/// What one frame of live data changed.
#[derive(Debug, Default)]
pub struct LiveTick {
    /// Twins or dependencies were added: rebuild the graph view.
    pub graph_changed: bool,
    /// Samples appended: refresh plots.
    pub samples: usize,
    /// The scenario's end before and after (to follow "now").
    pub end_moved: Option<(i64, i64)>,
    /// Messages for the notifications: (is error, text).
    pub messages: Vec<(bool, String)>,
}

/// What a frame's events say about the first sync.
#[derive(Debug, Default)]
struct FirstSyncNews {
    /// States reported, in order.
    states: Vec<ConnState>,
    /// The first (initial) sync completed.
    synced: bool,
}

/// The live source of the workbench, the Connect and snapshot dialogs.
#[derive(Default)]
pub struct LiveState {
    /// The source, while connected.
    pub handle: Option<LiveHandle>,
    /// The Connect dialog.
    pub dialog: ConnectDialogState,
    /// The snapshot path dialog (Some while shown).
    pub snapshot_path: Option<String>,
    snapshot_job: Option<Job<SnapshotSummary>>,
    /// Where the automatic loop's approved notifications go, while connected.
    pub alertmanager: Option<AlertmanagerConfig>,
    /// Alerts being delivered.
    alert_job: Option<Job<Delivery>>,
    last_state: Option<ConnState>,
}

impl LiveState {
    /// Starts a source for a request; returns the empty scenario it fills. The `ctx` is
    /// asked to repaint whenever events arrive.
    pub fn start(&mut self, ctx: &egui::Context, request: ConnectRequest) -> Result<Scenario, String> {
        let repaint = ctx.clone();
        let notify: live::Notify = Arc::new(move || repaint.request_repaint());
        self.alertmanager = None;
        let (handle, step) = match request {
            ConnectRequest::Prometheus(mut config) => {
                self.alertmanager = self.dialog.alertmanager_config()?;
                config.notify = Some(notify);
                let step = config.mapping.step_secs;
                (prometheus::start(*config)?, step)
            }
            ConnectRequest::LocalHost { interval } => {
                let config = localhost::LocalConfig { interval, notify: Some(notify), ..Default::default() };
                (localhost::start(config)?, i64::try_from(interval.as_secs()).unwrap_or(5).max(1))
            }
        };
        let name = format!("live: {}", handle.name());
        let scenario = live::live_scenario(&name, &format!("Live twins of {}", handle.name()), step);
        self.handle = Some(handle);
        self.last_state = None;
        Ok(scenario)
    }

    /// Sends `alerts` to the Alertmanager set in the Connect dialog, in the background
    /// (the answer comes as a message of [`LiveState::logic`]). Returns false when
    /// there is none to send to.
    pub fn send_alerts(&mut self, ctx: &egui::Context, alerts: Vec<AlertFile>) -> Result<bool, String> {
        let Some(config) = self.alertmanager.clone() else {
            return Ok(false);
        };
        let job = Job::spawn("alertmanager", "Sending alerts", ctx, move |_| alertmanager::deliver(&config, &alerts))
            .map_err(|e| format!("cannot start sending the alerts: {e}"))?;
        self.alert_job = Some(job);
        Ok(true)
    }

    /// Drains the source into `scenario` (never blocks). With `None` (the open scenario
    /// is not this source's, e.g. while another file loads) events wait in the channel.
    pub fn logic(&mut self, scenario: Option<&mut Arc<Scenario>>) -> LiveTick {
        let mut tick = LiveTick::default();
        if let Some(result) = self.dialog.test.as_ref().and_then(Job::poll) {
            self.dialog.test_result = Some(result);
            self.dialog.test = None;
        }
        if let Some(result) = self.alert_job.as_ref().and_then(Job::poll) {
            self.alert_job = None;
            let url = self.alertmanager.as_ref().map_or_else(String::new, |c| c.base_url.clone());
            tick.messages.push(match result {
                Ok(d) => (
                    false,
                    format!(
                        "Sent {} alert{} to Alertmanager {} at {url}",
                        d.sent,
                        if d.sent == 1 { "" } else { "s" },
                        d.version
                    ),
                ),
                Err(e) => (true, format!("Cannot deliver the approved notifications: {e}")),
            });
        }
        if let Some(result) = self.snapshot_job.as_ref().and_then(Job::poll) {
            self.snapshot_job = None;
            tick.messages.push(match result {
                Ok(s) => {
                    (false, format!("Saved {} twins and {} samples to {}", s.twins, s.samples, s.scenario.display()))
                }
                Err(e) => (true, format!("Cannot save the snapshot: {e}")),
            });
        }
        let mut first_sync = FirstSyncNews::default();
        if let (Some(handle), Some(scenario)) = (&self.handle, scenario) {
            first_sync = apply_events(handle, &mut self.last_state, scenario, &mut tick);
        }
        self.follow_connecting(&first_sync, &mut tick);
        tick
    }

    /// While the dialog's connection attempt waits for its first sync: logs each retry,
    /// closes the dialog on success, and on *Cancel* or giving up stops the source
    /// (the fields stay as typed; the cause is shown under them).
    fn follow_connecting(&mut self, news: &FirstSyncNews, tick: &mut LiveTick) {
        let cancel = std::mem::take(&mut self.dialog.cancel);
        let Some(connecting) = &mut self.dialog.connecting else {
            return;
        };
        let Some(handle) = &self.handle else {
            // The source did not start (the app told why).
            self.dialog.connecting = None;
            return;
        };
        let state = handle.state();
        if news.synced || matches!(state, ConnState::Connected { .. }) {
            self.dialog.connecting = None;
            self.dialog.open = false;
            return;
        }
        let cause = if cancel {
            Some(format!("Cancelled connecting to {}.", handle.name()))
        } else {
            let elapsed = Duration::from_secs_f64(connecting.started.secs());
            let answered = handle.stats().requests > 0;
            let observed = connecting.watch.observe(&news.states, &state, answered, elapsed);
            connecting.log.extend(observed.lines);
            observed.give_up.map(|cause| {
                let text = format!("Cannot connect to {}: {cause}", handle.name());
                // Said once: a failure the source reported is already a notification.
                if !matches!(state, ConnState::Failed { .. }) {
                    tick.messages.push((true, text.clone()));
                }
                text
            })
        };
        if let Some(cause) = cause {
            if let Some(h) = self.handle.take() {
                h.stop();
            }
            self.last_state = None;
            self.dialog.connecting = None;
            self.dialog.error = Some(cause);
        }
    }

    /// Carries out a status-widget action.
    pub fn act(&mut self, action: SyncAction) {
        let Some(handle) = &self.handle else {
            return;
        };
        match action {
            SyncAction::Pause => handle.pause(),
            SyncAction::Resume => handle.resume(),
            SyncAction::SyncNow => handle.sync_now(),
            SyncAction::Disconnect => {
                handle.stop();
                self.handle = None;
            }
        }
    }

    /// The "Save snapshot" path window; *Save* asks for the snapshot to be written.
    pub fn snapshot_dialog_ui(&mut self, ctx: &egui::Context, have_scenario: bool, commands: &mut Commands) {
        let Some(mut text) = self.snapshot_path.take() else {
            return;
        };
        let mut open = true;
        let mut submit = false;
        egui::Window::new("Save snapshot").collapsible(false).resizable(false).open(&mut open).show(ctx, |ui| {
            ui.weak("The history goes beside it as <name>.telemetry.parquet.");
            ui.horizontal(|ui| {
                let label = ui.label("Scenario file");
                ui.add(egui::TextEdit::singleline(&mut text).desired_width(360.0).hint_text("live-snapshot.ron"))
                    .labelled_by(label.id);
            });
            submit = ui.button("Save").clicked();
        });
        if have_scenario && submit && !text.trim().is_empty() {
            commands.push(Command::SaveSnapshot(PathBuf::from(text.trim())));
        } else if open {
            self.snapshot_path = Some(text);
        }
    }

    /// Writes `scenario` with its history as a snapshot at `path`, in the background.
    pub fn save_snapshot(&mut self, ctx: &egui::Context, scenario: &Arc<Scenario>, path: PathBuf) {
        let snapshot = Arc::clone(scenario);
        let job = Job::spawn("snapshot-write", "Saving the snapshot", ctx, move |_| {
            live::snapshot(&snapshot, &path, TelemetryFormat::Parquet).map_err(|e| format!("{e:#}"))
        });
        match job {
            Ok(job) => self.snapshot_job = Some(job),
            Err(e) => self.dialog.error = Some(format!("cannot save the snapshot: {e}")),
        }
    }

    /// *Test connection*: asks the server, in the background, whether the dialog's
    /// settings work (the answer shows in the dialog).
    pub fn test_connection(&mut self, ctx: &egui::Context, request: ConnectRequest) {
        let ConnectRequest::Prometheus(config) = request else {
            return;
        };
        let job = Job::spawn("prometheus-test", "Testing the connection", ctx, move |_| {
            let mut config = *config;
            config.timeout = Duration::from_secs(10);
            prometheus::test_connection(&config)
        });
        match job {
            Ok(job) => self.dialog.test = Some(job),
            Err(e) => self.dialog.test_result = Some(Err(format!("cannot start the test: {e}"))),
        }
    }

    /// File-menu entries: Connect…, Save snapshot…, Disconnect.
    pub fn file_menu_ui(&mut self, ui: &mut egui::Ui, have_scenario: bool, commands: &mut Commands) {
        if ui.button("Connect…").clicked() {
            self.dialog.open = true;
            self.dialog.test_result = None;
        }
        if ui.add_enabled(have_scenario, egui::Button::new("Save snapshot…")).clicked() {
            commands.push(Command::PickFile(crate::ui::files::FilePurpose::SaveSnapshot));
        }
        if self.handle.is_some() && ui.button("Disconnect").clicked() {
            commands.push(Command::Sync(SyncAction::Disconnect));
        }
    }
}

/// Folds the source's new events into the open scenario.
fn apply_events(
    handle: &LiveHandle,
    last_state: &mut Option<ConnState>,
    scenario: &mut Arc<Scenario>,
    tick: &mut LiveTick,
) -> FirstSyncNews {
    let events = handle.poll();
    if events.is_empty() {
        return FirstSyncNews::default();
    }
    // Background analyses may hold the previous state; they keep it and the open
    // scenario moves on (copied once, then owned again).
    let scenario = Arc::make_mut(scenario);
    let old_end = scenario.end;
    let applied = live::apply(scenario, events);
    // A configuration change recolours drift and the inspector: treat it like a
    // graph change (rare, so the rebuild costs nothing noticeable).
    tick.graph_changed = applied.twins_added > 0 || applied.edges_added > 0 || applied.config_values > 0;
    tick.samples = applied.samples_added;
    if scenario.end != old_end {
        tick.end_moved = Some((old_end, scenario.end));
    }
    for w in applied.warnings {
        tick.messages.push((false, w));
    }
    for e in applied.errors {
        tick.messages.push((true, e));
    }
    let news = FirstSyncNews { states: applied.states.clone(), synced: applied.synced.iter().any(|r| r.initial) };
    for state in applied.states {
        // Report a failure once, when it starts.
        if let ConnState::Failed { reason } = &state
            && !matches!(*last_state, Some(ConnState::Failed { .. }))
        {
            tick.messages.push((true, format!("{}: {reason}", handle.name())));
        }
        *last_state = Some(state);
    }
    news
}

/// Keeps a plot view that showed the end of history showing it as history grows.
pub fn follow_view(view: &mut Option<(f64, f64)>, old_end: i64, new_end: i64) {
    if let Some((a, b)) = view
        && *b >= old_end as f64 - 1.0
    {
        let shift = (new_end - old_end) as f64;
        *view = Some((*a + shift, *b + shift));
    }
}
