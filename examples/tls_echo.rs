//! TLS echo server: writes back every byte it receives, over TLS (rustls, in the core), over
//! TCP or a Unix stream socket. With `--cert FILE --key FILE` (PEM) it serves that
//! certificate; without them it makes a self-signed one at start and says where it wrote it
//! (`certificate: PATH` on stderr).
//!
//! `cargo run --release --example tls_echo -- --listen 127.0.0.1:7443`, then
//! `openssl s_client -connect 127.0.0.1:7443 -CAfile PATH`

mod common;

use pants::StreamConfig;
use pants_protocols::Echo;

fn main() -> std::io::Result<()> {
    let args = common::tls_args("tls_echo", "127.0.0.1:7443");
    common::serve(&args, |cx| {
        cx.listen_with(args.server(|| Echo, StreamConfig::default()))
    })
}
