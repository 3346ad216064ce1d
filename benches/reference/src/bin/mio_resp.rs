//! The raw mio RESP server: one thread, one `mio::Poll`, edge-triggered sockets, and one read
//! buffer and one reply buffer for the whole server.
//!
//! A connection owns memory only while it must: the bytes of an unfinished request (copied out
//! of the shared read buffer after the read), and replies the socket did not take (then it
//! stops reading until the socket is writable again). An idle connection is its socket and two
//! empty `Vec`s.
//!
//! `mio_resp [--listen 127.0.0.1:6381]`

use std::io::{self, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use pants_reference_bench::resp::{self, Db};

const LISTENER: Token = Token(usize::MAX);
/// Bytes asked of the kernel per read.
const READ_SIZE: usize = 64 * 1024;

struct Conn {
    stream: TcpStream,
    /// An unfinished request, carried to the next read.
    input: Vec<u8>,
    /// Replies the socket has not taken yet; no reading until they are sent.
    output: Vec<u8>,
}

/// What the server shares between connections.
struct Shared {
    db: Db,
    read_buf: Vec<u8>,
    replies: Vec<u8>,
}

fn main() -> io::Result<()> {
    let addr = pants_reference_bench::listen_arg("mio_resp", "127.0.0.1:6381");
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut listener = TcpListener::bind(addr)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    pants_reference_bench::announce(listener.local_addr()?);

    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut shared = Shared {
        db: Db::default(),
        read_buf: vec![0; READ_SIZE],
        replies: Vec::with_capacity(READ_SIZE),
    };
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
            if serve(conn, &mut shared).is_err() {
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
                eprintln!("mio_resp: accept: {err}");
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
            input: Vec::new(),
            output: Vec::new(),
        };
        if index == conns.len() {
            conns.push(Some(conn));
        } else {
            conns[index] = Some(conn);
        }
    }
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
