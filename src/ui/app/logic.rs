//! Per-frame work outside the UI pass: folding in a loaded scenario, the background
//! analyses and learning, live data, what the time cursor shows and the graph's colours.

use std::collections::BTreeMap;
use std::sync::Arc;

use eframe::egui::{self, Color32};

use super::{Current, LIVE_ANALYSIS_SECS, Outcome, RightTab, WorkbenchApp, capitalised};
use crate::analytics::learn::needs_learning;
use crate::analytics::scan::{AnomalyScans, twin_level};
use crate::model::{SeriesKey, TwinId};
use crate::policy::spans::ViolationHistory;
use crate::remediation::assessment::AtTime;
use crate::remediation::review::Review;
use crate::scenario::Scenario;
use crate::ui::analyses::Finished;
use crate::ui::graph_filter::{ColourMode, GraphFilter, passing_twins};
use crate::ui::graph_panel::{GraphModel, GroupSummary};
use crate::ui::inspector::InspectorState;
use crate::ui::jobs::{Job, LoadEvent, LoadJob, Loaded, Source};
use crate::ui::lab::ChaosMark;
use crate::ui::learn::{LearnReason, Learning, ModelCounts};
use crate::ui::policy_editor::effective;
use crate::ui::theme;

impl WorkbenchApp {
    pub(super) fn install(
        &mut self,
        scenario: Scenario,
        violations: ViolationHistory,
        history_ready: bool,
        source: Source,
    ) {
        self.paint_generation += 1;
        let same_scenario =
            self.current.as_ref().is_some_and(|c| c.source == source && c.scenario.name == scenario.name);
        if !same_scenario {
            self.graph = Some(GraphModel::build(&scenario.graph));
            self.timeline.time = scenario.end;
            self.timeline.playing = false;
            self.inspector = InspectorState::default();
            self.filter = GraphFilter::default();
            self.selected = None;
            self.lab.reset_for(&scenario);
            self.lab_seen = self.lab.inputs();
            // Another scenario: another piece of work (a workspace being opened sets
            // its own path once applied).
            self.history.clear();
            self.workspace_path = None;
        }
        self.plot_cache.clear();
        self.paint_generation += 1;
        // A live source's twins arrive later: its selection waits for them (live_logic).
        let pending = if matches!(source, Source::Live(_)) { None } else { self.pending_select.take() };
        let scenario = Arc::new(scenario);
        self.analyses.clear();
        let policies = effective(&scenario.policies, &self.editor_policies);
        let extra_policies = policies.len() > scenario.policies.len();
        let models = ModelCounts::of(&scenario);
        self.current = Some(Current {
            scenario,
            policies,
            anomalies: None,
            scans_so_far: AnomalyScans::new(),
            violations: Arc::new(violations),
            predictions: None,
            predicted_so_far: Vec::new(),
            forecast_pending: None,
            twin_forecasts: BTreeMap::new(),
            history_ready,
            source,
            models,
        });
        // Learning belongs to the scenario it learns from; a lab run that waited for
        // the previous one's goes ahead when nothing is left to learn.
        self.learning = Learning::default();
        self.learn_missing();
        if !self.learning.is_running()
            && let Some(section) = self.lab.take_waiting()
        {
            self.launch_lab(section);
        }
        // A new scenario starts a new decision log; the loop's settings stay.
        let loop_config = self.remediation.orchestrator.config;
        self.remediation = Review::default();
        self.remediation.orchestrator.config = loop_config;
        if history_ready {
            self.start_scan();
        }
        if extra_policies && history_ready {
            self.start_backtest();
        }
        if history_ready {
            self.start_predictions();
        }
        if let Some(id) = pending {
            let id = TwinId::new(&id);
            if self.scenario().is_some_and(|s| s.graph.twin(&id).is_some()) {
                self.select(Some(id));
            } else {
                self.notifications.error(format!("No twin {:?} in this scenario", id.as_str()));
            }
        }
    }

    /// Folds the finished analyses into the open scenario's derived state.
    pub(super) fn poll_analyses(&mut self) {
        for finished in self.analyses.poll() {
            let Some(c) = &mut self.current else {
                continue;
            };
            match finished {
                Finished::Anomalies(Ok(scans)) => {
                    c.anomalies = Some(Arc::new(scans));
                    c.scans_so_far.clear();
                }
                Finished::AnomaliesSoFar(scans) => {
                    if c.anomalies.is_none() {
                        c.scans_so_far.extend(scans);
                    }
                    // Only the graph's anomaly colours change; findings wait for the
                    // whole scan.
                    if self.filter.colour == ColourMode::Anomaly {
                        self.painted = None;
                    }
                    continue;
                }
                Finished::Violations(Ok(violations)) => c.violations = Arc::new(violations),
                Finished::Predictions(Ok(predictions)) => {
                    c.predictions = Some(Arc::new(predictions));
                    c.predicted_so_far.clear();
                }
                Finished::PredictionsSoFar(done) => {
                    if c.predictions.is_none() {
                        for (key, found) in done {
                            if let Some(n) = c.forecast_pending.as_mut().and_then(|p| p.get_mut(&key.twin)) {
                                *n = n.saturating_sub(1);
                            }
                            c.predicted_so_far.extend(found);
                        }
                    }
                    // Only the graph's predicted colours change; findings wait for
                    // every forecast.
                    if self.filter.colour == ColourMode::Predicted {
                        self.painted = None;
                    }
                    continue;
                }
                Finished::TwinForecasts(Ok(forecasts)) => c.twin_forecasts.extend(forecasts),
                Finished::Anomalies(Err(e)) => self.notifications.error(format!("The anomaly scan failed: {e}")),
                Finished::Violations(Err(e)) => {
                    self.notifications.error(format!("Evaluating the policies failed: {e}"));
                }
                Finished::Predictions(Err(e)) => self.notifications.error(format!("Forecasting failed: {e}")),
                Finished::TwinForecasts(Err(e)) => {
                    self.notifications.error(format!("Forecasting the twin failed: {e}"));
                }
            }
            self.paint_generation += 1;
        }
        if self.analyses.take_deferred_predictions() {
            self.start_predictions();
        }
    }

    /// Tells a running anomaly scan and forecasting what to do first: the selected
    /// twin, its neighbours, then the twins in view from the centre out. Twice a second
    /// at most.
    fn steer_scan(&mut self, now: f64) {
        if !self.analyses.is_streaming() || now < self.scan_steered + 0.5 {
            return;
        }
        self.scan_steered = now;
        let (Some(current), Some(graph)) = (&self.current, &self.graph) else {
            return;
        };
        let mut wanted: Vec<TwinId> = Vec::new();
        if let Some(id) = &self.selected {
            wanted.push(id.clone());
            wanted.extend(current.scenario.graph.neighbourhood(id, 1).into_iter().filter(|n| n != id));
        }
        let mut seen: std::collections::BTreeSet<TwinId> = wanted.iter().cloned().collect();
        wanted.extend(graph.twins_in_view().into_iter().filter(|id| seen.insert(id.clone())));
        self.analyses.want_first(&wanted);
    }

    /// Starts the anomaly scan of the open scenario.
    pub(super) fn start_scan(&mut self) {
        let Some(c) = &self.current else {
            return;
        };
        if let Err(e) = self.analyses.start_scan(&c.scenario, &self.ctx) {
            self.notifications.error(e);
        }
    }

    /// Re-evaluates the policies in force over history in the background.
    pub(super) fn start_backtest(&mut self) {
        let Some(c) = &self.current else {
            return;
        };
        if let Err(e) = self.analyses.start_backtest(&c.scenario, &c.policies, &self.ctx) {
            self.notifications.error(e);
        }
    }

    /// Forecasts the series the policies in force apply to and predicts violations —
    /// once the backtest, when one is running, has their violation history.
    pub(super) fn start_predictions(&mut self) {
        let Some(c) = &mut self.current else {
            return;
        };
        c.predicted_so_far.clear();
        c.expect_forecasts();
        if let Err(e) = self.analyses.start_predictions(&c.scenario, &c.policies, &c.violations, &self.ctx) {
            self.notifications.error(e);
        }
    }

    /// Forecasts the selected twin's series that the predictions did not cover.
    pub(super) fn request_twin_forecasts(&mut self) {
        let (Some(current), Some(id)) = (&self.current, &self.selected) else {
            return;
        };
        if !current.history_ready || current.predictions.is_none() || self.analyses.forecasting_twin() == Some(id) {
            return;
        }
        let keys: Vec<SeriesKey> = current
            .scenario
            .telemetry
            .metrics_of(id)
            .map(|m| SeriesKey::new(id.clone(), m.clone()))
            .filter(|k| current.forecast(k).is_none() && !current.twin_forecasts.contains_key(k))
            .collect();
        if keys.is_empty() {
            return;
        }
        if let Err(e) = self.analyses.start_twin_forecasts(&current.scenario, id, keys, &self.ctx) {
            self.notifications.error(e);
        }
    }

    /// Learns the models the open scenario's history lacks, when it lacks some and
    /// nothing is learning yet (a file's history once loaded; a live source's series
    /// are looked after by `live_logic`).
    pub(super) fn learn_missing(&mut self) {
        let Some(c) = &self.current else {
            return;
        };
        if c.history_ready && !self.learning.is_running() && c.models.missing > 0 && needs_learning(&c.scenario) {
            self.start_learning(LearnReason::Missing);
        }
    }

    /// Starts a learn job on the open scenario (see src/ui/learn.rs).
    pub(super) fn start_learning(&mut self, reason: LearnReason) {
        let Some(c) = &self.current else {
            return;
        };
        // A file's scenario stays as it is while learning, so the job can hand back a
        // copy with the models applied; a live one moves on and gets them applied.
        let prepare = !matches!(c.source, Source::Live(_));
        let now = self.ctx.input(|i| i.time);
        if let Err(e) = self.learning.start(&c.scenario, reason, prepare, now, &self.ctx) {
            self.notifications.error(format!("Cannot start learning the twins: {e}"));
        }
    }

    /// Puts finished learning into the open scenario and starts a lab run that waited
    /// for it.
    pub(super) fn poll_learning(&mut self, now: f64) {
        let Some(done) = self.learning.poll(self.current.as_ref().map(|c| &c.scenario), now) else {
            return;
        };
        let live = self.current.as_ref().is_some_and(|c| matches!(c.source, Source::Live(_)));
        // What a live session learns by itself after its first models (refits, series
        // it discovers) is quiet: the Lab's header says when it happened.
        let quiet = match done.reason {
            LearnReason::User => false,
            LearnReason::Missing => live && !done.first,
            LearnReason::LiveRefit => true,
        };
        match done.result {
            Ok(outcome) => {
                if let Some(c) = &mut self.current {
                    match outcome.applied {
                        Some(applied) if done.same_input => c.scenario = applied,
                        // Live events moved the scenario on: the models go into the
                        // latest state (copied once if an analysis still reads it).
                        _ => outcome.learned.apply(Arc::make_mut(&mut c.scenario)),
                    }
                    c.models = ModelCounts::of(&c.scenario);
                    self.paint_generation += 1;
                }
                if !quiet {
                    let line = crate::cli::learned_line(&outcome.learned, outcome.secs);
                    self.notifications.info(capitalised(&line));
                }
            }
            Err(e) if e == "cancelled" => {
                if !quiet {
                    self.notifications.info("Learning cancelled: the twins keep the models they had.");
                }
            }
            Err(e) => self.notifications.error(format!("Cannot learn the twins' workload models: {e}")),
        }
        if let Some(section) = self.lab.take_waiting() {
            self.launch_lab(section);
        }
    }

    pub(super) fn poll_save(&mut self) {
        let Some(result) = self.save_job.as_ref().and_then(Job::poll) else {
            return;
        };
        self.save_job = None;
        match result {
            Ok(message) => self.notifications.info(message),
            Err(e) => self.notifications.error(format!("Cannot save the learned scenario: {e}")),
        }
    }

    pub(super) fn poll_job(&mut self) {
        let Some(job) = &self.job else {
            return;
        };
        let source = job.source.clone();
        while let Some(event) = self.job.as_ref().and_then(LoadJob::poll) {
            match event {
                LoadEvent::Defined(scenario) => {
                    // A workspace is opened only on the twins it was saved on.
                    if let Some(pending) = self.pending_workspace.take() {
                        if !self.workspace_fits(&pending, &scenario) {
                            self.job = None;
                            return;
                        }
                        self.pending_workspace = Some(pending);
                    }
                    self.previous = self.current.take();
                    self.install(*scenario, ViolationHistory::new(), false, source.clone());
                }
                LoadEvent::Loaded(loaded) => {
                    let Loaded { scenario, violations } = *loaded;
                    self.previous = None;
                    if let Some(name) = self.live.handle.as_ref().map(|h| h.name().to_string()) {
                        // Another scenario replaced the live one: stop syncing into nothing.
                        self.live.act(crate::ui::connect::SyncAction::Disconnect);
                        self.notifications.info(format!("Disconnected from {name}"));
                    }
                    let pending = self.pending_workspace.take();
                    if let Some(p) = &pending
                        && !self.workspace_fits(p, &scenario)
                    {
                        self.job = None;
                        self.restore_previous();
                        return;
                    }
                    self.install(scenario, violations, true, source.clone());
                    self.remember(&source);
                    self.job = None;
                    if let Some(pending) = pending {
                        self.apply_workspace(pending);
                    }
                }
                LoadEvent::Failed(message) => {
                    self.job = None;
                    self.pending_workspace = None;
                    self.restore_previous();
                    let kept = if self.current.is_some() { " The open scenario is unchanged." } else { "" };
                    self.notifications.error(format!("Cannot open {}: {message}.{kept}", source.label()));
                    if let Some(auto) = &mut self.automation {
                        auto.done = true;
                        self.set_outcome(Outcome::Failed(message));
                    }
                }
            }
        }
    }

    /// Back to what was open before a load that failed or was refused: same graph,
    /// same selection and time.
    fn restore_previous(&mut self) {
        if let Some(previous) = self.previous.take() {
            self.graph = Some(GraphModel::build(&previous.scenario.graph));
            self.paint_generation += 1;
            self.current = Some(previous);
            self.learn_missing();
        }
    }

    /// Live connect (src/ui/connect.rs): folds new twins and samples into the open
    /// scenario when it is the live one; plots refresh, a cursor or plot view at "now"
    /// follows it, and the anomaly scan, policy evaluation and forecasts re-run on the
    /// grown history (when none is running, at most every [`LIVE_ANALYSIS_SECS`]).
    pub(super) fn live_logic(&mut self, now: f64) {
        let live_scenario = self.current.as_mut().filter(|c| matches!(c.source, Source::Live(_)));
        let is_live = live_scenario.is_some();
        let tick = self.live.logic(live_scenario.map(|c| &mut c.scenario));
        for (error, text) in tick.messages {
            if error {
                self.notifications.error(text);
            } else {
                self.notifications.info(text);
            }
        }
        if !is_live {
            return;
        }
        let Some(c) = &self.current else {
            return;
        };
        if tick.graph_changed {
            self.graph = Some(match &self.graph {
                Some(shown) => shown.rebuild(&c.scenario.graph),
                None => GraphModel::build(&c.scenario.graph),
            });
            let pending =
                self.pending_select.as_ref().map(TwinId::new).filter(|id| c.scenario.graph.twin(id).is_some());
            if pending.is_some() {
                self.pending_select = None;
            }
            self.select(pending.or_else(|| self.selected.clone()));
        }
        if tick.samples > 0 || tick.graph_changed {
            self.plot_cache.clear();
            self.paint_generation += 1;
            self.live_stale = true;
        }
        // Twins adapt (src/ui/learn.rs): new series get a model at once, learned ones
        // are refitted on the grown history every few minutes, one job at a time.
        if tick.samples > 0 {
            self.learning.samples_arrived();
        }
        let mut due_learning = None;
        if let Some(c) = &mut self.current {
            if tick.samples > 0 || tick.graph_changed {
                c.models = ModelCounts::of(&c.scenario);
            }
            due_learning = self.learning.live_due(&c.scenario, now);
        }
        if let Some(reason) = due_learning {
            self.start_learning(reason);
        }
        if let Some((old_end, new_end)) = tick.end_moved {
            if self.timeline.time >= old_end {
                self.timeline.time = new_end;
            }
            crate::ui::connect::follow_view(&mut self.inspector.view, old_end, new_end);
        }
        let due = self.live_analysed_at.is_none_or(|t| now - t >= LIVE_ANALYSIS_SECS);
        let idle = self.analyses.is_idle();
        if self.live_stale && due && idle {
            self.live_stale = false;
            self.live_analysed_at = Some(now);
            if let Some(c) = &mut self.current {
                // Forecasts re-fit on the grown history: the selected twin's are asked
                // again, the predictions (policies' series) are redone below.
                c.twin_forecasts.clear();
                let backtest = !c.policies.is_empty();
                self.start_scan();
                if backtest {
                    self.start_backtest();
                }
                self.start_predictions();
            }
        }
    }

    /// Recomputes what depends on the time cursor when it (or the scenario) changed.
    pub(super) fn refresh_cursor(&mut self) {
        let key = (self.timeline.time, self.paint_generation);
        if self.cursor_key == Some(key) && self.at_cursor.is_some() {
            return;
        }
        self.cursor_key = Some(key);
        self.at_cursor = self.current.as_ref().map(|c| c.assessment().at(self.timeline.time));
    }

    /// Recolours graph nodes when the time cursor, filter, colour mode or data changed.
    pub(super) fn paint_graph(&mut self) {
        let key = (self.timeline.time, self.paint_generation, self.filter.colour, self.filter.key());
        if self.painted.as_ref() == Some(&key) {
            return;
        }
        let (Some(current), Some(graph), Some(at)) = (&self.current, &mut self.graph, &self.at_cursor) else {
            return;
        };
        let dark = self.settings.dark_mode;
        let t = self.timeline.time;
        let passing = passing_twins(&self.filter, &current.scenario.graph, |id| current.health(id, t), &at.findings);
        self.filter.set_passing(passing);
        let mode = self.filter.colour;
        let overlay = if self.lab_painted.is_some() { self.lab.chaos_overlay() } else { None };
        if let Some(marks) = overlay {
            graph.paint(
                |id| match marks.get(id) {
                    Some(ChaosMark::Down) => theme::status_color(crate::model::Status::Down, dark),
                    Some(ChaosMark::Faulted) => theme::status_color(crate::model::Status::Degraded, dark),
                    None => theme::status_color(crate::model::Status::Healthy, dark),
                },
                |id, kind| self.filter.hides(id, kind),
                self.filter.is_active(),
            );
            self.painted = Some(key);
            return;
        }
        // Each twin's colour with how bad it is, so a group takes its worst twin's.
        let unknown = (-1.0, theme::status_color(crate::model::Status::Unknown, dark));
        let tone = |id: &TwinId| -> (f64, Color32) {
            match mode {
                ColourMode::Health => {
                    let status = current.health(id, t);
                    let rank = match status {
                        crate::model::Status::Down => 1.0,
                        crate::model::Status::Degraded => 0.5,
                        crate::model::Status::Healthy => 0.0,
                        crate::model::Status::Unknown => -1.0,
                    };
                    (rank, theme::status_color(status, dark))
                }
                ColourMode::Drift => {
                    at.drift.twin(id).map_or(unknown, |d| (d.score, theme::score_color(d.score, dark)))
                }
                // Grey until every forecast of the twin is done.
                ColourMode::Predicted if !current.forecast_known(id) => unknown,
                ColourMode::Predicted => {
                    let found = current.predicted();
                    let worst = found.iter().filter(|v| &v.twin == id).map(|v| v.probability).fold(0.0, f64::max);
                    (worst, theme::score_color(worst, dark))
                }
                ColourMode::Anomaly => current.scans().map_or(unknown, |scans| {
                    let level = twin_level(scans, id, t).0;
                    (level, theme::score_color(level, dark))
                }),
            }
        };
        graph.paint(|id| tone(id).1, |id, kind| self.filter.hides(id, kind), self.filter.is_active());
        let summaries = group_summaries(graph, at, &tone, |id| current.health(id, t));
        graph.set_group_summaries(summaries);
        self.painted = Some(key);
    }

    /// The frame's work before the UI pass.
    pub(super) fn frame_logic(&mut self, ctx: &egui::Context, frame: &eframe::Frame) {
        self.poll_job();
        self.poll_analyses();
        self.steer_scan(ctx.input(|i| i.time));
        self.request_twin_forecasts();
        self.poll_learning(ctx.input(|i| i.time));
        self.poll_save();
        for failure in self.lab.poll() {
            self.notifications.error(failure);
        }
        // A run asked for on the command line: for a live source once its first samples
        // (and the twin to select) are in; it waits for learned models like a click on
        // Run.
        let settled = self.lab_run.is_some()
            && self.current.as_ref().is_some_and(|c| match c.source {
                Source::Live(_) => c.scenario.has_history(),
                _ => self.pending_select.is_none(),
            });
        if self.is_ready()
            && settled
            && let Some(run) = self.lab_run.take()
        {
            match self.lab.prepare(&run, self.selected.as_ref()) {
                Ok(section) => self.request_lab_run(section),
                Err(e) => {
                    self.notifications.error(format!("Lab: {e}"));
                    self.lab.fail(e);
                }
            }
        }
        self.poll_file_pick(ctx.input(|i| i.time));
        self.dropped_files(ctx);
        self.shortcuts(ctx);
        self.track_lab_inputs();
        self.run_commands(ctx);
        self.live_logic(ctx.input(|i| i.time)); // live connect (src/ui/connect.rs)
        if let Some(c) = &self.current {
            let (start, end) = (c.scenario.start, c.scenario.end);
            self.timeline.time = self.timeline.time.clamp(start, end);
            if self.timeline.playing {
                self.timeline.advance(f64::from(ctx.input(|i| i.stable_dt)), start, end);
                ctx.request_repaint();
            }
        }
        self.refresh_cursor();
        self.check_opened_plan();
        if let Some(c) = &self.current
            && self.filter.update_focus(&c.scenario.graph, self.selected.as_ref())
        {
            self.painted = None;
        }
        // The chaos replay colours the graph while the lab is shown.
        let lab_key = (self.right_tab == RightTab::Lab).then(|| self.lab.chaos_key()).flatten();
        if lab_key != self.lab_painted {
            self.lab_painted = lab_key;
            self.paint_generation += 1;
        }
        self.paint_graph();
        self.automate(ctx, frame);
        if self.job.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }
}

/// What each group's box says (name, size, twins down or degraded, its worst finding and
/// the number of findings at the cursor) and its colour: the colour of its worst twin by `tone` (the colour mode's).
fn group_summaries(
    graph: &GraphModel,
    at: &AtTime,
    tone: &dyn Fn(&TwinId) -> (f64, Color32),
    health: impl Fn(&TwinId) -> crate::model::Status,
) -> Vec<GroupSummary> {
    use crate::model::Status;
    let mut findings: BTreeMap<&TwinId, usize> = BTreeMap::new();
    for f in &at.findings {
        *findings.entry(f.twin()).or_default() += 1;
    }
    graph
        .groups()
        .map(|group| {
            let (mut degraded, mut down, mut found) = (0, 0, 0);
            let mut worst: Option<(f64, Color32)> = None;
            for id in &group.twins {
                match health(id) {
                    Status::Down => down += 1,
                    Status::Degraded => degraded += 1,
                    _ => {}
                }
                found += findings.get(id).copied().unwrap_or(0);
                let this = tone(id);
                if worst.is_none_or(|w| this.0 > w.0) {
                    worst = Some(this);
                }
            }
            let mut text = format!("{} · {} twins", group.name, group.twins.len());
            for (n, what) in [(down, "down"), (degraded, "degraded")] {
                if n > 0 {
                    text.push_str(&format!(" · {n} {what}"));
                }
            }
            // The worst finding: the one behind the group's best-ranked proposal.
            if let Some(c) = at.candidates.iter().find(|c| group.twins.binary_search(c.finding.twin()).is_ok()) {
                text.push_str(&format!(" · worst: {} on {}", c.finding.policy(), c.finding.twin()));
            }
            if found > 0 {
                text.push_str(&format!(" · {found} {}", if found == 1 { "finding" } else { "findings" }));
            }
            GroupSummary { text, colour: worst.map_or(Color32::GRAY, |w| w.1) }
        })
        .collect()
}
