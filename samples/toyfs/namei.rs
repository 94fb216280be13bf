// SPDX-License-Identifier: GPL-2.0

//! Names: lookup, create, mkdir, unlink, rmdir and rename (ext2's
//! namei.c), over the directory operations of dir.rs.

use crate::{
    format::{
        constants::MAX_NAME_LEN,
        dirent::{init_dir_block, DIRENT_TYPE_DIRECTORY, DIRENT_TYPE_REGULAR},
    },
    meta::{corrupt, Meta},
    vfs::{Buffer, Inode, InodeRef, SuperBlock},
};
use kernel::prelude::*;

/// Gets the VFS inode of an inode number, set up with toyfs's operations
/// (the operation tables are above this file, so they hand it down).
pub(crate) type Iget = fn(&SuperBlock, u32) -> Result<InodeRef>;

/// `lookup`: the inode number named `name` in `dir`, if any.
pub(crate) fn lookup(dir: &Inode, name: &[u8]) -> Result<Option<u32>> {
    Ok(Meta::lock(dir.sb())
        .find_entry(dir, name)?
        .map(|found| found.ino))
}

/// Creates the inode of a new entry `name` in `dir`: under the metadata
/// lock, `fill` gets a free inode number, adds the entry and claims the
/// inode, and returns the block it gave a new directory; `EEXIST` if the
/// name is taken.  If the VFS inode cannot be had then (`iget`: no memory,
/// or the inode table unreadable), the entry, inode and block go back, so
/// that a failed create or mkdir changes nothing.
fn new_inode(
    dir: &Inode,
    name: &[u8],
    iget: Iget,
    fill: impl FnOnce(&mut Meta<'_>, u32) -> Result<Option<u32>>,
) -> Result<InodeRef> {
    if name.len() > MAX_NAME_LEN {
        return Err(ENAMETOOLONG);
    }
    let sb = dir.sb();
    let (ino, dir_block) = {
        let mut meta = Meta::lock(sb);
        if meta.find_entry(dir, name)?.is_some() {
            return Err(EEXIST);
        }
        let ino = meta.find_free_inode()?;
        (ino, fill(&mut meta, ino)?)
    };
    let inode = match iget(sb, ino) {
        Ok(inode) => inode,
        Err(err) => {
            // The blocks involved were all just written and are in the
            // buffer cache: taking the changes back needs no allocation.
            let mut meta = Meta::lock(sb);
            meta.remove_entry(dir, name, ino)?;
            if let Some(block) = dir_block {
                meta.free_block(ino, block)?;
            }
            meta.release_inode(ino)?;
            return Err(err);
        }
    };
    dir.touch_mtime_ctime();
    dir.mark_dirty();
    inode.init_times_now();
    Ok(inode)
}

/// `create`: a new regular file `name` in `dir` with `mode`.
pub(crate) fn create(dir: &Inode, name: &[u8], mode: u16, iget: Iget) -> Result<InodeRef> {
    new_inode(dir, name, iget, |meta, ino| {
        // The entry first: it is what may fail for want of a block, and
        // then the inode is still free.
        meta.add_entry(dir, name, ino, DIRENT_TYPE_REGULAR)?;
        meta.claim_inode(ino, mode, 1, None)?;
        Ok(None)
    })
}

/// `mkdir`: a new directory `name` in `dir` with `mode`, holding "." and
/// "..".
pub(crate) fn mkdir(dir: &Inode, name: &[u8], mode: u16, iget: Iget) -> Result<InodeRef> {
    if dir.nlink() >= u32::from(u16::MAX) {
        return Err(EMLINK);
    }
    let inode = new_inode(dir, name, iget, |meta, ino| {
        let block = meta.alloc_block()?;
        let mut data = match Buffer::read(meta.sb, block) {
            Ok(data) => data,
            Err(err) => {
                meta.free_block(ino, block)?;
                return Err(err);
            }
        };
        init_dir_block(data.data_mut(), ino, dir.ino());
        data.mark_dirty();
        if let Err(err) = meta.add_entry(dir, name, ino, DIRENT_TYPE_DIRECTORY) {
            // No room for the entry: the new block goes back.
            meta.free_block(ino, block)?;
            return Err(err);
        }
        meta.claim_inode(ino, mode, 2, Some(block))?;
        Ok(Some(block))
    })?;
    // The new directory's ".." names `dir`.
    dir.inc_link();
    dir.mark_dirty();
    Ok(inode)
}

/// `unlink`: removes the entry `name` of `victim` from `dir`.
pub(crate) fn unlink(dir: &Inode, name: &[u8], victim: &Inode) -> Result {
    check_has_link(victim)?;
    Meta::lock(dir.sb()).remove_entry(dir, name, victim.ino())?;
    dir.touch_mtime_ctime();
    dir.mark_dirty();
    victim.touch_ctime();
    victim.drop_link();
    victim.mark_dirty();
    Ok(())
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
    {
        let meta = Meta::lock(dir.sb());
        if !meta.is_empty_dir(victim)? {
            return Err(ENOTEMPTY);
        }
        meta.remove_entry(dir, name, victim.ino())?;
    }
    drop_subdir_link(dir);
    dir.touch_mtime_ctime();
    dir.mark_dirty();
    victim.clear_links();
    victim.touch_ctime();
    victim.mark_dirty();
    Ok(())
}

/// `rename` (no flags): `moved`, named `old_name` in `old_dir`, becomes
/// `new_name` in `new_dir`, replacing `target` if that name exists.
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
    let file_type = if is_dir {
        DIRENT_TYPE_DIRECTORY
    } else {
        DIRENT_TYPE_REGULAR
    };
    if let Some(target) = target {
        check_has_link(target)?;
    }
    {
        let mut meta = Meta::lock(old_dir.sb());
        // What a damaged directory can fail is found before the first
        // change, so that the rename then fails having done nothing.
        meta.entry_of(old_dir, old_name, moved.ino())?;
        if changes_parent && meta.find_entry(moved, b"..")?.is_none() {
            return Err(corrupt(moved.sb(), moved.ino(), "directory without \"..\""));
        }
        match target {
            Some(target) => {
                if target.is_dir() && !meta.is_empty_dir(target)? {
                    return Err(ENOTEMPTY);
                }
                meta.retarget_entry(new_dir, new_name, moved.ino(), file_type)?;
            }
            // The new entry first: it is what may fail for want of a
            // block, and then nothing has changed.
            None => meta.add_entry(new_dir, new_name, moved.ino(), file_type)?,
        }
        meta.remove_entry(old_dir, old_name, moved.ino())?;
        if changes_parent {
            meta.retarget_entry(moved, b"..", new_dir.ino(), DIRENT_TYPE_DIRECTORY)?;
        }
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
        new_dir.inc_link();
    }
    moved.touch_ctime();
    moved.mark_dirty();
    for dir in [old_dir, new_dir] {
        dir.touch_mtime_ctime();
        dir.mark_dirty();
    }
    Ok(())
}
