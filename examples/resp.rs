//! A small Redis-compatible server (RESP2, inline and multibulk commands): PING, ECHO, SET,
//! GET, DEL, EXISTS, INCR, DBSIZE, FLUSHALL, QUIT and enough CONFIG GET for redis-benchmark.
//! It frames requests the way Pants' HTTP server does: a header line, then a count per bulk.
//! With `--idle-timeout SECONDS`, a client silent both ways for that long is closed, as with
//! Redis' `timeout` (off by default, there as here).
//!
//! With `--threads N`, N engines share one key space (a `SET` through any connection is seen by
//! a `GET` through any other), behind a lock that only commands on keys take; with one, the key
//! space is the engine's own, without a lock.
//!
//! `cargo run --release --example resp -- --listen 127.0.0.1:6380`, then `redis-cli -p 6380`.

mod common;

use pants_protocols::resp;

fn main() -> std::io::Result<()> {
    let args = common::args("resp", "127.0.0.1:6380");
    if args.threads > 1 {
        let keys = resp::SharedDb::new();
        return common::serve_group(&args, move |cx, place| {
            cx.listen_with(place.server(resp::factory(keys.db()), resp::stream_config()))
        });
    }
    let factory = resp::factory(resp::Db::default());
    common::serve(&args, |cx| {
        cx.listen_with(args.server(factory, resp::stream_config()))
    })
}
