//! The `framer` fuzz target: a [`Framer`](pants_core::channel::Framer) against the reference model.
//!
//! The input decides a whole [`Scenario`] of the model's driver (the same one the property tests
//! in `core/tests/framer_model.rs` use): the limits, the first delimiter, the delimiter and
//! limit changes after delivered frames and when idle, the data, its chunking, and what the
//! driver does after each push. The framer must give the model's trace exactly (frames,
//! overflows in the same push, length errors, refusals, the partial frame at EOF), report
//! overflows with a sane size, and stay within its memory bound whenever it is idle.
//!
//! # Input format
//!
//! One decision after another (see [`crate::input`]); 0 is always a valid, calm choice.
//!
//! 1. [`limits`]: the read limits.
//! 2. [`delim`]: the first delimiter (may be invalid: then it is refused and stays `none`).
//! 3. `below(6)` script steps, then `below(5)` idle steps, each a [`step`].
//! 4. `below(6)` after-push actions, each `below(3)`: drain, settle then drain, wait.
//! 5. `below(17)` chunk sizes, each `below(41)`, used in turn (0 pushes an empty chunk); the
//!    rest of the data is pushed last (at most [`MAX_CHUNKS`] pushes). No sizes: the data is
//!    pushed whole.
//! 6. The data: pieces until the input ends (see [`piece`]), at most [`MAX_DATA`] bytes.

use std::panic::{catch_unwind, resume_unwind};

use pants_core::{Direction, ReadLimits};

use crate::input::Input;
use crate::model::{
    AfterPush, CustomFn, Delim, Esc, Idle, Prefix, Scenario, Step, run_framer, run_model,
};

/// Most bytes of data in one scenario: the model rescans its buffer naively (quadratic while it
/// discards), so this bounds the time of one run.
pub const MAX_DATA: usize = 2048;

/// Most pushes in one scenario: each may apply an idle change, and a regex delimiter is
/// compiled each time it is set.
pub const MAX_CHUNKS: usize = 256;

/// Byte-string delimiters that the data is likely to contain, by number.
pub const COMMON_DELIMITERS: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b"aa",
    b"aba",
    b"<END>",
    b";",
    b"\r\n\r\n",
    b"ab",
];

/// Runs the `framer` target's check on one input. Panics when the framer and the model differ.
pub fn check_framer(data: &[u8]) {
    check_scenario(&scenario(&mut Input::new(data)));
}

/// The check for one scenario (also for scenarios built by hand).
pub fn check_scenario(scenario: &Scenario) {
    if let Err(panic) = catch_unwind(|| compare(scenario)) {
        let msg = crate::stream::panic_message(&*panic);
        if msg.contains("in Scenario {") {
            resume_unwind(panic);
        }
        // A panic inside the framer or the model: show the scenario.
        panic!("panic: {msg}\nin {scenario:#?}");
    }
}

fn compare(scenario: &Scenario) {
    let expected = run_model(scenario);
    let mut violations = Vec::new();
    let (actual, overflows) = run_framer(scenario, &mut |idle| {
        if let Some(why) = idle_violation(&idle) {
            violations.push(why);
        }
    });
    assert_eq!(
        actual, expected,
        "the framer (left) differs from the model (right) on {scenario:#?}"
    );
    for err in &overflows {
        assert_eq!(err.direction(), Direction::Read, "{err:?} in {scenario:#?}");
        assert!(
            err.size() > err.limit(),
            "overflow size {} is not over its limit {} in {scenario:#?}",
            err.size(),
            err.limit()
        );
    }
    assert!(
        violations.is_empty(),
        "idle framer: {violations:?} in {scenario:#?}\ntrace: {actual:?}"
    );
}

/// Decodes a scenario.
pub fn scenario(input: &mut Input<'_>) -> Scenario {
    let limits = limits(input);
    let delimiter = delim(input);
    let script = (0..input.below(6)).map(|_| step(input)).collect::<Vec<_>>();
    let idle = (0..input.below(5)).map(|_| step(input)).collect::<Vec<_>>();
    let after_push = (0..input.below(6))
        .map(|_| match input.below(3) {
            0 => AfterPush::Drain,
            1 => AfterPush::SettleThenDrain,
            _ => AfterPush::Wait,
        })
        .collect();
    let sizes: Vec<usize> = (0..input.below(17)).map(|_| input.below(41)).collect();
    let mut in_play = vec![delimiter.clone()];
    for step in script.iter().chain(&idle) {
        if let Step::Delimiter(d) = step {
            in_play.push(d.clone());
        }
    }
    let mut data = Vec::new();
    while !input.is_empty() && data.len() < MAX_DATA {
        piece(input, &in_play, limits, &mut data);
    }
    data.truncate(MAX_DATA);
    Scenario {
        limits,
        delimiter,
        script,
        idle,
        chunks: chunk(&data, &sizes),
        after_push,
    }
}

/// Read limits: `limit = 1 + below(24)`, then `below(8)`: under 6, a hard limit of
/// `limit + below(25)`; 6, 4096; 7, the default 8 MiB.
pub fn limits(input: &mut Input<'_>) -> ReadLimits {
    let limit = 1 + input.below(24);
    let hard_limit = match input.below(8) {
        0..=5 => limit + input.below(25),
        6 => 4096,
        _ => ReadLimits::DEFAULT_HARD_LIMIT,
    };
    ReadLimits::new(limit, hard_limit).expect("limit <= hard limit")
}

/// A delimiter, valid or not: `below(10)` picks the kind (8 and 9 were added last: a choice
/// byte under 8 means what it meant with `below(8)`, so the seeds decode as before).
///
/// - 0: none.
/// - 1, 2: byte string, see [`needle`].
/// - 3: count: `below(4)`, under 3: `below(17)` (0: refused); 3: a `u64` (mostly over the
///   hard limit: refused).
/// - 4, 5: length prefix, see [`prefix`].
/// - 6, 7: a regex from the model's list (a byte string without the `regex` feature).
/// - 8: byte string after a count: a [`needle`], then the count: `below(4)`, under 3:
///   `below(9)` (0: the byte string itself; under the needle's length: refused); 3:
///   `below(64)` (often over a small hard limit: refused).
/// - 9: custom: `below(3)` picks the model's function: [`CustomFn::Sized`],
///   [`CustomFn::ToSemicolon`], [`CustomFn::AfterCount`].
pub fn delim(input: &mut Input<'_>) -> Delim {
    match input.below(10) {
        0 => Delim::None,
        3 => match input.below(4) {
            0..=2 => Delim::Count(input.below(17)),
            _ => Delim::Count(usize::try_from(input.u64()).unwrap_or(usize::MAX)),
        },
        4 | 5 => Delim::Prefix(prefix(input)),
        #[cfg(feature = "regex")]
        6 | 7 => {
            let regexes = crate::model::REGEXES;
            Delim::Regex(&regexes[input.below(regexes.len())])
        }
        8 => {
            let needle = needle(input);
            let skip = match input.below(4) {
                0..=2 => input.below(9),
                _ => input.below(64),
            };
            Delim::After { skip, needle }
        }
        9 => Delim::Custom(
            [CustomFn::Sized, CustomFn::ToSemicolon, CustomFn::AfterCount][input.below(3)],
        ),
        _ => Delim::Bytes(needle(input)),
    }
}

/// The bytes of a byte-string delimiter: `below(9)`, a [`COMMON_DELIMITERS`] entry, or 8:
/// `below(5)` raw bytes (0 of them: refused).
pub fn needle(input: &mut Input<'_>) -> Vec<u8> {
    match input.below(COMMON_DELIMITERS.len() + 1) {
        i if i < COMMON_DELIMITERS.len() => COMMON_DELIMITERS[i].to_vec(),
        _ => {
            let len = input.below(5);
            input.take(len).to_vec()
        }
    }
}

/// A length-prefix layout, valid or not, with every knob:
///
/// 1. field length: `below(5)`: 1, 2, 4, 8, or `below(10)` (mostly invalid);
/// 2. field offset: `below(8)`: under 6, `below(4)`; 6, `below(64)`; 7, a `u64`;
/// 3. endianness: a flag, little-endian when set;
/// 4. adjustment: `below(8)`: under 6, `below(9) - 4`; 6, minus the header length; 7, an `i64`;
/// 5. strip: `below(4)`: 0, the whole header; 1, 2, `below(min(header, 254) + 2)` (one more
///    than the header: refused); 3, a `u64`.
pub fn prefix(input: &mut Input<'_>) -> Prefix {
    let field_len = match input.below(5) {
        4 => input.below(10),
        i => [1, 2, 4, 8][i],
    };
    let field_offset = match input.below(8) {
        0..=5 => input.below(4),
        6 => input.below(64),
        _ => usize::try_from(input.u64()).unwrap_or(usize::MAX),
    };
    let little_endian = input.flag();
    let header = field_offset.saturating_add(field_len);
    let adjustment = match input.below(8) {
        0..=5 => input.below(9) as i64 - 4,
        6 => -i64::try_from(header).unwrap_or(i64::MAX),
        _ => input.i64(),
    };
    let strip = match input.below(4) {
        0 => None,
        1 | 2 => Some(input.below(header.min(254) + 2)),
        _ => Some(usize::try_from(input.u64()).unwrap_or(usize::MAX)),
    };
    Prefix {
        field_offset,
        field_len,
        little_endian,
        adjustment,
        strip,
    }
}

/// A change: `below(8)`: under 4, none; 4 to 6, a [`delim`]; 7, [`limits`].
pub fn step(input: &mut Input<'_>) -> Step {
    match input.below(8) {
        0..=3 => Step::Keep,
        4..=6 => Step::Delimiter(delim(input)),
        _ => Step::Limits(limits(input)),
    }
}

/// Appends one piece of data, `below(5)` picking its kind (4 was added last: a choice byte
/// under 4 means what it meant with `below(4)`, so the seeds decode as before):
///
/// - 0: noise: `below(17)` raw bytes;
/// - 1: a terminator of a delimiter in play: `below(n)` over all of them (plus `\n`);
/// - 2: a frame for a length prefix in play (plus a 1-byte one): `below(n)` picks the layout,
///   then a body of `below(9)` raw bytes, or (with `below(4) == 3` first) `hard - 9 + below(11)`
///   copies of one byte, with `hard` the hard limit capped at 64: bodies just under and over it;
///   the header is filled with one byte;
/// - 3: a run: one byte, `1 + below(256)` times (long lines, for overflows);
/// - 4: a frame for a byte string searched for after a count in play (one that `after`
///   accepts; nothing when there is none): `below(n)` picks it, then see [`after_frame`].
pub fn piece(input: &mut Input<'_>, in_play: &[Delim], limits: ReadLimits, data: &mut Vec<u8>) {
    match input.below(5) {
        0 => {
            let len = input.below(17);
            data.extend_from_slice(input.take(len));
        }
        1 => {
            let mut terminators: Vec<&[u8]> = vec![b"\n"];
            for d in in_play {
                terminators.extend(d.terminators());
            }
            data.extend_from_slice(terminators[input.below(terminators.len().min(256))]);
        }
        2 => {
            let mut prefixes = vec![Prefix::new(1)];
            for d in in_play {
                if let Delim::Prefix(p) = d
                    && p.layout().header_len() <= 64
                {
                    prefixes.push(*p);
                }
            }
            let prefix = prefixes[input.below(prefixes.len().min(256))];
            let body = if input.below(4) == 3 {
                let hard = limits.hard_limit().min(64);
                let len = (hard + input.below(11)).saturating_sub(9);
                vec![input.byte(); len]
            } else {
                let len = input.below(9);
                input.take(len).to_vec()
            };
            let filler = input.byte();
            match prefix.encode_frame(filler, &body) {
                Some(frame) => data.extend_from_slice(&frame),
                None => data.extend_from_slice(&body),
            }
        }
        3 => {
            let byte = input.byte();
            let len = 1 + input.below(256);
            data.extend(std::iter::repeat_n(byte, len));
        }
        _ => {
            let searched_after: Vec<(usize, &[u8])> = in_play
                .iter()
                .filter_map(|d| match d {
                    Delim::After { skip, needle } if *skip > 0 && *skip >= needle.len() => {
                        Some((*skip, &needle[..]))
                    }
                    _ => None,
                })
                .collect();
            if !searched_after.is_empty() {
                let (skip, needle) = searched_after[input.below(searched_after.len().min(256))];
                after_frame(input, skip, needle, data);
            }
        }
    }
}

/// Appends a frame for `needle` searched for after `skip` bytes (`skip >= needle.len()`):
/// `below(4)`: under 3, a body that ends with the needle (`skip - needle.len()` raw bytes, then
/// the needle), then `below(9)` raw bytes and the needle; 3, `skip` raw bytes (a body that
/// most likely does not end with the needle: a frame alone).
pub fn after_frame(input: &mut Input<'_>, skip: usize, needle: &[u8], data: &mut Vec<u8>) {
    if input.below(4) < 3 {
        data.extend_from_slice(input.take(skip - needle.len()));
        data.extend_from_slice(needle);
        let len = input.below(9);
        data.extend_from_slice(input.take(len));
        data.extend_from_slice(needle);
    } else {
        data.extend_from_slice(input.take(skip));
    }
}

/// Cuts `data` into chunks of the given sizes, in turn; the rest is the last chunk (also once
/// there are [`MAX_CHUNKS`]). With no sizes, one chunk.
pub fn chunk(data: &[u8], sizes: &[usize]) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut at = 0;
    if sizes.iter().any(|&size| size > 0) {
        for &size in sizes.iter().cycle() {
            if at == data.len() || chunks.len() + 1 == MAX_CHUNKS {
                break;
            }
            let end = (at + size).min(data.len());
            chunks.push(data[at..end].to_vec());
            at = end;
        }
    } else {
        // Empty chunks only: push them, then the data.
        chunks.extend(sizes.iter().map(|_| Vec::new()));
    }
    if at < data.len() || chunks.is_empty() {
        chunks.push(data[at..].to_vec());
    }
    chunks
}

/// What is wrong with an idle framer, if anything: it holds an allocation with nothing
/// buffered (but to count down an oversized frame it is discarding), still refers to the last chunk pushed, or buffers more than a frame can need
/// (`limit + terminator - 1` for byte strings and regexes, `n + limit + terminator - 1` for a
/// byte string after `n`, `n - 1` for a count,
/// `hard_limit + header - 1` for a length prefix, nothing for `none`; while discarding,
/// `terminator - 1`).
pub fn idle_violation(idle: &Idle<'_>) -> Option<String> {
    let framer = idle.framer;
    let buffered = framer.buffered();
    if buffered == 0 && framer.holds_allocation() && !framer.is_discarding() {
        return Some("holds an allocation with nothing buffered".into());
    }
    if let Some(chunk) = idle.last_chunk
        && !chunk.is_unique()
    {
        return Some(format!(
            "still refers to the last pushed chunk {:?}",
            Esc(chunk)
        ));
    }
    let bound = read_bound(idle.delimiter, framer.limits(), framer.is_discarding());
    (buffered > bound).then(|| {
        format!(
            "buffers {buffered} bytes under {:?} (discarding: {}), over its bound {bound}",
            idle.delimiter,
            framer.is_discarding(),
        )
    })
}

/// The most bytes a framer may buffer once `next_frame` returned `None`.
pub fn read_bound(delimiter: &Delim, limits: ReadLimits, discarding: bool) -> usize {
    let terminator = delimiter.max_terminator_len();
    match delimiter {
        Delim::None => 0,
        _ if discarding => terminator.saturating_sub(1),
        Delim::Count(n) => n - 1,
        Delim::Prefix(p) => limits.hard_limit() + p.header_len() - 1,
        Delim::After { skip, .. } => skip + limits.limit() + terminator - 1,
        _ => limits.limit() + terminator - 1,
    }
}
