//! Test protocols without sockets: an in-memory network with a virtual clock that runs real
//! [`Handler`]s through the same engine turn as the socket drivers.
//!
//! A [`Network`] holds an [`Engine`] and in-memory sockets. Open channels on it as on a driver
//! (`listen`, `connect`, `datagram`), or talk to them from the test through scripted
//! [`Peer`]s. [`run`](Network::run) turns the engine until nothing is left to do at the
//! current virtual time; [`advance`](Network::advance) moves the clock, firing timers and
//! delivering delayed bytes on the way. Nothing sleeps: a test of an hour of timeouts runs in
//! microseconds.
//!
//! ```
//! use pants_core::testing::Network;
//! use pants_core::{Context, Frame, Handler};
//!
//! struct Echo;
//! impl Handler for Echo {
//!     fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
//!         cx.write(data).unwrap();
//!     }
//! }
//!
//! let mut net = Network::new();
//! let server = net.listen("127.0.0.1:7", || Echo)?;
//! let peer = net.peer_connect("127.0.0.1:7")?;
//! net.send(peer, "hello");
//! net.run();
//! assert_eq!(net.received(peer), "hello");
//! assert_eq!(net.callbacks(server), ["on_listen", "on_accept"]);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Knobs make the network unfriendly on purpose: [`set_read_chunk`](Network::set_read_chunk)
//! and [`set_write_chunk`](Network::set_write_chunk) cut reads and writes short,
//! [`set_window`](Network::set_window) bounds what a socket buffers before writers block,
//! [`set_latency`](Network::set_latency) delays every byte, [`reset`](Network::reset) and
//! [`shutdown`](Network::shutdown) end a peer's side, [`fail_accepts`](Network::fail_accepts)
//! and [`set_fd_limit`](Network::set_fd_limit) exhaust descriptors, and
//! [`set_datagram_faults`](Network::set_datagram_faults) loses, duplicates and reorders
//! datagrams from the network's seed.

mod mem_io;
mod rng;

use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::addr::Addr;
use crate::engine::{Engine, EngineConfig, EngineContext, IntoAddr, TraceEntry};
use crate::handler::Handler;
use crate::id::ChannelId;
pub use mem_io::IoStats;
use mem_io::{Kind, MemIo, Owner};

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

/// A socket the test itself drives: a client of an engine's server, a server the engine
/// connects to, or a datagram socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer(usize);

/// An in-memory network with a virtual clock, running an engine. See the [module](self).
pub struct Network {
    engine: Engine,
    io: MemIo,
    /// Bytes and datagrams scripted peers received and the test has not taken yet.
    received: std::collections::HashMap<Peer, Vec<u8>>,
    datagrams: std::collections::HashMap<Peer, Vec<(Bytes, Addr)>>,
    trace: Vec<TraceEntry>,
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

    /// Connects to `addr` with `handler`.
    pub fn connect(&mut self, addr: impl IntoAddr, handler: impl Handler) -> io::Result<ChannelId> {
        self.context().connect(addr, handler)
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

    /// Turns the engine until nothing is left to do at the current virtual time.
    pub fn run(&mut self) {
        for _ in 0..MAX_TURNS {
            self.turn();
            let now = self.io.now;
            let busy = !self.io.wakeups.is_empty()
                || self.engine.poll_timeout().is_some_and(|at| at <= now);
            if !busy {
                return;
            }
        }
        panic!("the engine did not come to rest in {MAX_TURNS} turns: a callback keeps it busy");
    }

    /// Moves the clock forward by `by`, stopping at every timer and delivery on the way.
    pub fn advance(&mut self, by: Duration) {
        let until = self.io.now + by;
        loop {
            self.run();
            let next = [self.engine.poll_timeout(), self.io.next_delivery()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(at) if at <= until => self.io.advance_to(at.max(self.io.now)),
                _ => {
                    self.io.advance_to(until);
                    self.run();
                    return;
                }
            }
        }
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

    // ---- Scripted peers ---------------------------------------------------------------------

    /// Connects a scripted client to `addr` (an engine's server accepts it).
    pub fn peer_connect(&mut self, addr: impl IntoAddr) -> io::Result<Peer> {
        let addr = addr.into_addr()?;
        let sock = self.io.connect_as(Owner::Peer, &addr);
        let refused = self
            .io
            .stream_mut(sock)
            .and_then(|s| s.connect.take())
            .is_some_and(|r| r.is_err());
        if refused {
            self.io.close_sock(sock);
            return Err(io::ErrorKind::ConnectionRefused.into());
        }
        Ok(Peer(sock))
    }

    /// A scripted server at `addr` that engine channels can connect to; take its connections
    /// with [`peer_accept`](Self::peer_accept).
    pub fn peer_listen(&mut self, addr: impl IntoAddr) -> io::Result<(Peer, Addr)> {
        let (sock, local) = self.io.listen_as(Owner::Peer, &addr.into_addr()?)?;
        Ok((Peer(sock), local))
    }

    /// The next connection made to a scripted server.
    pub fn peer_accept(&mut self, listener: Peer) -> Option<Peer> {
        self.io.accept_as(listener.0, Owner::Peer).ok().map(Peer)
    }

    /// A scripted datagram socket bound at `addr`.
    pub fn peer_bind(&mut self, addr: impl IntoAddr) -> io::Result<(Peer, Addr)> {
        let (sock, local) = self.io.bind_as(Owner::Peer, &addr.into_addr()?)?;
        Ok((Peer(sock), local))
    }

    /// Sends bytes from a scripted stream peer (all of them, whatever the window); panics if
    /// the connection is gone (see [`try_send`](Self::try_send)).
    pub fn send(&mut self, peer: Peer, data: impl AsRef<[u8]>) {
        if let Err(err) = self.try_send(peer, data) {
            panic!("peer cannot send: {err}");
        }
    }

    /// Sends bytes from a scripted stream peer (all of them, whatever the window), or says why
    /// it cannot: the engine's side reset or closed the connection.
    pub fn try_send(&mut self, peer: Peer, data: impl AsRef<[u8]>) -> io::Result<()> {
        let mut data = data.as_ref();
        let (chunk, window) = (self.io.knobs.write_chunk, self.io.knobs.window);
        self.io.knobs.write_chunk = usize::MAX;
        self.io.knobs.window = usize::MAX;
        let mut result = Ok(());
        while !data.is_empty() {
            match self.io.send_stream(peer.0, data) {
                Ok(n) => data = &data[n..],
                Err(err) => {
                    result = Err(err);
                    break;
                }
            }
        }
        self.io.knobs.write_chunk = chunk;
        self.io.knobs.window = window;
        result
    }

    /// Sends a datagram from a scripted datagram peer.
    pub fn send_to(&mut self, peer: Peer, data: impl AsRef<[u8]>, to: &Addr) {
        let from = self
            .io
            .sock(peer.0)
            .map(|sock| sock.local.clone())
            .expect("an open peer");
        self.io
            .send_datagram(&from, data.as_ref(), to)
            .expect("a datagram that fits");
    }

    /// Shuts down a scripted peer's write side: the engine's channel sees EOF.
    pub fn shutdown(&mut self, peer: Peer) {
        let _ = self.io.shutdown_sock(peer.0);
    }

    /// Resets a scripted peer's connection: the engine's next read or write fails with
    /// `ConnectionReset`.
    pub fn reset(&mut self, peer: Peer) {
        if let Some(other) = self.io.stream_mut(peer.0).and_then(|s| s.peer) {
            if let Some(stream) = self.io.stream_mut(other) {
                stream.reset = true;
            }
            self.io.wake(other, crate::io::Readiness::BOTH);
        }
        self.io.close_sock(peer.0);
    }

    /// Closes a scripted peer (EOF for the engine's side, or a reset if it left bytes unread).
    pub fn close(&mut self, peer: Peer) {
        self.io.close_sock(peer.0);
    }

    /// Takes the bytes a scripted stream peer received so far.
    pub fn received(&mut self, peer: Peer) -> Bytes {
        self.collect_peer_input();
        Bytes::from(self.received.remove(&peer).unwrap_or_default())
    }

    /// Takes the datagrams a scripted datagram peer received so far, with their senders.
    pub fn received_datagrams(&mut self, peer: Peer) -> Vec<(Bytes, Addr)> {
        self.collect_peer_input();
        self.datagrams.remove(&peer).unwrap_or_default()
    }

    /// True once the engine's side of a scripted peer's connection shut down or closed.
    pub fn saw_eof(&mut self, peer: Peer) -> bool {
        self.collect_peer_input();
        let now = self.io.now;
        self.io
            .stream_mut(peer.0)
            .is_none_or(|s| s.inbox.is_empty() && s.eof_at.is_some_and(|at| at <= now))
    }

    /// True once the engine's side reset a scripted peer's connection.
    pub fn was_reset(&mut self, peer: Peer) -> bool {
        self.io.stream_mut(peer.0).is_some_and(|s| s.reset)
    }

    // ---- Internals --------------------------------------------------------------------------

    fn deliver_wakeups(&mut self) {
        for (channel, readiness) in std::mem::take(&mut self.io.wakeups) {
            self.engine.handle_readiness(channel, readiness);
        }
    }

    /// Scripted peers read everything that reached them.
    fn collect_peer_input(&mut self) {
        let peers: Vec<usize> = (0..self.io.sock_count())
            .filter(|&id| self.io.peer_sock(Peer(id)).is_some())
            .collect();
        for id in peers {
            let is_stream = matches!(self.io.sock(id).map(|s| &s.kind), Some(Kind::Stream(_)));
            if is_stream {
                while let Ok(data) = self.io.recv_stream(id, usize::MAX) {
                    if data.is_empty() {
                        break;
                    }
                    self.received
                        .entry(Peer(id))
                        .or_default()
                        .extend_from_slice(&data);
                }
            } else {
                while let Ok(datagram) = self.io.recv_datagram(id) {
                    self.datagrams.entry(Peer(id)).or_default().push(datagram);
                }
            }
        }
    }
}

impl Default for Network {
    fn default() -> Self {
        Self::new()
    }
}
