// SPDX-License-Identifier: GPL-2.0
//! xorshift64*: small, seedable, good enough to pick operations.  The same
//! seed gives the same choices, so a failure can be run again.  One
//! generator for every tester of the workspace (toyfs-stress, toyfs-probe).

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
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..bound`; 0 if `bound` is 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }

    /// True once in `n` times.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    /// `len` bytes for a write: random, or with `compressible` runs of
    /// one random byte, 1 to 256 long, which LZ4 shrinks.
    pub fn data(&mut self, len: usize, compressible: bool) -> Vec<u8> {
        if !compressible {
            return self.bytes(len);
        }
        let mut data = Vec::with_capacity(len);
        while data.len() < len {
            let byte = self.next_u64() as u8;
            let run = (1 + self.below(256) as usize).min(len - data.len());
            data.resize(data.len() + run, byte);
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_choices_and_bounds_kept() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for bound in [0, 1, 2, 3, 4096, u64::MAX] {
            let x = a.below(bound);
            assert_eq!(x, b.below(bound));
            assert!(x < bound.max(1));
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
        assert_ne!(
            Rng::for_thread(1, 0).next_u64(),
            Rng::for_thread(1, 1).next_u64()
        );
    }

    #[test]
    fn compressible_data_is_runs() {
        let data = Rng::new(3).data(4096, true);
        assert_eq!(data.len(), 4096);
        let runs = 1 + data.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(runs <= 4096 / 8, "{runs} runs");
    }
}
