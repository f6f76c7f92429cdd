//! What a channel records: its two sides ([`Ends`]), each handle's listing as a holder of one
//! ([`Claim`]), how a send or receive is timed as a wait ([`recorded`], [`blocking`]), and a
//! bounded channel's fill as a pool (the room side's [`PoolGauge`]).

use crate::actor::holds::WIDE;
use crate::actor::task::current_actor;
use crate::detect::ChannelSide;
use crate::format::{LockKind, Mode, Record};
use crate::lock_core::{Hold, LockMeta, Parked, PoolGauge, PoolState, Tracked, Waiting};
use crate::sink;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::task::Poll;

/// The two sides of one channel, as the recorder sees them.
pub(super) struct Ends {
    /// Senders wait here for room; held by the receiver's owner.
    pub(super) room: Tracked,
    /// The receiver waits here for items; held by every sender handle's owner.
    pub(super) items: Tracked,
    /// Whether the deadlock detector knows this channel's waits settle (see `wait_on`).
    told: AtomicBool,
    /// A bounded channel's fill as a pool of `buffer` slots: a `Pool` record per send (slots
    /// taken) and receive (slots freed) while recording; senders' waits for room feed the
    /// saturation detector.
    pool: PoolGauge,
    /// The recording session that has this channel's `Channel` record (0: none yet).
    announced: AtomicU32,
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
            pool: PoolGauge::for_channel(),
            announced: AtomicU32::new(0),
        })
    }

    /// `n` slots were taken (a send or a reservation) after waiting `waited_ns` for room;
    /// `fill` is the channel's fill right after.
    fn took_room(&self, n: u32, fill: impl FnOnce() -> PoolState, waited_ns: u64) {
        if self.pooled() {
            self.announce();
            (self.pool).acquired(&self.room.meta, current_actor(), n, fill(), waited_ns);
        }
    }

    /// `n` messages were received, freeing their slots; `fill` is the channel's fill after.
    pub(super) fn received(&self, n: u32, fill: impl FnOnce() -> PoolState) {
        if self.pooled() {
            self.announce();
            (self.pool).released(&self.room.meta, current_actor(), n, fill(), 0);
        }
    }

    /// Whether sends and receives go into the pool's records now (a bounded channel, while
    /// recording): only then is the channel's fill read.
    #[inline]
    pub(super) fn pooled(&self) -> bool {
        sink::recording() && self.bounded()
    }

    /// Makes sure the running recording knows this channel's two sides are one channel.
    fn announce(&self) {
        let session = sink::session();
        if self.announced.load(Relaxed) == session {
            return;
        }
        let room = self.room.meta.announced_id();
        let items = self.items.meta.announced_id();
        sink::define_with(|d| {
            if self.announced.load(Relaxed) != session {
                d.define_instance(&Record::Channel { room, items });
                self.announced.store(session, Relaxed);
            }
        });
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
    /// With what it waited for: `n` messages sent or received (or slots reserved).
    Done(u32),
    /// The channel closed.
    Closed,
    /// It gave up (a timeout).
    GaveUp,
}

/// A sender's wait for room, as the room side's pool sees it (the saturation detector counts
/// senders waiting on a full channel). Dropped before [`RoomWait::end`], it ends as a wait
/// that got no room.
struct RoomWait<'a, F: Fn() -> PoolState> {
    ends: &'a Ends,
    fill: &'a F,
    actor: u64,
    t0: u64,
    done: bool,
}

impl<'a, F: Fn() -> PoolState> RoomWait<'a, F> {
    /// Starts one on `side` if it is the room side of a bounded channel.
    fn begin(ends: &'a Ends, side: Side, fill: &'a F) -> Option<RoomWait<'a, F>> {
        if side != Side::Room || !ends.bounded() {
            return None;
        }
        let actor = current_actor();
        let t0 = ends.pool.wait_began(&ends.room.meta, actor, 1, fill());
        Some(RoomWait {
            ends,
            fill,
            actor,
            t0,
            done: false,
        })
    }

    /// Ends it; returns how long it took.
    fn end(mut self, got_room: bool) -> u64 {
        self.done = true;
        self.ended(got_room).saturating_sub(self.t0)
    }

    fn ended(&self, got_room: bool) -> u64 {
        let e = self.ends;
        (e.pool).wait_ended(&e.room.meta, self.actor, 1, (self.fill)(), got_room)
    }
}

impl<F: Fn() -> PoolState> Drop for RoomWait<'_, F> {
    fn drop(&mut self) {
        if !self.done {
            self.ended(false);
        }
    }
}

/// A wait in progress on one side of a channel: the side's recorded wait and, for a sender,
/// the pool's.
struct SideWait<'a, F: Fn() -> PoolState> {
    waiting: Waiting<'a>,
    room: Option<RoomWait<'a, F>>,
}

impl<'a, F: Fn() -> PoolState> SideWait<'a, F> {
    fn begin(
        ends: &'a Ends,
        side: Side,
        site: &'static Location<'static>,
        fill: &'a F,
    ) -> SideWait<'a, F> {
        ends.wait_on();
        // The pool's wait first: it reads the channel's fill before the side counts a waiter,
        // so the fill it records is the one the sender found, not one a receiver that saw
        // the waiter already changed.
        let room = RoomWait::begin(ends, side, fill);
        SideWait {
            waiting: ends.side(side).begin_settling_wait(Mode::Permits(1), site),
            room,
        }
    }
}

/// Runs `fut` (a send or reservation, on the room side): if it cannot finish at once, its
/// wait is recorded from its first pending poll to its end; if it can, it is counted. `how`
/// tells how it ended, `fill` how full the channel is (read from tokio's handle). A future
/// dropped while it waits ends its wait as given up.
pub(super) async fn recorded<F: Future>(
    ends: &Ends,
    site: &'static Location<'static>,
    fill: impl Fn() -> PoolState,
    fut: F,
    how: impl FnOnce(&F::Output) -> Ended,
) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut waiting = None;
    let out = std::future::poll_fn(|cx| {
        let polled = fut.as_mut().poll(cx);
        if waiting.is_none() && crate::settings::enabled() && crate::lock_core::waits(&polled) {
            waiting = Some(SideWait::begin(ends, Side::Room, site, &fill));
        }
        polled
    })
    .await;
    finish(ends, Side::Room, &mut waiting, how(&out), &fill);
    out
}

/// A receive (`recv`, `recv_many`) polled straight through tokio's `poll_recv`: `poll` polls
/// it and, once it is ready and the channel is [`Ends::pooled`], reads the channel's fill
/// after it (the receive borrows the receiver, so the fill can only be read in the same
/// call). Its wait is recorded from its first pending poll to its end; a future dropped while
/// it waits ends its wait as given up.
///
/// A future of its own rather than an `async fn` around `poll_fn`: one poll call, and a
/// future no bigger than its fields, so a receive that finds a message costs little more
/// than tokio's.
pub(super) fn receive<'a, R, P, H>(
    ends: &'a Ends,
    site: &'static Location<'static>,
    poll: P,
    how: H,
) -> Receive<'a, P, H>
where
    P: FnMut(&mut std::task::Context<'_>) -> Poll<(R, Option<PoolState>)> + Unpin,
    H: Fn(&R) -> Ended + Unpin,
{
    Receive {
        ends,
        site,
        poll,
        how,
        waiting: None,
    }
}

/// The future of [`receive`].
pub(super) struct Receive<'a, P, H> {
    ends: &'a Ends,
    site: &'static Location<'static>,
    poll: P,
    how: H,
    waiting: Option<SideWait<'a, fn() -> PoolState>>,
}

impl<'a, R, P, H> Future for Receive<'a, P, H>
where
    P: FnMut(&mut std::task::Context<'_>) -> Poll<(R, Option<PoolState>)> + Unpin,
    H: Fn(&R) -> Ended + Unpin,
{
    type Output = R;

    #[inline]
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<R> {
        let me = self.get_mut();
        let polled = (me.poll)(cx);
        let Poll::Ready((out, fill)) = polled else {
            if me.waiting.is_none()
                && crate::settings::enabled()
                && crate::lock_core::waits(&polled)
            {
                me.begin_wait();
            }
            return Poll::Pending;
        };
        let ends = me.ends;
        received_end(ends, &mut me.waiting, (me.how)(&out), |n| {
            if let Some(fill) = fill {
                ends.received(n, || fill);
            }
        });
        Poll::Ready(out)
    }
}

impl<P, H> Receive<'_, P, H> {
    #[cold]
    #[inline(never)]
    fn begin_wait(&mut self) {
        self.ends.wait_on();
        self.waiting = Some(SideWait {
            waiting: self
                .ends
                .items
                .begin_settling_wait(Mode::Permits(1), self.site),
            room: None,
        });
    }
}

/// The end of a receive: what it took frees slots (`took`, given the count), then its wait
/// ends, or it is counted as taken without one.
#[inline(always)]
fn received_end(
    ends: &Ends,
    waiting: &mut Option<SideWait<'_, fn() -> PoolState>>,
    ended: Ended,
    took: impl FnOnce(u32),
) {
    if let Ended::Done(n) = ended {
        took(n);
    }
    finish(
        ends,
        Side::Items,
        waiting,
        ended,
        &(no_fill as fn() -> PoolState),
    );
}

/// A blocking send or receive on `side` from a thread: recorded as a wait when `will_wait`
/// (the channel was full, or empty) said it would wait.
pub(super) fn blocking<R>(
    ends: &Ends,
    side: Side,
    site: &'static Location<'static>,
    fill: impl Fn() -> PoolState,
    will_wait: bool,
    op: impl FnOnce() -> R,
    how: impl FnOnce(&R) -> Ended,
) -> R {
    if !crate::settings::enabled() {
        return op();
    }
    let mut waiting = will_wait.then(|| SideWait::begin(ends, side, site, &fill));
    let out = op();
    finish(ends, side, &mut waiting, how(&out), &fill);
    out
}

/// What finished without waiting (a `try_` call that succeeded): counted, and what it moved
/// added to the pool (`fill`: the channel's fill after).
pub(super) fn immediate(ends: &Ends, side: Side, n: u32, fill: impl Fn() -> PoolState) {
    if crate::settings::enabled() {
        ends.side(side).counted_without_wait();
        match side {
            Side::Room => ends.took_room(n, fill, 0),
            Side::Items => ends.received(n, fill),
        }
    }
}

/// Ends a send's or receive's recorded wait as it ended, or counts it when it did not wait;
/// then adds what a send moved to the pool (a receive's caller does, once it can read the
/// channel's fill). The path without a wait is the common one: it moves nothing.
#[inline(always)]
fn finish<F: Fn() -> PoolState>(
    ends: &Ends,
    side: Side,
    waiting: &mut Option<SideWait<'_, F>>,
    ended: Ended,
    fill: &F,
) {
    if waiting.is_some() {
        return finish_waited(ends, side, waiting, ended, fill);
    }
    if let Ended::Done(n) = ended
        && crate::settings::enabled()
    {
        ends.side(side).meta.count_unwaited();
        if side == Side::Room {
            ends.took_room(n, fill, 0);
        }
    }
}

#[cold]
#[inline(never)]
fn finish_waited<F: Fn() -> PoolState>(
    ends: &Ends,
    side: Side,
    waiting: &mut Option<SideWait<'_, F>>,
    ended: Ended,
    fill: &F,
) {
    let Some(SideWait { waiting, room }) = waiting.take() else {
        return;
    };
    let waited = room.map_or(0, |r| r.end(matches!(ended, Ended::Done(_))));
    match ended {
        Ended::Done(_) => waiting.woken(),
        Ended::Closed => waiting.closed(),
        Ended::GaveUp => drop(waiting),
    }
    if let (Side::Room, Ended::Done(n)) = (side, ended) {
        ends.took_room(n, fill, waited);
    }
}

/// A receive's wait kept between calls of `poll_recv`, which has no future to keep it in:
/// begun at the first poll that finds the channel empty, ended by the next poll that
/// receives (or finds the channel closed), or as given up when the receiver drops.
pub(super) struct PolledWait {
    ends: Arc<Ends>,
    parked: Option<Parked>,
}

impl PolledWait {
    pub(super) fn new(ends: Arc<Ends>) -> PolledWait {
        PolledWait { ends, parked: None }
    }

    /// Records what one `poll_recv`-like call returned (`fill`: the channel's fill after).
    pub(super) fn polled<R>(
        &mut self,
        site: &'static Location<'static>,
        fill: impl FnOnce() -> PoolState,
        polled: Poll<R>,
        how: impl FnOnce(&R) -> Ended,
    ) -> Poll<R> {
        if !crate::settings::enabled() {
            return polled;
        }
        let items = &self.ends.items;
        match &polled {
            Poll::Pending => {
                if self.parked.is_none() {
                    self.ends.wait_on();
                    let w = items.begin_settling_wait(Mode::Permits(1), site);
                    self.parked = Some(w.park());
                }
            }
            Poll::Ready(r) => {
                let mut waiting = self.parked.take().map(|p| SideWait {
                    waiting: p.resume(items),
                    room: None,
                });
                let ends = &self.ends;
                received_end(ends, &mut waiting, how(r), |n| ends.received(n, fill));
            }
        }
        polled
    }
}

impl Drop for PolledWait {
    fn drop(&mut self) {
        if let Some(p) = self.parked.take() {
            drop(p.resume(&self.ends.items));
        }
    }
}

pub(super) fn done_if(ok: bool, n: usize) -> Ended {
    if ok {
        Ended::Done(u32::try_from(n).unwrap_or(u32::MAX))
    } else {
        Ended::Closed
    }
}

/// A bounded channel's fill from tokio's figures: `max` slots, `free` of them free now (so
/// in use is what is queued or reserved).
pub(super) fn fill(max: usize, free: usize) -> PoolState {
    PoolState {
        in_use: max.saturating_sub(free) as u64,
        capacity: max as u64,
    }
}

/// An unbounded channel has no fill to count.
pub(super) fn no_fill() -> PoolState {
    PoolState {
        in_use: 0,
        capacity: 0,
    }
}
