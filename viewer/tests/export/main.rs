//! `lockscope export` and `lockscope flamegraph`: what other tools read back. The probe's own
//! profiles (its HTTP endpoint, the Pyroscope push), read back with the same checks, are in
//! `probe_profiles.rs`.

mod probe_profiles;
#[path = "../support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::io::Read as _;

use lockscope_viewer::export::proto::Profile;
use prost::Message as _;
use serde_json::Value;
use support::{bank, lockscope, scratch, stderr, stdout, write};

fn bank_file(name: &str) -> String {
    let (t, _) = bank();
    write(name, &t.bytes()).to_str().unwrap().to_owned()
}

/// Parses folded lines into (frames, weight).
fn parse_folded(text: &str) -> Vec<(Vec<String>, u64)> {
    (text.lines())
        .map(|l| {
            let (stack, weight) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("no weight in {l:?}"));
            (
                stack.split(';').map(str::to_owned).collect(),
                weight.parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn folded_wait_stacks_are_root_first_with_the_lock_as_leaf_and_inferno_reads_them() {
    let out = lockscope(&["export", &bank_file("folded.lst"), "--format", "folded"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let stacks = parse_folded(&text);
    assert_eq!(
        stacks,
        [
            (
                vec![
                    "bank::main".to_owned(),
                    "bank::transfer".into(),
                    "ledger".into()
                ],
                103_000
            ),
            (
                // 500 ns ended, plus main's wait still going at the end (100 µs).
                vec!["src/cache.rs:31:13".to_owned(), "src/cache.rs:20:9".into()],
                100_500
            ),
        ]
    );

    let mut opt = inferno::flamegraph::Options::default();
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut opt, text.lines(), &mut svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    assert!(
        svg.contains("all (203,500 samples, 100%)"),
        "inferno did not read every line"
    );
    assert!(svg.contains("bank::transfer (103,000 samples"));
}

#[test]
fn folded_hold_stacks_weigh_holds_by_the_holders_site() {
    let out = lockscope(&[
        "export",
        &bank_file("folded-hold.lst"),
        "-f",
        "folded",
        "--hold",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stacks = parse_folded(&stdout(&out));
    assert_eq!(
        stacks,
        [
            (
                vec!["src/bank.rs:41:9".to_owned(), "ledger".into()],
                2_000 + 3_000 + 101_000
            ),
            (
                vec!["src/cache.rs:30:9".to_owned(), "src/cache.rs:20:9".into()],
                600
            ),
        ]
    );
    let out = lockscope(&[
        "export",
        &bank_file("hold-chrome.lst"),
        "-f",
        "chrome",
        "--hold",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--hold applies to --format folded only"));
}

#[test]
fn flamegraph_svg_is_titled_and_names_the_locks() {
    let svg_path = scratch("waits.svg");
    let out = lockscope(&[
        "flamegraph",
        &bank_file("flame.lst"),
        "-o",
        svg_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<?xml"));
    assert!(svg.contains("Lock wait time by waiter stack (pid 4242)"));
    for name in [
        "ledger (103,000 ns",
        "src/cache.rs:20:9 (100,500 ns",
        "bank::transfer",
    ] {
        assert!(svg.contains(name), "no {name:?} in the SVG");
    }

    let hold_path = scratch("holds.svg");
    let out = lockscope(&[
        "flamegraph",
        &bank_file("flame-hold.lst"),
        "-o",
        hold_path.to_str().unwrap(),
        "--hold",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = std::fs::read_to_string(&hold_path).unwrap();
    assert!(svg.contains("Lock hold time by holder site") && svg.contains("src/bank.rs:41:9"));
}

#[test]
fn flamegraph_of_a_trace_without_contention_says_why_nothing_was_drawn() {
    let mut t = support::TraceBuilder::new();
    t.lock(lockscope_format::LockKind::Mutex, "quiet", "src/q.rs:1:1");
    let path = write("quiet.lst", &t.bytes());
    let svg = scratch("quiet.svg");
    let out = lockscope(&[
        "flamegraph",
        path.to_str().unwrap(),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("nothing to draw from")
            && stderr(&out).contains("no contended wait ended")
    );
    assert!(!svg.exists());
}

#[test]
fn chrome_trace_has_a_thread_per_actor_wait_and_hold_slices_and_flows() {
    let (t, ids) = bank();
    let path = write("chrome.lst", &t.bytes());
    let out = lockscope(&["export", path.to_str().unwrap(), "--format", "chrome"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = doc["traceEvents"].as_array().unwrap();
    let of = |ph: &str| events.iter().filter(|e| e["ph"] == ph).collect::<Vec<_>>();

    let names: HashMap<u64, &str> = (of("M").into_iter())
        .filter(|e| e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(names[&ids.main], "main");
    assert_eq!(names[&ids.worker1], "worker-1");
    assert_eq!(names[&ids.worker2], "worker-2");

    let slices = of("X");
    let waits: Vec<&&Value> = slices
        .iter()
        .filter(|e| e["name"] == "wait ledger")
        .collect();
    assert_eq!(waits.len(), 3);
    assert!(
        waits
            .iter()
            .all(|e| e["tid"] == ids.worker1 && e["cat"] == "wait")
    );
    let longest = waits
        .iter()
        .find(|e| e["ts"] == 31.0)
        .expect("timestamps are in µs");
    assert_eq!(longest["dur"], 100.0);
    let holds = slices
        .iter()
        .filter(|e| e["name"] == "hold ledger" && e["tid"] == ids.worker2)
        .count();
    assert_eq!(holds, 3);
    let still = slices.iter().find(|e| e["tid"] == ids.main).unwrap();
    assert_eq!(
        (
            still["name"].as_str(),
            still["ts"].as_f64(),
            still["dur"].as_f64()
        ),
        (Some("wait src/cache.rs:20:9"), Some(900.0), Some(100.0))
    );

    // One flow per (wait, recorded hold of its holder), from the holder's track to the waiter's.
    let (starts, ends) = (of("s"), of("f"));
    assert_eq!((starts.len(), ends.len()), (4, 4));
    for s in &starts {
        let f = ends.iter().find(|f| f["id"] == s["id"]).unwrap();
        assert_eq!(f["bp"], "e");
        let (st, ft) = (s["ts"].as_f64().unwrap(), f["ts"].as_f64().unwrap());
        let inside = |tid: &Value, ts: f64, prefix: &str| {
            (slices.iter()).any(|x| {
                x["tid"] == *tid
                    && x["name"].as_str().unwrap().starts_with(prefix)
                    && x["ts"].as_f64().unwrap() < ts
                    && ts < x["ts"].as_f64().unwrap() + x["dur"].as_f64().unwrap()
            })
        };
        assert!(
            inside(&s["tid"], st, "hold "),
            "flow start {s} not inside a hold"
        );
        assert!(
            inside(&f["tid"], ft, "wait "),
            "flow end {f} not inside a wait"
        );
    }
    assert!(
        ends.iter().any(|f| f["tid"] == ids.worker2)
            && starts.iter().any(|s| s["tid"] == ids.worker1)
    );

    let alert = of("i")[0];
    assert_eq!(alert["name"], "alert: deadlock");
    assert_eq!(doc["otherData"]["status"], "complete");
}

#[test]
fn chrome_trace_moves_holds_that_overlap_without_nesting_to_their_own_track() {
    let mut t = support::TraceBuilder::new();
    let a = t.actor("hand-over-hand");
    let (_, first) = t.lock(lockscope_format::LockKind::Mutex, "first", "src/l.rs:1:1");
    let (_, second) = t.lock(lockscope_format::LockKind::Mutex, "second", "src/l.rs:2:1");
    t.hold(a, first, "src/l.rs:10:5", 100, 0, 300);
    t.hold(a, second, "src/l.rs:11:5", 200, 0, 400);
    let path = write("overlap.lst", &t.bytes());
    let out = lockscope(&["export", path.to_str().unwrap(), "-f", "chrome"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = doc["traceEvents"].as_array().unwrap();
    let tid_of = |name: &str| {
        events.iter().find(|e| e["name"] == name).unwrap()["tid"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(tid_of("hold first"), a);
    let extra = tid_of("hold second");
    assert_ne!(extra, a);
    assert!(
        extra < u64::from(u32::MAX),
        "viewers read tids as 32-bit numbers"
    );
    let label = events
        .iter()
        .find(|e| e["name"] == "thread_name" && e["tid"] == extra)
        .unwrap();
    assert_eq!(
        label["args"]["name"],
        "hand-over-hand (overlapping holds 1)"
    );
}

/// The function name at location `id` of `p` (its first line).
pub(crate) fn function_at(p: &Profile, id: u64) -> String {
    let loc = p.location.iter().find(|l| l.id == id).unwrap();
    let f = (p.function.iter())
        .find(|f| f.id == loc.line[0].function_id)
        .unwrap();
    p.string_table[f.name as usize].clone()
}

pub(crate) fn decode_pprof(gz: &[u8]) -> Profile {
    assert_eq!(&gz[..2], [0x1f, 0x8b], "not gzip");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut raw)
        .unwrap();
    Profile::decode(raw.as_slice()).unwrap()
}

#[test]
fn pprof_decodes_back_with_the_sample_types_values_and_labels() {
    let out_path = scratch("bank.pb.gz");
    let out = lockscope(&[
        "export",
        &bank_file("pprof.lst"),
        "--format",
        "pprof",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let p = decode_pprof(&std::fs::read(&out_path).unwrap());
    let s = |i: i64| p.string_table[i as usize].as_str();
    assert_eq!(s(0), "");
    let types: Vec<(&str, &str)> = p
        .sample_type
        .iter()
        .map(|t| (s(t.r#type), s(t.unit)))
        .collect();
    assert_eq!(
        types,
        [
            ("contentions", "count"),
            ("delay", "nanoseconds"),
            ("hold", "nanoseconds")
        ]
    );
    assert_eq!(s(p.default_sample_type), "delay");

    let mut totals = [0i64; 3];
    let mut by_lock: HashMap<&str, i64> = HashMap::new();
    for sample in &p.sample {
        assert_eq!(sample.value.len(), 3);
        for (t, v) in totals.iter_mut().zip(&sample.value) {
            *t += v;
        }
        let label = |k: &str| {
            sample
                .label
                .iter()
                .find(|l| s(l.key) == k)
                .map(|l| s(l.str))
                .unwrap()
        };
        label("thread");
        *by_lock.entry(label("lock")).or_default() += sample.value[1];
        // Every location exists, and the leaf is the lock.
        assert_eq!(
            function_at(&p, sample.location_id[0]),
            format!("lock {}", label("lock"))
        );
    }
    // Waits: 4 ended (103.5 µs) and main's still going at the end (100 µs).
    assert_eq!(totals, [5, 103_500 + 100_000, 106_000 + 600]);
    assert_eq!(by_lock["ledger"], 103_000);

    let functions: Vec<&str> = p.function.iter().map(|f| s(f.name)).collect();
    assert!(functions.contains(&"bank::transfer") && functions.contains(&"bank::main"));
    let transfer = p
        .function
        .iter()
        .find(|f| s(f.name) == "bank::transfer")
        .unwrap();
    assert_eq!(s(transfer.filename), "src/bank.rs");
    assert!(
        p.location
            .iter()
            .all(|l| l.mapping_id == 1 && !l.line.is_empty())
    );
}

/// Per-profile totals: (contentions, delay) and delay by the function of the frame above the
/// lock (the waiter's innermost frame, or the holder's site).
fn go_profile(name: &str, profile: &str) -> ((i64, i64), HashMap<String, i64>) {
    let out_path = scratch(name);
    let out = lockscope(&[
        "export",
        &bank_file(&format!("{name}.lst")),
        "--format",
        "pprof",
        "--profile",
        profile,
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    go_totals(&decode_pprof(&std::fs::read(&out_path).unwrap()))
}

/// A Go mutex or block profile's totals, as [`go_profile`] gives them, after checking its
/// sample and period types.
pub(crate) fn go_totals(p: &Profile) -> ((i64, i64), HashMap<String, i64>) {
    let s = |i: i64| p.string_table[i as usize].clone();
    let types: Vec<(String, String)> = p
        .sample_type
        .iter()
        .map(|t| (s(t.r#type), s(t.unit)))
        .collect();
    // What go tool pprof, Pyroscope and Parca take for a mutex or block profile.
    let want = [("contentions", "count"), ("delay", "nanoseconds")];
    assert_eq!(types, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
    let period = p.period_type.as_ref().unwrap();
    assert_eq!(
        (s(period.r#type), s(period.unit)),
        ("contentions".into(), "count".into())
    );
    let mut totals = (0, 0);
    let mut by_frame: HashMap<String, i64> = HashMap::new();
    for sample in &p.sample {
        assert_eq!(sample.value.len(), 2);
        totals.0 += sample.value[0];
        totals.1 += sample.value[1];
        *by_frame
            .entry(function_at(p, sample.location_id[1]))
            .or_default() += sample.value[1];
    }
    (totals, by_frame)
}

#[test]
fn go_block_and_mutex_profiles_carry_the_same_delay_charged_to_waiters_and_to_holders() {
    let (block, block_frames) = go_profile("block.pb.gz", "block");
    let (mutex, mutex_frames) = go_profile("mutex.pb.gz", "mutex");
    // The same waits as the combined profile: 5 of them, 203.5 µs in all.
    assert_eq!(block, (5, 103_500 + 100_000));
    assert_eq!(mutex.1, block.1, "both profiles add up to the same delay");
    assert!(mutex.0 >= block.0, "a wait counts once per holder");
    // The block profile charges waiters' frames; the mutex profile holders' sites.
    assert!(
        block_frames.keys().any(|f| f.starts_with("bank::")),
        "{block_frames:?}"
    );
    assert!(
        mutex_frames
            .keys()
            .all(|f| f.contains(".rs:") || f == "(holder not recorded)"),
        "{mutex_frames:?}"
    );
}

#[test]
fn profile_is_refused_outside_pprof() {
    let out = lockscope(&[
        "export",
        &bank_file("profile-csv.lst"),
        "--format",
        "csv",
        "--profile",
        "mutex",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--profile applies to --format pprof only"));
}

#[test]
fn pprof_goes_to_standard_output_when_it_is_not_a_terminal() {
    let out = lockscope(&[
        "export",
        &bank_file("pprof-stdout.lst"),
        "--format",
        "pprof",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let p = decode_pprof(&out.stdout);
    assert_eq!(p.sample_type.len(), 3);
}
