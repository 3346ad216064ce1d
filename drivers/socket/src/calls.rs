//! The socket calls on the data path, through rustix where the standard library would take a
//! slower road.

use std::io::{self, IoSlice, Write};
use std::os::fd::AsFd;

use bytes::{Bytes, BytesMut};
use pants_core::Addr;
use pants_core::channel::FileRange;
use rustix::net::{RecvFlags, SendAncillaryBuffer, SendFlags};

use crate::socket::{Socket, from_unix};

/// Bytes asked of the kernel per read, at most.
pub(crate) const READ_SIZE: usize = 64 * 1024;
/// Below this much spare room, the shared read buffer is renewed before a read.
const MIN_READ: usize = 4 * 1024;
/// Room for one whole datagram (the default Unix datagram maximum; UDP carries 65,507).
pub(crate) const DATAGRAM_SIZE: usize = 212_992;

/// Reads what a stream socket has into the shared buffer's spare room and splits it off,
/// without copying; returns the bytes and the room they had (a read that filled less than
/// its room was short).
///
/// With `recv`, as [`send`] writes with `send`: `read(2)` and `writev(2)` reach the socket
/// through the file layer, which cost a RESP server at `-P 1` about 0.5 µs of kernel time per
/// request (BENCHMARKS.md, "The kernel's side").
pub(crate) fn recv(buf: &mut BytesMut, fd: impl AsFd) -> io::Result<(Bytes, usize)> {
    if buf.capacity() - buf.len() < MIN_READ {
        buf.reserve(READ_SIZE);
    }
    let spare = buf.spare_capacity_mut();
    let room = spare.len().min(READ_SIZE);
    let ((filled, _), _) = rustix::net::recv(fd, &mut spare[..room], RecvFlags::empty())?;
    let n = filled.len();
    // SAFETY: `recv` initialised the first `n` bytes of the spare capacity.
    unsafe { buf.set_len(buf.len() + n) };
    Ok((buf.split().freeze(), room))
}

/// Sends `slices` on a connected socket: `send` for one slice, else `sendmsg`; never raises
/// SIGPIPE.
pub(crate) fn send(fd: impl AsFd, slices: &[IoSlice<'_>]) -> io::Result<usize> {
    let flags = SendFlags::NOSIGNAL;
    let sent = match slices {
        [one] => rustix::net::send(fd, one, flags)?,
        _ => rustix::net::sendmsg(fd, slices, &mut SendAncillaryBuffer::default(), flags)?,
    };
    Ok(sent)
}

/// Sends at most `count` bytes of a file range with `sendfile` where the OS has it, and by
/// reading otherwise. The file ending before the range is an `UnexpectedEof` error.
pub(crate) fn send_file(
    mut stream: impl AsFd + Write,
    range: &FileRange,
    count: usize,
) -> io::Result<usize> {
    let sent = send_file_once(&mut stream, range, count)?;
    if sent == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file ended before the range queued for it",
        ));
    }
    Ok(sent)
}

/// Reads bytes of a file range from its offset into `buf` (for a TLS stream to encrypt).
pub(crate) fn read_file(range: &FileRange, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let len = usize::try_from(range.len()).map_or(buf.len(), |len| len.min(buf.len()));
    range.file().read_at(&mut buf[..len], range.offset())
}

fn send_file_once(
    stream: &mut (impl AsFd + Write),
    range: &FileRange,
    count: usize,
) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut offset = range.offset();
        match rustix::fs::sendfile(&*stream, range.file(), Some(&mut offset), count) {
            Ok(n) => return Ok(n),
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {} // not for this file
            Err(err) => return Err(err.into()),
        }
    }
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0; count.min(READ_SIZE)];
    let n = range.file().read_at(&mut buf, range.offset())?;
    if n == 0 {
        return Ok(0);
    }
    stream.write(&buf[..n])
}

/// Receives one whole datagram into `buf` (allocated on first use) and copies it out, with
/// its sender.
pub(crate) fn recv_from(buf: &mut Vec<u8>, socket: &Socket) -> io::Result<(Bytes, Addr)> {
    if buf.is_empty() {
        *buf = vec![0; DATAGRAM_SIZE];
    }
    let (n, from) = match socket {
        Socket::Udp(socket) => socket.recv_from(buf).map(|(n, from)| (n, Addr::Ip(from)))?,
        Socket::UnixDatagram { socket, .. } => socket
            .recv_from(buf)
            .map(|(n, from)| (n, from_unix(&from)))?,
        _ => return Err(unsupported()),
    };
    Ok((Bytes::copy_from_slice(&buf[..n]), from))
}

/// Sends one datagram to `to`: an IP address from a UDP socket, a Unix peer's path from a
/// Unix datagram socket.
pub(crate) fn send_to(socket: &Socket, data: &[u8], to: &Addr) -> io::Result<usize> {
    match (socket, to) {
        (Socket::Udp(socket), Addr::Ip(to)) => socket.send_to(data, *to),
        (Socket::UnixDatagram { socket, .. }, Addr::Unix(path)) => socket.send_to(data, path),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot send a datagram to {to} from this socket"),
        )),
    }
}

/// The error for a call the channel's kind of socket cannot make.
pub(crate) fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "not possible on this kind of socket",
    )
}
