//! The smol echo server: a `LocalExecutor` under `block_on`, a task per connection on
//! async-net's `TcpStream`, copying with a 64 KiB buffer per connection (the read size of
//! the other echo servers).
//!
//! `smol_echo [--listen 127.0.0.1:7003]`

use std::io;

use pants_reference_bench::smol_server;

fn main() -> io::Result<()> {
    smol_server::run("smol_echo", "127.0.0.1:7003", smol_server::serve_echo)
}
