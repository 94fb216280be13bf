// SPDX-License-Identifier: GPL-2.0

//! Names: lookup, create, tmpfile, mkdir, symlink, mknod, link, unlink,
//! rmdir, rename and its `RENAME_EXCHANGE` (ext2's namei.c, the
//! exchange as ext4's), over the directory operations of dir.rs.

use crate::{
    balloc, dir,
    format::{
        constants::MAX_NAME_LEN,
        dirent::{dirent_type, init_dir_block, DIRENT_TYPE_DIRECTORY, DIRENT_TYPE_REGULAR},
        inode::{FileType, MAX_SYMLINK_LEN, S_IFLNK},
    },
    ialloc,
    inode::{
        lower_link_count, raise_link_count, store_new_inode, write_bitmap_blocks, write_new_symlink,
    },
    meta::{corrupt, report_left_for_fsck, InodeSlot},
    mount::SpecialFiles,
    vfs::{clean_bdev_aliases, Buffer, Inode, InodeRef, NewOwner, SuperBlock},
};
use core::cell::Cell;
use kernel::prelude::*;

/// Gets the VFS inode of an inode number, set up with toyfs's operations
/// (the operation tables are above this file, so they hand it down).
pub(crate) type Iget = fn(&SuperBlock, u32) -> Result<InodeRef>;

/// `lookup`: the inode number named `name` in `dir`, if any;
/// `ENAMETOOLONG` for a name longer than an entry holds, as ext2's
/// lookup answers (the VFS checks only the length of the whole path, so
/// `stat`, `open` and `unlink` of such a name would say `ENOENT`).
pub(crate) fn lookup(dir: &Inode, name: &[u8]) -> Result<Option<u32>> {
    if name.len() > MAX_NAME_LEN {
        return Err(ENAMETOOLONG);
    }
    Ok(dir::find_entry(dir, name)?.map(|found| found.ino))
}

/// Creates the inode of a new entry `name` of `file_type` in `dir`, in
/// ext2's order, the entry last: takes a free inode number, `claim`
/// writes the inode (returning the block it gave a new directory), the
/// VFS inode is read, given to `owner` and its times, and stored so
/// (`store_new_inode`), `fill` gives it its contents (a symbolic link's
/// target), and then the entry is added where `dir::find_room`'s walk,
/// made first, found room for it.  `EEXIST` if the name is taken.
/// Whatever fails (no room for the target or the entry, the inode table
/// unreadable, no memory) leaves the directory as it was, not grown by a
/// block for an entry taken back: before the VFS inode exists the inode
/// and the block go back here; after, the inode loses its links and is
/// evicted, which frees it and its blocks.
///
/// A symbolic link or special file sets the SPECIAL_FILES feature on the
/// disk (`SpecialFiles::enable`) before the claim writes an inode of its
/// type, once the name and a free inode number are known (`ENAMETOOLONG`,
/// `EEXIST` and an `ENOSPC` for the inode leave the superblock alone),
/// and takes it back if the creation then fails, once the inode, freed,
/// is written as free (`take_back_feature`): an image keeps the
/// superblock it had unless it holds such an inode.
fn new_inode(
    dir: &Inode,
    name: &[u8],
    file_type: FileType,
    owner: &NewOwner<'_>,
    iget: Iget,
    claim: impl FnOnce(u32) -> Result<Option<u32>>,
    fill: impl FnOnce(&Inode) -> Result,
) -> Result<InodeRef> {
    if name.len() > MAX_NAME_LEN {
        return Err(ENAMETOOLONG);
    }
    let sb = dir.sb();
    // One walk of `dir`: the name is free, and where its entry goes.
    let room = dir::find_room(dir, name)?;
    let ino = ialloc::take(sb)?;
    let special = !matches!(file_type, FileType::Regular | FileType::Directory);
    let feature = match special.then(|| SpecialFiles::enable(sb)).transpose() {
        Ok(feature) => feature,
        Err(err) => {
            ialloc::put_back(sb, ino);
            return Err(err);
        }
    };
    let dir_block = match claim(ino) {
        Ok(block) => block,
        Err(err) => {
            // Nothing was written: `claim` fails before it writes.
            ialloc::put_back(sb, ino);
            if let Some(feature) = feature {
                feature.take_back();
            }
            return Err(err);
        }
    };
    let inode = match iget(sb, ino) {
        Ok(inode) => inode,
        Err(err) => {
            undo_claim(sb, ino, dir_block, feature);
            return Err(err);
        }
    };
    owner.give_to(&inode);
    inode.init_times_now();
    let named = store_new_inode(&inode)
        .and_then(|()| fill(&inode))
        .and_then(|()| dir::add_at(dir, room, name, ino, dirent_type(file_type)));
    if let Err(err) = named {
        inode.clear_links();
        // Evicted here, its last reference: the inode and its blocks are
        // freed before the feature may go back.
        drop(inode);
        take_back_feature(sb, ino, feature);
        return Err(err);
    }
    drop(feature);
    dir.touch_mtime_ctime();
    dir.mark_dirty();
    Ok(inode)
}

/// Undoes the claim of inode `ino` (and of `dir_block`, the first block
/// of a new directory) by a creation whose VFS inode could not be read:
/// every step is taken whatever an earlier one returns, the feature
/// going back last, once the inode is written free (`take_back_feature`,
/// which keeps it if the inode is not).  A step that fails leaves what it
/// would have freed for fsck (a block or an inode in use that nothing
/// names), reported (ratelimited, naming the device) and recorded on the
/// superblock (`s_wb_err`, which `syncfs` returns); the creation's own
/// error is the one returned.
fn undo_claim(
    sb: &SuperBlock,
    ino: u32,
    dir_block: Option<u32>,
    feature: Option<SpecialFiles<'_>>,
) {
    let left = |what: &str, err: Error| {
        report_left_for_fsck(sb, ino, "failed creation not undone", what, err);
        sb.record_write_error();
    };
    if let Some(block) = dir_block {
        if let Err(err) = free_dir_block(sb, ino, block) {
            left("its directory's first block", err);
        }
    }
    if let Err(err) = ialloc::free_inode(sb, ino) {
        left("the inode", err);
    }
    take_back_feature(sb, ino, feature);
}

/// A creation that set the SPECIAL_FILES feature (`feature`) failed after
/// it had claimed inode `ino` with its type, and freed it again: the
/// feature goes back once the inode's block of the inode table, which
/// may have reached the disk with the typed inode, is written with it
/// free.  If the inode is not free yet (another reference, the
/// flusher's, delays its eviction) or that write fails, the feature
/// stays (the image then merely has it).
fn take_back_feature(sb: &SuperBlock, ino: u32, feature: Option<SpecialFiles<'_>>) {
    let Some(feature) = feature else {
        return;
    };
    let written_free = InodeSlot::read(sb, ino).and_then(|slot| {
        if !slot.get().is_free() {
            return Err(EBUSY);
        }
        slot.sync()
    });
    if written_free.is_ok() {
        feature.take_back();
    }
}

/// Gives back block `block`, the first block of new directory `ino`
/// that did not come to be.  Its buffer is dirty: the block's next owner
/// may write it by bio, which that buffer would overwrite later.
fn free_dir_block(sb: &SuperBlock, ino: u32, block: u32) -> Result {
    clean_bdev_aliases(sb, block, 1);
    balloc::free_blocks(sb, ino, block, 1)?;
    Ok(())
}

/// `create`: a new regular file `name` in `dir` with `mode`.
pub(crate) fn create(
    dir: &Inode,
    name: &[u8],
    mode: u16,
    owner: &NewOwner<'_>,
    iget: Iget,
) -> Result<InodeRef> {
    let sb = dir.sb();
    new_inode(
        dir,
        name,
        FileType::Regular,
        owner,
        iget,
        |ino| ialloc::claim(sb, ino, mode, 1, None, 0).map(|()| None),
        |_| Ok(()),
    )
}

/// `tmpfile` (`O_TMPFILE`): a new regular file in no directory, with
/// `mode`, as `ext2_tmpfile` makes it.  Its inode is claimed with no
/// link, so that the disk never holds it counted and unnamed: until a
/// `link` names it, a crash leaves an orphan (in use, `nlink` 0, named by
/// no entry), as of a file unlinked while open, which `fsck.toyfs`
/// reports as such (Documentation/toyfs.rst, "Link counts").  The VFS
/// inode gets the one link `d_tmpfile` drops; its eviction at the last
/// close of an unlinked one frees it and its blocks, as it frees an
/// unlinked file's.  `dir` is where the VFS opened it (its owner and
/// group rules apply, `owner`); nothing in it changes.  Its owner and
/// times are stored with no link (`store_new_inode`) before a `link`
/// names it: that stores only the raised count.
pub(crate) fn tmpfile(
    dir: &Inode,
    mode: u16,
    owner: &NewOwner<'_>,
    iget: Iget,
) -> Result<InodeRef> {
    let sb = dir.sb();
    let ino = ialloc::take(sb)?;
    if let Err(err) = ialloc::claim(sb, ino, mode, 0, None, 0) {
        ialloc::put_back(sb, ino);
        return Err(err);
    }
    let inode = match iget(sb, ino) {
        Ok(inode) => inode,
        Err(err) => {
            undo_claim(sb, ino, None, None);
            return Err(err);
        }
    };
    owner.give_to(&inode);
    inode.init_times_now();
    // Evicted with no link if this fails: freed.
    store_new_inode(&inode)?;
    inode.set_links(1);
    Ok(inode)
}

/// `mknod`: a new FIFO, socket, character or block device `name` in
/// `dir` with `mode`, a device with number `rdev` (`new_encode_dev`);
/// `EINVAL` for any other type (the VFS sends regular files to `create`).
/// With the SPECIAL_FILES feature (`new_inode`).
pub(crate) fn mknod(
    dir: &Inode,
    name: &[u8],
    mode: u16,
    rdev: u32,
    owner: &NewOwner<'_>,
    iget: Iget,
) -> Result<InodeRef> {
    let file_type = FileType::from_mode(mode)
        .filter(|file_type| file_type.is_special())
        .ok_or(EINVAL)?;
    let rdev = if file_type.is_device() { rdev } else { 0 };
    let sb = dir.sb();
    new_inode(
        dir,
        name,
        file_type,
        owner,
        iget,
        |ino| ialloc::claim(sb, ino, mode, 1, None, rdev).map(|()| None),
        |_| Ok(()),
    )
}

/// `symlink`: a new symbolic link `name` in `dir` to `target`, written
/// as its data by `write_target` (`page_symlink`, through the page cache
/// as any file's data) once the inode exists, and on the disk with the
/// inode's size and pointer stored (`write_new_symlink`), before the
/// entry is added (`new_inode`: a target that cannot be written, no
/// space or an I/O error, leaves the directory as it was).
/// `ENAMETOOLONG` for a target of more than 4095 bytes (the VFS refuses
/// those already, as `PATH_MAX` is 4096 with the NUL); an empty one is
/// `ENOENT`, as the VFS answers it.  With the SPECIAL_FILES feature
/// (`new_inode`).
pub(crate) fn symlink(
    dir: &Inode,
    name: &[u8],
    target: &[u8],
    owner: &NewOwner<'_>,
    iget: Iget,
    write_target: impl FnOnce(&Inode, &[u8]) -> Result,
) -> Result<InodeRef> {
    if target.is_empty() {
        return Err(ENOENT);
    }
    if target.len() as u64 > MAX_SYMLINK_LEN {
        return Err(ENAMETOOLONG);
    }
    let sb = dir.sb();
    new_inode(
        dir,
        name,
        FileType::Symlink,
        owner,
        iget,
        |ino| ialloc::claim(sb, ino, S_IFLNK | 0o777, 1, None, 0).map(|()| None),
        |inode| write_target(inode, target).and_then(|()| write_new_symlink(inode)),
    )
}

/// `mkdir`: a new directory `name` in `dir` with `mode`, holding "." and
/// "..".
pub(crate) fn mkdir(
    dir: &Inode,
    name: &[u8],
    mode: u16,
    owner: &NewOwner<'_>,
    iget: Iget,
) -> Result<InodeRef> {
    if dir.nlink() >= u32::from(u16::MAX) {
        return Err(EMLINK);
    }
    let sb = dir.sb();
    // Whether `claim` raised the count of `dir`, for the new directory's
    // "..", to be taken back if the creation fails after it.
    let raised = Cell::new(false);
    let claim = |ino| {
        // The inode's block of the table is read first: if it cannot be,
        // no block is taken and written for a directory that cannot be.
        drop(InodeSlot::read(sb, ino)?);
        // Before the entry is added (`raise_link_count`), once the name
        // is known free (`new_inode`).
        raise_link_count(dir)?;
        raised.set(true);
        let (block, bitmap_blocks) = {
            let per_block = sb.info().geometry.fragments_per_block();
            let mut reservation = balloc::reserve(sb, per_block)?;
            let goal = sb.info().alloc.lock().hint;
            (reservation.take_run(goal, 1)?.0, reservation.changed())
        };
        // The block and its bit of the bitmap are written and waited for
        // before the inode that names it is claimed: a pointer reaches
        // the disk only after what it points to, and the inode-table
        // block holding the new inode may be written at any time
        // (writeback, an `fsync`), ahead of a data block in the device's
        // order.
        let claimed = Buffer::new_block(sb, block, |data| init_dir_block(data, ino, dir.ino()))
            .and_then(|buffer| {
                buffer.mark_dirty();
                buffer.sync()
            })
            .and_then(|()| write_bitmap_blocks(sb, bitmap_blocks).0)
            .and_then(|()| ialloc::claim(sb, ino, mode, 2, Some(block), 0));
        if let Err(err) = claimed {
            free_dir_block(sb, ino, block)?;
            return Err(err);
        }
        Ok(Some(block))
    };
    let made = new_inode(dir, name, FileType::Directory, owner, iget, claim, |_| {
        Ok(())
    });
    // `new_inode` marked `dir` dirty if it made the directory.
    if made.is_err() && raised.get() {
        lower_link_count(dir);
    }
    made
}

/// `link`: a new entry `name` in `dir` for `inode`, any type but a
/// directory (which the VFS refuses).  An inode with no link is taken
/// only if the VFS marked it linkable (an `O_TMPFILE` file opened without
/// `O_EXCL`, through `linkat(AT_EMPTY_PATH)` or `/proc/self/fd`; the VFS
/// answers `ENOENT` for any other before it gets here).  The raised
/// count is stored into the inode table's cached block before the entry
/// is added (`raise_link_count`), so that no sync writes the entry with
/// the count it had (one short: an `unlink` would free an inode the other
/// entry names; 0 for an `O_TMPFILE` file, which a lookup refuses as
/// damage) unless the block of the table, written by the same flush of
/// the device, was left out by a crash in the middle of it.
pub(crate) fn link(inode: &Inode, dir: &Inode, name: &[u8]) -> Result {
    if name.len() > MAX_NAME_LEN {
        return Err(ENAMETOOLONG);
    }
    if inode.nlink() >= u32::from(u16::MAX) {
        return Err(EMLINK);
    }
    if !inode.is_linkable() {
        check_has_link(inode)?;
    }
    raise_link_count(inode)?;
    if let Err(err) = dir::add(dir, name, inode.ino(), entry_type(inode)) {
        lower_link_count(inode);
        return Err(err);
    }
    linked(inode, dir);
    Ok(())
}

/// The times and dirty states of a `link` that added its entry.
fn linked(inode: &Inode, dir: &Inode) {
    inode.touch_ctime();
    inode.mark_dirty();
    dir.touch_mtime_ctime();
    dir.mark_dirty();
}

/// `unlink`: removes the entry `name` of `victim` from `dir`.
pub(crate) fn unlink(dir: &Inode, name: &[u8], victim: &Inode) -> Result {
    check_has_link(victim)?;
    dir::remove(dir, name, victim.ino())?;
    dir.touch_mtime_ctime();
    dir.mark_dirty();
    victim.touch_ctime();
    victim.drop_link();
    victim.mark_dirty();
    Ok(())
}

/// The `file_type` byte of an entry naming `inode`.
fn entry_type(inode: &Inode) -> u8 {
    // Every loaded inode has a type (`read_inode`).
    inode.file_type().map_or(DIRENT_TYPE_REGULAR, dirent_type)
}

/// Fails with `EUCLEAN` if `inode` has no link left to drop: two entries
/// named an inode whose count said one (a damaged link count that only
/// fsck can see), and the first unlink dropped it.
fn check_has_link(inode: &Inode) -> Result {
    if inode.nlink() == 0 {
        return Err(corrupt(
            inode.sb(),
            inode.ino(),
            "entry names an inode without links",
        ));
    }
    Ok(())
}

/// Drops the link that a removed subdirectory's ".." gave `dir`, never
/// below the 2 of an empty directory, as ext4's `ext4_dec_count` does: a
/// damaged count must not let an in-use directory reach 0 links.
fn drop_subdir_link(dir: &Inode) {
    if dir.nlink() > 2 {
        dir.drop_link();
    }
}

/// `rmdir`: removes the empty directory `victim`, named `name` in `dir`.
pub(crate) fn rmdir(dir: &Inode, name: &[u8], victim: &Inode) -> Result {
    if !dir::is_empty_dir(victim)? {
        return Err(ENOTEMPTY);
    }
    dir::remove(dir, name, victim.ino())?;
    drop_subdir_link(dir);
    dir.touch_mtime_ctime();
    dir.mark_dirty();
    victim.clear_links();
    victim.touch_ctime();
    victim.mark_dirty();
    Ok(())
}

/// `rename` (no flags but `RENAME_NOREPLACE`, whose check the VFS
/// makes): `moved`, named `old_name` in `old_dir`, becomes
/// `new_name` in `new_dir`, replacing `target` if that name exists.
/// Everything it reads is read before the first change, as `exchange`
/// reads it and as ext2 keeps the old entry's folio: the old entry, the
/// ".." of a directory that changes parents, and the target's entry or
/// the room for the new one are found with their blocks read and held
/// (`EUCLEAN` for a damaged directory, an I/O error), so that a block
/// evicted meanwhile is not read again between the changes.  The new
/// entry is then the one change that may fail (for want of a block, or
/// a write of the block it grows the directory by, which `dir::add_at`
/// takes back), and the rest does no I/O: the rename fails having done
/// nothing, or not at all (before, a read failing after the new entry
/// left both names on the inode with one link).
pub(crate) fn rename(
    old_dir: &Inode,
    old_name: &[u8],
    moved: &Inode,
    new_dir: &Inode,
    new_name: &[u8],
    target: Option<&Inode>,
) -> Result {
    if new_name.len() > MAX_NAME_LEN {
        return Err(ENAMETOOLONG);
    }
    let is_dir = moved.is_dir();
    let changes_parent = is_dir && old_dir.ino() != new_dir.ino();
    if changes_parent && target.is_none() && new_dir.nlink() >= u32::from(u16::MAX) {
        return Err(EMLINK);
    }
    let file_type = entry_type(moved);
    if let Some(target) = target {
        check_has_link(target)?;
    }
    let old_entry = dir::hold_entry(old_dir, old_name, Some(moved.ino()))?;
    let dotdot = hold_dotdot(moved, changes_parent)?;
    let new_entry = match target {
        Some(target) => {
            if target.is_dir() && !dir::is_empty_dir(target)? {
                return Err(ENOTEMPTY);
            }
            NewEntry::Replaces(dir::hold_entry(new_dir, new_name, Some(target.ino()))?)
        }
        None => NewEntry::Added(dir::find_room(new_dir, new_name)?),
    };
    // A directory moved into `new_dir` names it with its "..": the count
    // of `new_dir` is raised first (`raise_link_count`), unless the
    // directory it replaces named it so.
    let raises = changes_parent && target.is_none();
    if raises {
        raise_link_count(new_dir)?;
    }
    let renamed = (|| {
        let added = match new_entry {
            NewEntry::Replaces(held) => {
                held.retarget(moved.ino(), file_type)?;
                None
            }
            NewEntry::Added(room) => Some(dir::add_at(
                new_dir,
                room,
                new_name,
                moved.ino(),
                file_type,
            )?),
        };
        old_entry.remove(old_dir, old_name, added.as_ref())?;
        if let Some(held) = dotdot {
            held.retarget(new_dir.ino(), DIRENT_TYPE_DIRECTORY)?;
        }
        Ok(())
    })();
    if let Err(err) = renamed {
        if raises {
            lower_link_count(new_dir);
        }
        return Err(err);
    }
    if let Some(target) = target {
        if target.is_dir() {
            target.clear_links();
            // Its ".." named `new_dir`.
            drop_subdir_link(new_dir);
        } else {
            target.drop_link();
        }
        target.touch_ctime();
        target.mark_dirty();
    }
    if changes_parent {
        drop_subdir_link(old_dir);
        if !raises {
            new_dir.inc_link();
        }
    }
    moved.touch_ctime();
    moved.mark_dirty();
    for dir in [old_dir, new_dir] {
        dir.touch_mtime_ctime();
        dir.mark_dirty();
    }
    Ok(())
}

/// Where `rename` puts its new entry: over the target's, or into room.
enum NewEntry {
    Replaces(dir::HeldEntry),
    Added(dir::Room),
}

/// The ".." of directory `moved`, held ([`dir::hold_entry`]) if `moves`
/// (it changes parents); `EUCLEAN` if it has none.
fn hold_dotdot(moved: &Inode, moves: bool) -> Result<Option<dir::HeldEntry>> {
    if !moves {
        return Ok(None);
    }
    match dir::hold_entry(moved, b"..", None) {
        Err(e) if e == ENOENT => Err(corrupt(moved.sb(), moved.ino(), "directory without \"..\"")),
        held => held.map(Some),
    }
}

/// `rename` with `RENAME_EXCHANGE`: `old`, named `old_name` in `old_dir`,
/// and `new`, named `new_name` in `new_dir`, swap names (the VFS checked
/// that both exist, are not the same inode, and that neither directory
/// would end up below itself).  A directory that changes parents takes
/// its ".." link with it: its ".." names the other parent, which gains a
/// link the first loses (nothing changes when both are directories).
/// `EMLINK` if a parent would pass the most links an inode counts.  Both
/// entries, and the ".." of each directory that changes parents, are
/// found with their blocks read (`EUCLEAN` for a damaged directory,
/// `ENOENT` for a ".." missing, an I/O error) before the first change,
/// so that the exchange then does no I/O and fails having done nothing
/// or not at all.  Both inodes get a new ctime, both directories a new
/// mtime and ctime, as ext4's exchange gives them.
pub(crate) fn exchange(
    old_dir: &Inode,
    old_name: &[u8],
    old: &Inode,
    new_dir: &Inode,
    new_name: &[u8],
    new: &Inode,
) -> Result {
    let crossing = old_dir.ino() != new_dir.ino();
    let old_moves = crossing && old.is_dir();
    let new_moves = crossing && new.is_dir();
    let max = u32::from(u16::MAX);
    if (old_moves && !new_moves && new_dir.nlink() >= max)
        || (new_moves && !old_moves && old_dir.nlink() >= max)
    {
        return Err(EMLINK);
    }
    let old_entry = dir::hold_entry(old_dir, old_name, Some(old.ino()))?;
    let new_entry = dir::hold_entry(new_dir, new_name, Some(new.ino()))?;
    let old_dotdot = hold_dotdot(old, old_moves)?;
    let new_dotdot = hold_dotdot(new, new_moves)?;
    // The parent that gains a subdirectory's ".." (if one does), and the
    // one that loses it: the gain is stored before the ".." changes
    // (`raise_link_count`).
    let moved_link = match (old_moves, new_moves) {
        (true, false) => Some((new_dir, old_dir)),
        (false, true) => Some((old_dir, new_dir)),
        _ => None,
    };
    if let Some((gains, _)) = moved_link {
        raise_link_count(gains)?;
    }
    let exchanged = (|| {
        old_entry.retarget(new.ino(), entry_type(new))?;
        new_entry.retarget(old.ino(), entry_type(old))?;
        if let Some(held) = old_dotdot {
            held.retarget(new_dir.ino(), DIRENT_TYPE_DIRECTORY)?;
        }
        if let Some(held) = new_dotdot {
            held.retarget(old_dir.ino(), DIRENT_TYPE_DIRECTORY)?;
        }
        Ok(())
    })();
    match (exchanged, moved_link) {
        (Err(err), Some((gains, _))) => {
            lower_link_count(gains);
            return Err(err);
        }
        (Err(err), None) => return Err(err),
        (Ok(()), Some((_, loses))) => drop_subdir_link(loses),
        (Ok(()), None) => {}
    }
    for inode in [old, new] {
        inode.touch_ctime();
        inode.mark_dirty();
    }
    for dir in [old_dir, new_dir] {
        dir.touch_mtime_ctime();
        dir.mark_dirty();
    }
    Ok(())
}
