//! Regressions: core bugs that the engine properties (`testing/fuzz-checks/tests/engine_props.rs`,
//! which run the `engine` fuzz target's scenario) found, each fixed and pinned here as the
//! guarantee it now keeps (DESIGN.md sections 2 and 5), on the in-memory network.

use std::cell::RefCell;
use std::panic;
use std::rc::Rc;
use std::sync::{Arc, Once};
use std::time::Duration;

use pants_core::testing::Network;
use pants_core::{
    ChannelId, ConnectError, Context, EngineConfig, Error, Frame, Handler, Listen, StreamConfig,
};

/// The text of every deliberate panic: the quiet panic hook knows it by this.
const DELIBERATE: &str = "deliberate panic";

/// Makes the panic hook silent about deliberate panics, once per process, and leaves every other
/// panic to the hook it found.
fn quiet_deliberate_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or_default();
            if !text.contains(DELIBERATE) {
                previous(info);
            }
        }));
    });
}

/// Records its callbacks by name; panics (deliberately) the first time it runs the one named
/// `panic_in`.
struct Noter {
    notes: Rc<RefCell<Vec<String>>>,
    panic_in: &'static str,
    delimiter: Option<&'static str>,
    close_on_connect: bool,
}

impl Noter {
    fn new(panic_in: &'static str) -> Self {
        Self {
            notes: Rc::default(),
            panic_in,
            delimiter: None,
            close_on_connect: false,
        }
    }

    fn note(&mut self, cb: &'static str, detail: String) {
        self.notes.borrow_mut().push(format!("{cb}{detail}"));
        if cb == self.panic_in {
            self.panic_in = "";
            panic!("{DELIBERATE} in {cb}");
        }
    }
}

impl Handler for Noter {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        if let Some(delimiter) = self.delimiter {
            cx.set_read_delimiter(delimiter).unwrap();
        }
        if self.close_on_connect {
            cx.close_now();
        }
        self.note("on_connect", String::new());
    }

    fn on_read(&mut self, _: &mut Context<'_>, _: Frame<'_>) {
        self.note("on_read", String::new());
    }

    fn on_listen(&mut self, _: &mut Context<'_>) {
        self.note("on_listen", String::new());
    }

    fn on_accept(&mut self, cx: &mut Context<'_>, conn: ChannelId) {
        let found = if cx.channel(conn).is_some() {
            ""
        } else {
            " (not found)"
        };
        self.note("on_accept", found.to_owned());
    }

    fn on_close(&mut self, _: &mut Context<'_>) {
        self.note("on_close", String::new());
    }

    fn on_connect_error(&mut self, _: &mut Context<'_>, _: &ConnectError) {
        self.note("on_connect_error", String::new());
    }

    fn on_error(&mut self, _: &mut Context<'_>, err: &Error) {
        self.note("on_error", format!(" ({err})"));
    }

    fn on_eof(&mut self, _: &mut Context<'_>) {
        self.note("on_eof", String::new());
    }
}

/// The callbacks of the whole network, as `"server on_accept"`, `"#3 on_read"`, ...
fn trace_by(net: &mut Network, server: ChannelId) -> Vec<String> {
    net.take_trace()
        .iter()
        .map(|e| {
            let who = if e.channel == server {
                "server".to_owned()
            } else {
                format!("{}", e.channel)
            };
            format!("{who} {}", e.callback)
        })
        .collect()
}

/// Handler docs: "A server accepted the connection `conn` (its own handler's `on_connect`
/// follows)", also when accepting carries over to the next turn (the accept budget ran out,
/// here on 128 per-connection accept errors) and the connection refuses itself in `on_connect`
/// (`close_now()`, as a server over its connection limit does): `on_accept` still finds it.
/// The engine used to queue the server's events behind the connection's, so `on_accept` named
/// a connection already closed and gone (found with `accept_budget: 1`).
#[test]
fn on_accept_comes_before_the_connections_callbacks_when_accepting_carries_over() {
    let mut net = Network::new();
    let factory = || Noter {
        close_on_connect: true,
        ..Noter::new("")
    };
    let server = Noter::new("");
    let notes = server.notes.clone();
    let listen = Listen::new("127.0.0.1:1", factory).handler(server);
    let server = net.context().listen_with(listen).unwrap();
    net.run();
    net.take_trace();
    net.fail_accepts((0..128).map(|_| std::io::Error::from(std::io::ErrorKind::ConnectionAborted)));
    net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    let conn = ChannelId::from_bits(1);
    assert_eq!(
        trace_by(&mut net, server),
        [
            "server on_accept".to_owned(),
            format!("{conn} on_connect"),
            format!("{conn} on_close"),
        ]
    );
    assert_eq!(*notes.borrow(), ["on_listen", "on_accept"]);
}

/// Guarantee 2: `on_close` is the last callback, also when the handler panics in it. The
/// engine used to report that panic with an `on_error` after `on_close`.
#[test]
fn a_panic_in_on_close_runs_nothing_after_it() {
    quiet_deliberate_panics();
    let mut net = Network::new();
    let client = net.connect("127.0.0.1:9", Noter::new("on_close")).unwrap();
    net.run();
    assert_eq!(net.callbacks(client), ["on_connect_error", "on_close"]);
}

/// Guarantee 4: a panic closes its channel with `on_error`, then `on_close`, and nothing in
/// between, here with a second connection waiting to be accepted. The engine used to queue
/// `on_close` behind the events the channel already had, so the handler that had just
/// panicked still got them (here a second `on_accept`).
#[test]
fn a_panic_drops_the_events_queued_before_it() {
    quiet_deliberate_panics();
    let mut net = Network::new();
    let listen = Listen::new("127.0.0.1:1", || ()).handler(Noter::new("on_accept"));
    let server = net.context().listen_with(listen).unwrap();
    net.peer_connect("127.0.0.1:1").unwrap();
    net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    assert_eq!(
        net.callbacks(server),
        ["on_listen", "on_accept", "on_error", "on_close"]
    );
}

/// The same on a stream that panics in the `on_error` of a truncated frame: the `on_eof`
/// queued with that `on_error` used to run after the panic's `on_error` all the same.
#[test]
fn a_panic_drops_the_events_queued_before_it_on_a_stream_too() {
    quiet_deliberate_panics();
    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Noter {
        delimiter: Some("\n"),
        ..Noter::new("on_error")
    })
    .unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    net.send(peer, "partial");
    net.shutdown(peer);
    net.run();
    let conn = ChannelId::from_bits(1);
    assert_eq!(
        net.callbacks(conn),
        ["on_connect", "on_error", "on_error", "on_close"]
    );
}

/// A client that reconnects when it closes, as Pants clients often do.
struct Reconnect {
    again: bool,
}

impl Handler for Reconnect {
    fn on_close(&mut self, cx: &mut Context<'_>) {
        if self.again {
            cx.connect("127.0.0.1:7", Reconnect { again: false })
                .unwrap();
        }
    }
}

/// Section 5: after `stop()` the engine finishes once every channel closed, also one opened
/// during the shutdown (here by a client that reconnects in `on_close`), which is closed the
/// same way. Such a channel used to stay open, so the engine never finished and a driver
/// waiting for `is_finished()` waited forever.
#[test]
fn a_channel_opened_during_stop_is_closed_too() {
    let mut net = Network::new();
    let (listener, _) = net.peer_listen("127.0.0.1:7").unwrap();
    net.connect("127.0.0.1:7", Reconnect { again: true })
        .unwrap();
    net.run();
    net.engine().stop();
    net.advance(Duration::from_secs(60));
    let _ = net.peer_accept(listener);
    assert!(
        net.engine().is_finished(),
        "{} channel(s) left a minute after stop()",
        net.engine().channel_count()
    );
}

/// Property 5 (the engine never panics): a timer may close a stream at once while that
/// stream's own timeout (here an idle timeout) is due in the same turn. The engine used to
/// feed `handle_timeout` to the stream while its `Action::Close` was still pending, which
/// tripped the stream's drive-order `debug_assert!` inside `Engine::turn` (debug builds only).
#[test]
fn a_stream_closed_at_once_by_a_timer_as_its_timeout_is_due_is_safe() {
    let config = EngineConfig {
        stream: Arc::new(StreamConfig {
            idle_timeout: Some(Duration::from_secs(1)),
            ..StreamConfig::default()
        }),
        trace: true,
        ..EngineConfig::default()
    };
    let mut net = Network::with_config(config, 0);
    let conn = ChannelId::from_bits(1);
    // Set before the connection exists, so it comes first among the deadlines at 1 s.
    net.context().defer(Duration::from_secs(1), move |cx, _| {
        cx.channel(conn).unwrap().close_now();
    });
    net.listen("127.0.0.1:1", || ()).unwrap();
    let _peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    net.advance(Duration::from_secs(1));
    assert_eq!(net.callbacks(conn), ["on_connect", "on_close"]);
}
