//! Deadlines of the engine: channel timeouts, the application's timers and the stop's, in one
//! heap.
//!
//! An entry is not removed from the heap when what it was pushed for changes (a timer is
//! cancelled, a channel closes or its deadline moves): it is dropped when it comes to the top
//! ([`EngineCore::settle_timers`](super::core::EngineCore::settle_timers), after every turn and
//! every cancel), so the earliest entry, the engine's next deadline, is always one that
//! matters; and the heap is rebuilt from the entries that still matter once it holds more
//! than twice as many as there are channels and timers, so it stays proportional to them
//! however many timers come and go. Pants' `callback` and `loop` run per turn and live in
//! their own list.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use super::slab::{Generational, Slab};
use crate::engine::EngineContext;
use crate::id::{ChannelId, TimerId};

/// A boxed engine-timer closure: it gets the engine and its own timer's id.
pub(crate) type TimerFn = Box<dyn FnMut(&mut EngineContext<'_>, TimerId)>;

/// What a due heap entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Due {
    /// A channel state machine's own timeout (`poll_timeout`).
    Channel(ChannelId),
    /// An application timer.
    Timer(TimerId),
    /// The deadline of a graceful stop: what is still open then closes at once.
    Stop,
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

/// What a fired timer runs.
pub(crate) enum Fired {
    /// Channel `0`'s `on_timer`.
    Channel(ChannelId),
    /// An engine timer's closure, out of its entry while it runs.
    Engine(TimerFn),
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

    /// Gives back the memory the heap and the lists kept from their largest.
    pub(crate) fn shrink(&mut self) {
        self.heap.shrink_to_fit();
        self.per_turn.shrink_to_fit();
        self.entries.shrink();
    }

    /// Takes timer `id`, due at `deadline` (`None`: a per-turn timer's turn): a repeating one is
    /// scheduled again and a one-shot one ends before it runs, so that cancelling it from its
    /// own callback works. What to run, if the timer is live.
    pub(crate) fn fire(
        &mut self,
        id: TimerId,
        now: Instant,
        deadline: Option<Instant>,
    ) -> Option<Fired> {
        let timer = self.entries.get_mut(id)?;
        if deadline.is_some() && timer.deadline != deadline {
            return None; // an entry of a timer that was cancelled or moved
        }
        let fired = match &mut timer.target {
            Target::Channel(channel) => Fired::Channel(*channel),
            Target::Engine(closure) => Fired::Engine(closure.take()?),
        };
        match timer.schedule {
            Schedule::NextTurn | Schedule::Once => {
                if let Fired::Engine(_) = fired {
                    // Kept until the closure has run, for its `cancel` to find it.
                    timer.deadline = None;
                } else {
                    self.entries.remove(id);
                }
            }
            Schedule::EachTurn => self.per_turn.push(id),
            Schedule::Every(interval) => {
                let next = deadline.map_or(now, |d| d + interval).max(now);
                timer.deadline = Some(next);
                self.push(next, Due::Timer(id));
            }
        }
        Some(fired)
    }

    /// Gives an engine timer its closure back once it ran; a one-shot timer ends now.
    pub(crate) fn ran(&mut self, id: TimerId, closure: TimerFn) {
        let Some(timer) = self.entries.get_mut(id) else {
            return;
        };
        match timer.schedule {
            Schedule::NextTurn | Schedule::Once => {
                self.entries.remove(id);
            }
            Schedule::EachTurn | Schedule::Every(_) => timer.target = Target::Engine(Some(closure)),
        }
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
        let (deadline, _) = self.peek()?;
        if deadline > now {
            return None;
        }
        self.pop()
    }

    /// The earliest heap entry.
    pub(crate) fn peek(&self) -> Option<(Instant, Due)> {
        self.heap
            .peek()
            .map(|Reverse((deadline, _, due))| (*deadline, *due))
    }

    /// Removes the earliest heap entry.
    pub(crate) fn pop(&mut self) -> Option<(Instant, Due)> {
        self.heap
            .pop()
            .map(|Reverse((deadline, _, due))| (deadline, due))
    }

    /// The deadline timer `id` is pushed for, while it is live.
    pub(crate) fn deadline(&self, id: TimerId) -> Option<Instant> {
        self.entries.get(id)?.deadline
    }

    /// Rebuilds the heap from the entries `keep` says still matter (and live timers' own),
    /// once it holds more than twice as many as there are `channels` and timers.
    pub(crate) fn compact(&mut self, channels: usize, keep: impl Fn(Instant, Due) -> bool) {
        let bound = 2 * (channels + self.entries.len()) + 64;
        if self.heap.len() <= bound {
            return;
        }
        let entries = &self.entries;
        self.heap.retain(|Reverse((at, _, due))| match due {
            Due::Timer(id) => entries.get(*id).and_then(|timer| timer.deadline) == Some(*at),
            due => keep(*at, *due),
        });
    }

    /// How many entries the heap holds (stale ones included).
    #[cfg(test)]
    pub(crate) fn heap_len(&self) -> usize {
        self.heap.len()
    }

    /// The per-turn timers to run now, in the order they were added.
    pub(crate) fn take_per_turn(&mut self) -> Vec<TimerId> {
        let ids = std::mem::take(&mut self.per_turn);
        ids.into_iter()
            .filter(|id| self.entries.get(*id).is_some())
            .collect()
    }

    /// The earliest heap deadline (exact after the engine settled its timers).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.peek().map(|(deadline, _)| deadline)
    }

    pub(crate) fn has_per_turn(&self) -> bool {
        !self.per_turn.is_empty()
    }
}
