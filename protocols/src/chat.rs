//! Chat: a line protocol where every line a client sends goes to every client of the server.
//!
//! The read delimiter is `\n`; an optional `\r` before it is stripped, so `telnet` and `nc`
//! users both work. Each line is sent on as `LINE\n` to every open connection of the server
//! that accepted the sender, the sender included, with one shared `Bytes` (no copy per client).
//!
//! Limits come from the stream: a line longer than the read limit (64 KiB by default) raises
//! `on_overflow_error`, and the stream's default overflow policy closes that client after
//! flushing what it has queued; nobody else is affected. A client that does not read what is
//! broadcast to it ends up over its write queue's hard limit: that write is refused and, under
//! the same policy, the slow client is closed, not the sender. A partial last line cut by the
//! peer's EOF is dropped (the stream reports it through `on_error`).
//!
//! On a group of engines (threads), each engine has its own server and its own clients; a
//! [`Room`] joins them: each line is broadcast on the sender's engine and relayed to every
//! other engine, whose server broadcasts it there. Every client receives every line once, and
//! the lines of one sender in the order sent.

use std::fmt;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use bytes::{BufMut, Bytes, BytesMut};
use pants_core::{ChannelId, Context, EngineContext, Frame, Handler, ReadDelimiter};

/// One chat client's connection. Make them with [`Chat::factory`], which builds the `\n`
/// delimiter once for the whole server.
///
/// ```
/// use pants_core::testing::Network;
/// use pants_protocols::Chat;
///
/// let mut net = Network::new();
/// net.listen("127.0.0.1:8", Chat::factory())?;
/// let alice = net.peer_connect("127.0.0.1:8")?;
/// let bob = net.peer_connect("127.0.0.1:8")?;
/// net.send(alice, "hi all\r\n");
/// net.run();
/// assert_eq!(net.received(alice), "hi all\n");
/// assert_eq!(net.received(bob), "hi all\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Chat {
    line: ReadDelimiter,
    /// On a group of engines: how lines reach the other engines.
    relay: Option<Rc<Relay>>,
}

impl Chat {
    /// A factory for a server's connections; they share one compiled `\n` delimiter.
    pub fn factory() -> impl FnMut() -> Chat + 'static {
        let line = line_delimiter();
        move || Chat {
            line: line.clone(),
            relay: None,
        }
    }
}

impl Handler for Chat {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter(&self.line)
            .expect("a byte delimiter fits any read limit");
        if let (Some(relay), Some(server)) = (&self.relay, cx.server()) {
            relay.serving(server);
        }
    }

    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        let text = line.strip_suffix(b"\r").unwrap_or(&line);
        let mut message = BytesMut::with_capacity(text.len() + 1);
        message.put_slice(text);
        message.put_u8(b'\n');
        let message = message.freeze();
        match cx.server() {
            Some(server) => {
                if let Some(relay) = &self.relay {
                    relay.send(&message);
                }
                cx.broadcast(server, message);
            }
            // A client-side chat (one the application connected) has no server: it just
            // shows the line to its own peer.
            None => {
                let _ = cx.write(message);
            }
        }
    }
}

/// The `\n` line delimiter.
fn line_delimiter() -> ReadDelimiter {
    ReadDelimiter::bytes(b"\n").expect("a one-byte delimiter is valid")
}

/// Work for another engine of a group, run there with that engine's context.
pub type Work = Box<dyn FnOnce(&mut EngineContext<'_>) + Send>;

/// One chat room over the engines of a group: a line any client sends reaches every client of
/// every engine. `Send + Sync` and cheap to clone: make it before the group, and give each
/// engine's server a factory from [`factory`](Self::factory). One chat server per engine.
///
/// The room knows each engine's server once a client has connected there (its connections
/// tell it), so a line is relayed only to engines that have clients. Relaying costs each
/// line one closure posted to each other engine (a lock and a wake-up there): the price of a
/// protocol whose every line concerns every client; a protocol whose connections are
/// independent pays nothing.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use pants_core::testing::Network;
/// use pants_protocols::chat::{Room, Work};
///
/// // Two in-memory networks stand for two engines; what one posts to the other waits here.
/// let posted: Arc<Mutex<Vec<(usize, Work)>>> = Arc::default();
/// let room = Room::new(2);
/// let mut engines = [Network::new(), Network::new()];
/// for (index, net) in engines.iter_mut().enumerate() {
///     let posted = posted.clone();
///     let post = move |to, work| posted.lock().unwrap().push((to, work));
///     net.listen("127.0.0.1:8", room.factory(index, post))?;
/// }
/// let alice = engines[0].peer_connect("127.0.0.1:8")?;
/// let bob = engines[1].peer_connect("127.0.0.1:8")?;
/// engines.iter_mut().for_each(Network::run);
/// engines[0].send(alice, "hi bob\n");
/// engines[0].run();
/// for (to, work) in posted.lock().unwrap().drain(..) {
///     work(&mut engines[to].context()); // what the group's handle does on engine `to`
/// }
/// engines[1].run();
/// assert_eq!(engines[0].received(alice), "hi bob\n");
/// assert_eq!(engines[1].received(bob), "hi bob\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Room {
    /// Each engine's chat server, once one of its clients has connected.
    servers: Arc<[OnceLock<ChannelId>]>,
}

impl Room {
    /// A room for a group of `engines` engines.
    pub fn new(engines: usize) -> Self {
        Self {
            servers: (0..engines).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The factory of engine `engine`'s chat connections (its index in the group). `post(i,
    /// work)` runs `work` on engine `i` of the group, at its next turn: the group handle's
    /// `post`.
    pub fn factory(
        &self,
        engine: usize,
        post: impl Fn(usize, Work) + 'static,
    ) -> impl FnMut() -> Chat + 'static {
        let line = line_delimiter();
        let relay = Rc::new(Relay {
            room: self.clone(),
            engine,
            post: Box::new(post),
        });
        move || Chat {
            line: line.clone(),
            relay: Some(relay.clone()),
        }
    }
}

impl fmt::Debug for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Room")
            .field("engines", &self.servers.len())
            .finish()
    }
}

/// What one engine's chat connections share: the room, their engine, and how to reach the
/// other engines.
struct Relay {
    room: Room,
    engine: usize,
    post: Box<dyn Fn(usize, Work)>,
}

impl Relay {
    /// A connection of this engine's chat server `server` opened.
    fn serving(&self, server: ChannelId) {
        self.room.servers[self.engine].get_or_init(|| server);
    }

    /// Sends `message` to the clients of every other engine.
    fn send(&self, message: &Bytes) {
        for (engine, server) in self.room.servers.iter().enumerate() {
            if engine == self.engine || server.get().is_none() {
                continue;
            }
            let (servers, message) = (self.room.servers.clone(), message.clone());
            (self.post)(
                engine,
                Box::new(move |cx| {
                    if let Some(&server) = servers[engine].get() {
                        cx.broadcast(server, message);
                    }
                }),
            );
        }
    }
}

impl fmt::Debug for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("engine", &self.engine)
            .field("room", &self.room)
            .finish_non_exhaustive()
    }
}
