//! Why a recording could not start: the one error type of the recorder's public API.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a recording could not start.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The trace file could not be created.
    #[error("cannot create trace file {}: {source}; choose a path in a writable directory", path.display())]
    Create {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The recorder thread could not be started.
    #[error("cannot start the lockscope-recorder thread: {0}")]
    Spawn(std::io::Error),
    /// The live stream's address could not be bound.
    #[error(
        "cannot serve the live stream on {addr}: {source}; {}",
        bind_hint(source)
    )]
    Live {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The live stream's address is not an address.
    #[error(
        "the live stream's address is not valid ({source}); use HOST:PORT, such as 127.0.0.1:7878"
    )]
    LiveAddress {
        /// The cause.
        source: std::io::Error,
    },
    /// The live stream was asked to listen beyond this machine without saying so explicitly.
    #[error(
        "refusing to serve the live stream on {addr}: it is not a loopback address, and the stream shows lock names, \
         thread names and stacks to anyone who connects; use 127.0.0.1:PORT, or allow it explicitly \
         (LOCKSCOPE_LIVE_ANY=1, or Recorder::live_remote in code)"
    )]
    LiveNotLoopback {
        /// The address.
        addr: SocketAddr,
    },
}

/// What to do about a bind error, for [`RecordError::Live`]'s message.
pub(crate) fn bind_hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::AddrInUse => {
            "another program (or another lockscope recording) listens there; choose a free port, or port 0 for any free one"
        }
        io::ErrorKind::AddrNotAvailable => {
            "no interface of this machine has that address; use 127.0.0.1:PORT"
        }
        io::ErrorKind::PermissionDenied => {
            "ports below 1024 need privileges; choose a port above 1024"
        }
        _ => "choose another address, such as 127.0.0.1:7878",
    }
}
