//! The stream channel: one connected byte stream (TCP, Unix stream socket) as a state machine.

mod clock;
mod config;
mod events;
mod lend;
#[cfg(test)]
mod tests;
#[cfg(feature = "tls")]
mod tls;

use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use clock::Clock;
pub use config::{OverflowPolicy, StreamConfig};

use crate::delimiter::{IntoReadDelimiter, ReadDelimiter};
use crate::error::{
    ConnectError, DelimiterError, Error, FrameError, OverflowError, TruncatedFrame, Unsent,
    WriteError,
};
use crate::event::{Action, Event, Idle};
use crate::framer::{Framer, ReadLimits};
use crate::write_queue::{FileRange, Recycler, Transmit, WriteLimits, WriteQueue, WriteStatus};

/// A connected byte stream as a sans-IO state machine: Pants' `Stream` without the socket.
///
/// The driver feeds it what happened on the socket (`handle_*`), the application gives it
/// commands (`write`, `close`, `set_read_delimiter`, ...), and both drain its outputs (`poll_*`)
/// in the order given on the [crate page](crate#the-drive-order). It reads no clock: every input
/// carries the time, and [`poll_timeout`](Self::poll_timeout) says when to call
/// [`handle_timeout`](Self::handle_timeout).
///
/// ```
/// use std::time::Instant;
/// use bytes::Bytes;
/// use pants_core::StreamConfig;
/// use pants_core::channel::{Event, Stream};
///
/// let now = Instant::now();
/// let mut stream = Stream::accepted(StreamConfig::default(), now);
/// stream.set_read_delimiter(b"\n")?;
/// stream.handle_data(now, Bytes::from_static(b"ping\n"));
/// assert!(matches!(stream.poll_event(), Some(Event::Connected)));
/// let Some(Event::Read(line)) = stream.poll_event() else { unreachable!() };
/// assert_eq!(line, "ping");
/// stream.write("pong\n")?;
/// assert!(stream.wants_write());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Stream {
    phase: Phase,
    framer: Framer,
    writes: WriteQueue,
    /// Bits of the common events waiting to be polled (see `events.rs`); frames and the end
    /// of input are drawn from the framer when polled.
    pending: u8,
    /// The rare events waiting to be polled, in order, and a TLS stream's session (see
    /// `events.rs`).
    rare: Option<Box<events::Rare>>,
    /// Bits of [`flag`]: orders pending, reading paused, the peer's EOF, winding down.
    flags: u8,
    /// The policy applied after an overflow (from the config; changeable per stream).
    overflow: OverflowPolicy,
    /// Bits of [`Idle`] kinds that fired and saw no activity since.
    idle_fired: u8,
    config: Arc<StreamConfig>,
    /// The latest time given with an input, and when bytes last moved.
    clock: Clock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the driver's connect to complete; `then_close` once `close` was called.
    Connecting { then_close: bool },
    /// Reading and writing.
    Open,
    /// `close` was called: flushing the queue; input is discarded.
    Closing,
    /// The write side is shut down: waiting for the peer's EOF, discarding input.
    Lingering,
    /// Done: [`Event::Closed`] was queued.
    Closed,
}

impl Stream {
    /// A stream whose connect the driver has started.
    pub fn connecting(config: impl Into<Arc<StreamConfig>>, now: Instant) -> Self {
        Self::new(config.into(), now, Phase::Connecting { then_close: false })
    }

    /// A stream for a connection a server accepted: open at once, [`Event::Connected`] queued.
    pub fn accepted(config: impl Into<Arc<StreamConfig>>, now: Instant) -> Self {
        let mut stream = Self::new(config.into(), now, Phase::Open);
        stream.push_event(Event::Connected);
        stream
    }

    fn new(config: Arc<StreamConfig>, now: Instant, phase: Phase) -> Self {
        Self {
            phase,
            framer: Framer::new(config.read_limits),
            writes: WriteQueue::new(config.write_limits),
            pending: 0,
            rare: None,
            flags: 0,
            overflow: config.overflow,
            idle_fired: 0,
            config,
            clock: Clock::new(now),
        }
    }

    // ---- Inputs from the driver -------------------------------------------------------------

    /// The connect completed.
    pub fn handle_connected(&mut self, now: Instant) {
        self.observe(now);
        self.connect_done();
    }

    /// The connect failed: [`Event::ConnectFailed`] then [`Event::Closed`].
    pub fn handle_connect_error(&mut self, now: Instant, err: ConnectError) {
        self.observe(now);
        if matches!(self.phase, Phase::Connecting { .. }) {
            self.fail(Event::ConnectFailed(err));
        }
    }

    /// Bytes were received. Data while connecting means the connect completed.
    pub fn handle_data(&mut self, now: Instant, data: Bytes) {
        if let Some(data) = self.receive(now, data) {
            self.framer.push(data);
        }
    }

    /// The peer shut down its side (a read returned 0 bytes).
    pub fn handle_eof(&mut self, now: Instant) {
        self.observe(now);
        self.connect_done();
        #[cfg(feature = "tls")]
        if self.is_tls() {
            self.tls_eof();
        }
        self.set_flag(flag::PEER_EOF, true);
        if self.phase == Phase::Lingering {
            self.finish();
        }
    }

    /// The driver wrote `n` bytes of what [`poll_transmit`](Self::poll_transmit) offered.
    pub fn handle_written(&mut self, now: Instant, n: usize) {
        self.handle_written_recycling(now, n, &mut Recycler::default());
    }

    /// [`handle_written`](Self::handle_written), giving what memory the sent bytes held to
    /// `recycler` (the engine's).
    pub(crate) fn handle_written_recycling(
        &mut self,
        now: Instant,
        n: usize,
        recycler: &mut Recycler,
    ) {
        self.observe(now);
        if n == 0 || !matches!(self.phase, Phase::Open | Phase::Closing) {
            return;
        }
        self.clock.touch_write();
        self.idle_fired &= !(Idle::Write.bit() | Idle::Both.bit());
        #[cfg(feature = "tls")]
        if self.is_tls() {
            return self.tls_written(n, recycler);
        }
        let emptied = self.writes.handle_written_recycling(n, recycler);
        if emptied && self.phase == Phase::Open && !self.closes_when_flushed() {
            self.push_event(Event::Drained);
        }
    }

    /// A read, write or shutdown failed: [`Event::Error`] (or [`Event::ConnectFailed`] while
    /// connecting), then [`Event::Closed`]. What was queued is dropped.
    pub fn handle_error(&mut self, now: Instant, err: io::Error) {
        self.observe(now);
        match self.phase {
            Phase::Connecting { .. } => self.fail(Event::ConnectFailed(ConnectError::from_io(err))),
            Phase::Closed => {}
            _ => self.fail(Event::Error(Error::from_io(err))),
        }
    }

    /// Time passed: fires the timeouts due at `now` (see [`poll_timeout`](Self::poll_timeout)).
    /// Calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.observe(now);
        #[cfg(feature = "tls")]
        if self.is_tls() && self.tls_deadline().is_some_and(|deadline| now >= deadline) {
            return self.fail(Event::TlsError(crate::tls::TlsError::HandshakeTimeout));
        }
        match self.phase {
            Phase::Connecting { .. } => {
                if self
                    .connect_deadline()
                    .is_some_and(|deadline| now >= deadline)
                {
                    self.fail(Event::ConnectFailed(ConnectError::TimedOut));
                } else if self
                    .close_while_connecting_deadline()
                    .is_some_and(|deadline| now >= deadline)
                {
                    self.finish();
                }
            }
            Phase::Open if self.closes_when_flushed() && self.linger_due(now) => self.finish(),
            Phase::Open => {
                for kind in Idle::ALL {
                    if self
                        .idle_deadline(kind)
                        .is_some_and(|deadline| now >= deadline)
                    {
                        self.idle_fired |= kind.bit();
                        self.push_event(Event::Idle(kind));
                    }
                }
            }
            Phase::Closing | Phase::Lingering => {
                if self.linger_due(now) {
                    self.finish();
                }
            }
            Phase::Closed => {}
        }
    }

    // ---- Commands from the application ------------------------------------------------------

    /// Queues `data` to send. Refused after [`close`](Self::close), and when it would take the
    /// queue over its hard limit (then an [`Event::Overflow`] is raised too, and the stream
    /// closes unless its overflow policy is `Discard`).
    pub fn write(&mut self, data: impl Into<Bytes>) -> Result<WriteStatus, WriteError> {
        self.write_recycling(data.into(), &mut Recycler::default())
    }

    /// [`write`](Self::write), taking what memory the queue needs from `recycler` first (the
    /// engine's).
    #[inline]
    pub(crate) fn write_recycling(
        &mut self,
        data: Bytes,
        recycler: &mut Recycler,
    ) -> Result<WriteStatus, WriteError> {
        if let Some(refused) = self.write_refusal() {
            return Err(refused);
        }
        let queued = self.writes.push_recycling(data, recycler);
        self.overflow_on_error(queued)
    }

    /// [`write`](Self::write) for bytes that are not a `Bytes`: queues a copy of them (see
    /// [`WriteQueue::push_slice`]).
    pub fn write_slice(&mut self, data: &[u8]) -> Result<WriteStatus, WriteError> {
        self.write_slice_recycling(data, &mut Recycler::default())
    }

    /// [`write_slice`](Self::write_slice), taking what memory the queue needs from `recycler`
    /// first (the engine's).
    #[inline]
    pub(crate) fn write_slice_recycling(
        &mut self,
        data: &[u8],
        recycler: &mut Recycler,
    ) -> Result<WriteStatus, WriteError> {
        if let Some(refused) = self.write_refusal() {
            return Err(refused);
        }
        let queued = self.writes.push_slice_recycling(data, recycler);
        self.overflow_on_error(queued)
    }

    /// A write the queue refused raises the overflow (and its policy).
    #[inline]
    fn overflow_on_error(
        &mut self,
        queued: Result<WriteStatus, OverflowError>,
    ) -> Result<WriteStatus, WriteError> {
        queued.map_err(|err| {
            self.push_event(Event::Overflow(err));
            self.after_overflow();
            WriteError::Overflow(err)
        })
    }

    /// Queues a file range to send (with `sendfile` where the OS has it). Refused after
    /// [`close`](Self::close).
    pub fn write_file(&mut self, range: FileRange) -> Result<WriteStatus, WriteError> {
        if let Some(refused) = self.write_refusal() {
            return Err(refused);
        }
        Ok(self.writes.push_file(range))
    }

    /// Closes after flushing: takes no more writes, delivers no more frames, sends what is
    /// queued, shuts down the write side, waits (at most the linger time) for the peer's EOF,
    /// then closes. Idempotent.
    ///
    /// While connecting, with nothing queued, it ends the attempt at once ([`Event::Closed`]
    /// next, and no [`Event::Connected`]). With writes queued it waits for the connect to send
    /// them, at most the linger time (or the connect timeout, if shorter); if the connect has
    /// not completed by then, the attempt ends and the queued bytes are reported unsent.
    pub fn close(&mut self) {
        match self.phase {
            Phase::Connecting { .. } if self.writes.is_empty() => self.finish(),
            Phase::Connecting { then_close: false } => {
                self.phase = Phase::Connecting { then_close: true };
                // The linger counts from the close (on the read clock: the connect timeout
                // keeps counting on the write clock, from the start).
                self.clock.touch_read();
            }
            Phase::Open => {
                self.phase = Phase::Closing;
                self.framer.clear();
                // The linger counts the queue's progress from now on.
                self.clock.touch_write();
            }
            _ => {}
        }
    }

    /// Closes at once, dropping what is queued (Pants' `close(flush=False)`). Idempotent.
    pub fn close_now(&mut self) {
        self.finish();
    }

    /// Closes as an engine's graceful stop does. A stream connecting, or idle with nothing
    /// to finish ([`is_idle`](Self::is_idle)), closes at once; an idle TLS stream first sends
    /// its `close_notify` (so that its peer sees a clean end, not a truncation) and closes
    /// once that went out, without waiting for the peer's. The rest closes as
    /// [`close`](Self::close) does.
    pub(crate) fn close_for_stop(&mut self) {
        if !self.is_idle() && !self.is_connecting() {
            return self.close();
        }
        #[cfg(feature = "tls")]
        if self.tls_says_goodbye() {
            self.set_flag(flag::NO_LINGER, true);
            return self.close();
        }
        self.close_now();
    }

    /// Closes at once and drops every pending event but [`Event::Closed`] (after a handler
    /// panicked: its `on_close` comes next).
    pub(crate) fn abort(&mut self) {
        self.finish();
        // The panic's own report says that the channel and what it queued are gone.
        self.only_closed_event();
    }

    /// Sets how incoming bytes are cut into frames. It applies at once to the bytes already
    /// buffered, also between two frames of one read. Invalid delimiters are refused.
    #[inline(always)]
    pub fn set_read_delimiter<D>(&mut self, delimiter: D) -> Result<(), DelimiterError>
    where
        D: IntoReadDelimiter,
    {
        self.framer.set_delimiter(delimiter.into_read_delimiter()?)
    }

    /// Sets the read limits for the following frames.
    pub fn set_read_limits(&mut self, limits: ReadLimits) -> Result<(), DelimiterError> {
        self.framer.set_limits(limits)
    }

    /// Gives up the frame being received, as if it were over a limit of `limit` bytes (an
    /// engine over its memory budget does so to the stream holding the most):
    /// [`Event::Overflow`] with the bytes dropped, then the overflow policy. The bytes freed.
    pub(crate) fn give_up_frame(&mut self, limit: usize) -> usize {
        let Some(err) = self.framer.give_up_frame(limit) else {
            return 0;
        };
        self.push_event(Event::Overflow(err));
        self.after_overflow();
        err.size()
    }

    /// Sets what happens after an overflow of this stream (see [`OverflowPolicy`]).
    pub fn set_overflow_policy(&mut self, policy: OverflowPolicy) {
        self.overflow = policy;
    }

    /// Sets the write queue's limits; what is queued already stays.
    pub fn set_write_limits(&mut self, limits: WriteLimits) {
        self.writes.set_limits(limits);
    }

    /// Stops delivering frames and asks the driver to stop reading, so the kernel's window
    /// slows the peer down. Idempotent.
    pub fn pause_reading(&mut self) {
        self.set_flag(flag::READ_PAUSED, true);
        self.framer.settle();
    }

    /// Delivers frames and reads again. Idempotent. The read idle timeout counts from here.
    pub fn resume_reading(&mut self) {
        if self.has(flag::READ_PAUSED) {
            self.set_flag(flag::READ_PAUSED, false);
            self.clock.touch_read();
        }
    }

    // ---- Outputs ----------------------------------------------------------------------------

    /// The next order for the driver. Drain it (until `None`) before the next input.
    #[inline]
    pub fn poll_action(&mut self) -> Option<Action> {
        // The common case: open, not closing once flushed, no order pending.
        const QUIET: u8 =
            flag::SHUTDOWN_PENDING | flag::CLOSE_PENDING | flag::WINDING_DOWN | flag::EOF_DELIVERED;
        if self.phase == Phase::Open && self.flags & QUIET == 0 {
            return None;
        }
        self.poll_order()
    }

    /// [`poll_action`](Self::poll_action) when an order may be due.
    #[inline(never)]
    fn poll_order(&mut self) -> Option<Action> {
        self.advance_close();
        if self.take_flag(flag::SHUTDOWN_PENDING) {
            return Some(Action::Shutdown);
        }
        if self.take_flag(flag::CLOSE_PENDING) {
            return Some(Action::Close);
        }
        None
    }

    /// What to send next: fills `slices` for one vectored write, or names a file range. Report
    /// what was sent with [`handle_written`](Self::handle_written).
    pub fn poll_transmit<'a>(&'a mut self, slices: &mut [IoSlice<'a>]) -> Option<Transmit<'a>> {
        self.poll_transmit_within(slices, usize::MAX)
    }

    /// [`poll_transmit`](Self::poll_transmit), at most `max` bytes (at least one): a channel's
    /// share of a turn. (The engine sends a TLS stream's records another way: see
    /// `tls/transport.rs`.)
    #[inline]
    pub(crate) fn poll_transmit_within<'a>(
        &'a mut self,
        slices: &mut [IoSlice<'a>],
        max: usize,
    ) -> Option<Transmit<'a>> {
        if !self.wants_write() {
            return None;
        }
        #[cfg(feature = "tls")]
        if self.is_tls() {
            return self.tls_transmit(slices, max);
        }
        self.writes.poll_transmit_within(slices, max)
    }

    /// The next event for the application. [`Event::Closed`] is the last one.
    ///
    /// Events come in a fixed order of kinds: `Connected`, then overflows and errors (in the
    /// order they happened), `Idle`, `Drained`, frames and `Eof`, and `Closed` last.
    pub fn poll_event(&mut self) -> Option<Event> {
        // The common case, frames with nothing else pending, goes straight to the framer.
        if !self.has_pending_events() {
            return self.poll_read();
        }
        self.poll_pending_event()
    }

    /// [`poll_event`](Self::poll_event) when events other than frames wait.
    #[inline(never)]
    fn poll_pending_event(&mut self) -> Option<Event> {
        if let Some(event) = self.pop_first_event() {
            return Some(event);
        }
        if let Some(event) = self.poll_read() {
            return Some(event);
        }
        self.take_closed_event().then_some(Event::Closed)
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due, if ever.
    #[inline]
    pub fn poll_timeout(&self) -> Option<Instant> {
        // The engine asks after every busy stream's turn, and most have no deadline: open, not
        // flushing to close, no idle timeouts, no TLS. Said here, inlined, without the call
        // below: the call cost 40 of the ~2,000 instructions of a `SET -P 1` turn
        // (benches/engine_instructions.sh).
        if self.phase == Phase::Open
            && !self.closes_when_flushed()
            && !self.config.has_idle_timeouts()
            && !self.is_tls()
        {
            return None;
        }
        self.next_timeout()
    }

    /// [`poll_timeout`](Self::poll_timeout) when a deadline may be due.
    #[inline(never)]
    fn next_timeout(&self) -> Option<Instant> {
        #[cfg(feature = "tls")]
        if self.is_tls()
            && let Some(handshake) = self.tls_deadline()
        {
            return Some(self.plain_timeout().map_or(handshake, |t| t.min(handshake)));
        }
        self.plain_timeout()
    }

    /// [`next_timeout`](Self::next_timeout) but for a TLS handshake's.
    fn plain_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Connecting { .. } => {
                let close = self.close_while_connecting_deadline();
                self.connect_deadline().into_iter().chain(close).min()
            }
            Phase::Open => {
                // After the peer's EOF the stream is flushing to close: the linger bounds it.
                let linger = self.closes_when_flushed().then(|| self.linger_deadline());
                if !self.config.has_idle_timeouts() {
                    return linger;
                }
                let idle = Idle::ALL
                    .into_iter()
                    .filter_map(|kind| self.idle_deadline(kind));
                idle.chain(linger).min()
            }
            Phase::Closing | Phase::Lingering => Some(self.linger_deadline()),
            Phase::Closed => None,
        }
    }

    /// Whether the driver should read from the socket now (never while connecting: the driver
    /// completes the connect first; should data come anyway, it counts as connected).
    pub fn wants_read(&self) -> bool {
        match self.phase {
            Phase::Open => !self.has(flag::READ_PAUSED) && !self.has(flag::PEER_EOF),
            Phase::Closing | Phase::Lingering => !self.has(flag::PEER_EOF),
            _ => false,
        }
    }

    /// Whether the driver has something to write now.
    pub fn wants_write(&self) -> bool {
        #[cfg(feature = "tls")]
        if self.is_tls() {
            return self.tls_wants_write();
        }
        matches!(self.phase, Phase::Open | Phase::Closing) && !self.writes.is_empty()
    }

    // ---- State ------------------------------------------------------------------------------

    /// True once the stream is closed ([`Event::Closed`] was queued).
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// True when the stream has nothing to finish: open, nothing queued to send, and no
    /// partial frame received. (What a graceful stop closes at once.)
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Open
            && self.writes.is_empty()
            && self.framer.buffered() == 0
            && !(self.is_tls() && self.wants_write())
    }

    /// True while the connect has not completed.
    pub fn is_connecting(&self) -> bool {
        matches!(self.phase, Phase::Connecting { .. })
    }

    /// True once TLS was started on this stream (always false without the `tls` feature).
    #[inline(always)]
    pub fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.rare.as_deref().is_some_and(|rare| rare.tls.is_some());
        #[cfg(not(feature = "tls"))]
        false
    }

    /// True when reading is paused by [`pause_reading`](Self::pause_reading).
    pub fn is_read_paused(&self) -> bool {
        self.has(flag::READ_PAUSED)
    }

    /// The current read delimiter.
    pub fn read_delimiter(&self) -> &ReadDelimiter {
        self.framer.delimiter()
    }

    /// The read buffer (frames are cut from it); shows its size and whether it holds memory.
    pub fn framer(&self) -> &Framer {
        &self.framer
    }

    /// The write queue; shows its length and limits.
    pub fn write_queue(&self) -> &WriteQueue {
        &self.writes
    }

    /// The settings the stream was made with.
    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    // ---- Internals --------------------------------------------------------------------------

    /// Records the time of an input and checks the drive order (debug builds).
    fn observe(&mut self, now: Instant) {
        debug_assert!(now >= self.clock.now(), "drive order: time went backwards");
        debug_assert!(
            !self.has(flag::SHUTDOWN_PENDING) && !self.has(flag::CLOSE_PENDING),
            "drive order: drain poll_action() before giving the next input"
        );
        self.clock.advance(now);
    }

    /// What every receipt of bytes does; returns them when the stream takes input now (open,
    /// and not after the peer's EOF or while winding down: then they are dropped).
    #[inline]
    fn receive(&mut self, now: Instant, data: Bytes) -> Option<Bytes> {
        self.observe(now);
        self.connect_done();
        debug_assert!(
            !(self.phase == Phase::Open && self.has(flag::READ_PAUSED)),
            "drive order: read while wants_read() was false"
        );
        self.clock.touch_read();
        self.idle_fired &= !(Idle::Read.bit() | Idle::Both.bit());
        #[cfg(feature = "tls")]
        if self.is_tls() {
            return self.tls_receive(data);
        }
        let takes =
            self.phase == Phase::Open && !self.has(flag::PEER_EOF) && !self.has(flag::WINDING_DOWN);
        takes.then_some(data)
    }

    fn connect_done(&mut self) {
        if let Phase::Connecting { then_close } = self.phase {
            self.phase = Phase::Open;
            self.clock.touch_read();
            self.clock.touch_write();
            self.push_event(Event::Connected);
            #[cfg(feature = "tls")]
            if self.is_tls() {
                self.tls_connected();
            }
            if then_close {
                self.close();
            }
        }
    }

    /// Why a write is refused now, if it is: after `close` ([`WriteError::Closing`]), and once
    /// closed ([`WriteError::Closed`]).
    #[inline]
    fn write_refusal(&self) -> Option<WriteError> {
        match self.phase {
            Phase::Open | Phase::Connecting { then_close: false } => None,
            Phase::Closed => Some(WriteError::Closed),
            _ => Some(WriteError::Closing),
        }
    }

    /// True when the stream will close once flushed: after the peer's EOF was delivered (unless
    /// half-open), or after reading ended in an overflow or a corrupt frame.
    fn closes_when_flushed(&self) -> bool {
        self.has(flag::WINDING_DOWN) || (self.has(flag::EOF_DELIVERED) && !self.config.half_open)
    }

    /// Ends reading and closes once flushed, letting the callback for what ended it still
    /// write its last words (say, `-ERR` or `431`).
    fn wind_down(&mut self) {
        match self.phase {
            Phase::Open => {
                self.set_flag(flag::WINDING_DOWN, true);
                self.framer.clear();
                self.clock.touch_write();
            }
            _ => self.close(),
        }
    }

    fn poll_read(&mut self) -> Option<Event> {
        if self.phase != Phase::Open || self.has(flag::READ_PAUSED) || self.has(flag::WINDING_DOWN)
        {
            return None;
        }
        if let Some(frame) = self.framer.next_frame() {
            return Some(match frame {
                Ok(frame) => Event::Read(frame),
                Err(FrameError::Overflow(err)) => {
                    self.after_overflow();
                    Event::Overflow(err)
                }
                Err(FrameError::Length(err)) => {
                    self.wind_down();
                    Event::Error(Error::FrameLength(err))
                }
            });
        }
        if !self.has(flag::PEER_EOF) || self.has(flag::EOF_DELIVERED) {
            return None;
        }
        self.set_flag(flag::EOF_DELIVERED, true);
        if !self.config.half_open {
            // Flushing to close starts now; the linger bounds it.
            self.clock.touch_write();
        }
        #[cfg(feature = "tls")]
        if self.is_tls() && self.tls_truncated() {
            return Some(self.tls_truncation());
        }
        match self.framer.take_partial() {
            Some(bytes) => {
                self.push_event(Event::Eof);
                Some(Event::Error(Error::TruncatedFrame(TruncatedFrame {
                    bytes,
                })))
            }
            None => Some(Event::Eof),
        }
    }

    /// The overflow policy, unless the framer stopped (a custom frame of unknown size): then
    /// nothing more can be read, and the stream winds down whatever the policy.
    fn after_overflow(&mut self) {
        if self.overflow == OverflowPolicy::Close || self.framer.has_stopped() {
            self.wind_down();
        }
    }

    /// Moves a flushing stream on once its queue is empty: shut down the write side, then
    /// close at the peer's EOF or after the linger time.
    fn advance_close(&mut self) {
        let flushing = match self.phase {
            Phase::Closing => true,
            Phase::Open => self.closes_when_flushed(),
            _ => false,
        };
        if !flushing || !self.writes.is_empty() {
            return;
        }
        #[cfg(feature = "tls")]
        if self.is_tls() && !self.tls_flushed() {
            return;
        }
        if self.has(flag::PEER_EOF) || self.has(flag::NO_LINGER) {
            self.finish();
        } else {
            self.framer.clear();
            self.phase = Phase::Lingering;
            self.clock.touch_write();
            self.set_flag(flag::SHUTDOWN_PENDING, true);
        }
    }

    /// When a connect times out, if it does.
    fn connect_deadline(&self) -> Option<Instant> {
        self.config
            .connect_timeout
            .map(|timeout| self.clock.last_write() + timeout)
    }

    /// When a `close` that waits for the connect to send what is queued gives up.
    fn close_while_connecting_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Connecting { then_close: true } => {
                Some(self.clock.last_read() + self.config.linger)
            }
            _ => None,
        }
    }

    /// While closing: the queue's last progress (or the shutdown) plus the linger time.
    fn linger_deadline(&self) -> Instant {
        self.clock.last_write() + self.config.linger
    }

    fn linger_due(&self, now: Instant) -> bool {
        now >= self.linger_deadline()
    }

    fn idle_deadline(&self, kind: Idle) -> Option<Instant> {
        if self.idle_fired & kind.bit() != 0 {
            return None;
        }
        let (timeout, since) = match kind {
            Idle::Read if !self.has(flag::READ_PAUSED) => {
                (self.config.read_idle_timeout?, self.clock.last_read())
            }
            Idle::Read => return None,
            Idle::Write => (self.config.write_idle_timeout?, self.clock.last_write()),
            Idle::Both => (
                self.config.idle_timeout?,
                self.clock.last_read().max(self.clock.last_write()),
            ),
        };
        Some(since + timeout)
    }

    fn has(&self, bit: u8) -> bool {
        self.flags & bit != 0
    }

    fn set_flag(&mut self, bit: u8, on: bool) {
        if on {
            self.flags |= bit;
        } else {
            self.flags &= !bit;
        }
    }

    fn take_flag(&mut self, bit: u8) -> bool {
        let set = self.has(bit);
        self.flags &= !bit;
        set
    }

    /// Fails the stream at once: `event`, then [`Event::Closed`].
    fn fail(&mut self, event: Event) {
        if self.phase != Phase::Closed {
            self.push_event(event);
            self.finish();
        }
    }

    /// Closes the stream at once: drops all buffers, orders the socket closed, queues
    /// [`Event::Closed`] as the last event.
    fn finish(&mut self) {
        if self.phase == Phase::Closed {
            return;
        }
        // Whatever drops queued bytes says how many, before `Closed`; a failed connect says
        // so itself (nothing was ever sent), with `ConnectFailed`.
        #[allow(unused_mut)]
        let mut unsent = self.writes.unsent();
        #[cfg(feature = "tls")]
        if self.is_tls() {
            unsent += self.tls_finish();
        }
        let connect_failed = matches!(self.last_rare_event(), Some(Event::ConnectFailed(_)));
        if unsent > 0 && !connect_failed {
            self.push_event(Event::Error(Error::Unsent(Unsent { bytes: unsent })));
        }
        self.drop_moot_events();
        self.phase = Phase::Closed;
        self.framer.clear();
        self.writes.clear();
        self.set_flag(flag::SHUTDOWN_PENDING, false);
        self.set_flag(flag::CLOSE_PENDING, true);
        self.push_event(Event::Closed);
    }
}

/// Bits of [`Stream::flags`].
mod flag {
    /// `Action::Shutdown` is to be handed out.
    pub(super) const SHUTDOWN_PENDING: u8 = 1;
    /// `Action::Close` is to be handed out.
    pub(super) const CLOSE_PENDING: u8 = 2;
    /// The application paused reading.
    pub(super) const READ_PAUSED: u8 = 4;
    /// The peer shut down its side (a read returned 0).
    pub(super) const PEER_EOF: u8 = 8;
    /// An overflow (under `OverflowPolicy::Close`) or a corrupt frame ended reading: no more
    /// frames, input discarded, writes still taken; the stream closes once flushed.
    pub(super) const WINDING_DOWN: u8 = 16;
    /// `Event::Eof` was handed out: with `half_open` off, the stream closes once flushed.
    pub(super) const EOF_DELIVERED: u8 = 32;
    /// A graceful stop closes this stream once flushed, without waiting for the peer's EOF.
    pub(super) const NO_LINGER: u8 = 64;
}
