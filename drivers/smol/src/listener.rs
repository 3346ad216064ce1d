//! Accepting connections from async code: [`AsyncListener::bind`], then
//! [`accept().await`](AsyncListener::accept) for each connection, as an [`AsyncStream`].
//!
//! The listener is a server channel of the engine, as any other: each connection it accepts
//! gets a [`StreamHandler`](crate::StreamHandler) from its factory, and its [`AsyncStream`] is
//! handed to the listener once it is open. The hand-over is bounded: once
//! [`BACKLOG`] streams wait to be accepted, the server stops accepting (the kernel's backlog
//! then holds the next ones) until `accept` has taken half of them.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use pants_core::{Addr, ChannelId, Context, Handler, IntoAddr, IntoReadDelimiter, Listen};
use pants_socket::Handle;

use crate::stream::{AsyncStream, lock};

/// Streams open and not accepted yet, at most, before the server stops accepting.
pub const BACKLOG: usize = 128;

/// A server for async code: `accept().await` gives each connection as an [`AsyncStream`].
///
/// ```
/// use pants_smol::{AsyncListener, AsyncStream, Engine};
///
/// let executor = smol::LocalExecutor::new();
/// smol::block_on(executor.run(async {
///     let mut engine = Engine::new()?;
///     let handle = engine.handle();
///     let task = executor.spawn(async move {
///         let mut listener = AsyncListener::bind(&handle, "127.0.0.1:0", "\n").await?;
///         // A client of our own, on the same engine.
///         let client = AsyncStream::connect(&handle, listener.local_addr(), "\n").await?;
///         let (conn, _peer) = listener.accept().await?;
///         client.write(b"hello\n").await?;
///         let line = conn.read_frame().await?;
///         handle.stop();
///         Ok::<_, std::io::Error>(line)
///     });
///     engine.run().await?;
///     assert_eq!(task.await?.as_deref(), Some(&b"hello"[..]));
///     Ok::<(), std::io::Error>(())
/// }))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AsyncListener {
    backlog: Arc<Mutex<Backlog>>,
    handle: Handle,
    id: ChannelId,
    local: Addr,
}

/// What the server's connections hand over, and the task waiting for them.
#[derive(Default)]
struct Backlog {
    /// Open streams not accepted yet, with their peers' addresses.
    ready: VecDeque<(AsyncStream, Addr)>,
    waker: Option<Waker>,
    /// The server, once it listens.
    server: Option<ChannelId>,
    /// The server stopped accepting because the backlog is full.
    paused: bool,
    /// The server closed (or the engine is gone): no stream comes any more.
    closed: bool,
}

impl AsyncListener {
    /// Listens at `addr` on the engine behind `handle`; each connection's input is cut by
    /// `delimiter`.
    pub async fn bind(
        handle: &Handle,
        addr: impl IntoAddr,
        delimiter: impl IntoReadDelimiter,
    ) -> io::Result<AsyncListener> {
        let (addr, delimiter) = (addr.into_addr()?, delimiter.into_read_delimiter()?);
        let backlog = Arc::new(Mutex::new(Backlog::default()));
        let (queue, streams) = (backlog.clone(), handle.clone());
        let opened = handle.call(move |cx| -> io::Result<(ChannelId, Addr)> {
            let factory_queue = queue.clone();
            let factory = move || {
                let (mut handler, stream) = AsyncStream::pair(&streams, delimiter.clone())
                    .expect("a delimiter already checked");
                let queue = factory_queue.clone();
                handler.on_open(move |cx| hand_over(&queue, cx, stream));
                handler
            };
            let listen = Listen::new(addr, factory).handler(ServerHandler(queue));
            let id = cx.listen_with(listen)?;
            let local = cx.channel(id).and_then(|server| server.local());
            let local = local.ok_or_else(|| io::Error::other("the listener has no address"))?;
            Ok((id, local))
        });
        let (id, local) = opened.await??;
        lock(&backlog).server = Some(id);
        Ok(AsyncListener {
            backlog,
            handle: handle.clone(),
            id,
            local,
        })
    }

    /// The address it listens at (with the port the system chose for port 0).
    pub fn local_addr(&self) -> &Addr {
        &self.local
    }

    /// The server channel's id.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// The next connection, once it is open, with its peer's address. An error once the
    /// server closed (the engine stopped, or was dropped).
    pub async fn accept(&mut self) -> io::Result<(AsyncStream, Addr)> {
        let (accepted, resume) = poll_fn(|cx| {
            let mut backlog = lock(&self.backlog);
            if let Some(next) = backlog.ready.pop_front() {
                let resume = backlog.paused && backlog.ready.len() <= BACKLOG / 2;
                backlog.paused &= !resume;
                return Poll::Ready(Ok((next, resume)));
            }
            if backlog.closed {
                let closed = io::Error::new(io::ErrorKind::BrokenPipe, "the listener closed");
                return Poll::Ready(Err(closed));
            }
            backlog.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await?;
        if resume {
            let id = self.id;
            self.handle.post(move |cx| {
                if let Some(mut server) = cx.channel(id) {
                    server.resume_reading();
                }
            });
        }
        Ok(accepted)
    }
}

impl Drop for AsyncListener {
    /// Stops accepting; the streams accepted stay open, and those not accepted close. (The
    /// listening socket closes with the engine: closing a server would close its
    /// connections too.)
    fn drop(&mut self) {
        let id = self.id;
        let waiting = {
            let mut backlog = lock(&self.backlog);
            backlog.closed = true;
            std::mem::take(&mut backlog.ready)
        };
        drop(waiting);
        self.handle.post(move |cx| {
            if let Some(mut server) = cx.channel(id) {
                server.pause_reading();
            }
        });
    }
}

/// An open stream, for the listener's task; a full backlog stops the server accepting.
fn hand_over(backlog: &Mutex<Backlog>, cx: &mut Context<'_>, stream: AsyncStream) {
    let mut backlog = lock(backlog);
    if backlog.closed {
        return; // dropped: the stream closes
    }
    // A peer the system no longer names (already gone) is shown as an unnamed Unix peer is,
    // an empty path: `accept` still hands the stream over, and its first read says the rest.
    let peer = cx.peer().unwrap_or_else(|| Addr::Unix(Default::default()));
    backlog.ready.push_back((stream, peer));
    if backlog.ready.len() >= BACKLOG
        && !backlog.paused
        && let Some(mut server) = backlog.server.and_then(|id| cx.channel(id))
    {
        server.pause_reading();
        backlog.paused = true;
    }
    if let Some(waker) = backlog.waker.take() {
        waker.wake();
    }
}

/// The server's own handler: its close ends the accepting task's wait.
struct ServerHandler(Arc<Mutex<Backlog>>);

impl ServerHandler {
    fn closed(&self) {
        let mut backlog = lock(&self.0);
        backlog.closed = true;
        if let Some(waker) = backlog.waker.take() {
            waker.wake();
        }
    }
}

impl Handler for ServerHandler {
    fn on_close(&mut self, _: &mut Context<'_>) {
        self.closed();
    }
}

impl Drop for ServerHandler {
    /// The engine was dropped without closing the server.
    fn drop(&mut self) {
        self.closed();
    }
}
