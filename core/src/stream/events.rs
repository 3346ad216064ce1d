//! The events a stream holds for its application until they are polled, kept small: the
//! common ones as bits of [`Stream::pending`](super::Stream), the rare ones (overflows, errors,
//! a failed connect) in a box that exists only while one waits, or while the stream speaks
//! TLS (its session lives there too). (The fields live in the stream itself, beside its other
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
    /// The rare box has something for the next poll: events, or (TLS) a check to make.
    pub(super) const RARE: u8 = 128;

    pub(super) fn idle(kind: Idle) -> u8 {
        kind.bit() << 4
    }
}

/// What few streams need, boxed: the rare events waiting, in the order they happened, and a
/// TLS stream's session. The box exists only while either does.
#[derive(Debug, Default)]
pub(super) struct Rare {
    pub(super) events: VecDeque<Event>,
    #[cfg(feature = "tls")]
    pub(super) tls: Option<crate::tls::TlsLayer>,
    /// The host name a client stream connected to (`Addr::Host`), for a later `start_tls`
    /// to verify the server as.
    #[cfg(feature = "tls")]
    pub(super) host: Option<crate::addr::Addr>,
}

impl Rare {
    fn is_empty(&self) -> bool {
        #[cfg(feature = "tls")]
        if self.tls.is_some() || self.host.is_some() {
            return false;
        }
        self.events.is_empty()
    }
}

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
                self.rare
                    .get_or_insert_with(Box::default)
                    .events
                    .push_back(rare);
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

    /// Asks for the rare box to be looked at on the next poll (STARTTLS's input check).
    #[cfg(feature = "tls")]
    pub(super) fn wake_rare(&mut self) {
        self.pending |= bit::RARE;
    }

    /// The next event that comes before frames: `Connected`, then the rare ones in the order
    /// they happened, `Idle`, `Drained`, and `Eof` when an error about the last frame came
    /// before it.
    pub(super) fn pop_first_event(&mut self) -> Option<Event> {
        if self.take_pending(bit::CONNECTED) {
            return Some(Event::Connected);
        }
        if self.pending & bit::RARE != 0 {
            #[cfg(feature = "tls")]
            self.tls_check_input();
            if let Some(event) = self.pop_rare() {
                return Some(event);
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

    /// Drops the events a closed stream makes moot: it no longer drains (`Drained`: its queue
    /// is gone), idles, or reads (`Eof`: the end of input it dropped, as it drops the frames
    /// still buffered; an `Eof` left waiting after a truncated frame would otherwise come
    /// between the report of unsent bytes and `Closed`).
    pub(super) fn drop_moot_events(&mut self) {
        let idle = Idle::ALL
            .into_iter()
            .map(bit::idle)
            .fold(0, |all, b| all | b);
        self.pending &= !(bit::DRAINED | bit::EOF | idle);
    }

    /// Drops every event but `Closed`, which is made to wait (after a handler panicked, its
    /// `on_close` is next).
    pub(super) fn only_closed_event(&mut self) {
        self.rare = None;
        self.pending = bit::CLOSED;
    }

    /// The last rare event waiting.
    pub(super) fn last_rare_event(&self) -> Option<&Event> {
        self.rare.as_deref()?.events.back()
    }

    /// The next rare event; the box goes once nothing is left in it.
    fn pop_rare(&mut self) -> Option<Event> {
        let rare = self.rare.as_deref_mut()?;
        let event = rare.events.pop_front();
        if rare.events.is_empty() {
            self.pending &= !bit::RARE;
            if rare.is_empty() {
                self.rare = None;
            }
        }
        event
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
