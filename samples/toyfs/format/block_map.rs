// SPDX-License-Identifier: GPL-2.0
//! Which pointer of the block map holds a file block.
//!
//! With `P = block_size / 4` pointers per indirect block, file block `n` is
//! held by `direct[n]` for `n < 12`, by entry `n - 12` of the single-indirect
//! block for `n < 12 + P`, and by entry `(n - 12 - P) % P` of the
//! single-indirect block named by entry `(n - 12 - P) / P` of the
//! double-indirect block for `n < 12 + P + P * P`, and, with `m = n - 12 -
//! P - P * P`, by entry `m % P` of the single-indirect block named by entry
//! `(m / P) % P` of the double-indirect block named by entry `m / P^2` of
//! the triple-indirect block for `n < 12 + P + P^2 + P^3`.

use super::constants::DIRECT_POINTERS;
use super::le::{get_u32, get_u64};

/// The pointer path to one file block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapSlot {
    /// `direct[index]`.
    Direct(usize),
    /// Entry `index` of the single-indirect block.
    Single(u32),
    /// Entry `inner` of the block named by entry `outer` of the double-indirect block.
    Double {
        /// Entry of the double-indirect block.
        outer: u32,
        /// Entry of the single-indirect block it names.
        inner: u32,
    },
    /// Entry `inner` of the block named by entry `middle` of the block
    /// named by entry `outer` of the triple-indirect block.
    Triple {
        /// Entry of the triple-indirect block.
        outer: u32,
        /// Entry of the double-indirect block it names.
        middle: u32,
        /// Entry of the single-indirect block that names.
        inner: u32,
    },
}

/// The slot holding `file_block`, or `None` past the largest file;
/// `pointers_per_block` is a power of two (`P`).  Its indexes are below
/// their containers' pointers, `DIRECT_POINTERS` for `Direct`, `P` for
/// every entry: [`MapSlot::left_in_container`] relies on that.
pub fn slot_of(file_block: u64, pointers_per_block: u32) -> Option<MapSlot> {
    let per_block = u64::from(pointers_per_block);
    if file_block < DIRECT_POINTERS as u64 {
        return Some(MapSlot::Direct(file_block as usize));
    }
    let after_direct = file_block - DIRECT_POINTERS as u64;
    if after_direct < per_block {
        return Some(MapSlot::Single(after_direct as u32));
    }
    let after_single = after_direct - per_block;
    // Shifts and masks, not divisions: `pointers_per_block` is a power of
    // two, and a division would be guarded by a panic in the kernel.
    // Without an overflow branch: `P` is a power of two of a `u32`, so
    // `shift` is below 32 (the `& 31` changes no valid `P`) and `2 * shift`
    // a shift of a `u64`; `P - 1` cannot go below 0 for `P >= 1`.
    let shift = pointers_per_block.trailing_zeros() & 31;
    let mask = per_block.wrapping_sub(1);
    if after_single >> shift < per_block {
        return Some(MapSlot::Double {
            outer: (after_single >> shift) as u32,
            inner: (after_single & mask) as u32,
        });
    }
    // OVERFLOW: `after_single >> shift >= P`, so `after_single >= P << shift`.
    let after_double = after_single.wrapping_sub(per_block << shift);
    if after_double >> (2 * shift) < per_block {
        return Some(MapSlot::Triple {
            outer: (after_double >> (2 * shift)) as u32,
            middle: ((after_double >> shift) & mask) as u32,
            inner: (after_double & mask) as u32,
        });
    }
    None
}

/// One of the pointers stored in the inode itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InodePointer {
    /// `direct[index]`.
    Direct(usize),
    /// `single_indirect`.
    SingleIndirect,
    /// `double_indirect`.
    DoubleIndirect,
    /// `triple_indirect`.
    TripleIndirect,
}

impl MapSlot {
    /// The inode's pointer that the path to the slot starts from.
    pub fn inode_pointer(self) -> InodePointer {
        match self {
            Self::Direct(index) => InodePointer::Direct(index),
            Self::Single(_) => InodePointer::SingleIndirect,
            Self::Double { .. } => InodePointer::DoubleIndirect,
            Self::Triple { .. } => InodePointer::TripleIndirect,
        }
    }

    /// The index of the slot in its container: `index` of `Direct` and
    /// `Single`, `inner` of the others.
    #[inline]
    pub fn last_entry(self) -> u32 {
        match self {
            // CAST: below `DIRECT_POINTERS` (`slot_of`).
            Self::Direct(index) => index as u32,
            Self::Single(index) => index,
            Self::Double { inner, .. } | Self::Triple { inner, .. } => inner,
        }
    }

    /// How many file blocks from the slot's on its container holds (the
    /// inode's direct pointers, or a last-level indirect block of
    /// `pointers_per_block` entries): 1 to `P`.  For a slot of [`slot_of`]
    /// with the same `pointers_per_block`.
    #[inline]
    pub fn left_in_container(self, pointers_per_block: u32) -> u32 {
        // OVERFLOW: `slot_of` makes indexes below their container's
        // pointers (`DIRECT_POINTERS`, `P`): no difference below 1, and
        // no overflow branch in the map walk that asks for it.
        match self {
            // CAST: below `DIRECT_POINTERS`.
            Self::Direct(index) => (DIRECT_POINTERS as u32).wrapping_sub(index as u32),
            _ => pointers_per_block.wrapping_sub(self.last_entry()),
        }
    }

    /// The entries to follow in the indirect blocks below the inode's
    /// pointer, outermost first: none to three.
    pub fn indirect_entries(self) -> ([u32; 3], usize) {
        match self {
            Self::Direct(_) => ([0; 3], 0),
            Self::Single(index) => ([index, 0, 0], 1),
            Self::Double { outer, inner } => ([outer, inner, 0], 2),
            Self::Triple {
                outer,
                middle,
                inner,
            } => ([outer, middle, inner], 3),
        }
    }
}

/// Every pointer of the inode with the levels of indirect blocks below
/// it (0 for a data block) and the first file block it covers.
pub fn inode_pointers(pointers_per_block: u32) -> impl Iterator<Item = (InodePointer, u32, u64)> {
    Iterator::chain(
        (0..DIRECT_POINTERS).map(|index| (InodePointer::Direct(index), 0, index as u64)),
        [
            (
                InodePointer::SingleIndirect,
                1,
                single_indirect_first_block(),
            ),
            (
                InodePointer::DoubleIndirect,
                2,
                double_indirect_first_block(pointers_per_block),
            ),
            (
                InodePointer::TripleIndirect,
                3,
                triple_indirect_first_block(pointers_per_block),
            ),
        ],
    )
}

/// First file block covered by the single-indirect block.
pub fn single_indirect_first_block() -> u64 {
    DIRECT_POINTERS as u64
}

/// First file block covered by the double-indirect block.
pub fn double_indirect_first_block(pointers_per_block: u32) -> u64 {
    DIRECT_POINTERS as u64 + u64::from(pointers_per_block)
}

/// First file block covered by the triple-indirect block.
pub fn triple_indirect_first_block(pointers_per_block: u32) -> u64 {
    let per_block = u64::from(pointers_per_block);
    double_indirect_first_block(pointers_per_block) + per_block * per_block
}

/// Where a block pointer is stored, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointerSite {
    /// `direct[index]` of the inode.
    Direct(usize),
    /// The inode's `single_indirect`.
    SingleIndirect,
    /// The inode's `double_indirect`.
    DoubleIndirect,
    /// The inode's `triple_indirect`.
    TripleIndirect,
    /// Entry `index` of indirect block `indirect_block`.
    IndirectEntry {
        /// The indirect block holding the pointer.
        indirect_block: u32,
        /// Its entry.
        index: u32,
    },
}

/// The first nonzero entry among entries `from..to` of an indirect
/// block's bytes `entries` (little-endian `u32` pointers): its index and
/// value, or `None` if they are all 0.  A truncation looks for the next
/// child to free this way: most entries past the end of a file are 0,
/// and they are skipped two at a time (entries past `entries` are not
/// searched).
#[inline]
pub fn first_nonzero_entry(entries: &[u8], from: usize, to: usize) -> Option<(usize, u32)> {
    // Cut to the entries there are, `from` to `to`: `4 * to` and
    // `4 * from` are then at most `entries.len()`, which the compiler
    // sees, with no overflow branch (the callers' bounds, below `P`, are
    // not in their `usize` arguments).
    let to = to.min(entries.len() / 4);
    let from = from.min(to);
    if from >= to {
        return None;
    }
    let bytes = &entries[4 * from..4 * to];
    // The entries not yet searched, a suffix of `bytes`: the slice's own
    // bounds, so that neither the steps nor the index need an overflow
    // check (a loop of `at += 8` did, under the kernel's overflow checks).
    let mut rest = bytes;
    while let Some((pair, after)) = rest.split_first_chunk::<8>() {
        if u64::from_ne_bytes(*pair) != 0 {
            break;
        }
        rest = after;
    }
    while let Some((entry, after)) = rest.split_first_chunk::<4>() {
        let value = u32::from_le_bytes(*entry);
        if value != 0 {
            // OVERFLOW: `rest` is a suffix of `bytes`, whose
            // `4 * (to - from)` bytes hold entries `from..to`: the entry
            // found is `to - rest.len() / 4`, at least `from`.
            return Some((to.wrapping_sub(rest.len() / 4), value));
        }
        rest = after;
    }
    None
}

/// The last nonzero entry among entries `from..to` of an indirect
/// block's `entries`, and its value: where an allocation that finds a
/// hole should look for room, after the nearest block before it (as
/// ext2's `ext2_find_near` looks back).  Backwards eight bytes at a time,
/// as [`first_nonzero_entry`] goes forwards (`from..to` must lie in
/// `entries`).
#[inline]
pub fn last_nonzero_entry(entries: &[u8], from: usize, to: usize) -> Option<(usize, u32)> {
    if from >= to {
        return None;
    }
    let bytes = &entries[4 * from..4 * to];
    let mut end = bytes.len();
    while end >= 8 && get_u64(bytes, end - 8) == 0 {
        end -= 8;
    }
    while end >= 4 {
        let value = get_u32(bytes, end - 4);
        if value != 0 {
            return Some((from + end / 4 - 1, value));
        }
        end -= 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_at_every_boundary() {
        let p = 256;
        assert_eq!(slot_of(0, p), Some(MapSlot::Direct(0)));
        assert_eq!(slot_of(11, p), Some(MapSlot::Direct(11)));
        assert_eq!(slot_of(12, p), Some(MapSlot::Single(0)));
        assert_eq!(slot_of(267, p), Some(MapSlot::Single(255)));
        assert_eq!(
            slot_of(268, p),
            Some(MapSlot::Double { outer: 0, inner: 0 })
        );
        assert_eq!(
            slot_of(268 + 257, p),
            Some(MapSlot::Double { outer: 1, inner: 1 })
        );
        let last = 12 + 256 + 256 * 256 - 1;
        assert_eq!(
            slot_of(last, p),
            Some(MapSlot::Double {
                outer: 255,
                inner: 255
            })
        );
        assert_eq!(
            slot_of(last + 1, p),
            Some(MapSlot::Triple {
                outer: 0,
                middle: 0,
                inner: 0
            })
        );
        assert_eq!(
            slot_of(last + 1 + 256 * 256 + 2 * 256 + 3, p),
            Some(MapSlot::Triple {
                outer: 1,
                middle: 2,
                inner: 3
            })
        );
        let end = last + 1 + 256 * 256 * 256;
        assert_eq!(
            slot_of(end - 1, p),
            Some(MapSlot::Triple {
                outer: 255,
                middle: 255,
                inner: 255
            })
        );
        assert_eq!(slot_of(end, p), None);
        assert_eq!(slot_of(u64::MAX, p), None);
        assert_eq!(triple_indirect_first_block(p), last + 1);
        assert_eq!(double_indirect_first_block(p), 268);
        assert_eq!(single_indirect_first_block(), 12);
    }

    /// Every slot's indexes are below their containers' pointers, and
    /// `left_in_container` is what remains of its container, for every
    /// block size's `P`: the bound the map walk's unchecked arithmetic
    /// relies on (`inode::BlockMap::container`).
    #[test]
    fn slots_stay_inside_their_containers() {
        for p in [128u32, 256, 512, 1024] {
            let reach = triple_indirect_first_block(p) + u64::from(p).pow(3);
            let mut blocks: Vec<u64> = (0..3 * u64::from(p) + 40).collect();
            for base in [
                double_indirect_first_block(p),
                triple_indirect_first_block(p),
                reach,
            ] {
                blocks.extend(base.saturating_sub(2 * u64::from(p) + 3)..base + 3);
            }
            let mut previous: Option<(MapSlot, u32)> = None;
            for &n in &blocks {
                let Some(slot) = slot_of(n, p) else {
                    assert!(n >= reach, "block {n}, P {p}");
                    continue;
                };
                let (entries, levels) = slot.indirect_entries();
                assert!(entries[..levels].iter().all(|&e| e < p), "{slot:?}");
                let left = slot.left_in_container(p);
                match slot {
                    MapSlot::Direct(index) => {
                        assert!(index < DIRECT_POINTERS);
                        assert_eq!(left as usize, DIRECT_POINTERS - index);
                    }
                    _ => {
                        assert_eq!(slot.last_entry(), entries[levels - 1]);
                        assert_eq!(left, p - slot.last_entry());
                    }
                }
                assert!(left >= 1 && left <= p, "{slot:?}");
                // The next block is in the same container, one fewer left,
                // unless this was the container's last.
                if let Some((before, before_left)) = previous.filter(|_| n > 0) {
                    if slot_of(n - 1, p) == Some(before) && before_left > 1 {
                        assert_eq!(left, before_left - 1, "{slot:?} after {before:?}");
                    }
                }
                previous = Some((slot, left));
            }
        }
    }

    #[test]
    fn paths_start_at_the_inode_pointer() {
        let p = 256;
        let double = slot_of(268 + 257, p).unwrap();
        assert_eq!(double.inode_pointer(), InodePointer::DoubleIndirect);
        assert_eq!(double.indirect_entries(), ([1, 1, 0], 2));
        let triple = slot_of(triple_indirect_first_block(p) + 256 * 256 + 1, p).unwrap();
        assert_eq!(triple.inode_pointer(), InodePointer::TripleIndirect);
        assert_eq!(triple.indirect_entries(), ([1, 0, 1], 3));
        let single = slot_of(20, p).unwrap();
        assert_eq!(single.inode_pointer(), InodePointer::SingleIndirect);
        assert_eq!(single.indirect_entries(), ([8, 0, 0], 1));
        assert_eq!(
            slot_of(3, p).unwrap().inode_pointer(),
            InodePointer::Direct(3)
        );
        let pointers: Vec<_> = inode_pointers(p).collect();
        assert_eq!(pointers.len(), 15);
        assert_eq!(pointers[11], (InodePointer::Direct(11), 0, 11));
        assert_eq!(pointers[12], (InodePointer::SingleIndirect, 1, 12));
        assert_eq!(pointers[13], (InodePointer::DoubleIndirect, 2, 268));
        assert_eq!(
            pointers[14],
            (InodePointer::TripleIndirect, 3, 268 + 256 * 256)
        );
    }

    /// `first_nonzero_entry` or `last_nonzero_entry`.
    type EntrySearch = fn(&[u8], usize, usize) -> Option<(usize, u32)>;

    /// A search of an indirect block's entries (`first_nonzero_entry`,
    /// `last_nonzero_entry`) finds a lone nonzero entry at every position,
    /// whichever of its bytes is set, in every range that holds it, and
    /// nothing in a range without it.
    fn finds_a_lone_entry(search: EntrySearch) {
        let p = 256;
        for at in 0..p {
            let mut entries = vec![0u8; 4 * p];
            // One byte of the entry nonzero, each of the four in turn.
            entries[4 * at + at % 4] = 7;
            let value = 7u32 << (8 * (at % 4));
            for from in [0, 1, at.saturating_sub(1), at]
                .into_iter()
                .filter(|&f| f <= at)
            {
                for to in [at + 1, (at + 2).min(p), p] {
                    assert_eq!(
                        search(&entries, from, to),
                        Some((at, value)),
                        "entry {at} in {from}..{to}"
                    );
                }
            }
            // Ranges that leave it out.
            assert_eq!(search(&entries, at + 1, p), None);
            assert_eq!(search(&entries, 0, at), None);
            assert_eq!(search(&entries, at, at), None);
        }
    }

    /// Entries 9 and 10 of a block of 256 set to their index.
    fn two_entries() -> Vec<u8> {
        let mut entries = vec![0u8; 4 * 256];
        entries[4 * 9..4 * 10].copy_from_slice(&9u32.to_le_bytes());
        entries[4 * 10..4 * 11].copy_from_slice(&10u32.to_le_bytes());
        entries
    }

    #[test]
    fn first_nonzero_entry_finds_each_position() {
        finds_a_lone_entry(first_nonzero_entry);
        let entries = two_entries();
        assert_eq!(first_nonzero_entry(&entries, 0, 256), Some((9, 9)));
        assert_eq!(first_nonzero_entry(&entries, 10, 256), Some((10, 10)));
        assert_eq!(first_nonzero_entry(&entries, 11, 256), None);
        // Past the block: cut to its entries, no panic.
        assert_eq!(first_nonzero_entry(&entries, 0, usize::MAX), Some((9, 9)));
        assert_eq!(first_nonzero_entry(&entries, 11, 1 << 62), None);
        assert_eq!(first_nonzero_entry(&entries, usize::MAX, usize::MAX), None);
    }

    #[test]
    fn last_nonzero_entry_finds_each_position() {
        finds_a_lone_entry(last_nonzero_entry);
        let entries = two_entries();
        assert_eq!(last_nonzero_entry(&entries, 0, 256), Some((10, 10)));
        assert_eq!(last_nonzero_entry(&entries, 0, 10), Some((9, 9)));
        assert_eq!(last_nonzero_entry(&entries, 0, 9), None);
    }
}
