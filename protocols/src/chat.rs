//! Chat: a line protocol where every line a client sends goes to every client of the server.
//!
//! The read delimiter is `\n`; an optional `\r` before it is stripped, so `telnet` and `nc`
//! users both work. Each line is sent on as `LINE\n` to every open connection of the server
//! that accepted the sender, the sender included, with one shared `Bytes` (no copy per client).
//!
//! Limits come from the stream: a line longer than the read limit (64 KiB by default) raises
//! `on_overflow_error`, and the stream's default overflow policy closes that client after
//! flushing what it has queued; nobody else is affected. A client that does not read what is
//! broadcast to it ends up over its write queue's hard limit: that write is refused and, under
//! the same policy, the slow client is closed, not the sender. A partial last line cut by the
//! peer's EOF is dropped (the stream reports it through `on_error`).

use bytes::{BufMut, BytesMut};
use pants_core::{Context, Frame, Handler, ReadDelimiter};

/// One chat client's connection. Make them with [`Chat::factory`], which builds the `\n`
/// delimiter once for the whole server.
///
/// ```
/// use pants_core::testing::Network;
/// use pants_protocols::Chat;
///
/// let mut net = Network::new();
/// net.listen("127.0.0.1:8", Chat::factory())?;
/// let alice = net.peer_connect("127.0.0.1:8")?;
/// let bob = net.peer_connect("127.0.0.1:8")?;
/// net.send(alice, "hi all\r\n");
/// net.run();
/// assert_eq!(net.received(alice), "hi all\n");
/// assert_eq!(net.received(bob), "hi all\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Chat {
    line: ReadDelimiter,
}

impl Chat {
    /// A factory for a server's connections; they share one compiled `\n` delimiter.
    pub fn factory() -> impl FnMut() -> Chat + 'static {
        let line = ReadDelimiter::bytes(b"\n").expect("a one-byte delimiter is valid");
        move || Chat { line: line.clone() }
    }
}

impl Handler for Chat {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter(&self.line)
            .expect("a byte delimiter fits any read limit");
    }

    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        let text = line.strip_suffix(b"\r").unwrap_or(&line);
        let mut message = BytesMut::with_capacity(text.len() + 1);
        message.put_slice(text);
        message.put_u8(b'\n');
        let message = message.freeze();
        match cx.server() {
            Some(server) => {
                cx.broadcast(server, message);
            }
            // A client-side chat (one the application connected) has no server: it just
            // shows the line to its own peer.
            None => {
                let _ = cx.write(message);
            }
        }
    }
}
