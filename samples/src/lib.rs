//! Shared set-up for the lockscope samples: every sample records a trace and, unless
//! `LOCKSCOPE_ON_DEADLOCK` says otherwise, exits with status 86 and the report when it
//! deadlocks (instead of hanging forever).

pub mod service;

use anyhow::{Context, Result};
use std::path::Path;

/// Starts recording to `trace` and makes a deadlock end the process (status 86) unless the
/// environment chose another policy.
pub fn start(trace: &Path) -> Result<lockscope::Recording> {
    if std::env::var_os("LOCKSCOPE_ON_DEADLOCK").is_none() {
        lockscope::set_deadlock_policy(lockscope::Policy::Exit);
    }
    Ok(lockscope::Recorder::to_file(trace)
        .with_context(|| format!("recording to {}", trace.display()))?
        .start())
}
