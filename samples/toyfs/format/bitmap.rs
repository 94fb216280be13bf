// SPDX-License-Identifier: GPL-2.0
//! The bitmap's bit order: bit `k` of a bitmap block stands for its
//! `k`-th fragment (block without FRAGMENTS) and is bit `k % 8` (least
//! significant bit first) of byte `k / 8`; 1 means in use
//! (Documentation/toyfs.rst, "Block bitmap").
//!
//! The kernel module keeps the bitmap blocks in memory and reads and
//! writes their bits as atomics, hence `AtomicU8` here.

use core::sync::atomic::{AtomicU8, Ordering};

/// How many bits of `bytes` (one bitmap block) are set one after the
/// other from bit `bit` on, counting at most `max` of them: up to eight
/// bits at a time.  `bit + max` is at most the bits of `bytes`.
pub fn set_run(bytes: &[AtomicU8], bit: usize, max: usize) -> usize {
    let mut k = 0;
    while k < max {
        let at = bit + k;
        let shift = at % 8;
        let take = (8 - shift).min(max - k);
        // CAST: at most eight bits.
        let want = ((1u16 << take) - 1) as u8;
        let bits = bytes[at / 8].load(Ordering::Acquire) >> shift;
        if bits & want != want {
            // The set bits below the first clear one.
            return k + (!bits).trailing_zeros() as usize;
        }
        k += take;
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitmap(bytes: &[u8]) -> Vec<AtomicU8> {
        bytes.iter().map(|&b| AtomicU8::new(b)).collect()
    }

    /// The same answer, bit by bit.
    fn slow(bytes: &[u8], bit: usize, max: usize) -> usize {
        (bit..bit + max)
            .take_while(|&k| bytes[k / 8] & (1 << (k % 8)) != 0)
            .count()
    }

    #[test]
    fn set_run_counts_set_bits_up_to_the_first_clear_one() {
        let all = bitmap(&[0xff; 4]);
        assert_eq!(set_run(&all, 0, 32), 32);
        assert_eq!(set_run(&all, 3, 20), 20);
        assert_eq!(set_run(&all, 5, 0), 0);
        // Bit 10 clear: byte 1 is 0b1111_1011.
        let hole = bitmap(&[0xff, 0xfb, 0xff, 0xff]);
        assert_eq!(set_run(&hole, 0, 32), 10);
        assert_eq!(set_run(&hole, 9, 5), 1);
        assert_eq!(set_run(&hole, 10, 5), 0);
        assert_eq!(set_run(&hole, 11, 21), 21);
        // The clear bit just past `max` does not count.
        assert_eq!(set_run(&hole, 2, 8), 8);
    }

    #[test]
    fn set_run_agrees_with_a_bit_by_bit_count() {
        let patterns: [[u8; 3]; 6] = [
            [0xff, 0xff, 0xff],
            [0x7f, 0xff, 0xfe],
            [0xff, 0x00, 0xff],
            [0xf0, 0x0f, 0xff],
            [0xef, 0xff, 0xbf],
            [0x00, 0x00, 0x00],
        ];
        for bytes in &patterns {
            let atomics = bitmap(bytes);
            for bit in 0..24 {
                for max in 0..=24 - bit {
                    assert_eq!(
                        set_run(&atomics, bit, max),
                        slow(bytes, bit, max),
                        "{bytes:02x?} from {bit}, at most {max}"
                    );
                }
            }
        }
    }
}
