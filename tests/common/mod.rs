//! Running an engine on a background thread, with any driver, for the cross-crate suites.
#![allow(dead_code, unreachable_pub)]

use std::io;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use pants::EngineContext;

/// How long any blocking step of a test may take before the test fails.
pub const STEP: Duration = Duration::from_secs(20);

/// The drivers the conformance suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Mio,
}

/// An engine running on its own thread.
pub struct Running {
    stop: Box<dyn FnOnce() + Send>,
    thread: JoinHandle<io::Result<()>>,
}

impl Running {
    /// Asks the engine to stop gracefully and waits (bounded) for its thread.
    pub fn stop(self) {
        (self.stop)();
        let deadline = std::time::Instant::now() + STEP;
        while !self.thread.is_finished() {
            assert!(
                std::time::Instant::now() < deadline,
                "engine did not stop within {STEP:?}"
            );
            thread::sleep(Duration::from_millis(5));
        }
        self.thread
            .join()
            .expect("engine thread panicked")
            .expect("engine failed");
    }
}

/// Starts an engine on `driver` in a new thread, runs `setup` on it (open channels there),
/// and returns what `setup` returned.
pub fn start<R: Send + 'static>(
    driver: Driver,
    setup: impl FnOnce(&mut EngineContext<'_>) -> R + Send + 'static,
) -> (Running, R) {
    let (tx, rx) = mpsc::channel();
    let thread = match driver {
        Driver::Mio => thread::spawn(move || {
            let mut engine = pants::Engine::new()?;
            let result = setup(&mut engine.context());
            let handle = engine.handle();
            tx.send((
                result,
                Box::new(move || handle.stop()) as Box<dyn FnOnce() + Send>,
            ))
            .expect("test is waiting");
            engine.run()
        }),
    };
    let (result, stop) = rx.recv_timeout(STEP).expect("engine started");
    (Running { stop, thread }, result)
}

/// A small deterministic generator for test data and chunk sizes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
