//! Scripted peers: sockets the test drives itself, at the other end of the engine's channels.

use std::io;

use bytes::Bytes;

use super::Network;
use super::mem_io::{Kind, Owner};
use crate::addr::Addr;
use crate::engine::IntoAddr;

/// A socket the test itself drives: a client of an engine's server, a server the engine
/// connects to, or a datagram socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer(pub(super) usize);

impl Network {
    /// Connects a scripted client to `addr` (an engine's server accepts it).
    pub fn peer_connect(&mut self, addr: impl IntoAddr) -> io::Result<Peer> {
        let addr = addr.into_addr()?;
        let sock = self.io.connect_as(Owner::Peer, &addr);
        let refused = self
            .io
            .stream_mut(sock)
            .and_then(|s| s.connect.take())
            .is_some_and(|r| r.is_err());
        if refused {
            self.io.close_sock(sock);
            return Err(io::ErrorKind::ConnectionRefused.into());
        }
        Ok(Peer(sock))
    }

    /// A scripted server at `addr` that engine channels can connect to; take its connections
    /// with [`peer_accept`](Self::peer_accept).
    pub fn peer_listen(&mut self, addr: impl IntoAddr) -> io::Result<(Peer, Addr)> {
        let (sock, local) = self.io.listen_as(Owner::Peer, &addr.into_addr()?)?;
        Ok((Peer(sock), local))
    }

    /// The next connection made to a scripted server.
    pub fn peer_accept(&mut self, listener: Peer) -> Option<Peer> {
        self.io.accept_as(listener.0, Owner::Peer).ok().map(Peer)
    }

    /// A scripted datagram socket bound at `addr`.
    pub fn peer_bind(&mut self, addr: impl IntoAddr) -> io::Result<(Peer, Addr)> {
        let (sock, local) = self.io.bind_as(Owner::Peer, &addr.into_addr()?)?;
        Ok((Peer(sock), local))
    }

    /// Sends bytes from a scripted stream peer (all of them, whatever the window); panics if
    /// the connection is gone (see [`try_send`](Self::try_send)).
    pub fn send(&mut self, peer: Peer, data: impl AsRef<[u8]>) {
        if let Err(err) = self.try_send(peer, data) {
            panic!("peer cannot send: {err}");
        }
    }

    /// Sends bytes from a scripted stream peer (all of them, whatever the window), or says why
    /// it cannot: the engine's side reset or closed the connection.
    pub fn try_send(&mut self, peer: Peer, data: impl AsRef<[u8]>) -> io::Result<()> {
        let mut data = data.as_ref();
        let (chunk, window) = (self.io.knobs.write_chunk, self.io.knobs.window);
        self.io.knobs.write_chunk = usize::MAX;
        self.io.knobs.window = usize::MAX;
        let mut result = Ok(());
        while !data.is_empty() {
            match self.io.send_stream(peer.0, data) {
                Ok(n) => data = &data[n..],
                Err(err) => {
                    result = Err(err);
                    break;
                }
            }
        }
        self.io.knobs.write_chunk = chunk;
        self.io.knobs.window = window;
        result
    }

    /// Sends a datagram from a scripted datagram peer.
    pub fn send_to(&mut self, peer: Peer, data: impl AsRef<[u8]>, to: &Addr) {
        let from = self
            .io
            .sock(peer.0)
            .map(|sock| sock.local.clone())
            .expect("an open peer");
        self.io
            .send_datagram(&from, data.as_ref(), to)
            .expect("a datagram that fits");
    }

    /// Shuts down a scripted peer's write side: the engine's channel sees EOF.
    pub fn shutdown(&mut self, peer: Peer) {
        let _ = self.io.shutdown_sock(peer.0);
    }

    /// Resets a scripted peer's connection: the engine's next read or write fails with
    /// `ConnectionReset`.
    pub fn reset(&mut self, peer: Peer) {
        if let Some(other) = self.io.stream_mut(peer.0).and_then(|s| s.peer) {
            if let Some(stream) = self.io.stream_mut(other) {
                stream.reset = true;
            }
            self.io.wake(other, crate::io::Readiness::BOTH);
        }
        self.io.close_sock(peer.0);
    }

    /// Closes a scripted peer (EOF for the engine's side, or a reset if it left bytes unread).
    pub fn close(&mut self, peer: Peer) {
        self.io.close_sock(peer.0);
    }

    /// Takes the bytes a scripted stream peer received so far.
    pub fn received(&mut self, peer: Peer) -> Bytes {
        self.collect_peer_input();
        Bytes::from(self.received.remove(&peer).unwrap_or_default())
    }

    /// Takes the datagrams a scripted datagram peer received so far, with their senders.
    pub fn received_datagrams(&mut self, peer: Peer) -> Vec<(Bytes, Addr)> {
        self.collect_peer_input();
        self.datagrams.remove(&peer).unwrap_or_default()
    }

    /// True once the engine's side of a scripted peer's connection shut down or closed.
    pub fn saw_eof(&mut self, peer: Peer) -> bool {
        self.collect_peer_input();
        let now = self.io.now;
        self.io
            .stream_mut(peer.0)
            .is_none_or(|s| s.inbox.is_empty() && s.eof_at.is_some_and(|at| at <= now))
    }

    /// True once the engine's side reset a scripted peer's connection.
    pub fn was_reset(&mut self, peer: Peer) -> bool {
        self.io.stream_mut(peer.0).is_some_and(|s| s.reset)
    }

    /// Stops a scripted stream peer's reading: its window is 0 from now, so the engine's
    /// writes to it block and its queue stays (what a test of a stalled flush needs). What
    /// reached the peer before stays unread until [`resume_reading`](Self::resume_reading).
    pub fn stop_reading(&mut self, peer: Peer) {
        self.io.set_window_closed(peer.0, true);
    }

    /// A scripted stream peer reads again: it takes what waits for it, and a write of the
    /// engine's that blocked on it goes on at the next turn.
    pub fn resume_reading(&mut self, peer: Peer) {
        self.io.set_window_closed(peer.0, false);
        self.collect_peer_input();
    }

    /// Scripted peers read everything that reached them, but those that stopped reading.
    pub(super) fn collect_peer_input(&mut self) {
        let peers: Vec<usize> = (0..self.io.sock_count())
            .filter(|&id| self.io.peer_sock(Peer(id)).is_some())
            .collect();
        for id in peers {
            match self.io.sock(id).map(|s| &s.kind) {
                Some(Kind::Stream(stream)) if stream.window_closed => {}
                Some(Kind::Stream(_)) => {
                    while let Ok(data) = self.io.recv_stream(id, usize::MAX) {
                        if data.is_empty() {
                            break;
                        }
                        self.received
                            .entry(Peer(id))
                            .or_default()
                            .extend_from_slice(&data);
                    }
                }
                _ => {
                    while let Ok(datagram) = self.io.recv_datagram(id) {
                        self.datagrams.entry(Peer(id)).or_default().push(datagram);
                    }
                }
            }
        }
    }
}
