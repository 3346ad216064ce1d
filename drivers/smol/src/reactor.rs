//! How async-io's reactor watches the socket table's sockets: each socket an
//! [`Async`], each with a waker of its own that records its channel's id in the engine's
//! ready set and wakes the one engine task.
//!
//! async-io registers every source one-shot and level-triggered: a direction is watched only
//! while a waker waits on it (`poll_readable`/`poll_writable` arms it, an event disarms it),
//! and arming a direction whose condition already holds fires at once. So the driver arms a
//! direction exactly when the engine starts waiting for it (a call said `WouldBlock`, a
//! read emptied the socket), and a short read may always be taken as an empty queue: if
//! bytes, the end of the stream or urgent data are still there, the re-armed direction fires
//! at once. A direction that fired is polled once more before it is reported, which consumes
//! the event (otherwise the next arming would return at once for it).

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use async_io::Async;
use pants_core::ChannelId;
use pants_core::driver::Readiness;
use pants_socket::{Direction, Opened, Poller, Socket};

/// The channels whose wakers fired, and the engine task to wake: shared with every waker.
#[derive(Default)]
pub(crate) struct ReadySet {
    state: Mutex<ReadyState>,
}

#[derive(Default)]
struct ReadyState {
    woken: Vec<ChannelId>,
    /// A handle posted work, asked a stop, or a host name was resolved.
    mail: bool,
    task: Option<Waker>,
}

impl ReadySet {
    /// The engine task is polled with `waker`: wake that one from now on.
    pub(crate) fn register(&self, waker: &Waker) {
        let mut state = self.lock();
        if !state
            .task
            .as_ref()
            .is_some_and(|task| task.will_wake(waker))
        {
            state.task = Some(waker.clone());
        }
    }

    /// Moves the woken channels into `woken`; true if there is mail.
    pub(crate) fn take(&self, woken: &mut Vec<ChannelId>) -> bool {
        let mut state = self.lock();
        std::mem::swap(woken, &mut state.woken);
        std::mem::take(&mut state.mail)
    }

    /// Wakes the engine task for mail.
    pub(crate) fn wake_for_mail(&self) {
        self.wake_task(|state| state.mail = true);
    }

    /// Records `note` and wakes the task, unless an earlier note since its last look did.
    fn wake_task(&self, note: impl FnOnce(&mut ReadyState)) {
        let mut state = self.lock();
        let asleep = state.woken.is_empty() && !state.mail;
        note(&mut state);
        let task = if asleep { state.task.clone() } else { None };
        drop(state);
        task.into_iter().for_each(Waker::wake);
    }

    fn lock(&self) -> MutexGuard<'_, ReadyState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The waker of one channel's socket.
struct ChannelWaker {
    id: ChannelId,
    ready: Arc<ReadySet>,
}

impl Wake for ChannelWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let id = self.id;
        self.ready.wake_task(|state| state.woken.push(id));
    }
}

/// async-io's reactor, as the socket table's poller.
pub struct Reactor {
    ready: Arc<ReadySet>,
    /// Readiness known without waiting (a fresh socket, a direction that was ready when
    /// armed), reported by the engine task before its next turn.
    pub(crate) known: Vec<(ChannelId, Readiness)>,
}

impl Reactor {
    pub(crate) fn new(ready: Arc<ReadySet>) -> Self {
        Self {
            ready,
            known: Vec::new(),
        }
    }

    fn arm(&mut self, id: ChannelId, slot: &mut Watched, direction: Direction) {
        if slot.poll(direction).is_ready() {
            self.known.push((id, readiness(direction)));
        } else {
            slot.armed.set(direction);
        }
    }
}

/// A socket in async-io's reactor, its channel's waker, and the directions armed.
pub struct Watched {
    source: Async<Socket>,
    waker: Waker,
    armed: Armed,
}

impl AsRef<Socket> for Watched {
    fn as_ref(&self) -> &Socket {
        self.source.get_ref()
    }
}

impl Watched {
    /// After its waker fired: polls the armed directions once more, which consumes their
    /// events (or re-arms a direction woken spuriously); returns those that are ready.
    pub(crate) fn handle_wake(&mut self) -> Readiness {
        let mut ready = Readiness::default();
        for direction in [Direction::Read, Direction::Write] {
            if self.armed.has(direction) && self.poll(direction).is_ready() {
                self.armed.clear(direction);
                let known = readiness(direction);
                ready.readable |= known.readable;
                ready.writable |= known.writable;
            }
        }
        ready
    }

    /// Polls one direction with the channel's waker. An error counts as ready: the engine's
    /// next call on the socket reports it.
    fn poll(&self, direction: Direction) -> Poll<()> {
        let mut cx = Context::from_waker(&self.waker);
        let polled: Poll<io::Result<()>> = match direction {
            Direction::Read => self.source.poll_readable(&mut cx),
            Direction::Write => self.source.poll_writable(&mut cx),
        };
        polled.map(drop)
    }
}

/// The directions armed, as two bits.
#[derive(Default, Clone, Copy)]
struct Armed(u8);

impl Armed {
    fn bit(direction: Direction) -> u8 {
        match direction {
            Direction::Read => 1,
            Direction::Write => 2,
        }
    }

    fn has(self, direction: Direction) -> bool {
        self.0 & Self::bit(direction) != 0
    }

    fn set(&mut self, direction: Direction) {
        self.0 |= Self::bit(direction);
    }

    fn clear(&mut self, direction: Direction) {
        self.0 &= !Self::bit(direction);
    }
}

fn readiness(direction: Direction) -> Readiness {
    Readiness {
        readable: direction == Direction::Read,
        writable: direction == Direction::Write,
    }
}

impl Poller for Reactor {
    type Slot = Watched;

    /// A connecting stream waits to be writable. Any other socket is reported readable and
    /// writable at once, without arming: the engine's first call on it (a read, an accept,
    /// a write) arms what it must wait for, and is often not in vain (an accepted
    /// connection's request is usually there already).
    fn register(&mut self, id: ChannelId, socket: Socket, opened: Opened) -> io::Result<Watched> {
        let source = Async::new_nonblocking(socket)?;
        let waker = Waker::from(Arc::new(ChannelWaker {
            id,
            ready: self.ready.clone(),
        }));
        let mut slot = Watched {
            source,
            waker,
            armed: Armed::default(),
        };
        match opened {
            Opened::Connecting => self.arm(id, &mut slot, Direction::Write),
            Opened::Listening | Opened::Accepted | Opened::Bound => {
                self.known.push((id, Readiness::BOTH));
            }
        }
        Ok(slot)
    }

    /// Dropping the `Async` removes the socket from the reactor and closes it.
    fn deregister(&mut self, slot: Watched) {
        drop(slot);
    }

    fn wait(&mut self, id: ChannelId, slot: &mut Watched, direction: Direction) {
        if !slot.armed.has(direction) {
            self.arm(id, slot, direction);
        }
    }

    /// Always, for a short read: re-arming a level-triggered direction fires at once if
    /// anything is left (see the module's documentation).
    fn emptied(&self, _: ChannelId, _: &Watched, len: usize, room: usize) -> bool {
        len < room
    }
}
