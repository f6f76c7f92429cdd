//! Converters from a [`Model`] to the formats other tools read: folded stacks, flame-graph
//! SVG, Chrome trace-event JSON, pprof and the lock table as CSV. No GUI code: the desktop viewer's export buttons
//! use the same functions as `lockscope export`.

mod chrome;
mod csv;
mod pprof;
pub mod proto;

pub use chrome::chrome_trace;
pub use csv::{LOCK_COLUMNS, locks_csv};
pub use pprof::{ProfileKind, SAMPLE_TYPES, pprof_bytes, pprof_bytes_of, profile, profile_of};

use crate::model::flame::to_folded;
use crate::model::{FlameKind, Model};

/// Folded stacks (`root;...;lock weight_ns` lines) of `kind`.
pub fn folded(m: &Model, kind: FlameKind) -> String {
    to_folded(&m.folded_stacks(kind))
}

/// A flame graph of `kind` as SVG (drawn by inferno, behind the `svg` feature). `None` when
/// there is nothing to draw (no wait ended, or no hold was recorded).
#[cfg(feature = "svg")]
pub fn flamegraph_svg(
    m: &Model,
    kind: FlameKind,
    title: Option<&str>,
) -> std::io::Result<Option<Vec<u8>>> {
    let stacks = m.folded_stacks(kind);
    if stacks.is_empty() {
        return Ok(None);
    }
    let text = to_folded(&stacks);
    let mut opt = inferno::flamegraph::Options::default();
    let pid = m.header.map_or(0, |h| h.pid);
    opt.title = match title {
        Some(t) => t.to_owned(),
        None => match kind {
            FlameKind::Wait => format!("Lock wait time by waiter stack (pid {pid})"),
            FlameKind::Hold => format!("Lock hold time by holder site (pid {pid})"),
        },
    };
    opt.subtitle = Some(match kind {
        FlameKind::Wait => {
            "Leaves are the locks waited for; widths are nanoseconds of waiting".to_owned()
        }
        FlameKind::Hold => {
            "Leaves are the locks held; widths are nanoseconds of recorded holds".to_owned()
        }
    });
    opt.count_name = "ns".to_owned();
    opt.name_type = "Frame:".to_owned();
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut opt, text.lines(), &mut svg)?;
    Ok(Some(svg))
}

/// Built without the `svg` feature: an [`std::io::ErrorKind::Unsupported`] error that names the
/// feature, so `lockscope flamegraph` says how to get it. (Folded stacks still feed inferno or
/// flamegraph.pl outside this binary.)
#[cfg(not(feature = "svg"))]
pub fn flamegraph_svg(
    _m: &Model,
    _kind: FlameKind,
    _title: Option<&str>,
) -> std::io::Result<Option<Vec<u8>>> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "this lockscope was built without its `svg` feature (inferno, CDDL-1.0); rebuild with \
         `--features svg` (on by default), or write folded stacks with \
         `lockscope export --format folded` and draw them with inferno or flamegraph.pl",
    ))
}
