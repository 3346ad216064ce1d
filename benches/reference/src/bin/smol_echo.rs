//! The smol echo server: a `LocalExecutor` under `block_on`, a task per connection on
//! async-net's `TcpStream`, copying with a 64 KiB buffer per connection (the read size of
//! the other echo servers).
//!
//! `smol_echo [--listen 127.0.0.1:7003]`

use std::io;

use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::TcpStream;

/// Bytes asked of the kernel per read.
const READ_SIZE: usize = 64 * 1024;

fn main() -> io::Result<()> {
    pants_reference_bench::smol_server::run("smol_echo", "127.0.0.1:7003", echo)
}

/// Writes back what arrives until the peer's end of stream.
async fn echo(stream: TcpStream) -> io::Result<()> {
    let (mut reader, mut writer) = (stream.clone(), stream);
    let mut buf = vec![0; READ_SIZE];
    while let n @ 1.. = reader.read(&mut buf).await? {
        writer.write_all(&buf[..n]).await?;
    }
    Ok(())
}
