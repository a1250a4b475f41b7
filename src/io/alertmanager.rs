//! Approved notifications delivered as Alertmanager alerts (SPEC M12, M24). Each
//! approved `notify` step of a plan becomes one alert of Alertmanager's API v2
//! (`POST /api/v2/alerts`, a JSON array):
//!
//! - `labels` (they identify the alert, so they carry no times or scores):
//!   `alertname` — the policy's name, as `convert --to prometheus` names its alerting
//!   rule, so the notification routes like the rule's alert would —, `twin`, `policy`,
//!   `severity` (twinbench's: `info`, `low`, `medium`, `high`, `critical`), `notify`
//!   (who the policy says to tell: `on-call`, `dba`), `action_reason` (the plan's
//!   reason kind) and `source: twinbench`;
//! - `annotations`: `summary`, `finding` (the reason sentence), `proposed_action` (the
//!   other approved steps of the plan on the same twin for the same policy, or that
//!   there are none), `plan` (scenario, time and fingerprint of the plan) and
//!   `action_id`;
//! - `startsAt`: the time the plan was computed for (RFC 3339). When that lies ahead
//!   of the wall clock (a scenario dated in the future), delivery sends the wall
//!   clock instead: Alertmanager refuses an alert that starts after it ends, and an
//!   alert without `endsAt` ends a resolve timeout after it arrives.
//!
//! The plan file lists the same alerts (`alerts`), so what is sent can be reviewed and
//! is deterministic. Delivery first asks `GET /api/v2/status` (a server that does not
//! answer Alertmanager's JSON there is not taken for one), then posts the alerts.
//! Credentials are those of the Prometheus connection ([`Auth`]: bearer or basic, from
//! an environment variable or a file); they go into the `Authorization` header only
//! and are scrubbed from every message.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::live::{Clock, redact};
use super::prometheus::auth::Auth;
use super::prometheus::client::{ApiError, agent, check_server_url, classify_transport, cut, excerpt};
use super::time::format_rfc3339;
use crate::model::{ActionKind, UnixSecs};
use crate::remediation::plan::{Approval, Plan};

/// One alert as Alertmanager's API v2 takes it (`postableAlert`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertFile {
    /// Identifying labels.
    pub labels: BTreeMap<String, String>,
    /// Descriptive annotations.
    pub annotations: BTreeMap<String, String>,
    /// When the alert started (RFC 3339).
    #[serde(rename = "startsAt")]
    pub starts_at: String,
}

/// The alerts of a plan's approved notifications, in plan order.
pub fn alerts(plan: &Plan) -> Vec<AlertFile> {
    let approved = |s: &&crate::remediation::plan::PlanStep| matches!(s.approval, Approval::Approved { .. });
    plan.steps
        .iter()
        .filter(approved)
        .filter_map(|step| {
            let c = &step.candidate;
            let ActionKind::Notify { to } = &c.kind else {
                return None;
            };
            let policy = c.finding.policy();
            let others: Vec<String> = plan
                .steps
                .iter()
                .filter(approved)
                .filter(|o| o.candidate.target == c.target && o.candidate.finding.policy() == policy)
                .filter(|o| !matches!(o.candidate.kind, ActionKind::Notify { .. }))
                .map(|o| format!("{} (step {})", o.candidate.kind, o.order))
                .collect();
            let proposed_action = if others.is_empty() {
                "none: the plan only notifies about this finding".to_string()
            } else {
                others.join("; ")
            };
            let reason = c.finding.reason();
            let labels = BTreeMap::from([
                ("alertname".to_string(), policy.to_string()),
                ("twin".to_string(), c.target.to_string()),
                ("policy".to_string(), policy.to_string()),
                ("severity".to_string(), c.severity.as_str().to_string()),
                ("notify".to_string(), to.clone()),
                ("action_reason".to_string(), c.finding.reason_kind().as_str().to_string()),
                ("source".to_string(), "twinbench".to_string()),
            ]);
            let annotations = BTreeMap::from([
                ("summary".to_string(), format!("{policy} on {}: {reason}", c.target)),
                ("finding".to_string(), reason),
                ("proposed_action".to_string(), proposed_action),
                (
                    "plan".to_string(),
                    format!(
                        "step {} of the plan for {} at {} (fingerprint {})",
                        step.order,
                        plan.scenario,
                        format_rfc3339(plan.computed_for),
                        &plan.fingerprint[..16.min(plan.fingerprint.len())]
                    ),
                ),
                ("action_id".to_string(), c.id.clone()),
            ]);
            Some(AlertFile { labels, annotations, starts_at: format_rfc3339(plan.computed_for) })
        })
        .collect()
}

/// Where to deliver.
#[derive(Clone, Debug)]
pub struct AlertmanagerConfig {
    /// `http://host:9093` or `https://host/prefix` (without `/api/v2`, without credentials).
    pub base_url: String,
    /// Credentials, if any.
    pub auth: Option<Auth>,
    /// Extra trusted CA certificates (PEM), for https with a private CA.
    pub ca_pem: Option<Vec<u8>>,
    /// Limit of one request.
    pub timeout: Duration,
}

/// What a delivery did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Alerts accepted by the server.
    pub sent: usize,
    /// The server's version (`versionInfo.version` of its status).
    pub version: String,
}

/// The part of `GET /api/v2/status` that shows the server is an Alertmanager.
#[derive(Deserialize)]
struct Status {
    #[serde(rename = "versionInfo")]
    version_info: VersionInfo,
}

#[derive(Deserialize)]
struct VersionInfo {
    version: String,
}

/// A connection to an Alertmanager's API v2.
struct Api {
    agent: ureq::Agent,
    base: String,
    auth: Option<Auth>,
    redactions: Vec<String>,
    timeout: Duration,
}

impl Api {
    fn new(config: &AlertmanagerConfig) -> Result<Api, String> {
        let base = check_server_url("Alertmanager", &config.base_url)?;
        let agent = agent(config.ca_pem.as_deref(), config.timeout)?;
        let redactions = config.auth.as_ref().map(Auth::redactions).unwrap_or_default();
        Ok(Api { agent, base, auth: config.auth.clone(), redactions, timeout: config.timeout })
    }

    fn scrub(&self, message: &str) -> String {
        let refs: Vec<&str> = self.redactions.iter().map(String::as_str).collect();
        redact(message, &refs)
    }

    /// Sends a request (a body means POST) and returns the status and body.
    fn call(&self, path: &str, body: Option<&[u8]>) -> Result<(u16, Vec<u8>), String> {
        let url = format!("{}{path}", self.base);
        let transport = |e: &ureq::Error| match classify_transport(e, &self.scrub(&e.to_string()), self.timeout, &url) {
            ApiError::Transient(m) | ApiError::Permanent(m) => m,
        };
        let response = match body {
            Some(body) => {
                let mut request = self.agent.post(&url).header("Content-Type", "application/json");
                if let Some(auth) = &self.auth {
                    request = request.header("Authorization", auth.header());
                }
                request.send(body)
            }
            None => {
                let mut request = self.agent.get(&url).header("Accept", "application/json");
                if let Some(auth) = &self.auth {
                    request = request.header("Authorization", auth.header());
                }
                request.call()
            }
        }
        .map_err(|e| transport(&e))?;
        let status = response.status().as_u16();
        let bytes = response.into_body().into_with_config().limit(1 << 24).read_to_vec().map_err(|e| transport(&e))?;
        Ok((status, bytes))
    }

    /// A message for an answer other than success.
    fn refused(&self, what: &str, status: u16, body: &[u8], path: &str) -> String {
        let url = format!("{}{path}", self.base);
        let excerpt = self.scrub(&excerpt(body));
        match status {
            401 | 403 => format!(
                "Alertmanager refused the credentials for {what} (HTTP {status}, {excerpt}); check --auth-env/--auth-file: {url}"
            ),
            404 | 405 => {
                format!("HTTP {status} for {what}: is this the Alertmanager URL (without /api/v2)? {excerpt}: {url}")
            }
            _ => format!("Alertmanager answered {what} with HTTP {status} ({excerpt}): {url}"),
        }
    }
}

/// Delivers `alerts` (see the module docs): checks the server is an Alertmanager, then
/// posts them in one request. An error says why, naming the URL and never a secret.
pub fn deliver(config: &AlertmanagerConfig, alerts: &[AlertFile]) -> Result<Delivery, String> {
    let api = Api::new(config)?;
    let status_path = "/api/v2/status";
    let (status, body) = api.call(status_path, None)?;
    if !(200..300).contains(&status) {
        return Err(api.refused("the status request", status, &body, status_path));
    }
    let version = serde_json::from_slice::<Status>(&body).map(|s| s.version_info.version).map_err(|e| {
        format!(
            "the server's status is not Alertmanager's API v2 JSON ({}, {}): {}{status_path}",
            cut(&e.to_string(), 80),
            api.scrub(&excerpt(&body)),
            api.base
        )
    })?;
    let now = Clock::System.now();
    let payload: Vec<AlertFile> =
        alerts.iter().map(|a| AlertFile { starts_at: not_after(&a.starts_at, now), ..a.clone() }).collect();
    let bytes = serde_json::to_vec(&payload).map_err(|e| format!("cannot encode the alerts: {e}"))?;
    let alerts_path = "/api/v2/alerts";
    let (status, body) = api.call(alerts_path, Some(&bytes))?;
    if !(200..300).contains(&status) {
        return Err(api.refused(&format!("{} alerts", payload.len()), status, &body, alerts_path));
    }
    Ok(Delivery { sent: payload.len(), version })
}

/// `starts_at`, or `now` when it is later (or unreadable).
fn not_after(starts_at: &str, now: UnixSecs) -> String {
    match super::time::parse_timestamp(starts_at) {
        Ok(t) if t <= now => starts_at.to_string(),
        _ => format_rfc3339(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_ahead_of_the_clock_is_sent_as_now() {
        assert_eq!(not_after("2026-01-02T03:04:05Z", 1_800_000_000), "2026-01-02T03:04:05Z");
        let now = 1_700_000_000;
        assert_eq!(not_after("2026-01-02T03:04:05Z", now), format_rfc3339(now));
    }

    #[test]
    fn urls_with_credentials_are_refused_without_echoing_them() {
        let config = AlertmanagerConfig {
            base_url: "http://admin:hunter2@127.0.0.1:9093".into(),
            auth: None,
            ca_pem: None,
            timeout: Duration::from_secs(1),
        };
        let e = deliver(&config, &[]).unwrap_err();
        assert!(e.contains("Alertmanager URL must not contain credentials") && !e.contains("hunter2"), "{e}");
    }
}
