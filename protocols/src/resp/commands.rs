//! The commands of the RESP server and the replies they write, in Redis' wording.

use std::collections::HashMap;
use std::fmt::Write as _;

use bytes::{BufMut, Bytes, BytesMut};
use pants_core::{Context, WriteStatus};

use super::Db;
use super::parse;

/// What the connection does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Read the next command.
    Continue,
    /// Flush the replies, then close (`QUIT`).
    Close,
}

/// Values up to this size are copied into the reply buffer; larger ones are written as their
/// own `Bytes`, without a copy.
const COPY_UP_TO: usize = 512;

/// The size of the chunks small replies are gathered in.
const REPLY_CHUNK: usize = 4096;

/// The names `CONFIG GET` knows, with the values of a Redis that persists nothing.
const CONFIG: [(&[u8], &[u8]); 2] = [(b"save", b""), (b"appendonly", b"no")];

/// Runs one command (`args` is not empty) on `db`, writing its replies.
pub(super) fn execute(db: &Db, args: &[Bytes], out: &mut Replies<'_, '_>) -> Outcome {
    let (name, rest) = args.split_first().expect("a command has a name");
    let Some(command) = Command::find(name) else {
        out.unknown_command(name, rest);
        return Outcome::Continue;
    };
    if !command.arity_fits(args.len()) {
        out.wrong_arity(command.name);
        return Outcome::Continue;
    }
    let mut map = db.map.borrow_mut();
    match command.name {
        "ping" => match rest {
            [] => out.simple("PONG"),
            [message] => out.bulk(message),
            _ => out.wrong_arity("ping"),
        },
        "echo" => out.bulk(&rest[0]),
        "set" => match rest {
            [key, value] => {
                map.insert(copied(key), copied(value));
                out.simple("OK");
            }
            _ => out.error(b"syntax error"),
        },
        "get" => match map.get(&rest[0]) {
            Some(value) => out.bulk(value),
            None => out.nil(),
        },
        "del" => out.integer(rest.iter().filter(|key| map.remove(*key).is_some()).count() as i64),
        "exists" => out.integer(rest.iter().filter(|key| map.contains_key(*key)).count() as i64),
        "incr" => incr(&mut map, &rest[0], out),
        "dbsize" => out.integer(map.len() as i64),
        "flushall" => match rest {
            [] => {
                map.clear();
                out.simple("OK");
            }
            [mode] if is_one_of(mode, &[b"ASYNC", b"SYNC"]) => {
                map.clear();
                out.simple("OK");
            }
            _ => out.error(b"syntax error"),
        },
        "quit" => {
            out.simple("OK");
            return Outcome::Close;
        }
        "config" => config(rest, out),
        other => unreachable!("command {other} is in the table but not run"),
    }
    Outcome::Continue
}

/// A command of the table: its name as Redis spells it in errors, and its arity (negative: at
/// least that many words, the name included).
struct Command {
    name: &'static str,
    arity: i32,
}

const COMMANDS: [Command; 11] = [
    Command::new("ping", -1),
    Command::new("echo", 2),
    Command::new("set", -3),
    Command::new("get", 2),
    Command::new("del", -2),
    Command::new("exists", -2),
    Command::new("incr", 2),
    Command::new("dbsize", 1),
    Command::new("flushall", -1),
    Command::new("quit", -1),
    Command::new("config", -2),
];

impl Command {
    const fn new(name: &'static str, arity: i32) -> Self {
        Self { name, arity }
    }

    fn find(name: &[u8]) -> Option<&'static Command> {
        COMMANDS
            .iter()
            .find(|command| name.eq_ignore_ascii_case(command.name.as_bytes()))
    }

    fn arity_fits(&self, words: usize) -> bool {
        let words = words as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 {
            words == arity
        } else {
            words >= -arity
        }
    }
}

fn incr(map: &mut HashMap<Bytes, Bytes>, key: &Bytes, out: &mut Replies<'_, '_>) {
    let current = match map.get(key) {
        None => 0,
        Some(value) => match parse::integer(value) {
            Some(n) => n,
            None => return out.error(b"value is not an integer or out of range"),
        },
    };
    let Some(next) = current.checked_add(1) else {
        return out.error(b"increment or decrement would overflow");
    };
    map.insert(copied(key), Bytes::from(next.to_string()));
    out.integer(next);
}

fn config(rest: &[Bytes], out: &mut Replies<'_, '_>) {
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
        out.bulk(&Bytes::from_static(name));
        out.bulk(&Bytes::from_static(value));
    }
}

/// A stored copy: a key or value sliced from the read buffer would keep the whole read chunk
/// it came in alive for as long as it is stored.
fn copied(bytes: &Bytes) -> Bytes {
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

/// The replies of one command, gathered in the connection's scratch buffer and written as one
/// `Bytes` (large values go out as their own `Bytes`, in order, without a copy).
pub(super) struct Replies<'c, 'a> {
    cx: &'c mut Context<'a>,
    buf: &'c mut BytesMut,
    above_high_water: bool,
}

impl<'c, 'a> Replies<'c, 'a> {
    pub(super) fn new(cx: &'c mut Context<'a>, buf: &'c mut BytesMut) -> Self {
        // Replies are split off one shared chunk, which is freed once all of them are sent.
        if buf.capacity() < 64 {
            buf.reserve(REPLY_CHUNK);
        }
        Self {
            cx,
            buf,
            above_high_water: false,
        }
    }

    /// `+text`
    pub(super) fn simple(&mut self, text: &str) {
        self.line(b'+', text.as_bytes());
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
        self.buf.put_slice(b"$-1\r\n");
    }

    /// `$len` and the value.
    pub(super) fn bulk(&mut self, value: &Bytes) {
        self.header(b'$', value.len() as i64);
        if value.len() <= COPY_UP_TO {
            self.buf.put_slice(value);
        } else {
            self.flush();
            self.write(value.clone());
        }
        self.buf.put_slice(b"\r\n");
    }

    /// `*n`: an array of the `n` replies that follow.
    pub(super) fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// Redis' reply to a command it does not know.
    pub(super) fn unknown_command(&mut self, name: &[u8], args: &[Bytes]) {
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

    /// A line of a kind and a number, formatted in place.
    fn header(&mut self, kind: u8, n: i64) {
        self.buf.put_u8(kind);
        write!(self.buf, "{n}\r\n").expect("formatting into a BytesMut cannot fail");
    }

    fn line(&mut self, kind: u8, text: &[u8]) {
        self.buf.put_u8(kind);
        self.buf.put_slice(text);
        self.buf.put_slice(b"\r\n");
    }

    fn flush(&mut self) {
        if !self.buf.is_empty() {
            let gathered = self.buf.split().freeze();
            self.write(gathered);
        }
    }

    fn write(&mut self, data: Bytes) {
        // A refused write needs no handling here: the stream raises on_overflow_error (or is
        // closing already), and nothing written after it is sent.
        if let Ok(WriteStatus::AboveHighWater) = self.cx.write(data) {
            self.above_high_water = true;
        }
    }
}
