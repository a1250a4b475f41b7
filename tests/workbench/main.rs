//! The integration tests of twinbench: one binary, one module per behaviour.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test binary: failing loudly is the point

mod cli;
mod determinism;
mod forecast;
#[cfg(feature = "gui")]
mod gui;
mod malformed;
mod support;
mod telemetry;
