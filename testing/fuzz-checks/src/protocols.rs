//! The protocol fuzz targets (`echo`, `chat`, `resp`, `http`, `kv`): a fuzzer's script of peers
//! against one example server each, through `pants_protocols::fuzzing`'s check (the public
//! test kit, `pants_core::testing::check`, plus each protocol's model).
//!
//! That check ([`check_script`]) runs the protocol's server on the in-memory network with
//! small limits, delivers the script whole and cut in several ways, then each peer's EOF and a
//! bystander's request, and panics unless the server never panics, never holds or queues
//! beyond its bounds, closes every connection once its peer is gone, answers the same however
//! the input was cut, answers what its model expects (or closes, saying why), and still serves
//! the bystander.
//!
//! # Input format
//!
//! The kit's script format ([`Script::decode`]): steps of a tag byte (the peer, 0 to 3, in its
//! top two bits; the operation in the others: send the next 1 to 60 bytes, EOF, reset, or move
//! the clock) and what they need. Any input is a script; an empty one checks that the peers
//! connect and go away. The fuzz targets take a [`Script`] as their argument (the `arbitrary`
//! feature of `pants-core` reads it in the same format), so these functions and the targets
//! agree on every file.

use arbitrary::{Arbitrary, Unstructured};
use pants_core::testing::check::{Checker, Report, Script};
use pants_core::{ReadLimits, StreamConfig};
use pants_protocols::fuzzing::{Protocol, check_script};

use crate::kv::Kv;

use crate::model::Esc;

/// The `echo` target's check.
pub fn check_echo(data: &[u8]) {
    check(Protocol::Echo, data);
}

/// The `chat` target's check.
pub fn check_chat(data: &[u8]) {
    check(Protocol::Chat, data);
}

/// The `resp` target's check.
pub fn check_resp(data: &[u8]) {
    check(Protocol::Resp, data);
}

/// The `http` target's check.
pub fn check_http(data: &[u8]) {
    check(Protocol::Http, data);
}

/// The `kv` target's check: the protocol of `pants_core::testing::guide`, checked by the kit
/// alone, as the guide does.
pub fn check_kv(data: &[u8]) {
    kv_checker().check(script(data)).assert_ok();
}

/// The guide's checker of its key-value server: a fresh store for each run, lines of at most
/// 64 bytes, bodies of at most 2 KiB.
pub fn kv_checker() -> Checker<Kv> {
    let config = StreamConfig {
        read_limits: ReadLimits::new(64, 2048).expect("64 <= 2048"),
        ..StreamConfig::default()
    };
    Checker::per_run(Kv::server).stream_config(config)
}

/// Checks `protocol` against the script `data` decodes to.
pub fn check(protocol: Protocol, data: &[u8]) {
    check_script(protocol, script(data));
}

/// The script a fuzz target's argument is for `data`: read as `fuzz_target!` reads it
/// (`Arbitrary::arbitrary_take_rest`, which is [`Script::decode`]).
pub fn script(data: &[u8]) -> Script {
    Script::arbitrary_take_rest(Unstructured::new(data)).expect("any bytes are a script")
}

/// What each peer received with the input whole, one line a peer (the bystander last), and
/// whether the server closed it before its EOF: for writing seeds.
pub fn protocol_output(protocol: Protocol, data: &[u8]) -> String {
    shown(&check_script(protocol, script(data)))
}

/// What each peer of the `kv` target's server received, as [`protocol_output`] shows it.
pub fn kv_output(data: &[u8]) -> String {
    let report = kv_checker().check(script(data));
    report.assert_ok();
    shown(&report)
}

/// Each peer's bytes, escaped, one line a peer, with " closed early" when it was.
fn shown(report: &Report) -> String {
    let outcome = report.outcome().expect("a passing check has an outcome");
    let peers = outcome.peers.iter().map(|peer| {
        let closed = if peer.closed_early {
            " closed early"
        } else {
            ""
        };
        format!("{:?}{closed}", Esc(&peer.received))
    });
    peers.collect::<Vec<_>>().join("\n")
}
