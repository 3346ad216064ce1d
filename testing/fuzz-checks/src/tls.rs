//! The `tls` target: arbitrary bytes as a peer's TLS records to a server stream, driven by
//! hand in the documented drive order. Whatever comes, nothing panics, what the stream holds
//! and offers stays within its limits, and it ends with one clean close.
//!
//! The input's first decision is how the bytes arrive:
//! - 0: as they are, from the first byte (the peer's "ClientHello");
//! - 1: after a genuine client's first flight (its ClientHello), so that the server is
//!   mid-handshake;
//! - 2: after a whole genuine handshake, as plaintext the genuine client encrypts: then the
//!   frames delivered must be exactly those bytes.
//!
//! Then, decision by decision: a chunk of bytes to receive (sizes 1 to 4096), or time passing
//! (up to 16 s: the handshake timeout is 10 s), until the input ends; then the peer's EOF and
//! the linger's time.

use std::io::{IoSlice, Read, Write};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use pants_core::channel::{Action, Event, Stream, Transmit};
use pants_core::rustls::pki_types::ServerName;
use pants_core::rustls::{ClientConnection, ServerConfig};
use pants_core::{StreamConfig, TlsClient, TlsServer};

use crate::input::Input;

/// The most bytes one `poll_transmit` may offer: one batch of records (rustls encrypts at most
/// 64 KiB of plaintext at once, in records of up to 16 KiB and 22 bytes more) and a few
/// handshake or alert records.
const MAX_OFFER: usize = 64 * 1024 + 17 * 1024;

/// The target's check: panics on a bug.
pub fn check_tls(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.below(3);
    let mut run = Run::new();
    let mut client = (mode > 0).then(genuine_client);
    if let Some(client) = &mut client {
        let hello = output(client);
        run.receive(&hello);
        if mode == 2 {
            // The genuine handshake to its end: the server's flight back, the client's last.
            let reply = std::mem::take(&mut run.sent);
            feed(client, &reply);
            let finished = output(client);
            run.receive(&finished);
            assert!(
                !client.is_handshaking() && run.handshakes == 1,
                "a genuine handshake did not complete: {:?}",
                run.events
            );
        }
    }
    let mut plaintext = Vec::new();
    while !input.is_empty() && !run.stream.is_closed() {
        if input.below(8) == 0 {
            let secs = input.below(17) as u64;
            run.advance(Duration::from_secs(secs));
            continue;
        }
        let len = 1 + usize::from(input.byte()) * 16;
        let chunk = input.take(len);
        match (&mut client, mode) {
            (Some(client), 2) => {
                plaintext.extend_from_slice(chunk);
                client
                    .writer()
                    .write_all(chunk)
                    .expect("a genuine client encrypts");
                let records = output(client);
                run.receive(&records);
            }
            _ => run.receive(chunk),
        }
    }
    if mode == 2 && !run.stream.is_closed() {
        assert_eq!(
            run.frames, plaintext,
            "the frames are the bytes the client sent"
        );
    }
    run.finish();
}

/// A server stream, its clock, and what it did.
struct Run {
    stream: Stream,
    now: Instant,
    sent: Vec<u8>,
    frames: Vec<u8>,
    handshakes: usize,
    closes: usize,
    events: Vec<String>,
}

impl Run {
    fn new() -> Self {
        let now = Instant::now();
        let config = StreamConfig::default();
        let mut stream = Stream::accepted(config, now);
        stream
            .start_tls(TlsServer::new(server_config().clone()))
            .expect("TLS starts on an accepted stream");
        let mut run = Self {
            stream,
            now,
            sent: Vec::new(),
            frames: Vec::new(),
            handshakes: 0,
            closes: 0,
            events: Vec::new(),
        };
        run.drain();
        run
    }

    fn receive(&mut self, bytes: &[u8]) {
        if self.stream.is_closed() || !self.stream.wants_read() {
            return;
        }
        self.stream
            .handle_data(self.now, Bytes::copy_from_slice(bytes));
        self.drain();
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.stream.handle_timeout(self.now);
        self.drain();
    }

    /// The peer's EOF, then time until the linger is over: the stream must be closed.
    fn finish(mut self) {
        if !self.stream.is_closed() && self.stream.wants_read() {
            self.stream.handle_eof(self.now);
            self.drain();
        }
        for _ in 0..4 {
            self.advance(StreamConfig::DEFAULT_LINGER + Duration::from_secs(1));
        }
        assert!(self.stream.is_closed(), "never closed: {:?}", self.events);
        assert_eq!(
            self.closes, 1,
            "closed {} times: {:?}",
            self.closes, self.events
        );
        assert_eq!(self.events.last().map(String::as_str), Some("Closed"));
    }

    /// Drains the outputs in the drive order until a round yields nothing.
    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(action) = self.stream.poll_action() {
                progressed = true;
                self.events.push(format!("{action:?}"));
                if action == Action::Close {
                    assert!(self.stream.is_closed());
                }
            }
            let mut slices = [IoSlice::new(&[]); 8];
            let offered = match self.stream.poll_transmit(&mut slices) {
                Some(Transmit::Vectored(n)) => {
                    let bytes: Vec<u8> = slices[..n].iter().flat_map(|s| s.to_vec()).collect();
                    Some(bytes)
                }
                Some(other) => panic!("a server with no files offered {other:?}"),
                None => None,
            };
            if let Some(bytes) = offered {
                assert!(!bytes.is_empty(), "an empty offer: the driver would spin");
                assert!(
                    bytes.len() <= MAX_OFFER,
                    "offered {} bytes at once",
                    bytes.len()
                );
                self.stream.handle_written(self.now, bytes.len());
                self.sent.extend(bytes);
                progressed = true;
            }
            while let Some(event) = self.stream.poll_event() {
                progressed = true;
                assert_eq!(self.closes, 0, "{event:?} after Closed");
                let name = match &event {
                    Event::Read(frame) => format!("read {}", frame.len()),
                    other => format!("{other:?}"),
                };
                match event {
                    Event::Read(frame) => self.frames.extend_from_slice(&frame),
                    Event::TlsHandshake => self.handshakes += 1,
                    Event::Closed => self.closes += 1,
                    _ => {}
                }
                self.events.push(name);
            }
            let limits = self.stream.framer().limits();
            assert!(self.stream.framer().buffered() <= limits.hard_limit() + 64 * 1024);
            if !progressed {
                return;
            }
        }
    }
}

/// The server's configuration: a certificate made once per process.
fn server_config() -> &'static Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let made = identity();
        let server = TlsServer::from_pem(made.0.as_bytes(), made.1.as_bytes())
            .expect("the certificate serves");
        server.config().clone()
    })
}

/// A self-signed certificate for `localhost` and its key, in PEM, made once.
fn identity() -> &'static (String, String) {
    static IDENTITY: OnceLock<(String, String)> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("rcgen makes a certificate");
        (made.cert.pem(), made.signing_key.serialize_pem())
    })
}

/// A genuine client that trusts the server's certificate.
fn genuine_client() -> ClientConnection {
    let client = TlsClient::with_ca_pem(identity().0.as_bytes()).expect("a CA");
    let name = ServerName::try_from("localhost").expect("a name");
    ClientConnection::new(client.config().clone(), name).expect("a client")
}

fn output(client: &mut ClientConnection) -> Vec<u8> {
    let mut out = Vec::new();
    while client.wants_write() {
        client.write_tls(&mut out).expect("into a Vec");
    }
    out
}

fn feed(client: &mut ClientConnection, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        client.read_tls(&mut bytes).expect("from a slice");
        let state = client
            .process_new_packets()
            .expect("the genuine server's records");
        let mut plain = vec![0; state.plaintext_bytes_to_read()];
        client
            .reader()
            .read_exact(&mut plain)
            .expect("what rustls said it has");
    }
}
