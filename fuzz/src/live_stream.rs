//! The `live_stream` target: the viewer's live reader ([`LiveSession`]) fed a stream in
//! pieces, taking snapshots between them as the live view does.
//!
//! Checks: no panic; a refused stream has an error message; a snapshot's tables, lanes and
//! wait-for graph build.

use lockscope_viewer::model::Model;
use lockscope_viewer::model::live::LiveSession;

use crate::input::{pieces, with_checksums_mended};

/// Runs the checks on `data`, and on `data` with its chunk checksums mended.
pub fn check(data: &[u8]) {
    check_bytes(data);
    if let Some(mended) = with_checksums_mended(data) {
        check_bytes(&mended);
    }
}

fn check_bytes(data: &[u8]) {
    let mut s = LiveSession::new();
    for (i, piece) in pieces(data).enumerate() {
        if let Err(e) = s.feed(piece) {
            assert!(
                !e.to_string().is_empty(),
                "an error without a message: {e:?}"
            );
            return; // the reader disconnects
        }
        // The live view snapshots every 250 ms; here after pieces 1, 2, 4, 8, ...
        if (i + 1).is_power_of_two() {
            s.snapshot().as_ref().map(look);
        }
    }
    s.snapshot().as_ref().map(look);
}

/// What the live view asks of a snapshot.
fn look(m: &Model) {
    let _ = m.lock_rows();
    let _ = m.site_rows();
    let _ = m.actor_rows();
    let _ = m.lanes();
    let _ = m.wait_for_at(m.busiest_instant());
    let _ = m.still_waiting().count();
}
