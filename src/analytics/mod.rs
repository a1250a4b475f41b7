//! Analytics: what the twins learn from their history. Every function here is pure
//! and deterministic: no files, no wall clock, no unseeded randomness. Streaming
//! analytics (anomaly detection) are fed one sample at a time, so they behave the same
//! on a live feed as on a file read offline.
//!
//! - [`anomaly`]: causal anomaly detectors (rules from policies, learned baselines) that
//!   turn each sample into a score in [0, 1] with a human reason.
//! - [`compliance`]: which rules are violated now.
//! - [`drift`]: configuration against the desired state of policies.

pub mod anomaly;
pub mod compliance;
pub mod drift;
pub mod scan;
