//! Readers starving a writer: a hand-rolled reader-preferring read/write lock (a counter of
//! readers under a mutex, and a condition variable) lets a new reader in whenever no writer is
//! *inside*, even while a writer waits. With enough overlapping readers the reader count never
//! drops to zero and the writer waits until the readers stop. The trace shows it as one very
//! long wait on the gate's condition variable by the `writer` thread.
//!
//! `--fix` uses `lockscope::RwLock` (task-fair, like parking_lot's): once a writer waits, new
//! readers queue behind it, so the writer gets in after the readers already inside.

use anyhow::Result;
use clap::Parser;
use lockscope::{Condvar, Mutex, RwLock};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "A reader-preferring lock that starves its writer, and a fair one")]
struct Args {
    /// Use lockscope's task-fair RwLock.
    #[arg(long)]
    fix: bool,
    /// Reader threads.
    #[arg(long, default_value_t = 6)]
    readers: usize,
    /// How long the readers run, in milliseconds.
    #[arg(long, default_value_t = 600)]
    duration_ms: u64,
    /// Trace file to record.
    #[arg(long, default_value = "writer_starvation.lstrace")]
    trace: PathBuf,
}

/// The naive lock: readers only check that no writer is inside.
struct ReaderPreferring {
    state: Mutex<(usize, bool)>, // (readers inside, writer inside)
    changed: Condvar,
}

impl ReaderPreferring {
    fn read(&self, f: impl FnOnce()) {
        {
            let mut s = self.state.lock();
            while s.1 {
                self.changed.wait(&mut s);
            }
            s.0 += 1;
        }
        f();
        let mut s = self.state.lock();
        s.0 -= 1;
        drop(s);
        self.changed.notify_all();
    }

    fn write(&self, f: impl FnOnce()) {
        {
            let mut s = self.state.lock();
            while s.0 > 0 || s.1 {
                self.changed.wait(&mut s);
            }
            s.1 = true;
        }
        f();
        self.state.lock().1 = false;
        self.changed.notify_all();
    }
}

enum Gate {
    Naive(ReaderPreferring),
    Fair(RwLock<()>),
}

impl Gate {
    fn read(&self, f: impl FnOnce()) {
        match self {
            Gate::Naive(g) => g.read(f),
            Gate::Fair(l) => {
                let _r = l.read();
                f();
            }
        }
    }
    fn write(&self, f: impl FnOnce()) {
        match self {
            Gate::Naive(g) => g.write(f),
            Gate::Fair(l) => {
                let _w = l.write();
                f();
            }
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let _rec = lockscope_samples::start(&args.trace)?;
    let gate = Arc::new(if args.fix {
        Gate::Fair(RwLock::named("config-gate", ()))
    } else {
        Gate::Naive(ReaderPreferring {
            state: Mutex::named("config-gate", (0, false)),
            changed: Condvar::new(),
        })
    });
    let run = Duration::from_millis(args.duration_ms);
    let deadline = Instant::now() + run;
    let readers: Vec<_> = (0..args.readers)
        .map(|i| {
            let gate = gate.clone();
            std::thread::Builder::new()
                .name(format!("reader-{i}"))
                .spawn(move || {
                    while Instant::now() < deadline {
                        // Reading the config: long enough that readers overlap.
                        gate.read(|| std::thread::sleep(Duration::from_millis(3)));
                    }
                })
        })
        .collect::<std::io::Result<_>>()?;
    let g = gate.clone();
    let writer = std::thread::Builder::new()
        .name("writer".into())
        .spawn(move || {
            // The writer arrives once the readers are going, and wants in once.
            std::thread::sleep(Duration::from_millis(20));
            let asked = Instant::now();
            let mut waited = Duration::ZERO;
            g.write(|| waited = asked.elapsed());
            waited
        })?;
    let waited = writer.join().expect("writer");
    for r in readers {
        r.join().expect("reader");
    }
    println!(
        "the writer waited {:.1} ms of the readers' {} ms run",
        waited.as_secs_f64() * 1e3,
        args.duration_ms
    );
    println!("done");
    Ok(())
}
