//! The smol engine shares its thread: while it is busy with a flood of input, another task
//! on the same executor keeps making progress, because the engine's turns are bounded and
//! the engine task yields when work is left after one.

mod common;

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use common::{Client, STEP};
use pants::{Context, Frame, Handler};

/// Echoes every frame, pausing reads while its queue is above the high-water mark.
struct Echo;

impl Handler for Echo {
    fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
        if cx.write(data) == pants::Written::AboveHighWater {
            cx.pause_reading();
        }
    }
    fn on_write(&mut self, cx: &mut Context<'_>) {
        cx.resume_reading();
    }
}

/// Connections flooding the engine at once.
const FLOODERS: usize = 4;
/// Times the other task must run while the flood goes on.
const TICKS: u64 = 1000;
/// The most engine turns allowed between two runs of the other task.
const MOST_TURNS_BETWEEN_TICKS: u64 = 4;

/// What the executor's thread saw: the most engine turns between two ticks of the other
/// task, its ticks, and whether the flood was still on when it had them all.
type Seen = (u64, u64, bool);

#[test]
fn another_task_progresses_during_a_flood() {
    let (tx, rx) = mpsc::channel();
    // The engine is not `Send`: it lives in this thread, so that a starved executor fails
    // the test by its deadline instead of hanging it.
    let executor_thread = thread::spawn(move || {
        let _ = tx.send(flood_and_tick());
    });
    let (most_turns, ticks, still_flooding) = rx
        .recv_timeout(STEP * 2)
        .expect("the executor finished: another task starved would never let it");
    executor_thread.join().expect("the executor's thread");
    assert!(
        ticks == TICKS && still_flooding,
        "the other task ran {ticks} of {TICKS} times before the flood's deadline"
    );
    assert!(
        most_turns <= MOST_TURNS_BETWEEN_TICKS,
        "the engine ran {most_turns} turns in a row while another task waited"
    );
}

fn flood_and_tick() -> Seen {
    let flooding = Arc::new(AtomicBool::new(true));
    let echoed = Arc::new(AtomicU64::new(0));
    let executor = smol::LocalExecutor::new();
    let mut engine = pants::smol::Engine::new().expect("an engine");
    let server = engine.listen("127.0.0.1:0", || Echo).expect("listen");
    let addr = engine.local_addr(server).expect("an address");
    let handle = engine.handle();
    // The engine's turns, counted by a timer that runs at the start of every turn (it also
    // keeps the engine busy: it never waits while the timer lives).
    let turns = Rc::new(Cell::new(0u64));
    let counter = turns.clone();
    engine
        .context()
        .each_turn(move |_, _| counter.set(counter.get() + 1));

    // Each flooder writes 64 KiB chunks for as long as the test floods (at most STEP), and
    // a reader of its own counts the echo.
    let deadline = Instant::now() + STEP;
    let mut clients = Vec::new();
    for _ in 0..FLOODERS {
        let mut writer = Client::connect(&addr);
        let mut reader = writer.try_clone();
        let (flooding, echoed) = (flooding.clone(), echoed.clone());
        clients.push(thread::spawn(move || {
            let chunk = vec![b'x'; 64 * 1024];
            while flooding.load(Ordering::SeqCst) && Instant::now() < deadline {
                if writer.write_all(&chunk).is_err() {
                    // The engine stopped: a stop closes at once a connection with nothing
                    // queued, and this one's socket is gone.
                    return;
                }
            }
            writer.shutdown_write();
        }));
        clients.push(thread::spawn(move || {
            let mut buf = vec![0; 256 * 1024];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                echoed.fetch_add(n as u64, Ordering::SeqCst);
            }
        }));
    }

    // The other task: yields at every tick, so an engine that never yielded would starve
    // it; counts its ticks once the flood is on. A task of the executor, as the engine is
    // (the future `run` is given is polled less often than its tasks).
    let ticker = executor.spawn(async move {
        let (mut ticks, mut most_turns, mut last_turn) = (0, 0, None);
        while ticks < TICKS && Instant::now() < deadline {
            smol::future::yield_now().await;
            if echoed.load(Ordering::SeqCst) < 1 << 20 {
                continue;
            }
            ticks += 1;
            if let Some(last) = last_turn {
                most_turns = u64::max(most_turns, turns.get() - last);
            }
            last_turn = Some(turns.get());
        }
        let still_flooding = Instant::now() < deadline;
        flooding.store(false, Ordering::SeqCst);
        handle.stop();
        (most_turns, ticks, still_flooding)
    });
    let engine_task = executor.spawn(async move { engine.run().await });
    let seen = smol::block_on(executor.run(async {
        let seen = ticker.await;
        engine_task.await.expect("the engine ran");
        seen
    }));
    for client in clients {
        client.join().expect("a client thread");
    }
    seen
}
