//! What the smol reference servers share: a `LocalExecutor` under `block_on`, accepting on
//! async-net's `TcpListener` and spawning a task per connection, as smol servers are written;
//! and their echo and RESP loops, over a plain stream or a futures-rustls one.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use smol::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use smol::net::{TcpListener, TcpStream};

use crate::resp::{self, Db};

/// Bytes an echo asks of its stream per read (the read size of the other echo servers).
const ECHO_READ_SIZE: usize = 64 * 1024;
/// A RESP connection's input buffer size, and the least room it has before each read.
const RESP_READ_SIZE: usize = 4096;

/// Listens at `--listen` (default `default`), announces the address, and runs `serve` as a
/// task of its own for each connection (with `TCP_NODELAY`), forever.
pub fn run<F>(name: &str, default: &str, serve: impl Fn(TcpStream) -> F) -> io::Result<()>
where
    F: Future<Output = io::Result<()>> + 'static,
{
    run_at(crate::listen_arg(name, default), serve)
}

/// [`run`], at `addr`.
pub fn run_at<F>(addr: SocketAddr, serve: impl Fn(TcpStream) -> F) -> io::Result<()>
where
    F: Future<Output = io::Result<()>> + 'static,
{
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let listener = TcpListener::bind(addr).await?;
        crate::announce(listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            executor.spawn(serve(stream)).detach();
        }
    }))
}

/// Writes back what arrives until the peer's end of stream, with a 64 KiB buffer per
/// connection; then closes its side (a TLS stream's `close_notify`).
pub async fn serve_echo(mut stream: impl AsyncRead + AsyncWrite + Unpin) -> io::Result<()> {
    let mut buf = vec![0; ECHO_READ_SIZE];
    while let n @ 1.. = stream.read(&mut buf).await? {
        stream.write_all(&buf[..n]).await?;
    }
    stream.close().await
}

/// Answers RESP requests until the peer's end of stream: each read is answered with one
/// write of all its replies. A connection owns its input buffer (4 KiB, grown for long
/// requests) and its reply buffer for as long as it lives, as smol servers usually do.
pub async fn serve_resp(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    db: Rc<RefCell<Db>>,
) -> io::Result<()> {
    let (mut input, mut filled) = (vec![0; RESP_READ_SIZE], 0);
    let mut output = Vec::with_capacity(RESP_READ_SIZE);
    loop {
        if input.len() - filled < RESP_READ_SIZE {
            input.resize(filled + RESP_READ_SIZE, 0);
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
