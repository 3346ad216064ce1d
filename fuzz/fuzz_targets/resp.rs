//! Arbitrary peer bytes against the RESP example server; see `pants_fuzz_checks::protocols`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pants_fuzz_checks::check_resp(data));
