//! Connecting to a host name: the driver resolves it off the loop and reports its addresses
//! ([`Engine::handle_resolved`]); the engine connects to them in the resolver's order, to the
//! next one after each failed connect, and reports the connect error only when none is left.
//! Both drivers (and any other) thereby try addresses alike.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;

use super::Engine;
use super::channel::{Channel, flag};
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
    /// its addresses in the resolver's order, or why there are none (the lookup's error,
    /// which `on_connect_error` gets as [`ConnectError::Resolve`]). The engine connects to the first
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
        let now = core.now();
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
        log::debug!("pants: channel {id} could not connect to a host name: {err}");
        stream.handle_connect_error(now, err);
        core.touch(id);
    }
}

impl HostConnects {
    /// Gives back the memory of the map's spare room.
    pub(crate) fn shrink(&mut self) {
        self.waiting.shrink_to_fit();
    }

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
    ) -> Option<Result<(), ConnectError>> {
        let addresses = self.waiting.get_mut(&id)?;
        let started = match answer {
            Ok(addrs) if addrs.is_empty() => Err(ConnectError::Resolve(io::Error::new(
                io::ErrorKind::NotFound,
                "the host name has no address",
            ))),
            Ok(addrs) => {
                addresses.left = addrs.into_iter();
                let none = io::Error::other("no address was tried");
                connect_next(io, id, addresses, none).map_err(ConnectError::from_io)
            }
            Err(err) => Err(ConnectError::Resolve(err)),
        };
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Instant;

    use super::*;
    use crate::Context;
    use crate::engine::EngineConfig;
    use crate::handler::Handler;
    use crate::io::Readiness;
    use crate::io::tests::{REFUSED, Scripted as Calls};

    /// Logs the callbacks of the connecting stream.
    struct Logged(Rc<RefCell<Vec<String>>>);

    impl Handler for Logged {
        fn on_connect(&mut self, _: &mut Context<'_>) {
            self.0.borrow_mut().push("on_connect".into());
        }
        fn on_connect_error(&mut self, _: &mut Context<'_>, err: &ConnectError) {
            self.0
                .borrow_mut()
                .push(format!("on_connect_error {err:?}"));
        }
        fn on_close(&mut self, _: &mut Context<'_>) {
            self.0.borrow_mut().push("on_close".into());
        }
    }

    fn addrs(list: &[&str]) -> io::Result<Vec<SocketAddr>> {
        Ok(list
            .iter()
            .map(|a| a.parse().expect("an address"))
            .collect())
    }

    /// An engine with a stream connecting to a host name, and what its handler saw.
    fn connecting() -> (Engine, Calls, ChannelId, Rc<RefCell<Vec<String>>>) {
        let (mut engine, mut io) = (
            Engine::new(EngineConfig::default(), Instant::now()),
            Calls::default(),
        );
        let seen = Rc::default();
        let id = engine
            .context(&mut io, Instant::now())
            .connect("name.test:80", Logged(Rc::clone(&seen)))
            .expect("a connect");
        (engine, io, id, seen)
    }

    /// The driver's readiness for a connect that completed (or failed), and a turn.
    fn writable(engine: &mut Engine, io: &mut Calls, id: ChannelId) {
        engine.handle_readiness(
            id,
            Readiness {
                readable: false,
                writable: true,
            },
        );
        engine.turn(io, Instant::now());
    }

    #[test]
    fn a_failed_address_is_followed_by_the_next() {
        let (mut engine, mut io, id, seen) = connecting();
        engine.handle_resolved(&mut io, id, addrs(&[REFUSED, "127.0.0.1:2"]));
        writable(&mut engine, &mut io, id);
        assert_eq!(
            seen.borrow().as_slice(),
            &[] as &[String],
            "no error while one is left"
        );
        writable(&mut engine, &mut io, id);
        assert_eq!(
            io.log,
            [
                "connect name.test:80",
                "connect 127.0.0.1:1",
                "close",
                "connect 127.0.0.1:2"
            ]
        );
        assert_eq!(seen.borrow().as_slice(), ["on_connect"]);
    }

    #[test]
    fn the_last_failure_is_reported_once_none_is_left() {
        let (mut engine, mut io, id, seen) = connecting();
        engine.handle_resolved(&mut io, id, addrs(&[REFUSED]));
        writable(&mut engine, &mut io, id);
        assert_eq!(
            seen.borrow().as_slice(),
            ["on_connect_error Refused", "on_close"]
        );
    }

    #[test]
    fn a_host_name_without_addresses_is_a_resolve_error() {
        let (mut engine, mut io, id, seen) = connecting();
        engine.handle_resolved(&mut io, id, addrs(&[]));
        engine.turn(&mut io, Instant::now());
        let seen = seen.borrow();
        assert!(seen[0].starts_with("on_connect_error Resolve("), "{seen:?}");
        assert_eq!(seen[1], "on_close");
    }

    #[test]
    fn a_failed_lookup_is_a_resolve_error() {
        let (mut engine, mut io, id, seen) = connecting();
        engine.handle_resolved(&mut io, id, Err(io::ErrorKind::NotFound.into()));
        engine.turn(&mut io, Instant::now());
        let seen = seen.borrow();
        assert!(seen[0].starts_with("on_connect_error Resolve("), "{seen:?}");
        assert_eq!(seen[1], "on_close");
    }

    #[test]
    fn an_answer_for_a_closed_channel_is_ignored() {
        let (mut engine, mut io, id, _) = connecting();
        engine
            .context(&mut io, Instant::now())
            .channel(id)
            .expect("the stream")
            .close_now();
        engine.turn(&mut io, Instant::now());
        let now = Instant::now();
        assert!(engine.context(&mut io, now).channel(id).is_none(), "gone");
        engine.handle_resolved(&mut io, id, addrs(&["127.0.0.1:2"]));
        assert_eq!(
            io.log,
            ["connect name.test:80", "close"],
            "no connect after the close"
        );
    }
}
