//! Runtime switches and the environment variables read once, at the first recorded lock.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64};

static ENABLED: AtomicBool = AtomicBool::new(true);
static SAMPLE_MASK: AtomicU64 = AtomicU64::new(DEFAULT_HOLD_SAMPLE - 1);
/// 0: environment not read yet, 1: being read, 2: read.
static INIT: AtomicU8 = AtomicU8::new(0);

/// Default hold-time sampling period: one uncontended acquisition in 64 is timed.
pub const DEFAULT_HOLD_SAMPLE: u64 = 64;

/// Is recording on? One relaxed load: this is what the fast path checks first.
#[inline]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Relaxed)
}

#[inline]
pub(crate) fn sample_mask() -> u64 {
    SAMPLE_MASK.load(Relaxed)
}

/// Switches recording on or off at runtime. Off, every lock is a plain parking_lot lock plus
/// one relaxed load; acquisitions made while off are not counted, and guards taken while off
/// release without bookkeeping even if recording is switched on meanwhile.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Relaxed);
}

/// Whether recording is on.
pub fn is_enabled() -> bool {
    enabled()
}

/// The hold-time sampling period: one acquisition in this many (per lock) has its hold timed.
/// Contended acquisitions are always timed as well.
pub fn hold_sample_period() -> u64 {
    sample_mask() + 1
}

/// Sets the hold-time sampling period (rounded up to a power of two, 1 to 65 536). 1 times
/// every hold, at the cost of two clock reads per acquisition. Also `LOCKSCOPE_HOLD_SAMPLE`.
pub fn set_hold_sample_period(period: u64) {
    let p = period.clamp(1, 1 << 16).next_power_of_two();
    SAMPLE_MASK.store(p - 1, Relaxed);
}

/// Reads the environment once. Called from cold paths (first registration of a lock).
///
/// Never blocks: a thread that finds another one (or itself, re-entering through the
/// recorder it is starting) in the middle of reading simply goes on with the defaults.
#[inline]
pub(crate) fn init() {
    if INIT.load(std::sync::atomic::Ordering::Acquire) != 2 {
        init_slow();
    }
}

#[cold]
fn init_slow() {
    use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
    if INIT.compare_exchange(0, 1, AcqRel, Acquire).is_err() {
        return;
    }
    {
        if let Some(v) = env("LOCKSCOPE_HOLD_SAMPLE") {
            match parse_sample(&v) {
                Ok(p) => set_hold_sample_period(p),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE") {
            match v.as_str() {
                "off" | "0" | "false" => set_enabled(false),
                "on" | "1" | "true" => set_enabled(true),
                other => warn(&format!(
                    "LOCKSCOPE={other:?} is not understood; use LOCKSCOPE=on or LOCKSCOPE=off. Recording stays on."
                )),
            }
        }
        if let Some(v) = env("LOCKSCOPE_ON_DEADLOCK") {
            match crate::detect::parse_policy(&v) {
                Ok(p) => crate::detect::set_deadlock_policy(p),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE_LOCK_ORDER") {
            match v.as_str() {
                "on" => crate::detect::set_lock_order_checks(true),
                "off" => crate::detect::set_lock_order_checks(false),
                other => warn(&format!(
                    "LOCKSCOPE_LOCK_ORDER={other:?} is not understood; use on or off. Lock-order checks stay on."
                )),
            }
        }
        if let Some(v) = env("LOCKSCOPE_POOL_STARVED_MS") {
            match parse_number(
                "LOCKSCOPE_POOL_STARVED_MS",
                &v,
                0,
                3_600_000,
                crate::DEFAULT_POOL_STARVED_MS,
            ) {
                Ok(ms) => crate::set_pool_starved_threshold(std::time::Duration::from_millis(ms)),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE_POOL_LEAK_MS") {
            match parse_number("LOCKSCOPE_POOL_LEAK_MS", &v, 0, 86_400_000, 0) {
                Ok(ms) => crate::set_pool_leak_threshold(std::time::Duration::from_millis(ms)),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE_STAMPEDE_MIN") {
            match parse_number(
                "LOCKSCOPE_STAMPEDE_MIN",
                &v,
                2,
                1_000_000,
                crate::DEFAULT_STAMPEDE_MIN,
            ) {
                Ok(k) => crate::set_stampede_min_actors(k),
                Err(e) => warn(&e),
            }
        }
        if let Some(v) = env("LOCKSCOPE_SAMPLE_HZ") {
            match parse_number(
                "LOCKSCOPE_SAMPLE_HZ",
                &v,
                0,
                1_000,
                crate::DEFAULT_SAMPLE_HZ,
            ) {
                Ok(hz) => crate::set_sample_hz(hz),
                Err(e) => warn(&e),
            }
        }
        crate::recorder::start_from_env();
    }
    INIT.store(2, Release);
}

fn env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if v.is_empty() => None,
        Ok(v) => Some(v),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            warn(&format!(
                "{name} is not valid UTF-8 and is ignored; set it to a plain value."
            ));
            None
        }
    }
}

pub(crate) fn parse_sample(v: &str) -> Result<u64, String> {
    match v.trim().parse::<u64>() {
        Ok(n) if (1..=1 << 16).contains(&n) => Ok(n),
        _ => Err(format!(
            "LOCKSCOPE_HOLD_SAMPLE={v:?} is not a number from 1 to 65536; using the default, {DEFAULT_HOLD_SAMPLE}."
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

/// Prints one diagnostic line about lockscope's own configuration on stderr.
pub(crate) fn warn(msg: &str) {
    eprintln!("lockscope: {msg}");
}

#[cfg(test)]
mod tests {
    use super::*;

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
