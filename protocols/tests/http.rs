//! The HTTP server: keep-alive, pipelining, bodies by Content-Length in any chunking, static
//! files, the errors that close (400, 408, 413, 431, 501, 505) while others are still served,
//! and what one client may hold: queued files, and time for a head.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pants_core::testing::{Network, Peer};
use pants_core::{Listen, ReadLimits, StreamConfig};
use pants_protocols::http::{self, GREETING, HttpConfig};

const ADDR: &str = "127.0.0.1:80";

/// A parsed response.
#[derive(Debug)]
struct Response {
    status: u16,
    fields: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Splits a byte stream into responses; `heads` says which answered a HEAD (no body).
fn parse_responses(mut bytes: &[u8], heads: &[bool]) -> Vec<Response> {
    let mut responses = Vec::new();
    while !bytes.is_empty() {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete head");
        let head = std::str::from_utf8(&bytes[..end]).unwrap();
        bytes = &bytes[end + 4..];
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap()[9..12].parse().unwrap();
        let fields: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(": ").unwrap();
                (name.to_owned(), value.to_owned())
            })
            .collect();
        let mut response = Response {
            status,
            fields,
            body: Vec::new(),
        };
        if status != 100 {
            let length: usize = response.field("Content-Length").unwrap().parse().unwrap();
            let head_only = heads.get(responses.len()).copied().unwrap_or(false);
            if !head_only {
                response.body = bytes[..length].to_vec();
                bytes = &bytes[length..];
            }
        }
        responses.push(response);
    }
    responses
}

fn server(config: HttpConfig) -> Network {
    server_with(config, http::stream_config())
}

fn server_with(config: HttpConfig, stream: StreamConfig) -> Network {
    let mut net = Network::new();
    net.context()
        .listen_with(Listen::new(ADDR, http::factory(config)).stream_config(stream))
        .unwrap();
    net
}

fn client(net: &mut Network) -> Peer {
    let peer = net.peer_connect(ADDR).unwrap();
    net.run();
    peer
}

fn exchange(net: &mut Network, peer: Peer, request: impl AsRef<[u8]>) -> Vec<Response> {
    net.send(peer, request);
    net.run();
    parse_responses(&net.received(peer), &[])
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// A directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("pants-http-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn get_root_answers_the_greeting_and_keeps_the_connection_alive() {
    let mut net = server(HttpConfig::default());
    let peer = client(&mut net);
    for _ in 0..3 {
        let responses = exchange(&mut net, peer, get("/"));
        assert_eq!(responses.len(), 1);
        assert_eq!(responses[0].status, 200);
        assert_eq!(responses[0].body, GREETING.as_bytes());
        assert_eq!(responses[0].field("Connection"), None);
    }
    assert!(!net.saw_eof(peer));
}

#[test]
fn pipelined_requests_in_one_send_are_answered_in_order() {
    let mut net = server(HttpConfig::default());
    let peer = client(&mut net);
    let batch = [
        get("/"),
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello".to_owned(),
        "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n".to_owned(),
        get("/missing"),
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nbye".to_owned(),
    ]
    .concat();
    net.send(peer, batch);
    net.run();
    let responses = parse_responses(&net.received(peer), &[false, false, true]);
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 404, 200]);
    assert_eq!(responses[1].body, b"hello");
    assert_eq!(
        responses[2].field("Content-Length"),
        Some(&*GREETING.len().to_string())
    );
    assert!(responses[2].body.is_empty());
    assert_eq!(responses[4].body, b"bye");
}

#[test]
fn head_answers_the_fields_of_get_without_the_body() {
    let mut net = server(HttpConfig::default());
    let peer = client(&mut net);
    net.send(peer, "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
    net.run();
    let raw = net.received(peer);
    assert!(raw.ends_with(b"\r\n\r\n"), "nothing after the head");
    let response = &parse_responses(&raw, &[true])[0];
    assert_eq!(
        response.field("Content-Length"),
        Some(&*GREETING.len().to_string())
    );
}

#[test]
fn a_content_length_body_split_at_every_offset_is_echoed_whole() {
    let request = b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello\r\n\r\nyo";
    for at in 0..=request.len() {
        let mut net = server(HttpConfig::default());
        let peer = client(&mut net);
        net.send(peer, &request[..at]);
        net.run();
        net.send(peer, &request[at..]);
        net.run();
        let responses = parse_responses(&net.received(peer), &[]);
        assert_eq!(responses.len(), 1, "split at {at}");
        assert_eq!(responses[0].body, b"hello\r\n\r\nyo", "split at {at}");
    }
}

#[test]
fn a_body_arriving_a_byte_at_a_time_keeps_the_stream_aligned() {
    let mut net = server(HttpConfig::default());
    net.set_read_chunk(1);
    let peer = client(&mut net);
    let request = "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nGET /";
    let responses = exchange(&mut net, peer, [request, &get("/")].concat());
    assert_eq!(
        responses.len(),
        2,
        "the body of a GET is read and discarded"
    );
    assert!(
        responses
            .iter()
            .all(|r| r.status == 200 && r.body == GREETING.as_bytes())
    );
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let mut net = server(HttpConfig::default());
    let peer = client(&mut net);
    let head =
        "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    net.send(peer, head);
    net.run();
    assert_eq!(net.received(peer), "HTTP/1.1 100 Continue\r\n\r\n");
    let responses = exchange(&mut net, peer, "ok");
    assert_eq!(responses[0].body, b"ok");
}

#[test]
fn a_malformed_request_is_answered_400_then_closed_and_others_are_still_served() {
    let mut net = server(HttpConfig::default());
    let (bad, good) = (client(&mut net), client(&mut net));
    let responses = exchange(
        &mut net,
        bad,
        ["GET / HTTP/1.1\r\nHost : t\r\n\r\n", &get("/")].concat(),
    );
    assert_eq!(responses.len(), 1, "nothing after the error is answered");
    assert_eq!(responses[0].status, 400);
    assert_eq!(responses[0].field("Connection"), Some("close"));
    assert!(net.saw_eof(bad));
    assert_eq!(exchange(&mut net, good, get("/"))[0].status, 200);
}

#[test]
fn an_oversized_head_is_answered_431_then_closed() {
    let stream = StreamConfig {
        read_limits: ReadLimits::new(256, ReadLimits::DEFAULT_HARD_LIMIT).unwrap(),
        ..http::stream_config()
    };
    let mut net = server_with(HttpConfig::default(), stream);
    let (big, other) = (client(&mut net), client(&mut net));
    let head = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Filler: {}\r\n\r\n",
        "f".repeat(300)
    );
    let responses = exchange(&mut net, big, head);
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].status, 431);
    assert!(net.saw_eof(big));
    assert_eq!(exchange(&mut net, other, get("/"))[0].status, 200);
}

#[test]
fn an_oversized_head_is_answered_431_even_before_its_end_arrives() {
    let stream = StreamConfig {
        read_limits: ReadLimits::new(256, ReadLimits::DEFAULT_HARD_LIMIT).unwrap(),
        ..http::stream_config()
    };
    let mut net = server_with(HttpConfig::default(), stream);
    let peer = client(&mut net);
    let responses = exchange(&mut net, peer, format!("GET /{} HTTP/1.1", "a".repeat(400)));
    assert_eq!(responses[0].status, 431);
    assert!(net.saw_eof(peer));
}

#[test]
fn errors_that_leave_the_stream_unframed_close_with_their_status() {
    let stream = StreamConfig {
        read_limits: ReadLimits::new(1024, 4096).unwrap(),
        ..http::stream_config()
    };
    let cases = [
        (
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n",
            413,
        ),
        (
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
            501,
        ),
        ("GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
        ("GET / HTTP/1.1\r\n\r\n", 400),
    ];
    for (request, status) in cases {
        let mut net = server_with(HttpConfig::default(), stream.clone());
        let peer = client(&mut net);
        let responses = exchange(&mut net, peer, [request, &get("/")].concat());
        assert_eq!(responses.len(), 1, "{request:?}");
        assert_eq!(responses[0].status, status, "{request:?}");
        assert!(net.saw_eof(peer), "{request:?}");
    }
}

#[test]
fn other_methods_and_wrong_uses_are_refused_without_closing() {
    let mut net = server(HttpConfig::default());
    let peer = client(&mut net);
    let batch = [
        "DELETE / HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx",
        &get("/"),
    ]
    .concat();
    let responses = exchange(&mut net, peer, batch);
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [501, 405, 405, 200]);
    assert!(!net.saw_eof(peer), "each refusal left the stream framed");
    assert_eq!(responses[1].field("Allow"), Some("POST"));
    assert_eq!(responses[2].field("Allow"), Some("GET, HEAD"));
}

#[test]
fn connection_close_is_honoured_after_the_response() {
    let mut net = server(HttpConfig::default());
    let peer = client(&mut net);
    let request = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    let responses = exchange(&mut net, peer, [request, &get("/")].concat());
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].field("Connection"), Some("close"));
    assert!(net.saw_eof(peer));
}

#[test]
fn http_1_0_closes_by_default_and_stays_when_asked_to_keep_alive() {
    let mut net = server(HttpConfig::default());
    let peer = client(&mut net);
    let kept = exchange(
        &mut net,
        peer,
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    assert_eq!(kept[0].field("Connection"), Some("keep-alive"));
    assert!(!net.saw_eof(peer));
    let closed = exchange(&mut net, peer, "GET / HTTP/1.0\r\n\r\n");
    assert_eq!(closed[0].status, 200);
    assert_eq!(closed[0].field("Connection"), Some("close"));
    assert!(net.saw_eof(peer));
}

#[test]
fn a_file_under_the_root_is_served_byte_for_byte() {
    let dir = TempDir::new("serve");
    let content: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 256) as u8).collect();
    fs::write(dir.path().join("data.bin"), &content).unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("sub").join("a page.html"), "<p>hi</p>").unwrap();
    let mut net = server(HttpConfig {
        root: Some(dir.path().to_owned()),
        ..HttpConfig::default()
    });
    net.set_write_chunk(10_000);
    let peer = client(&mut net);
    net.send(
        peer,
        [get("/data.bin"), get("/sub/a%20page.html?x=1")].concat(),
    );
    let mut raw = Vec::new();
    for _ in 0..1_000 {
        net.run();
        raw.extend_from_slice(&net.received(peer));
        if raw.len() > content.len() + 200 && raw.ends_with(b"</p>") {
            break;
        }
    }
    let responses = parse_responses(&raw, &[]);
    assert_eq!(responses[0].status, 200);
    assert_eq!(
        responses[0].field("Content-Type"),
        Some("application/octet-stream")
    );
    assert!(responses[0].body == content, "the file's bytes differ");
    assert_eq!(responses[1].body, b"<p>hi</p>");
    assert_eq!(
        responses[1].field("Content-Type"),
        Some("text/html; charset=utf-8")
    );
}

#[test]
fn head_of_a_file_gives_its_length_without_sending_it() {
    let dir = TempDir::new("head");
    fs::write(dir.path().join("f.txt"), "twelve bytes").unwrap();
    let mut net = server(HttpConfig {
        root: Some(dir.path().to_owned()),
        ..HttpConfig::default()
    });
    let peer = client(&mut net);
    net.send(peer, "HEAD /f.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    net.run();
    let raw = net.received(peer);
    assert!(raw.ends_with(b"Content-Length: 12\r\n\r\n"), "{raw:?}");
}

#[test]
fn missing_files_and_directories_are_404() {
    let dir = TempDir::new("missing");
    fs::create_dir(dir.path().join("sub")).unwrap();
    let mut net = server(HttpConfig {
        root: Some(dir.path().to_owned()),
        ..HttpConfig::default()
    });
    let peer = client(&mut net);
    let responses = exchange(
        &mut net,
        peer,
        [get("/nope"), get("/sub"), get("/sub/")].concat(),
    );
    assert!(responses.iter().all(|r| r.status == 404));
    let mut rootless = server(HttpConfig::default());
    let peer = client(&mut rootless);
    assert_eq!(
        exchange(&mut rootless, peer, get("/anything"))[0].status,
        404
    );
}

#[test]
fn paths_that_leave_the_root_are_refused() {
    let dir = TempDir::new("escape");
    let root = dir.path().join("root");
    fs::create_dir(&root).unwrap();
    fs::write(dir.path().join("secret"), "secret").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret"), root.join("link")).unwrap();
    let mut net = server(HttpConfig {
        root: Some(root),
        ..HttpConfig::default()
    });
    let peer = client(&mut net);
    let paths = [
        "/../secret",
        "/a/../../secret",
        "/%2e%2e/secret",
        "/..%2fsecret",
        "/link",
    ];
    for path in paths {
        let responses = exchange(&mut net, peer, get(path));
        assert_eq!(responses[0].status, 403, "{path}");
        assert!(!responses[0].body.starts_with(b"secret"), "{path}");
    }
    assert!(!net.saw_eof(peer), "a refused path is no reason to close");
}

/// How many of this process's descriptors are open on the file at `path`.
#[cfg(target_os = "linux")]
fn open_descriptors_of(path: &Path) -> usize {
    let path = path.canonicalize().unwrap();
    fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| *target == path)
        .count()
}

#[test]
#[cfg(target_os = "linux")]
fn a_client_pipelining_file_requests_holds_at_most_the_queued_files_bound() {
    const REQUESTS: usize = 40;
    let dir = TempDir::new("queued-files");
    let content: Vec<u8> = (0..1024 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    let big = dir.path().join("big");
    fs::write(&big, &content).unwrap();
    let mut net = server(HttpConfig {
        root: Some(dir.path().to_owned()),
        ..HttpConfig::default()
    });
    // The client reads 64 KiB a turn: every response takes 16 turns to go out.
    net.set_window(64 * 1024);
    let peer = client(&mut net);
    net.send(peer, get("/big").repeat(REQUESTS));
    let mut raw = Vec::new();
    let mut most_open = 0;
    for _ in 0..100_000 {
        net.turn();
        most_open = most_open.max(open_descriptors_of(&big));
        raw.extend_from_slice(&net.received(peer));
        if raw.len() >= REQUESTS * content.len() {
            break;
        }
    }
    assert!(
        most_open >= 1,
        "no file was ever open: the test measured nothing"
    );
    assert!(
        most_open <= HttpConfig::DEFAULT_MAX_QUEUED_FILES,
        "{most_open} files open at once"
    );
    net.run();
    raw.extend_from_slice(&net.received(peer));
    let responses = parse_responses(&raw, &[]);
    assert_eq!(
        responses.len(),
        REQUESTS,
        "reading resumed until the last request"
    );
    assert!(
        responses
            .iter()
            .all(|r| r.status == 200 && r.body == content)
    );
    assert_eq!(open_descriptors_of(&big), 0);
    assert!(!net.saw_eof(peer));
}

/// Checks that `peer` is neither answered nor closed `early` from now, and that within 200 ms
/// more it is answered `408` alone and closed; returns that response.
fn answered_408_between(net: &mut Network, peer: Peer, early: Duration) -> Response {
    net.advance(early);
    assert!(net.received(peer).is_empty(), "answered before the timeout");
    assert!(!net.saw_eof(peer), "closed before the timeout");
    net.advance(Duration::from_millis(200));
    let mut responses = parse_responses(&net.received(peer), &[]);
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].status, 408);
    assert!(net.saw_eof(peer), "not closed after the timeout");
    responses.remove(0)
}

/// A server whose request heads must arrive whole within 10 s.
fn server_with_header_timeout() -> Network {
    server(HttpConfig {
        header_timeout: Some(Duration::from_secs(10)),
        ..HttpConfig::default()
    })
}

#[test]
fn a_head_not_whole_within_the_header_timeout_is_answered_408_and_closed() {
    let mut net = server_with_header_timeout();
    let (stalled, other) = (client(&mut net), client(&mut net));
    net.send(stalled, "GET / HTTP/1.1\r\nHost: t\r\n");
    let response = answered_408_between(&mut net, stalled, Duration::from_millis(9_900));
    assert_eq!(response.field("Connection"), Some("close"));
    // The other client's wait started at the same time, with nothing sent: it is closed too,
    // and a new connection is served.
    assert_eq!(parse_responses(&net.received(other), &[])[0].status, 408);
    let fresh = client(&mut net);
    assert_eq!(exchange(&mut net, fresh, get("/"))[0].status, 200);
}

#[test]
fn a_head_sent_a_byte_at_a_time_is_cut_at_the_header_timeout() {
    let mut net = server_with_header_timeout();
    let peer = client(&mut net);
    // A byte every second keeps any idle timeout away; the head is still late at 10 s.
    for byte in get("/").bytes().take(9) {
        net.send(peer, [byte]);
        net.advance(Duration::from_secs(1));
    }
    net.send(peer, "T");
    answered_408_between(&mut net, peer, Duration::from_millis(900));
}

#[test]
fn the_header_timeout_counts_from_the_end_of_the_previous_request() {
    let mut net = server_with_header_timeout();
    let peer = client(&mut net);
    for _ in 0..3 {
        net.advance(Duration::from_secs(8));
        assert_eq!(exchange(&mut net, peer, get("/"))[0].status, 200);
    }
    answered_408_between(&mut net, peer, Duration::from_millis(9_900));
}

#[test]
fn a_slow_body_is_not_cut_by_the_header_timeout() {
    let mut net = server_with_header_timeout();
    let peer = client(&mut net);
    net.send(
        peer,
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\n",
    );
    for byte in *b"slowly" {
        net.advance(Duration::from_secs(5));
        net.send(peer, [byte]);
    }
    net.run();
    let responses = parse_responses(&net.received(peer), &[]);
    assert_eq!(responses[0].status, 200);
    assert_eq!(responses[0].body, b"slowly");
}

#[test]
fn no_header_timeout_waits_for_ever() {
    let mut net = server(HttpConfig {
        header_timeout: None,
        ..HttpConfig::default()
    });
    let peer = client(&mut net);
    net.send(peer, "GET / HTTP/1.1\r\n");
    net.advance(Duration::from_secs(24 * 3600));
    assert!(!net.saw_eof(peer));
    net.send(peer, "Host: t\r\n\r\n");
    net.run();
    assert_eq!(parse_responses(&net.received(peer), &[])[0].status, 200);
}
