//! What the `framing` benchmarks measure, shared by the wall-clock bench (`framing.rs`,
//! criterion) and the instruction-count bench (`framing_instructions.rs`, gungraun).
//!
//! Every variant cuts the same input, `\r\n`-terminated lines, into frames and returns a
//! [`Tally`] of what it found: the number of lines and the bytes of their bodies (the line
//! without its `\r\n`). Each frame passes through `black_box`, so no variant can skip making
//! it. [`tally_all`] runs every variant once and checks that they agree; call it outside the
//! measured code.
//!
//! | variant | what it does |
//! |---|---|
//! | `framer_*` | pants' [`Framer`] with a `b"\r\n"` delimiter and the default limits |
//! | `lines_codec_*` | tokio-util's `LinesCodec` (splits at `\n`, strips a `\r` before it; yields `String`) |
//! | `any_delimiter_*` | tokio-util's `AnyDelimiterCodec` seeking `\n` (yields `Bytes` ending in `\r`) |
//! | `memmem_count` | `memchr::memmem` counting `\r\n`: the ceiling, since a framer must find them all |
//!
//! `*_whole` gets the whole input at once; `*_chunked` gets it in [`CHUNK`]-byte pieces, as a
//! driver reading a socket would hand them over: the framer is pushed `Bytes` slices of one
//! shared buffer (no copy), the codecs get each piece appended to their `BytesMut` (the copy a
//! `FramedRead` makes when it reads into its buffer).

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use pants_core::channel::Framer;
use pants_core::{ReadDelimiter, ReadLimits};
use tokio_util::codec::{AnyDelimiterCodec, Decoder, LinesCodec};

/// The size of the pieces a chunked variant is fed: one socket read.
pub const CHUNK: usize = 64 * 1024;

/// What a variant found: the number of lines and the bytes of their bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub lines: usize,
    pub body_bytes: usize,
}

impl Tally {
    fn add(&mut self, body_len: usize) {
        self.lines += 1;
        self.body_bytes += body_len;
    }
}

/// Exactly `len` bytes (`len >= 50`) of deterministic pseudo-random printable-ASCII lines of 50
/// to 70 bytes each, `\r\n` included, except the last, which takes up the rest (50 to 119).
pub fn input(len: usize) -> Bytes {
    assert!(len >= 50, "room for one line");
    let mut rng = SplitMix64(0x5eed_f00d_cafe_d00d);
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        let rest = len - data.len();
        let mut line_len = 50 + rng.below(21);
        if rest < line_len + 50 {
            line_len = rest;
        }
        // One draw per byte keeps this simple; it takes ~0.3 s for 64 MiB.
        data.extend((0..line_len - 2).map(|_| b' ' + rng.below(95) as u8));
        data.extend_from_slice(b"\r\n");
    }
    data.into()
}

/// Runs every variant once over `data` and checks that they found the same lines.
pub fn tally_all(data: &Bytes) -> Tally {
    let expected = memmem_count(data);
    let tallies = [
        ("framer_whole", framer_whole(data.clone())),
        ("framer_chunked", framer_chunked(data.clone())),
        (
            "lines_codec_whole",
            lines_codec_whole(&mut BytesMut::from(&data[..])),
        ),
        ("lines_codec_chunked", lines_codec_chunked(data)),
        (
            "any_delimiter_whole",
            any_delimiter_whole(&mut BytesMut::from(&data[..])),
        ),
        ("any_delimiter_chunked", any_delimiter_chunked(data)),
    ];
    for (name, tally) in tallies {
        assert_eq!(tally, expected, "{name} disagrees with memmem_count");
    }
    expected
}

/// The ceiling: finding every `\r\n` and nothing else. `body_bytes` follows from the count.
pub fn memmem_count(data: &[u8]) -> Tally {
    let lines = memchr::memmem::find_iter(data, b"\r\n").count();
    Tally {
        lines,
        body_bytes: data.len() - 2 * lines,
    }
}

/// The framer, pushed the whole input at once.
pub fn framer_whole(data: Bytes) -> Tally {
    let mut framer = line_framer();
    let mut tally = Tally::default();
    framer.push(data);
    drain_framer(&mut framer, &mut tally);
    assert!(
        framer.take_partial().is_none(),
        "the input ends with a line end"
    );
    tally
}

/// The framer, pushed [`CHUNK`]-byte slices of the input and drained after each push.
pub fn framer_chunked(mut data: Bytes) -> Tally {
    let mut framer = line_framer();
    let mut tally = Tally::default();
    while !data.is_empty() {
        let chunk = data.split_to(CHUNK.min(data.len()));
        framer.push(chunk);
        drain_framer(&mut framer, &mut tally);
    }
    assert!(
        framer.take_partial().is_none(),
        "the input ends with a line end"
    );
    tally
}

/// `LinesCodec` decoding a buffer that holds the whole input. The caller drops the buffer, so
/// that a measurement need not include freeing it.
pub fn lines_codec_whole(buf: &mut BytesMut) -> Tally {
    let mut codec = LinesCodec::new();
    let mut tally = Tally::default();
    drain_lines(&mut codec, buf, &mut tally);
    drain_lines_eof(&mut codec, buf, &mut tally);
    tally
}

/// `LinesCodec` decoding after each [`CHUNK`] appended to its buffer.
pub fn lines_codec_chunked(data: &[u8]) -> Tally {
    let mut codec = LinesCodec::new();
    let mut tally = Tally::default();
    let mut buf = BytesMut::with_capacity(CHUNK);
    for chunk in data.chunks(CHUNK) {
        buf.extend_from_slice(chunk);
        drain_lines(&mut codec, &mut buf, &mut tally);
    }
    drain_lines_eof(&mut codec, &mut buf, &mut tally);
    tally
}

/// `AnyDelimiterCodec` decoding a buffer that holds the whole input; the caller drops it.
pub fn any_delimiter_whole(buf: &mut BytesMut) -> Tally {
    let mut codec = any_delimiter_codec();
    let mut tally = Tally::default();
    drain_any(&mut codec, buf, &mut tally);
    drain_any_eof(&mut codec, buf, &mut tally);
    tally
}

/// `AnyDelimiterCodec` decoding after each [`CHUNK`] appended to its buffer.
pub fn any_delimiter_chunked(data: &[u8]) -> Tally {
    let mut codec = any_delimiter_codec();
    let mut tally = Tally::default();
    let mut buf = BytesMut::with_capacity(CHUNK);
    for chunk in data.chunks(CHUNK) {
        buf.extend_from_slice(chunk);
        drain_any(&mut codec, &mut buf, &mut tally);
    }
    drain_any_eof(&mut codec, &mut buf, &mut tally);
    tally
}

fn line_framer() -> Framer {
    let mut framer = Framer::new(ReadLimits::default());
    let crlf = ReadDelimiter::bytes(b"\r\n").expect("\\r\\n is a valid delimiter");
    framer.set_delimiter(crlf).expect("no hard limit applies");
    framer
}

fn drain_framer(framer: &mut Framer, tally: &mut Tally) {
    while let Some(frame) = framer.next_frame() {
        let frame = frame.expect("no line is over the read limit");
        tally.add(black_box(frame).len());
    }
}

fn drain_lines(codec: &mut LinesCodec, buf: &mut BytesMut, tally: &mut Tally) {
    while let Some(line) = codec.decode(buf).expect("lines are short ASCII") {
        tally.add(black_box(line).len());
    }
}

fn drain_lines_eof(codec: &mut LinesCodec, buf: &mut BytesMut, tally: &mut Tally) {
    while let Some(line) = codec.decode_eof(buf).expect("lines are short ASCII") {
        tally.add(black_box(line).len());
    }
}

/// Seeks `\n` only: seeking `\r` too would cut an empty frame between them.
fn any_delimiter_codec() -> AnyDelimiterCodec {
    AnyDelimiterCodec::new(b"\n".to_vec(), b"\r\n".to_vec())
}

fn drain_any(codec: &mut AnyDelimiterCodec, buf: &mut BytesMut, tally: &mut Tally) {
    while let Some(frame) = codec.decode(buf).expect("no length limit") {
        tally.add(body_len(&black_box(frame)));
    }
}

fn drain_any_eof(codec: &mut AnyDelimiterCodec, buf: &mut BytesMut, tally: &mut Tally) {
    while let Some(frame) = codec.decode_eof(buf).expect("no length limit") {
        tally.add(body_len(&black_box(frame)));
    }
}

/// The length of an `AnyDelimiterCodec` frame without the `\r` it keeps.
fn body_len(frame: &[u8]) -> usize {
    frame.strip_suffix(b"\r").unwrap_or(frame).len()
}

/// SplitMix64: a tiny, well-mixed, deterministic generator (no dependency needed).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (the modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
