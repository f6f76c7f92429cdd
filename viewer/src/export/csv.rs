//! The lock table as CSV (RFC 4180), one row per lock class, the same rows and figures as
//! `lockscope report` and the Locks panel, for spreadsheets and scripts.

use crate::model::Model;

/// The columns, in order.
pub const LOCK_COLUMNS: [&str; 21] = [
    "lock",
    "kind",
    "site",
    "instances",
    "acquisitions",
    "contentions",
    "contention_pct",
    "still_waiting",
    "gave_up",
    "max_waiters",
    "wait_p50_ns",
    "wait_p90_ns",
    "wait_p99_ns",
    "wait_max_ns",
    "wait_total_ns",
    "hold_p50_ns",
    "hold_p90_ns",
    "hold_p99_ns",
    "hold_max_ns",
    "hold_total_ns",
    "figures_from",
];

/// One field, quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The lock table of `m` (narrowed or whole) as CSV, a header line first, most total wait
/// first.
pub fn locks_csv(m: &Model) -> String {
    let mut out = LOCK_COLUMNS.join(",");
    out.push_str("\r\n");
    for r in m.lock_rows() {
        let (w, h) = (r.wait_summary(), r.hold_summary());
        let cells = [
            field(&r.name),
            r.kind.map_or("unknown", |k| k.as_str()).to_owned(),
            field(&r.site),
            r.instances.to_string(),
            r.acquisitions.to_string(),
            r.contentions.to_string(),
            format!("{:.2}", r.contention_pct()),
            r.still_waiting.to_string(),
            r.gave_up.to_string(),
            r.max_waiters.to_string(),
            w.p50.to_string(),
            w.p90.to_string(),
            w.p99.to_string(),
            w.max.to_string(),
            w.total.to_string(),
            h.p50.to_string(),
            h.p90.to_string(),
            h.p99.to_string(),
            h.max.to_string(),
            h.total.to_string(),
            r.figures_from.as_str().to_owned(),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests_support::two_locks;

    #[test]
    fn one_row_per_lock_with_the_report_figures_and_fields_quoted() {
        let (mut m, a, _) = two_locks();
        m.classes.get_mut(&a).unwrap().name = "alpha, \"the first\"".into();
        let csv = locks_csv(&m);
        let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].split(',').count(), LOCK_COLUMNS.len());
        // beta waited 200 ns, alpha 150: most total wait first.
        assert!(lines[1].starts_with("beta,mutex,"), "{}", lines[1]);
        assert!(
            lines[2].starts_with("\"alpha, \"\"the first\"\"\",mutex,"),
            "{}",
            lines[2]
        );
        let total = LOCK_COLUMNS
            .iter()
            .position(|c| *c == "wait_total_ns")
            .unwrap();
        assert_eq!(lines[1].split(',').nth(total), Some("200"));
    }
}
