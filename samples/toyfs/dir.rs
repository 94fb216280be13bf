// SPDX-License-Identifier: GPL-2.0

//! Directories: finding, adding, changing and removing entries, and
//! listing them (ext2's dir.c).  Directory blocks are metadata, in the
//! buffer cache, the last one a tail in part of a disk block with the
//! FRAGMENTS feature.  A block is checked whole (the chain of its entries,
//! the names of the used ones) before any walk uses it, and, as ext2
//! checks a directory folio once (`ext2_check_folio` and the folio's
//! checked flag), only once each time its bytes come from the disk or
//! change: the buffer keeps the result ([`BufferGuard::checked`]).  A tail
//! shares its disk block with other files' fragments and is checked on
//! every walk.  The walks still decode every entry with the chain's rules,
//! so that bytes changed behind the cache cannot make one leave its block.
//! The VFS holds the directory's lock around every change.

use crate::{
    balloc,
    format::{
        address::ExtentError,
        dirent::{
            dir_entries, entry_size, find_name, insert_entry, remove_entry, set_entry_target,
            write_entry, DirEntries, DirEntryRef,
        },
        geometry::Geometry,
    },
    inode::{sync_bitmap, BlockMap, Fresh, Run},
    meta::corrupt,
    tails::TAIL_NOT_IN_BLOCK,
    vfs::{toyfs_err, Buffer, BufferGuard, DirEmitter, Inode},
};
use core::{ops::Range, sync::atomic::Ordering};
use kernel::prelude::*;

/// A directory entry found by name.
pub(crate) struct FoundEntry {
    /// Its directory block.
    n: u64,
    block: DirBlock,
    offset: usize,
    /// The inode it names.
    pub(crate) ino: u32,
}

/// The entries of `data`, a checked block of directory `dir`, decoded
/// with the rules of the chain (`EUCLEAN` if bytes changed behind the
/// cache broke it).
fn entries<'a>(dir: &'a Inode, data: &'a [u8]) -> Entries<'a> {
    Entries {
        dir,
        chain: dir_entries(data),
    }
}

/// The iterator of [`entries`]: a type of its own, inlined into each walk
/// (an iterator adapter's closure stayed a call per entry at the kernel's
/// `opt-level=s`).
struct Entries<'a> {
    dir: &'a Inode,
    chain: DirEntries<'a>,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<DirEntryRef<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        Some(match self.chain.next()? {
            Ok(entry) => Ok(entry),
            Err(error) => Err(corrupt(self.dir.sb(), self.dir.ino(), error.rule())),
        })
    }
}

/// Whether `entry` is a used entry named `name` (the lengths first: the
/// slices' comparison is a call).
#[inline]
fn names(entry: &DirEntryRef<'_>, name: &[u8]) -> bool {
    entry.ino != 0 && entry.name.len() == name.len() && entry.name == name
}

/// Checks `data`, a block of directory `dir`: the rules of the chain and
/// of the names of used entries; `EUCLEAN` and a message naming the first
/// broken one.
fn check_block(dir: &Inode, data: &[u8]) -> Result {
    for entry in entries(dir, data) {
        if let Some(problem) = entry?.name_problem() {
            return Err(corrupt(dir.sb(), dir.ino(), problem.rule()));
        }
    }
    Ok(())
}

/// Where directory block `n` is: the bytes `bytes` of disk block
/// `block`, all of it but for the last block of a directory with the
/// FRAGMENTS feature, which may be a tail: the directory's bytes in it,
/// at the start of its run.
struct DirBlock {
    block: u32,
    bytes: Range<usize>,
}

impl DirBlock {
    /// Reads the disk block.
    fn read(&self, dir: &Inode) -> Result<Buffer> {
        Buffer::read(dir.sb(), self.block)
    }

    /// Locks `buffer`, the disk block read for this directory block of
    /// `dir`, and checks the directory's bytes in it ([`check_block`])
    /// unless the buffer says they were checked since they were read or
    /// changed: a whole block only, as a tail's disk block holds other
    /// files' bytes too.
    fn lock_checked<'b>(&self, dir: &Inode, buffer: &'b Buffer) -> Result<BufferGuard<'b>> {
        let mut data = buffer.lock();
        let whole = self.bytes.start == 0 && self.bytes.end == data.data().len();
        if !(whole && data.checked()) {
            check_block(dir, dir_bytes(data.data(), self)?)?;
            if whole {
                data.set_checked();
            }
        }
        Ok(data)
    }
}

/// The blocks of a directory, in the order a walk asks for them, their
/// places looked up in the block map a run at a time: one lookup for
/// blocks contiguous on disk, as a file's read maps them
/// ([`BlockMap::lookup_run`]).  A walk holds the directory's lock, shared
/// at least, and its map changes only under that lock held exclusively
/// (`add`, after its walk), so the runs stay true for the walk.
///
/// It also reads them ([`DirBlocks::read`]): a disk block that follows the
/// one read before it is taken from that one's folio of the device's
/// cache, without a lookup ([`Buffer::read_next`]), as ext2 walks a
/// directory a page at a time.
struct DirBlocks<'a> {
    dir: &'a Inode,
    /// The filesystem's geometry, and the directory's size, read once:
    /// the size changes only under the directory's lock held
    /// exclusively, after a walk.
    geometry: Geometry,
    size: u64,
    /// File blocks `.0` on are disk blocks `.1` on, up to `.0 + .2`.
    run: Option<(u64, u32, u64)>,
    /// The disk block read last, and its buffer.
    last: Option<(u32, Buffer)>,
}

impl<'a> DirBlocks<'a> {
    fn new(dir: &'a Inode) -> Self {
        Self {
            dir,
            geometry: dir.sb().info().geometry,
            size: dir.size(),
            run: None,
            last: None,
        }
    }

    /// Reads the disk block of `place` (as [`DirBlock::read`]), which
    /// stays referenced until the next read or [`DirBlocks::take`].
    fn read(&mut self, place: &DirBlock) -> Result<&Buffer> {
        let sb = self.dir.sb();
        let buffer = match self.last.take() {
            Some((last, buffer)) if last.wrapping_add(1) == place.block => {
                buffer.read_next(sb, place.block)?
            }
            _ => Buffer::read(sb, place.block)?,
        };
        Ok(&self.last.insert((place.block, buffer)).1)
    }

    /// The buffer read last, taken out.
    fn take(&mut self) -> Option<Buffer> {
        self.last.take().map(|(_, buffer)| buffer)
    }

    /// Directory block `n`; directories have no holes, no compressed
    /// blocks, and their runs hold their bytes.
    fn get(&mut self, n: u64) -> Result<DirBlock> {
        let dir = self.dir;
        let geometry = &self.geometry;
        // CAST: at most a block.
        let length = geometry.file_block_length(self.size, n) as usize;
        if let Some((start, first, count)) = self.run {
            if (start..start + count).contains(&n) {
                // CAST: below the run's count, at most a block's
                // pointers; the run lies in the filesystem (`lookup_run`).
                let block = first.wrapping_add((n - start) as u32);
                return Ok(DirBlock {
                    block,
                    bytes: 0..length,
                });
            }
        }
        let (sb, ino) = (dir.sb(), dir.ino());
        let blocks = geometry.blocks_for(self.size);
        let run = BlockMap::lock(dir)?.lookup_run(n, blocks.saturating_sub(n).max(1))?;
        let extent = match run {
            Run::Hole { .. } => return Err(corrupt(sb, ino, "hole in a directory")),
            Run::Data { first, count } => {
                self.run = Some((n, first, count));
                return Ok(DirBlock {
                    block: first,
                    bytes: 0..length,
                });
            }
            Run::Packed { extent } => extent,
            // `iget` refuses a directory with a tail offset.
            Run::Tail { .. } => return Err(corrupt(sb, ino, TAIL_NOT_IN_BLOCK)),
        };
        if extent.compressed {
            return Err(corrupt(sb, ino, ExtentError::CompressedDirectory.rule()));
        }
        if extent.byte_len(geometry) < length {
            return Err(corrupt(sb, ino, "directory block shorter than its size"));
        }
        let start = extent.offset_in_block(geometry);
        Ok(DirBlock {
            block: extent.block(geometry),
            bytes: start..start + length,
        })
    }
}

/// Directory block `n` of `dir`, looked up alone.
fn dir_block(dir: &Inode, n: u64) -> Result<DirBlock> {
    DirBlocks::new(dir).get(n)
}

/// The directory's bytes of `data`, a disk block read for `place`.
fn dir_bytes<'a>(data: &'a [u8], place: &DirBlock) -> Result<&'a [u8]> {
    data.get(place.bytes.clone()).ok_or(EINVAL)
}

/// `dir_bytes`, to change.
fn dir_bytes_mut<'a>(data: &'a mut [u8], place: &DirBlock) -> Result<&'a mut [u8]> {
    data.get_mut(place.bytes.clone()).ok_or(EINVAL)
}

/// Checks that `ino`, named by an entry of `dir`, is an inode number.
fn check_entry_ino(dir: &Inode, ino: u32) -> Result<u32> {
    if ino > dir.sb().info().geometry.inode_count() {
        return Err(corrupt(
            dir.sb(),
            dir.ino(),
            "entry names an inode out of range",
        ));
    }
    Ok(ino)
}

/// Whether directory `dir` holds no entry but "." and "..".
pub(crate) fn is_empty_dir(dir: &Inode) -> Result<bool> {
    let geometry = dir.sb().info().geometry;
    let mut blocks = DirBlocks::new(dir);
    for n in 0..geometry.blocks_for(dir.size()) {
        let place = blocks.get(n)?;
        let buffer = blocks.read(&place)?;
        let data = place.lock_checked(dir, buffer)?;
        for entry in entries(dir, dir_bytes(data.data(), &place)?) {
            let entry = entry?;
            if entry.ino != 0 && entry.name != b"." && entry.name != b".." {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// The entry named `name` in `dir`.  The walk starts at the block where
/// the last one found its entry and wraps around, as ext2's
/// `ext2_find_entry` starts at `i_dir_start_lookup`: names looked up in
/// the order of the directory (`ls -l`, `rm -r`) are found in the first
/// block walked, not after all the blocks before theirs.
pub(crate) fn find_entry(dir: &Inode, name: &[u8]) -> Result<Option<FoundEntry>> {
    let geometry = dir.sb().info().geometry;
    let count = geometry.blocks_for(dir.size());
    let hint = &dir.info().dir_start_lookup;
    let start = match hint.load(Ordering::Relaxed) {
        start if start < count => start,
        _ => 0,
    };
    let mut blocks = DirBlocks::new(dir);
    for n in Iterator::chain(start..count, 0..start) {
        let place = blocks.get(n)?;
        let buffer = blocks.read(&place)?;
        let data = place.lock_checked(dir, buffer)?;
        let found = find_name(dir_bytes(data.data(), &place)?, name)
            .map_err(|error| corrupt(dir.sb(), dir.ino(), error.rule()))?;
        drop(data);
        if let Some(found) = found {
            hint.store(n, Ordering::Relaxed);
            return Ok(Some(FoundEntry {
                n,
                block: place,
                offset: found.offset,
                ino: check_entry_ino(dir, found.ino)?,
            }));
        }
    }
    Ok(None)
}

/// The entry `name` of `dir`, which the dentry cache says names inode
/// `ino`.
pub(crate) fn entry_of(dir: &Inode, name: &[u8], ino: u32) -> Result<FoundEntry> {
    let found = find_entry(dir, name)?.ok_or(ENOENT)?;
    if found.ino != ino {
        return Err(corrupt(
            dir.sb(),
            dir.ino(),
            "entry names another inode than its dentry",
        ));
    }
    Ok(found)
}

/// Removes the entry `name` of inode `ino` from `dir`.
pub(crate) fn remove(dir: &Inode, name: &[u8], ino: u32) -> Result {
    hold_entry(dir, name, Some(ino))?.remove(dir, name, None)
}

/// An entry of a directory found and its block read, held for a change
/// that must not fail half-way ([`hold_entry`]).
pub(crate) struct HeldEntry {
    found: FoundEntry,
    buffer: Buffer,
}

/// The entry `name` of `dir`, which must name inode `ino` if `ino` is
/// given (`EUCLEAN` otherwise, as [`entry_of`]), `ENOENT` if there is
/// none, with its block read and held: [`HeldEntry::retarget`] then does
/// no I/O.  Several may be held at once, in one block or in several.
pub(crate) fn hold_entry(dir: &Inode, name: &[u8], ino: Option<u32>) -> Result<HeldEntry> {
    let found = match ino {
        Some(ino) => entry_of(dir, name, ino)?,
        None => find_entry(dir, name)?.ok_or(ENOENT)?,
    };
    let buffer = found.block.read(dir)?;
    Ok(HeldEntry { found, buffer })
}

impl HeldEntry {
    /// Points the entry at `ino`, of `file_type`, with no I/O.
    pub(crate) fn retarget(self, ino: u32, file_type: u8) -> Result {
        set_entry_target(
            dir_bytes_mut(self.buffer.lock().data_mut(), &self.found.block)?,
            self.found.offset,
            ino,
            file_type,
        );
        self.buffer.mark_dirty();
        Ok(())
    }

    /// Removes the entry, `name` of `dir`, with no I/O.  It is found
    /// again in its block by its name, as ext2's `ext2_delete_entry` finds
    /// the entry before it again: an entry added to `dir` since it was
    /// held (`added`, a rename within one directory) may have gone into
    /// the room after the entry before it, or made the tail that holds it
    /// a whole block elsewhere ([`Added`]).  `EUCLEAN` if the block no
    /// longer holds it, which only bytes changed behind the cache do.
    pub(crate) fn remove(self, dir: &Inode, name: &[u8], added: Option<&Added>) -> Result {
        let (place, buffer) = match added.and_then(|added| added.made_whole.as_ref()) {
            Some(whole) if whole.dir == dir.ino() && whole.n == self.found.n => {
                (&whole.place, &whole.buffer)
            }
            _ => (&self.found.block, &self.buffer),
        };
        let mut data = buffer.lock();
        let bytes = dir_bytes_mut(data.data_mut(), place)?;
        let found = find_name(bytes, name)
            .map_err(|error| corrupt(dir.sb(), dir.ino(), error.rule()))?
            .filter(|found| found.ino == self.found.ino)
            .ok_or_else(|| corrupt(dir.sb(), dir.ino(), "held entry changed behind the cache"))?;
        remove_entry(bytes, found.offset, found.previous);
        drop(data);
        buffer.mark_dirty();
        RoomHint::room_made(dir, self.found.n);
        Ok(())
    }
}

/// What [`add_at`] changed that an entry of the same directory held
/// before it ([`HeldEntry::remove`]) must follow: the tail it made a
/// whole block, if it did.
pub(crate) struct Added {
    made_whole: Option<MadeWhole>,
}

/// The tail of a directory that [`add_at`] made a whole block, perhaps
/// at another place on the disk, its bytes at the same offsets.
struct MadeWhole {
    /// The directory's inode number.
    dir: u32,
    /// The file block that was the tail.
    n: u64,
    /// Where the whole block is.
    place: DirBlock,
    /// The whole block's buffer.
    buffer: Buffer,
}

/// Where a new entry of a directory goes: the first block with room for
/// it, if any ([`find_room`]).
pub(crate) struct Room {
    block: Option<(DirBlock, Buffer)>,
}

/// Where in a directory a walk for room may start (`find_room`), kept
/// in its inode (`InodeInfo::dir_room`): no block below `below` has room
/// for an entry of `size` bytes or more.  A create in a directory that
/// only grows (its blocks full but the last) then walks one block for
/// room, not all of them.  Set by the walk for room that proved it, under
/// the directory's lock held exclusively as every change of its entries
/// is; lowered by every change that makes room in a block below it (an
/// entry removed, a tail made a whole block: [`RoomHint::room_made`]);
/// its 0 of a new inode starts at block 0.  A walk for a smaller entry
/// starts at block 0.
#[derive(Clone, Copy)]
struct RoomHint {
    below: u64,
    size: usize,
}

impl RoomHint {
    /// Bits of the packed value that hold `size` (an entry is at most
    /// 8 + 255 bytes, rounded up to 4).
    const SIZE_BITS: u32 = 16;

    fn load(dir: &Inode) -> Self {
        let packed = dir.info().dir_room.load(Ordering::Relaxed);
        Self {
            below: packed >> Self::SIZE_BITS,
            // CAST: masked to `SIZE_BITS` bits.
            size: (packed & ((1 << Self::SIZE_BITS) - 1)) as usize,
        }
    }

    fn store(self, dir: &Inode) {
        // A directory has far fewer than 2^48 blocks; a larger count is
        // kept as the largest one that fits, a true bound still.
        let below = self.below.min(u64::MAX >> Self::SIZE_BITS);
        let size = self.size.min((1 << Self::SIZE_BITS) - 1) as u64;
        dir.info()
            .dir_room
            .store((below << Self::SIZE_BITS) | size, Ordering::Relaxed);
    }

    /// Block `n` of `dir` may have more room than before.
    fn room_made(dir: &Inode, n: u64) {
        let hint = Self::load(dir);
        if hint.below > n {
            Self { below: n, ..hint }.store(dir);
        }
    }
}

/// Finds the first block of `dir` with room for an entry `name`, in a
/// walk that checks every block it reads (`EUCLEAN` for a damaged one)
/// and fails with `EEXIST` if one of them holds the name, before
/// anything is changed: the walk of ext2's `ext2_add_link`, from the
/// first block that may have room ([`RoomHint`]) to the first that has
/// it.  The VFS looked the name up first (a negative dentry, under the
/// directory's lock held since), so it is in no block; [`add_at`] adds
/// the entry there, under the same hold of the directory's lock.
pub(crate) fn find_room(dir: &Inode, name: &[u8]) -> Result<Room> {
    let geometry = dir.sb().info().geometry;
    let needed = entry_size(name.len());
    let count = geometry.blocks_for(dir.size());
    let hint = RoomHint::load(dir);
    let start = if needed >= hint.size && hint.below <= count {
        hint.below
    } else {
        0
    };
    let mut places = DirBlocks::new(dir);
    for n in start..count {
        let place = places.get(n)?;
        let buffer = places.read(&place)?;
        let data = place.lock_checked(dir, buffer)?;
        let mut fits = false;
        for entry in entries(dir, dir_bytes(data.data(), &place)?) {
            let entry = entry?;
            if names(&entry, name) {
                return Err(EEXIST);
            }
            // Room as `insert_entry` finds it: an unused entry, or the
            // slack after a used one.
            let used = if entry.ino == 0 {
                0
            } else {
                entry_size(entry.name.len())
            };
            fits |= usize::from(entry.rec_len).saturating_sub(used) >= needed;
        }
        drop(data);
        if fits {
            RoomHint {
                below: n,
                size: needed,
            }
            .store(dir);
            let buffer = places.take().ok_or(EINVAL)?;
            return Ok(Room {
                block: Some((place, buffer)),
            });
        }
    }
    RoomHint {
        below: count,
        size: needed,
    }
    .store(dir);
    Ok(Room { block: None })
}

/// Adds the entry `name` -> `ino` to `dir`, in free room of a block or in
/// a new block (`ENOSPC` when there is none); `EEXIST` if `dir` has an
/// entry `name`.
pub(crate) fn add(dir: &Inode, name: &[u8], ino: u32, file_type: u8) -> Result<Added> {
    add_at(dir, find_room(dir, name)?, name, ino, file_type)
}

/// Adds the entry `name` -> `ino` to `dir` where [`find_room`] found room,
/// or in a new block (`ENOSPC` when there is none); returns what an entry
/// of `dir` held before must follow ([`HeldEntry::remove`]).
pub(crate) fn add_at(
    dir: &Inode,
    room: Room,
    name: &[u8],
    ino: u32,
    file_type: u8,
) -> Result<Added> {
    let sb = dir.sb();
    let geometry = sb.info().geometry;
    let block_size = geometry.block_bytes();
    let mut blocks = geometry.blocks_for(dir.size());
    if let Some((place, buffer)) = room.block {
        // Checked by the walk, and unchanged since but for bytes changed
        // behind the cache, which `insert_entry`'s own walk catches.
        let added = insert_entry(
            dir_bytes_mut(buffer.lock().data_mut(), &place)?,
            ino,
            file_type,
            name,
        )
        .map_err(|error| corrupt(sb, dir.ino(), error.rule()))?;
        if added {
            buffer.mark_dirty();
            return Ok(Added { made_whole: None });
        }
    }
    let mut made_whole = None;
    // CAST: below a block.
    let partial = geometry.offset_in_block(dir.size()) as usize;
    if partial != 0 {
        // The last block is a tail (FRAGMENTS): only the last block may
        // be partial, so it becomes a whole block first, its chain ending
        // in an unused entry over the new room, which may take the new
        // entry.  That block is built here before anything changes, so
        // that bytes changed behind the cache since `find_room`'s walk
        // (`insert_entry`'s `EUCLEAN`) fail the call having changed
        // nothing, and written into the buffer of the whole block under
        // one hold of its lock (`Buffer::new_block_from`): a tail grown in
        // place shares that buffer, and was made zeros, dirty, and its
        // bytes copied back only under a second hold of the lock, which
        // a write of the device in between put on the disk (review rev8,
        // S).
        let n = blocks - 1;
        let place = dir_block(dir, n)?;
        let mut whole = KVec::with_capacity(block_size, GFP_KERNEL)?;
        whole.extend_from_slice(
            dir_bytes(place.read(dir)?.lock().data(), &place)?,
            GFP_KERNEL,
        )?;
        whole.resize(block_size, 0, GFP_KERNEL)?;
        write_entry(&mut whole, partial, 0, block_size - partial, 0, b"");
        // The block as it reaches the disk before the size counts it: the
        // tail's entries and the unused one, without the new entry (added
        // after, in the cache, as into a new block).
        let mut chain = KVec::with_capacity(block_size, GFP_KERNEL)?;
        chain.extend_from_slice(&whole, GFP_KERNEL)?;
        let added = insert_entry(&mut whole, ino, file_type, name)
            .map_err(|error| corrupt(sb, dir.ino(), error.rule()))?;
        if !added {
            // The entry needs the block after the tail too: the tail's
            // growth and that block take at least `2 * B / F - tail`
            // fragments.  Fewer free is `ENOSPC` before the tail moves:
            // a tail moved out of its fragments keeps them allocated
            // until the directory's inode is on the disk
            // (`BlockMap::free_replaced`), and `shrink_back` would then
            // leave the free count below what it was.
            let fragments = geometry.fragments_per_block();
            // CAST: below a block.
            let tail = geometry.fragments_for(partial as u32);
            drop(balloc::reserve(sb, 2 * fragments - tail)?);
        }
        // The tail's entries (in the block the disk names, if the run
        // grows in place) reach the disk no earlier than their inodes:
        // the device's dirty metadata first, the inode table ahead of
        // the data blocks, as a directory's `fsync` writes it.
        sb.sync_device()?;
        let block = {
            let mut map = BlockMap::lock(dir)?;
            map.set_run(n, geometry.fragments_per_block())?;
            map.lookup(n)?
        };
        // Written whole from the buffer cache, never read.  `sb_getblk`
        // does not fail for a block of the device (`__GFP_NOFAIL`).  A
        // pointer reaches the disk only after what it points to: the
        // block, its bits of the bitmap and an indirect block naming it
        // are on the disk before the size counts it, as a new block's
        // below.  The old fragments wait on `InodeInfo::deferred`, so
        // the directory's next `write_inode` writes its inode at once,
        // ahead of the device's writeback (review 2026-12-06: a crash
        // in between left the last block without its chain).
        let buffer = Buffer::new_block_from(sb, block, &chain).and_then(|buffer| {
            write_new_block_through(dir, &buffer)?;
            Ok(buffer)
        });
        let buffer = match buffer {
            Ok(buffer) => buffer,
            Err(err) => {
                shrink_back(dir, n, partial);
                return Err(err);
            }
        };
        if added {
            let mut locked = buffer.lock();
            for (to, from) in locked.data_mut().iter_mut().zip(whole.iter()) {
                *to = *from;
            }
            drop(locked);
            buffer.mark_dirty();
        }
        blocks = n + 1;
        dir.set_size(blocks * u64::from(geometry.block_size()));
        RoomHint::room_made(dir, n);
        let place = DirBlock {
            block,
            bytes: 0..block_size,
        };
        let made = Some(MadeWhole {
            dir: dir.ino(),
            n,
            place,
            buffer,
        });
        if added {
            return Ok(Added { made_whole: made });
        }
        made_whole = made;
    }
    let block = BlockMap::lock(dir).and_then(|mut map| {
        let size = (blocks + 1) * u64::from(geometry.block_size());
        map.allocate(blocks..blocks + 1, size, Fresh::Unwritten, |_| ())?;
        map.lookup(blocks)
    });
    let block = match block {
        Ok(block) => block,
        Err(err) => {
            if partial != 0 {
                shrink_back(dir, blocks - 1, partial);
            }
            return Err(err);
        }
    };
    // A new block: written whole from the buffer cache, never read.  A
    // pointer reaches the disk only after what it points to, and the
    // directory's inode, which names the block once the size counts it,
    // may be written at any time (writeback stores it into the inode
    // table's cached block, which the device's writeback, a `syncfs` or
    // another file's `fsync` writes ahead of the data blocks): so the
    // block is on the disk, an empty chain, and so are its bit of the
    // bitmap and an indirect block that names it, before the size counts
    // it.  The entry is added after, in the cache, as in a block that
    // had room (review rev10: a crash found the directory's last block
    // free in the bitmap, with no chain).
    let buffer = Buffer::new_block(sb, block, |data| {
        write_entry(data, 0, 0, block_size, 0, b"")
    })
    .and_then(|buffer| {
        write_new_block_through(dir, &buffer)?;
        Ok(buffer)
    });
    let buffer = match buffer {
        Ok(buffer) => buffer,
        Err(err) => {
            give_back_new_block(dir, blocks, partial);
            return Err(err);
        }
    };
    write_entry(
        buffer.lock().data_mut(),
        0,
        ino,
        block_size,
        file_type,
        name,
    );
    buffer.mark_dirty();
    dir.set_size((blocks + 1) * u64::from(geometry.block_size()));
    Ok(Added { made_whole })
}

/// Takes a directory's new block to the disk before its size counts it:
/// the block, its bits of the bitmap and the indirect blocks naming it,
/// each written and waited for (a pointer reaches the disk only after
/// what it points to).
fn write_new_block_through(dir: &Inode, buffer: &Buffer) -> Result {
    buffer.mark_dirty();
    sync_bitmap(dir)
        .and_then(|()| buffer.sync())
        .and_then(|()| dir.sync_own_buffers())
}

/// [`add_at`] took block `n` of `dir` for a new entry and could not write
/// it: the map lets it go, and a tail made whole for it goes back to its
/// fragments ([`shrink_back`]; the last block then was `n - 1`, of
/// `partial` bytes), so that the failed call changes nothing.  A map
/// that cannot let it go (an indirect block that cannot be read) keeps
/// it, past the size, for fsck.
fn give_back_new_block(dir: &Inode, n: u64, partial: usize) {
    if let Err(err) = BlockMap::lock(dir).and_then(|mut map| map.free_range(n..n + 1)) {
        toyfs_err!(
            "directory {}: giving back block {} that could not be written: {:?}\n",
            dir.ino(),
            n,
            err
        );
    }
    if partial != 0 {
        shrink_back(dir, n - 1, partial);
    }
}

/// [`add_at`] made the tail of `dir` (its last block, `n`, `partial`
/// bytes) a whole block, the entry did not fit in the room that added,
/// and the block after it could not be had: the tail goes back to the
/// fragments it took, the first of the whole block (`BlockMap::set_run`
/// keeps a run's start, and the directory's bytes, in the block's
/// buffer, with it), and the size with it, so that the failed call
/// changes nothing (but where the tail lies).  Should that fail (an
/// indirect block that cannot be read), the directory keeps the whole
/// block, its size saying so.
fn shrink_back(dir: &Inode, n: u64, partial: usize) {
    let geometry = dir.sb().info().geometry;
    // CAST: below a block.
    let fragments = geometry.fragments_for(partial as u32);
    match BlockMap::lock(dir).and_then(|mut map| map.set_run(n, fragments)) {
        Ok(_) => dir.set_size(n * u64::from(geometry.block_size()) + partial as u64),
        Err(err) => toyfs_err!(
            "directory {}: giving back the block made of its tail: {:?}\n",
            dir.ino(),
            err
        ),
    }
}

/// `iterate_shared`: the entries of `dir` from the emitter's position (a
/// byte offset in the directory).
pub(crate) fn readdir(dir: &Inode, emitter: &mut DirEmitter) -> Result {
    let geometry = dir.sb().info().geometry;
    let block_size = u64::from(geometry.block_size());
    let mut blocks = DirBlocks::new(dir);
    while emitter.pos() < dir.size() {
        let n = geometry.block_of(emitter.pos());
        let within = geometry.offset_in_block(emitter.pos()) as usize;
        let place = blocks.get(n)?;
        let buffer = blocks.read(&place)?;
        // Emitting copies to user memory, which may fault into a toyfs
        // file: the block is copied out of the buffer lock first.
        // Entries change only under the directory's lock, which readdir
        // holds shared.
        let mut copy = KVec::with_capacity(geometry.block_bytes(), GFP_KERNEL)?;
        copy.extend_from_slice(
            dir_bytes(place.lock_checked(dir, buffer)?.data(), &place)?,
            GFP_KERNEL,
        )?;
        for entry in entries(dir, &copy) {
            let entry = entry?;
            if entry.offset < within {
                continue;
            }
            let ino = check_entry_ino(dir, entry.ino)?;
            if ino != 0 && !emitter.emit(entry.name, ino, entry.file_type) {
                return Ok(());
            }
            emitter.set_pos(n * block_size + (entry.offset + usize::from(entry.rec_len)) as u64);
        }
        emitter.set_pos((n + 1) * block_size);
    }
    Ok(())
}
