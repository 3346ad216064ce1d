//! Chat: each line goes to every client of the server, the sender included; an overlong line
//! closes only its sender.

use pants_core::testing::{Network, Peer};
use pants_core::{Listen, ReadLimits, StreamConfig};
use pants_protocols::Chat;

const ADDR: &str = "127.0.0.1:8";

fn clients(net: &mut Network, n: usize) -> Vec<Peer> {
    let peers = (0..n).map(|_| net.peer_connect(ADDR).unwrap()).collect();
    net.run();
    peers
}

fn chat() -> Network {
    let mut net = Network::new();
    net.listen(ADDR, Chat::factory()).unwrap();
    net
}

/// A chat server whose streams refuse lines over `limit` bytes.
fn chat_with_limit(limit: usize) -> Network {
    let mut net = Network::new();
    let config = StreamConfig {
        read_limits: ReadLimits::new(limit, ReadLimits::DEFAULT_HARD_LIMIT).unwrap(),
        ..StreamConfig::default()
    };
    net.context()
        .listen_with(Listen::new(ADDR, Chat::factory()).stream_config(config))
        .unwrap();
    net
}

#[test]
fn a_line_reaches_every_client_including_the_sender() {
    let mut net = chat();
    let peers = clients(&mut net, 3);
    net.send(peers[1], "hello\n");
    net.run();
    for peer in peers {
        assert_eq!(net.received(peer), "hello\n");
    }
}

#[test]
fn a_carriage_return_before_the_newline_is_stripped_and_others_are_kept() {
    let mut net = chat();
    let peers = clients(&mut net, 2);
    net.send(peers[0], "one\r\ntwo\n\r\nin\rside\n");
    net.run();
    assert_eq!(net.received(peers[1]), "one\ntwo\n\nin\rside\n");
}

#[test]
fn a_line_split_across_reads_is_sent_whole() {
    let mut net = chat();
    net.set_read_chunk(1);
    let peers = clients(&mut net, 2);
    net.send(peers[0], "split\r");
    net.run();
    assert_eq!(net.received(peers[1]), "", "no line yet");
    net.send(peers[0], "\n");
    net.run();
    assert_eq!(net.received(peers[1]), "split\n");
}

#[test]
fn lines_from_several_senders_arrive_in_the_order_they_were_read() {
    let mut net = chat();
    let peers = clients(&mut net, 2);
    net.send(peers[0], "a1\n");
    net.run();
    net.send(peers[1], "b1\n");
    net.run();
    net.send(peers[0], "a2\n");
    net.run();
    for peer in peers {
        assert_eq!(net.received(peer), "a1\nb1\na2\n");
    }
}

#[test]
fn an_overlong_line_closes_only_its_client() {
    let mut net = chat_with_limit(16);
    let peers = clients(&mut net, 3);
    let (talker, rambler, listener) = (peers[0], peers[1], peers[2]);
    net.send(rambler, "this line is far too long\n");
    net.run();
    assert!(net.saw_eof(rambler), "the rambler was closed");
    assert_eq!(
        net.received(listener),
        "",
        "nothing of the long line went out"
    );
    net.send(talker, "still here\n");
    net.run();
    assert_eq!(net.received(listener), "still here\n");
    assert_eq!(net.received(talker), "still here\n");
    assert_eq!(
        net.received(rambler),
        "",
        "a closed client gets nothing more"
    );
    assert!(!net.saw_eof(talker) && !net.saw_eof(listener));
}

#[test]
fn an_overlong_line_closes_its_client_before_its_newline_arrives() {
    let mut net = chat_with_limit(16);
    let peers = clients(&mut net, 2);
    net.send(peers[0], "x".repeat(17));
    net.run();
    assert!(net.saw_eof(peers[0]));
    assert!(!net.saw_eof(peers[1]));
}

#[test]
fn a_line_of_exactly_the_limit_is_accepted_however_it_arrives() {
    for chunk in [1, 5, 16, 17, 64] {
        let mut net = chat_with_limit(16);
        net.set_read_chunk(chunk);
        let peers = clients(&mut net, 2);
        net.send(peers[0], "0123456789abcdef\n");
        net.run();
        assert_eq!(
            net.received(peers[1]),
            "0123456789abcdef\n",
            "chunk {chunk}"
        );
        assert!(!net.saw_eof(peers[0]), "chunk {chunk}");
    }
}

#[test]
fn a_client_that_left_is_no_longer_sent_lines() {
    let mut net = chat();
    let peers = clients(&mut net, 2);
    net.close(peers[0]);
    net.run();
    net.send(peers[1], "anyone?\n");
    net.run();
    assert_eq!(net.received(peers[1]), "anyone?\n");
}

/// Two in-memory networks standing for two engines of a group, joined by a chat room: what
/// one engine posts to the other is run there by `deliver`, as the group's handle would.
struct TwoEngines {
    engines: [Network; 2],
    posted: std::sync::Arc<std::sync::Mutex<Vec<(usize, pants_protocols::chat::Work)>>>,
}

impl TwoEngines {
    fn new() -> Self {
        let posted = std::sync::Arc::<std::sync::Mutex<Vec<_>>>::default();
        let room = pants_protocols::chat::Room::new(2);
        let mut engines = [Network::new(), Network::new()];
        for (index, net) in engines.iter_mut().enumerate() {
            let posted = posted.clone();
            let post = move |to, work| posted.lock().unwrap().push((to, work));
            net.listen(ADDR, room.factory(index, post)).unwrap();
        }
        Self { engines, posted }
    }

    /// Runs both engines and the work they posted each other until nothing is left.
    fn run(&mut self) {
        loop {
            self.engines.iter_mut().for_each(Network::run);
            let posted: Vec<_> = self.posted.lock().unwrap().drain(..).collect();
            if posted.is_empty() {
                return;
            }
            for (to, work) in posted {
                work(&mut self.engines[to].context());
            }
        }
    }
}

#[test]
fn a_room_sends_every_line_to_every_client_of_every_engine_once() {
    let mut group = TwoEngines::new();
    // Two clients on engine 0, one on engine 1.
    let clients = [(0, 0), (0, 1), (1, 2)]
        .map(|(engine, _)| (engine, group.engines[engine].peer_connect(ADDR).unwrap()));
    group.run();
    for (i, &(engine, peer)) in clients.iter().enumerate() {
        group.engines[engine].send(peer, format!("line {i}\n"));
    }
    group.run();
    for (engine, peer) in clients {
        let mut got: Vec<String> = String::from_utf8_lossy(&group.engines[engine].received(peer))
            .lines()
            .map(str::to_owned)
            .collect();
        got.sort();
        assert_eq!(
            got,
            ["line 0", "line 1", "line 2"],
            "engine {engine}'s client"
        );
    }
}

#[test]
fn a_room_relays_nothing_to_an_engine_without_clients() {
    let mut group = TwoEngines::new();
    let peer = group.engines[0].peer_connect(ADDR).unwrap();
    group.run();
    group.engines[0].send(peer, "anyone?\n");
    group.engines[0].run();
    assert!(group.posted.lock().unwrap().is_empty(), "nothing posted");
    group.run();
    assert_eq!(group.engines[0].received(peer), "anyone?\n");
}
