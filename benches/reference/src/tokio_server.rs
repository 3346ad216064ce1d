//! The tokio servers' per-connection loops, over any byte stream: a plain `TcpStream`
//! (`tokio_echo`, `tokio_resp`) or tokio-rustls' `TlsStream` (`tokio_tls_echo`,
//! `tokio_tls_resp`), so that TLS is the only difference between them.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::resp::{self, Db};

/// Bytes an echo server asks of its stream per read (the read size of the other echo servers).
const ECHO_READ_SIZE: usize = 64 * 1024;
/// A RESP connection's input buffer's size, and the least room it has before each read.
const RESP_READ_SIZE: usize = 4096;

/// Echoes until the peer's EOF: idiomatic `read` / `write_all` with a 64 KiB buffer.
pub async fn serve_echo(mut stream: impl AsyncRead + AsyncWrite + Unpin) -> io::Result<()> {
    let mut buf = vec![0; ECHO_READ_SIZE];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return stream.shutdown().await;
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Answers RESP requests until the peer's EOF: each read is answered with one write of all
/// its replies; the connection owns its input and reply buffers for as long as it lives.
pub async fn serve_resp(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    db: Rc<RefCell<Db>>,
) -> io::Result<()> {
    let mut input = Vec::with_capacity(RESP_READ_SIZE);
    let mut output = Vec::with_capacity(RESP_READ_SIZE);
    loop {
        input.reserve(RESP_READ_SIZE);
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
