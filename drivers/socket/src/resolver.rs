//! Host names resolved off the event loop: one resolver thread, started on first use, whose
//! answers wake the loop through the callback its driver gives.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

use pants_core::ChannelId;

/// Wakes a driver's loop from another thread.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// An answer: the channel that asked, and its addresses (in the resolver's order) or why
/// there are none (marked as a lookup failure).
pub(crate) type Answer = (ChannelId, io::Result<Vec<SocketAddr>>);

pub(crate) struct Resolver {
    requests: Option<Sender<(ChannelId, String, u16)>>,
    answers: Arc<Mutex<Vec<Answer>>>,
    wake: Wake,
}

impl Resolver {
    pub(crate) fn new(wake: Wake) -> Self {
        Self {
            requests: None,
            answers: Arc::default(),
            wake,
        }
    }

    /// Asks for `host:port` on behalf of channel `id`; the thread starts on first use.
    pub(crate) fn resolve(&mut self, id: ChannelId, host: &str, port: u16) -> io::Result<()> {
        let requests = match &self.requests {
            Some(requests) => requests,
            None => self.requests.insert(self.spawn()?),
        };
        requests
            .send((id, host.to_owned(), port))
            .map_err(|_| io::Error::other("the resolver thread is gone"))
    }

    /// The answers that arrived since the last call.
    pub(crate) fn take_answers(&mut self) -> Vec<Answer> {
        std::mem::take(&mut *self.answers.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn spawn(&self) -> io::Result<Sender<(ChannelId, String, u16)>> {
        let (sender, receiver) = mpsc::channel::<(ChannelId, String, u16)>();
        let answers = self.answers.clone();
        let wake = self.wake.clone();
        thread::Builder::new()
            .name("pants-resolver".into())
            .spawn(move || {
                // Ends when the table (the sender) is dropped.
                for (id, host, port) in receiver {
                    let answer = lookup(&host, port);
                    answers
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((id, answer));
                    wake();
                }
            })?;
        Ok(sender)
    }
}

/// The addresses of `host:port`; none is a `NotFound` error.
fn lookup(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    if addrs.is_empty() {
        let message = format!("no address for {host}");
        return Err(io::Error::new(io::ErrorKind::NotFound, message));
    }
    Ok(addrs)
}
