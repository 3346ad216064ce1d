//! Echo: every byte comes back, in order, however the network cuts reads and writes.

use pants_core::ChannelId;
use pants_core::testing::{Network, Peer};
use pants_protocols::Echo;

/// A deterministic pseudo-random payload (xorshift64).
fn payload(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

fn server() -> (Network, ChannelId, Peer) {
    let mut net = Network::new();
    let server = net.listen("127.0.0.1:7", || Echo).unwrap();
    let peer = net.peer_connect("127.0.0.1:7").unwrap();
    net.run();
    (net, server, peer)
}

/// Runs the network until `want` bytes came back (bounded), returning them.
fn collect(
    net: &mut Network,
    peer: Peer,
    want: usize,
    mut each_turn: impl FnMut(&mut Network),
) -> Vec<u8> {
    let mut echoed = Vec::with_capacity(want);
    for _ in 0..1_000_000 {
        net.turn();
        each_turn(net);
        echoed.extend_from_slice(&net.received(peer));
        if echoed.len() >= want {
            break;
        }
    }
    echoed
}

#[test]
fn a_large_random_payload_comes_back_intact_under_short_reads_and_writes() {
    let (mut net, _, peer) = server();
    net.set_read_chunk(997);
    net.set_write_chunk(1_531);
    net.set_window(4_096);
    let data = payload(1 << 20, 0x9e37_79b9_7f4a_7c15);
    net.send(peer, &data);
    let echoed = collect(&mut net, peer, data.len(), |_| {});
    assert_eq!(echoed.len(), data.len());
    assert!(echoed == data, "the echo differs from what was sent");
}

#[test]
fn single_byte_reads_and_writes_keep_every_byte_in_order() {
    let (mut net, _, peer) = server();
    net.set_read_chunk(1);
    net.set_write_chunk(1);
    net.set_window(3);
    let data = payload(4_000, 7);
    net.send(peer, &data);
    assert_eq!(collect(&mut net, peer, data.len(), |_| {}), data);
}

#[test]
fn a_peer_that_reads_slowly_makes_echo_pause_instead_of_queueing_everything() {
    let (mut net, server, peer) = server();
    // The peer's window is small: most of the echo must wait in the server's queue, and the
    // server must stop reading once the queue is above its high-water mark (64 KiB).
    net.set_window(4 * 1024);
    net.set_read_chunk(8 * 1024);
    let conn = net.context().connections(server)[0];
    let data = payload(512 * 1024, 3);
    net.send(peer, &data);
    let mut most_queued = 0;
    let echoed = collect(&mut net, peer, data.len(), |net| {
        let queued = net.context().channel(conn).map_or(0, |c| c.queued());
        most_queued = most_queued.max(queued);
    });
    assert_eq!(echoed, data);
    assert!(
        most_queued <= 64 * 1024 + 8 * 1024,
        "queued {most_queued} bytes: more than the high-water mark plus one read"
    );
}

#[test]
fn eof_after_the_payload_flushes_the_echo_then_closes() {
    let (mut net, _, peer) = server();
    net.send(peer, "last words");
    net.shutdown(peer);
    net.run();
    assert_eq!(net.received(peer), "last words");
    assert!(net.saw_eof(peer));
}
