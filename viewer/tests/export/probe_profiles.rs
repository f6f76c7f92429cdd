//! The probe's own Go profiles, read back as `go tool pprof` would: the HTTP endpoint's
//! `/debug/pprof/{mutex,block}` windows, and each window pushed to a (local, decoding)
//! Pyroscope receiver.

use std::collections::HashMap;
use std::io::Read as _;

use serde_json::Value;

use super::{decode_pprof, function_at, go_totals};

/// One contended wait on `m`: a `pprof-holder` thread takes it (at the line it returns) and
/// keeps it until a `pprof-waiter` thread is counted waiting.
fn contend_once(m: &std::sync::Arc<lockscope::Mutex<u32>>) -> u32 {
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (mh, mw) = (m.clone(), m.clone());
    let holder = std::thread::Builder::new()
        .name("pprof-holder".into())
        .spawn(move || {
            let (mut g, line) = (mh.lock(), line!());
            locked_tx.send(line).unwrap();
            while mh.stats().waiters == 0 {
                std::thread::yield_now();
            }
            *g += 1;
        })
        .unwrap();
    let line = locked_rx.recv().unwrap();
    let waiter = std::thread::Builder::new()
        .name("pprof-waiter".into())
        .spawn(move || *mw.lock() += 1)
        .unwrap();
    holder.join().unwrap();
    waiter.join().unwrap();
    line
}

/// Fetches `path` from the endpoint at `addr`: the status and the body.
fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, Vec<u8>) {
    use std::io::Write as _;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let status = String::from_utf8_lossy(&out[9..12]).parse().unwrap();
    (status, out[end..].to_vec())
}

#[test]
fn the_probes_http_endpoint_serves_go_profiles_of_a_window() {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    let addr = lockscope::http::serve("127.0.0.1:0").unwrap();
    let m = std::sync::Arc::new(lockscope::Mutex::named("pprof-http", 0u32));
    let line = contend_once(&m);
    for (path, profile) in [("mutex", "mutex"), ("block", "block")] {
        // Waits keep coming while the window is open.
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (m2, stop2) = (m.clone(), stop.clone());
        let load = std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop2.load(Relaxed) {
                contend_once(&m2);
                n += 1;
            }
            n
        });
        let (status, body) = http_get(addr, &format!("/debug/pprof/{path}?seconds=1"));
        stop.store(true, Relaxed);
        let cycles = load.join().unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let p = decode_pprof(&body);
        let ((_, delay), by_frame) = go_totals(&p);
        let s = |i: i64| p.string_table[i as usize].clone();
        // This lock's waits (other tests in this process contend other locks meanwhile): each
        // ran inside the window or straddled one of its edges.
        let contentions: i64 = p
            .sample
            .iter()
            .filter(|x| {
                x.label
                    .iter()
                    .any(|l| s(l.key) == "lock" && s(l.str) == "pprof-http")
            })
            .map(|x| x.value[0])
            .sum();
        assert!(
            contentions >= 1 && contentions as u64 <= cycles + 2,
            "{profile}: {contentions} contentions from {cycles} cycles"
        );
        assert!(delay > 0, "{profile}");
        let lock_leaf =
            (p.sample.iter()).all(|x| function_at(&p, x.location_id[0]).starts_with("lock "));
        assert!(lock_leaf, "{profile}: every stack ends in its lock's frame");
        let labels: Vec<(String, String)> = p
            .sample
            .iter()
            .flat_map(|x| x.label.iter().map(|l| (s(l.key), s(l.str))))
            .collect();
        assert!(
            labels.contains(&("lock".into(), "pprof-http".into())),
            "{labels:?}"
        );
        if profile == "mutex" {
            // Charged to where the holder took the lock, named after it.
            let site = format!("{}:{line}:", file!());
            assert!(
                by_frame.keys().any(|f| f.starts_with(&site)),
                "{site} not among {by_frame:?}"
            );
            assert!(labels.contains(&("thread".into(), "pprof-holder".into())));
        } else {
            // By the waiter's stack: its innermost frame is this file's closure.
            assert!(
                by_frame.keys().any(|f| f.contains("contend_once")),
                "{by_frame:?}"
            );
            assert!(labels.contains(&("thread".into(), "pprof-waiter".into())));
        }
    }
    let (status, _) = http_get(addr, "/debug/pprof/mutex?seconds=0");
    assert_eq!(status, 400);
}

/// One request as a test receiver saw it: the request line, the headers, the body.
struct Received {
    line: String,
    headers: String,
    body: Vec<u8>,
}

/// Reads one HTTP request (headers, then `Content-Length` bytes) and answers 200.
fn receive(mut s: std::net::TcpStream) -> Received {
    use std::io::Write as _;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "the request ended early");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    while buf.len() < head_end + length {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "the body ended early");
        buf.extend_from_slice(&chunk[..n]);
    }
    s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let (line, headers) = head.split_once("\r\n").unwrap();
    Received {
        line: line.to_owned(),
        headers: headers.to_owned(),
        body: buf[head_end..head_end + length].to_vec(),
    }
}

/// The named file fields of a multipart form.
fn form_files(r: &Received) -> HashMap<String, Vec<u8>> {
    let boundary = r
        .headers
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: multipart/form-data; boundary="))
        .unwrap()
        .trim();
    let sep = format!("--{boundary}");
    let mut out = HashMap::new();
    let mut rest = &r.body[..];
    while let Some(start) = rest.windows(sep.len()).position(|w| w == sep.as_bytes()) {
        rest = &rest[start + sep.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let head_end = rest.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let name = head
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let data = &rest[head_end + 4..];
        let end = data
            .windows(sep.len())
            .position(|w| w == sep.as_bytes())
            .unwrap();
        out.insert(name.to_owned(), data[..end - 2].to_vec());
        rest = &data[end..];
    }
    out
}

#[test]
fn pyroscope_receives_each_windows_mutex_and_block_profiles() {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    let receiver = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", receiver.local_addr().unwrap());
    lockscope::http::Pyroscope::new(&url)
        .unwrap()
        .every(std::time::Duration::from_secs(1))
        .service_name("export-test")
        .label("env", "ci")
        .unwrap()
        .start()
        .unwrap();
    let again = lockscope::http::Pyroscope::new(&url).unwrap().start();
    assert!(again.unwrap_err().to_string().contains("already runs"));
    let m = std::sync::Arc::new(lockscope::Mutex::named("pyro-http", 0u32));
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let (m2, stop2) = (m.clone(), stop.clone());
    let load = std::thread::spawn(move || {
        while !stop2.load(Relaxed) {
            contend_once(&m2);
        }
    });
    // Until a window's mutex and block profiles both carry the lock (at most 20 pushes).
    let mut seen: HashMap<String, i64> = HashMap::new();
    for conn in receiver.incoming().take(20) {
        let r = receive(conn.unwrap());
        assert!(r.line.starts_with("POST /ingest?"), "{}", r.line);
        let name = "name=export-test%7Bservice_name%3Dexport-test%2Cenv%3Dci%7D&";
        assert!(r.line.contains(name), "{}", r.line);
        assert!(r.line.contains("&format=pprof"), "{}", r.line);
        let query: HashMap<&str, &str> = r.line[r.line.find('?').unwrap() + 1..]
            .split(' ')
            .next()
            .unwrap()
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let (from, until): (u64, u64) = (
            query["from"].parse().unwrap(),
            query["until"].parse().unwrap(),
        );
        assert!(from < until, "{from}..{until}");
        let files = form_files(&r);
        let config: Value = serde_json::from_slice(&files["sample_type_config"]).unwrap();
        let kind = config["delay"]["display-name"].as_str().unwrap().to_owned();
        assert!(
            kind == "mutex_duration" || kind == "block_duration",
            "{config}"
        );
        assert_eq!(config["delay"]["units"], "lock_nanoseconds");
        let p = decode_pprof(&files["profile"]);
        let ((_, delay), _) = go_totals(&p);
        let has_lock = p.string_table.iter().any(|s| s == "lock pyro-http");
        if has_lock && delay > 0 {
            *seen.entry(kind).or_default() += delay;
        }
        if seen.len() == 2 {
            break;
        }
    }
    stop.store(true, Relaxed);
    load.join().unwrap();
    assert_eq!(
        seen.len(),
        2,
        "both profiles reached the receiver: {seen:?}"
    );
}
