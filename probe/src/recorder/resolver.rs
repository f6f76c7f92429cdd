//! The recorder's `lockscope-symbols` thread: raw stacks go in, `Frame` and `Stack` records
//! come out (resolved by [`crate::symbols`]), so a slow first lookup never stalls the writer.

use crate::format::Record;
use crate::symbols::Symbols;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::time::{Duration, Instant};

/// The `lockscope-symbols` thread and the writer's two ends of it. Everything is bounded and
/// non-blocking for the writer: stacks that do not fit in the queue wait for the next cycle.
pub(crate) struct SymbolThread {
    to: Option<SyncSender<Vec<u64>>>,
    from: Receiver<Vec<Record>>,
    pending: Vec<u64>,
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
        }
    }

    /// Queues raw stack words for resolution.
    pub(crate) fn submit(&mut self, words: Vec<u64>) {
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
                Ok(r) => out.extend(r),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return out,
            }
        }
    }

    /// Sends what is pending, closes the queue and collects results until the symbolizer is
    /// done or `wait` passes.
    pub(crate) fn finish(&mut self, wait: Duration) -> Vec<Record> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        while !self.pending.is_empty() && self.to.is_some() && Instant::now() < deadline {
            self.submit(Vec::new());
            out.extend(self.take_ready());
            std::thread::yield_now();
        }
        self.to = None;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.from.recv_timeout(left) {
                Ok(r) => out.extend(r),
                Err(_) => break,
            }
        }
        out
    }
}
