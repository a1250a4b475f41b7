//! One undo history per workspace: what the user decided and edited, as snapshots.
//!
//! The undoable state is a [`Doc`]: the review (decisions with their log, the loop's
//! settings, the rehearsed plan entries), the policies the editor put in force and the
//! lab's inputs. Before a command changes it the app records the state before; *Undo*
//! puts that back (the state it replaces goes to *Redo*). Keystroke-like edits (typing
//! policies, dragging a lab field) within [`MERGE_SECS`] of each other are one step.
//! Views (selection, time, zoom) are not undone, as in most editors.

use crate::remediation::review::Review;
use crate::ui::lab::LabInputs;

/// Edits of the same kind closer together than this are one undo step.
pub const MERGE_SECS: f64 = 1.5;

/// The most steps kept.
const LIMIT: usize = 200;

/// The undoable state of the workbench.
#[derive(Clone, Debug)]
pub struct Doc {
    /// Decisions, their log, the loop's mode and guards, rehearsed plan entries.
    pub review: Review,
    /// The policy editor's text that is in force (`None`: the editor added none).
    pub policies: Option<String>,
    /// The lab's inputs.
    pub lab: LabInputs,
}

struct Step {
    name: String,
    state: Doc,
    at: f64,
}

/// The undo and redo stacks.
#[derive(Default)]
pub struct History {
    undo: Vec<Step>,
    redo: Vec<Step>,
}

impl History {
    /// Records that the action `name` is about to change the state `before` (at input
    /// time `now`). With `merge`, an action of the same name recorded less than
    /// [`MERGE_SECS`] ago is the same step. A new action forgets what was undone.
    pub fn record(&mut self, name: &str, before: Doc, now: f64, merge: bool) {
        self.redo.clear();
        if merge
            && let Some(top) = self.undo.last_mut()
            && top.name == name
            && now - top.at < MERGE_SECS
        {
            top.at = now;
            return;
        }
        self.undo.push(Step { name: name.to_string(), state: before, at: now });
        if self.undo.len() > LIMIT {
            self.undo.remove(0);
        }
    }

    /// Takes back the last action: the state to restore and the action's name;
    /// `current` becomes what *Redo* restores.
    pub fn undo(&mut self, current: Doc) -> Option<(String, Doc)> {
        let step = self.undo.pop()?;
        self.redo.push(Step { name: step.name.clone(), state: current, at: f64::NEG_INFINITY });
        Some((step.name, step.state))
    }

    /// Does again the last undone action: the state to restore and its name.
    pub fn redo(&mut self, current: Doc) -> Option<(String, Doc)> {
        let step = self.redo.pop()?;
        self.undo.push(Step { name: step.name.clone(), state: current, at: f64::NEG_INFINITY });
        Some((step.name, step.state))
    }

    /// The name of the action *Undo* takes back.
    pub fn undo_name(&self) -> Option<&str> {
        self.undo.last().map(|s| s.name.as_str())
    }

    /// The name of the action *Redo* does again.
    pub fn redo_name(&self) -> Option<&str> {
        self.redo.last().map(|s| s.name.as_str())
    }

    /// Forgets everything (another scenario or workspace was opened).
    pub fn clear(&mut self) {
        self.undo.clear();
        self.redo.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(seed: u64) -> Doc {
        Doc { review: Review::default(), policies: None, lab: LabInputs { seed, ..LabInputs::default() } }
    }

    #[test]
    fn undo_and_redo_walk_the_steps_in_order() {
        let mut h = History::default();
        h.record("Approve a", doc(1), 0.0, false);
        h.record("Approve b", doc(2), 10.0, false);
        assert_eq!(h.undo_name(), Some("Approve b"));
        let (name, back) = h.undo(doc(3)).unwrap();
        assert_eq!((name.as_str(), back.lab.seed), ("Approve b", 2));
        assert_eq!(h.redo_name(), Some("Approve b"));
        let (_, back) = h.undo(doc(2)).unwrap();
        assert_eq!(back.lab.seed, 1);
        assert!(h.undo(doc(1)).is_none());
        let (name, again) = h.redo(doc(1)).unwrap();
        assert_eq!((name.as_str(), again.lab.seed), ("Approve a", 2));
        // A new action forgets what was undone.
        h.record("Reject c", doc(2), 20.0, false);
        assert_eq!(h.redo_name(), None);
    }

    #[test]
    fn quick_edits_of_one_kind_are_one_step() {
        let mut h = History::default();
        h.record("Edit policies", doc(1), 0.0, true);
        h.record("Edit policies", doc(2), 1.0, true);
        h.record("Edit policies", doc(3), 2.0, true);
        h.record("Edit policies", doc(4), 9.0, true);
        let (_, back) = h.undo(doc(5)).unwrap();
        assert_eq!(back.lab.seed, 4);
        let (_, back) = h.undo(doc(4)).unwrap();
        assert_eq!(back.lab.seed, 1, "the first three were one step");
        assert!(h.undo_name().is_none());
    }
}
