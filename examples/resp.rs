//! A small Redis-compatible server (RESP2, inline and multibulk commands): PING, ECHO, SET,
//! GET, DEL, EXISTS, INCR, DBSIZE, FLUSHALL, QUIT and enough CONFIG GET for redis-benchmark.
//! It frames requests the way Pants' HTTP server does: a header line, then a count per bulk.
//!
//! `cargo run --release --example resp -- --listen 127.0.0.1:6380`, then `redis-cli -p 6380`.

mod common;

use pants_protocols::resp;

fn main() -> std::io::Result<()> {
    let args = common::args("resp", "127.0.0.1:6380");
    common::serve(|cx| cx.listen_with(resp::listen(args.listen.as_str(), resp::Db::default())))
}
