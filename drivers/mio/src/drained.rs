//! Which TCP sockets are known to have nothing to read, so that the read that would only say
//! `WouldBlock` is not made.
//!
//! A TCP read that returns less than the room it was given emptied the socket's receive queue.
//! Edge-triggered epoll reports every later arrival as a new event, so until the poller
//! reports the socket again, another read can only fail with `WouldBlock`: that system call
//! is answered here instead (tokio does the same). It saves one `recv` per connection and
//! turn, a quarter of the system calls of a request-reply exchange.
//!
//! Where a short read does not mean an empty queue, reads always reach the kernel:
//! - once the poller has reported the peer's close or an error for a socket: that report came
//!   once, and the end of the stream (or the error) may be waiting behind the data of a short
//!   read;
//! - once it has reported urgent data (`EPOLLPRI`, registered for TCP streams): a read stops
//!   short at the urgent mark, with the rest queued behind it;
//! - on Unix stream sockets, whose reads stop short at a message that passes descriptors or
//!   credentials (the driver never marks them);
//! - on systems other than Linux and Android, where mio cannot ask for urgent-data events.

use mio::Interest;
use mio::event::Event;

/// What TCP streams are registered for besides reading and writing: urgent data, which makes
/// a read stop short.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const TCP_INTEREST: Interest = Interest::PRIORITY;
/// Elsewhere mio has no urgent-data events, and no read is skipped: reading again is all.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const TCP_INTEREST: Interest = Interest::READABLE;

/// Whether reads are skipped at all on this system.
const SKIPS: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// True when `event` reports urgent data.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn is_priority(event: &Event) -> bool {
    event.is_priority()
}

/// Never: mio reports no urgent data here.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn is_priority(_: &Event) -> bool {
    false
}

/// True when, after `event`, a short read no longer shows an empty queue: the peer closed,
/// an error, or urgent data.
pub(crate) fn is_last_word(event: &Event) -> bool {
    event.is_read_closed() || event.is_error() || is_priority(event)
}

/// The flag of each socket slot, by the slot index of its channel id.
#[derive(Debug, Default)]
pub(crate) struct Drained {
    states: Vec<State>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Reads go to the kernel.
    #[default]
    Unknown,
    /// The last read was short and no event came since.
    Empty,
    /// The poller reported the peer's close, an error or urgent data: reads always go to the
    /// kernel.
    Final,
}

impl Drained {
    /// True when a read of slot `index` would only say `WouldBlock`.
    pub(crate) fn is_empty(&self, index: usize) -> bool {
        self.states.get(index) == Some(&State::Empty)
    }

    /// A read of slot `index` returned `len` bytes, given room for `room`.
    pub(crate) fn read(&mut self, index: usize, len: usize, room: usize) {
        if !SKIPS || len == 0 || len >= room {
            return;
        }
        if self.states.len() <= index {
            self.states.resize(index + 1, State::Unknown);
        }
        let state = &mut self.states[index];
        if *state == State::Unknown {
            *state = State::Empty;
        }
    }

    /// The poller reported slot `index`; `last` when a short read no longer shows an empty
    /// queue ([`is_last_word`]).
    pub(crate) fn event(&mut self, index: usize, last: bool) {
        if let Some(state) = self.states.get_mut(index) {
            *state = if last || *state == State::Final {
                State::Final
            } else {
                State::Unknown
            };
        } else if last {
            self.states.resize(index + 1, State::Unknown);
            self.states[index] = State::Final;
        }
    }

    /// Slot `index` has a new socket (or none).
    pub(crate) fn reset(&mut self, index: usize) {
        if let Some(state) = self.states.get_mut(index) {
            *state = State::Unknown;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Drained;

    #[test]
    fn a_short_read_skips_reads_until_the_next_event() {
        let mut drained = Drained::default();
        assert!(!drained.is_empty(3));
        drained.read(3, 10, 100);
        assert!(drained.is_empty(3));
        assert!(!drained.is_empty(2), "other slots are not affected");
        drained.event(3, false);
        assert!(
            !drained.is_empty(3),
            "an event makes reads go to the kernel again"
        );
    }

    #[test]
    fn a_full_read_or_the_end_of_stream_does_not_skip_the_next_read() {
        let mut drained = Drained::default();
        drained.read(0, 100, 100);
        assert!(
            !drained.is_empty(0),
            "a full read may have left bytes behind"
        );
        drained.read(0, 0, 100);
        assert!(
            !drained.is_empty(0),
            "an empty read is the end of the stream"
        );
    }

    #[test]
    fn after_a_close_or_error_event_reads_always_reach_the_kernel() {
        let mut drained = Drained::default();
        drained.event(5, true);
        drained.read(5, 10, 100);
        assert!(!drained.is_empty(5));
        drained.event(5, false);
        drained.read(5, 10, 100);
        assert!(
            !drained.is_empty(5),
            "the close was reported once, and stays known"
        );
    }

    #[test]
    fn a_new_socket_in_the_slot_starts_unknown() {
        let mut drained = Drained::default();
        drained.event(1, true);
        drained.reset(1);
        drained.read(1, 10, 100);
        assert!(drained.is_empty(1));
        drained.reset(1);
        assert!(!drained.is_empty(1));
    }
}
