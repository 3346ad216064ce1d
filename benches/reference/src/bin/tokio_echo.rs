//! The tokio echo server: a current-thread runtime, a task per connection, idiomatic `read` /
//! `write_all` with a 64 KiB buffer per connection (the read size of the other echo servers).
//!
//! `tokio_echo [--listen 127.0.0.1:7002]`

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes asked of the kernel per read.
const READ_SIZE: usize = 64 * 1024;

fn main() -> io::Result<()> {
    let addr = pants_reference_bench::listen_arg("tokio_echo", "127.0.0.1:7002");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        pants_reference_bench::announce(listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(serve(stream));
        }
    })
}

async fn serve(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0; READ_SIZE];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}
