//! Human units (nanoseconds, UTC times, clipped paths) and plain-text tables: one way to
//! print a figure, shared by the text report and every panel.

/// Nanoseconds in the largest unit that keeps at least one whole digit, to three significant
/// digits: `850 ns`, `12.3 µs`, `4.56 ms`, `1.20 s`.
pub fn ns(v: u64) -> String {
    if v < 1_000 {
        return format!("{v} ns");
    }
    // A value that would round up to 1000 of a unit is shown in the next one.
    let (x, unit) = if v < 999_500 {
        (v as f64 / 1e3, "µs")
    } else if v < 999_500_000 {
        (v as f64 / 1e6, "ms")
    } else {
        (v as f64 / 1e9, "s")
    };
    let digits = if x < 9.995 {
        2
    } else if x < 99.95 {
        1
    } else {
        0
    };
    format!("{x:.digits$} {unit}")
}

/// A time with its unit, as `--from` and `--to` take it (`152ms`, `1.5s`, `250us`, `250µs`,
/// `900ns`; `0` needs none), in nanoseconds.
pub fn parse_ns(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(0);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim());
    let scale = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "" => {
            return Err(format!(
                "`{text}` has no unit: write it as 150ms, 2.5s, 300us or 900ns"
            ));
        }
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}` (use ns, us, ms or s)"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a time: write it as 150ms, 2.5s, 300us or 900ns"))?;
    let ns = (value * scale).round();
    if !ns.is_finite() || ns >= u64::MAX as f64 {
        return Err(format!("`{text}` is too large"));
    }
    Ok(ns as u64)
}

/// `ns(v)`, or `-` when nothing was measured.
pub fn ns_or_dash(v: u64, measured: bool) -> String {
    if measured { ns(v) } else { "-".to_owned() }
}

/// A Unix time in nanoseconds as `YYYY-MM-DD hh:mm:ss UTC`.
pub fn utc(unix_ns: u64) -> String {
    let secs = unix_ns / 1_000_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Shortens `s` to at most `max` characters, keeping its end (the informative part of a
/// path or site), marked with a leading `…`.
pub fn clip_left(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_owned();
    }
    let tail: String = s.chars().skip(n - max + 1).collect();
    format!("…{tail}")
}

/// A plain-text table: left-aligned text columns, right-aligned numbers, the last column
/// unpadded.
#[derive(Debug)]
pub struct Table {
    headers: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns; `right[i]` right-aligns column `i`.
    pub fn new(columns: &[(&'static str, bool)]) -> Table {
        Table {
            headers: columns.iter().map(|c| c.0).collect(),
            right: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (one cell per column).
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.headers.len());
        self.rows.push(cells);
    }

    /// Renders the table, each line indented by two spaces.
    pub fn render(&self) -> String {
        let cols = self.headers.len();
        let mut width: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        let headers: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        for r in std::iter::once(&headers).chain(&self.rows) {
            out.push(' ');
            for (i, c) in r.iter().enumerate() {
                out.push(' ');
                let pad = width[i] - c.chars().count();
                if i + 1 == cols {
                    out.push_str(c);
                } else if self.right[i] {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(c);
                    out.push(' ');
                } else {
                    out.push_str(c);
                    out.push_str(&" ".repeat(pad + 1));
                }
            }
            out.truncate(out.trim_end().len());
            out.push('\n');
        }
        out
    }
}

/// A size: bytes, KiB or MiB (the window's "saved" line; built without the window, unused).
#[cfg(feature = "gui")]
pub fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_on_the_command_line_need_a_unit() {
        assert_eq!(parse_ns("152ms"), Ok(152_000_000));
        assert_eq!(parse_ns("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_ns("250us"), Ok(250_000));
        assert_eq!(parse_ns("250 µs"), Ok(250_000));
        assert_eq!(parse_ns("900ns"), Ok(900));
        assert_eq!(parse_ns("0"), Ok(0));
        assert!(parse_ns("152").unwrap_err().contains("no unit"));
        assert!(parse_ns("3min").unwrap_err().contains("unknown unit `min`"));
        assert!(parse_ns("ms").unwrap_err().contains("not a time"));
        assert!(parse_ns("1e30s").is_err());
    }

    #[test]
    fn durations_use_the_largest_unit_with_three_digits() {
        assert_eq!(ns(0), "0 ns");
        assert_eq!(ns(999), "999 ns");
        assert_eq!(ns(1_000), "1.00 µs");
        assert_eq!(ns(12_345), "12.3 µs");
        assert_eq!(ns(999_960), "1.00 ms");
        assert_eq!(ns(999_499), "999 µs");
        assert_eq!(ns(4_560_000), "4.56 ms");
        assert_eq!(ns(1_200_000_000), "1.20 s");
        assert_eq!(ns(125_000_000_000), "125 s");
    }

    #[test]
    fn unix_times_print_as_utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000_000_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400_000_000_000), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn long_names_keep_their_end() {
        assert_eq!(clip_left("src/very/long/path.rs:10:5", 12), "…ath.rs:10:5");
        assert_eq!(clip_left("short", 12), "short");
    }

    #[test]
    fn tables_align_columns() {
        let mut t = Table::new(&[("name", false), ("n", true), ("site", false)]);
        t.row(vec!["a".into(), "100".into(), "x.rs:1".into()]);
        t.row(vec!["long".into(), "2".into(), "y.rs:2".into()]);
        assert_eq!(
            t.render(),
            "  name    n  site\n  a     100  x.rs:1\n  long    2  y.rs:2\n"
        );
    }
}
