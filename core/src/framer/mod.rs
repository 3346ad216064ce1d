//! The read side of a channel: buffering received bytes and cutting them into frames by the
//! read delimiter, within the read limits.

mod read_buf;
#[cfg(test)]
mod tests;

use bytes::Bytes;

use crate::delimiter::{Kind, Needle, ReadDelimiter};
use crate::error::{DelimiterError, Direction, FrameError, OverflowError};
use read_buf::{Located, ReadBuf, find_in};

/// How many bytes a channel may buffer for one incoming frame.
///
/// The `limit` (default 64 KiB, as in Pants) bounds frames cut by a byte-string or regex
/// delimiter: a frame whose body (the bytes before the delimiter) is longer is an overflow. Count
/// and length-prefix delimiters announce their frame size in advance, so for them the limit is
/// that size, up to the `hard_limit` (default 8 MiB, at most 4 GiB): a count above it is
/// refused when set, and a length prefix announcing a larger body is an overflow. A delimiter
/// searched for [`after`](ReadDelimiter::after) a body has both: the body up to the hard
/// limit, the line after it up to the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReadLimits {
    // u32: a channel is small, and no frame of 4 GiB is buffered in memory.
    limit: u32,
    hard_limit: u32,
}

impl ReadLimits {
    /// The default read limit: 64 KiB.
    pub const DEFAULT_LIMIT: usize = 64 * 1024;
    /// The default hard read limit: 8 MiB.
    pub const DEFAULT_HARD_LIMIT: usize = 8 * 1024 * 1024;

    /// Limits of `limit` bytes for delimited frames and `hard_limit` for announced ones;
    /// `limit` must be within `1..=hard_limit`, and `hard_limit` at most 4 GiB - 1.
    pub fn new(limit: usize, hard_limit: usize) -> Result<Self, DelimiterError> {
        let invalid = DelimiterError::Limit { limit, hard_limit };
        if limit == 0 || limit > hard_limit {
            return Err(invalid);
        }
        let hard = u32::try_from(hard_limit).map_err(|_| invalid.clone())?;
        // limit <= hard_limit, so it fits too.
        Ok(Self {
            limit: limit as u32,
            hard_limit: hard,
        })
    }

    /// The limit for frames cut by a byte-string or regex delimiter.
    pub fn limit(&self) -> usize {
        self.limit as usize
    }

    /// The limit for count and length-prefix frames.
    pub fn hard_limit(&self) -> usize {
        self.hard_limit as usize
    }
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT as u32,
            hard_limit: Self::DEFAULT_HARD_LIMIT as u32,
        }
    }
}

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
/// use pants_core::{Framer, ReadDelimiter, ReadLimits};
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
/// ([`FrameError::Length`]) stops the framer for good.
#[derive(Default)]
pub struct Framer {
    delimiter: ReadDelimiter,
    limits: ReadLimits,
    buf: ReadBuf,
    mode: Mode,
    /// The input is out on loan ([`lend_input`](Self::lend_input)); cleared when everything
    /// buffered is dropped, so that it is not given back then.
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
    /// A corrupt length prefix was seen: nothing more is framed.
    Failed,
}

/// [`find_in`] past a body of `skip` bytes that ends with the delimiter; the body alone when
/// it does not.
#[inline]
fn find_after(
    input: &[u8],
    skip: u32,
    search: &impl Needle,
    limit: usize,
) -> Option<(usize, usize)> {
    let skip = skip as usize;
    let (body, rest) = input.split_at_checked(skip)?;
    if !body.ends_with(search.needle()) {
        return Some((skip, skip));
    }
    let (len, used) = find_in(rest, search, limit)?;
    Some((skip + len, skip + used))
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
    pub fn next_frame(&mut self) -> Option<Result<Bytes, FrameError>> {
        // `next_frame_fast` for byte strings, written out: its match over the kinds costs a
        // line-framing loop 6% more instructions (benches/framing.sh).
        if let (Mode::Framing, Kind::Bytes(search)) = (self.mode, &self.delimiter.kind)
            && let Some(frame) = self.buf.cut_from_input(&**search, self.limits.limit())
        {
            return Some(Ok(frame));
        }
        if let (Mode::Framing, Kind::Byte(byte)) = (self.mode, &self.delimiter.kind)
            && let Some(frame) = self.buf.cut_from_input(byte, self.limits.limit())
        {
            return Some(Ok(frame));
        }
        if self.has_nothing_to_frame() {
            return None;
        }
        self.next_frame_general()
    }

    /// True when [`next_frame`](Self::next_frame) has nothing to answer until the next push
    /// or delimiter change: nothing is buffered and nothing is being discarded, so no
    /// delimiter makes a frame (or an error) of it.
    #[inline]
    pub(crate) fn has_nothing_to_frame(&self) -> bool {
        !self.buf.holds_allocation() && self.mode == Mode::Framing
    }

    /// [`next_frame`](Self::next_frame) for everything but its two short answers.
    #[inline(never)]
    fn next_frame_general(&mut self) -> Option<Result<Bytes, FrameError>> {
        loop {
            match self.mode {
                Mode::Framing => {}
                Mode::Failed => return None,
                Mode::DiscardUntilDelimiter | Mode::DiscardBytes => {
                    if self.discard() {
                        continue;
                    }
                    self.buf.settle();
                    return None;
                }
            }
            let limit = self.frame_limit();
            let located = match &self.delimiter.kind {
                Kind::None => {
                    let chunk = self.buf.take_chunk();
                    self.buf.settle();
                    return chunk.map(Ok);
                }
                Kind::Byte(byte) => self.buf.locate_bytes(byte, 0, Some(limit)),
                Kind::Bytes(search) => self.buf.locate_bytes(&**search, 0, Some(limit)),
                Kind::Count(n) => self.buf.locate_count(*n),
                Kind::ByteAfter { skip, byte } => {
                    let skip = *skip as usize;
                    self.buf.locate_bytes(byte, skip, Some(limit - skip))
                }
                Kind::BytesAfter { skip, search } => {
                    let skip = *skip as usize;
                    self.buf.locate_bytes(&**search, skip, Some(limit - skip))
                }
                Kind::LengthPrefix(prefix) => self.buf.locate_prefix(prefix, limit),
                #[cfg(feature = "regex")]
                Kind::Regex(regex) => self.buf.locate_regex(regex, Some(limit)),
            };
            return match located {
                Located::Frame { len, end, .. } if len > limit => {
                    self.buf.consume(end);
                    Some(Err(self.overflow(len)))
                }
                Located::Frame { skip, len, end } => Some(Ok(self.buf.extract(skip, len, end))),
                Located::Overflow {
                    size,
                    frame_end: Some(end),
                } => {
                    self.mode = Mode::DiscardBytes;
                    self.buf.set_discard(end);
                    Some(Err(self.overflow(size)))
                }
                Located::Overflow {
                    frame_end: None, ..
                } => Some(Err(self.skip_oversized())),
                Located::NeedMore { scan_from } => {
                    self.buf.settle();
                    self.buf.set_scan_from(scan_from);
                    None
                }
                Located::Invalid(err) => {
                    self.buf.clear();
                    self.mode = Mode::Failed;
                    Some(Err(FrameError::Length(err)))
                }
            };
        }
    }

    /// The next frame when it is the common case: a byte-string or count frame cut straight
    /// from the latest input, with nothing pending and no limit in question. `None` says only
    /// that [`next_frame`](Self::next_frame) must decide, not that no frame is buffered.
    #[inline]
    pub fn next_frame_fast(&mut self) -> Option<Bytes> {
        if self.mode != Mode::Framing {
            return None;
        }
        match &self.delimiter.kind {
            Kind::Byte(byte) => self.buf.cut_from_input(byte, self.limits.limit()),
            Kind::Bytes(search) => self.buf.cut_from_input(&**search, self.limits.limit()),
            // A count frame is never over the limit: the limit is at least the count.
            Kind::Count(n) => self.buf.cut_count_from_input(*n),
            _ => None,
        }
    }

    /// Lends the unparsed input when the next frames can be read in place from it: nothing is
    /// pending, and the delimiter is a byte string or a count. Find them with
    /// [`lent_frame`](Self::lent_frame); give back what is left with
    /// [`give_back`](Self::give_back) before the framer is asked for anything else.
    #[inline]
    pub(crate) fn lend_input(&mut self) -> Option<Bytes> {
        if self.mode != Mode::Framing
            || !matches!(
                self.delimiter.kind,
                Kind::Byte(_)
                    | Kind::Bytes(_)
                    | Kind::Count(_)
                    | Kind::ByteAfter { .. }
                    | Kind::BytesAfter { .. }
            )
        {
            return None;
        }
        let input = self.buf.lend_input()?;
        self.lent = true;
        Some(input)
    }

    /// The next frame at the start of the lent `input`, as `(length, bytes used)` (the frame
    /// and its delimiter): `None` when [`next_frame`](Self::next_frame) must decide, on the
    /// input given back.
    #[inline]
    pub(crate) fn lent_frame(&self, input: &[u8]) -> Option<(usize, usize)> {
        if self.mode != Mode::Framing || !self.lent {
            return None;
        }
        match &self.delimiter.kind {
            Kind::Byte(byte) => find_in(input, byte, self.limits.limit()),
            Kind::Bytes(search) => find_in(input, &**search, self.limits.limit()),
            // A count frame is never over the limit: the limit is at least the count.
            Kind::Count(n) => (input.len() >= *n).then_some((*n, *n)),
            Kind::ByteAfter { skip, byte } => find_after(input, *skip, byte, self.limits.limit()),
            Kind::BytesAfter { skip, search } => {
                find_after(input, *skip, &**search, self.limits.limit())
            }
            _ => None,
        }
    }

    /// Takes back what is left of the input lent by [`lend_input`](Self::lend_input); it is
    /// dropped if everything buffered was dropped meanwhile (the stream closed).
    #[inline]
    pub(crate) fn give_back(&mut self, input: Bytes) {
        if std::mem::take(&mut self.lent) {
            self.buf.give_back(input);
        }
    }

    /// Sets the delimiter for the next frame; what is buffered is parsed with it. Ends the
    /// discarding of an oversized frame. Refuses a count, a length-prefix header or the body
    /// of an [`after`](ReadDelimiter::after) delimiter over the hard limit.
    #[inline(always)]
    pub fn set_delimiter(&mut self, delimiter: ReadDelimiter) -> Result<(), DelimiterError> {
        let needs = match &delimiter.kind {
            Kind::Count(n) => *n,
            Kind::ByteAfter { skip, .. } | Kind::BytesAfter { skip, .. } => *skip as usize,
            Kind::LengthPrefix(prefix) => prefix.header_len(),
            _ => 0,
        };
        if needs > self.limits.hard_limit() {
            return Err(self.over_hard_limit(needs));
        }
        self.delimiter = delimiter;
        self.buf.set_scan_from(0);
        if matches!(self.mode, Mode::DiscardUntilDelimiter | Mode::DiscardBytes) {
            self.end_discard();
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

    /// Sets the limits; refused when the current delimiter needs more than the new hard limit.
    pub fn set_limits(&mut self, limits: ReadLimits) -> Result<(), DelimiterError> {
        let old = std::mem::replace(&mut self.limits, limits);
        if let Err(err) = self.set_delimiter(self.delimiter.clone()) {
            self.limits = old;
            return Err(err);
        }
        Ok(())
    }

    /// Takes the bytes of an unfinished frame, if any: at EOF, they are the truncated frame.
    /// Bytes of an oversized frame being discarded are not returned (it was reported already).
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
        if self.mode != Mode::Failed {
            self.mode = Mode::Framing;
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

    /// Bytes buffered and not yet delivered as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// True when the framer owns a buffer allocation: only while a partial frame is pending, or
    /// an oversized frame is being discarded.
    pub fn holds_allocation(&self) -> bool {
        self.buf.holds_allocation()
    }

    /// True while an oversized frame is being discarded.
    pub fn is_discarding(&self) -> bool {
        matches!(self.mode, Mode::DiscardUntilDelimiter | Mode::DiscardBytes)
    }

    /// Stops discarding (a new delimiter parses what is buffered), dropping the count of an
    /// announced frame's bytes still to discard.
    fn end_discard(&mut self) {
        if self.mode == Mode::DiscardBytes {
            self.buf.end_discard();
        }
        self.mode = Mode::Framing;
    }

    /// The largest frame body accepted under the current delimiter.
    fn frame_limit(&self) -> usize {
        match self.delimiter.kind {
            Kind::Count(n) => n,
            // The skipped bytes were checked against the hard limit when the delimiter was set.
            Kind::ByteAfter { skip, .. } | Kind::BytesAfter { skip, .. } => {
                (skip as usize).saturating_add(self.limits.limit())
            }
            Kind::LengthPrefix(_) => self.limits.hard_limit(),
            _ => self.limits.limit(),
        }
    }

    fn overflow(&self, size: usize) -> FrameError {
        FrameError::Overflow(OverflowError {
            direction: Direction::Read,
            limit: self.frame_limit(),
            size,
        })
    }

    /// A delimited frame is certainly over the limit: skips it if its end is buffered already
    /// (reporting its exact size), or else starts discarding up to its end.
    fn skip_oversized(&mut self) -> FrameError {
        let skip = self.delimiter.skipped();
        let (located, max_match) = self.locate_unbounded(skip);
        let size = match located {
            Located::Frame { len, end, .. } => {
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

    /// The next delimiter match after the first `skip` bytes with no limit on the frame
    /// before it, and the delimiter's longest match. Counts as found at once for delimiters
    /// that are not searched.
    fn locate_unbounded(&mut self, skip: usize) -> (Located, usize) {
        match &self.delimiter.kind {
            Kind::Byte(byte) | Kind::ByteAfter { byte, .. } => {
                (self.buf.locate_bytes(byte, skip, None), 1)
            }
            Kind::Bytes(search) | Kind::BytesAfter { search, .. } => (
                self.buf.locate_bytes(&**search, skip, None),
                search.needle().len(),
            ),
            #[cfg(feature = "regex")]
            Kind::Regex(regex) => (self.buf.locate_regex(regex, None), regex.max_len()),
            _ => (
                Located::Frame {
                    skip: 0,
                    len: 0,
                    end: 0,
                },
                1,
            ),
        }
    }

    /// Drops bytes of an oversized frame; true when its end was reached.
    fn discard(&mut self) -> bool {
        if self.mode == Mode::DiscardBytes {
            let done = self.buf.discard_announced();
            if done {
                self.mode = Mode::Framing;
            }
            return done;
        }
        // An oversized frame's skipped bytes were dropped when the discarding began.
        let (located, max_match) = self.locate_unbounded(0);
        match located {
            Located::Frame { end, .. } => {
                self.buf.consume(end);
                self.mode = Mode::Framing;
                true
            }
            _ => {
                // Keep only what could be the start of the next match.
                let keep = (max_match - 1).min(self.buf.len());
                self.buf.consume(self.buf.len() - keep);
                false
            }
        }
    }
}
