//! The socket table: every channel's socket at its slot index, and the engine's socket calls
//! on them ([`Io`]). Drivers differ only in their [`Poller`].

use std::io::{self, IoSlice};
use std::net::Shutdown;

use bytes::{Bytes, BytesMut};
use pants_core::channel::FileRange;
use pants_core::driver::{Io, Received};
use pants_core::{Addr, ChannelId, SocketOptions};

use crate::calls::{self, unsupported};
use crate::open;
use crate::poller::{Direction, Opened, Poller};
use crate::resolver::{Answer, Resolver, Wake};
use crate::socket::Socket;

/// Each channel's socket, watched by poller `P`, and the engine's calls on them.
pub struct SocketTable<P: Poller> {
    poller: P,
    /// Each channel's slot at its slot index. The engine asks only about live channels (its
    /// slab checks generations; late resolver answers are checked by the engine), so a slot
    /// keeps no id.
    slots: Vec<Option<P::Slot>>,
    buffers: Buffers,
    resolver: Resolver,
}

/// What reads fill, shared by every socket.
#[derive(Default)]
struct Buffers {
    /// The buffer stream reads split their bytes from.
    read: BytesMut,
    /// Room for one datagram, allocated by the first datagram read.
    datagram: Vec<u8>,
}

impl<P: Poller> SocketTable<P> {
    /// Gives back the memory of the empty slots at the end of the table (after a burst of
    /// connections that closed) and of the shared read buffers.
    pub fn release_memory(&mut self) {
        while let Some(None) = self.slots.last() {
            self.slots.pop();
        }
        self.slots.shrink_to_fit();
        self.buffers = Buffers::default();
    }

    /// An empty table watched by `poller`; `wake` wakes the driver's loop when a host name
    /// was resolved (from the resolver thread).
    pub fn new(poller: P, wake: Wake) -> Self {
        Self {
            poller,
            slots: Vec::new(),
            buffers: Buffers::default(),
            resolver: Resolver::new(wake),
        }
    }

    /// The poller.
    pub fn poller_mut(&mut self) -> &mut P {
        &mut self.poller
    }

    /// Channel `id`'s slot (by its slot index alone: a late report for a closed channel may
    /// find its successor's, which must be harmless), and the poller.
    pub fn slot_mut(&mut self, id: ChannelId) -> (Option<&mut P::Slot>, &mut P) {
        let slot = self.slots.get_mut(index(id)).and_then(Option::as_mut);
        (slot, &mut self.poller)
    }

    /// The host-name answers that arrived since the last call, for
    /// [`Engine::handle_resolved`](pants_core::driver::Engine::handle_resolved).
    pub(crate) fn take_resolved(&mut self) -> Vec<Answer> {
        self.resolver.take_answers()
    }

    fn socket(&self, id: ChannelId) -> io::Result<&Socket> {
        match self.slots.get(index(id)) {
            Some(Some(slot)) => Ok(slot.as_ref()),
            _ => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "no socket for this channel",
            )),
        }
    }

    /// Makes a call on channel `id`'s socket; when it says `WouldBlock` in `direction`, the
    /// poller learns that the engine waits.
    fn call<T>(
        &mut self,
        id: ChannelId,
        direction: Direction,
        call: impl FnOnce(&Socket, &mut Buffers) -> io::Result<T>,
    ) -> io::Result<T> {
        let Some(Some(slot)) = self.slots.get_mut(index(id)) else {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "no socket for this channel",
            ));
        };
        let result = call(slot.as_ref(), &mut self.buffers);
        if matches!(&result, Err(err) if err.kind() == io::ErrorKind::WouldBlock) {
            self.poller.wait(id, slot, direction);
        }
        result
    }

    /// Keeps a connected stream `socket` opened outside the engine under channel `id`.
    pub(crate) fn adopt(&mut self, id: ChannelId, socket: Socket) -> io::Result<()> {
        self.insert(id, socket, Opened::Accepted)
    }

    /// Registers `socket` under channel `id` and keeps it.
    fn insert(&mut self, id: ChannelId, socket: Socket, opened: Opened) -> io::Result<()> {
        let index = index(id);
        // The engine closes a socket before its slot gets another; never leak one.
        self.close_slot(index);
        let slot = self.poller.register(id, socket, opened)?;
        if self.slots.len() <= index {
            self.slots.resize_with(index + 1, || None);
        }
        self.slots[index] = Some(slot);
        Ok(())
    }
}

impl<P: Poller> Drop for SocketTable<P> {
    /// Deregisters and closes every socket, removing the socket files it made.
    fn drop(&mut self) {
        for index in 0..self.slots.len() {
            self.close_slot(index);
        }
    }
}

impl<P: Poller> SocketTable<P> {
    fn close_slot(&mut self, index: usize) {
        let Some(slot) = self.slots.get_mut(index).and_then(Option::take) else {
            return;
        };
        let path = slot.as_ref().owned_path().cloned();
        self.poller.deregister(slot);
        // The socket file goes with it (if it is still its own).
        if let Some(path) = path {
            path.remove();
        }
    }
}

fn index(id: ChannelId) -> usize {
    // The low half of the bits is the slot index.
    (id.to_bits() & u64::from(u32::MAX)) as usize
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

impl<P: Poller> Io for SocketTable<P> {
    fn listen(&mut self, id: ChannelId, addr: &Addr, options: &SocketOptions) -> io::Result<()> {
        let socket = open::listener(addr, options)?;
        self.insert(id, socket, Opened::Listening)
    }

    fn accept(&mut self, server: ChannelId, conn: ChannelId) -> io::Result<()> {
        let socket = self.call(server, Direction::Read, |socket, _| open::accept(socket))?;
        self.insert(conn, socket, Opened::Accepted)
    }

    fn connect(&mut self, id: ChannelId, addr: &Addr, options: &SocketOptions) -> io::Result<()> {
        if let Addr::Host { host, port } = addr {
            return self.resolver.resolve(id, host, *port);
        }
        let socket = open::connect(addr, options)?;
        self.insert(id, socket, Opened::Connecting)
    }

    fn connect_result(&mut self, id: ChannelId) -> io::Result<bool> {
        let outcome = match self.socket(id)? {
            Socket::Tcp(stream) => {
                connect_outcome(stream.take_error(), stream.peer_addr().map(drop))
            }
            Socket::Unix(stream) => {
                connect_outcome(stream.take_error(), stream.peer_addr().map(drop))
            }
            _ => Err(unsupported()),
        };
        // Connected, the engine waits to read (its readable flag is clear); still
        // connecting, it waits for the connect to complete.
        let waits = match outcome {
            Ok(true) => Direction::Read,
            Ok(false) => Direction::Write,
            Err(_) => return outcome,
        };
        if let (Some(slot), poller) = self.slot_mut(id) {
            poller.wait(id, slot, waits);
        }
        outcome
    }

    fn local_addr(&self, id: ChannelId) -> io::Result<Addr> {
        self.socket(id)?.local_addr()
    }

    fn peer_addr(&self, id: ChannelId) -> io::Result<Addr> {
        self.socket(id)?.peer_addr()
    }

    fn read(&mut self, id: ChannelId) -> io::Result<Received> {
        let (data, room) = self.call(id, Direction::Read, |socket, buffers| match socket {
            Socket::Tcp(stream) => calls::recv(&mut buffers.read, stream),
            Socket::Unix(stream) => calls::recv(&mut buffers.read, stream),
            _ => Err(unsupported()),
        })?;
        let (Some(slot), poller) = self.slot_mut(id) else {
            return Ok(data.into());
        };
        let emptied = !data.is_empty() && poller.emptied(id, slot, data.len(), room);
        if emptied {
            poller.wait(id, slot, Direction::Read);
        }
        Ok(Received { data, emptied })
    }

    fn write(&mut self, id: ChannelId, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        self.call(id, Direction::Write, |socket, _| match socket {
            Socket::Tcp(stream) => calls::send(stream, slices),
            Socket::Unix(stream) => calls::send(stream, slices),
            _ => Err(unsupported()),
        })
    }

    fn send_file(&mut self, id: ChannelId, range: &FileRange) -> io::Result<usize> {
        let count = usize::try_from(range.len())
            .unwrap_or(usize::MAX)
            .min(1 << 30);
        self.call(id, Direction::Write, |socket, _| match socket {
            Socket::Tcp(stream) => calls::send_file(stream, range, count),
            Socket::Unix(stream) => calls::send_file(stream, range, count),
            _ => Err(unsupported()),
        })
    }

    fn read_file(&mut self, range: &FileRange, buf: &mut [u8]) -> io::Result<usize> {
        calls::read_file(range, buf)
    }

    fn shutdown(&mut self, id: ChannelId) -> io::Result<()> {
        match self.socket(id)? {
            Socket::Tcp(stream) => stream.shutdown(Shutdown::Write),
            Socket::Unix(stream) => stream.shutdown(Shutdown::Write),
            _ => Err(unsupported()),
        }
    }

    fn close(&mut self, id: ChannelId) {
        self.close_slot(index(id));
    }

    fn bind(&mut self, id: ChannelId, addr: &Addr, options: &SocketOptions) -> io::Result<()> {
        let socket = open::datagram(addr, options)?;
        self.insert(id, socket, Opened::Bound)
    }

    fn recv_from(&mut self, id: ChannelId) -> io::Result<(Bytes, Addr)> {
        self.call(id, Direction::Read, |socket, buffers| {
            calls::recv_from(&mut buffers.datagram, socket)
        })
    }

    fn send_to(&mut self, id: ChannelId, data: &[u8], to: &Addr) -> io::Result<usize> {
        self.call(id, Direction::Write, |socket, _| {
            calls::send_to(socket, data, to)
        })
    }
}
