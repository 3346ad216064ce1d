//! Host-name resolution off the event-loop thread: one resolver thread, whose answers wake
//! the loop through its waker.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

use mio::Waker;
use pants_core::ChannelId;

/// An answer: the channel that asked, and its address or why there is none.
pub(crate) type Answer = (ChannelId, io::Result<SocketAddr>);

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
                    let answer = (host.as_str(), port)
                        .to_socket_addrs()
                        .and_then(|mut addrs| {
                            addrs.next().ok_or_else(|| {
                                io::Error::new(
                                    io::ErrorKind::NotFound,
                                    format!("no address for {host}"),
                                )
                            })
                        });
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
