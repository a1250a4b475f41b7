//! Orchestration: the loop evaluate → prioritize → act, run once per tick. Each tick
//! takes the findings of that moment, ranks candidate actions ([`super::plan`]), checks
//! the guards and, by mode, executes (automatic), queues for approval (approve-each) or
//! only records (dry-run). Every decision goes to an append-only audit log.
//!
//! The rules, in the order they apply within a tick:
//! 1. **Root cause before symptoms.** A finding attributed to a dependency that is down
//!    or faulted (`plan::Cause`: "api-orders latency: caused by db-primary down") gets
//!    no action of its own but notifications: it is logged as a symptom and skipped,
//!    so the budget goes to the cause (restarting the dead database), not to scaling
//!    out its slow callers.
//! 2. **Priorities decide.** Candidates are taken best first (`plan::candidates`'
//!    order) — except that *critical availability* actions (a restart or migration
//!    for a rule on `up`: the twin is down) come before all others — and each is
//!    decided before the next consumes any budget.
//! 3. **Guards protect.** At most `max_actions_per_hour` executed actions in any hour,
//!    except critical availability actions, which are never starved by others (they
//!    neither wait for the budget nor spend it; their cooldown still applies); a
//!    `cooldown` per twin *and action kind* after an action (a disk scale-up does not
//!    delay a restart of the same twin); and a blast-radius limit — an action on a twin
//!    whose failure would reach more than `max_blast_radius` twins is never executed
//!    automatically, it waits for approval. Notifications are recorded but pass every
//!    guard.
//!
//! The same decision about the same proposal is logged once, not every tick.

use std::collections::{BTreeMap, VecDeque};

use super::plan::{Candidate, Finding, candidates};
use super::priority::{ScoreBreakdown, Weights};
use crate::model::{ActionKind, TwinGraph, TwinId, UnixSecs};
use crate::policy::Policy;

/// How the loop acts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// Execute what passes the guards.
    Automatic,
    /// Queue every action for a person to approve.
    #[default]
    ApproveEach,
    /// Decide, record, do nothing.
    DryRun,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 3] = [Mode::Automatic, Mode::ApproveEach, Mode::DryRun];

    /// Name in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Automatic => "auto",
            Mode::ApproveEach => "approve",
            Mode::DryRun => "dry-run",
        }
    }

    /// Parses the name.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "auto" | "automatic" => Some(Mode::Automatic),
            "approve" | "approve-each" => Some(Mode::ApproveEach),
            "dry-run" | "dryrun" => Some(Mode::DryRun),
            _ => None,
        }
    }
}

/// Safety limits of the loop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Guards {
    /// Executed actions allowed in any hour.
    pub max_actions_per_hour: u32,
    /// Quiet time per twin after an action on it, in seconds.
    pub cooldown_secs: i64,
    /// Largest blast radius an action may have to run without approval.
    pub max_blast_radius: usize,
}

impl Default for Guards {
    fn default() -> Self {
        Self { max_actions_per_hour: 6, cooldown_secs: 1800, max_blast_radius: 10 }
    }
}

/// Settings of the loop.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OrchestratorConfig {
    /// How it acts.
    pub mode: Mode,
    /// Its limits.
    pub guards: Guards,
    /// Prioritization weights.
    pub weights: Weights,
}

/// What the loop decided about a proposal.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Executed.
    Executed,
    /// Waiting in the approval queue.
    Queued,
    /// Recorded only (dry-run).
    DryRun,
    /// Held back by a guard (the reason says which).
    Skipped(String),
    /// Approved by a person and executed.
    Approved(String),
    /// Rejected by a person.
    Rejected(String),
    /// The world could not apply it.
    Failed(String),
}

impl Decision {
    /// Short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Executed => "executed",
            Decision::Queued => "queued",
            Decision::DryRun => "dry-run",
            Decision::Skipped(_) => "skipped",
            Decision::Approved(_) => "approved",
            Decision::Rejected(_) => "rejected",
            Decision::Failed(_) => "failed",
        }
    }

    /// The detail (guard, approver, error), if any.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Decision::Skipped(s) | Decision::Approved(s) | Decision::Rejected(s) | Decision::Failed(s) => Some(s),
            _ => None,
        }
    }
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    /// Simulated time of the decision.
    pub at: UnixSecs,
    /// Proposal id.
    pub action_id: String,
    /// Twin acted on.
    pub twin: TwinId,
    /// The action in words.
    pub action: String,
    /// Why it was proposed.
    pub reason: String,
    /// Its score.
    pub score: ScoreBreakdown,
    /// Mode of the loop.
    pub mode: Mode,
    /// The decision.
    pub decision: Decision,
}

impl AuditEntry {
    /// The entry for a decision on a proposal.
    pub fn new(at: UnixSecs, c: &Candidate, mode: Mode, decision: Decision) -> Self {
        Self {
            at,
            action_id: c.id.clone(),
            twin: c.target.clone(),
            action: c.kind.to_string(),
            reason: c.finding.reason(),
            score: c.score,
            mode,
            decision,
        }
    }
}

/// Whether an action restores a twin that is down (a restart or migration for a rule on
/// `up`): it goes first and no rate limit starves it.
pub fn critical_availability(c: &Candidate) -> bool {
    matches!(c.kind, ActionKind::Restart | ActionKind::Migrate { .. })
        && matches!(&c.finding, Finding::Violation { metric, .. } if metric.as_str() == crate::model::metric::UP)
}

/// The loop's state: guard history, approval queue, audit log.
#[derive(Clone, Debug, Default)]
pub struct Orchestrator {
    /// Settings.
    pub config: OrchestratorConfig,
    executed: VecDeque<UnixSecs>,
    /// The last executed action per (twin, action kind name): the cooldowns.
    last_action: BTreeMap<(TwinId, &'static str), UnixSecs>,
    queue: Vec<Candidate>,
    last_logged: BTreeMap<String, String>,
    audit: Vec<AuditEntry>,
}

impl Orchestrator {
    /// A loop with settings.
    pub fn new(config: OrchestratorConfig) -> Self {
        Self { config, ..Self::default() }
    }

    /// Proposals waiting for approval, best first.
    pub fn queue(&self) -> &[Candidate] {
        &self.queue
    }

    /// The audit log so far, oldest first.
    pub fn audit(&self) -> &[AuditEntry] {
        &self.audit
    }

    /// Takes the audit entries recorded so far (for appending to a file).
    pub fn drain_audit(&mut self) -> Vec<AuditEntry> {
        std::mem::take(&mut self.audit)
    }

    /// The first instant after `now` at which a guard's verdict can change by the
    /// passing of time alone (a cooldown ends, an executed action leaves the hourly
    /// window). Until then, the same findings on the same twins get the same decisions:
    /// the simulation engine uses this to skip ticks at which nothing changed.
    pub fn next_guard_change(&self, now: UnixSecs) -> Option<UnixSecs> {
        let cooldowns = self.last_action.values().map(|t| t + self.config.guards.cooldown_secs);
        let window = self.executed.iter().map(|t| t + 3600);
        cooldowns.chain(window).filter(|t| *t > now).min()
    }

    fn log(&mut self, at: UnixSecs, c: &Candidate, decision: Decision) {
        let key = format!("{}:{}", decision.name(), decision.detail().unwrap_or(""));
        if self.last_logged.get(&c.id) == Some(&key) {
            return;
        }
        self.last_logged.insert(c.id.clone(), key);
        self.audit.push(AuditEntry::new(at, c, self.config.mode, decision));
    }

    fn guard(&self, now: UnixSecs, c: &Candidate, graph: &TwinGraph) -> Option<String> {
        if matches!(c.kind, ActionKind::Notify { .. }) {
            return None;
        }
        let g = &self.config.guards;
        if let Some(last) = self.last_action.get(&(c.target.clone(), c.kind.name()))
            && now - last < g.cooldown_secs
        {
            return Some(format!("cooldown of {} on {} until {}", c.kind.name(), c.target, last + g.cooldown_secs));
        }
        let recent = self.executed.iter().filter(|t| now - **t < 3600).count();
        if recent >= g.max_actions_per_hour as usize && !critical_availability(c) {
            return Some(format!("rate limit: {recent} actions in the last hour"));
        }
        let blast = graph.blast_radius(&c.target).len();
        if blast > g.max_blast_radius {
            return Some(format!("blast radius {blast} > {}: needs approval", g.max_blast_radius));
        }
        None
    }

    fn execute(
        &mut self,
        now: UnixSecs,
        c: &Candidate,
        decision: Decision,
        apply: &mut dyn FnMut(&Candidate) -> Result<(), String>,
    ) -> bool {
        match apply(c) {
            Ok(()) => {
                if !matches!(c.kind, ActionKind::Notify { .. }) {
                    // Critical availability actions neither wait for nor spend the budget.
                    if !critical_availability(c) {
                        self.executed.push_back(now);
                    }
                    self.last_action.insert((c.target.clone(), c.kind.name()), now);
                }
                self.log(now, c, decision);
                true
            }
            Err(e) => {
                self.log(now, c, Decision::Failed(e));
                false
            }
        }
    }

    /// One tick: ranks the candidates of `findings` and acts by mode. `apply` carries an
    /// action out in the world (the simulation engine) and says whether it could.
    /// Returns the proposals executed this tick.
    pub fn tick(
        &mut self,
        now: UnixSecs,
        findings: &[Finding],
        graph: &TwinGraph,
        policies: &[Policy],
        apply: &mut dyn FnMut(&Candidate) -> Result<(), String>,
    ) -> Vec<Candidate> {
        while self.executed.front().is_some_and(|t| now - *t >= 3600) {
            self.executed.pop_front();
        }
        let mut ranked = candidates(graph, policies, findings, &self.config.weights);
        // Critical availability first, the rest in score order (a stable sort).
        ranked.sort_by_key(|c| !critical_availability(c));
        let mut done = Vec::new();
        for c in ranked {
            if let Some(cause) = c.finding.cause().filter(|_| !matches!(c.kind, ActionKind::Notify { .. })) {
                self.log(now, &c, Decision::Skipped(format!("symptom of {cause}: the cause is acted on, not this")));
                continue;
            }
            match self.config.mode {
                Mode::DryRun => self.log(now, &c, Decision::DryRun),
                Mode::ApproveEach => self.enqueue(now, c),
                Mode::Automatic => match self.guard(now, &c, graph) {
                    None => {
                        if self.execute(now, &c, Decision::Executed, apply) {
                            done.push(c);
                        }
                    }
                    Some(reason) if reason.contains("needs approval") => {
                        self.log(now, &c, Decision::Skipped(reason));
                        self.enqueue(now, c);
                    }
                    Some(reason) => self.log(now, &c, Decision::Skipped(reason)),
                },
            }
        }
        done
    }

    fn enqueue(&mut self, now: UnixSecs, c: Candidate) {
        if !self.queue.iter().any(|q| q.id == c.id) {
            self.log(now, &c, Decision::Queued);
            self.queue.push(c);
            self.queue.sort_by(|a, b| b.score.total.total_cmp(&a.score.total).then_with(|| a.id.cmp(&b.id)));
        }
    }

    /// A person approves a queued proposal: it is executed now (guards other than the
    /// blast-radius limit still apply). Returns whether it ran.
    pub fn approve(
        &mut self,
        now: UnixSecs,
        id: &str,
        by: &str,
        graph: &TwinGraph,
        apply: &mut dyn FnMut(&Candidate) -> Result<(), String>,
    ) -> Result<bool, String> {
        let index = self.queue.iter().position(|c| c.id == id).ok_or_else(|| format!("no queued action {id:?}"))?;
        let c = self.queue[index].clone();
        if let Some(reason) = self.guard(now, &c, graph).filter(|r| !r.contains("needs approval")) {
            self.log(now, &c, Decision::Skipped(reason));
            return Ok(false);
        }
        self.queue.remove(index);
        Ok(self.execute(now, &c, Decision::Approved(by.to_string()), apply))
    }

    /// A person rejects a queued proposal.
    pub fn reject(&mut self, now: UnixSecs, id: &str, by: &str) -> Result<(), String> {
        let index = self.queue.iter().position(|c| c.id == id).ok_or_else(|| format!("no queued action {id:?}"))?;
        let c = self.queue.remove(index);
        self.log(now, &c, Decision::Rejected(by.to_string()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dependency, EdgeKind, Twin, TwinKind};
    use crate::remediation::plan::Cause;

    fn world() -> (TwinGraph, Vec<Policy>) {
        let mut g = TwinGraph::new();
        let mut db = Twin::new("db", TwinKind::Database);
        db.capacity.disk_gib = Some(100.0);
        g.add_twin(db).unwrap();
        for i in 0..3 {
            let id = format!("web-{i}");
            g.add_twin(Twin::new(id.as_str(), TwinKind::Service)).unwrap();
            g.add_dependency(&id.as_str().into(), &"db".into(), Dependency::new(EdgeKind::DependsOn)).unwrap();
        }
        let mut p = Policy::named("disk");
        p.severity = crate::policy::Severity::High;
        (g, vec![p])
    }

    fn finding(value: f64) -> Finding {
        Finding::Violation {
            policy: "disk".into(),
            rule: "disk_usage > 90".into(),
            metric: "disk_usage".into(),
            twin: "db".into(),
            value,
            since: 0,
            cause: None,
        }
    }

    #[test]
    fn automatic_mode_respects_cooldown_and_logs_each_decision_once() {
        let (g, p) = world();
        let mut o = Orchestrator::new(OrchestratorConfig { mode: Mode::Automatic, ..Default::default() });
        let applied = std::cell::Cell::new(0);
        let mut apply = |_: &Candidate| {
            applied.set(applied.get() + 1);
            Ok(())
        };
        for t in 0..10 {
            o.tick(t * 60, &[finding(95.0)], &g, &p, &mut apply);
        }
        assert_eq!(applied.get(), 1, "cooldown holds the repeat");
        let decisions: Vec<&str> = o.audit().iter().map(|a| a.decision.name()).collect();
        assert_eq!(decisions, ["executed", "skipped"]);
        o.tick(1800, &[finding(95.0)], &g, &p, &mut apply);
        assert_eq!(applied.get(), 2, "after the cooldown it may act again");
    }

    #[test]
    fn rate_limit_and_blast_radius_guards() {
        let (g, p) = world();
        let guards = Guards { max_actions_per_hour: 6, cooldown_secs: 0, max_blast_radius: 2 };
        let mut o = Orchestrator::new(OrchestratorConfig { mode: Mode::Automatic, guards, ..Default::default() });
        let mut count = 0;
        o.tick(0, &[finding(95.0)], &g, &p, &mut |_| {
            count += 1;
            Ok(())
        });
        assert_eq!(count, 0, "db's blast radius is 3 > 2");
        assert_eq!(o.queue().len(), 1, "it waits for approval instead");
        let id = o.queue()[0].id.clone();
        assert_eq!(o.approve(60, &id, "alice", &g, &mut |_| Ok(())), Ok(true));
        assert!(o.queue().is_empty());
        assert!(matches!(o.audit().last().map(|a| &a.decision), Some(Decision::Approved(by)) if by == "alice"));

        let guards = Guards { max_actions_per_hour: 2, cooldown_secs: 0, max_blast_radius: 10 };
        let mut o = Orchestrator::new(OrchestratorConfig { mode: Mode::Automatic, guards, ..Default::default() });
        let mut count = 0;
        for t in 0..5 {
            o.tick(t * 60, &[finding(95.0 + t as f64)], &g, &p, &mut |_| {
                count += 1;
                Ok(())
            });
        }
        assert_eq!(count, 2, "two per hour");
    }

    #[test]
    fn next_guard_change_is_the_end_of_a_cooldown_or_rate_window() {
        let (g, p) = world();
        let guards = Guards { max_actions_per_hour: 6, cooldown_secs: 600, max_blast_radius: 10 };
        let mut o = Orchestrator::new(OrchestratorConfig { mode: Mode::Automatic, guards, ..Default::default() });
        assert_eq!(o.next_guard_change(0), None);
        o.tick(100, &[finding(95.0)], &g, &p, &mut |_| Ok(()));
        assert_eq!(o.next_guard_change(100), Some(700));
        assert_eq!(o.next_guard_change(700), Some(3700));
        assert_eq!(o.next_guard_change(3700), None);
    }

    fn down(twin: &str, cause: Option<Cause>) -> Finding {
        Finding::Violation {
            policy: "available".into(),
            rule: "up < 1".into(),
            metric: crate::model::metric::UP.into(),
            twin: twin.into(),
            value: 0.0,
            since: 0,
            cause,
        }
    }

    fn kinds(o: &Orchestrator, decision: &str) -> Vec<String> {
        o.audit().iter().filter(|a| a.decision.name() == decision).map(|a| format!("{} {}", a.twin, a.action)).collect()
    }

    #[test]
    fn a_cooldown_is_per_twin_and_action_kind() {
        let (g, mut p) = world();
        p.push(Policy::named("available"));
        let mut o = Orchestrator::new(OrchestratorConfig { mode: Mode::Automatic, ..Default::default() });
        o.tick(0, &[finding(95.0)], &g, &p, &mut |_| Ok(()));
        // The disk scale-up's cooldown does not delay restarting the same twin.
        o.tick(60, &[finding(95.0), down("db", None)], &g, &p, &mut |_| Ok(()));
        assert_eq!(kinds(&o, "executed"), ["db scale disk up ×1.25", "db restart"]);
        assert!(kinds(&o, "skipped").contains(&"db scale disk up ×1.25".to_string()));
    }

    #[test]
    fn a_restart_of_a_down_twin_goes_first_and_is_never_starved() {
        let (g, mut p) = world();
        p.push(Policy::named("available"));
        let guards = Guards { max_actions_per_hour: 1, cooldown_secs: 0, max_blast_radius: 10 };
        let mut o = Orchestrator::new(OrchestratorConfig { mode: Mode::Automatic, guards, ..Default::default() });
        let mut order = Vec::new();
        o.tick(0, &[finding(99.0), down("db", None)], &g, &p, &mut |c| {
            order.push(c.kind.name());
            Ok(())
        });
        assert_eq!(order, ["restart", "scale_up"], "the restart first, then the budget's one action");
        order.clear();
        // The hourly budget is spent; a restart still happens, a scale-up does not.
        o.tick(60, &[finding(99.5), down("db", None)], &g, &p, &mut |c| {
            order.push(c.kind.name());
            Ok(())
        });
        assert_eq!(order, ["restart"]);
    }

    #[test]
    fn symptoms_get_notifications_but_no_actions() {
        let (g, mut p) = world();
        let mut latency = Policy::named("latency");
        latency.actions = vec![
            ActionKind::ScaleUp { resource: crate::model::Resource::Cpu, factor: 2.0 },
            ActionKind::Notify { to: "web-oncall".into() },
        ];
        p.push(latency);
        let cause = Cause { twin: "db".into(), what: "down".into() };
        let slow = Finding::Violation {
            policy: "latency".into(),
            rule: "latency_ms > 300".into(),
            metric: "latency_ms".into(),
            twin: "web-0".into(),
            value: 900.0,
            since: 0,
            cause: Some(cause),
        };
        let mut o = Orchestrator::new(OrchestratorConfig { mode: Mode::Automatic, ..Default::default() });
        let mut acted = Vec::new();
        o.tick(0, &[slow], &g, &p, &mut |c| {
            acted.push(c.kind.name());
            Ok(())
        });
        assert_eq!(acted, ["notify"]);
        let skipped = o.audit().iter().find(|a| a.decision.name() == "skipped").expect("the scale-up is logged");
        assert!(
            matches!(&skipped.decision, Decision::Skipped(why) if why.contains("symptom of db down")),
            "{skipped:?}"
        );
    }

    #[test]
    fn dry_run_and_approve_each_do_not_act() {
        let (g, p) = world();
        for mode in [Mode::DryRun, Mode::ApproveEach] {
            let mut o = Orchestrator::new(OrchestratorConfig { mode, ..Default::default() });
            let mut count = 0;
            o.tick(0, &[finding(95.0)], &g, &p, &mut |_| {
                count += 1;
                Ok(())
            });
            assert_eq!(count, 0);
            assert_eq!(o.audit().len(), 1);
        }
        let mut o = Orchestrator::new(OrchestratorConfig { mode: Mode::ApproveEach, ..Default::default() });
        o.tick(0, &[finding(95.0)], &g, &p, &mut |_| Ok(()));
        let id = o.queue()[0].id.clone();
        o.reject(10, &id, "bob").unwrap();
        assert!(o.queue().is_empty());
        assert!(o.approve(20, &id, "bob", &g, &mut |_| Ok(())).is_err());
    }
}
