//! pprof profiles (`perftools.profiles.Profile`, the format `go tool pprof`, Pyroscope and
//! Parca read), written by hand: the viewer's exports and the probe's HTTP endpoint build
//! their profiles with the one [`ProfileWriter`], so a profile means the same from either.
//!
//! Only the writing side lives here, with the upstream `profile.proto` field numbers; repeated
//! integers are packed, as proto3 writes them. Readers decode it with any protobuf library.
//!
//! ```
//! use lockscope_format::pprof::ProfileWriter;
//! let mut w = ProfileWriter::new(&[("contentions", "count"), ("delay", "nanoseconds")], "delay");
//! let lock = w.location("lock ledger", "", 0);
//! let site = w.location("src/bank.rs:42:9", "src/bank.rs", 42);
//! w.add(vec![lock, site], &[("lock", "ledger"), ("thread", "teller-1")], &[1, 1_500]);
//! w.add(vec![lock, site], &[("lock", "ledger"), ("thread", "teller-1")], &[1, 500]);
//! let bytes = lockscope_format::pprof::gzip(&w.finish(0, 2_000_000_000, None)).unwrap();
//! assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
//! ```

use crate::varint::put_u64;
use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;

/// A sample's identity: its stack (location ids, leaf first) and its labels' string ids.
type SampleKey = (Vec<u64>, Vec<(i64, i64)>);

/// Builds one profile: interned strings, functions and locations, and samples summed by
/// stack and labels.
#[derive(Debug)]
pub struct ProfileWriter {
    strings: Vec<String>,
    string_ids: HashMap<String, i64>,
    /// (name, filename) string ids → function id.
    functions: HashMap<(i64, i64), u64>,
    function_list: Vec<(u64, i64, i64)>,
    /// (function id, line) → location id.
    locations: HashMap<(u64, i64), u64>,
    location_list: Vec<(u64, u64, i64)>,
    /// (leaf-first location ids, label (key, value) string ids) → values.
    samples: BTreeMap<SampleKey, Vec<i64>>,
    sample_types: Vec<(i64, i64)>,
    period_type: (i64, i64),
    default_type: i64,
    mapping_file: i64,
}

impl ProfileWriter {
    /// A profile with these `(type, unit)` sample types, each sample one value per type;
    /// `default_type` names the one viewers show first. The period type is
    /// `contentions/count` with period 1, as Go's mutex and block profiles have.
    pub fn new(sample_types: &[(&str, &str)], default_type: &str) -> Self {
        let mut w = ProfileWriter {
            strings: Vec::new(),
            string_ids: HashMap::new(),
            functions: HashMap::new(),
            function_list: Vec::new(),
            locations: HashMap::new(),
            location_list: Vec::new(),
            samples: BTreeMap::new(),
            sample_types: Vec::new(),
            period_type: (0, 0),
            default_type: 0,
            mapping_file: 0,
        };
        w.string("");
        w.sample_types = sample_types
            .iter()
            .map(|(t, u)| (w.string(t), w.string(u)))
            .collect();
        w.period_type = (w.string("contentions"), w.string("count"));
        w.default_type = w.string(default_type);
        w.mapping_file = w.string("lockscope");
        w
    }

    /// The string table index of `s`.
    pub fn string(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.string_ids.get(s) {
            return i;
        }
        let i = self.strings.len() as i64;
        self.strings.push(s.to_owned());
        self.string_ids.insert(s.to_owned(), i);
        i
    }

    /// The location of function `name` in `file` at `line` (0: unknown), made once.
    pub fn location(&mut self, name: &str, file: &str, line: i64) -> u64 {
        let key = (self.string(name), self.string(file));
        let next = self.function_list.len() as u64 + 1;
        let function = *self.functions.entry(key).or_insert(next);
        if function == next {
            self.function_list.push((function, key.0, key.1));
        }
        let next = self.location_list.len() as u64 + 1;
        let id = *self.locations.entry((function, line)).or_insert(next);
        if id == next {
            self.location_list.push((id, function, line));
        }
        id
    }

    /// Adds `values` (one per sample type) to the sample of `stack` (location ids, leaf
    /// first) with these string labels; equal stacks and labels are summed (saturating).
    pub fn add(&mut self, stack: Vec<u64>, labels: &[(&str, &str)], values: &[i64]) {
        let labels = labels
            .iter()
            .map(|(k, v)| (self.string(k), self.string(v)))
            .collect();
        let n = self.sample_types.len();
        let sum = self
            .samples
            .entry((stack, labels))
            .or_insert_with(|| vec![0; n]);
        for (a, b) in sum.iter_mut().zip(values) {
            *a = a.saturating_add(*b);
        }
    }

    /// How many distinct samples the profile has.
    pub fn sample_count(&self) -> usize {
        self.samples.len()
    }

    /// The encoded profile (protobuf, not compressed): `time_nanos` is when it starts (Unix
    /// time), `duration_nanos` how long it covers, `comment` an optional line for viewers.
    pub fn finish(
        mut self,
        time_nanos: i64,
        duration_nanos: i64,
        comment: Option<&str>,
    ) -> Vec<u8> {
        let comment = comment.map(|c| self.string(c));
        let mut out = Vec::new();
        let mut msg = Vec::new();
        for &(ty, unit) in &self.sample_types {
            value_type(&mut msg, ty, unit);
            field_bytes(&mut out, 1, &msg);
            msg.clear();
        }
        for ((stack, labels), values) in &self.samples {
            packed(&mut msg, 1, stack.iter().copied());
            packed(&mut msg, 2, values.iter().map(|&v| v as u64));
            let mut label = Vec::new();
            for &(k, v) in labels {
                field_varint(&mut label, 1, k as u64);
                field_varint(&mut label, 2, v as u64);
                field_bytes(&mut msg, 3, &label);
                label.clear();
            }
            field_bytes(&mut out, 2, &msg);
            msg.clear();
        }
        // One mapping for everything: functions are named, files and lines known.
        field_varint(&mut msg, 1, 1);
        field_varint(&mut msg, 5, self.mapping_file as u64);
        for has in [7, 8, 9] {
            field_varint(&mut msg, has, 1);
        }
        field_bytes(&mut out, 3, &msg);
        msg.clear();
        let mut line = Vec::new();
        for &(id, function, line_no) in &self.location_list {
            field_varint(&mut msg, 1, id);
            field_varint(&mut msg, 2, 1);
            field_varint(&mut line, 1, function);
            field_varint(&mut line, 2, line_no as u64);
            field_bytes(&mut msg, 4, &line);
            line.clear();
            field_bytes(&mut out, 4, &msg);
            msg.clear();
        }
        for &(id, name, file) in &self.function_list {
            field_varint(&mut msg, 1, id);
            field_varint(&mut msg, 2, name as u64);
            field_varint(&mut msg, 3, name as u64);
            field_varint(&mut msg, 4, file as u64);
            field_bytes(&mut out, 5, &msg);
            msg.clear();
        }
        for s in &self.strings {
            field_bytes(&mut out, 6, s.as_bytes());
        }
        field_varint(&mut out, 9, time_nanos as u64);
        field_varint(&mut out, 10, duration_nanos as u64);
        value_type(&mut msg, self.period_type.0, self.period_type.1);
        field_bytes(&mut out, 11, &msg);
        field_varint(&mut out, 12, 1);
        if let Some(c) = comment {
            packed(&mut out, 13, std::iter::once(c as u64));
        }
        field_varint(&mut out, 14, self.default_type as u64);
        out
    }
}

/// `file:line:column` → (`file`, line); the whole string and 0 when it has no line.
pub fn split_site(site: &str) -> (&str, i64) {
    let mut parts = site.rsplitn(3, ':');
    let (col, line, file) = (parts.next(), parts.next(), parts.next());
    match (
        col.map(str::parse::<u64>),
        line.map(str::parse::<i64>),
        file,
    ) {
        (Some(Ok(_)), Some(Ok(line)), Some(file)) => (file, line),
        _ => (site, 0),
    }
}

/// `bytes` gzip-compressed, as pprof profiles travel.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes)?;
    gz.finish()
}

fn value_type(out: &mut Vec<u8>, ty: i64, unit: i64) {
    field_varint(out, 1, ty as u64);
    field_varint(out, 2, unit as u64);
}

/// A varint field (wire type 0); zero is the default and is left out.
fn field_varint(out: &mut Vec<u8>, field: u64, v: u64) {
    if v != 0 {
        put_u64(out, field << 3);
        put_u64(out, v);
    }
}

/// A length-delimited field (wire type 2): a string, bytes or a sub-message.
fn field_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_u64(out, (field << 3) | 2);
    put_u64(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A packed repeated varint field.
fn packed(out: &mut Vec<u8>, field: u64, values: impl Iterator<Item = u64>) {
    let mut body = Vec::new();
    for v in values {
        put_u64(&mut body, v);
    }
    if !body.is_empty() {
        field_bytes(out, field, &body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the top-level fields of a protobuf message: (field, wire type, varint or bytes).
    fn fields(mut b: &[u8]) -> Vec<(u64, u64, u64, Vec<u8>)> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let mut r = crate::varint::Cursor::new(b);
            let key = r.u64().unwrap();
            let (v, bytes) = if key & 7 == 0 {
                (r.u64().unwrap(), Vec::new())
            } else {
                let n = r.u64().unwrap() as usize;
                (n as u64, r.bytes(n).unwrap().to_vec())
            };
            out.push((key >> 3, key & 7, v, bytes));
            b = &b[r.position()..];
        }
        out
    }

    #[test]
    fn equal_samples_are_summed_and_strings_interned_once() {
        let mut w = ProfileWriter::new(
            &[("contentions", "count"), ("delay", "nanoseconds")],
            "delay",
        );
        let a = w.location("lock a", "", 0);
        assert_eq!(w.location("lock a", "", 0), a);
        let b = w.location("f", "src/f.rs", 7);
        w.add(vec![a, b], &[("lock", "a")], &[1, 10]);
        w.add(vec![a, b], &[("lock", "a")], &[2, 5]);
        w.add(vec![a], &[("lock", "a")], &[1, 1]);
        assert_eq!(w.sample_count(), 2);
        let f = fields(&w.finish(5, 9, Some("hello")));
        let strings: Vec<String> = f
            .iter()
            .filter(|x| x.0 == 6)
            .map(|x| String::from_utf8(x.3.clone()).unwrap())
            .collect();
        assert_eq!(strings[0], "");
        for s in [
            "contentions",
            "count",
            "delay",
            "nanoseconds",
            "lock a",
            "f",
            "hello",
        ] {
            assert_eq!(strings.iter().filter(|x| *x == s).count(), 1, "{s}");
        }
        let samples: Vec<_> = f.iter().filter(|x| x.0 == 2).collect();
        assert_eq!(samples.len(), 2);
        // The two-frame sample: its packed values are 3 and 15.
        let two = samples
            .iter()
            .map(|s| fields(&s.3))
            .find(|s| s[0].3.len() == 2)
            .unwrap();
        assert_eq!(two[1].3, vec![3, 15]);
        assert_eq!(f.iter().filter(|x| x.0 == 4).count(), 2, "two locations");
        assert!(f.iter().any(|x| x.0 == 10 && x.2 == 9), "duration_nanos");
    }

    #[test]
    fn sites_split_into_file_and_line() {
        assert_eq!(split_site("src/bank.rs:42:9"), ("src/bank.rs", 42));
        assert_eq!(split_site("C:\\src\\a.rs:7:1"), ("C:\\src\\a.rs", 7));
        assert_eq!(split_site("ledger"), ("ledger", 0));
        assert_eq!(split_site("a:b:c"), ("a:b:c", 0));
    }

    #[test]
    fn gzip_round_trips() {
        let z = gzip(b"profile").unwrap();
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&z[..]), &mut back).unwrap();
        assert_eq!(back, b"profile");
    }
}
