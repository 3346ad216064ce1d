//! A small HTTP/1.1 server: keep-alive, pipelining, static files, request bodies by
//! Content-Length.
//!
//! | request | response |
//! |---|---|
//! | `GET /` (or `HEAD`) | `200`, a short text |
//! | `POST /echo` with a body | `200`, the body itself (`application/octet-stream`) |
//! | `GET /path` (or `HEAD`) | the file `path` under [`HttpConfig::root`], sent with `write_file`; `404` when missing, `403` for `..` or a link leading out of the root, `503` when the server is out of descriptors |
//! | another method | `501` |
//! | `POST` elsewhere, `GET /echo` | `405` |
//!
//! Bodies of requests other than `POST /echo` are read and discarded.
//!
//! # Framing: the read delimiter does it
//!
//! As in Pants' HTTP server, the head of a request is one frame, cut by the byte delimiter
//! `\r\n\r\n`; a body is one frame of `count(Content-Length)`; then the delimiter goes back to
//! the head's (kept and cloned: no allocation per request).
//!
//! ```text
//!            "\r\n\r\n"                       count(Content-Length)
//!   [Head] -------------> parse the head ----------------------------> [Body]
//!     ^                   |  no body: answer                             |
//!     +-------------------+                                              |
//!     +------------------------- answer, back to "\r\n\r\n" -------------+
//! ```
//!
//! Requests are answered in the order they came, so pipelined requests (several in one send)
//! just work: each response is queued after the previous one.
//!
//! # Backpressure: what one connection may hold
//!
//! A client that pipelines requests and does not read the responses must not make the server
//! hold more and more. The connection stops reading requests (`cx.pause_reading()`, the
//! backpressure pants offers: the kernel's window then slows the client down) in two cases,
//! and reads again in `on_write`, once the write queue is empty:
//!
//! - a write leaves the queue above its high-water mark (64 KiB of bytes in memory);
//! - [`HttpConfig::max_queued_files`] file responses are queued. A file range is sent from its
//!   file, so it weighs nothing against the high-water mark, but it holds an open descriptor
//!   from when it is queued: without this bound, one client pipelining `GET` of a large file
//!   made the server hold one descriptor per request (658 at a 64 KiB queue of heads).
//!
//! ```text
//!   on_read: queue a response --> over high water, or max_queued_files files? --> pause_reading
//!   on_write (queue empty):   resume_reading, count files from 0
//! ```
//!
//! # Timeouts
//!
//! A request head must arrive whole within [`HttpConfig::header_timeout`] (60 s, as nginx's
//! `client_header_timeout`), counted from the connection's start, the end of the previous
//! request, or the moment the responses before it were all sent: otherwise the server answers
//! `408` and closes. This bounds a client that sends a head a byte at a time (slowloris), which
//! an idle timeout alone does not. Bodies and stalled sends are bounded by the stream's idle
//! timeout (`StreamConfig::idle_timeout`, set by the example's `--idle-timeout`).
//!
//! # Errors and limits
//!
//! - A malformed head (RFC 9112, read strictly: CRLF line endings, no folding, one `Host` in
//!   HTTP/1.1, a numeric `Content-Length`) is answered `400` and the connection closed.
//! - A head longer than the stream's read limit (64 KiB by default) is answered `431` and
//!   closed. That reply is written from `on_overflow_error`, which the stream's default
//!   overflow policy (close at once) does not allow: listen with [`stream_config`] (or
//!   [`listen`]), whose policy is `Discard`. Under the default policy the connection is closed
//!   without a reply.
//! - A `Content-Length` over the stream's hard read limit (8 MiB by default) is answered `413`;
//!   `Transfer-Encoding` (chunked bodies) `501`; versions other than 1.0 and 1.1 `505`: all
//!   close, since the rest of the stream cannot be framed.
//! - `Connection: close` is honoured, and HTTP/1.0 closes after the response unless it asked
//!   for `Connection: keep-alive`. `Expect: 100-continue` gets a `100 Continue` first.
//! - A file the server cannot open for want of descriptors or memory (`EMFILE`, `ENFILE`,
//!   `ENOMEM`) is answered `503`, not `404`: the file is there, the server is out of room.
//!
//! The server writes no `Date` field: the core reads no clock, and neither does this example.
//! Opening a file is a blocking call on the event loop's thread, acceptable for an example
//! serving local files.

pub(crate) mod request;
mod response;

use std::fmt;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pants_core::{
    Context, DelimiterError, Direction, Frame, Handler, IntoAddr, Listen, OverflowError,
    OverflowPolicy, ReadDelimiter, StreamConfig, TimerId,
};

use crate::pace;
use request::{Method, Request};
use response::{Persistence, Status};

/// What the server serves, and what one connection may hold and for how long.
///
/// ```
/// use std::time::Duration;
/// use pants_protocols::http::HttpConfig;
///
/// let config = HttpConfig {
///     root: Some(".".into()),
///     header_timeout: Some(Duration::from_secs(10)),
///     ..HttpConfig::default()
/// };
/// assert_eq!(config.max_queued_files, HttpConfig::DEFAULT_MAX_QUEUED_FILES);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Files under this directory are served by `GET /path`; `None` serves no files (only `/`
    /// and `/echo`). It is made canonical once, when the factory is made. Default: `None`.
    pub root: Option<PathBuf>,
    /// How long a request head may take to arrive whole (see the [module](self#timeouts));
    /// then `408` and close. `None`: no limit. Default: 60 s, nginx's `client_header_timeout`.
    pub header_timeout: Option<Duration>,
    /// How many file responses a connection queues before it stops reading requests until
    /// they are sent (at least 1): each holds an open file from when it is queued. Default: 4.
    pub max_queued_files: usize,
}

impl HttpConfig {
    /// The default [`header_timeout`](Self::header_timeout): 60 s, as nginx.
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(60);
    /// The default [`max_queued_files`](Self::max_queued_files): 4, enough to keep a pipeline
    /// of file responses flowing, while a connection holds at most 5 descriptors.
    pub const DEFAULT_MAX_QUEUED_FILES: usize = 4;
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            root: None,
            header_timeout: Some(Self::DEFAULT_HEADER_TIMEOUT),
            max_queued_files: Self::DEFAULT_MAX_QUEUED_FILES,
        }
    }
}

/// The short text `GET /` answers.
pub const GREETING: &str = "Hello from pants!\n";

/// A factory of connections serving `config`, sharing one compiled head delimiter.
///
/// ```
/// use pants_core::testing::Network;
/// use pants_protocols::http::{self, HttpConfig};
///
/// let mut net = Network::new();
/// net.context().listen_with(http::listen("127.0.0.1:80", HttpConfig::default()))?;
/// let peer = net.peer_connect("127.0.0.1:80")?;
/// net.send(peer, "GET / HTTP/1.1\r\nHost: example\r\n\r\n");
/// net.run();
/// let response = net.received(peer);
/// assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"));
/// assert!(response.ends_with(http::GREETING.as_bytes()));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn factory(config: HttpConfig) -> impl FnMut() -> Http + 'static {
    let root = config.root.map(|root| root.canonicalize().unwrap_or(root));
    let shared = Rc::new(Shared {
        root,
        head: ReadDelimiter::bytes(b"\r\n\r\n").expect("a four-byte delimiter is valid"),
        header_timeout: config.header_timeout,
        max_queued_files: config.max_queued_files.max(1),
    });
    move || Http {
        shared: shared.clone(),
        state: State::Head,
        queued_files: 0,
        head_since: None,
    }
}

/// The stream settings this server wants: the defaults, with the overflow policy `Discard`, so
/// that an oversized head can be answered `431` before the handler closes.
pub fn stream_config() -> StreamConfig {
    StreamConfig {
        overflow: OverflowPolicy::Discard,
        ..StreamConfig::default()
    }
}

/// A server at `addr` serving `config`, with [`stream_config`]: give it to `listen_with`.
pub fn listen(addr: impl IntoAddr, config: HttpConfig) -> Listen {
    Listen::new(addr, factory(config)).stream_config(stream_config())
}

/// One client's connection to the server. Made by [`factory`].
pub struct Http {
    shared: Rc<Shared>,
    state: State,
    /// File responses queued since the write queue was last empty; reading pauses at
    /// [`Shared::max_queued_files`].
    queued_files: usize,
    /// Since when the next request head is awaited (see the [module](self#timeouts)): set
    /// when the connection opens, at the end of each request and when the queue drains.
    head_since: Option<Instant>,
}

/// What every connection of a server shares.
struct Shared {
    /// The canonical root directory.
    root: Option<PathBuf>,
    head: ReadDelimiter,
    header_timeout: Option<Duration>,
    /// At least 1.
    max_queued_files: usize,
}

/// What the next frame is.
#[derive(Debug)]
enum State {
    /// A request head, cut by `\r\n\r\n`.
    Head,
    /// The body of `Request`, cut by a count.
    Body(Request),
    /// An error was answered or the client asked to close: flushing, then closing.
    Closing,
}

impl Handler for Http {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter(&self.shared.head)
            .expect("a byte delimiter fits any read limit");
        if let Some(timeout) = self.shared.header_timeout {
            self.head_since = Some(cx.now());
            cx.timer_after(timeout);
        }
    }

    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        match std::mem::replace(&mut self.state, State::Head) {
            State::Head => self.head(cx, frame.into_bytes()),
            State::Body(request) => {
                cx.set_read_delimiter(&self.shared.head)
                    .expect("a byte delimiter fits any read limit");
                self.respond(cx, &request, frame.into_bytes());
            }
            State::Closing => self.state = State::Closing,
        }
    }

    fn on_write(&mut self, cx: &mut Context<'_>) {
        // Everything queued is sent: the files too, and the wait for the next head starts.
        self.queued_files = 0;
        self.head_since = Some(cx.now());
        cx.resume_reading();
    }

    fn on_overflow_error(&mut self, cx: &mut Context<'_>, err: &OverflowError) {
        match err.direction() {
            Direction::Read => self.fail(cx, Status::HEADERS_TOO_LARGE),
            Direction::Write => {
                self.state = State::Closing;
                cx.close();
            }
        }
    }

    /// The header timer: answers `408` if the head awaited is late, else waits again.
    fn on_timer(&mut self, cx: &mut Context<'_>, _timer: TimerId) {
        let (Some(timeout), Some(since)) = (self.shared.header_timeout, self.head_since) else {
            return;
        };
        let now = cx.now();
        let since = match self.state {
            State::Closing => return,
            // Responses still going out, or a body being read: no head is awaited yet (the
            // stream's idle timeout bounds those).
            _ if self.queued_files > 0 || cx.this().queued() > 0 => now,
            State::Body(_) => now,
            State::Head => since,
        };
        self.head_since = Some(since);
        let due = since + timeout;
        if now >= due {
            return self.fail(cx, Status::REQUEST_TIMEOUT);
        }
        cx.timer_after(due - now);
    }
}

impl Http {
    fn head(&mut self, cx: &mut Context<'_>, mut frame: Bytes) {
        // Empty lines before a request line are ignored (RFC 9112, section 2.2).
        let blank = frame
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        let _ = frame.split_to(blank);
        if frame.is_empty() {
            return;
        }
        let request = match request::parse(&frame) {
            Ok(request) => request,
            Err(status) => return self.fail(cx, status),
        };
        if request.content_length == 0 {
            return self.respond(cx, &request, Bytes::new());
        }
        let Ok(length) = usize::try_from(request.content_length) else {
            return self.fail(cx, Status::CONTENT_TOO_LARGE);
        };
        match cx.set_read_delimiter(length) {
            Ok(()) => {}
            Err(DelimiterError::OverHardLimit { .. }) => {
                return self.fail(cx, Status::CONTENT_TOO_LARGE);
            }
            Err(err) => unreachable!("a count of at least 1 is valid: {err}"),
        }
        if request.expects_continue {
            let _ = cx.write(response::continue_head());
        }
        self.state = State::Body(request);
    }

    /// Answers a complete request (its body read).
    fn respond(&mut self, cx: &mut Context<'_>, request: &Request, body: Bytes) {
        let persistence = match (request.keep_alive, request.keep_alive_1_0) {
            (false, _) => Persistence::Close,
            (true, true) => Persistence::KeepAlive1_0,
            (true, false) => Persistence::KeepAlive,
        };
        let head_only = request.method == Method::Head;
        let path = &request.path[..];
        let outcome = match (request.method, path) {
            (Method::Get | Method::Head, b"/") => {
                let text = Bytes::from_static(GREETING.as_bytes());
                Reply::Body(Status::OK, "text/plain; charset=utf-8", text)
            }
            (Method::Post, b"/echo") => Reply::Body(Status::OK, "application/octet-stream", body),
            (Method::Get | Method::Head, b"/echo") => Reply::NotAllowed("Allow: POST\r\n"),
            (Method::Get | Method::Head, _) => self.file(path),
            (Method::Post, _) => Reply::NotAllowed("Allow: GET, HEAD\r\n"),
            (Method::Other, _) => Reply::Error(Status::NOT_IMPLEMENTED),
        };
        if outcome.send(cx, persistence, head_only) {
            self.queued_files += 1;
            if self.queued_files >= self.shared.max_queued_files {
                cx.pause_reading();
            }
        }
        self.head_since = Some(cx.now());
        if persistence == Persistence::Close {
            self.state = State::Closing;
            cx.close();
        }
    }

    fn file(&self, path: &[u8]) -> Reply {
        let Some(root) = &self.shared.root else {
            return Reply::Error(Status::NOT_FOUND);
        };
        match response::find_file(root, path) {
            Ok(found) => Reply::File(found),
            Err(status) => Reply::Error(status),
        }
    }

    /// Bytes this handler holds between callbacks (a request waiting for its body keeps its
    /// path, a slice of the head): for the fuzzing checks.
    pub(crate) fn held(&self) -> usize {
        match &self.state {
            State::Body(request) => request.path.len(),
            _ => 0,
        }
    }

    /// Answers an error after which the stream cannot be trusted to start at a request (a
    /// malformed or oversized head, a body it cannot frame), then closes after flushing.
    fn fail(&mut self, cx: &mut Context<'_>, status: Status) {
        Reply::Error(status).send(cx, Persistence::Close, false);
        self.state = State::Closing;
        cx.close();
    }
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http").field("state", &self.state).finish()
    }
}

/// A response to send.
enum Reply {
    Body(Status, &'static str, Bytes),
    File(response::Found),
    /// `405`, with the `Allow` field naming what the resource takes.
    NotAllowed(&'static str),
    Error(Status),
}

impl Reply {
    /// Queues the response (without its body for `HEAD`), pausing reading if the queue went
    /// above its high-water mark. True when a file range was queued.
    fn send(self, cx: &mut Context<'_>, persistence: Persistence, head_only: bool) -> bool {
        const TEXT: &str = "text/plain; charset=utf-8";
        let (status, content_type, body, extra) = match self {
            Reply::Body(status, content_type, body) => (status, content_type, body, ""),
            Reply::NotAllowed(allow) => {
                let status = Status::METHOD_NOT_ALLOWED;
                (status, TEXT, response::error_body(status), allow)
            }
            Reply::Error(status) => (status, TEXT, response::error_body(status), ""),
            Reply::File(found) => return Self::send_file(cx, found, persistence, head_only),
        };
        let length = body.len() as u64;
        let head = response::head(status, content_type, length, persistence, extra);
        let queued = cx.write(head);
        pace(cx, queued);
        if !head_only && !body.is_empty() {
            let queued = cx.write(body);
            pace(cx, queued);
        }
        false
    }

    /// Queues a file response; true when its range was queued (not for `HEAD` or an empty
    /// file, whose descriptor is closed at once).
    fn send_file(
        cx: &mut Context<'_>,
        found: response::Found,
        persistence: Persistence,
        head_only: bool,
    ) -> bool {
        let head = response::head(Status::OK, found.content_type, found.len, persistence, "");
        let queued = cx.write(head);
        pace(cx, queued);
        if head_only || found.len == 0 {
            return false;
        }
        let queued = cx.write_file(Arc::new(found.file), 0, found.len);
        let sent = queued.is_ok();
        pace(cx, queued);
        sent
    }
}
