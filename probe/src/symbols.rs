//! The one symbolizer: instruction pointers to `function (file:line)` frames, for the trace
//! (the recorder's `Frame`/`Stack` records, resolved on its `lockscope-symbols` thread) and for
//! the detectors' reports (wait stacks, leaked permits' stacks).
//!
//! Both trim the same frames: lockscope's own at the inner end, and the runtime's thread
//! start-up at the outer end.

use crate::format::Record;
use crate::sink;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Calls `f(function, file, line)` for each frame at `ip` (inlined calls give several,
/// innermost first); nothing when it cannot be resolved.
fn symbolize(ip: usize, mut f: impl FnMut(String, Option<String>, Option<u32>)) {
    // Return addresses point after the call; step back one byte to land inside it.
    let lookup = ip.saturating_sub(1) as *mut std::ffi::c_void;
    backtrace::resolve(lookup, |sym| {
        let name = sym
            .name()
            .map_or_else(|| format!("{ip:#x}"), |n| format!("{n:#}"));
        let file = sym.filename().map(source_path);
        f(name, file, sym.lineno());
    });
}

/// The directory the program started in: a workspace's sources under it are shown relative
/// to it, as `#[track_caller]` sites are (rustc names a workspace's files relative to its root,
/// where `cargo run` usually starts the program; debug info has them absolute).
static START_DIR: LazyLock<Option<std::path::PathBuf>> =
    LazyLock::new(|| std::env::current_dir().ok());

/// Notes the start directory (at the first lock, before the program can change it).
pub(crate) fn remember_start_dir() {
    LazyLock::force(&START_DIR);
}

/// `path` as stacks show it: relative to the start directory when under it, and from the
/// crate's folder (`r2d2-0.8.10/src/lib.rs`) when in cargo's registry.
fn source_path(path: &std::path::Path) -> String {
    let text = path.to_string_lossy();
    if let Some(at) = text.find("/registry/src/") {
        let rest = &text[at + "/registry/src/".len()..];
        if let Some((_index, in_crate)) = rest.split_once('/') {
            return in_crate.to_owned();
        }
    }
    START_DIR
        .as_deref()
        .and_then(|dir| path.strip_prefix(dir).ok())
        .filter(|rel| !rel.as_os_str().is_empty())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Function-name prefixes of frames that belong to lockscope or the runtime, trimmed from the
/// inner end (lockscope) or the outer end (thread start-up) of every stack.
/// lock_api's and parking_lot's frames count as lockscope's: the `parking_lot` drop-in is
/// made of them; so does `poll_fn`'s, which lockscope's async waits are polled through.
const INNER_NOISE: &[&str] = &[
    "lockscope::",
    "<lockscope::",
    "<core::future::poll_fn::PollFn<",
    "backtrace::",
    "lock_api::",
    "<lock_api::",
    "parking_lot::",
    "<parking_lot::",
];

fn inner_noise(f: &str) -> bool {
    INNER_NOISE.iter().any(|p| f.starts_with(p))
}
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
            let start = frames.iter().position(|(_, f)| !inner_noise(f));
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
            symbolize(ip as usize, |name, file, line| {
                syms.push((name, file.unwrap_or_default(), line.unwrap_or(0)));
            });
            if syms.is_empty() {
                syms.push((format!("{ip:#x}"), String::new(), 0));
            }
            let mut ids = Vec::with_capacity(syms.len());
            for (name, file, line) in syms {
                let next = self.frames.len() as u64 + 1;
                let key = (name.clone(), file.clone(), line);
                let id = *self.frames.entry(key).or_insert_with(|| {
                    let (function, file) =
                        sink::define_with(|d| (d.intern(&name), d.intern(&file)));
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

/// One resolved frame: function, and file and line where known.
pub(crate) type Resolved = (String, Option<String>, Option<u32>);

/// Frames of reports and of caller lookups, cached by instruction pointer: both are rare, but
/// the first lookup loads debug info.
static REPORT_FRAMES: LazyLock<Mutex<HashMap<usize, Vec<Resolved>>>> =
    LazyLock::new(Default::default);

/// Calls `f` with the frames at each of `ips` (inlined calls give several, innermost first),
/// from the cache, until it returns `Some`.
fn each_frame<R>(ips: &[usize], mut f: impl FnMut(&Resolved) -> Option<R>) -> Option<R> {
    let mut cache = REPORT_FRAMES.lock();
    for &ip in ips {
        let frames = cache.entry(ip).or_insert_with(|| {
            let mut v = Vec::new();
            symbolize(ip, |name, file, line| v.push((name, file, line)));
            v
        });
        if let Some(r) = frames.iter().find_map(&mut f) {
            return Some(r);
        }
    }
    None
}

/// Resolves a raw stack to its frames (function, file, line), without lockscope's own frames
/// at the inner end or the runtime's at the outer end.
pub(crate) fn stack_frames(ips: &[usize]) -> Vec<Resolved> {
    let mut out = Vec::new();
    each_frame(ips, |f| {
        out.push(f.clone());
        None::<()>
    });
    let first_user = out.iter().position(|(name, ..)| !inner_noise(name));
    let mut out = out.split_off(first_user.unwrap_or(out.len()).min(out.len()));
    while out.len() > 1 && out.last().is_some_and(|(name, ..)| outer_noise(name)) {
        out.pop();
    }
    out
}

/// Resolves a raw wait stack to `function (file:line)` frames for a report, trimmed as
/// [`stack_frames`] trims.
pub(crate) fn wait_frames(ips: &[usize]) -> Vec<String> {
    stack_frames(ips)
        .into_iter()
        .map(|(name, file, line)| match (file, line) {
            (Some(file), Some(line)) => format!("{name} ({file}:{line})"),
            _ => name,
        })
        .collect()
}

/// The first frame of the calling thread's stack outside lockscope, lock_api, parking_lot and
/// the standard library, as `(file, line)`: the code that uses a lock made by lock_api's
/// `INIT`. A stack walk, and symbols resolved once per instruction pointer.
pub(crate) fn first_caller_frame() -> Option<(String, u32)> {
    let stack = crate::raw::capture(1);
    each_frame(stack.frames(), |(name, file, line)| {
        // lockscope's and the lock crates' frames (trimmed from every stack's inner end),
        // parking_lot's parking, and the standard library's (trimmed from the outer end).
        let lock_code = inner_noise(name)
            || ["parking_lot_core::", "<parking_lot_core::"]
                .iter()
                .any(|p| name.starts_with(p))
            || OUTER_NOISE.iter().any(|p| name.starts_with(p));
        if lock_code {
            return None;
        }
        Some((file.clone()?, (*line)?))
    })
}

/// This module's internal lock, for the fork hooks.
pub(crate) fn fork_lock() -> &'static dyn crate::raw::ForkLock {
    &REPORT_FRAMES
}
