//! The [`Network`]: an engine, in-memory sockets and a virtual clock; the engine's side, time
//! and the knobs. Scripted peers are in `peers.rs`.

use std::collections::HashMap;
use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::mem_io::{IoStats, MemIo};
use super::peers::Peer;
use crate::addr::Addr;
use crate::engine::{
    Bind, Connect, Engine, EngineConfig, EngineContext, IntoAddr, Listen, TraceEntry,
};
use crate::event::Action;
use crate::handler::Handler;
use crate::id::ChannelId;

/// How datagrams misbehave on the in-memory network; each is a probability from 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DatagramFaults {
    /// A datagram is lost.
    pub loss: f64,
    /// A datagram arrives twice.
    pub duplicate: f64,
    /// A datagram overtakes some of those sent before it.
    pub reorder: f64,
}

/// An in-memory network with a virtual clock, running an engine. See the [module](super).
pub struct Network {
    engine: Engine,
    pub(super) io: MemIo,
    /// Bytes and datagrams scripted peers received and the test has not taken yet.
    pub(super) received: HashMap<Peer, Vec<u8>>,
    pub(super) datagrams: HashMap<Peer, Vec<(Bytes, Addr)>>,
    trace: Vec<TraceEntry>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// Turns of the engine one [`Network::run`] may take before it gives up on reaching rest.
const MAX_TURNS: usize = 10_000;

impl Network {
    /// A network with the default engine settings, callback tracing on, and seed 0.
    pub fn new() -> Self {
        Self::with_config(
            EngineConfig {
                trace: true,
                ..EngineConfig::default()
            },
            0,
        )
    }

    /// A network whose datagram faults follow `seed`.
    pub fn with_seed(seed: u64) -> Self {
        Self::with_config(
            EngineConfig {
                trace: true,
                ..EngineConfig::default()
            },
            seed,
        )
    }

    /// A network running an engine with `config`.
    pub fn with_config(config: EngineConfig, seed: u64) -> Self {
        let now = Instant::now();
        Self {
            engine: Engine::new(config, now),
            io: MemIo::new(now, seed),
            received: Default::default(),
            datagrams: Default::default(),
            trace: Vec::new(),
        }
    }

    // ---- The engine's side ------------------------------------------------------------------

    /// The engine's context, to open channels, command them or set timers.
    pub fn context(&mut self) -> EngineContext<'_> {
        let now = self.io.now;
        self.engine.context(&mut self.io, now)
    }

    /// Listens at `addr` with a handler per connection from `factory`.
    pub fn listen<H: Handler>(
        &mut self,
        addr: impl IntoAddr,
        factory: impl FnMut() -> H + 'static,
    ) -> io::Result<ChannelId> {
        self.context().listen(addr, factory)
    }

    /// Listens as `listen` says: a server's own socket options, the settings of its
    /// connections' streams ([`StreamConfig`](crate::StreamConfig)), its own handler.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pants_core::testing::Network;
    /// use pants_core::{Listen, StreamConfig};
    ///
    /// let mut net = Network::new();
    /// let config = StreamConfig {
    ///     idle_timeout: Some(Duration::from_secs(60)),
    ///     ..StreamConfig::default()
    /// };
    /// net.listen_with(Listen::new("127.0.0.1:7", || ()).stream_config(config))?;
    /// let peer = net.peer_connect("127.0.0.1:7")?;
    /// net.advance(Duration::from_secs(60));
    /// assert!(net.saw_eof(peer), "idle for a minute: closed");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn listen_with(&mut self, listen: Listen) -> io::Result<ChannelId> {
        self.context().listen_with(listen)
    }

    /// Connects to `addr` with `handler`.
    pub fn connect(&mut self, addr: impl IntoAddr, handler: impl Handler) -> io::Result<ChannelId> {
        self.context().connect(addr, handler)
    }

    /// Connects as `connect` says: socket options, the stream's settings.
    pub fn connect_with(&mut self, connect: Connect) -> io::Result<ChannelId> {
        self.context().connect_with(connect)
    }

    /// Binds a datagram channel as `bind` says: socket options, the channel's settings.
    pub fn datagram_with(&mut self, bind: Bind) -> io::Result<ChannelId> {
        self.context().datagram_with(bind)
    }

    /// Binds a datagram channel at `addr` with `handler`.
    pub fn datagram(
        &mut self,
        addr: impl IntoAddr,
        handler: impl Handler,
    ) -> io::Result<ChannelId> {
        self.context().datagram(addr, handler)
    }

    /// The engine, for what the context does not offer (stopping, counting channels).
    pub fn engine(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Takes the callbacks run since the trace was last taken, in order, for every channel.
    pub fn take_trace(&mut self) -> Vec<TraceEntry> {
        self.trace.append(&mut self.engine.take_trace());
        std::mem::take(&mut self.trace)
    }

    /// The callbacks channel `id` ran since the trace was last taken, in order.
    pub fn callbacks(&mut self, id: ChannelId) -> Vec<&'static str> {
        self.trace.append(&mut self.engine.take_trace());
        self.trace
            .iter()
            .filter(|entry| entry.channel == id)
            .map(|entry| entry.callback)
            .collect()
    }

    // ---- Time -------------------------------------------------------------------------------

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.io.now
    }

    /// Runs exactly one turn of the engine at the current virtual time.
    pub fn turn(&mut self) {
        self.deliver_wakeups();
        let now = self.io.now;
        self.engine.turn(&mut self.io, now);
        self.collect_peer_input();
    }

    /// Turns the engine until it is at rest at the current virtual time, and takes at least
    /// one turn.
    ///
    /// At rest means: no input to read, nothing to write, no callback to run and no timer
    /// due, *per-turn timers aside*. A per-turn timer ([`callback`], [`each_turn`]) runs in
    /// every turn taken, and in one more turn after the last one that had other work, as a
    /// driver's loop goes round once more; it is no reason by itself to take yet another turn
    /// (at a fixed virtual time, a timer that runs every turn would keep the network turning
    /// forever). So a per-turn task sees the effects of the turn before it, and a `callback`
    /// set from a callback runs before `run` returns.
    ///
    /// Panics when the engine is still busy after 10,000 turns at the same instant: callbacks
    /// that keep making work for each other (two channels writing each other every read) would
    /// spin a real driver too.
    ///
    /// [`callback`]: EngineContext::callback
    /// [`each_turn`]: EngineContext::each_turn
    pub fn run(&mut self) {
        for _ in 0..MAX_TURNS {
            let only_per_turn_timers = !self.has_work_now();
            self.turn();
            let rest = !self.has_work_now()
                && (only_per_turn_timers || !self.engine.has_per_turn_timers());
            if rest {
                return;
            }
        }
        panic!(
            "the engine did not come to rest in {MAX_TURNS} turns at the same instant: callbacks \
             keep making work for each other"
        );
    }

    /// Moves the clock forward by `by` and runs every turn due on the way: it stops at each
    /// instant a timer, a timeout or delayed bytes are due, [`run`](Self::run)s there, and
    /// ends at exactly now + `by`, where it runs too. Per-turn timers do not hold the clock
    /// back (they run in the turns taken, as [`run`](Self::run) says).
    pub fn advance(&mut self, by: Duration) {
        let until = self.io.now + by;
        loop {
            self.run();
            let next = [self.engine.next_deadline(), self.io.next_delivery()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(at) if at <= until => self.io.advance_to(at.max(self.io.now)),
                _ => break,
            }
        }
        if self.io.now < until {
            self.io.advance_to(until);
            self.run();
        }
    }

    /// Moves the clock forward by `by` without running a turn, as a driver that wakes up late:
    /// the timers and timeouts due on the way fire together at the next [`turn`](Self::turn)
    /// or [`run`](Self::run), late, and bytes that became due on the way are all there to
    /// read at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pants_core::testing::Network;
    ///
    /// let mut net = Network::new();
    /// let start = net.now();
    /// net.context().defer(Duration::from_secs(1), move |cx, _| {
    ///     assert_eq!(cx.now(), start + Duration::from_secs(3), "fired late, at the turn");
    /// });
    /// net.advance_clock(Duration::from_secs(3));
    /// net.run();
    /// ```
    pub fn advance_clock(&mut self, by: Duration) {
        let until = self.io.now + by;
        self.io.advance_to(until);
    }

    /// Work due at the current instant, per-turn timers aside: readiness to deliver, I/O or
    /// events queued, a deadline reached.
    fn has_work_now(&self) -> bool {
        !self.io.wakeups.is_empty()
            || !self.io.resolved.is_empty()
            || self.engine.has_queued_work()
            || self
                .engine
                .next_deadline()
                .is_some_and(|at| at <= self.io.now)
    }

    // ---- Knobs ------------------------------------------------------------------------------

    /// Reads return at most `n` bytes (default 64 KiB).
    pub fn set_read_chunk(&mut self, n: usize) {
        self.io.knobs.read_chunk = n.max(1);
    }

    /// Writes take at most `n` bytes each: partial writes (default unlimited).
    pub fn set_write_chunk(&mut self, n: usize) {
        self.io.knobs.write_chunk = n.max(1);
    }

    /// A socket buffers at most `n` unread bytes; writers then block (default 4 MiB).
    pub fn set_window(&mut self, n: usize) {
        self.io.knobs.window = n.max(1);
    }

    /// Every byte, EOF and datagram arrives `latency` after it was sent (default none).
    pub fn set_latency(&mut self, latency: Duration) {
        self.io.knobs.latency = latency;
    }

    /// Datagrams are lost, duplicated and reordered with these probabilities, from the seed.
    pub fn set_datagram_faults(&mut self, faults: DatagramFaults) {
        self.io.knobs.faults = faults;
    }

    /// Accepting fails with `EMFILE` while `n` or more sockets are open (`None`: no limit).
    pub fn set_fd_limit(&mut self, n: Option<usize>) {
        self.io.knobs.fd_limit = n.unwrap_or(usize::MAX);
    }

    /// The next accepts, on any listener, fail with these errors.
    pub fn fail_accepts(&mut self, errors: impl IntoIterator<Item = io::Error>) {
        self.io.accept_errors.extend(errors);
    }

    /// Counts of the engine's socket calls so far.
    pub fn io_stats(&self) -> IoStats {
        self.io.stats
    }

    /// The orders the engine carried out on channel `id`'s socket so far, in order:
    /// [`Action::Shutdown`] when it shut down the write side, [`Action::Close`] when it closed
    /// the socket. What a test of a close sequence asserts on.
    pub fn actions(&self, id: ChannelId) -> &[Action] {
        self.io.actions.get(&id).map_or(&[], Vec::as_slice)
    }

    // ---- Connects ---------------------------------------------------------------------------

    /// Whether connects by engine channels made from now on stay in progress until the test
    /// ends them with [`complete_connect`](Self::complete_connect) or
    /// [`fail_connect`](Self::fail_connect) (default: they end at once). For a test of a close
    /// or a timeout while connecting.
    ///
    /// ```
    /// use pants_core::testing::Network;
    ///
    /// let mut net = Network::new();
    /// net.listen("127.0.0.1:1", || ())?;
    /// net.hold_connects(true);
    /// let client = net.connect("127.0.0.1:1", ())?;
    /// net.run();
    /// assert!(net.callbacks(client).is_empty(), "still connecting");
    /// net.complete_connect(client)?;
    /// net.run();
    /// assert_eq!(net.callbacks(client), ["on_connect"]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn hold_connects(&mut self, hold: bool) {
        self.io.knobs.hold_connects = hold;
    }

    /// Ends channel `id`'s held connect: connected if something listens at its address, else
    /// refused. `NotConnected` if `id` has no held connect.
    pub fn complete_connect(&mut self, id: ChannelId) -> io::Result<()> {
        let (sock, to) = self.held_connect(id)?;
        self.io.finish_connect(sock, Ok(to));
        Ok(())
    }

    /// Fails channel `id`'s held connect with `err` (its `on_connect_error` gets it).
    /// `NotConnected` if `id` has no held connect.
    pub fn fail_connect(&mut self, id: ChannelId, err: io::Error) -> io::Result<()> {
        let (sock, _) = self.held_connect(id)?;
        self.io.finish_connect(sock, Err(err));
        Ok(())
    }

    fn held_connect(&mut self, id: ChannelId) -> io::Result<(usize, Addr)> {
        self.io.held_connect(id).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotConnected,
                format!("channel {id} has no connect in progress held by the network"),
            )
        })
    }

    // ---- Internals --------------------------------------------------------------------------

    fn deliver_wakeups(&mut self) {
        for (channel, answer) in std::mem::take(&mut self.io.resolved) {
            self.engine.handle_resolved(&mut self.io, channel, answer);
        }
        for (channel, readiness) in std::mem::take(&mut self.io.wakeups) {
            self.engine.handle_readiness(channel, readiness);
        }
    }
}

impl Default for Network {
    fn default() -> Self {
        Self::new()
    }
}
