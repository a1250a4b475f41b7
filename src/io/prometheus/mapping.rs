//! Mapping files (YAML): which PromQL gives which metric of which twin, how label
//! values become twin ids and dependencies, and how to authenticate. The smallest
//! mapping is one line:
//!
//! ```yaml
//! series: [{query: 'twin_cpu_usage', metric: cpu_usage, twin_label: instance, kind: database}]
//! ```
//!
//! which makes one `database` twin per distinct `instance` label value, each with a
//! `cpu_usage` series. Everything else is optional:
//!
//! ```yaml
//! step: 60s            # the query grid (whole seconds, default 60s)
//! sync_interval: 30s   # how often new samples are fetched (default 30s)
//! settle: 10s          # newest grid point fetched = now - settle (default 10s), so a
//!                      # scrape still being written is not read half-way
//! auth: {type: bearer, env: PROM_TOKEN}             # or {type: bearer, file: token.txt}
//! # auth: {type: basic, user: grafana, env: PROM_PASSWORD}   # or file: …
//! tls: {ca_file: ca.pem}                            # extra trusted CA (https)
//! series:
//!   - query: 'sum by (instance, node) (rate(pg_stat_database_xact_commit[5m]))'
//!     metric: request_rate
//!     twin_label: instance     # or `twin: some-id` when the query returns one series
//!     kind: database           # default service
//!     tags: [postgres]
//!     edges:                   # dependencies derived from labels
//!       - {label: node, kind: runs_on, target_kind: host}
//! twins:                       # static twins (also those no query returns)
//!   - {id: lb, kind: load_balancer, tags: [edge]}
//! dependencies:                # static dependencies; may name discovered twins
//!   - {from: lb, to: web-1, kind: routes_to}
//! ```
//!
//! # Configuration
//!
//! A `config:` list turns query results into configuration keys of twins, with their
//! history, so drift checks and policies' `config` rules work on live twins:
//!
//! ```yaml
//! config:
//!   - query: pg_settings_max_connections     # a gauge: its value is the key's value
//!     key: max_connections
//!     twin_label: instance                   # or `twin: some-id`, as in `series`
//!     kind: database                         # when the twin has to be created (default service)
//!     tags: [postgres]
//!   - query: node_uname_info                 # an info metric: a label's value
//!     key: kernel
//!     from_label: release
//!     twin_label: instance
//! ```
//!
//! Fields: `query` (PromQL) and `key` (a key path: 1–128 letters, digits or `- _ : /`,
//! dotted segments such as `pool.max_connections`, none empty) are required; exactly
//! one of `twin_label` and `twin`; `from_label`, `kind` and `tags` are optional. The key
//! of a fixed twin can come from one entry only.
//!
//! Values are typed so that policies compare them as numbers where they are numbers:
//! - a sample value (no `from_label`) becomes an integer when it is integral and at
//!   most 2⁵³ in magnitude (`500.0` → `500`), else a float; NaN and infinities are
//!   skipped (the key keeps its value);
//! - a label value becomes `true`/`false` when it is exactly that, an integer when it
//!   is one written canonically (`15`, `-3`; not `015` or `+3`), and text otherwise.
//!   Label values are never read as floats: `10.10` is a version, not 10.1.
//!
//! How values become history is described in `io::prometheus` (module docs).
//!
//! An edge entry makes, for every series of the query that has the label, an edge of
//! `kind` (default `depends_on`) from the series' twin to the twin named by the label
//! value; that twin is created with `target_kind` (default `host` for `runs_on`, else
//! `service`) if nothing else declared it. Label values become twin ids with every
//! character outside `A-Z a-z 0-9 - _ . : /` replaced by `_` (at most 128 characters).
//! A static dependency is reported as soon as both of its twins exist. Secrets are
//! never in the mapping itself: it names the environment variable or file holding
//! them (a relative file is relative to the mapping file).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::auth::{AuthSource, SecretSource};
use crate::io::located::line_col_of_byte;
use crate::io::time::parse_duration;
use crate::io::{IoError, read_text};
use crate::model::ids::is_valid_name;
use crate::model::{EdgeKind, MetricName, TwinId, TwinKind};

/// Largest accepted number of series entries, static twins or dependencies in a mapping.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    step: Option<Spanned<DurationField>>,
    #[serde(default)]
    sync_interval: Option<Spanned<DurationField>>,
    #[serde(default)]
    settle: Option<Spanned<DurationField>>,
    #[serde(default)]
    auth: Option<Spanned<AuthFile>>,
    #[serde(default)]
    tls: Option<TlsFile>,
    #[serde(default)]
    series: Option<Spanned<Vec<SeriesFile>>>,
    #[serde(default)]
    config: Option<Spanned<Vec<ConfigFile>>>,
    #[serde(default)]
    twins: Vec<StaticTwinFile>,
    #[serde(default)]
    dependencies: Vec<StaticDependencyFile>,
}

/// A duration as `60s`/`1h30m`, or a bare number of seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DurationField {
    Secs(u64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFile {
    #[serde(rename = "type")]
    kind: Spanned<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    ca_file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesFile {
    query: Spanned<String>,
    metric: Spanned<String>,
    #[serde(default)]
    twin_label: Option<Spanned<String>>,
    #[serde(default)]
    twin: Option<Spanned<String>>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    edges: Vec<EdgeFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    query: Spanned<String>,
    key: Spanned<String>,
    #[serde(default)]
    twin_label: Option<Spanned<String>>,
    #[serde(default)]
    twin: Option<Spanned<String>>,
    #[serde(default)]
    from_label: Option<Spanned<String>>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EdgeFile {
    label: Spanned<String>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    target_kind: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StaticTwinFile {
    id: Spanned<String>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StaticDependencyFile {
    from: Spanned<String>,
    to: Spanned<String>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
}

/// How a series' twin id is found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TwinSelector {
    /// The value of this label (one twin per distinct value).
    Label(String),
    /// Always this twin (for queries that return one series).
    Fixed(TwinId),
}

/// A dependency derived from a label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelEdge {
    /// The label whose value names the twin depended on.
    pub label: String,
    /// Kind of the edge (from the series' twin to the label's twin).
    pub kind: EdgeKind,
    /// Kind of the label's twin when it has to be created.
    pub target_kind: TwinKind,
}

/// One query of a mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesMapping {
    /// PromQL.
    pub query: String,
    /// The metric its values become.
    pub metric: MetricName,
    /// Where the twin id comes from.
    pub twin: TwinSelector,
    /// Kind of the twins it creates.
    pub kind: TwinKind,
    /// Tags of the twins it creates.
    pub tags: Vec<String>,
    /// Dependencies derived from labels.
    pub edges: Vec<LabelEdge>,
}

/// Where a configuration value comes from in each series of a config query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// The sample value (a gauge such as `pg_settings_max_connections`).
    Value,
    /// The value of this label (an info metric such as `node_uname_info`).
    Label(String),
}

/// One `config:` entry: a query whose results become a configuration key of twins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigMapping {
    /// PromQL.
    pub query: String,
    /// The configuration key (a dotted key path).
    pub key: String,
    /// Where the twin id comes from.
    pub twin: TwinSelector,
    /// Where the value comes from.
    pub source: ConfigSource,
    /// Kind of the twins it creates.
    pub kind: TwinKind,
    /// Tags of the twins it creates.
    pub tags: Vec<String>,
}

/// A twin declared by the mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticTwin {
    /// Id.
    pub id: TwinId,
    /// Kind.
    pub kind: TwinKind,
    /// Tags.
    pub tags: Vec<String>,
}

/// A dependency declared by the mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticDependency {
    /// Dependent twin.
    pub from: TwinId,
    /// Twin depended on.
    pub to: TwinId,
    /// Kind.
    pub kind: EdgeKind,
}

/// A validated mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Query grid in seconds (≥ 1).
    pub step_secs: i64,
    /// Time between syncs.
    pub sync_interval: Duration,
    /// Newest grid point fetched is `now - settle_secs`.
    pub settle_secs: i64,
    /// Where the credentials are, if the server needs them.
    pub auth: Option<AuthSource>,
    /// An extra CA certificate file (PEM) to trust for https.
    pub ca_file: Option<PathBuf>,
    /// The queries, in file order.
    pub series: Vec<SeriesMapping>,
    /// The configuration queries, in file order.
    pub config: Vec<ConfigMapping>,
    /// Static twins.
    pub twins: Vec<StaticTwin>,
    /// Static dependencies.
    pub dependencies: Vec<StaticDependency>,
}

impl Mapping {
    /// A mapping with defaults and the given queries.
    pub fn with_series(series: Vec<SeriesMapping>) -> Self {
        Mapping {
            step_secs: 60,
            sync_interval: Duration::from_secs(30),
            settle_secs: 10,
            auth: None,
            ca_file: None,
            series,
            config: Vec::new(),
            twins: Vec::new(),
            dependencies: Vec::new(),
        }
    }

    /// Every query of the mapping (series first, then configuration), in the order the
    /// sync loop reads them.
    pub fn queries(&self) -> impl Iterator<Item = &str> {
        self.series.iter().map(|s| s.query.as_str()).chain(self.config.iter().map(|c| c.query.as_str()))
    }
}

/// Reads and validates a mapping file.
pub fn load(path: &Path) -> Result<Mapping, IoError> {
    let text = read_text(path, "mapping file")?;
    parse(path, &text)
}

/// Parses and validates mapping text; `path` names it in errors and anchors relative
/// secret and CA file paths.
pub fn parse(path: &Path, text: &str) -> Result<Mapping, IoError> {
    if text.trim().is_empty() {
        return Err(IoError::at(
            path,
            (1, 1),
            "the mapping file is empty; it needs at least `series: [...]` or `config: [...]`",
        ));
    }
    let file: MappingFile = serde_saphyr::from_str(text).map_err(|e| yaml_error(path, text, &e))?;
    let base = path.parent().unwrap_or(Path::new(""));
    let at = |loc: &serde_saphyr::Location, message: String| {
        IoError::at(path, (loc.line() as usize, loc.column() as usize), message)
    };
    let duration = |field: &Option<Spanned<DurationField>>,
                    name: &str,
                    default: Duration,
                    min_ms: u128|
     -> Result<Duration, IoError> {
        let Some(spanned) = field else {
            return Ok(default);
        };
        let d = match &spanned.value {
            DurationField::Secs(s) => Duration::from_secs(*s),
            DurationField::Text(t) => parse_duration(t).map_err(|m| at(&spanned.referenced, format!("{name}: {m}")))?,
        };
        if d.as_millis() < min_ms || d > Duration::from_secs(366 * 86_400) {
            return Err(at(
                &spanned.referenced,
                format!("{name} must be between {min_ms} ms and 366 days, not {}", crate::io::time::format_duration(d)),
            ));
        }
        Ok(d)
    };
    let step = duration(&file.step, "step", Duration::from_secs(60), 1000)?;
    if let Some(s) = &file.step
        && step.subsec_millis() != 0
    {
        return Err(at(&s.referenced, "step must be whole seconds".into()));
    }
    let sync_interval = duration(&file.sync_interval, "sync_interval", Duration::from_secs(30), 100)?;
    let settle = duration(&file.settle, "settle", Duration::from_secs(10), 0)?;

    let auth = match &file.auth {
        None => None,
        Some(a) => Some(auth(path, base, a)?),
    };
    let ca_file = file.tls.as_ref().map(|t| base.join(&t.ca_file));

    let series_files: &[SeriesFile] = file.series.as_ref().map_or(&[], |s| &s.value);
    let config_files: &[ConfigFile] = file.config.as_ref().map_or(&[], |c| &c.value);
    if series_files.is_empty() && config_files.is_empty() {
        return Err(match (&file.series, &file.config) {
            (Some(s), _) => at(&s.referenced, "`series` is empty: name at least one query".into()),
            (None, Some(c)) => at(&c.referenced, "`config` is empty: name at least one query".into()),
            (None, None) => IoError::at(
                path,
                (1, 1),
                "the mapping names no query: it needs `series: [...]` (metrics) or `config: [...]` (configuration)",
            ),
        });
    }
    let too_many = [series_files.len(), config_files.len(), file.twins.len(), file.dependencies.len()];
    if too_many.iter().any(|n| *n > MAX_ENTRIES) {
        return Err(IoError::invalid(path, format!("a mapping holds at most {MAX_ENTRIES} entries of each list")));
    }
    let mut series = Vec::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for s in series_files {
        let query = s.query.value.trim();
        if query.is_empty() {
            return Err(at(&s.query.referenced, "query is empty".into()));
        }
        let metric = &s.metric.value;
        if !is_valid_name(metric) {
            return Err(at(
                &s.metric.referenced,
                format!("metric name {metric:?} must be 1–128 letters, digits or - _ . : /"),
            ));
        }
        let twin = match (&s.twin_label, &s.twin) {
            (Some(label), None) => {
                if !is_label_name(&label.value) {
                    return Err(at(
                        &label.referenced,
                        format!("twin_label {:?} is not a Prometheus label name", label.value),
                    ));
                }
                TwinSelector::Label(label.value.clone())
            }
            (None, Some(id)) => {
                if !is_valid_name(&id.value) {
                    return Err(at(
                        &id.referenced,
                        format!("twin id {:?} must be 1–128 letters, digits or - _ . : /", id.value),
                    ));
                }
                TwinSelector::Fixed(TwinId::new(&id.value))
            }
            (Some(_), Some(id)) => {
                return Err(at(&id.referenced, "give either twin_label or twin, not both".into()));
            }
            (None, None) => {
                return Err(at(
                    &s.query.referenced,
                    "this series needs twin_label (a label whose values name twins) or twin (a fixed twin id)".into(),
                ));
            }
        };
        let twin_key = match &twin {
            TwinSelector::Label(l) => format!("label {l}"),
            TwinSelector::Fixed(id) => format!("twin {id}"),
        };
        if !seen.insert((metric.clone(), twin_key)) && matches!(twin, TwinSelector::Fixed(_)) {
            return Err(at(&s.metric.referenced, format!("metric {metric:?} of this twin is mapped twice")));
        }
        let kind = match &s.kind {
            None => TwinKind::Service,
            Some(k) => parse_kind(&k.value).map_err(|m| at(&k.referenced, m))?,
        };
        let mut edges = Vec::new();
        for e in &s.edges {
            if !is_label_name(&e.label.value) {
                return Err(at(&e.label.referenced, format!("{:?} is not a Prometheus label name", e.label.value)));
            }
            let kind = match &e.kind {
                None => EdgeKind::DependsOn,
                Some(k) => parse_edge_kind(&k.value).map_err(|m| at(&k.referenced, m))?,
            };
            let target_kind = match &e.target_kind {
                None if kind == EdgeKind::RunsOn => TwinKind::Host,
                None => TwinKind::Service,
                Some(k) => parse_kind(&k.value).map_err(|m| at(&k.referenced, m))?,
            };
            edges.push(LabelEdge { label: e.label.value.clone(), kind, target_kind });
        }
        series.push(SeriesMapping {
            query: query.to_string(),
            metric: MetricName::new(metric),
            twin,
            kind,
            tags: s.tags.clone(),
            edges,
        });
    }
    let mut config = Vec::new();
    let mut seen_config: BTreeSet<(String, TwinId)> = BTreeSet::new();
    for (i, c) in config_files.iter().enumerate() {
        let entry = config_entry(c, i, &at)?;
        if let TwinSelector::Fixed(id) = &entry.twin
            && !seen_config.insert((entry.key.clone(), id.clone()))
        {
            return Err(at(
                &c.key.referenced,
                format!("config[{i}].key: key {:?} of twin {id} is already mapped by an earlier entry", entry.key),
            ));
        }
        config.push(entry);
    }
    let mut twins = Vec::new();
    let mut twin_ids = BTreeSet::new();
    for t in &file.twins {
        if !is_valid_name(&t.id.value) {
            return Err(at(
                &t.id.referenced,
                format!("twin id {:?} must be 1–128 letters, digits or - _ . : /", t.id.value),
            ));
        }
        if !twin_ids.insert(t.id.value.clone()) {
            return Err(at(&t.id.referenced, format!("duplicate twin id {:?}", t.id.value)));
        }
        let kind = match &t.kind {
            None => TwinKind::Service,
            Some(k) => parse_kind(&k.value).map_err(|m| at(&k.referenced, m))?,
        };
        twins.push(StaticTwin { id: TwinId::new(&t.id.value), kind, tags: t.tags.clone() });
    }
    let mut dependencies = Vec::new();
    for d in &file.dependencies {
        for end in [&d.from, &d.to] {
            if !is_valid_name(&end.value) {
                return Err(at(
                    &end.referenced,
                    format!("twin id {:?} must be 1–128 letters, digits or - _ . : /", end.value),
                ));
            }
        }
        if d.from.value == d.to.value {
            return Err(at(&d.to.referenced, format!("twin {:?} cannot depend on itself", d.from.value)));
        }
        let kind = match &d.kind {
            None => EdgeKind::DependsOn,
            Some(k) => parse_edge_kind(&k.value).map_err(|m| at(&k.referenced, m))?,
        };
        dependencies.push(StaticDependency { from: TwinId::new(&d.from.value), to: TwinId::new(&d.to.value), kind });
    }
    Ok(Mapping {
        step_secs: i64::try_from(step.as_secs()).unwrap_or(60),
        sync_interval,
        settle_secs: i64::try_from(settle.as_secs()).unwrap_or(0),
        auth,
        ca_file,
        series,
        config,
        twins,
        dependencies,
    })
}

/// Validates one `config:` entry; messages name the field as `config[i].field`.
fn config_entry(
    c: &ConfigFile,
    i: usize,
    at: &impl Fn(&serde_saphyr::Location, String) -> IoError,
) -> Result<ConfigMapping, IoError> {
    let field = |name: &str| format!("config[{i}].{name}");
    let query = c.query.value.trim();
    if query.is_empty() {
        return Err(at(&c.query.referenced, format!("{}: the query is empty", field("query"))));
    }
    let key = c.key.value.trim();
    if key.is_empty() {
        return Err(at(&c.key.referenced, format!("{}: the configuration key is empty", field("key"))));
    }
    if !is_key_path(key) {
        return Err(at(
            &c.key.referenced,
            format!(
                "{}: {key:?} is not a key path (1–128 letters, digits or - _ : /, in dotted segments                  such as pool.max_connections)",
                field("key")
            ),
        ));
    }
    let twin = match (&c.twin_label, &c.twin) {
        (Some(label), None) => {
            if !is_label_name(&label.value) {
                return Err(at(
                    &label.referenced,
                    format!("{}: {:?} is not a Prometheus label name", field("twin_label"), label.value),
                ));
            }
            TwinSelector::Label(label.value.clone())
        }
        (None, Some(id)) => {
            if !is_valid_name(&id.value) {
                return Err(at(
                    &id.referenced,
                    format!("{}: twin id {:?} must be 1–128 letters, digits or - _ . : /", field("twin"), id.value),
                ));
            }
            TwinSelector::Fixed(TwinId::new(&id.value))
        }
        (Some(_), Some(id)) => {
            return Err(at(&id.referenced, format!("{}: give either twin_label or twin, not both", field("twin"))));
        }
        (None, None) => {
            return Err(at(
                &c.key.referenced,
                format!(
                    "{}: this entry needs twin_label (a label whose values name twins) or twin (a fixed twin id)",
                    field("twin_label")
                ),
            ));
        }
    };
    let source = match &c.from_label {
        None => ConfigSource::Value,
        Some(label) if is_label_name(&label.value) => ConfigSource::Label(label.value.clone()),
        Some(label) => {
            return Err(at(
                &label.referenced,
                format!("{}: {:?} is not a Prometheus label name", field("from_label"), label.value),
            ));
        }
    };
    let kind = match &c.kind {
        None => TwinKind::Service,
        Some(k) => parse_kind(&k.value).map_err(|m| at(&k.referenced, format!("{}: {m}", field("kind"))))?,
    };
    Ok(ConfigMapping { query: query.to_string(), key: key.to_string(), twin, source, kind, tags: c.tags.clone() })
}

/// A configuration key path: a valid name (1–128 letters, digits or `- _ . : /`) whose
/// dot-separated segments are all non-empty.
pub fn is_key_path(key: &str) -> bool {
    is_valid_name(key) && key.split('.').all(|segment| !segment.is_empty())
}

fn auth(path: &Path, base: &Path, a: &Spanned<AuthFile>) -> Result<AuthSource, IoError> {
    let loc = &a.referenced;
    let at = |message: &str| IoError::at(path, (loc.line() as usize, loc.column() as usize), message);
    let source = match (&a.value.env, &a.value.file) {
        (Some(var), None) if !var.trim().is_empty() => SecretSource::Env(var.trim().to_string()),
        (None, Some(file)) if !file.trim().is_empty() => SecretSource::File(base.join(file.trim())),
        (Some(_), Some(_)) => return Err(at("auth: give either env or file, not both")),
        _ => {
            return Err(at(
                "auth needs `env: VARIABLE` or `file: PATH` naming where the secret is (never the secret itself)",
            ));
        }
    };
    let kind = &a.value.kind;
    match (kind.value.as_str(), &a.value.user) {
        ("bearer", None) => Ok(AuthSource::Bearer(source)),
        ("bearer", Some(_)) => Err(at("auth: `user` belongs to type basic; a bearer token has no user")),
        ("basic", Some(user)) if !user.is_empty() && !user.contains(':') => {
            Ok(AuthSource::Basic { user: user.clone(), password: source })
        }
        ("basic", _) => {
            Err(at("auth type basic needs `user: NAME` (without `:`); the password comes from env or file"))
        }
        (other, _) => Err(IoError::at(
            path,
            (kind.referenced.line() as usize, kind.referenced.column() as usize),
            format!("unknown auth type {other:?} (expected bearer or basic)"),
        )),
    }
}

/// Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn parse_kind(name: &str) -> Result<TwinKind, String> {
    crate::io::format::parse_kind(name)
}

fn parse_edge_kind(name: &str) -> Result<EdgeKind, String> {
    EdgeKind::ALL.into_iter().find(|k| k.as_str() == name).ok_or_else(|| {
        format!("unknown dependency kind {name:?} (expected depends_on, runs_on, routes_to or replicates_to)")
    })
}

/// A YAML error as `file:line:col: message` on one line.
fn yaml_error(path: &Path, text: &str, e: &serde_saphyr::Error) -> IoError {
    let plain = e.without_snippet();
    let (line, col) = match plain.location() {
        Some(loc) if loc.line() > 0 => (loc.line() as usize, loc.column().max(1) as usize),
        _ => line_col_of_byte(text, 0),
    };
    let mut message = plain.to_string();
    // The library appends " at line L column C"; the position is already in front.
    for suffix in [format!(" at line {line}, column {col}"), format!(" at line {line} column {col}")] {
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
    }
    let message = message.lines().next().unwrap_or("invalid YAML").trim().to_string();
    IoError::at(path, (line, col), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Mapping, String> {
        parse(Path::new("m.yaml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn the_minimal_form_loads_as_written() {
        let m =
            parse_str("series: [{query: 'twin_cpu_usage', metric: cpu_usage, twin_label: instance, kind: database}]")
                .unwrap();
        assert_eq!(m.series.len(), 1);
        let s = &m.series[0];
        assert_eq!(s.query, "twin_cpu_usage");
        assert_eq!(s.metric.as_str(), "cpu_usage");
        assert_eq!(s.twin, TwinSelector::Label("instance".into()));
        assert_eq!(s.kind, TwinKind::Database);
        assert_eq!((m.step_secs, m.settle_secs), (60, 10));
        assert_eq!(m.auth, None);
    }

    #[test]
    fn the_full_form_loads() {
        let m = parse_str(
            "step: 15s\nsync_interval: 5\nsettle: 0s\nauth: {type: basic, user: bob, file: pw.txt}\n\
             series:\n  - query: up\n    metric: request_rate\n    twin_label: job\n    tags: [a]\n    \
             edges: [{label: node, kind: runs_on}]\n\
             twins: [{id: lb, kind: load_balancer}]\ndependencies: [{from: lb, to: web, kind: routes_to}]\n",
        )
        .unwrap();
        assert_eq!(m.step_secs, 15);
        assert_eq!(m.sync_interval, Duration::from_secs(5));
        assert_eq!(m.settle_secs, 0);
        assert_eq!(
            m.auth,
            Some(AuthSource::Basic { user: "bob".into(), password: SecretSource::File(PathBuf::from("pw.txt")) })
        );
        assert_eq!(
            m.series[0].edges,
            vec![LabelEdge { label: "node".into(), kind: EdgeKind::RunsOn, target_kind: TwinKind::Host }]
        );
        assert_eq!(m.twins[0].kind, TwinKind::LoadBalancer);
        assert_eq!(m.dependencies[0].kind, EdgeKind::RoutesTo);
    }

    #[test]
    fn errors_point_at_the_value() {
        let cases = [
            ("series: [{query: up, metric: cpu_usage, twin_label: instance, kind: databse}]", "m.yaml:1:", "databse"),
            (
                "series:\n  - query: up\n    metric: 'cpu usage'\n    twin_label: instance\n",
                "m.yaml:3:13:",
                "metric name",
            ),
            ("series:\n  - {query: '', metric: m, twin: a}\n", "m.yaml:2:", "query is empty"),
            ("series:\n  - {query: up, metric: m}\n", "m.yaml:2:", "twin_label"),
            ("step: 1.5x\nseries: [{query: up, metric: m, twin: a}]\n", "m.yaml:1:7:", "duration"),
            ("step: 1.5s\nseries: [{query: up, metric: m, twin: a}]\n", "m.yaml:1:7:", "step must be whole seconds"),
            ("step: 500ms\nseries: [{query: up, metric: m, twin: a}]\n", "m.yaml:1:7:", "step must be"),
            ("series: [{query: up, metric: m, twin: a, colour: red}]\n", "m.yaml:1:", "colour"),
            ("series: []\n", "m.yaml:1:", "empty"),
            ("", "m.yaml:1:1:", "empty"),
            ("series: [{query: up\n", "m.yaml:", ""),
            ("auth: {type: bearer}\nseries: [{query: up, metric: m, twin: a}]\n", "m.yaml:1:", "env"),
            ("auth: {type: oauth, env: X}\nseries: [{query: up, metric: m, twin: a}]\n", "m.yaml:1:", "oauth"),
            ("series: [{query: up, metric: m, twin_label: 'in-stance'}]\n", "m.yaml:1:", "label name"),
            ("series: [{query: up, metric: m, twin: a}]\ndependencies: [{from: a, to: a}]\n", "m.yaml:2:", "itself"),
        ];
        for (text, at, needle) in cases {
            let e = parse_str(text).unwrap_err();
            assert!(e.starts_with(at) && e.contains(needle), "{text:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn config_entries_load() {
        let m = parse_str(
            "series: [{query: up, metric: cpu_usage, twin_label: instance}]\n\
             config:\n  - {query: pg_settings_max_connections, key: max_connections, twin_label: instance, kind: database}\n  \
             - query: node_uname_info\n    key: os.kernel\n    from_label: release\n    twin: host-1\n    tags: [linux]\n",
        )
        .unwrap();
        assert_eq!(
            m.config,
            vec![
                ConfigMapping {
                    query: "pg_settings_max_connections".into(),
                    key: "max_connections".into(),
                    twin: TwinSelector::Label("instance".into()),
                    source: ConfigSource::Value,
                    kind: TwinKind::Database,
                    tags: Vec::new(),
                },
                ConfigMapping {
                    query: "node_uname_info".into(),
                    key: "os.kernel".into(),
                    twin: TwinSelector::Fixed(TwinId::new("host-1")),
                    source: ConfigSource::Label("release".into()),
                    kind: TwinKind::Service,
                    tags: vec!["linux".into()],
                },
            ]
        );
        assert_eq!(m.queries().collect::<Vec<_>>(), ["up", "pg_settings_max_connections", "node_uname_info"]);
        // Configuration alone is a mapping too.
        let m = parse_str("config: [{query: x, key: k, twin: a}]").unwrap();
        assert!(m.series.is_empty() && m.config.len() == 1);
    }

    #[test]
    fn config_errors_name_the_field_at_its_place() {
        let series = "series: [{query: up, metric: m, twin: a}]\n";
        let cases = [
            (
                "config:\n  - {query: x, key: '', twin: a}\n",
                "m.yaml:2:",
                "config[0].key: the configuration key is empty",
            ),
            ("config:\n  - {query: '  ', key: k, twin: a}\n", "m.yaml:2:", "config[0].query: the query is empty"),
            (
                "config:\n  - {query: x, key: 'a..b', twin: a}\n",
                "m.yaml:2:",
                "config[0].key: \"a..b\" is not a key path",
            ),
            ("config:\n  - {query: x, key: 'max conn', twin: a}\n", "m.yaml:2:", "not a key path"),
            ("config:\n  - {query: x, key: k}\n", "m.yaml:2:", "config[0].twin_label: this entry needs"),
            ("config:\n  - {query: x, key: k, twin: a, twin_label: b}\n", "m.yaml:2:", "either twin_label or twin"),
            (
                "config:\n  - {query: x, key: k, twin: a}\n  - query: y\n    key: k\n    twin_label: 'in stance'\n",
                "m.yaml:5:17:",
                "config[1].twin_label",
            ),
            ("config:\n  - {query: x, key: k, twin: a, from_label: 'a-b'}\n", "m.yaml:2:", "config[0].from_label"),
            (
                "config:\n  - {query: x, key: k, twin: a, kind: databse}\n",
                "m.yaml:2:",
                "config[0].kind: unknown twin kind",
            ),
            ("config:\n  - {query: x, key: k, twin: a, value_label: v}\n", "m.yaml:2:", "value_label"),
            ("config:\n  - {key: k, twin: a}\n", "m.yaml:2:", "query"),
            ("config:\n  - {query: x, twin: a}\n", "m.yaml:2:", "key"),
            (
                "config:\n  - {query: x, key: k, twin: a}\n  - {query: y, key: k, twin: a}\n",
                "m.yaml:3:",
                "already mapped",
            ),
            ("config: []\n", "m.yaml:1:", "`config` is empty"),
            ("config: {query: x}\n", "m.yaml:1:", ""),
            ("twins: [{id: a}]\n", "m.yaml:1:1:", "names no query"),
        ];
        for (text, at, needle) in cases {
            // The same with a series list in front: one line further down.
            for (prefix, shift) in [("", 0), (series, 1)] {
                if text.starts_with("config: []") && shift == 1 {
                    continue; // with a series the empty config list is fine
                }
                if text.starts_with("twins") && shift == 1 {
                    continue;
                }
                let at = match at.strip_prefix("m.yaml:").and_then(|r| r.split_once(':')) {
                    Some((line, rest)) => format!("m.yaml:{}:{rest}", line.parse::<usize>().unwrap() + shift),
                    None => at.to_string(),
                };
                let e = parse_str(&format!("{prefix}{text}")).unwrap_err();
                assert!(e.starts_with(&at) && e.contains(needle), "{text:?} (+{shift}): {e}");
                assert_eq!(e.lines().count(), 1, "{e}");
            }
        }
        assert!(parse_str(&format!("{series}config: []\n")).is_ok());
    }

    #[test]
    fn key_paths_are_dotted_names() {
        assert!(is_key_path("max_connections") && is_key_path("pool.max_connections") && is_key_path("a:b/c-d"));
        assert!(!is_key_path("") && !is_key_path(".a") && !is_key_path("a.") && !is_key_path("a..b"));
        assert!(!is_key_path("a b") && !is_key_path(&"k".repeat(129)));
    }

    #[test]
    fn the_shipped_example_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mappings/node_exporter.yaml");
        let m = load(&path).unwrap();
        let metrics: Vec<&str> = m.series.iter().map(|s| s.metric.as_str()).collect();
        assert_eq!(metrics, ["cpu_usage", "memory_usage", "network_io", "disk_usage"]);
        assert!(m.series.iter().all(|s| s.kind == TwinKind::Host && s.twin == TwinSelector::Label("instance".into())));
        assert_eq!(m.settle_secs, 15);
        let keys: Vec<&str> = m.config.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["kernel", "arch", "os", "cpu_count", "memory_gib"]);
        assert_eq!(m.config[0].source, ConfigSource::Label("release".into()));
        assert_eq!(m.config[3].source, ConfigSource::Value);
    }

    #[test]
    fn label_names_follow_prometheus() {
        assert!(is_label_name("instance") && is_label_name("_x1"));
        assert!(!is_label_name("1x") && !is_label_name("a-b") && !is_label_name(""));
    }
}
