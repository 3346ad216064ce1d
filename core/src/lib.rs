//! The sans-IO core of [pants]: event-driven networking channels as pure state machines.
//!
//! Nothing in this crate touches a socket, reads a clock or starts a thread. A channel takes
//! *inputs* (bytes received, the peer's EOF, bytes written, a failed connect, the time) and
//! yields *outputs* (orders for the driver, bytes to send, events for the application, the next
//! deadline). Drivers (`pants-mio`, `pants-smol`) turn socket readiness into inputs and carry out
//! the outputs; tests and fuzzers drive the same state machines directly.
//!
//! [pants]: https://docs.rs/pants
//!
//! # The pieces
//!
//! - [`Stream`]: a connected byte stream (TCP, Unix stream socket): connect, read by
//!   [`ReadDelimiter`], write queue, close after flush, timeouts.
//! - [`Framer`]: the stream's read side on its own: bytes in, frames out.
//! - [`WriteQueue`]: the stream's write side on its own: bytes and file ranges in, vectored
//!   writes out.
//!
//! # The drive order
//!
//! Every method of a channel belongs to one group:
//!
//! | group | methods | who calls it |
//! |---|---|---|
//! | inputs | `handle_connected`, `handle_connect_error`, `handle_data`, `handle_eof`, `handle_written`, `handle_error`, `handle_timeout` | the driver, with the current time |
//! | commands | `write`, `write_file`, `close`, `close_now`, `set_read_delimiter`, `pause_reading`, `resume_reading` | the application |
//! | outputs | [`poll_action`](Stream::poll_action), [`poll_transmit`](Stream::poll_transmit), [`poll_event`](Stream::poll_event), [`poll_timeout`](Stream::poll_timeout) | the driver |
//! | interest | [`wants_read`](Stream::wants_read), [`wants_write`](Stream::wants_write) | the driver |
//!
//! After any input or command, the driver drains the outputs in this order, and repeats until
//! a whole round yields nothing (handling an event may queue writes or close the channel):
//!
//! 1. `poll_action` until `None`: carry out each [`Action`] (shut down the write side, close).
//! 2. `poll_transmit` while `wants_write()`: write what it offers, report `handle_written(n)`.
//! 3. `poll_event` until `None`: run the application's callback for each [`Event`].
//! 4. `poll_timeout`: sleep at most until then, then call `handle_timeout`.
//!
//! Read from the socket only while `wants_read()`. Debug builds assert the order: time never
//! goes backwards, actions are drained before the next input, `handle_written` never reports
//! more than was offered. Spurious inputs (a timeout called early, EOF after close) are harmless.
//!
//! # A stream's life
//!
//! ```text
//!   Stream::connecting                       Stream::accepted
//!          |                                        |
//!          v          handle_connected              v
//!     [connecting] ---------------------------> [open] <--- reads, writes, timeouts
//!          |                                     |   |
//!          | connect error / timeout     close() |   | peer EOF, delivered after the last frame
//!          |                                     v   v  (then flush, unless half-open)
//!          |                                [closing: flush queue]
//!          |                                     |
//!          |                                     | queue empty: Action::Shutdown
//!          |                                     v
//!          |                            [lingering: discard input]
//!          |                                     |
//!          |                                     | peer EOF, or linger time up
//!          v                                     v
//!     [closed] <---- close_now(), reset, I/O error, from anywhere: Action::Close, Event::Closed
//! ```
//!
//! [`Event::Closed`] comes exactly once per channel and is its last event; [`Event::Connected`]
//! comes before any [`Event::Read`].
//!
//! # Example
//!
//! A line-echo protocol driven by hand, as a driver would:
//!
//! ```
//! use std::io::IoSlice;
//! use std::time::Instant;
//! use bytes::Bytes;
//! use pants_core::{Action, Event, Stream, StreamConfig, Transmit};
//!
//! let now = Instant::now();
//! let mut stream = Stream::accepted(StreamConfig::default(), now);
//! stream.set_read_delimiter("\r\n")?;
//! stream.handle_data(now, Bytes::from_static(b"hello\r\nworld\r\n"));
//!
//! let mut sent = Vec::new();
//! loop {
//!     let mut progressed = false;
//!     while let Some(action) = stream.poll_action() {
//!         progressed = true;
//!         assert_eq!(action, Action::Close);
//!     }
//!     let mut slices = [IoSlice::new(&[]); 16];
//!     if let Some(Transmit::Vectored(n)) = stream.poll_transmit(&mut slices) {
//!         let len: usize = slices[..n].iter().map(|s| s.len()).sum();
//!         slices[..n].iter().for_each(|s| sent.extend_from_slice(s));
//!         stream.handle_written(now, len); // the socket took it all
//!         progressed = true;
//!     }
//!     while let Some(event) = stream.poll_event() {
//!         progressed = true;
//!         if let Event::Read(line) = event {
//!             stream.write([&line[..], b"\r\n"].concat())?;
//!         }
//!     }
//!     if !progressed {
//!         break;
//!     }
//! }
//! assert_eq!(sent, b"hello\r\nworld\r\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs, unreachable_pub)]

mod addr;
mod datagram;
mod delimiter;
mod engine;
mod error;
mod event;
mod frame;
mod framer;
mod handler;
mod id;
mod io;
mod length_prefix;
#[cfg(feature = "regex")]
mod regex_delimiter;
mod server;
mod stream;
pub mod testing;
mod write_queue;

pub use addr::{Addr, AddrParseError};
pub use datagram::{Datagram, DatagramConfig, DatagramEvent};
pub use delimiter::{IntoReadDelimiter, ReadDelimiter};
pub use engine::{
    Bind, ChannelMut, Connect, Context, Engine, EngineConfig, EngineContext, IntoAddr, Listen,
    TraceEntry,
};
pub use error::{
    ConnectError, DelimiterError, Direction, Error, FrameError, FrameLengthError, OverflowError,
    ResolveFailed, TruncatedFrame, WriteError,
};
pub use event::{Action, Event, Idle};
pub use frame::Frame;
pub use framer::{Framer, ReadLimits};
pub use handler::Handler;
pub use id::{ChannelId, TimerId};
pub use io::{Io, Readiness, Received, SocketOptions};
pub use length_prefix::{Endian, LengthPrefix};
pub use server::{Server, ServerEvent};
pub use stream::{OverflowPolicy, Stream, StreamConfig};
pub use write_queue::{FileRange, Transmit, WriteLimits, WriteQueue, WriteStatus};
