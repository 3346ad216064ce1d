//! An in-memory [`Io`](crate::Io): sockets as byte queues between two ends, with a virtual clock,
//! partial reads and writes, latency, resets, descriptor exhaustion and datagram faults.

mod calls;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::rng::Rng;
use super::{DatagramFaults, Peer};
use crate::addr::Addr;
use crate::event::Action;
use crate::id::ChannelId;
use crate::io::Readiness;

/// The largest UDP payload over IPv4.
const MAX_UDP_PAYLOAD: usize = 65_507;
/// How many sockets may be open before `accept` fails with `EMFILE`, by default.
const UNLIMITED: usize = usize::MAX;

/// What a socket that received bytes (or an EOF, a datagram, a connection) reports.
const READABLE: Readiness = Readiness {
    readable: true,
    writable: false,
};
/// What a socket with room to write (or a finished connect) reports.
const WRITABLE: Readiness = Readiness {
    readable: false,
    writable: true,
};

pub(crate) type SockId = usize;

/// Who uses a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    Channel(ChannelId),
    Peer,
    /// Accepted by the kernel, waiting in a listener's backlog.
    Pending,
}

pub(crate) struct Sock {
    pub(crate) owner: Owner,
    pub(crate) local: Addr,
    pub(crate) kind: Kind,
}

pub(crate) enum Kind {
    Stream(StreamSock),
    Listener {
        backlog: VecDeque<SockId>,
    },
    Datagram {
        inbox: VecDeque<(Instant, Bytes, Addr)>,
    },
}

#[derive(Default)]
pub(crate) struct StreamSock {
    pub(crate) peer: Option<SockId>,
    pub(crate) peer_addr: Option<Addr>,
    /// Bytes sent to this socket, each visible from its instant.
    pub(crate) inbox: VecDeque<(Instant, Bytes)>,
    pub(crate) buffered: usize,
    /// The peer shut down its write side; EOF is visible from this instant, after the inbox.
    pub(crate) eof_at: Option<Instant>,
    pub(crate) reset: bool,
    pub(crate) write_shut: bool,
    /// A write found the peer's window full: wake this socket when it drains.
    pub(crate) blocked: bool,
    /// This side stopped reading: its window is 0, writers to it block.
    pub(crate) window_closed: bool,
    /// For the connecting side: the outcome, once known.
    pub(crate) connect: Option<io::Result<()>>,
    /// For the connecting side of a held connect: where it goes once the test completes it.
    pub(crate) held_to: Option<Addr>,
}

/// Knobs of the in-memory network.
#[derive(Debug, Clone)]
pub(crate) struct Knobs {
    pub(crate) read_chunk: usize,
    pub(crate) write_chunk: usize,
    pub(crate) window: usize,
    pub(crate) latency: Duration,
    pub(crate) faults: DatagramFaults,
    pub(crate) fd_limit: usize,
    /// Connects by engine channels stay in progress until the test completes or fails them.
    pub(crate) hold_connects: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            read_chunk: 64 * 1024,
            write_chunk: usize::MAX,
            window: 4 * 1024 * 1024,
            latency: Duration::ZERO,
            faults: DatagramFaults::default(),
            fd_limit: UNLIMITED,
            hold_connects: false,
        }
    }
}

/// Counts of calls and of the bytes they moved, to check that nothing spins and that a turn's
/// work is bounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoStats {
    /// `accept` calls, including those that failed or would block.
    pub accepts: u64,
    /// `read` and `recv_from` calls.
    pub reads: u64,
    /// `write`, `send_file` and `send_to` calls.
    pub writes: u64,
    /// Bytes the reads returned.
    pub bytes_read: u64,
    /// Bytes the writes took.
    pub bytes_written: u64,
}

pub(crate) struct MemIo {
    socks: Vec<Option<Sock>>,
    free: Vec<SockId>,
    by_channel: HashMap<ChannelId, SockId>,
    bound: HashMap<Addr, SockId>,
    next_port: u16,
    pub(crate) now: Instant,
    pub(crate) knobs: Knobs,
    pub(crate) rng: Rng,
    pub(crate) wakeups: Vec<(ChannelId, Readiness)>,
    /// Host names the engine's channels connect to, resolved, for the engine's
    /// `handle_resolved` at the next turn (as a driver's resolver answers).
    pub(crate) resolved: Vec<(ChannelId, io::Result<Vec<SocketAddr>>)>,
    pub(crate) accept_errors: VecDeque<io::Error>,
    pub(crate) stats: IoStats,
    /// The orders the engine carried out on each channel's socket, in order.
    pub(crate) actions: HashMap<ChannelId, Vec<Action>>,
}

impl MemIo {
    pub(crate) fn new(now: Instant, seed: u64) -> Self {
        Self {
            socks: Vec::new(),
            free: Vec::new(),
            by_channel: HashMap::new(),
            bound: HashMap::new(),
            next_port: 40_000,
            now,
            knobs: Knobs::default(),
            rng: Rng::new(seed),
            wakeups: Vec::new(),
            resolved: Vec::new(),
            accept_errors: VecDeque::new(),
            stats: IoStats::default(),
            actions: HashMap::new(),
        }
    }

    // ---- Sockets ----------------------------------------------------------------------------

    pub(crate) fn sock(&self, id: SockId) -> Option<&Sock> {
        self.socks.get(id).and_then(Option::as_ref)
    }

    pub(crate) fn sock_mut(&mut self, id: SockId) -> Option<&mut Sock> {
        self.socks.get_mut(id).and_then(Option::as_mut)
    }

    pub(crate) fn stream_mut(&mut self, id: SockId) -> Option<&mut StreamSock> {
        match &mut self.sock_mut(id)?.kind {
            Kind::Stream(stream) => Some(stream),
            _ => None,
        }
    }

    fn add(&mut self, sock: Sock) -> SockId {
        if let Owner::Channel(channel) = sock.owner {
            let id = self.free.last().copied().unwrap_or(self.socks.len());
            self.by_channel.insert(channel, id);
        }
        match self.free.pop() {
            Some(id) => {
                self.socks[id] = Some(sock);
                id
            }
            None => {
                self.socks.push(Some(sock));
                self.socks.len() - 1
            }
        }
    }

    pub(crate) fn sock_count(&self) -> usize {
        self.socks.len()
    }

    fn open_count(&self) -> usize {
        self.socks.iter().filter(|sock| sock.is_some()).count()
    }

    fn of(&self, channel: ChannelId) -> io::Result<SockId> {
        self.by_channel
            .get(&channel)
            .copied()
            .ok_or_else(|| io::ErrorKind::NotConnected.into())
    }

    /// The socket of channel `channel` and where its connect goes, while the connect is held.
    pub(crate) fn held_connect(&mut self, channel: ChannelId) -> Option<(SockId, Addr)> {
        let sock = self.of(channel).ok()?;
        let to = self.stream_mut(sock)?.held_to.clone()?;
        Some((sock, to))
    }

    /// Tells the owner of `sock` (if an engine channel) that it may read or write.
    pub(crate) fn wake(&mut self, sock: SockId, readiness: Readiness) {
        if let Some(Sock {
            owner: Owner::Channel(channel),
            ..
        }) = self.sock(sock)
        {
            self.wakeups.push((*channel, readiness));
        }
    }

    fn ephemeral(&mut self, ip: IpAddr) -> Addr {
        self.next_port = self.next_port.checked_add(1).unwrap_or(40_001);
        Addr::Ip(SocketAddr::new(ip, self.next_port))
    }

    /// The address a bind to `addr` gets: port 0 picks a free port.
    fn bind_addr(&mut self, addr: &Addr) -> io::Result<Addr> {
        let addr = match addr {
            Addr::Ip(ip) if ip.port() == 0 => self.ephemeral(ip.ip()),
            Addr::Host { .. } => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "bind to an IP or Unix address",
                ));
            }
            other => other.clone(),
        };
        if self.bound.contains_key(&addr) {
            return Err(io::ErrorKind::AddrInUse.into());
        }
        Ok(addr)
    }

    /// Resolves `localhost` to 127.0.0.1; other host names do not resolve here.
    pub(crate) fn resolve_host(host: &str, port: u16) -> io::Result<SocketAddr> {
        if host == "localhost" {
            return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no address for {host}"),
        ))
    }

    /// `addr`, its host name resolved as [`resolve_host`](Self::resolve_host) does.
    fn resolve(addr: &Addr) -> io::Result<Addr> {
        match addr {
            Addr::Host { host, port } => Self::resolve_host(host, *port).map(Addr::Ip),
            other => Ok(other.clone()),
        }
    }

    pub(crate) fn listen_as(&mut self, owner: Owner, addr: &Addr) -> io::Result<(SockId, Addr)> {
        let local = self.bind_addr(addr)?;
        let id = self.add(Sock {
            owner,
            local: local.clone(),
            kind: Kind::Listener {
                backlog: VecDeque::new(),
            },
        });
        self.bound.insert(local.clone(), id);
        Ok((id, local))
    }

    pub(crate) fn bind_as(&mut self, owner: Owner, addr: &Addr) -> io::Result<(SockId, Addr)> {
        let local = self.bind_addr(addr)?;
        let id = self.add(Sock {
            owner,
            local: local.clone(),
            kind: Kind::Datagram {
                inbox: VecDeque::new(),
            },
        });
        self.bound.insert(local.clone(), id);
        Ok((id, local))
    }

    /// Connects a new socket owned by `owner` to `addr`; the outcome is stored on the socket,
    /// unless connects are held and the owner is an engine channel: then it waits for
    /// [`finish_connect`](Self::finish_connect).
    pub(crate) fn connect_as(&mut self, owner: Owner, addr: &Addr) -> SockId {
        let target = Self::resolve(addr);
        let local = match &target {
            Ok(Addr::Ip(ip)) => self.ephemeral(ip.ip()),
            _ => Addr::Unix(Default::default()),
        };
        let client = self.add(Sock {
            owner,
            local,
            kind: Kind::Stream(StreamSock::default()),
        });
        let held = self.knobs.hold_connects && matches!(owner, Owner::Channel(_));
        match target {
            Ok(target) if held => {
                if let Some(stream) = self.stream_mut(client) {
                    stream.held_to = Some(target);
                }
            }
            target => self.finish_connect(client, target),
        }
        client
    }

    /// Ends the connect of socket `client`: to the listener at `target`, or refused when there
    /// is none, or failed with `target`'s error. Wakes the client to read the outcome.
    pub(crate) fn finish_connect(&mut self, client: SockId, target: io::Result<Addr>) {
        let local = self
            .sock(client)
            .map(|sock| sock.local.clone())
            .unwrap_or_else(|| Addr::Unix(Default::default()));
        let listener = target
            .as_ref()
            .ok()
            .and_then(|target| self.bound.get(target).copied())
            .filter(|&id| matches!(self.sock(id).map(|s| &s.kind), Some(Kind::Listener { .. })));
        let outcome = match (target, listener) {
            (Err(err), _) => Err(err),
            (Ok(target), Some(listener)) => {
                let server = self.add(Sock {
                    owner: Owner::Pending,
                    local: target.clone(),
                    kind: Kind::Stream(StreamSock {
                        peer: Some(client),
                        peer_addr: Some(local),
                        ..StreamSock::default()
                    }),
                });
                if let Some(Sock {
                    kind: Kind::Listener { backlog },
                    ..
                }) = self.sock_mut(listener)
                {
                    backlog.push_back(server);
                }
                self.wake(listener, READABLE);
                if let Some(stream) = self.stream_mut(client) {
                    stream.peer = Some(server);
                    stream.peer_addr = Some(target);
                }
                Ok(())
            }
            (Ok(_), None) => Err(io::ErrorKind::ConnectionRefused.into()),
        };
        if let Some(stream) = self.stream_mut(client) {
            stream.held_to = None;
            stream.connect = Some(outcome);
        }
        self.wake(client, WRITABLE);
    }

    /// Takes the next connection from a listener's backlog for `owner`.
    pub(crate) fn accept_as(&mut self, listener: SockId, owner: Owner) -> io::Result<SockId> {
        if let Some(err) = self.accept_errors.pop_front() {
            return Err(err);
        }
        let backlog_empty = match self.sock(listener).map(|s| &s.kind) {
            Some(Kind::Listener { backlog }) => backlog.is_empty(),
            _ => return Err(io::ErrorKind::InvalidInput.into()),
        };
        if backlog_empty {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if self.open_count() >= self.knobs.fd_limit {
            return Err(io::Error::from_raw_os_error(24)); // EMFILE
        }
        let Some(Sock {
            kind: Kind::Listener { backlog },
            ..
        }) = self.sock_mut(listener)
        else {
            return Err(io::ErrorKind::InvalidInput.into());
        };
        let Some(conn) = backlog.pop_front() else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let sock = self
            .sock_mut(conn)
            .expect("backlog entries are open sockets");
        sock.owner = owner;
        if let Owner::Channel(channel) = owner {
            self.by_channel.insert(channel, conn);
        }
        // A new socket reports what it can do, as a poller does on registration.
        self.wake(conn, Readiness::BOTH);
        Ok(conn)
    }

    // ---- Data -------------------------------------------------------------------------------

    /// Sends bytes from stream socket `from` to its peer, within the peer's window and the
    /// write chunk. `WouldBlock` when nothing fits.
    pub(crate) fn send_stream(&mut self, from: SockId, data: &[u8]) -> io::Result<usize> {
        let (latency, chunk, window, now) = (
            self.knobs.latency,
            self.knobs.write_chunk,
            self.knobs.window,
            self.now,
        );
        let stream = self.stream_mut(from).ok_or(io::ErrorKind::NotConnected)?;
        if stream.reset {
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        if stream.write_shut {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let Some(peer) = stream.peer else {
            return Err(io::ErrorKind::BrokenPipe.into());
        };
        let Some(peer_stream) = self.stream_mut(peer) else {
            return Err(io::ErrorKind::BrokenPipe.into());
        };
        let room = if peer_stream.window_closed {
            0
        } else {
            window.saturating_sub(peer_stream.buffered)
        };
        let n = data.len().min(chunk).min(room);
        if n == 0 && !data.is_empty() {
            if let Some(stream) = self.stream_mut(from) {
                stream.blocked = true;
            }
            return Err(io::ErrorKind::WouldBlock.into());
        }
        peer_stream
            .inbox
            .push_back((now + latency, Bytes::copy_from_slice(&data[..n])));
        peer_stream.buffered += n;
        if latency.is_zero() {
            self.wake(peer, READABLE);
        }
        Ok(n)
    }

    /// Takes what stream socket `id` may read now, up to `max` bytes; `Ok(empty)` at EOF.
    pub(crate) fn recv_stream(&mut self, id: SockId, max: usize) -> io::Result<Bytes> {
        let now = self.now;
        let stream = self.stream_mut(id).ok_or(io::ErrorKind::NotConnected)?;
        if stream.reset {
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        let mut out = BytesMut::new();
        while out.len() < max {
            let Some((at, front)) = stream.inbox.front_mut() else {
                break;
            };
            if *at > now {
                break;
            }
            let take = front.len().min(max - out.len());
            out.extend_from_slice(&front.split_to(take));
            if front.is_empty() {
                stream.inbox.pop_front();
            }
        }
        stream.buffered -= out.len();
        if out.is_empty() {
            let at_eof = stream.inbox.is_empty() && stream.eof_at.is_some_and(|at| at <= now);
            return if at_eof {
                Ok(Bytes::new())
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        self.unblock_writer_to(id);
        Ok(out.freeze())
    }

    /// Closes or opens the window of stream socket `id`: closed, writers to it block; opened,
    /// a writer that blocked on it may go on.
    pub(crate) fn set_window_closed(&mut self, id: SockId, closed: bool) {
        if let Some(stream) = self.stream_mut(id) {
            stream.window_closed = closed;
        }
        if !closed {
            self.unblock_writer_to(id);
        }
    }

    /// Room in stream socket `id`'s window again: wakes its peer if a write of the peer's
    /// blocked on it.
    fn unblock_writer_to(&mut self, id: SockId) {
        if let Some(peer) = self.stream_mut(id).and_then(|stream| stream.peer)
            && let Some(writer) = self.stream_mut(peer)
            && std::mem::take(&mut writer.blocked)
        {
            self.wake(peer, WRITABLE);
        }
    }

    pub(crate) fn shutdown_sock(&mut self, id: SockId) -> io::Result<()> {
        let eof_at = self.now + self.knobs.latency;
        let stream = self.stream_mut(id).ok_or(io::ErrorKind::NotConnected)?;
        stream.write_shut = true;
        if let Some(peer) = stream.peer
            && let Some(peer_stream) = self.stream_mut(peer)
        {
            peer_stream.eof_at = Some(eof_at);
            self.wake(peer, READABLE);
        }
        Ok(())
    }

    /// Closes a socket. A stream closed with unread bytes resets its peer, as TCP does;
    /// otherwise the peer sees EOF.
    pub(crate) fn close_sock(&mut self, id: SockId) {
        let Some(sock) = self.socks.get_mut(id).and_then(Option::take) else {
            return;
        };
        self.free.push(id);
        if let Owner::Channel(channel) = sock.owner {
            self.by_channel.remove(&channel);
        }
        if self.bound.get(&sock.local) == Some(&id) {
            self.bound.remove(&sock.local);
        }
        match sock.kind {
            Kind::Stream(stream) => {
                let unread = stream.buffered > 0;
                let eof_at = self.now + self.knobs.latency;
                if let Some(peer) = stream.peer
                    && let Some(peer_stream) = self.stream_mut(peer)
                {
                    peer_stream.peer = None;
                    if unread {
                        peer_stream.reset = true;
                    } else if peer_stream.eof_at.is_none() {
                        peer_stream.eof_at = Some(eof_at);
                    }
                    self.wake(peer, Readiness::BOTH);
                }
            }
            Kind::Listener { backlog } => {
                for pending in backlog {
                    if let Some(stream) = self.stream_mut(pending) {
                        stream.buffered = 1; // unaccepted connections are reset
                    }
                    self.close_sock(pending);
                }
            }
            Kind::Datagram { .. } => {}
        }
    }

    /// Sends a datagram from `from` to whatever is bound at `to`, through the faults.
    pub(crate) fn send_datagram(
        &mut self,
        from: &Addr,
        data: &[u8],
        to: &Addr,
    ) -> io::Result<usize> {
        let limit = if to.is_unix() {
            212_992
        } else {
            MAX_UDP_PAYLOAD
        };
        if data.len() > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "message too long",
            ));
        }
        let Some(&target) = self.bound.get(to) else {
            return Ok(data.len());
        }; // lost, as UDP
        let faults = self.knobs.faults;
        if self.rng.chance(faults.loss) {
            return Ok(data.len());
        }
        let copies = if self.rng.chance(faults.duplicate) {
            2
        } else {
            1
        };
        let at = self.now + self.knobs.latency;
        let reorder = self.rng.chance(faults.reorder);
        let slot = self.rng.next_u64();
        if let Some(Sock {
            kind: Kind::Datagram { inbox },
            ..
        }) = self.sock_mut(target)
        {
            for _ in 0..copies {
                let item = (at, Bytes::copy_from_slice(data), from.clone());
                if reorder && !inbox.is_empty() {
                    let position = (slot % (inbox.len() as u64 + 1)) as usize;
                    inbox.insert(position, item);
                } else {
                    inbox.push_back(item);
                }
            }
        }
        if self.knobs.latency.is_zero() {
            self.wake(target, READABLE);
        }
        Ok(data.len())
    }

    pub(crate) fn recv_datagram(&mut self, id: SockId) -> io::Result<(Bytes, Addr)> {
        let now = self.now;
        let Some(Sock {
            kind: Kind::Datagram { inbox },
            ..
        }) = self.sock_mut(id)
        else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        match inbox.front() {
            Some((at, _, _)) if *at <= now => {
                let (_, data, from) = inbox.pop_front().expect("front exists");
                Ok((data, from))
            }
            _ => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    // ---- Time -------------------------------------------------------------------------------

    /// The next instant at which delayed bytes, EOF or datagrams become visible.
    pub(crate) fn next_delivery(&self) -> Option<Instant> {
        let now = self.now;
        let later = |at: Instant| (at > now).then_some(at);
        self.socks
            .iter()
            .flatten()
            .flat_map(|sock| -> Vec<Instant> {
                match &sock.kind {
                    Kind::Stream(s) => s
                        .inbox
                        .iter()
                        .map(|(at, _)| *at)
                        .chain(s.eof_at)
                        .filter_map(later)
                        .collect(),
                    Kind::Datagram { inbox } => {
                        inbox.iter().filter_map(|(at, _, _)| later(*at)).collect()
                    }
                    Kind::Listener { .. } => Vec::new(),
                }
            })
            .min()
    }

    /// Moves the clock to `now`, waking channels whose delayed input became visible.
    pub(crate) fn advance_to(&mut self, now: Instant) {
        let before = self.now;
        self.now = now;
        let arrived = |at: Instant| at > before && at <= now;
        let mut wake = Vec::new();
        for (id, sock) in self.socks.iter().enumerate() {
            let Some(sock) = sock else { continue };
            let due = match &sock.kind {
                Kind::Stream(s) => {
                    s.inbox.iter().any(|(at, _)| arrived(*at)) || s.eof_at.is_some_and(arrived)
                }
                Kind::Datagram { inbox } => inbox.iter().any(|(at, _, _)| arrived(*at)),
                Kind::Listener { .. } => false,
            };
            if due {
                wake.push(id);
            }
        }
        for id in wake {
            self.wake(id, READABLE);
        }
    }

    /// The socket of a scripted peer.
    pub(crate) fn peer_sock(&self, peer: Peer) -> Option<SockId> {
        self.sock(peer.0)
            .filter(|sock| sock.owner == Owner::Peer)
            .map(|_| peer.0)
    }
}
