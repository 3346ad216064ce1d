//! Echo: every byte received is written back (RFC 862 over a stream).
//!
//! There is no read delimiter: each read is delivered as it arrived, as one frame that is
//! queued for writing without a copy. When the peer sends faster than it reads, the write queue
//! rises above its high-water mark; the handler then pauses reading until the queue drains, so
//! the peer's own TCP window slows it down and the server never holds more than the high-water
//! mark plus one read.

use pants_core::{Context, Frame, Handler};

use crate::pace;

/// The echo protocol: writes back every byte it receives, in order.
///
/// ```
/// use pants_core::testing::Network;
/// use pants_protocols::Echo;
///
/// let mut net = Network::new();
/// net.listen("127.0.0.1:7", || Echo)?;
/// let peer = net.peer_connect("127.0.0.1:7")?;
/// net.send(peer, "ping");
/// net.run();
/// assert_eq!(net.received(peer), "ping");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

impl Handler for Echo {
    fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
        let status = cx.write(data);
        pace(cx, status);
    }

    fn on_write(&mut self, cx: &mut Context<'_>) {
        cx.resume_reading();
    }
}
