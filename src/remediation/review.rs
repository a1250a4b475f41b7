//! A person's review of proposals: approve or reject each (by id), the audit log of
//! those decisions, the orchestration loop run on the findings in front of them, and
//! the actions added from rehearsals in the lab. The GUI's Remediation tab shows and
//! edits a [`Review`]; writing the log or a plan is left to `io`.

use std::collections::BTreeMap;

use super::orchestrate::{AuditEntry, Decision, Mode, Orchestrator};
use super::plan::{Candidate, Finding};
use crate::model::{TwinGraph, UnixSecs};
use crate::policy::Policy;

/// Decisions on proposals, their log, the loop and the rehearsed actions.
#[derive(Clone, Debug, Default)]
pub struct Review {
    /// Approved (true) or rejected (false), by proposal id.
    pub decisions: BTreeMap<String, bool>,
    /// Every decision, oldest first.
    pub audit: Vec<AuditEntry>,
    /// The orchestration loop (mode, guards, approval queue) run on the findings.
    pub orchestrator: Orchestrator,
    /// Actions added from rehearsals in the lab (what-if changes, a chaos experiment's
    /// remediation), in the order added. They stay whatever the time cursor shows.
    pub rehearsed: Vec<Candidate>,
}

impl Review {
    /// Records a person's decision on a proposal: `by` approves (or rejects) it at `at`,
    /// logged as an approve-each decision.
    pub fn decide(&mut self, c: &Candidate, approved: bool, by: &str, at: UnixSecs) {
        self.decisions.insert(c.id.clone(), approved);
        let decision = if approved { Decision::Approved(by.to_string()) } else { Decision::Rejected(by.to_string()) };
        self.audit.push(AuditEntry::new(at, c, Mode::ApproveEach, decision));
    }

    /// Approves every proposal of `candidates` not approved yet. Returns how many.
    pub fn approve_all(&mut self, candidates: &[Candidate], by: &str, at: UnixSecs) -> usize {
        let mut approved = 0;
        for c in candidates {
            if self.decisions.get(&c.id) != Some(&true) {
                self.decide(c, true, by, at);
                approved += 1;
            }
        }
        approved
    }

    /// Runs one tick of the orchestration loop on the findings at `time`: in automatic
    /// mode what passes the guards is approved (for the plan) in the loop's name, in
    /// dry-run mode decisions are only logged, in approve-each mode proposals are queued.
    /// Returns the ids of the proposals the loop approved.
    pub fn run_loop(
        &mut self,
        time: UnixSecs,
        findings: &[Finding],
        graph: &TwinGraph,
        policies: &[Policy],
    ) -> Vec<String> {
        let mut approved = Vec::new();
        self.orchestrator.tick(time, findings, graph, policies, &mut |c| {
            approved.push(c.id.clone());
            Ok(())
        });
        for id in &approved {
            self.decisions.insert(id.clone(), true);
        }
        self.audit.extend(self.orchestrator.drain_audit());
        approved
    }

    /// Adds actions from a rehearsal, approved by `by` (an action already added is
    /// approved again, not repeated). Returns how many were new.
    pub fn add_rehearsed(&mut self, actions: Vec<Candidate>, by: &str, at: UnixSecs) -> usize {
        let mut added = 0;
        for c in actions {
            if self.decisions.get(&c.id) != Some(&true) {
                self.decide(&c, true, by, at);
            }
            if !self.rehearsed.iter().any(|r| r.id == c.id) {
                self.rehearsed.push(c);
                added += 1;
            }
        }
        added
    }

    /// Takes a rehearsed action out of the plan (and forgets its decision; the log
    /// keeps it).
    pub fn remove_rehearsed(&mut self, id: &str) {
        self.rehearsed.retain(|r| r.id != id);
        self.decisions.remove(id);
    }

    /// Whether a rehearsed action (by id) is in the plan and approved.
    pub fn is_planned(&self, id: &str) -> bool {
        self.decisions.get(id) == Some(&true) && self.rehearsed.iter().any(|r| r.id == id)
    }

    /// What a plan is made of: the proposals for the findings at the cursor, then the
    /// rehearsed actions that are not among them.
    pub fn plan_candidates(&self, candidates: &[Candidate]) -> Vec<Candidate> {
        let mut all = candidates.to_vec();
        all.extend(self.rehearsed.iter().filter(|r| !candidates.iter().any(|c| c.id == r.id)).cloned());
        all
    }

    /// Ids of the approved proposals among `candidates`.
    pub fn approved_ids(&self, candidates: &[Candidate]) -> Vec<String> {
        candidates.iter().filter(|c| self.decisions.get(&c.id) == Some(&true)).map(|c| c.id.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ActionKind, Dependency, EdgeKind, Resource, Twin, TwinKind};
    use crate::remediation::orchestrate::OrchestratorConfig;
    use crate::remediation::plan::{candidates, rehearsed};
    use crate::remediation::priority::Weights;

    /// `web -> db`, and a policy that scales db's disk up when it is over 90%.
    fn estate() -> (TwinGraph, Vec<Policy>) {
        let mut g = TwinGraph::new();
        let mut db = Twin::new("db", TwinKind::Database);
        db.capacity.disk_gib = Some(100.0);
        g.add_twin(db).unwrap();
        g.add_twin(Twin::new("web", TwinKind::Service)).unwrap();
        g.add_dependency(&"web".into(), &"db".into(), Dependency::new(EdgeKind::DependsOn)).unwrap();
        let mut disk = Policy::named("disk");
        disk.actions = vec![ActionKind::ScaleUp { resource: Resource::Disk, factor: 1.5 }];
        (g, vec![disk])
    }

    fn disk_full() -> Vec<Finding> {
        vec![Finding::Violation {
            policy: "disk".into(),
            rule: "disk_usage > 90".into(),
            metric: "disk_usage".into(),
            twin: "db".into(),
            value: 95.0,
            since: 0,
            cause: None,
        }]
    }

    fn restart_web(g: &TwinGraph) -> Candidate {
        rehearsed(
            g,
            &"web".into(),
            ActionKind::Restart,
            crate::remediation::plan::Rehearsal::WhatIf,
            "what-if",
            "errors fell",
            &[],
        )
        .unwrap()
    }

    #[test]
    fn decisions_are_kept_by_id_and_logged_in_order() {
        let (g, p) = estate();
        let proposals = candidates(&g, &p, &disk_full(), &Weights::default());
        let mut review = Review::default();
        review.decide(&proposals[0], true, "ana", 100);
        review.decide(&proposals[0], false, "bo", 200);
        assert_eq!(review.decisions.get(&proposals[0].id), Some(&false));
        let log: Vec<(UnixSecs, &Decision)> = review.audit.iter().map(|a| (a.at, &a.decision)).collect();
        assert_eq!(log, [(100, &Decision::Approved("ana".into())), (200, &Decision::Rejected("bo".into()))]);
        assert!(review.approved_ids(&proposals).is_empty());
        assert_eq!(review.approve_all(&proposals, "ana", 300), proposals.len());
        assert_eq!(review.approve_all(&proposals, "ana", 300), 0, "already approved");
        assert_eq!(review.approved_ids(&proposals), [proposals[0].id.clone()]);
    }

    #[test]
    fn the_loop_approves_in_automatic_mode_and_only_logs_in_dry_run() {
        let (g, p) = estate();
        let mut review = Review::default();
        review.orchestrator.config.mode = Mode::DryRun;
        assert!(review.run_loop(0, &disk_full(), &g, &p).is_empty());
        assert!(review.decisions.is_empty());
        assert_eq!(review.audit.last().map(|a| &a.decision), Some(&Decision::DryRun));
        let mut review = Review {
            orchestrator: Orchestrator::new(OrchestratorConfig { mode: Mode::Automatic, ..Default::default() }),
            ..Review::default()
        };
        assert_eq!(review.run_loop(0, &disk_full(), &g, &p).len(), 1);
        let proposals = candidates(&g, &p, &disk_full(), &Weights::default());
        assert_eq!(review.approved_ids(&proposals), [proposals[0].id.clone()]);
        assert_eq!(review.audit.last().map(|a| &a.decision), Some(&Decision::Executed));
    }

    #[test]
    fn rehearsed_actions_join_the_plan_once_and_can_be_removed() {
        let (g, p) = estate();
        let proposals = candidates(&g, &p, &disk_full(), &Weights::default());
        let restart = restart_web(&g);
        let mut review = Review::default();
        assert_eq!(review.add_rehearsed(vec![restart.clone()], "ana", 10), 1);
        assert_eq!(review.add_rehearsed(vec![restart.clone()], "ana", 20), 0, "not repeated");
        assert_eq!(review.audit.len(), 1, "approved once");
        assert!(review.is_planned(&restart.id));
        let plan = review.plan_candidates(&proposals);
        assert_eq!(plan.len(), proposals.len() + 1);
        assert_eq!(plan.last().map(|c| &c.id), Some(&restart.id));
        // A rehearsed action that is also a proposal is not listed twice.
        assert_eq!(review.plan_candidates(&plan).len(), plan.len());
        // Rejected, it stays in the plan but is not planned.
        review.decide(&restart, false, "bo", 30);
        assert!(!review.is_planned(&restart.id));
        review.remove_rehearsed(&restart.id);
        assert!(review.rehearsed.is_empty() && !review.decisions.contains_key(&restart.id));
        assert_eq!(review.plan_candidates(&proposals).len(), proposals.len());
    }
}
