//! The `stream` fuzz target: one [`Stream`] driven in the documented drive order by arbitrary
//! driver inputs and application commands.
//!
//! A [`StreamDriver`] drives the stream: after every input or command it drains the outputs as
//! the crate page says (actions, then writes while `wants_write()`, then events, round after
//! round until a round yields nothing), over the socket and the application the [`Harness`]
//! plays; the application answers events with the commands armed for them. The harness keeps
//! to the driver's side of the contract (time never goes back, reads only while `wants_read()`,
//! `handle_written` never more than was offered) and checks the stream's side:
//!
//! - nothing follows [`Event::Closed`]; `Closed` and [`Action::Close`] come exactly once once the
//!   stream is closed, never before; [`Action::Shutdown`] at most once, before `Close`, and no
//!   byte is offered after it;
//! - idle events only for configured timeouts, and never early: the timeout counts from the
//!   last bytes received (read), taken by the socket (write) or either (both), or the connect;
//! - [`Event::Connected`] at most once and before any frame; no frame while the application
//!   has reading paused, after it called `close`, after an overflow under
//!   `OverflowPolicy::Close`, a custom frame of unknown size over the limit (under any policy)
//!   or a corrupt length prefix (the stream winds down), or after
//!   [`Event::Eof`]; frames fit the delimiter and the limits; writes refused after `close`,
//!   and only once the stream closes (at `close`, by its own wind-down, or at an error or a
//!   timeout), with `Closing` before it is closed and `Closed` after;
//! - the bytes offered to the driver are exactly the bytes queued, in order, file ranges
//!   included; nothing queued is dropped except by `close_now`, an I/O error, a failed connect
//!   or a timeout; writes are refused over the write limit exactly, with an [`Event::Overflow`];
//! - memory: the write queue holds exactly the unsent bytes, never more than the limit when a
//!   write was taken; an idle, unpaused stream's read buffer holds less than a frame can need
//!   and no allocation when empty, and nothing once the stream stops reading frames;
//! - a refused delimiter or limit is refused for the reason the model gives;
//! - at the end, with the socket writable and all time elapsed, the queue drains, the peer's
//!   EOF closes the stream (unless half-open or paused), and a closed stream stays closed;
//! - no panic, no endless drive loop.
//!
//! # Input format
//!
//! One decision after another (see [`crate::input`]); 0 is always the calm choice. Every
//! decision is made while reading an operation, so an input is a plain list of operations.
//!
//! 1. The config ([`config`]), then a flag: connecting (set) or accepted, then the number of
//!    slices the driver offers `poll_transmit`: `1 + below(8)`.
//! 2. Operations until the input ends (at most [`MAX_OPS`]), each `below(9)`:
//!    - 0: a [`command`], run now (outside any callback);
//!    - 1: [`data`] received, if the stream wants to read (or is connecting);
//!    - 2: the peer's EOF, if the stream wants to read (or spuriously, once it is closed);
//!    - 3: the socket: `below(4)`: 0, writable; 1, writable, taking at most `1 + below(256)`
//!      bytes a write; 2, full; 3, writable, taking at most `1 + below(16)` bytes a write. A
//!      write that takes less than offered leaves it full. It starts writable.
//!    - 4: an I/O error (`below(5)` picks the kind);
//!    - 5: the connect completes; 6: the connect fails (`below(5)` picks how); both only
//!      while connecting;
//!    - 7: time passes ([`Harness::advance`]);
//!    - 8: arms a [`command`] to run in the callback of the next event that matches a
//!      [`When`] (`below(8)`), such as a delimiter change in `on_read`. Each event runs the
//!      first armed command it matches.
//! 3. At the end: the socket writable, the drive, the peer's EOF, then an hour later.

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use pants_core::channel::{Action, Event, FileRange, Stream};
use pants_core::testing::{Offer, StreamDriver, StreamHooks, Written};
use pants_core::{
    ConnectError, DelimiterError, Direction, Error, OverflowPolicy, ReadLimits, StreamConfig,
    WriteError, WriteLimits, WriteStatus,
};

use crate::framer::{after_frame, delim, limits, read_bound};
use crate::input::Input;
use crate::model::{Delim, Esc};

/// Most operations in one run.
pub const MAX_OPS: usize = 2000;
/// Most bytes received in one run.
pub const MAX_RECEIVED: usize = 64 * 1024;

/// Runs the `stream` target's check on one input. Panics when the stream breaks its contract.
pub fn check_stream(data: &[u8]) {
    let mut input = Input::new(data);
    let mut harness = Harness::from_input(&mut input);
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| harness.run(&mut input))) {
        if harness.world.failed.get() {
            resume_unwind(panic);
        }
        // A panic inside the stream, or its driver's (a stream that never settles): show what
        // led there.
        panic!(
            "the stream panicked: {}\n{harness:?}",
            panic_message(&*panic)
        );
    }
}

/// Runs the check on one input and returns what happened, step by step (for writing seeds and
/// reading crashes).
pub fn stream_steps(data: &[u8]) -> String {
    let mut input = Input::new(data);
    let mut harness = Harness::from_input(&mut input);
    harness.run(&mut input);
    format!("{harness:?}")
}

/// The message of a panic payload.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    match panic.downcast_ref::<String>() {
        Some(msg) => msg,
        None => panic
            .downcast_ref::<&str>()
            .copied()
            .unwrap_or("(no message)"),
    }
}

/// The stream's config:
///
/// 1. read limits ([`limits`]);
/// 2. write limits: a high-water mark of `below(256)`, a limit of (`below(4)`) `below(256)`,
///    `16 * below(256)`, 4096 or the default 16 MiB;
/// 3. connect, read idle, write idle and idle timeouts, each a [`timeout`];
/// 4. linger: `below(4)`: 0, the default 5 s; else `below(256)` ms;
/// 5. two flags: half-open, and the `Discard` overflow policy.
pub fn config(input: &mut Input<'_>) -> StreamConfig {
    let read_limits = limits(input);
    let write_limits = write_limits(input);
    let connect_timeout = timeout(input);
    let read_idle_timeout = timeout(input);
    let write_idle_timeout = timeout(input);
    let idle_timeout = timeout(input);
    let linger = match input.below(4) {
        0 => StreamConfig::DEFAULT_LINGER,
        _ => Duration::from_millis(input.below(256) as u64),
    };
    let half_open = input.flag();
    let overflow = if input.flag() {
        OverflowPolicy::Discard
    } else {
        OverflowPolicy::Close
    };
    StreamConfig {
        read_limits,
        write_limits,
        connect_timeout,
        read_idle_timeout,
        write_idle_timeout,
        idle_timeout,
        linger,
        half_open,
        overflow,
        tls_handshake_timeout: None,
    }
}

/// Write limits; see [`config`].
pub fn write_limits(input: &mut Input<'_>) -> WriteLimits {
    let high_water = input.below(256);
    let limit = match input.below(4) {
        0 => input.below(256),
        1 => 16 * input.below(256),
        2 => 4096,
        _ => WriteLimits::DEFAULT_LIMIT,
    };
    WriteLimits::new(high_water, limit)
}

/// `below(4)`: 0, none; else `1 + below(256)` ms, times 1, 10 or 100 as that choice was 1, 2, 3.
pub fn timeout(input: &mut Input<'_>) -> Option<Duration> {
    let scale = [0, 1, 10, 100][input.below(4)];
    (scale > 0).then(|| Duration::from_millis((1 + input.below(256) as u64) * scale))
}

/// Received bytes: `below(8)`: 3 and 7, one byte `1 + below(256)` times, but 7 under a byte
/// string searched for after a count (`delimiter`), a frame for it
/// ([`after_frame`]); else `below(33)` raw bytes. This was
/// `below(4)`: a choice byte means what it meant then, but for 7 under such a delimiter, so the
/// saved inputs decode as before.
pub fn data(input: &mut Input<'_>, delimiter: &Delim) -> Vec<u8> {
    let choice = input.below(8);
    if choice == 7
        && let Delim::After { skip, needle } = delimiter
        && *skip > 0
        && *skip >= needle.len()
    {
        let mut frame = Vec::new();
        after_frame(input, *skip, needle, &mut frame);
        return frame;
    }
    if choice % 4 == 3 {
        let byte = input.byte();
        return vec![byte; 1 + input.below(256)];
    }
    let len = input.below(33);
    input.take(len).to_vec()
}

/// An application command.
#[derive(Debug, Clone)]
pub enum Command {
    /// `write`.
    Write(Bytes),
    /// `write_file` of a range.
    WriteFile {
        /// Where the range starts.
        offset: u64,
        /// Its length.
        len: u64,
    },
    /// `close`.
    Close,
    /// `close_now`.
    CloseNow,
    /// `set_read_delimiter`, checked against the model's refusal.
    Delimiter(Delim),
    /// `pause_reading`.
    Pause,
    /// `resume_reading`.
    Resume,
    /// `set_read_limits`.
    ReadLimits(ReadLimits),
    /// `set_write_limits`.
    WriteLimits(WriteLimits),
    /// `set_overflow_policy`.
    OverflowPolicy(OverflowPolicy),
}

/// An application command, `below(11)`:
///
/// - 0: `write`: `below(4)`: under 3, `below(65)` raw bytes; 3, one byte `16 * below(256)`
///   times;
/// - 1: `write_file`: offset `below(256)`, length `below(4)`: 0, none; 1, 2, `below(256)`;
///   3, 2^40;
/// - 2: `close`; 3: `close_now`;
/// - 4: `set_read_delimiter` of a [`delim`];
/// - 5: `pause_reading`; 6: `resume_reading`;
/// - 7: `set_read_limits` of [`limits`]; 8: `set_write_limits` of [`write_limits`];
/// - 9: `write` of nothing;
/// - 10: `set_overflow_policy`: a flag, `Discard` when set.
pub fn command(input: &mut Input<'_>) -> Command {
    match input.below(11) {
        0 => Command::Write(Bytes::from(match input.below(4) {
            0..=2 => {
                let len = input.below(65);
                input.take(len).to_vec()
            }
            _ => {
                let byte = input.byte();
                vec![byte; 16 * input.below(256)]
            }
        })),
        1 => {
            let offset = input.below(256) as u64;
            let len = match input.below(4) {
                0 => 0,
                1 | 2 => input.below(256) as u64,
                _ => 1 << 40,
            };
            Command::WriteFile { offset, len }
        }
        2 => Command::Close,
        3 => Command::CloseNow,
        4 => Command::Delimiter(delim(input)),
        5 => Command::Pause,
        6 => Command::Resume,
        7 => Command::ReadLimits(limits(input)),
        8 => Command::WriteLimits(write_limits(input)),
        9 => Command::Write(Bytes::new()),
        _ => Command::OverflowPolicy(if input.flag() {
            OverflowPolicy::Discard
        } else {
            OverflowPolicy::Close
        }),
    }
}

/// Which event an armed command answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// The next event, whatever it is.
    Any,
    /// The next frame.
    Read,
    /// The next `Drained`.
    Drained,
    /// `Eof`.
    Eof,
    /// `Connected`.
    Connected,
    /// The next overflow.
    Overflow,
    /// The next idle timeout.
    Idle,
    /// The next error.
    Error,
}

impl When {
    /// In the order `below(8)` picks them.
    pub const ALL: [When; 8] = [
        When::Any,
        When::Read,
        When::Drained,
        When::Eof,
        When::Connected,
        When::Overflow,
        When::Idle,
        When::Error,
    ];

    fn matches(self, event: &Event) -> bool {
        match self {
            When::Any => true,
            When::Read => matches!(event, Event::Read(_)),
            When::Drained => matches!(event, Event::Drained),
            When::Eof => matches!(event, Event::Eof),
            When::Connected => matches!(event, Event::Connected),
            When::Overflow => matches!(event, Event::Overflow(_)),
            When::Idle => matches!(event, Event::Idle(_)),
            When::Error => matches!(event, Event::Error(_) | Event::ConnectFailed(_)),
        }
    }
}

/// A file to name in file ranges: never read, the driver only reports what it "sent".
fn some_file() -> Arc<File> {
    static FILE: OnceLock<Arc<File>> = OnceLock::new();
    FILE.get_or_init(|| {
        let exe = std::env::current_exe().expect("the running executable");
        Arc::new(File::open(exe).expect("the running executable opens"))
    })
    .clone()
}

/// What the harness did, for the failure message.
#[derive(Debug, Clone)]
#[allow(dead_code, reason = "read through Debug only, in failure messages")]
enum Step {
    Data(usize),
    Eof,
    Socket(bool, Option<u64>),
    IoError(io::ErrorKind),
    Connected,
    ConnectError(&'static str),
    Timeout(Duration),
    Offer(usize),
    Took(u64),
    Event(Shown),
    Action(Action),
    Command(Command),
    Arm(When, Command),
    Written(Result<WriteStatus, WriteError>),
    Set(Result<(), DelimiterError>),
    Finish,
}

/// A description, shown as it is.
#[derive(Clone)]
struct Shown(String);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Something queued and not yet sent.
enum Queued {
    Bytes(Bytes),
    File { offset: u64, len: u64 },
}

/// The scripted driver and application, and what they expect of the stream: a
/// [`StreamDriver`] keeps the drive order, the world around the stream plays its socket and
/// its application and checks every step.
pub struct Harness {
    by_hand: StreamDriver,
    world: World,
}

/// Everything around the stream: the socket, the application, and what they expect of it.
struct World {
    config: StreamConfig,
    slices: usize,
    /// The most bytes the socket takes in one write; a write that takes less than offered
    /// leaves it full.
    write_cap: Option<u64>,
    /// Commands to run in the callback of the next event they match.
    armed: VecDeque<(When, Command)>,
    /// Queued, not yet sent, in order.
    queued: VecDeque<Queued>,
    /// Bytes queued in `queued` (not file ranges).
    queued_in_memory: usize,
    received: usize,
    /// When bytes last arrived, or the stream connected.
    last_data: Instant,
    /// When the socket last took bytes, or the stream connected.
    last_progress: Instant,
    delimiter: Delim,
    read_limits: ReadLimits,
    write_limits: WriteLimits,
    // What the application did.
    paused: bool,
    close_called: bool,
    /// No more frames: the application closed, or the stream winds down after an overflow
    /// (under `OverflowPolicy::Close`, or one that stopped the framer) or a corrupt length
    /// prefix.
    reading_done: bool,
    /// The overflow policy in force.
    overflow: OverflowPolicy,
    // What the stream did.
    connected: bool,
    eof_event: bool,
    closed_events: usize,
    close_actions: usize,
    shutdown: bool,
    was_closed: bool,
    /// Write overflows reported by `write` and not yet raised as events.
    overflows_due: VecDeque<pants_core::OverflowError>,
    /// The latest input or command may drop the queue (close_now, I/O error, failed connect,
    /// a timeout).
    may_drop: bool,
    /// An `Error::Unsent` came.
    unsent_seen: bool,
    /// `ConnectFailed` came: what was queued was never sent, and no `Unsent` says so.
    connect_failed: bool,
    log: Vec<Step>,
    /// A check failed (as opposed to a panic inside the stream).
    failed: Cell<bool>,
}

/// A case as a failure shows it: the world's config and steps, and the stream.
struct Case<'a> {
    world: &'a World,
    stream: &'a Stream,
}

impl fmt::Debug for Case<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "config: {:?}", self.world.config)?;
        writeln!(f, "slices: {}", self.world.slices)?;
        writeln!(f, "stream: {:?}", self.stream)?;
        writeln!(f, "steps:")?;
        for step in &self.world.log {
            writeln!(f, "  {step:?}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Harness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.world.case(self.by_hand.stream()).fmt(f)
    }
}

/// Fails the case, showing `$world` and `$stream`, unless `$cond` holds.
macro_rules! check {
    ($world:expr, $stream:expr, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            $world.fail($stream, format!($($msg)+))
        }
    };
}

impl Harness {
    /// A stream with `config`, connecting or accepted, driven to rest.
    pub fn new(config: StreamConfig, connecting: bool, slices: usize) -> Self {
        let now = Instant::now();
        let stream = if connecting {
            Stream::connecting(config.clone(), now)
        } else {
            Stream::accepted(config.clone(), now)
        };
        let world = World {
            slices,
            write_cap: None,
            armed: VecDeque::new(),
            queued: VecDeque::new(),
            queued_in_memory: 0,
            received: 0,
            last_data: now,
            last_progress: now,
            delimiter: Delim::None,
            read_limits: config.read_limits,
            overflow: config.overflow,
            write_limits: config.write_limits,
            config,
            paused: false,
            close_called: false,
            reading_done: false,
            connected: false,
            eof_event: false,
            closed_events: 0,
            close_actions: 0,
            shutdown: false,
            was_closed: false,
            overflows_due: VecDeque::new(),
            may_drop: false,
            unsent_seen: false,
            connect_failed: false,
            log: Vec::new(),
            failed: Cell::new(false),
        };
        let mut harness = Self {
            by_hand: StreamDriver::new(stream, now).with_slices(slices),
            world,
        };
        harness.drive();
        harness
    }

    /// The harness an input starts with: the config, connecting or accepted, the slices.
    pub fn from_input(input: &mut Input<'_>) -> Self {
        let config = config(input);
        let connecting = input.flag();
        let slices = 1 + input.below(8);
        Self::new(config, connecting, slices)
    }

    /// The operations of the input, then the end.
    pub fn run(&mut self, input: &mut Input<'_>) {
        let mut ops = 0;
        while !input.is_empty() && ops < MAX_OPS {
            ops += 1;
            self.op(input);
        }
        self.finish();
    }

    /// One operation; see the module docs for its format.
    pub fn op(&mut self, input: &mut Input<'_>) {
        let world = &mut self.world;
        world.may_drop = false;
        let s = self.by_hand.stream();
        let readable = s.wants_read() || (s.is_connecting() && !s.is_read_paused());
        let connecting = s.is_connecting();
        match input.below(9) {
            0 => {
                let command = command(input);
                world.run_command(self.by_hand.stream_mut(), command);
            }
            1 => {
                let bytes = data(input, &world.delimiter);
                if readable && world.received < MAX_RECEIVED && !bytes.is_empty() {
                    world.received += bytes.len();
                    world.log.push(Step::Data(bytes.len()));
                    world.last_data = self.by_hand.now();
                    self.by_hand.handle_data(bytes);
                }
            }
            2 => {
                if readable || self.by_hand.stream().is_closed() {
                    world.log.push(Step::Eof);
                    self.by_hand.handle_eof();
                }
            }
            3 => {
                let (writable, cap) = match input.below(4) {
                    0 => (true, None),
                    1 => (true, Some(1 + input.below(256) as u64)),
                    2 => (false, None),
                    _ => (true, Some(1 + input.below(16) as u64)),
                };
                world.log.push(Step::Socket(writable, cap));
                self.by_hand.set_writable(writable);
                world.write_cap = cap;
            }
            4 => {
                let kind = [
                    io::ErrorKind::ConnectionReset,
                    io::ErrorKind::BrokenPipe,
                    io::ErrorKind::ConnectionRefused,
                    io::ErrorKind::TimedOut,
                    io::ErrorKind::Other,
                ][input.below(5)];
                world.log.push(Step::IoError(kind));
                world.may_drop = true;
                self.by_hand.handle_error(kind.into());
            }
            5 => {
                if connecting {
                    world.log.push(Step::Connected);
                    self.by_hand.handle_connected();
                }
            }
            6 => {
                let which = input.below(5);
                if connecting {
                    let (name, err) = match which {
                        0 => ("refused", ConnectError::Refused),
                        1 => ("timed out", ConnectError::TimedOut),
                        2 => ("unreachable", ConnectError::Unreachable),
                        3 => (
                            "resolve",
                            ConnectError::Resolve(io::ErrorKind::NotFound.into()),
                        ),
                        _ => (
                            "io",
                            ConnectError::Io(io::ErrorKind::PermissionDenied.into()),
                        ),
                    };
                    world.log.push(Step::ConnectError(name));
                    world.may_drop = true;
                    self.by_hand.handle_connect_error(err);
                }
            }
            7 => self.advance(input),
            _ => {
                let when = When::ALL[input.below(When::ALL.len())];
                let command = command(input);
                world.log.push(Step::Arm(when, command.clone()));
                world.armed.push_back((when, command));
            }
        }
        self.drive();
    }

    /// Time passes, then `handle_timeout`: `below(4)`: 0, `below(256)` ms; 1, to the deadline
    /// `poll_timeout` gave (if any); 2, that plus `below(256)` ms; 3, `below(16)` s.
    pub fn advance(&mut self, input: &mut Input<'_>) {
        let now = self.by_hand.now();
        let deadline = self.by_hand.stream().poll_timeout();
        let to_deadline = deadline.map_or(Duration::ZERO, |d| d.saturating_duration_since(now));
        let by = match input.below(4) {
            0 => Duration::from_millis(input.below(256) as u64),
            1 => to_deadline,
            2 => to_deadline + Duration::from_millis(input.below(256) as u64),
            _ => Duration::from_secs(input.below(16) as u64),
        };
        self.world.log.push(Step::Timeout(by));
        self.world.may_drop = true;
        self.by_hand.advance(by);
    }

    /// The drive order, until a whole round yields nothing; then the checks of a stream at
    /// rest.
    fn drive(&mut self) {
        self.by_hand.drive(&mut self.world);
        self.world.at_rest(self.by_hand.stream());
    }

    /// The end of the input: the socket takes everything, then the peer's EOF, then an hour
    /// passes.
    pub fn finish(&mut self) {
        self.world.log.push(Step::Finish);
        self.world.may_drop = false;
        self.by_hand.set_writable(true);
        self.world.write_cap = None;
        self.world.armed.clear();
        self.drive();
        let (world, stream) = (&self.world, self.by_hand.stream());
        if !stream.is_connecting() && !stream.is_closed() {
            check!(
                world,
                stream,
                world.queued.is_empty() && !stream.wants_write(),
                "a writable socket and a connected stream, yet the queue does not drain"
            );
        }
        if stream.wants_read() {
            self.world.log.push(Step::Eof);
            self.by_hand.handle_eof();
            self.drive();
            let (world, stream) = (&self.world, self.by_hand.stream());
            if !world.paused && !world.config.half_open && !stream.is_connecting() {
                check!(
                    world,
                    stream,
                    stream.is_closed(),
                    "the peer's EOF with nothing queued does not close the stream"
                );
            }
            if !world.paused && !stream.is_connecting() && !world.reading_done {
                check!(
                    world,
                    stream,
                    world.eof_event,
                    "the peer's EOF was never reported"
                );
            }
        }
        let hour = Duration::from_secs(3600);
        self.world.log.push(Step::Timeout(hour));
        self.world.may_drop = true;
        self.by_hand.advance(hour);
        self.drive();
        let (world, stream) = (&self.world, self.by_hand.stream());
        if world.reading_done && !stream.is_connecting() {
            check!(
                world,
                stream,
                stream.is_closed(),
                "closed by the application an hour ago, still not closed"
            );
        }
    }
}

/// The socket and the application, checking every step of the drive order.
impl StreamHooks for World {
    fn on_action(&mut self, stream: &Stream, action: Action) {
        self.action(stream, action);
    }

    fn on_transmit(&mut self, stream: &Stream, now: Instant, offer: Offer<'_>) -> Written {
        self.transmit(stream, now, offer)
    }

    fn on_event(&mut self, stream: &mut Stream, now: Instant, event: Event) {
        // Events come after the round's writes: an open stream's queue is as they left it
        // (a closed one dropped it, which `check_closure` sees at the end of the round).
        if !stream.is_closed() {
            self.check_queue_memory(stream);
        }
        self.event(stream, now, &event);
        self.answer(stream, &event);
    }

    fn on_round(&mut self, stream: &Stream) {
        self.check_closure(stream);
        self.check_queue_memory(stream);
    }
}

impl World {
    /// Panics with `msg` and the case.
    fn fail(&self, stream: &Stream, msg: String) -> ! {
        self.failed.set(true);
        panic!("{msg}\n{:?}", self.case(stream))
    }

    fn case<'a>(&'a self, stream: &'a Stream) -> Case<'a> {
        Case {
            world: self,
            stream,
        }
    }

    /// Runs an application command, and checks what it returns.
    fn run_command(&mut self, stream: &mut Stream, command: Command) {
        self.log.push(Step::Command(command.clone()));
        match command {
            Command::Write(bytes) => self.write(stream, bytes),
            Command::WriteFile { offset, len } => self.write_file(stream, offset, len),
            Command::Close => {
                self.close_called = true;
                self.reading_done = true;
                stream.close();
            }
            Command::CloseNow => {
                self.close_called = true;
                self.reading_done = true;
                self.may_drop = true;
                stream.close_now();
            }
            Command::Delimiter(d) => self.set_delimiter(stream, d),
            Command::Pause => {
                self.paused = true;
                stream.pause_reading();
            }
            Command::Resume => {
                self.paused = false;
                stream.resume_reading();
            }
            Command::ReadLimits(new) => {
                let result = stream.set_read_limits(new);
                self.log.push(Step::Set(result.clone()));
                let needs = self.delimiter.needs();
                let expected =
                    (needs > new.hard_limit()).then_some(DelimiterError::OverHardLimit {
                        size: needs,
                        hard_limit: new.hard_limit(),
                    });
                check!(
                    self,
                    stream,
                    result.clone().err() == expected,
                    "set_read_limits gave {result:?}, expected {expected:?}"
                );
                if result.is_ok() {
                    self.read_limits = new;
                }
            }
            Command::OverflowPolicy(policy) => {
                self.overflow = policy;
                stream.set_overflow_policy(policy);
            }
            Command::WriteLimits(new) => {
                self.write_limits = new;
                stream.set_write_limits(new);
            }
        }
    }

    fn set_delimiter(&mut self, stream: &mut Stream, d: Delim) {
        let expected = d.refusal(self.read_limits.hard_limit());
        let result = d
            .to_read_delimiter()
            .and_then(|delimiter| stream.set_read_delimiter(&delimiter));
        self.log.push(Step::Set(result.clone()));
        check!(
            self,
            stream,
            result.clone().err() == expected,
            "set_read_delimiter({d:?}) gave {result:?}, expected {expected:?}"
        );
        if result.is_ok() {
            self.delimiter = d;
        }
    }

    fn write(&mut self, stream: &mut Stream, bytes: Bytes) {
        let before = stream.write_queue().in_memory();
        let refused_closed = self.close_called || stream.is_closed();
        let len = bytes.len();
        let result = stream.write(bytes.clone());
        self.log.push(Step::Written(result));
        let after = stream.write_queue().in_memory();
        let limit = self.write_limits.limit();
        match result {
            Err(WriteError::Closed | WriteError::Closing) => {
                check!(
                    self,
                    stream,
                    after == before,
                    "a refused write changed the queue"
                );
                self.check_refusal(stream, result);
            }
            _ if refused_closed => {
                check!(
                    self,
                    stream,
                    false,
                    "a write after close was not refused: {result:?}"
                )
            }
            Err(WriteError::Overflow(err)) => {
                check!(
                    self,
                    stream,
                    before + len > limit
                        && err.direction() == Direction::Write
                        && err.limit() == limit
                        && err.size() == before + len
                        && after == before,
                    "write of {len} onto {before} queued (limit {limit}) refused with {err:?}, \
                     queue now {after}"
                );
                self.overflows_due.push_back(err);
                if self.overflow == OverflowPolicy::Close {
                    // The stream winds down: no more frames, closes once flushed.
                    self.reading_done = true;
                }
            }
            Err(other) => check!(self, stream, false, "unexpected write error {other:?}"),
            Ok(status) => {
                let high_water = self.write_limits.high_water();
                check!(
                    self,
                    stream,
                    before + len <= limit
                        && after == before + len
                        && (status == WriteStatus::AboveHighWater) == (after > high_water),
                    "write of {len} onto {before} queued (limit {limit}, high water \
                     {high_water}) gave {status:?}, queue now {after}"
                );
                if len > 0 {
                    self.queued_in_memory += len;
                    self.queued.push_back(Queued::Bytes(bytes));
                }
            }
        }
    }

    fn write_file(&mut self, stream: &mut Stream, offset: u64, len: u64) {
        let refused_closed = self.close_called || stream.is_closed();
        let range = FileRange::new(some_file(), offset, len);
        let result = stream.write_file(range);
        self.log.push(Step::Written(result));
        match result {
            Err(WriteError::Closed | WriteError::Closing) => self.check_refusal(stream, result),
            _ if refused_closed => {
                check!(
                    self,
                    stream,
                    false,
                    "a file write after close was not refused"
                )
            }
            Err(other) => check!(self, stream, false, "unexpected write_file error {other:?}"),
            Ok(_) => {
                if len > 0 {
                    self.queued.push_back(Queued::File { offset, len });
                }
            }
        }
    }

    /// A write is refused for closing only once the stream closes: closed, or closing at the
    /// application's `close` or after its own wind-down (an overflow under
    /// `OverflowPolicy::Close`, a corrupt length prefix); and it says which: `Closed` once the
    /// stream is closed, `Closing` before.
    fn check_refusal(&self, stream: &Stream, result: Result<WriteStatus, WriteError>) {
        let expected = if stream.is_closed() {
            WriteError::Closed
        } else {
            WriteError::Closing
        };
        // `reading_done`: `close` was called, or the stream winds down.
        let closing = stream.is_closed() || self.reading_done;
        check!(
            self,
            stream,
            closing && result == Err(expected),
            "a write refused with {result:?}, expected {expected:?} (close called: {}, winding \
             down: {})",
            self.close_called,
            self.reading_done
        );
    }

    fn action(&mut self, stream: &Stream, action: Action) {
        self.log.push(Step::Action(action));
        match action {
            Action::Shutdown => {
                check!(
                    self,
                    stream,
                    !self.shutdown && self.close_actions == 0,
                    "a second shutdown, or one after close"
                );
                check!(
                    self,
                    stream,
                    self.queued.is_empty(),
                    "shutdown with bytes still queued"
                );
                self.shutdown = true;
            }
            Action::Close => {
                check!(
                    self,
                    stream,
                    self.close_actions == 0,
                    "a second Action::Close"
                );
                check!(
                    self,
                    stream,
                    stream.is_closed(),
                    "Action::Close from an open stream"
                );
                self.close_actions += 1;
            }
        }
    }

    /// Runs the first armed command that answers `event`, as its callback would.
    fn answer(&mut self, stream: &mut Stream, event: &Event) {
        if let Some(i) = self.armed.iter().position(|(when, _)| when.matches(event)) {
            let (_, command) = self.armed.remove(i).expect("in range");
            self.run_command(stream, command);
        }
    }

    /// One write: checks the offer against the queue, then takes as much as the socket takes;
    /// a write that takes less than offered fills the socket.
    fn transmit(&mut self, stream: &Stream, now: Instant, offer: Offer<'_>) -> Written {
        let offered = match offer {
            Offer::Bytes(slices) => {
                let bytes: Vec<u8> = slices.iter().flat_map(|s| s.iter().copied()).collect();
                self.check_bytes_offer(stream, &bytes);
                bytes.len() as u64
            }
            Offer::File(range) => {
                let (offset, len) = (range.offset(), range.len());
                let head = match self.queued.front() {
                    Some(Queued::File { offset, len }) => Some((*offset, *len)),
                    _ => None,
                };
                check!(
                    self,
                    stream,
                    head == Some((offset, len)),
                    "offered the file range {offset}+{len}, the queue starts with {head:?}"
                );
                len
            }
        };
        self.log.push(Step::Offer(offered as usize));
        check!(
            self,
            stream,
            !self.shutdown,
            "bytes offered after the write side was shut down"
        );
        let n = self.write_cap.map_or(offered, |cap| cap.min(offered));
        self.log.push(Step::Took(n));
        self.consume(n);
        if n > 0 {
            self.last_progress = now;
        }
        if n < offered {
            Written::Full(n as usize)
        } else {
            Written::Took(n as usize)
        }
    }

    fn check_bytes_offer(&self, stream: &Stream, bytes: &[u8]) {
        check!(self, stream, !bytes.is_empty(), "an empty vectored offer");
        let mut rest = bytes;
        for queued in &self.queued {
            if rest.is_empty() {
                break;
            }
            match queued {
                Queued::Bytes(expected) => {
                    let n = expected.len().min(rest.len());
                    check!(
                        self,
                        stream,
                        rest[..n] == expected[..n],
                        "offered {:?}, queued {:?}",
                        Esc(&rest[..n]),
                        Esc(&expected[..n])
                    );
                    rest = &rest[n..];
                }
                Queued::File { offset, len } => check!(
                    self,
                    stream,
                    false,
                    "offered bytes {:?} where the file range {offset}+{len} is queued",
                    Esc(rest)
                ),
            }
        }
        check!(
            self,
            stream,
            rest.is_empty(),
            "offered {} bytes beyond the queue: {:?}",
            rest.len(),
            Esc(rest)
        );
    }

    /// Bytes the stream should still hold to send.
    fn queued_bytes(&self) -> u64 {
        self.queued
            .iter()
            .map(|queued| match queued {
                Queued::Bytes(bytes) => bytes.len() as u64,
                Queued::File { len, .. } => *len,
            })
            .sum()
    }

    /// Removes `n` sent bytes from the expected queue.
    fn consume(&mut self, mut n: u64) {
        while n > 0 {
            let Some(front) = self.queued.front_mut() else {
                unreachable!("offers were checked against the queue")
            };
            let done = match front {
                Queued::Bytes(bytes) => {
                    let k = n.min(bytes.len() as u64) as usize;
                    bytes.advance(k);
                    self.queued_in_memory -= k;
                    n -= k as u64;
                    bytes.is_empty()
                }
                Queued::File { offset, len } => {
                    let k = n.min(*len);
                    *offset += k;
                    *len -= k;
                    n -= k;
                    *len == 0
                }
            };
            if done {
                self.queued.pop_front();
            }
        }
    }

    fn check_queue_memory(&self, stream: &Stream) {
        let queue = stream.write_queue();
        check!(
            self,
            stream,
            queue.in_memory() == self.queued_in_memory
                && queue.is_empty() == self.queued.is_empty(),
            "the write queue holds {} bytes in memory (empty: {}), {} expected (empty: {})",
            queue.in_memory(),
            queue.is_empty(),
            self.queued_in_memory,
            self.queued.is_empty()
        );
    }

    fn event(&mut self, stream: &Stream, now: Instant, event: &Event) {
        self.log.push(Step::Event(Shown(describe(event))));
        check!(
            self,
            stream,
            self.closed_events == 0,
            "an event after Closed: {event:?}"
        );
        match event {
            Event::Connected => {
                check!(self, stream, !self.connected, "a second Connected");
                self.connected = true;
                // Idle timeouts count from the connect.
                self.last_data = now;
                self.last_progress = now;
            }
            Event::Read(frame) => {
                check!(self, stream, self.connected, "a frame before Connected");
                check!(
                    self,
                    stream,
                    !self.paused,
                    "a frame while reading is paused"
                );
                check!(
                    self,
                    stream,
                    !self.reading_done,
                    "a frame after close or wind-down"
                );
                check!(self, stream, !self.eof_event, "a frame after Eof");
                let len = frame.len();
                let fits = match &self.delimiter {
                    Delim::None => len > 0,
                    Delim::Count(n) => len == *n,
                    Delim::Prefix(_) => len <= self.read_limits.hard_limit(),
                    Delim::After { skip, .. } => len <= skip + self.read_limits.limit(),
                    _ => len <= self.read_limits.limit(),
                };
                check!(
                    self,
                    stream,
                    fits,
                    "a frame of {len} bytes under {:?} with limits {:?}",
                    self.delimiter,
                    self.read_limits
                );
            }
            Event::Eof => {
                check!(self, stream, !self.eof_event, "a second Eof");
                self.eof_event = true;
            }
            Event::Overflow(err) => match err.direction() {
                Direction::Read => {
                    check!(
                        self,
                        stream,
                        !self.reading_done,
                        "a read overflow after close"
                    );
                    check!(self, stream, err.size() > err.limit(), "overflow {err:?}");
                    // Winds down under `Close`, or whatever the policy once the framer stopped
                    // (a custom frame of unknown size): the callback may still reply; no more
                    // frames.
                    if self.overflow == OverflowPolicy::Close || stream.framer().has_stopped() {
                        self.reading_done = true;
                    }
                }
                Direction::Write => {
                    let due = self.overflows_due.pop_front();
                    check!(
                        self,
                        stream,
                        due == Some(*err),
                        "write overflow event {err:?}, expected {due:?}"
                    );
                }
            },
            Event::ConnectFailed(_) => {
                check!(
                    self,
                    stream,
                    !self.connected,
                    "ConnectFailed after Connected"
                );
                self.connect_failed = true;
            }
            Event::Error(err) => {
                if let Error::Unsent(unsent) = err {
                    let queued = self.queued_bytes();
                    check!(
                        self,
                        stream,
                        stream.is_closed() && !self.unsent_seen && unsent.bytes() == queued,
                        "{unsent} reported, with {queued} bytes queued"
                    );
                    self.unsent_seen = true;
                }
                if let Error::TruncatedFrame(frame) = err {
                    check!(self, stream, !frame.is_empty(), "an empty truncated frame");
                }
                if let Error::FrameLength(_) = err {
                    // Winds down: the callback may still reply; no more frames.
                    self.reading_done = true;
                }
            }
            Event::Idle(kind) => {
                let (timeout, since) = match kind {
                    pants_core::Idle::Read => (self.config.read_idle_timeout, self.last_data),
                    pants_core::Idle::Write => (self.config.write_idle_timeout, self.last_progress),
                    pants_core::Idle::Both => (
                        self.config.idle_timeout,
                        self.last_data.max(self.last_progress),
                    ),
                };
                check!(
                    self,
                    stream,
                    timeout.is_some(),
                    "Idle({kind:?}) with no such timeout"
                );
                // Never early: the timeout counts from the last activity (or the connect).
                let idle = now.saturating_duration_since(since);
                check!(
                    self,
                    stream,
                    timeout.is_some_and(|timeout| idle >= timeout),
                    "Idle({kind:?}) after {idle:?} of inactivity, timeout {timeout:?}"
                );
            }
            Event::Closed => {
                check!(
                    self,
                    stream,
                    stream.is_closed(),
                    "Closed from a stream that is not closed"
                );
                self.closed_events += 1;
            }
            Event::Drained => {}
            _ => {}
        }
    }

    /// When the stream has just closed: the queue is gone, and was empty unless the latest
    /// input or command may drop it.
    fn check_closure(&mut self, stream: &Stream) {
        if self.was_closed || !stream.is_closed() {
            return;
        }
        self.was_closed = true;
        self.close_called = true;
        self.reading_done = true;
        check!(
            self,
            stream,
            self.may_drop || self.queued.is_empty(),
            "the stream closed gracefully with {} bytes and file ranges still queued",
            self.queued.len()
        );
        // What is dropped is reported (`Error::Unsent`, before `Closed`), unless a failed
        // connect (nothing was sent) or a panic (the harness has none) says so.
        let dropped = self.queued_bytes();
        check!(
            self,
            stream,
            dropped == 0 || self.connect_failed || self.unsent_seen,
            "the stream closed with {dropped} bytes queued and no Error::Unsent"
        );
        self.queued.clear();
        self.queued_in_memory = 0;
        self.check_queue_memory(stream);
    }

    /// The checks of a stream that has nothing more to say.
    fn at_rest(&mut self, stream: &Stream) {
        let closed = stream.is_closed();
        check!(
            self,
            stream,
            self.closed_events == usize::from(closed) && self.close_actions == usize::from(closed),
            "closed: {closed}, Closed events: {}, Close actions: {}",
            self.closed_events,
            self.close_actions
        );
        check!(
            self,
            stream,
            self.overflows_due.is_empty(),
            "write overflows never raised: {:?}",
            self.overflows_due
        );
        self.check_queue_memory(stream);
        if closed {
            check!(
                self,
                stream,
                !stream.wants_read() && !stream.wants_write() && stream.poll_timeout().is_none(),
                "a closed stream still wants something"
            );
        }
        if self.shutdown {
            check!(
                self,
                stream,
                !stream.wants_write(),
                "wants to write after shutdown"
            );
        }
        let framer = stream.framer();
        let buffered = framer.buffered();
        check!(
            self,
            stream,
            buffered > 0 || !framer.holds_allocation() || framer.is_discarding(),
            "the read buffer holds an allocation with nothing buffered"
        );
        if self.reading_done || closed {
            check!(
                self,
                stream,
                buffered == 0,
                "{buffered} bytes buffered by a stream that reads no more frames"
            );
        } else if !self.paused && !stream.is_connecting() {
            let bound = read_bound(&self.delimiter, self.read_limits, framer.is_discarding());
            check!(
                self,
                stream,
                buffered <= bound,
                "{buffered} bytes buffered at rest under {:?} (discarding: {}), over the \
                 bound {bound}",
                self.delimiter,
                framer.is_discarding()
            );
        }
    }
}

fn describe(event: &Event) -> String {
    match event {
        Event::Read(frame) => format!("Read({:?})", Esc(frame)),
        other => format!("{other:?}"),
    }
}
