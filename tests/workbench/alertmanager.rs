//! Approved notifications delivered as Alertmanager alerts: a real Alertmanager
//! (Debian's `prometheus-alertmanager`) on a free loopback port with a temporary
//! configuration and storage, read back through its API; a recording responder for
//! credentials and for servers that answer wrongly.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::prom::{REQUIRE_ENV, Reply, Responder, free_port};
use crate::support::{stderr, twinbench};

const BINARY: &str = "prometheus-alertmanager";
const POLICY: &str = "scenarios/policies/webshop-remediation.yaml";

/// An Alertmanager over a temporary directory; killed when dropped.
struct Alertmanager {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Alertmanager {
    /// Starts one, or `None` (with `SKIPPED` on stderr) when it is not installed —
    /// unless [`REQUIRE_ENV`] is set, as in CI: then a missing binary fails the test.
    fn start() -> Option<Alertmanager> {
        if !Command::new(BINARY).arg("--version").output().is_ok_and(|o| o.status.success()) {
            let what = format!(
                "{BINARY} is not installed; the delivery test runs a real Alertmanager \
                 (apt-get install -y prometheus-alertmanager, as .ci/run does)"
            );
            assert!(std::env::var_os(REQUIRE_ENV).is_none(), "{what}, and {REQUIRE_ENV} is set");
            eprintln!("SKIPPED: {what}. Set {REQUIRE_ENV}=1 to make this a failure.");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("alertmanager.yml"),
            "route:\n  receiver: log\n  group_wait: 1h\nreceivers:\n  - name: log\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("alertmanager.log")).unwrap();
        let child = Command::new(BINARY)
            .current_dir(dir.path())
            .arg("--config.file=alertmanager.yml")
            .arg("--storage.path=data")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start alertmanager");
        let mut server = Alertmanager { dir, port, child };
        server.wait_ready();
        Some(server)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alertmanager.log")).unwrap_or_default()
    }

    /// Waits for `/-/ready` (about 30 s at most).
    fn wait_ready(&mut self) {
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("alertmanager exited ({status}): {}", self.log());
            }
            if get(&format!("{}/-/ready", self.url())).is_some_and(|(status, _)| status == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("alertmanager did not become ready in 30 s: {}", self.log());
    }

    /// The alerts it holds (`GET /api/v2/alerts`).
    fn alerts(&self) -> Vec<serde_json::Value> {
        let (status, body) = get(&format!("{}/api/v2/alerts", self.url())).expect("alertmanager answers");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Vec<serde_json::Value>>(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GET on loopback: (status, body), or `None` when nothing answers.
fn get(url: &str) -> Option<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let response = agent.get(url).call().ok()?;
    let status = response.status().as_u16();
    Some((status, response.into_body().read_to_string().ok()?))
}

/// `twinbench plan scenarios/webshop.ron --policy POLICY --approve APPROVE --out OUT [extra…]`.
fn plan(out: &std::path::Path, approve: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["plan", "scenarios/webshop.ron", "--policy", POLICY, "--approve", approve, "--out"];
    args.push(out.to_str().unwrap());
    args.extend_from_slice(extra);
    twinbench(&args)
}

#[test]
fn approved_notifications_reach_a_real_alertmanager() {
    let Some(server) = Alertmanager::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("plan.json");
    let url = server.url();
    let out = plan(&out_path, "all", &["--alertmanager", &url]);
    assert!(out.status.success(), "{}\n{}", stderr(&out), server.log());
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    // The plan lists what it sends: one alert per approved notify step.
    let listed = doc["alerts"].as_array().unwrap();
    let notify_steps: Vec<&serde_json::Value> =
        doc["resource_changes"].as_array().unwrap().iter().filter(|c| c["twinbench"]["action"] == "notify").collect();
    assert!(!notify_steps.is_empty(), "the bundled policies notify someone");
    assert_eq!(listed.len(), notify_steps.len());
    let err = stderr(&out);
    assert!(err.contains(&format!("delivered {} alert", listed.len())) && err.contains(&url), "{err}");
    assert!(err.contains("to Alertmanager 0."), "names the server's version: {err}");

    // Read back: every listed alert is there, with its labels and annotations.
    let held = server.alerts();
    assert_eq!(held.len(), listed.len(), "{held:?}");
    for alert in listed {
        let labels = &alert["labels"];
        for key in ["alertname", "twin", "policy", "severity", "notify", "action_reason"] {
            assert!(labels[key].as_str().is_some_and(|v| !v.is_empty()), "{key}: {alert}");
        }
        let twin = labels["twin"].as_str().unwrap();
        let back = held
            .iter()
            .find(|h| h["labels"] == *labels)
            .unwrap_or_else(|| panic!("{labels} not in Alertmanager: {held:?}"));
        assert_eq!(back["annotations"], alert["annotations"], "{back}");
        assert_eq!(back["status"]["state"], "active", "{back}");
        let step = notify_steps
            .iter()
            .find(|c| c["name"] == twin && c["twinbench"]["id"] == alert["annotations"]["action_id"])
            .unwrap_or_else(|| panic!("no notify step for {alert}"));
        assert_eq!(alert["annotations"]["finding"], step["reason_text"]);
        assert_eq!(labels["action_reason"], step["action_reason"]);
    }
    // The database's disk notification names the scale-up approved with it.
    let dba = listed.iter().find(|a| a["labels"]["twin"] == "db-primary").expect("db-primary's notification");
    assert!(dba["annotations"]["proposed_action"].as_str().unwrap().contains("scale disk up"), "{dba}");

    // Nothing approved: nothing sent, and the server still holds the same alerts.
    let out = plan(&dir.path().join("none.json"), "none", &["--alertmanager", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("no approved notifications: nothing sent to"), "{}", stderr(&out));
    assert_eq!(server.alerts().len(), listed.len());
}

/// The Alertmanager status a responder answers with.
const STATUS: &str = r#"{"cluster":{"status":"disabled"},"config":{"original":""},"uptime":"2026-12-05T00:00:00Z","versionInfo":{"version":"0.25.0","revision":"x","branch":"x","buildUser":"x","buildDate":"x","goVersion":"x"}}"#;

#[test]
fn credentials_go_in_the_header_only() {
    let server = Responder::start(|seen, _| match seen.path.as_str() {
        "/api/v2/status" => Reply::json(200, STATUS),
        _ => Reply::Body(200, "application/json", Vec::new()),
    });
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let out = plan(
        &dir.path().join("p.json"),
        "all",
        &["--alertmanager", &server.url, "--auth-file", token.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let seen = server.seen();
    let post = seen.iter().find(|s| s.path == "/api/v2/alerts").expect("the alerts were posted");
    assert_eq!(post.authorization.as_deref(), Some("Bearer s3cret-token"));
    assert!(seen.iter().all(|s| s.authorization.as_deref() == Some("Bearer s3cret-token")));
    let sent: Vec<serde_json::Value> = serde_json::from_str(&post.body).unwrap();
    assert!(!sent.is_empty() && sent.iter().all(|a| a["startsAt"].is_string()), "{sent:?}");
    let written = std::fs::read_to_string(dir.path().join("p.json")).unwrap();
    assert!(!written.contains("s3cret") && !stderr(&out).contains("s3cret"), "never in files or logs");
    // A variable that is not set fails before any work, naming the variable only.
    let out = plan(
        &dir.path().join("q.json"),
        "all",
        &["--alertmanager", &server.url, "--auth-env", "TWINBENCH_TEST_UNSET_ALERTMANAGER_TOKEN"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("TWINBENCH_TEST_UNSET_ALERTMANAGER_TOKEN is not set"), "{}", stderr(&out));
    assert!(!dir.path().join("q.json").exists());
}

#[test]
fn server_errors_are_clear_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out_path: PathBuf = dir.path().join("plan.json");
    let fails = |url: &str, extra: &[&str]| {
        let mut args = vec!["--alertmanager", url];
        args.extend_from_slice(extra);
        let out = plan(&out_path, "all", &args);
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr(&out));
        let all = stderr(&out);
        assert!(!all.contains("panicked"), "{all}");
        // The plan's summary, then one error line.
        let err = all.lines().last().unwrap_or_default().to_string();
        assert!(err.starts_with("error: cannot deliver the approved notifications (the plan was written): "), "{all}");
        assert!(out_path.exists(), "the plan is written before delivery");
        err
    };
    // Nothing listens.
    let refused = format!("http://127.0.0.1:{}", free_port());
    assert!(fails(&refused, &[]).contains("connection refused"), "refused");
    // A 5xx, a proxy's HTML page, a 404 and refused credentials.
    let down = Responder::always(Reply::Body(503, "text/plain", b"upstream connect error".to_vec()));
    let err = fails(&down.url, &[]);
    assert!(err.contains("HTTP 503") && err.contains("upstream connect error"), "{err}");
    let html = Responder::always(Reply::Body(200, "text/html", b"<html><body>Grafana</body></html>".to_vec()));
    assert!(fails(&html.url, &[]).contains("not Alertmanager's API v2 JSON"), "html");
    let missing = Responder::always(Reply::Body(404, "text/plain", b"404 page not found".to_vec()));
    assert!(fails(&missing.url, &[]).contains("is this the Alertmanager URL"), "404");
    let locked = Responder::always(Reply::Body(401, "text/plain", b"Unauthorized".to_vec()));
    let token = dir.path().join("token");
    std::fs::write(&token, "hunter22").unwrap();
    let err = fails(&locked.url, &["--auth-file", token.to_str().unwrap()]);
    assert!(err.contains("refused the credentials") && !err.contains("hunter22"), "{err}");
    // Alertmanager refuses the alerts themselves (its 400 names what is wrong).
    let picky = Responder::start(|seen, _| match seen.path.as_str() {
        "/api/v2/status" => Reply::json(200, STATUS),
        _ => Reply::json(400, r#""start time must be before end time""#),
    });
    let err = fails(&picky.url, &[]);
    assert!(err.contains("HTTP 400") && err.contains("start time must be before end time"), "{err}");
    // A URL that is not one.
    let out = plan(&out_path, "all", &["--alertmanager", "alertmanager:9093"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("the Alertmanager URL must start with http:// or https://"), "{}", stderr(&out));
}

/// The GUI's automatic loop on a live Prometheus sends the notifications it approves
/// to the Alertmanager named in the Connect dialog (egui_kittest; a real Prometheus
/// and a real Alertmanager on loopback).
#[cfg(feature = "gui")]
mod gui {
    use eframe::egui;
    use egui::accesskit::Role;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    use twinbench::io::live::Clock;
    use twinbench::remediation::orchestrate::Mode;
    use twinbench::ui::command::Command;
    use twinbench::ui::{Launch, WorkbenchApp};

    use super::Alertmanager;
    use crate::gui::{click, wait_until};
    use crate::live::gui::set_field;
    use crate::prom::{Prometheus, Written, write_in};

    const PAGE: &str = "policies:\n  - name: cpu-page\n    severity: high\n    selector: {kinds: [database]}\n    \
                        rules: [{metric: cpu_usage, operator: \">\", threshold: 80}]\n    actions: [{notify: {to: on-call}}]\n";

    #[test]
    fn the_automatic_loop_of_a_live_session_sends_its_notifications() {
        let Some(alertmanager) = Alertmanager::start() else { return };
        // An hour of a busy database up to now, at 5 s.
        let now = Clock::System.now();
        let end = now - now.rem_euclid(5) - 5;
        let samples = (0..721).map(|i| (end - 3600 + i * 5, 95.0)).collect();
        let written = [Written::new("twin_cpu_usage", &[("instance", "db-1")], samples)];
        let Some(prometheus) = Prometheus::start(&written) else { return };
        let dir = tempfile::tempdir().unwrap();
        let mapping = write_in(
            dir.path(),
            "m.yaml",
            "step: 5s\nsettle: 0s\nsync_interval: 1h\n\
             series: [{query: twin_cpu_usage, metric: cpu_usage, twin_label: instance, kind: database}]\n",
        );
        let launch = Launch {
            scenario: Some(crate::support::root().join("scenarios/teaching-minimal.ron")),
            ..Launch::default()
        };
        let mut h = Harness::builder()
            .with_size(egui::vec2(1400.0, 900.0))
            .build_eframe(move |cc| WorkbenchApp::new(cc, launch));
        wait_until(&mut h, "the scenario", WorkbenchApp::is_ready);
        // The policy that pages, in force (as the editor puts it), and the loop automatic.
        let graph = h.state().scenario().unwrap().graph.clone();
        let page = twinbench::io::policy::parse_policies(&dir.path().join("page.yaml"), PAGE, &graph).unwrap();
        h.state_mut().push_command(Command::ApplyPolicies(page));
        h.state_mut().push_command(Command::SetLoopMode(Mode::Automatic));
        click(&mut h, "File");
        click(&mut h, "Connect…");
        click(&mut h, "Prometheus");
        set_field(&mut h, "Server URL", &prometheus.url());
        set_field(&mut h, "Mapping file", mapping.to_str().unwrap());
        set_field(&mut h, "Backfill", "2h");
        set_field(&mut h, "Alertmanager URL", &alertmanager.url());
        h.get_by_role_and_label(Role::Button, "Connect").click();
        h.run_steps(2);
        wait_until(&mut h, "the busy database's violation", |app| {
            app.findings().iter().any(|f| f.twin().as_str() == "db-1")
        });
        h.state_mut().push_command(Command::RunLoop);
        wait_until(&mut h, "the delivery", |app| {
            app.notification_texts().iter().any(|t| t.contains("alert") && t.contains(&alertmanager.url()))
        });
        let texts = h.state().notification_texts();
        assert!(texts.iter().any(|t| t.starts_with("Sent 1 alert to Alertmanager 0.")), "{texts:?}");
        let alerts = alertmanager.alerts();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let labels = &alerts[0]["labels"];
        assert_eq!(
            (labels["alertname"].as_str(), labels["twin"].as_str(), labels["notify"].as_str()),
            (Some("cpu-page"), Some("db-1"), Some("on-call")),
            "{alerts:?}"
        );
        assert!(h.state().decision_log().iter().any(|e| e.decision.name() == "executed"));
    }
}
