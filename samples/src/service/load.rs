//! The built-in load generator: keep-alive HTTP/1.1 connections on loopback, each sending
//! one request at a time, paced to a total rate, stopping by itself after a duration or a
//! number of requests. Every request has a timeout, so a stuck service cannot hang it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// What load to send.
#[derive(Clone, Debug)]
pub struct Load {
    /// Requests per second over all connections; 0 sends as fast as the service answers.
    pub rps: u64,
    /// Stop after this long.
    pub duration: Duration,
    /// Stop after this many requests (in all), if given.
    pub requests: Option<u64>,
    /// Connections, each with one request in flight.
    pub concurrency: usize,
}

/// What the load generator measured.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Requests answered with status 200.
    pub ok: u64,
    /// Requests that failed (connection error, timeout, other status).
    pub errors: u64,
    /// From the first request to the last answer.
    pub elapsed: Duration,
    /// Median latency, microseconds.
    pub p50_us: u64,
    /// 99th-percentile latency, microseconds.
    pub p99_us: u64,
}

impl Outcome {
    /// Answered requests per second.
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The request mix, in order: lookups dominate, then orders, stats, transfers and refunds.
const MIX: &[(&str, &str)] = &[
    ("GET", "/orders/"),
    ("GET", "/orders/"),
    ("POST", "/orders"),
    ("GET", "/orders/"),
    ("GET", "/stats"),
    ("POST", "/transfer"),
    ("GET", "/orders/"),
    ("POST", "/refund"),
];

/// Keep-alive connections to one service, kept from one [`run_on`] to the next.
#[derive(Debug, Default)]
pub struct Connections {
    idle: Vec<BufReader<TcpStream>>,
}

/// Runs `load` against the service at `addr` on the current tokio runtime, on new
/// connections, closed at the end.
pub async fn run(addr: SocketAddr, load: &Load) -> Outcome {
    run_on(addr, load, &mut Connections::default()).await
}

/// [`run`] on the connections kept in `conns` (more are opened as needed), which keeps the
/// ones still open at the end: a benchmark that runs batch after batch opens its connections
/// once, and leaves no trail of closed sockets (each waits a minute in TIME_WAIT, holding a
/// local port) to slow down whatever runs after it.
pub async fn run_on(addr: SocketAddr, load: &Load, conns: &mut Connections) -> Outcome {
    let start = Instant::now();
    let deadline = start + load.duration;
    let left = Arc::new(AtomicU64::new(load.requests.unwrap_or(u64::MAX)));
    let period = (load.rps > 0)
        .then(|| Duration::from_secs_f64(load.concurrency.max(1) as f64 / load.rps as f64));
    let tasks: Vec<_> = (0..load.concurrency.max(1))
        .map(|c| {
            let left = left.clone();
            let conn = conns.idle.pop();
            tokio::spawn(connection(addr, c, deadline, left, period, conn))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut out = Outcome::default();
    for t in tasks {
        if let Ok((lat, errors, conn)) = t.await {
            out.ok += lat.len() as u64;
            out.errors += errors;
            latencies.extend(lat);
            conns.idle.extend(conn);
        }
    }
    out.elapsed = start.elapsed();
    latencies.sort_unstable();
    let pct = |p: usize| {
        latencies
            .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    out.p50_us = pct(50);
    out.p99_us = pct(99);
    out
}

/// One connection's loop, on `conn` if given: latencies of the requests that succeeded, the
/// error count, and the connection if it is still open.
async fn connection(
    addr: SocketAddr,
    index: usize,
    deadline: Instant,
    left: Arc<AtomicU64>,
    period: Option<Duration>,
    mut conn: Option<BufReader<TcpStream>>,
) -> (Vec<u64>, u64, Option<BufReader<TcpStream>>) {
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut tick = period.map(|p| {
        let mut i = tokio::time::interval(p);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    let mut n = index;
    while Instant::now() < deadline && take_one(&left) {
        if let Some(t) = &mut tick {
            t.tick().await;
        }
        let (method, path) = MIX[n % MIX.len()];
        n += 1;
        let t = Instant::now();
        let result = tokio::time::timeout(REQUEST_TIMEOUT, async {
            if conn.is_none() {
                let s = TcpStream::connect(addr).await?;
                s.set_nodelay(true)?;
                conn = Some(BufReader::new(s));
            }
            let c = conn.as_mut().expect("connected above");
            request(c, method, path, n as u64).await
        })
        .await;
        match result {
            Ok(Ok(())) => latencies.push(t.elapsed().as_micros() as u64),
            _ => {
                errors += 1;
                conn = None; // a fresh connection for the next request
            }
        }
    }
    (latencies, errors, conn)
}

fn take_one(left: &AtomicU64) -> bool {
    left.fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

/// Sends one request and reads its whole answer; an error unless the status is 200.
async fn request(
    c: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    n: u64,
) -> std::io::Result<()> {
    let target = if path.ends_with('/') {
        format!("{path}{}", n % super::ITEMS)
    } else {
        path.to_owned()
    };
    let head =
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
    c.get_mut().write_all(head.as_bytes()).await?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let mut line = String::new();
    c.read_line(&mut line).await?;
    if !line.starts_with("HTTP/1.1 200") {
        return Err(bad(&format!("status line {line:?}")));
    }
    let mut length = None;
    loop {
        line.clear();
        if c.read_line(&mut line).await? == 0 {
            return Err(bad("connection closed in the headers"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length.ok_or_else(|| bad("no content-length"))?];
    c.read_exact(&mut body).await?;
    Ok(())
}
