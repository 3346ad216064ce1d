//! The read buffer behind a [`Framer`](super::Framer): one logical byte string made of bytes the
//! channel owns (`pending`) followed by the latest input it has not parsed yet (`input`).
//!
//! Frames are cut from `input` without copying whenever no partial frame is pending. Only the
//! bytes of a frame that spans two inputs are copied into `pending`, and `pending` is dropped as
//! soon as it empties, so an idle channel owns no allocation.

use std::cell::Cell;
use std::mem;

use bytes::{Buf, Bytes, BytesMut};

use crate::delimiter::Needle;
use crate::error::FrameLengthError;
use crate::length_prefix::LengthPrefix;
#[cfg(feature = "regex")]
use crate::regex_delimiter::RegexDelimiter;

/// A frame at the start of `input` ending at `search`, within `limit`: `(length, length +
/// delimiter)`. The search of every frame cut from a contiguous input, lent or not.
#[inline]
pub(super) fn find_in(input: &[u8], search: &impl Needle, limit: usize) -> Option<(usize, usize)> {
    let d = search.needle().len();
    let window = input.len().min(limit.saturating_add(d));
    // A match inside the window starts at or before `limit`: the frame is within it.
    let len = search.find(&input[..window])?;
    Some((len, len + d))
}

/// Where the next frame lies in the logical buffer, as the search found it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Located {
    /// The frame is `[skip, skip + len)`; the first `end` bytes are consumed by it.
    Frame { skip: usize, len: usize, end: usize },
    /// The frame is certainly over the limit. `size` is its length as far as known; `frame_end`
    /// is where it ends when the delimiter says so in advance (length prefix).
    Overflow { size: usize, frame_end: Option<u64> },
    /// No complete frame; searches may resume at `scan_from` once more bytes arrive.
    NeedMore { scan_from: usize },
    /// The peer sent a length prefix that describes no frame.
    Invalid(FrameLengthError),
}

/// The read buffer. Its parts live in a box only while it holds bytes, so an idle channel
/// pays one pointer for it.
#[derive(Default)]
pub(super) struct ReadBuf(Option<Box<Parts>>);

thread_local! {
    /// One released box of parts, kept for the next read on this thread: a read that is
    /// framed at once (the common case) then costs no allocation.
    static SPARE: Cell<Option<Box<Parts>>> = const { Cell::new(None) };
}

impl ReadBuf {
    /// Appends `data` behind everything buffered.
    pub(super) fn push(&mut self, data: Bytes) {
        if !data.is_empty() {
            self.parts().push(data);
        }
    }

    /// The parts, from the spare box or a new one.
    fn parts(&mut self) -> &mut Parts {
        self.0
            .get_or_insert_with(|| SPARE.take().unwrap_or_default())
    }

    /// Releases the driver's buffer (see [`Parts::settle`]), and the box once empty.
    pub(super) fn settle(&mut self) {
        if let Some(parts) = &mut self.0 {
            parts.settle();
        }
        self.release_if_empty();
    }

    pub(super) fn clear(&mut self) {
        self.0 = None;
    }

    pub(super) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |parts| parts.len())
    }

    pub(super) fn set_scan_from(&mut self, scan_from: usize) {
        if let Some(parts) = &mut self.0 {
            parts.scan_from = scan_from;
        }
    }

    /// True when the buffer holds an allocation of its own (a partial frame is pending).
    pub(super) fn holds_allocation(&self) -> bool {
        self.0.is_some()
    }

    pub(super) fn take_all(&mut self) -> Bytes {
        self.0
            .take()
            .map_or_else(Bytes::new, |mut parts| parts.take_all())
    }

    pub(super) fn take_chunk(&mut self) -> Option<Bytes> {
        let chunk = self.0.as_mut()?.take_chunk();
        self.release_if_empty();
        chunk
    }

    pub(super) fn consume(&mut self, n: usize) {
        if let Some(parts) = &mut self.0 {
            parts.consume(n);
        }
        self.release_if_empty();
    }

    pub(super) fn extract(&mut self, skip: usize, len: usize, end: usize) -> Bytes {
        // A located frame lies within buffered bytes, so the parts exist.
        let frame = self
            .0
            .as_mut()
            .map_or_else(Bytes::new, |parts| parts.extract(skip, len, end));
        self.release_if_empty();
        frame
    }

    #[inline]
    pub(super) fn cut_from_input(&mut self, search: &impl Needle, limit: usize) -> Option<Bytes> {
        let frame = self.0.as_mut()?.cut_from_input(search, limit)?;
        self.release_if_empty();
        Some(frame)
    }

    /// [`cut_from_input`](Self::cut_from_input) for a count delimiter.
    #[inline]
    pub(super) fn cut_count_from_input(&mut self, n: usize) -> Option<Bytes> {
        let frame = self.0.as_mut()?.cut_count_from_input(n)?;
        self.release_if_empty();
        Some(frame)
    }

    /// Lends the unparsed input, when no partial frame is pending: frames are then read in
    /// place from it, and what is left of it goes back with [`give_back`](Self::give_back).
    /// The parts stay, so `give_back` finds them.
    #[inline]
    pub(super) fn lend_input(&mut self) -> Option<Bytes> {
        let parts = self.0.as_mut()?;
        if !parts.pending.is_empty() || parts.input.is_empty() {
            return None;
        }
        Some(mem::take(&mut parts.input))
    }

    /// Takes back what is left of the input [`lend_input`](Self::lend_input) lent, in front
    /// of whatever was pushed meanwhile.
    #[inline]
    pub(super) fn give_back(&mut self, input: Bytes) {
        match &mut self.0 {
            Some(parts) if parts.len() == 0 => parts.input = input,
            _ => self.give_back_in_front(input),
        }
        self.release_if_empty();
    }

    /// [`give_back`](Self::give_back) when the parts were released (a settle) or bytes were
    /// pushed while the input was lent: it goes in front of them, copied.
    #[cold]
    fn give_back_in_front(&mut self, input: Bytes) {
        if input.is_empty() {
            return;
        }
        let parts = self.parts();
        let mut pending = BytesMut::with_capacity(input.len() + parts.len());
        pending.extend_from_slice(&input);
        pending.extend_from_slice(&parts.pending);
        pending.extend_from_slice(&parts.input);
        parts.pending = pending;
        parts.input = Bytes::new();
        parts.scan_from = 0;
    }

    /// Drops the parts once nothing is buffered and nothing is left to discard (they may still
    /// refer to the driver's buffer through an empty slice).
    #[inline]
    fn release_if_empty(&mut self) {
        if self
            .0
            .as_ref()
            .is_some_and(|parts| parts.len() == 0 && parts.discard == 0)
        {
            self.release();
        }
    }

    /// Gives the parts back to the thread's spare (the check is inlined, this is not: once
    /// a read, against once a frame).
    #[inline(never)]
    fn release(&mut self) {
        if let Some(mut parts) = self.0.take() {
            // Emptied parts may hold an empty slice of the driver's buffer: let go of it.
            *parts = Parts::default();
            SPARE.set(Some(parts));
        }
    }

    /// Counts down `n` bytes of an oversized announced frame to drop as they arrive.
    pub(super) fn set_discard(&mut self, n: u64) {
        self.parts().discard = n;
    }

    /// Forgets the rest of an announced frame that was being discarded.
    pub(super) fn end_discard(&mut self) {
        if let Some(parts) = &mut self.0 {
            parts.discard = 0;
        }
        self.release_if_empty();
    }

    /// Drops what is buffered of the frame being discarded; true once all of it is gone.
    pub(super) fn discard_announced(&mut self) -> bool {
        let Some(parts) = &mut self.0 else {
            return true;
        };
        let n = parts.discard.min(parts.len() as u64);
        // n <= the buffered length, a usize.
        parts.consume(n as usize);
        parts.discard -= n;
        let done = parts.discard == 0;
        self.release_if_empty();
        done
    }

    pub(super) fn locate_bytes(
        &mut self,
        search: &impl Needle,
        skip: usize,
        limit: Option<usize>,
    ) -> Located {
        match &mut self.0 {
            Some(parts) => parts.locate_bytes(search, skip, limit),
            None => Parts::not_found(0, skip, search.needle().len(), limit),
        }
    }

    #[cfg(feature = "regex")]
    pub(super) fn locate_regex(&mut self, regex: &RegexDelimiter, limit: Option<usize>) -> Located {
        match &mut self.0 {
            Some(parts) => parts.locate_regex(regex, limit),
            None => Parts::not_found(0, 0, regex.max_len(), limit),
        }
    }

    pub(super) fn locate_count(&self, n: usize) -> Located {
        self.0
            .as_ref()
            .map_or(Located::NeedMore { scan_from: 0 }, |parts| {
                parts.locate_count(n)
            })
    }

    pub(super) fn locate_prefix(&self, prefix: &LengthPrefix, hard_limit: usize) -> Located {
        match &self.0 {
            Some(parts) => parts.locate_prefix(prefix, hard_limit),
            None => Located::NeedMore { scan_from: 0 },
        }
    }
}

#[derive(Default)]
struct Parts {
    /// Bytes of a partial frame, owned by the channel. Never holds an allocation while empty.
    pending: BytesMut,
    /// The unparsed rest of the latest input, shared with the buffer the driver read into.
    input: Bytes,
    /// In `pending`, no delimiter match starts before this offset (searches resume here).
    scan_from: usize,
    /// Bytes still to drop of an oversized announced frame.
    discard: u64,
}

impl Parts {
    /// Appends `data` behind everything buffered.
    fn push(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        if !self.input.is_empty() {
            self.settle();
        }
        self.input = data;
    }

    /// Moves unparsed input into `pending`, releasing the driver's buffer; drops an empty
    /// `pending` allocation.
    fn settle(&mut self) {
        if self.input.is_empty() {
            // An empty slice still holds a reference to the driver's buffer: let go of it.
            self.input = Bytes::new();
        } else {
            if self.pending.is_empty() {
                self.pending = BytesMut::from(&self.input[..]);
            } else {
                self.pending.extend_from_slice(&self.input);
            }
            self.input = Bytes::new();
        }
        if self.pending.is_empty() {
            self.pending = BytesMut::new();
        }
    }

    fn len(&self) -> usize {
        self.pending.len() + self.input.len()
    }

    /// Takes everything buffered as one frame.
    fn take_all(&mut self) -> Bytes {
        self.settle();
        self.scan_from = 0;
        mem::take(&mut self.pending).freeze()
    }

    /// Takes the next chunk as it arrived: what is pending together with the input behind it,
    /// or else the input alone, without copying.
    fn take_chunk(&mut self) -> Option<Bytes> {
        self.scan_from = 0;
        if !self.pending.is_empty() {
            return Some(self.take_all());
        }
        if !self.input.is_empty() {
            return Some(mem::take(&mut self.input));
        }
        None
    }

    /// Drops the first `n` bytes.
    fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.scan_from = 0;
        let from_pending = n.min(self.pending.len());
        if from_pending == self.pending.len() {
            self.pending = BytesMut::new();
        } else {
            self.pending.advance(from_pending);
        }
        self.input.advance(n - from_pending);
    }

    /// Removes the frame `[skip, skip + len)` and the rest of its `end` bytes, returning the
    /// frame. Zero-copy when nothing is pending; otherwise the frame is completed in `pending`,
    /// whose allocation the frame then takes over.
    fn extract(&mut self, skip: usize, len: usize, end: usize) -> Bytes {
        debug_assert!(skip + len <= end && end <= self.len());
        self.scan_from = 0;
        if self.pending.is_empty() {
            let frame = self.input.slice(skip..skip + len);
            self.input.advance(end);
            return frame;
        }
        let upto = skip + len;
        if upto > self.pending.len() {
            let need = upto - self.pending.len();
            self.pending.extend_from_slice(&self.input[..need]);
            self.input.advance(need);
        }
        let mut frame = if upto == self.pending.len() {
            mem::take(&mut self.pending)
        } else {
            self.pending.split_to(upto)
        };
        frame.advance(skip);
        self.consume(end - upto);
        frame.freeze()
    }

    /// The common case, kept short: with nothing pending, cuts a byte-string frame straight
    /// from the input. `None` when the general path must decide.
    #[inline]
    fn cut_from_input(&mut self, search: &impl Needle, limit: usize) -> Option<Bytes> {
        if !self.pending.is_empty() {
            return None;
        }
        let (len, used) = find_in(&self.input, search, limit)?;
        let frame = self.input.split_to(len);
        self.input.advance(used - len);
        Some(frame)
    }

    /// The common case for a count delimiter: with nothing pending, the next `n` bytes of the
    /// input, if they are all here.
    #[inline]
    fn cut_count_from_input(&mut self, n: usize) -> Option<Bytes> {
        if !self.pending.is_empty() || self.input.len() < n {
            return None;
        }
        Some(self.input.split_to(n))
    }

    /// Finds the first `search` match starting at or after `skip`, when the `skip` bytes before
    /// it end with a match (they are the frame alone when they do not). With a `limit`, only
    /// matches starting at or before `skip + limit` count, and their absence is an overflow
    /// once `skip + limit + delimiter length` bytes are here.
    fn locate_bytes(&mut self, search: &impl Needle, skip: usize, limit: Option<usize>) -> Located {
        let d = search.needle().len();
        let total = self.len();
        if total < skip {
            return Located::NeedMore { scan_from: skip };
        }
        // `after` makes sure that a body holds the delimiter.
        if skip > 0 && !self.holds_at(skip - d, search.needle()) {
            return Located::Frame {
                skip: 0,
                len: skip,
                end: skip,
            };
        }
        let window = limit.map_or(total, |limit| {
            total.min(skip.saturating_add(limit).saturating_add(d))
        });
        let old = self.pending.len();
        if old > 0 {
            // Matches starting in `pending`: borrow the first d-1 input bytes for the ones
            // that straddle into the input, then give them back.
            let start = self.scan_from.max(skip).min(old);
            let probe = (d - 1)
                .min(self.input.len())
                .min(window.saturating_sub(old));
            self.pending.extend_from_slice(&self.input[..probe]);
            let end = (old + probe).min(window);
            let found = if start < end {
                search.find(&self.pending[start..end])
            } else {
                None
            };
            self.pending.truncate(old);
            if let Some(at) = found {
                return Located::Frame {
                    skip: 0,
                    len: start + at,
                    end: start + at + d,
                };
            }
            let from = skip.saturating_sub(old);
            if window > old + from
                && let Some(at) = search.find(&self.input[from..window - old])
            {
                return Located::Frame {
                    skip: 0,
                    len: old + from + at,
                    end: old + from + at + d,
                };
            }
        } else if let Some(at) = search.find(&self.input[skip..window]) {
            return Located::Frame {
                skip: 0,
                len: skip + at,
                end: skip + at + d,
            };
        }
        Self::not_found(total, skip, d, limit)
    }

    /// Finds the first `regex` match; see [`locate_bytes`](Self::locate_bytes) for `limit`.
    #[cfg(feature = "regex")]
    fn locate_regex(&mut self, regex: &RegexDelimiter, limit: Option<usize>) -> Located {
        let m = regex.max_len();
        let total = self.len();
        let window = limit.map_or(total, |limit| total.min(limit.saturating_add(m)));
        if self.pending.is_empty() {
            if let Some((start, end)) = regex.find_at(&self.input[..window], 0) {
                return Located::Frame {
                    skip: 0,
                    len: start,
                    end,
                };
            }
        } else {
            // Regex matches may look around them: search one contiguous copy of the window.
            let take = window
                .saturating_sub(self.pending.len())
                .min(self.input.len());
            self.pending.extend_from_slice(&self.input[..take]);
            self.input.advance(take);
            let end = window.min(self.pending.len());
            let start = self.scan_from.min(end);
            if let Some((start, end)) = regex.find_at(&self.pending[..end], start) {
                return Located::Frame {
                    skip: 0,
                    len: start,
                    end,
                };
            }
        }
        Self::not_found(total, 0, m, limit)
    }

    /// No match after the first `skip` of `total` bytes: an overflow once more than `skip +
    /// limit` bytes are here without one, else a search resumes where a match may start.
    fn not_found(total: usize, skip: usize, max_match: usize, limit: Option<usize>) -> Located {
        match limit {
            Some(limit) if total >= skip.saturating_add(limit).saturating_add(max_match) => {
                Located::Overflow {
                    size: total,
                    frame_end: None,
                }
            }
            _ => Located::NeedMore {
                scan_from: total.saturating_sub(max_match - 1).max(skip),
            },
        }
    }

    /// A frame of exactly `n` bytes.
    fn locate_count(&self, n: usize) -> Located {
        if self.len() >= n {
            Located::Frame {
                skip: 0,
                len: n,
                end: n,
            }
        } else {
            Located::NeedMore { scan_from: 0 }
        }
    }

    /// A frame announced by a length field; bodies over `hard_limit` overflow.
    fn locate_prefix(&self, prefix: &LengthPrefix, hard_limit: usize) -> Located {
        if self.len() < prefix.header_len() {
            return Located::NeedMore { scan_from: 0 };
        }
        let (offset, field_len) = prefix.field_offset_len();
        let mut field = [0u8; 8];
        let field = &mut field[..field_len];
        self.peek(offset, field);
        let frame_len = match prefix.frame_len(field) {
            Ok(frame_len) => frame_len,
            Err(err) => return Located::Invalid(err),
        };
        let strip = prefix.strip_len();
        // strip <= header <= frame_len, checked when the delimiter was set.
        let body = frame_len - strip as u64;
        if body > hard_limit as u64 {
            let size = usize::try_from(body).unwrap_or(usize::MAX);
            return Located::Overflow {
                size,
                frame_end: Some(frame_len),
            };
        }
        // body <= hard_limit, so the frame length fits in usize.
        let frame_len = strip + body as usize;
        if self.len() >= frame_len {
            Located::Frame {
                skip: strip,
                len: body as usize,
                end: frame_len,
            }
        } else {
            Located::NeedMore { scan_from: 0 }
        }
    }

    /// True when the logical buffer holds `bytes` at `at` (all of them are buffered).
    fn holds_at(&self, at: usize, bytes: &[u8]) -> bool {
        (at..)
            .zip(bytes)
            .all(|(pos, &byte)| self.byte_at(pos) == byte)
    }

    /// Copies `out.len()` bytes starting at `at` out of the logical buffer.
    fn peek(&self, at: usize, out: &mut [u8]) {
        for (pos, byte) in (at..).zip(out) {
            *byte = self.byte_at(pos);
        }
    }

    /// The byte at `pos` of the logical buffer (it is buffered).
    fn byte_at(&self, pos: usize) -> u8 {
        match self.pending.get(pos) {
            Some(&byte) => byte,
            None => self.input[pos - self.pending.len()],
        }
    }
}
