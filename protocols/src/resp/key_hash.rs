//! How the key space hashes its keys: std's keyed SipHash-1-3 (a random key per map, so that
//! a peer cannot pick keys that collide), over the key's bytes alone.
//!
//! A `[u8]` (and so a `Bytes`) hashes as its length, then its bytes: two calls of the hasher,
//! of which the length's cost a `GET` or `SET` of a 16-byte key 95 instructions of its ~1,830
//! or ~2,240 (`benches/engine_instructions.sh`). The map's keys are single byte strings, and
//! SipHash's last block counts the message's length already, so the prefix adds nothing:
//! [`KeyHasher`] drops it.

use std::collections::hash_map::{DefaultHasher, RandomState};
use std::hash::{BuildHasher, Hasher};

/// Builds the [`KeyHasher`] of one map, keyed at random as `RandomState` is.
#[derive(Clone, Default)]
pub(super) struct KeyHashing(RandomState);

impl BuildHasher for KeyHashing {
    type Hasher = KeyHasher;

    #[inline]
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.0.build_hasher())
    }
}

/// SipHash-1-3 of the bytes written, without the length prefix that `[u8]`'s `Hash` writes
/// first (as a `usize`). Only for keys that hash as one byte string: a key whose hash wrote
/// other `usize`s would lose them.
pub(super) struct KeyHasher(DefaultHasher);

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }

    /// The length prefix: SipHash counts the length in its last block.
    #[inline]
    fn write_usize(&mut self, _len: usize) {}

    #[inline]
    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use bytes::Bytes;

    use super::*;

    #[test]
    fn a_key_hashes_as_its_bytes_and_keys_of_other_lengths_apart() {
        let hashing = KeyHashing::default();
        let key = Bytes::from_static(b"key:000000001234");
        let mut bytes = hashing.build_hasher();
        bytes.write(&key);
        assert_eq!(hashing.hash_one(&key), bytes.finish(), "no length prefix");
        assert_eq!(hashing.hash_one(&key), hashing.hash_one(&key[..]));
        // The same bytes but for trailing zeros, which SipHash's tail alone would not tell.
        for (a, b) in [
            (&b"a"[..], &b"a\0"[..]),
            (b"", b"\0"),
            (b"12345678", b"12345678\0"),
        ] {
            assert_ne!(hashing.hash_one(a), hashing.hash_one(b), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn every_map_is_keyed_at_random() {
        let key = b"key:000000001234";
        let hashes: Vec<u64> = (0..4)
            .map(|_| KeyHashing::default().hash_one(&key[..]))
            .collect();
        assert!(
            hashes.windows(2).any(|pair| pair[0] != pair[1]),
            "{hashes:?}"
        );
    }
}
