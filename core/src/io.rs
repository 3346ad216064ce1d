//! The socket calls an [`Engine`](crate::driver::Engine) makes, provided by a driver: the whole surface
//! between the pure core and the operating system (or the in-memory test network).

use std::io::{self, IoSlice};

use bytes::Bytes;

use crate::addr::Addr;
use crate::id::ChannelId;
use crate::write_queue::FileRange;

/// Non-blocking socket calls on behalf of channels, keyed by [`ChannelId`].
///
/// A driver implements it over real sockets (each registered with its poller under the
/// channel's id), the test harness over in-memory pipes. Every call returns at once: an error
/// of kind [`WouldBlock`](io::ErrorKind::WouldBlock) means "not now", and the driver reports
/// later readiness with [`Engine::handle_readiness`](crate::driver::Engine::handle_readiness). The
/// engine retries [`Interrupted`](io::ErrorKind::Interrupted) calls itself.
///
/// # The driver's contract
///
/// A driver owns an [`Engine`](crate::driver::Engine) and an `Io`, and loops:
///
/// 1. Wait for its poller, at most until [`Engine::poll_timeout`](crate::driver::Engine::poll_timeout)
///    (`None`: no deadline; a time already past: do not wait).
/// 2. Report what the poller saw: [`Engine::handle_readiness`](crate::driver::Engine::handle_readiness)
///    for each channel (its id is the poller's token), and
///    [`Engine::handle_resolved`](crate::driver::Engine::handle_resolved) for each host name resolved.
///    Spurious or repeated reports are harmless; unknown or closed ids are ignored.
/// 3. Run [`Engine::turn`](crate::driver::Engine::turn) with the current time, which makes every
///    socket call through this trait. A turn is bounded: work left after it (a channel past
///    its read budget) shows as a `poll_timeout` of now.
///
/// **Readiness has one owner, the engine.** It keeps a readable and a writable flag per
/// channel, set by a report and cleared when a call says `WouldBlock` (or a read says it
/// [emptied](Received::emptied) the socket); it calls only while the flag is set. So the
/// driver must report a direction again once it may have become ready after the engine
/// cleared it. An edge-triggered poller (mio's epoll) does so by itself; a one-shot or
/// level-triggered one (async-io) must arm the direction when a call says `WouldBlock`, when
/// a read emptied the socket, and when a connect completed (the engine then waits to read).
/// A socket just opened has no flag set: report what its first call needs (an
/// edge-triggered registration reports it; a driver may also report a direction it does not
/// know to be ready, which costs one call that says `WouldBlock`).
pub trait Io {
    /// Opens a listening stream socket for channel `id` (its address: [`local_addr`]).
    ///
    /// [`local_addr`]: Self::local_addr
    fn listen(&mut self, id: ChannelId, addr: &Addr, options: &SocketOptions) -> io::Result<()>;

    /// Accepts one pending connection on listener `server` as channel `conn`
    /// (`WouldBlock` when none is pending).
    fn accept(&mut self, server: ChannelId, conn: ChannelId) -> io::Result<()>;

    /// Starts connecting channel `id` to `addr`. Completion is reported as writable
    /// readiness, then read with [`connect_result`](Self::connect_result).
    ///
    /// For a host name ([`Addr::Host`]) the driver starts resolving it without blocking and
    /// reports the addresses with [`Engine::handle_resolved`](crate::driver::Engine::handle_resolved);
    /// the engine then calls `connect` again with each address in turn, until one connects
    /// (the policy is the core's, not the driver's). A driver that can resolve without
    /// waiting may connect at once instead.
    fn connect(&mut self, id: ChannelId, addr: &Addr, options: &SocketOptions) -> io::Result<()>;

    /// After writable readiness of a connecting channel: `Ok(true)` once connected,
    /// `Ok(false)` while still in progress, or the error that failed it.
    fn connect_result(&mut self, id: ChannelId) -> io::Result<bool>;

    /// The local address of channel `id`'s socket.
    fn local_addr(&self, id: ChannelId) -> io::Result<Addr>;

    /// The peer address of channel `id`'s connected socket.
    fn peer_addr(&self, id: ChannelId) -> io::Result<Addr>;

    /// Reads what is available from a stream; empty [`Received::data`] is the peer's EOF.
    /// The driver says with the bytes whether the read emptied the socket's receive queue
    /// ([`Received::emptied`]), where it can tell: the engine then reads again only after
    /// the next readable report, sparing the read that would only say `WouldBlock`.
    fn read(&mut self, id: ChannelId) -> io::Result<Received>;

    /// Writes from `slices` in order, with one vectored write where possible.
    fn write(&mut self, id: ChannelId, slices: &[IoSlice<'_>]) -> io::Result<usize>;

    /// Sends from a file range (`sendfile` where the OS has it).
    fn send_file(&mut self, id: ChannelId, range: &FileRange) -> io::Result<usize>;

    /// Reads bytes of a file range, from its offset, into `buf` (at most `buf.len()` and the
    /// range's length): what a TLS stream encrypts in place of `sendfile`. `Ok(0)` means the
    /// file ended. The default says it is unsupported.
    fn read_file(&mut self, range: &FileRange, buf: &mut [u8]) -> io::Result<usize> {
        let _ = (range, buf);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this driver cannot read files for TLS streams",
        ))
    }

    /// Shuts down the write side.
    fn shutdown(&mut self, id: ChannelId) -> io::Result<()>;

    /// Closes the socket and forgets it (deregistering it from the poller first).
    fn close(&mut self, id: ChannelId);

    /// Opens a datagram socket for channel `id` bound to `addr`.
    fn bind(&mut self, id: ChannelId, addr: &Addr, options: &SocketOptions) -> io::Result<()>;

    /// Receives one whole datagram and its sender.
    fn recv_from(&mut self, id: ChannelId) -> io::Result<(Bytes, Addr)>;

    /// Sends one datagram to `to`.
    fn send_to(&mut self, id: ChannelId, data: &[u8], to: &Addr) -> io::Result<usize>;
}

/// What a stream read returned: the bytes, and whether they were all the socket had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// The bytes read; empty at the peer's EOF.
    pub data: Bytes,
    /// The read emptied the socket's receive queue (a short read proved it): the engine
    /// clears the channel's readable flag, as after a `WouldBlock`, and waits for the next
    /// readable report. The driver says so only where it knows that report will come (urgent
    /// data, an end of stream behind the data, or a message passing descriptors can make a
    /// read short with bytes still queued); `false` is always safe.
    pub emptied: bool,
}

impl From<Bytes> for Received {
    /// Bytes from a read that may have left more behind.
    fn from(data: Bytes) -> Self {
        Self {
            data,
            emptied: false,
        }
    }
}

/// What the poller reported for a channel's socket. Spurious reports are harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness {
    /// The socket may be read (or accepted from, or has an error or EOF to report).
    pub readable: bool,
    /// The socket may be written (or a connect completed).
    pub writable: bool,
}

impl Readiness {
    /// Readable and writable.
    pub const BOTH: Readiness = Readiness {
        readable: true,
        writable: true,
    };
}

/// Socket options for listening, connecting and binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketOptions {
    /// Listen backlog (default 1024).
    pub backlog: u32,
    /// `SO_REUSEPORT` on listeners and datagram sockets, for one engine per core (default off).
    /// `SO_REUSEADDR` is always set on listeners.
    pub reuse_port: bool,
    /// `IPV6_V6ONLY` for IPv6 sockets: `Some(false)` makes `[::]` dual-stack; `None` keeps the
    /// system's default.
    pub only_v6: Option<bool>,
    /// `TCP_NODELAY` on connected and accepted TCP streams (default on: the write queue
    /// already batches writes into one vectored write per turn).
    pub nodelay: bool,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            backlog: 1024,
            reuse_port: false,
            only_v6: None,
            nodelay: true,
        }
    }
}

/// True for errors that say the process or system ran out of descriptors or buffers
/// (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`): accepting again at once would only spin.
pub(crate) fn is_resource_exhaustion(err: &io::Error) -> bool {
    // errno values are fixed per platform; the core has no libc, so they are spelled here.
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    const ENOBUFS: i32 = 55;
    #[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "freebsd")))]
    const ENOBUFS: i32 = 105;
    const ENOMEM: i32 = 12;
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    err.kind() == io::ErrorKind::OutOfMemory
        || matches!(err.raw_os_error(), Some(EMFILE | ENFILE | ENOBUFS | ENOMEM))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::VecDeque;
    use std::time::Instant;

    use super::*;
    use crate::driver::Engine;
    use crate::{Context, EngineConfig, Frame, Handler};

    /// Socket calls as a log. A connect to [`REFUSED`] fails when its result is asked; reads
    /// return what the test queued, then `WouldBlock`.
    #[derive(Default)]
    pub(crate) struct Scripted {
        pub(crate) log: Vec<String>,
        pub(crate) reads: VecDeque<Received>,
        connected_to: Option<Addr>,
    }

    pub(crate) const REFUSED: &str = "127.0.0.1:1";

    impl Io for Scripted {
        fn connect(&mut self, _: ChannelId, addr: &Addr, _: &SocketOptions) -> io::Result<()> {
            self.log.push(format!("connect {addr}"));
            self.connected_to = Some(addr.clone());
            Ok(())
        }
        fn connect_result(&mut self, _: ChannelId) -> io::Result<bool> {
            match &self.connected_to {
                Some(addr) if addr.to_string() == REFUSED => {
                    Err(io::ErrorKind::ConnectionRefused.into())
                }
                _ => Ok(true),
            }
        }
        fn close(&mut self, _: ChannelId) {
            self.log.push("close".into());
        }
        fn read(&mut self, _: ChannelId) -> io::Result<Received> {
            self.log.push("read".into());
            self.reads
                .pop_front()
                .ok_or_else(|| io::ErrorKind::WouldBlock.into())
        }
        fn write(&mut self, _: ChannelId, _: &[IoSlice<'_>]) -> io::Result<usize> {
            Err(io::ErrorKind::WouldBlock.into())
        }
        fn shutdown(&mut self, _: ChannelId) -> io::Result<()> {
            Ok(())
        }
        fn local_addr(&self, _: ChannelId) -> io::Result<Addr> {
            Err(io::ErrorKind::NotConnected.into())
        }
        fn peer_addr(&self, _: ChannelId) -> io::Result<Addr> {
            Err(io::ErrorKind::NotConnected.into())
        }
        fn listen(&mut self, _: ChannelId, _: &Addr, _: &SocketOptions) -> io::Result<()> {
            unreachable!("no test listens")
        }
        fn accept(&mut self, _: ChannelId, _: ChannelId) -> io::Result<()> {
            unreachable!("no test listens")
        }
        fn send_file(&mut self, _: ChannelId, _: &FileRange) -> io::Result<usize> {
            unreachable!("no test sends a file")
        }
        fn bind(&mut self, _: ChannelId, _: &Addr, _: &SocketOptions) -> io::Result<()> {
            unreachable!("no test binds")
        }
        fn recv_from(&mut self, _: ChannelId) -> io::Result<(Bytes, Addr)> {
            unreachable!("no test binds")
        }
        fn send_to(&mut self, _: ChannelId, _: &[u8], _: &Addr) -> io::Result<usize> {
            unreachable!("no test binds")
        }
    }

    /// Takes every frame and drops it.
    struct Sink;

    impl Handler for Sink {
        fn on_read(&mut self, _: &mut Context<'_>, _: Frame<'_>) {}
    }

    fn received(data: &'static [u8], emptied: bool) -> Received {
        Received {
            data: Bytes::from_static(data),
            emptied,
        }
    }

    /// A read that emptied the socket clears the engine's readable flag: no read is made
    /// until the next readable report (the one that would only say `WouldBlock`), while a
    /// read that may have left bytes behind is followed by another.
    #[test]
    fn an_emptied_socket_is_read_again_only_after_a_report() {
        let (mut engine, mut io, now) = (
            Engine::new(EngineConfig::default(), Instant::now()),
            Scripted::default(),
            Instant::now(),
        );
        let id = engine
            .context(&mut io, now)
            .connect("127.0.0.1:2", Sink)
            .expect("a connect");
        engine.handle_readiness(id, Readiness::BOTH);
        engine.turn(&mut io, now);
        io.log.clear();

        io.reads.push_back(received(b"all there was", true));
        engine.handle_readiness(id, Readiness::BOTH);
        engine.turn(&mut io, now);
        engine.turn(&mut io, now);
        assert_eq!(io.log, ["read"], "one read, and none until the next report");

        io.reads.push_back(received(b"perhaps more", false));
        engine.handle_readiness(id, Readiness::BOTH);
        engine.turn(&mut io, now);
        assert_eq!(io.log, ["read", "read", "read"], "read until WouldBlock");
    }

    #[test]
    fn descriptor_exhaustion_is_recognised_and_others_are_not() {
        assert!(is_resource_exhaustion(&io::Error::from_raw_os_error(24)));
        assert!(is_resource_exhaustion(&io::Error::from_raw_os_error(23)));
        assert!(!is_resource_exhaustion(
            &io::ErrorKind::ConnectionAborted.into()
        ));
    }
}
