//! What the TLS tests share: certificates made for the test (rcgen), a handler that records
//! its callbacks, and a rustls client driven by hand over a raw peer of the test network.

#![allow(dead_code)] // each test file uses its part

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use pants_core::rustls::pki_types::ServerName;
use pants_core::rustls::{self, ClientConnection};
use pants_core::testing::{Network, Peer};
use pants_core::{Context, Frame, Handler, TlsClient, TlsError, TlsServer};

/// A self-signed certificate for `localhost` and 127.0.0.1, and its key, in PEM.
pub struct Identity {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Identity {
    pub fn new() -> Self {
        Self::for_names(&["localhost", "127.0.0.1"])
    }

    /// A self-signed certificate for `names` only.
    pub fn for_names(names: &[&str]) -> Self {
        let names = names
            .iter()
            .map(|name| name.to_string())
            .collect::<Vec<_>>();
        let made = rcgen::generate_simple_self_signed(names).expect("rcgen makes a certificate");
        Self {
            cert_pem: made.cert.pem(),
            key_pem: made.signing_key.serialize_pem(),
        }
    }

    pub fn server(&self) -> TlsServer {
        TlsServer::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes()).unwrap()
    }

    /// A client trusting this certificate only.
    pub fn client(&self) -> TlsClient {
        TlsClient::with_ca_pem(self.cert_pem.as_bytes()).unwrap()
    }
}

/// What a handler saw, in order: callback names, and frames as `read:<text>`.
pub type Log = Rc<RefCell<Vec<String>>>;

pub fn log() -> Log {
    Log::default()
}

pub fn entries(log: &Log) -> Vec<String> {
    log.borrow().clone()
}

/// Records every callback; echoes frames when `echo`; writes `greeting` at the handshake.
pub struct Recorder {
    pub log: Log,
    pub echo: bool,
    pub delimiter: Option<&'static str>,
    pub greeting: Option<&'static str>,
    pub close_after_greeting: bool,
}

impl Recorder {
    pub fn new(log: &Log) -> Self {
        Self {
            log: log.clone(),
            echo: false,
            delimiter: Some("\n"),
            greeting: None,
            close_after_greeting: false,
        }
    }

    fn note(&self, entry: impl Into<String>) {
        self.log.borrow_mut().push(entry.into());
    }
}

impl Handler for Recorder {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        self.note("connect");
        if let Some(delimiter) = self.delimiter {
            cx.set_read_delimiter(delimiter).unwrap();
        }
    }

    fn on_tls_handshake(&mut self, cx: &mut Context<'_>) {
        let info = cx.tls().expect("a TLS stream has TLS facts");
        assert!(!info.is_handshaking());
        assert!(info.version().is_some());
        self.note("handshake");
        if let Some(greeting) = self.greeting {
            cx.write(greeting);
            if self.close_after_greeting {
                cx.close();
            }
        }
    }

    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        self.note(format!("read:{}", String::from_utf8_lossy(&frame)));
        if self.echo {
            let mut line = frame.to_vec();
            line.push(b'\n');
            cx.write(line);
        }
    }

    fn on_eof(&mut self, _cx: &mut Context<'_>) {
        self.note("eof");
    }

    fn on_error(&mut self, _cx: &mut Context<'_>, err: &pants_core::Error) {
        self.note(format!("error:{err}"));
    }

    fn on_tls_error(&mut self, _cx: &mut Context<'_>, err: &TlsError) {
        let kind = match err {
            TlsError::Certificate(_) => "certificate".to_owned(),
            TlsError::Alert(_) => "alert".to_owned(),
            TlsError::Protocol(_) => "protocol".to_owned(),
            TlsError::HandshakeTimeout => "timeout".to_owned(),
            TlsError::Truncated => "truncated".to_owned(),
            TlsError::PlaintextAfterStartTls { bytes } => format!("injected:{bytes}"),
            _ => "other".to_owned(),
        };
        self.note(format!("tls_error:{kind}"));
    }

    fn on_close(&mut self, _cx: &mut Context<'_>) {
        self.note("close");
    }
}

/// A rustls client driven by the test over a raw peer: its bytes go through the network
/// exactly as the test chooses to cut them.
pub struct RawClient {
    pub conn: ClientConnection,
    pub peer: Peer,
}

impl RawClient {
    pub fn connect(net: &mut Network, addr: &str, identity: &Identity) -> Self {
        let config = identity.client().config().clone();
        let name = ServerName::try_from("localhost").unwrap();
        let conn = ClientConnection::new(Arc::clone(&config), name).unwrap();
        let peer = net.peer_connect(addr).unwrap();
        Self { conn, peer }
    }

    /// The records the client has to send.
    pub fn output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.conn.wants_write() {
            self.conn.write_tls(&mut out).unwrap();
        }
        out
    }

    /// Takes what the server sent; returns the plaintext it held.
    pub fn input(&mut self, net: &mut Network) -> Result<Vec<u8>, rustls::Error> {
        let got = net.received(self.peer);
        let mut rest = &got[..];
        let mut plain = Vec::new();
        while !rest.is_empty() {
            self.conn.read_tls(&mut rest).unwrap();
            let state = self.conn.process_new_packets()?;
            let mut buf = vec![0; state.plaintext_bytes_to_read()];
            std::io::Read::read_exact(&mut self.conn.reader(), &mut buf).unwrap();
            plain.extend(buf);
        }
        Ok(plain)
    }

    /// Runs the handshake to its end over the network; returns the plaintext the server sent
    /// meanwhile (what it wrote at its handshake).
    pub fn handshake(&mut self, net: &mut Network) -> Vec<u8> {
        let mut plaintext = Vec::new();
        for _ in 0..10 {
            let out = self.output();
            net.send(self.peer, out);
            net.run();
            plaintext.extend(self.input(net).unwrap());
            if !self.conn.is_handshaking() && !self.conn.wants_write() {
                return plaintext;
            }
        }
        panic!("the handshake did not complete");
    }

    /// `data` as records.
    pub fn seal(&mut self, data: &[u8]) -> Vec<u8> {
        std::io::Write::write_all(&mut self.conn.writer(), data).unwrap();
        self.output()
    }
}
