//! HTTP/1.1 server with keep-alive and pipelining: `GET /` answers a short text, files under
//! `--root DIR` are sent with `sendfile`, bodies are read by Content-Length; malformed requests
//! get 400 and oversized heads 431, and everyone else keeps being served.
//!
//! What one client may hold is bounded: a connection stops reading requests while its
//! responses are over the write queue's high-water mark or 4 files are queued (pause and
//! resume, the backpressure pants offers), a request head must arrive whole within
//! `--header-timeout` (60 s, then `408`), and with `--idle-timeout SECONDS` a connection
//! silent both ways for that long (a stalled body, a client that stopped reading) is closed.
//! A file that cannot be opened for want of descriptors is a `503`.
//!
//! With `--tls` (and `--cert FILE --key FILE`, or a self-signed certificate made at start)
//! every connection speaks HTTPS; files are then read and encrypted rather than sent with
//! `sendfile`.
//!
//! `cargo run --release --example http -- --listen 127.0.0.1:8080 --root .`

mod common;

use pants_protocols::http::{self, HttpConfig};

fn main() -> std::io::Result<()> {
    let args = common::args("http", "127.0.0.1:8080");
    let config = HttpConfig {
        root: args.root.clone(),
        header_timeout: args.header_timeout,
        ..HttpConfig::default()
    };
    common::serve(&args, |cx| {
        cx.listen_with(args.server(http::factory(config), http::stream_config()))
    })
}
