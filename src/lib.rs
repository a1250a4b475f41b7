//! twinbench: a workbench for adaptive resource twins.
//!
//! Crate map (dependencies point downwards only):
//! - [`analytics`]: forecasting (and later anomaly, drift) as pure functions. No IO.
//! - [`model`]: twins, the dependency graph, the telemetry store, scenarios. No IO.
//! - [`analytics`]: pure, causal analytics on telemetry (anomaly detection).
//! - [`policy`]: compliance policies as model types and their evaluation.
//! - [`sim`]: seeded random streams, history generation (and later the engine).
//! - [`io`]: the only place that touches files: scenario, telemetry and image formats.
//! - [`cli`]: the headless subcommands.
//! - `ui` (feature `gui`): the eframe desktop shell.

pub mod analytics;
pub mod cli;
pub mod io;
pub mod model;
pub mod policy;
pub mod remediation;
pub mod sim;
#[cfg(feature = "gui")]
pub mod ui;
