//! What goes wrong with TLS: the peer or the handshake ([`TlsError`], delivered to
//! `on_tls_error`), and misuse when starting it ([`StartTlsError`]).

use std::fmt;
use std::io;

/// A TLS stream failed (`on_tls_error`); the stream then closes.
///
/// Every variant but [`Truncated`](Self::Truncated) ends the session at once: a fatal alert
/// (rustls' "last gasp") is flushed to the peer when there is one, and what was queued to send
/// is dropped and reported ([`Error::Unsent`](crate::Error::Unsent)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsError {
    /// The peer's certificate was refused (untrusted, expired, for another name), or it
    /// presented none where one is required.
    Certificate(String),
    /// The peer sent a fatal alert: it refused our handshake or our certificate.
    Alert(String),
    /// The peer broke the TLS protocol: a malformed or undecryptable record, a handshake we
    /// cannot agree on, or plaintext sent to a TLS port.
    Protocol(String),
    /// The handshake did not complete within the stream's `tls_handshake_timeout`.
    HandshakeTimeout,
    /// The peer closed the connection without a `close_notify` alert: what it sent may have
    /// been cut short by an attacker. It comes after the last complete frame, in place of
    /// `on_eof`.
    Truncated,
    /// Bytes arrived in plaintext after STARTTLS and before the handshake: refused, not fed to
    /// the TLS session (the CVE-2021-23214 class of injection).
    PlaintextAfterStartTls {
        /// How many such bytes were held.
        bytes: usize,
    },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Certificate(why) => {
                write!(f, "TLS: the peer's certificate was refused: {why}")
            }
            TlsError::Alert(why) => write!(f, "TLS: the peer sent a fatal alert: {why}"),
            TlsError::Protocol(why) => write!(f, "TLS: the peer broke the protocol: {why}"),
            TlsError::HandshakeTimeout => write!(f, "TLS: the handshake timed out"),
            TlsError::Truncated => write!(
                f,
                "TLS: the peer closed the connection without close_notify (truncation)"
            ),
            TlsError::PlaintextAfterStartTls { bytes } => write!(
                f,
                "TLS: {bytes} bytes arrived in plaintext after STARTTLS, before the handshake"
            ),
        }
    }
}

impl std::error::Error for TlsError {}

impl From<TlsError> for io::Error {
    fn from(err: TlsError) -> Self {
        let kind = match err {
            TlsError::HandshakeTimeout => io::ErrorKind::TimedOut,
            TlsError::Truncated => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, err)
    }
}

/// TLS could not be started on a stream: the caller's mistake, not the peer's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartTlsError {
    /// The stream already speaks TLS.
    AlreadyStarted,
    /// The stream is closing or closed, or is not a stream.
    NotOpen,
    /// A client needs the server's name to verify its certificate, and none was given or can
    /// be taken from the address (a Unix socket, say): set it with `TlsClient::server_name`.
    NoServerName,
    /// rustls refused the configuration.
    Config(String),
}

impl fmt::Display for StartTlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartTlsError::AlreadyStarted => write!(f, "TLS is already started on this stream"),
            StartTlsError::NotOpen => write!(f, "TLS can only start on an open stream"),
            StartTlsError::NoServerName => write!(
                f,
                "a TLS client needs the server's name: none was given or found in the address"
            ),
            StartTlsError::Config(why) => write!(f, "the TLS configuration was refused: {why}"),
        }
    }
}

impl std::error::Error for StartTlsError {}

impl From<StartTlsError> for io::Error {
    fn from(err: StartTlsError) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, err)
    }
}
