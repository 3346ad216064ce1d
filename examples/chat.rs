//! Chat server: every line a client sends (`\n`-terminated, an optional `\r` stripped) goes to
//! every connected client as `LINE\n`, the sender included. A line over the read limit closes
//! only its sender; with `--idle-timeout SECONDS`, a client silent both ways for that long is
//! closed. Try it with a few `nc 127.0.0.1 7001`.
//!
//! With `--threads N`, each of the N engines broadcasts a line to its own clients and relays it
//! to the other engines, which broadcast it to theirs: every client still receives every line
//! once, whatever engine serves it.
//!
//! `cargo run --release --example chat -- --listen 127.0.0.1:7001`

mod common;

use pants::StreamConfig;
use pants_protocols::Chat;
use pants_protocols::chat::Room;

fn main() -> std::io::Result<()> {
    let args = common::args("chat", "127.0.0.1:7001");
    if args.threads > 1 {
        let room = Room::new(args.threads);
        return common::serve_group(&args, move |cx, place| {
            let group = place.member.group().clone();
            let post = move |engine, work| group.post(engine, work);
            let factory = room.factory(place.member.index(), post);
            cx.listen_with(place.server(factory, StreamConfig::default()))
        });
    }
    common::serve(&args, |cx| {
        cx.listen_with(args.server(Chat::factory(), StreamConfig::default()))
    })
}
