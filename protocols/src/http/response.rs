//! Responses: status lines, heads, and the files under the root that `GET` may serve.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use bytes::{BufMut, Bytes, BytesMut};

/// An HTTP status code the server answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status(u16);

impl Status {
    pub(super) const OK: Status = Status(200);
    pub(super) const BAD_REQUEST: Status = Status(400);
    pub(super) const FORBIDDEN: Status = Status(403);
    pub(super) const NOT_FOUND: Status = Status(404);
    pub(super) const METHOD_NOT_ALLOWED: Status = Status(405);
    pub(super) const REQUEST_TIMEOUT: Status = Status(408);
    pub(super) const CONTENT_TOO_LARGE: Status = Status(413);
    pub(super) const HEADERS_TOO_LARGE: Status = Status(431);
    pub(super) const NOT_IMPLEMENTED: Status = Status(501);
    pub(super) const SERVICE_UNAVAILABLE: Status = Status(503);
    pub(super) const VERSION_NOT_SUPPORTED: Status = Status(505);

    /// The numeric code.
    pub(crate) fn code(self) -> u16 {
        self.0
    }

    fn reason(self) -> &'static str {
        match self.0 {
            200 => "OK",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            413 => "Content Too Large",
            431 => "Request Header Fields Too Large",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            505 => "HTTP Version Not Supported",
            _ => "Unknown",
        }
    }
}

/// What a response says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Persistence {
    /// HTTP/1.1's default: nothing to say.
    KeepAlive,
    /// An HTTP/1.0 client asked for keep-alive: confirm it.
    KeepAlive1_0,
    /// `Connection: close`: the server closes after this response.
    Close,
}

/// The head of a response: status line and fields, ending with the empty line.
pub(super) fn head(
    status: Status,
    content_type: &str,
    length: u64,
    persistence: Persistence,
    extra: &str,
) -> Bytes {
    let mut head = BytesMut::with_capacity(160);
    let _ = write!(
        head,
        "HTTP/1.1 {} {}\r\nServer: pants\r\nContent-Type: {content_type}\r\n\
         Content-Length: {length}\r\n{extra}",
        status.0,
        status.reason()
    );
    match persistence {
        Persistence::KeepAlive => {}
        Persistence::KeepAlive1_0 => head.put_slice(b"Connection: keep-alive\r\n"),
        Persistence::Close => head.put_slice(b"Connection: close\r\n"),
    }
    head.put_slice(b"\r\n");
    head.freeze()
}

/// The interim response to `Expect: 100-continue`.
pub(super) fn continue_head() -> Bytes {
    Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n")
}

/// The short text body of an error response.
pub(super) fn error_body(status: Status) -> Bytes {
    Bytes::from(format!("{} {}\n", status.0, status.reason()))
}

/// An open file to send, and its length.
#[derive(Debug)]
pub(super) struct Found {
    pub(super) file: File,
    pub(super) len: u64,
    pub(super) content_type: &'static str,
}

/// The file `path` (percent-encoded, from the request) names under `root`: refused with 403
/// if it would leave the root (a `..` segment, or a symbolic link pointing outside), 404 if
/// there is no such regular file, 400 if its encoding is broken, 503 if the server is out of
/// descriptors or memory to open it.
pub(super) fn find_file(root: &Path, path: &[u8]) -> Result<Found, Status> {
    let decoded = percent_decode(path).ok_or(Status::BAD_REQUEST)?;
    if decoded.contains(&0) {
        return Err(Status::NOT_FOUND);
    }
    let mut full = PathBuf::from(root);
    for segment in decoded.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => return Err(Status::FORBIDDEN),
            name => full.push(os_str(name).ok_or(Status::NOT_FOUND)?),
        }
    }
    let real = full.canonicalize().map_err(io_status)?;
    if !real.starts_with(root) {
        return Err(Status::FORBIDDEN);
    }
    let file = File::open(&real).map_err(io_status)?;
    let meta = file.metadata().map_err(io_status)?;
    if !meta.is_file() {
        return Err(Status::NOT_FOUND);
    }
    Ok(Found {
        file,
        len: meta.len(),
        content_type: content_type(&real),
    })
}

/// A path segment as the OS names files: any bytes on Unix, UTF-8 elsewhere.
#[cfg(unix)]
fn os_str(name: &[u8]) -> Option<&OsStr> {
    use std::os::unix::ffi::OsStrExt;
    Some(OsStr::from_bytes(name))
}

#[cfg(not(unix))]
fn os_str(name: &[u8]) -> Option<&OsStr> {
    std::str::from_utf8(name).ok().map(OsStr::new)
}

/// The status for a failure to find or open a file: whether the file is there is the
/// client's question (403, 404), whether the server can open it now is the server's (503).
fn io_status(err: io::Error) -> Status {
    // `EMFILE` and `ENFILE` have no `io::ErrorKind` of their own; their numbers are the same
    // on Linux, the BSDs and macOS.
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    match (err.kind(), err.raw_os_error()) {
        (_, Some(ENFILE | EMFILE)) | (io::ErrorKind::OutOfMemory, _) => Status::SERVICE_UNAVAILABLE,
        (io::ErrorKind::PermissionDenied, _) => Status::FORBIDDEN,
        _ => Status::NOT_FOUND,
    }
}

/// `%XX` decoded; `None` when a `%` is not followed by two hex digits.
fn percent_decode(path: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(path.len());
    let mut bytes = path.iter();
    while let Some(&byte) = bytes.next() {
        if byte != b'%' {
            out.push(byte);
            continue;
        }
        let high = hex(*bytes.next()?)?;
        let low = hex(*bytes.next()?)?;
        out.push(high << 4 | low);
    }
    Some(out)
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).map(|d| d as u8)
}

fn content_type(path: &Path) -> &'static str {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "css" => "text/css",
        "js" => "text/javascript",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_refuses_broken_escapes() {
        assert_eq!(percent_decode(b"/a%20b%2F").unwrap(), b"/a b/");
        assert_eq!(percent_decode(b"/a%2"), None);
        assert_eq!(percent_decode(b"/a%zz"), None);
    }

    #[test]
    fn dot_dot_segments_are_forbidden_even_encoded() {
        let root = Path::new("/nonexistent-root");
        for path in [
            "/../etc/passwd",
            "/a/../../b",
            "/%2e%2e/x",
            "/a%2f..%2fb",
            "/..",
        ] {
            assert_eq!(
                find_file(root, path.as_bytes()).unwrap_err(),
                Status::FORBIDDEN,
                "{path}"
            );
        }
    }

    #[test]
    fn out_of_descriptors_or_memory_is_503_never_404() {
        for errno in [23, 24] {
            let err = io::Error::from_raw_os_error(errno);
            assert_eq!(io_status(err), Status::SERVICE_UNAVAILABLE, "errno {errno}");
        }
        let oom = io::Error::from(io::ErrorKind::OutOfMemory);
        assert_eq!(io_status(oom), Status::SERVICE_UNAVAILABLE);
        let missing = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(io_status(missing), Status::NOT_FOUND);
    }

    #[test]
    fn heads_carry_length_and_persistence() {
        let head = head(Status::NOT_FOUND, "text/plain", 3, Persistence::Close, "");
        assert_eq!(
            head,
            "HTTP/1.1 404 Not Found\r\nServer: pants\r\nContent-Type: text/plain\r\n\
             Content-Length: 3\r\nConnection: close\r\n\r\n"
        );
    }
}
