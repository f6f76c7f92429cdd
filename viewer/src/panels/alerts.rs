//! Alerts: every detector report in full.

use egui::RichText;

use super::style::CYCLE;
use super::{TraceView, ns};

/// Draws every alert of the (filtered) trace with its full text.
pub fn alerts_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    let mut pick = None;
    egui::ScrollArea::vertical().show(ui, |ui| {
        let m = v.view();
        if m.alerts.is_empty() {
            ui.label("No detector raised an alert in this selection.");
        }
        for (i, a) in m.alerts.iter().enumerate() {
            ui.push_id(i, |ui| {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(&a.kind).color(CYCLE).strong().size(16.0));
                    ui.label(format!("at {}", ns(a.ts_ns)));
                });
                if !a.locks.is_empty() {
                    ui.horizontal_wrapped(|ui| {
                        ui.label("Locks:");
                        for name in &a.locks {
                            let class = (v.model.classes.values()).find(|c| &c.name == name);
                            match class {
                                Some(c) => {
                                    if ui.link(name).on_hover_text("Select this lock").clicked() {
                                        pick = Some(c.id);
                                    }
                                }
                                None => {
                                    ui.label(name);
                                }
                            }
                        }
                    });
                }
                let actors = v.model.alert_actors(a);
                if !actors.is_empty() {
                    ui.label(format!("Threads and tasks: {}", actors.join(", ")));
                }
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.add(egui::Label::new(RichText::new(&a.text).monospace()).selectable(true));
                });
                ui.add_space(10.0);
            });
        }
    });
    if let Some(c) = pick {
        v.toggle_class(c);
    }
}
