//! [`Frame`]: what `on_read` receives, lent rather than given, so that a frame the handler only
//! looks at costs no reference count.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// One frame, as [`Handler::on_read`](crate::Handler::on_read) receives it: its bytes, to read
/// in place (`Frame` dereferences to `[u8]`), or to keep with [`into_bytes`](Self::into_bytes)
/// without a copy.
///
/// A frame is most often the start of the buffer the driver read into. Lending it costs
/// nothing; turning it into [`Bytes`] takes a reference to that buffer (an atomic increment,
/// and the decrement when the `Bytes` is dropped). A handler that parses a frame and drops it,
/// as most do with most frames, pays for neither.
///
/// ```
/// use bytes::Bytes;
/// use pants_core::Frame;
///
/// let read = Bytes::from_static(b"PING\r\nrest");
/// let frame = Frame::lent(&read, 4);
/// assert_eq!(&frame[..], b"PING");
/// assert_eq!(frame, "PING");
/// let kept: Bytes = frame.into_bytes(); // shares `read`'s memory
/// assert_eq!(kept, "PING");
/// ```
#[derive(Clone, Copy)]
pub struct Frame<'a> {
    /// The frame's bytes.
    bytes: &'a [u8],
    /// The buffer they are part of, which `into_bytes` slices.
    chunk: &'a Bytes,
}

impl<'a> Frame<'a> {
    /// The first `len` bytes of `chunk` (all of it when `len` is larger).
    #[inline]
    pub fn lent(chunk: &'a Bytes, len: usize) -> Self {
        Frame {
            bytes: &chunk[..len.min(chunk.len())],
            chunk,
        }
    }

    /// `len` bytes of `chunk` from `skip` on (they are all in it: the frame search found them
    /// there).
    #[inline]
    pub(crate) fn within(chunk: &'a Bytes, skip: usize, len: usize) -> Self {
        Frame {
            bytes: &chunk[skip..skip + len],
            chunk,
        }
    }

    /// All of `chunk`.
    #[inline]
    pub fn whole(chunk: &'a Bytes) -> Self {
        Frame {
            bytes: chunk,
            chunk,
        }
    }

    /// The frame's bytes as a `Bytes` of their own, without copying them.
    #[inline]
    pub fn into_bytes(self) -> Bytes {
        self.chunk.slice_ref(self.bytes)
    }

    /// The frame's bytes as a slice: what dereferencing gives, for the whole lifetime `'a`.
    #[inline]
    pub fn as_slice(&self) -> &'a [u8] {
        self.bytes
    }
}

impl Deref for Frame<'_> {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Frame<'_> {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<Frame<'_>> for Bytes {
    fn from(frame: Frame<'_>) -> Bytes {
        frame.into_bytes()
    }
}

impl fmt::Debug for Frame<'_> {
    /// As `Bytes` shows itself: `b"..."` with escapes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_slice().escape_ascii())
    }
}

impl PartialEq<[u8]> for Frame<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u8]> for Frame<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Frame<'_> {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == &other[..]
    }
}

impl PartialEq<str> for Frame<'_> {
    fn eq(&self, other: &str) -> bool {
        self.as_slice() == other.as_bytes()
    }
}

impl PartialEq<&str> for Frame<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.as_slice() == other.as_bytes()
    }
}

impl PartialEq for Frame<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Frame<'_> {}
