//! What every raw lock of this module shares: the guard marker, the site of locks made by
//! `INIT`, and the slot an exclusive hold keeps its token in.

use crate::lock_core::Token;
use std::panic::Location;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// lock_api's guard marker for lockscope's raw locks.
#[cfg(not(feature = "send_guard"))]
pub type GuardMarker = lock_api04::GuardNoSend;
/// lock_api's guard marker for lockscope's raw locks.
#[cfg(feature = "send_guard")]
pub type GuardMarker = lock_api04::GuardSend;

/// The site every lock made by `INIT` starts with: its class comes from a stack frame.
pub(crate) const SITE: &Location<'static> = crate::class::caller_site();

/// The packed token of the current exclusive hold (one holder at a time, so it lives in the
/// lock; written after acquiring, read before releasing, both under the lock).
#[derive(Debug)]
pub(crate) struct HoldSlot(AtomicU64);

impl HoldSlot {
    pub(crate) const fn new() -> Self {
        HoldSlot(AtomicU64::new(Token::NONE))
    }

    #[inline(always)]
    pub(crate) fn put(&self, tok: &Token) {
        self.0.store(tok.pack(), Relaxed);
    }

    /// The current hold's token. A plain load, not a swap: only the holder reads or writes
    /// the slot, and the next acquisition overwrites it.
    #[inline(always)]
    pub(crate) fn take(&self, meta: &crate::lock_core::LockMeta) -> Token {
        let word = self.0.load(Relaxed);
        if word == Token::NONE {
            return Token::untracked(SITE);
        }
        Token::unpack(word, meta.id(), SITE)
    }
}
