//! The engine: every channel and its handler, the timers, and the turn that drives them.
//!
//! - `mod.rs`: [`Engine`], what a driver calls, and [`EngineConfig`];
//! - `core.rs`: the engine's state, which callbacks reach through their [`Context`];
//! - `channel.rs`: one channel in the engine, and what every kind of channel does;
//! - `work.rs`, `timers.rs`, `slab.rs`: the work queues, the deadlines, the channel table;
//! - `turn.rs`: one turn (timers, then rounds of I/O and callbacks);
//! - `dispatch.rs`: running the handlers' callbacks;
//! - `context.rs`, `open.rs`: what callbacks and applications may do.

mod channel;
mod context;
mod core;
mod dispatch;
mod host_connect;
mod open;
mod slab;
#[cfg(test)]
mod tests;
mod timers;
mod turn;
mod work;
mod written;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use context::{ChannelMut, Context, EngineContext};
pub use open::{Bind, Connect, IntoAddr, Listen};
pub use written::Written;

use self::core::EngineCore;
use crate::datagram::DatagramConfig;
use crate::handler::Handler;
use crate::id::ChannelId;
use crate::io::{Io, Readiness, SocketOptions};
use crate::stream::{Stream, StreamConfig};
use channel::{Channel, flag};

/// Settings of an engine, and the defaults of the channels it opens.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Settings of streams, connected or accepted, unless given when opening them.
    pub stream: Arc<StreamConfig>,
    /// Settings of datagram channels, unless given when opening them.
    pub datagram: Arc<DatagramConfig>,
    /// Socket options, unless given when opening a channel.
    pub socket: SocketOptions,
    /// Bytes a channel may read in one turn before the others get theirs (default 256 KiB).
    pub read_budget: usize,
    /// Bytes a channel may write in one turn before the others get theirs (default 256 KiB).
    pub write_budget: usize,
    /// Bytes all channels together should read, and write, in one turn (default 16 MiB):
    /// with many busy channels, each gets an even share of it, at least 16 KiB, at most its
    /// read and write budgets. A turn that filled a thousand sockets' send buffers would keep
    /// a client whose request arrives meanwhile waiting for seconds; with the share, it waits
    /// for at most about `max(turn_budget, channels * 16 KiB)` bytes each way.
    ///
    /// The default is what the 16 KiB floor already allows a thousand channels, and it lets
    /// up to 64 busy channels have their whole budgets. Each visit to a channel costs its
    /// state's and buffers' return to the cache: at 4 MiB, 50 TLS echo connections got 82 KiB
    /// visits and spent 1.07-1.14x tokio-rustls' CPU per MB (256 KiB visits: 1.02-1.06x,
    /// `benches/tls.sh`).
    pub turn_budget: usize,
    /// Connections a server may accept in one turn (default 128).
    pub accept_budget: usize,
    /// Bytes of unfinished frames every channel together may hold (default 256 MiB). A
    /// channel's limits bound what one frame may take; many channels each holding a large
    /// unfinished frame would take their sum. Over this budget, the channel holding the most
    /// gives up its frame, as if it were over its limit (`on_overflow_error`, with this budget
    /// as the limit; then its overflow policy: by default it closes after flushing), until the
    /// channels hold less than the budget again. (Redis' `maxmemory-clients` likewise closes
    /// the clients using the most.)
    pub read_buffer_budget: usize,
    /// How long a graceful [`stop`](Engine::stop) may take: channels still open then are
    /// closed at once, their unsent bytes reported (default 5 s, a stream's default linger).
    pub stop_timeout: Duration,
    /// Let a panic in a callback unwind out of the engine instead of closing the channel.
    pub propagate_panics: bool,
    /// Record every callback run, for tests (see [`Engine::take_trace`]).
    pub trace: bool,
}

impl EngineConfig {
    /// The default stop timeout: 5 seconds.
    pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default read buffer budget: 256 MiB, which a machine with 1 GiB of memory survives.
    pub const DEFAULT_READ_BUFFER_BUDGET: usize = 256 * 1024 * 1024;
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            stream: Arc::default(),
            datagram: Arc::default(),
            socket: SocketOptions::default(),
            read_budget: 256 * 1024,
            write_budget: 256 * 1024,
            turn_budget: 16 * 1024 * 1024,
            accept_budget: 128,
            read_buffer_budget: Self::DEFAULT_READ_BUFFER_BUDGET,
            stop_timeout: Self::DEFAULT_STOP_TIMEOUT,
            propagate_panics: false,
            trace: false,
        }
    }
}

/// One callback that ran, as recorded when [`EngineConfig::trace`] is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// The channel whose handler ran.
    pub channel: ChannelId,
    /// The callback's name, such as `"on_read"`.
    pub callback: &'static str,
}

/// All channels and handlers of one event loop, as a sans-IO state machine.
///
/// A driver owns an engine and an [`Io`], and runs a loop of three steps:
///
/// ```text
///   wait for readiness, at most until poll_timeout()  ->  handle_readiness(id, ...) for each
///        ^                                                        |
///        +--------------------------- turn(io, now) <-------------+
/// ```
///
/// [`turn`](Self::turn) does everything that needs no waiting: it fires due timers, carries out
/// orders (shut down, close), writes what channels have queued, reads and accepts what the
/// readiness allows (each channel within a budget, so one busy peer cannot starve the others),
/// and runs the handlers' callbacks, until nothing is left. Sockets are edge-triggered: a
/// channel reads until its socket says `WouldBlock`.
///
/// Applications open channels through [`context`](Self::context) (or the driver's wrappers),
/// and from inside callbacks through their [`Context`].
pub struct Engine {
    core: EngineCore,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("channels", &self.core.channels.len())
            .field("now", &self.core.now())
            .field("stopping", &self.core.is_stopping())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with no channels; `now` is the time it starts at.
    pub fn new(config: EngineConfig, now: Instant) -> Self {
        Self {
            core: EngineCore::new(config, now),
        }
    }

    /// A context for opening channels, commanding them and setting timers from outside any
    /// callback (at `now`).
    pub fn context<'a>(&'a mut self, io: &'a mut dyn Io, now: Instant) -> EngineContext<'a> {
        self.core.observe(now);
        EngineContext {
            core: &mut self.core,
            io,
        }
    }

    /// A connected stream opened outside the engine (a socket the application hands over, as
    /// tokio's `TcpStream::from_std` takes one): a channel with `handler` and the engine's
    /// stream settings, open at once, as if a server had accepted it (`on_connect` comes
    /// first, at the next turn). The driver gives its socket to `Io` under the id returned
    /// before that turn.
    pub fn adopt(&mut self, handler: Box<dyn Handler>, now: Instant) -> ChannelId {
        self.core.observe(now);
        let config = self.core.config().stream.clone();
        let stream = Stream::accepted(config, now);
        self.core.insert(Channel::Stream(stream), handler)
    }

    /// The socket options channels get unless they are opened with their own.
    pub fn socket_options(&self) -> &SocketOptions {
        &self.core.config().socket
    }

    /// The poller reported readiness for channel `id`'s socket. Unknown ids are ignored.
    pub fn handle_readiness(&mut self, id: ChannelId, readiness: Readiness) {
        let Some(entry) = self.core.channels.get_mut(id) else {
            return;
        };
        if readiness.readable {
            entry.flags |= flag::READABLE;
        }
        if readiness.writable {
            entry.flags |= flag::WRITABLE;
        }
        // Readiness makes no event by itself: the I/O it allows queues the events it makes.
        self.core.queue_io(id);
    }

    /// Does everything that needs no waiting: due timers, orders, writes, reads, accepts and
    /// callbacks, until nothing is left or every channel has had its budget.
    pub fn turn(&mut self, io: &mut dyn Io, now: Instant) {
        self.core.observe(now);
        turn::run(&mut self.core, io);
    }

    /// When to run the next turn at the latest, if ever: `now` when work is left over. The
    /// deadline is exact: a cancelled timer, a closed channel or a finished connect never
    /// wakes the engine.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.has_queued_work() || self.has_per_turn_timers() {
            return Some(self.core.now());
        }
        self.next_deadline()
    }

    /// Whether channels have I/O or events waiting for the next turn (per-turn timers aside).
    pub(crate) fn has_queued_work(&self) -> bool {
        self.core.work.is_pending()
    }

    /// Whether timers run at the start of the next turn (`callback`, `each_turn`).
    pub(crate) fn has_per_turn_timers(&self) -> bool {
        self.core.timers.has_per_turn()
    }

    /// The earliest deadline of a timer or a channel timeout (per-turn timers aside).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.core.timers.next_deadline()
    }

    /// Shuts down gracefully: servers stop accepting, streams with nothing to finish (nothing
    /// queued, no partial frame) close at once (a TLS one once its `close_notify` went out,
    /// without waiting for the peer's) and the others after flushing, datagram
    /// channels once their queue is sent; whatever is still open after the
    /// [stop timeout](EngineConfig::stop_timeout) closes at once. A second call closes
    /// everything at once. The engine is [finished](Self::is_finished) when every channel is
    /// closed.
    pub fn stop(&mut self) {
        self.core.stop();
    }

    /// True after [`stop`](Self::stop) once every channel has closed.
    pub fn is_finished(&self) -> bool {
        self.core.is_stopping() && self.core.channels.len() == 0
    }

    /// How many channels are open.
    pub fn channel_count(&self) -> usize {
        self.core.channels.len()
    }

    /// Gives back the memory the engine's own tables kept from their busiest time (after a
    /// burst of connections that closed: the channel table's vacant end, the queues' and the
    /// timer heap's spare room, recycled allocations). A driver calls it when the engine has
    /// gone quiet after a burst, before asking the allocator to return freed memory to the
    /// system; calling it at any time is harmless, and costs a pass over the tables.
    pub fn release_memory(&mut self) {
        self.core.release_memory();
    }

    /// The callbacks run since the last call, when [`EngineConfig::trace`] is on.
    pub fn take_trace(&mut self) -> Vec<TraceEntry> {
        self.core.take_trace()
    }

    /// How many entries the timer heap holds, stale ones included (for tests of its bound).
    #[cfg(test)]
    pub(crate) fn timer_heap_len(&self) -> usize {
        self.core.timers.heap_len()
    }
}
