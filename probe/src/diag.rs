//! lockscope's own diagnostics: one line on stderr, prefixed `lockscope:`. The probe never
//! fails the host over its own trouble (a bad variable, a file it cannot write, a thread it
//! cannot start); it says so here and carries on.

/// Prints one diagnostic line about lockscope itself on stderr.
pub(crate) fn warn(msg: &str) {
    eprintln!("lockscope: {msg}");
}
