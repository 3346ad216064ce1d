//! What each protocol's output must look like, whatever the input: a model for the simple
//! protocols, a grammar for the ones that answer requests.

use bytes::Bytes;
use pants_core::testing::check::{PeerOutcome, Script, Step};

use super::{Protocol, READ_LIMIT, models};

/// Panics unless what each peer of `script` saw (`peers`, with the input whole) is what
/// `protocol` may answer. The last peer is the bystander, whose request must be served.
pub(super) fn check(protocol: Protocol, script: &Script, peers: &[PeerOutcome]) {
    if protocol == Protocol::Chat {
        return check_chat(script, peers);
    }
    let inputs = inputs(script);
    for (peer, (input, outcome)) in inputs.iter().zip(peers).enumerate() {
        match protocol {
            Protocol::Echo => check_echo(input, outcome),
            Protocol::Resp => check_resp(input, outcome),
            Protocol::Http => check_http(input, outcome),
            Protocol::Chat => unreachable!("checked above"),
        }
        .unwrap_or_else(|complaint| panic!("{protocol:?}, peer {peer}: {complaint}"));
    }
    let bystander = peers.last().map(|p| &p.received[..]).unwrap_or_default();
    let served = match protocol {
        Protocol::Echo => bystander == b"probe",
        Protocol::Resp => bystander == b"+PONG\r\n",
        Protocol::Http => {
            http_responses(bystander, &[false]).is_ok_and(|r| r.len() == 1 && r[0].status == 200)
        }
        Protocol::Chat => unreachable!("checked above"),
    };
    assert!(served, "{protocol:?}: the bystander was not served");
}

/// What each peer sends before its EOF or reset (it sends nothing after).
fn inputs(script: &Script) -> Vec<Vec<u8>> {
    let mut inputs = vec![Vec::new(); script.peers()];
    let mut ended = vec![false; script.peers()];
    for step in script.steps() {
        match step {
            Step::Send { peer, data } if !ended[*peer] => inputs[*peer].extend_from_slice(data),
            Step::Eof { peer } | Step::Reset { peer } => ended[*peer] = true,
            _ => {}
        }
    }
    inputs
}

fn check_echo(input: &[u8], outcome: &PeerOutcome) -> Result<(), String> {
    if outcome.received != input {
        return Err("the output is not the input".into());
    }
    if outcome.closed_early {
        return Err("closed before the peer's EOF".into());
    }
    Ok(())
}

fn check_resp(input: &[u8], outcome: &PeerOutcome) -> Result<(), String> {
    let replies =
        resp_replies(&outcome.received).map_err(|err| format!("malformed output: {err}"))?;
    let is_protocol_error = |r: &&[u8]| r.starts_with(b"-ERR Protocol error");
    if let Some(position) = replies.iter().position(is_protocol_error)
        && position + 1 != replies.len()
    {
        return Err("a reply after a protocol error".into());
    }
    let model = models::resp(input);
    if replies.len() != model.replies.len() {
        return Err(format!(
            "{} replies to {} commands",
            replies.len(),
            model.replies.len()
        ));
    }
    if outcome.closed_early != model.closes {
        return Err("closed early or not, unlike the model".into());
    }
    let why = replies
        .last()
        .is_some_and(|r| is_protocol_error(r) || *r == b"+OK\r\n");
    if outcome.closed_early && !why {
        return Err("closed early without a protocol error or QUIT's +OK".into());
    }
    Ok(())
}

fn check_http(input: &[u8], outcome: &PeerOutcome) -> Result<(), String> {
    let model = models::http(input);
    let bodiless: Vec<bool> = model.replies.iter().map(|r| r.bodiless).collect();
    let responses = http_responses(&outcome.received, &bodiless)
        .map_err(|err| format!("malformed output: {err}"))?;
    let finals: Vec<&Response> = responses.iter().filter(|r| r.status != 100).collect();
    let statuses: Vec<u16> = finals.iter().map(|r| r.status).collect();
    let expected: Vec<u16> = model.replies.iter().map(|r| r.status).collect();
    if statuses != expected {
        return Err(format!("responses {statuses:?}, the model's {expected:?}"));
    }
    if responses.len() - finals.len() != model.continues {
        return Err("not one 100 Continue per request expecting it".into());
    }
    if outcome.closed_early != model.closes {
        return Err("closed early or not, unlike the model".into());
    }
    if let Some(position) = finals.iter().position(|r| r.closes)
        && position + 1 != finals.len()
    {
        return Err("a response after Connection: close".into());
    }
    if outcome.closed_early && !finals.last().is_some_and(|r| r.closes) {
        return Err("closed without Connection: close".into());
    }
    Ok(())
}

/// Panics unless each chat peer received what [`chat_model`] says.
fn check_chat(script: &Script, peers: &[PeerOutcome]) {
    for (peer, (expected, outcome)) in chat_model(script).iter().zip(peers).enumerate() {
        assert!(
            outcome.received == expected.received,
            "chat, peer {peer}: got other lines than were sent: {:?}, expected {:?}",
            outcome.received,
            Bytes::copy_from_slice(&expected.received),
        );
        assert_eq!(
            outcome.closed_early, expected.overflowed,
            "chat, peer {peer}: closed early if and only if its line overflowed"
        );
    }
}

/// A chat peer in the model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ChatPeer {
    /// What it sent that is not a whole line yet.
    partial: Vec<u8>,
    /// Every line broadcast while it was connected, each with `\n`.
    received: Vec<u8>,
    /// It sent its EOF or reset, or the server closed it.
    gone: bool,
    /// The server closed it for a line longer than the read limit.
    overflowed: bool,
}

/// The chat model: each complete line of a peer (a `\r` before its `\n` stripped) goes to
/// every peer not gone yet, the sender included, until the peer sends a line (or an unfinished
/// one) longer than the read limit: the server then closes it. A peer is gone after its EOF
/// or reset, and its partial line with it.
fn chat_model(script: &Script) -> Vec<ChatPeer> {
    let mut peers = vec![ChatPeer::default(); script.peers()];
    for step in script.steps() {
        let (sender, data) = match step {
            Step::Send { peer, data } if !peers[*peer].gone => (*peer, data),
            Step::Eof { peer } | Step::Reset { peer } => {
                peers[*peer].gone = true;
                continue;
            }
            _ => continue,
        };
        peers[sender].partial.extend_from_slice(data);
        let mut overflowed = false;
        while let Some(end) = peers[sender].partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = peers[sender].partial.drain(..=end).collect();
            if end > READ_LIMIT {
                overflowed = true;
                break;
            }
            let text = &line[..end];
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            for peer in peers.iter_mut().filter(|peer| !peer.gone) {
                peer.received.extend_from_slice(text);
                peer.received.push(b'\n');
            }
        }
        let sender = &mut peers[sender];
        if overflowed || sender.partial.len() > READ_LIMIT {
            sender.overflowed = true;
            sender.gone = true;
        }
    }
    peers
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
    fn the_chat_model_broadcasts_lines_until_an_overlong_one_closes_its_sender() {
        let long = vec![b'x'; READ_LIMIT + 1];
        let script = Script::new()
            .send_from(0, "a\r\nb")
            .send_from(1, "c\n")
            .send_from(0, [&b"\n"[..], &long, b"\nlost\n"].concat())
            .send_from(1, "d\n")
            .eof_from(1)
            .send_from(2, "e\npartial");
        let model = chat_model(&script);
        assert_eq!(model[0].received, b"a\nc\nb\n");
        assert!(model[0].overflowed);
        assert_eq!(model[1].received, b"a\nc\nb\nd\n");
        assert!(!model[1].overflowed);
        assert_eq!(model[2].received, b"a\nc\nb\nd\ne\n");
    }

    #[test]
    fn a_peers_input_ends_at_its_eof_or_reset() {
        let script = Script::new()
            .send("a")
            .send_from(1, "b")
            .eof()
            .send("ignored")
            .send_from(1, "c")
            .reset_from(1)
            .send_from(1, "ignored");
        assert_eq!(inputs(&script), [b"a".to_vec(), b"bc".to_vec()]);
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
