//! [`Frame`]: what `on_read` receives, lent rather than given, so that a frame the handler only
//! looks at costs no reference count.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// One frame, as [`Handler::on_read`](crate::Handler::on_read) receives it: its bytes, lent
/// for the call, to read in place (`Frame` dereferences to `[u8]`), or to keep.
///
/// A frame is most often a slice of the buffer the driver read into, which holds other frames
/// and room for the next reads (64 KiB with the drivers of pants). Lending it costs nothing. To
/// keep it:
///
/// - [`into_bytes`](Self::into_bytes), the way to keep a frame: a frame under
///   [`Frame::SHARE_FROM`] bytes is copied into a `Bytes` of its own, a larger one shares the
///   read buffer (a reference count, no copy). A kept small frame then holds its own bytes
///   only, however long it is kept; a kept large one holds at most the buffer it came from,
///   a few times its size. (Sharing every frame, a cache of small values kept a whole read
///   buffer alive for each: 2,001 values of a few bytes held 102 MB.)
/// - [`share`](Self::share): always shares, never copies: for a frame passed on at once, such
///   as a proxy's write of what it read. `cx.write(frame)` converts with `into_bytes`.
/// - `frame.to_vec()` (through `Deref`), for bytes you will change.
///
/// ```
/// use bytes::Bytes;
/// use pants_core::Frame;
///
/// let read = Bytes::from(vec![b'x'; 64 * 1024]);
/// let small = Frame::lent(&read, 5);
/// assert_eq!(&small[..], b"xxxxx");
/// let kept: Bytes = small.into_bytes(); // a copy: it does not keep 64 KiB alive
/// assert_ne!(kept.as_ptr(), read.as_ptr());
/// let large = Frame::lent(&read, 32 * 1024);
/// assert_eq!(large.into_bytes().as_ptr(), read.as_ptr()); // shared
/// assert_eq!(small.share().as_ptr(), read.as_ptr()); // shared on request
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

    /// Frames from this many bytes on are shared by [`into_bytes`](Self::into_bytes) rather
    /// than copied: a quarter of the drivers' 64 KiB read buffer, so that a kept frame never
    /// holds more than about four times its size; below it, a copy costs less than the memory
    /// it saves.
    pub const SHARE_FROM: usize = 16 * 1024;

    /// The frame's bytes as a `Bytes` to keep: a copy of a small frame, a share of a large
    /// one's read buffer (see the type's docs).
    #[inline]
    pub fn into_bytes(self) -> Bytes {
        if self.bytes.len() < Self::SHARE_FROM {
            return Bytes::copy_from_slice(self.bytes);
        }
        self.share()
    }

    /// The frame's bytes as a `Bytes` that shares the buffer they were read into, without a
    /// copy: the whole buffer stays allocated while the result lives.
    #[inline]
    pub fn share(self) -> Bytes {
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
