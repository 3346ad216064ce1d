//! A chunk of small writes copied together.

use super::recycler::Recycler;

/// Small writes copied one after the other, and how much of them was sent. A plain `Vec`:
/// it is written at the back and sent from the front, and never shared.
#[derive(Debug)]
pub(super) struct SmallChunk {
    bytes: Vec<u8>,
    sent: usize,
}

impl SmallChunk {
    /// An empty chunk with room for `room` bytes: the recycled one, or a new one.
    #[inline]
    pub(super) fn with_room(room: usize, recycler: &mut Recycler) -> Self {
        let mut bytes = std::mem::take(&mut recycler.small);
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

    /// Gives a sent chunk's allocation to `recycler`, unless it grew large.
    #[inline]
    pub(super) fn recycle(self, keep_up_to: usize, recycler: &mut Recycler) {
        recycler.keep_small(self.bytes, keep_up_to);
    }

    /// The room it has, in bytes (for the tests of spare room).
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.bytes.capacity()
    }
}
