//! A growable list kept in fixed-size chunks.

use std::ops::Index;

/// Elements per chunk: 64 Ki, 2.5 MiB of holds.
const CHUNK: usize = 1 << 16;

/// A list of `T` in chunks of [`CHUNK`]: growing never moves what is stored (a `Vec` doubles
/// and copies everything, for a moment holding both copies), and a large trace's millions of
/// events are never one allocation.
#[derive(Clone, Debug)]
pub(super) struct Chunks<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunks<T> {
    pub(super) fn push(&mut self, v: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(v),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(v);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    pub(super) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.chunks.get_mut(i / CHUNK)?.get_mut(i % CHUNK)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// The index of the first element for which `pred` is false, `pred` being true for a
    /// prefix (as [`slice::partition_point`]).
    pub(super) fn partition_point(&self, pred: impl Fn(&T) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.get(mid).is_some_and(&pred) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

impl<T> Index<usize> for Chunks<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl<'a, T> IntoIterator for &'a Chunks<T> {
    type Item = &'a T;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'a, Vec<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.chunks.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::{CHUNK, Chunks};

    #[test]
    fn indexes_iteration_and_search_cross_chunk_boundaries() {
        let mut c = Chunks::default();
        let n = 2 * CHUNK + 3;
        (0..n).for_each(|i| c.push(i as u64 * 2));
        assert_eq!(c.len(), n);
        assert_eq!(
            (c[CHUNK - 1], c[CHUNK], c[n - 1]),
            ((CHUNK as u64 - 1) * 2, CHUNK as u64 * 2, (n as u64 - 1) * 2)
        );
        assert_eq!(c.get(n), None);
        *c.get_mut(CHUNK).unwrap() += 1;
        assert_eq!(c.iter().count(), n);
        assert_eq!((&c).into_iter().nth(CHUNK), Some(&(CHUNK as u64 * 2 + 1)));
        assert_eq!(c.partition_point(|&v| v < 2 * CHUNK as u64 + 10), CHUNK + 5);
        assert_eq!(c.partition_point(|_| true), n);
        assert_eq!(Chunks::<u64>::default().partition_point(|_| true), 0);
    }
}
