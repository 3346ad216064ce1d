//! The application's side of a channel: Pants' callbacks, as one trait.

use crate::engine::Context;
use crate::error::{ConnectError, Error, OverflowError};
use crate::event::Idle;
use crate::frame::Frame;
use crate::id::{ChannelId, TimerId};

/// The callbacks of a channel, each with a no-op default (but [`on_idle`](Self::on_idle),
/// which closes). Implement the ones your protocol needs.
///
/// Every callback gets a short-lived [`Context`]: its own channel (`cx.write`, `cx.close`,
/// `cx.set_read_delimiter`, ...), any other channel by id (`cx.channel(id)`), the engine's
/// timers, and opening new channels. Callbacks never run re-entrantly: what a callback does to
/// another channel takes effect at once, and that channel's callbacks run after it returns.
///
/// The order of a channel's callbacks is fixed: `on_connect` (or `on_listen`) before any
/// `on_read`; `on_close` exactly once and last, also after `on_connect_error`. A callback that
/// panics closes its channel (`on_error` with [`Error::Panic`], then `on_close`) and the engine
/// serves the others.
///
/// ```
/// use pants_core::{Context, Frame, Handler};
///
/// /// Pants' "LineOriented" example: prints each line.
/// struct LineOriented;
///
/// impl Handler for LineOriented {
///     fn on_connect(&mut self, cx: &mut Context<'_>) {
///         cx.set_read_delimiter("\r\n").expect("a valid delimiter");
///     }
///
///     fn on_read(&mut self, cx: &mut Context<'_>, line: Frame<'_>) {
///         println!("{}: {}", cx.id(), String::from_utf8_lossy(&line));
///     }
/// }
/// ```
#[allow(unused_variables)]
pub trait Handler: 'static {
    /// The stream is connected: a connect completed, or a server accepted it.
    fn on_connect(&mut self, cx: &mut Context<'_>) {}

    /// A frame arrived, cut by the read delimiter. It is lent for the call: read it in place,
    /// or keep it with [`Frame::into_bytes`] (no copy). On a datagram channel, `cx.peer()`
    /// is its sender.
    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {}

    /// The write queue became empty: a producer waiting for it may write again.
    fn on_write(&mut self, cx: &mut Context<'_>) {}

    /// A server is listening, or a datagram socket is bound.
    fn on_listen(&mut self, cx: &mut Context<'_>) {}

    /// A server accepted the connection `conn` (its own handler's `on_connect` follows).
    fn on_accept(&mut self, cx: &mut Context<'_>, conn: ChannelId) {}

    /// The channel is closed; nothing follows.
    fn on_close(&mut self, cx: &mut Context<'_>) {}

    /// The connect failed; `on_close` follows.
    fn on_connect_error(&mut self, cx: &mut Context<'_>, err: &ConnectError) {}

    /// A read frame or a write went over its limit (or the engine's budget for unfinished
    /// frames: see [`EngineConfig`](crate::EngineConfig)). The stream's
    /// [`OverflowPolicy`](crate::OverflowPolicy) is in force when this runs: by default
    /// (`Close`) no more frames come and the stream closes once its queue is flushed, so a
    /// write from this callback (say, `-ERR` or `431`) is still sent; with `Discard` the
    /// oversized frame is skipped and reading goes on.
    fn on_overflow_error(&mut self, cx: &mut Context<'_>, err: &OverflowError) {}

    /// Something failed. On a stream `on_close` follows, but for a truncated frame at the
    /// peer's EOF ([`Error::TruncatedFrame`]): then `on_eof` comes next, and `on_close` once
    /// the queue is flushed (the stream may still reply). A close that drops queued bytes
    /// reports them here ([`Error::Unsent`]) just before `on_close`. On a datagram channel,
    /// `cx.peer()` names the peer concerned and the channel stays open.
    fn on_error(&mut self, cx: &mut Context<'_>, err: &Error) {}

    /// A timer set with `cx.timer_after` or `cx.timer_every` fired.
    fn on_timer(&mut self, cx: &mut Context<'_>, timer: TimerId) {}

    /// The peer shut down its side, after its last frame. Unless the stream is half-open, it
    /// then closes once what is queued (including what this callback writes) is sent.
    fn on_eof(&mut self, cx: &mut Context<'_>) {}

    /// Nothing was received or sent (see [`Idle`]) for the configured time. Closes by default.
    fn on_idle(&mut self, cx: &mut Context<'_>, kind: Idle) {
        cx.close();
    }

    /// The TLS handshake completed: [`cx.tls()`](Context::tls) tells the version, ALPN and
    /// the peer's certificates. The first `on_read` of a TLS stream comes after it; a TLS
    /// client's `on_connect` only says that the transport is up.
    #[cfg(feature = "tls")]
    fn on_tls_handshake(&mut self, cx: &mut Context<'_>) {}

    /// The TLS session failed (a refused certificate, a bad record, a timed-out handshake) or
    /// the peer's end was a truncation. The channel closes whatever this does; `on_close`
    /// follows.
    ///
    /// By default the error goes to [`on_error`](Self::on_error), as an [`Error::Io`] of its
    /// kind (`UnexpectedEof` for a truncation, `TimedOut` for the handshake's timeout,
    /// `InvalidData` for the others; the `TlsError` is its inner error): a handler that knows
    /// nothing of TLS still learns that its stream did not end cleanly.
    #[cfg(feature = "tls")]
    fn on_tls_error(&mut self, cx: &mut Context<'_>, err: &crate::tls::TlsError) {
        self.on_error(cx, &Error::Io(err.clone().into()));
    }
}

/// A handler that does nothing: the default for a server's own channel.
impl Handler for () {}
