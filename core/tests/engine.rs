//! The engine's guarantees (DESIGN.md sections 2, 3 and 5), each pinned on the in-memory
//! network.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use pants_core::testing::{DatagramFaults, Network};
use pants_core::{Addr, ChannelId, Context, DatagramConfig, EngineConfig, Frame, Handler, TimerId};

/// A handler that echoes what it reads.
struct Echo;

impl Handler for Echo {
    fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
        cx.write(data).unwrap();
    }
}

/// A handler that does nothing.
struct Quiet;
impl Handler for Quiet {}

/// Shared notes a handler leaves for the test.
type Notes = Rc<RefCell<Vec<String>>>;

fn notes() -> Notes {
    Rc::default()
}

fn note(notes: &Notes, text: impl Into<String>) {
    notes.borrow_mut().push(text.into());
}

#[test]
fn on_connect_comes_before_on_read_even_when_data_arrives_with_the_connection() {
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Echo).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.send(peer, "early");
    net.run();
    let trace = net.take_trace();
    let conn = trace
        .iter()
        .find(|e| e.callback == "on_connect")
        .unwrap()
        .channel;
    let calls: Vec<_> = trace
        .iter()
        .filter(|e| e.channel == conn)
        .map(|e| e.callback)
        .collect();
    assert_eq!(calls, ["on_connect", "on_read", "on_write"]);
    assert_eq!(net.received(peer), "early");
}

#[test]
fn on_close_comes_once_and_last_for_local_and_remote_closes() {
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Echo).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    net.send(peer, "x");
    net.shutdown(peer);
    net.run();
    let conn = net
        .take_trace()
        .iter()
        .find(|e| e.callback == "on_connect")
        .unwrap()
        .channel;
    net.run();
    assert!(net.saw_eof(peer), "the server closed after flushing");
    assert_eq!(
        net.received(peer),
        "x",
        "the reply queued before EOF was sent"
    );
    let client = net.connect("127.0.0.1:1", Quiet).unwrap();
    net.run();
    net.context().channel(client).unwrap().close();
    net.advance(Duration::from_secs(10));
    assert_eq!(net.callbacks(client), ["on_connect", "on_close"]);
    assert!(
        net.context().channel(conn).is_none(),
        "a closed channel's id finds nothing"
    );
}

#[test]
fn a_failed_connect_gives_on_connect_error_then_on_close() {
    let mut net = Network::new();
    let client = net.connect("127.0.0.1:9", Quiet).unwrap();
    net.run();
    assert_eq!(net.callbacks(client), ["on_connect_error", "on_close"]);
    assert_eq!(net.engine().channel_count(), 0);
}

#[test]
fn a_connect_to_a_host_that_does_not_resolve_fails_the_same_way() {
    let mut net = Network::new();
    let client = net.connect("nowhere.invalid:80", Quiet).unwrap();
    net.run();
    assert_eq!(net.callbacks(client), ["on_connect_error", "on_close"]);
}

/// Closes, and writes to, the channel named in `target` when it reads.
struct Closer {
    target: Rc<RefCell<Option<ChannelId>>>,
}

impl Handler for Closer {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        let mut target = self.target.borrow_mut();
        if target.is_none() {
            *target = Some(cx.id());
        }
    }

    fn on_read(&mut self, cx: &mut Context<'_>, _: Frame<'_>) {
        let target = self.target.borrow().unwrap();
        if target != cx.id() {
            let mut other = cx.channel(target).expect("still open");
            other.write("bye").unwrap();
            other.close();
        }
    }
}

#[test]
fn closing_another_channel_with_events_pending_in_the_same_turn_is_safe() {
    let mut net = Network::new();
    let target = Rc::new(RefCell::new(None));
    let shared = target.clone();
    net.listen("127.0.0.1:1", move || Closer {
        target: shared.clone(),
    })
    .unwrap();
    let first = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    let second = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    // Both send in the same turn: the second's on_read closes the first, whose frame is pending.
    net.send(second, "close the first");
    net.send(first, "pending frame");
    net.run();
    let victim = target.borrow().unwrap();
    assert_eq!(net.received(first), "bye");
    assert!(net.saw_eof(first), "flushed, then shut down");
    net.close(first);
    net.run();
    assert_eq!(
        net.callbacks(victim),
        ["on_connect", "on_close"],
        "no on_read after close()"
    );
}

/// Panics on the line "boom", echoes others.
struct Fragile;

impl Handler for Fragile {
    fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
        assert!(&data[..] != b"boom", "handler bug");
        cx.write(data).unwrap();
    }
}

#[test]
fn a_panic_closes_only_its_channel_after_on_error() {
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Fragile).unwrap();
    let doomed = net.peer_connect("127.0.0.1:1").unwrap();
    let healthy = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    let trace = net.take_trace();
    let doomed_id = trace
        .iter()
        .find(|e| e.callback == "on_connect")
        .unwrap()
        .channel;
    net.send(doomed, "boom");
    net.send(healthy, "fine");
    net.run();
    assert_eq!(
        net.callbacks(doomed_id),
        ["on_read", "on_error", "on_close"]
    );
    assert_eq!(net.received(healthy), "fine");
    net.send(healthy, " still");
    net.run();
    assert_eq!(net.received(healthy), " still");
}

#[test]
#[should_panic(expected = "handler bug")]
fn panics_propagate_when_configured() {
    let config = EngineConfig {
        propagate_panics: true,
        ..EngineConfig::default()
    };
    let mut net = Network::with_config(config, 0);
    net.listen("127.0.0.1:1", || Fragile).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.send(peer, "boom");
    net.run();
}

#[test]
fn engine_timers_run_when_due_and_cancel_is_idempotent_even_from_inside() {
    let mut net = Network::new();
    let log = notes();
    let mut cx = net.context();
    let (a, b, c, d) = (log.clone(), log.clone(), log.clone(), log.clone());
    cx.callback(move |_, _| note(&a, "callback"));
    cx.defer(Duration::from_secs(5), move |cx, _| {
        note(&b, format!("defer at {:?}", cx.now()))
    });
    let count = Rc::new(RefCell::new(0));
    let cycles = count.clone();
    let own: Rc<RefCell<Option<TimerId>>> = Rc::default();
    let own_id = own.clone();
    let cycle = cx.cycle(Duration::from_secs(2), move |cx, _| {
        *cycles.borrow_mut() += 1;
        note(&c, "cycle");
        if *cycles.borrow() == 3 {
            let id = own_id.borrow().unwrap();
            cx.cancel(id);
            cx.cancel(id);
        }
    });
    *own.borrow_mut() = Some(cycle);
    let turns = Rc::new(RefCell::new(0));
    let (loops, loop_id) = (turns.clone(), Rc::new(RefCell::new(None)));
    let own_loop = loop_id.clone();
    let each = cx.each_turn(move |cx, _| {
        *loops.borrow_mut() += 1;
        note(&d, "turn");
        if *loops.borrow() == 4 {
            cx.cancel(own_loop.borrow().unwrap());
        }
    });
    *loop_id.borrow_mut() = Some(each);
    let start = net.now();
    net.turn();
    assert_eq!(
        *log.borrow(),
        ["callback", "turn"],
        "callback and loop run at the next turn"
    );
    for _ in 0..5 {
        net.turn();
    }
    assert_eq!(
        *turns.borrow(),
        4,
        "a loop runs every turn until it cancels itself"
    );
    net.advance(Duration::from_secs(20));
    let log = log.borrow();
    assert_eq!(log.iter().filter(|n| *n == "callback").count(), 1);
    assert_eq!(*count.borrow(), 3, "cancelled from inside its third run");
    assert!(log.contains(&format!("defer at {:?}", start + Duration::from_secs(5))));
}

/// Counts its own timer ticks; stops after three.
struct Ticker {
    ticks: Notes,
    timer: Option<TimerId>,
}

impl Handler for Ticker {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        self.timer = Some(cx.timer_every(Duration::from_millis(100)));
    }

    fn on_timer(&mut self, cx: &mut Context<'_>, timer: TimerId) {
        assert_eq!(Some(timer), self.timer);
        note(&self.ticks, format!("{:?}", cx.now()));
        if self.ticks.borrow().len() == 3 {
            cx.cancel(timer);
        }
    }
}

#[test]
fn channel_timers_call_on_timer_at_each_interval_until_cancelled() {
    let mut net = Network::new();
    let ticks = notes();
    let shared = ticks.clone();
    net.listen("127.0.0.1:1", move || Ticker {
        ticks: shared.clone(),
        timer: None,
    })
    .unwrap();
    net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    let start = net.now();
    net.advance(Duration::from_secs(1));
    let expected: Vec<String> = (1..=3)
        .map(|i| format!("{:?}", start + Duration::from_millis(100 * i)))
        .collect();
    assert_eq!(*ticks.borrow(), expected);
}

#[test]
fn a_server_knows_its_live_connections_and_forgets_closed_ones_at_once() {
    let mut net = Network::new();
    let server = net.listen("127.0.0.1:1", || Quiet).unwrap();
    let peers: Vec<_> = (0..3)
        .map(|_| net.peer_connect("127.0.0.1:1").unwrap())
        .collect();
    net.run();
    let conns = net.context().connections(server);
    assert_eq!(conns.len(), 3);
    net.context().channel(conns[1]).unwrap().close_now();
    assert_eq!(
        net.context().connections(server),
        [conns[0], conns[2]],
        "forgotten before on_close"
    );
    net.close(peers[0]);
    net.run();
    assert_eq!(net.context().connections(server), [conns[2]]);
    assert_eq!(net.context().broadcast(server, "all"), 1);
    net.run();
    assert_eq!(net.received(peers[2]), "all");
}

#[test]
fn closing_a_server_closes_its_connections_as_pants_does() {
    let mut net = Network::new();
    let server = net.listen("127.0.0.1:1", || Echo).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.send(peer, "queued");
    net.run();
    let conn = net.context().connections(server)[0];
    net.context().channel(server).unwrap().close();
    net.run();
    assert_eq!(
        net.callbacks(server),
        ["on_listen", "on_accept", "on_close"]
    );
    assert!(
        net.peer_connect("127.0.0.1:1").is_err(),
        "nothing listens any more"
    );
    assert_eq!(net.received(peer), "queued", "the connection flushed first");
    net.shutdown(peer);
    net.run();
    assert_eq!(net.callbacks(conn).last(), Some(&"on_close"));
}

#[test]
fn close_now_on_a_server_closes_its_connections_at_once() {
    let mut net = Network::new();
    let server = net.listen("127.0.0.1:1", || Echo).unwrap();
    net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    let conn = net.context().connections(server)[0];
    net.context().channel(server).unwrap().close_now();
    net.run();
    assert_eq!(net.callbacks(conn).last(), Some(&"on_close"));
    assert!(net.context().channel(conn).is_none());
}

#[test]
fn pausing_a_server_stops_accepting_and_keeps_its_connections() {
    let mut net = Network::new();
    let server = net.listen("127.0.0.1:1", || Echo).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    net.context().channel(server).unwrap().pause_reading();
    let waiting = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    assert_eq!(net.context().connections(server).len(), 1, "not accepted");
    net.send(peer, "still served");
    net.run();
    assert_eq!(net.received(peer), "still served");
    net.context().channel(server).unwrap().resume_reading();
    net.run();
    assert_eq!(net.context().connections(server).len(), 2);
    net.send(waiting, "served too");
    net.run();
    assert_eq!(net.received(waiting), "served too");
}

#[test]
fn descriptor_exhaustion_pauses_accepting_without_spinning_then_recovers() {
    let mut net = Network::new();
    let server = net.listen("127.0.0.1:1", || Echo).unwrap();
    net.run();
    net.set_fd_limit(Some(1)); // only the listener fits
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    let before = net.io_stats().accepts;
    net.advance(Duration::from_secs(10));
    let tries = net.io_stats().accepts - before;
    // Backoff doubles from 10 ms to 1 s: about 16 tries in 10 s, never a spin.
    assert!((5..=30).contains(&tries), "{tries} accept calls in 10 s");
    assert_eq!(
        net.callbacks(server),
        ["on_listen", "on_error"],
        "reported once"
    );
    net.set_fd_limit(None);
    net.advance(Duration::from_secs(1));
    net.send(peer, "served");
    net.run();
    assert_eq!(net.received(peer), "served");
}

#[test]
fn per_connection_accept_errors_are_skipped() {
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Echo).unwrap();
    net.fail_accepts([io::Error::from(io::ErrorKind::ConnectionAborted)]);
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.send(peer, "ok");
    net.run();
    assert_eq!(net.received(peer), "ok");
}

/// Replies to each datagram or frame with it, upper-cased.
struct Shout;

impl Handler for Shout {
    fn on_listen(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\n").unwrap();
    }

    fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
        cx.write(data.to_ascii_uppercase()).unwrap();
    }
}

/// Answers each frame with `re: ` and the frame, formatted in a buffer and written as a copy.
struct CopyBack;

impl Handler for CopyBack {
    fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
        let reply = [&b"re: "[..], &data].concat();
        cx.write_slice(&reply).unwrap();
    }
}

#[test]
fn write_slice_queues_a_copy_to_a_stream_peer_and_to_a_datagram_sender() {
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || CopyBack).unwrap();
    let server = net.datagram("127.0.0.1:5", CopyBack).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    let (sender, _) = net.peer_bind("127.0.0.1:0").unwrap();
    net.run();
    net.send(peer, "hi");
    net.send_to(sender, "ho", &"127.0.0.1:5".parse().unwrap());
    net.run();
    assert_eq!(net.received(peer), "re: hi");
    let server_addr = net.context().channel(server).unwrap().local().unwrap();
    assert_eq!(
        net.received_datagrams(sender),
        [(Bytes::from("re: ho"), server_addr)]
    );
}

#[test]
fn datagram_frames_are_buffered_per_sender() {
    let mut net = Network::new();
    let server = net.datagram("127.0.0.1:5", Shout).unwrap();
    let (alice, alice_addr) = net.peer_bind("127.0.0.1:0").unwrap();
    let (bob, bob_addr) = net.peer_bind("127.0.0.1:0").unwrap();
    let to: Addr = "127.0.0.1:5".parse().unwrap();
    net.run();
    net.send_to(alice, "hel", &to);
    net.send_to(bob, "wor", &to);
    net.send_to(alice, "lo\n", &to);
    net.send_to(bob, "ld\n", &to);
    net.run();
    let server_addr = net.context().channel(server).unwrap().local().unwrap();
    assert_eq!(
        net.received_datagrams(alice),
        [(Bytes::from("HELLO"), server_addr.clone())]
    );
    assert_eq!(
        net.received_datagrams(bob),
        [(Bytes::from("WORLD"), server_addr)]
    );
    assert_ne!(alice_addr, bob_addr);
}

#[test]
fn datagram_senders_beyond_the_bound_evict_the_oldest() {
    let mut net = Network::new();
    let config = DatagramConfig {
        max_senders: 2,
        ..DatagramConfig::default()
    };
    let server = net
        .context()
        .datagram_with(pants_core::Bind::new("127.0.0.1:5", Shout).config(config))
        .unwrap();
    let to: Addr = "127.0.0.1:5".parse().unwrap();
    let peers: Vec<_> = (0..3)
        .map(|_| net.peer_bind("127.0.0.1:0").unwrap().0)
        .collect();
    net.run();
    for peer in &peers {
        net.send_to(*peer, "partial", &to);
        net.run();
    }
    assert_eq!(
        net.callbacks(server),
        ["on_listen", "on_error"],
        "the first sender was evicted"
    );
}

#[test]
fn datagram_faults_follow_the_seed() {
    let run = |seed| {
        let mut net = Network::with_seed(seed);
        net.set_datagram_faults(DatagramFaults {
            loss: 0.2,
            duplicate: 0.2,
            reorder: 0.2,
        });
        let (a, _) = net.peer_bind("127.0.0.1:1").unwrap();
        let (b, b_addr) = net.peer_bind("127.0.0.1:2").unwrap();
        for i in 0..100u8 {
            net.send_to(a, [i], &b_addr);
        }
        net.run();
        net.received_datagrams(b)
            .into_iter()
            .map(|(d, _)| d[0])
            .collect::<Vec<_>>()
    };
    let first = run(7);
    assert_eq!(first, run(7), "same seed, same faults");
    assert_ne!(first, run(8));
    assert_ne!(first.len(), 100, "some were lost or duplicated");
}

#[test]
fn latency_delays_bytes_until_the_clock_reaches_them() {
    let mut net = Network::new();
    net.set_latency(Duration::from_millis(50));
    net.listen("127.0.0.1:1", || Echo).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.send(peer, "ping");
    net.run();
    assert_eq!(net.received(peer), "", "not there yet");
    net.advance(Duration::from_millis(99));
    assert_eq!(
        net.received(peer),
        "",
        "one way took 50 ms, the way back 49 so far"
    );
    net.advance(Duration::from_millis(1));
    assert_eq!(net.received(peer), "ping");
}

#[test]
fn short_reads_and_writes_deliver_every_byte_in_order() {
    let mut net = Network::new();
    net.set_read_chunk(3);
    net.set_write_chunk(5);
    net.set_window(7);
    net.listen("127.0.0.1:1", || Echo).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    net.send(peer, &data);
    let mut echoed = Vec::new();
    for _ in 0..10_000 {
        net.run();
        echoed.extend_from_slice(&net.received(peer));
        if echoed.len() == data.len() {
            break;
        }
    }
    assert_eq!(echoed, data);
}

#[test]
fn a_reset_peer_gives_on_error_then_on_close() {
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Quiet).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    let conn = net
        .take_trace()
        .iter()
        .find(|e| e.callback == "on_connect")
        .unwrap()
        .channel;
    net.reset(peer);
    net.run();
    assert_eq!(net.callbacks(conn), ["on_error", "on_close"]);
}

#[test]
fn stop_closes_everything_gracefully_and_finishes() {
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Echo).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.send(peer, "last words");
    net.run();
    net.engine().stop();
    net.run();
    assert!(net.saw_eof(peer));
    net.close(peer);
    net.run();
    assert!(net.engine().is_finished());
    assert_eq!(net.received(peer), "last words");
}

/// Answers `bye` to anything, then closes after flushing.
struct SayByeAndClose;

impl Handler for SayByeAndClose {
    fn on_read(&mut self, cx: &mut Context<'_>, _: Frame<'_>) {
        cx.write("bye").unwrap();
        cx.close();
    }
}

#[test]
fn a_close_from_on_read_ends_after_the_linger_when_the_peer_never_closes() {
    // The close happens inside the stream's own I/O (its frames are dispatched right after
    // the read): the linger deadline it starts must still be scheduled.
    let mut net = Network::new();
    let server = net.listen("127.0.0.1:1", || SayByeAndClose).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    net.send(peer, "hello");
    net.run();
    assert_eq!(net.received(peer), "bye");
    assert!(
        net.saw_eof(peer),
        "the write side is shut down once flushed"
    );
    assert_eq!(
        net.engine().channel_count(),
        2,
        "lingering for the peer's EOF"
    );
    net.advance(pants_core::StreamConfig::DEFAULT_LINGER + Duration::from_millis(1));
    assert_eq!(
        net.engine().channel_count(),
        1,
        "closed by the linger, only the server is left"
    );
    let calls = net.take_trace();
    assert!(
        calls
            .iter()
            .any(|e| e.callback == "on_close" && e.channel != server)
    );
}
