//! The causal sample's promise, in a test binary of its own so no other test competes for the
//! CPU while it measures: of a lock on every request's path and a busier one no request waits
//! for, the experiments rank the first clearly above the second and predict a gain for it.
//! (How close the prediction comes to the real gain of `--shorter` is measured in the
//! README's performance section, not asserted: it depends on the machine being idle.)

use std::process::Command;

#[test]
fn the_lock_on_every_requests_path_ranks_above_the_busier_lock_nobody_waits_for() {
    let dir = std::env::temp_dir().join(format!("lockscope-causal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("causal.lstrace");
    let o = Command::new(env!("CARGO_BIN_EXE_causal"))
        .args(["--causal", "--duration", "6", "--trace"])
        .arg(&trace)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("causal experiments on"), "{stderr}");
    // The report's JSON rows, built as `lockscope report --json` builds them.
    let model = lockscope_viewer::model::load(&trace).unwrap();
    let rows = lockscope_viewer::cli::causal::rows(&model);
    let impact = |lock: &str| {
        rows.iter()
            .find(|row| row.lock == lock)
            .map(|row| row.impact)
            .unwrap_or_else(|| panic!("no {lock} row in {rows:#?}"))
    };
    let change = |lock: &str, s: u64| {
        rows.iter()
            .find(|row| row.lock == lock && row.speedup_pct == s)
            .map(|row| row.throughput_change_pct)
    };
    assert_eq!(rows[0].lock, "queue", "queue ranks first: {rows:#?}");
    assert!(
        impact("queue") > impact("stats") + 0.2,
        "queue {} against stats {}",
        impact("queue"),
        impact("stats")
    );
    let queue = change("queue", 50).expect("queue at 50 %");
    assert!(
        queue > 0.0,
        "halving queue's sections predicts a gain: {queue}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
