//! A value of the key space, kept as the bulk reply that `GET` sends.

use bytes::Bytes;

/// A stored value, encoded as its `GET` reply: `$len\r\n`, the bytes, `\r\n`, in one
/// allocation of exactly that length, so that a `GET` needs no formatting.
///
/// A small reply (at most [`SHARE_FROM`] bytes) is copied into each `GET`'s reply, as small
/// replies are copied together anyway, and a `SET` of the same length overwrites it in place.
/// A larger one is shared with the `GET` replies being sent: a reference count, no copy; a
/// `SET` then overwrites it in place only when no reply still holds it.
///
/// Values are copies, never slices of the frames they were read in: a frame is part of the
/// stream's read chunk (64 KiB), and a slice of it would keep the whole chunk alive as long
/// as the key.
#[derive(Clone)]
pub(super) struct Value(Stored);

#[derive(Clone)]
enum Stored {
    Small(Box<[u8]>),
    Shared(Bytes),
}

/// Replies longer than this are shared with `GET` replies rather than copied into them.
pub(super) const SHARE_FROM: usize = 512;

/// A `GET` reply: bytes to copy, or a shared `Bytes` to send as it is.
pub(super) enum Reply<'a> {
    Copy(&'a [u8]),
    Share(Bytes),
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
        // The length is the capacity: either conversion keeps the allocation as it is.
        Self(if reply.len() <= SHARE_FROM {
            Stored::Small(reply.into_boxed_slice())
        } else {
            Stored::Shared(reply.into())
        })
    }

    /// Replaces the value with a copy of `bytes`: in place when it has the old value's length
    /// and nothing else holds the old reply (no `GET` reply still being sent, for one), so that
    /// a `SET` over a value of the same size neither allocates nor frees. Otherwise as
    /// [`new`](Self::new).
    pub(super) fn overwrite(&mut self, bytes: &[u8]) {
        // The reply's length grows with the value's: equal lengths mean equal value lengths.
        let header = header_len(bytes.len());
        let len = header + bytes.len() + 2;
        match &mut self.0 {
            Stored::Small(reply) if reply.len() == len => {
                // Same length, same header and line end: only the bytes change.
                reply[header..header + bytes.len()].copy_from_slice(bytes);
                return;
            }
            Stored::Shared(reply) if reply.len() == len => {
                match std::mem::take(reply).try_into_mut() {
                    Ok(mut unique) => {
                        unique[header..header + bytes.len()].copy_from_slice(bytes);
                        *reply = unique.freeze();
                        return;
                    }
                    Err(shared) => *reply = shared,
                }
            }
            _ => {}
        }
        *self = Self::new(bytes);
    }

    /// The whole `GET` reply.
    pub(super) fn reply(&self) -> Reply<'_> {
        match &self.0 {
            Stored::Small(reply) => Reply::Copy(reply),
            Stored::Shared(reply) => Reply::Share(reply.clone()),
        }
    }

    /// The value's bytes.
    pub(super) fn bytes(&self) -> &[u8] {
        let reply = self.encoded();
        &reply[self.start()..reply.len() - 2]
    }

    /// The value's bytes as a `Bytes` (sharing the stored allocation when it is shared).
    pub(super) fn to_bytes(&self) -> Bytes {
        match &self.0 {
            Stored::Small(_) => Bytes::copy_from_slice(self.bytes()),
            Stored::Shared(reply) => reply.slice(self.start()..reply.len() - 2),
        }
    }

    fn encoded(&self) -> &[u8] {
        match &self.0 {
            Stored::Small(reply) => reply,
            Stored::Shared(reply) => reply,
        }
    }

    /// Where the value's bytes start: after the reply's first line.
    fn start(&self) -> usize {
        self.encoded()
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
            &[7; 505],
            &[7; 506],
            &[7; 999],
            &[7; 1000],
        ] {
            let value = Value::new(bytes);
            let reply = [format!("${}\r\n", bytes.len()).as_bytes(), bytes, b"\r\n"].concat();
            assert_eq!(value.encoded(), reply);
            let shared = matches!(value.reply(), Reply::Share(_));
            assert_eq!(shared, reply.len() > SHARE_FROM, "{} bytes", bytes.len());
            assert_eq!(value.bytes(), bytes);
            assert_eq!(value.to_bytes(), bytes);
            assert_eq!(header_len(bytes.len()), value.start());
        }
    }

    #[test]
    fn a_value_of_the_same_length_is_written_into_the_stored_allocation() {
        for len in [3, 600] {
            let mut value = Value::new(&vec![b'1'; len]);
            let at = value.encoded().as_ptr();
            value.overwrite(&vec![b'2'; len]);
            assert_eq!(value.bytes(), vec![b'2'; len]);
            assert_eq!(value.encoded().as_ptr(), at, "{len} bytes");
        }
    }

    #[test]
    fn a_value_held_elsewhere_or_of_another_length_is_replaced_by_a_copy() {
        let mut value = Value::new(&[b'1'; 600]);
        let Reply::Share(sending) = value.reply() else {
            panic!("a large value is shared");
        };
        value.overwrite(&[b'2'; 600]);
        assert_eq!(&sending[6..606], [b'1'; 600]);
        assert_eq!(value.bytes(), [b'2'; 600]);
        assert_ne!(value.encoded().as_ptr(), sending.as_ptr());

        let mut value = Value::new(b"one");
        value.overwrite(b"three");
        assert_eq!(value.encoded(), b"$5\r\nthree\r\n");
        value.overwrite(&[b'x'; 600]);
        assert_eq!(value.bytes(), [b'x'; 600]);
        value.overwrite(b"");
        assert_eq!(value.encoded(), b"$0\r\n\r\n");
    }
}
