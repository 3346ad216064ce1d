//! The README's demo runs to its end on either driver: the chat server and its three clients
//! greet, hear each other and leave, and the engine stops by itself.

mod common;

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

use common::{STEP, example};

/// Runs the demo with `args`; its standard output, once it exited with success.
fn demo(args: &[&str]) -> String {
    let child = Command::new(example("demo"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the demo");
    let pid = child.id();
    let (tx, exited) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(output) = exited.recv_timeout(STEP) else {
        let _ = Command::new("kill").arg(pid.to_string()).status();
        panic!("the demo {args:?} still runs after {STEP:?}");
    };
    let output = output.expect("the demo's output");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{args:?}: {}\n{stdout}",
        output.status
    );
    stdout
}

fn assert_everyone_heard_everyone(stdout: &str, driver: &str) {
    assert!(
        stdout.contains(&format!("({driver} driver, real sockets)")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("listening on 127.0.0.1:"))
    );
    for name in ["alice", "bob", "carol"] {
        for from in ["alice", "bob", "carol"] {
            let line = format!("{name:>5} heard: hello from {from}");
            assert!(stdout.contains(&line), "no {line:?} in:\n{stdout}");
        }
    }
    assert!(stdout.ends_with("done: the engine stopped\n"), "{stdout}");
}

#[test]
fn the_demo_runs_to_its_end_on_mio() {
    assert_everyone_heard_everyone(&demo(&[]), "mio");
}

#[test]
fn the_demo_runs_to_its_end_on_smol() {
    assert_everyone_heard_everyone(&demo(&["--driver", "smol"]), "smol");
}
