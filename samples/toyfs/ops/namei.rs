// SPDX-License-Identifier: GPL-2.0

//! The operations of directories, and getting the VFS inode of an inode
//! number with the operations of its kind.

use super::{
    aops::ADDRESS_SPACE_OPS,
    file::{fsync, setattr, FILE_INODE_OPS, FILE_OPS},
    raw::inode,
};
use crate::{
    dir::readdir,
    format::inode::{S_IFDIR, S_IFMT, S_IFREG},
    inode::read_inode,
    namei, sys,
    vfs::{DirEmitter, Iget, InodeOps, InodeRef, SuperBlock},
};
use kernel::{
    bindings,
    error::from_result,
    ffi::{c_int, c_uint},
    prelude::*,
};

/// The inode `ino` of `sb`, read from the inode table if not cached, with
/// the operations of its kind.
pub(crate) fn iget(sb: &SuperBlock, ino: u32) -> Result<InodeRef> {
    let new = match sb.iget_locked(ino)? {
        Iget::Cached(inode) => return Ok(inode),
        Iget::New(new) => new,
    };
    // On error, dropping `new` gives it back (`iget_failed`).
    let disk = read_inode(sb, ino)?;
    new.info().load_map(&disk);
    let ops = if disk.mode & S_IFMT == S_IFREG {
        InodeOps {
            inode: &FILE_INODE_OPS,
            file: &FILE_OPS,
            mapping: Some(&ADDRESS_SPACE_OPS),
        }
    } else {
        InodeOps {
            inode: &DIR_INODE_OPS,
            file: &DIR_OPS,
            mapping: None,
        }
    };
    let geometry = sb.info().geometry;
    new.set_up(&disk, &ops, geometry.block_size(), geometry.fragment_size())
}

const DIR_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
    lookup: Some(lookup),
    create: Some(create),
    link: Some(link),
    unlink: Some(unlink),
    mkdir: Some(mkdir),
    rmdir: Some(rmdir),
    rename: Some(rename),
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
    from_result(|| {
        let new = namei::create(dir_ref, name, S_IFREG | (mode & 0o7777), iget)?;
        // SAFETY: `new` is a new inode nobody else uses yet; the owner
        // rules of `inode_init_owner` apply to it as to any new inode.
        unsafe { bindings::inode_init_owner(idmap, new.as_ptr(), dir, S_IFREG | (mode & 0o7777)) };
        new.mark_dirty();
        // SAFETY: `d_instantiate` takes the inode reference.
        unsafe { bindings::d_instantiate(dentry, new.into_raw()) };
        Ok(0)
    })
}

/// The VFS's `link` for toyfs: a new name for an existing regular file.
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
    match namei::mkdir(dir_ref, name, mode, iget) {
        Ok(new) => {
            // SAFETY: As in `create`.
            unsafe { bindings::inode_init_owner(idmap, new.as_ptr(), dir, mode) };
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
    // checked that the new name is free.  RENAME_EXCHANGE and
    // RENAME_WHITEOUT are not implemented.
    if flags & !bindings::RENAME_NOREPLACE != 0 {
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
    from_result(|| namei::rename(old_dir, old_name, moved, new_dir, new_name, target).map(|()| 0))
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
