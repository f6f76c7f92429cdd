//! [`check_deadlock`]: parking_lot 0.12's `deadlock::check_deadlock`, answered by lockscope's
//! wait-for graph, which sees every instrumented lock, condvar-free semaphore and task wait,
//! not only parking_lot's.

use crate::DeadlockReport;

/// One thread (or task) of a deadlock cycle, as parking_lot's `DeadlockedThread`.
#[derive(Debug, Clone)]
pub struct DeadlockedThread {
    id: usize,
    backtrace: Backtrace,
    report: DeadlockReport,
}

impl DeadlockedThread {
    /// The lockscope actor id of the thread or task (the `actor N` of reports and traces).
    pub fn thread_id(&self) -> usize {
        self.id
    }

    /// The stack it waits at.
    pub fn backtrace(&self) -> &Backtrace {
        &self.backtrace
    }

    /// The whole report of its cycle: every participant, what it waits for and holds.
    pub fn report(&self) -> &DeadlockReport {
        &self.report
    }
}

/// The wait stack of a deadlocked thread, resolved to `function (file:line)` frames.
#[derive(Clone, PartialEq, Eq)]
pub struct Backtrace {
    /// The thread or task's name.
    pub name: String,
    /// Frames, innermost first.
    pub frames: Vec<String>,
}

impl std::fmt::Debug for Backtrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{:?}:", self.name)?;
        for frame in &self.frames {
            writeln!(f, "  {frame}")?;
        }
        Ok(())
    }
}

/// Every deadlock found since the last call, each a list of the threads and tasks in its
/// cycle (parking_lot's `deadlock::check_deadlock`, with lockscope's detector behind it).
/// lockscope also reports deadlocks by itself, the moment a cycle closes
/// ([`crate::on_deadlock`]); this is for code written against parking_lot's API.
pub fn check_deadlock() -> Vec<Vec<DeadlockedThread>> {
    crate::detect::poll_deadlocks()
        .into_iter()
        .map(|report| {
            report
                .participants
                .iter()
                .map(|p| DeadlockedThread {
                    id: usize::try_from(p.actor).unwrap_or(usize::MAX),
                    backtrace: Backtrace {
                        name: p.name.clone(),
                        frames: p.stack.clone(),
                    },
                    report: report.clone(),
                })
                .collect()
        })
        .collect()
}
