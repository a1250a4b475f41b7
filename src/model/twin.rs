//! A twin: the digital replica of one resource (host, service, database, …) with its
//! kind, status, tags, typed configuration, capacity and configuration history.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::{TwinId, UnixSecs};

/// What a twin replicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TwinKind {
    /// A physical or virtual machine that runs workloads.
    Host,
    /// A virtual machine.
    Vm,
    /// A container.
    Container,
    /// An application service (web tier, API, worker).
    Service,
    /// A database.
    Database,
    /// A cache (Redis, memcached).
    Cache,
    /// A message queue.
    Queue,
    /// A load balancer.
    LoadBalancer,
    /// A network link.
    Link,
    /// An operating-system process (live local-host twins).
    Process,
}

impl TwinKind {
    /// Every kind, in display order.
    pub const ALL: [TwinKind; 10] = [
        TwinKind::LoadBalancer,
        TwinKind::Service,
        TwinKind::Database,
        TwinKind::Cache,
        TwinKind::Queue,
        TwinKind::Host,
        TwinKind::Vm,
        TwinKind::Container,
        TwinKind::Link,
        TwinKind::Process,
    ];

    /// The snake_case name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            TwinKind::Host => "host",
            TwinKind::Vm => "vm",
            TwinKind::Container => "container",
            TwinKind::Service => "service",
            TwinKind::Database => "database",
            TwinKind::Cache => "cache",
            TwinKind::Queue => "queue",
            TwinKind::LoadBalancer => "load_balancer",
            TwinKind::Link => "link",
            TwinKind::Process => "process",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(name: &str) -> Option<TwinKind> {
        TwinKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for TwinKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Health of a twin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Status {
    /// Working within its thresholds.
    Healthy,
    /// Working, but at least one metric is outside its thresholds.
    Degraded,
    /// Not serving.
    Down,
    /// No information.
    #[default]
    Unknown,
}

impl Status {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Degraded => "degraded",
            Status::Down => "down",
            Status::Unknown => "unknown",
        }
    }

    /// How bad the status is, for combining: the worse of two statuses wins.
    pub fn severity(self) -> u8 {
        match self {
            Status::Healthy => 0,
            Status::Unknown => 1,
            Status::Degraded => 2,
            Status::Down => 3,
        }
    }

    /// The worse of two statuses.
    pub fn worst(self, other: Status) -> Status {
        if other.severity() > self.severity() { other } else { self }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed configuration value.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigValue {
    /// Text.
    Str(String),
    /// Whole number.
    Int(i64),
    /// Real number.
    Float(f64),
    /// Flag.
    Bool(bool),
    /// List of values.
    List(Vec<ConfigValue>),
}

impl ConfigValue {
    /// A value typed by a person (command line, a text field): `true`/`false`, an
    /// integer, a finite float, or else text (surrounding quotes dropped).
    pub fn from_text(text: &str) -> ConfigValue {
        let t = text.trim();
        if let Ok(b) = t.parse::<bool>() {
            ConfigValue::Bool(b)
        } else if let Ok(i) = t.parse::<i64>() {
            ConfigValue::Int(i)
        } else if let Some(f) = t.parse::<f64>().ok().filter(|f| f.is_finite()) {
            ConfigValue::Float(f)
        } else {
            ConfigValue::Str(t.trim_matches('"').to_string())
        }
    }

    /// The value as a number, when it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ConfigValue::Int(i) => Some(*i as f64),
            ConfigValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            ConfigValue::Str(_) => "string",
            ConfigValue::Int(_) => "int",
            ConfigValue::Float(_) => "float",
            ConfigValue::Bool(_) => "bool",
            ConfigValue::List(_) => "list",
        }
    }
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Str(s) => write!(f, "{s:?}"),
            ConfigValue::Int(i) => write!(f, "{i}"),
            ConfigValue::Float(x) => write!(f, "{x:?}"),
            ConfigValue::Bool(b) => write!(f, "{b}"),
            ConfigValue::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A twin's configuration: dotted key paths (`pool.max_connections`) to values.
pub type Config = BTreeMap<String, ConfigValue>;

/// What a twin can take. Absent fields do not apply to the twin's kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capacity {
    /// CPU cores.
    pub cpu_cores: Option<f64>,
    /// Memory in GiB.
    pub memory_gib: Option<f64>,
    /// Disk in GiB.
    pub disk_gib: Option<f64>,
    /// Horizontal replicas.
    pub replicas: Option<u32>,
    /// Network bandwidth in Mbit/s.
    pub network_mbps: Option<f64>,
}

impl Capacity {
    /// The capacity as (label, value, unit) rows, skipping absent fields.
    pub fn rows(&self) -> Vec<(&'static str, f64, &'static str)> {
        let mut rows = Vec::new();
        let fields = [
            ("cpu", self.cpu_cores, "cores"),
            ("memory", self.memory_gib, "GiB"),
            ("disk", self.disk_gib, "GiB"),
            ("replicas", self.replicas.map(f64::from), ""),
            ("network", self.network_mbps, "Mbit/s"),
        ];
        for (label, value, unit) in fields {
            if let Some(value) = value {
                rows.push((label, value, unit));
            }
        }
        rows
    }
}

/// One recorded change of a configuration key: the twin's configuration history, from
/// which drift start times are derived.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigChange {
    /// When the change happened.
    pub at: UnixSecs,
    /// Key path that changed.
    pub key: String,
    /// Value before the change (`None`: the key was absent).
    pub before: Option<ConfigValue>,
    /// Value after the change (`None`: the key was removed).
    pub after: Option<ConfigValue>,
}

/// The digital replica of one resource.
#[derive(Clone, Debug, PartialEq)]
pub struct Twin {
    /// Unique id.
    pub id: TwinId,
    /// Display name; defaults to the id.
    pub name: String,
    /// What it replicates.
    pub kind: TwinKind,
    /// Current declared status; the health shown at a point of history is derived from
    /// `status_history` and the metrics (see [`Twin::status_at`]).
    pub status: Status,
    /// Free-form tags for selectors (`prod`, `tier:web`).
    pub tags: BTreeSet<String>,
    /// Configuration as it is now (after every change in `config_history`).
    pub config: Config,
    /// What it can take.
    pub capacity: Capacity,
    /// Configuration changes in time order.
    pub config_history: Vec<ConfigChange>,
    /// Status changes in time order (outages and recoveries recorded in history).
    pub status_history: Vec<(UnixSecs, Status)>,
}

impl Twin {
    /// A healthy twin with no tags, configuration or capacity.
    pub fn new(id: impl Into<TwinId>, kind: TwinKind) -> Self {
        let id = id.into();
        Self {
            name: id.to_string(),
            id,
            kind,
            status: Status::Healthy,
            tags: BTreeSet::new(),
            config: Config::new(),
            capacity: Capacity::default(),
            config_history: Vec::new(),
            status_history: Vec::new(),
        }
    }

    /// The recorded status at time `at`: the last status change at or before it, or the
    /// twin's status when history records no change before `at`.
    pub fn status_at(&self, at: UnixSecs) -> Status {
        let before = self.status_history.partition_point(|(t, _)| *t <= at);
        match before {
            0 => self.status_history.first().map_or(self.status, |_| Status::Healthy),
            n => self.status_history[n - 1].1,
        }
    }

    /// The configuration as it was at time `at`, rebuilt by undoing later changes.
    pub fn config_at(&self, at: UnixSecs) -> Config {
        let mut config = self.config.clone();
        for change in self.config_history.iter().rev().take_while(|c| c.at > at) {
            match &change.before {
                Some(value) => {
                    config.insert(change.key.clone(), value.clone());
                }
                None => {
                    config.remove(&change.key);
                }
            }
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_take_the_narrowest_type() {
        assert_eq!(ConfigValue::from_text(" true "), ConfigValue::Bool(true));
        assert_eq!(ConfigValue::from_text("128"), ConfigValue::Int(128));
        assert_eq!(ConfigValue::from_text("0.25"), ConfigValue::Float(0.25));
        assert_eq!(ConfigValue::from_text("NaN"), ConfigValue::Str("NaN".into()));
        assert_eq!(ConfigValue::from_text("\"allkeys-lru\""), ConfigValue::Str("allkeys-lru".into()));
    }

    #[test]
    fn config_at_undoes_later_changes() {
        let mut twin = Twin::new("db", TwinKind::Database);
        twin.config.insert("max_connections".into(), ConfigValue::Int(200));
        twin.config_history.push(ConfigChange {
            at: 100,
            key: "max_connections".into(),
            before: Some(ConfigValue::Int(500)),
            after: Some(ConfigValue::Int(200)),
        });
        assert_eq!(twin.config_at(99)["max_connections"], ConfigValue::Int(500));
        assert_eq!(twin.config_at(100)["max_connections"], ConfigValue::Int(200));
    }

    #[test]
    fn status_at_follows_history() {
        let mut twin = Twin::new("db", TwinKind::Database);
        twin.status_history = vec![(10, Status::Down), (20, Status::Healthy)];
        assert_eq!(twin.status_at(5), Status::Healthy);
        assert_eq!(twin.status_at(10), Status::Down);
        assert_eq!(twin.status_at(25), Status::Healthy);
    }
}
