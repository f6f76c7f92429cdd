//! The context-switch sampler's cost with 64 threads besides the benchmark's own: a round (what
//! the sampler thread does 10 times a second by default) over idle threads, and the most a
//! round can cost. CPU share = time per round × rounds per second.

use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::{Arc, Barrier};

fn sampler(c: &mut Criterion) {
    // 64 threads that exist for the whole benchmark, parked on a barrier.
    let done = Arc::new(Barrier::new(65));
    let threads: Vec<_> = (0..64)
        .map(|i| {
            let done = done.clone();
            std::thread::Builder::new()
                .name(format!("idle-{i}"))
                .spawn(move || {
                    done.wait();
                })
                .unwrap()
        })
        .collect();
    let mut tracker = lockscope::SamplerTracker::default();
    let n = lockscope::sampler_bench_round(&mut tracker);
    assert!(n >= 65, "read {n} threads");
    // Threads that did not run since the last round cost one `schedstat` read each.
    c.bench_function("sampler/round, 65 idle threads", |b| {
        b.iter(|| lockscope::sampler_bench_round(&mut tracker))
    });
    // The most a round can cost: every thread ran and is due for its switch counts.
    c.bench_function("sampler/round, 65 threads all read in full", |b| {
        b.iter(lockscope::sampler_bench_full_read)
    });
    done.wait();
    threads.into_iter().for_each(|t| t.join().unwrap());
}

criterion_group!(benches, sampler);
criterion_main!(benches);
