//! Engine tests on small estates written as `"lb -> web -> db"`.

use std::sync::atomic::AtomicBool;

use super::*;
use crate::model::{
    ActionKind, ConfigValue, Dependency, EdgeKind, Resource, SeriesKey, Twin, TwinId, TwinKind, WorkloadModel,
};
use crate::policy::{MetricRule, Operator, Policy, Selector};
use crate::remediation::orchestrate::{Guards, Mode, OrchestratorConfig};
use crate::scenario::Scenario;

const MONDAY_NOON: i64 = 4 * 86_400 + 12 * 3600 + 52 * 7 * 86_400;

/// An estate from a spec: `"lb -> web -> db"` chains of `depends_on` (`=>` for
/// `routes_to`, `~>` for `runs_on`), `;` between chains. Kinds follow the name (lb,
/// db, host, queue, cache; anything else is a service); every twin gets flat,
/// noiseless cpu, memory, latency and error models.
fn estate(spec: &str) -> Scenario {
    let mut s = Scenario {
        name: "test".into(),
        seed: 5,
        resolution_secs: 60,
        start: MONDAY_NOON - 86_400,
        end: MONDAY_NOON,
        ..Scenario::default()
    };
    let kind_of = |id: &str| match id {
        x if x.starts_with("lb") => TwinKind::LoadBalancer,
        x if x.starts_with("db") => TwinKind::Database,
        x if x.starts_with("host") => TwinKind::Host,
        x if x.starts_with("queue") => TwinKind::Queue,
        x if x.starts_with("cache") => TwinKind::Cache,
        _ => TwinKind::Service,
    };
    for chain in spec.split(';') {
        let tokens: Vec<&str> = chain.split_whitespace().collect();
        for id in tokens.iter().step_by(2) {
            if s.graph.twin(&(*id).into()).is_none() {
                let mut twin = Twin::new(*id, kind_of(id));
                twin.capacity.cpu_cores = Some(if kind_of(id) == TwinKind::Host { 16.0 } else { 4.0 });
                s.graph.add_twin(twin).unwrap();
                let flat = |base: f64, max: f64| WorkloadModel { max, ..WorkloadModel::flat(base) };
                s.workloads.insert(SeriesKey::new(*id, "cpu_usage"), flat(40.0, 100.0));
                s.workloads.insert(SeriesKey::new(*id, "memory_usage"), flat(50.0, 100.0));
                s.workloads.insert(SeriesKey::new(*id, "latency_ms"), flat(20.0, f64::MAX));
                s.workloads.insert(SeriesKey::new(*id, "error_rate"), flat(0.5, 100.0));
            }
        }
        for w in tokens.windows(3).step_by(2) {
            let kind = match w[1] {
                "->" => EdgeKind::DependsOn,
                "=>" => EdgeKind::RoutesTo,
                "~>" => EdgeKind::RunsOn,
                other => panic!("unknown edge {other}"),
            };
            s.graph.add_dependency(&w[0].into(), &w[2].into(), Dependency::new(kind)).unwrap();
        }
    }
    s
}

fn world(s: &Scenario) -> World {
    World::new(s, WorldConfig { warm_up_from_history: false, ..WorldConfig::for_scenario(s) }).unwrap()
}

fn run_ticks(w: &mut World, ticks: u64) {
    run(w, ticks, &mut |_, _| {}, &|_, _| {}, &AtomicBool::new(false)).unwrap();
}

fn value(w: &World, twin: &str, metric: &str) -> Option<f64> {
    w.value(&twin.into(), metric)
}

#[test]
fn an_undisturbed_world_follows_its_workload_models() {
    let s = estate("web -> db");
    let mut w = world(&s);
    run_ticks(&mut w, 30);
    assert_eq!(value(&w, "web", "cpu_usage"), Some(40.0));
    assert_eq!(value(&w, "web", "latency_ms"), Some(20.0));
    assert_eq!(value(&w, "db", "error_rate"), Some(0.5));
    assert_eq!(value(&w, "db", "up"), Some(1.0));
    assert_eq!(w.now(), s.end + 29 * 60);
}

#[test]
fn same_seed_same_digest_other_seed_other_digest() {
    let mut s = estate("lb => web -> db; web ~> host; db ~> host");
    for m in s.workloads.values_mut() {
        m.noise = 2.0;
        m.noise_memory = 0.5;
    }
    let digest = |seed: u64| {
        let mut w = World::new(&s, WorldConfig { seed, ..WorldConfig::for_scenario(&s) }).unwrap();
        run_ticks(&mut w, 200);
        w.summary().state_digest
    };
    assert_eq!(digest(1), digest(1));
    assert_ne!(digest(1), digest(2));
    // A fork continues exactly like the original.
    let mut a = World::new(&s, WorldConfig::for_scenario(&s)).unwrap();
    run_ticks(&mut a, 50);
    let mut b = a.clone();
    run_ticks(&mut a, 70);
    run_ticks(&mut b, 70);
    assert_eq!(state_digest(&a), state_digest(&b));
}

#[test]
fn block_size_does_not_change_values() {
    // 45 ticks cross a block boundary; running 45 at once or 20 + 25 gives the same.
    let mut s = estate("web -> db");
    for m in s.workloads.values_mut() {
        m.noise = 1.0;
    }
    let mut a = world(&s);
    run_ticks(&mut a, 45);
    let mut b = world(&s);
    run_ticks(&mut b, 20);
    run_ticks(&mut b, 25);
    assert_eq!(state_digest(&a), state_digest(&b));
}

#[test]
fn scaling_cpu_up_takes_effect_after_its_duration() {
    let s = estate("web -> db");
    let mut w = world(&s);
    let up = ActionKind::ScaleUp { resource: Resource::Cpu, factor: 1.5 };
    let inputs = Inputs { commands: vec![Command::Act { twin: "db".into(), action: up.clone() }] };
    let report = step(&mut w, &inputs);
    assert_eq!(report.actions_started, 1);
    run_ticks(&mut w, 5);
    assert_eq!(value(&w, "db", "cpu_usage"), Some(40.0), "not yet: scaling takes 600 s");
    run_ticks(&mut w, 5);
    assert_eq!(value(&w, "db", "cpu_usage"), Some(26.67), "40 / 1.5, at the model's 2 decimals");
    assert_eq!(w.graph().twin(&"db".into()).unwrap().capacity.cpu_cores, Some(6.0));
    // A scale-out divides per-replica load.
    let out =
        Inputs { commands: vec![Command::Act { twin: "web".into(), action: ActionKind::ScaleOut { replicas: 1 } }] };
    step(&mut w, &out);
    run_ticks(&mut w, 5);
    assert_eq!(value(&w, "web", "cpu_usage"), Some(20.0), "two replicas share the load");
}

#[test]
fn a_saturated_database_slows_and_errors_its_callers() {
    let s = estate("lb => web -> db");
    let mut w = world(&s);
    run_ticks(&mut w, 5);
    let (lat, err) = (value(&w, "web", "latency_ms").unwrap(), value(&w, "web", "error_rate").unwrap());
    let hog = Fault { kind: FaultKind::CpuHog { percent: 90.0 }, twin: "db".into(), start: 0, duration_secs: None };
    step(&mut w, &Inputs { commands: vec![Command::StartFault(hog)] });
    assert_eq!(value(&w, "db", "cpu_usage"), Some(100.0));
    let (lat2, err2) = (value(&w, "web", "latency_ms").unwrap(), value(&w, "web", "error_rate").unwrap());
    assert!(lat2 > lat * 5.0, "web latency {lat} -> {lat2}");
    assert!(err2 > err + 10.0, "web errors {err} -> {err2}: demand 130% sheds 23%");
    assert!(value(&w, "lb", "latency_ms").unwrap() > 100.0, "and the load balancer in front feels it");
}

#[test]
fn a_dead_host_takes_its_workloads_down_and_their_callers_fail() {
    let s = estate("lb => web -> db; db ~> host");
    let mut w = world(&s);
    let crash = Fault { kind: FaultKind::Crash, twin: "host".into(), start: 0, duration_secs: Some(600) };
    step(&mut w, &Inputs { commands: vec![Command::StartFault(crash)] });
    assert_eq!(w.is_up(&"db".into()), Some(false));
    assert_eq!(value(&w, "db", "up"), Some(0.0));
    assert_eq!(value(&w, "db", "cpu_usage"), None, "a down twin reports nothing");
    assert_eq!(value(&w, "web", "error_rate"), Some(100.0));
    assert_eq!(w.status(&"db".into()), Some(crate::model::Status::Down));
    run_ticks(&mut w, 10);
    assert_eq!(w.is_up(&"db".into()), Some(true), "the crash ends with the fault");
}

#[test]
fn a_hosts_cpu_is_the_sum_of_its_workloads() {
    let s = estate("lb => web; web ~> host; lb ~> host");
    let mut w = world(&s);
    step(&mut w, &Inputs::default());
    assert_eq!(value(&w, "host", "cpu_usage"), Some(40.0), "undisturbed: the host's own model");
    // Doubling the web's traffic doubles its cores in use: 1.6 more of 16 = +10 points.
    let spike =
        Fault { kind: FaultKind::TrafficSpike { factor: 2.0 }, twin: "lb".into(), start: 0, duration_secs: None };
    step(&mut w, &Inputs { commands: vec![Command::StartFault(spike)] });
    assert_eq!(value(&w, "web", "cpu_usage"), Some(80.0));
    assert_eq!(value(&w, "host", "cpu_usage"), Some(60.0), "lb +1.6 cores, web +1.6 cores on 16");
    // A workload that dies frees its cores.
    let crash = Fault { kind: FaultKind::Crash, twin: "web".into(), start: 0, duration_secs: None };
    step(&mut w, &Inputs { commands: vec![Command::StopFaults { twin: None }, Command::StartFault(crash)] });
    assert_eq!(value(&w, "host", "cpu_usage"), Some(30.0), "web's 1.6 cores are gone");
}

#[test]
fn a_load_balancer_spreads_a_dead_targets_share() {
    let s = estate("lb => web-1 -> db; lb => web-2 -> db");
    let mut w = world(&s);
    let crash = Fault { kind: FaultKind::Crash, twin: "web-1".into(), start: 0, duration_secs: None };
    step(&mut w, &Inputs { commands: vec![Command::StartFault(crash)] });
    assert_eq!(value(&w, "web-2", "cpu_usage"), Some(80.0), "web-2 takes all the traffic");
    assert_eq!(value(&w, "lb", "error_rate"), Some(0.5), "the balancer fails nothing");
}

#[test]
fn a_restart_is_down_for_its_duration_and_clears_a_leak() {
    let s = estate("web -> db");
    let mut w = world(&s);
    let leak = Fault {
        kind: FaultKind::MemoryLeak { percent_per_hour: 20.0 },
        twin: "db".into(),
        start: 0,
        duration_secs: None,
    };
    step(&mut w, &Inputs { commands: vec![Command::StartFault(leak)] });
    run_ticks(&mut w, 90);
    assert_eq!(value(&w, "db", "memory_usage"), Some(80.0), "50 + 20 %/h × 1.5 h");
    step(&mut w, &Inputs { commands: vec![Command::Act { twin: "db".into(), action: ActionKind::Restart }] });
    step(&mut w, &Inputs::default());
    assert_eq!(w.is_up(&"db".into()), Some(false), "down while it restarts");
    run_ticks(&mut w, 1);
    assert_eq!(w.is_up(&"db".into()), Some(true), "up after 120 s");
    assert_eq!(value(&w, "db", "memory_usage"), Some(50.0), "the leak starts from zero again");
}

#[test]
fn a_leak_to_100_percent_kills_the_twin() {
    let s = estate("web -> db");
    let mut w = world(&s);
    let leak = Fault {
        kind: FaultKind::MemoryLeak { percent_per_hour: 60.0 },
        twin: "db".into(),
        start: 0,
        duration_secs: None,
    };
    step(&mut w, &Inputs { commands: vec![Command::StartFault(leak)] });
    run_ticks(&mut w, 52);
    let events = w.summary().events;
    assert!(events.iter().any(|e| e.what == EventKind::OutOfMemory), "{events:?}");
    assert!(events.iter().any(|e| matches!(&e.what, EventKind::Down(r) if r == "restarting")));
}

fn guarded(mode: Mode, cooldown_secs: i64) -> OrchestratorConfig {
    OrchestratorConfig { mode, guards: Guards { cooldown_secs, ..Guards::default() }, ..OrchestratorConfig::default() }
}

#[test]
fn the_orchestrator_acts_inside_the_engine_and_its_guards_hold() {
    let s = estate("web -> db");
    let mut policy = Policy::named("db-cpu");
    policy.selector = Selector { ids: vec!["db".into()], ..Selector::default() };
    policy.rules.push(MetricRule::threshold("cpu_usage", Operator::Gt, 85.0));
    policy.actions.push(ActionKind::ScaleUp { resource: Resource::Cpu, factor: 2.0 });
    let config = |mode| WorldConfig {
        acting: vec![policy.clone()],
        orchestrator: guarded(mode, 3600),
        warm_up_from_history: false,
        ..WorldConfig::for_scenario(&s)
    };
    let hog = || Fault { kind: FaultKind::CpuHog { percent: 55.0 }, twin: "db".into(), start: 0, duration_secs: None };
    let mut w = World::new(&s, config(Mode::Automatic)).unwrap();
    step(&mut w, &Inputs { commands: vec![Command::StartFault(hog())] });
    run_ticks(&mut w, 30);
    let summary = w.summary();
    assert_eq!(summary.actions.len(), 1, "scaled once: {:?}", summary.actions);
    assert_eq!(summary.actions[0].decided_by, "auto");
    assert_eq!(value(&w, "db", "cpu_usage"), Some(75.0), "40/2 + 55 still above? no: 20 + 55 = 75");
    assert_eq!(
        summary.violations["db-cpu"].minutes, 10.0,
        "violated from the hog until the scale-up took effect 600 s later"
    );
    // Still hot after a second hog (at minute 31): the one-hour cooldown holds the next
    // action back until minute 60, when it ends and the loop acts again.
    step(&mut w, &Inputs { commands: vec![Command::StartFault(hog())] });
    run_ticks(&mut w, 28);
    assert_eq!(w.summary().actions.len(), 1, "{:?}", w.summary().actions);
    let audit = w.orchestrator().audit();
    assert!(audit.iter().any(|a| a.decision.detail().is_some_and(|d| d.contains("cooldown"))), "{audit:?}");
    run_ticks(&mut w, 1);
    assert_eq!(w.summary().actions.len(), 2, "the cooldown ended at minute 60");

    // Dry-run decides and records but does nothing.
    let mut w = World::new(&s, config(Mode::DryRun)).unwrap();
    step(&mut w, &Inputs { commands: vec![Command::StartFault(hog())] });
    run_ticks(&mut w, 30);
    assert!(w.summary().actions.is_empty());
    assert_eq!(value(&w, "db", "cpu_usage"), Some(95.0));
    assert_eq!(w.orchestrator().audit().len(), 1);

    // Approve-each queues; approving runs it.
    let mut w = World::new(&s, config(Mode::ApproveEach)).unwrap();
    step(&mut w, &Inputs { commands: vec![Command::StartFault(hog())] });
    run_ticks(&mut w, 3);
    let id = w.orchestrator().queue()[0].id.clone();
    let r = step(&mut w, &Inputs { commands: vec![Command::Approve { id, by: "alice".into() }] });
    assert_eq!(r.actions_started, 1);
    assert_eq!(w.summary().actions[0].decided_by, "approved by alice");
}

#[test]
fn skipping_quiet_ticks_changes_nothing() {
    let mut s = estate("lb => web -> db; web -> cache; db ~> host; web ~> host");
    for m in s.workloads.values_mut() {
        m.noise = 3.0;
        m.noise_memory = 0.8;
    }
    let mut policy = Policy::named("hot");
    policy.rules.push(MetricRule::threshold("cpu_usage", Operator::Gt, 70.0));
    let mut latency = Policy::named("slow");
    latency.rules.push(MetricRule::threshold("latency_ms", Operator::Gt, 60.0));
    latency.actions.push(ActionKind::ScaleOut { replicas: 1 });
    latency.actions.push(ActionKind::Notify { to: "ops".into() });
    let run_with = |every_tick: bool| {
        let config = WorldConfig {
            acting: vec![policy.clone(), latency.clone()],
            orchestrator: OrchestratorConfig {
                mode: Mode::Automatic,
                guards: Guards { max_actions_per_hour: 2, cooldown_secs: 900, max_blast_radius: 10 },
                ..OrchestratorConfig::default()
            },
            ..WorldConfig::for_scenario(&s)
        };
        let mut w = World::new(&s, config).unwrap();
        w.set_orchestrate_every_tick(every_tick);
        for (at, twin, percent) in [(10, "db", 45.0), (200, "web", 40.0), (400, "cache", 70.0)] {
            let fault = Fault {
                kind: FaultKind::CpuHog { percent },
                twin: twin.into(),
                start: s.end + at * 60,
                duration_secs: Some(7200),
            };
            w.schedule_fault(fault);
        }
        run_ticks(&mut w, 600);
        let audit: Vec<String> = w.drain_audit().iter().map(crate::io::audit::to_json_line).collect();
        (w.summary(), audit)
    };
    let (a, audit_a) = run_with(false);
    let (b, audit_b) = run_with(true);
    assert!(a.actions.len() >= 2, "{:?}", a.actions);
    assert!(audit_a.len() > 3);
    if let Some(i) = (0..audit_a.len().max(audit_b.len())).find(|i| audit_a.get(*i) != audit_b.get(*i)) {
        panic!("audit differs at {i}:\nskip:  {:?}\nevery: {:?}", audit_a.get(i), audit_b.get(i));
    }
    assert_eq!(audit_a, audit_b);
    assert_eq!(a, b);
}

#[test]
fn cancelled_runs_stop_with_cancelled() {
    let s = estate("lb => web -> db");
    let cancel = AtomicBool::new(true);
    let w = world(&s);
    let spec = whatif::WhatIfSpec {
        hours: 1.0,
        changes: vec![whatif::Change::Action { twin: "db".into(), action: ActionKind::Restart }],
        twins: Vec::new(),
        record_series: false,
    };
    assert!(matches!(whatif::what_if(&w, &spec, &|_, _| {}, &cancel), Err(SimError::Cancelled)));
    let strategy = Strategy::automatic("s", Vec::new());
    let ab_spec = ab::AbSpec { runs: 2, seed: 1, hours: 1.0, objective: None };
    assert!(matches!(ab::ab_test(&s, &strategy, &strategy, &ab_spec, &|_, _| {}, &cancel), Err(SimError::Cancelled)));
    let experiment = chaos::Experiment {
        title: "crash".into(),
        description: String::new(),
        duration_secs: 3600,
        hypothesis: Vec::new(),
        after_secs: 600,
        method: vec![chaos::MethodStep::Fault {
            kind: FaultKind::Crash,
            targets: vec!["db".into()],
            at_secs: 600,
            duration_secs: None,
        }],
        rollbacks: Vec::new(),
        remediation: None,
    };
    assert!(matches!(chaos::run_experiment(&s, &experiment, 1, &|_, _| {}, &cancel), Err(SimError::Cancelled)));
}

#[test]
fn a_what_if_fork_leaves_the_baseline_alone_and_shows_the_change() {
    let s = estate("lb => web -> db");
    let w = world(&s);
    let before = state_digest(&w);
    let spec = whatif::WhatIfSpec {
        hours: 1.0,
        changes: vec![whatif::Change::Action {
            twin: "db".into(),
            action: ActionKind::ScaleUp { resource: Resource::Cpu, factor: 2.0 },
        }],
        twins: Vec::new(),
        record_series: true,
    };
    let r = whatif::what_if(&w, &spec, &|_, _| {}, &AtomicBool::new(false)).unwrap();
    assert_eq!(state_digest(&w), before, "the base world is not touched");
    let cpu = r.metrics.iter().find(|m| m.twin.as_str() == "db" && m.metric == "cpu_usage").unwrap();
    assert_eq!(cpu.baseline_mean, Some(40.0));
    // 10 of 60 minutes at 40 before the scale-up takes effect, then 20.
    assert!((cpu.variant_mean.unwrap() - (10.0 * 40.0 + 50.0 * 20.0) / 60.0).abs() < 1e-9, "{cpu:?}");
    assert_eq!(r.cost_delta(), r.variant.cost - r.baseline.cost);
    assert!(r.cost_delta() > 0.0, "more cores cost more");
}

#[test]
fn a_what_ifs_changes_become_plan_proposals_with_its_outcome() {
    use crate::remediation::plan::{ApproveSpec, Finding, PlanContext, plan};
    let s = estate("lb => web -> db");
    let spec = whatif::WhatIfSpec {
        hours: 1.0,
        changes: vec![
            whatif::Change::Action {
                twin: "db".into(),
                action: ActionKind::ScaleUp { resource: Resource::Cpu, factor: 2.0 },
            },
            whatif::Change::SetConfig {
                twin: "web".into(),
                key: "log_level".into(),
                value: ConfigValue::Str("info".into()),
            },
        ],
        twins: Vec::new(),
        record_series: false,
    };
    let r = whatif::what_if(&world(&s), &spec, &|_, _| {}, &AtomicBool::new(false)).unwrap();
    let proposals = r.rehearsed_actions(&s.graph);
    assert_eq!(proposals.len(), 2);
    let (scale, config) = (&proposals[0], &proposals[1]);
    assert_eq!(
        (scale.target.as_str(), &scale.kind),
        ("db", &ActionKind::ScaleUp { resource: Resource::Cpu, factor: 2.0 })
    );
    assert!(
        matches!(&config.kind, ActionKind::Reconfigure { set } if set.get("log_level") == Some(&ConfigValue::Str("info".into())))
    );
    assert!(matches!(&scale.finding, Finding::Rehearsed { rehearsal, .. } if rehearsal == "what-if over 1 h (seed 5)"));
    assert_eq!(scale.predicted_effect, r.outcome());
    assert_eq!(scale.finding.reason(), "rehearsed in a what-if over 1 h (seed 5)");
    assert!(scale.predicted_effect.starts_with("violation minutes "), "{}", scale.predicted_effect);
    assert!(scale.evidence.iter().any(|e| e == "db cpu_usage mean 40.00 → 23.33"), "{:?}", scale.evidence);
    assert!(
        scale.evidence.iter().any(|e| e.starts_with("rehearsed together with web.log_level")),
        "{:?}",
        scale.evidence
    );
    let cores = |n| Some(ConfigValue::Float(n));
    assert_eq!(scale.changes, vec![crate::model::FieldChange::new("capacity.cpu_cores", cores(4.0), cores(8.0))]);
    assert_ne!(scale.id, config.id);
    // The same rehearsal gives the same ids (a plan can be re-exported), another does not.
    assert_eq!(r.rehearsed_actions(&s.graph), proposals);
    let p = plan(PlanContext::of(&s), proposals, &ApproveSpec::All, "ana").unwrap();
    let file = crate::io::plan::to_file(&p, &s.graph);
    assert_eq!(file.resource_changes[0].address, "database.db[0]");
    assert_eq!(
        file.resource_changes[0].action_reason,
        crate::io::plan::ReasonFile(crate::remediation::plan::ActionReason::WhatIfRehearsal)
    );
    assert!(file.resource_changes[0].reason_text.contains("what-if"));
    assert_eq!(file.resource_changes[1].twinbench.action, "reconfigure");
}

#[test]
fn a_chaos_experiments_remediation_becomes_plan_proposals() {
    let s = estate("lb => web -> db");
    let experiment = db_dies(Some(restart_dead_db()));
    let r = chaos::run_experiment(&s, &experiment, 3, &|_, _| {}, &AtomicBool::new(false)).unwrap();
    assert!(!r.summary.actions.is_empty());
    let proposals = r.rehearsed_actions(&s.graph);
    assert_eq!(proposals.len(), 1, "one restart of db, however often the loop started it: {proposals:?}");
    assert_eq!((proposals[0].target.as_str(), &proposals[0].kind), ("db", &ActionKind::Restart));
    assert_eq!(proposals[0].finding.reason_kind(), crate::remediation::plan::ActionReason::ChaosRehearsal);
    assert!(
        proposals[0].predicted_effect.starts_with("it deviated and recovered in"),
        "{}",
        proposals[0].predicted_effect
    );
    assert!(
        proposals[0].evidence.iter().any(|e| e.contains("from the first fault (auto)")),
        "{:?}",
        proposals[0].evidence
    );
}

#[test]
fn a_crash_deviates_the_hypothesis_and_spreads_to_callers() {
    let s = estate("lb => web -> db");
    let mut experiment = db_dies(None);
    let off = chaos::run_experiment(&s, &experiment, 3, &|_, _| {}, &AtomicBool::new(false)).unwrap();
    assert!(off.before.held && off.deviated && !off.after.held);
    assert_eq!(off.time_to_detect_secs, Some(0));
    assert_eq!(off.time_to_recover_secs, None);
    for twin in ["db", "lb"] {
        assert!(off.blast_radius_observed.iter().any(|t| t.as_str() == twin), "{:?}", off.blast_radius_observed);
    }
    // With a strategy that restarts a dead database, it recovers.
    experiment = db_dies(Some(restart_dead_db()));
    let on = chaos::run_experiment(&s, &experiment, 3, &|_, _| {}, &AtomicBool::new(false)).unwrap();
    assert!(on.deviated && on.after.held, "{:?}", on.after);
    let recover = on.time_to_recover_secs.unwrap();
    assert!((120..=600).contains(&recover), "a 2-minute restart: {recover} s");
    assert!(on.resilience_score > off.resilience_score);
}

#[test]
fn a_composed_experiment_runs_the_lab_faults_against_the_default_hypothesis() {
    let s = estate("lb => web -> db");
    let crash = fault::FaultType::Crash.fault(0.0, None).unwrap();
    let faults = [
        chaos::ComposedFault { kind: crash, twin: "db".into(), at_min: 20, duration_min: Some(30) },
        chaos::ComposedFault {
            kind: FaultKind::Latency { ms: 300.0 },
            twin: "web".into(),
            at_min: 10,
            duration_min: None,
        },
    ];
    let experiment = chaos::composed_experiment(&faults, 2.0);
    assert_eq!(experiment.title, "2 composed fault(s)");
    assert_eq!((experiment.duration_secs, experiment.after_secs), (7200, 900));
    let names: Vec<&str> = experiment.hypothesis.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["every-twin-serves", "edge-errors"]);
    assert_eq!(
        experiment.method[0],
        chaos::MethodStep::Fault {
            kind: FaultKind::Crash,
            targets: vec!["db".into()],
            at_secs: 1200,
            duration_secs: Some(1800)
        }
    );
    assert_eq!(experiment.rollbacks, [chaos::Rollback { at_secs: 7200, twins: Vec::new() }]);
    assert!(experiment.remediation.is_none());
    // A short run: the after-window is a quarter of it, at least a minute.
    assert_eq!(chaos::composed_experiment(&[], 0.25).after_secs, 225);
    assert_eq!(chaos::composed_experiment(&[], 0.0).after_secs, 60);
    let r = chaos::run_experiment(&s, &experiment, 3, &|_, _| {}, &AtomicBool::new(false)).unwrap();
    assert!(r.before.held && r.deviated, "the crash of db takes it down");
    assert!(r.blast_radius_observed.iter().any(|t| t.as_str() == "db"));
}

/// A strategy that restarts `db` when it is down.
fn restart_dead_db() -> Strategy {
    let mut restart = Policy::named("db-up");
    restart.selector = Selector { ids: vec!["db".into()], ..Selector::default() };
    restart.rules.push(MetricRule::threshold("up", Operator::Lt, 1.0));
    restart.actions.push(ActionKind::Restart);
    Strategy::automatic("restart", vec![restart])
}

/// `db` crashes 20 minutes into a 2-hour experiment; the hypothesis is that `lb`
/// keeps its error rate at most 5%.
fn db_dies(remediation: Option<Strategy>) -> chaos::Experiment {
    let mut errors = Policy::named("edge-errors");
    errors.selector = Selector { ids: vec!["lb".into()], ..Selector::default() };
    errors.rules.push(MetricRule::threshold("error_rate", Operator::Gt, 5.0));
    chaos::Experiment {
        title: "db dies".into(),
        description: String::new(),
        duration_secs: 7200,
        hypothesis: vec![errors],
        after_secs: 600,
        method: vec![chaos::MethodStep::Fault {
            kind: FaultKind::Crash,
            targets: vec!["db".into()],
            at_secs: 1200,
            duration_secs: None,
        }],
        rollbacks: Vec::new(),
        remediation,
    }
}

/// The passes' shortcuts for undisturbed twins (the traffic pass skipped when nothing
/// it reads changed, the load pass taking the drive, the failure pass skipping twins
/// whose dependencies are clean, the values pass rounding every series in vectorized
/// spans) give exactly the state and reports of computing every twin in full, series by
/// series: on a generated estate of more series than a span, under every kind of
/// fault, with actions, a migration and a dependency outage, and on a dependency cycle.
#[test]
fn the_shortcuts_for_undisturbed_twins_change_nothing() {
    let file = crate::io::synth::estate(crate::io::synth::SynthSpec {
        twins: 420,
        days: 2.0,
        seed: 11,
        trouble: crate::io::synth::TroubleRate::NONE,
    });
    let text = crate::io::scenario::to_ron(&file).unwrap();
    let def = crate::io::scenario::parse_def(std::path::Path::new("generated.ron"), &text).unwrap();
    let generated = crate::io::scenario::fill_history(def, &|_, _| {}, &AtomicBool::new(false)).unwrap();
    let mut cycle = estate("lb => web -> api -> web ; api -> db ; web ~> host ; db ~> host");
    cycle.workloads.insert(SeriesKey::new("web", "request_rate"), WorkloadModel::flat(100.0));
    for m in cycle.workloads.values_mut() {
        m.noise = 3.0;
        m.noise_memory = 0.8;
    }
    let mut slow = Policy::named("slow");
    slow.rules.push(MetricRule::threshold("latency_ms", Operator::Gt, 60.0));
    slow.actions.push(ActionKind::ScaleOut { replicas: 1 });
    cycle.policies.push(slow);
    for s in [&generated, &cycle] {
        let ids: Vec<TwinId> = s.graph.ids().cloned().collect();
        let (from, to, _) = s
            .graph
            .edges()
            .into_iter()
            .find(|(_, _, d)| d.kind == EdgeKind::DependsOn)
            .map(|(a, b, d)| (a.clone(), b.clone(), d.clone()))
            .unwrap();
        let hosted = ids.iter().find(|id| s.graph.twin(id).is_some_and(|t| t.kind == TwinKind::Service)).unwrap();
        let run_with = |shortcuts: bool| {
            let mut w = World::new(s, WorldConfig::for_scenario(s)).unwrap();
            w.set_shortcuts(shortcuts);
            let kinds = vec![
                FaultKind::Crash,
                FaultKind::CpuHog { percent: 70.0 },
                FaultKind::MemoryLeak { percent_per_hour: 60.0 },
                FaultKind::Latency { ms: 300.0 },
                FaultKind::Partition,
                FaultKind::DiskFill { percent_per_hour: 40.0 },
                FaultKind::TrafficSpike { factor: 4.0 },
            ];
            let until = s.end + 8 * 3600;
            let random = RandomFaults {
                rate_per_hour: 8.0,
                selector: Selector::default(),
                kinds,
                duration_secs: 1200,
                from: s.end,
                until,
            };
            w.schedule(s.end, Command::RandomFaults(random));
            let outage = Fault {
                kind: FaultKind::DependencyOutage { dependency: to.clone() },
                twin: from.clone(),
                start: s.end + 3600,
                duration_secs: Some(1800),
            };
            w.schedule_fault(outage);
            let scale = ActionKind::ScaleUp { resource: Resource::Cpu, factor: 2.0 };
            w.schedule(s.end + 1800, Command::Act { twin: hosted.clone(), action: scale });
            w.schedule(s.end + 7200, Command::Act { twin: hosted.clone(), action: ActionKind::Migrate { to: None } });
            let mut states = Vec::new();
            let reports: Vec<StepReport> = (0..600)
                .map(|_| {
                    let report = step(&mut w, &Inputs::default());
                    let tw = &w.twins;
                    let twins: Vec<_> = (0..tw.ids.len())
                        .map(|i| (tw.xlat[i], tw.xfail[i], tw.slow[i], tw.shed[i], tw.traffic[i], tw.delta_cores[i]))
                        .collect();
                    states.push((w.values_now(), twins));
                    report
                })
                .collect();
            (reports, w.summary(), state_digest(&w), states)
        };
        let (fast, full) = (run_with(true), run_with(false));
        let keys: Vec<String> = s.workloads.keys().map(ToString::to_string).collect();
        let ids: Vec<String> = s.graph.ids().map(ToString::to_string).collect();
        for (k, ((va, ta), (vb, tb))) in fast.3.iter().zip(&full.3).enumerate() {
            // (Series are in key order, twins in id order.)
            let differing: Vec<String> = (0..va.len())
                .filter(|j| va[*j].to_bits() != vb[*j].to_bits())
                .map(|j| format!("{}: {} vs {}", keys[j], va[j], vb[j]))
                .collect();
            let twins: Vec<String> = (0..ta.len())
                .filter(|i| ta[*i] != tb[*i])
                .map(|i| format!("{}: {:?} vs {:?}", ids[i], ta[i], tb[i]))
                .collect();
            assert!(differing.is_empty() && twins.is_empty(), "tick {k}: {differing:?} {twins:?}");
        }
        assert!(fast.0.iter().any(|r| r.down > 0) && fast.0.iter().any(|r| r.firing > 0), "the run is disturbed");
        if let Some(k) = (0..fast.0.len()).find(|k| fast.0[*k] != full.0[*k]) {
            panic!("tick {k} differs:\nshortcuts: {:?}\nfull:      {:?}", fast.0[k], full.0[k]);
        }
        let (a, b) = (format!("{:?}", fast.1), format!("{:?}", full.1));
        if let Some(k) = a.bytes().zip(b.bytes()).position(|(x, y)| x != y) {
            let at = k.saturating_sub(300);
            panic!(
                "the summaries differ:\nshortcuts: …{}\nfull:      …{}",
                &a[at..(k + 80).min(a.len())],
                &b[at..(k + 80).min(b.len())]
            );
        }
        assert_eq!(fast.1, full.1);
        assert_eq!(fast.2, full.2);
    }
}
