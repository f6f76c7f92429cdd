//! An HTTP service under load: axum on tokio, its shared state behind lockscope's locks, a
//! built-in load generator on loopback, request spans from the `tracing` layer. One global
//! `stats` mutex that every request updates is the hot spot (`--fix`: a cheap update, the
//! percentiles computed outside the lock); `--deadlock` makes `/refund` take the two account
//! locks in the opposite order to `/transfer`, each awaiting a check in between; `--plain`
//! runs the same service on plain locks.
//!
//! ```text
//! cargo run -p lockscope-samples --bin service -- --duration 3
//! cargo run -p lockscope-viewer --bin lockscope -- report service.lstrace
//! LOCKSCOPE_ON_DEADLOCK=exit cargo run -p lockscope-samples --bin service -- --deadlock   # status 86
//! cargo run -p lockscope-samples --bin service -- --duration 60 --live 127.0.0.1:7878 &
//! cargo run -p lockscope-viewer --bin lockscope -- view --connect 127.0.0.1:7878
//! ```

use anyhow::{Context, Result, bail};
use clap::Parser;
use lockscope::Recorder;
use lockscope_samples::service::{Config, Lockscope, Plain, Server, load};
use std::path::PathBuf;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Parser, Debug)]
#[command(about = "An HTTP service with a hot stats lock, under a built-in load generator")]
struct Args {
    /// Trace file to record.
    #[arg(long, default_value = "service.lstrace")]
    trace: PathBuf,
    /// Requests per second over all connections (0: as fast as the service answers).
    #[arg(long, default_value_t = 5000)]
    rps: u64,
    /// Seconds of load; the run stops by itself afterwards.
    #[arg(long, default_value_t = 3.0)]
    duration: f64,
    /// Client connections, each with one request in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The service's worker threads.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// `/refund` takes the account locks in the opposite order to `/transfer`, each awaiting
    /// a check in between.
    #[arg(long)]
    deadlock: bool,
    /// Keep the stats update cheap and compute percentiles outside the lock.
    #[arg(long)]
    fix: bool,
    /// Also serve the trace live on this address (`lockscope view --connect ADDR`).
    #[arg(long, value_name = "ADDR")]
    live: Option<String>,
    /// Run the same service on plain parking_lot and tokio locks, for comparison (nothing
    /// is recorded about them).
    #[arg(long)]
    plain: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !(args.duration > 0.0 && args.duration <= 3600.0) || args.concurrency == 0 {
        bail!("--duration must be more than 0 and at most 3600 seconds, --concurrency at least 1");
    }
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(lockscope::tracing::layer()),
    )
    .context("installing the tracing subscriber")?;
    if std::env::var_os("LOCKSCOPE_ON_DEADLOCK").is_none() {
        lockscope::set_deadlock_policy(lockscope::Policy::Exit);
    }
    let mut recorder = Recorder::to_file(&args.trace)
        .with_context(|| format!("recording to {}", args.trace.display()))?;
    if let Some(addr) = &args.live {
        recorder = recorder.live(addr.as_str())?;
    }
    let recording = recorder.start();
    if let Some(addr) = recording.live_addr() {
        println!("live: lockscope view --connect {addr}");
    }
    let config = Config {
        workers: args.workers,
        deadlock: args.deadlock,
        fix: args.fix,
    };
    let server = if args.plain {
        Server::start::<Plain>(config)?
    } else {
        Server::start::<Lockscope>(config)?
    };
    if args.deadlock {
        println!(
            "--deadlock: /refund takes savings then checking, /transfer checking then savings"
        );
    }
    let load = load::Load {
        rps: args.rps,
        duration: Duration::from_secs_f64(args.duration),
        requests: None,
        concurrency: args.concurrency,
    };
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()?;
    let out = clients.block_on(load::run(server.addr, &load));
    drop(server);
    drop(recording);
    println!(
        "service: {} requests in {:.2?} ({:.0} req/s) over {} connections, latency p50 {} us p99 {} us, {} errors",
        out.ok,
        out.elapsed,
        out.throughput(),
        args.concurrency,
        out.p50_us,
        out.p99_us,
        out.errors
    );
    println!("trace written to {}", args.trace.display());
    println!("done");
    Ok(())
}
