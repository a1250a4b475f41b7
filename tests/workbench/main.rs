//! The integration tests of twinbench: one binary, one module per behaviour.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test binary: failing loudly is the point

mod alertmanager;
mod architecture;
mod chaostoolkit;
mod check;
mod cli;
mod detect;
mod determinism;
mod forecast;
mod generate;
#[cfg(feature = "gui")]
mod gui;
#[cfg(feature = "gui")]
mod lab;
mod learn;
mod live;
mod logs;
mod malformed;
mod plans;
mod prom;
mod retention;
mod rules;
mod sim_files;
mod simulation;
mod support;
mod telemetry;
#[cfg(feature = "gui")]
mod workspace;
