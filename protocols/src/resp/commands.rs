//! The commands of the RESP server and the replies they write, in Redis' wording.

use bytes::{BufMut, Bytes};
use pants_core::{Context, Written};

use super::parse;
use super::value::{HEADER_MAX, Reply, Value, header_line};
use super::{Db, Map};

/// What the connection does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Read the next command.
    Continue,
    /// Flush the replies, then close (`QUIT`).
    Close,
}

/// Arguments longer than this are written on their own when echoed, not gathered first.
const GATHER_UP_TO: usize = 4096;

/// The reply buffer keeps at most this much room between commands.
const BUFFER_KEEP: usize = 64 * 1024;

/// The names `CONFIG GET` knows, with the values of a Redis that persists nothing.
const CONFIG: [(&[u8], &[u8]); 2] = [(b"save", b""), (b"appendonly", b"no")];

/// Runs one command (`args` is not empty) on `db`, writing its replies.
pub(super) fn execute(db: &Db, args: &[&[u8]], out: &mut Replies<'_, '_>) -> Outcome {
    let (name, rest) = args.split_first().expect("a command has a name");
    let Some(command) = Command::find(name) else {
        out.unknown_command(name, rest);
        return Outcome::Continue;
    };
    if !command.arity_fits(args.len()) {
        out.wrong_arity(command.name());
        return Outcome::Continue;
    }
    // Only the commands on keys reach the key space: in a group of engines, that is where
    // they share a lock, and PING or ECHO never take it.
    match command {
        Command::Ping => match rest {
            [] => out.fixed(b"+PONG\r\n"),
            [message] => out.bulk(message),
            _ => out.wrong_arity("ping"),
        },
        Command::Echo => out.bulk(rest[0]),
        Command::Set => match rest {
            [key, value] => {
                db.with_map(|map| set(map, key, value));
                out.fixed(OK);
            }
            _ => out.error(b"syntax error"),
        },
        Command::Get => db.with_map(|map| match map.get(rest[0]) {
            Some(value) => out.whole(value.reply()),
            None => out.nil(),
        }),
        Command::Del => {
            let removed = db.with_map(|map| {
                rest.iter()
                    .filter(|key| map.remove(**key).is_some())
                    .count()
            });
            out.integer(removed as i64);
        }
        Command::Exists => {
            let found =
                db.with_map(|map| rest.iter().filter(|key| map.contains_key(**key)).count());
            out.integer(found as i64);
        }
        Command::Incr => db.with_map(|map| incr(map, rest[0], out)),
        Command::Dbsize => out.integer(db.with_map(|map| map.len()) as i64),
        Command::Flushall => match rest {
            [] => {
                db.with_map(Map::clear);
                out.fixed(OK);
            }
            [mode] if is_one_of(mode, &[b"ASYNC", b"SYNC"]) => {
                db.with_map(Map::clear);
                out.fixed(OK);
            }
            _ => out.error(b"syntax error"),
        },
        Command::Quit => {
            out.fixed(OK);
            return Outcome::Close;
        }
        Command::Config => config(rest, out),
    }
    Outcome::Continue
}

/// The reply `+OK`.
const OK: &[u8] = b"+OK\r\n";

/// The commands this server knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Ping,
    Echo,
    Set,
    Get,
    Del,
    Exists,
    Incr,
    Dbsize,
    Flushall,
    Quit,
    Config,
}

impl Command {
    /// The command called `name`, in any case. A name's length and first letter leave at most
    /// one candidate, so one comparison decides.
    fn find(name: &[u8]) -> Option<Command> {
        let candidate = match (name.len(), name.first()? | 0x20) {
            (3, b's') => Command::Set,
            (3, b'g') => Command::Get,
            (3, b'd') => Command::Del,
            (4, b'p') => Command::Ping,
            (4, b'e') => Command::Echo,
            (4, b'i') => Command::Incr,
            (4, b'q') => Command::Quit,
            (6, b'e') => Command::Exists,
            (6, b'd') => Command::Dbsize,
            (6, b'c') => Command::Config,
            (8, b'f') => Command::Flushall,
            _ => return None,
        };
        // Every name is lowercase letters, and only a letter's two cases give that letter
        // once bit 0x20 is set: this is `eq_ignore_ascii_case`, with half the work.
        let lower = candidate.name().as_bytes();
        let same = name
            .iter()
            .zip(lower)
            .all(|(&byte, &letter)| byte | 0x20 == letter);
        same.then_some(candidate)
    }

    /// The name as Redis spells it in errors.
    fn name(self) -> &'static str {
        match self {
            Command::Ping => "ping",
            Command::Echo => "echo",
            Command::Set => "set",
            Command::Get => "get",
            Command::Del => "del",
            Command::Exists => "exists",
            Command::Incr => "incr",
            Command::Dbsize => "dbsize",
            Command::Flushall => "flushall",
            Command::Quit => "quit",
            Command::Config => "config",
        }
    }

    /// Whether `words` (the name included) suit the command: Redis' arity, where a negative
    /// one means at least that many.
    fn arity_fits(self, words: usize) -> bool {
        match self {
            Command::Echo | Command::Get | Command::Incr => words == 2,
            Command::Dbsize => words == 1,
            Command::Set => words >= 3,
            Command::Del | Command::Exists | Command::Config => words >= 2,
            Command::Ping | Command::Flushall | Command::Quit => words >= 1,
        }
    }
}

/// Stores a copy of `value` at `key`; a key that is there already is kept, and its value
/// overwritten (in place when it can be, see [`Value::overwrite`]).
fn set(map: &mut Map, key: &[u8], value: &[u8]) {
    match map.get_mut(key) {
        Some(stored) => stored.overwrite(value),
        None => {
            map.insert(copied(key), Value::new(value));
        }
    }
}

fn incr(map: &mut Map, key: &[u8], out: &mut Replies<'_, '_>) {
    let stored = map.get_mut(key);
    let current = match stored.as_deref() {
        None => 0,
        Some(value) => match parse::integer(value.bytes()) {
            Some(n) => n,
            None => return out.error(b"value is not an integer or out of range"),
        },
    };
    let Some(next) = current.checked_add(1) else {
        return out.error(b"increment or decrement would overflow");
    };
    // The value is the digits of the reply's line `:n\r\n`.
    let mut line = [0; HEADER_MAX];
    let line = header_line(b':', next, &mut line);
    let text = &line[1..line.len() - 2];
    match stored {
        Some(stored) => stored.overwrite(text),
        None => {
            map.insert(copied(key), Value::new(text));
        }
    }
    out.integer(next);
}

fn config(rest: &[&[u8]], out: &mut Replies<'_, '_>) {
    let (sub, names) = rest.split_first().expect("the arity asks for a subcommand");
    if !sub.eq_ignore_ascii_case(b"GET") {
        let mut message = b"unknown subcommand '".to_vec();
        message.extend_from_slice(c_string(sub, 128));
        message.extend_from_slice(b"'. Try CONFIG HELP.");
        return out.error(&message);
    }
    if names.is_empty() {
        return out.wrong_arity("config|get");
    }
    let found: Vec<_> = CONFIG
        .iter()
        .filter(|(name, _)| names.iter().any(|asked| asked.eq_ignore_ascii_case(name)))
        .collect();
    out.array(found.len() * 2);
    for (name, value) in found {
        out.bulk(name);
        out.bulk(value);
    }
}

/// A stored key: a copy of the argument, which lives only for the command (see [`Value`]).
fn copied(bytes: &[u8]) -> Bytes {
    Bytes::copy_from_slice(bytes)
}

fn is_one_of(word: &[u8], choices: &[&[u8]]) -> bool {
    choices
        .iter()
        .any(|choice| word.eq_ignore_ascii_case(choice))
}

/// `bytes` as C's `%.Ns` shows it: up to the first NUL, at most `max` bytes.
fn c_string(bytes: &[u8], max: usize) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end.min(max)]
}

/// The replies of one command, gathered in the server's reply buffer and written as one copy
/// (large values go out as their own `Bytes`, in order, without a copy).
pub(super) struct Replies<'c, 'a> {
    cx: &'c mut Context<'a>,
    buf: &'c mut Vec<u8>,
    above_high_water: bool,
}

impl<'c, 'a> Replies<'c, 'a> {
    pub(super) fn new(cx: &'c mut Context<'a>, buf: &'c mut Vec<u8>) -> Self {
        Self {
            cx,
            buf,
            above_high_water: false,
        }
    }

    /// A reply known in advance (`+OK\r\n`, `$-1\r\n`).
    pub(super) fn fixed(&mut self, reply: &'static [u8]) {
        self.buf.put_slice(reply);
    }

    /// A reply encoded already (a stored value's): a small one is copied, a large one sent as
    /// it is, after what is gathered.
    pub(super) fn whole(&mut self, reply: Reply<'_>) {
        match reply {
            Reply::Copy(reply) => self.buf.put_slice(reply),
            Reply::Share(reply) => {
                self.flush();
                self.write(reply);
            }
        }
    }

    /// `-ERR message`, with line breaks turned into spaces as Redis does.
    pub(super) fn error(&mut self, message: &[u8]) {
        self.buf.put_slice(b"-ERR ");
        self.buf.extend(
            message
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.buf.put_slice(b"\r\n");
    }

    /// `:n`
    pub(super) fn integer(&mut self, n: i64) {
        self.header(b':', n);
    }

    /// `$-1`: no value.
    pub(super) fn nil(&mut self) {
        self.fixed(b"$-1\r\n");
    }

    /// `$len` and the value (copied: it is an argument, which lives only for the command).
    pub(super) fn bulk(&mut self, value: &[u8]) {
        self.header(b'$', value.len() as i64);
        if value.len() <= GATHER_UP_TO {
            self.buf.put_slice(value);
        } else {
            self.flush();
            self.write_slice(value);
        }
        self.buf.put_slice(b"\r\n");
    }

    /// `*n`: an array of the `n` replies that follow.
    pub(super) fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// Redis' reply to a command it does not know.
    pub(super) fn unknown_command(&mut self, name: &[u8], args: &[&[u8]]) {
        let mut message = b"unknown command '".to_vec();
        message.extend_from_slice(c_string(name, 128));
        message.extend_from_slice(b"', with args beginning with: ");
        let mut shown = Vec::new();
        for arg in args {
            if shown.len() >= 128 {
                break;
            }
            let room = 128 - shown.len();
            shown.push(b'\'');
            shown.extend_from_slice(c_string(arg, room));
            shown.extend_from_slice(b"' ");
        }
        message.extend_from_slice(&shown);
        self.error(&message);
    }

    /// Redis' reply to a command with the wrong number of arguments.
    pub(super) fn wrong_arity(&mut self, name: &str) {
        let message = format!("wrong number of arguments for '{name}' command");
        self.error(message.as_bytes());
    }

    /// Sends what is gathered; pauses reading when the queue went above its high-water mark.
    pub(super) fn finish(mut self) {
        self.flush();
        if self.above_high_water {
            self.cx.pause_reading();
        }
    }

    /// A line of a kind and a number (`$5\r\n`), formatted on the stack and added at once.
    fn header(&mut self, kind: u8, n: i64) {
        let mut line = [0; HEADER_MAX];
        self.buf.put_slice(header_line(kind, n, &mut line));
    }

    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let status = self.cx.write_slice(self.buf);
        self.written(status);
        self.buf.clear();
        if self.buf.capacity() > BUFFER_KEEP {
            *self.buf = Vec::new();
        }
    }

    fn write(&mut self, data: Bytes) {
        let status = self.cx.write(data);
        self.written(status);
    }

    fn write_slice(&mut self, data: &[u8]) {
        let status = self.cx.write_slice(data);
        self.written(status);
    }

    fn written(&mut self, written: Written) {
        // A refused write needs no handling here: the stream raises on_overflow_error (or is
        // closing already), and nothing written after it is sent.
        if written == Written::AboveHighWater {
            self.above_high_water = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_match_in_any_case_and_nothing_else() {
        for name in [
            "get", "GET", "gEt", "flushall", "FLUSHALL", "Config", "dbsize",
        ] {
            let found = Command::find(name.as_bytes()).map(Command::name);
            assert_eq!(found, Some(name.to_ascii_lowercase().as_str()), "{name}");
        }
        for name in [
            "", "ge", "gett", "g\x05t", "GE\x14", "sed", "exist", "{ing", "qui\x14",
        ] {
            assert_eq!(Command::find(name.as_bytes()), None, "{name:?}");
        }
    }
}
