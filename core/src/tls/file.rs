//! `write_file` on a TLS stream: no `sendfile` (the kernel would send the file in clear), so
//! the file's bytes are read through the driver ([`Io::read_file`]) one record at a time,
//! encrypted, and written. Kernel TLS (rustls can hand its keys to the kernel) would let
//! `sendfile` work again; it is not used yet.

use std::io;
use std::time::Instant;

use crate::id::ChannelId;
use crate::io::Io;
use crate::stream::Stream;
use crate::write_queue::FileRange;

use super::transport::{retry, send_records};

/// Bytes of a file read at once: one full TLS record.
const FILE_CHUNK: usize = 16 * 1024;

/// Reads the next bytes of `range` (the head of `stream`'s queue) through `io`, has the
/// stream encrypt them, and writes the records (at most `max` bytes): what the engine does
/// for [`Transmit::ReadFile`](crate::channel::Transmit::ReadFile). Returns the bytes written
/// to the socket.
pub(crate) fn transmit_file(
    stream: &mut Stream,
    io: &mut dyn Io,
    id: ChannelId,
    now: Instant,
    range: &FileRange,
    max: usize,
) -> io::Result<usize> {
    let len = usize::try_from(range.len())
        .unwrap_or(usize::MAX)
        .min(FILE_CHUNK);
    let mut buf = vec![0; len];
    let n = retry(|| io.read_file(range, &mut buf))?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file ended before the range queued for it",
        ));
    }
    stream.handle_file_data(now, &buf[..n]);
    send_records(stream, io, id, max).unwrap_or(Ok(0))
}
