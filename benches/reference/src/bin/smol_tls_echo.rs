//! `smol_echo` behind futures-rustls: the hand-written smol yardstick of pants' TLS echo on
//! the smol driver (benches/tls.sh). A task per connection runs the handshake, then the same
//! echo loop as `smol_echo`.
//!
//! `smol_tls_echo [--listen 127.0.0.1:7444] --cert FILE --key FILE`

use std::io;

use futures_rustls::TlsAcceptor;
use pants_reference_bench::smol_server;

fn main() -> io::Result<()> {
    let (addr, config) = pants_reference_bench::tls::server_args("smol_tls_echo", "127.0.0.1:7444");
    let acceptor = TlsAcceptor::from(config);
    smol_server::run_at(addr, move |stream| {
        let accept = acceptor.accept(stream);
        async move { smol_server::serve_echo(accept.await?).await }
    })
}
