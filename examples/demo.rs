//! A chat server and three chat clients on real loopback sockets, in one process: each client
//! says hello, hears everyone (itself included), and leaves; then the engine stops.
//!
//! Run it with `cargo run --release --example demo`, or on the smol driver with
//! `cargo run --release --example demo -- --driver smol` (the command line of the other
//! examples: `--listen ADDR` too, by default a free port on 127.0.0.1).

mod common;

use std::cell::Cell;
use std::io;
use std::rc::Rc;

use pants::{ChannelId, Context, Frame, Handler};
use pants_protocols::Chat;

const NAMES: [&str; 3] = ["alice", "bob", "carol"];

/// A chat client: greets on connect, prints what it hears, leaves after hearing everyone.
struct Client {
    name: &'static str,
    heard: usize,
    left: Rc<Cell<usize>>,
    server: ChannelId,
}

impl Handler for Client {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        println!(
            "{:>5} connected from {}",
            self.name,
            cx.local().map(|a| a.to_string()).unwrap_or_default()
        );
        cx.set_read_delimiter("\n").expect("a valid delimiter");
        cx.write(format!("hello from {}\n", self.name))
            .expect("room in the queue");
    }

    fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
        println!("{:>5} heard: {}", self.name, String::from_utf8_lossy(&line));
        self.heard += 1;
        if self.heard == NAMES.len() {
            cx.close();
        }
    }

    fn on_close(&mut self, cx: &mut Context<'_>) {
        println!("{:>5} left", self.name);
        self.left.set(self.left.get() + 1);
        if self.left.get() == NAMES.len() {
            println!("everyone heard everyone: closing the server");
            cx.channel(self.server).expect("the server is open").close();
            cx.stop();
        }
    }
}

fn main() -> io::Result<()> {
    let args = common::args("demo", "127.0.0.1:0");
    let (addr, driver) = (args.listen_addr()?, args.driver);
    common::serve(&args, |cx| {
        let server = cx.listen(addr, Chat::factory())?;
        let addr = cx
            .channel(server)
            .and_then(|server| server.local())
            .ok_or_else(|| io::Error::other("a listener has an address"))?;
        let driver = format!("{driver:?}").to_lowercase();
        println!("chat server on {addr} ({driver} driver, real sockets)");
        let left = Rc::new(Cell::new(0));
        for name in NAMES {
            let client = Client {
                name,
                heard: 0,
                left: left.clone(),
                server,
            };
            cx.connect(&addr, client)?;
        }
        Ok(server)
    })?;
    println!("done: the engine stopped");
    Ok(())
}
