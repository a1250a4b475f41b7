//! Simulation: seeded random streams, the generation of history from workload models,
//! and the simulation lab — the deterministic tick engine over a [`World`] (M19), with
//! the orchestration loop inside, what-if forks (M13), A/B tests of strategies (M14)
//! and chaos experiments (M15). Everything here is deterministic given the scenario,
//! the seed and the inputs; nothing reads the wall clock.

pub mod ab;
mod calm;
pub mod chaos;
pub mod config;
pub mod digest;
mod draw;
pub mod engine;
pub mod fault;
pub mod fidelity;
pub mod history;
pub mod input;
pub mod rng;
pub mod run;
pub mod strategy;
pub mod whatif;
pub mod world;

pub use digest::state_digest;
pub use engine::{StepReport, step};
pub use fault::{Fault, FaultKind, RandomFaults};
pub use input::{Command, Inputs};
pub use run::{PolicyViolations, RunSummary, run, ticks_for_hours};
pub use strategy::{Objective, Strategy};
pub use world::{ActionRecord, Event, EventKind, SimError, UP_METRIC, World, WorldConfig};

#[cfg(test)]
mod tests;
