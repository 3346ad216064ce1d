//! Frames lent to `on_read` in place in the read buffer: whatever a handler does to its
//! stream from inside `on_read` (pause, close, change the delimiter, keep the frame), the rest
//! of the same read is framed as if each frame had been cut out of it.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pants_core::testing::Network;
use pants_core::{
    Context, Frame, FrameSize, Handler, Listen, OverflowError, OverflowPolicy, ReadDelimiter,
    ReadLimits, StreamConfig, TimerId,
};

/// What a handler saw, for the test.
type Seen = Rc<RefCell<Vec<String>>>;

fn text(frame: &[u8]) -> String {
    String::from_utf8_lossy(frame).into_owned()
}

/// Reads lines; pauses reading at the line `pause` and resumes a second later; closes at the
/// line `close`; reads the rest of the stream with no delimiter after the line `raw`.
struct Commands {
    seen: Seen,
}

impl Handler for Commands {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter(ReadDelimiter::byte(b'\n')).unwrap();
    }

    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        self.seen.borrow_mut().push(text(&frame));
        match &frame[..] {
            b"pause" => {
                cx.pause_reading();
                cx.timer_after(Duration::from_secs(1));
            }
            b"close" => cx.close(),
            b"raw" => cx.set_read_delimiter(ReadDelimiter::none()).unwrap(),
            _ => {}
        }
    }

    fn on_timer(&mut self, cx: &mut Context<'_>, _: TimerId) {
        cx.resume_reading();
    }
}

/// A server of [`Commands`] and a peer connected to it.
fn serve(seen: &Seen) -> (Network, pants_core::testing::Peer) {
    let mut net = Network::new();
    let shared = seen.clone();
    net.listen("127.0.0.1:1", move || Commands {
        seen: shared.clone(),
    })
    .unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    (net, peer)
}

#[test]
fn frames_after_a_pause_in_the_same_read_come_in_order_once_reading_resumes() {
    let seen = Seen::default();
    let (mut net, peer) = serve(&seen);
    net.send(peer, "a\npause\nb\nc\n");
    net.run();
    assert_eq!(*seen.borrow(), ["a", "pause"]);
    net.advance(Duration::from_millis(1001));
    assert_eq!(*seen.borrow(), ["a", "pause", "b", "c"]);
}

#[test]
fn no_frame_follows_a_close_from_on_read_though_the_read_held_more() {
    let seen = Seen::default();
    let (mut net, peer) = serve(&seen);
    net.send(peer, "a\nclose\nb\nc\n");
    net.run();
    assert_eq!(*seen.borrow(), ["a", "close"]);
    assert!(net.saw_eof(peer), "closed after flushing");
}

#[test]
fn a_delimiter_change_in_on_read_applies_to_the_rest_of_the_same_read() {
    let seen = Seen::default();
    let (mut net, peer) = serve(&seen);
    net.send(peer, "a\nraw\nrest\nof it");
    net.run();
    assert_eq!(*seen.borrow(), ["a", "raw", "rest\nof it"]);
}

/// Keeps every frame it reads, as `Bytes`.
struct Keeper {
    kept: Rc<RefCell<Vec<Bytes>>>,
}

impl Handler for Keeper {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\r\n").unwrap();
    }

    fn on_read(&mut self, _: &mut Context<'_>, frame: Frame<'_>) {
        self.kept.borrow_mut().push(frame.into_bytes());
    }
}

#[test]
fn frames_kept_with_into_bytes_are_intact_after_everything_read_later() {
    let lines: Vec<String> = (0..200)
        .map(|i| format!("line {i} {}", "x".repeat(i)))
        .collect();
    // Whole reads (frames lent from one input) and reads of 7 bytes (frames that span
    // reads, assembled by the framer) both.
    for chunk in [None, Some(7)] {
        let kept = Rc::new(RefCell::new(Vec::new()));
        let mut net = Network::new();
        if let Some(chunk) = chunk {
            net.set_read_chunk(chunk);
        }
        let shared = kept.clone();
        net.listen("127.0.0.1:1", move || Keeper {
            kept: shared.clone(),
        })
        .unwrap();
        let peer = net.peer_connect("127.0.0.1:1").unwrap();
        for line in &lines {
            net.send(peer, format!("{line}\r\n"));
        }
        net.run();
        let kept: Vec<String> = kept.borrow().iter().map(|frame| text(frame)).collect();
        assert_eq!(kept, lines, "read chunk {chunk:?}");
    }
}

/// What kept frames hold: a cache that keeps many small values with `into_bytes`, each read
/// into a 64 KiB buffer of its own as a driver does, holds their bytes, not the buffers.
#[test]
fn kept_small_frames_hold_their_bytes_not_the_read_buffers() {
    let reads: Vec<Bytes> = (0..2001)
        .map(|i| {
            let mut buffer = BytesMut::with_capacity(64 * 1024);
            buffer.extend_from_slice(format!("value {i}\r\n").as_bytes());
            buffer.freeze()
        })
        .collect();
    let kept: Vec<Bytes> = reads
        .iter()
        .map(|read| Frame::lent(read, read.len() - 2).into_bytes())
        .collect();
    let buffers: HashSet<*const u8> = reads.iter().map(|read| read.as_ptr()).collect();
    let holding_a_buffer = kept
        .iter()
        .filter(|value| buffers.contains(&value.as_ptr()))
        .count();
    assert_eq!(
        holding_a_buffer, 0,
        "a kept small frame pins its read buffer"
    );
    assert_eq!(kept[2000], "value 2000");
    // A large frame is shared: copying it would cost more than the buffer it keeps.
    let large = Bytes::from(vec![7; Frame::SHARE_FROM]);
    assert_eq!(Frame::whole(&large).into_bytes().as_ptr(), large.as_ptr());
}

/// Reads frames of a one-byte length and that many bytes by a custom delimiter; after the
/// frame `\x04line` reads one line, then goes back to the custom frames.
struct Sized {
    seen: Seen,
    custom: ReadDelimiter,
}

impl Handler for Sized {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter(&self.custom).unwrap();
    }

    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        self.seen.borrow_mut().push(text(&frame));
        let next = match &frame[..] {
            b"\x04line" => ReadDelimiter::byte(b'\n'),
            _ => self.custom.clone(),
        };
        cx.set_read_delimiter(next).unwrap();
    }
}

#[test]
fn custom_frames_are_lent_and_cut_alike_in_any_chunking_with_delimiter_changes() {
    let sent = b"\x02ab\x00\x04line a line\n\x05hello\x01z";
    let expected = [
        "\x02ab",
        "\x00",
        "\x04line",
        " a line",
        "\x05hello",
        "\x01z",
    ];
    for chunk in [None, Some(1), Some(2), Some(5)] {
        let seen = Seen::default();
        let mut net = Network::new();
        if let Some(chunk) = chunk {
            net.set_read_chunk(chunk);
        }
        let shared = seen.clone();
        let custom = ReadDelimiter::custom(|bytes: &[u8]| match bytes.first() {
            Some(&len) => FrameSize::Known(1 + usize::from(len)),
            None => FrameSize::Unknown,
        });
        net.listen("127.0.0.1:1", move || Sized {
            seen: shared.clone(),
            custom: custom.clone(),
        })
        .unwrap();
        let peer = net.peer_connect("127.0.0.1:1").unwrap();
        net.send(peer, &sent[..]);
        net.run();
        assert_eq!(*seen.borrow(), expected, "read chunk {chunk:?}");
    }
}

/// Records frames, overflows and the close, under the overflow policy `Discard`.
struct Discarding {
    seen: Seen,
}

impl Handler for Discarding {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.this().set_overflow_policy(OverflowPolicy::Discard);
        cx.set_read_delimiter(ReadDelimiter::custom(|bytes: &[u8]| {
            match bytes.iter().position(|&b| b == b';') {
                Some(at) => FrameSize::Known(at + 1),
                None => FrameSize::Unknown,
            }
        }))
        .unwrap();
    }

    fn on_read(&mut self, _: &mut Context<'_>, frame: Frame<'_>) {
        self.seen.borrow_mut().push(text(&frame));
    }

    fn on_overflow_error(&mut self, _: &mut Context<'_>, err: &OverflowError) {
        self.seen
            .borrow_mut()
            .push(format!("overflow {}", err.size()));
    }

    fn on_close(&mut self, _: &mut Context<'_>) {
        self.seen.borrow_mut().push("close".into());
    }
}

/// A frame whose size the function cannot tell within the read limit has no end to discard
/// to, and its tail could pass for frames: the stream closes, though the policy is `Discard`.
#[test]
fn a_custom_frame_of_unknown_size_over_the_limit_closes_the_stream_whatever_the_policy() {
    for chunk in [None, Some(3)] {
        let seen = Seen::default();
        let mut net = Network::new();
        if let Some(chunk) = chunk {
            net.set_read_chunk(chunk);
        }
        let shared = seen.clone();
        let config = StreamConfig {
            read_limits: ReadLimits::new(8, 1024).unwrap(),
            ..StreamConfig::default()
        };
        let listen = Listen::new("127.0.0.1:1", move || Discarding {
            seen: shared.clone(),
        })
        .stream_config(config);
        net.context().listen_with(listen).unwrap();
        let peer = net.peer_connect("127.0.0.1:1").unwrap();
        net.send(peer, "ab;0123456789smuggled;");
        net.run();
        assert_eq!(
            *seen.borrow(),
            ["ab;", "overflow 9"],
            "read chunk {chunk:?}"
        );
        assert!(net.saw_eof(peer), "winding down: the write side is shut");
        net.shutdown(peer);
        net.run();
        assert_eq!(
            *seen.borrow(),
            ["ab;", "overflow 9", "close"],
            "read chunk {chunk:?}"
        );
    }
}
