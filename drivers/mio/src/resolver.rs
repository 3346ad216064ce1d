//! Host-name resolution off the event-loop thread: one resolver thread, whose answers wake
//! the loop through its waker.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

use mio::Waker;
use pants_core::{ChannelId, ResolveFailed};

/// An answer: the channel that asked, and its addresses (in the resolver's order) or why
/// there are none (marked as a lookup failure).
pub(crate) type Answer = (ChannelId, io::Result<Vec<SocketAddr>>);

pub(crate) struct Resolver {
    requests: Option<Sender<(ChannelId, String, u16)>>,
    answers: Arc<Mutex<Vec<Answer>>>,
    waker: Arc<Waker>,
}

impl Resolver {
    pub(crate) fn new(waker: Arc<Waker>) -> Self {
        Self {
            requests: None,
            answers: Arc::default(),
            waker,
        }
    }

    /// Asks for `host:port` on behalf of channel `id`; the thread starts on first use.
    pub(crate) fn resolve(&mut self, id: ChannelId, host: &str, port: u16) -> io::Result<()> {
        if self.requests.is_none() {
            self.requests = Some(self.spawn()?);
        }
        let requests = self.requests.as_ref().expect("started above");
        requests
            .send((id, host.to_owned(), port))
            .map_err(|_| io::Error::other("resolver thread is gone"))
    }

    /// Delivers `answer` as if the thread had sent it.
    #[cfg(test)]
    pub(crate) fn push_answer(&self, answer: Answer) {
        self.answers.lock().expect("not poisoned").push(answer);
    }

    /// The answers that arrived since the last call.
    pub(crate) fn take_answers(&mut self) -> Vec<Answer> {
        std::mem::take(
            &mut *self
                .answers
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        )
    }

    fn spawn(&self) -> io::Result<Sender<(ChannelId, String, u16)>> {
        let (sender, receiver) = mpsc::channel::<(ChannelId, String, u16)>();
        let answers = self.answers.clone();
        let waker = self.waker.clone();
        thread::Builder::new()
            .name("pants-resolver".into())
            .spawn(move || {
                for (id, host, port) in receiver {
                    let answer = match (host.as_str(), port).to_socket_addrs() {
                        Ok(addrs) => {
                            let addrs: Vec<SocketAddr> = addrs.collect();
                            if addrs.is_empty() {
                                let message = format!("no address for {host}");
                                let err = io::Error::new(io::ErrorKind::NotFound, message);
                                Err(ResolveFailed::wrap(err))
                            } else {
                                Ok(addrs)
                            }
                        }
                        Err(err) => Err(ResolveFailed::wrap(err)),
                    };
                    answers
                        .lock()
                        .unwrap_or_else(|poison| poison.into_inner())
                        .push((id, answer));
                    let _ = waker.wake();
                }
            })?;
        Ok(sender)
    }
}
