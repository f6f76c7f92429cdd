//! Driving the viewer without a window: a kittest harness over [`ViewerApp`].

use egui::accesskit::Role;
use egui::{Event, Modifiers, PointerButton, Pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use lockscope_viewer::app::ViewerApp;

use super::{bank, write};

/// A harness over a viewer with `files` opened (loaded on the background thread, awaited).
pub fn viewer(files: &[(&str, Vec<u8>)]) -> Harness<'static, ViewerApp> {
    let mut app = ViewerApp::new();
    for (name, bytes) in files {
        app.open(write(name, bytes), None);
    }
    app.wait_for_loads();
    let mut h = Harness::builder()
        .with_size(vec2(1400.0, 900.0))
        .with_max_steps(16)
        .build_ui_state(|ui, app: &mut ViewerApp| app.show_ui(ui), app);
    h.run();
    h
}

pub fn bank_viewer(name: &str) -> Harness<'static, ViewerApp> {
    viewer(&[(name, bank().0.bytes())])
}

pub fn open_panel(h: &mut Harness<'_, ViewerApp>, title: &str) {
    h.get_by_role_and_label(Role::Button, title).click();
    h.run();
}

/// Focuses the text box whose hint is `hint` and types `text`.
pub fn type_into(h: &mut Harness<'_, ViewerApp>, hint: &str, text: &str) {
    let by_hint =
        |n: &egui_kittest::kittest::AccessKitNode<'_>| n.data().placeholder() == Some(hint);
    h.get_by(by_hint).focus();
    h.run();
    h.get_by(by_hint).type_text(text);
    h.run();
}

/// Clicks a tab and finishes the work it started in the background before settling.
pub fn open_panel_then_wait(h: &mut Harness<'_, ViewerApp>, title: &str) {
    h.get_by_role_and_label(Role::Button, title).click();
    h.step();
    h.step();
    h.state_mut().active_view().unwrap().finish_background();
    h.run();
}

pub fn shows(h: &Harness<'_, ViewerApp>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

/// Drags from `from` to `to` with `with` held.
pub fn drag(h: &mut Harness<'_, ViewerApp>, from: Pos2, to: Pos2, with: PointerButton) {
    let button = |pos, pressed| Event::PointerButton {
        pos,
        button: with,
        pressed,
        modifiers: Modifiers::default(),
    };
    h.event(Event::PointerMoved(from));
    h.event(button(from, true));
    h.step();
    h.event(Event::PointerMoved(from + (to - from) / 2.0));
    h.step();
    h.event(Event::PointerMoved(to));
    h.step();
    h.event(button(to, false));
    h.run();
}
