//! Sockets opened outside the engine, taken over by it (`adopt`) on both drivers: a TCP stream
//! accepted by a std listener, and one end of a Unix socket pair, each served by a handler (or
//! an `AsyncStream`) as if the engine had accepted it.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::thread;

use common::STEP;
use pants::{Context, Frame, Handler};

/// Answers one line, then closes and stops its engine.
struct AnswerOnce;

impl Handler for AnswerOnce {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\n").unwrap();
    }
    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        cx.write([b"you said ", &line[..], b"\n"].concat());
        cx.close();
    }
    fn on_close(&mut self, cx: &mut Context<'_>) {
        cx.stop();
    }
}

/// A bound on `engine`'s run: after [`STEP`] it stops, whatever is left (the answer the test
/// awaits is then missing, and the test fails instead of hanging).
fn bounded(mut cx: pants::EngineContext<'_>) {
    cx.defer(STEP, |cx, _| {
        cx.stop();
        cx.stop();
    });
}

/// Sends `line` on `peer` and reads the answer to its end, every step bounded.
fn ask(mut peer: impl Read + Write, line: &str) -> String {
    peer.write_all(line.as_bytes()).expect("write");
    let mut answer = String::new();
    peer.read_to_string(&mut answer).expect("the answer");
    answer
}

/// A connected TCP pair: the client side, and the side a std listener accepted.
fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
    client.set_read_timeout(Some(STEP)).unwrap();
    let (accepted, _) = listener.accept().expect("accept");
    (client, accepted)
}

#[test]
fn mio_serves_a_tcp_stream_a_std_listener_accepted() {
    let (client, accepted) = tcp_pair();
    let mut engine = pants::Engine::new().expect("an engine");
    let id = engine.adopt(accepted, AnswerOnce).expect("adopt");
    assert!(engine.context().channel(id).is_some());
    let asking = thread::spawn(move || ask(client, "hello\n"));
    bounded(engine.context());
    engine.run().expect("run");
    assert_eq!(asking.join().unwrap(), "you said hello\n");
}

#[test]
fn mio_serves_one_end_of_a_unix_socket_pair() {
    let (ours, theirs) = UnixStream::pair().expect("a socket pair");
    ours.set_read_timeout(Some(STEP)).unwrap();
    let mut engine = pants::Engine::new().expect("an engine");
    engine.adopt(theirs, AnswerOnce).expect("adopt");
    let asking = thread::spawn(move || ask(ours, "unix\n"));
    bounded(engine.context());
    engine.run().expect("run");
    assert_eq!(asking.join().unwrap(), "you said unix\n");
}

#[test]
fn smol_serves_a_tcp_stream_a_std_listener_accepted() {
    let (client, accepted) = tcp_pair();
    let mut engine = pants::smol::Engine::new().expect("an engine");
    engine.adopt(accepted, AnswerOnce).expect("adopt");
    let asking = thread::spawn(move || ask(client, "hello\n"));
    bounded(engine.context());
    smol::block_on(engine.run()).expect("run");
    assert_eq!(asking.join().unwrap(), "you said hello\n");
}

#[test]
fn an_adopted_socket_is_an_async_stream_on_smol() {
    let (ours, theirs) = UnixStream::pair().expect("a socket pair");
    ours.set_read_timeout(Some(STEP)).unwrap();
    let mut engine = pants::smol::Engine::new().expect("an engine");
    let handle = engine.handle();
    let stream = pants::smol::AsyncStream::adopt(&mut engine, theirs, "\n").expect("adopt");
    let executor = smol::LocalExecutor::new();
    let task = executor.spawn(async move {
        let line = stream.read_frame().await?.expect("a line");
        stream.write([b"async ", &line[..], b"\n"].concat()).await?;
        stream.close().await?;
        handle.stop();
        Ok::<_, std::io::Error>(())
    });
    let asking = thread::spawn(move || ask(ours, "adopted\n"));
    bounded(engine.context());
    smol::block_on(executor.run(engine.run())).expect("run");
    smol::block_on(task).expect("the task");
    assert_eq!(asking.join().unwrap(), "async adopted\n");
}
