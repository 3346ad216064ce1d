//! [`Script`] as an [`Arbitrary`] value (feature `arbitrary`), in the byte format of
//! [`Script::decode`]: a cargo-fuzz target takes a script as its argument, and the fuzzer
//! explores cuts, EOFs, resets and timing along with the bytes.

use arbitrary::{Arbitrary, Result, Unstructured};

use super::script::Script;

impl<'a> Arbitrary<'a> for Script {
    /// A script from a length-prefixed run of bytes (inside a larger input).
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let bytes: &[u8] = u.arbitrary()?;
        Ok(Script::decode(bytes))
    }

    /// A script from all the bytes left: a fuzz target's whole input, decoded as
    /// [`Script::decode`] does, so that a corpus file written by [`Script::encode`] is read back
    /// as its script.
    fn arbitrary_take_rest(u: Unstructured<'a>) -> Result<Self> {
        Ok(Script::decode(u.take_rest()))
    }

    fn size_hint(depth: usize) -> (usize, Option<usize>) {
        <&[u8] as Arbitrary>::size_hint(depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fuzz_input_is_read_as_decode_reads_it() {
        let script = Script::new().send("get k\r\n").eof();
        let bytes = script.encode();
        let taken = Script::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
        assert_eq!(taken, script);
    }
}
