//! The guide to the test kit (`pants_core::testing::guide`) shows the code pants fuzzes: its
//! key-value server is `pants_fuzz_checks::kv`, and its fuzz target is the `kv` target.

const GUIDE: &str = include_str!("../../../core/src/testing/guide.md");

#[test]
fn the_guide_shows_the_fuzzed_protocol_in_full() {
    let protocol = include_str!("../src/kv.rs");
    assert!(
        GUIDE.contains(&format!("```rust\n{protocol}```")),
        "core/src/testing/guide.md must show testing/fuzz-checks/src/kv.rs whole, in one block"
    );
}

#[test]
fn the_guide_shows_the_fuzz_target_pants_runs() {
    let target = include_str!("../../../fuzz/fuzz_targets/kv.rs");
    let line = "libfuzzer_sys::fuzz_target!(|script: Script| checker().check(script).assert_ok());";
    assert!(GUIDE.contains(line), "the guide's fuzz target changed");
    assert!(
        target.contains(line),
        "fuzz/fuzz_targets/kv.rs is not the guide's target"
    );
}
