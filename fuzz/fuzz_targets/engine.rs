//! Channels, servers and datagrams of one engine on the in-memory network, against the
//! ordering guarantees; see `pants_fuzz_checks::engine`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pants_fuzz_checks::check_engine(data));
