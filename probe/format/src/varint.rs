//! LEB128 variable-length integers, the encoding of every integer field inside a record.

/// Appends `v` as an unsigned LEB128 varint (1 to 10 bytes).
#[inline]
pub fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The longest varint: a `u64` takes at most 10 bytes.
pub(crate) const MAX_VARINT_LEN: usize = 10;

/// `v` as an unsigned LEB128 varint in a stack array: the bytes and how many of them are used.
pub(crate) fn varint_bytes(mut v: u64) -> ([u8; MAX_VARINT_LEN], usize) {
    let mut b = [0u8; MAX_VARINT_LEN];
    let mut n = 0;
    while v >= 0x80 {
        b[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    b[n] = v as u8;
    (b, n + 1)
}

/// The varint at the front of eight little-endian bytes and its length, if it ends within
/// them: the 7-bit groups are masked to the varint's bytes and gathered in three steps
/// (pairs of bytes, pairs of 14-bit groups, the two 28-bit halves) instead of a byte at a time.
#[inline(always)]
fn decode_word(word: u64) -> Option<(u64, usize)> {
    let ends = !word & 0x8080_8080_8080_8080;
    if ends == 0 {
        return None;
    }
    let len = (ends.trailing_zeros() as usize + 1) / 8;
    let g = word & (u64::MAX >> (64 - len * 8)) & 0x7f7f_7f7f_7f7f_7f7f;
    let g = (g & 0x007f_007f_007f_007f) | ((g & 0x7f00_7f00_7f00_7f00) >> 1);
    let g = (g & 0x0000_3fff_0000_3fff) | ((g & 0x3fff_0000_3fff_0000) >> 2);
    let g = (g & 0x0000_0000_0fff_ffff) | ((g & 0x0fff_ffff_0000_0000) >> 4);
    Some((g, len))
}

/// Appends a length-prefixed UTF-8 string.
pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A cursor over one record body. Every read is bounds-checked; running past the end is
/// reported as `None` so a corrupt record can never make the decoder panic.
#[derive(Debug)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// True when every byte was consumed.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Reads one unsigned LEB128 varint.
    #[inline(always)]
    pub fn u64(&mut self) -> Option<u64> {
        let rest = self.buf.get(self.pos..)?;
        // Most fields are one byte (tags, kinds, small ids); most others end within eight
        // bytes, which are decoded at once when eight are there to read.
        if let Some(&b) = rest.first()
            && b < 0x80
        {
            self.pos += 1;
            return Some(u64::from(b));
        }
        if let Some(eight) = rest.first_chunk::<8>()
            && let Some((v, len)) = decode_word(u64::from_le_bytes(*eight))
        {
            self.pos += len;
            return Some(v);
        }
        self.u64_bytewise()
    }

    /// [`Cursor::u64`] a byte at a time: near the end of the buffer, and for values of nine
    /// or ten bytes.
    #[inline(never)]
    fn u64_bytewise(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return None;
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// Reads `n` varints (a count [`Cursor::count`] checked against the bytes left).
    #[inline]
    pub fn u64s(&mut self, n: usize) -> Option<Vec<u64>> {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.u64()?);
        }
        Some(v)
    }

    /// A field a later revision appended to an existing body: 0 when the body ends before
    /// it (a trace written before the field existed), `None` only when it is malformed.
    #[inline]
    pub fn trailing_u64(&mut self) -> Option<u64> {
        if self.is_empty() { Some(0) } else { self.u64() }
    }

    /// Reads a varint that must fit in a `u32`.
    #[inline]
    pub fn u32(&mut self) -> Option<u32> {
        self.u64().and_then(|v| u32::try_from(v).ok())
    }

    /// Reads one byte.
    #[inline]
    pub fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// Reads `n` raw bytes.
    #[inline]
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// Reads a length-prefixed UTF-8 string.
    #[inline]
    pub fn str(&mut self) -> Option<&'a str> {
        let n = usize::try_from(self.u64()?).ok()?;
        std::str::from_utf8(self.bytes(n)?).ok()
    }

    /// Reads a varint count and checks it against the bytes left, so garbage can never
    /// ask for a huge allocation (every counted item takes at least one byte).
    #[inline]
    pub fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n <= self.buf.len() - self.pos).then_some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_width() {
        let values = [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut buf = Vec::new();
        for v in values {
            put_u64(&mut buf, v);
        }
        let mut c = Cursor::new(&buf);
        for v in values {
            assert_eq!(c.u64(), Some(v));
        }
        assert!(c.is_empty());
        assert_eq!(c.u64(), None);
    }

    #[test]
    fn every_width_decodes_the_same_with_and_without_bytes_after_it() {
        // Each value alone (the bytewise path near the end) and followed by padding (the
        // eight-byte path where it fits), at every bit width and the values around it; and
        // cut short by a byte, which is no value.
        let mut values = vec![0u64, u64::MAX];
        for bits in 1..64 {
            let p = 1u64 << bits;
            values.extend([p - 1, p, p + 1, p | (p >> 1), (p - 1) ^ 0x55]);
        }
        for v in values {
            let mut alone = Vec::new();
            put_u64(&mut alone, v);
            let mut padded = alone.clone();
            padded.extend_from_slice(&[0xff; 12]);
            for buf in [&alone, &padded] {
                let mut c = Cursor::new(buf);
                assert_eq!(c.u64(), Some(v), "{v:#x} from {buf:02x?}");
                assert_eq!(c.position(), alone.len(), "{v:#x}: its length");
            }
            if alone.len() > 1 {
                let cut = &alone[..alone.len() - 1];
                assert_eq!(Cursor::new(cut).u64(), None, "{v:#x} cut short");
            }
        }
    }

    #[test]
    fn varint_bytes_matches_put_u64() {
        for v in [0, 1, 127, 128, 16_383, 16_384, u32::MAX as u64, u64::MAX] {
            let mut put = Vec::new();
            put_u64(&mut put, v);
            let (b, n) = varint_bytes(v);
            assert_eq!(&b[..n], &put[..], "{v}");
        }
        assert_eq!(varint_bytes(u64::MAX).1, MAX_VARINT_LEN);
    }

    #[test]
    fn overlong_varint_is_rejected_not_wrapped() {
        let buf = [0xff; 11];
        assert_eq!(Cursor::new(&buf).u64(), None);
        let mut eleven = vec![0xff; 9];
        eleven.push(0x02);
        assert_eq!(Cursor::new(&eleven).u64(), None);
    }

    #[test]
    fn count_larger_than_the_buffer_is_rejected() {
        let mut buf = Vec::new();
        put_u64(&mut buf, 1 << 40);
        assert_eq!(Cursor::new(&buf).count(), None);
    }
}
