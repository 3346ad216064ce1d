//! `tokio_resp` behind tokio-rustls: the yardstick of pants' `resp --tls` (benches/tls.sh). A
//! task per connection runs the handshake, then the same RESP loop as `tokio_resp`.
//!
//! `tokio_tls_resp [--listen 127.0.0.1:6443] --cert FILE --key FILE`

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use pants_reference_bench::resp::Db;
use pants_reference_bench::tokio_server::serve_resp;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

fn main() -> io::Result<()> {
    let (addr, config) =
        pants_reference_bench::tls::server_args("tokio_tls_resp", "127.0.0.1:6443");
    let acceptor = TlsAcceptor::from(config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = TcpListener::bind(addr).await?;
        pants_reference_bench::announce(listener.local_addr()?);
        let db = Rc::new(RefCell::new(Db::default()));
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let (acceptor, db) = (acceptor.clone(), db.clone());
            tokio::task::spawn_local(async move {
                let stream = acceptor.accept(stream).await?;
                serve_resp(stream, db).await
            });
        }
    })
}
