//! An HTTP service (axum on tokio) whose shared state sits behind locks, driven by its own
//! load generator on loopback: the `service` sample and the `service` benchmark.
//!
//! The state: a product catalog behind an `RwLock` (read by every order lookup), the order
//! book and two accounts behind async mutexes (held across `.await`), and one global `stats`
//! map behind a mutex that **every** request updates — recomputing the endpoint's p99 under the lock, on
//! every request. That is the hot spot the sample exists to show: the report ranks `stats`
//! first, and the tracing layer breaks its waits down by endpoint span.
//!
//! With `deadlock`, `POST /refund` takes the accounts in the opposite order to
//! `POST /transfer`, and both await a check while holding the first: two request tasks each
//! hold one account and await the other. With `fix`,
//! the stats update is cheap and the percentiles are computed outside the lock.
//!
//! The locks are a type parameter ([`Kit`]), so the benchmark runs the very same service on
//! lockscope's locks and on plain parking_lot/tokio locks.

pub mod load;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::ops::DerefMut;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// The lock types a service is built on.
pub trait Kit: Send + Sync + 'static {
    /// A synchronous mutex.
    type Mutex<T: Send + 'static>: SyncMutex<T>;
    /// A synchronous reader-writer lock.
    type RwLock<T: Send + Sync + 'static>: SyncRwLock<T>;
    /// An async mutex whose guard may be held across `.await`.
    type AsyncMutex<T: Send + 'static>: AsyncMutex<T>;
    /// Runs `fut` in a task named after the endpoint `name` (lockscope's kit names it in
    /// deadlock reports; the plain kit runs `fut` as it is).
    fn name_task<F: Future + Send>(
        name: &'static str,
        fut: F,
    ) -> impl Future<Output = F::Output> + Send;
}

/// A synchronous mutex, used through a closure.
pub trait SyncMutex<T>: Send + Sync + 'static {
    /// A mutex named `name` (lockscope's class name).
    #[track_caller]
    fn named(name: &'static str, value: T) -> Self;
    /// Runs `f` with the lock held; the lock's site is the caller's.
    #[track_caller]
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R;
}

/// A synchronous reader-writer lock, used through closures.
pub trait SyncRwLock<T>: Send + Sync + 'static {
    /// A lock named `name`.
    #[track_caller]
    fn named(name: &'static str, value: T) -> Self;
    /// Runs `f` with a read lock.
    #[track_caller]
    fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R;
    /// Runs `f` with the write lock.
    #[track_caller]
    fn write<R>(&self, f: impl FnOnce(&mut T) -> R) -> R;
}

/// An async mutex.
pub trait AsyncMutex<T>: Send + Sync + 'static {
    /// Its guard.
    type Guard<'a>: DerefMut<Target = T> + Send
    where
        Self: 'a;
    /// A mutex named `name`.
    #[track_caller]
    fn named(name: &'static str, value: T) -> Self;
    /// Locks it.
    #[track_caller]
    fn lock(&self) -> impl Future<Output = Self::Guard<'_>> + Send;
}

/// lockscope's locks: every acquisition counted, contended waits recorded with their span,
/// deadlocks and lock-order inversions detected.
#[derive(Debug)]
pub enum Lockscope {}

/// The same service on plain parking_lot and tokio locks, for comparison.
#[derive(Debug)]
pub enum Plain {}

impl Kit for Lockscope {
    type Mutex<T: Send + 'static> = lockscope::Mutex<T>;
    type RwLock<T: Send + Sync + 'static> = lockscope::RwLock<T>;
    type AsyncMutex<T: Send + 'static> = lockscope::tokio::Mutex<T>;
    fn name_task<F: Future + Send>(
        name: &'static str,
        fut: F,
    ) -> impl Future<Output = F::Output> + Send {
        // The endpoint, not a request number: a name per request would be a new string in
        // the trace for every request.
        lockscope::tokio::name_task(name, fut)
    }
}

impl Kit for Plain {
    type Mutex<T: Send + 'static> = parking_lot::Mutex<T>;
    type RwLock<T: Send + Sync + 'static> = parking_lot::RwLock<T>;
    type AsyncMutex<T: Send + 'static> = tokio::sync::Mutex<T>;
    fn name_task<F: Future + Send>(
        _: &'static str,
        fut: F,
    ) -> impl Future<Output = F::Output> + Send {
        fut
    }
}

impl<T: Send + 'static> SyncMutex<T> for lockscope::Mutex<T> {
    #[track_caller]
    fn named(name: &'static str, value: T) -> Self {
        lockscope::Mutex::named(name, value)
    }
    #[track_caller]
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock())
    }
}

impl<T: Send + Sync + 'static> SyncRwLock<T> for lockscope::RwLock<T> {
    #[track_caller]
    fn named(name: &'static str, value: T) -> Self {
        lockscope::RwLock::named(name, value)
    }
    #[track_caller]
    fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&lockscope::RwLock::read(self))
    }
    #[track_caller]
    fn write<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut lockscope::RwLock::write(self))
    }
}

impl<T: Send + 'static> SyncMutex<T> for parking_lot::Mutex<T> {
    fn named(_: &'static str, value: T) -> Self {
        parking_lot::Mutex::new(value)
    }
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock())
    }
}

impl<T: Send + Sync + 'static> SyncRwLock<T> for parking_lot::RwLock<T> {
    fn named(_: &'static str, value: T) -> Self {
        parking_lot::RwLock::new(value)
    }
    fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&parking_lot::RwLock::read(self))
    }
    fn write<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut parking_lot::RwLock::write(self))
    }
}

impl<T: Send + 'static> AsyncMutex<T> for lockscope::tokio::Mutex<T> {
    type Guard<'a> = lockscope::tokio::MutexGuard<'a, T>;
    #[track_caller]
    fn named(name: &'static str, value: T) -> Self {
        lockscope::tokio::Mutex::named(name, value)
    }
    #[track_caller]
    fn lock(&self) -> impl Future<Output = Self::Guard<'_>> + Send {
        lockscope::tokio::Mutex::lock(self)
    }
}

impl<T: Send + 'static> AsyncMutex<T> for tokio::sync::Mutex<T> {
    type Guard<'a> = tokio::sync::MutexGuard<'a, T>;
    fn named(_: &'static str, value: T) -> Self {
        tokio::sync::Mutex::new(value)
    }
    fn lock(&self) -> impl Future<Output = Self::Guard<'_>> + Send {
        tokio::sync::Mutex::lock(self)
    }
}

/// Latency samples kept per endpoint.
const WINDOW: usize = 512;

/// One endpoint's figures in the global stats map.
#[derive(Debug, Default)]
struct EndpointStats {
    requests: u64,
    window: Vec<u32>,
    next: usize,
    p99_us: u32,
}

impl EndpointStats {
    /// The hot spot: unless `fix`, a sort of the whole window on every request, under the
    /// lock. (The fix keeps the update cheap and sorts a copy when someone asks.)
    fn record(&mut self, latency_us: u32, fix: bool) {
        self.requests += 1;
        if self.window.len() < WINDOW {
            self.window.push(latency_us);
        } else {
            self.window[self.next] = latency_us;
            self.next = (self.next + 1) % WINDOW;
        }
        if !fix {
            self.p99_us = p99(self.window.clone());
        }
    }
}

fn p99(mut window: Vec<u32>) -> u32 {
    window.sort_unstable();
    window
        .get((window.len() * 99 / 100).min(window.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0)
}

#[derive(Debug)]
struct Order {
    #[allow(dead_code)] // written, not read: the order book exists to be locked
    item: u64,
    quantity: u32,
}

/// The service's shared state.
struct App<K: Kit> {
    catalog: K::RwLock<HashMap<u64, u64>>,
    orders: K::AsyncMutex<Vec<Order>>,
    checking: K::AsyncMutex<i64>,
    savings: K::AsyncMutex<i64>,
    stats: K::Mutex<HashMap<&'static str, EndpointStats>>,
    config: Config,
}

/// How a service runs.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Worker threads (named `service-worker-N`).
    pub workers: usize,
    /// `POST /refund` takes the accounts in the opposite order to `POST /transfer`.
    pub deadlock: bool,
    /// The hot spot fixed: the stats update stays cheap, percentiles are computed on demand
    /// outside the lock.
    pub fix: bool,
}

/// Items in the catalog.
pub const ITEMS: u64 = 1024;

impl<K: Kit> App<K> {
    fn new(config: Config) -> Self {
        App {
            catalog: K::RwLock::named("catalog", (0..ITEMS).map(|i| (i, 100 + i)).collect()),
            orders: K::AsyncMutex::named("orders", Vec::new()),
            checking: K::AsyncMutex::named("checking", 1_000_000),
            savings: K::AsyncMutex::named("savings", 1_000_000),
            stats: K::Mutex::named("stats", HashMap::new()),
            config,
        }
    }

    fn done(&self, endpoint: &'static str, since: Instant) {
        let us = since.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
        self.stats
            .with(|s| s.entry(endpoint).or_default().record(us, self.config.fix));
    }
}

/// A handler's body, run in its endpoint's span and (on lockscope's kit) in a task named
/// after the endpoint, so deadlock reports say which requests are stuck.
fn endpoint<K: Kit, F: Future + Send>(
    name: &'static str,
    span: tracing::Span,
    body: F,
) -> impl Future<Output = F::Output> + Send {
    K::name_task(name, body).instrument(span)
}

async fn get_order<K: Kit>(State(app): State<Arc<App<K>>>, Path(id): Path<u64>) -> String {
    let span = tracing::info_span!("GET /orders/{id}");
    endpoint::<K, _>("GET /orders/{id}", span, async {
        let t = Instant::now();
        let price = app.catalog.read(|c| c.get(&(id % ITEMS)).copied());
        app.done("GET /orders/{id}", t);
        format!("item {id}: {}\n", price.unwrap_or(0))
    })
    .await
}

async fn post_order<K: Kit>(State(app): State<Arc<App<K>>>) -> String {
    let span = tracing::info_span!("POST /orders");
    endpoint::<K, _>("POST /orders", span, async {
        let t = Instant::now();
        let n = {
            let mut orders = app.orders.lock().await;
            if orders.len() >= 4096 {
                orders.clear(); // shipped
            }
            let item = orders.len() as u64 % ITEMS;
            orders.push(Order { item, quantity: 1 });
            orders.len()
        };
        if n % 64 == 0 {
            app.catalog.write(|c| {
                for p in c.values_mut() {
                    *p += 1;
                }
            });
        }
        app.done("POST /orders", t);
        format!("order {n}\n")
    })
    .await
}

async fn get_stats<K: Kit>(State(app): State<Arc<App<K>>>) -> String {
    let span = tracing::info_span!("GET /stats");
    endpoint::<K, _>("GET /stats", span, async {
        let t = Instant::now();
        let rows: Vec<(&str, u64, u32, Vec<u32>)> = app.stats.with(|s| {
            s.iter()
                .map(|(endpoint, e)| {
                    let window = if app.config.fix {
                        e.window.clone()
                    } else {
                        Vec::new()
                    };
                    (*endpoint, e.requests, e.p99_us, window)
                })
                .collect()
        });
        let mut text = String::new();
        for (endpoint, requests, p99_us, window) in rows {
            let p = if app.config.fix { p99(window) } else { p99_us };
            text.push_str(&format!("{endpoint}: {requests} requests, p99 {p} us\n"));
        }
        let queued: u32 = app.orders.lock().await.iter().map(|o| o.quantity).sum();
        text.push_str(&format!("orders queued: {queued}\n"));
        app.done("GET /stats", t);
        text
    })
    .await
}

/// With `deadlock`, a transfer is checked while the first account is held: a round trip to
/// the ledger, during which the task gives its worker up and another request may take the
/// second account. (Without it, nothing is awaited under the account locks.)
async fn validate(deadlock: bool) {
    if deadlock {
        tokio::task::yield_now().await;
    }
}

async fn post_transfer<K: Kit>(State(app): State<Arc<App<K>>>) -> String {
    let span = tracing::info_span!("POST /transfer");
    endpoint::<K, _>("POST /transfer", span, async {
        let t = Instant::now();
        {
            let mut checking = app.checking.lock().await;
            validate(app.config.deadlock).await;
            let mut savings = app.savings.lock().await;
            *checking -= 1;
            *savings += 1;
        }
        app.done("POST /transfer", t);
        "moved 1 from checking to savings\n".to_owned()
    })
    .await
}

async fn post_refund<K: Kit>(State(app): State<Arc<App<K>>>) -> String {
    let span = tracing::info_span!("POST /refund");
    endpoint::<K, _>("POST /refund", span, async {
        let t = Instant::now();
        if app.config.deadlock {
            // The bug: the opposite lock order to `post_transfer`.
            let mut savings = app.savings.lock().await;
            validate(app.config.deadlock).await;
            let mut checking = app.checking.lock().await;
            *savings -= 1;
            *checking += 1;
        } else {
            let mut checking = app.checking.lock().await;
            validate(app.config.deadlock).await;
            let mut savings = app.savings.lock().await;
            *savings -= 1;
            *checking += 1;
        }
        app.done("POST /refund", t);
        "moved 1 from savings to checking\n".to_owned()
    })
    .await
}

fn router<K: Kit>(app: Arc<App<K>>) -> Router {
    Router::new()
        .route("/orders/{id}", get(get_order::<K>))
        .route("/orders", post(post_order::<K>))
        .route("/stats", get(get_stats::<K>))
        .route("/transfer", post(post_transfer::<K>))
        .route("/refund", post(post_refund::<K>))
        .with_state(app)
}

/// A running service: its address, and the way to stop it.
#[derive(Debug)]
pub struct Server {
    /// Where it listens (loopback, a free port).
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Server {
    /// Starts the service, listening on 127.0.0.1 at a free port.
    pub fn start<K: Kit>(config: Config) -> anyhow::Result<Server> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.workers.max(1))
            .thread_name_fn(|| {
                static N: AtomicUsize = AtomicUsize::new(0);
                format!("service-worker-{}", N.fetch_add(1, Relaxed))
            })
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = Arc::new(App::<K>::new(config));
        runtime.spawn(async move {
            let serve = axum::serve(listener, router(app)).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                eprintln!("service: {e}");
            }
        });
        Ok(Server {
            addr,
            stop: Some(stop),
            runtime: Some(runtime),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(rt) = self.runtime.take() {
            // Bounded: a deadlocked worker must not hang the program's exit.
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}
