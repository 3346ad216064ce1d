//! Test protocols without sockets: an in-memory network with a virtual clock that runs real
//! [`Handler`](crate::Handler)s through the same engine turn as the socket drivers.
//!
//! A [`Network`] holds an [`Engine`](crate::driver::Engine) and in-memory sockets. Open channels on it
//! as on a driver (`listen`, `connect`, `datagram`), or talk to them from the test through
//! scripted [`Peer`]s. [`run`](Network::run) turns the engine until nothing is left to do at
//! the current virtual time (per-turn timers aside: they run in each turn it takes);
//! [`advance`](Network::advance) moves the clock, firing timers and delivering delayed bytes on
//! the way. Nothing sleeps: a test of an hour of timeouts runs in
//! microseconds.
//!
//! ```
//! use pants_core::testing::Network;
//! use pants_core::{Context, Frame, Handler};
//!
//! struct Echo;
//! impl Handler for Echo {
//!     fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
//!         cx.write(data).unwrap();
//!     }
//! }
//!
//! let mut net = Network::new();
//! let server = net.listen("127.0.0.1:7", || Echo)?;
//! let peer = net.peer_connect("127.0.0.1:7")?;
//! net.send(peer, "hello");
//! net.run();
//! assert_eq!(net.received(peer), "hello");
//! assert_eq!(net.callbacks(server), ["on_listen", "on_accept"]);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Knobs make the network unfriendly on purpose: [`set_read_chunk`](Network::set_read_chunk)
//! and [`set_write_chunk`](Network::set_write_chunk) cut reads and writes short,
//! [`set_window`](Network::set_window) bounds what a socket buffers before writers block,
//! [`set_latency`](Network::set_latency) delays every byte, [`reset`](Network::reset) and
//! [`shutdown`](Network::shutdown) end a peer's side, [`fail_accepts`](Network::fail_accepts)
//! and [`set_fd_limit`](Network::set_fd_limit) exhaust descriptors, and
//! [`set_datagram_faults`](Network::set_datagram_faults) loses, duplicates and reorders
//! datagrams from the network's seed. For scenarios that need a driver's timing:
//! [`stop_reading`](Network::stop_reading) closes a peer's window (the engine's writes stall)
//! until [`resume_reading`](Network::resume_reading), [`hold_connects`](Network::hold_connects)
//! keeps connects in progress until the test completes or fails them,
//! [`advance_clock`](Network::advance_clock) moves the clock without a turn (a late driver),
//! and [`actions`](Network::actions) shows what the engine did to a channel's socket (shut
//! down its write side, closed it).
//!
//! To check a protocol against every way its input can be cut, with a report a test can
//! assert on and a fuzz target can panic on, see [`check`]; [`guide`] takes a small protocol
//! from unit tests to a running fuzzer. To drive one [`Stream`](crate::channel::Stream) by
//! hand, without an engine, see [`StreamDriver`].

pub mod check;
pub mod guide;
mod mem_io;
mod network;
mod peers;
mod rng;
mod stream_driver;

pub use mem_io::IoStats;
pub use network::{DatagramFaults, Network};
pub use peers::Peer;
pub use stream_driver::{Offer, StreamDriver, StreamHooks, Written};
