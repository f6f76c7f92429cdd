//! Whether a desktop file chooser can open here (Browse… says so where none can).

/// Whether the desktop's file chooser can open: rfd asks the XDG desktop portal over the
/// D-Bus session bus, else runs zenity.
pub(super) fn available() -> bool {
    chooser_in(
        std::env::var_os("PATH").as_deref(),
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
    )
}

/// [`available`] for a given `PATH` and session bus.
fn chooser_in(path: Option<&std::ffi::OsStr>, session_bus: bool) -> bool {
    let zenity = path.is_some_and(|p| std::env::split_paths(p).any(|d| d.join("zenity").is_file()));
    zenity || session_bus
}

#[cfg(test)]
mod tests {
    use super::chooser_in;

    #[test]
    fn browse_knows_when_no_file_chooser_can_open() {
        let dir = std::env::temp_dir().join(format!("lockscope-chooser-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = std::env::join_paths([&dir]).unwrap();
        assert!(!chooser_in(Some(&path), false), "no portal, no zenity");
        assert!(chooser_in(Some(&path), true), "a session bus: the portal");
        std::fs::write(dir.join("zenity"), b"").unwrap();
        assert!(chooser_in(Some(&path), false), "zenity on the PATH");
        assert!(!chooser_in(None, false));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
