//! A scenario: a named estate of twins with its dependency graph, telemetry history,
//! declared workload models and inline policies — the bundle the rest of the program
//! works on. It sits above `model` and `policy` (it holds both) and below everything
//! that reads it. Built by `io::scenario` from a file, with history filled in by
//! `sim::history` or loaded from a telemetry file.

use std::collections::BTreeMap;

use crate::model::{DAY_SECS, SeriesKey, TelemetryStore, TwinGraph, UnixSecs, WorkloadModel};
use crate::policy::Policy;

/// A loaded scenario.
#[derive(Clone, Debug, Default)]
pub struct Scenario {
    /// Short name.
    pub name: String,
    /// What the scenario shows.
    pub description: String,
    /// Seed of every random stream derived from the scenario.
    pub seed: u64,
    /// Sampling interval of the history, in seconds.
    pub resolution_secs: i64,
    /// First instant of history.
    pub start: UnixSecs,
    /// End of history: the scenario's "now". Forecasts start here.
    pub end: UnixSecs,
    /// Twins and dependencies.
    pub graph: TwinGraph,
    /// Telemetry history (empty until generated or loaded).
    pub telemetry: TelemetryStore,
    /// Declared workload models per series (empty for telemetry-file scenarios).
    pub workloads: BTreeMap<SeriesKey, WorkloadModel>,
    /// Inline policies (thresholds).
    pub policies: Vec<Policy>,
}

impl Scenario {
    /// Length of the history in days.
    pub fn history_days(&self) -> f64 {
        (self.end - self.start) as f64 / DAY_SECS as f64
    }

    /// Number of samples the history has per series at the scenario's resolution.
    pub fn samples_per_series(&self) -> usize {
        if self.resolution_secs <= 0 {
            return 0;
        }
        usize::try_from((self.end - self.start) / self.resolution_secs).unwrap_or(0)
    }

    /// True once telemetry has been generated or loaded.
    pub fn has_history(&self) -> bool {
        self.telemetry.stats().samples > 0
    }
}
