//! What callbacks may touch: every channel but the handler that is running, the timers, the
//! work queues, and the engine's time and settings. Each piece has its own type and
//! interface (`channel.rs`, `timers.rs`, `work.rs`); this file holds what needs several of them.

use std::sync::Arc;
use std::time::Instant;

use super::channel::{Channel, Entry, Stamp, flag};
use super::host_connect::HostConnects;
use super::slab::Slab;
use super::timers::{Due, Timers};
use super::work::Work;
use super::{EngineConfig, TraceEntry};
use crate::handler::Handler;
use crate::id::ChannelId;
use crate::io::Io;
use crate::stream::{Stream, StreamConfig};
use crate::write_queue::Recycler;

/// The engine's state, but the handlers that are running.
pub(crate) struct EngineCore {
    /// Every channel and its handler.
    pub(crate) channels: Slab<ChannelId, Entry>,
    /// Channel timeouts and the application's timers.
    pub(crate) timers: Timers,
    /// The channels the turn has yet to serve.
    pub(crate) work: Work,
    /// Allocations of drained write queues, for the next writes of any stream.
    pub(crate) recycler: Recycler,
    /// The addresses left to try of connects to host names.
    pub(crate) host_connects: HostConnects,
    /// At least the bytes of unfinished frames all channels hold (an upper bound, made exact
    /// when it passes the budget: see [`account_read`](Self::account_read)).
    buffered: usize,
    /// The time of the current turn.
    now: Instant,
    /// When the engine started: [`Stamp`]s count from here.
    start: Instant,
    config: EngineConfig,
    stop: StopState,
    trace: Option<Vec<TraceEntry>>,
}

/// Where a graceful stop stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopState {
    Running,
    /// Channels close gracefully, each at its pace, until the stop deadline.
    Stopping,
    /// The deadline passed, or a second stop came: every channel closes at once.
    Closing,
}

impl EngineCore {
    pub(crate) fn new(config: EngineConfig, now: Instant) -> Self {
        let trace = config.trace.then(Vec::new);
        Self {
            channels: Slab::new(),
            timers: Timers::new(),
            work: Work::default(),
            recycler: Recycler::default(),
            host_connects: HostConnects::default(),
            buffered: 0,
            now,
            start: now,
            config,
            stop: StopState::Running,
            trace,
        }
    }

    // ---- Time and settings ------------------------------------------------------------------

    /// The time of the current turn.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    /// Moves the engine's time to `now` (never back).
    pub(crate) fn observe(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    pub(crate) fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The stamp of `at`, for comparing with a channel's pushed deadline.
    pub(crate) fn stamp(&self, at: Instant) -> Stamp {
        Stamp::of(self.start, at)
    }

    // ---- Channels ---------------------------------------------------------------------------

    /// True while channel `id` exists and its state machine is not closed.
    pub(crate) fn is_open(&self, id: ChannelId) -> bool {
        self.channels
            .get(id)
            .is_some_and(|entry| !entry.channel.is_closed())
    }

    /// The open connections of `server`, in id order.
    pub(crate) fn connections(&self, server: ChannelId) -> Vec<ChannelId> {
        let of_server = |entry: &Entry| {
            entry.owner() == Some(server) && matches!(entry.channel, Channel::Stream(_))
        };
        self.channels
            .iter()
            .filter(|(_, entry)| of_server(entry) && !entry.channel.is_closed())
            .map(|(id, _)| id)
            .collect()
    }

    /// Adds a channel with its handler; it is served this turn.
    pub(crate) fn insert(&mut self, channel: Channel, handler: Box<dyn Handler>) -> ChannelId {
        let id = self.channels.insert(Entry::new(channel, handler));
        self.touch(id);
        if self.stop != StopState::Running {
            // Opened while stopping (say, from an on_close): it goes the same way.
            self.close_for_stop(id);
        }
        id
    }

    /// Adds a stream a server accepted.
    pub(crate) fn insert_accepted(
        &mut self,
        config: Arc<StreamConfig>,
        handler: Box<dyn Handler>,
        server: ChannelId,
    ) -> ChannelId {
        let stream = Stream::accepted(config, self.now);
        let id = self.insert(Channel::Stream(stream), handler);
        if let Some(entry) = self.channels.get_mut(id) {
            entry.set_owner(server);
        }
        id
    }

    /// Closes channel `id`, gracefully (`now` false) or at once; a server's connections close
    /// with it, the same way.
    pub(crate) fn close(&mut self, id: ChannelId, now: bool) {
        let Some(entry) = self.channels.get_mut(id) else {
            return;
        };
        let server = matches!(entry.channel, Channel::Server(_));
        match now {
            true => entry.channel.close_now(),
            false => entry.channel.close(),
        }
        self.touch(id);
        if server {
            for conn in self.connections(id) {
                self.close(conn, now);
            }
        }
    }

    /// Closes a channel at once and drops its pending events: `on_close` is next.
    pub(crate) fn abort(&mut self, id: ChannelId) {
        if let Some(entry) = self.channels.get_mut(id) {
            entry.channel.abort();
        }
        self.touch(id);
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

    /// Forgets a closed channel (after its `on_close`), closing its socket if that order was
    /// not carried out yet.
    pub(crate) fn remove(&mut self, io: &mut dyn Io, id: ChannelId) {
        self.close_socket(io, id);
        self.host_connects.forget(id);
        self.channels.remove(id);
    }

    // ---- Work -------------------------------------------------------------------------------

    /// Queues channel `id` for I/O and event dispatch this turn.
    #[inline]
    pub(crate) fn touch(&mut self, id: ChannelId) {
        if let Some(entry) = self.channels.get_mut(id) {
            self.work.queue_io(id, entry);
            self.work.queue_events(id, entry);
        }
    }

    /// Queues channel `id` for I/O this turn.
    #[inline]
    pub(crate) fn queue_io(&mut self, id: ChannelId) {
        if let Some(entry) = self.channels.get_mut(id) {
            self.work.queue_io(id, entry);
        }
    }

    /// Queues channel `id`'s events for dispatch this turn (unless they are being dispatched:
    /// the common case of a handler commanding its own channel, answered without a lookup).
    #[inline]
    pub(crate) fn queue_events(&mut self, id: ChannelId) {
        if self.work.is_dispatching(id) {
            return;
        }
        if let Some(entry) = self.channels.get_mut(id) {
            self.work.queue_events(id, entry);
        }
    }

    /// After channel `id`'s I/O: it leaves the I/O queue only now, so that what its own
    /// callbacks asked during that I/O (which loops until nothing is left) does not queue it
    /// again; its events are queued if it has any. Without events to dispatch (whose dispatch
    /// does it), its deadline is brought up to date here: the I/O and the callbacks in it may
    /// have moved it (a close starts the linger).
    pub(crate) fn after_io(&mut self, id: ChannelId) {
        let Some(entry) = self.channels.get_mut(id) else {
            return;
        };
        entry.flags &= !flag::IN_IO_QUEUE;
        if entry.channel.has_pending_events() {
            self.work.queue_events(id, entry);
        } else {
            self.sync_deadline(id);
        }
    }

    /// Before channel `id`'s events are dispatched: it leaves the event queue.
    pub(crate) fn before_events(&mut self, id: ChannelId) {
        if let Some(entry) = self.channels.get_mut(id) {
            entry.flags &= !flag::IN_EVENT_QUEUE;
        }
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

    /// The callbacks recorded since the last call.
    pub(crate) fn take_trace(&mut self) -> Vec<TraceEntry> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    // ---- Memory -----------------------------------------------------------------------------

    /// A read (and the callbacks of its frames) took channel `id` from holding `before` bytes
    /// of unfinished frames to `after`. Only reads add to what channels hold, so the running
    /// sum is an upper bound (closes and pauses it does not see only lower the truth); when it
    /// passes the budget it is made exact, and the channels holding the most give up their
    /// frames until they hold less than the budget.
    pub(crate) fn account_read(&mut self, before: usize, after: usize) {
        if after <= before {
            self.buffered = self.buffered.saturating_sub(before - after);
            return;
        }
        self.buffered += after - before;
        if self.buffered > self.config.read_buffer_budget {
            self.enforce_read_buffer_budget();
        }
    }

    #[cold]
    fn enforce_read_buffer_budget(&mut self) {
        let budget = self.config.read_buffer_budget;
        let mut held: Vec<(usize, ChannelId)> = self
            .channels
            .iter()
            .map(|(id, entry)| (entry.channel.buffered(), id))
            .filter(|(bytes, _)| *bytes > 0)
            .collect();
        self.buffered = held.iter().map(|(bytes, _)| bytes).sum();
        held.sort_unstable_by(|a, b| b.cmp(a));
        for (_, id) in held {
            if self.buffered <= budget {
                break;
            }
            let Some(entry) = self.channels.get_mut(id) else {
                continue;
            };
            let freed = entry.channel.give_up_frame(budget);
            log::warn!(
                "pants: channels hold {} bytes of unfinished frames, over the budget of                  {budget}: channel {id} gives up {freed}",
                self.buffered
            );
            self.buffered = self.buffered.saturating_sub(freed);
            self.touch(id);
        }
    }

    /// Gives back what the engine's own tables kept from their busiest time: the vacant slots
    /// at the end of the channel table, the queues' and the heap's spare room, the recycled
    /// write-queue allocations.
    pub(crate) fn release_memory(&mut self) {
        self.channels.shrink();
        self.timers.shrink();
        self.work.shrink();
        self.recycler = Recycler::default();
        self.host_connects.shrink();
    }

    // ---- Deadlines --------------------------------------------------------------------------

    /// Pushes the channel's own next timeout into the timers, unless an earlier one is there
    /// (which then fires early, finds nothing due, and pushes the next: see
    /// [`Timers::settle`]).
    pub(crate) fn sync_deadline(&mut self, id: ChannelId) {
        let Some(entry) = self.channels.get_mut(id) else {
            return;
        };
        let Some(next) = entry.channel.poll_timeout() else {
            return;
        };
        let stamp = Stamp::of(self.start, next);
        if entry.deadline.is_some_and(|pushed| pushed <= stamp) {
            return;
        }
        entry.deadline = Some(stamp);
        self.timers.push(next, Due::Channel(id));
    }

    /// True when the timers' entry `(at, due)` is the one that should fire: a channel's current
    /// deadline, a live timer's, or the stop's.
    pub(crate) fn is_current(&self, at: Instant, due: Due) -> bool {
        match due {
            Due::Channel(id) => self
                .channels
                .get(id)
                .is_some_and(|entry| entry.deadline == Some(self.stamp(at))),
            Due::Timer(id) => self.timers.deadline(id) == Some(at),
            Due::Stop => self.stop == StopState::Stopping,
        }
    }

    /// Drops the timers' entries that will fire for nothing, from the earliest on, so that the
    /// next deadline the engine reports is one that matters; a channel whose timeout moved
    /// later is pushed again at its real deadline.
    pub(crate) fn settle_timers(&mut self) {
        while let Some((at, due)) = self.timers.peek() {
            if self.is_current(at, due) {
                break;
            }
            self.timers.pop();
            if let Due::Channel(id) = due
                && let Some(entry) = self.channels.get_mut(id)
                && entry.deadline == Some(Stamp::of(self.start, at))
            {
                entry.deadline = None;
                self.sync_deadline(id);
            }
        }
        let live = self.channels.len();
        let (channels, start) = (&self.channels, self.start);
        self.timers.compact(live, |at, due| match due {
            Due::Channel(id) => channels
                .get(id)
                .is_some_and(|entry| entry.deadline == Some(Stamp::of(start, at))),
            Due::Timer(_) | Due::Stop => true,
        });
    }

    // ---- Stopping ---------------------------------------------------------------------------

    /// Stops gracefully: every channel closes (what has nothing to finish at once), within
    /// the engine's stop timeout. A second stop closes everything at once.
    pub(crate) fn stop(&mut self) {
        match self.stop {
            StopState::Running => {
                self.stop = StopState::Stopping;
                let deadline = self.now + self.config.stop_timeout;
                self.timers.push(deadline, Due::Stop);
                for id in self.channels.ids() {
                    self.close_for_stop(id);
                }
            }
            StopState::Stopping | StopState::Closing => self.stop_now(),
        }
    }

    /// Closes every channel at once: the stop's deadline passed, or a second stop came.
    pub(crate) fn stop_now(&mut self) {
        self.stop = StopState::Closing;
        for id in self.channels.ids() {
            self.close(id, true);
        }
    }

    /// True once a stop was asked.
    pub(crate) fn is_stopping(&self) -> bool {
        self.stop != StopState::Running
    }

    /// Closes a channel as the stop asks.
    fn close_for_stop(&mut self, id: ChannelId) {
        let now = self.stop == StopState::Closing;
        if let Some(entry) = self.channels.get_mut(id) {
            match now {
                true => entry.channel.close_now(),
                false => entry.channel.close_for_stop(),
            }
        }
        self.touch(id);
    }
}
