//! Reference models of the framing of RESP and HTTP: the whole input in one buffer, cut with
//! plain searches, no read delimiter. They share the servers' parsers of one line or one head
//! (tested on their own), so a difference from the server is a framing or state bug: a
//! delimiter not switched back, a frame lost or answered twice, a limit applied differently.

use bytes::Bytes;

use super::{HARD_READ_LIMIT, READ_LIMIT};
use crate::http::request::{self, Method};
use crate::resp::args::Args;
use crate::resp::{MAX_MULTIBULK, parse};

/// What the server must answer to the whole input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Expected {
    /// Final replies or responses, in order (for RESP, only their number matters).
    pub(super) replies: Vec<Reply>,
    /// HTTP's interim `100 Continue` responses.
    pub(super) continues: usize,
    /// The server closes before the peer's EOF (a protocol error, `QUIT`, `Connection: close`).
    pub(super) closes: bool,
}

/// One expected reply or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Reply {
    /// HTTP: the status code (RESP: 0).
    pub(super) status: u16,
    /// HTTP: it answers a `HEAD`, so it has a `Content-Length` but no body.
    pub(super) bodiless: bool,
}

impl Expected {
    fn reply(&mut self, reply: Reply) {
        self.replies.push(reply);
    }

    /// One last reply, then the server closes.
    fn last(mut self, reply: Reply) -> Self {
        self.replies.push(reply);
        self.closes = true;
        self
    }
}

/// An HTTP response with a body.
fn status(status: u16) -> Reply {
    Reply {
        status,
        bodiless: false,
    }
}

/// A line at `at`: its bytes before `\n`, or `Err(true)` if it is over the read limit, or
/// `Err(false)` if it is not complete yet.
fn line(input: &[u8], at: usize) -> Result<(&[u8], usize), bool> {
    let rest = &input[at..];
    match rest.iter().position(|&b| b == b'\n') {
        Some(end) if end > READ_LIMIT => Err(true),
        Some(end) => Ok((&rest[..end], at + end + 1)),
        None => Err(rest.len() > READ_LIMIT),
    }
}

/// The replies of the RESP server to `input`.
pub(super) fn resp(input: &[u8]) -> Expected {
    let mut expected = Expected::default();
    let mut at = 0;
    loop {
        let (text, next) = match line(input, at) {
            Ok(found) => found,
            Err(overflow) => return finish(expected, overflow),
        };
        at = next;
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let words: Vec<Vec<u8>> = match text.strip_prefix(b"*") {
            None => {
                let mut words = Args::default();
                match parse::split_inline(text, &mut words) {
                    Ok(()) => words.with_slices(|words| words.iter().map(|w| w.to_vec()).collect()),
                    Err(_) => return expected.last(Reply::default()),
                }
            }
            Some(count) => match parse::integer(count) {
                Some(n) if n > MAX_MULTIBULK as i64 => return expected.last(Reply::default()),
                Some(n) if n <= 0 => continue,
                Some(n) => match resp_bulks(input, &mut at, n as usize) {
                    Bulks::Complete(words) => words,
                    Bulks::Error => return expected.last(Reply::default()),
                    Bulks::Incomplete => return expected,
                },
                None => return expected.last(Reply::default()),
            },
        };
        let Some(name) = words.first() else { continue };
        if name.eq_ignore_ascii_case(b"quit") {
            return expected.last(Reply::default());
        }
        expected.reply(Reply::default());
    }
}

fn finish(expected: Expected, overflow: bool) -> Expected {
    if overflow {
        expected.last(Reply::default())
    } else {
        expected
    }
}

enum Bulks {
    Complete(Vec<Vec<u8>>),
    Error,
    Incomplete,
}

/// `count` bulk arguments from `at`.
fn resp_bulks(input: &[u8], at: &mut usize, count: usize) -> Bulks {
    let mut words = Vec::new();
    for _ in 0..count {
        let (text, next) = match line(input, *at) {
            Ok(found) => found,
            Err(true) => return Bulks::Error,
            Err(false) => return Bulks::Incomplete,
        };
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let Some(len) = text.strip_prefix(b"$") else {
            return Bulks::Error;
        };
        let Some(len) = parse::integer(len).and_then(|n| usize::try_from(n).ok()) else {
            return Bulks::Error;
        };
        if len + 2 > HARD_READ_LIMIT {
            return Bulks::Error;
        }
        let Some(body) = input.get(next..next + len + 2) else {
            return Bulks::Incomplete;
        };
        // The byte before the `\n` is not checked (Redis checks neither).
        if body[len + 1] != b'\n' {
            return Bulks::Error;
        }
        words.push(body[..len].to_vec());
        *at = next + len + 2;
    }
    Bulks::Complete(words)
}

/// The responses of the HTTP server (with no root directory) to `input`.
pub(super) fn http(input: &[u8]) -> Expected {
    let mut expected = Expected::default();
    let mut at = 0;
    loop {
        let rest = &input[at..];
        let head_end = rest.windows(4).position(|w| w == b"\r\n\r\n");
        let head = match head_end {
            Some(end) if end <= READ_LIMIT => &rest[..end],
            // Over the limit once the limit and the delimiter's length are buffered.
            Some(_) => return expected.last(status(431)),
            None if rest.len() >= READ_LIMIT + 4 => return expected.last(status(431)),
            None => return expected,
        };
        at += head.len() + 4;
        let blank = head
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        if blank == head.len() {
            continue;
        }
        let request = match request::parse(&Bytes::copy_from_slice(&head[blank..])) {
            Ok(request) => request,
            Err(error) => return expected.last(status(error.code())),
        };
        let length = request.content_length;
        if length > 0 {
            if length > HARD_READ_LIMIT as u64 {
                return expected.last(status(413)); // sent whole, even to a HEAD
            }
            if request.expects_continue {
                expected.continues += 1;
            }
            if ((input.len() - at) as u64) < length {
                return expected;
            }
            at += length as usize;
        }
        let reply = Reply {
            status: route(request.method, &request.path),
            bodiless: request.method == Method::Head,
        };
        if !request.keep_alive {
            return expected.last(reply);
        }
        expected.reply(reply);
    }
}

/// The status of a parsed request on a server with no root directory.
fn route(method: Method, path: &[u8]) -> u16 {
    match (method, path) {
        (Method::Get | Method::Head, b"/") | (Method::Post, b"/echo") => 200,
        (Method::Get | Method::Head, b"/echo") | (Method::Post, _) => 405,
        (Method::Get | Method::Head, _) => 404,
        (Method::Other, _) => 501,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resp_model_counts_commands_and_stops_at_errors_and_quit() {
        let model = resp(b"PING\r\n*0\r\n\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nQUIT\r\nPING\r\n");
        assert_eq!((model.replies.len(), model.closes), (3, true));
        let model = resp(b"PING\r\n*1\r\n$4\r\nPI");
        assert_eq!((model.replies.len(), model.closes), (1, false));
        assert!(resp(b"*1\r\n$4\r\nPINGxx").closes);
    }

    #[test]
    fn the_http_model_counts_requests_and_knows_head_and_continue() {
        let input = b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n\
            POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok\
            GET / HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
        let model = http(input);
        let replies: Vec<(u16, bool)> = model
            .replies
            .iter()
            .map(|r| (r.status, r.bodiless))
            .collect();
        assert_eq!(replies, [(200, true), (200, false), (200, false)]);
        assert_eq!(model.continues, 1);
        assert!(model.closes);
    }
}
