//! Analytics: what the twins learn from their history. Every function here is pure
//! and deterministic: no files, no wall clock, no unseeded randomness, so a result shown
//! in the workbench can be reproduced bit for bit from the CLI. Streaming analytics
//! (anomaly detection, forecast updates) are fed one sample at a time, so they behave
//! the same on a live feed as on a file read offline.
//!
//! - [`forecast`]: per-series models (seasonal naive, ETS family, MSTL-style), chosen
//!   automatically, with 80%/95% prediction intervals and rolling-origin backtests.
//! - [`anomaly`]: causal anomaly detectors (rules from policies, learned baselines) that
//!   turn each sample into a score in [0, 1] with a human reason.
//! - [`compliance`]: which rules are violated now.
//! - [`predict`]: which rules the forecasts say will be violated, when, how likely.
//! - [`drift`]: configuration against the desired state of policies.
//! - [`learn`]: workload models and couplings learned from history (learned twins).
//! - [`season`]: whether a series has earned a daily or weekly season (enough cycles,
//!   split-half agreement), used by forecasts and learned models alike.

pub mod anomaly;
pub mod compliance;
pub mod drift;
pub mod forecast;
pub mod learn;
pub mod par;
pub mod predict;
pub mod scan;
pub mod season;
