//! What it takes to open a channel: an address, a handler, and options with defaults.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::addr::Addr;
use crate::datagram::DatagramConfig;
use crate::handler::Handler;
use crate::io::SocketOptions;
use crate::stream::StreamConfig;

/// Anything that names an address: an [`Addr`], a `SocketAddr`, or a string to parse.
pub trait IntoAddr {
    /// The address, or an `InvalidInput` error saying why the string is not one.
    fn into_addr(self) -> io::Result<Addr>;
}

impl IntoAddr for Addr {
    fn into_addr(self) -> io::Result<Addr> {
        Ok(self)
    }
}

impl IntoAddr for &Addr {
    fn into_addr(self) -> io::Result<Addr> {
        Ok(self.clone())
    }
}

impl IntoAddr for SocketAddr {
    fn into_addr(self) -> io::Result<Addr> {
        Ok(Addr::Ip(self))
    }
}

impl IntoAddr for &str {
    fn into_addr(self) -> io::Result<Addr> {
        Ok(self.parse()?)
    }
}

impl IntoAddr for String {
    fn into_addr(self) -> io::Result<Addr> {
        self.as_str().into_addr()
    }
}

/// Opens a server: where to listen, how to make each connection's handler (Pants'
/// `ConnectionClass`), and options. The server's own handler (for `on_listen`, `on_accept`,
/// `on_close`) does nothing unless set.
pub struct Listen {
    pub(crate) addr: io::Result<Addr>,
    pub(crate) factory: Box<dyn FnMut() -> Box<dyn Handler>>,
    pub(crate) handler: Box<dyn Handler>,
    pub(crate) socket: Option<SocketOptions>,
    pub(crate) stream: Option<Arc<StreamConfig>>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::TlsServer>,
}

impl Listen {
    /// Listens at `addr`, making a handler for each connection with `factory`.
    pub fn new<H: Handler>(addr: impl IntoAddr, mut factory: impl FnMut() -> H + 'static) -> Self {
        Self {
            addr: addr.into_addr(),
            factory: Box::new(move || Box::new(factory())),
            handler: Box::new(()),
            socket: None,
            stream: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Every accepted connection speaks TLS as this server (`on_connect` at accept, then
    /// `on_tls_handshake` before its first `on_read`).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::TlsServer) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The server channel's own handler.
    pub fn handler(mut self, handler: impl Handler) -> Self {
        self.handler = Box::new(handler);
        self
    }

    /// Socket options for the listener and its connections.
    pub fn socket(mut self, options: SocketOptions) -> Self {
        self.socket = Some(options);
        self
    }

    /// Settings of the connections' streams.
    pub fn stream_config(mut self, config: impl Into<Arc<StreamConfig>>) -> Self {
        self.stream = Some(config.into());
        self
    }
}

impl std::fmt::Debug for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listen")
            .field("addr", &self.addr)
            .field("socket", &self.socket)
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

/// Opens a client stream: where to connect, its handler, and options.
pub struct Connect {
    pub(crate) addr: io::Result<Addr>,
    pub(crate) handler: Box<dyn Handler>,
    pub(crate) socket: Option<SocketOptions>,
    pub(crate) stream: Option<Arc<StreamConfig>>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::TlsClient>,
}

impl Connect {
    /// Connects to `addr` with `handler`.
    pub fn new(addr: impl IntoAddr, handler: impl Handler) -> Self {
        Self {
            addr: addr.into_addr(),
            handler: Box::new(handler),
            socket: None,
            stream: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Speaks TLS as this client once connected: `on_connect` when the transport is up,
    /// `on_tls_handshake` before the first `on_read`. The server's name is the connect
    /// address's host (a name or an IP address) unless the client sets one.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::TlsClient) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Socket options.
    pub fn socket(mut self, options: SocketOptions) -> Self {
        self.socket = Some(options);
        self
    }

    /// Settings of the stream.
    pub fn stream_config(mut self, config: impl Into<Arc<StreamConfig>>) -> Self {
        self.stream = Some(config.into());
        self
    }
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect")
            .field("addr", &self.addr)
            .field("socket", &self.socket)
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

/// Opens a datagram channel: where to bind, its handler, and options.
pub struct Bind {
    pub(crate) addr: io::Result<Addr>,
    pub(crate) handler: Box<dyn Handler>,
    pub(crate) socket: Option<SocketOptions>,
    pub(crate) config: Option<Arc<DatagramConfig>>,
}

impl Bind {
    /// Binds to `addr` with `handler`.
    pub fn new(addr: impl IntoAddr, handler: impl Handler) -> Self {
        Self {
            addr: addr.into_addr(),
            handler: Box::new(handler),
            socket: None,
            config: None,
        }
    }

    /// Socket options.
    pub fn socket(mut self, options: SocketOptions) -> Self {
        self.socket = Some(options);
        self
    }

    /// Settings of the datagram channel.
    pub fn config(mut self, config: impl Into<Arc<DatagramConfig>>) -> Self {
        self.config = Some(config.into());
        self
    }
}

impl std::fmt::Debug for Bind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bind")
            .field("addr", &self.addr)
            .field("socket", &self.socket)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
