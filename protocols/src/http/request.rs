//! The request head: the bytes before `\r\n\r\n`, parsed strictly (RFC 9112), without copying.

use bytes::Bytes;

use super::Status;

/// The methods the server tells apart; the others all get `501 Not Implemented`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
    Post,
    Other,
}

/// A parsed request head: what the response depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: Method,
    /// The path of the target, before any `?query`: a slice of the head, still percent-encoded.
    pub(crate) path: Bytes,
    /// Whether the connection stays open after the response (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    pub(crate) keep_alive: bool,
    /// HTTP/1.0 asked for keep-alive, which the response must then confirm.
    pub(crate) keep_alive_1_0: bool,
    /// The body's length, from `Content-Length` (0 without one).
    pub(crate) content_length: u64,
    /// `Expect: 100-continue` was sent: the client waits for `100 Continue` before the body.
    pub(crate) expects_continue: bool,
}

/// Parses a request head (without its final `\r\n\r\n`); `Err` is the error status to answer.
pub(crate) fn parse(head: &Bytes) -> Result<Request, Status> {
    let mut lines = head.split(|&b| b == b'\n').peekable();
    let mut next_line = || {
        let line = lines.next()?;
        Some(crlf_line(line, lines.peek().is_none()))
    };
    let request_line = next_line().ok_or(Status::BAD_REQUEST)??;
    let (method, target, http_1_1) = request_line_parts(request_line)?;
    let mut request = Request {
        method,
        path: match path_of(target) {
            b"" => Bytes::from_static(b"/"),
            path => head.slice_ref(path),
        },
        keep_alive: http_1_1,
        keep_alive_1_0: false,
        content_length: 0,
        expects_continue: false,
    };
    let mut fields = Fields::default();
    while let Some(line) = next_line() {
        fields.add(line?, &mut request, http_1_1)?;
    }
    if (http_1_1 && fields.hosts == 0) || fields.hosts > 1 {
        return Err(Status::BAD_REQUEST);
    }
    if fields.transfer_encoding {
        // A body we cannot frame: with Content-Length too it is a smuggling attempt.
        return Err(if fields.content_length.is_some() {
            Status::BAD_REQUEST
        } else {
            Status::NOT_IMPLEMENTED
        });
    }
    request.content_length = fields.content_length.unwrap_or(0);
    if !http_1_1 && request.keep_alive {
        request.keep_alive_1_0 = true;
    }
    Ok(request)
}

/// The header fields that matter, as they are met.
#[derive(Debug, Default)]
struct Fields {
    hosts: usize,
    content_length: Option<u64>,
    transfer_encoding: bool,
}

impl Fields {
    fn add(&mut self, line: &[u8], request: &mut Request, http_1_1: bool) -> Result<(), Status> {
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(Status::BAD_REQUEST)?;
        let (name, value) = (&line[..colon], trim_ows(&line[colon + 1..]));
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(Status::BAD_REQUEST); // also a folded line, or a space before the colon
        }
        if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(Status::BAD_REQUEST);
        }
        let is = |known: &str| name.eq_ignore_ascii_case(known.as_bytes());
        if is("host") {
            self.hosts += 1;
        } else if is("content-length") {
            let length = content_length(value)?;
            if self.content_length.is_some_and(|seen| seen != length) {
                return Err(Status::BAD_REQUEST);
            }
            self.content_length = Some(length);
        } else if is("transfer-encoding") {
            self.transfer_encoding = true;
        } else if is("connection") {
            for option in value.split(|&b| b == b',').map(trim_ows) {
                if option.eq_ignore_ascii_case(b"close") {
                    request.keep_alive = false;
                } else if option.eq_ignore_ascii_case(b"keep-alive") && !http_1_1 {
                    request.keep_alive = true;
                }
            }
        } else if is("expect") && value.eq_ignore_ascii_case(b"100-continue") {
            request.expects_continue = true;
        }
        Ok(())
    }
}

/// A line of the head without its `\r` (the head was split at `\n`; the last line has no
/// line break left, the delimiter took it). A bare `\n` or `\r` is refused.
fn crlf_line(line: &[u8], last: bool) -> Result<&[u8], Status> {
    let line = if last {
        line
    } else {
        line.strip_suffix(b"\r").ok_or(Status::BAD_REQUEST)?
    };
    if line.contains(&b'\r') {
        return Err(Status::BAD_REQUEST);
    }
    Ok(line)
}

/// `METHOD SP target SP HTTP/1.x`: the method, the target, and whether it is HTTP/1.1.
fn request_line_parts(line: &[u8]) -> Result<(Method, &[u8], bool), Status> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Status::BAD_REQUEST);
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(Status::BAD_REQUEST);
    }
    let http_1_1 = match version {
        b"HTTP/1.1" => true,
        b"HTTP/1.0" => false,
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            return Err(Status::VERSION_NOT_SUPPORTED);
        }
        _ => return Err(Status::BAD_REQUEST),
    };
    if target.is_empty() || !target.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(Status::BAD_REQUEST);
    }
    let target = origin_form(target).ok_or(Status::BAD_REQUEST)?;
    let method = match method {
        b"GET" => Method::Get,
        b"HEAD" => Method::Head,
        b"POST" => Method::Post,
        _ => Method::Other,
    };
    Ok((method, target, http_1_1))
}

/// The target as an origin-form path (`/a/b?q`); an absolute-form target
/// (`http://host/a/b?q`) gives its path, empty when it has none (the caller reads that as
/// `/`). `*` (for `OPTIONS`) stays. The result is always a slice of `target`.
fn origin_form(target: &[u8]) -> Option<&[u8]> {
    if target.starts_with(b"/") || target == b"*" {
        return Some(target);
    }
    let lower = target.get(..8).map(<[u8]>::to_ascii_lowercase)?;
    let after_scheme = if lower.starts_with(b"http://") {
        &target[7..]
    } else if lower.starts_with(b"https://") {
        &target[8..]
    } else {
        return None;
    };
    match after_scheme.iter().position(|&b| b == b'/') {
        Some(slash) => Some(&after_scheme[slash..]),
        None => Some(&after_scheme[after_scheme.len()..]),
    }
}

/// The path of a target: up to `?` (or `#`, which a client should not send).
fn path_of(target: &[u8]) -> &[u8] {
    let end = target.iter().position(|&b| b == b'?' || b == b'#');
    &target[..end.unwrap_or(target.len())]
}

fn content_length(value: &[u8]) -> Result<u64, Status> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(Status::BAD_REQUEST);
    }
    value.iter().try_fold(0u64, |n, &digit| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(digit - b'0')))
            .ok_or(Status::CONTENT_TOO_LARGE)
    })
}

fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// A character of a token (RFC 9110 `tchar`): method and field names.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(head: &str) -> Result<Request, Status> {
        parse(&Bytes::copy_from_slice(head.as_bytes()))
    }

    #[test]
    fn a_simple_get_keeps_the_connection_alive() {
        let request = parsed("GET /a/b?x=1 HTTP/1.1\r\nHost: h").unwrap();
        assert_eq!(request.method, Method::Get);
        assert_eq!(request.path, "/a/b");
        assert!(request.keep_alive);
        assert_eq!(request.content_length, 0);
    }

    #[test]
    fn connection_options_and_versions_decide_keep_alive() {
        assert!(
            !parsed("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close")
                .unwrap()
                .keep_alive
        );
        assert!(!parsed("GET / HTTP/1.0").unwrap().keep_alive);
        let kept = parsed("GET / HTTP/1.0\r\nConnection: keep-alive").unwrap();
        assert!(kept.keep_alive && kept.keep_alive_1_0);
        let mixed = parsed("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, close").unwrap();
        assert!(!mixed.keep_alive);
    }

    #[test]
    fn content_length_and_expect_are_read() {
        let request = parsed(
            "POST /echo HTTP/1.1\r\nHost: h\r\ncontent-length:  12 \r\nExpect: 100-continue",
        )
        .unwrap();
        assert_eq!(request.content_length, 12);
        assert!(request.expects_continue);
        let same = parsed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3");
        assert_eq!(same.unwrap().content_length, 3);
    }

    #[test]
    fn an_absolute_form_target_gives_its_path() {
        assert_eq!(
            parsed("GET http://h:80/x?q HTTP/1.1\r\nHost: h")
                .unwrap()
                .path,
            "/x"
        );
        assert_eq!(
            parsed("GET HTTPS://h HTTP/1.1\r\nHost: h").unwrap().path,
            "/"
        );
    }

    #[test]
    fn malformed_heads_are_bad_requests() {
        for head in [
            "GET / HTTP/1.1",                                   // no Host
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b",             // two Hosts
            "GET /  HTTP/1.1\r\nHost: h",                       // two spaces
            "GET / HTTP/1.1 x\r\nHost: h",                      // four parts
            "G(T / HTTP/1.1\r\nHost: h",                        // not a token
            "GET a HTTP/1.1\r\nHost: h",                        // not a path
            "GET / HTTX/1.1\r\nHost: h",                        // not HTTP
            "GET / HTTP/1.1\r\nHost : h",                       // space before the colon
            "GET / HTTP/1.1\r\nHost: h\r\n folded",             // obsolete line folding
            "GET / HTTP/1.1\r\nHost h",                         // no colon
            "GET / HTTP/1.1\nHost: h",                          // bare LF
            "GET / HTTP/1.1\r\nHost: h\rx",                     // bare CR
            "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b",           // control character
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1", // not digits
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked",
        ] {
            assert_eq!(parsed(head), Err(Status::BAD_REQUEST), "{head:?}");
        }
    }

    #[test]
    fn unsupported_versions_and_codings_have_their_own_statuses() {
        assert_eq!(
            parsed("GET / HTTP/2.0\r\nHost: h"),
            Err(Status::VERSION_NOT_SUPPORTED)
        );
        let chunked = parsed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked");
        assert_eq!(chunked, Err(Status::NOT_IMPLEMENTED));
        let huge = parsed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999");
        assert_eq!(huge, Err(Status::CONTENT_TOO_LARGE));
    }
}
