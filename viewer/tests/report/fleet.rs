//! `lockscope report A B ...`: several processes' traces as one report.

use serde_json::Value;

use super::json_report;
use super::support::{bank, lockscope, stderr, stdout, write};

#[test]
fn several_processes_traces_are_one_report_with_each_process_beneath() {
    let (t, _) = bank();
    let (a, b) = (
        write("fleet-a.lst", &t.bytes_with_pid(101)),
        write("fleet-b.lst", &t.bytes_with_pid(202)),
    );
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let single = json_report("fleet-single.lst", &t.bytes());

    let out = lockscope(&["report", a, b, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["schema"], 1);
    let pids: Vec<u64> = (r["processes"].as_array().unwrap().iter())
        .map(|p| p["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids, [101, 202]);
    assert_eq!(r["dropped_events"], 6);
    // The ledger summed: twice one process's figures, the longest wait the same.
    let ledger = &r["locks"][0];
    assert_eq!(ledger["name"], "ledger");
    assert_eq!(ledger["acquisitions"], 2_000);
    assert_eq!(ledger["contentions"], 6);
    assert_eq!(ledger["wait_ns"]["total"], 206_000);
    assert_eq!(ledger["wait_ns"]["max"], 100_000);
    assert_eq!(ledger["hold_ns"]["total"], 2 * 1_200 * 8);
    let per: Vec<(u64, u64)> = (ledger["processes"].as_array().unwrap().iter())
        .map(|p| {
            (
                p["pid"].as_u64().unwrap(),
                p["acquisitions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(per, [(101, 1_000), (202, 1_000)]);
    // Every process's alert, and each trace's own report whole.
    let alerts: Vec<(u64, &str)> = (r["alerts"].as_array().unwrap().iter())
        .map(|a| (a["pid"].as_u64().unwrap(), a["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(alerts, [(101, "deadlock"), (202, "deadlock")]);
    assert_eq!(r["reports"][1]["locks"], single["locks"]);

    let out = lockscope(&["report", a, b]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("2 traces, read as one"), "{text}");
    assert!(
        text.contains("[1] ") && text.contains(": pid 101,"),
        "{text}"
    );
    let ledger_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("ledger"))
        .unwrap();
    assert!(ledger_line.contains(" 2000 "), "{ledger_line}");
    assert!(text.contains("  [2] pid 202"), "{text}");
    assert!(
        text.contains("== [2] ") && text.matches("[deadlock]").count() == 2,
        "{text}"
    );

    // The gate sees every process's alerts and names the traces.
    let out = lockscope(&["report", a, b, "--fail-on", "deadlock"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("2 alert(s)") && stderr(&out).contains(b),
        "{}",
        stderr(&out)
    );
    // Flags about one recording are refused with the reason.
    for (flag, value, why) in [
        ("--diff", a, "--diff compares"),
        ("--from", "1ms", "its own time"),
    ] {
        let out = lockscope(&["report", a, b, flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(stderr(&out).contains(why), "{}", stderr(&out));
    }
}
