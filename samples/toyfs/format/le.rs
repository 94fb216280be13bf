// SPDX-License-Identifier: GPL-2.0
//! Little-endian fields at fixed byte offsets.
//!
//! Every on-disk structure is encoded field by field through these helpers
//! instead of transmuting packed structs, so the layout is exactly what
//! Documentation/toyfs.rst lists, on any host, without `unsafe`.  Callers
//! pass buffers of the structure's fixed size, so an out-of-bounds offset is
//! a bug in this crate and panics like any slice index.

// The fields are read and written byte by byte, with no call: at the
// kernel's `opt-level=s`, `copy_from_slice` stays a call (to
// `core::slice::copy_from_slice`, then `memcpy`) per field, which was the
// largest cost of a directory walk (Documentation/performance.rst,
// "Directory operations") and most of encoding an inode for each `fsync`
// ("Appends: one walk, the last run remembered").  LLVM merges the byte
// stores into one store of the field.
//
// A field is `bytes[offset..][..N]`, not `bytes[offset..offset + N]`: the
// same bounds checks, the same panic out of bounds, but no sum, which
// under the kernel's overflow checks carried a `panic_const_add_overflow`
// branch into every inlined field access (Documentation/performance.rst,
// "Bounds proved once, continued").

/// Reads a `u16` at `offset`.
#[inline]
pub fn get_u16(bytes: &[u8], offset: usize) -> u16 {
    let f = &bytes[offset..][..2];
    u16::from_le_bytes([f[0], f[1]])
}

/// Reads a `u32` at `offset`.
#[inline]
pub fn get_u32(bytes: &[u8], offset: usize) -> u32 {
    let f = &bytes[offset..][..4];
    u32::from_le_bytes([f[0], f[1], f[2], f[3]])
}

/// Reads a `u64` at `offset`.  As one array, not eight bytes: the
/// eight-byte form of `get_u32` stayed a call at `opt-level=s`, with a
/// bounds check per byte (`le::get_u64` was 2.3 % of the write/truncate
/// cycles under TCG, called by `block_map::first_nonzero_entry` for every
/// eight bytes it skips).  The slice index panics out of bounds, as every
/// field's; the `try_into` of its eight bytes cannot fail.
#[inline]
pub fn get_u64(bytes: &[u8], offset: usize) -> u64 {
    let field: &[u8; 8] = bytes[offset..][..8].try_into().unwrap_or(&[0; 8]);
    u64::from_le_bytes(*field)
}

/// Reads an `i64` at `offset`.
#[inline]
pub fn get_i64(bytes: &[u8], offset: usize) -> i64 {
    // CAST: the same 64 bits, two's complement.
    get_u64(bytes, offset) as i64
}

/// Writes a `u16` at `offset`.
#[inline]
pub fn put_u16(bytes: &mut [u8], offset: usize, value: u16) {
    let f = &mut bytes[offset..][..2];
    let v = value.to_le_bytes();
    f[0] = v[0];
    f[1] = v[1];
}

/// Writes a `u32` at `offset`.
#[inline]
pub fn put_u32(bytes: &mut [u8], offset: usize, value: u32) {
    let f = &mut bytes[offset..][..4];
    let v = value.to_le_bytes();
    f[0] = v[0];
    f[1] = v[1];
    f[2] = v[2];
    f[3] = v[3];
}

/// Writes a `u64` at `offset`.
#[inline]
pub fn put_u64(bytes: &mut [u8], offset: usize, value: u64) {
    let f = &mut bytes[offset..][..8];
    let v = value.to_le_bytes();
    f[0] = v[0];
    f[1] = v[1];
    f[2] = v[2];
    f[3] = v[3];
    f[4] = v[4];
    f[5] = v[5];
    f[6] = v[6];
    f[7] = v[7];
}

/// Writes an `i64` at `offset`.
#[inline]
pub fn put_i64(bytes: &mut [u8], offset: usize, value: i64) {
    // CAST: the same 64 bits, two's complement.
    put_u64(bytes, offset, value as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_little_endian_at_their_offsets() {
        let mut buf = [0u8; 24];
        put_u16(&mut buf, 0, 0x0102);
        put_u32(&mut buf, 2, 0x0304_0506);
        put_u64(&mut buf, 6, 0x0708_090a_0b0c_0d0e);
        put_i64(&mut buf, 14, -2);
        assert_eq!(&buf[0..2], &[0x02, 0x01]);
        assert_eq!(&buf[2..6], &[0x06, 0x05, 0x04, 0x03]);
        assert_eq!(
            &buf[6..14],
            &[0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09, 0x08, 0x07]
        );
        assert_eq!(
            &buf[14..22],
            &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(get_u16(&buf, 0), 0x0102);
        assert_eq!(get_u32(&buf, 2), 0x0304_0506);
        assert_eq!(get_u64(&buf, 6), 0x0708_090a_0b0c_0d0e);
        assert_eq!(get_i64(&buf, 14), -2);
    }
}
