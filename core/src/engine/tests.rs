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
