//! Replays every saved fuzz input on stable Rust: each file of `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` goes through the target's check, as the fuzzer would run it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use pants_fuzz_checks::TARGETS;
use pants_fuzz_checks::stream::panic_message;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir`, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable folder").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every input of `dir`; returns how many ran and the failures.
fn replay(dir: &Path, check: fn(&[u8])) -> (usize, Vec<String>) {
    let files = inputs(dir);
    let mut failures = Vec::new();
    for file in &files {
        let data = std::fs::read(file).expect("a readable input");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
            let short: String = panic_message(&*panic).chars().take(4000).collect();
            failures.push(format!("{}: {short}", file.display()));
        }
    }
    (files.len(), failures)
}

fn replay_target(name: &str) {
    let (_, check) = TARGETS
        .iter()
        .find(|(target, _)| *target == name)
        .expect("a known target");
    let corpus = fuzz_dir().join("corpus").join(name);
    let (seeds, mut failures) = replay(&corpus, *check);
    assert!(seeds > 0, "no seed inputs in {}", corpus.display());
    let (_, regressions) = replay(&fuzz_dir().join("regressions").join(name), *check);
    failures.extend(regressions);
    assert!(
        failures.is_empty(),
        "{} saved inputs fail:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn framer_corpus_and_regressions_pass() {
    replay_target("framer");
}

#[test]
fn stream_corpus_and_regressions_pass() {
    replay_target("stream");
}

#[test]
fn engine_corpus_and_regressions_pass() {
    replay_target("engine");
}

#[test]
fn resp_corpus_and_regressions_pass() {
    replay_target("resp");
}

#[test]
fn http_corpus_and_regressions_pass() {
    replay_target("http");
}

#[test]
fn chat_corpus_and_regressions_pass() {
    replay_target("chat");
}

#[test]
fn echo_corpus_and_regressions_pass() {
    replay_target("echo");
}

#[test]
fn kv_corpus_and_regressions_pass() {
    replay_target("kv");
}

#[test]
fn tls_corpus_and_regressions_pass() {
    replay_target("tls");
}

#[test]
fn every_target_has_a_replay_test() {
    let names: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "framer", "stream", "engine", "resp", "http", "chat", "echo", "kv", "tls"
        ],
        "add a replay test for a new target"
    );
}

/// Empty and tiny inputs decode to something harmless.
#[test]
fn trivial_inputs_pass() {
    for (_, check) in TARGETS {
        check(&[]);
        for byte in 0..=255u8 {
            check(&[byte]);
            check(&[byte; 64]);
        }
    }
}

/// Runs one input and shows its failure in full: `FUZZ_REPLAY=<target>:<file> cargo test -p
/// pants-fuzz-checks --test replay -- --ignored replay_one --nocapture`.
#[test]
#[ignore = "needs FUZZ_REPLAY=<target>:<file>"]
fn replay_one() {
    let spec = std::env::var("FUZZ_REPLAY").expect("FUZZ_REPLAY=<target>:<file>");
    let (name, file) = spec.split_once(':').expect("FUZZ_REPLAY=<target>:<file>");
    let (_, check) = TARGETS
        .iter()
        .find(|(target, _)| *target == name)
        .expect("a known target");
    check(&std::fs::read(file).expect("a readable input"));
}
