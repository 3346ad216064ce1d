//! Signals that stop a loop, caught without a thread: the handler writes a byte to a socket
//! pair whose read end the loop's poller watches (the self-pipe trick, by `signal-hook`).
//!
//! No thread matters for speed, not only tidiness: in a process with more than one thread,
//! Linux takes and drops a reference to the file on every socket call (`fget`/`fput`), which
//! costs a busy server a few percent of its CPU.

use std::ffi::c_int;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;

use signal_hook::SigId;

/// The pipe's read end (its file descriptor is what a poller watches, readable) and the
/// handlers writing to it. Dropping it unregisters the handlers.
#[derive(Debug)]
pub struct SignalPipe {
    read: UnixStream,
    write: UnixStream,
    /// Behind a lock so that a pipe a poller owns (an `Async`) can still catch more.
    handlers: Mutex<Vec<SigId>>,
}

impl SignalPipe {
    /// A pipe no signal writes to yet.
    pub fn new() -> io::Result<Self> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        Ok(Self {
            read,
            write,
            handlers: Mutex::default(),
        })
    }

    /// Makes `signal` write to the pipe. Refused with an `InvalidInput` error for signals
    /// that cannot or must not be caught (`SIGKILL`, `SIGSTOP`, `SIGSEGV`, `SIGILL`, `SIGFPE`)
    /// and for numbers that are no signal.
    pub fn catch(&self, signal: c_int) -> io::Result<()> {
        // signal-hook panics on these rather than report an error.
        if signal_hook::consts::FORBIDDEN.contains(&signal) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("signal {signal} cannot or must not be caught"),
            ));
        }
        // Each handler owns a duplicate of the write end, which it closes when unregistered.
        let id = signal_hook::low_level::pipe::register(signal, self.write.try_clone()?)?;
        self.handlers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(id);
        Ok(())
    }

    /// Empties the pipe; true if a signal came.
    pub fn take(&self) -> bool {
        let mut caught = false;
        let mut buf = [0; 64];
        loop {
            match (&self.read).read(&mut buf) {
                Ok(0) => return caught,
                Ok(_) => caught = true,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // WouldBlock: empty. Nothing else can fail on a connected socket pair.
                Err(_) => return caught,
            }
        }
    }
}

impl AsFd for SignalPipe {
    /// The read end, readable when a signal came.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        let handlers = self.handlers.get_mut().unwrap_or_else(|p| p.into_inner());
        for id in handlers.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
