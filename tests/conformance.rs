//! The conformance suite: the same scenarios on real loopback sockets, on every driver.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::thread;

use bytes::Bytes;
use common::{Driver, Rng, STEP, start};
use pants::{Addr, Context, Handler};

struct Echo;

impl Handler for Echo {
    fn on_read(&mut self, cx: &mut Context<'_>, data: Bytes) {
        cx.write(data).expect("queue has room");
    }
}

/// Runs each test body on every driver.
macro_rules! on_every_driver {
    ($($name:ident),* $(,)?) => {
        mod mio {
            $(#[test] fn $name() { super::$name(super::Driver::Mio) })*
        }
    };
}

on_every_driver!(
    echo_integrity_tcp_v4,
    echo_integrity_tcp_v6,
    echo_integrity_unix,
    connect_refused_reports_connect_error_then_close,
    callbacks_run_in_order_on_real_sockets,
);

fn listen_echo(driver: Driver, addr: &str) -> (common::Running, Addr) {
    let addr = addr.to_owned();
    let (running, local) = start(driver, move |cx| {
        let id = cx.listen(addr.as_str(), || Echo).expect("listen");
        cx.channel(id).unwrap().local().cloned().unwrap()
    });
    (running, local)
}

/// Sends 8 MiB in random chunks from one thread while another reads it back; compares.
fn echo_8_mib<S: Read + Write + Send + 'static>(stream: S, clone: S, seed: u64) {
    let mut rng = Rng::new(seed);
    let data = rng.bytes(8 << 20);
    let expected = data.clone();
    let mut writer = stream;
    let sender = thread::spawn(move || {
        let mut rng = Rng::new(seed ^ 0xabc);
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = (1 + rng.below(100_000)).min(rest.len());
            writer.write_all(&rest[..n]).expect("write");
            rest = &rest[n..];
        }
        writer
    });
    let mut reader = clone;
    let mut echoed = vec![0; expected.len()];
    reader
        .read_exact(&mut echoed)
        .expect("read back everything");
    let _writer = sender.join().expect("sender");
    assert!(echoed == expected, "echoed bytes differ");
}

fn echo_integrity_tcp(driver: Driver, addr: &str) {
    let (running, local) = listen_echo(driver, addr);
    let stream = TcpStream::connect(local.as_ip().unwrap()).expect("connect");
    stream.set_read_timeout(Some(STEP)).unwrap();
    stream.set_write_timeout(Some(STEP)).unwrap();
    let clone = stream.try_clone().unwrap();
    echo_8_mib(stream, clone, 1);
    running.stop();
}

fn echo_integrity_tcp_v4(driver: Driver) {
    echo_integrity_tcp(driver, "127.0.0.1:0");
}

fn echo_integrity_tcp_v6(driver: Driver) {
    echo_integrity_tcp(driver, "[::1]:0");
}

fn echo_integrity_unix(driver: Driver) {
    let dir = std::env::temp_dir().join(format!("pants-conf-{}-{driver:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let (running, local) = listen_echo(driver, &format!("unix:{}", path.display()));
    assert_eq!(local, Addr::Unix(path.clone()));
    let stream = UnixStream::connect(&path).expect("connect");
    stream.set_read_timeout(Some(STEP)).unwrap();
    stream.set_write_timeout(Some(STEP)).unwrap();
    let clone = stream.try_clone().unwrap();
    echo_8_mib(stream, clone, 2);
    running.stop();
    assert!(
        !path.exists(),
        "the listener's socket file is removed on close"
    );
    let _ = std::fs::remove_dir(&dir);
}

type Log = Arc<Mutex<Vec<String>>>;

struct Recorder(Log);

impl Handler for Recorder {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        self.0.lock().unwrap().push("connect".into());
        cx.set_read_delimiter("\n").unwrap();
        cx.write("hello\n").unwrap();
    }
    fn on_read(&mut self, cx: &mut Context<'_>, line: Bytes) {
        self.0
            .lock()
            .unwrap()
            .push(format!("read {}", String::from_utf8_lossy(&line)));
        cx.close();
    }
    fn on_write(&mut self, _: &mut Context<'_>) {
        self.0.lock().unwrap().push("write".into());
    }
    fn on_eof(&mut self, _: &mut Context<'_>) {
        self.0.lock().unwrap().push("eof".into());
    }
    fn on_connect_error(&mut self, _: &mut Context<'_>, err: &pants::ConnectError) {
        self.0.lock().unwrap().push(format!("connect_error {err}"));
    }
    fn on_close(&mut self, _: &mut Context<'_>) {
        self.0.lock().unwrap().push("close".into());
    }
}

/// Waits (bounded) until `log` satisfies `done`.
fn wait_for(log: &Log, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = std::time::Instant::now() + STEP;
    loop {
        let snapshot = log.lock().unwrap().clone();
        if done(&snapshot) {
            return snapshot;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out; log so far: {snapshot:?}"
        );
        thread::sleep(std::time::Duration::from_millis(2));
    }
}

fn callbacks_run_in_order_on_real_sockets(driver: Driver) {
    let log: Log = Arc::default();
    let server_log = log.clone();
    let (running, local) = start(driver, move |cx| {
        let id = cx
            .listen("127.0.0.1:0", move || Recorder(server_log.clone()))
            .unwrap();
        cx.channel(id).unwrap().local().cloned().unwrap()
    });
    let mut client = TcpStream::connect(local.as_ip().unwrap()).unwrap();
    client.set_read_timeout(Some(STEP)).unwrap();
    let mut greeting = [0; 6];
    client.read_exact(&mut greeting).unwrap();
    assert_eq!(&greeting, b"hello\n");
    client.write_all(b"bye\n").unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap(); // the server shuts down its side after close()
    client.shutdown(Shutdown::Write).unwrap();
    let log = wait_for(&log, |log| log.last().is_some_and(|l| l == "close"));
    assert_eq!(log, ["connect", "write", "read bye", "close"]);
    running.stop();
}

fn connect_refused_reports_connect_error_then_close(driver: Driver) {
    // A port that was just free: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log: Log = Arc::default();
    let client_log = log.clone();
    let (running, _) = start(driver, move |cx| {
        cx.connect(format!("127.0.0.1:{port}"), Recorder(client_log))
            .unwrap();
    });
    let log = wait_for(&log, |log| log.last().is_some_and(|l| l == "close"));
    assert_eq!(log, ["connect_error connection refused", "close"]);
    running.stop();
}
