//! Groups of engines on real loopback sockets, on every driver: connections spread over the
//! engines (TCP v4 and v6), handlers reaching channels of another engine, a graceful stop
//! under load that loses no reply, signals, and the ways a group refuses or fails.
//!
//! Which engine serves a connection is the kernel's choice (a hash of the connection's
//! addresses): a test that needs both engines opens connections until each has served one,
//! bounded by [`MAX_TRIES`] (the chance that 200 connections all land on one of two engines
//! is 2^-199).

mod common;

use std::io::{self, BufRead, BufReader, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use common::{Client, STEP, TempDir, wait_until};
use pants::mio::{GroupBuilder, GroupEngine};
use pants::{
    Addr, ChannelId, Context, EngineConfig, EngineContext, Frame, Handler, Listen, Member,
    SocketOptions,
};

/// Makes a test module per driver: each scenario takes its driver's `Group::builder`.
macro_rules! on_every_driver {
    ($($name:ident),* $(,)?) => {
        mod mio {
            $(#[test] fn $name() { super::$name(pants::mio::Group::builder) })*
        }
        mod smol {
            $(#[test] fn $name() { super::$name(pants::smol::Group::builder) })*
        }
    };
}

on_every_driver!(
    connections_are_spread_over_both_engines_tcp_v4,
    connections_are_spread_over_both_engines_tcp_v6,
    a_handler_reaches_a_channel_of_another_engine,
    graceful_stop_under_load_loses_no_reply,
    a_failing_setup_stops_the_engines_started_and_names_its_engine,
    a_later_engine_without_reuse_port_is_told_why,
    unix_sockets_are_refused_to_more_than_one_engine,
    a_panicking_engine_stops_the_group_and_join_names_it,
);

/// A driver's `Group::builder`.
type Builder<E> = fn(usize) -> GroupBuilder<E>;

/// The most connections a test opens to reach both engines.
const MAX_TRIES: usize = 200;

// ---------------------------------------------------------------------------------------------
// Handlers and helpers
// ---------------------------------------------------------------------------------------------

/// Greets each connection with its engine's index (`0\n`), then answers each line with
/// itself, counting the replies it queued.
struct Tagged {
    engine: usize,
    replies: Arc<AtomicUsize>,
}

impl Handler for Tagged {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\n").unwrap();
        cx.write(format!("{}\n", self.engine)).unwrap();
    }

    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        if line.as_ref() == b"panic" {
            panic!("boom, as asked");
        }
        if cx.write([line.as_ref(), b"\n"].concat()).is_ok() {
            self.replies.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A factory maker for [`Tagged`] connections counting into `replies`.
fn tagged(
    replies: &Arc<AtomicUsize>,
) -> impl Fn(&Member) -> Box<dyn FnMut() -> Tagged> + Send + Sync + use<> {
    let replies = replies.clone();
    move |member: &Member| {
        let (engine, replies) = (member.index(), replies.clone());
        Box::new(move || Tagged {
            engine,
            replies: replies.clone(),
        })
    }
}

/// A test client reading lines, every step bounded by [`STEP`].
struct LineClient {
    writer: Client,
    reader: BufReader<Client>,
}

impl LineClient {
    fn connect(addr: &Addr) -> Self {
        let writer = Client::connect(addr);
        let reader = BufReader::new(writer.try_clone());
        Self { writer, reader }
    }

    /// The next line without its `\n`; `None` at EOF. A line cut by the EOF is an error.
    fn line(&mut self) -> io::Result<Option<String>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        match line.strip_suffix('\n') {
            Some(whole) => Ok(Some(whole.to_owned())),
            None => Err(io::Error::other(format!("a reply cut short: {line:?}"))),
        }
    }

    /// The engine that serves this connection, from its greeting.
    fn engine(&mut self) -> usize {
        let greeting = self.line().unwrap().expect("a greeting");
        greeting.parse().expect("an engine's index")
    }

    fn send(&mut self, line: &str) -> io::Result<()> {
        self.writer.write_all(format!("{line}\n").as_bytes())
    }

    /// Sends `line` and expects it back.
    fn round_trip(&mut self, line: &str) {
        self.send(line).unwrap();
        assert_eq!(self.line().unwrap().as_deref(), Some(line));
    }
}

/// Connects to `addr` until each of `engines` engines serves one connection; returns one
/// client per engine, by index (the others are closed).
fn one_client_per_engine(addr: &Addr, engines: usize) -> Vec<LineClient> {
    let mut clients: Vec<Option<LineClient>> = (0..engines).map(|_| None).collect();
    for _ in 0..MAX_TRIES {
        let mut client = LineClient::connect(addr);
        let engine = client.engine();
        clients[engine].get_or_insert(client);
        if clients.iter().all(Option::is_some) {
            return clients.into_iter().flatten().collect();
        }
    }
    let served: Vec<bool> = clients.iter().map(Option::is_some).collect();
    panic!("{MAX_TRIES} connections did not reach every engine (served: {served:?})");
}

/// Waits (bounded by [`STEP`]) for `join` (a group's `join`) to return, and returns what it
/// returned.
fn joined(join: impl FnOnce() -> io::Result<()> + Send + 'static) -> io::Result<()> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(join()));
    rx.recv_timeout(STEP)
        .expect("every engine of the group ended in time")
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

fn connections_are_spread_over_both_engines_tcp_v4<E: GroupEngine>(builder: Builder<E>) {
    connections_are_spread(builder, "127.0.0.1:0");
}

fn connections_are_spread_over_both_engines_tcp_v6<E: GroupEngine>(builder: Builder<E>) {
    connections_are_spread(builder, "[::1]:0");
}

/// Both engines listen on one port, and each serves some of its connections.
fn connections_are_spread<E: GroupEngine>(builder: Builder<E>, listen: &str) {
    let replies = Arc::new(AtomicUsize::new(0));
    let group = builder(2).listen(listen, tagged(&replies)).unwrap();
    let addr = group.local_addr().expect("the group's address").clone();
    assert_eq!(addr.to_string().starts_with('['), listen.starts_with('['));
    assert_ne!(addr.port(), Some(0), "port 0 is resolved");

    let mut clients = one_client_per_engine(&addr, 2);
    for (engine, client) in clients.iter_mut().enumerate() {
        client.round_trip(&format!("served by engine {engine}"));
    }
    assert_eq!(replies.load(Ordering::Relaxed), 2);
    group.stop();
    joined(move || group.join()).unwrap();
}

/// Engine-local connection ids, by engine: what a handler needs to reach a channel of
/// another engine (a chat server keeps its server's id instead).
type Registry = Arc<Mutex<Vec<Option<ChannelId>>>>;

/// Registers its connection as its engine's first, and sends every line it reads to the first
/// connection of the other engine, through the group's handle.
struct Relay {
    member: Member,
    registry: Registry,
}

impl Handler for Relay {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\n").unwrap();
        let engine = self.member.index();
        self.registry.lock().unwrap()[engine].get_or_insert(cx.id());
        cx.write(format!("{engine}\n")).unwrap();
    }

    fn on_read(&mut self, _: &mut Context<'_>, line: Frame<'_>) {
        let other = 1 - self.member.index();
        let registry = self.registry.clone();
        let line = [line.as_ref(), b" (relayed)\n"].concat();
        // Runs on the other engine, with its context: the id is one of its channels.
        self.member
            .group()
            .post(other, move |cx: &mut EngineContext<'_>| {
                let id = registry.lock().unwrap()[other].expect("a connection there");
                cx.channel(id).expect("still open").write(line).unwrap();
            });
    }
}

/// A line read on one engine is written, through a closure posted to the other engine, to a
/// connection that engine owns.
fn a_handler_reaches_a_channel_of_another_engine<E: GroupEngine>(builder: Builder<E>) {
    let registry: Registry = Arc::new(Mutex::new(vec![None, None]));
    let factories = registry.clone();
    let group = builder(2)
        .listen("127.0.0.1:0", move |member| {
            let (member, registry) = (member.clone(), factories.clone());
            move || Relay {
                member: member.clone(),
                registry: registry.clone(),
            }
        })
        .unwrap();
    let addr = group.local_addr().unwrap().clone();
    let mut clients = one_client_per_engine(&addr, 2);

    clients[0].send("from engine 0").unwrap();
    assert_eq!(
        clients[1].line().unwrap().as_deref(),
        Some("from engine 0 (relayed)")
    );
    clients[1].send("from engine 1").unwrap();
    assert_eq!(
        clients[0].line().unwrap().as_deref(),
        Some("from engine 1 (relayed)")
    );
    group.stop();
    joined(move || group.join()).unwrap();
}

/// Clients that keep sending; each counts the replies it received, whole.
const CLIENTS: usize = 16;
/// Requests a client pipelines before it reads their replies.
const BATCH: usize = 4;
/// Replies each client receives before the group is stopped.
const WARM: usize = 100;

/// Stopped while every client keeps sending, the group flushes every reply it queued: the
/// clients receive exactly as many whole replies as the engines queued, and every engine's
/// thread ends.
///
/// A connection the stop finds idle (nothing queued, no partial request) is closed at once,
/// as for one engine; when the client's next request is already in the kernel, unread, Linux
/// answers it with a reset instead of an EOF. The replies before it still arrive (a reset
/// never discards what the client's kernel has received), so the count is what is checked.
fn graceful_stop_under_load_loses_no_reply<E: GroupEngine>(builder: Builder<E>) {
    let replies = Arc::new(AtomicUsize::new(0));
    let group = builder(2).listen("127.0.0.1:0", tagged(&replies)).unwrap();
    let addr = group.local_addr().unwrap().clone();
    let warm = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (addr, warm) = (addr.clone(), warm.clone());
            thread::spawn(move || keep_sending(&addr, i, &warm))
        })
        .collect();
    wait_until("every client under way", || {
        warm.load(Ordering::Relaxed) == CLIENTS
    });

    group.stop();
    joined(move || group.join()).expect("a graceful stop");
    let ends: Vec<(usize, End)> = clients
        .into_iter()
        .map(|client| client.join().expect("a client saw every reply whole"))
        .collect();
    let received: usize = ends.iter().map(|(replies, _)| replies).sum();
    let resets = ends.iter().filter(|(_, end)| *end == End::Reset).count();
    eprintln!("{received} replies received; {resets} of {CLIENTS} clients ended by a reset");
    assert_eq!(
        received,
        replies.load(Ordering::Relaxed),
        "every reply the engines queued arrived"
    );
}

/// How the server ended a client's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Eof,
    /// A reset, after every byte sent before it.
    Reset,
}

/// Sends batches of requests and reads their replies until the server ends the stream: the
/// number of replies received, and how it ended. Panics on a reply cut short.
fn keep_sending(addr: &Addr, client: usize, warm: &AtomicUsize) -> (usize, End) {
    let mut stream = LineClient::connect(addr);
    stream.engine();
    let request = format!("request of client {client}");
    let mut received = 0;
    loop {
        // A request written after the server stopped reading is discarded, not answered.
        let batch = (0..BATCH).try_for_each(|_| stream.send(&request));
        for _ in 0..BATCH {
            match stream.line() {
                Ok(Some(reply)) => assert_eq!(reply, request),
                Ok(None) => return (received, End::Eof),
                Err(err) if err.kind() == io::ErrorKind::ConnectionReset => {
                    return (received, End::Reset);
                }
                Err(err) => panic!("client {client} after {received} replies: {err}"),
            }
            received += 1;
            if received == WARM {
                warm.fetch_add(1, Ordering::Relaxed);
            }
        }
        if batch.is_err() {
            // Every reply of the batch came, yet the server no longer reads: its end is next.
            return match stream.line() {
                Ok(None) => (received, End::Eof),
                Err(err) if err.kind() == io::ErrorKind::ConnectionReset => (received, End::Reset),
                other => panic!("client {client}: the end of the stream, not {other:?}"),
            };
        }
    }
}

/// An engine whose setup fails: the group does not start, the engines already running stop
/// (their listeners close), and the error names the engine. A panic in a setup likewise.
fn a_failing_setup_stops_the_engines_started_and_names_its_engine<E: GroupEngine>(
    builder: Builder<E>,
) {
    for failing in [1, 2] {
        let first = Arc::new(Mutex::new(None));
        let seen = first.clone();
        let err = builder(3)
            .start(move |cx, member| match member.index() {
                0 => {
                    let id = cx.listen("127.0.0.1:0", || Tagged {
                        engine: 0,
                        replies: Arc::default(),
                    })?;
                    *seen.lock().unwrap() = cx.channel(id).unwrap().local();
                    Ok(())
                }
                1 if failing == 1 => Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "not allowed",
                )),
                2 if failing == 2 => panic!("a setup that panics"),
                _ => Ok(()),
            })
            .unwrap_err();
        let expected = match failing {
            1 => (io::ErrorKind::PermissionDenied, "engine 1: not allowed"),
            _ => (
                io::ErrorKind::Other,
                "engine 2: panicked: a setup that panics",
            ),
        };
        assert_eq!((err.kind(), err.to_string().as_str()), expected);
        let Some(Addr::Ip(at)) = first.lock().unwrap().clone() else {
            panic!("engine 0 listened")
        };
        let refused = std::net::TcpStream::connect_timeout(&at, STEP).unwrap_err();
        assert_eq!(
            refused.kind(),
            io::ErrorKind::ConnectionRefused,
            "{refused}"
        );
    }
}

/// A listener opened with socket options of its own that leave `reuse_port` off cannot share
/// engine 0's port: the error says so.
fn a_later_engine_without_reuse_port_is_told_why<E: GroupEngine>(builder: Builder<E>) {
    let err = builder(2)
        .listen_with("127.0.0.1:0", |cx, addr, _| {
            let listen = Listen::new(addr, || Tagged {
                engine: 0,
                replies: Arc::default(),
            });
            cx.listen_with(listen.socket(SocketOptions::default()))
        })
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with("engine 1: ") && message.contains("must set reuse_port"),
        "{message}"
    );
}

/// A Unix socket cannot be shared by two engines: refused before any thread starts. One
/// engine listens there as usual.
fn unix_sockets_are_refused_to_more_than_one_engine<E: GroupEngine>(builder: Builder<E>) {
    let dir = TempDir::new("group-unix");
    let path = dir.unix("group.sock");
    let replies = Arc::new(AtomicUsize::new(0));
    let err = builder(2)
        .listen(path.as_str(), tagged(&replies))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
    assert!(
        err.to_string().contains("cannot share the Unix socket"),
        "{err}"
    );

    let group = builder(1).listen(path.as_str(), tagged(&replies)).unwrap();
    let mut client = LineClient::connect(group.local_addr().unwrap());
    assert_eq!(client.engine(), 0);
    client.round_trip("over a Unix socket");
    group.stop();
    joined(move || group.join()).unwrap();
}

/// With panics propagated out of the engine, a handler's panic ends its engine: the group
/// stops the other, and `join` returns the panic as the first error, naming the engine.
fn a_panicking_engine_stops_the_group_and_join_names_it<E: GroupEngine>(builder: Builder<E>) {
    let replies = Arc::new(AtomicUsize::new(0));
    let config = EngineConfig {
        propagate_panics: true,
        ..EngineConfig::default()
    };
    let group = builder(2)
        .config(config)
        .listen("127.0.0.1:0", tagged(&replies))
        .unwrap();
    let mut client = LineClient::connect(group.local_addr().unwrap());
    let engine = client.engine();
    client.send("panic").unwrap();
    let err = joined(move || group.join()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("engine {engine}: panicked: boom, as asked")
    );
}

/// A caught signal stops every engine of a group, on either driver: the only test of this
/// process that raises SIGUSR2 (a signal reaches every engine that catches it).
#[test]
fn a_signal_stops_every_engine() {
    fn stopped_by_a_signal<E: GroupEngine>(builder: Builder<E>) {
        let replies = Arc::new(AtomicUsize::new(0));
        let group = builder(2)
            .stop_on_signals(&[pants::signal::SIGUSR2])
            .listen("127.0.0.1:0", tagged(&replies))
            .unwrap();
        let mut clients = one_client_per_engine(group.local_addr().unwrap(), 2);
        let pid = rustix::process::getpid();
        rustix::process::kill_process(pid, rustix::process::Signal::USR2).unwrap();
        joined(move || group.join()).expect("a graceful stop");
        for client in &mut clients {
            assert_eq!(
                client.line().unwrap(),
                None,
                "each engine closed its client"
            );
        }
    }
    stopped_by_a_signal(pants::mio::Group::builder);
    stopped_by_a_signal(pants::smol::Group::builder);
}
