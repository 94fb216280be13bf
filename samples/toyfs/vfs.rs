// SPDX-License-Identifier: GPL-2.0

//! The raw VFS glue of toyfs: small safe wrappers over the kernel's
//! super_block, inode, buffer_head and folio, the operation tables, and the
//! `extern "C"` trampolines that turn each VFS call into a call of the safe
//! filesystem logic in `fs.rs`.
//!
//! Linux 7.3 has no Rust VFS abstraction, so the tables are built as
//! `rust/kernel/miscdevice.rs` builds its `file_operations`: constant
//! tables of `extern "C"` functions, zero for what toyfs leaves to the VFS.
//! Every `unsafe` block of toyfs is in this file.

use crate::{
    format::{InodeAttrs, S_IFDIR, S_IFMT, S_IFREG},
    fs, sys,
    vm_mvc_client::{self, Op},
};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings,
    error::{from_result, to_result},
    ffi::{c_char, c_int, c_long, c_uint, c_void},
    prelude::*,
    types::Opaque,
};

/// Bytes of a base page.
pub(crate) const PAGE_SIZE: usize = bindings::PAGE_SIZE;

/// A buffer head of the filesystem's device, released on drop.
///
/// # Invariants
///
/// `bh` is a referenced, uptodate buffer head of `len` bytes of data.
pub(crate) struct Buffer {
    bh: NonNull<sys::buffer_head>,
    len: usize,
}

impl Buffer {
    /// Reads block `block` of the device (`sb_bread`); `EIO` if it cannot.
    pub(crate) fn read(sb: &SuperBlock, block: u32) -> Result<Self> {
        // SAFETY: `sb` is a live superblock with a block device and its
        // block size set (type invariant of `SuperBlock`).
        let bh = unsafe { sys::toyfs_sb_bread(sb.as_ptr(), block.into()) };
        let bh = NonNull::new(bh).ok_or(EIO)?;
        // SAFETY: `sb_bread` returned a referenced buffer head.
        let len = unsafe { (*bh.as_ptr()).b_size };
        // INVARIANT: `sb_bread` returns referenced, uptodate buffers.
        Ok(Self { bh, len })
    }

    /// The block's bytes.
    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: `b_data` points to `len` bytes that stay mapped while the
        // buffer is referenced (type invariant); writers of metadata
        // blocks hold the filesystem lock, of data blocks the folio lock.
        unsafe { core::slice::from_raw_parts((*self.bh.as_ptr()).b_data.cast::<u8>(), self.len) }
    }

    /// The block's bytes, to change; `mark_dirty` then schedules the write.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: As in `data`; `&mut self` makes this the only slice
        // through this handle.
        unsafe {
            core::slice::from_raw_parts_mut((*self.bh.as_ptr()).b_data.cast::<u8>(), self.len)
        }
    }

    /// Marks the buffer dirty (`mark_buffer_dirty`).
    pub(crate) fn mark_dirty(&self) {
        // SAFETY: The buffer head is referenced (type invariant).
        unsafe { sys::mark_buffer_dirty(self.bh.as_ptr()) };
    }

    /// Writes the buffer now and waits (`sync_dirty_buffer`).
    pub(crate) fn sync(&self) -> Result {
        // SAFETY: The buffer head is referenced (type invariant).
        to_result(unsafe { sys::sync_dirty_buffer(self.bh.as_ptr()) })
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: The reference taken by `sb_bread` is ours (type
        // invariant) and dropped once.
        unsafe { sys::toyfs_brelse(self.bh.as_ptr()) };
    }
}

/// A mounted toyfs superblock.
///
/// # Invariants
///
/// The superblock is live, its block size is set, and `s_fs_info` points to
/// its `fs::SbInfo` for as long as a `&SuperBlock` exists.
#[repr(transparent)]
pub(crate) struct SuperBlock(Opaque<bindings::super_block>);

impl SuperBlock {
    /// # Safety
    ///
    /// `ptr` satisfies the type invariants for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper; the caller's
        // guarantee.
        unsafe { &*ptr.cast() }
    }

    /// The raw superblock.
    fn as_ptr(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    /// The in-memory filesystem state.
    pub(crate) fn info(&self) -> &fs::SbInfo {
        // SAFETY: `s_fs_info` points to the `SbInfo`, which lives as long
        // as the superblock (type invariant).
        unsafe { &*(*self.as_ptr()).s_fs_info.cast::<fs::SbInfo>() }
    }

    /// The device name (`s_id`), for messages.
    pub(crate) fn id(&self) -> &kernel::str::BStr {
        // SAFETY: `s_id` is set before `fill_super` and never changes.
        let id = unsafe { &(*self.as_ptr()).s_id };
        // SAFETY: `c_char` and `u8` have the same size and alignment.
        let bytes = unsafe { core::slice::from_raw_parts(id.as_ptr().cast::<u8>(), id.len()) };
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        kernel::str::BStr::from_bytes(&bytes[..len])
    }

    /// Whether the filesystem is mounted read-only.
    pub(crate) fn is_read_only(&self) -> bool {
        // SAFETY: The superblock is live (type invariant).
        unsafe { sys::toyfs_sb_rdonly(self.as_ptr()) }
    }

    /// The inode `ino`, read from the inode table if not cached.
    pub(crate) fn iget(&self, ino: u32) -> Result<InodeRef> {
        // SAFETY: The superblock is live (type invariant).
        let inode = unsafe { bindings::iget_locked(self.as_ptr(), ino.into()) };
        let inode = NonNull::new(inode).ok_or(ENOMEM)?;
        // SAFETY: `iget_locked` returned a referenced inode.
        let state = unsafe { sys::toyfs_inode_state_read_once(inode.as_ptr()) };
        if state & bindings::inode_state_flags_enum_I_NEW == 0 {
            // INVARIANT: a cached toyfs inode, referenced.
            return Ok(InodeRef(inode));
        }
        // SAFETY: A new, locked inode whose reference is ours.
        let new = unsafe { Inode::from_raw(inode.as_ptr()) };
        match fs::read_inode(self, ino).and_then(|attrs| new.set_up(&attrs)) {
            Ok(()) => {
                // SAFETY: The inode is new and set up.
                unsafe { bindings::unlock_new_inode(inode.as_ptr()) };
                // INVARIANT: set up above, referenced.
                Ok(InodeRef(inode))
            }
            Err(err) => {
                // SAFETY: The inode is new; `iget_failed` drops our
                // reference.
                unsafe { bindings::iget_failed(inode.as_ptr()) };
                Err(err)
            }
        }
    }
}

/// A toyfs inode.
///
/// # Invariants
///
/// The inode is live and belongs to a toyfs superblock.
#[repr(transparent)]
pub(crate) struct Inode(Opaque<bindings::inode>);

impl Inode {
    /// # Safety
    ///
    /// `ptr` satisfies the type invariants for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::inode) -> &'a Self {
        // SAFETY: `Inode` is a transparent wrapper; the caller's guarantee.
        unsafe { &*ptr.cast() }
    }

    /// The raw inode.
    fn as_ptr(&self) -> *mut bindings::inode {
        self.0.get()
    }

    /// Its superblock.
    pub(crate) fn sb(&self) -> &SuperBlock {
        // SAFETY: A live toyfs inode's superblock is a live toyfs
        // superblock (type invariant).
        unsafe { SuperBlock::from_raw((*self.as_ptr()).i_sb) }
    }

    /// Its inode number.
    pub(crate) fn ino(&self) -> u32 {
        // SAFETY: `i_ino` does not change for a live inode.
        let ino = unsafe { (*self.as_ptr()).i_ino };
        // CAST: toyfs inode numbers are `u32` (set by `iget`).
        ino as u32
    }

    /// Its mode.
    pub(crate) fn mode(&self) -> u16 {
        // SAFETY: The inode is live; `i_mode` is read as `inode_permission`
        // does.
        unsafe { (*self.as_ptr()).i_mode }
    }

    /// Whether it is a directory.
    pub(crate) fn is_dir(&self) -> bool {
        self.mode() & S_IFMT == S_IFDIR
    }

    /// Its size (`i_size_read`).
    pub(crate) fn size(&self) -> u64 {
        // SAFETY: The inode is live.
        let size = unsafe { sys::toyfs_i_size_read(self.as_ptr()) };
        // CAST: sizes are never negative.
        size as u64
    }

    /// Sets its size (`i_size_write`); the caller holds the inode lock.
    pub(crate) fn set_size(&self, size: u64) {
        // SAFETY: The inode is live; the caller serialises size updates.
        // CAST: sizes are below the largest file, far from `i64::MAX`.
        unsafe { sys::toyfs_i_size_write(self.as_ptr(), size as i64) };
    }

    /// Its link count.
    pub(crate) fn nlink(&self) -> u32 {
        // SAFETY: The inode is live.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.i_nlink }
    }

    /// Sets its allocated blocks from the on-disk count in units of `B`.
    pub(crate) fn set_blocks(&self, blocks: u32, block_size: u32) {
        // SAFETY: The inode is live; callers hold the filesystem lock,
        // which serialises the block counts.
        unsafe { (*self.as_ptr()).i_blocks = u64::from(blocks) * u64::from(block_size / 512) };
    }

    /// Marks the inode dirty so that `write_inode` saves it.
    pub(crate) fn mark_dirty(&self) {
        // SAFETY: The inode is live.
        unsafe { sys::toyfs_mark_inode_dirty(self.as_ptr()) };
    }

    /// Sets mtime and ctime to now (a change of contents or entries).
    pub(crate) fn touch_mtime_ctime(&self) {
        // SAFETY: The inode is live.
        unsafe {
            let now = bindings::inode_set_ctime_current(self.as_ptr());
            sys::toyfs_inode_set_mtime_to_ts(self.as_ptr(), now);
        }
    }

    /// Sets ctime to now.
    pub(crate) fn touch_ctime(&self) {
        // SAFETY: The inode is live.
        unsafe { bindings::inode_set_ctime_current(self.as_ptr()) };
    }

    /// Sets atime, mtime and ctime of a new inode to now.
    pub(crate) fn init_times_now(&self) {
        // SAFETY: The inode is live.
        unsafe { bindings::simple_inode_init_ts(self.as_ptr()) };
    }

    /// Adds one link (`inc_nlink`).
    pub(crate) fn inc_link(&self) {
        // SAFETY: The inode is live; callers hold the inode lock.
        unsafe { bindings::inc_nlink(self.as_ptr()) };
    }

    /// Drops every link (`clear_nlink`): a removed directory.
    pub(crate) fn clear_links(&self) {
        // SAFETY: The inode is live; callers hold the inode lock.
        unsafe { bindings::clear_nlink(self.as_ptr()) };
    }

    /// Drops one link (`drop_nlink`).
    pub(crate) fn drop_link(&self) {
        // SAFETY: The inode is live; callers hold the inode lock.
        unsafe { bindings::drop_nlink(self.as_ptr()) };
    }

    /// The attributes to store on disk.
    pub(crate) fn attrs(&self) -> InodeAttrs {
        let inode = self.as_ptr();
        // SAFETY: The inode is live; the fields are read as `stat` does.
        unsafe {
            let (a, m, c) = (
                sys::toyfs_inode_get_atime(inode),
                sys::toyfs_inode_get_mtime(inode),
                sys::toyfs_inode_get_ctime(inode),
            );
            // CAST: nanoseconds are below a billion; mode and nlink fit the
            // on-disk fields (toyfs never links more than `u16::MAX`).
            InodeAttrs {
                mode: (*inode).i_mode,
                nlink: (*inode).__bindgen_anon_1.i_nlink as u16,
                uid: sys::toyfs_i_uid_read(inode),
                gid: sys::toyfs_i_gid_read(inode),
                size: self.size(),
                atime: (a.tv_sec, a.tv_nsec as u32),
                mtime: (m.tv_sec, m.tv_nsec as u32),
                ctime: (c.tv_sec, c.tv_nsec as u32),
                blocks: 0,
            }
        }
    }

    /// Fills a new inode from its on-disk attributes and picks its
    /// operations by type.
    ///
    /// A regular file gets its vm_mvc sid, kept in `i_private` and deleted
    /// by `evict_inode`; `ENOMEM` (or `ENOSPC`) without one.
    fn set_up(&self, attrs: &InodeAttrs) -> Result {
        let inode = self.as_ptr();
        let ts = |(sec, nsec): (i64, u32)| bindings::timespec64 {
            tv_sec: sec,
            tv_nsec: nsec as isize,
        };
        // SAFETY: The inode is new and locked (I_NEW): nobody else sees it.
        unsafe {
            (*inode).i_mode = attrs.mode;
            bindings::set_nlink(inode, attrs.nlink.into());
            sys::toyfs_i_uid_write(inode, attrs.uid);
            sys::toyfs_i_gid_write(inode, attrs.gid);
            sys::toyfs_i_size_write(inode, attrs.size as i64);
            sys::toyfs_inode_set_atime_to_ts(inode, ts(attrs.atime));
            sys::toyfs_inode_set_mtime_to_ts(inode, ts(attrs.mtime));
            bindings::inode_set_ctime_to_ts(inode, ts(attrs.ctime));
            if attrs.mode & S_IFMT == S_IFREG {
                (*inode).i_op = &FILE_INODE_OPS;
                (*inode).__bindgen_anon_3.i_fop = &FILE_OPS;
                (*(*inode).i_mapping).a_ops = &ADDRESS_SPACE_OPS;
            } else {
                (*inode).i_op = &DIR_INODE_OPS;
                (*inode).__bindgen_anon_3.i_fop = &DIR_OPS;
            }
        }
        let geometry = self.sb().info().geometry;
        self.set_blocks(attrs.blocks, geometry.block_size);
        if attrs.mode & S_IFMT == S_IFREG {
            // SAFETY: The inode is alive; `evict_inode` deletes the sid
            // before it truncates the page cache.
            let sid = unsafe { vm_mvc_client::Sid::create(inode) }?;
            // SAFETY: The inode is new and locked; toyfs keeps nothing
            // else in `i_private`.
            unsafe { (*inode).i_private = sid.raw() as *mut c_void };
        }
        Ok(())
    }

    /// The vm_mvc sid of a regular file, created with the inode; any other
    /// inode has none, and every call with it fails (`EBADF`).
    pub(crate) fn sid(&self) -> vm_mvc_client::Sid {
        // SAFETY: `i_private` is set before the inode is unlocked and only
        // read afterwards.
        let raw = unsafe { (*self.as_ptr()).i_private };
        vm_mvc_client::Sid::from_raw(raw as c_long)
    }
}

/// A reference to an inode, dropped with `iput`.
///
/// # Invariants
///
/// The pointer is a live toyfs inode on which this value holds a reference.
pub(crate) struct InodeRef(NonNull<bindings::inode>);

impl InodeRef {
    /// Gives the reference away to a VFS call that consumes it.
    fn into_raw(self) -> *mut bindings::inode {
        let inode = self.0.as_ptr();
        core::mem::forget(self);
        inode
    }
}

impl core::ops::Deref for InodeRef {
    type Target = Inode;

    fn deref(&self) -> &Inode {
        // SAFETY: A referenced toyfs inode (type invariant).
        unsafe { Inode::from_raw(self.0.as_ptr()) }
    }
}

impl Drop for InodeRef {
    fn drop(&mut self) {
        // SAFETY: The reference is ours (type invariant).
        unsafe { bindings::iput(self.0.as_ptr()) };
    }
}

/// A page-cache folio of a toyfs file that the caller holds locked for
/// `'a`.  toyfs does not enable large folios: a folio is one page.
///
/// # Invariants
///
/// `folio` is locked and referenced for `'a` and belongs to a toyfs file.
pub(crate) struct LockedFolio<'a> {
    folio: *mut bindings::folio,
    _locked: PhantomData<&'a ()>,
}

impl LockedFolio<'_> {
    /// # Safety
    ///
    /// The caller holds `folio` locked and referenced for the lifetime.
    unsafe fn from_raw(folio: *mut bindings::folio) -> Self {
        // INVARIANT: the caller's guarantee.
        Self {
            folio,
            _locked: PhantomData,
        }
    }

    /// The file offset of the folio's first byte.
    pub(crate) fn pos(&self) -> u64 {
        // SAFETY: The folio is referenced (type invariant).
        let pos = unsafe { sys::toyfs_folio_pos(self.folio) };
        // CAST: file offsets are never negative.
        pos as u64
    }

    /// The page number (`pno`) of the folio in its file.
    pub(crate) fn index(&self) -> usize {
        // CAST: page numbers of files below the largest toyfs file fit.
        (self.pos() / PAGE_SIZE as u64) as usize
    }

    /// Runs the vm_mvc command `op` on `len` bytes at `offset` of the
    /// page, through `vm_mvc_folio` (the caller holds the lock).
    pub(crate) fn mvc(&self, offset: usize, len: usize, op: Op<'_>) -> Result {
        // SAFETY: The folio is locked and referenced (type invariant).
        unsafe { vm_mvc_client::mvc_locked_folio(self.folio, self.index(), offset, len, op) }
    }

    /// Whether every byte of the folio is valid.
    pub(crate) fn is_uptodate(&self) -> bool {
        // SAFETY: The folio is referenced (type invariant).
        unsafe { sys::toyfs_folio_test_uptodate(self.folio) }
    }

    /// Marks every byte of the folio valid.
    pub(crate) fn mark_uptodate(&self) {
        // SAFETY: The folio is locked (type invariant).
        unsafe { sys::toyfs_folio_mark_uptodate(self.folio) };
    }

    /// Marks the folio dirty.
    pub(crate) fn mark_dirty(&self) {
        // SAFETY: The folio is locked (type invariant), so truncation
        // cannot race.
        unsafe { bindings::folio_mark_dirty(self.folio) };
    }
}

/// Truncates the page cache to the inode's new size (`truncate_setsize`,
/// which also calls `pagecache_isize_extended` when growing).
pub(crate) fn truncate_setsize(inode: &Inode, size: u64) {
    // SAFETY: The inode is live; the caller holds its lock.
    // CAST: sizes are below the largest file.
    unsafe { bindings::truncate_setsize(inode.as_ptr(), size as i64) };
}

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

/// The registration of filesystem type `toyfs`; unregistered on drop.
pub(crate) struct FsRegistration(());

impl FsRegistration {
    /// Registers filesystem type `toyfs` owned by `module`.
    pub(crate) fn register(module: &'static ThisModule) -> Result<Self> {
        let fs_type = FS_TYPE.0.get();
        // SAFETY: Module init runs once, before anything else can see
        // `FS_TYPE`: the name and owner are not known in a constant.
        unsafe {
            (*fs_type).name = c"toyfs".as_char_ptr();
            (*fs_type).owner = module.as_ptr();
        }
        // SAFETY: `FS_TYPE` is static and set up.
        to_result(unsafe { bindings::register_filesystem(fs_type) })?;
        Ok(Self(()))
    }
}

impl Drop for FsRegistration {
    fn drop(&mut self) {
        // SAFETY: Registered by `register`; module exit has no mounts left
        // (each holds a module reference).
        unsafe { bindings::unregister_filesystem(FS_TYPE.0.get()) };
    }
}

/// A log ratelimit: at most `BURST` messages in each `INTERVAL_NS`, as
/// `printk_ratelimit` allows, so that a damaged image or a bad mount loop
/// cannot flood the log.  One for mount-time messages (`MOUNT_LOG`), one
/// per mounted filesystem for the corruption it meets (as ext4's
/// `s_err_ratelimit_state`), so that one damaged filesystem cannot hide
/// another's errors.
pub(crate) struct LogLimit {
    window_start: core::sync::atomic::AtomicI64,
    logged: core::sync::atomic::AtomicU32,
}

impl LogLimit {
    const INTERVAL_NS: i64 = 5_000_000_000;
    const BURST: u32 = 10;

    /// A limit with a full burst available.
    pub(crate) const fn new() -> Self {
        Self {
            window_start: core::sync::atomic::AtomicI64::new(i64::MIN),
            logged: core::sync::atomic::AtomicU32::new(0),
        }
    }

    /// Whether a message may be logged now.
    pub(crate) fn allow(&self) -> bool {
        use core::sync::atomic::Ordering::Relaxed;
        // SAFETY: `ktime_get` may be called from any context.
        let now = unsafe { bindings::ktime_get() };
        let start = self.window_start.load(Relaxed);
        if now.saturating_sub(start) >= Self::INTERVAL_NS
            && self
                .window_start
                .compare_exchange(start, now, Relaxed, Relaxed)
                .is_ok()
        {
            self.logged.store(0, Relaxed);
        }
        self.logged.fetch_add(1, Relaxed) < Self::BURST
    }
}

/// The limit of messages logged before a filesystem is mounted, or about
/// no filesystem in particular.
pub(crate) static MOUNT_LOG: LogLimit = LogLimit::new();

/// Logs a ratelimited error about the filesystem.
macro_rules! toyfs_err {
    ($($arg:tt)*) => {
        if $crate::vfs::MOUNT_LOG.allow() {
            kernel::pr_err!($($arg)*);
        }
    };
}
pub(crate) use toyfs_err;

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
        fs::remount(sb, read_only).map(|()| 0)
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
        // SAFETY: Same superblock; 512 is a valid logical block size.
        if unsafe { bindings::sb_set_blocksize(sb, 512) } == 0 {
            return Err(EINVAL);
        }
        // SAFETY: The block size is set; the superblock is not visible to
        // anyone else yet.  `s_fs_info` is still null, so only `Buffer`
        // may be used on it below, not `info`.
        let probe = unsafe { SuperBlock::from_raw(sb) };
        let disk = {
            let block0 = Buffer::read(probe, 0)?;
            fs::parse_mount_superblock(block0.data(), bdev_bytes as u64)?
        };
        // SAFETY: As above; the block size was validated by the parser.
        if unsafe { bindings::sb_set_blocksize(sb, disk.geometry.block_size as c_int) } == 0 {
            toyfs_err!(
                "the device cannot use block size {}\n",
                disk.geometry.block_size
            );
            return Err(EINVAL);
        }
        let info = KBox::pin_init(fs::SbInfo::new(disk), GFP_KERNEL)?;
        // SAFETY: `kill_sb` turns the pointer back into the box, whatever
        // happens next.  The box is never moved out of.
        unsafe {
            (*sb).s_fs_info = KBox::into_raw(Pin::into_inner_unchecked(info)).cast();
            (*sb).s_magic = crate::format::MAGIC as usize;
            (*sb).s_op = &SUPER_OPS;
            (*sb).s_maxbytes = disk.geometry.max_file_size() as i64;
            (*sb).s_time_gran = 1;
        }
        // SAFETY: `s_fs_info` is set: the type invariants hold.
        let sb_ref = unsafe { SuperBlock::from_raw(sb) };
        fs::mount(sb_ref)?;
        let root = sb_ref.iget(crate::format::ROOT_INO)?;
        if !root.is_dir() {
            toyfs_err!("the root inode is not a directory\n");
            return Err(EUCLEAN);
        }
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
    let info = unsafe { (*sb).s_fs_info.cast::<fs::SbInfo>() };
    // SAFETY: As above.
    unsafe { bindings::kill_block_super(sb) };
    if !info.is_null() {
        // SAFETY: Set from `KBox::into_raw` in `fill_super`; dropped once.
        drop(unsafe { KBox::from_raw(info) });
    }
}

const SUPER_OPS: bindings::super_operations = bindings::super_operations {
    write_inode: Some(write_inode),
    evict_inode: Some(evict_inode),
    put_super: Some(put_super),
    sync_fs: Some(sync_fs),
    statfs: Some(statfs),
    ..pin_init::zeroed()
};

/// # Safety
///
/// `inode` is a live toyfs inode.
unsafe fn inode<'a>(inode: *mut bindings::inode) -> &'a Inode {
    // SAFETY: The caller's guarantee.
    unsafe { Inode::from_raw(inode) }
}

/// The VFS's `write_inode` for toyfs.
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
    from_result(|| fs::write_inode(inode, sync).map(|()| 0))
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
    // SAFETY: Created by `set_up` and deleted only here.
    let _ = unsafe { inode.sid().delete() };
    // SAFETY: As above: the page cache goes first, as in every evict.
    unsafe { bindings::truncate_inode_pages_final(&mut (*raw).i_data) };
    if inode.nlink() == 0 {
        if let Err(err) = fs::delete_inode(inode) {
            toyfs_err!("inode {}: freeing failed: {:?}\n", inode.ino(), err);
        }
    }
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
    if let Err(err) = fs::unmount(sb) {
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
    from_result(|| fs::sync_fs(sb, wait != 0).map(|()| 0))
}

/// The VFS's `statfs` for toyfs.
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
    let stat = fs::statfs(sb);
    buf.f_type = crate::format::MAGIC as isize;
    buf.f_bsize = stat.block_size as isize;
    buf.f_blocks = stat.blocks.into();
    buf.f_bfree = stat.free_blocks.into();
    buf.f_bavail = stat.free_blocks.into();
    buf.f_files = stat.inodes.into();
    buf.f_ffree = stat.free_inodes.into();
    buf.f_namelen = crate::format::MAX_NAME_LEN as isize;
    0
}

const DIR_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
    lookup: Some(lookup),
    create: Some(create),
    unlink: Some(unlink),
    mkdir: Some(mkdir),
    rmdir: Some(rmdir),
    rename: Some(rename),
    setattr: Some(setattr),
    ..pin_init::zeroed()
};

const FILE_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
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
    let found = match fs::lookup(dir, name) {
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
        let new = fs::create(dir_ref, name, S_IFREG | (mode & 0o7777))?;
        // SAFETY: `new` is a new inode nobody else uses yet; the owner
        // rules of `inode_init_owner` apply to it as to any new inode.
        unsafe { bindings::inode_init_owner(idmap, new.as_ptr(), dir, S_IFREG | (mode & 0o7777)) };
        new.mark_dirty();
        // SAFETY: `d_instantiate` takes the inode reference.
        unsafe { bindings::d_instantiate(dentry, new.into_raw()) };
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
    from_result(|| fs::unlink(dir, name, victim).map(|()| 0))
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
    match fs::mkdir(dir_ref, name, mode) {
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
    from_result(|| fs::rmdir(dir, name, victim).map(|()| 0))
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
    if flags != 0 {
        // RENAME_NOREPLACE, RENAME_EXCHANGE and RENAME_WHITEOUT are not
        // implemented.
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
    from_result(|| fs::rename(old_dir, old_name, moved, new_dir, new_name, target).map(|()| 0))
}

/// The VFS's `setattr` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `setattr`.
unsafe extern "C" fn setattr(
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    attr: *mut bindings::iattr,
) -> c_int {
    // SAFETY: The VFS passes a dentry of ours with its inode locked.
    let raw = unsafe { (*dentry).d_inode };
    // SAFETY: As above.
    let inode = unsafe { inode(raw) };
    from_result(|| {
        // SAFETY: As above; `attr` is valid for the call.
        to_result(unsafe { bindings::setattr_prepare(idmap, dentry, attr) })?;
        // SAFETY: As above.
        let (valid, size) = unsafe { ((*attr).ia_valid, (*attr).ia_size) };
        if valid & bindings::ATTR_SIZE != 0 && size as u64 != inode.size() {
            // CAST: `setattr_prepare` checked the size against s_maxbytes.
            fs::set_size(inode, size as u64)?;
        }
        // SAFETY: As above.
        unsafe { bindings::setattr_copy(idmap, raw, attr) };
        inode.mark_dirty();
        Ok(0)
    })
}

const DIR_OPS: bindings::file_operations = bindings::file_operations {
    llseek: Some(bindings::generic_file_llseek),
    read: Some(bindings::generic_read_dir),
    iterate_shared: Some(iterate_shared),
    fsync: Some(fsync),
    ..pin_init::zeroed()
};

/// A directory being listed: `readdir` hands out entries through it.
pub(crate) struct DirEmitter {
    ctx: *mut bindings::dir_context,
}

impl DirEmitter {
    /// The position (byte offset in the directory) to go on from.
    pub(crate) fn pos(&self) -> u64 {
        // SAFETY: `ctx` is valid for the `iterate_shared` call.
        unsafe { (*self.ctx).pos as u64 }
    }

    /// Sets the position.
    pub(crate) fn set_pos(&mut self, pos: u64) {
        // SAFETY: As in `pos`.
        // CAST: directory sizes are far below `i64::MAX`.
        unsafe { (*self.ctx).pos = pos as i64 };
    }

    /// Emits an entry; false when the caller's buffer is full.
    pub(crate) fn emit(&mut self, name: &[u8], ino: u32, is_dir: bool) -> bool {
        let kind = if is_dir {
            bindings::DT_DIR
        } else {
            bindings::DT_REG
        };
        // SAFETY: As in `pos`; the name is valid for the call.
        // CAST: names are at most 255 bytes.
        unsafe {
            sys::toyfs_dir_emit(
                self.ctx,
                name.as_ptr().cast::<c_char>(),
                name.len() as c_int,
                ino.into(),
                kind,
            )
        }
    }
}

/// The VFS's `iterate_shared` for toyfs.
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
    let mut emitter = DirEmitter { ctx };
    from_result(|| fs::readdir(dir, &mut emitter).map(|()| 0))
}

/// The VFS's `fsync` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `fsync`.
unsafe extern "C" fn fsync(
    file: *mut bindings::file,
    start: i64,
    end: i64,
    _datasync: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: The VFS passes an open file of ours.
        to_result(unsafe { bindings::file_write_and_wait_range(file, start, end) })?;
        // SAFETY: As above.
        let inode = unsafe { inode(sys::toyfs_file_inode(file)) };
        fs::write_inode(inode, true)?;
        // SAFETY: The superblock of an open file has its block device.
        to_result(unsafe { bindings::sync_blockdev((*inode.sb().as_ptr()).s_bdev) })?;
        Ok(0)
    })
}

const FILE_OPS: bindings::file_operations = bindings::file_operations {
    llseek: Some(bindings::generic_file_llseek),
    read_iter: Some(bindings::generic_file_read_iter),
    write_iter: Some(write_iter),
    mmap: Some(mmap),
    open: Some(bindings::generic_file_open),
    fsync: Some(fsync),
    splice_read: Some(bindings::filemap_splice_read),
    ..pin_init::zeroed()
};

/// The VFS's `write_iter` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `write_iter`.
unsafe extern "C" fn write_iter(
    iocb: *mut bindings::kiocb,
    from: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: The VFS passes a kiocb of an open file of ours.
    let raw = unsafe { sys::toyfs_file_inode((*iocb).ki_filp) };
    // SAFETY: As above.
    let inode = unsafe { inode(raw) };
    // SAFETY: As above; the lock is released below on every path.
    unsafe { sys::toyfs_inode_lock(raw) };
    let result = (|| -> Result<isize> {
        // SAFETY: The inode is locked, as `generic_write_checks` needs.
        let count = unsafe { bindings::generic_write_checks(iocb, from) };
        if count <= 0 {
            return to_result(count as c_int).map(|()| 0);
        }
        // SAFETY: As above.
        let pos = unsafe { (*iocb).ki_pos } as u64;
        fs::prepare_extend(inode, pos)?;
        // SAFETY: As above.
        Ok(unsafe { bindings::__generic_file_write_iter(iocb, from) })
    })();
    // SAFETY: Locked above.
    unsafe { sys::toyfs_inode_unlock(raw) };
    match result {
        // SAFETY: The write is done and the inode unlocked, as
        // `generic_write_sync` needs.
        Ok(written) if written > 0 => unsafe { sys::toyfs_generic_write_sync(iocb, written) },
        Ok(written) => written,
        Err(err) => err.to_errno() as isize,
    }
}

/// The VFS's `mmap` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `mmap`.
unsafe extern "C" fn mmap(file: *mut bindings::file, vma: *mut bindings::vm_area_struct) -> c_int {
    // SAFETY: The VFS maps an open file of ours into a new vma.
    unsafe {
        sys::toyfs_file_accessed(file);
        (*vma).vm_ops = &VM_OPS;
    }
    0
}

const VM_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
    fault: Some(bindings::filemap_fault),
    map_pages: Some(bindings::filemap_map_pages),
    page_mkwrite: Some(page_mkwrite),
    ..pin_init::zeroed()
};

/// The VFS's `page_mkwrite` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `page_mkwrite`.
unsafe extern "C" fn page_mkwrite(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // SAFETY: The fault handler passes a write fault on a page of a
    // shared mapping of one of our files; the page is referenced.
    let (file, page) = unsafe { ((*(*vmf).__bindgen_anon_1.vma).vm_file, (*vmf).page) };
    // SAFETY: As above.
    let raw = unsafe { sys::toyfs_file_inode(file) };
    // SAFETY: As above.
    let inode = unsafe { inode(raw) };
    // SAFETY: As above; ended below on every path.
    unsafe {
        sys::toyfs_sb_start_pagefault((*raw).i_sb);
        bindings::file_update_time(file);
    }
    // SAFETY: The page is referenced by the fault.
    let folio = unsafe { sys::toyfs_page_folio(page) };
    // SAFETY: As above; unlocked below unless handed locked to the fault.
    unsafe { sys::toyfs_folio_lock(folio) };
    // SAFETY: Locked above.
    let still_ours = unsafe { bindings::folio_mapping(folio) == (*raw).i_mapping };
    let ret = if !still_ours {
        // Truncated while we waited for the lock: let the fault retry.
        bindings::vm_fault_reason_VM_FAULT_NOPAGE
    } else {
        // SAFETY: Locked and referenced until we return.
        let locked = unsafe { LockedFolio::from_raw(folio) };
        match fs::page_mkwrite(inode, &locked) {
            Ok(()) => {
                locked.mark_dirty();
                // SAFETY: Locked; stable pages must be waited for before the
                // store.
                unsafe { bindings::folio_wait_stable(folio) };
                bindings::vm_fault_reason_VM_FAULT_LOCKED
            }
            Err(err) if err == ENOMEM => bindings::vm_fault_reason_VM_FAULT_OOM,
            Err(_) => bindings::vm_fault_reason_VM_FAULT_SIGBUS,
        }
    };
    if ret != bindings::vm_fault_reason_VM_FAULT_LOCKED {
        // SAFETY: Locked above and not handed on.
        unsafe { bindings::folio_unlock(folio) };
    }
    // SAFETY: Started above.
    unsafe { sys::toyfs_sb_end_pagefault((*raw).i_sb) };
    ret
}

const ADDRESS_SPACE_OPS: bindings::address_space_operations = bindings::address_space_operations {
    read_folio: Some(read_folio),
    writepages: Some(writepages),
    dirty_folio: Some(dirty_folio),
    write_begin: Some(write_begin),
    write_end: Some(write_end),
    ..pin_init::zeroed()
};

/// The VFS's `read_folio` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `read_folio`.
unsafe extern "C" fn read_folio(_file: *mut bindings::file, folio: *mut bindings::folio) -> c_int {
    // SAFETY: The page cache passes a locked, referenced, !uptodate folio
    // of one of our files.
    let (locked, inode) = unsafe {
        (
            LockedFolio::from_raw(folio),
            inode(sys::toyfs_folio_inode(folio)),
        )
    };
    let result = fs::fill_folio(inode, &locked);
    if result.is_ok() {
        locked.mark_uptodate();
    }
    // SAFETY: `read_folio` unlocks the folio on every path.
    unsafe { bindings::folio_unlock(folio) };
    from_result(|| result.map(|()| 0))
}

/// `dirty_folio`: `filemap_dirty_folio`, but never for a folio that is not
/// uptodate.
///
/// vm_mvc marks the folio dirty on every ZERO, PROTZERO and WRITE, also
/// through `vm_mvc_folio` while `read_folio` or `write_begin` is filling a
/// !uptodate folio from the disk.  Such a folio holds nothing to write
/// back yet, and `__folio_mark_dirty` warns about dirtying it (which
/// `panic_on_warn` makes fatal); `write_end` and `page_mkwrite` dirty it
/// again once it is uptodate.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `dirty_folio`.
unsafe extern "C" fn dirty_folio(
    mapping: *mut bindings::address_space,
    folio: *mut bindings::folio,
) -> bool {
    // SAFETY: The caller holds the folio locked or otherwise stable.
    if !unsafe { sys::toyfs_folio_test_uptodate(folio) } {
        return false;
    }
    // SAFETY: As above.
    unsafe { bindings::filemap_dirty_folio(mapping, folio) }
}

/// The VFS's `write_begin` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `write_begin`.
unsafe extern "C" fn write_begin(
    iocb: *const bindings::kiocb,
    mapping: *mut bindings::address_space,
    pos: i64,
    len: c_uint,
    foliop: *mut *mut bindings::folio,
    _fsdata: *mut *mut c_void,
) -> c_int {
    // SAFETY: `generic_perform_write` passes our mapping, inode locked.
    let inode = unsafe { inode((*mapping).host) };
    let index = pos as u64 / PAGE_SIZE as u64;
    // SAFETY: As above.
    let folio =
        unsafe { sys::toyfs_write_begin_get_folio(iocb, mapping, index as usize, len as usize) };
    if let Err(err) = kernel::error::from_err_ptr(folio) {
        return err.to_errno();
    }
    // SAFETY: `write_begin_get_folio` returns the folio locked and
    // referenced; on error we release both below.
    let locked = unsafe { LockedFolio::from_raw(folio) };
    match fs::prepare_write(inode, &locked, pos as u64, len as usize) {
        Ok(()) => {
            // SAFETY: Handed to `write_end` locked and referenced.
            unsafe { *foliop = folio };
            0
        }
        Err(err) => {
            // SAFETY: Ours, see above.
            unsafe {
                bindings::folio_unlock(folio);
                sys::toyfs_folio_put(folio);
            }
            err.to_errno()
        }
    }
}

/// The VFS's `write_end` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `write_end`.
unsafe extern "C" fn write_end(
    _iocb: *const bindings::kiocb,
    mapping: *mut bindings::address_space,
    pos: i64,
    len: c_uint,
    copied: c_uint,
    folio: *mut bindings::folio,
    _fsdata: *mut c_void,
) -> c_int {
    // SAFETY: `generic_perform_write` passes the folio `write_begin`
    // returned, locked and referenced, of our mapping, inode locked.
    let (inode, locked) = unsafe { (inode((*mapping).host), LockedFolio::from_raw(folio)) };
    let copied = fs::finish_write(inode, &locked, pos as u64, len as usize, copied as usize);
    // SAFETY: Ours since `write_begin`.
    unsafe {
        bindings::folio_unlock(folio);
        sys::toyfs_folio_put(folio);
    }
    fs::trim_failed_write(inode, pos as u64 + u64::from(len));
    // CAST: at most `len`.
    copied as c_int
}

/// The VFS's `writepages` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `writepages`.
unsafe extern "C" fn writepages(
    mapping: *mut bindings::address_space,
    wbc: *mut bindings::writeback_control,
) -> c_int {
    // SAFETY: Writeback of our mapping.
    let inode = unsafe { inode((*mapping).host) };
    let mut folio = core::ptr::null_mut();
    let mut error: c_int = 0;
    loop {
        // SAFETY: The iteration protocol of `writeback_iter`: it returns
        // each dirty folio locked, with its dirty bit cleared for I/O, and
        // records the `error` of the previous one.
        folio = unsafe { bindings::writeback_iter(mapping, wbc, folio, &mut error) };
        if folio.is_null() {
            return error;
        }
        // SAFETY: As above; unlocked below.
        let locked = unsafe { LockedFolio::from_raw(folio) };
        if fs::is_inside_eof(inode, &locked) {
            // SAFETY: The folio is locked and its dirty bit cleared.
            unsafe { sys::toyfs_folio_start_writeback(folio) };
            error = match fs::write_folio(inode, &locked) {
                Ok(()) => 0,
                Err(err) => {
                    // SAFETY: The mapping is ours.
                    unsafe { sys::toyfs_mapping_set_error(mapping, err.to_errno()) };
                    err.to_errno()
                }
            };
            // SAFETY: Started above.  The bytes are in the buffer heads,
            // which are written with the block device's own writeback.
            unsafe { bindings::folio_end_writeback(folio) };
        }
        // SAFETY: Locked by `writeback_iter`.
        unsafe { bindings::folio_unlock(folio) };
    }
}
