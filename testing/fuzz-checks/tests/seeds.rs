//! The seed corpus, written by hand as decisions (see `pants_fuzz_checks::input`).
//!
//! `seeds_are_current` checks that `fuzz/corpus/<target>/` holds each seed below, byte for byte,
//! and that each seed does what its name says. After changing an input format or a seed, write
//! them again with
//!
//! ```text
//! PANTS_WRITE_SEEDS=1 cargo test -p pants-fuzz-checks --test seeds
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use pants_core::testing::check::Script;
use pants_fuzz_checks::engine::{Case, Knobs, engine_steps};
use pants_fuzz_checks::framer::{COMMON_DELIMITERS, scenario};
use pants_fuzz_checks::input::{Input, Seed};
use pants_fuzz_checks::model::Delim;
use pants_fuzz_checks::protocols::{kv_output, protocol_output};
use pants_fuzz_checks::stream::stream_steps;
use pants_protocols::fuzzing::Protocol;

/// Framer inputs: decisions in the order `framer::scenario` makes them.
mod framer {
    use super::*;

    /// How the hard limit is chosen.
    pub enum Hard {
        /// `limit + extra`, extra up to 24.
        Extra(usize),
        /// 4096.
        K4,
    }

    pub fn limits(s: Seed, limit: usize, hard: Hard) -> Seed {
        let s = s.pick(limit - 1, 24);
        match hard {
            Hard::Extra(extra) => s.pick(0, 8).pick(extra, 25),
            Hard::K4 => s.pick(6, 8),
        }
    }

    /// A delimiter as `framer::delim` reads it.
    pub enum D {
        None,
        Common(&'static [u8]),
        Raw(&'static [u8]),
        Count(usize),
        /// Field length index (1, 2, 4, 8), offset (0..=3), little-endian, adjustment
        /// (-4..=4), strip (`None`: the header).
        Prefix(usize, usize, bool, i64, Option<usize>),
        /// An index into the model's `REGEXES`.
        Regex(usize),
    }

    pub fn delim(s: Seed, d: D) -> Seed {
        match d {
            D::None => s.pick(0, 8),
            D::Common(bytes) => {
                let i = COMMON_DELIMITERS.iter().position(|c| *c == bytes).unwrap();
                s.pick(1, 8).pick(i, COMMON_DELIMITERS.len() + 1)
            }
            D::Raw(bytes) => s
                .pick(1, 8)
                .pick(COMMON_DELIMITERS.len(), COMMON_DELIMITERS.len() + 1)
                .pick(bytes.len(), 5)
                .raw(bytes),
            D::Count(n) if n <= 16 => s.pick(3, 8).pick(0, 4).pick(n, 17),
            D::Count(n) => s.pick(3, 8).pick(3, 4).u64(n as u64),
            D::Prefix(len, offset, little, adjustment, strip) => {
                let header = offset + [1, 2, 4, 8][len];
                let s = s
                    .pick(4, 8)
                    .pick(len, 5)
                    .pick(0, 8)
                    .pick(offset, 4)
                    .flag(little)
                    .pick(0, 8)
                    .pick((adjustment + 4) as usize, 9);
                match strip {
                    None => s.pick(0, 4),
                    Some(strip) => s.pick(1, 4).pick(strip, header.min(254) + 2),
                }
            }
            D::Regex(i) => s
                .pick(6, 8)
                .pick(i, pants_fuzz_checks::model::REGEXES.len()),
        }
    }

    pub enum Step {
        Keep,
        Delim(D),
        Limits(usize, Hard),
    }

    pub fn steps(s: Seed, steps: Vec<Step>, max: usize) -> Seed {
        let mut s = s.pick(steps.len(), max);
        for step in steps {
            s = match step {
                Step::Keep => s.pick(0, 8),
                Step::Delim(d) => delim(s.pick(4, 8), d),
                Step::Limits(limit, hard) => limits(s.pick(7, 8), limit, hard),
            };
        }
        s
    }

    /// After-push actions: 0 drain, 1 settle then drain, 2 wait.
    pub fn after_push(s: Seed, actions: &[usize]) -> Seed {
        actions
            .iter()
            .fold(s.pick(actions.len(), 6), |s, &a| s.pick(a, 3))
    }

    pub fn sizes(s: Seed, sizes: &[usize]) -> Seed {
        sizes
            .iter()
            .fold(s.pick(sizes.len(), 17), |s, &size| s.pick(size, 41))
    }

    /// Data as noise pieces of up to 16 bytes.
    pub fn text(s: Seed, text: &[u8]) -> Seed {
        text.chunks(16)
            .fold(s, |s, piece| s.pick(0, 4).pick(piece.len(), 17).raw(piece))
    }

    /// A length-prefixed frame for prefix number `i` of `n` in play (0 is a 1-byte prefix).
    pub fn frame(s: Seed, i: usize, n: usize, body: &[u8], filler: u8) -> Seed {
        s.pick(2, 4)
            .pick(i, n)
            .pick(0, 4)
            .pick(body.len(), 9)
            .raw(body)
            .raw(&[filler])
    }

    /// A frame whose body is `hard - 9 + k` copies of `byte` (hard limit capped at 64).
    pub fn big_frame(s: Seed, i: usize, n: usize, k: usize, byte: u8) -> Seed {
        s.pick(2, 4)
            .pick(i, n)
            .pick(3, 4)
            .pick(k, 11)
            .raw(&[byte, b'#'])
    }

    /// `byte`, `len` times.
    pub fn run(s: Seed, byte: u8, len: usize) -> Seed {
        s.pick(3, 4).raw(&[byte]).pick(len - 1, 256)
    }

    /// The whole header: limits, first delimiter, script, idle steps, after-push, sizes.
    pub struct Header {
        pub limit: usize,
        pub hard: Hard,
        pub delim: D,
        pub script: Vec<Step>,
        pub idle: Vec<Step>,
        pub after_push: Vec<usize>,
        pub sizes: Vec<usize>,
    }

    pub fn header(h: Header) -> Seed {
        let s = limits(Seed::new(), h.limit, h.hard);
        let s = delim(s, h.delim);
        let s = steps(s, h.script, 6);
        let s = steps(s, h.idle, 5);
        let s = after_push(s, &h.after_push);
        sizes(s, &h.sizes)
    }

    pub fn simple(limit: usize, hard: Hard, delim: D, sizes: &[usize]) -> Header {
        Header {
            limit,
            hard,
            delim,
            script: vec![],
            idle: vec![],
            after_push: vec![],
            sizes: sizes.to_vec(),
        }
    }
}

/// The framer seeds: name, input, and what its scenario must show (in its `Debug`).
fn framer_seeds() -> Vec<(&'static str, Vec<u8>, &'static [&'static str])> {
    use framer::{D, Hard, Step, big_frame, frame, header, run, simple, text};
    vec![
        (
            "lines-crlf-with-overflow",
            text(
                header(simple(8, Hard::Extra(8), D::Common(b"\r\n"), &[3, 1, 5])),
                b"hello\r\nworld\r\nthis line is too long\r\nok\r\npartial",
            )
            .into_bytes(),
            &[r#"Bytes(b"\r\n")"#, r#"b"long\r""#],
        ),
        (
            "header-line-then-count-body",
            text(
                header(framer::Header {
                    script: vec![Step::Delim(D::Count(5)), Step::Delim(D::Common(b"\n"))],
                    ..simple(16, Hard::Extra(0), D::Common(b"\n"), &[2, 7, 1])
                }),
                b"SET k 5\nhelloGET k\nSET j 5\nworld",
            )
            .into_bytes(),
            &["Count(5)", r#"b"oGET k\n""#],
        ),
        (
            "length-prefix-kept-header-le-offset",
            frame(
                frame(
                    header(simple(
                        4,
                        Hard::Extra(20),
                        D::Prefix(1, 1, true, -3, Some(0)),
                        &[1],
                    )),
                    1,
                    2,
                    b"hi there",
                    b'T',
                ),
                1,
                2,
                b"",
                b'U',
            )
            .into_bytes(),
            &["offset 1, 2 byte LE, adjust -3, strip Some(0)"],
        ),
        (
            "length-prefix-bodies-around-the-hard-limit",
            [0, 5, 9, 10]
                .iter()
                .fold(
                    header(simple(
                        2,
                        Hard::Extra(10),
                        D::Prefix(0, 0, false, 0, None),
                        &[4, 0],
                    )),
                    |s, &k| big_frame(s, 1, 2, k, b'z'),
                )
                .then(|s| frame(s, 0, 2, b"ok", b'-'))
                .into_bytes(),
            &["1 byte BE"],
        ),
        (
            "length-prefix-negative-length",
            frame(
                text(
                    header(simple(
                        4,
                        Hard::Extra(8),
                        D::Prefix(0, 0, false, -4, None),
                        &[],
                    )),
                    b"\x06ab\x01",
                ),
                0,
                2,
                b"never",
                b'.',
            )
            .into_bytes(),
            &["adjust -4"],
        ),
        (
            "regex-mixed-line-endings",
            text(
                header(framer::Header {
                    after_push: vec![0, 2, 1],
                    ..simple(4, Hard::Extra(4), D::Regex(0), &[1, 3, 2, 0])
                }),
                b"ab\r\ncd\nlong line\r\nx\r\r\n\n",
            )
            .into_bytes(),
            &[r#"Regex("\\r?\\n")"#],
        ),
        (
            "none-then-count-when-idle",
            text(
                header(framer::Header {
                    idle: vec![Step::Keep, Step::Delim(D::Count(3)), Step::Delim(D::None)],
                    ..simple(8, Hard::Extra(8), D::None, &[4, 6, 2])
                }),
                b"abcdefghijklmnopqrstuvwxyz",
            )
            .into_bytes(),
            &["Count(3)"],
        ),
        (
            "invalid-delimiters-are-refused",
            text(
                header(framer::Header {
                    script: vec![
                        Step::Delim(D::Raw(b"")),
                        Step::Delim(D::Count(0)),
                        Step::Delim(D::Prefix(1, 0, false, 0, Some(3))),
                        Step::Delim(D::Count(16)),
                        Step::Delim(D::Raw(b"|")),
                    ],
                    ..simple(4, Hard::Extra(4), D::Common(b";"), &[5])
                }),
                b"a;b;c;d;e;f|g|",
            )
            .into_bytes(),
            &["Count(0)", "strip Some(3)"],
        ),
        (
            "limits-change-between-frames",
            text(
                header(framer::Header {
                    script: vec![
                        Step::Limits(2, Hard::Extra(0)),
                        Step::Keep,
                        Step::Limits(20, Hard::K4),
                    ],
                    ..simple(10, Hard::Extra(10), D::Common(b"aba"), &[3])
                }),
                b"xyzabalongerabaxxabababa0123456789abcdefabaend",
            )
            .into_bytes(),
            &["limits", "Limits"],
        ),
        (
            "long-run-overflows-then-recovers",
            text(
                run(
                    header(simple(4, Hard::Extra(0), D::Common(b"\n"), &[1, 7, 40])),
                    b'x',
                    100,
                ),
                b"\nok\n",
            )
            .into_bytes(),
            &[r#"Bytes(b"\n")"#],
        ),
    ]
}

/// Stream inputs: decisions in the order `stream::check_stream` makes them.
mod stream {
    use super::*;
    pub use framer::{D, Hard};

    /// The config: read limit (hard limit as `Hard`), write limits (high water, limit under
    /// 256), connect / read idle / write idle / idle timeouts in ms (`Some` values must be
    /// 1..=256), linger in ms (`None`: 5 s), half-open, discard on overflow.
    pub struct Config {
        pub limit: usize,
        pub hard: Hard,
        pub high_water: usize,
        pub write_limit: Option<usize>,
        pub timeouts: [Option<usize>; 4],
        pub linger: Option<usize>,
        pub half_open: bool,
        pub discard: bool,
    }

    impl Default for Config {
        fn default() -> Self {
            Self {
                limit: 16,
                hard: Hard::Extra(16),
                high_water: 32,
                write_limit: None,
                timeouts: [None; 4],
                linger: None,
                half_open: false,
                discard: false,
            }
        }
    }

    /// The start of an input: the config, connecting or accepted, 4 slices.
    pub fn start(c: Config, connecting: bool) -> Seed {
        let s = framer::limits(Seed::new(), c.limit, c.hard).pick(c.high_water, 256);
        let mut s = match c.write_limit {
            Some(limit) => s.pick(0, 4).pick(limit, 256),
            None => s.pick(3, 4),
        };
        for timeout in c.timeouts {
            s = match timeout {
                None => s.pick(0, 4),
                Some(ms) => s.pick(1, 4).pick(ms - 1, 256),
            };
        }
        s = match c.linger {
            None => s.pick(0, 4),
            Some(ms) => s.pick(1, 4).pick(ms, 256),
        };
        s.flag(c.half_open)
            .flag(c.discard)
            .flag(connecting)
            .pick(3, 8)
    }

    /// An application command.
    pub enum C {
        Write(&'static [u8]),
        WriteRun(u8, usize),
        WriteFile(usize, usize),
        Close,
        CloseNow,
        Delim(D),
        Pause,
        Resume,
        ReadLimits(usize, Hard),
    }

    fn command(s: Seed, c: C) -> Seed {
        match c {
            C::Write(bytes) => s.pick(0, 11).pick(0, 4).pick(bytes.len(), 65).raw(bytes),
            C::WriteRun(byte, sixteens) => {
                s.pick(0, 11).pick(3, 4).raw(&[byte]).pick(sixteens, 256)
            }
            C::WriteFile(offset, len) => s.pick(1, 11).pick(offset, 256).pick(1, 4).pick(len, 256),
            C::Close => s.pick(2, 11),
            C::CloseNow => s.pick(3, 11),
            C::Delim(d) => framer::delim(s.pick(4, 11), d),
            C::Pause => s.pick(5, 11),
            C::Resume => s.pick(6, 11),
            C::ReadLimits(limit, hard) => framer::limits(s.pick(7, 11), limit, hard),
        }
    }

    /// Which event an armed command waits for, as `When::ALL` orders them.
    pub enum W {
        Any,
        Read,
        Drained,
        Eof,
        Connected,
        Overflow,
    }

    /// An operation.
    pub enum Op {
        Do(C),
        Data(&'static [u8]),
        Eof,
        Writable,
        Capped(usize),
        Full,
        Reset,
        Connected,
        Refused,
        Ms(usize),
        ToDeadline,
        Secs(usize),
        On(W, C),
    }

    pub fn ops(s: Seed, ops: Vec<Op>) -> Seed {
        ops.into_iter().fold(s, |s, op| match op {
            Op::Do(c) => command(s.pick(0, 9), c),
            Op::Data(bytes) => s.pick(1, 9).pick(0, 4).pick(bytes.len(), 33).raw(bytes),
            Op::Eof => s.pick(2, 9),
            Op::Writable => s.pick(3, 9).pick(0, 4),
            Op::Capped(n) => s.pick(3, 9).pick(3, 4).pick(n - 1, 16),
            Op::Full => s.pick(3, 9).pick(2, 4),
            Op::Reset => s.pick(4, 9).pick(0, 5),
            Op::Connected => s.pick(5, 9),
            Op::Refused => s.pick(6, 9).pick(0, 5),
            Op::Ms(ms) => s.pick(7, 9).pick(0, 4).pick(ms, 256),
            Op::ToDeadline => s.pick(7, 9).pick(1, 4),
            Op::Secs(secs) => s.pick(7, 9).pick(3, 4).pick(secs, 16),
            Op::On(when, c) => {
                let w = match when {
                    W::Any => 0,
                    W::Read => 1,
                    W::Drained => 2,
                    W::Eof => 3,
                    W::Connected => 4,
                    W::Overflow => 5,
                };
                command(s.pick(8, 9).pick(w, 8), c)
            }
        })
    }
}

/// The stream seeds: name, input, and what its run must show (in the harness's steps).
fn stream_seeds() -> Vec<(&'static str, Vec<u8>, &'static [&'static str])> {
    use stream::{C, Config, D, Hard, Op, W, ops, start};
    vec![
        (
            "line-echo-then-peer-eof",
            ops(
                start(Config::default(), false),
                vec![
                    Op::Do(C::Delim(D::Common(b"\n"))),
                    Op::On(W::Read, C::Write(b"pong\n")),
                    Op::On(W::Read, C::Write(b"pong\n")),
                    Op::Data(b"ping\nping\n"),
                    Op::Eof,
                ],
            )
            .into_bytes(),
            &[r#"Read(b"ping")"#, "Took(10)", "Eof", "Closed"],
        ),
        (
            "connect-write-early-then-close",
            ops(
                start(Config::default(), true),
                vec![
                    Op::Do(C::Write(b"queued before the connect")),
                    Op::Connected,
                    Op::Data(b"hi"),
                    Op::Do(C::Close),
                    Op::Data(b"ignored"),
                    Op::Eof,
                ],
            )
            .into_bytes(),
            &[
                "Connected",
                "Drained",
                r#"Read(b"hi")"#,
                "Shutdown",
                "Closed",
            ],
        ),
        (
            "connect-timeout",
            ops(
                start(
                    Config {
                        timeouts: [Some(100), None, None, None],
                        ..Config::default()
                    },
                    true,
                ),
                vec![Op::Do(C::Write(b"never sent")), Op::Ms(50), Op::ToDeadline],
            )
            .into_bytes(),
            &["ConnectFailed(TimedOut)", "Closed"],
        ),
        (
            "connect-refused",
            ops(start(Config::default(), true), vec![Op::Refused]).into_bytes(),
            &["ConnectFailed(Refused)", "Closed"],
        ),
        (
            "partial-writes-high-water-and-write-overflow",
            ops(
                start(
                    Config {
                        high_water: 8,
                        write_limit: Some(64),
                        discard: true,
                        ..Config::default()
                    },
                    false,
                ),
                vec![
                    Op::Capped(3),
                    Op::Do(C::Write(b"0123456789")),
                    Op::Do(C::Write(b"abcdefghijklmnopqrstuvwxyz")),
                    Op::Writable,
                    Op::Full,
                    Op::Do(C::Write(&[b'w'; 60])),
                    Op::Do(C::Write(&[b'v'; 10])),
                    Op::Capped(16),
                    Op::Writable,
                ],
            )
            .into_bytes(),
            &["AboveHighWater", "Overflow", "Drained"],
        ),
        (
            "header-line-then-count-body-in-on-read",
            ops(
                start(Config::default(), false),
                vec![
                    Op::Do(C::Delim(D::Common(b"\r\n"))),
                    Op::On(W::Read, C::Delim(D::Count(5))),
                    Op::On(W::Any, C::Delim(D::Common(b"\r\n"))),
                    Op::Data(b"SET k 5\r\nhelloGET k\r\n"),
                ],
            )
            .into_bytes(),
            &[
                r#"Read(b"SET k 5")"#,
                r#"Read(b"hello")"#,
                r#"Read(b"GET k")"#,
            ],
        ),
        (
            "length-prefix-with-read-overflow-discarded",
            ops(
                start(
                    Config {
                        limit: 4,
                        hard: Hard::Extra(4),
                        discard: true,
                        ..Config::default()
                    },
                    false,
                ),
                vec![
                    Op::Do(C::Delim(D::Prefix(0, 0, false, 0, None))),
                    Op::Data(b"\x03abc\x0aXXXXX"),
                    Op::Data(b"XXXXX\x02ok\x00\x09"),
                ],
            )
            .into_bytes(),
            &[r#"Read(b"abc")"#, "Overflow", r#"Read(b"ok")"#],
        ),
        (
            "read-overflow-closes-after-flush",
            ops(
                start(
                    Config {
                        limit: 4,
                        hard: Hard::Extra(0),
                        ..Config::default()
                    },
                    false,
                ),
                vec![
                    Op::Do(C::Delim(D::Common(b"\n"))),
                    Op::On(W::Read, C::Write(b"reply")),
                    Op::Data(b"ok\nthis line is too long\nlost\n"),
                    Op::Eof,
                ],
            )
            .into_bytes(),
            &["Overflow", "Shutdown", "Closed"],
        ),
        (
            "overflow-callback-replies-while-winding-down",
            ops(
                start(
                    Config {
                        limit: 4,
                        hard: Hard::Extra(0),
                        ..Config::default()
                    },
                    false,
                ),
                vec![
                    Op::Do(C::Delim(D::Common(b"\n"))),
                    Op::On(W::Overflow, C::Write(b"-ERR line too long\r\n")),
                    Op::Capped(5),
                    Op::Data(b"this line is too long\nnext\n"),
                    Op::Writable,
                    Op::Data(b"ignored\n"),
                    Op::Ms(100),
                ],
            )
            .into_bytes(),
            &["Overflow", "Written(Ok(Ready))", "Took(5)", "Shutdown"],
        ),
        (
            "pause-resume-and-partial-frame-at-eof",
            ops(
                start(Config::default(), false),
                vec![
                    Op::Do(C::Delim(D::Common(b";"))),
                    Op::On(W::Read, C::Pause),
                    Op::Data(b"a;b;c;par"),
                    Op::Do(C::Resume),
                    Op::Eof,
                ],
            )
            .into_bytes(),
            &[r#"Read(b"c")"#, "TruncatedFrame", "Eof", "Closed"],
        ),
        (
            "idle-timeouts",
            ops(
                start(
                    Config {
                        timeouts: [None, Some(10), Some(20), Some(30)],
                        ..Config::default()
                    },
                    false,
                ),
                vec![
                    Op::ToDeadline,
                    Op::ToDeadline,
                    Op::Data(b"x"),
                    Op::Ms(25),
                    Op::Do(C::Write(b"y")),
                    Op::Secs(1),
                ],
            )
            .into_bytes(),
            &["Idle(Read)", "Idle(Write)", "Idle(Both)"],
        ),
        (
            "close-with-a-stalled-socket-gives-up-after-linger",
            ops(
                start(
                    Config {
                        linger: Some(50),
                        ..Config::default()
                    },
                    false,
                ),
                vec![
                    Op::Full,
                    Op::Do(C::WriteRun(b'z', 4)),
                    Op::Do(C::Close),
                    Op::Ms(20),
                    Op::ToDeadline,
                ],
            )
            .into_bytes(),
            &["Close", "Closed"],
        ),
        (
            "half-open-writes-after-peer-eof",
            ops(
                start(
                    Config {
                        half_open: true,
                        ..Config::default()
                    },
                    false,
                ),
                vec![
                    Op::Data(b"request"),
                    Op::On(W::Eof, C::Write(b"late reply")),
                    Op::Eof,
                    Op::Do(C::Write(b" and more")),
                    Op::Do(C::Close),
                ],
            )
            .into_bytes(),
            &["Event(Eof)", "Took(9)", "Closed"],
        ),
        (
            "reset-drops-the-queue",
            ops(
                start(Config::default(), false),
                vec![
                    Op::Full,
                    Op::Do(C::Write(b"unsent")),
                    Op::Reset,
                    Op::Do(C::Write(b"refused")),
                ],
            )
            .into_bytes(),
            &["Error(Reset)", "Closed", "Err(Closed)"],
        ),
        (
            "file-ranges-between-writes",
            ops(
                start(Config::default(), false),
                vec![
                    Op::Capped(5),
                    Op::Do(C::Write(b"head ")),
                    Op::Do(C::WriteFile(10, 12)),
                    Op::Do(C::Write(b" tail")),
                    Op::Writable,
                    Op::On(W::Drained, C::CloseNow),
                    Op::Do(C::Write(b"!")),
                ],
            )
            .into_bytes(),
            &["WriteFile", "Drained", "CloseNow", "Closed"],
        ),
        (
            "limits-change-and-refusals",
            ops(
                start(Config::default(), false),
                vec![
                    Op::Do(C::Delim(D::Count(30))),
                    Op::Do(C::Delim(D::Count(12))),
                    Op::Do(C::ReadLimits(4, Hard::Extra(4))),
                    Op::Do(C::ReadLimits(4, Hard::Extra(8))),
                    Op::Data(b"exactly12byt"),
                    Op::Do(C::Delim(D::Raw(b""))),
                    Op::Do(C::Delim(D::Regex(0))),
                    Op::On(W::Connected, C::Close),
                ],
            )
            .into_bytes(),
            &["OverHardLimit", r#"Read(b"exactly12byt")"#],
        ),
        (
            "write-refused-as-closing-after-a-write-overflow-winds-down",
            ops(
                start(
                    Config {
                        high_water: 2,
                        write_limit: Some(4),
                        ..Config::default()
                    },
                    false,
                ),
                vec![Op::Do(C::Write(b"too long")), Op::Do(C::Write(b"late"))],
            )
            .into_bytes(),
            &["Overflow", "Action(Shutdown)", "Written(Err(Closing))"],
        ),
        (
            "write-in-on-error-after-a-reset-refused-as-closed",
            ops(
                start(Config::default(), false),
                vec![Op::On(W::Any, C::Write(b"late")), Op::Reset],
            )
            .into_bytes(),
            &["Error(", "Written(Err(Closed))", "Event(Closed)"],
        ),
    ]
}

/// Engine inputs: decisions in the order `engine::case` makes them.
mod engine {
    use std::time::Duration;

    use pants_fuzz_checks::engine::{Case, Cmd, Delim, ETimer, Knobs, Op};
    use pants_fuzz_checks::input::Seed;

    /// The calm settings (each first choice), with the seed 0.
    pub fn calm() -> Knobs {
        Knobs {
            accept_budget: 128,
            read_budget: 256 * 1024,
            linger: Duration::from_millis(100),
            idle: None,
            half_open: false,
            small_limits: false,
            discard: false,
            seed: 0,
        }
    }

    fn index<T: PartialEq + std::fmt::Debug>(options: &[T], value: &T) -> usize {
        options
            .iter()
            .position(|o| o == value)
            .unwrap_or_else(|| panic!("{value:?} is not among {options:?}"))
    }

    pub fn encode(case: &Case) -> Vec<u8> {
        let k = &case.knobs;
        let mut s = Seed::new()
            .pick(index(&[128, 1, 2], &k.accept_budget), 3)
            .pick(index(&[256 * 1024, 1, 64], &k.read_budget), 3)
            .pick(
                index(
                    &[
                        Duration::from_millis(100),
                        pants_core::StreamConfig::DEFAULT_LINGER,
                    ],
                    &k.linger,
                ),
                2,
            )
            .pick(
                index(
                    &[
                        None,
                        Some(Duration::from_millis(50)),
                        Some(Duration::from_secs(1)),
                    ],
                    &k.idle,
                ),
                3,
            )
            .flag(k.half_open)
            .flag(k.small_limits)
            .flag(k.discard)
            .raw(&[u8::try_from(k.seed).expect("a one-byte seed")]);
        for op in &case.ops {
            s = encode_op(s, op);
        }
        s.into_bytes()
    }

    fn data(s: Seed, data: &[u8]) -> Seed {
        assert!(
            data.iter().all(|b| *b < 0x80),
            "peers send bytes below 0x80"
        );
        s.pick(data.len() - 1, 40).raw(data)
    }

    fn encode_op(s: Seed, op: &Op) -> Seed {
        match op {
            Op::Run => s.pick(0, 22),
            Op::Turn => s.pick(1, 22),
            Op::Advance(ms) => {
                let scale = [100, 10, 1]
                    .into_iter()
                    .find(|scale| ms % scale == 0 && ms / scale < 256)
                    .expect("an encodable time");
                s.pick(2, 22)
                    .pick(index(&[1, 10, 100], &scale), 3)
                    .pick((ms / scale) as usize, 256)
            }
            Op::Script(cmds) => cmds
                .iter()
                .fold(s.pick(3, 22).pick(cmds.len(), 5), encode_cmd),
            Op::PeerConnect(a) => s.pick(4, 22).raw(&[*a]),
            Op::Send(p, bytes) => data(s.pick(5, 22).raw(&[*p]), bytes),
            Op::Shutdown(p) => s.pick(6, 22).raw(&[*p]),
            Op::Reset(p) => s.pick(7, 22).raw(&[*p]),
            Op::ClosePeer(p) => s.pick(8, 22).raw(&[*p]),
            Op::Connect(a) => s.pick(9, 22).raw(&[*a]),
            Op::Listen(a, echo) => s.pick(10, 22).raw(&[*a]).flag(*echo),
            Op::Bind(a) => s.pick(11, 22).raw(&[*a]),
            Op::PeerBind => s.pick(12, 22),
            Op::SendTo(p, to, bytes) => data(s.pick(13, 22).raw(&[*p, *to]), bytes),
            Op::Outside(cmd) => encode_cmd(s.pick(14, 22), cmd),
            Op::ReadChunk(n) => s.pick(15, 22).pick(*n, 9),
            Op::WriteChunk(n) => s.pick(16, 22).pick(*n, 9),
            Op::Window(n) => s.pick(17, 22).pick(*n, 17),
            Op::Latency(ms) => s.pick(18, 22).pick(*ms as usize, 61),
            Op::FdLimit(n) => s.pick(19, 22).pick(n.map_or(0, |n| n - 1), 12),
            Op::FailAccepts(errors) => errors
                .iter()
                .fold(s.pick(20, 22).pick(errors.len() - 1, 3), |s, e| s.flag(*e)),
            Op::Faults(p) => s.pick(21, 22).pick(usize::from(*p), 5),
        }
    }

    fn len(s: Seed, n: u8) -> Seed {
        s.pick(usize::from(n) - 1, 40)
    }

    fn ms(s: Seed, ms: u16) -> Seed {
        s.pick(usize::from(ms), 256)
    }

    fn encode_cmd(s: Seed, cmd: &Cmd) -> Seed {
        match cmd {
            Cmd::Write(n) => len(s.pick(0, 25), *n),
            Cmd::WriteOther(t, n) => len(s.pick(1, 25).raw(&[*t]), *n),
            Cmd::SendTo(t, to, n) => len(s.pick(2, 25).raw(&[*t, *to]), *n),
            Cmd::Broadcast(t, n) => len(s.pick(3, 25).raw(&[*t]), *n),
            Cmd::Close => s.pick(4, 25),
            Cmd::CloseNow => s.pick(5, 25),
            Cmd::CloseOther(t) => s.pick(6, 25).raw(&[*t]),
            Cmd::CloseNowOther(t) => s.pick(7, 25).raw(&[*t]),
            Cmd::Delim(d) => encode_delim(s.pick(8, 25), d),
            Cmd::DelimOther(t, d) => encode_delim(s.pick(9, 25).raw(&[*t]), d),
            Cmd::Pause => s.pick(10, 25),
            Cmd::Resume => s.pick(11, 25),
            Cmd::PauseOther(t) => s.pick(12, 25).raw(&[*t]),
            Cmd::ResumeOther(t) => s.pick(13, 25).raw(&[*t]),
            Cmd::Tune(t, small, discard) => s.pick(14, 25).raw(&[*t]).flag(*small).flag(*discard),
            Cmd::TimerAfter(t) => ms(s.pick(15, 25), *t),
            Cmd::TimerEvery(t, runs) => ms(s.pick(16, 25), *t).pick(usize::from(*runs) - 1, 4),
            Cmd::Cancel(t) => s.pick(17, 25).raw(&[*t]),
            Cmd::CancelThis => s.pick(18, 25),
            Cmd::EngineTimer(kind, runs) => {
                let s = s.pick(19, 25);
                let s = match kind {
                    ETimer::Callback => s.pick(0, 4),
                    ETimer::Defer(t) => ms(s.pick(1, 4), *t),
                    ETimer::Cycle(t) => ms(s.pick(2, 4), *t),
                    ETimer::EachTurn => s.pick(3, 4),
                };
                s.pick(usize::from(*runs) - 1, 4)
            }
            Cmd::Connect(a) => s.pick(20, 25).raw(&[*a]),
            Cmd::Listen(a) => s.pick(21, 25).raw(&[*a]),
            Cmd::Bind(a) => s.pick(22, 25).raw(&[*a]),
            Cmd::Panic => s.pick(23, 25),
            Cmd::Stop => s.pick(24, 25),
        }
    }

    fn encode_delim(s: Seed, d: &Delim) -> Seed {
        match d {
            Delim::None => s.pick(0, 9),
            Delim::Bytes(b) if b == b"\n" => s.pick(7, 9),
            Delim::Bytes(b) => b.iter().fold(s.pick(1, 9).pick(b.len(), 3), |s, byte| {
                s.pick(index(b";,\n", byte), 3)
            }),
            Delim::Count(n) => s.pick(2, 9).pick(*n, 6),
            Delim::Prefix(n) => s.pick(3, 9).pick(index(&[1, 2, 3, 4, 8], n), 5),
            Delim::KeptRef => s.pick(4, 9),
            Delim::KeptValue => s.pick(5, 9),
            Delim::Regex(pattern) => s.pick(6, 9).flag(*pattern == "a*"),
            Delim::Custom => s.pick(8, 9),
        }
    }
}

/// The engine seeds: name, case, and what its run must show (`engine_steps`). Addresses are
/// `ADDRS` indices: 0, a scripted server; 1 (and 6, `localhost:2`), the echo server; 4, a
/// datagram channel; 2, 3, 5, nothing; 7, unresolvable.
fn engine_seeds() -> Vec<(&'static str, Case, &'static [&'static str])> {
    use engine::calm;
    use pants_fuzz_checks::engine::{Cmd, Delim, ETimer, Op};
    let case = |knobs, ops| Case { knobs, ops };
    vec![
        (
            "echo-peers-through-short-reads-writes-and-latency",
            case(
                calm(),
                vec![
                    Op::ReadChunk(3),
                    Op::WriteChunk(2),
                    Op::Latency(20),
                    Op::PeerConnect(1),
                    Op::PeerConnect(6),
                    Op::Send(0, b"hello;".to_vec()),
                    Op::Window(4),
                    Op::Send(1, b"world\n".to_vec()),
                    Op::Advance(200),
                    Op::Send(0, b" again".to_vec()),
                    Op::Run,
                ],
            ),
            &[
                r#"peer 0 sent b"\x00hello; again" got b"\x00hello; again""#,
                r#"peer 1 sent b"\x01world\n" got b"\x01world\n""#,
                "ok",
            ],
        ),
        (
            "panic-in-on-connect-closes-only-its-channel",
            case(
                calm(),
                vec![
                    Op::Script(vec![Cmd::Write(3)]),
                    Op::Script(vec![Cmd::Write(2), Cmd::Panic]),
                    Op::PeerConnect(0),
                    Op::Run,
                    Op::PeerConnect(1),
                    Op::Send(1, b"still echoed".to_vec()),
                    Op::Run,
                ],
            ),
            &[
                "ChannelId(2v0) Server on_accept\nChannelId(5v0) Accepted on_connect\n\
                 ChannelId(5v0) Accepted PANIC\nChannelId(5v0) Accepted on_error\n\
                 ChannelId(5v0) Accepted on_close",
                r#"peer 1 sent b"\x01still echoed" got b"\x01still echoed""#,
                "ok",
            ],
        ),
        (
            "client-reads-its-echo-then-panics-in-on-read",
            case(
                calm(),
                vec![
                    Op::Script(vec![Cmd::Delim(Delim::Count(4)), Cmd::Write(4)]),
                    Op::Script(vec![]),
                    Op::Script(vec![]),
                    Op::Script(vec![Cmd::Panic]),
                    Op::Connect(1),
                    Op::Run,
                    Op::Advance(10),
                ],
            ),
            &[
                "Client on_read\nChannelId(5v0) Client PANIC\nChannelId(5v0) Client on_error\n\
                 ChannelId(5v0) Client on_close",
                "ok",
            ],
        ),
        (
            "connects-refused-unresolvable-and-to-a-closed-server",
            case(
                calm(),
                vec![
                    Op::Connect(2),
                    Op::Connect(7),
                    Op::Listen(3, false),
                    Op::Script(vec![Cmd::Close]),
                    Op::Run,
                    Op::Connect(3),
                    Op::Run,
                ],
            ),
            &[
                "Client on_connect_error\nChannelId(5v0) Client on_close",
                "ok",
            ],
        ),
        (
            "fd-limit-and-accept-errors-back-off",
            case(
                Knobs {
                    accept_budget: 1,
                    ..calm()
                },
                vec![
                    Op::FdLimit(Some(8)),
                    Op::FailAccepts(vec![false, true]),
                    Op::PeerConnect(1),
                    Op::PeerConnect(1),
                    Op::PeerConnect(6),
                    Op::Send(2, b"late".to_vec()),
                    Op::Run,
                    Op::Advance(500),
                    Op::FdLimit(None),
                    Op::Advance(1500),
                ],
            ),
            &[r#"peer 2 sent b"\x02late" got b"\x02late""#, "ok"],
        ),
        (
            "datagrams-lost-duplicated-reordered-and-framed",
            case(
                Knobs { seed: 7, ..calm() },
                vec![
                    Op::Script(vec![Cmd::Delim(Delim::Bytes(b";".to_vec()))]),
                    Op::Run,
                    Op::Bind(3),
                    Op::PeerBind,
                    Op::Faults(3),
                    Op::SendTo(0, 0, b"a;b".to_vec()),
                    Op::SendTo(1, 0, b"c;".to_vec()),
                    Op::SendTo(0, 1, b"d;e;".to_vec()),
                    Op::Script(vec![Cmd::SendTo(2, 200, 5), Cmd::Write(3)]),
                    Op::SendTo(0, 0, b"f;".to_vec()),
                    Op::Run,
                ],
            ),
            &["Datagram on_read", "ok"],
        ),
        (
            "timers-fire-in-time-and-cancel-from-inside",
            case(
                calm(),
                vec![
                    Op::Script(vec![
                        Cmd::TimerAfter(50),
                        Cmd::TimerEvery(20, 3),
                        Cmd::EngineTimer(ETimer::Cycle(30), 2),
                        Cmd::EngineTimer(ETimer::EachTurn, 3),
                    ]),
                    Op::PeerConnect(0),
                    Op::Script(vec![Cmd::EngineTimer(ETimer::Defer(5), 1)]),
                    Op::Script(vec![Cmd::Cancel(0), Cmd::CancelThis]),
                    Op::Advance(100),
                    Op::Outside(Cmd::EngineTimer(ETimer::Callback, 1)),
                    Op::Advance(500),
                ],
            ),
            &["Server on_timer", "ok"],
        ),
        (
            "stop-from-a-callback-closes-everything",
            case(
                calm(),
                vec![
                    Op::PeerConnect(1),
                    Op::Send(0, b"x".to_vec()),
                    Op::Script(vec![Cmd::Connect(1), Cmd::Stop]),
                    Op::PeerConnect(0),
                    Op::Run,
                    Op::Advance(1000),
                ],
            ),
            &["Accepted on_close", "Server on_close", "ok"],
        ),
        (
            "commands-on-other-channels-with-events-pending",
            case(
                calm(),
                vec![
                    Op::PeerConnect(0),
                    Op::PeerConnect(0),
                    Op::PeerConnect(1),
                    Op::Send(0, b"pending".to_vec()),
                    Op::Send(1, b"also".to_vec()),
                    Op::Script(vec![
                        Cmd::WriteOther(6, 4),
                        Cmd::CloseNowOther(5),
                        Cmd::PauseOther(7),
                        Cmd::DelimOther(6, Delim::Count(2)),
                    ]),
                    Op::Script(vec![Cmd::Broadcast(0, 3)]),
                    Op::Turn,
                    Op::Outside(Cmd::CloseOther(6)),
                    Op::Outside(Cmd::ResumeOther(7)),
                    Op::Run,
                ],
            ),
            &["Accepted on_close", "ok"],
        ),
        (
            "overflows-under-small-limits-with-discard",
            case(
                Knobs {
                    small_limits: true,
                    discard: true,
                    ..calm()
                },
                vec![
                    Op::Script(vec![]),
                    Op::Script(vec![Cmd::Delim(Delim::Bytes(b"\n".to_vec()))]),
                    Op::PeerConnect(0),
                    Op::Run,
                    Op::Send(0, b"this line is far too long\nok\n".to_vec()),
                    Op::Script(vec![Cmd::Write(40), Cmd::Write(40)]),
                    Op::Script(vec![Cmd::Tune(5, false, false)]),
                    Op::Run,
                    Op::Send(0, b"a line that fits now\n".to_vec()),
                    Op::Run,
                ],
            ),
            &["Accepted on_overflow_error", "Accepted on_read", "ok"],
        ),
        (
            "half-open-peers-shut-down-reset-and-close",
            case(
                Knobs {
                    half_open: true,
                    idle: Some(Duration::from_millis(50)),
                    ..calm()
                },
                vec![
                    Op::PeerConnect(1),
                    Op::PeerConnect(0),
                    Op::PeerConnect(1),
                    Op::Send(0, b"bye".to_vec()),
                    Op::Shutdown(0),
                    Op::Script(vec![Cmd::Write(2)]),
                    Op::Reset(1),
                    Op::Run,
                    Op::ClosePeer(2),
                    Op::Advance(100),
                ],
            ),
            &["on_eof", "on_error", "ok"],
        ),
    ]
}

/// The protocol seeds: name, the script (encoded), and what the server must answer.
type ProtocolSeeds = Vec<(&'static str, Vec<u8>, &'static [&'static str])>;

/// One peer sends `peer`, in sends of 1 to 60 bytes cut from the seed's name (so that seeds
/// start with their input cut in several places), then its EOF.
fn protocol_seed(
    name: &'static str,
    peer: &[u8],
    expected: &'static [&'static str],
) -> (&'static str, Vec<u8>, &'static [&'static str]) {
    let mut script = Script::new();
    let mut rest = peer;
    let mut sizes = name.bytes().cycle().map(|b| usize::from(b) % 60 + 1);
    while !rest.is_empty() {
        let size = sizes.next().expect("a cycle never ends").min(rest.len());
        let (send, tail) = rest.split_at(size);
        script = script.send(send.to_vec());
        rest = tail;
    }
    (name, script.eof().encode(), expected)
}

fn resp_seeds() -> ProtocolSeeds {
    let long_inline = format!("ECHO {}\r\n", "i".repeat(300));
    let big_bulk = "*2\r\n$4\r\nECHO\r\n$5000\r\n";
    vec![
        protocol_seed(
            "inline-commands",
            b"PING\r\nSET k 12\r\nINCR k\r\nGET k\r\nEXISTS k nope\r\nDEL k\r\nDBSIZE\r\n\
              ECHO \"quoted \\x41 arg\"\r\nFLUSHALL\r\n",
            &[r#"+PONG\r\n+OK\r\n:13\r\n$2\r\n13\r\n:1\r\n:1\r\n:0\r\n"#],
        ),
        protocol_seed(
            "pipelined-multibulk",
            b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n\
              *1\r\n$4\r\nPING\r\n*0\r\n\r\n*-1\r\n",
            &[r#"+OK\r\n$5\r\nva\r\nl\r\n+PONG\r\n"#],
        ),
        protocol_seed(
            "config-unknown-and-wrong-arity",
            b"CONFIG GET save appendonly\r\nNOSUCH a b\r\nGET\r\nINCR notanumber x\r\n\
              SET n abc\r\nINCR n\r\n",
            &["-ERR"],
        ),
        protocol_seed(
            "quit-then-ignored",
            b"PING\r\nQUIT\r\nPING\r\n",
            &[r#"+PONG\r\n+OK\r\n" closed early"#],
        ),
        protocol_seed(
            "bad-bulk-length",
            b"SET k v\r\n*1\r\n$x\r\n",
            &[r#"+OK\r\n-ERR Protocol error: invalid bulk length\r\n" closed early"#],
        ),
        protocol_seed(
            "bulk-over-the-hard-limit",
            big_bulk.as_bytes(),
            &["-ERR Protocol error", "closed early"],
        ),
        protocol_seed(
            "overlong-inline-line",
            long_inline.as_bytes(),
            &["-ERR", "closed early"],
        ),
        protocol_seed(
            "unbalanced-quotes-and-partial-command",
            b"ECHO ok\r\n\"unbalanced\r\n*2\r\n$3\r\nGET\r\n",
            &[r#"$2\r\nok\r\n-ERR"#],
        ),
        protocol_seed(
            "truncated-bulk-at-eof",
            b"*2\r\n$4\r\nECHO\r\n$10\r\nshort",
            &[r#""""#],
        ),
    ]
}

fn http_seeds() -> ProtocolSeeds {
    let long_head = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "p".repeat(300));
    vec![
        protocol_seed(
            "get-head-and-not-found",
            b"GET / HTTP/1.1\r\nHost: h\r\n\r\nHEAD / HTTP/1.1\r\nHost: h\r\n\r\n\
              GET /missing HTTP/1.1\r\nHost: h\r\n\r\n",
            &["HTTP/1.1 200", "HTTP/1.1 404"],
        ),
        protocol_seed(
            "pipelined-post-echo-bodies",
            b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloPOST /echo HTTP/1.1\r\n\
              Host: h\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: h\r\n\r\n",
            &["hello", "abc"],
        ),
        protocol_seed(
            "expect-100-continue",
            b"POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
            &["HTTP/1.1 100 Continue", "HTTP/1.1 200"],
        ),
        protocol_seed(
            "connection-close-then-ignored",
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
            &["HTTP/1.1 200", "closed early"],
        ),
        protocol_seed(
            "http-1.0-closes",
            b"GET / HTTP/1.0\r\n\r\n",
            &["200", "closed early"],
        ),
        protocol_seed(
            "malformed-request-line",
            b"garbage\r\n\r\n",
            &["HTTP/1.1 400", "closed early"],
        ),
        protocol_seed(
            "unknown-method-and-chunked-body",
            b"BREW / HTTP/1.1\r\nHost: h\r\n\r\nPOST /echo HTTP/1.1\r\nHost: h\r\n\
              Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            &["HTTP/1.1 501"],
        ),
        protocol_seed(
            "head-over-the-limit",
            long_head.as_bytes(),
            &["HTTP/1.1 431", "closed early"],
        ),
        protocol_seed(
            "body-over-the-hard-limit",
            b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n",
            &["HTTP/1.1 413", "closed early"],
        ),
        protocol_seed(
            "blank-lines-absolute-uri-and-dot-dot",
            b"\r\n\r\nGET http://h/ HTTP/1.1\r\nHost: h\r\n\r\nGET /../etc/passwd HTTP/1.1\r\n\
              Host: h\r\n\r\nPOST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nshort",
            &["HTTP/1.1"],
        ),
    ]
}

fn chat_seeds() -> ProtocolSeeds {
    let long = format!("hello\n{}\nlost\n", "l".repeat(300));
    vec![
        protocol_seed(
            "lines-lf-crlf-and-empty",
            b"hello\r\nworld\n\n\r\nlast one\n",
            &["hello", "world", "last one"],
        ),
        protocol_seed(
            "overlong-line-closes",
            long.as_bytes(),
            &["hello", "closed early"],
        ),
        protocol_seed(
            "partial-last-line-and-binary",
            b"\x00\xff\x1b[31mred\x1b[0m\nno newline at the end",
            &["red"],
        ),
        (
            "three-peers-interleaved-one-leaves-one-resets",
            Script::new()
                .send_from(0, "hel")
                .send_from(1, "hi all\r\n")
                .send_from(0, "lo\n")
                .send_from(2, "bye\n")
                .eof_from(2)
                .send_from(1, "still here\n")
                .reset_from(1)
                .advance(Duration::from_millis(1500))
                .send_from(0, "alone\n")
                .encode(),
            &[
                r#""hi all\nhello\nbye\nstill here\nalone\n""#,
                r#"alone\nprobe\n""#,
                r#""hi all\nhello\nbye\nstill here\n""#,
                r#""hi all\nhello\nbye\n""#,
            ],
        ),
    ]
}

fn echo_seeds() -> ProtocolSeeds {
    vec![protocol_seed(
        "bytes-binary-and-a-long-run",
        &[b"ping\r\n".as_slice(), &[0, 1, 2, 255], &[b'z'; 600]].concat(),
        &["ping\\r\\n\\x00\\x01\\x02\\xff"],
    )]
}

fn kv_seeds() -> ProtocolSeeds {
    vec![
        protocol_seed(
            "set-get-and-unknown",
            b"set k 3\r\nabc\r\nget k\r\nget nothing\r\nflush_all\r\nset e 0\r\n\r\nget e\r\n",
            &[
                r#""STORED\r\nVALUE k 3\r\nabc\r\nEND\r\nEND\r\nERROR\r\nSTORED\r\nVALUE e 0\r\n\r\nEND\r\n""#,
            ],
        ),
        protocol_seed(
            "bad-data-chunk-closes",
            b"set k 2\r\nabcd\r\nget k\r\n",
            &[r#""CLIENT_ERROR bad data chunk\r\n" closed early"#],
        ),
        protocol_seed(
            "length-over-the-limit-closes",
            b"set k 1025\r\n",
            &[r#""CLIENT_ERROR bad length\r\n" closed early"#],
        ),
        protocol_seed(
            "overlong-line-closes",
            "get ".repeat(20).as_bytes(),
            &[r#""" closed early"#],
        ),
        (
            "two-clients-share-the-store",
            Script::new()
                .send_from(0, "set shared 2\r\nhi\r\n")
                .send_from(1, "get shared\r\n")
                .reset_from(1)
                .advance(Duration::from_secs(1))
                .send_from(0, "get shared\r\n")
                .encode(),
            &[
                r#""STORED\r\nVALUE shared 2\r\nhi\r\nEND\r\n""#,
                r#""VALUE shared 2\r\nhi\r\nEND\r\n""#,
            ],
        ),
    ]
}

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

fn check_seeds(
    target: &str,
    seeds: Vec<(&'static str, Vec<u8>, &'static [&'static str])>,
    show: fn(&[u8]) -> String,
) {
    let dir = corpus(target);
    let write = std::env::var_os("PANTS_WRITE_SEEDS").is_some();
    let mut stale = Vec::new();
    let mut wrong = Vec::new();
    for (name, bytes, expected) in seeds {
        let shown = show(&bytes);
        let missing: Vec<_> = expected
            .iter()
            .filter(|part| !shown.contains(*part))
            .collect();
        if !missing.is_empty() {
            wrong.push(format!(
                "seed {target}/{name} does not show {missing:?}:\n{shown}"
            ));
        }
        let path = dir.join(name);
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            stale.push(path.display().to_string());
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        stale.is_empty(),
        "seeds missing or out of date (write them with PANTS_WRITE_SEEDS=1): {stale:?}"
    );
}

#[test]
fn framer_seeds_are_current() {
    check_seeds("framer", framer_seeds(), |bytes| {
        format!("{:?}", scenario(&mut Input::new(bytes)))
    });
}

#[test]
fn stream_seeds_are_current() {
    check_seeds("stream", stream_seeds(), stream_steps);
}

#[test]
fn engine_seeds_are_current() {
    let seeds = engine_seeds()
        .into_iter()
        .map(|(name, case, expected)| {
            let bytes = engine::encode(&case);
            let decoded = pants_fuzz_checks::engine::case(&mut Input::new(&bytes));
            assert_eq!(
                decoded, case,
                "seed engine/{name} does not decode to its case"
            );
            (name, bytes, expected)
        })
        .collect();
    check_seeds("engine", seeds, engine_steps);
}

#[test]
fn resp_seeds_are_current() {
    check_seeds("resp", resp_seeds(), |bytes| {
        protocol_output(Protocol::Resp, bytes)
    });
}

#[test]
fn http_seeds_are_current() {
    check_seeds("http", http_seeds(), |bytes| {
        protocol_output(Protocol::Http, bytes)
    });
}

#[test]
fn chat_seeds_are_current() {
    check_seeds("chat", chat_seeds(), |bytes| {
        protocol_output(Protocol::Chat, bytes)
    });
}

#[test]
fn echo_seeds_are_current() {
    check_seeds("echo", echo_seeds(), |bytes| {
        protocol_output(Protocol::Echo, bytes)
    });
}

#[test]
fn kv_seeds_are_current() {
    check_seeds("kv", kv_seeds(), kv_output);
}

/// The encoders above agree with the decoder on a delimiter of each kind.
#[test]
fn delimiter_encoding_round_trips() {
    use framer::{D, delim};
    let cases: Vec<(D, Delim)> = vec![
        (D::None, Delim::None),
        (D::Common(b"<END>"), Delim::Bytes(b"<END>".to_vec())),
        (D::Raw(b"xy"), Delim::Bytes(b"xy".to_vec())),
        (D::Count(7), Delim::Count(7)),
        (D::Count(300), Delim::Count(300)),
    ];
    for (encoded, expected) in cases {
        let bytes = delim(Seed::new(), encoded).into_bytes();
        let decoded = pants_fuzz_checks::framer::delim(&mut Input::new(&bytes));
        assert!(decoded == expected, "{decoded:?} != {expected:?}");
    }
}
