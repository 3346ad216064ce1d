//! Signals that stop the loop, caught without a thread: the handler writes a byte to a socket
//! pair whose other end the loop polls (the self-pipe trick, by `signal-hook`).
//!
//! No thread matters for speed, not only tidiness: in a process with more than one thread,
//! Linux takes and drops a reference to the file on every socket call (`fget`/`fput`), which
//! costs a busy server a few percent of its CPU.

use std::io::{self, Read};
use std::os::unix::net::UnixStream;

use mio::{Interest, Registry, Token};
use signal_hook::SigId;

/// The read end of the signal pipe and the handlers writing to it.
pub(crate) struct SignalPipe {
    read: mio::net::UnixStream,
    write: UnixStream,
    handlers: Vec<SigId>,
}

impl SignalPipe {
    /// A pipe whose read end is registered (readable, edge-triggered) under `token`.
    pub(crate) fn new(registry: &Registry, token: Token) -> io::Result<Self> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let mut read = mio::net::UnixStream::from_std(read);
        registry.register(&mut read, token, Interest::READABLE)?;
        Ok(Self {
            read,
            write,
            handlers: Vec::new(),
        })
    }

    /// Makes `signal` write to the pipe. Each handler owns a duplicate of the write end, which
    /// it closes when unregistered.
    pub(crate) fn catch(&mut self, signal: i32) -> io::Result<()> {
        // signal-hook panics on these rather than report an error.
        if signal_hook::consts::FORBIDDEN.contains(&signal) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("signal {signal} cannot or must not be caught"),
            ));
        }
        let id = signal_hook::low_level::pipe::register(signal, self.write.try_clone()?)?;
        self.handlers.push(id);
        Ok(())
    }

    /// Empties the pipe; true if a signal came.
    pub(crate) fn take(&mut self) -> bool {
        let mut caught = false;
        let mut buf = [0; 64];
        loop {
            match self.read.read(&mut buf) {
                Ok(0) => return caught,
                Ok(_) => caught = true,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // WouldBlock: drained. Nothing else can fail on a connected socket pair.
                Err(_) => return caught,
            }
        }
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        for id in self.handlers.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use pants_core::{Context, Frame, Handler};

    use crate::{Engine, signal};

    struct Quiet;
    impl Handler for Quiet {
        fn on_read(&mut self, _: &mut Context<'_>, _: Frame<'_>) {}
    }

    /// The only test of this process that raises SIGUSR1.
    #[test]
    fn a_caught_signal_stops_the_loop_gracefully() {
        let mut engine = Engine::new().unwrap();
        engine.listen("127.0.0.1:0", || Quiet).unwrap();
        engine.stop_on_signals(&[signal::SIGUSR1]).unwrap();
        engine.poll(Some(Duration::ZERO)).unwrap();
        assert!(
            !engine.is_finished(),
            "nothing asked the engine to stop yet"
        );
        assert_eq!(engine.channel_count(), 1);

        signal_hook::low_level::raise(signal::SIGUSR1).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !engine.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the signal did not stop the loop"
            );
            engine.poll(Some(Duration::from_secs(1))).unwrap();
        }
        assert_eq!(engine.channel_count(), 0, "the listener closed");
    }

    #[test]
    fn signals_that_must_not_be_caught_are_refused() {
        let mut engine = Engine::new().unwrap();
        for forbidden in [signal::SIGKILL, signal::SIGSTOP, signal::SIGSEGV] {
            let err = engine.stop_on_signals(&[forbidden]).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        }
        let err = engine.stop_on_signals(&[100_000]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    }
}
