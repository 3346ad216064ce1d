//! The smol driver of pants: the [`pants_core::driver::Engine`] on async-io's reactor, as one task
//! of a smol executor, beside the program's other tasks.
//!
//! The same [`Handler`](pants_core::Handler)s run on it as on the mio driver, unchanged. The
//! socket layer ([`pants_socket`]) opens the sockets (TCP over IPv4 and IPv6, Unix stream
//! sockets, UDP, Unix datagram sockets), makes the socket calls and resolves host names; this
//! crate only watches the sockets: each is an [`async_io::Async`] whose waker records its
//! channel's id in the engine's ready set and wakes the one engine task (one task per
//! engine, not one per connection), and one [`async_io::Timer`] waits for the engine's next
//! deadline. Every rule lives in `pants-core`.
//!
//! It offers the mio driver's engine's methods (the shared ones, `listen`, `connect`,
//! `handle`, `stop`, ..., are one implementation in the socket layer); in place of that
//! engine's blocking `run` and `poll(timeout)` it has [`Engine::run`], a future, and
//! [`Engine::poll_run`] for hand-written futures. It has no descriptor of its own to host in
//! another loop: its sockets are on async-io's reactor, which a foreign loop hosts with
//! `async_io::os::unix::reactor_fd`.
//!
//! The engine is not `Send` (its handlers need not be): run it under
//! [`block_on`](async_io::block_on) or on a [`LocalExecutor`](https://docs.rs/smol), where
//! other tasks run beside it. Its turns are bounded: when work is left after one, the engine
//! task yields, so the others keep their share of the thread during a flood.
//!
//! ```
//! use pants_core::{Context, Frame, Handler};
//! use smol::io::{AsyncReadExt, AsyncWriteExt};
//!
//! struct Echo;
//! impl Handler for Echo {
//!     fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
//!         let _ = cx.write(data);
//!     }
//! }
//!
//! let executor = smol::LocalExecutor::new();
//! smol::block_on(executor.run(async {
//!     let mut engine = pants_smol::Engine::new()?;
//!     let server = engine.listen("127.0.0.1:0", || Echo)?;
//!     let addr = engine.local_addr(server).unwrap().to_string();
//!     let handle = engine.handle();
//!     // Another task on the same thread: a client written with smol's own sockets.
//!     let client = executor.spawn(async move {
//!         let mut stream = smol::net::TcpStream::connect(addr).await?;
//!         stream.write_all(b"ping").await?;
//!         let mut echoed = [0; 4];
//!         stream.read_exact(&mut echoed).await?;
//!         // Ask the loop from async code: the server's open connections.
//!         let open = handle.call(move |cx| cx.connections(server).len()).await?;
//!         handle.stop();
//!         Ok::<_, std::io::Error>((echoed, open))
//!     });
//!     engine.run().await?; // until the client's stop, once every channel closed
//!     assert_eq!(client.await?, (*b"ping", 1));
//!     Ok::<(), std::io::Error>(())
//! }))?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Async code at the edges reaches the loop through [`Handle::call`], and can see one
//! channel as an [`AsyncStream`] (`read_frame().await`, `write(..).await`,
//! `close().await`) instead of writing a handler, and accept connections as such with an
//! [`AsyncListener`] (`accept().await`).
#![warn(missing_docs, unreachable_pub)]

mod deadline;
mod listener;
mod reactor;
mod stream;

use std::ffi::c_int;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::Async;
use deadline::Deadline;
pub use listener::{AsyncListener, BACKLOG};
use pants_core::{ChannelId, EngineConfig};
pub use pants_socket::{
    Call, GroupBuilder, GroupEngine, GroupHandle, Handle, Member, SocketEngine, StreamSocket,
};
use pants_socket::{SignalPipe, Wake};
use reactor::ReadySet;
pub use reactor::{Reactor, Watched};
/// Signal numbers for [`Engine::stop_on_signals`] (`SIGINT`, `SIGTERM`, `SIGHUP`, ...).
pub use signal_hook::consts::signal;
pub use stream::{AsyncStream, StreamHandler};

/// A pants engine on async-io's reactor. Opening channels, handles and stopping are
/// [`SocketEngine`]'s methods, which it dereferences to; [`run`](Self::run) drives it.
pub struct Engine {
    inner: SocketEngine<Reactor>,
    ready: Arc<ReadySet>,
    /// The channels woken since the last poll (the list is reused).
    woken: Vec<ChannelId>,
    deadline: Deadline,
    /// Made by the first [`Engine::stop_on_signals`].
    signals: Option<Async<SignalPipe>>,
}

impl Engine {
    /// An engine with the default settings.
    pub fn new() -> io::Result<Self> {
        Self::with_config(EngineConfig::default())
    }

    /// An engine with `config`.
    pub fn with_config(config: EngineConfig) -> io::Result<Self> {
        let ready = Arc::new(ReadySet::default());
        let wake: Wake = {
            let ready = ready.clone();
            Arc::new(move || ready.wake_for_mail())
        };
        Ok(Self {
            inner: SocketEngine::new(config, Reactor::new(ready.clone()), wake),
            ready,
            woken: Vec::new(),
            deadline: Deadline::new(),
            signals: None,
        })
    }

    /// Runs the engine until [`stop`](SocketEngine::stop) (or [`Handle::stop`]) was asked and
    /// every channel has closed.
    ///
    /// Cancel-safe: dropping the future leaves the engine as it was after its last turn;
    /// running it again carries on. Dropping the engine closes every socket.
    pub async fn run(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_run(cx)).await
    }

    /// [`run`](Self::run) as a poll function, for hand-written futures: reports the readiness
    /// that woke it, runs one turn, and returns `Ready` once the engine is finished.
    /// Otherwise it arranges to be woken (readiness, a deadline, a handle, a signal) and
    /// returns `Pending`; with work left after its bounded turn, it wakes itself at once so
    /// that other tasks run first.
    pub fn poll_run(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.register(cx.waker());
        let mail = self.ready.take(&mut self.woken);
        for id in self.woken.drain(..) {
            if let (Some(slot), _) = self.inner.table_mut().slot_mut(id) {
                let readiness = slot.handle_wake();
                self.inner.handle_readiness(id, readiness);
            }
        }
        self.report_known();
        if mail {
            self.inner.handle_wake();
        }
        if self.poll_signals(cx) {
            self.inner.stop();
        }
        self.inner.turn();
        if self.inner.is_finished() {
            return Poll::Ready(Ok(()));
        }
        let known = !self.inner.table_mut().poller_mut().known.is_empty();
        let next = self.inner.next_deadline();
        let due = next.is_some_and(|at| at <= Instant::now());
        if known || due || self.deadline.poll(cx, next) {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    /// Stops gracefully, as [`stop`](SocketEngine::stop) does, when one of `signals`
    /// arrives: for a server, usually [`signal::SIGINT`] and [`signal::SIGTERM`]. Each
    /// signal that comes stops again (a stop already under way goes on).
    ///
    /// The signal handler only wakes the engine task (through a socket pair watched by the
    /// reactor); no thread is started. The signals stay caught while the engine lives; once
    /// it is dropped they are ignored. Refused with an error for signals that cannot or must
    /// not be caught (`SIGKILL`, `SIGSTOP`, `SIGSEGV`, `SIGILL`, `SIGFPE`).
    pub fn stop_on_signals(&mut self, signals: &[c_int]) -> io::Result<()> {
        let pipe = match self.signals.take() {
            Some(pipe) => pipe,
            None => Async::new_nonblocking(SignalPipe::new()?)?,
        };
        let pipe = self.signals.insert(pipe).get_ref();
        signals.iter().try_for_each(|&signal| pipe.catch(signal))
    }

    /// Reports the readiness the reactor knew without waiting.
    fn report_known(&mut self) {
        let known = std::mem::take(&mut self.inner.table_mut().poller_mut().known);
        for (id, readiness) in known {
            self.inner.handle_readiness(id, readiness);
        }
    }

    /// True when a caught signal came; watches the pipe again either way.
    fn poll_signals(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(pipe) = &self.signals else {
            return false;
        };
        if pipe.poll_readable(cx).is_pending() {
            return false;
        }
        let caught = pipe.get_ref().take();
        let _ = pipe.poll_readable(cx);
        caught
    }
}

pants_socket::deref_to_socket_engine!(Engine, inner, Reactor);

/// A group of smol engines, one per thread, listening on one port (`SO_REUSEPORT`): for a
/// server that outgrows one core. Each engine runs under [`async_io::block_on`] on its own
/// thread. What the kernel spreads, how engines reach each other and how a group stops:
/// [`pants_socket::Group`].
///
/// Unlike the mio driver's, these engines are not independent down to the poller: async-io
/// has one reactor per process, so every engine's sockets are in one epoll instance, polled
/// by whichever engine thread holds the reactor's lock, which wakes the others when their
/// sockets are ready. A smol group shares that lock and those wake-ups on its request path
/// (BENCHMARKS.md measures what it costs); for one engine per core with nothing shared, use
/// `pants_mio::Group`.
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
/// let group = pants_smol::Group::builder(2).listen("[::1]:0", |_member| || Echo)?;
/// let addr = group.local_addr().unwrap().to_string();
/// let mut client = std::net::TcpStream::connect(addr)?;
/// client.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
/// client.write_all(b"ping")?;
/// let mut echoed = [0; 4];
/// client.read_exact(&mut echoed)?;
/// assert_eq!(&echoed, b"ping");
/// group.stop();
/// group.join()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub type Group = pants_socket::Group<Engine>;

impl GroupEngine for Engine {
    type Poller = Reactor;

    fn build(config: EngineConfig) -> io::Result<Self> {
        Self::with_config(config)
    }

    fn catch_signals(&mut self, signals: &[c_int]) -> io::Result<()> {
        self.stop_on_signals(signals)
    }

    fn run_here(&mut self) -> io::Result<()> {
        async_io::block_on(self.run())
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("channels", &self.inner.channel_count())
            .finish_non_exhaustive()
    }
}
