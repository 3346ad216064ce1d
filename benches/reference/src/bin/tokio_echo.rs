//! The tokio echo server: a current-thread runtime, a task per connection, idiomatic `read` /
//! `write_all` with a 64 KiB buffer per connection (the read size of the other echo servers).
//!
//! `tokio_echo [--listen 127.0.0.1:7002]`

use std::io;

use tokio::net::TcpListener;

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
            tokio::spawn(pants_reference_bench::tokio_server::serve_echo(stream));
        }
    })
}
