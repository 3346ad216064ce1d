//! Opens many idle connections to a server, for measuring its resident memory per connection.
//!
//! Connections come from source addresses spread over `127.0.0.2` and up (`--sources`, 10),
//! bound before connecting, so no single address runs out of ephemeral ports. The limit on open
//! files is raised first. Then, driven by lines on standard input (the bench script holds the
//! other end and reads the server's memory in between):
//!
//! 1. open `--conns` connections (10,000), print `connected N`, wait for a line;
//! 2. with `--request ping` (RESP `PING`) or `--request echo` (6 bytes echoed), send one request
//!    on every connection and read every reply, print `answered N`, wait for a line;
//! 3. close them all and exit.
//!
//! Every step is bounded in time (connects 5 s each, replies 10 s each).
//!
//! With `--tls CA` every connection completes a TLS handshake (rustls with ring, trusting the
//! PEM file CA, verifying `localhost`) as it opens, and its request goes over TLS.
//!
//! `idle_conns --addr 127.0.0.1:6380 [--conns 10000] [--sources 10] [--request none|ping|echo]
//! [--tls CA]`

use std::io::{self, BufRead, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::path::PathBuf;
use std::process::exit;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use socket2::{Domain, Socket, Type};

struct Options {
    addr: SocketAddr,
    conns: usize,
    sources: u8,
    request: Option<(&'static [u8], &'static [u8])>,
    tls: Option<Arc<ClientConfig>>,
}

/// A connection: plain, or TLS once its handshake is done.
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    fn open(stream: TcpStream, tls: Option<&Arc<ClientConfig>>) -> io::Result<Self> {
        let Some(config) = tls else {
            return Ok(Stream::Plain(stream));
        };
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let name = ServerName::try_from("localhost").expect("a name");
        let conn = ClientConnection::new(config.clone(), name).map_err(io::Error::other)?;
        let mut tls = StreamOwned::new(conn, stream);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        Ok(Stream::Tls(Box::new(tls)))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(stream) => stream.read(buf),
            Stream::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(stream) => stream.write(data),
            Stream::Tls(stream) => stream.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(stream) => stream.flush(),
            Stream::Tls(stream) => stream.flush(),
        }
    }
}

fn main() {
    let options = options();
    if let Err(err) = run(&options) {
        eprintln!("idle_conns: {err}");
        exit(1);
    }
}

fn run(options: &Options) -> io::Result<()> {
    let limit = pants_reference_bench::raise_nofile(options.conns as u64 + 1024);
    if limit < options.conns as u64 + 64 {
        let message = format!(
            "{} connections need more open files than {limit}",
            options.conns
        );
        return Err(io::Error::other(message));
    }
    let mut streams = Vec::with_capacity(options.conns);
    for i in 0..options.conns {
        let source = Ipv4Addr::new(127, 0, 0, 2 + (i % usize::from(options.sources)) as u8);
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        socket.bind(&SocketAddrV4::new(source, 0).into())?;
        socket
            .connect_timeout(&options.addr.into(), Duration::from_secs(5))
            .map_err(|err| io::Error::new(err.kind(), format!("connection {i}: {err}")))?;
        let stream = Stream::open(TcpStream::from(socket), options.tls.as_ref())
            .map_err(|err| io::Error::new(err.kind(), format!("handshake {i}: {err}")))?;
        streams.push(stream);
    }
    let mut stdin = io::stdin().lock();
    report(&format!("connected {}", streams.len()))?;
    wait(&mut stdin)?;
    if let Some((request, reply)) = options.request {
        for stream in &mut streams {
            stream.write_all(request)?;
        }
        let mut got = vec![0; reply.len()];
        for (i, stream) in streams.iter_mut().enumerate() {
            if let Stream::Plain(stream) = stream {
                stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            }
            stream
                .read_exact(&mut got)
                .map_err(|err| io::Error::new(err.kind(), format!("reply {i}: {err}")))?;
            if got != reply {
                let got = String::from_utf8_lossy(&got);
                return Err(io::Error::other(format!("reply {i} was {got:?}")));
            }
        }
        report(&format!("answered {}", streams.len()))?;
        wait(&mut stdin)?;
    }
    Ok(())
}

fn report(line: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()
}

/// Waits for a line (or the end) of standard input.
fn wait(stdin: &mut impl BufRead) -> io::Result<()> {
    let mut line = String::new();
    stdin.read_line(&mut line)?;
    Ok(())
}

fn options() -> Options {
    let usage = || -> ! {
        eprintln!(
            "usage: idle_conns --addr HOST:PORT [--conns N] [--sources N] \
             [--request none|ping|echo] [--tls CA]"
        );
        exit(2)
    };
    let mut addr = None;
    let mut options = Options {
        addr: ([127, 0, 0, 1], 6380).into(),
        conns: 10_000,
        sources: 10,
        request: None,
        tls: None,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let value = argv.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--addr" => addr = Some(value.parse().unwrap_or_else(|_| usage())),
            "--conns" => options.conns = value.parse().unwrap_or_else(|_| usage()),
            "--sources" => match value.parse() {
                Ok(n @ 1..=250) => options.sources = n,
                _ => usage(),
            },
            "--tls" => {
                let ca = PathBuf::from(value);
                let config = pants_reference_bench::tls::client_config(&ca);
                options.tls = Some(config.unwrap_or_else(|err| {
                    eprintln!("idle_conns: TLS: {err}");
                    exit(1)
                }));
            }
            "--request" => {
                options.request = match value.as_str() {
                    "none" => None,
                    "ping" => Some((b"PING\r\n", b"+PONG\r\n")),
                    "echo" => Some((b"idle?\n", b"idle?\n")),
                    _ => usage(),
                }
            }
            _ => usage(),
        }
    }
    options.addr = addr.unwrap_or_else(|| usage());
    options
}
