//! Deterministic checks of each protocol against arbitrary peer bytes: the bodies of the fuzz
//! targets, callable on stable (the corpus-replay tests call them too).
//!
//! [`check_peer_bytes`] runs a server of the protocol on an in-memory
//! [`Network`] with small limits (read limit 256 bytes, hard read limit 4 KiB, so that every
//! limit is within a fuzzer's reach), connects a *bystander* client and then the fuzzed peer,
//! sends the peer's bytes in the given chunks, then the peer's EOF, and panics unless:
//!
//! 1. **It never panics**: the engine propagates a handler's panic instead of closing the
//!    channel, so the fuzzer sees it.
//! 2. **It never buffers beyond the limits**: after every callback, what the handler holds
//!    (a RESP command's arguments, an HTTP request waiting for its body) is within its bound,
//!    and the write queue within the high-water mark plus one read or reply (the handlers
//!    pause reading above it).
//! 3. **It always answers or closes**: the output is a well-formed sequence of the protocol's
//!    replies (echo: the input itself; chat: the input's lines up to an overlong one; RESP:
//!    complete replies, nothing after a protocol error; HTTP: complete responses, nothing after
//!    `Connection: close`); a server that closed before the peer's EOF said why in its last
//!    reply; after the EOF every connection is closed within the linger time; the bystander is
//!    still served afterwards; nothing is left open at the end.
//! 4. **Chunking does not matter**: the same bytes sent as one chunk give the same output,
//!    the same early close and the same bystander output.
//!
//! ```
//! use pants_protocols::fuzzing::{Protocol, check_peer_bytes};
//!
//! let outcome = check_peer_bytes(Protocol::Resp, &[b"SET k v\r\nGE", b"T k\r\n*1\r\n$x\r\n"]);
//! assert_eq!(outcome.received, "+OK\r\n$1\r\nv\r\n-ERR Protocol error: invalid bulk length\r\n");
//! assert!(outcome.closed_early);
//! ```
//!
//! A fuzz target over raw bytes calls [`check_fuzz_input`], which takes the protocol and the
//! chunking from the first two bytes.

mod models;
mod oracles;
mod watched;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use pants_core::testing::{Network, Peer};
use pants_core::{EngineConfig, Listen, OverflowPolicy, ReadLimits, StreamConfig};

use crate::{Chat, Echo, http, resp};
use watched::Watched;

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
}

/// What the fuzzed peer saw, for tests of the checks themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Every byte the peer received, before and after its EOF.
    pub received: Bytes,
    /// The server ended the connection before the peer's EOF.
    pub closed_early: bool,
}

/// The read limit of the checks' streams: lines and heads longer than this overflow.
pub const READ_LIMIT: usize = 256;
/// The hard read limit of the checks' streams: bulk and body lengths above it are refused.
pub const HARD_READ_LIMIT: usize = 4096;

/// Runs `protocol` against a peer that sends `chunks` (then EOF) and checks the invariants
/// listed in the [module docs](self); panics with a message naming the one that failed.
pub fn check_peer_bytes(protocol: Protocol, chunks: &[&[u8]]) -> Outcome {
    let chunked = run(protocol, chunks);
    let input = chunks.concat();
    let whole = run(protocol, &[&input]);
    assert_eq!(
        chunked.outcome, whole.outcome,
        "{protocol:?}: the output depends on how the input was cut into reads"
    );
    assert_eq!(
        chunked.bystander, whole.bystander,
        "{protocol:?}: the bystander's output depends on how the input was cut"
    );
    oracles::check(protocol, &input, &whole.outcome, &whole.bystander);
    whole.outcome
}

/// A fuzz target's body over raw bytes: byte 0 picks the protocol, byte 1 seeds the chunk
/// sizes (1 to 64 bytes), the rest is what the peer sends. Shorter inputs check nothing.
pub fn check_fuzz_input(data: &[u8]) {
    let [pick, seed, input @ ..] = data else {
        return;
    };
    let protocol = Protocol::ALL[usize::from(*pick) % Protocol::ALL.len()];
    let mut state = u32::from(*seed) | 0x100;
    let mut chunks = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        // xorshift32: a fixed, cheap sequence of chunk sizes from one byte.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = (state % 64 + 1) as usize;
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    check_peer_bytes(protocol, &chunks);
}

/// One run's observations.
struct Run {
    outcome: Outcome,
    bystander: Bytes,
}

const ADDR: &str = "127.0.0.1:9";

fn run(protocol: Protocol, chunks: &[&[u8]]) -> Run {
    let stream = stream_config(protocol);
    let config = EngineConfig {
        propagate_panics: true,
        trace: false,
        stream: Arc::new(stream.clone()),
        ..EngineConfig::default()
    };
    let mut net = Network::with_config(config, 0);
    net.context()
        .listen_with(listen(protocol, stream))
        .expect("the in-memory network listens");
    let bystander = net.peer_connect(ADDR).expect("the server accepts");
    let peer = net.peer_connect(ADDR).expect("the server accepts");
    net.run();

    let mut received = Vec::new();
    for chunk in chunks {
        if net.saw_eof(peer) {
            break; // the server is done with this peer: it would discard the rest
        }
        net.send(peer, chunk);
        net.run();
        received.extend_from_slice(&net.received(peer));
    }
    let closed_early = net.saw_eof(peer);
    net.shutdown(peer);
    net.advance(StreamConfig::DEFAULT_LINGER + Duration::from_secs(1));
    received.extend_from_slice(&net.received(peer));
    assert!(
        net.saw_eof(peer),
        "{protocol:?}: still open after the peer's EOF and the linger"
    );
    net.close(peer);
    net.run();

    let bystander_output = probe(&mut net, protocol, bystander);
    net.close(bystander);
    net.advance(StreamConfig::DEFAULT_LINGER + Duration::from_secs(1));
    assert_eq!(
        net.engine().channel_count(),
        1,
        "{protocol:?}: a connection was left open"
    );
    Run {
        outcome: Outcome {
            received: Bytes::from(received),
            closed_early,
        },
        bystander: bystander_output,
    }
}

/// The bystander's request after the fuzzed peer is gone, and everything it received.
fn probe(net: &mut Network, protocol: Protocol, bystander: Peer) -> Bytes {
    let request: &[u8] = match protocol {
        Protocol::Echo => b"probe",
        Protocol::Chat => b"probe\n",
        Protocol::Resp => b"PING\r\n",
        Protocol::Http => b"GET / HTTP/1.1\r\nHost: probe\r\n\r\n",
    };
    net.send(bystander, request);
    net.run();
    net.received(bystander)
}

fn stream_config(protocol: Protocol) -> StreamConfig {
    let overflow = match protocol {
        Protocol::Echo | Protocol::Chat => OverflowPolicy::Close,
        Protocol::Resp | Protocol::Http => OverflowPolicy::Discard,
    };
    StreamConfig {
        read_limits: ReadLimits::new(READ_LIMIT, HARD_READ_LIMIT).expect("limit <= hard limit"),
        overflow,
        ..StreamConfig::default()
    }
}

fn listen(protocol: Protocol, stream: StreamConfig) -> Listen {
    let listen = match protocol {
        Protocol::Echo => Listen::new(ADDR, || Watched::new(Echo)),
        Protocol::Chat => {
            let mut factory = Chat::factory();
            Listen::new(ADDR, move || Watched::new(factory()))
        }
        Protocol::Resp => {
            let mut factory = resp::factory(resp::Db::new());
            Listen::new(ADDR, move || Watched::new(factory()))
        }
        Protocol::Http => {
            let mut factory = http::factory(http::HttpConfig::default());
            Listen::new(ADDR, move || Watched::new(factory()))
        }
    };
    listen.stream_config(stream)
}
