//! `twinbench plan` and `twinbench verify`: from findings to an approved plan file, and
//! the check that a plan still matches the estate it was computed on.

use std::process::ExitCode;

use anyhow::{Result, bail};

use super::check::{Loaded, load_assessment};
use super::connect::{ca_file, credentials};
use super::{PlanAction, PlanArgs, PlanShowArgs, VerifyArgs, horizon_secs};
use crate::io::alertmanager::{self, AlertmanagerConfig};
use crate::io::prometheus::client::check_server_url;
use crate::io::{plan as plan_io, policy, scenario};
use crate::remediation::assessment::AtTime;
use crate::remediation::plan::{ApproveSpec, PlanContext, plan, staleness};

fn approve_spec(text: &str) -> Result<ApproveSpec> {
    Ok(match text.trim() {
        "all" => ApproveSpec::All,
        "none" => ApproveSpec::None,
        ids => {
            let ids: Vec<String> = ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
            if ids.is_empty() {
                bail!("--approve needs all, none or a comma-separated list of action ids");
            }
            ApproveSpec::Ids(ids)
        }
    })
}

/// `twinbench plan`, and `twinbench plan show`.
pub fn plan_command(args: &PlanArgs) -> Result<ExitCode> {
    if let Some(PlanAction::Show(show_args)) = &args.action {
        return show(show_args);
    }
    // clap requires both without a subcommand; checked again rather than unwrapped.
    let (Some(scenario), Some(out)) = (&args.scenario, &args.out) else {
        bail!("plan needs a SCENARIO and --out PLAN (or: plan show PLAN)");
    };
    let approve = approve_spec(&args.approve)?;
    // Credentials and the CA are read before the work, so a missing one fails at once.
    let alertmanager = match &args.alertmanager {
        Some(url) => Some(AlertmanagerConfig {
            base_url: check_server_url("Alertmanager", url).map_err(anyhow::Error::msg)?,
            auth: credentials(args.auth_env.as_deref(), args.auth_file.as_deref(), args.basic_user.as_deref())?,
            ca_pem: ca_file(args.ca_file.as_deref())?,
            timeout: std::time::Duration::from_secs(10),
        }),
        None => None,
    };
    let Loaded { assessment, .. } = load_assessment(scenario, &args.policy, horizon_secs(args.horizon)?)?;
    let never = std::sync::atomic::AtomicBool::new(false);
    let scans = crate::analytics::scan::scan(assessment.scenario(), &|_, _| {}, &never)?;
    let assessment = assessment.with_anomalies(std::sync::Arc::new(scans));
    let s = assessment.scenario();
    let AtTime { findings: found, candidates: ranked, .. } = assessment.at_end();
    let approver = args.approver.clone().unwrap_or_else(|| format!("cli --approve {}", args.approve));
    let plan = plan(PlanContext::of(s), ranked, &approve, &approver).map_err(anyhow::Error::msg)?;
    plan_io::write(out, &plan, &s.graph)?;
    let approved = plan
        .steps
        .iter()
        .filter(|st| matches!(st.approval, crate::remediation::plan::Approval::Approved { .. }))
        .count();
    eprintln!("{}: {} findings, {} proposed actions, {approved} approved", s.name, found.len(), plan.steps.len());
    for step in &plan.steps {
        eprintln!("  {}", plan_io::step_line(step));
    }
    eprintln!("wrote {} (fingerprint {})", out.display(), &plan.fingerprint[..16]);
    if let Some(config) = alertmanager {
        let alerts = alertmanager::alerts(&plan);
        if alerts.is_empty() {
            eprintln!("no approved notifications: nothing sent to {}", config.base_url);
        } else {
            let delivery = alertmanager::deliver(&config, &alerts).map_err(|e| {
                anyhow::anyhow!("cannot deliver the approved notifications (the plan was written): {e}")
            })?;
            eprintln!(
                "delivered {} alert{} to Alertmanager {} at {}",
                delivery.sent,
                if delivery.sent == 1 { "" } else { "s" },
                delivery.version,
                config.base_url
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `twinbench plan show PLAN`: the plan for review on stdout (it is what was asked
/// for, so it can be paged or diffed).
fn show(args: &PlanShowArgs) -> Result<ExitCode> {
    let file = plan_io::read(&args.plan)?;
    let text = plan_io::show(&file);
    super::print_text(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `twinbench verify`: exit 0 when the plan matches the current state, 3 when stale.
pub fn verify(args: &VerifyArgs) -> Result<ExitCode> {
    let (planned, planned_twins) = plan_io::read_fingerprints(&args.plan)?;
    let mut s = scenario::load_def(&args.scenario)?.scenario;
    for path in &args.policy {
        let extra = policy::load_policies(path, &s.graph)?;
        s.policies.extend(extra);
    }
    let Some(what) = staleness(&planned, &planned_twins, &s.graph, &s.policies) else {
        eprintln!("plan {} is current: it was computed on this state of {}", args.plan.display(), s.name);
        return Ok(ExitCode::SUCCESS);
    };
    eprintln!("error: plan {} is stale: {what}; compute a new plan", args.plan.display());
    Ok(ExitCode::from(3))
}
