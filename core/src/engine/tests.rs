//! Tests of the engine's own bookkeeping, which only the crate can see.

use std::time::Duration;

use crate::testing::Network;
use crate::{Context, EngineConfig, Frame, Handler, StreamConfig};

/// Answers each line, and starts a timer for each that it cancels at once (a request
/// timeout that the reply beat).
struct Requests;

impl Handler for Requests {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\n").unwrap();
    }

    fn on_read(&mut self, cx: &mut Context<'_>, _: Frame<'_>) {
        let timeout = cx.timer_after(Duration::from_secs(30));
        cx.cancel(timeout);
        cx.write("ok\n");
    }
}

#[test]
fn the_timer_heap_stays_proportional_to_the_live_timers_of_a_busy_stream() {
    let stream = StreamConfig {
        idle_timeout: Some(Duration::from_secs(60)),
        ..StreamConfig::default()
    };
    let config = EngineConfig {
        stream: stream.into(),
        ..EngineConfig::default()
    };
    let mut net = Network::with_config(config, 0);
    net.listen("127.0.0.1:7", || Requests).unwrap();
    let peer = net.peer_connect("127.0.0.1:7").unwrap();
    let mut heap = 0;
    for _ in 0..1000 {
        net.send(peer, "req\n".repeat(100));
        net.run();
        net.advance(Duration::from_millis(10));
        heap = heap.max(net.engine().timer_heap_len());
    }
    assert_eq!(
        net.received(peer).len(),
        100_000 * 3,
        "every request answered"
    );
    assert!(
        heap <= 70,
        "the heap grew to {heap} entries for 2 channels and no live timer"
    );
}

#[test]
fn the_next_deadline_is_never_a_cancelled_timer_nor_a_closed_channel() {
    let mut net = Network::new();
    let server = net.listen("127.0.0.1:7", || Requests).unwrap();
    let connect = StreamConfig {
        connect_timeout: Some(Duration::from_secs(5)),
        ..StreamConfig::default()
    };
    let client = net
        .context()
        .connect_with(crate::Connect::new("127.0.0.1:7", ()).stream_config(connect))
        .unwrap();
    net.run();
    assert!(
        net.engine().poll_timeout().is_none(),
        "the connect completed: no deadline"
    );
    let timer = net.context().defer(Duration::from_secs(3600), |_, _| {});
    assert!(net.engine().poll_timeout().is_some());
    net.context().cancel(timer);
    assert_eq!(
        net.engine().poll_timeout(),
        None,
        "a cancelled timer wakes nobody"
    );
    let mut cx = net.context();
    cx.channel(client).unwrap().close_now();
    cx.channel(server).unwrap().close_now();
    net.run();
    assert_eq!(
        net.engine().poll_timeout(),
        None,
        "closed channels wake nobody"
    );
}

/// Reads one frame of 1 MiB, held until it is whole; records overflows.
struct Large {
    overflows: std::rc::Rc<std::cell::Cell<usize>>,
}

impl Handler for Large {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        let limits = crate::ReadLimits::new(1024, 4 << 20).unwrap();
        cx.set_read_limits(limits).unwrap();
        cx.set_read_delimiter(1 << 20).unwrap();
    }

    fn on_overflow_error(&mut self, _: &mut Context<'_>, err: &crate::OverflowError) {
        assert_eq!(err.limit(), 3 << 20, "the engine's budget is the limit");
        self.overflows.set(self.overflows.get() + 1);
    }
}

#[test]
fn unfinished_frames_of_every_channel_together_stay_within_the_engine_budget() {
    let config = EngineConfig {
        read_buffer_budget: 3 << 20,
        ..EngineConfig::default()
    };
    let mut net = Network::with_config(config, 0);
    let overflows = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = overflows.clone();
    let server = net
        .listen("127.0.0.1:7", move || Large {
            overflows: seen.clone(),
        })
        .unwrap();
    let peers: Vec<_> = (0..8)
        .map(|_| net.peer_connect("127.0.0.1:7").unwrap())
        .collect();
    net.run();
    for peer in &peers {
        // 900 KiB each of a 1 MiB frame: 7.2 MiB in all, were nothing given up.
        net.send(*peer, vec![b'x'; 900 << 10]);
        net.run();
        let held: usize = net
            .context()
            .connections(server)
            .into_iter()
            .map(|id| net.context().channel(id).map_or(0, |c| c.buffered()))
            .sum();
        assert!(
            held <= 3 << 20,
            "channels hold {held} bytes, over the budget"
        );
    }
    assert_eq!(
        overflows.get(),
        5,
        "the channels holding the most gave up, one by one"
    );
    let shut_down = peers.iter().filter(|peer| net.saw_eof(**peer)).count();
    assert_eq!(
        shut_down, 5,
        "and closed after flushing (their peers read EOF)"
    );
}

#[test]
fn an_engine_gives_back_its_tables_memory_after_a_burst() {
    let mut net = Network::new();
    net.listen("127.0.0.1:7", || Requests).unwrap();
    let peers: Vec<_> = (0..1000)
        .map(|_| net.peer_connect("127.0.0.1:7").unwrap())
        .collect();
    net.run();
    for peer in peers {
        net.reset(peer);
    }
    net.run();
    assert_eq!(net.engine().channel_count(), 1, "the server is left");
    let slots = |net: &mut Network| net.engine().core.channels.capacity();
    assert!(slots(&mut net) >= 1000);
    net.engine().release_memory();
    assert!(slots(&mut net) <= 4, "{} slots kept", slots(&mut net));
    let again = net.peer_connect("127.0.0.1:7").unwrap();
    net.send(again, "req\n");
    net.run();
    assert_eq!(net.received(again), "ok\n", "the engine serves on");
}
