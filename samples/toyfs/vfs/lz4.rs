// SPDX-License-Identifier: GPL-2.0

//! The kernel's LZ4 block coder (lib/lz4: `LZ4_decompress_safe`,
//! `LZ4_compress_default`), for compressed file blocks
//! (Documentation/toyfs.rst, "Compressed blocks").

use crate::sys;
use kernel::ffi::c_int;

/// The 64-bit words of the work area `LZ4_compress_default` needs
/// (`LZ4_MEM_COMPRESS` bytes).
pub(crate) const COMPRESS_WORDS: usize = sys::LZ4_STREAMSIZE_U64 as usize;

/// Decompresses the LZ4 block `source` into `dest`; the bytes written, or
/// `None` if the data is malformed or would not fit `dest`.
///
/// The "safe" decoder of lib/lz4 checks every length in the data against
/// both buffers: damaged data never reads past `source` nor writes past
/// `dest`.
pub(crate) fn decompress(source: &[u8], dest: &mut [u8]) -> Option<usize> {
    let source_len = c_int::try_from(source.len()).ok()?;
    let dest_len = c_int::try_from(dest.len()).ok()?;
    // SAFETY: `source` is valid for reads of `source_len` bytes and
    // `dest` for writes of `dest_len` bytes, for the call; the decoder
    // keeps within both.
    let written = unsafe {
        sys::LZ4_decompress_safe(
            source.as_ptr().cast(),
            dest.as_mut_ptr().cast(),
            source_len,
            dest_len,
        )
    };
    usize::try_from(written).ok()
}

/// Compresses `source` into one LZ4 block in `dest`, with `work` (at
/// least [`COMPRESS_WORDS`] words) as the coder's work area; the bytes
/// written, or `None` if the block would not fit `dest` (the coder stops
/// there: it never writes past `dest`) or a buffer is too large or the
/// work area too small.
pub(crate) fn compress(source: &[u8], dest: &mut [u8], work: &mut [u64]) -> Option<usize> {
    if work.len() < COMPRESS_WORDS {
        return None;
    }
    let source_len = c_int::try_from(source.len()).ok()?;
    let dest_len = c_int::try_from(dest.len()).ok()?;
    // The coder keeps within `dest`: it returns 0 when the block does not
    // fit.
    // SAFETY: `source`, `dest` and `work` (`LZ4_MEM_COMPRESS` bytes,
    // 8-byte aligned) are valid, disjoint buffers of the lengths passed.
    let written = unsafe {
        sys::LZ4_compress_default(
            source.as_ptr().cast(),
            dest.as_mut_ptr().cast(),
            source_len,
            dest_len,
            work.as_mut_ptr().cast(),
        )
    };
    usize::try_from(written).ok().filter(|&n| n > 0)
}
