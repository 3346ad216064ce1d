//! Identifiers of channels and timers: a slot index plus a generation, so an id is never
//! mistaken for a later channel or timer that reuses the slot.

use std::fmt;

/// Names one channel of an engine for as long as the engine lives.
///
/// Its slot is reused after the channel closes, but with a new generation, so a stale id
/// finds nothing instead of another channel. [`to_bits`](Self::to_bits) packs it into the
/// `usize` of a poller token (64-bit targets).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl ChannelId {
    /// The id as one number, for poller tokens.
    pub fn to_bits(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    /// The id from [`to_bits`](Self::to_bits).
    pub fn from_bits(bits: u64) -> Self {
        // Truncations take the two halves apart.
        Self {
            index: bits as u32,
            generation: (bits >> 32) as u32,
        }
    }
}

impl fmt::Debug for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChannelId({}v{})", self.index, self.generation)
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.index)
    }
}

/// Names one timer; cancelling it through an old id after it ended is a harmless no-op.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl fmt::Debug for TimerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimerId({}v{})", self.index, self.generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip() {
        let id = ChannelId {
            index: 7,
            generation: u32::MAX,
        };
        assert_eq!(ChannelId::from_bits(id.to_bits()), id);
    }
}
