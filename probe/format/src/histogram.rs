//! Log-linear latency histograms: exact below 16 ns, then eight sub-buckets per power of two,
//! so every recorded value is within 12.5 % of the bucket that holds it. The same bucket math
//! is used by the probe's lock-free histograms and by the viewer.

use crate::varint::{Cursor, put_u64};

/// Number of buckets: 16 exact ones, then 8 per power of two from 2^4 to 2^63.
pub const BUCKETS: usize = 16 + 60 * 8;

/// The bucket that holds `v`.
#[inline]
pub fn bucket_of(v: u64) -> usize {
    if v < 16 {
        return v as usize;
    }
    let e = 63 - v.leading_zeros() as usize; // 4..=63
    let sub = ((v >> (e - 3)) & 7) as usize;
    16 + (e - 4) * 8 + sub
}

/// The smallest and largest value that land in bucket `b`.
pub fn bucket_bounds(b: usize) -> (u64, u64) {
    if b < 16 {
        return (b as u64, b as u64);
    }
    let e = (b - 16) / 8 + 4;
    let sub = ((b - 16) % 8) as u64;
    let low = (8 + sub) << (e - 3);
    let width = 1u64 << (e - 3);
    (low, low.saturating_add(width - 1))
}

/// A plain (single-owner) histogram of nanosecond values.
#[derive(Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    total: u64,
    max: u64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count)
            .field("total", &self.total)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            total: 0,
            max: 0,
        }
    }
}

/// The summary the report prints: percentiles, max and total, all in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Summary {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest value recorded (exact).
    pub max: u64,
    /// Sum of all values recorded (exact).
    pub total: u64,
}

impl Histogram {
    /// Records one value.
    pub fn record(&mut self, v: u64) {
        self.record_n(v, 1);
    }

    /// Records `n` occurrences of `v`.
    pub fn record_n(&mut self, v: u64, n: u64) {
        self.counts[bucket_of(v)] += n;
        self.count += n;
        self.total = self.total.saturating_add(v.saturating_mul(n));
        self.max = self.max.max(v);
    }

    /// Builds a histogram from raw parts (bucket counts, total and max), as the probe's
    /// lock-free histograms snapshot themselves.
    pub fn from_parts(counts: &[u64], total: u64, max: u64) -> Self {
        let mut h = Histogram::default();
        for (b, &c) in counts.iter().enumerate().take(BUCKETS) {
            h.counts[b] = c;
            h.count += c;
        }
        h.total = total;
        h.max = max;
        h
    }

    /// Every count (and the total) multiplied by `k`: a sample of one value in `k` scaled up
    /// to stand for every value.
    pub fn scaled(&self, k: u64) -> Histogram {
        let mut h = self.clone();
        for c in &mut h.counts {
            *c = c.saturating_mul(k);
        }
        h.count = h.count.saturating_mul(k);
        h.total = h.total.saturating_mul(k);
        h
    }

    /// Adds every value of `other` into `self`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.total = self.total.saturating_add(other.total);
        self.max = self.max.max(other.max);
    }

    /// How many values lie in buckets that end at or below `bound`: exact when `bound + 1` is
    /// a bucket edge (any power of two from 16 on), else short by the bucket `bound` falls in.
    pub fn count_at_most(&self, bound: u64) -> u64 {
        self.counts
            .iter()
            .enumerate()
            .take_while(|&(b, _)| bucket_bounds(b).1 <= bound)
            .map(|(_, &c)| c)
            .sum()
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of the values recorded.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Largest value recorded.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0.0..=1.0): the upper bound of the bucket holding it,
    /// never above the exact maximum. 0 for an empty histogram.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_bounds(b).1.min(self.max);
            }
        }
        self.max
    }

    /// p50, p90, p99, max and total.
    pub fn summary(&self) -> Summary {
        Summary {
            p50: self.quantile(0.50),
            p90: self.quantile(0.90),
            p99: self.quantile(0.99),
            max: self.max,
            total: self.total,
        }
    }

    /// Appends the sparse encoding: non-empty bucket count, then (bucket delta, count) pairs,
    /// then total and max.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let nonzero = self.counts.iter().filter(|&&c| c != 0).count();
        put_u64(out, nonzero as u64);
        let mut prev = 0;
        for (b, &c) in self.counts.iter().enumerate().filter(|(_, c)| **c != 0) {
            put_u64(out, (b - prev) as u64);
            put_u64(out, c);
            prev = b;
        }
        put_u64(out, self.total);
        put_u64(out, self.max);
    }

    /// Reads the sparse encoding written by [`Histogram::encode`].
    pub fn decode(c: &mut Cursor<'_>) -> Option<Histogram> {
        let mut h = Histogram::default();
        let n = c.count()?;
        let mut b = 0usize;
        for _ in 0..n {
            b = b.checked_add(usize::try_from(c.u64()?).ok()?)?;
            let count = c.u64()?;
            let bucket = h.counts.get_mut(b)?;
            *bucket = bucket.checked_add(count)?;
            h.count = h.count.checked_add(count)?;
        }
        h.total = c.u64()?;
        h.max = c.u64()?;
        Some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_at_most_is_exact_at_powers_of_two() {
        let mut h = Histogram::default();
        for v in [3, 1000, 1023, 1024, 5000, 1 << 20] {
            h.record(v);
        }
        assert_eq!(h.count_at_most(1023), 3);
        assert_eq!(h.count_at_most((1 << 20) - 1), 5);
        assert_eq!(h.count_at_most(u64::MAX), 6);
        assert_eq!(h.count_at_most(2), 0);
    }

    #[test]
    fn every_value_lands_in_a_bucket_whose_bounds_hold_it() {
        let mut v = 1u64;
        while v < u64::MAX / 3 {
            for x in [v - 1, v, v + 1, v * 3 / 2] {
                let (lo, hi) = bucket_bounds(bucket_of(x));
                assert!(lo <= x && x <= hi, "{x} not in [{lo}, {hi}]");
                assert!(hi - lo <= lo / 8 + 1, "bucket too wide at {x}");
            }
            v *= 2;
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_are_within_one_bucket_of_exact() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v * 100);
        }
        let s = h.summary();
        for (got, exact) in [(s.p50, 500_000u64), (s.p90, 900_000), (s.p99, 990_000)] {
            assert!(got >= exact && got <= exact + exact / 8, "{got} vs {exact}");
        }
        assert_eq!(s.max, 1_000_000);
        assert_eq!(s.total, (1..=10_000u64).map(|v| v * 100).sum::<u64>());
    }

    #[test]
    fn sparse_encoding_round_trips() {
        let mut h = Histogram::default();
        for v in [0, 3, 17, 1_000, 1_000, 55_555_555, u64::MAX] {
            h.record(v);
        }
        let mut buf = Vec::new();
        h.encode(&mut buf);
        let back = Histogram::decode(&mut Cursor::new(&buf)).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn empty_histogram_summarises_to_zero() {
        assert_eq!(Histogram::default().summary(), Summary::default());
    }
}
