//! The committed format-v1 trace (recorded from the `abba` sample deadlocking) still decodes,
//! whole, with everything a v1 trace carries. A change to the encoding that breaks old traces
//! fails here.

use lockscope::format::{self, Record};

const V1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/v1-abba-deadlock.lstrace"
);

#[test]
fn the_committed_v1_trace_decodes_completely() {
    let t = format::read_file(V1).unwrap();
    assert_eq!(t.header.version, 1);
    assert!(
        t.is_complete(),
        "truncated: {:?}, damage: {:?}",
        t.truncated,
        t.damage
    );
    let strings: Vec<&str> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::String { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    for name in ["checking", "savings", "teller-a", "teller-b"] {
        assert!(strings.contains(&name), "{name} missing from {strings:?}");
    }
    assert!(
        strings.iter().any(|s| s.contains("abba::transfer")),
        "stacks were symbolized"
    );
    let count = |f: fn(&Record) -> bool| t.records.iter().filter(|r| f(r)).count();
    assert_eq!(count(|r| matches!(r, Record::Class { .. })), 2);
    assert_eq!(
        count(|r| matches!(r, Record::WaitBegin { holders, .. } if holders.len() == 1)),
        2
    );
    assert!(count(|r| matches!(r, Record::Stack { frames, .. } if !frames.is_empty())) >= 1);
    assert!(count(|r| matches!(r, Record::ClassStats { .. })) >= 2);
    let alert = t
        .records
        .iter()
        .find_map(|r| match r {
            Record::Alert { kind, json, .. } => Some((kind.clone(), json.clone())),
            _ => None,
        })
        .expect("the deadlock alert");
    assert_eq!(alert.0, "deadlock");
    let v: serde_json::Value = serde_json::from_str(&alert.1).unwrap();
    assert_eq!(v["participants"].as_array().unwrap().len(), 2);
}

#[test]
fn the_committed_v1_trace_cut_anywhere_still_decodes_a_prefix() {
    let bytes = std::fs::read(V1).unwrap();
    let whole = format::decode(&bytes).unwrap();
    for cut in format::HEADER_LEN..bytes.len() {
        let t = format::decode(&bytes[..cut]).unwrap();
        assert_eq!(
            t.records[..],
            whole.records[..t.records.len()],
            "cut at {cut}"
        );
    }
}
