//! A stream's sense of time: the latest time an input brought, and when bytes last moved.

use std::time::{Duration, Instant};

/// A stream's times in 32 bytes rather than three `Instant`s' 48: the latest time given with
/// an input (`now`), and how long before it bytes last moved, in nanoseconds. `read_age` counts
/// from when bytes last arrived (or reading resumed, or the stream connected): read idle counts
/// from there; `write_age` from when the socket last took bytes (or the stream was made,
/// connected, or began closing): write idle, the connect timeout and the linger count from
/// there. (Every stream holds one: 8 bytes fewer here are 8 fewer per idle connection.)
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    now: Instant,
    read_age: u64,
    write_age: u64,
}

impl Clock {
    pub(super) fn new(now: Instant) -> Self {
        Self {
            now,
            read_age: 0,
            write_age: 0,
        }
    }

    /// Moves `now` forward to `at` (never back).
    pub(super) fn advance(&mut self, at: Instant) {
        // The inputs of one turn carry one time: from the second on, a comparison of a few
        // instructions says that it has not moved, where the subtraction costs about 50.
        // (benches/engine_instructions.sh, whose turns all carry one time, counts 106 fewer
        // per `SET -P 1` turn, the read's and the write's; where the time moves between
        // turns, the write's.)
        if at <= self.now {
            return;
        }
        let passed = at.duration_since(self.now);
        // 2^64 ns is 584 years.
        let nanos = u64::try_from(passed.as_nanos()).unwrap_or(u64::MAX);
        self.now = at;
        self.read_age = self.read_age.saturating_add(nanos);
        self.write_age = self.write_age.saturating_add(nanos);
    }

    /// Bytes arrived (or reading resumed) now.
    pub(super) fn touch_read(&mut self) {
        self.read_age = 0;
    }

    /// The socket took bytes (or closing began) now.
    pub(super) fn touch_write(&mut self) {
        self.write_age = 0;
    }

    pub(super) fn now(&self) -> Instant {
        self.now
    }

    pub(super) fn last_read(&self) -> Instant {
        self.before_now(self.read_age)
    }

    pub(super) fn last_write(&self) -> Instant {
        self.before_now(self.write_age)
    }

    /// `nanos` before `now`; never before the stream was made, which was a valid `Instant`.
    fn before_now(&self, nanos: u64) -> Instant {
        self.now
            .checked_sub(Duration::from_nanos(nanos))
            .unwrap_or(self.now)
    }
}
