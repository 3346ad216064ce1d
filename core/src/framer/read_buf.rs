//! The bytes a [`Framer`](super::Framer) holds between reads, shown to the frame search as one
//! contiguous run (the *front*), so that one search ([`super::search`]) serves every case.
//!
//! - While no frame spans two reads, the front is the unparsed rest of the latest read
//!   (`input`), not copied: frames are slices of the driver's buffer.
//! - A frame that spans reads starts in bytes the framer owns (`kept`: the partial frame it
//!   copied when the last read ended). To search for its end, the head of the next read is
//!   *mirrored*: copied behind the kept bytes, a little at a time (twice as much each time, or
//!   what the delimiter says the frame needs), until the frame is whole in `kept`. Cutting it
//!   consumes what it used of the input, and drops the rest of the mirror: only the frame's
//!   own bytes (and at most as many again) are ever copied, never the whole read.
//!
//! A framer that is asked for a frame and has none copies what it keeps
//! ([`ReadBuf::settle`]), so it never holds on to the driver's buffer between reads, and it
//! drops its allocation as soon as it holds nothing: an idle channel owns no memory here but a
//! pointer.

use std::mem;

use bytes::{Buf, Bytes, BytesMut};

/// The least a mirror grows by at once.
const MIN_MIRROR: usize = 64;

/// The held bytes. Boxed, and only while there are any, so an idle channel pays one pointer.
#[derive(Default)]
pub(super) struct ReadBuf(Option<Box<Held>>);

#[derive(Default)]
struct Held {
    /// The start of a frame that spans reads (or input kept while reading is paused), then
    /// the first `mirrored` bytes of `input`, copied behind it. Empty while no frame spans
    /// reads.
    kept: BytesMut,
    mirrored: usize,
    /// The unparsed rest of the latest read, not copied.
    input: Bytes,
    /// No delimiter match starts before this offset of the front (searches resume here).
    scan_from: usize,
    /// Bytes still to drop as they arrive: the rest of an oversized announced frame, or of a
    /// skip.
    discard: u64,
}

impl Held {
    /// The kept bytes that are not a mirror of the input.
    fn own(&self) -> usize {
        self.kept.len() - self.mirrored
    }

    /// Drops the mirror: the input holds those bytes.
    fn unmirror(&mut self) {
        let own = self.own();
        self.kept.truncate(own);
        self.mirrored = 0;
    }
}

/// Input lent out of a framer while frames are read from it in place (see
/// [`Framer::lend`](super::Framer::lend)): it starts with the next frame.
#[derive(Debug, Default)]
pub(crate) struct Lent {
    pub(crate) bytes: Bytes,
}

impl Lent {
    /// Drops the first `n` bytes (a frame and its delimiter, handed over).
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) {
        self.bytes.advance(n);
    }
}

impl ReadBuf {
    /// Appends `data` behind everything held.
    pub(super) fn push(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        let held = self.0.get_or_insert_with(Box::default);
        if !held.input.is_empty() {
            // Two reads without framing between them: the first is kept, copied.
            held.unmirror();
            held.kept.extend_from_slice(&held.input);
        }
        held.input = data;
    }

    /// The front: the bytes the next frame starts in, contiguous.
    #[inline(always)]
    pub(super) fn front(&self) -> &[u8] {
        match self.0.as_deref() {
            Some(held) if held.kept.is_empty() => &held.input,
            Some(held) => &held.kept,
            None => &[],
        }
    }

    /// Every byte held, not counting mirrors twice.
    pub(super) fn len(&self) -> usize {
        self.0
            .as_ref()
            .map_or(0, |held| held.own() + held.input.len())
    }

    /// How many bytes the framer owns before the input (a frame that spans reads).
    pub(super) fn kept(&self) -> usize {
        self.0.as_ref().map_or(0, |held| held.own())
    }

    /// How many bytes of the input are not mirrored behind the kept bytes.
    pub(super) fn unmirrored(&self) -> usize {
        self.0
            .as_ref()
            .map_or(0, |held| held.input.len() - held.mirrored)
    }

    #[inline(always)]
    pub(super) fn scan_from(&self) -> usize {
        self.0.as_ref().map_or(0, |held| held.scan_from)
    }

    pub(super) fn set_scan_from(&mut self, scan_from: usize) {
        if let Some(held) = &mut self.0 {
            held.scan_from = scan_from;
        }
    }

    /// True when the buffer holds an allocation of its own: bytes, or a count to discard.
    pub(super) fn holds_allocation(&self) -> bool {
        self.0.is_some()
    }

    /// Mirrors more of the input behind the kept bytes, so that the front holds at least
    /// `want` bytes if the input has them (and at least twice what it holds otherwise, to keep
    /// the searches of a long frame linear). False when there is nothing more to mirror: the
    /// front already shows every byte held.
    pub(super) fn mirror(&mut self, want: usize) -> bool {
        let Some(held) = &mut self.0 else {
            return false;
        };
        let left = held.input.len() - held.mirrored;
        if held.kept.is_empty() || left == 0 {
            return false;
        }
        let grow = want
            .saturating_sub(held.kept.len())
            .max(held.kept.len())
            .max(MIN_MIRROR)
            .min(left);
        let from = held.mirrored;
        held.kept.extend_from_slice(&held.input[from..from + grow]);
        held.mirrored += grow;
        true
    }

    /// Copies the input into bytes of the framer's own, releasing the driver's buffer (which
    /// even an empty slice of it refers to).
    pub(super) fn settle(&mut self) {
        if let Some(held) = &mut self.0 {
            if !held.input.is_empty() {
                held.unmirror();
                held.kept.extend_from_slice(&held.input);
            }
            held.input = Bytes::new();
        }
        self.release_if_empty();
    }

    /// Drops everything, the count to discard included, and the allocation.
    pub(super) fn clear(&mut self) {
        self.0 = None;
    }

    /// Drops the first `n` bytes (of [`len`](Self::len)).
    pub(super) fn consume(&mut self, n: usize) {
        if let Some(held) = &mut self.0 {
            held.scan_from = 0;
            let own = held.own();
            if n < own {
                held.kept.advance(n);
            } else {
                held.kept.clear();
                held.mirrored = 0;
                held.input.advance(n - own);
            }
        }
        self.release_if_empty();
    }

    /// Removes the frame `[skip, skip + len)` of the front and the rest of its first `end`
    /// bytes, and returns the frame: a slice of the input, or the kept bytes, never a copy.
    #[inline]
    pub(super) fn cut(&mut self, skip: usize, len: usize, end: usize) -> Bytes {
        let Some(held) = &mut self.0 else {
            return Bytes::new();
        };
        if !held.kept.is_empty() {
            return self.cut_kept(skip, len, end);
        }
        held.scan_from = 0;
        let frame = held.input.slice(skip..skip + len);
        held.input.advance(end);
        if held.input.is_empty() && held.discard == 0 {
            self.0 = None;
        }
        frame
    }

    /// [`cut`](Self::cut) of a frame that spans reads, from the kept bytes.
    #[cold]
    fn cut_kept(&mut self, skip: usize, len: usize, end: usize) -> Bytes {
        let Some(held) = &mut self.0 else {
            return Bytes::new();
        };
        held.scan_from = 0;
        let own = held.own();
        let mut frame = if end >= own {
            // The frame used all that is kept: it takes the allocation, and what it used of
            // the mirror is consumed from the input (the rest of the mirror dropped).
            held.input.advance(end - own);
            held.mirrored = 0;
            mem::take(&mut held.kept)
        } else {
            held.kept.split_to(end)
        };
        frame.truncate(skip + len);
        frame.advance(skip);
        self.release_if_empty();
        frame.freeze()
    }

    /// Takes everything held as one frame.
    pub(super) fn take_all(&mut self) -> Bytes {
        let Some(mut held) = self.0.take() else {
            return Bytes::new();
        };
        if held.kept.is_empty() {
            return held.input;
        }
        held.unmirror();
        held.kept.extend_from_slice(&held.input);
        held.kept.freeze()
    }

    /// Lends the input, releasing the allocation: when no frame spans reads and nothing is
    /// being discarded. Where the last search of it stopped is forgotten (see
    /// [`Framer::frame_in`](super::Framer::frame_in)).
    pub(super) fn lend(&mut self) -> Option<Lent> {
        let held = self.0.as_ref()?;
        if !held.kept.is_empty() || held.discard != 0 {
            return None;
        }
        let held = self.0.take()?;
        Some(Lent { bytes: held.input })
    }

    /// Takes back what is left of lent input, held before anything pushed meanwhile.
    pub(super) fn give_back(&mut self, lent: Lent) {
        if lent.bytes.is_empty() {
            return;
        }
        match self.0.take() {
            None => {
                self.0 = Some(Box::new(Held {
                    input: lent.bytes,
                    ..Held::default()
                }))
            }
            Some(mut held) => {
                // Pushed while lent: the lent rest goes first.
                let after = if held.kept.is_empty() {
                    held.input
                } else {
                    held.unmirror();
                    held.kept.extend_from_slice(&held.input);
                    held.kept.freeze()
                };
                self.push(lent.bytes);
                self.push(after);
            }
        }
    }

    /// Sets how many more bytes to drop as they arrive.
    pub(super) fn set_discard(&mut self, n: u64) {
        match &mut self.0 {
            Some(held) => held.discard = n,
            None if n == 0 => {}
            None => {
                self.0 = Some(Box::new(Held {
                    discard: n,
                    ..Held::default()
                }))
            }
        }
    }

    /// Forgets the bytes that were still to drop.
    pub(super) fn end_discard(&mut self) {
        self.set_discard(0);
        self.release_if_empty();
    }

    /// Drops what is held of the bytes to discard; true once all of them are gone.
    pub(super) fn discard(&mut self) -> bool {
        let Some(held) = &mut self.0 else {
            return true;
        };
        let n = held.discard.min((held.own() + held.input.len()) as u64);
        held.discard -= n;
        let done = held.discard == 0;
        // n <= the held length, a usize.
        self.consume(n as usize);
        done
    }

    /// Drops the allocation once nothing is held and nothing is left to discard (an empty
    /// input may still refer to the driver's buffer).
    fn release_if_empty(&mut self) {
        if let Some(held) = &self.0
            && held.discard == 0
            && held.kept.is_empty()
            && held.input.is_empty()
        {
            self.0 = None;
        }
    }
}
