//! A peer's arbitrary TLS records to a server stream; see `pants_fuzz_checks::tls`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pants_fuzz_checks::check_tls(data));
