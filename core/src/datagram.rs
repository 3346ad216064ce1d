//! The datagram channel: UDP or a Unix datagram socket (Pants' `Datagram`).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::Arc;

use bytes::Bytes;

use crate::addr::Addr;
use crate::delimiter::{IntoReadDelimiter, ReadDelimiter};
use crate::error::{
    DelimiterError, Direction, Error, FrameError, OverflowError, TruncatedFrame, WriteError,
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
    /// A buffer went over its limit (`on_overflow_error`).
    Overflow(OverflowError),
    /// Sending to or receiving from `peer` failed, or a sender's partial frame was dropped
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
    /// How many senders may have a partial frame buffered at once; a new sender beyond this
    /// evicts the one heard from least recently (its partial frame is reported and dropped).
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

/// A bound datagram socket as a sans-IO state machine.
///
/// With no read delimiter, each datagram is one [`DatagramEvent::Read`] with its sender,
/// whole (up to the 64 KiB a datagram can carry). With a delimiter, each sender gets its own
/// read buffer, so frames never mix bytes of two senders.
#[derive(Debug)]
pub struct Datagram {
    phase: Phase,
    config: Arc<DatagramConfig>,
    delimiter: ReadDelimiter,
    /// Datagrams received and not yet turned into events, in arrival order.
    incoming: VecDeque<(Bytes, Addr)>,
    /// Senders with bytes buffered, and when each was last heard from.
    senders: HashMap<Addr, (Framer, u64)>,
    /// The sender whose frames are being delivered.
    current: Option<Addr>,
    heard: u64,
    queue: VecDeque<(Bytes, Addr)>,
    queued: usize,
    events: VecDeque<DatagramEvent>,
    read_paused: bool,
    close_pending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    /// `end` was called: sending what is queued, then closing.
    Ending,
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
    pub fn handle_datagram(&mut self, data: Bytes, from: Addr) {
        if self.phase == Phase::Open {
            self.incoming.push_back((data, from));
        }
    }

    /// The head of the send queue was sent.
    pub fn handle_sent(&mut self) {
        if let Some((data, _)) = self.queue.pop_front() {
            self.queued -= data.len();
            self.after_send();
        }
    }

    /// Sending the head of the send queue failed: it is dropped and reported; the channel
    /// carries on.
    pub fn handle_send_error(&mut self, err: io::Error) {
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
    pub fn handle_recv_error(&mut self, err: io::Error) {
        self.push_event(DatagramEvent::Error {
            error: Error::Io(err),
            peer: None,
        });
    }

    // ---- Commands from the application ------------------------------------------------------

    /// Queues `data` to send to `to`. Refused after [`end`](Self::end) or
    /// [`close`](Self::close), and over the queue's hard limit (with an overflow event).
    pub fn write_to(&mut self, data: Bytes, to: Addr) -> Result<WriteStatus, WriteError> {
        if self.phase != Phase::Open {
            return Err(WriteError::Closed);
        }
        let limits = self.config.write_limits;
        let size = self.queued.saturating_add(data.len());
        if size > limits.limit() {
            let err = OverflowError {
                direction: Direction::Write,
                limit: limits.limit(),
                size,
            };
            self.push_event(DatagramEvent::Overflow(err));
            return Err(WriteError::Overflow(err));
        }
        self.queued = size;
        self.queue.push_back((data, to));
        Ok(if size > limits.high_water() {
            WriteStatus::AboveHighWater
        } else {
            WriteStatus::Ready
        })
    }

    /// Sets the read delimiter for every sender's buffered bytes and what follows.
    pub fn set_read_delimiter<D>(&mut self, delimiter: D) -> Result<(), DelimiterError>
    where
        D: IntoReadDelimiter,
    {
        let delimiter = delimiter.into_read_delimiter()?;
        Framer::new(self.config.read_limits).set_delimiter(delimiter.clone())?;
        for (framer, _) in self.senders.values_mut() {
            framer.set_delimiter(delimiter.clone())?;
        }
        self.delimiter = delimiter;
        Ok(())
    }

    /// Stops delivering datagrams and asks the driver to stop receiving. Idempotent.
    pub fn pause_reading(&mut self) {
        self.read_paused = true;
    }

    /// True when reading is paused by [`pause_reading`](Self::pause_reading).
    pub fn is_read_paused(&self) -> bool {
        self.read_paused
    }

    /// Delivers and receives again. Idempotent.
    pub fn resume_reading(&mut self) {
        self.read_paused = false;
    }

    /// Stops receiving, sends what is queued, then closes. Idempotent.
    pub fn end(&mut self) {
        if self.phase == Phase::Open {
            self.phase = Phase::Ending;
            self.incoming.clear();
            self.after_send();
        }
    }

    /// Closes at once, dropping what is queued. Idempotent.
    pub fn close(&mut self) {
        if self.phase == Phase::Closed {
            return;
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
        self.close();
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
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        if self.phase != Phase::Open || self.read_paused {
            return None;
        }
        loop {
            // Buffering a datagram may have evicted a sender, which queues an event.
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if let Some(event) = self.next_frame_of_current() {
                return Some(event);
            }
            let (data, from) = self.incoming.pop_front()?;
            if self.delimiter.is_none() {
                return Some(DatagramEvent::Read { data, from });
            }
            self.buffer_from(data, from);
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

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Bytes queued to send.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// How many senders have bytes buffered.
    pub fn buffered_senders(&self) -> usize {
        self.senders.len()
    }

    // ---- Internals --------------------------------------------------------------------------

    fn after_send(&mut self) {
        if !self.queue.is_empty() {
            return;
        }
        match self.phase {
            Phase::Open => self.push_event(DatagramEvent::Drained),
            Phase::Ending => self.close(),
            Phase::Closed => {}
        }
    }

    fn push_event(&mut self, event: DatagramEvent) {
        if self.phase != Phase::Closed {
            self.events.push_back(event);
        }
    }

    /// Pushes a datagram into its sender's buffer, making room by evicting the sender heard
    /// from least recently.
    fn buffer_from(&mut self, data: Bytes, from: Addr) {
        self.heard += 1;
        if !self.senders.contains_key(&from) && self.senders.len() >= self.config.max_senders {
            self.evict_oldest();
        }
        let (framer, heard) = self.senders.entry(from.clone()).or_insert_with(|| {
            let mut framer = Framer::new(self.config.read_limits);
            // The delimiter was accepted by a framer with these limits when it was set.
            let _ = framer.set_delimiter(self.delimiter.clone());
            (framer, 0)
        });
        *heard = self.heard;
        framer.push(data);
        self.current = Some(from);
    }

    fn evict_oldest(&mut self) {
        let Some(oldest) = self
            .senders
            .iter()
            .min_by_key(|(_, (_, heard))| *heard)
            .map(|(a, _)| a.clone())
        else {
            return;
        };
        if let Some((mut framer, _)) = self.senders.remove(&oldest)
            && let Some(bytes) = framer.take_partial()
        {
            let error = Error::TruncatedFrame(TruncatedFrame { bytes });
            self.push_event(DatagramEvent::Error {
                error,
                peer: Some(oldest),
            });
        }
    }

    fn next_frame_of_current(&mut self) -> Option<DatagramEvent> {
        let from = self.current.clone()?;
        let Some((framer, _)) = self.senders.get_mut(&from) else {
            self.current = None;
            return None;
        };
        match framer.next_frame() {
            Some(Ok(data)) => Some(DatagramEvent::Read { data, from }),
            Some(Err(FrameError::Overflow(err))) => Some(DatagramEvent::Overflow(err)),
            Some(Err(FrameError::Length(err))) => {
                self.senders.remove(&from);
                self.current = None;
                Some(DatagramEvent::Error {
                    error: Error::FrameLength(err),
                    peer: Some(from),
                })
            }
            None => {
                // A sender with nothing buffered needs no buffer (unless it is mid-discard).
                if framer.buffered() == 0 && !framer.is_discarding() {
                    self.senders.remove(&from);
                }
                self.current = None;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> Addr {
        Addr::Ip(([127, 0, 0, 1], port).into())
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
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn each_datagram_is_one_read_with_its_sender() {
        let mut datagram = Datagram::bound(DatagramConfig::default());
        datagram.handle_datagram(Bytes::from_static(b"a\nb"), addr(1));
        datagram.handle_datagram(Bytes::from_static(b"c"), addr(2));
        assert_eq!(reads(&mut datagram), ["Listening", "1:a\nb", "2:c"]);
    }

    #[test]
    fn with_a_delimiter_each_sender_has_its_own_buffer() {
        let mut datagram = Datagram::bound(DatagramConfig::default());
        datagram.set_read_delimiter("\n").unwrap();
        datagram.handle_datagram(Bytes::from_static(b"he"), addr(1));
        datagram.handle_datagram(Bytes::from_static(b"HE"), addr(2));
        datagram.handle_datagram(Bytes::from_static(b"llo\n"), addr(1));
        datagram.handle_datagram(Bytes::from_static(b"LLO\n"), addr(2));
        assert_eq!(reads(&mut datagram), ["Listening", "1:hello", "2:HELLO"]);
        assert_eq!(
            datagram.buffered_senders(),
            0,
            "no buffer kept once a sender is idle"
        );
    }

    #[test]
    fn the_oldest_sender_is_evicted_and_its_partial_frame_reported() {
        let config = DatagramConfig {
            max_senders: 2,
            ..DatagramConfig::default()
        };
        let mut datagram = Datagram::bound(config);
        datagram.set_read_delimiter("\n").unwrap();
        for port in 1..=3 {
            datagram.handle_datagram(Bytes::from_static(b"partial"), addr(port));
        }
        assert_eq!(
            reads(&mut datagram),
            [
                "Listening",
                "error:1:peer closed in the middle of a frame (7 bytes received)"
            ]
        );
        assert_eq!(datagram.buffered_senders(), 2);
    }

    #[test]
    fn send_queue_drains_in_order_and_end_closes_after_it() {
        let mut datagram = Datagram::bound(DatagramConfig::default());
        datagram
            .write_to(Bytes::from_static(b"1"), addr(1))
            .unwrap();
        datagram
            .write_to(Bytes::from_static(b"2"), addr(2))
            .unwrap();
        datagram.end();
        assert_eq!(
            datagram.write_to(Bytes::new(), addr(1)),
            Err(WriteError::Closed)
        );
        assert_eq!(
            datagram.poll_transmit().map(|(d, a)| (d.clone(), a.port())),
            Some((Bytes::from_static(b"1"), Some(1)))
        );
        datagram.handle_sent();
        datagram.handle_send_error(io::ErrorKind::Other.into());
        assert_eq!(datagram.poll_action(), Some(Action::Close));
        let events = reads(&mut datagram);
        assert!(events.last().unwrap().contains("Closed"), "{events:?}");
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
        datagram.close();
        datagram.handle_datagram(Bytes::from_static(b"x"), addr(1));
        datagram.close();
        assert_eq!(reads(&mut datagram), ["Listening", "Closed"]);
    }
}
