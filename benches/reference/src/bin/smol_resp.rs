//! The smol RESP server: a `LocalExecutor` under `block_on`, a task per connection on
//! async-net's `TcpStream` (the key space is an `Rc<RefCell<...>>`), plain `read` /
//! `write_all` (`smol_server::serve_resp`).
//!
//! `smol_resp [--listen 127.0.0.1:6383]`

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use pants_reference_bench::resp::Db;
use pants_reference_bench::smol_server;

fn main() -> io::Result<()> {
    let db = Rc::new(RefCell::new(Db::default()));
    smol_server::run("smol_resp", "127.0.0.1:6383", move |stream| {
        smol_server::serve_resp(stream, db.clone())
    })
}
