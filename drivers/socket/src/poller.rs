//! What a driver gives the socket table: how its poller watches a socket. The only part of
//! the socket layer that differs between drivers.

use std::io;

use pants_core::ChannelId;

use crate::socket::Socket;

/// How a driver's poller watches the table's sockets.
///
/// The table makes every socket call; the poller registers each socket under its channel's
/// id, reports readiness to the engine (through the driver's loop, not through this trait),
/// and learns here when the engine will wait for a report.
pub trait Poller {
    /// What the table keeps for each channel: its socket, and whatever the poller keeps
    /// beside it.
    type Slot: AsRef<Socket>;

    /// Starts watching `socket`, just opened for channel `id` as `opened` says.
    fn register(&mut self, id: ChannelId, socket: Socket, opened: Opened)
    -> io::Result<Self::Slot>;

    /// Stops watching a socket before it is closed (dropped).
    fn deregister(&mut self, slot: Self::Slot);

    /// A call on channel `id`'s socket said `WouldBlock` in `direction` (or a read emptied
    /// its receive queue): the engine has cleared its flag and waits for the poller to report
    /// that direction ready again. An edge-triggered poller reports every change by itself;
    /// a one-shot poller arms the direction here.
    fn wait(&mut self, id: ChannelId, slot: &mut Self::Slot, direction: Direction);

    /// Whether a stream read on channel `id` that returned `len` bytes, given room for `room`, proves that
    /// the socket's receive queue is empty (see [`pants_core::driver::Received::emptied`]), so that
    /// the engine waits for the next readable report instead of reading again. `false` is
    /// always safe; `true` must mean the poller will report the socket when more arrives
    /// (or when the end of the stream, an error or urgent data is waiting).
    fn emptied(&self, id: ChannelId, slot: &Self::Slot, len: usize, room: usize) -> bool;
}

/// A direction of readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Readable: bytes, a connection to accept, a datagram, the end of the stream, an error.
    Read,
    /// Writable: room to send, or a connect that completed.
    Write,
}

/// How a socket came to the table, which tells a poller what the engine needs to hear first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// A listener: readable once a connection waits.
    Listening,
    /// A stream a listener accepted: connected, and perhaps with bytes already.
    Accepted,
    /// A stream connecting: writable once the connect completed (or failed).
    Connecting,
    /// A bound datagram socket: writable at once, readable once a datagram arrives.
    Bound,
}
