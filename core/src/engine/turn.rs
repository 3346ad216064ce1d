//! One turn of the event loop: due timers, then rounds of I/O and callbacks until nothing is
//! left that needs no waiting.

use std::io::{self, IoSlice};

use super::dispatch;
use super::timers::{Due, Schedule, Target};
use super::{Channel, EngineCore, flag};
use crate::error::ConnectError;
use crate::event::Action;
use crate::id::{ChannelId, TimerId};
use crate::io::{Io, Received};
use crate::stream::Stream;
use crate::write_queue::Transmit;

/// Rounds of I/O and dispatch in one turn; work left after them waits for the next turn.
const MAX_ROUNDS: usize = 32;
/// Read calls a channel may make in one turn (besides its byte budget).
const MAX_READS: usize = 64;
/// Slices offered to one vectored write.
const MAX_SLICES: usize = 64;
/// Slices of a write of a short queue (the common case: a reply or two), whose array costs
/// less to initialise than `MAX_SLICES`'s 1 KiB.
const FEW_SLICES: usize = 4;

pub(super) fn run(core: &mut EngineCore, io: &mut dyn Io) {
    fire_timers(core, io);
    for id in std::mem::take(&mut core.carry_over) {
        core.queue_io(id);
    }
    // The rounds' work lists swap with these, so their memory is reused turn after turn.
    let mut ios = std::mem::take(&mut core.spare_ios);
    let mut events = std::mem::take(&mut core.spare_events);
    for _ in 0..MAX_ROUNDS {
        std::mem::swap(&mut ios, &mut core.io_queue);
        std::mem::swap(&mut events, &mut core.event_queue);
        if ios.is_empty() && events.is_empty() {
            break;
        }
        while let Some(id) = ios.pop_front() {
            channel_io(core, io, id);
            core.after_io(id);
        }
        while let Some(id) = events.pop_front() {
            core.clear_flag(id, flag::IN_EVENT_QUEUE);
            dispatch::channel_events(core, io, id, None);
            core.sync_deadline(id);
        }
    }
    core.spare_ios = ios;
    core.spare_events = events;
}

fn fire_timers(core: &mut EngineCore, io: &mut dyn Io) {
    for id in core.timers.take_per_turn() {
        fire(core, io, id, None);
    }
    let mut due = Vec::new();
    while let Some(entry) = core.timers.pop_due(core.now) {
        due.push(entry);
    }
    for (deadline, due) in due {
        match due {
            Due::Channel(id) => channel_timeout(core, id, deadline),
            Due::Timer(id) => {
                let pushed = core.timers.entries.get(id).and_then(|timer| timer.deadline);
                if pushed == Some(deadline) {
                    fire(core, io, id, Some(deadline));
                }
            }
        }
    }
}

fn channel_timeout(core: &mut EngineCore, id: ChannelId, deadline: std::time::Instant) {
    let now = core.now;
    let stamp = core.stamp(deadline);
    let Some(entry) = core.channels.get_mut(id) else {
        return;
    };
    if entry.deadline != Some(stamp) {
        return; // superseded by an earlier push, which already ran
    }
    entry.deadline = None;
    match &mut entry.channel {
        // A stream a timer closed at once this turn has its close order pending: it needs
        // no timeout, and must not take input before that order is carried out.
        Channel::Stream(stream) if stream.is_closed() => {}
        Channel::Stream(stream) => stream.handle_timeout(now),
        Channel::Server(server) => server.server.handle_timeout(now),
        Channel::Datagram(_) => {}
    }
    core.touch(id);
    core.sync_deadline(id);
}

/// Runs an application timer, rescheduling or ending it first so that cancelling it from its
/// own callback works.
fn fire(core: &mut EngineCore, io: &mut dyn Io, id: TimerId, deadline: Option<std::time::Instant>) {
    let now = core.now;
    let Some(timer) = core.timers.entries.get_mut(id) else {
        return;
    };
    let schedule = timer.schedule;
    let channel = match &mut timer.target {
        Target::Channel(channel) => Some(*channel),
        Target::Engine(_) => None,
    };
    let closure = match &mut timer.target {
        Target::Engine(closure) => closure.take(),
        Target::Channel(_) => None,
    };
    match schedule {
        Schedule::NextTurn | Schedule::Once => {
            core.timers.cancel(id);
        }
        Schedule::EachTurn => core.timers.keep_per_turn(id),
        Schedule::Every(interval) => {
            let next = deadline.map_or(now, |d| d + interval).max(now);
            timer.deadline = Some(next);
            core.timers.push(next, Due::Timer(id));
        }
    }
    if let Some(channel) = channel {
        if !core.is_open(channel) {
            // Its channel is gone or closed (on_close is next: nothing comes before it).
            core.timers.cancel(id);
            return;
        }
        dispatch::call(core, io, channel, dispatch::Callback::Timer(id));
        core.touch(channel);
        return;
    }
    let Some(mut closure) = closure else { return };
    if !dispatch::run_engine_timer(core, io, &mut closure) {
        core.timers.cancel(id); // it panicked
        return;
    }
    if let Some(timer) = core.timers.entries.get_mut(id) {
        timer.target = Target::Engine(Some(closure));
    }
}

fn channel_io(core: &mut EngineCore, io: &mut dyn Io, id: ChannelId) {
    match core.channels.get(id).map(|entry| &entry.channel) {
        Some(Channel::Stream(_)) => stream_io(core, io, id),
        Some(Channel::Server(_)) => server_io(core, io, id),
        Some(Channel::Datagram(_)) => datagram_io(core, io, id),
        None => {}
    }
}

/// Retries a call interrupted by a signal.
fn retry<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

fn would_block(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::WouldBlock
}

fn stream_io(core: &mut EngineCore, io: &mut dyn Io, id: ChannelId) {
    let now = core.now;
    let mut budget = core.config.read_budget;
    let mut reads = MAX_READS;
    loop {
        let Some(entry) = core.channels.get_mut(id) else {
            return;
        };
        let Channel::Stream(stream) = &mut entry.channel else {
            return;
        };
        // Orders first: the stream expects them carried out before more input.
        if let Some(action) = stream.poll_action() {
            match action {
                Action::Shutdown => {
                    if let Err(err) = retry(|| io.shutdown(id)) {
                        stream.handle_error(now, err);
                    }
                }
                Action::Close => core.close_socket(io, id),
            }
            continue;
        }
        let flags = entry.flags;
        if flags & flag::OPEN == 0 {
            return;
        }
        if stream.is_connecting() {
            if flags & flag::WRITABLE == 0 {
                return;
            }
            match retry(|| io.connect_result(id)) {
                Ok(true) => {
                    core.host_connects.forget(id);
                    stream.handle_connected(now);
                }
                Ok(false) => entry.flags &= !flag::WRITABLE,
                // A host name's next address, if it has one left: a new socket.
                Err(err) => match core.host_connects.retry(io, id, err) {
                    Ok(()) => entry.flags &= !(flag::READABLE | flag::WRITABLE),
                    Err(err) => stream.handle_connect_error(now, ConnectError::from_io(err)),
                },
            }
            continue;
        }
        if stream.wants_write() && flags & flag::WRITABLE != 0 {
            let result = if stream.write_queue().chunks() <= FEW_SLICES {
                transmit::<FEW_SLICES>(stream, io, id)
            } else {
                transmit::<MAX_SLICES>(stream, io, id)
            };
            match result {
                Ok(0) => stream.handle_error(now, io::ErrorKind::WriteZero.into()),
                Ok(n) => stream.handle_written_recycling(now, n, &mut core.recycler),
                Err(err) if would_block(&err) => entry.flags &= !flag::WRITABLE,
                Err(err) => stream.handle_error(now, err),
            }
            // `on_write` (or `on_error`) at once, as frames after a read: what it writes
            // goes out in this same pass.
            if stream.has_pending_events() {
                dispatch::channel_events(core, io, id, None);
            }
            continue;
        }
        if stream.wants_read() && flags & flag::READABLE != 0 {
            if budget == 0 || reads == 0 {
                core.carry_over.push(id);
                return;
            }
            reads -= 1;
            match retry(|| io.read(id)) {
                Ok(received) if received.data.is_empty() => stream.handle_eof(now),
                Ok(Received { data, emptied }) => {
                    if emptied {
                        entry.flags &= !flag::READABLE;
                    }
                    budget = budget.saturating_sub(data.len());
                    // The frames of this read reach the handler before the next read.
                    let lent = stream.handle_data_lent(now, data);
                    dispatch::channel_events(core, io, id, lent);
                    continue;
                }
                Err(err) if would_block(&err) => {
                    entry.flags &= !flag::READABLE;
                    continue;
                }
                Err(err) => stream.handle_error(now, err),
            }
            dispatch::channel_events(core, io, id, None);
            continue;
        }
        return;
    }
}

/// Writes the head of the stream's queue: up to `N` chunks in one vectored write, or its file
/// range. (Small writes were copied together when queued, so pipelined replies are one slice.)
#[inline]
fn transmit<const N: usize>(stream: &Stream, io: &mut dyn Io, id: ChannelId) -> io::Result<usize> {
    let mut slices = [IoSlice::new(&[]); N];
    match stream.poll_transmit(&mut slices) {
        Some(Transmit::Vectored(n)) => retry(|| io.write(id, &slices[..n])),
        Some(Transmit::File(range)) => retry(|| io.send_file(id, range)),
        None => Ok(0),
    }
}

fn server_io(core: &mut EngineCore, io: &mut dyn Io, id: ChannelId) {
    let now = core.now;
    for _ in 0..core.config.accept_budget {
        let conn = core.channels.vacant_id();
        let Some(entry) = core.channels.get_mut(id) else {
            return;
        };
        let Channel::Server(server) = &mut entry.channel else {
            return;
        };
        if server.server.is_closed() {
            if entry.flags & flag::OPEN != 0 {
                core.close_socket(io, id);
            }
            return;
        }
        if !server.server.wants_accept() || entry.flags & flag::READABLE == 0 {
            return;
        }
        match retry(|| io.accept(id, conn)) {
            Ok(()) => {
                let handler = (server.factory)();
                let config = server.stream_config.clone();
                server.server.handle_accepted(conn);
                // The server's on_accept runs before the connection's own callbacks.
                core.queue_events(id);
                let accepted = core.insert_accepted(config, handler, id);
                debug_assert_eq!(
                    accepted, conn,
                    "the accepted socket is registered as `conn`"
                );
            }
            Err(err) if would_block(&err) => {
                entry.flags &= !flag::READABLE;
                return;
            }
            Err(err) => {
                if !server.server.handle_accept_error(now, err) {
                    core.sync_deadline(id);
                    return;
                }
            }
        }
    }
    core.carry_over.push(id);
}

fn datagram_io(core: &mut EngineCore, io: &mut dyn Io, id: ChannelId) {
    let now = core.now;
    let mut budget = core.config.read_budget;
    let mut reads = MAX_READS;
    loop {
        let Some(entry) = core.channels.get_mut(id) else {
            return;
        };
        let Channel::Datagram(datagram) = &mut entry.channel else {
            return;
        };
        if let Some(Action::Close) = datagram.poll_action() {
            core.close_socket(io, id);
            return;
        }
        let flags = entry.flags;
        if flags & flag::OPEN == 0 {
            return;
        }
        if flags & flag::WRITABLE != 0
            && let Some((data, to)) = datagram.poll_transmit()
        {
            match retry(|| io.send_to(id, data, to)) {
                Ok(_) => datagram.handle_written(now),
                Err(err) if would_block(&err) => entry.flags &= !flag::WRITABLE,
                Err(err) => datagram.handle_write_error(now, err),
            }
            continue;
        }
        if datagram.wants_read() && flags & flag::READABLE != 0 {
            if budget == 0 || reads == 0 {
                core.carry_over.push(id);
                return;
            }
            reads -= 1;
            match retry(|| io.recv_from(id)) {
                Ok((data, from)) => {
                    budget = budget.saturating_sub(data.len());
                    datagram.handle_datagram(now, data, from);
                }
                Err(err) if would_block(&err) => {
                    entry.flags &= !flag::READABLE;
                    continue;
                }
                Err(err) => datagram.handle_read_error(now, err),
            }
            dispatch::channel_events(core, io, id, None);
            continue;
        }
        return;
    }
}
