//! A protocol's own framing: frames whose size a function of the handler's tells from their
//! first bytes ([`ReadDelimiter::custom`](crate::ReadDelimiter::custom)).

use std::fmt;

/// What a [`ReadDelimiter::custom`](crate::ReadDelimiter::custom) function says of the bytes
/// held from the start of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameSize {
    /// The frame is the first `n` bytes, whether or not they are all here yet: the framer
    /// waits for them without asking again. `Known(0)` counts as [`Unknown`](Self::Unknown).
    Known(usize),
    /// Not known yet, but the frame is at least `n` bytes: ask again once that many are here
    /// (a body whose length is read, followed by more of the frame). At most what is held
    /// counts as [`Unknown`](Self::Unknown).
    AtLeast(usize),
    /// These bytes do not tell yet: ask again, from the frame's start, when more arrived.
    Unknown,
}

/// A function's answer, as the framer acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Size {
    /// The frame is this many bytes (at least 1).
    Known(usize),
    /// Not known; not before this many bytes are held (more than are held now).
    AtLeast(usize),
}

/// A custom delimiter's function, boxed.
type BoxedSize = Box<dyn Fn(&[u8]) -> FrameSize + Send + Sync>;

/// The function behind a custom delimiter, shared by the delimiter's clones (an `Arc` of it is
/// one word: a delimiter stays 16 bytes).
pub(crate) struct SizeFn {
    size: BoxedSize,
}

impl SizeFn {
    pub(crate) fn new(size: impl Fn(&[u8]) -> FrameSize + Send + Sync + 'static) -> Self {
        Self {
            size: Box::new(size),
        }
    }

    /// The size of the frame that `bytes` start, as far as they tell.
    #[inline(always)]
    pub(crate) fn size(&self, bytes: &[u8]) -> Size {
        let unknown = Size::AtLeast(bytes.len() + 1);
        match (self.size)(bytes) {
            FrameSize::Known(0) | FrameSize::Unknown => unknown,
            FrameSize::Known(n) => Size::Known(n),
            FrameSize::AtLeast(n) if n > bytes.len() => Size::AtLeast(n),
            FrameSize::AtLeast(_) => unknown,
        }
    }
}

impl fmt::Debug for SizeFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SizeFn")
    }
}
