//! Building a group: how many engines, their settings and signals, and what each runs first
//! (a setup of its own, or a listener on the group's port).

use std::ffi::c_int;
use std::io;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use pants_core::{Addr, ChannelId, EngineConfig, EngineContext, Handler, IntoAddr};

use super::start::{Outcome, Setup, Starting, abandon};
use super::{Group, GroupEngine, GroupHandle, Member};

/// Builds a [`Group`]: `Group::builder(n)`, settings, then [`start`](Self::start) with a setup
/// of your own, or [`listen`](Self::listen) on one address with every engine.
///
/// The setup runs on each engine's own thread, engine 0 first and each of the others once the
/// one before it is set up; so it, and what it captures, must be `Send + Sync`. Handlers are
/// made there and need not be.
pub struct GroupBuilder<E> {
    engines: usize,
    config: EngineConfig,
    signals: Vec<c_int>,
    _engine: PhantomData<fn() -> E>,
}

impl<E: GroupEngine> GroupBuilder<E> {
    pub(super) fn new(engines: usize) -> Self {
        Self {
            engines,
            config: sharing_ports(EngineConfig::default()),
            signals: Vec::new(),
            _engine: PhantomData,
        }
    }

    /// Every engine's settings. Their socket options default to `reuse_port` (turned on here
    /// whatever `config` says), so that every engine can listen on the group's port; a
    /// channel opened with socket options of its own must set it too.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = sharing_ports(config);
        self
    }

    /// Stops every engine gracefully when one of `signals` arrives (each engine catches them
    /// itself, without a thread): for a server, usually `SIGINT` and `SIGTERM`. Signals that
    /// cannot be caught make [`start`](Self::start) fail.
    pub fn stop_on_signals(mut self, signals: &[c_int]) -> Self {
        self.signals.extend_from_slice(signals);
        self
    }

    /// Starts the engines, each on its own thread, and runs `setup` on each (engine 0 first):
    /// open channels there, with the handlers they need. Returns once every engine is set up
    /// and running. A setup's error or panic (or an engine that could not be made) stops the
    /// engines already running, and is returned naming the engine, once every thread ended.
    pub fn start(
        self,
        setup: impl Fn(&mut EngineContext<'_>, &Member) -> io::Result<()> + Send + Sync + 'static,
    ) -> io::Result<Group<E>> {
        self.start_with(Arc::new(setup))
    }

    /// Starts the engines, each listening at `addr` with connections from a factory that
    /// `factory` makes for it (on its own thread: the factory, and the handlers it makes, need
    /// not be `Send`). Port 0 is resolved by engine 0, and the others listen on the port it
    /// was given: [`Group::local_addr`] says which.
    ///
    /// Refused with an `Unsupported` error, before any thread starts, where the connections of
    /// a port cannot be spread between engines: a Unix socket, or a system other than Linux
    /// (see [`Group`]); a group of one engine listens anywhere.
    pub fn listen<H, F>(
        self,
        addr: impl IntoAddr,
        factory: impl Fn(&Member) -> F + Send + Sync + 'static,
    ) -> io::Result<Group<E>>
    where
        H: Handler,
        F: FnMut() -> H + 'static,
    {
        self.listen_with(addr, move |cx, addr, member| {
            cx.listen(addr, factory(member))
        })
    }

    /// As [`listen`](Self::listen), with the listener opened by `open` on each engine: given
    /// the address to listen at (with engine 0's port from the second engine on), it listens
    /// there as it likes (`listen_with`: stream settings, the server's own handler) and
    /// returns the listener's id.
    pub fn listen_with(
        self,
        addr: impl IntoAddr,
        open: impl Fn(&mut EngineContext<'_>, Addr, &Member) -> io::Result<ChannelId>
        + Send
        + Sync
        + 'static,
    ) -> io::Result<Group<E>> {
        let addr = addr.into_addr()?;
        check_shareable(&addr, self.engines)?;
        let resolved = Arc::new(OnceLock::new());
        let seen = resolved.clone();
        let mut group = self.start(move |cx, member| {
            let at = seen.get().cloned().unwrap_or_else(|| addr.clone());
            let id = open(cx, at.clone(), member).map_err(|err| explain(err, &at, member))?;
            if member.index() == 0 {
                let local = cx.channel(id).and_then(|listener| listener.local());
                let local = local.ok_or_else(|| io::Error::other("the listener has no address"))?;
                let _ = seen.set(local);
            }
            Ok(())
        })?;
        group.local = resolved.get().cloned();
        Ok(group)
    }

    fn start_with(self, setup: Arc<Setup>) -> io::Result<Group<E>> {
        if self.engines == 0 {
            let message = "a group needs at least one engine";
            return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        }
        let outcome = Arc::new(Outcome::default());
        let signals: Arc<[c_int]> = self.signals.into();
        let mut starting = Vec::with_capacity(self.engines);
        for index in 0..self.engines {
            let config = self.config.clone();
            match Starting::spawn::<E>(index, config, signals.clone(), outcome.clone()) {
                Ok(thread) => starting.push(thread),
                Err(err) => return Err(abandon(starting, None, err)),
            }
        }
        let mut handles = Vec::with_capacity(self.engines);
        for (index, thread) in starting.iter().enumerate() {
            match thread.built(index) {
                Ok(handle) => handles.push(handle),
                Err(err) => return Err(abandon(starting, None, err)),
            }
        }
        let handle = GroupHandle::new(handles);
        for (index, thread) in starting.iter().enumerate() {
            let member = Member::new(index, handle.clone());
            if let Err(err) = thread.set_up(member, setup.clone()) {
                return Err(abandon(starting, Some(&handle), err));
            }
        }
        Ok(Group {
            handle,
            threads: starting.into_iter().map(Starting::into_thread).collect(),
            outcome,
            local: None,
            _engine: PhantomData,
        })
    }
}

impl<E> std::fmt::Debug for GroupBuilder<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupBuilder")
            .field("engines", &self.engines)
            .field("signals", &self.signals)
            .finish_non_exhaustive()
    }
}

/// `config` with `reuse_port` on: the engines of a group share their ports.
fn sharing_ports(mut config: EngineConfig) -> EngineConfig {
    config.socket.reuse_port = true;
    config
}

/// Refuses to listen at `addr` with more than one engine where the kernel would not spread
/// its connections between them.
fn check_shareable(addr: &Addr, engines: usize) -> io::Result<()> {
    if engines < 2 {
        return Ok(());
    }
    if addr.is_unix() {
        let message = format!(
            "a group of {engines} engines cannot share the Unix socket {addr}: only TCP and UDP \
             ports are shared (SO_REUSEPORT); listen there from one engine's setup"
        );
        return Err(io::Error::new(io::ErrorKind::Unsupported, message));
    }
    if cfg!(not(any(target_os = "linux", target_os = "android"))) {
        let message = format!(
            "a group of {engines} engines cannot share {addr} on this system: its SO_REUSEPORT \
             gives every connection to one socket (Linux spreads them)"
        );
        return Err(io::Error::new(io::ErrorKind::Unsupported, message));
    }
    Ok(())
}

/// A listener of a later engine could not take the group's address: says why, when the cause
/// is known.
fn explain(err: io::Error, at: &Addr, member: &Member) -> io::Error {
    if member.index() == 0 || err.kind() != io::ErrorKind::AddrInUse {
        return err;
    }
    let message = format!(
        "{err} (engine 0 listens at {at}: every engine's listener must set reuse_port in its \
         socket options)"
    );
    io::Error::new(err.kind(), message)
}

#[cfg(test)]
mod tests {
    use super::check_shareable;

    #[test]
    fn unix_sockets_are_refused_for_more_than_one_engine() {
        for addr in ["unix:/tmp/pants-group.sock", "unix:@pants-group"] {
            let addr = addr.parse().unwrap();
            let err = check_shareable(&addr, 2).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::Unsupported, "{err}");
            assert!(
                err.to_string().contains("cannot share the Unix socket"),
                "{err}"
            );
            check_shareable(&addr, 1).expect("one engine listens anywhere");
        }
    }

    #[test]
    fn tcp_ports_are_shared_on_linux() {
        let addr = "127.0.0.1:0".parse().unwrap();
        let shared = check_shareable(&addr, 4);
        match cfg!(any(target_os = "linux", target_os = "android")) {
            true => shared.expect("Linux spreads a port's connections"),
            false => assert_eq!(shared.unwrap_err().kind(), std::io::ErrorKind::Unsupported),
        }
    }
}
