//! The engine: every channel and its handler, the timers, and the turn that drives them.

mod context;
mod dispatch;
mod host_connect;
mod open;
mod slab;
mod timers;
mod turn;

use std::collections::VecDeque;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Instant;

pub use context::{ChannelMut, Context, EngineContext};
pub use open::{Bind, Connect, IntoAddr, Listen};

use crate::datagram::{Datagram, DatagramConfig};
use crate::handler::Handler;
use crate::id::ChannelId;
use crate::io::{Io, Readiness, SocketOptions};
use crate::server::Server;
use crate::stream::{Stream, StreamConfig};
use crate::write_queue::Recycler;
use host_connect::HostConnects;
use slab::{Generational, Slab};
use timers::{Due, Timers};

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
    /// Connections a server may accept in one turn (default 128).
    pub accept_budget: usize,
    /// Let a panic in a callback unwind out of the engine instead of closing the channel.
    pub propagate_panics: bool,
    /// Record every callback run, for tests (see [`Engine::take_trace`]).
    pub trace: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            stream: Arc::default(),
            datagram: Arc::default(),
            socket: SocketOptions::default(),
            read_budget: 256 * 1024,
            accept_budget: 128,
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

/// What callbacks may touch: everything but the handler that is running.
pub(crate) struct EngineCore {
    pub(crate) channels: Slab<ChannelId, Entry>,
    pub(crate) timers: Timers,
    pub(crate) now: Instant,
    /// When the engine started: [`Stamp`]s count from here.
    start: Instant,
    pub(crate) config: EngineConfig,
    /// Channels that may have I/O to do.
    pub(crate) io_queue: VecDeque<ChannelId>,
    /// Channels that may have events to dispatch.
    pub(crate) event_queue: VecDeque<ChannelId>,
    /// Channels whose budget ran out with more to read: first in line next turn.
    pub(crate) carry_over: Vec<ChannelId>,
    /// Empty lists whose memory the turn reuses for its rounds.
    spare_ios: VecDeque<ChannelId>,
    spare_events: VecDeque<ChannelId>,
    /// Allocations of drained write queues, for the next writes of any stream.
    pub(crate) recycler: Recycler,
    pub(crate) stopping: bool,
    /// The channel whose events are being dispatched right now.
    pub(crate) dispatching: Option<ChannelId>,
    trace: Option<Vec<TraceEntry>>,
    /// The addresses left to try of connects to host names.
    pub(crate) host_connects: HostConnects,
}

/// A channel, its handler and its socket's state.
pub(crate) struct Entry {
    pub(crate) channel: Channel,
    /// `None` while it runs.
    pub(crate) handler: Option<Box<dyn Handler>>,
    pub(crate) flags: u8,
    /// The server that accepted this stream, or [`NO_OWNER`] (an `Option<ChannelId>` would
    /// take 12 bytes, and the slot 200 instead of 192).
    owner: ChannelId,
    /// The deadline pushed for this channel's own timeout.
    pub(crate) deadline: Option<Stamp>,
    /// Its slab slot's generation.
    generation: u32,
}

impl Entry {
    /// Puts channel `id` (this entry's) in the I/O queue, unless it is there already: what
    /// [`EngineCore::queue_io`] does, for a caller holding the entry.
    #[inline]
    pub(crate) fn queue_io(&mut self, id: ChannelId, io_queue: &mut VecDeque<ChannelId>) {
        if self.flags & flag::IN_IO_QUEUE == 0 {
            self.flags |= flag::IN_IO_QUEUE;
            io_queue.push_back(id);
        }
    }
}

/// The owner of a channel no server accepted: no slot has this index (there cannot be
/// `u32::MAX` channels, each holds a socket).
const NO_OWNER: ChannelId = ChannelId {
    index: u32::MAX,
    generation: u32::MAX,
};

impl Entry {
    /// The server that accepted this stream.
    pub(crate) fn owner(&self) -> Option<ChannelId> {
        (self.owner != NO_OWNER).then_some(self.owner)
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

/// An instant as nanoseconds since the engine started, plus one (so `Option<Stamp>` is 8
/// bytes): what every channel slot keeps of its pushed deadline, in half an `Instant`'s room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp(NonZeroU64);

impl Stamp {
    fn of(start: Instant, at: Instant) -> Self {
        let nanos = at.saturating_duration_since(start).as_nanos();
        // 2^64 ns is 584 years of uptime.
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX - 1);
        Self(NonZeroU64::MIN.saturating_add(nanos))
    }
}

/// A channel's state machine. Streams are the many; the rarer kinds are boxed so that every
/// slot does not pay for their size.
pub(crate) enum Channel {
    Stream(Stream),
    Server(Box<ServerChannel>),
    Datagram(Box<Datagram>),
}

pub(crate) struct ServerChannel {
    pub(crate) server: Server,
    pub(crate) factory: Box<dyn FnMut() -> Box<dyn Handler>>,
    pub(crate) stream_config: Arc<StreamConfig>,
}

/// Entry flags.
pub(crate) mod flag {
    /// The poller said readable, and no read has said `WouldBlock` since.
    pub(crate) const READABLE: u8 = 1;
    /// The poller said writable, and no write has said `WouldBlock` since.
    pub(crate) const WRITABLE: u8 = 2;
    pub(crate) const IN_IO_QUEUE: u8 = 4;
    pub(crate) const IN_EVENT_QUEUE: u8 = 8;
    /// The driver has a socket for this channel.
    pub(crate) const OPEN: u8 = 16;
}

impl Engine {
    /// An engine with no channels; `now` is the time it starts at.
    pub fn new(config: EngineConfig, now: Instant) -> Self {
        let trace = config.trace.then(Vec::new);
        Self {
            core: EngineCore {
                channels: Slab::new(),
                timers: Timers::new(),
                now,
                start: now,
                config,
                io_queue: VecDeque::new(),
                event_queue: VecDeque::new(),
                carry_over: Vec::new(),
                spare_ios: VecDeque::new(),
                spare_events: VecDeque::new(),
                recycler: Recycler::default(),
                stopping: false,
                dispatching: None,
                trace,
                host_connects: HostConnects::default(),
            },
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

    /// Whether `id` names a channel the engine holds: not one that closed, even if a new
    /// channel has its slot now. A driver asks before acting on an answer that comes late (a
    /// resolved host name), since it is told only of live channels otherwise.
    pub fn is_live(&self, id: ChannelId) -> bool {
        self.core.channels.get(id).is_some()
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

    /// When to run the next turn at the latest, if ever: `now` when work is left over.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.has_queued_work() || self.has_per_turn_timers() {
            return Some(self.core.now);
        }
        self.next_deadline()
    }

    /// Whether channels have I/O or events waiting for the next turn (per-turn timers aside).
    pub(crate) fn has_queued_work(&self) -> bool {
        let core = &self.core;
        !core.io_queue.is_empty() || !core.event_queue.is_empty() || !core.carry_over.is_empty()
    }

    /// Whether timers run at the start of the next turn (`callback`, `each_turn`).
    pub(crate) fn has_per_turn_timers(&self) -> bool {
        self.core.timers.has_per_turn()
    }

    /// The earliest deadline of a timer or a channel timeout (per-turn timers aside).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.core.timers.next_deadline()
    }

    /// Shuts down gracefully: servers stop accepting, streams close after flushing (bounded by
    /// their linger time), datagram channels close once their queue is sent. The engine is
    /// [finished](Self::is_finished) when every channel is closed.
    pub fn stop(&mut self) {
        self.core.stop();
    }

    /// True after [`stop`](Self::stop) once every channel has closed.
    pub fn is_finished(&self) -> bool {
        self.core.stopping && self.core.channels.len() == 0
    }

    /// How many channels are open.
    pub fn channel_count(&self) -> usize {
        self.core.channels.len()
    }

    /// The callbacks run since the last call, when [`EngineConfig::trace`] is on.
    pub fn take_trace(&mut self) -> Vec<TraceEntry> {
        self.core
            .trace
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

impl EngineCore {
    fn observe(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    /// Queues channel `id` for I/O and event dispatch this turn.
    #[inline]
    pub(crate) fn touch(&mut self, id: ChannelId) {
        self.queue_io(id);
        self.queue_events_unless_dispatching(id);
    }

    /// True while channel `id` exists and its state machine is not closed.
    pub(crate) fn is_open(&self, id: ChannelId) -> bool {
        match self.channels.get(id).map(|entry| &entry.channel) {
            Some(Channel::Stream(stream)) => !stream.is_closed(),
            Some(Channel::Server(server)) => !server.server.is_closed(),
            Some(Channel::Datagram(datagram)) => !datagram.is_closed(),
            None => false,
        }
    }

    /// Queues the channel's events, unless it is the one being dispatched (which is polled
    /// until it has none).
    #[inline]
    pub(crate) fn queue_events_unless_dispatching(&mut self, id: ChannelId) {
        if self.dispatching != Some(id) {
            self.queue_events(id);
        }
    }

    #[inline]
    pub(crate) fn queue_io(&mut self, id: ChannelId) {
        if let Some(entry) = self.channels.get_mut(id) {
            entry.queue_io(id, &mut self.io_queue);
        }
    }

    #[inline]
    pub(crate) fn queue_events(&mut self, id: ChannelId) {
        let Some(entry) = self.channels.get_mut(id) else {
            return;
        };
        if entry.flags & flag::IN_EVENT_QUEUE == 0 {
            entry.flags |= flag::IN_EVENT_QUEUE;
            self.event_queue.push_back(id);
        }
    }

    /// After channel `id`'s I/O: it leaves the I/O queue only now, so that what its own
    /// callbacks asked during that I/O (which loops until nothing is left) does not queue it
    /// again; its events are queued if it has any. A stream's frames and EOF were dispatched
    /// right after each read, so only its other events count. Without events to dispatch
    /// (whose dispatch does it), its deadline is brought up to date here: the I/O and the
    /// callbacks in it may have moved it (a close starts the linger).
    pub(crate) fn after_io(&mut self, id: ChannelId) {
        let Some(entry) = self.channels.get_mut(id) else {
            return;
        };
        entry.flags &= !flag::IN_IO_QUEUE;
        let has_events = match &entry.channel {
            Channel::Stream(stream) => stream.has_pending_events(),
            Channel::Server(_) | Channel::Datagram(_) => true,
        };
        if !has_events {
            self.sync_deadline(id);
        } else if entry.flags & flag::IN_EVENT_QUEUE == 0 {
            entry.flags |= flag::IN_EVENT_QUEUE;
            self.event_queue.push_back(id);
        }
    }

    fn clear_flag(&mut self, id: ChannelId, bit: u8) {
        if let Some(entry) = self.channels.get_mut(id) {
            entry.flags &= !bit;
        }
    }

    /// Closes the channel's socket, once.
    pub(crate) fn close_socket(&mut self, io: &mut dyn Io, id: ChannelId) {
        let Some(entry) = self.channels.get_mut(id) else {
            return;
        };
        if entry.flags & flag::OPEN == 0 {
            return;
        }
        entry.flags &= !(flag::OPEN | flag::READABLE | flag::WRITABLE);
        io.close(id);
    }

    /// Adds a stream a server accepted.
    fn insert_accepted(
        &mut self,
        config: Arc<StreamConfig>,
        handler: Box<dyn Handler>,
        server: ChannelId,
    ) -> ChannelId {
        let id = self.insert(Channel::Stream(Stream::accepted(config, self.now)), handler);
        if let Some(entry) = self.channels.get_mut(id) {
            entry.owner = server;
        }
        id
    }

    /// Records that `channel`'s callback (named by `name`) runs, when tracing.
    #[inline]
    pub(crate) fn record(&mut self, channel: ChannelId, name: impl FnOnce() -> &'static str) {
        if let Some(trace) = &mut self.trace {
            trace.push(TraceEntry {
                channel,
                callback: name(),
            });
        }
    }

    /// Pushes the channel's own next timeout into the heap, unless an earlier one is there.
    pub(crate) fn sync_deadline(&mut self, id: ChannelId) {
        let Some(entry) = self.channels.get_mut(id) else {
            return;
        };
        let next = match &entry.channel {
            Channel::Stream(stream) => stream.poll_timeout(),
            Channel::Server(server) => server.server.poll_timeout(),
            Channel::Datagram(_) => None,
        };
        let Some(next) = next else { return };
        let stamp = Stamp::of(self.start, next);
        if entry.deadline.is_some_and(|pushed| pushed <= stamp) {
            return;
        }
        entry.deadline = Some(stamp);
        self.timers.push(next, Due::Channel(id));
    }

    /// The stamp of `at`, for comparing with a channel's pushed deadline.
    pub(crate) fn stamp(&self, at: Instant) -> Stamp {
        Stamp::of(self.start, at)
    }

    fn stop(&mut self) {
        self.stopping = true;
        for id in self.channels.ids() {
            self.stop_channel(id);
        }
    }

    /// Closes a channel as a stop does: gracefully, but at once if it is still connecting.
    fn stop_channel(&mut self, id: ChannelId) {
        if let Some(entry) = self.channels.get_mut(id) {
            match &mut entry.channel {
                Channel::Stream(stream) if stream.is_connecting() => stream.close_now(),
                Channel::Stream(stream) => stream.close(),
                Channel::Server(server) => server.server.close(),
                Channel::Datagram(datagram) => datagram.close(),
            }
        }
        self.touch(id);
    }

    /// Closes a channel at once and drops its pending events: `on_close` is next.
    pub(crate) fn abort(&mut self, id: ChannelId) {
        if let Some(entry) = self.channels.get_mut(id) {
            match &mut entry.channel {
                Channel::Stream(stream) => stream.abort(),
                Channel::Server(server) => server.server.abort(),
                Channel::Datagram(datagram) => datagram.abort(),
            }
        }
        self.touch(id);
    }

    pub(crate) fn insert(&mut self, channel: Channel, handler: Box<dyn Handler>) -> ChannelId {
        let id = self.channels.insert(Entry {
            channel,
            handler: Some(handler),
            flags: flag::OPEN,
            owner: NO_OWNER,
            deadline: None,
            generation: 0,
        });
        self.touch(id);
        if self.stopping {
            // Opened while stopping (say, from an on_close): it goes the same way.
            self.stop_channel(id);
        }
        id
    }
}
