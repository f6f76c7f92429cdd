//! The unbounded channel's handles: its senders never wait (a send is not counted either); its
//! receiver's waits for items are recorded on the items side, as a bounded channel's.

use super::ends::{Claim, Ends, PolledWait, Side, blocking, done_if, immediate, no_fill, receive};
use ::tokio::sync::mpsc as tk;
use std::panic::Location;
use std::sync::Arc;
use std::task::{Context, Poll};
use tk::error::{SendError, TryRecvError};

pub(super) fn make<T>(
    ends: Arc<Ends>,
    site: &'static Location<'static>,
) -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let (tx, rx) = tk::unbounded_channel();
    (
        UnboundedSender {
            inner: tx,
            claim: Claim::new(ends.clone(), Side::Items, site),
        },
        UnboundedReceiver {
            inner: rx,
            polled: PolledWait::new(ends.clone()),
            ends,
        },
    )
}

/// Sends values to the [`UnboundedReceiver`], as [`tokio::sync::mpsc::UnboundedSender`].
pub struct UnboundedSender<T> {
    inner: tk::UnboundedSender<T>,
    claim: Claim,
}

impl<T> UnboundedSender<T> {
    /// Queues `message` (never waits).
    #[track_caller]
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        self.claim.own(Location::caller());
        self.inner.send(message)
    }

    /// Waits until the receiver is dropped or closed.
    pub async fn closed(&self) {
        self.inner.closed().await;
    }

    /// Whether the receiver is gone or closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Whether both senders send to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }

    /// A handle that does not keep the channel open.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        WeakUnboundedSender {
            inner: self.inner.downgrade(),
            ends: self.claim.ends.clone(),
        }
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

impl<T> Clone for UnboundedSender<T> {
    /// Another sender, owned by the task (or thread) that cloned it until another uses it.
    #[track_caller]
    fn clone(&self) -> Self {
        UnboundedSender {
            inner: self.inner.clone(),
            claim: self.claim.sibling(Location::caller()),
        }
    }
}

impl<T> std::fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnboundedSender")
            .field("chan", &self.inner)
            .finish()
    }
}

/// An unbounded sender that does not keep the channel open, as tokio's.
pub struct WeakUnboundedSender<T> {
    inner: tk::WeakUnboundedSender<T>,
    ends: Arc<Ends>,
}

impl<T> WeakUnboundedSender<T> {
    /// A sender, if the channel is still open.
    #[track_caller]
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        let inner = self.inner.upgrade()?;
        Some(UnboundedSender {
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

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        WeakUnboundedSender {
            inner: self.inner.clone(),
            ends: self.ends.clone(),
        }
    }
}

impl<T> std::fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeakUnboundedSender")
            .finish_non_exhaustive()
    }
}

/// Receives the values sent, as [`tokio::sync::mpsc::UnboundedReceiver`]; a receive from an
/// empty channel is recorded as a wait for the senders' owners.
pub struct UnboundedReceiver<T> {
    inner: tk::UnboundedReceiver<T>,
    ends: Arc<Ends>,
    /// A wait begun by `poll_recv`, kept until a poll receives.
    polled: PolledWait,
}

impl<T> UnboundedReceiver<T> {
    /// The next value, waiting while the channel is empty (the wait is recorded); `None` once
    /// the channel is closed and empty.
    #[track_caller]
    pub fn recv(&mut self) -> impl Future<Output = Option<T>> + '_ {
        let site = Location::caller();
        let UnboundedReceiver { inner, ends, .. } = self;
        let poll = |cx: &mut Context<'_>| inner.poll_recv(cx).map(|r| (r, None));
        receive(ends, site, poll, |r| done_if(r.is_some(), 1))
    }

    /// Up to `limit` values into `buffer`, waiting while the channel is empty.
    #[track_caller]
    pub fn recv_many<'a>(
        &'a mut self,
        buffer: &'a mut Vec<T>,
        limit: usize,
    ) -> impl Future<Output = usize> + 'a {
        let site = Location::caller();
        let UnboundedReceiver { inner, ends, .. } = self;
        let poll =
            move |cx: &mut Context<'_>| inner.poll_recv_many(cx, buffer, limit).map(|n| (n, None));
        receive(ends, site, poll, |n| done_if(*n > 0, *n))
    }

    /// The next value if there is one now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let r = self.inner.try_recv();
        if r.is_ok() {
            immediate(&self.ends, Side::Items, 1, no_fill);
        }
        r
    }

    /// The next value, blocking the thread while the channel is empty.
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        let site = Location::caller();
        let empty = self.inner.is_empty() && !self.inner.is_closed();
        let UnboundedReceiver { inner, ends, .. } = self;
        blocking(
            ends,
            Side::Items,
            site,
            no_fill,
            empty,
            || inner.blocking_recv(),
            |r| done_if(r.is_some(), 1),
        )
    }

    /// Up to `limit` values into `buffer`, blocking the thread while the channel is empty.
    #[track_caller]
    pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        let site = Location::caller();
        let empty = self.inner.is_empty() && !self.inner.is_closed();
        let UnboundedReceiver { inner, ends, .. } = self;
        blocking(
            ends,
            Side::Items,
            site,
            no_fill,
            empty,
            || inner.blocking_recv_many(buffer, limit),
            |n| done_if(*n > 0, *n),
        )
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

    /// tokio's `poll_recv`, its waits recorded as the bounded
    /// [`Receiver::poll_recv`](super::Receiver::poll_recv)'s.
    #[track_caller]
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let polled = self.inner.poll_recv(cx);
        (self.polled).polled(Location::caller(), no_fill, polled, |r| {
            done_if(r.is_some(), 1)
        })
    }

    /// tokio's `poll_recv_many`, its waits recorded as [`UnboundedReceiver::poll_recv`]'s.
    #[track_caller]
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        let polled = self.inner.poll_recv_many(cx, buffer, limit);
        (self.polled).polled(Location::caller(), no_fill, polled, |n| done_if(*n > 0, *n))
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
        self.ends.items.meta.stats()
    }
}

impl<T> std::fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnboundedReceiver")
            .field("chan", &self.inner)
            .finish()
    }
}

impl<T> Unpin for UnboundedReceiver<T> {}
