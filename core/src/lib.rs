//! The sans-IO core of [pants]: event-driven networking channels as pure state machines.
//!
//! Nothing in this crate touches a socket, reads a clock or starts a thread, and it holds no
//! state a caller cannot see: what it does depends only on its inputs. A channel takes
//! *inputs* (bytes received, the peer's EOF, bytes written, a failed connect, the time) and
//! yields *outputs* (orders for the driver, bytes to send, events for the application, the next
//! deadline). Drivers (`pants-mio`, `pants-smol`) turn socket readiness into inputs and carry
//! out the outputs; tests and fuzzers drive the same state machines directly.
//!
//! [pants]: https://docs.rs/pants
//!
//! # Who finds what where
//!
//! - **Writing a protocol** (handler authors): the crate root. A [`Handler`] gets a
//!   [`Context`] in every callback; frames are cut by a [`ReadDelimiter`] within
//!   [`ReadLimits`]; settings are [`StreamConfig`], [`DatagramConfig`] and [`EngineConfig`];
//!   each operation has its own error type ([`Error`], [`ConnectError`], [`WriteError`], ...).
//! - **Testing a protocol**: [`testing`], an in-memory network with a virtual clock, and
//!   [`testing::check`], which checks a protocol under every cutting of its input.
//! - **Writing a driver**: [`driver`], the [`Engine`](driver::Engine) a driver runs and the
//!   [`Io`](driver::Io) it provides; its contract is below.
//! - **Driving one channel by hand**: [`channel`], the state machines themselves
//!   ([`Stream`](channel::Stream), [`Datagram`](channel::Datagram),
//!   [`Server`](channel::Server)) and their parts ([`Framer`](channel::Framer),
//!   [`WriteQueue`](channel::WriteQueue)); their contract is below too.
//!   [`testing::StreamDriver`] drives a [`Stream`](channel::Stream) in that order for a test.
//!
//! # The driver's contract
//!
//! A driver owns an [`Engine`](driver::Engine) and an [`Io`](driver::Io) (the socket calls,
//! keyed by [`ChannelId`]) and runs a loop:
//!
//! ```text
//!   wait for readiness, at most until poll_timeout()  ->  handle_readiness(id, ...) for each
//!        ^                                                        |
//!        +--------------------------- turn(io, now) <-------------+
//! ```
//!
//! - **Report readiness** with [`handle_readiness`](driver::Engine::handle_readiness) for
//!   every socket the poller names; spurious or repeated reports are harmless. Readiness is
//!   *edge-triggered*: the engine remembers it (the engine is the one owner of what a socket
//!   allows) and keeps calling a socket until it says `WouldBlock`, so a driver whose poller
//!   is level-triggered or one-shot only needs to report again after that. A level-triggered
//!   or re-armed poller may report a socket the engine still knows to be ready: harmless.
//! - **Run turns** with [`turn`](driver::Engine::turn)`(io, now)` after readiness, when the
//!   deadline passed, or whenever it likes: a turn does everything that needs no waiting
//!   (due timers, orders, writes, reads, accepts, callbacks), each channel within its read
//!   and write budgets, and returns. Time is the driver's clock, never going back.
//! - **Wait** at most until [`poll_timeout`](driver::Engine::poll_timeout): `now` when work
//!   is left over (a budget ran out), `None` when only readiness can bring work. The deadline
//!   is exact: a cancelled timer or a closed channel never wakes the loop.
//! - **Open channels and run application code** through
//!   [`context`](driver::Engine::context); **stop** with [`stop`](driver::Engine::stop) (a
//!   second call closes everything at once) until
//!   [`is_finished`](driver::Engine::is_finished).
//! - **Provide [`Io`](driver::Io)**: non-blocking calls that return at once, `WouldBlock` for
//!   "not now" (the engine retries `Interrupted` itself). A socket is registered with the
//!   poller under its channel's id when it is made (`listen`, `accept`, `connect`, `bind`) and
//!   deregistered by `close`, which the engine calls exactly once per socket.
//!
//! # A channel's contract
//!
//! Every method of a channel state machine belongs to one group:
//!
//! | group | methods | who calls it |
//! |---|---|---|
//! | inputs | `handle_connected`, `handle_connect_error`, `handle_data`, `handle_eof`, `handle_written`, `handle_error`, `handle_timeout`, `handle_file_data` (TLS) | the driver, with the current time |
//! | commands | `write`, `write_file`, `close`, `close_now`, `set_read_delimiter`, `pause_reading`, `resume_reading`, `start_tls` (TLS) | the application |
//! | outputs | `poll_action`, `poll_transmit`, `poll_event`, `poll_timeout` | the driver |
//! | interest | `wants_read`, `wants_write` | the driver |
//!
//! After any input or command, the driver drains the outputs in this order, and repeats until
//! a whole round yields nothing (handling an event may queue writes or close the channel):
//!
//! 1. `poll_action` until `None`: carry out each [`Action`](channel::Action) (shut down the
//!    write side, close).
//! 2. `poll_transmit` while `wants_write()`: write what it offers, report `handle_written(n)`.
//!    (A TLS stream offers records, and for a file range at the head of its queue asks for
//!    the file's bytes instead, [`Transmit::ReadFile`](channel::Transmit::ReadFile): read
//!    them, give them to `handle_file_data`, and poll again.)
//! 3. `poll_event` until `None`: run the application's callback for each
//!    [`Event`](channel::Event).
//! 4. `poll_timeout`: sleep at most until then, then call `handle_timeout`.
//!
//! Read from the socket only while `wants_read()`. Debug builds assert the order: time never
//! goes backwards, actions are drained before the next input, `handle_written` never reports
//! more than was offered. Spurious inputs (a timeout called early, EOF after close) are
//! harmless.
//!
//! # A stream's life
//!
//! ```text
//!   Stream::connecting                       Stream::accepted
//!          |                                        |
//!          v          handle_connected              v
//!     [connecting] ---------------------------> [open] <--- reads, writes, timeouts
//!          |                                     |   |
//!          | connect error / timeout /   close() |   | peer EOF, delivered after the last frame
//!          | close() with nothing queued         v   v  (then flush, unless half-open)
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
//! [`Event::Closed`](channel::Event::Closed) comes exactly once per channel and is its last
//! event; [`Event::Connected`](channel::Event::Connected) comes before any
//! [`Event::Read`](channel::Event::Read). A close that drops queued bytes reports them
//! ([`Error::Unsent`]) before `Closed`.
//!
//! # TLS (feature `tls`)
//!
//! A stream speaks TLS once `Stream::start_tls` was called on it (by the engine for
//! `Listen::tls` and `Connect::tls`). Its contract is the same: the driver
//! gives it the socket's bytes and writes what `poll_transmit` offers, now ciphertext. The
//! session sits between those bytes and the framer and write queue: records are decrypted
//! into frames as plaintext bytes are, the write queue holds plaintext and is encrypted when
//! the driver asks for bytes. `Event::TlsHandshake` comes before the first frame;
//! `Event::TlsError` says why the session ended, `Closed` follows. Closing sends
//! `close_notify` before the shutdown; a peer's EOF without it is `TlsError::Truncated`.
//!
//! # Example
//!
//! A line-echo protocol driven by hand, as a driver would (a test would let
//! [`testing::StreamDriver`] keep this order):
//!
//! ```
//! use std::io::IoSlice;
//! use std::time::Instant;
//! use bytes::Bytes;
//! use pants_core::StreamConfig;
//! use pants_core::channel::{Action, Event, Stream, Transmit};
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
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

mod addr;
mod datagram;
mod delimiter;
mod engine;
mod error;
mod event;
mod frame;
mod frame_size;
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
#[cfg(feature = "tls")]
mod tls;
mod write_queue;

pub use addr::{Addr, AddrParseError};
pub use datagram::DatagramConfig;
pub use delimiter::{IntoReadDelimiter, ReadDelimiter};
pub use engine::{
    Bind, ChannelMut, Connect, Context, EngineConfig, EngineContext, IntoAddr, Listen, Written,
};
pub use error::{
    ConnectError, DelimiterError, Direction, Error, EvictedFrame, FrameError, FrameLengthError,
    OverflowError, TruncatedFrame, Unsent, WriteError,
};
pub use event::Idle;
pub use frame::Frame;
pub use frame_size::FrameSize;
pub use framer::ReadLimits;
pub use handler::Handler;
pub use id::{ChannelId, TimerId};
pub use io::SocketOptions;
pub use length_prefix::{Endian, LengthPrefix};
/// rustls, whose configurations [`TlsClient::new`] and [`TlsServer::new`] take, and its
/// certificate types ([`rustls::pki_types`]).
#[cfg(feature = "tls")]
pub use rustls;
pub use stream::{OverflowPolicy, StreamConfig};
#[cfg(feature = "tls")]
pub use tls::{StartTlsError, Tls, TlsClient, TlsError, TlsInfo, TlsServer, TlsVersion};
pub use write_queue::{WriteLimits, WriteStatus};

/// For driver authors: the engine a driver runs and the socket calls it provides (the
/// contract is on the [crate page](crate#the-drivers-contract)).
pub mod driver {
    pub use crate::engine::{Engine, TraceEntry};
    pub use crate::io::{Io, Readiness, Received};
    pub use crate::write_queue::FileRange;
}

/// For driving one channel by hand: the state machines and their parts (the contract is on
/// the [crate page](crate#a-channels-contract)).
pub mod channel {
    pub use crate::datagram::{Datagram, DatagramEvent};
    pub use crate::event::{Action, Event};
    pub use crate::framer::Framer;
    pub use crate::server::{Server, ServerEvent};
    pub use crate::stream::Stream;
    pub use crate::write_queue::{FileRange, Transmit, WriteQueue};
}
