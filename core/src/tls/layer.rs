//! A TLS stream's own state, between its transport bytes and its framer and write queue: the
//! session, the records waiting to be sent, what STARTTLS sends in clear first, and where the
//! handshake stands.
//!
//! ```text
//!   start_tls on an open stream (STARTTLS)          Listen::tls / Connect::tls / accepted
//!        |                                                     |
//!        v   queued plaintext sent in clear,                   |
//!   [clear] --- input held is refused ---------------------->  v
//!                                                      [handshaking] -- timeout / error --> closed
//!                                                              | handshake done: on_tls_handshake
//!                                                              v
//!                                                          [open]: writes encrypted, records
//!                                                              |   decrypted into the framer
//!                                                              | close: close_notify, flush
//!                                                              v
//!                                                          shutdown, as plaintext
//! ```

use std::io::{self, Write};
use std::time::Instant;

use bytes::BytesMut;

use super::TlsError;
use super::session::{Decrypted, Session};

/// One stream's TLS: the session and the bytes around it.
#[derive(Debug)]
pub(crate) struct TlsLayer {
    pub(crate) session: Session,
    /// How many bytes at the head of the stream's write queue were queued before STARTTLS:
    /// they go out in clear before the first handshake record. (One queue holds them and
    /// what is written after, so that the write limit bounds both together.)
    pub(crate) clear: u64,
    /// Records taken out of the session for a driver that sends them itself (a
    /// [`Stream`](crate::channel::Stream) driven by hand, through `poll_transmit`); `sent` of
    /// them were sent. The engine sends records from the session's own buffers instead
    /// (`tls/transport.rs`), and never fills this one. More plaintext is encrypted only once
    /// the records before it went out, so that a stream holds at most one batch of records
    /// (rustls takes at most 64 KiB of plaintext at once) and a few handshake or alert ones.
    pub(crate) out: Vec<u8>,
    pub(crate) sent: usize,
    /// Plaintext bytes encrypted whose records have not all gone out: what closing now would
    /// drop of what was written (counted in plaintext, as the write queue counts).
    pub(crate) sealed: u64,
    /// Where received records are decrypted. Kept between receipts of full records, whose
    /// plaintext is dropped before the next (an echo, a proxy), so that a stream moving data
    /// allocates no buffer per read; released after a smaller receipt.
    pub(crate) rx: BytesMut,
    /// When the handshake started (the transport was up); `None` while connecting.
    pub(crate) started: Option<Instant>,
    /// Bits of [`state`].
    pub(crate) state: u8,
}

/// Bits of [`TlsLayer::state`].
pub(crate) mod state {
    /// `on_tls_handshake` was queued.
    pub(crate) const HANDSHAKE_DONE: u8 = 1;
    /// STARTTLS on an open stream: the input held when the handshake begins is to be refused.
    pub(crate) const CHECK_INPUT: u8 = 2;
    /// Records of application data wait to be sent: `on_write` once they are.
    pub(crate) const APP_IN_FLIGHT: u8 = 4;
    /// Our `close_notify` was queued (or the session failed: nothing more is sent).
    pub(crate) const CLOSE_NOTIFY: u8 = 8;
    /// The peer's `close_notify` came: its EOF is clean.
    pub(crate) const PEER_CLOSED: u8 = 16;
    /// The peer's TCP EOF came without `close_notify`.
    pub(crate) const TRUNCATED: u8 = 32;
    /// The session failed: nothing more is fed to it or encrypted.
    pub(crate) const FAILED: u8 = 64;
}

impl TlsLayer {
    pub(crate) fn new(session: Session, clear: u64, started: Option<Instant>) -> Self {
        Self {
            session,
            clear,
            out: Vec::new(),
            sent: 0,
            sealed: 0,
            rx: BytesMut::new(),
            started,
            state: 0,
        }
    }

    /// Takes the peer's `ciphertext` through the session (see [`Session::receive`]).
    pub(crate) fn receive(&mut self, ciphertext: &[u8]) -> Result<Decrypted, TlsError> {
        /// Receipts of at least a full record (16 KiB) keep the buffer for the next.
        const KEEPS_BUFFER: usize = 16 * 1024;
        let decrypted = self.session.receive(ciphertext, &mut self.rx);
        if ciphertext.len() < KEEPS_BUFFER {
            self.rx = BytesMut::new();
        }
        decrypted
    }

    pub(crate) fn has(&self, bit: u8) -> bool {
        self.state & bit != 0
    }

    pub(crate) fn set(&mut self, bit: u8) {
        self.state |= bit;
    }

    pub(crate) fn unset(&mut self, bit: u8) {
        self.state &= !bit;
    }

    /// Records waiting to be sent.
    pub(crate) fn unsent_records(&self) -> &[u8] {
        &self.out[self.sent..]
    }

    /// True while bytes wait to go out in clear (STARTTLS).
    pub(crate) fn sends_clear(&self) -> bool {
        self.clear > 0
    }

    /// Moves the session's records into `out`, unless the clear bytes go first. (What was
    /// sent of `out` is dropped first: the buffer never grows by what went out.)
    pub(crate) fn collect_output(&mut self) {
        if self.sends_clear() || !self.session.has_output() {
            return;
        }
        if self.sent > 0 {
            self.out.drain(..self.sent);
            self.sent = 0;
        }
        self.session.take_output(&mut self.out);
    }

    /// True when records wait, in `out` or in the session (and no clear bytes go first).
    pub(crate) fn has_records(&self) -> bool {
        !self.sends_clear() && (self.sent < self.out.len() || self.session.has_output())
    }

    /// Writes records to `transport`: what is left of `out` first, else the session's own,
    /// without a copy ([`Session::send_output`]). Returns how many bytes went.
    pub(crate) fn send_records(&mut self, transport: &mut dyn Write) -> io::Result<usize> {
        if self.sent < self.out.len() {
            return transport.write(&self.out[self.sent..]);
        }
        self.session.send_output(transport)
    }

    /// `n` bytes of the records went out: from `out` if it holds any, else straight from the
    /// session. Once all are out, `out` is released (an idle TLS stream holds no record memory)
    /// and nothing encrypted is unsent any more.
    pub(crate) fn records_written(&mut self, n: usize) {
        if self.sent < self.out.len() {
            self.sent = (self.sent + n).min(self.out.len());
            if self.sent == self.out.len() {
                self.out = Vec::new();
                self.sent = 0;
            }
        }
        if !self.has_records() {
            self.sealed = 0;
        }
    }
}
