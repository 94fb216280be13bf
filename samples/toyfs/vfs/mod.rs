// SPDX-License-Identifier: GPL-2.0

//! Small safe wrappers over the kernel objects toyfs works with: the
//! superblock, inodes, buffer heads, folios, read and write requests
//! (`kiocb`), directory contexts, log
//! ratelimits, the CRC-32C of the superblock and the LZ4 decoder.
//!
//! Every `unsafe` block of the filesystem logic's types is here; the
//! operation tables and their `extern "C"` trampolines are in `ops/`,
//! above both this and the logic.  Nothing here imports the logic but the
//! type of `s_fs_info` (info.rs).

mod bio;
mod buffer;
mod dir_emitter;
mod folio;
mod folio_state;
mod inode;
mod iomap;
mod kiocb;
mod lz4;
mod ratelimit;
mod super_block;

pub(crate) use bio::{plugged, read_and_wait, BioBatch, Direction};
pub(crate) use buffer::{Buffer, BufferGuard, CachedWrite, KeptBuffer};
pub(crate) use dir_emitter::DirEmitter;
pub(crate) use folio::{
    detach_state, lock_cached_folio, pagecache_isize_extended, state_of, truncate_pagecache_range,
    truncate_setsize, with_folio, with_two_folios, LockedFolio, NofsScope,
};
pub(crate) use folio_state::{FolioState, MAX_FOLIO_BLOCKS};
pub(crate) use inode::{
    alloc_inode, free_inode, Inode, InodeCache, InodeGuard, InodeOps, InodeRef, InvalidateGuard,
    NewOwner,
};
pub(crate) use iomap::{fill_iomap, IoExtent, IomapOps};
pub(crate) use kiocb::{allow_direct_io, Kiocb};
pub(crate) use lz4::{compress as lz4_compress, decompress as lz4_decompress, COMPRESS_WORDS};
pub(crate) use ratelimit::{init_mount_log, toyfs_err, RateLimit, MOUNT_LOG};
pub(crate) use super_block::{Iget, SuperBlock};

use crate::sys;
use kernel::{bindings, prelude::*};

/// Bytes of a base page.
pub(crate) const PAGE_SIZE: usize = bindings::PAGE_SIZE;

/// Drops the buffer cache's copies of blocks `first..first + count` of
/// the device of `sb` (`clean_bdev_aliases`): blocks of metadata just
/// freed, whose dirty copies must not reach the disk later over what the
/// blocks hold by then.
pub(crate) fn clean_bdev_aliases(sb: &SuperBlock, first: u32, count: u32) {
    // SAFETY: The device is open for the superblock's life.
    unsafe { sys::clean_bdev_aliases(sb.bdev(), first.into(), count.into()) };
}

/// [`clean_bdev_aliases`] for blocks `first..first + count` that become
/// whole blocks of a file, written by bio from its folios from now on:
/// their cached copies are also no longer kept for a failed write
/// ([`Buffer::forget_failed_write`]), which would write them again over
/// the file's bytes.  They stay uptodate (another file's `fsync` may be
/// waiting for the write of one, a tail the block held before): when the
/// block holds fragments again, [`forget_block_copy`] forgets them.
pub(crate) fn forget_bdev_aliases(sb: &SuperBlock, first: u32, count: u32) {
    clean_bdev_aliases(sb, first, count);
    for block in first..first + count {
        Buffer::forget_failed_write(sb, block);
    }
}

/// Whole block `block` of a file, written by bio from the file's folio
/// until now, keeps some of its fragments and is written through the
/// buffer cache from now on (a truncation into it), with other files'
/// tails in the rest: its cached copies are cleaned and no longer
/// uptodate, a folio of the device holding it without buffers included
/// ([`Buffer::forget_copy`]), so that the first tail written there reads
/// the disk, which holds the file's bytes as its last write by bio left
/// them.  A copy cached before that write (a read of the device after the
/// block was allocated, or one that [`forget_bdev_aliases`] did not find,
/// without buffers) would put older bytes over the file's fragments when
/// another file's tail writes the buffer.
pub(crate) fn forget_block_copy(sb: &SuperBlock, block: u32) -> Result {
    clean_bdev_aliases(sb, block, 1);
    Buffer::forget_copy(sb, block)
}

/// Writes zeros over blocks `first..first + count` of the device of `sb`
/// and waits (`blkdev_issue_zeroout`): blocks allocated for `fallocate`,
/// before the block map names them.  `GFP_NOFS`: the caller holds the
/// file's map lock, which reclaim writing back toyfs folios would take.
pub(crate) fn zero_blocks(sb: &SuperBlock, first: u32, count: u32) -> Result {
    let shift = sb.block_shift() - 9;
    // SAFETY: The device is open for the superblock's life.
    kernel::error::to_result(unsafe {
        bindings::blkdev_issue_zeroout(
            sb.bdev(),
            u64::from(first) << shift,
            u64::from(count) << shift,
            sys::TOYFS_GFP_NOFS,
            0,
        )
    })
}

/// Between two parts of a long walk, holding no spinlock (a sleeping
/// lock, as the inode's, may be held): yields the CPU if another task
/// wants it (`cond_resched`: a kernel without preemption otherwise runs
/// the walk to its end), and ends the walk with `EINTR` if the task is
/// being killed (`fatal_signal_pending`, as btrfs's FIEMAP walk does;
/// the caller never sees the error).
pub(crate) fn resched_unless_killed() -> Result {
    // SAFETY: From a task's context that may sleep (no spinlock held).
    unsafe { sys::toyfs_cond_resched() };
    // SAFETY: Reads the current task's signal state.
    if unsafe { sys::toyfs_fatal_signal_pending() } {
        return Err(EINTR);
    }
    Ok(())
}

/// CRC-32C of `bytes` as the superblock's checksum defines it (initial
/// value all ones, result inverted), by the kernel's `crc32c()`.
pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    // SAFETY: `bytes` is valid for reads of its length.
    !unsafe { sys::crc32c(!0, bytes.as_ptr().cast(), bytes.len()) }
}
