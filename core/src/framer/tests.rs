use bytes::Bytes;

use super::*;
use std::sync::Arc;

use crate::{FrameSize, LengthPrefix};

fn framer(delimiter: ReadDelimiter, limit: usize) -> Framer {
    let mut framer = Framer::new(ReadLimits::new(limit, limit.max(1 << 20)).unwrap());
    framer.set_delimiter(delimiter).unwrap();
    framer
}

fn line() -> ReadDelimiter {
    ReadDelimiter::bytes(b"\r\n").unwrap()
}

/// Pushes `chunks` one at a time, collecting frames (as strings) and errors (as "!size").
fn feed(framer: &mut Framer, chunks: &[&[u8]]) -> Vec<String> {
    let mut out = Vec::new();
    for chunk in chunks {
        framer.push(Bytes::copy_from_slice(chunk));
        drain(framer, &mut out);
    }
    out
}

fn drain(framer: &mut Framer, out: &mut Vec<String>) {
    while let Some(frame) = framer.next_frame() {
        out.push(match frame {
            Ok(frame) => String::from_utf8_lossy(&frame).into_owned(),
            Err(FrameError::Overflow(err)) => format!("!{}", err.size()),
            Err(FrameError::Length(err)) => format!("!len {}", err.value()),
        });
    }
}

#[test]
fn none_delivers_each_push_as_it_arrived_without_copying() {
    let mut framer = Framer::default();
    let data = Bytes::from_static(b"abc");
    framer.push(data.clone());
    let frame = framer.next_frame().unwrap().unwrap();
    assert_eq!(frame.as_ptr(), data.as_ptr());
    assert!(framer.next_frame().is_none());
}

#[test]
fn byte_delimiter_frames_from_one_push_share_its_memory() {
    let mut framer = framer(line(), 100);
    let data = Bytes::from_static(b"ab\r\ncd\r\n");
    framer.push(data.clone());
    let first = framer.next_frame().unwrap().unwrap();
    let second = framer.next_frame().unwrap().unwrap();
    assert_eq!((&first[..], &second[..]), (&b"ab"[..], &b"cd"[..]));
    assert_eq!(second.as_ptr(), data[4..].as_ptr());
    assert!(framer.next_frame().is_none());
    assert!(!framer.holds_allocation());
}

#[test]
fn delimiter_split_across_pushes_is_found() {
    let mut framer = framer(line(), 100);
    assert_eq!(
        feed(&mut framer, &[b"ab\r", b"\ncd\r", b"\n"]),
        ["ab", "cd"]
    );
}

#[test]
fn long_delimiter_straddling_three_pushes_is_found() {
    let mut framer = framer(ReadDelimiter::bytes(b"<END>").unwrap(), 100);
    assert_eq!(feed(&mut framer, &[b"x<E", b"N", b"D>y<END>"]), ["x", "y"]);
}

#[test]
fn partial_delimiter_that_fails_is_part_of_the_frame() {
    let mut framer = framer(line(), 100);
    assert_eq!(feed(&mut framer, &[b"a\r", b"b\r\n"]), ["a\rb"]);
}

#[test]
fn empty_frames_between_adjacent_delimiters() {
    let mut framer = framer(line(), 100);
    assert_eq!(feed(&mut framer, &[b"\r\n\r\nx\r\n"]), ["", "", "x"]);
}

#[test]
fn line_of_exactly_the_limit_is_accepted_however_it_arrives() {
    let line_bytes = [b"abcde".as_slice(), b"\r\n"].concat();
    for split in 0..=line_bytes.len() {
        let mut framer = framer(line(), 5);
        let (a, b) = line_bytes.split_at(split);
        assert_eq!(feed(&mut framer, &[a, b]), ["abcde"], "split at {split}");
    }
}

#[test]
fn line_one_over_the_limit_overflows_however_it_arrives() {
    let line_bytes = b"abcdef\r\nok\r\n";
    for split in 0..=line_bytes.len() {
        let mut framer = framer(line(), 5);
        let (a, b) = line_bytes.split_at(split);
        let out = feed(&mut framer, &[a, b]);
        assert_eq!(out.len(), 2, "split at {split}: {out:?}");
        assert!(out[0].starts_with('!'), "split at {split}: {out:?}");
        assert_eq!(out[1], "ok", "split at {split}");
    }
}

#[test]
fn overflow_fires_as_soon_as_limit_plus_delimiter_bytes_hold_no_delimiter() {
    let mut framer = framer(line(), 4);
    assert!(feed(&mut framer, &[b"abcde"]).is_empty());
    assert_eq!(feed(&mut framer, &[b"f"]), ["!5"]);
}

#[test]
fn overflow_reports_the_frame_size_when_its_end_is_buffered() {
    let mut framer = framer(line(), 1);
    assert_eq!(feed(&mut framer, &[b"xx\r\nx\r\n"]), ["!2", "x"]);
}

#[test]
fn idle_framer_keeps_no_reference_to_the_pushed_bytes() {
    for delimiter in [line(), ReadDelimiter::none()] {
        let mut framer = framer(delimiter, 10);
        let data = Bytes::from(b"ab\r\n".to_vec());
        framer.push(data.clone());
        let mut out = Vec::new();
        drain(&mut framer, &mut out);
        assert!(data.is_unique());
    }
}

#[test]
fn overflow_fires_once_then_discards_up_to_the_delimiter() {
    let mut framer = framer(line(), 4);
    let out = feed(
        &mut framer,
        &[b"0123456789", b"0123456789", b"01\r", b"\nnext\r\n"],
    );
    assert_eq!(
        out,
        ["!9", "next"],
        "9 bytes were certainly the frame's when it overflowed"
    );
    assert!(!framer.is_discarding());
}

#[test]
fn discarding_holds_at_most_a_delimiter_of_bytes() {
    let mut framer = framer(ReadDelimiter::bytes(b"<END>").unwrap(), 4);
    feed(&mut framer, &[&[b'x'; 1000]]);
    assert!(framer.is_discarding());
    assert!(framer.buffered() <= 4);
}

#[test]
fn count_delivers_exact_sizes_across_pushes() {
    let mut framer = framer(ReadDelimiter::count(3).unwrap(), 100);
    assert_eq!(
        feed(&mut framer, &[b"ab", b"cdefg", b"hi"]),
        ["abc", "def", "ghi"]
    );
}

#[test]
fn count_larger_than_the_limit_is_allowed_up_to_the_hard_limit() {
    let mut framer = Framer::new(ReadLimits::new(4, 16).unwrap());
    framer
        .set_delimiter(ReadDelimiter::count(10).unwrap())
        .unwrap();
    assert_eq!(feed(&mut framer, &[b"0123456789"]), ["0123456789"]);
    let err = framer
        .set_delimiter(ReadDelimiter::count(17).unwrap())
        .unwrap_err();
    assert_eq!(
        err,
        DelimiterError::OverHardLimit {
            size: 17,
            hard_limit: 16
        }
    );
    assert_eq!(
        framer.delimiter().as_count(),
        Some(10),
        "a refused delimiter changes nothing"
    );
}

#[test]
fn delimiter_change_inside_a_push_reparses_the_rest_at_once() {
    let mut framer = framer(line(), 100);
    framer.push(Bytes::from_static(b"$5\r\nhello\r\n$2\r\nhi\r\n"));
    let mut bodies = Vec::new();
    while let Some(Ok(header)) = framer.next_frame() {
        let n: usize = std::str::from_utf8(&header[1..]).unwrap().parse().unwrap();
        framer
            .set_delimiter(ReadDelimiter::count(n + 2).unwrap())
            .unwrap();
        let body = framer.next_frame().unwrap().unwrap();
        bodies.push(body.slice(..n));
        framer.set_delimiter(line()).unwrap();
    }
    assert_eq!(bodies, ["hello", "hi"]);
}

#[test]
fn delimiter_set_between_pushes_applies_to_buffered_bytes() {
    let mut framer = framer(ReadDelimiter::count(100).unwrap(), 100);
    framer.push(Bytes::from_static(b"a\nb\nc"));
    assert!(framer.next_frame().is_none());
    framer
        .set_delimiter(ReadDelimiter::bytes(b"\n").unwrap())
        .unwrap();
    let mut out = Vec::new();
    drain(&mut framer, &mut out);
    assert_eq!(out, ["a", "b"]);
    assert_eq!(framer.take_partial().unwrap(), "c");
}

#[test]
fn switching_to_none_delivers_the_pending_bytes_first() {
    let mut framer = framer(line(), 100);
    assert!(feed(&mut framer, &[b"partial"]).is_empty());
    framer.set_delimiter(ReadDelimiter::none()).unwrap();
    assert_eq!(
        feed(&mut framer, &[b"more"]),
        ["partialmore"],
        "buffered bytes come as one"
    );
    assert_eq!(feed(&mut framer, &[b"next"]), ["next"]);
}

#[test]
fn length_prefix_frames_across_pushes() {
    let prefix = ReadDelimiter::length_prefix(LengthPrefix::new(2)).unwrap();
    let mut framer = framer(prefix, 100);
    let out = feed(&mut framer, &[b"\x00", b"\x03ab", b"c\x00\x00\x00\x01z"]);
    assert_eq!(out, ["abc", "", "z"]);
}

#[test]
fn length_prefix_with_offset_adjustment_and_kept_header() {
    // type byte, 2-byte little-endian length counting the whole frame, header kept
    let layout = LengthPrefix::new(2)
        .field_offset(1)
        .endian(crate::Endian::Little)
        .adjustment(-3)
        .strip(0);
    let mut framer = framer(ReadDelimiter::length_prefix(layout).unwrap(), 100);
    assert_eq!(
        feed(&mut framer, &[b"T\x05\x00hiT\x03\x00"]),
        ["T\u{5}\0hi", "T\u{3}\0"]
    );
}

#[test]
fn length_prefix_over_the_hard_limit_overflows_and_skips_the_frame() {
    let mut framer = Framer::new(ReadLimits::new(2, 4).unwrap());
    framer
        .set_delimiter(ReadDelimiter::length_prefix(LengthPrefix::new(1)).unwrap())
        .unwrap();
    let out = feed(&mut framer, &[b"\x05abc", b"de\x02ok"]);
    assert_eq!(
        out,
        ["!5", "ok"],
        "a 4-byte frame over the 2-byte soft limit is fine"
    );
    assert_eq!(feed(&mut framer, &[b"\x04abcd"]), ["abcd"]);
}

#[test]
fn negative_adjusted_length_fails_the_framer_for_good() {
    let layout = LengthPrefix::new(1).adjustment(-2);
    let mut framer = framer(ReadDelimiter::length_prefix(layout).unwrap(), 100);
    assert_eq!(feed(&mut framer, &[b"\x01abc"]), ["!len 1"]);
    assert!(feed(&mut framer, &[b"\x05abcdefg"]).is_empty());
    assert_eq!(framer.buffered(), 0);
}

#[test]
fn partial_frame_is_retrievable_at_eof() {
    let mut framer = framer(line(), 100);
    assert_eq!(feed(&mut framer, &[b"one\r\ntw"]), ["one"]);
    assert_eq!(framer.take_partial().unwrap(), "tw");
    assert!(framer.take_partial().is_none());
}

#[test]
fn oversized_frame_being_discarded_is_not_a_partial_frame() {
    let mut framer = framer(line(), 2);
    assert_eq!(
        feed(&mut framer, &[b"abcdef"]),
        ["!5"],
        "the last byte may start the delimiter"
    );
    assert!(framer.take_partial().is_none());
}

#[test]
fn capacity_is_released_after_a_large_frame() {
    let mut framer = framer(ReadDelimiter::count(1 << 16).unwrap(), 1 << 17);
    for chunk in vec![vec![7u8; 1 << 12]; 16] {
        framer.push(Bytes::from(chunk));
        if let Some(frame) = framer.next_frame() {
            assert_eq!(frame.unwrap().len(), 1 << 16);
        }
    }
    assert!(!framer.holds_allocation());
}

#[test]
fn long_line_one_byte_at_a_time_resumes_its_search() {
    // 1 MiB arriving byte by byte: linear, or this test would take minutes.
    let mut framer = framer(line(), 2 << 20);
    for _ in 0..(1 << 20) {
        framer.push(Bytes::from_static(b"x"));
        assert!(framer.next_frame().is_none());
    }
    framer.push(Bytes::from_static(b"\r"));
    assert!(framer.next_frame().is_none());
    framer.push(Bytes::from_static(b"\n"));
    assert_eq!(framer.next_frame().unwrap().unwrap().len(), 1 << 20);
}

#[test]
fn limits_below_one_or_above_the_hard_limit_are_refused() {
    assert!(ReadLimits::new(0, 10).is_err());
    assert!(ReadLimits::new(11, 10).is_err());
    let mut framer = framer(ReadDelimiter::count(8).unwrap(), 10);
    assert!(framer.set_limits(ReadLimits::new(4, 4).unwrap()).is_err());
    assert_eq!(framer.limits().hard_limit(), 1 << 20);
}

#[cfg(feature = "regex")]
mod regex {
    use super::*;

    #[test]
    fn regex_frames_end_at_each_match() {
        let mut framer = framer(ReadDelimiter::regex(r"\r?\n").unwrap(), 100);
        assert_eq!(feed(&mut framer, &[b"a\nb\r", b"\nc\n"]), ["a", "b", "c"]);
    }

    #[test]
    fn regex_overflow_discards_to_the_next_match() {
        let mut framer = framer(ReadDelimiter::regex(r"[;,]").unwrap(), 3);
        assert_eq!(feed(&mut framer, &[b"abcdefg", b"h;ok,"]), ["!7", "ok"]);
        let mut lines = super::framer(ReadDelimiter::regex(r"\r?\n").unwrap(), 1);
        assert_eq!(
            feed(&mut lines, &[b"xx\r\ny\n"]),
            ["!2", "y"],
            "size is the frame's"
        );
    }
}

/// Reads up to `n` lent frames in place from `input`, as the engine does.
fn read_lent(framer: &Framer, input: &mut Lent, n: usize, out: &mut Vec<String>) {
    for _ in 0..n {
        let Some(at) = framer.frame_in(input) else {
            return;
        };
        let frame = &input.bytes[at.skip..at.skip + at.len];
        out.push(String::from_utf8_lossy(frame).into_owned());
        input.advance(at.end);
    }
}

#[test]
fn lent_frames_are_read_in_place_and_the_rest_is_framed_once_given_back() {
    let mut framer = framer(ReadDelimiter::byte(b'\n'), 100);
    let data = Bytes::from_static(b"*2\n$3\nGET\r\nkey\r\npartial");
    framer.push(data.clone());
    let mut input = framer.lend().unwrap();
    assert_eq!(input.bytes.as_ptr(), data.as_ptr(), "lent without a copy");
    let mut out = Vec::new();
    read_lent(&framer, &mut input, 2, &mut out);
    assert_eq!(out, ["*2", "$3"]);
    framer
        .set_delimiter(ReadDelimiter::count(5).unwrap())
        .unwrap();
    read_lent(&framer, &mut input, 1, &mut out);
    framer
        .set_delimiter(ReadDelimiter::bytes(b"\r\n").unwrap())
        .unwrap();
    read_lent(&framer, &mut input, usize::MAX, &mut out);
    assert_eq!(out, ["*2", "$3", "GET\r\n", "key"]);
    framer.give_back(input);
    assert!(framer.next_frame().is_none());
    framer.push(Bytes::from_static(b" line\r\n"));
    drain(&mut framer, &mut out);
    assert_eq!(out.last().unwrap(), "partial line");
    assert!(!framer.holds_allocation());
}

#[test]
fn every_delimiter_lends_but_not_a_frame_that_spans_reads() {
    let mut out = Vec::new();
    let mut none = Framer::default();
    none.push(Bytes::from_static(b"abc"));
    let mut input = none.lend().unwrap();
    read_lent(&none, &mut input, usize::MAX, &mut out);
    assert_eq!(out, ["abc"], "no delimiter: the chunk itself is the frame");
    let prefix_delimiter = ReadDelimiter::length_prefix(LengthPrefix::new(1)).unwrap();
    let mut prefix = framer(prefix_delimiter, 100);
    prefix.push(Bytes::from_static(b"\x01a\x02"));
    let mut input = prefix.lend().unwrap();
    read_lent(&prefix, &mut input, usize::MAX, &mut out);
    assert_eq!(out, ["abc", "a"], "the header is skipped");
    let mut split = framer(line(), 100);
    split.push(Bytes::from_static(b"ab"));
    assert!(split.next_frame().is_none());
    split.push(Bytes::from_static(b"c\r\nd\r\n"));
    assert!(
        split.lend().is_none(),
        "a frame that spans reads is completed by next_frame"
    );
    assert_eq!(split.next_frame().unwrap().unwrap(), "abc");
    let mut input = split.lend().unwrap();
    read_lent(&split, &mut input, usize::MAX, &mut out);
    assert_eq!(out, ["abc", "a", "d"], "the rest of the read is lent");
}

#[test]
fn a_frame_that_spans_reads_copies_its_own_bytes_not_the_whole_read() {
    let mut framer = framer(line(), 1 << 16);
    framer.push(Bytes::from_static(b"ab"));
    assert!(framer.next_frame().is_none());
    let mut read = b"c\r\n".to_vec();
    read.extend(std::iter::repeat_n(b'x', 60_000));
    read.extend(b"\r\n");
    let read = Bytes::from(read);
    framer.push(read.clone());
    assert_eq!(framer.next_frame().unwrap().unwrap(), "abc");
    let rest = framer.next_frame().unwrap().unwrap();
    assert_eq!(rest.len(), 60_000);
    assert_eq!(
        rest.as_ptr(),
        read[3..].as_ptr(),
        "the rest of the read is sliced, not copied"
    );
}

#[test]
fn nothing_is_lent_while_discarding() {
    let mut framer = framer(line(), 2);
    framer.push(Bytes::from_static(b"abcdef"));
    assert!(framer.next_frame().unwrap().is_err());
    framer.push(Bytes::from_static(b"gh"));
    assert!(framer.lend().is_none());
}

#[test]
fn a_lent_frame_over_the_limit_is_left_to_next_frame() {
    let mut framer = framer(line(), 4);
    framer.push(Bytes::from_static(b"ok\r\ntoo long\r\nnext\r\n"));
    let mut input = framer.lend().unwrap();
    let mut out = Vec::new();
    read_lent(&framer, &mut input, usize::MAX, &mut out);
    assert_eq!(out, ["ok"]);
    framer.give_back(input);
    drain(&mut framer, &mut out);
    assert_eq!(out, ["ok", "!8", "next"]);
}

#[test]
fn input_given_back_after_a_clear_is_dropped() {
    let mut framer = framer(line(), 100);
    framer.push(Bytes::from_static(b"a\r\nb\r\n"));
    let mut input = framer.lend().unwrap();
    input.advance(3);
    framer.clear();
    framer.give_back(input);
    assert!(framer.next_frame().is_none());
    assert!(!framer.holds_allocation());
}

#[test]
fn input_given_back_goes_before_bytes_pushed_while_it_was_lent() {
    let mut framer = framer(line(), 100);
    framer.push(Bytes::from_static(b"a\r\nb"));
    let mut input = framer.lend().unwrap();
    input.advance(3);
    framer.push(Bytes::from_static(b"c\r\nd\r\n"));
    framer.give_back(input);
    let mut out = Vec::new();
    drain(&mut framer, &mut out);
    assert_eq!(out, ["bc", "d"]);
}

#[test]
fn input_given_back_after_a_settle_is_kept_and_framed() {
    let mut framer = framer(line(), 100);
    framer.push(Bytes::from_static(b"a\r\nb\r\nc"));
    let mut input = framer.lend().unwrap();
    input.advance(3);
    framer.settle();
    framer.give_back(input);
    let mut out = Vec::new();
    drain(&mut framer, &mut out);
    assert_eq!(out, ["b"]);
    framer.push(Bytes::from_static(b"\r\n"));
    drain(&mut framer, &mut out);
    assert_eq!(out, ["b", "c"]);
}

#[test]
fn after_counts_bytes_then_searches_however_it_arrives() {
    // The first body holds the delimiter twice and ends with it; the match that ends the
    // frame comes after it. The second body is followed by an empty line.
    let data = b"a\r\n\r\n$3\r\nxyz\r\n\r\n";
    for split in 0..=data.len() {
        let mut framer = framer(line().after(5).unwrap(), 100);
        let (a, b) = data.split_at(split);
        let out = feed(&mut framer, &[a, b]);
        assert_eq!(out, ["a\r\n\r\n$3", "xyz\r\n"], "split at {split}");
        assert!(!framer.holds_allocation(), "split at {split}");
    }
}

#[test]
fn after_a_body_that_does_not_end_with_the_delimiter_is_a_frame_at_once() {
    let data = b"abcde$3\r\n";
    for split in 5..=data.len() {
        let mut framer = framer(line().after(5).unwrap(), 100);
        let (a, b) = data.split_at(split);
        // Only the body's bytes are needed: no line has to end first.
        assert_eq!(feed(&mut framer, &[a]), ["abcde"], "split at {split}");
        framer.set_delimiter(line()).unwrap();
        assert_eq!(feed(&mut framer, &[b]), ["$3"], "split at {split}");
    }
    let mut framer = framer(line().after(5).unwrap(), 100);
    framer.push(Bytes::from_static(b"abcde$3\r\n"));
    let mut input = framer.lend().unwrap();
    let mut out = Vec::new();
    read_lent(&framer, &mut input, 1, &mut out);
    assert_eq!(out, ["abcde"], "read in place alike");
}

#[test]
fn after_lends_frames_found_after_the_counted_bytes() {
    let mut framer = framer(ReadDelimiter::byte(b'\n').after(5).unwrap(), 100);
    framer.push(Bytes::from_static(b"a\nb\r\n$3\nGET\r\n"));
    let mut input = framer.lend().unwrap();
    let mut out = Vec::new();
    read_lent(&framer, &mut input, 1, &mut out);
    assert_eq!(out, ["a\nb\r\n$3"]);
    framer
        .set_delimiter(ReadDelimiter::count(5).unwrap())
        .unwrap();
    read_lent(&framer, &mut input, 1, &mut out);
    assert_eq!(out, ["a\nb\r\n$3", "GET\r\n"]);
    assert!(input.bytes.is_empty());
}

#[test]
fn after_limits_the_bytes_after_the_count_and_discards_an_overflow_after_them() {
    // Limit 3 after a 2-byte body: "cdefg" is 5, over it.
    let mut whole = framer(line().after(2).unwrap(), 3);
    assert_eq!(
        feed(&mut whole, &[b"\r\ncdefg\r\n\r\nxyz\r\n"]),
        ["!7", "\r\nxyz"]
    );
    // Certain before its end arrives: the body, then limit + delimiter bytes, no match.
    let mut early = framer(line().after(2).unwrap(), 3);
    assert!(feed(&mut early, &[b"\r\ncdef"]).is_empty());
    assert_eq!(feed(&mut early, &[b"g"]), ["!6"]);
    assert!(early.is_discarding());
    // The discarding ends at the next delimiter; the frame after it has a body again.
    assert_eq!(feed(&mut early, &[b"h\r", b"\n\r\nxy\r\n"]), ["\r\nxy"]);
    assert_eq!(early.buffered(), 0);
    // Within the limit, however it arrives.
    let data = b"\r\ncde\r\n";
    for split in 0..=data.len() {
        let mut framer = framer(line().after(2).unwrap(), 3);
        let (a, b) = data.split_at(split);
        assert_eq!(feed(&mut framer, &[a, b]), ["\r\ncde"], "split at {split}");
    }
}

#[test]
fn after_counted_bytes_over_the_hard_limit_are_refused() {
    let mut framer = Framer::new(ReadLimits::new(10, 20).unwrap());
    assert_eq!(
        framer.set_delimiter(line().after(21).unwrap()),
        Err(DelimiterError::OverHardLimit {
            size: 21,
            hard_limit: 20
        })
    );
    assert!(framer.set_delimiter(line().after(20).unwrap()).is_ok());
}

#[test]
fn after_is_for_byte_strings_and_after_zero_is_the_delimiter_itself() {
    let count = ReadDelimiter::count(3).unwrap();
    assert_eq!(count.after(1), Err(DelimiterError::NotSearched));
    assert_eq!(
        line().after(1),
        Err(DelimiterError::BodyShorterThanDelimiter {
            body: 1,
            delimiter: 2
        })
    );
    assert_eq!(line().after(0).unwrap(), line());
    let after = line().after(7).unwrap();
    assert_eq!((after.skipped(), after.as_bytes()), (7, Some(&b"\r\n"[..])));
    assert_eq!(after.clone().after(3).unwrap().skipped(), 3);
    assert_ne!(after, line());
    assert_eq!(
        format!("{after:?}"),
        r#"ReadDelimiter::BytesAfter(7, "\r\n")"#
    );
}

/// A custom delimiter's function for netstrings (`3:abc,`): the size once the length and its
/// colon are in; a non-digit before the colon is a frame of one byte, for the handler.
fn netstring(bytes: &[u8]) -> FrameSize {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    match bytes.get(digits) {
        None => FrameSize::Unknown,
        Some(b':') if digits > 0 => {
            let len: usize = std::str::from_utf8(&bytes[..digits])
                .unwrap()
                .parse()
                .unwrap_or(usize::MAX / 2);
            FrameSize::Known(digits + 1 + len + 1)
        }
        Some(_) => FrameSize::Known(1),
    }
}

fn netstrings() -> ReadDelimiter {
    ReadDelimiter::custom(netstring)
}

#[test]
fn custom_frames_are_as_long_as_the_function_says_however_they_arrive() {
    let data = b"3:abc,0:,x12:hello world!,";
    let whole = feed(&mut framer(netstrings(), 100), &[data]);
    assert_eq!(whole, ["3:abc,", "0:,", "x", "12:hello world!,"]);
    for split in 0..data.len() {
        let (a, b) = data.split_at(split);
        assert_eq!(
            feed(&mut framer(netstrings(), 100), &[a, b]),
            whole,
            "split at {split}"
        );
    }
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    assert_eq!(feed(&mut framer(netstrings(), 100), &bytes), whole);
}

#[test]
fn custom_function_is_not_asked_again_until_an_announced_frame_is_in() {
    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    let mut framer = framer(
        ReadDelimiter::custom(move |bytes| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            netstring(bytes)
        }),
        100,
    );
    let mut chunks: Vec<&[u8]> = vec![b"50:"];
    let body = [b'x'; 50];
    chunks.extend(body.chunks(1));
    chunks.push(b",");
    assert_eq!(feed(&mut framer, &chunks)[0].len(), 54);
    let asked = asked.load(std::sync::atomic::Ordering::Relaxed);
    assert!(asked <= 3, "asked {asked} times for one frame");
}

#[test]
fn a_custom_function_saying_at_least_is_asked_again_once_that_many_bytes_are_in() {
    // A 1-byte length, that many bytes, then up to a `;`.
    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    let delimiter = ReadDelimiter::custom(move |bytes: &[u8]| {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let counted = 1 + usize::from(bytes[0] - b'0');
        match bytes.get(counted..) {
            None => FrameSize::AtLeast(counted),
            Some(rest) => match rest.iter().position(|&b| b == b';') {
                Some(at) => FrameSize::Known(counted + at + 1),
                None => FrameSize::Unknown,
            },
        }
    });
    let mut framer = framer(delimiter.clone(), 100);
    let mut chunks: Vec<&[u8]> = b"9;;;;;;;;;ab;".chunks(1).collect();
    chunks.push(b"3");
    assert_eq!(feed(&mut framer, &chunks), ["9;;;;;;;;;ab;"]);
    let asked = asked.load(std::sync::atomic::Ordering::Relaxed);
    // Once at its start, once for each byte after the counted ones, once for the next frame.
    assert!(
        asked <= 6,
        "asked {asked} times for a frame of 13 bytes in 13 reads"
    );
    // Over the limit, "at least" is an overflow with no end: the framer stops.
    let mut framer = self::framer(delimiter, 5);
    assert_eq!(feed(&mut framer, &[b"9abc"]), ["!10"]);
    assert!(framer.has_stopped());
}

#[test]
fn a_custom_frame_announced_over_the_limit_overflows_and_is_discarded_whole() {
    let mut framer = framer(netstrings(), 10);
    let body = b"20:aaaaaaaaaaaaaaaaaaaa,2:ok,";
    // 24 bytes announced: an overflow as soon as it is announced, and the frame dropped.
    assert_eq!(
        feed(&mut framer, &[b"20", &body[2..7], &body[7..]]),
        ["!24", "2:ok,"]
    );
    assert!(!framer.is_discarding());
    assert_eq!(framer.frame_limit(), 10);
}

#[test]
fn a_custom_frame_of_unknown_size_at_the_limit_overflows_and_stops_the_framer() {
    // Digits without a colon: the size is unknown; 10 of them are over a limit of 10. Its
    // tail could pass for a frame: nothing after it is framed.
    let mut framer = framer(netstrings(), 10);
    assert_eq!(feed(&mut framer, &[b"123456789"]), Vec::<String>::new());
    assert_eq!(feed(&mut framer, &[b"0"]), ["!11"]);
    assert!(framer.has_stopped());
    assert_eq!(framer.buffered(), 0, "what it held is dropped");
    assert_eq!(feed(&mut framer, &[b"2:ok,"]), Vec::<String>::new());
    // However it arrives: the same in one push.
    let mut framer = self::framer(netstrings(), 10);
    assert_eq!(feed(&mut framer, &[b"12345678902:ok,"]), ["!11"]);
    assert!(framer.has_stopped());
}

#[test]
fn a_custom_function_answering_zero_waits_as_for_an_unknown_size() {
    let mut framer = framer(ReadDelimiter::custom(|_| FrameSize::Known(0)), 4);
    assert_eq!(feed(&mut framer, &[b"abc"]), Vec::<String>::new());
    assert_eq!(feed(&mut framer, &[b"d"]), ["!5"]);
    assert!(framer.has_stopped());
}

#[test]
fn a_custom_frame_of_unknown_size_given_up_stops_the_framer() {
    let mut framer = framer(netstrings(), 100);
    assert_eq!(feed(&mut framer, &[b"1234"]), Vec::<String>::new());
    assert_eq!(framer.give_up_frame(100).unwrap().size(), 4);
    assert!(
        framer.has_stopped(),
        "the rest of the frame could pass for frames"
    );
    assert_eq!(feed(&mut framer, &[b"56:abc,2:ok,"]), Vec::<String>::new());
}

#[test]
fn a_custom_function_is_never_asked_about_zero_bytes_in_place_or_not() {
    // A header-reading function that indexes its first byte.
    let header = || ReadDelimiter::custom(|b: &[u8]| FrameSize::Known(1 + usize::from(b[0])));
    let mut framer = framer(header(), 100);
    let data = Bytes::from_static(b"\x01a\x02bc");
    framer.push(data);
    let mut input = framer.lend().unwrap();
    let mut out = Vec::new();
    read_lent(&framer, &mut input, usize::MAX, &mut out);
    assert_eq!(out, ["\x01a", "\x02bc"]);
    framer.give_back(input);
    assert!(framer.next_frame().is_none());
    assert_eq!(
        feed(&mut self::framer(header(), 100), &[b"\x00", b"\x01z"]),
        ["\0", "\x01z"]
    );
}

#[test]
fn custom_frames_are_lent_in_place_and_a_given_up_one_is_discarded_to_its_end() {
    let mut framer = framer(netstrings(), 100);
    let data = Bytes::from_static(b"1:a,2:bc,5:de");
    framer.push(data.clone());
    let mut input = framer.lend().unwrap();
    let mut out = Vec::new();
    read_lent(&framer, &mut input, usize::MAX, &mut out);
    assert_eq!(out, ["1:a,", "2:bc,"]);
    framer.give_back(input);
    assert!(framer.next_frame().is_none());
    let err = framer.give_up_frame(100).unwrap();
    assert_eq!(err.size(), 4);
    assert_eq!(feed(&mut framer, &[b"fgh,1:z,"]), ["1:z,"]);
}

#[test]
fn custom_delimiters_are_equal_when_cloned_from_one_another() {
    let one = netstrings();
    assert_eq!(one, one.clone());
    assert_ne!(one, netstrings(), "two functions are told apart");
    assert_eq!(format!("{one:?}"), "ReadDelimiter::Custom");
}
