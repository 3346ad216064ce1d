//! Giving up a frame before it is whole: what an engine over its memory budget does to the
//! channel holding the most (see `EngineConfig::read_buffer_budget`).

use super::{Framer, Mode};
use crate::delimiter::Kind;
use crate::error::{Direction, OverflowError};
use crate::frame_size::Size;

impl Framer {
    /// Gives up the frame being buffered, as if it were over a limit of `limit` bytes: what is
    /// held of it is dropped, and the rest of it is discarded as it arrives (up to its
    /// announced length, or its delimiter). The overflow to report, with the bytes dropped;
    /// `None` when nothing is held.
    pub(crate) fn give_up_frame(&mut self, limit: usize) -> Option<OverflowError> {
        let held = self.buf.len();
        if held == 0 || self.mode != Mode::Framing {
            return None;
        }
        let rest = match &self.delimiter.kind {
            Kind::Count(n) => Some(n.saturating_sub(held) as u64),
            Kind::LengthPrefix(prefix) => {
                let (offset, field_len) = prefix.field_offset_len();
                let field = self.buf.front().get(offset..offset + field_len);
                let frame_len = field.and_then(|field| prefix.frame_len(field).ok());
                frame_len.map(|len| len.saturating_sub(held as u64))
            }
            Kind::Custom(size) => {
                let front = self.buf.front();
                let seen = &front[..front.len().min(self.limits.limit())];
                match size.size(seen) {
                    Size::Known(len) => Some(len.saturating_sub(held) as u64),
                    Size::AtLeast(_) => None,
                }
            }
            _ => None,
        };
        self.buf.clear();
        self.mode = match rest {
            Some(0) => Mode::Framing,
            Some(rest) => {
                self.buf.set_discard(rest);
                Mode::DiscardBytes
            }
            // A length prefix whose header is not whole, a custom frame of unknown size:
            // nothing says where the next frame starts, nor can be trusted to.
            None if matches!(self.delimiter.kind, Kind::LengthPrefix(_) | Kind::Custom(_)) => {
                Mode::Failed
            }
            None if self.delimiter.is_none() => Mode::Framing,
            None => Mode::DiscardUntilDelimiter,
        };
        Some(OverflowError {
            direction: Direction::Read,
            limit,
            size: held,
        })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::{ReadDelimiter, ReadLimits};

    #[test]
    fn a_count_frame_given_up_is_discarded_to_its_end_and_framing_goes_on() {
        let mut framer = Framer::new(ReadLimits::default());
        framer
            .set_delimiter(ReadDelimiter::count(10).unwrap())
            .unwrap();
        framer.push(Bytes::from_static(b"1234"));
        assert!(framer.next_frame().is_none());
        let err = framer.give_up_frame(100).unwrap();
        assert_eq!((err.limit(), err.size()), (100, 4));
        assert_eq!(framer.buffered(), 0);
        framer.push(Bytes::from_static(b"567890abcdefghij"));
        assert_eq!(framer.next_frame().unwrap().unwrap(), "abcdefghij");
    }

    #[test]
    fn a_line_given_up_is_discarded_to_its_delimiter() {
        let mut framer = Framer::new(ReadLimits::default());
        framer.set_delimiter(ReadDelimiter::byte(b'\n')).unwrap();
        framer.push(Bytes::from_static(b"partial"));
        assert!(framer.next_frame().is_none());
        assert!(framer.give_up_frame(100).is_some());
        framer.push(Bytes::from_static(b" line\nnext\n"));
        assert_eq!(framer.next_frame().unwrap().unwrap(), "next");
        assert!(framer.give_up_frame(100).is_none(), "nothing held");
    }
}
