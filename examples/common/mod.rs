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

/// Which driver runs the example's engine (`--driver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// `mio` (the default).
    Mio,
    /// `smol`: the engine as a task on smol's executor.
    Smol,
}

/// An example's command line.
pub struct Args {
    /// `--driver`: the driver.
    pub driver: Driver,
    /// `--listen`: where to listen.
    pub listen: String,
    /// `--root`: the directory files are served from (http).
    pub root: Option<PathBuf>,
}

/// Parses the command line, with `default_listen` when `--listen` is not given. Exits with a
/// usage message on anything else.
pub fn args(name: &str, default_listen: &str) -> Args {
    let usage = || -> ! {
        eprintln!("usage: {name} [--driver mio|smol] [--listen ADDR] [--root DIR]");
        exit(2)
    };
    let mut args = Args {
        driver: Driver::Mio,
        listen: default_listen.to_owned(),
        root: None,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let value = argv.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--listen" => args.listen = value,
            "--root" => args.root = Some(PathBuf::from(value)),
            "--driver" if value == "mio" => args.driver = Driver::Mio,
            "--driver" if value == "smol" => args.driver = Driver::Smol,
            _ => usage(),
        }
    }
    args
}

/// The driver the command line asks for (checked by [`args`]).
fn driver() -> Driver {
    let argv: Vec<String> = std::env::args().collect();
    match argv.windows(2).find(|pair| pair[0] == "--driver") {
        Some(pair) if pair[1] == "smol" => Driver::Smol,
        _ => Driver::Mio,
    }
}

/// Opens the example's channel with `open` on the driver the command line names, prints
/// `listening on ADDR`, and runs until SIGINT or SIGTERM, then shuts down gracefully (each
/// further signal asks the engine to stop again).
pub fn serve(open: impl FnOnce(&mut EngineContext<'_>) -> io::Result<ChannelId>) -> io::Result<()> {
    // Signals are caught by the loop itself (a second thread would make every socket call
    // dearer), and before `listening on` is printed: whoever reads it may signal at once.
    match driver() {
        Driver::Mio => {
            let mut engine = pants::Engine::new()?;
            engine.stop_on_signals(&[SIGINT, SIGTERM])?;
            announce(engine.context(), open)?;
            engine.run()
        }
        Driver::Smol => {
            let mut engine = pants::smol::Engine::new()?;
            engine.stop_on_signals(&[SIGINT, SIGTERM])?;
            announce(engine.context(), open)?;
            smol::block_on(engine.run())
        }
    }
}

/// Opens the channel and prints `listening on ADDR` with its real address.
fn announce(
    mut cx: EngineContext<'_>,
    open: impl FnOnce(&mut EngineContext<'_>) -> io::Result<ChannelId>,
) -> io::Result<()> {
    let id = open(&mut cx)?;
    let addr = cx
        .channel(id)
        .and_then(|channel| channel.local())
        .ok_or_else(|| io::Error::other("no local address"))?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on {addr}")?;
    stdout.flush()
}
