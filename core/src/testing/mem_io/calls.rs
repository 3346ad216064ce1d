//! The engine's socket calls ([`Io`]) on the in-memory sockets.

use std::io::{self, IoSlice};
use std::os::unix::fs::FileExt;

use bytes::Bytes;

use super::{Kind, MemIo, Owner, StreamSock, WRITABLE};
use crate::addr::Addr;
use crate::event::Action;
use crate::id::ChannelId;
use crate::io::{Io, Received, SocketOptions};
use crate::write_queue::FileRange;

impl Io for MemIo {
    fn listen(&mut self, id: ChannelId, addr: &Addr, _options: &SocketOptions) -> io::Result<()> {
        self.listen_as(Owner::Channel(id), addr).map(drop)
    }

    fn accept(&mut self, server: ChannelId, conn: ChannelId) -> io::Result<()> {
        self.stats.accepts += 1;
        let listener = self.of(server)?;
        self.accept_as(listener, Owner::Channel(conn)).map(drop)
    }

    fn connect(&mut self, id: ChannelId, addr: &Addr, _options: &SocketOptions) -> io::Result<()> {
        // A host name is resolved "off the loop", as a driver does: the answer reaches the
        // engine at the next turn, and the engine connects to its addresses.
        if let Addr::Host { host, port } = addr {
            let answer = Self::resolve_host(host, *port).map(|addr| vec![addr]);
            self.resolved.push((id, answer));
            return Ok(());
        }
        self.connect_as(Owner::Channel(id), addr);
        Ok(())
    }

    fn connect_result(&mut self, id: ChannelId) -> io::Result<bool> {
        let sock = self.of(id)?;
        let stream = self.stream_mut(sock).ok_or(io::ErrorKind::NotConnected)?;
        match stream.connect.take() {
            Some(Ok(())) => {
                stream.connect = Some(Ok(()));
                Ok(true)
            }
            Some(Err(err)) => Err(err),
            None => Ok(false),
        }
    }

    fn local_addr(&self, id: ChannelId) -> io::Result<Addr> {
        let sock = self.sock(self.of(id)?).ok_or(io::ErrorKind::NotConnected)?;
        Ok(sock.local.clone())
    }

    fn peer_addr(&self, id: ChannelId) -> io::Result<Addr> {
        match self.sock(self.of(id)?).map(|sock| &sock.kind) {
            Some(Kind::Stream(StreamSock {
                peer_addr: Some(peer),
                connect: Some(Ok(())) | None,
                ..
            })) => Ok(peer.clone()),
            _ => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn read(&mut self, id: ChannelId) -> io::Result<Received> {
        self.stats.reads += 1;
        let sock = self.of(id)?;
        let data = self.recv_stream(sock, self.knobs.read_chunk)?;
        self.stats.bytes_read += data.len() as u64;
        Ok(Received::from(data))
    }

    fn write(&mut self, id: ChannelId, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        self.stats.writes += 1;
        let sock = self.of(id)?;
        let data: Vec<u8> = slices
            .iter()
            .flat_map(|slice| slice.iter().copied())
            .collect();
        let n = self.send_stream(sock, &data)?;
        self.stats.bytes_written += n as u64;
        Ok(n)
    }

    fn send_file(&mut self, id: ChannelId, range: &FileRange) -> io::Result<usize> {
        self.stats.writes += 1;
        let sock = self.of(id)?;
        let len = range.len().min(self.knobs.write_chunk.min(1 << 20) as u64) as usize;
        let mut data = vec![0; len];
        let n = range.file().read_at(&mut data, range.offset())?;
        let n = self.send_stream(sock, &data[..n])?;
        self.stats.bytes_written += n as u64;
        Ok(n)
    }

    fn read_file(&mut self, range: &FileRange, buf: &mut [u8]) -> io::Result<usize> {
        let len = usize::try_from(range.len()).map_or(buf.len(), |len| len.min(buf.len()));
        range.file().read_at(&mut buf[..len], range.offset())
    }

    fn shutdown(&mut self, id: ChannelId) -> io::Result<()> {
        self.actions.entry(id).or_default().push(Action::Shutdown);
        let sock = self.of(id)?;
        self.shutdown_sock(sock)
    }

    fn close(&mut self, id: ChannelId) {
        self.actions.entry(id).or_default().push(Action::Close);
        if let Ok(sock) = self.of(id) {
            self.close_sock(sock);
        }
    }

    fn bind(&mut self, id: ChannelId, addr: &Addr, _options: &SocketOptions) -> io::Result<()> {
        let (sock, _) = self.bind_as(Owner::Channel(id), addr)?;
        self.wake(sock, WRITABLE);
        Ok(())
    }

    fn recv_from(&mut self, id: ChannelId) -> io::Result<(Bytes, Addr)> {
        self.stats.reads += 1;
        let sock = self.of(id)?;
        let (data, from) = self.recv_datagram(sock)?;
        self.stats.bytes_read += data.len() as u64;
        Ok((data, from))
    }

    fn send_to(&mut self, id: ChannelId, data: &[u8], to: &Addr) -> io::Result<usize> {
        self.stats.writes += 1;
        let sock = self.of(id)?;
        let from = self
            .sock(sock)
            .map(|s| s.local.clone())
            .ok_or(io::ErrorKind::NotConnected)?;
        let n = self.send_datagram(&from, data, to)?;
        self.stats.bytes_written += n as u64;
        Ok(n)
    }
}
