//! The HTTP endpoint over real TCP on 127.0.0.1: `/metrics` carries the figures the report
//! uses, `/debug/lockscope/dump` who holds what now, bad requests get 400/404/405, and a busy
//! port, a remote address or a bad `LOCKSCOPE_HTTP` is one clear error. Each test runs in a
//! child process: there is one endpoint per process.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, mpsc};
use std::thread;
use support::*;

/// Sends `request` as is and returns the status code and the body.
fn raw(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    (status, body.unwrap_or_default())
}

/// Sends `request` and returns the status code and the body as bytes.
fn raw_bytes(addr: SocketAddr, request: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&out[..end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out[end..].to_vec())
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    raw(addr, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"))
}

/// The value of the sample line that starts with `series ` (name and labels).
fn sample(page: &str, series: &str) -> u64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{page}"))
        .trim()
        .parse()
        .unwrap()
}

/// Waits until the thread named `name` is asleep (blocked in a system call), as
/// `/proc/self/task/*/stat` shows it.
fn until_asleep(name: &str) {
    loop {
        let tasks = std::fs::read_dir("/proc/self/task").unwrap().flatten();
        for task in tasks.map(|e| e.path()) {
            let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
            let stat = std::fs::read_to_string(task.join("stat")).unwrap_or_default();
            // The state is the first field after the name's closing parenthesis.
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
            if comm.trim() == name && state.is_some_and(|s| s.starts_with('S')) {
                return;
            }
        }
        std::thread::yield_now();
    }
}

#[test]
fn the_endpoint_serves_metrics_and_the_dump_over_real_tcp() {
    const NAME: &str = "the_endpoint_serves_metrics_and_the_dump_over_real_tcp";
    if !is_child(NAME) {
        assert_child_ok(&run_child(NAME, &[]));
        return;
    }
    let addr = lockscope::http::serve("127.0.0.1:0").unwrap();
    let m = Arc::new(lockscope::Mutex::named("http-ledger", 0u32));
    forced_contention(&m);
    // Asleep in accept, it has switched voluntarily: on a loaded machine it may not have
    // reached accept yet, and would then take the request without ever blocking.
    until_asleep("lockscope-http");

    let (status, page) = get(addr, "/metrics");
    assert_eq!(status, 200, "{page}");
    let labels = "{lock=\"http-ledger\",kind=\"mutex\"}";
    let stats = m.stats();
    assert_eq!(
        sample(&page, &format!("lockscope_lock_contentions_total{labels}")),
        stats.contentions
    );
    assert!(sample(&page, &format!("lockscope_lock_acquisitions_total{labels}")) >= 2);
    // The wait histogram: cumulative buckets ending in its count, which is the class's
    // recorded waits (the report's wait figures).
    let row = lockscope::class_stats()
        .into_iter()
        .find(|c| c.name == "http-ledger")
        .unwrap();
    let buckets: Vec<u64> = page
        .lines()
        .filter(|l| l.starts_with("lockscope_lock_wait_seconds_bucket{lock=\"http-ledger\""))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(buckets.len(), 14, "{page}");
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    let count = sample(&page, &format!("lockscope_lock_wait_seconds_count{labels}"));
    assert_eq!(*buckets.last().unwrap(), count);
    let sum: f64 = page
        .lines()
        .find_map(|l| l.strip_prefix(&format!("lockscope_lock_wait_seconds_sum{labels} ")))
        .unwrap()
        .parse()
        .unwrap();
    let total = row.wait_ns.total as f64 / 1e9;
    assert!(
        (sum - total).abs() <= total * 1e-9,
        "{sum} s against the report's {total} s"
    );
    assert!(count >= 1, "the forced contention waited");
    assert!(page.contains("# TYPE lockscope_lock_wait_seconds histogram"));
    // The endpoint's own thread blocks in accept: it has switched voluntarily, and is one
    // live thread of its name.
    let own = "{thread=\"lockscope-http\",kind=\"voluntary\"}";
    assert!(
        sample(
            &page,
            &format!("lockscope_thread_context_switches_total{own}")
        ) > 0
    );
    assert_eq!(
        sample(&page, "lockscope_threads{thread=\"lockscope-http\"}"),
        1
    );

    // The dump names a lock another thread holds right now.
    let held = Arc::new(lockscope::Mutex::named("http-held", ()));
    let (locked_tx, locked_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let h = held.clone();
    let holder = thread::Builder::new()
        .name("http-holder".into())
        .spawn(move || {
            let _g = h.lock();
            locked_tx.send(()).unwrap();
            let _ = done_rx.recv();
        })
        .unwrap();
    locked_rx.recv().unwrap();
    let (status, dump) = get(addr, "/debug/lockscope/dump");
    assert_eq!(status, 200);
    assert!(
        dump.contains("http-holder") && dump.contains("http-held"),
        "{dump}"
    );
    done_tx.send(()).unwrap();
    holder.join().unwrap();

    assert_eq!(get(addr, "/nope").0, 404);
    assert_eq!(raw(addr, "POST /metrics HTTP/1.1\r\n\r\n").0, 405);
    assert_eq!(raw(addr, "hello\r\n\r\n").0, 400);
    let (status, body) = raw(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
    assert_eq!((status, body.as_str()), (200, ""));
    // A client that connects and says nothing does not stop the next one.
    let silent = TcpStream::connect(addr).unwrap();
    drop(silent);
    assert_eq!(get(addr, "/metrics").0, 200);

    // A trace of the next second: a whole file the decoder reads, with what ran meanwhile.
    lockscope::set_hold_sample_period(1);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (s2, traced) = (
        stop.clone(),
        Arc::new(lockscope::Mutex::named("http-traced", 0u64)),
    );
    let t2 = traced.clone();
    let busy = thread::spawn(move || {
        while !s2.load(std::sync::atomic::Ordering::Relaxed) {
            *t2.lock() += 1;
            thread::yield_now();
        }
    });
    let (status, body) = raw_bytes(
        addr,
        "GET /debug/lockscope/trace?seconds=1 HTTP/1.1\r\n\r\n",
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    busy.join().unwrap();
    assert_eq!(status, 200);
    let path = trace_path("http-trace");
    std::fs::write(&path, &body).unwrap();
    let t = lockscope::format::read_file(&path).unwrap();
    assert!(t.is_complete());
    let class = class_named(&t, "http-traced");
    assert!(!locks_of(&t, class).is_empty());
    // While a recording runs, the endpoint does not start a second one.
    let rec = lockscope::Recorder::to_file(trace_path("http-busy"))
        .unwrap()
        .start();
    let (status, text) = get(addr, "/debug/lockscope/trace?seconds=1");
    assert_eq!(status, 409, "{text}");
    drop(rec);
    assert_eq!(get(addr, "/debug/lockscope/trace?seconds=99").0, 400);

    let again = lockscope::http::serve("127.0.0.1:0").unwrap_err();
    assert!(again.to_string().contains("already listens"), "{again}");
}

#[test]
fn a_busy_port_and_a_remote_address_are_refused_with_the_fix_named() {
    const NAME: &str = "a_busy_port_and_a_remote_address_are_refused_with_the_fix_named";
    if !is_child(NAME) {
        assert_child_ok(&run_child(NAME, &[]));
        return;
    }
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap();
    let e = lockscope::http::serve(busy).unwrap_err().to_string();
    assert!(
        e.contains(&busy.to_string()) && e.contains("choose a free port"),
        "{e}"
    );
    let e = lockscope::http::serve("0.0.0.0:0").unwrap_err().to_string();
    assert!(e.contains("LOCKSCOPE_HTTP_ANY=1"), "{e}");
    assert_eq!(lockscope::http::local_addr(), None, "nothing listens");
}

#[test]
fn lockscope_http_starts_the_endpoint_at_the_first_lock() {
    const NAME: &str = "lockscope_http_starts_the_endpoint_at_the_first_lock";
    if is_child(NAME) {
        *lockscope::Mutex::named("http-env", 0).lock() += 1;
        let addr = lockscope::http::local_addr().expect("LOCKSCOPE_HTTP started it");
        let (status, page) = get(addr, "/metrics");
        assert_eq!(status, 200);
        assert!(page.contains("lock=\"http-env\""), "{page}");
        return;
    }
    assert_child_ok(&run_child(NAME, &[("LOCKSCOPE_HTTP", "127.0.0.1:0")]));
}

#[test]
fn a_bad_lockscope_http_is_one_line_and_the_program_goes_on() {
    const NAME: &str = "a_bad_lockscope_http_is_one_line_and_the_program_goes_on";
    if is_child(NAME) {
        *lockscope::Mutex::named("http-bad-env", 0).lock() += 1;
        assert_eq!(lockscope::http::local_addr(), None);
        return;
    }
    let out = run_child(NAME, &[("LOCKSCOPE_HTTP", "no-such-host-here:notaport")]);
    assert_child_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("LOCKSCOPE_HTTP"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("HOST:PORT"), "{stderr}");
}

#[test]
fn a_bad_pyroscope_setting_is_one_line_naming_the_fix_and_the_program_goes_on() {
    const NAME: &str = "a_bad_pyroscope_setting_is_one_line_naming_the_fix_and_the_program_goes_on";
    if is_child(NAME) {
        *lockscope::Mutex::named("push-bad-env", 0).lock() += 1;
        return;
    }
    for (vars, fix) in [
        (
            [
                ("LOCKSCOPE_PYROSCOPE_URL", "https://profiles.example:443"),
                ("LOCKSCOPE_LABELS", ""),
            ],
            "pyroscope.receive_http",
        ),
        (
            [
                ("LOCKSCOPE_PYROSCOPE_URL", "http://127.0.0.1:9"),
                ("LOCKSCOPE_LABELS", "env"),
            ],
            "key=value",
        ),
    ] {
        let out = run_child(NAME, &vars);
        assert_child_ok(&out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("lockscope:"))
            .collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(
            lines[0].contains(fix) && lines[0].contains("without pushing"),
            "{stderr}"
        );
    }
}

#[test]
fn pool_gauges_show_capacity_use_waiters_and_starved_time() {
    const NAME: &str = "pool_gauges_show_capacity_use_waiters_and_starved_time";
    if !is_child(NAME) {
        assert_child_ok(&run_child(NAME, &[]));
        return;
    }
    let addr = lockscope::http::serve("127.0.0.1:0").unwrap();
    let labels = "{lock=\"http-pool\",kind=\"semaphore\"}";
    let gauge = |page: &str, name: &str| sample(page, &format!("{name}{labels}"));
    let pool = Arc::new(lockscope::Semaphore::named("http-pool", 2));
    let (a, b) = (pool.acquire(), pool.acquire());
    let p = pool.clone();
    let waiter = thread::Builder::new()
        .name("pool-waiter".into())
        .spawn(move || drop(p.acquire()))
        .unwrap();
    while pool.stats().waiters == 0 {
        thread::yield_now();
    }
    let (status, page) = get(addr, "/metrics");
    assert_eq!(status, 200);
    assert_eq!(gauge(&page, "lockscope_pool_capacity"), 2, "{page}");
    assert_eq!(gauge(&page, "lockscope_pool_in_use"), 2, "{page}");
    assert_eq!(gauge(&page, "lockscope_pool_waiters"), 1, "{page}");
    drop(a);
    waiter.join().unwrap();
    let page = get(addr, "/metrics").1;
    assert_eq!(gauge(&page, "lockscope_pool_in_use"), 1, "{page}");
    assert_eq!(gauge(&page, "lockscope_pool_waiters"), 0, "{page}");
    let starved: f64 = page
        .lines()
        .find_map(|l| l.strip_prefix(&format!("lockscope_pool_starved_seconds_total{labels} ")))
        .unwrap()
        .parse()
        .unwrap();
    assert!(starved > 0.0, "the waiter's wait was starved time: {page}");
    pool.add_permits(3);
    assert_eq!(
        gauge(&get(addr, "/metrics").1, "lockscope_pool_capacity"),
        5
    );
    drop(b);
    drop(pool);
    assert_eq!(
        gauge(&get(addr, "/metrics").1, "lockscope_pool_capacity"),
        0,
        "a dropped pool's permits are gone"
    );
}
