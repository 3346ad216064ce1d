//! The TLS conformance suite: TLS streams on real loopback sockets, on every driver. The
//! test's side is a blocking rustls client (another TLS stack than the engine's own use of
//! rustls: it shares the library, not our code), or a pants TLS client on the same engine.
#![cfg(feature = "tls")]

mod common;

use std::io::{Read, Write};
use std::sync::Arc;

use common::{Checksum, Client, Driver, Log, Rng, Running, TempDir, start};
use pants::rustls::pki_types::ServerName;
use pants::rustls::{ClientConnection, StreamOwned};
use pants::{Addr, ChannelId, Connect, Context, Frame, Handler, Listen, TlsClient, TlsServer};

/// One test module per driver, one test per scenario (as in `conformance.rs`).
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        tests_for_driver!(mio, Mio, $($name),*);
        tests_for_driver!(smol, Smol, $($name),*);
    };
}

macro_rules! tests_for_driver {
    ($module:ident, $driver:ident, $($name:ident),*) => {
        mod $module {
            $(
                #[test]
                fn $name() {
                    super::$name(super::Driver::$driver)
                }
            )*
        }
    };
}

conformance!(
    tls_echo_of_8_mib_tcp_v4,
    tls_echo_of_8_mib_tcp_v6,
    tls_echo_of_8_mib_unix,
    tls_with_delimiter_switching,
    tls_write_file_is_read_and_encrypted,
    pants_tls_client_and_server_on_one_engine,
);

/// A self-signed certificate for `localhost`, 127.0.0.1 and ::1.
struct Identity {
    cert_pem: String,
    key_pem: String,
}

impl Identity {
    fn new() -> Self {
        let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
        let made = rcgen::generate_simple_self_signed(names).expect("a certificate");
        Self {
            cert_pem: made.cert.pem(),
            key_pem: made.signing_key.serialize_pem(),
        }
    }

    fn server(&self) -> TlsServer {
        TlsServer::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes()).unwrap()
    }

    fn client(&self) -> TlsClient {
        TlsClient::with_ca_pem(self.cert_pem.as_bytes()).unwrap()
    }

    /// A blocking rustls client connected to `addr`, verifying the server as `localhost`.
    fn connect(&self, addr: &Addr) -> StreamOwned<ClientConnection, Client> {
        let config = Arc::clone(self.client().config());
        let name = ServerName::try_from("localhost").unwrap();
        let conn = ClientConnection::new(config, name).unwrap();
        StreamOwned::new(conn, Client::connect(addr))
    }
}

/// Starts an engine with one TLS server made by `listen`; returns its address.
fn serve(driver: Driver, listen: impl FnOnce() -> Listen + Send + 'static) -> (Running, Addr) {
    let (running, local) = start(driver, move |cx| {
        let id = cx.listen_with(listen()).expect("listen");
        cx.channel(id).unwrap().local().unwrap()
    });
    (running, local)
}

/// Echoes what arrives.
struct Echo;

impl Handler for Echo {
    fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
        cx.write(data).expect("queue has room");
    }
}

/// Writes 8 MiB in random chunks, then `close_notify`; the server echoes and closes after
/// its own; the echo read to the end must match.
fn tls_echo_of_8_mib(driver: Driver, listen_at: String, seed: u64) {
    let identity = Identity::new();
    let tls = identity.server();
    let (running, local) = serve(driver, move || Listen::new(listen_at, || Echo).tls(tls));
    let data = Rng::new(seed).bytes(8 << 20);
    let expected = Checksum::of(&data);
    let mut client = identity.connect(&local);
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut rest = &data[..];
    while !rest.is_empty() {
        let n = (1 + rng.below(100_000)).min(rest.len());
        client.write_all(&rest[..n]).expect("write");
        rest = &rest[n..];
    }
    client.conn.send_close_notify();
    client.flush().expect("flush the close_notify");
    let mut echoed = Checksum::default();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match client.read(&mut buf) {
            Ok(0) => break, // the server's close_notify: a clean end
            Ok(n) => echoed.update(&buf[..n]),
            Err(err) => panic!("reading the echo: {err}"),
        }
    }
    assert_eq!(
        echoed.finish(),
        expected,
        "the echo differs from what was sent"
    );
    running.stop();
}

fn tls_echo_of_8_mib_tcp_v4(driver: Driver) {
    tls_echo_of_8_mib(driver, "127.0.0.1:0".into(), 11);
}

fn tls_echo_of_8_mib_tcp_v6(driver: Driver) {
    tls_echo_of_8_mib(driver, "[::1]:0".into(), 12);
}

fn tls_echo_of_8_mib_unix(driver: Driver) {
    let dir = TempDir::new("tls-echo");
    tls_echo_of_8_mib(driver, dir.unix("server.sock"), 13);
    drop(dir);
}

/// A header line gives a body's length; the body is read with a count delimiter, answered
/// with its length and checksum, and the delimiter goes back to lines.
#[derive(Default)]
struct LengthThenBody {
    in_body: bool,
}

impl Handler for LengthThenBody {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\n").unwrap();
    }

    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        if self.in_body {
            let (len, sum) = Checksum::of(&frame);
            cx.write(format!("{len} {sum}\n"));
            cx.set_read_delimiter("\n").unwrap();
        } else {
            let len: usize = std::str::from_utf8(&frame).unwrap().parse().unwrap();
            cx.set_read_delimiter(len).unwrap();
        }
        self.in_body = !self.in_body;
    }
}

fn tls_with_delimiter_switching(driver: Driver) {
    let identity = Identity::new();
    let tls = identity.server();
    let (running, local) = serve(driver, move || {
        Listen::new("127.0.0.1:0", LengthThenBody::default).tls(tls)
    });
    let mut client = identity.connect(&local);
    let mut rng = Rng::new(21);
    let mut expected = String::new();
    let mut wire = Vec::new();
    for _ in 0..50 {
        let len = 1 + rng.below(40_000);
        let body = rng.bytes(len);
        let (len, sum) = Checksum::of(&body);
        expected.push_str(&format!("{len} {sum}\n"));
        wire.extend_from_slice(format!("{}\n", body.len()).as_bytes());
        wire.extend_from_slice(&body);
    }
    let mut rest = &wire[..];
    while !rest.is_empty() {
        let n = (1 + rng.below(7_000)).min(rest.len());
        client.write_all(&rest[..n]).expect("write");
        rest = &rest[n..];
    }
    let mut answers = vec![0; expected.len()];
    client.read_exact(&mut answers).expect("the answers");
    assert_eq!(String::from_utf8(answers).unwrap(), expected);
    running.stop();
}

/// Sends a file with `write_file` once the handshake is done, then closes.
struct SendsFile {
    path: std::path::PathBuf,
}

impl Handler for SendsFile {
    fn on_tls_handshake(&mut self, cx: &mut Context<'_>) {
        let file = Arc::new(std::fs::File::open(&self.path).unwrap());
        let len = file.metadata().unwrap().len();
        cx.write_file(file, 0, len);
        cx.close();
    }
}

fn tls_write_file_is_read_and_encrypted(driver: Driver) {
    let identity = Identity::new();
    let dir = TempDir::new("tls-file");
    let path = dir.path("payload");
    let data = Rng::new(31).bytes(3 << 20);
    std::fs::write(&path, &data).unwrap();
    let tls = identity.server();
    let (running, local) = serve(driver, move || {
        Listen::new("127.0.0.1:0", move || SendsFile { path: path.clone() }).tls(tls)
    });
    let mut client = identity.connect(&local);
    let mut got = Vec::new();
    client
        .read_to_end(&mut got)
        .expect("the file, then close_notify");
    assert_eq!(Checksum::of(&got), Checksum::of(&data));
    running.stop();
}

/// A pants TLS client: says a line at the handshake, records the answer.
struct SaysHello {
    log: Log,
}

impl Handler for SaysHello {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        self.log.push("connect");
        cx.set_read_delimiter("\n").unwrap();
    }

    fn on_tls_handshake(&mut self, cx: &mut Context<'_>) {
        self.log.push("handshake");
        cx.write("hello over tls\n");
    }

    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        self.log
            .push(format!("read {}", String::from_utf8_lossy(&line)));
        cx.close();
    }

    fn on_close(&mut self, _: &mut Context<'_>) {
        self.log.push("close");
    }
}

fn pants_tls_client_and_server_on_one_engine(driver: Driver) {
    let identity = Identity::new();
    let (server, client) = (identity.server(), identity.client());
    let log = Log::default();
    let seen = log.clone();
    let (running, _): (Running, ChannelId) = start(driver, move |cx| {
        let id = cx
            .listen_with(Listen::new("127.0.0.1:0", || Echo).tls(server))
            .expect("listen");
        let local = cx.channel(id).unwrap().local().unwrap();
        cx.connect_with(Connect::new(local, SaysHello { log: seen }).tls(client))
            .expect("connect")
    });
    let entries = log.wait_for(|log| log.last().map(String::as_str) == Some("close"));
    assert_eq!(
        entries,
        ["connect", "handshake", "read hello over tls", "close"]
    );
    running.stop();
}
