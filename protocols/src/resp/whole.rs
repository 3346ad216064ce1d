//! A small multibulk command read as one frame: the read delimiter between commands.
//!
//! Read argument by argument, a `SET` is five frames and a `PING` three, and each frame costs a
//! dispatch, a call of `on_read` and a delimiter change. Most commands are small, so between
//! commands the read delimiter is a [`ReadDelimiter::custom`] one whose function, [`size`],
//! walks the `*n` line and the `$len` lines of a command of at most [`WHOLE_ARGS`] arguments
//! and [`WHOLE_BYTES`] bytes and says where it ends: the whole command is one frame, its
//! arguments slices of it, copied nowhere. Anything else (an inline command, a larger command,
//! a malformed one) is its first line alone, which the handler reads as before, argument by
//! argument, with the limits and the errors of that path.
//!
//! `benches/engine_instructions.sh`, instructions per request at `-P 16`, read by argument and
//! as one frame: `SET` 2,150 and 1,348, `GET` 1,734 and 1,186, `PING` as multibulk 1,116 and
//! 775. An inline `PING` pays the function's call (54 instructions), and wins more back by
//! running on slices of its line (`parse::plain_words`): 742 and 666.

use pants_core::FrameSize;

use super::args::Args;

/// The most arguments of a command read as one frame: a `SET` with its options fits.
pub(crate) const WHOLE_ARGS: usize = 16;

/// The most bytes of a command read as one frame. The stream's read limit must allow it (the
/// handler reads line by line when it does not); what a connection holds of a command not yet
/// whole is bounded by it, and so is what one call of [`size`] looks at.
pub(crate) const WHOLE_BYTES: usize = 16 * 1024;

/// The most digits of a `$len` or `*n` line read here (a length up to [`WHOLE_BYTES`]).
const DIGITS: usize = 5;

/// How the command at the start of some bytes reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Walk {
    /// A whole command of this many bytes, read as one frame.
    Whole(usize),
    /// Its first line, of this many bytes (its `\n` included), is a frame alone: an inline
    /// command, or the `*n` line of a command read argument by argument.
    Line(usize),
    /// Not all here yet.
    Partial,
    /// Not all here yet, and not before this many bytes are (an argument's body is due).
    AtLeast(usize),
}

/// The read delimiter's function: where the frame that `bytes` start ends, for commands
/// whose arguments count at most `max_cost` against the command limit.
pub(crate) fn size(bytes: &[u8], max_cost: usize) -> FrameSize {
    match walk(bytes, max_cost, |_| {}) {
        Walk::Whole(len) | Walk::Line(len) => FrameSize::Known(len),
        Walk::Partial => FrameSize::Unknown,
        Walk::AtLeast(len) => FrameSize::AtLeast(len),
    }
}

/// Walks the command at the start of `bytes`, handing each argument to `arg` as it goes (so
/// an answer other than `Whole` may come after some arguments). A command whose arguments
/// count more than `max_cost` against the command limit ([`Args::cost_of`] each) is read by
/// argument, which refuses it.
///
/// Lines end at `\n`, with an optional `\r` before it, as the handler reads them, and numbers
/// are read as [`parse::integer`](super::parse::integer) reads them; of the two bytes after
/// an argument the `\n` is checked. Once it is not `Partial` or `AtLeast`, its answer depends
/// on the bytes alone, never on how many of them are here: a command is read whole, or by
/// argument, whatever its chunking.
#[inline(always)]
pub(crate) fn walk<'a>(bytes: &'a [u8], max_cost: usize, mut arg: impl FnMut(&'a [u8])) -> Walk {
    if bytes.first() != Some(&b'*') {
        return first_line(bytes);
    }
    let (count, mut at) = match number(bytes, 1) {
        Number::Is(n, next) if (1..=WHOLE_ARGS).contains(&n) => (n, next),
        Number::Partial => return Walk::Partial,
        _ => return first_line(bytes),
    };
    let mut cost = 0usize;
    for _ in 0..count {
        match bytes.get(at) {
            Some(b'$') => {}
            Some(_) => return first_line(bytes),
            None => return Walk::Partial,
        }
        let (len, start) = match number(bytes, at + 1) {
            Number::Is(len, next) => (len, next),
            Number::Partial => return Walk::Partial,
            Number::Malformed => return first_line(bytes),
        };
        // Five digits and a few lines: no overflow.
        let end = start + len + 2;
        cost += Args::cost_of(len);
        if end > WHOLE_BYTES || cost > max_cost {
            return first_line(bytes);
        }
        let Some(body) = bytes.get(start..end) else {
            return Walk::AtLeast(end);
        };
        let Some((argument, [_, b'\n'])) = body.split_last_chunk::<2>() else {
            return first_line(bytes);
        };
        arg(argument);
        at = end;
    }
    Walk::Whole(at)
}

/// The first line of `bytes` alone, once it is whole.
fn first_line(bytes: &[u8]) -> Walk {
    match line_end(bytes) {
        Some(end) => Walk::Line(end + 1),
        None => Walk::Partial,
    }
}

/// A `*n` or `$len` line's number, as far as the bytes go.
enum Number {
    /// The number, and where the line after it starts.
    Is(usize, usize),
    /// The line is not whole yet.
    Partial,
    /// Not a number the handler would read (a sign, a leading zero, more than [`DIGITS`]
    /// digits, anything else before the line's end): for the handler's line path to answer.
    Malformed,
}

/// The number at `at` in `bytes`, up to its line's end (`\r\n` or `\n`): digits only, and no
/// leading zero but in `0` itself, as [`parse::integer`](super::parse::integer) reads them.
/// One pass over the line instead of a search for its end and a parse: most of what a small
/// command costs to walk.
#[inline(always)]
fn number(bytes: &[u8], mut at: usize) -> Number {
    let start = at;
    let mut n = 0usize;
    loop {
        match bytes.get(at) {
            None => return Number::Partial,
            Some(&digit @ b'0'..=b'9') => {
                let leading_zero = at > start && n == 0;
                if leading_zero || at - start == DIGITS {
                    return Number::Malformed;
                }
                n = n * 10 + usize::from(digit - b'0');
                at += 1;
            }
            Some(b'\n') if at > start => return Number::Is(n, at + 1),
            Some(b'\r') if at > start => {
                return match bytes.get(at + 1) {
                    Some(b'\n') => Number::Is(n, at + 2),
                    Some(_) => Number::Malformed,
                    None => Number::Partial,
                };
            }
            Some(_) => return Number::Malformed,
        }
    }
}

/// Where the first line of `bytes` ends (its `\n`). Command lines are short: a loop finds
/// their end before `memchr` has set up (its AVX2 path took 250 of the 1,054 instructions of
/// a `PING` as multibulk, `benches/engine_instructions.sh`), and it is asked for longer ones.
#[inline(always)]
fn line_end(bytes: &[u8]) -> Option<usize> {
    const SHORT: usize = 16;
    let head = &bytes[..bytes.len().min(SHORT)];
    match head.iter().position(|&b| b == b'\n') {
        Some(at) => Some(at),
        None => memchr::memchr(b'\n', &bytes[head.len()..]).map(|at| head.len() + at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(bytes: &[u8]) -> (Walk, Vec<Vec<u8>>) {
        let mut seen = Vec::new();
        let found = walk(bytes, usize::MAX, |arg| seen.push(arg.to_vec()));
        (found, seen)
    }

    #[test]
    fn a_small_command_is_one_frame_with_its_arguments_in_it() {
        let set = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\nPING\r\n";
        let (found, seen) = args(set);
        assert_eq!(found, Walk::Whole(set.len() - 6));
        assert_eq!(seen, [&b"SET"[..], b"k", b"v1"]);
        assert_eq!(size(set, usize::MAX), FrameSize::Known(set.len() - 6));
        // Over the command limit, it is read by argument, which refuses it.
        let cost = Args::cost_of(3) + Args::cost_of(1) + Args::cost_of(2);
        assert_eq!(walk(set, cost, |_| {}), Walk::Whole(set.len() - 6));
        assert_eq!(walk(set, cost - 1, |_| {}), Walk::Line(4));
        // Lenient about `\r`, as the handler's lines are; an empty argument is an argument.
        assert_eq!(args(b"*2\n$4\nECHO\r\n$0\n\r\n").1, [&b"ECHO"[..], b""]);
    }

    #[test]
    fn every_prefix_of_a_whole_command_waits_for_the_rest() {
        let get = b"*2\r\n$3\r\nGET\r\n$16\r\nkey:000000001234\r\n";
        for end in 0..get.len() {
            let found = walk(&get[..end], usize::MAX, |_| {});
            let waits = match found {
                Walk::Partial => true,
                // An argument's body is due: the command is at least that long.
                Walk::AtLeast(len) => len > end && len <= get.len(),
                _ => false,
            };
            assert!(waits, "{end} bytes: {found:?}");
        }
        assert_eq!(walk(get, usize::MAX, |_| {}), Walk::Whole(get.len()));
    }

    #[test]
    fn what_is_not_a_small_well_formed_command_is_its_first_line() {
        let big = format!("*1\r\n${}\r\n", WHOLE_BYTES);
        let many = format!("*{}\r\n", WHOLE_ARGS + 1);
        for bytes in [
            &b"PING\r\nPING\r\n"[..],
            b"*0\r\n",
            b"*-1\r\n",
            b"*x\r\n$1\r\na\r\n",
            b"*1\r\n1\r\na\r\n",
            b"*1\r\n$-1\r\n",
            b"*1\r\n$1234567\r\n",
            b"*1\r\n$1\r\naXY",
            b"*2\r\n$1\r\na\r\n:1\r\n",
            big.as_bytes(),
            many.as_bytes(),
        ] {
            let first = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
            assert_eq!(
                walk(bytes, usize::MAX, |_| {}),
                Walk::Line(first),
                "{}",
                bytes.escape_ascii()
            );
        }
        // A line that never ends is the framer's to bound (the read limit).
        assert_eq!(walk(b"*3", usize::MAX, |_| {}), Walk::Partial);
        assert_eq!(walk(&[b'x'; 100], usize::MAX, |_| {}), Walk::Partial);
    }

    #[test]
    fn a_command_of_exactly_the_bounds_is_whole() {
        // `*1\r\n`, a five-digit `$len` line, the value and its `\r\n`.
        for (value, whole) in [(WHOLE_BYTES - 14, true), (WHOLE_BYTES - 13, false)] {
            let mut command = format!("*1\r\n${value}\r\n").into_bytes();
            command.extend_from_slice(&vec![b'v'; value]);
            command.extend_from_slice(b"\r\n");
            let expected = match whole {
                true => Walk::Whole(WHOLE_BYTES),
                false => Walk::Line(4),
            };
            assert_eq!(
                walk(&command, usize::MAX, |_| {}),
                expected,
                "a value of {value} bytes"
            );
        }
        let mut command = format!("*{WHOLE_ARGS}\r\n").into_bytes();
        for _ in 0..WHOLE_ARGS {
            command.extend_from_slice(b"$1\r\na\r\n");
        }
        assert_eq!(
            walk(&command, usize::MAX, |_| {}),
            Walk::Whole(command.len())
        );
    }
}
