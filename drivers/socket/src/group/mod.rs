//! A group of engines: one engine per thread, on one port, for a server that outgrows one
//! core. What it does and why is on [`Group`].

mod builder;
mod handle;
mod start;

use std::ffi::c_int;
use std::io;
use std::marker::PhantomData;
use std::ops::DerefMut;
use std::sync::Arc;
use std::thread::JoinHandle;

use pants_core::{Addr, EngineConfig};

pub use builder::GroupBuilder;
pub use handle::{GroupHandle, Member};

use crate::engine::SocketEngine;
use crate::poller::Poller;
use start::Outcome;

/// What a group needs of a driver's engine: to be made on the thread that runs it, and run
/// there to its end. Each driver implements it for its `Engine`, in a few lines.
pub trait GroupEngine: DerefMut<Target = SocketEngine<Self::Poller>> + Sized + 'static {
    /// The driver's poller.
    type Poller: Poller;

    /// An engine with `config`, made on the thread that will run it.
    fn build(config: EngineConfig) -> io::Result<Self>;

    /// Stops the engine gracefully when one of `signals` arrives (the driver's
    /// `stop_on_signals`).
    fn catch_signals(&mut self, signals: &[c_int]) -> io::Result<()>;

    /// Runs the engine on this thread until it is stopped and every channel has closed.
    fn run_here(&mut self) -> io::Result<()>;
}

/// A running group of engines of one driver, one engine per thread, for a server that outgrows
/// one core (each driver names it: `pants_mio::Group`, `pants_smol::Group`). Made by a
/// [`GroupBuilder`]; dropped, it stops every engine and waits for their threads.
///
/// Each engine is made and run on a thread of its own (engines are not `Send`), runs a setup
/// of the application's on itself, and listens on the same port as the others with
/// `SO_REUSEPORT`: the kernel spreads incoming connections between their listeners, and a
/// connection stays on the engine that accepted it. Nothing is shared on the request path:
/// no lock, no shared counter, no queue between an accept and the engine that serves it.
///
/// ```text
///   Group::builder(n) ─ start(setup) / listen(addr, ..) ─> Group ── join() ─> first error
///        │                                                  │
///        │  thread i: build engine i, catch signals         └─ handle(): post to engine i,
///        │            (every engine built first: the group's handle)   stop them all
///        │            setup(cx, member i)  (engine 0 first, then 1, ...)
///        └──────────> run engine i until it is stopped and every channel closed
/// ```
///
/// # What the kernel does, and where it does not
///
/// - **Linux** spreads the connections of a port between the listeners of a `SO_REUSEPORT`
///   group by a hash of each connection's addresses and ports: no awareness of load, and a few
///   long-lived connections can land unevenly (two clients may both land on one engine).
///   UDP datagram sockets are spread the same way, by the sender's address.
/// - **BSD and macOS** accept `SO_REUSEPORT` but give every connection to the socket bound
///   last: the other engines would never serve. A group of more than one engine is refused
///   there when it listens (`Unsupported`), rather than silently serving on one core.
///   (FreeBSD's `SO_REUSEPORT_LB` would balance; it is not used yet.)
/// - **Unix sockets** cannot share a path: a group of more than one engine refuses to listen
///   on one (`Unsupported`). A setup can listen there on one engine alone
///   (`member.index() == 0`).
///
/// We chose to refuse over one accepting engine handing sockets to the others: a hand-off
/// puts a queue and a wake-up between every accept and its engine, which is the bottleneck
/// `SO_REUSEPORT` was made to remove, and it would need the core to adopt a socket another
/// engine accepted.
///
/// # Talking across engines
///
/// Handlers of one engine reach the others through the [`GroupHandle`] their factory was
/// given (from the [`Member`] a setup receives): [`GroupHandle::post`] runs a closure on
/// engine `i`, with that engine's context, at its next turn. The closure must be `Send`: it
/// carries data (a `Bytes`, an id known on that engine), never the handler's own state. A
/// chat server relays each line to the other engines this way; see the example `chat`.
///
/// # Stopping
///
/// [`Group::stop`], [`GroupHandle::stop`] and the signals given to
/// [`GroupBuilder::stop_on_signals`] stop every engine gracefully, by the same rules as one
/// engine: listeners close, every stream flushes what it has queued and closes (bounded by
/// the stop timeout), and [`Group::join`] returns once every thread has ended. Each engine
/// catches the signals itself (a signal writes to one pipe per engine), so no thread is added
/// for them. When an engine fails (its loop returns an error, or panics), the group stops the
/// others, and `join` returns that first error.
///
/// A connection the kernel has completed but no engine has accepted yet sits in one
/// listener's queue. When that listener closes, Linux resets it, unless
/// `net.ipv4.tcp_migrate_req` is 1 (Linux 5.14 and later; 0 by default): then the kernel moves
/// it to another listener of the port that is still open. So stopping one engine of a group
/// through its own [`Handle::stop`](crate::Handle::stop) loses no connection on such a system;
/// a whole-group stop closes every listener, and what waits in the queue of the last one to
/// close is reset, as with one engine. Connections already accepted are never lost.
///
/// # What a group costs
///
/// A request costs what it costs on one engine: each engine has its own poller, sockets,
/// buffers and timers. (On the smol driver, not its own poller: async-io has one reactor per
/// process, which the engines of a group share; see `pants_smol::Group`.) A process with more than one thread pays a little more per socket call
/// (Linux counts references to the file, `fget`/`fput`, only when the file table is shared),
/// which `benches/servers.sh` measures. State the application shares between engines (a
/// key space, a chat room) is its own choice, and its cost is on its own request path: the
/// example `resp` shares one locked map between the engines of a group, a simple design that
/// a machine with many cores would replace by a key space sharded by engine (each engine owns
/// the keys that hash to it, and posts the commands for other keys to their owner).
pub struct Group<E> {
    handle: GroupHandle,
    threads: Vec<JoinHandle<()>>,
    outcome: Arc<Outcome>,
    /// Where [`GroupBuilder::listen`] listens (with the port engine 0 was given).
    local: Option<Addr>,
    _engine: PhantomData<fn() -> E>,
}

impl<E: GroupEngine> Group<E> {
    /// A builder of a group of `engines` engines (threads).
    pub fn builder(engines: usize) -> GroupBuilder<E> {
        GroupBuilder::new(engines)
    }
}

impl<E> Group<E> {
    /// Reaches the engines from other threads: post work to one, stop them all. Cheap to
    /// clone.
    pub fn handle(&self) -> &GroupHandle {
        &self.handle
    }

    /// The address every engine listens at, when the group was started by
    /// [`GroupBuilder::listen`] or [`GroupBuilder::listen_with`]: the real port of port 0.
    pub fn local_addr(&self) -> Option<&Addr> {
        self.local.as_ref()
    }

    /// How many engines the group has.
    pub fn len(&self) -> usize {
        self.handle.len()
    }

    /// Always false: a group has at least one engine.
    pub fn is_empty(&self) -> bool {
        self.handle.is_empty()
    }

    /// Asks every engine to stop gracefully (a second call closes everything at once, as for
    /// one engine); [`join`](Self::join) waits for them.
    pub fn stop(&self) {
        self.handle.stop();
    }

    /// Waits until every engine has ended (after a stop, or a failure), and returns the
    /// first error any of them met, naming the engine.
    pub fn join(mut self) -> io::Result<()> {
        self.join_threads();
        self.outcome.take()
    }

    fn join_threads(&mut self) {
        for (index, thread) in self.threads.drain(..).enumerate() {
            // The thread's body catches panics, so this is an error only in the unforeseen.
            if let Err(panic) = thread.join() {
                let message = start::panic_message(&panic);
                self.outcome.fail(index, io::Error::other(message));
            }
        }
    }
}

impl<E> Drop for Group<E> {
    /// Stops every engine gracefully and waits for their threads.
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.handle.stop();
            self.join_threads();
        }
    }
}

impl<E> std::fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("engines", &self.len())
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}
