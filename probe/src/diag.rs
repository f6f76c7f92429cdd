//! lockscope's own diagnostics: one line on stderr, prefixed `lockscope:`. The probe never
//! fails the host over its own trouble (a bad variable, a file it cannot write, a thread it
//! cannot start); it says so here and carries on. Also the reading of a `LOCKSCOPE_*`
//! variable's text, so every variable answers a bad value the same way.

/// Prints one diagnostic line about lockscope itself on stderr.
pub(crate) fn warn(msg: &str) {
    eprintln!("lockscope: {msg}");
}

/// The value of environment variable `name`; `None` when unset or empty. A value that is not
/// UTF-8 is reported and ignored.
pub(crate) fn env_var(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if v.is_empty() => None,
        Ok(v) => Some(v),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            warn(&format!(
                "{name} is not valid UTF-8 and is ignored; set it to a plain value."
            ));
            None
        }
    }
}

/// Reads an on/off variable that is off unless set (`1`/`true`/`on`/`yes` or
/// `0`/`false`/`off`/`no`, any case); any other value is reported and taken as off.
pub(crate) fn env_flag(name: &str) -> bool {
    match env_var(name).map(|v| parse_flag(name, &v, false)) {
        None => false,
        Some(Ok(on)) => on,
        Some(Err(e)) => {
            warn(&e);
            false
        }
    }
}

/// Parses an on/off value of variable `name`; the error names the variable, the spellings and
/// what it stays at (`default`).
pub(crate) fn parse_flag(name: &str, v: &str, default: bool) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" => Ok(false),
        _ => Err(format!(
            "{name}={v:?} is not understood; use {name}=1 (or true, on, yes) to switch it on or {name}=0 (or false, off, no) to switch it off. It stays {}.",
            if default { "on" } else { "off" }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_off_variables_accept_the_usual_spellings_and_name_the_fix_for_others() {
        for on in ["1", "true", "ON", " yes "] {
            assert_eq!(
                parse_flag("LOCKSCOPE_LIVE_ANY", on, false),
                Ok(true),
                "{on}"
            );
        }
        for off in ["0", "false", "Off", "no"] {
            assert_eq!(
                parse_flag("LOCKSCOPE_LIVE_ANY", off, true),
                Ok(false),
                "{off}"
            );
        }
        let e = parse_flag("LOCKSCOPE_LIVE_ANY", "2", false).unwrap_err();
        assert!(
            e.contains("LOCKSCOPE_LIVE_ANY=\"2\"") && e.contains("LOCKSCOPE_LIVE_ANY=1"),
            "{e}"
        );
        assert!(e.ends_with("It stays off."), "{e}");
        let e = parse_flag("LOCKSCOPE", "maybe", true).unwrap_err();
        assert!(e.ends_with("It stays on."), "{e}");
    }
}
