//! What callbacks and timers may do: command any channel, read its state, open channels, set
//! timers.

use std::fmt;
use std::fs::File;
use std::io;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::channel::{Channel, ServerChannel};
use super::core::EngineCore;
use super::open::{Bind, Connect, IntoAddr, Listen};
use super::timers::{Schedule, Target};
use super::written::Written;
use crate::addr::Addr;
use crate::datagram::Datagram;
use crate::delimiter::{IntoReadDelimiter, ReadDelimiter};
use crate::error::{ConnectError, DelimiterError, WriteError};
use crate::framer::ReadLimits;
use crate::handler::Handler;
use crate::id::{ChannelId, TimerId};
use crate::io::Io;
use crate::server::Server;
use crate::stream::{OverflowPolicy, Stream};
use crate::write_queue::{FileRange, Recycler, WriteLimits, WriteStatus};

/// The engine as seen from a timer's closure, or from outside any callback
/// ([`Engine::context`](crate::driver::Engine::context)): channels by id, opening channels,
/// timers.
pub struct EngineContext<'a> {
    pub(crate) core: &'a mut EngineCore,
    pub(crate) io: &'a mut dyn Io,
}

impl fmt::Debug for EngineContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineContext")
            .field("now", &self.core.now())
            .field("channels", &self.core.channels.len())
            .finish_non_exhaustive()
    }
}

impl EngineContext<'_> {
    /// The time of the current turn.
    pub fn now(&self) -> Instant {
        self.core.now()
    }

    /// Channel `id`, to command it; `None` once it is gone. What you do takes effect at once;
    /// its callbacks run after the current one returns.
    pub fn channel(&mut self, id: ChannelId) -> Option<ChannelMut<'_>> {
        self.core.channels.get(id)?;
        Some(ChannelMut {
            core: self.core,
            io: self.io,
            id,
        })
    }

    /// The open connections of server `server`, in id order (empty for other channels).
    /// A connection is forgotten as soon as it closes, before its `on_close`.
    pub fn connections(&self, server: ChannelId) -> Vec<ChannelId> {
        self.core.connections(server)
    }

    /// Writes `data` to every open connection of `server`; returns how many took it.
    pub fn broadcast(&mut self, server: ChannelId, data: impl Into<Bytes>) -> usize {
        let data = data.into();
        let mut sent = 0;
        for id in self.connections(server) {
            if let Some(mut channel) = self.channel(id) {
                sent += usize::from(channel.write(data.clone()).is_ok());
            }
        }
        sent
    }

    /// Listens at `addr`; each accepted connection gets a handler from `factory`.
    /// `on_listen` follows. Fails at once if the address cannot be bound.
    pub fn listen<H: Handler>(
        &mut self,
        addr: impl IntoAddr,
        factory: impl FnMut() -> H + 'static,
    ) -> io::Result<ChannelId> {
        self.listen_with(Listen::new(addr, factory))
    }

    /// Listens as `listen` says: its own socket options, its connections' stream settings,
    /// the server's own handler.
    pub fn listen_with(&mut self, listen: Listen) -> io::Result<ChannelId> {
        let addr = listen.addr?;
        let config = self.core.config();
        let socket = listen.socket.unwrap_or_else(|| config.socket.clone());
        let stream_config = listen.stream.unwrap_or_else(|| config.stream.clone());
        let id = self.core.channels.vacant_id();
        self.io.listen(id, &addr, &socket)?;
        let server = ServerChannel {
            server: Server::listening(),
            factory: listen.factory,
            stream_config,
            #[cfg(feature = "tls")]
            tls: listen.tls,
        };
        let inserted = self
            .core
            .insert(Channel::Server(Box::new(server)), listen.handler);
        Ok(inserted)
    }

    /// Connects to `addr` with `handler`: `on_connect`, or `on_connect_error` then `on_close`,
    /// follows. Fails at once only for an address that does not parse.
    pub fn connect(&mut self, addr: impl IntoAddr, handler: impl Handler) -> io::Result<ChannelId> {
        self.connect_with(Connect::new(addr, handler))
    }

    /// Connects as `connect` says.
    pub fn connect_with(&mut self, connect: Connect) -> io::Result<ChannelId> {
        let addr = connect.addr?;
        let config = self.core.config();
        let socket = connect.socket.unwrap_or_else(|| config.socket.clone());
        let stream_config = connect.stream.unwrap_or_else(|| config.stream.clone());
        let now = self.core.now();
        #[allow(unused_mut)]
        let mut stream = Stream::connecting(stream_config, now);
        #[cfg(feature = "tls")]
        if let Some(tls) = connect.tls {
            let session = tls.name_or(Some(&addr)).session()?;
            stream.start_tls_session(session)?;
        } else {
            stream.remember_host(&addr);
        }
        let id = self.core.insert(Channel::Stream(stream), connect.handler);
        if let Err(err) = self.core.host_connects.start(self.io, id, &addr, &socket)
            && let Some(Channel::Stream(stream)) =
                self.core.channels.get_mut(id).map(|e| &mut e.channel)
        {
            stream.handle_connect_error(now, ConnectError::from_io(err));
        }
        Ok(id)
    }

    /// Binds a datagram channel to `addr` with `handler`; `on_listen` follows. Fails at once if
    /// the address cannot be bound.
    pub fn datagram(
        &mut self,
        addr: impl IntoAddr,
        handler: impl Handler,
    ) -> io::Result<ChannelId> {
        self.datagram_with(Bind::new(addr, handler))
    }

    /// Binds as `bind` says.
    pub fn datagram_with(&mut self, bind: Bind) -> io::Result<ChannelId> {
        let addr = bind.addr?;
        let config = self.core.config();
        let socket = bind.socket.unwrap_or_else(|| config.socket.clone());
        let datagram_config = bind.config.unwrap_or_else(|| config.datagram.clone());
        let id = self.core.channels.vacant_id();
        self.io.bind(id, &addr, &socket)?;
        let inserted = self.core.insert(
            Channel::Datagram(Box::new(Datagram::bound(datagram_config))),
            bind.handler,
        );
        Ok(inserted)
    }

    /// Runs `f` once, at the start of the next turn (Pants' `callback`). `f` gets the engine
    /// and its own timer's id.
    pub fn callback(
        &mut self,
        f: impl FnMut(&mut EngineContext<'_>, TimerId) + 'static,
    ) -> TimerId {
        self.add_timer(
            Target::Engine(Some(Box::new(f))),
            Schedule::NextTurn,
            Duration::ZERO,
        )
    }

    /// Runs `f` at the start of every turn until cancelled (Pants' `loop`). The engine then
    /// never waits: use it for work that must run constantly. `f` gets its own timer's id, to
    /// cancel itself:
    ///
    /// ```
    /// use pants_core::testing::Network;
    ///
    /// let mut net = Network::new();
    /// let mut turns = 0;
    /// net.context().each_turn(move |cx, me| {
    ///     turns += 1;
    ///     if turns == 3 {
    ///         cx.cancel(me);
    ///     }
    /// });
    /// net.run();
    /// ```
    pub fn each_turn(
        &mut self,
        f: impl FnMut(&mut EngineContext<'_>, TimerId) + 'static,
    ) -> TimerId {
        self.add_timer(
            Target::Engine(Some(Box::new(f))),
            Schedule::EachTurn,
            Duration::ZERO,
        )
    }

    /// Runs `f` once, `delay` from now (Pants' `defer`). `f` gets its own timer's id.
    pub fn defer(
        &mut self,
        delay: Duration,
        f: impl FnMut(&mut EngineContext<'_>, TimerId) + 'static,
    ) -> TimerId {
        self.add_timer(Target::Engine(Some(Box::new(f))), Schedule::Once, delay)
    }

    /// Runs `f` every `interval`, the first time `interval` from now (Pants' `cycle`). `f`
    /// gets its own timer's id, to cancel itself.
    pub fn cycle(
        &mut self,
        interval: Duration,
        f: impl FnMut(&mut EngineContext<'_>, TimerId) + 'static,
    ) -> TimerId {
        self.add_timer(
            Target::Engine(Some(Box::new(f))),
            Schedule::Every(interval),
            interval,
        )
    }

    /// Cancels a timer. Idempotent, and works from inside the timer's own callback.
    pub fn cancel(&mut self, timer: TimerId) {
        self.core.timers.cancel(timer);
        self.core.settle_timers();
    }

    /// Stops the engine gracefully (see [`Engine::stop`](crate::driver::Engine::stop)); a
    /// second call closes everything at once.
    pub fn stop(&mut self) {
        self.core.stop();
    }

    fn add_timer(&mut self, target: Target, schedule: Schedule, delay: Duration) -> TimerId {
        let now = self.core.now();
        self.core.timers.add(now, target, schedule, delay)
    }
}

/// A callback's view: its own channel, and the whole engine (through `Deref` to
/// [`EngineContext`]).
///
/// The commands on its own channel (`write`, `close`, `set_read_delimiter`, ...) are those of
/// [`ChannelMut`], which [`this`](Self::this) gives; on a datagram channel, `write` answers
/// the sender of the datagram being handled.
pub struct Context<'a> {
    pub(crate) engine: EngineContext<'a>,
    pub(crate) id: ChannelId,
    /// For datagram reads and errors: the peer concerned.
    pub(crate) sender: Option<Addr>,
}

impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id)
            .field("sender", &self.sender)
            .field("engine", &self.engine)
            .finish()
    }
}

impl<'a> Deref for Context<'a> {
    type Target = EngineContext<'a>;

    fn deref(&self) -> &Self::Target {
        &self.engine
    }
}

impl DerefMut for Context<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.engine
    }
}

impl Context<'_> {
    /// This channel's id.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// This channel, to command it like any other.
    #[inline]
    pub fn this(&mut self) -> ChannelMut<'_> {
        ChannelMut {
            core: self.engine.core,
            io: self.engine.io,
            id: self.id,
        }
    }

    /// This channel, to read its state.
    fn this_ref(&self) -> ChannelRef<'_> {
        ChannelRef {
            core: self.engine.core,
            id: self.id,
        }
    }

    /// Queues `data` to send: on a stream, to its peer; on a datagram channel, back to the
    /// sender of the datagram being handled. See [`Written`] for what it says.
    pub fn write(&mut self, data: impl Into<Bytes>) -> Written {
        match &self.sender {
            Some(sender) => {
                let sender = sender.clone();
                self.this().write_to(data, sender)
            }
            None => self.this().write(data),
        }
    }

    /// Queues a copy of `data`, as [`write`](Self::write) queues a `Bytes`: for small writes
    /// formatted in a buffer the handler reuses, where making a `Bytes` of each would cost more
    /// than the copy.
    #[inline]
    pub fn write_slice(&mut self, data: &[u8]) -> Written {
        match &self.sender {
            Some(sender) => {
                let sender = sender.clone();
                self.this().write_to(Bytes::copy_from_slice(data), sender)
            }
            None => self.this().write_slice(data),
        }
    }

    /// Queues `len` bytes of `file` from `offset`, sent with `sendfile` where the OS has it.
    pub fn write_file(&mut self, file: Arc<File>, offset: u64, len: u64) -> Written {
        self.this().write_file(file, offset, len)
    }

    /// Closes after flushing what is queued (see [`ChannelMut::close`]). Idempotent.
    pub fn close(&mut self) {
        self.this().close();
    }

    /// Closes at once, dropping what is queued (see [`ChannelMut::close_now`]). Idempotent.
    pub fn close_now(&mut self) {
        self.this().close_now();
    }

    /// Sets how incoming bytes are cut into frames; applies at once to what is buffered.
    #[inline]
    pub fn set_read_delimiter<D>(&mut self, delimiter: D) -> Result<(), DelimiterError>
    where
        D: IntoReadDelimiter,
    {
        self.this().set_read_delimiter(delimiter)
    }

    /// Sets this stream's read limits for the following frames (see [`ReadLimits`]).
    pub fn set_read_limits(&mut self, limits: ReadLimits) -> Result<(), DelimiterError> {
        self.this().set_read_limits(limits)
    }

    /// Stops reading (and delivering frames) until [`resume_reading`](Self::resume_reading).
    pub fn pause_reading(&mut self) {
        self.this().pause_reading();
    }

    /// Reads again.
    pub fn resume_reading(&mut self) {
        self.this().resume_reading();
    }

    /// The current read delimiter (see [`ChannelMut::read_delimiter`]).
    pub fn read_delimiter(&self) -> Option<ReadDelimiter> {
        self.this_ref().read_delimiter()
    }

    /// True while reading is paused.
    pub fn is_read_paused(&self) -> bool {
        self.this_ref().is_read_paused()
    }

    /// The largest frame the current delimiter accepts (see [`ChannelMut::read_limit`]).
    pub fn read_limit(&self) -> Option<usize> {
        self.this_ref().read_limit()
    }

    /// Bytes received and not delivered yet (see [`ChannelMut::buffered`]).
    pub fn buffered(&self) -> usize {
        self.this_ref().buffered()
    }

    /// Bytes queued to send, in memory.
    pub fn queued(&self) -> usize {
        self.this_ref().queued()
    }

    /// The peer: of a stream, its remote address; on a datagram channel, the sender of the
    /// datagram being handled. Asked of the socket: `None` before a connect completes.
    pub fn peer(&self) -> Option<Addr> {
        self.sender
            .clone()
            .or_else(|| self.engine.io.peer_addr(self.id).ok())
    }

    /// This channel's local address, asked of its socket.
    pub fn local(&self) -> Option<Addr> {
        self.engine.io.local_addr(self.id).ok()
    }

    /// The server that accepted this stream.
    pub fn server(&self) -> Option<ChannelId> {
        self.engine
            .core
            .channels
            .get(self.id)
            .and_then(|entry| entry.owner())
    }

    /// Starts TLS on this stream (STARTTLS; see [`ChannelMut::start_tls`]).
    #[cfg(feature = "tls")]
    pub fn start_tls(
        &mut self,
        tls: impl Into<crate::tls::Tls>,
    ) -> Result<(), crate::tls::StartTlsError> {
        self.this().start_tls(tls)
    }

    /// What this stream's TLS session agreed on (version, ALPN, the peer's certificates);
    /// `None` on a plaintext channel.
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Option<crate::tls::TlsInfo<'_>> {
        self.this_ref().tls()
    }

    /// Calls this channel's `on_timer` once, `delay` from now.
    pub fn timer_after(&mut self, delay: Duration) -> TimerId {
        let target = Target::Channel(self.id);
        self.engine.add_timer(target, Schedule::Once, delay)
    }

    /// Calls this channel's `on_timer` every `interval` until cancelled or the channel closes.
    pub fn timer_every(&mut self, interval: Duration) -> TimerId {
        let target = Target::Channel(self.id);
        self.engine
            .add_timer(target, Schedule::Every(interval), interval)
    }
}

/// One channel, to command and to read: writes, closing, delimiters, reading, its state.
/// Obtained from [`EngineContext::channel`] or [`Context::this`].
pub struct ChannelMut<'a> {
    core: &'a mut EngineCore,
    io: &'a mut dyn Io,
    id: ChannelId,
}

impl fmt::Debug for ChannelMut<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

impl ChannelMut<'_> {
    /// The channel's id.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// Queues `data` on a stream. A datagram channel needs [`write_to`](Self::write_to).
    pub fn write(&mut self, data: impl Into<Bytes>) -> Written {
        let data = data.into();
        self.stream_write(|stream, recycler| stream.write_recycling(data, recycler))
    }

    /// Queues a copy of `data` on a stream (see [`Stream::write_slice`]).
    #[inline]
    pub fn write_slice(&mut self, data: &[u8]) -> Written {
        self.stream_write(|stream, recycler| stream.write_slice_recycling(data, recycler))
    }

    /// Runs `write` on the channel if it is a stream; what the other kinds answer otherwise.
    #[inline]
    fn stream_write(
        &mut self,
        write: impl FnOnce(&mut Stream, &mut Recycler) -> Result<WriteStatus, WriteError>,
    ) -> Written {
        // `touch`, with the entry looked up once.
        let core = &mut *self.core;
        let Some(entry) = core.channels.get_mut(self.id) else {
            return Written::Refused(WriteError::Closed);
        };
        let written = match &mut entry.channel {
            Channel::Stream(stream) => write(stream, &mut core.recycler).into(),
            Channel::Datagram(_) => Written::Refused(WriteError::NoPeer),
            Channel::Server(_) => Written::Refused(WriteError::Unsupported),
        };
        core.work.queue_io(self.id, entry);
        core.work.queue_events(self.id, entry);
        written
    }

    /// Queues a datagram to `to` on a datagram channel.
    pub fn write_to(&mut self, data: impl Into<Bytes>, to: Addr) -> Written {
        let result = match self.channel() {
            Some(Channel::Datagram(datagram)) => datagram.write_to(data.into(), to),
            Some(_) => Err(WriteError::Unsupported),
            None => Err(WriteError::Closed),
        };
        self.core.touch(self.id);
        result.into()
    }

    /// Queues a file range on a stream.
    pub fn write_file(&mut self, file: Arc<File>, offset: u64, len: u64) -> Written {
        let result = match self.channel() {
            Some(Channel::Stream(stream)) => stream.write_file(FileRange::new(file, offset, len)),
            Some(_) => Err(WriteError::Unsupported),
            None => Err(WriteError::Closed),
        };
        self.core.touch(self.id);
        result.into()
    }

    /// Starts TLS on an open stream (STARTTLS, as SMTP, IMAP and PostgreSQL use it): what is
    /// queued now is sent in clear, then the handshake; `on_tls_handshake` follows. Bytes
    /// received and not yet delivered (what followed the STARTTLS command in the same
    /// packet) are refused with [`TlsError::PlaintextAfterStartTls`](crate::TlsError), and
    /// the stream closes. A client without a server name verifies the name it connected to
    /// (a host name), or else the peer's IP address.
    #[cfg(feature = "tls")]
    pub fn start_tls(
        &mut self,
        tls: impl Into<crate::tls::Tls>,
    ) -> Result<(), crate::tls::StartTlsError> {
        let tls = match tls.into() {
            crate::tls::Tls::Client(client) => {
                let host = match self.channel() {
                    Some(Channel::Stream(stream)) => stream.connected_host().cloned(),
                    _ => None,
                };
                crate::tls::Tls::Client(client.name_or(host.or_else(|| self.peer()).as_ref()))
            }
            server => server,
        };
        let result = match self.channel() {
            Some(Channel::Stream(stream)) => {
                tls.session().and_then(|s| stream.start_tls_session(s))
            }
            _ => Err(crate::tls::StartTlsError::NotOpen),
        };
        // The input held is checked, and the clear bytes or the handshake go out.
        self.core.touch(self.id);
        result
    }

    /// Closes gracefully: a stream after flushing what is queued, a datagram channel after
    /// sending its queue; a server stops accepting, and its connections close after flushing.
    /// (To stop accepting and keep the connections, pause the server's reading.) Idempotent.
    pub fn close(&mut self) {
        self.core.close(self.id, false);
    }

    /// Closes at once, dropping what is queued (and reporting it as
    /// [`Error::Unsent`](crate::Error::Unsent)); a server's connections close at once too.
    /// Idempotent.
    pub fn close_now(&mut self) {
        self.core.close(self.id, true);
    }

    /// Sets the read delimiter of a stream or datagram channel.
    #[inline(always)]
    pub fn set_read_delimiter<D>(&mut self, delimiter: D) -> Result<(), DelimiterError>
    where
        D: IntoReadDelimiter,
    {
        let result = match self.channel() {
            Some(Channel::Stream(stream)) => stream.set_read_delimiter(delimiter),
            Some(Channel::Datagram(datagram)) => datagram.set_read_delimiter(delimiter),
            _ => delimiter.into_read_delimiter().map(drop),
        };
        // Buffered bytes may now make frames: their events need a dispatch, no I/O.
        self.core.queue_events(self.id);
        result
    }

    /// Sets a stream's read limits for the following frames (see [`ReadLimits`]).
    pub fn set_read_limits(&mut self, limits: ReadLimits) -> Result<(), DelimiterError> {
        let result = match self.channel() {
            Some(Channel::Stream(stream)) => stream.set_read_limits(limits),
            _ => Ok(()),
        };
        self.core.queue_events(self.id);
        result
    }

    /// Sets a stream's write queue limits; what is queued stays.
    pub fn set_write_limits(&mut self, limits: WriteLimits) {
        if let Some(Channel::Stream(stream)) = self.channel() {
            stream.set_write_limits(limits);
        }
    }

    /// Sets what a stream does after an overflow (see [`OverflowPolicy`]).
    pub fn set_overflow_policy(&mut self, policy: OverflowPolicy) {
        if let Some(Channel::Stream(stream)) = self.channel() {
            stream.set_overflow_policy(policy);
        }
    }

    /// Stops reading and delivering frames (a server: accepting). Idempotent.
    pub fn pause_reading(&mut self) {
        if let Some(channel) = self.channel() {
            channel.pause_reading();
        }
    }

    /// Reads and delivers again (a server: accepts again). Idempotent.
    pub fn resume_reading(&mut self) {
        let resumed = self.channel().is_some_and(Channel::resume_reading);
        // Reading again may deliver buffered frames and read what the socket holds.
        if resumed {
            self.core.touch(self.id);
        }
    }

    /// The peer's address (connected streams), asked of the socket.
    pub fn peer(&self) -> Option<Addr> {
        self.io.peer_addr(self.id).ok()
    }

    /// The local address, asked of the socket (the real port of a listener on port 0).
    pub fn local(&self) -> Option<Addr> {
        self.io.local_addr(self.id).ok()
    }

    /// True once the channel is closed (or gone).
    pub fn is_closed(&self) -> bool {
        self.as_ref().is_closed()
    }

    /// Bytes queued to send, in memory.
    pub fn queued(&self) -> usize {
        self.as_ref().queued()
    }

    /// The current read delimiter of a stream or datagram channel.
    pub fn read_delimiter(&self) -> Option<ReadDelimiter> {
        self.as_ref().read_delimiter()
    }

    /// True while reading (a server: accepting) is paused.
    pub fn is_read_paused(&self) -> bool {
        self.as_ref().is_read_paused()
    }

    /// A stream's read limits.
    pub fn read_limits(&self) -> Option<ReadLimits> {
        self.as_ref().read_limits()
    }

    /// The largest frame a stream's current delimiter accepts: the read limit for a line or a
    /// custom frame, the count for a count, the hard limit for a length prefix.
    pub fn read_limit(&self) -> Option<usize> {
        self.as_ref().read_limit()
    }

    /// Bytes received and not delivered yet: a stream's partial frame, or a datagram
    /// channel's senders' unfinished frames.
    pub fn buffered(&self) -> usize {
        self.as_ref().buffered()
    }

    /// How many senders have an unfinished frame buffered, on a datagram channel.
    pub fn buffered_senders(&self) -> usize {
        self.as_ref().buffered_senders()
    }

    /// What a TLS stream's session agreed on (see [`Context::tls`]); `None` on a plaintext
    /// channel.
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Option<crate::tls::TlsInfo<'_>> {
        self.as_ref().tls()
    }

    fn as_ref(&self) -> ChannelRef<'_> {
        ChannelRef {
            core: self.core,
            id: self.id,
        }
    }

    #[inline]
    fn channel(&mut self) -> Option<&mut Channel> {
        self.core
            .channels
            .get_mut(self.id)
            .map(|entry| &mut entry.channel)
    }
}

/// One channel's state, read.
struct ChannelRef<'a> {
    core: &'a EngineCore,
    id: ChannelId,
}

impl ChannelRef<'_> {
    fn channel(&self) -> Option<&Channel> {
        self.core.channels.get(self.id).map(|entry| &entry.channel)
    }

    fn is_closed(&self) -> bool {
        self.channel().is_none_or(Channel::is_closed)
    }

    fn queued(&self) -> usize {
        self.channel().map_or(0, Channel::queued)
    }

    fn read_delimiter(&self) -> Option<ReadDelimiter> {
        self.channel()?.read_delimiter().cloned()
    }

    fn is_read_paused(&self) -> bool {
        self.channel().is_some_and(Channel::is_read_paused)
    }

    fn read_limits(&self) -> Option<ReadLimits> {
        match self.channel()? {
            Channel::Stream(stream) => Some(stream.framer().limits()),
            Channel::Datagram(datagram) => Some(datagram.config().read_limits),
            Channel::Server(_) => None,
        }
    }

    fn read_limit(&self) -> Option<usize> {
        match self.channel()? {
            Channel::Stream(stream) => Some(stream.framer().frame_limit()),
            _ => None,
        }
    }

    fn buffered(&self) -> usize {
        self.channel().map_or(0, Channel::buffered)
    }

    fn buffered_senders(&self) -> usize {
        match self.channel() {
            Some(Channel::Datagram(datagram)) => datagram.buffered_senders(),
            _ => 0,
        }
    }
}

#[cfg(feature = "tls")]
impl<'a> ChannelRef<'a> {
    /// What the channel's TLS session agreed on, for as long as the engine is borrowed.
    fn tls(&self) -> Option<crate::tls::TlsInfo<'a>> {
        match &self.core.channels.get(self.id)?.channel {
            Channel::Stream(stream) => stream.tls_info(),
            _ => None,
        }
    }
}

impl fmt::Debug for ChannelRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.channel() {
            Some(Channel::Stream(_)) => "stream",
            Some(Channel::Server(_)) => "server",
            Some(Channel::Datagram(_)) => "datagram",
            None => "gone",
        };
        f.debug_struct("ChannelMut")
            .field("id", &self.id)
            .field("kind", &kind)
            .field("closed", &self.is_closed())
            .field("queued", &self.queued())
            .field("buffered", &self.buffered())
            .finish()
    }
}
