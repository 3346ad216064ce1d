//! Property tests of the engine (DESIGN.md sections 2 and 5): random interleavings of network
//! inputs and handler commands across several channels never break the ordering guarantees
//! and never panic.
//!
//! Every channel runs a [`Probe`]: its callbacks record themselves into a shared [`World`]
//! (the engine is single-threaded, so an `Rc<RefCell<_>>` does) and then, for scripted
//! channels, run the next small script of [`Cmd`]s from one pool that the whole case shares:
//! write to this or another channel (also to ones that closed), close or close_now either,
//! set delimiters (valid and invalid, a kept `ReadDelimiter` by value and by reference),
//! pause and resume reading, channel and engine timers and their cancels, open clients,
//! servers and datagram channels, and now and then a deliberate panic. The pool is finite, so
//! every case comes to rest. The test drives the network side with [`Op`]s: scripted peers,
//! engine-to-engine connections, datagrams, knobs and time.
//!
//! After every step the whole log is checked against the guarantees (incrementally), the
//! engine's own trace is compared with it, and every closed id must be gone from
//! `cx.channel`; at the end the network settles, echoes are compared with what peers sent,
//! a control echo pair must still echo, and `stop()` must finish the engine. Every property
//! runs all of these checks; each has its own mix of commands and ops ([`Mix`]) that stresses
//! the guarantee in its name: [`connect_or_listen_comes_before_read`] (guarantee 1),
//! [`close_comes_once_and_last`] (2), [`commands_on_other_channels_are_safe_and_never_reenter`]
//! (3), [`a_panic_closes_only_its_channel`] (4), [`the_engine_comes_to_rest`] (section 5,
//! timers), [`echoed_bytes_come_back_in_order`] and
//! [`stop_finishes_and_closes_every_channel`]. 128 cases in all run in a few seconds; set
//! `ENGINE_PROPS_CASES=n` for `n` cases per property in a longer hunt.
//!
//! The core bugs these properties found are fixed; the regression tests at the end pin each
//! of them as the guarantee it now keeps, and the scenario steers around nothing.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use pants_core::testing::{DatagramFaults, Network, Peer};
use pants_core::{
    Addr, ChannelId, ChannelMut, ConnectError, Context, DatagramConfig, DelimiterError,
    EngineConfig, EngineContext, Error, Handler, Idle, LengthPrefix, Listen, OverflowError,
    OverflowPolicy, ReadDelimiter, ReadLimits, StreamConfig, TimerId, WriteLimits,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

// ---- Addresses -------------------------------------------------------------------------------

/// Where channels listen, bind and connect; the last two resolve to the second and to nothing.
const ADDRS: [&str; 8] = [
    "127.0.0.1:1",
    "127.0.0.1:2",
    "127.0.0.1:3",
    "127.0.0.1:4",
    "127.0.0.1:5",
    "unix:/pants/props.sock",
    "localhost:2",
    "nowhere.invalid:80",
];

/// The address of the control echo pair, which no command and no op touches.
const CONTROL: &str = "127.0.0.1:99";

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

// ---- What handlers and the test do -----------------------------------------------------------

/// A read delimiter to set, valid or not.
#[derive(Debug, Clone)]
enum Delim {
    None,
    /// Empty is invalid.
    Bytes(Vec<u8>),
    /// Zero is invalid.
    Count(usize),
    /// A length-prefix field of this many bytes; 3 is invalid.
    Prefix(usize),
    /// The handler's kept delimiter, by reference.
    KeptRef,
    /// The handler's kept delimiter, by value.
    KeptValue,
    /// `a*` matches the empty string: invalid.
    #[cfg(feature = "regex")]
    Regex(&'static str),
}

impl Delim {
    fn valid(&self) -> bool {
        match self {
            Delim::Bytes(b) => !b.is_empty(),
            Delim::Count(n) => *n > 0,
            Delim::Prefix(n) => matches!(n, 1 | 2 | 4 | 8),
            #[cfg(feature = "regex")]
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
            #[cfg(feature = "regex")]
            Delim::Regex(pattern) => ch.set_read_delimiter(ReadDelimiter::regex(pattern)?),
        }
    }
}

/// An engine timer (Pants' `callback`, `defer`, `cycle`, `loop`).
#[derive(Debug, Clone, Copy)]
enum ETimer {
    Callback,
    Defer(u16),
    Cycle(u16),
    EachTurn,
}

/// One command of a handler's script. `u8` targets pick, modulo their count, among every
/// channel ever opened (closed ones included), every timer ever set, or [`ADDRS`].
#[derive(Debug, Clone)]
enum Cmd {
    /// Write this many bytes to this channel.
    Write(u8),
    WriteOther(u8, u8),
    /// `write_to` on another channel: (target, destination, length).
    SendTo(u8, u8, u8),
    Broadcast(u8, u8),
    Close,
    CloseNow,
    CloseOther(u8),
    CloseNowOther(u8),
    Delim(Delim),
    DelimOther(u8, Delim),
    Pause,
    Resume,
    PauseOther(u8),
    ResumeOther(u8),
    /// Read and write limits (small or default) and the overflow policy (discard or close) of
    /// another stream; echo streams are left alone.
    Tune(u8, bool, bool),
    /// A channel timer after this many ms.
    TimerAfter(u16),
    /// A channel timer every this many ms, cancelled by the handler after so many runs.
    TimerEvery(u16, u8),
    /// Cancel any timer ever set (idempotent).
    Cancel(u8),
    /// Cancel the timer being handled, from inside `on_timer`.
    CancelThis,
    /// An engine timer; repeating ones cancel themselves after so many runs.
    EngineTimer(ETimer, u8),
    Connect(u8),
    Listen(u8),
    Bind(u8),
    Panic,
    /// `cx.stop()`: the engine shuts down gracefully in the middle of the case.
    Stop,
}

/// One step of the network side.
#[derive(Debug, Clone)]
enum Op {
    /// A scripted peer connects to an address (refused ones are fine).
    PeerConnect(u8),
    Send(u8, Vec<u8>),
    Shutdown(u8),
    Reset(u8),
    ClosePeer(u8),
    /// An engine client connects from outside any callback.
    Connect(u8),
    /// A server from outside: echo or scripted connections.
    Listen(u8, bool),
    Bind(u8),
    PeerBind,
    /// A datagram from a scripted datagram peer: (peer, destination, data).
    SendTo(u8, u8, Vec<u8>),
    /// A command from outside any callback, through the engine's context.
    Outside(Cmd),
    ReadChunk(usize),
    WriteChunk(usize),
    Window(usize),
    Latency(u64),
    FdLimit(Option<usize>),
    /// Accept errors: `true` for `EMFILE` (backoff), `false` for a per-connection error.
    FailAccepts(Vec<bool>),
    Faults(u8),
    Run,
    Turn,
    Advance(u64),
}

/// The settings of one case.
#[derive(Debug, Clone)]
struct Knobs {
    accept_budget: usize,
    read_budget: usize,
    linger: Duration,
    idle: Option<Duration>,
    half_open: bool,
    /// Small read and write limits (overflows happen), else the defaults.
    small_limits: bool,
    discard: bool,
    seed: u64,
}

#[derive(Debug, Clone)]
struct Case {
    knobs: Knobs,
    /// Scripts, one taken per callback of a scripted channel (and per engine-timer run).
    scripts: Vec<Vec<Cmd>>,
    ops: Vec<Op>,
}

// ---- The shared record ------------------------------------------------------------------------

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

/// One entry of the log: a callback that ran, or a marker a handler left.
#[derive(Debug, Clone)]
struct Rec {
    ch: ChannelId,
    role: Role,
    cb: &'static str,
    /// `on_accept`: the connection.
    conn: Option<ChannelId>,
    /// `on_error`: `Some(true)` for a deliberate panic, `Some(false)` for any other panic.
    panic: Option<bool>,
    /// Another callback was running when this one started.
    nested: bool,
}

/// The marker a handler logs just before a deliberate panic.
const PANIC_MARK: &str = "PANIC";
const DELIBERATE: &str = "deliberate panic";

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
    reset: bool,
    shut: bool,
    /// A send failed: the engine's side is gone.
    dead: bool,
}

#[derive(Default)]
struct World {
    log: Vec<Rec>,
    checked: usize,
    states: HashMap<ChannelId, ChState>,
    /// Every channel but the control pair, in order of appearance: what commands target.
    targets: Vec<ChannelId>,
    /// Every channel, the control pair included, with its role.
    every: HashMap<ChannelId, Role>,
    control: HashSet<ChannelId>,
    echo: HashSet<ChannelId>,
    /// Channels whose `on_close` ran.
    closed: HashSet<ChannelId>,
    /// Connections whose `on_connect` ran (to order `on_accept` before it).
    connect_seen: HashSet<ChannelId>,
    pool: VecDeque<Vec<Cmd>>,
    violations: Vec<String>,
    timers: Vec<TimerRec>,
    timer_index: HashMap<TimerId, usize>,
    /// Echo connections by the identity byte their peer sent first.
    echo_map: HashMap<u8, ChannelId>,
    /// Echo connections that received anything.
    echo_read: HashSet<ChannelId>,
    /// Channels paused by another channel's command (and not resumed since).
    paused: HashSet<ChannelId>,
    /// Channels that another channel closed.
    forced: HashSet<ChannelId>,
    /// Channels that got `on_overflow_error`.
    overflowed: HashSet<ChannelId>,
    /// The latest server to listen at each canonical address, and whether it echoes.
    listening: HashMap<usize, (ChannelId, bool)>,
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
            self.violation(format!("{id:?} was reused after its on_close"));
        }
        self.every.insert(id, role);
        if control {
            self.control.insert(id);
        } else {
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
                "guarantee 3: {ch:?} got on_error for a panic that was not deliberate"
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
                Role::Client => matches!(rec.cb, "on_connect" | "on_connect_error" | "on_close"),
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

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic".to_owned()
    }
}

// ---- The handler ------------------------------------------------------------------------------

/// What the callback was given, beyond the context.
enum Ev<'a> {
    None,
    Read(Bytes),
    Accept(ChannelId),
    Error(&'a Error),
    Timer(TimerId),
}

struct Probe {
    lab: Shared,
    role: Role,
    mode: Mode,
    control: bool,
    kept: ReadDelimiter,
}

impl Probe {
    fn new(lab: &Shared, role: Role, mode: Mode) -> Self {
        let n = lab.world.borrow().targets.len();
        let kept = match n % 3 {
            0 => ReadDelimiter::bytes(b";").unwrap(),
            1 => ReadDelimiter::count(3).unwrap(),
            _ => ReadDelimiter::length_prefix(LengthPrefix::new(1)).unwrap(),
        };
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
            let mut world = self.lab.world.borrow_mut();
            world.log.push(Rec {
                ch: cx.id(),
                role: self.role,
                cb: PANIC_MARK,
                conn: None,
                panic: None,
                nested: false,
            });
            drop(world);
            panic!("{DELIBERATE} in {cb}");
        }
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            self.exec_inner(cx, cmd, timer);
        }));
        if let Err(payload) = result {
            self.lab.world.borrow_mut().violation(format!(
                "guarantee 3: command {cmd:?} in {cb} panicked: {}",
                panic_text(&*payload)
            ));
        }
    }

    fn exec_inner(&mut self, cx: &mut Context<'_>, cmd: &Cmd, timer: Option<TimerId>) {
        let id = cx.id();
        match cmd {
            Cmd::Write(len) => {
                let data = self.lab.world.borrow_mut().payload(*len);
                let _ = cx.write(data);
            }
            Cmd::Close => cx.close(),
            Cmd::CloseNow => cx.close_now(),
            Cmd::Delim(delim) => {
                let result = delim.set(&mut cx.this(), &self.kept);
                check_delimiter(&self.lab, id, delim, result);
            }
            Cmd::Pause => cx.pause_reading(),
            Cmd::Resume => cx.resume_reading(),
            Cmd::TimerAfter(ms) => {
                let delay = Duration::from_millis(u64::from(*ms));
                let t = cx.timer_after(delay);
                add_timer(&self.lab, t, Some(id), TKind::Once(delay), 1, cx.now());
            }
            Cmd::TimerEvery(ms, limit) => {
                let interval = Duration::from_millis(u64::from(*ms));
                let t = cx.timer_every(interval);
                let limit = u32::from(*limit).max(1);
                add_timer(
                    &self.lab,
                    t,
                    Some(id),
                    TKind::Every(interval),
                    limit,
                    cx.now(),
                );
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
                let world = lab.world.borrow();
                let stale: Vec<_> = conns.iter().filter(|c| world.closed.contains(c)).collect();
                if !stale.is_empty() {
                    let text = format!("connections({t:?}) lists closed {stale:?}");
                    drop(world);
                    lab.world.borrow_mut().violation(text);
                } else {
                    drop(world);
                }
                cx.broadcast(t, data);
            }
        }
        Cmd::CloseOther(t) | Cmd::CloseNowOther(t) => {
            if let Some(t) = target(t) {
                lab.world.borrow_mut().forced.insert(t);
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
                let mut world = lab.world.borrow_mut();
                if pause {
                    world.paused.insert(t);
                } else {
                    world.paused.remove(&t);
                }
                drop(world);
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
                let (read, write) = if *small {
                    (ReadLimits::new(8, 64).unwrap(), WriteLimits::new(32, 128))
                } else {
                    (ReadLimits::default(), WriteLimits::default())
                };
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
        Cmd::Connect(a) | Cmd::Listen(a) | Cmd::Bind(a) => match cmd {
            Cmd::Connect(_) => connect(lab, cx, *a),
            Cmd::Listen(_) => {
                listen(lab, cx, *a, false);
            }
            _ => bind(lab, cx, *a),
        },
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
    let f = move |cx: &mut EngineContext<'_>| engine_tick(&shared, cx, slot);
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
                panic_text(&*payload)
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

    fn on_read(&mut self, cx: &mut Context<'_>, frame: Bytes) {
        self.run(cx, "on_read", Ev::Read(frame));
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

// ---- Quiet deliberate panics -------------------------------------------------------------------

type Hook = Arc<dyn Fn(&PanicHookInfo<'_>) + Send + Sync>;

/// Users of the filtering hook, and the hook it replaced.
static HOOK: Mutex<(usize, Option<Hook>)> = Mutex::new((0, None));

/// While alive, the panic hook stays silent about deliberate panics; the last one dropped
/// restores the previous hook.
struct QuietPanics;

impl QuietPanics {
    fn new() -> Self {
        let mut hook = HOOK.lock().unwrap_or_else(|e| e.into_inner());
        if hook.0 == 0 {
            let previous: Hook = Arc::from(panic::take_hook());
            hook.1 = Some(previous.clone());
            panic::set_hook(Box::new(move |info| {
                let text = panic_text(info.payload());
                if !text.contains(DELIBERATE) {
                    previous(info);
                }
            }));
        }
        hook.0 += 1;
        QuietPanics
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        let mut hook = HOOK.lock().unwrap_or_else(|e| e.into_inner());
        hook.0 -= 1;
        // The hook cannot be changed while this thread unwinds; the filter passes the rest on.
        if hook.0 == 0
            && !std::thread::panicking()
            && let Some(previous) = hook.1.take()
        {
            drop(panic::take_hook());
            panic::set_hook(Box::new(move |info| previous(info)));
        }
    }
}

// ---- The scenario ------------------------------------------------------------------------------

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
}

impl Scenario {
    fn new(knobs: &Knobs, scripts: &[Vec<Cmd>]) -> Self {
        let (read_limits, write_limits) = if knobs.small_limits {
            (ReadLimits::new(8, 64).unwrap(), WriteLimits::new(32, 128))
        } else {
            (ReadLimits::default(), WriteLimits::default())
        };
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
                pool: scripts.iter().cloned().collect(),
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
        let id = net.context().listen_with(control_server).unwrap();
        lab.world.borrow_mut().register(id, Role::Server, true);
        let control = net.peer_connect(CONTROL).unwrap();
        net.run();
        // A scripted server, an echo server and a datagram channel to start with.
        let mut cx = net.context();
        listen(&lab, &mut cx, 0, false).unwrap();
        listen(&lab, &mut cx, 1, true).unwrap();
        bind(&lab, &mut cx, 4);
        let (dpeer, local) = net.peer_bind("127.0.0.1:0").unwrap();
        lab.world.borrow_mut().dgram_addrs.push(local);
        Self {
            net,
            lab,
            peers: Vec::new(),
            dpeers: vec![dpeer],
            control,
            emfiles: 0,
            discard: knobs.discard,
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
        if p.gone || p.shut || p.dead {
            return;
        }
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
            Op::PeerConnect(a) => {
                if self.peers.len() >= 100 {
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
                        reset: false,
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
                    p.reset = matches!(op, Op::Reset(_));
                    if p.reset {
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
                    let (peer, local) = self.net.peer_bind("127.0.0.1:0").unwrap();
                    self.dpeers.push(peer);
                    self.world().dgram_addrs.push(local);
                }
            }
            Op::SendTo(i, to, data) => {
                if !self.dpeers.is_empty() {
                    let peer = self.dpeers[usize::from(*i) % self.dpeers.len()];
                    let to = self.world().dgram_dest(*to);
                    self.net.send_to(peer, data, &to);
                }
            }
            Op::Outside(cmd) => {
                let lab = self.lab.clone();
                let mut cx = self.net.context();
                let result = panic::catch_unwind(AssertUnwindSafe(|| {
                    shared_cmd(&lab, &mut cx, cmd, &ReadDelimiter::none());
                }));
                if let Err(payload) = result {
                    self.world().violation(format!(
                        "command {cmd:?} from outside panicked: {}",
                        panic_text(&*payload)
                    ));
                }
            }
            Op::ReadChunk(n) => self.net.set_read_chunk(*n),
            Op::WriteChunk(n) => self.net.set_write_chunk(*n),
            Op::Window(n) => self.net.set_window(*n),
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
            Op::Run => self.net.run(),
            Op::Turn => self.net.turn(),
            Op::Advance(ms) => self.net.advance(Duration::from_millis(*ms)),
        }
        self.collect();
    }

    /// Checks everything that holds after any step; the first broken guarantee fails the case.
    fn check(&mut self, after: &str) -> Result<(), TestCaseError> {
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
        let tail: Vec<String> = world
            .log
            .iter()
            .rev()
            .take(30)
            .rev()
            .map(|r| format!("{:?} {:?} {}", r.ch, r.role, r.cb))
            .collect();
        Err(TestCaseError::fail(format!(
            "after {after}: {:#?}\nlast log entries:\n{}",
            world.violations,
            tail.join("\n")
        )))
    }

    /// Lifts the network's adversity and gives everything time to settle.
    fn settle(&mut self) {
        self.net.set_fd_limit(None);
        self.net.set_latency(Duration::ZERO);
        self.net.set_read_chunk(DEFAULT_READ_CHUNK);
        self.net.set_write_chunk(usize::MAX);
        self.net.set_window(DEFAULT_WINDOW);
        // A backoff ends within a second (once per queued EMFILE), timers within 4 x 300 ms.
        let backoffs = Duration::from_secs(u64::from(self.emfiles));
        self.net.advance(Duration::from_secs(3) + backoffs);
        self.collect();
    }

    /// Property 6: what a peer sent to an echo stream came back in order, all of it unless
    /// the stream was closed, paused or reset (by the peer or by another channel).
    fn check_echoes(&mut self) -> Result<(), TestCaseError> {
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
            prop_assert!(
                gaps || p.sent.starts_with(&echoed),
                "peer {} got back {:?}, not a prefix of what it sent, {:?}",
                p.ident,
                echoed,
                p.sent
            );
            let interfered = p.gone || p.dead;
            if let Some(conn) = conn {
                let exempt = interfered
                    || world.stopping
                    || world.forced.contains(conn)
                    || world.paused.contains(conn)
                    || world.overflowed.contains(conn);
                prop_assert!(
                    exempt || echoed == p.sent,
                    "peer {} sent {:?} to echo {conn:?} and got back only {:?}",
                    p.ident,
                    p.sent,
                    echoed
                );
            } else {
                // Not accepted (its server closed first), or closed or paused by another
                // channel before its first read.
                let blocked = world.echo_read.len() < world.echo.len()
                    && (!world.paused.is_empty() || !world.forced.is_empty());
                prop_assert!(
                    interfered || ended || blocked || world.stopping,
                    "peer {} sent {:?} to an echo server and was never served",
                    p.ident,
                    p.sent
                );
            }
        }
        Ok(())
    }

    /// Property 4's end: the control echo pair still echoes.
    fn check_control(&mut self) -> Result<(), TestCaseError> {
        let _ = self.net.received(self.control);
        self.net.send(self.control, "control ping");
        self.net.run();
        prop_assert_eq!(self.net.received(self.control), "control ping");
        Ok(())
    }

    /// Property 7: after `stop()` and enough time, the engine is finished and every channel
    /// got exactly one `on_close`.
    fn stop(&mut self) -> Result<(), TestCaseError> {
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
        prop_assert!(
            finished && count == 0 && open.is_empty(),
            "after stop: finished {finished}, {count} channels left, without one on_close: {open:?}"
        );
        Ok(())
    }
}

/// Runs one case: setup, every op with the checks after each, then the end checks.
fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let mut s = Scenario::new(&case.knobs, &case.scripts);
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
}

// ---- Strategies --------------------------------------------------------------------------------

fn delim() -> BoxedStrategy<Delim> {
    let common = prop_oneof![
        Just(Delim::None),
        vec(select(b";,\n".to_vec()), 0..3).prop_map(Delim::Bytes),
        (0usize..6).prop_map(Delim::Count),
        select(vec![1usize, 2, 3, 4, 8]).prop_map(Delim::Prefix),
        Just(Delim::KeptRef),
        Just(Delim::KeptValue),
    ];
    #[cfg(feature = "regex")]
    let common = prop_oneof![
        6 => common,
        1 => select(vec!["[;,]", "a*"]).prop_map(Delim::Regex),
    ];
    common.boxed()
}

fn etimer() -> impl Strategy<Value = ETimer> {
    prop_oneof![
        Just(ETimer::Callback),
        (0u16..300).prop_map(ETimer::Defer),
        (0u16..300).prop_map(ETimer::Cycle),
        Just(ETimer::EachTurn),
    ]
}

/// How often each kind of command and op comes: each property stresses its guarantee.
#[derive(Debug, Clone, Copy)]
struct Mix {
    /// Commands on other channels (writes, closes, delimiters, pauses).
    other: u32,
    /// Deliberate panics.
    panic: u32,
    /// Channel and engine timers, and cancels.
    timers: u32,
    /// Opening channels from callbacks.
    open: u32,
    /// Closes, resets and shutdowns, from handlers and peers.
    close: u32,
    /// Peers and their bytes, to echo servers most of all.
    peers: u32,
    /// Now and then a `cx.stop()` in the middle of the case.
    stop: bool,
}

const BALANCED: Mix = Mix {
    other: 2,
    panic: 1,
    timers: 2,
    open: 2,
    close: 2,
    peers: 2,
    stop: false,
};

fn cmd(mix: Mix) -> BoxedStrategy<Cmd> {
    let t = any::<u8>();
    let Mix {
        other,
        panic,
        timers,
        open,
        close,
        ..
    } = mix;
    let cmds = prop_oneof![
        4 => (1u8..40).prop_map(Cmd::Write),
        2 * other => (t, 1u8..40).prop_map(|(t, n)| Cmd::WriteOther(t, n)),
        other => (t, t, 1u8..40).prop_map(|(t, to, n)| Cmd::SendTo(t, to, n)),
        other => (t, 1u8..20).prop_map(|(t, n)| Cmd::Broadcast(t, n)),
        close => Just(Cmd::Close),
        close => Just(Cmd::CloseNow),
        close * other => t.prop_map(Cmd::CloseOther),
        close * other => t.prop_map(Cmd::CloseNowOther),
        3 => delim().prop_map(Cmd::Delim),
        other => (t, delim()).prop_map(|(t, d)| Cmd::DelimOther(t, d)),
        1 => Just(Cmd::Pause),
        2 => Just(Cmd::Resume),
        other => t.prop_map(Cmd::PauseOther),
        other => t.prop_map(Cmd::ResumeOther),
        other => (t, any::<(bool, bool)>()).prop_map(|(t, (s, d))| Cmd::Tune(t, s, d)),
        timers => (0u16..300).prop_map(Cmd::TimerAfter),
        timers => (0u16..300, 1u8..5).prop_map(|(ms, n)| Cmd::TimerEvery(ms, n)),
        timers => t.prop_map(Cmd::Cancel),
        timers => Just(Cmd::CancelThis),
        timers => (etimer(), 1u8..5).prop_map(|(k, n)| Cmd::EngineTimer(k, n)),
        open => t.prop_map(Cmd::Connect),
        open => t.prop_map(Cmd::Listen),
        open => t.prop_map(Cmd::Bind),
        panic => Just(Cmd::Panic),
    ];
    if mix.stop {
        prop_oneof![200 => cmds, 1 => Just(Cmd::Stop)].boxed()
    } else {
        cmds.boxed()
    }
}

fn chunk() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![3 => 0u8..0x80, 1 => select(b";,\n\x00\x01".to_vec())],
        1..40,
    )
}

fn op(mix: Mix) -> impl Strategy<Value = Op> {
    let t = any::<u8>();
    let Mix { peers, close, .. } = mix;
    prop_oneof![
        // Mostly to the echo server (ADDRS[1], or `localhost:2`).
        2 * peers => select(vec![1u8, 6]).prop_map(Op::PeerConnect),
        peers => t.prop_map(Op::PeerConnect),
        4 * peers => (t, chunk()).prop_map(|(p, d)| Op::Send(p, d)),
        close => t.prop_map(Op::Shutdown),
        close => t.prop_map(Op::Reset),
        close => t.prop_map(Op::ClosePeer),
        3 => t.prop_map(Op::Connect),
        1 => (t, any::<bool>()).prop_map(|(a, e)| Op::Listen(a, e)),
        1 => t.prop_map(Op::Bind),
        1 => Just(Op::PeerBind),
        peers => (t, t, chunk()).prop_map(|(p, to, d)| Op::SendTo(p, to, d)),
        2 => cmd(mix).prop_map(Op::Outside),
        1 => (1usize..8).prop_map(Op::ReadChunk),
        1 => (1usize..8).prop_map(Op::WriteChunk),
        1 => (1usize..16).prop_map(Op::Window),
        1 => (0u64..60).prop_map(Op::Latency),
        1 => prop::option::of(2usize..12).prop_map(Op::FdLimit),
        1 => vec(any::<bool>(), 1..4).prop_map(Op::FailAccepts),
        1 => (0u8..4).prop_map(Op::Faults),
        4 => Just(Op::Run),
        3 => Just(Op::Turn),
        3 => (0u64..1500).prop_map(Op::Advance),
    ]
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        select(vec![1usize, 2, 128]),
        select(vec![1usize, 64, 256 * 1024]),
        select(vec![
            Duration::from_millis(100),
            StreamConfig::DEFAULT_LINGER,
        ]),
        select(vec![
            None,
            Some(Duration::from_millis(50)),
            Some(Duration::from_secs(1)),
        ]),
        any::<(bool, bool, bool)>(),
        any::<u64>(),
    )
        .prop_map(
            |(accept_budget, read_budget, linger, idle, (half_open, small, discard), seed)| Knobs {
                accept_budget,
                read_budget,
                linger,
                idle,
                half_open,
                small_limits: small,
                discard,
                seed,
            },
        )
}

fn case(mix: Mix) -> impl Strategy<Value = Case> {
    (
        knobs(),
        vec(vec(cmd(mix), 0..4), 0..80),
        vec(op(mix), 1..60),
    )
        .prop_map(|(knobs, scripts, ops)| Case {
            knobs,
            scripts,
            ops,
        })
}

/// `cases` per property (128 in all), or `ENGINE_PROPS_CASES` each when set, for a long hunt.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("ENGINE_PROPS_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(cases),
        max_shrink_iters: 4000,
        // Found cases become the deterministic regression tests at the end of this file.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Every property runs the whole scenario with every check (see [`run_case`]); what differs is
/// the mix of commands and ops, which stresses the guarantee in its name.
fn property(case: &Case) -> Result<(), TestCaseError> {
    let _quiet = QuietPanics::new();
    run_case(case)
}

proptest! {
    #![proptest_config(config(24))]

    /// Guarantee 1: `on_connect` (streams) or `on_listen` (servers, datagram channels) comes
    /// first, before any `on_read`, with many connects, peers and reads.
    #[test]
    fn connect_or_listen_comes_before_read(
        case in case(Mix { open: 4, peers: 4, ..BALANCED }),
    ) {
        property(&case)?;
    }

    /// Guarantee 2: `on_close` exactly once and last (after `on_connect_error` for a failed
    /// connect); the id never comes back, `cx.channel(id)` finds nothing; with many closes
    /// from handlers, other channels and peers.
    #[test]
    fn close_comes_once_and_last(case in case(Mix { close: 5, ..BALANCED })) {
        property(&case)?;
    }

    /// Guarantee 3: commands on any channel (closed ones too) from callbacks, engine timers
    /// and outside never panic, and callbacks never nest.
    #[test]
    fn commands_on_other_channels_are_safe_and_never_reenter(
        case in case(Mix { other: 5, open: 3, ..BALANCED }),
    ) {
        property(&case)?;
    }

    /// Guarantee 4: a panic gives its channel `on_error`, then `on_close`, and the others
    /// keep working: the control echo pair still echoes at the end.
    #[test]
    fn a_panic_closes_only_its_channel(case in case(Mix { panic: 8, ..BALANCED })) {
        property(&case)?;
    }
}

proptest! {
    #![proptest_config(config(16))]

    /// Section 5: the engine never panics and always comes to rest (`Network::run` returns),
    /// with many channel and engine timers (`each_turn` ones cancel themselves), cancels
    /// from anywhere, also from inside; timers never fire early nor after they ended.
    #[test]
    fn the_engine_comes_to_rest(case in case(Mix { timers: 6, ..BALANCED })) {
        property(&case)?;
    }

    /// Bytes a peer sends to an echo stream come back in order, and all of them unless the
    /// stream was closed, paused or reset, whatever the chunking, window and latency.
    #[test]
    fn echoed_bytes_come_back_in_order(
        case in case(Mix { peers: 8, other: 1, close: 1, ..BALANCED }),
    ) {
        property(&case)?;
    }
}

proptest! {
    #![proptest_config(config(8))]

    /// Section 5: after `stop()` and enough time the engine is finished and every channel got
    /// exactly one `on_close`; with many channels opened from callbacks, and now and then a
    /// `cx.stop()` from a callback in the middle of the case.
    #[test]
    fn stop_finishes_and_closes_every_channel(
        case in case(Mix { open: 6, stop: true, ..BALANCED }),
    ) {
        property(&case)?;
    }
}

// ---- Regressions: core bugs these properties found (fixed) -------------------------------------

/// Records its callbacks by name; panics (deliberately) the first time it runs the one named
/// `panic_in`.
struct Noter {
    notes: Rc<RefCell<Vec<String>>>,
    panic_in: &'static str,
    delimiter: Option<&'static str>,
    close_on_connect: bool,
}

impl Noter {
    fn new(panic_in: &'static str) -> Self {
        Self {
            notes: Rc::default(),
            panic_in,
            delimiter: None,
            close_on_connect: false,
        }
    }

    fn note(&mut self, cb: &'static str, detail: String) {
        self.notes.borrow_mut().push(format!("{cb}{detail}"));
        if cb == self.panic_in {
            self.panic_in = "";
            panic!("{DELIBERATE} in {cb}");
        }
    }
}

impl Handler for Noter {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        if let Some(delimiter) = self.delimiter {
            cx.set_read_delimiter(delimiter).unwrap();
        }
        if self.close_on_connect {
            cx.close_now();
        }
        self.note("on_connect", String::new());
    }

    fn on_read(&mut self, _: &mut Context<'_>, _: Bytes) {
        self.note("on_read", String::new());
    }

    fn on_listen(&mut self, _: &mut Context<'_>) {
        self.note("on_listen", String::new());
    }

    fn on_accept(&mut self, cx: &mut Context<'_>, conn: ChannelId) {
        let found = if cx.channel(conn).is_some() {
            ""
        } else {
            " (not found)"
        };
        self.note("on_accept", found.to_owned());
    }

    fn on_close(&mut self, _: &mut Context<'_>) {
        self.note("on_close", String::new());
    }

    fn on_connect_error(&mut self, _: &mut Context<'_>, _: &ConnectError) {
        self.note("on_connect_error", String::new());
    }

    fn on_error(&mut self, _: &mut Context<'_>, err: &Error) {
        self.note("on_error", format!(" ({err})"));
    }

    fn on_eof(&mut self, _: &mut Context<'_>) {
        self.note("on_eof", String::new());
    }
}

/// The callbacks of the whole network, as `"server on_accept"`, `"#3 on_read"`, ...
fn trace_by(net: &mut Network, server: ChannelId) -> Vec<String> {
    net.take_trace()
        .iter()
        .map(|e| {
            let who = if e.channel == server {
                "server".to_owned()
            } else {
                format!("{}", e.channel)
            };
            format!("{who} {}", e.callback)
        })
        .collect()
}

/// Handler docs: "A server accepted the connection `conn` (its own handler's `on_connect`
/// follows)", also when accepting carries over to the next turn (the accept budget ran out,
/// here on 128 per-connection accept errors) and the connection refuses itself in `on_connect`
/// (`close_now()`, as a server over its connection limit does): `on_accept` still finds it.
/// The engine used to queue the server's events behind the connection's, so `on_accept` named
/// a connection already closed and gone (found with `accept_budget: 1`).
#[test]
fn on_accept_comes_before_the_connections_callbacks_when_accepting_carries_over() {
    let mut net = Network::new();
    let factory = || Noter {
        close_on_connect: true,
        ..Noter::new("")
    };
    let server = Noter::new("");
    let notes = server.notes.clone();
    let listen = Listen::new("127.0.0.1:1", factory).handler(server);
    let server = net.context().listen_with(listen).unwrap();
    net.run();
    net.take_trace();
    net.fail_accepts((0..128).map(|_| std::io::Error::from(std::io::ErrorKind::ConnectionAborted)));
    net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    let conn = ChannelId::from_bits(1);
    assert_eq!(
        trace_by(&mut net, server),
        [
            "server on_accept".to_owned(),
            format!("{conn} on_connect"),
            format!("{conn} on_close"),
        ]
    );
    assert_eq!(*notes.borrow(), ["on_listen", "on_accept"]);
}

/// Guarantee 2: `on_close` is the last callback, also when the handler panics in it. The
/// engine used to report that panic with an `on_error` after `on_close`.
#[test]
fn a_panic_in_on_close_runs_nothing_after_it() {
    let _quiet = QuietPanics::new();
    let mut net = Network::new();
    let client = net.connect("127.0.0.1:9", Noter::new("on_close")).unwrap();
    net.run();
    assert_eq!(net.callbacks(client), ["on_connect_error", "on_close"]);
}

/// Guarantee 4: a panic closes its channel with `on_error`, then `on_close`, and nothing in
/// between, here with a second connection waiting to be accepted. The engine used to queue
/// `on_close` behind the events the channel already had, so the handler that had just
/// panicked still got them (here a second `on_accept`).
#[test]
fn a_panic_drops_the_events_queued_before_it() {
    let _quiet = QuietPanics::new();
    let mut net = Network::new();
    let listen = Listen::new("127.0.0.1:1", || ()).handler(Noter::new("on_accept"));
    let server = net.context().listen_with(listen).unwrap();
    net.peer_connect("127.0.0.1:1").unwrap();
    net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    assert_eq!(
        net.callbacks(server),
        ["on_listen", "on_accept", "on_error", "on_close"]
    );
}

/// The same on a stream that panics in the `on_error` of a truncated frame: the `on_eof`
/// queued with that `on_error` used to run after the panic's `on_error` all the same.
#[test]
fn a_panic_drops_the_events_queued_before_it_on_a_stream_too() {
    let _quiet = QuietPanics::new();
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Noter {
        delimiter: Some("\n"),
        ..Noter::new("on_error")
    })
    .unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    net.send(peer, "partial");
    net.shutdown(peer);
    net.run();
    let conn = ChannelId::from_bits(1);
    assert_eq!(
        net.callbacks(conn),
        ["on_connect", "on_error", "on_error", "on_close"]
    );
}

/// A client that reconnects when it closes, as Pants clients often do.
struct Reconnect {
    again: bool,
}

impl Handler for Reconnect {
    fn on_close(&mut self, cx: &mut Context<'_>) {
        if self.again {
            cx.connect("127.0.0.1:7", Reconnect { again: false })
                .unwrap();
        }
    }
}

/// Section 5: after `stop()` the engine finishes once every channel closed, also one opened
/// during the shutdown (here by a client that reconnects in `on_close`), which is closed the
/// same way. Such a channel used to stay open, so the engine never finished and a driver
/// waiting for `is_finished()` waited forever.
#[test]
fn a_channel_opened_during_stop_is_closed_too() {
    let mut net = Network::new();
    let (listener, _) = net.peer_listen("127.0.0.1:7").unwrap();
    net.connect("127.0.0.1:7", Reconnect { again: true })
        .unwrap();
    net.run();
    net.engine().stop();
    net.advance(Duration::from_secs(60));
    let _ = net.peer_accept(listener);
    assert!(
        net.engine().is_finished(),
        "{} channel(s) left a minute after stop()",
        net.engine().channel_count()
    );
}

/// Property 5 (the engine never panics): a timer may close a stream at once while that
/// stream's own timeout (here an idle timeout) is due in the same turn. The engine used to
/// feed `handle_timeout` to the stream while its `Action::Close` was still pending, which
/// tripped the stream's drive-order `debug_assert!` inside `Engine::turn` (debug builds only).
#[test]
fn a_stream_closed_at_once_by_a_timer_as_its_timeout_is_due_is_safe() {
    let config = EngineConfig {
        stream: Arc::new(StreamConfig {
            idle_timeout: Some(Duration::from_secs(1)),
            ..StreamConfig::default()
        }),
        trace: true,
        ..EngineConfig::default()
    };
    let mut net = Network::with_config(config, 0);
    let conn = ChannelId::from_bits(1);
    // Set before the connection exists, so it comes first among the deadlines at 1 s.
    net.context().defer(Duration::from_secs(1), move |cx| {
        cx.channel(conn).unwrap().close_now();
    });
    net.listen("127.0.0.1:1", || ()).unwrap();
    let _peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    net.advance(Duration::from_secs(1));
    assert_eq!(net.callbacks(conn), ["on_connect", "on_close"]);
}
