//! What every example server shares: its command line, the choice of driver, and a graceful
//! stop on SIGINT or SIGTERM.
//!
//! `cargo run --release --example NAME -- [--driver mio|smol] [--listen ADDR] [--root DIR]
//! [--idle-timeout SECONDS] [--header-timeout SECONDS]`, where ADDR is `HOST:PORT`,
//! `[V6]:PORT` or `unix:PATH` (`unixgram:PATH` for datagram servers); port 0 picks a free
//! port. When ready, a server prints exactly one line, `listening on ADDR`, with the real
//! address, in the form `--listen` takes.
//!
//! Timeouts (seconds, fractions allowed, `0` for none): `--idle-timeout` closes a connection
//! after that long with nothing received or sent (stream servers; default none, as Redis'
//! `timeout 0`); `--header-timeout` answers `408` and closes when a request head takes longer
//! than that (http; default 60, as nginx's `client_header_timeout`). The README's "Limits and
//! timeouts" says why.
#![allow(dead_code)]

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::exit;
use std::time::Duration;

use pants::signal::{SIGINT, SIGTERM};
use pants::{Addr, ChannelId, EngineContext, Handler, Listen, StreamConfig};
use pants_protocols::http::HttpConfig;

/// An example's command line.
pub struct Args {
    /// `--listen`: where to listen.
    pub listen: String,
    /// `--root`: the directory files are served from (http).
    pub root: Option<PathBuf>,
    /// `--idle-timeout`: how long a connection may receive and send nothing (`None`: for ever).
    pub idle_timeout: Option<Duration>,
    /// `--header-timeout`: how long a request head may take to arrive whole (http).
    pub header_timeout: Option<Duration>,
}

impl Args {
    /// A server at `--listen` with connections from `factory`, on `config` with the idle
    /// timeout of `--idle-timeout`.
    pub fn server<H: Handler>(
        &self,
        factory: impl FnMut() -> H + 'static,
        config: StreamConfig,
    ) -> Listen {
        let config = StreamConfig {
            idle_timeout: self.idle_timeout,
            ..config
        };
        Listen::new(self.listen.as_str(), factory).stream_config(config)
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
/// usage message on anything else, and when a driver other than mio is asked for.
pub fn args(name: &str, default_listen: &str) -> Args {
    let usage = || -> ! {
        eprintln!(
            "usage: {name} [--driver mio|smol] [--listen ADDR] [--root DIR] \
             [--idle-timeout SECONDS] [--header-timeout SECONDS]"
        );
        exit(2)
    };
    let mut args = Args {
        listen: default_listen.to_owned(),
        root: None,
        idle_timeout: None,
        header_timeout: Some(HttpConfig::DEFAULT_HEADER_TIMEOUT),
    };
    let timeout = |value: &str| match value.parse::<f64>().map(Duration::try_from_secs_f64) {
        Ok(Ok(Duration::ZERO)) => None,
        Ok(Ok(timeout)) => Some(timeout),
        _ => usage(),
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let value = argv.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--listen" => args.listen = value,
            "--root" => args.root = Some(PathBuf::from(value)),
            "--idle-timeout" => args.idle_timeout = timeout(&value),
            "--header-timeout" => args.header_timeout = timeout(&value),
            "--driver" if value == "mio" => {}
            "--driver" if value == "smol" => {
                eprintln!("{name}: the smol driver is not built yet; use --driver mio");
                exit(2)
            }
            _ => usage(),
        }
    }
    args
}

/// Opens the example's channel with `open`, prints `listening on ADDR` (in the form `--listen`
/// takes), and runs until SIGINT or SIGTERM, then shuts down gracefully.
pub fn serve(
    args: &Args,
    open: impl FnOnce(&mut EngineContext<'_>) -> io::Result<ChannelId>,
) -> io::Result<()> {
    let mut engine = pants::Engine::new()?;
    // Caught by the loop itself (a second thread would make every socket call dearer), and
    // before the line below: whoever reads it may signal at once.
    engine.stop_on_signals(&[SIGINT, SIGTERM])?;
    let id = open(&mut engine.context())?;
    let addr = engine
        .local_addr(id)
        .ok_or_else(|| io::Error::other("no local address"))?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on {}", args.shown(&addr))?;
    stdout.flush()?;
    drop(stdout);
    engine.run()
}
