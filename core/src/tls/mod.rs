//! TLS streams with rustls (feature `tls`): the session sits in the core, between a stream's
//! transport bytes and its framer and write queue, so it works the same on every driver and in
//! the test network.
//!
//! - `session.rs`: the one type that calls rustls' connection API;
//! - `config.rs`: rustls' configurations and the conveniences around them;
//! - `layer.rs`: a stream's TLS state (records waiting, STARTTLS, the handshake);
//! - `transport.rs`: the engine's way of sending records, from rustls' buffers to the socket;
//! - `file.rs`: `write_file` under TLS, read through the driver;
//! - `error.rs`: what fails, and how starting TLS can be misused.
//!
//! The stream's side (where ciphertext turns into frames and the write queue into records)
//! is `stream/tls.rs`.

mod config;
mod error;
mod file;
mod layer;
mod session;
mod transport;

use rustls::pki_types::CertificateDer;

pub use config::{Tls, TlsClient, TlsServer};
pub use error::{StartTlsError, TlsError};
pub(crate) use file::transmit_file;
pub(crate) use layer::{TlsLayer, state};
pub(crate) use session::Session;
pub(crate) use transport::send_records;

/// The TLS protocol version a session agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// What a TLS stream's session agreed on: from [`Context::tls`](crate::Context::tls), complete
/// from `on_tls_handshake` on.
#[derive(Debug, Clone, Copy)]
pub struct TlsInfo<'a> {
    pub(crate) session: &'a Session,
}

impl<'a> TlsInfo<'a> {
    /// True until the handshake completed.
    pub fn is_handshaking(&self) -> bool {
        self.session.is_handshaking()
    }

    /// The protocol version.
    pub fn version(&self) -> Option<TlsVersion> {
        self.session.version()
    }

    /// The cipher suite, by its IANA name (`TLS13_AES_256_GCM_SHA384`, ...).
    pub fn cipher_suite(&self) -> Option<&'static str> {
        self.session.cipher_suite()
    }

    /// The application protocol agreed on with ALPN.
    pub fn alpn(&self) -> Option<&'a [u8]> {
        self.session.alpn()
    }

    /// The peer's certificate chain, its own first (a server's always; a client's when the
    /// server asked for one).
    pub fn peer_certificates(&self) -> Option<&'a [CertificateDer<'static>]> {
        self.session.peer_certificates()
    }

    /// On a server: the name the client asked for (SNI).
    pub fn server_name(&self) -> Option<&'a str> {
        self.session.server_name()
    }
}
