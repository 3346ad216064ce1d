//! Echo throughput client: `--conns` connections (10) each keep up to `--window` bytes (4
//! chunks) in flight, written in `--chunk`-byte chunks (64 KiB), and count the bytes echoed
//! back during `--seconds` (3) after a `--warmup` (0.5 s). One thread, one `mio::Poll`. The
//! first MiB each connection gets back is checked against what it sent.
//!
//! With `--tls CA` every connection speaks TLS (rustls with ring, trusting the PEM file CA,
//! verifying the server as `localhost`); the bytes counted are the plaintext echoed.
//!
//! Prints one line: `echoed BYTES bytes in SECONDS s: RATE MB/s` (MB = 10^6 bytes).
//!
//! `echo_load --addr 127.0.0.1:7000 [--conns 10] [--chunk 65536] [--seconds 3] [--tls CA]`

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::exit;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

/// Bytes of each connection's echo compared with what it sent.
const VERIFIED: u64 = 1 << 20;

struct Options {
    addr: SocketAddr,
    conns: usize,
    chunk: usize,
    window: u64,
    seconds: f64,
    warmup: f64,
    tls: Option<Arc<ClientConfig>>,
}

struct Conn {
    stream: TcpStream,
    tls: Option<Box<ClientConnection>>,
    sent: u64,
    received: u64,
}

impl Conn {
    /// Reads plaintext: the socket's bytes, or what TLS decrypted from them.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = &mut self.tls else {
            return self.stream.read(buf);
        };
        loop {
            match tls.reader().read(buf) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                result => return result,
            }
            if tls.read_tls(&mut self.stream)? == 0 {
                return Ok(0);
            }
            tls.process_new_packets().map_err(io::Error::other)?;
        }
    }

    /// Writes plaintext: to the socket, or encrypted (then sends what records it can).
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let Some(tls) = &mut self.tls else {
            return self.stream.write(data);
        };
        let n = tls.writer().write(data)?;
        self.flush()?;
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    /// Sends the records TLS holds, until the socket would block.
    fn flush(&mut self) -> io::Result<()> {
        let Some(tls) = &mut self.tls else {
            return Ok(());
        };
        while tls.wants_write() {
            match tls.write_tls(&mut self.stream) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(err) => return Err(err),
                Ok(_) => {}
            }
        }
        Ok(())
    }
}

fn main() {
    let options = options();
    if let Err(err) = run(&options) {
        eprintln!("echo_load: {err}");
        exit(1);
    }
}

fn run(options: &Options) -> io::Result<()> {
    let pattern: Vec<u8> = (0..options.chunk).map(|i| (i % 251) as u8).collect();
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(64);
    let mut conns = Vec::with_capacity(options.conns);
    for index in 0..options.conns {
        let stream = std::net::TcpStream::connect_timeout(&options.addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(stream);
        let interest = Interest::READABLE | Interest::WRITABLE;
        poll.registry()
            .register(&mut stream, Token(index), interest)?;
        let tls = match &options.tls {
            Some(config) => {
                let name = ServerName::try_from("localhost").expect("a name");
                let conn = ClientConnection::new(config.clone(), name).map_err(io::Error::other)?;
                Some(Box::new(conn))
            }
            None => None,
        };
        conns.push(Conn {
            stream,
            tls,
            sent: 0,
            received: 0,
        });
    }
    let mut read_buf = vec![0; 4 * options.chunk];
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(options.warmup);
    let end = measure_from + Duration::from_secs_f64(options.seconds);
    let mut at_start: Option<(Instant, u64)> = None;
    loop {
        let now = Instant::now();
        if at_start.is_none() && now >= measure_from {
            at_start = Some((now, total(&conns)));
        }
        if now >= end {
            break;
        }
        let wait = if at_start.is_none() {
            measure_from
        } else {
            end
        };
        match poll.poll(&mut events, Some(wait - now)) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            result => result?,
        }
        for event in &events {
            pump(
                &mut conns[event.token().0],
                &pattern,
                options,
                &mut read_buf,
            )?;
        }
    }
    let (from, received_before) = at_start.expect("the warmup ended before the end");
    let seconds = from.elapsed().as_secs_f64();
    let bytes = total(&conns) - received_before;
    let rate = bytes as f64 / seconds / 1e6;
    println!("echoed {bytes} bytes in {seconds:.3} s: {rate:.1} MB/s");
    Ok(())
}

fn total(conns: &[Conn]) -> u64 {
    conns.iter().map(|conn| conn.received).sum()
}

/// Reads what came back and writes more, until the socket would block both ways or the
/// window is full.
fn pump(conn: &mut Conn, pattern: &[u8], options: &Options, read_buf: &mut [u8]) -> io::Result<()> {
    conn.flush()?;
    loop {
        let mut progress = false;
        match conn.read(read_buf) {
            Ok(0) => return Err(io::Error::other("the server closed a connection")),
            Ok(n) => {
                if conn.received < VERIFIED {
                    verify(&read_buf[..n], conn.received, pattern)?;
                }
                conn.received += n as u64;
                progress = true;
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
        let in_flight = conn.sent - conn.received;
        if in_flight < options.window {
            let offset = (conn.sent % pattern.len() as u64) as usize;
            let room = (options.window - in_flight).min((pattern.len() - offset) as u64) as usize;
            match conn.write(&pattern[offset..offset + room]) {
                Ok(n) => {
                    conn.sent += n as u64;
                    progress = true;
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
        if !progress {
            return Ok(());
        }
    }
}

fn verify(data: &[u8], at: u64, pattern: &[u8]) -> io::Result<()> {
    for (i, &byte) in data.iter().enumerate() {
        if byte != pattern[((at + i as u64) % pattern.len() as u64) as usize] {
            let message = format!("the echo differs at byte {}", at + i as u64);
            return Err(io::Error::new(io::ErrorKind::InvalidData, message));
        }
    }
    Ok(())
}

fn options() -> Options {
    let usage = || -> ! {
        eprintln!(
            "usage: echo_load --addr HOST:PORT [--conns N] [--chunk BYTES] [--window BYTES] \
             [--seconds S] [--warmup S] [--tls CA]"
        );
        exit(2)
    };
    let mut addr = None;
    let mut options = Options {
        addr: ([127, 0, 0, 1], 7000).into(),
        conns: 10,
        chunk: 64 * 1024,
        window: 0,
        seconds: 3.0,
        warmup: 0.5,
        tls: None,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let value = argv.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--addr" => addr = Some(value.parse().unwrap_or_else(|_| usage())),
            "--conns" => options.conns = value.parse().unwrap_or_else(|_| usage()),
            "--chunk" => options.chunk = value.parse().unwrap_or_else(|_| usage()),
            "--window" => options.window = value.parse().unwrap_or_else(|_| usage()),
            "--seconds" => options.seconds = value.parse().unwrap_or_else(|_| usage()),
            "--warmup" => options.warmup = value.parse().unwrap_or_else(|_| usage()),
            "--tls" => {
                let ca = PathBuf::from(value);
                let config = pants_reference_bench::tls::client_config(&ca);
                options.tls = Some(config.unwrap_or_else(|err| {
                    eprintln!("echo_load: TLS: {err}");
                    exit(1)
                }));
            }
            _ => usage(),
        }
    }
    options.addr = addr.unwrap_or_else(|| usage());
    if options.window == 0 {
        options.window = 4 * options.chunk as u64;
    }
    if options.conns == 0 || options.chunk == 0 || options.seconds <= 0.0 {
        usage();
    }
    options
}
