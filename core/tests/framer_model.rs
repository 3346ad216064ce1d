//! Property tests: the `Framer` against the reference model in `model/framer.rs`.
//!
//! Inputs are built to hit the interesting cases often: the data is made of noise from a small
//! alphabet, the terminators of the delimiters in play and well-formed length-prefixed frames for
//! the layouts in play; the chunking mixes empty, one-byte and larger chunks; limits are small
//! (1..=20) so that overflows happen.
//!
//! Regex delimiters (feature `regex`) are limited to `\r?\n`, `[;,]` and `ab|cd`: the framer
//! treats a match found in the bytes received so far as final and searches only the first
//! `limit + longest match` bytes of a frame, so for patterns whose first match can change as
//! more bytes arrive (`\n\r?`, `ab|a`, `abc|b`) the frames depend on the chunking and no
//! chunking-free model exists. These three are alternations of literals where that cannot happen
//! (see `model::framer::RegexDelim`). The no-panic property uses other patterns too.

mod model;

use bytes::Bytes;
use model::framer::{
    AfterPush, CustomFn, Delim, Esc, Event, Prefix, Scenario, Step, Trace, body_ends_with,
    first_match, run_framer, run_model, set_framer_delimiter,
};
use pants_core::channel::Framer;
use pants_core::{Direction, FrameError, ReadLimits};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;

/// Bytes the data is mostly made of: terminators of the delimiters below, their first bytes,
/// and small values that read as short lengths in a length field.
const ALPHABET: &[u8] = b"ab\r\n;,cdx<\x00\x01\x02";

fn byte() -> impl Strategy<Value = u8> + Clone {
    prop_oneof![8 => select(ALPHABET), 1 => any::<u8>()]
}

fn noise(max: usize) -> impl Strategy<Value = Vec<u8>> + Clone {
    vec(byte(), 0..max)
}

fn limits() -> impl Strategy<Value = ReadLimits> + Clone {
    (1usize..=20, prop_oneof![3 => 0usize..=20, 1 => Just(4096)])
        .prop_map(|(limit, extra)| ReadLimits::new(limit, limit + extra).unwrap())
}

/// The byte strings that byte-string delimiters search for: common ones, and short strings of
/// the alphabet's terminator bytes (partial matches galore).
fn needle() -> BoxedStrategy<Vec<u8>> {
    let common: Vec<&'static [u8]> = vec![b"\n", b"\r\n", b"aa", b"aba", b"<END>", b";"];
    prop_oneof![
        3 => select(common).prop_map(<[u8]>::to_vec),
        1 => vec(select(b"ab\r\n".to_vec()), 1..=4),
    ]
    .boxed()
}

fn bytes_delim() -> BoxedStrategy<Delim> {
    needle().prop_map(Delim::Bytes).boxed()
}

/// A byte string searched for after a few bytes; now and then after none (the byte string
/// itself), after fewer bytes than the needle has (refused by `after`) or after more than a
/// small hard limit (refused when set): both sides must agree on the refusals too.
fn after_delim() -> BoxedStrategy<Delim> {
    let skip = prop_oneof![6 => 1usize..=8, 1 => Just(0usize), 2 => 9usize..=30];
    (skip, needle())
        .prop_map(|(skip, needle)| Delim::After { skip, needle })
        .boxed()
}

fn count_delim() -> BoxedStrategy<Delim> {
    // Counts over a small hard limit are refused: both sides must agree on that too.
    prop_oneof![3 => 1usize..=8, 1 => 9usize..=30]
        .prop_map(Delim::Count)
        .boxed()
}

fn prefix_delim() -> BoxedStrategy<Delim> {
    (
        select(vec![1usize, 2, 4, 8]),
        prop_oneof![3 => Just(0usize), 1 => 1usize..=3],
        any::<bool>(),
        prop_oneof![6 => -3i64..=3, 1 => any::<i64>()],
        prop::option::of(0usize..=11),
    )
        .prop_map(
            |(field_len, field_offset, little_endian, adjustment, strip)| {
                let header = field_offset + field_len;
                Delim::Prefix(Prefix {
                    field_offset,
                    field_len,
                    little_endian,
                    adjustment,
                    strip: strip.map(|s| s % (header + 1)),
                })
            },
        )
        .boxed()
}

#[cfg(feature = "regex")]
fn regex_delim() -> BoxedStrategy<Delim> {
    let all: Vec<&'static model::framer::RegexDelim> = model::framer::REGEXES.iter().collect();
    select(all).prop_map(Delim::Regex).boxed()
}

fn custom_delim() -> BoxedStrategy<Delim> {
    prop_oneof![
        Just(CustomFn::Sized),
        Just(CustomFn::ToSemicolon),
        Just(CustomFn::AfterCount)
    ]
    .prop_map(Delim::Custom)
    .boxed()
}

/// Every kind of valid delimiter, `none` included when `with_none`.
fn delim(with_none: bool) -> BoxedStrategy<Delim> {
    let mut kinds = vec![
        (3, bytes_delim()),
        (2, after_delim()),
        (2, count_delim()),
        (2, prefix_delim()),
        (2, custom_delim()),
    ];
    if with_none {
        kinds.push((1, Just(Delim::None).boxed()));
    }
    #[cfg(feature = "regex")]
    kinds.push((2, regex_delim()));
    Union::new_weighted(kinds).boxed()
}

fn step(with_none: bool) -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Keep),
        4 => delim(with_none).prop_map(Step::Delimiter),
        1 => limits().prop_map(Step::Limits),
    ]
}

/// Data likely to cut into many frames under the delimiters in play, with length-prefixed
/// bodies around the hard limit now and then.
fn data(delimiters: &[Delim], limits: ReadLimits) -> impl Strategy<Value = Vec<u8>> + use<> {
    let mut terminators: Vec<Vec<u8>> = vec![b"\r\n".to_vec(), b"\n".to_vec()];
    let mut prefixes = vec![Prefix::new(1)];
    for d in delimiters {
        terminators.extend(d.terminators().iter().map(|t| t.to_vec()));
        if let Delim::Prefix(p) = d {
            prefixes.push(*p);
        }
    }
    let hard_limit = limits.hard_limit().min(64);
    let after = prop_oneof![
        3 => noise(8),
        1 => vec(byte(), hard_limit.saturating_sub(9)..=hard_limit + 1),
    ];
    let announced = (select(prefixes), after, byte())
        .prop_map(|(prefix, after, filler)| prefix.encode_frame(filler, &after).unwrap_or(after));
    let mut pieces = vec![
        (3, noise(8).boxed()),
        (3, select(terminators).boxed()),
        (2, announced.boxed()),
    ];
    let searched_after: Vec<(usize, Vec<u8>)> = delimiters
        .iter()
        .filter_map(|d| match d {
            Delim::After { skip, needle } if *skip > 0 && *skip >= needle.len() => {
                Some((*skip, needle.clone()))
            }
            _ => None,
        })
        .collect();
    if !searched_after.is_empty() {
        pieces.push((3, after_frame(searched_after)));
    }
    vec(Union::new_weighted(pieces), 0..30).prop_map(|pieces| pieces.concat())
}

/// A frame for one of these byte strings searched for after a count (`(skip, needle)`, with
/// `skip >= needle.len()`): mostly a body that ends with the needle, then a few bytes and the
/// needle; else a body that does not (most likely), which is a frame alone.
fn after_frame(searched_after: Vec<(usize, Vec<u8>)>) -> BoxedStrategy<Vec<u8>> {
    select(searched_after)
        .prop_flat_map(|(skip, needle)| {
            (
                Just(needle),
                vec(byte(), skip),
                prop_oneof![3 => Just(true), 1 => Just(false)],
                noise(6),
            )
        })
        .prop_map(|(needle, mut frame, ends_with_needle, rest)| {
            if ends_with_needle {
                let at = frame.len() - needle.len();
                frame[at..].copy_from_slice(&needle);
                frame.extend_from_slice(&rest);
                frame.extend_from_slice(&needle);
            }
            frame
        })
        .boxed()
}

/// Chunk sizes, used in turn (0 pushes an empty chunk); the rest of the data is pushed last.
fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    vec(
        prop_oneof![1 => Just(0usize), 3 => Just(1usize), 3 => 2usize..6, 2 => 6usize..40],
        0..24,
    )
}

/// Mostly draining after every push; sometimes settling first or letting pushes pile up.
fn after_push() -> impl Strategy<Value = Vec<AfterPush>> {
    prop_oneof![
        2 => Just(Vec::new()),
        1 => vec(
            prop_oneof![
                3 => Just(AfterPush::Drain),
                1 => Just(AfterPush::SettleThenDrain),
                2 => Just(AfterPush::Wait),
            ],
            1..6,
        ),
    ]
}

fn chunk(data: &[u8], sizes: &[usize]) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut at = 0;
    for &size in sizes.iter().cycle().take(4 * data.len()) {
        if at == data.len() {
            break;
        }
        let end = (at + size).min(data.len());
        chunks.push(data[at..end].to_vec());
        at = end;
    }
    if at < data.len() || chunks.is_empty() {
        chunks.push(data[at..].to_vec());
    }
    chunks
}

/// A scenario with delimiter changes after delivered frames (`none` among them when
/// `with_none`).
fn scenario(with_none: bool) -> BoxedStrategy<Scenario> {
    scenario_from(
        delim(with_none),
        vec(step(with_none), 0..5).boxed(),
        idle_steps(with_none),
        !with_none,
    )
}

/// No `none` delimiter and no changes while idle (their timing depends on the chunking): only
/// the chunking may change the output, and it must not.
fn chunking_free_scenario() -> BoxedStrategy<Scenario> {
    let no_idle_changes = Just(Vec::new()).boxed();
    scenario_from(
        delim(false),
        vec(step(false), 0..5).boxed(),
        no_idle_changes,
        true,
    )
}

/// Changes when idle: none at all in half the scenarios.
fn idle_steps(with_none: bool) -> BoxedStrategy<Vec<Step>> {
    prop_oneof![Just(Vec::new()), vec(step(with_none), 1..4)].boxed()
}

/// The delimiter, with the body of a byte string searched for after a count made as long as
/// the needle if it is shorter (`after` refuses it then).
fn long_enough_body(delimiter: Delim) -> Delim {
    match delimiter {
        Delim::After { skip, needle } if skip > 0 => Delim::After {
            skip: skip.max(needle.len()),
            needle,
        },
        d => d,
    }
}

/// A scenario starting with a delimiter from `first`, changed as `script` and `idle` say; with
/// `first_accepted`, the first delimiter is made valid ([`long_enough_body`]) and the hard
/// limit raised so that it is not refused.
fn scenario_from(
    first: BoxedStrategy<Delim>,
    script: BoxedStrategy<Vec<Step>>,
    idle: BoxedStrategy<Vec<Step>>,
    first_accepted: bool,
) -> BoxedStrategy<Scenario> {
    (limits(), first, script, idle)
        .prop_flat_map(move |(limits, delimiter, script, idle)| {
            let delimiter = if first_accepted {
                long_enough_body(delimiter)
            } else {
                delimiter
            };
            let limits = if first_accepted {
                let hard_limit = limits.hard_limit().max(delimiter.needs());
                ReadLimits::new(limits.limit(), hard_limit).unwrap()
            } else {
                limits
            };
            let mut in_play = vec![delimiter.clone()];
            for step in script.iter().chain(&idle) {
                if let Step::Delimiter(d) = step {
                    in_play.push(d.clone());
                }
            }
            (
                (Just(limits), Just(delimiter), Just(script), Just(idle)),
                data(&in_play, limits),
                chunk_sizes(),
                after_push(),
            )
        })
        .prop_map(
            |((limits, delimiter, script, idle), data, sizes, after_push)| Scenario {
                limits,
                delimiter,
                script,
                idle,
                chunks: chunk(&data, &sizes),
                after_push,
            },
        )
        .boxed()
}

fn check_overflow_errors(overflows: &[pants_core::OverflowError]) -> Result<(), TestCaseError> {
    for err in overflows {
        prop_assert_eq!(err.direction(), Direction::Read);
        prop_assert!(
            err.size() > err.limit(),
            "overflow size {} not over its limit {}",
            err.size(),
            err.limit()
        );
    }
    Ok(())
}

fn no_idle_checks() -> impl FnMut(model::framer::Idle<'_>) {
    |_| {}
}

proptest! {
    /// Property 1: with random chunking (empty and one-byte chunks included), pushes that pile
    /// up before frames are taken, `settle` calls, and delimiter and limit changes after
    /// delivered frames and while idle, the framer produces the model's frames, overflows,
    /// length errors, refusals and "discarding" states, after the same pushes, and the same
    /// partial frame at EOF.
    #[test]
    fn framer_matches_the_model_with_delimiter_changes_at_frame_boundaries(
        scenario in scenario(true),
    ) {
        let expected = run_model(&scenario);
        let (actual, overflows) = run_framer(&scenario, &mut no_idle_checks());
        prop_assert_eq!(actual, expected);
        check_overflow_errors(&overflows)?;
    }

    /// Property 2: for every delimiter but `none`, the same input pushed whole or in random
    /// chunks gives the same events and the same partial frame (model-free).
    #[test]
    fn output_does_not_depend_on_the_chunking(scenario in chunking_free_scenario()) {
        let (whole, whole_overflows) = run_framer(&scenario.whole(), &mut no_idle_checks());
        let (chunked, chunked_overflows) = run_framer(&scenario, &mut no_idle_checks());
        prop_assert_eq!(chunked.events(), whole.events());
        prop_assert_eq!(chunked.partial, whole.partial);
        check_overflow_errors(&whole_overflows)?;
        check_overflow_errors(&chunked_overflows)?;
    }

    /// Property 3: an overflow is reported exactly once per frame whose body is over the limit,
    /// after the push that brings `limit + longest terminator` bytes of it (or its end), as
    /// the model says and as a plain split of the data at its terminators says.
    #[test]
    fn overflow_fires_once_per_oversized_frame_exactly_when_it_becomes_certain(
        (scenario, data) in overflow_scenario(),
    ) {
        let expected = run_model(&scenario);
        let (actual, overflows) = run_framer(&scenario, &mut no_idle_checks());
        check_overflow_errors(&overflows)?;
        prop_assert_eq!(actual.overflow_groups(), expected.overflow_groups(), "vs model");
        prop_assert_eq!(&actual, &expected);
        let oracle: Vec<usize> = split_oracle(&scenario, &data).iter().map(|o| o.group).collect();
        prop_assert_eq!(actual.overflow_groups(), oracle, "vs split oracle");
    }

    /// Property 3, overflow sizes: `size()` is "the length of the offending frame as far as it
    /// was known when the overflow became certain", so it is over the limit and never more than
    /// the frame's body, give or take the start of a terminator at the end of what was
    /// buffered (`abcd\r` of `abcd\r\n` may count as 5); exactly the size the split oracle
    /// computes from what was buffered then.
    #[test]
    fn overflow_size_is_over_the_limit_and_within_the_frame(
        (scenario, data) in overflow_scenario(),
    ) {
        let (_, overflows) = run_framer(&scenario, &mut no_idle_checks());
        let oracle = split_oracle(&scenario, &data);
        let partial_terminator = scenario.delimiter.max_terminator_len() - 1;
        prop_assert_eq!(overflows.len(), oracle.len());
        for (err, expected) in overflows.iter().zip(&oracle) {
            prop_assert!(
                err.limit() < err.size() && err.size() <= expected.body + partial_terminator,
                "overflow size {} for a body of {} bytes (limit {})",
                err.size(),
                expected.body,
                err.limit()
            );
            prop_assert_eq!(err.size(), expected.size, "for a body of {} bytes", expected.body);
        }
    }

    /// Property 1, focused on a regex delimiter followed by `none` (a regex search copies
    /// part of the input into the framer's buffer; `none` must still deliver it whole).
    #[cfg(feature = "regex")]
    #[test]
    fn framer_matches_the_model_switching_from_regex_to_none(
        scenario in regex_then_none_scenario(),
    ) {
        let expected = run_model(&scenario);
        let (actual, _) = run_framer(&scenario, &mut no_idle_checks());
        prop_assert_eq!(actual, expected);
    }

    /// Property 4: whenever `next_frame` has returned `None`, the framer holds no allocation
    /// if it buffers nothing, and buffers less than a frame can need: `limit + terminator - 1`
    /// for byte strings and regexes, `n + limit + terminator - 1` for a byte string after `n`,
    /// `n - 1` for a count, `hard_limit + header - 1` for a length prefix, nothing for `none`;
    /// while discarding an oversized frame, at most `terminator - 1` (nothing for a length
    /// prefix).
    #[test]
    fn idle_framer_holds_no_allocation_and_stays_within_its_memory_bound(
        scenario in scenario(true),
    ) {
        let mut violations = Vec::new();
        let (actual, _) = run_framer(&scenario, &mut |idle| {
            if let Some(why) = idle_violation(&idle, false) {
                violations.push(why);
            }
        });
        prop_assert!(violations.is_empty(), "{:?}\ntrace: {:?}", violations, actual);
    }

    /// Property 4, references: an idle framer keeps no reference to a pushed chunk ("When it
    /// returns `None`, the framer no longer refers to any pushed `Bytes`").
    #[test]
    fn idle_framer_keeps_no_reference_to_pushed_chunks(scenario in scenario(true)) {
        let mut violations = Vec::new();
        let (actual, _) = run_framer(&scenario, &mut |idle| {
            if let Some(why) = idle_violation(&idle, true) {
                violations.push(why);
            }
        });
        prop_assert!(violations.is_empty(), "{:?}\ntrace: {:?}", violations, actual);
    }

    /// Property 5: arbitrary bytes, chunkings and operations with arbitrary valid delimiters
    /// and limits never panic, and invalid ones are refused.
    #[test]
    fn framer_never_panics_on_arbitrary_input_and_operations(ops in vec(op(), 0..40)) {
        let mut framer = Framer::new(ReadLimits::new(16, 64).unwrap());
        for op in ops {
            match op {
                Op::Push(data) => framer.push(Bytes::from(data)),
                Op::Drain => {
                    let mut events = 0;
                    while let Some(item) = framer.next_frame() {
                        if let Err(FrameError::Overflow(err)) = item {
                            prop_assert!(err.size() > err.limit());
                        }
                        events += 1;
                        prop_assert!(events < 10_000, "runaway drain");
                    }
                }
                Op::NextFrame => {
                    let _ = framer.next_frame();
                }
                Op::SetDelimiter(d) => {
                    let refusal = d.refusal(framer.limits().hard_limit());
                    let result = set_framer_delimiter(&mut framer, &d);
                    prop_assert_eq!(result.err(), refusal);
                }
                Op::SetRegex(pattern) => set_regex(&mut framer, pattern),
                Op::SetLimits(limit, hard_limit) => {
                    if let Ok(limits) = ReadLimits::new(limit, hard_limit) {
                        let _ = framer.set_limits(limits);
                    }
                }
                Op::TakePartial => {
                    if let Some(partial) = framer.take_partial() {
                        prop_assert!(!partial.is_empty());
                    }
                }
                Op::Settle => framer.settle(),
                Op::Clear => {
                    framer.clear();
                    prop_assert_eq!(framer.buffered(), 0);
                }
            }
        }
    }
}

/// A regex delimiter first, `none` somewhere in the script.
#[cfg(feature = "regex")]
fn regex_then_none_scenario() -> BoxedStrategy<Scenario> {
    let script = (vec(step(true), 0..4), any::<prop::sample::Index>())
        .prop_map(|(mut script, at)| {
            let at = at.index(script.len() + 1);
            script.insert(at, Step::Delimiter(Delim::None));
            script
        })
        .boxed();
    scenario_from(regex_delim(), script, idle_steps(true), true)
}

/// A frame-by-frame scenario for one byte-string (searched for after a count or not) or regex
/// delimiter: bodies of lengths around the frame's limit (now and then shorter: a terminator
/// then falls among the next frame's skipped bytes), each followed by a terminator, then an
/// unterminated tail. After a count, the skipped bytes of most bodies end with the needle (the
/// search then goes on after them); the others are frames alone, and the frames after them
/// start elsewhere. Also returns the data.
fn overflow_scenario() -> impl Strategy<Value = (Scenario, Vec<u8>)> {
    let kinds = vec![
        (3, bytes_delim()),
        (2, after_delim().prop_map(long_enough_body).boxed()),
        #[cfg(feature = "regex")]
        (1, regex_delim()),
    ];
    (1usize..=12, 0usize..=8, Union::new_weighted(kinds))
        .prop_flat_map(|(limit, extra, delimiter)| {
            let terminators: Vec<Vec<u8>> =
                delimiter.terminators().iter().map(|t| t.to_vec()).collect();
            // Bodies of x, y and the terminators' first bytes: partial terminators galore.
            let mut body_bytes = b"xy".to_vec();
            body_bytes.extend(terminators.iter().map(|t| t[0]));
            let skip = delimiter.skipped();
            let frame_limit = skip + limit;
            let len = prop_oneof![
                3 => frame_limit.saturating_sub(3)..=frame_limit + 3,
                1 => 0..=frame_limit,
            ];
            let needle = terminators[0].clone();
            let ends_with_needle = prop_oneof![3 => Just(true), 1 => Just(false)];
            let body = (
                len,
                vec(select(body_bytes), frame_limit + 3),
                ends_with_needle,
            )
                .prop_map(move |(len, mut bytes, ends_with_needle)| {
                    if skip > 0 && ends_with_needle {
                        bytes[skip - needle.len()..skip].copy_from_slice(&needle);
                    }
                    bytes[..len].to_vec()
                });
            // The skipped bytes fit under the hard limit, so the delimiter is not refused.
            let hard_limit = (limit + extra).max(delimiter.needs());
            (
                Just(ReadLimits::new(limit, hard_limit).unwrap()),
                Just(delimiter),
                vec((body.clone(), select(terminators)), 0..8),
                body,
                chunk_sizes(),
            )
        })
        .prop_map(|(limits, delimiter, frames, tail, sizes)| {
            let mut data = Vec::new();
            for (body, terminator) in frames {
                data.extend_from_slice(&body);
                data.extend_from_slice(&terminator);
            }
            data.extend_from_slice(&tail);
            let scenario = Scenario {
                chunks: chunk(&data, &sizes),
                ..Scenario::simple(limits, delimiter, &[])
            };
            (scenario, data)
        })
}

/// An overflow as the split oracle expects it.
#[derive(Debug, PartialEq, Eq)]
struct ExpectedOverflow {
    /// The group it must be reported in.
    group: usize,
    /// The frame's body length (for an unterminated tail: all of it).
    body: usize,
    /// The size it must report.
    size: usize,
}

/// Where overflows must be reported, from nothing but a split of the data at its terminators
/// (searched for after each frame's skipped bytes when they end with the needle; when they do
/// not, they are a frame alone and never overflow): for each frame whose body is over the
/// frame's limit (or unterminated tail of at least `limit + longest terminator` bytes, the
/// skipped ones not counted), the group of the push that brings the first
/// `limit + longest terminator` bytes of it (plus the skipped ones), or its terminator if that
/// comes first. Its size is the body's length when the terminator is among the bytes buffered
/// then, or else what was buffered but a possible start of a terminator (`longest - 1` bytes),
/// and at least one over the frame's limit.
fn split_oracle(scenario: &Scenario, data: &[u8]) -> Vec<ExpectedOverflow> {
    let skip = scenario.delimiter.skipped();
    let frame_limit = skip + scenario.limits.limit();
    let terminators = scenario.delimiter.terminators();
    let longest = scenario.delimiter.max_terminator_len();
    // received[g] = bytes received once group g was produced (group 0: before any input).
    let mut received = vec![0];
    for chunk in &scenario.chunks {
        received.push(received.last().unwrap() + chunk.len());
    }
    let group_at = |offset: usize| received.iter().position(|&r| r >= offset).unwrap();
    // The overflow of the frame at `pos`, certain once `certain` bytes of it are in.
    let overflow = |pos: usize, certain: usize, body: usize| {
        let group = group_at(pos + certain);
        let buffered = &data[pos..received[group]];
        let size = match buffered
            .get(skip..)
            .and_then(|searched| first_match(searched, &terminators))
        {
            Some((start, _)) => skip + start,
            None => (buffered.len() - (longest - 1)).max(frame_limit + 1),
        };
        ExpectedOverflow { group, body, size }
    };
    let mut expected = Vec::new();
    let mut pos = 0;
    // Each frame's skipped bytes, once they are all here.
    while let Some(body) = data.get(pos..pos + skip) {
        if skip > 0 && !body_ends_with(body, terminators[0]) {
            // A frame alone: never an overflow.
            pos += skip;
            continue;
        }
        match first_match(&data[pos + skip..], &terminators) {
            Some((start, end)) => {
                let (start, end) = (skip + start, skip + end);
                if start > frame_limit {
                    expected.push(overflow(pos, end.min(frame_limit + longest), start));
                }
                pos += end;
            }
            None => {
                if data.len() - pos >= frame_limit + longest {
                    expected.push(overflow(pos, frame_limit + longest, data.len() - pos));
                }
                break;
            }
        }
    }
    expected
}

/// What is wrong with an idle framer, if anything.
/// With `references`, also that it keeps no reference to the last pushed chunk.
fn idle_violation(idle: &model::framer::Idle<'_>, references: bool) -> Option<String> {
    let framer = idle.framer;
    let buffered = framer.buffered();
    // Discarding the rest of an announced frame keeps its count in the (small) read buffer.
    if buffered == 0 && framer.holds_allocation() && !framer.is_discarding() {
        return Some("holds an allocation with nothing buffered".into());
    }
    if let Some(chunk) = idle.last_chunk.filter(|_| references)
        && !chunk.is_unique()
    {
        return Some(format!(
            "still refers to the last pushed chunk {:?}",
            Esc(chunk)
        ));
    }
    let limits = framer.limits();
    let terminator = idle.delimiter.max_terminator_len();
    let bound = match idle.delimiter {
        Delim::None => 0,
        // Discarding keeps only what could be the start of the terminator.
        _ if framer.is_discarding() => terminator.saturating_sub(1),
        Delim::Bytes(_) => limits.limit() + terminator - 1,
        Delim::After { skip, .. } => skip + limits.limit() + terminator - 1,
        #[cfg(feature = "regex")]
        Delim::Regex(_) => limits.limit() + terminator - 1,
        Delim::Count(n) => n - 1,
        Delim::Prefix(p) => limits.hard_limit() + p.header_len() - 1,
        // A size not yet said from the limit's worth of bytes is an overflow.
        Delim::Custom(_) => limits.limit() - 1,
    };
    (buffered > bound).then(|| {
        format!(
            "buffers {buffered} bytes under {:?} (discarding: {}) with limits {}/{}, over the \
             bound {bound}",
            idle.delimiter,
            framer.is_discarding(),
            limits.limit(),
            limits.hard_limit()
        )
    })
}

#[derive(Debug, Clone)]
enum Op {
    Push(Vec<u8>),
    Drain,
    NextFrame,
    SetDelimiter(Delim),
    SetRegex(&'static str),
    SetLimits(usize, usize),
    TakePartial,
    Settle,
    Clear,
}

fn any_delim() -> impl Strategy<Value = Delim> {
    prop_oneof![
        Just(Delim::None),
        vec(any::<u8>(), 0..6).prop_map(Delim::Bytes),
        prop_oneof![0usize..=80, any::<usize>()].prop_map(Delim::Count),
        (
            prop_oneof![0usize..=80, any::<usize>()],
            vec(any::<u8>(), 0..6)
        )
            .prop_map(|(skip, needle)| Delim::After { skip, needle }),
        (
            prop_oneof![0usize..=9, any::<usize>()],
            prop_oneof![0usize..=80, any::<usize>()],
            any::<bool>(),
            any::<i64>(),
            prop::option::of(prop_oneof![0usize..=90, any::<usize>()]),
        )
            .prop_map(
                |(field_len, field_offset, little_endian, adjustment, strip)| {
                    Delim::Prefix(Prefix {
                        field_offset,
                        field_len,
                        little_endian,
                        adjustment,
                        strip,
                    })
                }
            ),
        delim(true),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop_oneof![vec(any::<u8>(), 0..40), noise(40)].prop_map(Op::Push),
        4 => Just(Op::Drain),
        2 => Just(Op::NextFrame),
        3 => any_delim().prop_map(Op::SetDelimiter),
        1 => select(vec![
            r"\r?\n", r"\n{1,8}", "ab|a", "abc|b", r"\n\r?", r"\b\n", r"(?m)$\n", ".", "[^a]{2}",
        ])
        .prop_map(Op::SetRegex),
        1 => (0usize..100, 0usize..200).prop_map(|(l, h)| Op::SetLimits(l, h)),
        1 => Just(Op::TakePartial),
        1 => Just(Op::Settle),
        1 => Just(Op::Clear),
    ]
}

#[cfg(feature = "regex")]
fn set_regex(framer: &mut Framer, pattern: &str) {
    if let Ok(d) = pants_core::ReadDelimiter::regex(pattern) {
        framer.set_delimiter(d).unwrap();
    }
}

#[cfg(not(feature = "regex"))]
fn set_regex(_framer: &mut Framer, _pattern: &str) {}

/// The model against hand-checked traces: the model is the spec, so it gets tests of its own.
mod model_self_checks {
    use super::*;
    use model::framer::MAX_HARD_LIMIT;
    use pants_core::DelimiterError;

    fn trace(limits: (usize, usize), delimiter: Delim, chunks: &[&[u8]]) -> Trace {
        let limits = ReadLimits::new(limits.0, limits.1).unwrap();
        run_model(&Scenario::simple(limits, delimiter, chunks))
    }

    fn frame(bytes: &[u8]) -> Event {
        Event::Frame(bytes.to_vec())
    }

    #[test]
    fn line_of_exactly_the_limit_is_a_frame_and_one_more_overflows_when_certain() {
        let line = || Delim::Bytes(b"\r\n".to_vec());
        let t = trace((5, 10), line(), &[b"abcde\r\nabcdef", b"\r", b"\nok\r\n"]);
        let overflow = Event::Overflow { limit: 5 };
        assert_eq!(
            t.groups,
            [
                vec![],
                vec![frame(b"abcde")],
                vec![overflow],
                vec![frame(b"ok")],
                vec![]
            ]
        );
        assert_eq!(t.partial, None);
    }

    #[test]
    fn oversized_unterminated_tail_is_no_partial_but_a_short_one_is() {
        let t = trace((2, 10), Delim::Bytes(b"\n".to_vec()), &[b"abc"]);
        assert_eq!(t.groups[1], [Event::Overflow { limit: 2 }]);
        assert_eq!(t.partial, None);
        let t = trace((2, 10), Delim::Bytes(b"\r\n".to_vec()), &[b"abc"]);
        assert!(
            t.groups[1].is_empty(),
            "3 bytes < limit + 2: not certain yet"
        );
        assert_eq!(t.partial.as_deref(), Some(&b"abc"[..]));
    }

    #[test]
    fn length_prefix_frames_overflows_and_errors() {
        let prefix = Delim::Prefix(Prefix::new(1));
        let t = trace((2, 4), prefix.clone(), &[b"\x05abc", b"de\x02ok\x04abcd"]);
        assert_eq!(
            t.events(),
            [Event::Overflow { limit: 4 }, frame(b"ok"), frame(b"abcd")]
        );
        let negative = Delim::Prefix(Prefix {
            adjustment: -2,
            ..Prefix::new(1)
        });
        let t = trace((2, 4), negative, &[b"\x01abc", b"\x05x"]);
        assert_eq!(t.events(), [Event::LengthError { value: 1 }]);
        assert_eq!(t.partial, None);
    }

    #[test]
    fn kept_header_with_offset_and_little_endian_field() {
        let layout = Prefix {
            field_offset: 1,
            field_len: 2,
            little_endian: true,
            adjustment: -3,
            strip: Some(0),
        };
        let encoded = layout.encode_frame(b'T', b"hi").unwrap();
        assert_eq!(encoded, b"T\x05\x00hi");
        let t = trace((2, 100), Delim::Prefix(layout), &[&encoded]);
        assert_eq!(t.events(), [frame(b"T\x05\x00hi")]);
    }

    fn after(skip: usize, needle: &[u8]) -> Delim {
        Delim::After {
            skip,
            needle: needle.to_vec(),
        }
    }

    /// The model's trace, checked to be the framer's too.
    fn checked_trace(limits: (usize, usize), delimiter: Delim, chunks: &[&[u8]]) -> Trace {
        let limits = ReadLimits::new(limits.0, limits.1).unwrap();
        let scenario = Scenario::simple(limits, delimiter, chunks);
        let t = run_model(&scenario);
        assert_eq!(t, run_framer(&scenario, &mut no_idle_checks()).0);
        t
    }

    #[test]
    fn after_does_not_search_the_skipped_bytes_and_limits_the_rest() {
        // `xaa` ends with `aa`, so the search goes on after it: the `aa` starting among the
        // skipped bytes (at 1, and at 2 across their end) does not count, the one at 5 does.
        // The frame's limit is 3 + 2: `ab` fits. `aaa` ends with `aa` too; `bbbb` is over the
        // limit, certain once 3 + 2 + 2 bytes are in.
        let t = checked_trace(
            (2, 10),
            after(3, b"aa"),
            &[b"xaaabaa", b"aaabbb", b"b", b"aa"],
        );
        assert_eq!(
            t.groups,
            [
                vec![],
                vec![frame(b"xaaab")],
                vec![],
                vec![Event::Overflow { limit: 5 }],
                vec![],
                vec![]
            ]
        );
        assert_eq!(t.partial, None);
    }

    #[test]
    fn after_discards_an_oversized_frame_from_the_end_of_its_skipped_bytes() {
        // `\n\n` ends with `\n`: certain once 2 + 1 + 1 bytes are in; the `\n` at the start of
        // the skipped bytes ends nothing. The discard ends at the `\n` after `c`.
        let t = checked_trace((1, 10), after(2, b"\n"), &[b"\n\nab", b"c\nk\nx\n"]);
        assert_eq!(
            t.groups,
            [
                vec![],
                vec![Event::Overflow { limit: 3 }],
                vec![frame(b"k\nx")],
                vec![]
            ]
        );
        assert_eq!(t.partial, None);
    }

    #[test]
    fn after_a_body_not_ending_with_the_delimiter_is_a_frame_alone_at_once() {
        // `abc` does not end with `\r\n`: it is a frame as soon as it is in, with no `\r\n`
        // after it. `x\r\n` does: the frame goes on to the next `\r\n`. The run of `z`s is
        // frames of 3 alone, never an overflow, although the limit is 1.
        let t = checked_trace(
            (1, 10),
            after(3, b"\r\n"),
            &[b"abc", b"x\r\ny\r\n", b"zzzzzzz"],
        );
        assert_eq!(
            t.groups,
            [
                vec![],
                vec![frame(b"abc")],
                vec![frame(b"x\r\ny")],
                vec![frame(b"zzz"), frame(b"zzz")],
                vec![]
            ]
        );
        assert_eq!(t.partial.as_deref(), Some(&b"z"[..]));
    }

    #[test]
    fn after_over_the_hard_limit_is_refused_and_after_zero_is_the_byte_string() {
        let t = checked_trace((2, 4), after(5, b"\n"), &[b"abcdef\n"]);
        assert_eq!(
            t.groups[0],
            [Event::Refused(DelimiterError::OverHardLimit {
                size: 5,
                hard_limit: 4
            })]
        );
        assert_eq!(t.events()[1..], [frame(b"abcdef\n")], "still none");
        let chunks: &[&[u8]] = &[b"a\nbcd\n", b"e\n"];
        let t = checked_trace((2, 4), after(0, b"\n"), chunks);
        assert_eq!(t, trace((2, 4), Delim::Bytes(b"\n".to_vec()), chunks));
        assert_eq!(
            t.events(),
            [frame(b"a"), Event::Overflow { limit: 2 }, frame(b"e")]
        );
    }

    #[test]
    fn after_fewer_bytes_than_the_delimiter_is_refused() {
        let t = checked_trace((2, 4), after(1, b"\r\n"), &[b"a\r\n"]);
        assert_eq!(
            t.groups[0],
            [Event::Refused(DelimiterError::BodyShorterThanDelimiter {
                body: 1,
                delimiter: 2
            })]
        );
        assert_eq!(t.events()[1..], [frame(b"a\r\n")], "still none");
        // As long as the delimiter is valid, and before the hard limit.
        assert_eq!(
            after(4, b"<END>").refusal(100),
            Some(DelimiterError::BodyShorterThanDelimiter {
                body: 4,
                delimiter: 5
            })
        );
        assert_eq!(after(5, b"<END>").refusal(100), None);
        assert_eq!(after(0, b"<END>").refusal(100), None);
        assert_eq!(after(1, b"").refusal(100), Some(DelimiterError::EmptyBytes));
        let cases = [
            (4, &b"<END>"[..]),
            (1, b""),
            (5, b"<END>"),
            (0, b"<END>"),
            (usize::MAX, b"\r\n"),
            (usize::MAX, b""),
        ];
        for (skip, needle) in cases {
            assert_eq!(
                after(skip, needle).to_read_delimiter().err(),
                after(skip, needle).refusal(MAX_HARD_LIMIT),
                "after({skip}, {:?})",
                Esc(needle)
            );
        }
    }

    #[test]
    fn count_over_the_hard_limit_is_refused() {
        let t = trace((2, 4), Delim::Count(5), &[b"abcdef"]);
        assert_eq!(
            t.groups[0],
            [Event::Refused(DelimiterError::OverHardLimit {
                size: 5,
                hard_limit: 4
            })]
        );
        assert_eq!(t.events()[1..], [frame(b"abcdef")], "still none");
    }

    #[test]
    fn script_applies_after_each_delivered_frame() {
        let line = Delim::Bytes(b"\n".to_vec());
        let limits = ReadLimits::new(10, 100).unwrap();
        let scenario = Scenario {
            script: vec![
                Step::Delimiter(Delim::Count(2)),
                Step::Delimiter(line.clone()),
            ],
            ..Scenario::simple(limits, line, &[b"a\nbcd\nef"])
        };
        let t = run_model(&scenario);
        assert_eq!(
            t.events(),
            [frame(b"a"), frame(b"bc"), frame(b"d"), frame(b"ef")]
        );
        assert_eq!(t, run_framer(&scenario, &mut no_idle_checks()).0);
    }
}

/// Minimal cases of the framer bugs these properties found, kept as regressions.
mod regressions {
    use super::*;

    /// `Framer::next_frame`: "When it returns `None`, the framer no longer refers to any pushed
    /// `Bytes`". Was: after a frame that ends exactly at the end of a push, the read buffer's
    /// input was an empty `Bytes` still sharing the pushed allocation, so an idle framer pinned
    /// the driver's read buffer until the next push.
    #[test]
    fn regression_idle_framer_keeps_the_consumed_chunk_alive() {
        let mut framer = Framer::new(ReadLimits::default());
        set_framer_delimiter(&mut framer, &Delim::Bytes(b"\n".to_vec())).unwrap();
        let chunk = Bytes::from(b"a\n".to_vec());
        framer.push(chunk.clone());
        assert_eq!(framer.next_frame().unwrap().unwrap(), "a");
        assert!(framer.next_frame().is_none());
        assert_eq!(framer.buffered(), 0);
        assert!(
            chunk.is_unique(),
            "the idle framer still refers to the pushed chunk"
        );
    }

    /// Switching to `none` delivers everything buffered as one frame. Was: a regex search over
    /// a partial frame moved part of the latest push into the framer's own buffer, so the
    /// switch to `none` split the push at that arbitrary point: `a`, `b`, `c` instead of `a`,
    /// `bc`.
    #[cfg(feature = "regex")]
    #[test]
    fn regression_regex_search_splits_the_buffered_bytes_that_none_delivers() {
        let semicolon = &model::framer::REGEXES[1];
        assert_eq!(semicolon.pattern, "[;,]");
        let scenario = Scenario {
            script: vec![Step::Delimiter(Delim::None)],
            ..Scenario::simple(
                ReadLimits::new(2, 2).unwrap(),
                Delim::Regex(semicolon),
                &[b"a", b";bc"],
            )
        };
        let expected = run_model(&scenario);
        let frame = |bytes: &[u8]| Event::Frame(bytes.to_vec());
        assert_eq!(expected.events(), [frame(b"a"), frame(b"bc")]);
        assert_eq!(run_framer(&scenario, &mut no_idle_checks()).0, expected);
    }

    /// `OverflowError::size`: "the length of the offending frame as far as it was known when
    /// the overflow became certain". Was: every buffered byte, bytes of the frames after it
    /// included: 4 for the 2-byte body `xx`.
    #[test]
    fn regression_overflow_size_counts_the_bytes_after_the_frame() {
        let mut framer = Framer::new(ReadLimits::new(1, 1).unwrap());
        set_framer_delimiter(&mut framer, &Delim::Bytes(b"\n".to_vec())).unwrap();
        framer.push(Bytes::from_static(b"xx\nx"));
        let Some(Err(FrameError::Overflow(err))) = framer.next_frame() else {
            panic!("expected an overflow");
        };
        assert_eq!((err.limit(), err.size()), (1, 2), "{err}");
    }
}
