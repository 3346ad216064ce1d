//! The handler a check runs: the protocol's own, wrapped to count `on_close` and to measure
//! memory after every callback.

use std::cell::RefCell;
use std::rc::Rc;

use crate::engine::Context;
use crate::error::{ConnectError, Error, OverflowError};
use crate::event::Idle;
use crate::frame::Frame;
use crate::handler::Handler;
use crate::id::{ChannelId, TimerId};

use super::report::Memory;

/// How much a handler holds, by its own account (see [`Checker::held`](super::Checker::held)).
pub(crate) type Probe<H> = dyn Fn(&H) -> usize;

/// The bounds a connection's memory must stay within.
pub(crate) struct Bounds<H> {
    /// What the handler holds, and its bound.
    pub(crate) held: Option<(Rc<Probe<H>>, usize)>,
    /// The write queue's bound.
    pub(crate) queued: usize,
    /// The read buffer's bound.
    pub(crate) read_buffer: usize,
}

/// What the wrapped handlers saw in one run, shared with the run.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    /// Per connection, in the order the server accepted them (peer `n` is connection `n`).
    pub(crate) connections: Vec<Connection>,
    /// The first time memory went over its bound.
    pub(crate) over: Option<Over>,
}

/// One connection's record.
#[derive(Debug, Default)]
pub(crate) struct Connection {
    /// How many times its `on_close` ran.
    pub(crate) closes: usize,
    /// A callback that ran after `on_close`, if one did.
    pub(crate) after_close: Option<&'static str>,
}

/// Memory over its bound: on which connection, after which callback, how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Over {
    pub(crate) connection: usize,
    pub(crate) what: Memory,
    pub(crate) size: usize,
    pub(crate) bound: usize,
    pub(crate) callback: &'static str,
}

/// A protocol's handler, watched.
pub(crate) struct Watched<H> {
    inner: H,
    index: usize,
    watch: Rc<RefCell<Watch>>,
    bounds: Rc<Bounds<H>>,
}

impl<H: Handler> Watched<H> {
    /// Wraps the next connection's handler.
    pub(crate) fn new(inner: H, watch: Rc<RefCell<Watch>>, bounds: Rc<Bounds<H>>) -> Self {
        let index = {
            let mut watch = watch.borrow_mut();
            watch.connections.push(Connection::default());
            watch.connections.len() - 1
        };
        Self {
            inner,
            index,
            watch,
            bounds,
        }
    }

    /// After `callback`: notes a callback after `on_close`, and memory over its bounds.
    fn after(&self, cx: &mut Context<'_>, callback: &'static str) {
        let mut watch = self.watch.borrow_mut();
        let connection = &mut watch.connections[self.index];
        if connection.closes > 0 {
            connection.after_close.get_or_insert(callback);
        }
        if watch.over.is_some() {
            return;
        }
        let channel = cx.this();
        let held = (self.bounds.held.as_ref())
            .map(|(probe, bound)| (Memory::Handler, probe(&self.inner), *bound));
        let sizes = [
            held,
            Some((Memory::Queued, channel.queued(), self.bounds.queued)),
            Some((
                Memory::ReadBuffer,
                channel.buffered(),
                self.bounds.read_buffer,
            )),
        ];
        watch.over = sizes
            .into_iter()
            .flatten()
            .find(|(_, size, bound)| size > bound)
            .map(|(what, size, bound)| Over {
                connection: self.index,
                what,
                size,
                bound,
                callback,
            });
    }
}

/// Every callback goes to the protocol's handler, then [`Watched::after`] looks.
impl<H: Handler> Handler for Watched<H> {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        self.inner.on_connect(cx);
        self.after(cx, "on_connect");
    }

    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        self.inner.on_read(cx, frame);
        self.after(cx, "on_read");
    }

    fn on_write(&mut self, cx: &mut Context<'_>) {
        self.inner.on_write(cx);
        self.after(cx, "on_write");
    }

    fn on_listen(&mut self, cx: &mut Context<'_>) {
        self.inner.on_listen(cx);
        self.after(cx, "on_listen");
    }

    fn on_accept(&mut self, cx: &mut Context<'_>, conn: ChannelId) {
        self.inner.on_accept(cx, conn);
        self.after(cx, "on_accept");
    }

    fn on_close(&mut self, cx: &mut Context<'_>) {
        self.inner.on_close(cx);
        let mut watch = self.watch.borrow_mut();
        let connection = &mut watch.connections[self.index];
        if connection.closes > 0 {
            connection.after_close.get_or_insert("on_close");
        }
        connection.closes += 1;
    }

    fn on_connect_error(&mut self, cx: &mut Context<'_>, err: &ConnectError) {
        self.inner.on_connect_error(cx, err);
        self.after(cx, "on_connect_error");
    }

    fn on_overflow_error(&mut self, cx: &mut Context<'_>, err: &OverflowError) {
        self.inner.on_overflow_error(cx, err);
        self.after(cx, "on_overflow_error");
    }

    fn on_error(&mut self, cx: &mut Context<'_>, err: &Error) {
        self.inner.on_error(cx, err);
        self.after(cx, "on_error");
    }

    fn on_timer(&mut self, cx: &mut Context<'_>, timer: TimerId) {
        self.inner.on_timer(cx, timer);
        self.after(cx, "on_timer");
    }

    fn on_eof(&mut self, cx: &mut Context<'_>) {
        self.inner.on_eof(cx);
        self.after(cx, "on_eof");
    }

    fn on_idle(&mut self, cx: &mut Context<'_>, kind: Idle) {
        self.inner.on_idle(cx, kind);
        self.after(cx, "on_idle");
    }
}
