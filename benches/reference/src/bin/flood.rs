//! The hostile clients of `benches/attack.sh`: `--conns` connections that write an attack and
//! never read a byte of what the server sends back. One thread, one `mio::Poll`.
//!
//! | `--mode` | what each connection writes |
//! |---|---|
//! | `resp-get` | `GET KEY` (`--target`), `--pipeline` times (256), at once |
//! | `http-get` | `GET PATH HTTP/1.1` (`--target`), `--pipeline` times (10,000), at once |
//! | `echo` | bytes, for as long as the server takes them |
//! | `chat` | 1 KiB lines, for as long as the server takes them |
//! | `resp-held` | 55 MB of one RESP command (`*100`, six 8 MB arguments and 7 MB of a seventh) that never ends |
//!
//! Driven by the bench script through standard input and output:
//! 1. opens every connection (5 s each at most), prints `connected N`, and starts writing;
//! 2. prints `written` once every connection has written all of a finite attack;
//! 3. at a line or the end of standard input, closes every connection, prints `closed` and
//!    exits.
//!
//! `flood --addr 127.0.0.1:6380 --mode resp-get [--conns 1000] [--target big] [--pipeline N]`

use std::io::{self, BufRead, ErrorKind, Write};
use std::net::SocketAddr;
use std::process::exit;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// Bytes of one argument of the held RESP command.
const HELD_ARGUMENT: usize = 8_000_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    RespGet,
    HttpGet,
    Echo,
    Chat,
    RespHeld,
}

struct Options {
    addr: SocketAddr,
    mode: Mode,
    conns: usize,
    target: String,
    pipeline: Option<usize>,
}

/// What every connection writes: `bytes` once, or over and over when `repeat`.
struct Payload {
    bytes: Vec<u8>,
    repeat: bool,
}

struct Conn {
    stream: TcpStream,
    sent: usize,
}

fn main() {
    let options = options();
    if let Err(err) = run(&options) {
        eprintln!("flood: {err}");
        exit(1);
    }
}

fn run(options: &Options) -> io::Result<()> {
    let limit = pants_reference_bench::raise_nofile(options.conns as u64 + 1024);
    if limit < options.conns as u64 + 64 {
        let message = format!("{} connections need more than {limit} files", options.conns);
        return Err(io::Error::other(message));
    }
    let payload = payload(options);
    let mut poll = Poll::new()?;
    let mut conns = Vec::with_capacity(options.conns);
    for index in 0..options.conns {
        let stream = std::net::TcpStream::connect_timeout(&options.addr, Duration::from_secs(5))
            .map_err(|err| io::Error::new(err.kind(), format!("connection {index}: {err}")))?;
        stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(stream);
        // Writable only: nothing the server sends is ever read.
        poll.registry()
            .register(&mut stream, Token(index), Interest::WRITABLE)?;
        conns.push(Conn { stream, sent: 0 });
    }
    say(&format!("connected {}", conns.len()))?;

    let stop = Arc::new(AtomicBool::new(false));
    let stop_on_input = stop.clone();
    thread::spawn(move || {
        let _ = io::stdin().lock().read_line(&mut String::new());
        stop_on_input.store(true, Ordering::Relaxed);
    });

    let mut events = Events::with_capacity(1024);
    let mut done = 0;
    let mut said_written = false;
    while !stop.load(Ordering::Relaxed) {
        match poll.poll(&mut events, Some(Duration::from_millis(100))) {
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            result => result?,
        }
        for event in &events {
            let conn = &mut conns[event.token().0];
            if write_some(conn, &payload)? {
                done += 1;
            }
        }
        if !payload.repeat && done == conns.len() && !said_written {
            said_written = true;
            say("written")?;
        }
    }
    drop(conns);
    say("closed")
}

/// Writes until the socket would block; true when this write finished a finite payload.
fn write_some(conn: &mut Conn, payload: &Payload) -> io::Result<bool> {
    let len = payload.bytes.len();
    loop {
        if !payload.repeat && conn.sent == len {
            return Ok(false);
        }
        let from = if payload.repeat {
            conn.sent % len
        } else {
            conn.sent
        };
        match conn.stream.write(&payload.bytes[from..]) {
            Ok(n) => {
                conn.sent += n;
                if !payload.repeat && conn.sent == len {
                    return Ok(true);
                }
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            // The server closed it (a limit, a timeout): that connection's attack is over.
            Err(err)
                if matches!(
                    err.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
                ) =>
            {
                conn.sent = len;
                return Ok(!payload.repeat);
            }
            Err(err) => return Err(err),
        }
    }
}

fn payload(options: &Options) -> Payload {
    let repeated = |unit: &[u8], times: usize| unit.repeat(times);
    match options.mode {
        Mode::RespGet => Payload {
            bytes: repeated(
                format!("GET {}\r\n", options.target).as_bytes(),
                options.pipeline.unwrap_or(256),
            ),
            repeat: false,
        },
        Mode::HttpGet => Payload {
            bytes: repeated(
                format!("GET {} HTTP/1.1\r\nHost: flood\r\n\r\n", options.target).as_bytes(),
                options.pipeline.unwrap_or(10_000),
            ),
            repeat: false,
        },
        Mode::Echo => Payload {
            bytes: (0..64 * 1024).map(|i| (i % 251) as u8).collect(),
            repeat: true,
        },
        Mode::Chat => {
            let mut line = vec![b'x'; 1023];
            line.push(b'\n');
            Payload {
                bytes: repeated(&line, 64),
                repeat: true,
            }
        }
        Mode::RespHeld => {
            let argument = |len: usize| {
                let mut bytes = format!("${HELD_ARGUMENT}\r\n").into_bytes();
                bytes.resize(bytes.len() + len, b'v');
                bytes
            };
            let mut bytes = b"*100\r\n".to_vec();
            for _ in 0..6 {
                bytes.extend(argument(HELD_ARGUMENT));
                bytes.extend(b"\r\n");
            }
            bytes.extend(argument(7_000_000));
            Payload {
                bytes,
                repeat: false,
            }
        }
    }
}

fn say(line: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()
}

fn options() -> Options {
    let usage = || -> ! {
        eprintln!(
            "usage: flood --addr HOST:PORT --mode resp-get|http-get|echo|chat|resp-held \
             [--conns N] [--target KEY_OR_PATH] [--pipeline N]"
        );
        exit(2)
    };
    let mut addr = None;
    let mut mode = None;
    let mut options = Options {
        addr: ([127, 0, 0, 1], 6380).into(),
        mode: Mode::Echo,
        conns: 1000,
        target: String::new(),
        pipeline: None,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let value = argv.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--addr" => addr = Some(value.parse().unwrap_or_else(|_| usage())),
            "--mode" => {
                mode = Some(match value.as_str() {
                    "resp-get" => Mode::RespGet,
                    "http-get" => Mode::HttpGet,
                    "echo" => Mode::Echo,
                    "chat" => Mode::Chat,
                    "resp-held" => Mode::RespHeld,
                    _ => usage(),
                })
            }
            "--conns" => options.conns = value.parse().unwrap_or_else(|_| usage()),
            "--target" => options.target = value,
            "--pipeline" => options.pipeline = Some(value.parse().unwrap_or_else(|_| usage())),
            _ => usage(),
        }
    }
    options.addr = addr.unwrap_or_else(|| usage());
    options.mode = mode.unwrap_or_else(|| usage());
    let needs_target = matches!(options.mode, Mode::RespGet | Mode::HttpGet);
    if options.conns == 0 || (needs_target && options.target.is_empty()) {
        usage();
    }
    options
}
