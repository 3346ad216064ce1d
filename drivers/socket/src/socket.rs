//! The sockets a channel can have, as the standard library's types.

use std::io;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{SocketAddr as UnixAddr, UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use pants_core::Addr;

/// One channel's socket: what the table holds and a driver's poller watches.
#[derive(Debug)]
pub enum Socket {
    /// A TCP listener, and whether the streams it accepts set `TCP_NODELAY`.
    TcpListener {
        /// The listening socket.
        listener: TcpListener,
        /// `TCP_NODELAY` for accepted streams.
        nodelay: bool,
    },
    /// A Unix stream listener, and the socket file it made (removed when it closes).
    UnixListener {
        /// The listening socket.
        listener: UnixListener,
        /// Its socket file, if it has one of its own (not an abstract name).
        path: Option<Box<OwnedPath>>,
    },
    /// A TCP stream, connected or connecting.
    Tcp(TcpStream),
    /// A Unix stream socket.
    Unix(UnixStream),
    /// A UDP socket.
    Udp(UdpSocket),
    /// A Unix datagram socket, and the socket file it made.
    UnixDatagram {
        /// The bound socket.
        socket: UnixDatagram,
        /// Its socket file, if it has one of its own.
        path: Option<Box<OwnedPath>>,
    },
}

/// A connected stream socket opened outside the engine, for
/// [`SocketEngine::adopt`](crate::SocketEngine::adopt): a TCP stream or a Unix stream socket.
#[derive(Debug)]
pub enum StreamSocket {
    /// A connected TCP stream.
    Tcp(TcpStream),
    /// A connected Unix stream socket.
    Unix(UnixStream),
}

impl From<TcpStream> for StreamSocket {
    fn from(stream: TcpStream) -> Self {
        StreamSocket::Tcp(stream)
    }
}

impl From<UnixStream> for StreamSocket {
    fn from(stream: UnixStream) -> Self {
        StreamSocket::Unix(stream)
    }
}

impl StreamSocket {
    /// The socket as the table keeps it: non-blocking, a TCP stream with `TCP_NODELAY` as
    /// `nodelay` says.
    pub(crate) fn into_socket(self, nodelay: bool) -> io::Result<Socket> {
        match self {
            StreamSocket::Tcp(stream) => {
                stream.set_nonblocking(true)?;
                stream.set_nodelay(nodelay)?;
                Ok(Socket::Tcp(stream))
            }
            StreamSocket::Unix(stream) => {
                stream.set_nonblocking(true)?;
                Ok(Socket::Unix(stream))
            }
        }
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Socket::TcpListener { listener, .. } => listener.as_fd(),
            Socket::UnixListener { listener, .. } => listener.as_fd(),
            Socket::Tcp(stream) => stream.as_fd(),
            Socket::Unix(stream) => stream.as_fd(),
            Socket::Udp(socket) => socket.as_fd(),
            Socket::UnixDatagram { socket, .. } => socket.as_fd(),
        }
    }
}

impl AsRef<Socket> for Socket {
    /// A socket is its own slot, for a poller that keeps nothing beside it.
    fn as_ref(&self) -> &Socket {
        self
    }
}

impl Socket {
    /// True for listeners, which are only ever read (accepted from).
    pub fn is_listener(&self) -> bool {
        matches!(
            self,
            Socket::TcpListener { .. } | Socket::UnixListener { .. }
        )
    }

    /// The socket file this socket made, removed when it closes.
    pub(crate) fn owned_path(&self) -> Option<&OwnedPath> {
        match self {
            Socket::UnixListener { path, .. } | Socket::UnixDatagram { path, .. } => {
                path.as_deref()
            }
            _ => None,
        }
    }

    pub(crate) fn local_addr(&self) -> io::Result<Addr> {
        match self {
            Socket::TcpListener { listener, .. } => listener.local_addr().map(Addr::Ip),
            Socket::UnixListener { listener, .. } => Ok(from_unix(&listener.local_addr()?)),
            Socket::Tcp(stream) => stream.local_addr().map(Addr::Ip),
            Socket::Unix(stream) => Ok(from_unix(&stream.local_addr()?)),
            Socket::Udp(socket) => socket.local_addr().map(Addr::Ip),
            Socket::UnixDatagram { socket, .. } => Ok(from_unix(&socket.local_addr()?)),
        }
    }

    pub(crate) fn peer_addr(&self) -> io::Result<Addr> {
        match self {
            Socket::Tcp(stream) => stream.peer_addr().map(Addr::Ip),
            Socket::Unix(stream) => Ok(from_unix(&stream.peer_addr()?)),
            _ => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

/// A socket file this process created, removed on close only while it is still that file.
#[derive(Debug, Clone)]
pub struct OwnedPath {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl OwnedPath {
    pub(crate) fn of(path: &Path) -> io::Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Removes the file, unless someone replaced it since (then it is theirs).
    pub(crate) fn remove(&self) {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::symlink_metadata(&self.path)
            && (meta.dev(), meta.ino()) == (self.dev, self.ino)
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A Unix socket address as an [`Addr`] (an unnamed one has an empty path).
pub(crate) fn from_unix(addr: &UnixAddr) -> Addr {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::linux::net::SocketAddrExt;
        if let Some(name) = addr.as_abstract_name() {
            return Addr::Abstract(name.to_vec());
        }
    }
    Addr::Unix(
        addr.as_pathname()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    )
}
