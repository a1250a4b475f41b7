//! The engine's inputs: what is done to a [`World`](super::World) from outside at a
//! tick (a manual action, a configuration change, a fault started or rolled back, an
//! approval). Both the world (which keeps scheduled commands) and the engine (which
//! applies them at a tick) use these; neither imports the other for them.

use super::fault::{Fault, RandomFaults};
use crate::model::{ActionKind, ConfigValue, TwinId};

/// Something done to the world from outside at a tick.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Start an action on a twin by hand (it takes effect after its duration).
    Act {
        /// The twin.
        twin: TwinId,
        /// The action.
        action: ActionKind,
    },
    /// Set a configuration key directly (takes effect at once).
    SetConfig {
        /// The twin.
        twin: TwinId,
        /// Key path.
        key: String,
        /// New value.
        value: ConfigValue,
    },
    /// Inject a fault now (its `start` is replaced by the tick's time).
    StartFault(Fault),
    /// Start injecting random faults.
    RandomFaults(RandomFaults),
    /// Roll back: end the active faults (of one twin, or all and random injection).
    StopFaults {
        /// Only this twin's faults.
        twin: Option<TwinId>,
    },
    /// Approve a queued proposal (it runs now if the guards allow).
    Approve {
        /// Proposal id.
        id: String,
        /// Who approves.
        by: String,
    },
    /// Reject a queued proposal.
    Reject {
        /// Proposal id.
        id: String,
        /// Who rejects.
        by: String,
    },
}

/// The inputs of one tick (besides what the world has scheduled itself).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inputs {
    /// Commands, applied in order before the tick's physics.
    pub commands: Vec<Command>,
}
