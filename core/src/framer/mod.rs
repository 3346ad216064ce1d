//! The read side of a channel: buffering received bytes and cutting them into frames by the
//! read delimiter, within the read limits.
//!
//! - `search.rs`: where the next frame lies in contiguous bytes, one rule per delimiter kind;
//! - `read_buf.rs`: the bytes held between reads;
//! - this file: the [`Framer`], which runs the search over what it holds, reports overflows
//!   once and discards what they leave, and lends its bytes to the engine, which reads frames
//!   from them in place with the same search.

mod give_up;
mod limits;
mod read_buf;
mod search;
#[cfg(test)]
mod tests;

use bytes::Bytes;

use crate::delimiter::{Kind, ReadDelimiter};
use crate::error::{DelimiterError, Direction, FrameError, OverflowError};
pub use limits::ReadLimits;
pub(crate) use read_buf::Lent;
use read_buf::ReadBuf;
use search::{Found, find, find_unbounded};

/// Cuts a byte stream into frames by a [`ReadDelimiter`], without I/O.
///
/// Push bytes in with [`push`](Self::push) as they arrive, in any chunking, then take frames with
/// [`next_frame`](Self::next_frame) until it returns `None`. Frames are slices of the pushed
/// [`Bytes`] (no copy) unless a frame spans two pushes; only such partial frames are copied,
/// and an idle framer holds no allocation. Searches resume where they stopped, so a long line
/// arriving a byte at a time costs linear time.
///
/// The delimiter may change at any time, also between two frames of the same push: the next
/// call to `next_frame` parses what is left with the new one.
///
/// ```
/// use bytes::Bytes;
/// use pants_core::{ReadDelimiter, ReadLimits};
/// use pants_core::channel::Framer;
///
/// let mut framer = Framer::new(ReadLimits::default());
/// framer.set_delimiter(ReadDelimiter::bytes(b"\r\n")?)?;
/// framer.push(Bytes::from_static(b"SET k 5\r\nhel"));
/// assert_eq!(framer.next_frame().unwrap().unwrap(), "SET k 5");
/// framer.set_delimiter(ReadDelimiter::count(5)?)?;
/// assert!(framer.next_frame().is_none()); // 3 of the 5 bytes are here
/// framer.push(Bytes::from_static(b"lo"));
/// assert_eq!(framer.next_frame().unwrap().unwrap(), "hello");
/// # Ok::<(), pants_core::DelimiterError>(())
/// ```
///
/// An overflow ([`FrameError::Overflow`]) is reported once per oversized frame, as soon as it
/// is certain, whatever the chunking; the framer then discards that frame (up to the next
/// delimiter, or the announced length) and carries on. A length prefix that describes no frame
/// ([`FrameError::Length`]), or a custom frame whose size is still unknown at the read limit
/// (an overflow with no end to discard to), stops the framer for good
/// ([`has_stopped`](Self::has_stopped)).
#[derive(Default)]
pub struct Framer {
    delimiter: ReadDelimiter,
    limits: ReadLimits,
    buf: ReadBuf,
    mode: Mode,
    /// Its bytes are out on loan ([`lend`](Self::lend)); cleared when everything held is
    /// dropped, so that they are not given back then.
    lent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    Framing,
    /// Dropping an oversized frame up to the next delimiter match.
    DiscardUntilDelimiter,
    /// Dropping the rest of an oversized announced frame (the read buffer counts it down).
    DiscardBytes,
    /// Dropping bytes the delimiter skips ([`ReadDelimiter::skip`]), then an empty frame.
    Skip,
    /// A corrupt length prefix was seen: nothing more is framed.
    Failed,
}

/// Where a frame lies in lent input: `bytes[skip..skip + len]`, and `end` bytes used by it
/// and its delimiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameAt {
    pub(crate) skip: usize,
    pub(crate) len: usize,
    pub(crate) end: usize,
}

impl std::fmt::Debug for Framer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Framer")
            .field("delimiter", &self.delimiter)
            .field("limits", &self.limits)
            .field("buffered", &self.buf.len())
            .field("mode", &self.mode)
            .finish()
    }
}

impl Framer {
    /// A framer with no delimiter (pass-through) and the given limits.
    pub fn new(limits: ReadLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Appends received bytes. Bytes pushed after a [`FrameError::Length`] are dropped.
    pub fn push(&mut self, data: Bytes) {
        if self.mode != Mode::Failed {
            self.buf.push(data);
        }
    }

    /// The next frame, an error about it, or `None` when more bytes are needed.
    ///
    /// When it returns `None`, the framer no longer refers to any pushed `Bytes`: what it kept
    /// of them (a partial frame) it copied.
    #[inline]
    pub fn next_frame(&mut self) -> Option<Result<Bytes, FrameError>> {
        loop {
            // Nothing held: no frame, no error and nothing to discard until the next push.
            if !self.buf.holds_allocation() {
                return None;
            }
            if self.mode != Mode::Framing || self.delimiter.is_none() {
                match self.next_frame_unsearched() {
                    Some(next) => return next,
                    None => continue,
                }
            }
            let found = find(
                &self.delimiter.kind,
                self.buf.front(),
                self.buf.scan_from(),
                self.limits,
            );
            if let Found::Frame { skip, len, end } = found {
                return Some(Ok(self.buf.cut(skip, len, end)));
            }
            match self.not_a_frame(found) {
                Some(next) => return next,
                None => continue,
            }
        }
    }

    /// What [`next_frame`](Self::next_frame) answers when the search found no frame; `None`
    /// to search again (more of the input is mirrored: see `read_buf.rs`).
    #[inline(never)]
    fn not_a_frame(&mut self, found: Found) -> Option<Option<Result<Bytes, FrameError>>> {
        Some(match found {
            Found::Frame { skip, len, end } => Some(Ok(self.buf.cut(skip, len, end))),
            #[cfg(feature = "regex")]
            Found::Oversized { len, end } => {
                self.buf.consume(end);
                Some(Err(self.overflow(len)))
            }
            Found::Overflow {
                size,
                frame_end: Some(end),
            } => {
                self.mode = Mode::DiscardBytes;
                self.buf.set_discard(end);
                Some(Err(self.overflow(size)))
            }
            // A custom frame whose size is unknown: nothing says where the next frame starts,
            // so the framer stops, as after a corrupt length prefix.
            Found::Overflow {
                size,
                frame_end: None,
            } if matches!(self.delimiter.kind, Kind::Custom(_)) => {
                self.buf.clear();
                self.mode = Mode::Failed;
                Some(Err(self.overflow(size)))
            }
            Found::Overflow {
                frame_end: None, ..
            } => Some(Err(self.skip_oversized())),
            Found::NeedMore { scan_from, needs } => {
                self.buf.set_scan_from(scan_from);
                if self.buf.mirror(needs) {
                    return None; // a frame that spans reads: search the next bytes too
                }
                self.buf.settle();
                None
            }
            Found::Invalid(err) => {
                self.buf.clear();
                self.mode = Mode::Failed;
                Some(Err(FrameError::Length(err)))
            }
        })
    }

    /// [`next_frame`](Self::next_frame) when nothing is searched for: no delimiter (everything
    /// held is one frame), a skip, a discard, or a failed framer. `None` to go on framing.
    #[inline(never)]
    fn next_frame_unsearched(&mut self) -> Option<Option<Result<Bytes, FrameError>>> {
        Some(match self.mode {
            Mode::Framing => {
                // No delimiter: everything held is one frame, kept bytes and input together.
                let all = self.buf.take_all();
                (!all.is_empty()).then_some(Ok(all))
            }
            Mode::Failed => None,
            Mode::Skip => self.skip(),
            Mode::DiscardUntilDelimiter | Mode::DiscardBytes => {
                if self.discard() {
                    return None;
                }
                self.buf.settle();
                None
            }
        })
    }

    /// Sets the delimiter for the next frame; what is buffered is parsed with it. Ends the
    /// discarding of an oversized frame. Refuses a count, a length-prefix header or the body
    /// of an [`after`](ReadDelimiter::after) delimiter over the hard limit.
    #[inline(always)]
    pub fn set_delimiter(&mut self, delimiter: ReadDelimiter) -> Result<(), DelimiterError> {
        if let Kind::Skip(n) = delimiter.kind {
            self.set_skip(n, delimiter);
            return Ok(());
        }
        let needs = held_at_once(&delimiter.kind);
        if needs > self.limits.hard_limit() {
            return Err(self.over_hard_limit(needs));
        }
        self.delimiter = delimiter;
        self.buf.set_scan_from(0);
        if self.mode != Mode::Framing {
            self.set_mode(None);
        }
        Ok(())
    }

    #[cold]
    fn over_hard_limit(&self, size: usize) -> DelimiterError {
        DelimiterError::OverHardLimit {
            size,
            hard_limit: self.limits.hard_limit(),
        }
    }

    /// Sets a [`skip`](ReadDelimiter::skip) of `n` bytes.
    #[cold]
    fn set_skip(&mut self, n: u64, delimiter: ReadDelimiter) {
        self.delimiter = delimiter;
        self.buf.set_scan_from(0);
        self.set_mode(Some(n));
    }

    /// Ends a discard or a skip; starts skipping `skip` bytes if asked.
    #[cold]
    fn set_mode(&mut self, skip: Option<u64>) {
        if self.mode == Mode::Failed {
            return;
        }
        if matches!(self.mode, Mode::DiscardBytes | Mode::Skip) {
            self.buf.end_discard();
        }
        self.mode = match skip {
            Some(n) => {
                self.buf.set_discard(n);
                Mode::Skip
            }
            None => Mode::Framing,
        };
    }

    /// Sets the limits; refused when the current delimiter needs more than the new hard limit.
    pub fn set_limits(&mut self, limits: ReadLimits) -> Result<(), DelimiterError> {
        let old = std::mem::replace(&mut self.limits, limits);
        let needs = held_at_once(&self.delimiter.kind);
        if needs > limits.hard_limit() {
            self.limits = old;
            return Err(DelimiterError::OverHardLimit {
                size: needs,
                hard_limit: limits.hard_limit(),
            });
        }
        self.buf.set_scan_from(0);
        Ok(())
    }

    /// Takes the bytes of an unfinished frame, if any: at EOF, they are the truncated frame.
    /// Bytes of an oversized frame being discarded, or skipped, are not returned.
    pub fn take_partial(&mut self) -> Option<Bytes> {
        if self.mode != Mode::Framing {
            self.buf.clear();
            return None;
        }
        let partial = self.buf.take_all();
        (!partial.is_empty()).then_some(partial)
    }

    /// Copies unparsed input into the framer's own buffer, so the caller's buffer is released
    /// (for a channel that stops taking frames for a while).
    pub fn settle(&mut self) {
        self.buf.settle();
    }

    /// Drops everything buffered and releases its memory.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.lent = false;
        match self.mode {
            Mode::Failed => {}
            Mode::Skip => self.set_mode(self.delimiter.skip_len()),
            _ => self.mode = Mode::Framing,
        }
    }

    /// The current delimiter.
    pub fn delimiter(&self) -> &ReadDelimiter {
        &self.delimiter
    }

    /// The current limits.
    pub fn limits(&self) -> ReadLimits {
        self.limits
    }

    /// The largest frame the current delimiter accepts: the read limit for delimited and
    /// custom frames, the count for a count, the hard limit for a length prefix, the body plus
    /// the read limit for [`after`](ReadDelimiter::after).
    pub fn frame_limit(&self) -> usize {
        match self.delimiter.kind {
            Kind::Count(n) => n,
            // The skipped bytes were checked against the hard limit when the delimiter was set.
            Kind::ByteAfter { skip, .. } | Kind::BytesAfter { skip, .. } => {
                (skip as usize).saturating_add(self.limits.limit())
            }
            Kind::LengthPrefix(_) => self.limits.hard_limit(),
            Kind::Skip(_) => 0,
            _ => self.limits.limit(),
        }
    }

    /// Bytes buffered and not yet delivered as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// True when the framer owns a buffer allocation: only while a partial frame is pending, or
    /// bytes are being discarded.
    pub fn holds_allocation(&self) -> bool {
        self.buf.holds_allocation()
    }

    /// True once the framer has stopped for good: a length prefix described no frame, or a
    /// custom delimiter's function could not tell a frame's size within the read limit.
    /// Nothing pushed after that is framed.
    pub fn has_stopped(&self) -> bool {
        self.mode == Mode::Failed
    }

    /// True while an oversized frame is being discarded.
    pub fn is_discarding(&self) -> bool {
        matches!(self.mode, Mode::DiscardUntilDelimiter | Mode::DiscardBytes)
    }

    // ---- Reading in place (the engine) -------------------------------------------------------

    /// Lends what the framer holds, when frames can be read from it in place: framing (not
    /// discarding), and not the pass-through of a skip. Find them with
    /// [`frame_in`](Self::frame_in); give back what is left with
    /// [`give_back`](Self::give_back) before the framer is asked for anything else.
    #[inline]
    pub(crate) fn lend(&mut self) -> Option<Lent> {
        if self.mode != Mode::Framing {
            return None;
        }
        let lent = self.buf.lend()?;
        self.lent = true;
        Some(lent)
    }

    /// Lends `data`, just received, when frames can be read from it in place: when the framer
    /// holds nothing and is framing. Otherwise pushes it and returns `None`.
    #[inline]
    pub(crate) fn lend_received(&mut self, data: Bytes) -> Option<Lent> {
        if self.mode != Mode::Framing || self.buf.holds_allocation() {
            self.push(data);
            return None;
        }
        self.lent = true;
        Some(Lent { bytes: data })
    }

    /// Where the next frame lies at the start of the lent input: `None` when
    /// [`next_frame`](Self::next_frame) must decide, on the input given back (an overflow, or
    /// no whole frame).
    ///
    /// The search starts at the input's start, and where it stopped without a whole frame is
    /// not kept: `next_frame` searches what is given back from its start again, once (the
    /// partial frame at the end of a read; the reads after it are framed by `next_frame`
    /// alone, which resumes). Only the answer `Frame` then counts here, and the search is
    /// compiled for it: with neither a resumption point to start from nor one to keep, a
    /// `SET` (5 frames) costs 66 instructions fewer with `-P 16`, 115 fewer with `-P 1`
    /// (`benches/engine_instructions.sh`).
    ///
    /// Asked only while the input is out: not after [`clear`](Self::clear), which drops it
    /// (a stream asks only while it is open and reading, which every clear ends).
    #[inline(always)]
    pub(crate) fn frame_in(&self, input: &Lent) -> Option<FrameAt> {
        debug_assert!(self.lent, "frame_in asked of input the framer dropped");
        if self.mode != Mode::Framing {
            return None;
        }
        match find(&self.delimiter.kind, &input.bytes, 0, self.limits) {
            Found::Frame { skip, len, end } => Some(FrameAt { skip, len, end }),
            _ => None,
        }
    }

    /// Takes back what is left of lent input; it is dropped if everything held was dropped
    /// meanwhile (the channel closed).
    #[inline]
    pub(crate) fn give_back(&mut self, input: Lent) {
        if std::mem::take(&mut self.lent) {
            self.buf.give_back(input);
        }
    }

    // ---- Internals ---------------------------------------------------------------------------

    fn overflow(&self, size: usize) -> FrameError {
        FrameError::Overflow(OverflowError {
            direction: Direction::Read,
            limit: self.frame_limit(),
            size,
        })
    }

    /// A delimited frame is certainly over the limit: skips it if its end is in the front
    /// already (reporting its exact size), or else starts discarding up to its end.
    fn skip_oversized(&mut self) -> FrameError {
        let skip = self.delimiter.skipped();
        let (found, max_match) =
            find_unbounded(&self.delimiter.kind, self.buf.front(), skip, self.limits);
        let size = match found {
            Found::Frame { len, end, .. } => {
                self.buf.consume(end);
                len
            }
            _ => {
                // The skipped bytes are all here (more than they and the limit are), and
                // searching for the delimiter goes on after them.
                self.buf.consume(skip);
                self.mode = Mode::DiscardUntilDelimiter;
                // The last bytes may be the start of the delimiter.
                skip + self.buf.len() - (max_match - 1).min(self.buf.len())
            }
        };
        self.overflow(size.max(self.frame_limit().saturating_add(1)))
    }

    /// Drops bytes of an oversized frame; true when its end was reached.
    fn discard(&mut self) -> bool {
        if self.mode == Mode::DiscardBytes {
            let done = self.buf.discard();
            if done {
                self.mode = Mode::Framing;
            }
            return done;
        }
        // An oversized frame's skipped bytes were dropped when the discarding began.
        loop {
            let (found, max_match) =
                find_unbounded(&self.delimiter.kind, self.buf.front(), 0, self.limits);
            if let Found::Frame { end, .. } = found {
                self.buf.consume(end);
                self.mode = Mode::Framing;
                return true;
            }
            let kept = self.buf.kept();
            if kept == 0 || self.buf.unmirrored() == 0 {
                // The front shows every byte held: keep only what could start the next match.
                let keep = (max_match - 1).min(self.buf.len());
                self.buf.consume(self.buf.len() - keep);
                return false;
            }
            // A match that starts in the kept bytes (a few: what was kept last time) ends
            // within `max_match - 1` bytes of the input. Once that much is mirrored with no
            // match, they can go, and the input is searched alone.
            let straddle = kept + max_match - 1;
            if self.buf.front().len() < straddle {
                self.buf.mirror(straddle);
                continue;
            }
            self.buf.consume(kept);
        }
    }

    /// Drops skipped bytes as they arrive; once all of them are gone, an empty frame tells the
    /// handler so, and the next skip starts.
    fn skip(&mut self) -> Option<Result<Bytes, FrameError>> {
        if !self.buf.discard() {
            return None;
        }
        self.buf.set_discard(self.delimiter.skip_len().unwrap_or(0));
        Some(Ok(Bytes::new()))
    }
}

/// How many bytes delimiter `kind` needs held at once, whatever the limit: a count, a body
/// searched [`after`](ReadDelimiter::after), a length prefix's header. Over the hard limit, the
/// delimiter is refused.
#[inline(always)]
fn held_at_once(kind: &Kind) -> usize {
    match kind {
        Kind::Count(n) => *n,
        Kind::ByteAfter { skip, .. } | Kind::BytesAfter { skip, .. } => *skip as usize,
        Kind::LengthPrefix(prefix) => prefix.header_len(),
        _ => 0,
    }
}
