// SPDX-License-Identifier: GPL-2.0
//! xorshift64*: small, seedable, good enough to pick operations.  The same
//! seed gives the same choices, so a failure can be run again.

/// The generator.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The generator of thread `thread` of a run seeded with `seed`.
    pub fn for_thread(seed: u64, thread: usize) -> Self {
        Self::new(seed ^ (thread as u64 + 1).wrapping_mul(0xd1b5_4a32_d192_ed03))
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    /// True once in `n` times.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// `len` bytes for a write: random, or with `compressible` runs of
    /// one random byte, 1 to 256 long, which LZ4 shrinks.
    pub fn data(&mut self, len: usize, compressible: bool) -> Vec<u8> {
        if !compressible {
            return self.bytes(len);
        }
        let mut data = Vec::with_capacity(len);
        while data.len() < len {
            let byte = self.next() as u8;
            let run = (1 + self.below(256) as usize).min(len - data.len());
            data.resize(data.len() + run, byte);
        }
        data
    }
}
