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

use pants_fuzz_checks::framer::{COMMON_DELIMITERS, scenario};
use pants_fuzz_checks::input::{Input, Seed};
use pants_fuzz_checks::model::Delim;
use pants_fuzz_checks::stream::stream_steps;

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
