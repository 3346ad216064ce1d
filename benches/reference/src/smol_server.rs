//! What the smol reference servers share: a `LocalExecutor` under `block_on`, accepting on
//! async-net's `TcpListener` and spawning a task per connection, as smol servers are written.

use std::future::Future;
use std::io;

use smol::net::{TcpListener, TcpStream};

/// Listens at `--listen` (default `default`), announces the address, and runs `serve` as a
/// task of its own for each connection (with `TCP_NODELAY`), forever.
pub fn run<F>(name: &str, default: &str, serve: impl Fn(TcpStream) -> F) -> io::Result<()>
where
    F: Future<Output = io::Result<()>> + 'static,
{
    let addr = crate::listen_arg(name, default);
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
