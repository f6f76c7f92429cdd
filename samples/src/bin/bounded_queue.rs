//! Backpressure in a bounded producer/consumer queue (a mutex, a `VecDeque` of at most 8
//! items, and two condition variables). Four producers (an item every 2 ms each) outrun one
//! consumer (1 ms per item): the queue fills, and the producers spend their time waiting on
//! `not-full`. The trace's condition variable figures show who waited, how often and how long.
//!
//! `--fix` matches the consumers to the producers (four), so the queue rarely fills.
//!
//! `--channel` runs the same work through a bounded channel of 8 (`lockscope::tokio::mpsc`,
//! `blocking_send`/`blocking_recv` from the same threads) instead: the report lists it as a
//! pool of its slots, under "Channels", full most of the run with the producers waiting for
//! room, and a `pool_saturation` alert names the consumer.

use anyhow::Result;
use clap::Parser;
use lockscope::{Condvar, Mutex};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "A bounded queue whose producers outrun its consumer")]
struct Args {
    /// As many consumers as producers.
    #[arg(long)]
    fix: bool,
    /// The queue is a bounded channel instead of a mutex and two condition variables.
    #[arg(long)]
    channel: bool,
    /// Items each producer makes.
    #[arg(long, default_value_t = 60)]
    items: u64,
    /// Trace file to record.
    #[arg(long, default_value = "bounded_queue.lstrace")]
    trace: PathBuf,
}

const CAPACITY: usize = 8;
const PRODUCERS: u64 = 4;

struct Queue {
    items: Mutex<(VecDeque<u64>, bool)>, // (items, closed)
    not_full: Condvar,
    not_empty: Condvar,
    producer_wait_us: AtomicU64,
    full_waits: AtomicU64,
}

impl Queue {
    fn push(&self, v: u64) {
        let mut q = self.items.lock();
        if q.0.len() >= CAPACITY {
            let t = Instant::now();
            while q.0.len() >= CAPACITY {
                self.not_full.wait(&mut q);
            }
            self.full_waits.fetch_add(1, Relaxed);
            self.producer_wait_us
                .fetch_add(t.elapsed().as_micros() as u64, Relaxed);
        }
        q.0.push_back(v);
        drop(q);
        self.not_empty.notify_one();
    }

    fn pop(&self) -> Option<u64> {
        let mut q = self.items.lock();
        loop {
            if let Some(v) = q.0.pop_front() {
                drop(q);
                self.not_full.notify_one();
                return Some(v);
            }
            if q.1 {
                return None;
            }
            self.not_empty.wait(&mut q);
        }
    }

    fn close(&self) {
        self.items.lock().1 = true;
        self.not_empty.notify_all();
    }
}

/// The queue as a bounded channel: each producer's `blocking_send` waits for room while it is
/// full; the consumers share the receiver.
fn through_a_channel(consumers: u64, items: u64) -> Result<(u64, u64)> {
    let (tx, rx) = lockscope::tokio::mpsc::channel_named::<u64>("work-channel", CAPACITY);
    let rx = Arc::new(Mutex::named("work-channel receiver", rx));
    let consumed = Arc::new(AtomicU64::new(0));
    let consumer_threads: Vec<_> = (0..consumers)
        .map(|i| {
            let (rx, consumed) = (rx.clone(), consumed.clone());
            std::thread::Builder::new()
                .name(format!("consumer-{i}"))
                .spawn(move || {
                    loop {
                        // The receiver's lock is held only to take one item.
                        let next = rx.lock().blocking_recv();
                        let Some(v) = next else { break };
                        std::hint::black_box(v);
                        std::thread::sleep(Duration::from_millis(1)); // handling one item
                        consumed.fetch_add(1, Relaxed);
                    }
                })
        })
        .collect::<std::io::Result<_>>()?;
    let full_sends = Arc::new(AtomicU64::new(0));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (tx, full_sends) = (tx.clone(), full_sends.clone());
            std::thread::Builder::new()
                .name(format!("producer-{p}"))
                .spawn(move || {
                    for i in 0..items {
                        if tx.capacity() == 0 {
                            full_sends.fetch_add(1, Relaxed);
                        }
                        tx.blocking_send(p * items + i)
                            .expect("the receiver is open");
                        std::thread::sleep(Duration::from_millis(2)); // making one item
                    }
                })
        })
        .collect::<std::io::Result<_>>()?;
    drop(tx);
    for p in producers {
        p.join().expect("producer");
    }
    for c in consumer_threads {
        c.join().expect("consumer");
    }
    Ok((consumed.load(Relaxed), full_sends.load(Relaxed)))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let _rec = lockscope_samples::start(&args.trace)?;
    if args.channel {
        let consumers = if args.fix { PRODUCERS } else { 1 };
        let start = Instant::now();
        let (consumed, full) = through_a_channel(consumers, args.items)?;
        println!(
            "{consumed} items through a channel and {consumers} consumer(s) in {:.0} ms; producers found it full {full} times",
            start.elapsed().as_secs_f64() * 1e3,
        );
        println!("done");
        return Ok(());
    }
    let q = Arc::new(Queue {
        items: Mutex::named("work-queue", (VecDeque::new(), false)),
        not_full: Condvar::new(),
        not_empty: Condvar::new(),
        producer_wait_us: AtomicU64::new(0),
        full_waits: AtomicU64::new(0),
    });
    let consumers = if args.fix { PRODUCERS } else { 1 };
    let start = Instant::now();
    let consumed = Arc::new(AtomicU64::new(0));
    let consumer_threads: Vec<_> = (0..consumers)
        .map(|i| {
            let (q, consumed) = (q.clone(), consumed.clone());
            std::thread::Builder::new()
                .name(format!("consumer-{i}"))
                .spawn(move || {
                    while let Some(v) = q.pop() {
                        std::hint::black_box(v);
                        std::thread::sleep(Duration::from_millis(1)); // handling one item
                        consumed.fetch_add(1, Relaxed);
                    }
                })
        })
        .collect::<std::io::Result<_>>()?;
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let q = q.clone();
            let items = args.items;
            std::thread::Builder::new()
                .name(format!("producer-{p}"))
                .spawn(move || {
                    for i in 0..items {
                        q.push(p * items + i);
                        std::thread::sleep(Duration::from_millis(2)); // making one item
                    }
                })
        })
        .collect::<std::io::Result<_>>()?;
    for p in producers {
        p.join().expect("producer");
    }
    q.close();
    for c in consumer_threads {
        c.join().expect("consumer");
    }
    println!(
        "{} items through {consumers} consumer(s) in {:.0} ms; producers found the queue full {} times and waited {:.1} ms in all",
        consumed.load(Relaxed),
        start.elapsed().as_secs_f64() * 1e3,
        q.full_waits.load(Relaxed),
        q.producer_wait_us.load(Relaxed) as f64 / 1e3
    );
    println!("done");
    Ok(())
}
