//! How `lockscope report` scales: decoding a 10-million-event trace and building the model and
//! the lock table from it.
//!
//! The trace is generated once into `$CARGO_TARGET_TMPDIR/lockscope-scale.lst` (its path and
//! size are printed) so the same file can be fed to the binary for a peak-memory reading:
//!
//! ```text
//! cargo bench -p lockscope-viewer --bench scale
//! /usr/bin/time -v target/release/lockscope report --json target/tmp/lockscope-scale.lst >/dev/null
//! ```
//!
//! `LOCKSCOPE_BENCH_COUNT=load` (or `filter`, `load:3`) runs the work that many times without
//! criterion and prints the thread's CPU time, for `perf stat` or `valgrind` to count:
//!
//! ```text
//! LOCKSCOPE_BENCH_COUNT=load perf stat -e instructions:u target/release/deps/scale-* --bench
//! ```
//!
//! The same work is measured twice: in wall time, and in the CPU time of the benchmark's
//! thread (`scale_cpu`, from `/proc/thread-self/schedstat`). The load is single-threaded, so on
//! an idle machine the two agree; on a shared one the wall time also counts the time other
//! processes had the CPU, and the CPU time is the figure that can be compared between runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lockscope_format::{
    ActorKind, Header, Histogram, LockKind, Mode, Outcome, Record, VERSION, write_chunk,
};
use lockscope_viewer::model;

/// Events (`WaitBegin`, `WaitEnd`, `Hold`) in the generated trace.
const EVENTS: u64 = 10_000_000;
const CLASSES: u64 = 100;
const LOCKS: u64 = 1_000;
const ACTORS: u64 = 64;
const STACKS: u64 = 200;
/// Payload bytes per chunk, as the probe's recorder flushes them.
const CHUNK: usize = 64 << 10;

/// A small deterministic generator (xorshift64*), so every run measures the same trace.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Encodes records into 64 KB chunks appended to `out`.
struct Writer {
    out: Vec<u8>,
    payload: Vec<u8>,
}

impl Writer {
    fn push(&mut self, r: &Record) {
        r.encode(&mut self.payload);
        if self.payload.len() >= CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.payload.is_empty() {
            write_chunk(&mut self.out, &self.payload);
            self.payload.clear();
        }
    }
}

/// The bytes of a trace like a busy server's: 64 threads over 1 000 locks in 100 classes,
/// one acquisition in three contended (`WaitBegin`, `WaitEnd`, then the hold), the rest
/// uncontended timed holds; half the waits carry one of 200 stacks.
fn generate() -> Vec<u8> {
    let header = Header {
        version: VERSION,
        flags: 0,
        epoch_unix_ns: 1_700_000_000_000_000_000,
        pid: 4242,
    };
    let mut w = Writer {
        out: header.to_bytes().to_vec(),
        payload: Vec::with_capacity(CHUNK + 4096),
    };
    let mut next_id = 0;
    let mut id = || {
        next_id += 1;
        next_id
    };
    let mut string = |w: &mut Writer, text: String| {
        let s = id();
        w.push(&Record::String { id: s, text });
        s
    };
    let actors: Vec<u64> = (0..ACTORS)
        .map(|i| {
            let name = string(&mut w, format!("worker-{i}"));
            let actor = 1_000_000 + i;
            w.push(&Record::Actor {
                actor,
                kind: ActorKind::Thread,
                os_id: 10_000 + i,
                name,
                spawn_site: 0,
            });
            actor
        })
        .collect();
    let classes: Vec<u64> = (0..CLASSES)
        .map(|i| {
            let name = string(&mut w, format!("service::state::lock_{i}"));
            let site = string(
                &mut w,
                format!("src/service/state_{}.rs:{}:9", i % 17, i + 10),
            );
            let class = 2_000_000 + i;
            let kind = [LockKind::Mutex, LockKind::RwLock][(i % 2) as usize];
            w.push(&Record::Class {
                class,
                kind,
                name,
                site,
            });
            class
        })
        .collect();
    let locks: Vec<u64> = (0..LOCKS)
        .map(|i| {
            let lock = 3_000_000 + i;
            w.push(&Record::Lock {
                lock,
                class: classes[(i % CLASSES) as usize],
                capacity: 1,
            });
            lock
        })
        .collect();
    let sites: Vec<u64> = (0..CLASSES * 3)
        .map(|i| {
            string(
                &mut w,
                format!("src/handlers/h{}.rs:{}:13", i % 40, i + 100),
            )
        })
        .collect();
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    let mut frames = Vec::new();
    for i in 0..400 {
        let function = string(&mut w, format!("service::handlers::step_{i}"));
        let file = string(&mut w, format!("src/handlers/h{}.rs", i % 40));
        let frame = 4_000_000 + i;
        w.push(&Record::Frame {
            frame,
            function,
            file,
            line: (i * 7 % 300) as u32 + 1,
        });
        frames.push(frame);
    }
    let stacks: Vec<u64> = (0..STACKS)
        .map(|i| {
            let stack = 5_000_000 + i;
            let depth = 3 + rng.below(6);
            let frames = (0..depth)
                .map(|_| frames[rng.below(400) as usize])
                .collect();
            w.push(&Record::Stack { stack, frames });
            stack
        })
        .collect();

    let mut now = 1_000u64;
    let mut events = 0;
    let mut acquisitions = vec![0u64; CLASSES as usize];
    let mut contentions = vec![0u64; CLASSES as usize];
    let mut waits = vec![Histogram::default(); CLASSES as usize];
    let mut holds = vec![Histogram::default(); CLASSES as usize];
    while events < EVENTS {
        now += 50 + rng.below(200);
        let actor = actors[rng.below(ACTORS) as usize];
        let li = rng.below(LOCKS);
        let (lock, class) = (locks[li as usize], (li % CLASSES) as usize);
        let site = sites[class * 3 + rng.below(3) as usize];
        let mode = if class % 2 == 1 && rng.below(2) == 0 {
            Mode::Shared
        } else {
            Mode::Exclusive
        };
        acquisitions[class] += 1;
        let mut begin = now;
        let mut contended = 0;
        if rng.below(3) == 0 {
            let holder = actors[rng.below(ACTORS) as usize];
            let stack = if rng.below(2) == 0 {
                stacks[rng.below(STACKS) as usize]
            } else {
                0
            };
            let wait = 200 + rng.below(20_000);
            w.push(&Record::WaitBegin {
                ts_ns: now,
                actor,
                lock,
                mode,
                site,
                stack,
                holders: vec![holder],
                span: 0,
            });
            w.push(&Record::WaitEnd {
                ts_ns: now + wait,
                actor,
                lock,
                outcome: Outcome::Acquired,
            });
            contended = now;
            begin = now + wait;
            contentions[class] += 1;
            waits[class].record(wait);
            events += 2;
        }
        let hold = 100 + rng.below(5_000);
        w.push(&Record::Hold {
            begin_ns: begin,
            contended_ns: contended,
            end_ns: begin + hold,
            actor,
            lock,
            mode,
            site,
            span: 0,
        });
        holds[class].record(hold);
        events += 1;
    }
    for (i, &class) in classes.iter().enumerate() {
        w.push(&Record::ClassStats {
            class,
            instances: LOCKS / CLASSES,
            acquisitions: acquisitions[i],
            contentions: contentions[i],
            max_waiters: 3,
            hold_sample_period: 1,
            wait: waits[i].clone(),
            hold: holds[i].clone(),
        });
    }
    w.push(&Record::End { ts_ns: now + 1 });
    w.flush();
    w.out
}

/// The generated trace, written once and reused by later runs.
fn trace_file() -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lockscope-scale.lst");
    if !path.exists() {
        let bytes = generate();
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes).expect("write the generated trace");
        std::fs::rename(&tmp, &path).expect("move the generated trace into place");
    }
    path
}

/// `LOCKSCOPE_BENCH_COUNT=<load|filter>[:<n>]`: runs one workload `n` times (1 by default)
/// outside criterion and prints its CPU time; `None` when the variable is unset.
fn count_mode() -> Option<()> {
    let v = std::env::var("LOCKSCOPE_BENCH_COUNT").ok()?;
    let (what, n) = v.split_once(':').unwrap_or((v.as_str(), "1"));
    let n: u32 = n.parse().unwrap_or_else(|_| {
        panic!("LOCKSCOPE_BENCH_COUNT={v:?}: the count after ':' is not a number; say load:3")
    });
    let path = trace_file();
    let cpu = || thread_cpu_ns().unwrap_or(0);
    match what {
        "load" => {
            let start = cpu();
            for _ in 0..n {
                let m = model::load(&path).expect("load the generated trace");
                std::hint::black_box(m.lock_rows());
            }
            println!(
                "load x{n}: {:.3} s cpu each",
                (cpu() - start) as f64 / 1e9 / f64::from(n)
            );
        }
        "filter" => {
            let m = model::load(&path).expect("load the generated trace");
            let range = one_percent(&m);
            let start = cpu();
            for _ in 0..n {
                std::hint::black_box(m.filtered(&range).lock_rows());
            }
            println!(
                "filter x{n}: {:.1} ms cpu each",
                (cpu() - start) as f64 / 1e6 / f64::from(n)
            );
        }
        other => panic!("LOCKSCOPE_BENCH_COUNT={other:?}: say load or filter (with :N to repeat)"),
    }
    Some(())
}

/// A 1 % time range in the middle of the trace, as a user's drag selects.
fn one_percent(m: &model::Model) -> model::Filter {
    let (first, last) = m.time_span();
    let middle = first + (last - first) / 2;
    model::Filter {
        class: None,
        range_ns: Some((middle, middle + (last - first) / 100)),
    }
}

fn report(c: &mut Criterion) {
    if count_mode().is_some() {
        return;
    }
    let path = trace_file();
    let size = std::fs::metadata(&path).expect("the generated trace").len();
    println!(
        "trace: {} ({EVENTS} events, {:.1} MB)",
        path.display(),
        size as f64 / 1e6
    );
    let mut g = c.benchmark_group("scale");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("decode_and_lock_table_10M_events", |b| {
        b.iter(|| {
            let m = model::load(&path).expect("load the generated trace");
            std::hint::black_box(m.lock_rows())
        })
    });
    // What the window does with a loaded trace when the user drags: a time range narrows
    // every panel, and the wait-for graph follows the instant slider.
    let m = model::load(&path).expect("load the generated trace");
    let (first, last) = m.time_span();
    let middle = first + (last - first) / 2;
    let range = one_percent(&m);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("filter_a_time_range_then_lock_table", |b| {
        b.iter(|| std::hint::black_box(m.filtered(&range).lock_rows()))
    });
    g.bench_function("wait_for_graph_at_an_instant", |b| {
        b.iter(|| std::hint::black_box(m.wait_for_at(middle)))
    });
    g.finish();
}

/// The CPU time this thread has used, in nanoseconds (`None` where the kernel does not say).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Criterion measurement of the benchmark thread's CPU time.
struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns().unwrap_or(0)
    }

    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().unwrap_or(0).saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Formats nanoseconds of CPU time.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (div, unit) = match typical {
            t if t >= 1e9 => (1e9, "s cpu"),
            t if t >= 1e6 => (1e6, "ms cpu"),
            t if t >= 1e3 => (1e3, "µs cpu"),
            _ => (1.0, "ns cpu"),
        };
        values.iter_mut().for_each(|v| *v /= div);
        unit
    }

    fn scale_throughputs(&self, _: f64, _: &Throughput, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|v| *v = 0.0);
        "(no throughput)"
    }

    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn report_cpu(c: &mut Criterion<ThreadCpu>) {
    if std::env::var_os("LOCKSCOPE_BENCH_COUNT").is_some() {
        return;
    }
    if thread_cpu_ns().is_none() {
        println!("scale_cpu: /proc/thread-self/schedstat is not readable here; skipped");
        return;
    }
    let path = trace_file();
    let mut g = c.benchmark_group("scale_cpu");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("decode_and_lock_table_10M_events", |b| {
        b.iter(|| {
            let m = model::load(&path).expect("load the generated trace");
            std::hint::black_box(m.lock_rows())
        })
    });
    // Pairing each waiter's holders with their holds is left to its first use (the lock
    // table does not need it; the window's loader does it behind the progress bar).
    g.bench_function("decode_lock_table_and_holder_pairing_10M_events", |b| {
        b.iter(|| {
            let m = model::load(&path).expect("load the generated trace");
            m.pair_holders();
            std::hint::black_box(m.lock_rows())
        })
    });
    g.finish();
}

criterion_group!(benches, report);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = report_cpu
}
criterion_main!(benches, cpu);
