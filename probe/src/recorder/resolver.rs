//! The recorder's `lockscope-symbols` thread: raw stacks go in, `Frame` and `Stack` records
//! come out (resolved by [`crate::symbols`]), so a slow first lookup never stalls the writer.
//!
//! A recording that ends before every stack came back (the first lookup loads debug info,
//! which on a loaded machine can outlast the bounded wait at the end) still defines each stack
//! its events use: the ones left are written with their raw addresses as frames.

use crate::format::Record;
use crate::sink;
use crate::symbols::Symbols;
use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::time::{Duration, Instant};

/// Frame ids of raw-address frames: apart from the symbolizer's (which count up from 1).
const RAW_FRAME: u64 = 1 << 62;

/// The `lockscope-symbols` thread and the writer's two ends of it. Everything is bounded and
/// non-blocking for the writer: stacks that do not fit in the queue wait for the next cycle.
pub(crate) struct SymbolThread {
    to: Option<SyncSender<Vec<u64>>>,
    from: Receiver<Vec<Record>>,
    pending: Vec<u64>,
    /// Stacks submitted and not resolved yet: their addresses, innermost first.
    outstanding: HashMap<u64, Vec<u64>>,
    /// Stacks already defined in this recording.
    defined: HashSet<u64>,
}

impl SymbolThread {
    pub(crate) fn spawn() -> SymbolThread {
        let (to, rx) = sync_channel::<Vec<u64>>(64);
        let (tx, from) = sync_channel::<Vec<Record>>(64);
        let spawned = std::thread::Builder::new()
            .name("lockscope-symbols".into())
            .spawn(move || {
                let mut symbols = Symbols::default();
                while let Ok(words) = rx.recv() {
                    let mut out = Vec::new();
                    symbols.resolve(&words, &mut out);
                    if tx.send(out).is_err() {
                        return;
                    }
                }
            });
        // Without the thread, stacks simply stay unresolved (the sender reports disconnection).
        let to = spawned.ok().map(|_| to);
        SymbolThread {
            to,
            from,
            pending: Vec::new(),
            outstanding: HashMap::new(),
            defined: HashSet::new(),
        }
    }

    /// Queues raw stack words (`[id, len, ip...]*`) for resolution.
    pub(crate) fn submit(&mut self, words: Vec<u64>) {
        let mut i = 0;
        while i + 2 <= words.len() {
            let (id, len) = (words[i], words[i + 1] as usize);
            let Some(ips) = words.get(i + 2..i + 2 + len) else {
                break;
            };
            if !self.defined.contains(&id) {
                self.outstanding.entry(id).or_insert_with(|| ips.to_vec());
            }
            i += 2 + len;
        }
        self.pending.extend(words);
        if self.pending.is_empty() {
            return;
        }
        if let Some(to) = &self.to {
            match to.try_send(std::mem::take(&mut self.pending)) {
                Ok(()) => {}
                Err(TrySendError::Full(back)) => self.pending = back,
                Err(TrySendError::Disconnected(_)) => self.to = None,
            }
        }
    }

    /// Frame and Stack records resolved so far.
    pub(crate) fn take_ready(&mut self) -> Vec<Record> {
        let mut out = Vec::new();
        loop {
            match self.from.try_recv() {
                Ok(r) => self.arrived(r, &mut out),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return out,
            }
        }
    }

    /// Records from the symbolizer: the stacks they define are no longer outstanding.
    fn arrived(&mut self, records: Vec<Record>, out: &mut Vec<Record>) {
        for r in &records {
            if let Record::Stack { stack, .. } = r {
                self.outstanding.remove(stack);
                self.defined.insert(*stack);
            }
        }
        out.extend(records);
    }

    /// Sends what is pending, closes the queue and collects results until the symbolizer is
    /// done or `wait` passes.
    pub(crate) fn finish(&mut self, wait: Duration) -> Vec<Record> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        while !self.pending.is_empty() && self.to.is_some() && Instant::now() < deadline {
            self.submit(Vec::new());
            let ready = self.take_ready();
            out.extend(ready);
            std::thread::yield_now();
        }
        self.to = None;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.from.recv_timeout(left) {
                Ok(r) => self.arrived(r, &mut out),
                Err(_) => break,
            }
        }
        let ready = self.take_ready();
        out.extend(ready);
        self.raw_stacks(&mut out);
        out
    }

    /// Defines every stack still outstanding by its raw addresses (`0x…` frames), so no event
    /// of the trace names a stack it does not define.
    fn raw_stacks(&mut self, out: &mut Vec<Record>) {
        let mut framed: HashSet<u64> = HashSet::new();
        let mut left: Vec<(u64, Vec<u64>)> = self.outstanding.drain().collect();
        left.sort_unstable_by_key(|(id, _)| *id);
        for (stack, ips) in left {
            let mut frames = Vec::with_capacity(ips.len());
            for ip in ips {
                let frame = RAW_FRAME | (ip & (RAW_FRAME - 1));
                if framed.insert(frame) {
                    let function = sink::intern(&format!("{ip:#x}"));
                    out.push(Record::Frame {
                        frame,
                        function,
                        file: 0,
                        line: 0,
                    });
                }
                frames.push(frame);
            }
            self.defined.insert(stack);
            out.push(Record::Stack { stack, frames });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[id, len, ip...]` words for stacks of made-up addresses.
    fn words(stacks: &[(u64, &[u64])]) -> Vec<u64> {
        let mut w = Vec::new();
        for (id, ips) in stacks {
            w.push(*id);
            w.push(ips.len() as u64);
            w.extend_from_slice(ips);
        }
        w
    }

    fn stacks_defined(records: &[Record]) -> Vec<u64> {
        let mut ids: Vec<u64> = records
            .iter()
            .filter_map(|r| match r {
                Record::Stack { stack, .. } => Some(*stack),
                _ => None,
            })
            .collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn a_recording_that_ends_at_once_still_defines_every_stack_it_submitted() {
        let mut t = SymbolThread::spawn();
        t.submit(words(&[(11, &[0x10, 0x20]), (12, &[0x30])]));
        t.submit(words(&[(11, &[0x10, 0x20])])); // the same stack, from another half
        // No time at all to resolve: whatever the symbolizer has not answered is written
        // with raw addresses, so each stack is defined exactly once either way.
        let out = t.finish(Duration::ZERO);
        assert_eq!(stacks_defined(&out), [11, 12]);
        // Every frame a stack names is defined in the same output.
        let frames: HashSet<u64> = out
            .iter()
            .filter_map(|r| match r {
                Record::Frame { frame, .. } => Some(*frame),
                _ => None,
            })
            .collect();
        for r in &out {
            if let Record::Stack { frames: f, .. } = r {
                assert!(f.iter().all(|x| frames.contains(x)), "{r:?}");
            }
        }
    }

    #[test]
    fn resolved_stacks_are_not_written_again_by_address() {
        let mut t = SymbolThread::spawn();
        t.submit(words(&[(21, &[0x40])]));
        let out = t.finish(Duration::from_secs(30));
        assert_eq!(stacks_defined(&out), [21]);
    }
}
