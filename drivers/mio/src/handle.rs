//! A `Send + Clone` handle through which other threads post work into the event loop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use mio::Waker;
use pants_core::EngineContext;

/// Work posted from another thread, run on the loop with the engine's context.
pub(crate) type Posted = Box<dyn FnOnce(&mut EngineContext<'_>) + Send>;

pub(crate) struct Shared {
    pub(crate) waker: Arc<Waker>,
    pub(crate) posted: Mutex<Vec<Posted>>,
    pub(crate) stop: AtomicBool,
}

/// Reaches a running [`Engine`](crate::Engine) from other threads: post closures into its
/// loop, or ask it to stop. Cheap to clone.
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// let mut engine = pants_mio::Engine::new()?;
/// let handle = engine.handle();
/// std::thread::spawn(move || {
///     handle.post(|cx| println!("running on the loop at {:?}", cx.now()));
///     handle.stop();
/// });
/// engine.run()
/// # }
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// Runs `work` on the loop thread, at its next turn.
    pub fn post(&self, work: impl FnOnce(&mut EngineContext<'_>) + Send + 'static) {
        self.shared
            .posted
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(Box::new(work));
        let _ = self.shared.waker.wake();
    }

    /// Asks the loop to shut down gracefully (see [`Engine::stop`](crate::Engine::stop)).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        let _ = self.shared.waker.wake();
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}
