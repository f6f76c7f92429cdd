//! What a channel records: its two sides ([`Ends`]), each handle's listing as a holder of one
//! ([`Claim`]), and how a send or receive is timed as a wait ([`recorded`], [`blocking`]).

use crate::actor::holds::WIDE;
use crate::actor::task::current_actor;
use crate::detect::ChannelSide;
use crate::format::{LockKind, Mode};
use crate::lock_core::{Hold, LockMeta, Tracked, Waiting};
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// The two sides of one channel, as the recorder sees them.
pub(super) struct Ends {
    /// Senders wait here for room; held by the receiver's owner.
    pub(super) room: Tracked,
    /// The receiver waits here for items; held by every sender handle's owner.
    pub(super) items: Tracked,
    /// Whether the deadlock detector knows this channel's waits settle (see `wait_on`).
    told: AtomicBool,
}

impl Ends {
    pub(super) fn new(
        site: &'static Location<'static>,
        name: Option<&str>,
        buffer: usize,
    ) -> Arc<Ends> {
        let cap = buffer as u64;
        let (room, items) = match name {
            // Unbounded: no room side to name (it is never waited on).
            Some(n) if buffer == 0 => (
                LockMeta::new(LockKind::Semaphore, site, 0),
                LockMeta::named(LockKind::Semaphore, site, 0, &format!("{n} (recv)")),
            ),
            Some(n) => (
                LockMeta::named(LockKind::Semaphore, site, cap, n),
                LockMeta::named(LockKind::Semaphore, site, 0, &format!("{n} (recv)")),
            ),
            None => (
                LockMeta::new(LockKind::Semaphore, site, cap),
                LockMeta::named(
                    LockKind::Semaphore,
                    site,
                    0,
                    &format!("{}:{} (recv)", site.file(), site.line()),
                ),
            ),
        };
        Arc::new(Ends {
            room: Tracked::new(room, 1),
            items: Tracked::new(items, WIDE),
            told: AtomicBool::new(false),
        })
    }

    /// A side of this channel is about to be waited on. A wait on either side can end without
    /// anyone releasing anything (a receive makes room; a woken sender stays listed as waiting
    /// until it runs, and meanwhile the receiver may wait for the next item), so the detector
    /// is told, once, to report a cycle through this channel only once it has lasted (and
    /// which side is which, for the reports' wording).
    fn wait_on(&self) {
        if !self.told.swap(true, Relaxed) {
            if self.bounded() {
                crate::detect::settling(self.room.meta.id(), ChannelSide::Room);
            }
            crate::detect::settling(self.items.meta.id(), ChannelSide::Items);
        }
        // A waiter that holds a lock someone else needs may be a hang no edge shows.
        crate::detect::stuck::arm();
    }

    /// An unbounded channel's room side is never waited on (nor registered).
    fn bounded(&self) -> bool {
        self.room.meta.capacity() > 0
    }

    fn side(&self, side: Side) -> &Tracked {
        match side {
            Side::Room => &self.room,
            Side::Items => &self.items,
        }
    }
}

/// Which side of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    Room,
    Items,
}

/// One handle's listing as a holder of a side of its channel (a sender's of the items side,
/// the receiver's of the room side): the handle's owner, moved to whoever uses it next.
/// Dropped with the handle, it ends the listing.
pub(super) struct Claim {
    pub(super) ends: Arc<Ends>,
    side: Side,
    owner: AtomicU64,
    hold: parking_lot::Mutex<Hold>,
}

impl Drop for Ends {
    fn drop(&mut self) {
        if *self.told.get_mut() {
            if self.bounded() {
                crate::detect::forget_settling(self.room.meta.stats().id);
            }
            crate::detect::forget_settling(self.items.meta.stats().id);
        }
    }
}

impl Claim {
    pub(super) fn new(ends: Arc<Ends>, side: Side, site: &'static Location<'static>) -> Claim {
        let c = Claim {
            ends,
            side,
            owner: AtomicU64::new(0),
            hold: parking_lot::Mutex::new(Hold::untracked(site)),
        };
        c.own(site);
        c
    }

    fn tracked(&self) -> &Tracked {
        self.ends.side(self.side)
    }

    /// Makes the running task (or thread) the owner, if it is not already.
    #[inline]
    pub(super) fn own(&self, site: &'static Location<'static>) {
        if !crate::settings::enabled() {
            return;
        }
        let me = current_actor();
        if self.owner.load(Relaxed) != me {
            self.reown(me, site);
        }
    }

    #[cold]
    #[inline(never)]
    fn reown(&self, me: u64, site: &'static Location<'static>) {
        let t = self.tracked();
        let mut hold = self.hold.lock();
        t.release_owner(&hold);
        *hold = t.claim_owner(me, Mode::Shared, site);
        let listed = if hold.tok.lock != 0 { me } else { 0 };
        self.owner.store(listed, Relaxed);
    }

    /// Another handle of this side of the same channel, owned by the running task.
    pub(super) fn sibling(&self, site: &'static Location<'static>) -> Claim {
        Claim::new(self.ends.clone(), self.side, site)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let hold = *self.hold.get_mut();
        self.ends.side(self.side).release_owner(&hold);
    }
}

/// How a recorded wait ended.
pub(super) enum Ended {
    /// With what it waited for.
    Done,
    /// The channel closed.
    Closed,
    /// It gave up (a timeout).
    GaveUp,
}

/// Runs `fut` (a send, reserve or receive on `side`): if it cannot finish at once, its wait
/// is recorded from its first pending poll to its end; if it can, it is counted. `how` tells
/// how it ended. A future dropped while it waits ends its wait as given up.
pub(super) async fn recorded<F: Future>(
    ends: &Ends,
    side: &Tracked,
    site: &'static Location<'static>,
    fut: F,
    how: impl FnOnce(&F::Output) -> Ended,
) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut waiting = None;
    let out = std::future::poll_fn(|cx| {
        let polled = fut.as_mut().poll(cx);
        if waiting.is_none() && crate::settings::enabled() && crate::lock_core::waits(&polled) {
            ends.wait_on();
            waiting = Some(side.begin_settling_wait(Mode::Permits(1), site));
        }
        polled
    })
    .await;
    finish(side, waiting, how(&out));
    out
}

/// A blocking send or receive on `side` from a thread: recorded as a wait when `will_wait`
/// (the channel was full, or empty) said it would wait.
pub(super) fn blocking<R>(
    ends: &Ends,
    side: &Tracked,
    site: &'static Location<'static>,
    will_wait: bool,
    op: impl FnOnce() -> R,
    how: impl FnOnce(&R) -> Ended,
) -> R {
    if !crate::settings::enabled() {
        return op();
    }
    let waiting = will_wait.then(|| {
        ends.wait_on();
        side.begin_settling_wait(Mode::Permits(1), site)
    });
    let out = op();
    finish(side, waiting, how(&out));
    out
}

/// Ends a send's or receive's recorded wait as it ended, or counts it when it did not wait.
fn finish(side: &Tracked, waiting: Option<Waiting<'_>>, ended: Ended) {
    match (waiting, ended) {
        (Some(w), Ended::Done) => w.woken(),
        (Some(w), Ended::Closed) => w.closed(),
        (Some(w), Ended::GaveUp) => drop(w),
        (None, Ended::Done) => side.counted_without_wait(),
        (None, _) => {}
    }
}

pub(super) fn done_if(ok: bool) -> Ended {
    if ok { Ended::Done } else { Ended::Closed }
}
