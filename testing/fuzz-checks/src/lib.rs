//! The checking bodies of the fuzz targets in `fuzz/`, as plain functions.
//!
//! Each fuzz target is one line that calls a function of this crate on the fuzzer's bytes;
//! `tests/replay.rs` calls the same functions on every file of `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/`, so the corpus and every crash ever found are checked by
//! `cargo test` on stable Rust, without a fuzzer.
//!
//! - [`check_framer`]: a [`Framer`](pants_core::channel::Framer) against the reference model of
//!   `core/tests/model/framer.rs` (included here, not copied).
//! - [`check_stream`]: one [`Stream`](pants_core::channel::Stream) driven in the documented drive order
//!   by arbitrary driver inputs and application commands.
//! - [`check_engine`]: several channels, servers and datagram channels of one engine on the
//!   in-memory network, with faults and scripted handlers, against the ordering guarantees of
//!   DESIGN.md section 2. The engine properties (`tests/engine_props.rs`) run the same scenario
//!   on cases that proptest generates ([`engine::check_case`]).
//! - [`check_echo`], [`check_chat`], [`check_resp`], [`check_http`]: a script of peers (the
//!   public test kit's `Script`) against each example protocol's server, checked by the kit and
//!   the protocol's model (`pants_protocols::fuzzing`).
//! - [`check_kv`]: the same for the key-value server of the guide to the test kit
//!   (`pants_core::testing::guide`), checked by the kit alone.
//! - [`check_tls`]: arbitrary bytes as a peer's TLS records to a server stream (see
//!   [`tls`]).
//!
//! A check panics when it finds a bug; the message says what and shows the case.

pub mod engine;
pub mod framer;
pub mod input;
/// The key-value server of `pants_core::testing::guide` (memcached's `set` and `get`), the very
/// code the guide shows (a test keeps them the same): the `kv` target fuzzes it.
pub mod kv;
pub mod protocols;
pub mod stream;
pub mod tls;

/// The reference model of the framer, shared with the property tests of `pants-core`.
#[allow(missing_docs)]
#[path = "../../../core/tests/model/framer.rs"]
pub mod model;

pub use engine::check_engine;
pub use framer::check_framer;
pub use protocols::{check_chat, check_echo, check_http, check_kv, check_resp};
pub use stream::check_stream;
pub use tls::check_tls;

/// A target's check: panics when it finds a bug in the input's case.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name: the name of the target, its corpus and regression folders.
pub const TARGETS: &[(&str, Check)] = &[
    ("framer", check_framer),
    ("stream", check_stream),
    ("engine", check_engine),
    ("resp", check_resp),
    ("http", check_http),
    ("chat", check_chat),
    ("echo", check_echo),
    ("kv", check_kv),
    ("tls", check_tls),
];
