//! The bounded channel's [`Receiver`]: its waits for items are recorded on the items side,
//! and each message it takes frees a slot of the channel's pool.

use super::ends::{
    Claim, Ends, PolledWait, Side, blocking, done_if, fill, immediate, no_fill, receive,
};
use ::tokio::sync::mpsc as tk;
use std::panic::Location;
use std::sync::Arc;
use std::task::{Context, Poll};
use tk::error::TryRecvError;

/// A bounded receiver around tokio's, listed as the owner of the channel's room side.
pub(super) fn make<T>(
    inner: tk::Receiver<T>,
    ends: Arc<Ends>,
    site: &'static Location<'static>,
) -> Receiver<T> {
    Receiver {
        inner,
        claim: Claim::new(ends.clone(), Side::Room, site),
        polled: PolledWait::new(ends),
    }
}

/// Receives the values sent, as [`tokio::sync::mpsc::Receiver`]; a receive from an empty
/// channel is recorded as a wait for the senders' owners.
pub struct Receiver<T> {
    inner: tk::Receiver<T>,
    claim: Claim,
    /// A wait begun by `poll_recv`, kept until a poll receives.
    polled: PolledWait,
}

impl<T> Receiver<T> {
    /// The channel's fill now, as the pool records it.
    fn fill(&self) -> crate::lock_core::PoolState {
        fill_of(&self.inner)
    }

    /// Counts `n` messages received into the channel's pool.
    fn received(&self, n: usize) {
        if n > 0 && crate::settings::enabled() {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            self.claim.ends.received(n, || self.fill());
        }
    }

    /// The next value, waiting while the channel is empty (the wait is recorded); `None` once
    /// the channel is closed and empty.
    #[track_caller]
    pub fn recv(&mut self) -> impl Future<Output = Option<T>> + '_ {
        let site = Location::caller();
        self.claim.own(site);
        let Receiver { inner, claim, .. } = self;
        let ends = &claim.ends;
        let poll = |cx: &mut Context<'_>| {
            let polled = inner.poll_recv(cx);
            polled.map(|r| (r, ends.pooled().then(|| fill_of(inner))))
        };
        receive(ends, site, poll, |r| done_if(r.is_some(), 1))
    }

    /// Up to `limit` values into `buffer`, waiting while the channel is empty (the wait is
    /// recorded); 0 once the channel is closed and empty (or `limit` is 0).
    #[track_caller]
    pub fn recv_many<'a>(
        &'a mut self,
        buffer: &'a mut Vec<T>,
        limit: usize,
    ) -> impl Future<Output = usize> + 'a {
        let site = Location::caller();
        self.claim.own(site);
        let Receiver { inner, claim, .. } = self;
        let ends = &claim.ends;
        let poll = move |cx: &mut Context<'_>| {
            let polled = inner.poll_recv_many(cx, buffer, limit);
            polled.map(|n| (n, ends.pooled().then(|| fill_of(inner))))
        };
        receive(ends, site, poll, |n| done_if(*n > 0, *n))
    }

    /// The next value if there is one now.
    #[track_caller]
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.claim.own(Location::caller());
        let r = self.inner.try_recv();
        if r.is_ok() {
            immediate(&self.claim.ends, Side::Items, 1, || self.fill());
        }
        r
    }

    /// The next value, blocking the thread while the channel is empty. Panics inside an
    /// async context, as tokio's.
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        let site = Location::caller();
        self.claim.own(site);
        let empty = self.inner.is_empty() && !self.inner.is_closed();
        let (ends, inner) = (&self.claim.ends, &mut self.inner);
        let got = blocking(
            ends,
            Side::Items,
            site,
            no_fill,
            empty,
            || inner.blocking_recv(),
            |r| done_if(r.is_some(), 1),
        );
        self.received(usize::from(got.is_some()));
        got
    }

    /// Up to `limit` values into `buffer`, blocking the thread while the channel is empty.
    #[track_caller]
    pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        let site = Location::caller();
        self.claim.own(site);
        let empty = self.inner.is_empty() && !self.inner.is_closed();
        let (ends, inner) = (&self.claim.ends, &mut self.inner);
        let n = blocking(
            ends,
            Side::Items,
            site,
            no_fill,
            empty,
            || inner.blocking_recv_many(buffer, limit),
            |n| done_if(*n > 0, *n),
        );
        self.received(n);
        n
    }

    /// Closes the channel to senders; what is queued can still be received.
    pub fn close(&mut self) {
        self.inner.close();
    }

    /// Whether the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Messages queued.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Free room right now.
    pub fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// The buffer size the channel was made with.
    pub fn max_capacity(&self) -> usize {
        self.inner.max_capacity()
    }

    /// tokio's `poll_recv`, for hand-written futures. Its wait is recorded from the first
    /// poll that finds the channel empty to the poll that receives (or finds it closed); a
    /// future that stops polling meanwhile shows as waiting until its next poll, or until
    /// the receiver drops.
    #[track_caller]
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let site = Location::caller();
        self.claim.own(site);
        let polled = self.inner.poll_recv(cx);
        let inner = &self.inner;
        (self.polled).polled(site, || fill_of(inner), polled, |r| done_if(r.is_some(), 1))
    }

    /// tokio's `poll_recv_many`, its waits recorded as [`Receiver::poll_recv`]'s.
    #[track_caller]
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        let site = Location::caller();
        self.claim.own(site);
        let polled = self.inner.poll_recv_many(cx, buffer, limit);
        let inner = &self.inner;
        (self.polled).polled(site, || fill_of(inner), polled, |n| done_if(*n > 0, *n))
    }

    /// Live senders of this channel.
    pub fn sender_strong_count(&self) -> usize {
        self.inner.sender_strong_count()
    }

    /// Weak senders of this channel.
    pub fn sender_weak_count(&self) -> usize {
        self.inner.sender_weak_count()
    }

    /// The channel's items side (lockscope's addition): values received (acquisitions),
    /// receives that waited for one (contentions) and whether one waits now (waiters).
    pub fn stats(&self) -> crate::LockStats {
        self.claim.ends.items.meta.stats()
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("chan", &self.inner)
            .finish()
    }
}

impl<T> Unpin for Receiver<T> {}

/// A bounded channel's fill read from its receiver.
fn fill_of<T>(rx: &tk::Receiver<T>) -> crate::lock_core::PoolState {
    fill(rx.max_capacity(), rx.capacity())
}
