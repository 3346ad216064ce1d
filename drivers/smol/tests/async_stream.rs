//! The async view of a stream (`AsyncStream`): errors keep their kind, any bytes can be
//! written, dropping the stream closes its channel, and dropping the engine wakes a task
//! waiting on one of its streams. And accepting streams (`AsyncListener`): real clients,
//! the bounded backlog, and the end of accepting when the engine stops.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use pants_core::{Context, Frame, Handler};
use pants_smol::{AsyncListener, AsyncStream, BACKLOG, Engine};

mod common;

use common::{STEP, finish, run_until};

/// Echoes lines, and notes what happens to its connection.
struct Echo(Rc<RefCell<Vec<&'static str>>>);

impl Handler for Echo {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\n").unwrap();
    }
    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        cx.write([&line[..], b"\n"].concat());
    }
    fn on_eof(&mut self, _: &mut Context<'_>) {
        self.0.borrow_mut().push("eof");
    }
    fn on_close(&mut self, _: &mut Context<'_>) {
        self.0.borrow_mut().push("close");
    }
}

/// An engine with an echo server; its address and its connection's notes.
fn echo_engine() -> (Engine, std::net::SocketAddr, Rc<RefCell<Vec<&'static str>>>) {
    let mut engine = Engine::new().expect("an engine");
    let notes = Rc::new(RefCell::new(Vec::new()));
    let seen = notes.clone();
    let server = engine
        .listen("127.0.0.1:0", move || Echo(seen.clone()))
        .expect("listen");
    let addr = engine.local_addr(server).expect("an address").to_string();
    (engine, addr.parse().expect("an IP address"), notes)
}

#[test]
fn a_refused_connect_is_an_error_of_kind_connection_refused() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let executor = smol::LocalExecutor::new();
    let mut engine = Engine::new().expect("an engine");
    let handle = engine.handle();
    let task = executor.spawn(async move {
        AsyncStream::connect(&handle, ("127.0.0.1", port), "\n")
            .await
            .map(drop)
    });
    run_until(&executor, &mut engine, || task.is_finished());
    let err = smol::block_on(task).expect_err("nothing listens there");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn byte_string_literals_are_written_and_echoed_then_the_end_is_none() {
    let (mut engine, addr, _) = echo_engine();
    let executor = smol::LocalExecutor::new();
    let handle = engine.handle();
    let task = executor.spawn(async move {
        let stream = AsyncStream::connect(&handle, addr, "\n").await?;
        stream.write(b"bytes\n").await?;
        let line = String::from("a string\n");
        stream.write(&line).await?;
        let first = stream.read_frame().await?;
        let second = stream.read_frame().await?;
        stream.close().await?;
        Ok::<_, io::Error>((first, second, stream.read_frame().await?))
    });
    run_until(&executor, &mut engine, || task.is_finished());
    let (first, second, end) = smol::block_on(task).expect("the echo");
    assert_eq!(first.as_deref(), Some(&b"bytes"[..]));
    assert_eq!(second.as_deref(), Some(&b"a string"[..]));
    assert_eq!(end, None);
}

#[test]
fn dropping_the_stream_closes_its_channel() {
    let (mut engine, addr, notes) = echo_engine();
    let executor = smol::LocalExecutor::new();
    let handle = engine.handle();
    let task = executor.spawn(async move {
        let stream = AsyncStream::connect(&handle, addr, "\n").await?;
        stream.write("ping\n").await?;
        stream.read_frame().await?;
        drop(stream);
        Ok::<_, io::Error>(())
    });
    run_until(&executor, &mut engine, || {
        task.is_finished() && notes.borrow().contains(&"close")
    });
    smol::block_on(task).expect("the exchange");
    assert_eq!(
        notes.borrow()[..],
        ["eof", "close"],
        "the server saw the client end its side"
    );
}

#[test]
fn dropping_the_engine_wakes_a_task_waiting_for_a_frame_with_broken_pipe() {
    let (mut engine, addr, _) = echo_engine();
    let executor = smol::LocalExecutor::new();
    let handle = engine.handle();
    let connected = Rc::new(RefCell::new(false));
    let up = connected.clone();
    let task = executor.spawn(async move {
        let stream = AsyncStream::connect(&handle, addr, "\n").await?;
        *up.borrow_mut() = true;
        // Nothing was written: no frame comes, and the wait ends only with the engine.
        stream.read_frame().await
    });
    run_until(&executor, &mut engine, || *connected.borrow());
    drop(engine);
    let result = finish(&executor, task, "the task was not woken");
    let err = result.expect_err("the engine is gone");
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
}

#[test]
fn a_listener_accepts_real_clients_with_their_addresses() {
    let mut engine = Engine::new().expect("an engine");
    let executor = smol::LocalExecutor::new();
    let handle = engine.handle();
    let (tx, bound) = std::sync::mpsc::channel();
    let server = executor.spawn(async move {
        let mut listener = AsyncListener::bind(&handle, "127.0.0.1:0", "\n").await?;
        tx.send(listener.local_addr().to_string()).unwrap();
        let mut peers = Vec::new();
        for _ in 0..2 {
            let (conn, peer) = listener.accept().await?;
            assert_eq!(conn.peer_addr(), Some(peer.clone()));
            let line = conn.read_frame().await?.expect("a line");
            conn.write([&line[..], b"!\n"].concat()).await?;
            conn.close().await?;
            peers.push(peer.to_string());
        }
        Ok::<_, io::Error>(peers)
    });
    let client = std::thread::spawn(move || {
        let addr = bound.recv_timeout(STEP).expect("the listener's address");
        let mut locals = Vec::new();
        for word in ["one", "two"] {
            let mut socket = std::net::TcpStream::connect(&addr).expect("connect");
            socket.set_read_timeout(Some(STEP)).unwrap();
            locals.push(socket.local_addr().unwrap().to_string());
            std::io::Write::write_all(&mut socket, format!("{word}\n").as_bytes()).unwrap();
            let mut answer = String::new();
            std::io::Read::read_to_string(&mut socket, &mut answer).expect("the answer");
            assert_eq!(answer, format!("{word}!\n"));
        }
        locals
    });
    run_until(&executor, &mut engine, || server.is_finished());
    let peers = smol::block_on(server).expect("the server task");
    assert_eq!(peers, client.join().expect("the client"));
}

#[test]
fn a_full_backlog_stops_accepting_and_accepting_resumes_it_without_losing_a_connection() {
    let mut engine = Engine::new().expect("an engine");
    let executor = smol::LocalExecutor::new();
    let handle = engine.handle();
    let (tx, bound) = std::sync::mpsc::channel();
    let server = executor.spawn(async move {
        let mut listener = AsyncListener::bind(&handle, "127.0.0.1:0", "\n").await?;
        let id = listener.id();
        tx.send(listener.local_addr().to_string()).unwrap();
        let paused = move |handle: &pants_smol::Handle| {
            handle.call(move |cx| cx.channel(id).is_some_and(|server| server.is_read_paused()))
        };
        // No accept yet: the connections pile up to the bound, and the server pauses.
        let deadline = Instant::now() + STEP;
        while !paused(&handle).await? {
            assert!(Instant::now() < deadline, "the server never paused");
            smol::Timer::after(Duration::from_millis(1)).await;
        }
        let mut accepted = Vec::new();
        while accepted.len() < BACKLOG + 10 {
            accepted.push(listener.accept().await?.0);
        }
        Ok::<_, io::Error>((accepted.len(), paused(&handle).await?))
    });
    let clients = std::thread::spawn(move || {
        let addr = bound.recv_timeout(STEP).expect("the listener's address");
        (0..BACKLOG + 10)
            .map(|_| std::net::TcpStream::connect(&addr).expect("connect"))
            .collect::<Vec<_>>()
    });
    run_until(&executor, &mut engine, || server.is_finished());
    let (accepted, still_paused) = smol::block_on(server).expect("the server task");
    assert_eq!(accepted, BACKLOG + 10);
    assert!(!still_paused, "accepting did not resume");
    drop(clients.join().expect("the clients"));
}

#[test]
fn accept_ends_with_an_error_once_the_engine_stopped() {
    let mut engine = Engine::new().expect("an engine");
    let executor = smol::LocalExecutor::new();
    let handle = engine.handle();
    let task = executor.spawn(async move {
        let mut listener = AsyncListener::bind(&handle, "127.0.0.1:0", "\n").await?;
        handle.stop();
        listener.accept().await.map(drop)
    });
    smol::block_on(executor.run(engine.run())).expect("the engine's run");
    let result = finish(&executor, task, "accept still waits");
    let err = result.expect_err("nothing more is accepted");
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
}

#[test]
fn a_clone_reads_in_one_task_while_another_writes_and_the_last_drop_closes() {
    let (mut engine, addr, notes) = echo_engine();
    let executor = smol::LocalExecutor::new();
    let handle = engine.handle();
    let stream = smol::block_on(executor.run(async {
        let connect = AsyncStream::connect(&handle, addr, "\n");
        smol::future::or(async { Some(connect.await) }, async {
            engine.run().await.expect("run");
            None
        })
        .await
    }))
    .expect("connected before the engine stopped")
    .expect("connect");
    let reader = stream.clone();
    let reading = executor.spawn(async move {
        let mut lines = Vec::new();
        while let Some(line) = reader.read_frame().await? {
            lines.push(line);
            if lines.len() == 3 {
                break;
            }
        }
        Ok::<_, io::Error>(lines)
    });
    let writing = executor.spawn(async move {
        for word in ["a", "b", "c"] {
            stream.write(format!("{word}\n")).await?;
        }
        Ok::<_, io::Error>(())
    });
    run_until(&executor, &mut engine, || {
        reading.is_finished() && writing.is_finished() && notes.borrow().contains(&"close")
    });
    smol::block_on(writing).expect("the writes");
    let lines = smol::block_on(reading).expect("the reads");
    assert_eq!(lines, ["a", "b", "c"]);
    assert_eq!(
        notes.borrow()[..],
        ["eof", "close"],
        "both clones dropped: closed"
    );
}
