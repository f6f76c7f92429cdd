//! Resolves raw stacks (instruction pointers) to frames, in the recorder thread only.

use crate::format::Record;
use crate::meta::META;
use std::collections::HashMap;

/// Function-name prefixes of frames that belong to lockscope or the runtime, trimmed from the
/// inner end (lockscope) or the outer end (thread start-up) of every stack.
const INNER_NOISE: &[&str] = &["lockscope::", "backtrace::", "<lockscope::"];
const OUTER_NOISE: &[&str] = &[
    "std::rt::",
    "std::sys::",
    "std::thread::",
    "std::panicking::",
    "std::panic::",
    "core::ops::function::",
    "__rust_",
    "__libc_start",
];
const OUTER_EXACT: &[&str] = &["main", "_start", "start_thread", "clone", "clone3"];

fn outer_noise(f: &str) -> bool {
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
