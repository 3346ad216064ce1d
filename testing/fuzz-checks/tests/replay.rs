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
        .filter(|path| path.is_file() && !is_note(path))
        .collect();
    files.sort();
    files
}

/// Files kept beside the inputs to explain them (`README.md`, `*.txt`), not inputs.
fn is_note(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("md" | "txt")
    )
}

/// The regression inputs of known, unfixed core bugs in `dir`, with part of their panic message
/// (`KNOWN_FAILURES.txt`: `file | message` lines, `#` comments).
fn known_failures(dir: &Path) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(dir.join("KNOWN_FAILURES.txt")) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (file, msg) = line.split_once(" | ").expect("`file | message` lines");
            (file.trim().to_string(), msg.trim().to_string())
        })
        .collect()
}

/// Runs `check` on every input of `dir`; returns how many ran and the failures. Inputs listed
/// in the folder's `KNOWN_FAILURES.txt` may fail, with their message only.
fn replay(dir: &Path, check: fn(&[u8])) -> (usize, Vec<String>) {
    let files = inputs(dir);
    let known = known_failures(dir);
    let mut failures = Vec::new();
    for (name, _) in &known {
        if !dir.join(name).is_file() {
            failures.push(format!("{}: listed in KNOWN_FAILURES.txt, missing", name));
        }
    }
    for file in &files {
        let data = std::fs::read(file).expect("a readable input");
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let expected = known
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, msg)| msg);
        let result = catch_unwind(AssertUnwindSafe(|| check(&data)));
        match (result, expected) {
            (Ok(()), None) => {}
            // Fixed (perhaps only in the work tree): a plain regression from now on. Not an
            // error, so that the core fix can land before the list is tidied.
            (Ok(()), Some(_)) => eprintln!(
                "note: {} passes now: the core bug is fixed? Delete its line in \
                 KNOWN_FAILURES.txt and its entry in `pants_fuzz_checks::KNOWN_BUGS`",
                file.display()
            ),
            (Err(panic), expected) => {
                let msg = panic_message(&*panic);
                if expected.is_some_and(|expected| msg.contains(expected.as_str())) {
                    continue;
                }
                let short: String = msg.chars().take(4000).collect();
                failures.push(format!("{}: {short}", file.display()));
            }
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
