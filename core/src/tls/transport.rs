//! How the engine sends a TLS stream's records: rustls writes them to the socket itself,
//! through a writer on the driver ([`Io::write`]), from its own buffers. Copied into a buffer
//! of ours first (as a stream driven by hand gets them, from `poll_transmit`), every byte
//! sent was copied once more: two more copies cost a TLS echo at 50 connections 10-15% more
//! CPU per MB (`benches/tls.sh`), so one costs about 5-7%.

use std::io::{self, IoSlice, Write};

use crate::id::ChannelId;
use crate::io::Io;
use crate::stream::Stream;

/// Sends `stream`'s records through `io`, at most `max` bytes, when records are what it sends
/// next (encrypting more of its queue first, once the records before went out). `None` when
/// they are not: its clear bytes (STARTTLS) or a file's bytes go first, which take the
/// plaintext way (`Stream::poll_transmit`).
pub(crate) fn send_records(
    stream: &mut Stream,
    io: &mut dyn Io,
    id: ChannelId,
    max: usize,
) -> Option<io::Result<usize>> {
    if !stream.tls_records_next() {
        return None;
    }
    Some(stream.tls_send_records(&mut Transport { io, id, max }))
}

/// A stream's socket as a writer, for rustls: each write is one call of the driver's, of at
/// most `max` bytes (the channel's share of the turn).
struct Transport<'a> {
    io: &'a mut dyn Io,
    id: ChannelId,
    max: usize,
}

/// Slices given to the driver at once: rustls hands over at most 64 (its queue of records).
const SLICES: usize = 64;

impl Write for Transport<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut within = [IoSlice::new(&[]); SLICES];
        let mut count = 0;
        let mut left = self.max.max(1);
        for (slot, buf) in within.iter_mut().zip(bufs) {
            if left == 0 {
                break;
            }
            let take = buf.len().min(left);
            *slot = IoSlice::new(&buf[..take]);
            left -= take;
            count += 1;
        }
        retry(|| self.io.write(self.id, &within[..count]))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Retries a call interrupted by a signal.
pub(super) fn retry<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}
