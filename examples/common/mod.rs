//! What every example server shares: its command line, the choice of driver, and a graceful
//! stop on SIGINT or SIGTERM.
//!
//! `cargo run --release --example NAME -- [--driver mio|smol] [--threads N] [--listen ADDR]
//! [--root DIR] [--idle-timeout SECONDS] [--header-timeout SECONDS] [--tls]
//! [--cert FILE --key FILE]`, where ADDR is `HOST:PORT`, `[V6]:PORT` or `unix:PATH`
//! (`unixgram:PATH` for datagram servers); port 0 picks a free port. When ready, a server prints
//! exactly one line, `listening on ADDR`, with the real address, in the form `--listen` takes.
//!
//! TLS (stream servers): `--tls` serves every connection over TLS, with the certificate chain
//! and key of `--cert` and `--key` (PEM files); without them, a self-signed certificate for
//! `localhost`, 127.0.0.1 and ::1 is made at start and written to a temporary directory,
//! which is said on stderr (`certificate: PATH`), for a client to trust.
//!
//! Timeouts (seconds, fractions allowed, `0` for none): `--idle-timeout` closes a connection
//! after that long with nothing received or sent (stream servers; default none, as Redis'
//! `timeout 0`); `--header-timeout` answers `408` and closes when a request head takes longer
//! than that (http; default 60, as nginx's `client_header_timeout`). The README's "Limits and
//! timeouts" says why.
//!
//! `--threads N` (default 1) runs the server on a group of N engines, one per thread, all
//! listening on one TCP port (the kernel spreads the connections), for the examples that
//! support it (`resp`, `chat`, `echo`); at exit each engine's count of accepted connections
//! is printed on stderr. With one thread the server runs on the main thread, as always.
#![allow(dead_code)]

use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::exit;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pants::mio::{GroupBuilder, GroupEngine};
use pants::signal::{SIGINT, SIGTERM};
use pants::{
    Addr, ChannelId, EngineContext, Handler, IntoAddr, Listen, Member, StreamConfig, TlsServer,
};
use pants_protocols::http::HttpConfig;

/// Which driver runs the example's engine (`--driver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// `mio` (the default).
    Mio,
    /// `smol`: the engine as a task on smol's executor.
    Smol,
}

/// An example's command line.
#[derive(Clone)]
pub struct Args {
    /// `--driver`: the driver.
    pub driver: Driver,
    /// `--threads`: how many engines (threads) serve, at least 1.
    pub threads: usize,
    /// `--listen`: where to listen.
    pub listen: String,
    /// `--root`: the directory files are served from (http).
    pub root: Option<PathBuf>,
    /// `--idle-timeout`: how long a connection may receive and send nothing (`None`: for ever).
    pub idle_timeout: Option<Duration>,
    /// `--header-timeout`: how long a request head may take to arrive whole (http).
    pub header_timeout: Option<Duration>,
    /// `--tls` (with `--cert` and `--key`, or a self-signed certificate): the TLS every
    /// connection speaks.
    pub tls: Option<TlsServer>,
}

impl Args {
    /// A server at `--listen` with connections from `factory`, on `config` with the idle
    /// timeout of `--idle-timeout`.
    pub fn server<H: Handler>(
        &self,
        factory: impl FnMut() -> H + 'static,
        config: StreamConfig,
    ) -> Listen {
        self.server_at(self.listen.as_str(), factory, config)
    }

    /// As [`server`](Self::server), at `addr`.
    pub fn server_at<H: Handler>(
        &self,
        addr: impl IntoAddr,
        factory: impl FnMut() -> H + 'static,
        config: StreamConfig,
    ) -> Listen {
        let config = StreamConfig {
            idle_timeout: self.idle_timeout,
            ..config
        };
        let listen = Listen::new(addr, factory).stream_config(config);
        match &self.tls {
            Some(tls) => listen.tls(tls.clone()),
            None => listen,
        }
    }

    /// `--listen` as an address: `unixgram:PATH` (a Unix datagram socket) is `unix:PATH`.
    pub fn listen_addr(&self) -> io::Result<Addr> {
        match self.listen.strip_prefix("unixgram:") {
            Some(path) => Ok(Addr::Unix(path.into())),
            None => Ok(self.listen.parse()?),
        }
    }

    /// `addr` as `--listen` takes it: `Addr` shows every Unix socket as `unix:PATH`, but a
    /// datagram server asked for `unixgram:PATH` takes that back.
    pub fn shown(&self, addr: &Addr) -> String {
        match addr {
            Addr::Unix(path) if self.listen.starts_with("unixgram:") => {
                format!("unixgram:{}", path.display())
            }
            _ => addr.to_string(),
        }
    }
}

/// Parses the command line, with `default_listen` when `--listen` is not given. Exits with a
/// usage message on anything else.
pub fn args(name: &str, default_listen: &str) -> Args {
    parse(name, default_listen, false)
}

/// [`args`] for a server that always speaks TLS (`--tls` is implied).
pub fn tls_args(name: &str, default_listen: &str) -> Args {
    parse(name, default_listen, true)
}

fn parse(name: &str, default_listen: &str, always_tls: bool) -> Args {
    let usage = || -> ! {
        eprintln!(
            "usage: {name} [--driver mio|smol] [--threads N] [--listen ADDR] [--root DIR] \
             [--idle-timeout SECONDS] [--header-timeout SECONDS] [--tls] \
             [--cert FILE --key FILE]"
        );
        exit(2)
    };
    let mut args = Args {
        driver: Driver::Mio,
        threads: 1,
        listen: default_listen.to_owned(),
        root: None,
        idle_timeout: None,
        header_timeout: Some(HttpConfig::DEFAULT_HEADER_TIMEOUT),
        tls: None,
    };
    let (mut tls, mut cert, mut key) = (always_tls, None, None);
    let timeout = |value: &str| match value.parse::<f64>().map(Duration::try_from_secs_f64) {
        Ok(Ok(Duration::ZERO)) => None,
        Ok(Ok(timeout)) => Some(timeout),
        _ => usage(),
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        if flag == "--tls" {
            tls = true;
            continue;
        }
        let value = argv.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--listen" => args.listen = value,
            "--root" => args.root = Some(PathBuf::from(value)),
            "--idle-timeout" => args.idle_timeout = timeout(&value),
            "--header-timeout" => args.header_timeout = timeout(&value),
            "--cert" => cert = Some(PathBuf::from(value)),
            "--key" => key = Some(PathBuf::from(value)),
            "--driver" if value == "mio" => args.driver = Driver::Mio,
            "--driver" if value == "smol" => args.driver = Driver::Smol,
            "--threads" => match value.parse() {
                Ok(threads) if threads >= 1 => args.threads = threads,
                _ => usage(),
            },
            _ => usage(),
        }
    }
    args.tls = match (tls || cert.is_some(), cert, key) {
        (false, ..) => None,
        (true, Some(cert), Some(key)) => Some(TlsServer::from_pem_files(cert, key)),
        (true, None, None) => Some(self_signed()),
        _ => usage(), // a certificate without its key, or a key alone
    }
    .map(|tls| {
        tls.unwrap_or_else(|err| {
            eprintln!("{name}: TLS: {err}");
            exit(1)
        })
    });
    args
}

/// A self-signed certificate for `localhost`, 127.0.0.1 and ::1, written to a temporary
/// directory (said on stderr, for clients to trust), and a server with it.
fn self_signed() -> io::Result<TlsServer> {
    let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    let made = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    let dir = std::env::temp_dir().join(format!("pants-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, made.cert.pem())?;
    // The private key is readable by its owner only, as openssl and certbot write keys.
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&key)?
        .write_all(made.signing_key.serialize_pem().as_bytes())?;
    eprintln!("certificate: {}", cert.display());
    TlsServer::from_pem_files(cert, key)
}

/// Opens the example's channel with `open` on the driver `args` names, prints
/// `listening on ADDR` (in the form `--listen` takes), and runs until SIGINT or SIGTERM, then
/// shuts down gracefully (a second signal closes everything at once). One engine, on this
/// thread: refused with `--threads` over 1 (see [`serve_group`]).
pub fn serve(
    args: &Args,
    open: impl FnOnce(&mut EngineContext<'_>) -> io::Result<ChannelId>,
) -> io::Result<()> {
    if args.threads != 1 {
        let message = "this example runs on one engine: --threads 1";
        return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
    }
    // Signals are caught by the loop itself (a second thread would make every socket call
    // dearer), and before `listening on` is printed: whoever reads it may signal at once.
    match args.driver {
        Driver::Mio => {
            let mut engine = pants::Engine::new()?;
            engine.stop_on_signals(&[SIGINT, SIGTERM])?;
            announce(args, engine.context(), open)?;
            engine.run()
        }
        Driver::Smol => {
            let mut engine = pants::smol::Engine::new()?;
            engine.stop_on_signals(&[SIGINT, SIGTERM])?;
            announce(args, engine.context(), open)?;
            smol::block_on(engine.run())
        }
    }
}

/// Opens the channel and prints `listening on ADDR` with its real address.
fn announce(
    args: &Args,
    mut cx: EngineContext<'_>,
    open: impl FnOnce(&mut EngineContext<'_>) -> io::Result<ChannelId>,
) -> io::Result<()> {
    let id = open(&mut cx)?;
    let addr = cx
        .channel(id)
        .and_then(|channel| channel.local())
        .ok_or_else(|| io::Error::other("no local address"))?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on {}", args.shown(&addr))?;
    stdout.flush()
}

/// Runs the example on a group of `--threads` engines of the driver `args` names: each opens
/// its listener with `open`, given its [`Place`] (engine 0 first, whose port the others share),
/// then `listening on ADDR` is printed, and the group runs until SIGINT or SIGTERM (each
/// engine stops gracefully; a second signal closes everything at once). At exit, each engine's
/// count of accepted connections is printed on stderr:
/// `accepted connections by engine: 27 23`.
pub fn serve_group(
    args: &Args,
    open: impl Fn(&mut EngineContext<'_>, &Place<'_>) -> io::Result<ChannelId> + Send + Sync + 'static,
) -> io::Result<()> {
    match args.driver {
        Driver::Mio => run_group(pants::mio::Group::builder(args.threads), args, open),
        Driver::Smol => run_group(pants::smol::Group::builder(args.threads), args, open),
    }
}

/// One engine of a group, while its listener opens.
pub struct Place<'a> {
    /// Where to listen: `--listen`, with engine 0's port from the second engine on.
    pub addr: Addr,
    /// The engine's place in the group: its index, and the group's handle.
    pub member: &'a Member,
    args: &'a Args,
    accepted: &'a Arc<[Count]>,
}

impl Place<'_> {
    /// The server [`Args::server`] makes, at this engine's address, its accepted connections
    /// counted.
    pub fn server<H: Handler>(
        &self,
        mut factory: impl FnMut() -> H + 'static,
        config: StreamConfig,
    ) -> Listen {
        let (accepted, engine) = (self.accepted.clone(), self.member.index());
        let counted = move || {
            accepted[engine].0.fetch_add(1, Ordering::Relaxed);
            factory()
        };
        self.args.server_at(self.addr.clone(), counted, config)
    }
}

/// One engine's count of accepted connections, on a cache line of its own: engines never
/// write the same line.
#[derive(Default)]
#[repr(align(64))]
struct Count(AtomicUsize);

fn run_group<E: GroupEngine>(
    builder: GroupBuilder<E>,
    args: &Args,
    open: impl Fn(&mut EngineContext<'_>, &Place<'_>) -> io::Result<ChannelId> + Send + Sync + 'static,
) -> io::Result<()> {
    let counts: Arc<[Count]> = (0..args.threads).map(|_| Count::default()).collect();
    let (accepted, shared) = (counts.clone(), args.clone());
    let group = builder.stop_on_signals(&[SIGINT, SIGTERM]).listen_with(
        args.listen_addr()?,
        move |cx, addr, member| {
            let place = Place {
                addr,
                member,
                args: &shared,
                accepted: &accepted,
            };
            open(cx, &place)
        },
    )?;
    let addr = group
        .local_addr()
        .ok_or_else(|| io::Error::other("no local address"))?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on {}", args.shown(addr))?;
    stdout.flush()?;
    drop(stdout);
    let result = group.join();
    let accepted: Vec<String> = counts
        .iter()
        .map(|count| count.0.load(Ordering::Relaxed).to_string())
        .collect();
    eprintln!("accepted connections by engine: {}", accepted.join(" "));
    result
}
