//! The protocol checker catches what it promises, each time with a minimal input: a reply
//! that depends on how the input was cut, a panic on one byte value, a handler that buffers
//! without limit, a connection that never closes; and it passes a correct protocol.

use std::time::Duration;

use pants_core::testing::check::{self, Checker, Cutting, Memory, Problem, Script, Variant};
use pants_core::{Context, Frame, Handler, StreamConfig};

/// Lines in, each line back with a `> ` in front: correct whatever the cutting.
struct Lines;

impl Handler for Lines {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\n").unwrap();
    }

    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        let _ = cx.write([b"> ", &line[..], b"\n"].concat());
    }
}

#[test]
fn a_correct_line_protocol_passes_every_cutting() {
    let script = Script::new()
        .send("one\ntw")
        .advance(Duration::from_secs(1))
        .send("o\nthree\npartial");
    let report = Checker::new(|| Lines).every_position().check(script);
    report.assert_ok();
    assert_eq!(report.received(0), "> one\n> two\n> three\n");
    assert!(!report.closed_early(0));
    assert!(report.runs() > 20, "every position was tried");
}

/// Answers each read, not each line: its replies depend on how the bytes arrive.
struct PerRead;

impl Handler for PerRead {
    fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
        let _ = cx.write(format!("got {}\n", data.len()));
    }
}

#[test]
fn a_reply_that_depends_on_the_cutting_is_reported_with_the_smallest_cut() {
    let report = check::check(|| PerRead, "a longer request\n");
    let failure = report.failure().expect("the cutting changes the reply");
    let Problem::DependsOnCutting { peer, whole, cut } = &failure.problem else {
        panic!("the wrong problem: {failure}");
    };
    assert_eq!(*peer, 0);
    assert_eq!(whole.received, "got 2\n");
    assert_eq!(cut.received, "got 1\ngot 1\n");
    assert_eq!(
        failure.script.len(),
        2,
        "two bytes show it: {:?}",
        failure.script
    );
    assert_eq!(
        failure.variant,
        Variant::cut(Cutting::At(vec![1])),
        "one cut shows it"
    );
    let shown = failure.to_string();
    assert!(shown.contains("run:    input cut at [1]"), "{shown}");
}

/// Echoes bytes, but panics on a NUL byte.
struct Fragile;

impl Handler for Fragile {
    fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
        assert!(!data.contains(&0), "a NUL byte");
        let _ = cx.write(data);
    }
}

#[test]
fn a_panic_on_one_byte_value_is_reported_with_that_byte_alone() {
    let script = Script::new()
        .send("harmless")
        .send(&b"then \0 and more"[..])
        .eof();
    let report = check::check(|| Fragile, script);
    let failure = report.failure().expect("the panic is found");
    assert_eq!(
        failure.problem,
        Problem::Panic {
            message: "a NUL byte".into()
        }
    );
    assert_eq!(failure.script, Script::from(&b"\0"[..]));
    assert_eq!(failure.variant, Variant::whole());
    assert!(
        report.outcome().is_none(),
        "the run with the input whole failed"
    );
}

/// Keeps every line until `END`, which never comes: a buffer without a limit.
#[derive(Default)]
struct Hoarder {
    kept: Vec<u8>,
}

impl Handler for Hoarder {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\n").unwrap();
    }

    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        if &line[..] == b"END" {
            let _ = cx.write(std::mem::take(&mut self.kept));
        } else {
            self.kept.extend_from_slice(&line);
        }
    }
}

#[test]
fn a_handler_that_buffers_without_limit_is_reported_over_its_bound() {
    let input = "0123456789\n".repeat(20);
    let report = Checker::new(Hoarder::default)
        .held(|hoarder| hoarder.kept.len(), 64)
        .check(input.as_str());
    let failure = report.failure().expect("the hoard is seen");
    let Problem::OverLimit {
        what, size, bound, ..
    } = failure.problem
    else {
        panic!("the wrong problem: {failure}");
    };
    assert_eq!((what, bound), (Memory::Handler, 64));
    assert_eq!(size, 65, "the smallest input goes just over");
    assert_eq!(failure.script.len(), 66, "65 bytes and a newline");
}

#[test]
fn a_write_queue_over_its_bound_is_reported() {
    /// Answers each byte with a kilobyte, and never pauses reading.
    struct Amplifier;
    impl Handler for Amplifier {
        fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
            let _ = cx.write(vec![b'!'; 1024 * data.len()]);
        }
    }
    let report = Checker::new(|| Amplifier)
        .queue_bound(4096)
        .check("abcdefgh");
    let failure = report.failure().expect("the queue backs up");
    assert!(
        matches!(
            failure.problem,
            Problem::OverLimit {
                what: Memory::Queued,
                ..
            }
        ),
        "{failure}"
    );
    assert_eq!(failure.script.len(), 5, "five kilobytes go over four");
}

/// Stays half-open after its peer's EOF and never closes.
struct Stubborn;

impl Handler for Stubborn {}

#[test]
fn a_connection_that_never_closes_is_reported() {
    let half_open = StreamConfig {
        half_open: true,
        ..StreamConfig::default()
    };
    let report = Checker::new(|| Stubborn)
        .stream_config(half_open)
        .check("anything");
    let failure = report.failure().expect("the connection stays open");
    assert_eq!(
        failure.problem,
        Problem::NotClosed {
            peer: 0,
            closes: 0,
            after_close: None
        }
    );
    assert_eq!(failure.script, Script::new(), "no input needed at all");
}

/// Chat: each line goes to every connection of the server.
#[derive(Default)]
struct Chat;

impl Handler for Chat {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\n").unwrap();
    }

    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        let server = cx.server().expect("an accepted connection");
        cx.broadcast(server, [&line[..], b"\n"].concat());
    }
}

#[test]
fn several_peers_are_checked_each_with_their_inputs_interleaved() {
    let script = Script::new()
        .send_from(0, "hel")
        .send_from(1, "hi\n")
        .send_from(0, "lo\n")
        .eof_from(1)
        .send_from(2, "late\n");
    let report = check::check(|| Chat, script);
    report.assert_ok();
    assert_eq!(report.received(0), "hi\nhello\nlate\n");
    assert_eq!(
        report.received(1),
        "hi\nhello\n",
        "gone before the last line"
    );
    assert_eq!(report.received(2), "hi\nhello\nlate\n");
}

#[test]
fn a_normalisation_lets_replies_differ_in_what_does_not_matter() {
    /// The total of the counts: what `PerRead` promises, however the bytes arrive.
    fn total(received: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(received);
        let counts = text
            .lines()
            .map(|line| line["got ".len()..].parse::<usize>().unwrap());
        counts.sum::<usize>().to_string().into_bytes()
    }
    let report = Checker::new(|| PerRead).normalize(total).check("xyz");
    report.assert_ok();
    assert_eq!(report.received(0), "got 3\n");
    assert!(
        !Checker::new(|| PerRead).check("xyz").is_ok(),
        "not without it"
    );
}

#[test]
fn a_decoded_fuzz_input_is_checked_like_any_script() {
    let data = Script::new()
        .send("one\n")
        .reset()
        .send("ignored\n")
        .encode();
    let report = check::check(|| Lines, Script::decode(&data));
    report.assert_ok();
    assert_eq!(report.received(0), "> one\n");
}
