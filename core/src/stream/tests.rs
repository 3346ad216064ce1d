use std::fs::File;
use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::testing::{Offer, StreamDriver, StreamHooks, Written};
use crate::{LengthPrefix, ReadDelimiter};

/// A stream driven by hand over a socket that takes at most `write_cap` bytes a write (none:
/// it would block), recording what the stream did.
struct Driver {
    by_hand: StreamDriver,
    write_cap: usize,
    sent: Vec<u8>,
    actions: Vec<Action>,
    log: Vec<String>,
}

impl Driver {
    fn accepted(config: StreamConfig) -> Self {
        let now = Instant::now();
        Self::with(Stream::accepted(config, now), now)
    }

    fn connecting(config: StreamConfig) -> Self {
        let now = Instant::now();
        Self::with(Stream::connecting(config, now), now)
    }

    fn with(stream: Stream, now: Instant) -> Self {
        Self {
            by_hand: StreamDriver::new(stream, now),
            write_cap: usize::MAX,
            sent: Vec::new(),
            actions: vec![],
            log: vec![],
        }
    }

    /// Runs the drive order until nothing happens; events are logged, not answered.
    fn drive(&mut self) {
        self.drive_with(|_, _| {});
    }

    /// Like `drive`, answering each event with `respond`. The socket is writable again: it
    /// takes up to `write_cap` bytes a write until a write takes nothing.
    fn drive_with(&mut self, respond: impl FnMut(&mut Stream, &Event)) {
        let mut recorder = Recorder {
            write_cap: self.write_cap,
            sent: &mut self.sent,
            actions: &mut self.actions,
            log: &mut self.log,
            respond,
        };
        self.by_hand.set_writable(true);
        self.by_hand.drive(&mut recorder);
    }

    fn data(&mut self, data: &'static [u8]) {
        self.by_hand.handle_data(data);
        self.drive();
    }

    fn advance(&mut self, by: Duration) {
        self.by_hand.advance(by);
        self.drive();
    }

    fn stream(&mut self) -> &mut Stream {
        self.by_hand.stream_mut()
    }

    fn now(&self) -> Instant {
        self.by_hand.now()
    }

    fn sent_str(&self) -> &str {
        std::str::from_utf8(&self.sent).unwrap()
    }
}

/// The hooks of [`Driver::drive_with`]: the socket, the records, and the application.
struct Recorder<'a, F> {
    write_cap: usize,
    sent: &'a mut Vec<u8>,
    actions: &'a mut Vec<Action>,
    log: &'a mut Vec<String>,
    respond: F,
}

impl<F: FnMut(&mut Stream, &Event)> StreamHooks for Recorder<'_, F> {
    fn on_action(&mut self, _: &Stream, action: Action) {
        self.actions.push(action);
    }

    /// A file range is "sent" as one `F` a byte.
    fn on_transmit(&mut self, _: &Stream, _: Instant, offer: Offer<'_>) -> Written {
        let offered = offer.bytes().unwrap_or_else(|| vec![b'F'; offer.len()]);
        let n = offered.len().min(self.write_cap);
        self.sent.extend_from_slice(&offered[..n]);
        Written::Took(n)
    }

    fn on_event(&mut self, stream: &mut Stream, _: Instant, event: Event) {
        assert!(
            !self.log.contains(&"close".to_string()),
            "event after close: {event:?}"
        );
        self.log.push(describe(&event));
        (self.respond)(stream, &event);
    }
}

fn describe(event: &Event) -> String {
    match event {
        Event::Connected => "connect".into(),
        Event::Read(frame) => format!("read:{}", String::from_utf8_lossy(frame)),
        Event::Drained => "write".into(),
        Event::Eof => "eof".into(),
        Event::Overflow(err) => format!("overflow:{:?}", err.direction()),
        Event::ConnectFailed(err) => format!("connect_error:{err}"),
        Event::Error(err) => format!("error:{err}"),
        Event::Idle(kind) => format!("idle:{kind:?}"),
        #[cfg(feature = "tls")]
        Event::TlsHandshake => "tls_handshake".into(),
        #[cfg(feature = "tls")]
        Event::TlsError(err) => format!("tls_error:{err}"),
        Event::Closed => "close".into(),
    }
}

fn lines() -> StreamConfig {
    StreamConfig::default()
}

fn line_driver() -> Driver {
    let mut driver = Driver::accepted(lines());
    driver.stream().set_read_delimiter("\n").unwrap();
    driver
}

#[test]
fn accepted_stream_reports_connect_before_the_first_frame() {
    let mut driver = line_driver();
    driver.data(b"a\nb\n");
    assert_eq!(driver.log, ["connect", "read:a", "read:b"]);
}

#[test]
fn data_before_the_connect_completion_still_comes_after_on_connect() {
    let mut driver = Driver::connecting(lines());
    driver.stream().write("queued early").unwrap();
    assert!(
        !driver.stream().wants_write(),
        "nothing is sent before the connect completes"
    );
    driver.data(b"hi");
    assert_eq!(driver.log, ["connect", "write", "read:hi"]);
    assert_eq!(driver.sent_str(), "queued early");
}

#[test]
fn connect_error_then_close_and_nothing_else() {
    let mut driver = Driver::connecting(lines());
    driver.by_hand.handle_connect_error(ConnectError::Refused);
    driver.drive();
    assert_eq!(driver.log, ["connect_error:connection refused", "close"]);
    assert_eq!(driver.actions, [Action::Close]);
    driver.by_hand.handle_connected();
    driver.drive();
    assert_eq!(driver.log.len(), 2, "a late completion is ignored");
}

#[test]
fn io_error_while_connecting_is_a_connect_error() {
    let mut driver = Driver::connecting(lines());
    driver
        .by_hand
        .handle_error(io::ErrorKind::ConnectionRefused.into());
    driver.drive();
    assert_eq!(driver.log, ["connect_error:connection refused", "close"]);
}

#[test]
fn connect_timeout_counts_from_the_start() {
    let config = StreamConfig {
        connect_timeout: Some(Duration::from_secs(3)),
        ..lines()
    };
    let mut driver = Driver::connecting(config);
    assert_eq!(
        driver.stream().poll_timeout(),
        Some(driver.now() + Duration::from_secs(3))
    );
    driver.advance(Duration::from_millis(2999));
    assert!(driver.log.is_empty());
    driver.advance(Duration::from_millis(1));
    assert_eq!(driver.log, ["connect_error:connect timed out", "close"]);
    assert_eq!(driver.stream().poll_timeout(), None);
}

#[test]
fn close_flushes_everything_then_shuts_down_then_closes_at_peer_eof() {
    let mut driver = line_driver();
    driver.write_cap = 3;
    driver.stream().write("0123456789").unwrap();
    driver.stream().close();
    assert_eq!(driver.stream().write("late"), Err(WriteError::Closing));
    driver.drive();
    assert_eq!(driver.sent_str(), "0123456789");
    assert_eq!(driver.actions, [Action::Shutdown]);
    assert!(
        driver.stream().wants_read(),
        "lingering reads to see the peer's EOF"
    );
    driver.data(b"ignored\n");
    driver.by_hand.handle_eof();
    driver.drive();
    assert_eq!(driver.actions, [Action::Shutdown, Action::Close]);
    assert_eq!(
        driver.log,
        ["connect", "close"],
        "no frames after close(), no on_write"
    );
}

#[test]
fn linger_without_peer_eof_closes_after_the_linger_time() {
    let config = StreamConfig {
        linger: Duration::from_secs(2),
        ..lines()
    };
    let mut driver = Driver::accepted(config);
    driver.stream().close();
    driver.drive();
    assert_eq!(driver.actions, [Action::Shutdown]);
    assert_eq!(
        driver.stream().poll_timeout(),
        Some(driver.now() + Duration::from_secs(2))
    );
    driver.advance(Duration::from_secs(2));
    assert_eq!(driver.actions, [Action::Shutdown, Action::Close]);
    assert_eq!(driver.log.last().unwrap(), "close");
}

#[test]
fn closing_with_a_stalled_queue_gives_up_after_the_linger_time_without_progress() {
    let config = StreamConfig {
        linger: Duration::from_secs(2),
        ..lines()
    };
    let mut driver = Driver::accepted(config);
    driver.write_cap = 0;
    driver.stream().write("stuck").unwrap();
    driver.stream().close();
    driver.drive();
    driver.advance(Duration::from_secs(1));
    driver.write_cap = 1; // one byte of progress restarts the clock
    driver.by_hand.advance(Duration::ZERO);
    driver.drive();
    driver.write_cap = 0;
    assert_eq!(
        driver.sent_str(),
        "stuck",
        "cap 1 per write, looped until drained"
    );
    assert_eq!(driver.actions, [Action::Shutdown]);
}

#[test]
fn close_gives_up_on_a_peer_that_stops_reading() {
    let config = StreamConfig {
        linger: Duration::from_secs(2),
        ..lines()
    };
    let mut driver = Driver::accepted(config);
    driver.write_cap = 0;
    driver.stream().write("stuck").unwrap();
    driver.stream().close();
    driver.drive();
    driver.advance(Duration::from_millis(1999));
    assert!(driver.actions.is_empty());
    driver.advance(Duration::from_millis(1));
    assert_eq!(
        driver.actions,
        [Action::Close],
        "never shut down: the queue never drained"
    );
    assert_eq!(
        driver.log,
        [
            "connect",
            "error:closed with 5 queued bytes never sent",
            "close"
        ],
        "the bytes dropped are reported before on_close"
    );
}

#[test]
fn close_while_connecting_with_nothing_queued_ends_the_attempt_at_once() {
    let mut driver = Driver::connecting(lines());
    driver.stream().close();
    driver.drive();
    assert_eq!(driver.actions, [Action::Close]);
    assert_eq!(driver.log, ["close"], "no on_connect: it never connected");
    assert_eq!(driver.stream().poll_timeout(), None);
}

#[test]
fn close_while_connecting_sends_what_is_queued_once_connected() {
    let mut driver = Driver::connecting(lines());
    driver.stream().write("hello\n").unwrap();
    driver.stream().close();
    driver.drive();
    assert!(driver.actions.is_empty(), "waits for the connect");
    driver.by_hand.handle_connected();
    driver.drive();
    assert_eq!(driver.sent_str(), "hello\n");
    assert_eq!(driver.actions, [Action::Shutdown]);
}

#[test]
fn close_while_connecting_gives_up_after_the_linger_and_reports_the_unsent_bytes() {
    let config = StreamConfig {
        linger: Duration::from_secs(2),
        ..lines()
    };
    let mut driver = Driver::connecting(config);
    driver.stream().write("hello\n").unwrap();
    driver.advance(Duration::from_secs(1));
    driver.stream().close();
    driver.drive();
    assert_eq!(
        driver.stream().poll_timeout(),
        Some(driver.now() + Duration::from_secs(2)),
        "the linger counts from the close"
    );
    driver.advance(Duration::from_secs(2));
    assert_eq!(driver.actions, [Action::Close]);
    assert_eq!(
        driver.log,
        ["error:closed with 6 queued bytes never sent", "close"]
    );
}

#[test]
fn close_now_drops_the_queue_says_how_much_and_closes_at_once() {
    let mut driver = line_driver();
    driver.write_cap = 0;
    driver.stream().write("never sent").unwrap();
    driver.stream().close_now();
    driver.drive();
    assert_eq!(driver.actions, [Action::Close]);
    let dropped = [
        "connect",
        "error:closed with 10 queued bytes never sent",
        "close",
    ];
    assert_eq!(driver.log, dropped);
    assert_eq!(driver.stream().write_queue().in_memory(), 0);
    driver.stream().close_now();
    driver.stream().close();
    driver.drive();
    assert_eq!(driver.log, dropped, "close is idempotent");
}

#[test]
fn peer_eof_delivers_every_frame_then_flushes_replies_then_closes() {
    let mut driver = line_driver();
    driver.by_hand.handle_data(Bytes::from_static(b"a\nb\n"));
    driver.by_hand.handle_eof();
    driver.write_cap = 1;
    driver.drive_with(|stream, event| {
        if let Event::Read(frame) = event {
            stream.write([&frame[..], b"!"].concat()).unwrap();
        }
    });
    assert_eq!(driver.log, ["connect", "read:a", "read:b", "eof", "close"]);
    assert_eq!(
        driver.sent_str(),
        "a!b!",
        "replies queued before EOF are not lost"
    );
    assert_eq!(driver.actions, [Action::Close]);
}

#[test]
fn a_write_made_on_eof_is_still_sent() {
    let mut driver = line_driver();
    driver.by_hand.handle_eof();
    driver.drive_with(|stream, event| {
        if let Event::Eof = event {
            stream.write("bye").unwrap();
        }
    });
    assert_eq!(driver.sent_str(), "bye");
    assert_eq!(driver.log, ["connect", "eof", "close"]);
}

#[test]
fn partial_frame_at_eof_is_reported_with_its_bytes() {
    let mut driver = line_driver();
    driver
        .by_hand
        .handle_data(Bytes::from_static(b"whole\nhal"));
    driver.by_hand.handle_eof();
    let mut partial = None;
    driver.drive_with(|_, event| {
        if let Event::Error(err) = event {
            partial = err.truncated_frame().map(|frame| frame.bytes().clone());
        }
    });
    assert_eq!(
        driver.log,
        [
            "connect",
            "read:whole",
            "error:peer closed in the middle of a frame (3 bytes received)",
            "eof",
            "close"
        ]
    );
    assert_eq!(partial.unwrap(), "hal");
}

#[test]
fn a_close_now_on_a_truncated_frame_drops_the_eof_that_waits_after_it() {
    // Found by the engine fuzzer: the `Eof` that follows a truncated frame came between the
    // report of the unsent bytes and `Closed`, which must be next.
    let mut driver = line_driver();
    driver.write_cap = 0;
    driver.by_hand.handle_data(Bytes::from_static(b"hal"));
    driver.by_hand.handle_eof();
    driver.drive_with(|stream, event| {
        if let Event::Error(err) = event
            && err.truncated_frame().is_some()
        {
            stream.write("never sent").unwrap();
            stream.close_now();
        }
    });
    assert_eq!(
        driver.log,
        [
            "connect",
            "error:peer closed in the middle of a frame (3 bytes received)",
            "error:closed with 10 queued bytes never sent",
            "close"
        ]
    );
}

#[test]
fn half_open_stream_keeps_writing_after_peer_eof_until_closed() {
    let mut driver = Driver::accepted(StreamConfig {
        half_open: true,
        ..lines()
    });
    driver.by_hand.handle_eof();
    driver.drive();
    assert_eq!(driver.log, ["connect", "eof"]);
    assert!(!driver.stream().wants_read());
    driver.stream().write("still here").unwrap();
    driver.drive();
    assert_eq!(driver.log, ["connect", "eof", "write"]);
    driver.stream().close();
    driver.drive();
    assert_eq!(
        driver.actions,
        [Action::Close],
        "peer already closed: no linger"
    );
    assert_eq!(driver.sent_str(), "still here");
}

#[test]
fn reset_is_an_error_then_close_and_drops_the_queue() {
    let mut driver = line_driver();
    driver.write_cap = 0;
    driver.stream().write("lost").unwrap();
    driver
        .by_hand
        .handle_error(io::ErrorKind::ConnectionReset.into());
    driver.drive();
    assert_eq!(
        driver.log,
        [
            "connect",
            "error:connection reset by peer",
            "error:closed with 4 queued bytes never sent",
            "close"
        ]
    );
    assert_eq!(driver.actions, [Action::Close]);
}

#[test]
fn read_overflow_closes_after_flushing_by_default() {
    let mut config = lines();
    config.read_limits = ReadLimits::new(4, 1024).unwrap();
    let mut driver = Driver::accepted(config);
    driver.stream().set_read_delimiter("\n").unwrap();
    driver.stream().write("reply").unwrap();
    driver.data(b"ok\ntoo long line\nnext\n");
    assert_eq!(driver.log, ["connect", "write", "read:ok", "overflow:Read"]);
    assert_eq!(driver.sent_str(), "reply");
    assert_eq!(driver.actions, [Action::Shutdown], "closing gracefully");
}

#[test]
fn a_reply_written_on_overflow_is_sent_before_the_close() {
    let mut config = lines();
    config.read_limits = ReadLimits::new(4, 1024).unwrap();
    let mut driver = Driver::accepted(config);
    driver.stream().set_read_delimiter("\n").unwrap();
    driver
        .by_hand
        .handle_data(Bytes::from_static(b"too long line\nnext\n"));
    driver.drive_with(|stream, event| {
        if let Event::Overflow(_) = event {
            stream.write("-ERR line too long\r\n").unwrap();
        }
    });
    assert_eq!(
        driver.log,
        ["connect", "overflow:Read"],
        "no frame after the overflow"
    );
    assert_eq!(driver.sent_str(), "-ERR line too long\r\n");
    assert_eq!(driver.actions, [Action::Shutdown]);
}

#[test]
fn read_overflow_with_discard_policy_skips_the_frame_and_carries_on() {
    let mut config = StreamConfig {
        overflow: OverflowPolicy::Discard,
        ..lines()
    };
    config.read_limits = ReadLimits::new(4, 1024).unwrap();
    let mut driver = Driver::accepted(config);
    driver.stream().set_read_delimiter("\n").unwrap();
    driver.data(b"ok\ntoo long line\nnext\n");
    assert_eq!(
        driver.log,
        ["connect", "read:ok", "overflow:Read", "read:next"]
    );
    assert!(driver.actions.is_empty());
}

#[test]
fn write_over_the_hard_limit_is_refused_and_raises_overflow() {
    let mut config = lines();
    config.write_limits = WriteLimits::new(2, 4);
    let mut driver = Driver::accepted(config);
    driver.write_cap = 0;
    assert_eq!(
        driver.stream().write("abc"),
        Ok(WriteStatus::AboveHighWater)
    );
    let err = driver.stream().write("de").unwrap_err();
    assert!(matches!(err, WriteError::Overflow(e) if e.size() == 5 && e.limit() == 4));
    driver.write_cap = usize::MAX;
    driver.drive();
    assert_eq!(driver.log, ["connect", "overflow:Write"]);
    assert_eq!(driver.sent_str(), "abc", "what was queued is still sent");
    assert_eq!(
        driver.actions,
        [Action::Shutdown],
        "the default policy closes"
    );
}

#[test]
fn paused_stream_delivers_nothing_until_resumed() {
    let mut driver = line_driver();
    driver.stream().pause_reading();
    assert!(!driver.stream().wants_read());
    driver.stream().resume_reading();
    driver.by_hand.handle_data(Bytes::from_static(b"a\nb\nc"));
    driver.drive_with(|stream, event| {
        if matches!(event, Event::Read(_)) {
            stream.pause_reading();
        }
    });
    assert_eq!(
        driver.log,
        ["connect", "read:a"],
        "paused from inside on_read"
    );
    assert!(!driver.stream().wants_read());
    driver.stream().resume_reading();
    driver.drive();
    assert_eq!(driver.log, ["connect", "read:a", "read:b"]);
    assert_eq!(driver.stream().framer().buffered(), 1);
}

#[test]
fn pause_in_on_connect_holds_back_the_first_frame() {
    let mut driver = line_driver();
    driver.by_hand.handle_data(Bytes::from_static(b"x\n"));
    driver.drive_with(|stream, event| {
        if let Event::Connected = event {
            stream.pause_reading();
        }
    });
    assert_eq!(driver.log, ["connect"]);
}

#[test]
fn delimiter_changed_in_on_read_applies_to_the_rest_of_the_same_read() {
    let mut driver = line_driver();
    driver
        .by_hand
        .handle_data(Bytes::from_static(b"3\nabc4\nwxyz"));
    driver.drive_with(|stream, event| match event {
        Event::Read(frame) if frame.len() == 1 => {
            let n: usize = std::str::from_utf8(frame).unwrap().parse().unwrap();
            stream.set_read_delimiter(n).unwrap();
        }
        Event::Read(_) => stream.set_read_delimiter("\n").unwrap(),
        _ => {}
    });
    assert_eq!(
        driver.log,
        ["connect", "read:3", "read:abc", "read:4", "read:wxyz"]
    );
}

#[test]
fn invalid_delimiters_are_refused_when_set() {
    let mut driver = line_driver();
    assert_eq!(
        driver.stream().set_read_delimiter(""),
        Err(DelimiterError::EmptyBytes)
    );
    assert_eq!(
        driver.stream().set_read_delimiter(0usize),
        Err(DelimiterError::ZeroCount)
    );
    assert_eq!(
        driver.stream().read_delimiter(),
        &ReadDelimiter::bytes("\n").unwrap()
    );
}

#[test]
fn corrupt_length_prefix_is_an_error_then_a_graceful_close() {
    let mut driver = Driver::accepted(lines());
    let layout = LengthPrefix::new(1).adjustment(-5);
    driver.stream().set_read_delimiter(layout).unwrap();
    driver.data(b"\x02ab");
    assert_eq!(
        driver.log[1],
        "error:length field 2 with adjustment -5 gives no valid frame length"
    );
    assert_eq!(driver.actions, [Action::Shutdown]);
}

#[test]
fn on_write_fires_each_time_the_queue_empties() {
    let mut driver = line_driver();
    driver.write_cap = 2;
    driver.stream().write("abc").unwrap();
    driver.drive();
    driver.stream().write("d").unwrap();
    driver.drive();
    assert_eq!(driver.log, ["connect", "write", "write"]);
}

#[test]
fn read_idle_fires_once_after_the_timeout_and_rearms_on_data() {
    let config = StreamConfig {
        read_idle_timeout: Some(Duration::from_secs(10)),
        ..lines()
    };
    let mut driver = Driver::accepted(config);
    driver.advance(Duration::from_secs(9));
    driver.data(b"x");
    driver.advance(Duration::from_secs(9));
    assert_eq!(driver.log, ["connect", "read:x"]);
    driver.advance(Duration::from_secs(1));
    driver.advance(Duration::from_secs(30));
    assert_eq!(driver.log, ["connect", "read:x", "idle:Read"]);
    driver.data(b"y");
    driver.advance(Duration::from_secs(10));
    assert_eq!(
        driver.log,
        ["connect", "read:x", "idle:Read", "read:y", "idle:Read"]
    );
}

#[test]
fn slow_reader_draining_a_large_write_is_not_write_idle() {
    let config = StreamConfig {
        write_idle_timeout: Some(Duration::from_secs(5)),
        ..lines()
    };
    let mut driver = Driver::accepted(config);
    driver.write_cap = 0;
    driver.stream().write(vec![b'x'; 100]).unwrap();
    for _ in 0..10 {
        driver.by_hand.advance(Duration::from_secs(4));
        let now = driver.now();
        let mut slices = [IoSlice::new(&[]); 1];
        if let Some(Transmit::Vectored(1)) = driver.stream().poll_transmit(&mut slices) {
            driver.stream().handle_written(now, 10);
        }
    }
    driver.drive();
    assert_eq!(
        driver.log,
        ["connect", "write"],
        "no idle event while bytes drained"
    );
    driver.advance(Duration::from_secs(5));
    assert_eq!(driver.log, ["connect", "write", "idle:Write"]);
}

#[test]
fn file_ranges_are_offered_in_queue_order() {
    let mut driver = line_driver();
    let file = Arc::new(File::open(std::env::current_exe().unwrap()).unwrap());
    driver.stream().write("head ").unwrap();
    driver
        .stream()
        .write_file(FileRange::new(file, 0, 3))
        .unwrap();
    driver.stream().write(" tail").unwrap();
    driver.drive();
    assert_eq!(driver.sent_str(), "head FFF tail");
}

#[test]
fn nothing_follows_close_whatever_the_driver_does() {
    let mut driver = line_driver();
    driver.stream().close_now();
    driver.drive();
    driver.by_hand.handle_data(Bytes::from_static(b"x\n"));
    driver.by_hand.handle_eof();
    driver.by_hand.handle_error(io::ErrorKind::Other.into());
    driver.advance(Duration::from_secs(3600));
    assert_eq!(driver.log, ["connect", "close"]);
    assert!(driver.stream().is_closed());
    assert!(!driver.stream().wants_read() && !driver.stream().wants_write());
}

#[test]
fn a_stream_closed_at_once_says_what_it_dropped_and_no_longer_drains() {
    let mut driver = line_driver();
    driver.drive();
    driver.log.clear();
    // The queue drains (Drained is pending, not polled yet); a new write waits, and a close
    // drops it.
    driver.stream().write("sent").unwrap();
    let mut slices = [IoSlice::new(&[]); 4];
    assert!(driver.stream().poll_transmit(&mut slices).is_some());
    let now = driver.now();
    driver.stream().handle_written(now, 4);
    driver.stream().write("dropped").unwrap();
    driver.stream().close_now();
    driver.write_cap = 0;
    driver.drive();
    assert_eq!(
        driver.log,
        ["error:closed with 7 queued bytes never sent", "close"],
        "no on_write after the close"
    );
}
