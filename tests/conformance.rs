//! The conformance suite: the same scenarios on real loopback sockets (127.0.0.1, ::1, Unix
//! sockets in a per-test directory), on every driver.
//!
//! Each scenario is a function taking a [`Driver`]; [`conformance!`] makes one test per
//! scenario and driver (`mio::echo_integrity_tcp_v4`, ...). Ports come from binding port 0,
//! every blocking step is bounded by [`STEP`], and waiting for the engine is polling a
//! condition against a deadline.

mod common;

use std::fmt::Display;
use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{
    Checksum, Client, Driver, Log, Rng, Running, STEP, TempDir, TestListener, start, wait_until,
};
use pants::{
    Addr, ChannelId, ConnectError, Context, Error, Frame, Handler, Idle, Listen, OverflowError,
    StreamConfig, WriteLimits, WriteStatus,
};

/// Makes a test module per driver, with one test per scenario. A scenario may carry
/// attributes (`#[ignore = "bug: ..."]`), applied on every driver. Adding a driver is one
/// line here (its module name must be its `Driver` variant in lower case).
macro_rules! conformance {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {
        tests_for_driver!(mio, Mio, $($(#[$attr])* $name),*);
        tests_for_driver!(smol, Smol, $($(#[$attr])* $name),*);
    };
}

macro_rules! tests_for_driver {
    ($module:ident, $driver:ident, $($(#[$attr:meta])* $name:ident),*) => {
        mod $module {
            $(
                #[test]
                $(#[$attr])*
                fn $name() {
                    // A child process finds its test by this module's name.
                    assert_eq!(stringify!($module), super::Driver::$driver.module());
                    super::$name(super::Driver::$driver)
                }
            )*
        }
    };
}

conformance!(
    // Callback order on real sockets.
    callbacks_in_order_server_side_tcp_v4,
    callbacks_in_order_server_side_tcp_v6,
    callbacks_in_order_server_side_unix,
    callbacks_in_order_client_side_tcp_v4,
    callbacks_in_order_client_side_unix,
    on_connect_comes_before_early_data,
    connect_refused_reports_connect_error_then_close_tcp_v4,
    connect_refused_reports_connect_error_then_close_unix,
    // Byte streams.
    echo_integrity_tcp_v4,
    echo_integrity_tcp_v6,
    echo_integrity_unix,
    peer_half_close_with_queued_reply_tcp_v4,
    peer_half_close_with_queued_reply_unix,
    close_after_flush_of_64_mib,
    reset_mid_write_then_serve_another_client,
    // Datagrams.
    datagrams_arrive_whole_udp_v4,
    datagrams_arrive_whole_udp_v6,
    datagrams_arrive_whole_unix,
    // The engine.
    thousand_concurrent_connections,
    graceful_stop_flushes_queued_replies,
    post_from_other_threads_runs_on_the_loop,
    emfile_does_not_spin,
    // Addresses.
    connect_by_host_name,
    unknown_host_name_gives_a_resolve_error,
    stale_unix_socket_files,
    stale_unix_datagram_socket_files,
    stale_check_does_not_block_on_a_busy_server,
);

// ---- Handlers and helpers ----------------------------------------------------------------

/// Echoes what arrives: on a stream to its peer, on a datagram channel to the sender.
struct Echo;

impl Handler for Echo {
    fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
        cx.write(data).expect("queue has room");
    }
}

/// Records every callback as "TAG CALLBACK", and speaks a small line protocol: greets with
/// `hello` on connect and answers `ack LINE` to each line (when asked to), closes on `bye`.
struct Recorder {
    tag: &'static str,
    log: Log,
    greet: bool,
    answer: bool,
}

impl Recorder {
    /// Greets, answers lines.
    fn greeting(tag: &'static str, log: &Log) -> Self {
        let log = log.clone();
        Self {
            tag,
            log,
            greet: true,
            answer: true,
        }
    }

    /// Only records (and closes on `bye`).
    fn quiet(tag: &'static str, log: &Log) -> Self {
        let log = log.clone();
        Self {
            tag,
            log,
            greet: false,
            answer: false,
        }
    }

    fn note(&self, what: impl Display) {
        self.log.push(format!("{} {what}", self.tag));
    }
}

impl Handler for Recorder {
    fn on_listen(&mut self, _: &mut Context<'_>) {
        self.note("listen");
    }
    fn on_accept(&mut self, _: &mut Context<'_>, _: ChannelId) {
        self.note("accept");
    }
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        self.note("connect");
        cx.set_read_delimiter("\n").unwrap();
        if self.greet {
            cx.write("hello\n").unwrap();
        }
    }
    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        let line = String::from_utf8_lossy(&line).into_owned();
        self.note(format_args!("read {line}"));
        if line == "bye" {
            cx.close();
        } else if self.answer {
            cx.write(format!("ack {line}\n")).unwrap();
        }
    }
    fn on_write(&mut self, _: &mut Context<'_>) {
        self.note("write");
    }
    fn on_eof(&mut self, _: &mut Context<'_>) {
        self.note("eof");
    }
    fn on_close(&mut self, _: &mut Context<'_>) {
        self.note("close");
    }
    fn on_connect_error(&mut self, _: &mut Context<'_>, err: &ConnectError) {
        self.note(format_args!("connect_error {err}"));
    }
    fn on_error(&mut self, _: &mut Context<'_>, err: &Error) {
        self.note(format_args!("error {err}"));
    }
    fn on_overflow_error(&mut self, _: &mut Context<'_>, err: &OverflowError) {
        self.note(format_args!("overflow {err}"));
    }
    fn on_idle(&mut self, cx: &mut Context<'_>, kind: Idle) {
        self.note(format_args!("idle {kind:?}"));
        cx.close();
    }
}

/// Echoes lines, counting the connections open at once.
struct LineEcho {
    live: Arc<AtomicUsize>,
}

impl Handler for LineEcho {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        self.live.fetch_add(1, Ordering::SeqCst);
        cx.set_read_delimiter("\n").unwrap();
    }
    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        cx.write([&line[..], b"\n"].concat()).unwrap();
    }
    fn on_close(&mut self, _: &mut Context<'_>) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answers each request line with one large reply; notes how much is still queued at EOF.
struct BigReply {
    reply: Bytes,
    log: Log,
}

impl Handler for BigReply {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\n").unwrap();
    }
    fn on_read(&mut self, cx: &mut Context<'_>, _: Frame<'_>) {
        match cx.write(self.reply.clone()).into_result() {
            Ok(_) => self.log.push("reply queued"),
            Err(err) => self.log.push(format!("write error {err}")),
        }
    }
    fn on_eof(&mut self, cx: &mut Context<'_>) {
        self.log.push(format!("eof queued={}", cx.this().queued()));
    }
    fn on_error(&mut self, _: &mut Context<'_>, err: &Error) {
        self.log.push(format!("error {err}"));
    }
    fn on_close(&mut self, _: &mut Context<'_>) {
        self.log.push("close");
    }
}

/// Stream settings whose write queue takes large replies whole.
fn roomy_queue() -> StreamConfig {
    StreamConfig {
        write_limits: WriteLimits::new(WriteLimits::DEFAULT_HIGH_WATER, 256 << 20),
        ..StreamConfig::default()
    }
}

#[derive(Debug, Clone, Copy)]
enum Family {
    V4,
    V6,
    Unix,
}

impl Family {
    /// An address to listen at (port 0, or a socket file in `dir`).
    fn listen_addr(self, dir: &TempDir) -> String {
        match self {
            Family::V4 => "127.0.0.1:0".into(),
            Family::V6 => "[::1]:0".into(),
            Family::Unix => dir.unix("server.sock"),
        }
    }
}

/// Starts an engine with one server, made on the loop by `listen`; returns the server's id and
/// real address.
fn serve(
    driver: Driver,
    listen: impl FnOnce() -> Listen + Send + 'static,
) -> (Running, ChannelId, Addr) {
    let (running, (id, local)) = start(driver, move |cx| {
        let id = cx.listen_with(listen()).expect("listen");
        let local = cx.channel(id).unwrap().local().unwrap();
        (id, local)
    });
    (running, id, local)
}

// ---- Callback order ----------------------------------------------------------------------

fn callbacks_in_order_server_side(driver: Driver, family: Family) {
    let dir = TempDir::new("callbacks-server");
    let addr = family.listen_addr(&dir);
    let log = Log::default();
    let (server_log, conn_log) = (log.clone(), log.clone());
    let (running, _, local) = serve(driver, move || {
        Listen::new(addr, move || Recorder::greeting("conn", &conn_log))
            .handler(Recorder::quiet("server", &server_log))
    });
    let mut client = Client::connect(&local);
    client.expect(b"hello\n");
    client.write_all(b"ping\n").unwrap();
    client.expect(b"ack ping\n");
    client.shutdown_write();
    client.expect_eof(); // the connection closes once its queue is flushed after our EOF
    log.wait_count("conn close", 1);
    drop(client);
    running.stop();
    assert_eq!(
        log.snapshot(),
        [
            "server listen",
            "server accept",
            "conn connect",
            "conn write",
            "conn read ping",
            "conn write",
            "conn eof",
            "conn close",
            "server close",
        ]
    );
}

fn callbacks_in_order_server_side_tcp_v4(driver: Driver) {
    callbacks_in_order_server_side(driver, Family::V4);
}

fn callbacks_in_order_server_side_tcp_v6(driver: Driver) {
    callbacks_in_order_server_side(driver, Family::V6);
}

fn callbacks_in_order_server_side_unix(driver: Driver) {
    callbacks_in_order_server_side(driver, Family::Unix);
}

fn callbacks_in_order_client_side(driver: Driver, family: Family) {
    let dir = TempDir::new("callbacks-client");
    let (listener, addr) = TestListener::bind(&family.listen_addr(&dir));
    let log = Log::default();
    let client_log = log.clone();
    let (running, ()) = start(driver, move |cx| {
        cx.connect(addr, Recorder::greeting("client", &client_log))
            .unwrap();
    });
    let mut peer = listener.accept();
    peer.expect(b"hello\n");
    peer.write_all(b"ping\n").unwrap();
    peer.expect(b"ack ping\n");
    peer.write_all(b"bye\n").unwrap();
    peer.expect_eof(); // the client closes: flushes, then shuts down its write side
    drop(peer); // our EOF is what its linger waits for
    log.wait_count("client close", 1);
    running.stop();
    assert_eq!(
        log.snapshot(),
        [
            "client connect",
            "client write",
            "client read ping",
            "client write",
            "client read bye",
            "client close",
        ]
    );
}

fn callbacks_in_order_client_side_tcp_v4(driver: Driver) {
    callbacks_in_order_client_side(driver, Family::V4);
}

fn callbacks_in_order_client_side_unix(driver: Driver) {
    callbacks_in_order_client_side(driver, Family::Unix);
}

/// The peer sends at once on accepting, and shuts down: `on_connect` still comes first.
fn on_connect_comes_before_early_data(driver: Driver) {
    let (listener, addr) = TestListener::bind("127.0.0.1:0");
    let log = Log::default();
    let client_log = log.clone();
    let (running, ()) = start(driver, move |cx| {
        cx.connect(addr, Recorder::quiet("client", &client_log))
            .unwrap();
    });
    let mut peer = listener.accept();
    peer.write_all(b"early\n").unwrap();
    peer.shutdown_write();
    peer.expect_eof(); // the client closes after our EOF
    drop(peer);
    log.wait_count("client close", 1);
    running.stop();
    assert_eq!(
        log.snapshot(),
        [
            "client connect",
            "client read early",
            "client eof",
            "client close"
        ]
    );
}

/// Nothing listens at the address: `on_connect_error`, then `on_close`, and nothing else.
fn connect_refused(driver: Driver, family: Family) {
    let dir = TempDir::new("refused");
    // An address that was just in use: a port bound and released, or a stale socket file.
    let addr = match family {
        Family::Unix => {
            let path = dir.path("stale.sock");
            drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
            Addr::Unix(path)
        }
        _ => {
            let (listener, addr) = TestListener::bind(&family.listen_addr(&dir));
            drop(listener);
            addr
        }
    };
    let log = Log::default();
    let client_log = log.clone();
    let (running, ()) = start(driver, move |cx| {
        cx.connect(addr, Recorder::quiet("client", &client_log))
            .unwrap();
    });
    log.wait_count("client close", 1);
    running.stop();
    assert_eq!(
        log.snapshot(),
        ["client connect_error connection refused", "client close"]
    );
}

fn connect_refused_reports_connect_error_then_close_tcp_v4(driver: Driver) {
    connect_refused(driver, Family::V4);
}

fn connect_refused_reports_connect_error_then_close_unix(driver: Driver) {
    connect_refused(driver, Family::Unix);
}

// ---- Byte streams ------------------------------------------------------------------------

/// Sends 8 MiB in random chunks from one thread while another reads the echo; compares.
fn echo_integrity(driver: Driver, family: Family, seed: u64) {
    let dir = TempDir::new("echo");
    let addr = family.listen_addr(&dir);
    let (running, _, local) = serve(driver, move || Listen::new(addr, || Echo));
    let data = Rng::new(seed).bytes(8 << 20);
    let expected = Checksum::of(&data);
    let mut writer = Client::connect(&local);
    let mut reader = writer.try_clone();
    let sender = thread::spawn(move || {
        let mut rng = Rng::new(seed ^ 0xabc);
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = (1 + rng.below(100_000)).min(rest.len());
            writer.write_all(&rest[..n]).expect("write");
            rest = &rest[n..];
        }
        writer.shutdown_write();
        writer
    });
    let echoed = reader.checksum_to_eof().expect("read the echo, then EOF");
    let writer = sender.join().expect("sender");
    assert_eq!(echoed, expected, "the echo differs from what was sent");
    drop((reader, writer));
    running.stop();
    if let Family::Unix = family {
        assert_eq!(local, Addr::Unix(dir.path("server.sock")));
        assert!(
            !dir.path("server.sock").exists(),
            "the listener's socket file is removed on close"
        );
    }
}

fn echo_integrity_tcp_v4(driver: Driver) {
    echo_integrity(driver, Family::V4, 1);
}

fn echo_integrity_tcp_v6(driver: Driver) {
    echo_integrity(driver, Family::V6, 2);
}

fn echo_integrity_unix(driver: Driver) {
    echo_integrity(driver, Family::Unix, 3);
}

/// The peer sends a request and shuts down its write side at once; the reply is so large that
/// it is still queued when the server sees EOF. Every byte arrives, then the server closes.
fn peer_half_close_with_queued_reply(driver: Driver, family: Family) {
    let dir = TempDir::new("half-close");
    let addr = family.listen_addr(&dir);
    let reply = Bytes::from(Rng::new(4).bytes(16 << 20));
    let expected = Checksum::of(&reply);
    let log = Log::default();
    let conn_log = log.clone();
    let (running, _, local) = serve(driver, move || {
        Listen::new(addr, move || BigReply {
            reply: reply.clone(),
            log: conn_log.clone(),
        })
        .stream_config(roomy_queue())
    });
    // A small receive window: what we do not read stays in the server's queue.
    let mut client = Client::connect_small_window(&local);
    client.write_all(b"GET\n").unwrap();
    client.shutdown_write();
    let eof = log.wait_prefix("eof");
    let queued: usize = eof["eof queued=".len()..].parse().unwrap();
    assert!(
        queued > 0,
        "the scenario needs the reply still queued at EOF: {eof}"
    );
    eprintln!("{family:?}: {queued} bytes of the reply still queued at EOF");
    let got = client
        .checksum_to_eof()
        .expect("the whole reply, then EOF (not a reset)");
    assert_eq!(got, expected, "the reply arrived damaged or cut short");
    log.wait_count("close", 1);
    drop(client);
    running.stop();
    assert_eq!(log.snapshot(), ["reply queued", &eof, "close"]);
}

fn peer_half_close_with_queued_reply_tcp_v4(driver: Driver) {
    peer_half_close_with_queued_reply(driver, Family::V4);
}

fn peer_half_close_with_queued_reply_unix(driver: Driver) {
    peer_half_close_with_queued_reply(driver, Family::Unix);
}

/// Queues its data in random pieces on connect, then closes (after flushing).
struct Flood {
    data: Bytes,
    seed: u64,
    log: Log,
}

impl Handler for Flood {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        let mut rng = Rng::new(self.seed);
        let mut at = 0;
        while at < self.data.len() {
            let n = (1 + rng.below(2 << 20)).min(self.data.len() - at);
            if let Err(err) = cx.write(self.data.slice(at..at + n)).into_result() {
                self.log.push(format!("write error {err}"));
                return;
            }
            at += n;
        }
        cx.close();
        self.log.push("queued all, closing");
    }
    fn on_error(&mut self, _: &mut Context<'_>, err: &Error) {
        self.log.push(format!("error {err}"));
    }
    fn on_close(&mut self, _: &mut Context<'_>) {
        self.log.push("close");
    }
}

/// The server queues 64 MiB, then `close()`: the client reads it all, then EOF.
fn close_after_flush_of_64_mib(driver: Driver) {
    let data = Bytes::from(Rng::new(5).bytes(64 << 20));
    let expected = Checksum::of(&data);
    let log = Log::default();
    let conn_log = log.clone();
    let (running, _, local) = serve(driver, move || {
        Listen::new("127.0.0.1:0", move || Flood {
            data: data.clone(),
            seed: 6,
            log: conn_log.clone(),
        })
        .stream_config(roomy_queue())
    });
    let mut client = Client::connect(&local);
    let got = client
        .checksum_to_eof()
        .expect("all 64 MiB, then EOF (not a reset)");
    assert_eq!(got, expected, "the stream arrived damaged or cut short");
    drop(client); // the server's linger ends with our EOF
    log.wait_count("close", 1);
    running.stop();
    assert_eq!(log.snapshot(), ["queued all, closing", "close"]);
}

/// Writes a repeated block for as long as the connection lasts, refilling on `on_write`.
struct Firehose {
    block: Bytes,
    n: usize,
    log: Log,
}

impl Firehose {
    fn note(&self, what: impl Display) {
        self.log.push(format!("conn{} {what}", self.n));
    }

    fn fill(&mut self, cx: &mut Context<'_>) {
        loop {
            match cx.write(self.block.clone()).into_result() {
                Ok(WriteStatus::Ready) => {}
                Ok(WriteStatus::AboveHighWater) => return,
                Err(err) => return self.note(format_args!("write error {err}")),
            }
        }
    }
}

impl Handler for Firehose {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        self.note("connect");
        self.fill(cx);
    }
    fn on_write(&mut self, cx: &mut Context<'_>) {
        self.fill(cx);
    }
    fn on_eof(&mut self, _: &mut Context<'_>) {
        self.note("eof");
    }
    fn on_error(&mut self, _: &mut Context<'_>, err: &Error) {
        match err {
            Error::Reset => self.note("error reset"),
            Error::Unsent(_) => self.note("error unsent"),
            other => self.note(format_args!("error {other:?}")),
        }
    }
    fn on_close(&mut self, _: &mut Context<'_>) {
        self.note("close");
    }
}

/// A client resets the connection while the server is writing: the server's handler gets
/// `on_error` (reset, then what was queued and never sent) then `on_close`, and the engine
/// serves the next client.
fn reset_mid_write_then_serve_another_client(driver: Driver) {
    let block = Bytes::from(Rng::new(8).bytes(256 * 1024));
    let log = Log::default();
    let (conn_log, conn_block) = (log.clone(), block.clone());
    let (running, _, local) = serve(driver, move || {
        let mut n = 0;
        Listen::new("127.0.0.1:0", move || {
            n += 1;
            Firehose {
                block: conn_block.clone(),
                n,
                log: conn_log.clone(),
            }
        })
    });
    for (n, read) in [(1, 64 * 1024), (2, 1 << 20)] {
        let mut client = Client::connect(&local);
        let mut got = vec![0; read];
        std::io::Read::read_exact(&mut client, &mut got).expect("the stream flows");
        let intact = got
            .iter()
            .enumerate()
            .all(|(i, b)| *b == block[i % block.len()]);
        assert!(intact, "client {n} got damaged bytes");
        // The server's queue is non-empty: the firehose refills it whenever it drains.
        client.reset();
        log.wait_count(&format!("conn{n} close"), 1);
    }
    running.stop();
    assert_eq!(
        log.snapshot(),
        [
            "conn1 connect",
            "conn1 error reset",
            "conn1 error unsent",
            "conn1 close",
            "conn2 connect",
            "conn2 error reset",
            "conn2 error unsent",
            "conn2 close",
        ]
    );
}

// ---- Datagrams ---------------------------------------------------------------------------

/// Echoes each datagram to its sender, noting its size and sender.
struct DatagramEcho {
    log: Log,
}

impl Handler for DatagramEcho {
    fn on_listen(&mut self, _: &mut Context<'_>) {
        self.log.push("listen");
    }
    fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
        let from = cx.peer().map(|peer| peer.to_string()).unwrap_or_default();
        self.log.push(format!("read {} from {from}", data.len()));
        if let Err(err) = cx.write(data).into_result() {
            self.log.push(format!("write error {err}"));
        }
    }
    fn on_error(&mut self, _: &mut Context<'_>, err: &Error) {
        self.log.push(format!("error {err}"));
    }
    fn on_close(&mut self, _: &mut Context<'_>) {
        self.log.push("close");
    }
}

/// The smallest and the largest UDP payload over IPv4.
const DATAGRAM_SIZES: [usize; 2] = [1, 65_507];

fn datagrams_arrive_whole_udp(driver: Driver, loopback: &str) {
    let log = Log::default();
    let handler_log = log.clone();
    let bind = format!("{loopback}:0");
    let (running, local) = start(driver, move |cx| {
        let id = cx
            .datagram(bind.as_str(), DatagramEcho { log: handler_log })
            .expect("bind");
        cx.channel(id).unwrap().local().unwrap().as_ip().unwrap()
    });
    let socket = UdpSocket::bind(format!("{loopback}:0")).unwrap();
    socket.set_read_timeout(Some(STEP)).unwrap();
    let me = socket.local_addr().unwrap();
    let mut rng = Rng::new(9);
    for size in DATAGRAM_SIZES {
        let data = rng.bytes(size);
        assert_eq!(socket.send_to(&data, local).unwrap(), size);
        let mut buf = vec![0; 70_000];
        let (n, from) = socket.recv_from(&mut buf).expect("the echo");
        assert_eq!((n, from), (size, local), "the echo's size and sender");
        assert!(buf[..n] == data[..], "the echo of {size} bytes differs");
    }
    running.stop();
    let reads = DATAGRAM_SIZES.map(|size| format!("read {size} from {me}"));
    assert_eq!(log.snapshot(), ["listen", &reads[0], &reads[1], "close"]);
}

fn datagrams_arrive_whole_udp_v4(driver: Driver) {
    datagrams_arrive_whole_udp(driver, "127.0.0.1");
}

fn datagrams_arrive_whole_udp_v6(driver: Driver) {
    datagrams_arrive_whole_udp(driver, "[::1]");
}

fn datagrams_arrive_whole_unix(driver: Driver) {
    let dir = TempDir::new("datagrams");
    let (server, client) = (dir.path("server.sock"), dir.path("client.sock"));
    let log = Log::default();
    let handler_log = log.clone();
    let bind = dir.unix("server.sock");
    let (running, ()) = start(driver, move |cx| {
        cx.datagram(bind, DatagramEcho { log: handler_log })
            .expect("bind");
    });
    let socket = UnixDatagram::bind(&client).unwrap();
    socket.set_read_timeout(Some(STEP)).unwrap();
    socket.set_write_timeout(Some(STEP)).unwrap();
    let mut rng = Rng::new(10);
    for size in DATAGRAM_SIZES {
        let data = rng.bytes(size);
        assert_eq!(socket.send_to(&data, &server).unwrap(), size);
        let mut buf = vec![0; 70_000];
        let (n, from) = socket.recv_from(&mut buf).expect("the echo");
        assert_eq!(n, size, "the echo's size");
        assert_eq!(
            from.as_pathname(),
            Some(server.as_path()),
            "the echo's sender"
        );
        assert!(buf[..n] == data[..], "the echo of {size} bytes differs");
    }
    running.stop();
    let me = Addr::Unix(client.clone());
    let reads = DATAGRAM_SIZES.map(|size| format!("read {size} from {me}"));
    assert_eq!(log.snapshot(), ["listen", &reads[0], &reads[1], "close"]);
    assert!(
        !server.exists(),
        "the bound socket file is removed on close"
    );
}

// ---- The engine --------------------------------------------------------------------------

/// 1,000 clients connected at once each send a line and get it back.
fn thousand_concurrent_connections(driver: Driver) {
    const CLIENTS: usize = 1000;
    let limit = common::raise_nofile_limit(4096);
    assert!(
        limit >= 2 * CLIENTS as u64 + 100,
        "RLIMIT_NOFILE {limit} is too low for {CLIENTS} connections"
    );
    let live = Arc::new(AtomicUsize::new(0));
    let conn_live = live.clone();
    let (running, server, local) = serve(driver, move || {
        Listen::new("127.0.0.1:0", move || LineEcho {
            live: conn_live.clone(),
        })
    });
    let started = Instant::now();
    let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::connect(&local)).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        client
            .write_all(format!("client {i}\n").as_bytes())
            .unwrap();
    }
    for (i, client) in clients.iter_mut().enumerate() {
        client.expect(format!("client {i}\n").as_bytes());
    }
    let open = running.call(move |cx| cx.connections(server).len());
    assert_eq!(open, CLIENTS, "every connection open at once on the server");
    assert_eq!(live.load(Ordering::SeqCst), CLIENTS);
    drop(clients);
    wait_until("every connection closed on the server", || {
        live.load(Ordering::SeqCst) == 0
    });
    eprintln!("{CLIENTS} connections served in {:?}", started.elapsed());
    running.stop();
}

/// `Handle::stop()` while clients wait for replies still queued: they get every byte, then
/// EOF; `run()` returns; the listener is gone.
fn graceful_stop_flushes_queued_replies(driver: Driver) {
    const CLIENTS: usize = 3;
    let reply = Bytes::from(Rng::new(11).bytes(16 << 20));
    let expected = Checksum::of(&reply);
    let log = Log::default();
    let (conn_log, server_log) = (log.clone(), log.clone());
    let (running, server, local) = serve(driver, move || {
        Listen::new("127.0.0.1:0", move || BigReply {
            reply: reply.clone(),
            log: conn_log.clone(),
        })
        .handler(Recorder::quiet("server", &server_log))
        .stream_config(roomy_queue())
    });
    let mut clients: Vec<Client> = (0..CLIENTS)
        .map(|_| Client::connect_small_window(&local))
        .collect();
    for client in &mut clients {
        client.write_all(b"GET\n").unwrap();
    }
    log.wait_count("reply queued", CLIENTS);
    let queued = running.call(move |cx| {
        let conns = cx.connections(server);
        conns
            .into_iter()
            .map(|id| cx.channel(id).map_or(0, |c| c.queued()))
            .collect::<Vec<_>>()
    });
    eprintln!("bytes still queued at stop: {queued:?}");
    assert_eq!(queued.len(), CLIENTS);
    assert!(
        queued.iter().all(|&q| q > 0),
        "replies still queued: {queued:?}"
    );
    running.request_stop();
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut client| thread::spawn(move || client.checksum_to_eof()))
        .collect();
    for reader in readers {
        let got = reader.join().unwrap().expect("the whole reply, then EOF");
        assert_eq!(got, expected, "a reply arrived damaged or cut short");
    }
    running.join();
    assert_eq!(log.count("close"), CLIENTS, "{:?}", log.snapshot());
    assert_eq!(log.count("server close"), 1, "{:?}", log.snapshot());
    assert!(
        !log.snapshot().iter().any(|e| e.contains("error")),
        "{:?}",
        log.snapshot()
    );
    let refused = TcpStream::connect(local.as_ip().unwrap()).map(drop);
    assert_eq!(
        refused.map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionRefused),
        "the listener is closed"
    );
}

/// Work posted from other threads runs on the loop thread, in each thread's order, wakes an
/// idle loop, and may open channels.
fn post_from_other_threads_runs_on_the_loop(driver: Driver) {
    const THREADS: usize = 4;
    const POSTS: usize = 100;
    let (running, ()) = start(driver, |_| ());
    let engine_thread = running.thread_id();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let posters: Vec<_> = (0..THREADS)
        .map(|t| {
            let (remote, seen) = (running.remote(), seen.clone());
            thread::spawn(move || {
                for i in 0..POSTS {
                    let seen = seen.clone();
                    remote.post(move |_| {
                        seen.lock().unwrap().push((t, i, thread::current().id()));
                    });
                }
            })
        })
        .collect();
    for poster in posters {
        poster.join().unwrap();
    }
    wait_until("every posted closure to run", || {
        seen.lock().unwrap().len() == THREADS * POSTS
    });
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().all(|(_, _, thread)| *thread == engine_thread));
    for t in 0..THREADS {
        let order: Vec<usize> = seen
            .iter()
            .filter(|(from, _, _)| *from == t)
            .map(|(_, i, _)| *i)
            .collect();
        assert_eq!(order, (0..POSTS).collect::<Vec<_>>(), "thread {t}'s order");
    }
    // A posted closure can open channels.
    let (listener, addr) = TestListener::bind("127.0.0.1:0");
    let log = Log::default();
    let client_log = log.clone();
    running.post(move |cx| {
        cx.connect(addr, Recorder::greeting("client", &client_log))
            .unwrap();
    });
    let mut peer = listener.accept();
    peer.expect(b"hello\n");
    drop(peer);
    log.wait_count("client close", 1);
    running.stop();
}

/// With the descriptor table full, a client waiting in the listener's backlog does not make
/// the loop spin; once descriptors are free, it is served. Runs in a child process, whose
/// descriptor limit is lowered.
fn emfile_does_not_spin(driver: Driver) {
    let mode = format!("emfile-{}", driver.module());
    if common::child_mode().as_deref() == Some(mode.as_str()) {
        emfile_in_child(driver);
    } else {
        common::run_in_child(&format!("{}::emfile_does_not_spin", driver.module()), &mode);
    }
}

fn emfile_in_child(driver: Driver) {
    const EMFILE: i32 = 24;
    common::lower_nofile_limit(128);
    let log = Log::default();
    let server_log = log.clone();
    let live = Arc::new(AtomicUsize::new(0));
    let (running, _, local) = serve(driver, move || {
        Listen::new("127.0.0.1:0", move || LineEcho { live: live.clone() })
            .handler(Recorder::quiet("server", &server_log))
    });
    // Fill the descriptor table, but for one slot: the client's socket takes it.
    let mut hog = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) => hog.push(file),
            Err(err) if err.raw_os_error() == Some(EMFILE) => break,
            Err(err) => panic!("open /dev/null: {err}"),
        }
    }
    hog.pop();
    let mut client = Client::connect(&local);
    let error = log.wait_prefix("server error");
    eprintln!(
        "the server reported: {error}; {} descriptors held",
        hog.len()
    );
    let (cpu, wall) = (common::process_cpu_time(), Instant::now());
    thread::sleep(Duration::from_secs(1)); // measuring, not waiting for an event
    let (cpu, wall) = (common::process_cpu_time() - cpu, wall.elapsed());
    let share = cpu.as_secs_f64() / wall.as_secs_f64();
    eprintln!("CPU {cpu:?} over {wall:?} with the table full ({share:.3} of a core)");
    assert!(
        share < 0.2,
        "the loop spins on a listener it cannot accept from: {share:.3} of a core"
    );
    drop(hog);
    client.write_all(b"served?\n").unwrap();
    client.expect(b"served?\n");
    drop(client);
    running.stop();
    assert_eq!(
        log.snapshot()
            .iter()
            .filter(|e| e.contains("error"))
            .count(),
        1,
        "one error per exhaustion episode: {:?}",
        log.snapshot()
    );
}

// ---- Addresses ---------------------------------------------------------------------------

/// Records the peer it connected to, says hi, closes on the answer.
struct HostClient {
    log: Log,
}

impl Handler for HostClient {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        let peer = cx.peer().map(|peer| peer.to_string()).unwrap_or_default();
        self.log.push(format!("connect to {peer}"));
        cx.set_read_delimiter("\n").unwrap();
        cx.write("hi\n").unwrap();
    }
    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        self.log
            .push(format!("read {}", String::from_utf8_lossy(&line)));
        cx.close();
    }
    fn on_connect_error(&mut self, _: &mut Context<'_>, err: &ConnectError) {
        self.log.push(format!("connect_error {err:?}"));
    }
    fn on_close(&mut self, _: &mut Context<'_>) {
        self.log.push("close");
    }
}

/// `localhost:PORT` is resolved (off the loop) and connected to.
fn connect_by_host_name(driver: Driver) {
    // Listen where `localhost` resolves to first: that is the address a resolver picks.
    let ip = ("localhost", 0)
        .to_socket_addrs()
        .expect("localhost resolves")
        .next()
        .expect("an address for localhost")
        .ip();
    let live = Arc::new(AtomicUsize::new(0));
    let (running, _, local) = serve(driver, move || {
        Listen::new(SocketAddr::new(ip, 0), move || LineEcho {
            live: live.clone(),
        })
    });
    let port = local.port().unwrap();
    let log = Log::default();
    let client_log = log.clone();
    running.post(move |cx| {
        cx.connect(format!("localhost:{port}"), HostClient { log: client_log })
            .unwrap();
    });
    log.wait_count("close", 1);
    running.stop();
    assert_eq!(
        log.snapshot(),
        [
            format!("connect to {}", SocketAddr::new(ip, port)),
            "read hi".into(),
            "close".into()
        ]
    );
}

/// A name that does not resolve (`.invalid` never does) fails the connect with
/// `ConnectError::Resolve`, then `on_close`.
fn unknown_host_name_gives_a_resolve_error(driver: Driver) {
    let log = Log::default();
    let client_log = log.clone();
    let (running, ()) = start(driver, move |cx| {
        cx.connect("no-such-host.invalid:80", HostClient { log: client_log })
            .unwrap();
    });
    let log = log.wait_for(|log| log.iter().any(|e| e == "close"));
    running.stop();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log[0].starts_with("connect_error Resolve("),
        "expected ConnectError::Resolve, got {}",
        log[0]
    );
}

/// A leftover socket file with nothing behind it is replaced; a live one, or a file that is
/// not a socket, gives `AddrInUse` and is left alone; the listener's file goes when it closes.
fn stale_unix_socket_files(driver: Driver) {
    let dir = TempDir::new("stale");
    let path = dir.path("server.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "a stale socket file is left behind");
    let live_path = dir.path("live.sock");
    let live = std::os::unix::net::UnixListener::bind(&live_path).unwrap();
    let plain = dir.path("plain");
    std::fs::write(&plain, "not a socket").unwrap();

    let addr = dir.unix("server.sock");
    let (running, server, local) = serve(driver, move || Listen::new(addr, || Echo));
    let mut client = Client::connect(&local);
    client.write_all(b"x").unwrap();
    client.expect(b"x");
    drop(client);

    let taken =
        [live_path.clone(), path.clone(), plain.clone()].map(|p| format!("unix:{}", p.display()));
    let refused = running
        .call(move |cx| taken.map(|addr| cx.listen(addr, || Echo).map(drop).map_err(|e| e.kind())));
    assert_eq!(
        refused,
        [Err(ErrorKind::AddrInUse); 3],
        "a live foreign listener, our own live listener, a plain file"
    );
    assert_eq!(std::fs::read_to_string(&plain).unwrap(), "not a socket");
    drop(
        std::os::unix::net::UnixStream::connect(&live_path).expect("the live listener still works"),
    );
    live.set_nonblocking(true).unwrap();
    assert!(live.accept().is_ok(), "the live listener still accepts");

    running.call(move |cx| cx.channel(server).unwrap().close());
    wait_until("the listener's socket file to go", || !path.exists());
    let again = dir.unix("server.sock");
    let reopened =
        running.call(move |cx| cx.listen(again, || Echo).map(drop).map_err(|e| e.kind()));
    assert_eq!(reopened, Ok(()), "the path is free again");
    running.stop();
    assert!(!path.exists(), "removed when the engine stops");
}

/// The same for Unix datagram sockets.
fn stale_unix_datagram_socket_files(driver: Driver) {
    let dir = TempDir::new("stale-datagram");
    let path = dir.path("server.sock");
    drop(UnixDatagram::bind(&path).unwrap());
    assert!(path.exists(), "a stale socket file is left behind");
    let live_path = dir.path("live.sock");
    let _live = UnixDatagram::bind(&live_path).unwrap();

    let log = Log::default();
    let handler_log = log.clone();
    let bind = dir.unix("server.sock");
    let (running, id) = start(driver, move |cx| {
        cx.datagram(bind, DatagramEcho { log: handler_log })
            .expect("a stale socket file is replaced")
    });
    let socket = UnixDatagram::bind(dir.path("client.sock")).unwrap();
    socket.set_read_timeout(Some(STEP)).unwrap();
    socket.send_to(b"x", &path).unwrap();
    let mut buf = [0; 8];
    assert_eq!(socket.recv(&mut buf).expect("the echo"), 1);

    let taken = format!("unix:{}", live_path.display());
    let refused = running.call(move |cx| {
        cx.datagram(
            taken,
            DatagramEcho {
                log: Log::default(),
            },
        )
        .map(drop)
        .map_err(|e| e.kind())
    });
    assert_eq!(refused, Err(ErrorKind::AddrInUse), "a live socket file");
    assert!(live_path.exists(), "the live socket's file stays");

    running.call(move |cx| cx.channel(id).unwrap().close());
    wait_until("the bound socket file to go", || !path.exists());
    running.stop();
}

/// Listening at the path of a live Unix server whose backlog is full answers `AddrInUse` at
/// once: the stale-file check must not block the loop.
fn stale_check_does_not_block_on_a_busy_server(driver: Driver) {
    let dir = TempDir::new("busy");
    let path = dir.path("busy.sock");
    let busy = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
    busy.bind(&socket2::SockAddr::unix(&path).unwrap()).unwrap();
    busy.listen(1).unwrap();
    let busy = std::os::unix::net::UnixListener::from(busy);
    // Fill its backlog: connects that do not block, until one would.
    let mut waiting = Vec::new();
    loop {
        let socket = socket2::Socket::new(
            socket2::Domain::UNIX,
            socket2::Type::STREAM.nonblocking(),
            None,
        )
        .unwrap();
        match socket.connect(&socket2::SockAddr::unix(&path).unwrap()) {
            Ok(()) => waiting.push(socket),
            Err(err) if err.kind() == ErrorKind::WouldBlock => break,
            Err(err) => panic!("connect: {err}"),
        }
        assert!(waiting.len() < 100, "the backlog never fills");
    }
    let (running, ()) = start(driver, |_| ());
    let (tx, rx) = std::sync::mpsc::channel();
    let addr = dir.unix("busy.sock");
    let asked = Instant::now();
    running.post(move |cx| {
        let _ = tx.send(cx.listen(addr, || Echo).map(drop).map_err(|e| e.kind()));
    });
    let answer = rx.recv_timeout(Duration::from_secs(2));
    let waited = asked.elapsed();
    // Unblock the loop either way: take the waiting connections off the busy server.
    busy.set_nonblocking(true).unwrap();
    while busy.accept().is_ok() {}
    let answer = answer.or_else(|_| rx.recv_timeout(STEP));
    running.stop();
    assert_eq!(answer, Ok(Err(ErrorKind::AddrInUse)));
    assert!(
        waited < Duration::from_secs(2),
        "listen blocked the loop for {waited:?} while the busy server's backlog was full"
    );
    drop(waiting);
}
