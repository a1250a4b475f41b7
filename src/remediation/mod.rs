//! Remediation: which actions (their vocabulary is [`crate::model::action`]) answer
//! which findings, their prioritization, the orchestration loop that runs them on
//! twins, and the plans that leave the workbench.

pub mod assessment;
pub mod fingerprint;
pub mod orchestrate;
pub mod plan;
pub mod priority;
pub mod review;
