//! The length-prefix delimiter's layout (Pants' struct delimiter, done the Netty way).

use crate::error::{DelimiterError, FrameLengthError};

/// Byte order of a length field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Endian {
    /// Most significant byte first (network order), the default.
    #[default]
    Big,
    /// Least significant byte first.
    Little,
}

/// The layout of a length-prefixed frame, with the knobs of Netty's `LengthFieldBasedFrameDecoder`
/// and tokio-util's `LengthDelimitedCodec`:
///
/// ```text
///  | field_offset bytes | length field (1/2/4/8 bytes) | value + adjustment bytes |
///  |<------------------ header ----------------------->|
///  |<-- strip -->|<------------------- frame given to on_read ------------------>|
/// ```
///
/// By default the field is big-endian at offset 0, counts the bytes that follow it, and the
/// whole header is stripped, so `on_read` gets just the body:
///
/// ```
/// use pants_core::{LengthPrefix, ReadDelimiter, ReadLimits};
/// use pants_core::channel::Framer;
///
/// let mut framer = Framer::new(ReadLimits::default());
/// framer.set_delimiter(ReadDelimiter::length_prefix(LengthPrefix::new(2))?)?;
/// framer.push(bytes::Bytes::from_static(b"\x00\x05hello\x00\x01!"));
/// assert_eq!(framer.next_frame().unwrap().unwrap(), "hello");
/// assert_eq!(framer.next_frame().unwrap().unwrap(), "!");
/// assert!(framer.next_frame().is_none());
/// # Ok::<(), pants_core::DelimiterError>(())
/// ```
///
/// A frame whose body is over the channel's hard read limit is an overflow; a value that,
/// adjusted, is negative is a [`FrameLengthError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LengthPrefix {
    field_offset: usize,
    field_len: usize,
    endian: Endian,
    adjustment: i64,
    strip: Option<usize>,
}

impl LengthPrefix {
    /// A big-endian length field of `field_len` bytes (1, 2, 4 or 8) at the start of each frame,
    /// counting the bytes after it; the field is stripped from the frame.
    pub fn new(field_len: usize) -> Self {
        Self {
            field_offset: 0,
            field_len,
            endian: Endian::Big,
            adjustment: 0,
            strip: None,
        }
    }

    /// Sets the byte order of the length field.
    pub fn endian(mut self, endian: Endian) -> Self {
        self.endian = endian;
        self
    }

    /// Puts `offset` bytes (say, a type tag) before the length field; they are part of the header.
    pub fn field_offset(mut self, offset: usize) -> Self {
        self.field_offset = offset;
        self
    }

    /// Adds `adjustment` to the field's value to get the number of bytes after the field:
    /// `-(header length)` when the value counts the whole frame, header included.
    pub fn adjustment(mut self, adjustment: i64) -> Self {
        self.adjustment = adjustment;
        self
    }

    /// Removes `strip` bytes from the front of each frame before it is delivered (at most the
    /// header length; the default strips the whole header, `0` keeps it).
    pub fn strip(mut self, strip: usize) -> Self {
        self.strip = Some(strip);
        self
    }

    /// The header length: the offset plus the length field.
    pub fn header_len(&self) -> usize {
        self.field_offset.saturating_add(self.field_len)
    }

    /// The number of bytes stripped from the front of each frame.
    pub fn strip_len(&self) -> usize {
        self.strip.unwrap_or_else(|| self.header_len())
    }

    pub(crate) fn validate(&self) -> Result<(), DelimiterError> {
        if !matches!(self.field_len, 1 | 2 | 4 | 8) {
            return Err(DelimiterError::FieldLength(self.field_len));
        }
        if self.strip_len() > self.header_len() {
            return Err(DelimiterError::StripBeyondHeader {
                strip: self.strip_len(),
                header: self.header_len(),
            });
        }
        Ok(())
    }

    /// The length field's offset from the start of the frame, and its length.
    pub(crate) fn field_offset_len(&self) -> (usize, usize) {
        (self.field_offset, self.field_len)
    }

    /// Reads the length field (exactly its length in bytes) and returns the whole frame's
    /// length, header included, saturated at `u64::MAX`.
    pub(crate) fn frame_len(&self, field: &[u8]) -> Result<u64, FrameLengthError> {
        debug_assert_eq!(field.len(), self.field_len);
        let mut raw = [0u8; 8];
        let value = match self.endian {
            Endian::Big => {
                raw[8 - self.field_len..].copy_from_slice(field);
                u64::from_be_bytes(raw)
            }
            Endian::Little => {
                raw[..self.field_len].copy_from_slice(field);
                u64::from_le_bytes(raw)
            }
        };
        let after = i128::from(value) + i128::from(self.adjustment);
        if after < 0 {
            return Err(FrameLengthError {
                value,
                adjustment: self.adjustment,
            });
        }
        let total = after + self.header_len() as i128;
        Ok(u64::try_from(total).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lengths_other_than_powers_of_two_up_to_eight_are_refused() {
        for len in [0, 3, 5, 16] {
            assert_eq!(
                LengthPrefix::new(len).validate(),
                Err(DelimiterError::FieldLength(len))
            );
        }
        for len in [1, 2, 4, 8] {
            assert_eq!(LengthPrefix::new(len).validate(), Ok(()));
        }
    }

    #[test]
    fn strip_beyond_header_is_refused() {
        let prefix = LengthPrefix::new(2).field_offset(1).strip(4);
        assert_eq!(
            prefix.validate(),
            Err(DelimiterError::StripBeyondHeader {
                strip: 4,
                header: 3
            })
        );
    }

    #[test]
    fn big_and_little_endian_fields_decode() {
        assert_eq!(
            LengthPrefix::new(2).frame_len(&[0x01, 0x02]),
            Ok(0x0102 + 2)
        );
        let little = LengthPrefix::new(2).endian(Endian::Little);
        assert_eq!(little.frame_len(&[0x01, 0x02]), Ok(0x0201 + 2));
        let offset = LengthPrefix::new(1).field_offset(3);
        assert_eq!(offset.frame_len(&[5]), Ok(5 + 4));
    }

    #[test]
    fn adjustment_counting_the_header_gives_the_value_as_total() {
        let whole = LengthPrefix::new(4).adjustment(-4);
        assert_eq!(whole.frame_len(&[0, 0, 0, 10]), Ok(10));
        let err = whole.frame_len(&[0, 0, 0, 3]).unwrap_err();
        assert_eq!(err.value(), 3);
    }

    #[test]
    fn huge_values_saturate_instead_of_wrapping() {
        let prefix = LengthPrefix::new(8).adjustment(i64::MAX);
        assert_eq!(prefix.frame_len(&[0xff; 8]), Ok(u64::MAX));
    }
}
