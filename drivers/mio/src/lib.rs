//! The mio driver of pants: the [`pants_core::driver::Engine`] on real sockets, one thread, one
//! `mio::Poll`.
//!
//! The driver is translation only. The socket layer ([`pants_socket`]) opens the sockets
//! (TCP over IPv4 and IPv6, Unix stream sockets, UDP, Unix datagram sockets), makes the
//! socket calls and resolves host names; this crate registers each socket edge-triggered
//! under its channel's id, turns mio's events into [`Readiness`], says which short reads
//! prove a socket empty, catches the signals that stop the loop
//! ([`Engine::stop_on_signals`]) without a thread of its own, and waits. Every rule (callback
//! order, buffering, limits, closing, timers, read budgets, accept backoff, which address of
//! a host name to try next) lives in `pants-core`, so this driver, the smol driver and the
//! in-memory test network behave alike by construction.
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
//!
//! # Hosting the engine in another loop
//!
//! The engine's poller is one file descriptor ([`AsFd`], and [`AsRawFd`] for the hosts that
//! take a raw one): any loop (a plain `poll(2)`, a tokio `AsyncFd`, a smol `Async`, calloop,
//! GLib) can watch it for reading, and call
//! [`Engine::poll`] with a zero timeout when it is readable or when
//! [`next_deadline`](SocketEngine::next_deadline) has come:
//!
//! ```
//! use std::io::{Read, Write};
//! use std::os::fd::AsFd;
//! use std::time::{Duration, Instant};
//! use pants_core::{Context, Frame, Handler};
//! use rustix::event::{PollFd, PollFlags, Timespec, poll};
//!
//! struct Echo;
//! impl Handler for Echo {
//!     fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
//!         let _ = cx.write(data);
//!     }
//! }
//!
//! let mut engine = pants_mio::Engine::new()?;
//! let server = engine.listen("127.0.0.1:0", || Echo)?;
//! let addr = engine.local_addr(server).unwrap().to_string();
//! let mut client = std::net::TcpStream::connect(addr)?;
//! client.write_all(b"ping")?;
//! client.set_nonblocking(true)?;
//!
//! // The host loop: wait for the engine's descriptor, at most until its deadline.
//! let (mut echoed, give_up) = (Vec::new(), Instant::now() + Duration::from_secs(10));
//! while echoed.len() < 4 && Instant::now() < give_up {
//!     let wait = engine
//!         .next_deadline()
//!         .map_or(Duration::from_millis(100), |at| at.saturating_duration_since(Instant::now()));
//!     let timeout = Timespec::try_from(wait.min(Duration::from_millis(100))).unwrap();
//!     let mut fds = [PollFd::new(&engine, PollFlags::IN)];
//!     poll(&mut fds, Some(&timeout))?;
//!     engine.poll(Some(Duration::ZERO))?; // never blocks
//!     let mut buf = [0; 16];
//!     if let Ok(n) = client.read(&mut buf) {
//!         echoed.extend_from_slice(&buf[..n]);
//!     }
//! }
//! assert_eq!(echoed, b"ping");
//! # Ok::<(), std::io::Error>(())
//! ```
#![warn(missing_docs, unreachable_pub)]

mod poller;

use std::ffi::c_int;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use pants_core::driver::Readiness;
use pants_core::{ChannelId, EngineConfig};
pub use pants_socket::{
    Call, GroupBuilder, GroupEngine, GroupHandle, Handle, Member, SocketEngine, StreamSocket,
};
use pants_socket::{SignalPipe, Wake};
pub use poller::Mio;
/// Signal numbers for [`Engine::stop_on_signals`] (`SIGINT`, `SIGTERM`, `SIGHUP`, ...).
pub use signal_hook::consts::signal;

/// The token of the loop's waker (no channel can have it: its slot index would be `u32::MAX`).
const WAKER: Token = Token(usize::MAX);
/// The token of the signal pipe (no channel can have it either: slot index `u32::MAX - 1`).
const SIGNALS: Token = Token(usize::MAX - 1);

/// An event loop running a pants engine over mio. Opening channels, handles and stopping
/// are [`SocketEngine`]'s methods, which it dereferences to.
pub struct Engine {
    inner: SocketEngine<Mio>,
    poll: Poll,
    events: Events,
    /// Made by the first [`Engine::stop_on_signals`].
    signals: Option<SignalPipe>,
}

impl Engine {
    /// An engine with the default settings.
    pub fn new() -> io::Result<Self> {
        Self::with_config(EngineConfig::default())
    }

    /// An engine with `config`.
    pub fn with_config(config: EngineConfig) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let wake: Wake = Arc::new(move || {
            let _ = waker.wake();
        });
        let poller = Mio::new(poll.registry().try_clone()?);
        Ok(Self {
            inner: SocketEngine::new(config, poller, wake),
            poll,
            events: Events::with_capacity(1024),
            signals: None,
        })
    }

    /// Runs the loop until [`stop`](SocketEngine::stop) (or [`Handle::stop`]) was asked and
    /// every channel has closed.
    pub fn run(&mut self) -> io::Result<()> {
        while !self.inner.is_finished() {
            self.poll(None)?;
        }
        Ok(())
    }

    /// One step, for embedding in another loop: waits for readiness at most `timeout` (and
    /// never past the engine's next deadline), then runs a turn.
    pub fn poll(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let deadline = self
            .inner
            .next_deadline()
            .map(|at| at.saturating_duration_since(Instant::now()));
        let wait = match (timeout, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.poll.poll(&mut self.events, wait) {
            Err(err) if err.kind() != io::ErrorKind::Interrupted => return Err(err),
            _ => {}
        }
        let (mut woken, mut signaled) = (false, false);
        for event in &self.events {
            match event.token() {
                WAKER => woken = true,
                SIGNALS => signaled = true,
                token => {
                    let id = ChannelId::from_bits(token.0 as u64);
                    self.inner.table_mut().poller_mut().handle_event(id, event);
                    let readiness = Readiness {
                        readable: event.is_readable()
                            || event.is_read_closed()
                            || event.is_error()
                            || poller::is_priority(event),
                        writable: event.is_writable()
                            || event.is_write_closed()
                            || event.is_error(),
                    };
                    self.inner.handle_readiness(id, readiness);
                }
            }
        }
        if woken {
            self.inner.handle_wake();
        }
        if signaled && self.signals.as_ref().is_some_and(SignalPipe::take) {
            self.inner.stop();
        }
        self.inner.turn();
        Ok(())
    }

    /// Stops gracefully, as [`stop`](SocketEngine::stop) does, when one of `signals`
    /// arrives: for a server, usually [`signal::SIGINT`] and [`signal::SIGTERM`]. Each
    /// signal that comes stops again (a stop already under way goes on).
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
    pub fn stop_on_signals(&mut self, signals: &[c_int]) -> io::Result<()> {
        let pipe = match self.signals.take() {
            Some(pipe) => pipe,
            None => {
                let pipe = SignalPipe::new()?;
                let fd = pipe.as_fd().as_raw_fd();
                self.poll
                    .registry()
                    .register(&mut SourceFd(&fd), SIGNALS, Interest::READABLE)?;
                pipe
            }
        };
        let pipe = self.signals.insert(pipe);
        signals.iter().try_for_each(|&signal| pipe.catch(signal))
    }
}

pants_socket::deref_to_socket_engine!(Engine, inner, Mio);

/// A group of mio engines, one per thread, listening on one port (`SO_REUSEPORT`): for a
/// server that outgrows one core. What the kernel spreads, how engines reach each other and
/// how a group stops: [`pants_socket::Group`].
///
/// ```
/// use std::io::{Read, Write};
/// use pants_core::{Context, Frame, Handler};
///
/// struct Echo;
/// impl Handler for Echo {
///     fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
///         let _ = cx.write(data);
///     }
/// }
///
/// // Two engines on two threads, both listening on the port engine 0 was given.
/// let group = pants_mio::Group::builder(2).listen("127.0.0.1:0", |_member| || Echo)?;
/// let addr = group.local_addr().unwrap().to_string();
/// let mut client = std::net::TcpStream::connect(addr)?;
/// client.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
/// client.write_all(b"ping")?;
/// let mut echoed = [0; 4];
/// client.read_exact(&mut echoed)?;
/// assert_eq!(&echoed, b"ping");
/// group.stop();
/// group.join()?; // every engine stopped, every thread ended
/// # Ok::<(), std::io::Error>(())
/// ```
pub type Group = pants_socket::Group<Engine>;

impl GroupEngine for Engine {
    type Poller = Mio;

    fn build(config: EngineConfig) -> io::Result<Self> {
        Self::with_config(config)
    }

    fn catch_signals(&mut self, signals: &[c_int]) -> io::Result<()> {
        self.stop_on_signals(signals)
    }

    fn run_here(&mut self) -> io::Result<()> {
        self.run()
    }
}

impl AsFd for Engine {
    /// The poller's descriptor: readable when [`poll`](Engine::poll) has events to handle.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.poll.registry().as_fd()
    }
}

impl AsRawFd for Engine {
    /// The poller's descriptor, as [`as_fd`](AsFd::as_fd) gives it: for the hosts that take a
    /// raw one (tokio's `AsyncFd::new(engine)`).
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("channels", &self.inner.channel_count())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use pants_core::{Context, Frame, Handler};

    use crate::{Engine, signal};

    struct Quiet;
    impl Handler for Quiet {
        fn on_read(&mut self, _: &mut Context<'_>, _: Frame<'_>) {}
    }

    /// A host that takes a raw descriptor (tokio's `AsyncFd`) watches the poller's own.
    #[test]
    fn the_raw_descriptor_is_the_pollers() {
        use std::os::fd::{AsFd, AsRawFd};
        let engine = Engine::new().expect("an engine");
        assert_eq!(engine.as_raw_fd(), engine.as_fd().as_raw_fd());
        assert_eq!(engine.as_raw_fd(), engine.poll.as_raw_fd());
    }

    /// The only test of this process that raises SIGUSR1.
    #[test]
    fn a_caught_signal_stops_the_loop_gracefully() {
        let mut engine = Engine::new().unwrap();
        engine.listen("127.0.0.1:0", || Quiet).unwrap();
        engine.stop_on_signals(&[signal::SIGUSR1]).unwrap();
        engine.poll(Some(Duration::ZERO)).unwrap();
        assert!(
            !engine.is_finished(),
            "nothing asked the engine to stop yet"
        );
        assert_eq!(engine.channel_count(), 1);

        signal_hook::low_level::raise(signal::SIGUSR1).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !engine.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the signal did not stop the loop"
            );
            engine.poll(Some(Duration::from_secs(1))).unwrap();
        }
        assert_eq!(engine.channel_count(), 0, "the listener closed");
    }

    #[test]
    fn signals_that_must_not_be_caught_are_refused() {
        let mut engine = Engine::new().unwrap();
        for forbidden in [signal::SIGKILL, signal::SIGSTOP, signal::SIGSEGV] {
            let err = engine.stop_on_signals(&[forbidden]).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        }
        let err = engine.stop_on_signals(&[100_000]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    }
}
