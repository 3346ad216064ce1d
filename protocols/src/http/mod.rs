//! A small HTTP/1.1 server: keep-alive, pipelining, static files, request bodies by
//! Content-Length.
//!
//! | request | response |
//! |---|---|
//! | `GET /` (or `HEAD`) | `200`, a short text |
//! | `POST /echo` with a body | `200`, the body itself (`application/octet-stream`) |
//! | `GET /path` (or `HEAD`) | the file `path` under [`HttpConfig::root`], sent with `write_file`; `404` when missing, `403` for `..` or a link leading out of the root |
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
//! just work: each response is queued after the previous one. Above the write queue's
//! high-water mark, the connection pauses reading until `on_write`.
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

use bytes::Bytes;
use pants_core::{
    Context, DelimiterError, Direction, Frame, Handler, IntoAddr, Listen, OverflowError,
    OverflowPolicy, ReadDelimiter, StreamConfig,
};

use crate::pace;
use request::{Method, Request};
use response::{Persistence, Status};

/// What the server serves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpConfig {
    /// Files under this directory are served by `GET /path`; `None` serves no files (only `/`
    /// and `/echo`). It is made canonical once, when the factory is made.
    pub root: Option<PathBuf>,
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
    });
    move || Http {
        shared: shared.clone(),
        state: State::Head,
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
}

/// What every connection of a server shares.
struct Shared {
    /// The canonical root directory.
    root: Option<PathBuf>,
    head: ReadDelimiter,
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
        outcome.send(cx, persistence, head_only);
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
    /// above its high-water mark.
    fn send(self, cx: &mut Context<'_>, persistence: Persistence, head_only: bool) {
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
    }

    fn send_file(
        cx: &mut Context<'_>,
        found: response::Found,
        persistence: Persistence,
        head_only: bool,
    ) {
        let head = response::head(Status::OK, found.content_type, found.len, persistence, "");
        let queued = cx.write(head);
        pace(cx, queued);
        if !head_only && found.len > 0 {
            let queued = cx.write_file(Arc::new(found.file), 0, found.len);
            pace(cx, queued);
        }
    }
}
