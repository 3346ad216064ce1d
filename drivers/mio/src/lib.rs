//! The mio driver of pants: the [`pants_core::Engine`] on real sockets, one thread, one
//! `mio::Poll`.
//!
//! The driver is translation only. It opens sockets (TCP over IPv4 and IPv6, Unix stream
//! sockets, UDP, Unix datagram sockets) with their options, registers them edge-triggered
//! under their channel's id, turns mio's events into [`Readiness`] (and spares the read that
//! a short read has shown would only say `WouldBlock`), resolves host names on a
//! resolver thread whose answers wake the loop, catches the signals that stop it
//! ([`Engine::stop_on_signals`]) without a thread of its own, and waits. Every rule (callback
//! order, buffering, limits, closing, timers, read budgets, accept backoff) lives in
//! `pants-core`, so this driver and the in-memory test network behave alike by construction.
//!
//! ```no_run
//! use pants_core::{Context, Frame, Handler};
//!
//! struct Echo;
//! impl Handler for Echo {
//!     fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
//!         let _ = cx.write(data);
//!     }
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     let mut engine = pants_mio::Engine::new()?;
//!     let server = engine.listen("127.0.0.1:7000", || Echo)?;
//!     println!("listening on {}", engine.local_addr(server).unwrap());
//!     engine.run()
//! }
//! ```
#![warn(missing_docs, unreachable_pub)]

mod drained;
mod handle;
mod io;
mod resolver;
mod signals;
mod sockets;

use std::ffi::c_int;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};
use pants_core::{Addr, ChannelId, EngineConfig, EngineContext, Handler, IntoAddr, Readiness};

pub use handle::Handle;
use handle::Shared;
use io::MioIo;
/// Signal numbers for [`Engine::stop_on_signals`] (`SIGINT`, `SIGTERM`, `SIGHUP`, ...).
pub use signal_hook::consts::signal;
use signals::SignalPipe;

/// The token of the loop's waker (no channel can have it: its slot index would be `u32::MAX`).
const WAKER: Token = Token(usize::MAX);
/// The token of the signal pipe (no channel can have it either: slot index `u32::MAX - 1`).
const SIGNALS: Token = Token(usize::MAX - 1);

/// An event loop running a pants engine over mio.
pub struct Engine {
    core: pants_core::Engine,
    io: MioIo,
    poll: Poll,
    events: Events,
    shared: Arc<Shared>,
    /// Made by the first [`Engine::stop_on_signals`].
    signals: Option<SignalPipe>,
}

impl Engine {
    /// An engine with the default settings.
    pub fn new() -> std::io::Result<Self> {
        Self::with_config(EngineConfig::default())
    }

    /// An engine with `config`.
    pub fn with_config(config: EngineConfig) -> std::io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let io = MioIo::new(poll.registry().try_clone()?, waker.clone());
        let shared = Arc::new(Shared {
            waker,
            posted: Mutex::default(),
            stop: Default::default(),
        });
        Ok(Self {
            core: pants_core::Engine::new(config, Instant::now()),
            io,
            poll,
            events: Events::with_capacity(1024),
            shared,
            signals: None,
        })
    }

    /// The engine's context: open channels, command them, set timers.
    pub fn context(&mut self) -> EngineContext<'_> {
        self.core.context(&mut self.io, Instant::now())
    }

    /// Listens at `addr` (`127.0.0.1:0` picks a free port); each connection gets a handler
    /// from `factory`.
    pub fn listen<H: Handler>(
        &mut self,
        addr: impl IntoAddr,
        factory: impl FnMut() -> H + 'static,
    ) -> std::io::Result<ChannelId> {
        self.context().listen(addr, factory)
    }

    /// Connects to `addr` with `handler`.
    pub fn connect(
        &mut self,
        addr: impl IntoAddr,
        handler: impl Handler,
    ) -> std::io::Result<ChannelId> {
        self.context().connect(addr, handler)
    }

    /// Binds a datagram channel at `addr` with `handler`.
    pub fn datagram(
        &mut self,
        addr: impl IntoAddr,
        handler: impl Handler,
    ) -> std::io::Result<ChannelId> {
        self.context().datagram(addr, handler)
    }

    /// The local address of channel `id` (the real port of a listener bound to port 0).
    pub fn local_addr(&mut self, id: ChannelId) -> Option<Addr> {
        self.context().channel(id)?.local()
    }

    /// A handle for other threads: post work, or stop the loop.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Runs the loop until [`stop`](Self::stop) (or [`Handle::stop`]) was asked and every
    /// channel has closed.
    pub fn run(&mut self) -> std::io::Result<()> {
        while !self.core.is_finished() {
            self.poll(None)?;
        }
        Ok(())
    }

    /// One step, for embedding in another loop: waits for readiness at most `timeout` (and
    /// never past the engine's next deadline), then runs a turn.
    pub fn poll(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        let deadline = self
            .core
            .poll_timeout()
            .map(|at| at.saturating_duration_since(Instant::now()));
        let wait = match (timeout, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.poll.poll(&mut self.events, wait) {
            Err(err) if err.kind() != std::io::ErrorKind::Interrupted => return Err(err),
            _ => {}
        }
        let mut woken = false;
        let mut signaled = false;
        for event in &self.events {
            match event.token() {
                WAKER => woken = true,
                SIGNALS => signaled = true,
                token => {
                    let id = ChannelId::from_bits(token.0 as u64);
                    self.io.handle_event(id, event);
                    let readiness = Readiness {
                        readable: event.is_readable()
                            || event.is_read_closed()
                            || event.is_error()
                            || drained::is_priority(event),
                        writable: event.is_writable()
                            || event.is_write_closed()
                            || event.is_error(),
                    };
                    self.core.handle_readiness(id, readiness);
                }
            }
        }
        if woken {
            self.handle_wake();
        }
        if signaled && self.signals.as_mut().is_some_and(SignalPipe::take) {
            self.core.stop();
        }
        self.core.turn(&mut self.io, Instant::now());
        Ok(())
    }

    /// Shuts down gracefully: stop accepting, close every stream after flushing (bounded by
    /// its linger time), close datagram channels once their queue is sent. [`run`](Self::run)
    /// returns when all are closed.
    pub fn stop(&mut self) {
        self.core.stop();
    }

    /// Stops gracefully, as [`stop`](Self::stop) does, when one of `signals` arrives: for a
    /// server, usually [`signal::SIGINT`] and [`signal::SIGTERM`].
    ///
    /// The signal handler only wakes the loop (through a socket pair the loop polls); no
    /// thread is started. The signals stay caught while the engine lives; once it is dropped
    /// they are ignored (the handler stays installed, with nothing to do). Refused with an
    /// error for signals that cannot or must not be caught (`SIGKILL`, `SIGSTOP`, `SIGSEGV`,
    /// `SIGILL`, `SIGFPE`).
    ///
    /// ```no_run
    /// use pants_mio::{Engine, signal};
    ///
    /// let mut engine = Engine::new()?;
    /// engine.stop_on_signals(&[signal::SIGINT, signal::SIGTERM])?;
    /// engine.run()?; // returns once a signal came and every channel closed
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop_on_signals(&mut self, signals: &[c_int]) -> std::io::Result<()> {
        let pipe = match &mut self.signals {
            Some(pipe) => pipe,
            None => self
                .signals
                .insert(SignalPipe::new(self.poll.registry(), SIGNALS)?),
        };
        signals.iter().try_for_each(|&signal| pipe.catch(signal))
    }

    /// True after a stop, once every channel is closed.
    pub fn is_finished(&self) -> bool {
        self.core.is_finished()
    }

    /// How many channels are open.
    pub fn channel_count(&self) -> usize {
        self.core.channel_count()
    }

    fn handle_wake(&mut self) {
        let core = &self.core;
        for (id, readiness) in self.io.handle_resolved(|id| core.is_live(id)) {
            self.core.handle_readiness(id, readiness);
        }
        let posted =
            std::mem::take(&mut *self.shared.posted.lock().unwrap_or_else(|p| p.into_inner()));
        for work in posted {
            work(&mut self.context());
        }
        if self.shared.stop.swap(false, Ordering::AcqRel) {
            self.core.stop();
        }
    }
}
