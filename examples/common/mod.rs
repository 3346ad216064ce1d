//! What every example server shares: its command line, the choice of driver, and a graceful
//! stop on SIGINT or SIGTERM.
//!
//! `cargo run --release --example NAME -- [--driver mio|smol] [--listen ADDR] [--root DIR]`,
//! where ADDR is `HOST:PORT`, `[V6]:PORT` or `unix:PATH` (`unixgram:PATH` for datagram
//! servers); port 0 picks a free port. When ready, a server prints exactly one line,
//! `listening on ADDR`, with the real address.
#![allow(dead_code)]

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::exit;

use pants::signal::{SIGINT, SIGTERM};
use pants::{ChannelId, EngineContext};

/// An example's command line.
pub struct Args {
    /// `--listen`: where to listen.
    pub listen: String,
    /// `--root`: the directory files are served from (http).
    pub root: Option<PathBuf>,
}

/// Parses the command line, with `default_listen` when `--listen` is not given. Exits with a
/// usage message on anything else, and when a driver other than mio is asked for.
pub fn args(name: &str, default_listen: &str) -> Args {
    let usage = || -> ! {
        eprintln!("usage: {name} [--driver mio|smol] [--listen ADDR] [--root DIR]");
        exit(2)
    };
    let mut args = Args {
        listen: default_listen.to_owned(),
        root: None,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let value = argv.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--listen" => args.listen = value,
            "--root" => args.root = Some(PathBuf::from(value)),
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

/// Opens the example's channel with `open`, prints `listening on ADDR`, and runs until
/// SIGINT or SIGTERM, then shuts down gracefully.
pub fn serve(open: impl FnOnce(&mut EngineContext<'_>) -> io::Result<ChannelId>) -> io::Result<()> {
    let mut engine = pants::Engine::new()?;
    // Caught by the loop itself (a second thread would make every socket call dearer), and
    // before the line below: whoever reads it may signal at once.
    engine.stop_on_signals(&[SIGINT, SIGTERM])?;
    let id = open(&mut engine.context())?;
    let addr = engine
        .local_addr(id)
        .ok_or_else(|| io::Error::other("no local address"))?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on {addr}")?;
    stdout.flush()?;
    drop(stdout);
    engine.run()
}
