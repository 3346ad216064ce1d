//! Line framing throughput: pants' `Framer` beside tokio-util's `LinesCodec` and
//! `AnyDelimiterCodec`, and a bare `memmem` count of `\r\n` as the ceiling, over 64 MiB of
//! `\r\n` lines, each fed whole and in 64 KiB chunks. See `framing_common` for the variants.
//!
//! Run it with `benches/framing.sh` (which also prints the GB/s table and the instruction
//! counts), or alone with `cargo bench -p pants-core --bench framing`. Under `cargo test
//! --benches` (no `--bench` flag) criterion runs each variant once, and the input shrinks to
//! 1 MiB so that this stays a quick check.

mod framing_common;

use std::cell::OnceCell;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, SamplingMode, Throughput};

use framing_common::{
    any_delimiter_chunked, any_delimiter_whole, framer_chunked, framer_whole, input,
    lines_codec_chunked, lines_codec_whole, memmem_count, tally_all,
};

const BENCH_LEN: usize = 64 * 1024 * 1024;
const TEST_LEN: usize = 1024 * 1024;

fn framing(c: &mut Criterion) {
    // Made when the first variant runs, so that `--list` and filters that match nothing are
    // quick; every variant's line count is checked then, outside the measured loops.
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let len = if measuring { BENCH_LEN } else { TEST_LEN };
    let cell = OnceCell::new();
    let data = || {
        cell.get_or_init(|| {
            let data = input(len);
            let tally = tally_all(&data);
            eprintln!(
                "framing input: {} bytes, {} lines; every variant agrees",
                data.len(),
                tally.lines
            );
            data
        })
    };

    let mut group = c.benchmark_group("framing");
    group
        .throughput(Throughput::BytesDecimal(len as u64))
        // One iteration takes 10 to 50 ms: few samples of one iteration each.
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6));

    group.bench_function("memmem_count", |b| {
        let data = data();
        b.iter(|| memmem_count(data))
    });
    group.bench_function("framer_whole", |b| {
        let data = data();
        b.iter(|| framer_whole(data.clone()))
    });
    group.bench_function("framer_chunked", |b| {
        let data = data();
        b.iter(|| framer_chunked(data.clone()))
    });
    // The codecs own a mutable buffer: copying the input into it and freeing it are not timed.
    group.bench_function("lines_codec_whole", |b| {
        let data = data();
        b.iter_batched_ref(
            || BytesMut::from(&data[..]),
            lines_codec_whole,
            BatchSize::PerIteration,
        )
    });
    group.bench_function("lines_codec_chunked", |b| {
        let data = data();
        b.iter(|| lines_codec_chunked(data))
    });
    group.bench_function("any_delimiter_whole", |b| {
        let data = data();
        b.iter_batched_ref(
            || BytesMut::from(&data[..]),
            any_delimiter_whole,
            BatchSize::PerIteration,
        )
    });
    group.bench_function("any_delimiter_chunked", |b| {
        let data = data();
        b.iter(|| any_delimiter_chunked(data))
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    framing(&mut criterion);
    criterion.final_summary();
}
