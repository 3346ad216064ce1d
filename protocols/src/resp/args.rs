//! The arguments of the command being read, copied out of their frames one after the other.
//!
//! A frame is lent to `on_read` only for the call; the arguments of a multibulk command
//! arrive one per frame and are needed together once the last one is read. Copying them
//! into one buffer costs a short `memcpy` per argument, where keeping each frame as `Bytes`
//! would cost two atomic operations on the read buffer's reference count, and one allocation
//! serves every command of every connection (see `Shared::spare`).

/// The arguments read so far of one command.
#[derive(Default)]
pub(crate) struct Args {
    /// The arguments' bytes, one after the other.
    bytes: Vec<u8>,
    /// Where each argument ends in `bytes`.
    ends: Vec<usize>,
    /// The length of the argument being read, with its `\r\n`.
    expected: usize,
    /// What the arguments count against the limits, each as [`cost_of`](Self::cost_of) its
    /// announced length, from its `$len` line on (the one being read included): kept as it
    /// changes, since a command's every argument checks it.
    held: usize,
}

/// Arguments handed to a command at once without a heap allocation for their slices.
const ON_STACK: usize = 8;

/// A spare [`Args`] keeps at most this many argument slots (a `SET` with options fits)...
const SPARE_ARGS: usize = 16;
/// ... and this many bytes of room.
const SPARE_BYTES: usize = 4096;

impl Args {
    /// Adds one argument (counted in [`held`](Self::held) when it was announced).
    #[inline]
    pub(crate) fn push(&mut self, arg: &[u8]) {
        self.bytes.extend_from_slice(arg);
        self.ends.push(self.bytes.len());
    }

    /// Notes that the next argument has `len` bytes (its `$len` line was read): it counts in
    /// [`held`](Self::held) from now on.
    pub(crate) fn expect(&mut self, len: usize) {
        self.expected = len.saturating_add(2);
        self.held = self.held.saturating_add(Self::cost_of(len));
    }

    /// The next argument's length with its `\r\n`, as [`expect`](Self::expect)ed.
    pub(crate) fn expected(&self) -> usize {
        self.expected
    }

    /// How many arguments there are.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// What the arguments hold, as counted against the command size limits: the bytes and one
    /// offset of each argument [`expect`](Self::expect)ed, the one being read included.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// What counts against the limit for one more argument of `len` bytes.
    pub(crate) fn cost_of(len: usize) -> usize {
        len.saturating_add(size_of::<usize>())
    }

    /// Runs `f` on the arguments as slices.
    #[inline]
    pub(crate) fn with_slices<R>(&self, f: impl FnOnce(&[&[u8]]) -> R) -> R {
        if self.ends.len() <= ON_STACK {
            let mut slices: [&[u8]; ON_STACK] = [&[]; ON_STACK];
            for (slot, arg) in slices.iter_mut().zip(self.iter()) {
                *slot = arg;
            }
            f(&slices[..self.ends.len()])
        } else {
            f(&self.iter().collect::<Vec<_>>())
        }
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.bytes[start..end])
    }

    /// Empties it for the next command; false when it grew too large to keep as a spare.
    pub(crate) fn recycle(&mut self) -> bool {
        self.bytes.clear();
        self.ends.clear();
        self.held = 0;
        self.ends.capacity() <= SPARE_ARGS && self.bytes.capacity() <= SPARE_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_come_back_in_order_however_many() {
        for n in [0, 1, ON_STACK, ON_STACK + 1, 40] {
            let mut args = Args::default();
            let words: Vec<Vec<u8>> = (0..n).map(|i| vec![b'a' + i as u8 % 26; i]).collect();
            for word in &words {
                args.expect(word.len());
                args.push(word);
            }
            assert_eq!(args.len(), n);
            let back: Vec<Vec<u8>> =
                args.with_slices(|slices| slices.iter().map(|s| s.to_vec()).collect());
            assert_eq!(words, back, "{n} arguments");
            let bytes: usize = words.iter().map(Vec::len).sum();
            assert_eq!(args.held(), bytes + n * size_of::<usize>());
            // An argument announced counts from its length line on, and as much once pushed.
            args.expect(5);
            let announced = args.held();
            assert_eq!(announced, bytes + n * size_of::<usize>() + Args::cost_of(5));
            args.push(b"hello");
            assert_eq!(args.held(), announced);
        }
    }

    #[test]
    fn only_a_small_buffer_is_kept_as_a_spare() {
        let mut small = Args::default();
        for word in [&b"GET"[..], b"key"] {
            small.expect(word.len());
            small.push(word);
        }
        assert!(small.recycle());
        assert!(small.is_empty() && small.held() == 0);
        let mut large = Args::default();
        large.push(&vec![0; SPARE_BYTES + 1]);
        assert!(!large.recycle());
    }
}
