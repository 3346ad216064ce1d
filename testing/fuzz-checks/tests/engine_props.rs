//! Property tests of the engine (DESIGN.md sections 2 and 5): random interleavings of network
//! inputs and handler commands across several channels never break the ordering guarantees
//! and never panic.
//!
//! The scenario and its checks are the `engine` fuzz target's ([`engine`]): every channel runs
//! a probe handler that records its callbacks into a shared world and, for scripted channels,
//! runs the next small script of [`Cmd`]s from one pool that the whole case shares (writes to
//! this or another channel, also to ones that closed, closes, delimiters valid and invalid,
//! pause and resume, channel and engine timers and their cancels, clients, servers and
//! datagram channels opened from callbacks, now and then a deliberate panic). The pool is
//! finite, so every case comes to rest. The network side is a list of [`Op`]s: scripted
//! peers, engine-to-engine connections, datagrams, knobs and time. Here proptest generates the
//! [`Case`] instead of decoding it from the fuzzer's bytes: the scripts are `Op::Script` ops
//! before all the others, so the pool is full from the first op on.
//!
//! After every step the whole log is checked against the guarantees (incrementally), the
//! engine's own trace is compared with it, and every closed id must be gone from
//! `cx.channel`; at the end the network settles, echoes are compared with what peers sent,
//! a control echo pair must still echo, and `stop()` must finish the engine. Every property
//! runs all of these checks ([`engine::check_case`]); each has its own mix of commands and ops
//! ([`Mix`]) that stresses the guarantee in its name: [`connect_or_listen_comes_before_read`]
//! (guarantee 1), [`close_comes_once_and_last`] (2),
//! [`commands_on_other_channels_are_safe_and_never_reenter`] (3),
//! [`a_panic_closes_only_its_channel`] (4), [`the_engine_comes_to_rest`] (section 5, timers),
//! [`echoed_bytes_come_back_in_order`] and [`stop_finishes_and_closes_every_channel`]. 128
//! cases in all run in a few seconds; set `ENGINE_PROPS_CASES=n` for `n` cases per property in
//! a longer hunt.
//!
//! The core bugs these properties found are fixed; `core/tests/engine_regressions.rs` pins each
//! of them as the guarantee it now keeps, and the scenario steers around nothing.

use std::time::Duration;

use pants_core::StreamConfig;
use pants_fuzz_checks::engine::{self, Case, Cmd, Delim, ETimer, Knobs, Op};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

// ---- Strategies ------------------------------------------------------------------------------

fn delim() -> BoxedStrategy<Delim> {
    let common = prop_oneof![
        Just(Delim::None),
        vec(select(b";,\n".to_vec()), 0..3).prop_map(Delim::Bytes),
        (0usize..6).prop_map(Delim::Count),
        select(vec![1usize, 2, 3, 4, 8]).prop_map(Delim::Prefix),
        Just(Delim::KeptRef),
        Just(Delim::KeptValue),
    ];
    #[cfg(feature = "regex")]
    let common = prop_oneof![
        6 => common,
        1 => select(vec!["[;,]", "a*"]).prop_map(Delim::Regex),
    ];
    common.boxed()
}

fn etimer() -> impl Strategy<Value = ETimer> {
    prop_oneof![
        Just(ETimer::Callback),
        (0u16..300).prop_map(ETimer::Defer),
        (0u16..300).prop_map(ETimer::Cycle),
        Just(ETimer::EachTurn),
    ]
}

/// How often each kind of command and op comes: each property stresses its guarantee.
#[derive(Debug, Clone, Copy)]
struct Mix {
    /// Commands on other channels (writes, closes, delimiters, pauses).
    other: u32,
    /// Deliberate panics.
    panic: u32,
    /// Channel and engine timers, and cancels.
    timers: u32,
    /// Opening channels from callbacks.
    open: u32,
    /// Closes, resets and shutdowns, from handlers and peers.
    close: u32,
    /// Peers and their bytes, to echo servers most of all.
    peers: u32,
    /// Now and then a `cx.stop()` in the middle of the case.
    stop: bool,
}

const BALANCED: Mix = Mix {
    other: 2,
    panic: 1,
    timers: 2,
    open: 2,
    close: 2,
    peers: 2,
    stop: false,
};

fn cmd(mix: Mix) -> BoxedStrategy<Cmd> {
    let t = any::<u8>();
    let Mix {
        other,
        panic,
        timers,
        open,
        close,
        ..
    } = mix;
    let cmds = prop_oneof![
        4 => (1u8..40).prop_map(Cmd::Write),
        2 * other => (t, 1u8..40).prop_map(|(t, n)| Cmd::WriteOther(t, n)),
        other => (t, t, 1u8..40).prop_map(|(t, to, n)| Cmd::SendTo(t, to, n)),
        other => (t, 1u8..20).prop_map(|(t, n)| Cmd::Broadcast(t, n)),
        close => Just(Cmd::Close),
        close => Just(Cmd::CloseNow),
        close * other => t.prop_map(Cmd::CloseOther),
        close * other => t.prop_map(Cmd::CloseNowOther),
        3 => delim().prop_map(Cmd::Delim),
        other => (t, delim()).prop_map(|(t, d)| Cmd::DelimOther(t, d)),
        1 => Just(Cmd::Pause),
        2 => Just(Cmd::Resume),
        other => t.prop_map(Cmd::PauseOther),
        other => t.prop_map(Cmd::ResumeOther),
        other => (t, any::<(bool, bool)>()).prop_map(|(t, (s, d))| Cmd::Tune(t, s, d)),
        timers => (0u16..300).prop_map(Cmd::TimerAfter),
        timers => (0u16..300, 1u8..5).prop_map(|(ms, n)| Cmd::TimerEvery(ms, n)),
        timers => t.prop_map(Cmd::Cancel),
        timers => Just(Cmd::CancelThis),
        timers => (etimer(), 1u8..5).prop_map(|(k, n)| Cmd::EngineTimer(k, n)),
        open => t.prop_map(Cmd::Connect),
        open => t.prop_map(Cmd::Listen),
        open => t.prop_map(Cmd::Bind),
        panic => Just(Cmd::Panic),
    ];
    if mix.stop {
        prop_oneof![200 => cmds, 1 => Just(Cmd::Stop)].boxed()
    } else {
        cmds.boxed()
    }
}

fn chunk() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![3 => 0u8..0x80, 1 => select(b";,\n\x00\x01".to_vec())],
        1..40,
    )
}

fn op(mix: Mix) -> impl Strategy<Value = Op> {
    let t = any::<u8>();
    let Mix { peers, close, .. } = mix;
    prop_oneof![
        // Mostly to the echo server (ADDRS[1], or `localhost:2`).
        2 * peers => select(vec![1u8, 6]).prop_map(Op::PeerConnect),
        peers => t.prop_map(Op::PeerConnect),
        4 * peers => (t, chunk()).prop_map(|(p, d)| Op::Send(p, d)),
        close => t.prop_map(Op::Shutdown),
        close => t.prop_map(Op::Reset),
        close => t.prop_map(Op::ClosePeer),
        3 => t.prop_map(Op::Connect),
        1 => (t, any::<bool>()).prop_map(|(a, e)| Op::Listen(a, e)),
        1 => t.prop_map(Op::Bind),
        1 => Just(Op::PeerBind),
        peers => (t, t, chunk()).prop_map(|(p, to, d)| Op::SendTo(p, to, d)),
        2 => cmd(mix).prop_map(Op::Outside),
        1 => (1usize..8).prop_map(Op::ReadChunk),
        1 => (1usize..8).prop_map(Op::WriteChunk),
        1 => (1usize..16).prop_map(Op::Window),
        1 => (0u64..60).prop_map(Op::Latency),
        1 => prop::option::of(2usize..12).prop_map(Op::FdLimit),
        1 => vec(any::<bool>(), 1..4).prop_map(Op::FailAccepts),
        1 => (0u8..4).prop_map(Op::Faults),
        4 => Just(Op::Run),
        3 => Just(Op::Turn),
        3 => (0u64..1500).prop_map(Op::Advance),
    ]
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        select(vec![1usize, 2, 128]),
        select(vec![1usize, 64, 256 * 1024]),
        select(vec![
            Duration::from_millis(100),
            StreamConfig::DEFAULT_LINGER,
        ]),
        select(vec![
            None,
            Some(Duration::from_millis(50)),
            Some(Duration::from_secs(1)),
        ]),
        any::<(bool, bool, bool)>(),
        any::<u64>(),
    )
        .prop_map(
            |(accept_budget, read_budget, linger, idle, (half_open, small, discard), seed)| Knobs {
                accept_budget,
                read_budget,
                linger,
                idle,
                half_open,
                small_limits: small,
                discard,
                seed,
            },
        )
}

/// Knobs, up to 79 scripts of up to 3 commands each (one taken per callback of a scripted
/// channel and per engine-timer run), then 1 to 59 ops.
fn case(mix: Mix) -> impl Strategy<Value = Case> {
    (
        knobs(),
        vec(vec(cmd(mix), 0..4), 0..80),
        vec(op(mix), 1..60),
    )
        .prop_map(|(knobs, scripts, ops)| Case {
            knobs,
            ops: scripts.into_iter().map(Op::Script).chain(ops).collect(),
        })
}

/// `cases` per property (128 in all), or `ENGINE_PROPS_CASES` each when set, for a long hunt.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("ENGINE_PROPS_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(cases),
        max_shrink_iters: 4000,
        // Found cases become deterministic regression tests in core/tests/engine_regressions.rs.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Every property runs the whole scenario with every check (see [`engine::check_case`]); what
/// differs is the mix of commands and ops, which stresses the guarantee in its name.
fn property(case: &Case) -> Result<(), TestCaseError> {
    engine::check_case(case).map_err(TestCaseError::fail)
}

proptest! {
    #![proptest_config(config(24))]

    /// Guarantee 1: `on_connect` (streams) or `on_listen` (servers, datagram channels) comes
    /// first, before any `on_read`, with many connects, peers and reads.
    #[test]
    fn connect_or_listen_comes_before_read(
        case in case(Mix { open: 4, peers: 4, ..BALANCED }),
    ) {
        property(&case)?;
    }

    /// Guarantee 2: `on_close` exactly once and last (after `on_connect_error` for a failed
    /// connect); the id never comes back, `cx.channel(id)` finds nothing; with many closes
    /// from handlers, other channels and peers.
    #[test]
    fn close_comes_once_and_last(case in case(Mix { close: 5, ..BALANCED })) {
        property(&case)?;
    }

    /// Guarantee 3: commands on any channel (closed ones too) from callbacks, engine timers
    /// and outside never panic, and callbacks never nest.
    #[test]
    fn commands_on_other_channels_are_safe_and_never_reenter(
        case in case(Mix { other: 5, open: 3, ..BALANCED }),
    ) {
        property(&case)?;
    }

    /// Guarantee 4: a panic gives its channel `on_error`, then `on_close`, and the others
    /// keep working: the control echo pair still echoes at the end.
    #[test]
    fn a_panic_closes_only_its_channel(case in case(Mix { panic: 8, ..BALANCED })) {
        property(&case)?;
    }
}

proptest! {
    #![proptest_config(config(16))]

    /// Section 5: the engine never panics and always comes to rest (`Network::run` returns),
    /// with many channel and engine timers (`each_turn` ones cancel themselves), cancels
    /// from anywhere, also from inside; timers never fire early nor after they ended.
    #[test]
    fn the_engine_comes_to_rest(case in case(Mix { timers: 6, ..BALANCED })) {
        property(&case)?;
    }

    /// Bytes a peer sends to an echo stream come back in order, and all of them unless the
    /// stream was closed, paused or reset, whatever the chunking, window and latency.
    #[test]
    fn echoed_bytes_come_back_in_order(
        case in case(Mix { peers: 8, other: 1, close: 1, ..BALANCED }),
    ) {
        property(&case)?;
    }
}

proptest! {
    #![proptest_config(config(8))]

    /// Section 5: after `stop()` and enough time the engine is finished and every channel got
    /// exactly one `on_close`; with many channels opened from callbacks, and now and then a
    /// `cx.stop()` from a callback in the middle of the case.
    #[test]
    fn stop_finishes_and_closes_every_channel(
        case in case(Mix { open: 6, stop: true, ..BALANCED }),
    ) {
        property(&case)?;
    }
}
