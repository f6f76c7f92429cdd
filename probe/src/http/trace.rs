//! The windows of time a request can record: `/debug/lockscope/trace?seconds=N`, a trace file
//! of the next N seconds (recorded into a temporary file and sent whole), and
//! `/debug/pprof/{mutex,block}?seconds=N`, Go's profiles of the next N seconds.

use crate::recorder::Recorder;
use std::time::Duration;

/// The longest recording one request may ask for.
pub(super) const MAX_SECONDS: u64 = 60;
/// The recording when the request names no length.
const DEFAULT_SECONDS: u64 = 5;

/// `seconds=N` from a query string: the default when absent, an error text when malformed.
pub(super) fn seconds(query: Option<&str>) -> Result<u64, String> {
    let Some(value) = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("seconds="))
    else {
        return Ok(DEFAULT_SECONDS);
    };
    match value.parse::<u64>() {
        Ok(n) if (1..=MAX_SECONDS).contains(&n) => Ok(n),
        _ => Err(format!(
            "seconds={value} is not a whole number from 1 to {MAX_SECONDS}\n"
        )),
    }
}

/// Records `seconds` of the program and returns the trace file's bytes; `Err` with a status
/// and a message when it cannot.
pub(super) fn record(seconds: u64) -> Result<Vec<u8>, (u16, String)> {
    if crate::sink::recording() {
        return Err((
            409,
            "a recording is already running (LOCKSCOPE_TRACE, LOCKSCOPE_LIVE or a Recorder): its trace has this stretch already; one recording runs at a time\n".into(),
        ));
    }
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path =
        std::env::temp_dir().join(format!("lockscope-http-{}-{n}.lstrace", std::process::id()));
    let recorder = Recorder::to_file(&path).map_err(|e| (500, format!("{e}\n")))?;
    let recording = recorder.start();
    std::thread::sleep(Duration::from_secs(seconds));
    drop(recording);
    let bytes = std::fs::read(&path).map_err(|e| {
        (
            500,
            format!("cannot read back the trace {}: {e}\n", path.display()),
        )
    });
    let _ = std::fs::remove_file(&path);
    bytes
}

/// Profiles `seconds` of the program: the gzipped mutex profile (`mutex`) or block profile;
/// `Err` with a status and a message when it cannot.
pub(super) fn profile(seconds: u64, mutex: bool) -> Result<Vec<u8>, (u16, String)> {
    let Some(window) = crate::profile::Window::open() else {
        return Err((
            409,
            "every profile window is taken (4 open at once); try again when one ends\n".into(),
        ));
    };
    std::thread::sleep(Duration::from_secs(seconds));
    let profiles = window
        .close()
        .map_err(|e| (500, format!("cannot compress the profile: {e}\n")))?;
    Ok(if mutex {
        profiles.mutex
    } else {
        profiles.block
    })
}

#[cfg(test)]
mod tests {
    use super::seconds;

    #[test]
    fn the_length_is_checked() {
        assert_eq!(seconds(None), Ok(5));
        assert_eq!(seconds(Some("seconds=2")), Ok(2));
        assert_eq!(seconds(Some("x=1&seconds=60")), Ok(60));
        for bad in ["seconds=0", "seconds=61", "seconds=ten", "seconds="] {
            assert!(seconds(Some(bad)).unwrap_err().contains("1 to 60"), "{bad}");
        }
    }
}
