// SPDX-License-Identifier: GPL-2.0

//! The kernel's LZ4 block decoder (lib/lz4, `LZ4_decompress_safe`), for
//! compressed file blocks (Documentation/toyfs.rst, "Compressed blocks").

use crate::sys;
use kernel::ffi::c_int;

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
