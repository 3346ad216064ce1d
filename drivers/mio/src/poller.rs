//! How mio watches the socket table's sockets: registered edge-triggered under their
//! channel's id, and which short reads prove an empty receive queue.
//!
//! A TCP read that returns less than the room it was given emptied the socket's receive
//! queue. Edge-triggered epoll reports every later arrival as a new event, so the engine may
//! wait for that report instead of making the read that would only say `WouldBlock` (tokio
//! does the same): one `recv` less per connection and turn, a quarter of the system calls of
//! a request-reply exchange. Where a short read does not mean an empty queue, the driver
//! does not say so and the engine reads until `WouldBlock`:
//! - once the poller has reported the peer's close or an error for a socket: that report came
//!   once, and the end of the stream (or the error) may be waiting behind the data of a short
//!   read;
//! - once it has reported urgent data (`EPOLLPRI`, registered for TCP streams): a read stops
//!   short at the urgent mark, with the rest queued behind it;
//! - on Unix stream sockets, whose reads stop short at a message that passes descriptors or
//!   credentials;
//! - on systems other than Linux and Android, where mio cannot ask for urgent-data events.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use mio::event::Event;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use pants_core::ChannelId;
use pants_socket::{Direction, Opened, Poller, Socket};

/// What TCP streams are registered for besides reading and writing: urgent data, which makes
/// a read stop short.
#[cfg(any(target_os = "linux", target_os = "android"))]
const TCP_INTEREST: Interest = Interest::PRIORITY;
/// Elsewhere mio has no urgent-data events, and no short read is taken as proof.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const TCP_INTEREST: Interest = Interest::READABLE;

/// Whether short reads prove anything on this system.
const SHORT_READS_PROVE: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// mio's registry, watching every socket of the table.
pub struct Mio {
    registry: Registry,
    /// By slot index: whether the poller has had its last word on the socket there (the
    /// peer's close, an error or urgent data), after which short reads prove nothing. Kept
    /// here, a byte a slot, rather than in the slot, which it would grow from two words to
    /// three.
    last_word: Vec<bool>,
}

impl Mio {
    pub(crate) fn new(registry: Registry) -> Self {
        Self {
            registry,
            last_word: Vec::new(),
        }
    }

    /// The poller reported `event` for channel `id`'s socket.
    pub(crate) fn handle_event(&mut self, id: ChannelId, event: &Event) {
        if event.is_read_closed() || event.is_error() || is_priority(event) {
            let index = index(id);
            if self.last_word.len() <= index {
                self.last_word.resize(index + 1, false);
            }
            self.last_word[index] = true;
        }
    }
}

fn index(id: ChannelId) -> usize {
    // The low half of the bits is the slot index.
    (id.to_bits() & u64::from(u32::MAX)) as usize
}

impl Poller for Mio {
    type Slot = Socket;

    fn register(&mut self, id: ChannelId, socket: Socket, _: Opened) -> io::Result<Socket> {
        let both = Interest::READABLE | Interest::WRITABLE;
        let interest = match &socket {
            listener if listener.is_listener() => Interest::READABLE,
            Socket::Tcp(_) => both | TCP_INTEREST,
            _ => both,
        };
        let token = Token(id.to_bits() as usize);
        let fd = socket.as_fd().as_raw_fd();
        self.registry
            .register(&mut SourceFd(&fd), token, interest)?;
        if let Some(last_word) = self.last_word.get_mut(index(id)) {
            *last_word = false;
        }
        Ok(socket)
    }

    fn deregister(&mut self, socket: Socket) {
        // Deregistering can only fail for a socket that was never registered.
        let fd = socket.as_fd().as_raw_fd();
        let _ = self.registry.deregister(&mut SourceFd(&fd));
    }

    /// Edge-triggered: the poller reports every change by itself.
    fn wait(&mut self, _: ChannelId, _: &mut Socket, _: Direction) {}

    fn emptied(&self, id: ChannelId, socket: &Socket, len: usize, room: usize) -> bool {
        let last_word = self.last_word.get(index(id)).copied().unwrap_or(false);
        SHORT_READS_PROVE && matches!(socket, Socket::Tcp(_)) && !last_word && len < room
    }
}

/// True when `event` reports urgent data.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn is_priority(event: &Event) -> bool {
    event.is_priority()
}

/// Never: mio reports no urgent data here.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn is_priority(_: &Event) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot is its socket: two words, as before the socket layer.
    #[test]
    fn a_socket_slot_is_two_words() {
        assert_eq!(size_of::<Option<Socket>>(), 2 * size_of::<usize>());
    }
}
