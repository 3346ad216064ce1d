//! Opening sockets with their options (socket2): every socket non-blocking and
//! close-on-exec from its first system call.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::Path;

use pants_core::{Addr, SocketOptions};
use rustix::net::SocketFlags;
use socket2::{Domain, Protocol, SockAddr, Type};

use crate::socket::{OwnedPath, Socket};

/// A listening socket for `addr`: TCP (`SO_REUSEADDR` always, `SO_REUSEPORT` and
/// `IPV6_V6ONLY` as asked) or Unix (where `SO_REUSEPORT` means nothing). A Unix socket file left by a process that is gone is
/// replaced; a live one, or any other file, is an `AddrInUse` error.
pub(crate) fn listener(addr: &Addr, options: &SocketOptions) -> io::Result<Socket> {
    let backlog = options.backlog.min(i32::MAX as u32) as i32;
    if addr.is_unix() {
        let (socket, path) = unix_bound(addr, Type::STREAM)?;
        socket.listen(backlog)?;
        let listener = socket.into();
        return Ok(Socket::UnixListener { listener, path });
    }
    let addr = ip_of(addr)?;
    let socket = ip_socket(addr, Type::STREAM, Protocol::TCP, options)?;
    socket.set_reuse_address(true)?;
    share_port(&socket, options)?;
    socket.bind(&SockAddr::from(addr))?;
    socket.listen(backlog)?;
    Ok(Socket::TcpListener {
        listener: socket.into(),
        nodelay: options.nodelay,
    })
}

/// Accepts one connection of `listener`, non-blocking (`WouldBlock` when none is pending).
pub(crate) fn accept(listener: &Socket) -> io::Result<Socket> {
    let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
    match listener {
        Socket::TcpListener { listener, nodelay } => {
            let stream = std::net::TcpStream::from(rustix::net::accept_with(listener, flags)?);
            stream.set_nodelay(*nodelay)?;
            Ok(Socket::Tcp(stream))
        }
        Socket::UnixListener { listener, .. } => {
            let fd = rustix::net::accept_with(listener.as_fd(), flags)?;
            Ok(Socket::Unix(fd.into()))
        }
        _ => Err(crate::calls::unsupported()),
    }
}

/// A non-blocking connect to an IP or Unix address, in progress. `SO_REUSEPORT` is not set,
/// whatever the options say: it shares a port between listening or bound sockets, and on an
/// outgoing connect it would only let the kernel pick a local port another socket holds.
pub(crate) fn connect(addr: &Addr, options: &SocketOptions) -> io::Result<Socket> {
    let (socket, target) = match addr {
        Addr::Ip(ip) => {
            let socket = ip_socket(*ip, Type::STREAM, Protocol::TCP, options)?;
            socket.set_tcp_nodelay(options.nodelay)?;
            (socket, SockAddr::from(*ip))
        }
        Addr::Unix(_) | Addr::Abstract(_) => {
            let socket = socket2::Socket::new(Domain::UNIX, unix_type(Type::STREAM), None)?;
            (socket, unix_addr(addr)?)
        }
        Addr::Host { .. } => return Err(io::ErrorKind::InvalidInput.into()),
    };
    match socket.connect(&target) {
        Ok(()) => {}
        Err(err) if err.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
        Err(err) if err.kind() == io::ErrorKind::WouldBlock && addr.port().is_some() => {}
        Err(err) => return Err(err),
    }
    Ok(match addr {
        Addr::Ip(_) => Socket::Tcp(socket.into()),
        _ => Socket::Unix(socket.into()),
    })
}

/// A datagram socket bound to `addr`: UDP, or Unix (stale socket files handled as for
/// listeners).
pub(crate) fn datagram(addr: &Addr, options: &SocketOptions) -> io::Result<Socket> {
    if addr.is_unix() {
        let (socket, path) = unix_bound(addr, Type::DGRAM)?;
        return Ok(Socket::UnixDatagram {
            socket: socket.into(),
            path,
        });
    }
    let addr = ip_of(addr)?;
    let socket = ip_socket(addr, Type::DGRAM, Protocol::UDP, options)?;
    share_port(&socket, options)?;
    socket.bind(&SockAddr::from(addr))?;
    Ok(Socket::Udp(socket.into()))
}

fn ip_socket(
    addr: SocketAddr,
    kind: Type,
    protocol: Protocol,
    options: &SocketOptions,
) -> io::Result<socket2::Socket> {
    let socket = socket2::Socket::new(
        Domain::for_address(addr),
        kind.nonblocking().cloexec(),
        Some(protocol),
    )?;
    if let (SocketAddr::V6(_), Some(only_v6)) = (addr, options.only_v6) {
        socket.set_only_v6(only_v6)?;
    }
    Ok(socket)
}

/// `SO_REUSEPORT` on a socket about to be bound, when asked: for listeners and datagram
/// sockets only (one per engine of a group, on one port).
fn share_port(socket: &socket2::Socket, options: &SocketOptions) -> io::Result<()> {
    if options.reuse_port {
        socket.set_reuse_port(true)?;
    }
    Ok(())
}

fn unix_type(kind: Type) -> Type {
    kind.nonblocking().cloexec()
}

/// A Unix socket of `kind` bound to `addr`, with the socket file it made.
fn unix_bound(addr: &Addr, kind: Type) -> io::Result<(socket2::Socket, Option<Box<OwnedPath>>)> {
    if let Addr::Unix(path) = addr {
        remove_stale(path, kind)?;
    }
    let socket = socket2::Socket::new(Domain::UNIX, unix_type(kind), None)?;
    socket.bind(&unix_addr(addr)?)?;
    let path = match addr {
        Addr::Unix(path) => Some(Box::new(OwnedPath::of(path)?)),
        _ => None,
    };
    Ok((socket, path))
}

/// Removes the socket file at `path` when a non-blocking connect of `kind` finds nobody
/// behind it (`ECONNREFUSED`). A live socket (connected, or a full backlog), or a file that is
/// not a socket, is an `AddrInUse` error and is left alone. The check never blocks (a live
/// server may see it as a connection that closes at once).
fn remove_stale(path: &Path, kind: Type) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        let message = format!("{} exists and is not a socket", path.display());
        return Err(io::Error::new(io::ErrorKind::AddrInUse, message));
    }
    let probe = socket2::Socket::new(Domain::UNIX, unix_type(kind), None)?;
    match probe.connect(&SockAddr::unix(path)?) {
        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => std::fs::remove_file(path),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("{} is in use", path.display()),
        )),
    }
}

/// The socket address of a Unix path or abstract name.
fn unix_addr(addr: &Addr) -> io::Result<SockAddr> {
    match addr {
        Addr::Unix(path) => SockAddr::unix(path),
        Addr::Abstract(name) => abstract_addr(name),
        _ => Err(io::ErrorKind::InvalidInput.into()),
    }
}

/// An abstract name is a path that starts with a NUL byte.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_addr(name: &[u8]) -> io::Result<SockAddr> {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let bytes = [&[0], name].concat();
    SockAddr::unix(OsStr::from_bytes(&bytes))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_addr(_: &[u8]) -> io::Result<SockAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract Unix sockets are Linux-only",
    ))
}

/// The IP address to bind to: a host name (rare: `localhost:0`) is resolved on the spot.
fn ip_of(addr: &Addr) -> io::Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    match addr {
        Addr::Ip(addr) => Ok(*addr),
        Addr::Host { host, port } => {
            (host.as_str(), *port)
                .to_socket_addrs()?
                .next()
                .ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, format!("no address for {host}"))
                })
        }
        _ => Err(io::ErrorKind::InvalidInput.into()),
    }
}

#[cfg(test)]
mod tests {
    use pants_core::{Addr, SocketOptions};
    use socket2::SockRef;

    use super::{connect, datagram, listener};

    fn sharing() -> SocketOptions {
        SocketOptions {
            reuse_port: true,
            ..SocketOptions::default()
        }
    }

    fn reuses_port(socket: &crate::Socket) -> bool {
        SockRef::from(socket)
            .reuse_port()
            .expect("read SO_REUSEPORT")
    }

    #[test]
    fn reuse_port_is_set_on_listeners_and_datagram_sockets_only() {
        let loopback: Addr = "127.0.0.1:0".parse().unwrap();
        let server = listener(&loopback, &sharing()).unwrap();
        assert!(reuses_port(&server), "a listener asked to share its port");
        let bound = datagram(&loopback, &sharing()).unwrap();
        assert!(
            reuses_port(&bound),
            "a datagram socket asked to share its port"
        );

        let at = server.local_addr().unwrap();
        let client = connect(&at, &sharing()).unwrap();
        assert!(
            !reuses_port(&client),
            "an outgoing connect never shares a port"
        );
    }

    #[test]
    fn listeners_sharing_a_port_bind_it_together() {
        let first = listener(&"127.0.0.1:0".parse().unwrap(), &sharing()).unwrap();
        let at = first.local_addr().unwrap();
        let second = listener(&at, &sharing()).unwrap();
        assert_eq!(second.local_addr().unwrap(), at);
        let err = listener(&at, &SocketOptions::default()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
    }
}
