//! Chat server: every line a client sends (`\n`-terminated, an optional `\r` stripped) goes to
//! every connected client as `LINE\n`, the sender included. A line over the read limit closes
//! only its sender. Try it with a few `nc 127.0.0.1 7001`.
//!
//! `cargo run --release --example chat -- --listen 127.0.0.1:7001`

mod common;

use pants_protocols::Chat;

fn main() -> std::io::Result<()> {
    let args = common::args("chat", "127.0.0.1:7001");
    common::serve(|cx| cx.listen(args.listen.as_str(), Chat::factory()))
}
