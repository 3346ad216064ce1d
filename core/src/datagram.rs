//! The datagram channel: UDP or a Unix datagram socket (Pants' `Datagram`).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::addr::Addr;
use crate::delimiter::{IntoReadDelimiter, ReadDelimiter};
use crate::error::{
    DelimiterError, Error, EvictedFrame, FrameError, OverflowError, Unsent, WriteError,
};
use crate::event::Action;
use crate::framer::{Framer, ReadLimits};
use crate::write_queue::{WriteLimits, WriteStatus};

/// Something that happened on a datagram channel, for the application.
#[derive(Debug)]
#[non_exhaustive]
pub enum DatagramEvent {
    /// The socket is bound (`on_listen`).
    Listening,
    /// A datagram, or with a read delimiter a frame, arrived from `from` (`on_read`).
    Read {
        /// The datagram or frame.
        data: Bytes,
        /// Its sender.
        from: Addr,
    },
    /// The send queue became empty (`on_write`).
    Drained,
    /// A buffer went over its limit (`on_overflow_error`): a sender's frame over the read
    /// limit, or a write over the send queue's limit.
    Overflow {
        /// What went over which limit.
        error: OverflowError,
        /// The sender of the oversized frame, or where the refused datagram was to go.
        peer: Addr,
    },
    /// Sending to or receiving from `peer` failed, or a sender's unfinished frame was dropped
    /// (`on_error`). The channel stays open.
    Error {
        /// What went wrong.
        error: Error,
        /// The peer concerned, when known.
        peer: Option<Addr>,
    },
    /// The channel is closed (`on_close`); nothing follows.
    Closed,
}

/// Settings of a datagram channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatagramConfig {
    /// Limits of each sender's read buffer, when a read delimiter is set.
    pub read_limits: ReadLimits,
    /// Limits of the send queue.
    pub write_limits: WriteLimits,
    /// How many senders may have an unfinished frame buffered at once. A sender whose
    /// datagram leaves an unfinished frame when the table is full takes the place of the one
    /// heard from least recently, whose bytes are dropped and reported
    /// ([`Error::Evicted`]). A datagram that holds only whole frames needs no place.
    pub max_senders: usize,
}

impl Default for DatagramConfig {
    fn default() -> Self {
        Self {
            read_limits: ReadLimits::default(),
            write_limits: WriteLimits::default(),
            max_senders: 1024,
        }
    }
}

/// A bound datagram socket as a sans-IO state machine, driven like a
/// [`Stream`](crate::channel::Stream): inputs (`handle_*`, with the time), commands, outputs
/// (`poll_*`).
///
/// With no read delimiter, each datagram is one [`DatagramEvent::Read`] with its sender,
/// whole (up to the 64 KiB a datagram can carry). With a delimiter, each sender's bytes are
/// framed on their own, so frames never mix bytes of two senders.
#[derive(Debug)]
pub struct Datagram {
    phase: Phase,
    config: Arc<DatagramConfig>,
    delimiter: ReadDelimiter,
    /// Datagrams received and not yet turned into events, in arrival order.
    incoming: VecDeque<(Bytes, Addr)>,
    /// Senders with an unfinished frame buffered, and when each was last heard from.
    senders: HashMap<Addr, (Framer, u64)>,
    /// The sender whose frames are being delivered, and its framer (out of the table).
    current: Option<(Addr, Framer)>,
    /// Counts datagrams received: a sender's "when".
    heard: u64,
    /// Datagrams to send, and where to.
    queue: VecDeque<(Bytes, Addr)>,
    /// Bytes in `queue`, bounded by the write limits.
    queued: usize,
    events: VecDeque<DatagramEvent>,
    read_paused: bool,
    close_pending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    /// `close` was called: sending what is queued, then closing.
    Closing,
    Closed,
}

impl Datagram {
    /// A bound datagram socket: [`DatagramEvent::Listening`] is queued.
    pub fn bound(config: impl Into<Arc<DatagramConfig>>) -> Self {
        Self {
            phase: Phase::Open,
            config: config.into(),
            delimiter: ReadDelimiter::none(),
            incoming: VecDeque::new(),
            senders: HashMap::new(),
            current: None,
            heard: 0,
            queue: VecDeque::new(),
            queued: 0,
            events: VecDeque::from([DatagramEvent::Listening]),
            read_paused: false,
            close_pending: false,
        }
    }

    // ---- Inputs from the driver -------------------------------------------------------------

    /// A datagram arrived from `from`.
    pub fn handle_datagram(&mut self, _now: Instant, data: Bytes, from: Addr) {
        if self.phase == Phase::Open {
            self.incoming.push_back((data, from));
        }
    }

    /// The driver sent the datagram [`poll_transmit`](Self::poll_transmit) offered.
    pub fn handle_written(&mut self, _now: Instant) {
        if let Some((data, _)) = self.queue.pop_front() {
            self.queued -= data.len();
            self.after_send();
        }
    }

    /// Sending the datagram [`poll_transmit`](Self::poll_transmit) offered failed: it is
    /// dropped and reported; the channel carries on.
    pub fn handle_write_error(&mut self, _now: Instant, err: io::Error) {
        if let Some((data, to)) = self.queue.pop_front() {
            self.queued -= data.len();
            self.push_event(DatagramEvent::Error {
                error: Error::Io(err),
                peer: Some(to),
            });
            self.after_send();
        }
    }

    /// Receiving failed (say, an ICMP error reported on the socket); the channel carries on.
    pub fn handle_read_error(&mut self, _now: Instant, err: io::Error) {
        self.push_event(DatagramEvent::Error {
            error: Error::Io(err),
            peer: None,
        });
    }

    // ---- Commands from the application ------------------------------------------------------

    /// Queues `data` to send to `to`. Refused after [`close`](Self::close), and over the
    /// queue's hard limit (with an overflow event).
    pub fn write_to(&mut self, data: Bytes, to: Addr) -> Result<WriteStatus, WriteError> {
        match self.phase {
            Phase::Open => {}
            Phase::Closing => return Err(WriteError::Closing),
            Phase::Closed => return Err(WriteError::Closed),
        }
        let limits = self.config.write_limits;
        if let Err(error) = limits.admit(&mut self.queued, data.len()) {
            self.push_event(DatagramEvent::Overflow { error, peer: to });
            return Err(WriteError::Overflow(error));
        }
        self.queue.push_back((data, to));
        Ok(limits.status(self.queued))
    }

    /// Sets the read delimiter for every sender's buffered bytes and what follows.
    pub fn set_read_delimiter<D>(&mut self, delimiter: D) -> Result<(), DelimiterError>
    where
        D: IntoReadDelimiter,
    {
        let delimiter = delimiter.into_read_delimiter()?;
        Framer::new(self.config.read_limits).set_delimiter(delimiter.clone())?;
        let current = self.current.iter_mut().map(|(_, framer)| framer);
        for framer in current.chain(self.senders.values_mut().map(|(framer, _)| framer)) {
            framer.set_delimiter(delimiter.clone())?;
        }
        self.delimiter = delimiter;
        Ok(())
    }

    /// Stops delivering datagrams and asks the driver to stop receiving. Idempotent.
    pub fn pause_reading(&mut self) {
        self.read_paused = true;
    }

    /// Delivers and receives again. Idempotent.
    pub fn resume_reading(&mut self) {
        self.read_paused = false;
    }

    /// Closes after flushing: stops receiving, sends what is queued, then closes. Idempotent.
    pub fn close(&mut self) {
        if self.phase == Phase::Open {
            self.phase = Phase::Closing;
            self.incoming.clear();
            self.after_send();
        }
    }

    /// Closes at once, dropping what is queued (reported as [`Error::Unsent`]). Idempotent.
    pub fn close_now(&mut self) {
        if self.phase == Phase::Closed {
            return;
        }
        if self.queued > 0 {
            self.push_event(DatagramEvent::Error {
                error: Error::Unsent(Unsent {
                    bytes: self.queued as u64,
                }),
                peer: None,
            });
        }
        self.phase = Phase::Closed;
        self.incoming.clear();
        self.senders.clear();
        self.current = None;
        self.queue.clear();
        self.queued = 0;
        self.close_pending = true;
        self.events.push_back(DatagramEvent::Closed);
    }

    /// Closes at once and drops every pending event but [`DatagramEvent::Closed`] (after its
    /// handler panicked).
    pub(crate) fn abort(&mut self) {
        self.close_now();
        self.events
            .retain(|event| matches!(event, DatagramEvent::Closed));
    }

    // ---- Outputs ----------------------------------------------------------------------------

    /// The next order for the driver (only [`Action::Close`]).
    pub fn poll_action(&mut self) -> Option<Action> {
        std::mem::take(&mut self.close_pending).then_some(Action::Close)
    }

    /// The next datagram to send, and where to.
    pub fn poll_transmit(&self) -> Option<(&Bytes, &Addr)> {
        if !self.wants_write() {
            return None;
        }
        self.queue.front().map(|(data, to)| (data, to))
    }

    /// The next event for the application; [`DatagramEvent::Closed`] is the last.
    pub fn poll_event(&mut self) -> Option<DatagramEvent> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if self.phase != Phase::Open || self.read_paused {
                return None;
            }
            if self.current.is_some() {
                if let Some(event) = self.next_frame_of_current() {
                    return Some(event);
                }
                continue; // keeping its unfinished frame may have evicted another's
            }
            let (data, from) = self.incoming.pop_front()?;
            if self.delimiter.is_none() {
                return Some(DatagramEvent::Read { data, from });
            }
            self.start_framing(data, from);
        }
    }

    /// Whether the driver should receive now.
    pub fn wants_read(&self) -> bool {
        self.phase == Phase::Open && !self.read_paused
    }

    /// Whether the driver has something to send now.
    pub fn wants_write(&self) -> bool {
        self.phase != Phase::Closed && !self.queue.is_empty()
    }

    // ---- State ------------------------------------------------------------------------------

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// True when reading is paused by [`pause_reading`](Self::pause_reading).
    pub fn is_read_paused(&self) -> bool {
        self.read_paused
    }

    /// The current read delimiter.
    pub fn read_delimiter(&self) -> &ReadDelimiter {
        &self.delimiter
    }

    /// Bytes queued to send.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// How many senders have an unfinished frame buffered.
    pub fn buffered_senders(&self) -> usize {
        self.senders.len()
    }

    /// Bytes of unfinished frames buffered, over all senders.
    pub fn buffered(&self) -> usize {
        self.senders
            .values()
            .map(|(framer, _)| framer.buffered())
            .sum()
    }

    /// The settings the channel was made with.
    pub fn config(&self) -> &DatagramConfig {
        &self.config
    }

    /// Gives up the unfinished frame of the sender holding the most, as if it were over a
    /// limit of `limit` bytes (an engine over its memory budget does so):
    /// [`DatagramEvent::Overflow`] naming the sender. The bytes freed.
    pub(crate) fn give_up_frame(&mut self, limit: usize) -> usize {
        let Some(largest) = self
            .senders
            .iter()
            .max_by_key(|(_, (framer, _))| framer.buffered())
            .map(|(addr, _)| addr.clone())
        else {
            return 0;
        };
        let Some((mut framer, heard)) = self.senders.remove(&largest) else {
            return 0;
        };
        let Some(error) = framer.give_up_frame(limit) else {
            return 0;
        };
        // The rest of an announced frame is still to drop as it arrives.
        if framer.is_discarding() {
            self.senders.insert(largest.clone(), (framer, heard));
        }
        self.push_event(DatagramEvent::Overflow {
            error,
            peer: largest,
        });
        error.size()
    }

    // ---- Internals --------------------------------------------------------------------------

    fn after_send(&mut self) {
        if !self.queue.is_empty() {
            return;
        }
        match self.phase {
            Phase::Open => self.push_event(DatagramEvent::Drained),
            Phase::Closing => self.close_now(),
            Phase::Closed => {}
        }
    }

    fn push_event(&mut self, event: DatagramEvent) {
        if self.phase != Phase::Closed {
            self.events.push_back(event);
        }
    }

    /// Frames `data` from `from` next: behind what that sender has buffered, or on its own.
    fn start_framing(&mut self, data: Bytes, from: Addr) {
        self.heard += 1;
        let mut framer = match self.senders.remove(&from) {
            Some((framer, _)) => framer,
            None => {
                let mut framer = Framer::new(self.config.read_limits);
                // The delimiter was accepted by a framer with these limits when it was set.
                let _ = framer.set_delimiter(self.delimiter.clone());
                framer
            }
        };
        framer.push(data);
        self.current = Some((from, framer));
    }

    /// The next frame (or error) of the sender being framed; once it has none, its unfinished
    /// frame, if any, is buffered.
    fn next_frame_of_current(&mut self) -> Option<DatagramEvent> {
        let (from, framer) = self.current.as_mut()?;
        match framer.next_frame() {
            Some(Ok(data)) => Some(DatagramEvent::Read {
                data,
                from: from.clone(),
            }),
            Some(Err(FrameError::Overflow(error))) => Some(DatagramEvent::Overflow {
                error,
                peer: from.clone(),
            }),
            Some(Err(FrameError::Length(err))) => {
                let (from, _) = self.current.take()?;
                Some(DatagramEvent::Error {
                    error: Error::FrameLength(err),
                    peer: Some(from),
                })
            }
            None => {
                let (from, framer) = self.current.take()?;
                // Only an unfinished frame (or one being discarded) needs a place.
                if framer.buffered() > 0 || framer.is_discarding() {
                    self.keep_sender(from, framer);
                }
                None
            }
        }
    }

    /// Buffers a sender's unfinished frame, making room if the table is full by evicting the
    /// sender heard from least recently (once, and reported).
    fn keep_sender(&mut self, from: Addr, framer: Framer) {
        if self.senders.len() >= self.config.max_senders.max(1) {
            self.evict_least_recent();
        }
        self.senders.insert(from, (framer, self.heard));
    }

    fn evict_least_recent(&mut self) {
        let Some(oldest) = self
            .senders
            .iter()
            .min_by_key(|(_, (_, heard))| *heard)
            .map(|(addr, _)| addr.clone())
        else {
            return;
        };
        if let Some((mut framer, _)) = self.senders.remove(&oldest) {
            let bytes = framer.take_partial().unwrap_or_default();
            self.push_event(DatagramEvent::Error {
                error: Error::Evicted(EvictedFrame {
                    peer: oldest.clone(),
                    bytes,
                }),
                peer: Some(oldest),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> Addr {
        Addr::Ip(([127, 0, 0, 1], port).into())
    }

    fn now() -> Instant {
        Instant::now()
    }

    fn reads(datagram: &mut Datagram) -> Vec<String> {
        std::iter::from_fn(|| datagram.poll_event())
            .map(|event| match event {
                DatagramEvent::Read { data, from } => {
                    format!(
                        "{}:{}",
                        from.port().unwrap(),
                        String::from_utf8_lossy(&data)
                    )
                }
                DatagramEvent::Error { error, peer } => {
                    format!("error:{}:{error}", peer.and_then(|p| p.port()).unwrap_or(0))
                }
                DatagramEvent::Overflow { error, peer } => {
                    format!("overflow:{}:{}", peer.port().unwrap_or(0), error.size())
                }
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn delimited(max_senders: usize) -> Datagram {
        let config = DatagramConfig {
            max_senders,
            read_limits: ReadLimits::new(8, 1024).unwrap(),
            ..DatagramConfig::default()
        };
        let mut datagram = Datagram::bound(config);
        datagram.set_read_delimiter("\n").unwrap();
        datagram
    }

    #[test]
    fn a_given_up_frame_is_discarded_to_its_announced_end_as_its_sender_sends_it() {
        let mut datagram = delimited(1024);
        datagram.set_read_delimiter(10usize).unwrap();
        datagram.handle_datagram(now(), Bytes::from_static(b"1234"), addr(1));
        assert_eq!(reads(&mut datagram), ["Listening"]);
        assert_eq!(datagram.give_up_frame(4), 4);
        datagram.handle_datagram(now(), Bytes::from_static(b"567890abcdefghij"), addr(1));
        assert_eq!(
            reads(&mut datagram),
            ["overflow:1:4", "1:abcdefghij"],
            "the frame's rest is dropped, not framed"
        );
    }

    #[test]
    fn each_datagram_is_one_read_with_its_sender() {
        let mut datagram = Datagram::bound(DatagramConfig::default());
        datagram.handle_datagram(now(), Bytes::from_static(b"a\nb"), addr(1));
        datagram.handle_datagram(now(), Bytes::from_static(b"c"), addr(2));
        assert_eq!(reads(&mut datagram), ["Listening", "1:a\nb", "2:c"]);
    }

    #[test]
    fn with_a_delimiter_each_sender_has_its_own_buffer() {
        let mut datagram = delimited(1024);
        datagram.handle_datagram(now(), Bytes::from_static(b"he"), addr(1));
        datagram.handle_datagram(now(), Bytes::from_static(b"HE"), addr(2));
        datagram.handle_datagram(now(), Bytes::from_static(b"llo\n"), addr(1));
        datagram.handle_datagram(now(), Bytes::from_static(b"LLO\n"), addr(2));
        assert_eq!(reads(&mut datagram), ["Listening", "1:hello", "2:HELLO"]);
        assert_eq!(
            datagram.buffered_senders(),
            0,
            "no buffer kept once a sender is idle"
        );
    }

    #[test]
    fn the_least_recent_sender_is_evicted_with_its_own_error() {
        let mut datagram = delimited(2);
        for port in 1..=3 {
            datagram.handle_datagram(now(), Bytes::from_static(b"partial"), addr(port));
        }
        assert_eq!(
            reads(&mut datagram),
            [
                "Listening",
                "error:1:dropped 7 bytes of an unfinished frame from 127.0.0.1:1 to make room \
                 for another sender"
            ]
        );
        assert_eq!(datagram.buffered_senders(), 2);
    }

    #[test]
    fn a_datagram_of_whole_frames_evicts_no_sender_when_the_table_is_full() {
        let mut datagram = delimited(2);
        for port in 1..=2 {
            datagram.handle_datagram(now(), Bytes::from_static(b"par"), addr(port));
        }
        datagram.handle_datagram(now(), Bytes::from_static(b"whole\nlines\n"), addr(3));
        datagram.handle_datagram(now(), Bytes::from_static(b"tial\n"), addr(1));
        datagram.handle_datagram(now(), Bytes::from_static(b"tial\n"), addr(2));
        assert_eq!(
            reads(&mut datagram),
            ["Listening", "3:whole", "3:lines", "1:partial", "2:partial"],
            "nothing was evicted"
        );
    }

    #[test]
    fn an_oversized_frame_names_its_sender() {
        let mut datagram = delimited(4);
        datagram.handle_datagram(now(), Bytes::from_static(b"far too long\n"), addr(9));
        assert_eq!(reads(&mut datagram), ["Listening", "overflow:9:12"]);
    }

    #[test]
    fn send_queue_drains_in_order_and_close_closes_after_it() {
        let mut datagram = Datagram::bound(DatagramConfig::default());
        datagram
            .write_to(Bytes::from_static(b"1"), addr(1))
            .unwrap();
        datagram
            .write_to(Bytes::from_static(b"2"), addr(2))
            .unwrap();
        datagram.close();
        assert_eq!(
            datagram.write_to(Bytes::new(), addr(1)),
            Err(WriteError::Closing)
        );
        assert_eq!(
            datagram.poll_transmit().map(|(d, a)| (d.clone(), a.port())),
            Some((Bytes::from_static(b"1"), Some(1)))
        );
        datagram.handle_written(now());
        datagram.handle_write_error(now(), io::ErrorKind::Other.into());
        assert_eq!(datagram.poll_action(), Some(Action::Close));
        let events = reads(&mut datagram);
        assert!(events.last().unwrap().contains("Closed"), "{events:?}");
    }

    #[test]
    fn close_now_reports_what_it_did_not_send() {
        let mut datagram = Datagram::bound(DatagramConfig::default());
        datagram
            .write_to(Bytes::from_static(b"abc"), addr(1))
            .unwrap();
        datagram.close_now();
        assert_eq!(
            reads(&mut datagram),
            [
                "Listening",
                "error:0:closed with 3 queued bytes never sent",
                "Closed"
            ]
        );
    }

    #[test]
    fn send_queue_over_its_limit_refuses_and_reports() {
        let config = DatagramConfig {
            write_limits: WriteLimits::new(1, 3),
            ..DatagramConfig::default()
        };
        let mut datagram = Datagram::bound(config);
        assert_eq!(
            datagram.write_to(Bytes::from_static(b"12"), addr(1)),
            Ok(WriteStatus::AboveHighWater)
        );
        assert!(matches!(
            datagram.write_to(Bytes::from_static(b"34"), addr(1)),
            Err(WriteError::Overflow(_))
        ));
        assert_eq!(datagram.queued(), 2);
    }

    #[test]
    fn nothing_after_close() {
        let mut datagram = Datagram::bound(DatagramConfig::default());
        datagram.close_now();
        datagram.handle_datagram(now(), Bytes::from_static(b"x"), addr(1));
        datagram.close_now();
        assert_eq!(reads(&mut datagram), ["Listening", "Closed"]);
    }
}
