//! The Prometheus HTTP API client (blocking, `ureq` over rustls): `query_range` and the
//! server's retention, every response checked and classified. It runs only on a live
//! source's worker thread.
//!
//! Responses are requested gzip-compressed and decompressed here, so the bytes counted
//! are the bytes that crossed the wire. Every failure is an [`ApiError`]: transient
//! (connection refused, timeout, 5xx, a body that is not the API's JSON, an error
//! envelope such as `timeout` or `execution`) or permanent (authentication refused, a
//! query the server calls `bad_data`, a URL that is not a Prometheus API). Messages
//! never contain the credentials.
//!
//! # Why a request failed
//! A message names the cause first, from `ureq`'s error type rather than its text: the
//! name did not resolve (`HostNotFound`, or a lookup error, which the resolver wrapper
//! [`TaggedResolver`] marks because the standard library reports it as an uncategorised
//! `io::Error`), the connection was refused, reset or unreachable (`io::ErrorKind`), a
//! timeout and the phase it hit (`ureq::Timeout`: name lookup, connect, the answer),
//! TLS (rustls errors, through the stream or directly), or an HTTP status with the
//! start of the body. `connect` and the Connect dialog show these messages as they are.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use serde::Deserialize;
use ureq::Agent;
use ureq::tls::{RootCerts, TlsConfig};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use super::auth::Auth;
use crate::io::live::redact;

/// Largest response body accepted (compressed and decompressed), so a misbehaving
/// server cannot exhaust memory.
pub const MAX_BODY_BYTES: u64 = 1 << 30;

/// A failed API call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Worth retrying after a backoff.
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help until something is changed.
    #[error("{0}")]
    Permanent(String),
}

impl ApiError {
    /// The message.
    pub fn message(&self) -> &str {
        match self {
            ApiError::Transient(m) | ApiError::Permanent(m) => m,
        }
    }
}

/// One series of a range query: its labels and its samples as (milliseconds, value).
#[derive(Clone, Debug, PartialEq)]
pub struct RangeSeries {
    /// Labels, including `__name__` when the query keeps it.
    pub labels: BTreeMap<String, String>,
    /// Samples in server order: Unix milliseconds and the value as parsed.
    pub samples: Vec<(i64, f64)>,
}

/// A successful `query_range`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matrix {
    /// The series.
    pub series: Vec<RangeSeries>,
    /// Warnings the server attached.
    pub warnings: Vec<String>,
    /// Bytes of the response body as received.
    pub bytes: u64,
}

/// Settings of a client.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `http://host:port` or `https://host:port/prefix`, without credentials.
    pub base_url: String,
    /// Credentials, if any.
    pub auth: Option<Auth>,
    /// Extra trusted CA certificates (PEM), for https with a private CA.
    pub ca_pem: Option<Vec<u8>>,
    /// Limit of one request, from connect to the last body byte.
    pub timeout: Duration,
}

/// A blocking API client.
pub struct Client {
    agent: Agent,
    base: String,
    auth: Option<Auth>,
    redactions: Vec<String>,
    timeout: Duration,
}

/// A name lookup that failed; [`TaggedResolver`] wraps the lookup's `io::Error` in it
/// so that [`Client`] can tell a DNS failure from a failure of the connection.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct LookupFailed(std::io::Error);

/// `ureq`'s own resolver (the system's `getaddrinfo`), with its IO errors tagged as
/// [`LookupFailed`]. (`ureq`'s resolver API is "unversioned": Cargo.lock pins the
/// version it was written against.)
#[derive(Debug, Default)]
struct TaggedResolver(DefaultResolver);

impl Resolver for TaggedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        self.0.resolve(uri, config, timeout).map_err(|e| match e {
            ureq::Error::Io(io) => ureq::Error::Io(std::io::Error::new(io.kind(), LookupFailed(io))),
            other => other,
        })
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).field("auth", &self.auth.is_some()).finish()
    }
}

/// Checks a Prometheus server URL ([`check_server_url`]).
pub fn check_url(url: &str) -> Result<String, String> {
    check_server_url("Prometheus", url)
}

/// Checks the URL of a `server` (Prometheus, Alertmanager): http or https, a host, no
/// credentials, no query or fragment. Returns it without a trailing slash.
pub fn check_server_url(server: &str, url: &str) -> Result<String, String> {
    let url = url.trim();
    let rest = if let Some(r) = url.strip_prefix("http://") {
        r
    } else if let Some(r) = url.strip_prefix("https://") {
        r
    } else {
        return Err(format!("the {server} URL must start with http:// or https://, not {:?}", cut(url, 40)));
    };
    let authority = rest.split('/').next().unwrap_or("");
    if authority.contains('@') {
        // Do not echo the URL: it holds credentials.
        return Err(format!("the {server} URL must not contain credentials; use --auth-env or --auth-file"));
    }
    if authority.is_empty() {
        return Err(format!("the {server} URL has no host: {url}"));
    }
    if rest.contains(['?', '#']) {
        return Err(format!("the {server} URL must not have a query or fragment: {url}"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("the {server} URL contains a space or control character: {url:?}"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The HTTP agent every twinbench client uses: rustls with the web PKI roots (or only
/// the certificates of `ca_pem`), a limit per request, no redirects, HTTP error
/// statuses as answers (the caller classifies them), DNS failures tagged.
pub(crate) fn agent(ca_pem: Option<&[u8]>, timeout: Duration) -> Result<Agent, String> {
    let roots = match ca_pem {
        None => RootCerts::WebPki,
        Some(pem) => {
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(cert)) => certs.push(cert),
                    Ok(_) => {}
                    Err(e) => return Err(format!("cannot read the CA file: {e}")),
                }
            }
            if certs.is_empty() {
                return Err("the CA file holds no PEM certificate".into());
            }
            RootCerts::new_with_certs(&certs)
        }
    };
    let agent_config = Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .user_agent(concat!("twinbench/", env!("CARGO_PKG_VERSION")))
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .build();
    Ok(Agent::with_parts(agent_config, DefaultConnector::default(), TaggedResolver::default()))
}

impl Client {
    /// A client for `config`. Fails on a bad URL or CA file (no network here).
    pub fn new(config: ClientConfig) -> Result<Client, String> {
        let base = check_url(&config.base_url)?;
        let agent = agent(config.ca_pem.as_deref(), config.timeout)?;
        let redactions = config.auth.as_ref().map(Auth::redactions).unwrap_or_default();
        Ok(Client { agent, base, auth: config.auth, redactions, timeout: config.timeout })
    }

    /// The server URL (without credentials).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn scrub(&self, message: &str) -> String {
        let refs: Vec<&str> = self.redactions.iter().map(String::as_str).collect();
        redact(message, &refs)
    }

    /// POSTs a form to an API path and returns (status, decompressed body, wire bytes).
    fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<(u16, Vec<u8>, u64), ApiError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.post(&url).header("Accept-Encoding", "gzip").header("Accept", "application/json");
        if let Some(auth) = &self.auth {
            request = request.header("Authorization", auth.header());
        }
        let response = request.send_form(form.iter().copied()).map_err(|e| self.transport_error(&e, &url))?;
        self.read(response, &url)
    }

    fn get(&self, path: &str) -> Result<(u16, Vec<u8>, u64), ApiError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url).header("Accept-Encoding", "gzip").header("Accept", "application/json");
        if let Some(auth) = &self.auth {
            request = request.header("Authorization", auth.header());
        }
        let response = request.call().map_err(|e| self.transport_error(&e, &url))?;
        self.read(response, &url)
    }

    fn read(&self, response: ureq::http::Response<ureq::Body>, url: &str) -> Result<(u16, Vec<u8>, u64), ApiError> {
        let status = response.status().as_u16();
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        let raw = response
            .into_body()
            .into_with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|e| self.transport_error(&e, url))?;
        let wire = raw.len() as u64;
        let body = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::with_capacity(raw.len() * 4);
            flate2::read::GzDecoder::new(raw.as_slice())
                .take(MAX_BODY_BYTES)
                .read_to_end(&mut out)
                .map_err(|e| ApiError::Transient(self.scrub(&format!("garbled gzip response ({e}): {url}"))))?;
            out
        } else {
            raw
        };
        if (300..400).contains(&status) {
            let to = location.map_or_else(String::new, |l| format!(" to {}", cut(&l, 200)));
            return Err(ApiError::Permanent(
                self.scrub(&format!("the server redirects (HTTP {status}){to}; use the final URL: {url}")),
            ));
        }
        Ok((status, body, wire))
    }

    fn transport_error(&self, e: &ureq::Error, url: &str) -> ApiError {
        let text = self.scrub(&e.to_string());
        classify_transport(e, &text, self.timeout, url)
    }

    /// Classifies a response that is not a successful API envelope.
    fn failure(&self, status: u16, body: &[u8], what: &str, url: &str) -> ApiError {
        if let Ok(env) = serde_json::from_slice::<ErrorEnvelope>(body)
            && env.status == "error"
        {
            let kind = env.error_type.as_deref().unwrap_or("unknown");
            let message = self.scrub(env.error.as_deref().unwrap_or("(no message)"));
            let text = format!("the server refused {what}: {message} ({kind}, HTTP {status}): {url}");
            // `bad_data` is the request itself (bad PromQL, too many points): retrying
            // the same request gets the same answer.
            return if kind == "bad_data" { ApiError::Permanent(text) } else { ApiError::Transient(text) };
        }
        let excerpt = self.scrub(&excerpt(body));
        match status {
            401 | 403 => ApiError::Permanent(format!(
                "authentication refused (HTTP {status}); check --auth-env/--auth-file or the mapping's auth: {url}"
            )),
            404 | 405 => ApiError::Permanent(format!(
                "HTTP {status}: is this the Prometheus server URL (without /api/v1)? {excerpt}: {url}"
            )),
            200..=299 => ApiError::Transient(format!(
                "the server answered something that is not Prometheus JSON ({excerpt}): {url}"
            )),
            _ => ApiError::Transient(format!("HTTP {status} ({excerpt}): {url}")),
        }
    }

    /// `/api/v1/query_range` for `[start, end]` every `step_secs`, all whole seconds.
    pub fn query_range(&self, query: &str, start: i64, end: i64, step_secs: i64) -> Result<Matrix, ApiError> {
        self.range(query, start, end, step_secs).map_err(|(e, _)| e)
    }

    /// The time of the sample behind each grid point of `query`: `timestamp(query)` over
    /// the same grid, one series per series of `query` (without `__name__`), values in
    /// Unix seconds. For a selector these are the samples' own times; for a computed
    /// expression (an aggregation, arithmetic, `rate`, …) Prometheus gives the grid
    /// time itself. `Ok(None)` when the server cannot take `timestamp()` of the
    /// expression (`bad_data`: a scalar; `execution`: series that differ only by name).
    pub fn sample_times(&self, query: &str, start: i64, end: i64, step_secs: i64) -> Result<Option<Matrix>, ApiError> {
        // On lines of its own: a `#` comment in the query must not swallow the parenthesis.
        match self.range(&format!("timestamp(\n{query}\n)"), start, end, step_secs) {
            Ok(m) => Ok(Some(m)),
            Err((_, Some(kind))) if kind == "bad_data" || kind == "execution" => Ok(None),
            Err((e, _)) => Err(e),
        }
    }

    /// A range query; an error comes with the server's `errorType` when it answered
    /// with an error envelope.
    fn range(&self, query: &str, start: i64, end: i64, step_secs: i64) -> Result<Matrix, (ApiError, Option<String>)> {
        let (s, e, st) = (start.to_string(), end.to_string(), step_secs.to_string());
        let form = [("query", query), ("start", s.as_str()), ("end", e.as_str()), ("step", st.as_str())];
        let path = "/api/v1/query_range";
        let url = format!("{}{path}", self.base);
        let (status, body, wire) = self.post(path, &form).map_err(|e| (e, None))?;
        let what = format!("query `{}`", cut(query, 120));
        let kind = || {
            serde_json::from_slice::<ErrorEnvelope>(&body)
                .ok()
                .filter(|e| e.status == "error")
                .and_then(|e| e.error_type)
        };
        let parsed = match serde_json::from_slice::<RangeEnvelope<'_>>(&body) {
            Ok(env) if env.status == "success" && (200..300).contains(&status) => env,
            Ok(_) => return Err((self.failure(status, &body, &what, &url), kind())),
            // An error envelope does not fit the range shape; a garbled body fits nothing.
            Err(e) => {
                let error = match self.failure(status, &body, &what, &url) {
                    ApiError::Transient(m) if (200..300).contains(&status) && m.contains("not Prometheus JSON") => {
                        ApiError::Transient(format!("{m} ({e})"))
                    }
                    other => other,
                };
                return Err((error, kind()));
            }
        };
        self.decode(parsed, &what, &url, wire).map_err(|e| (e, None))
    }

    /// The series of a successful range answer.
    fn decode(&self, parsed: RangeEnvelope<'_>, what: &str, url: &str, wire: u64) -> Result<Matrix, ApiError> {
        let result = parsed.data.ok_or_else(|| {
            ApiError::Transient(format!("the server's answer to {what} has no `data` (not Prometheus?): {url}"))
        })?;
        if result.result_type != "matrix" {
            return Err(ApiError::Transient(format!(
                "the server answered {what} with a {} instead of a matrix: {url}",
                result.result_type
            )));
        }
        let mut series = Vec::with_capacity(result.result.len());
        for s in result.result {
            let mut samples = Vec::with_capacity(s.values.len());
            for (t, v) in s.values {
                if !t.is_finite() || t.abs() > 1e13 {
                    return Err(ApiError::Transient(format!("the answer to {what} has a bad timestamp {t}: {url}")));
                }
                let value: f64 = v.parse().map_err(|_| {
                    ApiError::Transient(format!("the answer to {what} has a bad value {:?}: {url}", cut(v, 40)))
                })?;
                // Prometheus sends seconds with millisecond precision.
                samples.push(((t * 1000.0).round() as i64, value));
            }
            series.push(RangeSeries { labels: s.metric, samples });
        }
        let warnings = parsed.warnings.into_iter().map(|w| self.scrub(&w)).collect();
        Ok(Matrix { series, warnings, bytes: wire })
    }

    /// Whether the server still answers (`/-/ready`), with the bytes received: any HTTP
    /// answer but 5xx means it is there (a proxy may not forward the path); a transport
    /// error or a 5xx (Prometheus starting or shutting down) is a transient error.
    pub fn ping(&self) -> Result<u64, ApiError> {
        let path = "/-/ready";
        let (status, body, wire) = self.get(path)?;
        if status >= 500 {
            let url = format!("{}{path}", self.base);
            return Err(ApiError::Transient(
                self.scrub(&format!("not ready (HTTP {status}, {}): {url}", excerpt(&body))),
            ));
        }
        Ok(wire)
    }

    /// The server's time-based retention (`/api/v1/status/runtimeinfo`,
    /// `storageRetention` such as `15d` or `15d or 512MiB`), with the bytes received.
    /// `Ok(None)` when the server does not say (older versions, proxies, size-only
    /// retention); transport errors, refused credentials and 5xx answers (a server
    /// starting, a proxy without its upstream) are errors.
    pub fn retention(&self) -> Result<(Option<Duration>, u64), ApiError> {
        let path = "/api/v1/status/runtimeinfo";
        let (status, body, wire) = self.get(path)?;
        if status == 401 || status == 403 || status >= 500 {
            let url = format!("{}{path}", self.base);
            return Err(self.failure(status, &body, "the runtime info request", &url));
        }
        let retention = serde_json::from_slice::<InfoEnvelope>(&body)
            .ok()
            .filter(|e| e.status == "success")
            .and_then(|e| e.data)
            .and_then(|i| i.storage_retention)
            .and_then(|r| r.split(" or ").find_map(|part| crate::io::time::parse_duration(part.trim()).ok()));
        Ok((retention, wire))
    }
}

/// Classifies a transport failure (no HTTP answer, or a body cut off) by `ureq`'s
/// error type; `text` is the error's message, already scrubbed of secrets.
pub(crate) fn classify_transport(e: &ureq::Error, text: &str, timeout: Duration, url: &str) -> ApiError {
    use std::io::ErrorKind;
    let secs = crate::io::time::format_duration(timeout);
    match e {
        ureq::Error::HostNotFound => ApiError::Transient(format!("DNS failure: the host name does not resolve: {url}")),
        ureq::Error::Timeout(ureq::Timeout::Resolve) => {
            ApiError::Transient(format!("DNS failure: the name lookup timed out: {url}"))
        }
        ureq::Error::Timeout(ureq::Timeout::Connect) => {
            ApiError::Transient(format!("timed out connecting (no answer to the connection request): {url}"))
        }
        ureq::Error::Timeout(_) => ApiError::Transient(format!("timed out: no complete answer within {secs}: {url}")),
        ureq::Error::Io(io) => {
            let inner = io.get_ref();
            if let Some(lookup) = inner.and_then(|e| e.downcast_ref::<LookupFailed>()) {
                return ApiError::Transient(format!("DNS failure ({}): {url}", lookup.0));
            }
            // rustls reports handshake failures through the stream as IO errors.
            if let Some(tls) = inner.and_then(|e| e.downcast_ref::<rustls::Error>()) {
                return tls_error(tls, text, url);
            }
            let cause = match io.kind() {
                ErrorKind::ConnectionRefused => "connection refused (nothing listens on that port)",
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                    "the server closed the connection"
                }
                ErrorKind::UnexpectedEof => "the server closed the connection before answering",
                ErrorKind::TimedOut => "timed out",
                ErrorKind::HostUnreachable => "host unreachable",
                ErrorKind::NetworkUnreachable => "network unreachable",
                ErrorKind::AddrNotAvailable => "address not available",
                _ => return ApiError::Transient(format!("network error ({text}): {url}")),
            };
            ApiError::Transient(format!("{cause}: {url}"))
        }
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
            ApiError::Permanent(format!("TLS failed ({text}): {url}"))
        }
        ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_) => {
            ApiError::Permanent(format!("bad URL ({text}): {url}"))
        }
        ureq::Error::Protocol(_) => {
            ApiError::Transient(format!("the server's answer is not valid HTTP ({text}); is it an HTTP server? {url}"))
        }
        ureq::Error::BodyExceedsLimit(n) => {
            ApiError::Transient(format!("the response is larger than the {n}-byte limit: {url}"))
        }
        _ => ApiError::Transient(format!("request failed ({text}): {url}")),
    }
}

/// A TLS failure: a certificate the client does not trust, or a peer it cannot talk to,
/// is permanent (retrying gets the same answer); anything else may pass.
fn tls_error(tls: &rustls::Error, text: &str, url: &str) -> ApiError {
    let message = format!("TLS failed ({text}): {url}");
    match tls {
        rustls::Error::InvalidCertificate(_) | rustls::Error::PeerIncompatible(_) => ApiError::Permanent(message),
        _ => ApiError::Transient(message),
    }
}

/// Any API answer, read for its error fields.
#[derive(Deserialize)]
struct ErrorEnvelope {
    status: String,
    #[serde(rename = "errorType", default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct RangeEnvelope<'a> {
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(borrow, default)]
    data: Option<RangeData<'a>>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct InfoEnvelope {
    status: String,
    #[serde(default)]
    data: Option<RuntimeInfo>,
}

#[derive(Deserialize)]
struct RuntimeInfo {
    #[serde(rename = "storageRetention", default)]
    storage_retention: Option<String>,
}

#[derive(Deserialize)]
struct RangeData<'a> {
    #[serde(rename = "resultType", borrow)]
    result_type: Cow<'a, str>,
    #[serde(borrow)]
    result: Vec<RangeResult<'a>>,
}

#[derive(Deserialize)]
struct RangeResult<'a> {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    /// Values are plain numbers in quotes (never escaped), so they can be borrowed.
    #[serde(borrow, default)]
    values: Vec<(f64, &'a str)>,
}

/// The start of a body for a message: printable, one line, at most 120 characters.
pub(crate) fn excerpt(body: &[u8]) -> String {
    if body.is_empty() {
        return "empty body".into();
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(400)]);
    let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("body starts {:?}", cut(&line, 120))
}

pub(crate) fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert_eq!(check_url("http://127.0.0.1:9090/").unwrap(), "http://127.0.0.1:9090");
        assert_eq!(check_url(" https://prom.example/prefix ").unwrap(), "https://prom.example/prefix");
        let e = check_url("http://user:hunter2@prom:9090").unwrap_err();
        assert!(!e.contains("hunter2") && e.contains("credentials"), "{e}");
        assert!(check_url("ftp://x").unwrap_err().contains("http://"));
        assert!(check_url("http://").unwrap_err().contains("no host"));
        assert!(check_url("http://x/?q=1").is_err());
    }

    #[test]
    fn transport_failures_are_classified_by_type() {
        use std::io::{Error, ErrorKind};
        let url = "http://db:9090/api/v1/query_range";
        let t = Duration::from_secs(30);
        let classify = |e: ureq::Error| classify_transport(&e, &e.to_string(), t, url);
        let lookup = Error::other(LookupFailed(Error::other("Name or service not known")));
        let bad_cert = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let cases: Vec<(ureq::Error, bool, &str)> = vec![
            (ureq::Error::HostNotFound, false, "DNS failure: the host name does not resolve: "),
            (ureq::Error::Io(lookup), false, "DNS failure (Name or service not known): "),
            (ureq::Error::Timeout(ureq::Timeout::Resolve), false, "DNS failure: the name lookup timed out"),
            (ureq::Error::Io(ErrorKind::ConnectionRefused.into()), false, "connection refused"),
            (ureq::Error::Io(ErrorKind::ConnectionReset.into()), false, "the server closed the connection"),
            (ureq::Error::Io(ErrorKind::NetworkUnreachable.into()), false, "network unreachable"),
            (ureq::Error::Timeout(ureq::Timeout::Global), false, "timed out: no complete answer within 30s"),
            (ureq::Error::Timeout(ureq::Timeout::Connect), false, "timed out connecting"),
            (ureq::Error::Io(Error::new(ErrorKind::InvalidData, bad_cert)), true, "TLS failed"),
            (ureq::Error::Io(Error::new(ErrorKind::InvalidData, rustls::Error::DecryptError)), false, "TLS failed"),
            (ureq::Error::Tls("no TLS provider"), true, "TLS failed"),
            (ureq::Error::ConnectionFailed, false, "request failed (connection failed)"),
        ];
        for (error, permanent, start) in cases {
            let debug = format!("{error:?}");
            let got = classify(error);
            assert_eq!(matches!(got, ApiError::Permanent(_)), permanent, "{debug}: {got:?}");
            assert!(got.message().starts_with(start) && got.message().ends_with(url), "{debug}: {got:?}");
        }
    }

    #[test]
    fn excerpts_are_one_short_line() {
        let e = excerpt(b"<html>\n<body>Bad Gateway</body>\n</html>");
        assert_eq!(e, "body starts \"<html> <body>Bad Gateway</body> </html>\"");
        assert_eq!(excerpt(b""), "empty body");
    }
}
