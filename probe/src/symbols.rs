//! The one symbolizer: instruction pointers to `function (file:line)` frames, for the trace
//! (the recorder's `Frame`/`Stack` records, resolved on its `lockscope-symbols` thread) and for
//! the detectors' reports (wait stacks, leaked permits' stacks).
//!
//! Both trim the same frames: lockscope's own at the inner end, and the runtime's thread
//! start-up at the outer end.

use crate::format::Record;
use crate::raw::WordHasher;
use crate::sink;
use parking_lot::RwLock;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
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
        let name = qualified(name, sym.filename());
        let file = sym.filename().map(source_path);
        f(name, file, sym.lineno());
    });
}

/// lockscope's own sources, as its debug info names them, and those of its `parking_lot`
/// drop-in (`probe/compat/parking_lot`, patched in by path).
const OWN_SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/");
const DROP_IN_SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/compat/parking_lot/src/");
/// The lock crates whose frames count as lockscope's (see [`INNER_NOISE`]).
const LOCK_CRATES: &[&str] = &["lock_api", "parking_lot", "parking_lot_core"];

/// `name` with its crate and module put back from its file, where the debug info left them
/// out and the file is lockscope's or a lock crate's. rustc's `debug = "line-tables-only"`
/// names some generic functions without their path (`resolve<…>`, not
/// `lockscope::raw::origin::Origin<C>::resolve`); without it, such a frame would pass for the
/// caller's, both in the trimming of stacks and in naming a lock made by lock_api's `INIT`.
fn qualified(name: String, file: Option<&std::path::Path>) -> String {
    let head = name.split('<').next().unwrap_or_default();
    if name.starts_with('<') || head.contains("::") {
        return name;
    }
    match file.and_then(|f| module_of(&f.to_string_lossy())) {
        Some(module) => format!("{module}::{name}"),
        None => name,
    }
}

/// The module path (`lockscope::raw::origin`) of a source file of lockscope or of a lock crate
/// in cargo's registry; `None` for any other file.
fn module_of(file: &str) -> Option<String> {
    let (krate, in_src) = if let Some(rest) = file.strip_prefix(OWN_SOURCES) {
        ("lockscope", rest)
    } else if let Some(rest) = file.strip_prefix(DROP_IN_SOURCES) {
        ("parking_lot", rest)
    } else {
        let (dir, in_src) = in_registry(file)?.split_once("/src/")?;
        let (krate, version) = dir.rsplit_once('-')?;
        if !version.starts_with(|c: char| c.is_ascii_digit()) || !LOCK_CRATES.contains(&krate) {
            return None;
        }
        (krate, in_src)
    };
    let path = in_src.strip_suffix(".rs")?;
    let path = path.strip_suffix("/mod").unwrap_or(path);
    let mut module = krate.to_owned();
    for part in path.split('/').filter(|p| !matches!(*p, "lib" | "main")) {
        module.push_str("::");
        module.push_str(part);
    }
    Some(module)
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

/// A file in cargo's registry from its crate's folder on (`r2d2-0.8.10/src/lib.rs`); `None`
/// for a file elsewhere.
fn in_registry(file: &str) -> Option<&str> {
    let (_, rest) = file.split_once("/registry/src/")?;
    let (_index, in_crate) = rest.split_once('/')?;
    Some(in_crate)
}

/// `path` as stacks show it: relative to the start directory when under it, and from the
/// crate's folder (`r2d2-0.8.10/src/lib.rs`) when in cargo's registry.
fn source_path(path: &std::path::Path) -> String {
    if let Some(in_crate) = in_registry(&path.to_string_lossy()) {
        return in_crate.to_owned();
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
/// A read lock is enough for a caller lookup's walk, so threads naming new locks walk at once.
static REPORT_FRAMES: LazyLock<RwLock<Cache>> = LazyLock::new(Default::default);

#[derive(Default)]
struct Cache {
    /// The frames at an instruction pointer.
    frames: HashMap<usize, Vec<Resolved>>,
    /// What an instruction pointer tells [`first_caller_frame`]: `None` for lock code (the
    /// walk goes on), else its first frame outside it.
    callers: HashMap<usize, Option<(&'static str, u32)>, BuildHasherDefault<WordHasher>>,
    /// The files of `callers`, leaked once each.
    files: HashSet<&'static str>,
}

/// The frames at `ip`, resolved on first need.
fn frames_at(frames: &mut HashMap<usize, Vec<Resolved>>, ip: usize) -> &[Resolved] {
    frames.entry(ip).or_insert_with(|| {
        let mut v = Vec::new();
        symbolize(ip, |name, file, line| v.push((name, file, line)));
        v
    })
}

/// Calls `f` with the frames at each of `ips` (inlined calls give several, innermost first),
/// from the cache, until it returns `Some`.
fn each_frame<R>(ips: &[usize], mut f: impl FnMut(&Resolved) -> Option<R>) -> Option<R> {
    let mut cache = REPORT_FRAMES.write();
    ips.iter()
        .find_map(|&ip| frames_at(&mut cache.frames, ip).iter().find_map(&mut f))
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
/// `INIT`.
///
/// Each instruction pointer's answer is kept, so the walk stops at the first frame already
/// known to be outside the lock code: a caller seen before costs the unwinding of the lock
/// code's few frames, not of the whole stack, and no symbol lookup.
pub(crate) fn first_caller_frame() -> Option<(&'static str, u32)> {
    // The frames not seen before, in stack order, up to the first known caller frame.
    let mut unseen = crate::raw::RawStack {
        ips: [0; crate::raw::MAX_FRAMES],
        len: 0,
    };
    let mut known = None;
    {
        let cache = REPORT_FRAMES.read();
        crate::raw::walk(|ip| match cache.callers.get(&ip) {
            Some(None) => true,
            Some(Some(at)) => {
                known = Some(*at);
                false
            }
            None => {
                unseen.ips[unseen.len] = ip;
                unseen.len += 1;
                unseen.len < crate::raw::MAX_FRAMES
            }
        });
    }
    if unseen.len == 0 {
        return known;
    }
    let mut cache = REPORT_FRAMES.write();
    let cache = &mut *cache;
    for &ip in unseen.frames() {
        // Another thread may have answered for it in between.
        let at = match cache.callers.get(&ip) {
            Some(at) => *at,
            None => {
                let at = frames_at(&mut cache.frames, ip)
                    .iter()
                    .find_map(caller_frame)
                    .map(|(file, line)| (leaked(&mut cache.files, file), line));
                cache.callers.insert(ip, at);
                at
            }
        };
        if at.is_some() {
            return at;
        }
    }
    known
}

/// `text`, leaked once: the copy in `set`, or a new one put there.
fn leaked(set: &mut HashSet<&'static str>, text: &str) -> &'static str {
    if let Some(t) = set.get(text) {
        return t;
    }
    let t: &'static str = Box::leak(text.into());
    set.insert(t);
    t
}

/// `frame`'s file and line if it is the caller's: not lockscope's or a lock crate's (trimmed
/// from every stack's inner end), nor parking_lot's parking, nor the standard library's
/// (trimmed from the outer end).
fn caller_frame((name, file, line): &Resolved) -> Option<(&str, u32)> {
    let lock_code = inner_noise(name)
        || ["parking_lot_core::", "<parking_lot_core::"]
            .iter()
            .any(|p| name.starts_with(p))
        || OUTER_NOISE.iter().any(|p| name.starts_with(p));
    if lock_code {
        return None;
    }
    Some((file.as_deref()?, (*line)?))
}

/// This module's internal lock, for the fork hooks.
pub(crate) fn fork_lock() -> &'static dyn crate::raw::ForkLock {
    &REPORT_FRAMES
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_name_without_its_path_gets_its_module_back_from_a_lock_crates_file() {
        let own = format!("{OWN_SOURCES}raw/origin.rs");
        let short = "resolve<lockscope::class::ClassInfo, {closure_env#0}>";
        let named = qualified(short.to_owned(), Some(Path::new(&own)));
        assert_eq!(named, format!("lockscope::raw::origin::{short}"));
        assert!(inner_noise(&named), "{named}");
        let lock_api = "/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/lock_api-0.4.14/src/mutex.rs";
        assert_eq!(
            qualified("lock<R, T>".to_owned(), Some(Path::new(lock_api))),
            "lock_api::mutex::lock<R, T>"
        );
        let drop_in = format!("{DROP_IN_SOURCES}lib.rs");
        assert_eq!(
            qualified("const_mutex<T>".to_owned(), Some(Path::new(&drop_in))),
            "parking_lot::const_mutex<T>"
        );
        let own_mod = format!("{OWN_SOURCES}lock/mod.rs");
        assert_eq!(
            qualified("f".to_owned(), Some(Path::new(&own_mod))),
            "lockscope::lock::f"
        );
    }

    #[test]
    fn other_files_and_names_with_their_path_are_left_as_they_are() {
        let own = format!("{OWN_SOURCES}raw/origin.rs");
        for (name, file) in [
            // Already a path, or a trait method's `<T as Trait>::f` form.
            ("lockscope::raw::origin::Origin<C>::resolve", own.as_str()),
            (
                "<lockscope::lockapi::RawMutex as lock_api::RawMutex>::lock",
                own.as_str(),
            ),
            // The program's own code, and a crate that is not a lock crate.
            ("handle<u64>", "/srv/app/src/handler.rs"),
            (
                "spawn<F>",
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.54.1/src/task/spawn.rs",
            ),
            // A folder merely named like a lock crate, outside cargo's registry.
            ("lock<R>", "/srv/lock_api-0.4.14/src/mutex.rs"),
        ] {
            assert_eq!(qualified(name.to_owned(), Some(Path::new(file))), name);
        }
        assert_eq!(qualified("f<T>".to_owned(), None), "f<T>");
    }
}
