//! Pushing the mutex and block profiles to Grafana Pyroscope (`LOCKSCOPE_PYROSCOPE_URL`, or
//! [`Pyroscope::start`]): every window of `LOCKSCOPE_PUSH_SECS` (default 10) seconds, both
//! profiles go to Pyroscope's documented ingest API, `POST /ingest?format=pprof`, as the
//! multipart form its pprof ingestion takes (`profile`, and a `sample_type_config` that names
//! them `mutex_*` or `block_*`, as Pyroscope's own Go client does).
//!
//! It runs on its own thread, `lockscope-push`. A backend that is down costs bounded memory:
//! the last [`MAX_QUEUED`] windows wait to be sent again; an older one is dropped and counted
//! (`lockscope_pyroscope_dropped_windows_total` on `/metrics`), and the first failure after a
//! success is one warning on stderr. No lock path ever waits for it.

use crate::diag::warn;
use crate::profile::Window;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Windows kept while the backend cannot be reached.
pub(crate) const MAX_QUEUED: usize = 6;
/// The deadline of each connect, write and read of one push.
const PUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the pusher could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The URL is not `http://HOST:PORT[/PATH]`.
    #[error(
        "{url:?} is not an http://HOST:PORT URL ({why}); for https or authentication (Grafana Cloud), run Grafana Alloy's pyroscope.receive_http on this host and give its http:// address"
    )]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A label is not `key=value` with a Prometheus-style key.
    #[error(
        "label {label:?} is not key=value with a key of letters, digits and _ (not starting with a digit) and a value without , {{ }} or ="
    )]
    Label {
        /// The label given.
        label: String,
    },
    /// One pusher runs per process.
    #[error("a Pyroscope pusher already runs in this process")]
    Running,
    /// The `lockscope-push` thread could not be started.
    #[error("cannot start the lockscope-push thread: {source}")]
    Thread {
        /// Why.
        source: io::Error,
    },
}

/// Where and how to push: `Pyroscope::new(url)?.every(..).service_name(..).label(..)?.start()`.
#[derive(Clone, Debug)]
pub struct Pyroscope {
    authority: String,
    prefix: String,
    every: Duration,
    service: String,
    labels: Vec<(String, String)>,
}

impl Pyroscope {
    /// A pusher to the Pyroscope server at `url` (`http://HOST:PORT`, optionally with a path
    /// prefix), every 10 seconds, as the program's name with no labels.
    pub fn new(url: &str) -> Result<Pyroscope, PushError> {
        let bad = |why| PushError::Url {
            url: url.to_owned(),
            why,
        };
        let rest = url
            .trim()
            .strip_prefix("http://")
            .ok_or_else(|| bad("only http:// is supported"))?;
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = authority.rsplit_once(':').ok_or_else(|| bad("no :PORT"))?;
        if host.is_empty() || port.parse::<u16>().is_err() || authority.contains('@') {
            return Err(bad("the host or port is malformed"));
        }
        Ok(Pyroscope {
            authority: authority.to_owned(),
            prefix: prefix.to_owned(),
            every: Duration::from_secs(10),
            service: program_name(),
            labels: Vec::new(),
        })
    }

    /// The length of each window (at least one second).
    pub fn every(mut self, every: Duration) -> Pyroscope {
        self.every = every.max(Duration::from_secs(1));
        self
    }

    /// The `service_name` the profiles are filed under.
    pub fn service_name(mut self, name: impl Into<String>) -> Pyroscope {
        self.service = name.into();
        self
    }

    /// Adds a label (`env=prod`, `region=eu-west-1`) to every profile.
    pub fn label(mut self, key: &str, value: &str) -> Result<Pyroscope, PushError> {
        let key_ok = key.chars().next().is_some_and(|c| !c.is_ascii_digit())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let value_ok = !value.is_empty() && !value.contains([',', '{', '}', '=']);
        if !key_ok || !value_ok {
            return Err(PushError::Label {
                label: format!("{key}={value}"),
            });
        }
        self.labels.push((key.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// `LOCKSCOPE_LABELS`'s `k=v,k=v` added as labels.
    pub(crate) fn labels_from(mut self, list: &str) -> Result<Pyroscope, PushError> {
        for kv in list.split(',').map(str::trim).filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').ok_or_else(|| PushError::Label {
                label: kv.to_owned(),
            })?;
            self = self.label(k.trim(), v.trim())?;
        }
        Ok(self)
    }

    /// Starts pushing, on its own thread, for the life of the process.
    pub fn start(self) -> Result<(), PushError> {
        static STARTED: AtomicBool = AtomicBool::new(false);
        if STARTED.swap(true, Relaxed) {
            return Err(PushError::Running);
        }
        std::thread::Builder::new()
            .name("lockscope-push".into())
            .spawn(move || self.run())
            .map(drop)
            .map_err(|source| {
                STARTED.store(false, Relaxed);
                PushError::Thread { source }
            })
    }

    /// The `name` query value: the service and its labels, as Pyroscope spells an app.
    fn app_name(&self) -> String {
        let labels: Vec<String> = std::iter::once(("service_name", self.service.as_str()))
            .chain(self.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("{}{{{}}}", self.service, labels.join(","))
    }

    fn run(self) {
        let mut queue = Queue::default();
        loop {
            let Some(window) = Window::open() else {
                // Every window slot is taken (HTTP profiles): try again in a moment.
                std::thread::sleep(Duration::from_secs(1));
                continue;
            };
            let from = unix_secs();
            std::thread::sleep(self.every);
            let until = unix_secs().max(from + 1);
            match window.close() {
                Ok(p) => queue.push(Pushed {
                    from,
                    until,
                    parts: vec![(Kind::Mutex, p.mutex), (Kind::Block, p.block)],
                }),
                Err(e) => warn(&format!("cannot build the profiles to push: {e}")),
            }
            queue.send(|w, kind, profile| self.post(w, kind, profile));
        }
    }

    /// Sends one profile; `Err` with what went wrong.
    fn post(&self, w: &Pushed, kind: Kind, profile: &[u8]) -> Result<(), String> {
        let query = format!(
            "name={}&from={}&until={}&format=pprof&spyName=lockscope",
            url_encode(&self.app_name()),
            w.from,
            w.until
        );
        let boundary = format!("lockscope-{:016x}", w.from ^ (profile.len() as u64) << 20);
        let body = multipart(&boundary, profile, kind.sample_type_config());
        let mut request = String::new();
        let _ = write!(
            request,
            "POST {}/ingest?{query} HTTP/1.1\r\nHost: {}\r\nUser-Agent: lockscope/{}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.prefix,
            self.authority,
            env!("CARGO_PKG_VERSION"),
            body.len()
        );
        let addr = self
            .authority
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", self.authority))?
            .next()
            .ok_or_else(|| format!("{} resolves to no address", self.authority))?;
        let mut s = TcpStream::connect_timeout(&addr, PUSH_TIMEOUT).map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(PUSH_TIMEOUT))
            .and_then(|()| s.set_read_timeout(Some(PUSH_TIMEOUT)))
            .and_then(|()| s.write_all(request.as_bytes()))
            .and_then(|()| s.write_all(&body))
            .map_err(|e| e.to_string())?;
        let mut head = [0u8; 64];
        let n = s.read(&mut head).map_err(|e| e.to_string())?;
        let line = String::from_utf8_lossy(&head[..n]);
        let status = line.split(' ').nth(1).unwrap_or("");
        if status.starts_with('2') {
            Ok(())
        } else {
            Err(format!(
                "the server answered {:?}",
                line.lines().next().unwrap_or("")
            ))
        }
    }
}

/// The program's file name, the default service name.
fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "lockscope-program".to_owned())
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Percent-encodes everything but unreserved characters, for a query value.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The form Pyroscope's pprof ingestion reads: the profile, and how to name its sample types.
fn multipart(boundary: &str, profile: &[u8], config: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(profile.len() + config.len() + 512);
    for (field, file, kind, bytes) in [
        (
            "profile",
            "profile.pprof",
            "application/octet-stream",
            profile,
        ),
        (
            "sample_type_config",
            "sample_type_config.json",
            "application/json",
            config.as_bytes(),
        ),
    ] {
        let _ = write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\nContent-Type: {kind}\r\n\r\n"
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    let _ = write!(body, "--{boundary}--\r\n");
    body
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Mutex,
    Block,
}

impl Kind {
    /// The sample type configuration Pyroscope's Go client sends for this profile.
    fn sample_type_config(self) -> &'static str {
        match self {
            Kind::Mutex => {
                r#"{"contentions":{"units":"lock_samples","display-name":"mutex_count"},"delay":{"units":"lock_nanoseconds","display-name":"mutex_duration"}}"#
            }
            Kind::Block => {
                r#"{"contentions":{"units":"lock_samples","display-name":"block_count"},"delay":{"units":"lock_nanoseconds","display-name":"block_duration"}}"#
            }
        }
    }
}

/// One window's profiles, with the ones not sent yet.
struct Pushed {
    from: u64,
    until: u64,
    parts: Vec<(Kind, Vec<u8>)>,
}

/// Profiles pushed, pushes that failed, and windows dropped because the queue was full.
pub(crate) static SENT: AtomicU64 = AtomicU64::new(0);
pub(crate) static FAILED: AtomicU64 = AtomicU64::new(0);
pub(crate) static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The windows waiting to be sent, oldest first, at most [`MAX_QUEUED`].
#[derive(Default)]
struct Queue {
    windows: VecDeque<Pushed>,
    failing: bool,
}

impl Queue {
    fn push(&mut self, w: Pushed) {
        if self.windows.len() == MAX_QUEUED {
            self.windows.pop_front();
            DROPPED.fetch_add(1, Relaxed);
        }
        self.windows.push_back(w);
    }

    /// Sends what waits, oldest first, until one fails; each profile is sent once.
    fn send(&mut self, mut post: impl FnMut(&Pushed, Kind, &[u8]) -> Result<(), String>) {
        while let Some(w) = self.windows.front_mut() {
            while let Some((kind, profile)) = w.parts.first() {
                if let Err(e) = post(w, *kind, profile) {
                    FAILED.fetch_add(1, Relaxed);
                    if !self.failing {
                        self.failing = true;
                        warn(&format!(
                            "cannot push lock profiles to Pyroscope: {e}; the last {MAX_QUEUED} windows are kept and sent when it answers"
                        ));
                    }
                    return;
                }
                SENT.fetch_add(1, Relaxed);
                w.parts.remove(0);
            }
            self.windows.pop_front();
        }
        if self.failing {
            self.failing = false;
            warn("pushing lock profiles to Pyroscope again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_labels_are_checked_and_named() {
        let p = Pyroscope::new("http://127.0.0.1:4040/prefix/").unwrap();
        assert_eq!(
            (p.authority.as_str(), p.prefix.as_str()),
            ("127.0.0.1:4040", "/prefix")
        );
        for bad in [
            "https://x:1",
            "127.0.0.1:4040",
            "http://x",
            "http://:1",
            "http://u@x:1",
        ] {
            let e = Pyroscope::new(bad).unwrap_err().to_string();
            assert!(e.contains("http://HOST:PORT") && e.contains("Alloy"), "{e}");
        }
        let p = p
            .service_name("ledger")
            .labels_from("env=prod, region=eu-1")
            .unwrap();
        assert_eq!(
            p.app_name(),
            "ledger{service_name=ledger,env=prod,region=eu-1}"
        );
        for bad in ["env", "1x=y", "a=b{", "a="] {
            let e = Pyroscope::new("http://h:1").unwrap().labels_from(bad);
            assert!(matches!(e, Err(PushError::Label { .. })), "{bad}");
        }
        assert_eq!(url_encode("a{b=c}"), "a%7Bb%3Dc%7D");
    }

    fn window(n: u64) -> Pushed {
        Pushed {
            from: n,
            until: n + 1,
            parts: vec![(Kind::Mutex, vec![1]), (Kind::Block, vec![2])],
        }
    }

    #[test]
    fn a_backend_that_is_down_costs_bounded_memory_and_nothing_is_sent_twice() {
        let mut q = Queue::default();
        let dropped = DROPPED.load(Relaxed);
        for n in 0..MAX_QUEUED as u64 + 2 {
            q.push(window(n));
        }
        assert_eq!(q.windows.len(), MAX_QUEUED);
        assert_eq!(DROPPED.load(Relaxed) - dropped, 2);
        assert_eq!(q.windows.front().unwrap().from, 2, "the oldest went first");
        // The mutex profile of the first window goes out, then the backend fails.
        let mut sent = Vec::new();
        q.send(|w, k, _| {
            if sent.is_empty() {
                sent.push((w.from, k));
                Ok(())
            } else {
                Err("down".into())
            }
        });
        assert!(q.failing);
        assert_eq!(q.windows.len(), MAX_QUEUED);
        // Back up: the rest goes out once each, the block profile first.
        q.send(|w, k, _| {
            sent.push((w.from, k));
            Ok(())
        });
        assert!(!q.failing && q.windows.is_empty());
        assert_eq!(sent.len(), 2 * MAX_QUEUED);
        assert_eq!(sent[..2], [(2, Kind::Mutex), (2, Kind::Block)]);
    }

    #[test]
    fn the_form_has_both_files() {
        let body = multipart("B", b"PROFILE", "{}");
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with("--B\r\nContent-Disposition: form-data; name=\"profile\""));
        assert!(text.contains("name=\"sample_type_config\"; filename=\"sample_type_config.json\""));
        assert!(text.contains("\r\n\r\nPROFILE\r\n--B"));
        assert!(text.ends_with("--B--\r\n"));
    }
}
