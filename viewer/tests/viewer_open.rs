//! Opening traces in the desktop viewer without a window: by path box, drag and drop and
//! first look; bad, truncated, damaged and large traces; background loading.

mod support;

use egui::accesskit::Role;
use egui::vec2;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use lockscope_format::{LockKind, Record};
use lockscope_viewer::app::{FirstLook, ViewerApp};
use lockscope_viewer::panels::Panel;
use lockscope_viewer::source::Source;
use support::ui::{open_panel, open_panel_then_wait, shows, type_into, viewer};
use support::{TraceBuilder, bank, write};

#[test]
fn a_file_that_is_not_a_trace_shows_the_reason_in_the_window() {
    let h = viewer(&[("ui-garbage.lst", b"hello, not a trace at all".to_vec())]);
    assert!(shows(&h, "This trace could not be opened"));
    assert!(shows(&h, "not a lockscope trace"));
}

#[test]
fn opening_by_path_box_loads_the_trace_in_a_new_tab() {
    let path = write("ui-path-box.lst", &bank().0.bytes());
    let mut h = viewer(&[]);
    assert!(shows(&h, "Open a lockscope trace"));
    type_into(&mut h, "Path to a trace file", path.to_str().unwrap());
    h.get_by_role_and_label(Role::Button, "Open").click();
    h.run();
    h.state_mut().wait_for_loads();
    h.run();
    assert!(shows(&h, "ui-path-box.lst"));
    assert!(shows(&h, "Most contended locks"));
}

#[test]
fn a_trace_can_open_on_a_chosen_panel_with_a_lock_selected() {
    let mut app = ViewerApp::new();
    app.first_look = FirstLook {
        panel: Panel::Locks,
        lock: Some("ledger".to_owned()),
        ..FirstLook::default()
    };
    app.open(write("ui-first-look.lst", &bank().0.bytes()), None);
    app.wait_for_loads();
    let mut h = Harness::builder()
        .with_size(vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut ViewerApp| app.show_ui(ui), app);
    h.run();
    assert!(shows(&h, "Who made ledger wait"));
}

#[test]
fn a_trace_can_open_on_a_frames_sandwich_and_a_frame_it_lacks_is_named() {
    for (frame, expect) in [
        ("bank::transfer", "Callers of bank::transfer"),
        ("no::such", "No frame named “no::such” in this view"),
    ] {
        let mut app = ViewerApp::new();
        app.first_look = FirstLook {
            frame: Some(frame.to_owned()),
            ..FirstLook::default()
        };
        app.open(write("ui-first-frame.lst", &bank().0.bytes()), None);
        app.wait_for_loads();
        let mut h = Harness::builder()
            .with_size(vec2(1400.0, 900.0))
            .build_ui_state(|ui, app: &mut ViewerApp| app.show_ui(ui), app);
        h.run();
        assert!(shows(&h, expect), "--frame {frame}");
    }
}

#[test]
fn a_large_trace_applies_a_selection_in_the_background() {
    let mut t = TraceBuilder::new();
    let worker = t.actor("worker");
    let (_, hot) = t.lock(LockKind::Mutex, "hot", "src/a.rs:1:1");
    let (_, cold) = t.lock(LockKind::Mutex, "cold", "src/b.rs:1:1");
    for i in 0..110_000u64 {
        t.hold(worker, hot, "src/a.rs:9:9", i * 100, 0, i * 100 + 40);
        t.hold(worker, cold, "src/b.rs:9:9", i * 100 + 50, 0, i * 100 + 90);
    }
    t.push(Record::End { ts_ns: 11_000_000 });
    let mut h = viewer(&[("ui-large.lst", t.bytes())]);
    open_panel(&mut h, "Locks");
    h.get_by_label("hot").click();
    // One frame (the spinner asks for more while the selection is applied); no frame has
    // polled the result yet, so this cannot race the background thread.
    h.step();
    let v = h.state_mut().active_view().unwrap();
    assert!(v.is_updating(), "a large trace narrows off the UI thread");
    v.finish_background();
    h.run();
    assert!(shows(&h, "Who made hot wait"));
    open_panel_then_wait(&mut h, "Flamegraph");
    open_panel_then_wait(&mut h, "Hold by holder site");
    assert!(h.query_by_label("src/a.rs:9:9").is_some());
    assert!(
        h.query_by_label("src/b.rs:9:9").is_none(),
        "the other lock's holds are gone"
    );
}

/// A file dropped on the window.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn dropping_a_file_on_the_window_opens_it() {
    let path = write("ui-dropped.lst", &bank().0.bytes());
    let mut h = viewer(&[]);
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path)));
    h.run();
    h.state_mut().wait_for_loads();
    h.run();
    assert_eq!(h.state().tabs.len(), 1, "one drop, one tab");
    assert!(shows(&h, "ui-dropped.lst"));
    assert!(shows(&h, "Most contended locks"));
}

#[test]
fn a_truncated_trace_opens_with_a_warning_saying_what_was_lost() {
    let mut bytes = bank().0.bytes();
    bytes.truncate(bytes.len() - 5);
    let h = viewer(&[("ui-truncated.lst", bytes)]);
    assert!(shows(&h, "is truncated at byte"));
    assert!(shows(&h, "truncated"), "the trace fact says so too");
}

#[test]
fn a_damaged_trace_opens_says_what_was_lost_and_every_panel_draws() {
    let mut bytes = bank().0.bytes();
    // Corrupt two chunks: definitions and events go missing, the rest decodes.
    for at in [bytes.len() / 3, bytes.len() * 2 / 3] {
        bytes[at] ^= 0x5a;
    }
    let mut h = viewer(&[("ui-damaged.lst", bytes)]);
    assert!(shows(&h, "damaged chunk at byte"));
    for panel in [
        "Locks",
        "Flamegraph",
        "Timeline",
        "Wait-for graph",
        "Alerts",
        "Diff",
        "Overview",
    ] {
        open_panel(&mut h, panel);
    }
    assert!(shows(&h, "damaged"), "the trace fact names the damage");
}

#[test]
fn background_loading_reports_progress_up_to_the_file_size() {
    let bytes = bank().0.bytes();
    let path = write("ui-progress.lst", &bytes);
    let loading = Source::File(path).load(|| {});
    let model = loading.wait().unwrap();
    assert_eq!(model.dropped_events, 3);
    let n = bytes.len() as u64;
    assert_eq!(loading.progress(), (n, n));
}
