//! The chaos fault catalogue as model types: what a fault does to a twin, when and
//! for how long. Faults do not change metrics directly; they change the engine's
//! inputs (demand, reachability, capacity in use), and the engine's propagation model
//! carries their consequences along the dependency graph (see [`super::engine`]).

use std::fmt;

use crate::model::{TwinId, UnixSecs};
use crate::policy::Selector;

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// The twin's process dies: down until restarted (a `restart` action) or until the
    /// fault ends (someone restarts it by hand).
    Crash,
    /// Something else burns CPU: `percent` points of the twin's CPU are taken.
    CpuHog {
        /// Percentage points of CPU demand added.
        percent: f64,
    },
    /// Memory grows by `percent_per_hour` points per hour from the fault's start (or the
    /// last restart); a restart clears it, reaching 100% kills the twin (OOM).
    MemoryLeak {
        /// Growth in percentage points per hour.
        percent_per_hour: f64,
    },
    /// Every request the twin serves takes `ms` longer (its callers feel it by their
    /// traffic share).
    Latency {
        /// Added milliseconds.
        ms: f64,
    },
    /// The twin is cut off the network: it keeps running but nothing reaches it (its
    /// callers fail, it receives no traffic, its `up` is 0). A restart does not help.
    Partition,
    /// The disk fills by `percent_per_hour` points per hour; a full disk fails every
    /// write (the twin errors). Scaling the disk up makes room.
    DiskFill {
        /// Growth in percentage points per hour.
        percent_per_hour: f64,
    },
    /// The twin loses one dependency: its calls to `dependency` fail (as if the edge
    /// were cut), whatever the state of the dependency itself.
    DependencyOutage {
        /// The dependency the twin can no longer reach.
        dependency: TwinId,
    },
    /// The twin receives `factor` times its usual traffic; the extra load flows on to
    /// what it depends on.
    TrafficSpike {
        /// Multiplier of incoming traffic (> 0).
        factor: f64,
    },
}

impl FaultKind {
    /// The kind's name in files and reports.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::CpuHog { .. } => "cpu_hog",
            FaultKind::MemoryLeak { .. } => "memory_leak",
            FaultKind::Latency { .. } => "latency",
            FaultKind::Partition => "partition",
            FaultKind::DiskFill { .. } => "disk_fill",
            FaultKind::DependencyOutage { .. } => "dependency_outage",
            FaultKind::TrafficSpike { .. } => "traffic_spike",
        }
    }

    /// Checks the parameters, with a message for the user.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |what: &str, x: f64, max: f64| {
            if x.is_finite() && x > 0.0 && x <= max {
                Ok(())
            } else {
                Err(format!("{}: {what} must be above 0 and at most {max}, not {x}", self.name()))
            }
        };
        match self {
            FaultKind::Crash | FaultKind::Partition | FaultKind::DependencyOutage { .. } => Ok(()),
            FaultKind::CpuHog { percent } => positive("percent", *percent, 1000.0),
            FaultKind::MemoryLeak { percent_per_hour } | FaultKind::DiskFill { percent_per_hour } => {
                positive("percent_per_hour", *percent_per_hour, 10_000.0)
            }
            FaultKind::Latency { ms } => positive("ms", *ms, 3_600_000.0),
            FaultKind::TrafficSpike { factor } => positive("factor", *factor, 1000.0),
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Crash => f.write_str("crash"),
            FaultKind::CpuHog { percent } => write!(f, "cpu_hog +{percent}%"),
            FaultKind::MemoryLeak { percent_per_hour } => write!(f, "memory_leak +{percent_per_hour}%/h"),
            FaultKind::Latency { ms } => write!(f, "latency +{ms} ms"),
            FaultKind::Partition => f.write_str("partition"),
            FaultKind::DiskFill { percent_per_hour } => write!(f, "disk_fill +{percent_per_hour}%/h"),
            FaultKind::DependencyOutage { dependency } => write!(f, "dependency_outage of {dependency}"),
            FaultKind::TrafficSpike { factor } => write!(f, "traffic_spike ×{factor}"),
        }
    }
}

/// One fault on one twin.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// What it does.
    pub kind: FaultKind,
    /// The twin it hits.
    pub twin: TwinId,
    /// When it starts.
    pub start: UnixSecs,
    /// How long it lasts (`None`: until stopped by a rollback).
    pub duration_secs: Option<i64>,
}

impl Fault {
    /// End time (exclusive), if it has one.
    pub fn end(&self) -> Option<UnixSecs> {
        self.duration_secs.map(|d| self.start + d)
    }
}

/// Faults injected at random: at each tick inside the window a fault starts with
/// probability `rate_per_hour × tick / 1 h`, on a candidate twin and of a kind drawn
/// uniformly. Draws come from the world's `chaos/random/<index>` stream, so the same
/// seed hits the same twins and adding a scheduled fault changes nothing here.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomFaults {
    /// Expected faults per hour over all candidates.
    pub rate_per_hour: f64,
    /// Which twins may be hit.
    pub selector: Selector,
    /// Which faults may be injected (drawn uniformly).
    pub kinds: Vec<FaultKind>,
    /// How long each lasts.
    pub duration_secs: i64,
    /// First instant at which faults may be injected.
    pub from: UnixSecs,
    /// End of the injection window (exclusive).
    pub until: UnixSecs,
}
