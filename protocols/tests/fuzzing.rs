//! The fuzzing checks pass on hand-picked inputs that reach every limit and error, and on a
//! deterministic soup of each protocol's tokens from several peers, in any chunking.

use std::time::Duration;

use pants_core::testing::check::{Script, Step};
use pants_protocols::fuzzing::{
    HARD_READ_LIMIT, Protocol, READ_LIMIT, check_fuzz_input, check_peer_bytes, check_script,
};

/// Checks `input` sent in 7-byte pieces (the kit also runs it whole, one byte at a time, at
/// seeded cuts, with one-byte reads and with short writes).
fn check_all_chunkings(protocol: Protocol, input: &[u8]) {
    let sevens: Vec<&[u8]> = input.chunks(7).collect();
    check_peer_bytes(protocol, &sevens);
}

#[test]
fn echo_passes_on_any_bytes() {
    for input in [&b""[..], b"x", b"\0\xff\r\n", &[7u8; 5000]] {
        check_all_chunkings(Protocol::Echo, input);
    }
}

#[test]
fn chat_passes_on_lines_overlong_lines_and_partial_lines() {
    let long = vec![b'l'; READ_LIMIT + 1];
    let exact = vec![b'e'; READ_LIMIT];
    let inputs = [
        b"one\r\ntwo\n\nthree".to_vec(),
        [&exact[..], b"\n", &long, b"\nafter\n"].concat(),
        long.clone(),
        [b"a\n".to_vec(), exact.clone(), b"\r".to_vec()].concat(),
    ];
    for input in inputs {
        check_all_chunkings(Protocol::Chat, &input);
    }
}

#[test]
fn chat_closes_early_exactly_when_a_line_overflows() {
    let long = vec![b'l'; READ_LIMIT + 1];
    assert!(check_peer_bytes(Protocol::Chat, &[&long]).closed_early);
    assert!(!check_peer_bytes(Protocol::Chat, &[&long[1..]]).closed_early);
}

#[test]
fn resp_passes_on_commands_and_every_protocol_error() {
    let big = format!("*2\r\n$4\r\nECHO\r\n${}\r\n", HARD_READ_LIMIT - 1);
    let long_inline = format!("ECHO {}\r\n", "i".repeat(READ_LIMIT));
    let inputs: Vec<&[u8]> = vec![
        b"PING\r\nSET a 1\r\nINCR a\r\nGET a\r\nDEL a b\r\nEXISTS a\r\nDBSIZE\r\nFLUSHALL\r\n",
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\nCONFIG GET save appendonly\r\nQUIT\r\nPING\r\n",
        b"*1\r\n$4\r\nPING\r\n*0\r\n*-1\r\nnope x y\r\n\"unbalanced\r\n",
        b"*2\r\n$4\r\nECHO\r\n$99999\r\n",
        b"*1\r\nx\r\n",
        b"*99999999\r\n",
        b"*1\r\n$4\r\nPINGxx",
        // An argument that is not the last, without its `\r\n` and with no line after it.
        b"*2\r\n$1\r\nxyz",
        // The byte before an argument's `\n` is not checked.
        b"*3\r\n$3\r\nSETx\n$1\r\nkx\n$1\r\nvx\nGET k\r\n",
        big.as_bytes(),
        long_inline.as_bytes(),
        b"*2\r\n$3\r\nGET\r\n",
    ];
    for input in inputs {
        check_all_chunkings(Protocol::Resp, input);
    }
}

#[test]
fn resp_reports_an_early_close_after_a_protocol_error_and_after_quit() {
    assert!(check_peer_bytes(Protocol::Resp, &[b"*x\r\n"]).closed_early);
    let quit = check_peer_bytes(Protocol::Resp, &[b"PING\r\nQUIT\r\nPING\r\n"]);
    assert_eq!(quit.received, "+PONG\r\n+OK\r\n");
    assert!(quit.closed_early);
    assert!(!check_peer_bytes(Protocol::Resp, &[b"PING\r\n"]).closed_early);
}

#[test]
fn http_passes_on_requests_bodies_and_every_error() {
    let long_head = format!(
        "GET /{} HTTP/1.1\r\nHost: h\r\n\r\n",
        "p".repeat(READ_LIMIT)
    );
    let too_big = format!(
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
        HARD_READ_LIMIT + 1
    );
    let inputs: Vec<&[u8]> = vec![
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\nHEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nHTTP/POST /echo HTTP/1.0\r\nContent-Length: 1\r\n\r\nz",
        b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\nPOST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\nHTTP/1.1 200 OK\r\n",
        b"POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"BREW / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"\r\n\r\nGET http://h HTTP/1.1\r\nHost: h\r\n\r\nGET /../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n",
        b"garbage\r\n\r\n",
        long_head.as_bytes(),
        too_big.as_bytes(),
        b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nshort",
    ];
    for input in inputs {
        check_all_chunkings(Protocol::Http, input);
    }
}

#[test]
fn http_reports_an_early_close_only_with_connection_close() {
    assert!(check_peer_bytes(Protocol::Http, &[b"nonsense\r\n\r\n"]).closed_early);
    let ok = check_peer_bytes(Protocol::Http, &[b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"]);
    assert!(!ok.closed_early);
}

/// The tokens each protocol's soup is made of.
fn tokens(protocol: Protocol) -> &'static [&'static [u8]] {
    match protocol {
        Protocol::Echo => &[b"a", b"\0", b"\r\n"],
        Protocol::Chat => &[
            b"line",
            b"\n",
            b"\r",
            b"\r\n",
            b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ],
        Protocol::Resp => &[
            b"*",
            b"$",
            b"\r\n",
            b"\n",
            b"1",
            b"2",
            b"3",
            b"0",
            b"-1",
            b"4096",
            b"SET",
            b"GET",
            b"PING",
            b"INCR",
            b"DEL",
            b"QUIT",
            b"CONFIG",
            b"k",
            b" ",
            b"\"",
            b"'",
            b"\\x4",
            b"\0",
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n",
            b"*1\r\n$4\r\nPING\r\n",
            b"INCR k\r\n",
        ],
        Protocol::Http => &[
            b"GET ",
            b"HEAD ",
            b"POST ",
            b"/",
            b"/echo",
            b" HTTP/1.1",
            b" HTTP/1.0",
            b"\r\n",
            b"Host: h\r\n",
            b"Content-Length: ",
            b"3",
            b"0",
            b"Connection: close\r\n",
            b"Expect: 100-continue\r\n",
            b"\r\n\r\n",
            b"x",
            b":",
            b"%2e%2e",
            b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
            b"HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n",
        ],
    }
}

/// A deterministic soup: scripts of up to three peers sending runs of `protocol`'s tokens,
/// with EOFs, resets and clock moves now and then.
fn soup(protocol: Protocol, next: &mut impl FnMut() -> u64) -> Script {
    let tokens = tokens(protocol);
    let mut script = Script::new();
    for _ in 0..next() % 40 {
        let peer = (next() % 3) as usize;
        let step = match next() % 16 {
            0 => Step::Eof { peer },
            1 => Step::Reset { peer },
            2 => Step::Advance(Duration::from_millis(next() % 8000)),
            _ => {
                let words =
                    (0..1 + next() % 4).map(|_| tokens[(next() % tokens.len() as u64) as usize]);
                Step::Send {
                    peer,
                    data: words.collect::<Vec<_>>().concat().into(),
                }
            }
        };
        script.push(step);
    }
    script
}

#[test]
fn a_deterministic_soup_of_tokens_from_several_peers_passes_the_checks() {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for protocol in Protocol::ALL {
        for _ in 0..60 {
            check_script(protocol, soup(protocol, &mut next));
        }
    }
}

#[test]
fn a_fuzz_input_picks_the_protocol_then_decodes_a_script() {
    let script = Script::new().send("PING\r\n").send_from(1, "ECHO x\r\n");
    let mut data = vec![2]; // RESP
    data.extend_from_slice(&script.encode());
    check_fuzz_input(&data);
    check_fuzz_input(&[]);
    check_fuzz_input(&[1]);
}
