//! Where the probe's servers (the live stream, the HTTP endpoint) may listen: an address
//! resolved, and refused beyond loopback unless remote access was asked for.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// Why an address cannot be listened on.
pub(crate) enum ListenAddr {
    /// It does not resolve, or resolves to nothing.
    Unresolved(io::Error),
    /// It is not a loopback address, and remote access was not asked for.
    NotLoopback(SocketAddr),
}

/// The addresses `addr` names (at least one), all loopback unless `any`.
pub(crate) fn listen_addrs(
    addr: impl ToSocketAddrs,
    any: bool,
) -> Result<Vec<SocketAddr>, ListenAddr> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(ListenAddr::Unresolved)?
        .collect();
    if addrs.is_empty() {
        return Err(ListenAddr::Unresolved(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it names no address",
        )));
    }
    if !any && let Some(a) = addrs.iter().find(|a| !a.ip().is_loopback()) {
        return Err(ListenAddr::NotLoopback(*a));
    }
    Ok(addrs)
}
