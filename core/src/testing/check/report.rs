//! What a check found: the peers' view of the run with the input whole, and the first problem,
//! with the smallest script and cutting that still show it.

use std::fmt;

use bytes::Bytes;

use super::script::Script;
use super::variant::{Delivery, Variant};

/// The result of a check. A test asserts on it; a fuzz target calls
/// [`assert_ok`](Self::assert_ok), which panics with the whole story.
#[derive(Debug, Clone)]
pub struct Report {
    pub(crate) runs: usize,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) failure: Option<Box<Failure>>,
}

/// What the peers saw in one run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Each peer's view, by peer number.
    pub peers: Vec<PeerOutcome>,
}

/// What one peer saw in a run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerOutcome {
    /// Every byte it received, to the end (after its own EOF too).
    pub received: Bytes,
    /// The server ended the connection (EOF or reset) before the peer's own EOF or reset.
    pub closed_early: bool,
}

/// A problem and the smallest case found that shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong.
    pub problem: Problem,
    /// The smallest script found that shows it (the original when shrinking could not keep
    /// the problem).
    pub script: Script,
    /// The run that shows it: the cutting (as few cuts as found) and the network's knobs.
    pub variant: Variant,
}

/// What a check can find wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A callback panicked (or the engine did: report it).
    Panic {
        /// The panic's message.
        message: String,
    },
    /// What a peer received, or whether the server closed its connection early, depends on
    /// how the input was cut (after the check's normalisation).
    DependsOnCutting {
        /// The peer.
        peer: usize,
        /// What it saw with the input whole.
        whole: PeerOutcome,
        /// What it saw in the failing run.
        cut: PeerOutcome,
    },
    /// Memory went over its bound after a callback.
    OverLimit {
        /// The peer whose connection it was.
        peer: usize,
        /// Which memory.
        what: Memory,
        /// How much it held.
        size: usize,
        /// Its bound.
        bound: usize,
        /// The callback after which it was seen.
        callback: &'static str,
    },
    /// A connection did not end with exactly one `on_close` once its peer went away (EOF,
    /// then the linger and one second more), or a callback ran after its `on_close`.
    NotClosed {
        /// The peer whose connection it was.
        peer: usize,
        /// How many times `on_close` ran.
        closes: usize,
        /// A callback that ran after `on_close`.
        after_close: Option<&'static str>,
    },
}

/// Which memory a connection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Memory {
    /// What the handler holds by its own account ([`Checker::held`](super::Checker::held)).
    Handler,
    /// The write queue (bytes queued and not yet sent).
    Queued,
    /// The read buffer (bytes read and not yet cut into frames).
    ReadBuffer,
}

impl Report {
    /// True when no problem was found.
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }

    /// The problem found, with its smallest case.
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_deref()
    }

    /// The problem found.
    pub fn problem(&self) -> Option<&Problem> {
        self.failure().map(|failure| &failure.problem)
    }

    /// Panics with the report unless no problem was found: what a fuzz target calls.
    #[track_caller]
    pub fn assert_ok(&self) {
        if let Some(failure) = &self.failure {
            panic!("{failure}");
        }
    }

    /// How many runs the check took, shrinking included.
    pub fn runs(&self) -> usize {
        self.runs
    }

    /// What the peers saw with the input whole; `None` when that run failed.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// What peer `peer` received with the input whole (nothing when that run failed).
    pub fn received(&self, peer: usize) -> Bytes {
        self.peer(peer)
            .map(|p| p.received.clone())
            .unwrap_or_default()
    }

    /// Whether the server closed peer `peer`'s connection early, with the input whole.
    pub fn closed_early(&self, peer: usize) -> bool {
        self.peer(peer).is_some_and(|p| p.closed_early)
    }

    fn peer(&self, peer: usize) -> Option<&PeerOutcome> {
        self.outcome.as_ref()?.peers.get(peer)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            Some(failure) => write!(f, "{failure}"),
            None => write!(f, "protocol check passed ({} runs)", self.runs),
        }
    }
}

impl fmt::Display for Failure {
    /// The problem, then the smallest script and the reads it was cut into.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "protocol check failed: {}", self.problem)?;
        writeln!(f, "  script: {:?}", self.script)?;
        writeln!(f, "  run:    {}", self.variant)?;
        write!(f, "  steps: ")?;
        for delivery in self.variant.deliveries(&self.script) {
            match delivery {
                Delivery::Send(peer, data) => write!(f, " [{peer}: \"{}\"]", data.escape_ascii())?,
                Delivery::Eof(peer) => write!(f, " [{peer}: EOF]")?,
                Delivery::Reset(peer) => write!(f, " [{peer}: reset]")?,
                Delivery::Advance(by) => write!(f, " [+{by:?}]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Panic { message } => write!(f, "a callback panicked: {message}"),
            Problem::DependsOnCutting { peer, whole, cut } => write!(
                f,
                "what peer {peer} sees depends on how the input was cut\n    input whole: \
                 {}\n    this run:    {}",
                Shown(whole),
                Shown(cut)
            ),
            Problem::OverLimit {
                peer,
                what,
                size,
                bound,
                callback,
            } => write!(
                f,
                "peer {peer}'s connection holds {size} bytes in {what} after {callback}, over \
                 its bound of {bound}"
            ),
            Problem::NotClosed {
                peer,
                closes,
                after_close: Some(callback),
            } => write!(
                f,
                "peer {peer}'s connection ran {callback} after on_close ({closes} on_close)"
            ),
            Problem::NotClosed { peer, closes, .. } => write!(
                f,
                "peer {peer}'s connection ran on_close {closes} times after the peer went away \
                 (EOF, then the linger): once was expected"
            ),
        }
    }
}

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Memory::Handler => "the handler",
            Memory::Queued => "its write queue",
            Memory::ReadBuffer => "its read buffer",
        })
    }
}

/// A peer's view in one line.
struct Shown<'a>(&'a PeerOutcome);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "received \"{}\"", self.0.received.escape_ascii())?;
        if self.0.closed_early {
            write!(f, ", then the server closed")?;
        }
        Ok(())
    }
}
