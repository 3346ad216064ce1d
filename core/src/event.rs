//! What a channel tells its driver ([`Action`]) and its application ([`Event`]).

use bytes::Bytes;

use crate::error::{ConnectError, Error, OverflowError};

/// Something that happened on a channel, for the application: each variant is one of Pants'
/// callbacks. [`Event::Closed`] is always the last event of a channel, and comes exactly once.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The connection is established (`on_connect`); comes before any [`Event::Read`].
    Connected,
    /// A frame was received, cut by the read delimiter (`on_read`).
    Read(Bytes),
    /// The write queue became empty (`on_write`): a producer waiting on it may write again.
    Drained,
    /// The peer shut down its side, after the last frame it sent (`on_eof`). Unless the channel
    /// is half-open, it then closes once its queue is flushed; it may still write until then.
    Eof,
    /// A buffer went over its limit (`on_overflow_error`).
    Overflow(OverflowError),
    /// The connection could not be established (`on_connect_error`); [`Event::Closed`] follows.
    ConnectFailed(ConnectError),
    /// The connection failed or the peer misbehaved (`on_error`).
    Error(Error),
    /// Nothing was received, sent, or either, for the configured time (`on_idle`).
    Idle(Idle),
    /// The TLS handshake completed (`on_tls_handshake`); comes before the first
    /// [`Event::Read`] of a TLS stream.
    #[cfg(feature = "tls")]
    TlsHandshake,
    /// The TLS session failed, or the peer's end was a truncation (`on_tls_error`); the
    /// channel closes.
    #[cfg(feature = "tls")]
    TlsError(crate::tls::TlsError),
    /// The channel is closed (`on_close`). Nothing follows.
    Closed,
}

/// Which idle timeout expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Idle {
    /// No bytes were received for the read idle timeout.
    Read,
    /// No bytes were drained to the socket for the write idle timeout (bytes merely queued do
    /// not count: a slow reader draining a large write is not idle).
    Write,
    /// Neither for the idle timeout.
    Both,
}

impl Idle {
    pub(crate) const ALL: [Idle; 3] = [Idle::Read, Idle::Write, Idle::Both];

    pub(crate) fn bit(self) -> u8 {
        match self {
            Idle::Read => 1,
            Idle::Write => 2,
            Idle::Both => 4,
        }
    }
}

/// An order for the driver, to carry out before feeding the channel more input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Shut down the socket's write side (`shutdown(SHUT_WR)`): everything queued was sent.
    Shutdown,
    /// Close the socket and forget the channel: no more input is expected.
    Close,
}
