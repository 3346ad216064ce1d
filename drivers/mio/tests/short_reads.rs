//! After a short TCP read the driver tells the engine that the read emptied the socket
//! (`Received::emptied`), and the engine reads again only once the poller reports the socket.
//! These are the cases where a short read does not mean an empty receive queue; each is arranged so that everything arrives before the engine's next
//! poll, and none may lose or stall a byte or the end of the stream.
//!
//! The tests drive the engine with `poll` from the test thread, so they decide what the
//! kernel holds when the engine looks. Every wait is bounded by [`STEP`].

use std::cell::RefCell;
use std::io::{self, IoSlice, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use pants_core::{Context, Frame, Handler};
use pants_mio::Engine;

/// The bound on every wait.
const STEP: Duration = Duration::from_secs(10);

/// What a channel saw: its callbacks, and the poll (counted by the test) each came in.
#[derive(Clone, Default)]
struct Log {
    entries: Rc<RefCell<Vec<String>>>,
    polls: Rc<RefCell<u32>>,
}

impl Log {
    fn push(&self, entry: String) {
        let poll = *self.polls.borrow();
        self.entries.borrow_mut().push(format!("{poll}: {entry}"));
    }

    /// The entries without their poll numbers.
    fn callbacks(&self) -> Vec<String> {
        let entries = self.entries.borrow();
        let without_poll = |entry: &String| entry.split_once(": ").unwrap().1.to_owned();
        entries.iter().map(without_poll).collect()
    }

    /// The bytes of every `on_read`, in order.
    fn read(&self) -> String {
        let reads = self.callbacks();
        let data = reads.iter().filter_map(|entry| entry.strip_prefix("read "));
        data.collect()
    }

    /// Polls `engine` until `done`; fails after [`STEP`].
    fn poll_until(&self, engine: &mut Engine, what: &str, done: impl Fn(&Log) -> bool) {
        let deadline = Instant::now() + STEP;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "{what}: {:?}",
                self.entries.borrow()
            );
            *self.polls.borrow_mut() += 1;
            engine.poll(Some(Duration::from_millis(10))).unwrap();
        }
    }
}

/// Logs every callback of a stream.
struct Recorder(Log);

impl Handler for Recorder {
    fn on_connect(&mut self, _: &mut Context<'_>) {
        self.0.push("connect".into());
    }
    fn on_read(&mut self, _: &mut Context<'_>, data: Frame<'_>) {
        self.0
            .push(format!("read {}", String::from_utf8_lossy(&data)));
    }
    fn on_eof(&mut self, _: &mut Context<'_>) {
        self.0.push("eof".into());
    }
    fn on_close(&mut self, _: &mut Context<'_>) {
        self.0.push("close".into());
    }
}

/// Connects to `host` (the listener's port) and has the peer send `hello` and close before
/// the engine hears that the connect completed: one event reports the connect, the data and
/// the end of the stream together.
fn data_and_eof_with_the_connect(host: &str) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Log::default();
    let mut engine = Engine::new().unwrap();
    engine
        .connect(format!("{host}:{port}").as_str(), Recorder(log.clone()))
        .unwrap();
    // Poll (a host name is resolved off the loop) until the connection is in the accept
    // queue; on loopback the handshake is done by then, and the engine has not polled since.
    let deadline = Instant::now() + STEP;
    let mut peer = loop {
        match listener.accept() {
            Ok((peer, _)) => break peer,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => panic!("accept: {err}"),
        }
        assert!(Instant::now() < deadline, "no connection for {host}");
        *log.polls.borrow_mut() += 1;
        engine.poll(Some(Duration::from_millis(10))).unwrap();
    };
    peer.write_all(b"hello").unwrap();
    drop(peer);
    log.poll_until(&mut engine, "close", |log| {
        log.callbacks().iter().any(|entry| entry == "close")
    });
    assert_eq!(log.callbacks(), ["connect", "read hello", "eof", "close"]);
    let entries = log.entries.borrow();
    let poll_of = |i: usize| entries[i].split_once(": ").unwrap().0.to_owned();
    assert_eq!(
        poll_of(0),
        poll_of(1),
        "the scenario needs the connect and the data in one poll: {entries:?}"
    );
}

#[test]
fn eof_behind_data_in_the_connect_event_is_seen() {
    data_and_eof_with_the_connect("127.0.0.1");
}

/// A host-name connect replaces its socket's state when it completes: what the same event
/// said of the end of the stream must survive that.
#[test]
fn eof_behind_data_in_the_connect_event_is_seen_after_a_host_name() {
    data_and_eof_with_the_connect("localhost");
}

/// Listens at `addr` with a [`Recorder`] per connection; returns the engine and the address.
fn serve(addr: &str, log: &Log) -> (Engine, String) {
    let mut engine = Engine::new().unwrap();
    let conn_log = log.clone();
    let server = engine
        .listen(addr, move || Recorder(conn_log.clone()))
        .unwrap();
    let local = engine.local_addr(server).unwrap().to_string();
    (engine, local)
}

/// A TCP read stops short at the urgent mark, with the rest of the data queued behind it.
#[test]
fn urgent_data_does_not_stall_a_tcp_stream() {
    let log = Log::default();
    let (mut engine, local) = serve("127.0.0.1:0", &log);
    let client = TcpStream::connect(&local).unwrap();
    log.poll_until(&mut engine, "connect", |log| !log.callbacks().is_empty());
    let client = socket2::SockRef::from(&client);
    client.send(b"abc").unwrap();
    client.send_out_of_band(b"!").unwrap();
    client.send(b"def").unwrap();
    log.poll_until(&mut engine, "the data after the urgent byte", |log| {
        log.read().len() >= 6
    });
    assert_eq!(log.read(), "abcdef", "the urgent byte is out of band");
}

/// A Unix stream read stops short after a message that passes descriptors.
#[test]
fn passed_descriptors_do_not_stall_a_unix_stream() {
    let dir = TempDir::new("passed-fds");
    let log = Log::default();
    let (mut engine, _) = serve(&format!("unix:{}", dir.socket().display()), &log);
    let client = UnixStream::connect(dir.socket()).unwrap();
    log.poll_until(&mut engine, "connect", |log| !log.callbacks().is_empty());
    let passed = std::fs::File::open("/dev/null").unwrap();
    let fds = [passed.as_fd()];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut ancillary = rustix::net::SendAncillaryBuffer::new(&mut space);
    assert!(ancillary.push(rustix::net::SendAncillaryMessage::ScmRights(&fds)));
    let flags = rustix::net::SendFlags::empty();
    rustix::net::sendmsg(&client, &[IoSlice::new(b"A")], &mut ancillary, flags).unwrap();
    rustix::net::send(&client, b"B", flags).unwrap();
    log.poll_until(&mut engine, "the data after the descriptor", |log| {
        log.read().len() >= 2
    });
    assert_eq!(log.read(), "AB");
}

/// A directory of this test's own, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("pants-mio-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn socket(&self) -> PathBuf {
        self.0.join("socket")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
