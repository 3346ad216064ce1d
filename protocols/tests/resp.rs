//! The RESP server: every command, pipelining, inline commands, bulk bodies in any chunking,
//! protocol errors answered and then closed, as Redis does.

use pants_core::testing::{Network, Peer};
use pants_core::{ReadLimits, StreamConfig};
use pants_protocols::resp::{self, Db};

const ADDR: &str = "127.0.0.1:6379";

fn server() -> (Network, Db) {
    server_with(resp::stream_config())
}

fn server_with(config: StreamConfig) -> (Network, Db) {
    let db = Db::new();
    let mut net = Network::new();
    let listen = pants_core::Listen::new(ADDR, resp::factory(db.clone())).stream_config(config);
    net.context().listen_with(listen).unwrap();
    (net, db)
}

fn client(net: &mut Network) -> Peer {
    let peer = net.peer_connect(ADDR).unwrap();
    net.run();
    peer
}

/// Sends `request` and returns everything answered.
fn ask(net: &mut Network, peer: Peer, request: impl AsRef<[u8]>) -> String {
    net.send(peer, request);
    net.run();
    String::from_utf8_lossy(&net.received(peer)).into_owned()
}

/// A command as a multibulk request, as redis-cli sends it.
fn multibulk(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[test]
fn ping_answers_pong_or_its_message() {
    let (mut net, _) = server();
    let peer = client(&mut net);
    assert_eq!(ask(&mut net, peer, multibulk(&[b"PING"])), "+PONG\r\n");
    assert_eq!(
        ask(&mut net, peer, multibulk(&[b"ping", b"hi there"])),
        "$8\r\nhi there\r\n"
    );
    assert_eq!(
        ask(&mut net, peer, "PING a b\r\n"),
        "-ERR wrong number of arguments for 'ping' command\r\n"
    );
}

/// An idle connection's handler is three words (a small allocation): the arguments of a
/// command live elsewhere, and only while it is read.
#[test]
fn a_connection_handler_is_three_words() {
    assert_eq!(size_of::<resp::Resp>(), 3 * size_of::<usize>());
}

/// Connections reading commands at the same time keep their arguments apart, also when one
/// command has more arguments than the server's spare keeps.
#[test]
fn commands_read_at_once_on_two_connections_keep_their_arguments_apart() {
    let (mut net, db) = server();
    let (a, b) = (client(&mut net), client(&mut net));
    let set_a = multibulk(&[b"SET", b"a", b"one"]);
    let (head, tail) = set_a.split_at(set_a.len() - 6);
    net.send(a, head);
    net.run();
    let keys: Vec<Vec<u8>> = (0..20).map(|i| format!("k{i}").into_bytes()).collect();
    let mut del: Vec<&[u8]> = vec![b"DEL"];
    del.extend(keys.iter().map(Vec::as_slice));
    assert_eq!(ask(&mut net, b, multibulk(&del)), ":0\r\n");
    assert_eq!(
        ask(&mut net, b, multibulk(&[b"SET", b"b", b"two"])),
        "+OK\r\n"
    );
    assert_eq!(ask(&mut net, a, tail), "+OK\r\n");
    assert_eq!(db.get(b"a").unwrap(), "one");
    assert_eq!(db.get(b"b").unwrap(), "two");
    assert_eq!(db.len(), 2);
}

#[test]
fn echo_answers_its_argument_as_a_bulk_string() {
    let (mut net, _) = server();
    let peer = client(&mut net);
    assert_eq!(
        ask(&mut net, peer, multibulk(&[b"ECHO", b""])),
        "$0\r\n\r\n"
    );
    assert_eq!(
        ask(&mut net, peer, multibulk(&[b"echo", b"a\r\nb"])),
        "$4\r\na\r\nb\r\n"
    );
}

#[test]
fn set_stores_binary_safe_values_that_get_returns_and_missing_keys_are_nil() {
    let (mut net, db) = server();
    let peer = client(&mut net);
    let value = b"line\r\nbreak\0nul";
    assert_eq!(
        ask(&mut net, peer, multibulk(&[b"SET", b"k", value])),
        "+OK\r\n"
    );
    assert_eq!(db.get(b"k").unwrap(), &value[..]);
    let reply = ask(&mut net, peer, multibulk(&[b"GET", b"k"]));
    assert_eq!(reply.as_bytes(), b"$15\r\nline\r\nbreak\0nul\r\n");
    assert_eq!(ask(&mut net, peer, "GET nothing\r\n"), "$-1\r\n");
    assert_eq!(
        ask(&mut net, peer, "SET k v EX 10\r\n"),
        "-ERR syntax error\r\n"
    );
}

#[test]
fn large_values_round_trip_unchanged() {
    let (mut net, _) = server();
    let peer = client(&mut net);
    let value: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    ask(&mut net, peer, multibulk(&[b"SET", b"big", &value]));
    let reply = {
        net.send(peer, multibulk(&[b"GET", b"big"]));
        net.run();
        net.received(peer)
    };
    let header = b"$100000\r\n";
    assert_eq!(&reply[..header.len()], header);
    assert_eq!(&reply[header.len()..reply.len() - 2], &value[..]);
    assert_eq!(&reply[reply.len() - 2..], b"\r\n");
}

#[test]
fn del_and_exists_count_keys() {
    let (mut net, _) = server();
    let peer = client(&mut net);
    ask(&mut net, peer, "SET a 1\r\nSET b 2\r\n");
    assert_eq!(
        ask(&mut net, peer, "EXISTS a b c a\r\n"),
        ":3\r\n",
        "repeats count again"
    );
    assert_eq!(
        ask(&mut net, peer, "DEL a c a\r\n"),
        ":1\r\n",
        "a key is removed once"
    );
    assert_eq!(ask(&mut net, peer, "EXISTS a\r\n"), ":0\r\n");
    assert_eq!(
        ask(&mut net, peer, "DEL\r\n"),
        "-ERR wrong number of arguments for 'del' command\r\n"
    );
}

#[test]
fn incr_counts_from_zero_and_refuses_what_is_not_an_integer() {
    let (mut net, db) = server();
    let peer = client(&mut net);
    assert_eq!(ask(&mut net, peer, "INCR n\r\nINCR n\r\n"), ":1\r\n:2\r\n");
    assert_eq!(db.get(b"n").unwrap(), "2");
    ask(
        &mut net,
        peer,
        "SET neg -5\r\nSET word abc\r\nSET lead 007\r\n",
    );
    assert_eq!(ask(&mut net, peer, "INCR neg\r\n"), ":-4\r\n");
    let not_integer = "-ERR value is not an integer or out of range\r\n";
    assert_eq!(ask(&mut net, peer, "INCR word\r\n"), not_integer);
    assert_eq!(ask(&mut net, peer, "INCR lead\r\n"), not_integer);
    ask(&mut net, peer, "SET max 9223372036854775807\r\n");
    assert_eq!(
        ask(&mut net, peer, "INCR max\r\n"),
        "-ERR increment or decrement would overflow\r\n"
    );
}

#[test]
fn dbsize_counts_keys_and_flushall_removes_them_all() {
    let (mut net, db) = server();
    let peer = client(&mut net);
    ask(&mut net, peer, "SET a 1\r\nSET b 2\r\nSET a 3\r\n");
    assert_eq!(ask(&mut net, peer, "DBSIZE\r\n"), ":2\r\n");
    assert_eq!(ask(&mut net, peer, "FLUSHALL\r\n"), "+OK\r\n");
    assert!(db.is_empty());
    assert_eq!(ask(&mut net, peer, "flushall async\r\n"), "+OK\r\n");
    assert_eq!(
        ask(&mut net, peer, "FLUSHALL later\r\n"),
        "-ERR syntax error\r\n"
    );
}

#[test]
fn config_get_answers_as_a_redis_without_persistence() {
    let (mut net, _) = server();
    let peer = client(&mut net);
    assert_eq!(
        ask(&mut net, peer, multibulk(&[b"CONFIG", b"GET", b"save"])),
        "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"
    );
    assert_eq!(
        ask(
            &mut net,
            peer,
            multibulk(&[b"CONFIG", b"GET", b"appendonly"])
        ),
        "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
    );
    assert_eq!(ask(&mut net, peer, "config get nosuch\r\n"), "*0\r\n");
    assert_eq!(
        ask(&mut net, peer, "CONFIG GET\r\n"),
        "-ERR wrong number of arguments for 'config|get' command\r\n"
    );
    assert_eq!(
        ask(&mut net, peer, "CONFIG SET save x\r\n"),
        "-ERR unknown subcommand 'SET'. Try CONFIG HELP.\r\n"
    );
}

#[test]
fn quit_answers_ok_then_closes_without_running_what_follows() {
    let (mut net, db) = server();
    let peer = client(&mut net);
    assert_eq!(ask(&mut net, peer, "QUIT\r\nSET after 1\r\n"), "+OK\r\n");
    assert!(net.saw_eof(peer));
    assert!(db.is_empty());
}

#[test]
fn unknown_commands_are_refused_in_redis_words() {
    let (mut net, _) = server();
    let peer = client(&mut net);
    assert_eq!(
        ask(&mut net, peer, "foo a bar\r\n"),
        "-ERR unknown command 'foo', with args beginning with: 'a' 'bar' \r\n"
    );
    assert_eq!(
        ask(&mut net, peer, multibulk(&[b"NOPE"])),
        "-ERR unknown command 'NOPE', with args beginning with: \r\n"
    );
    assert_eq!(
        ask(&mut net, peer, multibulk(&[b"x", b"new\r\nline"])),
        "-ERR unknown command 'x', with args beginning with: 'new  line' \r\n",
        "line breaks in an error become spaces"
    );
    let long = "a".repeat(200);
    let reply = ask(&mut net, peer, format!("{long} {long}\r\n"));
    let expected = format!(
        "-ERR unknown command '{}', with args beginning with: '{}' \r\n",
        &long[..128],
        &long[..128]
    );
    assert_eq!(
        reply, expected,
        "the name and the arguments are cut at 128 bytes"
    );
    assert!(
        !net.saw_eof(peer),
        "an unknown command is no reason to close"
    );
}

#[test]
fn command_names_are_case_insensitive() {
    let (mut net, _) = server();
    let peer = client(&mut net);
    assert_eq!(
        ask(&mut net, peer, "sEt k v\r\ngEt k\r\n"),
        "+OK\r\n$1\r\nv\r\n"
    );
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let (mut net, _) = server();
    let peer = client(&mut net);
    let mut batch = Vec::new();
    for i in 0..100 {
        batch.extend(multibulk(&[
            b"SET",
            format!("k{i}").as_bytes(),
            format!("{i}").as_bytes(),
        ]));
        batch.extend(format!("GET k{i}\r\n").into_bytes());
        batch.extend(multibulk(&[b"INCR", format!("k{i}").as_bytes()]));
    }
    let expected: String = (0..100)
        .map(|i| {
            let v = i.to_string();
            format!("+OK\r\n${}\r\n{v}\r\n:{}\r\n", v.len(), i + 1)
        })
        .collect();
    assert_eq!(ask(&mut net, peer, batch), expected);
}

#[test]
fn inline_commands_take_quotes_and_bare_newlines() {
    let (mut net, db) = server();
    let peer = client(&mut net);
    assert_eq!(ask(&mut net, peer, "SET \"a key\" 'x y'\n"), "+OK\r\n");
    assert_eq!(db.get(b"a key").unwrap(), "x y");
    assert_eq!(
        ask(&mut net, peer, "GET \"a\\x20key\"\r\n"),
        "$3\r\nx y\r\n"
    );
    assert_eq!(
        ask(&mut net, peer, "\r\n   \r\nPING\r\n"),
        "+PONG\r\n",
        "empty lines are skipped"
    );
}

#[test]
fn empty_multibulk_commands_are_skipped_without_a_reply() {
    let (mut net, _) = server();
    let peer = client(&mut net);
    assert_eq!(ask(&mut net, peer, "*0\r\n*-1\r\nPING\r\n"), "+PONG\r\n");
}

#[test]
fn a_command_split_at_every_offset_is_read_whole() {
    let request = multibulk(&[b"SET", b"key", b"a value\r\nwith a line break"]);
    for at in 0..=request.len() {
        let (mut net, db) = server();
        let peer = client(&mut net);
        net.send(peer, &request[..at]);
        net.run();
        net.send(peer, &request[at..]);
        net.run();
        assert_eq!(net.received(peer), "+OK\r\n", "split at {at}");
        assert_eq!(db.get(b"key").unwrap(), "a value\r\nwith a line break");
    }
}

#[test]
fn pipelined_commands_arriving_a_byte_at_a_time_are_answered_alike() {
    let (mut net, _) = server();
    net.set_read_chunk(1);
    let peer = client(&mut net);
    let mut batch = multibulk(&[b"SET", b"k", b"v"]);
    batch.extend_from_slice(b"GET k\r\n");
    batch.extend(multibulk(&[b"DEL", b"k"]));
    assert_eq!(ask(&mut net, peer, batch), "+OK\r\n$1\r\nv\r\n:1\r\n");
}

#[test]
fn the_key_space_is_shared_by_every_connection_of_the_server() {
    let (mut net, _) = server();
    let (a, b) = (client(&mut net), client(&mut net));
    ask(&mut net, a, "SET shared yes\r\n");
    assert_eq!(ask(&mut net, b, "GET shared\r\n"), "$3\r\nyes\r\n");
}

/// Sends `request` and checks the answer is `error`, then that the server closed, having run
/// nothing after it (`PING` is appended).
fn assert_protocol_error(net: &mut Network, request: &[u8], error: &str) {
    let peer = client(net);
    let mut request = request.to_vec();
    request.extend_from_slice(b"PING\r\n");
    let reply = ask(net, peer, &request);
    assert_eq!(
        reply,
        format!("-ERR Protocol error: {error}\r\n"),
        "for {:?}",
        request.escape_ascii().to_string()
    );
    assert!(
        net.saw_eof(peer),
        "closed after {:?}",
        request.escape_ascii().to_string()
    );
}

#[test]
fn protocol_errors_are_answered_then_the_connection_closes() {
    let (mut net, _) = server();
    let cases: [(&[u8], &str); 10] = [
        (b"*x\r\n", "invalid multibulk length"),
        (b"*1048577\r\n", "invalid multibulk length"),
        (b"*1\r\nPING\r\n", "expected '$', got 'P'"),
        (b"*1\r\n\r\n", "expected '$', got ' '"),
        (b"*1\r\n$-1\r\n", "invalid bulk length"),
        (b"*1\r\n$01\r\n", "invalid bulk length"),
        (b"*1\r\n$99999999999999999999\r\n", "invalid bulk length"),
        (
            b"*1\r\n$4\r\nPINGxx",
            "expected '\\r\\n' after a bulk argument",
        ),
        // Not the last argument: answered as soon as its bytes are in, too.
        (
            b"*2\r\n$3\r\nGETxx",
            "expected '\\r\\n' after a bulk argument",
        ),
        (b"SET \"open\r\n", "unbalanced quotes in request"),
    ];
    for (request, error) in cases {
        assert_protocol_error(&mut net, request, error);
    }
}

#[test]
fn replies_before_a_protocol_error_are_still_sent() {
    let (mut net, _) = server();
    let peer = client(&mut net);
    let reply = ask(&mut net, peer, "PING\r\n*1\r\n$x\r\nPING\r\n");
    assert_eq!(
        reply,
        "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(net.saw_eof(peer));
}

#[test]
fn a_bulk_length_over_the_hard_read_limit_is_an_invalid_bulk_length() {
    let (mut net, _) = server_with(StreamConfig {
        read_limits: ReadLimits::new(64, 1024).unwrap(),
        ..resp::stream_config()
    });
    assert_protocol_error(
        &mut net,
        b"*2\r\n$4\r\nECHO\r\n$1023\r\n",
        "invalid bulk length",
    );
    let peer = client(&mut net);
    let value = vec![b'v'; 1022]; // with its \r\n: exactly the hard limit
    let reply = ask(&mut net, peer, multibulk(&[b"ECHO", &value]));
    assert_eq!(reply.len(), "$1022\r\n".len() + 1022 + 2);
}

fn server_limited(limits: resp::Limits) -> (Network, Db) {
    let db = Db::new();
    let mut net = Network::new();
    let listen = pants_core::Listen::new(ADDR, resp::factory_with(db.clone(), limits))
        .stream_config(resp::stream_config());
    net.context().listen_with(listen).unwrap();
    (net, db)
}

/// What one argument of `len` bytes counts against the limits: its bytes and one offset.
const fn cost(len: usize) -> usize {
    len + size_of::<usize>()
}

#[test]
fn a_command_over_the_command_limit_is_refused_as_its_length_line_arrives() {
    let limit = cost(3) + cost(100);
    let (mut net, _) = server_limited(resp::Limits {
        command_bytes: limit,
        ..resp::Limits::default()
    });
    let error = format!("command over {limit} bytes");
    assert_protocol_error(&mut net, b"*2\r\n$3\r\nSET\r\n$101\r\n", &error);
    let peer = client(&mut net);
    let value = vec![b'v'; 100];
    let reply = ask(&mut net, peer, multibulk(&[b"SET", &value]));
    assert_eq!(
        reply,
        "-ERR wrong number of arguments for 'set' command\r\n"
    );
}

/// Many connections each holding a command under the per-command limit cannot together hold
/// more than the server's limit: the one whose next argument would take the server over is
/// refused, the others finish their commands, and what a connection held is given back when
/// its command completes or it goes away. (The values are over the 16 KiB of a command read
/// as one frame, which the stream's read buffer holds, under the engine's budget: these
/// commands are read by argument, into the handler's own buffer, which the limit bounds.)
#[test]
fn unfinished_commands_of_all_connections_are_bounded_together() {
    const VALUE: usize = 20_000;
    let (mut net, db) = server_limited(resp::Limits {
        command_bytes: 1024 * 1024,
        server_bytes: 2 * (cost(3) + cost(1) + cost(VALUE)),
    });
    // Two connections are half-way through a SET of VALUE bytes: the server is full.
    let header = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n";
    let first = client(&mut net);
    let second = client(&mut net);
    for peer in [first, second] {
        assert_eq!(ask(&mut net, peer, header), "");
    }
    // A third is refused at its first argument, and closed.
    let third = client(&mut net);
    let reply = ask(&mut net, third, &header[..]);
    assert_eq!(
        reply,
        format!(
            "-ERR Protocol error: the server holds {} bytes of unfinished commands\r\n",
            2 * (cost(3) + cost(1) + cost(VALUE))
        )
    );
    assert!(net.saw_eof(third));
    // The first finishes its command; the second goes away half-way.
    let mut rest = vec![b'1'; VALUE];
    rest.extend_from_slice(b"\r\n");
    assert_eq!(ask(&mut net, first, &rest), "+OK\r\n");
    net.close(second);
    net.run();
    // Both gave their share back: two more such commands fit at once.
    let fourth = client(&mut net);
    for peer in [first, fourth] {
        assert_eq!(ask(&mut net, peer, header), "");
    }
    for peer in [first, fourth] {
        assert_eq!(ask(&mut net, peer, &rest), "+OK\r\n");
    }
    assert_eq!(db.get(b"k").unwrap().len(), VALUE);
}

#[test]
fn an_inline_line_over_the_read_limit_is_a_too_big_inline_request() {
    let (mut net, _) = server_with(StreamConfig {
        read_limits: ReadLimits::new(64, 1024).unwrap(),
        ..resp::stream_config()
    });
    let line = format!("ECHO {}\r\n", "x".repeat(100));
    assert_protocol_error(&mut net, line.as_bytes(), "too big inline request");
    assert_protocol_error(
        &mut net,
        format!("*1\r\n${}\r\n", "1".repeat(100)).as_bytes(),
        "too big bulk count string",
    );
    // The `$n` line of a second argument comes in one frame with the first argument.
    assert_protocol_error(
        &mut net,
        format!("*2\r\n$4\r\nECHO\r\n${}\r\n", "1".repeat(100)).as_bytes(),
        "too big bulk count string",
    );
}

#[test]
fn under_the_default_overflow_policy_an_overlong_line_is_answered_then_closed() {
    let (mut net, _) = server_with(StreamConfig {
        read_limits: ReadLimits::new(64, 1024).unwrap(),
        ..StreamConfig::default()
    });
    let peer = client(&mut net);
    assert_eq!(
        ask(
            &mut net,
            peer,
            format!("PING\r\n{}\r\nPING\r\n", "x".repeat(100))
        ),
        "+PONG\r\n-ERR Protocol error: too big inline request\r\n",
        "the overflow callback still replies; nothing after the overlong line is served"
    );
    assert!(net.saw_eof(peer));
}

#[test]
fn a_slow_reader_gets_every_reply_of_a_long_pipeline_in_order() {
    let (mut net, _) = server();
    net.set_window(4 * 1024);
    let peer = client(&mut net);
    let value = vec![b'v'; 10_000];
    ask(&mut net, peer, multibulk(&[b"SET", b"v", &value]));
    let batch: Vec<u8> = (0..200).flat_map(|_| multibulk(&[b"GET", b"v"])).collect();
    net.send(peer, batch);
    let mut replies = Vec::new();
    let one = 8 + value.len() + 2;
    for _ in 0..100_000 {
        net.turn();
        replies.extend_from_slice(&net.received(peer));
        if replies.len() >= 200 * one {
            break;
        }
    }
    assert_eq!(replies.len(), 200 * one);
    assert!(
        replies
            .chunks(one)
            .all(|reply| reply.starts_with(b"$10000\r\nvvv"))
    );
}

#[test]
fn eof_in_the_middle_of_a_command_closes_after_answering_the_complete_ones() {
    let (mut net, _) = server();
    let peer = client(&mut net);
    net.send(peer, "PING\r\n*2\r\n$3\r\nGET\r\n$1\r\n");
    net.shutdown(peer);
    net.run();
    assert_eq!(net.received(peer), "+PONG\r\n");
    assert!(net.saw_eof(peer));
}

/// Engines of a group each take a view of one `SharedDb`: what one's connections change, the
/// others' see, for every command on keys.
#[test]
fn engines_sharing_a_key_space_see_each_others_changes() {
    let keys = resp::SharedDb::new();
    let mut engines = [Network::new(), Network::new()];
    let mut peers = Vec::new();
    for net in &mut engines {
        net.context()
            .listen_with(resp::listen(ADDR, keys.db()))
            .unwrap();
        peers.push(client(net));
    }
    let [one, two] = &mut engines;
    assert_eq!(
        ask(one, peers[0], "SET k v1\r\nINCR n\r\n"),
        "+OK\r\n:1\r\n"
    );
    assert_eq!(
        ask(two, peers[1], "GET k\r\nINCR n\r\nDEL k\r\nDBSIZE\r\n"),
        "$2\r\nv1\r\n:2\r\n:1\r\n:1\r\n"
    );
    assert_eq!(
        ask(one, peers[0], "EXISTS k n\r\nFLUSHALL\r\n"),
        ":1\r\n+OK\r\n"
    );
    assert!(keys.db().is_empty(), "FLUSHALL through one engine");
    // A key space of its own sees none of it.
    let (mut alone, _) = server();
    let peer = client(&mut alone);
    keys.db().set("k", "v");
    assert_eq!(ask(&mut alone, peer, "GET k\r\n"), "$-1\r\n");
}

/// A batch that takes both ways of reading a command: small commands whole (multibulk, with
/// an empty argument), an inline one, one with more arguments than a command read whole, one
/// larger than that, and an empty `*0`.
fn mixed_batch() -> (Vec<u8>, String) {
    let big = vec![b'b'; 20_000];
    let keys: Vec<Vec<u8>> = (0..20).map(|i| format!("k{i}").into_bytes()).collect();
    let mut del: Vec<&[u8]> = vec![b"DEL"];
    del.extend(keys.iter().map(Vec::as_slice));
    let mut batch = multibulk(&[b"SET", b"k1", b"v"]);
    batch.extend(multibulk(&[b"ECHO", b""]));
    batch.extend_from_slice(b"GET k1\r\n");
    batch.extend(multibulk(&[b"SET", b"big", &big]));
    batch.extend_from_slice(b"*0\r\n");
    batch.extend(multibulk(&del));
    batch.extend(multibulk(&[b"GET", b"big"]));
    let reply = format!(
        "+OK\r\n$0\r\n\r\n$1\r\nv\r\n+OK\r\n:1\r\n$20000\r\n{}\r\n",
        "b".repeat(20_000)
    );
    (batch, reply)
}

#[test]
fn commands_read_whole_or_by_argument_are_answered_alike_in_any_chunking() {
    let (batch, expected) = mixed_batch();
    for chunk in [1, 2, 3, 7, 16, 100, 4096, usize::MAX] {
        let (mut net, _) = server();
        net.set_read_chunk(chunk);
        let peer = client(&mut net);
        assert_eq!(
            ask(&mut net, peer, &batch),
            expected,
            "reads of {chunk} bytes"
        );
    }
}

/// Under a read limit below the largest command read whole, every command is read by
/// argument: the limit still bounds only lines.
#[test]
fn a_read_limit_below_a_whole_command_reads_commands_by_argument() {
    let (batch, expected) = mixed_batch();
    let (mut net, _) = server_with(StreamConfig {
        read_limits: ReadLimits::new(64, ReadLimits::DEFAULT_HARD_LIMIT).unwrap(),
        ..resp::stream_config()
    });
    let peer = client(&mut net);
    assert_eq!(ask(&mut net, peer, &batch), expected);
}

/// A malformed small command gets the same error as when read by argument, where the fault
/// is: the first command of the batch is still answered.
#[test]
fn a_malformed_small_command_is_answered_as_when_read_by_argument() {
    let (mut net, _) = server();
    let cases: [(&[u8], &str); 4] = [
        (b"*2\r\n$4\r\nECHO\r\n:1\r\n", "expected '$', got ':'"),
        (b"*1\r\n$01\r\nP\r\n", "invalid bulk length"),
        (
            b"*2\r\n$1\r\nax\r\n$1\r\nb\r\n",
            "expected '\\r\\n' after a bulk argument",
        ),
        (b"*1\r\n$+4\r\nPING\r\n", "invalid bulk length"),
    ];
    for (request, error) in cases {
        let peer = client(&mut net);
        let mut batch = multibulk(&[b"PING"]);
        batch.extend_from_slice(request);
        assert_eq!(
            ask(&mut net, peer, &batch),
            format!("+PONG\r\n-ERR Protocol error: {error}\r\n"),
            "{}",
            request.escape_ascii()
        );
        assert!(net.saw_eof(peer));
    }
}
