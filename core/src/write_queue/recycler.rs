//! Allocations a drained write queue gives back, for the next writes to reuse.

use std::collections::VecDeque;

use super::Chunk;

/// Deques of at most this capacity are kept when drained.
const DEQUE_CAPACITY: usize = 16;

/// The allocations of a drained write queue, kept for the next queue that needs them: its
/// deque of chunks, and a sent chunk of small writes.
///
/// An idle stream holds no write-queue memory, so a reply that is sent at once would cost an
/// allocation and a free for the deque, and another pair for the chunk its small writes are
/// copied into: about 100 instructions, 3% of a request answered one at a time
/// (`benches/engine_instructions.sh`, `-P 1`). The engine owns one recycler for all its
/// streams and passes it to every write and every report of bytes written, so that those
/// allocations move from the queue that drained to the queue that fills next. A queue used on
/// its own (a [`Stream`](crate::channel::Stream) driven by hand) is given an empty one, and
/// simply allocates.
#[derive(Debug, Default)]
pub(crate) struct Recycler {
    pub(super) deque: VecDeque<Chunk>,
    pub(super) small: Vec<u8>,
}

impl Recycler {
    /// Keeps a drained queue's deque, unless it grew large, and leaves the queue one without
    /// memory.
    pub(super) fn keep_deque(&mut self, deque: &mut VecDeque<Chunk>) {
        debug_assert!(deque.is_empty());
        if deque.capacity() <= DEQUE_CAPACITY {
            // Swapped: what the queue gets back is most often the empty deque it swapped in
            // for this one (see `WriteQueue::queue`), which needs no drop. (Taken, and the
            // recycler's replaced, cost 35 instructions of a `SET -P 1` turn,
            // benches/engine_instructions.sh.)
            std::mem::swap(&mut self.deque, deque);
        }
        if deque.capacity() != 0 {
            *deque = VecDeque::new();
        }
    }

    /// Keeps a sent chunk's allocation, unless it grew large.
    pub(super) fn keep_small(&mut self, mut bytes: Vec<u8>, keep_up_to: usize) {
        if bytes.capacity() <= keep_up_to {
            bytes.clear();
            self.small = bytes;
        }
    }
}
