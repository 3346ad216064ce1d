//! Echo server (RFC 862 over a stream): writes back every byte it receives, over TCP or a Unix
//! stream socket.
//!
//! `cargo run --release --example echo -- --listen 127.0.0.1:7000` (or `--listen unix:/tmp/echo.sock`)

mod common;

use pants_protocols::Echo;

fn main() -> std::io::Result<()> {
    let args = common::args("echo", "127.0.0.1:7000");
    common::serve(|cx| cx.listen(args.listen.as_str(), || Echo))
}
