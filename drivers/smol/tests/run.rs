//! Running the smol engine: dropping the `run` future (cancel safety) and driving it with
//! `poll_run` from a hand-written future.

use std::cell::Cell;
use std::future::poll_fn;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Instant;

use pants_core::{Context, Frame, Handler};
use pants_smol::Engine;

mod common;

use common::STEP;

/// Echoes, and counts the connections that came up.
struct Echo(Rc<Cell<usize>>);

impl Handler for Echo {
    fn on_connect(&mut self, _: &mut Context<'_>) {
        self.0.set(self.0.get() + 1);
    }
    fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
        let _ = cx.write(data);
    }
}

/// A client of `engine`'s echo server, whose reads give up after [`STEP`], and the count of
/// connections up.
fn echo_server_and_client(engine: &mut Engine) -> (TcpStream, Rc<Cell<usize>>) {
    let up = Rc::new(Cell::new(0));
    let count = up.clone();
    let server = engine
        .listen("127.0.0.1:0", move || Echo(count.clone()))
        .expect("listen");
    let addr = engine.local_addr(server).expect("an address").to_string();
    let client = TcpStream::connect(addr).expect("connect");
    client.set_read_timeout(Some(STEP)).expect("a read timeout");
    (client, up)
}

/// Runs `engine` until `done` holds, on an executor of its own.
fn run_until(engine: &mut Engine, done: impl FnMut() -> bool) {
    common::run_until(&smol::LocalExecutor::new(), engine, done);
}

#[test]
fn dropping_run_then_running_again_carries_on() {
    let mut engine = Engine::new().expect("an engine");
    let (mut client, up) = echo_server_and_client(&mut engine);
    // The first run accepts the client, and is dropped once it has.
    run_until(&mut engine, || up.get() == 1);
    client.write_all(b"after the drop").expect("write");
    let mut echoed = [0; 14];
    let reader = std::thread::spawn(move || client.read_exact(&mut echoed).map(|()| echoed));
    // The second run finds the connection and its bytes as the first left them.
    run_until(&mut engine, || reader.is_finished());
    let echoed = reader.join().expect("the reader").expect("the echo");
    assert_eq!(&echoed, b"after the drop");
}

#[test]
fn poll_run_drives_a_hand_written_future() {
    let mut engine = Engine::new().expect("an engine");
    let (mut client, _) = echo_server_and_client(&mut engine);
    client.write_all(b"ping").expect("write");
    let handle = engine.handle();
    let reader = std::thread::spawn(move || {
        let mut echoed = [0; 4];
        let read = client.read_exact(&mut echoed).map(|()| echoed);
        handle.stop();
        read
    });
    // A future of our own around the engine: counts its polls, ends when the engine does.
    let mut polls = 0;
    let finished = smol::block_on(poll_fn(|cx| {
        polls += 1;
        engine.poll_run(cx)
    }));
    finished.expect("the engine ran");
    assert_eq!(
        &reader.join().expect("the reader").expect("the echo"),
        b"ping"
    );
    assert!(polls > 1, "the engine waited at least once");
    assert_eq!(
        engine.channel_count(),
        0,
        "stopped with every channel closed"
    );
}

#[test]
fn a_call_the_engine_never_ran_fails_once_it_is_dropped() {
    let engine = Engine::new().expect("an engine");
    let handle = engine.handle();
    let before = handle.call(|cx| cx.now());
    drop(engine);
    let after = handle.call(|cx| cx.now());
    for call in [before, after] {
        let err = smol::block_on(call).expect_err("no engine ran it");
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
    }
}

#[test]
fn a_call_after_the_engine_finished_its_stop_fails_without_waiting_for_its_drop() {
    let mut engine = Engine::new().expect("an engine");
    let handle = engine.handle();
    handle.stop();
    smol::block_on(engine.run()).expect("the stop");
    assert!(engine.is_finished());
    let call = handle.call(|cx| cx.now());
    let deadline = Instant::now() + STEP;
    let result = smol::block_on(smol::future::or(call, async {
        smol::Timer::at(deadline).await;
        panic!("the call still waits after {STEP:?}, the engine alive but stopped");
    }));
    let err = result.expect_err("a stopped engine runs nothing");
    assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
    assert!(err.to_string().contains("finished its stop"), "{err}");
    drop(engine);
}
