// SPDX-License-Identifier: GPL-2.0

//! File data in the page cache: reading and writing folios, write_begin
//! and write_end, page faults and size changes; every partial-page part is
//! a vm_mvc call (the table at the end of Documentation/toyfs.rst says
//! which one for which case).

use crate::{
    format::geometry::Geometry,
    meta::Meta,
    vfs::{toyfs_err, truncate_setsize, Buffer, Inode, LockedFolio, PAGE_SIZE},
    vm_mvc_client::{KernelBuffer, Op},
};
use kernel::prelude::*;

/// Runs vm_mvc command `op` on page bytes `from % PAGE_SIZE` to the end
/// of the page holding byte `from`, by `(sid, pno)`; a page that is not
/// cached (`ENOENT`) has nothing to change.
fn mvc_page_tail(inode: &Inode, from: u64, op: Op<'_>) -> Result {
    let offset = (from % PAGE_SIZE as u64) as usize;
    if offset == 0 {
        return Ok(());
    }
    // CAST: page numbers of toyfs files fit `usize`.
    match inode.sid().mvc(
        (from / PAGE_SIZE as u64) as usize,
        offset,
        PAGE_SIZE - offset,
        op,
    ) {
        // Not cached, or not uptodate (a failed read): `read_folio` zeroes
        // past the end of the file when it fills the page.
        Err(err) if err == ENOENT || err == ENODATA => Ok(()),
        result => result,
    }
}

/// Before a write at `pos` past the end of the file: the bytes of the old
/// end-of-file page past the old size (which an mmap store may have
/// changed) become zeros, and the page is write-protected, since its
/// blocks past the old size become holes inside the file.
pub(crate) fn prepare_extend(inode: &Inode, pos: u64) -> Result {
    let size = inode.size();
    if pos <= size {
        return Ok(());
    }
    mvc_page_tail(inode, size, Op::ProtZero)
}

/// `setattr` of the size.
pub(crate) fn set_size(inode: &Inode, size: u64) -> Result {
    let old = inode.size();
    if size < old {
        // The new end-of-file page past the new size: vm_mvc ZERO.
        mvc_page_tail(inode, size, Op::Zero)?;
        truncate_setsize(inode, size);
        Meta::lock(inode.sb()).truncate_blocks(inode, size, true)?;
    } else {
        truncate_setsize(inode, size);
        // The old end-of-file page past the old size: zeros, and
        // write-protected for the holes it now has inside the file.
        mvc_page_tail(inode, old, Op::ProtZero)?;
    }
    inode.touch_mtime_ctime();
    Ok(())
}

/// A block of a folio that starts inside the file.
struct FolioBlock {
    /// Offset of the block in the page.
    offset: usize,
    /// File block number.
    n: u64,
    /// Bytes of the block inside the file.
    valid: usize,
}

/// The blocks of `folio` that start inside a file of `size` bytes.
fn blocks_inside(
    folio: &LockedFolio<'_>,
    geometry: &Geometry,
    size: u64,
) -> impl Iterator<Item = FolioBlock> {
    let block_size = geometry.block_bytes();
    let start = folio.pos();
    let geometry = *geometry;
    (0..PAGE_SIZE)
        .step_by(block_size)
        .map(move |offset| (offset, start + offset as u64))
        .take_while(move |&(_, pos)| pos < size)
        .map(move |(offset, pos)| FolioBlock {
            offset,
            n: geometry.block_of(pos),
            valid: (size - pos).min(block_size as u64) as usize,
        })
}

/// Fills a locked folio from the disk: data blocks with vm_mvc WRITE from
/// their buffer heads, holes inside the file with PROTZERO, and everything
/// past the end of the file with ZERO.
pub(crate) fn fill_folio(inode: &Inode, folio: &LockedFolio<'_>) -> Result {
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    let block_size = geometry.block_bytes();
    // End of the bytes filled so far.
    let mut filled = 0;
    for block in blocks_inside(folio, &geometry, inode.size()) {
        let number = Meta::lock(sb).lookup(inode.ino(), block.n)?;
        if number == 0 {
            folio.mvc(block.offset, block_size, Op::ProtZero)?;
            filled = block.offset + block_size;
            continue;
        }
        let mut data = Buffer::read(sb, number)?;
        let buffer = KernelBuffer::attach(data.data_mut())?;
        folio.mvc(
            block.offset,
            block.valid,
            Op::Write {
                from: &buffer,
                at: 0,
            },
        )?;
        filled = block.offset + block.valid;
    }
    if filled < PAGE_SIZE {
        folio.mvc(filled, PAGE_SIZE - filled, Op::Zero)?;
    }
    Ok(())
}

/// The file blocks of the folio's bytes `from..to`.
fn blocks_of(
    folio: &LockedFolio<'_>,
    geometry: &Geometry,
    from: usize,
    to: usize,
) -> core::ops::Range<u64> {
    let first = geometry.block_of(folio.pos());
    first + geometry.block_of(from as u64)..first + geometry.blocks_for(to as u64)
}

/// `write_begin` for `len` bytes at `pos`: allocates the holes the write
/// covers (all or none), reads the folio if the write does not cover all
/// of it, and zeroes what the write leaves of each new block.
pub(crate) fn prepare_write(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    pos: u64,
    len: usize,
) -> Result {
    let geometry = inode.sb().info().geometry;
    let from = (pos - folio.pos()) as usize;
    let to = from + len;
    if len == 0 {
        return Ok(());
    }
    let new = Meta::lock(inode.sb()).map_range(inode, blocks_of(folio, &geometry, from, to));
    let new = match new {
        Ok(new) => new,
        Err(err) => {
            trim_failed_write(inode, u64::MAX);
            return Err(err);
        }
    };
    let result = zero_new_blocks(inode, folio, new, from, to);
    if result.is_err() {
        trim_failed_write(inode, u64::MAX);
    }
    result
}

/// The rest of `prepare_write` once the blocks are mapped: reads the folio
/// unless the write covers all of it, then zeroes the bytes of each new
/// block (bit `k` of `new`) that the write does not cover.
fn zero_new_blocks(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    new: u32,
    from: usize,
    to: usize,
) -> Result {
    let geometry = inode.sb().info().geometry;
    let block_size = geometry.block_bytes();
    if !folio.is_uptodate() && (from != 0 || to != PAGE_SIZE) {
        fill_folio(inode, folio)?;
        folio.mark_uptodate();
    }
    let first_block = geometry.block_of(from as u64) as usize;
    for k in 0..geometry.blocks_for(to as u64) as usize - first_block {
        if new & (1 << k) == 0 {
            continue;
        }
        let block_start = (first_block + k) * block_size;
        let block_end = block_start + block_size;
        if from > block_start {
            folio.mvc(block_start, from - block_start, Op::Zero)?;
        }
        if to < block_end {
            folio.mvc(to, block_end - to, Op::Zero)?;
        }
    }
    Ok(())
}

/// `write_end`: `copied` of `len` bytes at `pos` reached the folio.
/// Returns the bytes accepted: none if a folio that is not uptodate got a
/// short copy (the rest of it was never read).
pub(crate) fn finish_write(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    pos: u64,
    len: usize,
    copied: usize,
) -> usize {
    if !folio.is_uptodate() {
        if copied < len {
            return 0;
        }
        folio.mark_uptodate();
    }
    if copied == 0 {
        return 0;
    }
    folio.mark_dirty();
    let end = pos + copied as u64;
    if end > inode.size() {
        inode.set_size(end);
        inode.mark_dirty();
    }
    copied
}

/// After a write that meant to reach `end`: frees the blocks that
/// `write_begin` allocated past the end of the file if the write fell
/// short of them, as the format forbids blocks past the end.
pub(crate) fn trim_failed_write(inode: &Inode, end: u64) {
    let size = inode.size();
    if end <= size {
        return;
    }
    if let Err(err) = Meta::lock(inode.sb()).truncate_blocks(inode, size, false) {
        toyfs_err!(
            "inode {}: freeing after a short write: {:?}\n",
            inode.ino(),
            err
        );
    }
}

/// `page_mkwrite`: gives every hole of the page inside the file a block,
/// all or none (`ENOSPC`), before the page becomes writable.  The bytes of
/// those blocks are zeros already: `read_folio` PROTZERO'd them.
pub(crate) fn page_mkwrite(inode: &Inode, folio: &LockedFolio<'_>) -> Result {
    let size = inode.size();
    if folio.pos() >= size {
        return Err(EFAULT);
    }
    let geometry = inode.sb().info().geometry;
    let inside = ((size - folio.pos()).min(PAGE_SIZE as u64)) as usize;
    Meta::lock(inode.sb()).map_range(inode, blocks_of(folio, &geometry, 0, inside))?;
    Ok(())
}

/// Whether writeback has anything of the folio to write.
pub(crate) fn is_inside_eof(inode: &Inode, folio: &LockedFolio<'_>) -> bool {
    folio.pos() < inode.size()
}

/// Writeback of a locked folio: each block's bytes inside the file are
/// copied to its buffer head with vm_mvc READ, the rest of the last block
/// is written as zeros.  A hole whose bytes are all zero stays a hole; one
/// that is not gets a block first.
pub(crate) fn write_folio(inode: &Inode, folio: &LockedFolio<'_>) -> Result {
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    for FolioBlock { offset, n, valid } in blocks_inside(folio, &geometry, inode.size()) {
        let mut block = Meta::lock(sb).lookup(inode.ino(), n)?;
        if block == 0 {
            // Only a hole needs the scratch copy (to see whether it is
            // still all zeroes); most folios have none.
            let mut scratch = KVec::from_elem(0u8, geometry.block_bytes(), GFP_KERNEL)?;
            let buffer = KernelBuffer::attach(&mut scratch)?;
            folio.mvc(offset, valid, Op::Read { to: &buffer, at: 0 })?;
            drop(buffer);
            if scratch[..valid].iter().all(|&byte| byte == 0) {
                continue;
            }
            let mut meta = Meta::lock(sb);
            meta.map_range(inode, n..n + 1)?;
            block = meta.lookup(inode.ino(), n)?;
        }
        let mut data = Buffer::read(sb, block)?;
        {
            let buffer = KernelBuffer::attach(data.data_mut())?;
            folio.mvc(offset, valid, Op::Read { to: &buffer, at: 0 })?;
        }
        data.data_mut()[valid..].fill(0);
        data.mark_dirty();
    }
    Ok(())
}
