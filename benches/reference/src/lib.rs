//! What the reference servers and load clients of `benches/servers.sh` share: the RESP subset
//! both RESP servers speak (parsing and replies, on byte slices, no I/O), and the command line.
//!
//! The servers are the yardsticks pants' mio driver is measured against, so they are written as
//! carefully as we can: replies to pipelined commands go out in one write per read, and the
//! request path allocates nothing (`SET` of an existing key reuses its value's allocation).

pub mod mio_server;
pub mod resp;
pub mod smol_server;
pub mod tls;
pub mod tokio_server;

use std::io::Write;
use std::net::SocketAddr;
use std::process::exit;

/// Parses `--listen ADDR` (the only flag a server takes), with `default` when absent.
pub fn listen_arg(name: &str, default: &str) -> SocketAddr {
    let mut listen = default.to_owned();
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        match (flag.as_str(), argv.next()) {
            ("--listen", Some(addr)) => listen = addr,
            _ => {
                eprintln!("usage: {name} [--listen HOST:PORT]");
                exit(2)
            }
        }
    }
    listen.parse().unwrap_or_else(|err| {
        eprintln!("{name}: bad --listen address {listen:?}: {err}");
        exit(2)
    })
}

/// Prints `listening on ADDR` as pants' examples do, so the bench script can read the port.
pub fn announce(addr: SocketAddr) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on {addr}");
    let _ = stdout.flush();
}

/// Raises the soft limit on open files to the hard limit (and, as root, both to `want`);
/// returns the soft limit in force.
pub fn raise_nofile(want: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.maximum.is_some_and(|max| max < want) {
        let raised = Rlimit {
            current: Some(want),
            maximum: Some(want),
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return want;
        }
    }
    let soft = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    let _ = setrlimit(Resource::Nofile, soft);
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}
