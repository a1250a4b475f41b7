//! The chaos fault catalogue as model types: what a fault does to a twin, when and
//! for how long. Faults do not change metrics directly; they change the engine's
//! inputs (demand, reachability, capacity in use), and the engine's propagation model
//! carries their consequences along the dependency graph (see [`super::engine`]).
//!
//! [`FaultType`] is the catalogue as the lab offers it: each kind's label, what its
//! one magnitude means (unit, default, range) and the [`FaultKind`] it makes.

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
        FaultType::of(self).name()
    }

    /// The one number of the fault, in its type's unit ([`FaultType::magnitude`]);
    /// `None` for a crash, a partition and a dependency outage.
    pub fn magnitude(&self) -> Option<f64> {
        match self {
            FaultKind::CpuHog { percent } => Some(*percent),
            FaultKind::MemoryLeak { percent_per_hour } | FaultKind::DiskFill { percent_per_hour } => {
                Some(*percent_per_hour)
            }
            FaultKind::Latency { ms } => Some(*ms),
            FaultKind::TrafficSpike { factor } => Some(*factor),
            FaultKind::Crash | FaultKind::Partition | FaultKind::DependencyOutage { .. } => None,
        }
    }

    /// The dependency a dependency outage cuts.
    pub fn dependency(&self) -> Option<&TwinId> {
        match self {
            FaultKind::DependencyOutage { dependency } => Some(dependency),
            _ => None,
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

/// A kind of fault without its parameters: the catalogue the lab composes faults from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultType {
    /// [`FaultKind::Crash`].
    Crash,
    /// [`FaultKind::CpuHog`].
    CpuHog,
    /// [`FaultKind::MemoryLeak`].
    MemoryLeak,
    /// [`FaultKind::Latency`].
    Latency,
    /// [`FaultKind::Partition`].
    Partition,
    /// [`FaultKind::DiskFill`].
    DiskFill,
    /// [`FaultKind::DependencyOutage`].
    DependencyOutage,
    /// [`FaultKind::TrafficSpike`].
    TrafficSpike,
}

/// What a fault type's one number means, and the values offered for it.
#[derive(Clone, Debug, PartialEq)]
pub struct Magnitude {
    /// Unit as shown beside the number (`"% CPU"`, `"%/h"`, `"ms"`, `"× traffic"`).
    pub unit: &'static str,
    /// The value offered first.
    pub default: f64,
    /// The values offered.
    pub range: std::ops::RangeInclusive<f64>,
}

/// Why a fault type could not be made into a fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// A dependency outage needs the dependency the twin loses, and it has none.
    #[error("the selected twin has no dependency to lose")]
    NoDependency,
}

impl FaultType {
    /// Every fault type, in the order the lab lists them.
    pub const ALL: [FaultType; 8] = [
        FaultType::Crash,
        FaultType::CpuHog,
        FaultType::MemoryLeak,
        FaultType::Latency,
        FaultType::Partition,
        FaultType::DiskFill,
        FaultType::DependencyOutage,
        FaultType::TrafficSpike,
    ];

    /// The type of a fault.
    pub fn of(kind: &FaultKind) -> FaultType {
        match kind {
            FaultKind::Crash => FaultType::Crash,
            FaultKind::CpuHog { .. } => FaultType::CpuHog,
            FaultKind::MemoryLeak { .. } => FaultType::MemoryLeak,
            FaultKind::Latency { .. } => FaultType::Latency,
            FaultKind::Partition => FaultType::Partition,
            FaultKind::DiskFill { .. } => FaultType::DiskFill,
            FaultKind::DependencyOutage { .. } => FaultType::DependencyOutage,
            FaultKind::TrafficSpike { .. } => FaultType::TrafficSpike,
        }
    }

    /// The type named as in files (`crash`, `cpu_hog`, …; [`FaultKind::name`]).
    pub fn parse(name: &str) -> Option<FaultType> {
        FaultType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The name in files.
    pub fn name(self) -> &'static str {
        match self {
            FaultType::Crash => "crash",
            FaultType::CpuHog => "cpu_hog",
            FaultType::MemoryLeak => "memory_leak",
            FaultType::Latency => "latency",
            FaultType::Partition => "partition",
            FaultType::DiskFill => "disk_fill",
            FaultType::DependencyOutage => "dependency_outage",
            FaultType::TrafficSpike => "traffic_spike",
        }
    }

    /// The label shown to people ("CPU hog", "network partition").
    pub fn label(self) -> &'static str {
        match self {
            FaultType::Crash => "crash",
            FaultType::CpuHog => "CPU hog",
            FaultType::MemoryLeak => "memory leak",
            FaultType::Latency => "latency",
            FaultType::Partition => "network partition",
            FaultType::DiskFill => "disk fill",
            FaultType::DependencyOutage => "dependency outage",
            FaultType::TrafficSpike => "traffic spike",
        }
    }

    /// What the magnitude means, its default and range; `None` for a type without one
    /// (crash, partition, dependency outage).
    pub fn magnitude(self) -> Option<Magnitude> {
        let m = |unit, default, range| Some(Magnitude { unit, default, range });
        match self {
            FaultType::CpuHog => m("% CPU", 60.0, 1.0..=100.0),
            FaultType::MemoryLeak => m("%/h", 20.0, 1.0..=200.0),
            FaultType::Latency => m("ms", 300.0, 1.0..=10_000.0),
            FaultType::DiskFill => m("%/h", 20.0, 1.0..=200.0),
            FaultType::TrafficSpike => m("× traffic", 3.0, 1.1..=20.0),
            FaultType::Crash | FaultType::Partition | FaultType::DependencyOutage => None,
        }
    }

    /// The fault with `magnitude` (in the type's unit; ignored by types without one)
    /// and, for a dependency outage, the dependency lost.
    pub fn fault(self, magnitude: f64, dependency: Option<TwinId>) -> Result<FaultKind, FaultError> {
        Ok(match self {
            FaultType::Crash => FaultKind::Crash,
            FaultType::CpuHog => FaultKind::CpuHog { percent: magnitude },
            FaultType::MemoryLeak => FaultKind::MemoryLeak { percent_per_hour: magnitude },
            FaultType::Latency => FaultKind::Latency { ms: magnitude },
            FaultType::Partition => FaultKind::Partition,
            FaultType::DiskFill => FaultKind::DiskFill { percent_per_hour: magnitude },
            FaultType::DependencyOutage => {
                FaultKind::DependencyOutage { dependency: dependency.ok_or(FaultError::NoDependency)? }
            }
            FaultType::TrafficSpike => FaultKind::TrafficSpike { factor: magnitude },
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_covers_every_fault_kind_once() {
        let dep = Some(TwinId::from("db"));
        for (i, ty) in FaultType::ALL.into_iter().enumerate() {
            let magnitude = ty.magnitude().map_or(1.0, |m| m.default);
            let kind = ty.fault(magnitude, dep.clone()).unwrap();
            assert_eq!(FaultType::of(&kind), ty, "{}", ty.label());
            assert!(FaultType::ALL[..i].iter().all(|t| t.label() != ty.label()));
            // The default of every magnitude is in its range and makes a valid fault.
            if let Some(m) = ty.magnitude() {
                assert!(m.range.contains(&m.default), "{}", ty.label());
            }
            assert_eq!(kind.validate(), Ok(()), "{}", ty.label());
        }
    }

    #[test]
    fn magnitudes_carry_units_and_map_to_the_kinds_parameters() {
        let unit = |t: FaultType| t.magnitude().map(|m| m.unit);
        assert_eq!(unit(FaultType::CpuHog), Some("% CPU"));
        assert_eq!(unit(FaultType::Latency), Some("ms"));
        assert_eq!(unit(FaultType::TrafficSpike), Some("× traffic"));
        assert_eq!(unit(FaultType::Crash), None);
        assert_eq!(FaultType::Latency.fault(250.0, None), Ok(FaultKind::Latency { ms: 250.0 }));
        assert_eq!(FaultType::DiskFill.fault(5.0, None), Ok(FaultKind::DiskFill { percent_per_hour: 5.0 }));
        assert_eq!(FaultType::Partition.fault(99.0, None), Ok(FaultKind::Partition));
    }

    #[test]
    fn a_dependency_outage_needs_a_dependency() {
        assert_eq!(FaultType::DependencyOutage.fault(1.0, None), Err(FaultError::NoDependency));
        assert_eq!(
            FaultType::DependencyOutage.fault(1.0, Some(TwinId::from("db"))),
            Ok(FaultKind::DependencyOutage { dependency: TwinId::from("db") })
        );
        assert_eq!(FaultError::NoDependency.to_string(), "the selected twin has no dependency to lose");
    }
}
