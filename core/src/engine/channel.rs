//! A channel as the engine holds it: its state machine (one of three kinds), its handler, and
//! what the engine knows of its socket. The operations every kind has are written here, once,
//! so that the engine's other parts never match on the kind to close, pause or time a channel.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Instant;

use super::slab::Generational;
use crate::datagram::Datagram;
use crate::delimiter::ReadDelimiter;
use crate::handler::Handler;
use crate::id::ChannelId;
use crate::server::Server;
use crate::stream::{Stream, StreamConfig};

/// A channel, its handler and its socket's state: one slot of the engine's slab.
pub(crate) struct Entry {
    pub(crate) channel: Channel,
    /// `None` while it runs.
    pub(crate) handler: Option<Box<dyn Handler>>,
    /// Bits of [`flag`].
    pub(crate) flags: u8,
    /// The server that accepted this stream, or [`NO_OWNER`] (an `Option<ChannelId>` would
    /// take 12 bytes, and the slot 192 instead of 184).
    owner: ChannelId,
    /// The deadline pushed for this channel's own timeout.
    pub(crate) deadline: Option<Stamp>,
    /// Its slab slot's generation.
    generation: u32,
}

/// A channel's state machine. Streams are the many; the rarer kinds are boxed so that every
/// slot does not pay for their size.
pub(crate) enum Channel {
    Stream(Stream),
    Server(Box<ServerChannel>),
    Datagram(Box<Datagram>),
}

/// A listening server, and how it makes its connections.
pub(crate) struct ServerChannel {
    pub(crate) server: Server,
    /// Makes each accepted connection's handler (Pants' `ConnectionClass`).
    pub(crate) factory: Box<dyn FnMut() -> Box<dyn Handler>>,
    /// The settings of the connections' streams.
    pub(crate) stream_config: Arc<StreamConfig>,
    /// The TLS every connection speaks, if any.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::TlsServer>,
}

/// Bits of [`Entry::flags`]: the socket's readiness, and the work queues the channel is in.
pub(crate) mod flag {
    /// The poller said readable, and no read has said it is empty since.
    pub(crate) const READABLE: u8 = 1;
    /// The poller said writable, and no write has said `WouldBlock` since.
    pub(crate) const WRITABLE: u8 = 2;
    /// In the queue of channels with I/O to do.
    pub(crate) const IN_IO_QUEUE: u8 = 4;
    /// In the queue of channels with events to dispatch.
    pub(crate) const IN_EVENT_QUEUE: u8 = 8;
    /// The driver has a socket for this channel.
    pub(crate) const OPEN: u8 = 16;
}

/// The owner of a channel no server accepted: no slot has this index (there cannot be
/// `u32::MAX` channels, each holds a socket).
const NO_OWNER: ChannelId = ChannelId {
    index: u32::MAX,
    generation: u32::MAX,
};

impl Entry {
    /// A new channel with its handler, its socket open.
    pub(crate) fn new(channel: Channel, handler: Box<dyn Handler>) -> Self {
        Self {
            channel,
            handler: Some(handler),
            flags: flag::OPEN,
            owner: NO_OWNER,
            deadline: None,
            generation: 0,
        }
    }

    /// The server that accepted this stream.
    pub(crate) fn owner(&self) -> Option<ChannelId> {
        (self.owner != NO_OWNER).then_some(self.owner)
    }

    /// Records the server that accepted this stream.
    pub(crate) fn set_owner(&mut self, server: ChannelId) {
        self.owner = server;
    }
}

impl Generational for Entry {
    fn generation(&self) -> u32 {
        self.generation
    }
    fn set_generation(&mut self, generation: u32) {
        self.generation = generation;
    }
}

impl Channel {
    /// Closes gracefully: a stream after flushing, a datagram channel after sending its
    /// queue, a server stops accepting (its connections are the engine's to close).
    pub(crate) fn close(&mut self) {
        match self {
            Channel::Stream(stream) => stream.close(),
            Channel::Server(server) => server.server.close(),
            Channel::Datagram(datagram) => datagram.close(),
        }
    }

    /// Closes at once, dropping what is queued.
    pub(crate) fn close_now(&mut self) {
        match self {
            Channel::Stream(stream) => stream.close_now(),
            Channel::Server(server) => server.server.close(),
            Channel::Datagram(datagram) => datagram.close_now(),
        }
    }

    /// Closes as an engine's stop does: what has nothing to finish (a stream connecting or
    /// idle, with nothing queued and no partial frame) at once, the rest gracefully (see
    /// `Stream::close_for_stop`).
    pub(crate) fn close_for_stop(&mut self) {
        match self {
            Channel::Stream(stream) => stream.close_for_stop(),
            channel => channel.close(),
        }
    }

    /// Closes at once and drops every pending event: `on_close` is next (after a panic).
    pub(crate) fn abort(&mut self) {
        match self {
            Channel::Stream(stream) => stream.abort(),
            Channel::Server(server) => server.server.abort(),
            Channel::Datagram(datagram) => datagram.abort(),
        }
    }

    /// True once the state machine is closed.
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Channel::Stream(stream) => stream.is_closed(),
            Channel::Server(server) => server.server.is_closed(),
            Channel::Datagram(datagram) => datagram.is_closed(),
        }
    }

    /// Stops reading (a server: accepting). Idempotent.
    pub(crate) fn pause_reading(&mut self) {
        match self {
            Channel::Stream(stream) => stream.pause_reading(),
            Channel::Server(server) => server.server.pause_accepting(),
            Channel::Datagram(datagram) => datagram.pause_reading(),
        }
    }

    /// Reads (accepts) again; true when reading was paused.
    pub(crate) fn resume_reading(&mut self) -> bool {
        let paused = self.is_read_paused();
        match self {
            Channel::Stream(stream) => stream.resume_reading(),
            Channel::Server(server) => server.server.resume_accepting(),
            Channel::Datagram(datagram) => datagram.resume_reading(),
        }
        paused
    }

    /// True while reading (accepting) is paused.
    pub(crate) fn is_read_paused(&self) -> bool {
        match self {
            Channel::Stream(stream) => stream.is_read_paused(),
            Channel::Server(server) => server.server.is_accepting_paused(),
            Channel::Datagram(datagram) => datagram.is_read_paused(),
        }
    }

    /// The read delimiter of a stream or datagram channel.
    pub(crate) fn read_delimiter(&self) -> Option<&ReadDelimiter> {
        match self {
            Channel::Stream(stream) => Some(stream.read_delimiter()),
            Channel::Datagram(datagram) => Some(datagram.read_delimiter()),
            Channel::Server(_) => None,
        }
    }

    /// Bytes queued to send, in memory.
    pub(crate) fn queued(&self) -> usize {
        match self {
            Channel::Stream(stream) => stream.write_queue().in_memory(),
            Channel::Datagram(datagram) => datagram.queued(),
            Channel::Server(_) => 0,
        }
    }

    /// Bytes received and not delivered yet (a partial frame; a datagram channel's senders'
    /// unfinished frames).
    pub(crate) fn buffered(&self) -> usize {
        match self {
            Channel::Stream(stream) => stream.framer().buffered(),
            Channel::Datagram(datagram) => datagram.buffered(),
            Channel::Server(_) => 0,
        }
    }

    /// Gives up the frame being received (a datagram channel: the largest sender's), as if it
    /// were over a limit of `limit` bytes; the bytes freed.
    pub(crate) fn give_up_frame(&mut self, limit: usize) -> usize {
        match self {
            Channel::Stream(stream) => stream.give_up_frame(limit),
            Channel::Datagram(datagram) => datagram.give_up_frame(limit),
            Channel::Server(_) => 0,
        }
    }

    /// When the state machine's own timeout is next due.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Channel::Stream(stream) => stream.poll_timeout(),
            Channel::Server(server) => server.server.poll_timeout(),
            Channel::Datagram(_) => None,
        }
    }

    /// Time passed: fires the state machine's timeouts due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        match self {
            // A stream a timer closed at once this turn has its close order pending: it
            // needs no timeout, and must not take input before that order is carried out.
            Channel::Stream(stream) if stream.is_closed() => {}
            Channel::Stream(stream) => stream.handle_timeout(now),
            Channel::Server(server) => server.server.handle_timeout(now),
            Channel::Datagram(_) => {}
        }
    }

    /// True when events may wait besides a stream's frames and EOF (which the engine
    /// dispatches right after each read).
    pub(crate) fn has_pending_events(&self) -> bool {
        match self {
            Channel::Stream(stream) => stream.has_pending_events(),
            Channel::Server(_) | Channel::Datagram(_) => true,
        }
    }
}

/// An instant as nanoseconds since the engine started, plus one (so `Option<Stamp>` is 8
/// bytes): what every channel slot keeps of its pushed deadline, in half an `Instant`'s room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp(NonZeroU64);

impl Stamp {
    /// `at`, counted from `start`.
    pub(crate) fn of(start: Instant, at: Instant) -> Self {
        let nanos = at.saturating_duration_since(start).as_nanos();
        // 2^64 ns is 584 years of uptime.
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX - 1);
        Self(NonZeroU64::MIN.saturating_add(nanos))
    }
}
