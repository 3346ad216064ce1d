//! The engine on real sockets, whatever the poller: the core's engine, the socket table and
//! the inbox of handles. Each driver's `Engine` dereferences to it, so both drivers offer
//! the same methods, written once.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use pants_core::driver::Readiness;
use pants_core::{
    Addr, Bind, ChannelId, Connect, EngineConfig, EngineContext, Handler, IntoAddr, Listen,
};

use crate::handle::{Handle, Inbox};
use crate::poller::Poller;
use crate::release::{Release, trim_allocator};
use crate::resolver::Wake;
use crate::socket::StreamSocket;
use crate::table::SocketTable;

/// A pants engine over the sockets of a [`SocketTable`] watched by poller `P`.
///
/// Applications reach it through their driver's `Engine` (which dereferences to it): open
/// channels, get a [`Handle`], stop. The driver feeds it: readiness
/// ([`handle_readiness`](Self::handle_readiness)), wake-ups from other threads
/// ([`handle_wake`](Self::handle_wake)), and turns ([`turn`](Self::turn)) until
/// [`next_deadline`](Self::next_deadline).
pub struct SocketEngine<P: Poller> {
    core: pants_core::driver::Engine,
    io: SocketTable<P>,
    inbox: Arc<Inbox>,
    release: Release,
}

impl<P: Poller> SocketEngine<P> {
    /// An engine with `config` on sockets watched by `poller`; `wake` wakes the driver's loop
    /// from other threads (posted work, a stop, a resolved host name), after which the driver
    /// calls [`handle_wake`](Self::handle_wake).
    pub fn new(config: EngineConfig, poller: P, wake: Wake) -> Self {
        Self {
            core: pants_core::driver::Engine::new(config, Instant::now()),
            io: SocketTable::new(poller, wake.clone()),
            inbox: Arc::new(Inbox::new(wake)),
            release: Release::default(),
        }
    }

    /// The engine's context: open channels, command them, set timers.
    pub fn context(&mut self) -> EngineContext<'_> {
        self.core.context(&mut self.io, Instant::now())
    }

    /// Listens at `addr` (`127.0.0.1:0` picks a free port); each connection gets a handler
    /// from `factory`.
    pub fn listen<H: Handler>(
        &mut self,
        addr: impl IntoAddr,
        factory: impl FnMut() -> H + 'static,
    ) -> io::Result<ChannelId> {
        self.context().listen(addr, factory)
    }

    /// Listens as `listen` says: a server's own socket options, the settings of its
    /// connections' streams ([`StreamConfig`](pants_core::StreamConfig)), its own handler.
    pub fn listen_with(&mut self, listen: Listen) -> io::Result<ChannelId> {
        self.context().listen_with(listen)
    }

    /// Connects to `addr` with `handler`.
    pub fn connect(&mut self, addr: impl IntoAddr, handler: impl Handler) -> io::Result<ChannelId> {
        self.context().connect(addr, handler)
    }

    /// Takes over a connected stream socket opened elsewhere (accepted by another listener,
    /// inherited, made with `socketpair`): a channel with `handler`, open at once, as if a
    /// server of this engine had accepted it (`on_connect` comes first). The socket is made
    /// non-blocking, and a TCP stream gets the engine's `TCP_NODELAY` setting. The engine
    /// closes it with the channel.
    /// `engine.adopt(std_tcp_stream, handler)?` on either driver's engine;
    /// `tests/adopt.rs` runs it on both.
    pub fn adopt(
        &mut self,
        socket: impl Into<StreamSocket>,
        handler: impl Handler,
    ) -> io::Result<ChannelId> {
        let socket = socket
            .into()
            .into_socket(self.core.socket_options().nodelay)?;
        let id = self.core.adopt(Box::new(handler), Instant::now());
        if let Err(err) = self.io.adopt(id, socket) {
            // Never watched: the channel closes at once (its handler hears `on_close`).
            if let Some(mut channel) = self.context().channel(id) {
                channel.close_now();
            }
            return Err(err);
        }
        Ok(id)
    }

    /// Connects as `connect` says: socket options, the stream's settings.
    pub fn connect_with(&mut self, connect: Connect) -> io::Result<ChannelId> {
        self.context().connect_with(connect)
    }

    /// Binds a datagram channel as `bind` says: socket options, the channel's settings.
    pub fn datagram_with(&mut self, bind: Bind) -> io::Result<ChannelId> {
        self.context().datagram_with(bind)
    }

    /// Binds a datagram channel at `addr` with `handler`.
    pub fn datagram(
        &mut self,
        addr: impl IntoAddr,
        handler: impl Handler,
    ) -> io::Result<ChannelId> {
        self.context().datagram(addr, handler)
    }

    /// The local address of channel `id` (the real port of a listener bound to port 0).
    pub fn local_addr(&mut self, id: ChannelId) -> Option<Addr> {
        self.context().channel(id)?.local()
    }

    /// A handle for other threads and tasks: post work, call, or stop the loop.
    pub fn handle(&self) -> Handle {
        Handle {
            inbox: self.inbox.clone(),
        }
    }

    /// Shuts down gracefully: stop accepting, close every stream after flushing (bounded by
    /// its linger time), close datagram channels once their queue is sent. The loop ends
    /// when all are closed.
    pub fn stop(&mut self) {
        self.core.stop();
    }

    /// True after a stop, once every channel is closed.
    pub fn is_finished(&self) -> bool {
        self.core.is_finished()
    }

    /// How many channels are open.
    pub fn channel_count(&self) -> usize {
        self.core.channel_count()
    }

    /// When the engine must run its next turn at the latest, if ever (now, when work is
    /// left over): how long a loop hosting it may wait.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    /// For drivers: the poller reported `readiness` for channel `id`'s socket.
    pub fn handle_readiness(&mut self, id: ChannelId, readiness: Readiness) {
        self.core.handle_readiness(id, readiness);
    }

    /// For drivers: runs a turn (see [`pants_core::driver::Engine::turn`]). Once the
    /// connections of a burst have mostly gone, the memory they used is given back (see
    /// `release.rs`).
    pub fn turn(&mut self) {
        self.core.turn(&mut self.io, Instant::now());
        if self.release.after_turn(self.core.channel_count()) {
            self.core.release_memory();
            self.io.release_memory();
            trim_allocator();
        }
        if self.core.is_finished() {
            // A stopped engine runs nothing more: a call posted now fails at once rather
            // than waits for the engine to be dropped.
            self.inbox.close();
        }
    }

    /// For drivers: the loop was woken from another thread. Connects to the host names
    /// resolved since, runs the work posted since, and stops if a stop was asked.
    pub fn handle_wake(&mut self) {
        for (id, answer) in self.io.take_resolved() {
            self.core.handle_resolved(&mut self.io, id, answer);
        }
        let (posted, stop) = self.inbox.take();
        for work in posted {
            work(&mut self.context());
        }
        if stop {
            self.core.stop();
        }
    }

    /// For drivers: the socket table, to reach the poller and the sockets.
    pub fn table_mut(&mut self) -> &mut SocketTable<P> {
        &mut self.io
    }
}

impl<P: Poller> Drop for SocketEngine<P> {
    /// Work posted and not run is dropped (a pending call fails); the sockets close with the
    /// table.
    fn drop(&mut self) {
        self.inbox.close();
    }
}

/// Makes a driver's `Engine` dereference to the [`SocketEngine`] in its field `$field`, so
/// that every driver offers the shared methods, written once in `SocketEngine`:
/// `deref_to_socket_engine!(Engine, inner, Mio);`.
#[macro_export]
macro_rules! deref_to_socket_engine {
    ($engine:ty, $field:ident, $poller:ty) => {
        impl ::std::ops::Deref for $engine {
            type Target = $crate::SocketEngine<$poller>;

            fn deref(&self) -> &Self::Target {
                &self.$field
            }
        }

        impl ::std::ops::DerefMut for $engine {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.$field
            }
        }
    };
}
