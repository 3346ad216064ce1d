//! Datagram echo: sends each datagram back to its sender unchanged, over UDP or a Unix
//! datagram socket (`--listen unixgram:/tmp/echo.sock`).
//!
//! `cargo run --release --example udp_echo -- --listen 127.0.0.1:7002`

mod common;

use pants_protocols::Echo;

fn main() -> std::io::Result<()> {
    let args = common::args("udp_echo", "127.0.0.1:7002");
    if args.tls.is_some() {
        // TLS runs over streams; datagrams would need DTLS, which pants does not speak.
        let message = "udp_echo serves datagrams: --tls is for the stream examples";
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            message,
        ));
    }
    let addr = args.listen_addr()?;
    // On a datagram channel, `cx.write` in `on_read` replies to the datagram's sender.
    common::serve(&args, |cx| cx.datagram(addr, Echo))
}
