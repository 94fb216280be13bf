// SPDX-License-Identifier: GPL-2.0

//! Inode allocation: free inodes of the inode table and their count
//! (ext2's ialloc.c).  Which inodes are in use is kept in memory while
//! mounted read-write (`Allocator::inodes`), so that finding a free inode
//! reads nothing it has read before and every free is recorded.  The
//! table is read into it only as far as allocation needs (`take`): a
//! clean mount reads none of it, which on an image of gigabytes is
//! megabytes of I/O and of buffer cache saved at every mount (ext2 keeps
//! an inode bitmap per group for the same reason).  A mount whose free
//! counts are stale reads all of it (`scan_inode_table`).

use crate::{
    format::{
        constants::{INODE_SIZE, ROOT_INO},
        inode::{next_generation, Inode as DiskInode, S_IFMT, S_IFREG},
    },
    meta::InodeSlot,
    mount,
    vfs::{Buffer, SuperBlock},
};
use kernel::prelude::*;

/// Which inodes are in use, as far as the inode table was read.
///
/// # Invariants
///
/// `bits` has a bit per inode (inode `ino` is bit `ino - 1`), set if in
/// use; only the first `known` bits are meaningful (the table was read
/// that far), the others are clear.  Every inode below `64 * hint` is in
/// use, and `hint * 64 <= known`, rounded up to a word.
#[derive(Default)]
pub(crate) struct InodeBits {
    bits: KVVec<u64>,
    known: usize,
    hint: usize,
}

impl InodeBits {
    /// Nothing read yet, for `count` inodes (`KVVec`: 4 million inodes
    /// are 512 KiB, more than a physically contiguous allocation should
    /// be asked for).
    fn unread(count: usize) -> Result<Self> {
        Ok(Self {
            bits: KVVec::from_elem(0u64, count.div_ceil(64), GFP_KERNEL)?,
            known: 0,
            hint: 0,
        })
    }

    /// Whether nothing was set up yet (a read-write mount sets it up).
    pub(crate) fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// Records inode `n + 1` (bit `n`) in use or free.  A bit past
    /// `known` is only ever cleared: an inode there freed before the
    /// table is read that far.
    fn set(&mut self, n: usize, in_use: bool) {
        if let Some(word) = self.bits.get_mut(n / 64) {
            if in_use {
                *word |= 1 << (n % 64);
            } else {
                *word &= !(1 << (n % 64));
                self.hint = self.hint.min(n / 64);
            }
        }
    }

    /// The first inode bit below `known` that is clear, from the hint on.
    fn first_free(&mut self) -> Option<usize> {
        let words = self.known.div_ceil(64).min(self.bits.len());
        for word in self.hint..words {
            let bits = self.bits[word];
            if bits != !0 {
                let n = word * 64 + (!bits).trailing_zeros() as usize;
                self.hint = word;
                return (n < self.known).then_some(n);
            }
        }
        self.hint = words;
        None
    }
}

/// Which inodes of the inode-table block `data` are in use (bit `i` for
/// its `i`-th inode), and how many of its inodes are the table's: its
/// first is bit `first` of the table's `count`.
fn read_table_block(data: &[u8], first: usize, count: usize) -> (u64, usize) {
    let per_block = data.len() / INODE_SIZE;
    let slots = per_block.min(count.saturating_sub(first));
    let mut in_use = 0u64;
    for slot in 0..slots {
        let mut raw = [0u8; INODE_SIZE];
        raw.copy_from_slice(&data[slot * INODE_SIZE..(slot + 1) * INODE_SIZE]);
        if !DiskInode::decode(&raw).is_free() {
            in_use |= 1 << slot;
        }
    }
    (in_use, slots)
}

/// Reads the whole inode table: the inodes in use, and the free count.
pub(crate) fn scan_inode_table(sb: &SuperBlock) -> Result<(InodeBits, u32)> {
    let geometry = sb.info().geometry;
    let count = geometry.inode_count() as usize;
    let mut inodes = InodeBits::unread(count)?;
    let mut free = 0;
    let per_block = geometry.block_bytes() / INODE_SIZE;
    for index in 0..geometry.inode_table_blocks() {
        let table = Buffer::read(sb, geometry.inode_table_start() + index)?;
        let first = index as usize * per_block;
        let (in_use, slots) = read_table_block(table.lock().data(), first, count);
        for slot in 0..slots {
            inodes.set(first + slot, in_use & (1 << slot) != 0);
        }
        // CAST: at most 32 inodes per block.
        free += slots as u32 - in_use.count_ones();
    }
    inodes.known = count;
    Ok((inodes, free))
}

/// Sets up the inodes in use of a read-write mount whose free counts are
/// exact, before any inode is allocated or freed: none read yet.
pub(crate) fn unread(sb: &SuperBlock) -> Result<InodeBits> {
    InodeBits::unread(sb.info().geometry.inode_count() as usize)
}

/// Takes a free inode number (in memory only, until `claim`), or fails
/// with `ENOSPC`.  Reads the inode table on, a block at a time, when the
/// part read has no free inode.
pub(crate) fn take(sb: &SuperBlock) -> Result<u32> {
    let geometry = sb.info().geometry;
    let count = geometry.inode_count() as usize;
    let per_block = geometry.block_bytes() / INODE_SIZE;
    loop {
        let known = {
            let mut alloc = sb.info().alloc.lock();
            if let Some(found) = alloc.inodes.first_free() {
                // CAST: below `inode_count`, a `u32`.
                let ino = found as u32 + 1;
                if ino == ROOT_INO {
                    // The root is always in use: a damaged table said
                    // otherwise.
                    return Err(ENOSPC);
                }
                alloc.inodes.set(found, true);
                alloc.free_inodes = alloc.free_inodes.saturating_sub(1);
                return Ok(ino);
            }
            if alloc.inodes.known >= count || alloc.inodes.is_empty() {
                return Err(ENOSPC);
            }
            alloc.inodes.known
        };
        // The next block of the table, read without the allocator's
        // lock (it is never held across I/O).  Its inodes are past
        // `known`: none of them is taken, and one that is freed meanwhile
        // (`free_inode`) is zeroed and put back under the buffer's lock,
        // which is held here until the bits are recorded, so either its
        // zeros are read with its `put_back` done, or its bytes in use
        // are, and its `put_back` comes after the bits.
        // CAST: `known` is a multiple of the inodes per block below
        // `count`, so the block is one of the table's.
        let index = (known / per_block) as u32;
        let table = Buffer::read(sb, geometry.inode_table_start() + index)?;
        let data = table.lock();
        let (in_use, slots) = read_table_block(data.data(), known, count);
        let mut alloc = sb.info().alloc.lock();
        if alloc.inodes.known != known {
            // Another allocation read it first.
            continue;
        }
        for slot in 0..slots {
            alloc.inodes.set(known + slot, in_use & (1 << slot) != 0);
        }
        alloc.inodes.known = known + slots;
    }
}

/// Gives inode number `ino` back: taken but not claimed, or freed.
pub(crate) fn put_back(sb: &SuperBlock, ino: u32) {
    let mut alloc = sb.info().alloc.lock();
    alloc.inodes.set((ino - 1) as usize, false);
    alloc.free_inodes += 1;
}

/// Writes taken inode `ino` as a new file of `mode` with `nlink` links (a
/// regular file with the image's default flags); a directory gets
/// `dir_block`, already filled, as its one block; a device keeps `rdev`
/// (`new_encode_dev`) in `direct[0]` (0 for every other type).  The
/// inode's generation is the one after the slot's last inode's, which
/// [`free_inode`] kept (`next_generation`): a file handle of that inode
/// (`ops::export`) is stale, not the new file's.  The GENERATIONS feature
/// is on the disk first (`mount::enable_generations`); if that write
/// fails, nothing is claimed.
pub(crate) fn claim(
    sb: &SuperBlock,
    ino: u32,
    mode: u16,
    nlink: u16,
    dir_block: Option<u32>,
    rdev: u32,
) -> Result {
    let geometry = sb.info().geometry;
    let block_size = geometry.block_size();
    let slot = InodeSlot::read(sb, ino)?;
    mount::enable_generations(sb)?;
    slot.update(|inode| {
        *inode = DiskInode {
            mode,
            nlink,
            generation: next_generation(inode.generation),
            // A regular file of an image with LZ4 is compressed if the
            // image says so (`mkfs.toyfs -c lz4`).
            flags: if mode & S_IFMT == S_IFREG {
                geometry.default_file_flags()
            } else {
                0
            },
            ..DiskInode::default()
        };
        inode.direct[0] = rdev;
        if let Some(block) = dir_block {
            inode.size = u64::from(block_size);
            inode.direct[0] = geometry.encode_pointer(geometry.whole_block(block));
            inode.blocks = geometry.fragments_per_block();
        }
    });
    Ok(())
}

/// Gives inode `ino` back: its 128 bytes become zero (free) but for its
/// generation, kept for the slot's next inode ([`claim`]), and it is
/// recorded free before the lock of its block of the inode table goes.
/// `take`, reading that block past the part of the table read so far
/// under the same lock, then finds the inode in use and records it so
/// before this records it free, or finds it free with this done: never
/// free with this still to come, which, once the inode was taken again
/// meanwhile, would record a file's inode free (and give it to a second
/// file).
pub(crate) fn free_inode(sb: &SuperBlock, ino: u32) -> Result {
    InodeSlot::read(sb, ino)?.update_then(
        |inode| {
            *inode = DiskInode {
                generation: inode.generation,
                ..DiskInode::default()
            }
        },
        || put_back(sb, ino),
    );
    Ok(())
}
