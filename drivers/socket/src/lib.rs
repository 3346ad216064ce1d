//! The socket layer under pants' drivers: everything both drivers need of the operating
//! system, written once.
//!
//! - opening sockets with their options (socket2): TCP over IPv4 and IPv6, Unix stream
//!   sockets (stale socket files replaced), UDP, Unix datagram sockets;
//! - the socket calls (`recv`, `send`, `sendmsg`, `sendfile` through rustix; datagrams to
//!   IP and Unix peers), and [`Addr`](pants_core::Addr) conversions;
//! - host names resolved off the loop, on a resolver thread whose answers wake the loop
//!   through a callback the driver gives;
//! - the [`SocketTable`], which owns every channel's socket and makes the engine's socket
//!   calls (it is the [`Io`](pants_core::driver::Io) the core calls); a driver only says how its
//!   poller watches a socket ([`Poller`]);
//! - the [`SocketEngine`] every driver's `Engine` dereferences to, the [`Handle`] other
//!   threads and tasks use, and the [`SignalPipe`] that stops a loop on a signal without a
//!   thread;
//! - the [`Group`] of engines, one per thread, sharing their listening ports (`SO_REUSEPORT`)
//!   for a server that outgrows one core, generic over the driver's engine ([`GroupEngine`]).
//!
//! A driver is then translation only: register a socket's descriptor with its poller, turn
//! the poller's reports into [`Readiness`](pants_core::driver::Readiness), wait until the engine's
//! next deadline, and run turns.
#![warn(missing_docs, unreachable_pub)]

mod calls;
mod engine;
mod group;
mod handle;
mod open;
mod poller;
mod release;
mod resolver;
mod signals;
mod socket;
mod table;

pub use engine::SocketEngine;
pub use group::{Group, GroupBuilder, GroupEngine, GroupHandle, Member};
pub use handle::{Call, Handle};
pub use poller::{Direction, Opened, Poller};
pub use resolver::Wake;
pub use signals::SignalPipe;
pub use socket::{OwnedPath, Socket, StreamSocket};
pub use table::SocketTable;
