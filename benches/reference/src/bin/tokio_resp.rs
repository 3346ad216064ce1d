//! The tokio RESP server: a current-thread runtime, a task per connection (on a `LocalSet`, so
//! the key space is an `Rc<RefCell<...>>`), idiomatic `read_buf` / `write_all`.
//!
//! Each read is answered with one write of all its replies. A connection owns its input buffer
//! (4 KiB, grown for long requests) and its reply buffer for as long as it lives, as tokio
//! servers usually do.
//!
//! `tokio_resp [--listen 127.0.0.1:6382]`

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use pants_reference_bench::resp::Db;
use pants_reference_bench::tokio_server::serve_resp;
use tokio::net::TcpListener;

fn main() -> io::Result<()> {
    let addr = pants_reference_bench::listen_arg("tokio_resp", "127.0.0.1:6382");
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
            tokio::task::spawn_local(serve_resp(stream, db.clone()));
        }
    })
}
