//! Two one-word cells that keep a lock's metadata small: [`Origin`], a creation site that
//! later becomes the lock's class, and [`SideBox`], a lazily allocated side record that holds
//! a small number until then. Both are one pointer wide and made by `const fn`s, so locks
//! built by `const fn new` (statics) can use them.

use std::marker::PhantomData;
use std::panic::Location;
use std::sync::atomic::AtomicPtr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};

/// Low bits free in a `&Location` (it holds a pointer, so it is at least pointer-aligned).
const SITE_TAG_BITS: u32 = 3;
const _: () = assert!(align_of::<Location<'static>>() >= 1 << SITE_TAG_BITS);

/// Set on a word that points to a class rather than a site.
const IS_CLASS: usize = 1;

/// Either `(site, tag)` — a `&'static Location` and a 2-bit tag — or a `&'static C`.
///
/// Starts as a site; [`Origin::resolve`] moves it to a class once, and it stays there.
pub(crate) struct Origin<C: 'static> {
    word: AtomicPtr<u8>,
    _class: PhantomData<&'static C>,
}

impl<C: 'static> Origin<C> {
    const _ALIGNED: () = assert!(align_of::<C>() >= 2);

    /// A site with a tag (`tag < 4`).
    pub(crate) const fn site(site: &'static Location<'static>, tag: u8) -> Self {
        let () = Self::_ALIGNED;
        assert!(tag < 4);
        let p = std::ptr::from_ref(site).cast::<u8>().cast_mut();
        Origin {
            // Bit 0 stays clear (a site); bits 1–2 carry the tag.
            word: AtomicPtr::new(p.wrapping_add((tag as usize) << 1)),
            _class: PhantomData,
        }
    }

    fn class_word(class: &'static C) -> *mut u8 {
        std::ptr::from_ref(class)
            .cast::<u8>()
            .cast_mut()
            .wrapping_add(IS_CLASS)
    }

    /// The class if there is one, else the site and its tag.
    #[inline(always)]
    pub(crate) fn get(&self) -> Result<&'static C, (&'static Location<'static>, u8)> {
        decode(self.word.load(Acquire))
    }

    /// Moves a site to `class` (made from the site and tag, called at most once per caller);
    /// when another thread got there first, its class stays and is returned.
    pub(crate) fn resolve(
        &self,
        make: impl FnOnce(&'static Location<'static>, u8) -> &'static C,
    ) -> &'static C {
        let cur = self.word.load(Acquire);
        let (site, tag) = match decode::<C>(cur) {
            Ok(c) => return c,
            Err(st) => st,
        };
        let class = make(site, tag);
        match self
            .word
            .compare_exchange(cur, Self::class_word(class), AcqRel, Acquire)
        {
            Ok(_) => class,
            Err(won) => decode(won).unwrap_or(class),
        }
    }
}

#[inline(always)]
fn decode<C: 'static>(w: *mut u8) -> Result<&'static C, (&'static Location<'static>, u8)> {
    let addr = w.addr();
    if addr & IS_CLASS != 0 {
        // SAFETY: a word with `IS_CLASS` set was made by `class_word` from a `&'static C`
        // (the only writer of such words); clearing the bit gives that reference back.
        Ok(unsafe { &*w.wrapping_sub(IS_CLASS).cast::<C>() })
    } else {
        let tag = (addr >> 1) & 0b11;
        // SAFETY: a word without `IS_CLASS` was made by `Origin::site` from a
        // `&'static Location` plus `tag << 1`, which its alignment leaves room for.
        let site = unsafe { &*w.wrapping_sub(tag << 1).cast::<Location<'static>>() };
        Err((site, tag as u8))
    }
}

/// A `Box<T>` made on first use, which holds a number (`seed`, up to `usize::MAX >> 1`) until
/// then: the seed is handed to the initialiser. Freed on drop.
pub(crate) struct SideBox<T> {
    word: AtomicPtr<T>,
}

impl<T> SideBox<T> {
    /// Empty, with `seed` kept for the initialiser.
    pub(crate) const fn with_seed(seed: usize) -> Self {
        let seed = if seed > usize::MAX >> 1 {
            usize::MAX >> 1
        } else {
            seed
        };
        const { assert!(align_of::<T>() >= 2) };
        SideBox {
            word: AtomicPtr::new(std::ptr::without_provenance_mut((seed << 1) | 1)),
        }
    }

    /// The value, if it was made.
    #[inline(always)]
    pub(crate) fn get(&self) -> Option<&T> {
        let p = self.word.load(Acquire);
        if p.addr() & 1 != 0 {
            return None;
        }
        // SAFETY: an even word is a pointer from `Box::into_raw` in `get_or_init`, published
        // with `Release`; the box lives until `drop`, which needs `&mut self`.
        Some(unsafe { &*p })
    }

    /// The seed, while the value is not made yet.
    pub(crate) fn seed(&self) -> Option<usize> {
        let w = self.word.load(Acquire).addr();
        (w & 1 != 0).then_some(w >> 1)
    }

    /// The value, made from the seed by `make` if it is not there yet (a thread that loses
    /// the race to publish its value drops it and uses the winner's).
    pub(crate) fn get_or_init(&self, make: impl FnOnce(usize) -> T) -> &T {
        let cur = self.word.load(Acquire);
        if cur.addr() & 1 == 0 {
            // SAFETY: as in `get`.
            return unsafe { &*cur };
        }
        let new = Box::into_raw(Box::new(make(cur.addr() >> 1)));
        match self.word.compare_exchange(cur, new, Release, Acquire) {
            // SAFETY: just published; lives until `drop`.
            Ok(_) => unsafe { &*new },
            Err(won) => {
                // SAFETY: `new` came from `Box::into_raw` above and was never published.
                drop(unsafe { Box::from_raw(new) });
                // SAFETY: only `get_or_init` replaces a seed, and only with a box pointer.
                unsafe { &*won }
            }
        }
    }
}

impl<T> Drop for SideBox<T> {
    fn drop(&mut self) {
        let p = *self.word.get_mut();
        if p.addr() & 1 == 0 {
            // SAFETY: an even word is a box made by `get_or_init`, and `&mut self` means no
            // reference from `get` outlives this.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

// SAFETY: a `SideBox<T>` owns a `T` (like `Box<T>`) and hands out `&T` only.
unsafe impl<T: Send + Sync> Sync for SideBox<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for SideBox<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(align(8))]
    struct Class(u32);

    #[test]
    fn an_origin_keeps_its_site_and_tag_until_it_becomes_a_class() {
        static A: Class = Class(7);
        static B: Class = Class(9);
        let here = Location::caller();
        for tag in 0..4 {
            let o: Origin<Class> = Origin::site(here, tag);
            let Err((site, t)) = o.get() else {
                panic!("a site")
            };
            assert!(std::ptr::eq(site, here));
            assert_eq!(t, tag);
            let c = o.resolve(|s, t| {
                assert!(std::ptr::eq(s, here));
                assert_eq!(t, tag);
                &A
            });
            assert_eq!(c.0, 7);
            // Resolved once: a second resolve keeps the first class.
            assert_eq!(o.resolve(|_, _| &B).0, 7);
            assert!(matches!(o.get(), Ok(c) if c.0 == 7));
        }
    }

    #[test]
    fn a_side_box_hands_its_seed_to_the_first_initialiser_only() {
        let b: SideBox<u64> = SideBox::with_seed(41);
        assert!(b.get().is_none());
        assert_eq!(b.seed(), Some(41));
        assert_eq!(*b.get_or_init(|s| s as u64 + 1), 42);
        assert_eq!(*b.get_or_init(|_| 0), 42);
        assert_eq!(b.get().copied(), Some(42));
        assert_eq!(b.seed(), None);
        let big: SideBox<u64> = SideBox::with_seed(usize::MAX);
        assert_eq!(big.seed(), Some(usize::MAX >> 1));
    }

    #[test]
    fn racing_initialisers_agree_on_one_value() {
        let b: SideBox<std::thread::ThreadId> = SideBox::with_seed(0);
        let ids: Vec<_> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| s.spawn(|| *b.get_or_init(|_| std::thread::current().id())))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.iter().all(|i| *i == ids[0]));
    }
}
