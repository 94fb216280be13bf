// SPDX-License-Identifier: GPL-2.0
//! CRC-32C (Castagnoli), the superblock checksum.
//!
//! Bitwise rather than table-driven: it only ever covers the 124 checksummed
//! bytes of the superblock, and the kernel side can use its own `crc32c()`
//! or these eight lines.

/// The reflected Castagnoli polynomial.
const POLYNOMIAL: u32 = 0x82f6_3b78;

/// CRC-32C of `data`: initial value `!0`, reflected, final inversion.
///
/// Equal to the kernel's `~crc32c(~0, data, len)`.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (POLYNOMIAL & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32c(b""), 0);
    }
}
