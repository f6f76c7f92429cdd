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
    walk(|ip| {
        seen += 1;
        if seen <= skip + 1 {
            return true;
        }
        s.ips[s.len] = ip;
        s.len += 1;
        s.len < MAX_FRAMES
    });
    s
}

/// Calls `f` with the instruction pointer of each frame of the calling thread's stack,
/// innermost (the caller's own) first, until `f` returns `false` or the stack ends. A walk
/// that stops early unwinds only the frames it looked at.
#[inline(always)]
pub(crate) fn walk(mut f: impl FnMut(usize) -> bool) {
    let mut step = |frame: &backtrace::Frame| {
        let ip = frame.ip() as usize;
        // An ip of 0 is the walk's terminating frame.
        ip != 0 && f(ip)
    };
    // SAFETY: `trace_unsynchronized` is unsafe only because some platform unwinders (dbghelp
    // on Windows) are not thread-safe. On the platforms the probe records stacks on (Linux,
    // macOS: libunwind / _Unwind_Backtrace) concurrent walks are safe. The closure touches
    // only what its caller lent it, and never panics.
    #[cfg(unix)]
    unsafe {
        backtrace::trace_unsynchronized(&mut step)
    };
    #[cfg(not(unix))]
    backtrace::trace(&mut step);
}
