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

use pants_reference_bench::resp::{self, Db};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The input buffer's size, and the least room it has before each read.
const READ_SIZE: usize = 4096;

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
            tokio::task::spawn_local(serve(stream, db.clone()));
        }
    })
}

async fn serve(mut stream: TcpStream, db: Rc<RefCell<Db>>) -> io::Result<()> {
    let mut input = Vec::with_capacity(READ_SIZE);
    let mut output = Vec::with_capacity(READ_SIZE);
    loop {
        input.reserve(READ_SIZE);
        if stream.read_buf(&mut input).await? == 0 {
            return Ok(());
        }
        let answered = resp::process(&mut db.borrow_mut(), &input, &mut output);
        stream.write_all(&output).await?;
        output.clear();
        match answered {
            Ok(used) => drop(input.drain(..used)),
            Err(resp::ProtocolError) => return Ok(()),
        }
    }
}
