//! Deadlines of the engine: channel timeouts and the application's timers, in one heap.
//!
//! Entries are never removed from the heap; a popped entry that no longer matches what it
//! was pushed for (a cancelled timer, a deadline that moved) is skipped. Pants' `callback` and
//! `loop` run per turn and live in their own lists.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use super::slab::{Generational, Slab};
use crate::engine::EngineContext;
use crate::id::{ChannelId, TimerId};

/// A boxed engine-timer closure.
pub(crate) type TimerFn = Box<dyn FnMut(&mut EngineContext<'_>)>;

/// What a due heap entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Due {
    /// A channel state machine's own timeout (`poll_timeout`).
    Channel(ChannelId),
    /// An application timer.
    Timer(TimerId),
}

/// When an application timer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schedule {
    /// Once, at the start of the next turn (Pants' `callback`).
    NextTurn,
    /// At the start of every turn (Pants' `loop`).
    EachTurn,
    /// Once, at a deadline (`defer`).
    Once,
    /// At every interval (`cycle`).
    Every(Duration),
}

/// Who runs when an application timer fires.
pub(crate) enum Target {
    /// A channel's handler, through `on_timer`.
    Channel(ChannelId),
    /// A closure; `None` while it runs.
    Engine(Option<TimerFn>),
}

pub(crate) struct Timer {
    pub(crate) target: Target,
    pub(crate) schedule: Schedule,
    pub(crate) deadline: Option<Instant>,
    /// Its slab slot's generation.
    generation: u32,
}

impl Generational for Timer {
    fn generation(&self) -> u32 {
        self.generation
    }
    fn set_generation(&mut self, generation: u32) {
        self.generation = generation;
    }
}

pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64, Due)>>,
    seq: u64,
    pub(crate) entries: Slab<TimerId, Timer>,
    per_turn: Vec<TimerId>,
}

impl Timers {
    pub(crate) fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
            entries: Slab::new(),
            per_turn: Vec::new(),
        }
    }

    /// Adds a timer; `now` is when `Once` and `Every` count from.
    pub(crate) fn add(
        &mut self,
        now: Instant,
        target: Target,
        schedule: Schedule,
        delay: Duration,
    ) -> TimerId {
        let deadline = match schedule {
            Schedule::Once | Schedule::Every(_) => Some(now + delay),
            Schedule::NextTurn | Schedule::EachTurn => None,
        };
        let id = self.entries.insert(Timer {
            target,
            schedule,
            deadline,
            generation: 0,
        });
        match deadline {
            Some(deadline) => self.push(deadline, Due::Timer(id)),
            None => self.per_turn.push(id),
        }
        id
    }

    /// Cancels a timer; harmless for an ended or cancelled one, also from its own callback.
    pub(crate) fn cancel(&mut self, id: TimerId) {
        self.entries.remove(id);
    }

    pub(crate) fn push(&mut self, deadline: Instant, due: Due) {
        self.seq += 1;
        self.heap.push(Reverse((deadline, self.seq, due)));
    }

    /// Pops the next heap entry due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, Due)> {
        let Reverse((deadline, _, _)) = self.heap.peek()?;
        if *deadline > now {
            return None;
        }
        self.heap
            .pop()
            .map(|Reverse((deadline, _, due))| (deadline, due))
    }

    /// The per-turn timers to run now, in the order they were added.
    pub(crate) fn take_per_turn(&mut self) -> Vec<TimerId> {
        let ids = std::mem::take(&mut self.per_turn);
        ids.into_iter()
            .filter(|id| self.entries.get(*id).is_some())
            .collect()
    }

    /// Puts back a per-turn timer that runs again next turn.
    pub(crate) fn keep_per_turn(&mut self, id: TimerId) {
        self.per_turn.push(id);
    }

    /// The earliest heap deadline (possibly of a stale entry: waking early is harmless).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((deadline, _, _))| *deadline)
    }

    pub(crate) fn has_per_turn(&self) -> bool {
        !self.per_turn.is_empty()
    }
}
