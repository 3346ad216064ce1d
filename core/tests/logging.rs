//! What no callback reports goes to the `log` facade (and nowhere without a logger): a
//! handler's panic, accept backoff for want of descriptors, a stop deadline that passed.

use std::io;
use std::sync::Mutex;
use std::time::Duration;

use pants_core::testing::Network;
use pants_core::{Context, EngineConfig, Frame, Handler};

/// Keeps every record logged, for the test to read.
struct Collect(Mutex<Vec<(log::Level, String)>>);

impl log::Log for Collect {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let line = (record.level(), record.args().to_string());
        self.0.lock().unwrap().push(line);
    }
    fn flush(&self) {}
}

static LOGGER: Collect = Collect(Mutex::new(Vec::new()));

/// The records logged since the last call, at `level`, that mention `words`.
fn logged(level: log::Level, words: &str) -> usize {
    let mut records = LOGGER.0.lock().unwrap();
    let count = records
        .iter()
        .filter(|(l, line)| *l == level && line.contains(words))
        .count();
    records.clear();
    count
}

struct Panicky;

impl Handler for Panicky {
    fn on_read(&mut self, _: &mut Context<'_>, _: Frame<'_>) {
        panic!("bad byte");
    }
}

/// Holds its stream open with a queue its peer never reads.
struct Stuck;

impl Handler for Stuck {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.write(vec![0; 1 << 20]);
    }
}

#[test]
fn what_no_callback_reports_is_logged() {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let mut net = Network::new();
    net.listen("127.0.0.1:1", || Panicky).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.send(peer, "x");
    net.run();
    assert_eq!(
        logged(log::Level::Error, "bad byte"),
        1,
        "a handler's panic"
    );

    net.fail_accepts([io::Error::from_raw_os_error(24)]);
    net.peer_connect("127.0.0.1:1").unwrap();
    net.run();
    assert_eq!(
        logged(log::Level::Warn, "accepting failed"),
        1,
        "accept backoff for want of descriptors"
    );

    let config = EngineConfig {
        stop_timeout: Duration::from_secs(1),
        ..EngineConfig::default()
    };
    let mut net = Network::with_config(config, 0);
    net.listen("127.0.0.1:1", || Stuck).unwrap();
    let peer = net.peer_connect("127.0.0.1:1").unwrap();
    net.stop_reading(peer);
    net.run();
    net.engine().stop();
    net.advance(Duration::from_secs(2));
    assert_eq!(
        logged(log::Level::Warn, "stop timeout"),
        1,
        "a stop deadline passed"
    );
    assert!(net.engine().is_finished());
}
