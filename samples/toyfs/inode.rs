// SPDX-License-Identifier: GPL-2.0

//! Inodes on disk and their block maps: reading, writing and freeing
//! inodes; finding, allocating and freeing the blocks of a file (ext2's
//! inode.c).
//!
//! A map is walked a container at a time (the inode's direct pointers, or
//! one last-level indirect block), so that a run of contiguous blocks, or
//! of holes, costs one walk.  Changes happen under the inode's
//! `map_lock`, which [`BlockMap`] holds.

use crate::{
    balloc::{self, Reservation},
    format::{
        address::{Extent, ExtentError},
        block_map::{
            first_nonzero_entry, inode_pointers, last_nonzero_entry, slot_of, InodePointer, MapSlot,
        },
        geometry::Geometry,
        inode::{FileType, Inode as DiskInode, InodeProblem},
        le::{get_u32, put_u32},
        tail_block::TailPlace,
    },
    ialloc,
    info::Moved,
    meta::{
        check_entry, check_extent, check_pointer, corrupt, report_left_for_fsck, sound_extent,
        InodeSlot,
    },
    mount,
    packed::zero_fragments_on_disk,
    tails::{self, TAIL_NOT_IN_BLOCK},
    vfs::{
        forget_bdev_aliases, forget_block_copy, toyfs_err, zero_blocks, Buffer, CachedWrite, Inode,
        NofsScope, SuperBlock, PAGE_SIZE,
    },
};
use core::{ops::Range, sync::atomic::Ordering};
use kernel::{alloc::kvec::PushError, prelude::*, sync::MutexGuard};

/// A run of file blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Run {
    /// `count` blocks of holes.
    Hole {
        /// Blocks.
        count: u64,
    },
    /// `count` whole plain blocks stored contiguously from disk block
    /// `first`.
    Data {
        /// First disk block.
        first: u32,
        /// Blocks.
        count: u64,
    },
    /// One file block stored in part of a disk block, with the FRAGMENTS
    /// feature: a tail in the fewest fragments, or a compressed block.
    Packed {
        /// The fragments holding it.
        extent: Extent,
    },
    /// The file's last block, a packed tail (PACKED_TAILS): its bytes up
    /// to the end of the file (or with PACKED_LZ4 a compressed block of
    /// them) at `place` of tail block `block`, shared with other files'
    /// tails (format/tail_block.rs).  Only read in place: it is moved to
    /// fragments of its own (`tails::unpack`) before the file changes, or
    /// let go by a truncation (`tails::cut`), so no writer meets one.
    Tail {
        /// The tail block.
        block: u32,
        /// The tail's byte offset in it, and whether it is compressed.
        place: TailPlace,
    },
}

impl Run {
    /// Blocks of the run.
    pub(crate) fn count(&self) -> u64 {
        match *self {
            Run::Hole { count } | Run::Data { count, .. } => count,
            Run::Packed { .. } | Run::Tail { .. } => 1,
        }
    }
}

/// Where the pointers of a file block and those after it live.
#[derive(Clone, Copy)]
enum Container {
    /// The inode's direct pointers, from `index`.
    Direct { index: usize },
    /// Entries of the last-level indirect block `block` from `index`;
    /// `above` are the indirect blocks on its path, itself last.
    Indirect {
        block: u32,
        index: usize,
        above: [u32; 3],
        levels: usize,
    },
    /// No last-level indirect block holds them yet: of the `levels`
    /// indirect blocks on the path from the inode's pointer `root`
    /// (following `entries`, outermost first), the first `have` exist
    /// (`blocks`), the others are to be made.
    Missing {
        root: InodePointer,
        blocks: [u32; 3],
        have: usize,
        levels: usize,
        entries: [u32; 3],
    },
}

/// A container looked up ([`BlockMap::container`]) with its span, and
/// its indirect block's buffer if it has one: what an allocation counts
/// its holes in and then fills, read once.
struct Found {
    container: Container,
    span: u64,
    buffer: Option<Buffer>,
}

/// Where the pointer of a file block is, found by
/// [`BlockMap::pointer_slot`]: one of the inode's direct pointers, or
/// entry `index` of an indirect block, read and referenced.
pub(crate) enum PointerSlot {
    Direct(usize),
    Indirect(Buffer, usize),
}

/// What the data blocks [`BlockMap::allocate`] adds hold when the map
/// names them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fresh {
    /// The disk's old bytes: the caller's folio covers them, made whole
    /// and dirty, and writeback writes it (a write, a write fault, a
    /// directory's new block), as ext2 allocates.
    Unwritten,
    /// Zeros, on the disk (`fallocate`): whole blocks zeroed by
    /// `blkdev_issue_zeroout`, a tail (FRAGMENTS) zeroed in its block's
    /// buffer and written, waited for, before the map names them, so that
    /// no pointer to them reaches the disk (the device's writeback of an
    /// indirect block, a `sync` writing the inode) while they hold an
    /// earlier owner's bytes, which a crash would then show in the file.
    Zeroed,
}

/// The block map of an inode, locked (`InodeInfo::map_lock`).
pub(crate) struct BlockMap<'a> {
    inode: &'a Inode,
    sb: &'a SuperBlock,
    geometry: Geometry,
    /// The inode's own pointers and blocks count (`InodeInfo::map`);
    /// changed here; `store` marks the inode dirty for `write_inode`.
    disk: MutexGuard<'a, DiskInode>,
}

impl<'a> BlockMap<'a> {
    /// Locks the block map of `inode`.
    pub(crate) fn lock(inode: &'a Inode) -> Result<Self> {
        let sb = inode.sb();
        Ok(Self {
            inode,
            sb,
            geometry: sb.info().geometry,
            disk: inode.info().map.lock(),
        })
    }

    fn ino(&self) -> u32 {
        self.inode.ino()
    }

    /// The container of file block `n` and how many file blocks from `n`
    /// on it holds; `EFBIG` past the largest file.  The path to a
    /// last-level indirect block found whole is remembered
    /// (`InodeInfo::last_path`) and not walked again, its blocks not read
    /// and checked again, while the map's generation and the
    /// filesystem's count of frees stay as they were when it was walked:
    /// the checks it passed still hold (`LastPath`).
    fn container(&self, n: u64) -> Result<(Container, u64)> {
        let p = self.geometry.pointers_per_block();
        let slot = slot_of(n, p).ok_or(EFBIG)?;
        // 1 to `P`, without an overflow branch (`MapSlot::left_in_container`).
        let span = u64::from(slot.left_in_container(p));
        let (sb, ino) = (self.sb, self.ino());
        if let MapSlot::Direct(index) = slot {
            return Ok((Container::Direct { index }, span));
        }
        let root = slot.inode_pointer();
        let (entries, levels) = slot.indirect_entries();
        let index = slot.last_entry();
        // The first file block of the last-level block: above
        // `DIRECT_POINTERS`, so never 0.
        // OVERFLOW: `index <= n - DIRECT_POINTERS` (`slot_of`).
        let start = n.wrapping_sub(u64::from(index));
        let info = self.inode.info();
        // Read before the walk: a free during it leaves the path found
        // stale at once.
        let generation = info.map_generation.load(Ordering::Acquire);
        let frees = sb.info().frees.load(Ordering::Acquire);
        if let Some(above) = info.last_path.get(start, generation, frees) {
            return Ok((
                Container::Indirect {
                    block: above[levels - 1],
                    index: index as usize,
                    above,
                    levels,
                },
                span,
            ));
        }
        // The indirect blocks on the path, from the inode's pointer down,
        // as far as they exist.
        let mut blocks = [0u32; 3];
        let mut have = 0;
        let top = check_pointer(sb, ino, self.disk.pointer(root))?;
        if top != 0 {
            blocks[0] = top;
            have = 1;
            while have < levels {
                let buffer = Buffer::read(sb, blocks[have - 1])?;
                let entry = get_u32(buffer.lock().data(), 4 * entries[have - 1] as usize);
                let child = check_entry(sb, ino, entry, &blocks[..have])?;
                if child == 0 {
                    break;
                }
                blocks[have] = child;
                have += 1;
            }
        }
        let container = if have == levels {
            info.last_path.set(start, blocks, generation, frees);
            Container::Indirect {
                block: blocks[levels - 1],
                index: index as usize,
                above: blocks,
                levels,
            }
        } else {
            Container::Missing {
                root,
                blocks,
                have,
                levels,
                entries,
            }
        };
        Ok((container, span))
    }

    /// The file block of the file's packed tail, if it has one: its last
    /// block.  The size does not change while the tail is packed but
    /// within that block (`tails::unpack`, or `tails::cut`, come first).
    pub(crate) fn packed_tail(&self) -> Option<u64> {
        (self.disk.tail_offset != 0).then(|| self.geometry.block_of(self.inode.size()))
    }

    /// The run of file blocks from `n` on, at most `max` (> 0) long:
    /// holes, whole plain blocks contiguous on disk, the one block `n`
    /// stored in part of a disk block (a tail or a compressed block), or
    /// the file's packed tail.  Only block `n`'s pointer fails the lookup
    /// if it breaks a rule; a later one ends the run.
    pub(crate) fn lookup_run(&self, n: u64, max: u64) -> Result<Run> {
        self.lookup_walk(n, max, false)
    }

    /// As [`BlockMap::lookup_run`], but a hole where an indirect block is
    /// missing is all that block would span, with the blocks missing
    /// after it under the same parent (at most `max`), not a last-level
    /// block's worth: for walks over a map's holes (FIEMAP, which on an
    /// image with PREALLOC goes on to the largest file; `SEEK_DATA` and
    /// `SEEK_HOLE`), which across a triple-indirect block without its
    /// double-indirect blocks would otherwise take `P^2` lookups, and
    /// now take one.  Not for an allocation: a hole of this run may
    /// cross indirect blocks.
    pub(crate) fn lookup_sparse_run(&self, n: u64, max: u64) -> Result<Run> {
        self.lookup_walk(n, max, true)
    }

    /// [`Self::lookup_run`], or with `sparse` [`Self::lookup_sparse_run`].
    fn lookup_walk(&self, n: u64, max: u64, sparse: bool) -> Result<Run> {
        match self.packed_tail() {
            Some(tail) if n == tail => match self.lookup_stored(n, 1, false)? {
                Run::Data { first, .. } => Ok(Run::Tail {
                    block: first,
                    place: TailPlace::of(self.disk.tail_offset),
                }),
                _ => Err(corrupt(self.sb, self.ino(), TAIL_NOT_IN_BLOCK)),
            },
            Some(tail) if n < tail => self.lookup_remembered(n, max.min(tail - n), sparse),
            _ => self.lookup_remembered(n, max, sparse),
        }
    }

    /// [`Self::lookup_stored`] of a block that is not the packed tail,
    /// from the run remembered (`InodeInfo::last_run`) if it holds `n`,
    /// as a buffer head keeps its block number; a run of data found by
    /// the walk is remembered in its place.  What the walk checks of each
    /// pointer (`check_extent`, the bitmap) held when the run was found
    /// or allocated, and still holds: every change of the map but the
    /// allocation of a hole (a block freed or given a new run, an
    /// indirect block freed) forgets the run first ([`Self::runs_changed`]),
    /// and a free anywhere in the filesystem (`SbInfo::frees`: another
    /// file of a damaged image may name the same blocks, or an indirect
    /// block above them, and free it) makes it stale.
    fn lookup_remembered(&self, n: u64, max: u64, sparse: bool) -> Result<Run> {
        // Read before the walk, as `container` does.
        let frees = self.sb.info().frees.load(Ordering::Acquire);
        if let Some((start, first, count)) = self.inode.info().last_run.get(frees) {
            if n >= start && n - start < count {
                let skip = n - start;
                return Ok(Run::Data {
                    // CAST: below the run's length, blocks of one device.
                    first: first.wrapping_add(skip as u32),
                    count: (count - skip).min(max),
                });
            }
        }
        let run = self.lookup_stored(n, max, sparse)?;
        if let Run::Data { first, count } = run {
            self.inode.info().last_run.set(n, first, count, frees);
        }
        Ok(run)
    }

    /// Before a block of the map is freed or given a new run: writeback's
    /// remembered mappings (`writeback::Writer`, by the generation) and
    /// the map's own ([`Self::lookup_remembered`]) are stale from now on.
    fn runs_changed(&self) {
        let info = self.inode.info();
        info.map_generation.fetch_add(1, Ordering::AcqRel);
        info.last_run.clear();
    }

    /// The run of at most `limit` (> 0) pointers of one container from
    /// its first, `pointer(k)` being the raw pointer `k` of the run,
    /// checked as `check_extent` does, for the indirect blocks `above`.
    /// Generic in `pointer`, so that the accessor is inlined into the
    /// loop over the run's pointers (a `&dyn Fn` was a call per pointer,
    /// up to 256 per lookup of writeback).
    fn stored_run(
        &self,
        limit: usize,
        pointer: impl Fn(usize) -> u32,
        above: &[u32],
    ) -> Result<Run> {
        let (sb, ino, geometry) = (self.sb, self.ino(), self.geometry);
        let first = match check_extent(sb, ino, pointer(0), above)? {
            None => None,
            Some(extent) if extent.is_whole_block(&geometry) => Some(extent.block(&geometry)),
            Some(extent) => return Ok(Run::Packed { extent }),
        };
        let plain = !geometry.has_fragments();
        // Computed once: checked for every pointer of the run.
        let data_blocks = geometry.first_data_block()..geometry.block_count();
        let mut count = 1;
        while count < limit {
            let raw = pointer(count);
            // CAST: `count` is below a block's pointers.
            let next = first.map(|first| first.wrapping_add(count as u32));
            let follows = match (plain, next) {
                // Without fragments a pointer is a block number, sound
                // under `sound_extent`'s rules: in the data blocks, not
                // an indirect block above it, and in use, which is
                // checked below for the whole run at once.
                (true, None) => raw == 0,
                (true, Some(next)) => {
                    raw == next && data_blocks.contains(&raw) && !above.contains(&raw)
                }
                (false, _) => match (next, sound_extent(sb, raw, above)) {
                    (None, Some(None)) => true,
                    (Some(next), Some(Some(extent))) => {
                        extent.is_whole_block(&geometry) && extent.block(&geometry) == next
                    }
                    _ => false,
                },
            };
            if !follows {
                break;
            }
            count += 1;
        }
        if let (true, Some(first)) = (plain, first) {
            // The run ends before the first block the bitmap calls
            // free.  CAST: `count` is at most a block's pointers.
            count = 1 + balloc::in_use_prefix(sb, first + 1, count as u32 - 1) as usize;
        }
        let count = count as u64;
        Ok(match first {
            None => Run::Hole { count },
            Some(first) => Run::Data { first, count },
        })
    }

    /// [`Self::lookup_walk`] by the pointers alone: the packed tail's is a
    /// whole plain block.
    fn lookup_stored(&self, n: u64, max: u64, sparse: bool) -> Result<Run> {
        let (container, span) = match self.container(n) {
            Ok(found) => found,
            // Past the largest file: nothing is stored there.
            Err(err) if err == EFBIG => return Ok(Run::Hole { count: max }),
            Err(err) => return Err(err),
        };
        // The run's end in this container.
        let limit = max.min(span) as usize;
        match container {
            Container::Direct { index } => {
                // OVERFLOW: `index + k` below `DIRECT_POINTERS`, as for an
                // indirect block below.
                let direct = &self.disk.direct;
                self.stored_run(limit, |k| direct[index.wrapping_add(k)], &[])
            }
            Container::Indirect {
                block,
                index,
                above,
                levels,
            } => {
                let buffer = Buffer::read(self.sb, block)?;
                let entries = buffer.lock();
                let data = entries.data();
                // OVERFLOW: `index < P` and `k < limit <= span = P - index`
                // (`container`): `4 * (index + k)` is a byte of the block.
                self.stored_run(
                    limit,
                    |k| get_u32(data, index.wrapping_add(k).wrapping_mul(4)),
                    &above[..levels],
                )
            }
            Container::Missing {
                blocks,
                have,
                levels,
                entries,
                ..
            } if sparse => {
                let p = u64::from(self.geometry.pointers_per_block());
                // The first missing block, at depth `have`, would span
                // `P^(levels - have)` file blocks; `n` is `offset` into
                // them.
                // OVERFLOW: the entries are below `P <= 1024` (`slot_of`)
                // and at most 3: `offset < span = P^(levels - have) <= 2^30`,
                // and `levels > have` for a missing container.  No sum,
                // product or difference here overflows.
                let mut offset = 0u64;
                for &entry in &entries[have..levels] {
                    offset = offset.wrapping_mul(p).wrapping_add(u64::from(entry));
                }
                // CAST: `levels` is at most 3.
                let span = p.pow(levels.wrapping_sub(have) as u32);
                // Under an indirect block that exists, the blocks missing
                // beside it too: up to its next entry that is not 0 (which
                // the next lookup checks).
                let missing = match have.checked_sub(1) {
                    None => 1,
                    Some(parent) => {
                        let buffer = Buffer::read(self.sb, blocks[parent])?;
                        let from = entries[parent] as usize;
                        // CAST: a block's pointers.
                        let to = first_nonzero_entry(
                            buffer.lock().data(),
                            from.wrapping_add(1),
                            p as usize,
                        )
                        .map_or(p as usize, |(found, _)| found);
                        // OVERFLOW: `from < P`, and `to` is past it.
                        to.wrapping_sub(from) as u64
                    }
                };
                // OVERFLOW: `missing <= P` and `offset < span`, so the
                // product (below `2^40`) is above `offset`.
                Ok(Run::Hole {
                    count: missing.wrapping_mul(span).wrapping_sub(offset).min(max),
                })
            }
            Container::Missing { .. } => Ok(Run::Hole {
                count: limit as u64,
            }),
        }
    }

    /// The generation of the map (`InodeInfo::map_generation`), read
    /// under its lock.
    pub(crate) fn generation(&self) -> u64 {
        self.inode.info().map_generation.load(Ordering::Acquire)
    }

    /// The disk block of file block `n`, 0 for a hole, for a writer of
    /// whole blocks (a new directory block): a block stored in part of a
    /// disk block is `EUCLEAN`.
    pub(crate) fn lookup(&self, n: u64) -> Result<u32> {
        match self.lookup_run(n, 1)? {
            Run::Data { first, .. } => Ok(first),
            Run::Hole { .. } => Ok(0),
            Run::Packed { .. } | Run::Tail { .. } => Err(corrupt(
                self.sb,
                self.ino(),
                ExtentError::NotWholeBlock.rule(),
            )),
        }
    }

    /// The run holding file block `n`, `None` for a hole, for a reader of
    /// single blocks (directories) and the writers of a block's run.  A
    /// packed tail has no run of its own: `EIO` (no writer meets one,
    /// `Run::Tail`).
    pub(crate) fn lookup_extent(&self, n: u64) -> Result<Option<Extent>> {
        Ok(match self.lookup_run(n, 1)? {
            Run::Data { first, .. } => Some(self.geometry.whole_block(first)),
            Run::Hole { .. } => None,
            Run::Packed { extent } => Some(extent),
            Run::Tail { .. } => return Err(EIO),
        })
    }

    /// Fragments (blocks without FRAGMENTS), data and indirect, that
    /// allocating the holes of file blocks `range` of a file of `size`
    /// bytes would take: a hole at its last block takes only the
    /// fragments its bytes need (`tail`).
    pub(crate) fn count_missing(&self, range: Range<u64>, size: u64) -> Result<u32> {
        self.count_missing_from(range, size, None)
    }

    /// [`Self::count_missing`], with `found` the container of
    /// `range.start` if the caller looked it up already.
    fn count_missing_from(
        &self,
        range: Range<u64>,
        size: u64,
        found: Option<&Found>,
    ) -> Result<u32> {
        let per_block = u64::from(self.geometry.fragments_per_block());
        let tail = self.tail_of(size);
        let (data, indirect) = self.count_holes(range.clone(), found)?;
        // Saturating, no overflow branch: a count past `u32` is `ENOSPC`
        // below in any case (the map's reach is below `2^32` blocks, of
        // at most 8 fragments each, so none saturates).
        let mut missing = data.saturating_mul(per_block);
        if let Some((n, fragments)) = tail {
            // Only a hole at `n` is one of `data` (`count_holes` counts
            // the pointers that are 0): a damaged pointer there fails
            // (`EUCLEAN`) before anything is allocated, and a packed
            // tail (a pointer, not a hole; `fallocate` and the writers
            // unpack it first) takes nothing.
            if range.contains(&n) && matches!(self.lookup_run(n, 1)?, Run::Hole { .. }) {
                // `fragments < per_block` (`tail_of`), and the hole at
                // `n` is one of `data`; saturating all the same.
                missing = missing.saturating_sub(per_block.saturating_sub(u64::from(fragments)));
            }
        }
        missing = missing.saturating_add(indirect.saturating_mul(per_block));
        u32::try_from(missing).map_err(|_| ENOSPC)
    }

    /// The last block of a file of `size` bytes and the fragments its
    /// bytes need, when that is less than a block (with FRAGMENTS).
    pub(crate) fn tail_of(&self, size: u64) -> Option<(u64, u32)> {
        let geometry = &self.geometry;
        let tail = geometry.offset_in_block(size);
        if !geometry.has_fragments() || tail == 0 {
            return None;
        }
        // CAST: below a block.
        let fragments = geometry.fragments_for(tail as u32);
        (fragments < geometry.fragments_per_block()).then_some((geometry.block_of(size), fragments))
    }

    /// The holes among file blocks `range` and the indirect blocks that
    /// allocating them would add: `(data, indirect)`.  `found`: the
    /// container of `range.start`, if looked up already.
    fn count_holes(&self, range: Range<u64>, mut found: Option<&Found>) -> Result<(u64, u64)> {
        let mut missing = 0u64;
        let mut indirect = 0u64;
        // The path of the last container found missing: the upper
        // indirect blocks it lacks are shared with the next ones under
        // them, and counted once.
        let mut previous: Option<(InodePointer, [u32; 3])> = None;
        let mut n = range.start;
        while n < range.end {
            let first = found.take();
            let (container, span) = match first {
                Some(found) => (found.container, found.span),
                None => self.container(n)?,
            };
            // OVERFLOW: `n < range.end`; `k <= span <= P` pointers of the
            // container from its `index` on, so `index + k` is at most the
            // container's pointers and `n + k` at most `range.end`; the
            // counts below stay below the blocks of `range` walked (each
            // an existing file block: `container` fails past the map's
            // reach, below `2^32`), and no sum here overflows.
            let k = span.min(range.end.wrapping_sub(n));
            let counted = match container {
                Container::Missing {
                    root,
                    have,
                    levels,
                    entries,
                    ..
                } => {
                    // The block at level `i` is the one `entries[..i]`
                    // lead to from `root`: made for the previous container
                    // already if that followed the same entries.
                    let shared = |i: usize| {
                        previous.is_some_and(|(r, e)| r == root && e[..i] == entries[..i])
                    };
                    let made = (have..levels).filter(|&i| !shared(i)).count() as u64;
                    indirect = indirect.wrapping_add(made);
                    previous = Some((root, entries));
                    k
                }
                Container::Direct { index } => self.disk.direct[index..]
                    .iter()
                    .take(k as usize)
                    .filter(|&&pointer| pointer == 0)
                    .count() as u64,
                Container::Indirect { block, index, .. } => {
                    let read;
                    let buffer = match first.and_then(|found| found.buffer.as_ref()) {
                        Some(buffer) => buffer,
                        None => {
                            read = Buffer::read(self.sb, block)?;
                            &read
                        }
                    };
                    let entries = buffer.lock();
                    let data = entries.data();
                    // A plain loop: the iterator chain's fold stayed a call
                    // per allocation at `opt-level=s`.
                    let mut holes = 0u64;
                    for i in index..index.wrapping_add(k as usize) {
                        if get_u32(data, i.wrapping_mul(4)) == 0 {
                            holes = holes.wrapping_add(1);
                        }
                    }
                    holes
                }
            };
            missing = missing.wrapping_add(counted);
            n = n.wrapping_add(k);
        }
        Ok((missing, indirect))
    }

    /// Where the allocation of a run of holes should look first when
    /// nothing before it in its container says (ext2's `ext2_find_near`
    /// looks back the same way): just past the container's own block, else
    /// just past the last allocation.
    fn fallback_goal(&self, container: &Container) -> u32 {
        match *container {
            Container::Indirect { block, .. } => block + 1,
            _ => self.sb.info().alloc.lock().hint,
        }
    }

    /// The block after file block `n - 1`'s, if it has one: where the
    /// allocation of block `n` should look first when nothing before `n`
    /// in its container says, at the start of a container (a new indirect
    /// block is put there, and the data after it), rather than past the
    /// last allocation of any file.  A damaged pointer there is no goal.
    fn after_previous(&self, n: u64) -> Option<u32> {
        let previous = n.checked_sub(1)?;
        match self.lookup_run(previous, 1).ok()? {
            Run::Data { first, .. } => Some(first.wrapping_add(1)),
            Run::Packed { extent } => Some(extent.block(&self.geometry).wrapping_add(1)),
            Run::Tail { block, .. } => Some(block.wrapping_add(1)),
            Run::Hole { .. } => None,
        }
    }

    /// Allocates one block of `reservation` at `goal` for an indirect
    /// block, zeroed in the buffer cache without being read and written
    /// to the disk (waited for) before anything names it, and counted in
    /// the inode's blocks: a pointer to it that reaches the disk before
    /// the device's writeback wrote its buffer would name a block of
    /// stale bytes, read after a crash as pointers to other files' blocks.
    /// Should the write fail (or its buffer not be had: `sb_getblk` does
    /// not fail for a block of the device, `__GFP_NOFAIL`), the block is
    /// given back, its cached copy dropped: nothing names it.  The caller
    /// marks the buffer dirty for the inode when it names blocks in it.
    fn new_indirect(
        &mut self,
        reservation: &mut Reservation<'_>,
        goal: &mut u32,
    ) -> Result<(u32, Buffer)> {
        let (block, _) = reservation.take_run(*goal, 1)?;
        *goal = block + 1;
        let zeroed = Buffer::new_block(self.sb, block, |_| ()).and_then(|buffer| {
            buffer.mark_dirty();
            buffer.sync().map(|()| buffer)
        });
        match zeroed {
            Ok(buffer) => {
                self.disk.blocks = self
                    .disk
                    .blocks
                    .saturating_add(self.geometry.fragments_per_block());
                Ok((block, buffer))
            }
            Err(err) => {
                forget_bdev_aliases(self.sb, block, 1);
                if let Ok(changed) = balloc::free_blocks(self.sb, self.ino(), block, 1) {
                    self.note_bitmap(changed);
                }
                Err(err)
            }
        }
    }

    /// Creates the indirect blocks a `Missing` container lacks.  The
    /// existing indirect block that is to name the first of them is read
    /// before any is allocated, and each new one is named from the buffer
    /// [`Self::new_indirect`] made: no read after an allocation can fail
    /// and leave a new block named by nothing, allocated and counted until
    /// fsck (review rev9: the parent, read by `container` and read again
    /// here after the allocation, could have left the cache meanwhile and
    /// fail to read).  A failure leaves the new blocks named, for
    /// [`Self::free_empty_indirect`].
    fn fill_missing(
        &mut self,
        container: Container,
        reservation: &mut Reservation<'_>,
        goal: &mut u32,
    ) -> Result<Container> {
        let Container::Missing {
            root,
            mut blocks,
            have,
            levels,
            entries,
        } = container
        else {
            return Ok(container);
        };
        let geometry = self.geometry;
        let whole = move |block| geometry.encode_pointer(geometry.whole_block(block));
        // The indirect block that names the next new one; none: the inode.
        let mut parent = match have {
            0 => None,
            _ => Some(Buffer::read(self.sb, blocks[have - 1])?),
        };
        for level in have..levels {
            let (block, buffer) = self.new_indirect(reservation, goal)?;
            // Named by no map on the disk yet: a run named through it
            // alone is fresh too (`named_only_through_fresh`).
            self.note_fresh(&geometry.whole_block(block));
            match &parent {
                None => *self.disk.pointer_mut(root) = whole(block),
                Some(parent) => {
                    put_u32(
                        parent.lock().data_mut(),
                        4 * entries[level - 1] as usize,
                        whole(block),
                    );
                    dirty_indirect(self.inode, parent);
                }
            }
            blocks[level] = block;
            parent = Some(buffer);
        }
        Ok(Container::Indirect {
            block: blocks[levels - 1],
            index: entries[levels - 1] as usize,
            above: blocks,
            levels,
        })
    }

    /// Allocates the holes among file blocks `range` of a file that is to
    /// be `size` bytes, all or none (`ENOSPC`), calling `new` with each
    /// file block that got a new data block.  With FRAGMENTS, a hole at
    /// the last block of `size` gets only the fragments its bytes need.
    /// `fresh` says what the new data blocks hold ([`Fresh`]).  A
    /// container's new blocks are taken from the bitmap, made ready
    /// ([`Self::prepare_new`]), and only then named by the map; an error
    /// before they are named gives them back.  The blocks of the
    /// containers before one that fails stay named (and passed to `new`),
    /// for the caller to give back.
    pub(crate) fn allocate(
        &mut self,
        range: Range<u64>,
        size: u64,
        fresh: Fresh,
        mut new: impl FnMut(u64),
    ) -> Result {
        if range.is_empty() {
            return Ok(());
        }
        // The first container is looked up once, for the count and for
        // the allocation (nothing changes it in between: the map is
        // locked): most allocations (a write into one folio) are inside
        // one container.
        let (container, span) = self.container(range.start)?;
        let buffer = match container {
            Container::Indirect { block, .. } => Some(Buffer::read(self.sb, block)?),
            _ => None,
        };
        let mut found = Some(Found {
            container,
            span,
            buffer,
        });
        let needed = self.count_missing_from(range.clone(), size, found.as_ref())?;
        if needed == 0 {
            return Ok(());
        }
        let mut reservation = balloc::reserve(self.sb, needed)?;
        let tail = self.tail_of(size);
        // 0: not known yet (`allocate_in_container` finds it).
        let mut goal = 0;
        let blocks_before = self.disk.blocks;
        let mut result = Ok(());
        let mut n = range.start;
        while n < range.end {
            let done = self.allocate_in_container(
                n,
                found.take(),
                range.end,
                tail,
                &mut reservation,
                &mut goal,
                fresh,
                &mut new,
            );
            match done {
                Ok(k) => n += k,
                Err(err) => {
                    result = Err(err);
                    break;
                }
            }
        }
        self.note_bitmap(reservation.changed());
        drop(reservation);
        if result.is_err() {
            self.free_empty_indirect(n);
        }
        // Whatever was allocated is in the map: count it, also on error.
        if self.disk.blocks != blocks_before {
            self.store();
        }
        result
    }

    /// After an allocation failed at file block `n`: frees the indirect
    /// blocks above `n` that map no block.  `fill_missing` adds a missing
    /// container's indirect blocks (under the triple-indirect block three
    /// of them) before its first data block, which may then fail (`ENOSPC`
    /// when only fragments are free, an I/O error); the new data blocks
    /// before `n` are the caller's to give back (their `free_range` frees
    /// the indirect blocks they leave empty), so only a hole at `n` is a
    /// start: [`BlockMap::free_range`] of it frees nothing but indirect
    /// blocks that hold only holes.  Best effort: the allocation's error
    /// is what the caller gets, and an indirect block left empty is only
    /// space (fsck.toyfs takes it).
    fn free_empty_indirect(&mut self, n: u64) {
        if let Ok(Run::Hole { .. }) = self.lookup_run(n, 1) {
            if let Err(err) = self.free_range(n..n + 1) {
                toyfs_err!(
                    "inode {}: empty indirect blocks not freed after a failed allocation: {:?}\n",
                    self.ino(),
                    err
                );
            }
        }
    }

    /// Adds bitmap blocks the map's changes changed (`balloc::bitmap_bit`)
    /// to those the inode's `fsync` writes.
    fn note_bitmap(&self, changed: u64) {
        if changed != 0 {
            self.inode
                .info()
                .bitmap_blocks
                .fetch_or(changed, Ordering::AcqRel);
        }
    }

    /// `allocate` for the container of file block `n` (`found`, if the
    /// caller looked it up), up to `end`, with the last block `tail` and
    /// its fragments; returns the file blocks it covered (fewer when the
    /// container's holes need more runs than [`NewRuns`] holds).  The
    /// container's missing indirect blocks are made first
    /// ([`Self::fill_missing`]), then its new data blocks are taken
    /// ([`plan_holes`]), made ready ([`Self::prepare_new`]) with no buffer
    /// locked, and named.
    #[allow(clippy::too_many_arguments)]
    fn allocate_in_container(
        &mut self,
        n: u64,
        found: Option<Found>,
        end: u64,
        tail: Option<(u64, u32)>,
        reservation: &mut Reservation<'_>,
        goal: &mut u32,
        fresh: Fresh,
        new: &mut impl FnMut(u64),
    ) -> Result<u64> {
        let (container, span, held) = match found {
            Some(found) => (found.container, found.span, found.buffer),
            None => {
                let (container, span) = self.container(n)?;
                (container, span, None)
            }
        };
        let k = span.min(end - n) as usize;
        let geometry = self.geometry;
        // An existing indirect block is read once, for the goal and the
        // pointers.
        let held = match (container, held) {
            (Container::Indirect { .. }, Some(buffer)) => Some(buffer),
            (Container::Indirect { block, .. }, None) => Some(Buffer::read(self.sb, block)?),
            _ => None,
        };
        if *goal == 0 {
            // The nearest pointer before the range in its container, if
            // any, as ext2's `ext2_find_near` looks back: a write past a
            // hole (after a truncation down and up again) allocates after
            // the file's last block before it, not from the container's
            // own block on, which made the search for a run in step
            // (`take_run_in_step`) test every block of the container's
            // data, four at a time, for each such write.  Unchecked, as
            // the goal it gives: the allocation takes only blocks the
            // bitmap calls free.
            let before = match (container, &held) {
                (Container::Direct { index }, _) => self.disk.direct[..index]
                    .iter()
                    .rev()
                    .find(|&&pointer| pointer != 0)
                    .map_or(0, |&pointer| pointer),
                (Container::Indirect { index, .. }, Some(buffer)) => {
                    last_nonzero_entry(buffer.lock().data(), 0, index).map_or(0, |(_, entry)| entry)
                }
                _ => 0,
            };
            *goal = match geometry.decode_pointer(before) {
                Some(extent) => extent.block(&geometry).wrapping_add(1),
                None => self
                    .after_previous(n)
                    .unwrap_or_else(|| self.fallback_goal(&container)),
            };
        }
        let container = self.fill_missing(container, reservation, goal)?;
        let (sb, ino) = (self.sb, self.ino());
        // The indirect block `fill_missing` just made, read from the cache.
        let held = match (container, held) {
            (Container::Indirect { block, .. }, None) => Some(Buffer::read(sb, block)?),
            (_, held) => held,
        };
        let mut runs = NewRuns::default();
        let planned = match container {
            Container::Direct { index } => {
                let direct = &self.disk.direct;
                plan_holes(&geometry, n, k, tail, reservation, goal, &mut runs, &|j| {
                    check_extent(sb, ino, direct[index + j], &[])
                })
            }
            Container::Indirect {
                index,
                above,
                levels,
                ..
            } => {
                let entries = held.as_ref().ok_or(EINVAL)?.lock();
                plan_holes(&geometry, n, k, tail, reservation, goal, &mut runs, &|j| {
                    check_extent(
                        sb,
                        ino,
                        get_u32(entries.data(), 4 * (index + j)),
                        &above[..levels],
                    )
                })
            }
            Container::Missing { .. } => Err(EINVAL),
        };
        let covered =
            match planned.and_then(|covered| self.prepare_new(&runs, fresh).map(|()| covered)) {
                Ok(covered) => covered,
                Err(err) => {
                    self.note_bitmap(runs.give_back(sb, ino));
                    return Err(err);
                }
            };
        if runs.is_empty() {
            return Ok(covered as u64);
        }
        let inode = self.inode;
        // The new blocks are in use from now on, whatever was freed before.
        let frees = sb.info().frees.load(Ordering::Acquire);
        let mut blocks = self.disk.blocks;
        let mut name = |set: &mut dyn FnMut(usize, u32)| {
            for &(at, first, count) in &runs.runs[..runs.len] {
                for i in 0..count {
                    let whole = geometry.whole_block(first + i);
                    // CAST: `i` is below `count`, a container's pointers.
                    set(at + i as usize, geometry.encode_pointer(whole));
                    new(n + (at + i as usize) as u64);
                }
                inode
                    .info()
                    .last_run
                    .add_new(n + at as u64, first, count, frees);
                blocks = blocks.saturating_add(count * geometry.fragments_per_block());
            }
            if let Some((at, extent)) = runs.tail {
                set(at, geometry.encode_pointer(extent));
                new(n + at as u64);
                blocks = blocks.saturating_add(extent.count);
            }
        };
        for &(_, first, count) in &runs.runs[..runs.len] {
            let first = geometry.whole_block(first);
            self.note_fresh(&Extent {
                count: count.saturating_mul(first.count),
                ..first
            });
        }
        if let Some((_, extent)) = runs.tail {
            self.note_fresh(&extent);
        }
        match container {
            Container::Direct { index } => {
                let direct = &mut self.disk.direct;
                name(&mut |j, pointer| direct[index + j] = pointer);
            }
            Container::Indirect { index, .. } => {
                let buffer = held.ok_or(EINVAL)?;
                {
                    let mut entries = buffer.lock();
                    name(&mut |j, pointer| put_u32(entries.data_mut(), 4 * (index + j), pointer));
                }
                dirty_indirect(self.inode, &buffer);
            }
            Container::Missing { .. } => return Err(EINVAL),
        }
        self.disk.blocks = blocks;
        Ok(covered as u64)
    }

    /// Makes the new data blocks of `runs`, taken for a container and
    /// not yet named by its map, ready to be named, as `fresh` says.
    /// Whole blocks first lose their cached copies in the device's cache
    /// (with FRAGMENTS, or to be zeroed): a block that held fragments (or
    /// metadata) may have a dirty buffer, which written later would go
    /// over the file's bytes written by bio, or over the zeros.  With
    /// [`Fresh::Zeroed`] they are then zeroed on the disk, and a tail's
    /// run zeroed in its block's buffer and written.  Not under a
    /// container's buffer lock: this locks the device's folios and
    /// buffers, and waits for the disk.
    fn prepare_new(&self, runs: &NewRuns, fresh: Fresh) -> Result {
        let sb = self.sb;
        if fresh == Fresh::Unwritten && !self.geometry.has_fragments() {
            return Ok(());
        }
        for &(_, first, count) in &runs.runs[..runs.len] {
            forget_bdev_aliases(sb, first, count);
            if fresh == Fresh::Zeroed {
                zero_blocks(sb, first, count)?;
            }
        }
        match runs.tail {
            Some((_, extent)) if fresh == Fresh::Zeroed => zero_fragments_on_disk(sb, &extent),
            _ => Ok(()),
        }
    }

    /// Sets the pointer of allocated file block `n` to `pointer`.
    fn set_pointer(&mut self, n: u64, pointer: u32) -> Result {
        let slot = self.pointer_slot(n)?;
        self.write_pointer(slot, pointer);
        Ok(())
    }

    /// Where the pointer of allocated file block `n` is, its indirect
    /// block read and referenced (so kept in the cache): writing it
    /// ([`Self::write_pointer`]) cannot fail.  `EIO` if the indirect
    /// block cannot be read, `EINVAL` if none holds `n`.
    pub(crate) fn pointer_slot(&self, n: u64) -> Result<PointerSlot> {
        Ok(match self.container(n)?.0 {
            Container::Direct { index } => PointerSlot::Direct(index),
            Container::Indirect { block, index, .. } => {
                PointerSlot::Indirect(Buffer::read(self.sb, block)?, index)
            }
            Container::Missing { .. } => return Err(EINVAL),
        })
    }

    /// Writes `pointer` into `slot`, found for this map.
    fn write_pointer(&mut self, slot: PointerSlot, pointer: u32) {
        // Whatever the caller did before (`runs_changed`): the run
        // remembered never names a pointer written over.
        self.inode.info().last_run.clear();
        match slot {
            PointerSlot::Direct(index) => {
                if let Some(entry) = self.disk.direct.get_mut(index) {
                    *entry = pointer;
                }
            }
            PointerSlot::Indirect(buffer, index) => {
                put_u32(buffer.lock().data_mut(), 4 * index, pointer);
                dirty_indirect(self.inode, &buffer);
            }
        }
    }

    /// With FRAGMENTS: stores file block `n` (allocated) plain in `count`
    /// fragments, `B / F` for a whole block, as UFS reallocates a file's
    /// last block: fewer fragments keep the start of the run and free the
    /// rest; more take the free fragments around the run in its own block
    /// if they make room (`Reservation::take_around`: the run extended in
    /// place, or the block made whole, needing only the fragments added),
    /// else move the block to a new run (a whole block, or fragments in a
    /// block partly used), and the old run is freed once the map names
    /// the new one.  A compressed block becomes plain the same way
    /// (`write::unpack`).  The caller holds the folio of the block locked,
    /// uptodate and out of writeback, and marks the block dirty: the new
    /// run is written from the folio, never copied on disk.  Returns
    /// whether the run changed.
    pub(crate) fn set_run(&mut self, n: u64, count: u32) -> Result<bool> {
        let geometry = self.geometry;
        let (sb, ino) = (self.sb, self.ino());
        let Some(old) = self.lookup_extent(n)? else {
            return Ok(false);
        };
        if count == 0 || count > geometry.fragments_per_block() {
            return Err(EINVAL);
        }
        if count == old.count && !old.compressed {
            return Ok(false);
        }
        // Before any fragment is freed: writeback's remembered mappings
        // are stale from now on.
        self.runs_changed();
        let mut reservation_changed = 0;
        let new = if count <= old.count {
            Extent {
                count,
                compressed: false,
                ..old
            }
        } else {
            // The old run's own block first, as UFS's `ffs_realloccg`
            // tries `ffs_fragextend`: only the fragments added are
            // needed, so that a tail grows while its block has room
            // although no other block has (`df` shows free space).
            let mut reservation = balloc::reserve(sb, count - old.count)?;
            let around = reservation.take_around(&old, count)?;
            reservation_changed = reservation.changed();
            drop(reservation);
            match around {
                Some(new) => new,
                None => {
                    let mut reservation = balloc::reserve(sb, count)?;
                    let goal = old.block(&geometry);
                    let new = if count == geometry.fragments_per_block() {
                        let (block, _) = reservation.take_run(goal, 1)?;
                        geometry.whole_block(block)
                    } else {
                        reservation.take_fragments(goal, count)?
                    };
                    reservation_changed = reservation.changed();
                    new
                }
            }
        };
        // A whole plain block keeping its first fragments: read through
        // the buffer cache from now on, and from the disk, before any of
        // its fragments is freed for another file's tail
        // (`forget_block_copy`).  The caller holds the folio out of
        // writeback: no bio to the block is in flight.  Not a
        // directory's, which lives in the buffer cache alone (never
        // written by bio): its cached copy is the truth, dirty perhaps
        // (`dir::add_at` giving back the whole block it made of a tail).
        if count < old.count && old.is_whole_block(&geometry) && !self.inode.is_dir() {
            forget_block_copy(sb, old.block(&geometry))?;
        }
        // Grown around the old run, in its block: only the fragments
        // before and after it were taken.
        let around = count > old.count && new.fragments().contains(&old.fragment);
        let whole = new.is_whole_block(&geometry).then(|| new.block(&geometry));
        if let Err(err) = self.set_pointer(n, geometry.encode_pointer(new)) {
            // The fragments taken above go back, each part whatever the
            // other returns: taken by this call, they are in use unless a
            // damaged image names them elsewhere too (`corrupt` reports
            // it, and the free then frees none of them).  The error
            // returned is the map's.
            if around {
                let (end, old_end) = (new.fragment + new.count, old.fragment + old.count);
                let before = balloc::free_run(sb, ino, new.fragment, old.fragment - new.fragment);
                let after = balloc::free_run(sb, ino, old_end, end - old_end);
                let _ = (before, after);
            } else if count > old.count {
                let _ = balloc::free_extent(sb, ino, &new);
            }
            return Err(err);
        }
        self.note_bitmap(reservation_changed);
        if let Some(block) = whole {
            // See `allocate`.
            forget_bdev_aliases(sb, block, 1);
        }
        // A new run, or a compressed one now read as plain, holds the
        // block's bytes only once its folio is written: `fsync` of any
        // range writes that folio before the map (a plain run that
        // shrinks keeps its bytes where they were).
        if count > old.count || old.compressed {
            let shift = geometry.block_shift();
            self.inode.info().note_moved(n << shift..(n + 1) << shift);
        }
        // Fewer fragments (or as many, compressed) keep the start of the
        // old run; more are a run around the old one in its block, which
        // frees nothing, or a new run.
        let freed = if count <= old.count {
            Extent {
                fragment: old.fragment + count,
                count: old.count - count,
                compressed: false,
            }
        } else if around {
            // The fragments taken before and after the old run are
            // fresh: a failed change that cuts the run back (a
            // ZERO_RANGE without room for its next block) frees them at
            // once, as they were.
            let (end, old_end) = (new.fragment + new.count, old.fragment + old.count);
            for (fragment, count) in [
                (new.fragment, old.fragment - new.fragment),
                (old_end, end - old_end),
            ] {
                if count != 0 {
                    self.note_fresh(&Extent {
                        fragment,
                        count,
                        compressed: false,
                    });
                }
            }
            Extent { count: 0, ..old }
        } else {
            self.note_fresh(&new);
            old
        };
        self.free_replaced(&freed, n, None);
        self.disk.blocks = self
            .disk
            .blocks
            .saturating_add(count)
            .saturating_sub(old.count);
        self.store();
        Ok(true)
    }

    /// Frees `freed`, what a run the map no longer names left over
    /// ([`Self::set_run`], [`Self::replace_run`]), once the map names the
    /// new one and the map on the disk does too: until then it stays
    /// allocated on `InodeInfo::deferred` ([`free_deferred`]), or a crash
    /// would find the disk naming a run the bitmap calls free, or that
    /// another file was given and wrote (Documentation/toyfs.rst, "Write
    /// order").  The change completes whatever the free returns.  No I/O
    /// can fail it (the bitmap is in memory), and the old run was in use
    /// at its lookup under the map lock, so only another inode naming
    /// the same fragments (a damaged image, reported by `corrupt`) can
    /// have freed them since; the free then frees none of them, and the
    /// caller still stores the block count (and marks the block dirty),
    /// where an error returned left a map naming a new run that nothing
    /// would write.  `n`: the file block whose run moved; `new`: its new
    /// run, if its bytes are in the device's cache (writeback's
    /// compressed block), not only in the file's folio.
    fn free_replaced(&mut self, freed: &Extent, n: u64, new: Option<&Extent>) {
        if freed.count == 0 {
            return;
        }
        // Allocated since the map was last stored: freed now (the
        // `ENOSPC` retry's writeback compresses new blocks, whose freed
        // fragments the next block packs into) if no map on the disk can
        // name it, its pointer in the inode or in indirect blocks all
        // fresh too.  A pointer in an old indirect block was changed in
        // place, in a block the inode on the disk names and that any
        // write of the device's buffers (a directory's `fsync`,
        // `sync_blockdev`) takes to the disk before the inode: freed
        // now, the run could go to another file that a crash then shows
        // in this one (review 2026-12-06,
        // `fresh_run_named_in_place_is_not_reused_before_the_map`), so
        // the new run's bytes, when they are in the device's cache, and
        // then that block, naming the new run now, are written first
        // ([`Self::write_leaf`]); a new run whose bytes are still in the
        // file's folio cannot be named on the disk yet.  Else kept
        // allocated until the map on the disk no longer names it
        // (`free_deferred`); without the memory to note it, freed now,
        // as before.
        let fresh = self.is_fresh(freed)
            && (self.named_only_through_fresh(n)
                || new.is_some_and(|new| self.write_leaf(n, new).is_ok()));
        let kept = !fresh && {
            let _nofs = NofsScope::enter();
            let mut deferred = self.inode.info().deferred.lock();
            let pushed = deferred.push(*freed, GFP_KERNEL).is_ok();
            if pushed {
                self.sb.info().held_runs.fetch_add(1, Ordering::Relaxed);
            }
            pushed
        };
        if kept {
            return;
        }
        if let Ok(changed) = balloc::free_extent(self.sb, self.ino(), freed) {
            self.note_bitmap(changed);
        }
    }

    /// Whether the pointer of file block `n` is in the inode, or in
    /// indirect blocks all allocated since the map was last stored
    /// ([`Self::is_fresh`]): then no map on the disk can name what it
    /// names.  An old indirect block on the path, changed in place, may
    /// be on the disk already (the device's writeback, `sync_blockdev`).
    /// An error finding the path answers no.
    fn named_only_through_fresh(&self, n: u64) -> bool {
        match self.container(n) {
            Ok((Container::Direct { .. }, _)) => true,
            Ok((Container::Indirect { above, levels, .. }, _)) => {
                above.get(..levels).is_some_and(|path| {
                    path.iter()
                        .all(|&block| self.is_fresh(&self.geometry.whole_block(block)))
                })
            }
            _ => false,
        }
    }

    /// Writes the block of `new`, the run of file block `n` whose bytes
    /// are in the device's cache, then the indirect block holding `n`'s
    /// pointer, each waited for (`sync_dirty_buffer`: nothing if it is
    /// clean), so that the disk's copy names what the map names now, and
    /// only once its bytes are there.
    fn write_leaf(&self, n: u64, new: &Extent) -> Result {
        let Container::Indirect { block, .. } = self.container(n)?.0 else {
            return Err(EINVAL);
        };
        Buffer::read(self.sb, new.block(&self.geometry))?.sync()?;
        Buffer::read(self.sb, block)?.sync()
    }

    /// Notes `run`, just allocated to the file and named by its map, as
    /// fresh (`InodeInfo::fresh`) until the map is next stored.  Merged
    /// into the last range noted when adjacent; past [`FRESH_RANGES`]
    /// ranges, or without memory, not noted: the run is then only kept
    /// allocated, if it moves, until the map is written.
    fn note_fresh(&self, run: &Extent) {
        let (start, end) = (run.fragment, run.fragment.saturating_add(run.count));
        let mut fresh = self.inode.info().fresh.lock();
        if let Some(last) = fresh.last_mut() {
            if last.1 == start {
                last.1 = end;
                return;
            }
            if last.0 == end {
                last.0 = start;
                return;
            }
        }
        if fresh.len() < FRESH_RANGES {
            let _nofs = NofsScope::enter();
            let _ = fresh.push((start, end), GFP_KERNEL);
        }
    }

    /// Whether `run` lies inside fragments allocated since the map was
    /// last stored ([`Self::note_fresh`]): no map on the disk names it.
    fn is_fresh(&self, run: &Extent) -> bool {
        let end = run.fragment.saturating_add(run.count);
        self.inode
            .info()
            .fresh
            .lock()
            .iter()
            .any(|&(start, stop)| start <= run.fragment && end <= stop)
    }

    /// Whether [`Self::replace_run`] takes `new` in place of `old`:
    /// `EINVAL` for an empty run, or one in place longer than `old`.
    pub(crate) fn check_replacement(old: &Extent, new: &Extent) -> Result {
        if new.count == 0 || (new.fragment == old.fragment && new.count > old.count) {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Writeback stored file block `n`, held in `old`, compressed in
    /// `new`: the first fragments of `old`, or a run taken for it
    /// elsewhere.  The map names `new` and what `new` does not reuse of
    /// `old` is freed.  `slot` is where `n`'s pointer is
    /// ([`Self::pointer_slot`], found before the bytes of `new` were
    /// written: the map names `new` once they are, whatever follows).
    /// The caller holds the block's folio locked and found `old` under
    /// this lock, and `new` passed [`Self::check_replacement`].
    pub(crate) fn replace_run(
        &mut self,
        n: u64,
        slot: PointerSlot,
        old: &Extent,
        new: Extent,
    ) -> Result {
        Self::check_replacement(old, &new)?;
        let in_place = new.fragment == old.fragment;

        self.runs_changed();
        self.write_pointer(slot, self.geometry.encode_pointer(new));
        if !in_place {
            self.note_fresh(&new);
        }
        let freed = if in_place {
            Extent {
                fragment: old.fragment + new.count,
                count: old.count - new.count,
                compressed: false,
            }
        } else {
            Extent {
                compressed: false,
                ..*old
            }
        };
        self.free_replaced(&freed, n, Some(&new));
        // The fragments of `new` are in one bitmap block: taken for it
        // (`balloc::take_shared_fragments`), or `old`'s.
        let (index, _) = self.geometry.bitmap_position(new.fragment);
        self.note_bitmap(balloc::bitmap_bit(index as usize));
        self.disk.blocks = self
            .disk
            .blocks
            .saturating_add(new.count)
            .saturating_sub(old.count);
        self.store();
        Ok(())
    }

    /// The packed tail at file block `n` has moved to run `new`, its
    /// bytes written there, and the bitmap blocks that call it used
    /// (`tails::unpack`): the map names `new` and the inode no tail
    /// offset, so that the one write of the inode that follows switches
    /// the disk from the tail to the run at once.  A pointer of the inode
    /// itself changes with it.  A pointer in an indirect block is named by
    /// copies of the indirect blocks on its path instead
    /// ([`Self::copy_path`]), written before the inode names the top one:
    /// the disk holds the old path, naming the tail block, until the
    /// inode is written, and the new one after.  Changed in place, the
    /// indirect block reached the disk on its own schedule, before the
    /// inode or after it, and a crash in between left an inode without a
    /// tail offset whose last pointer named the tail block, read as the
    /// file's block (other files' tails in it), or a packed tail whose
    /// pointer named no tail block (`EUCLEAN`).  `changed`: the bitmap
    /// blocks the new run's fragments changed.  Returns the blocks of the
    /// old path, which the caller frees once the inode is on the disk
    /// ([`Self::free_old_path`]).  An error changes nothing.
    pub(crate) fn unpacked_tail(&mut self, n: u64, new: Extent, changed: u64) -> Result<OldPath> {
        let old = self.switch_tail_pointer(n, self.geometry.encode_pointer(new))?;
        self.note_bitmap(changed);
        self.disk.blocks = self.disk.blocks.saturating_add(new.count);
        self.store();
        Ok(old)
    }

    /// The packed tail at file block `n` is cut off by a truncation to
    /// before its block (`tails::cut`, `Cut::Off`): the map names a hole
    /// there and the inode no tail offset, a pointer in an indirect block
    /// changed by copies of its path as in [`Self::unpacked_tail`], so
    /// that the inode's one write (`tails::cut_off`) switches the disk
    /// from the tail to the hole.  Changed in place, the indirect block
    /// could reach the disk before the inode, and a crash in between
    /// left a packed tail whose pointer named no tail block (`EUCLEAN`).
    /// A truncation takes no room (review rev10): without room for the
    /// copies (`ENOSPC`) the pointer is cleared in place
    /// ([`Self::released_tail`]), with that window left open.  Returns
    /// the old path, for [`Self::free_old_path`] once the inode is on
    /// the disk.  An error changes nothing.
    pub(crate) fn cut_tail(&mut self, n: u64) -> Result<OldPath> {
        match self.switch_tail_pointer(n, 0) {
            Ok(old) => {
                self.store();
                Ok(old)
            }
            Err(err) if err == ENOSPC => {
                self.released_tail(n)?;
                Ok(OldPath::default())
            }
            Err(err) => Err(err),
        }
    }

    /// Points the packed tail's pointer at file block `n` to `pointer`
    /// and clears the tail offset: a pointer of the inode in place, one
    /// in an indirect block by copies of its path ([`Self::copy_path`])
    /// that the inode's top pointer names.  Returns the old path.  An
    /// error changes nothing.
    fn switch_tail_pointer(&mut self, n: u64, pointer: u32) -> Result<OldPath> {
        let geometry = self.geometry;
        let slot = slot_of(n, geometry.pointers_per_block()).ok_or(EFBIG)?;
        let old = match self.container(n)?.0 {
            Container::Direct { index } => {
                self.runs_changed();
                self.disk.direct[index] = pointer;
                OldPath::default()
            }
            Container::Indirect { above, levels, .. } => {
                let (entries, _) = slot.indirect_entries();
                let top = self.copy_path(&above[..levels], &entries[..levels], pointer)?;
                self.runs_changed();
                *self.disk.pointer_mut(slot.inode_pointer()) =
                    geometry.encode_pointer(geometry.whole_block(top));
                OldPath {
                    blocks: above,
                    levels,
                }
            }
            Container::Missing { .. } => {
                return Err(corrupt(self.sb, self.ino(), TAIL_NOT_IN_BLOCK))
            }
        };
        self.disk.tail_offset = 0;
        Ok(old)
    }

    /// Copies of indirect blocks `path` (outermost first), each naming the
    /// copy below it at `entries` of its level, the last naming `pointer`:
    /// new blocks, written and waited for, with the bitmap blocks that
    /// call them used (toyfs refuses a pointer to a block the bitmap calls
    /// free).  Returns the top copy, which nothing names yet.  On error
    /// the copies go back and nothing changed (`ENOSPC`, `EIO`).
    fn copy_path(&mut self, path: &[u32], entries: &[u32], pointer: u32) -> Result<u32> {
        let (sb, ino, geometry) = (self.sb, self.ino(), self.geometry);
        // CAST: at most 3 levels.
        let mut reservation =
            balloc::reserve(sb, path.len() as u32 * geometry.fragments_per_block())?;
        let mut copies = [0u32; 3];
        let mut made = 0;
        // Under the map lock, which writeback takes: held across no
        // allocation that may enter filesystem reclaim.
        let mut bytes = {
            let _nofs = NofsScope::enter();
            KVec::from_elem(0u8, geometry.block_bytes(), GFP_KERNEL)?
        };
        let mut child = pointer;
        let mut goal = path.last().map_or(0, |&block| block + 1);
        let result = (|| -> Result<u32> {
            for level in (0..path.len()).rev() {
                bytes.copy_from_slice(Buffer::read(sb, path[level])?.lock().data());
                put_u32(&mut bytes, 4 * entries[level] as usize, child);
                let (block, _) = reservation.take_run(goal, 1)?;
                copies[made] = block;
                made += 1;
                goal = block + 1;
                let copy = Buffer::new_block_from(sb, block, &bytes)?;
                copy.mark_dirty();
                copy.sync()?;
                child = geometry.encode_pointer(geometry.whole_block(block));
            }
            write_bitmap_blocks(sb, reservation.changed()).0?;
            Ok(copies[made - 1])
        })();
        self.note_bitmap(reservation.changed());
        drop(reservation);
        if result.is_err() {
            for &block in &copies[..made] {
                forget_bdev_aliases(sb, block, 1);
                self.note_bitmap(balloc::free_blocks(sb, ino, block, 1).unwrap_or(0));
            }
        }
        result
    }

    /// Frees the indirect blocks of a path that [`Self::unpacked_tail`]
    /// or [`Self::cut_tail`] replaced, once the inode naming the new one is on the disk: their
    /// cached copies dropped first and off the inode's kept list
    /// ([`forget_freed_indirect`]), as any freed indirect block's.  The
    /// inode's blocks count never counted both.
    pub(crate) fn free_old_path(&mut self, old: &OldPath) -> Result {
        let (sb, ino) = (self.sb, self.ino());
        let mut result = Ok(());
        for &block in &old.blocks[..old.levels] {
            forget_freed_indirect(self.inode, block, 1);
            match balloc::free_blocks(sb, ino, block, 1) {
                Ok(changed) => self.note_bitmap(changed),
                Err(err) => result = result.and(Err(err)),
            }
        }
        result
    }

    /// The packed tail at file block `n` is let go of, the file being
    /// freed (`tails::release`), or truncated before it without room for
    /// [`Self::cut_tail`]'s copies: the map names a hole there (in
    /// place), and the inode no tail offset.
    pub(crate) fn released_tail(&mut self, n: u64) -> Result {
        self.runs_changed();
        self.set_pointer(n, 0)?;
        self.disk.tail_offset = 0;
        self.store();
        Ok(())
    }

    /// The inode's flags (`FLAG_COMPRESSED` or 0).
    pub(crate) fn flags(&self) -> u32 {
        self.disk.flags
    }

    /// Sets the inode's flags and writes them to its slot.
    pub(crate) fn set_flags(&mut self, flags: u32) -> Result {
        self.disk.flags = flags;
        let ino = self.ino();
        InodeSlot::read(self.sb, ino)?.update(|inode| inode.flags = flags);
        Ok(())
    }

    /// Counts the map's blocks in the VFS inode and marks it dirty:
    /// `write_inode` writes the map's roots and blocks count to the
    /// inode's slot from memory, with its other attributes, as ext2 marks
    /// the inode dirty when it splices a new branch (`ext2_splice_branch`).
    /// Not decoded and encoded into the inode table at every change.
    fn store(&self) {
        self.inode
            .set_blocks(self.disk.blocks, self.geometry.fragment_size());
        self.inode.mark_dirty();
    }

    /// Frees what pointer `block` (data at `depth` 0, else an indirect
    /// block of `depth` levels covering file blocks from `first`) holds
    /// among file blocks `free`; true if `block` itself was freed: all it
    /// covers is in `free`, or it is an indirect block left without a
    /// pointer (as ext2's `ext2_free_branches` frees a branch a
    /// truncation empties, and ext4 the index blocks a hole punched
    /// empties).  `above` are the indirect blocks on the path to `block`.
    fn prune(
        &mut self,
        block: u32,
        above: &[u32],
        depth: u32,
        first: u64,
        free: &Range<u64>,
        freer: &mut Freer,
    ) -> Result<bool> {
        let p = u64::from(self.geometry.pointers_per_block());
        let cover = match depth {
            0 => 1,
            1 => p,
            2 => p * p,
            _ => p * p * p,
        };
        // `first + cover <= free.start` and its converse below, without
        // the sum: `saturating_sub` is 0 where `first` is past the bound,
        // and `cover` is at least 1.
        if block == 0 || free.start.saturating_sub(first) >= cover || first >= free.end {
            return Ok(false);
        }
        let (sb, ino, geometry) = (self.sb, self.ino(), self.geometry);
        // A data block may be a run of fragments; an indirect block is a
        // whole plain block.
        let extent = if depth == 0 {
            check_extent(sb, ino, block, above)?.ok_or(EINVAL)?
        } else {
            geometry.whole_block(check_entry(sb, ino, block, above)?)
        };
        let covered = free.start <= first && free.end.saturating_sub(first) >= cover;
        if depth > 0 {
            let block = extent.block(&geometry);
            // The path to the children: `above`, then `block` (depth is at
            // most 3, so `above` holds at most two blocks here).
            let mut path = [0u32; 3];
            let levels = above.len().min(2);
            path[..levels].copy_from_slice(&above[..levels]);
            path[levels] = block;
            let path = &path[..=levels];
            // A child covers `span = cover / P` blocks, `P^(depth - 1)`:
            // shifts, not divisions (a division by a variable carries a
            // branch of its own, and `div_ceil`'s sum an overflow branch).
            let pointers_shift = geometry.pointers_shift();
            let span_shift = match depth {
                1 => 0,
                2 => pointers_shift,
                _ => 2 * pointers_shift,
            };
            let span = 1u64 << span_shift;
            // The entries whose children overlap `free`: `from < P` (the
            // test above), and `to` the first whose children lie past
            // `free.end`, at most `P` (`cover` is `P` children), without
            // an overflow: `cover + span` is below `2^31`.
            let from = free.start.saturating_sub(first) >> span_shift;
            let to = (free.end.saturating_sub(first).min(cover) + (span - 1)) >> span_shift;
            // CAST: entries of one block.
            let (mut entry, end) = (from as usize, to as usize);
            let buffer = Buffer::read(sb, block)?;
            while entry < end {
                // The next child, found under one hold of the buffer lock
                // (most entries past the end of a file are 0), which is
                // not held while the child is pruned.
                let next = first_nonzero_entry(buffer.lock().data(), entry, end);
                let Some((found, child)) = next else {
                    break;
                };
                // OVERFLOW: `found < end <= p <= 1024` (an entry of this
                // block, as `first_nonzero_entry` returns), so the child's
                // first block lies inside this block's cover, below the
                // map's reach (`12 + p + p^2 + p^3 < 2^31`: `first` is the
                // first block of this block's cover, from `inode_pointers`
                // or this very sum one level up); and `4 * found` is a
                // byte of the block, `found + 1` at most `p`.  No sum or
                // product can overflow, and none needs a check.
                let child_first = first.wrapping_add((found as u64).wrapping_mul(span));
                if self.prune(child, path, depth - 1, child_first, free, freer)? {
                    put_u32(buffer.lock().data_mut(), found.wrapping_mul(4), 0);
                    dirty_indirect(self.inode, &buffer);
                }
                entry = found.wrapping_add(1);
            }
            // CAST: a block's pointers.
            if !covered && first_nonzero_entry(buffer.lock().data(), 0, p as usize).is_some() {
                return Ok(false);
            }
        } else if !covered {
            return Ok(false);
        }
        // An indirect block, or a directory's block, was metadata in the
        // buffer cache: a dirty copy must not be written later over what
        // the block holds by then.  Not a run of fragments: its block's
        // buffer holds other files' fragments too.
        let metadata = (depth > 0 || self.inode.is_dir()) && extent.is_whole_block(&geometry);
        freer.free(self.inode, &extent, metadata)?;
        self.disk.blocks = self.disk.blocks.saturating_sub(extent.count);
        Ok(true)
    }

    /// Frees every block at or past the end of a file of `size` bytes
    /// (`Filesystem::truncate` of tools/toyfs-format).
    pub(crate) fn truncate(&mut self, size: u64) -> Result {
        let eof = self.geometry.blocks_for(size);
        self.free_range(eof..self.geometry.map_reach_blocks())
    }

    /// Frees the blocks of file blocks `free` (a truncation, a hole
    /// punched, the new blocks of a write or an `fallocate` that failed),
    /// and every indirect block it leaves without a pointer (`prune`),
    /// whatever else that block spans: holes only.
    pub(crate) fn free_range(&mut self, free: Range<u64>) -> Result {
        if free.is_empty() {
            return Ok(());
        }
        // A packed tail's block is shared: it leaves by `tails::unpack`,
        // `tails::cut` or `tails::release` before any truncation reaches
        // it.
        if self.packed_tail().is_some_and(|tail| free.contains(&tail)) {
            return Err(EIO);
        }
        // Before any block is freed: writeback's remembered mappings are
        // stale from now on.
        self.runs_changed();
        let blocks_before = self.disk.blocks;
        let mut freer = Freer::default();
        let mut result = Ok(());
        for (root, depth, first) in inode_pointers(self.geometry.pointers_per_block()) {
            let block = self.disk.pointer(root);
            match self.prune(block, &[], depth, first, &free, &mut freer) {
                Ok(true) => *self.disk.pointer_mut(root) = 0,
                Ok(false) => {}
                Err(err) => {
                    result = Err(err);
                    break;
                }
            }
        }
        let result = result.and(freer.flush(self.inode));
        self.note_bitmap(freer.changed);
        if self.disk.blocks != blocks_before {
            self.store();
        }
        result
    }
}

/// Blocks of a page, the step in which runs of new file data are placed
/// (`page_aligned`): 1 for blocks of a page or more.  With FRAGMENTS too:
/// a whole block in a page of its own may be cached by the device
/// without buffers, which a truncation into it forgets
/// (`forget_block_copy`).
fn page_step(geometry: &Geometry) -> u32 {
    // CAST: at most a page's blocks.
    (PAGE_SIZE >> geometry.block_shift()).max(1) as u32
}

/// Where a run of new whole blocks for file blocks from `n` on should
/// start looking, given `goal`, with `step` blocks to a page: the first
/// block from `goal` on that lies at the same place in a page of the
/// device as block `n` in a page of the file, so that each folio of the
/// run is one page of the device (one segment for `brd` and for a device
/// of 4 KiB sectors, which would read and write back a page the folio
/// covers only in part).  The blocks skipped stay free: after each new
/// indirect block, at most a page less one block.
fn page_aligned(goal: u32, n: u64, step: u32) -> u32 {
    // CAST: below `step`, a power of two.
    let skip = (n.wrapping_sub(u64::from(goal)) & u64::from(step - 1)) as u32;
    goal.saturating_add(skip)
}

/// The indirect blocks of the path to a packed tail's pointer that
/// [`BlockMap::unpacked_tail`] or [`BlockMap::cut_tail`] replaced with
/// copies (outermost first; none for a pointer of the inode): named by
/// the inode on the disk until it is written again, then freed.
#[derive(Default)]
pub(crate) struct OldPath {
    blocks: [u32; 3],
    levels: usize,
}

/// The new data blocks of one container, taken from the bitmap and not
/// yet named by its map: runs of whole blocks `(at, first, count)` for
/// the holes from its pointer `at`, and the tail's fragments.
#[derive(Default)]
struct NewRuns {
    runs: [(usize, u32, u32); 8],
    len: usize,
    tail: Option<(usize, Extent)>,
}

impl NewRuns {
    fn is_empty(&self) -> bool {
        self.len == 0 && self.tail.is_none()
    }

    /// Gives every run back to the bitmap (the map names none of them):
    /// the bitmap blocks changed.  A run that cannot be freed (only a
    /// damaged bitmap refuses) stays used, for fsck.
    fn give_back(&self, sb: &SuperBlock, ino: u32) -> u64 {
        let mut changed = 0;
        for &(_, first, count) in &self.runs[..self.len] {
            changed |= balloc::free_blocks(sb, ino, first, count).unwrap_or(0);
        }
        if let Some((_, extent)) = &self.tail {
            changed |= balloc::free_extent(sb, ino, extent).unwrap_or(0);
        }
        changed
    }
}

/// Takes runs of new blocks from `reservation` for the holes among the
/// `k` pointers of a container from file block `n` on (`pointer(j)`:
/// pointer `j`, checked by `check_extent`) into `runs`, which the map
/// does not name yet; returns how many pointers it went through (fewer
/// than `k` once `runs` is full).  `tail`: the file's last block and the
/// fragments it takes, with FRAGMENTS.  `goal` follows the blocks met.
#[allow(clippy::too_many_arguments)]
fn plan_holes(
    geometry: &Geometry,
    n: u64,
    k: usize,
    tail: Option<(u64, u32)>,
    reservation: &mut Reservation<'_>,
    goal: &mut u32,
    runs: &mut NewRuns,
    pointer: &dyn Fn(usize) -> Result<Option<Extent>>,
) -> Result<usize> {
    let tail_block = tail.map(|(t, _)| t);
    // OVERFLOW: `k` is at most a container's pointers (`P <= 1024`) and
    // `n + k` at most the map's reach (below `2^32`); `j` and `j + holes`
    // stay at most `k`, a run taken is at most the holes asked for, and
    // at most a block count, past its first block (`runs.len` below the
    // array's length, checked before): no sum here overflows, and none
    // carries a check.
    let mut j: usize = 0;
    while j < k {
        if let Some(current) = pointer(j)? {
            *goal = current.block(geometry).wrapping_add(1);
            j = j.wrapping_add(1);
            continue;
        }
        let at = n.wrapping_add(j as u64);
        if let Some((_, fragments)) = tail.filter(|&(t, _)| t == at) {
            runs.tail = Some((j, reservation.take_fragments(*goal, fragments)?));
            j = j.wrapping_add(1);
            continue;
        }
        let len = runs.len;
        if len >= runs.runs.len() {
            break;
        }
        let mut holes: usize = 1;
        loop {
            let next = j.wrapping_add(holes);
            if next >= k
                || Some(n.wrapping_add(next as u64)) == tail_block
                || pointer(next)?.is_some()
            {
                break;
            }
            holes = holes.wrapping_add(1);
        }
        // CAST: at most a container's pointers.
        let (first, count) = match page_step(geometry) {
            1 => reservation.take_run(*goal, holes as u32)?,
            step => {
                reservation.take_run_in_step(page_aligned(*goal, at, step), holes as u32, step)?
            }
        };
        runs.runs[len] = (j, first, count);
        runs.len = len.wrapping_add(1);
        *goal = first.wrapping_add(count);
        j = j.wrapping_add(count as usize);
    }
    Ok(j)
}

/// Frees fragments (blocks without FRAGMENTS) a run at a time.
#[derive(Default)]
struct Freer {
    /// The run gathered so far: first fragment, count, whether metadata
    /// (whole blocks).
    run: Option<(u32, u32, bool)>,
    /// The bitmap blocks changed (`balloc::bitmap_bit`).
    changed: u64,
}

impl Freer {
    fn free(&mut self, inode: &Inode, extent: &Extent, metadata: bool) -> Result {
        // The run grows only by a run that follows it and keeps it below
        // 2^32 fragments (always, for fragments of the image: they are
        // fewer): checked sums, no overflow branch.
        if let Some((first, count, kind)) = &mut self.run {
            if *kind == metadata && first.checked_add(*count) == Some(extent.fragment) {
                if let Some(longer) = count.checked_add(extent.count) {
                    *count = longer;
                    return Ok(());
                }
            }
        }
        self.flush(inode)?;
        self.run = Some((extent.fragment, extent.count, metadata));
        Ok(())
    }

    /// Frees the run gathered, whole blocks of metadata (indirect blocks,
    /// a directory's blocks) first cleaned, off `inode`'s kept list and
    /// their failed writes forgotten ([`forget_freed_indirect`]).
    /// Under `inode`'s map lock.
    fn flush(&mut self, inode: &Inode) -> Result {
        let Some((first, count, metadata)) = self.run.take() else {
            return Ok(());
        };
        let sb = inode.sb();
        if metadata {
            let shift = sb.info().geometry.fragment_shift();
            forget_freed_indirect(inode, first >> shift, count >> shift);
        }
        self.changed |= balloc::free_run(sb, inode.ino(), first, count)?;
        Ok(())
    }
}

/// Why an inode is read from the inode table (`read_inode`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadFor {
    /// A directory entry names it (or it is the root): it must be in use
    /// and linked, or the image is damaged.
    Entry,
    /// Its caller claimed it a moment ago: it may be a symbolic link
    /// whose target is not written yet (size 0), or an `O_TMPFILE` file,
    /// claimed with no link (`namei::tmpfile`), which are accepted then
    /// only.
    JustMade,
    /// A file handle names it (`ops::export`): a slot that holds no file
    /// (yet) is a stale handle (`ESTALE`, with no message), not damage,
    /// as in ext2's `ext2_iget`: a free inode, one with no link left (its
    /// file was deleted, and the eviction that frees it did not end; an
    /// `O_TMPFILE` file not yet open), and a symbolic link of size 0 (one
    /// being created: `namei::symlink` writes its target once the VFS
    /// inode exists, and the handle's `iget` came first).
    Handle,
}

/// Reads and validates inode `ino`, read `why`.  Also whether the disk
/// holds the inode as read (`InodeSlot::get_and_whether_on_disk`): if not
/// (an inode evicted after writeback stored it without waiting), the
/// caller notes it unsynced, for the file's `fsync` to write it.
pub(crate) fn read_inode(sb: &SuperBlock, ino: u32, why: ReadFor) -> Result<(DiskInode, bool)> {
    let (inode, on_disk) = InodeSlot::read(sb, ino)?.get_and_whether_on_disk();
    let just_made = why == ReadFor::JustMade;
    // With the features as they are now: SPECIAL_FILES may have been set
    // since the mount, for the inode read here.
    match inode.reader_problem(&sb.info().geometry_now()) {
        None => Ok((inode, on_disk)),
        Some(InodeProblem::SymlinkSize { size: 0 }) if just_made => Ok((inode, on_disk)),
        Some(InodeProblem::TooFewLinks { nlink: 0, .. })
            if just_made && inode.file_type() == Some(FileType::Regular) =>
        {
            Ok((inode, on_disk))
        }
        Some(InodeProblem::Free | InodeProblem::SymlinkSize { size: 0 })
            if why == ReadFor::Handle =>
        {
            Err(ESTALE)
        }
        // Whatever else a slot of a deleted file holds while its eviction
        // lets its blocks go.
        Some(_) if why == ReadFor::Handle && inode.nlink == 0 => Err(ESTALE),
        Some(problem) => Err(corrupt(sb, ino, problem.rule())),
    }
}

/// `write_inode`: the VFS attributes into the inode table; with `sync`
/// (`WB_SYNC_ALL`: `sync(2)`, `write_inode_now`, a directory's `fsync`)
/// written and waited for, after the bitmap blocks whose bits the file
/// changed (`sync_bitmap`), which takes the changes noted for the file's
/// `fsync` (`InodeInfo::unsynced`), given back if the write fails.
/// Without `sync` only into the device's cache: the changes stay noted,
/// and the file's `fsync` writes the inode.
///
/// If runs moved out of the map stay held because the map naming their
/// successors could not be written (`InodeInfo::deferred`: a failed
/// write, a data write that failed, a run moved meanwhile), the inode is
/// dirtied again (`Inode::mark_dirty_sync`), as `gfs2_write_inode` does
/// when its write fails: the next writeback (background, `sync(2)`)
/// writes it again and frees them once the device writes.  Before, the
/// inode stayed clean and they stayed held until the file's `fsync` or
/// its eviction, and every `ENOSPC` meanwhile wrote the filesystem back
/// for nothing (`write::retry_after_writeback`; review 2026-12-06).  The
/// flusher, which calls this holding the inode (`I_SYNC`), requeues it
/// when done (`requeue_inode`): a `WB_SYNC_NONE` pass to the tail of
/// the dirty list, a `WB_SYNC_ALL` pass dated now so that it does not
/// take it again (no livelock).  So does a file whose moved blocks keep
/// moving ([`MOVING_ROUNDS`]): its map is not written, and `Ok`.
pub(crate) fn write_inode(inode: &Inode, sync: bool) -> Result {
    let (written, kept) = write_inode_keeping(inode, sync, Moves::MayGoOn);
    if kept != Kept::No {
        inode.mark_dirty_sync();
    }
    written
}

/// [`write_inode`] with `sync`, for a caller that needs the inode on the
/// disk: false if the moved blocks kept moving and the map is not
/// written (only with [`Moves::MayGoOn`]; the inode is dirty again),
/// for the caller to stop what moves them and call again with
/// [`Moves::Stopped`].
pub(crate) fn write_inode_waited(inode: &Inode, moves: Moves) -> Result<bool> {
    let (written, kept) = write_inode_keeping(inode, true, moves);
    if kept != Kept::No {
        inode.mark_dirty_sync();
    }
    written.map(|()| kept != Kept::StillMoving)
}

/// Whether the caller of [`write_inode_keeping`] keeps the file's blocks
/// from getting new runs while it writes the map.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moves {
    /// Nothing does: writeback, `sync(2)`, `syncfs`, the `ENOSPC`
    /// retry, a directory's `fsync` before it takes the directory's lock.
    /// Stores through a shared mapping of a compressed file and appends
    /// may give blocks new runs all the time.
    MayGoOn,
    /// Nothing can: the eviction (no writer, no mapping left), a caller
    /// holding the inode's lock and its `invalidate_lock` (`tails`: no
    /// write, truncation or fault dirties a folio), a directory's `fsync`
    /// holding the directory's lock (every change of a directory's
    /// blocks takes it exclusive).  What is left to move runs is the
    /// writeback of folios dirty already, each written once and then
    /// clean for good, so the rounds end.
    Stopped,
}

/// What [`write_inode_keeping`] left of the runs moved out of the map.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kept {
    /// None held, or all freed.
    No,
    /// Held: the map naming their successors was not written (an error).
    Yes,
    /// Held: the moved blocks kept moving for [`MOVING_ROUNDS`] rounds,
    /// and the map was not written (no error).
    StillMoving,
}

/// The rounds of [`write_inode_keeping`] (each writes the moved blocks'
/// folios) after which, with [`Moves::MayGoOn`], a file whose moved
/// blocks got new runs again in each keeps its map off the disk and its
/// runs held, the inode dirty for the next writeback.  Until review
/// 2026-12-07 (eiofix (a)) the map was written then, naming runs moved
/// since the last data write, their bytes not on the disk, and the old
/// runs, which held durable bytes, were freed: a crash lost the data.
pub(crate) const MOVING_ROUNDS: u32 = 4;

/// [`write_inode`] but for dirtying the inode again: also whether runs
/// moved out of the map stay held, the map naming their successors not
/// written.  For the eviction too, which must not dirty the inode.
fn write_inode_keeping(inode: &Inode, sync: bool, moves: Moves) -> (Result, Kept) {
    let (written, kept) = write_map_keeping(inode, sync, moves);
    match kept {
        Kept::Yes => note_kept_after_failure(inode, true),
        Kept::No => note_kept_after_failure(inode, false),
        Kept::StillMoving => {}
    }
    (written, kept)
}

/// Sets or clears `inode`'s [`InodeInfo::kept_after_failure`], keeping
/// the filesystem's count of the inodes that have it set exact: only the
/// caller that flips the flag changes the count.  Decided under the
/// `deferred` lock, by the runs held then: set (`failed`) only while runs
/// are held, cleared only once none is.  Until review 2026-12-07
/// (keptfix 3, 4) the caller's outcome alone decided, unlocked: an
/// `fsync` that wrote the map, noting after a `write_inode` that failed
/// beside it and gave its runs back, cleared the flag with runs held
/// after that failure (a freeze then froze them); and a failed write of
/// the bitmap, or of no map at all, with no run held, set it, and
/// every freeze failed until the next write of the inode.
fn note_kept_after_failure(inode: &Inode, failed: bool) {
    let info = inode.info();
    let held = info.deferred.lock();
    let kept = match (failed, held.is_empty()) {
        (true, false) => true,
        (_, true) => false,
        // Runs held, this write not failed: given back by a failed
        // write beside it, which notes it, or moved since.
        (false, false) => return,
    };
    if info.kept_after_failure.swap(kept, Ordering::AcqRel) != kept {
        let sb = inode.sb().info();
        if kept {
            sb.last_kept_after_failure
                .store(inode.ino(), Ordering::Relaxed);
            sb.inodes_kept_after_failure.fetch_add(1, Ordering::AcqRel);
        } else {
            sb.inodes_kept_after_failure.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Marks `buffer`, the buffer of an indirect block of `inode` just
/// changed, dirty on the inode's own list (`Buffer::mark_dirty_for`)
/// and keeps it referenced on [`InodeInfo::indirect`] until it is found
/// written ([`write_indirect`]): a failed write leaves it clean and off
/// that list, its bytes, newer than the disk's, in the cache only while
/// referenced.  A buffer is pushed unless it is on the list already (its
/// "kept" bit, [`Buffer::keep`], tested and set under the list's lock):
/// so the list holds each buffer at most once, each an indirect block
/// the file's map names (or an old path [`BlockMap::free_old_path`]
/// frees once the new one is on the disk): a freed one leaves it first
/// ([`forget_freed_indirect`]).  Its length is bounded by the file's
/// indirect blocks, an entry of 16 bytes for a block of at least 1 KiB
/// allocated, whatever the writes' order.  Until review 2026-12-07
/// (keptfix2 2) only the last 4 entries were looked at: random writes
/// into a sparse file pushed an entry for each block allocated, and the
/// list, one `kmalloc` block, reached orders that warn.  It is a
/// `kvmalloc` vector now, no high-order allocation.  When it is full,
/// before it grows, those found written already are let go.  Without
/// the memory to keep it, the buffer is written now, waiting; if that
/// fails it stays dirty, and the error is recorded on the superblock,
/// where `syncfs` finds it.  Under the map's lock.
fn dirty_indirect(inode: &Inode, buffer: &Buffer) {
    buffer.mark_dirty_for(inode);
    // `evict_inode` takes the list, in reclaim too: it grows without
    // entering filesystem reclaim.
    let _nofs = NofsScope::enter();
    let mut kept = inode.info().indirect.lock();
    let Some(new) = buffer.keep() else {
        return;
    };
    if kept.len() == kept.capacity() {
        kept.retain(|old| !old.is_written());
    }
    let len = kept.len();
    let grown = len < kept.capacity() || kept.reserve(len.max(4), GFP_KERNEL).is_ok();
    // A push that fails drops `new`, which clears its kept bit.
    if !grown || kept.push_within_capacity(new).is_err() {
        drop(kept);
        if buffer.write_now().is_err() {
            inode.sb().record_write_error();
        }
    }
}

/// Blocks `first..first + count` of `inode`, indirect blocks (or a
/// directory's blocks) its map no longer names, are about to go back to
/// the bitmap: their buffers leave [`InodeInfo::indirect`] (their kept
/// bits cleared), and their cached copies are cleaned and no longer kept
/// for a failed write (`forget_bdev_aliases`: dirty and `write_io_error`
/// cleared, after any write in flight).  Until review 2026-12-07
/// (keptfix2 1) a freed indirect block whose write had failed stayed on
/// the list, clean (`clean_bdev_aliases`) with its error flag: every
/// later [`write_indirect`] of the file found it not written, wrote
/// nothing and failed (`EIO` from each `fsync`, runs held, freezes
/// refused), and a write of it made again (`keep_failed_write`) could go
/// over the block after another file took it.  Under the map's lock, so
/// that no [`dirty_indirect`] pushes one of them meanwhile.  The list is
/// walked only if one of the blocks' buffers is kept ([`Buffer::is_kept`]):
/// a truncation or deletion frees its indirect blocks one at a time, and
/// a walk of a long list for each was quadratic (review of keptfix2).
fn forget_freed_indirect(inode: &Inode, first: u32, count: u32) {
    let sb = inode.sb();
    if (first..first + count).any(|block| Buffer::is_kept(sb, block)) {
        let blocks = u64::from(first)..u64::from(first) + u64::from(count);
        inode
            .info()
            .indirect
            .lock()
            .retain(|buffer| !blocks.contains(&buffer.block()));
    }
    forget_bdev_aliases(sb, first, count);
}

/// Writes and waits for the buffers of `inode`'s indirect blocks kept on
/// [`InodeInfo::indirect`] that are dirty or whose last write failed,
/// whoever made it (`write_indirect` by an earlier call, the device's
/// writeback, a directory's `fsync`: the buffer is clean then, off the
/// file's list, and the disk holds the block's older bytes): they are
/// written again (`Buffer::write_now`), as `sync_kept_packed` judges the
/// packed buffers.  A failed write whose error was reported (the file's
/// `fsync`, `mark_buffer_write_io_error` put it on its mapping) does not
/// fail the next write of the map if the block is written this time;
/// the kernel's `mmb_sync`, which drops a clean buffer from the list,
/// would have let the map be written over the old bytes (keptfix 1).
/// The buffers all written, the list is emptied.  The first error, after
/// every buffer was tried.  Under the map's lock, so that no indirect
/// block changes meanwhile.
fn write_indirect(inode: &Inode) -> Result {
    let mut kept = inode.info().indirect.lock();
    let mut result = Ok(());
    for buffer in kept.iter() {
        if !buffer.is_written() {
            result = result.and(buffer.write_now());
        }
    }
    if result.is_ok() {
        kept.clear();
    }
    result
}

/// The work of [`write_inode_keeping`], whose caller notes whether runs
/// stay held after a failure.
fn write_map_keeping(inode: &Inode, sync: bool, moves: Moves) -> (Result, Kept) {
    let info = inode.info();
    // While runs are held, the blocks given a new run since an `fsync`
    // or this last wrote the map (`InodeInfo::moved`) are written and
    // waited for first: the map written below names their new runs, and
    // the old ones, which held durable bytes, are freed once it is on
    // the disk.  Writeback submits a file's folios without waiting
    // (`WB_SYNC_NONE`, and `sync(2)`'s `WB_SYNC_ALL` pass) before it
    // calls this, so the map reached the disk ahead of them, and after
    // a failed write of them (review 2026-12-06): a crash then, or the
    // failed write, left the file naming a run without its bytes.  A
    // failed write of the moved blocks' bytes (`InodeInfo::failed`, kept
    // until they are written again or the file's `fsync` reports it)
    // keeps the map off the disk, the old runs held and named there.  A
    // failed write of another range of the file does not: until review
    // 2026-12-07 (eiofix (b)) the mapping's `AS_EIO`, which any failed
    // write of the file sets, kept every map of the file off the disk
    // until its `fsync`.  Only files holding runs pay for it.
    let mut rounds = 0;
    let (slot, map, held) = loop {
        let waited = if info.deferred.lock().is_empty() {
            None
        } else {
            let moved = info.moved();
            if let Err(err) = inode.write_and_wait_range(moved.bytes.clone()) {
                return (Err(err), Kept::Yes);
            }
            // Recorded by the write's end before its folio's writeback
            // ended, which the wait above saw.
            if info.failed.overlaps(&moved.bytes) {
                return (Err(EIO), Kept::Yes);
            }
            Some(moved)
        };
        let slot = match InodeSlot::read(inode.sb(), inode.ino()) {
            Ok(slot) => slot,
            Err(err) if waited.is_some() => return (Err(err), Kept::Yes),
            Err(err) => return (Err(err), Kept::No),
        };
        let map = info.map.lock();
        // Runs moved out of the map (`InodeInfo::deferred`) wait for it
        // to be on the disk: then it is written and waited for whoever
        // asks (background writeback, the first pass of `sync(2)`, which
        // leaves the inode clean for the second), and that frees them.
        let held = !info.deferred.lock().is_empty();
        // A run moved since the bytes above were written (or runs held
        // only since, a concurrent write): its bytes are not on the
        // disk, and they are written again first.  Under the map lock no
        // run moves.
        if !held || waited.is_some_and(|moved| info.forget_moved(&moved)) {
            break (slot, map, held);
        }
        drop(map);
        rounds += 1;
        // A file whose runs move all the time (stores through a shared
        // mapping of a compressed file, appends) keeps its map off the
        // disk until they stop: the next writeback tries again, and its
        // `fsync` and eviction stop them (`Moves::Stopped`).
        if moves == Moves::MayGoOn && rounds == MOVING_ROUNDS {
            return (Ok(()), Kept::StillMoving);
        }
    };
    let sync = sync || held;
    // With `sync`, the bitmap blocks whose bits the file changed
    // (`InodeInfo::bitmap_blocks`) go first, as `fsync` writes them: the
    // map written below names the runs allocated since (a moved block's
    // new run, the runs writeback just compressed the moved blocks into),
    // and toyfs refuses a pointer to a block the bitmap on the disk calls
    // free.  Under the map lock no run of the file is allocated
    // meanwhile.  Review 2026-12-07 (`tail_moves_with_runs_held`): the
    // inode written for a moved packed tail named block 0's compressed
    // run, taken by the write of its folio just before, and a crash copy
    // then read f as "block pointer names a free block".  If a bitmap
    // block cannot be written the map is not either, and the inode is
    // dirtied again.
    if sync {
        if let Err(err) = sync_bitmap(inode) {
            return (Err(err), Kept::Yes);
        }
    }
    let taken = if sync { info.take_unsynced() } else { 0 };
    // With `sync`, the runs moved out of the map so far go once the map
    // (the inode, and its indirect blocks) is on the disk.
    let deferred = if sync {
        take_deferred(inode)
    } else {
        KVec::new()
    };
    // The file's own buffers (its indirect blocks, the buffers its moved
    // tail and compressed blocks were copied into) go before the map
    // that names them.  If one cannot be written the map is not either:
    // the inode on the disk keeps naming the held runs, its indirect
    // blocks as they were, and the inode is dirtied again, as for a
    // failed write of the slot.  Until review 2026-12-07 (freezefix 2)
    // the inode was stored anyway, naming an indirect block whose write
    // had failed (`inode_written_only_after_its_indirect_block`).
    // An indirect block whose last write failed, by an earlier call or
    // by anyone else, is written again first ([`write_indirect`]): the
    // buffer is clean since, off the list, and the disk holds what it
    // held before.  Until keptfix 1 a flag set by a failure here kept
    // the map off the disk, cleared by the `fsync` that reported it,
    // after which the map was written over the old bytes.
    if !deferred.is_empty() {
        let own = inode.sync_own_buffers().and(write_indirect(inode));
        if let Err(err) = own {
            drop(map);
            info.keep_unsynced(taken);
            keep_deferred(inode, deferred);
            return (Err(err), Kept::Yes);
        }
        // The buffers writeback copied the file's tail and compressed
        // blocks into, judged by their last write, whoever made it: a
        // buffer is on one inode's list at a time, and one written by the
        // device's writeback or another file's `fsync`, that write
        // failing, was clean and off this list above.
        if let Err(err) = sync_kept_packed(inode) {
            drop(map);
            info.keep_unsynced(taken);
            keep_deferred(inode, deferred);
            return (Err(err), Kept::Yes);
        }
    }
    let stored = store_inode(inode, &slot, &map, sync);
    drop(map);
    // Without `sync` the slot stays in the device's cache (dirty), for
    // the block device's writeback or the next waited write.
    let written = stored.and_then(|dirty| if sync && dirty { slot.sync() } else { Ok(()) });
    if written.is_err() {
        info.keep_unsynced(taken);
    }
    if !deferred.is_empty() && written.is_err() {
        keep_deferred(inode, deferred);
        (written, Kept::Yes)
    } else {
        free_deferred(inode, deferred);
        (written, Kept::No)
    }
}

/// Writes and waits for the buffers that writeback copied `inode`'s
/// tail and compressed blocks into (`InodeInfo::packed`), if dirty,
/// wherever their list: `EIO` if the last write of one failed, this one
/// or an earlier one by the device's writeback or another file's `fsync`,
/// which left it clean (`Buffer::sync`, which makes it dirty again for
/// the next try).  Until review 2026-12-07 (freezefix 3) `write_inode`
/// judged only the file's own list (`Inode::sync_own_buffers`), and
/// wrote a map naming a moved tail whose buffer's write had failed
/// (`moved_tail_named_only_after_its_buffer`, part `ioerrors`).  The
/// first error, after every buffer was tried.
fn sync_kept_packed(inode: &Inode) -> Result {
    let kept = inode.info().packed.lock();
    let mut result = Ok(());
    for buffer in kept.iter() {
        result = result.and(buffer.sync());
    }
    result
}

/// The runs of `inode` moved out of its map and kept allocated since
/// (`InodeInfo::deferred`), taken under the map's lock: the map the
/// caller then writes names none of them.  They stay in the count of
/// held runs (`SbInfo::held_runs`) until [`free_deferred`] frees them
/// or [`keep_deferred`] gives them back.
fn take_deferred(inode: &Inode) -> KVec<Extent> {
    core::mem::take(&mut *inode.info().deferred.lock())
}

/// Frees `runs`, taken by [`take_deferred`], once the inode and its
/// indirect blocks as they were then are on the disk: no pointer there
/// names them any more.  Their bitmap blocks are noted for `fsync`, and
/// they leave the filesystem's count of held runs (`SbInfo::held_runs`)
/// once free.
pub(crate) fn free_deferred(inode: &Inode, runs: KVec<Extent>) {
    let mut changed = 0;
    for run in runs.iter() {
        if let Ok(bits) = balloc::free_extent(inode.sb(), inode.ino(), run) {
            changed |= bits;
        }
    }
    inode
        .sb()
        .info()
        .held_runs
        .fetch_sub(runs.len(), Ordering::Relaxed);
    if changed != 0 {
        inode
            .info()
            .bitmap_blocks
            .fetch_or(changed, Ordering::AcqRel);
    }
}

/// Gives `runs` back to `inode`'s deferred runs: the map naming their
/// successors could not be written.  Without the memory for them they
/// stay allocated, lost fragments that fsck reports, and leave the count
/// of held runs (`SbInfo::held_runs`: no writeback frees them).
fn keep_deferred(inode: &Inode, runs: KVec<Extent>) {
    if runs.is_empty() {
        return;
    }
    let _nofs = NofsScope::enter();
    let mut kept = inode.info().deferred.lock();
    let mut lost = runs.len();
    for run in runs.iter() {
        if kept.push(*run, GFP_KERNEL).is_err() {
            break;
        }
        lost -= 1;
    }
    inode
        .sb()
        .info()
        .held_runs
        .fetch_sub(lost, Ordering::Relaxed);
}

/// The runs still kept on `inode`'s deferred runs as it is evicted (the
/// write that would free them failed, or the freeing of a deleted file
/// did): they stay allocated, lost fragments that fsck reports, and leave
/// the count of held runs (`SbInfo::held_runs`), which no writeback can
/// free any more.
pub(crate) fn forget_deferred(inode: &Inode) {
    let lost = take_deferred(inode);
    note_kept_after_failure(inode, false);
    inode
        .sb()
        .info()
        .held_runs
        .fetch_sub(lost.len(), Ordering::Relaxed);
}

/// Writes the inode of `inode`, and its indirect blocks, waiting, if
/// runs moved out of its map wait for that to be freed
/// ([`free_deferred`]): for the `ENOSPC` retry
/// (`write::retry_after_writeback`), whose writeback moved runs (blocks
/// compressed) that only this frees, and for the eviction.
pub(crate) fn write_deferred(inode: &Inode) -> Result {
    if inode.info().deferred.lock().is_empty() {
        return Ok(());
    }
    write_inode(inode, true)
}

/// The attributes and map roots of `inode` into its slot of the inode
/// table's cached block, not waited for, as writeback without `sync`
/// may store them at any time: for `tails::release`, whose tail leaves
/// its tail block next, so that the slot no longer names the block when
/// the last tail counted there searches the table for another inode
/// naming it (`tails::named_by_another`, which would take a file being
/// freed beside it for one).
pub(crate) fn store_unwaited(inode: &Inode) -> Result {
    let slot = InodeSlot::read(inode.sb(), inode.ino())?;
    let map = inode.info().map.lock();
    store_inode(inode, &slot, &map, false).map(drop)
}

/// A new inode's attributes, its owner, mode and times given once its VFS
/// inode exists, into its slot of the inode table's cached block before
/// an entry names it (Documentation/toyfs.rst, "Write order"): the slot
/// as `ialloc::claim` filled it holds root's owner and group and no
/// times, and any write of that block (a directory's `fsync`, `syncfs`,
/// writeback) takes it to the disk ahead of the directory blocks, so that
/// a crash before the inode's own write left the file root's.  Not
/// waited for, as a claim.
pub(crate) fn store_new_inode(inode: &Inode) -> Result {
    let slot = InodeSlot::read(inode.sb(), inode.ino())?;
    let map = inode.info().map.lock();
    store_inode(inode, &slot, &map, false).map(drop)
}

/// The VFS attributes of `inode` and the roots of its block map, as `map`
/// (the map, locked) holds them, into its inode-table slot: a change of
/// the map only dirties the inode (`BlockMap::store`).  An inode past the
/// double-indirect level's reach is written only once the superblock on
/// the disk has LARGE_FILES (`mount::enable_large_files`); if that fails,
/// the slot is left as it was.  With `sync` (a write the caller waits
/// for next) the slot is marked dirty only if that is needed
/// ([`InodeSlot::store`]); returns whether it was.
fn store_inode(inode: &Inode, slot: &InodeSlot, map: &DiskInode, sync: bool) -> Result<bool> {
    let sb = inode.sb();
    // The map stored from now on may name every run allocated so far:
    // none is fresh any more (`InodeInfo::fresh`).
    inode.info().fresh.lock().clear();
    if map.triple_indirect != 0 || inode.size() > sb.info().geometry.double_reach_size() {
        mount::enable_large_files(sb)?;
    }
    // Every field, named here (no `..`: a field added to the format
    // must be placed here, not left zero): the VFS attributes
    // (`store_attrs` sets the first eight), the generation `iget` read
    // (fixed for the inode's life), and the map's roots from `map`.
    let mut disk = DiskInode {
        mode: 0,
        nlink: 0,
        uid: 0,
        gid: 0,
        size: 0,
        atime: Default::default(),
        mtime: Default::default(),
        ctime: Default::default(),
        // CAST: read from the 16-bit field of the slot.
        generation: inode.generation() as u16,
        direct: map.direct,
        single_indirect: map.single_indirect,
        double_indirect: map.double_indirect,
        triple_indirect: map.triple_indirect,
        blocks: map.blocks,
        flags: map.flags,
        tail_offset: map.tail_offset,
    };
    inode.store_attrs(&mut disk);
    Ok(slot.store(&disk, sync))
}

/// `fsync` of a regular file, once its data is written, and the folios
/// of the blocks whose runs moved as `written` says (`InodeInfo::moved`,
/// read before they were written): what reading the file back after a
/// crash needs and no other file's metadata.  The tail
/// (FRAGMENTS) and the compressed blocks (LZ4), which writeback copied
/// into the buffers of blocks shared with other files' fragments (the
/// buffer kept for the file, `InodeInfo::packed`, is let go once
/// written); the
/// bitmap blocks whose bits the file changed (a pointer to a block the
/// bitmap calls free is refused); then, under the map lock, the file's
/// indirect blocks (its own list, `Buffer::mark_dirty_for`) and its
/// inode, if it changed since an `fsync` last wrote it (`datasync`: in
/// its size or its block map; `InodeInfo::unsynced`).  Returns false, the map not written, if a run moved after
/// `written` was read (a concurrent append moved the tail): its folio is
/// not written yet, and the map must not reach the disk naming the new
/// run before the run holds the bytes; the caller writes the moved
/// folios and calls again.  Once the map lock is held no run moves, and
/// the map written names no run whose bytes are not written.  The first
/// error is returned, after every write was tried; a bitmap block that
/// could not be written is written again by the next `fsync`.
pub(crate) fn sync_file(inode: &Inode, written: &Moved, datasync: bool) -> Result<bool> {
    sync_file_then(inode, written, InodeWrite::Waited { datasync })
}

/// What [`sync_file_then`] does with the inode once what it names is on
/// the disk.
#[derive(Clone, Copy)]
enum InodeWrite {
    /// Written and waited for, if it changed since an `fsync` last wrote
    /// it (`datasync`: in its size or its block map): `fsync`.
    Waited { datasync: bool },
    /// Stored into the inode table's cached block, as writeback stores
    /// it: a new symbolic link, whose inode reaches the disk with that
    /// block, ahead of the directory blocks (`write_new_symlink`).
    Stored,
}

/// [`sync_file`], the inode then written as `inode_write` says.
fn sync_file_then(inode: &Inode, written: &Moved, inode_write: InodeWrite) -> Result<bool> {
    let sb = inode.sb();
    let info = inode.info();
    let geometry = sb.info().geometry;
    let mut result = Ok(());
    let size = inode.size();
    if geometry.has_fragments() && size > 0 {
        result = sync_packed(inode, size);
        if result.is_ok() {
            // Written, unless copied again since: no longer kept.
            info.packed.lock().retain(|buffer| !buffer.is_written());
        }
    }
    result = result.and(sync_bitmap(inode));
    // The inode only if it changed since an `fsync` last wrote it (for
    // `fdatasync`, in its size or its block map), as ext2's
    // `simple_fsync`.  A change noted after this test came after the
    // `fsync` was asked for, which need not write it: it stays noted for
    // the next one.
    let changed = match inode_write {
        InodeWrite::Waited { datasync } => info.is_unsynced(datasync),
        InodeWrite::Stored => true,
    };
    // Read (from the disk, if need be) before the map is locked.
    let slot = changed.then(|| InodeSlot::read(sb, inode.ino()));
    let map = info.map.lock();
    if !info.forget_moved(written) {
        return result.map(|()| false);
    }
    let mut redirty = false;
    // Its indirect blocks, a failed write of one written again (a map
    // is written only over them as they are in memory: keptfix 1).  If
    // that fails, no map is stored: it would name an indirect block
    // whose bytes are not on the disk.  Until review 2026-12-07
    // (keptfix2 3) an `fsync` stored and wrote it anyway (and freed the
    // held runs the old bytes name, had the write of the slot worked).
    let own = inode.sync_own_buffers().and(write_indirect(inode));
    result = result.and(own);
    match (inode_write, slot) {
        (_, None) => {}
        (InodeWrite::Stored, Some(slot)) => {
            // Only once what it names is on the disk; the changes stay
            // noted for an `fsync`, as after writeback's store.
            result = result.and_then(|()| store_inode(inode, &slot?, &map, false).map(drop));
        }
        (InodeWrite::Waited { .. }, Some(slot)) => {
            // From memory, every field: the changes noted up to here (under
            // the map lock no change of the map is noted meanwhile) are
            // written, or noted again for the next `fsync` if the write fails.
            let taken = info.take_unsynced();
            // The runs moved out of the map so far go once it is on the
            // disk, its indirect blocks written above.
            let deferred = take_deferred(inode);
            let synced =
                own.and(slot)
                    .and_then(|slot| match store_inode(inode, &slot, &map, true)? {
                        true => slot.sync(),
                        // Its bytes are on the disk already (stored by writeback
                        // without waiting, then written by the device's writeback).
                        false => Ok(()),
                    });
            if synced.is_err() {
                info.keep_unsynced(taken);
            }
            result = result.and(synced);
            if result.is_ok() {
                free_deferred(inode, deferred);
                // The map is on the disk, whatever failed writes of the
                // file's data left (the caller's `fsync` reported them,
                // or an earlier check of the file's errors did):
                // `write_inode` need not keep it off any more.
                info.failed.forget();
                // Nor does a freeze fail on it (`mount::freeze`), unless
                // runs are held again (a failed `write_inode` beside this
                // gave back runs it had taken: it notes them).
                note_kept_after_failure(inode, false);
            } else if !deferred.is_empty() {
                keep_deferred(inode, deferred);
                // For the next writeback, as `write_inode` does.
                redirty = true;
            }
        }
    }
    drop(map);
    if redirty {
        inode.mark_dirty_sync();
    }
    result.map(|()| true)
}

/// A new symbolic link's target on the disk before an entry names the
/// link (Documentation/toyfs.rst, "Write order"): its folio written, the
/// block of its tail (FRAGMENTS) and the bitmap blocks whose bits it took
/// written and waited for, as `fsync` writes a file's; then its inode,
/// with the size and the pointer, stored into the inode table's cached
/// block, which any write of the device's buffers takes to the disk ahead
/// of the directory blocks (as a new inode's claim).  Otherwise a
/// directory's `fsync` wrote the entry and the inode as claimed, of size
/// 0, and a crash before writeback left a link that a lookup refuses.
/// Nothing else sees the new inode, so a second round (writeback gave a
/// block a new run meanwhile, `sync_file`) finds nothing left to write.
pub(crate) fn write_new_symlink(inode: &Inode) -> Result {
    loop {
        let moved = inode.info().moved();
        inode.write_and_wait()?;
        if sync_file_then(inode, &moved, InodeWrite::Stored)? {
            return Ok(());
        }
    }
}

/// Raises `inode`'s link count by one for an entry about to name it
/// (`link`, `mkdir`'s parent for the new "..", a directory moved into
/// it), in memory and in its slot of the inode table's cached block,
/// before the caller adds the entry: any write of that block (a
/// directory's `fsync`, `syncfs`, writeback, which take the table ahead
/// of the directory blocks in the device's order) then carries a count
/// no lower than the entries on the disk.  A count one short let an
/// `unlink` after a crash free an inode that an entry still names
/// (Documentation/toyfs.rst, "Write order").  Only the count is stored:
/// the size and map in memory may name blocks whose bytes are not written
/// yet.  Under the map lock, which `write_inode` holds from reading the
/// attributes to storing them, so that no count read before the raise is
/// stored after it.  The caller checked the count against `EMLINK`; if
/// the entry then cannot be added it calls [`lower_link_count`].
pub(crate) fn raise_link_count(inode: &Inode) -> Result {
    store_link_count(inode, Inode::inc_link)
}

/// Takes back a raise of [`raise_link_count`] whose entry was not added:
/// the count in memory and in the cached slot (if the block cannot be
/// read, writeback stores the count: the inode is marked dirty).
pub(crate) fn lower_link_count(inode: &Inode) {
    if store_link_count(inode, Inode::drop_link).is_err() {
        inode.drop_link();
    }
    inode.mark_dirty();
}

/// Changes `inode`'s link count with `change`, and stores it into its
/// slot of the inode table's cached block (only the count), under the
/// map lock; nothing changes if the block cannot be read.
fn store_link_count(inode: &Inode, change: impl FnOnce(&Inode)) -> Result {
    let slot = InodeSlot::read(inode.sb(), inode.ino())?;
    let _map = inode.info().map.lock();
    change(inode);
    // CAST: at most `u16::MAX`, which the callers check (`EMLINK`).
    let nlink = inode.nlink() as u16;
    slot.update(|disk| disk.nlink = nlink);
    Ok(())
}

/// Writes the bitmap blocks whose bits `inode` changed since its last
/// `fsync` (`InodeInfo::bitmap_blocks`) and waits; a block whose write
/// fails stays noted, for the next `fsync`.  The first error, after every
/// write was tried.
pub(crate) fn sync_bitmap(inode: &Inode) -> Result {
    let info = inode.info();
    let changed = info.bitmap_blocks.swap(0, Ordering::AcqRel);
    let (result, failed) = write_bitmap_blocks(inode.sb(), changed);
    if failed != 0 {
        info.bitmap_blocks.fetch_or(failed, Ordering::AcqRel);
    }
    result
}

/// Writes the bitmap blocks of the mask `changed` (`balloc::bitmap_bit`)
/// from memory and waits for them all: the first error, and the mask of
/// the blocks whose write failed.
pub(crate) fn write_bitmap_blocks(sb: &SuperBlock, changed: u64) -> (Result, u64) {
    let bitmap = &sb.info().bitmap;
    let ours = || {
        bitmap
            .iter()
            .enumerate()
            .filter(move |&(index, _)| changed & balloc::bitmap_bit(index) != 0)
    };
    for (_, buffer) in ours() {
        buffer.start_write_from_memory();
    }
    let mut result = Ok(());
    let mut failed = 0;
    for (index, buffer) in ours() {
        if let Err(err) = buffer.wait_written() {
            failed |= balloc::bitmap_bit(index);
            result = result.and(Err(err));
        }
    }
    (result, failed)
}

/// Before a file that keeps its links is evicted: what only its VFS
/// inode knows to write at `fsync` goes to the disk now, as ext2 writes
/// an evicted inode's metadata buffers (`ext2_evict_inode`'s `mmb_sync`):
/// its list of its own buffers (indirect blocks; `Inode::sync_own_buffers`)
/// and the bitmap blocks whose bits it changed (`sync_bitmap`).  Both go
/// with the inode, and the `fsync` of the inode read again would not know
/// them (review rev9: writeback that compressed blocks named their new
/// runs in an indirect block and the bitmap after the device's buffers of
/// that pass were written; the inode, clean, was evicted, and a later
/// `fsync` returned with neither written).  The packed blocks and the
/// inode itself are found from the map and written by that `fsync`.  An
/// error is the device's, recorded on its buffers, as in ext2.
///
/// Then the buffers the file's tail and its compressed blocks were
/// copied into, which `InodeInfo::packed` keeps referenced until an
/// `fsync` finds them written, are written if they are not (dirty, or
/// the last write failed: then a buffer is clean, not uptodate, and once
/// no longer referenced the cache drops it, its bytes with it, and the file read
/// again reads the disk's older bytes, as if the write had never been,
/// with no error left where `fsync` or `syncfs` would find it if the
/// buffer was on no inode's list then; review rev9).  A failed write
/// leaves the buffer dirty, its bytes in the cache for the file read
/// again and for the device's writeback, and the error on the superblock
/// (`SuperBlock::record_write_error`): `syncfs` reports it, as it reports
/// a write error of a file's mapping after the file is evicted.
///
/// So does a bitmap block whose write fails: it is dirty again, for the
/// device's writeback (the bitmap in memory is the truth), and the error
/// is on the superblock, where the device's mapping alone held it (the
/// bitmap blocks are on no inode's list) and the first `sync_blockdev`
/// took it, for one `syncfs` of all those open (review rev9).  A failed
/// write of the inode's own list is on the superblock already
/// (`mark_buffer_write_io_error` sets it on the list's mapping, the
/// inode's).
pub(crate) fn sync_before_eviction(inode: &Inode) {
    let sb = inode.sb();
    // Runs moved out of the map: freed once the inode is on the disk
    // (their bits written below); if it cannot be written they stay
    // allocated, lost fragments for fsck, and the inode is not dirtied
    // again (it is going).
    let held = !inode.info().deferred.lock().is_empty();
    if held && write_inode_keeping(inode, true, Moves::Stopped).0.is_err() {
        sb.record_write_error();
    }
    let changed = inode.info().bitmap_blocks.swap(0, Ordering::AcqRel);
    let (written, failed) = write_bitmap_blocks(sb, changed);
    if written.is_err() {
        for (index, buffer) in sb.info().bitmap.iter().enumerate() {
            if failed & balloc::bitmap_bit(index) != 0 {
                buffer.mark_dirty();
            }
        }
        sb.record_write_error();
    }
    let _ = inode.sync_own_buffers();
    // Its indirect blocks whose last write failed are written again:
    // once let go, the cache may drop them and the disk's older bytes
    // would be read back.
    if write_indirect(inode).is_err() {
        sb.record_write_error();
    }
    let packed = core::mem::take(&mut *inode.info().packed.lock());
    for buffer in packed.iter() {
        if !buffer.is_written() && buffer.write_now().is_err() {
            sb.record_write_error();
        }
    }
}

/// The most ranges of fresh fragments an inode notes
/// (`InodeInfo::fresh`): new blocks are mostly adjacent and merge, and a
/// run allocated past it is only kept allocated, if it moves, until the
/// map is written.
pub(crate) const FRESH_RANGES: usize = 64;

/// The disk blocks of writes that [`sync_packed`] starts before it waits
/// for the first of them.
const SYNC_BATCH: usize = 256;

/// `fsync`'s writes of the disk blocks that hold the blocks of a file of
/// `size` bytes stored in part of a disk block, through the buffer cache:
/// its tail (FRAGMENTS), and its compressed blocks (LZ4).  The writes of
/// up to [`SYNC_BATCH`] disk blocks are started, in the file's order,
/// before the first is waited for (as `sync_mapping_buffers` does), and a
/// disk block holding several of the file's blocks one after the other
/// is written once.  Without the memory for a batch, each write is waited
/// for before the next.  The first error is returned, after every write
/// was tried.
fn sync_packed(inode: &Inode, size: u64) -> Result {
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    let mut result = Ok(());
    // Without LZ4 only the last block can be stored in part of a disk
    // block (a tail); with it, any block (compressed).
    let blocks = geometry.blocks_for(size);
    let mut n = if geometry.has_compression() {
        0
    } else {
        blocks - 1
    };
    let mut started = KVec::with_capacity(SYNC_BATCH, GFP_KERNEL).unwrap_or_default();
    let mut last = None;
    while n < blocks {
        let run = BlockMap::lock(inode)?.lookup_run(n, blocks - n)?;
        n += run.count();
        let Run::Packed { extent } = run else {
            continue;
        };
        let block = extent.block(&geometry);
        if last.replace(block) == Some(block) {
            continue;
        }
        let Some(write) = Buffer::start_cached(sb, block) else {
            continue;
        };
        match started.push_within_capacity(write) {
            Ok(()) if started.len() < SYNC_BATCH => {}
            Ok(()) => result = result.and(wait_all(&mut started)),
            Err(PushError(write)) => result = result.and(write.wait()),
        }
    }
    result.and(wait_all(&mut started))
}

/// Waits for the writes `started` and empties it; the first error, after
/// waiting for them all.
fn wait_all(started: &mut KVec<CachedWrite>) -> Result {
    let mut result = Ok(());
    for write in started.drain_all() {
        result = result.and(write.wait());
    }
    result
}

/// Frees an evicted inode without links: its packed tail, its blocks,
/// then the inode itself (128 zero bytes).  A FIFO, socket or device has
/// no blocks: its map is not walked (a device's `direct[0]` is its
/// number, not a block).
///
/// A packed tail that cannot leave its block (the block unreadable, its
/// header damaged) is reported (ratelimited, naming the device) and the
/// rest is freed all the same: the tail block's count stays one too high
/// for fsck, where stopping left the inode and every block allocated
/// (review rev10).  The truncation refuses a map that still names the
/// tail (the pointer itself unreadable), and the inode then stays too.
pub(crate) fn delete_inode(inode: &Inode) -> Result {
    if !inode.is_special() {
        if let Err(err) = tails::release(inode) {
            let left = "its tail block's count";
            report_left_for_fsck(
                inode.sb(),
                inode.ino(),
                "packed tail not released",
                left,
                err,
            );
        }
        BlockMap::lock(inode)?.truncate(0)?;
        // Its moved runs too: the file is freed (a removal).
        free_deferred(inode, take_deferred(inode));
    }
    ialloc::free_inode(inode.sb(), inode.ino())
}
