//! Any cutting of the TLS bytes yields the same frames: a rustls client's handshake and
//! records reach a pants TLS server in arbitrary chunks (and reads of arbitrary sizes), and
//! the lines it delivers are the lines sent, in order, once each.
#![cfg(feature = "tls")]

mod tls_util;

use std::sync::OnceLock;

use pants_core::testing::{Network, Peer};
use pants_core::{Listen, TlsServer};
use proptest::prelude::*;
use tls_util::{Identity, RawClient, Recorder, entries, log};

const ADDR: &str = "127.0.0.1:1";

fn identity() -> &'static Identity {
    static IDENTITY: OnceLock<Identity> = OnceLock::new();
    IDENTITY.get_or_init(Identity::new)
}

/// Sends `bytes` to the server in chunks whose sizes cycle through `cuts`, running the
/// network after each.
fn send_cut(net: &mut Network, peer: Peer, bytes: &[u8], cuts: &[usize]) {
    let mut rest = bytes;
    for &cut in cuts.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let n = cut.clamp(1, rest.len());
        net.send(peer, &rest[..n]);
        net.run();
        rest = &rest[n..];
    }
}

fn server(net: &mut Network, tls: TlsServer) -> tls_util::Log {
    let server_log = log();
    let seen = server_log.clone();
    net.context()
        .listen_with(Listen::new(ADDR, move || Recorder::new(&seen)).tls(tls))
        .unwrap();
    server_log
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_chunking_of_the_tls_bytes_yields_the_same_lines(
        lines in prop::collection::vec("[a-z]{0,300}", 1..12),
        records in prop::collection::vec(1usize..4, 1..12),
        cuts in prop::collection::vec(1usize..700, 1..8),
        read_chunk in 1usize..5000,
    ) {
        let mut net = Network::new();
        net.set_read_chunk(read_chunk);
        let server_log = server(&mut net, identity().server());
        let mut raw = RawClient::connect(&mut net, ADDR, identity());
        // The handshake, its flights cut too.
        for _ in 0..4 {
            let out = raw.output();
            send_cut(&mut net, raw.peer, &out, &cuts);
            net.run();
            raw.input(&mut net).unwrap();
            if !raw.conn.is_handshaking() && !raw.conn.wants_write() {
                break;
            }
        }
        prop_assert!(!raw.conn.is_handshaking());
        // The lines as several records each (a line may span records, a record lines).
        let mut text = Vec::new();
        for line in &lines {
            text.extend_from_slice(line.as_bytes());
            text.push(b'\n');
        }
        let mut wire = Vec::new();
        let mut rest = &text[..];
        for &split in records.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let n = (rest.len() / split).max(1);
            wire.extend(raw.seal(&rest[..n]));
            rest = &rest[n..];
        }
        send_cut(&mut net, raw.peer, &wire, &cuts);
        net.run();
        let expected: Vec<String> = ["connect".to_owned(), "handshake".to_owned()]
            .into_iter()
            .chain(lines.iter().map(|line| format!("read:{line}")))
            .collect();
        prop_assert_eq!(entries(&server_log), expected);
    }
}
