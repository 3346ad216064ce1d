//! The example protocols of pants, written once and shared by the examples, the conformance
//! tests and the fuzz targets. Each is a [`pants_core::Handler`] made per connection by a
//! factory, written the Pants way: the read delimiter does the framing, the handler only ever
//! sees whole frames.
//!
//! | protocol | module | framing |
//! |---|---|---|
//! | echo | [`Echo`] | none: every read is written back as it came |
//! | chat | [`Chat`] (and [`chat::Room`] on a group of engines) | `\n` lines, broadcast to every client of the server |
//! | Redis (RESP2) | [`resp`] | a line (`\n`, a `\r` before it stripped), then `count(n + 2)` per bulk argument |
//! | HTTP/1.1 | [`http`] | the `\r\n\r\n` header block, then `count(Content-Length)` for a body |
//!
//! A server is one call on any driver or on the in-memory [`Network`](pants_core::testing::Network):
//!
//! ```
//! use pants_core::testing::Network;
//! use pants_protocols::{resp, Chat, Echo};
//!
//! let mut net = Network::new();
//! net.listen("127.0.0.1:7", || Echo)?;
//! net.listen("127.0.0.1:8", Chat::factory())?;
//! net.context().listen_with(resp::listen("127.0.0.1:6379", resp::Db::default()))?;
//!
//! let peer = net.peer_connect("127.0.0.1:6379")?;
//! net.send(peer, "SET greeting hello\r\nGET greeting\r\n");
//! net.run();
//! assert_eq!(net.received(peer), "+OK\r\n$5\r\nhello\r\n");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Every protocol that answers requests applies backpressure the same way: when a write leaves
//! the queue above its high-water mark, the handler pauses reading, and resumes in `on_write`
//! once the queue has drained, so a peer that pipelines requests without reading the replies
//! is slowed down by its own TCP window instead of filling the server's memory.
//!
//! [`fuzzing`] holds, for each protocol, a deterministic check that feeds arbitrary peer bytes
//! through an in-memory network and asserts the protocol's invariants; the fuzz targets and
//! their corpus-replay tests call it.
#![warn(missing_docs, unreachable_pub)]

pub mod chat;
mod echo;
pub mod fuzzing;
pub mod http;
pub mod resp;

pub use chat::Chat;
pub use echo::Echo;

use pants_core::{Context, Written};

/// Pauses reading when a write left the queue above its high-water mark; the handler resumes
/// in `on_write`. A refused write needs nothing here: the stream is closing.
fn pace(cx: &mut Context<'_>, written: Written) {
    if written == Written::AboveHighWater {
        cx.pause_reading();
    }
}
