//! How the engine reads a stream's frames in place: the input is lent to its dispatch loop,
//! which finds each frame with the stream's delimiter of the moment and hands it to `on_read`
//! as a slice of that input, then gives back what is left. A frame the handler only looks at
//! costs no reference count and no copy.
//!
//! The rules are the stream's: frames are lent only when a frame is the next event (nothing
//! else pending, open, reading, not winding down), and what is given back is framed, settled
//! or dropped as the stream's state says by then (the handler may have paused reading, changed
//! the delimiter or closed the stream meanwhile).

use std::time::Instant;

use bytes::Bytes;

use super::{Phase, Stream, flag};
use crate::framer::{FrameAt, Lent};

impl Stream {
    /// Bytes were received, as [`handle_data`](Self::handle_data) says; they are lent back
    /// when frames can be read from them in place now, and kept by the stream otherwise.
    #[inline]
    pub(crate) fn handle_data_lent(&mut self, now: Instant, data: Bytes) -> Option<Lent> {
        let data = self.receive(now, data)?;
        if self.frames_next() {
            return self.framer.lend_received(data);
        }
        self.framer.push(data);
        None
    }

    /// Lends what the stream holds when its frames can be read in place from it.
    #[inline]
    pub(crate) fn lend(&mut self) -> Option<Lent> {
        if !self.frames_next() {
            return None;
        }
        self.framer.lend()
    }

    /// Where the next frame lies at the start of lent `input`, when it is the next event.
    /// `None` says only that [`poll_event`](Self::poll_event) must be asked, on the input given
    /// back.
    #[inline]
    pub(crate) fn frame_in(&self, input: &Lent) -> Option<FrameAt> {
        if !self.frames_next() {
            return None;
        }
        self.framer.frame_in(input)
    }

    /// Takes back what is left of lent input.
    #[inline]
    pub(crate) fn give_back(&mut self, input: Lent) {
        self.framer.give_back(input);
        if self.has(flag::READ_PAUSED) {
            // Reading was paused while the input was out: release the driver's buffer now.
            self.framer.settle();
        }
    }

    /// True when the next event is a frame, if the framer finds one: nothing else pending,
    /// open, reading.
    #[inline]
    pub(super) fn frames_next(&self) -> bool {
        !self.has_pending_events()
            && self.phase == Phase::Open
            && !self.has(flag::READ_PAUSED)
            && !self.has(flag::WINDING_DOWN)
    }
}
