//! The example servers under attack (issue 20) and their printed address (issue 16, item 8),
//! on real sockets: what stalls is closed by the timeouts their flags set, a file the server
//! cannot open for want of descriptors is a `503`, and `udp_echo` prints an address it takes
//! back (and refuses `--tls`, which only streams speak).
//!
//! The example binaries are taken from next to this test binary (`target/<profile>/examples`,
//! where `cargo test --workspace` builds them), or built with cargo when missing. Every server
//! is killed when its guard is dropped; every wait is bounded by [`STEP`]: a server's close is
//! waited for with a read timeout, never a sleep.

mod common;

use std::fs;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{STEP, TempDir, example, run_example_to_end};
use pants::testing::Network;
use pants_protocols::http::{self, HttpConfig};

/// The timeout the tests give a server: short, so that the tests are quick; the server's
/// close is then awaited for up to [`STEP`].
const SHORT: &str = "0.3";

// ---------------------------------------------------------------------------------------------
// Stalled requests are closed by the timeouts the flags set
// ---------------------------------------------------------------------------------------------

#[test]
fn http_answers_a_stalled_half_head_408_and_closes_at_the_header_timeout() {
    let reply = closed_by_timeout("http", "--header-timeout", b"GET / HTTP/1.1\r\nHost: t\r\n");
    assert!(
        reply.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
}

#[test]
fn resp_closes_a_stalled_half_command_at_the_idle_timeout() {
    let reply = closed_by_timeout("resp", "--idle-timeout", b"*2\r\n$3\r\nGET\r\n$3\r\nke");
    assert!(reply.is_empty(), "{:?}", String::from_utf8_lossy(&reply));
}

#[test]
fn chat_closes_a_stalled_half_line_at_the_idle_timeout() {
    let reply = closed_by_timeout("chat", "--idle-timeout", b"a line that never ends");
    assert!(reply.is_empty(), "{:?}", String::from_utf8_lossy(&reply));
}

#[test]
fn echo_closes_a_silent_client_at_the_idle_timeout() {
    let reply = closed_by_timeout("echo", "--idle-timeout", b"ping");
    assert_eq!(reply, b"ping");
}

#[test]
fn an_idle_timeout_of_zero_keeps_a_silent_client() {
    let server = Server::start("echo", &["--idle-timeout", "0"]);
    let mut client = server.connect();
    client
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut byte = [0];
    // The bound of the read is the test's measure: no close within a second.
    let read = client.read(&mut byte);
    assert!(
        matches!(&read, Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "{read:?}"
    );
}

/// Starts example `name` with `flag` set to [`SHORT`], sends `request` on a connection and
/// reads until the server closes it (bounded by [`STEP`]); checks that the close came no
/// sooner than the timeout, counted from before the request. Returns what was read.
fn closed_by_timeout(name: &str, flag: &str, request: &[u8]) -> Vec<u8> {
    let server = Server::start(name, &[flag, SHORT]);
    let mut client = server.connect();
    let start = Instant::now();
    client.write_all(request).unwrap();
    client.set_read_timeout(Some(STEP)).unwrap();
    let mut reply = Vec::new();
    match client.read_to_end(&mut reply) {
        Ok(_) => {}
        Err(err) if err.kind() == ErrorKind::ConnectionReset => {}
        Err(err) => panic!(
            "{name} did not close within {STEP:?}: {err}; got {:?}",
            String::from_utf8_lossy(&reply)
        ),
    }
    let waited = start.elapsed();
    let timeout = Duration::from_secs_f64(SHORT.parse().unwrap());
    assert!(waited >= timeout, "{name} closed after {waited:?}");
    reply
}

// ---------------------------------------------------------------------------------------------
// Out of descriptors: 503, never 404
// ---------------------------------------------------------------------------------------------

/// With every descriptor taken, a file that exists is answered `503` (it was `404`); once
/// descriptors are free, `200`. Runs in a child process, whose descriptor limit is lowered;
/// the server runs on the in-memory network, which needs no descriptors.
#[test]
fn a_file_the_server_cannot_open_for_want_of_descriptors_is_503() {
    const MODE: &str = "http-emfile";
    if common::child_mode().as_deref() != Some(MODE) {
        common::run_in_child(
            "a_file_the_server_cannot_open_for_want_of_descriptors_is_503",
            MODE,
        );
        return;
    }
    const EMFILE: i32 = 24;
    let dir = TempDir::new("emfile");
    fs::write(dir.path("file.txt"), "here\n").unwrap();
    let mut net = Network::new();
    let config = HttpConfig {
        root: Some(dir.path("")),
        ..HttpConfig::default()
    };
    net.context()
        .listen_with(http::listen("127.0.0.1:80", config))
        .unwrap();
    let peer = net.peer_connect("127.0.0.1:80").unwrap();
    let get = |net: &mut Network| {
        net.send(peer, "GET /file.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        net.run();
        net.received(peer)
    };
    common::lower_nofile_limit(128);
    let mut hog = Vec::new();
    loop {
        match fs::File::open("/dev/null") {
            Ok(file) => hog.push(file),
            Err(err) if err.raw_os_error() == Some(EMFILE) => break,
            Err(err) => panic!("open /dev/null: {err}"),
        }
    }
    let full = get(&mut net);
    drop(hog);
    assert!(
        full.starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"),
        "{:?}",
        String::from_utf8_lossy(&full)
    );
    let freed = get(&mut net);
    assert!(freed.starts_with(b"HTTP/1.1 200 OK\r\n"), "{freed:?}");
    assert!(freed.ends_with(b"here\n"));
}

// ---------------------------------------------------------------------------------------------
// The printed address can be passed back (issue 16, item 8)
// ---------------------------------------------------------------------------------------------

#[test]
fn udp_echo_prints_the_unixgram_address_it_was_given() {
    let dir = TempDir::new("unixgram");
    let listen = format!("unixgram:{}", dir.path("echo.sock").display());
    let server = Server::start_at("udp_echo", &listen, &[]);
    assert_eq!(
        server.addr, listen,
        "the printed address is not the one given"
    );
    // And it is one to talk to: a datagram to that path comes back.
    let path = server.addr.strip_prefix("unixgram:").unwrap();
    let client = UnixDatagram::bind(dir.path("client.sock")).unwrap();
    client.set_read_timeout(Some(STEP)).unwrap();
    client.send_to(b"round trip", path).unwrap();
    let mut buf = [0; 64];
    let n = client.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"round trip");
}

#[test]
fn udp_echo_refuses_tls_with_an_error_instead_of_ignoring_it() {
    let output = run_example_to_end(
        "udp_echo",
        &["--listen", "127.0.0.1:0", "--tls"],
        "TLS was ignored",
    );
    let (status, stdout, stderr) = (
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(!status.success(), "udp_echo --tls exited with {status}");
    assert!(!stdout.contains("listening on"), "it listened: {stdout:?}");
    assert!(
        stderr.contains("--tls"),
        "the error does not name --tls: {stderr:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Example servers
// ---------------------------------------------------------------------------------------------

/// A running example server, killed when dropped.
struct Server {
    child: Child,
    /// The address it printed, after `listening on `.
    addr: String,
}

impl Server {
    /// Starts example `name` on a free loopback port with `extra` arguments.
    fn start(name: &str, extra: &[&str]) -> Server {
        Self::start_at(name, "127.0.0.1:0", extra)
    }

    /// Starts example `name` with `--listen listen` and `extra` arguments, and waits (bounded)
    /// for its `listening on ADDR` line.
    fn start_at(name: &str, listen: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(example(name))
            .args(["--listen", listen])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("start {name}: {err}"));
        let stdout = child.stdout.take().expect("a piped stdout");
        let (tx, line) = mpsc::channel();
        thread::spawn(move || {
            let mut first = String::new();
            let _ = BufReader::new(stdout).read_line(&mut first);
            let _ = tx.send(first);
        });
        let mut server = Server {
            child,
            addr: String::new(),
        };
        let first = line
            .recv_timeout(STEP)
            .unwrap_or_else(|_| panic!("{name} printed nothing within {STEP:?}"));
        server.addr = first
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                let status = server.child.try_wait();
                panic!("{name} printed {first:?} (exit status {status:?})")
            })
            .to_owned();
        server
    }

    /// A TCP connection to the server, every call bounded by [`STEP`].
    fn connect(&self) -> TcpStream {
        let addr = self.addr.parse().expect("an IP address");
        let stream = TcpStream::connect_timeout(&addr, STEP).expect("connect");
        stream.set_write_timeout(Some(STEP)).unwrap();
        stream
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
