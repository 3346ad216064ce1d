//! Connecting to a host name: the driver resolves it off the loop and reports its addresses
//! ([`Engine::handle_resolved`]); the engine connects to them in the resolver's order, to the
//! next one after each failed connect, and reports the connect error only when none is left.
//! Both drivers (and any other) thereby try addresses alike.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;

use super::{Channel, Engine, flag};
use crate::addr::Addr;
use crate::error::ConnectError;
use crate::id::ChannelId;
use crate::io::{Io, SocketOptions};

/// The host-name connects in progress, by channel: the addresses not tried yet.
#[derive(Default)]
pub(crate) struct HostConnects {
    waiting: HashMap<ChannelId, Addresses>,
}

/// What a host-name connect has left to try, and how.
struct Addresses {
    left: std::vec::IntoIter<SocketAddr>,
    options: SocketOptions,
}

impl Engine {
    /// The driver resolved the host name channel `id` connects to (see [`Io::connect`]):
    /// its addresses in the resolver's order, or why there are none (an error the driver
    /// marked with [`ResolveFailed`](crate::ResolveFailed)). The engine connects to the first
    /// that takes a connect, and to the next one whenever a connect fails; `on_connect_error`
    /// reports the last failure once none is left. An answer for a channel that no longer
    /// waits for one (it closed, even if a new channel has its slot now) is ignored.
    pub fn handle_resolved(
        &mut self,
        io: &mut dyn Io,
        id: ChannelId,
        answer: io::Result<Vec<SocketAddr>>,
    ) {
        let core = &mut self.core;
        let Some(entry) = core.channels.get_mut(id) else {
            return;
        };
        let Channel::Stream(stream) = &mut entry.channel else {
            return;
        };
        if !stream.is_connecting() || entry.flags & flag::OPEN == 0 {
            core.host_connects.forget(id);
            return;
        }
        let Some(Err(err)) = core.host_connects.handle_resolved(io, id, answer) else {
            core.touch(id);
            return;
        };
        stream.handle_connect_error(core.now, ConnectError::from_io(err));
        core.touch(id);
    }
}

impl HostConnects {
    /// Starts channel `id`'s connect to `addr`, keeping a host name's options for the
    /// addresses the driver will report.
    pub(crate) fn start(
        &mut self,
        io: &mut dyn Io,
        id: ChannelId,
        addr: &Addr,
        options: &SocketOptions,
    ) -> io::Result<()> {
        if let Addr::Host { .. } = addr {
            let left = Vec::new().into_iter();
            let options = options.clone();
            self.waiting.insert(id, Addresses { left, options });
        }
        io.connect(id, addr, options)
    }

    /// The driver's answer for channel `id`: connects to its first address that takes a
    /// connect. `None` when `id` waits for no answer.
    fn handle_resolved(
        &mut self,
        io: &mut dyn Io,
        id: ChannelId,
        answer: io::Result<Vec<SocketAddr>>,
    ) -> Option<io::Result<()>> {
        let addresses = self.waiting.get_mut(&id)?;
        let none = || io::Error::new(io::ErrorKind::NotFound, "the host name has no address");
        let started = answer.and_then(|addrs| {
            addresses.left = addrs.into_iter();
            connect_next(io, id, addresses, none())
        });
        if started.is_err() {
            self.waiting.remove(&id);
        }
        Some(started)
    }

    /// Channel `id`'s connect failed with `err`: closes that socket and connects to the next
    /// address, or gives `err` back when no address is left.
    pub(crate) fn retry(
        &mut self,
        io: &mut dyn Io,
        id: ChannelId,
        err: io::Error,
    ) -> io::Result<()> {
        let Some(addresses) = self.waiting.get_mut(&id) else {
            return Err(err);
        };
        if addresses.left.len() > 0 {
            io.close(id);
        }
        let started = connect_next(io, id, addresses, err);
        if started.is_err() {
            self.waiting.remove(&id);
        }
        started
    }

    /// Channel `id` connected or closed: it tries no more addresses.
    pub(crate) fn forget(&mut self, id: ChannelId) {
        if !self.waiting.is_empty() {
            self.waiting.remove(&id);
        }
    }
}

/// Connects channel `id` to the first of the addresses left that takes a connect; the error
/// of the last that did not (or `last`) when none does.
fn connect_next(
    io: &mut dyn Io,
    id: ChannelId,
    addresses: &mut Addresses,
    mut last: io::Error,
) -> io::Result<()> {
    for addr in addresses.left.by_ref() {
        match io.connect(id, &Addr::Ip(addr), &addresses.options) {
            Ok(()) => return Ok(()),
            Err(err) => last = err,
        }
    }
    Err(last)
}
