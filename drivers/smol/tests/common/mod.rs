//! What the smol driver's tests share: the bound on every wait, and running an engine beside
//! an executor's tasks until something holds.

#![allow(dead_code)] // each test file uses its part

use std::time::{Duration, Instant};

use pants_smol::Engine;

/// The bound on every wait.
pub const STEP: Duration = Duration::from_secs(10);

/// Runs `engine` beside `executor`'s tasks until `done` holds (checked every millisecond),
/// then drops the run future.
pub fn run_until(
    executor: &smol::LocalExecutor<'_>,
    engine: &mut Engine,
    mut done: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + STEP;
    let until = async {
        while !done() {
            assert!(Instant::now() < deadline, "timed out");
            smol::Timer::after(Duration::from_millis(1)).await;
        }
        Ok(())
    };
    smol::block_on(executor.run(smol::future::or(engine.run(), until))).expect("run");
}

/// Runs `executor` until `task` finished (at most [`STEP`], else the test fails saying
/// `still`); what it gave.
pub fn finish<T>(executor: &smol::LocalExecutor<'_>, task: smol::Task<T>, still: &str) -> T {
    let deadline = Instant::now() + STEP;
    smol::block_on(executor.run(async {
        while !task.is_finished() {
            assert!(Instant::now() < deadline, "{still} after {STEP:?}");
            smol::Timer::after(Duration::from_millis(1)).await;
        }
        task.await
    }))
}
