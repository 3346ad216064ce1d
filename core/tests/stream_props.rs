//! Property tests of the [`Stream`] state machine, driven the way a driver drives it.
//!
//! Every property runs on the same scripted [`Driver`]: a [`StreamDriver`] keeps the drive
//! order of the crate page after every input and every command (drain `poll_action`, then
//! `poll_transmit` while `wants_write()` and the socket takes bytes, then `poll_event`, until
//! a round yields nothing), and the [`World`] around the stream plays its socket and its
//! application. The driver reads only while `wants_read()` (or from a connecting socket, not
//! paused), never moves time backwards, and never reports more written than was offered. The
//! socket takes a scripted number of bytes per write; a write that takes less than offered (or
//! nothing) makes the socket not writable until the script says so. File ranges are "sent" by
//! reading the real file, so offsets and lengths are checked byte for byte.
//!
//! On every step the world checks the invariants that hold whatever the script:
//! - `Event::Closed` comes exactly once, last, together with exactly one `Action::Close`, after
//!   which no action, event, interest or deadline remains;
//! - `Event::Connected` comes at most once and before any `Event::Read`; no frame after `close()`
//!   nor while reading is paused;
//! - `Action::Shutdown` comes at most once, before `Action::Close`, only when the stream was
//!   closed gracefully and only once everything queued was sent; `wants_write()` is false after;
//! - what was sent is a prefix of what was queued, all of it whenever the queue is empty;
//! - `write()` is refused after `close()` (`WriteError::Closing`, then `WriteError::Closed`
//!   once closed), and only then;
//! - the read buffer stays within the read limits plus one input chunk, the write queue within
//!   its hard limit;
//! - `handle_timeout(t)` before `poll_timeout()` does nothing, at or after it makes progress, and
//!   afterwards `poll_timeout()` is later than `t` (no busy loop).
//!
//! The core bugs these properties found are pinned by the regression tests at the end.
#![cfg(unix)]

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use pants_core::channel::{Action, Event, FileRange, Stream};
use pants_core::testing::{Offer, StreamDriver, StreamHooks, Written};
use pants_core::{
    ConnectError, DelimiterError, Direction, Error, Idle, LengthPrefix, OverflowPolicy, ReadLimits,
    StreamConfig, WriteError, WriteLimits, WriteStatus,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

// ---- The file that `write_file` ranges come from -------------------------------------------

const FILE_LEN: usize = 8192;

/// A file of known, non-repeating content, opened once per process. Its directory entry is
/// removed at once (the open handle keeps it readable), so nothing is left behind.
fn test_file() -> &'static (Arc<File>, Vec<u8>) {
    static FILE: OnceLock<(Arc<File>, Vec<u8>)> = OnceLock::new();
    FILE.get_or_init(|| {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let content: Vec<u8> = (0..FILE_LEN)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "pants-stream-props-{}-{nanos}.bin",
            std::process::id()
        ));
        std::fs::write(&path, &content).unwrap();
        let file = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        (Arc::new(file), content)
    })
}

// ---- What the application does -------------------------------------------------------------

/// A byte-string, count or length-prefix delimiter, valid or not.
#[derive(Debug, Clone)]
enum Delim {
    Bytes(&'static [u8]),
    Count(usize),
    Prefix { field_len: usize, adjustment: i64 },
}

/// An application command.
#[derive(Debug, Clone)]
enum Cmd {
    Write(Vec<u8>),
    WriteFile { offset: usize, len: usize },
    Close,
    CloseNow,
    Delimiter(Delim),
    Pause,
    Resume,
    ReadLimits { limit: usize, hard_limit: usize },
}

/// An event as recorded (events hold `io::Error`s, which do not compare).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Connected,
    Read(Bytes),
    Drained,
    Eof,
    /// Direction and limit; the size seen depends on the chunking and is checked apart.
    Overflow(Direction, usize),
    ConnectFailed(String),
    Truncated(Bytes),
    Error(String),
    Idle(Idle),
    Closed,
    Other(String),
}

impl Seen {
    fn of(event: &Event) -> Self {
        match event {
            Event::Connected => Seen::Connected,
            Event::Read(frame) => Seen::Read(frame.clone()),
            Event::Drained => Seen::Drained,
            Event::Eof => Seen::Eof,
            Event::Overflow(err) => {
                assert!(
                    err.size() > err.limit(),
                    "overflow under the limit: {err:?}"
                );
                Seen::Overflow(err.direction(), err.limit())
            }
            Event::ConnectFailed(err) => Seen::ConnectFailed(err.to_string()),
            Event::Error(Error::TruncatedFrame(frame)) => {
                assert!(!frame.is_empty(), "empty truncated frame");
                assert_eq!(frame.len(), frame.bytes().len());
                Seen::Truncated(frame.bytes().clone())
            }
            Event::Error(err) => Seen::Error(err.to_string()),
            Event::Idle(kind) => Seen::Idle(*kind),
            Event::Closed => Seen::Closed,
            other => Seen::Other(format!("{other:?}")),
        }
    }
}

/// The largest read buffer the stream may keep between inputs under its current delimiter and
/// limits: a partial frame (with as much of a delimiter as can be pending).
fn frame_bound(stream: &Stream) -> usize {
    let limits = stream.framer().limits();
    let delimiter = stream.read_delimiter();
    if let Some(bytes) = delimiter.as_bytes() {
        limits.limit() + bytes.len()
    } else if let Some(n) = delimiter.as_count() {
        n
    } else if let Some(prefix) = delimiter.as_length_prefix() {
        prefix.header_len() + limits.hard_limit()
    } else {
        0
    }
}

/// What the current delimiter needs of the hard limit (a count, a length prefix's header).
fn delimiter_needs(stream: &Stream) -> usize {
    let delimiter = stream.read_delimiter();
    if let Some(n) = delimiter.as_count() {
        n
    } else if let Some(prefix) = delimiter.as_length_prefix() {
        prefix.header_len()
    } else {
        0
    }
}

/// The application: carries out commands, checks what each returns, and keeps the model of
/// what must be sent.
#[derive(Default)]
struct App {
    /// Every byte a write or write_file was accepted for, in order.
    queued: Vec<u8>,
    /// `close()` or `close_now()` was called.
    closed: bool,
    /// The stream closed itself gracefully: an overflow under `OverflowPolicy::Close`, or a
    /// corrupt length prefix.
    self_closing: bool,
    /// Commands to give, one per event handled, from inside the callback.
    reactions: VecDeque<Option<Cmd>>,
    /// Write every frame back, followed by a newline.
    echo: bool,
    /// Pause reading in every `on_read`.
    pause_on_read: bool,
    /// Every frame read, in order.
    frames: Vec<Bytes>,
    /// The largest read buffer allowed (before an input chunk) since the start.
    read_bound: usize,
}

impl App {
    fn new(stream: &Stream) -> Self {
        Self {
            read_bound: frame_bound(stream),
            ..Self::default()
        }
    }

    /// Whether the stream has been told to close, by the application or by itself.
    fn closing(&self) -> bool {
        self.closed || self.self_closing
    }

    fn on_event(&mut self, stream: &mut Stream, event: &Event) {
        match event {
            Event::Overflow(_) if stream.config().overflow == OverflowPolicy::Close => {
                self.self_closing = true;
            }
            Event::Error(Error::FrameLength(_)) => self.self_closing = true,
            Event::Read(frame) => {
                self.frames.push(frame.clone());
                if self.echo {
                    self.write(stream, [&frame[..], b"\n"].concat());
                }
                if self.pause_on_read {
                    self.apply(stream, &Cmd::Pause);
                }
            }
            _ => {}
        }
        if let Some(Some(cmd)) = self.reactions.pop_front() {
            self.apply(stream, &cmd);
        }
    }

    fn apply(&mut self, stream: &mut Stream, cmd: &Cmd) {
        match cmd {
            Cmd::Write(data) => self.write(stream, data.clone()),
            Cmd::WriteFile { offset, len } => self.write_file(stream, *offset, *len),
            Cmd::Close => {
                stream.close();
                self.closed = true;
            }
            Cmd::CloseNow => {
                stream.close_now();
                self.closed = true;
                assert!(stream.is_closed(), "close_now() left the stream open");
                assert_eq!(stream.write_queue().in_memory(), 0);
                assert!(stream.write_queue().is_empty());
                assert_eq!(stream.framer().buffered(), 0);
            }
            Cmd::Delimiter(delimiter) => self.set_delimiter(stream, delimiter),
            Cmd::Pause => {
                stream.pause_reading();
                assert!(stream.is_read_paused());
            }
            Cmd::Resume => {
                stream.resume_reading();
                assert!(!stream.is_read_paused());
            }
            Cmd::ReadLimits { limit, hard_limit } => {
                let (limit, hard_limit) = (*limit, *hard_limit);
                let limits = match ReadLimits::new(limit, hard_limit) {
                    Ok(limits) => limits,
                    Err(err) => {
                        assert!(limit == 0 || limit > hard_limit, "{err:?}");
                        assert_eq!(err, DelimiterError::Limit { limit, hard_limit });
                        return;
                    }
                };
                let before = stream.framer().limits();
                let needs = delimiter_needs(stream);
                let result = stream.set_read_limits(limits);
                if needs > hard_limit {
                    let size = needs;
                    assert_eq!(
                        result,
                        Err(DelimiterError::OverHardLimit { size, hard_limit })
                    );
                    assert_eq!(stream.framer().limits(), before, "refused, yet changed");
                } else {
                    assert_eq!(result, Ok(()));
                    assert_eq!(stream.framer().limits(), limits);
                    self.read_bound = self.read_bound.max(frame_bound(stream));
                }
            }
        }
    }

    fn write(&mut self, stream: &mut Stream, data: Vec<u8>) {
        let limits = stream.write_queue().limits();
        let before = stream.write_queue().in_memory();
        let len = data.len();
        match stream.write(data.clone()) {
            Ok(status) => {
                assert!(!self.closed, "write accepted after close()");
                self.queued.extend_from_slice(&data);
                let in_memory = stream.write_queue().in_memory();
                assert_eq!(in_memory, before + len);
                assert!(in_memory <= limits.limit(), "queue over its hard limit");
                let above = in_memory > limits.high_water();
                assert_eq!(status == WriteStatus::AboveHighWater, above, "{status:?}");
            }
            Err(WriteError::Closing) => assert!(
                self.closing() && !stream.is_closed(),
                "write refused as closing on a stream not closing"
            ),
            Err(WriteError::Closed) => assert!(
                stream.is_closed(),
                "write refused as closed on a stream not closed"
            ),
            Err(WriteError::Overflow(err)) => {
                assert!(!self.closed, "overflow reported after close()");
                assert_eq!(err.direction(), Direction::Write);
                assert_eq!(err.limit(), limits.limit());
                assert_eq!(err.size(), before + len);
                assert!(before + len > limits.limit());
                assert_eq!(stream.write_queue().in_memory(), before, "partly queued");
                if stream.config().overflow == OverflowPolicy::Close {
                    self.self_closing = true;
                }
            }
            Err(other) => panic!("unexpected write error {other:?}"),
        }
    }

    fn write_file(&mut self, stream: &mut Stream, offset: usize, len: usize) {
        let (file, content) = test_file();
        let range = FileRange::new(file.clone(), offset as u64, len as u64);
        let before = stream.write_queue().in_memory();
        match stream.write_file(range) {
            Ok(_) => {
                assert!(!self.closed, "write_file accepted after close()");
                self.queued
                    .extend_from_slice(&content[offset..offset + len]);
                assert_eq!(
                    stream.write_queue().in_memory(),
                    before,
                    "file ranges are not held in memory"
                );
            }
            Err(WriteError::Closing) => assert!(
                self.closing() && !stream.is_closed(),
                "write_file refused as closing on a stream not closing"
            ),
            Err(WriteError::Closed) => assert!(
                stream.is_closed(),
                "write_file refused as closed on a stream not closed"
            ),
            Err(other) => panic!("unexpected write_file error {other:?}"),
        }
    }

    fn set_delimiter(&mut self, stream: &mut Stream, delimiter: &Delim) {
        let before = stream.read_delimiter().clone();
        let hard_limit = stream.framer().limits().hard_limit();
        let over_hard = |size: usize| {
            (size > hard_limit).then_some(DelimiterError::OverHardLimit { size, hard_limit })
        };
        let (result, refusal) = match *delimiter {
            Delim::Bytes(bytes) => (
                stream.set_read_delimiter(bytes),
                bytes.is_empty().then_some(DelimiterError::EmptyBytes),
            ),
            Delim::Count(n) => (
                stream.set_read_delimiter(n),
                if n == 0 {
                    Some(DelimiterError::ZeroCount)
                } else {
                    over_hard(n)
                },
            ),
            Delim::Prefix {
                field_len,
                adjustment,
            } => (
                stream.set_read_delimiter(LengthPrefix::new(field_len).adjustment(adjustment)),
                if matches!(field_len, 1 | 2 | 4 | 8) {
                    over_hard(field_len)
                } else {
                    Some(DelimiterError::FieldLength(field_len))
                },
            ),
        };
        match refusal {
            Some(err) => {
                assert_eq!(result, Err(err));
                assert_eq!(stream.read_delimiter(), &before, "refused, yet changed");
            }
            None => {
                assert_eq!(result, Ok(()), "{delimiter:?} refused");
                self.read_bound = self.read_bound.max(frame_bound(stream));
            }
        }
    }
}

// ---- The driver ----------------------------------------------------------------------------

/// A stream driven by hand ([`StreamDriver`] keeps the drive order) over the scripted socket
/// and application of a [`World`], which checks the invariants at every step.
struct Driver {
    by_hand: StreamDriver,
    world: World,
}

/// Everything around the stream: the socket, the application, and what they saw.
struct World {
    app: App,
    start: Instant,
    /// Bytes the socket takes per write, in turn (`usize::MAX`: all it is offered). A write
    /// that takes less than offered fills the socket until `Driver::writable`.
    write_sizes: Vec<usize>,
    next_size: usize,
    sent: Vec<u8>,
    actions: Vec<Action>,
    events: Vec<Seen>,
    /// The largest chunk given to `handle_data`.
    max_chunk: usize,
    started_connecting: bool,
    eof_given: bool,
}

impl Driver {
    fn new(config: StreamConfig, connecting: bool, write_sizes: Vec<usize>) -> Self {
        let start = Instant::now();
        let stream = if connecting {
            Stream::connecting(config, start)
        } else {
            Stream::accepted(config, start)
        };
        let world = World {
            app: App::new(&stream),
            start,
            write_sizes,
            next_size: 0,
            sent: Vec::new(),
            actions: Vec::new(),
            events: Vec::new(),
            max_chunk: 0,
            started_connecting: connecting,
            eof_given: false,
        };
        let mut driver = Self {
            by_hand: StreamDriver::new(stream, start).with_slices(4),
            world,
        };
        driver.drive();
        driver
    }

    fn stream(&self) -> &Stream {
        self.by_hand.stream()
    }

    fn now(&self) -> Instant {
        self.by_hand.now()
    }

    fn at(&self, t: Instant) -> Duration {
        self.world.at(t)
    }

    // ---- Inputs ----

    /// Whether the driver reads from the socket now: while `wants_read()`, and when the socket
    /// of a connecting stream turns readable (data while connecting means it connected), unless
    /// reading is paused.
    fn may_read(&self) -> bool {
        let stream = self.stream();
        stream.wants_read() || (stream.is_connecting() && !stream.is_read_paused())
    }

    /// Receives `chunk` if the driver reads now; returns whether it did.
    fn data(&mut self, chunk: &[u8]) -> bool {
        if chunk.is_empty() || !self.may_read() {
            return false;
        }
        self.world.max_chunk = self.world.max_chunk.max(chunk.len());
        self.by_hand.handle_data(Bytes::copy_from_slice(chunk));
        self.drive();
        true
    }

    fn eof(&mut self) {
        self.world.eof_given = true;
        self.by_hand.handle_eof();
        self.drive();
    }

    fn connected(&mut self) {
        self.by_hand.handle_connected();
        self.drive();
    }

    fn connect_error(&mut self) {
        self.by_hand.handle_connect_error(ConnectError::Refused);
        self.drive();
    }

    fn error(&mut self, kind: io::ErrorKind) {
        self.by_hand.handle_error(kind.into());
        self.drive();
    }

    /// The socket is writable again.
    fn writable(&mut self) {
        self.by_hand.set_writable(true);
        self.drive();
    }

    fn advance(&mut self, by: Duration) {
        self.timeout_at(self.now() + by);
    }

    /// Time passes to `t` (not before now) and the driver calls `handle_timeout`.
    fn timeout_at(&mut self, t: Instant) {
        let t = t.max(self.now());
        let deadline = self.stream().poll_timeout();
        let before = (self.world.events.len(), self.world.actions.len());
        self.by_hand.handle_timeout(t);
        // Checked before the application reacts: a reaction may close() a stream whose queue
        // made no progress for longer than the linger, and that deadline is already past (it
        // then fires at the next call, which is progress, not a busy loop).
        let next = self.stream().poll_timeout();
        assert!(
            next.is_none_or(|next| next > t),
            "after handle_timeout({:?}), poll_timeout() is {:?}: a busy loop",
            self.at(t),
            next.map(|next| self.at(next)),
        );
        let due = deadline.is_some_and(|deadline| deadline <= t);
        if !due {
            assert_eq!(next, deadline, "an early handle_timeout moved the deadline");
        }
        self.drive();
        let progressed = (self.world.events.len(), self.world.actions.len()) != before;
        assert_eq!(
            progressed,
            due,
            "handle_timeout({:?}) with poll_timeout() {:?}: {}",
            self.at(t),
            deadline.map(|deadline| self.at(deadline)),
            if due {
                "due, yet nothing happened"
            } else {
                "early, yet something happened"
            },
        );
    }

    // ---- Commands ----

    fn command(&mut self, cmd: &Cmd) {
        self.world.app.apply(self.by_hand.stream_mut(), cmd);
        self.drive();
    }

    // ---- The drive order ----

    /// Runs the drive order until a whole round yields nothing, then checks the stream at rest.
    fn drive(&mut self) {
        self.by_hand.drive(&mut self.world);
        self.world
            .check_settled(self.by_hand.stream(), self.by_hand.is_writable());
    }

    /// Keeps the socket writable and reading resumed until the stream closes.
    fn run_until_closed(&mut self) {
        for _ in 0..10_000 {
            if self.stream().is_closed() {
                return;
            }
            if self.stream().is_read_paused() {
                self.command(&Cmd::Resume);
            }
            self.writable();
        }
        panic!("the stream never closed");
    }

    /// Resumes reading until no frame is held back (an application pausing in `on_read`).
    fn resume_until_drained(&mut self) {
        while self.stream().is_read_paused() {
            self.command(&Cmd::Resume);
        }
    }
}

/// The socket and the application check every step of the drive order.
impl StreamHooks for World {
    fn on_action(&mut self, stream: &Stream, action: Action) {
        assert!(
            !self.actions.contains(&Action::Close),
            "{action:?} after Action::Close"
        );
        match action {
            Action::Shutdown => {
                assert!(!self.actions.contains(&Action::Shutdown), "second Shutdown");
                assert!(
                    self.app.closing(),
                    "Shutdown without close() or a self-close"
                );
                assert!(!stream.wants_write(), "wants_write() after Shutdown");
                assert!(!stream.is_closed());
                assert_eq!(
                    self.sent.len(),
                    self.app.queued.len(),
                    "Shutdown before everything queued was sent"
                );
            }
            Action::Close => assert!(stream.is_closed(), "Close on an open stream"),
        }
        self.actions.push(action);
    }

    /// One write of what is offered, as much as the socket takes; file ranges are read from
    /// the file.
    fn on_transmit(&mut self, _: &Stream, _: Instant, offer: Offer<'_>) -> Written {
        let cap = self.next_write_size();
        let offered = offer.len();
        assert!(offered > 0, "an empty transmit: the driver would spin");
        let written: Vec<u8> = match offer {
            Offer::Bytes(slices) => slices
                .iter()
                .flat_map(|slice| slice.iter().copied())
                .take(cap)
                .collect(),
            Offer::File(range) => {
                let mut written = vec![0; offered.min(cap)];
                range
                    .file()
                    .read_exact_at(&mut written, range.offset())
                    .expect("a file range beyond the end of its file");
                written
            }
        };
        self.sent.extend_from_slice(&written);
        assert!(
            self.app.queued.starts_with(&self.sent),
            "sent bytes differ from the queued ones at byte {}",
            self.sent
                .iter()
                .zip(&self.app.queued)
                .position(|(a, b)| a != b)
                .unwrap_or(self.app.queued.len()),
        );
        if written.len() < offered {
            Written::Full(written.len()) // the socket's buffer is full
        } else {
            Written::Took(written.len())
        }
    }

    fn on_event(&mut self, stream: &mut Stream, _: Instant, event: Event) {
        self.check_event(stream, &event);
        self.app.on_event(stream, &event);
    }
}

impl World {
    fn at(&self, t: Instant) -> Duration {
        t - self.start
    }

    fn next_write_size(&mut self) -> usize {
        if self.write_sizes.is_empty() {
            return usize::MAX;
        }
        let size = self.write_sizes[self.next_size % self.write_sizes.len()];
        self.next_size += 1;
        size
    }

    fn check_event(&mut self, stream: &Stream, event: &Event) {
        let seen = Seen::of(event);
        assert!(
            !self.events.contains(&Seen::Closed),
            "{seen:?} after Event::Closed"
        );
        let connected = self.events.contains(&Seen::Connected);
        match &seen {
            Seen::Connected => {
                assert!(!connected, "second Connected");
                assert!(
                    !self
                        .events
                        .iter()
                        .any(|seen| matches!(seen, Seen::ConnectFailed(_))),
                    "Connected after ConnectFailed"
                );
            }
            Seen::Read(_) | Seen::Overflow(Direction::Read, _) => {
                assert!(connected, "{seen:?} before Connected");
                if let Seen::Read(_) = seen {
                    assert!(!stream.is_read_paused(), "{seen:?} while reading is paused");
                }
                assert!(!self.app.closing(), "{seen:?} after close()");
                assert!(!self.events.contains(&Seen::Eof), "{seen:?} after Eof");
            }
            Seen::Eof | Seen::Truncated(_) => {
                assert!(self.eof_given, "{seen:?} without a peer EOF");
                assert!(connected, "{seen:?} before Connected");
                assert!(!self.events.contains(&Seen::Eof), "{seen:?} after Eof");
            }
            Seen::ConnectFailed(_) => {
                assert!(self.started_connecting, "{seen:?} on an accepted stream");
                assert!(!connected, "{seen:?} after Connected");
            }
            Seen::Idle(kind) => {
                let config = stream.config();
                let timeout = match kind {
                    Idle::Read => config.read_idle_timeout,
                    Idle::Write => config.write_idle_timeout,
                    Idle::Both => config.idle_timeout,
                };
                assert!(timeout.is_some(), "{seen:?} without its timeout");
            }
            Seen::Closed => assert!(stream.is_closed()),
            Seen::Other(other) => panic!("unknown event {other}"),
            _ => {}
        }
        self.events.push(seen);
    }

    /// Invariants once the drive order has run dry.
    fn check_settled(&self, stream: &Stream, writable: bool) {
        let closed = stream.is_closed();
        let closed_events = self.events.iter().filter(|s| **s == Seen::Closed).count();
        let close_actions = self.actions.iter().filter(|a| **a == Action::Close).count();
        assert_eq!(
            (closed_events, close_actions),
            (usize::from(closed), usize::from(closed)),
            "Closed events and Close actions vs is_closed()"
        );
        if closed {
            assert_eq!(self.events.last(), Some(&Seen::Closed));
            assert_eq!(self.actions.last(), Some(&Action::Close));
            assert!(!stream.wants_read() && !stream.wants_write());
            assert_eq!(stream.poll_timeout(), None, "a deadline after close");
            assert!(stream.write_queue().is_empty());
            assert_eq!(stream.framer().buffered(), 0);
        }
        if self.actions.contains(&Action::Shutdown) {
            assert!(!stream.wants_write(), "wants_write() after Shutdown");
        }
        assert!(
            !(writable && stream.wants_write()),
            "settled with bytes to send on a writable socket"
        );
        assert!(self.app.queued.starts_with(&self.sent));
        if !closed && stream.write_queue().is_empty() {
            assert_eq!(
                self.sent.len(),
                self.app.queued.len(),
                "the queue is empty but not everything queued was sent"
            );
        }
        let limits = stream.write_queue().limits();
        assert!(stream.write_queue().in_memory() <= limits.limit());
        let reading = !stream.is_closed() && !stream.is_connecting() && !self.app.closing();
        if reading && !stream.is_read_paused() {
            // Frames were cut until more bytes are needed: at most one partial frame is left.
            assert!(
                stream.framer().buffered() <= frame_bound(stream),
                "read buffer of {} bytes with no frame in it (delimiter {:?}, limits {:?})",
                stream.framer().buffered(),
                stream.read_delimiter(),
                stream.framer().limits(),
            );
        }
        let bound = self.app.read_bound + self.max_chunk;
        assert!(
            stream.framer().buffered() <= bound,
            "read buffer of {} bytes, over {} (limits {:?}, largest chunk {})",
            stream.framer().buffered(),
            bound,
            stream.framer().limits(),
            self.max_chunk,
        );
    }

    fn frames_sent_back(&self) -> Vec<u8> {
        self.app
            .frames
            .iter()
            .flat_map(|frame| [&frame[..], b"\n"].concat())
            .collect()
    }
}

// ---- Strategies ----------------------------------------------------------------------------

const ALPHABET: &[u8] = b"ab\r\n\x00\x01\x03x";

fn chunk() -> impl Strategy<Value = Vec<u8>> {
    vec(select(ALPHABET), 1..24)
}

fn opt_ms(max: u64) -> impl Strategy<Value = Option<Duration>> {
    prop::option::weighted(0.4, (1..=max).prop_map(Duration::from_millis))
}

/// Bytes the socket takes per write: nothing, a few, or everything offered.
fn write_sizes() -> impl Strategy<Value = Vec<usize>> {
    vec(
        prop_oneof![1 => Just(0usize), 4 => 1usize..=12, 2 => Just(usize::MAX)],
        1..6,
    )
}

/// Like `write_sizes`, but the socket takes something now and then.
fn progressing_write_sizes() -> impl Strategy<Value = Vec<usize>> {
    write_sizes().prop_map(|mut sizes| {
        if sizes.iter().all(|&size| size == 0) {
            sizes[0] = 1;
        }
        sizes
    })
}

fn file_range() -> impl Strategy<Value = (usize, usize)> {
    (
        0..FILE_LEN,
        prop_oneof![1 => Just(0usize), 6 => 1usize..=40, 1 => 40usize..=400],
    )
        .prop_map(|(offset, len)| (offset, len.min(FILE_LEN - offset)))
}

fn delimiter() -> impl Strategy<Value = Delim> {
    let bytes: &'static [&'static [u8]] = &[b"\n", b"\r\n", b"ab", b"x", b""];
    prop_oneof![
        3 => select(bytes).prop_map(Delim::Bytes),
        2 => (0usize..=40).prop_map(Delim::Count),
        1 => (select(vec![1usize, 2, 3]), -2i64..=2)
            .prop_map(|(field_len, adjustment)| Delim::Prefix { field_len, adjustment }),
    ]
}

fn write_cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        3 => vec(any::<u8>(), 0..40).prop_map(Cmd::Write),
        1 => file_range().prop_map(|(offset, len)| Cmd::WriteFile { offset, len }),
    ]
}

fn command() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        12 => write_cmd(),
        1 => Just(Cmd::Close),
        1 => Just(Cmd::CloseNow),
        6 => delimiter().prop_map(Cmd::Delimiter),
        4 => Just(Cmd::Pause),
        4 => Just(Cmd::Resume),
        2 => (0usize..=24, 0usize..=64)
            .prop_map(|(limit, hard_limit)| Cmd::ReadLimits { limit, hard_limit }),
    ]
}

fn config() -> impl Strategy<Value = StreamConfig> {
    (
        (1usize..=24, 0usize..=48),
        prop_oneof![
            2 => (0usize..=64, 1usize..=128).prop_map(|(hw, limit)| WriteLimits::new(hw, limit)),
            1 => Just(WriteLimits::default()),
        ],
        (opt_ms(4000), opt_ms(4000), opt_ms(4000), opt_ms(4000)),
        0u64..=3000,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |((limit, extra), write_limits, timeouts, linger, half_open, discard)| {
                let (connect_timeout, read_idle_timeout, write_idle_timeout, idle_timeout) =
                    timeouts;
                StreamConfig {
                    read_limits: ReadLimits::new(limit, limit + extra).unwrap(),
                    write_limits,
                    connect_timeout,
                    read_idle_timeout,
                    write_idle_timeout,
                    idle_timeout,
                    linger: Duration::from_millis(linger),
                    tls_handshake_timeout: None,
                    half_open,
                    overflow: if discard {
                        OverflowPolicy::Discard
                    } else {
                        OverflowPolicy::Close
                    },
                }
            },
        )
}

// ---- Property: random interleavings of everything -----------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Data(Vec<u8>),
    Eof,
    Writable,
    Error(io::ErrorKind),
    Connected,
    ConnectError,
    Advance(Duration),
    /// Time jumps to `poll_timeout()` moved by this many nanoseconds (-1, 0 or 1).
    ToDeadline(i8),
    Cmd(Cmd),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => chunk().prop_map(Op::Data),
        2 => Just(Op::Eof),
        10 => Just(Op::Writable),
        1 => select(vec![io::ErrorKind::ConnectionReset, io::ErrorKind::Other]).prop_map(Op::Error),
        3 => Just(Op::Connected),
        1 => Just(Op::ConnectError),
        6 => (0u64..=2500).prop_map(|ms| Op::Advance(Duration::from_millis(ms))),
        4 => select(vec![-1i8, 0, 1]).prop_map(Op::ToDeadline),
        20 => command().prop_map(Op::Cmd),
    ]
}

#[derive(Debug, Clone)]
struct Chaos {
    config: StreamConfig,
    connecting: bool,
    write_sizes: Vec<usize>,
    ops: Vec<Op>,
    /// Commands the application gives from inside its callbacks, one per event.
    reactions: Vec<Option<Cmd>>,
}

fn chaos() -> impl Strategy<Value = Chaos> {
    (
        config(),
        any::<bool>(),
        write_sizes(),
        vec(op(), 1..60),
        vec(prop::option::weighted(0.3, command()), 0..20),
    )
        .prop_map(|(config, connecting, write_sizes, ops, reactions)| Chaos {
            config,
            connecting,
            write_sizes,
            ops,
            reactions,
        })
}

fn run_chaos(case: &Chaos) {
    let mut driver = Driver::new(
        case.config.clone(),
        case.connecting,
        case.write_sizes.clone(),
    );
    driver.world.app.reactions = case.reactions.iter().cloned().collect();
    for op in &case.ops {
        match op {
            Op::Data(chunk) => {
                driver.data(chunk);
            }
            Op::Eof => driver.eof(),
            Op::Writable => driver.writable(),
            Op::Error(kind) => driver.error(*kind),
            Op::Connected => driver.connected(),
            Op::ConnectError => driver.connect_error(),
            Op::Advance(by) => driver.advance(*by),
            Op::ToDeadline(nanos) => {
                if let Some(deadline) = driver.stream().poll_timeout() {
                    driver.timeout_at(shifted(deadline, *nanos));
                }
            }
            Op::Cmd(cmd) => driver.command(cmd),
        }
        if driver.world.app.closed {
            // Whatever the stream's state, writes are refused now.
            let before = driver.world.app.queued.len();
            driver.command(&Cmd::Write(b"late".to_vec()));
            assert_eq!(driver.world.app.queued.len(), before);
        }
    }
    // Whatever happened, close_now() ends it: one Closed, last, with one Close.
    driver.command(&Cmd::CloseNow);
    assert!(driver.stream().is_closed());
    // Spurious inputs after close are harmless.
    driver.eof();
    driver.error(io::ErrorKind::Other);
    driver.connected();
    driver.advance(Duration::from_secs(3600));
    assert_eq!(driver.world.events.last(), Some(&Seen::Closed));
}

/// `deadline` moved by one nanosecond back (`-1`), forward (`1`) or not at all.
fn shifted(deadline: Instant, nanos: i8) -> Instant {
    let nanosecond = Duration::from_nanos(1);
    match nanos {
        ..0 => deadline - nanosecond,
        0 => deadline,
        _ => deadline + nanosecond,
    }
}

// ---- Property: frames against a reference --------------------------------------------------

/// What a `\n`-delimited stream must deliver for `data` followed by the peer's EOF, with a read
/// limit of `limit` and the given overflow policy (the application echoes every frame).
fn line_reference(data: &[u8], limit: usize, discard: bool) -> Vec<Seen> {
    let mut out = vec![Seen::Connected];
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let trailing = lines.pop().unwrap();
    let overflow = Seen::Overflow(Direction::Read, limit);
    for line in lines {
        if line.len() <= limit {
            out.push(Seen::Read(Bytes::copy_from_slice(line)));
        } else {
            out.push(overflow.clone());
            if !discard {
                out.push(Seen::Closed);
                return out;
            }
        }
    }
    if trailing.len() > limit {
        out.push(overflow);
        if !discard {
            out.push(Seen::Closed);
            return out;
        }
    } else if !trailing.is_empty() {
        out.push(Seen::Truncated(Bytes::copy_from_slice(trailing)));
    }
    out.push(Seen::Eof);
    out.push(Seen::Closed);
    out
}

fn chunks(data: &[u8], sizes: &[usize]) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut at = 0;
    for &size in sizes.iter().cycle() {
        if at == data.len() {
            break;
        }
        let end = (at + size).min(data.len());
        chunks.push(data[at..end].to_vec());
        at = end;
    }
    chunks
}

#[derive(Debug, Clone)]
struct Lines {
    data: Vec<u8>,
    chunk_sizes: Vec<usize>,
    limit: usize,
    discard: bool,
    pause_on_read: bool,
    write_sizes: Vec<usize>,
}

fn lines() -> impl Strategy<Value = Lines> {
    (
        vec(select(b"aab\n".to_vec()), 0..80),
        vec(prop_oneof![3 => 1usize..=3, 2 => 4usize..=20], 1..8),
        prop_oneof![3 => 1usize..=6, 1 => Just(ReadLimits::DEFAULT_LIMIT)],
        any::<bool>(),
        any::<bool>(),
        progressing_write_sizes(),
    )
        .prop_map(
            |(data, chunk_sizes, limit, discard, pause_on_read, write_sizes)| Lines {
                data,
                chunk_sizes,
                limit,
                discard,
                pause_on_read,
                write_sizes,
            },
        )
}

fn run_lines(case: &Lines) {
    let config = StreamConfig {
        read_limits: ReadLimits::new(case.limit, ReadLimits::DEFAULT_HARD_LIMIT).unwrap(),
        overflow: if case.discard {
            OverflowPolicy::Discard
        } else {
            OverflowPolicy::Close
        },
        ..StreamConfig::default()
    };
    let mut driver = Driver::new(config, false, case.write_sizes.clone());
    driver.world.app.echo = true;
    driver.world.app.pause_on_read = case.pause_on_read;
    driver.command(&Cmd::Delimiter(Delim::Bytes(b"\n")));
    for chunk in chunks(&case.data, &case.chunk_sizes) {
        driver.data(&chunk);
        driver.resume_until_drained();
        driver.writable();
    }
    driver.eof();
    driver.run_until_closed();

    let events: Vec<Seen> = driver
        .world
        .events
        .iter()
        .filter(|seen| **seen != Seen::Drained)
        .cloned()
        .collect();
    assert_eq!(events, line_reference(&case.data, case.limit, case.discard));
    assert_eq!(
        driver.world.sent,
        driver.world.frames_sent_back(),
        "echoes lost or reordered"
    );
    assert_eq!(driver.world.actions.last(), Some(&Action::Close));
    if case.discard {
        assert_eq!(
            driver.world.actions,
            [Action::Close],
            "closed after the peer's EOF"
        );
    }
}

// ---- Property: writes, partial writes and file ranges --------------------------------------

#[derive(Debug, Clone)]
enum WriteOp {
    Cmd(Cmd),
    Writable,
    Connected,
}

#[derive(Debug, Clone)]
struct Writes {
    connecting: bool,
    write_limits: WriteLimits,
    discard: bool,
    write_sizes: Vec<usize>,
    ops: Vec<WriteOp>,
}

fn write_ops(max: usize) -> impl Strategy<Value = Vec<WriteOp>> {
    vec(
        prop_oneof![
            4 => write_cmd().prop_map(WriteOp::Cmd),
            3 => Just(WriteOp::Writable),
            1 => Just(WriteOp::Connected),
        ],
        0..max,
    )
}

fn writes() -> impl Strategy<Value = Writes> {
    (
        any::<bool>(),
        prop_oneof![
            1 => (0usize..=64, 1usize..=160).prop_map(|(hw, limit)| WriteLimits::new(hw, limit)),
            1 => Just(WriteLimits::default()),
        ],
        any::<bool>(),
        write_sizes(),
        write_ops(40),
    )
        .prop_map(
            |(connecting, write_limits, discard, write_sizes, ops)| Writes {
                connecting,
                write_limits,
                discard,
                write_sizes,
                ops,
            },
        )
}

fn run_write_ops(driver: &mut Driver, ops: &[WriteOp]) {
    for op in ops {
        match op {
            WriteOp::Cmd(cmd) => driver.command(cmd),
            WriteOp::Writable => driver.writable(),
            WriteOp::Connected => driver.connected(),
        }
        if driver.stream().is_connecting() {
            assert!(
                driver.world.sent.is_empty(),
                "sent before the connect completed"
            );
            assert!(!driver.stream().wants_write());
        }
    }
}

fn run_writes(case: &Writes) {
    let config = StreamConfig {
        write_limits: case.write_limits,
        overflow: if case.discard {
            OverflowPolicy::Discard
        } else {
            OverflowPolicy::Close
        },
        ..StreamConfig::default()
    };
    let mut driver = Driver::new(config, case.connecting, case.write_sizes.clone());
    run_write_ops(&mut driver, &case.ops);
    // The peer reads everything now.
    driver.connected();
    driver.world.write_sizes.clear();
    driver.writable();
    assert!(driver.stream().write_queue().is_empty());
    assert_eq!(driver.world.sent.len(), driver.world.app.queued.len());
    assert!(
        driver.world.sent == driver.world.app.queued,
        "sent != queued"
    );
    if !driver.world.app.self_closing {
        assert!(
            driver.world.actions.is_empty(),
            "{:?}",
            driver.world.actions
        );
    }
    // Each Drained came when everything queued so far was sent (the app wrote nothing then).
    let drained = driver
        .world
        .events
        .iter()
        .filter(|s| **s == Seen::Drained)
        .count();
    if !driver.world.app.queued.is_empty() && !driver.world.app.self_closing {
        assert!(drained >= 1, "the queue emptied without Drained");
    }
}

// ---- Property: close after flush -----------------------------------------------------------

#[derive(Debug, Clone)]
struct CloseAfterFlush {
    connecting: bool,
    before: Vec<WriteOp>,
    after: Vec<WriteOp>,
    write_sizes: Vec<usize>,
    data_while_lingering: Vec<u8>,
}

fn close_after_flush() -> impl Strategy<Value = CloseAfterFlush> {
    (
        any::<bool>(),
        write_ops(30),
        write_ops(10),
        progressing_write_sizes(),
        vec(select(ALPHABET), 0..10),
    )
        .prop_map(
            |(connecting, before, after, write_sizes, data_while_lingering)| CloseAfterFlush {
                connecting,
                before,
                after,
                write_sizes,
                data_while_lingering,
            },
        )
}

fn run_close_after_flush(case: &CloseAfterFlush) {
    let mut driver = Driver::new(
        StreamConfig::default(),
        case.connecting,
        case.write_sizes.clone(),
    );
    driver.command(&Cmd::Delimiter(Delim::Bytes(b"\n")));
    run_write_ops(&mut driver, &case.before);
    let queued_before_close = driver.world.app.queued.clone();
    let nothing_to_flush =
        driver.stream().is_connecting() && driver.stream().write_queue().is_empty();
    driver.command(&Cmd::Close);
    // Writes after close() are refused (checked in App::write); the rest still flushes.
    run_write_ops(&mut driver, &case.after);
    assert_eq!(driver.world.app.queued, queued_before_close);
    if nothing_to_flush {
        // Nothing to flush: a close while connecting ends the attempt at once.
        assert_eq!(driver.world.actions, [Action::Close]);
        assert_eq!(
            driver.world.events,
            [Seen::Closed],
            "no Connected: it never connected"
        );
        return;
    }
    driver.connected();
    for _ in 0..10_000 {
        if driver.world.actions.contains(&Action::Shutdown) {
            break;
        }
        driver.writable();
    }
    assert_eq!(
        driver.world.actions,
        [Action::Shutdown],
        "flushed, then shut down"
    );
    assert!(
        driver.world.sent == queued_before_close,
        "sent != queued before close()"
    );
    assert!(!driver.stream().wants_write());
    assert!(
        driver.stream().wants_read(),
        "lingering reads to see the peer's EOF"
    );
    assert!(!driver.stream().is_closed());
    driver.data(&case.data_while_lingering);
    assert!(
        !driver
            .world
            .events
            .iter()
            .any(|s| matches!(s, Seen::Read(_))),
        "frames delivered after close()"
    );
    driver.eof();
    assert_eq!(driver.world.actions, [Action::Shutdown, Action::Close]);
    assert_eq!(driver.world.events.first(), Some(&Seen::Connected));
    assert_eq!(driver.world.events.last(), Some(&Seen::Closed));
}

// ---- Property: timers against a model -----------------------------------------------------

#[derive(Debug, Clone)]
enum TimerOp {
    Advance(Duration),
    /// Time jumps to `poll_timeout()` moved by this many nanoseconds (-1, 0 or 1).
    ToDeadline(i8),
    Data,
    Connected,
    Write(usize),
    /// The socket takes this many bytes per write, for one writable turn.
    Writable(usize),
    Pause,
    Resume,
    Close,
}

#[derive(Debug, Clone)]
struct Timers {
    connecting: bool,
    connect_timeout: Option<Duration>,
    read_idle_timeout: Option<Duration>,
    write_idle_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    linger: Duration,
    ops: Vec<TimerOp>,
}

fn timers() -> impl Strategy<Value = Timers> {
    let op = prop_oneof![
        6 => (0u64..=3000).prop_map(|ms| TimerOp::Advance(Duration::from_millis(ms))),
        4 => select(vec![-1i8, 0, 1]).prop_map(TimerOp::ToDeadline),
        2 => Just(TimerOp::Data),
        1 => Just(TimerOp::Connected),
        2 => (1usize..=30).prop_map(TimerOp::Write),
        2 => prop_oneof![Just(0usize), 1usize..=10, Just(usize::MAX)].prop_map(TimerOp::Writable),
        1 => Just(TimerOp::Pause),
        1 => Just(TimerOp::Resume),
        1 => Just(TimerOp::Close),
    ];
    (
        any::<bool>(),
        (opt_ms(5000), opt_ms(5000), opt_ms(5000), opt_ms(5000)),
        0u64..=5000,
        vec(op, 1..40),
    )
        .prop_map(|(connecting, timeouts, linger, ops)| Timers {
            connecting,
            connect_timeout: timeouts.0,
            read_idle_timeout: timeouts.1,
            write_idle_timeout: timeouts.2,
            idle_timeout: timeouts.3,
            linger: Duration::from_millis(linger),
            ops,
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Open,
    /// Flushing after close().
    Closing,
    /// Shut down at this time, waiting for the peer's EOF.
    Lingering(Instant),
    Closed,
}

/// The timers as the docs describe them: the connect timeout counts from the start, each idle
/// timeout from the last bytes received / drained to the socket / either (once, then re-armed
/// by that activity; the read one not while paused, and from the resume after a pause), the
/// linger from the close or the queue's last progress since, and from the shutdown after.
struct TimerModel {
    config: StreamConfig,
    phase: Phase,
    start: Instant,
    last_read: Instant,
    last_write: Instant,
    fired: [bool; 3],
    paused: bool,
}

impl TimerModel {
    fn index(kind: Idle) -> usize {
        match kind {
            Idle::Read => 0,
            Idle::Write => 1,
            Idle::Both => 2,
        }
    }

    fn idle_deadline(&self, kind: Idle) -> Option<Instant> {
        if self.fired[Self::index(kind)] {
            return None;
        }
        match kind {
            Idle::Read if self.paused => None,
            Idle::Read => Some(self.last_read + self.config.read_idle_timeout?),
            Idle::Write => Some(self.last_write + self.config.write_idle_timeout?),
            Idle::Both => Some(self.last_read.max(self.last_write) + self.config.idle_timeout?),
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Connecting => Some(self.start + self.config.connect_timeout?),
            Phase::Open => [Idle::Read, Idle::Write, Idle::Both]
                .into_iter()
                .filter_map(|kind| self.idle_deadline(kind))
                .min(),
            Phase::Closing => Some(self.last_write + self.config.linger),
            Phase::Lingering(since) => Some(since + self.config.linger),
            Phase::Closed => None,
        }
    }

    /// The events `handle_timeout(t)` must raise, with `unsent` bytes queued.
    fn fire(&mut self, t: Instant, unsent: u64) -> Vec<Seen> {
        let due = self.deadline().is_some_and(|deadline| deadline <= t);
        // A close that drops queued bytes says how many, before `Closed`.
        let closed = || {
            let dropped = format!("closed with {unsent} queued bytes never sent");
            (unsent > 0)
                .then_some(Seen::Error(dropped))
                .into_iter()
                .chain([Seen::Closed])
        };
        match self.phase {
            Phase::Open => {
                let mut out = Vec::new();
                for kind in [Idle::Read, Idle::Write, Idle::Both] {
                    if self
                        .idle_deadline(kind)
                        .is_some_and(|deadline| deadline <= t)
                    {
                        self.fired[Self::index(kind)] = true;
                        out.push(Seen::Idle(kind));
                    }
                }
                out
            }
            Phase::Connecting if due => {
                // The failed connect says that nothing queued was sent.
                self.phase = Phase::Closed;
                vec![
                    Seen::ConnectFailed(ConnectError::TimedOut.to_string()),
                    Seen::Closed,
                ]
            }
            Phase::Closing | Phase::Lingering(_) if due => {
                self.phase = Phase::Closed;
                closed().collect()
            }
            _ => Vec::new(),
        }
    }

    fn connected(&mut self, now: Instant) {
        if self.phase == Phase::Connecting {
            self.phase = Phase::Open;
            self.last_read = now;
            self.last_write = now;
        }
    }
}

fn run_timers(case: &Timers) {
    let config = StreamConfig {
        connect_timeout: case.connect_timeout,
        read_idle_timeout: case.read_idle_timeout,
        write_idle_timeout: case.write_idle_timeout,
        idle_timeout: case.idle_timeout,
        linger: case.linger,
        ..StreamConfig::default()
    };
    let mut driver = Driver::new(config.clone(), case.connecting, Vec::new());
    let start = driver.world.start;
    let mut model = TimerModel {
        config,
        phase: if case.connecting {
            Phase::Connecting
        } else {
            Phase::Open
        },
        start,
        last_read: start,
        last_write: start,
        fired: [false; 3],
        paused: false,
    };
    for op in &case.ops {
        let sent = driver.world.sent.len();
        match *op {
            TimerOp::Advance(by) => {
                let t = driver.now() + by;
                let expected = model.fire(t, driver.stream().write_queue().unsent());
                let from = driver.world.events.len();
                driver.timeout_at(t);
                assert_eq!(
                    driver.world.events[from..],
                    expected,
                    "at {:?}",
                    driver.at(t)
                );
            }
            TimerOp::ToDeadline(nanos) => {
                let Some(deadline) = driver.stream().poll_timeout() else {
                    continue;
                };
                let t = shifted(deadline, nanos).max(driver.now());
                let expected = model.fire(t, driver.stream().write_queue().unsent());
                let from = driver.world.events.len();
                driver.timeout_at(t);
                assert_eq!(
                    driver.world.events[from..],
                    expected,
                    "at {:?}",
                    driver.at(t)
                );
            }
            TimerOp::Data => {
                if model.phase == Phase::Open && !model.paused {
                    assert!(driver.data(b"x"));
                    model.last_read = driver.now();
                    model.fired[TimerModel::index(Idle::Read)] = false;
                    model.fired[TimerModel::index(Idle::Both)] = false;
                }
            }
            TimerOp::Connected => {
                driver.connected();
                model.connected(driver.now());
            }
            TimerOp::Write(n) => driver.command(&Cmd::Write(vec![b'w'; n])),
            TimerOp::Writable(per_write) => {
                driver.world.write_sizes = vec![per_write];
                driver.writable();
            }
            TimerOp::Pause => {
                driver.command(&Cmd::Pause);
                model.paused = true;
            }
            TimerOp::Resume => {
                driver.command(&Cmd::Resume);
                if model.paused {
                    // Read idle counts from the resume, not from before the pause.
                    model.last_read = driver.now();
                }
                model.paused = false;
            }
            TimerOp::Close => {
                if model.phase == Phase::Open {
                    driver.command(&Cmd::Close);
                    model.phase = Phase::Closing;
                    // The linger counts the queue's progress from the close.
                    model.last_write = driver.now();
                }
            }
        }
        // Bytes drained to the socket (on a writable turn, or at once after a write or the
        // connect) are write activity.
        if driver.world.sent.len() > sent && matches!(model.phase, Phase::Open | Phase::Closing) {
            model.last_write = driver.now();
            model.fired[TimerModel::index(Idle::Write)] = false;
            model.fired[TimerModel::index(Idle::Both)] = false;
        }
        if model.phase == Phase::Closing && driver.stream().write_queue().is_empty() {
            model.phase = Phase::Lingering(driver.now());
            assert_eq!(driver.world.actions.last(), Some(&Action::Shutdown));
        }
        assert_eq!(
            driver.stream().poll_timeout().map(|t| driver.at(t)),
            model.deadline().map(|t| driver.at(t)),
            "poll_timeout() in {:?}",
            model.phase
        );
        assert_eq!(driver.stream().is_closed(), model.phase == Phase::Closed);
    }
}

// ---- The properties ------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random interleavings of driver inputs and application commands (also from inside the
    /// callbacks) never panic, follow the drive order and keep every invariant the driver
    /// checks.
    #[test]
    fn any_interleaving_keeps_the_invariants(case in chaos()) {
        run_chaos(&case);
    }

    /// `\n` frames under any chunking equal the input split on `\n`; a trailing partial line is
    /// reported with its bytes at EOF, then `Eof`, then (echoes flushed) `Closed`. Lines over
    /// the read limit are one `Overflow` each (and close the stream under the default policy).
    #[test]
    fn line_frames_match_the_split_input_under_any_chunking(case in lines()) {
        run_lines(&case);
    }

    /// Bytes and file ranges are sent exactly as queued, in order, whatever the partial writes.
    #[test]
    fn sent_bytes_equal_queued_bytes_under_partial_writes(case in writes()) {
        run_writes(&case);
    }

    /// After close(), everything queued before it is sent, then `Shutdown`, then the peer's EOF
    /// gives `Close`; later writes are refused and lingering input is discarded.
    #[test]
    fn close_flushes_then_shuts_down_then_closes_at_peer_eof(case in close_after_flush()) {
        run_close_after_flush(&case);
    }

    /// Connect, idle and linger timeouts fire exactly at their deadline and not a nanosecond
    /// before, and `poll_timeout()` always names the next one.
    #[test]
    fn timeouts_fire_exactly_at_their_deadlines(case in timers()) {
        run_timers(&case);
    }
}

// ---- Regressions: core bugs these properties found -------------------------------------------

/// `wants_read()` stays true while closing even when reading is paused ("lingering reads to
/// see the peer's EOF"). Was: `handle_data` then failed its debug assertion "read while
/// wants_read() was false", so a driver that followed the drive order panicked.
#[test]
fn reading_while_closing_after_pause_reading() {
    let now = Instant::now();
    let mut stream = Stream::accepted(StreamConfig::default(), now);
    stream.pause_reading();
    stream.close();
    assert_eq!(stream.poll_action(), Some(Action::Shutdown));
    assert_eq!(stream.poll_action(), None);
    assert!(stream.wants_read(), "lingering reads to see the peer's EOF");
    stream.handle_data(now, Bytes::from_static(b"x")); // panics in debug builds
    stream.handle_eof(now);
    assert_eq!(stream.poll_action(), Some(Action::Close));
}

/// After the peer's EOF a (not half-open) stream flushes its queue and closes; the lifecycle
/// on the crate page sends it to "[closing: flush queue]", which the linger bounds ("while
/// closing: how long the queue may make no progress"). Was: `poll_timeout()` stayed `None`
/// while it flushed, so a peer that shut down its side and stopped reading kept the channel
/// open forever.
#[test]
fn flushing_after_peer_eof_gives_up_after_the_linger_time() {
    let now = Instant::now();
    let mut stream = Stream::accepted(StreamConfig::default(), now);
    stream.write("reply the peer never reads").unwrap();
    stream.handle_eof(now);
    assert_eq!(stream.poll_action(), None);
    assert!(matches!(stream.poll_event(), Some(Event::Connected)));
    assert!(matches!(stream.poll_event(), Some(Event::Eof)));
    assert!(stream.poll_event().is_none());
    let linger = StreamConfig::DEFAULT_LINGER;
    assert_eq!(stream.poll_timeout(), Some(now + linger));
    stream.handle_timeout(now + linger);
    assert_eq!(stream.poll_action(), Some(Action::Close));
}
