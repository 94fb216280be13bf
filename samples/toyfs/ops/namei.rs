// SPDX-License-Identifier: GPL-2.0

//! The operations of directories, and getting the VFS inode of an inode
//! number with the operations of its kind.

use super::{
    aops::ADDRESS_SPACE_OPS,
    file::{fileattr_get, fileattr_set, fsync, setattr, FILE_INODE_OPS, FILE_OPS},
    raw::inode,
};
use crate::{
    dir::readdir,
    format::inode::{FileType, S_IFDIR, S_IFREG},
    inode::{read_inode, ReadFor},
    namei, sys,
    vfs::{DirEmitter, Iget, InodeOps, InodeRef, NewOwner, SuperBlock},
};
use kernel::{
    bindings,
    error::{from_result, to_result},
    ffi::{c_char, c_int, c_uint},
    prelude::*,
    str::CStr,
};

/// The inode `ino` of `sb`, read from the inode table if not cached, with
/// the operations of its kind.
pub(crate) fn iget(sb: &SuperBlock, ino: u32) -> Result<InodeRef> {
    iget_with(sb, ino, ReadFor::Entry)
}

/// The inode a file handle names (`ops::export`): inode `ino` of `sb`
/// if it is in use and its generation is `generation`, else `ESTALE`
/// (inode number 0 or past the table, a free inode, one whose file was
/// deleted, or another file's inode now in the slot), as ext2's
/// `ext2_nfs_get_inode` but for generation 0, which names only an inode
/// of generation 0 (mkfs's, or an image's before GENERATIONS), not any.
pub(crate) fn iget_by_handle(sb: &SuperBlock, ino: u64, generation: u32) -> Result<InodeRef> {
    let ino = u32::try_from(ino).map_err(|_| ESTALE)?;
    if ino == 0 || ino > sb.info().geometry.inode_count() {
        return Err(ESTALE);
    }
    let inode = iget_with(sb, ino, ReadFor::Handle)?;
    if inode.generation() != generation {
        // Dropping the reference is the `iput`.
        return Err(ESTALE);
    }
    Ok(inode)
}

/// [`iget`] of an inode its caller just claimed: a symbolic link
/// (`namei::symlink`), whose target, and so its size, is written once the
/// VFS inode exists, or an `O_TMPFILE` file (`namei::tmpfile`), claimed
/// with no link.
fn iget_new(sb: &SuperBlock, ino: u32) -> Result<InodeRef> {
    iget_with(sb, ino, ReadFor::JustMade)
}

fn iget_with(sb: &SuperBlock, ino: u32, why: ReadFor) -> Result<InodeRef> {
    let new = match sb.iget_locked(ino)? {
        Iget::Cached(inode) => return Ok(inode),
        Iget::New(new) => new,
    };
    // On error, dropping `new` gives it back (`iget_failed`).
    let (disk, on_disk) = read_inode(sb, ino, why)?;
    new.info().load_map(&disk);
    if !on_disk {
        new.info().note_unsynced(true);
    }
    // `read_inode` refused a mode of no known type.
    let ops = match disk.file_type() {
        Some(FileType::Regular) => InodeOps {
            inode: &FILE_INODE_OPS,
            file: Some(&FILE_OPS),
            mapping: Some(&ADDRESS_SPACE_OPS),
        },
        Some(FileType::Directory) => InodeOps {
            inode: &DIR_INODE_OPS,
            file: Some(&DIR_OPS),
            mapping: None,
        },
        // The target is file data, read and written through the page
        // cache with the operations of regular files (ext2's slow
        // symlinks): `page_get_link` reads it, `page_symlink` writes it.
        Some(FileType::Symlink) => InodeOps {
            inode: &SYMLINK_INODE_OPS,
            file: None,
            mapping: Some(&ADDRESS_SPACE_OPS),
        },
        // FIFOs, sockets and devices: `init_special_inode`.
        _ => InodeOps {
            inode: &SPECIAL_INODE_OPS,
            file: None,
            mapping: None,
        },
    };
    let geometry = sb.info().geometry;
    new.set_up(&disk, &ops, geometry.block_size(), geometry.fragment_size())
}

const DIR_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
    lookup: Some(lookup),
    create: Some(create),
    link: Some(link),
    unlink: Some(unlink),
    symlink: Some(symlink),
    mkdir: Some(mkdir),
    rmdir: Some(rmdir),
    mknod: Some(mknod),
    rename: Some(rename),
    tmpfile: Some(tmpfile),
    setattr: Some(setattr),
    fileattr_get: Some(fileattr_get),
    fileattr_set: Some(fileattr_set),
    ..pin_init::zeroed()
};

/// Symbolic links: the target read from the page cache (ext2's
/// `ext2_symlink_inode_operations`); attributes as every inode's.
const SYMLINK_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
    get_link: Some(bindings::page_get_link),
    setattr: Some(setattr),
    ..pin_init::zeroed()
};

/// FIFOs, sockets and devices (ext2's `ext2_special_inode_operations`).
const SPECIAL_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
    setattr: Some(setattr),
    ..pin_init::zeroed()
};

/// The name of a dentry.
///
/// # Safety
///
/// `dentry` is a dentry whose name is stable for `'a` (the parent is
/// locked).
unsafe fn dentry_name<'a>(dentry: *mut bindings::dentry) -> &'a [u8] {
    // SAFETY: The caller's guarantee.
    unsafe {
        let name = &(*dentry).__bindgen_anon_1.d_name;
        core::slice::from_raw_parts(
            name.name,
            name.__bindgen_anon_1.__bindgen_anon_1.len as usize,
        )
    }
}

/// The VFS's `lookup` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `lookup`.
unsafe extern "C" fn lookup(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    _flags: c_uint,
) -> *mut bindings::dentry {
    // SAFETY: The VFS passes our locked directory and a dentry in it.
    let (dir, name) = unsafe { (inode(dir), dentry_name(dentry)) };
    let found = match namei::lookup(dir, name)
        .and_then(|ino| ino.map(|ino| iget(dir.sb(), ino)).transpose())
    {
        Ok(found) => found,
        Err(err) => return err.to_ptr(),
    };
    let raw = found.map_or(core::ptr::null_mut(), InodeRef::into_raw);
    // SAFETY: `d_splice_alias` takes the inode reference (or null).
    unsafe { bindings::d_splice_alias(raw, dentry) }
}

/// The VFS's `create` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `create`.
unsafe extern "C" fn create(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
) -> c_int {
    // SAFETY: The VFS passes our locked directory and a negative dentry.
    let (dir_ref, name) = unsafe { (inode(dir), dentry_name(dentry)) };
    // SAFETY: The VFS's idmap for this call, live for it.
    let owner = unsafe { NewOwner::new(idmap, dir_ref) };
    from_result(|| {
        let new = namei::create(dir_ref, name, S_IFREG | (mode & 0o7777), &owner, iget)?;
        new.mark_dirty();
        // SAFETY: `d_instantiate` takes the inode reference.
        unsafe { bindings::d_instantiate(dentry, new.into_raw()) };
        Ok(0)
    })
}

/// The VFS's `tmpfile` for toyfs (`O_TMPFILE`): a new regular file with
/// no name, opened on `file` (`ext2_tmpfile`).
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `tmpfile`.
unsafe extern "C" fn tmpfile(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    file: *mut bindings::file,
    mode: bindings::umode_t,
) -> c_int {
    // SAFETY: The VFS passes our directory (not locked: nothing of it
    // changes) and a file whose dentry is new, negative and unhashed.
    let dir_ref = unsafe { inode(dir) };
    let mode = S_IFREG | (mode & 0o7777);
    // SAFETY: As in `create`.
    let owner = unsafe { NewOwner::new(idmap, dir_ref) };
    from_result(|| {
        let new = namei::tmpfile(dir_ref, mode, &owner, iget_new)?;
        // SAFETY: `d_tmpfile` drops the inode's one link (marking it
        // dirty, to be written with none) and gives the file's dentry the
        // inode reference; the file is then opened on it.
        to_result(unsafe {
            bindings::d_tmpfile(file, new.into_raw());
            sys::toyfs_finish_open_simple(file, 0)
        })?;
        Ok(0)
    })
}

/// The VFS's `symlink` for toyfs: a new symbolic link whose target is
/// its data (`namei::symlink`).
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `symlink`.
unsafe extern "C" fn symlink(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    target: *const c_char,
) -> c_int {
    // SAFETY: The VFS passes our locked directory, a negative dentry and
    // the target, a NUL-terminated string that lasts for the call.
    let (dir_ref, name, target) = unsafe {
        (
            inode(dir),
            dentry_name(dentry),
            CStr::from_char_ptr(target).to_bytes(),
        )
    };
    // SAFETY: As in `create`.
    let owner = unsafe { NewOwner::new(idmap, dir_ref) };
    from_result(|| {
        let new = namei::symlink(
            dir_ref,
            name,
            target,
            &owner,
            iget_new,
            write_symlink_target,
        )?;
        new.mark_dirty();
        // SAFETY: `d_instantiate` takes the inode reference.
        unsafe { bindings::d_instantiate(dentry, new.into_raw()) };
        Ok(0)
    })
}

/// Writes a new symbolic link's target into its page cache as its data
/// (`page_symlink`, through `ADDRESS_SPACE_OPS`' `write_begin` and
/// `write_end`, which set its size), the inode locked as a write's is.
fn write_symlink_target(inode: &crate::vfs::Inode, target: &[u8]) -> Result {
    let raw = inode.as_ptr();
    // CAST: at most `MAX_SYMLINK_LEN` (4095) bytes, checked by the caller.
    let len = target.len() as c_int + 1;
    // SAFETY: The inode is new, ours and not yet visible through a dentry;
    // its lock is taken below the directory's (parent before child), as
    // the write path expects it held.  `page_symlink` copies `len - 1`
    // bytes of `target`, which has them.
    unsafe {
        sys::toyfs_inode_lock(raw);
        let result = bindings::page_symlink(raw, target.as_ptr().cast(), len);
        sys::toyfs_inode_unlock(raw);
        to_result(result)
    }
}

/// The VFS's `mknod` for toyfs: a FIFO, socket or device.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `mknod`.
unsafe extern "C" fn mknod(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    rdev: bindings::dev_t,
) -> c_int {
    // SAFETY: The VFS passes our locked directory and a negative dentry.
    let (dir_ref, name) = unsafe { (inode(dir), dentry_name(dentry)) };
    // SAFETY: A pure function of its argument.
    let encoded = unsafe { sys::toyfs_new_encode_dev(rdev) };
    // SAFETY: As in `create`.
    let owner = unsafe { NewOwner::new(idmap, dir_ref) };
    from_result(|| {
        let new = namei::mknod(dir_ref, name, mode, encoded, &owner, iget)?;
        new.mark_dirty();
        // SAFETY: `d_instantiate` takes the inode reference.
        unsafe { bindings::d_instantiate(dentry, new.into_raw()) };
        Ok(0)
    })
}

/// The VFS's `link` for toyfs: a new name for an existing inode.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `link`.
unsafe extern "C" fn link(
    old_dentry: *mut bindings::dentry,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> c_int {
    // SAFETY: The VFS passes a positive dentry whose inode it holds
    // locked, our locked directory and a negative dentry in it.
    let (raw, dir, name) = unsafe { ((*old_dentry).d_inode, inode(dir), dentry_name(dentry)) };
    // SAFETY: As above.
    let target = unsafe { inode(raw) };
    from_result(|| {
        namei::link(target, dir, name)?;
        // SAFETY: The dentry gets a reference of its own on the inode.
        unsafe {
            bindings::ihold(raw);
            bindings::d_instantiate(dentry, raw);
        }
        Ok(0)
    })
}

/// The VFS's `unlink` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `unlink`.
unsafe extern "C" fn unlink(dir: *mut bindings::inode, dentry: *mut bindings::dentry) -> c_int {
    // SAFETY: The VFS passes our locked directory and a positive dentry
    // whose inode it holds locked.
    let (dir, name, victim) =
        unsafe { (inode(dir), dentry_name(dentry), inode((*dentry).d_inode)) };
    from_result(|| namei::unlink(dir, name, victim).map(|()| 0))
}

/// The VFS's `mkdir` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `mkdir`.
unsafe extern "C" fn mkdir(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
) -> *mut bindings::dentry {
    // SAFETY: The VFS passes our locked directory and a negative dentry.
    let (dir_ref, name) = unsafe { (inode(dir), dentry_name(dentry)) };
    let mode = S_IFDIR | (mode & 0o7777);
    // SAFETY: As in `create`.
    let owner = unsafe { NewOwner::new(idmap, dir_ref) };
    match namei::mkdir(dir_ref, name, mode, &owner, iget) {
        Ok(new) => {
            new.mark_dirty();
            // SAFETY: `d_instantiate` takes the inode reference; null
            // means the dentry given is used.
            unsafe { bindings::d_instantiate(dentry, new.into_raw()) };
            core::ptr::null_mut()
        }
        Err(err) => err.to_ptr(),
    }
}

/// The VFS's `rmdir` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `rmdir`.
unsafe extern "C" fn rmdir(dir: *mut bindings::inode, dentry: *mut bindings::dentry) -> c_int {
    // SAFETY: The VFS passes our locked directory and a positive dentry
    // whose inode it holds locked.
    let (dir, name, victim) =
        unsafe { (inode(dir), dentry_name(dentry), inode((*dentry).d_inode)) };
    from_result(|| namei::rmdir(dir, name, victim).map(|()| 0))
}

/// The VFS's `rename` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `rename`.
unsafe extern "C" fn rename(
    _idmap: *mut bindings::mnt_idmap,
    old_dir: *mut bindings::inode,
    old_dentry: *mut bindings::dentry,
    new_dir: *mut bindings::inode,
    new_dentry: *mut bindings::dentry,
    flags: c_uint,
) -> c_int {
    // RENAME_NOREPLACE needs nothing of the filesystem: the VFS has
    // checked that the new name is free.  RENAME_EXCHANGE swaps the two
    // names (`namei::exchange`).  RENAME_WHITEOUT (for overlayfs's upper
    // layer) is not implemented: `EINVAL`, as ext2 answers both.
    if flags & !(bindings::RENAME_NOREPLACE | bindings::RENAME_EXCHANGE) != 0 {
        return EINVAL.to_errno();
    }
    // SAFETY: The VFS passes our two directories, locked, the dentry of
    // the inode to move and the (maybe negative) new dentry, with the
    // inodes involved locked.
    let (old_dir, old_name, moved, new_dir, new_name, target) = unsafe {
        let target = (*new_dentry).d_inode;
        (
            inode(old_dir),
            dentry_name(old_dentry),
            inode((*old_dentry).d_inode),
            inode(new_dir),
            dentry_name(new_dentry),
            (!target.is_null()).then(|| inode(target)),
        )
    };
    from_result(|| {
        if flags & bindings::RENAME_EXCHANGE != 0 {
            // The VFS checked that the new name exists.
            let other = target.ok_or(ENOENT)?;
            namei::exchange(old_dir, old_name, moved, new_dir, new_name, other)
        } else {
            namei::rename(old_dir, old_name, moved, new_dir, new_name, target)
        }
        .map(|()| 0)
    })
}

const DIR_OPS: bindings::file_operations = bindings::file_operations {
    llseek: Some(bindings::generic_file_llseek),
    read: Some(bindings::generic_read_dir),
    iterate_shared: Some(iterate_shared),
    fsync: Some(fsync),
    ..pin_init::zeroed()
};

///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `iterate_shared`.
unsafe extern "C" fn iterate_shared(
    file: *mut bindings::file,
    ctx: *mut bindings::dir_context,
) -> c_int {
    // SAFETY: The VFS lists our directory, locked shared, into `ctx`.
    let dir = unsafe { inode(sys::toyfs_file_inode(file)) };
    // SAFETY: `ctx` lasts for this call.
    let mut emitter = unsafe { DirEmitter::from_raw(ctx) };
    from_result(|| readdir(dir, &mut emitter).map(|()| 0))
}
