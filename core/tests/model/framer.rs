//! A deliberately simple reference model of [`pants_core::channel::Framer`], and a driver that runs the
//! same scenario through the framer and through the model so that their traces can be compared.
//!
//! The model is written for obviousness, not speed. It keeps every byte it ever received in one
//! `Vec<u8>` and the offset of the first byte not yet delivered or discarded; every call to
//! `FramerModel::next_frame` looks at everything after that offset again, from its start, with
//! a naive search. There is no resumable search, no zero-copy slicing and no buffer juggling, so
//! when the model and the framer disagree the model is the one that can be checked by reading.
//!
//! The semantics it encodes, from the docs of `Framer`, `ReadDelimiter`, `LengthPrefix` and the
//! read buffer, and section 3 of the design:
//!
//! - **none**: each call to `next_frame` delivers everything buffered as one frame: a push as
//!   it arrived when frames are taken after each push; bytes still buffered when the delimiter
//!   becomes none come out together with whatever arrived after them.
//! - **byte string `d`**: a frame is the bytes before the first occurrence of `d`, which is
//!   consumed. With the read limit `limit`, a frame whose body is longer than `limit` is an
//!   overflow; it is reported once, as soon as it is certain: `limit + d.len()` bytes of the
//!   frame are buffered with no occurrence starting at or before offset `limit`. The frame is
//!   then discarded up to and including the next occurrence, and framing carries on after it.
//! - **byte string `d` after `n`** (`ReadDelimiter::after`, `n > 0`): a frame starts with a
//!   body of `n` bytes, which must end with `d`. When its last `d.len()` bytes are `d`, the frame
//!   is the body (occurrences of `d` among its bytes, or starting among them, do not count), then
//!   the bytes before the first occurrence of `d` that starts at offset `n` or later; `d` is
//!   consumed. All of the byte-string rules hold with offsets counted from `n`: the frame's limit
//!   is `n + limit`; the overflow is certain once `n + limit + d.len()` bytes of the frame are
//!   buffered with no occurrence starting from `n` to `n + limit`; the `n` bytes are then dropped
//!   with the rest of the frame, up to and including the next occurrence after them. When the
//!   body does not end with `d`, the `n` bytes are the frame alone, as soon as they are all
//!   buffered: nothing after them is looked at or consumed, and no overflow is possible. `after`
//!   refuses an `n` over `u32::MAX` (no hard limit is that large) and an `n` below `d.len()` (a
//!   body that cannot end with `d`); an `n` over the hard limit is refused when set, as a count
//!   is; `n = 0` is the byte string itself.
//! - **regex** (feature `regex`): as a byte string, the match standing in for the occurrence and
//!   the longest possible match for `d.len()`. The model finds matches as literal alternatives
//!   (see `RegexDelim`), so it only covers patterns that are such alternations.
//! - **count `n`**: frames of exactly `n` bytes; a count over the hard limit is refused when set.
//! - **length prefix**: a header of `field_offset` bytes and a length field; `value + adjustment`
//!   bytes follow the field; `strip` bytes are removed from the front of the frame. A body (frame
//!   minus stripped bytes) over the hard limit is an overflow, reported when the header is in,
//!   and the announced bytes are skipped. A negative `value + adjustment` is a
//!   `FrameError::Length`: the framer drops everything and never produces anything again. A
//!   header over the hard limit is refused when set.
//! - **custom** (`ReadDelimiter::custom`, a function among `CustomFn`'s): the function is
//!   given the first `min(buffered, limit)` bytes of the frame; a size `n` of at least 1 is a
//!   frame of `n` bytes, cut once they are all buffered; a size over the limit is an overflow
//!   as soon as it is said, and the `n` announced bytes are skipped. No size (or 0) from
//!   `limit` bytes, or "at least `n`" with `n` over the limit, is an overflow too, with no
//!   end to skip to: the framer stops, as after a length error (nothing more, ever). "At
//!   least `n`" with `n` at most what is seen says nothing. The function is never asked
//!   about zero bytes.
//! - **delimiter changes** re-parse everything still buffered with the new delimiter. The model
//!   knows where the framer stands except while an oversized frame is being discarded (the
//!   framer keeps a chunking-dependent tail of it), so it must not be changed then; the driver
//!   changes delimiters and limits after delivered frames, and when idle unless discarding.
//! - **EOF**: `take_partial` gives the bytes of the unfinished frame, or nothing when there are
//!   none, while an oversized frame is being discarded, or after a length error.
//!
//! The model depends on `pants-core` and `bytes` only, so fuzz targets can include it with
//! `#[path]` and drive it the same way (with a `regex` feature that enables `pants-core/regex`).

use std::fmt;

use bytes::Bytes;
use pants_core::channel::Framer;
use pants_core::{
    DelimiterError, Endian, FrameError, FrameSize, LengthPrefix, OverflowError, ReadDelimiter,
    ReadLimits,
};

/// Shows bytes as an escaped byte-string literal, which is what a failing case should print.
pub struct Esc<'a>(pub &'a [u8]);

impl fmt::Debug for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// A read delimiter as the model understands it. Converts into a [`ReadDelimiter`].
#[derive(Clone, PartialEq, Eq)]
pub enum Delim {
    /// Pass-through: each push is a frame as it arrived.
    None,
    /// Frames end at the first occurrence of this byte string (valid when not empty).
    Bytes(Vec<u8>),
    /// Frames of exactly this many bytes (valid when at least 1).
    Count(usize),
    /// Frames of `skip` bytes that end with `needle`, then up to the first occurrence of
    /// `needle` that starts after them; or the `skip` bytes alone when they do not end with it
    /// (valid when `needle` is not empty, `skip` is 0 or at least `needle.len()`, and `skip` is
    /// within the hard limit).
    After {
        /// Bytes at the start of each frame in which `needle` is not searched for.
        skip: usize,
        /// The byte string that ends the frame.
        needle: Vec<u8>,
    },
    /// Frames announced by a length field.
    Prefix(Prefix),
    /// Frames end at the first match of a pattern from [`REGEXES`].
    #[cfg(feature = "regex")]
    Regex(&'static RegexDelim),
    /// Frames as long as a function says (`ReadDelimiter::custom`).
    Custom(CustomFn),
}

impl fmt::Debug for Delim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Delim::None => f.write_str("None"),
            Delim::Bytes(d) => write!(f, "Bytes({:?})", Esc(d)),
            Delim::Count(n) => write!(f, "Count({n})"),
            Delim::After { skip, needle } => write!(f, "After({skip}, {:?})", Esc(needle)),
            Delim::Prefix(p) => write!(f, "{p:?}"),
            #[cfg(feature = "regex")]
            Delim::Regex(r) => write!(f, "Regex({:?})", r.pattern),
            Delim::Custom(c) => write!(f, "Custom({c:?})"),
        }
    }
}

impl Delim {
    /// The real delimiter, or the error its constructor gives.
    pub fn to_read_delimiter(&self) -> Result<ReadDelimiter, DelimiterError> {
        match self {
            Delim::None => Ok(ReadDelimiter::none()),
            Delim::Bytes(d) => ReadDelimiter::bytes(d),
            Delim::Count(n) => ReadDelimiter::count(*n),
            Delim::After { skip, needle } => ReadDelimiter::bytes(needle)?.after(*skip),
            Delim::Prefix(p) => ReadDelimiter::length_prefix(p.layout()),
            #[cfg(feature = "regex")]
            Delim::Regex(r) => ReadDelimiter::regex(r.pattern),
            Delim::Custom(c) => Ok(ReadDelimiter::custom(c.function())),
        }
    }

    /// Why the framer refuses this delimiter under `hard_limit`, if it does: first what the
    /// constructors check, then the hard limit.
    pub fn refusal(&self, hard_limit: usize) -> Option<DelimiterError> {
        match self {
            Delim::Bytes(d) | Delim::After { needle: d, .. } if d.is_empty() => {
                return Some(DelimiterError::EmptyBytes);
            }
            Delim::Count(0) => return Some(DelimiterError::ZeroCount),
            // No hard limit is that large: `after` refuses it at once, against the largest.
            Delim::After { skip, .. } if *skip > MAX_HARD_LIMIT => {
                return Some(DelimiterError::OverHardLimit {
                    size: *skip,
                    hard_limit: MAX_HARD_LIMIT,
                });
            }
            // A body shorter than the needle cannot end with it.
            Delim::After { skip, needle } if *skip > 0 && *skip < needle.len() => {
                return Some(DelimiterError::BodyShorterThanDelimiter {
                    body: *skip,
                    delimiter: needle.len(),
                });
            }
            Delim::Prefix(p) => {
                if ![1, 2, 4, 8].contains(&p.field_len) {
                    return Some(DelimiterError::FieldLength(p.field_len));
                }
                if p.strip_len() > p.header_len() {
                    return Some(DelimiterError::StripBeyondHeader {
                        strip: p.strip_len(),
                        header: p.header_len(),
                    });
                }
            }
            _ => {}
        }
        let needs = self.needs();
        (needs > hard_limit).then_some(DelimiterError::OverHardLimit {
            size: needs,
            hard_limit,
        })
    }

    /// Bytes this delimiter needs buffered before it can cut anything (checked against the hard
    /// limit when set): the count, the skipped bytes, or the length prefix's header.
    pub fn needs(&self) -> usize {
        match self {
            Delim::Count(n) | Delim::After { skip: n, .. } => *n,
            Delim::Prefix(p) => p.header_len(),
            _ => 0,
        }
    }

    /// Bytes at the start of each frame that are not searched for a terminator: the `skip` of
    /// [`Delim::After`], 0 for every other delimiter.
    pub fn skipped(&self) -> usize {
        match self {
            Delim::After { skip, .. } => *skip,
            _ => 0,
        }
    }

    /// The byte strings that end a frame, for a byte-string, byte-string-after or regex
    /// delimiter.
    pub fn terminators(&self) -> Vec<&[u8]> {
        match self {
            Delim::Bytes(d) | Delim::After { needle: d, .. } => vec![&d[..]],
            #[cfg(feature = "regex")]
            Delim::Regex(r) => r.alternatives.to_vec(),
            _ => Vec::new(),
        }
    }

    /// The longest terminator, for a byte-string, byte-string-after or regex delimiter.
    pub fn max_terminator_len(&self) -> usize {
        self.terminators()
            .iter()
            .map(|t| t.len())
            .max()
            .unwrap_or(0)
    }
}

/// The functions of custom delimiters the model knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomFn {
    /// A frame is as long as its first byte's value modulo 8 (that byte included); 0 says
    /// nothing, so such a frame's size stays unknown.
    Sized,
    /// A frame ends with its first `;`, which it includes: its size is unknown until then.
    ToSemicolon,
    /// A frame is a byte `b` and `b % 4` bytes more (at least that many, until they are
    /// all here), then up to its first `;` after them, which it includes.
    AfterCount,
}

impl CustomFn {
    /// What the function answers about `bytes`.
    pub fn size(self, bytes: &[u8]) -> FrameSize {
        match self {
            CustomFn::Sized => bytes.first().map_or(FrameSize::Unknown, |&b| {
                FrameSize::Known(usize::from(b % 8))
            }),
            CustomFn::ToSemicolon => bytes
                .iter()
                .position(|&b| b == b';')
                .map_or(FrameSize::Unknown, |at| FrameSize::Known(at + 1)),
            CustomFn::AfterCount => {
                let Some(&first) = bytes.first() else {
                    return FrameSize::Unknown;
                };
                let counted = 1 + usize::from(first % 4);
                match bytes.get(counted..) {
                    None => FrameSize::AtLeast(counted),
                    Some(rest) => rest
                        .iter()
                        .position(|&b| b == b';')
                        .map_or(FrameSize::Unknown, |at| FrameSize::Known(counted + at + 1)),
                }
            }
        }
    }

    /// The function, for `ReadDelimiter::custom`; it panics if asked about zero bytes, which
    /// the framer never does.
    pub fn function(self) -> impl Fn(&[u8]) -> FrameSize + Send + Sync + 'static {
        move |bytes| {
            assert!(
                !bytes.is_empty(),
                "a custom delimiter asked about zero bytes"
            );
            self.size(bytes)
        }
    }
}

/// The largest hard limit `ReadLimits` accepts: 4 GiB - 1.
pub const MAX_HARD_LIMIT: usize = u32::MAX as usize;

/// The first terminator in `haystack`: leftmost start, then the first terminator in the list
/// that matches there. Returns the match's `(start, end)`. Naive on purpose.
pub fn first_match(haystack: &[u8], terminators: &[&[u8]]) -> Option<(usize, usize)> {
    for start in 0..haystack.len() {
        for t in terminators {
            if haystack[start..].starts_with(t) {
                return Some((start, start + t.len()));
            }
        }
    }
    None
}

/// True when the last `needle.len()` bytes of `body` are `needle`, compared byte by byte.
pub fn body_ends_with(body: &[u8], needle: &[u8]) -> bool {
    if body.len() < needle.len() {
        return false;
    }
    let start = body.len() - needle.len();
    (0..needle.len()).all(|i| body[start + i] == needle[i])
}

/// A length-prefix layout, as plain data. Converts into a [`LengthPrefix`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    /// Bytes before the length field.
    pub field_offset: usize,
    /// The length field's size: 1, 2, 4 or 8 bytes to be valid.
    pub field_len: usize,
    /// Least significant byte first when true.
    pub little_endian: bool,
    /// Added to the field's value to get the number of bytes after the field.
    pub adjustment: i64,
    /// Bytes removed from the front of each frame; `None` removes the whole header.
    pub strip: Option<usize>,
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Prefix(offset {}, {} byte {}, adjust {}, strip {:?})",
            self.field_offset,
            self.field_len,
            if self.little_endian { "LE" } else { "BE" },
            self.adjustment,
            self.strip
        )
    }
}

impl Prefix {
    /// A big-endian field of `field_len` bytes at offset 0, header stripped.
    pub fn new(field_len: usize) -> Self {
        Self {
            field_offset: 0,
            field_len,
            little_endian: false,
            adjustment: 0,
            strip: None,
        }
    }

    /// The real layout.
    pub fn layout(&self) -> LengthPrefix {
        let layout = LengthPrefix::new(self.field_len)
            .field_offset(self.field_offset)
            .endian(if self.little_endian {
                Endian::Little
            } else {
                Endian::Big
            })
            .adjustment(self.adjustment);
        match self.strip {
            Some(strip) => layout.strip(strip),
            None => layout,
        }
    }

    /// Offset plus field.
    pub fn header_len(&self) -> usize {
        self.field_offset.saturating_add(self.field_len)
    }

    /// The bytes removed from the front of each frame.
    pub fn strip_len(&self) -> usize {
        self.strip.unwrap_or(self.header_len())
    }

    /// The field's value, read one byte at a time, most significant first.
    pub fn read_field(&self, field: &[u8]) -> u64 {
        let mut bytes = field.to_vec();
        if self.little_endian {
            bytes.reverse();
        }
        let mut value: u128 = 0;
        for b in bytes {
            value = value * 256 + u128::from(b);
        }
        u64::try_from(value).expect("a field has at most 8 bytes")
    }

    /// A whole frame whose bytes after the field are `after`: `filler` bytes up to the field,
    /// the field, then `after`. `None` when no field value describes that length.
    pub fn encode_frame(&self, filler: u8, after: &[u8]) -> Option<Vec<u8>> {
        let value = after.len() as i128 - i128::from(self.adjustment);
        let bits = 8 * self.field_len as u32;
        if value < 0 || (bits < 128 && value >= 1i128 << bits) {
            return None;
        }
        let mut field: Vec<u8> = (0..self.field_len)
            .rev()
            .map(|i| (value >> (8 * i)) as u8)
            .collect();
        if self.little_endian {
            field.reverse();
        }
        let mut frame = vec![filler; self.field_offset];
        frame.extend_from_slice(&field);
        frame.extend_from_slice(after);
        Some(frame)
    }
}

/// A regex delimiter whose matches the model finds as literal alternatives.
///
/// Only patterns whose matches do not depend on how the input is chunked belong here: the first
/// match in the bytes received so far must also be the first match once more bytes arrive. A
/// match the framer has found is final (as in Pants), and it searches only the first
/// `limit + longest match` bytes of a frame, so with other patterns the framer's frames depend
/// on the chunking and no chunking-free model describes them: `\n\r?` would cut `a\n` before a
/// later `\r` arrives, `ab|a` matches `a` until the `b` arrives, and `abc|b` finds the `b` of a
/// partial `abc`. `\r?\n`, `[;,]` and `ab|cd` are plain alternations where none of that can
/// happen, and the leftmost-first match is simply the leftmost alternative.
#[cfg(feature = "regex")]
#[derive(Debug, PartialEq, Eq)]
pub struct RegexDelim {
    /// The pattern given to `ReadDelimiter::regex`.
    pub pattern: &'static str,
    /// What it matches, in the order the regex prefers them at one position.
    pub alternatives: &'static [&'static [u8]],
}

/// The chunking-independent patterns the properties use.
#[cfg(feature = "regex")]
pub const REGEXES: &[RegexDelim] = &[
    RegexDelim {
        pattern: r"\r?\n",
        alternatives: &[b"\r\n", b"\n"],
    },
    RegexDelim {
        pattern: "[;,]",
        alternatives: &[b";", b","],
    },
    RegexDelim {
        pattern: "ab|cd",
        alternatives: &[b"ab", b"cd"],
    },
];

/// What `next_frame` (or a refused `set_*`) produced, sizes of overflows left out: they depend
/// on the chunking.
#[derive(Clone, PartialEq, Eq)]
pub enum Event {
    /// A frame.
    Frame(Vec<u8>),
    /// `FrameError::Overflow` with this limit.
    Overflow {
        /// The limit the frame is over.
        limit: usize,
    },
    /// `FrameError::Length` for this field value.
    LengthError {
        /// The value of the length field.
        value: u64,
    },
    /// `set_delimiter` or `set_limits` refused, with this error.
    Refused(DelimiterError),
    /// The driver did not make an idle change: the framer was discarding an oversized frame.
    Discarding,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Frame(frame) => write!(f, "Frame({:?})", Esc(frame)),
            Event::Overflow { limit } => write!(f, "Overflow(limit {limit})"),
            Event::LengthError { value } => write!(f, "LengthError(value {value})"),
            Event::Refused(err) => write!(f, "Refused({err:?})"),
            Event::Discarding => f.write_str("Discarding"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Framing,
    /// The oversized delimited frame is being dropped from `pos` (past its skipped bytes) up to
    /// its terminator.
    DiscardToTerminator,
    /// An oversized announced frame is being dropped; the next frame starts at this offset.
    SkipTo(u128),
    /// A length error was reported: nothing more, ever.
    Failed,
}

/// The reference model. See the module docs for the semantics.
#[derive(Debug, Clone)]
pub struct FramerModel {
    /// Every byte received (until a length error).
    received: Vec<u8>,
    /// Everything before this was delivered or discarded.
    pos: usize,
    state: State,
    delimiter: Delim,
    limits: ReadLimits,
}

impl FramerModel {
    /// A model with no delimiter and the given limits, like `Framer::new`.
    pub fn new(limits: ReadLimits) -> Self {
        Self {
            received: Vec::new(),
            pos: 0,
            state: State::Framing,
            delimiter: Delim::None,
            limits,
        }
    }

    /// The current delimiter.
    pub fn delimiter(&self) -> &Delim {
        &self.delimiter
    }

    /// The current limits.
    pub fn limits(&self) -> ReadLimits {
        self.limits
    }

    /// True while an oversized frame is being dropped.
    pub fn is_discarding(&self) -> bool {
        matches!(self.state, State::DiscardToTerminator | State::SkipTo(_))
    }

    /// Bytes received and not yet delivered nor known to be discarded.
    pub fn undelivered(&self) -> &[u8] {
        &self.received[self.pos..]
    }

    /// Receives `data`; dropped after a length error.
    pub fn push(&mut self, data: &[u8]) {
        if self.state == State::Failed || data.is_empty() {
            return;
        }
        self.received.extend_from_slice(data);
    }

    /// `Framer::settle`: it only moves bytes into the framer's own buffer, which changes no
    /// frame, so the model does nothing.
    pub fn settle(&mut self) {}

    /// Sets the delimiter, or refuses it as the framer does. Ends nothing: the model must not be
    /// changed while it is discarding (see the module docs).
    pub fn set_delimiter(&mut self, delimiter: &Delim) -> Result<(), DelimiterError> {
        assert!(
            !self.is_discarding(),
            "the model cannot follow a delimiter change in the middle of a discarded frame"
        );
        if let Some(err) = delimiter.refusal(self.limits.hard_limit()) {
            return Err(err);
        }
        self.delimiter = delimiter.clone();
        Ok(())
    }

    /// Sets the limits, or refuses them when the delimiter needs more than their hard limit.
    pub fn set_limits(&mut self, limits: ReadLimits) -> Result<(), DelimiterError> {
        assert!(
            !self.is_discarding(),
            "the model cannot follow a limit change in the middle of a discarded frame"
        );
        let needs = self.delimiter.needs();
        if needs > limits.hard_limit() {
            return Err(DelimiterError::OverHardLimit {
                size: needs,
                hard_limit: limits.hard_limit(),
            });
        }
        self.limits = limits;
        Ok(())
    }

    /// The next event, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Event> {
        self.next_event()
    }

    fn next_event(&mut self) -> Option<Event> {
        match self.state {
            State::Failed => return None,
            State::SkipTo(next) => {
                if (self.received.len() as u128) < next {
                    return None;
                }
                self.pos = usize::try_from(next).expect("within the received bytes");
                self.state = State::Framing;
            }
            State::DiscardToTerminator => {
                let terminators = self.delimiter.terminators();
                let (_, end) = first_match(&self.received[self.pos..], &terminators)?;
                self.pos += end;
                self.state = State::Framing;
            }
            State::Framing => {}
        }
        if self.pos == self.received.len() {
            return None;
        }
        match self.delimiter.clone() {
            Delim::None => {
                let frame = self.received[self.pos..].to_vec();
                self.pos = self.received.len();
                Some(Event::Frame(frame))
            }
            Delim::Count(n) => {
                let rest = &self.received[self.pos..];
                if rest.len() < n {
                    return None;
                }
                let frame = rest[..n].to_vec();
                self.pos += n;
                Some(Event::Frame(frame))
            }
            Delim::Prefix(prefix) => self.next_announced(&prefix),
            Delim::Custom(function) => self.next_custom(function),
            delimited => self.next_delimited(&delimited),
        }
    }

    /// A frame cut by a terminator searched for after the delimiter's skipped bytes (none but
    /// for [`Delim::After`]); offsets in `searched` count from the end of those bytes.
    fn next_delimited(&mut self, delimiter: &Delim) -> Option<Event> {
        let skip = delimiter.skipped();
        let limit = self.limits.limit();
        let frame_limit = skip + limit;
        let rest = &self.received[self.pos..];
        // Nothing is cut before all the skipped bytes are here.
        let searched = rest.get(skip..)?;
        if let Delim::After { skip: 1.., needle } = delimiter
            && !body_ends_with(&rest[..skip], needle)
        {
            // A body that does not end with the needle is the whole frame (after 0 bytes is
            // the byte string itself: no body to check).
            self.pos += skip;
            return Some(Event::Frame(rest[..skip].to_vec()));
        }
        match first_match(searched, &delimiter.terminators()) {
            Some((start, end)) if start <= limit => {
                let frame = rest[..skip + start].to_vec();
                self.pos += skip + end;
                Some(Event::Frame(frame))
            }
            Some((_, end)) => {
                // Over the limit, and its end is already here: drop it at once.
                self.pos += skip + end;
                Some(Event::Overflow { limit: frame_limit })
            }
            None if searched.len() >= limit + delimiter.max_terminator_len() => {
                // The skipped bytes go now; the rest goes up to the next terminator after them.
                self.pos += skip;
                self.state = State::DiscardToTerminator;
                Some(Event::Overflow { limit: frame_limit })
            }
            None => None,
        }
    }

    fn next_announced(&mut self, prefix: &Prefix) -> Option<Event> {
        let rest = &self.received[self.pos..];
        let header = prefix.header_len();
        if rest.len() < header {
            return None;
        }
        let value = prefix.read_field(&rest[prefix.field_offset..header]);
        let after = i128::from(value) + i128::from(prefix.adjustment);
        if after < 0 {
            self.state = State::Failed;
            self.received.clear();
            self.pos = 0;
            return Some(Event::LengthError { value });
        }
        let total = header as i128 + after;
        let body = total - prefix.strip_len() as i128;
        let hard_limit = self.limits.hard_limit();
        if body > hard_limit as i128 {
            self.state = State::SkipTo(self.pos as u128 + total as u128);
            return Some(Event::Overflow { limit: hard_limit });
        }
        if (rest.len() as i128) < total {
            return None;
        }
        let total = total as usize;
        let frame = rest[prefix.strip_len()..total].to_vec();
        self.pos += total;
        Some(Event::Frame(frame))
    }

    /// A frame as long as `function` says from at most the limit's worth of its first bytes:
    /// an overflow when it says more than the limit (the frame is dropped), or says nothing
    /// (0 is nothing) from that many (then nothing more is framed).
    fn next_custom(&mut self, function: CustomFn) -> Option<Event> {
        let limit = self.limits.limit();
        let rest = &self.received[self.pos..];
        let seen = &rest[..rest.len().min(limit)];
        // Known: the frame's size; or else how many bytes it needs at least.
        let (known, needs) = match function.size(seen) {
            FrameSize::Known(n) if n > 0 => (true, n),
            FrameSize::AtLeast(n) if n > seen.len() => (false, n),
            _ => (false, seen.len() + 1),
        };
        match (known, needs) {
            (true, n) if n <= limit => {
                let frame = rest.get(..n)?.to_vec();
                self.pos += n;
                Some(Event::Frame(frame))
            }
            (true, n) => {
                self.state = State::SkipTo((self.pos + n) as u128);
                Some(Event::Overflow { limit })
            }
            (false, n) if n > limit => {
                self.state = State::Failed;
                self.received.clear();
                self.pos = 0;
                Some(Event::Overflow { limit })
            }
            (false, _) => None,
        }
    }

    /// The unfinished frame's bytes, at EOF.
    pub fn take_partial(&mut self) -> Option<Vec<u8>> {
        match self.state {
            State::Framing => {
                let rest = self.received[self.pos..].to_vec();
                self.pos = self.received.len();
                (!rest.is_empty()).then_some(rest)
            }
            State::DiscardToTerminator => {
                // The framer drops what it kept while looking for the terminator.
                self.pos = self.received.len();
                None
            }
            State::SkipTo(_) | State::Failed => None,
        }
    }
}

/// A change the driver makes: after a delivered frame, or when the framer is idle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing.
    Keep,
    /// `set_delimiter`.
    Delimiter(Delim),
    /// `set_limits`.
    Limits(ReadLimits),
}

/// What the driver does after a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterPush {
    /// Takes frames until `next_frame` returns `None`.
    Drain,
    /// Calls `settle`, then drains.
    SettleThenDrain,
    /// Nothing: the next push comes on top (a channel not taking frames for a while).
    Wait,
}

/// One run of the driver:
///
/// 1. `Framer::new(limits)`, `set_delimiter(delimiter)`, drain (take frames until `None`);
/// 2. for each chunk: push it, then as `after_push[i % len]` says (drain when empty); after a
///    drain, apply `idle[i % len]` (nothing when empty) unless the framer is discarding an
///    oversized frame (then record [`Event::Discarding`] instead) and drain again;
/// 3. a last drain, then `take_partial`.
///
/// Each drain applies `script[k % len]` right after the k-th delivered frame (k counts from 0
/// over the whole run), before taking the next one.
#[derive(Clone)]
pub struct Scenario {
    /// The limits the framer starts with.
    pub limits: ReadLimits,
    /// The delimiter set before any input.
    pub delimiter: Delim,
    /// Changes after delivered frames, cycling.
    pub script: Vec<Step>,
    /// Changes once a push has been drained, cycling.
    pub idle: Vec<Step>,
    /// The input, as pushed.
    pub chunks: Vec<Vec<u8>>,
    /// What to do after each push, cycling.
    pub after_push: Vec<AfterPush>,
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("limits", &(self.limits.limit(), self.limits.hard_limit()))
            .field("delimiter", &self.delimiter)
            .field("script", &self.script)
            .field("idle", &self.idle)
            .field(
                "chunks",
                &self.chunks.iter().map(|c| Esc(c)).collect::<Vec<_>>(),
            )
            .field("after_push", &self.after_push)
            .finish()
    }
}

impl Scenario {
    /// A scenario with one delimiter, no changes, draining after every push.
    pub fn simple(limits: ReadLimits, delimiter: Delim, chunks: &[&[u8]]) -> Self {
        Self {
            limits,
            delimiter,
            script: Vec::new(),
            idle: Vec::new(),
            chunks: chunks.iter().map(|c| c.to_vec()).collect(),
            after_push: Vec::new(),
        }
    }

    /// All the input in one byte string.
    pub fn data(&self) -> Vec<u8> {
        self.chunks.concat()
    }

    /// The same scenario with all the input in one push.
    pub fn whole(&self) -> Self {
        Self {
            chunks: vec![self.data()],
            ..self.clone()
        }
    }

    /// Stops a runaway drain: every event but a refusal consumes at least one byte (or reports
    /// a length error once), so more events than this in one drain is a loop.
    fn max_events_per_drain(&self) -> usize {
        2 * self.chunks.iter().map(Vec::len).sum::<usize>() + 8
    }
}

fn cycle<T: Clone>(items: &[T], i: usize, default: T) -> T {
    if items.is_empty() {
        default
    } else {
        items[i % items.len()].clone()
    }
}

/// The events of one run, grouped: group 0 after setting the first delimiter, then one group per
/// push (empty when the driver did not drain), then the last drain; and what `take_partial`
/// gave at the end.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    /// Events, by push.
    pub groups: Vec<Vec<Event>>,
    /// `take_partial()` at the end.
    pub partial: Option<Vec<u8>>,
}

impl Trace {
    /// All events, in order, without the push they came with.
    pub fn events(&self) -> Vec<Event> {
        self.groups.concat()
    }

    /// The index of the group of each overflow, in order.
    pub fn overflow_groups(&self) -> Vec<usize> {
        let mut at = Vec::new();
        for (i, group) in self.groups.iter().enumerate() {
            for event in group {
                if matches!(event, Event::Overflow { .. }) {
                    at.push(i);
                }
            }
        }
        at
    }
}

/// What the driver drives: the model or a framer.
trait Subject {
    fn push(&mut self, chunk: &[u8]);
    fn settle(&mut self);
    fn next_event(&mut self) -> Option<Event>;
    fn set_delimiter(&mut self, delimiter: &Delim) -> Result<(), DelimiterError>;
    fn set_limits(&mut self, limits: ReadLimits) -> Result<(), DelimiterError>;
    fn is_discarding(&self) -> bool;
    fn take_partial(&mut self) -> Option<Vec<u8>>;
    /// Called each time a drain ended.
    fn idle(&mut self) {}
}

impl Subject for FramerModel {
    fn push(&mut self, chunk: &[u8]) {
        FramerModel::push(self, chunk);
    }

    fn settle(&mut self) {
        FramerModel::settle(self);
    }

    fn next_event(&mut self) -> Option<Event> {
        self.next_frame()
    }

    fn set_delimiter(&mut self, delimiter: &Delim) -> Result<(), DelimiterError> {
        FramerModel::set_delimiter(self, delimiter)
    }

    fn set_limits(&mut self, limits: ReadLimits) -> Result<(), DelimiterError> {
        FramerModel::set_limits(self, limits)
    }

    fn is_discarding(&self) -> bool {
        FramerModel::is_discarding(self)
    }

    fn take_partial(&mut self) -> Option<Vec<u8>> {
        FramerModel::take_partial(self)
    }
}

/// What the driver shows an observer each time `next_frame` returned `None`.
pub struct Idle<'a> {
    /// The framer.
    pub framer: &'a Framer,
    /// Its current delimiter, as the driver set it.
    pub delimiter: &'a Delim,
    /// The latest non-empty chunk pushed; the driver dropped every frame it received.
    pub last_chunk: Option<&'a Bytes>,
}

struct FramerSubject<'a> {
    framer: Framer,
    delimiter: Delim,
    last_chunk: Option<Bytes>,
    overflows: Vec<OverflowError>,
    on_idle: &'a mut dyn FnMut(Idle<'_>),
}

impl Subject for FramerSubject<'_> {
    fn push(&mut self, chunk: &[u8]) {
        let chunk = Bytes::from(chunk.to_vec());
        self.framer.push(chunk.clone());
        if !chunk.is_empty() {
            self.last_chunk = Some(chunk);
        }
    }

    fn settle(&mut self) {
        self.framer.settle();
    }

    fn next_event(&mut self) -> Option<Event> {
        Some(match self.framer.next_frame()? {
            Ok(frame) => Event::Frame(frame.to_vec()),
            Err(FrameError::Overflow(err)) => {
                self.overflows.push(err);
                Event::Overflow { limit: err.limit() }
            }
            Err(FrameError::Length(err)) => Event::LengthError { value: err.value() },
            Err(other) => panic!("a framer error the model does not know: {other}"),
        })
    }

    fn set_delimiter(&mut self, delimiter: &Delim) -> Result<(), DelimiterError> {
        set_framer_delimiter(&mut self.framer, delimiter)?;
        self.delimiter = delimiter.clone();
        Ok(())
    }

    fn set_limits(&mut self, limits: ReadLimits) -> Result<(), DelimiterError> {
        self.framer.set_limits(limits)
    }

    fn is_discarding(&self) -> bool {
        self.framer.is_discarding()
    }

    fn take_partial(&mut self) -> Option<Vec<u8>> {
        self.framer.take_partial().map(|partial| partial.to_vec())
    }

    fn idle(&mut self) {
        (self.on_idle)(Idle {
            framer: &self.framer,
            delimiter: &self.delimiter,
            last_chunk: self.last_chunk.as_ref(),
        });
    }
}

/// Builds and sets `delimiter` on `framer`.
pub fn set_framer_delimiter(framer: &mut Framer, delimiter: &Delim) -> Result<(), DelimiterError> {
    framer.set_delimiter(delimiter.to_read_delimiter()?)
}

/// Runs `scenario` through the model.
pub fn run_model(scenario: &Scenario) -> Trace {
    drive(&mut FramerModel::new(scenario.limits), scenario)
}

/// Runs `scenario` through a real [`Framer`], calling `on_idle` after every drain. Returns the
/// trace and every overflow error as the framer reported it.
pub fn run_framer(
    scenario: &Scenario,
    on_idle: &mut dyn FnMut(Idle<'_>),
) -> (Trace, Vec<OverflowError>) {
    let mut subject = FramerSubject {
        framer: Framer::new(scenario.limits),
        delimiter: Delim::None,
        last_chunk: None,
        overflows: Vec::new(),
        on_idle,
    };
    let trace = drive(&mut subject, scenario);
    (trace, subject.overflows)
}

fn drive(subject: &mut impl Subject, scenario: &Scenario) -> Trace {
    let mut driver = Driver {
        scenario,
        delivered: 0,
        group: Vec::new(),
    };
    let mut trace = Trace::default();
    let first = Step::Delimiter(scenario.delimiter.clone());
    driver.apply(subject, &first);
    driver.drain(subject);
    trace.groups.push(driver.take_group());
    for (i, chunk) in scenario.chunks.iter().enumerate() {
        subject.push(chunk);
        let after = cycle(&scenario.after_push, i, AfterPush::Drain);
        if after != AfterPush::Wait {
            if after == AfterPush::SettleThenDrain {
                subject.settle();
            }
            driver.drain(subject);
            match cycle(&scenario.idle, i, Step::Keep) {
                Step::Keep => {}
                _ if subject.is_discarding() => driver.group.push(Event::Discarding),
                step => {
                    driver.apply(subject, &step);
                    driver.drain(subject);
                }
            }
        }
        trace.groups.push(driver.take_group());
    }
    driver.drain(subject);
    trace.groups.push(driver.take_group());
    trace.partial = subject.take_partial();
    trace
}

struct Driver<'a> {
    scenario: &'a Scenario,
    delivered: usize,
    group: Vec<Event>,
}

impl Driver<'_> {
    fn take_group(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.group)
    }

    fn apply(&mut self, subject: &mut impl Subject, step: &Step) {
        let result = match step {
            Step::Keep => Ok(()),
            Step::Delimiter(d) => subject.set_delimiter(d),
            Step::Limits(limits) => subject.set_limits(*limits),
        };
        if let Err(err) = result {
            self.group.push(Event::Refused(err));
        }
    }

    fn drain(&mut self, subject: &mut impl Subject) {
        let mut events = 0;
        while let Some(event) = subject.next_event() {
            events += 1;
            assert!(
                events <= self.scenario.max_events_per_drain(),
                "runaway drain: {:?}",
                self.group
            );
            let is_frame = matches!(event, Event::Frame(_));
            self.group.push(event);
            if is_frame {
                let step = cycle(&self.scenario.script, self.delivered, Step::Keep);
                self.delivered += 1;
                self.apply(subject, &step);
            }
        }
        subject.idle();
    }
}
