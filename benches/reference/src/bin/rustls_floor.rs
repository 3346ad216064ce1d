//! What rustls itself holds per idle server session: the floor under any TLS server's memory
//! per idle connection (benches/tls.sh prints it beside the servers' resident memory).
//!
//! `--conns` (1,000) server sessions, each after a handshake with an in-memory client and one
//! 6-byte request and reply (as `idle_conns --request echo` makes), the clients dropped; the
//! heap still allocated, counted by this binary's allocator, per session, plus the session's
//! own size. Prints one line: `rustls: HEAP heap + INLINE inline = TOTAL bytes per idle server
//! session`.
//!
//! `rustls_floor --cert FILE --key FILE [--conns 1000]`

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::exit;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, Connection, ServerConnection};

/// The system allocator, counting the bytes allocated and not freed.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on unchanged to the system allocator; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let (cert, key, conns) = options();
    if let Err(err) = run(&cert, &key, conns) {
        eprintln!("rustls_floor: {err}");
        exit(1);
    }
}

fn run(cert: &str, key: &str, conns: usize) -> io::Result<()> {
    let server_config = pants_reference_bench::tls::server_config(Path::new(cert), Path::new(key))?;
    let client_config = pants_reference_bench::tls::client_config(Path::new(cert))?;
    let mut servers = Vec::with_capacity(conns);
    // One session first, so that what rustls allocates once per process is in the baseline.
    let mut warm = Vec::with_capacity(1);
    let name = ServerName::try_from("localhost").expect("a name");
    for list in [&mut warm, &mut servers] {
        let before = LIVE.load(Ordering::Relaxed);
        for _ in 0..list.capacity() {
            let client = ClientConnection::new(client_config.clone(), name.clone());
            let server = ServerConnection::new(server_config.clone());
            let mut client = Connection::from(client.map_err(io::Error::other)?);
            let mut server = Connection::from(server.map_err(io::Error::other)?);
            client.writer().write_all(b"idle?\n")?;
            let mut request = [0; 6];
            pump(&mut client, &mut server)?;
            server.reader().read_exact(&mut request)?;
            server.writer().write_all(&request)?;
            pump(&mut client, &mut server)?;
            client.reader().read_exact(&mut request)?;
            list.push(server);
        }
        let held = LIVE.load(Ordering::Relaxed) - before;
        if !list.is_empty() && list.len() == conns {
            let heap = held / conns;
            let inline = size_of::<ServerConnection>();
            println!(
                "rustls: {heap} heap + {inline} inline = {} bytes per idle server session",
                heap + inline
            );
        }
    }
    Ok(())
}

/// Moves records both ways until neither side has any to send.
fn pump(client: &mut Connection, server: &mut Connection) -> io::Result<()> {
    while send(client, server)? | send(server, client)? {}
    Ok(())
}

/// Moves the records `from` has to send into `to`; true when there were some.
fn send(from: &mut Connection, to: &mut Connection) -> io::Result<bool> {
    let mut records = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut records)?;
    }
    let mut rest = &records[..];
    while !rest.is_empty() {
        to.read_tls(&mut rest)?;
        to.process_new_packets().map_err(io::Error::other)?;
    }
    Ok(!records.is_empty())
}

fn options() -> (String, String, usize) {
    let usage = || -> ! {
        eprintln!("usage: rustls_floor --cert FILE --key FILE [--conns N]");
        exit(2)
    };
    let (mut cert, mut key, mut conns) = (None, None, 1000);
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let value = argv.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--cert" => cert = Some(value),
            "--key" => key = Some(value),
            "--conns" => conns = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    match (cert, key) {
        (Some(cert), Some(key)) if conns > 0 => (cert, key, conns),
        _ => usage(),
    }
}
