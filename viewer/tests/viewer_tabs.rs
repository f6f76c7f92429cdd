//! Tabs and keys in the desktop viewer, without a window: closing and reopening tabs,
//! keyboard shortcuts, and what the viewer says when asked for what it cannot do.

mod support;

use egui::accesskit::Role;
use egui::{Event, Key, Modifiers, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use lockscope_viewer::app::{FirstLook, ViewerApp};
use lockscope_viewer::panels::Panel;
use support::ui::{open_panel, shows, viewer};
use support::{bank, write};

fn press(h: &mut Harness<'_, ViewerApp>, key: Key, modifiers: Modifiers) {
    h.event(Event::Key {
        key,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers,
    });
    h.run();
}

fn active_label(h: &Harness<'_, ViewerApp>) -> String {
    let app = h.state();
    app.tabs[app.active].source.label()
}

#[test]
fn closing_a_tab_left_of_the_shown_one_keeps_showing_it() {
    let bytes = bank().0.bytes();
    let mut h = viewer(&[
        ("tab-a.lst", bytes.clone()),
        ("tab-b.lst", bytes.clone()),
        ("tab-c.lst", bytes),
    ]);
    h.get_by_role_and_label(Role::Button, "tab-b.lst").click();
    h.run();
    assert_eq!(active_label(&h), "tab-b.lst");
    // The first tab's close button.
    h.get_all_by_label("×").next().unwrap().click();
    h.run();
    assert_eq!(h.state().tabs.len(), 2);
    assert_eq!(active_label(&h), "tab-b.lst", "the shown tab stays shown");
}

#[test]
fn opening_a_file_that_is_already_open_reloads_its_tab() {
    let path = write("tab-reopen.lst", &bank().0.bytes());
    let mut h = viewer(&[("tab-other.lst", bank().0.bytes())]);
    h.state_mut().open(path.clone(), None);
    h.state_mut().open(path.clone(), None);
    // The same file by another spelling of its path.
    let dotted = path.parent().unwrap().join(".").join("tab-reopen.lst");
    h.state_mut().open(dotted, None);
    h.state_mut().wait_for_loads();
    h.run();
    assert_eq!(h.state().tabs.len(), 2, "one tab per file");
    assert_eq!(active_label(&h), "tab-reopen.lst");
}

#[test]
fn ctrl_w_closes_the_tab_and_escape_clears_the_selection() {
    let bytes = bank().0.bytes();
    let mut h = viewer(&[("keys-a.lst", bytes.clone()), ("keys-b.lst", bytes)]);
    open_panel(&mut h, "Locks");
    h.get_by_label("ledger").click();
    h.run();
    assert!(shows(&h, "lock ledger ×"));
    press(&mut h, Key::Escape, Modifiers::NONE);
    assert!(!shows(&h, "lock ledger ×"), "Escape clears the selection");
    press(&mut h, Key::W, Modifiers::COMMAND);
    assert_eq!(h.state().tabs.len(), 1);
    assert_eq!(active_label(&h), "keys-a.lst");
}

#[test]
fn ctrl_o_goes_to_the_path_box() {
    let mut h = viewer(&[]);
    press(&mut h, Key::O, Modifiers::COMMAND);
    let path_box = h.get_by(|n| n.data().placeholder() == Some("Path to a trace file"));
    assert!(path_box.is_focused(), "Ctrl+O focuses the path box");
}

#[test]
fn a_lock_name_the_trace_lacks_is_said_with_the_names_it_has() {
    let mut app = ViewerApp::new();
    app.first_look = FirstLook {
        panel: Panel::Locks,
        lock: Some("nosuchlock".to_owned()),
        ..FirstLook::default()
    };
    app.open(write("tab-no-lock.lst", &bank().0.bytes()), None);
    app.wait_for_loads();
    let mut h = Harness::builder()
        .with_size(vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut ViewerApp| app.show_ui(ui), app);
    h.run();
    assert!(shows(
        &h,
        "--lock nosuchlock: this trace has no lock of that name, so every lock is shown"
    ));
    assert!(shows(&h, "ledger"), "the names it has are listed");
}

#[test]
fn the_lock_table_saves_as_csv_beside_the_trace() {
    let path = write("tab-csv.lst", &bank().0.bytes());
    let mut h = viewer(&[]);
    h.state_mut().open(path.clone(), None);
    h.state_mut().wait_for_loads();
    h.run();
    open_panel(&mut h, "Locks");
    h.get_by_role_and_label(Role::Button, "Save as CSV").click();
    h.run();
    let csv_path = path.with_file_name("tab-csv.lst.locks.csv");
    assert!(shows(&h, &format!("saved {}", csv_path.display())));
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("lock,kind,site,instances,acquisitions")
    );
    assert!(lines.next().unwrap().starts_with("ledger,mutex,"), "{csv}");
    // The same bytes as the command line's export.
    let out = support::lockscope(&["export", path.to_str().unwrap(), "--format", "csv"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), csv);
}

#[test]
fn f1_and_the_question_mark_show_every_shortcut_and_hide_it_again() {
    let mut h = viewer(&[]);
    assert!(!shows(&h, "Keyboard and mouse"));
    press(&mut h, Key::F1, Modifiers::NONE);
    for line in [
        "Keyboard and mouse",
        "Ctrl+W",
        "close the current tab",
        "ctrl+scroll",
        "click a frame",
    ] {
        assert!(shows(&h, line), "the help lists {line:?}");
    }
    press(&mut h, Key::F1, Modifiers::NONE);
    assert!(!shows(&h, "Keyboard and mouse"), "F1 again hides it");
    h.get_by_role_and_label(Role::Button, "?").click();
    h.run();
    assert!(shows(&h, "Keyboard and mouse"), "the ? button shows it too");
}

#[test]
fn the_processes_panel_reads_every_open_trace_as_one_with_the_reports_figures() {
    let (t, _) = bank();
    let (a, b) = (t.bytes_with_pid(101), t.bytes_with_pid(202));
    let mut h = viewer(&[("proc-a.lst", a.clone()), ("proc-b.lst", b.clone())]);
    open_panel(&mut h, "Processes");
    assert!(shows(&h, "2 processes"));
    for pid in ["[1] pid 101", "[2] pid 202"] {
        assert!(shows(&h, pid), "{pid}");
    }
    // The summed row is `lockscope report A B`'s, to the digit.
    let (pa, pb) = (write("proc-cli-a.lst", &a), write("proc-cli-b.lst", &b));
    let out = support::lockscope(&[
        "report",
        pa.to_str().unwrap(),
        pb.to_str().unwrap(),
        "--json",
    ]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ledger = &r["locks"][0];
    assert_eq!(ledger["name"], "ledger");
    let acquired = ledger["acquisitions"].as_u64().unwrap().to_string();
    let contended = ledger["contentions"].as_u64().unwrap().to_string();
    assert!(
        shows(&h, &acquired) && shows(&h, &contended),
        "{acquired} {contended}"
    );
    // Both processes' alerts, each with its process.
    assert!(shows(&h, "[1] proc-a.lst (pid 101): [deadlock]"));
    assert!(shows(&h, "[2] proc-b.lst (pid 202): [deadlock]"));
}

#[test]
fn the_flame_graph_saves_as_svg_beside_the_trace() {
    let path = write("tab-svg.lst", &bank().0.bytes());
    let mut h = viewer(&[]);
    h.state_mut().open(path.clone(), None);
    h.state_mut().wait_for_loads();
    h.run();
    open_panel(&mut h, "Flamegraph");
    h.get_by_role_and_label(Role::Button, "Save SVG").click();
    h.run();
    let svg_path = path.with_file_name("tab-svg.lst.wait.svg");
    assert!(shows(&h, &format!("saved {}", svg_path.display())));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.contains("<svg") && svg.contains("ledger"), "{svg:.200}");
    // The same drawing as `lockscope flamegraph`.
    let cli = path.with_file_name("tab-svg.cli.svg");
    let out = support::lockscope(&[
        "flamegraph",
        path.to_str().unwrap(),
        "-o",
        cli.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert_eq!(std::fs::read_to_string(&cli).unwrap(), svg);
}

#[test]
fn save_png_asks_the_renderer_for_the_window_and_writes_what_it_gives() {
    let path = write("tab-png.lst", &bank().0.bytes());
    let mut h = viewer(&[]);
    h.state_mut().open(path.clone(), None);
    h.state_mut().wait_for_loads();
    h.run();
    open_panel(&mut h, "Timeline");
    h.get_by_role_and_label(Role::Button, "Save PNG").click();
    h.step();
    // The harness has no renderer: the test completes the screenshot request in its place,
    // with pixels of its own.
    let request = (h.output().viewport_output.values())
        .flat_map(|v| v.commands.iter())
        .find_map(|c| match c {
            egui::ViewportCommand::Screenshot(cb) => Some(cb.clone()),
            _ => None,
        })
        .expect("Save PNG asks for a screenshot");
    let pixels = vec![egui::Color32::from_rgb(10, 20, 30); 4 * 3];
    request.complete(std::sync::Arc::new(egui::ColorImage::new([4, 3], pixels)));
    h.run();
    let png_path = path.with_file_name("tab-png.lst.timeline.png");
    assert!(shows(&h, &format!("saved {}", png_path.display())));
    let bytes = std::fs::read(&png_path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // Width and height, big-endian, in the IHDR chunk.
    assert_eq!(
        (&bytes[16..20], &bytes[20..24]),
        (&[0, 0, 0, 4][..], &[0, 0, 0, 3][..])
    );
}
