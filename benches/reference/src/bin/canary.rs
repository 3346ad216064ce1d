//! The canary of `benches/attack.sh`: one well-behaved client, connected before an attack,
//! that makes one round trip every `--interval-ms` (100) and reports how long the worst took.
//!
//! | `--protocol` | request | complete reply |
//! |---|---|---|
//! | `resp` | `PING` | `+PONG\r\n` |
//! | `echo` | `canary\n` | the same 7 bytes |
//! | `http` | `GET /` | a head and its `Content-Length` of body |
//!
//! It makes one round trip, prints `ready`, then goes on for `--seconds` (10), a round trip
//! every interval (at once when the last one took longer). A reply may take up to 120 s; one
//! that takes longer, or a closed connection, is an error. Prints one line:
//! `round trips N worst W ms median M ms p99 P ms`.
//!
//! `canary --addr 127.0.0.1:6380 --protocol resp [--interval-ms 100] [--seconds 10]`

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::exit;
use std::thread;
use std::time::{Duration, Instant};

/// How long one reply may take.
const REPLY_LIMIT: Duration = Duration::from_secs(120);

#[derive(Clone, Copy)]
enum Protocol {
    Resp,
    Echo,
    Http,
}

struct Options {
    addr: SocketAddr,
    protocol: Protocol,
    interval: Duration,
    duration: Duration,
}

fn main() {
    let options = options();
    if let Err(err) = run(&options) {
        eprintln!("canary: {err}");
        exit(1);
    }
}

fn run(options: &Options) -> io::Result<()> {
    let mut stream = TcpStream::connect_timeout(&options.addr, Duration::from_secs(5))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(REPLY_LIMIT))?;
    let mut buf = Vec::with_capacity(4096);
    round_trip(&mut stream, options.protocol, &mut buf)?;
    println!("ready");
    io::stdout().flush()?;

    let start = Instant::now();
    let mut next = start;
    let mut times = Vec::new();
    while next.duration_since(start) < options.duration {
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        let sent = Instant::now();
        round_trip(&mut stream, options.protocol, &mut buf)?;
        times.push(sent.elapsed());
        next = (next + options.interval).max(Instant::now());
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "round trips {} worst {:.1} ms median {:.1} ms p99 {:.1} ms",
        times.len(),
        ms(at(1.0)),
        ms(at(0.5)),
        ms(at(0.99))
    );
    Ok(())
}

/// Sends one request and reads its whole reply.
fn round_trip(stream: &mut TcpStream, protocol: Protocol, buf: &mut Vec<u8>) -> io::Result<()> {
    let request: &[u8] = match protocol {
        Protocol::Resp => b"PING\r\n",
        Protocol::Echo => b"canary\n",
        Protocol::Http => b"GET / HTTP/1.1\r\nHost: canary\r\n\r\n",
    };
    stream.write_all(request)?;
    buf.clear();
    loop {
        let complete = match protocol {
            Protocol::Resp => reply_of(buf, b"+PONG\r\n")?,
            Protocol::Echo => reply_of(buf, request)?,
            Protocol::Http => http_response_len(buf)?.is_some_and(|len| buf.len() >= len),
        };
        if complete {
            return Ok(());
        }
        let mut chunk = [0; 4096];
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "the server closed",
                ));
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                return Err(io::Error::new(ErrorKind::TimedOut, "no reply within 120 s"));
            }
            Err(err) => return Err(err),
        }
    }
}

/// True once `buf` holds `reply` whole; an error when it holds something else.
fn reply_of(buf: &[u8], reply: &[u8]) -> io::Result<bool> {
    let seen = buf.len().min(reply.len());
    if buf[..seen] != reply[..seen] || buf.len() > reply.len() {
        let got = String::from_utf8_lossy(buf);
        return Err(io::Error::other(format!("unexpected reply {got:?}")));
    }
    Ok(buf.len() == reply.len())
}

/// The length of the HTTP response at the start of `buf`, once its head is in.
fn http_response_len(buf: &[u8]) -> io::Result<Option<usize>> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .ok_or_else(|| io::Error::other(format!("a response without a length: {head:?}")))?;
    Ok(Some(end + 4 + length))
}

fn options() -> Options {
    let usage = || -> ! {
        eprintln!(
            "usage: canary --addr HOST:PORT --protocol resp|echo|http [--interval-ms N] \
             [--seconds S]"
        );
        exit(2)
    };
    let mut addr = None;
    let mut protocol = None;
    let mut options = Options {
        addr: ([127, 0, 0, 1], 6380).into(),
        protocol: Protocol::Resp,
        interval: Duration::from_millis(100),
        duration: Duration::from_secs(10),
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let value = argv.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--addr" => addr = Some(value.parse().unwrap_or_else(|_| usage())),
            "--protocol" => {
                protocol = Some(match value.as_str() {
                    "resp" => Protocol::Resp,
                    "echo" => Protocol::Echo,
                    "http" => Protocol::Http,
                    _ => usage(),
                })
            }
            "--interval-ms" => {
                options.interval = Duration::from_millis(value.parse().unwrap_or_else(|_| usage()))
            }
            "--seconds" => {
                options.duration =
                    Duration::from_secs_f64(value.parse().unwrap_or_else(|_| usage()))
            }
            _ => usage(),
        }
    }
    options.addr = addr.unwrap_or_else(|| usage());
    options.protocol = protocol.unwrap_or_else(|| usage());
    options
}
