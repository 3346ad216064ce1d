//! A fuzzer's script of peers (bytes, EOFs, resets, clock moves) against the RESP
//! example server: one well-formed reply per command. The public test kit checks the run,
//! the protocol's model the answers; see `pants_protocols::fuzzing`.
#![no_main]

use pants_core::testing::check::Script;
use pants_protocols::fuzzing::{Protocol, check_script};

libfuzzer_sys::fuzz_target!(|script: Script| {
    check_script(Protocol::Resp, script);
});
