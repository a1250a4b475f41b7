//! Analytics: what the twins learn from their history. Pure functions of the model —
//! no IO, no wall clock — so the same inputs always give the same answers.

pub mod compliance;
pub mod drift;
