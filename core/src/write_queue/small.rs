//! A chunk of small writes copied together, and the thread's spare one.

use std::cell::Cell;

thread_local! {
    /// One sent chunk of small writes, kept for the next one on this thread: a reply sent at
    /// once (the common case) then costs no allocation.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Small writes copied one after the other, and how much of them was sent. A plain `Vec`:
/// it is written at the back and sent from the front, and never shared.
#[derive(Debug)]
pub(super) struct SmallChunk {
    bytes: Vec<u8>,
    sent: usize,
}

impl SmallChunk {
    /// An empty chunk with room for `room` bytes: the thread's spare, or a new one.
    #[inline]
    pub(super) fn with_room(room: usize) -> Self {
        let mut bytes = SPARE.take();
        bytes.reserve(room);
        Self { bytes, sent: 0 }
    }

    /// The bytes not sent yet.
    #[inline]
    pub(super) fn unsent(&self) -> &[u8] {
        &self.bytes[self.sent..]
    }

    /// How many bytes are not sent yet.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.bytes.len() - self.sent
    }

    /// How many bytes it holds, sent or not: what bounds its size, as the sent ones are not
    /// reclaimed while it lives.
    #[inline]
    pub(super) fn filled(&self) -> usize {
        self.bytes.len()
    }

    /// Copies `data` in behind what it holds.
    #[inline]
    pub(super) fn extend(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
    }

    /// Counts up to `n` more bytes sent; returns how many were counted.
    #[inline]
    pub(super) fn advance(&mut self, n: usize) -> usize {
        let taken = n.min(self.len());
        self.sent += taken;
        taken
    }

    /// Gives a sent chunk's allocation to the thread's spare, unless it grew large.
    #[inline]
    pub(super) fn recycle(mut self, keep_up_to: usize) {
        if self.bytes.capacity() <= keep_up_to {
            self.bytes.clear();
            SPARE.set(self.bytes);
        }
    }

    /// The room it has, in bytes (for the tests of spare room).
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.bytes.capacity()
    }
}
