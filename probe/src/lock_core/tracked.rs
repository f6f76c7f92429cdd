//! `Tracked`, the recording state an async primitive embeds: its `LockMeta` plus its hold
//! table, and the guards' pieces that release a hold on whatever thread they drop
//! ([`Release`], [`OwnedRelease`]) and end a wait however it ends ([`Waiting`]).

use super::async_paths::AsyncWait;
use super::meta::{LockMeta, MAX_HOLDERS, Token};
use crate::actor::Held;
use crate::actor::holds::{HoldTable, NO_SLOT, table_for};
use crate::actor::task::{current_actor, define};
use crate::actor::task_held;
use crate::actor::waits::{publish_wait, stack_budget, withdraw_wait};
use crate::format::{Mode, Outcome};
use crate::raw;
use std::panic::Location;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, OnceLock};

/// Whether a poll of tokio's future that came back `polled` means its caller waits: pending
/// with the task's cooperative budget left. Pending with the budget spent is tokio making the
/// task yield, not a wait; the next poll, with a new budget, tells.
#[inline]
pub(crate) fn waits<T>(polled: &std::task::Poll<T>) -> bool {
    polled.is_pending() && ::tokio::task::coop::has_budget_remaining()
}

/// Recording state of one async lock: the shared `LockMeta` plus its hold table.
pub(crate) struct Tracked {
    pub(crate) meta: LockMeta,
    table: OnceLock<&'static HoldTable>,
    width: usize,
    /// A lock whose holds order others (a mutex, a rwlock): a task's holds of it are listed
    /// for the lock-order checks.
    ordered: bool,
}

/// What a guard carries to release its hold, on whatever thread it drops.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hold {
    pub(crate) tok: Token,
    pub(super) actor: u64,
    pub(super) slot: u32,
    /// Its entry in the task's held locks (`task_held`), for the lock-order checks.
    pub(super) entry: u32,
}

impl Hold {
    /// The actor that took the hold (0 when untracked).
    pub(crate) fn actor(&self) -> u64 {
        self.actor
    }

    pub(crate) const fn untracked(site: &'static Location<'static>) -> Hold {
        Hold {
            tok: Token::untracked(site),
            actor: 0,
            slot: NO_SLOT,
            entry: task_held::NO_ENTRY,
        }
    }
}

impl Tracked {
    /// `width`: 1 for a mutex (one holder), else `WIDE`.
    pub(crate) const fn new(meta: LockMeta, width: usize) -> Self {
        Tracked {
            meta,
            table: OnceLock::new(),
            width,
            ordered: false,
        }
    }

    /// [`Tracked::new`] for a lock in the lock-order checks (a mutex, a rwlock).
    pub(crate) const fn ordered(meta: LockMeta, width: usize) -> Self {
        Tracked {
            meta,
            table: OnceLock::new(),
            width,
            ordered: true,
        }
    }

    #[inline]
    fn table(&self) -> &'static HoldTable {
        match self.table.get() {
            Some(t) => t,
            None => self.first_table(),
        }
    }

    #[cold]
    #[inline(never)]
    fn first_table(&self) -> &'static HoldTable {
        self.table
            .get_or_init(|| table_for(self.meta.id(), self.width))
    }

    #[inline]
    fn list(&self, actor: u64, tok: Token, mode: Mode) -> Hold {
        self.list_ordered(actor, tok, mode, true)
    }

    /// Lists the hold in the lock's table and, for a task's hold of an ordered lock, in the
    /// task's held locks; `order`: check it against the others the task holds (not for a
    /// try-lock, which cannot block).
    #[inline(always)]
    fn list_ordered(&self, actor: u64, tok: Token, mode: Mode, order: bool) -> Hold {
        let cm = self.meta.class_mode_of(mode);
        let slot = self.table().claim(actor, cm, tok.site, tok.since_ns());
        let mut entry = task_held::NO_ENTRY;
        if self.ordered && tok.lock != 0 && crate::actor::task::is_task(actor) {
            let others;
            (entry, others) = task_held::push(actor, tok.lock, cm, tok.site);
            if order && others && entry != task_held::NO_ENTRY {
                // The token's pieces, not the token: one passed by reference would keep it in
                // memory on the fast path, and copying it from there stalls.
                self.check_order(actor, entry, tok.lock, tok.site, mode);
            }
        }
        Hold {
            tok,
            actor,
            slot,
            entry,
        }
    }

    #[cold]
    #[inline(never)]
    fn check_order(
        &self,
        actor: u64,
        entry: u32,
        lock: u64,
        site: &'static Location<'static>,
        mode: Mode,
    ) {
        let new = Held {
            lock,
            class: self.meta.class().id,
            mode,
            site,
            since_ns: 0,
            timed: false,
            movable: true,
            upgradable: false,
        };
        crate::detect::validate_task_order(actor, entry, new);
    }

    /// Bookkeeping after an acquisition that did not wait.
    #[inline(always)]
    pub(crate) fn acquired(&self, mode: Mode, site: &'static Location<'static>) -> Hold {
        self.acquired_ordered(mode, site, true)
    }

    /// [`Tracked::acquired`] for a try-lock: it cannot block, so it orders nothing (as
    /// lockdep treats a trylock), though what the task takes next is ordered after it.
    #[inline]
    pub(crate) fn acquired_by_try(&self, mode: Mode, site: &'static Location<'static>) -> Hold {
        self.acquired_ordered(mode, site, false)
    }

    #[inline(always)]
    fn acquired_ordered(&self, mode: Mode, site: &'static Location<'static>, order: bool) -> Hold {
        if !crate::settings::enabled() {
            return Hold::untracked(site);
        }
        let actor = current_actor();
        let tok = self.meta.async_acquired(actor, mode, site);
        self.list_ordered(actor, tok, mode, order)
    }

    /// Bookkeeping before the real release (any thread).
    #[inline]
    pub(crate) fn released(&self, h: &Hold, mode: Mode) {
        if h.tok.lock == 0 {
            return;
        }
        if let Some(t) = self.table.get() {
            t.release(h.slot);
        }
        if h.entry != task_held::NO_ENTRY {
            task_held::pop(h.actor, h.tok.lock, h.entry);
        }
        self.meta.async_released(h.actor, &h.tok, mode);
    }

    /// The actors holding the lock right now (the new waiter's wait-for edges).
    fn holders(&self, mode: Mode) -> ([u64; MAX_HOLDERS], usize) {
        let mut out = [0; MAX_HOLDERS];
        let mut n = 0;
        let exclusive = self.meta.holder.load(Relaxed);
        if exclusive != 0 && self.width == 1 {
            out[0] = exclusive;
            return (out, 1);
        }
        if let Some(t) = self.table.get() {
            t.read(|a, h| {
                // A reader waits for writers only (and for queued writers, not listed here).
                let blocks = !(mode == Mode::Shared && h.mode == Mode::Shared);
                if blocks && n < MAX_HOLDERS && !out[..n].contains(&a) {
                    out[n] = a;
                    n += 1;
                }
            });
        }
        (out, n)
    }

    /// Starts recording a contended wait; the returned `Waiting` ends it when it acquires
    /// ([`Waiting::acquired`]) or, dropped, as given up (a cancelled future, a closed
    /// semaphore).
    #[cold]
    #[inline(never)]
    pub(crate) fn begin_wait(&self, mode: Mode, site: &'static Location<'static>) -> Waiting<'_> {
        self.begin_wait_checked(mode, site, true)
    }

    /// [`Tracked::begin_wait`] for a wait whose cycles only the watchdog reports (a channel's:
    /// see `detect::settling`): no deadlock check at its start.
    #[cold]
    #[inline(never)]
    pub(crate) fn begin_settling_wait(
        &self,
        mode: Mode,
        site: &'static Location<'static>,
    ) -> Waiting<'_> {
        self.begin_wait_checked(mode, site, false)
    }

    fn begin_wait_checked(
        &self,
        mode: Mode,
        site: &'static Location<'static>,
        check_now: bool,
    ) -> Waiting<'_> {
        if !crate::settings::enabled() {
            return Parked { site, state: None }.resume(self);
        }
        let actor = current_actor();
        define(actor);
        let (holders, n) = self.holders(mode);
        // Whether a task holds anything is not known cheaply, so any async wait may close a
        // cycle: its stack is kept while recording, and otherwise within a budget.
        let stack = (stack_budget() || crate::profile::active()).then(|| raw::capture(3));
        let wait = self
            .meta
            .async_wait_begin(actor, mode, site, &holders[..n], stack.as_ref());
        let held = Held {
            lock: wait.lock,
            class: self.meta.class().id,
            mode,
            site,
            since_ns: wait.t0,
            timed: false,
            movable: true,
            upgradable: false,
        };
        let key = publish_wait(actor, held, stack.as_ref());
        let holder = if self.width == 1 {
            self.meta.holder.load(Relaxed)
        } else {
            0
        };
        if holder == actor {
            // Awaiting a lock the task seems to hold itself: the graph cannot tell this from
            // a `join!` branch holding it; the stuck watcher reports it if it lasts.
            crate::detect::stuck::arm();
        }
        if check_now {
            crate::detect::on_wait(actor, wait.lock, holder, self.meta.kind());
        } else {
            crate::detect::watch_waits();
        }
        let state = Box::new(WaitState {
            actor,
            key,
            wait,
            mode,
        });
        Parked {
            site,
            state: Some(state),
        }
        .resume(self)
    }
}

impl Tracked {
    /// Lists `actor` as a holder in `mode` without counting an acquisition: an owner of one
    /// end of a channel, which the waiters at the other end wait for. Released with
    /// [`Tracked::release_owner`].
    pub(crate) fn claim_owner(
        &self,
        actor: u64,
        mode: Mode,
        site: &'static Location<'static>,
    ) -> Hold {
        if !crate::settings::enabled() {
            return Hold::untracked(site);
        }
        // Timed (reports say since when the owner has it), never sampled: it is no hold.
        let tok = Token::timed(self.meta.id(), crate::clock::now_ns(), false, site);
        if self.width == 1 {
            self.meta.holder.store(actor, Relaxed);
        }
        self.list(actor, tok, mode)
    }

    /// Ends a listing made by [`Tracked::claim_owner`].
    pub(crate) fn release_owner(&self, h: &Hold) {
        if h.tok.lock == 0 {
            return;
        }
        if let Some(t) = self.table.get() {
            t.release(h.slot);
        }
        if self.width == 1 {
            let _ = self
                .meta
                .holder
                .compare_exchange(h.actor, 0, Relaxed, Relaxed);
        }
    }
}

impl Tracked {
    /// What a condition-like primitive waited for was there at once: counted, no wait.
    pub(crate) fn counted_without_wait(&self) {
        if crate::settings::enabled() {
            self.meta.count_unwaited();
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(t) = self.table.get() {
            t.retire();
        }
    }
}

/// A contended wait in progress. Dropped without [`Waiting::acquired`], it ends the wait as
/// given up and withdraws it from the detector, so a cancelled future leaves no edge.
#[must_use]
pub(crate) struct Waiting<'a> {
    tracked: &'a Tracked,
    w: Parked,
}

impl Waiting<'_> {
    /// The wait acquired: ends it and returns the hold for the guard.
    pub(crate) fn acquired(mut self) -> Hold {
        let Some(w) = self.w.state.take() else {
            return Hold::untracked(self.w.site);
        };
        withdraw_wait(w.key);
        let tok = self.tracked.meta.async_wait_end(
            w.actor,
            &w.wait,
            Some(w.mode),
            Outcome::Acquired,
            self.w.site,
        );
        self.tracked.list(w.actor, tok, w.mode)
    }

    /// The wait ended with what it waited for and nothing to hold (a notification): ends it
    /// and counts it, as a condition variable counts its waits.
    pub(crate) fn woken(mut self) {
        if let Some(w) = self.w.state.take() {
            withdraw_wait(w.key);
            let meta = &self.tracked.meta;
            meta.async_wait_end(w.actor, &w.wait, None, Outcome::Acquired, self.w.site);
            meta.count_wait();
        }
    }

    /// The wait ended with the waiter's turn to take the resource by other means (a
    /// `OnceCell` waiter whose filler gave up fills it itself): ends it, counting nothing,
    /// since the acquisition that follows is counted by itself.
    pub(crate) fn handed_over(mut self) {
        self.end_without(Outcome::Acquired);
    }

    /// The wait ended without the lock because the resource was closed.
    pub(crate) fn closed(mut self) {
        self.end_without(Outcome::Closed);
    }

    fn end_without(&mut self, outcome: Outcome) {
        if let Some(w) = self.w.state.take() {
            withdraw_wait(w.key);
            define(w.actor);
            self.tracked
                .meta
                .async_wait_end(w.actor, &w.wait, None, outcome, self.w.site);
        }
    }
}

/// A wait kept between calls by its owner (a receiver polled with `poll_recv`, which has no
/// future to keep it in), detached from the side it waits on. [`Waiting::park`] makes one;
/// [`Parked::resume`] reattaches it, and the owner must resume it before it drops (its wait
/// would otherwise stay open in the detector).
///
/// Two words: what a recorded wait needs at its end is boxed when the wait begins (a wait
/// that parks its task costs far more than the allocation), so the futures that keep a
/// `Waiting` stay as small as tokio's own and move as cheaply.
#[must_use]
pub(crate) struct Parked {
    site: &'static Location<'static>,
    /// `None` while recording was off when the wait began, or once it has ended.
    state: Option<Box<WaitState>>,
}

/// A recorded wait in progress: who waits, its entry in the waits table, and the wait as the
/// lock's figures and the trace know it.
struct WaitState {
    actor: u64,
    key: usize,
    wait: AsyncWait,
    mode: Mode,
}

impl Waiting<'_> {
    /// Detaches the wait from its side, to be kept between polls.
    pub(crate) fn park(mut self) -> Parked {
        Parked {
            site: self.w.site,
            state: self.w.state.take(),
        }
    }
}

impl Parked {
    /// The wait again, on `tracked` (the side it was begun on).
    pub(crate) fn resume(self, tracked: &Tracked) -> Waiting<'_> {
        Waiting { tracked, w: self }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        // Cancelled: recorded as a wait that ended without the lock.
        self.end_without(Outcome::TimedOut);
    }
}

impl std::fmt::Debug for Waiting<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting")
            .field("actor", &self.w.state.as_ref().map(|w| w.actor))
            .finish_non_exhaustive()
    }
}

/// Releases a hold when dropped. A guard lists it before the real guard, so (fields drop in
/// order) the bookkeeping runs right before the real unlock, wherever the guard drops.
pub(crate) struct Release<'a> {
    pub(crate) tracked: &'a Tracked,
    pub(crate) hold: Hold,
    pub(crate) mode: Mode,
}

impl Drop for Release<'_> {
    #[inline]
    fn drop(&mut self) {
        self.tracked.released(&self.hold, self.mode);
    }
}

/// A lock type that embeds a [`Tracked`] (for the owned guards' releases).
pub(crate) trait HasTracked {
    fn tracked(&self) -> &Tracked;
}

/// [`Release`] for an owned guard: it keeps the lock's `Arc`.
pub(crate) struct OwnedRelease<L: HasTracked + ?Sized> {
    pub(crate) lock: Arc<L>,
    pub(crate) hold: Hold,
    pub(crate) mode: Mode,
}

impl<L: HasTracked + ?Sized> Drop for OwnedRelease<L> {
    #[inline]
    fn drop(&mut self) {
        self.lock.tracked().released(&self.hold, self.mode);
    }
}
