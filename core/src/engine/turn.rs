//! One turn of the event loop: due timers, then rounds of I/O and callbacks until nothing is
//! left that needs no waiting, each channel within its budgets.

use std::io::{self, IoSlice};
use std::time::Instant;

use super::EngineConfig;
use super::channel::{Channel, flag};
use super::core::EngineCore;
use super::dispatch;
use super::timers::{Due, Fired};
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
    for id in core.work.take_carried_over() {
        core.queue_io(id);
    }
    let channels = core.work.io_len();
    for _ in 0..MAX_ROUNDS {
        let Some(mut round) = core.work.start_round() else {
            break;
        };
        while let Some(id) = round.io.pop_front() {
            channel_io(core, io, id, channels);
            core.after_io(id);
        }
        while let Some(id) = round.events.pop_front() {
            core.before_events(id);
            dispatch::channel_events(core, io, id, None);
            core.sync_deadline(id);
        }
        core.work.end_round(round);
    }
    core.settle_timers();
}

fn fire_timers(core: &mut EngineCore, io: &mut dyn Io) {
    for id in core.timers.take_per_turn() {
        fire(core, io, id, None);
    }
    let mut due = Vec::new();
    while let Some(entry) = core.timers.pop_due(core.now()) {
        due.push(entry);
    }
    for (deadline, due) in due {
        match due {
            Due::Channel(id) => channel_timeout(core, id, deadline),
            Due::Timer(id) => fire(core, io, id, Some(deadline)),
            Due::Stop if core.is_current(deadline, due) => {
                log::warn!("pants: the stop timeout passed; closing every channel at once");
                core.stop_now();
            }
            Due::Stop => {}
        }
    }
}

fn channel_timeout(core: &mut EngineCore, id: ChannelId, deadline: Instant) {
    let now = core.now();
    let stamp = core.stamp(deadline);
    let Some(entry) = core.channels.get_mut(id) else {
        return;
    };
    if entry.deadline != Some(stamp) {
        return; // superseded by an earlier push, which already ran
    }
    entry.deadline = None;
    entry.channel.handle_timeout(now);
    core.touch(id);
    core.sync_deadline(id);
}

/// Runs an application timer.
fn fire(core: &mut EngineCore, io: &mut dyn Io, id: TimerId, deadline: Option<Instant>) {
    match core.timers.fire(id, core.now(), deadline) {
        Some(Fired::Channel(channel)) if core.is_open(channel) => {
            dispatch::call(core, io, channel, dispatch::Callback::Timer(id));
            core.touch(channel);
        }
        Some(Fired::Channel(_)) => {
            // Its channel is gone or closed (on_close is next: nothing comes before it).
            core.timers.cancel(id);
        }
        Some(Fired::Engine(mut closure)) => {
            if dispatch::run_engine_timer(core, io, &mut closure, id) {
                core.timers.ran(id, closure);
            } else {
                core.timers.cancel(id); // it panicked
            }
        }
        None => {}
    }
}

/// What one channel may read and write in one turn: its budgets, or less when many channels
/// have I/O to do, so that the turn as a whole stays short.
///
/// A turn with n channels to serve gives each `turn_budget / n` bytes each way, but never
/// less than [`MIN_SHARE`](Self::MIN_SHARE) (a smaller write or read would cost more in the
/// system call than in the copy) nor more than the channel budgets. A channel reads and
/// writes while it has some of its share left, and its last read or write may go over by up
/// to one read or one share. So a turn moves at most about twice
/// `max(turn_budget, n * MIN_SHARE)` each way, and a client whose request arrives
/// during a flood waits for one such turn, not for every flooding socket's send buffer to
/// fill: `benches/attack.sh`, 1,000 connections pipelining `GET` of a 1 MiB value without
/// reading, took a canary's round trip to 1.7 s with a 256 KiB write budget per channel alone.
#[derive(Debug, Clone, Copy)]
struct Share {
    read: usize,
    write: usize,
}

impl Share {
    /// The least a channel's share of a turn is, whatever the number of channels.
    const MIN_SHARE: usize = 16 * 1024;

    fn of(config: &EngineConfig, channels: usize) -> Self {
        let even = (config.turn_budget / channels.max(1)).max(Self::MIN_SHARE);
        Self {
            read: even.min(config.read_budget),
            write: even.min(config.write_budget),
        }
    }
}

/// Serves channel `id`'s I/O, within its share of a turn serving `channels` channels.
fn channel_io(core: &mut EngineCore, io: &mut dyn Io, id: ChannelId, channels: usize) {
    // Worked out per channel rather than once per turn: kept across the turn's loop, the
    // share cost 33 instructions of a `SET -P 1` turn in spilled registers
    // (benches/engine_instructions.sh).
    let share = Share::of(core.config(), channels);
    match core.channels.get(id).map(|entry| &entry.channel) {
        Some(Channel::Stream(_)) => stream_io(core, io, id, share),
        Some(Channel::Server(_)) => server_io(core, io, id),
        Some(Channel::Datagram(_)) => datagram_io(core, io, id, share),
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

/// A stream's I/O, in the order its state machine asks: orders, the connect, writes (and the
/// `on_write` they make), reads (and the frames each makes, before the next read). It reads
/// and writes at most its share of the turn, then waits for the next, so that one busy peer
/// cannot keep the others waiting.
fn stream_io(core: &mut EngineCore, io: &mut dyn Io, id: ChannelId, share: Share) {
    let now = core.now();
    let mut read_budget = share.read;
    let mut write_budget = share.write;
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
            if write_budget == 0 {
                core.work.carry_over(id);
                return;
            }
            // A write offers up to a whole share, not only what is left of it: cut to the
            // rest, an echo's 64 KiB replies went out as 18 and 46 KiB pieces at 50
            // connections (a 4 MiB turn / 50 = 82 KiB a share), 1.6 sends per read and 1.56x
            // the CPU per MB (benches/tls.sh's plaintext echo). So a channel writes less than
            // twice its share in a turn, as a read may overshoot by one read.
            let max = share.write;
            let result = if stream.write_queue().chunks() <= FEW_SLICES {
                transmit::<FEW_SLICES>(stream, io, id, now, max)
            } else {
                transmit::<MAX_SLICES>(stream, io, id, now, max)
            };
            match result {
                Ok(0) => stream.handle_error(now, io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    write_budget = write_budget.saturating_sub(n);
                    stream.handle_written_recycling(now, n, &mut core.recycler);
                }
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
            if read_budget == 0 || reads == 0 {
                core.work.carry_over(id);
                return;
            }
            reads -= 1;
            match retry(|| io.read(id)) {
                Ok(received) if received.data.is_empty() => stream.handle_eof(now),
                Ok(Received { data, emptied }) => {
                    if emptied {
                        entry.flags &= !flag::READABLE;
                    }
                    read_budget = read_budget.saturating_sub(data.len());
                    // The frames of this read reach the handler before the next read.
                    let held = stream.framer().buffered();
                    let lent = stream.handle_data_lent(now, data);
                    dispatch::channel_events(core, io, id, lent);
                    let now_held = core.channels.get(id).map_or(0, |e| e.channel.buffered());
                    core.account_read(held, now_held);
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

/// Writes the head of the stream's queue: up to `N` chunks and `max` bytes in one vectored
/// write, or its file range; or a TLS stream's records. (Small writes were copied together
/// when queued, so pipelined replies are one slice.)
#[inline]
fn transmit<const N: usize>(
    stream: &mut Stream,
    io: &mut dyn Io,
    id: ChannelId,
    #[cfg_attr(not(feature = "tls"), expect(unused_variables))] now: Instant,
    max: usize,
) -> io::Result<usize> {
    #[cfg(feature = "tls")]
    if stream.is_tls()
        && let Some(sent) = crate::tls::send_records(stream, io, id, max)
    {
        return sent;
    }
    let mut slices = [IoSlice::new(&[]); N];
    match stream.poll_transmit_within(&mut slices, max) {
        Some(Transmit::Vectored(n)) => retry(|| io.write(id, &slices[..n])),
        // A range longer than the share is sent in part (a new handle on the file, cheaper
        // than the system call).
        Some(Transmit::File(range)) if range.len() > max as u64 => {
            let part = range.prefix(max as u64);
            retry(|| io.send_file(id, &part))
        }
        Some(Transmit::File(range)) => retry(|| io.send_file(id, range)),
        #[cfg(feature = "tls")]
        Some(Transmit::ReadFile(range)) => {
            let range = range.clone();
            crate::tls::transmit_file(stream, io, id, now, &range, max)
        }
        #[cfg(not(feature = "tls"))]
        Some(Transmit::ReadFile(_)) => unreachable!("only TLS streams read files for sending"),
        None => Ok(0),
    }
}

/// A server's accepts, at most the engine's accept budget in one turn.
fn server_io(core: &mut EngineCore, io: &mut dyn Io, id: ChannelId) {
    let now = core.now();
    for _ in 0..core.config().accept_budget {
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
                #[cfg(feature = "tls")]
                let tls = server.tls.as_ref().map(crate::tls::TlsServer::session);
                server.server.handle_accepted(conn);
                // The server's on_accept runs before the connection's own callbacks.
                core.queue_events(id);
                let accepted = core.insert_accepted(config, handler, id);
                #[cfg(feature = "tls")]
                if let Some(session) = tls
                    && let Some(Channel::Stream(stream)) = core
                        .channels
                        .get_mut(accepted)
                        .map(|entry| &mut entry.channel)
                {
                    let started = session.and_then(|session| stream.start_tls_session(session));
                    if let Err(err) = started {
                        stream.handle_error(now, err.into());
                    }
                }
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
    core.work.carry_over(id);
}

/// A datagram channel's sends and receives, within its share of the turn.
fn datagram_io(core: &mut EngineCore, io: &mut dyn Io, id: ChannelId, share: Share) {
    let now = core.now();
    let mut read_budget = share.read;
    let mut write_budget = share.write;
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
            if write_budget == 0 {
                core.work.carry_over(id);
                return;
            }
            write_budget = write_budget.saturating_sub(data.len().max(1));
            match retry(|| io.send_to(id, data, to)) {
                Ok(_) => datagram.handle_written(now),
                Err(err) if would_block(&err) => entry.flags &= !flag::WRITABLE,
                Err(err) => datagram.handle_write_error(now, err),
            }
            continue;
        }
        if datagram.wants_read() && flags & flag::READABLE != 0 {
            if read_budget == 0 || reads == 0 {
                core.work.carry_over(id);
                return;
            }
            reads -= 1;
            let held = datagram.buffered();
            match retry(|| io.recv_from(id)) {
                Ok((data, from)) => {
                    read_budget = read_budget.saturating_sub(data.len());
                    datagram.handle_datagram(now, data, from);
                }
                Err(err) if would_block(&err) => {
                    entry.flags &= !flag::READABLE;
                    continue;
                }
                Err(err) => datagram.handle_read_error(now, err),
            }
            dispatch::channel_events(core, io, id, None);
            let now_held = core.channels.get(id).map_or(0, |e| e.channel.buffered());
            core.account_read(held, now_held);
            continue;
        }
        return;
    }
}
