//! `smol_resp` behind futures-rustls: the hand-written smol yardstick of pants' `resp --tls`
//! on the smol driver (benches/tls.sh). A task per connection runs the handshake, then the
//! same RESP loop as `smol_resp`.
//!
//! `smol_tls_resp [--listen 127.0.0.1:6444] --cert FILE --key FILE`

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use futures_rustls::TlsAcceptor;
use pants_reference_bench::resp::Db;
use pants_reference_bench::smol_server;

fn main() -> io::Result<()> {
    let (addr, config) = pants_reference_bench::tls::server_args("smol_tls_resp", "127.0.0.1:6444");
    let acceptor = TlsAcceptor::from(config);
    let db = Rc::new(RefCell::new(Db::default()));
    smol_server::run_at(addr, move |stream| {
        let (accept, db) = (acceptor.accept(stream), db.clone());
        async move { smol_server::serve_resp(accept.await?, db).await }
    })
}
