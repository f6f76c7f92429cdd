//! Boot: the one moment lockscope reads its environment and starts threads of its own.
//!
//! [`init`] runs once per process, at the first registration of a lock instance or cache fill
//! (the first time any lockscope primitive is used while recording is on). It reads every
//! `LOCKSCOPE_*` variable into [`crate::settings`] and starts the recording that
//! `LOCKSCOPE_TRACE` / `LOCKSCOPE_LIVE` ask for. Nothing else in the probe reads the environment
//! at start-up, and nothing below this layer starts a thread: the recorder, sampler and watchdog
//! start when a recording or a detector first needs them.

use crate::diag::{env_flag, env_var as env, parse_flag, warn};
use crate::recorder::Recorder;
use crate::settings::{self, Policy};
use std::cell::Cell;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32};
use std::time::{Duration, Instant};

/// The process's one reading of the environment.
static SETTINGS: ReadOnce = ReadOnce::new(Duration::from_millis(100));

/// Reads the environment once. Called from cold paths (first registration of a lock).
///
/// The settings are read before anything is started: a thread that registers its first lock
/// while another thread reads them waits for that reading (microseconds: environment reads,
/// nothing started, no lock of the program's) instead of running without them, so a program
/// whose threads start together runs under `LOCKSCOPE_CHAOS` from its first acquisition, say.
/// The wait is bounded (see [`ReadOnce`]). The recordings and endpoints the variables ask for
/// are started after the reading is published; threads go on meanwhile, and the thread
/// starting them may re-enter here through the recorder's own setup.
#[inline]
pub(crate) fn init() {
    if !SETTINGS.done() {
        init_slow();
    }
}

#[cold]
fn init_slow() {
    let Some(causal) = SETTINGS.run(read_settings) else {
        return;
    };
    if let Some(window) = causal {
        crate::causal::start(window);
    }
    start_from_env();
}

/// A reading done once per process that other threads wait for, briefly, rather than go on
/// without: the first caller runs it; a caller that finds it under way waits until it is done,
/// at most `limit`. The reading thread itself never waits (a re-entrant call returns at once),
/// and once a wait has run out (the reader was descheduled that long, or a child was forked
/// in the middle of it) no later caller waits: the probe never stalls its host for long on its
/// own account.
struct ReadOnce {
    /// 0: not started, 1: being read, 2: read.
    state: AtomicU8,
    /// Callers waiting now (for tests that need a waiter in place).
    waiters: AtomicU32,
    gave_up: AtomicBool,
    limit: Duration,
}

thread_local! {
    /// This thread is running a [`ReadOnce`] reading.
    static READING: Cell<bool> = const { Cell::new(false) };
}

impl ReadOnce {
    const fn new(limit: Duration) -> Self {
        ReadOnce {
            state: AtomicU8::new(0),
            waiters: AtomicU32::new(0),
            gave_up: AtomicBool::new(false),
            limit,
        }
    }

    /// The reading is done.
    #[inline]
    fn done(&self) -> bool {
        self.state.load(Acquire) == 2
    }

    /// Runs `read` if no caller has started it and returns its result; otherwise waits (as
    /// the type says) and returns `None`.
    fn run<R>(&self, read: impl FnOnce() -> R) -> Option<R> {
        if self.state.compare_exchange(0, 1, AcqRel, Acquire).is_ok() {
            let outer = READING.with(|r| r.replace(true));
            let out = read();
            READING.with(|r| r.set(outer));
            self.state.store(2, Release);
            return Some(out);
        }
        if !self.done() && !READING.with(Cell::get) && !self.gave_up.load(Relaxed) {
            self.wait();
        }
        None
    }

    #[cold]
    fn wait(&self) {
        self.waiters.fetch_add(1, Relaxed);
        let start = Instant::now();
        let mut spins = 0u32;
        while !self.done() {
            if spins < 64 {
                spins += 1;
                std::hint::spin_loop();
            } else if start.elapsed() >= self.limit {
                if !self.gave_up.swap(true, Relaxed) {
                    warn(&format!(
                        "a thread waited {} ms for another to finish reading the LOCKSCOPE_* settings and went on without them; they apply once read",
                        self.limit.as_millis()
                    ));
                }
                break;
            } else {
                std::thread::yield_now();
            }
        }
        self.waiters.fetch_sub(1, Relaxed);
    }
}

/// Reads every `LOCKSCOPE_*` setting into [`settings`]; starts nothing (no thread, no lock of
/// the program's) but returns the causal experiments' window when they are asked for.
fn read_settings() -> Option<Duration> {
    crate::symbols::remember_start_dir();
    crate::fork::install();
    let mut window = None;
    {
        if let Some(v) = env("LOCKSCOPE_HOLD_SAMPLE") {
            match parse_sample(&v) {
                Ok(p) => settings::set_hold_sample_period(p),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE") {
            match parse_flag("LOCKSCOPE", &v, true) {
                Ok(on) => settings::set_enabled(on),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE_CHAOS") {
            match parse_chaos(&v) {
                Ok(seed) => crate::detect::chaos::enable(seed),
                Err(e) => warn(&e),
            }
        }
        let causal =
            match env("LOCKSCOPE_CAUSAL").map(|v| parse_flag("LOCKSCOPE_CAUSAL", &v, false)) {
                Some(Ok(on)) => on,
                Some(Err(e)) => {
                    warn(&e);
                    false
                }
                None => false,
            };
        if causal {
            let ms = match env("LOCKSCOPE_CAUSAL_MS") {
                Some(v) => {
                    parse_number("LOCKSCOPE_CAUSAL_MS", &v, 10, 10_000, 50).unwrap_or_else(|e| {
                        warn(&e);
                        50
                    })
                }
                None => 50,
            };
            window = Some(Duration::from_millis(ms));
        }
        if let Some(v) = env("LOCKSCOPE_ON_DEADLOCK") {
            match parse_policy(&v) {
                Ok(p) => settings::set_deadlock_policy(p),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE_LOCK_ORDER") {
            match parse_flag("LOCKSCOPE_LOCK_ORDER", &v, true) {
                Ok(on) => settings::set_lock_order_checks(on),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE_POOL_STARVED_MS") {
            match parse_number(
                "LOCKSCOPE_POOL_STARVED_MS",
                &v,
                0,
                3_600_000,
                settings::DEFAULT_POOL_STARVED_MS,
            ) {
                Ok(ms) => settings::set_pool_starved_threshold(Duration::from_millis(ms)),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE_POOL_LEAK_MS") {
            match parse_number("LOCKSCOPE_POOL_LEAK_MS", &v, 0, 86_400_000, 0) {
                Ok(ms) => settings::set_pool_leak_threshold(Duration::from_millis(ms)),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE_STUCK_MS") {
            match parse_number(
                "LOCKSCOPE_STUCK_MS",
                &v,
                0,
                3_600_000,
                settings::DEFAULT_STUCK_MS,
            ) {
                Ok(ms) => settings::set_stuck_threshold(Duration::from_millis(ms)),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE_STAMPEDE_MIN") {
            match parse_number(
                "LOCKSCOPE_STAMPEDE_MIN",
                &v,
                2,
                1_000_000,
                settings::DEFAULT_STAMPEDE_MIN,
            ) {
                Ok(k) => settings::set_stampede_min_actors(k),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE_SAMPLE_HZ") {
            match parse_number(
                "LOCKSCOPE_SAMPLE_HZ",
                &v,
                0,
                1_000,
                settings::DEFAULT_SAMPLE_HZ,
            ) {
                Ok(hz) => settings::set_sample_hz(hz),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE_SUPPRESS_LOCK_ORDER") {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .for_each(crate::detect::suppress_lock_order);
        }
    }
    window
}

/// Starts the recording `LOCKSCOPE_TRACE=path` and `LOCKSCOPE_LIVE=addr` ask for. A path
/// that cannot be written or an address that cannot be served is reported once on stderr, and
/// the program goes on with what could be started.
fn start_from_env() {
    let path = std::env::var_os("LOCKSCOPE_TRACE").filter(|p| !p.is_empty());
    let live = match std::env::var("LOCKSCOPE_LIVE") {
        Ok(a) if !a.trim().is_empty() => Some(a.trim().to_owned()),
        Ok(_) | Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            warn(
                "LOCKSCOPE_LIVE is not valid UTF-8 and is ignored; set it to HOST:PORT, such as 127.0.0.1:7878.",
            );
            None
        }
    };
    let mut recorder = None;
    if let Some(path) = &path {
        match Recorder::to_file(path) {
            Ok(r) => recorder = Some(r),
            Err(e) => warn(&format!(
                "LOCKSCOPE_TRACE: {e}. The program continues without a trace file; set LOCKSCOPE_TRACE to a writable file path."
            )),
        }
    }
    if let Some(addr) = &live {
        let any = env_flag("LOCKSCOPE_LIVE_ANY");
        let had_file = recorder.is_some();
        let mut r = recorder.take().unwrap_or_else(Recorder::unstarted);
        match r.try_serve(addr.as_str(), any) {
            Ok(()) => recorder = Some(r),
            Err(e) => {
                let goes_on = if had_file {
                    recorder = Some(r);
                    "recording to the trace file goes on"
                } else {
                    "the program continues unrecorded"
                };
                warn(&format!(
                    "LOCKSCOPE_LIVE={addr}: {e}. No live stream; {goes_on}."
                ));
            }
        }
    }
    if let Some(r) = recorder {
        crate::recorder::keep_env_recording(r.start());
    }
    match std::env::var("LOCKSCOPE_HTTP") {
        Ok(a) if !a.trim().is_empty() => {
            if let Err(e) = crate::http::serve(a.trim()) {
                warn(&format!(
                    "LOCKSCOPE_HTTP={}: {e}. The program continues without the endpoint.",
                    a.trim()
                ));
            }
        }
        Ok(_) | Err(std::env::VarError::NotPresent) => {}
        Err(std::env::VarError::NotUnicode(_)) => warn(
            "LOCKSCOPE_HTTP is not valid UTF-8 and is ignored; set it to HOST:PORT, such as 127.0.0.1:9464.",
        ),
    }
    if let Some(url) = env("LOCKSCOPE_PYROSCOPE_URL") {
        start_pyroscope(&url);
    }
}

/// Starts the Pyroscope pusher from `LOCKSCOPE_PYROSCOPE_URL` and its companions; a bad value
/// is one line on stderr and no pusher.
fn start_pyroscope(url: &str) {
    let started = crate::http::Pyroscope::new(url)
        .map_err(|e| format!("LOCKSCOPE_PYROSCOPE_URL: {e}"))
        .and_then(|p| {
            let p = match env("LOCKSCOPE_SERVICE_NAME") {
                Some(name) => p.service_name(name.trim()),
                None => p,
            };
            match env("LOCKSCOPE_LABELS") {
                Some(list) => p
                    .labels_from(&list)
                    .map_err(|e| format!("LOCKSCOPE_LABELS={list:?}: {e}")),
                None => Ok(p),
            }
        })
        .and_then(|p| match env("LOCKSCOPE_PUSH_SECS") {
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n >= 1 => Ok(p.every(Duration::from_secs(n))),
                _ => Err(format!(
                    "LOCKSCOPE_PUSH_SECS={v:?} is not a whole number of seconds (1 or more); set it to 10, say"
                )),
            },
            None => Ok(p),
        })
        .and_then(|p| p.start().map_err(|e| e.to_string()));
    if let Err(e) = started {
        warn(&format!(
            "{e}. The program continues without pushing profiles."
        ));
    }
}

/// Parses `LOCKSCOPE_ON_DEADLOCK`.
pub(crate) fn parse_policy(v: &str) -> Result<Policy, String> {
    match v.trim() {
        "log" => Ok(Policy::Log),
        "panic" => Ok(Policy::Panic),
        "exit" => Ok(Policy::Exit),
        other => Err(format!(
            "LOCKSCOPE_ON_DEADLOCK={other:?} is not one of log, panic, exit; deadlocks will be logged (set it to log, panic or exit)"
        )),
    }
}

/// Parses `LOCKSCOPE_CHAOS`: a seed, 0 for off.
pub(crate) fn parse_chaos(v: &str) -> Result<u64, String> {
    v.trim().parse::<u64>().map_err(|_| {
        format!(
            "LOCKSCOPE_CHAOS={v:?} is not a seed; chaos mode stays off (set it to a whole number from 1 to {}, such as 1; 0 or unset: off)",
            u64::MAX
        )
    })
}

pub(crate) fn parse_sample(v: &str) -> Result<u64, String> {
    match v.trim().parse::<u64>() {
        Ok(n) if (1..=1 << 16).contains(&n) => Ok(n),
        _ => Err(format!(
            "LOCKSCOPE_HOLD_SAMPLE={v:?} is not a number from 1 to 65536; using the default, {}.",
            settings::DEFAULT_HOLD_SAMPLE
        )),
    }
}

/// Parses a whole number within `min..=max` for the variable `name`; the error names the
/// variable, the accepted range and the default used instead.
pub(crate) fn parse_number(
    name: &str,
    v: &str,
    min: u64,
    max: u64,
    default: u64,
) -> Result<u64, String> {
    match v.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{name}={v:?} is not a number from {min} to {max}; using the default, {default}."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;
    use std::sync::mpsc;

    /// Runs a reading on its own thread that stops in the middle until told to go on; returns
    /// the channel that lets it finish, the value it publishes, and its handle.
    fn reading_held_open(
        once: &'static ReadOnce,
    ) -> (
        mpsc::Sender<()>,
        Arc<AtomicU64>,
        std::thread::JoinHandle<Option<u64>>,
    ) {
        let (started_tx, started_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let value = Arc::new(AtomicU64::new(0));
        let published = value.clone();
        let reader = std::thread::spawn(move || {
            once.run(|| {
                started_tx.send(()).unwrap();
                // The reading thread re-entering does not wait for itself.
                assert_eq!(once.run(|| 1), None);
                go_rx.recv().unwrap();
                published.store(7, Relaxed);
                7
            })
        });
        started_rx.recv().unwrap();
        (go_tx, value, reader)
    }

    #[test]
    fn a_thread_that_finds_the_settings_being_read_waits_until_they_are() {
        static ONCE: ReadOnce = ReadOnce::new(Duration::from_secs(600));
        let (go, value, reader) = reading_held_open(&ONCE);
        let waiter = {
            let value = value.clone();
            std::thread::spawn(move || (ONCE.run(|| 1), value.load(Relaxed)))
        };
        while ONCE.waiters.load(Relaxed) == 0 {
            std::thread::yield_now();
        }
        go.send(()).unwrap();
        assert_eq!(
            waiter.join().unwrap(),
            (None, 7),
            "the waiter returns once the reading is published, and sees what it set"
        );
        assert_eq!(reader.join().unwrap(), Some(7), "the reading ran once");
        assert!(ONCE.done());
        assert!(!ONCE.gave_up.load(Relaxed));
    }

    #[test]
    fn a_wait_for_the_settings_is_bounded_and_runs_out_once() {
        static ONCE: ReadOnce = ReadOnce::new(Duration::from_millis(1));
        let (go, value, reader) = reading_held_open(&ONCE);
        assert_eq!(
            ONCE.run(|| 1),
            None,
            "the caller went on without the reading"
        );
        assert!(ONCE.gave_up.load(Relaxed), "its wait ran out");
        assert_eq!(value.load(Relaxed), 0, "the reading is still under way");
        assert_eq!(
            ONCE.run(|| 1),
            None,
            "a later caller does not run it either"
        );
        go.send(()).unwrap();
        assert_eq!(reader.join().unwrap(), Some(7));
        assert!(ONCE.done());
    }

    #[test]
    fn numeric_env_values_name_the_variable_the_range_and_the_default() {
        assert_eq!(
            parse_number("LOCKSCOPE_SAMPLE_HZ", " 25 ", 0, 1000, 10),
            Ok(25)
        );
        assert_eq!(parse_number("LOCKSCOPE_SAMPLE_HZ", "0", 0, 1000, 10), Ok(0));
        for bad in ["-1", "1001", "ten", ""] {
            let e = parse_number("LOCKSCOPE_SAMPLE_HZ", bad, 0, 1000, 10).unwrap_err();
            assert!(
                e.contains("LOCKSCOPE_SAMPLE_HZ") && e.contains("0 to 1000") && e.contains("10"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_chaos_seed_is_a_whole_number_and_a_bad_one_names_the_variable() {
        assert_eq!(parse_chaos(" 42 "), Ok(42));
        assert_eq!(parse_chaos("0"), Ok(0));
        for bad in ["yes", "-1", "1.5", "18446744073709551616"] {
            let e = parse_chaos(bad).unwrap_err();
            assert!(
                e.contains("LOCKSCOPE_CHAOS") && e.contains("stays off"),
                "{e}"
            );
        }
    }

    #[test]
    fn hold_sample_env_values_are_checked() {
        assert_eq!(parse_sample("1"), Ok(1));
        assert_eq!(parse_sample(" 128 "), Ok(128));
        for bad in ["0", "-3", "abc", "70000", ""] {
            let e = parse_sample(bad).unwrap_err();
            assert!(
                e.contains("LOCKSCOPE_HOLD_SAMPLE") && e.contains("1 to 65536"),
                "{e}"
            );
        }
    }
}
