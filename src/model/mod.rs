//! The nouns of twinbench: twins, their dependency graph, their telemetry, workload
//! models and the action vocabulary (the scenario that bundles them is
//! `crate::scenario`, a layer above). Nothing here touches files, the network, the
//! wall clock or egui; everything is deterministic given its inputs.

pub mod action;
pub mod decimal;
pub mod graph;
pub mod ids;
pub mod metric;
pub mod noise;
pub mod telemetry;
pub mod twin;
pub mod workload;

pub use action::{ActionKind, FieldChange, Resource};
pub use graph::{Dependency, EdgeKind, GraphError, TwinGraph, TwinGroup};
pub use ids::{MetricName, SeriesKey, TwinId};
pub use telemetry::{Bucket, RetentionPolicy, SeriesData, StoreError, StoreStats, TelemetryStore};
pub use twin::{Capacity, ConfigChange, ConfigValue, Status, Twin, TwinKind};
pub use workload::{Fidelity, Incident, IncidentEffect, LearnedInfo, NoiseTails, WorkloadModel};

/// Seconds since the Unix epoch, UTC. Simulated and historical time are always this
/// type; the wall clock only appears in the UI and IO layers.
pub type UnixSecs = i64;

/// Seconds in a day, for readability of workload and retention arithmetic.
pub const DAY_SECS: i64 = 86_400;
/// Seconds in an hour.
pub const HOUR_SECS: i64 = 3_600;
