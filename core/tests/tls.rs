//! TLS streams on the in-memory network: handshakes between two pants channels with
//! certificates made in the test, STARTTLS, refused injections, bad certificates, closing
//! with close_notify, truncation, the handshake timeout, and `write_file` under TLS.
#![cfg(feature = "tls")]

mod tls_util;

use std::time::Duration;

use pants_core::testing::Network;
use pants_core::{Connect, Context, Frame, Handler, Listen, StreamConfig, TlsVersion};
use tls_util::{Identity, RawClient, Recorder, entries, log};

const ADDR: &str = "127.0.0.1:1";

fn tls_echo_server(net: &mut Network, identity: &Identity) -> tls_util::Log {
    let server_log = log();
    let seen = server_log.clone();
    net.context()
        .listen_with(
            Listen::new(ADDR, move || Recorder {
                echo: true,
                ..Recorder::new(&seen)
            })
            .tls(identity.server()),
        )
        .unwrap();
    server_log
}

/// Connects a TLS client that writes `greeting` at its handshake (and closes after it when
/// `then_close`); returns its log.
fn greeting_client(
    net: &mut Network,
    identity: &Identity,
    greeting: &'static str,
    then_close: bool,
) -> tls_util::Log {
    let client = log();
    let recorder = Recorder {
        greeting: Some(greeting),
        close_after_greeting: then_close,
        ..Recorder::new(&client)
    };
    net.context()
        .connect_with(Connect::new(ADDR, recorder).tls(identity.client()))
        .unwrap();
    client
}

#[test]
fn two_pants_channels_handshake_then_echo_lines() {
    let identity = Identity::new();
    let mut net = Network::new();
    let server = tls_echo_server(&mut net, &identity);
    let client = greeting_client(&mut net, &identity, "hello\nworld\n", false);
    net.run();
    assert_eq!(
        entries(&client),
        ["connect", "handshake", "read:hello", "read:world"]
    );
    assert_eq!(
        entries(&server),
        ["connect", "handshake", "read:hello", "read:world"]
    );
}

/// The version, the number of peer certificates and the ALPN protocol, as seen at the
/// handshake.
type Seen = Option<(Option<TlsVersion>, usize, Option<Vec<u8>>)>;

/// Reads the TLS facts at the handshake.
struct Facts {
    seen: std::rc::Rc<std::cell::RefCell<Seen>>,
}

impl Handler for Facts {
    fn on_tls_handshake(&mut self, cx: &mut Context<'_>) {
        let info = cx.tls().unwrap();
        *self.seen.borrow_mut() = Some((
            info.version(),
            info.peer_certificates().map_or(0, <[_]>::len),
            info.alpn().map(<[u8]>::to_vec),
        ));
    }
}

#[test]
fn the_handshake_tells_the_version_alpn_and_peer_certificates() {
    let identity = Identity::new();
    let mut net = Network::new();
    net.context()
        .listen_with(Listen::new(ADDR, || ()).tls(identity.server().with_alpn(&[b"pants/1"])))
        .unwrap();
    let seen = std::rc::Rc::default();
    let facts = Facts {
        seen: std::rc::Rc::clone(&seen),
    };
    let client = identity.client().with_alpn(&[b"other", b"pants/1"]);
    net.context()
        .connect_with(Connect::new(ADDR, facts).tls(client))
        .unwrap();
    net.run();
    assert_eq!(
        *seen.borrow(),
        Some((Some(TlsVersion::Tls13), 1, Some(b"pants/1".to_vec())))
    );
}

#[test]
fn a_certificate_the_client_does_not_trust_gives_tls_errors_then_close_on_both_sides() {
    let identity = Identity::new();
    let stranger = Identity::new();
    let mut net = Network::new();
    let server = tls_echo_server(&mut net, &identity);
    let client = log();
    net.context()
        .connect_with(Connect::new(ADDR, Recorder::new(&client)).tls(stranger.client()))
        .unwrap();
    net.run();
    assert_eq!(
        entries(&client),
        ["connect", "tls_error:certificate", "close"]
    );
    assert_eq!(entries(&server), ["connect", "tls_error:alert", "close"]);
}

#[test]
fn the_loudly_named_option_accepts_an_untrusted_certificate_for_another_name() {
    let identity = Identity::new();
    let mut net = Network::new();
    let server = tls_echo_server(&mut net, &identity);
    let client = log();
    let anything = pants_core::TlsClient::dangerous_accept_any_certificate()
        .server_name("example.com")
        .unwrap();
    let recorder = Recorder {
        greeting: Some("hello\n"),
        ..Recorder::new(&client)
    };
    net.context()
        .connect_with(Connect::new(ADDR, recorder).tls(anything))
        .unwrap();
    net.run();
    assert_eq!(entries(&client), ["connect", "handshake", "read:hello"]);
    assert_eq!(entries(&server), ["connect", "handshake", "read:hello"]);
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let identity = Identity::new();
    let mut net = Network::new();
    tls_echo_server(&mut net, &identity);
    let client = log();
    let named = identity.client().server_name("example.com").unwrap();
    net.context()
        .connect_with(Connect::new(ADDR, Recorder::new(&client)).tls(named))
        .unwrap();
    net.run();
    assert_eq!(
        entries(&client),
        ["connect", "tls_error:certificate", "close"]
    );
}

#[test]
fn close_sends_close_notify_after_the_last_bytes_and_the_peer_sees_a_clean_eof() {
    let identity = Identity::new();
    let mut net = Network::new();
    let server = tls_echo_server(&mut net, &identity);
    let client = greeting_client(&mut net, &identity, "last words\n", true);
    net.run();
    assert_eq!(
        entries(&server),
        ["connect", "handshake", "read:last words", "eof", "close"],
        "the frame, then a clean EOF (close_notify came), then the close"
    );
    assert_eq!(entries(&client), ["connect", "handshake", "close"]);
}

#[test]
fn a_graceful_stop_says_close_notify_to_an_idle_tls_peer_and_does_not_wait_for_its_own() {
    let identity = Identity::new();
    let mut net = Network::new();
    let server = tls_echo_server(&mut net, &identity);
    let mut raw = RawClient::connect(&mut net, ADDR, &identity);
    raw.handshake(&mut net);
    net.context().stop();
    net.run();
    // No time passed: the stop did not linger for the peer's close_notify or EOF.
    assert_eq!(entries(&server), ["connect", "handshake", "close"]);
    assert_eq!(raw.input(&mut net).unwrap(), b"");
    assert!(
        raw.conn.process_new_packets().unwrap().peer_has_closed(),
        "the idle peer got no close_notify: it would see a truncation"
    );
    assert!(net.saw_eof(raw.peer), "the transport was not closed");
}

#[test]
fn a_tcp_eof_without_close_notify_is_a_truncation_after_the_last_frame() {
    let identity = Identity::new();
    let mut net = Network::new();
    let server = tls_echo_server(&mut net, &identity);
    let mut raw = RawClient::connect(&mut net, ADDR, &identity);
    raw.handshake(&mut net);
    let records = raw.seal(b"complete\npartial");
    net.send(raw.peer, records);
    net.shutdown(raw.peer);
    net.run();
    let log = entries(&server);
    assert_eq!(
        log[..3],
        ["connect", "handshake", "read:complete"],
        "complete frames first"
    );
    assert!(
        log[3].starts_with("error:") && log[3].contains("7 bytes"),
        "{log:?}"
    );
    assert_eq!(log[4..], ["tls_error:truncated", "close"], "never on_eof");
}

/// Knows nothing of TLS: records its errors' kinds, and its close.
struct Unaware {
    log: tls_util::Log,
}

impl Handler for Unaware {
    fn on_error(&mut self, _: &mut Context<'_>, err: &pants_core::Error) {
        self.log
            .borrow_mut()
            .push(format!("error:{:?}", err.kind()));
    }
    fn on_eof(&mut self, _: &mut Context<'_>) {
        self.log.borrow_mut().push("eof".into());
    }
    fn on_close(&mut self, _: &mut Context<'_>) {
        self.log.borrow_mut().push("close".into());
    }
}

#[test]
fn a_handler_that_knows_nothing_of_tls_learns_of_a_truncation_through_on_error() {
    let identity = Identity::new();
    let mut net = Network::new();
    let server = log();
    let seen = server.clone();
    let listen = Listen::new(ADDR, move || Unaware { log: seen.clone() }).tls(identity.server());
    net.context().listen_with(listen).unwrap();
    let mut raw = RawClient::connect(&mut net, ADDR, &identity);
    raw.handshake(&mut net);
    net.shutdown(raw.peer);
    net.run();
    assert_eq!(
        entries(&server),
        ["error:UnexpectedEof", "close"],
        "never a clean eof"
    );
}

#[test]
fn a_handshake_that_never_comes_times_out() {
    let identity = Identity::new();
    let mut net = Network::new();
    let server = tls_echo_server(&mut net, &identity);
    let _silent = net.peer_connect(ADDR).unwrap();
    net.run();
    net.advance(Duration::from_secs(9));
    assert_eq!(entries(&server), ["connect"]);
    net.advance(Duration::from_secs(1));
    assert_eq!(entries(&server), ["connect", "tls_error:timeout", "close"]);
}

#[test]
fn a_plaintext_client_on_a_tls_port_is_dropped_and_others_are_served() {
    let identity = Identity::new();
    let mut net = Network::new();
    let server = tls_echo_server(&mut net, &identity);
    let plain = net.peer_connect(ADDR).unwrap();
    net.send(plain, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    net.run();
    let received = net.received(plain);
    assert!(
        received.len() < 16 && received.first() == Some(&0x15),
        "a fatal alert went back, nothing else: {received:?}"
    );
    assert!(net.saw_eof(plain), "then the server shut its side down");
    net.advance(StreamConfig::DEFAULT_LINGER);
    assert_eq!(
        entries(&server),
        ["connect", "tls_error:protocol", "close"],
        "and closed at the latest after the linger"
    );

    let client = greeting_client(&mut net, &identity, "still here\n", false);
    net.run();
    assert_eq!(
        entries(&client),
        ["connect", "handshake", "read:still here"]
    );
}

/// A line server that answers `STARTTLS` with `OK` and starts TLS; its lines after that are
/// echoed.
struct StartTlsServer {
    log: tls_util::Log,
    tls: pants_core::TlsServer,
}

impl Handler for StartTlsServer {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\r\n").unwrap();
    }

    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        self.log
            .borrow_mut()
            .push(format!("read:{}", String::from_utf8_lossy(&line)));
        if &*line == b"STARTTLS" {
            cx.write("OK\r\n");
            cx.start_tls(self.tls.clone()).unwrap();
        } else {
            cx.write([&line[..], b"\r\n"].concat());
        }
    }

    fn on_tls_handshake(&mut self, _cx: &mut Context<'_>) {
        self.log.borrow_mut().push("handshake".into());
    }

    fn on_tls_error(&mut self, _cx: &mut Context<'_>, err: &pants_core::TlsError) {
        self.log.borrow_mut().push(format!("tls_error:{err}"));
    }

    fn on_close(&mut self, _cx: &mut Context<'_>) {
        self.log.borrow_mut().push("close".into());
    }
}

/// A client that says a plaintext line, asks for STARTTLS, and after the handshake says a
/// secret.
struct StartTlsClient {
    log: tls_util::Log,
    tls: pants_core::TlsClient,
}

impl Handler for StartTlsClient {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\r\n").unwrap();
        cx.write("HELLO\r\nSTARTTLS\r\n");
    }

    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        self.log
            .borrow_mut()
            .push(format!("read:{}", String::from_utf8_lossy(&line)));
        if &*line == b"OK" {
            cx.start_tls(self.tls.clone()).unwrap();
        }
    }

    fn on_tls_handshake(&mut self, cx: &mut Context<'_>) {
        self.log.borrow_mut().push("handshake".into());
        assert!(cx.tls().is_some());
        cx.write("secret\r\n");
    }
}

/// Listens with [`StartTlsServer`]; returns its log.
fn starttls_server(net: &mut Network, identity: &Identity) -> tls_util::Log {
    let server = log();
    let (seen, tls) = (server.clone(), identity.server());
    net.listen(ADDR, move || StartTlsServer {
        log: seen.clone(),
        tls: tls.clone(),
    })
    .unwrap();
    server
}

/// A STARTTLS client connecting to `addr` and the [`StartTlsServer`], both with `identity`:
/// a plaintext line, STARTTLS, then a line under TLS, each side's log asserted.
fn assert_starttls_exchange(identity: &Identity, addr: &str) {
    let mut net = Network::new();
    let server = starttls_server(&mut net, identity);
    let client = log();
    net.connect(
        addr,
        StartTlsClient {
            log: client.clone(),
            tls: identity.client(),
        },
    )
    .unwrap();
    net.run();
    assert_eq!(
        entries(&server),
        ["read:HELLO", "read:STARTTLS", "handshake", "read:secret"]
    );
    assert_eq!(
        entries(&client),
        ["read:HELLO", "read:OK", "handshake", "read:secret"]
    );
}

#[test]
fn starttls_after_plaintext_lines_then_lines_under_tls() {
    assert_starttls_exchange(&Identity::new(), ADDR);
}

#[test]
fn starttls_on_a_client_that_connected_by_host_name_verifies_that_name() {
    // A certificate for the name only: verifying the peer's IP address would refuse it.
    assert_starttls_exchange(&Identity::for_names(&["localhost"]), "localhost:1");
}

#[test]
fn plaintext_injected_after_starttls_is_refused_not_fed_to_tls() {
    let identity = Identity::new();
    let mut net = Network::new();
    let server = starttls_server(&mut net, &identity);
    let attacker = net.peer_connect(ADDR).unwrap();
    // CVE-2021-23214: the command and the injection in one packet.
    net.send(attacker, "STARTTLS\r\nINJECTED\r\n");
    net.run();
    let log = entries(&server);
    assert_eq!(log[0], "read:STARTTLS");
    assert!(log[1].contains("10 bytes arrived in plaintext"), "{log:?}");
    assert_eq!(
        log.len(),
        2,
        "the injected line never reached on_read: {log:?}"
    );
    assert!(
        net.received(attacker).is_empty(),
        "nothing went out: the session failed before its clear reply was sent"
    );
    assert!(net.saw_eof(attacker));
    net.close(attacker);
    net.run();
    assert_eq!(entries(&server)[2..], ["close"]);
}

#[test]
fn a_server_close_sends_its_last_records_then_close_notify_then_its_eof() {
    let identity = Identity::new();
    let mut net = Network::new();
    let seen = log();
    let recorder = seen.clone();
    net.context()
        .listen_with(
            Listen::new(ADDR, move || Recorder {
                greeting: Some("goodbye\n"),
                close_after_greeting: true,
                ..Recorder::new(&recorder)
            })
            .tls(identity.server()),
        )
        .unwrap();
    let mut raw = RawClient::connect(&mut net, ADDR, &identity);
    let mut plaintext = raw.handshake(&mut net);
    plaintext.extend(raw.input(&mut net).unwrap());
    assert_eq!(plaintext, b"goodbye\n");
    let state = raw.conn.process_new_packets().unwrap();
    assert!(state.peer_has_closed(), "close_notify came after the data");
    assert!(net.saw_eof(raw.peer), "then the server shut its side down");
    net.close(raw.peer);
    net.run();
    assert_eq!(entries(&seen), ["connect", "handshake", "close"]);
}

#[test]
fn tls_1_2_works_too() {
    let identity = Identity::new();
    let mut net = Network::new();
    let server = tls_echo_server(&mut net, &identity);
    let roots = {
        let mut roots = pants_core::rustls::RootCertStore::empty();
        let pem = identity.cert_pem.as_bytes();
        use pants_core::rustls::pki_types::pem::PemObject;
        for cert in pants_core::rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
            roots.add(cert.unwrap()).unwrap();
        }
        roots
    };
    #[allow(deprecated)] // ring lacks post-quantum key exchange: no matter for TLS 1.2
    let provider = std::sync::Arc::new(pants_core::rustls::crypto::ring::default_provider());
    let config = pants_core::rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&pants_core::rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let seen = std::rc::Rc::default();
    let facts = Facts {
        seen: std::rc::Rc::clone(&seen),
    };
    let client = pants_core::TlsClient::new(config);
    net.context()
        .connect_with(Connect::new(ADDR, facts).tls(client))
        .unwrap();
    net.run();
    assert_eq!(*seen.borrow(), Some((Some(TlsVersion::Tls12), 1, None)));
    assert_eq!(entries(&server), ["connect", "handshake"]);
}

/// Sends a file with `write_file` at the handshake, then closes.
struct SendsFile {
    file: std::sync::Arc<std::fs::File>,
    len: u64,
}

impl Handler for SendsFile {
    fn on_tls_handshake(&mut self, cx: &mut Context<'_>) {
        cx.write("head\n");
        cx.write_file(self.file.clone(), 3, self.len - 3);
        cx.write("tail\n");
        cx.close();
    }
}

#[test]
fn write_file_under_tls_reads_the_file_and_sends_it_encrypted_in_order() {
    let identity = Identity::new();
    let mut net = Network::new();
    let path = std::env::temp_dir().join(format!("pants-tls-file-{}", std::process::id()));
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let file = std::sync::Arc::new(std::fs::File::open(&path).unwrap());
    std::fs::remove_file(&path).unwrap();
    let len = data.len() as u64;
    net.context()
        .listen_with(
            Listen::new(ADDR, move || SendsFile {
                file: file.clone(),
                len,
            })
            .tls(identity.server()),
        )
        .unwrap();
    let mut raw = RawClient::connect(&mut net, ADDR, &identity);
    let mut got = raw.handshake(&mut net);
    for _ in 0..100 {
        net.run();
        got.extend(raw.input(&mut net).unwrap());
        if net.saw_eof(raw.peer) {
            break;
        }
    }
    let mut expected = b"head\n".to_vec();
    expected.extend_from_slice(&data[3..]);
    expected.extend_from_slice(b"tail\n");
    assert_eq!(got.len(), expected.len());
    assert!(
        got == expected,
        "the file's bytes, between the writes around it"
    );
}

/// Writes at its connect, before the handshake: the bytes wait, in plaintext, for it.
struct EagerClient;

impl Handler for EagerClient {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.write("early\n");
        assert!(cx.queued() > 0, "queued until the handshake is done");
    }
}

#[test]
fn writes_before_the_handshake_wait_for_it_and_go_encrypted() {
    let identity = Identity::new();
    let mut net = Network::new();
    let server = tls_echo_server(&mut net, &identity);
    net.context()
        .connect_with(Connect::new(ADDR, EagerClient).tls(identity.client()))
        .unwrap();
    net.run();
    assert_eq!(entries(&server), ["connect", "handshake", "read:early"]);
}

#[test]
fn start_tls_twice_or_on_a_client_without_a_name_is_refused() {
    let identity = Identity::new();
    let mut stream =
        pants_core::channel::Stream::accepted(StreamConfig::default(), std::time::Instant::now());
    assert_eq!(
        stream.start_tls(identity.client()),
        Err(pants_core::StartTlsError::NoServerName)
    );
    stream.start_tls(identity.server()).unwrap();
    assert!(stream.is_tls());
    assert_eq!(
        stream.start_tls(identity.server()),
        Err(pants_core::StartTlsError::AlreadyStarted)
    );
}

#[test]
fn the_bytes_starttls_sends_in_clear_and_those_written_after_share_one_write_limit() {
    let identity = Identity::new();
    let config = StreamConfig {
        write_limits: pants_core::WriteLimits::new(32, 64),
        ..StreamConfig::default()
    };
    let mut stream = pants_core::channel::Stream::accepted(config, std::time::Instant::now());
    stream.write(vec![b'c'; 50]).unwrap();
    stream.start_tls(identity.server()).unwrap();
    // 50 bytes wait to go out in clear: 14 more fit under the limit of 64, 15 do not.
    let refused = stream.write(vec![b'p'; 15]).unwrap_err();
    let pants_core::WriteError::Overflow(overflow) = refused else {
        panic!("refused as {refused:?}, not as an overflow");
    };
    assert_eq!((overflow.limit(), overflow.size()), (64, 65));
    assert_eq!(stream.write_queue().in_memory(), 50);
}

/// Sends `total` bytes in 16 KiB writes, stopping above the high-water mark until `on_write`
/// (the producer pants asks for), then closes.
struct Producer {
    left: usize,
    waits: std::rc::Rc<std::cell::Cell<usize>>,
}

impl Producer {
    fn produce(&mut self, cx: &mut Context<'_>) {
        while self.left > 0 {
            let n = self.left.min(16 * 1024);
            self.left -= n;
            let chunk: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            if let pants_core::Written::AboveHighWater = cx.write(chunk) {
                self.waits.set(self.waits.get() + 1);
                return;
            }
        }
        cx.close();
    }
}

impl Handler for Producer {
    fn on_tls_handshake(&mut self, cx: &mut Context<'_>) {
        self.produce(cx);
    }

    fn on_write(&mut self, cx: &mut Context<'_>) {
        self.produce(cx);
    }
}

#[test]
fn a_producer_waits_for_on_write_and_everything_arrives_under_tls() {
    let identity = Identity::new();
    let mut net = Network::new();
    net.set_window(32 * 1024);
    let waits = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = waits.clone();
    net.context()
        .listen_with(
            Listen::new(ADDR, move || Producer {
                left: 1 << 20,
                waits: seen.clone(),
            })
            .tls(identity.server()),
        )
        .unwrap();
    let mut raw = RawClient::connect(&mut net, ADDR, &identity);
    let mut got = raw.handshake(&mut net);
    for _ in 0..1000 {
        net.run();
        got.extend(raw.input(&mut net).unwrap());
        if net.saw_eof(raw.peer) {
            break;
        }
    }
    assert_eq!(got.len(), 1 << 20);
    let expected: Vec<u8> = (0..got.len())
        .map(|i| ((i % (16 * 1024)) % 251) as u8)
        .collect();
    assert!(got == expected, "every byte, in order");
    assert!(waits.get() > 1, "the producer waited for on_write");
}

/// A second after its handshake writes `len` bytes, and a second later closes at once.
struct FloodThenCloseNow {
    len: usize,
    flooded: bool,
    log: tls_util::Log,
}

impl Handler for FloodThenCloseNow {
    fn on_tls_handshake(&mut self, cx: &mut Context<'_>) {
        cx.timer_after(Duration::from_secs(1));
    }

    fn on_read(&mut self, _cx: &mut Context<'_>, _frame: Frame<'_>) {}

    fn on_timer(&mut self, cx: &mut Context<'_>, _timer: pants_core::TimerId) {
        if self.flooded {
            return cx.close_now();
        }
        self.flooded = true;
        cx.write(vec![b'x'; self.len]);
        cx.timer_after(Duration::from_secs(1));
    }

    fn on_error(&mut self, _cx: &mut Context<'_>, err: &pants_core::Error) {
        let entry = match err {
            pants_core::Error::Unsent(unsent) => format!("unsent:{}", unsent.bytes()),
            err => format!("error:{err}"),
        };
        self.log.borrow_mut().push(entry);
    }

    fn on_close(&mut self, _cx: &mut Context<'_>) {
        self.log.borrow_mut().push("close".into());
    }
}

#[test]
fn closing_at_once_reports_the_plaintext_of_records_not_sent_as_unsent() {
    // More than rustls takes at once (64 KiB): part of it is encrypted into records that
    // wait in the session, the rest waits in the write queue; both count.
    const LEN: usize = 200 * 1024;
    let identity = Identity::new();
    let mut net = Network::new();
    let server = log();
    let seen = server.clone();
    net.context()
        .listen_with(
            Listen::new(ADDR, move || FloodThenCloseNow {
                len: LEN,
                flooded: false,
                log: seen.clone(),
            })
            .tls(identity.server()),
        )
        .unwrap();
    let mut raw = RawClient::connect(&mut net, ADDR, &identity);
    raw.handshake(&mut net);
    // The peer reads nothing more: the records stall.
    net.stop_reading(raw.peer);
    net.advance(Duration::from_secs(3));
    assert_eq!(entries(&server), [format!("unsent:{LEN}"), "close".into()]);
    net.resume_reading(raw.peer);
    assert_eq!(raw.input(&mut net).unwrap(), b"", "nothing of it was sent");
}
