//! The recorder thread's loop: drain, resolve, encode, write, flush.

use super::live::{Hub, Kind};
use super::open_waits::OpenWaits;
use super::resolver::SymbolThread;
use super::session::Shared;
use crate::diag::warn;
use crate::format::{self, Header, MAX_CHUNK, Record, VERSION, split_point};
use crate::sink::{self, Reader};
use crate::{actor, class, clock, settings};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

/// How often cumulative class figures are written.
const STATS_EVERY: Duration = Duration::from_millis(250);

struct Writer {
    /// The trace file (none for a live-only recording).
    out: Option<BufWriter<File>>,
    /// The live stream, fed every chunk the file gets.
    live: Option<Arc<Hub>>,
    /// Where this recording is in the sink.
    reader: Reader,
    symbols: SymbolThread,
    last_stats: Vec<(u64, u64, u64)>,
    dropped_written: u64,
    /// Chaos mode's seed and counts as last written.
    chaos_written: (u64, u64, u64),
    /// Causal experiments written so far.
    causal_written: usize,
    io_failed: bool,
    /// The waits in progress, followed while a live stream runs.
    open_waits: OpenWaits,
}

pub(super) fn run(file: Option<File>, live: Option<Arc<Hub>>, shared: &Shared, interval: Duration) {
    let mut w = Writer {
        out: file.map(|f| BufWriter::with_capacity(256 * 1024, f)),
        live,
        reader: Reader::default(),
        symbols: SymbolThread::spawn(),
        last_stats: Vec::new(),
        dropped_written: 0,
        chaos_written: (0, 0, 0),
        causal_written: 0,
        io_failed: false,
        open_waits: OpenWaits::default(),
    };
    let header = Header {
        version: VERSION,
        flags: 0,
        epoch_unix_ns: clock::epoch_unix_ns(),
        pid: std::process::id(),
    };
    w.write(&header.to_bytes());
    w.publish(Kind::Header, header.to_bytes().to_vec());
    let mut stats_due = Instant::now();
    loop {
        std::thread::park_timeout(interval);
        let ticket = shared.flush_req.load(Relaxed);
        let stopping = shared.stop.load(Acquire);
        w.cycle();
        let done = *shared.flush_done.lock();
        if stopping || ticket > done || Instant::now() >= stats_due {
            w.write_stats();
            stats_due = Instant::now() + STATS_EVERY;
        }
        if stopping {
            // The trace ends when the recording was stopped: resolving the last stacks below
            // (up to a second, the first time debug info loads) is lockscope's own teardown,
            // not part of the program's run.
            let stopped_ns = clock::now_ns();
            w.cycle();
            w.flush(); // what is recorded is on disk before waiting for late symbols
            let late = w.symbols.finish(Duration::from_secs(1));
            w.cycle();
            w.write_records(&late, Kind::Meta);
            w.write_stats();
            w.write_records(&[Record::End { ts_ns: stopped_ns }], Kind::End);
        }
        w.flush();
        if stopping && let Some(live) = &w.live {
            live.close();
        }
        *shared.flush_done.lock() = ticket;
        if stopping {
            shared.finished.store(true, Release);
        }
        shared.flushed.notify_all();
        if stopping {
            return;
        }
    }
}

impl Writer {
    /// One pass: take everything the sink holds, resolve new stacks, write definitions then
    /// events (the order [`Reader::collect`] hands them out in).
    fn cycle(&mut self) {
        // Frames resolved so far, taken before the sink's log is read: the strings they name
        // were defined before this call, so they come out in this batch's definitions.
        let symbol_records = self.symbols.take_ready();
        let batch = self.reader.collect(
            &actor::all(),
            |a| &a.sink,
            |a| actor::reclaimable(a),
            // An exited thread writes no more: both halves were drained, so its slot is reused.
            |a| actor::recycle(a),
        );
        // Symbols resolve on their own thread (the first lookup loads debug info and can take
        // half a second); stack definitions follow the events that use them.
        self.symbols.submit(batch.stacks);
        self.write_payload(&batch.defs, Kind::Meta);
        self.write_payload(&batch.instances, Kind::Meta);
        self.write_payload(&batch.alerts, Kind::Meta);
        self.write_records(&symbol_records, Kind::Meta);
        for b in batch.events {
            if self.live.is_some() {
                self.open_waits.follow(&b);
            }
            self.write_payload(&b, Kind::Events);
            self.reader.recycle(b);
        }
        if let Some(open) = self.open_waits.take_changed() {
            // One chunk at most: past that (tens of thousands of waits) the earliest are sent.
            let open = &open[..split_point(&open, MAX_CHUNK as usize)];
            let mut chunk = Vec::with_capacity(open.len() + 8);
            format::write_chunk(&mut chunk, open);
            self.publish(Kind::OpenWaits, chunk);
        }
    }

    /// Cumulative figures of every class that changed, and the dropped-event count.
    fn write_stats(&mut self) {
        let period = settings::hold_sample_period();
        let mut records = Vec::new();
        for c in class::all() {
            let i = c.id as usize;
            if self.last_stats.len() <= i {
                self.last_stats.resize(i + 1, (u64::MAX, 0, 0));
            }
            let k = &c.counters;
            let now = (
                k.acquisitions.load(Relaxed),
                k.contentions.load(Relaxed),
                k.instances.load(Relaxed),
            );
            if self.last_stats[i] != now {
                self.last_stats[i] = now;
                records.push(c.stats_record(period));
            }
        }
        let dropped = sink::dropped(actor::all().iter().map(|a| &a.sink));
        if dropped != self.dropped_written {
            self.dropped_written = dropped;
            records.push(Record::Dropped { events: dropped });
        }
        if let Some(
            r @ Record::Chaos {
                seed,
                delays,
                yields,
                ..
            },
        ) = crate::stats::chaos_record(clock::now_ns())
            && (seed, delays, yields) != self.chaos_written
        {
            self.chaos_written = (seed, delays, yields);
            records.push(r);
        }
        let (experiments, _) = crate::causal::experiments_since(self.causal_written);
        self.causal_written += experiments.len();
        for e in experiments {
            for (name, count) in e.progress {
                records.push(Record::Causal {
                    ts_ns: e.ts_ns,
                    class: u64::from(e.class),
                    speedup_pct: e.speedup_pct,
                    duration_ns: e.duration_ns,
                    delay_ns: e.delay_ns,
                    progress: name.to_owned(),
                    count,
                });
            }
        }
        self.write_records(&records, Kind::Stats);
    }

    fn write_records(&mut self, records: &[Record], kind: Kind) {
        let mut payload = Vec::new();
        for r in records {
            r.encode(&mut payload);
            if payload.len() > (MAX_CHUNK as usize) / 2 {
                self.write_payload(&payload, kind);
                payload.clear();
            }
        }
        self.write_payload(&payload, kind);
    }

    /// Frames `payload` (records back to back) into chunks no larger than the format allows,
    /// for the file and the live stream.
    fn write_payload(&mut self, payload: &[u8], kind: Kind) {
        if payload.is_empty() {
            return;
        }
        let mut rest = payload;
        while !rest.is_empty() {
            let cut = split_point(rest, MAX_CHUNK as usize);
            let mut chunk = Vec::with_capacity(cut + 8);
            format::write_chunk(&mut chunk, &rest[..cut]);
            self.write(&chunk);
            self.publish(kind, chunk);
            rest = &rest[cut..];
        }
    }

    fn publish(&self, kind: Kind, chunk: Vec<u8>) {
        if let Some(live) = &self.live {
            live.publish(kind, chunk);
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        let Some(out) = self.out.as_mut().filter(|_| !self.io_failed) else {
            return;
        };
        if let Err(e) = out.write_all(bytes) {
            self.io_failed = true;
            warn(&format!(
                "writing the trace failed ({e}); recording stops writing, the program goes on"
            ));
        }
    }

    fn flush(&mut self) {
        if let Some(out) = self.out.as_mut().filter(|_| !self.io_failed)
            && out.flush().is_err()
        {
            self.io_failed = true;
        }
    }
}
