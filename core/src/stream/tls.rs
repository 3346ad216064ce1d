//! A stream's TLS path (feature `tls`): ciphertext received goes through the session and its
//! plaintext on to the framer, by the same way as a plaintext stream's bytes; the write queue
//! stays plaintext and is encrypted when the driver asks for bytes to send, many small writes
//! into few records. The plaintext path reaches this file through one branch at each input
//! and output (`is_tls`), and pays nothing else.

use std::io::IoSlice;
use std::time::Instant;

use bytes::Bytes;

use super::{Phase, Stream, flag};
use crate::addr::Addr;
use crate::error::{Error, Unsent};
use crate::event::Event;
use crate::tls::{Session, StartTlsError, Tls, TlsError, TlsInfo, TlsLayer, state};
use crate::write_queue::{Recycler, Transmit};

/// Slices of plaintext encrypted in one step.
const PLAIN_SLICES: usize = 64;

/// Whether plaintext may be encrypted: after the handshake, until the session failed or our
/// `close_notify` went out (what is written after it stays queued, and is reported unsent when
/// the stream closes).
fn encrypts(tls: &TlsLayer) -> bool {
    tls.has(state::HANDSHAKE_DONE) && !tls.has(state::FAILED) && !tls.has(state::CLOSE_NOTIFY)
}

impl Stream {
    /// Starts TLS on this stream: at once on a connecting or just accepted stream; on an open
    /// stream (STARTTLS) after what is queued now is sent in clear. Bytes received before and
    /// not yet delivered as frames are then refused ([`TlsError::PlaintextAfterStartTls`]),
    /// not fed to the session. A client needs its server's name (see
    /// [`TlsClient::server_name`](crate::TlsClient::server_name)). The bytes to send in clear
    /// stay in the write queue: its limits bound them and what is written after together.
    pub fn start_tls(&mut self, tls: impl Into<Tls>) -> Result<(), StartTlsError> {
        self.start_tls_session(tls.into().session()?)
    }

    /// Keeps `addr` when it is a host name: the name a later [`start_tls`](Self::start_tls)
    /// verifies the server as, when its client was given none.
    pub(crate) fn remember_host(&mut self, addr: &Addr) {
        if matches!(addr, Addr::Host { .. }) {
            self.rare.get_or_insert_with(Box::default).host = Some(addr.clone());
        }
    }

    /// The host name this stream connected to, if it connected to one.
    pub(crate) fn connected_host(&self) -> Option<&Addr> {
        self.rare.as_deref()?.host.as_ref()
    }

    /// [`start_tls`](Self::start_tls) with the session made.
    pub(crate) fn start_tls_session(&mut self, session: Session) -> Result<(), StartTlsError> {
        if self.is_tls() {
            return Err(StartTlsError::AlreadyStarted);
        }
        let open = match self.phase {
            Phase::Connecting { then_close: false } => false,
            Phase::Open if !self.has(flag::WINDING_DOWN) && !self.has(flag::PEER_EOF) => true,
            _ => return Err(StartTlsError::NotOpen),
        };
        let mut layer = TlsLayer::new(session, 0, None);
        if open {
            layer.clear = self.writes.unsent();
            if layer.sends_clear() {
                layer.set(state::APP_IN_FLIGHT);
            }
            layer.started = Some(self.clock.now());
            layer.set(state::CHECK_INPUT);
        }
        self.rare.get_or_insert_with(Box::default).tls = Some(layer);
        if open {
            self.wake_rare();
        }
        Ok(())
    }

    /// Bytes of the file range at the head of the queue, read as
    /// [`Transmit::ReadFile`] asked: they are encrypted, and the range advances past them.
    pub fn handle_file_data(&mut self, now: Instant, data: &[u8]) {
        self.observe(now);
        let Stream { rare, writes, .. } = self;
        let Some(tls) = rare.as_deref_mut().and_then(|rare| rare.tls.as_mut()) else {
            return;
        };
        let taken = tls.session.encrypt(&[IoSlice::new(data)]);
        if taken > 0 {
            writes.handle_written(taken);
            tls.sealed += taken as u64;
            tls.set(state::APP_IN_FLIGHT);
        }
    }

    /// What the TLS session agreed on, on a TLS stream.
    pub fn tls_info(&self) -> Option<TlsInfo<'_>> {
        Some(TlsInfo {
            session: &self.tls()?.session,
        })
    }

    fn tls(&self) -> Option<&TlsLayer> {
        self.rare.as_deref()?.tls.as_ref()
    }

    fn tls_mut(&mut self) -> Option<&mut TlsLayer> {
        self.rare.as_deref_mut()?.tls.as_mut()
    }

    // ---- Hooks of the stream's inputs and outputs -------------------------------------------

    /// Received ciphertext: the plaintext it holds, when the stream takes input now. The
    /// handshake and the peer's `close_notify` go on while closing, their plaintext dropped.
    #[cold]
    #[inline(never)]
    pub(super) fn tls_receive(&mut self, data: Bytes) -> Option<Bytes> {
        let feeds = matches!(self.phase, Phase::Open | Phase::Closing) && !self.has(flag::PEER_EOF);
        let takes = self.phase == Phase::Open && !self.has(flag::WINDING_DOWN);
        let tls = self.tls_mut()?;
        if !feeds || tls.has(state::FAILED) {
            return None;
        }
        let decrypted = match tls.receive(&data) {
            Ok(decrypted) => decrypted,
            Err(err) => {
                self.tls_fail(err);
                return None;
            }
        };
        let handshake_done = !tls.has(state::HANDSHAKE_DONE) && !tls.session.is_handshaking();
        if handshake_done {
            tls.set(state::HANDSHAKE_DONE);
        }
        if decrypted.peer_closed {
            tls.set(state::PEER_CLOSED);
        }
        if handshake_done {
            self.push_event(Event::TlsHandshake);
        }
        if decrypted.peer_closed {
            // A clean end of the peer's side: its EOF, as at a read of 0 bytes.
            self.set_flag(flag::PEER_EOF, true);
        }
        let plaintext = decrypted.plaintext;
        (takes && !plaintext.is_empty()).then_some(plaintext)
    }

    /// Whether a TLS stream has bytes to send: clear ones first (STARTTLS), records, or
    /// plaintext to encrypt once the handshake is done.
    #[cold]
    #[inline(never)]
    pub(super) fn tls_wants_write(&self) -> bool {
        let Some(tls) = self.tls() else {
            return false;
        };
        matches!(self.phase, Phase::Open | Phase::Closing)
            && (tls.sends_clear()
                || tls.has_records()
                || (encrypts(tls) && !self.writes.is_empty()))
    }

    /// Prepares a TLS stream's next records: encrypts more of the queue once the records
    /// before it went out. True when records are what it sends next (no clear bytes go first,
    /// no file range is to be read first).
    pub(crate) fn tls_records_next(&mut self) -> bool {
        let Stream { rare, writes, .. } = self;
        let Some(tls) = rare.as_deref_mut().and_then(|rare| rare.tls.as_mut()) else {
            return false;
        };
        if tls.sends_clear() {
            return false;
        }
        if encrypts(tls) && !tls.has_records() && !writes.is_empty() {
            let mut plain = [IoSlice::new(&[]); PLAIN_SLICES];
            // A file range at the head is read first (`Transmit::ReadFile`).
            if let Some(Transmit::Vectored(n)) = writes.poll_transmit(&mut plain) {
                let taken = tls.session.encrypt(&plain[..n]);
                if taken > 0 {
                    writes.handle_written(taken);
                    tls.sealed += taken as u64;
                    tls.set(state::APP_IN_FLIGHT);
                }
            }
        }
        tls.has_records()
    }

    /// Writes a TLS stream's records to `transport` (after
    /// [`tls_records_next`](Self::tls_records_next) said they go next); report what went with
    /// `handle_written`.
    pub(crate) fn tls_send_records(
        &mut self,
        transport: &mut dyn std::io::Write,
    ) -> std::io::Result<usize> {
        match self.tls_mut() {
            Some(tls) => tls.send_records(transport),
            None => Ok(0),
        }
    }

    /// What a TLS stream driven by hand sends next: its clear bytes, records (copied out of
    /// the session), or a request for a file's bytes.
    #[cold]
    #[inline(never)]
    pub(super) fn tls_transmit<'a>(
        &'a mut self,
        slices: &mut [IoSlice<'a>],
        max: usize,
    ) -> Option<Transmit<'a>> {
        if self.tls_records_next() {
            let tls = self.tls_mut()?;
            tls.collect_output();
            let records = tls.unsent_records();
            let records = &records[..records.len().min(max.max(1))];
            *slices.first_mut()? = IoSlice::new(records);
            return Some(Transmit::Vectored(1));
        }
        let Stream { rare, writes, .. } = self;
        let tls = rare.as_deref()?.tls.as_ref()?;
        if tls.sends_clear() {
            let clear = usize::try_from(tls.clear).unwrap_or(usize::MAX);
            return writes.poll_transmit_within(slices, max.min(clear));
        }
        if !encrypts(tls) {
            return None;
        }
        match writes.poll_transmit(&mut []) {
            Some(Transmit::File(range)) => Some(Transmit::ReadFile(range)),
            _ => None,
        }
    }

    /// `n` bytes of what the stream offered were sent: clear bytes or records.
    #[cold]
    #[inline(never)]
    pub(super) fn tls_written(&mut self, n: usize, recycler: &mut Recycler) {
        let tls_stream_drained = {
            let Stream { rare, writes, .. } = &mut *self;
            let Some(tls) = rare.as_deref_mut().and_then(|rare| rare.tls.as_mut()) else {
                return;
            };
            if tls.sends_clear() {
                writes.handle_written_recycling(n, recycler);
                tls.clear = tls.clear.saturating_sub(n as u64);
            } else {
                tls.records_written(n);
            }
            let drained = tls.has(state::APP_IN_FLIGHT) && !tls.has_records() && writes.is_empty();
            if drained {
                tls.unset(state::APP_IN_FLIGHT);
            }
            drained
        };
        if tls_stream_drained && self.phase == Phase::Open && !self.closes_when_flushed() {
            self.push_event(Event::Drained);
        }
    }

    /// Whether a flushing TLS stream may shut its transport down: its clear bytes and
    /// records are sent, `close_notify` last.
    pub(super) fn tls_flushed(&mut self) -> bool {
        let Some(tls) = self.tls_mut() else {
            return true;
        };
        if tls.sends_clear() {
            return false;
        }
        if !tls.has(state::CLOSE_NOTIFY) {
            tls.set(state::CLOSE_NOTIFY);
            tls.session.close_notify();
        }
        !tls.has_records()
    }

    /// True when closing this stream can send a `close_notify`: its handshake is done, and
    /// neither side ended the session.
    pub(super) fn tls_says_goodbye(&self) -> bool {
        self.tls().is_some_and(encrypts)
    }

    /// The peer's TCP EOF: a truncation unless its `close_notify` came first.
    pub(super) fn tls_eof(&mut self) {
        if let Some(tls) = self.tls_mut()
            && !tls.has(state::PEER_CLOSED)
            && !tls.has(state::FAILED)
        {
            tls.set(state::TRUNCATED);
        }
    }

    /// True when the peer's EOF was a truncation.
    pub(super) fn tls_truncated(&self) -> bool {
        self.tls().is_some_and(|tls| tls.has(state::TRUNCATED))
    }

    /// The end of a truncated input, in place of `Eof`: the partial frame if any, then
    /// [`TlsError::Truncated`]; the stream closes once flushed.
    pub(super) fn tls_truncation(&mut self) -> Event {
        let partial = self.framer.take_partial();
        self.wind_down();
        match partial {
            Some(bytes) => {
                self.push_event(Event::TlsError(TlsError::Truncated));
                Event::Error(Error::TruncatedFrame(crate::error::TruncatedFrame {
                    bytes,
                }))
            }
            None => Event::TlsError(TlsError::Truncated),
        }
    }

    /// When the handshake times out, while it runs.
    #[cold]
    #[inline(never)]
    pub(super) fn tls_deadline(&self) -> Option<Instant> {
        let tls = self.tls()?;
        if tls.has(state::HANDSHAKE_DONE) || tls.has(state::FAILED) {
            return None;
        }
        Some(tls.started? + self.config.tls_handshake_timeout?)
    }

    /// The transport is up: the handshake starts now.
    pub(super) fn tls_connected(&mut self) {
        let now = self.clock.now();
        if let Some(tls) = self.tls_mut() {
            tls.started.get_or_insert(now);
        }
    }

    /// After STARTTLS on an open stream: input held when the handshake begins (bytes that
    /// followed the STARTTLS command in plaintext) is refused, not fed to the session.
    pub(super) fn tls_check_input(&mut self) {
        let Some(tls) = self.tls_mut() else {
            return;
        };
        if !tls.has(state::CHECK_INPUT) {
            return;
        }
        tls.unset(state::CHECK_INPUT);
        let held = self.framer.buffered();
        if held > 0 {
            self.tls_fail(TlsError::PlaintextAfterStartTls { bytes: held });
        }
    }

    /// What a closing TLS stream drops besides its write queue (which holds the clear bytes
    /// too): the plaintext of the records of application data not all sent.
    pub(super) fn tls_finish(&mut self) -> u64 {
        let Some(tls) = self.tls_mut() else {
            return 0;
        };
        tls.clear = 0;
        let dropped = if tls.has(state::APP_IN_FLIGHT) && tls.has_records() {
            tls.sealed
        } else {
            0
        };
        tls.out = Vec::new();
        tls.sent = 0;
        tls.sealed = 0;
        dropped
    }

    /// The session failed: `on_tls_error`, what was queued is dropped (and reported), the
    /// fatal alert is flushed, and the stream closes.
    fn tls_fail(&mut self, err: TlsError) {
        self.push_event(Event::TlsError(err));
        let Stream { rare, writes, .. } = &mut *self;
        let Some(tls) = rare.as_deref_mut().and_then(|rare| rare.tls.as_mut()) else {
            return;
        };
        tls.set(state::FAILED | state::CLOSE_NOTIFY);
        tls.unset(state::APP_IN_FLIGHT);
        tls.clear = 0;
        let unsent = writes.unsent();
        writes.clear();
        if unsent > 0 {
            self.push_event(Event::Error(Error::Unsent(Unsent { bytes: unsent })));
        }
        self.close();
    }
}
