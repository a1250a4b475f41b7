//! twinbench: a workbench for adaptive resource twins.
//!
//! Crate map, lowest layer first. A module uses only the layers before it (checked by
//! `tests/workbench/architecture.rs`); `ARCHITECTURE.md` has the details.
//! - [`model`]: the nouns — twins, the dependency graph, the telemetry store, workload
//!   models and their noise tables, the action vocabulary (`model::action`). No IO.
//! - [`policy`]: compliance policies as model types, the streaming rule evaluator and
//!   violation spans over history (`policy::spans`).
//! - [`scenario`]: the bundle the rest works on — graph, telemetry, workloads and
//!   policies of one estate.
//! - [`analytics`]: pure, causal analytics on telemetry: forecasting, anomaly
//!   detection, drift, current and predictive compliance, seasonality evidence,
//!   learned twins.
//! - [`remediation`]: findings to ranked actions, the orchestration loop, plans, the
//!   assessment of a scenario at a time (`remediation::assessment`) and a person's
//!   review of proposals (`remediation::review`).
//! - [`sim`]: seeded random streams, history generation, the tick engine and its
//!   inputs, the fault catalogue, what-if, A/B, chaos, configuration effects and the
//!   fidelity of learned twins.
//! - [`io`]: the only place that touches files and the network: scenario, policy,
//!   telemetry, plan and image formats (shared helpers in `io::format`), live sources.
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
