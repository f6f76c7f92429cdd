//! The keyboard and mouse help: every shortcut and gesture the viewer has, in one window,
//! opened with F1 or the top bar's `?` button.

/// Keys that work everywhere.
pub(super) const KEYS: &[(&str, &str)] = &[
    ("F1", "show or hide this help"),
    (
        "Ctrl+O",
        "go to the path box, to open a trace or connect to a program",
    ),
    ("Ctrl+W", "close the current tab"),
    (
        "Escape",
        "clear the selection: every panel shows the whole trace again",
    ),
];

/// Mouse gestures, by where they work.
pub(super) const GESTURES: &[(&str, &str, &str)] = &[
    (
        "Timeline",
        "drag across the lanes",
        "select a time range: every panel shows only that stretch",
    ),
    ("Timeline", "right or middle drag, shift+scroll", "pan"),
    ("Timeline", "ctrl+scroll", "zoom in or out"),
    (
        "Locks",
        "click a lock's name",
        "select the lock: every panel shows only it",
    ),
    (
        "Locks",
        "click a column title",
        "sort by it (again: the other way)",
    ),
    (
        "Flame graph",
        "click a frame",
        "zoom into it; click it again, or Reset zoom, to go back",
    ),
    (
        "The window",
        "drop trace files on it",
        "open each in a new tab",
    ),
];

/// The help window, while `open`.
pub(super) fn help_ui(ctx: &egui::Context, open: &mut bool) {
    egui::Window::new("Keyboard and mouse")
        .open(open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            egui::Grid::new("help-keys")
                .num_columns(2)
                .striped(true)
                .show(ui, |ui| {
                    for (key, what) in KEYS {
                        ui.strong(*key);
                        ui.label(*what);
                        ui.end_row();
                    }
                });
            ui.add_space(8.0);
            egui::Grid::new("help-gestures")
                .num_columns(3)
                .striped(true)
                .show(ui, |ui| {
                    for (place, gesture, what) in GESTURES {
                        ui.label(*place);
                        ui.strong(*gesture);
                        ui.label(*what);
                        ui.end_row();
                    }
                });
        });
}
