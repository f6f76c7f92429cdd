//! lockscope probe (work in progress)
pub mod format;
