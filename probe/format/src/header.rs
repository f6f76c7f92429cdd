//! The 24-byte file header.

use crate::consts::{HEADER_LEN, MAGIC, VERSION};
use crate::error::DecodeError;

/// The file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u16,
    /// Reserved flags.
    pub flags: u16,
    /// Wall-clock time of the epoch that record timestamps count from, Unix nanoseconds.
    pub epoch_unix_ns: u64,
    /// Recording process id.
    pub pid: u32,
}

impl Header {
    /// The 24 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..8].copy_from_slice(&MAGIC);
        b[8..10].copy_from_slice(&self.version.to_le_bytes());
        b[10..12].copy_from_slice(&self.flags.to_le_bytes());
        b[12..20].copy_from_slice(&self.epoch_unix_ns.to_le_bytes());
        b[20..24].copy_from_slice(&self.pid.to_le_bytes());
        b
    }

    /// Parses and checks a header.
    pub fn parse(b: &[u8]) -> Result<Header, DecodeError> {
        if b.len() < 8 || b[..8] != MAGIC {
            if b.len() < 8 && MAGIC.starts_with(b) {
                return Err(DecodeError::TooShort { len: b.len() });
            }
            let mut found = [0u8; 8];
            let n = b.len().min(8);
            found[..n].copy_from_slice(&b[..n]);
            return Err(DecodeError::NotATrace { found });
        }
        if b.len() < HEADER_LEN {
            return Err(DecodeError::TooShort { len: b.len() });
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        if version > VERSION || version == 0 {
            return Err(DecodeError::UnsupportedVersion {
                found: version,
                supported: VERSION,
            });
        }
        Ok(Header {
            version,
            flags: u16::from_le_bytes([b[10], b[11]]),
            epoch_unix_ns: u64::from_le_bytes(b[12..20].try_into().expect("8 bytes")),
            pid: u32::from_le_bytes(b[20..24].try_into().expect("4 bytes")),
        })
    }
}
