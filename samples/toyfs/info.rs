// SPDX-License-Identifier: GPL-2.0

//! The in-memory state of a mounted toyfs (`s_fs_info`) and of each of its
//! inodes.
//!
//! Locks, from outer to inner: a folio lock, an inode's `map_lock`, the
//! filesystem's `buffer_lists` lock, a buffer lock, the filesystem's
//! `alloc` lock.  `alloc` guards only memory (the bitmap blocks stay in
//! memory for the whole mount and their bits are atomics), so the
//! allocator never waits for I/O; `buffer_lists` is held across the
//! writes of an inode's own metadata buffers by its `fsync`
//! (`SbInfo::buffer_lists`).

use crate::{
    format::{
        address::Extent,
        geometry::Geometry,
        inode::Inode as DiskInode,
        superblock::{FsState, Superblock},
    },
    ialloc::InodeBits,
    packed::Scratch,
    tail_owners::TailOwners,
    vfs::{Buffer, KeptBuffer, RateLimit},
};
use core::sync::atomic::Ordering;
use core::{
    ops::Range,
    sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize},
};
use kernel::{new_mutex, prelude::*, sync::Mutex};

/// The allocator's state, exact in memory while mounted.
pub(crate) struct Allocator {
    /// Free data blocks, less those reserved by allocations under way.
    pub(crate) free_blocks: u32,
    /// Free inodes.
    pub(crate) free_inodes: u32,
    /// Where the next search for a block without a goal starts: just
    /// past the last allocation, so that a growing file finds its next
    /// block at once instead of rescanning the start of the bitmap.
    pub(crate) hint: u32,
    /// Whether the counts above are exact: read from a cleanly unmounted
    /// superblock, or recounted.
    pub(crate) counts_exact: bool,
    /// Which inodes are in use, read from the inode table as far as
    /// allocation needed (`ialloc`); set up when the filesystem is first
    /// mounted or remounted read-write, empty before.
    pub(crate) inodes: InodeBits,
    /// Whether the bitmap marks a metadata block or a padding bit free
    /// (found at mount): then no block is allocated.
    pub(crate) bitmap_damaged: bool,
}

/// The in-memory state of a mounted filesystem (`s_fs_info`).
#[pin_data]
pub(crate) struct SbInfo {
    /// The layout, fixed at mkfs time.
    pub(crate) geometry: Geometry,
    /// The bitmap blocks, read at mount and kept for its duration
    /// (`KVVec`: 16 GiB of 1 KiB blocks with LZ4 has 16,384 of them).
    pub(crate) bitmap: KVVec<Buffer>,
    /// The allocator.
    #[pin]
    pub(crate) alloc: Mutex<Allocator>,
    /// The ratelimit of the corruption messages about this filesystem
    /// (as ext4's `s_err_ratelimit_state`), so that one damaged
    /// filesystem cannot hide another's errors.
    #[pin]
    pub(crate) errors: RateLimit,
    /// The buffers compressed blocks are decompressed into (none without
    /// the LZ4 feature).
    pub(crate) scratch: Scratch,
    /// The SPECIAL_FILES feature: read from the superblock, and set by
    /// `mount::SpecialFiles::enable` the first time a symbolic link or
    /// special file is made (cleared again only if that creation fails
    /// before its entry is added, `SpecialFiles::take_back`).  `geometry` keeps the
    /// value read at mount; [`SbInfo::geometry_now`] has this one.
    pub(crate) special_files: AtomicBool,
    /// Whether a superblock with SPECIAL_FILES was read or written and
    /// waited for: what a symbolic link or special file made waits for.
    #[pin]
    pub(crate) special_files_written: Mutex<bool>,
    /// The LARGE_FILES feature: read from the superblock, and set by
    /// `mount::enable_large_files` the first time an inode past the
    /// double-indirect level's reach is written (never cleared).
    pub(crate) large_files: AtomicBool,
    /// Whether a superblock with LARGE_FILES was read or written and
    /// waited for: what the first such inode's write waits for.
    #[pin]
    pub(crate) large_files_written: Mutex<bool>,
    /// The PREALLOC feature: read from the superblock, and set by
    /// `mount::enable_prealloc` the first time `fallocate` allocates past
    /// the end of a file (never cleared).  [`SbInfo::geometry_now`] has it.
    pub(crate) prealloc: AtomicBool,
    /// Whether a superblock with PREALLOC was read or written and waited
    /// for: what an allocation past the end of a file waits for.
    #[pin]
    pub(crate) prealloc_written: Mutex<bool>,
    /// The GENERATIONS feature: read from the superblock, and set by
    /// `mount::enable_generations` before the first inode this toyfs
    /// allocates on the image is written (never cleared).
    pub(crate) generations: AtomicBool,
    /// Whether a superblock with GENERATIONS was read or written and
    /// waited for: what the first inode allocated waits for.
    #[pin]
    pub(crate) generations_written: Mutex<bool>,
    /// Held by whoever puts a buffer on an inode's list of its own dirty
    /// buffers (`Buffer::mark_dirty_for`, `mmb_mark_buffer_dirty`) or
    /// works through such a list (`Inode::sync_own_buffers`, `mmb_sync`).
    /// The kernel keeps a buffer on one list at a time, each list under
    /// its own lock, and `mmb_sync` takes each buffer off its list and
    /// puts it back (dirty, or under I/O) under that list's lock only: a
    /// second inode marking the buffer in between finds it on no list,
    /// moves it to its own, and `mmb_sync` then links it into its own
    /// again, corrupting both lists (the next `mmb_sync` of the second
    /// inode looped with its lock held, warning at fs/buffer.c:472 and
    /// 543).  With FRAGMENTS a block's buffer holds several files' tails
    /// and compressed blocks, dirtied for each of them
    /// (`packed::dirty_packed`), and an indirect block freed by one file
    /// may be given to another while its buffer is still on the first's
    /// list: a buffer is marked for several inodes by design (review
    /// rev7, F2).  Innermost but for buffer locks and I/O: taken under a
    /// folio lock and an inode's `map_lock`, never the other way round.
    #[pin]
    pub(crate) buffer_lists: Mutex<()>,
    /// The runs kept allocated on the inodes' `InodeInfo::deferred`
    /// lists, and those taken off a list and not freed yet
    /// (`inode::free_deferred`): while there are any, an `ENOSPC` writes
    /// the filesystem's dirty inodes back and tries again, which frees
    /// them (`write::retry_after_writeback`); without any, an `ENOSPC`
    /// costs no writeback of other files.  A count only, read without
    /// a lock.
    pub(crate) held_runs: AtomicUsize,
    /// How many inodes hold runs because their last `write_inode` failed
    /// (`InodeInfo::kept_after_failure` set): a freeze fails while there
    /// are any (`mount::freeze`).  Runs held for an instant by a write
    /// in flight (an `fsync` beside the freeze) are not counted.
    pub(crate) inodes_kept_after_failure: AtomicUsize,
    /// The last inode counted in `inodes_kept_after_failure`, named by
    /// the message of a freeze that it fails (`mount::freeze`); it may
    /// have left the count since.
    pub(crate) last_kept_after_failure: AtomicU32,
    /// Which inodes name which tail block with their packed tail, read
    /// from the inode table the first time a tail block's last tail
    /// leaves it (`tail_owners`).  Taken with no buffer locked.
    #[pin]
    pub(crate) tail_owners: Mutex<TailOwners>,
    /// Counts the times fragments were marked free (`balloc::free_run`,
    /// bumped after the bits are cleared), so that a path of indirect
    /// blocks checked against the bitmap and remembered
    /// (`InodeInfo::last_path`) is known to be checked against a bitmap
    /// that may have changed since: by any file, as a damaged image may
    /// name one block in two files.
    pub(crate) frees: AtomicU64,
}

impl SbInfo {
    /// The state for a superblock read from the disk, its bitmap and the
    /// decompression buffers.
    pub(crate) fn new(
        disk: Superblock,
        bitmap: KVVec<Buffer>,
        scratch: Scratch,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(SbInfo {
            geometry: disk.geometry,
            bitmap,
            alloc <- new_mutex!(Allocator {
                free_blocks: disk.free_blocks,
                free_inodes: disk.free_inodes,
                hint: disk.geometry.first_data_block(),
                counts_exact: disk.state == FsState::Clean,
                inodes: InodeBits::default(),
                bitmap_damaged: false,
            }),
            errors <- RateLimit::new(),
            scratch,
            special_files: AtomicBool::new(disk.geometry.has_special_files()),
            special_files_written <- new_mutex!(disk.geometry.has_special_files()),
            large_files: AtomicBool::new(disk.geometry.has_large_files()),
            large_files_written <- new_mutex!(disk.geometry.has_large_files()),
            prealloc: AtomicBool::new(disk.geometry.has_prealloc()),
            prealloc_written <- new_mutex!(disk.geometry.has_prealloc()),
            generations: AtomicBool::new(disk.geometry.has_generations()),
            generations_written <- new_mutex!(disk.geometry.has_generations()),
            buffer_lists <- new_mutex!(()),
            held_runs: AtomicUsize::new(0),
            inodes_kept_after_failure: AtomicUsize::new(0),
            last_kept_after_failure: AtomicU32::new(0),
            tail_owners <- new_mutex!(TailOwners::default()),
            frees: AtomicU64::new(0),
        }? Error)
    }

    /// The layout with the features as they are now: SPECIAL_FILES,
    /// LARGE_FILES, PREALLOC and GENERATIONS may have been set since the
    /// mount.  What
    /// an inode is checked against, and what the superblock is written
    /// with.
    pub(crate) fn geometry_now(&self) -> Geometry {
        self.geometry
            .with_special_files(self.special_files.load(Ordering::Acquire))
            .with_large_files(self.large_files.load(Ordering::Acquire))
            .with_prealloc(self.prealloc.load(Ordering::Acquire))
            .with_generations(self.generations.load(Ordering::Acquire))
    }
}

/// A run of whole plain blocks of a file, contiguous on disk
/// (`InodeInfo::last_run`): file blocks `start..start + count` are disk
/// blocks `first..first + count`; none while `count` is 0.  Found or
/// allocated when the filesystem's count of frees (`SbInfo::frees`) was
/// `frees`, and only valid while it still is: the bitmap called its
/// blocks in use then, and only a free changes that, also one by
/// another file of a damaged image naming the same block.  Atomics only
/// so that a shared reference can change it: every access is under the
/// map's lock, which orders them (`Relaxed`).
#[derive(Default)]
pub(crate) struct LastRun {
    start: AtomicU64,
    first: AtomicU32,
    count: AtomicU64,
    frees: AtomicU64,
}

impl LastRun {
    /// The run, if any and if the filesystem's count of frees is still
    /// `frees`: `(start, first, count)`.
    #[inline]
    pub(crate) fn get(&self, frees: u64) -> Option<(u64, u32, u64)> {
        let count = self.count.load(Ordering::Relaxed);
        (count != 0 && self.frees.load(Ordering::Relaxed) == frees).then(|| {
            (
                self.start.load(Ordering::Relaxed),
                self.first.load(Ordering::Relaxed),
                count,
            )
        })
    }

    /// Remembers file blocks `start..start + count` at disk blocks
    /// `first..`, found in use when the filesystem's count of frees was
    /// `frees`.
    #[inline]
    pub(crate) fn set(&self, start: u64, first: u32, count: u64, frees: u64) {
        self.start.store(start, Ordering::Relaxed);
        self.first.store(first, Ordering::Relaxed);
        self.count.store(count, Ordering::Relaxed);
        self.frees.store(frees, Ordering::Relaxed);
    }

    /// Remembers file blocks `n..n + count`, just allocated at disk
    /// blocks `first..` with the filesystem's count of frees at `frees`:
    /// as the continuation of the run remembered if they follow it in
    /// the file and on the disk (an append) and it is still valid, else
    /// as the run.
    #[inline]
    pub(crate) fn add_new(&self, n: u64, first: u32, count: u32, frees: u64) {
        match self.get(frees) {
            Some((start, at, known))
                if start + known == n && u64::from(at) + known == u64::from(first) =>
            {
                self.count
                    .store(known + u64::from(count), Ordering::Relaxed);
            }
            _ => self.set(n, first, u64::from(count), frees),
        }
    }

    /// Forgets the run.
    #[inline]
    pub(crate) fn clear(&self) {
        self.count.store(0, Ordering::Relaxed);
    }
}

/// The indirect blocks on the path from an inode's pointer to one
/// last-level indirect block, as the walk of the map found and checked
/// them (`InodeInfo::last_path`): the block spans file blocks
/// `start..start + P`, `blocks[..levels]` the path, outermost first.
/// Valid while the map's generation and the filesystem's count of frees
/// (`SbInfo::frees`) are what they were when the walk began: every check
/// of the walk (`meta::check_entry`: in the data blocks, not a block
/// above it, marked in use) depends only on the pointers, which change
/// only with the map's generation bumped, and on the bitmap, whose
/// in-use bits change only by a free.  None while `start` is 0 (no
/// last-level block spans file block 0).  Atomics only so that a shared
/// reference can change it: every access is under the map's lock, which
/// orders them (`Relaxed`).
#[derive(Default)]
pub(crate) struct LastPath {
    start: AtomicU64,
    blocks: [AtomicU32; 3],
    generation: AtomicU64,
    frees: AtomicU64,
}

impl LastPath {
    /// The path to the last-level indirect block spanning from file
    /// block `start`, if it is the one remembered and the map's
    /// `generation` and the filesystem's `frees` have not changed since.
    #[inline]
    pub(crate) fn get(&self, start: u64, generation: u64, frees: u64) -> Option<[u32; 3]> {
        (start != 0
            && self.start.load(Ordering::Relaxed) == start
            && self.generation.load(Ordering::Relaxed) == generation
            && self.frees.load(Ordering::Relaxed) == frees)
            .then(|| {
                [
                    self.blocks[0].load(Ordering::Relaxed),
                    self.blocks[1].load(Ordering::Relaxed),
                    self.blocks[2].load(Ordering::Relaxed),
                ]
            })
    }

    /// Remembers `blocks` as the path to the last-level indirect block
    /// spanning from file block `start`, checked by a walk that began at
    /// the map's `generation` and the filesystem's `frees`.
    #[inline]
    pub(crate) fn set(&self, start: u64, blocks: [u32; 3], generation: u64, frees: u64) {
        for (slot, block) in self.blocks.iter().zip(blocks) {
            slot.store(block, Ordering::Relaxed);
        }
        self.generation.store(generation, Ordering::Relaxed);
        self.frees.store(frees, Ordering::Relaxed);
        self.start.store(start, Ordering::Relaxed);
    }

    /// Forgets the path.
    #[inline]
    pub(crate) fn clear(&self) {
        self.start.store(0, Ordering::Relaxed);
    }
}

/// The bytes of a file whose blocks got a new run (`InodeInfo::moved`).
#[derive(Clone, Default)]
pub(crate) struct Moved {
    /// The bytes (empty: none).
    pub(crate) bytes: Range<u64>,
    /// How many times bytes were noted: a change since `fsync` read them.
    notes: u64,
}

/// The bytes of a file whose data write failed and was not written since
/// (`InodeInfo::failed`): the hull of the failed ranges, in KiB (the
/// smallest block), rounded outward, in one atomic word (first KiB, end
/// KiB; 0 for none) so that a bio's completion, which may run in
/// interrupt context, records it without a lock.  Offsets past 4 TiB
/// count as the last KiB that fits: such a failure covers what follows.
#[derive(Default)]
pub(crate) struct FailedWrites(AtomicU64);

/// [`FailedWrites`]'s unit: 1 KiB.
const FAILED_UNIT_SHIFT: u32 = 10;

impl FailedWrites {
    /// `bytes` as units, `start` rounded up if `up_start` (else down),
    /// `end` up if `up_end`, each clamped to what a `u32` holds.
    fn units(bytes: &Range<u64>, up_start: bool, up_end: bool) -> (u64, u64) {
        let round = |at: u64, up: bool| {
            let units = if up {
                at.div_ceil(1 << FAILED_UNIT_SHIFT)
            } else {
                at >> FAILED_UNIT_SHIFT
            };
            units.min(u64::from(u32::MAX))
        };
        (round(bytes.start, up_start), round(bytes.end, up_end))
    }

    /// `bytes` rounded outward, never empty if `bytes` is not.
    fn outward(bytes: &Range<u64>) -> (u64, u64) {
        let (first, end) = Self::units(bytes, false, true);
        let first = first.min(u64::from(u32::MAX) - 1);
        (first, end.max(first + 1))
    }

    /// The hull held: `(first, end)` units, `first == end` for none.
    fn unpack(word: u64) -> (u64, u64) {
        (word >> 32, word & u64::from(u32::MAX))
    }

    /// Notes that the write of `bytes` failed (writeback's bio, or its
    /// folio's writeback refused): the hull grows over them.
    pub(crate) fn record_failed(&self, bytes: Range<u64>) {
        if bytes.is_empty() {
            return;
        }
        let (first, end) = Self::outward(&bytes);
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                let (held_first, held_end) = Self::unpack(word);
                let (first, end) = if held_first == held_end {
                    (first, end)
                } else {
                    (first.min(held_first), end.max(held_end))
                };
                Some((first << 32) | end)
            });
    }

    /// Notes that `bytes` were written: if they cover every failed byte
    /// noted (rounded inward), none is left.  One written range that
    /// covers only part of the hull leaves it all.
    pub(crate) fn record_written(&self, bytes: Range<u64>) {
        let (first, end) = Self::units(&bytes, true, false);
        if first >= end {
            return;
        }
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                let (held_first, held_end) = Self::unpack(word);
                (held_first < held_end && first <= held_first && end >= held_end).then_some(0)
            });
    }

    /// Whether a failed write noted overlaps `bytes`.
    pub(crate) fn overlaps(&self, bytes: &Range<u64>) -> bool {
        if bytes.is_empty() {
            return false;
        }
        let (held_first, held_end) = Self::unpack(self.0.load(Ordering::Acquire));
        let (first, end) = Self::outward(bytes);
        held_first < held_end && first < held_end && held_first < end
    }

    /// Forgets the failed writes noted: an `fsync` of the file reported
    /// them, or wrote the map whatever they left (as it did after one).
    pub(crate) fn forget(&self) {
        self.0.store(0, Ordering::Release);
    }

    /// The failed writes noted now, for [`FailedWrites::forget_reported`].
    pub(crate) fn noted(&self) -> NotedFailures {
        NotedFailures(self.0.load(Ordering::Acquire))
    }

    /// Forgets the failed writes noted when `reported` was taken, if no
    /// other was noted since: an error an `fsync` reported covers what
    /// had failed before it looked, not a write that failed after (its
    /// bio's completion may run between the `fsync`'s check of the
    /// file's errors and this), which stays noted and keeps the map off
    /// the disk until a later `fsync` writes it.
    pub(crate) fn forget_reported(&self, reported: NotedFailures) {
        let _ = self
            .0
            .compare_exchange(reported.0, 0, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// The state of a [`FailedWrites`] at one instant ([`FailedWrites::noted`]).
#[derive(Clone, Copy)]
pub(crate) struct NotedFailures(u64);

/// The in-memory state of a toyfs inode, next to its VFS inode.
#[pin_data]
pub(crate) struct InodeInfo {
    /// The roots of the inode's block map: its pointers and blocks count,
    /// and its flags (the other fields are unused), read from the inode table by `iget`
    /// and written back by `write_inode` (a change dirties the inode), as ext2 keeps
    /// `i_data` in memory.  The lock serialises the changes of the map (and
    /// of its indirect blocks), and orders the lookups against them.
    /// Taken under the folio lock, never across a vm_mvc call by
    /// `(sid, pno)`.
    #[pin]
    pub(crate) map: Mutex<DiskInode>,
    /// Counts the times blocks of the map were freed (changed under the
    /// map's lock), so that a mapping remembered across folios by
    /// writeback is known to be stale.
    pub(crate) map_generation: AtomicU64,
    /// The last run of whole plain blocks the map was found or made to
    /// hold (`BlockMap::lookup_run`, `BlockMap::allocate`), for the
    /// lookups that follow (`BlockMap::remembered`): changed and read
    /// under the map's lock, forgotten whenever the generation above is
    /// bumped.
    pub(crate) last_run: LastRun,
    /// The path to the last-level indirect block the map's walk last
    /// found whole and checked (`BlockMap::container`), for the walks
    /// that follow into the same block: changed and read under the map's
    /// lock, valid only at the generation above and the filesystem's
    /// count of frees it was found at.
    pub(crate) last_path: LastPath,
    /// The bitmap blocks whose bits the inode changed since its last
    /// `fsync`, which that writes: bit `i % 64` for bitmap block `i`
    /// (`balloc::bitmap_bit`; with more than 64 bitmap blocks, a set bit
    /// stands for several of them and `fsync` writes them all).
    pub(crate) bitmap_blocks: AtomicU64,
    /// The bytes of the file whose blocks `BlockMap::set_run` gave a new
    /// run since an `fsync` last wrote them and the map (empty: none).
    /// The map names the new run at once, and `fsync` writes the map
    /// whatever range it was asked for, but the run gets its bytes only
    /// when the block's folio is written back: `fsync` writes those
    /// folios first (an `O_SYNC` append that moves the old tail syncs
    /// only its own range), and writes the map only if no run moved
    /// since (`forget_moved`, under the map lock).
    #[pin]
    pub(crate) moved: Mutex<Moved>,
    /// The bytes of the file whose data write failed and was not written
    /// since (writeback's bio end, `vfs::bio`, and a folio whose
    /// writeback failed, `ops::aops`): while runs are held, `write_inode`
    /// writes no map naming a moved block's new run whose write failed
    /// (its bytes are not on the disk), whatever other range of the file
    /// failed (the mapping's `AS_EIO`, which any failed write of it sets,
    /// is left to `fsync`).  Forgotten once the bytes are written again
    /// (a write covering them all), once an `fsync` of the file reported
    /// a failed write, and once `fsync` wrote the map
    /// (`inode::sync_file`).
    pub(crate) failed: FailedWrites,
    /// Whether the inode holds runs (`InodeInfo::deferred` not empty)
    /// because a write of its map failed (`Kept::Yes`), decided under
    /// the `deferred` lock (`inode::note_kept_after_failure`): set only
    /// with runs held, cleared once none is (a map written, the
    /// eviction, `inode::forget_deferred`); counted in
    /// `SbInfo::inodes_kept_after_failure` while set.
    pub(crate) kept_after_failure: AtomicBool,
    /// The block device's buffers of the blocks that writeback copied
    /// the file's tail or its compressed blocks into (a file with LZ4 has
    /// them in several), each referenced until the file's `fsync` finds
    /// it written (`packed::dirty_packed`).
    #[pin]
    pub(crate) packed: Mutex<KVec<Buffer>>,
    /// The block device's buffers of the file's indirect blocks changed
    /// since (`inode::dirty_indirect`), each referenced until it is found
    /// written: a map is written only once each of them is on the disk,
    /// judged by its last write, whoever made it (`inode::write_indirect`:
    /// one whose write failed, clean since, is written again).  Until
    /// review 2026-12-07 (keptfix 1) only the file's own list
    /// (`Inode::sync_own_buffers`) was, which a failed write leaves
    /// without the buffer: after the `fsync` that reported the failure,
    /// the next one wrote the map over the indirect block's old bytes
    /// and freed the runs they name.  Each buffer at most once
    /// ([`crate::vfs::Buffer::keep`]); a block freed leaves it first
    /// (`inode::forget_freed_indirect`).  Changed under the map's lock.
    #[pin]
    pub(crate) indirect: Mutex<KVVec<KeptBuffer>>,
    /// Runs the map no longer names but the disk may (a tail moved, a
    /// block compressed by writeback or given a plain run, the rest of a
    /// run cut: `BlockMap::free_replaced`): still allocated, so that no
    /// other file is given them, until the inode and its indirect blocks
    /// are on the disk (`inode::free_deferred`), as Documentation/toyfs.rst
    /// says ("Write order").  Changed under the map's lock.
    #[pin]
    pub(crate) deferred: Mutex<KVec<Extent>>,
    /// Fragments allocated to the file since its map was last stored
    /// into the inode table's cached block (`inode::store_inode` empties
    /// it), as `start..end` ranges, adjacent ones merged, at most
    /// `inode::FRESH_RANGES`: no inode on the disk names them, so a run
    /// inside one that moves, its pointer in the inode or in indirect
    /// blocks all fresh (new indirect blocks are noted too), is freed at
    /// once, not kept on `deferred` (`BlockMap::free_replaced`; a pointer
    /// in an old indirect block changed in place may be on the disk: that
    /// block is written first).  An allocation not noted (the list
    /// full, no memory, a path that does not note) only keeps its run
    /// allocated until the map is written.  Changed under the map's lock.
    #[pin]
    pub(crate) fresh: Mutex<KVec<(u32, u32)>>,
    /// Size changes under way that grow the file (`write::Growth`):
    /// while it is not 0, writeback stores the block holding the end of
    /// the file plain, never compressed by the size it reads then.
    /// Changed and read under the map's lock.
    pub(crate) growing: AtomicU32,
    /// A directory's block where the last lookup found its entry, where
    /// the next one starts (ext2's `i_dir_start_lookup`): a hint, read and
    /// written without a lock, checked against the directory's size.
    pub(crate) dir_start_lookup: AtomicU64,
    /// How the inode changed since a regular file's `fsync` last wrote
    /// it and waited ([`UNSYNCED_ANY`], [`UNSYNCED_DATASYNC`]): set by
    /// the VFS's `dirty_inode` at every `mark_inode_dirty`, taken by
    /// `inode::sync_file`, which writes the inode only if it changed
    /// (for `fdatasync`, only if it changed in what reading the data back
    /// needs), as ext2's `simple_fsync` tests `I_DIRTY_SYNC` and
    /// `I_DIRTY_DATASYNC`.  Not the VFS's own bits: writeback clears
    /// those when it writes the inode into the device's cache without
    /// waiting, and a failed write of the inode leaves them clear, where
    /// these stay set until an `fsync` wrote the inode to the disk.
    pub(crate) unsynced: AtomicU32,
    /// A directory's first block that may have room for a new entry, and
    /// for entries of what size (`dir::RoomHint`, packed): changed only
    /// under the directory's lock held exclusively.
    pub(crate) dir_room: AtomicU64,
}

/// [`InodeInfo::unsynced`]: the inode changed (`I_DIRTY_SYNC`: a
/// timestamp, the mode, an owner, a link count...).
pub(crate) const UNSYNCED_ANY: u32 = 1;
/// [`InodeInfo::unsynced`]: the inode changed in what `fdatasync` must
/// write (`I_DIRTY_DATASYNC`: its size, its block map).
pub(crate) const UNSYNCED_DATASYNC: u32 = 2;

impl InodeInfo {
    /// The state of a new inode.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(InodeInfo {
            map <- new_mutex!(DiskInode::default()),
            map_generation: AtomicU64::new(0),
            last_run: LastRun::default(),
            last_path: LastPath::default(),
            bitmap_blocks: AtomicU64::new(0),
            moved <- new_mutex!(Moved::default()),
            failed: FailedWrites::default(),
            kept_after_failure: AtomicBool::new(false),
            packed <- new_mutex!(KVec::new()),
            indirect <- new_mutex!(KVVec::new()),
            deferred <- new_mutex!(KVec::new()),
            fresh <- new_mutex!(KVec::new()),
            growing: AtomicU32::new(0),
            dir_start_lookup: AtomicU64::new(0),
            unsynced: AtomicU32::new(0),
            dir_room: AtomicU64::new(0),
        })
    }

    /// Notes a change of the inode that `mark_inode_dirty` reported with
    /// `datasync` (`I_DIRTY_DATASYNC`) or without (`I_DIRTY_SYNC`
    /// only).  Called after the change, which the release orders before
    /// the bit.
    pub(crate) fn note_unsynced(&self, datasync: bool) {
        let bits = if datasync {
            UNSYNCED_ANY | UNSYNCED_DATASYNC
        } else {
            UNSYNCED_ANY
        };
        self.unsynced.fetch_or(bits, Ordering::Release);
    }

    /// Whether the inode changed since an `fsync` last wrote it: in
    /// anything (`datasync` false), or in what `fdatasync` writes.
    pub(crate) fn is_unsynced(&self, datasync: bool) -> bool {
        let bits = self.unsynced.load(Ordering::Acquire);
        if datasync {
            bits & UNSYNCED_DATASYNC != 0
        } else {
            bits != 0
        }
    }

    /// Takes the changes noted, for an `fsync` about to write the inode
    /// from memory (everything it holds, whichever bit was set): the
    /// acquire orders the changes noted before the reads of the inode
    /// that follow.  Given back with [`InodeInfo::keep_unsynced`] if the
    /// write fails.
    pub(crate) fn take_unsynced(&self) -> u32 {
        self.unsynced.swap(0, Ordering::AcqRel)
    }

    /// Gives back `bits` taken by [`InodeInfo::take_unsynced`]: the inode
    /// was not written, and the next `fsync` writes it.
    pub(crate) fn keep_unsynced(&self, bits: u32) {
        self.unsynced.fetch_or(bits, Ordering::AcqRel);
    }

    /// Notes that the bytes `bytes` of the file are in a new run whose
    /// disk copy is not written yet (`moved`).
    pub(crate) fn note_moved(&self, bytes: Range<u64>) {
        let mut moved = self.moved.lock();
        moved.bytes = if moved.bytes.is_empty() {
            bytes
        } else {
            moved.bytes.start.min(bytes.start)..moved.bytes.end.max(bytes.end)
        };
        moved.notes = moved.notes.wrapping_add(1);
    }

    /// The bytes `note_moved` noted (empty: none), left noted: `fsync`
    /// writes them, then forgets them with [`InodeInfo::forget_moved`]
    /// only under the map lock, as it writes the map.  Until then a
    /// concurrent `fsync` sees them too, and does not write a map naming
    /// their new runs before their bytes are written.
    pub(crate) fn moved(&self) -> Moved {
        self.moved.lock().clone()
    }

    /// Forgets the bytes noted if nothing was noted since `written` (what
    /// [`InodeInfo::moved`] returned, whose folios the caller wrote and
    /// waited for); false if more were.  The caller holds the map lock,
    /// under which `BlockMap::set_run` notes: no run moves until it
    /// unlocks.
    pub(crate) fn forget_moved(&self, written: &Moved) -> bool {
        let mut moved = self.moved.lock();
        if moved.notes != written.notes {
            return false;
        }
        moved.bytes = 0..0;
        true
    }

    /// Takes the map's roots from the inode as read from the disk.
    pub(crate) fn load_map(&self, disk: &DiskInode) {
        let mut map = self.map.lock();
        self.last_run.clear();
        self.last_path.clear();
        map.direct = disk.direct;
        map.single_indirect = disk.single_indirect;
        map.double_indirect = disk.double_indirect;
        map.triple_indirect = disk.triple_indirect;
        map.blocks = disk.blocks;
        map.flags = disk.flags;
        map.tail_offset = disk.tail_offset;
    }
}
