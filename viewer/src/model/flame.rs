//! Flame trees as folded stacks: where actors waited (weighted by wait time) and where the
//! locks they waited for were held (weighted by hold time).

use std::collections::BTreeMap;

use super::{Hold, Model, Wait};

/// Which time a flame graph shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlameKind {
    /// Wait time of contended acquisitions, by the waiter's stack.
    Wait,
    /// Hold time of recorded holds, by the site where the holder took the lock.
    Hold,
}

/// One stack and its weight.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FoldedStack {
    /// Frames, root first; the leaf is the lock's name.
    pub frames: Vec<String>,
    /// Nanoseconds of waiting (or holding) under this stack.
    pub weight_ns: u64,
}

impl Model {
    /// The stacks of `kind`, identical stacks merged, in frame order. Waits that had not
    /// ended, and holds of zero known length, weigh nothing and are left out.
    pub fn folded_stacks(&self, kind: FlameKind) -> Vec<FoldedStack> {
        let mut merged: BTreeMap<Vec<String>, u64> = BTreeMap::new();
        let mut add = |frames: Vec<String>, ns: u64| {
            if ns > 0 {
                let w = merged.entry(frames).or_default();
                *w = w.saturating_add(ns);
            }
        };
        match kind {
            FlameKind::Wait => {
                for w in &self.waits {
                    if let Some(ns) = self.waited_ns(&w) {
                        add(self.wait_frames(&w), ns);
                    }
                }
            }
            FlameKind::Hold => {
                for h in &self.holds {
                    add(self.hold_frames(&h), self.held_ns(&h));
                }
            }
        }
        (merged.into_iter())
            .map(|(frames, weight_ns)| FoldedStack { frames, weight_ns })
            .collect()
    }

    /// A wait's frames, root first, ending with the lock name. Without a captured stack the
    /// call site of the acquisition stands in as the one frame.
    pub fn wait_frames(&self, w: &Wait<'_>) -> Vec<String> {
        let mut frames: Vec<String> = match self.stacks.get(&w.stack) {
            Some(ids) if w.stack != 0 && !ids.is_empty() => {
                ids.iter().rev().map(|&f| self.frame_name(f)).collect()
            }
            _ => vec![self.site_name(w.site)],
        };
        frames.push(self.class_name(w.class).to_owned());
        frames
    }

    /// A hold's frames: where the holder took the lock, then the lock name.
    pub fn hold_frames(&self, h: &Hold) -> Vec<String> {
        vec![self.site_name(h.site), self.class_name(h.class).to_owned()]
    }

    /// Where a flamegraph frame of this name is in the source (`file:line`): the first
    /// resolved frame of that function, or, for a lock at the leaves, where it was created.
    /// `None` when the trace does not know.
    pub fn location_of(&self, frame_name: &str) -> Option<String> {
        let frame = (self.frames.values())
            .filter(|f| f.function == frame_name && !f.file.is_empty())
            .min_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        if let Some(f) = frame {
            return Some(format!("{}:{}", f.file, f.line));
        }
        (self.classes.values())
            .find(|c| c.name == frame_name && !c.site.is_empty() && c.site != c.name)
            .map(|c| c.site.clone())
    }

    /// The display name of frame `id`: its function, else its file and line.
    pub fn frame_name(&self, id: u64) -> String {
        match self.frames.get(&id) {
            Some(f) if !f.function.is_empty() => f.function.clone(),
            Some(f) if !f.file.is_empty() => format!("{}:{}", f.file, f.line),
            _ => format!("frame #{id}"),
        }
    }

    /// A site string, or `unknown site` when it is empty.
    pub fn site_name(&self, site: u64) -> String {
        match self.text(site) {
            "" => "unknown site".to_owned(),
            s => s.to_owned(),
        }
    }
}

/// Renders stacks in the folded format flame-graph tools read: one `root;...;leaf weight`
/// line per stack. A `;` inside a frame name would split the frame, so it becomes `,`.
pub fn to_folded(stacks: &[FoldedStack]) -> String {
    let mut out = String::new();
    for s in stacks {
        for (i, f) in s.frames.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.extend(f.chars().map(|c| match c {
                ';' => ',',
                c if c.is_control() => ' ',
                c => c,
            }));
        }
        out.push(' ');
        out.push_str(&s.weight_ns.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_and_newlines_in_frames_cannot_split_a_line() {
        let s = FoldedStack {
            frames: vec!["<[u8; 4]>::f".into(), "a\nb".into()],
            weight_ns: 7,
        };
        assert_eq!(to_folded(&[s]), "<[u8, 4]>::f;a b 7\n");
    }
}
