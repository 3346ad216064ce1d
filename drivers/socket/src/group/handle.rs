//! The group's handle (post to engine `i`, stop them all) and what each engine's setup is
//! told about its place in the group.

use std::sync::Arc;

use pants_core::EngineContext;

use crate::handle::Handle;

/// Reaches the engines of a group from any thread, their handlers included: post work to
/// engine `i`, or stop them all. Cheap to clone (`Send + Sync`); engine `i` is the one whose
/// setup saw [`Member::index`] `i`.
#[derive(Clone)]
pub struct GroupHandle {
    engines: Arc<[Handle]>,
}

impl GroupHandle {
    pub(super) fn new(engines: Vec<Handle>) -> Self {
        Self {
            engines: engines.into(),
        }
    }

    /// Runs `work` on engine `engine`, at its next turn, with that engine's context: how a
    /// handler reaches a channel another engine owns. Dropped unrun if that engine is gone
    /// (stopped and finished).
    ///
    /// # Panics
    ///
    /// If there is no engine `engine` (as slice indexing does: the indexes are the group's).
    pub fn post(&self, engine: usize, work: impl FnOnce(&mut EngineContext<'_>) + Send + 'static) {
        self.engines[engine].post(work);
    }

    /// Asks every engine to stop gracefully, as [`Handle::stop`] does for one.
    pub fn stop(&self) {
        self.engines.iter().for_each(Handle::stop);
    }

    /// Each engine's own handle, by index: to [`call`](Handle::call) one, or stop one alone.
    pub fn engines(&self) -> &[Handle] {
        &self.engines
    }

    /// How many engines the group has.
    pub fn len(&self) -> usize {
        self.engines.len()
    }

    /// Always false: a group has at least one engine.
    pub fn is_empty(&self) -> bool {
        self.engines.is_empty()
    }
}

impl std::fmt::Debug for GroupHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupHandle")
            .field("engines", &self.len())
            .finish()
    }
}

/// What a setup is told about the engine it runs on: its index in the group, and the group's
/// handle, which its handlers may keep to reach the other engines.
#[derive(Debug, Clone)]
pub struct Member {
    index: usize,
    group: GroupHandle,
}

impl Member {
    pub(super) fn new(index: usize, group: GroupHandle) -> Self {
        Self { index, group }
    }

    /// This engine's index in the group: `0..group().len()`. Engine 0 is set up first.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The group's handle.
    pub fn group(&self) -> &GroupHandle {
        &self.group
    }
}
