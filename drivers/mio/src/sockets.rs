//! Opening sockets with their options (socket2), and converting addresses.

use std::io;
use std::net::SocketAddr;
use std::os::unix::net::SocketAddr as UnixAddr;
use std::path::{Path, PathBuf};

use mio::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use pants_core::{Addr, SocketOptions};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// A TCP listener: `SO_REUSEADDR` always, `SO_REUSEPORT` and `IPV6_V6ONLY` as asked.
pub(crate) fn tcp_listener(addr: SocketAddr, options: &SocketOptions) -> io::Result<TcpListener> {
    let socket = ip_socket(addr, Type::STREAM, Protocol::TCP, options)?;
    socket.set_reuse_address(true)?;
    socket.bind(&SockAddr::from(addr))?;
    socket.listen(options.backlog.min(i32::MAX as u32) as i32)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// A non-blocking TCP connect, in progress.
pub(crate) fn tcp_connect(addr: SocketAddr, options: &SocketOptions) -> io::Result<TcpStream> {
    let socket = ip_socket(addr, Type::STREAM, Protocol::TCP, options)?;
    socket.set_tcp_nodelay(options.nodelay)?;
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(err) if err.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
        Err(err) => return Err(err),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// A UDP socket.
pub(crate) fn udp_socket(addr: SocketAddr, options: &SocketOptions) -> io::Result<UdpSocket> {
    let socket = ip_socket(addr, Type::DGRAM, Protocol::UDP, options)?;
    socket.bind(&SockAddr::from(addr))?;
    Ok(UdpSocket::from_std(socket.into()))
}

fn ip_socket(
    addr: SocketAddr,
    kind: Type,
    protocol: Protocol,
    options: &SocketOptions,
) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(addr),
        kind.nonblocking().cloexec(),
        Some(protocol),
    )?;
    if options.reuse_port {
        socket.set_reuse_port(true)?;
    }
    if let (SocketAddr::V6(_), Some(only_v6)) = (addr, options.only_v6) {
        socket.set_only_v6(only_v6)?;
    }
    Ok(socket)
}

/// A socket file this process created, removed on close only while it is still that file.
pub(crate) struct OwnedPath {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl OwnedPath {
    fn of(path: &Path) -> io::Result<Self> {
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

/// A Unix stream listener. A socket file left at `path` by a process that is gone (nothing
/// accepts on it) is removed first; a live one, or any other file, is an `AddrInUse` error.
/// The check never blocks: it is a non-blocking connect (which a live server may see as a
/// connection that closes at once).
pub(crate) fn unix_listener(addr: &Addr) -> io::Result<(UnixListener, Option<OwnedPath>)> {
    match addr {
        Addr::Unix(path) => {
            remove_stale(path, Type::STREAM)?;
            let listener = UnixListener::bind(path)?;
            Ok((listener, Some(OwnedPath::of(path)?)))
        }
        Addr::Abstract(name) => Ok((UnixListener::bind_addr(&abstract_addr(name)?)?, None)),
        _ => Err(io::ErrorKind::InvalidInput.into()),
    }
}

/// A Unix stream connect, in progress.
pub(crate) fn unix_connect(addr: &Addr) -> io::Result<UnixStream> {
    match addr {
        Addr::Unix(path) => UnixStream::connect(path),
        Addr::Abstract(name) => UnixStream::connect_addr(&abstract_addr(name)?),
        _ => Err(io::ErrorKind::InvalidInput.into()),
    }
}

/// A Unix datagram socket; stale socket files are handled as for listeners.
pub(crate) fn unix_datagram(addr: &Addr) -> io::Result<(UnixDatagram, Option<OwnedPath>)> {
    match addr {
        Addr::Unix(path) => {
            remove_stale(path, Type::DGRAM)?;
            let socket = UnixDatagram::bind(path)?;
            Ok((socket, Some(OwnedPath::of(path)?)))
        }
        Addr::Abstract(name) => Ok((UnixDatagram::bind_addr(&abstract_addr(name)?)?, None)),
        _ => Err(io::ErrorKind::InvalidInput.into()),
    }
}

/// Removes the socket file at `path` when a non-blocking connect of `kind` finds nobody
/// behind it (`ECONNREFUSED`). A live socket (connected, or a full backlog), or a file that is
/// not a socket, is an `AddrInUse` error and is left alone.
fn remove_stale(path: &Path, kind: Type) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        let message = format!("{} exists and is not a socket", path.display());
        return Err(io::Error::new(io::ErrorKind::AddrInUse, message));
    }
    let probe = Socket::new(Domain::UNIX, kind.nonblocking().cloexec(), None)?;
    match probe.connect(&SockAddr::unix(path)?) {
        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => std::fs::remove_file(path),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("{} is in use", path.display()),
        )),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_addr(name: &[u8]) -> io::Result<UnixAddr> {
    use std::os::linux::net::SocketAddrExt;
    UnixAddr::from_abstract_name(name)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_addr(_: &[u8]) -> io::Result<UnixAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract Unix sockets are Linux-only",
    ))
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
