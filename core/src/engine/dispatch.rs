//! Running handlers: each event of a channel becomes one callback, with the handler taken out
//! of its slot so that the context can lend every channel; a panic closes only its channel.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use bytes::{Buf, Bytes};

use super::timers::TimerFn;
use super::{Channel, EngineContext, EngineCore};
use crate::addr::Addr;
use crate::datagram::DatagramEvent;
use crate::engine::Context;
use crate::error::{ConnectError, Error, OverflowError};
use crate::event::{Event, Idle};
use crate::frame::Frame;
use crate::handler::Handler;
use crate::id::{ChannelId, TimerId};
use crate::io::Io;
use crate::server::ServerEvent;

/// One callback to run.
pub(crate) enum Callback {
    Connect,
    Read(Bytes, Option<Addr>),
    Write,
    Listen,
    Accept(ChannelId),
    Close,
    ConnectError(ConnectError),
    Overflow(OverflowError),
    Error(Error, Option<Addr>),
    Timer(TimerId),
    Eof,
    Idle(Idle),
}

impl Callback {
    fn name(&self) -> &'static str {
        match self {
            Callback::Connect => "on_connect",
            Callback::Read(..) => "on_read",
            Callback::Write => "on_write",
            Callback::Listen => "on_listen",
            Callback::Accept(_) => "on_accept",
            Callback::Close => "on_close",
            Callback::ConnectError(_) => "on_connect_error",
            Callback::Overflow(_) => "on_overflow_error",
            Callback::Error(..) => "on_error",
            Callback::Timer(_) => "on_timer",
            Callback::Eof => "on_eof",
            Callback::Idle(_) => "on_idle",
        }
    }

    /// The datagram peer the callback is about, shown as `cx.peer()`.
    fn take_sender(&mut self) -> Option<Addr> {
        match self {
            Callback::Read(_, sender) | Callback::Error(_, sender) => sender.take(),
            _ => None,
        }
    }

    fn invoke(self, handler: &mut dyn Handler, cx: &mut Context<'_>) {
        match self {
            Callback::Connect => handler.on_connect(cx),
            Callback::Read(frame, _) => handler.on_read(cx, Frame::whole(&frame)),
            Callback::Write => handler.on_write(cx),
            Callback::Listen => handler.on_listen(cx),
            Callback::Accept(conn) => handler.on_accept(cx, conn),
            Callback::Close => handler.on_close(cx),
            Callback::ConnectError(err) => handler.on_connect_error(cx, &err),
            Callback::Overflow(err) => handler.on_overflow_error(cx, &err),
            Callback::Error(err, _) => handler.on_error(cx, &err),
            Callback::Timer(timer) => handler.on_timer(cx, timer),
            Callback::Eof => handler.on_eof(cx),
            Callback::Idle(kind) => handler.on_idle(cx, kind),
        }
    }

    fn from_stream(event: Event) -> Self {
        match event {
            Event::Connected => Callback::Connect,
            Event::Read(frame) => Callback::Read(frame, None),
            Event::Drained => Callback::Write,
            Event::Eof => Callback::Eof,
            Event::Overflow(err) => Callback::Overflow(err),
            Event::ConnectFailed(err) => Callback::ConnectError(err),
            Event::Error(err) => Callback::Error(err, None),
            Event::Idle(kind) => Callback::Idle(kind),
            Event::Closed => Callback::Close,
        }
    }

    fn from_server(event: ServerEvent) -> Self {
        match event {
            ServerEvent::Listening => Callback::Listen,
            ServerEvent::Accepted(conn) => Callback::Accept(conn),
            ServerEvent::Error(err) => Callback::Error(err, None),
            ServerEvent::Closed => Callback::Close,
        }
    }

    fn from_datagram(event: DatagramEvent) -> Self {
        match event {
            DatagramEvent::Listening => Callback::Listen,
            DatagramEvent::Read { data, from } => Callback::Read(data, Some(from)),
            DatagramEvent::Drained => Callback::Write,
            DatagramEvent::Overflow(err) => Callback::Overflow(err),
            DatagramEvent::Error { error, peer } => Callback::Error(error, peer),
            DatagramEvent::Closed => Callback::Close,
        }
    }
}

/// Runs the callbacks for every event the channel has, in order; forgets the channel after
/// `on_close`.
pub(crate) fn channel_events(core: &mut EngineCore, io: &mut dyn Io, id: ChannelId) {
    // The handler is out of its slot for the whole batch: callbacks never nest, and no
    // command on any channel needs a handler.
    let Some(mut handler) = take_handler(core, id) else {
        return;
    };
    let outer = core.dispatching.replace(id);
    // One context for the batch's stream callbacks; the engine is reached through it between
    // them.
    let mut cx = Context {
        engine: EngineContext { core, io },
        id,
        sender: None,
    };
    // The stream's input, lent while frames are read in place from it: given back before
    // the stream is asked for anything else (and dropped with the channel).
    let mut lent: Option<Bytes> = None;
    while let Some(entry) = cx.engine.core.channels.get_mut(id) {
        let callback = match &mut entry.channel {
            // Frames are most events: straight to `on_read`, the common ones read in place
            // by the shortest path there is.
            Channel::Stream(stream) => {
                if lent.is_none() {
                    lent = stream.lend_input();
                }
                if let Some(input) = &mut lent
                    && let Some((len, used)) = stream.lent_frame(input)
                {
                    run(&mut cx, &mut handler, "on_read", |h, cx| {
                        h.on_read(cx, Frame::lent(input, len))
                    });
                    input.advance(used);
                    continue;
                }
                if let Some(input) = lent.take() {
                    stream.give_back(input);
                }
                let event = match stream.is_quiet() {
                    true => None,
                    false => stream.poll_event(),
                };
                match event {
                    Some(Event::Read(frame)) => {
                        run(&mut cx, &mut handler, "on_read", |h, cx| {
                            h.on_read(cx, Frame::whole(&frame))
                        });
                        continue;
                    }
                    Some(Event::Drained) => {
                        run(&mut cx, &mut handler, "on_write", |h, cx| h.on_write(cx));
                        continue;
                    }
                    event => event.map(Callback::from_stream),
                }
            }
            Channel::Server(server) => server.server.poll_event().map(Callback::from_server),
            Channel::Datagram(datagram) => datagram.poll_event().map(Callback::from_datagram),
        };
        let Some(callback) = callback else { break };
        let closed = matches!(callback, Callback::Close);
        let EngineContext { core, io } = &mut cx.engine;
        invoke(core, *io, id, &mut handler, callback);
        if closed {
            drop(handler);
            remove(core, *io, id);
            core.dispatching = outer;
            return;
        }
    }
    let core = cx.engine.core;
    core.dispatching = outer;
    put_handler(core, id, handler);
}

/// Runs one callback of channel `id`'s handler, outside an event batch (a timer).
pub(crate) fn call(core: &mut EngineCore, io: &mut dyn Io, id: ChannelId, callback: Callback) {
    let Some(mut handler) = take_handler(core, id) else {
        return;
    };
    invoke(core, io, id, &mut handler, callback);
    put_handler(core, id, handler);
}

/// Takes channel `id`'s handler out of its slot while it runs: `None` if the channel is gone
/// or its handler is running already.
fn take_handler(core: &mut EngineCore, id: ChannelId) -> Option<Box<dyn Handler>> {
    core.channels.get_mut(id)?.handler.take()
}

/// Puts the handler back, unless its channel is gone meanwhile (then it is dropped).
fn put_handler(core: &mut EngineCore, id: ChannelId, handler: Box<dyn Handler>) {
    if let Some(entry) = core.channels.get_mut(id) {
        entry.handler = Some(handler);
    }
}

/// Runs the stream callback `name` (`callback` calls it) with the batch's context: what
/// [`invoke`] does for a callback that is never `on_close` and has no datagram peer, in fewer
/// steps.
#[inline]
fn run(
    cx: &mut Context<'_>,
    handler: &mut Box<dyn Handler>,
    name: &'static str,
    callback: impl FnOnce(&mut dyn Handler, &mut Context<'_>),
) {
    cx.engine.core.record(cx.id, name);
    let result = panic::catch_unwind(AssertUnwindSafe(|| callback(&mut **handler, cx)));
    if let Err(payload) = result {
        panicked(cx, handler, payload);
    }
}

/// Runs `callback` on `handler` (channel `id`'s); a panic closes the channel: `on_error`,
/// then `on_close` next.
fn invoke(
    core: &mut EngineCore,
    io: &mut dyn Io,
    id: ChannelId,
    handler: &mut Box<dyn Handler>,
    mut callback: Callback,
) {
    core.record(id, callback.name());
    let propagate = core.config.propagate_panics;
    let closing = matches!(callback, Callback::Close);
    let sender = callback.take_sender();
    let mut cx = Context {
        engine: EngineContext { core, io },
        id,
        sender: sender.as_ref(),
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        callback.invoke(&mut **handler, &mut cx)
    }));
    let Err(payload) = result else { return };
    // After on_close nothing runs, not even the report of its own panic.
    if closing && !propagate {
        return;
    }
    panicked(&mut cx, handler, payload);
}

/// After a callback of `cx`'s channel panicked: unwinds on if so configured, else runs its
/// `on_error` and closes it (`on_close` next; what was pending for it is dropped).
#[cold]
fn panicked(cx: &mut Context<'_>, handler: &mut Box<dyn Handler>, payload: Box<dyn Any + Send>) {
    if cx.engine.core.config.propagate_panics {
        panic::resume_unwind(payload);
    }
    let id = cx.id;
    let error = Error::Panic(panic_message(&*payload));
    cx.engine.core.record(id, "on_error");
    let _ = panic::catch_unwind(AssertUnwindSafe(|| handler.on_error(cx, &error)));
    cx.engine.core.abort(id);
}

/// Runs an engine timer's closure; a panic in it ends that timer (or unwinds, if configured).
pub(crate) fn run_engine_timer(
    core: &mut EngineCore,
    io: &mut dyn Io,
    closure: &mut TimerFn,
) -> bool {
    let propagate = core.config.propagate_panics;
    let mut cx = EngineContext { core, io };
    match panic::catch_unwind(AssertUnwindSafe(|| closure(&mut cx))) {
        Ok(()) => true,
        Err(payload) if propagate => panic::resume_unwind(payload),
        Err(_) => false,
    }
}

/// Forgets a closed channel, closing its socket if that order was not carried out yet.
fn remove(core: &mut EngineCore, io: &mut dyn Io, id: ChannelId) {
    core.close_socket(io, id);
    core.host_connects.forget(id);
    core.channels.remove(id);
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "handler panicked".to_owned()
    }
}
