//! One run of a check: a fresh network and server, the script delivered as a variant says,
//! the peers gone, and what they saw.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use super::report::{Outcome, PeerOutcome, Problem};
use super::script::Script;
use super::variant::{Delivery, Variant};
use super::watch::{Bounds, Probe, Watch, Watched};
use crate::engine::{EngineConfig, Listen};
use crate::handler::Handler;
use crate::stream::StreamConfig;
use crate::testing::{Network, Peer};

/// Makes a fresh server's connection factory, for each run.
pub(crate) type MakeServer<H> = dyn Fn() -> Box<dyn FnMut() -> H>;

/// The server a check runs, and the bounds of its memory.
pub(crate) struct Setup<H> {
    pub(crate) make_server: Rc<MakeServer<H>>,
    pub(crate) config: Arc<StreamConfig>,
    pub(crate) held: Option<(Rc<Probe<H>>, usize)>,
    /// The write queue's bound (`None`: the configured hard write limit).
    pub(crate) queue_bound: Option<usize>,
}

/// The server's address on each run's network.
const ADDR: &str = "127.0.0.1:7";
/// The read size of the network when a variant does not set one.
const DEFAULT_READ_CHUNK: usize = 64 * 1024;

/// A peer's state during a run.
#[derive(Default)]
struct PeerState {
    /// It sent its EOF or reset: it sends nothing more.
    ended: bool,
    /// The server ended the connection before the peer did.
    closed_early: bool,
}

impl<H: Handler> Setup<H> {
    /// Runs `script` as `variant` says; a panic, memory over its bounds or a connection that
    /// did not close is the run's problem.
    pub(crate) fn run(&self, script: &Script, variant: &Variant) -> Result<Outcome, Problem> {
        let watch = Rc::new(RefCell::new(Watch::default()));
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            self.drive(script, variant, watch.clone())
        }))
        .map_err(|payload| Problem::Panic {
            message: panic_message(payload.as_ref()),
        })?;
        let watch = watch.borrow();
        if let Some(over) = &watch.over {
            return Err(Problem::OverLimit {
                peer: over.connection,
                what: over.what,
                size: over.size,
                bound: over.bound,
                callback: over.callback,
            });
        }
        let unclosed = watch
            .connections
            .iter()
            .enumerate()
            .find(|(_, c)| c.closes != 1 || c.after_close.is_some());
        if let Some((peer, connection)) = unclosed {
            return Err(Problem::NotClosed {
                peer,
                closes: connection.closes,
                after_close: connection.after_close,
            });
        }
        Ok(outcome)
    }

    fn drive(&self, script: &Script, variant: &Variant, watch: Rc<RefCell<Watch>>) -> Outcome {
        let mut net = self.network(variant, watch);
        let peers: Vec<Peer> = (0..script.peers())
            .map(|_| net.peer_connect(ADDR).expect("the run's server listens"))
            .collect();
        let mut states: Vec<PeerState> = peers.iter().map(|_| PeerState::default()).collect();
        net.run();
        for delivery in variant.deliveries(script) {
            match delivery {
                Delivery::Send(p, data) => {
                    if !states[p].ended
                        && !server_ended(&mut net, peers[p])
                        && net.try_send(peers[p], data).is_ok()
                    {
                        net.run();
                    }
                }
                Delivery::Eof(p) => end(&mut net, peers[p], &mut states[p], Network::shutdown),
                Delivery::Reset(p) => end(&mut net, peers[p], &mut states[p], Network::reset),
                Delivery::Advance(by) => net.advance(by),
            }
        }
        // The peers go away: each shuts down its side, and the server has the linger to close.
        for (peer, state) in peers.iter().zip(&mut states) {
            end(&mut net, *peer, state, Network::shutdown);
        }
        net.advance(self.config.linger + Duration::from_secs(1));
        let peers = peers
            .iter()
            .zip(states)
            .map(|(peer, state)| PeerOutcome {
                received: net.received(*peer),
                closed_early: state.closed_early,
            })
            .collect();
        Outcome { peers }
    }

    /// A fresh network for `variant`, its server listening, its handlers watched.
    fn network(&self, variant: &Variant, watch: Rc<RefCell<Watch>>) -> Network {
        let engine = EngineConfig {
            stream: self.config.clone(),
            propagate_panics: true,
            ..EngineConfig::default()
        };
        let mut net = Network::with_config(engine, 0);
        let read_chunk = variant.read_chunk.unwrap_or(DEFAULT_READ_CHUNK);
        net.set_read_chunk(read_chunk);
        if let Some(n) = variant.write_chunk {
            net.set_write_chunk(n);
        }
        if let Some(n) = variant.window {
            net.set_window(n);
        }
        let bounds = Rc::new(Bounds {
            held: self.held.clone(),
            queued: self.queue_bound.unwrap_or(self.config.write_limits.limit()),
            read_buffer: self.config.read_limits.hard_limit() + read_chunk,
        });
        let mut factory = (self.make_server)();
        let listen = Listen::new(ADDR, move || {
            Watched::new(factory(), watch.clone(), bounds.clone())
        });
        net.context()
            .listen_with(listen.stream_config(self.config.clone()))
            .expect("a fresh network listens at its one address");
        net
    }
}

/// The peer saw the server end the connection: its EOF, or a reset.
fn server_ended(net: &mut Network, peer: Peer) -> bool {
    net.saw_eof(peer) || net.was_reset(peer)
}

/// The peer ends its side with `how` (an EOF or a reset), unless it did already.
fn end(net: &mut Network, peer: Peer, state: &mut PeerState, how: fn(&mut Network, Peer)) {
    if state.ended {
        return;
    }
    state.ended = true;
    state.closed_early = server_ended(net, peer);
    how(net, peer);
    net.run();
}

/// The message of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_string())
}
