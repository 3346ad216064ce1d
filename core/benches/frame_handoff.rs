//! What handing frames to a handler costs, apart from everything else the engine does: the
//! lines of 16 pipelined `GET`s (five each, as the RESP server reads them) cut from one shared
//! read chunk, either as `Bytes` slices that are then dropped (`split_to`: a reference count
//! up, and down again at the drop, each through the vtable), as the engine did before frames
//! were lent, or read in place from the lent chunk, as it does now. The difference per request
//! is what lending saves a handler that keeps no frame.
//!
//! `cargo bench -p pants-core --bench frame_handoff`: criterion prints the time per iteration of
//! both (80 frames); report them as a ratio. Under `cargo test --benches` each runs once, and
//! the two are checked to see the same frames.

use std::hint::black_box;

use bytes::Bytes;
use criterion::Criterion;

/// One `GET` as redis-benchmark sends it.
const GET: &[u8] = b"*2\r\n$3\r\nGET\r\n$16\r\nkey:000000001234\r\n";

/// The read: 16 pipelined `GET`s in one shared chunk, as the driver hands it over.
fn chunk() -> Bytes {
    Bytes::from(GET.repeat(16))
}

/// Cuts every line as a `Bytes` slice; returns the bytes seen.
fn bytes_slices(chunk: &Bytes) -> usize {
    let mut input = chunk.clone();
    let mut seen = 0;
    while let Some(at) = memchr::memchr(b'\n', &input) {
        let frame = black_box(input.split_to(at + 1));
        seen += frame.len();
    }
    seen
}

/// Reads every line in place; returns the bytes seen.
fn lent_slices(chunk: &Bytes) -> usize {
    let mut input: &[u8] = chunk;
    let mut seen = 0;
    while let Some(at) = memchr::memchr(b'\n', input) {
        let (frame, rest) = input.split_at(at + 1);
        seen += black_box(frame).len();
        input = rest;
    }
    seen
}

fn frame_handoff(c: &mut Criterion) {
    let chunk = chunk();
    assert_eq!(bytes_slices(&chunk), lent_slices(&chunk));
    assert_eq!(bytes_slices(&chunk), chunk.len());
    let mut group = c.benchmark_group("frame_handoff");
    group.bench_function("bytes_slices", |b| b.iter(|| bytes_slices(&chunk)));
    group.bench_function("lent_slices", |b| b.iter(|| lent_slices(&chunk)));
    group.finish();
}

criterion::criterion_group!(benches, frame_handoff);
criterion::criterion_main!(benches);
