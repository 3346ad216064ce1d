//! Errors, one small type per operation.
//!
//! Caller misuse (an invalid delimiter, a write after `close`) is kept apart from what the peer or
//! the operating system did (a reset, a refused connection, a frame cut short by EOF). Every type
//! converts into [`io::Error`] so it can travel through `?` in driver and application code.

use std::fmt;
use std::io;

use bytes::Bytes;

/// Which way the bytes were flowing when a buffer went over its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Incoming bytes: a frame longer than the read limit.
    Read,
    /// Outgoing bytes: a write that would take the queue over its hard limit.
    Write,
}

/// A buffer went over its limit (Pants' `on_overflow_error`).
///
/// For reads, `size` is the length of the offending frame as far as it was known when the
/// overflow became certain (always more than `limit`). For writes, it is the queue length the
/// refused write would have produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OverflowError {
    pub(crate) direction: Direction,
    pub(crate) limit: usize,
    pub(crate) size: usize,
}

impl OverflowError {
    /// Which buffer overflowed.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The limit that was exceeded, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The size that exceeded it, in bytes (see the type's docs).
    pub fn size(&self) -> usize {
        self.size
    }
}

impl fmt::Display for OverflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.direction {
            Direction::Read => write!(
                f,
                "incoming frame of {}+ bytes is over the read limit of {} bytes",
                self.size, self.limit
            ),
            Direction::Write => write!(
                f,
                "write would queue {} bytes, over the write limit of {} bytes",
                self.size, self.limit
            ),
        }
    }
}

impl std::error::Error for OverflowError {}

impl From<OverflowError> for io::Error {
    fn from(err: OverflowError) -> io::Error {
        io::Error::new(io::ErrorKind::OutOfMemory, err)
    }
}

/// A read delimiter or read limit refused when it was set. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DelimiterError {
    /// A byte-string delimiter must have at least one byte.
    EmptyBytes,
    /// A count delimiter must be at least 1.
    ZeroCount,
    /// A count delimiter, a length prefix's header, or the body of an
    /// [`after`](crate::ReadDelimiter::after) delimiter, larger than the channel's hard read
    /// limit.
    OverHardLimit {
        /// The count or header length asked for.
        size: usize,
        /// The hard limit it exceeds.
        hard_limit: usize,
    },
    /// Only a byte-string delimiter can be searched for after a count
    /// ([`ReadDelimiter::after`](crate::ReadDelimiter::after)).
    NotSearched,
    /// A body searched after ([`ReadDelimiter::after`](crate::ReadDelimiter::after)) must be
    /// long enough to end with the delimiter.
    BodyShorterThanDelimiter {
        /// The body's length asked for.
        body: usize,
        /// The delimiter's length.
        delimiter: usize,
    },
    /// A length field must be 1, 2, 4 or 8 bytes long.
    FieldLength(usize),
    /// A length prefix may strip at most its header (offset plus field).
    StripBeyondHeader {
        /// The bytes to strip that were asked for.
        strip: usize,
        /// The header length.
        header: usize,
    },
    /// A read limit must be at least 1 and at most the hard limit.
    Limit {
        /// The read limit asked for.
        limit: usize,
        /// The hard limit in force.
        hard_limit: usize,
    },
    /// A regular expression that does not compile.
    #[cfg(feature = "regex")]
    Regex(String),
    /// A regular expression that can match the empty string would cut empty frames forever.
    #[cfg(feature = "regex")]
    EmptyMatch,
}

impl fmt::Display for DelimiterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyBytes => f.write_str("a byte-string read delimiter must not be empty"),
            Self::ZeroCount => f.write_str("a count read delimiter must be at least 1"),
            Self::OverHardLimit { size, hard_limit } => write!(
                f,
                "a read delimiter needing {size} bytes is over the hard read limit of {hard_limit}"
            ),
            Self::NotSearched => f.write_str(
                "only a byte-string read delimiter can be searched for after a count of bytes",
            ),
            Self::BodyShorterThanDelimiter { body, delimiter } => write!(
                f,
                "a body of {body} bytes cannot end with a delimiter of {delimiter} bytes"
            ),
            Self::FieldLength(len) => {
                write!(f, "a length field must be 1, 2, 4 or 8 bytes, not {len}")
            }
            Self::StripBeyondHeader { strip, header } => write!(
                f,
                "a length prefix cannot strip {strip} bytes from a {header}-byte header"
            ),
            Self::Limit { limit, hard_limit } => write!(
                f,
                "a read limit of {limit} bytes is not within 1..={hard_limit} (the hard limit)"
            ),
            #[cfg(feature = "regex")]
            Self::Regex(msg) => write!(f, "invalid read delimiter pattern: {msg}"),
            #[cfg(feature = "regex")]
            Self::EmptyMatch => {
                f.write_str("a read delimiter pattern must not match the empty string")
            }
        }
    }
}

impl std::error::Error for DelimiterError {}

impl From<DelimiterError> for io::Error {
    fn from(err: DelimiterError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, err)
    }
}

/// A length prefix whose value, after adjustment, cannot describe a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameLengthError {
    pub(crate) value: u64,
    pub(crate) adjustment: i64,
}

impl FrameLengthError {
    /// The value the peer sent in the length field.
    pub fn value(&self) -> u64 {
        self.value
    }
}

impl fmt::Display for FrameLengthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "length field {} with adjustment {} gives no valid frame length",
            self.value, self.adjustment
        )
    }
}

impl std::error::Error for FrameLengthError {}

/// Why the framer could not produce the next frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is over the read limit. The framer discards it and carries on after it; but
    /// for a custom frame whose size is not known, which has no end to discard to: then the
    /// framer stops ([`has_stopped`](crate::channel::Framer::has_stopped)).
    Overflow(OverflowError),
    /// The peer sent a length prefix that describes no frame. The framer stops: nothing after
    /// it can be trusted to be aligned on a frame.
    Length(FrameLengthError),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Overflow(err) => err.fmt(f),
            Self::Length(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for FrameError {}

/// The peer closed its side in the middle of a frame. The bytes it did send are kept here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncatedFrame {
    pub(crate) bytes: Bytes,
}

impl TruncatedFrame {
    /// How many bytes of the unfinished frame arrived.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a truncated frame has at least one byte.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes of the unfinished frame.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

impl fmt::Display for TruncatedFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "peer closed in the middle of a frame ({} bytes received)",
            self.len()
        )
    }
}

impl std::error::Error for TruncatedFrame {}

impl From<TruncatedFrame> for io::Error {
    fn from(frame: TruncatedFrame) -> io::Error {
        io::Error::new(io::ErrorKind::UnexpectedEof, frame)
    }
}

/// Bytes that were queued to send and never sent: the channel closed before they went out
/// (its flush stalled past the linger time or the engine's stop deadline, it was closed at
/// once, or the connection failed). Reported before `on_close`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Unsent {
    pub(crate) bytes: u64,
}

impl Unsent {
    /// How many queued bytes were dropped (file ranges counted by their unsent length).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl fmt::Display for Unsent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "closed with {} queued bytes never sent", self.bytes)
    }
}

impl std::error::Error for Unsent {}

/// A datagram sender's unfinished frame, dropped to make room for another sender's: a datagram
/// channel with a read delimiter buffers unfinished frames for at most
/// [`max_senders`](crate::DatagramConfig::max_senders) senders at once, and the one heard from
/// least recently goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvictedFrame {
    pub(crate) peer: crate::Addr,
    pub(crate) bytes: Bytes,
}

impl EvictedFrame {
    /// The sender whose bytes were dropped.
    pub fn peer(&self) -> &crate::Addr {
        &self.peer
    }

    /// The bytes of its unfinished frame.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

impl fmt::Display for EvictedFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "dropped {} bytes of an unfinished frame from {} to make room for another sender",
            self.bytes.len(),
            self.peer
        )
    }
}

impl std::error::Error for EvictedFrame {}

/// An error on an established channel (Pants' `on_error`). The channel closes after it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The peer reset the connection (`ECONNRESET`, `ECONNABORTED`, `EPIPE`).
    Reset,
    /// The peer closed its side with an unfinished frame in the read buffer.
    TruncatedFrame(TruncatedFrame),
    /// The channel closed with bytes queued that were never sent; `on_close` follows.
    Unsent(Unsent),
    /// A datagram sender's unfinished frame was dropped to make room for another sender's
    /// (the channel stays open).
    Evicted(EvictedFrame),
    /// The peer sent a length prefix that describes no frame.
    FrameLength(FrameLengthError),
    /// Any other I/O error reported by the driver.
    Io(io::Error),
    /// The channel's handler panicked (with this message); the channel is closed at once.
    Panic(String),
}

impl Error {
    /// The kind of I/O error this is, as `io::Error::from` gives it: `ConnectionReset`,
    /// `UnexpectedEof` for a truncated frame, `WriteZero` for unsent bytes, `OutOfMemory` for
    /// an evicted frame, `InvalidData` for a bad length prefix, the error's own for an I/O
    /// error, `Other` for a panic. For code that keeps a copy of the error with its kind:
    ///
    /// ```
    /// use std::io;
    /// use pants_core::Error;
    ///
    /// let err = Error::Reset;
    /// let kept = io::Error::new(err.kind(), err.to_string());
    /// assert_eq!(kept.kind(), io::ErrorKind::ConnectionReset);
    /// ```
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            Error::Reset => io::ErrorKind::ConnectionReset,
            Error::TruncatedFrame(_) => io::ErrorKind::UnexpectedEof,
            Error::Unsent(_) => io::ErrorKind::WriteZero,
            Error::Evicted(_) => io::ErrorKind::OutOfMemory,
            Error::FrameLength(_) => io::ErrorKind::InvalidData,
            Error::Io(err) => err.kind(),
            Error::Panic(_) => io::ErrorKind::Other,
        }
    }

    /// Classifies an I/O error from a read, write or shutdown on an established channel.
    pub fn from_io(err: io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Self::Reset,
            _ => Self::Io(err),
        }
    }

    /// The unfinished frame's bytes, when this is a [`Error::TruncatedFrame`].
    pub fn truncated_frame(&self) -> Option<&TruncatedFrame> {
        match self {
            Self::TruncatedFrame(frame) => Some(frame),
            _ => None,
        }
    }

    /// How many queued bytes were never sent, when this is an [`Error::Unsent`].
    pub fn unsent(&self) -> Option<u64> {
        match self {
            Self::Unsent(unsent) => Some(unsent.bytes()),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reset => f.write_str("connection reset by peer"),
            Self::TruncatedFrame(frame) => frame.fmt(f),
            Self::Unsent(unsent) => unsent.fmt(f),
            Self::Evicted(evicted) => evicted.fmt(f),
            Self::FrameLength(err) => err.fmt(f),
            Self::Io(err) => err.fmt(f),
            Self::Panic(message) => write!(f, "handler panicked: {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(err) => Some(err),
            Self::TruncatedFrame(frame) => Some(frame),
            Self::Unsent(unsent) => Some(unsent),
            Self::Evicted(evicted) => Some(evicted),
            Self::FrameLength(err) => Some(err),
            _ => None,
        }
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        let kind = err.kind();
        match err {
            Error::Reset => kind.into(),
            Error::TruncatedFrame(frame) => frame.into(),
            Error::Unsent(unsent) => io::Error::new(kind, unsent),
            Error::Evicted(evicted) => io::Error::new(kind, evicted),
            Error::FrameLength(err) => io::Error::new(kind, err),
            Error::Io(err) => err,
            Error::Panic(message) => io::Error::new(kind, format!("handler panicked: {message}")),
        }
    }
}

/// Why a connection attempt failed (Pants' `on_connect_error`). The channel closes after it.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// Nothing listens at the address (`ECONNREFUSED`).
    Refused,
    /// The connect timeout passed before the connection was established.
    TimedOut,
    /// No route to the host or network.
    Unreachable,
    /// The host name could not be resolved.
    Resolve(io::Error),
    /// Any other I/O error.
    Io(io::Error),
}

impl ConnectError {
    /// The kind of I/O error this is, as `io::Error::from` gives it: `ConnectionRefused`,
    /// `TimedOut`, `HostUnreachable`, or the underlying error's own.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            ConnectError::Refused => io::ErrorKind::ConnectionRefused,
            ConnectError::TimedOut => io::ErrorKind::TimedOut,
            ConnectError::Unreachable => io::ErrorKind::HostUnreachable,
            ConnectError::Resolve(err) | ConnectError::Io(err) => err.kind(),
        }
    }

    /// Classifies an I/O error from a non-blocking connect. (A failed host-name lookup is
    /// reported to the engine as such, [`Engine::handle_resolved`](crate::driver::Engine::handle_resolved),
    /// and becomes [`Resolve`](Self::Resolve) there.)
    pub fn from_io(err: io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::ConnectionRefused => Self::Refused,
            io::ErrorKind::TimedOut => Self::TimedOut,
            io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => Self::Unreachable,
            _ => Self::Io(err),
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused => f.write_str("connection refused"),
            Self::TimedOut => f.write_str("connect timed out"),
            Self::Unreachable => f.write_str("host or network unreachable"),
            Self::Resolve(err) => write!(f, "could not resolve host: {err}"),
            Self::Io(err) => write!(f, "connect failed: {err}"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Resolve(err) | Self::Io(err) => Some(err),
            _ => None,
        }
    }
}

impl From<ConnectError> for io::Error {
    fn from(err: ConnectError) -> io::Error {
        match err {
            ConnectError::Resolve(err) | ConnectError::Io(err) => err,
            other => other.kind().into(),
        }
    }
}

/// A write the channel refused. Nothing of it was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteError {
    /// The channel is closing (`close` was called, or it winds down after the peer's EOF or an
    /// overflow): it sends what was queued before, and takes no more writes.
    Closing,
    /// The channel is closed, or gone.
    Closed,
    /// The write would take the queue over its hard limit (an overflow event is raised too).
    Overflow(OverflowError),
    /// A datagram channel was written to outside `on_read`, with no sender to reply to: use
    /// `write_to` with an address.
    NoPeer,
    /// This kind of channel takes no writes (a server), or not this kind (a file range on a
    /// datagram channel).
    Unsupported,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closing => f.write_str("channel is closing: it takes no more writes"),
            Self::Closed => f.write_str("channel is closed"),
            Self::Overflow(err) => err.fmt(f),
            Self::NoPeer => f.write_str("no datagram sender to reply to: give an address"),
            Self::Unsupported => f.write_str("this channel does not take this write"),
        }
    }
}

impl std::error::Error for WriteError {}

impl From<WriteError> for io::Error {
    fn from(err: WriteError) -> io::Error {
        match err {
            WriteError::Closing => io::Error::new(io::ErrorKind::BrokenPipe, err),
            WriteError::Closed => io::Error::new(io::ErrorKind::NotConnected, err),
            WriteError::Overflow(err) => err.into(),
            WriteError::NoPeer => io::Error::new(io::ErrorKind::InvalidInput, err),
            WriteError::Unsupported => io::Error::new(io::ErrorKind::Unsupported, err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_kinds_classify_as_reset() {
        for kind in [
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::ConnectionAborted,
            io::ErrorKind::BrokenPipe,
        ] {
            assert!(matches!(Error::from_io(kind.into()), Error::Reset));
        }
        assert!(matches!(
            Error::from_io(io::ErrorKind::Other.into()),
            Error::Io(_)
        ));
    }

    #[test]
    fn connect_errors_classify_by_kind() {
        let refused = ConnectError::from_io(io::ErrorKind::ConnectionRefused.into());
        assert!(matches!(refused, ConnectError::Refused));
        let unreachable = ConnectError::from_io(io::ErrorKind::NetworkUnreachable.into());
        assert!(matches!(unreachable, ConnectError::Unreachable));
        let back: io::Error = ConnectError::Refused.into();
        assert_eq!(back.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn overflow_message_names_limit_and_size() {
        let err = OverflowError {
            direction: Direction::Read,
            limit: 10,
            size: 12,
        };
        assert_eq!(
            err.to_string(),
            "incoming frame of 12+ bytes is over the read limit of 10 bytes"
        );
    }
}
