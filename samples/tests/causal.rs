//! The causal sample's promise, in a test binary of its own so no other test competes for the
//! CPU while it measures: of a lock on every request's path and a busier one no request waits
//! for, the experiments rank the first clearly above the second and predict a gain for it,
//! or the report warns that the machine was too loaded to rank them.
//! (How close the prediction comes to the real gain of `--shorter` is measured in the
//! README's performance section, not asserted: it depends on the machine being idle.)

use std::process::Command;

/// One run of the sample with causal experiments: its report's causal rows, and whether the
/// report flags the run as oversubscribed.
fn causal_run(
    dir: &std::path::Path,
    run: u32,
) -> (Vec<lockscope_viewer::cli::causal::CausalRow>, bool) {
    let trace = dir.join(format!("causal-{run}.lstrace"));
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
    let flagged = model.causal_profile().oversubscribed();
    (lockscope_viewer::cli::causal::rows(&model), flagged)
}

/// Whether `rows` rank `queue` first and clearly above `stats`, with a predicted gain for
/// halving queue's sections; otherwise what they show instead.
fn ranks_queue_first(rows: &[lockscope_viewer::cli::causal::CausalRow]) -> Result<(), String> {
    let impact = |lock: &str| {
        (rows.iter().find(|row| row.lock == lock))
            .map(|row| row.impact)
            .ok_or_else(|| format!("no {lock} row in {rows:#?}"))
    };
    let change = |lock: &str, s: u64| {
        rows.iter()
            .find(|row| row.lock == lock && row.speedup_pct == s)
            .map(|row| row.throughput_change_pct)
    };
    let (queue, stats) = (impact("queue")?, impact("stats")?);
    if rows[0].lock != "queue" || queue <= stats + 0.2 {
        return Err(format!(
            "queue {queue} against stats {stats}, {} first: {rows:#?}",
            rows[0].lock
        ));
    }
    match change("queue", 50) {
        Some(gain) if gain > 0.0 => Ok(()),
        other => Err(format!(
            "halving queue's sections predicts no gain: {other:?}"
        )),
    }
}

/// Pausing the other threads is how an experiment speeds a lock up, and on a machine other
/// programs load it also hands the sample's threads CPU they lacked, which blurs the ranking;
/// the report says so ("oversubscribed"). So: a run that ranks wrong without that warning
/// fails the test; a run the report flags is run again, up to three runs; and three flagged
/// runs pass only because the report warned each time that its ranking could not be trusted.
#[test]
fn the_lock_on_every_requests_path_ranks_above_the_busier_lock_nobody_waits_for() {
    let dir = std::env::temp_dir().join(format!("lockscope-causal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for run in 1..=3 {
        let (rows, flagged) = causal_run(&dir, run);
        match ranks_queue_first(&rows) {
            Ok(()) => break,
            Err(why) if flagged => eprintln!("run {run}, flagged oversubscribed: {why}"),
            Err(why) => panic!("a wrong ranking the report did not warn about: {why}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
