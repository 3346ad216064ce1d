//! The RESP subset of the reference servers: what `redis-benchmark -t ping_inline,ping_mbulk,
//! set,get` sends, and the `CONFIG GET save` / `CONFIG GET appendonly` it asks at startup.
//!
//! Commands: `PING [msg]`, `SET key value` (no options), `GET key`, `CONFIG GET name...`
//! (`save` is `""`, `appendonly` is `"no"`, as a Redis without persistence answers). Requests
//! are multibulk (`*n` then `$len` arguments) or inline (words on a line). Anything else gets an
//! `-ERR` reply; a malformed request gets `-ERR Protocol error: ...` and the connection closes.
//!
//! [`process`] works on whatever bytes a read left: it answers every complete request at the
//! start of them, appending the replies to one output buffer (so pipelined requests are
//! answered with one write), and says how many bytes it used; the caller keeps the rest for the
//! next read. Nothing here allocates per request, except storing a new key.

use std::collections::HashMap;
use std::io::Write as _;

/// Arguments kept per request; a request with more is still parsed (and refused).
const MAX_ARGS: usize = 8;
/// The longest inline request or multibulk header line (Redis' own limit).
const MAX_INLINE: usize = 64 * 1024;
/// The most arguments a multibulk request may announce (Redis' own limit).
const MAX_MULTIBULK: i64 = 1024 * 1024;
/// The longest bulk argument (Redis' own limit).
const MAX_BULK: i64 = 512 * 1024 * 1024;

/// The key space of one server.
#[derive(Debug, Default)]
pub struct Db {
    map: HashMap<Box<[u8]>, Vec<u8>>,
}

/// The request was malformed: its error reply is in the output; close after sending it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolError;

/// Answers every complete request at the start of `input`, appending the replies to `out`.
/// Returns how many bytes of `input` those requests took; the rest is an unfinished request.
pub fn process(db: &mut Db, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ProtocolError> {
    let mut used = 0;
    let mut args: [&[u8]; MAX_ARGS] = [&[]; MAX_ARGS];
    loop {
        match parse(&input[used..], &mut args) {
            Parsed::Request { len, argc } => {
                used += len;
                if argc > 0 {
                    db.execute(&args[..argc.min(MAX_ARGS)], argc, out);
                }
            }
            Parsed::Incomplete => return Ok(used),
            Parsed::Invalid(message) => {
                out.extend_from_slice(b"-ERR Protocol error: ");
                out.extend_from_slice(message.as_bytes());
                out.extend_from_slice(b"\r\n");
                return Err(ProtocolError);
            }
        }
    }
}

enum Parsed {
    /// A whole request of `len` bytes with `argc` arguments (the first ones are in `args`).
    Request {
        len: usize,
        argc: usize,
    },
    Incomplete,
    Invalid(&'static str),
}

fn parse<'a>(input: &'a [u8], args: &mut [&'a [u8]; MAX_ARGS]) -> Parsed {
    match input.first() {
        None => Parsed::Incomplete,
        Some(b'*') => multibulk(input, args),
        Some(_) => inline(input, args),
    }
}

fn multibulk<'a>(input: &'a [u8], args: &mut [&'a [u8]; MAX_ARGS]) -> Parsed {
    let Some((count, mut at)) = line(input, 1) else {
        return incomplete_line(input, "too big mbulk count string");
    };
    let count = match integer(count) {
        Some(n) if n > MAX_MULTIBULK => return Parsed::Invalid("invalid multibulk length"),
        Some(n) if n <= 0 => return Parsed::Request { len: at, argc: 0 },
        Some(n) => n as usize,
        None => return Parsed::Invalid("invalid multibulk length"),
    };
    for i in 0..count {
        match input.get(at) {
            None => return Parsed::Incomplete,
            Some(b'$') => {}
            Some(_) => return Parsed::Invalid("expected '$'"),
        }
        let Some((len, body)) = line(input, at + 1) else {
            return incomplete_line(&input[at..], "too big bulk count string");
        };
        let len = match integer(len) {
            Some(len) if (0..=MAX_BULK).contains(&len) => len as usize,
            _ => return Parsed::Invalid("invalid bulk length"),
        };
        let end = body + len;
        match input.get(end..end + 2) {
            None => return Parsed::Incomplete,
            Some(b"\r\n") => {}
            Some(_) => return Parsed::Invalid("expected CRLF after a bulk argument"),
        }
        if let Some(arg) = args.get_mut(i) {
            *arg = &input[body..end];
        }
        at = end + 2;
    }
    Parsed::Request {
        len: at,
        argc: count,
    }
}

fn inline<'a>(input: &'a [u8], args: &mut [&'a [u8]; MAX_ARGS]) -> Parsed {
    let Some((text, len)) = line(input, 0) else {
        return incomplete_line(input, "too big inline request");
    };
    let mut argc = 0;
    for word in text
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|word| !word.is_empty())
    {
        if let Some(arg) = args.get_mut(argc) {
            *arg = word;
        }
        argc += 1;
    }
    Parsed::Request { len, argc }
}

/// The line starting at `from` (without its `\r\n` or `\n`), and where the next one starts.
fn line(input: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let rest = input.get(from..)?;
    let newline = from + memchr::memchr(b'\n', rest)?;
    let text = &input[from..newline];
    Some((text.strip_suffix(b"\r").unwrap_or(text), newline + 1))
}

fn incomplete_line(input: &[u8], too_long: &'static str) -> Parsed {
    if input.len() > MAX_INLINE {
        Parsed::Invalid(too_long)
    } else {
        Parsed::Incomplete
    }
}

/// A decimal integer, as Redis reads lengths (an optional `-`, digits, within `i64`).
fn integer(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix(b"-") {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut value: i64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(byte - b'0');
    }
    Some(if negative { -value } else { value })
}

impl Db {
    /// Runs one request; `args` holds its first arguments, `argc` counts them all.
    fn execute(&mut self, args: &[&[u8]], argc: usize, out: &mut Vec<u8>) {
        let name = args[0];
        if name.eq_ignore_ascii_case(b"PING") {
            match argc {
                1 => out.extend_from_slice(b"+PONG\r\n"),
                2 => bulk(out, args[1]),
                _ => wrong_arity(out, "ping"),
            }
        } else if name.eq_ignore_ascii_case(b"SET") {
            match argc {
                3 => {
                    let (key, value) = (args[1], args[2]);
                    match self.map.get_mut(key) {
                        Some(stored) => {
                            stored.clear();
                            stored.extend_from_slice(value);
                        }
                        None => {
                            self.map.insert(key.into(), value.to_vec());
                        }
                    }
                    out.extend_from_slice(b"+OK\r\n");
                }
                0..=2 => wrong_arity(out, "set"),
                _ => out.extend_from_slice(b"-ERR syntax error\r\n"),
            }
        } else if name.eq_ignore_ascii_case(b"GET") {
            match (argc, self.map.get(args.get(1).copied().unwrap_or_default())) {
                (2, Some(value)) => bulk(out, value),
                (2, None) => out.extend_from_slice(b"$-1\r\n"),
                _ => wrong_arity(out, "get"),
            }
        } else if name.eq_ignore_ascii_case(b"CONFIG") {
            config(args, argc, out);
        } else {
            out.extend_from_slice(b"-ERR unknown command\r\n");
        }
    }
}

/// `CONFIG GET name...` for the names redis-benchmark asks about.
fn config(args: &[&[u8]], argc: usize, out: &mut Vec<u8>) {
    if argc < 3 || argc > args.len() || !args[1].eq_ignore_ascii_case(b"GET") {
        out.extend_from_slice(b"-ERR only CONFIG GET name... is known here\r\n");
        return;
    }
    const KNOWN: [(&[u8], &[u8]); 2] = [(b"save", b""), (b"appendonly", b"no")];
    let asked = |name: &[u8]| args[2..].iter().any(|arg| arg.eq_ignore_ascii_case(name));
    let found = KNOWN.iter().filter(|(name, _)| asked(name)).count();
    let _ = write!(out, "*{}\r\n", found * 2);
    for (name, value) in KNOWN.iter().filter(|(name, _)| asked(name)) {
        bulk(out, name);
        bulk(out, value);
    }
}

fn bulk(out: &mut Vec<u8>, value: &[u8]) {
    let _ = write!(out, "${}\r\n", value.len());
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn wrong_arity(out: &mut Vec<u8>, name: &str) {
    let _ = write!(
        out,
        "-ERR wrong number of arguments for '{name}' command\r\n"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(db: &mut Db, input: &[u8]) -> (Result<usize, ProtocolError>, String) {
        let mut out = Vec::new();
        let used = process(db, input, &mut out);
        (used, String::from_utf8(out).unwrap())
    }

    #[test]
    fn pipelined_requests_are_answered_in_order_in_one_buffer() {
        let mut db = Db::default();
        let input =
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nabc\r\nPING\r\n*2\r\n$3\r\nget\r\n$1\r\nk\r\n";
        let (used, out) = run(&mut db, input);
        assert_eq!(used, Ok(input.len()));
        assert_eq!(out, "+OK\r\n+PONG\r\n$3\r\nabc\r\n");
    }

    #[test]
    fn an_unfinished_request_is_left_for_the_next_read() {
        let mut db = Db::default();
        let whole = b"PING\r\n*1\r\n$4\r\nPING\r\n";
        for cut in 6..whole.len() {
            let (used, out) = run(&mut db, &whole[..cut]);
            assert_eq!((used, out.as_str()), (Ok(6), "+PONG\r\n"), "cut at {cut}");
        }
    }

    #[test]
    fn config_get_answers_what_redis_benchmark_asks() {
        let mut db = Db::default();
        let (_, out) = run(&mut db, b"CONFIG GET save\r\nCONFIG GET appendonly\r\n");
        assert_eq!(
            out,
            "*2\r\n$4\r\nsave\r\n$0\r\n\r\n*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
        );
    }

    #[test]
    fn errors_and_protocol_errors() {
        let mut db = Db::default();
        let input = b"GET\r\nNOPE x\r\nGET missing\r\n";
        let (used, out) = run(&mut db, input);
        assert_eq!(used, Ok(input.len()));
        assert_eq!(
            out,
            "-ERR wrong number of arguments for 'get' command\r\n-ERR unknown command\r\n$-1\r\n"
        );
        let (used, out) = run(&mut db, b"*1\r\n+PING\r\n");
        assert_eq!(used, Err(ProtocolError));
        assert_eq!(out, "-ERR Protocol error: expected '$'\r\n");
    }
}
