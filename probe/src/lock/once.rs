//! `Once`: parking_lot's one-time initialisation, with the running initialiser recorded as the
//! holder and every thread that blocks for it recorded as a waiter — so an initialiser that
//! waits for something its waiters hold, or calls its own `Once` again, is a reported deadlock
//! instead of a silent hang.

use crate::LockStats;
use crate::format::{LockKind, Mode};
use crate::lock_core::{LockMeta, Token, Wait};
use std::fmt;
use std::panic::Location;

/// The state of a [`Once`], as parking_lot 0.12's `OnceState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnceState {
    /// No closure has run yet.
    New,
    /// A closure ran and panicked.
    Poisoned,
    /// A thread is running the closure right now.
    InProgress,
    /// A closure completed.
    Done,
}

impl OnceState {
    /// Whether a closure panicked.
    pub fn poisoned(self) -> bool {
        self == OnceState::Poisoned
    }

    /// Whether a closure completed.
    pub fn done(self) -> bool {
        self == OnceState::Done
    }
}

/// Runs a closure once, however many threads ask (parking_lot's `Once`); the others block
/// until it is done. If the closure panics the `Once` is poisoned: later [`Once::call_once`]
/// calls panic, [`Once::call_once_force`] runs again.
///
/// ```
/// static INIT: lockscope::Once = lockscope::Once::new();
/// let mut runs = 0;
/// INIT.call_once(|| runs += 1);
/// INIT.call_once(|| runs += 1);
/// assert_eq!(runs, 1);
/// assert!(INIT.state().done());
/// ```
pub struct Once {
    meta: LockMeta,
    inner: parking_lot::Once,
}

impl Once {
    /// A new `Once` whose class is the caller's location.
    #[track_caller]
    pub const fn new() -> Self {
        Once {
            meta: LockMeta::new(LockKind::Mutex, Location::caller(), 1),
            inner: parking_lot::Once::new(),
        }
    }

    /// A new `Once` in the class `name`.
    #[track_caller]
    pub fn named(name: impl AsRef<str>) -> Self {
        Once {
            meta: LockMeta::named(LockKind::Mutex, Location::caller(), 1, name.as_ref()),
            inner: parking_lot::Once::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> OnceState {
        match self.inner.state() {
            parking_lot::OnceState::New => OnceState::New,
            parking_lot::OnceState::Poisoned => OnceState::Poisoned,
            parking_lot::OnceState::InProgress => OnceState::InProgress,
            parking_lot::OnceState::Done => OnceState::Done,
        }
    }

    /// Runs `f` if no closure has completed yet, else returns at once; blocks while another
    /// thread runs its closure. Panics if a closure panicked before (the `Once` is poisoned).
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if self.inner.state().done() {
            return;
        }
        let site = Location::caller();
        let _waiting = self.waiting(site);
        self.inner.call_once(|| self.held(site, f));
    }

    /// Like [`Once::call_once`], but runs even when poisoned; `f` learns the state it ran in.
    #[track_caller]
    pub fn call_once_force<F: FnOnce(OnceState)>(&self, f: F) {
        if self.inner.state().done() {
            return;
        }
        let site = Location::caller();
        let _waiting = self.waiting(site);
        self.inner.call_once_force(|st| {
            let st = if st.poisoned() {
                OnceState::Poisoned
            } else {
                OnceState::New
            };
            self.held(site, || f(st));
        });
    }

    /// A recorded wait, when a closure is running on another thread (or on this one: a
    /// self-deadlock the detector reports); it ends when the guard drops, on unwind too.
    fn waiting(&self, site: &'static Location<'static>) -> Option<Waiting<'_>> {
        let running = self.inner.state() == parking_lot::OnceState::InProgress;
        (running && crate::settings::enabled()).then(|| Waiting {
            meta: &self.meta,
            wait: self.meta.begin_wait(Mode::Exclusive, site, false),
        })
    }

    /// Runs the closure as the `Once`'s holder.
    fn held<R>(&self, site: &'static Location<'static>, f: impl FnOnce() -> R) -> R {
        struct Hold<'a>(&'a LockMeta, Token);
        impl Drop for Hold<'_> {
            fn drop(&mut self) {
                self.0.released(&self.1, Mode::Exclusive);
            }
        }
        let _hold = Hold(&self.meta, self.meta.acquired(Mode::Exclusive, site, true));
        f()
    }

    /// This instance's figures: `acquisitions` counts closures run.
    pub fn stats(&self) -> LockStats {
        self.meta.stats()
    }
}

impl Default for Once {
    #[track_caller]
    fn default() -> Self {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("state", &self.state())
            .finish()
    }
}

/// A thread blocked on a running closure.
struct Waiting<'a> {
    meta: &'a LockMeta,
    wait: Wait,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.meta.end_wait(&self.wait, true);
    }
}
