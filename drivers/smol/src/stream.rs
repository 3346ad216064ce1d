//! One stream seen from async code: `read_frame().await`, `write(..).await`,
//! `close().await`, for those who prefer `async fn` to callbacks.
//!
//! It is the same core channel as any other, driven by the engine: a [`StreamHandler`] sits
//! in the engine as the channel's handler and hands frames (cut by the read delimiter, with
//! the stream's read limit) to the [`AsyncStream`] in another task; writes go through the
//! engine's [`Handle`] into the channel's write queue, with its limits. The hand-over is
//! bounded: once a frame limit's worth of frames wait unread, the handler pauses reading (the
//! kernel's window then slows the peer) until the task has taken half of them.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use bytes::Bytes;
use pants_core::{
    Addr, ChannelId, ConnectError, Context, DelimiterError, Error, Frame, Handler, IntoAddr,
    IntoReadDelimiter, OverflowError, ReadDelimiter, Written,
};
use pants_socket::{Handle, StreamSocket};

/// Bytes of frames a stream holds for its task before it pauses reading (the default read
/// limit of a stream).
const FRAME_LIMIT: usize = 64 * 1024;

/// One stream, for async code: frames in, bytes out, close.
///
/// Made with [`connect`](Self::connect), or with [`pair`](Self::pair) for a stream the
/// engine opens (a connection a server accepted: give the handler to the listen factory). It
/// mixes with handlers on the same engine:
///
/// ```
/// use pants_core::{Context, Frame, Handler};
/// use pants_smol::{AsyncStream, Engine};
///
/// /// A handler-written server: answers each line in upper case.
/// struct Shout;
/// impl Handler for Shout {
///     fn on_connect(&mut self, cx: &mut Context<'_>) {
///         cx.set_read_delimiter("\n").unwrap();
///     }
///     fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
///         let _ = cx.write([&line.to_ascii_uppercase()[..], b"\n"].concat());
///     }
/// }
///
/// let executor = smol::LocalExecutor::new();
/// smol::block_on(executor.run(async {
///     let mut engine = Engine::new()?;
///     let server = engine.listen("127.0.0.1:0", || Shout)?;
///     let addr = engine.local_addr(server).unwrap();
///     let handle = engine.handle();
///     // An async client of the same engine, in a task of its own.
///     let client = executor.spawn(async move {
///         let stream = AsyncStream::connect(&handle, addr, "\n").await?;
///         stream.write("hello\n").await?;
///         let answer = stream.read_frame().await?;
///         stream.close().await?;
///         handle.stop();
///         Ok::<_, std::io::Error>(answer)
///     });
///     engine.run().await?;
///     assert_eq!(client.await?.as_deref(), Some(&b"HELLO"[..]));
///     Ok::<(), std::io::Error>(())
/// }))?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Clones are the same stream (as async-net's `TcpStream`): one task may read while another
/// writes. The channel closes when the last clone is dropped.
#[derive(Clone)]
pub struct AsyncStream {
    inner: Arc<Inner>,
}

/// What the clones of an [`AsyncStream`] share.
struct Inner {
    shared: Arc<Mutex<Shared>>,
    handle: Handle,
}

/// The engine's side of an [`AsyncStream`]: the handler of its channel.
pub struct StreamHandler {
    shared: Arc<Mutex<Shared>>,
    delimiter: ReadDelimiter,
    /// Run once the channel is open (an [`AsyncListener`](crate::AsyncListener) hands the
    /// accepted stream over then).
    on_open: Option<OnOpen>,
}

/// What a [`StreamHandler`] runs once its channel is open.
type OnOpen = Box<dyn FnOnce(&mut Context<'_>) + Send>;

/// What the handler and the task share.
struct Shared {
    /// The channel, once it connected.
    id: Option<ChannelId>,
    /// The peer's address, once connected.
    peer: Option<Addr>,
    phase: Phase,
    /// Frames the task has not read yet, and their bytes.
    frames: VecDeque<Bytes>,
    buffered: usize,
    /// Reading is paused because too many frames wait.
    paused: bool,
    /// The write queue is above its high-water mark: writes wait for `on_write`.
    above_high_water: bool,
    /// The first error the channel reported.
    error: Option<io::Error>,
    /// The task waiting to read (or to connect), and the one waiting to write (or close).
    reader: Option<Waker>,
    writer: Option<Waker>,
    /// The [`AsyncStream`] was dropped: the channel closes (once connected), and its frames
    /// are dropped.
    abandoned: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Open,
    /// The peer ended its side: no frame follows those queued.
    Ended,
    Closed,
}

impl Shared {
    fn wake_all(&mut self) {
        self.reader.take().into_iter().for_each(Waker::wake);
        self.writer.take().into_iter().for_each(Waker::wake);
    }

    /// The error to give a call on a stream that is closed (or failed).
    fn closed_error(&mut self) -> io::Error {
        self.error
            .take()
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "the stream is closed"))
    }
}

/// Locks what a task and the loop share; a panic elsewhere leaves it whole (each change is
/// one assignment), so a poisoned lock is taken as it is.
pub(crate) fn lock<T>(shared: &Mutex<T>) -> MutexGuard<'_, T> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

impl AsyncStream {
    /// A stream for a channel the engine will open with the returned handler (give it to
    /// `connect`, or return it from a listen factory), its input cut by `delimiter`.
    pub fn pair(
        handle: &Handle,
        delimiter: impl IntoReadDelimiter,
    ) -> Result<(StreamHandler, AsyncStream), DelimiterError> {
        let shared = Arc::new(Mutex::new(Shared {
            id: None,
            peer: None,
            phase: Phase::Connecting,
            frames: VecDeque::new(),
            buffered: 0,
            paused: false,
            above_high_water: false,
            error: None,
            reader: None,
            writer: None,
            abandoned: false,
        }));
        let handler = StreamHandler {
            shared: shared.clone(),
            delimiter: delimiter.into_read_delimiter()?,
            on_open: None,
        };
        let stream = AsyncStream {
            inner: Arc::new(Inner {
                shared,
                handle: handle.clone(),
            }),
        };
        Ok((handler, stream))
    }

    /// Connects to `addr` through the engine behind `handle`, the input cut by `delimiter`;
    /// returns once connected, or with the connect's error.
    pub async fn connect(
        handle: &Handle,
        addr: impl IntoAddr,
        delimiter: impl IntoReadDelimiter,
    ) -> io::Result<AsyncStream> {
        let addr = addr.into_addr()?;
        let (handler, stream) = Self::pair(handle, delimiter)?;
        handle
            .call(move |cx| cx.connect(addr, handler).map(drop))
            .await??;
        poll_fn(|cx| {
            let mut shared = lock(&stream.inner.shared);
            match shared.phase {
                Phase::Connecting => {
                    shared.reader = Some(cx.waker().clone());
                    Poll::Pending
                }
                Phase::Closed if shared.id.is_none() => Poll::Ready(Err(shared.closed_error())),
                _ => Poll::Ready(Ok(())),
            }
        })
        .await?;
        Ok(stream)
    }

    /// Takes over a connected stream socket opened elsewhere (a `std::net::TcpStream`, a
    /// `UnixStream`: see [`SocketEngine::adopt`](pants_socket::SocketEngine::adopt)) as a
    /// stream of `engine`'s, its input cut by `delimiter`.
    pub fn adopt(
        engine: &mut crate::Engine,
        socket: impl Into<StreamSocket>,
        delimiter: impl IntoReadDelimiter,
    ) -> io::Result<AsyncStream> {
        let (handler, stream) = Self::pair(&engine.handle(), delimiter)?;
        engine.adopt(socket, handler)?;
        Ok(stream)
    }

    /// The channel's id, once it connected.
    pub fn id(&self) -> Option<ChannelId> {
        lock(&self.inner.shared).id
    }

    /// The peer's address, once connected.
    pub fn peer_addr(&self) -> Option<Addr> {
        lock(&self.inner.shared).peer.clone()
    }

    /// The next frame; `None` once the peer ended the stream (or it closed) and every frame
    /// before that was read. An error the channel reported comes once, after the frames that
    /// came before it.
    pub async fn read_frame(&self) -> io::Result<Option<Bytes>> {
        let frame = poll_fn(|cx| {
            let mut shared = lock(&self.inner.shared);
            if let Some(frame) = shared.frames.pop_front() {
                shared.buffered -= frame.len();
                let resume = shared.paused && shared.buffered <= FRAME_LIMIT / 2;
                shared.paused &= !resume;
                return Poll::Ready(Ok(Some((frame, resume.then_some(shared.id).flatten()))));
            }
            match shared.phase {
                Phase::Connecting | Phase::Open => {
                    shared.reader = Some(cx.waker().clone());
                    Poll::Pending
                }
                Phase::Ended | Phase::Closed => match shared.error.take() {
                    Some(err) => Poll::Ready(Err(err)),
                    None => Poll::Ready(Ok(None)),
                },
            }
        })
        .await?;
        let Some((frame, resume)) = frame else {
            return Ok(None);
        };
        if let Some(id) = resume {
            self.inner.handle.post(move |cx| {
                if let Some(mut channel) = cx.channel(id) {
                    channel.resume_reading();
                }
            });
        }
        Ok(Some(frame))
    }

    /// Queues a copy of `data` on the stream (`b"..."`, a `&str`, a `Vec<u8>`, `Bytes`: any
    /// bytes), after waiting until it is connected and while its write queue is above its
    /// high-water mark; refused as the channel's write is (over the hard limit, closed).
    pub async fn write(&self, data: impl AsRef<[u8]>) -> io::Result<()> {
        let id = poll_fn(|cx| {
            let mut shared = lock(&self.inner.shared);
            match (shared.phase, shared.id) {
                (Phase::Connecting, _) => {
                    shared.writer = Some(cx.waker().clone());
                    Poll::Pending
                }
                (Phase::Closed, _) | (_, None) => Poll::Ready(Err(shared.closed_error())),
                (_, Some(_)) if shared.above_high_water => {
                    shared.writer = Some(cx.waker().clone());
                    Poll::Pending
                }
                (_, Some(id)) => Poll::Ready(Ok(id)),
            }
        })
        .await?;
        let (data, shared) = (
            Bytes::copy_from_slice(data.as_ref()),
            self.inner.shared.clone(),
        );
        let written = self
            .inner
            .handle
            .call(move |cx| {
                let mut channel = cx.channel(id)?;
                let written = channel.write(data);
                if written == Written::AboveHighWater {
                    lock(&shared).above_high_water = true;
                }
                Some(written)
            })
            .await?;
        match written {
            Some(written) => written.into_result().map(drop).map_err(io::Error::from),
            None => Err(lock(&self.inner.shared).closed_error()),
        }
    }

    /// Closes the stream after flushing what is queued (the channel's `close`), and returns
    /// once it is closed.
    pub async fn close(&self) -> io::Result<()> {
        if let Some(id) = self.id() {
            self.inner.handle.post(move |cx| {
                if let Some(mut channel) = cx.channel(id) {
                    channel.close();
                }
            });
        }
        poll_fn(|cx| {
            let mut shared = lock(&self.inner.shared);
            if shared.phase == Phase::Closed || shared.id.is_none() {
                return Poll::Ready(());
            }
            shared.writer = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        Ok(())
    }
}

impl Handler for StreamHandler {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        let _ = cx.set_read_delimiter(self.delimiter.clone());
        {
            let mut shared = lock(&self.shared);
            shared.id = Some(cx.id());
            shared.peer = cx.peer();
            shared.phase = Phase::Open;
            if shared.abandoned {
                cx.close();
            }
            shared.wake_all();
        }
        if let Some(on_open) = self.on_open.take() {
            on_open(cx);
        }
    }

    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        let mut shared = lock(&self.shared);
        if shared.abandoned {
            return;
        }
        let frame = frame.into_bytes();
        shared.buffered += frame.len();
        shared.frames.push_back(frame);
        if shared.buffered >= FRAME_LIMIT && !shared.paused {
            shared.paused = true;
            cx.pause_reading();
        }
        shared.reader.take().into_iter().for_each(Waker::wake);
    }

    fn on_write(&mut self, _: &mut Context<'_>) {
        let mut shared = lock(&self.shared);
        shared.above_high_water = false;
        shared.writer.take().into_iter().for_each(Waker::wake);
    }

    fn on_eof(&mut self, _: &mut Context<'_>) {
        let mut shared = lock(&self.shared);
        shared.phase = Phase::Ended;
        shared.wake_all();
    }

    fn on_close(&mut self, _: &mut Context<'_>) {
        let mut shared = lock(&self.shared);
        shared.phase = Phase::Closed;
        shared.wake_all();
    }

    fn on_connect_error(&mut self, _: &mut Context<'_>, err: &ConnectError) {
        self.record(io::Error::new(err.kind(), err.to_string()));
    }

    fn on_overflow_error(&mut self, cx: &mut Context<'_>, err: &OverflowError) {
        self.record((*err).into());
        cx.close();
    }

    fn on_error(&mut self, _: &mut Context<'_>, err: &Error) {
        self.record(io::Error::new(err.kind(), err.to_string()));
    }
}

impl StreamHandler {
    /// Has `on_open` run once the channel is open, after the stream learned its id.
    pub(crate) fn on_open(&mut self, on_open: impl FnOnce(&mut Context<'_>) + Send + 'static) {
        self.on_open = Some(Box::new(on_open));
    }

    /// Keeps the channel's first error for the task, with its kind.
    fn record(&self, err: io::Error) {
        lock(&self.shared).error.get_or_insert(err);
    }
}

impl Drop for StreamHandler {
    /// The engine dropped the channel without closing it (the engine itself was dropped, or
    /// the connect was never made): a task waiting on the stream learns it is gone.
    fn drop(&mut self) {
        let mut shared = lock(&self.shared);
        if shared.phase != Phase::Closed {
            shared.phase = Phase::Closed;
            shared.error.get_or_insert_with(|| {
                io::Error::new(io::ErrorKind::BrokenPipe, "the engine dropped the stream")
            });
            shared.wake_all();
        }
    }
}

impl Drop for Inner {
    /// The last clone of the stream is gone: closes the channel after flushing what is
    /// queued, as dropping a socket does; the frames that arrive meanwhile are dropped.
    fn drop(&mut self) {
        let mut shared = lock(&self.shared);
        shared.abandoned = true;
        shared.frames.clear();
        if let (Some(id), false) = (shared.id, shared.phase == Phase::Closed) {
            self.handle.post(move |cx| {
                if let Some(mut channel) = cx.channel(id) {
                    channel.close();
                }
            });
        }
    }
}
