//! Line framing in instructions, not seconds: the variants of the `framing` bench (see
//! `framing_common`) over 4 MiB of `\r\n` lines, counted by gungraun under Valgrind's callgrind.
//! Counts barely move between runs, so a change's cost shows even on a noisy machine.
//!
//! Needs `gungraun-runner` at the version of the `gungraun` library in `Cargo.lock`;
//! `benches/framing.sh` installs it and prints the counts per input byte. Alone:
//! `cargo bench -p pants-core --bench framing_instructions`.
//!
//! The input is made by each benchmark's setup (not counted); the counts cover the variant
//! only, including dropping the buffers it was handed.

mod framing_common;

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use gungraun::{library_benchmark, library_benchmark_group};

use framing_common::Tally;

const BENCH_LEN: usize = 4 * 1024 * 1024;
const TEST_LEN: usize = 256 * 1024;

fn data() -> Bytes {
    framing_common::input(BENCH_LEN)
}

fn data_in_buf() -> BytesMut {
    BytesMut::from(&data()[..])
}

#[library_benchmark]
#[bench::input(data())]
fn memmem_count(data: Bytes) -> Tally {
    black_box(framing_common::memmem_count(black_box(&data)))
}

#[library_benchmark]
#[bench::input(data())]
fn framer_whole(data: Bytes) -> Tally {
    black_box(framing_common::framer_whole(black_box(data)))
}

#[library_benchmark]
#[bench::input(data())]
fn framer_chunked(data: Bytes) -> Tally {
    black_box(framing_common::framer_chunked(black_box(data)))
}

#[library_benchmark]
#[bench::input(data_in_buf())]
fn lines_codec_whole(mut buf: BytesMut) -> Tally {
    black_box(framing_common::lines_codec_whole(black_box(&mut buf)))
}

#[library_benchmark]
#[bench::input(data())]
fn lines_codec_chunked(data: Bytes) -> Tally {
    black_box(framing_common::lines_codec_chunked(black_box(&data)))
}

#[library_benchmark]
#[bench::input(data_in_buf())]
fn any_delimiter_whole(mut buf: BytesMut) -> Tally {
    black_box(framing_common::any_delimiter_whole(black_box(&mut buf)))
}

#[library_benchmark]
#[bench::input(data())]
fn any_delimiter_chunked(data: Bytes) -> Tally {
    black_box(framing_common::any_delimiter_chunked(black_box(&data)))
}

library_benchmark_group!(
    name = framing,
    benchmarks = [
        memmem_count,
        framer_whole,
        framer_chunked,
        lines_codec_whole,
        lines_codec_chunked,
        any_delimiter_whole,
        any_delimiter_chunked
    ]
);

/// Dispatches by how the binary was started:
///
/// - by `gungraun-runner`, under Valgrind, to run one benchmark (`--gungraun-run ...`): gungraun's
///   harness;
/// - by `cargo bench` (`--bench`): checks natively that every variant finds the same lines in
///   the benchmark input, then hands over to gungraun's harness, which starts the runner;
/// - by `cargo test --benches` / `--all-targets`, or cargo-nextest (no `--bench`): runs every
///   variant once on a small input and checks they agree, the one test listed by `--list`.
///   Neither Valgrind nor the runner is needed for that.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|arg| arg == flag);
    if args.first().is_some_and(|arg| arg == "--gungraun-run") {
        run_gungraun();
    } else if has("--bench") {
        framing_common::tally_all(&data());
        run_gungraun();
    } else if has("--list") {
        if !has("--ignored") {
            println!("variants_agree: test");
        }
    } else {
        let tally = framing_common::tally_all(&framing_common::input(TEST_LEN));
        println!("variants_agree: every variant found {} lines", tally.lines);
    }
}

/// Runs gungraun's harness. `gungraun::main!` expands to a `fn main`; expanded here, that
/// function is local to this one instead of being the binary's entry point.
fn run_gungraun() {
    gungraun::main!(library_benchmark_groups = framing);
    main();
}
