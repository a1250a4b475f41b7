//! twinbench: a workbench for adaptive resource twins.
//!
//! Crate map (dependencies point downwards only; `ARCHITECTURE.md` has the details):
//! - [`model`]: twins, the dependency graph, the telemetry store, workload models and
//!   their noise tables, scenarios. No IO.
//! - [`analytics`]: pure, causal analytics on telemetry: forecasting, anomaly
//!   detection, drift, predictive compliance, seasonality evidence, learned twins.
//! - [`policy`]: compliance policies as model types and their evaluation.
//! - [`remediation`]: actions, prioritisation, the orchestration loop, plans.
//! - [`sim`]: seeded random streams, history generation, the tick engine, what-if,
//!   A/B, chaos, configuration effects and the fidelity of learned twins.
//! - [`io`]: the only place that touches files and the network: scenario, policy,
//!   telemetry, plan and image formats, live sources.
//! - [`cli`]: the headless subcommands.
//! - `ui` (feature `gui`): the eframe desktop shell.

pub mod analytics;
pub mod cli;
pub mod io;
pub mod model;
pub mod policy;
pub mod remediation;
pub mod scenario;
pub mod sim;
#[cfg(feature = "gui")]
pub mod ui;
