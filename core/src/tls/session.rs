//! The one type that calls rustls' connection API: a TLS session over a stream's bytes.
//!
//! rustls 0.23's buffered API is used: ciphertext goes in with `read_tls` (a copy into its
//! deframer) and `process_new_packets` (decryption in place), plaintext comes out with a copy
//! from its reader; plaintext goes in through its writer (records of up to 16 KiB, many small
//! writes into one) and records come out with `write_tls`, straight to the socket from
//! rustls' own buffers when the engine sends them, or into our buffer for a stream driven by
//! hand. rustls 0.24 changes this buffer API (the caller owns the input buffer); an upgrade
//! changes this file only.

use std::io::{self, BufRead, IoSlice, Write};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};

use super::{StartTlsError, TlsError, TlsVersion};

/// A client's or a server's TLS session: bytes in and out, no I/O.
pub(crate) struct Session {
    conn: Connection,
}

/// What one receipt of ciphertext yielded.
#[derive(Debug, Default)]
pub(crate) struct Decrypted {
    /// The plaintext decrypted (empty when the records were handshake messages).
    pub(crate) plaintext: Bytes,
    /// The peer sent `close_notify`: its side of the session ended cleanly.
    pub(crate) peer_closed: bool,
}

impl Session {
    /// A client session verifying the server as `name`.
    pub(crate) fn client(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<Self, StartTlsError> {
        let conn = ClientConnection::new(config, name)
            .map_err(|err| StartTlsError::Config(err.to_string()))?;
        Ok(Self { conn: conn.into() })
    }

    /// A server session.
    pub(crate) fn server(config: Arc<ServerConfig>) -> Result<Self, StartTlsError> {
        let conn =
            ServerConnection::new(config).map_err(|err| StartTlsError::Config(err.to_string()))?;
        Ok(Self { conn: conn.into() })
    }

    /// Takes the peer's `ciphertext` whole: handshake messages advance the handshake, records
    /// are decrypted into `buf` (and split off it). After an error the session is dead, with a
    /// fatal alert to send ([`take_output`](Self::take_output)).
    pub(crate) fn receive(
        &mut self,
        mut ciphertext: &[u8],
        buf: &mut BytesMut,
    ) -> Result<Decrypted, TlsError> {
        // Records are never shorter than their plaintext: one allocation holds it all (the
        // last one's again, once the plaintext it held was dropped).
        buf.clear();
        buf.reserve(ciphertext.len());
        let plaintext = buf;
        let mut peer_closed = false;
        while !ciphertext.is_empty() && !peer_closed {
            // A slice reader never fails; rustls refuses input only when its buffers are full,
            // which draining the plaintext after each step prevents (an oversized record is
            // refused by process_new_packets).
            match self.conn.read_tls(&mut ciphertext) {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) => return Err(TlsError::Protocol(err.to_string())),
            }
            let state = self.conn.process_new_packets().map_err(from_rustls)?;
            let mut ready = state.plaintext_bytes_to_read();
            while ready > 0 {
                // Copied straight from rustls' buffer (no zeroed room to read into first).
                let mut reader = self.conn.reader();
                let chunk = reader
                    .fill_buf()
                    .map_err(|err| TlsError::Protocol(err.to_string()))?;
                let n = chunk.len().min(ready);
                plaintext.extend_from_slice(&chunk[..n]);
                reader.consume(n);
                ready -= n;
            }
            peer_closed = state.peer_has_closed();
        }
        Ok(Decrypted {
            plaintext: plaintext.split().freeze(),
            peer_closed,
        })
    }

    /// Encrypts plaintext from `slices`, in order, into records; returns how many bytes it
    /// took (rustls bounds what it holds: at most 64 KiB of records wait in it).
    pub(crate) fn encrypt(&mut self, slices: &[IoSlice<'_>]) -> usize {
        // rustls' writer fails only after the session failed, which the stream never writes
        // to: taking nothing then is the truth.
        self.conn.writer().write_vectored(slices).unwrap_or(0)
    }

    /// Queues a `close_notify` alert: our side of the session ends.
    pub(crate) fn close_notify(&mut self) {
        self.conn.send_close_notify();
    }

    /// Moves the records ready to send to the end of `out`.
    pub(crate) fn take_output(&mut self, out: &mut Vec<u8>) {
        while self.conn.wants_write() {
            // Writing into a Vec never fails.
            if matches!(self.conn.write_tls(out), Ok(0) | Err(_)) {
                break;
            }
        }
    }

    /// Writes the records ready to send to `transport`, in one vectored write of rustls' own
    /// buffers (no copy into ours); returns how many bytes it took.
    pub(crate) fn send_output(&mut self, transport: &mut dyn Write) -> io::Result<usize> {
        self.conn.write_tls(transport)
    }

    /// True when records wait to be taken with [`take_output`](Self::take_output) or sent
    /// with [`send_output`](Self::send_output).
    pub(crate) fn has_output(&self) -> bool {
        self.conn.wants_write()
    }

    /// True until the handshake completed.
    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// The protocol version agreed on.
    pub(crate) fn version(&self) -> Option<TlsVersion> {
        match self.conn.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls12),
            rustls::ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls13),
            _ => None,
        }
    }

    /// The cipher suite agreed on, by its IANA name.
    pub(crate) fn cipher_suite(&self) -> Option<&'static str> {
        self.conn.negotiated_cipher_suite()?.suite().as_str()
    }

    /// The application protocol agreed on with ALPN.
    pub(crate) fn alpn(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// The peer's certificate chain, its own certificate first.
    pub(crate) fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.conn.peer_certificates()
    }

    /// On a server: the name the client asked for (SNI).
    pub(crate) fn server_name(&self) -> Option<&str> {
        match &self.conn {
            Connection::Server(conn) => conn.server_name(),
            Connection::Client(_) => None,
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("handshaking", &self.is_handshaking())
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

/// Our error for rustls' own.
fn from_rustls(err: rustls::Error) -> TlsError {
    use rustls::Error as E;
    let why = err.to_string();
    match err {
        E::InvalidCertificate(_)
        | E::NoCertificatesPresented
        | E::UnsupportedNameType
        | E::InvalidCertRevocationList(_) => TlsError::Certificate(why),
        E::AlertReceived(_) => TlsError::Alert(why),
        _ => TlsError::Protocol(why),
    }
}
