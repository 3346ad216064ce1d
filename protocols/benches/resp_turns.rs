//! The `resp` server's work per request with no sockets at all: the engine, the stream state
//! machine and the RESP handler, driven turn after turn by an [`Io`] that hands every read the
//! same pipelined requests and takes every write whole.
//!
//! What it measures is exactly the user-space work that `benches/servers.sh` compares with the
//! raw mio server, minus the system calls: `benches/engine_instructions.sh` runs it under
//! Valgrind's callgrind and prints instructions per request, in seconds rather than the
//! minutes of `benches/instructions.sh`, and repeatable to the instruction.
//!
//! Started by:
//! - `cargo bench` (`--bench`): checks the replies, then prints nanoseconds per request
//!   (wall clock, for orientation only);
//! - `cargo test --benches` / `--all-targets` (no arguments): checks the replies, the one test;
//! - the script: `resp_turns count REQUEST TURNS PIPELINE [shared]` runs just that, for
//!   counting; with `shared`, the key space is a [`resp::SharedDb`]'s view, as on a group of
//!   engines (its lock taken by each command on keys, never contended here).

use std::hint::black_box;
use std::io::{self, IoSlice};
use std::time::Instant;

use bytes::Bytes;
use pants_core::channel::FileRange;
use pants_core::driver::{Engine, Io, Readiness, Received};
use pants_core::{Addr, ChannelId, EngineConfig, SocketOptions};
use pants_protocols::resp;

/// The requests, as `redis-benchmark -t NAME` sends them (its default 3-byte value), and the
/// reply each gets.
const REQUESTS: [(&str, &[u8], &[u8]); 4] = [
    ("ping_inline", b"PING\r\n", b"+PONG\r\n"),
    ("ping_mbulk", b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n"),
    (
        "set",
        b"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000001234\r\n$3\r\nxxx\r\n",
        b"+OK\r\n",
    ),
    (
        "get",
        b"*2\r\n$3\r\nGET\r\n$16\r\nkey:000000001234\r\n",
        b"$3\r\nxxx\r\n",
    ),
];

/// One accepted connection whose every read returns `payload`.
struct Scripted {
    listening: bool,
    accepted: Option<ChannelId>,
    payload: Bytes,
    readable: bool,
    written: usize,
}

impl Io for Scripted {
    fn listen(&mut self, _: ChannelId, _: &Addr, _: &SocketOptions) -> io::Result<()> {
        self.listening = true;
        Ok(())
    }
    fn accept(&mut self, _: ChannelId, conn: ChannelId) -> io::Result<()> {
        if self.accepted.is_some() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.accepted = Some(conn);
        Ok(())
    }
    fn connect(&mut self, _: ChannelId, _: &Addr, _: &SocketOptions) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
    fn connect_result(&mut self, _: ChannelId) -> io::Result<bool> {
        Err(io::ErrorKind::Unsupported.into())
    }
    fn local_addr(&self, _: ChannelId) -> io::Result<Addr> {
        Ok("127.0.0.1:6379".parse().expect("an address"))
    }
    fn peer_addr(&self, _: ChannelId) -> io::Result<Addr> {
        Ok("127.0.0.1:50000".parse().expect("an address"))
    }
    fn read(&mut self, _: ChannelId) -> io::Result<Received> {
        if !std::mem::take(&mut self.readable) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(self.payload.clone().into())
    }
    fn write(&mut self, _: ChannelId, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        let n = slices.iter().map(|slice| slice.len()).sum();
        self.written += n;
        Ok(n)
    }
    fn send_file(&mut self, _: ChannelId, _: &FileRange) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }
    fn shutdown(&mut self, _: ChannelId) -> io::Result<()> {
        Ok(())
    }
    fn close(&mut self, _: ChannelId) {}
    fn bind(&mut self, _: ChannelId, _: &Addr, _: &SocketOptions) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
    fn recv_from(&mut self, _: ChannelId) -> io::Result<(Bytes, Addr)> {
        Err(io::ErrorKind::Unsupported.into())
    }
    fn send_to(&mut self, _: ChannelId, _: &[u8], _: &Addr) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// A `resp` server with one connection, its key set as `SET` would have left it.
struct Server {
    engine: Engine,
    io: Scripted,
    conn: ChannelId,
    now: Instant,
}

impl Server {
    fn new(request: &[u8], pipeline: usize, keys: Keys) -> Self {
        let now = Instant::now();
        let mut engine = Engine::new(EngineConfig::default(), now);
        let mut io = Scripted {
            listening: false,
            accepted: None,
            payload: Bytes::from(request.repeat(pipeline)),
            readable: false,
            written: 0,
        };
        let db = match keys {
            Keys::Local => resp::Db::new(),
            Keys::Shared => resp::SharedDb::new().db(),
        };
        db.set("key:000000001234", "xxx");
        let server = engine
            .context(&mut io, now)
            .listen_with(resp::listen("127.0.0.1:6379", db))
            .expect("the scripted listen succeeds");
        engine.turn(&mut io, now);
        assert!(io.listening, "the engine opened no listener");
        engine.handle_readiness(server, Readiness::BOTH);
        engine.turn(&mut io, now);
        let conn = io.accepted.expect("the engine accepted no connection");
        engine.handle_readiness(conn, Readiness::BOTH);
        engine.turn(&mut io, now);
        Self {
            engine,
            io,
            conn,
            now,
        }
    }

    /// One turn: the pipelined requests arrive, the replies leave.
    fn turn(&mut self) {
        self.io.readable = true;
        let readable = Readiness {
            readable: true,
            writable: false,
        };
        self.engine.handle_readiness(self.conn, readable);
        self.engine.turn(&mut self.io, self.now);
    }
}

/// Which key space the server has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// One engine's (`resp::Db::new`).
    Local,
    /// A view of a `resp::SharedDb`, as each engine of a group has.
    Shared,
}

/// Runs `turns` turns of `pipeline` requests of kind `name`; returns the bytes written.
fn run(name: &str, turns: usize, pipeline: usize, keys: Keys) -> usize {
    let (_, request, _) = lookup(name);
    let mut server = Server::new(request, pipeline, keys);
    for _ in 0..turns {
        server.turn();
    }
    black_box(server.io.written)
}

fn lookup(name: &str) -> (&'static str, &'static [u8], &'static [u8]) {
    REQUESTS
        .into_iter()
        .find(|(known, ..)| *known == name)
        .unwrap_or_else(|| panic!("unknown request {name:?}"))
}

/// Every request gets its reply, once per request, in every turn.
fn check_replies() {
    for (name, _, reply) in REQUESTS {
        for (pipeline, keys) in [1, 16]
            .into_iter()
            .flat_map(|p| [(p, Keys::Local), (p, Keys::Shared)])
        {
            let written = run(name, 10, pipeline, keys);
            assert_eq!(
                written,
                10 * pipeline * reply.len(),
                "{name} -P {pipeline} {keys:?}"
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|arg| arg == flag);
    if let [count, name, turns, pipeline, keys @ ..] = &args[..]
        && count == "count"
    {
        let turns = turns.parse().expect("TURNS is a number");
        let pipeline = pipeline.parse().expect("PIPELINE is a number");
        let keys = match keys {
            [] => Keys::Local,
            [shared] if shared == "shared" => Keys::Shared,
            _ => panic!("the key space is `shared` or left out, not {keys:?}"),
        };
        println!("{} bytes written", run(name, turns, pipeline, keys));
    } else if has("--list") {
        if !has("--ignored") {
            println!("replies_are_correct: test");
        }
    } else if has("--bench") {
        check_replies();
        for (name, ..) in REQUESTS {
            for pipeline in [1, 16] {
                let turns = 200_000 / pipeline;
                let started = Instant::now();
                run(name, turns, pipeline, Keys::Local);
                let per_request = started.elapsed().as_nanos() as f64 / 200_000.0;
                println!("{name:<12} -P {pipeline:<3} {per_request:8.1} ns/request");
            }
        }
    } else {
        check_replies();
        println!("replies_are_correct: every request got its reply");
    }
}
