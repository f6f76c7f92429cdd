//! Where a trace comes from, and loading it off the UI thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};

use crate::model::{self, Model};

/// A trace's origin. A live connection to a running process will be a second variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A trace file.
    File(PathBuf),
}

impl Source {
    /// A short name for tabs: the file name.
    pub fn label(&self) -> String {
        match self {
            Source::File(p) => p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
        }
    }

    /// The full path, for warnings and headings.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Source::File(p) => p,
        }
    }

    /// Starts loading on a named background thread; `wake` is called whenever there is
    /// progress to show (a UI passes its repaint request).
    pub fn load(&self, wake: impl Fn() + Send + 'static) -> Loading {
        let progress = Arc::new(Progress::default());
        let (tx, rx) = mpsc::channel();
        let Source::File(path) = self.clone();
        let p = Arc::clone(&progress);
        let spawned = std::thread::Builder::new()
            .name("lockscope-loader".to_owned())
            .spawn(move || {
                let result = model::load_with_progress(&path, |read, total| {
                    p.read.store(read, Ordering::Relaxed);
                    p.total.store(total, Ordering::Relaxed);
                    wake();
                })
                .map_err(|e| format!("{e:#}"));
                // The receiver is gone only when the tab was closed: nothing to tell.
                let _ = tx.send(result);
                wake();
            });
        if let Err(e) = spawned {
            let (tx, rx2) = mpsc::channel();
            let _ = tx.send(Err(format!("cannot start a loader thread: {e}")));
            return Loading { rx: rx2, progress };
        }
        Loading { rx, progress }
    }
}

#[derive(Debug, Default)]
struct Progress {
    read: AtomicU64,
    total: AtomicU64,
}

/// A load under way.
#[derive(Debug)]
pub struct Loading {
    rx: Receiver<Result<Model, String>>,
    progress: Arc<Progress>,
}

impl Loading {
    /// Bytes read and the file's size.
    pub fn progress(&self) -> (u64, u64) {
        (
            self.progress.read.load(Ordering::Relaxed),
            self.progress.total.load(Ordering::Relaxed),
        )
    }

    /// The model or the error, once loading finished.
    pub fn try_finish(&self) -> Option<Result<Model, String>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err("the loader thread stopped".to_owned())),
        }
    }

    /// Blocks until loading finished.
    pub fn wait(&self) -> Result<Model, String> {
        self.rx
            .recv()
            .unwrap_or_else(|_| Err("the loader thread stopped".to_owned()))
    }
}
