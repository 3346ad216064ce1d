//! HTTP/1.1 server with keep-alive and pipelining: `GET /` answers a short text, files under
//! `--root DIR` are sent with `sendfile`, bodies are read by Content-Length; malformed requests
//! get 400 and oversized heads 431, and everyone else keeps being served.
//!
//! `cargo run --release --example http -- --listen 127.0.0.1:8080 --root .`

mod common;

use pants_protocols::http::{self, HttpConfig};

fn main() -> std::io::Result<()> {
    let args = common::args("http", "127.0.0.1:8080");
    let config = HttpConfig {
        root: args.root.clone(),
    };
    common::serve(|cx| cx.listen_with(http::listen(args.listen.as_str(), config)))
}
