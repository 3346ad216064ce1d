//! Echo server (RFC 862 over a stream): writes back every byte it receives, over TCP or a Unix
//! stream socket. A client that sends without reading is paused at the write queue's
//! high-water mark; with `--idle-timeout SECONDS`, one that sends and receives nothing for
//! that long is closed.
//!
//! `--threads N` serves on N engines sharing the port (TCP only).
//!
//! `cargo run --release --example echo -- --listen 127.0.0.1:7000` (or `--listen unix:/tmp/echo.sock`)

mod common;

use pants::StreamConfig;
use pants_protocols::Echo;

fn main() -> std::io::Result<()> {
    let args = common::args("echo", "127.0.0.1:7000");
    if args.threads > 1 {
        return common::serve_group(&args, |cx, place| {
            cx.listen_with(place.server(|| Echo, StreamConfig::default()))
        });
    }
    common::serve(&args, |cx| {
        cx.listen_with(args.server(|| Echo, StreamConfig::default()))
    })
}
