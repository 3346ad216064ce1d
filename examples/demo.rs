//! A chat server and three chat clients on real loopback sockets, in one process: each client
//! says hello, hears everyone (itself included), and leaves; then the engine stops.
//!
//! Run it with `cargo run --release --example demo`.

use std::cell::Cell;
use std::rc::Rc;

use pants::{ChannelId, Context, Engine, Frame, Handler};
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

fn main() -> std::io::Result<()> {
    let mut engine = Engine::new()?;
    let server = engine.listen("127.0.0.1:0", Chat::factory())?;
    let addr = engine
        .local_addr(server)
        .expect("a listener has an address");
    println!("chat server listening on {addr} (mio driver, real sockets)");
    let left = Rc::new(Cell::new(0));
    for name in NAMES {
        let client = Client {
            name,
            heard: 0,
            left: left.clone(),
            server,
        };
        engine.connect(&addr, client)?;
    }
    engine.run()?;
    println!("done: {} channels left open", engine.channel_count());
    Ok(())
}
