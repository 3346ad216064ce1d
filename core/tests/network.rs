//! The in-memory test network's own promises: what `run` and `advance` do with per-turn
//! timers, and what a protocol test can do without writing an `Io` of its own (see the
//! actions a channel was given, move the clock without a turn, hold a connect, stop a peer's
//! reading).

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::Duration;

use pants_core::channel::Action;
use pants_core::testing::Network;
use pants_core::{Context, EngineConfig, Frame, Handler, Listen, StreamConfig, TimerId};

/// A shared counter a timer or handler bumps.
type Count = Rc<Cell<usize>>;

fn bump(count: &Count) {
    count.set(count.get() + 1);
}

#[test]
fn run_comes_to_rest_with_an_each_turn_timer() {
    let mut net = Network::new();
    let turns = Count::default();
    let seen = turns.clone();
    net.context().each_turn(move |_, _| bump(&seen));
    net.run();
    assert_eq!(
        turns.get(),
        1,
        "a run with nothing else to do takes one turn"
    );
    net.run();
    assert_eq!(turns.get(), 2, "and each run takes one more");
}

#[test]
fn run_comes_to_rest_with_a_callback_that_schedules_itself_again() {
    fn again(
        count: Count,
    ) -> impl FnMut(&mut pants_core::EngineContext<'_>, pants_core::TimerId) + 'static {
        move |cx, _| {
            bump(&count);
            cx.callback(again(count.clone()));
        }
    }
    let mut net = Network::new();
    let runs = Count::default();
    net.context().callback(again(runs.clone()));
    net.run();
    assert_eq!(runs.get(), 1);
}

/// Counts its reads, and keeps a per-turn timer that counts turns.
struct WithTask {
    turns: Count,
    task: Option<TimerId>,
}

impl Handler for WithTask {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        let turns = self.turns.clone();
        self.task = Some(cx.each_turn(move |_, _| bump(&turns)));
    }

    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        let _ = cx.write(frame);
    }

    fn on_close(&mut self, cx: &mut Context<'_>) {
        if let Some(task) = self.task {
            cx.cancel(task);
        }
    }
}

#[test]
fn a_protocol_with_a_per_turn_task_answers_and_its_task_runs_after_the_reads() {
    let mut net = Network::new();
    let turns = Count::default();
    let shared = turns.clone();
    net.listen("127.0.0.1:1", move || WithTask {
        turns: shared.clone(),
        task: None,
    })
    .unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    net.send(peer, "ping");
    let before = turns.get();
    net.run();
    assert_eq!(net.received(peer), "ping");
    assert!(turns.get() > before, "the task ran after the read");
}

/// Answers each read from a `callback`, at the next turn.
struct Deferred;

impl Handler for Deferred {
    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        let (id, reply) = (cx.id(), frame.into_bytes());
        cx.callback(move |cx, _| {
            if let Some(mut channel) = cx.channel(id) {
                let _ = channel.write(reply.clone());
            }
        });
    }
}

#[test]
fn a_callback_set_by_a_callback_runs_before_run_returns() {
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Deferred).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.send(peer, "later");
    net.run();
    assert_eq!(net.received(peer), "later");
}

#[test]
fn advance_reaches_its_end_with_a_per_turn_timer_running_each_due_turn_once() {
    let mut net = Network::new();
    let turns = Count::default();
    let ticks = Rc::new(RefCell::new(Vec::new()));
    let (seen, log) = (turns.clone(), ticks.clone());
    let start = net.now();
    net.context().each_turn(move |_, _| bump(&seen));
    net.context().cycle(Duration::from_secs(1), move |cx, _| {
        log.borrow_mut().push(cx.now())
    });
    net.advance(Duration::from_millis(3500));
    assert_eq!(net.now(), start + Duration::from_millis(3500));
    let expected: Vec<_> = (1..=3).map(|s| start + Duration::from_secs(s)).collect();
    assert_eq!(
        *ticks.borrow(),
        expected,
        "the cycle ran once at each second"
    );
    // At the start and at the end, nothing is due but the per-turn timer: one turn each. At
    // each second, the cycle's turn, then one more in which the per-turn timer runs with
    // nothing else to do (as a driver's loop goes round once more): two turns each.
    assert_eq!(
        turns.get(),
        1 + 3 * 2 + 1,
        "the turns of each instant something was due"
    );
}

#[test]
fn run_still_fails_loudly_when_channels_keep_each_other_busy_forever() {
    /// Writes back whatever it reads: two of them connected to each other ping-pong forever.
    struct PingPong;
    impl Handler for PingPong {
        fn on_connect(&mut self, cx: &mut Context<'_>) {
            let _ = cx.write("x");
        }
        fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
            let _ = cx.write(frame);
        }
    }
    let result = std::panic::catch_unwind(|| {
        let mut net = Network::new();
        net.listen("127.0.0.1:1", || PingPong).unwrap();
        net.connect("127.0.0.1:1", PingPong).unwrap();
        net.run();
    });
    let message = result.expect_err("a livelock is reported");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("did not come to rest"), "{message}");
}

// ---- What a protocol test needs without an `Io` of its own --------------------------------

/// Writes a greeting on connect, then closes (gracefully, or at once).
struct Greeter {
    at_once: bool,
}

impl Handler for Greeter {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        let _ = cx.write("hello");
        if self.at_once {
            cx.close_now();
        } else {
            cx.close();
        }
    }
}

/// The id of the first connection the trace shows.
fn first_connection(net: &mut Network) -> pants_core::ChannelId {
    net.take_trace()
        .iter()
        .find(|entry| entry.callback == "on_connect")
        .expect("a connection")
        .channel
}

#[test]
fn the_actions_a_channel_was_given_are_seen_in_order() {
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Greeter { at_once: false })
        .unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    let conn = first_connection(&mut net);
    assert_eq!(
        net.actions(conn),
        [Action::Shutdown],
        "flushed, then shut down"
    );
    net.close(peer);
    net.run();
    assert_eq!(net.actions(conn), [Action::Shutdown, Action::Close]);

    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Greeter { at_once: true })
        .unwrap();
    net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    let conn = first_connection(&mut net);
    assert_eq!(
        net.actions(conn),
        [Action::Close],
        "closed at once, no shutdown"
    );
}

/// Counts its idle timeouts, and the time of each.
struct Idler {
    idles: Rc<RefCell<Vec<std::time::Instant>>>,
}

impl Handler for Idler {
    fn on_idle(&mut self, cx: &mut Context<'_>, _kind: pants_core::Idle) {
        self.idles.borrow_mut().push(cx.now());
    }
}

#[test]
fn a_late_driver_fires_overdue_timeouts_once_at_its_turn() {
    let config = StreamConfig {
        read_idle_timeout: Some(Duration::from_secs(1)),
        ..StreamConfig::default()
    };
    let mut net = Network::new();
    let idles = Rc::new(RefCell::new(Vec::new()));
    let seen = idles.clone();
    net.context()
        .listen_with(
            Listen::new("127.0.0.1:1", move || Idler {
                idles: seen.clone(),
            })
            .stream_config(config),
        )
        .unwrap();
    net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    let start = net.now();
    net.advance_clock(Duration::from_millis(3500));
    assert!(idles.borrow().is_empty(), "no turn, no callback");
    net.turn();
    assert_eq!(
        *idles.borrow(),
        [start + Duration::from_millis(3500)],
        "one late timeout, at the turn's time"
    );
}

#[test]
fn bytes_delayed_past_a_late_wake_up_are_read_together() {
    let mut net = Network::new();
    net.set_latency(Duration::from_millis(10));
    net.listen("127.0.0.1:1", || Echo).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.advance(Duration::from_millis(10));
    let conn = first_connection(&mut net);
    net.send(peer, "a");
    net.advance_clock(Duration::from_millis(5));
    net.send(peer, "b");
    net.advance_clock(Duration::from_millis(100));
    net.turn();
    assert_eq!(
        net.callbacks(conn),
        ["on_read", "on_write"],
        "both were due before the late turn: one read"
    );
    net.advance(Duration::from_millis(10));
    assert_eq!(net.received(peer), "ab");
}

/// Writes back what it reads.
struct Echo;

impl Handler for Echo {
    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        let _ = cx.write(frame);
    }
}

#[test]
fn a_held_connect_waits_for_the_test_to_complete_it() {
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Echo).unwrap();
    net.hold_connects(true);
    let client = net.connect("127.0.0.1:1", ()).unwrap();
    net.advance(Duration::from_secs(60));
    assert!(
        net.callbacks(client).is_empty(),
        "still connecting a minute later"
    );
    net.complete_connect(client).unwrap();
    net.run();
    assert_eq!(net.callbacks(client), ["on_connect"]);
    let err = net.complete_connect(client).unwrap_err();
    assert_eq!(
        err.kind(),
        io::ErrorKind::NotConnected,
        "it is no longer held"
    );
}

#[test]
fn a_held_connect_fails_as_the_test_says_or_is_refused_with_no_listener() {
    let mut net = Network::new();
    net.hold_connects(true);
    let failed = net.connect("127.0.0.1:1", ()).unwrap();
    let refused = net.connect("127.0.0.1:2", ()).unwrap();
    net.run();
    net.fail_connect(failed, io::ErrorKind::TimedOut.into())
        .unwrap();
    net.complete_connect(refused).unwrap();
    net.run();
    for client in [failed, refused] {
        assert_eq!(net.callbacks(client), ["on_connect_error", "on_close"]);
    }
}

#[test]
fn a_connect_timeout_fires_while_the_connect_is_held() {
    let mut net = Network::with_config(
        EngineConfig {
            trace: true,
            stream: std::sync::Arc::new(StreamConfig {
                connect_timeout: Some(Duration::from_secs(2)),
                ..StreamConfig::default()
            }),
            ..EngineConfig::default()
        },
        0,
    );
    net.listen("127.0.0.1:1", || Echo).unwrap();
    net.hold_connects(true);
    let client = net.connect("127.0.0.1:1", ()).unwrap();
    net.advance(Duration::from_secs(1));
    assert!(net.callbacks(client).is_empty());
    net.advance(Duration::from_secs(1));
    assert_eq!(net.callbacks(client), ["on_connect_error", "on_close"]);
    assert_eq!(net.actions(client), [Action::Close]);
}

/// Writes `n` bytes on connect.
struct Sender {
    n: usize,
    close: bool,
}

impl Handler for Sender {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        let _ = cx.write(vec![b'x'; self.n]);
        if self.close {
            cx.close();
        }
    }
}

#[test]
fn a_peer_that_stops_reading_stalls_the_writer_until_it_resumes() {
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Sender {
        n: 100_000,
        close: false,
    })
    .unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.stop_reading(peer);
    net.advance(Duration::from_secs(10));
    let conn = first_connection(&mut net);
    assert_eq!(net.received(peer).len(), 0, "window 0: nothing sent");
    let queued = net.context().channel(conn).map(|c| c.queued());
    assert_eq!(queued, Some(100_000), "everything still queued");
    net.resume_reading(peer);
    net.run();
    assert_eq!(net.received(peer).len(), 100_000);
    assert_eq!(net.context().channel(conn).map(|c| c.queued()), Some(0));
}

#[test]
fn a_peer_that_stops_reading_midway_keeps_what_it_had_unread() {
    let mut net = Network::new();
    net.set_window(1000);
    net.listen("127.0.0.1:1", || Sender {
        n: 5000,
        close: false,
    })
    .unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.turn();
    net.turn();
    net.stop_reading(peer);
    net.run();
    let before = net.received(peer).len();
    assert!(before < 5000, "stopped before the end ({before} bytes)");
    net.resume_reading(peer);
    net.run();
    assert_eq!(before + net.received(peer).len(), 5000);
}

#[test]
fn a_close_whose_flush_stalls_on_a_peer_that_stopped_reading_ends_after_the_linger() {
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Sender { n: 10, close: true })
        .unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.stop_reading(peer);
    net.run();
    let conn = first_connection(&mut net);
    net.advance(StreamConfig::DEFAULT_LINGER - Duration::from_millis(1));
    assert!(
        net.actions(conn).is_empty(),
        "still flushing within the linger"
    );
    net.advance(Duration::from_millis(1));
    assert_eq!(
        net.actions(conn),
        [Action::Close],
        "never flushed, never shut down"
    );
    assert_eq!(net.callbacks(conn).last(), Some(&"on_close"));
    net.resume_reading(peer);
    assert_eq!(net.received(peer), "", "the queued bytes never left");
}

/// Notes what a connecting client saw.
struct Dialer(Rc<RefCell<Vec<String>>>);

impl Handler for Dialer {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        let peer = cx.peer().map(|addr| addr.to_string()).unwrap_or_default();
        self.0.borrow_mut().push(format!("connected to {peer}"));
    }
    fn on_connect_error(&mut self, _: &mut Context<'_>, err: &pants_core::ConnectError) {
        let kind = match err {
            pants_core::ConnectError::Resolve(_) => "resolve",
            _ => "other",
        };
        self.0.borrow_mut().push(format!("connect error: {kind}"));
    }
}

/// A host name is resolved as a driver's resolver does, off the turn: `localhost` is
/// 127.0.0.1, any other name fails to resolve, and the engine reports that as a lookup error.
#[test]
fn a_host_name_is_resolved_as_by_a_driver_and_a_failed_lookup_is_a_resolve_error() {
    let mut net = Network::new();
    net.listen("127.0.0.1:7000", || Echo).unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    net.connect("localhost:7000", Dialer(seen.clone())).unwrap();
    net.connect("nowhere.invalid:7000", Dialer(seen.clone()))
        .unwrap();
    net.run();
    assert_eq!(
        seen.borrow().as_slice(),
        ["connected to 127.0.0.1:7000", "connect error: resolve"]
    );
}
