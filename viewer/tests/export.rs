//! `lockscope export` and `lockscope flamegraph`: what other tools read back.

mod support;

use std::collections::HashMap;
use std::io::Read as _;

use lockscope_viewer::export::proto::Profile;
use prost::Message as _;
use serde_json::Value;
use support::{bank, lockscope, scratch, stderr, stdout, write};

fn bank_file(name: &str) -> String {
    let (t, _) = bank();
    write(name, &t.bytes()).to_str().unwrap().to_owned()
}

/// Parses folded lines into (frames, weight).
fn parse_folded(text: &str) -> Vec<(Vec<String>, u64)> {
    (text.lines())
        .map(|l| {
            let (stack, weight) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("no weight in {l:?}"));
            (
                stack.split(';').map(str::to_owned).collect(),
                weight.parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn folded_wait_stacks_are_root_first_with_the_lock_as_leaf_and_inferno_reads_them() {
    let out = lockscope(&["export", &bank_file("folded.lst"), "--format", "folded"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let stacks = parse_folded(&text);
    assert_eq!(
        stacks,
        [
            (
                vec![
                    "bank::main".to_owned(),
                    "bank::transfer".into(),
                    "ledger".into()
                ],
                103_000
            ),
            (
                // 500 ns ended, plus main's wait still going at the end (100 µs).
                vec!["src/cache.rs:31:13".to_owned(), "src/cache.rs:20:9".into()],
                100_500
            ),
        ]
    );

    let mut opt = inferno::flamegraph::Options::default();
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut opt, text.lines(), &mut svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    assert!(
        svg.contains("all (203,500 samples, 100%)"),
        "inferno did not read every line"
    );
    assert!(svg.contains("bank::transfer (103,000 samples"));
}

#[test]
fn folded_hold_stacks_weigh_holds_by_the_holders_site() {
    let out = lockscope(&[
        "export",
        &bank_file("folded-hold.lst"),
        "-f",
        "folded",
        "--hold",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stacks = parse_folded(&stdout(&out));
    assert_eq!(
        stacks,
        [
            (
                vec!["src/bank.rs:41:9".to_owned(), "ledger".into()],
                2_000 + 3_000 + 101_000
            ),
            (
                vec!["src/cache.rs:30:9".to_owned(), "src/cache.rs:20:9".into()],
                600
            ),
        ]
    );
    let out = lockscope(&[
        "export",
        &bank_file("hold-chrome.lst"),
        "-f",
        "chrome",
        "--hold",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--hold applies to --format folded only"));
}

#[test]
fn flamegraph_svg_is_titled_and_names_the_locks() {
    let svg_path = scratch("waits.svg");
    let out = lockscope(&[
        "flamegraph",
        &bank_file("flame.lst"),
        "-o",
        svg_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<?xml"));
    assert!(svg.contains("Lock wait time by waiter stack (pid 4242)"));
    for name in [
        "ledger (103,000 ns",
        "src/cache.rs:20:9 (100,500 ns",
        "bank::transfer",
    ] {
        assert!(svg.contains(name), "no {name:?} in the SVG");
    }

    let hold_path = scratch("holds.svg");
    let out = lockscope(&[
        "flamegraph",
        &bank_file("flame-hold.lst"),
        "-o",
        hold_path.to_str().unwrap(),
        "--hold",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = std::fs::read_to_string(&hold_path).unwrap();
    assert!(svg.contains("Lock hold time by holder site") && svg.contains("src/bank.rs:41:9"));
}

#[test]
fn flamegraph_of_a_trace_without_contention_says_why_nothing_was_drawn() {
    let mut t = support::TraceBuilder::new();
    t.lock(lockscope_format::LockKind::Mutex, "quiet", "src/q.rs:1:1");
    let path = write("quiet.lst", &t.bytes());
    let svg = scratch("quiet.svg");
    let out = lockscope(&[
        "flamegraph",
        path.to_str().unwrap(),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("nothing to draw from")
            && stderr(&out).contains("no contended wait ended")
    );
    assert!(!svg.exists());
}

#[test]
fn chrome_trace_has_a_thread_per_actor_wait_and_hold_slices_and_flows() {
    let (t, ids) = bank();
    let path = write("chrome.lst", &t.bytes());
    let out = lockscope(&["export", path.to_str().unwrap(), "--format", "chrome"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = doc["traceEvents"].as_array().unwrap();
    let of = |ph: &str| events.iter().filter(|e| e["ph"] == ph).collect::<Vec<_>>();

    let names: HashMap<u64, &str> = (of("M").into_iter())
        .filter(|e| e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(names[&ids.main], "main");
    assert_eq!(names[&ids.worker1], "worker-1");
    assert_eq!(names[&ids.worker2], "worker-2");

    let slices = of("X");
    let waits: Vec<&&Value> = slices
        .iter()
        .filter(|e| e["name"] == "wait ledger")
        .collect();
    assert_eq!(waits.len(), 3);
    assert!(
        waits
            .iter()
            .all(|e| e["tid"] == ids.worker1 && e["cat"] == "wait")
    );
    let longest = waits
        .iter()
        .find(|e| e["ts"] == 31.0)
        .expect("timestamps are in µs");
    assert_eq!(longest["dur"], 100.0);
    let holds = slices
        .iter()
        .filter(|e| e["name"] == "hold ledger" && e["tid"] == ids.worker2)
        .count();
    assert_eq!(holds, 3);
    let still = slices.iter().find(|e| e["tid"] == ids.main).unwrap();
    assert_eq!(
        (
            still["name"].as_str(),
            still["ts"].as_f64(),
            still["dur"].as_f64()
        ),
        (Some("wait src/cache.rs:20:9"), Some(900.0), Some(100.0))
    );

    // One flow per (wait, recorded hold of its holder), from the holder's track to the waiter's.
    let (starts, ends) = (of("s"), of("f"));
    assert_eq!((starts.len(), ends.len()), (4, 4));
    for s in &starts {
        let f = ends.iter().find(|f| f["id"] == s["id"]).unwrap();
        assert_eq!(f["bp"], "e");
        let (st, ft) = (s["ts"].as_f64().unwrap(), f["ts"].as_f64().unwrap());
        let inside = |tid: &Value, ts: f64, prefix: &str| {
            (slices.iter()).any(|x| {
                x["tid"] == *tid
                    && x["name"].as_str().unwrap().starts_with(prefix)
                    && x["ts"].as_f64().unwrap() < ts
                    && ts < x["ts"].as_f64().unwrap() + x["dur"].as_f64().unwrap()
            })
        };
        assert!(
            inside(&s["tid"], st, "hold "),
            "flow start {s} not inside a hold"
        );
        assert!(
            inside(&f["tid"], ft, "wait "),
            "flow end {f} not inside a wait"
        );
    }
    assert!(
        ends.iter().any(|f| f["tid"] == ids.worker2)
            && starts.iter().any(|s| s["tid"] == ids.worker1)
    );

    let alert = of("i")[0];
    assert_eq!(alert["name"], "alert: deadlock");
    assert_eq!(doc["otherData"]["status"], "complete");
}

#[test]
fn chrome_trace_moves_holds_that_overlap_without_nesting_to_their_own_track() {
    let mut t = support::TraceBuilder::new();
    let a = t.actor("hand-over-hand");
    let (_, first) = t.lock(lockscope_format::LockKind::Mutex, "first", "src/l.rs:1:1");
    let (_, second) = t.lock(lockscope_format::LockKind::Mutex, "second", "src/l.rs:2:1");
    t.hold(a, first, "src/l.rs:10:5", 100, 0, 300);
    t.hold(a, second, "src/l.rs:11:5", 200, 0, 400);
    let path = write("overlap.lst", &t.bytes());
    let out = lockscope(&["export", path.to_str().unwrap(), "-f", "chrome"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = doc["traceEvents"].as_array().unwrap();
    let tid_of = |name: &str| {
        events.iter().find(|e| e["name"] == name).unwrap()["tid"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(tid_of("hold first"), a);
    let extra = tid_of("hold second");
    assert_ne!(extra, a);
    assert!(
        extra < u64::from(u32::MAX),
        "viewers read tids as 32-bit numbers"
    );
    let label = events
        .iter()
        .find(|e| e["name"] == "thread_name" && e["tid"] == extra)
        .unwrap();
    assert_eq!(
        label["args"]["name"],
        "hand-over-hand (overlapping holds 1)"
    );
}

/// The function name at location `id` of `p` (its first line).
fn function_at(p: &Profile, id: u64) -> String {
    let loc = p.location.iter().find(|l| l.id == id).unwrap();
    let f = (p.function.iter())
        .find(|f| f.id == loc.line[0].function_id)
        .unwrap();
    p.string_table[f.name as usize].clone()
}

fn decode_pprof(gz: &[u8]) -> Profile {
    assert_eq!(&gz[..2], [0x1f, 0x8b], "not gzip");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut raw)
        .unwrap();
    Profile::decode(raw.as_slice()).unwrap()
}

#[test]
fn pprof_decodes_back_with_the_sample_types_values_and_labels() {
    let out_path = scratch("bank.pb.gz");
    let out = lockscope(&[
        "export",
        &bank_file("pprof.lst"),
        "--format",
        "pprof",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let p = decode_pprof(&std::fs::read(&out_path).unwrap());
    let s = |i: i64| p.string_table[i as usize].as_str();
    assert_eq!(s(0), "");
    let types: Vec<(&str, &str)> = p
        .sample_type
        .iter()
        .map(|t| (s(t.r#type), s(t.unit)))
        .collect();
    assert_eq!(
        types,
        [
            ("contentions", "count"),
            ("delay", "nanoseconds"),
            ("hold", "nanoseconds")
        ]
    );
    assert_eq!(s(p.default_sample_type), "delay");

    let mut totals = [0i64; 3];
    let mut by_lock: HashMap<&str, i64> = HashMap::new();
    for sample in &p.sample {
        assert_eq!(sample.value.len(), 3);
        for (t, v) in totals.iter_mut().zip(&sample.value) {
            *t += v;
        }
        let label = |k: &str| {
            sample
                .label
                .iter()
                .find(|l| s(l.key) == k)
                .map(|l| s(l.str))
                .unwrap()
        };
        label("thread");
        *by_lock.entry(label("lock")).or_default() += sample.value[1];
        // Every location exists, and the leaf is the lock.
        assert_eq!(
            function_at(&p, sample.location_id[0]),
            format!("lock {}", label("lock"))
        );
    }
    // Waits: 4 ended (103.5 µs) and main's still going at the end (100 µs).
    assert_eq!(totals, [5, 103_500 + 100_000, 106_000 + 600]);
    assert_eq!(by_lock["ledger"], 103_000);

    let functions: Vec<&str> = p.function.iter().map(|f| s(f.name)).collect();
    assert!(functions.contains(&"bank::transfer") && functions.contains(&"bank::main"));
    let transfer = p
        .function
        .iter()
        .find(|f| s(f.name) == "bank::transfer")
        .unwrap();
    assert_eq!(s(transfer.filename), "src/bank.rs");
    assert!(
        p.location
            .iter()
            .all(|l| l.mapping_id == 1 && !l.line.is_empty())
    );
}

/// Per-profile totals: (contentions, delay) and delay by the function of the frame above the
/// lock (the waiter's innermost frame, or the holder's site).
fn go_profile(name: &str, profile: &str) -> ((i64, i64), HashMap<String, i64>) {
    let out_path = scratch(name);
    let out = lockscope(&[
        "export",
        &bank_file(&format!("{name}.lst")),
        "--format",
        "pprof",
        "--profile",
        profile,
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    go_totals(&decode_pprof(&std::fs::read(&out_path).unwrap()))
}

/// A Go mutex or block profile's totals, as [`go_profile`] gives them, after checking its
/// sample and period types.
fn go_totals(p: &Profile) -> ((i64, i64), HashMap<String, i64>) {
    let s = |i: i64| p.string_table[i as usize].clone();
    let types: Vec<(String, String)> = p
        .sample_type
        .iter()
        .map(|t| (s(t.r#type), s(t.unit)))
        .collect();
    // What go tool pprof, Pyroscope and Parca take for a mutex or block profile.
    let want = [("contentions", "count"), ("delay", "nanoseconds")];
    assert_eq!(types, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
    let period = p.period_type.as_ref().unwrap();
    assert_eq!(
        (s(period.r#type), s(period.unit)),
        ("contentions".into(), "count".into())
    );
    let mut totals = (0, 0);
    let mut by_frame: HashMap<String, i64> = HashMap::new();
    for sample in &p.sample {
        assert_eq!(sample.value.len(), 2);
        totals.0 += sample.value[0];
        totals.1 += sample.value[1];
        *by_frame
            .entry(function_at(p, sample.location_id[1]))
            .or_default() += sample.value[1];
    }
    (totals, by_frame)
}

#[test]
fn go_block_and_mutex_profiles_carry_the_same_delay_charged_to_waiters_and_to_holders() {
    let (block, block_frames) = go_profile("block.pb.gz", "block");
    let (mutex, mutex_frames) = go_profile("mutex.pb.gz", "mutex");
    // The same waits as the combined profile: 5 of them, 203.5 µs in all.
    assert_eq!(block, (5, 103_500 + 100_000));
    assert_eq!(mutex.1, block.1, "both profiles add up to the same delay");
    assert!(mutex.0 >= block.0, "a wait counts once per holder");
    // The block profile charges waiters' frames; the mutex profile holders' sites.
    assert!(
        block_frames.keys().any(|f| f.starts_with("bank::")),
        "{block_frames:?}"
    );
    assert!(
        mutex_frames
            .keys()
            .all(|f| f.contains(".rs:") || f == "(holder not recorded)"),
        "{mutex_frames:?}"
    );
}

#[test]
fn profile_is_refused_outside_pprof() {
    let out = lockscope(&[
        "export",
        &bank_file("profile-csv.lst"),
        "--format",
        "csv",
        "--profile",
        "mutex",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--profile applies to --format pprof only"));
}

#[test]
fn pprof_goes_to_standard_output_when_it_is_not_a_terminal() {
    let out = lockscope(&[
        "export",
        &bank_file("pprof-stdout.lst"),
        "--format",
        "pprof",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let p = decode_pprof(&out.stdout);
    assert_eq!(p.sample_type.len(), 3);
}

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
