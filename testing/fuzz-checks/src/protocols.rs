//! The protocol fuzz targets (`echo`, `chat`, `resp`, `http`): arbitrary peer bytes against one
//! example server each, through `pants_protocols::fuzzing`'s check.
//!
//! That check ([`check_peer_bytes`]) runs the protocol's server on an in-memory network with
//! small limits, sends the peer's bytes in chunks and then its EOF, and panics unless the server
//! never panics, never holds or queues beyond its limits, answers with well-formed replies that
//! its framing model expects (or closes, saying why), closes after the EOF, still serves a
//! bystander, and gives the same output however the bytes were cut.
//!
//! # Input format
//!
//! The format of [`check_fuzz_input`] without its first byte (the protocol, fixed by the
//! target): byte 0 seeds the chunk sizes (1 to 64 bytes), the rest is what the peer sends. An
//! empty input checks nothing.

use pants_protocols::fuzzing::{Protocol, check_fuzz_input, check_peer_bytes};

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

/// Runs [`check_fuzz_input`] on `data` with `protocol`'s byte in front.
pub fn check(protocol: Protocol, data: &[u8]) {
    let pick = Protocol::ALL
        .iter()
        .position(|p| *p == protocol)
        .expect("a known protocol");
    let mut input = Vec::with_capacity(data.len() + 1);
    input.push(pick as u8);
    input.extend_from_slice(data);
    check_fuzz_input(&input);
}

/// What the server answered to one input (sent whole; the check makes sure the chunking does
/// not matter), and whether it closed before the peer's EOF: for writing seeds.
pub fn protocol_output(protocol: Protocol, data: &[u8]) -> String {
    let Some((_, peer)) = data.split_first() else {
        return String::from("(empty input: nothing checked)");
    };
    let outcome = check_peer_bytes(protocol, &[peer]);
    format!(
        "{:?}{}",
        Esc(&outcome.received),
        if outcome.closed_early {
            " closed early"
        } else {
            ""
        }
    )
}
