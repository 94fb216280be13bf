// SPDX-License-Identifier: GPL-2.0

//! The state of each block of a folio, in the folio's private data, as
//! iomap's `iomap_folio_state`: which blocks are uptodate and which dirty,
//! so that a write of part of a folio reads only the blocks it partly
//! covers and writeback writes only the dirty ones, and the bytes of reads
//! and writes still in flight.
//!
//! A folio without state has every block as uptodate and as dirty as the
//! folio itself (at writeback, whose folios had their dirty flag cleared
//! for I/O, every block dirty).  The state is attached under the folio lock and freed by
//! `release_folio` or a whole-folio `invalidate_folio`, which the page
//! cache calls with the folio locked and neither under writeback nor (for
//! release) dirty; an I/O completion runs while the folio is locked for
//! reading or under writeback, so the state outlives every user.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use kernel::bindings;

/// Words of each per-block bitmap: one bit per block of the largest folio
/// toyfs lets the page cache use (`MAX_FOLIO_BLOCKS`), and at least a page
/// of 512-byte blocks (128 with 64 KiB pages).
const WORDS: usize = if bindings::PAGE_SIZE / 512 > 64 {
    bindings::PAGE_SIZE / 512 / 64
} else {
    1
};

/// Most blocks in a folio; toyfs caps its folio size so that a folio has
/// no more (`mapping_set_folio_order_range`).
pub(crate) const MAX_FOLIO_BLOCKS: usize = WORDS * 64;

/// A set of blocks of one folio, block `k` as bit `k`.
struct BlockBits([AtomicU64; WORDS]);

impl BlockBits {
    const fn new() -> Self {
        Self([const { AtomicU64::new(0) }; WORDS])
    }

    /// The bits of `first..first + count` in word `word` (`< WORDS`).
    /// Without an overflow branch, as it is inlined into every user of
    /// a folio's state (Documentation/performance.rst, "Bounds proved
    /// once, continued"): a range past `usize::MAX` ends there.
    #[inline]
    fn mask(word: usize, first: usize, count: usize) -> u64 {
        // `word < WORDS`, a constant of at most 2: no product overflows.
        let (lo, hi) = (word * 64, word * 64 + 64);
        let (from, to) = (first.max(lo), first.saturating_add(count).min(hi));
        if from >= to {
            return 0;
        }
        // OVERFLOW: `lo <= from < to <= lo + 64`: `width` is 1 to 64, so
        // `64 - width` (as `width.wrapping_neg() & 63`, 0 for 64) and
        // `from - lo` are shifts of 0 to 63, and `to - from` and
        // `from - lo` no difference below 0.
        let width = to.wrapping_sub(from);
        // CAST: at most 64.
        let ones = u64::MAX >> ((width as u32).wrapping_neg() & 63);
        // CAST: below 64.
        ones << (from.wrapping_sub(lo) as u32 & 63)
    }

    #[inline]
    fn set(&self, first: usize, count: usize) {
        for (word, bits) in self.0.iter().enumerate() {
            let mask = Self::mask(word, first, count);
            if mask != 0 {
                bits.fetch_or(mask, Ordering::AcqRel);
            }
        }
    }

    #[inline]
    fn clear(&self, first: usize, count: usize) {
        for (word, bits) in self.0.iter().enumerate() {
            let mask = Self::mask(word, first, count);
            if mask != 0 {
                bits.fetch_and(!mask, Ordering::AcqRel);
            }
        }
    }

    /// Whether every block of `first..first + count` is in the set.
    #[inline]
    fn all(&self, first: usize, count: usize) -> bool {
        self.0.iter().enumerate().all(|(word, bits)| {
            let mask = Self::mask(word, first, count);
            bits.load(Ordering::Acquire) & mask == mask
        })
    }

    /// The set as words: block `k` as bit `k % 64` of word `k / 64`.
    #[inline]
    fn words(&self) -> [u64; WORDS] {
        core::array::from_fn(|word| self.0[word].load(Ordering::Acquire))
    }

    /// Whether some block of `first..first + count` is in the set.
    #[inline]
    fn any(&self, first: usize, count: usize) -> bool {
        self.0
            .iter()
            .enumerate()
            .any(|(word, bits)| bits.load(Ordering::Acquire) & Self::mask(word, first, count) != 0)
    }
}

/// Per-block state of a folio of `blocks` blocks.
pub(crate) struct FolioState {
    blocks: usize,
    block_shift: u32,
    uptodate: BlockBits,
    dirty: BlockBits,
    /// Blocks allocated by the `write_begin` running on the folio, for its
    /// `write_end` (both under the folio lock).
    new: BlockBits,
    /// Bytes whose read is in flight, plus one while the read path is
    /// still adding blocks.
    read_pending: AtomicUsize,
    /// Bytes whose write is in flight, plus one while writeback is still
    /// adding blocks.
    write_pending: AtomicUsize,
}

impl FolioState {
    /// The state of a folio of `blocks` blocks of `1 << block_shift`
    /// bytes that is `uptodate` and `dirty` as a whole.
    pub(crate) fn new(blocks: usize, block_shift: u32, uptodate: bool, dirty: bool) -> Self {
        let state = Self {
            blocks,
            block_shift,
            uptodate: BlockBits::new(),
            dirty: BlockBits::new(),
            new: BlockBits::new(),
            read_pending: AtomicUsize::new(0),
            write_pending: AtomicUsize::new(0),
        };
        if uptodate {
            state.uptodate.set(0, blocks);
        }
        if dirty {
            state.dirty.set(0, blocks);
        }
        state
    }

    /// Blocks of the folio.
    #[inline]
    pub(crate) fn blocks(&self) -> usize {
        self.blocks
    }

    /// `log2` of the block size.
    #[inline]
    pub(crate) fn block_shift(&self) -> u32 {
        self.block_shift
    }

    /// Marks blocks `first..first + count` uptodate; true if now all are.
    #[inline]
    pub(crate) fn set_uptodate(&self, first: usize, count: usize) -> bool {
        self.uptodate.set(first, count);
        self.uptodate.all(0, self.blocks)
    }

    /// Whether every block of `first..first + count` is uptodate.
    #[inline]
    pub(crate) fn is_uptodate(&self, first: usize, count: usize) -> bool {
        self.uptodate.all(first, count)
    }

    /// Marks blocks `first..first + count` dirty.
    #[inline]
    pub(crate) fn set_dirty(&self, first: usize, count: usize) {
        self.dirty.set(first, count);
    }

    /// Clears the dirty bit of blocks `first..first + count`.
    #[inline]
    pub(crate) fn clear_dirty(&self, first: usize, count: usize) {
        self.dirty.clear(first, count);
    }

    /// Whether block `k` is dirty.
    #[inline]
    pub(crate) fn is_dirty(&self, k: usize) -> bool {
        self.dirty.any(k, 1)
    }

    /// Records blocks `first..first + count` as just allocated.
    #[inline]
    pub(crate) fn set_new(&self, first: usize, count: usize) {
        self.new.set(first, count);
    }

    /// Whether block `k` was just allocated.
    #[inline]
    pub(crate) fn is_new(&self, k: usize) -> bool {
        self.new.any(k, 1)
    }

    /// Whether any block of the folio was just allocated: an overwrite
    /// allocates none, and its `write_end` skips the walks over the new
    /// blocks.
    #[inline]
    pub(crate) fn has_new(&self) -> bool {
        self.new.any(0, self.blocks)
    }

    /// The blocks just allocated, block `k` as bit `k % 64` of word
    /// `k / 64` (no bit at or past `blocks`).
    #[inline]
    pub(crate) fn new_words(&self) -> [u64; WORDS] {
        self.new.words()
    }

    /// Forgets which blocks were just allocated.
    #[inline]
    pub(crate) fn clear_new(&self) {
        self.new.clear(0, self.blocks);
    }

    /// Starts a read of the folio: the bias that keeps it from ending
    /// while blocks are still being added.
    #[inline]
    pub(crate) fn begin_read(&self) {
        self.read_pending.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts `bytes` more in flight for reading.
    #[inline]
    pub(crate) fn add_read(&self, bytes: usize) {
        self.read_pending.fetch_add(bytes, Ordering::AcqRel);
    }

    /// `bytes` of a read are done (`bytes` 1: the bias); true if that was
    /// the last.
    #[inline]
    pub(crate) fn finish_read(&self, bytes: usize) -> bool {
        self.read_pending.fetch_sub(bytes, Ordering::AcqRel) == bytes
    }

    /// As `begin_read`, for writeback.
    #[inline]
    pub(crate) fn begin_write(&self) {
        self.write_pending.fetch_add(1, Ordering::AcqRel);
    }

    /// As `add_read`, for writeback.
    #[inline]
    pub(crate) fn add_write(&self, bytes: usize) {
        self.write_pending.fetch_add(bytes, Ordering::AcqRel);
    }

    /// As `finish_read`, for writeback.
    #[inline]
    pub(crate) fn finish_write(&self, bytes: usize) -> bool {
        self.write_pending.fetch_sub(bytes, Ordering::AcqRel) == bytes
    }
}
