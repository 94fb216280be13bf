// SPDX-License-Identifier: GPL-2.0
//! Which pointer of the block map holds a file block.
//!
//! With `P = block_size / 4` pointers per indirect block, file block `n` is
//! held by `direct[n]` for `n < 12`, by entry `n - 12` of the single-indirect
//! block for `n < 12 + P`, and by entry `(n - 12 - P) % P` of the
//! single-indirect block named by entry `(n - 12 - P) / P` of the
//! double-indirect block for `n < 12 + P + P * P`.

use std::fmt;

use crate::constants::DIRECT_POINTERS;

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
}

/// The slot holding `file_block`, or `None` past the largest file.
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
    if after_single < per_block * per_block {
        return Some(MapSlot::Double {
            outer: (after_single / per_block) as u32,
            inner: (after_single % per_block) as u32,
        });
    }
    None
}

/// First file block covered by the single-indirect block.
pub fn single_indirect_first_block() -> u64 {
    DIRECT_POINTERS as u64
}

/// First file block covered by the double-indirect block.
pub fn double_indirect_first_block(pointers_per_block: u32) -> u64 {
    DIRECT_POINTERS as u64 + u64::from(pointers_per_block)
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
    /// Entry `index` of indirect block `indirect_block`.
    IndirectEntry {
        /// The indirect block holding the pointer.
        indirect_block: u32,
        /// Its entry.
        index: u32,
    },
}

impl fmt::Display for PointerSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Direct(index) => write!(f, "direct[{index}]"),
            Self::SingleIndirect => write!(f, "single_indirect"),
            Self::DoubleIndirect => write!(f, "double_indirect"),
            Self::IndirectEntry {
                indirect_block,
                index,
            } => write!(f, "entry {index} of indirect block {indirect_block}"),
        }
    }
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
        assert_eq!(slot_of(last + 1, p), None);
        assert_eq!(double_indirect_first_block(p), 268);
        assert_eq!(single_indirect_first_block(), 12);
    }
}
