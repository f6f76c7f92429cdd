//! Colours and number formats shared by the panels.

use egui::Color32;

/// Waiting (Tracy's red).
pub const WAIT: Color32 = Color32::from_rgb(214, 62, 62);
/// Holding while others wait (yellow).
pub const HOLD_CONTENDED: Color32 = Color32::from_rgb(226, 186, 48);
/// Holding (green).
pub const HOLD: Color32 = Color32::from_rgb(72, 166, 88);
/// Warnings.
pub const WARN: Color32 = Color32::from_rgb(230, 160, 40);
/// A deadlock cycle.
pub const CYCLE: Color32 = Color32::from_rgb(255, 70, 70);

/// Nanoseconds in a human unit.
pub fn ns(v: u64) -> String {
    crate::units::ns(v)
}

/// A signed change in nanoseconds, `+1.20 ms` / `−3.00 µs` / `0`.
pub fn signed_ns(v: i128) -> String {
    let mag = ns(u64::try_from(v.unsigned_abs()).unwrap_or(u64::MAX));
    match v.signum() {
        1 => format!("+{mag}"),
        -1 => format!("−{mag}"),
        _ => "0".to_owned(),
    }
}

/// A signed count, `+3` / `−2` / `0`.
pub fn signed(v: i128) -> String {
    match v.signum() {
        1 => format!("+{v}"),
        -1 => format!("−{}", v.unsigned_abs()),
        _ => "0".to_owned(),
    }
}

/// Red for worse (more), green for better (less).
pub fn delta_color(v: i128) -> Color32 {
    match v.signum() {
        1 => WORSE,
        -1 => BETTER,
        _ => Color32::GRAY,
    }
}

/// A change for the worse (more wait) in the diff's table and flamegraph alike.
pub const WORSE: Color32 = Color32::from_rgb(220, 60, 50);
/// A change for the better (less wait): blue, told apart from red by red-green colour-blind
/// readers too.
pub const BETTER: Color32 = Color32::from_rgb(80, 140, 240);

/// A stable warm colour for a flame-graph frame name.
pub fn frame_color(name: &str, hold: bool) -> Color32 {
    let h = name.bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    });
    let v = (h % 60) as u8;
    if hold {
        Color32::from_rgb(70 + v, 150 + v / 2, 80 + v / 2)
    } else {
        Color32::from_rgb(205 + v / 2, 90 + v, 50 + v / 3)
    }
}
