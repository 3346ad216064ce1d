//! pants: event-driven networking channels with callbacks, after the Python framework Pants.
//!
//! Write a protocol as a [`Handler`] (Pants' callbacks: `on_connect`, `on_read`, `on_write`,
//! `on_close`, ...), cut its input with a [`ReadDelimiter`], and run it on an [`Engine`]:
//!
//! ```no_run
//! use pants::{Context, Engine, Frame, Handler};
//!
//! /// Pants' line-oriented example: answers each line.
//! struct Greeter;
//!
//! impl Handler for Greeter {
//!     fn on_connect(&mut self, cx: &mut Context<'_>) {
//!         cx.set_read_delimiter("\r\n").unwrap();
//!     }
//!
//!     fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
//!         let _ = cx.write(format!("hello, {}\r\n", String::from_utf8_lossy(&line)));
//!     }
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     let mut engine = Engine::new()?;
//!     engine.listen("127.0.0.1:4040", || Greeter)?;
//!     engine.run()
//! }
//! ```
//!
//! This crate is a facade: it re-exports the sans-IO core ([`pants_core`], also as
//! [`core`]) and the default driver (mio: [`Engine`] and [`Handle`], also as [`mod@mio`]).
//! The smol driver, for programs that run a smol executor, is `pants::smol` behind the cargo
//! feature `smol`: the same handlers run on either. A server that outgrows one core runs a
//! [`Group`] of engines, one per thread, on one port. The in-memory test network is
//! [`testing`].
#![warn(missing_docs)]

pub use bytes::Bytes;
pub use pants_core::*;
pub use pants_mio::{Engine, Group, GroupHandle, Handle, Member, signal};

/// The sans-IO core, whole (its own `Engine` is the state machine that drivers run).
pub mod core {
    pub use pants_core::*;
}

/// The mio driver (the default): one thread, one `mio::Poll`.
pub mod mio {
    pub use pants_mio::*;
}

/// The smol driver: the engine as one task of a smol executor (feature `smol`).
#[cfg(feature = "smol")]
pub mod smol {
    pub use pants_smol::*;
}
