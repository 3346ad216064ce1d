//! The `engine` fuzz target: several channels, servers and datagram channels of one
//! [`Engine`](pants_core::driver::Engine), run on the in-memory [`Network`] with faults, and handlers
//! whose commands come from the fuzzer's bytes.
//!
//! The same scenario runs the engine properties of `tests/engine_props.rs`, which generate
//! [`Case`]s with proptest instead of decoding them from bytes ([`check_case`]): every channel
//! runs a `Probe` handler that records its callbacks into a shared world and, unless it is an
//! echo connection, runs the next script of [`Cmd`]s from a pool that the input fills (write to
//! this or another channel, also to closed ones; close or close now either; valid and invalid
//! delimiters; pause and resume; channel and engine timers and their cancels; connect, listen
//! and bind from callbacks; deliberate panics; `stop`). The network side is a list of [`Op`]s:
//! scripted peers (connect, send, shut down, reset, close), engine clients and servers opened
//! from outside, datagrams from scripted datagram peers, commands from outside any callback,
//! the knobs (read and write chunks, window, latency, descriptor limit, accept errors,
//! datagram loss, duplication and reordering from a seed) and time.
//!
//! After every op the check compares the whole log against DESIGN.md section 2:
//!
//! 1. `on_connect` (streams) or `on_listen` (servers, datagram channels) comes first, before
//!    any `on_read`; `on_accept` names a connection before that connection's `on_connect`;
//! 2. `on_close` exactly once per channel and last, also after `on_connect_error` (which comes
//!    at most once, never after `on_connect`); after it, `cx.channel(id)` finds nothing, from
//!    callbacks and from outside, and the id is not reused while the check still knows it;
//! 3. callbacks never nest, commands on any channel (closed ones too) never panic, from
//!    callbacks, engine timers and outside;
//! 4. a deliberate panic in a callback gives its channel `on_error` ([`Error::Panic`]) and then
//!    `on_close`, nothing in between; no other panic is ever reported;
//!
//! and also: the engine's own trace lists the same callbacks, in the same order; a delimiter
//! is refused exactly when it is invalid; timers fire neither early nor after they ended or
//! were cancelled; no panic escapes the engine; [`Network::run`] always comes to rest (it
//! panics after 10 000 turns otherwise). At the end, with the faults lifted and time to
//! settle, what each peer got back from an echo connection is a prefix of what it sent (all
//! of it unless the connection was closed, paused or overflowed), the control echo pair that
//! no op touches still echoes, and after `stop()` the engine finishes with every channel closed
//! exactly once.
//!
//! # Input format
//!
//! One decision after another (see [`crate::input`]); 0 is always the calm choice.
//!
//! 1. [`knobs`]: the engine's settings and the datagram seed.
//! 2. [`op`]s until the input ends (at most [`MAX_OPS`]). Scripts are ops too: each
//!    `Op::Script` adds one script to the pool; each callback of a scripted channel (and each
//!    run of an engine timer) takes the oldest script left, if any, and runs it.
//! 3. At the end: a run, the faults lifted, 3 s of time (more after `EMFILE`s), the echo and
//!    control checks, then `stop()` and 30 s more.
//!
//! The setup, before the first op: the control echo pair (at `127.0.0.1:99`), a server of
//! scripted connections at `ADDRS[0]`, an echo server at `ADDRS[1]`, a datagram channel at
//! `ADDRS[4]`, one scripted datagram peer, and a run (their `on_listen`s take no script).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use bytes::Bytes;
use pants_core::testing::{DatagramFaults, Network, Peer};
use pants_core::{
    Addr, ChannelId, ChannelMut, ConnectError, Context, DatagramConfig, DelimiterError,
    EngineConfig, EngineContext, Error, Frame, FrameSize, Handler, Idle, LengthPrefix, Listen,
    OverflowError, OverflowPolicy, ReadDelimiter, ReadLimits, StreamConfig, TimerId, WriteLimits,
};

use crate::input::Input;
use crate::stream::panic_message;

/// Most ops in one case (scripts included).
pub const MAX_OPS: usize = 256;
/// Most bytes scripted peers send in one case.
pub const MAX_SENT: usize = 16 * 1024;
/// Most scripted stream peers in one case.
pub const MAX_PEERS: usize = 100;

/// Where channels listen, bind and connect; the last two resolve to the second and to nothing.
pub const ADDRS: [&str; 8] = [
    "127.0.0.1:1",
    "127.0.0.1:2",
    "127.0.0.1:3",
    "127.0.0.1:4",
    "127.0.0.1:5",
    "unix:/pants/fuzz.sock",
    "localhost:2",
    "nowhere.invalid:80",
];

/// The address of the control echo pair, which no command and no op touches.
const CONTROL: &str = "127.0.0.1:99";

/// The text of every deliberate panic: the quiet panic hook and the checks know it by this.
pub const DELIBERATE: &str = "deliberate panic";

fn addr(i: u8) -> Addr {
    ADDRS[usize::from(i) % ADDRS.len()]
        .parse()
        .expect("a valid address")
}

/// The index of the listening address a connect to `ADDRS[i]` reaches.
fn canonical(i: u8) -> Option<usize> {
    match usize::from(i) % ADDRS.len() {
        6 => Some(1),
        7 => None,
        i => Some(i),
    }
}

// ---- The case --------------------------------------------------------------------------------

/// A read delimiter to set, valid or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delim {
    /// No delimiter.
    None,
    /// A byte string; empty is invalid.
    Bytes(Vec<u8>),
    /// A count; zero is invalid.
    Count(usize),
    /// A length-prefix field of this many bytes; 3 is invalid.
    Prefix(usize),
    /// The handler's kept delimiter, by reference.
    KeptRef,
    /// The handler's kept delimiter, by value.
    KeptValue,
    /// A regex; `a*` matches the empty string: invalid (a byte string without the feature).
    Regex(&'static str),
    /// A custom delimiter: frames end with their first `;`, which they include.
    Custom,
}

impl Delim {
    fn valid(&self) -> bool {
        match self {
            Delim::Bytes(b) => !b.is_empty(),
            Delim::Count(n) => *n > 0,
            Delim::Prefix(n) => matches!(n, 1 | 2 | 4 | 8),
            Delim::Regex(pattern) => *pattern != "a*",
            _ => true,
        }
    }

    fn set(&self, ch: &mut ChannelMut<'_>, kept: &ReadDelimiter) -> Result<(), DelimiterError> {
        match self {
            Delim::None => ch.set_read_delimiter(ReadDelimiter::none()),
            Delim::Bytes(b) => ch.set_read_delimiter(&b[..]),
            Delim::Count(n) => ch.set_read_delimiter(*n),
            Delim::Prefix(n) => ch.set_read_delimiter(LengthPrefix::new(*n)),
            Delim::KeptRef => ch.set_read_delimiter(kept),
            Delim::KeptValue => ch.set_read_delimiter(kept.clone()),
            // It is never asked about zero bytes: it would panic, and the check with it.
            Delim::Custom => ch.set_read_delimiter(ReadDelimiter::custom(|bytes: &[u8]| {
                assert!(
                    !bytes.is_empty(),
                    "a custom delimiter asked about zero bytes"
                );
                match bytes.iter().position(|&b| b == b';') {
                    Some(at) => FrameSize::Known(at + 1),
                    None => FrameSize::Unknown,
                }
            })),
            #[cfg(feature = "regex")]
            Delim::Regex(pattern) => ch.set_read_delimiter(ReadDelimiter::regex(pattern)?),
            #[cfg(not(feature = "regex"))]
            Delim::Regex(pattern) => match *pattern {
                "a*" => ch.set_read_delimiter(&b""[..]),
                _ => ch.set_read_delimiter(&b";"[..]),
            },
        }
    }
}

/// An engine timer (Pants' `callback`, `defer`, `cycle`, `loop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ETimer {
    /// Next turn.
    Callback,
    /// Once, after this many ms.
    Defer(u16),
    /// Every this many ms.
    Cycle(u16),
    /// Every turn.
    EachTurn,
}

/// One command of a handler's script. `u8` targets pick, modulo their count, among every
/// channel ever opened (closed ones included), every timer ever set, or [`ADDRS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    /// Write this many bytes to this channel.
    Write(u8),
    /// Write to another channel: (target, length).
    WriteOther(u8, u8),
    /// `write_to` on another channel: (target, destination, length).
    SendTo(u8, u8, u8),
    /// Broadcast to a server's connections: (server, length).
    Broadcast(u8, u8),
    /// `close` this channel.
    Close,
    /// `close_now` this channel.
    CloseNow,
    /// `close` another.
    CloseOther(u8),
    /// `close_now` another.
    CloseNowOther(u8),
    /// Set this channel's delimiter.
    Delim(Delim),
    /// Set another's delimiter.
    DelimOther(u8, Delim),
    /// Pause reading this channel.
    Pause,
    /// Resume reading this channel.
    Resume,
    /// Pause another.
    PauseOther(u8),
    /// Resume another.
    ResumeOther(u8),
    /// Read and write limits (small or default) and the overflow policy (discard or close) of
    /// another stream; echo streams are left alone.
    Tune(u8, bool, bool),
    /// A channel timer after this many ms.
    TimerAfter(u16),
    /// A channel timer every this many ms, cancelled by the handler after so many runs.
    TimerEvery(u16, u8),
    /// Cancel any timer ever set (twice: idempotent).
    Cancel(u8),
    /// Cancel the timer being handled, from inside `on_timer`.
    CancelThis,
    /// An engine timer; repeating ones cancel themselves after so many runs.
    EngineTimer(ETimer, u8),
    /// Connect a scripted client.
    Connect(u8),
    /// Listen with scripted connections.
    Listen(u8),
    /// Bind a scripted datagram channel.
    Bind(u8),
    /// A deliberate panic.
    Panic,
    /// `cx.stop()`: the engine shuts down gracefully in the middle of the case.
    Stop,
}

/// One step of the network side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `Network::run`.
    Run,
    /// `Network::turn`.
    Turn,
    /// `Network::advance` by this many ms.
    Advance(u64),
    /// A script for the pool.
    Script(Vec<Cmd>),
    /// A scripted peer connects to an address (refused ones are fine) and sends its identity.
    PeerConnect(u8),
    /// A peer sends bytes.
    Send(u8, Vec<u8>),
    /// A peer shuts down its write side.
    Shutdown(u8),
    /// A peer resets its connection.
    Reset(u8),
    /// A peer closes.
    ClosePeer(u8),
    /// An engine client connects from outside any callback.
    Connect(u8),
    /// A server from outside: echo (`true`) or scripted connections.
    Listen(u8, bool),
    /// A datagram channel from outside.
    Bind(u8),
    /// One more scripted datagram peer.
    PeerBind,
    /// A datagram from a scripted datagram peer: (peer, destination, data).
    SendTo(u8, u8, Vec<u8>),
    /// A command from outside any callback, through the engine's context.
    Outside(Cmd),
    /// Reads return at most this many bytes (0: the default).
    ReadChunk(usize),
    /// Writes take at most this many bytes (0: unlimited).
    WriteChunk(usize),
    /// Sockets buffer at most this many bytes (0: the default).
    Window(usize),
    /// Latency in ms.
    Latency(u64),
    /// Accepts fail with `EMFILE` while this many sockets are open.
    FdLimit(Option<usize>),
    /// Accept errors: `true` for `EMFILE` (backoff), `false` for a per-connection error.
    FailAccepts(Vec<bool>),
    /// Datagram loss, duplication and reordering, each with probability `n / 10`.
    Faults(u8),
}

/// The settings of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Knobs {
    /// Connections a server accepts in one turn.
    pub accept_budget: usize,
    /// Bytes a channel reads in one turn.
    pub read_budget: usize,
    /// How long a closing stream waits for its peer's EOF.
    pub linger: Duration,
    /// The streams' idle timeout.
    pub idle: Option<Duration>,
    /// Streams stay open for writing after the peer's EOF.
    pub half_open: bool,
    /// Small read and write limits (overflows happen), else the defaults.
    pub small_limits: bool,
    /// The `Discard` overflow policy, else `Close`.
    pub discard: bool,
    /// The seed of the datagram faults.
    pub seed: u64,
}

/// A whole case: settings and ops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The settings.
    pub knobs: Knobs,
    /// The ops, in order.
    pub ops: Vec<Op>,
}

// ---- Decoding --------------------------------------------------------------------------------

/// Decodes a case.
pub fn case(input: &mut Input<'_>) -> Case {
    let knobs = knobs(input);
    let mut ops = Vec::new();
    while !input.is_empty() && ops.len() < MAX_OPS {
        ops.push(op(input));
    }
    Case { knobs, ops }
}

/// The settings, in this order:
///
/// 1. accept budget: `below(3)`: 128, 1, 2;
/// 2. read budget: `below(3)`: 256 KiB, 1, 64;
/// 3. linger: `below(2)`: 100 ms, the default 5 s;
/// 4. idle timeout: `below(3)`: none, 50 ms, 1 s;
/// 5. three flags: half-open, small limits (read 8 / hard 64, write high water 32 / limit 128),
///    the `Discard` overflow policy;
/// 6. the datagram seed: a byte.
pub fn knobs(input: &mut Input<'_>) -> Knobs {
    Knobs {
        accept_budget: [128, 1, 2][input.below(3)],
        read_budget: [256 * 1024, 1, 64][input.below(3)],
        linger: [Duration::from_millis(100), StreamConfig::DEFAULT_LINGER][input.below(2)],
        idle: [
            None,
            Some(Duration::from_millis(50)),
            Some(Duration::from_secs(1)),
        ][input.below(3)],
        half_open: input.flag(),
        small_limits: input.flag(),
        discard: input.flag(),
        seed: u64::from(input.byte()),
    }
}

/// An op, `below(22)`; `t` is a byte (a peer, channel or address index), `a` an address byte:
///
/// - 0: run; 1: one turn; 2: advance `below(256)` ms times (`below(3)`) 1, 10 or 100 (first
///   the scale, then the count);
/// - 3: a script: `below(5)` [`cmd`]s;
/// - 4: a peer connects to `a`; 5: peer `t` sends [`data`]; 6, 7, 8: peer `t` shuts down,
///   resets, closes;
/// - 9: connect a client to `a`; 10: listen at `a`, then a flag: echo connections;
///   11: bind at `a`; 12: a new datagram peer; 13: datagram peer `t`, destination `t`,
///   [`data`];
/// - 14: a [`cmd`] from outside;
/// - 15: read chunk `below(9)` (0: default); 16: write chunk `below(9)` (0: unlimited);
///   17: window `below(17)` (0: default); 18: latency `below(61)` ms; 19: descriptor limit
///   `below(12)` (0: none, else `1 + n`); 20: `1 + below(3)` accept errors, each a flag
///   (`EMFILE` when set); 21: datagram faults `below(5)` tenths.
pub fn op(input: &mut Input<'_>) -> Op {
    match input.below(22) {
        0 => Op::Run,
        1 => Op::Turn,
        2 => {
            let scale = [1, 10, 100][input.below(3)];
            Op::Advance(scale * input.below(256) as u64)
        }
        3 => Op::Script((0..input.below(5)).map(|_| cmd(input)).collect()),
        4 => Op::PeerConnect(input.byte()),
        5 => Op::Send(input.byte(), data(input)),
        6 => Op::Shutdown(input.byte()),
        7 => Op::Reset(input.byte()),
        8 => Op::ClosePeer(input.byte()),
        9 => Op::Connect(input.byte()),
        10 => Op::Listen(input.byte(), input.flag()),
        11 => Op::Bind(input.byte()),
        12 => Op::PeerBind,
        13 => Op::SendTo(input.byte(), input.byte(), data(input)),
        14 => Op::Outside(cmd(input)),
        15 => Op::ReadChunk(input.below(9)),
        16 => Op::WriteChunk(input.below(9)),
        17 => Op::Window(input.below(17)),
        18 => Op::Latency(input.below(61) as u64),
        19 => Op::FdLimit(match input.below(12) {
            0 => None,
            n => Some(n + 1),
        }),
        20 => Op::FailAccepts((0..1 + input.below(3)).map(|_| input.flag()).collect()),
        _ => Op::Faults(input.below(5) as u8),
    }
}

/// Bytes a peer sends: `1 + below(40)` raw bytes, each masked below 0x80 (handlers write bytes
/// from 0x80 up, so echoes can be told apart).
pub fn data(input: &mut Input<'_>) -> Vec<u8> {
    let len = 1 + input.below(40);
    input.take(len).iter().map(|b| b & 0x7f).collect()
}

/// A command, `below(25)`; `t` is a byte (channel, timer or address index), `n` a length
/// `1 + below(40)`, `ms` a `below(256)`:
///
/// - 0: write `n`; 1: write `n` to `t`; 2: `write_to` on `t`, destination `t`, `n`;
///   3: broadcast `n` to server `t`;
/// - 4: close; 5: close now; 6: close `t`; 7: close `t` now;
/// - 8: a [`delim`]; 9: on `t`, a [`delim`];
/// - 10: pause; 11: resume; 12: pause `t`; 13: resume `t`;
/// - 14: tune `t`: two flags, small limits and discard;
/// - 15: a channel timer after `ms`; 16: every `ms`, `1 + below(4)` runs; 17: cancel timer
///   `t`; 18: cancel the timer being handled; 19: an engine timer, `below(4)`: callback,
///   defer `ms`, cycle `ms`, each turn; then `1 + below(4)` runs;
/// - 20, 21, 22: connect, listen, bind at address `t`;
/// - 23: a deliberate panic; 24: `stop()`.
pub fn cmd(input: &mut Input<'_>) -> Cmd {
    let len = |input: &mut Input<'_>| 1 + input.below(40) as u8;
    let ms = |input: &mut Input<'_>| input.below(256) as u16;
    match input.below(25) {
        0 => Cmd::Write(len(input)),
        1 => Cmd::WriteOther(input.byte(), len(input)),
        2 => Cmd::SendTo(input.byte(), input.byte(), len(input)),
        3 => Cmd::Broadcast(input.byte(), len(input)),
        4 => Cmd::Close,
        5 => Cmd::CloseNow,
        6 => Cmd::CloseOther(input.byte()),
        7 => Cmd::CloseNowOther(input.byte()),
        8 => Cmd::Delim(delim(input)),
        9 => Cmd::DelimOther(input.byte(), delim(input)),
        10 => Cmd::Pause,
        11 => Cmd::Resume,
        12 => Cmd::PauseOther(input.byte()),
        13 => Cmd::ResumeOther(input.byte()),
        14 => Cmd::Tune(input.byte(), input.flag(), input.flag()),
        15 => Cmd::TimerAfter(ms(input)),
        16 => Cmd::TimerEvery(ms(input), 1 + input.below(4) as u8),
        17 => Cmd::Cancel(input.byte()),
        18 => Cmd::CancelThis,
        19 => {
            let kind = match input.below(4) {
                0 => ETimer::Callback,
                1 => ETimer::Defer(ms(input)),
                2 => ETimer::Cycle(ms(input)),
                _ => ETimer::EachTurn,
            };
            Cmd::EngineTimer(kind, 1 + input.below(4) as u8)
        }
        20 => Cmd::Connect(input.byte()),
        21 => Cmd::Listen(input.byte()),
        22 => Cmd::Bind(input.byte()),
        23 => Cmd::Panic,
        _ => Cmd::Stop,
    }
}

/// A delimiter, `below(9)`: 0, none; 1, `below(3)` bytes each of `;,\n` by `below(3)` (none:
/// invalid); 2, count `below(6)`; 3, length prefix of `[1, 2, 3, 4, 8][below(5)]` bytes;
/// 4, 5, the kept delimiter by reference, by value; 6, the regex `[;,]` or (flag) `a*`;
/// 7, `\n`; 8 (added last), [`Delim::Custom`].
pub fn delim(input: &mut Input<'_>) -> Delim {
    match input.below(9) {
        0 => Delim::None,
        1 => Delim::Bytes(
            (0..input.below(3))
                .map(|_| b";,\n"[input.below(3)])
                .collect(),
        ),
        2 => Delim::Count(input.below(6)),
        3 => Delim::Prefix([1, 2, 3, 4, 8][input.below(5)]),
        4 => Delim::KeptRef,
        5 => Delim::KeptValue,
        6 => Delim::Regex(if input.flag() { "a*" } else { "[;,]" }),
        8 => Delim::Custom,
        _ => Delim::Bytes(b"\n".to_vec()),
    }
}

// ---- The shared record -----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Client,
    Accepted,
    Server,
    Datagram,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Runs scripts from the pool.
    Scripted,
    /// Writes back every frame (an accepted stream of an echo server).
    Echo,
    /// Does nothing but record (the control server).
    Passive,
}

/// One entry of the log: a callback that ran, or the mark a handler left before a deliberate
/// panic.
#[derive(Debug, Clone)]
struct Rec {
    ch: ChannelId,
    role: Role,
    cb: &'static str,
    /// `on_accept`: the connection.
    conn: Option<ChannelId>,
    /// `on_error`: `Some(true)` for a deliberate panic, `Some(false)` for any other panic.
    panic: Option<bool>,
    /// `on_error`: bytes queued and never sent (the channel closes next).
    unsent: bool,
    /// Another callback was running when this one started.
    nested: bool,
}

/// The mark a handler logs just before a deliberate panic.
const PANIC_MARK: &str = "PANIC";

#[derive(Debug, Clone, Copy)]
enum TKind {
    Once(Duration),
    Every(Duration),
    Engine(ETimer),
}

#[derive(Debug)]
struct TimerRec {
    id: TimerId,
    owner: Option<ChannelId>,
    kind: TKind,
    created: Instant,
    runs: u32,
    limit: u32,
    /// Fired for the last time, cancelled, or panicked: it must never run again.
    ended: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Expect {
    #[default]
    Any,
    /// A deliberate panic: `on_error` with it comes next.
    Error,
    /// After a panic's `on_error` or after `on_connect_error`: `on_close` comes next.
    Close,
}

#[derive(Debug, Default)]
struct ChState {
    seen: bool,
    connected: bool,
    listened: bool,
    connect_error: bool,
    closes: u32,
    expect: Expect,
    /// The latest callback, and its panic flag.
    last: Option<(&'static str, Option<bool>)>,
}

#[derive(Debug)]
struct PeerInfo {
    peer: Peer,
    ident: u8,
    echo: bool,
    sent: Vec<u8>,
    received: Vec<u8>,
    /// Closed or reset by the test: its socket may be reused, never touch it again.
    gone: bool,
    shut: bool,
    /// A send failed: the engine's side is gone.
    dead: bool,
}

#[derive(Default)]
struct World {
    log: Vec<Rec>,
    checked: usize,
    states: BTreeMap<ChannelId, ChState>,
    /// Every channel but the control pair, in order of appearance: what commands target.
    targets: Vec<ChannelId>,
    /// Every channel, the control pair included, with its role.
    every: BTreeMap<ChannelId, Role>,
    /// Echo connections (not the control one).
    echo: BTreeSet<ChannelId>,
    /// Channels whose `on_close` ran.
    closed: BTreeSet<ChannelId>,
    /// Connections whose `on_connect` ran (to order `on_accept` before it).
    connect_seen: BTreeSet<ChannelId>,
    pool: VecDeque<Vec<Cmd>>,
    violations: Vec<String>,
    timers: Vec<TimerRec>,
    timer_index: BTreeMap<TimerId, usize>,
    /// Echo connections by the identity byte their peer sent first.
    echo_map: BTreeMap<u8, ChannelId>,
    /// Echo connections that received anything.
    echo_read: BTreeSet<ChannelId>,
    /// Channels paused by another channel's command (and not resumed since).
    paused: BTreeSet<ChannelId>,
    /// Channels that another channel closed.
    forced: BTreeSet<ChannelId>,
    /// Channels that got `on_overflow_error`.
    overflowed: BTreeSet<ChannelId>,
    /// The latest server to listen at each canonical address, and whether it echoes.
    listening: BTreeMap<usize, (ChannelId, bool)>,
    /// Addresses datagrams may be sent to: everything known.
    dgram_addrs: Vec<Addr>,
    /// The addresses of datagram channels (closed ones too), which most datagrams go to.
    dgram_channels: Vec<Addr>,
    seq: u8,
    stopping: bool,
}

impl World {
    fn violation(&mut self, text: String) {
        if self.violations.len() < 20 {
            self.violations.push(text);
        }
    }

    /// Registers a channel the moment its id is known.
    fn register(&mut self, id: ChannelId, role: Role, control: bool) {
        if self.every.contains_key(&id) {
            return;
        }
        if self.closed.contains(&id) {
            self.violation(format!("guarantee 2: {id:?} was reused after its on_close"));
        }
        self.every.insert(id, role);
        if !control {
            self.targets.push(id);
        }
    }

    fn target(&self, i: u8) -> Option<ChannelId> {
        (!self.targets.is_empty()).then(|| self.targets[usize::from(i) % self.targets.len()])
    }

    /// A datagram destination: mostly a datagram channel, else anything known.
    fn dgram_dest(&self, to: u8) -> Addr {
        let channels = &self.dgram_channels;
        if to < 160 && !channels.is_empty() {
            channels[usize::from(to) % channels.len()].clone()
        } else {
            self.dgram_addrs[usize::from(to) % self.dgram_addrs.len()].clone()
        }
    }

    fn payload(&mut self, len: u8) -> Bytes {
        self.seq = self.seq.wrapping_add(1);
        // Handlers write bytes >= 0x80; peers send bytes < 0x80, so echoes can be told apart.
        Bytes::from(vec![0x80 | (self.seq & 0x7f); usize::from(len)])
    }

    /// Checks the log entries added since the last call.
    fn validate(&mut self) {
        while self.checked < self.log.len() {
            let rec = self.log[self.checked].clone();
            self.checked += 1;
            self.check(&rec);
        }
    }

    fn check(&mut self, rec: &Rec) {
        let mut errors = Vec::new();
        let ch = rec.ch;
        if rec.cb == PANIC_MARK {
            let st = self.states.entry(ch).or_default();
            // A panic in the `on_error` that reports a panic is swallowed, and one in
            // `on_close` ends nothing more: no callback may follow either.
            if st.last != Some(("on_error", Some(true))) && st.closes == 0 {
                st.expect = Expect::Error;
            }
            return;
        }
        if rec.nested {
            errors.push(format!(
                "guarantee 3: {} of {ch:?} ran inside another callback",
                rec.cb
            ));
        }
        if rec.cb == "on_error" && rec.panic == Some(false) {
            errors.push(format!(
                "guarantee 4: {ch:?} got on_error for a panic that was not deliberate"
            ));
        }
        if let Some(conn) = rec.conn {
            if self.states.get(&conn).is_some_and(|s| s.closes > 0) {
                errors.push(format!(
                    "guarantee 2: on_accept of {ch:?} names {conn:?} after its on_close"
                ));
            } else if self.connect_seen.contains(&conn) {
                errors.push(format!(
                    "on_accept of {ch:?} comes after {conn:?}'s on_connect (handler docs: \
                     on_connect follows on_accept)"
                ));
            }
        }
        let st = self.states.entry(ch).or_default();
        if st.closes > 0 {
            errors.push(format!(
                "guarantee 2: {} of {ch:?} after its on_close",
                rec.cb
            ));
        }
        match st.expect {
            Expect::Error if rec.cb != "on_error" || rec.panic != Some(true) => {
                errors.push(format!(
                    "guarantee 4: {ch:?} panicked, then got {} instead of on_error",
                    rec.cb
                ))
            }
            Expect::Close if rec.cb != "on_close" => errors.push(format!(
                "guarantees 2/4: {ch:?} must get on_close next, got {}",
                rec.cb
            )),
            _ => {}
        }
        st.expect = match (st.expect, rec.cb) {
            (Expect::Error, "on_error") => Expect::Close,
            // A close that dropped queued bytes says so, then closes.
            (_, "on_error") if rec.unsent => Expect::Close,
            (_, "on_connect_error") => Expect::Close,
            (_, "on_close") => Expect::Any,
            (expect, _) => expect,
        };
        st.last = Some((rec.cb, rec.panic));
        let stream = matches!(rec.role, Role::Client | Role::Accepted);
        if !st.seen {
            st.seen = true;
            let first_ok = match rec.role {
                Role::Accepted => rec.cb == "on_connect",
                // A close while connecting that gave up reports the bytes it did not send.
                Role::Client => {
                    matches!(rec.cb, "on_connect" | "on_connect_error" | "on_close")
                        || (rec.cb == "on_error" && rec.unsent)
                }
                Role::Server | Role::Datagram => rec.cb == "on_listen",
            };
            if !first_ok {
                errors.push(format!(
                    "guarantee 1: the first callback of {:?} {ch:?} is {}",
                    rec.role, rec.cb
                ));
            }
        }
        match rec.cb {
            "on_read" if stream && !st.connected => {
                errors.push(format!("guarantee 1: on_read of {ch:?} before on_connect"))
            }
            "on_read" if !stream && !st.listened => {
                errors.push(format!("guarantee 1: on_read of {ch:?} before on_listen"))
            }
            "on_connect" => {
                if !stream || st.connected || st.connect_error {
                    errors.push(format!(
                        "on_connect of {:?} {ch:?} again or after on_connect_error",
                        rec.role
                    ));
                }
                st.connected = true;
            }
            "on_connect_error" => {
                if rec.role != Role::Client || st.connected || st.connect_error {
                    errors.push(format!("unexpected on_connect_error of {ch:?}"));
                }
                st.connect_error = true;
            }
            "on_listen" => {
                if stream || st.listened {
                    errors.push(format!("unexpected on_listen of {ch:?}"));
                }
                st.listened = true;
            }
            "on_close" => st.closes += 1,
            _ => {}
        }
        if rec.cb == "on_connect" {
            self.connect_seen.insert(ch);
        }
        for error in errors {
            self.violation(format!("{error} (log entry {})", self.checked - 1));
        }
    }
}

/// The world and the callback depth (a `Cell`, so that unwinding can always decrement it).
struct Lab {
    world: RefCell<World>,
    depth: Cell<usize>,
}

type Shared = Rc<Lab>;

/// Counts a callback in, and out even when it panics.
struct Depth(Shared);

impl Depth {
    fn enter(lab: &Shared) -> (Self, bool) {
        let nested = lab.depth.get() > 0;
        lab.depth.set(lab.depth.get() + 1);
        (Depth(lab.clone()), nested)
    }
}

impl Drop for Depth {
    fn drop(&mut self) {
        self.0.depth.set(self.0.depth.get() - 1);
    }
}

// ---- The handler -----------------------------------------------------------------------------

/// What the callback was given, beyond the context.
enum Ev<'a> {
    None,
    Read(Bytes),
    Accept(ChannelId),
    Error(&'a Error),
    Timer(TimerId),
}

/// Every channel's handler: records its callbacks, echoes or runs scripts from the pool.
struct Probe {
    lab: Shared,
    role: Role,
    mode: Mode,
    control: bool,
    /// The delimiter [`Delim::KeptRef`] and [`Delim::KeptValue`] set, by the number of targets
    /// when the handler was made: `;`, a count of 3, a 1-byte length prefix, `;` after 2
    /// bytes, `;\n` after 3.
    kept: ReadDelimiter,
}

impl Probe {
    fn new(lab: &Shared, role: Role, mode: Mode) -> Self {
        let n = lab.world.borrow().targets.len();
        let kept = match n % 5 {
            0 => ReadDelimiter::bytes(b";"),
            1 => ReadDelimiter::count(3),
            2 => ReadDelimiter::length_prefix(LengthPrefix::new(1)),
            // Searched for after a count: frames read in place find it past their first bytes
            // when those end with it, and are those bytes alone when not.
            3 => ReadDelimiter::byte(b';').after(2),
            _ => ReadDelimiter::bytes(b";\n").and_then(|d| d.after(3)),
        }
        .expect("a valid delimiter");
        Self {
            lab: lab.clone(),
            role,
            mode,
            control: false,
            kept,
        }
    }

    fn control(mut self) -> Self {
        self.control = true;
        self
    }

    fn run(&mut self, cx: &mut Context<'_>, cb: &'static str, ev: Ev<'_>) {
        let (_depth, nested) = Depth::enter(&self.lab);
        let id = cx.id();
        let closed: Vec<ChannelId> = {
            let mut world = self.lab.world.borrow_mut();
            world.register(id, self.role, self.control);
            if self.mode == Mode::Echo && !self.control {
                world.echo.insert(id);
            }
            let (conn, panic) = match &ev {
                Ev::Accept(conn) => (Some(*conn), None),
                Ev::Error(Error::Panic(text)) => (None, Some(text.contains(DELIBERATE))),
                _ => (None, None),
            };
            world.log.push(Rec {
                ch: id,
                role: self.role,
                cb,
                conn,
                panic,
                unsent: matches!(ev, Ev::Error(Error::Unsent(_))),
                nested,
            });
            match cb {
                "on_close" => {
                    world.closed.insert(id);
                }
                "on_overflow_error" => {
                    world.overflowed.insert(id);
                }
                _ => {}
            }
            world.closed.iter().copied().filter(|c| *c != id).collect()
        };
        for old in closed {
            if cx.channel(old).is_some() {
                self.lab.world.borrow_mut().violation(format!(
                    "guarantee 2: cx.channel({old:?}) is Some after its on_close"
                ));
            }
        }
        let mut timer = None;
        match ev {
            Ev::Timer(t) => {
                timer = Some(t);
                self.tick(cx, t);
            }
            Ev::Read(frame) if self.mode == Mode::Echo => {
                let mut world = self.lab.world.borrow_mut();
                if !self.control
                    && world.echo_read.insert(id)
                    && frame.first().is_some_and(|b| *b < 0x80)
                {
                    world.echo_map.insert(frame[0], id);
                }
                drop(world);
                let _ = cx.write(frame);
            }
            _ => {}
        }
        if self.mode == Mode::Scripted {
            let script = self.lab.world.borrow_mut().pool.pop_front();
            for cmd in script.unwrap_or_default() {
                self.exec(cx, &cmd, cb, timer);
            }
        }
    }

    /// Bookkeeping of this channel's timer `t`, which just fired.
    fn tick(&mut self, cx: &mut Context<'_>, t: TimerId) {
        let id = cx.id();
        let now = cx.now();
        let mut world = self.lab.world.borrow_mut();
        let Some(&i) = world.timer_index.get(&t) else {
            world.violation(format!("on_timer of {id:?} with an unknown {t:?}"));
            return;
        };
        let rec = &mut world.timers[i];
        let mut errors = Vec::new();
        if rec.owner != Some(id) {
            errors.push(format!("on_timer of {id:?} with {t:?} of {:?}", rec.owner));
        }
        if rec.ended {
            errors.push(format!(
                "timer {t:?} of {id:?} fired after it ended or was cancelled"
            ));
        }
        rec.runs += 1;
        let due = match rec.kind {
            TKind::Once(delay) => {
                rec.ended = true;
                rec.created + delay
            }
            TKind::Every(interval) => rec.created + interval * rec.runs,
            TKind::Engine(_) => rec.created,
        };
        if now < due {
            errors.push(format!(
                "timer {t:?} fired early: {:?} before due",
                due - now
            ));
        }
        if matches!(rec.kind, TKind::Every(_)) && rec.runs >= rec.limit {
            rec.ended = true;
            drop(world);
            cx.cancel(t);
            cx.cancel(t);
            world = self.lab.world.borrow_mut();
        }
        for error in errors {
            world.violation(error);
        }
    }

    fn exec(&mut self, cx: &mut Context<'_>, cmd: &Cmd, cb: &'static str, timer: Option<TimerId>) {
        if let Cmd::Panic = cmd {
            self.lab.world.borrow_mut().log.push(Rec {
                ch: cx.id(),
                role: self.role,
                cb: PANIC_MARK,
                conn: None,
                panic: None,
                unsent: false,
                nested: false,
            });
            panic!("{DELIBERATE} in {cb}");
        }
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            self.exec_inner(cx, cmd, timer);
        }));
        if let Err(payload) = result {
            self.lab.world.borrow_mut().violation(format!(
                "guarantee 3: command {cmd:?} in {cb} panicked: {}",
                panic_message(&*payload)
            ));
        }
    }

    fn exec_inner(&mut self, cx: &mut Context<'_>, cmd: &Cmd, timer: Option<TimerId>) {
        let id = cx.id();
        match cmd {
            Cmd::Write(len) => {
                let data = self.lab.world.borrow_mut().payload(*len);
                // Both ways of queueing, the same bytes: odd lengths go as a copy.
                let _ = if len % 2 == 1 {
                    cx.write_slice(&data)
                } else {
                    cx.write(data)
                };
            }
            Cmd::Close | Cmd::CloseNow => {
                // A server closes its connections with it.
                let conns = cx.connections(cx.id());
                self.lab.world.borrow_mut().forced.extend(conns);
                match cmd {
                    Cmd::Close => cx.close(),
                    _ => cx.close_now(),
                }
            }
            Cmd::Delim(delim) => {
                let result = delim.set(&mut cx.this(), &self.kept);
                check_delimiter(&self.lab, id, delim, result);
            }
            Cmd::Pause | Cmd::Resume => {
                // A server's own pause stops its accepting (checked as another's pause is).
                if self.role == Role::Server {
                    let mut world = self.lab.world.borrow_mut();
                    match cmd {
                        Cmd::Pause => world.paused.insert(id),
                        _ => world.paused.remove(&id),
                    };
                }
                match cmd {
                    Cmd::Pause => cx.pause_reading(),
                    _ => cx.resume_reading(),
                }
            }
            Cmd::TimerAfter(ms) => {
                let delay = Duration::from_millis(u64::from(*ms));
                let t = cx.timer_after(delay);
                add_timer(&self.lab, t, Some(id), TKind::Once(delay), 1, cx.now());
            }
            Cmd::TimerEvery(ms, limit) => {
                let interval = Duration::from_millis(u64::from(*ms));
                let t = cx.timer_every(interval);
                let limit = u32::from(*limit).max(1);
                let now = cx.now();
                add_timer(&self.lab, t, Some(id), TKind::Every(interval), limit, now);
            }
            Cmd::CancelThis => {
                if let Some(t) = timer {
                    cx.cancel(t);
                    end_timer(&self.lab, t);
                }
            }
            other => shared_cmd(&self.lab, cx, other, &self.kept),
        }
    }
}

fn check_delimiter(lab: &Shared, id: ChannelId, delim: &Delim, result: Result<(), DelimiterError>) {
    if delim.valid() != result.is_ok() {
        lab.world.borrow_mut().violation(format!(
            "set_read_delimiter({delim:?}) on {id:?} gave {result:?}"
        ));
    }
}

fn add_timer(
    lab: &Shared,
    id: TimerId,
    owner: Option<ChannelId>,
    kind: TKind,
    limit: u32,
    now: Instant,
) {
    let mut world = lab.world.borrow_mut();
    let i = world.timers.len();
    world.timers.push(TimerRec {
        id,
        owner,
        kind,
        created: now,
        runs: 0,
        limit,
        ended: false,
    });
    world.timer_index.insert(id, i);
}

fn end_timer(lab: &Shared, id: TimerId) {
    let mut world = lab.world.borrow_mut();
    if let Some(&i) = world.timer_index.get(&id) {
        world.timers[i].ended = true;
    }
}

/// Commands that need no channel of their own: they run in callbacks, in engine timers and
/// from outside.
fn shared_cmd(lab: &Shared, cx: &mut EngineContext<'_>, cmd: &Cmd, kept: &ReadDelimiter) {
    let target = |i: &u8| lab.world.borrow().target(*i);
    match cmd {
        Cmd::WriteOther(t, len) => {
            if let Some(t) = target(t) {
                let data = lab.world.borrow_mut().payload(*len);
                if let Some(mut ch) = cx.channel(t) {
                    let _ = ch.write(data);
                }
            }
        }
        Cmd::SendTo(t, to, len) => {
            if let Some(t) = target(t) {
                let (data, to) = {
                    let mut world = lab.world.borrow_mut();
                    (world.payload(*len), world.dgram_dest(*to))
                };
                if let Some(mut ch) = cx.channel(t) {
                    let _ = ch.write_to(data, to);
                }
            }
        }
        Cmd::Broadcast(t, len) => {
            if let Some(t) = target(t) {
                let data = lab.world.borrow_mut().payload(*len);
                let conns = cx.connections(t);
                let stale: Vec<ChannelId> = {
                    let world = lab.world.borrow();
                    conns
                        .iter()
                        .copied()
                        .filter(|c| world.closed.contains(c))
                        .collect()
                };
                if !stale.is_empty() {
                    let text = format!("connections({t:?}) lists closed {stale:?}");
                    lab.world.borrow_mut().violation(text);
                }
                cx.broadcast(t, data);
            }
        }
        Cmd::CloseOther(t) | Cmd::CloseNowOther(t) => {
            if let Some(t) = target(t) {
                // A server closes its connections with it.
                let conns = cx.connections(t);
                let mut world = lab.world.borrow_mut();
                world.forced.insert(t);
                world.forced.extend(conns);
                drop(world);
                if let Some(mut ch) = cx.channel(t) {
                    match cmd {
                        Cmd::CloseOther(_) => ch.close(),
                        _ => ch.close_now(),
                    }
                }
            }
        }
        Cmd::DelimOther(t, delim) => {
            if let Some(t) = target(t) {
                if lab.world.borrow().echo.contains(&t) {
                    return; // echo streams echo frames as they arrived
                }
                if let Some(mut ch) = cx.channel(t) {
                    let result = delim.set(&mut ch, kept);
                    check_delimiter(lab, t, delim, result);
                }
            }
        }
        Cmd::PauseOther(t) | Cmd::ResumeOther(t) => {
            if let Some(t) = target(t) {
                let pause = matches!(cmd, Cmd::PauseOther(_));
                {
                    let mut world = lab.world.borrow_mut();
                    if pause {
                        world.paused.insert(t);
                    } else {
                        world.paused.remove(&t);
                    }
                }
                if let Some(mut ch) = cx.channel(t) {
                    if pause {
                        ch.pause_reading();
                    } else {
                        ch.resume_reading();
                    }
                }
            }
        }
        Cmd::Tune(t, small, discard) => {
            if let Some(t) = target(t) {
                if lab.world.borrow().echo.contains(&t) {
                    return; // their overflows would cut gaps into the echo
                }
                let (read, write) = limits(*small);
                let policy = if *discard {
                    OverflowPolicy::Discard
                } else {
                    OverflowPolicy::Close
                };
                if let Some(mut ch) = cx.channel(t) {
                    // Counts of at most 5 and length fields of at most 8 bytes fit either.
                    if let Err(err) = ch.set_read_limits(read) {
                        let text = format!("set_read_limits({read:?}) on {t:?} failed: {err}");
                        lab.world.borrow_mut().violation(text);
                    }
                    ch.set_write_limits(write);
                    ch.set_overflow_policy(policy);
                }
            }
        }
        Cmd::Cancel(i) => {
            let id = {
                let world = lab.world.borrow();
                (!world.timers.is_empty())
                    .then(|| world.timers[usize::from(*i) % world.timers.len()].id)
            };
            if let Some(id) = id {
                cx.cancel(id);
                cx.cancel(id);
                end_timer(lab, id);
            }
        }
        Cmd::EngineTimer(kind, limit) => engine_timer(lab, cx, *kind, *limit),
        Cmd::Stop => {
            lab.world.borrow_mut().stopping = true;
            cx.stop();
        }
        Cmd::Connect(a) => connect(lab, cx, *a),
        Cmd::Listen(a) => {
            listen(lab, cx, *a, false);
        }
        Cmd::Bind(a) => bind(lab, cx, *a),
        // Commands on the handler's own channel: engine timers and the outside have none.
        Cmd::Write(_)
        | Cmd::Close
        | Cmd::CloseNow
        | Cmd::Delim(_)
        | Cmd::Pause
        | Cmd::Resume
        | Cmd::TimerAfter(_)
        | Cmd::TimerEvery(..)
        | Cmd::CancelThis
        | Cmd::Panic => {}
    }
}

/// Small read and write limits, or the defaults.
fn limits(small: bool) -> (ReadLimits, WriteLimits) {
    if small {
        (
            ReadLimits::new(8, 64).expect("limit <= hard limit"),
            WriteLimits::new(32, 128),
        )
    } else {
        (ReadLimits::default(), WriteLimits::default())
    }
}

fn connect(lab: &Shared, cx: &mut EngineContext<'_>, a: u8) {
    let handler = Probe::new(lab, Role::Client, Mode::Scripted);
    match cx.connect(addr(a), handler) {
        Ok(id) => lab.world.borrow_mut().register(id, Role::Client, false),
        Err(err) => lab
            .world
            .borrow_mut()
            .violation(format!("connect to {} failed at once: {err}", addr(a))),
    }
}

fn listen(lab: &Shared, cx: &mut EngineContext<'_>, a: u8, echo: bool) -> Option<ChannelId> {
    let shared = lab.clone();
    let mode = if echo { Mode::Echo } else { Mode::Scripted };
    let factory = move || Probe::new(&shared, Role::Accepted, mode);
    let listen =
        Listen::new(addr(a), factory).handler(Probe::new(lab, Role::Server, Mode::Scripted));
    let id = cx.listen_with(listen).ok()?;
    let mut world = lab.world.borrow_mut();
    world.register(id, Role::Server, false);
    if let Some(i) = canonical(a) {
        world.listening.insert(i, (id, echo));
    }
    Some(id)
}

fn bind(lab: &Shared, cx: &mut EngineContext<'_>, a: u8) {
    let handler = Probe::new(lab, Role::Datagram, Mode::Scripted);
    if let Ok(id) = cx.datagram(addr(a), handler) {
        let local = cx.channel(id).and_then(|ch| ch.local());
        let mut world = lab.world.borrow_mut();
        world.register(id, Role::Datagram, false);
        world.dgram_channels.extend(local);
    }
}

fn engine_timer(lab: &Shared, cx: &mut EngineContext<'_>, kind: ETimer, limit: u8) {
    let slot = lab.world.borrow().timers.len();
    let shared = lab.clone();
    let f = move |cx: &mut EngineContext<'_>, _| engine_tick(&shared, cx, slot);
    let id = match kind {
        ETimer::Callback => cx.callback(f),
        ETimer::Defer(ms) => cx.defer(Duration::from_millis(u64::from(ms)), f),
        ETimer::Cycle(ms) => cx.cycle(Duration::from_millis(u64::from(ms)), f),
        ETimer::EachTurn => cx.each_turn(f),
    };
    let limit = u32::from(limit).max(1);
    add_timer(lab, id, None, TKind::Engine(kind), limit, cx.now());
}

/// One run of an engine timer: checks, a script, and the self-cancel of repeating timers.
fn engine_tick(lab: &Shared, cx: &mut EngineContext<'_>, slot: usize) {
    let (_depth, nested) = Depth::enter(lab);
    let now = cx.now();
    let (id, kind, runs, limit) = {
        let mut world = lab.world.borrow_mut();
        let rec = &mut world.timers[slot];
        rec.runs += 1;
        let (id, kind, runs, limit, ended, created) = (
            rec.id,
            rec.kind,
            rec.runs,
            rec.limit,
            rec.ended,
            rec.created,
        );
        if matches!(kind, TKind::Engine(ETimer::Callback | ETimer::Defer(_))) {
            rec.ended = true;
        }
        if nested {
            world.violation(format!("engine timer {id:?} ran inside a callback"));
        }
        if ended {
            world.violation(format!(
                "engine timer {id:?} ran after it ended or was cancelled"
            ));
        }
        let due = match kind {
            TKind::Engine(ETimer::Defer(ms)) => created + Duration::from_millis(u64::from(ms)),
            TKind::Engine(ETimer::Cycle(ms)) => {
                created + Duration::from_millis(u64::from(ms)) * runs
            }
            _ => created,
        };
        if now < due {
            world.violation(format!("engine timer {id:?} ran early"));
        }
        (id, kind, runs, limit)
    };
    let script = lab.world.borrow_mut().pool.pop_front();
    let kept = ReadDelimiter::none();
    for cmd in script.unwrap_or_default() {
        // A panic here closes no channel: it only ends this timer.
        if let Cmd::Panic = cmd {
            end_timer(lab, id);
            panic!("{DELIBERATE} in an engine timer");
        }
        let result = panic::catch_unwind(AssertUnwindSafe(|| shared_cmd(lab, cx, &cmd, &kept)));
        if let Err(payload) = result {
            lab.world.borrow_mut().violation(format!(
                "guarantee 3: command {cmd:?} in an engine timer panicked: {}",
                panic_message(&*payload)
            ));
        }
    }
    let repeats = matches!(kind, TKind::Engine(ETimer::Cycle(_) | ETimer::EachTurn));
    if repeats && runs >= limit {
        cx.cancel(id);
        cx.cancel(id);
        end_timer(lab, id);
    }
}

impl Handler for Probe {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        self.run(cx, "on_connect", Ev::None);
    }

    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        self.run(cx, "on_read", Ev::Read(frame.into_bytes()));
    }

    fn on_write(&mut self, cx: &mut Context<'_>) {
        self.run(cx, "on_write", Ev::None);
    }

    fn on_listen(&mut self, cx: &mut Context<'_>) {
        self.run(cx, "on_listen", Ev::None);
    }

    fn on_accept(&mut self, cx: &mut Context<'_>, conn: ChannelId) {
        self.run(cx, "on_accept", Ev::Accept(conn));
    }

    fn on_close(&mut self, cx: &mut Context<'_>) {
        self.run(cx, "on_close", Ev::None);
    }

    fn on_connect_error(&mut self, cx: &mut Context<'_>, _: &ConnectError) {
        self.run(cx, "on_connect_error", Ev::None);
    }

    fn on_overflow_error(&mut self, cx: &mut Context<'_>, _: &OverflowError) {
        self.run(cx, "on_overflow_error", Ev::None);
    }

    fn on_error(&mut self, cx: &mut Context<'_>, err: &Error) {
        self.run(cx, "on_error", Ev::Error(err));
    }

    fn on_timer(&mut self, cx: &mut Context<'_>, timer: TimerId) {
        self.run(cx, "on_timer", Ev::Timer(timer));
    }

    fn on_eof(&mut self, cx: &mut Context<'_>) {
        self.run(cx, "on_eof", Ev::None);
    }

    fn on_idle(&mut self, cx: &mut Context<'_>, _: Idle) {
        self.run(cx, "on_idle", Ev::None);
    }
}

// ---- Quiet deliberate panics -----------------------------------------------------------------

/// Makes the panic hook silent about deliberate panics, once per process, and leaves every other
/// panic to the hook it found. Under libFuzzer that hook aborts the process (a crash): without
/// this filter a deliberate panic, which the engine catches, would abort it too.
pub fn quiet_deliberate_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !panic_message(info.payload()).contains(DELIBERATE) {
                previous(info);
            }
        }));
    });
}

// ---- The scenario ----------------------------------------------------------------------------

const DEFAULT_READ_CHUNK: usize = 64 * 1024;
const DEFAULT_WINDOW: usize = 4 * 1024 * 1024;

/// A network, its world and the test's scripted peers.
struct Scenario {
    net: Network,
    lab: Shared,
    peers: Vec<PeerInfo>,
    dpeers: Vec<Peer>,
    control: Peer,
    /// `EMFILE` accept errors queued so far: each may pause accepting for up to a second.
    emfiles: u32,
    discard: bool,
    sent: usize,
}

impl Scenario {
    fn new(knobs: &Knobs) -> Self {
        let (read_limits, write_limits) = limits(knobs.small_limits);
        let config = EngineConfig {
            stream: Arc::new(StreamConfig {
                linger: knobs.linger,
                idle_timeout: knobs.idle,
                half_open: knobs.half_open,
                read_limits,
                write_limits,
                overflow: if knobs.discard {
                    OverflowPolicy::Discard
                } else {
                    OverflowPolicy::Close
                },
                ..StreamConfig::default()
            }),
            datagram: Arc::new(DatagramConfig {
                read_limits,
                write_limits,
                ..DatagramConfig::default()
            }),
            read_budget: knobs.read_budget,
            accept_budget: knobs.accept_budget,
            trace: true,
            ..EngineConfig::default()
        };
        let mut net = Network::with_config(config, knobs.seed);
        let lab = Rc::new(Lab {
            world: RefCell::new(World {
                dgram_addrs: (0..ADDRS.len() as u8).map(addr).collect(),
                ..World::default()
            }),
            depth: Cell::new(0),
        });
        // The control echo pair: no command and no op touches it.
        let shared = lab.clone();
        let control_server = Listen::new(CONTROL, move || {
            Probe::new(&shared, Role::Accepted, Mode::Echo).control()
        })
        .handler(Probe::new(&lab, Role::Server, Mode::Passive).control());
        let id = net
            .context()
            .listen_with(control_server)
            .expect("the control server listens");
        lab.world.borrow_mut().register(id, Role::Server, true);
        let control = net
            .peer_connect(CONTROL)
            .expect("the control server accepts");
        net.run();
        // A scripted server, an echo server and a datagram channel to start with.
        let mut cx = net.context();
        listen(&lab, &mut cx, 0, false).expect("the first server listens");
        listen(&lab, &mut cx, 1, true).expect("the echo server listens");
        bind(&lab, &mut cx, 4);
        let (dpeer, local) = net.peer_bind("127.0.0.1:0").expect("a datagram peer binds");
        lab.world.borrow_mut().dgram_addrs.push(local);
        // Their `on_listen`s run now: the first script goes to a callback an op causes.
        net.run();
        Self {
            net,
            lab,
            peers: Vec::new(),
            dpeers: vec![dpeer],
            control,
            emfiles: 0,
            discard: knobs.discard,
            sent: 0,
        }
    }

    fn world(&self) -> std::cell::RefMut<'_, World> {
        self.lab.world.borrow_mut()
    }

    fn peer(&mut self, i: u8) -> Option<usize> {
        if self.peers.is_empty() {
            return None;
        }
        let i = usize::from(i) % self.peers.len();
        (!self.peers[i].gone).then_some(i)
    }

    /// Sends from peer `i`, unless the test shut it down or the engine's side is gone.
    fn send(&mut self, i: usize, data: &[u8]) {
        let p = &mut self.peers[i];
        if p.gone || p.shut || p.dead || self.sent + data.len() > MAX_SENT {
            return;
        }
        self.sent += data.len();
        match self.net.try_send(p.peer, data) {
            Ok(()) => p.sent.extend_from_slice(data),
            Err(_) => p.dead = true,
        }
    }

    /// Moves what peers received into their records.
    fn collect(&mut self) {
        for p in &mut self.peers {
            if !p.gone {
                p.received.extend_from_slice(&self.net.received(p.peer));
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Run => self.net.run(),
            Op::Turn => self.net.turn(),
            Op::Advance(ms) => self.net.advance(Duration::from_millis(*ms)),
            Op::Script(cmds) => self.world().pool.push_back(cmds.clone()),
            Op::PeerConnect(a) => {
                if self.peers.len() >= MAX_PEERS {
                    return;
                }
                let echo = canonical(*a)
                    .and_then(|i| self.world().listening.get(&i).copied())
                    .is_some_and(|(_, echo)| echo);
                if let Ok(peer) = self.net.peer_connect(addr(*a)) {
                    let ident = self.peers.len() as u8;
                    self.peers.push(PeerInfo {
                        peer,
                        ident,
                        echo,
                        sent: Vec::new(),
                        received: Vec::new(),
                        gone: false,
                        shut: false,
                        dead: false,
                    });
                    let i = self.peers.len() - 1;
                    self.send(i, &[ident]);
                }
            }
            Op::Send(i, data) => {
                if let Some(i) = self.peer(*i) {
                    self.send(i, data);
                }
            }
            Op::Shutdown(i) => {
                if let Some(i) = self.peer(*i) {
                    self.peers[i].shut = true;
                    self.net.shutdown(self.peers[i].peer);
                }
            }
            Op::Reset(i) | Op::ClosePeer(i) => {
                if let Some(i) = self.peer(*i) {
                    let peer = self.peers[i].peer;
                    let received = self.net.received(peer);
                    let p = &mut self.peers[i];
                    p.received.extend_from_slice(&received);
                    p.gone = true;
                    if matches!(op, Op::Reset(_)) {
                        self.net.reset(peer);
                    } else {
                        self.net.close(peer);
                    }
                }
            }
            Op::Connect(a) => connect(&self.lab, &mut self.net.context(), *a),
            Op::Listen(a, echo) => {
                listen(&self.lab, &mut self.net.context(), *a, *echo);
            }
            Op::Bind(a) => bind(&self.lab, &mut self.net.context(), *a),
            Op::PeerBind => {
                if self.dpeers.len() < 8 {
                    let (peer, local) = self
                        .net
                        .peer_bind("127.0.0.1:0")
                        .expect("a datagram peer binds");
                    self.dpeers.push(peer);
                    self.world().dgram_addrs.push(local);
                }
            }
            Op::SendTo(i, to, data) => {
                let peer = self.dpeers[usize::from(*i) % self.dpeers.len()];
                let to = self.world().dgram_dest(*to);
                self.net.send_to(peer, data, &to);
            }
            Op::Outside(cmd) => {
                let lab = self.lab.clone();
                let mut cx = self.net.context();
                let result = panic::catch_unwind(AssertUnwindSafe(|| {
                    shared_cmd(&lab, &mut cx, cmd, &ReadDelimiter::none());
                }));
                if let Err(payload) = result {
                    self.world().violation(format!(
                        "guarantee 3: command {cmd:?} from outside panicked: {}",
                        panic_message(&*payload)
                    ));
                }
            }
            Op::ReadChunk(n) => self.net.set_read_chunk(match n {
                0 => DEFAULT_READ_CHUNK,
                n => *n,
            }),
            Op::WriteChunk(n) => self.net.set_write_chunk(match n {
                0 => usize::MAX,
                n => *n,
            }),
            Op::Window(n) => self.net.set_window(match n {
                0 => DEFAULT_WINDOW,
                n => *n,
            }),
            Op::Latency(ms) => self.net.set_latency(Duration::from_millis(*ms)),
            Op::FdLimit(n) => self.net.set_fd_limit(*n),
            Op::FailAccepts(errors) => {
                self.emfiles += errors.iter().filter(|emfile| **emfile).count() as u32;
                self.net.fail_accepts(errors.iter().map(|emfile| {
                    if *emfile {
                        std::io::Error::from_raw_os_error(24)
                    } else {
                        std::io::ErrorKind::ConnectionAborted.into()
                    }
                }));
            }
            Op::Faults(p) => {
                let p = f64::from(*p) / 10.0;
                self.net.set_datagram_faults(DatagramFaults {
                    loss: p,
                    duplicate: p,
                    reorder: p,
                });
            }
        }
        self.collect();
    }

    /// Checks everything that holds after any step; the first broken guarantee fails the case.
    fn check(&mut self, after: &str) -> Result<(), String> {
        // The engine's own trace names the same callbacks, in the same order, as the log.
        let trace = self.net.take_trace();
        let mut world = self.lab.world.borrow_mut();
        let logged: Vec<(ChannelId, &str)> = world.log[world.checked..]
            .iter()
            .filter(|r| r.cb != PANIC_MARK)
            .map(|r| (r.ch, r.cb))
            .collect();
        let traced: Vec<(ChannelId, &str)> =
            trace.iter().map(|e| (e.channel, e.callback)).collect();
        if logged != traced {
            world.violation(format!("trace {traced:?} differs from the log {logged:?}"));
        }
        world.validate();
        let closed: Vec<ChannelId> = world.closed.iter().copied().collect();
        drop(world);
        for id in closed {
            if self.net.context().channel(id).is_some() {
                self.world().violation(format!(
                    "guarantee 2: channel({id:?}) is Some from outside after its on_close"
                ));
            }
        }
        let world = self.lab.world.borrow();
        if world.violations.is_empty() {
            return Ok(());
        }
        Err(format!(
            "after {after}: {:#?}\nlast log entries:\n{}",
            world.violations,
            log_tail(&world.log, 40)
        ))
    }

    /// Lifts the network's adversity and gives everything time to settle.
    fn settle(&mut self) {
        self.net.set_fd_limit(None);
        self.net.set_latency(Duration::ZERO);
        self.net.set_read_chunk(DEFAULT_READ_CHUNK);
        self.net.set_write_chunk(usize::MAX);
        self.net.set_window(DEFAULT_WINDOW);
        // A backoff ends within a second (once per queued EMFILE), timers within 4 x 255 ms.
        let backoffs = Duration::from_secs(u64::from(self.emfiles));
        self.net.advance(Duration::from_secs(3) + backoffs);
        self.collect();
    }

    /// What a peer sent to an echo stream came back in order, all of it unless the stream was
    /// closed, paused, overflowed or reset (by the peer or by another channel).
    fn check_echoes(&mut self) -> Result<(), String> {
        let ended: Vec<bool> = (0..self.peers.len())
            .map(|i| {
                let p = &self.peers[i];
                p.gone || self.net.saw_eof(p.peer) || self.net.was_reset(p.peer)
            })
            .collect();
        let world = self.lab.world.borrow();
        for (p, ended) in self.peers.iter().zip(ended) {
            if !p.echo {
                continue;
            }
            let echoed: Vec<u8> = p.received.iter().copied().filter(|b| *b < 0x80).collect();
            let conn = world.echo_map.get(&p.ident);
            // With the `Discard` policy, a write over the limit is simply not queued: a gap.
            let gaps = self.discard && conn.is_some_and(|c| world.overflowed.contains(c));
            if !(gaps || p.sent.starts_with(&echoed)) {
                return Err(format!(
                    "peer {} got back {:?}, not a prefix of what it sent, {:?}",
                    p.ident, echoed, p.sent
                ));
            }
            let interfered = p.gone || p.dead;
            if let Some(conn) = conn {
                let exempt = interfered
                    || world.stopping
                    || world.forced.contains(conn)
                    || world.paused.contains(conn)
                    || world.overflowed.contains(conn);
                if !(exempt || echoed == p.sent) {
                    return Err(format!(
                        "peer {} sent {:?} to echo {conn:?} and got back only {:?}",
                        p.ident, p.sent, echoed
                    ));
                }
            } else {
                // Not accepted (its server closed first, or another channel paused its
                // accepting), or closed or paused by another channel before its first read.
                let server_paused = world
                    .paused
                    .iter()
                    .any(|id| world.every.get(id) == Some(&Role::Server));
                let blocked = server_paused
                    || (world.echo_read.len() < world.echo.len()
                        && (!world.paused.is_empty() || !world.forced.is_empty()));
                if !(interfered || ended || blocked || world.stopping) {
                    return Err(format!(
                        "peer {} sent {:?} to an echo server and was never served",
                        p.ident, p.sent
                    ));
                }
            }
        }
        Ok(())
    }

    /// Guarantee 4's end: the control echo pair still echoes.
    fn check_control(&mut self) -> Result<(), String> {
        let _ = self.net.received(self.control);
        self.net.send(self.control, "control ping");
        self.net.run();
        let got = self.net.received(self.control);
        if got != "control ping" {
            return Err(format!(
                "guarantee 4: the control echo pair answered {got:?} to \"control ping\""
            ));
        }
        Ok(())
    }

    /// After `stop()` and enough time, the engine is finished and every channel got exactly one
    /// `on_close`.
    fn stop(&mut self) -> Result<(), String> {
        self.world().stopping = true;
        self.net.engine().stop();
        self.net.advance(Duration::from_secs(30));
        self.check("stop")?;
        let count = self.net.engine().channel_count();
        let finished = self.net.engine().is_finished();
        let world = self.lab.world.borrow();
        let open: Vec<_> = world
            .every
            .iter()
            .filter(|(id, _)| world.states.get(id).is_none_or(|s| s.closes != 1))
            .collect();
        if !(finished && count == 0 && open.is_empty()) {
            return Err(format!(
                "after stop: finished {finished}, {count} channels left, without one on_close: \
                 {open:?}"
            ));
        }
        Ok(())
    }
}

fn log_tail(log: &[Rec], n: usize) -> String {
    let start = log.len().saturating_sub(n);
    log[start..]
        .iter()
        .map(|r| format!("{:?} {:?} {}", r.ch, r.role, r.cb))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs one case: setup, every op with the checks after each, then the end checks. Returns the
/// scenario (for [`engine_steps`]) and the first violation, if any.
fn run_case(case: &Case) -> (Option<Scenario>, Result<(), String>) {
    let mut slot = None;
    let result = panic::catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        let s = slot.insert(Scenario::new(&case.knobs));
        s.check("setup")?;
        for (i, op) in case.ops.iter().enumerate() {
            s.apply(op);
            s.check(&format!("op {i} {op:?}"))?;
        }
        s.net.run();
        s.check("the last run")?;
        s.settle();
        s.check("settling")?;
        s.check_echoes()?;
        // A `cx.stop()` in the case closed the control pair too.
        if !s.world().stopping {
            s.check_control()?;
            s.check("the control ping")?;
        }
        s.stop()
    }));
    let result = match result {
        Ok(result) => result,
        Err(panic) => {
            let tail = slot
                .as_ref()
                .and_then(|s| s.lab.world.try_borrow().ok().map(|w| log_tail(&w.log, 40)))
                .unwrap_or_default();
            Err(format!(
                "a panic escaped the engine (or the network never came to rest): {}\n\
                 last log entries:\n{tail}",
                panic_message(&*panic)
            ))
        }
    };
    (slot, result)
}

/// Runs one case with every check and returns the first broken guarantee, if any. The fuzz
/// target decodes its cases from bytes ([`check_engine`]); the engine properties
/// (`tests/engine_props.rs`) generate them with proptest.
pub fn check_case(case: &Case) -> Result<(), String> {
    quiet_deliberate_panics();
    run_case(case).1
}

/// Runs the `engine` target's check on one input. Panics when a guarantee is broken.
pub fn check_engine(data: &[u8]) {
    let case = case(&mut Input::new(data));
    if let Err(why) = check_case(&case) {
        panic!("{why}\nin {case:#?}");
    }
}

/// Runs the check on one input and returns what happened: every callback, one a line
/// (`#id Role callback`), then `ok` or the violation (for writing seeds and reading crashes).
pub fn engine_steps(data: &[u8]) -> String {
    quiet_deliberate_panics();
    let case = case(&mut Input::new(data));
    let (scenario, result) = run_case(&case);
    let mut out = String::new();
    if let Some(s) = scenario {
        let world = s.lab.world.borrow();
        out = log_tail(&world.log, world.log.len());
        let peers: Vec<String> = s
            .peers
            .iter()
            .map(|p| {
                format!(
                    "peer {} sent {:?} got {:?}",
                    p.ident,
                    crate::model::Esc(&p.sent),
                    crate::model::Esc(&p.received)
                )
            })
            .collect();
        out.push('\n');
        out.push_str(&peers.join("\n"));
    }
    out.push_str(&format!("\n{:?}", result.map(|()| "ok")));
    out
}
