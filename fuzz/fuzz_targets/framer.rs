//! The framer against the reference model; see `pants_fuzz_checks::framer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pants_fuzz_checks::check_framer(data));
