//! A handler wrapper that checks, after every callback, that the handler and its write queue
//! stay within their bounds.

use pants_core::{
    ChannelId, ConnectError, Context, Error, Frame, Handler, Idle, OverflowError, TimerId,
    WriteLimits,
};

use super::{HARD_READ_LIMIT, READ_LIMIT};
use crate::{Chat, Echo, http, resp};

/// Bytes a handler holds between callbacks, and the most it may hold.
pub(super) trait Held {
    fn held(&self) -> usize;
    fn bound(&self) -> usize;
}

impl Held for Echo {
    fn held(&self) -> usize {
        0
    }
    fn bound(&self) -> usize {
        0
    }
}

impl Held for Chat {
    fn held(&self) -> usize {
        0
    }
    fn bound(&self) -> usize {
        0
    }
}

impl Held for resp::Resp {
    fn held(&self) -> usize {
        resp::Resp::held(self)
    }
    fn bound(&self) -> usize {
        resp::MAX_COMMAND_BYTES
    }
}

impl Held for http::Http {
    fn held(&self) -> usize {
        http::Http::held(self)
    }
    fn bound(&self) -> usize {
        READ_LIMIT
    }
}

/// The most a write queue may hold: the handlers pause reading above the high-water mark, so
/// at most one more read's worth (echo: a read of up to the harness' 64 KiB read chunk) or one
/// reply (at most a hard-limit value plus framing) goes over it.
const QUEUE_BOUND: usize = WriteLimits::DEFAULT_HIGH_WATER + 64 * 1024 + HARD_READ_LIMIT + 1024;

/// `H`, checked after each callback.
pub(super) struct Watched<H> {
    inner: H,
}

impl<H: Handler + Held> Watched<H> {
    pub(super) fn new(inner: H) -> Self {
        Self { inner }
    }

    fn check(&self, cx: &mut Context<'_>, callback: &str) {
        let (held, bound) = (self.inner.held(), self.inner.bound());
        assert!(
            held <= bound,
            "after {callback}: the handler holds {held} bytes, over {bound}"
        );
        let queued = cx.this().queued();
        assert!(
            queued <= QUEUE_BOUND,
            "after {callback}: {queued} bytes queued, over {QUEUE_BOUND}: reading did not pause"
        );
    }
}

impl<H: Handler + Held> Handler for Watched<H> {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        self.inner.on_connect(cx);
        self.check(cx, "on_connect");
    }

    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        self.inner.on_read(cx, frame);
        self.check(cx, "on_read");
    }

    fn on_write(&mut self, cx: &mut Context<'_>) {
        self.inner.on_write(cx);
        self.check(cx, "on_write");
    }

    fn on_listen(&mut self, cx: &mut Context<'_>) {
        self.inner.on_listen(cx);
    }

    fn on_accept(&mut self, cx: &mut Context<'_>, conn: ChannelId) {
        self.inner.on_accept(cx, conn);
    }

    fn on_close(&mut self, cx: &mut Context<'_>) {
        self.inner.on_close(cx);
    }

    fn on_connect_error(&mut self, cx: &mut Context<'_>, err: &ConnectError) {
        self.inner.on_connect_error(cx, err);
    }

    fn on_overflow_error(&mut self, cx: &mut Context<'_>, err: &OverflowError) {
        self.inner.on_overflow_error(cx, err);
        self.check(cx, "on_overflow_error");
    }

    fn on_error(&mut self, cx: &mut Context<'_>, err: &Error) {
        self.inner.on_error(cx, err);
        self.check(cx, "on_error");
    }

    fn on_timer(&mut self, cx: &mut Context<'_>, timer: TimerId) {
        self.inner.on_timer(cx, timer);
        self.check(cx, "on_timer");
    }

    fn on_eof(&mut self, cx: &mut Context<'_>) {
        self.inner.on_eof(cx);
        self.check(cx, "on_eof");
    }

    fn on_idle(&mut self, cx: &mut Context<'_>, kind: Idle) {
        self.inner.on_idle(cx, kind);
    }
}
