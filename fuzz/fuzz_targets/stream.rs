//! One stream driven by arbitrary inputs and commands; see `pants_fuzz_checks::stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pants_fuzz_checks::check_stream(data));
