//! Resolves raw stacks (instruction pointers) to frames, in the recorder thread only.

use crate::format::Record;
use crate::meta::META;
use std::collections::HashMap;
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

/// Function-name prefixes of frames that belong to lockscope or the runtime, trimmed from the
/// inner end (lockscope) or the outer end (thread start-up) of every stack.
const INNER_NOISE: &[&str] = &["lockscope::", "backtrace::", "<lockscope::"];
const OUTER_NOISE: &[&str] = &[
    "std::",
    "<std::",
    "core::",
    "<core::",
    "alloc::",
    "<alloc::",
    "__rust_",
    "__libc_start",
];
const OUTER_EXACT: &[&str] = &["main", "_start", "start_thread", "clone", "clone3"];

/// A frame of the runtime's or the test harness's, trimmed from the outer end of stacks.
pub(crate) fn outer_noise(f: &str) -> bool {
    OUTER_EXACT.contains(&f) || OUTER_NOISE.iter().any(|p| f.starts_with(p))
}

#[derive(Default)]
pub(crate) struct Symbols {
    /// Instruction pointer → frame ids (inlined frames expand to several, innermost first).
    by_ip: HashMap<u64, Vec<(u64, String)>>,
    /// (function, file, line) → frame id.
    frames: HashMap<(String, String, u32), u64>,
    stacks: HashMap<u64, ()>,
}

impl Symbols {
    /// Resolves the raw stacks in `words` (`[id, len, ip...]*`) not seen before, appending
    /// Frame and Stack records to `out`. Strings are interned in the global table, so the
    /// caller must drain that table after this call and write it first.
    pub(crate) fn resolve(&mut self, words: &[u64], out: &mut Vec<Record>) {
        let mut i = 0;
        while i + 2 <= words.len() {
            let (id, len) = (words[i], words[i + 1] as usize);
            let Some(ips) = words.get(i + 2..i + 2 + len) else {
                break;
            };
            i += 2 + len;
            if self.stacks.insert(id, ()).is_some() {
                continue;
            }
            let mut frames: Vec<(u64, String)> = Vec::new();
            for &ip in ips {
                frames.extend(self.frames_for(ip, out).iter().cloned());
            }
            let start = frames
                .iter()
                .position(|(_, f)| !INNER_NOISE.iter().any(|p| f.starts_with(p)));
            let mut frames = frames.split_off(start.unwrap_or(0));
            while frames.len() > 1 && frames.last().is_some_and(|(_, f)| outer_noise(f)) {
                frames.pop();
            }
            out.push(Record::Stack {
                stack: id,
                frames: frames.into_iter().map(|(f, _)| f).collect(),
            });
        }
    }

    fn frames_for(&mut self, ip: u64, out: &mut Vec<Record>) -> &[(u64, String)] {
        if !self.by_ip.contains_key(&ip) {
            let mut syms: Vec<(String, String, u32)> = Vec::new();
            // Return addresses point after the call; step back one byte to land inside it.
            let lookup = ip.saturating_sub(1) as usize as *mut std::ffi::c_void;
            backtrace::resolve(lookup, |sym| {
                let name = sym
                    .name()
                    .map_or_else(|| format!("{ip:#x}"), |n| format!("{n:#}"));
                let file = sym
                    .filename()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                syms.push((name, file, sym.lineno().unwrap_or(0)));
            });
            if syms.is_empty() {
                syms.push((format!("{ip:#x}"), String::new(), 0));
            }
            let mut ids = Vec::with_capacity(syms.len());
            for (name, file, line) in syms {
                let next = self.frames.len() as u64 + 1;
                let key = (name.clone(), file.clone(), line);
                let id = *self.frames.entry(key).or_insert_with(|| {
                    let mut meta = META.lock();
                    let function = meta.intern(&name);
                    let file = meta.intern(&file);
                    out.push(Record::Frame {
                        frame: next,
                        function,
                        file,
                        line,
                    });
                    next
                });
                ids.push((id, name));
            }
            self.by_ip.insert(ip, ids);
        }
        &self.by_ip[&ip]
    }
}
