//! Running handlers: each event of a channel becomes one callback, with the handler taken out
//! of its slot so that the context can lend every channel; a panic closes only its channel.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use super::EngineContext;
use super::channel::Channel;
use super::core::EngineCore;
use super::timers::TimerFn;
use crate::datagram::DatagramEvent;
use crate::engine::Context;
use crate::error::{ConnectError, Error, OverflowError};
use crate::event::{Event, Idle};
use crate::frame::Frame;
use crate::framer::Lent;
use crate::handler::Handler;
use crate::id::{ChannelId, TimerId};
use crate::io::Io;
use crate::server::ServerEvent;

/// One callback to run, but `on_read`: frames take a shorter way (see [`channel_events`]).
pub(crate) enum Callback {
    Connect,
    Write,
    Listen,
    Accept(ChannelId),
    Close,
    ConnectError(ConnectError),
    Overflow(OverflowError),
    Error(Error),
    Timer(TimerId),
    Eof,
    Idle(Idle),
    #[cfg(feature = "tls")]
    TlsHandshake,
    #[cfg(feature = "tls")]
    TlsError(crate::tls::TlsError),
}

impl Callback {
    fn name(&self) -> &'static str {
        match self {
            Callback::Connect => "on_connect",
            Callback::Write => "on_write",
            Callback::Listen => "on_listen",
            Callback::Accept(_) => "on_accept",
            Callback::Close => "on_close",
            Callback::ConnectError(_) => "on_connect_error",
            Callback::Overflow(_) => "on_overflow_error",
            Callback::Error(_) => "on_error",
            Callback::Timer(_) => "on_timer",
            Callback::Eof => "on_eof",
            Callback::Idle(_) => "on_idle",
            #[cfg(feature = "tls")]
            Callback::TlsHandshake => "on_tls_handshake",
            #[cfg(feature = "tls")]
            Callback::TlsError(_) => "on_tls_error",
        }
    }

    fn invoke(self, handler: &mut dyn Handler, cx: &mut Context<'_>) {
        match self {
            Callback::Connect => handler.on_connect(cx),
            Callback::Write => handler.on_write(cx),
            Callback::Listen => handler.on_listen(cx),
            Callback::Accept(conn) => handler.on_accept(cx, conn),
            Callback::Close => handler.on_close(cx),
            Callback::ConnectError(err) => handler.on_connect_error(cx, &err),
            Callback::Overflow(err) => handler.on_overflow_error(cx, &err),
            Callback::Error(err) => handler.on_error(cx, &err),
            Callback::Timer(timer) => handler.on_timer(cx, timer),
            Callback::Eof => handler.on_eof(cx),
            Callback::Idle(kind) => handler.on_idle(cx, kind),
            #[cfg(feature = "tls")]
            Callback::TlsHandshake => handler.on_tls_handshake(cx),
            #[cfg(feature = "tls")]
            Callback::TlsError(err) => handler.on_tls_error(cx, &err),
        }
    }

    fn from_stream(event: Event) -> Self {
        match event {
            Event::Connected => Callback::Connect,
            // Frames are handed over by the dispatch loop itself.
            Event::Read(_) => unreachable!("a stream's frames are handed over as frames"),
            Event::Drained => Callback::Write,
            Event::Eof => Callback::Eof,
            Event::Overflow(err) => Callback::Overflow(err),
            Event::ConnectFailed(err) => Callback::ConnectError(err),
            Event::Error(err) => Callback::Error(err),
            Event::Idle(kind) => Callback::Idle(kind),
            #[cfg(feature = "tls")]
            Event::TlsHandshake => Callback::TlsHandshake,
            #[cfg(feature = "tls")]
            Event::TlsError(err) => Callback::TlsError(err),
            Event::Closed => Callback::Close,
        }
    }

    fn from_server(event: ServerEvent) -> Self {
        match event {
            ServerEvent::Listening => Callback::Listen,
            ServerEvent::Accepted(conn) => Callback::Accept(conn),
            ServerEvent::Error(err) => Callback::Error(err),
            ServerEvent::Closed => Callback::Close,
        }
    }

    fn from_datagram(event: DatagramEvent) -> Self {
        match event {
            DatagramEvent::Listening => Callback::Listen,
            DatagramEvent::Drained => Callback::Write,
            DatagramEvent::Closed => Callback::Close,
            DatagramEvent::Read { .. }
            | DatagramEvent::Error { .. }
            | DatagramEvent::Overflow { .. } => {
                unreachable!("a datagram's reads and errors are handed over with their peer")
            }
        }
    }
}

/// Runs the callbacks for every event the channel has, in order, starting with the frames of
/// `received` (input just read, lent by the stream: see `stream/lend.rs`); forgets the
/// channel after `on_close`.
///
/// This is the only way from a channel's events to its handler. A stream's frames are read
/// in place from its lent input while they are the next event; everything else (its other
/// events, the frames its general path cuts, a datagram channel's and a server's events)
/// comes from the channel's `poll_event`. Every frame reaches `on_read` through [`read`], every
/// other event its callback through [`invoke`], and both through [`run`].
pub(crate) fn channel_events(
    core: &mut EngineCore,
    io: &mut dyn Io,
    id: ChannelId,
    received: Option<Lent>,
) {
    // The handler is out of its slot for the whole batch: callbacks never nest, and no
    // command on any channel needs a handler.
    let Some(mut handler) = take_handler(core, id) else {
        give_back(core, id, received);
        return;
    };
    let outer = core.work.start_dispatch(id);
    let mut cx = Context {
        engine: EngineContext { core, io },
        id,
        sender: None,
    };
    let mut lent = received;
    while let Some(entry) = cx.engine.core.channels.get_mut(id) {
        let callback = match &mut entry.channel {
            Channel::Stream(stream) => {
                if lent.is_none() {
                    lent = stream.lend();
                }
                if let Some(input) = &mut lent
                    && let Some(at) = stream.frame_in(input)
                {
                    read(
                        &mut cx,
                        &mut handler,
                        Frame::within(&input.bytes, at.skip, at.len),
                    );
                    input.advance(at.end);
                    continue;
                }
                if let Some(input) = lent.take() {
                    stream.give_back(input);
                }
                match stream.poll_event() {
                    Some(Event::Read(frame)) => {
                        read(&mut cx, &mut handler, Frame::whole(&frame));
                        continue;
                    }
                    Some(event) => Callback::from_stream(event),
                    None => break,
                }
            }
            Channel::Server(server) => match server.server.poll_event() {
                Some(event) => Callback::from_server(event),
                None => break,
            },
            Channel::Datagram(datagram) => match datagram.poll_event() {
                Some(DatagramEvent::Read { data, from }) => {
                    cx.sender = Some(from);
                    read(&mut cx, &mut handler, Frame::whole(&data));
                    cx.sender = None;
                    continue;
                }
                Some(DatagramEvent::Error { error, peer }) => {
                    cx.sender = peer;
                    invoke(&mut cx, &mut handler, Callback::Error(error));
                    cx.sender = None;
                    continue;
                }
                Some(DatagramEvent::Overflow { error, peer }) => {
                    cx.sender = Some(peer);
                    invoke(&mut cx, &mut handler, Callback::Overflow(error));
                    cx.sender = None;
                    continue;
                }
                Some(event) => Callback::from_datagram(event),
                None => break,
            },
        };
        if let Callback::Close = callback {
            invoke(&mut cx, &mut handler, callback);
            drop(handler);
            let EngineContext { core, io } = cx.engine;
            core.remove(io, id);
            core.work.end_dispatch(outer);
            return;
        }
        invoke(&mut cx, &mut handler, callback);
    }
    let core = cx.engine.core;
    core.work.end_dispatch(outer);
    put_handler(core, id, handler);
}

/// Gives input lent for a channel whose handler could not run back to its stream.
fn give_back(core: &mut EngineCore, id: ChannelId, lent: Option<Lent>) {
    if let (Some(lent), Some(entry)) = (lent, core.channels.get_mut(id))
        && let Channel::Stream(stream) = &mut entry.channel
    {
        stream.give_back(lent);
    }
}

/// Runs one callback of channel `id`'s handler, outside an event batch (a timer).
pub(crate) fn call(core: &mut EngineCore, io: &mut dyn Io, id: ChannelId, callback: Callback) {
    let Some(mut handler) = take_handler(core, id) else {
        return;
    };
    let mut cx = Context {
        engine: EngineContext { core, io },
        id,
        sender: None,
    };
    invoke(&mut cx, &mut handler, callback);
    put_handler(cx.engine.core, id, handler);
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

/// Hands `frame` to `on_read` of `handler`, the handler of `cx`'s channel: where every frame
/// of every channel reaches its handler (see [`run`]).
#[inline(always)]
fn read(cx: &mut Context<'_>, handler: &mut Box<dyn Handler>, frame: Frame<'_>) {
    run(cx, handler, "on_read", |h, cx| h.on_read(cx, frame));
}

/// Runs `callback` on `handler`, the handler of `cx`'s channel (see [`run`]).
fn invoke(cx: &mut Context<'_>, handler: &mut Box<dyn Handler>, callback: Callback) {
    run(cx, handler, callback.name(), |h, cx| callback.invoke(h, cx));
}

/// Runs the callback `name` of `cx`'s channel (`callback` calls it on `handler`): the one
/// runner of every callback. A panic closes the channel (`on_error`, then `on_close` next),
/// unless the engine propagates panics; after `on_close` nothing runs, not even the report of
/// its own panic.
#[inline(always)]
fn run(
    cx: &mut Context<'_>,
    handler: &mut Box<dyn Handler>,
    name: &'static str,
    callback: impl FnOnce(&mut dyn Handler, &mut Context<'_>),
) {
    cx.engine.core.record(cx.id, || name);
    let result = panic::catch_unwind(AssertUnwindSafe(|| callback(&mut **handler, cx)));
    let Err(payload) = result else { return };
    if name == "on_close" && !cx.engine.core.config().propagate_panics {
        return;
    }
    panicked(cx, handler, payload);
}

/// After a callback of `cx`'s channel panicked: unwinds on if so configured, else runs its
/// `on_error` and closes it (`on_close` next; what was pending for it is dropped).
#[cold]
fn panicked(cx: &mut Context<'_>, handler: &mut Box<dyn Handler>, payload: Box<dyn Any + Send>) {
    if cx.engine.core.config().propagate_panics {
        panic::resume_unwind(payload);
    }
    let id = cx.id;
    let error = Error::Panic(panic_message(&*payload));
    log::error!("pants: the handler of channel {id} panicked ({error}); closing the channel");
    cx.engine.core.record(id, || "on_error");
    let _ = panic::catch_unwind(AssertUnwindSafe(|| handler.on_error(cx, &error)));
    cx.engine.core.abort(id);
}

/// Runs engine timer `id`'s closure; a panic in it ends that timer (or unwinds, if
/// configured). False when it panicked.
pub(crate) fn run_engine_timer(
    core: &mut EngineCore,
    io: &mut dyn Io,
    closure: &mut TimerFn,
    id: TimerId,
) -> bool {
    let propagate = core.config().propagate_panics;
    let mut cx = EngineContext { core, io };
    match panic::catch_unwind(AssertUnwindSafe(|| closure(&mut cx, id))) {
        Ok(()) => true,
        Err(payload) if propagate => panic::resume_unwind(payload),
        Err(payload) => {
            let message = panic_message(&*payload);
            log::error!("pants: timer {id:?} panicked ({message}); the timer ends");
            false
        }
    }
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
