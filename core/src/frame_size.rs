//! A protocol's own framing: frames whose size a function of the handler's tells from their
//! first bytes ([`ReadDelimiter::custom`](crate::ReadDelimiter::custom)).

use std::fmt;

/// What a [`ReadDelimiter::custom`](crate::ReadDelimiter::custom) function says of the bytes
/// held from the start of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameSize {
    /// The frame is the first `n` bytes, whether or not they are all here yet: the framer
    /// waits for them without asking again. `Bytes(0)` counts as [`Unknown`](Self::Unknown).
    Bytes(usize),
    /// These bytes do not tell yet: ask again, from the frame's start, when more arrived.
    Unknown,
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
    pub(crate) fn size(&self, bytes: &[u8]) -> Option<usize> {
        match (self.size)(bytes) {
            FrameSize::Bytes(0) | FrameSize::Unknown => None,
            FrameSize::Bytes(n) => Some(n),
        }
    }
}

impl fmt::Debug for SizeFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SizeFn")
    }
}
