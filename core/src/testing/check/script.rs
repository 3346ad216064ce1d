//! What the peers of a protocol check do: bytes sent, EOF, resets and clock moves, in order;
//! and the script's byte format, for fuzzers and seed files.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

/// What scripted peers do to a server, in order: the input of a protocol check.
///
/// Every peer connects before the first step; peer `n` is the `n`-th connection the server
/// accepts. A script for one peer is built from its bytes (`Script::from("GET k\r\n")`), or
/// step by step:
///
/// ```
/// use std::time::Duration;
/// use pants_core::testing::check::Script;
///
/// let script = Script::new()
///     .send("set k 0 0 5\r\nhel")
///     .advance(Duration::from_millis(100))
///     .send("lo\r\n")
///     .eof();
/// assert_eq!(script.input(0), b"set k 0 0 5\r\nhello\r\n");
///
/// // Two chat clients, their lines interleaved.
/// let chat = Script::new().send_from(0, "hi ").send_from(1, "yo\n").send_from(0, "all\n");
/// assert_eq!(chat.peers(), 2);
/// ```
///
/// The sends are what the peers' bytes are; *how* they reach the server (in which reads) is
/// the check's business: it delivers them whole, as the script cut them, one byte at a time,
/// and cut at other places. A fuzzer gets a script from bytes with [`Script::decode`] (or, with
/// the `arbitrary` feature, as a fuzz target's argument), so it explores cuts, EOFs, resets and
/// timing as well as the bytes.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Script {
    steps: Vec<Step>,
}

/// One step of a [`Script`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Peer `peer` sends `data`.
    Send {
        /// Which peer (0 for a one-peer script).
        peer: usize,
        /// The bytes.
        data: Bytes,
    },
    /// Peer `peer` shuts down its write side: the server's channel reads EOF. It sends nothing
    /// more, but still reads.
    Eof {
        /// Which peer.
        peer: usize,
    },
    /// Peer `peer` resets its connection and is gone.
    Reset {
        /// Which peer.
        peer: usize,
    },
    /// The virtual clock moves forward (timers and timeouts due on the way fire).
    Advance(Duration),
}

/// Tag bits of the byte format: the peer in the top two bits, the operation in the others.
const PEER_SHIFT: u32 = 6;
const OP_MASK: u8 = 0x3f;
/// Operations 0 to 59 send the next 1 to 60 bytes.
const MAX_SEND: usize = 60;
const OP_EOF: u8 = 60;
const OP_RESET: u8 = 61;
const OP_ADVANCE_10MS: u8 = 62;
const OP_ADVANCE_S: u8 = 63;
/// The most peers the byte format names.
pub(crate) const MAX_ENCODED_PEERS: usize = 4;

impl Script {
    /// An empty script: the peers connect, then go away.
    pub fn new() -> Self {
        Self::default()
    }

    /// Peer 0 sends `data`.
    pub fn send(self, data: impl Into<Bytes>) -> Self {
        self.send_from(0, data)
    }

    /// Peer `peer` sends `data`.
    pub fn send_from(mut self, peer: usize, data: impl Into<Bytes>) -> Self {
        self.steps.push(Step::Send {
            peer,
            data: data.into(),
        });
        self
    }

    /// Peer 0 shuts down its write side.
    pub fn eof(self) -> Self {
        self.eof_from(0)
    }

    /// Peer `peer` shuts down its write side.
    pub fn eof_from(mut self, peer: usize) -> Self {
        self.steps.push(Step::Eof { peer });
        self
    }

    /// Peer 0 resets its connection.
    pub fn reset(self) -> Self {
        self.reset_from(0)
    }

    /// Peer `peer` resets its connection.
    pub fn reset_from(mut self, peer: usize) -> Self {
        self.steps.push(Step::Reset { peer });
        self
    }

    /// The clock moves forward by `by`.
    pub fn advance(mut self, by: Duration) -> Self {
        self.steps.push(Step::Advance(by));
        self
    }

    /// Adds a step.
    pub fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// How many peers take part: one more than the highest peer a step names, at least one.
    pub fn peers(&self) -> usize {
        let highest = self.steps.iter().filter_map(Step::peer).max().unwrap_or(0);
        highest + 1
    }

    /// Every byte peer `peer` sends, in order.
    pub fn input(&self, peer: usize) -> Vec<u8> {
        let mut input = Vec::new();
        for step in &self.steps {
            if let Step::Send { peer: p, data } = step
                && *p == peer
            {
                input.extend_from_slice(data);
            }
        }
        input
    }

    /// How many bytes all peers send together.
    pub fn len(&self) -> usize {
        self.sends().map(|(_, data)| data.len()).sum()
    }

    /// True when no peer sends a byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads a script from any bytes, never failing: the fuzzer's view of a script.
    ///
    /// The format is a list of steps, each a tag byte and what it needs. The tag's top two bits
    /// name the peer (0 to 3), its low six bits the operation: 0 to 59 sends the next 1 to 60
    /// bytes (what is left, at the end), 60 is an EOF, 61 a reset, 62 moves the clock by the
    /// next byte times 10 ms, 63 by the next byte in seconds. [`encode`](Self::encode) writes
    /// it, for seed files.
    ///
    /// ```
    /// use pants_core::testing::check::Script;
    ///
    /// let script = Script::decode(&[0x02, b'a', b'b', b'c', 60]);
    /// assert_eq!(script, Script::new().send("abc").eof());
    /// ```
    pub fn decode(mut bytes: &[u8]) -> Self {
        let mut script = Script::new();
        while let [tag, rest @ ..] = bytes {
            let peer = usize::from(tag >> PEER_SHIFT);
            let op = tag & OP_MASK;
            bytes = rest;
            let step = match op {
                OP_EOF => Step::Eof { peer },
                OP_RESET => Step::Reset { peer },
                OP_ADVANCE_10MS | OP_ADVANCE_S => {
                    let (&n, rest) = bytes.split_first().unwrap_or((&0, &[]));
                    bytes = rest;
                    let n = u64::from(n);
                    Step::Advance(if op == OP_ADVANCE_S {
                        Duration::from_secs(n)
                    } else {
                        Duration::from_millis(n * 10)
                    })
                }
                len => {
                    let len = (usize::from(len) + 1).min(bytes.len());
                    let (data, rest) = bytes.split_at(len);
                    bytes = rest;
                    if data.is_empty() {
                        continue;
                    }
                    Step::Send {
                        peer,
                        data: Bytes::copy_from_slice(data),
                    }
                }
            };
            script.steps.push(step);
        }
        script
    }

    /// Writes the script in the format [`decode`](Self::decode) reads: for the seed files of a
    /// fuzzer's corpus. Sends longer than 60 bytes are written as several (a script decoded
    /// again has them cut there), clock moves are rounded down to 10 ms, and empty sends
    /// vanish.
    ///
    /// # Panics
    ///
    /// When a step names a peer above 3: the format has no room for it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let tag = |peer: usize, op: u8| {
            assert!(
                peer < MAX_ENCODED_PEERS,
                "the script byte format names peers 0 to 3, not {peer}"
            );
            (peer as u8) << PEER_SHIFT | op
        };
        for step in &self.steps {
            match step {
                Step::Send { peer, data } => {
                    for chunk in data.chunks(MAX_SEND) {
                        out.push(tag(*peer, (chunk.len() - 1) as u8));
                        out.extend_from_slice(chunk);
                    }
                }
                Step::Eof { peer } => out.push(tag(*peer, OP_EOF)),
                Step::Reset { peer } => out.push(tag(*peer, OP_RESET)),
                Step::Advance(by) => {
                    let mut seconds = by.as_secs();
                    while seconds > 0 {
                        let n = seconds.min(255);
                        out.extend_from_slice(&[OP_ADVANCE_S, n as u8]);
                        seconds -= n;
                    }
                    let tens = by.subsec_millis() / 10;
                    if tens > 0 {
                        out.extend_from_slice(&[OP_ADVANCE_10MS, tens as u8]);
                    }
                }
            }
        }
        out
    }

    /// The sends, in order, with their peers.
    pub(crate) fn sends(&self) -> impl Iterator<Item = (usize, &Bytes)> {
        self.steps.iter().filter_map(|step| match step {
            Step::Send { peer, data } => Some((*peer, data)),
            _ => None,
        })
    }

    pub(crate) fn from_steps(steps: Vec<Step>) -> Self {
        Self { steps }
    }
}

impl Step {
    /// The peer the step is about (none for a clock move).
    pub fn peer(&self) -> Option<usize> {
        match self {
            Step::Send { peer, .. } | Step::Eof { peer } | Step::Reset { peer } => Some(*peer),
            Step::Advance(_) => None,
        }
    }
}

impl From<&[u8]> for Script {
    /// One peer sends these bytes.
    fn from(data: &[u8]) -> Self {
        Script::new().send(Bytes::copy_from_slice(data))
    }
}

impl<const N: usize> From<&[u8; N]> for Script {
    /// One peer sends these bytes.
    fn from(data: &[u8; N]) -> Self {
        Script::from(&data[..])
    }
}

impl From<&str> for Script {
    /// One peer sends this text.
    fn from(text: &str) -> Self {
        Script::from(text.as_bytes())
    }
}

impl From<Vec<u8>> for Script {
    /// One peer sends these bytes.
    fn from(data: Vec<u8>) -> Self {
        Script::new().send(data)
    }
}

impl fmt::Debug for Script {
    /// The steps as the builder calls that make them, bytes escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Script::new()")?;
        for step in &self.steps {
            match step {
                Step::Send { peer: 0, data } => write!(f, ".send(\"{}\")", data.escape_ascii())?,
                Step::Send { peer, data } => {
                    write!(f, ".send_from({peer}, \"{}\")", data.escape_ascii())?
                }
                Step::Eof { peer: 0 } => write!(f, ".eof()")?,
                Step::Eof { peer } => write!(f, ".eof_from({peer})")?,
                Step::Reset { peer: 0 } => write!(f, ".reset()")?,
                Step::Reset { peer } => write!(f, ".reset_from({peer})")?,
                Step::Advance(by) => write!(f, ".advance({by:?})")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_never_fails_and_reads_every_operation() {
        let bytes = [
            0x41,
            b'x',
            b'y',      // peer 1 sends "xy"
            0x80 | 60, // peer 2: EOF
            61,        // peer 0: reset
            62,
            7, // 70 ms
            63,
            2, // 2 s
            0x05,
            b'z', // peer 0 sends what is left: "z"
        ];
        let script = Script::decode(&bytes);
        let expected = Script::new()
            .send_from(1, "xy")
            .eof_from(2)
            .reset()
            .advance(Duration::from_millis(70))
            .advance(Duration::from_secs(2))
            .send("z");
        assert_eq!(script, expected);
        assert_eq!(script.peers(), 3);
        assert_eq!(Script::decode(&[62]), Script::new().advance(Duration::ZERO));
        assert_eq!(
            Script::decode(&[0x07]),
            Script::new(),
            "a send of nothing vanishes"
        );
    }

    #[test]
    fn encoding_round_trips_but_cuts_long_sends_and_rounds_time() {
        let long = vec![b'l'; 130];
        let script = Script::new()
            .send_from(3, "abc")
            .advance(Duration::from_millis(300_123))
            .send(long.clone())
            .eof_from(1)
            .reset_from(3);
        let decoded = Script::decode(&script.encode());
        let expected = Script::new()
            .send_from(3, "abc")
            .advance(Duration::from_secs(255))
            .advance(Duration::from_secs(45))
            .advance(Duration::from_millis(120))
            .send(long[..60].to_vec())
            .send(long[60..120].to_vec())
            .send(long[120..].to_vec())
            .eof_from(1)
            .reset_from(3);
        assert_eq!(decoded, expected);
        assert_eq!(decoded.input(0), long);
    }

    #[test]
    #[should_panic(expected = "peers 0 to 3")]
    fn encoding_a_fifth_peer_is_refused() {
        Script::new().send_from(4, "x").encode();
    }

    #[test]
    fn a_script_shows_as_the_calls_that_build_it() {
        let script = Script::new()
            .send("a\r\n")
            .send_from(1, "b")
            .eof()
            .advance(Duration::from_secs(1));
        assert_eq!(
            format!("{script:?}"),
            r#"Script::new().send("a\r\n").send_from(1, "b").eof().advance(1s)"#
        );
    }
}
