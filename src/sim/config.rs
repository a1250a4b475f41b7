//! What configuration keys do in the simulation: one table ([`MODELLED`]) of every key
//! the engine models and its effect, the effects of a twin's configuration
//! ([`ConfigEffects`]), and the check a what-if runs on a change ([`check_change`]): an
//! unknown twin or key is an error, a key without a modelled effect a warning.
//!
//! Every effect is relative to the configuration the world started with, so an
//! unchanged world continues its workload models exactly.
//!
//! | keys | modelled effect |
//! |---|---|
//! | `log_level` | CPU demand ×1.10 at `debug`, ×1.25 at `trace` |
//! | `replicas` | instances: the CPU per instance divides as with `scale_out` |
//! | `max_connections`, `maxclients`, `max_conns`, `max_client_conn` | connection limit of a server: connections wanted beyond it are refused, and the twin fails that share of requests, `max(0, 1 − L/D)` (its callers see the errors). Wanted connections `D`: the sum of its callers' pools (their idle floor, `pool.min_idle`, when declared) × their replicas when they declare pools, else concurrency by Little's law (request rate × latency), else half the limit at the start; the part not from pools follows traffic and slowdown |
//! | `pool.max_connections`, `pool_size`, `pool.size`, `pool.max_size`, `max_pool_size`, `threads`, `workers`, `worker_processes`, `concurrency`, `max_threads`, `max_workers` | worker or connection pool of `c` slots: requests queue for a slot, latency × `1 + W(u) − W(u₀)` with Sakasegawa's M/M/c wait `W(u) = u^√(2(c+1)) / (c·(1 − u))` (negligible until the pool is nearly busy), and beyond it the share `1 − 1/u` fails; `u` = concurrency / `c`, concurrency from Little's law (or half the pool at the start), following traffic and slowdown |
//! | `maxmemory_mb`, `maxmemory` (bytes), `cache_size_mb`, `shared_buffers_mb` | cache size: hit rate `1 − m`, misses `m = m₀·√(size₀/size)` (capped at 1; `m₀` from `hit_ratio` or 0.1); a cache's callers send the misses to their databases, whose traffic from them scales by `(1 − s + s·m)/(1 − s + s·m₀)` (`s` the caller's share to the cache); and with eviction, memory is capped at the size |
//! | `eviction`, `maxmemory-policy` | anything but `noeviction` caps memory at `maxmemory_mb` (else at 100%); `noeviction` lets it grow to out-of-memory |
//! | `timeout_ms`, `timeout_s`, `request_timeout_ms` | how long a call to an unreachable dependency waits; and errors against latency: a changed timeout `T` fails `exp(−T/L) − exp(−T₀/L)` more requests (latency `L` taken as exponential) |
//! | `hit_ratio` | the cache's hit ratio at the start (for the cache size above) |
//! | `pool.min_idle`, `pool.minimum_idle`, `pool.min_size`, `min_pool_size` | the connections a lazily grown pool holds (what its servers' connection limits count; without it a pool is taken as kept full) |
//!
//! Every other key has no modelled effect: changing it changes nothing in the
//! simulation, and a what-if says so.

use std::collections::BTreeMap;

use super::world::Caps;
use crate::model::{ConfigValue, Twin};

/// Keys of a server's connection limit.
pub const CONNECTION_KEYS: &[&str] = &["max_connections", "maxclients", "max_conns", "max_client_conn"];
/// Keys of worker or connection pool sizes.
pub const SLOT_KEYS: &[&str] = &[
    "pool.max_connections",
    "pool_size",
    "pool.size",
    "pool.max_size",
    "max_pool_size",
    "threads",
    "workers",
    "worker_processes",
    "concurrency",
    "max_threads",
    "max_workers",
];
/// Keys of client pools (a subset of [`SLOT_KEYS`]): connections a caller holds to
/// the servers it calls.
pub const POOL_KEYS: &[&str] = &["pool.max_connections", "pool_size", "pool.size", "pool.max_size", "max_pool_size"];

/// The keys the engine models, with their effect (the table above).
pub const MODELLED: &[(&[&str], &str)] = &[
    (&["log_level"], "CPU demand ×1.10 at debug, ×1.25 at trace"),
    (&["replicas"], "instances: CPU per instance divides as with scale_out"),
    (CONNECTION_KEYS, "connection limit: connections wanted beyond it are refused (errors)"),
    (SLOT_KEYS, "worker or connection pool: requests queue near its size (latency) and fail beyond it"),
    (
        &["maxmemory_mb", "maxmemory", "cache_size_mb", "shared_buffers_mb"],
        "cache size: hit rate, the backend load of its callers' misses, and the memory cap under eviction",
    ),
    (&["eviction", "maxmemory-policy"], "memory capped at maxmemory under eviction, else growing to out-of-memory"),
    (
        &["timeout_ms", "timeout_s", "request_timeout_ms"],
        "wait on an unreachable dependency, and requests slower than the timeout fail",
    ),
    (&["hit_ratio"], "a cache's hit ratio at the start"),
    (POOL_IDLE_KEYS, "connections a lazily grown pool holds when idle (what its servers' limits count)"),
];

/// The modelled effect of a configuration key, if the engine models it.
pub fn modelled_effect(key: &str) -> Option<&'static str> {
    MODELLED.iter().find(|(keys, _)| keys.contains(&key)).map(|(_, effect)| *effect)
}

/// The miss ratio of a cache at the start when it does not say (`hit_ratio`).
pub const DEFAULT_MISS_RATIO: f64 = 0.1;

/// The modelled effects of a twin's configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ConfigEffects {
    /// CPU demand multiplier (log level, and per-instance share of `replicas`).
    pub cpu_factor: f64,
    /// Memory ceiling in percent when the twin evicts (`eviction` other than
    /// `noeviction`, capped at `maxmemory_mb` of the memory capacity); infinite otherwise.
    pub memory_cap: f64,
    /// How long a call to an unreachable dependency waits, in ms; also the limit past
    /// which requests fail.
    pub timeout_ms: f64,
    /// Server connection limit, if any.
    pub connections: Option<f64>,
    /// Worker or pool slots (the smallest declared), if any.
    pub slots: Option<f64>,
    /// Cache size in MB, if any.
    pub cache_mb: Option<f64>,
    /// Hit ratio at the start (`hit_ratio`, else 1 − [`DEFAULT_MISS_RATIO`]).
    pub hit_ratio: f64,
}

fn number(config: &BTreeMap<String, ConfigValue>, keys: &[&str]) -> Option<f64> {
    keys.iter().filter_map(|k| config.get(*k).and_then(ConfigValue::as_f64)).find(|v| v.is_finite() && *v > 0.0)
}

impl ConfigEffects {
    pub(crate) fn of(config: &BTreeMap<String, ConfigValue>, caps: &Caps) -> Self {
        let text = |k: &str| match config.get(k) {
            Some(ConfigValue::Str(s)) => Some(s.as_str()),
            _ => None,
        };
        let log = match text("log_level") {
            Some("debug") => 1.1,
            Some("trace") => 1.25,
            _ => 1.0,
        };
        let replicas = number(config, &["replicas"]).map_or(1.0, |r| r.max(1.0));
        let cpu_factor = if replicas == 1.0 { log } else { log / replicas };
        let policy = text("eviction").or_else(|| text("maxmemory-policy"));
        let cache_mb = number(config, &["maxmemory_mb", "cache_size_mb", "shared_buffers_mb"])
            .or_else(|| number(config, &["maxmemory"]).map(|bytes| bytes / 1_048_576.0));
        let memory_cap = if policy.is_some_and(|p| p != "noeviction") {
            match number(config, &["maxmemory_mb"]).or_else(|| number(config, &["maxmemory"]).map(|b| b / 1_048_576.0))
            {
                Some(mb) => (mb / (caps.memory * 1024.0) * 100.0).min(100.0),
                None => 100.0,
            }
        } else {
            f64::INFINITY
        };
        let timeout_ms = config
            .get("timeout_ms")
            .or_else(|| config.get("request_timeout_ms"))
            .and_then(ConfigValue::as_f64)
            .or_else(|| config.get("timeout_s").and_then(ConfigValue::as_f64).map(|s| s * 1000.0))
            .filter(|t| t.is_finite() && *t >= 0.0)
            .unwrap_or(1000.0);
        let slots = SLOT_KEYS
            .iter()
            .filter_map(|k| config.get(*k).and_then(ConfigValue::as_f64))
            .filter(|v| v.is_finite() && *v >= 1.0)
            .min_by(f64::total_cmp);
        let hit_ratio = number(config, &["hit_ratio"]).filter(|h| *h < 1.0).unwrap_or(1.0 - DEFAULT_MISS_RATIO);
        ConfigEffects {
            cpu_factor,
            memory_cap,
            timeout_ms,
            connections: number(config, CONNECTION_KEYS),
            slots,
            cache_mb,
            hit_ratio,
        }
    }

    /// The miss ratio at this cache size, given the size and hit ratio at the start.
    pub(crate) fn miss_ratio(&self, start: &ConfigEffects) -> f64 {
        let m0 = 1.0 - start.hit_ratio;
        match (self.cache_mb, start.cache_mb) {
            (Some(size), Some(size0)) if size != size0 => (m0 * (size0 / size).sqrt()).min(1.0),
            _ => m0,
        }
    }
}

/// Keys of the connections a lazily grown pool keeps open when idle.
pub const POOL_IDLE_KEYS: &[&str] = &["pool.min_idle", "pool.minimum_idle", "pool.min_size", "min_pool_size"];

/// The connections a caller instance holds to each server it calls: its pool's idle
/// floor when it declares one (a lazily grown pool), else its pool size (a pool kept
/// full, as HikariCP's default `minimumIdle = maximumPoolSize`), if it has a pool.
pub(crate) fn pool_size(config: &BTreeMap<String, ConfigValue>) -> Option<f64> {
    let smallest = |keys: &[&str]| {
        keys.iter()
            .filter_map(|k| config.get(*k).and_then(ConfigValue::as_f64))
            .filter(|v| v.is_finite() && *v >= 0.0)
            .min_by(f64::total_cmp)
    };
    let size = smallest(POOL_KEYS)?;
    Some(smallest(POOL_IDLE_KEYS).map_or(size, |idle| idle.min(size)))
}

/// Sakasegawa's approximation of the M/M/c queueing wait, in service times, at
/// utilisation `u` (< 1) with `c` servers.
pub(crate) fn wait(u: f64, c: f64) -> f64 {
    let u = u.clamp(0.0, 0.99);
    libm::pow(u, (2.0 * (c + 1.0)).sqrt()) / (c * (1.0 - u))
}

/// The share of demand beyond a capacity: `max(0, 1 − 1/u)`.
pub(crate) fn excess(u: f64) -> f64 {
    if u > 1.0 { 1.0 - 1.0 / u } else { 0.0 }
}

/// Why a configuration change cannot be rehearsed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ChangeError {
    /// The key is empty.
    #[error("{twin}: the configuration key is empty")]
    EmptyKey {
        /// The twin.
        twin: String,
    },
    /// The twin has no such key and the engine does not model it either (a typo?).
    #[error("{twin} has no configuration key {key:?}{hint}")]
    UnknownKey {
        /// The twin.
        twin: String,
        /// The key.
        key: String,
        /// " (did you mean …?)" or the twin's keys.
        hint: String,
    },
}

/// Checks a change of `key` on `twin`: `Ok(None)` when the engine models it,
/// `Ok(Some(warning))` when the twin has the key but nothing in the simulation depends
/// on it, an error when the twin has no such key and the engine does not model it (so
/// a typo does not pass silently).
pub fn check_change(twin: &Twin, key: &str) -> Result<Option<String>, ChangeError> {
    let id = twin.id.as_str();
    if key.trim().is_empty() {
        return Err(ChangeError::EmptyKey { twin: id.into() });
    }
    if modelled_effect(key).is_some() {
        return Ok(None);
    }
    if twin.config.contains_key(key) {
        return Ok(Some(format!("no modelled effect for {id}.{key}: the comparison shows no difference")));
    }
    let keys: Vec<&str> = twin.config.keys().map(String::as_str).collect();
    let candidates = keys.iter().copied().chain(MODELLED.iter().flat_map(|(k, _)| k.iter().copied()));
    let near =
        candidates.min_by_key(|k| edit_distance(k, key)).filter(|k| edit_distance(k, key) <= 2.max(key.len() / 4));
    let hint = match near {
        Some(k) => format!(" (did you mean {k:?}?)"),
        None if keys.is_empty() => " (it has no configuration)".into(),
        None => format!(" (its keys: {})", keys.join(", ")),
    };
    Err(ChangeError::UnknownKey { twin: id.into(), key: key.into(), hint })
}

/// Levenshtein distance (for "did you mean").
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TwinId, TwinKind};

    fn twin(config: &[(&str, ConfigValue)]) -> Twin {
        let mut t = Twin::new(TwinId::new("db-primary"), TwinKind::Database);
        t.config = config.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        t
    }

    #[test]
    fn changes_are_modelled_warned_or_refused() {
        let t =
            twin(&[("max_connections", ConfigValue::Int(500)), ("backup.schedule", ConfigValue::Str("daily".into()))]);
        assert_eq!(check_change(&t, "max_connections"), Ok(None));
        // Modelled keys may be added.
        assert_eq!(check_change(&t, "log_level"), Ok(None));
        let warning = check_change(&t, "backup.schedule").unwrap().unwrap();
        assert_eq!(warning, "no modelled effect for db-primary.backup.schedule: the comparison shows no difference");
        let typo = check_change(&t, "max_conections").unwrap_err();
        assert_eq!(
            typo.to_string(),
            "db-primary has no configuration key \"max_conections\" (did you mean \"max_connections\"?)"
        );
        assert!(matches!(check_change(&t, "colour"), Err(ChangeError::UnknownKey { .. })));
        assert!(check_change(&t, " ").is_err());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn effects_of_a_configuration() {
        let caps = Caps { cpu: 2.0, memory: 4.0, disk: 100.0, replicas: 1.0 };
        let cfg = |c: &[(&str, ConfigValue)]| ConfigEffects::of(&twin(c).config, &caps);
        assert_eq!(cfg(&[("log_level", ConfigValue::Str("debug".into()))]).cpu_factor, 1.1);
        assert_eq!(cfg(&[("replicas", ConfigValue::Int(4))]).cpu_factor, 0.25);
        let redis = cfg(&[
            ("maxmemory", ConfigValue::Int(2 * 1_048_576 * 1024)),
            ("eviction", ConfigValue::Str("allkeys-lru".into())),
        ]);
        assert_eq!(redis.cache_mb, Some(2048.0));
        assert_eq!(redis.memory_cap, 50.0);
        let small = ConfigEffects { cache_mb: Some(512.0), ..redis };
        assert!((small.miss_ratio(&redis) - 0.2).abs() < 1e-12, "a quarter of the size doubles the misses");
        assert!((redis.miss_ratio(&redis) - 0.1).abs() < 1e-12);
        let pools = cfg(&[("threads", ConfigValue::Int(64)), ("pool.max_connections", ConfigValue::Int(50))]);
        assert_eq!(pools.slots, Some(50.0));
        assert_eq!(cfg(&[("timeout_s", ConfigValue::Float(2.5))]).timeout_ms, 2500.0);
        assert_eq!(cfg(&[]).timeout_ms, 1000.0);
        assert!(wait(0.2, 64.0) < 1e-6 && wait(0.95, 64.0) > 0.1);
        assert_eq!((excess(0.5), excess(2.0)), (0.0, 0.5));
    }
}
