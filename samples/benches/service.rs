//! The service sample's throughput on lockscope's locks against the very same service on
//! plain parking_lot and tokio locks, side by side: batches of requests from the built-in load
//! generator over 16 keep-alive connections, as fast as the service answers. Two groups: the
//! sample as shipped (one hot `stats` lock that every request sorts under) and with its fix
//! (`--fix`: the update under the lock is cheap), which is what a healthy service looks like.
//!
//! Every variant runs the application's own tracing spans through a registry; the lockscope
//! variants add lockscope's tracing layer (switched off for the plain one), and the last of
//! each group also records a trace.
//!
//! ```text
//! cargo bench -p lockscope-samples --bench service
//! ```

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use lockscope_samples::service::{Config, Lockscope, Plain, Server, load};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

/// Requests per measured batch.
const REQUESTS: u64 = 2_000;
/// Whether lockscope's tracing layer sees spans (off for the plain variant).
static LAYER_ON: AtomicBool = AtomicBool::new(false);

fn service(c: &mut Criterion) {
    let layer = lockscope::tracing::layer().with_filter(
        tracing_subscriber::filter::dynamic_filter_fn(|_, _| LAYER_ON.load(Relaxed)),
    );
    // The application's spans live in the registry in every variant, as in a service whose
    // spans some layer (logs, OpenTelemetry) consumes; `Spans` is that layer, doing nothing
    // more. Without it the plain variant's spans would be disabled outright and the
    // registry's own cost charged to lockscope.
    let subscriber = tracing_subscriber::registry().with(layer).with(Spans);
    tracing::subscriber::set_global_default(subscriber)
        .expect("the benchmark's subscriber is the first");
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()
        .expect("client runtime");
    let batch = load::Load {
        rps: 0,
        duration: Duration::from_secs(60),
        requests: Some(REQUESTS),
        concurrency: 16,
    };
    // Each service's 16 connections are opened once and kept from batch to batch: new ones
    // per batch left thousands of sockets in TIME_WAIT, and whichever variant ran later found
    // the local ports nearly used up (its connects slower, its figures lower).
    let run = |g: &mut BenchmarkGroup<'_, WallTime>,
               name: &str,
               addr: SocketAddr,
               conns: &mut load::Connections| {
        g.bench_function(name, |b| {
            b.iter(|| {
                let out = clients.block_on(load::run_on(addr, &batch, conns));
                assert_eq!((out.ok, out.errors), (REQUESTS, 0));
            })
        });
    };
    for (group, fix) in [("service (hot stats lock)", false), ("service --fix", true)] {
        let config = Config {
            workers: 4,
            deadlock: false,
            fix,
        };
        let plain = Server::start::<Plain>(config).expect("plain service");
        let scoped = Server::start::<Lockscope>(config).expect("lockscope service");
        let (mut to_plain, mut to_scoped) = Default::default();
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Elements(REQUESTS));
        g.sample_size(20);
        g.measurement_time(Duration::from_secs(8));
        LAYER_ON.store(false, Relaxed);
        run(&mut g, "parking_lot + tokio", plain.addr, &mut to_plain);
        run(
            &mut g,
            "lockscope locks, no tracing layer",
            scoped.addr,
            &mut to_scoped,
        );
        LAYER_ON.store(true, Relaxed);
        run(&mut g, "lockscope", scoped.addr, &mut to_scoped);
        let path = std::env::temp_dir().join(format!(
            "lockscope-bench-service-{}.lstrace",
            std::process::id()
        ));
        let recording = lockscope::Recorder::to_file(&path)
            .expect("trace file")
            .start();
        run(&mut g, "lockscope, recording", scoped.addr, &mut to_scoped);
        drop(recording);
        let _ = std::fs::remove_file(&path);
        g.finish();
    }
}

/// A layer that keeps every span enabled and does nothing with it.
struct Spans;

impl<S: tracing::Subscriber> Layer<S> for Spans {}

criterion_group!(benches, service);
criterion_main!(benches);
