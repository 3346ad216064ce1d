//! What it takes to open a channel: an address, a handler, and options with defaults.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::addr::Addr;
use crate::datagram::DatagramConfig;
use crate::handler::Handler;
use crate::io::SocketOptions;
use crate::stream::StreamConfig;

/// Anything that names an address: an [`Addr`]; a socket address or an `(ip, port)` pair; a
/// `(host, port)` pair as std's `ToSocketAddrs` takes it (an IP literal, or a host name the
/// driver resolves); a Unix socket's path; or a string to parse (`"127.0.0.1:80"`,
/// `"[::1]:80"`, `"example.com:80"`, `"unix:/run/app.sock"`, `"unix:@abstract"`).
///
/// ```
/// use std::net::Ipv4Addr;
/// use std::path::Path;
/// use pants_core::{Addr, IntoAddr};
///
/// let ip = ("127.0.0.1", 8080).into_addr()?;
/// assert_eq!(ip, (Ipv4Addr::LOCALHOST, 8080).into_addr()?);
/// assert_eq!(ip, "127.0.0.1:8080".into_addr()?);
/// assert!(matches!(("localhost", 80).into_addr()?, Addr::Host { .. }));
/// assert!(Path::new("/run/app.sock").into_addr()?.is_unix());
/// # Ok::<(), std::io::Error>(())
/// ```
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

impl IntoAddr for &String {
    fn into_addr(self) -> io::Result<Addr> {
        self.as_str().into_addr()
    }
}

impl IntoAddr for &SocketAddr {
    fn into_addr(self) -> io::Result<Addr> {
        Ok(Addr::Ip(*self))
    }
}

impl IntoAddr for SocketAddrV4 {
    fn into_addr(self) -> io::Result<Addr> {
        Ok(Addr::Ip(self.into()))
    }
}

impl IntoAddr for SocketAddrV6 {
    fn into_addr(self) -> io::Result<Addr> {
        Ok(Addr::Ip(self.into()))
    }
}

impl IntoAddr for (IpAddr, u16) {
    fn into_addr(self) -> io::Result<Addr> {
        Ok(Addr::Ip(self.into()))
    }
}

impl IntoAddr for (Ipv4Addr, u16) {
    fn into_addr(self) -> io::Result<Addr> {
        Ok(Addr::Ip(self.into()))
    }
}

impl IntoAddr for (Ipv6Addr, u16) {
    fn into_addr(self) -> io::Result<Addr> {
        Ok(Addr::Ip(self.into()))
    }
}

impl IntoAddr for (&str, u16) {
    fn into_addr(self) -> io::Result<Addr> {
        let (host, port) = self;
        match host.parse::<IpAddr>() {
            Ok(ip) => Ok(Addr::Ip(SocketAddr::new(ip, port))),
            // A host name, checked as in `HOST:PORT`.
            Err(_) => format!("{host}:{port}").into_addr(),
        }
    }
}

impl IntoAddr for (String, u16) {
    fn into_addr(self) -> io::Result<Addr> {
        (self.0.as_str(), self.1).into_addr()
    }
}

impl IntoAddr for &Path {
    fn into_addr(self) -> io::Result<Addr> {
        Ok(Addr::Unix(self.to_owned()))
    }
}

impl IntoAddr for PathBuf {
    fn into_addr(self) -> io::Result<Addr> {
        Ok(Addr::Unix(self))
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
