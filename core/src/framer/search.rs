//! The frame search: where the next frame lies in a run of contiguous bytes, one rule per
//! delimiter kind. The framer asks it about what it holds, and the engine about the input it
//! reads frames from in place: both get the same answer for the same bytes.

use crate::delimiter::{Kind, Needle};
use crate::error::FrameLengthError;
use crate::frame_size::{Size, SizeFn};
use crate::framer::ReadLimits;
use crate::length_prefix::LengthPrefix;
#[cfg(feature = "regex")]
use crate::regex_delimiter::RegexDelimiter;

/// Where the next frame lies, as [`find`] saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// The frame is `bytes[skip..skip + len]`; it and its delimiter use the first `end` bytes.
    Frame { skip: usize, len: usize, end: usize },
    /// A whole frame of `len` bytes, over the limit; it and its delimiter use `end` bytes (a
    /// regex match may start past the limit and still be found).
    #[cfg(feature = "regex")]
    Oversized { len: usize, end: usize },
    /// The frame is certainly over the limit and its end is not here. `size` is its length as
    /// far as known; `frame_end` is where it ends when the delimiter announces it (a length
    /// prefix).
    Overflow { size: usize, frame_end: Option<u64> },
    /// No complete frame yet; a later search of more bytes may start at `scan_from`, and can
    /// find one only once there are at least `needs` bytes (0 when the delimiter cannot say).
    NeedMore { scan_from: usize, needs: usize },
    /// The peer sent a length prefix that describes no frame.
    Invalid(FrameLengthError),
}

/// The next frame in `bytes` under delimiter `kind` and `limits`, searching for a delimiter
/// from `scan_from` (no match starts before it: an earlier search said so).
///
/// The answer depends only on the bytes, never on how they arrived: a frame over the limit is
/// an overflow as soon as that is certain (the limit plus a delimiter's longest match is here
/// with no match), and not before.
#[inline(always)]
pub(crate) fn find(kind: &Kind, bytes: &[u8], scan_from: usize, limits: ReadLimits) -> Found {
    let limit = limits.limit();
    match kind {
        Kind::None => match bytes.len() {
            0 => Found::NeedMore {
                scan_from: 0,
                needs: 1,
            },
            len => Found::Frame {
                skip: 0,
                len,
                end: len,
            },
        },
        Kind::Byte(byte) => delimited(byte, bytes, scan_from, Some(limit)),
        Kind::Bytes(search) => delimited(&**search, bytes, scan_from, Some(limit)),
        Kind::Count(n) => counted(bytes, *n),
        Kind::ByteAfter { skip, byte } => after(byte, bytes, *skip as usize, scan_from, limit),
        Kind::BytesAfter { skip, search } => {
            after(&**search, bytes, *skip as usize, scan_from, limit)
        }
        Kind::LengthPrefix(prefix) => prefixed(prefix, bytes, limits.hard_limit()),
        #[cfg(feature = "regex")]
        Kind::Regex(regex) => matched(regex, bytes, scan_from, Some(limit), regex.max_len(limit)),
        Kind::Custom(size) => sized(size, bytes, scan_from, limit),
        // Skipped bytes are never searched: the framer counts them down as they arrive.
        Kind::Skip(_) => Found::NeedMore {
            scan_from: 0,
            needs: 0,
        },
    }
}

/// The next delimiter match in `bytes` at or after `from`, with no limit on the frame before
/// it, and the delimiter's longest match: what discarding an oversized frame looks for.
/// Delimiters that are not searched for count as found at once. (The limits bound only a
/// regex's matches.)
#[cfg_attr(not(feature = "regex"), expect(unused_variables))]
pub(crate) fn find_unbounded(
    kind: &Kind,
    bytes: &[u8],
    from: usize,
    limits: ReadLimits,
) -> (Found, usize) {
    match kind {
        Kind::Byte(byte) | Kind::ByteAfter { byte, .. } => (delimited(byte, bytes, from, None), 1),
        Kind::Bytes(search) | Kind::BytesAfter { search, .. } => (
            delimited(&**search, bytes, from, None),
            search.needle().len(),
        ),
        #[cfg(feature = "regex")]
        Kind::Regex(regex) => {
            let max_match = regex.max_len(limits.limit());
            (matched(regex, bytes, from, None, max_match), max_match)
        }
        _ => (
            Found::Frame {
                skip: 0,
                len: 0,
                end: 0,
            },
            1,
        ),
    }
}

/// The first match of `search` starting at or after `from`: the frame is everything before it.
/// With a `limit`, only matches starting at or before `limit` count, and their absence is an
/// overflow once that many bytes and a delimiter are here.
#[inline(always)]
fn delimited(search: &impl Needle, bytes: &[u8], from: usize, limit: Option<usize>) -> Found {
    let d = search.needle().len();
    // A match starting within the limit ends within `window`. (Summed as `u64`: it cannot
    // overflow, and needs no saturating step on the path of every frame.)
    let window = match limit {
        Some(limit) => (limit as u64 + d as u64).min(bytes.len() as u64) as usize,
        None => bytes.len(),
    };
    match bytes
        .get(from..window)
        .and_then(|haystack| search.find(haystack))
    {
        Some(at) => Found::Frame {
            skip: 0,
            len: from + at,
            end: from + at + d,
        },
        None => not_found(bytes.len(), d, limit),
    }
}

/// No match in `total` bytes: an overflow once more than `limit` bytes are here with no match
/// (a match of up to `max_match` bytes would have started within the limit), or else where the
/// next search may start.
fn not_found(total: usize, max_match: usize, limit: Option<usize>) -> Found {
    match limit {
        Some(limit) if total >= limit.saturating_add(max_match) => Found::Overflow {
            size: total,
            frame_end: None,
        },
        _ => Found::NeedMore {
            scan_from: total.saturating_sub(max_match - 1),
            needs: 0,
        },
    }
}

/// A frame of exactly `n` bytes (never over the limit: the limit is at least the count).
#[inline(always)]
fn counted(bytes: &[u8], n: usize) -> Found {
    if bytes.len() >= n {
        Found::Frame {
            skip: 0,
            len: n,
            end: n,
        }
    } else {
        Found::NeedMore {
            scan_from: 0,
            needs: n,
        }
    }
}

/// A body of `skip` bytes that ends with the delimiter, then the bytes up to the next match
/// (searched as a [`delimited`] frame of the rest); the body alone when it does not end with
/// the delimiter.
#[inline(always)]
fn after(search: &impl Needle, bytes: &[u8], skip: usize, from: usize, limit: usize) -> Found {
    let Some((body, rest)) = bytes.split_at_checked(skip) else {
        return Found::NeedMore {
            scan_from: skip,
            needs: skip,
        };
    };
    if !body.ends_with(search.needle()) {
        return Found::Frame {
            skip: 0,
            len: skip,
            end: skip,
        };
    }
    match delimited(search, rest, from.saturating_sub(skip), Some(limit)) {
        // The body is the frame's start.
        Found::Frame { len, end, .. } => Found::Frame {
            skip: 0,
            len: skip + len,
            end: skip + end,
        },
        Found::Overflow { size, frame_end } => Found::Overflow {
            size: skip + size,
            frame_end,
        },
        Found::NeedMore { scan_from, needs } => Found::NeedMore {
            scan_from: skip + scan_from,
            needs,
        },
        other => other,
    }
}

/// A frame announced by a length field; bodies over `hard_limit` overflow.
fn prefixed(prefix: &LengthPrefix, bytes: &[u8], hard_limit: usize) -> Found {
    let Some(header) = bytes.get(..prefix.header_len()) else {
        return Found::NeedMore {
            scan_from: 0,
            needs: prefix.header_len(),
        };
    };
    let (offset, field_len) = prefix.field_offset_len();
    let frame_len = match prefix.frame_len(&header[offset..offset + field_len]) {
        Ok(frame_len) => frame_len,
        Err(err) => return Found::Invalid(err),
    };
    let strip = prefix.strip_len();
    // strip <= header <= frame_len, checked when the delimiter was set.
    let body = frame_len - strip as u64;
    if body > hard_limit as u64 {
        return Found::Overflow {
            size: usize::try_from(body).unwrap_or(usize::MAX),
            frame_end: Some(frame_len),
        };
    }
    // body <= hard_limit, a usize.
    let end = strip + body as usize;
    if bytes.len() < end {
        return Found::NeedMore {
            scan_from: 0,
            needs: end,
        };
    }
    Found::Frame {
        skip: strip,
        len: body as usize,
        end,
    }
}

/// A frame as long as the custom delimiter's function says, from at most `limit` bytes (and
/// at least one: it is never asked about nothing). An overflow when it says more than
/// `limit`, or that the frame is longer than `limit` without saying how long (it cannot tell
/// from `limit` bytes): then the frame's end is unknown (`frame_end: None`), and the framer
/// stops. For custom frames `scan_from` is how many bytes the front must hold before the
/// function is asked again: the size it announced, or what it said the frame needs at least.
#[inline(always)]
fn sized(size: &SizeFn, bytes: &[u8], scan_from: usize, limit: usize) -> Found {
    if bytes.len() < scan_from.max(1) {
        return Found::NeedMore {
            scan_from,
            needs: scan_from.max(1),
        };
    }
    let seen = &bytes[..bytes.len().min(limit)];
    match size.size(seen) {
        Size::Known(len) if len > limit => Found::Overflow {
            size: len,
            frame_end: Some(len as u64),
        },
        Size::Known(len) if len <= bytes.len() => Found::Frame {
            skip: 0,
            len,
            end: len,
        },
        Size::AtLeast(len) if len > limit => Found::Overflow {
            size: len,
            frame_end: None,
        },
        Size::Known(len) | Size::AtLeast(len) => Found::NeedMore {
            scan_from: len,
            needs: len,
        },
    }
}

/// The first match of `regex` at or after `from`, whose matches are at most `m` bytes long;
/// see [`delimited`] for `limit`.
#[cfg(feature = "regex")]
fn matched(
    regex: &RegexDelimiter,
    bytes: &[u8],
    from: usize,
    limit: Option<usize>,
    m: usize,
) -> Found {
    let window = limit.map_or(bytes.len(), |limit| {
        bytes.len().min(limit.saturating_add(m))
    });
    if from <= window
        && let Some((start, end)) = regex.find_at(&bytes[..window], from)
    {
        return match limit {
            Some(limit) if start > limit => Found::Oversized { len: start, end },
            _ => Found::Frame {
                skip: 0,
                len: start,
                end,
            },
        };
    }
    not_found(bytes.len(), m, limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReadDelimiter;

    fn limits(limit: usize) -> ReadLimits {
        ReadLimits::new(limit, 1 << 20).unwrap()
    }

    fn at(delimiter: ReadDelimiter, bytes: &[u8], limit: usize) -> Found {
        find(&delimiter.kind, bytes, 0, limits(limit))
    }

    #[test]
    fn a_line_is_found_up_to_exactly_the_limit_and_overflows_beyond_it() {
        let line = ReadDelimiter::bytes(b"\r\n").unwrap();
        assert_eq!(
            at(line.clone(), b"abcd\r\n", 4),
            Found::Frame {
                skip: 0,
                len: 4,
                end: 6
            }
        );
        assert_eq!(
            at(line.clone(), b"abcd\r", 4),
            Found::NeedMore {
                scan_from: 4,
                needs: 0
            },
            "the delimiter may be arriving"
        );
        assert_eq!(
            at(line, b"abcde\r", 4),
            Found::Overflow {
                size: 6,
                frame_end: None
            }
        );
    }

    #[test]
    fn a_search_resumes_where_the_last_one_stopped() {
        let line = ReadDelimiter::byte(b'\n');
        let found = find(&line.kind, b"ab\ncd\n", 4, limits(100));
        assert_eq!(
            found,
            Found::Frame {
                skip: 0,
                len: 5,
                end: 6
            },
            "the match before `scan_from` is not looked at again"
        );
    }

    #[test]
    fn a_length_prefix_frame_skips_its_header() {
        let prefix = ReadDelimiter::length_prefix(LengthPrefix::new(1)).unwrap();
        assert_eq!(
            at(prefix.clone(), b"\x02abc", 10),
            Found::Frame {
                skip: 1,
                len: 2,
                end: 3
            }
        );
        assert_eq!(
            at(prefix, b"\x02a", 10),
            Found::NeedMore {
                scan_from: 0,
                needs: 3
            }
        );
    }

    #[test]
    fn no_delimiter_makes_everything_one_frame() {
        assert_eq!(
            at(ReadDelimiter::none(), b"abc", 1),
            Found::Frame {
                skip: 0,
                len: 3,
                end: 3
            }
        );
    }
}
