//! The RESP server reads a small command whole and anything else by argument: for any bytes
//! a peer sends (commands, malformed ones, garbage) in any chunking, both ways answer alike.
//! The second server below reads every command by argument (its read limit is under the size
//! of a command read whole); both have room for every line generated here.

use pants_core::testing::Network;
use pants_core::{Listen, ReadLimits, StreamConfig};
use pants_protocols::resp;
use proptest::prelude::*;

const ADDR: &str = "127.0.0.1:6379";

/// What a server answered `sent` read `chunk` bytes at a time, and whether it closed.
fn answer(sent: &[u8], chunk: usize, read_limit: usize) -> (Vec<u8>, bool) {
    let mut net = Network::new();
    let config = StreamConfig {
        read_limits: ReadLimits::new(read_limit, ReadLimits::DEFAULT_HARD_LIMIT).unwrap(),
        ..resp::stream_config()
    };
    let listen = Listen::new(ADDR, resp::factory(resp::Db::new())).stream_config(config);
    net.context().listen_with(listen).unwrap();
    net.set_read_chunk(chunk);
    let peer = net.peer_connect(ADDR).unwrap();
    net.run();
    net.send(peer, sent);
    net.run();
    (net.received(peer).to_vec(), net.saw_eof(peer))
}

fn word() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::sample::select(vec![
            &b"PING"[..], b"ping", b"ECHO", b"SET", b"GET", b"DEL", b"EXISTS", b"INCR", b"k", b"v",
            b"", b"x y", b"1",
        ])
        .prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

/// A multibulk command, sometimes with more arguments than a command read whole.
fn multibulk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        5 => proptest::collection::vec(word(), 1..5),
        1 => proptest::collection::vec(word(), 15..20),
    ]
    .prop_map(|args| {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(&arg);
            out.extend_from_slice(b"\r\n");
        }
        out
    })
}

/// A multibulk command whose `*n` and `$len` lines may lie by a little.
fn lying_multibulk() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec((word(), -2i64..=2), 1..4),
        -1i64..=1,
    )
        .prop_map(|(args, count_lie)| {
            let mut out = format!("*{}\r\n", args.len() as i64 + count_lie).into_bytes();
            for (arg, lie) in args {
                out.extend_from_slice(format!("${}\r\n", arg.len() as i64 + lie).as_bytes());
                out.extend_from_slice(&arg);
                out.extend_from_slice(b"\r\n");
            }
            out
        })
}

/// Bytes that look like RESP but may not be: the pieces of headers, lines, garbage.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        proptest::sample::select(vec![
            &b"*"[..],
            b"$",
            b"\r\n",
            b"\n",
            b"\r",
            b"1",
            b"2",
            b"0",
            b"-",
            b"3",
            b"PING",
            b" ",
            b"\"",
            b"x",
        ]),
        0..12,
    )
    .prop_map(|pieces| pieces.concat())
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            6 => multibulk(),
            2 => lying_multibulk(),
            2 => proptest::collection::vec(word(), 1..4).prop_map(|words| {
                let mut line = words.join(&b' ');
                line.extend_from_slice(b"\r\n");
                line
            }),
            1 => noise(),
        ],
        1..8,
    )
    .prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn commands_read_whole_are_answered_as_commands_read_by_argument(
        sent in stream(),
        whole_chunk in prop_oneof![Just(usize::MAX), 1usize..20],
        by_argument_chunk in prop_oneof![Just(usize::MAX), 1usize..20],
    ) {
        let whole = answer(&sent, whole_chunk, ReadLimits::DEFAULT_LIMIT);
        let by_argument = answer(&sent, by_argument_chunk, 1024);
        prop_assert_eq!(
            (String::from_utf8_lossy(&whole.0), whole.1),
            (String::from_utf8_lossy(&by_argument.0), by_argument.1),
            "for {}", sent.escape_ascii()
        );
    }
}
