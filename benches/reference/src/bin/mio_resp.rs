//! The raw mio RESP server: one thread, one `mio::Poll`, edge-triggered sockets, and one read
//! buffer and one reply buffer for the whole server.
//!
//! A connection owns memory only while it must: the bytes of an unfinished request (copied out
//! of the shared read buffer after the read), and replies the socket did not take (then it
//! stops reading until the socket is writable again). An idle connection is its socket and two
//! empty `Vec`s.
//!
//! `mio_resp [--listen 127.0.0.1:6381]`

use std::io::{self, Read};

use mio::net::TcpStream;
use pants_reference_bench::mio_server::{self, Connection, write_some};
use pants_reference_bench::resp::{self, Db};

/// Bytes asked of the kernel per read.
const READ_SIZE: usize = 64 * 1024;

struct Conn {
    stream: TcpStream,
    /// An unfinished request, carried to the next read.
    input: Vec<u8>,
    /// Replies the socket has not taken yet; no reading until they are sent.
    output: Vec<u8>,
}

impl Connection for Conn {
    fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}

/// What the server shares between connections.
struct Shared {
    db: Db,
    read_buf: Vec<u8>,
    replies: Vec<u8>,
}

fn main() -> io::Result<()> {
    let addr = pants_reference_bench::listen_arg("mio_resp", "127.0.0.1:6381");
    let mut shared = Shared {
        db: Db::default(),
        read_buf: vec![0; READ_SIZE],
        replies: Vec::with_capacity(READ_SIZE),
    };
    let open = |stream| Conn {
        stream,
        input: Vec::new(),
        output: Vec::new(),
    };
    mio_server::run("mio_resp", addr, open, |conn| serve(conn, &mut shared))
}

/// Sends what is pending, then reads and answers until the socket would block. `Err` when the
/// connection is done (EOF, error, protocol error).
fn serve(conn: &mut Conn, shared: &mut Shared) -> io::Result<()> {
    if !conn.output.is_empty() {
        let sent = write_some(&mut conn.stream, &conn.output)?;
        conn.output.drain(..sent);
        if !conn.output.is_empty() {
            return Ok(()); // the next writable event goes on
        }
        conn.output = Vec::new();
    }
    loop {
        // An unfinished request goes first in the shared buffer; the read appends to it.
        let carried = conn.input.len();
        if shared.read_buf.len() < carried + READ_SIZE {
            shared.read_buf.resize(carried + READ_SIZE, 0);
        }
        shared.read_buf[..carried].copy_from_slice(&conn.input);
        let n = match conn.stream.read(&mut shared.read_buf[carried..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        let input = &shared.read_buf[..carried + n];
        let answered = resp::process(&mut shared.db, input, &mut shared.replies);
        let used = answered.unwrap_or(input.len());
        conn.input.clear();
        conn.input.extend_from_slice(&input[used..]);
        if conn.input.is_empty() {
            conn.input = Vec::new();
        }
        let replies = &shared.replies;
        let sent = match write_some(&mut conn.stream, replies) {
            Ok(sent) => sent,
            Err(err) => {
                shared.replies.clear();
                return Err(err);
            }
        };
        if sent < replies.len() {
            conn.output.extend_from_slice(&replies[sent..]);
        }
        shared.replies.clear();
        if answered.is_err() {
            // Redis closes after a protocol error; the reply was sent as far as it went.
            return Err(io::ErrorKind::InvalidData.into());
        }
        if !conn.output.is_empty() {
            return Ok(()); // wait until writable; reading resumes after the flush
        }
    }
}
