//! Analytics: pure functions over telemetry series — forecasting now, anomaly
//! detection, drift and predictive compliance next. Nothing here reads files, the
//! network or the wall clock; the same input always gives bit-identical output, so a
//! forecast shown in the workbench can be reproduced from the CLI.

pub mod forecast;
