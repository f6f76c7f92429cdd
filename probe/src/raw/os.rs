//! The OS calls the probe makes: the thread id, per-thread resource usage, and the exit and
//! fork hooks (`atexit`, `pthread_atfork`).

/// The OS thread id (Linux `gettid`), 0 where there is none.
pub(crate) fn current_tid() -> u64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid takes no arguments, touches no memory and cannot fail.
        unsafe { libc::gettid() as u64 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// Runs `child` in the child process after every `fork()`.
pub(crate) fn register_after_fork(child: extern "C" fn()) {
    #[cfg(unix)]
    // SAFETY: `pthread_atfork` only stores the function pointers; `child` is a plain
    // `extern "C" fn()` that only stores to atomics (async-signal-safe, as a forked child of a
    // multi-threaded process requires) and cannot unwind.
    let _ = unsafe { libc::pthread_atfork(None, None, Some(child)) };
    #[cfg(not(unix))]
    let _ = child;
}

/// Runs `prepare` in the forking thread just before every `fork()`, and `parent` and `child`
/// just after it, in the parent and in the child.
pub(crate) fn register_fork_handlers(
    prepare: extern "C" fn(),
    parent: extern "C" fn(),
    child: extern "C" fn(),
) {
    #[cfg(unix)]
    // SAFETY: `pthread_atfork` only stores the function pointers; the handlers are plain
    // `extern "C" fn()`s that catch their own panics, so none unwinds into libc.
    let _ = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    #[cfg(not(unix))]
    let _ = (prepare, parent, child);
}

/// Runs `f` when the process exits normally (returning from `main` or `std::process::exit`).
pub(crate) fn register_at_exit(f: extern "C" fn()) {
    // SAFETY: `atexit` only stores the function pointer. `f` is a plain `extern "C" fn()`;
    // the callers' functions catch their own panics so none unwinds across the C boundary.
    let _ = unsafe { libc::atexit(f) };
}

/// The calling thread's own context switches and CPU time from `getrusage(RUSAGE_THREAD)`:
/// (voluntary, involuntary, cpu ns). `None` where the call is not available.
pub(crate) fn thread_rusage() -> Option<(u64, u64, u64)> {
    #[cfg(target_os = "linux")]
    {
        let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `ru` points to writable memory of the size getrusage fills; the call
        // writes nothing else and RUSAGE_THREAD needs no other argument.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, ru.as_mut_ptr()) };
        if rc != 0 {
            return None;
        }
        // SAFETY: getrusage returned 0, so it filled `ru` (and it started zeroed anyway).
        let ru = unsafe { ru.assume_init() };
        let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
        Some((
            ru.ru_nvcsw as u64,
            ru.ru_nivcsw as u64,
            tv(ru.ru_utime) + tv(ru.ru_stime),
        ))
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}
