// SPDX-License-Identifier: GPL-2.0

//! Changes of a regular file as a whole: its size (`setattr`).

use crate::{
    inode::BlockMap,
    vfs::{truncate_setsize, with_folio, Inode},
    vm_mvc_client::Op,
    write::zero_gap,
};
use kernel::prelude::*;

/// `setattr` of the size, under the inode's lock and its
/// `invalidate_lock` (no folio is instantiated meanwhile).
pub(crate) fn set_size(inode: &Inode, size: u64) -> Result {
    let old = inode.size();
    let _invalidate = inode.lock_invalidate();
    if size < old {
        zero_eof_block_tail(inode, size)?;
        truncate_setsize(inode, size);
        BlockMap::lock(inode)?.truncate(size)?;
    } else {
        // `truncate_setsize` calls `pagecache_isize_extended`.
        truncate_setsize(inode, size);
        zero_gap(inode, old, size);
    }
    inode.touch_mtime_ctime();
    Ok(())
}

/// Before a truncation to `size`: the bytes of the new last block past
/// `size` become zeros through the page cache (the block is read if it is
/// not cached), and that block dirty, so that they reach the disk (as
/// `iomap_truncate_page` and `block_truncate_page` do): the format keeps
/// the bytes past the end of the file zero, and a later extension shows
/// them.
fn zero_eof_block_tail(inode: &Inode, size: u64) -> Result {
    let geometry = inode.sb().info().geometry;
    let tail = geometry.offset_in_block(size);
    if tail == 0 || BlockMap::lock(inode)?.lookup(geometry.block_of(size))? == 0 {
        return Ok(());
    }
    let block_end = size - tail + u64::from(geometry.block_size());
    with_folio(inode, size, |folio| {
        // CAST: offsets within the folio.
        let offset = (size - folio.pos()) as usize;
        folio.mvc(offset, (block_end - size) as usize, Op::Zero)
    })
}
