//! Stack capture for the slow path: instruction pointers only, into a fixed array (no
//! allocation, no symbolization: the recorder thread resolves symbols later).

/// Frames kept per stack.
pub(crate) const MAX_FRAMES: usize = 32;

/// Instruction pointers, innermost first.
#[derive(Clone, Copy)]
pub(crate) struct RawStack {
    pub(crate) ips: [usize; MAX_FRAMES],
    pub(crate) len: usize,
}

impl RawStack {
    pub(crate) fn frames(&self) -> &[usize] {
        &self.ips[..self.len]
    }

    /// A non-zero id for this stack (FNV-1a over the instruction pointers).
    pub(crate) fn id(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &ip in self.frames() {
            h ^= ip as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h.max(1)
    }
}

/// Walks the calling thread's stack, skipping `skip` innermost frames.
#[inline(never)]
pub(crate) fn capture(skip: usize) -> RawStack {
    let mut s = RawStack {
        ips: [0; MAX_FRAMES],
        len: 0,
    };
    let mut seen = 0usize;
    // SAFETY: `trace_unsynchronized` is unsafe only because some platform unwinders (dbghelp
    // on Windows) are not thread-safe. On the platforms the probe records stacks on (Linux,
    // macOS: libunwind / _Unwind_Backtrace) concurrent walks are safe. The closure touches
    // only `s` and `seen`, which live on this thread's stack, and never panics.
    #[cfg(unix)]
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            seen += 1;
            if seen <= skip + 1 {
                return true;
            }
            let ip = frame.ip() as usize;
            if ip == 0 {
                return false; // the walk's terminating frame
            }
            s.ips[s.len] = ip;
            s.len += 1;
            s.len < MAX_FRAMES
        });
    }
    #[cfg(not(unix))]
    backtrace::trace(|frame| {
        seen += 1;
        if seen <= skip + 1 {
            return true;
        }
        let ip = frame.ip() as usize;
        if ip == 0 {
            return false;
        }
        s.ips[s.len] = ip;
        s.len += 1;
        s.len < MAX_FRAMES
    });
    s
}
