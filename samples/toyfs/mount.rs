// SPDX-License-Identifier: GPL-2.0

//! The filesystem as a whole: the superblock at mount, remount, sync and
//! unmount, and statfs (ext2's super.c; the VFS glue is in
//! ops/super_ops.rs).

use crate::{
    balloc,
    format::{
        constants::{BITMAP_START, SUPERBLOCK_BLOCK, SUPERBLOCK_SIZE},
        geometry::Geometry,
        superblock::{FsState, Superblock},
    },
    ialloc,
    packed::Scratch,
    vfs::{crc32c, toyfs_err, Buffer, SuperBlock},
};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::{
    prelude::*,
    sync::{Mutex, MutexGuard},
};

/// What `statfs` reports: sizes in bytes, counts in fragments (blocks
/// without the FRAGMENTS feature).
pub(crate) struct Stat {
    pub(crate) block_size: u32,
    pub(crate) fragment_size: u32,
    pub(crate) blocks: u32,
    pub(crate) free_blocks: u32,
    pub(crate) inodes: u32,
    pub(crate) free_inodes: u32,
}

/// Validates the superblock read at mount and the device size.
pub(crate) fn parse_mount_superblock(block0: &[u8], device_bytes: u64) -> Result<Superblock> {
    let mut raw = [0u8; SUPERBLOCK_SIZE];
    raw.copy_from_slice(block0.get(..SUPERBLOCK_SIZE).ok_or(EINVAL)?);
    let disk = Superblock::decode_with(&raw, crc32c).map_err(|error| {
        toyfs_err!("not a valid toyfs superblock: {}\n", error.rule());
        EINVAL
    })?;
    let geometry = disk.geometry;
    let needed = geometry.byte_size();
    if device_bytes < needed {
        toyfs_err!(
            "device of {} bytes is smaller than the filesystem ({} bytes)\n",
            device_bytes,
            needed
        );
        return Err(EINVAL);
    }
    if disk.state == FsState::Dirty {
        kernel::pr_notice!("not cleanly unmounted: recounting the free blocks and inodes\n");
    }
    Ok(disk)
}

/// The buffers that compressed blocks are decompressed and compressed
/// in: for each CPU with the LZ4 feature, none without.
pub(crate) fn decompression_buffers(geometry: &Geometry) -> Result<Scratch> {
    if geometry.has_compression() {
        Scratch::new(geometry.block_bytes())
    } else {
        Ok(Scratch::none())
    }
}

/// Writes the superblock with the free counts and `state`.  The features
/// are read under the lock of the superblock's buffer, as ext2 changes
/// its superblock's features under the buffer's lock
/// (`ext2_update_dynamic_rev`, `ext2_set_feature_*`): a feature set
/// since the mount ([`set_feature`]) is stored before the write that
/// sets it takes that lock, so every image copied into the buffer after
/// that one has it.  An image made before the lock (as until review rev8,
/// S) could be a `sync_fs`'s made before the feature was stored and
/// copied after the setter's synchronous write: the buffer, then the
/// disk, lost the feature while inodes needing it were being written,
/// until the next superblock write.  The free counts are read before
/// (the allocator's lock is not taken under a buffer lock): a count older
/// than another write's harms nothing, the state is dirty while mounted
/// read-write and a dirty mount counts again.
///
/// A superblock the buffer holds already, its bytes on the disk
/// ([`crate::vfs::BufferGuard::is_on_disk`]: clean, uptodate, its last
/// write not failed), is not written again: nothing changed.  So a
/// `sync(2)` or `syncfs(2)` of a frozen toyfs writes nothing (the freeze
/// wrote the superblock, and nothing changes it until the thaw), and
/// neither does one of a filesystem idle since its last: until 2026-12-07
/// each `sync_fs` wrote the same bytes again, to the frozen device too
/// (`toyfs-probe frozen`).
fn write_superblock(sb: &SuperBlock, state: FsState, sync: bool) -> Result {
    let (free_blocks, free_inodes) = {
        let alloc = sb.info().alloc.lock();
        (alloc.free_blocks, alloc.free_inodes)
    };
    let block0 = Buffer::read(sb, SUPERBLOCK_BLOCK)?;
    {
        let mut data = block0.lock();
        let superblock = Superblock {
            geometry: sb.info().geometry_now(),
            free_blocks,
            free_inodes,
            state,
        };
        let bytes = superblock.encode_with(crc32c);
        if data.data()[..SUPERBLOCK_SIZE] == bytes && data.is_on_disk() {
            return Ok(());
        }
        data.data_mut()[..SUPERBLOCK_SIZE].copy_from_slice(&bytes);
        // Dirty before the lock goes: a racing `sync_fs` that finds
        // these bytes must not also find the buffer clean and skip it.
        block0.mark_dirty();
    }
    if sync {
        block0.sync()?;
    }
    Ok(())
}

/// Sets a feature the image lacks and writes the superblock with it,
/// waiting: `feature` is the feature's flag, which
/// [`SbInfo::geometry_now`](crate::info::SbInfo::geometry_now) reads, and
/// `written`, held by the caller, whether a superblock with it was read
/// or written and waited for.  For a feature set the first time
/// something on the disk needs it (SPECIAL_FILES, LARGE_FILES), before
/// that thing can be written, so that a toyfs that predates the feature
/// never mounts an image holding it (format/features.rs).  The flag is
/// stored before the superblock's buffer is locked ([`write_superblock`]):
/// no image lacking the feature reaches the buffer after this one.  A
/// write that fails returns its error, `written` unchanged; the flag
/// stays set and reaches the disk with the next superblock write, which
/// harms nothing (the image then merely has the feature).
pub(crate) fn set_feature(sb: &SuperBlock, feature: &AtomicBool, written: &mut bool) -> Result {
    if *written {
        return Ok(());
    }
    feature.store(true, Ordering::Release);
    write_superblock(sb, FsState::Dirty, true)?;
    *written = true;
    Ok(())
}

/// The SPECIAL_FILES feature on the disk, for the creation of a
/// symbolic link or special file under way: the first such creation
/// sets it and writes the superblock with it, waiting, before anything
/// on the disk can name the new inode, so that no inode of those types
/// reaches the disk of an image a toyfs that predates them would still
/// mount (format/features.rs).  Held until the creation has named the
/// inode (or failed), so that a second creator waits for the first.
pub(crate) struct SpecialFiles<'a> {
    sb: &'a SuperBlock,
    written: MutexGuard<'a, bool>,
    /// Whether this creation set the feature: the image did not have it.
    set_now: bool,
}

impl<'a> SpecialFiles<'a> {
    /// Sets the SPECIAL_FILES feature, if the image does not have it yet,
    /// and writes the superblock with it, waiting.  A write that fails
    /// fails the creation; the bit stays set in memory and reaches the
    /// disk with the next superblock write, which harms nothing (the image
    /// then merely has the feature).
    pub(crate) fn enable(sb: &'a SuperBlock) -> Result<Self> {
        let info = sb.info();
        let mut written = info.special_files_written.lock();
        if *written {
            return Ok(Self {
                sb,
                written,
                set_now: false,
            });
        }
        set_feature(sb, &info.special_files, &mut written)?;
        Ok(Self {
            sb,
            written,
            set_now: true,
        })
    }

    /// The creation failed before anything on the disk named the new
    /// inode (no room for its entry, the directory unreadable): if it set
    /// the feature, the feature is taken back and the superblock written
    /// without it, waiting, so that an image that never held a symbolic
    /// link or special file keeps the superblock it had.  If that write
    /// fails, the bit is set again (the disk may hold either; later
    /// superblock writes have it).
    pub(crate) fn take_back(mut self) {
        if !self.set_now {
            return;
        }
        self.set_now = false;
        let info = self.sb.info();
        info.special_files.store(false, Ordering::Release);
        if write_superblock(self.sb, FsState::Dirty, true).is_ok() {
            *self.written = false;
        } else {
            info.special_files.store(true, Ordering::Release);
        }
    }
}

impl Drop for SpecialFiles<'_> {
    fn drop(&mut self) {
        if self.set_now {
            kernel::pr_info!(
                "{}: first symbolic link or special file: SPECIAL_FILES feature set\n",
                self.sb.id()
            );
        }
    }
}

/// The LARGE_FILES feature on the disk before an inode that needs it
/// (a size past the double-indirect level's reach, or a triple-indirect
/// block) is written to its slot, as ext2 sets LARGE_FILE in
/// `ext2_write_inode`: the first such write sets the bit and writes the
/// superblock with it, waiting, so that no such inode reaches the disk of
/// an image a toyfs that predates the level would still mount
/// (format/features.rs).  A second writer waits for the first.  A write
/// that fails fails the inode's write; the bit stays set in memory and
/// reaches the disk with the next superblock write.
pub(crate) fn enable_large_files(sb: &SuperBlock) -> Result {
    let info = sb.info();
    enable_once(
        sb,
        &info.large_files,
        &info.large_files_written,
        "first file past the double-indirect blocks: LARGE_FILES",
    )
}

/// [`set_feature`] with `written` locked, once: the first caller sets
/// `feature` and logs `what` ("... feature set"); the others, and every
/// caller once the superblock on the disk has it, return at once.
fn enable_once(sb: &SuperBlock, feature: &AtomicBool, written: &Mutex<bool>, what: &str) -> Result {
    let mut written = written.lock();
    if *written {
        return Ok(());
    }
    set_feature(sb, feature, &mut written)?;
    kernel::pr_info!("{}: {} feature set\n", sb.id(), what);
    Ok(())
}

/// Sets the PREALLOC feature, if the image does not have it yet, and
/// writes the superblock with it, waiting: called by `fallocate` before
/// it allocates the first block past the end of a file, so that no such
/// block reaches the disk of an image that a toyfs or fsck.toyfs
/// predating the feature would still take (format/features.rs).  A write
/// that fails fails the `fallocate` (nothing allocated); the bit stays
/// set in memory and reaches the disk with the next superblock write,
/// which harms nothing (the image then merely has the feature).  Never
/// taken back, as SPECIAL_FILES is not once a creation succeeded.
pub(crate) fn enable_prealloc(sb: &SuperBlock) -> Result {
    let info = sb.info();
    enable_once(
        sb,
        &info.prealloc,
        &info.prealloc_written,
        "first block preallocated past the end of a file: PREALLOC",
    )
}

/// Sets the GENERATIONS feature, if the image does not have it yet, and
/// writes the superblock with it, waiting: called before an inode this
/// toyfs allocates is written with its generation (`ialloc::claim`), so
/// that no inode with one reaches the disk of an image that a toyfs or
/// fsck.toyfs predating the feature would still take (they would call
/// the generation bad flags).  A write that fails fails the creation
/// (nothing claimed); the bit stays set in memory and reaches the disk
/// with the next superblock write.  Never cleared.
pub(crate) fn enable_generations(sb: &SuperBlock) -> Result {
    let info = sb.info();
    enable_once(
        sb,
        &info.generations,
        &info.generations_written,
        "first inode allocated: GENERATIONS",
    )
}

/// Reads the bitmap blocks, to keep for the mount.
pub(crate) fn read_bitmap(sb: &SuperBlock, geometry: &Geometry) -> Result<KVVec<Buffer>> {
    let mut bitmap = KVVec::with_capacity(geometry.bitmap_blocks() as usize, GFP_KERNEL)?;
    for index in 0..geometry.bitmap_blocks() {
        bitmap.push(Buffer::read(sb, BITMAP_START + index)?, GFP_KERNEL)?;
    }
    Ok(bitmap)
}

/// Mounts: a read-write mount recomputes the free counts and writes the
/// dirty state before changing anything else.
pub(crate) fn mount(sb: &SuperBlock) -> Result {
    if sb.is_read_only() {
        return Ok(());
    }
    start_writing(sb)
}

/// Writes the dirty state: the filesystem is about to change.  The
/// inodes in use are set up first, once per mount (a read-only mount
/// frees none, so a remount read-write keeps what an earlier read-write
/// phase built), before any inode can be allocated or freed.  The free
/// counts of a superblock that was not cleanly unmounted may be stale:
/// they are recomputed from the bitmap and the whole inode table.  Those
/// of a clean one are exact, and kept, and then no inode-table block is
/// read here: `ialloc::take` reads the table as far as it needs (a
/// mount's cost is the bitmap's, a 32nd of the inode table's with the
/// default inode count).
fn start_writing(sb: &SuperBlock) -> Result {
    let bitmap_damaged = !balloc::reserved_bits_set(sb);
    let (exact, built) = {
        let alloc = sb.info().alloc.lock();
        (alloc.counts_exact, !alloc.inodes.is_empty())
    };
    if !exact {
        let (inodes, free_inodes) = ialloc::scan_inode_table(sb)?;
        let free_blocks = balloc::count_free(sb);
        let mut alloc = sb.info().alloc.lock();
        alloc.inodes = inodes;
        alloc.free_blocks = free_blocks;
        alloc.free_inodes = free_inodes;
        alloc.counts_exact = true;
    } else if !built {
        let inodes = ialloc::unread(sb)?;
        sb.info().alloc.lock().inodes = inodes;
    }
    sb.info().alloc.lock().bitmap_damaged = bitmap_damaged;
    write_superblock(sb, FsState::Dirty, true)
}

/// `mount -o remount`: going read-only writes the clean state (the VFS
/// caller has synced everything), going read-write starts as a mount
/// does.
pub(crate) fn remount(sb: &SuperBlock, read_only: bool) -> Result {
    match (sb.is_read_only(), read_only) {
        (false, true) => unmount(sb),
        (true, false) => start_writing(sb),
        _ => Ok(()),
    }
}

/// Unmounts: writes the exact counts and the clean state.
pub(crate) fn unmount(sb: &SuperBlock) -> Result {
    if sb.is_read_only() {
        return Ok(());
    }
    write_superblock(sb, FsState::Clean, true)
}

/// `sync_fs`: the counts reach the disk; the state stays dirty while
/// mounted read-write.
pub(crate) fn sync_fs(sb: &SuperBlock, wait: bool) -> Result {
    if sb.is_read_only() {
        return Ok(());
    }
    write_superblock(sb, FsState::Dirty, wait)
}

/// `freeze_fs`, after `freeze_super` blocked the writers and wrote
/// everything back (`sync_filesystem`): fails with `EIO` while an inode
/// holds runs because a write of its map failed
/// (`SbInfo::inodes_kept_after_failure`): a write of its moved blocks, of
/// its indirect blocks or of the inode failed (`InodeInfo::failed`,
/// `InodeInfo::indirect`) and its map stays off the disk, its runs held
/// (a failed write with no run held fails no freeze, keptfix 4).  A
/// ratelimited message names the device and one such inode (keptfix 5).
/// `freeze_super` then thaws and returns the error: a frozen image must
/// not change, and that inode, dirty, would be written by its `fsync`
/// (which takes no freeze protection, as ext2's).  The state is judged,
/// not the sync's events, so that `syncfs` and `sync(2)` are not failed
/// by it (the file's `fsync` reports the failed write), and a freeze
/// succeeds again once the map reached the disk (review 2026-12-07,
/// freezefix 1).  Runs held for an instant by an `fsync` in flight beside
/// the freeze are not counted.
pub(crate) fn freeze(sb: &SuperBlock) -> Result {
    let info = sb.info();
    let kept = info.inodes_kept_after_failure.load(Ordering::Acquire);
    if kept > 0 {
        if info.errors.allow(sb.id_cstr()) {
            kernel::pr_err!(
                "{}: freeze refused (EIO): {} inode(s) hold runs after a failed write of their map, inode {} among them; its fsync or the next writeback writes it again\n",
                sb.id(),
                kept,
                info.last_kept_after_failure.load(Ordering::Relaxed)
            );
        }
        return Err(EIO);
    }
    Ok(())
}

/// `statfs`.
pub(crate) fn statfs(sb: &SuperBlock) -> Stat {
    let geometry = sb.info().geometry;
    let alloc = sb.info().alloc.lock();
    Stat {
        block_size: geometry.block_size(),
        fragment_size: geometry.fragment_size(),
        blocks: geometry.fragment_count(),
        free_blocks: alloc.free_blocks,
        inodes: geometry.inode_count(),
        free_inodes: alloc.free_inodes,
    }
}
