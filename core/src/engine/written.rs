//! [`Written`]: what a handler's write did, quietly.

use crate::error::WriteError;
use crate::write_queue::WriteStatus;

/// What a write from a handler did: queued (and whether the producer should wait), or
/// refused and why.
///
/// It is not `#[must_use]`: most writes are replies whose refusal needs no handling where they
/// are written. A write over the queue's hard limit is also reported to `on_overflow_error`
/// (and the overflow policy applies), and a write to a channel that is closing or closed has
/// nowhere to go. A producer that streams checks [`should_wait`](Self::should_wait) (or waits
/// for `on_write`); code that wants the refusal as an error takes
/// [`into_result`](Self::into_result), and `?` from there.
///
/// ```
/// use pants_core::{Context, Frame, Handler};
///
/// struct Producer {
///     next: u64,
/// }
///
/// impl Handler for Producer {
///     fn on_connect(&mut self, cx: &mut Context<'_>) {
///         self.on_write(cx);
///     }
///
///     fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
///         cx.write(line); // a reply: nothing to check
///     }
///
///     fn on_write(&mut self, cx: &mut Context<'_>) {
///         // Stream until the queue is above its high-water mark; on_write comes when it
///         // drains.
///         while !cx.write(format!("{}\n", self.next)).should_wait() {
///             self.next += 1;
///         }
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Written {
    /// Queued; the queue is at or below its high-water mark: keep writing.
    Ready,
    /// Queued; the queue is above its high-water mark: wait for `on_write`.
    AboveHighWater,
    /// Not queued, for this reason.
    Refused(WriteError),
}

impl Written {
    /// True when the write was queued.
    pub fn is_ok(&self) -> bool {
        !self.is_err()
    }

    /// True when the write was refused.
    pub fn is_err(&self) -> bool {
        matches!(self, Written::Refused(_))
    }

    /// True when the producer should stop writing until `on_write`: the queue is above its
    /// high-water mark, or the write was refused.
    pub fn should_wait(&self) -> bool {
        !matches!(self, Written::Ready)
    }

    /// Why the write was refused, if it was.
    pub fn error(&self) -> Option<WriteError> {
        match self {
            Written::Refused(err) => Some(*err),
            _ => None,
        }
    }

    /// The write as a `Result`: the queue's status, or why it was refused.
    pub fn into_result(self) -> Result<WriteStatus, WriteError> {
        match self {
            Written::Ready => Ok(WriteStatus::Ready),
            Written::AboveHighWater => Ok(WriteStatus::AboveHighWater),
            Written::Refused(err) => Err(err),
        }
    }

    /// The queue's status; panics if the write was refused (as `Result::unwrap`).
    #[track_caller]
    pub fn unwrap(self) -> WriteStatus {
        self.expect("the write was refused")
    }

    /// The queue's status; panics with `message` if the write was refused (as
    /// `Result::expect`).
    #[track_caller]
    pub fn expect(self, message: &str) -> WriteStatus {
        match self.into_result() {
            Ok(status) => status,
            Err(err) => panic!("{message}: {err}"),
        }
    }
}

impl From<Result<WriteStatus, WriteError>> for Written {
    #[inline]
    fn from(result: Result<WriteStatus, WriteError>) -> Self {
        match result {
            Ok(WriteStatus::Ready) => Written::Ready,
            Ok(WriteStatus::AboveHighWater) => Written::AboveHighWater,
            Err(err) => Written::Refused(err),
        }
    }
}

impl From<Written> for Result<WriteStatus, WriteError> {
    fn from(written: Written) -> Self {
        written.into_result()
    }
}
