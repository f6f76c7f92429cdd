//! `LockMeta`, the recorded state of one lock instance, and its fast paths: acquisition and
//! release bookkeeping (a few relaxed loads and stores on the lock's own cache line and the
//! thread's held list: no clock, no allocation, no atomic read-modify-write for exclusive
//! modes), with the sampled and contended parts on cold paths. Waits are in [`super::wait`].

use crate::actor::{self, NO_ORDER, class_mode};
use crate::class::{ClassInfo, class_for};
use crate::format::{LockKind, Mode, Record};
use crate::raw::{Origin, SideBox};
use crate::settings::{enabled, sample_mask};
use crate::{boot, clock, sink};
use std::panic::Location;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::atomic::{AtomicU32, AtomicU64};

static NEXT_LOCK: AtomicU64 = AtomicU64::new(1);

/// Whether acquisition `n` (counted from 0) of lock `id` is in the hold-time sample: one in
/// each sampling period, at a phase that moves on by one from each lock to the next (ids are
/// handed out in order). So of many locks used a few times each, a new lock's first
/// acquisition is sampled as often as any other, not always.
#[inline(always)]
pub(super) fn in_sample(n: u64, id: u64) -> bool {
    n.wrapping_add(id) & sample_mask() == 0
}

/// Holders listed per wait event.
pub(crate) const MAX_HOLDERS: usize = 16;

/// What a guard remembers about its acquisition (24 bytes, so guards stay small).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    /// Lock id; 0 when the acquisition was not tracked (recording was off).
    pub(crate) lock: u64,
    /// When the hold began, with bit 0 set when the hold is in the sample; 0 when untimed.
    pub(super) stamp: u64,
    pub(crate) site: &'static Location<'static>,
}

impl Token {
    pub(crate) const fn untracked(site: &'static Location<'static>) -> Token {
        Token {
            lock: 0,
            stamp: 0,
            site,
        }
    }

    pub(super) fn timed(
        lock: u64,
        since_ns: u64,
        sampled: bool,
        site: &'static Location<'static>,
    ) -> Token {
        Token {
            lock,
            stamp: Token::stamp(since_ns, sampled),
            site,
        }
    }

    /// The hold's stamp word (0: untimed), for a caller that passes the token as its words.
    #[inline(always)]
    pub(crate) fn stamp_word(&self) -> u64 {
        self.stamp
    }

    /// The stamp of a hold timed from `since_ns`, `sampled` or not (never 0: that is untimed).
    pub(super) fn stamp(since_ns: u64, sampled: bool) -> u64 {
        (since_ns & !1).max(2) | u64::from(sampled)
    }

    /// This token in one word, for a lock that keeps its holder's token itself (lock_api's
    /// raw locks, whose unlock gets no guard): [`Token::NONE`] for an untracked hold.
    pub(crate) fn pack(&self) -> u64 {
        if self.lock == 0 {
            Token::NONE
        } else {
            self.stamp
        }
    }

    /// A packed token of lock `lock`, back as a token.
    pub(crate) fn unpack(word: u64, lock: u64, site: &'static Location<'static>) -> Token {
        if word == Token::NONE || lock == 0 {
            return Token::untracked(site);
        }
        Token {
            lock,
            stamp: word,
            site,
        }
    }

    /// A packed untracked token (a stamp is never all ones: bit 0 is the sampled flag over an
    /// even time).
    pub(crate) const NONE: u64 = u64::MAX;

    /// When the hold began (to within 1 ns); 0 when untimed.
    pub(crate) fn since_ns(&self) -> u64 {
        Token::stamp_since(self.stamp)
    }

    /// The start time a stamp word holds (0: untimed).
    pub(super) fn stamp_since(stamp: u64) -> u64 {
        stamp & !1
    }

    /// Whether a stamp word's hold is in the sample.
    pub(super) fn stamp_sampled(stamp: u64) -> bool {
        stamp & 1 == 1
    }
}

/// What a lock counts off its fast path: made when the lock is registered (its first
/// recorded use), so a lock keeps only its hot fields inline.
pub(super) struct Cold {
    /// The capacity the lock was made with (permits; 1 for the other kinds).
    pub(super) capacity: u64,
    published: AtomicU64,
    /// Contentions that ended within the brief spin (counted, not timed), and how many of
    /// them the class total has.
    pub(super) brief: AtomicU64,
    published_brief: AtomicU64,
    pub(super) contentions: AtomicU64,
    pub(super) max_waiters: AtomicU32,
    announced: AtomicU32,
    pub(super) waiters: AtomicU32,
}

impl Cold {
    fn new(capacity: u64) -> Self {
        Cold {
            capacity,
            published: AtomicU64::new(0),
            brief: AtomicU64::new(0),
            published_brief: AtomicU64::new(0),
            contentions: AtomicU64::new(0),
            max_waiters: AtomicU32::new(0),
            announced: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
        }
    }
}

/// The recorded state of one lock instance: 48 bytes, so a `Mutex<u64>` with its lock byte
/// fits one 64-byte cache line.
///
/// `repr(C)`: the fields every acquisition touches come right before the raw lock word in
/// the lock. The class (with its id and kind) is reached through `origin`, which is the
/// creation site and kind until the lock is first used; the figures no acquisition needs sit
/// in [`Cold`], made at registration. (Forcing 64-byte alignment gained ~7 % on a contended
/// hand-off benchmark for 56 more bytes per lock; not worth it.)
#[repr(C)]
pub(crate) struct LockMeta {
    origin: Origin<ClassInfo>,
    /// [`Cold`], with the lock's capacity as its seed until it is made.
    cold: SideBox<Cold>,
    // --- hot: read or written by every acquisition and release ---
    pub(super) id: AtomicU64,
    /// Exclusive holder's actor id (0: none, or only shared holders).
    pub(crate) holder: AtomicU64,
    pub(super) acquisitions: AtomicU64,
    pub(super) contended_since_ns: AtomicU64,
}

/// `LockKind` as `Origin`'s 2-bit tag.
const fn kind_tag(kind: LockKind) -> u8 {
    match kind {
        LockKind::Mutex => 0,
        LockKind::RwLock => 1,
        LockKind::Semaphore => 2,
        LockKind::Condvar => 3,
    }
}

fn tag_kind(tag: u8) -> LockKind {
    match tag {
        0 => LockKind::Mutex,
        1 => LockKind::RwLock,
        2 => LockKind::Semaphore,
        _ => LockKind::Condvar,
    }
}

impl std::fmt::Debug for LockMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockMeta")
            .field("id", &self.id.load(Relaxed))
            .field("site", &self.site())
            .field("acquisitions", &self.acquisitions.load(Relaxed))
            .finish_non_exhaustive()
    }
}

impl LockMeta {
    pub(crate) const fn new(
        kind: LockKind,
        site: &'static Location<'static>,
        capacity: u64,
    ) -> Self {
        LockMeta {
            origin: Origin::site(site, kind_tag(kind)),
            cold: SideBox::with_seed(if capacity > usize::MAX as u64 {
                usize::MAX
            } else {
                capacity as usize
            }),
            id: AtomicU64::new(0),
            holder: AtomicU64::new(0),
            acquisitions: AtomicU64::new(0),
            contended_since_ns: AtomicU64::new(0),
        }
    }

    /// A lock with a user-given name: its class is the name (plus kind and site).
    pub(crate) fn named(
        kind: LockKind,
        site: &'static Location<'static>,
        capacity: u64,
        name: &str,
    ) -> Self {
        let m = LockMeta::new(kind, site, capacity);
        m.origin.resolve(|_, _| class_for(kind, site, Some(name)));
        m
    }

    /// A new instance of this lock's class (a clone of a cell, say), with no figures.
    #[cfg(feature = "tokio")]
    pub(crate) fn sibling(&self) -> LockMeta {
        let class = self.class();
        let m = LockMeta::new(class.kind, class.location, self.capacity());
        m.origin.resolve(|_, _| class);
        m
    }

    /// The class, registering it on first use.
    #[inline]
    pub(crate) fn class(&self) -> &'static ClassInfo {
        self.origin.resolve(|site, tag| {
            let kind = tag_kind(tag);
            if crate::class::is_caller_site(site) {
                // A lock made by lock_api's `INIT`: no creation site, so the code that first
                // uses it names its class.
                if let Some((file, line)) = crate::symbols::first_caller_frame() {
                    return crate::class::class_for_frame(kind, file, line);
                }
            }
            crate::class::class_for_site(kind, site)
        })
    }

    /// The class's id once the lock is registered (0 before).
    #[inline(always)]
    pub(super) fn class_id(&self) -> u32 {
        match self.origin.get() {
            Ok(c) => c.id,
            Err(_) => 0,
        }
    }

    /// What kind of lock this is.
    pub(crate) fn kind(&self) -> LockKind {
        match self.origin.get() {
            Ok(c) => c.kind,
            Err((_, tag)) => tag_kind(tag),
        }
    }

    /// The figures kept off the fast path, made on first need.
    #[inline]
    pub(super) fn cold(&self) -> &Cold {
        self.cold.get_or_init(|cap| Cold::new(cap as u64))
    }

    /// The trace's id of the acquisition site `site`: for a lock made by lock_api's `INIT`,
    /// whose acquisitions carry no caller location, its class's site.
    pub(crate) fn site_id(&self, site: &'static Location<'static>) -> u64 {
        if crate::class::is_caller_site(site) {
            let class = self.class();
            return sink::text_site_id(std::ptr::from_ref(class) as usize, || class.site.clone());
        }
        sink::site_id(site)
    }

    /// The capacity the lock was made with.
    pub(crate) fn capacity(&self) -> u64 {
        match self.cold.get() {
            Some(c) => c.capacity,
            None => self.cold.seed().unwrap_or(1) as u64,
        }
    }

    /// The capacity the lock was made with, as a signed count.
    pub(crate) fn capacity_i64(&self) -> i64 {
        i64::try_from(self.capacity()).unwrap_or(i64::MAX)
    }

    /// This instance's id, or 0 if it was never registered (no tracked hold can exist).
    #[inline(always)]
    pub(crate) fn registered_id(&self) -> u64 {
        self.id.load(Acquire)
    }

    /// This instance's id, registering it on first use.
    pub(crate) fn id(&self) -> u64 {
        let id = self.id.load(Acquire);
        if id != 0 { id } else { self.register() }
    }

    #[cold]
    fn register(&self) -> u64 {
        boot::init();
        let class = self.class();
        // Made before the id is published: whoever reads the id finds it.
        let _ = self.cold();
        let new = NEXT_LOCK.fetch_add(1, Relaxed);
        match self.id.compare_exchange(0, new, AcqRel, Acquire) {
            Ok(_) => {
                class.counters.instances.fetch_add(1, Relaxed);
                if class.kind == LockKind::Semaphore {
                    let cap = self.capacity_i64();
                    class.counters.pool_capacity.fetch_add(cap, Relaxed);
                }
                new
            }
            Err(cur) => cur,
        }
    }

    /// This instance's id, with its definition in the running recording (for records
    /// written outside the lock paths, like a pool's).
    pub(crate) fn announced_id(&self) -> u64 {
        let id = self.id();
        self.announce(id);
        id
    }

    /// Makes sure the running recorder has this instance's definition.
    pub(super) fn announce(&self, id: u64) {
        let session = sink::session();
        let cold = self.cold();
        if session == 0 || cold.announced.load(Relaxed) == session {
            return;
        }
        // The definition enters the log before anyone can see `announced`, so no event of
        // this lock reaches the recorder ahead of it.
        let class = u64::from(self.class().id);
        sink::define_with(|d| {
            if cold.announced.load(Relaxed) != session {
                d.define_instance(&Record::Lock {
                    lock: id,
                    class,
                    capacity: cold.capacity,
                });
                cold.announced.store(session, Relaxed);
            }
        });
    }

    // ----- acquisition -----

    /// Bookkeeping after an uncontended acquisition. `exclusive` modes are serialised by the
    /// lock itself, so their counter needs no read-modify-write.
    #[inline(always)]
    pub(crate) fn acquired(
        &self,
        mode: Mode,
        site: &'static Location<'static>,
        blocking: bool,
    ) -> Token {
        self.acquired_flagged(mode, 0, site, blocking)
    }

    /// [`LockMeta::acquired`] with `flags` (like [`crate::actor::UPGRADABLE`]) on the held
    /// entry.
    #[inline(always)]
    pub(crate) fn acquired_flagged(
        &self,
        mode: Mode,
        flags: u64,
        site: &'static Location<'static>,
        blocking: bool,
    ) -> Token {
        if !enabled() {
            return Token::untracked(site);
        }
        self.acquired_on(mode, flags, site, blocking)
    }

    /// [`LockMeta::acquired_flagged`] for a caller that has just read recording as on (one
    /// load of the settings fewer).
    #[inline(always)]
    pub(crate) fn acquired_on(
        &self,
        mode: Mode,
        flags: u64,
        site: &'static Location<'static>,
        blocking: bool,
    ) -> Token {
        let order = if blocking { 0 } else { NO_ORDER };
        self.acquire_tracked(mode, site, flags | order)
    }

    #[inline(always)]
    fn acquire_tracked(&self, mode: Mode, site: &'static Location<'static>, flags: u64) -> Token {
        let n = self.count(mode);
        let id = self.id.load(Acquire);
        if !in_sample(n, id) && id != 0 {
            self.note_holder(id, mode, site, 0, flags);
            return Token {
                lock: id,
                stamp: 0,
                site,
            };
        }
        self.acquired_sampled(n, mode, site, flags)
    }

    #[inline]
    pub(super) fn count(&self, mode: Mode) -> u64 {
        if mode == Mode::Exclusive {
            let n = self.acquisitions.load(Relaxed);
            self.acquisitions.store(n + 1, Relaxed);
            n
        } else {
            self.acquisitions.fetch_add(1, Relaxed)
        }
    }

    #[cold]
    #[inline(never)]
    fn acquired_sampled(
        &self,
        n: u64,
        mode: Mode,
        site: &'static Location<'static>,
        flags: u64,
    ) -> Token {
        let id = self.id();
        if !in_sample(n, id) && !sink::recording() {
            // A new lock's first acquisition, out of the sample: registered and counted on its
            // class (a lock used once shows), with no clock read. While a trace records it is
            // timed, so that every lock's first hold is in the trace.
            self.note_holder(id, mode, site, 0, flags);
            self.publish(n + 1);
            return Token {
                lock: id,
                stamp: 0,
                site,
            };
        }
        let now = clock::now_ns();
        self.after_acquire(id, n, mode, site, now, flags)
    }

    /// Shared tail of every timed acquisition.
    pub(super) fn after_acquire(
        &self,
        id: u64,
        n: u64,
        mode: Mode,
        site: &'static Location<'static>,
        now: u64,
        flags: u64,
    ) -> Token {
        let sampled = in_sample(n, id);
        self.note_holder(id, mode, site, now, flags);
        if sampled {
            self.publish(n + 1);
        }
        Token::timed(id, now, sampled, site)
    }

    /// Records the calling thread as a holder: the exclusive holder id, and the held list.
    #[inline(always)]
    fn note_holder(
        &self,
        id: u64,
        mode: Mode,
        site: &'static Location<'static>,
        since_ns: u64,
        flags: u64,
    ) {
        let actor = actor::current();
        if mode == Mode::Exclusive {
            self.holder.store(actor.id.load(Relaxed), Relaxed);
        }
        let new_chain = actor.push_held(
            id,
            class_mode(self.class_id(), mode) | flags,
            site,
            since_ns,
        );
        if new_chain {
            crate::detect::validate_order(actor);
        }
    }

    /// Moves this instance's acquisitions (up to `upto`) into its class total.
    pub(super) fn publish(&self, upto: u64) {
        let counters = &self.class().counters;
        let cold = self.cold();
        let prev = cold.published.fetch_max(upto, Relaxed);
        if upto > prev {
            counters.acquisitions.fetch_add(upto - prev, Relaxed);
        }
        // Brief spins are rare: read before the read-modify-write.
        let brief = cold.brief.load(Relaxed);
        if brief > cold.published_brief.load(Relaxed) {
            let prev = cold.published_brief.fetch_max(brief, Relaxed);
            if brief > prev {
                counters.contentions.fetch_add(brief - prev, Relaxed);
            }
        }
    }

    /// A contention that ended within the brief spin: counted on the instance now (its
    /// cache line is the lock's own), on the class at the next sample or at drop.
    #[cold]
    pub(crate) fn count_brief(&self) {
        let cold = self.cold();
        cold.contentions.fetch_add(1, Relaxed);
        cold.brief.fetch_add(1, Relaxed);
    }

    /// The creation site.
    pub(crate) fn site(&self) -> &'static Location<'static> {
        match self.origin.get() {
            Ok(c) => c.location,
            Err((site, _)) => site,
        }
    }

    /// Threads in a recorded wait for this lock right now.
    pub(crate) fn waiters(&self) -> u32 {
        self.cold.get().map_or(0, |c| c.waiters.load(Relaxed))
    }

    /// A snapshot of this instance's figures.
    pub(crate) fn stats(&self) -> crate::LockStats {
        let cold = self.cold.get();
        let read = |f: fn(&Cold) -> u64| cold.map_or(0, f);
        crate::LockStats {
            id: self.id.load(Relaxed),
            acquisitions: self.acquisitions.load(Relaxed),
            contentions: read(|c| c.contentions.load(Relaxed)),
            waiters: read(|c| u64::from(c.waiters.load(Relaxed))),
            max_waiters: read(|c| u64::from(c.max_waiters.load(Relaxed))),
            holder: self.holder.load(Relaxed),
        }
    }
}

impl Drop for LockMeta {
    fn drop(&mut self) {
        if *self.id.get_mut() != 0 {
            let total = *self.acquisitions.get_mut();
            self.publish(total);
            if self.kind() == LockKind::Semaphore {
                let cap = self.capacity_i64();
                self.class().counters.pool_capacity.fetch_sub(cap, Relaxed);
            }
        }
    }
}
