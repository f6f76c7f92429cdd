//! Values worth computing off the UI thread for large traces.

use std::sync::mpsc::{self, Receiver, TryRecvError};

/// A value computed at once for a small trace, on a named background thread for a large one.
#[derive(Debug, Default)]
pub enum Job<T> {
    /// Not asked for yet (or dropped because the selection changed).
    #[default]
    Empty,
    /// Being computed on a background thread.
    Running(Receiver<T>),
    /// Ready.
    Done(T),
}

impl<T: Send + 'static> Job<T> {
    /// Starts computing with `f` unless already started: inline when `background` is false,
    /// else on a thread named `name` that repaints `ctx` when done.
    pub fn start(
        &mut self,
        background: bool,
        name: &str,
        ctx: Option<egui::Context>,
        f: impl FnOnce() -> T + Send + 'static,
    ) {
        if !matches!(self, Job::Empty) {
            return;
        }
        if !background {
            *self = Job::Done(f());
            return;
        }
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                // Nobody listens when the selection changed meanwhile: nothing to do then.
                let _ = tx.send(f());
                if let Some(c) = ctx {
                    c.request_repaint();
                }
            });
        if let Ok(_handle) = spawned {
            *self = Job::Running(rx);
        }
    }

    /// Picks up a background result if it arrived.
    pub fn poll(&mut self) {
        if let Job::Running(rx) = self {
            match rx.try_recv() {
                Ok(v) => *self = Job::Done(v),
                Err(TryRecvError::Disconnected) => *self = Job::Empty,
                Err(TryRecvError::Empty) => {}
            }
        }
    }

    /// Blocks until a background computation finished.
    pub fn wait(&mut self) {
        if let Job::Running(rx) = self {
            *self = rx.recv().map_or(Job::Empty, Job::Done);
        }
    }

    /// Takes the value out when it is ready, leaving the job empty (put it back with
    /// [`Job::Done`]).
    pub fn take_done(&mut self) -> Option<T> {
        self.poll();
        match std::mem::take(self) {
            Job::Done(v) => Some(v),
            other => {
                *self = other;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Job;

    #[test]
    fn a_small_job_is_done_at_once_and_a_large_one_after_waiting() {
        let mut j = Job::default();
        j.start(false, "test-job", None, || 7);
        assert_eq!(j.take_done(), Some(7));
        let mut j = Job::default();
        j.start(true, "test-job", None, || 8);
        j.wait();
        assert_eq!(j.take_done(), Some(8));
        assert!(matches!(j, Job::Empty));
    }
}
