//! [`StreamDriver`]: one [`Stream`] driven by hand in the drive order of its contract, over a
//! socket and an application that a test plays through [`StreamHooks`].

use std::io::{self, IoSlice};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::error::ConnectError;
use crate::event::{Action, Event};
use crate::stream::Stream;
use crate::write_queue::{FileRange, Transmit};

/// What a driver reads of a file at once for a TLS stream.
const FILE_CHUNK: usize = 64 * 1024;

/// An offer copied out of the stream.
enum Offered {
    Bytes(Vec<Vec<u8>>),
    File(FileRange),
}

/// Drives one [`Stream`] the way a driver does, by the contract on the
/// [crate page](crate#a-channels-contract), for tests that drive a stream by hand.
///
/// The driver holds the stream, the clock, and whether the socket takes bytes now. Its input
/// methods ([`handle_data`](Self::handle_data), [`handle_eof`](Self::handle_eof),
/// [`advance`](Self::advance), ...) give the stream an input at the driver's time;
/// [`drive`](Self::drive) then drains the outputs in the contract's order, round after round,
/// until a whole round yields nothing:
///
/// 1. `poll_action` until `None`, each action to [`StreamHooks::on_action`];
/// 2. while the socket is writable and the stream `wants_write()`: `poll_transmit`, the offer
///    to [`StreamHooks::on_transmit`], which says how much the socket took, reported with
///    `handle_written`;
/// 3. `poll_event` until `None`, each event to [`StreamHooks::on_event`], the application's
///    callback, which may command the stream (write, close, change the delimiter, ...);
/// 4. [`StreamHooks::on_round`].
///
/// The driver keeps its own side of the contract: time never goes back, and `handle_written`
/// never reports more than was offered (a hook that asks for either is a panic). Reading is the
/// test's decision:
/// a driver reads only while [`Stream::wants_read`], and a test may break that rule on purpose
/// (spurious inputs are harmless), so [`handle_data`](Self::handle_data) does not check it.
///
/// ```
/// use std::time::Instant;
/// use pants_core::StreamConfig;
/// use pants_core::channel::{Event, Stream};
/// use pants_core::testing::{Offer, StreamDriver, StreamHooks, Written};
///
/// /// A line echo, over a socket that takes at most three bytes a write.
/// #[derive(Default)]
/// struct Echo {
///     sent: Vec<u8>,
/// }
///
/// impl StreamHooks for Echo {
///     fn on_transmit(&mut self, _: &Stream, _: Instant, offer: Offer<'_>) -> Written {
///         let bytes = offer.bytes().expect("no file ranges are written");
///         let n = bytes.len().min(3);
///         self.sent.extend_from_slice(&bytes[..n]);
///         Written::Took(n)
///     }
///
///     fn on_event(&mut self, stream: &mut Stream, _: Instant, event: Event) {
///         if let Event::Read(line) = event {
///             stream.write([&line[..], b"\n"].concat()).unwrap();
///         }
///     }
/// }
///
/// let now = Instant::now();
/// let mut driver = StreamDriver::new(Stream::accepted(StreamConfig::default(), now), now);
/// driver.stream_mut().set_read_delimiter("\n")?;
/// driver.handle_data("hello\nworld\n");
/// let mut echo = Echo::default();
/// driver.drive(&mut echo);
/// assert_eq!(echo.sent, b"hello\nworld\n");
///
/// driver.handle_eof();
/// driver.drive(&mut echo);
/// assert!(driver.stream().is_closed(), "the peer's EOF closes it");
/// # Ok::<(), pants_core::DelimiterError>(())
/// ```
#[derive(Debug)]
pub struct StreamDriver {
    stream: Stream,
    now: Instant,
    /// The socket takes bytes: set by [`set_writable`](Self::set_writable), cleared by a
    /// write that fills it ([`Written::Full`]).
    writable: bool,
    /// How many slices one vectored write offers.
    slices: usize,
}

/// What the test does at each step of [`StreamDriver::drive`]: the socket's writes and the
/// application's callbacks. Every method has a default, so a test implements only what it
/// watches or answers.
pub trait StreamHooks {
    /// The stream ordered `action` (drained before anything else in a round): carry it out.
    fn on_action(&mut self, stream: &Stream, action: Action) {
        let _ = (stream, action);
    }

    /// One write of what the stream offers, at `now`: says how much of it the socket takes.
    /// The default takes it all.
    fn on_transmit(&mut self, stream: &Stream, now: Instant, offer: Offer<'_>) -> Written {
        let _ = (stream, now);
        Written::Took(offer.len())
    }

    /// An event for the application, at `now`: its callback, which may command `stream`.
    fn on_event(&mut self, stream: &mut Stream, now: Instant, event: Event) {
        let _ = (stream, now, event);
    }

    /// The end of a round of the drive order, also of the last one, which yielded nothing.
    fn on_round(&mut self, stream: &Stream) {
        let _ = stream;
    }
}

/// No answers: actions and events are dropped, the socket takes everything.
impl StreamHooks for () {}

/// What a stream offers for one write ([`StreamHooks::on_transmit`]).
#[derive(Debug, Clone, Copy)]
pub enum Offer<'a> {
    /// Bytes, as the slices of one vectored write.
    Bytes(&'a [IoSlice<'a>]),
    /// A file range, to send with `sendfile` (or by reading it).
    File(&'a FileRange),
}

impl Offer<'_> {
    /// How many bytes are offered (a file range's length, at most `usize::MAX`).
    pub fn len(&self) -> usize {
        match self {
            Offer::Bytes(slices) => slices.iter().map(|slice| slice.len()).sum(),
            Offer::File(range) => usize::try_from(range.len()).unwrap_or(usize::MAX),
        }
    }

    /// True when nothing is offered (a stream never offers nothing: a check for tests).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes offered, in one piece; `None` for a file range.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        match self {
            Offer::Bytes(slices) => Some(
                slices
                    .iter()
                    .flat_map(|slice| slice.iter().copied())
                    .collect(),
            ),
            Offer::File(_) => None,
        }
    }
}

/// What the socket did with one write ([`StreamHooks::on_transmit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// It took this many bytes and may take more: the driver writes again while the stream
    /// wants to. `Took(0)` is `Full(0)` (a write that takes nothing would block).
    Took(usize),
    /// It took this many bytes, possibly none, and is full now: the driver writes no more
    /// until [`StreamDriver::set_writable`] (as a driver waits for the poller to say
    /// writable).
    Full(usize),
}

/// Most slices one vectored write offers.
const MAX_SLICES: usize = 64;

/// Rounds one [`StreamDriver::drive`] may take before it gives up on the stream settling.
const MAX_ROUNDS: usize = 100_000;

impl StreamDriver {
    /// Drives `stream`, made at `now`, over a writable socket, offering 8 slices a write.
    pub fn new(stream: Stream, now: Instant) -> Self {
        Self {
            stream,
            now,
            writable: true,
            slices: 8,
        }
    }

    /// Offers `slices` slices a write (1 to 64; fewer make more, shorter vectored writes).
    ///
    /// Panics when `slices` is 0 or over 64.
    pub fn with_slices(mut self, slices: usize) -> Self {
        assert!(
            (1..=MAX_SLICES).contains(&slices),
            "a write offers 1 to {MAX_SLICES} slices, not {slices}"
        );
        self.slices = slices;
        self
    }

    // ---- Inputs, at the driver's time --------------------------------------------------------

    /// The connect completed ([`Stream::handle_connected`]).
    pub fn handle_connected(&mut self) {
        self.stream.handle_connected(self.now);
    }

    /// The connect failed ([`Stream::handle_connect_error`]).
    pub fn handle_connect_error(&mut self, err: ConnectError) {
        self.stream.handle_connect_error(self.now, err);
    }

    /// Bytes were received ([`Stream::handle_data`]).
    pub fn handle_data(&mut self, data: impl Into<Bytes>) {
        self.stream.handle_data(self.now, data.into());
    }

    /// The peer shut down its side ([`Stream::handle_eof`]).
    pub fn handle_eof(&mut self) {
        self.stream.handle_eof(self.now);
    }

    /// A read, write or shutdown failed ([`Stream::handle_error`]).
    pub fn handle_error(&mut self, err: io::Error) {
        self.stream.handle_error(self.now, err);
    }

    /// The clock moves to `at`, and the stream is told ([`Stream::handle_timeout`]), whether
    /// or not a deadline is due.
    ///
    /// Panics when `at` is before the driver's time: time never goes back.
    pub fn handle_timeout(&mut self, at: Instant) {
        assert!(at >= self.now, "time goes back by {:?}", self.now - at);
        self.now = at;
        self.stream.handle_timeout(at);
    }

    /// The clock moves forward by `by`, and the stream is told ([`handle_timeout`]).
    ///
    /// [`handle_timeout`]: Self::handle_timeout
    pub fn advance(&mut self, by: Duration) {
        self.handle_timeout(self.now + by);
    }

    /// Whether the socket takes bytes now (the poller said writable, or the socket's buffer
    /// is full).
    pub fn set_writable(&mut self, writable: bool) {
        self.writable = writable;
    }

    // ---- The drive order ---------------------------------------------------------------------

    /// Drains the stream's outputs in the contract's order, round after round, until a whole
    /// round yields nothing; see the [type's docs](Self).
    ///
    /// Panics when the stream has not settled after 100,000 rounds: the stream and the hooks
    /// keep making work for each other, as they would spin a real driver.
    pub fn drive(&mut self, hooks: &mut impl StreamHooks) {
        for _ in 0..MAX_ROUNDS {
            let mut progressed = false;
            while let Some(action) = self.stream.poll_action() {
                progressed = true;
                hooks.on_action(&self.stream, action);
            }
            while self.writable && self.stream.wants_write() {
                progressed = true;
                self.transmit(hooks);
            }
            while let Some(event) = self.stream.poll_event() {
                progressed = true;
                hooks.on_event(&mut self.stream, self.now, event);
            }
            hooks.on_round(&self.stream);
            if !progressed {
                return;
            }
        }
        panic!("the stream did not settle in {MAX_ROUNDS} rounds of the drive order");
    }

    /// One write: the offer to the hooks, what the socket took back to the stream.
    fn transmit(&mut self, hooks: &mut impl StreamHooks) {
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        let slices = &mut slices[..self.slices];
        // `poll_transmit` borrows the stream mutably (a TLS stream encrypts when polled): the
        // offer is copied out, so that the hooks see the stream beside it.
        let offered = match self.stream.poll_transmit(slices) {
            Some(Transmit::Vectored(n)) => {
                Offered::Bytes(slices[..n].iter().map(|slice| slice.to_vec()).collect())
            }
            Some(Transmit::File(range)) => Offered::File(range.clone()),
            Some(Transmit::ReadFile(range)) => {
                let range = range.clone();
                return self.read_file(&range);
            }
            None => panic!("the stream wants to write, yet poll_transmit offers nothing"),
        };
        let bytes: Vec<IoSlice<'_>>;
        let offer = match &offered {
            Offered::Bytes(chunks) => {
                bytes = chunks.iter().map(|chunk| IoSlice::new(chunk)).collect();
                Offer::Bytes(&bytes)
            }
            Offered::File(range) => Offer::File(range),
        };
        let offered = offer.len();
        let written = hooks.on_transmit(&self.stream, self.now, offer);
        let (Written::Took(n) | Written::Full(n)) = written;
        assert!(
            n <= offered,
            "the socket took {n} bytes of the {offered} offered"
        );
        if n == 0 || matches!(written, Written::Full(_)) {
            self.writable = false;
        }
        if n > 0 {
            self.stream.handle_written(self.now, n);
        }
    }

    /// Reads the head of a file range for a TLS stream, which encrypts it (as a driver's
    /// `Io::read_file`); a file that ends before the range is the stream's I/O error.
    fn read_file(&mut self, range: &FileRange) {
        let len = usize::try_from(range.len()).unwrap_or(usize::MAX);
        let mut buf = vec![0; len.min(FILE_CHUNK)];
        match std::os::unix::fs::FileExt::read_at(range.file(), &mut buf, range.offset()) {
            Ok(0) => {
                let err = io::Error::new(io::ErrorKind::UnexpectedEof, "the file ended early");
                self.stream.handle_error(self.now, err);
            }
            #[cfg(feature = "tls")]
            Ok(n) => self.stream.handle_file_data(self.now, &buf[..n]),
            #[cfg(not(feature = "tls"))]
            Ok(_) => unreachable!("only TLS streams ask for a file's bytes"),
            Err(err) => self.stream.handle_error(self.now, err),
        }
    }

    // ---- State -------------------------------------------------------------------------------

    /// The stream.
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// The stream, to command it as its application does (write, close, set a delimiter, ...).
    /// Drive after a command, as after an input.
    pub fn stream_mut(&mut self) -> &mut Stream {
        &mut self.stream
    }

    /// The driver's time: the stream's last input was at or before it.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Whether the socket takes bytes now.
    pub fn is_writable(&self) -> bool {
        self.writable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StreamConfig;

    /// A socket that takes at most `cap` bytes a write and is full after `full_after` bytes,
    /// and an application that writes `reply` on each frame; records every step.
    #[derive(Default)]
    struct Script {
        cap: usize,
        full_after: Option<usize>,
        reply: &'static str,
        sent: Vec<u8>,
        steps: Vec<String>,
    }

    impl Script {
        fn new(cap: usize) -> Self {
            Self {
                cap,
                ..Self::default()
            }
        }
    }

    impl StreamHooks for Script {
        fn on_action(&mut self, _: &Stream, action: Action) {
            self.steps.push(format!("{action:?}"));
        }

        fn on_transmit(&mut self, _: &Stream, _: Instant, offer: Offer<'_>) -> Written {
            let bytes = offer.bytes().expect("bytes");
            let sent = self.sent.len();
            let room = self.full_after.map_or(usize::MAX, |full| full - sent);
            assert!(room > 0, "a write to a full socket");
            let n = bytes.len().min(self.cap).min(room);
            self.sent.extend_from_slice(&bytes[..n]);
            self.steps.push(format!("took {n}"));
            if self.full_after == Some(self.sent.len()) {
                Written::Full(n)
            } else {
                Written::Took(n)
            }
        }

        fn on_event(&mut self, stream: &mut Stream, _: Instant, event: Event) {
            self.steps.push(match &event {
                Event::Read(frame) => format!("read {}", String::from_utf8_lossy(frame)),
                other => format!("{other:?}"),
            });
            if let Event::Read(_) = event {
                stream.write(self.reply).unwrap();
            }
        }

        fn on_round(&mut self, _: &Stream) {
            self.steps.push("round".into());
        }
    }

    fn line_driver() -> StreamDriver {
        let now = Instant::now();
        let mut driver = StreamDriver::new(Stream::accepted(StreamConfig::default(), now), now);
        driver.stream_mut().set_read_delimiter("\n").unwrap();
        driver
    }

    #[test]
    fn a_round_drains_actions_then_writes_then_events_and_repeats_until_one_yields_nothing() {
        let mut driver = line_driver();
        driver.stream_mut().write("hi").unwrap();
        driver.stream_mut().close();
        driver.handle_eof();
        let mut script = Script::new(usize::MAX);
        driver.drive(&mut script);
        assert_eq!(
            script.steps.join(", "),
            "took 2, Connected, round, Close, Closed, round, round",
            "the write first (no action yet), then the event; the close that the flushed queue \
             allows comes the next round, its action before its event"
        );
    }

    #[test]
    fn short_writes_go_on_until_the_queue_drains() {
        let mut driver = line_driver();
        driver.stream_mut().write("0123456").unwrap();
        let mut script = Script::new(3);
        driver.drive(&mut script);
        assert_eq!(script.sent, b"0123456");
        assert_eq!(&script.steps[..3], ["took 3", "took 3", "took 1"]);
        assert!(driver.is_writable());
    }

    #[test]
    fn a_full_socket_takes_nothing_until_it_is_writable_again() {
        let mut driver = line_driver();
        driver.stream_mut().write("0123456").unwrap();
        let mut script = Script {
            full_after: Some(4),
            ..Script::new(3)
        };
        driver.drive(&mut script);
        assert_eq!(script.sent, b"0123");
        assert!(!driver.is_writable());
        driver.drive(&mut script); // no write: it would fail
        assert_eq!(script.sent, b"0123", "still full");
        script.full_after = None;
        driver.set_writable(true);
        driver.drive(&mut script);
        assert_eq!(script.sent, b"0123456");
    }

    #[test]
    fn a_write_that_takes_nothing_would_block() {
        let mut driver = line_driver();
        driver.stream_mut().write("stuck").unwrap();
        let mut script = Script::new(0);
        driver.drive(&mut script);
        assert!(!driver.is_writable());
        assert_eq!(script.steps.join(", "), "took 0, Connected, round, round");
        assert!(driver.stream().wants_write());
    }

    #[test]
    fn the_application_answers_each_frame_and_its_reply_goes_out_the_next_round() {
        let mut driver = line_driver();
        driver.handle_data("a\nb\n");
        let mut script = Script {
            reply: "!",
            ..Script::new(usize::MAX)
        };
        driver.drive(&mut script);
        assert_eq!(script.sent, b"!!");
        assert_eq!(
            script.steps.join(", "),
            "Connected, read a, read b, round, took 2, Drained, round, round"
        );
    }

    #[test]
    fn inputs_come_at_the_drivers_time_which_only_moves_forward() {
        let now = Instant::now();
        let config = StreamConfig {
            read_idle_timeout: Some(Duration::from_secs(5)),
            ..StreamConfig::default()
        };
        let mut driver = StreamDriver::new(Stream::accepted(config, now), now);
        driver.drive(&mut ());
        driver.advance(Duration::from_secs(4));
        assert_eq!(driver.now(), now + Duration::from_secs(4));
        let mut script = Script::new(usize::MAX);
        driver.drive(&mut script);
        assert_eq!(script.steps, ["round"], "not idle yet");
        driver.handle_timeout(now + Duration::from_secs(5));
        driver.drive(&mut script);
        assert!(script.steps.contains(&"Idle(Read)".to_string()));
    }

    #[test]
    #[should_panic(expected = "time goes back")]
    fn time_going_back_is_refused() {
        let mut driver = line_driver();
        let now = driver.now();
        driver.advance(Duration::from_secs(1));
        driver.handle_timeout(now);
    }

    #[test]
    #[should_panic(expected = "the socket took 3 bytes of the 2 offered")]
    fn a_socket_taking_more_than_offered_is_refused() {
        struct Greedy;
        impl StreamHooks for Greedy {
            fn on_transmit(&mut self, _: &Stream, _: Instant, _: Offer<'_>) -> Written {
                Written::Took(3)
            }
        }
        let mut driver = line_driver();
        driver.stream_mut().write("hi").unwrap();
        driver.drive(&mut Greedy);
    }

    #[test]
    #[should_panic(expected = "did not settle")]
    fn an_application_that_always_writes_more_never_settles() {
        struct Chatty;
        impl StreamHooks for Chatty {
            fn on_event(&mut self, stream: &mut Stream, _: Instant, _: Event) {
                stream.write("more").unwrap();
            }
        }
        let mut driver = line_driver();
        driver.drive(&mut Chatty);
    }

    #[test]
    fn offers_are_cut_into_as_many_slices_as_asked() {
        struct Slices(Vec<usize>);
        impl StreamHooks for Slices {
            fn on_transmit(&mut self, _: &Stream, _: Instant, offer: Offer<'_>) -> Written {
                let Offer::Bytes(slices) = offer else {
                    panic!("bytes")
                };
                self.0.push(slices.len());
                Written::Took(offer.len())
            }
        }
        let now = Instant::now();
        let stream = Stream::accepted(StreamConfig::default(), now);
        let mut driver = StreamDriver::new(stream, now).with_slices(1);
        for byte in [b'a', b'b', b'c'] {
            driver.stream_mut().write(vec![byte; 300]).unwrap();
        }
        let mut slices = Slices(Vec::new());
        driver.drive(&mut slices);
        assert_eq!(slices.0, [1, 1, 1], "one slice a write: three writes");
    }
}
