//! A fuzzer's script of peers (bytes, EOFs, resets, clock moves) against the chat example
//! server: every peer gets every line up to an overlong one. The public test kit checks the
//! run, the protocol's model the answers; see `pants_protocols::fuzzing`.
#![no_main]

use pants_core::testing::check::Script;
use pants_protocols::fuzzing::{Protocol, check_script};

libfuzzer_sys::fuzz_target!(|script: Script| {
    check_script(Protocol::Chat, script);
});
