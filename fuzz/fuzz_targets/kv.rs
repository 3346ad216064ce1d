//! A fuzzer's script of peers against the key-value server of the test kit's guide
//! (`pants_core::testing::guide`): the target the guide shows, checked by the kit alone.
#![no_main]

use pants_core::testing::check::Script;
use pants_fuzz_checks::protocols::kv_checker as checker;

libfuzzer_sys::fuzz_target!(|script: Script| checker().check(script).assert_ok());
