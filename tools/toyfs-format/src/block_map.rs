// SPDX-License-Identifier: GPL-2.0
//! The block map's slots (defined in samples/toyfs/format/block_map.rs)
//! and their messages.

use std::fmt;

pub use crate::disk::block_map::*;

impl fmt::Display for PointerSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Direct(index) => write!(f, "direct[{index}]"),
            Self::SingleIndirect => write!(f, "single_indirect"),
            Self::DoubleIndirect => write!(f, "double_indirect"),
            Self::TripleIndirect => write!(f, "triple_indirect"),
            Self::IndirectEntry {
                indirect_block,
                index,
            } => write!(f, "entry {index} of indirect block {indirect_block}"),
        }
    }
}
