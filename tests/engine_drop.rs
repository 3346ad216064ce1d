//! Dropping an engine closes every socket it holds, on both drivers: the process's open
//! descriptors (`/proc/self/fd`) are as many after as before, with connections accepted,
//! connected and half-made, a datagram socket and a Unix listener open at the drop.
//!
//! One test in its own binary, so that no other test opens or closes descriptors meanwhile.

mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Client, Driver, STEP, TempDir};
use pants::{Addr, Context, EngineContext, Frame, Handler};

/// Counts the connections that came up.
struct Counted(Arc<AtomicUsize>);

impl Handler for Counted {
    fn on_connect(&mut self, _: &mut Context<'_>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn on_read(&mut self, _: &mut Context<'_>, _: Frame<'_>) {}
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// What the test opens on the engine: a TCP and a Unix listener, each accepting `CLIENTS`
/// test clients, `CLIENTS` connects out to a test listener, and a UDP socket. Returns the
/// TCP listener's address.
const CLIENTS: usize = 4;

fn open(cx: &mut EngineContext<'_>, dir: &TempDir, peer: &Addr, up: &Arc<AtomicUsize>) -> Addr {
    let server = {
        let up = up.clone();
        cx.listen("127.0.0.1:0", move || Counted(up.clone()))
            .expect("listen")
    };
    let up_unix = up.clone();
    cx.listen(dir.unix("drop.sock"), move || Counted(up_unix.clone()))
        .expect("listen on a Unix socket");
    for _ in 0..CLIENTS {
        cx.connect(peer.clone(), Counted(up.clone()))
            .expect("connect");
    }
    cx.datagram("127.0.0.1:0", Counted(up.clone()))
        .expect("bind");
    cx.channel(server)
        .and_then(|channel| channel.local())
        .expect("an address")
}

/// Runs one driver's engine until `up` connections are up, then drops it (mid-`run` for
/// smol: the run future is dropped first).
fn serve_then_drop(driver: Driver, dir: &TempDir, peer: &Addr) {
    let up = Arc::new(AtomicUsize::new(0));
    let want = 3 * CLIENTS;
    let mut clients = Vec::new();
    let mut connect_clients = |server: &Addr| {
        for _ in 0..CLIENTS {
            clients.push(Client::connect(server));
            clients.push(Client::connect(&Addr::Unix(dir.path("drop.sock"))));
        }
    };
    let deadline = Instant::now() + STEP;
    match driver {
        Driver::Mio => {
            let mut engine = pants::Engine::new().expect("an engine");
            let server = open(&mut engine.context(), dir, peer, &up);
            connect_clients(&server);
            while up.load(Ordering::SeqCst) < want {
                assert!(
                    Instant::now() < deadline,
                    "mio: connections did not come up"
                );
                engine.poll(Some(Duration::from_millis(10))).expect("poll");
            }
        }
        Driver::Smol => {
            let mut engine = pants::smol::Engine::new().expect("an engine");
            let server = open(&mut engine.context(), dir, peer, &up);
            connect_clients(&server);
            let until_up = async {
                while up.load(Ordering::SeqCst) < want {
                    assert!(
                        Instant::now() < deadline,
                        "smol: connections did not come up"
                    );
                    smol::Timer::after(Duration::from_millis(5)).await;
                }
                Ok(())
            };
            smol::block_on(smol::future::or(engine.run(), until_up)).expect("run");
        }
    }
    drop(clients);
}

#[test]
fn dropping_the_engine_closes_every_socket() {
    let dir = TempDir::new("drop");
    // The test's own listener, which the engines' clients connect to (never accepted: the
    // kernel completes the connects).
    let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let peer = Addr::Ip(listener.local_addr().expect("its address"));
    // A first run of each driver opens what lives as long as the process (async-io's
    // reactor and its thread's descriptors), so that the second is measured alone.
    for driver in [Driver::Mio, Driver::Smol] {
        serve_then_drop(driver, &dir, &peer);
    }
    for driver in [Driver::Mio, Driver::Smol] {
        let before = open_fds();
        serve_then_drop(driver, &dir, &peer);
        let after = open_fds();
        assert_eq!(
            after, before,
            "{driver:?}: {after} descriptors open after dropping the engine, {before} before"
        );
        assert!(
            !dir.path("drop.sock").exists(),
            "{driver:?}: the Unix listener's socket file stayed"
        );
    }
}
