//! The live stream: the trace, in the very encoding of a trace file (the 24-byte header, then
//! CRC-checked chunks), served over TCP to viewers (`LOCKSCOPE_LIVE=127.0.0.1:PORT`,
//! [`Recorder::live`](crate::Recorder::live)).
//!
//! The recorder thread hands every chunk it writes to the `lockscope-live` thread: a push onto
//! a list and an unpark, never a wait for a viewer. The live thread keeps every definition seen
//! so far (strings, actors, classes, locks, frames, stacks, spans, alerts) and the latest class
//! figures, so a viewer that connects late gets the header and all of those first, then the
//! live chunks.
//!
//! Each viewer has a bounded queue and a non-blocking socket. A viewer whose queue is full
//! loses chunks, which are counted; once its queue has drained it is sent the definitions it
//! missed, the latest figures, and a `Dropped` record whose count includes the events it lost
//! (so a viewer's `Dropped` is "events this stream is missing": the host's own drops plus its
//! own). A stalled viewer costs the host nothing but its queue.
//!
//! Viewers need not send anything. Whatever they send is read and discarded; the one frame
//! defined is a line `hello <version>\n` (the format version the viewer reads). Anything else
//! is reported once per connection on stderr and ignored.

mod hub;
mod server;
mod viewer;

pub use hub::LiveViewer;
pub(crate) use hub::{Hub, Kind, LiveConfig, bind};
pub use viewer::{ClientFrame, ClientFrames};

use hub::Inbox;
use parking_lot::{Condvar, Mutex};
use server::Server;
use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Release;

/// Starts the `lockscope-live` thread serving `cfg`'s socket.
pub(crate) fn spawn(cfg: LiveConfig) -> io::Result<Arc<Hub>> {
    let addr = cfg.listener.local_addr()?;
    let hub = Arc::new(Hub {
        inbox: Mutex::new(Inbox::default()),
        viewers: AtomicUsize::new(0),
        closing: std::sync::atomic::AtomicBool::new(false),
        gone: std::sync::atomic::AtomicBool::new(false),
        done: Mutex::new(false),
        done_cv: Condvar::new(),
        thread: Mutex::new(None),
        addr,
        report: Mutex::new((Vec::new(), (0, 0))),
    });
    let h = hub.clone();
    let handle = std::thread::Builder::new()
        .name("lockscope-live".into())
        .spawn(move || {
            let hub = h.clone();
            // Whatever happens in the server, the recorder must learn that it is done.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Server::new(cfg, &h).run();
            }));
            hub.gone.store(true, Release);
            std::mem::take(&mut *hub.inbox.lock());
            *hub.done.lock() = true;
            hub.done_cv.notify_all();
        })?;
    *hub.thread.lock() = Some(handle.thread().clone());
    Ok(hub)
}

#[cfg(test)]
mod tests {
    use super::hub::*;
    use crate::format::{Record, tag};

    #[test]
    fn records_walks_whole_records_only() {
        let mut p = Vec::new();
        Record::Dropped { events: 3 }.encode(&mut p);
        Record::End { ts_ns: 9 }.encode(&mut p);
        assert_eq!(count_records(&p), 2);
        assert_eq!(count_records(&p[..p.len() - 1]), 1);
        let tags: Vec<u8> = crate::format::record_spans(&p).map(|(t, _)| t).collect();
        assert_eq!(tags, [tag::DROPPED, tag::END]);
    }

    #[test]
    fn client_frames_hello_and_garbage() {
        use super::viewer::Viewer;
        use std::net::{TcpListener, TcpStream};
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(a.local_addr().unwrap()).unwrap();
        let mut v = Viewer::new(c, a.local_addr().unwrap());
        v.frames(b"hel");
        v.frames(b"lo 1\r\n");
        assert_eq!(v.hello, Some(1));
        assert!(!v.warned);
        v.frames(&[b'x'; MAX_FRAME + 10]);
        assert!(v.warned && v.client.skipping);
        v.frames(b"still the long line\nhello 2\n");
        assert_eq!(v.hello, Some(2));
        v.frames(b"\xff\xfe\n");
        assert_eq!(v.hello, Some(2));
    }
}
