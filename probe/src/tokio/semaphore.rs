//! `tokio::Semaphore`: tokio's async semaphore plus lockscope's recording; every semaphore is
//! also a pool (its name is the pool's name), like the sync one.

use super::permit_account::Account;
use crate::LockStats;
use crate::actor::holds::WIDE;
use crate::actor::task::current_actor;
use crate::format::{LockKind, Mode};
use crate::lock_core::LockMeta;
use crate::lock_core::{Hold, PackedHold, Tracked};
use crate::lock_core::{PoolGauge, PoolState};
use ::tokio::sync::{self as tk, AcquireError, TryAcquireError};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

/// An async counting semaphore with [`tokio::sync::Semaphore`](::tokio::sync::Semaphore)'s
/// signatures that records who holds permits and who waits for them, per task, and keeps the
/// pool's figures (`Pool` records, `pool_saturation` alerts) as the sync
/// [`crate::Semaphore`] does.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use lockscope::tokio::Semaphore;
/// use std::sync::Arc;
///
/// let pool = Arc::new(Semaphore::named("db-pool", 2));
/// let a = pool.acquire().await.unwrap();
/// let _b = pool.clone().acquire_owned().await.unwrap();
/// assert!(pool.try_acquire().is_err());
/// drop(a);
/// assert_eq!(pool.available_permits(), 1);
/// pool.close();
/// assert!(pool.acquire().await.is_err());
/// # }
/// ```
///
/// Differences from tokio's: no `const_new` (the semaphore sits behind an `Arc`, which is what
/// lets the owned permits work).
///
/// Cost (measured, `cargo bench -p lockscope --features tokio --bench tokio`, README's
/// performance section): an uncontended `acquire().await` + drop inside a task takes 39–40 ns
/// with recording on and 32 ns off against tokio's 37 ns (1.05–1.09×) on a 2-core machine
/// (464 instructions against tokio's 285): listing the holder takes a compare-exchange and
/// counting the acquisition an atomic add, as permits are shared. A permit is eight words.
pub struct Semaphore {
    tracked: Tracked,
    inner: Arc<tk::Semaphore>,
    capacity: AtomicUsize,
    pool: PoolGauge,
}

/// Permits of a [`Semaphore`]; returned on drop (on any thread).
#[must_use = "if unused the permit is returned at once"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    account: Account,
}

/// Permits of an `Arc`'d [`Semaphore`] that own the `Arc`: `'static`, for moving into tasks.
#[must_use = "if unused the permit is returned at once"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    account: Account,
}

/// A pool wait in progress; dropped (cancelled) it ends as a wait without permits.
struct PoolWait<'a> {
    sem: &'a Semaphore,
    actor: u64,
    permits: u32,
    t0: u64,
    done: bool,
}

impl PoolWait<'_> {
    /// Ends the wait; returns how long it took.
    fn end(mut self, acquired: bool) -> u64 {
        self.done = true;
        let s = self.sem;
        let t1 = s.pool.wait_ended(
            &s.tracked.meta,
            self.actor,
            self.permits,
            s.state(),
            acquired,
        );
        t1.saturating_sub(self.t0)
    }
}

impl Drop for PoolWait<'_> {
    fn drop(&mut self) {
        if !self.done {
            let s = self.sem;
            s.pool
                .wait_ended(&s.tracked.meta, self.actor, self.permits, s.state(), false);
        }
    }
}

impl Semaphore {
    /// The largest number of permits a semaphore can hold (tokio's limit).
    pub const MAX_PERMITS: usize = tk::Semaphore::MAX_PERMITS;

    /// A semaphore with `permits` permits, whose class is the caller's location.
    #[track_caller]
    pub fn new(permits: usize) -> Self {
        let meta = LockMeta::new(LockKind::Semaphore, Location::caller(), permits as u64);
        Semaphore::with(meta, permits)
    }

    /// A semaphore (pool) named `name` with `permits` permits.
    #[track_caller]
    pub fn named(name: impl AsRef<str>, permits: usize) -> Self {
        let meta = LockMeta::named(
            LockKind::Semaphore,
            Location::caller(),
            permits as u64,
            name.as_ref(),
        );
        Semaphore::with(meta, permits)
    }

    fn with(meta: LockMeta, permits: usize) -> Self {
        Semaphore {
            tracked: Tracked::new(meta, WIDE),
            inner: Arc::new(tk::Semaphore::new(permits)),
            capacity: AtomicUsize::new(permits),
            pool: PoolGauge::new(),
        }
    }

    /// The pool's numbers right now.
    fn state(&self) -> PoolState {
        let capacity = self.capacity.load(Relaxed) as u64;
        PoolState {
            in_use: capacity.saturating_sub(self.inner.available_permits() as u64),
            capacity,
        }
    }

    /// The bookkeeping of permits just taken (`waited_ns`: 0 when some were free). tokio's
    /// permit is forgotten once the account is made (until then, an unwind would return it):
    /// the account returns the permits.
    #[inline]
    fn account(&self, p: tk::SemaphorePermit<'_>, hold: Hold, waited_ns: u64) -> Account {
        let permits = p.num_permits();
        let n = Account::count_of(permits);
        let pooled = hold.tok.lock != 0;
        let pool_since = if pooled && crate::sink::recording() {
            self.pool_acquired(&hold, n, waited_ns)
        } else {
            0
        };
        let ticket = if pooled {
            self.pool
                .watch(&self.tracked.meta, hold.actor(), hold.tok.site)
        } else {
            0
        };
        let (hold, slot) = PackedHold::pack(&hold);
        let account = Account {
            hold,
            slot,
            pooled,
            permits,
            pool_since,
            ticket,
        };
        p.forget();
        account
    }

    #[cold]
    fn pool_acquired(&self, hold: &Hold, permits: u32, waited_ns: u64) -> u64 {
        crate::actor::task::define(hold.actor());
        self.pool.acquired(
            &self.tracked.meta,
            hold.actor(),
            permits,
            self.state(),
            waited_ns,
        )
    }

    /// The bookkeeping of `n` permits, `p`, taken without waiting.
    #[inline]
    fn took(
        &self,
        p: tk::SemaphorePermit<'_>,
        n: u32,
        site: &'static Location<'static>,
    ) -> Account {
        let hold = self.tracked.acquired(Mode::Permits(n), site);
        self.account(p, hold, 0)
    }

    /// The rest of an acquisition whose try failed (`closed`: because the semaphore is
    /// closed, and then tokio's own acquire gives the error): a recorded wait for the real
    /// acquisition `wait`.
    async fn wait_with<'a, G: Future<Output = Result<tk::SemaphorePermit<'a>, AcquireError>>>(
        &self,
        n: u32,
        site: &'static Location<'static>,
        closed: bool,
        wait: impl FnOnce() -> G,
    ) -> Result<Account, AcquireError> {
        if closed || !crate::settings::enabled() {
            let p = wait().await?;
            return Ok(self.account(p, Hold::untracked(site), 0));
        }
        let mode = Mode::Permits(n);
        let waiting = self.tracked.begin_wait(mode, site);
        let actor = current_actor();
        let pool_wait = PoolWait {
            sem: self,
            actor,
            permits: n,
            t0: self
                .pool
                .wait_began(&self.tracked.meta, actor, n, self.state()),
            done: false,
        };
        match wait().await {
            Ok(p) => {
                let waited = pool_wait.end(true);
                let hold = waiting.acquired();
                Ok(self.account(p, hold, waited))
            }
            Err(e) => {
                pool_wait.end(false);
                waiting.closed();
                Err(e)
            }
        }
    }

    /// The account of `n` permits if they are free right now.
    fn try_with(
        &self,
        n: u32,
        site: &'static Location<'static>,
    ) -> Result<Account, TryAcquireError> {
        let p = self.inner.try_acquire_many(n)?;
        Ok(self.took(p, n, site))
    }

    fn permit(&self, account: Account) -> SemaphorePermit<'_> {
        SemaphorePermit { sem: self, account }
    }

    fn owned(this: Arc<Self>, account: Account) -> OwnedSemaphorePermit {
        OwnedSemaphorePermit { sem: this, account }
    }

    /// Takes one permit, waiting until one is free; fails if the semaphore is closed.
    #[track_caller]
    pub fn acquire(&self) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + '_ {
        self.acquire_many_at(1, Location::caller())
    }

    /// Takes `n` permits at once, waiting until they are free.
    #[track_caller]
    pub fn acquire_many(
        &self,
        n: u32,
    ) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + '_ {
        self.acquire_many_at(n, Location::caller())
    }

    async fn acquire_many_at(
        &self,
        n: u32,
        site: &'static Location<'static>,
    ) -> Result<SemaphorePermit<'_>, AcquireError> {
        // The try comes first even unrecorded: cheaper than tokio's future, and as fair.
        let closed = match self.try_with(n, site) {
            Ok(account) => return Ok(self.permit(account)),
            Err(e) => matches!(e, TryAcquireError::Closed),
        };
        let r = self
            .wait_with(n, site, closed, || self.inner.acquire_many(n))
            .await?;
        Ok(self.permit(r))
    }

    /// Takes one permit if one is free right now.
    #[track_caller]
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let r = self.try_with(1, Location::caller())?;
        Ok(self.permit(r))
    }

    /// Takes `n` permits if they are free right now.
    #[track_caller]
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let r = self.try_with(n, Location::caller())?;
        Ok(self.permit(r))
    }

    /// [`Semaphore::acquire`] from synchronous code, blocking the thread.
    #[track_caller]
    pub fn blocking_acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.blocking_acquire_many_at(1, Location::caller())
    }

    /// [`Semaphore::acquire_many`] from synchronous code, blocking the thread.
    #[track_caller]
    pub fn blocking_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.blocking_acquire_many_at(n, Location::caller())
    }

    fn blocking_acquire_many_at(
        &self,
        n: u32,
        site: &'static Location<'static>,
    ) -> Result<SemaphorePermit<'_>, AcquireError> {
        let inner = &self.inner;
        let closed = match self.try_with(n, site) {
            Ok(account) => return Ok(self.permit(account)),
            Err(e) => matches!(e, TryAcquireError::Closed),
        };
        let r = block_on_ready(
            self.wait_with(n, site, closed, || async move { block_acquire(inner, n) }),
        )?;
        Ok(self.permit(r))
    }

    /// Takes one permit of an `Arc`'d semaphore, as a permit that owns the `Arc`.
    #[track_caller]
    pub fn acquire_owned(
        self: Arc<Self>,
    ) -> impl Future<Output = Result<OwnedSemaphorePermit, AcquireError>> {
        self.acquire_many_owned_at(1, Location::caller())
    }

    /// Takes `n` permits of an `Arc`'d semaphore, as a permit that owns the `Arc`.
    #[track_caller]
    pub fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> impl Future<Output = Result<OwnedSemaphorePermit, AcquireError>> {
        self.acquire_many_owned_at(n, Location::caller())
    }

    async fn acquire_many_owned_at(
        self: Arc<Self>,
        n: u32,
        site: &'static Location<'static>,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        let closed = match self.try_with(n, site) {
            Ok(account) => return Ok(Semaphore::owned(self, account)),
            Err(e) => matches!(e, TryAcquireError::Closed),
        };
        let r = self
            .wait_with(n, site, closed, || self.inner.acquire_many(n))
            .await?;
        Ok(Semaphore::owned(self, r))
    }

    /// [`Semaphore::try_acquire`] returning a permit that owns the `Arc`.
    #[track_caller]
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        let r = self.try_with(1, Location::caller())?;
        Ok(Semaphore::owned(self, r))
    }

    /// [`Semaphore::try_acquire_many`] returning a permit that owns the `Arc`.
    #[track_caller]
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        let r = self.try_with(n, Location::caller())?;
        Ok(Semaphore::owned(self, r))
    }

    /// Adds `n` permits (grows the pool).
    pub fn add_permits(&self, n: usize) {
        self.inner.add_permits(n);
        self.capacity.fetch_add(n, Relaxed);
        self.resized();
    }

    /// Takes up to `n` free permits away for good (shrinks the pool); returns how many.
    pub fn forget_permits(&self, n: usize) -> usize {
        let gone = self.inner.forget_permits(n);
        self.capacity.fetch_sub(gone, Relaxed);
        self.resized();
        gone
    }

    fn resized(&self) {
        if crate::settings::enabled() {
            self.pool.resized(&self.tracked.meta, 0, self.state());
        }
    }

    /// Permits free right now.
    pub fn available_permits(&self) -> usize {
        self.inner.available_permits()
    }

    /// Closes the semaphore: waiting and later acquisitions fail with `AcquireError`.
    pub fn close(&self) {
        self.inner.close();
        self.resized();
    }

    /// Whether [`Semaphore::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// This instance's figures.
    pub fn stats(&self) -> LockStats {
        self.tracked.meta.stats()
    }
}

/// Blocks the thread for `n` permits (tokio's `blocking` variants exist only for one or many
/// borrowed permits; this is the same call).
fn block_acquire(inner: &tk::Semaphore, n: u32) -> Result<tk::SemaphorePermit<'_>, AcquireError> {
    inner.blocking_acquire_many(n)
}

/// Polls a future that never returns `Pending` (its only wait is a blocking call) to its end.
fn block_on_ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// Returns permits: the hold's bookkeeping, the real release, then the pool's record (with
/// the pool's numbers after the return).
fn give_back(sem: &Semaphore, a: &Account) {
    end_hold(sem, a);
    sem.inner.add_permits(a.permits);
    if a.pooled && crate::sink::recording() {
        sem.pool.released(
            &sem.tracked.meta,
            a.hold.actor(),
            a.count(),
            sem.state(),
            a.pool_since,
        );
    }
}

/// Ends a permit's hold and its leak watch: before its permits go back, or for good.
fn end_hold(sem: &Semaphore, a: &Account) {
    sem.tracked
        .released_packed(&a.hold, a.slot, Mode::Permits(a.count()));
    sem.pool.returned(a.ticket);
}

/// Forgets permits: the hold ends and the pool shrinks by them.
fn forgotten(sem: &Semaphore, a: &Account) {
    end_hold(sem, a);
    sem.capacity.fetch_sub(a.permits, Relaxed);
    if a.pooled {
        sem.pool
            .resized(&sem.tracked.meta, a.hold.actor(), sem.state());
    }
}

macro_rules! permit_impls {
    ($permit:ident $(<$lt:lifetime>)?, $sem_of:expr) => {
        impl$(<$lt>)? $permit$(<$lt>)? {
            /// How many permits this holds.
            pub fn num_permits(&self) -> usize {
                self.account.permits
            }

            /// Keeps the permits taken forever (shrinks the pool).
            pub fn forget(mut self) {
                let sem_of: fn(&Self) -> &Semaphore = $sem_of;
                forgotten(sem_of(&self), &self.account);
                self.account.disown();
                self.account.permits = 0;
            }

            /// Adds `other`'s permits to this one. `other`'s hold ends; the pool sees the
            /// permits as still taken.
            ///
            /// # Panics
            /// If the permits are from different semaphores, or their sum overflows (as
            /// tokio's).
            pub fn merge(&mut self, mut other: Self) {
                let sem_of: fn(&Self) -> &Semaphore = $sem_of;
                assert!(
                    std::ptr::eq(sem_of(self), sem_of(&other)),
                    "merging permits from different semaphore instances"
                );
                end_hold(sem_of(&other), &other.account);
                other.account.disown();
                self.account.permits = self
                    .account
                    .permits
                    .checked_add(other.account.permits)
                    .expect("number of permits overflowed");
                other.account.permits = 0;
            }

            /// Splits `n` permits off into a new permit (`None` if this holds fewer).
            pub fn split(&mut self, n: usize) -> Option<Self> {
                if n > self.account.permits {
                    return None;
                }
                self.account.permits -= n;
                Some(Self {
                    sem: self.sem.clone(),
                    account: self.account.part(n),
                })
            }
        }

        impl$(<$lt>)? Drop for $permit$(<$lt>)? {
            fn drop(&mut self) {
                let sem_of: fn(&Self) -> &Semaphore = $sem_of;
                give_back(sem_of(self), &self.account);
            }
        }

        impl$(<$lt>)? fmt::Debug for $permit$(<$lt>)? {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($permit))
                    .field("permits", &self.num_permits())
                    .finish()
            }
        }
    };
}

permit_impls!(SemaphorePermit<'a>, |p| p.sem);
permit_impls!(OwnedSemaphorePermit, |p| &p.sem);

impl<'a> SemaphorePermit<'a> {
    /// The semaphore the permits belong to.
    pub fn semaphore(&self) -> &'a Semaphore {
        self.sem
    }
}

impl OwnedSemaphorePermit {
    /// The semaphore the permits belong to.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.available_permits())
            .field("capacity", &self.capacity.load(Relaxed))
            .field("closed", &self.is_closed())
            .finish()
    }
}
