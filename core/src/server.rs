//! The stream server channel: a listening socket that accepts streams (Pants' `StreamServer`).

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::id::ChannelId;
use crate::io::is_resource_exhaustion;

/// Something that happened on a server, for the application.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerEvent {
    /// The server is listening (`on_listen`).
    Listening,
    /// A connection was accepted as this stream channel (`on_accept`).
    Accepted(ChannelId),
    /// Accepting failed for want of descriptors or memory; the server pauses accepting and
    /// retries after a backoff (`on_error`, once until an accept succeeds again).
    Error(Error),
    /// The server is closed (`on_close`); nothing follows.
    Closed,
}

/// A listening server as a sans-IO state machine: whether it accepts, and its backoff when the
/// system runs out of descriptors. (The engine knows each server's live connections: every
/// accepted stream records the server that accepted it.)
///
/// Accept errors come in two kinds. Errors of one connection (the peer reset it while it
/// waited in the backlog) are skipped. Resource exhaustion (`EMFILE`, `ENFILE`, `ENOBUFS`,
/// `ENOMEM`) pauses accepting for a backoff that doubles from 10 ms to 1 s while it lasts,
/// so the loop never spins on a listener it cannot serve.
#[derive(Debug)]
pub struct Server {
    closed: bool,
    /// The application paused accepting.
    paused: bool,
    events: VecDeque<ServerEvent>,
    /// While paused: when to accept again.
    paused_until: Option<Instant>,
    /// The next backoff; reset by a successful accept.
    backoff: Duration,
    /// Accepting failed for want of resources, and has not succeeded since.
    exhausted: bool,
}

impl Server {
    /// The first backoff after resource exhaustion.
    pub const MIN_BACKOFF: Duration = Duration::from_millis(10);
    /// The longest backoff.
    pub const MAX_BACKOFF: Duration = Duration::from_secs(1);

    /// A server whose socket is listening: [`ServerEvent::Listening`] is queued.
    pub fn listening() -> Self {
        Self {
            closed: false,
            paused: false,
            events: VecDeque::from([ServerEvent::Listening]),
            paused_until: None,
            backoff: Self::MIN_BACKOFF,
            exhausted: false,
        }
    }

    /// A connection was accepted as channel `conn`.
    pub fn handle_accepted(&mut self, conn: ChannelId) {
        if self.closed {
            return;
        }
        self.backoff = Self::MIN_BACKOFF;
        self.exhausted = false;
        self.events.push_back(ServerEvent::Accepted(conn));
    }

    /// Accepting failed. Returns true when accepting may go on at once (a per-connection error).
    pub fn handle_accept_error(&mut self, now: Instant, err: io::Error) -> bool {
        if !is_resource_exhaustion(&err) {
            return true;
        }
        log::warn!(
            "pants: accepting failed for want of resources ({err}); accepting again in {:?}",
            self.backoff
        );
        if !self.exhausted {
            self.exhausted = true;
            self.events.push_back(ServerEvent::Error(Error::Io(err)));
        }
        self.paused_until = Some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(Self::MAX_BACKOFF);
        false
    }

    /// Time passed: ends the backoff when due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.paused_until.is_some_and(|until| now >= until) {
            self.paused_until = None;
        }
    }

    /// Stops accepting until [`resume_accepting`](Self::resume_accepting), keeping the
    /// listening socket (connections wait in its backlog). Idempotent.
    pub fn pause_accepting(&mut self) {
        self.paused = true;
    }

    /// Accepts again. Idempotent.
    pub fn resume_accepting(&mut self) {
        self.paused = false;
    }

    /// True while accepting is paused by [`pause_accepting`](Self::pause_accepting).
    pub fn is_accepting_paused(&self) -> bool {
        self.paused
    }

    /// Stops accepting; [`ServerEvent::Closed`] is queued. (The engine closes the server's
    /// connections with it.) Idempotent.
    pub fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.paused_until = None;
            self.events.push_back(ServerEvent::Closed);
        }
    }

    /// Closes and drops every pending event but [`ServerEvent::Closed`] (after its handler
    /// panicked).
    pub(crate) fn abort(&mut self) {
        self.close();
        self.events
            .retain(|event| matches!(event, ServerEvent::Closed));
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// When the backoff ends, if paused.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.paused_until
    }

    /// Whether the driver should accept now.
    pub fn wants_accept(&self) -> bool {
        !self.closed && !self.paused && self.paused_until.is_none()
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(index: u32) -> ChannelId {
        ChannelId {
            index,
            generation: 0,
        }
    }

    #[test]
    fn exhaustion_pauses_with_doubling_backoff_and_reports_once() {
        let now = Instant::now();
        let mut server = Server::listening();
        assert!(!server.handle_accept_error(now, io::Error::from_raw_os_error(24)));
        assert!(!server.wants_accept());
        assert_eq!(server.poll_timeout(), Some(now + Duration::from_millis(10)));
        server.handle_timeout(now + Duration::from_millis(10));
        assert!(server.wants_accept());
        let later = now + Duration::from_millis(10);
        server.handle_accept_error(later, io::Error::from_raw_os_error(24));
        assert_eq!(
            server.poll_timeout(),
            Some(later + Duration::from_millis(20))
        );
        let events: Vec<_> = std::iter::from_fn(|| server.poll_event()).collect();
        assert_eq!(
            events.len(),
            2,
            "listening, then one error until accepting works again: {events:?}"
        );
    }

    #[test]
    fn per_connection_errors_are_skipped() {
        let mut server = Server::listening();
        assert!(
            server.handle_accept_error(Instant::now(), io::ErrorKind::ConnectionAborted.into())
        );
        assert!(server.wants_accept());
    }

    #[test]
    fn a_successful_accept_resets_the_backoff() {
        let now = Instant::now();
        let mut server = Server::listening();
        for _ in 0..10 {
            server.handle_accept_error(now, io::Error::from_raw_os_error(23));
        }
        server.handle_accepted(id(1));
        server.handle_timeout(now + Server::MAX_BACKOFF);
        server.handle_accept_error(now, io::Error::from_raw_os_error(23));
        assert_eq!(server.poll_timeout(), Some(now + Server::MIN_BACKOFF));
    }
}
