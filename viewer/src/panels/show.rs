//! Drawing a [`TraceView`]: the panel tabs, the selection bar, then the current panel.

use super::style::ns;
use super::view::{OtherTrace, Panel, TraceView};
use super::{alerts, causal, diff, flame, locks, overview, pools, processes, timeline, waitfor};
use crate::model::Filter;

impl TraceView {
    /// Draws the panel tabs, the selection bar and the current panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, others: &[OtherTrace<'_>]) {
        self.ctx = Some(ui.ctx().clone());
        self.poll_pending();
        ui.horizontal(|ui| {
            for p in Panel::ALL {
                ui.selectable_value(&mut self.panel, p, p.title());
            }
        });
        self.filter_bar_ui(ui);
        if let Some(n) = &self.notice {
            let mut dismissed = false;
            ui.horizontal_wrapped(|ui| {
                ui.label(egui::RichText::new(n).color(super::style::WARN));
                dismissed = ui.small_button("×").on_hover_text("Dismiss").clicked();
            });
            if dismissed {
                self.notice = None;
            }
        }
        ui.separator();
        match self.panel {
            Panel::Overview => overview::overview_ui(ui, self),
            Panel::Locks => locks::locks_ui(ui, self),
            Panel::Flamegraph => flame::flame_ui(ui, self),
            Panel::Timeline => timeline::timeline_ui(ui, self),
            Panel::WaitFor => waitfor::waitfor_ui(ui, self),
            Panel::Pools => pools::pools_ui(ui, self),
            Panel::Alerts => alerts::alerts_ui(ui, self),
            Panel::Diff => diff::diff_ui(ui, self, others),
            Panel::Processes => processes::processes_ui(ui, self, others),
            Panel::Causal => causal::causal_ui(ui, self),
        }
    }

    /// The selection bar. Always one row, selection or not, so choosing a lock or a range
    /// moves nothing below it.
    fn filter_bar_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            // As tall as a row of buttons, whether or not it has any.
            ui.allocate_exact_size(egui::vec2(0.0, ui.spacing().interact_size.y), egui::Sense::hover());
            if self.is_updating() {
                ui.spinner();
                ui.label("Applying the selection…");
            }
            if self.filter.is_empty() {
                ui.weak("The whole trace: select a lock, or drag a time range on the timeline, to narrow every panel (Escape clears).");
                return;
            }
            ui.label("Showing only:");
            if let Some(c) = self.filter.class {
                let name = self.model.class_name(c).to_owned();
                if ui
                    .button(format!("lock {name} ×"))
                    .on_hover_text("Show every lock")
                    .clicked()
                {
                    self.set_filter(Filter {
                        class: None,
                        ..self.filter
                    });
                }
            }
            if let Some((a, b)) = self.filter.range_ns
                && ui
                    .button(format!("time {} – {} ×", ns(a), ns(b)))
                    .on_hover_text("Show the whole trace")
                    .clicked()
            {
                self.set_filter(Filter {
                    range_ns: None,
                    ..self.filter
                });
            }
        });
    }
}
