//! What each protocol's output must look like, whatever the input: a model for the simple
//! protocols, a grammar for the ones that answer requests.

use bytes::Bytes;

use super::{Outcome, Protocol, READ_LIMIT, models};

/// Panics unless `outcome` (the fuzzed peer's) and `bystander` (the other client's, after its
/// probe) are what `protocol` may answer to `input`.
pub(super) fn check(protocol: Protocol, input: &[u8], outcome: &Outcome, bystander: &Bytes) {
    match protocol {
        Protocol::Echo => {
            assert!(
                outcome.received == input,
                "echo: the output is not the input"
            );
            assert!(!outcome.closed_early, "echo: closed before the peer's EOF");
            assert_eq!(bystander, "probe", "echo: the bystander was not echoed");
        }
        Protocol::Chat => {
            let (lines, overflow) = chat_lines(input);
            assert!(
                outcome.received == lines,
                "chat: the peer got other lines than it sent"
            );
            assert_eq!(
                outcome.closed_early, overflow,
                "chat: closed early if and only if a line overflowed"
            );
            let expected = [&lines[..], b"probe\n"].concat();
            assert!(
                *bystander == expected,
                "chat: the bystander got other lines than were sent"
            );
        }
        Protocol::Resp => {
            let replies = resp_replies(&outcome.received)
                .unwrap_or_else(|err| panic!("resp: malformed output: {err}"));
            let is_protocol_error = |r: &&[u8]| r.starts_with(b"-ERR Protocol error");
            if let Some(position) = replies.iter().position(is_protocol_error) {
                assert_eq!(
                    position + 1,
                    replies.len(),
                    "resp: a reply after a protocol error"
                );
            }
            let model = models::resp(input);
            assert_eq!(
                replies.len(),
                model.replies.len(),
                "resp: not one reply per command"
            );
            assert_eq!(
                outcome.closed_early, model.closes,
                "resp: closed early or not, unlike the model"
            );
            if outcome.closed_early {
                let why = replies
                    .last()
                    .is_some_and(|r| is_protocol_error(r) || *r == b"+OK\r\n");
                assert!(
                    why,
                    "resp: closed early without a protocol error or QUIT's +OK"
                );
            }
            assert_eq!(
                bystander, "+PONG\r\n",
                "resp: the bystander was not answered"
            );
        }
        Protocol::Http => {
            let model = models::http(input);
            let bodiless: Vec<bool> = model.replies.iter().map(|r| r.bodiless).collect();
            let responses = http_responses(&outcome.received, &bodiless)
                .unwrap_or_else(|err| panic!("http: malformed output: {err}"));
            let finals: Vec<&Response> = responses.iter().filter(|r| r.status != 100).collect();
            let statuses: Vec<u16> = finals.iter().map(|r| r.status).collect();
            let expected: Vec<u16> = model.replies.iter().map(|r| r.status).collect();
            assert_eq!(statuses, expected, "http: other responses than the model's");
            assert_eq!(
                responses.len() - finals.len(),
                model.continues,
                "http: not one 100 Continue per request expecting it"
            );
            assert_eq!(
                outcome.closed_early, model.closes,
                "http: closed early or not, unlike the model"
            );
            if let Some(position) = finals.iter().position(|r| r.closes) {
                assert_eq!(
                    position + 1,
                    finals.len(),
                    "http: a response after Connection: close"
                );
            }
            if outcome.closed_early {
                assert!(
                    finals.last().is_some_and(|r| r.closes),
                    "http: closed without Connection: close"
                );
            }
            let bystander =
                http_responses(bystander, &[false]).expect("http: the bystander's response");
            assert!(
                bystander.len() == 1 && bystander[0].status == 200,
                "http: the bystander was not answered"
            );
        }
    }
}

/// The chat model: each line of `input` up to the first longer than the read limit, with
/// `\n` and without a `\r` before it; and whether such a line (or an unfinished one already
/// over the limit) ended the connection.
fn chat_lines(input: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return (out, rest.len() > READ_LIMIT);
        };
        if end > READ_LIMIT {
            return (out, true);
        }
        let line = &rest[..end];
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        out.push(b'\n');
        rest = &rest[end + 1..];
    }
}

/// Splits RESP output into its top-level replies; `Err` says what is malformed.
fn resp_replies(mut bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut replies = Vec::new();
    while !bytes.is_empty() {
        let len = resp_reply(bytes, 0)?;
        replies.push(&bytes[..len]);
        bytes = &bytes[len..];
    }
    Ok(replies)
}

/// The length of the reply at the start of `bytes`.
fn resp_reply(bytes: &[u8], depth: usize) -> Result<usize, String> {
    if depth > 2 {
        return Err("arrays nested deeper than this server writes them".into());
    }
    let (line, after) = resp_line(bytes)?;
    let number = || -> Result<i64, String> {
        std::str::from_utf8(&line[1..])
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("not a number: {:?}", line.escape_ascii().to_string()))
    };
    match line.first() {
        Some(b'+' | b'-') => Ok(after),
        Some(b':') => number().map(|_| after),
        Some(b'$') => match number()? {
            -1 => Ok(after),
            n if n >= 0 => {
                let end = after + n as usize;
                match bytes.get(end..end + 2) {
                    Some(b"\r\n") => Ok(end + 2),
                    _ => Err("a bulk string without its \\r\\n".into()),
                }
            }
            n => Err(format!("bulk length {n}")),
        },
        Some(b'*') => {
            let mut at = after;
            for _ in 0..number()? {
                at += resp_reply(&bytes[at..], depth + 1)?;
            }
            Ok(at)
        }
        _ => Err(format!(
            "no reply type in {:?}",
            line.escape_ascii().to_string()
        )),
    }
}

/// The first line of `bytes` (without `\r\n`, which must end it and appear nowhere in it),
/// and where the next begins.
fn resp_line(bytes: &[u8]) -> Result<(&[u8], usize), String> {
    let end = bytes
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or("an unfinished line")?;
    let line = &bytes[..end];
    if line.contains(&b'\r') || line.contains(&b'\n') {
        return Err("a line break inside a reply line".into());
    }
    Ok((line, end + 2))
}

/// An HTTP response, as far as the checks care.
#[derive(Debug)]
struct Response {
    status: u16,
    /// It said `Connection: close`.
    closes: bool,
}

/// Splits HTTP output into responses: `bodiless` says, for each final response, whether it
/// answers a `HEAD` (a `Content-Length` but no body); `100 Continue` responses may come
/// between them.
fn http_responses(mut bytes: &[u8], bodiless: &[bool]) -> Result<Vec<Response>, String> {
    let mut responses = Vec::new();
    let mut finals = 0;
    while !bytes.is_empty() {
        let (head_end, status, length, closes) = http_head(bytes)
            .ok_or_else(|| format!("no response head at {:?}", bytes.escape_ascii().to_string()))?;
        let mut end = head_end;
        if status != 100 {
            let head_only = *bodiless.get(finals).ok_or("more responses than requests")?;
            finals += 1;
            if !head_only {
                end += length;
            }
        }
        if end > bytes.len() {
            return Err("an unfinished body".into());
        }
        responses.push(Response { status, closes });
        bytes = &bytes[end..];
    }
    Ok(responses)
}

/// A response head at the start of `bytes`: its length, status, `Content-Length` and whether
/// it says `Connection: close`.
fn http_head(bytes: &[u8]) -> Option<(usize, u16, usize, bool)> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?.strip_prefix("HTTP/1.1 ")?;
    let status: u16 = status_line.get(..3)?.parse().ok()?;
    if status == 100 {
        return (head == "HTTP/1.1 100 Continue").then_some((end + 4, 100, 0, false));
    }
    let (mut length, mut closes) = (None, false);
    for line in lines {
        let (name, value) = line.split_once(": ")?;
        match name {
            "Content-Length" if length.is_none() => length = Some(value.parse().ok()?),
            "Content-Length" => return None,
            "Connection" => closes = value == "close",
            _ => {}
        }
    }
    Some((end + 4, status, length?, closes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chat_model_stops_at_the_first_overlong_line() {
        let long = vec![b'x'; READ_LIMIT + 1];
        let input = [&b"a\r\nb\n"[..], &long, b"\nc\n"].concat();
        assert_eq!(chat_lines(&input), (b"a\nb\n".to_vec(), true));
        assert_eq!(chat_lines(b"a\npartial"), (b"a\n".to_vec(), false));
    }

    #[test]
    fn resp_output_splits_into_replies_and_refuses_broken_ones() {
        let output = b"+OK\r\n$3\r\na\r\n\r\n*2\r\n$1\r\nx\r\n:5\r\n$-1\r\n";
        assert_eq!(resp_replies(output).unwrap().len(), 4);
        assert!(resp_replies(b"+OK\r\n$3\r\nab\r\n").is_err());
        assert!(resp_replies(b"+O\rK\r\n").is_err());
        assert!(resp_replies(b"OK\r\n").is_err());
    }

    #[test]
    fn http_output_splits_by_content_length_except_for_head() {
        let get = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
        let interim = "HTTP/1.1 100 Continue\r\n\r\n";
        let close = "HTTP/1.1 400 Bad Request\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx";
        let output = [get, head, interim, get, close].concat();
        let responses = http_responses(output.as_bytes(), &[false, true, false, false]).unwrap();
        assert_eq!(responses.len(), 5);
        assert!(responses[4].closes);
        assert!(
            http_responses(get.as_bytes(), &[]).is_err(),
            "more responses than requests"
        );
        assert!(http_responses(&get.as_bytes()[..get.len() - 1], &[false]).is_err());
    }
}
