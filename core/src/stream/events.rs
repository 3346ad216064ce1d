//! The events a stream holds for its application until they are polled, kept small: the
//! common ones as bits of [`Stream::pending`](super::Stream), the rare ones (overflows, errors,
//! a failed connect) in a box that exists only while one waits, with a bit of their own among
//! the common ones: testing one byte says whether any event waits, which the engine asks before
//! each frame (10 instructions per `SET -P 16` of `benches/engine_instructions.sh`, 5 frames,
//! against testing the box too). (The fields live in the stream itself, beside its other
//! one-byte fields, so that they cost no padding: an idle stream pays 9 bytes for its events.)

use std::collections::VecDeque;

use super::{Phase, Stream};
use crate::event::{Event, Idle};

/// The bits of the common events in [`Stream::pending`](super::Stream).
mod bit {
    use crate::event::Idle;

    pub(super) const CONNECTED: u8 = 1;
    pub(super) const DRAINED: u8 = 2;
    pub(super) const EOF: u8 = 4;
    pub(super) const CLOSED: u8 = 8;

    pub(super) fn idle(kind: Idle) -> u8 {
        kind.bit() << 4
    }

    /// Rare events wait (in `Stream::rare`): `pending` alone says whether any event waits.
    pub(super) const RARE: u8 = 128;
}

/// The rare events waiting, in the order they happened.
pub(super) type Rare = Option<Box<VecDeque<Event>>>;

impl Stream {
    /// Adds `event` (nothing is added once the stream is closed). A common event already
    /// waiting is not added twice.
    pub(super) fn push_event(&mut self, event: Event) {
        if self.phase == Phase::Closed && !matches!(event, Event::Closed) {
            return;
        }
        self.pending |= match event {
            Event::Connected => bit::CONNECTED,
            Event::Drained => bit::DRAINED,
            Event::Eof => bit::EOF,
            Event::Idle(kind) => bit::idle(kind),
            Event::Closed => bit::CLOSED,
            rare => {
                self.rare.get_or_insert_with(Box::default).push_back(rare);
                bit::RARE
            }
        };
    }

    /// True when an event other than a frame or `Eof` waits: a driver that polled every
    /// frame after its last read (as the engine does) needs to poll again only then.
    #[inline]
    pub(crate) fn has_pending_events(&self) -> bool {
        self.pending != 0
    }

    /// The next event that comes before frames: `Connected`, then the rare ones in the order
    /// they happened, `Idle`, `Drained`, and `Eof` when an error about the last frame came
    /// before it.
    pub(super) fn pop_first_event(&mut self) -> Option<Event> {
        if self.take_pending(bit::CONNECTED) {
            return Some(Event::Connected);
        }
        if let Some(rare) = &mut self.rare {
            let event = rare.pop_front();
            if rare.is_empty() {
                self.rare = None;
                self.pending &= !bit::RARE;
            }
            if event.is_some() {
                return event;
            }
        }
        for kind in Idle::ALL {
            if self.take_pending(bit::idle(kind)) {
                return Some(Event::Idle(kind));
            }
        }
        if self.take_pending(bit::DRAINED) {
            return Some(Event::Drained);
        }
        if self.take_pending(bit::EOF) {
            return Some(Event::Eof);
        }
        None
    }

    /// `Closed`, the last event, if it waits.
    pub(super) fn take_closed_event(&mut self) -> bool {
        self.take_pending(bit::CLOSED)
    }

    /// Drops every event but `Closed`, which is made to wait (after a handler panicked, its
    /// `on_close` is next).
    pub(super) fn only_closed_event(&mut self) {
        self.rare = None;
        self.pending = bit::CLOSED;
    }

    fn take_pending(&mut self, bit: u8) -> bool {
        let set = self.pending & bit != 0;
        self.pending &= !bit;
        set
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::StreamConfig;
    use crate::error::{Direction, OverflowError};

    fn overflow() -> Event {
        Event::Overflow(OverflowError {
            direction: Direction::Read,
            limit: 4,
            size: 5,
        })
    }

    #[test]
    fn pending_says_whether_rare_events_wait_until_the_last_is_taken() {
        let mut stream = Stream::connecting(StreamConfig::default(), Instant::now());
        assert!(!stream.has_pending_events());
        stream.push_event(overflow());
        stream.push_event(overflow());
        assert!(stream.has_pending_events());
        assert!(matches!(stream.pop_first_event(), Some(Event::Overflow(_))));
        assert!(stream.has_pending_events(), "one is left");
        assert!(matches!(stream.pop_first_event(), Some(Event::Overflow(_))));
        assert!(!stream.has_pending_events(), "none is left");
        assert!(stream.pop_first_event().is_none());
    }
}
