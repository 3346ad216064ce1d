//! How one run of a check delivers a script: where the sent bytes are cut into deliveries,
//! and how the network treats the server's reads and writes.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::script::{Script, Step};
use crate::testing::rng::Rng;

/// One way to run a script: its cutting and the network's knobs. A check runs the script
/// [`Variant::whole`] first, then each variant of its plan, and compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Where the sent bytes are cut.
    pub cutting: Cutting,
    /// The most bytes one read of the server returns (`None`: the network's default, 64 KiB).
    pub read_chunk: Option<usize>,
    /// The most bytes one write of the server takes (`None`: no limit).
    pub write_chunk: Option<usize>,
    /// The most unread bytes a peer's socket holds before the server's writes block (`None`:
    /// the network's default, 4 MiB).
    pub window: Option<usize>,
}

/// Where a script's sent bytes are cut into deliveries. A delivery is sent to the server's
/// socket at once, then the network [runs](crate::testing::Network::run) until it rests.
///
/// Whatever the cutting, a peer's consecutive sends make one delivery unless a cut separates
/// them, and the other steps (an EOF, a reset, a clock move, another peer's send) always do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cutting {
    /// No cut: each peer's consecutive sends in one delivery.
    Whole,
    /// At the script's own send boundaries: each send is one delivery.
    AsScripted,
    /// After every byte.
    Bytewise,
    /// At these offsets into all the bytes sent (every peer's, in the script's order).
    At(Vec<usize>),
    /// At offsets drawn from this seed: deliveries of 1 to 16 bytes.
    Seeded(u64),
}

/// One thing done to the network during a run: a [`Step`], with sends cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    Send(usize, Bytes),
    Eof(usize),
    Reset(usize),
    Advance(Duration),
}

impl Variant {
    /// The input whole, on a friendly network: the run every other run is compared with.
    pub fn whole() -> Self {
        Self::cut(Cutting::Whole)
    }

    /// The input cut by `cutting`, on a friendly network.
    pub fn cut(cutting: Cutting) -> Self {
        Self {
            cutting,
            read_chunk: None,
            write_chunk: None,
            window: None,
        }
    }

    /// The input whole, read one byte per read.
    pub fn one_byte_reads() -> Self {
        Self {
            read_chunk: Some(1),
            ..Self::whole()
        }
    }

    /// The input whole; the server's writes take 7 bytes at most, and a peer's window holds
    /// 64: replies trickle out, one window a turn, and the server's queue backs up. (A reply
    /// of a megabyte takes more turns than [`Network::run`](crate::testing::Network::run)
    /// allows at one instant: check such protocols with
    /// [`Checker::variants`](super::Checker::variants) of their own.)
    pub fn short_writes_small_window() -> Self {
        Self {
            write_chunk: Some(7),
            window: Some(64),
            ..Self::whole()
        }
    }

    /// The offsets this variant cuts `script`'s bytes at.
    pub(crate) fn cuts(&self, script: &Script) -> BTreeSet<usize> {
        let len = script.len();
        match &self.cutting {
            Cutting::Whole => BTreeSet::new(),
            Cutting::AsScripted => {
                let mut at = 0;
                let mut cuts = BTreeSet::new();
                for (_, data) in script.sends() {
                    at += data.len();
                    cuts.insert(at);
                }
                cuts
            }
            Cutting::Bytewise => (1..len).collect(),
            Cutting::At(offsets) => offsets.iter().copied().collect(),
            Cutting::Seeded(seed) => {
                let mut rng = Rng::new(*seed);
                let mut cuts = BTreeSet::new();
                let mut at = 0;
                loop {
                    at += 1 + (rng.next_u64() % 16) as usize;
                    if at >= len {
                        return cuts;
                    }
                    cuts.insert(at);
                }
            }
        }
    }

    /// What a run of `script` does, in order.
    pub(crate) fn deliveries(&self, script: &Script) -> Vec<Delivery> {
        let cuts = self.cuts(script);
        let mut out = Vec::new();
        let mut pending: Option<(usize, BytesMut)> = None;
        let flush = |pending: &mut Option<(usize, BytesMut)>, out: &mut Vec<Delivery>| {
            if let Some((peer, data)) = pending.take()
                && !data.is_empty()
            {
                out.push(Delivery::Send(peer, data.freeze()));
            }
        };
        let mut offset = 0;
        for step in script.steps() {
            let (peer, data) = match step {
                Step::Send { peer, data } => (*peer, data),
                other => {
                    flush(&mut pending, &mut out);
                    out.push(match *other {
                        Step::Eof { peer } => Delivery::Eof(peer),
                        Step::Reset { peer } => Delivery::Reset(peer),
                        Step::Advance(by) => Delivery::Advance(by),
                        Step::Send { .. } => unreachable!("sends are matched above"),
                    });
                    continue;
                }
            };
            if pending.as_ref().is_some_and(|(p, _)| *p != peer) {
                flush(&mut pending, &mut out);
            }
            let mut rest = &data[..];
            while !rest.is_empty() {
                if cuts.contains(&offset) {
                    flush(&mut pending, &mut out);
                }
                let next_cut = cuts.range(offset + 1..).next().copied();
                let take = next_cut.map_or(rest.len(), |cut| (cut - offset).min(rest.len()));
                let buffer = &mut pending.get_or_insert_with(|| (peer, BytesMut::new())).1;
                buffer.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                offset += take;
            }
        }
        flush(&mut pending, &mut out);
        out
    }
}

impl fmt::Display for Variant {
    /// The cutting and the knobs that differ from a friendly network, in words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cutting {
            Cutting::Whole => write!(f, "input whole")?,
            Cutting::AsScripted => write!(f, "input cut as scripted")?,
            Cutting::Bytewise => write!(f, "input one byte at a time")?,
            Cutting::At(cuts) => write!(f, "input cut at {cuts:?}")?,
            Cutting::Seeded(seed) => write!(f, "input cut from seed {seed}")?,
        }
        if let Some(n) = self.read_chunk {
            write!(f, ", reads of {n} byte(s)")?;
        }
        if let Some(n) = self.write_chunk {
            write!(f, ", writes of {n} byte(s)")?;
        }
        if let Some(n) = self.window {
            write!(f, ", a window of {n} byte(s)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sends(deliveries: &[Delivery]) -> Vec<String> {
        deliveries
            .iter()
            .map(|d| match d {
                Delivery::Send(peer, data) => format!("{peer}:{}", data.escape_ascii()),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn whole_joins_a_peers_sends_until_another_step() {
        let script = Script::new()
            .send("ab")
            .send("cd")
            .send_from(1, "x")
            .send("ef")
            .eof()
            .send("gh");
        let deliveries = Variant::whole().deliveries(&script);
        assert_eq!(
            sends(&deliveries),
            ["0:abcd", "1:x", "0:ef", "Eof(0)", "0:gh"]
        );
    }

    #[test]
    fn cuts_split_sends_at_offsets_of_all_the_bytes_sent() {
        let script = Script::new().send("abc").send("de").send_from(1, "fg");
        let cut =
            |offsets: Vec<usize>| sends(&Variant::cut(Cutting::At(offsets)).deliveries(&script));
        assert_eq!(cut(vec![1, 3]), ["0:a", "0:bc", "0:de", "1:fg"]);
        assert_eq!(cut(vec![4, 6]), ["0:abcd", "0:e", "1:f", "1:g"]);
        let as_scripted = Variant::cut(Cutting::AsScripted).deliveries(&script);
        assert_eq!(sends(&as_scripted), ["0:abc", "0:de", "1:fg"]);
        let bytewise = Variant::cut(Cutting::Bytewise).deliveries(&script);
        assert_eq!(bytewise.len(), 7);
    }

    #[test]
    fn seeded_cuts_repeat_for_a_seed_and_keep_every_byte() {
        let script = Script::from(vec![b'x'; 200]);
        let a = Variant::cut(Cutting::Seeded(7)).cuts(&script);
        assert_eq!(a, Variant::cut(Cutting::Seeded(7)).cuts(&script));
        assert_ne!(a, Variant::cut(Cutting::Seeded(8)).cuts(&script));
        assert!(a.len() >= 200 / 16);
        let deliveries = Variant::cut(Cutting::Seeded(7)).deliveries(&script);
        let total: usize = deliveries
            .iter()
            .map(|d| match d {
                Delivery::Send(_, data) => data.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(total, 200);
    }
}
