//! The event loop both raw mio reference servers share: one thread, one `mio::Poll`,
//! edge-triggered sockets, a slab of connections indexed by token.

use std::io::{self, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const LISTENER: Token = Token(usize::MAX);

/// A connection the loop can register and drop.
pub trait Connection {
    /// The connection's socket.
    fn stream(&mut self) -> &mut TcpStream;
}

/// Listens on `addr`, announces it, and runs forever: each accepted socket becomes a
/// connection through `open`, and every readiness event calls `serve`, which reads, answers
/// and writes until the socket would block. A connection whose `serve` fails is dropped.
pub fn run<C: Connection>(
    name: &str,
    addr: SocketAddr,
    mut open: impl FnMut(TcpStream) -> C,
    mut serve: impl FnMut(&mut C) -> io::Result<()>,
) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut listener = TcpListener::bind(addr)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    crate::announce(listener.local_addr()?);
    let mut conns: Vec<Option<C>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    loop {
        match poll.poll(&mut events, None) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            result => result?,
        }
        for event in &events {
            if event.token() == LISTENER {
                accept(name, &poll, &listener, &mut open, &mut conns, &mut free);
                continue;
            }
            let index = event.token().0;
            let Some(conn) = conns.get_mut(index).and_then(Option::as_mut) else {
                continue;
            };
            if serve(conn).is_err() {
                let mut conn = conns[index].take().expect("checked above");
                let _ = poll.registry().deregister(conn.stream());
                free.push(index);
            }
        }
    }
}

fn accept<C: Connection>(
    name: &str,
    poll: &Poll,
    listener: &TcpListener,
    open: &mut impl FnMut(TcpStream) -> C,
    conns: &mut Vec<Option<C>>,
    free: &mut Vec<usize>,
) {
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                eprintln!("{name}: accept: {err}");
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        let index = free.pop().unwrap_or(conns.len());
        let mut conn = open(stream);
        let interest = Interest::READABLE | Interest::WRITABLE;
        if poll
            .registry()
            .register(conn.stream(), Token(index), interest)
            .is_err()
        {
            free.push(index);
            continue;
        }
        if index == conns.len() {
            conns.push(Some(conn));
        } else {
            conns[index] = Some(conn);
        }
    }
}

/// Writes as much of `data` as the socket takes now.
pub fn write_some(stream: &mut TcpStream, data: &[u8]) -> io::Result<usize> {
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
