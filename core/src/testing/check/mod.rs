//! Check a protocol against every way its input can be cut: the test-and-fuzz kit.
//!
//! Give a [`Checker`] your handler's factory and a [`Script`] of what the peers send (bytes,
//! with EOFs, resets and clock moves between them). It runs the script on a fresh in-memory
//! [`Network`](super::Network) with the input whole, then again delivered as scripted, one
//! byte at a time, at seeded cut points (and, if asked, cut in two at every position), with
//! reads of one byte, and with short writes into a small window, and checks what holds for
//! every protocol:
//!
//! - **no panic**: a handler's panic is a failure, with its message;
//! - **the cutting does not matter**: each peer receives the same bytes, and its connection
//!   is closed early or not alike, however the input was cut (or the same after a
//!   [normalisation](Checker::normalize) you give, for replies that depend on timing);
//! - **memory stays bounded**: after every callback, the connection's write queue and read
//!   buffer are within the stream's limits, and what the handler holds within the bound you
//!   give ([`Checker::held`]);
//! - **every connection closes**: once its peer has gone away (EOF, then the linger), each
//!   connection ran `on_close` exactly once.
//!
//! The [`Report`] says what failed, with the smallest script and cutting found that still
//! show it. A test asserts on it; a fuzz target calls [`Report::assert_ok`].
//!
//! ```
//! use pants_core::testing::check::{self, Problem};
//! use pants_core::{Context, Frame, Handler};
//!
//! /// Answers each read with its length: a bug, since a read is not a message.
//! struct Counter;
//! impl Handler for Counter {
//!     fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
//!         let _ = cx.write(format!("{}\n", data.len()));
//!     }
//! }
//!
//! let report = check::check(|| Counter, "hello");
//! assert!(matches!(report.problem(), Some(Problem::DependsOnCutting { .. })));
//! let failure = report.failure().unwrap();
//! assert_eq!(failure.script.len(), 2, "the smallest input that shows it: two bytes");
//! println!("{failure}");
//! ```
//!
//! A script has one peer unless it says otherwise; with several (a chat room), every peer
//! connects first and the checks hold for each.
//!
//! # Fuzzing and property tests
//!
//! [`Script::decode`] reads a script from any bytes, so a cargo-fuzz target is one line:
//!
//! ```text
//! fuzz_target!(|data: &[u8]| check(MyProtocol::default, Script::decode(data)).assert_ok());
//! ```
//!
//! With the `arbitrary` feature of `pants-core`, `Script` is
//! [`Arbitrary`](https://docs.rs/arbitrary) (in that same format), so the target can take a
//! script as its argument. With the `proptest` feature, the module `strategy` has
//! strategies for chunkings and scripts. Both features are off by default: a crate that uses
//! neither pays nothing for them. The [guide](super::guide) walks a small protocol through its
//! unit tests, its property test and its fuzz target.

#[cfg(feature = "arbitrary")]
mod arbitrary;
mod checker;
mod report;
mod run;
mod script;
mod shrink;
#[cfg(feature = "proptest")]
pub mod strategy;
mod variant;
mod watch;

pub use checker::Checker;
pub use report::{Failure, Memory, Outcome, PeerOutcome, Problem, Report};
pub use script::{Script, Step};
pub use variant::{Cutting, Variant};

use crate::handler::Handler;

/// Checks a server whose connections each get a handler from `factory` against `script`,
/// with the default settings: [`Checker::new`] then [`Checker::check`].
pub fn check<H: Handler>(factory: impl Fn() -> H + 'static, script: impl Into<Script>) -> Report {
    Checker::new(factory).check(script)
}
