//! `tokio_echo` behind tokio-rustls: the yardstick of pants' TLS echo (benches/tls.sh). A task
//! per connection runs the handshake, then the same echo loop as `tokio_echo`.
//!
//! `tokio_tls_echo [--listen 127.0.0.1:7443] --cert FILE --key FILE`

use std::io;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

fn main() -> io::Result<()> {
    let (addr, config) =
        pants_reference_bench::tls::server_args("tokio_tls_echo", "127.0.0.1:7443");
    let acceptor = TlsAcceptor::from(config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        pants_reference_bench::announce(listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let stream = acceptor.accept(stream).await?;
                pants_reference_bench::tokio_server::serve_echo(stream).await
            });
        }
    })
}
