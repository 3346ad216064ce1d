//! Decisions drawn from the fuzzer's bytes, and the inverse for writing seeds by hand.
//!
//! Every decision is one call on [`Input`], made through [`arbitrary::Unstructured`]. Choices
//! among at most 256 options take exactly one byte `b` and mean option `b % n` (no byte at all
//! when there is only one option); integers take their little-endian bytes. Once the bytes run
//! out every decision is 0, so each format is laid out with 0 as the calm choice (no change,
//! write everything, stop). [`Seed`] writes those bytes back, which is how the seed corpus is
//! built (see `tests/seeds.rs`).

use arbitrary::Unstructured;

/// The fuzzer's bytes, consumed one decision at a time.
pub struct Input<'a> {
    u: Unstructured<'a>,
}

impl<'a> Input<'a> {
    /// Decisions from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            u: Unstructured::new(data),
        }
    }

    /// True when every byte was used: all further decisions are 0.
    pub fn is_empty(&self) -> bool {
        self.u.is_empty()
    }

    /// One of `0..n` (`n` in `1..=256`: one byte, none when `n == 1`).
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!((1..=256).contains(&n), "one byte per decision: {n} options");
        self.u.int_in_range(0..=n - 1).unwrap_or(0)
    }

    /// A byte.
    pub fn byte(&mut self) -> u8 {
        self.u.arbitrary().unwrap_or(0)
    }

    /// A yes or no (one byte, odd means yes).
    pub fn flag(&mut self) -> bool {
        self.below(2) == 1
    }

    /// Up to `len` raw bytes (fewer when the input ends).
    pub fn take(&mut self, len: usize) -> &'a [u8] {
        let len = len.min(self.u.len());
        self.u.bytes(len).unwrap_or(&[])
    }

    /// A `u64` (eight bytes, little-endian; missing bytes are zero).
    pub fn u64(&mut self) -> u64 {
        self.u.arbitrary().unwrap_or(0)
    }

    /// An `i64` (eight bytes, little-endian; missing bytes are zero).
    pub fn i64(&mut self) -> i64 {
        self.u.arbitrary().unwrap_or(0)
    }
}

/// Builds an input byte by byte, decision by decision: the inverse of [`Input`].
#[derive(Debug, Default, Clone)]
pub struct Seed(Vec<u8>);

impl Seed {
    /// An empty input.
    pub fn new() -> Self {
        Self::default()
    }

    /// Option `choice` of `n` (the byte for [`Input::below`]; nothing when `n == 1`).
    pub fn pick(mut self, choice: usize, n: usize) -> Self {
        assert!(choice < n && n <= 256, "option {choice} of {n}");
        if n > 1 {
            self.0.push(choice as u8);
        }
        self
    }

    /// A flag, as [`Input::flag`] reads it.
    pub fn flag(self, yes: bool) -> Self {
        self.pick(usize::from(yes), 2)
    }

    /// Raw bytes, as [`Input::take`] or [`Input::byte`] read them.
    pub fn raw(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }

    /// A `u64`, as [`Input::u64`] reads it.
    pub fn u64(self, value: u64) -> Self {
        self.raw(&value.to_le_bytes())
    }

    /// An `i64`, as [`Input::i64`] reads it.
    pub fn i64(self, value: i64) -> Self {
        self.raw(&value.to_le_bytes())
    }

    /// Applies `f`: lets a seed be written as a chain of helper calls.
    pub fn then(self, f: impl FnOnce(Self) -> Self) -> Self {
        f(self)
    }

    /// The input bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_decode_to_the_decisions_they_encode() {
        let bytes = Seed::new()
            .pick(3, 7)
            .pick(0, 1)
            .flag(true)
            .raw(b"xyz")
            .u64(1 << 40)
            .i64(-5)
            .pick(255, 256)
            .into_bytes();
        let mut input = Input::new(&bytes);
        assert_eq!(input.below(7), 3);
        assert_eq!(input.below(1), 0);
        assert!(input.flag());
        assert_eq!(input.take(3), b"xyz");
        assert_eq!(input.u64(), 1 << 40);
        assert_eq!(input.i64(), -5);
        assert_eq!(input.below(256), 255);
        assert!(input.is_empty());
        assert_eq!((input.below(9), input.byte(), input.i64()), (0, 0, 0));
    }
}
