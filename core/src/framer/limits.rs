//! The read limits: how many bytes a channel may buffer for one incoming frame.

use crate::error::DelimiterError;

/// How many bytes a channel may buffer for one incoming frame.
///
/// The `limit` (default 64 KiB, as in Pants) bounds frames cut by a byte-string or regex
/// delimiter: a frame whose body (the bytes before the delimiter) is longer is an overflow;
/// and the frames of a [`custom`](crate::ReadDelimiter::custom) delimiter, whole. Count
/// and length-prefix delimiters announce their frame size in advance, so for them the limit is
/// that size, up to the `hard_limit` (default 8 MiB, at most 4 GiB): a count above it is
/// refused when set, and a length prefix announcing a larger body is an overflow. A delimiter
/// searched for [`after`](crate::ReadDelimiter::after) a body has both: the body up to the hard
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

    /// The limit for frames cut by a byte-string, regex or custom delimiter.
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
