//! Settings of a stream channel, shared by every stream made with them.

use std::time::Duration;

use crate::framer::ReadLimits;
use crate::write_queue::WriteLimits;

/// What a stream does after an overflow (read or write).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OverflowPolicy {
    /// Close the channel after flushing what is queued (the default). The overflow callback
    /// runs first and may still write a last reply; no more frames are delivered.
    #[default]
    Close,
    /// Carry on: an oversized incoming frame is discarded up to its end, a refused write is
    /// simply not queued.
    Discard,
}

/// How a stream channel behaves: limits, timeouts, and what it does at EOF and overflow.
///
/// Build one with struct update syntax and share it (an `Arc`) between the streams of a server:
///
/// ```
/// use std::time::Duration;
/// use pants_core::StreamConfig;
///
/// let config = StreamConfig {
///     connect_timeout: Some(Duration::from_secs(5)),
///     idle_timeout: Some(Duration::from_secs(60)),
///     ..StreamConfig::default()
/// };
/// assert!(!config.half_open);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfig {
    /// Read limits (default 64 KiB, hard 8 MiB).
    pub read_limits: ReadLimits,
    /// Write queue limits (default high-water 64 KiB, hard 16 MiB).
    pub write_limits: WriteLimits,
    /// How long a connect may take before it fails with `ConnectError::TimedOut`
    /// (default: none, the OS decides).
    pub connect_timeout: Option<Duration>,
    /// Raise `Idle::Read` after this long without receiving (default: none).
    pub read_idle_timeout: Option<Duration>,
    /// Raise `Idle::Write` after this long without sending (default: none).
    pub write_idle_timeout: Option<Duration>,
    /// Raise `Idle::Both` after this long without receiving or sending (default: none).
    pub idle_timeout: Option<Duration>,
    /// While closing: how long the queue may make no progress, and then how long to wait for
    /// the peer's EOF after shutting down the write side, before closing anyway (default 5 s).
    pub linger: Duration,
    /// Keep the stream open for writing after the peer's EOF, until the application closes it
    /// (Node's `allowHalfOpen`). Default false: flush the queue, then close.
    pub half_open: bool,
    /// What to do after an overflow (default: close after flushing).
    pub overflow: OverflowPolicy,
    /// How long a TLS handshake may take, from the transport being up, before the stream
    /// fails with `TlsError::HandshakeTimeout` (default 10 s; `None`: no limit). Streams
    /// without TLS (or built without the `tls` feature) ignore it; it is there either way so
    /// that turning the feature on changes no code that spells a config out.
    pub tls_handshake_timeout: Option<Duration>,
}

impl StreamConfig {
    /// The default linger: 5 seconds.
    pub const DEFAULT_LINGER: Duration = Duration::from_secs(5);

    /// The default TLS handshake timeout: 10 seconds (as Netty's).
    pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

    /// True when an idle timeout of any kind is set.
    pub(crate) fn has_idle_timeouts(&self) -> bool {
        self.read_idle_timeout.is_some()
            || self.write_idle_timeout.is_some()
            || self.idle_timeout.is_some()
    }
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            read_limits: ReadLimits::default(),
            write_limits: WriteLimits::default(),
            connect_timeout: None,
            read_idle_timeout: None,
            write_idle_timeout: None,
            idle_timeout: None,
            linger: Self::DEFAULT_LINGER,
            half_open: false,
            overflow: OverflowPolicy::Close,
            tls_handshake_timeout: Some(Self::DEFAULT_TLS_HANDSHAKE_TIMEOUT),
        }
    }
}
