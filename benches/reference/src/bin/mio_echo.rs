//! The raw mio echo server: one thread, one `mio::Poll`, edge-triggered sockets, and one read
//! buffer for the whole server.
//!
//! Each read is written back at once from the shared buffer; what the socket does not take is
//! copied into the connection's own buffer, and the connection stops reading until that is
//! sent (the peer's TCP window then slows it down). An idle connection is its socket and an
//! empty `Vec`.
//!
//! `mio_echo [--listen 127.0.0.1:7001]`

use std::io::{self, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const LISTENER: Token = Token(usize::MAX);
/// Bytes asked of the kernel per read.
const READ_SIZE: usize = 64 * 1024;

struct Conn {
    stream: TcpStream,
    /// Bytes read but not yet written back; no reading until they are sent.
    output: Vec<u8>,
}

fn main() -> io::Result<()> {
    let addr = pants_reference_bench::listen_arg("mio_echo", "127.0.0.1:7001");
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut listener = TcpListener::bind(addr)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    pants_reference_bench::announce(listener.local_addr()?);

    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut read_buf = vec![0; READ_SIZE];
    loop {
        match poll.poll(&mut events, None) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            result => result?,
        }
        for event in &events {
            if event.token() == LISTENER {
                accept(&poll, &listener, &mut conns, &mut free);
                continue;
            }
            let index = event.token().0;
            let Some(conn) = conns.get_mut(index).and_then(Option::as_mut) else {
                continue;
            };
            if serve(conn, &mut read_buf).is_err() {
                let mut conn = conns[index].take().expect("checked above");
                let _ = poll.registry().deregister(&mut conn.stream);
                free.push(index);
            }
        }
    }
}

fn accept(
    poll: &Poll,
    listener: &TcpListener,
    conns: &mut Vec<Option<Conn>>,
    free: &mut Vec<usize>,
) {
    loop {
        let mut stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                eprintln!("mio_echo: accept: {err}");
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        let index = free.pop().unwrap_or(conns.len());
        let interest = Interest::READABLE | Interest::WRITABLE;
        if poll
            .registry()
            .register(&mut stream, Token(index), interest)
            .is_err()
        {
            free.push(index);
            continue;
        }
        let conn = Conn {
            stream,
            output: Vec::new(),
        };
        if index == conns.len() {
            conns.push(Some(conn));
        } else {
            conns[index] = Some(conn);
        }
    }
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

/// Writes as much of `data` as the socket takes now.
fn write_some(stream: &mut TcpStream, data: &[u8]) -> io::Result<usize> {
    let mut sent = 0;
    while sent < data.len() {
        match stream.write(&data[sent..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => sent += n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(sent)
}
