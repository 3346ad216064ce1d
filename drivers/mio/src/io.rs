//! The engine's socket calls over mio sockets: the translation layer and nothing more.

use std::io::{self, IoSlice, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsFd;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use mio::event::Event;
use mio::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use mio::{Interest, Registry, Token, Waker};
use pants_core::{Addr, ChannelId, FileRange, Io, Readiness, SocketOptions};
use rustix::net::{RecvFlags, SendAncillaryBuffer, SendFlags};

use crate::drained::{self, Drained};
use crate::resolver::Resolver;
use crate::sockets::{self, OwnedPath};

/// Bytes asked of the kernel per read, at most.
const READ_SIZE: usize = 64 * 1024;
/// Below this much spare room, the shared read buffer is renewed before a read.
const MIN_READ: usize = 4 * 1024;
/// Room for one whole datagram (the default Unix datagram maximum; UDP carries 65,507).
const DATAGRAM_SIZE: usize = 212_992;

enum Socket {
    TcpListener {
        listener: TcpListener,
        nodelay: bool,
    },
    UnixListener {
        listener: UnixListener,
        path: Option<Box<OwnedPath>>,
    },
    Tcp(TcpStream),
    /// A TCP connect in progress, with the host name's other addresses to try if it fails.
    Connecting {
        stream: TcpStream,
        fallback: Box<Fallback>,
    },
    Unix(UnixStream),
    Udp(UdpSocket),
    UnixDatagram {
        socket: UnixDatagram,
        path: Option<Box<OwnedPath>>,
    },
    /// Waiting for the resolver before connecting.
    Resolving(Box<SocketOptions>),
    /// A connect that failed before it started; `connect_result` reports it.
    Failed(Option<io::Error>),
}

/// What a host-name connect tries next when an address fails.
struct Fallback {
    addrs: Vec<SocketAddr>,
    options: SocketOptions,
}

pub(crate) struct MioIo {
    registry: Registry,
    /// Each channel's socket at its slot index. The engine asks only about live channels (its
    /// slab checks generations; late resolver answers are checked with `Engine::is_live`), so
    /// a slot keeps no id: 16 bytes per connection, not 24.
    sockets: Vec<Option<Socket>>,
    read_buf: BytesMut,
    /// Stream sockets whose next read would only say `WouldBlock`.
    drained: Drained,
    datagram_buf: Vec<u8>,
    resolver: Resolver,
}

impl MioIo {
    pub(crate) fn new(registry: Registry, waker: Arc<Waker>) -> Self {
        Self {
            registry,
            sockets: Vec::new(),
            read_buf: BytesMut::new(),
            drained: Drained::default(),
            datagram_buf: Vec::new(),
            resolver: Resolver::new(waker),
        }
    }

    /// Starts the connects whose host names were resolved; returns the channels whose connect
    /// failed at once, which the driver reports as writable so the engine asks for the result.
    /// `live` tells which channels are still open: an answer for one that closed (its slot
    /// perhaps reused) is dropped.
    pub(crate) fn handle_resolved(
        &mut self,
        live: impl Fn(ChannelId) -> bool,
    ) -> Vec<(ChannelId, Readiness)> {
        let mut failed = Vec::new();
        for (id, answer) in self.resolver.take_answers() {
            if !live(id) {
                continue;
            }
            let Some(Socket::Resolving(options)) = self.get(id) else {
                continue;
            };
            let options = (**options).clone();
            let started = answer.and_then(|addrs| self.connect_next(id, addrs, options));
            if let Err(err) = started {
                self.set(id, Socket::Failed(Some(err)));
                failed.push((
                    id,
                    Readiness {
                        readable: false,
                        writable: true,
                    },
                ));
            }
        }
        failed
    }

    /// Starts connecting to the first of `addrs` that takes a connect, keeping the rest.
    fn connect_next(
        &mut self,
        id: ChannelId,
        addrs: Vec<SocketAddr>,
        options: SocketOptions,
    ) -> io::Result<()> {
        let mut addrs = addrs.into_iter();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
        while let Some(addr) = addrs.next() {
            match sockets::tcp_connect(addr, &options) {
                Ok(stream) => {
                    let fallback = Box::new(Fallback {
                        addrs: addrs.collect(),
                        options,
                    });
                    return self.insert(id, Socket::Connecting { stream, fallback });
                }
                Err(err) => last = err,
            }
        }
        Err(last)
    }

    fn get(&mut self, id: ChannelId) -> Option<&mut Socket> {
        self.sockets.get_mut(slot(id))?.as_mut()
    }

    fn get_ref(&self, id: ChannelId) -> io::Result<&Socket> {
        match self.sockets.get(slot(id)) {
            Some(Some(socket)) => Ok(socket),
            _ => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "no socket for this channel",
            )),
        }
    }

    fn socket(&mut self, id: ChannelId) -> io::Result<&mut Socket> {
        self.get(id).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "no socket for this channel")
        })
    }

    fn set(&mut self, id: ChannelId, socket: Socket) {
        let index = slot(id);
        if self.sockets.len() <= index {
            self.sockets.resize_with(index + 1, || None);
        }
        self.sockets[index] = Some(socket);
    }

    /// The poller reported channel `id`'s socket with `event`.
    pub(crate) fn handle_event(&mut self, id: ChannelId, event: &Event) {
        self.drained.event(slot(id), drained::is_last_word(event));
    }

    /// Registers `socket` under the channel's id (edge-triggered) and keeps it.
    fn insert(&mut self, id: ChannelId, mut socket: Socket) -> io::Result<()> {
        let token = Token(id.to_bits() as usize);
        let both = Interest::READABLE | Interest::WRITABLE;
        // A new socket in the slot (not a connect that completed: that is `set` alone, and
        // must keep what the poller said of the socket).
        self.drained.reset(slot(id));
        match &mut socket {
            Socket::TcpListener { listener, .. } => {
                self.registry
                    .register(listener, token, Interest::READABLE)?
            }
            Socket::UnixListener { listener, .. } => {
                self.registry
                    .register(listener, token, Interest::READABLE)?
            }
            Socket::Tcp(stream) | Socket::Connecting { stream, .. } => {
                let interest = both | drained::TCP_INTEREST;
                self.registry.register(stream, token, interest)?
            }
            Socket::Unix(stream) => self.registry.register(stream, token, both)?,
            Socket::Udp(socket) => self.registry.register(socket, token, both)?,
            Socket::UnixDatagram { socket, .. } => self.registry.register(socket, token, both)?,
            Socket::Resolving(_) | Socket::Failed(_) => {}
        }
        self.set(id, socket);
        Ok(())
    }
}

fn slot(id: ChannelId) -> usize {
    // The low half of the bits is the slot index.
    (id.to_bits() & u64::from(u32::MAX)) as usize
}

fn ip_of(addr: &Addr) -> io::Result<SocketAddr> {
    match addr {
        Addr::Ip(addr) => Ok(*addr),
        // Binding to a host name (rare: "localhost:0") resolves on the spot.
        Addr::Host { host, port } => {
            (host.as_str(), *port)
                .to_socket_addrs()?
                .next()
                .ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, format!("no address for {host}"))
                })
        }
        _ => Err(io::ErrorKind::InvalidInput.into()),
    }
}

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "not possible on this kind of socket",
    )
}

/// How a connect stands: done, in progress, or failed.
fn connect_outcome(error: io::Result<Option<io::Error>>, peer: io::Result<()>) -> io::Result<bool> {
    if let Some(err) = error? {
        return Err(err);
    }
    match peer {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(err) => Err(err),
    }
}

/// Reads what the socket has into the shared buffer and splits it off, without copying.
///
/// With `recv`, as [`send`] writes with `send`: `read(2)` and `writev(2)` reach the socket
/// through the file layer, which cost a RESP server at `-P 1` about 0.5 µs of kernel time per
/// request (BENCHMARKS.md, "The kernel's side").
/// Reads into the shared buffer's spare room; returns the bytes read and the room they had.
fn read_shared(buf: &mut BytesMut, fd: impl AsFd) -> io::Result<(Bytes, usize)> {
    if buf.capacity() - buf.len() < MIN_READ {
        buf.reserve(READ_SIZE);
    }
    let spare = buf.spare_capacity_mut();
    let room = spare.len().min(READ_SIZE);
    let ((filled, _), _) = rustix::net::recv(fd, &mut spare[..room], RecvFlags::empty())?;
    let n = filled.len();
    // SAFETY: `recv` initialised the first `n` bytes of the spare capacity.
    unsafe { buf.set_len(buf.len() + n) };
    Ok((buf.split().freeze(), room))
}

/// Sends `slices` on a connected socket: `send` for one slice, else `sendmsg`; never raises
/// SIGPIPE.
fn send(fd: impl AsFd, slices: &[IoSlice<'_>]) -> io::Result<usize> {
    let flags = SendFlags::NOSIGNAL;
    let sent = match slices {
        [one] => rustix::net::send(fd, one, flags)?,
        _ => rustix::net::sendmsg(fd, slices, &mut SendAncillaryBuffer::default(), flags)?,
    };
    Ok(sent)
}

impl Io for MioIo {
    fn listen(&mut self, id: ChannelId, addr: &Addr, options: &SocketOptions) -> io::Result<()> {
        let socket = if addr.is_unix() {
            let (listener, path) = sockets::unix_listener(addr)?;
            Socket::UnixListener {
                listener,
                path: path.map(Box::new),
            }
        } else {
            let listener = sockets::tcp_listener(ip_of(addr)?, options)?;
            Socket::TcpListener {
                listener,
                nodelay: options.nodelay,
            }
        };
        self.insert(id, socket)
    }

    fn accept(&mut self, server: ChannelId, conn: ChannelId) -> io::Result<()> {
        let socket = match self.socket(server)? {
            Socket::TcpListener { listener, nodelay } => {
                let (stream, _) = listener.accept()?;
                stream.set_nodelay(*nodelay)?;
                Socket::Tcp(stream)
            }
            Socket::UnixListener { listener, .. } => Socket::Unix(listener.accept()?.0),
            _ => return Err(unsupported()),
        };
        self.insert(conn, socket)
    }

    fn connect(&mut self, id: ChannelId, addr: &Addr, options: &SocketOptions) -> io::Result<()> {
        let socket = match addr {
            Addr::Ip(ip) => Socket::Tcp(sockets::tcp_connect(*ip, options)?),
            Addr::Unix(_) | Addr::Abstract(_) => Socket::Unix(sockets::unix_connect(addr)?),
            Addr::Host { host, port } => {
                self.resolver.resolve(id, host, *port)?;
                Socket::Resolving(Box::new(options.clone()))
            }
        };
        self.insert(id, socket)
    }

    fn connect_result(&mut self, id: ChannelId) -> io::Result<bool> {
        let socket = self.socket(id)?;
        let outcome = match socket {
            Socket::Tcp(stream) | Socket::Connecting { stream, .. } => {
                connect_outcome(stream.take_error(), stream.peer_addr().map(drop))
            }
            Socket::Unix(stream) => {
                connect_outcome(stream.take_error(), stream.peer_addr().map(drop))
            }
            Socket::Resolving(_) => Ok(false),
            Socket::Failed(err) => Err(err
                .take()
                .unwrap_or_else(|| io::ErrorKind::NotConnected.into())),
            _ => Err(unsupported()),
        };
        if !matches!(socket, Socket::Connecting { .. }) {
            return outcome;
        }
        let Socket::Connecting { stream, fallback } =
            std::mem::replace(socket, Socket::Failed(None))
        else {
            unreachable!("matched just above");
        };
        match outcome {
            Ok(false) => self.set(id, Socket::Connecting { stream, fallback }),
            // Connected: the same socket, already registered, now a plain stream.
            Ok(true) => self.set(id, Socket::Tcp(stream)),
            Err(err) if !fallback.addrs.is_empty() => {
                let mut stream = stream;
                let _ = self.registry.deregister(&mut stream);
                let Fallback { addrs, options } = *fallback;
                return match self.connect_next(id, addrs, options) {
                    Ok(()) => Ok(false),
                    Err(_) => Err(err),
                };
            }
            Err(_) => {}
        }
        outcome
    }

    fn read(&mut self, id: ChannelId) -> io::Result<Bytes> {
        let index = slot(id);
        if self.drained.is_empty(index) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let buf = &mut self.read_buf;
        match self.sockets.get(index) {
            Some(Some(Socket::Tcp(stream))) => {
                let (data, room) = read_shared(buf, stream)?;
                self.drained.read(index, data.len(), room);
                Ok(data)
            }
            // A Unix stream read also stops short at a message that passes descriptors or
            // credentials, with more queued behind it: its reads always reach the kernel.
            Some(Some(Socket::Unix(stream))) => read_shared(buf, stream).map(|(data, _)| data),
            _ => Err(unsupported()),
        }
    }

    fn write(&mut self, id: ChannelId, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.socket(id)? {
            Socket::Tcp(stream) => send(stream, slices),
            Socket::Unix(stream) => send(stream, slices),
            _ => Err(unsupported()),
        }
    }

    fn send_file(&mut self, id: ChannelId, range: &FileRange) -> io::Result<usize> {
        let count = usize::try_from(range.len())
            .unwrap_or(usize::MAX)
            .min(1 << 30);
        let result = match self.socket(id)? {
            Socket::Tcp(stream) => send_file(stream, range, count),
            Socket::Unix(stream) => send_file(stream, range, count),
            _ => return Err(unsupported()),
        };
        match result {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file ended before the range queued for it",
            )),
            result => result,
        }
    }

    fn shutdown(&mut self, id: ChannelId) -> io::Result<()> {
        match self.socket(id)? {
            Socket::Tcp(stream) => stream.shutdown(std::net::Shutdown::Write),
            Socket::Unix(stream) => stream.shutdown(std::net::Shutdown::Write),
            _ => Err(unsupported()),
        }
    }

    fn close(&mut self, id: ChannelId) {
        let Some(socket) = self.sockets.get_mut(slot(id)).and_then(Option::take) else {
            return;
        };
        // Deregistering can only fail for a socket that was never registered.
        let path = match socket {
            Socket::TcpListener { mut listener, .. } => {
                self.registry.deregister(&mut listener).map(|_| None)
            }
            Socket::UnixListener { mut listener, path } => {
                self.registry.deregister(&mut listener).map(|_| path)
            }
            Socket::Tcp(mut stream) | Socket::Connecting { mut stream, .. } => {
                self.registry.deregister(&mut stream).map(|_| None)
            }
            Socket::Unix(mut stream) => self.registry.deregister(&mut stream).map(|_| None),
            Socket::Udp(mut socket) => self.registry.deregister(&mut socket).map(|_| None),
            Socket::UnixDatagram { mut socket, path } => {
                self.registry.deregister(&mut socket).map(|_| path)
            }
            Socket::Resolving(_) | Socket::Failed(_) => Ok(None),
        };
        if let Ok(Some(path)) = path {
            // The listener's own socket file goes with it (if it is still its own).
            path.remove();
        }
    }

    fn bind(&mut self, id: ChannelId, addr: &Addr, options: &SocketOptions) -> io::Result<()> {
        let socket = if addr.is_unix() {
            let (socket, path) = sockets::unix_datagram(addr)?;
            Socket::UnixDatagram {
                socket,
                path: path.map(Box::new),
            }
        } else {
            Socket::Udp(sockets::udp_socket(ip_of(addr)?, options)?)
        };
        self.insert(id, socket)
    }

    fn local_addr(&self, id: ChannelId) -> io::Result<Addr> {
        match self.get_ref(id)? {
            Socket::TcpListener { listener, .. } => listener.local_addr().map(Addr::Ip),
            Socket::UnixListener { listener, .. } => {
                Ok(sockets::from_unix(&listener.local_addr()?))
            }
            Socket::Tcp(stream) | Socket::Connecting { stream, .. } => {
                stream.local_addr().map(Addr::Ip)
            }
            Socket::Unix(stream) => Ok(sockets::from_unix(&stream.local_addr()?)),
            Socket::Udp(socket) => socket.local_addr().map(Addr::Ip),
            Socket::UnixDatagram { socket, .. } => Ok(sockets::from_unix(&socket.local_addr()?)),
            Socket::Resolving(_) | Socket::Failed(_) => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn peer_addr(&self, id: ChannelId) -> io::Result<Addr> {
        match self.get_ref(id)? {
            Socket::Tcp(stream) => stream.peer_addr().map(Addr::Ip),
            Socket::Unix(stream) => Ok(sockets::from_unix(&stream.peer_addr()?)),
            _ => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn recv_from(&mut self, id: ChannelId) -> io::Result<(Bytes, Addr)> {
        if self.datagram_buf.is_empty() {
            self.datagram_buf = vec![0; DATAGRAM_SIZE];
        }
        let index = slot(id);
        let buf = &mut self.datagram_buf;
        let (n, from) = match self.sockets.get(index) {
            Some(Some(Socket::Udp(socket))) => {
                socket.recv_from(buf).map(|(n, from)| (n, Addr::Ip(from)))?
            }
            Some(Some(Socket::UnixDatagram { socket, .. })) => socket
                .recv_from(buf)
                .map(|(n, from)| (n, sockets::from_unix(&from)))?,
            _ => return Err(unsupported()),
        };
        Ok((Bytes::copy_from_slice(&buf[..n]), from))
    }

    fn send_to(&mut self, id: ChannelId, data: &[u8], to: &Addr) -> io::Result<usize> {
        match (self.socket(id)?, to) {
            (Socket::Udp(socket), Addr::Ip(to)) => socket.send_to(data, *to),
            (Socket::UnixDatagram { socket, .. }, Addr::Unix(path)) => socket.send_to(data, path),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot send a datagram to {to} from this socket"),
            )),
        }
    }
}

/// Sends from a file with `sendfile` where the OS has it, and by reading otherwise.
fn send_file<S: AsFd + Write>(
    stream: &mut S,
    range: &FileRange,
    count: usize,
) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut offset = range.offset();
        match rustix::fs::sendfile(&*stream, range.file(), Some(&mut offset), count) {
            Ok(n) => return Ok(n),
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {} // not for this file
            Err(err) => return Err(err.into()),
        }
    }
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0; count.min(READ_SIZE)];
    let n = range.file().read_at(&mut buf, range.offset())?;
    if n == 0 {
        return Ok(0);
    }
    stream.write(&buf[..n])
}

#[cfg(test)]
mod tests {
    use mio::{Poll, Token};

    use super::*;

    /// A slot is its socket and nothing more: two words in release builds (mio adds a word
    /// to each socket in debug builds).
    #[test]
    fn a_socket_slot_is_its_socket() {
        assert_eq!(size_of::<Option<Socket>>(), size_of::<Socket>());
        #[cfg(not(debug_assertions))]
        assert_eq!(size_of::<Socket>(), 2 * size_of::<usize>());
    }

    /// A host-name answer for a channel that closed meanwhile is dropped, also when a new
    /// channel, resolving too, has its slot now: the new one waits for its own answer.
    #[test]
    fn a_late_answer_for_a_closed_channel_is_dropped() {
        let poll = Poll::new().expect("a poll");
        let waker = Arc::new(Waker::new(poll.registry(), Token(usize::MAX)).expect("a waker"));
        let registry = poll.registry().try_clone().expect("a registry");
        let mut io = MioIo::new(registry, waker);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
        let addrs = vec![listener.local_addr().expect("an address")];
        // Slot 0: generation 0 closed, generation 1 is resolving now.
        let (old, new) = (ChannelId::from_bits(0), ChannelId::from_bits(1 << 32));
        let options = SocketOptions::default();
        io.set(new, Socket::Resolving(Box::new(options)));

        io.resolver.push_answer((old, Ok(addrs.clone())));
        assert!(io.handle_resolved(|id| id == new).is_empty());
        assert!(matches!(io.get(new), Some(Socket::Resolving(_))));

        io.resolver.push_answer((new, Ok(addrs)));
        assert!(io.handle_resolved(|id| id == new).is_empty());
        assert!(matches!(io.get(new), Some(Socket::Connecting { .. })));
    }
}
