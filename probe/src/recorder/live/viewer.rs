//! One connected viewer: its socket, its bounded queue of chunks, and what it sends us
//! (read and discarded; the one frame defined is `hello <version>\n`).

use super::hub::*;
use crate::diag::warn;
use std::collections::VecDeque;
use std::io;
use std::io::Read;
use std::net::SocketAddr;
use std::net::TcpStream;
use std::sync::Arc;

pub(super) struct Viewer {
    pub(super) stream: TcpStream,
    pub(super) addr: SocketAddr,
    /// Chunks to send; the bool says whether it counts against the queue bound (live chunks
    /// do; a replay does not).
    pub(super) queue: VecDeque<(Arc<Vec<u8>>, bool)>,
    /// Bytes of the front chunk already written.
    pub(super) written: usize,
    pub(super) live_bytes: usize,
    pub(super) queued_bytes: usize,
    /// How much of `Server::meta` this viewer has (or has queued).
    pub(super) meta_sent: usize,
    /// Lost chunks since it last caught up: it gets a replay once its queue has drained.
    pub(super) lagging: bool,
    pub(super) events_dropped: u64,
    pub(super) chunks_dropped: u64,
    pub(super) bytes_sent: u64,
    /// What it sent, split into frames.
    pub(super) client: ClientFrames,
    pub(super) read_closed: bool,
    pub(super) warned: bool,
    pub(super) hello: Option<u16>,
}

impl Viewer {
    pub(super) fn new(stream: TcpStream, addr: SocketAddr) -> Viewer {
        Viewer {
            stream,
            addr,
            queue: VecDeque::new(),
            written: 0,
            live_bytes: 0,
            queued_bytes: 0,
            meta_sent: 0,
            lagging: false,
            events_dropped: 0,
            chunks_dropped: 0,
            bytes_sent: 0,
            client: ClientFrames::default(),
            read_closed: false,
            warned: false,
            hello: None,
        }
    }

    pub(super) fn push(&mut self, chunk: Arc<Vec<u8>>, counted: bool) {
        if counted {
            self.live_bytes += chunk.len();
        }
        self.queued_bytes += chunk.len();
        self.queue.push_back((chunk, counted));
    }

    pub(super) fn pop(&mut self) {
        if let Some((chunk, counted)) = self.queue.pop_front() {
            if counted {
                self.live_bytes -= chunk.len();
            }
            self.queued_bytes -= chunk.len();
        }
        self.written = 0;
    }

    /// Reads what the viewer sent (bounded per pass) and checks its frames; false when the
    /// connection failed.
    pub(super) fn read_frames(&mut self) -> bool {
        if self.read_closed {
            return true;
        }
        let mut buf = [0u8; 4096];
        let mut read = 0;
        while read < READ_PER_PASS {
            match self.stream.read(&mut buf) {
                // The viewer closed its sending side; it may still be reading.
                Ok(0) => {
                    self.read_closed = true;
                    return true;
                }
                Ok(n) => {
                    read += n;
                    self.frames(&buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }

    pub(super) fn frames(&mut self, bytes: &[u8]) {
        self.client.feed(bytes, |frame| match frame {
            ClientFrame::Hello(version) => self.hello = Some(version),
            ClientFrame::Malformed(_) if self.warned => {}
            ClientFrame::Malformed(frame) => {
                self.warned = true;
                let text = String::from_utf8_lossy(&frame[..frame.len().min(40)]);
                warn(&format!(
                    "live viewer {} sent a malformed frame ({text:?}); it is ignored. A viewer sends nothing, or the line \"hello <version>\".",
                    self.addr
                ));
            }
        });
    }

    /// Reads whatever is left, so closing the socket does not reset the connection.
    pub(super) fn read_discard(&mut self) {
        let mut buf = [0u8; 4096];
        let mut left = READ_PER_PASS;
        while left > 0 {
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    }
}

/// One frame a viewer sent.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientFrame<'a> {
    /// `hello <version>`: the format version the viewer reads.
    Hello(u16),
    /// Anything else: the frame without its newline, or the first [`MAX_FRAME`] bytes of a
    /// longer one.
    Malformed(&'a [u8]),
}

/// What a viewer sends, split into frames (lines) as the bytes arrive in any pieces: the
/// server's whole parser of client input, with no socket, so it can be tested and fuzzed.
#[derive(Debug, Default)]
pub struct ClientFrames {
    /// Bytes of an unfinished frame.
    frame: Vec<u8>,
    /// Inside an over-long frame: discard up to the next newline.
    pub(super) skipping: bool,
}

impl ClientFrames {
    /// Adds the next bytes from the viewer and calls `each` with every frame they complete:
    /// the same frames whatever pieces the bytes arrive in. A frame longer than [`MAX_FRAME`]
    /// is passed on as malformed as soon as it is too long, and the rest of its line is
    /// discarded.
    pub fn feed(&mut self, mut bytes: &[u8], mut each: impl FnMut(ClientFrame<'_>)) {
        while !bytes.is_empty() {
            let nl = bytes.iter().position(|&b| b == b'\n');
            let (part, rest) = match nl {
                Some(i) => (&bytes[..i], &bytes[i + 1..]),
                None => (bytes, &[][..]),
            };
            bytes = rest;
            if self.skipping {
                self.skipping = nl.is_none();
                continue;
            }
            // One byte past the limit is enough to tell a frame is too long.
            let room = (MAX_FRAME + 1).saturating_sub(self.frame.len());
            self.frame.extend_from_slice(&part[..part.len().min(room)]);
            if self.frame.len() > MAX_FRAME {
                // Too long however the bytes were cut: its first bytes, then skip to its end.
                let line = std::mem::take(&mut self.frame);
                each(ClientFrame::Malformed(&line[..MAX_FRAME]));
                self.skipping = nl.is_none();
            } else if nl.is_some() {
                let line = std::mem::take(&mut self.frame);
                each(parse_line(&line));
            }
        }
    }
}

/// One whole line from a viewer (without its newline; a `\r` before it is dropped).
fn parse_line(line: &[u8]) -> ClientFrame<'_> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let version = std::str::from_utf8(line)
        .ok()
        .and_then(|l| l.strip_prefix("hello "))
        .and_then(|v| v.trim().parse::<u16>().ok());
    match version {
        Some(v) => ClientFrame::Hello(v),
        None => ClientFrame::Malformed(line),
    }
}
