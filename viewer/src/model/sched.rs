//! Scheduler series: each thread's cumulative context switches, run-queue delay and CPU time
//! (`ThreadSched`, sampled by the probe at about 10 Hz) and the process's CPU and memory
//! (`Process`). Counts come from the last sample of a thread; rates from the differences
//! between the samples whose counts were fresh.
//!
//! The probe reads CPU time and run-queue delay at every sample but the switch counts (from
//! `/proc/self/task/<tid>/status`, costly for the kernel to produce) at most once a second
//! per thread, repeating the last counts in between. So a sample's counts are taken as fresh
//! when they changed, or when [`COUNTS_EVERY_NS`] passed since the last fresh ones; a rate is
//! the difference between two fresh samples over the time between them, so a second's
//! switches are spread over that second instead of landing on the one sample that saw them.

use lockscope_format::Record;

use super::Model;
pub use super::series::{ProcessSample, SchedLog, SchedSample};

/// One thread's scheduler figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ThreadSched {
    /// Voluntary context switches at the last sample.
    pub voluntary: u64,
    /// Involuntary context switches at the last sample.
    pub involuntary: u64,
    /// Voluntary switches per second between the first and last samples with fresh counts
    /// (`None` until the counts were refreshed once: a thread sampled for under a second).
    pub voluntary_per_s: Option<f64>,
    /// Involuntary switches per second, likewise.
    pub involuntary_per_s: Option<f64>,
    /// Run-queue delay at the last sample.
    pub run_delay_ns: u64,
    /// CPU time at the last sample.
    pub cpu_ns: u64,
    /// Samples taken.
    pub samples: u64,
}

/// Switches per second of one thread between two consecutive samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SwitchRate {
    /// The earlier sample.
    pub from_ns: u64,
    /// The later sample.
    pub to_ns: u64,
    /// Voluntary switches per second.
    pub voluntary_per_s: f64,
    /// Involuntary switches per second.
    pub involuntary_per_s: f64,
}

impl SwitchRate {
    /// Both kinds together.
    pub fn total_per_s(&self) -> f64 {
        self.voluntary_per_s + self.involuntary_per_s
    }
}

/// How often the probe's sampler refreshes a thread's switch counts.
pub const COUNTS_EVERY_NS: u64 = 1_000_000_000;

/// The samples whose switch counts were fresh (see the module docs), first sample included.
fn fresh(samples: &[SchedSample]) -> Vec<&SchedSample> {
    let mut out: Vec<&SchedSample> = Vec::new();
    for s in samples {
        let is_fresh = match out.last() {
            None => true,
            Some(p) => {
                (s.voluntary, s.involuntary) != (p.voluntary, p.involuntary)
                    || s.ts_ns.saturating_sub(p.ts_ns) >= COUNTS_EVERY_NS
            }
        };
        if is_fresh {
            out.push(s);
        }
    }
    out
}

fn per_s(count: u64, ns: u64) -> f64 {
    count as f64 * 1e9 / ns as f64
}

impl Model {
    /// Adds a `ThreadSched` or `Process` record (other records are ignored).
    pub(super) fn add_sched(&mut self, r: Record) {
        match r {
            Record::ThreadSched {
                ts_ns,
                actor,
                voluntary,
                involuntary,
                run_delay_ns,
                cpu_ns,
            } => {
                self.end_ns = self.end_ns.max(ts_ns);
                let samples = self.sched.threads.entry(actor).or_default();
                // Samples arrive in the order threads' buffers were written out, not quite in
                // time order (a thread's own last sample, written as it exits, may come before
                // the sampler's earlier ones): keep them sorted, nearly always by appending.
                let at = samples.partition_point(|s| s.ts_ns <= ts_ns);
                samples.insert(
                    at,
                    SchedSample {
                        ts_ns,
                        voluntary,
                        involuntary,
                        run_delay_ns,
                        cpu_ns,
                    },
                );
            }
            Record::Process {
                ts_ns,
                cpu_ns,
                rss_bytes,
                threads,
            } => {
                self.end_ns = self.end_ns.max(ts_ns);
                self.sched.process.push(ProcessSample {
                    ts_ns,
                    cpu_ns,
                    rss_bytes,
                    threads,
                });
            }
            _ => {}
        }
    }

    /// The share of their time the process's threads were runnable but waited for a CPU, in
    /// percent: Σ run delay / Σ (run delay + CPU time) over every sampled thread, from each
    /// one's last sample; `None` when no thread was sampled (or none ran).
    pub fn run_delay_pct(&self) -> Option<f64> {
        let (mut delay, mut cpu) = (0u128, 0u128);
        for s in self.sched.threads.values().filter_map(|s| s.last()) {
            delay += u128::from(s.run_delay_ns);
            cpu += u128::from(s.cpu_ns);
        }
        (delay + cpu > 0).then(|| delay as f64 * 100.0 / (delay + cpu) as f64)
    }

    /// The scheduler figures of `actor`, when it was sampled.
    pub fn thread_sched(&self, actor: u64) -> Option<ThreadSched> {
        let s = self.sched.threads.get(&actor)?;
        let last = s.last()?;
        let fresh = fresh(s);
        let (first, last_fresh) = (fresh.first()?, fresh.last()?);
        let span = last_fresh.ts_ns.saturating_sub(first.ts_ns);
        let rate = |f: fn(&SchedSample) -> u64| {
            (span > 0).then(|| per_s(f(last_fresh).saturating_sub(f(first)), span))
        };
        Some(ThreadSched {
            voluntary: last.voluntary,
            involuntary: last.involuntary,
            voluntary_per_s: rate(|x| x.voluntary),
            involuntary_per_s: rate(|x| x.involuntary),
            run_delay_ns: last.run_delay_ns,
            cpu_ns: last.cpu_ns,
            samples: s.len() as u64,
        })
    }

    /// The switch rate of `actor` between each pair of consecutive samples with fresh counts.
    pub fn switch_rates(&self, actor: u64) -> Vec<SwitchRate> {
        let Some(s) = self.sched.threads.get(&actor) else {
            return Vec::new();
        };
        (fresh(s).windows(2))
            .filter(|w| w[1].ts_ns > w[0].ts_ns)
            .map(|w| {
                let dt = w[1].ts_ns - w[0].ts_ns;
                SwitchRate {
                    from_ns: w[0].ts_ns,
                    to_ns: w[1].ts_ns,
                    voluntary_per_s: per_s(w[1].voluntary.saturating_sub(w[0].voluntary), dt),
                    involuntary_per_s: per_s(w[1].involuntary.saturating_sub(w[0].involuntary), dt),
                }
            })
            .collect()
    }

    /// Switches per second of every thread together, in `bins` equal bins over
    /// `[from_ns, to_ns)`. Each thread's switches between two samples are spread evenly over
    /// the time between them.
    pub fn total_switch_rate(&self, from_ns: u64, to_ns: u64, bins: usize) -> Vec<f64> {
        let mut out = vec![0.0; bins];
        if bins == 0 || to_ns <= from_ns {
            return out;
        }
        let width = (to_ns - from_ns) as f64 / bins as f64;
        for &actor in self.sched.threads.keys() {
            for r in self.switch_rates(actor) {
                let (a, b) = (r.from_ns.max(from_ns), r.to_ns.min(to_ns));
                if a >= b {
                    continue;
                }
                let first = ((a - from_ns) as f64 / width) as usize;
                let last = (((b - from_ns) as f64 / width).ceil() as usize).min(bins);
                for (i, slot) in out.iter_mut().enumerate().take(last).skip(first) {
                    let lo = from_ns as f64 + i as f64 * width;
                    let overlap = (b as f64).min(lo + width) - (a as f64).max(lo);
                    if overlap > 0.0 {
                        // rate × share of the bin it covers.
                        *slot += r.total_per_s() * overlap / width;
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use lockscope_format::Record;

    use crate::model::tests_support::{definitions, model};

    fn sample(ts_ns: u64, actor: u64, voluntary: u64, involuntary: u64) -> Record {
        Record::ThreadSched {
            ts_ns,
            actor,
            voluntary,
            involuntary,
            run_delay_ns: ts_ns / 10,
            cpu_ns: ts_ns / 2,
        }
    }

    #[test]
    fn counts_come_from_the_last_sample_and_rates_from_the_window() {
        let mut r = definitions();
        // t1: 10 voluntary and 2 involuntary switches at 0.1 s, 60 and 7 at 0.6 s.
        r.push(sample(100_000_000, 1, 10, 2));
        r.push(sample(600_000_000, 1, 60, 7));
        r.push(sample(200_000_000, 2, 5, 0));
        let m = model(r);
        let t1 = m.thread_sched(1).unwrap();
        assert_eq!((t1.voluntary, t1.involuntary, t1.samples), (60, 7, 2));
        assert_eq!(t1.voluntary_per_s, Some(100.0));
        assert_eq!(t1.involuntary_per_s, Some(10.0));
        assert_eq!((t1.run_delay_ns, t1.cpu_ns), (60_000_000, 300_000_000));
        let t2 = m.thread_sched(2).unwrap();
        assert_eq!((t2.voluntary, t2.voluntary_per_s), (5, None), "one sample");
        assert!(m.thread_sched(3).is_none());
        assert_eq!(m.end_ns, 600_000_000);
    }

    #[test]
    fn run_delay_share_is_over_every_sampled_thread_from_its_last_sample() {
        let m = model(definitions());
        assert_eq!(m.run_delay_pct(), None, "no samples, no figure");
        let mut r = definitions();
        // t1 ends at 60 ms waiting for a CPU and 300 ms on one; t2 at 20 and 100 (its
        // earlier sample does not count).
        r.push(sample(100_000_000, 2, 0, 0));
        r.push(sample(600_000_000, 1, 0, 0));
        r.push(sample(200_000_000, 2, 0, 0));
        let m = model(r);
        // (60 + 20) / (60 + 300 + 20 + 100) = 80 / 480.
        let pct = m.run_delay_pct().unwrap();
        assert!((pct - 100.0 / 6.0).abs() < 1e-9, "{pct}");
        assert!(
            !m.causal_profile().oversubscribed(),
            "17 % is under the 25 % mark"
        );
        let mut r = definitions();
        r.push(Record::ThreadSched {
            ts_ns: 1_000_000_000,
            actor: 1,
            voluntary: 0,
            involuntary: 0,
            run_delay_ns: 800_000_000,
            cpu_ns: 200_000_000,
        });
        let m = model(r);
        assert_eq!(m.run_delay_pct(), Some(80.0));
        assert!(m.causal_profile().oversubscribed());
    }

    #[test]
    fn counts_refreshed_once_a_second_are_spread_over_that_second() {
        let mut r = definitions();
        // As the probe samples: every 100 ms, switch counts refreshed once a second. t1
        // switches 10 times a second: the counts read 0 until 1 s, 10 until 2 s.
        for i in 0..=20u64 {
            let v = (i / 10) * 10;
            r.push(sample(i * 100_000_000, 1, v, 0));
        }
        // t2 is sampled for half a second only: its counts never refreshed.
        for i in 0..5u64 {
            r.push(sample(i * 100_000_000, 2, 7, 1));
        }
        let m = model(r);
        let rates: Vec<(u64, u64, f64)> = (m.switch_rates(1).iter())
            .map(|r| (r.from_ns, r.to_ns, r.voluntary_per_s))
            .collect();
        assert_eq!(
            rates,
            [
                (0, 1_000_000_000, 10.0),
                (1_000_000_000, 2_000_000_000, 10.0)
            ]
        );
        assert_eq!(m.thread_sched(1).unwrap().voluntary_per_s, Some(10.0));
        let t2 = m.thread_sched(2).unwrap();
        assert_eq!((t2.voluntary, t2.voluntary_per_s), (7, None));
        assert!(m.switch_rates(2).is_empty());
    }

    #[test]
    fn the_total_rate_spreads_each_interval_over_the_bins_it_covers() {
        let mut r = definitions();
        // t1: 100 switches over [0, 1 s); t2: 50 over [0.5 s, 1 s).
        r.push(sample(0, 1, 0, 0));
        r.push(sample(1_000_000_000, 1, 80, 20));
        r.push(sample(500_000_000, 2, 0, 0));
        r.push(sample(1_000_000_000, 2, 50, 0));
        let m = model(r);
        let rates = m.switch_rates(2);
        assert_eq!(rates.len(), 1);
        assert_eq!(rates[0].total_per_s(), 100.0);
        let total = m.total_switch_rate(0, 1_000_000_000, 4);
        assert_eq!(total, [100.0, 100.0, 200.0, 200.0]);
    }
}
