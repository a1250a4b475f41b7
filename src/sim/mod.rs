//! Simulation: seeded random streams and the generation of history from workload
//! models. Everything here is deterministic given the scenario and seed.

pub mod history;
pub mod rng;
