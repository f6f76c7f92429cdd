//! The bounded channel's [`Sender`] (waits for room are recorded on the room side), its
//! permits and weak handles, with tokio's signatures; the [`Receiver`] is in `receiver.rs`.

use super::ends::{Claim, Ended, Ends, Side, blocking, done_if, fill, immediate, recorded};
use super::receiver::{self, Receiver};
use ::tokio::sync::mpsc as tk;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;
use tk::error::{SendError, SendTimeoutError, TrySendError};

pub(super) fn make<T>(
    ends: Arc<Ends>,
    buffer: usize,
    site: &'static Location<'static>,
) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = tk::channel(buffer);
    (
        Sender {
            inner: tx,
            claim: Claim::new(ends.clone(), Side::Items, site),
        },
        receiver::make(rx, ends, site),
    )
}

/// Sends values to the [`Receiver`], as [`tokio::sync::mpsc::Sender`]; a send into a full
/// channel is recorded as a wait for the receiver's owner.
pub struct Sender<T> {
    inner: tk::Sender<T>,
    claim: Claim,
}

impl<T> Sender<T> {
    fn room(&self) -> &crate::lock_core::Tracked {
        &self.claim.ends.room
    }

    /// Sends `value`, waiting for room while the channel is full (the wait is recorded).
    #[track_caller]
    pub fn send(&self, value: T) -> impl Future<Output = Result<(), SendError<T>>> + '_ {
        let site = Location::caller();
        self.claim.own(site);
        let tx = &self.inner;
        async move {
            // A try first: cheaper than tokio's send future, and as fair, since tokio hands a
            // freed slot to a queued sender before it counts as free, so a free slot means no
            // sender is queued (tokio's own send tries the same way before it queues).
            let value = match tx.try_send(value) {
                Ok(()) => {
                    immediate(&self.claim.ends, Side::Room, 1, || self.fill());
                    return Ok(());
                }
                Err(TrySendError::Closed(v)) => return Err(SendError(v)),
                Err(TrySendError::Full(v)) => v,
            };
            recorded(
                &self.claim.ends,
                site,
                move || fill(tx.max_capacity(), tx.capacity()),
                tx.send(value),
                |r| done_if(r.is_ok(), 1),
            )
            .await
        }
    }

    /// Waits until the receiver is dropped or closed.
    pub async fn closed(&self) {
        self.inner.closed().await;
    }

    /// Sends `message` if there is room now.
    #[track_caller]
    pub fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        self.claim.own(Location::caller());
        let r = self.inner.try_send(message);
        if r.is_ok() {
            immediate(&self.claim.ends, Side::Room, 1, || self.fill());
        }
        r
    }

    /// Sends `value`, waiting at most `timeout` for room (a wait that times out is recorded
    /// as given up).
    #[track_caller]
    pub fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), SendTimeoutError<T>>> + '_ {
        let site = Location::caller();
        self.claim.own(site);
        let tx = &self.inner;
        recorded(
            &self.claim.ends,
            site,
            move || fill(tx.max_capacity(), tx.capacity()),
            tx.send_timeout(value, timeout),
            |r| match r {
                Ok(()) => Ended::Done(1),
                Err(SendTimeoutError::Closed(_)) => Ended::Closed,
                Err(SendTimeoutError::Timeout(_)) => Ended::GaveUp,
            },
        )
    }

    /// Sends `value` from outside a runtime, blocking the thread while the channel is full.
    /// Panics inside an async context, as tokio's.
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        let site = Location::caller();
        self.claim.own(site);
        let full = self.inner.capacity() == 0 && !self.inner.is_closed();
        blocking(
            &self.claim.ends,
            Side::Room,
            site,
            || self.fill(),
            full,
            || self.inner.blocking_send(value),
            |r| done_if(r.is_ok(), 1),
        )
    }

    /// Whether the receiver is gone or closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Waits for room for one message and keeps it (the wait is recorded).
    #[track_caller]
    pub fn reserve(&self) -> impl Future<Output = Result<Permit<'_, T>, SendError<()>>> + '_ {
        let site = Location::caller();
        self.claim.own(site);
        let tx = &self.inner;
        let fut = recorded(
            &self.claim.ends,
            site,
            move || fill(tx.max_capacity(), tx.capacity()),
            tx.reserve(),
            |r| done_if(r.is_ok(), 1),
        );
        async move { fut.await.map(|inner| Permit { inner }) }
    }

    /// Waits for room for `n` messages and keeps it (the wait is recorded).
    #[track_caller]
    pub fn reserve_many(
        &self,
        n: usize,
    ) -> impl Future<Output = Result<PermitIterator<'_, T>, SendError<()>>> + '_ {
        let site = Location::caller();
        self.claim.own(site);
        let tx = &self.inner;
        let fut = recorded(
            &self.claim.ends,
            site,
            move || fill(tx.max_capacity(), tx.capacity()),
            tx.reserve_many(n),
            move |r| done_if(r.is_ok(), n),
        );
        async move { fut.await.map(|inner| PermitIterator { inner }) }
    }

    /// [`Sender::reserve`] that keeps the sender in the permit.
    #[track_caller]
    pub fn reserve_owned(self) -> impl Future<Output = Result<OwnedPermit<T>, SendError<()>>> {
        let site = Location::caller();
        self.claim.own(site);
        let owned = self.owned_fill();
        let Sender { inner, claim } = self;
        async move {
            let ends = claim.ends.clone();
            let r = recorded(&ends, site, owned, inner.reserve_owned(), |r| {
                done_if(r.is_ok(), 1)
            })
            .await;
            r.map(|inner| OwnedPermit { inner, claim })
        }
    }

    /// Keeps room for one message if there is some now.
    #[track_caller]
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.claim.own(Location::caller());
        let p = self.inner.try_reserve()?;
        immediate(&self.claim.ends, Side::Room, 1, || self.fill());
        Ok(Permit { inner: p })
    }

    /// Keeps room for `n` messages if there is that much now.
    #[track_caller]
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        self.claim.own(Location::caller());
        let p = self.inner.try_reserve_many(n)?;
        let n32 = u32::try_from(n).unwrap_or(u32::MAX);
        immediate(&self.claim.ends, Side::Room, n32, || self.fill());
        Ok(PermitIterator { inner: p })
    }

    /// [`Sender::try_reserve`] that keeps the sender in the permit (or gives it back).
    #[track_caller]
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        self.claim.own(Location::caller());
        let owned = self.owned_fill();
        let Sender { inner, claim } = self;
        match inner.try_reserve_owned() {
            Ok(p) => {
                immediate(&claim.ends, Side::Room, 1, owned);
                Ok(OwnedPermit { inner: p, claim })
            }
            Err(TrySendError::Full(inner)) => Err(TrySendError::Full(Sender { inner, claim })),
            Err(TrySendError::Closed(inner)) => Err(TrySendError::Closed(Sender { inner, claim })),
        }
    }

    /// The channel's fill now, as the pool records it.
    fn fill(&self) -> crate::lock_core::PoolState {
        fill(self.inner.max_capacity(), self.inner.capacity())
    }

    /// The fill after an owned reservation, which consumes the sender tokio could tell it
    /// with: read before the call, less the slot it takes (exact unless another handle sends
    /// or receives meanwhile; a reservation that waited took the channel's last free slot).
    fn owned_fill(&self) -> impl Fn() -> crate::lock_core::PoolState + use<T> {
        let (max, free) = (self.inner.max_capacity(), self.inner.capacity());
        move || fill(max, free.saturating_sub(1))
    }

    /// Whether both senders send to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }

    /// Free room right now.
    pub fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// A handle that does not keep the channel open.
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            inner: self.inner.downgrade(),
            ends: self.claim.ends.clone(),
        }
    }

    /// The buffer size the channel was made with.
    pub fn max_capacity(&self) -> usize {
        self.inner.max_capacity()
    }

    /// Live senders of this channel.
    pub fn strong_count(&self) -> usize {
        self.inner.strong_count()
    }

    /// Weak senders of this channel.
    pub fn weak_count(&self) -> usize {
        self.inner.weak_count()
    }

    /// The channel's room side (lockscope's addition): sends and reserves (acquisitions),
    /// those that waited for room (contentions), senders waiting now (waiters), and the
    /// receiver's owner (holder).
    pub fn stats(&self) -> crate::LockStats {
        self.room().meta.stats()
    }
}

impl<T> Clone for Sender<T> {
    /// Another sender, owned by the task (or thread) that cloned it until another uses it.
    #[track_caller]
    fn clone(&self) -> Self {
        Sender {
            inner: self.inner.clone(),
            claim: self.claim.sibling(Location::caller()),
        }
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("chan", &self.inner).finish()
    }
}

/// A sender that does not keep the channel open, as tokio's.
pub struct WeakSender<T> {
    inner: tk::WeakSender<T>,
    ends: Arc<Ends>,
}

impl<T> WeakSender<T> {
    /// A sender, if the channel is still open.
    #[track_caller]
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let inner = self.inner.upgrade()?;
        Some(Sender {
            inner,
            claim: Claim::new(self.ends.clone(), Side::Items, Location::caller()),
        })
    }

    /// Live senders of this channel.
    pub fn strong_count(&self) -> usize {
        self.inner.strong_count()
    }

    /// Weak senders of this channel.
    pub fn weak_count(&self) -> usize {
        self.inner.weak_count()
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            inner: self.inner.clone(),
            ends: self.ends.clone(),
        }
    }
}

impl<T> std::fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeakSender").finish_non_exhaustive()
    }
}

/// Room for one message, kept by [`Sender::reserve`].
pub struct Permit<'a, T> {
    inner: tk::Permit<'a, T>,
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the kept room.
    pub fn send(self, value: T) {
        self.inner.send(value);
    }
}

impl<T> std::fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// Room for several messages, kept by [`Sender::reserve_many`]: one [`Permit`] each.
pub struct PermitIterator<'a, T> {
    inner: tk::PermitIterator<'a, T>,
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        self.inner.next().map(|inner| Permit { inner })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}
impl<T> std::iter::FusedIterator for PermitIterator<'_, T> {}

impl<T> std::fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// Room for one message that owns its sender, kept by [`Sender::reserve_owned`].
pub struct OwnedPermit<T> {
    inner: tk::OwnedPermit<T>,
    claim: Claim,
}

impl<T> OwnedPermit<T> {
    /// Sends `value` into the kept room and gives the sender back.
    pub fn send(self, value: T) -> Sender<T> {
        Sender {
            inner: self.inner.send(value),
            claim: self.claim,
        }
    }

    /// Gives the room back, unused, and the sender with it.
    pub fn release(self) -> Sender<T> {
        Sender {
            inner: self.inner.release(),
            claim: self.claim,
        }
    }

    /// Whether both permits belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }

    /// Whether this permit belongs to `sender`'s channel.
    pub fn same_channel_as_sender(&self, sender: &Sender<T>) -> bool {
        self.inner.same_channel_as_sender(&sender.inner)
    }
}

impl<T> std::fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}
