//! The write side of a channel: queued bytes and file ranges, handed to the driver in order.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::IoSlice;
use std::sync::Arc;

use bytes::{Buf, Bytes};

mod recycler;
mod small;

use crate::error::{Direction, OverflowError};
pub(crate) use recycler::Recycler;
use small::SmallChunk;

/// Bounds on the bytes a channel holds for sending.
///
/// Above the `high_water` mark (default 64 KiB) a write still succeeds but says the producer
/// should wait for the queue to drain (`on_write`). A write that would take the queue over the
/// `limit` (default 16 MiB) is refused whole. Both count bytes held in memory; file ranges are
/// sent from the file and do not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WriteLimits {
    // u32: a channel is small, and no queue of 4 GiB is held in memory.
    high_water: u32,
    limit: u32,
}

impl WriteLimits {
    /// The default high-water mark: 64 KiB.
    pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;
    /// The default hard limit: 16 MiB.
    pub const DEFAULT_LIMIT: usize = 16 * 1024 * 1024;

    /// A high-water mark and a hard limit; the mark is capped at the limit, and both at
    /// 4 GiB - 1.
    pub fn new(high_water: usize, limit: usize) -> Self {
        let cap = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Self {
            high_water: cap(high_water.min(limit)),
            limit: cap(limit),
        }
    }

    /// The queue length above which producers should wait.
    pub fn high_water(&self) -> usize {
        self.high_water as usize
    }

    /// The queue length no write may take the queue over.
    pub fn limit(&self) -> usize {
        self.limit as usize
    }

    /// Counts `len` more bytes onto a queue of `queued` bytes, unless that would take it over
    /// the limit (then nothing is counted): the rule of every queue of writes, a stream's or a
    /// datagram channel's.
    #[inline]
    pub(crate) fn admit(&self, queued: &mut usize, len: usize) -> Result<(), OverflowError> {
        let size = queued.saturating_add(len);
        if size > self.limit() {
            return Err(OverflowError {
                direction: Direction::Write,
                limit: self.limit(),
                size,
            });
        }
        *queued = size;
        Ok(())
    }

    /// Whether producers should wait, at a queue of `queued` bytes.
    #[inline]
    pub(crate) fn status(&self, queued: usize) -> WriteStatus {
        if queued > self.high_water() {
            WriteStatus::AboveHighWater
        } else {
            WriteStatus::Ready
        }
    }
}

impl Default for WriteLimits {
    fn default() -> Self {
        Self::new(Self::DEFAULT_HIGH_WATER, Self::DEFAULT_LIMIT)
    }
}

/// What a producer should do after its write was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteStatus {
    /// The queue is at or below its high-water mark: keep writing.
    Ready,
    /// The queue is above its high-water mark: wait until it drains (`on_write`).
    AboveHighWater,
}

/// A range of an open file to send, with `sendfile` where the OS has it.
#[derive(Clone)]
pub struct FileRange {
    file: Arc<File>,
    offset: u64,
    len: u64,
}

impl FileRange {
    /// `len` bytes of `file` starting at `offset`.
    pub fn new(file: Arc<File>, offset: u64, len: u64) -> Self {
        Self { file, offset, len }
    }

    /// The file to read from.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Where the unsent part of the range starts in the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many bytes of the range are still to send.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing of the range is left to send.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first `len` bytes of the range (all of it when it is shorter).
    pub(crate) fn prefix(&self, len: u64) -> Self {
        Self {
            file: self.file.clone(),
            offset: self.offset,
            len: self.len.min(len),
        }
    }
}

impl fmt::Debug for FileRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileRange")
            .field("file", &self.file)
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish()
    }
}

/// What the driver should send next; see [`WriteQueue::poll_transmit`].
#[derive(Debug)]
pub enum Transmit<'a> {
    /// Write the first `n` slices of the array given, with one vectored write.
    Vectored(usize),
    /// Send this file range (`sendfile`, or read and write where there is none).
    File(&'a FileRange),
    /// A TLS stream cannot `sendfile`: read bytes of this file range from its offset (up to
    /// one TLS record, 16 KiB, is best) and give them to `Stream::handle_file_data`, then
    /// poll again. (Kernel TLS would let `sendfile` work here; rustls can hand its keys to the
    /// kernel.) Only TLS streams (feature `tls`) ask this; the variant exists either way so
    /// that turning the feature on breaks no `match`.
    ReadFile(&'a FileRange),
}

/// Bytes and file ranges waiting to be sent, in the order they were written.
///
/// The driver takes the head of the queue with [`poll_transmit`](Self::poll_transmit), writes
/// what it can, and reports how much with [`handle_written`](Self::handle_written); partial
/// writes are normal.
///
/// Writes are queued without copying, except small ones: a write of at most 256 bytes that
/// follows another small write is copied beside it, into one chunk of up to 2 KiB, and so is
/// every small [`push_slice`](Self::push_slice). Pipelined replies are many writes of a few
/// bytes each; as one chunk they take one step to retire instead of one each, and reach the
/// socket as one slice (the kernel pays for each slice of a vectored write). The engine passes
/// its recycler along, so that a drained queue's allocations serve the next writes. The
/// limits count the bytes
/// queued, not the memory around them (a chunk's slot in the deque, a small chunk's spare
/// room and the bytes sent from it while it is queued, at most 2 KiB).
#[derive(Debug, Default)]
pub struct WriteQueue {
    chunks: VecDeque<Chunk>,
    /// Bytes held in memory (the `Bytes` chunks), the quantity the limits bound.
    in_memory: usize,
    limits: WriteLimits,
}

/// Writes of at most this many bytes are copied together (see [`WriteQueue`]).
const SMALL_WRITE: usize = 256;
/// The most bytes one chunk of copied small writes holds, counting those sent from it
/// already (they are not reclaimed while it is queued).
const SMALL_CHUNK: usize = 2048;
/// The least room a chunk of small writes starts with. It starts with twice what it holds
/// (and grows by doubling), so its spare room is at most this, or as much as it holds: like a
/// chunk's slot in the deque, overhead the limits do not count.
const SMALL_START: usize = 256;

#[derive(Debug)]
enum Chunk {
    Bytes(Bytes),
    /// Small writes, copied together.
    Small(SmallChunk),
    File(FileRange),
}

impl WriteQueue {
    /// An empty queue with the given limits.
    pub fn new(limits: WriteLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Queues `data`, unless that would take the queue over its hard limit.
    pub fn push(&mut self, data: Bytes) -> Result<WriteStatus, OverflowError> {
        self.push_recycling(data, &mut Recycler::default())
    }

    /// [`push`](Self::push), taking what memory it needs from `recycler` first.
    #[inline]
    pub(crate) fn push_recycling(
        &mut self,
        data: Bytes,
        recycler: &mut Recycler,
    ) -> Result<WriteStatus, OverflowError> {
        self.admit(data.len())?;
        if !data.is_empty() {
            let small = data.len() <= SMALL_WRITE && !self.chunks.is_empty();
            if !(small && self.append_small(&data, recycler)) {
                self.queue(recycler).push_back(Chunk::Bytes(data));
            }
        }
        Ok(self.status())
    }

    /// Queues a copy of `data`, unless that would take the queue over its hard limit: for
    /// bytes that are not a `Bytes` already, such as a reply formatted in a reused buffer.
    /// Small writes are copied beside the small writes before them, as [`push`](Self::push)
    /// copies them; making a `Bytes` of them first would cost an allocation or a reference
    /// count for nothing.
    pub fn push_slice(&mut self, data: &[u8]) -> Result<WriteStatus, OverflowError> {
        self.push_slice_recycling(data, &mut Recycler::default())
    }

    /// [`push_slice`](Self::push_slice), taking what memory it needs from `recycler` first.
    #[inline]
    pub(crate) fn push_slice_recycling(
        &mut self,
        data: &[u8],
        recycler: &mut Recycler,
    ) -> Result<WriteStatus, OverflowError> {
        self.admit(data.len())?;
        if !data.is_empty() {
            let small = data.len() <= SMALL_WRITE;
            if !(small && self.append_small(data, recycler)) {
                let chunk = if small {
                    let room = (2 * data.len()).max(SMALL_START);
                    let mut chunk = SmallChunk::with_room(room, recycler);
                    chunk.extend(data);
                    Chunk::Small(chunk)
                } else {
                    Chunk::Bytes(Bytes::copy_from_slice(data))
                };
                self.queue(recycler).push_back(chunk);
            }
        }
        Ok(self.status())
    }

    /// Counts `len` more bytes in memory, unless that would take the queue over its hard
    /// limit: then nothing is counted.
    #[inline]
    fn admit(&mut self, len: usize) -> Result<(), OverflowError> {
        self.limits.admit(&mut self.in_memory, len)
    }

    /// Copies a small write into the last chunk, when that holds small writes already (and
    /// has room) or is a small write itself. False when `data` needs a chunk of its own.
    #[inline]
    fn append_small(&mut self, data: &[u8], recycler: &mut Recycler) -> bool {
        let Some(back) = self.chunks.back_mut() else {
            return false;
        };
        let mut small = match back {
            Chunk::Small(small) if small.filled() + data.len() <= SMALL_CHUNK => {
                small.extend(data);
                return true;
            }
            Chunk::Bytes(last) if last.len() <= SMALL_WRITE => {
                let room = (2 * (last.len() + data.len())).max(SMALL_START);
                let mut small = SmallChunk::with_room(room, recycler);
                small.extend(last);
                small
            }
            _ => return false,
        };
        small.extend(data);
        *back = Chunk::Small(small);
        true
    }

    /// Queues a file range (empty ranges are ignored).
    pub fn push_file(&mut self, range: FileRange) -> WriteStatus {
        if !range.is_empty() {
            self.chunks.push_back(Chunk::File(range));
        }
        self.status()
    }

    /// Fills `slices` with the leading in-memory chunks (as many as fit), or names the file
    /// range at the head of the queue. `None` when the queue is empty.
    pub fn poll_transmit<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> Option<Transmit<'a>> {
        self.poll_transmit_within(slices, usize::MAX)
    }

    /// [`poll_transmit`](Self::poll_transmit), the slices holding at most `max` bytes (at
    /// least one, however small `max` is): a channel's share of a turn.
    pub(crate) fn poll_transmit_within<'a>(
        &'a self,
        slices: &mut [IoSlice<'a>],
        max: usize,
    ) -> Option<Transmit<'a>> {
        if let Chunk::File(range) = self.chunks.front()? {
            return Some(Transmit::File(range));
        }
        let mut left = max.max(1);
        let mut n = 0;
        for (slot, chunk) in slices.iter_mut().zip(&self.chunks) {
            let bytes = match chunk {
                Chunk::Bytes(bytes) => &bytes[..],
                Chunk::Small(small) => small.unsent(),
                Chunk::File(_) => break,
            };
            let bytes = &bytes[..bytes.len().min(left)];
            *slot = IoSlice::new(bytes);
            n += 1;
            left -= bytes.len();
            if left == 0 {
                break;
            }
        }
        Some(Transmit::Vectored(n))
    }

    /// Removes the first `n` bytes sent. Returns true when this emptied the queue.
    ///
    /// `n` must not exceed what the last [`poll_transmit`](Self::poll_transmit) offered
    /// (asserted in debug builds; excess is ignored otherwise).
    pub fn handle_written(&mut self, n: usize) -> bool {
        self.handle_written_recycling(n, &mut Recycler::default())
    }

    /// [`handle_written`](Self::handle_written), giving what memory the sent bytes held to
    /// `recycler`.
    pub(crate) fn handle_written_recycling(
        &mut self,
        mut n: usize,
        recycler: &mut Recycler,
    ) -> bool {
        let was_empty = self.chunks.is_empty();
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                debug_assert!(false, "driver reported {n} bytes written beyond the queue");
                break;
            };
            let taken = match front {
                Chunk::Bytes(bytes) => {
                    let taken = n.min(bytes.len());
                    bytes.advance(taken);
                    self.in_memory -= taken;
                    taken
                }
                Chunk::Small(small) => {
                    let taken = small.advance(n);
                    self.in_memory -= taken;
                    taken
                }
                Chunk::File(range) => {
                    let taken = (n as u64).min(range.len);
                    range.offset += taken;
                    range.len -= taken;
                    // taken <= n, a usize.
                    taken as usize
                }
            };
            n -= taken;
            let done = match front {
                Chunk::Bytes(bytes) => bytes.is_empty(),
                Chunk::Small(small) => small.len() == 0,
                Chunk::File(range) => range.is_empty(),
            };
            if done && let Some(Chunk::Small(sent)) = self.chunks.pop_front() {
                sent.recycle(2 * SMALL_CHUNK, recycler);
            }
        }
        let emptied = !was_empty && self.chunks.is_empty();
        if emptied {
            // An idle channel holds no queue memory; the deque serves the next writes.
            recycler.keep_deque(&mut self.chunks);
        }
        emptied
    }

    /// The deque to push to: the recycled one when the queue holds no memory.
    #[inline]
    fn queue(&mut self, recycler: &mut Recycler) -> &mut VecDeque<Chunk> {
        if self.chunks.capacity() == 0 {
            // Swapped rather than taken: the empty deque given back needs no drop.
            std::mem::swap(&mut self.chunks, &mut recycler.deque);
        }
        &mut self.chunks
    }

    /// Drops everything queued and releases the memory.
    pub fn clear(&mut self) {
        self.chunks = VecDeque::new();
        self.in_memory = 0;
    }

    /// Sets new limits; what is queued already stays.
    pub fn set_limits(&mut self, limits: WriteLimits) {
        self.limits = limits;
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// How many chunks are queued (a write and a file range count one each): what a vectored
    /// write of the whole queue needs in slices.
    pub fn chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Bytes queued in memory (file ranges not counted).
    pub fn in_memory(&self) -> usize {
        self.in_memory
    }

    /// The limits in force.
    pub fn limits(&self) -> WriteLimits {
        self.limits
    }

    /// Whether producers should wait, at the current queue length.
    #[inline]
    pub fn status(&self) -> WriteStatus {
        self.limits.status(self.in_memory)
    }

    /// Every byte queued and not sent yet: in memory, and left of file ranges.
    pub fn unsent(&self) -> u64 {
        let files: u64 = self
            .chunks
            .iter()
            .map(|chunk| match chunk {
                Chunk::File(range) => range.len(),
                _ => 0,
            })
            .sum();
        self.in_memory as u64 + files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(queue: &WriteQueue) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); 4];
        match queue.poll_transmit(&mut slices) {
            Some(Transmit::Vectored(n)) => slices[..n].iter().flat_map(|s| s.to_vec()).collect(),
            other => panic!("expected bytes, got {other:?}"),
        }
    }

    fn temp_file() -> Arc<File> {
        Arc::new(File::open(std::env::current_exe().unwrap()).unwrap())
    }

    #[test]
    fn chunks_are_offered_in_order_as_one_vectored_write() {
        let mut queue = WriteQueue::default();
        queue.push(Bytes::from_static(b"ab")).unwrap();
        queue.push(Bytes::from_static(b"cd")).unwrap();
        assert_eq!(sent(&queue), b"abcd");
    }

    #[test]
    fn partial_writes_resume_mid_chunk() {
        let mut queue = WriteQueue::default();
        queue.push(Bytes::from_static(b"abc")).unwrap();
        queue.push(Bytes::from_static(b"de")).unwrap();
        assert!(!queue.handle_written(2));
        assert_eq!(sent(&queue), b"cde");
        assert!(!queue.handle_written(2));
        assert_eq!(queue.in_memory(), 1);
        assert!(queue.handle_written(1));
        assert!(queue.poll_transmit(&mut []).is_none());
    }

    /// A write too large to be copied beside others: `len` bytes of `byte`.
    fn large(byte: u8, len: usize) -> Bytes {
        assert!(len > SMALL_WRITE);
        Bytes::from(vec![byte; len])
    }

    #[test]
    fn vectored_offer_stops_at_a_file_range_and_at_the_slice_count() {
        let mut queue = WriteQueue::default();
        let chunks: Vec<Bytes> = (b'a'..=b'e').map(|byte| large(byte, 300)).collect();
        for chunk in &chunks {
            queue.push(chunk.clone()).unwrap();
        }
        assert_eq!(
            sent(&queue),
            chunks[..4].concat(),
            "four slices given, four filled"
        );
        queue.push_file(FileRange::new(temp_file(), 10, 5));
        queue.push(Bytes::from_static(b"z")).unwrap();
        queue.handle_written(5 * 300);
        let Some(Transmit::File(range)) = queue.poll_transmit(&mut []) else {
            panic!()
        };
        assert_eq!((range.offset(), range.len()), (10, 5));
        queue.handle_written(3);
        let Some(Transmit::File(range)) = queue.poll_transmit(&mut []) else {
            panic!()
        };
        assert_eq!((range.offset(), range.len()), (13, 2));
        queue.handle_written(2);
        assert_eq!(sent(&queue), b"z");
    }

    #[test]
    fn small_writes_are_copied_into_one_chunk_in_order() {
        let mut queue = WriteQueue::default();
        for chunk in ["ab", "cd", "ef"] {
            queue.push(Bytes::from_static(chunk.as_bytes())).unwrap();
        }
        assert_eq!((queue.chunks(), queue.in_memory()), (1, 6));
        assert_eq!(sent(&queue), b"abcdef");
        assert!(!queue.handle_written(3));
        queue.push(Bytes::from_static(b"gh")).unwrap();
        assert_eq!(queue.chunks(), 1, "appended after a partial write");
        assert_eq!(sent(&queue), b"defgh");
        assert!(queue.handle_written(5));
        assert_eq!(queue.in_memory(), 0);
    }

    #[test]
    fn large_writes_are_queued_without_a_copy() {
        let mut queue = WriteQueue::default();
        let big = large(b'x', SMALL_WRITE + 1);
        queue.push(Bytes::from_static(b"head")).unwrap();
        queue.push(big.clone()).unwrap();
        queue.push(Bytes::from_static(b"tail")).unwrap();
        queue.push(Bytes::from_static(b"end")).unwrap();
        let mut slices = [IoSlice::new(&[]); 4];
        let Some(Transmit::Vectored(3)) = queue.poll_transmit(&mut slices) else {
            panic!("expected three chunks: head, the large write, tail and end together");
        };
        assert_eq!(
            slices[1].as_ptr(),
            big.as_ptr(),
            "the large write was copied"
        );
        assert_eq!(&*slices[2], b"tailend");
    }

    #[test]
    fn a_chunk_of_small_writes_holds_at_most_its_size() {
        let mut queue = WriteQueue::default();
        let write = Bytes::from(vec![7; SMALL_WRITE]);
        let fit = SMALL_CHUNK / SMALL_WRITE;
        for _ in 0..fit {
            queue.push(write.clone()).unwrap();
        }
        assert_eq!(queue.chunks(), 1);
        queue.push(write.clone()).unwrap();
        queue.push(write.clone()).unwrap();
        assert_eq!(queue.chunks(), 2, "a full chunk takes no more");
        assert_eq!(queue.in_memory(), (fit + 2) * SMALL_WRITE);
        assert!(queue.handle_written((fit + 2) * SMALL_WRITE));
    }

    /// The bytes sent of a chunk stay in it until it is retired: a chunk that is sent from as
    /// it is written to must still end at its size.
    #[test]
    fn a_chunk_of_small_writes_sent_while_written_stays_bounded() {
        let mut queue = WriteQueue::default();
        queue.push_slice(&[0; 100]).unwrap();
        for _ in 0..1000 {
            queue.push_slice(&[1; 100]).unwrap();
            queue.handle_written(100);
            for chunk in &queue.chunks {
                if let Chunk::Small(small) = chunk {
                    assert!(small.capacity() <= 2 * SMALL_CHUNK, "{}", small.capacity());
                }
            }
        }
        assert_eq!(queue.in_memory(), 100);
    }

    #[test]
    fn a_chunk_of_small_writes_has_little_spare_room() {
        let mut queue = WriteQueue::default();
        for _ in 0..3 {
            // Two small writes make a chunk; the large one ends it.
            queue.push(Bytes::from_static(b"a")).unwrap();
            queue.push(Bytes::from_static(b"b")).unwrap();
            queue.push(large(b'x', SMALL_WRITE + 1)).unwrap();
        }
        for _ in 0..100 {
            queue.push(Bytes::from_static(b"0123456789")).unwrap();
        }
        for chunk in &queue.chunks {
            if let Chunk::Small(small) = chunk {
                let bound = SMALL_START.max(2 * small.len());
                assert!(
                    small.capacity() <= bound,
                    "{} bytes in {}",
                    small.len(),
                    small.capacity()
                );
            }
        }
    }

    #[test]
    fn copied_writes_join_the_small_writes_around_them_in_order() {
        let mut queue = WriteQueue::default();
        queue.push_slice(b"ab").unwrap();
        queue.push(Bytes::from_static(b"cd")).unwrap();
        queue.push_slice(b"ef").unwrap();
        assert_eq!((queue.chunks(), queue.in_memory()), (1, 6));
        assert_eq!(sent(&queue), b"abcdef");
        let big = large(b'x', SMALL_WRITE + 1);
        queue.push_slice(&big).unwrap();
        queue.push_slice(b"gh").unwrap();
        assert_eq!(queue.chunks(), 3, "a large copy is a chunk of its own");
        let mut slices = [IoSlice::new(&[]); 4];
        let Some(Transmit::Vectored(3)) = queue.poll_transmit(&mut slices) else {
            panic!("expected the small writes, the large one, and the last one");
        };
        assert_eq!(&*slices[1], &big[..]);
        assert_ne!(slices[1].as_ptr(), big.as_ptr(), "copied");
        assert!(queue.handle_written(6 + big.len() + 2));
    }

    /// Where the first chunk's bytes are, when it is a chunk of small writes.
    fn small_front(queue: &WriteQueue) -> *const u8 {
        match queue.chunks.front() {
            Some(Chunk::Small(small)) => small.unsent().as_ptr(),
            other => panic!("expected a chunk of small writes, got {other:?}"),
        }
    }

    #[test]
    fn a_sent_chunk_of_small_writes_serves_the_next_one_through_the_recycler() {
        let mut recycler = Recycler::default();
        let mut queue = WriteQueue::default();
        queue.push_slice_recycling(b"first", &mut recycler).unwrap();
        let first = small_front(&queue);
        assert!(queue.handle_written_recycling(5, &mut recycler));
        let mut other = WriteQueue::default();
        other
            .push_slice_recycling(b"second", &mut recycler)
            .unwrap();
        assert_eq!(small_front(&other), first, "the allocation was reused");
        assert_eq!(sent(&other), b"second");
    }

    #[test]
    fn a_drained_queue_holds_no_deque_and_the_recycler_keeps_one() {
        let mut recycler = Recycler::default();
        let (mut one, mut two) = (WriteQueue::default(), WriteQueue::default());
        for queue in [&mut one, &mut two] {
            queue
                .push_recycling(Bytes::from_static(b"reply"), &mut recycler)
                .unwrap();
        }
        for queue in [&mut one, &mut two] {
            assert!(queue.handle_written_recycling(5, &mut recycler));
            assert_eq!(
                queue.chunks.capacity(),
                0,
                "a drained queue holds no memory"
            );
        }
        assert_ne!(recycler.deque.capacity(), 0, "kept for the next writes");
    }

    #[test]
    fn a_copied_write_over_the_limit_is_refused_whole() {
        let mut queue = WriteQueue::new(WriteLimits::new(4, 6));
        queue.push_slice(b"1234").unwrap();
        let err = queue.push_slice(b"567").unwrap_err();
        assert_eq!((err.limit(), err.size()), (6, 7));
        assert_eq!(queue.in_memory(), 4);
        assert_eq!(queue.push_slice(b"56"), Ok(WriteStatus::AboveHighWater));
        assert_eq!(sent(&queue), b"123456");
    }

    #[test]
    fn high_water_mark_asks_producers_to_wait() {
        let mut queue = WriteQueue::new(WriteLimits::new(4, 100));
        assert_eq!(
            queue.push(Bytes::from_static(b"1234")),
            Ok(WriteStatus::Ready)
        );
        assert_eq!(
            queue.push(Bytes::from_static(b"5")),
            Ok(WriteStatus::AboveHighWater)
        );
        queue.handle_written(1);
        assert_eq!(queue.status(), WriteStatus::Ready);
    }

    #[test]
    fn write_over_the_limit_is_refused_whole() {
        let mut queue = WriteQueue::new(WriteLimits::new(4, 6));
        queue.push(Bytes::from_static(b"1234")).unwrap();
        let err = queue.push(Bytes::from_static(b"567")).unwrap_err();
        assert_eq!(
            (err.direction(), err.limit(), err.size()),
            (Direction::Write, 6, 7)
        );
        assert_eq!(
            queue.in_memory(),
            4,
            "nothing of the refused write was queued"
        );
    }

    #[test]
    fn file_ranges_do_not_count_against_memory_limits() {
        let mut queue = WriteQueue::new(WriteLimits::new(1, 1));
        assert_eq!(
            queue.push_file(FileRange::new(temp_file(), 0, 1 << 30)),
            WriteStatus::Ready
        );
    }

    #[test]
    fn a_long_queue_returns_its_memory_once_drained() {
        let mut queue = WriteQueue::default();
        for _ in 0..100 {
            queue.push(Bytes::from_static(b"x")).unwrap();
        }
        assert!(queue.handle_written(100));
        assert_eq!(queue.chunks.capacity(), 0);
    }
}
