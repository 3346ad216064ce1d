//! The smol RESP server: a `LocalExecutor` under `block_on`, a task per connection on
//! async-net's `TcpStream` (the key space is an `Rc<RefCell<...>>`), plain `read` /
//! `write_all`.
//!
//! Each read is answered with one write of all its replies. A connection owns its input buffer
//! (4 KiB, grown for long requests) and its reply buffer for as long as it lives, as smol
//! servers usually do.
//!
//! `smol_resp [--listen 127.0.0.1:6383]`

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use pants_reference_bench::resp::{self, Db};
use pants_reference_bench::smol_server;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::TcpStream;

/// The input buffer's size, and the least room it has before each read.
const READ_SIZE: usize = 4096;

fn main() -> io::Result<()> {
    let db = Rc::new(RefCell::new(Db::default()));
    smol_server::run("smol_resp", "127.0.0.1:6383", move |stream| {
        serve(stream, db.clone())
    })
}

async fn serve(mut stream: TcpStream, db: Rc<RefCell<Db>>) -> io::Result<()> {
    let (mut input, mut filled) = (vec![0; READ_SIZE], 0);
    let mut output = Vec::with_capacity(READ_SIZE);
    loop {
        if input.len() - filled < READ_SIZE {
            input.resize(filled + READ_SIZE, 0);
        }
        match stream.read(&mut input[filled..]).await? {
            0 => return Ok(()),
            n => filled += n,
        }
        let answered = resp::process(&mut db.borrow_mut(), &input[..filled], &mut output);
        stream.write_all(&output).await?;
        output.clear();
        let Ok(used) = answered else {
            return Ok(()); // a protocol error: hang up, as the other servers do
        };
        input.copy_within(used..filled, 0);
        filled -= used;
    }
}
