//! The on-demand HTTP endpoint: `LOCKSCOPE_HTTP=HOST:PORT` or [`serve`] starts it.
//!
//! - `GET /metrics`: Prometheus text exposition of every lock class's figures (the report's
//!   own numbers), the alerts raised by kind, and what waits right now.
//! - `GET /debug/lockscope/dump`: [`crate::dump`]'s text: who holds and who waits for which
//!   lock, now.
//! - `GET /debug/lockscope/trace?seconds=N`: a trace file of the next N seconds (1 to 60,
//!   default 5), for `lockscope report` or the viewer; 409 while another recording runs.
//! - `GET /debug/pprof/mutex?seconds=N` and `GET /debug/pprof/block?seconds=N`: Go's mutex
//!   profile (each contended wait's delay charged to where its holders took the lock) and
//!   block profile (by the waiter's stack) of the next N seconds (1 to 60, default 5), gzipped
//!   pprof, for `go tool pprof`, Pyroscope or Parca. lockscope keeps no stack tables while
//!   nobody asks, so every profile is a window (Go's handlers without `seconds` answer with
//!   the counts since the program started).
//!
//! It runs on its own thread, `lockscope-http`, which answers one client at a time with a
//! 5 s deadline on each read and write (so one stuck client holds the endpoint up for at most
//! that long, and never the program), reads at most 8 KiB of request, answers a malformed
//! request with 400, a method other than GET or HEAD with 405 and an unknown path with 404.
//! A request that records a window (a trace or a profile) is answered on a thread of its own,
//! `lockscope-http-window`, three at most at once (409 for a fourth), so scrapes go on
//! meanwhile.
//! Reading the figures takes the same per-class snapshots as `lockscope::class_stats()`: no
//! work on any lock path.

mod metrics;
mod push;
mod trace;

pub use push::{PushError, Pyroscope};

use crate::raw::ListenAddr;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::OnceLock;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The address could not be resolved.
    #[error(
        "the HTTP address cannot be resolved: {source}; give HOST:PORT, such as 127.0.0.1:9464"
    )]
    Address {
        /// Why.
        source: io::Error,
    },
    /// The address is not a loopback one and remote access was not asked for.
    #[error(
        "{addr} is not a loopback address: the endpoint shows lock names, threads and stacks, so it listens on 127.0.0.1 or ::1 only, unless LOCKSCOPE_HTTP_ANY=1 is set (or lockscope::http::serve_any is used)"
    )]
    NotLoopback {
        /// The address.
        addr: SocketAddr,
    },
    /// The socket could not be bound (a port in use, most often).
    #[error("cannot listen on {addr}: {source}; choose a free port (or port 0 for any)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The endpoint already runs (one per process).
    #[error("the lockscope HTTP endpoint already listens on {addr}")]
    Running {
        /// Where it listens.
        addr: SocketAddr,
    },
    /// The `lockscope-http` thread could not be started.
    #[error("cannot start the lockscope-http thread: {source}")]
    Thread {
        /// Why.
        source: io::Error,
    },
}

/// Where the endpoint listens, once started.
static LISTENING: OnceLock<SocketAddr> = OnceLock::new();

/// Starts the endpoint on `addr` (a loopback address unless `LOCKSCOPE_HTTP_ANY=1`), on its
/// own thread, for the life of the process. Returns the address it listens on (port 0 picks a
/// free port). One endpoint per process.
///
/// ```
/// let addr = lockscope::http::serve("127.0.0.1:0").unwrap();
/// assert!(addr.ip().is_loopback());
/// assert_eq!(lockscope::http::local_addr(), Some(addr));
/// ```
pub fn serve(addr: impl ToSocketAddrs) -> Result<SocketAddr, HttpError> {
    start(addr, crate::diag::env_flag("LOCKSCOPE_HTTP_ANY"))
}

/// [`serve`] on any address, loopback or not: the endpoint shows lock names, thread names and
/// stacks to whoever can reach it.
pub fn serve_any(addr: impl ToSocketAddrs) -> Result<SocketAddr, HttpError> {
    start(addr, true)
}

/// Where the endpoint listens, if it runs.
pub fn local_addr() -> Option<SocketAddr> {
    LISTENING.get().copied()
}

fn start(addr: impl ToSocketAddrs, any: bool) -> Result<SocketAddr, HttpError> {
    if let Some(a) = local_addr() {
        return Err(HttpError::Running { addr: a });
    }
    let addrs = crate::raw::listen_addrs(addr, any).map_err(|e| match e {
        ListenAddr::Unresolved(source) => HttpError::Address { source },
        ListenAddr::NotLoopback(addr) => HttpError::NotLoopback { addr },
    })?;
    let first = addrs[0];
    let listener = TcpListener::bind(&addrs[..]).map_err(|source| HttpError::Bind {
        addr: first,
        source,
    })?;
    let bound = listener.local_addr().map_err(|source| HttpError::Bind {
        addr: first,
        source,
    })?;
    if LISTENING.set(bound).is_err() {
        // Another thread started one meanwhile; this listener closes on drop.
        return Err(HttpError::Running {
            addr: local_addr().unwrap_or(bound),
        });
    }
    std::thread::Builder::new()
        .name("lockscope-http".into())
        .spawn(move || accept_loop(&listener))
        .map_err(|source| HttpError::Thread { source })?;
    Ok(bound)
}

fn accept_loop(listener: &TcpListener) {
    for conn in listener.incoming() {
        match conn {
            // A client that misbehaves costs its own request only.
            Ok(stream) => {
                let _ = answer(stream);
            }
            // Out of file descriptors, most often: wait a little instead of spinning.
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The longest request read (its line and headers).
const MAX_REQUEST: usize = 8 * 1024;
/// The deadline on each read and write of one client.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

fn answer(mut stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let head = match read_head(&mut stream)? {
        Some(h) => h,
        None => return respond(&mut stream, 400, "text/plain", b"bad request\n", false),
    };
    if !records_a_window(&head) {
        let (status, kind, body, head_only) = route(&head);
        return respond(&mut stream, status, kind, &body, head_only);
    }
    if WINDOWS.fetch_add(1, Relaxed) >= MAX_WINDOWS {
        WINDOWS.fetch_sub(1, Relaxed);
        let text =
            b"3 trace or profile windows are being recorded already; try again when one ends\n";
        return respond(&mut stream, 409, "text/plain", text, false);
    }
    let spawned = std::thread::Builder::new()
        .name("lockscope-http-window".into())
        .spawn(move || {
            let (status, kind, body, head_only) = route(&head);
            WINDOWS.fetch_sub(1, Relaxed);
            let _ = respond(&mut stream, status, kind, &body, head_only);
        });
    if spawned.is_err() {
        // The request (and its connection) went with the closure.
        WINDOWS.fetch_sub(1, Relaxed);
    }
    Ok(())
}

/// `lockscope-http-window` threads recording a trace or a profile now, and how many may
/// (a mutex and a block profile scraped together, and a trace).
static WINDOWS: AtomicUsize = AtomicUsize::new(0);
const MAX_WINDOWS: usize = 3;

/// Whether the request records a window of time (answered on its own thread).
fn records_a_window(head: &str) -> bool {
    let target = head.lines().next().unwrap_or_default().split(' ').nth(1);
    let path = target.map(|t| t.split('?').next().unwrap_or(t));
    matches!(
        path,
        Some("/debug/lockscope/trace" | "/debug/pprof/mutex" | "/debug/pprof/block")
    )
}

/// Reads up to the blank line that ends the headers; `None` when the request is cut short,
/// too long or not text.
fn read_head(stream: &mut TcpStream) -> io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        if buf.len() > MAX_REQUEST {
            return Ok(None);
        }
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Ok(None),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8(buf).ok())
}

/// The answer to a request head: status, content type, body, and whether only the headers go
/// out (HEAD).
fn route(head: &str) -> (u16, &'static str, Vec<u8>, bool) {
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return (400, "text/plain", b"bad request\n".to_vec(), false);
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return (400, "text/plain", b"bad request\n".to_vec(), false);
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return (405, "text/plain", b"only GET and HEAD\n".to_vec(), false),
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    match path {
        "/metrics" => (
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics::render().into_bytes(),
            head_only,
        ),
        "/debug/lockscope/dump" => (
            200,
            "text/plain; charset=utf-8",
            crate::dump::dump().to_string().into_bytes(),
            head_only,
        ),
        "/debug/lockscope/trace" => {
            let recorded = trace::seconds(query)
                .map_err(|e| (400, e))
                .and_then(trace::record);
            match recorded {
                Ok(bytes) => (200, "application/octet-stream", bytes, head_only),
                Err((status, text)) => (status, "text/plain", text.into_bytes(), head_only),
            }
        }
        "/debug/pprof/mutex" | "/debug/pprof/block" => {
            let profiled = trace::seconds(query)
                .map_err(|e| (400, e))
                .and_then(|n| trace::profile(n, path.ends_with("mutex")));
            match profiled {
                Ok(bytes) => (200, "application/octet-stream", bytes, head_only),
                Err((status, text)) => (status, "text/plain", text.into_bytes(), head_only),
            }
        }
        _ => (
            404,
            "text/plain",
            format!(
                "no such page: {path}; try /metrics, /debug/lockscope/dump, /debug/lockscope/trace?seconds=N, /debug/pprof/mutex?seconds=N or /debug/pprof/block?seconds=N\n"
            )
            .into_bytes(),
            head_only,
        ),
    }
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    kind: &str,
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        _ => "Internal Server Error",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status == 405 {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    stream.write_all(out.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::route;

    #[test]
    fn requests_are_routed_and_bad_ones_refused() {
        assert_eq!(route("GET /metrics HTTP/1.1\r\n\r\n").0, 200);
        assert_eq!(route("GET /metrics?x=1 HTTP/1.0\r\n\r\n").0, 200);
        assert_eq!(route("GET /debug/lockscope/dump HTTP/1.1\r\n\r\n").0, 200);
        assert_eq!(route("GET /nope HTTP/1.1\r\n\r\n").0, 404);
        assert_eq!(
            route("GET /debug/pprof/mutex?seconds=99 HTTP/1.1\r\n\r\n").0,
            400
        );
        assert!(super::records_a_window(
            "GET /debug/pprof/block?seconds=1 HTTP/1.1\r\n\r\n"
        ));
        assert!(!super::records_a_window("GET /metrics HTTP/1.1\r\n\r\n"));
        assert_eq!(route("POST /metrics HTTP/1.1\r\n\r\n").0, 405);
        assert_eq!(
            route("GET /debug/lockscope/trace?seconds=0 HTTP/1.1\r\n\r\n").0,
            400
        );
        assert!(route("HEAD /metrics HTTP/1.1\r\n\r\n").3);
        for bad in [
            "GET\r\n\r\n",
            "GET /metrics\r\n\r\n",
            "GET metrics HTTP/1.1\r\n\r\n",
            "GET / SMTP/1 x\r\n\r\n",
        ] {
            assert_eq!(route(bad).0, 400, "{bad:?}");
        }
    }
}
