//! Reading a trace file into a [`Model`], piece by piece so a UI can show progress.

use std::path::Path;

use anyhow::Context as _;
use lockscope_format::{self as format, DecodeError};

use super::Model;
use super::decode::ModelBuilder;

/// Reads and decodes the trace at `path`. Errors name the file and say how to fix it.
/// Holder pairing is left to its first use (the lock table does not need it).
pub fn load(path: &Path) -> anyhow::Result<Model> {
    read(path, |_, _| {})
}

/// Like [`load`], reading the file piece by piece and calling `progress(bytes_read, total)`
/// after each piece, for a progress bar. It also pairs waits with their holders' holds
/// ([`Model::pair_holders`]) before it returns, so a window does not pause for it later.
pub fn load_with_progress(path: &Path, progress: impl FnMut(u64, u64)) -> anyhow::Result<Model> {
    let m = read(path, progress)?;
    m.pair_holders();
    Ok(m)
}

fn read(path: &Path, progress: impl FnMut(u64, u64)) -> anyhow::Result<Model> {
    match read_with_progress(path, progress) {
        Ok(m) => Ok(m),
        Err(DecodeError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            anyhow::bail!(
                "trace file {} does not exist: check the path (a trace is written where \
                 LOCKSCOPE_TRACE or Recorder::to_file points)",
                path.display()
            )
        }
        Err(e @ DecodeError::Io { .. }) => {
            anyhow::bail!("{e}; check that the path names a readable trace file")
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot read {} as a lockscope trace", path.display()))
        }
    }
}

/// Decodes the file chunk by chunk straight into the model: each record is indexed as it is
/// decoded.
fn read_with_progress(
    path: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<Model, DecodeError> {
    use std::io::Read as _;
    let io = |source| DecodeError::Io {
        path: path.into(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    let mut decoder = format::StreamDecoder::default();
    let mut builder = ModelBuilder::default();
    let mut buf = vec![0u8; 1 << 20];
    let mut read = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        read += n as u64;
        decoder.feed_each(&buf[..n], |r| builder.add(r))?;
        progress(read, total.max(read));
    }
    let header = decoder
        .header()
        .ok_or(DecodeError::TooShort { len: read as usize })?;
    let pending = decoder.pending_len() as u64;
    let truncated = (pending > 0).then(|| read - pending);
    Ok(builder.finish(header, truncated, decoder.damage().to_vec()))
}
