//! The raw mio echo server: one thread, one `mio::Poll`, edge-triggered sockets, and one read
//! buffer for the whole server.
//!
//! Each read is written back at once from the shared buffer; what the socket does not take is
//! copied into the connection's own buffer, and the connection stops reading until that is
//! sent (the peer's TCP window then slows it down). An idle connection is its socket and an
//! empty `Vec`.
//!
//! `mio_echo [--listen 127.0.0.1:7001]`

use std::io::{self, Read};

use mio::net::TcpStream;
use pants_reference_bench::mio_server::{self, Connection, write_some};

/// Bytes asked of the kernel per read.
const READ_SIZE: usize = 64 * 1024;

struct Conn {
    stream: TcpStream,
    /// Bytes read but not yet written back; no reading until they are sent.
    output: Vec<u8>,
}

impl Connection for Conn {
    fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}

fn main() -> io::Result<()> {
    let addr = pants_reference_bench::listen_arg("mio_echo", "127.0.0.1:7001");
    let mut read_buf = vec![0; READ_SIZE];
    let open = |stream| Conn {
        stream,
        output: Vec::new(),
    };
    mio_server::run("mio_echo", addr, open, |conn| serve(conn, &mut read_buf))
}

/// Sends what is pending, then reads and echoes until the socket would block. `Err` when the
/// connection is done.
fn serve(conn: &mut Conn, read_buf: &mut [u8]) -> io::Result<()> {
    if !conn.output.is_empty() {
        let sent = write_some(&mut conn.stream, &conn.output)?;
        conn.output.drain(..sent);
        if !conn.output.is_empty() {
            return Ok(());
        }
        conn.output = Vec::new();
    }
    loop {
        let n = match conn.stream.read(read_buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        let sent = write_some(&mut conn.stream, &read_buf[..n])?;
        if sent < n {
            conn.output.extend_from_slice(&read_buf[sent..n]);
            return Ok(()); // wait until writable; reading resumes after the flush
        }
    }
}
