//! The README's demo runs to its end on either driver: the chat server and its three clients
//! greet, hear each other and leave, and the engine stops by itself. And `tls_echo` without
//! `--cert` and `--key` makes a self-signed certificate, says where, and serves with it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::thread;

use common::{STEP, example, run_example_to_end};
use pants::TlsClient;
use pants::rustls::pki_types::ServerName;
use pants::rustls::{ClientConnection, StreamOwned};

/// Runs the demo with `args`; its standard output, once it exited with success.
fn demo(args: &[&str]) -> String {
    let output = run_example_to_end("demo", args, "it did not stop by itself");
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

/// `tls_echo` on `driver`, killed when dropped.
struct TlsEcho(Child);

impl Drop for TlsEcho {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn tls_echo_without_a_certificate_makes_one_says_where_and_serves_with_it() {
    for driver in ["mio", "smol"] {
        let mut child = Command::new(example("tls_echo"))
            .args(["--listen", "127.0.0.1:0", "--driver", driver])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tls_echo");
        let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let _server = TlsEcho(child);
        // `certificate: PATH` on stderr, then `listening on ADDR` on stdout.
        let (tx, lines) = mpsc::channel();
        let said = tx.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = said.send(line);
            }
        });
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (mut cert, mut addr) = (None, None);
        while cert.is_none() || addr.is_none() {
            let line = lines
                .recv_timeout(STEP)
                .expect("tls_echo said where and listened");
            if let Some(path) = line.strip_prefix("certificate: ") {
                cert = Some(PathBuf::from(path));
            } else if let Some(at) = line.strip_prefix("listening on ") {
                addr = Some(at.to_owned());
            }
        }
        let (cert, addr) = (cert.unwrap(), addr.unwrap());
        let key = cert.with_file_name("key.pem");
        let mode = std::fs::metadata(&key)
            .expect("the key beside it")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "{driver}: the key is readable by others: {mode:o}"
        );

        let client = TlsClient::with_ca_file(&cert).expect("the certificate it wrote");
        let name = ServerName::try_from("localhost").unwrap();
        let conn = ClientConnection::new(Arc::clone(client.config()), name).unwrap();
        let socket = TcpStream::connect(&addr).expect("connect");
        socket.set_read_timeout(Some(STEP)).unwrap();
        let mut tls = StreamOwned::new(conn, socket);
        tls.write_all(b"self-signed\n").expect("write");
        let mut echoed = [0; 12];
        tls.read_exact(&mut echoed).expect("the echo");
        assert_eq!(&echoed, b"self-signed\n", "{driver}");
    }
}
