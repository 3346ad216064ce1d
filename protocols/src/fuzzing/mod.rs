//! The example protocols under the public test kit ([`pants_core::testing::check`]), with
//! what only they know: a model of each one's answers. The fuzz targets and their
//! corpus-replay tests call [`check_fuzz_input`].
//!
//! [`check_script`] runs a protocol's server through the kit's [`Checker`] with small limits
//! (read limit 256 bytes, hard read limit 4 KiB, so that every limit is within a fuzzer's
//! reach): the kit checks that it never panics, never holds or queues beyond its bounds (what
//! a RESP command's arguments or an HTTP request's head hold, by the handler's own account;
//! the write queue within the high-water mark plus one read or reply, since the handlers
//! pause reading above it), closes every connection once its peer is gone, and answers the
//! same however the input is cut. After the script, each of its peers sends its EOF, and a
//! *bystander* (one more peer) sends one request: the server must still serve it. Then the
//! protocol's model judges what each peer received with the input whole: echo, the input
//! itself; chat, every complete line of every peer up to an overlong one, which closes its
//! sender; RESP, one well-formed reply per command, nothing after a protocol error or `QUIT`;
//! HTTP, complete responses with the statuses the model expects, nothing after
//! `Connection: close`. A server that closed a connection early said why in its last reply.
//!
//! ```
//! use pants_protocols::fuzzing::{Protocol, check_peer_bytes};
//!
//! let outcome = check_peer_bytes(Protocol::Resp, &[b"SET k v\r\nGE", b"T k\r\n*1\r\n$x\r\n"]);
//! assert_eq!(outcome.received, "+OK\r\n$1\r\nv\r\n-ERR Protocol error: invalid bulk length\r\n");
//! assert!(outcome.closed_early);
//! ```

mod models;
mod oracles;

use std::time::Duration;

use bytes::Bytes;
use pants_core::testing::check::{Checker, PeerOutcome, Report, Script, Step};
use pants_core::{Handler, OverflowPolicy, ReadLimits, StreamConfig, WriteLimits};

use crate::{Chat, Echo, http, resp};

/// The protocols the checks know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// [`Echo`].
    Echo,
    /// [`Chat`].
    Chat,
    /// The RESP server of [`resp`].
    Resp,
    /// The HTTP server of [`http`], with no root directory.
    Http,
}

impl Protocol {
    /// Every protocol, in a fixed order.
    pub const ALL: [Protocol; 4] = [
        Protocol::Echo,
        Protocol::Chat,
        Protocol::Resp,
        Protocol::Http,
    ];

    /// The bystander's request, and what it proves the server still does.
    fn probe(self) -> &'static [u8] {
        match self {
            Protocol::Echo => b"probe",
            Protocol::Chat => b"probe\n",
            Protocol::Resp => b"PING\r\n",
            Protocol::Http => b"GET / HTTP/1.1\r\nHost: probe\r\n\r\n",
        }
    }
}

/// The read limit of the checks' streams: lines and heads longer than this overflow.
pub const READ_LIMIT: usize = 256;
/// The hard read limit of the checks' streams: bulk and body lengths above it are refused.
pub const HARD_READ_LIMIT: usize = 4096;

/// The most a write queue may hold: the handlers pause reading above the high-water mark, so
/// at most one more read's worth (echo: a read of up to the network's 64 KiB) or one reply (at
/// most a hard-limit value plus framing) goes over it.
const QUEUE_BOUND: usize = WriteLimits::DEFAULT_HIGH_WATER + 64 * 1024 + HARD_READ_LIMIT + 1024;

/// Checks `protocol` against `script`, then each of its peers' EOF and a bystander's request,
/// as the [module docs](self) say; panics with the kit's report or the model's complaint.
/// Returns the kit's report (what each peer saw with the input whole; the bystander is the
/// last peer).
pub fn check_script(protocol: Protocol, script: Script) -> Report {
    let script = with_bystander(protocol, script);
    let report = match protocol {
        Protocol::Echo => checker(protocol, || || Echo, None).check(script.clone()),
        Protocol::Chat => checker(protocol, Chat::factory, None).check(script.clone()),
        Protocol::Resp => {
            let held = (
                resp::Resp::held as fn(&resp::Resp) -> usize,
                resp::Limits::default().command_bytes,
            );
            checker(protocol, || resp::factory(resp::Db::new()), Some(held)).check(script.clone())
        }
        Protocol::Http => {
            let held: Held<_> = (http::Http::held, READ_LIMIT);
            // No header timeout: the oracle checks what the parser answers, and the scripts
            // move the clock (the timeout has tests of its own, in `tests/http.rs`).
            let config = http::HttpConfig {
                header_timeout: None,
                ..http::HttpConfig::default()
            };
            let server = move || http::factory(config.clone());
            checker(protocol, server, Some(held)).check(script.clone())
        }
    };
    if let Some(failure) = report.failure() {
        panic!("{protocol:?}: {failure}");
    }
    let outcome = report
        .outcome()
        .expect("a report without a failure has the run's outcome");
    oracles::check(protocol, &script, &outcome.peers);
    report
}

/// One peer sends `chunks` (each one delivery), then its EOF: the check of [`check_script`],
/// and what that peer saw with the input whole.
pub fn check_peer_bytes(protocol: Protocol, chunks: &[&[u8]]) -> PeerOutcome {
    let mut script = Script::new();
    for chunk in chunks {
        script = script.send(Bytes::copy_from_slice(chunk));
    }
    let report = check_script(protocol, script);
    let outcome = report.outcome().expect("checked");
    outcome.peers[0].clone()
}

/// A fuzz target's body over raw bytes: byte 0 picks the protocol, the rest is a script of
/// peers ([`Script::decode`]: up to four peers, sends, EOFs, resets, clock moves).
pub fn check_fuzz_input(data: &[u8]) {
    let Some((pick, script)) = data.split_first() else {
        return;
    };
    let protocol = Protocol::ALL[usize::from(*pick) % Protocol::ALL.len()];
    check_script(protocol, Script::decode(script));
}

/// `script`, then each of its peers' EOF, the linger, and the bystander's request.
fn with_bystander(protocol: Protocol, script: Script) -> Script {
    let peers = script.peers();
    let mut script = script;
    for peer in 0..peers {
        script.push(Step::Eof { peer });
    }
    script
        .advance(StreamConfig::DEFAULT_LINGER + Duration::from_secs(1))
        .send_from(peers, protocol.probe())
}

/// How many bytes a handler holds between callbacks, and the most it may hold.
type Held<H> = (fn(&H) -> usize, usize);

/// The kit's checker for a protocol's server made by `make` for each run, with the checks'
/// limits, and the handler's own bound when it holds bytes.
fn checker<H, F>(
    protocol: Protocol,
    make: impl Fn() -> F + 'static,
    held: Option<Held<H>>,
) -> Checker<H>
where
    H: Handler,
    F: FnMut() -> H + 'static,
{
    let overflow = match protocol {
        Protocol::Echo | Protocol::Chat => OverflowPolicy::Close,
        Protocol::Resp | Protocol::Http => OverflowPolicy::Discard,
    };
    let config = StreamConfig {
        read_limits: ReadLimits::new(READ_LIMIT, HARD_READ_LIMIT).expect("limit <= hard limit"),
        overflow,
        ..StreamConfig::default()
    };
    let checker = Checker::per_run(make)
        .stream_config(config)
        .queue_bound(QUEUE_BOUND);
    match held {
        Some((probe, bound)) => checker.held(probe, bound),
        None => checker,
    }
}
