//! Chat server: every line a client sends (`\n`-terminated, an optional `\r` stripped) goes to
//! every connected client as `LINE\n`, the sender included. A line over the read limit closes
//! only its sender; with `--idle-timeout SECONDS`, a client silent both ways for that long is
//! closed. Try it with a few `nc 127.0.0.1 7001`.
//!
//! `cargo run --release --example chat -- --listen 127.0.0.1:7001`

mod common;

use pants::StreamConfig;
use pants_protocols::Chat;

fn main() -> std::io::Result<()> {
    let args = common::args("chat", "127.0.0.1:7001");
    common::serve(&args, |cx| {
        cx.listen_with(args.server(Chat::factory(), StreamConfig::default()))
    })
}
