//! Remediation: the actions that fix violations (with modeled effects, costs, risks,
//! durations and inverses), their prioritization, the orchestration loop that runs
//! them on twins, and the plans that leave the workbench.

pub mod action;
pub mod fingerprint;
pub mod orchestrate;
pub mod plan;
pub mod priority;

pub use action::{ActionKind, Resource};
