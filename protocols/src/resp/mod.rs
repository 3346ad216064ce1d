//! A small Redis-compatible server: RESP2, inline and multibulk requests, one shared key space
//! (shared by the engines of a group too: [`SharedDb`]).
//!
//! Commands: `PING [msg]`, `ECHO msg`, `SET key value`, `GET key`, `DEL key...`,
//! `EXISTS key...`, `INCR key`, `DBSIZE`, `FLUSHALL [ASYNC|SYNC]`, `QUIT`, and of `CONFIG`
//! just `CONFIG GET name...` for the names `redis-benchmark` asks about (`save` and
//! `appendonly`, answered as a Redis without persistence does: `""` and `"no"`). Anything else
//! gets Redis's own `-ERR unknown command '...', with args beginning with: ...`. `SET` takes no
//! options (`EX`, `NX`, ... answer `-ERR syntax error`).
//!
//! # Framing: the read delimiter does it
//!
//! As Pants' HTTP server reads a header line and then a body by count, a connection here
//! switches its read delimiter, and never parses a partial frame itself.
//!
//! Between commands the delimiter is a custom one ([`ReadDelimiter::custom`], module
//! `whole`): a small multibulk command (at most 16 arguments and 16 KiB) is one frame, found
//! by walking its `*n` and `$len` lines; its arguments are slices of the frame, copied
//! nowhere. Anything else is its first line alone: an inline command, or the `*n` line of a
//! larger command (or of a malformed one), whose arguments are then read one frame each, by a
//! line and a count. An argument that is not the last is read together with the `$n` line of
//! the next one, by a line delimiter searched for after the argument and its `\r\n`
//! ([`ReadDelimiter::after`]): one frame and one delimiter change fewer per argument. An
//! argument not followed by its `\n` is a frame alone, answered with an error at once. Both
//! ways answer every command, and every malformed one, alike (the walk hands anything it does
//! not take whole to the line path).
//!
//! ```text
//!           small command: one frame "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n": run it
//!      ,--------------------------------------------------------------------.
//!      v              line "\n"            "\n" after n + 2 bytes             |
//!  [Command] --> "*3" ----> [BulkLength] --------> "$3" ----> [BulkBody] -----> "SET\r\n$5\r"
//!      ^  \                                                     ^    |
//!      |   `--> "PING" (inline): run it                         `----' more arguments
//!      |                                                              |
//!      `------------ last argument (count(n + 2) alone): run the command -'
//! ```
//!
//! Lines end at `\n` and an optional `\r` before it is stripped: Redis accepts a bare `\n`
//! after an inline command (as `nc` sends), and is lenient about it here for the multibulk
//! header lines too. Of the two bytes after a bulk argument, which Redis skips unread, the
//! `\n` must be there. The line delimiter is a constant one-byte delimiter: setting it, also
//! after a count, allocates and shares nothing.
//!
//! Reading a small command as one frame saves a dispatch, a call of `on_read` and a delimiter
//! change per argument, and the copy of its arguments: a pipelined `SET` costs 1,348
//! instructions instead of 2,150, a `GET` 1,186 instead of 1,734, a `PING` as multibulk 775
//! instead of 1,116 (`benches/engine_instructions.sh`, `-P 16`). An inline command that
//! quotes nothing runs on slices of its line too (an inline `PING` 666 instead of 742).
//!
//! # Limits
//!
//! Everything the peer controls is bounded:
//!
//! | what | bound | when over |
//! |---|---|---|
//! | a line (inline command, `*n`, `$n`) | the stream's read limit (64 KiB by default, as Redis' 64 KiB inline limit; between commands its `\n` counts) | `-ERR Protocol error: too big inline request` (or `... bulk count string`), close |
//! | a command read whole | 16 arguments and 16 KiB, within the read limit (under a smaller read limit, commands are read by argument) | read by argument instead |
//! | the multibulk count | 1024 * 1024, as Redis | `-ERR Protocol error: invalid multibulk length`, close |
//! | a bulk length | the stream's hard read limit (8 MiB by default; Redis allows 512 MB) | `-ERR Protocol error: invalid bulk length`, close |
//! | the bytes of one command's arguments | [`Limits::command_bytes`] (64 MiB) | `-ERR Protocol error: command over ... bytes`, close |
//! | the bytes of the commands all connections are reading | [`Limits::server_bytes`] (256 MiB) | `-ERR Protocol error: the server holds ... bytes of unfinished commands`, close |
//! | replies queued | the write queue's high-water mark, by pausing reading | (the peer's TCP window fills) |
//!
//! The line limits need the error reply to be written from `on_overflow_error`, which the
//! stream's default overflow policy (close at once) does not allow: listen with
//! [`stream_config`] (or [`listen`]), whose policy is `Discard`; the handler then replies and
//! closes itself. Under the default policy the connection is closed without the reply.
//!
//! The per-command bound alone would let a thousand connections hold 64 GiB between them: the
//! server-wide bound is this example's share of the engine's read buffer budget
//! (`EngineConfig::read_buffer_budget`), which cannot see the arguments once they are copied
//! out of their frames. (A command read whole is never copied out: until it is whole, the
//! stream's read buffer holds it, which that budget bounds; the command limit still decides
//! which commands are read whole, so that one over it is refused as before.) When a new argument would take the server over it, the connection
//! reading that argument is refused (Redis's `maxmemory-clients` closes the largest client
//! instead; refusing the one that grows needs no search and leaves the complete commands of
//! every other connection alone).
//!
//! After a protocol error the reply is flushed and the connection closed, as Redis does.
//! Pipelined commands are answered in order; each reply is one or a few writes, which the
//! write queue sends together in one vectored write.
//!
//! Frames are read in place (each is lent to `on_read` for the call): the arguments of a
//! command read whole are slices of its frame; those of a command read by argument are
//! copied, one after the other, into one buffer that every command of the server reuses
//! (module `args`), which costs less than keeping each frame as `Bytes` would.
//! Values are copied again when stored, into an allocation of their own: stored as a slice
//! of the stream's read chunk (64 KiB), a value would keep that whole chunk alive for as long
//! as the key lives. They are stored as the bulk reply
//! that `GET` sends, which it then sends as it is; a `SET` over a value of the same length
//! that no reply still holds copies into the stored value's allocation.

pub(crate) mod args;
mod commands;
mod key_hash;
pub(crate) mod parse;
mod value;
mod whole;

use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use pants_core::{
    Context, DelimiterError, Direction, Frame, Handler, IntoAddr, Listen, OverflowError,
    OverflowPolicy, ReadDelimiter, StreamConfig,
};

use args::Args;
use commands::{Outcome, Replies};
use key_hash::KeyHashing;
use value::Value;

/// The most arguments one multibulk command may announce (Redis' own bound).
pub const MAX_MULTIBULK: usize = 1024 * 1024;

/// What the commands being read may hold, per connection and for the whole server. Bytes are
/// counted as the arguments' bytes plus one offset each (8 bytes); the buffer they are copied
/// into grows by doubling, so its room is at most twice what is counted.
///
/// ```
/// use pants_protocols::resp::{self, Limits};
///
/// let small = Limits { server_bytes: 16 * 1024 * 1024, ..Limits::default() };
/// let factory = resp::factory_with(resp::Db::new(), small);
/// # drop(factory);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most the arguments of one command may hold: bounds what one peer can make its
    /// connection hold. 64 MiB by default.
    pub command_bytes: usize,
    /// The most the arguments of all the commands being read at once may hold, across every
    /// connection of the server: bounds what many peers can make the server hold together.
    /// 256 MiB by default, as the engine's read buffer budget. On a group of engines, each
    /// engine's factory counts its own connections: the bound is per engine, as the engine's
    /// budget is.
    pub server_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            command_bytes: 64 * 1024 * 1024,
            server_bytes: 256 * 1024 * 1024,
        }
    }
}

/// The key space shared by every connection of one server: cheap to clone (a shared handle).
///
/// One engine runs every handler on one thread, so [`Db::new`] keeps the keys in a
/// `Rc<RefCell<...>>`: no lock on the request path. A server on a group of engines (threads)
/// shares one [`SharedDb`], each engine's factory taking its own `Db` view of it
/// ([`SharedDb::db`]): the commands on keys then take a lock.
#[derive(Clone, Default)]
pub struct Db {
    keys: Keys,
}

/// Where a [`Db`] keeps its keys.
#[derive(Clone)]
enum Keys {
    /// One engine's alone.
    Local(Rc<RefCell<Map>>),
    /// Shared by the engines of a group.
    Shared(Arc<Mutex<Map>>),
}

impl Default for Keys {
    fn default() -> Self {
        Keys::Local(Rc::default())
    }
}

/// The keys and their values.
type Map = HashMap<Bytes, Value, KeyHashing>;

impl Db {
    /// An empty key space, for the connections of one engine.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores a copy of `value` at `key`, as `SET` does.
    pub fn set(&self, key: impl Into<Bytes>, value: impl Into<Bytes>) {
        let value = Value::new(&value.into());
        self.with_map(|map| map.insert(key.into(), value));
    }

    /// The value at `key`, as `GET` sees it.
    pub fn get(&self, key: &[u8]) -> Option<Bytes> {
        self.with_map(|map| map.get(key).map(Value::to_bytes))
    }

    /// How many keys there are (`DBSIZE`).
    pub fn len(&self) -> usize {
        self.with_map(|map| map.len())
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.with_map(|map| map.is_empty())
    }

    /// Runs `work` on the keys: borrowed on one engine, locked in a group. Commands never
    /// nest, and a lock poisoned by a panic elsewhere still holds whole entries (each change
    /// is one map operation), so it is taken as it is. Inlined: a call of its own, and the
    /// reply writing it then keeps out of line, cost a GET 60 instructions of its ~1,940
    /// (benches/engine_instructions.sh).
    #[inline(always)]
    fn with_map<R>(&self, work: impl FnOnce(&mut Map) -> R) -> R {
        // One instance of `work`, whichever the key space: only taking the keys branches.
        let mut keys = match &self.keys {
            Keys::Local(map) => Taken::Borrowed(map.borrow_mut()),
            Keys::Shared(map) => Taken::Locked(map.lock().unwrap_or_else(PoisonError::into_inner)),
        };
        work(match &mut keys {
            Taken::Borrowed(map) => map,
            Taken::Locked(map) => map,
        })
    }
}

/// The keys, taken for one command.
enum Taken<'a> {
    Borrowed(RefMut<'a, Map>),
    Locked(MutexGuard<'a, Map>),
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("keys", &self.len()).finish()
    }
}

/// One key space for the connections of several engines (threads): `Send + Sync`, cheap to
/// clone. Give each engine's factory its own view, [`db`](Self::db); a `SET` through any
/// engine is seen by a `GET` through any other.
///
/// Every command on keys takes the map's lock (`PING` and `ECHO` do not): one cache line
/// that every engine writes, which two engines barely feel and sixteen would. A server for
/// many cores would shard the key space by engine instead: each engine owns the keys that
/// hash to it, without a lock, and posts the commands on other keys to their owner (the
/// group's handle runs a closure there), answering once the owner's reply comes back.
///
/// ```
/// use pants_core::testing::Network;
/// use pants_protocols::resp::{self, SharedDb};
///
/// let keys = SharedDb::new();
/// // Two servers standing for two engines, each with its own view of the keys.
/// let (mut one, mut two) = (Network::new(), Network::new());
/// one.context().listen_with(resp::listen("127.0.0.1:6379", keys.db()))?;
/// two.context().listen_with(resp::listen("127.0.0.1:6379", keys.db()))?;
/// let (a, b) = (one.peer_connect("127.0.0.1:6379")?, two.peer_connect("127.0.0.1:6379")?);
/// one.send(a, "SET k v\r\n");
/// one.run();
/// two.send(b, "GET k\r\n");
/// two.run();
/// assert_eq!(two.received(b), "$1\r\nv\r\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct SharedDb {
    map: Arc<Mutex<Map>>,
}

impl SharedDb {
    /// An empty key space.
    pub fn new() -> Self {
        Self::default()
    }

    /// A view of the keys for one engine's connections.
    pub fn db(&self) -> Db {
        Db {
            keys: Keys::Shared(self.map.clone()),
        }
    }
}

impl fmt::Debug for SharedDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedDb")
            .field("keys", &self.db().len())
            .finish()
    }
}

/// A factory of connections sharing `db` and one compiled line delimiter.
///
/// ```
/// use pants_core::testing::Network;
/// use pants_protocols::resp;
///
/// let db = resp::Db::new();
/// let mut net = Network::new();
/// net.listen("127.0.0.1:6379", resp::factory(db.clone()))?;
/// let peer = net.peer_connect("127.0.0.1:6379")?;
/// net.send(peer, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\nINCR n\r\n");
/// net.run();
/// assert_eq!(net.received(peer), "+OK\r\n:1\r\n");
/// assert_eq!(db.get(b"k").unwrap(), "v1");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn factory(db: Db) -> impl FnMut() -> Resp + 'static {
    factory_with(db, Limits::default())
}

/// A factory as [`factory`], with `limits` on what the commands being read may hold.
pub fn factory_with(db: Db, limits: Limits) -> impl FnMut() -> Resp + 'static {
    // One reply chunk for the whole server: an idle connection holds none of it.
    let shared = Rc::new(Shared {
        db,
        limits,
        command: ReadDelimiter::custom(move |bytes| whole::size(bytes, limits.command_bytes)),
        out: RefCell::new(Vec::new()),
        spare: Cell::new(None),
        held: Cell::new(0),
    });
    move || Resp {
        shared: shared.clone(),
        state: State::Command,
        pending: None,
    }
}

/// The stream settings this server wants: the defaults, with the overflow policy `Discard`, so
/// that an overlong line can be answered with an error before the handler closes.
pub fn stream_config() -> StreamConfig {
    StreamConfig {
        overflow: OverflowPolicy::Discard,
        ..StreamConfig::default()
    }
}

/// A server at `addr` on `db`, with [`stream_config`]: give it to `listen_with`.
pub fn listen(addr: impl IntoAddr, db: Db) -> Listen {
    Listen::new(addr, factory(db)).stream_config(stream_config())
}

/// One client's connection to the server. Made by [`factory`]. Three words: an idle
/// connection's handler is a small allocation, and the arguments of a command live in a box
/// of their own only while the command is read.
pub struct Resp {
    shared: Rc<Shared>,
    state: State,
    /// The arguments of the multibulk command being read, from `Shared::spare`; `None`
    /// between commands.
    pending: Option<Box<Args>>,
}

/// Lines end at `\n` (an optional `\r` before it is stripped).
const LINE: ReadDelimiter = ReadDelimiter::byte(b'\n');

/// What a server's connections share: an idle connection holds only its [`Resp`].
struct Shared {
    db: Db,
    limits: Limits,
    /// The read delimiter between commands: a small command whole, or a line.
    command: ReadDelimiter,
    /// Scratch for small replies (callbacks never nest, so one borrow at a time); each
    /// command's replies leave it as one write.
    out: RefCell<Vec<u8>>,
    /// A finished command's [`Args`], emptied, for the next command of any connection:
    /// reading a command allocates nothing in the steady state.
    spare: Cell<Option<Box<Args>>>,
    /// What the connections' pending commands hold together (the sum of their
    /// [`Resp::held`]).
    held: Cell<usize>,
}

/// What the next frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A command line: a multibulk header `*n`, or an inline command. Line delimiter.
    Command,
    /// The `$len` line of the first argument; `left` arguments to read, this one included
    /// (at most [`MAX_MULTIBULK`]).
    BulkLength { left: u32 },
    /// An argument's bytes and their `\r\n`: a count delimiter of `len + 2` for the last
    /// argument; the line delimiter after `len + 2` bytes for the others, whose frame ends
    /// with the next argument's `$len` line.
    BulkBody { left: u32 },
    /// `QUIT` or a protocol error was answered: the stream is flushing, then closes.
    Closing,
}

impl Handler for Resp {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        self.read_commands(cx);
    }

    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        // A `$n` line comes alone after the `*n` line, and with the argument before it after
        // that: one call site, so that it is inlined.
        let (line, left) = match self.state {
            State::Command => return self.command(cx, &frame),
            State::BulkLength { left } => (&frame[..], left),
            State::BulkBody { left } => match self.bulk_body(cx, &frame, left) {
                Some(line) => (line, left - 1),
                None => return,
            },
            State::Closing => return,
        };
        self.bulk_length(cx, line, left);
    }

    fn on_write(&mut self, cx: &mut Context<'_>) {
        cx.resume_reading();
    }

    fn on_overflow_error(&mut self, cx: &mut Context<'_>, err: &OverflowError) {
        match (err.direction(), self.state) {
            // A bulk body is counted: what overflowed is a `$n` line, alone or after the body
            // it came with.
            (Direction::Read, State::BulkLength { .. } | State::BulkBody { .. }) => {
                self.protocol_error(cx, "too big bulk count string");
            }
            (Direction::Read, _) => self.protocol_error(cx, "too big inline request"),
            // A reply was refused: the ones after it must not be sent out of order.
            (Direction::Write, _) => self.close(cx),
        }
    }
}

impl Resp {
    /// Sets the read delimiter for the next command: whole when small, unless the stream's
    /// read limit is below the largest such command (then line by line, as a large one).
    fn read_commands(&self, cx: &mut Context<'_>) {
        let limits = cx.this().read_limits().unwrap_or_default();
        let delimiter = match limits.limit() >= whole::WHOLE_BYTES {
            true => &self.shared.command,
            false => &LINE,
        };
        cx.set_read_delimiter(delimiter)
            .expect("a line or a custom delimiter fits any read limit");
    }

    /// A frame read between commands: a small command whole, or the first line of one.
    fn command(&mut self, cx: &mut Context<'_>, frame: &[u8]) {
        if frame.first() == Some(&b'*') {
            let mut args: [&[u8]; whole::WHOLE_ARGS] = [&[]; whole::WHOLE_ARGS];
            let mut count = 0;
            let walk = whole::walk(frame, self.shared.limits.command_bytes, |arg| {
                if let Some(slot) = args.get_mut(count) {
                    *slot = arg;
                    count += 1;
                }
            });
            if walk == whole::Walk::Whole(frame.len()) {
                return self.run(cx, &args[..count]);
            }
        }
        // A line: read by the line delimiter (with no `\n`), or by the command one.
        self.command_line(cx, frame.strip_suffix(b"\n").unwrap_or(frame));
    }

    fn command_line(&mut self, cx: &mut Context<'_>, frame: &[u8]) {
        let line = strip_cr(frame);
        let Some(count) = line.strip_prefix(b"*") else {
            return self.inline(cx, line);
        };
        match parse::integer(count) {
            Some(n) if n > MAX_MULTIBULK as i64 => {
                self.protocol_error(cx, "invalid multibulk length")
            }
            // `*0` and `*-1` are empty commands: Redis skips them without a reply.
            Some(n) if n <= 0 => {}
            Some(n) => {
                // 1 ..= MAX_MULTIBULK: fits.
                let left = n as u32;
                self.pending = Some(self.shared.spare.take().unwrap_or_default());
                self.state = State::BulkLength { left };
                cx.set_read_delimiter(LINE)
                    .expect("a byte delimiter fits any read limit");
            }
            None => self.protocol_error(cx, "invalid multibulk length"),
        }
    }

    fn inline(&mut self, cx: &mut Context<'_>, line: &[u8]) {
        // Most inline commands quote nothing: their words are slices of the line (at most
        // 8 of them, or `split_inline` splits the line: an array of 16 cost a `PING` 10
        // instructions more to fill, benches/engine_instructions.sh).
        let mut plain: [&[u8]; 8] = [&[]; 8];
        match parse::plain_words(line, &mut plain) {
            Some(0) => return,
            Some(n) => return self.run(cx, &plain[..n]),
            None => {}
        }
        let mut words = self.shared.spare.take().unwrap_or_default();
        match parse::split_inline(line, &mut words) {
            Ok(()) if words.is_empty() => {}
            Ok(()) => words.with_slices(|args| self.run(cx, args)),
            Err(parse::Unbalanced) => self.protocol_error(cx, "unbalanced quotes in request"),
        }
        self.recycle(words);
    }

    fn bulk_length(&mut self, cx: &mut Context<'_>, frame: &[u8], left: u32) {
        let line = strip_cr(frame);
        let Some(len) = line.strip_prefix(b"$") else {
            // An empty line's first byte was its line ending, which the error shows as a space.
            let got = frame.first().copied().unwrap_or(b'\n');
            let message = [&b"expected '$', got '"[..], &[got], b"'"].concat();
            return self.protocol_error(cx, message);
        };
        let Some(len) = parse::integer(len).and_then(|len| usize::try_from(len).ok()) else {
            return self.protocol_error(cx, "invalid bulk length");
        };
        // The argument and its `\r\n`; unless it is the last one, the next argument's `$n`
        // line comes with it in the same frame.
        let body = len.saturating_add(2);
        let delimiter = match left {
            1 => ReadDelimiter::count(body),
            _ => LINE.after(body),
        };
        // A count over the stream's hard read limit is refused: that is the bulk length limit.
        match delimiter.and_then(|delimiter| cx.set_read_delimiter(delimiter)) {
            Ok(()) => {}
            Err(DelimiterError::OverHardLimit { .. }) => {
                return self.protocol_error(cx, "invalid bulk length");
            }
            Err(err) => unreachable!("a count of at least 2 is valid: {err}"),
        }
        // The argument counts from here on, for its command and for the server: one test of
        // both limits (with the message chosen out of line), the two sums kept as they change.
        let cost = Args::cost_of(len);
        let shared = &*self.shared;
        let pending = self.pending.get_or_insert_default();
        let command = pending.held().saturating_add(cost);
        let server = shared.held.get().saturating_add(cost);
        if command > shared.limits.command_bytes || server > shared.limits.server_bytes {
            return self.over_limits(cx, command);
        }
        pending.expect(len);
        shared.held.set(server);
        self.state = State::BulkBody { left };
    }

    /// Refuses an argument that takes its command (holding `command` bytes with it) or the
    /// server over its limit.
    #[cold]
    fn over_limits(&mut self, cx: &mut Context<'_>, command: usize) {
        let limits = self.shared.limits;
        let message = if command > limits.command_bytes {
            format!("command over {} bytes", limits.command_bytes)
        } else {
            format!(
                "the server holds {} bytes of unfinished commands",
                limits.server_bytes
            )
        };
        self.protocol_error(cx, message);
    }

    /// Takes an argument; when more follow, returns the next one's `$n` line, which came
    /// with it.
    fn bulk_body<'f>(
        &mut self,
        cx: &mut Context<'_>,
        frame: &'f [u8],
        left: u32,
    ) -> Option<&'f [u8]> {
        let pending = self.pending.get_or_insert_default();
        let (body, line) = frame.split_at(pending.expected().min(frame.len()));
        // Of the two bytes after an argument (which Redis does not look at), the `\n` is
        // checked, as soon as they are in: a frame read `after` an argument that does not end
        // with it is the argument alone.
        let Some((arg, [_, b'\n'])) = body.split_last_chunk::<2>() else {
            self.protocol_error(cx, "expected '\\r\\n' after a bulk argument");
            return None;
        };
        pending.push(arg);
        if left > 1 {
            return Some(line);
        }
        self.read_commands(cx);
        self.state = State::Command;
        let Some(pending) = self.take_pending() else {
            unreachable!("the argument was just pushed")
        };
        pending.with_slices(|args| self.run(cx, args));
        self.recycle(pending);
        None
    }

    /// Keeps a finished command's arguments box, emptied, as the server's spare (unless it
    /// grew large).
    fn recycle(&self, mut args: Box<Args>) {
        if args.recycle() {
            self.shared.spare.set(Some(args));
        }
    }

    /// Runs one complete command and sends its replies as one write (plus large values).
    fn run(&mut self, cx: &mut Context<'_>, args: &[&[u8]]) {
        let shared = &*self.shared;
        let mut out = shared.out.borrow_mut();
        let mut replies = Replies::new(cx, &mut out);
        let outcome = commands::execute(&shared.db, args, &mut replies);
        replies.finish();
        drop(out);
        if outcome == Outcome::Close {
            self.close(cx);
        }
    }

    /// Answers `-ERR Protocol error: ...`, then closes after flushing, as Redis does.
    fn protocol_error(&mut self, cx: &mut Context<'_>, message: impl AsRef<[u8]>) {
        let shared = &*self.shared;
        let mut out = shared.out.borrow_mut();
        let mut replies = Replies::new(cx, &mut out);
        replies.error(&[b"Protocol error: ", message.as_ref()].concat());
        replies.finish();
        drop(out);
        self.close(cx);
    }

    fn close(&mut self, cx: &mut Context<'_>) {
        self.state = State::Closing;
        self.take_pending();
        cx.close();
    }

    /// Takes the pending command's arguments, and what they held out of the server's total.
    fn take_pending(&mut self) -> Option<Box<Args>> {
        let shared = &self.shared;
        shared.held.set(shared.held.get() - self.held());
        self.pending.take()
    }

    /// Bytes this handler holds between callbacks: the pending command's arguments, and the
    /// one being read, counted as against [`Limits::command_bytes`]. For the fuzzing checks.
    pub(crate) fn held(&self) -> usize {
        self.pending.as_ref().map_or(0, |pending| pending.held())
    }
}

impl Drop for Resp {
    /// A connection that ends in the middle of a command gives its share of the server's
    /// budget back.
    fn drop(&mut self) {
        self.take_pending();
    }
}

impl fmt::Debug for Resp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resp")
            .field("state", &self.state)
            .field("args", &self.pending.as_ref().map_or(0, |p| p.len()))
            .field("held", &self.held())
            .finish()
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}
