//! An `AsyncStream` over TLS on the smol driver: lines under TLS, and a certificate the client
//! does not trust reaching its task as an error of kind `InvalidData` (not as a clean end).

mod common;

use std::io;
use std::time::{Duration, Instant};

use common::STEP;
use pants::smol::{AsyncStream, Engine};
use pants::{Connect, Context, Frame, Handler, Listen, TlsClient, TlsServer};

/// Echoes lines.
struct Echo;

impl Handler for Echo {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        cx.set_read_delimiter("\n").unwrap();
    }
    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        cx.write([&line[..], b"\n"].concat());
    }
}

/// A certificate for `localhost` and 127.0.0.1: the server with it, and a client trusting it.
fn identity() -> (TlsServer, TlsClient) {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let made = rcgen::generate_simple_self_signed(names).expect("a certificate");
    let (cert, key) = (made.cert.pem(), made.signing_key.serialize_pem());
    let server = TlsServer::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    (server, TlsClient::with_ca_pem(cert.as_bytes()).unwrap())
}

/// Serves TLS echo with `server`, connects an `AsyncStream` with `client`, and runs `talk` on
/// it in a task beside the engine; what `talk` gave.
fn talk<T: 'static>(
    server: TlsServer,
    client: TlsClient,
    talk: impl AsyncFnOnce(AsyncStream) -> io::Result<T> + 'static,
) -> io::Result<T> {
    let mut engine = Engine::new().expect("an engine");
    let listen = Listen::new("127.0.0.1:0", || Echo).tls(server);
    let id = engine.listen_with(listen).expect("listen");
    let addr = engine.local_addr(id).expect("an address");
    let (handler, stream) = AsyncStream::pair(&engine.handle(), "\n").expect("a delimiter");
    engine
        .connect_with(Connect::new(addr, handler).tls(client))
        .expect("connect");
    let handle = engine.handle();
    let executor = smol::LocalExecutor::new();
    let task = executor.spawn(async move {
        let said = talk(stream).await;
        handle.stop();
        said
    });
    let deadline = Instant::now() + STEP;
    smol::block_on(executor.run(smol::future::or(engine.run(), async {
        while !task.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the task still runs after {STEP:?}"
            );
            smol::Timer::after(Duration::from_millis(1)).await;
        }
        Ok(())
    })))
    .expect("run");
    smol::block_on(task)
}

#[test]
fn lines_go_both_ways_under_tls() {
    let (server, client) = identity();
    let echoed = talk(server, client, async |stream| {
        stream.write(b"secret\n").await?;
        stream.read_frame().await
    });
    assert_eq!(echoed.expect("the echo").as_deref(), Some(&b"secret"[..]));
}

#[test]
fn an_untrusted_certificate_reaches_the_task_as_invalid_data() {
    let (server, _) = identity();
    let (_, stranger) = identity();
    let result = talk(server, stranger, async |stream| stream.read_frame().await);
    let err = result.expect_err("the handshake fails");
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
}
