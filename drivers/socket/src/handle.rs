//! A `Send + Clone` handle through which other threads and tasks post work into an engine's
//! loop, ask it to stop, or call it and await the answer.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use pants_core::EngineContext;

use crate::resolver::Wake;

/// Work posted from another thread, run on the loop with the engine's context.
pub(crate) type Posted = Box<dyn FnOnce(&mut EngineContext<'_>) + Send>;

/// What handles leave for the loop, and how they wake it.
pub(crate) struct Inbox {
    mail: Mutex<Mail>,
    wake: Wake,
}

#[derive(Default)]
struct Mail {
    posted: Vec<Posted>,
    stop: bool,
    /// The engine is gone: work posted now is dropped at once.
    closed: bool,
}

impl Inbox {
    pub(crate) fn new(wake: Wake) -> Self {
        Self {
            mail: Mutex::default(),
            wake,
        }
    }

    /// The work posted since the last call, and whether a stop was asked.
    pub(crate) fn take(&self) -> (Vec<Posted>, bool) {
        let mut mail = self.lock();
        (
            std::mem::take(&mut mail.posted),
            std::mem::take(&mut mail.stop),
        )
    }

    /// The engine is dropped, or finished its stop: what was posted and not run is dropped
    /// (a pending [`Handle::call`] then fails), and so is whatever is posted later.
    pub(crate) fn close(&self) {
        let posted = {
            let mut mail = self.lock();
            mail.closed = true;
            std::mem::take(&mut mail.posted)
        };
        drop(posted);
    }

    fn lock(&self) -> MutexGuard<'_, Mail> {
        self.mail
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Reaches a running engine from other threads and tasks: post closures into its loop, call
/// it and await the answer, or ask it to stop. Cheap to clone; each driver's `handle()`
/// gives one (examples there).
#[derive(Clone)]
pub struct Handle {
    pub(crate) inbox: Arc<Inbox>,
}

impl Handle {
    /// Runs `work` on the loop, at its next turn. Dropped unrun if the engine is gone.
    pub fn post(&self, work: impl FnOnce(&mut EngineContext<'_>) + Send + 'static) {
        let mut mail = self.inbox.lock();
        if mail.closed {
            return;
        }
        mail.posted.push(Box::new(work));
        drop(mail);
        (self.inbox.wake)();
    }

    /// Runs `work` on the loop and returns a future of what it returns: for async code that
    /// needs something from the loop. The future runs on any executor, and fails
    /// (`BrokenPipe`) if the engine is dropped, or finishes its stop, before running `work`.
    pub fn call<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut EngineContext<'_>) -> R + Send + 'static,
    ) -> Call<R> {
        let answer = Arc::new(Mutex::new(Answer::Waiting(None)));
        let reply = Reply(answer.clone());
        self.post(move |cx| reply.send(work(cx)));
        Call { answer }
    }

    /// Asks the loop to shut down gracefully, as the engine's `stop` does.
    pub fn stop(&self) {
        self.inbox.lock().stop = true;
        (self.inbox.wake)();
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

/// The answer of a [`Handle::call`], once the loop has run it.
#[must_use = "a call's answer is only seen when awaited"]
pub struct Call<R> {
    answer: Arc<Mutex<Answer<R>>>,
}

enum Answer<R> {
    /// Not run yet; the waker of the task awaiting it.
    Waiting(Option<Waker>),
    Done(R),
    /// Dropped unrun (the engine is gone, or finished its stop), or already taken.
    Gone,
}

impl<R> Future for Call<R> {
    type Output = io::Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut answer = self.answer.lock().unwrap_or_else(|p| p.into_inner());
        match std::mem::replace(&mut *answer, Answer::Gone) {
            Answer::Done(value) => Poll::Ready(Ok(value)),
            Answer::Gone => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the engine was dropped, or had finished its stop, before it ran the call",
            ))),
            Answer::Waiting(_) => {
                *answer = Answer::Waiting(Some(cx.waker().clone()));
                Poll::Pending
            }
        }
    }
}

impl<R> std::fmt::Debug for Call<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call").finish_non_exhaustive()
    }
}

/// The loop's side of a call: answers it, or, dropped unrun, says it never will.
struct Reply<R>(Arc<Mutex<Answer<R>>>);

impl<R> Reply<R> {
    fn send(self, value: R) {
        self.settle(Answer::Done(value));
    }

    fn settle(&self, settled: Answer<R>) {
        let mut answer = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(*answer, Answer::Waiting(_)) {
            return;
        }
        if let Answer::Waiting(waker) = std::mem::replace(&mut *answer, settled) {
            drop(answer);
            waker.into_iter().for_each(Waker::wake);
        }
    }
}

impl<R> Drop for Reply<R> {
    fn drop(&mut self) {
        // After `send`, the answer is no longer waiting and this does nothing.
        self.settle(Answer::Gone);
    }
}
