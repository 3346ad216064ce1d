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
    /// A TLS stream's buffer of records, once they were all sent (`tls/layer.rs`).
    #[cfg(feature = "tls")]
    records: Vec<u8>,
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

    /// Keeps a TLS stream's emptied buffer of records, unless it grew beyond one batch (a
    /// stream that sends full records allocates and frees it about every 64 KiB: freed at the
    /// top of the heap, the allocator hands it back to the kernel and faults it in again, 40%
    /// of the CPU a TLS echo of one connection took, benches/tls.sh).
    #[cfg(feature = "tls")]
    pub(crate) fn keep_records(&mut self, mut records: Vec<u8>) {
        const RECORDS_CAPACITY: usize = 128 * 1024;
        if records.capacity() <= RECORDS_CAPACITY && records.capacity() > self.records.capacity() {
            records.clear();
            self.records = records;
        }
    }

    /// A buffer for a TLS stream's records: the one kept, if any.
    #[cfg(feature = "tls")]
    pub(crate) fn take_records(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.records)
    }

    /// Keeps a sent chunk's allocation, unless it grew large.
    pub(super) fn keep_small(&mut self, mut bytes: Vec<u8>, keep_up_to: usize) {
        if bytes.capacity() <= keep_up_to {
            bytes.clear();
            self.small = bytes;
        }
    }
}
