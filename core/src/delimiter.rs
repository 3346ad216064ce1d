//! Read delimiters: how a channel cuts the bytes it receives into frames (Pants' `read_delimiter`).

use std::fmt;
use std::sync::Arc;

use memchr::memmem;

use crate::error::DelimiterError;
use crate::frame_size::{FrameSize, SizeFn};
use crate::length_prefix::LengthPrefix;
#[cfg(feature = "regex")]
use crate::regex_delimiter::RegexDelimiter;

/// How incoming bytes are cut into the frames that `on_read` receives.
///
/// | delimiter | a frame is |
/// |---|---|
/// | [`none`](Self::none) (the default) | whatever arrived, as it arrived, without copying |
/// | [`bytes`](Self::bytes) (`b"\r\n"`) | the bytes before the next occurrence; the delimiter is consumed |
/// | [`count`](Self::count) (`n`) | exactly `n` bytes |
/// | [`after`](Self::after) (`n`) on a byte string | `n` bytes, then the bytes before the next occurrence |
/// | [`length_prefix`](Self::length_prefix) | the body announced by a length field |
/// | [`skip`](Self::skip) (`n`) | nothing: `n` bytes are dropped as they arrive, then an empty frame |
/// | `regex` (feature `regex`) | the bytes before the first match; the match is consumed |
/// | [`custom`](Self::custom) (a function) | as many bytes as the function says, from the frame's first bytes |
///
/// Building a byte-string delimiter of two bytes or more, or a regex delimiter, compiles a
/// searcher; clones share it, so a protocol that switches delimiters often (a header line, then
/// a body by count) keeps one and clones it. One-byte delimiters and counts never allocate.
///
/// Anything that converts into a delimiter can be given where one is set (a string, bytes, a
/// count, a [`LengthPrefix`], or `&delimiter` for one kept by the handler), and invalid values
/// are refused there with a [`DelimiterError`]:
///
/// ```
/// use pants_core::ReadDelimiter;
///
/// let line = ReadDelimiter::try_from("\r\n")?;
/// let body = ReadDelimiter::try_from(512usize)?;
/// assert_eq!(line, ReadDelimiter::bytes(b"\r\n")?);
/// assert_eq!(body.as_count(), Some(512));
/// assert!(ReadDelimiter::try_from("").is_err());
/// assert!(ReadDelimiter::try_from(0usize).is_err());
/// # Ok::<(), pants_core::DelimiterError>(())
/// ```
#[derive(Clone, Default)]
pub struct ReadDelimiter {
    pub(crate) kind: Kind,
}

#[derive(Clone, Default)]
pub(crate) enum Kind {
    #[default]
    None,
    /// A one-byte delimiter: no searcher to share, found by [`OneByte`].
    Byte(OneByte),
    /// A delimiter of two bytes or more.
    Bytes(Arc<ByteSearch>),
    Count(usize),
    /// A one-byte delimiter searched for only after the first `skip` bytes.
    ByteAfter {
        skip: u32,
        byte: OneByte,
    },
    /// A delimiter of two bytes or more searched for only after the first `skip` bytes.
    BytesAfter {
        skip: u32,
        search: Arc<ByteSearch>,
    },
    LengthPrefix(Arc<LengthPrefix>),
    #[cfg(feature = "regex")]
    Regex(Arc<RegexDelimiter>),
    /// Frames as long as a function of the handler's says.
    Custom(Arc<SizeFn>),
    /// Bytes dropped as they arrive, then an empty frame.
    Skip(u64),
}

impl ReadDelimiter {
    /// No delimiter: every read is delivered as it arrived.
    pub fn none() -> Self {
        Self { kind: Kind::None }
    }

    /// Frames end at the byte `delimiter`, which is consumed: [`bytes`](Self::bytes) for one
    /// byte, infallible and usable in a `const`.
    ///
    /// ```
    /// use pants_core::ReadDelimiter;
    ///
    /// const LINE: ReadDelimiter = ReadDelimiter::byte(b'\n');
    /// assert_eq!(LINE, ReadDelimiter::bytes(b"\n")?);
    /// # Ok::<(), pants_core::DelimiterError>(())
    /// ```
    pub const fn byte(delimiter: u8) -> Self {
        Self {
            kind: Kind::Byte(OneByte(delimiter)),
        }
    }

    /// Frames end at `delimiter` (one byte or more), which is consumed.
    pub fn bytes(delimiter: impl AsRef<[u8]>) -> Result<Self, DelimiterError> {
        let needle = delimiter.as_ref();
        if needle.is_empty() {
            return Err(DelimiterError::EmptyBytes);
        }
        if let [byte] = needle {
            return Ok(Self::byte(*byte));
        }
        let finder = memmem::Finder::new(needle).into_owned();
        Ok(Self {
            kind: Kind::Bytes(Arc::new(ByteSearch { finder })),
        })
    }

    /// Frames of exactly `n` bytes (`n >= 1`).
    #[inline]
    pub fn count(n: usize) -> Result<Self, DelimiterError> {
        if n == 0 {
            return Err(DelimiterError::ZeroCount);
        }
        Ok(Self {
            kind: Kind::Count(n),
        })
    }

    /// Drops the next `n` bytes (`n >= 1`) as they arrive, without buffering them, then delivers
    /// an empty frame: the handler hears that they are gone and sets its next delimiter (or
    /// the next `n` bytes are skipped too). For refusing a body whose length was announced
    /// (too large, or not wanted) and reading on after it. Not bounded by the read limits,
    /// since nothing is held.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use pants_core::{ReadDelimiter, ReadLimits};
    /// use pants_core::channel::Framer;
    ///
    /// let mut framer = Framer::new(ReadLimits::default());
    /// framer.set_delimiter(ReadDelimiter::skip(1_000_000)?)?;
    /// framer.push(Bytes::from(vec![0; 999_999]));
    /// assert!(framer.next_frame().is_none()); // dropped, not held
    /// assert_eq!(framer.buffered(), 0);
    /// framer.push(Bytes::from_static(b"xSET k\r\n"));
    /// assert_eq!(framer.next_frame().unwrap().unwrap(), ""); // the skip is over
    /// framer.set_delimiter(ReadDelimiter::bytes("\r\n")?)?;
    /// assert_eq!(framer.next_frame().unwrap().unwrap(), "SET k");
    /// # Ok::<(), pants_core::DelimiterError>(())
    /// ```
    pub fn skip(n: u64) -> Result<Self, DelimiterError> {
        if n == 0 {
            return Err(DelimiterError::ZeroCount);
        }
        Ok(Self {
            kind: Kind::Skip(n),
        })
    }

    /// Frames announced by a length field; see [`LengthPrefix`].
    pub fn length_prefix(prefix: LengthPrefix) -> Result<Self, DelimiterError> {
        prefix.validate()?;
        Ok(Self {
            kind: Kind::LengthPrefix(Arc::new(prefix)),
        })
    }

    /// Frames end at the first match of `pattern` (a [`regex::bytes::Regex`]), which is consumed.
    ///
    /// The pattern must not match the empty string. A pattern with a longest match (`\r?\n`)
    /// is searched incrementally, resuming where the last search stopped; one without
    /// (`\s\s+`) is searched again within the read limit as bytes arrive, since no match is
    /// looked for beyond the limit. A match is
    /// final once it is found in the bytes received so far, as in Pants: prefer patterns such
    /// as `\r?\n` whose matches do not depend on bytes that have not arrived yet.
    #[cfg(feature = "regex")]
    pub fn regex(pattern: &str) -> Result<Self, DelimiterError> {
        let regex = RegexDelimiter::new(pattern)?;
        Ok(Self {
            kind: Kind::Regex(Arc::new(regex)),
        })
    }

    /// Frames whose size the function `size` tells from their first bytes: a protocol's own
    /// framing, where neither a delimiter nor a length field at a fixed place says where a
    /// frame ends (a netstring, an MQTT packet's variable-length size, a whole RESP command).
    /// As tokio-util's `Decoder` or Netty's `ByteToMessageDecoder` find frames, but without
    /// taking the bytes: the whole frame is lent to `on_read` in place, as every other frame.
    ///
    /// `size` is given the bytes held from the frame's start (at most the read limit of them)
    /// and answers:
    /// - [`FrameSize::Known`]`(n)`: the frame is the first `n` bytes. When fewer are here, the
    ///   framer waits for them and does not ask again until they are.
    /// - [`FrameSize::AtLeast`]`(n)`: not known yet, but the frame is at least `n` bytes (a
    ///   body of known length, then more of the frame): it is asked again once `n` bytes are
    ///   here, not before.
    /// - [`FrameSize::Unknown`]: the bytes do not tell yet. It is asked again, from the
    ///   frame's start, each time more bytes arrive; so it should announce a size (or a
    ///   least size) as soon as the bytes tell it, and its work should not grow with what it
    ///   has seen already.
    ///
    /// (A read that ends inside a frame may have it asked twice about the same bytes: once
    /// as the read's frames are lent, once as its rest is kept.)
    ///
    /// It must answer from the frame's own bytes: the same bytes always get the same answer,
    /// and a size, once it can be told, does not change as more bytes arrive (so frames are
    /// cut alike however the bytes were split). It must not panic: it runs in the engine,
    /// outside the handler's panic guard. Bytes that start no valid frame are best given to
    /// the handler as a frame of their own (a size of 1, or up to the next line), to be
    /// answered and closed there.
    ///
    /// **Limits.** A frame is bounded by the read limit, as a line is. A frame announced
    /// longer is an overflow, discarded whole (its bytes are dropped as they arrive; under
    /// [`OverflowPolicy::Discard`](crate::OverflowPolicy) reading goes on after it). One whose
    /// size is still unknown when the read limit's worth of bytes is here, or said to be at
    /// least more than the limit, is an overflow with no end to discard to: nothing says where the next frame starts (its tail could pass
    /// for one), so framing stops and the stream closes, whatever the overflow policy, as
    /// after a length prefix that describes no frame.
    ///
    /// The function is never asked about zero bytes. Clones of one custom delimiter are equal;
    /// two made from the same function are not (functions are told apart by where they are).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use pants_core::{FrameSize, ReadDelimiter, ReadLimits};
    /// use pants_core::channel::Framer;
    ///
    /// // Netstrings: `5:hello,`, the length in decimal (here at most 9 digits), a colon, the
    /// // bytes, a comma.
    /// fn netstring(bytes: &[u8]) -> FrameSize {
    ///     let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    ///     match bytes.get(digits) {
    ///         None if digits <= 9 => FrameSize::Unknown, // the length is still arriving
    ///         Some(b':') if (1..=9).contains(&digits) => {
    ///             let len: usize = std::str::from_utf8(&bytes[..digits]).unwrap().parse().unwrap();
    ///             FrameSize::Known(digits + 1 + len + 1)
    ///         }
    ///         _ => FrameSize::Known(1), // not a netstring: a byte for the handler to refuse
    ///     }
    /// }
    ///
    /// let mut framer = Framer::new(ReadLimits::default());
    /// framer.set_delimiter(ReadDelimiter::custom(netstring))?;
    /// framer.push(Bytes::from_static(b"5:hello,3:ab"));
    /// assert_eq!(framer.next_frame().unwrap().unwrap(), "5:hello,");
    /// assert!(framer.next_frame().is_none()); // 3 of the 6 bytes are here
    /// framer.push(Bytes::from_static(b"c,"));
    /// assert_eq!(framer.next_frame().unwrap().unwrap(), "3:abc,");
    /// # Ok::<(), pants_core::DelimiterError>(())
    /// ```
    pub fn custom(size: impl Fn(&[u8]) -> FrameSize + Send + Sync + 'static) -> Self {
        Self {
            kind: Kind::Custom(Arc::new(SizeFn::new(size))),
        }
    }

    /// This byte-string delimiter, searched for only after the first `n` bytes of each frame:
    /// a body of `n` bytes that ends with the delimiter, then the bytes up to the next
    /// delimiter, which is consumed. The delimiter inside the body does not count.
    ///
    /// For a body of known length and the line that follows it, read as one frame: a RESP bulk
    /// argument (and its `\r\n`) with the `$len` line of the next one, an HTTP chunk (and its
    /// `\r\n`) with the size line of the next, a memcached data block with the next command.
    /// Every protocol that announces a body's length in a line has this shape; reading the
    /// pair as one frame spares a dispatch and a delimiter change per body (about 160
    /// instructions, 7% of a pipelined `SET`: `benches/engine_instructions.sh`), which is why
    /// the delimiter set has it beside a plain count. When the `n` bytes do not end with the delimiter, they are the
    /// frame alone, as soon as they are in: a body of the wrong length is caught at once, not
    /// when the next line ends. The `n` bytes count against the hard read limit, as a count
    /// does (a larger `n` is refused when set); the bytes after them against the read limit,
    /// as a line does. `after(0)` is the delimiter itself; `n` must otherwise hold at least
    /// the delimiter. Only byte-string delimiters can be searched for after a count; on a
    /// delimiter searched after a count already, `after` sets a new count.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use pants_core::{ReadDelimiter, ReadLimits};
    /// use pants_core::channel::Framer;
    ///
    /// let mut framer = Framer::new(ReadLimits::default());
    /// // A 5-byte body that holds the delimiter and ends with it, then a line.
    /// framer.set_delimiter(ReadDelimiter::byte(b'\n').after(5)?)?;
    /// framer.push(Bytes::from_static(b"a\nb\r\n$3\nnext"));
    /// assert_eq!(framer.next_frame().unwrap().unwrap(), "a\nb\r\n$3");
    /// // A body that does not end with it is a frame of its own.
    /// framer.push(Bytes::from_static(b"!"));
    /// assert_eq!(framer.next_frame().unwrap().unwrap(), "next!");
    /// assert!(ReadDelimiter::count(5)?.after(5).is_err());
    /// # Ok::<(), pants_core::DelimiterError>(())
    /// ```
    #[inline]
    pub fn after(self, n: usize) -> Result<Self, DelimiterError> {
        // A hard limit is below 4 GiB, so a larger count would be refused when set anyway.
        let skip = u32::try_from(n).map_err(|_| DelimiterError::OverHardLimit {
            size: n,
            hard_limit: u32::MAX as usize,
        })?;
        let needle = self.as_bytes().ok_or(DelimiterError::NotSearched)?;
        if n != 0 && n < needle.len() {
            return Err(DelimiterError::BodyShorterThanDelimiter {
                body: n,
                delimiter: needle.len(),
            });
        }
        let kind = match self.kind {
            Kind::Byte(byte) | Kind::ByteAfter { byte, .. } if skip == 0 => Kind::Byte(byte),
            Kind::Bytes(search) | Kind::BytesAfter { search, .. } if skip == 0 => {
                Kind::Bytes(search)
            }
            Kind::Byte(byte) | Kind::ByteAfter { byte, .. } => Kind::ByteAfter { skip, byte },
            Kind::Bytes(search) | Kind::BytesAfter { search, .. } => {
                Kind::BytesAfter { skip, search }
            }
            _ => return Err(DelimiterError::NotSearched),
        };
        Ok(Self { kind })
    }

    /// How many bytes of each frame come before the delimiter is searched for: the `n` of
    /// [`after`](Self::after), 0 for every other delimiter.
    pub fn skipped(&self) -> usize {
        match self.kind {
            Kind::ByteAfter { skip, .. } | Kind::BytesAfter { skip, .. } => skip as usize,
            _ => 0,
        }
    }

    /// How many bytes are dropped, for a [`skip`](Self::skip).
    pub fn skip_len(&self) -> Option<u64> {
        match self.kind {
            Kind::Skip(n) => Some(n),
            _ => None,
        }
    }

    /// True for the pass-through delimiter [`none`](Self::none).
    pub fn is_none(&self) -> bool {
        matches!(self.kind, Kind::None)
    }

    /// The delimiter's bytes, for a byte-string delimiter.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Byte(byte) | Kind::ByteAfter { byte, .. } => Some(byte.needle()),
            Kind::Bytes(search) | Kind::BytesAfter { search, .. } => Some(search.needle()),
            _ => None,
        }
    }

    /// The frame size, for a count delimiter.
    pub fn as_count(&self) -> Option<usize> {
        match self.kind {
            Kind::Count(n) => Some(n),
            _ => None,
        }
    }

    /// The length-prefix layout, for a length-prefix delimiter.
    pub fn as_length_prefix(&self) -> Option<&LengthPrefix> {
        match &self.kind {
            Kind::LengthPrefix(prefix) => Some(prefix),
            _ => None,
        }
    }
}

impl PartialEq for ReadDelimiter {
    fn eq(&self, other: &Self) -> bool {
        match (&self.kind, &other.kind) {
            (Kind::None, Kind::None) => true,
            (Kind::Byte(a), Kind::Byte(b)) => a.0 == b.0,
            (Kind::Bytes(a), Kind::Bytes(b)) => a.needle() == b.needle(),
            (Kind::Count(a), Kind::Count(b)) => a == b,
            (Kind::ByteAfter { skip: n, byte: a }, Kind::ByteAfter { skip: m, byte: b }) => {
                n == m && a.0 == b.0
            }
            (Kind::BytesAfter { skip: n, search: a }, Kind::BytesAfter { skip: m, search: b }) => {
                n == m && a.needle() == b.needle()
            }
            (Kind::LengthPrefix(a), Kind::LengthPrefix(b)) => a == b,
            (Kind::Skip(a), Kind::Skip(b)) => a == b,
            // Two functions are told apart by where they are: clones of one delimiter are equal.
            (Kind::Custom(a), Kind::Custom(b)) => Arc::ptr_eq(a, b),
            #[cfg(feature = "regex")]
            (Kind::Regex(a), Kind::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Eq for ReadDelimiter {}

impl fmt::Debug for ReadDelimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::None => f.write_str("ReadDelimiter::None"),
            Kind::Byte(OneByte(byte)) => {
                write!(f, "ReadDelimiter::Bytes(\"{}\")", [*byte].escape_ascii())
            }
            Kind::Bytes(search) => {
                write!(
                    f,
                    "ReadDelimiter::Bytes(\"{}\")",
                    search.needle().escape_ascii()
                )
            }
            Kind::Count(n) => write!(f, "ReadDelimiter::Count({n})"),
            Kind::ByteAfter { skip, byte } => write!(
                f,
                "ReadDelimiter::BytesAfter({skip}, \"{}\")",
                byte.needle().escape_ascii()
            ),
            Kind::BytesAfter { skip, search } => write!(
                f,
                "ReadDelimiter::BytesAfter({skip}, \"{}\")",
                search.needle().escape_ascii()
            ),
            Kind::LengthPrefix(prefix) => write!(f, "ReadDelimiter::LengthPrefix({prefix:?})"),
            Kind::Skip(n) => write!(f, "ReadDelimiter::Skip({n})"),
            Kind::Custom(_) => f.write_str("ReadDelimiter::Custom"),
            #[cfg(feature = "regex")]
            Kind::Regex(regex) => write!(f, "ReadDelimiter::Regex({:?})", regex.as_str()),
        }
    }
}

/// What can be set as a read delimiter: a [`ReadDelimiter`] (by value or by reference), or
/// anything that converts into one (`"\r\n"`, `b"\n"`, a count, a [`LengthPrefix`]).
pub trait IntoReadDelimiter {
    /// The delimiter, or why this value is not one.
    fn into_read_delimiter(self) -> Result<ReadDelimiter, DelimiterError>;
}

impl<T: TryInto<ReadDelimiter, Error = DelimiterError>> IntoReadDelimiter for T {
    #[inline]
    fn into_read_delimiter(self) -> Result<ReadDelimiter, DelimiterError> {
        self.try_into()
    }
}

impl IntoReadDelimiter for ReadDelimiter {
    #[inline]
    fn into_read_delimiter(self) -> Result<ReadDelimiter, DelimiterError> {
        Ok(self)
    }
}

/// A delimiter the handler keeps is set by reference: the clone shares its compiled searcher.
impl TryFrom<&ReadDelimiter> for ReadDelimiter {
    type Error = DelimiterError;

    #[inline]
    fn try_from(delimiter: &ReadDelimiter) -> Result<Self, DelimiterError> {
        Ok(delimiter.clone())
    }
}

impl TryFrom<&[u8]> for ReadDelimiter {
    type Error = DelimiterError;

    fn try_from(delimiter: &[u8]) -> Result<Self, DelimiterError> {
        Self::bytes(delimiter)
    }
}

impl<const N: usize> TryFrom<&[u8; N]> for ReadDelimiter {
    type Error = DelimiterError;

    fn try_from(delimiter: &[u8; N]) -> Result<Self, DelimiterError> {
        Self::bytes(delimiter)
    }
}

impl TryFrom<&str> for ReadDelimiter {
    type Error = DelimiterError;

    fn try_from(delimiter: &str) -> Result<Self, DelimiterError> {
        Self::bytes(delimiter)
    }
}

impl TryFrom<usize> for ReadDelimiter {
    type Error = DelimiterError;

    #[inline]
    fn try_from(n: usize) -> Result<Self, DelimiterError> {
        Self::count(n)
    }
}

impl TryFrom<LengthPrefix> for ReadDelimiter {
    type Error = DelimiterError;

    fn try_from(prefix: LengthPrefix) -> Result<Self, DelimiterError> {
        Self::length_prefix(prefix)
    }
}

/// A byte-string delimiter as the framer searches for it: one implementation per kind, so
/// that each framing loop is compiled for its own search, with no branch between them.
pub(crate) trait Needle {
    /// The delimiter's bytes.
    fn needle(&self) -> &[u8];
    /// Where the delimiter first starts in `haystack`.
    fn find(&self, haystack: &[u8]) -> Option<usize>;
}

/// A compiled delimiter of two bytes or more.
pub(crate) struct ByteSearch {
    finder: memmem::Finder<'static>,
}

impl Needle for ByteSearch {
    fn needle(&self) -> &[u8] {
        self.finder.needle()
    }

    #[inline(always)]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        self.finder.find(haystack)
    }
}

/// A one-byte delimiter (`\n`). Protocols that switch delimiters often (a line, then counts)
/// mostly search short lines, where a loop beats `memchr`'s setup and `memmem`'s layers
/// around it; and it needs no shared searcher, so setting it touches no reference count.
///
/// Aligned as a word, so that every [`Kind`] keeps its payload in the same word and moves as
/// two: with the byte alone the compiler moved a delimiter in five pieces, on every change.
#[derive(Clone, Copy)]
#[repr(align(8))]
pub(crate) struct OneByte(u8);

/// Bytes looked at one by one before `memchr` is asked: short lines (a RESP header, `$3`)
/// end within them.
const SHORT_SCAN: usize = 8;

impl Needle for OneByte {
    fn needle(&self) -> &[u8] {
        std::slice::from_ref(&self.0)
    }

    #[inline(always)]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        let byte = self.0;
        let head = &haystack[..haystack.len().min(SHORT_SCAN)];
        match head.iter().position(|&b| b == byte) {
            Some(at) => Some(at),
            None => memchr::memchr(byte, &haystack[head.len()..]).map(|at| head.len() + at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_finds_the_first_match_before_within_and_after_the_short_scan() {
        for len in 0..40 {
            for at in 0..len {
                let mut haystack = vec![b'a'; len];
                haystack[at] = b'\n';
                if at + 3 < len {
                    haystack[at + 3] = b'\n';
                }
                assert_eq!(
                    OneByte(b'\n').find(&haystack),
                    Some(at),
                    "len {len}, at {at}"
                );
            }
            assert_eq!(OneByte(b'\n').find(&vec![b'a'; len]), None, "len {len}");
        }
    }

    /// 16 bytes, whatever the kind (a count searched after, too): every stream holds one,
    /// and a delimiter change moves it.
    #[test]
    fn a_delimiter_is_16_bytes() {
        assert_eq!(size_of::<ReadDelimiter>(), 16);
    }

    #[test]
    fn empty_bytes_and_zero_count_are_refused() {
        assert_eq!(
            ReadDelimiter::bytes(b"").unwrap_err(),
            DelimiterError::EmptyBytes
        );
        assert_eq!(
            ReadDelimiter::count(0).unwrap_err(),
            DelimiterError::ZeroCount
        );
    }

    #[test]
    fn conversions_build_the_matching_kind() {
        assert_eq!(
            ReadDelimiter::try_from(b"\n").unwrap().as_bytes(),
            Some(&b"\n"[..])
        );
        assert_eq!(ReadDelimiter::try_from(7usize).unwrap().as_count(), Some(7));
        assert!(ReadDelimiter::default().is_none());
        let prefix = ReadDelimiter::try_from(LengthPrefix::new(2)).unwrap();
        assert_eq!(prefix.as_length_prefix(), Some(&LengthPrefix::new(2)));
    }

    #[test]
    fn a_kept_delimiter_converts_by_reference_sharing_its_searcher() {
        let line = ReadDelimiter::bytes(b"\r\n").unwrap();
        let again = ReadDelimiter::try_from(&line).unwrap();
        let (Kind::Bytes(a), Kind::Bytes(b)) = (&line.kind, &again.kind) else {
            panic!()
        };
        assert!(Arc::ptr_eq(a, b));
    }

    #[test]
    fn debug_shows_escaped_bytes() {
        let line = ReadDelimiter::bytes(b"\r\n").unwrap();
        assert_eq!(format!("{line:?}"), r#"ReadDelimiter::Bytes("\r\n")"#);
    }
}
