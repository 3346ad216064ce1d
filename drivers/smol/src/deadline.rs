//! The engine's next deadline as one async-io timer, re-armed only when the deadline moves
//! earlier: a deadline that moved later makes an early wake-up, which is harmless (a turn
//! with nothing due), where a re-arm per request is not (each costs the reactor a timer
//! removal and insertion, and a notification).

use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::Instant;

use async_io::Timer;

pub(crate) struct Deadline {
    timer: Timer,
    /// When the timer fires, while it is set.
    armed: Option<Instant>,
}

impl Deadline {
    pub(crate) fn new() -> Self {
        Self {
            timer: Timer::never(),
            armed: None,
        }
    }

    /// Waits (with `cx`'s waker) for `at` at the latest; true when the timer fired.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>, at: Option<Instant>) -> bool {
        if let Some(at) = at
            && self.armed.is_none_or(|armed| at < armed)
        {
            self.timer.set_at(at);
            self.armed = Some(at);
        }
        if self.armed.is_some() && Pin::new(&mut self.timer).poll(cx).is_ready() {
            self.armed = None;
            return true;
        }
        false
    }
}
