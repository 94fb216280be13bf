// SPDX-License-Identifier: GPL-2.0

//! The filesystem type, mounting (`fs_context`, `fill_super`), and the
//! superblock operations of toyfs.

use super::{namei::iget, raw::inode};
use crate::{
    format::constants::{MAGIC, MAX_NAME_LEN, ROOT_INO},
    info::SbInfo,
    inode::{delete_inode, forget_deferred, sync_before_eviction, write_inode as store_inode},
    mount, sys,
    vfs::{self, toyfs_err, Buffer, SuperBlock},
};
use kernel::{
    bindings,
    error::{from_result, to_result},
    ffi::{c_int, c_uint},
    prelude::*,
    types::Opaque,
};

/// The `file_system_type` to register, pinned for as long as registered.
struct FsType(Opaque<bindings::file_system_type>);

// SAFETY: Written only by `FsRegistration::register` before the structure
// is registered; after that the VFS serialises access to it.
unsafe impl Sync for FsType {}

/// The `file_system_type` of toyfs.  Static, because it holds the lock
/// class keys of toyfs superblocks, which lockdep requires to be static.
static FS_TYPE: FsType = FsType(Opaque::new(bindings::file_system_type {
    fs_flags: bindings::FS_REQUIRES_DEV as c_int,
    init_fs_context: Some(init_fs_context),
    kill_sb: Some(kill_sb),
    ..pin_init::zeroed()
}));

/// The registration of filesystem type `toyfs`; unregistered on drop,
/// then its inode cache destroyed (a field, dropped after `drop`).
pub(crate) struct FsRegistration {
    _inodes: vfs::InodeCache,
}

impl FsRegistration {
    /// Registers filesystem type `toyfs` owned by `module`.
    pub(crate) fn register(module: &'static ThisModule) -> Result<Self> {
        // Before the registration: `alloc_inode` needs it.
        let inodes = vfs::InodeCache::create()?;
        let fs_type = FS_TYPE.0.get();
        // SAFETY: Module init runs once, before anything else can see
        // `FS_TYPE`: the name and owner are not known in a constant.
        unsafe {
            (*fs_type).name = c"toyfs".as_char_ptr();
            (*fs_type).owner = module.as_ptr();
        }
        // SAFETY: `FS_TYPE` is static and set up.
        to_result(unsafe { bindings::register_filesystem(fs_type) })?;
        Ok(Self { _inodes: inodes })
    }
}

impl Drop for FsRegistration {
    fn drop(&mut self) {
        // SAFETY: Registered by `register`; module exit has no mounts left
        // (each holds a module reference).  The inode cache's drop, after
        // this, waits for the inodes still to be freed.
        unsafe { bindings::unregister_filesystem(FS_TYPE.0.get()) };
    }
}

const FS_CONTEXT_OPS: sys::fs_context_operations = sys::fs_context_operations {
    free: None,
    dup: None,
    parse_param: None,
    parse_monolithic: None,
    get_tree: Some(get_tree),
    reconfigure: Some(reconfigure),
};

/// The VFS's `init_fs_context` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `init_fs_context`.
unsafe extern "C" fn init_fs_context(fc: *mut bindings::fs_context) -> c_int {
    let fc = fc.cast::<sys::fs_context>();
    // SAFETY: The VFS passes a new fs_context that we may set up.
    unsafe { (*fc).ops = &FS_CONTEXT_OPS };
    0
}

/// The VFS's `get_tree` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `get_tree`.
unsafe extern "C" fn get_tree(fc: *mut sys::fs_context) -> c_int {
    // SAFETY: The VFS's fs_context; `fill_super` is called with it.
    unsafe { sys::get_tree_bdev(fc, Some(fill_super)) }
}

/// `SB_RDONLY` of include/linux/fs/super_types.h, `BIT(0)`, which
/// bindgen does not expand.
const SB_RDONLY: c_uint = 1;

/// The VFS's `reconfigure` for toyfs: `mount -o remount,ro|rw`.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `reconfigure`.
unsafe extern "C" fn reconfigure(fc: *mut sys::fs_context) -> c_int {
    // SAFETY: The VFS reconfigures a mounted toyfs superblock, `fc->root`
    // its root, with `s_umount` held exclusively.
    let (raw, flags, mask) = unsafe { ((*(*fc).root).d_sb, (*fc).sb_flags, (*fc).sb_flags_mask) };
    if mask & SB_RDONLY == 0 {
        return 0;
    }
    // SAFETY: As above.
    let sb = unsafe { SuperBlock::from_raw(raw) };
    let read_only = flags & SB_RDONLY != 0;
    from_result(|| {
        if read_only && !sb.is_read_only() {
            // Everything reaches the disk before the clean state does.
            // SAFETY: `s_umount` is held, as `sync_filesystem` needs.
            to_result(unsafe { bindings::sync_filesystem(raw) })?;
        }
        mount::remount(sb, read_only).map(|()| 0)
    })
}

/// The VFS's `fill_super` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `fill_super`.
unsafe extern "C" fn fill_super(
    sb: *mut bindings::super_block,
    _fc: *mut sys::fs_context,
) -> c_int {
    from_result(|| {
        // SAFETY: `get_tree_bdev` passes a new superblock with its block
        // device open and `s_umount` held.
        let bdev_bytes = unsafe { sys::toyfs_bdev_nr_bytes((*sb).s_bdev) };
        // SAFETY: Same superblock.  The device's own logical block size
        // (512 or more: 4096 on a 4Kn disk) is enough to read the
        // superblock, which is at its start.
        if unsafe { bindings::sb_min_blocksize(sb, 512) } == 0 {
            return Err(EINVAL);
        }
        // SAFETY: The block size is set; the superblock is not visible to
        // anyone else yet.  `s_fs_info` is still null, so only `Buffer`
        // may be used on it below, not `info`.
        let probe = unsafe { SuperBlock::from_raw(sb) };
        let disk = {
            let block0 = Buffer::read(probe, 0)?;
            let bytes = block0.lock();
            mount::parse_mount_superblock(bytes.data(), bdev_bytes as u64)?
        };
        // SAFETY: As above; the block size was validated by the parser.
        if unsafe { bindings::sb_set_blocksize(sb, disk.geometry.block_size() as c_int) } == 0 {
            toyfs_err!(
                "the device cannot use block size {}\n",
                disk.geometry.block_size()
            );
            return Err(EINVAL);
        }
        let bitmap = mount::read_bitmap(probe, &disk.geometry)?;
        let scratch = mount::decompression_buffers(&disk.geometry)?;
        let info = KBox::pin_init(SbInfo::new(disk, bitmap, scratch), GFP_KERNEL)?;
        // SAFETY: `kill_sb` turns the pointer back into the box, whatever
        // happens next.  The box is never moved out of.
        unsafe {
            (*sb).s_fs_info = KBox::into_raw(Pin::into_inner_unchecked(info)).cast();
            (*sb).s_magic = MAGIC as usize;
            (*sb).s_op = &SUPER_OPS;
            // File handles (`ops::export`); the kernel's bindings see
            // the type opaque, toyfs's own bindgen run whole.
            (*sb).s_export_op = core::ptr::from_ref(&super::export::EXPORT_OPS).cast();
            // The largest file whatever the features: LARGE_FILES is set
            // before an inode that needs it is written (`store_inode`).
            // CAST: at most 2^42 + 2^32.
            (*sb).s_maxbytes = disk.geometry.largest_file_size() as i64;
            (*sb).s_time_gran = 1;
        }
        // SAFETY: `s_fs_info` is set: the type invariants hold.
        let sb_ref = unsafe { SuperBlock::from_raw(sb) };
        // The root before the mount writes the dirty state: an image
        // refused for its root is left as it was.
        let root = iget(sb_ref, ROOT_INO)?;
        if !root.is_dir() {
            toyfs_err!("the root inode is not a directory\n");
            return Err(EUCLEAN);
        }
        mount::mount(sb_ref)?;
        // SAFETY: `d_make_root` consumes the reference, also on failure.
        let dentry = unsafe { bindings::d_make_root(root.into_raw()) };
        if dentry.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: The superblock is ours until `fill_super` returns.
        unsafe { (*sb).s_root = dentry };
        Ok(0)
    })
}

/// The VFS's `kill_sb` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `kill_sb`.
unsafe extern "C" fn kill_sb(sb: *mut bindings::super_block) {
    // SAFETY: The VFS ends the superblock; `s_fs_info` is read before
    // `kill_block_super`, which no longer needs it once it returns.
    let info = unsafe { (*sb).s_fs_info.cast::<SbInfo>() };
    // SAFETY: As above.
    unsafe { bindings::kill_block_super(sb) };
    if !info.is_null() {
        // SAFETY: Set from `KBox::into_raw` in `fill_super`; dropped once.
        drop(unsafe { KBox::from_raw(info) });
    }
}

/// The VFS's `alloc_inode` for toyfs: the VFS inode with toyfs's state.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `alloc_inode`.
unsafe extern "C" fn alloc_inode(sb: *mut bindings::super_block) -> *mut bindings::inode {
    // SAFETY: `sb` is a live toyfs superblock; the inode cache exists
    // while the filesystem is registered (`FsRegistration`).
    unsafe { vfs::alloc_inode(sb) }.unwrap_or(core::ptr::null_mut())
}

/// The VFS's `free_inode` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `free_inode`.
unsafe extern "C" fn free_inode(inode: *mut bindings::inode) {
    // SAFETY: The VFS frees an inode of `alloc_inode` after its last use.
    unsafe { vfs::free_inode(inode) };
}

const SUPER_OPS: bindings::super_operations = bindings::super_operations {
    alloc_inode: Some(alloc_inode),
    free_inode: Some(free_inode),
    dirty_inode: Some(dirty_inode),
    write_inode: Some(write_inode),
    evict_inode: Some(evict_inode),
    put_super: Some(put_super),
    sync_fs: Some(sync_fs),
    freeze_fs: Some(freeze_fs),
    statfs: Some(statfs),
    ..pin_init::zeroed()
};

/// The VFS's `freeze_fs` for toyfs: `FIFREEZE` (`fsfreeze -f`), which the
/// VFS refuses (`EOPNOTSUPP`) for a filesystem without it, as for a
/// freeze of the block device.  `freeze_super` has already written
/// everything (`sync_filesystem`: the data, the inodes, `sync_fs`'s
/// exact counts, the device's buffers) and blocks every writer; what is
/// left is to fail (`EIO`) if an inode still holds runs after a failed
/// write (`mount::freeze`).  The state on the disk stays dirty (fsck
/// reports it, not as an error, and finds the counts exact), as toyfs
/// keeps no
/// clean state while mounted read-write.  What toyfs changes outside
/// the VFS's freeze protection takes its own: the freeing at an inode's
/// last `iput`, an open that moves a packed tail.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `freeze_fs`.
unsafe extern "C" fn freeze_fs(sb: *mut bindings::super_block) -> c_int {
    // SAFETY: The VFS freezes a mounted toyfs superblock, `s_umount`
    // held exclusively.
    let sb = unsafe { SuperBlock::from_raw(sb) };
    from_result(|| mount::freeze(sb).map(|()| 0))
}

/// The VFS's `dirty_inode` for toyfs, called by every
/// `mark_inode_dirty` of an inode (`I_DIRTY_SYNC`, with
/// `I_DIRTY_DATASYNC` for a change of the size or the block map): noted
/// for the file's `fsync` (`InodeInfo::unsynced`), which writes the inode
/// only if it changed, as ext2's does.  Only an atomic: callers hold the
/// map lock, or a folio lock.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `dirty_inode`.
unsafe extern "C" fn dirty_inode(raw: *mut bindings::inode, flags: c_int) {
    // SAFETY: The VFS dirties a live inode of ours.
    let inode = unsafe { inode(raw) };
    // CAST: the VFS's flags, bits of `inode_state_flags_enum`.
    let flags = flags as bindings::inode_state_flags_enum;
    let sync = bindings::inode_state_flags_enum_I_DIRTY_SYNC;
    let datasync = bindings::inode_state_flags_enum_I_DIRTY_DATASYNC;
    if flags & (sync | datasync) != 0 {
        inode.info().note_unsynced(flags & datasync != 0);
    }
}

/// The VFS's `write_inode` for toyfs: the inode into its slot in the
/// inode table, waited for with `WB_SYNC_ALL`.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `write_inode`.
unsafe extern "C" fn write_inode(
    raw: *mut bindings::inode,
    wbc: *mut bindings::writeback_control,
) -> c_int {
    // SAFETY: The VFS writes a live inode of ours.
    let inode = unsafe { inode(raw) };
    // SAFETY: `wbc` is valid for the call.
    let sync = unsafe { (*wbc).sync_mode } == bindings::writeback_sync_modes_WB_SYNC_ALL;
    // A frozen filesystem is not written until it is thawed.
    // `freeze_super` wrote every inode before (`sync_filesystem`; one
    // left holding runs by a failed write fails the freeze since
    // freezefix, `mount::freeze`),
    // and the flusher, `sync(2)` and `syncfs` go on writing inodes of a
    // frozen filesystem: an inode dirtied while frozen stays dirty for
    // the writeback after the thaw (eiofix (c)).  During the freeze's own
    // writeback the level is not taken yet, and this writes; the freeze
    // then waits for it (`sb_wait_write` of `SB_FREEZE_FS`).
    let Some(_unfrozen) = inode.sb().try_start_internal_write() else {
        inode.mark_dirty_sync();
        return 0;
    };
    from_result(|| store_inode(inode, sync).map(|()| 0))
}

/// The VFS's `evict_inode` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `evict_inode`.
unsafe extern "C" fn evict_inode(raw: *mut bindings::inode) {
    // SAFETY: The VFS evicts a live inode of ours; nobody else uses it.
    let inode = unsafe { inode(raw) };
    // The sid goes before the page cache (Documentation/vm_mvc.rst); a
    // directory, or an inode whose set-up failed, has none (`EBADF`).
    // SAFETY: Created by `NewInode::set_up` and deleted only here.
    let _ = unsafe { inode.sid().delete() };
    // SAFETY: As above: the page cache goes first, as in every evict.
    unsafe { bindings::truncate_inode_pages_final(&mut (*raw).i_data) };
    // Not an inode whose `iget` failed (`is_bad_inode`, as
    // `ext2_evict_inode` tests): the link count it has may be the disk's
    // 0 of an `O_TMPFILE` file whose vm_mvc sid could not be created,
    // which the caller gives back (`namei::tmpfile`); freed here too, it
    // was freed twice (review rev11).
    if inode.nlink() == 0 && !inode.is_bad() {
        // Freeing changes the disk: on a frozen filesystem it waits for
        // the thaw, as ext2's and ext4's `evict_inode` do.  The last
        // `iput` of an unlinked file (its last close) holds no freeze
        // protection of its own.
        let _unfrozen = inode.sb().start_internal_write();
        if let Err(err) = delete_inode(inode) {
            toyfs_err!("inode {}: freeing failed: {:?}\n", inode.ino(), err);
        }
    }
    // A file that stays: what only this inode knows to write at `fsync`
    // (its indirect blocks, its bitmap blocks, the buffers its tail and
    // compressed blocks were copied into) is written first
    // (`sync_before_eviction`, as ext2 writes an evicted inode's
    // buffers).  Then the list goes with the inode, and so do the
    // references to those buffers (a freed file's).
    if inode.nlink() != 0 {
        sync_before_eviction(inode);
    }
    inode.forget_own_buffers();
    forget_deferred(inode);
    let _packed = core::mem::take(&mut *inode.info().packed.lock());
    let _indirect = core::mem::take(&mut *inode.info().indirect.lock());
    // SAFETY: As above.
    unsafe { bindings::clear_inode(raw) };
}

/// The VFS's `put_super` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `put_super`.
unsafe extern "C" fn put_super(sb: *mut bindings::super_block) {
    // SAFETY: The VFS ends a superblock that `fill_super` set up.
    let sb = unsafe { SuperBlock::from_raw(sb) };
    if let Err(err) = mount::unmount(sb) {
        toyfs_err!("writing the clean superblock failed: {:?}\n", err);
    }
}

/// The VFS's `sync_fs` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `sync_fs`.
unsafe extern "C" fn sync_fs(sb: *mut bindings::super_block, wait: c_int) -> c_int {
    // SAFETY: The VFS syncs a superblock that `fill_super` set up.
    let sb = unsafe { SuperBlock::from_raw(sb) };
    from_result(|| mount::sync_fs(sb, wait != 0).map(|()| 0))
}

/// The VFS's `statfs` for toyfs: the counts in fragments (`f_frsize`),
/// and the device number as the filesystem id (`f_fsid`).
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `statfs`.
unsafe extern "C" fn statfs(dentry: *mut bindings::dentry, buf: *mut bindings::kstatfs) -> c_int {
    // SAFETY: The VFS passes a dentry of ours and a buffer to fill.
    let (sb, buf) = unsafe {
        (
            SuperBlock::from_raw((*dentry).d_sb),
            &mut *buf.cast::<sys::kstatfs>(),
        )
    };
    let stat = mount::statfs(sb);
    // The device number, as minix, sysv and ufs do without a UUID
    // (ext2 and tmpfs derive theirs from one): 0 says "no fsid"
    // (`fanotify_test_fsid`).
    // SAFETY: The superblock of a mounted filesystem; `s_dev` is fixed.
    let id = unsafe { sys::toyfs_huge_encode_dev((*(*dentry).d_sb).s_dev) };
    // CAST: the two halves of `u64_to_fsid`.
    buf.f_fsid.val = [id as u32 as i32, (id >> 32) as u32 as i32];
    buf.f_type = MAGIC as isize;
    buf.f_bsize = stat.block_size as isize;
    buf.f_frsize = stat.fragment_size as isize;
    buf.f_blocks = stat.blocks.into();
    buf.f_bfree = stat.free_blocks.into();
    buf.f_bavail = stat.free_blocks.into();
    buf.f_files = stat.inodes.into();
    buf.f_ffree = stat.free_inodes.into();
    buf.f_namelen = MAX_NAME_LEN as isize;
    0
}
