//! The channels a turn has yet to serve, in order: those that may have I/O to do, those with
//! events to dispatch, and those whose budget ran out last turn.
//!
//! A channel is in each queue at most once: its entry's flags ([`flag::IN_IO_QUEUE`],
//! [`flag::IN_EVENT_QUEUE`]) say whether it is. A turn takes the queues as they are at the start
//! of a round and serves them; what the round's work queues again goes into the next round.

use std::collections::VecDeque;
use std::mem;

use super::channel::{Entry, flag};
use crate::id::ChannelId;

/// The work queues of an engine.
pub(crate) struct Work {
    /// Channels that may have I/O to do.
    io: VecDeque<ChannelId>,
    /// Channels that may have events to dispatch.
    events: VecDeque<ChannelId>,
    /// Channels whose budget ran out with more to do: first in line next turn.
    carry_over: Vec<ChannelId>,
    /// Empty queues whose memory the rounds reuse.
    spare_io: VecDeque<ChannelId>,
    spare_events: VecDeque<ChannelId>,
    /// The channel whose events are being dispatched right now, as its
    /// [`to_bits`](ChannelId::to_bits) ([`NOT_DISPATCHING`] between dispatches): it is polled
    /// until it has none, so it is not queued for events again meanwhile. (Each command a
    /// handler gives its own channel asks; one comparison of a `u64` where an
    /// `Option<ChannelId>` took three: 10 instructions of a `SET -P 16`,
    /// benches/engine_instructions.sh.)
    dispatching: u64,
}

/// [`Work::dispatching`] between dispatches: the bits of no channel (no slot has index
/// `u32::MAX`: each channel holds a socket).
const NOT_DISPATCHING: u64 = u64::MAX;

impl Default for Work {
    fn default() -> Self {
        Self {
            io: VecDeque::new(),
            events: VecDeque::new(),
            carry_over: Vec::new(),
            spare_io: VecDeque::new(),
            spare_events: VecDeque::new(),
            dispatching: NOT_DISPATCHING,
        }
    }
}

/// One round's share of the work: the queues as they were when the round began.
pub(crate) struct Round {
    pub(crate) io: VecDeque<ChannelId>,
    pub(crate) events: VecDeque<ChannelId>,
}

impl Work {
    /// Queues channel `id` (of `entry`) for I/O, unless it is queued already.
    #[inline]
    pub(crate) fn queue_io(&mut self, id: ChannelId, entry: &mut Entry) {
        if entry.flags & flag::IN_IO_QUEUE == 0 {
            entry.flags |= flag::IN_IO_QUEUE;
            self.io.push_back(id);
        }
    }

    /// Queues channel `id` (of `entry`) for event dispatch, unless it is queued already or
    /// being dispatched.
    #[inline]
    pub(crate) fn queue_events(&mut self, id: ChannelId, entry: &mut Entry) {
        if entry.flags & flag::IN_EVENT_QUEUE == 0 && !self.is_dispatching(id) {
            entry.flags |= flag::IN_EVENT_QUEUE;
            self.events.push_back(id);
        }
    }

    /// Channel `id` ran out of budget with more to do: it goes first next turn.
    pub(crate) fn carry_over(&mut self, id: ChannelId) {
        self.carry_over.push(id);
    }

    /// The channels carried over from the last turn, to queue for I/O again.
    pub(crate) fn take_carried_over(&mut self) -> Vec<ChannelId> {
        mem::take(&mut self.carry_over)
    }

    /// Starts a round: takes what is queued now (`None` when nothing is).
    pub(crate) fn start_round(&mut self) -> Option<Round> {
        if self.io.is_empty() && self.events.is_empty() {
            return None;
        }
        let io = mem::replace(&mut self.io, mem::take(&mut self.spare_io));
        let events = mem::replace(&mut self.events, mem::take(&mut self.spare_events));
        Some(Round { io, events })
    }

    /// Ends a round, keeping its emptied queues' memory for the next.
    pub(crate) fn end_round(&mut self, round: Round) {
        debug_assert!(round.io.is_empty() && round.events.is_empty());
        self.spare_io = round.io;
        self.spare_events = round.events;
    }

    /// Marks `id` as the channel being dispatched; returns the one that was (dispatches nest
    /// only through a timer's callback running another channel's).
    pub(crate) fn start_dispatch(&mut self, id: ChannelId) -> Option<ChannelId> {
        let outer = std::mem::replace(&mut self.dispatching, id.to_bits());
        (outer != NOT_DISPATCHING).then(|| ChannelId::from_bits(outer))
    }

    /// True while channel `id`'s events are being dispatched.
    #[inline]
    pub(crate) fn is_dispatching(&self, id: ChannelId) -> bool {
        self.dispatching == id.to_bits()
    }

    /// Ends the dispatch [`start_dispatch`](Self::start_dispatch) began.
    pub(crate) fn end_dispatch(&mut self, outer: Option<ChannelId>) {
        self.dispatching = outer.map_or(NOT_DISPATCHING, ChannelId::to_bits);
    }

    /// Gives back the memory the queues kept from their busiest turn.
    pub(crate) fn shrink(&mut self) {
        self.io.shrink_to_fit();
        self.events.shrink_to_fit();
        self.carry_over.shrink_to_fit();
        self.spare_io = VecDeque::new();
        self.spare_events = VecDeque::new();
    }

    /// How many channels are queued for I/O.
    pub(crate) fn io_len(&self) -> usize {
        self.io.len()
    }

    /// True when a turn has work waiting, per-turn timers aside.
    pub(crate) fn is_pending(&self) -> bool {
        !self.io.is_empty() || !self.events.is_empty() || !self.carry_over.is_empty()
    }
}
