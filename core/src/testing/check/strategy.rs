//! Proptest strategies for chunkings and peer scripts (feature `proptest`): a property test
//! says "for any chunking" in one line.
//!
//! ```
//! use pants_core::testing::check::{self, strategy};
//! use pants_core::{Context, Frame, Handler};
//! use proptest::prelude::*;
//!
//! struct Echo;
//! impl Handler for Echo {
//!     fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
//!         let _ = cx.write(data);
//!     }
//! }
//!
//! proptest! {
//!     #![proptest_config(ProptestConfig::with_cases(16))]
//!     # // In your tests, `#[test]` goes here.
//!     fn echo_answers_the_same_however_the_input_is_cut(
//!         script in strategy::chunked("ping\r\npong\r\n")
//!     ) {
//!         check::check(|| Echo, script).assert_ok();
//!     }
//! }
//! # echo_answers_the_same_however_the_input_is_cut();
//! ```
//!
//! The check itself runs every script whole and cut in other ways too; what the strategy adds
//! is proptest's search, and its shrinking towards the fewest cuts and steps.

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::sample::select;

use super::script::{Script, Step};

/// One peer sends `input`, cut into sends at any positions (shrinking towards no cut), then
/// its EOF.
pub fn chunked(input: impl Into<Bytes>) -> impl Strategy<Value = Script> {
    let input = input.into();
    cut_points(input.len()).prop_map(move |cuts| {
        let mut script = Script::new();
        let mut start = 0;
        for end in cuts.into_iter().chain([input.len()]) {
            if end > start {
                script = script.send(input.slice(start..end));
            }
            start = end;
        }
        script.eof()
    })
}

/// Positions to cut `len` bytes at: increasing, each between 1 and `len - 1` (shrinking
/// towards none).
pub fn cut_points(len: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(any::<bool>(), len.saturating_sub(1)).prop_map(|cut_after| {
        let positions = cut_after.into_iter().enumerate();
        positions
            .filter(|(_, cut)| *cut)
            .map(|(i, _)| i + 1)
            .collect()
    })
}

/// Scripts of up to `steps` steps for `peers` peers: mostly sends, each of one to three of
/// `tokens` (a protocol's words: commands, delimiters, numbers, junk), and now and then a
/// peer's EOF or reset or a clock move of up to 10 s.
///
/// ```
/// use pants_core::testing::check::strategy;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let tokens = ["get ", "set ", "k", " 0 0 1", "\r\n", "x"];
/// let scripts = strategy::scripts(&tokens, 2, 20);
/// let script = scripts.new_tree(&mut TestRunner::default()).unwrap().current();
/// assert!(script.steps().len() <= 20 && script.peers() <= 2);
/// ```
pub fn scripts<T: AsRef<[u8]>>(
    tokens: &[T],
    peers: usize,
    steps: usize,
) -> impl Strategy<Value = Script> + use<T> {
    let tokens: Vec<Bytes> = tokens
        .iter()
        .map(|token| Bytes::copy_from_slice(token.as_ref()))
        .collect();
    let peer = 0..peers.max(1);
    let send = (
        peer.clone(),
        proptest::collection::vec(select(tokens), 1..=3),
    )
        .prop_map(|(peer, words)| Step::Send {
            peer,
            data: words.concat().into(),
        });
    let step = prop_oneof![
        8 => send,
        1 => peer.clone().prop_map(|peer| Step::Eof { peer }),
        1 => peer.prop_map(|peer| Step::Reset { peer }),
        1 => (0u64..=1000).prop_map(|tens| Step::Advance(Duration::from_millis(tens * 10))),
    ];
    proptest::collection::vec(step, 0..=steps).prop_map(|steps| {
        let mut script = Script::new();
        steps.into_iter().for_each(|step| script.push(step));
        script
    })
}
