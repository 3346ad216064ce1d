//! Starting a group: each engine is built on its own thread, then set up (engine 0 first,
//! then the others in order), then run there until it ends.
//!
//! ```text
//!   start()                          thread i
//!     │ spawn ──────────────────────>  build the engine, catch the signals
//!     │ <──────────── built: handle ─  (or the error)
//!     │   (all built: the group's handle)
//!     │ go: member, setup ──────────>  setup(cx, member)
//!     │ <─────────── done: result ───  then run until the engine ends;
//!     │   (next engine)                an error or a panic stops the group
//! ```
//!
//! A failure while starting (an engine not built, a setup that fails or panics) stops what
//! runs, lets the threads still waiting end, joins every thread, and is returned.

use std::any::Any;
use std::ffi::c_int;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use pants_core::{EngineConfig, EngineContext};

use super::{GroupEngine, GroupHandle, Member};
use crate::handle::Handle;

/// A setup, run on each engine before it runs.
pub(super) type Setup = dyn Fn(&mut EngineContext<'_>, &Member) -> io::Result<()> + Send + Sync;

/// The first error of the group's engines, once they run.
#[derive(Default)]
pub(super) struct Outcome {
    first: Mutex<Option<io::Error>>,
}

impl Outcome {
    /// Engine `engine` failed with `err`: kept if it is the first failure.
    pub(super) fn fail(&self, engine: usize, err: io::Error) {
        let mut first = self.lock();
        if first.is_none() {
            *first = Some(of_engine(engine, err));
        }
    }

    /// The first failure, if any.
    pub(super) fn take(&self) -> io::Result<()> {
        self.lock().take().map_or(Ok(()), Err)
    }

    fn lock(&self) -> MutexGuard<'_, Option<io::Error>> {
        self.first.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One engine's thread, while the group starts.
pub(super) struct Starting {
    thread: JoinHandle<()>,
    built: Receiver<io::Result<Handle>>,
    go: Sender<Go>,
}

/// What an engine needs to be set up.
struct Go {
    member: Member,
    setup: Arc<Setup>,
    done: Sender<io::Result<()>>,
}

impl Starting {
    /// Starts engine `index`'s thread, which builds the engine with `config` and has it catch
    /// `signals`.
    pub(super) fn spawn<E: GroupEngine>(
        index: usize,
        config: EngineConfig,
        signals: Arc<[c_int]>,
        outcome: Arc<Outcome>,
    ) -> io::Result<Self> {
        let (built_tx, built) = channel();
        let (go, go_rx) = channel();
        let thread = thread::Builder::new()
            .name(format!("pants-engine-{index}"))
            .spawn(move || {
                engine_thread::<E>(index, config, &signals, built_tx, go_rx, &outcome);
            })
            .map_err(|err| of_engine(index, err))?;
        Ok(Self { thread, built, go })
    }

    /// Waits until the engine is built; its handle.
    pub(super) fn built(&self, index: usize) -> io::Result<Handle> {
        let built = self.built.recv().unwrap_or_else(|_| Err(ended()));
        built.map_err(|err| of_engine(index, err))
    }

    /// Runs `setup` on the engine as `member`, and waits for it to return.
    pub(super) fn set_up(&self, member: Member, setup: Arc<Setup>) -> io::Result<()> {
        let index = member.index();
        let (done, answer) = channel();
        let sent = self.go.send(Go {
            member,
            setup,
            done,
        });
        let result = match sent {
            Ok(()) => answer.recv().unwrap_or_else(|_| Err(ended())),
            Err(_) => Err(ended()),
        };
        result.map_err(|err| of_engine(index, err))
    }

    /// The thread, once the engine is set up and running.
    pub(super) fn into_thread(self) -> JoinHandle<()> {
        self.thread
    }
}

/// The group could not start with `err`: stops the engines already running (`group`, once
/// every engine was built), lets those still waiting for their setup end, and joins every
/// thread. Returns `err`.
pub(super) fn abandon(
    starting: Vec<Starting>,
    group: Option<&GroupHandle>,
    err: io::Error,
) -> io::Error {
    if let Some(group) = group {
        group.stop();
    }
    for Starting { thread, go, .. } in starting {
        drop(go);
        let _ = thread.join();
    }
    err
}

/// The body of engine `index`'s thread.
fn engine_thread<E: GroupEngine>(
    index: usize,
    config: EngineConfig,
    signals: &[c_int],
    built: Sender<io::Result<Handle>>,
    go: Receiver<Go>,
    outcome: &Outcome,
) {
    let engine = caught(|| {
        let mut engine = E::build(config)?;
        if !signals.is_empty() {
            engine.catch_signals(signals)?;
        }
        Ok(engine)
    });
    let mut engine = match engine {
        Ok(engine) => engine,
        Err(err) => {
            let _ = built.send(Err(err));
            return;
        }
    };
    if built.send(Ok(engine.handle())).is_err() {
        return;
    }
    // No message: the group gave up starting.
    let Ok(Go {
        member,
        setup,
        done,
    }) = go.recv()
    else {
        return;
    };
    let set_up = caught(|| setup(&mut engine.context(), &member));
    let failed = set_up.is_err();
    let _ = done.send(set_up);
    if failed {
        return;
    }
    if let Err(err) = caught(|| engine.run_here()) {
        outcome.fail(index, err);
        member.group().stop();
    }
}

/// Runs `work`, with a panic turned into an error.
fn caught<T>(work: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        Err(io::Error::other(format!(
            "panicked: {}",
            panic_message(&panic)
        )))
    })
}

/// What a panic said, when it said it with a string.
pub(super) fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// An engine's error, naming the engine (its kind kept).
pub(super) fn of_engine(engine: usize, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("engine {engine}: {err}"))
}

/// The thread ended without answering: only a panic outside the caught steps does that.
fn ended() -> io::Error {
    io::Error::other("its thread ended unexpectedly")
}
