//! A value of the key space, kept as the bulk reply that `GET` sends.

use bytes::Bytes;

/// A stored value, encoded as its `GET` reply: `$len\r\n`, the bytes, `\r\n`, in one
/// allocation of exactly that length. A `GET` then sends the stored reply itself: a reference
/// count, with no copy and no formatting; the cost is the few bytes of framing per value.
///
/// Values are copies, never the frames they were read in: a frame is a slice of the stream's
/// read chunk (64 KiB), and storing it would keep the whole chunk alive as long as the key.
#[derive(Clone)]
pub(super) struct Value {
    reply: Bytes,
}

impl Value {
    /// A copy of `bytes`.
    pub(super) fn new(bytes: &[u8]) -> Self {
        let mut header = [0; HEADER_MAX];
        let header = header_line(b'$', bytes.len() as i64, &mut header);
        let mut reply = Vec::with_capacity(header.len() + bytes.len() + 2);
        reply.extend_from_slice(header);
        reply.extend_from_slice(bytes);
        reply.extend_from_slice(b"\r\n");
        // The length is the capacity: the conversion keeps the allocation as it is.
        Self {
            reply: reply.into(),
        }
    }

    /// Replaces the value with a copy of `bytes`: in place when it has the old value's length
    /// and nothing else holds the old reply (no `GET` reply still being sent, for one), so that
    /// a `SET` over a value of the same size neither allocates nor frees. Otherwise as
    /// [`new`](Self::new).
    pub(super) fn overwrite(&mut self, bytes: &[u8]) {
        // The reply's length grows with the value's: equal lengths mean equal value lengths.
        let header = header_len(bytes.len());
        if self.reply.len() == header + bytes.len() + 2 {
            let old = std::mem::take(&mut self.reply);
            match old.try_into_mut() {
                Ok(mut reply) => {
                    // Same length, same header and line end: only the bytes change.
                    reply[header..header + bytes.len()].copy_from_slice(bytes);
                    self.reply = reply.freeze();
                    return;
                }
                Err(old) => self.reply = old,
            }
        }
        *self = Self::new(bytes);
    }

    /// The value's bytes.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.reply[self.start()..self.reply.len() - 2]
    }

    /// The value's bytes as a `Bytes` sharing the stored allocation.
    pub(super) fn to_bytes(&self) -> Bytes {
        self.reply.slice(self.start()..self.reply.len() - 2)
    }

    /// The whole `GET` reply, sharing the stored allocation.
    pub(super) fn reply(&self) -> Bytes {
        self.reply.clone()
    }

    /// Where the value's bytes start: after the reply's first line.
    fn start(&self) -> usize {
        self.reply
            .iter()
            .position(|&byte| byte == b'\n')
            .map_or(0, |at| at + 1)
    }
}

/// The length of the line `$len\r\n`.
fn header_len(len: usize) -> usize {
    let digits = match len {
        0..10 => 1,
        10..100 => 2,
        100..1000 => 3,
        _ => len.ilog10() as usize + 1,
    };
    1 + digits + 2
}

/// The longest header line: a kind, a sign, the 19 digits of an i64, and `\r\n`.
pub(super) const HEADER_MAX: usize = 23;

/// The line `{kind}{n}\r\n`, written from the end of `line`: what `format!` writes, without
/// the formatting machinery.
pub(super) fn header_line(kind: u8, n: i64, line: &mut [u8; HEADER_MAX]) -> &[u8] {
    let mut at = line.len() - 2;
    line[at..].copy_from_slice(b"\r\n");
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        line[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        line[at] = b'-';
    }
    at -= 1;
    line[at] = kind;
    &line[at..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_are_what_format_writes() {
        for n in [0, 1, 9, 10, -1, -10, 512, i64::MAX, i64::MIN, i64::MIN + 1] {
            let mut line = [0; HEADER_MAX];
            let expected = format!(":{n}\r\n");
            assert_eq!(header_line(b':', n, &mut line), expected.as_bytes());
        }
    }

    #[test]
    fn a_value_is_kept_as_its_bulk_reply() {
        for bytes in [
            &b""[..],
            b"x",
            b"a\r\nb",
            &[7; 99],
            &[7; 100],
            &[7; 999],
            &[7; 1000],
        ] {
            let value = Value::new(bytes);
            let reply = [format!("${}\r\n", bytes.len()).as_bytes(), bytes, b"\r\n"].concat();
            assert_eq!(value.reply(), reply);
            assert_eq!(value.bytes(), bytes);
            assert_eq!(value.to_bytes(), bytes);
            assert_eq!(header_len(bytes.len()), value.start());
        }
    }

    #[test]
    fn a_value_of_the_same_length_is_written_into_the_stored_allocation() {
        let mut value = Value::new(b"one");
        let at = value.reply.as_ptr();
        value.overwrite(b"two");
        assert_eq!((value.bytes(), value.reply.as_ptr()), (&b"two"[..], at));
        assert_eq!(value.reply(), "$3\r\ntwo\r\n");
    }

    #[test]
    fn a_value_held_elsewhere_or_of_another_length_is_replaced_by_a_copy() {
        let mut value = Value::new(b"one");
        let sending = value.reply();
        value.overwrite(b"two");
        assert_eq!(
            (&sending[..], value.bytes()),
            (&b"$3\r\none\r\n"[..], &b"two"[..])
        );
        assert_ne!(value.reply.as_ptr(), sending.as_ptr());

        let at = value.reply.as_ptr();
        value.overwrite(b"three");
        assert_eq!(value.reply(), "$5\r\nthree\r\n");
        assert_ne!(value.reply.as_ptr(), at);
        value.overwrite(b"");
        assert_eq!(value.reply(), "$0\r\n\r\n");
    }
}
