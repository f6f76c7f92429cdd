//! The small enums record bodies use: lock kinds, modes, wait outcomes, pool events, actor
//! kinds, and their codes.

use crate::varint::{Cursor, put_u64};

/// What kind of primitive a lock class is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockKind {
    /// `Mutex` (sync, std-mirror or tokio).
    Mutex,
    /// `RwLock`.
    RwLock,
    /// `Semaphore`: a counted resource, also reported as a pool.
    Semaphore,
    /// `Condvar`.
    Condvar,
}

impl LockKind {
    /// The name used in reports (`mutex`, `rwlock`, `semaphore`, `condvar`).
    pub fn as_str(self) -> &'static str {
        match self {
            LockKind::Mutex => "mutex",
            LockKind::RwLock => "rwlock",
            LockKind::Semaphore => "semaphore",
            LockKind::Condvar => "condvar",
        }
    }
    pub(crate) fn code(self) -> u64 {
        self as u64
    }
    pub(crate) fn from_code(c: u64) -> Option<Self> {
        Some(match c {
            0 => LockKind::Mutex,
            1 => LockKind::RwLock,
            2 => LockKind::Semaphore,
            3 => LockKind::Condvar,
            _ => return None,
        })
    }
}

/// A lock kind serializes as its report name ([`LockKind::as_str`]).
#[cfg(feature = "serde")]
impl serde::Serialize for LockKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How an actor asks for or holds a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Mutex lock or RwLock write.
    Exclusive,
    /// RwLock read.
    Shared,
    /// Semaphore permits.
    Permits(u32),
    /// Waiting on a condition variable.
    Condvar,
}

impl Mode {
    /// Short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Exclusive => "exclusive",
            Mode::Shared => "shared",
            Mode::Permits(_) => "permit",
            Mode::Condvar => "condvar-wait",
        }
    }
    pub(crate) fn encode(self, out: &mut Vec<u8>) {
        match self {
            Mode::Exclusive => put_u64(out, 0),
            Mode::Shared => put_u64(out, 1),
            Mode::Condvar => put_u64(out, 2),
            Mode::Permits(n) => put_u64(out, 3 + u64::from(n)),
        }
    }
    pub(crate) fn decode(c: &mut Cursor<'_>) -> Option<Self> {
        Some(match c.u64()? {
            0 => Mode::Exclusive,
            1 => Mode::Shared,
            2 => Mode::Condvar,
            n => Mode::Permits(u32::try_from(n - 3).ok()?),
        })
    }
}

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The lock (or permit, or notification) was obtained.
    Acquired,
    /// A timed wait gave up.
    TimedOut,
    /// The resource was closed (a closed semaphore).
    Closed,
}

impl Outcome {
    pub(crate) fn from_code(c: u64) -> Option<Self> {
        Some(match c {
            0 => Outcome::Acquired,
            1 => Outcome::TimedOut,
            2 => Outcome::Closed,
            _ => return None,
        })
    }
}

/// What happened to a pool (semaphore).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolEvent {
    /// Permits were taken.
    Acquire,
    /// Permits were given back.
    Release,
    /// A caller started waiting for permits.
    Wait,
    /// A timed wait gave up.
    Timeout,
    /// The pool was closed or resized (permits added or forgotten).
    Resize,
}

impl PoolEvent {
    /// Short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            PoolEvent::Acquire => "acquire",
            PoolEvent::Release => "release",
            PoolEvent::Wait => "wait",
            PoolEvent::Timeout => "timeout",
            PoolEvent::Resize => "resize",
        }
    }
    pub(crate) fn from_code(c: u64) -> Option<Self> {
        Some(match c {
            0 => PoolEvent::Acquire,
            1 => PoolEvent::Release,
            2 => PoolEvent::Wait,
            3 => PoolEvent::Timeout,
            4 => PoolEvent::Resize,
            _ => return None,
        })
    }
}

/// An actor is a thread (or, with the `tokio` feature, a task).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActorKind {
    /// An OS thread.
    Thread,
    /// An async task.
    Task,
}
