// SPDX-License-Identifier: GPL-2.0

//! Inodes of toyfs: the VFS inode and the references to it.

use super::{SuperBlock, MAX_FOLIO_BLOCKS};
use crate::{
    format::inode::{FileType, Inode as DiskInode, Timestamp, S_IFDIR, S_IFMT},
    info::InodeInfo,
    sys,
};
use core::{
    ops::Range,
    ptr::NonNull,
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::{
    bindings,
    error::to_result,
    ffi::{c_int, c_long, c_void},
    prelude::*,
    types::Opaque, //
};

/// A toyfs inode in memory: the VFS inode and toyfs's own state, in one
/// object of the inode cache ([`InodeCache`]), as ext2's
/// `ext2_inode_info`.
#[repr(C)]
struct ToyfsInode {
    /// Initialised once per slab object by the cache's constructor
    /// (`init_once`); the VFS gives it back in that state.
    vfs: Opaque<bindings::inode>,
    /// The inode's own dirty metadata buffers (its indirect blocks), which
    /// its `fsync` writes: ext2's `i_metadata_bhs`.  Set up by
    /// `alloc_inode`; emptied by `Inode::forget_own_buffers` before the
    /// inode is freed (after an RCU grace period, as `mmb_*` needs).
    own_buffers: Opaque<bindings::mapping_metadata_bhs>,
    /// Initialised by `alloc_inode`, dropped by `free_inode`.
    info: InodeInfo,
}

/// The slab cache of toyfs's inodes, as ext2's `ext2_inode_cachep`, in
/// [`INODE_CACHE`].  Its constructor initialises the VFS inode of each
/// object once (`inode_init_once`, which zeroes the whole `struct inode`),
/// and the VFS frees an inode in that state, so `alloc_inode` does not
/// zero it again (a `kmalloc` of each inode did, at every `iget`).
/// Destroyed on drop, once the RCU callbacks that free inodes have run.
///
/// # Invariants
///
/// While a value exists, [`INODE_CACHE`] holds a live cache of
/// `ToyfsInode` objects whose constructor is `init_once`; it is the only
/// value.
pub(crate) struct InodeCache(());

/// The cache of [`InodeCache`] (null without one).
static INODE_CACHE: AtomicPtr<bindings::kmem_cache> = AtomicPtr::new(core::ptr::null_mut());

impl InodeCache {
    /// Creates the cache; before the filesystem is registered (module
    /// init), once.
    pub(crate) fn create() -> Result<Self> {
        let mut args = bindings::kmem_cache_args {
            // CAST: the size and alignment of a struct of a few hundred bytes.
            align: core::mem::align_of::<ToyfsInode>() as u32,
            ctor: Some(init_once),
            ..Default::default()
        };
        // SAFETY: The name is static; `args` lives across the call.
        let cache = unsafe {
            bindings::__kmem_cache_create_args(
                c"toyfs_inode_cache".as_char_ptr(),
                core::mem::size_of::<ToyfsInode>() as u32,
                &mut args,
                sys::TOYFS_SLAB_INODE_CACHE,
            )
        };
        if cache.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: module init creates the one cache; `alloc_inode`
        // runs only once the filesystem is registered, after this store.
        INODE_CACHE.store(cache, Ordering::Release);
        Ok(Self(()))
    }
}

impl Drop for InodeCache {
    fn drop(&mut self) {
        // The VFS frees an evicted inode through `call_rcu` (`i_callback`,
        // which calls our `free_inode`): the last unmount may leave such
        // callbacks pending, and they must run before the cache (and the
        // module's code) goes, as ext2's `destroy_inodecache` waits.
        // SAFETY: Module exit runs in process context and may sleep.
        unsafe { bindings::rcu_barrier() };
        let cache = INODE_CACHE.swap(core::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: The cache is live (type invariant), the filesystem is
        // unregistered with no superblock left (each holds a module
        // reference), and every inode was freed (the barrier above).
        unsafe { bindings::kmem_cache_destroy(cache) };
    }
}

/// The constructor of [`InodeCache`]'s objects.
///
/// # Safety
///
/// `object` is a new object of the cache: memory for a `ToyfsInode`.
unsafe extern "C" fn init_once(object: *mut c_void) {
    let object = object.cast::<ToyfsInode>();
    // SAFETY: The caller's guarantee; `inode_init_once` initialises a
    // whole VFS inode from whatever the memory held.
    unsafe { bindings::inode_init_once(Opaque::cast_into(&raw const (*object).vfs)) };
}

/// Allocates a VFS inode of `sb` with toyfs's state next to it
/// (`alloc_inode`).
///
/// # Safety
///
/// `sb` is a live toyfs superblock, and an [`InodeCache`] exists.
pub(crate) unsafe fn alloc_inode(sb: *mut bindings::super_block) -> Result<*mut bindings::inode> {
    let cache = INODE_CACHE.load(Ordering::Acquire);
    // SAFETY: `cache` is live (the caller's guarantee), `sb` too.
    let object = unsafe { sys::toyfs_alloc_inode_sb(sb, cache, bindings::GFP_KERNEL) };
    let object = object.cast::<ToyfsInode>();
    if object.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `object` is the cache's, not seen by anyone else yet: its
    // VFS inode initialised by `init_once` (or given back so by the
    // VFS), its other fields uninitialised and written here; the list
    // names the inode's own mapping, which lives as long.
    unsafe {
        let vfs = Opaque::cast_into(&raw const (*object).vfs);
        sys::mmb_init(
            Opaque::cast_into(&raw const (*object).own_buffers),
            &raw mut (*vfs).i_data,
        );
        // Pinned: the object never moves until `free_inode`.
        pin_init::raw_init(&raw mut (*object).info, InodeInfo::new());
        Ok(vfs)
    }
}

/// The `ToyfsInode` holding VFS inode `inode`.
///
/// # Safety
///
/// `inode` was returned by `alloc_inode`.
unsafe fn container(inode: *mut bindings::inode) -> *mut ToyfsInode {
    // SAFETY: `vfs` is a field of `ToyfsInode` at this offset.
    unsafe {
        inode
            .cast::<u8>()
            .sub(core::mem::offset_of!(ToyfsInode, vfs))
            .cast()
    }
}

/// Frees an inode of `alloc_inode` (`free_inode`).
///
/// # Safety
///
/// `inode` was returned by `alloc_inode` and is no longer used; the VFS
/// gives it back as `inode_init_once` left it (as to every filesystem's
/// inode cache with a constructor).
pub(crate) unsafe fn free_inode(inode: *mut bindings::inode) {
    // SAFETY: The caller's guarantee: an object of the cache, whose
    // `info` `alloc_inode` initialised and nobody uses any more; the
    // cache outlives every inode (`InodeCache`'s drop waits for them).
    unsafe {
        let object = container(inode);
        core::ptr::drop_in_place(&raw mut (*object).info);
        bindings::kmem_cache_free(INODE_CACHE.load(Ordering::Acquire), object.cast());
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
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::inode) -> &'a Self {
        // SAFETY: `Inode` is a transparent wrapper; the caller's guarantee.
        unsafe { &*ptr.cast() }
    }

    /// The raw inode.
    pub(crate) fn as_ptr(&self) -> *mut bindings::inode {
        self.0.get()
    }

    /// toyfs's state of the inode.
    pub(crate) fn info(&self) -> &InodeInfo {
        // SAFETY: Every toyfs inode comes from `alloc_inode` (the type
        // invariant and `SUPER_OPS`), so it lives in a `ToyfsInode`.
        unsafe { &(*container(self.as_ptr())).info }
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

    /// Its generation (`i_generation`), set from the disk by `iget` and
    /// fixed for the inode's life.
    pub(crate) fn generation(&self) -> u32 {
        // SAFETY: `i_generation` does not change once the inode is set up.
        unsafe { (*self.as_ptr()).i_generation }
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

    /// Its file type (every loaded inode has one: `read_inode` refuses
    /// the others).
    pub(crate) fn file_type(&self) -> Option<FileType> {
        FileType::from_mode(self.mode())
    }

    /// Whether it is a FIFO, socket or device: no data, no block map.
    pub(crate) fn is_special(&self) -> bool {
        self.file_type().is_some_and(FileType::is_special)
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

    /// Whether the file may grow to `size` bytes (`inode_newsize_ok`: the
    /// largest file, and the caller's `RLIMIT_FSIZE`, which sends
    /// `SIGXFSZ`).
    pub(crate) fn check_new_size(&self, size: u64) -> Result {
        // SAFETY: The inode is live.
        // CAST: `vfs_fallocate` bounded the size by `s_maxbytes`.
        kernel::error::to_result(unsafe { bindings::inode_newsize_ok(self.as_ptr(), size as i64) })
    }

    /// Whether it is a bad inode: one whose `iget` failed (`iget_failed`
    /// makes it so), which names no file of ours.
    pub(crate) fn is_bad(&self) -> bool {
        // SAFETY: The inode is live.
        unsafe { bindings::is_bad_inode(self.as_ptr()) }
    }

    /// Its link count.
    pub(crate) fn nlink(&self) -> u32 {
        // SAFETY: The inode is live.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.i_nlink }
    }

    /// Sets its allocated blocks (`i_blocks`, in 512-byte units, rounded
    /// up) from the on-disk count in units of `F` bytes (fragments, which
    /// are blocks without the FRAGMENTS feature).
    pub(crate) fn set_blocks(&self, blocks: u32, fragment_size: u32) {
        let sectors = (u64::from(blocks) * u64::from(fragment_size)).div_ceil(512);
        // SAFETY: The inode is live; callers hold its map lock, or set
        // up a new inode nobody else sees, which serialises the writers
        // (`stat` reads the count without a lock, as ext2's).
        unsafe { (*self.as_ptr()).i_blocks = sectors };
    }

    /// Marks the inode dirty so that `write_inode` saves it.
    pub(crate) fn mark_dirty(&self) {
        // SAFETY: The inode is live.
        unsafe { sys::toyfs_mark_inode_dirty(self.as_ptr()) };
    }

    /// Marks the inode itself dirty (`I_DIRTY_SYNC`, as
    /// `mark_inode_dirty_sync`), so that a later writeback calls
    /// `write_inode` again: for a `write_inode` that could not write what
    /// it had to (`inode::write_inode`).  From inside `write_inode` the
    /// flusher, which holds the inode (`I_SYNC`), requeues it when done
    /// (`requeue_inode`: `redirty_tail`; a `WB_SYNC_ALL` pass dates it
    /// now, so that the pass does not take it again).
    pub(crate) fn mark_dirty_sync(&self) {
        // CAST: the flag, a bit of `inode_state_flags_enum`, fits an int.
        let flag = bindings::inode_state_flags_enum_I_DIRTY_SYNC as c_int;
        // SAFETY: The inode is live.
        unsafe { bindings::__mark_inode_dirty(self.as_ptr(), flag) };
    }

    /// The list of the inode's own metadata buffers
    /// ([`super::Buffer::mark_dirty_for`]).
    pub(super) fn own_buffers(&self) -> *mut bindings::mapping_metadata_bhs {
        // SAFETY: Every toyfs inode lives in a `ToyfsInode` (as in `info`).
        unsafe { (*container(self.as_ptr())).own_buffers.get() }
    }

    /// Writes the inode's own dirty metadata buffers and waits
    /// (`mmb_sync`); `EIO` if one of them could not be written.  Under
    /// the filesystem's `buffer_lists` lock (`SbInfo::buffer_lists`): a
    /// buffer on the list may be marked dirty for another inode
    /// meanwhile.
    pub(crate) fn sync_own_buffers(&self) -> Result {
        let _lists = self.sb().info().buffer_lists.lock();
        // SAFETY: The list was set up by `alloc_inode`.
        to_result(unsafe { sys::mmb_sync(self.own_buffers()) })
    }

    /// Takes every buffer off the inode's list of its own metadata
    /// buffers (`mmb_invalidate`), which stay dirty in the device's cache:
    /// for `evict_inode`, before the inode is freed.
    pub(crate) fn forget_own_buffers(&self) {
        // SAFETY: The list was set up by `alloc_inode`.
        unsafe { sys::mmb_invalidate(self.own_buffers()) };
    }

    /// Sets mtime and ctime to now (a change of contents or entries).
    pub(crate) fn touch_mtime_ctime(&self) {
        // SAFETY: The inode is live.
        unsafe {
            let now = bindings::inode_set_ctime_current(self.as_ptr());
            sys::toyfs_inode_set_mtime_to_ts(self.as_ptr(), now);
        }
    }

    /// Writes the file's dirty folios and waits for them
    /// (`filemap_write_and_wait_range` over the whole file).
    pub(crate) fn write_and_wait(&self) -> Result {
        // SAFETY: The inode is live, its mapping too.
        kernel::error::to_result(unsafe {
            bindings::filemap_write_and_wait_range((*self.as_ptr()).i_mapping, 0, i64::MAX)
        })
    }

    /// Writes the file's dirty folios over `bytes` and waits for every
    /// folio of it under writeback (`filemap_fdatawrite_range`, then
    /// `filemap_fdatawait_range_keep_errors`).  The mapping's error state
    /// (`AS_EIO`, `AS_ENOSPC`: a failed write of any range of the file)
    /// is neither returned nor cleared: the file's `fsync` reports it
    /// (`file_check_and_advance_wb_err`), and the caller judges the
    /// bytes' own writes (`InodeInfo::failed`).  An error of the
    /// submission (`writepages`) is returned.  Nothing for an empty
    /// range.  With no folio of the file locked.
    pub(crate) fn write_and_wait_range(&self, bytes: Range<u64>) -> Result {
        if bytes.is_empty() {
            return Ok(());
        }
        // CAST: offsets below `s_maxbytes`, which fits an `loff_t`.
        let (start, end) = (bytes.start as i64, bytes.end as i64 - 1);
        // SAFETY: The inode is live, its mapping too.
        let mapping = unsafe { (*self.as_ptr()).i_mapping };
        // SAFETY: As above.
        to_result(unsafe { bindings::filemap_fdatawrite_range(mapping, start, end) })?;
        // Only the waiting: what it returns is the mapping's state, of
        // every range (see above).
        // SAFETY: As above.
        let _ = unsafe { bindings::filemap_fdatawait_range_keep_errors(mapping, start, end) };
        Ok(())
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

    /// Sets the link count (`set_nlink`): the one link an `O_TMPFILE`
    /// inode, claimed with none, has until `d_tmpfile` drops it.
    pub(crate) fn set_links(&self, nlink: u32) {
        // SAFETY: The inode is live; callers hold the inode lock or own a
        // new inode nobody else sees.
        unsafe { bindings::set_nlink(self.as_ptr(), nlink) };
    }

    /// Whether the VFS lets a link be made to it with no link left
    /// (`I_LINKABLE`: an `O_TMPFILE` file opened without `O_EXCL`, which
    /// `vfs_link` checks before it calls `link`).
    pub(crate) fn is_linkable(&self) -> bool {
        // SAFETY: The inode is live.
        let state = unsafe { sys::toyfs_inode_state_read_once(self.as_ptr()) };
        state & bindings::inode_state_flags_enum_I_LINKABLE != 0
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

    /// Stores the VFS attributes in `disk`, leaving its block map and
    /// blocks count (which the allocator keeps on disk) as they are.
    pub(crate) fn store_attrs(&self, disk: &mut DiskInode) {
        let inode = self.as_ptr();
        let ts = |t: bindings::timespec64| Timestamp {
            sec: t.tv_sec,
            // CAST: nanoseconds are below a billion.
            nsec: t.tv_nsec as u32,
        };
        // SAFETY: The inode is live; the fields are read as `stat` does.
        unsafe {
            disk.mode = (*inode).i_mode;
            // CAST: toyfs never links more than `u16::MAX`.
            disk.nlink = (*inode).__bindgen_anon_1.i_nlink as u16;
            disk.uid = sys::toyfs_i_uid_read(inode);
            disk.gid = sys::toyfs_i_gid_read(inode);
            disk.atime = ts(sys::toyfs_inode_get_atime(inode));
            disk.mtime = ts(sys::toyfs_inode_get_mtime(inode));
            disk.ctime = ts(sys::toyfs_inode_get_ctime(inode));
        }
        disk.size = self.size();
    }

    /// The vm_mvc sid of a regular file, created by [`NewInode::set_up`];
    /// any other inode has none, and every call with it fails (`EBADF`).
    pub(crate) fn sid(&self) -> crate::vm_mvc_client::Sid {
        // SAFETY: `i_private` is set before the inode is unlocked and only
        // read afterwards.
        let raw = unsafe { (*self.as_ptr()).i_private };
        crate::vm_mvc_client::Sid::from_raw(raw as c_long)
    }
}

/// Who a new inode belongs to, by the rules of `inode_init_owner`: the
/// caller's fsuid and fsgid through the idmap of the mount the VFS call
/// came through, but the group of a set-group-ID directory `dir` (and, for
/// a new directory, that bit).  Given to the inode before its slot of the
/// inode table is stored for an entry to name it (`namei::new_inode`).
///
/// # Invariants
///
/// `idmap` is the idmap the VFS passed to the call that makes the inode,
/// live for `'a`.
pub(crate) struct NewOwner<'a> {
    idmap: *mut bindings::mnt_idmap,
    dir: &'a Inode,
}

impl<'a> NewOwner<'a> {
    /// # Safety
    ///
    /// `idmap` is the idmap the VFS passed to its `create`, `mkdir`,
    /// `mknod`, `symlink` or `tmpfile` call in `dir`, live for `'a`.
    pub(crate) unsafe fn new(idmap: *mut bindings::mnt_idmap, dir: &'a Inode) -> Self {
        // INVARIANT: the caller's guarantee.
        Self { idmap, dir }
    }

    /// Gives `inode`, new and named by no entry yet, its owner and group,
    /// and its mode as `inode_init_owner` makes it of the mode it was
    /// claimed with.
    pub(crate) fn give_to(&self, inode: &Inode) {
        // SAFETY: The idmap is live (type invariant), both inodes too;
        // the new inode's owner, group and mode are written by no one
        // else before an entry names it.
        unsafe {
            let raw = inode.as_ptr();
            bindings::inode_init_owner(self.idmap, raw, self.dir.as_ptr(), (*raw).i_mode);
        }
    }
}

/// An inode's `i_rwsem`, held; released on drop.
pub(crate) struct InodeGuard<'a> {
    inode: &'a Inode,
    shared: bool,
}

impl Inode {
    /// Takes the inode's `i_rwsem` exclusively (`inode_lock`), as a write
    /// holds it.
    pub(crate) fn lock(&self) -> InodeGuard<'_> {
        // SAFETY: The inode is live.
        unsafe { sys::toyfs_inode_lock(self.as_ptr()) };
        InodeGuard {
            inode: self,
            shared: false,
        }
    }

    /// Takes the inode's `i_rwsem` shared (`inode_lock_shared`): no
    /// write, truncation, hole punched or flag changed meanwhile.
    pub(crate) fn lock_shared(&self) -> InodeGuard<'_> {
        // SAFETY: The inode is live.
        unsafe { sys::toyfs_inode_lock_shared(self.as_ptr()) };
        InodeGuard {
            inode: self,
            shared: true,
        }
    }
}

impl Drop for InodeGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: Taken by `Inode::lock*` in the same mode.
        unsafe {
            if self.shared {
                sys::toyfs_inode_unlock_shared(self.inode.as_ptr());
            } else {
                sys::toyfs_inode_unlock(self.inode.as_ptr());
            }
        }
    }
}

/// The `invalidate_lock` of an inode's mapping, held; released on drop.
pub(crate) struct InvalidateGuard<'a> {
    inode: &'a Inode,
    shared: bool,
}

impl Inode {
    /// Takes the mapping's `invalidate_lock` exclusively: no folio of the
    /// file is instantiated, nor mapped writable, meanwhile.
    pub(crate) fn lock_invalidate(&self) -> InvalidateGuard<'_> {
        // SAFETY: The inode and its mapping are live.
        unsafe { sys::toyfs_filemap_invalidate_lock((*self.as_ptr()).i_mapping) };
        InvalidateGuard {
            inode: self,
            shared: false,
        }
    }

    /// Takes the mapping's `invalidate_lock` shared (page faults).
    pub(crate) fn lock_invalidate_shared(&self) -> InvalidateGuard<'_> {
        // SAFETY: The inode and its mapping are live.
        unsafe { sys::toyfs_filemap_invalidate_lock_shared((*self.as_ptr()).i_mapping) };
        InvalidateGuard {
            inode: self,
            shared: true,
        }
    }
}

impl InvalidateGuard<'_> {
    /// Leaves the lock of this guard, taken exclusive
    /// ([`Inode::lock_invalidate`]), held past it, for the same task to
    /// release later through [`Inode::resume_invalidate`]: `write_begin`
    /// holds it until `write_end`.
    pub(crate) fn keep(self) {
        core::mem::forget(self);
    }
}

impl Inode {
    /// The guard of the `invalidate_lock` that this task holds exclusive,
    /// left held by [`InvalidateGuard::keep`]; dropping it releases the
    /// lock.
    ///
    /// # Safety
    ///
    /// The current task holds the mapping's `invalidate_lock` exclusive,
    /// kept by [`InvalidateGuard::keep`], and nothing else releases it.
    pub(crate) unsafe fn resume_invalidate(&self) -> InvalidateGuard<'_> {
        // INVARIANT: the caller's guarantee.
        InvalidateGuard {
            inode: self,
            shared: false,
        }
    }
}

impl Drop for InvalidateGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: Taken by `lock_invalidate*` in the same mode.
        unsafe {
            let mapping = (*self.inode.as_ptr()).i_mapping;
            if self.shared {
                sys::toyfs_filemap_invalidate_unlock_shared(mapping);
            } else {
                sys::toyfs_filemap_invalidate_unlock(mapping);
            }
        }
    }
}

/// The largest folio order the page cache may use for a file of blocks
/// of `block_size` bytes: as many blocks as a folio's state can track
/// (`MAX_FOLIO_BLOCKS`); the page cache lowers it to its own limit.
fn max_folio_order(block_size: u32) -> u32 {
    let bytes = MAX_FOLIO_BLOCKS * block_size as usize;
    (bytes / bindings::PAGE_SIZE).max(1).ilog2()
}

/// The operation tables of one kind of inode.
pub(crate) struct InodeOps {
    /// `i_op`.
    pub(crate) inode: &'static bindings::inode_operations,
    /// `i_fop`; `None` for a FIFO, socket or device, whose file
    /// operations `init_special_inode` chooses.
    pub(crate) file: Option<&'static bindings::file_operations>,
    /// `i_mapping->a_ops`, for inodes whose data is in the page cache.
    pub(crate) mapping: Option<&'static bindings::address_space_operations>,
}

/// A new VFS inode from `iget_locked`, locked (`I_NEW`), to fill from
/// the disk; dropped unfilled, it is given back with `iget_failed`.
///
/// # Invariants
///
/// The pointer is a new, locked toyfs inode on which this value holds a
/// reference.
pub(crate) struct NewInode(NonNull<bindings::inode>);

impl NewInode {
    /// # Safety
    ///
    /// `inode` satisfies the type invariants; the reference is handed over.
    pub(crate) unsafe fn from_raw(inode: NonNull<bindings::inode>) -> Self {
        // INVARIANT: the caller's guarantee.
        Self(inode)
    }

    /// toyfs's state of the new inode, to fill before `set_up`.
    pub(crate) fn info(&self) -> &InodeInfo {
        // SAFETY: The inode came from `alloc_inode` (type invariant).
        unsafe { &(*container(self.0.as_ptr())).info }
    }

    /// Fills the inode from its on-disk fields, gives it `ops`, and
    /// unlocks it for everyone (`unlock_new_inode`).  `block_size` and
    /// `fragment_size` are the filesystem's `B` and `F`.  An inode whose data
    /// is in the page cache gets its vm_mvc sid, kept in `i_private` and
    /// deleted by `evict_inode`; `ENOMEM` (or `ENOSPC`) without one.
    pub(crate) fn set_up(
        self,
        disk: &DiskInode,
        ops: &InodeOps,
        block_size: u32,
        fragment_size: u32,
    ) -> Result<InodeRef> {
        let inode = self.0.as_ptr();
        let ts = |t: Timestamp| bindings::timespec64 {
            tv_sec: t.sec,
            tv_nsec: t.nsec as isize,
        };
        // SAFETY: The inode is new and locked (I_NEW): nobody else sees it.
        unsafe {
            (*inode).i_mode = disk.mode;
            // What file handles carry (`generic_encode_ino32_fh`) and
            // `ops::export` compares: 0 without the GENERATIONS feature.
            (*inode).i_generation = disk.generation.into();
            bindings::set_nlink(inode, disk.nlink.into());
            sys::toyfs_i_uid_write(inode, disk.uid);
            sys::toyfs_i_gid_write(inode, disk.gid);
            // CAST: `reader_problem` bounded the size by the largest file.
            sys::toyfs_i_size_write(inode, disk.size as i64);
            sys::toyfs_inode_set_atime_to_ts(inode, ts(disk.atime));
            sys::toyfs_inode_set_mtime_to_ts(inode, ts(disk.mtime));
            bindings::inode_set_ctime_to_ts(inode, ts(disk.ctime));
            (*inode).i_op = ops.inode;
            match ops.file {
                Some(file) => (*inode).__bindgen_anon_3.i_fop = file,
                // Sets `i_fop` and `i_rdev` (0 for a FIFO or socket).
                None => bindings::init_special_inode(
                    inode,
                    disk.mode,
                    sys::toyfs_new_decode_dev(disk.rdev()),
                ),
            }
            if disk.file_type() == Some(FileType::Symlink) {
                // `page_get_link` maps the target's folio with
                // `folio_address`: it must not be in high memory.
                bindings::inode_nohighmem(inode);
            }
            if let Some(mapping) = ops.mapping {
                (*(*inode).i_mapping).a_ops = mapping;
                // Large folios need THP (not on User-Mode Linux).
                if cfg!(CONFIG_TRANSPARENT_HUGEPAGE) {
                    let order = max_folio_order(block_size);
                    sys::toyfs_mapping_set_folio_order_range((*inode).i_mapping, 0, order);
                }
            }
        }
        if ops.mapping.is_some() {
            // SAFETY: The inode is alive; `evict_inode` deletes the sid
            // before it truncates the page cache.
            let sid = unsafe { crate::vm_mvc_client::Sid::create(inode) }?;
            // SAFETY: The inode is new and locked; toyfs keeps nothing
            // else in `i_private`.
            unsafe { (*inode).i_private = sid.raw() as *mut c_void };
        }
        let raw = self.0;
        core::mem::forget(self);
        // SAFETY: The reference moves from `self` to the result.
        let set_up = unsafe { InodeRef::from_raw(raw) };
        set_up.set_blocks(disk.blocks, fragment_size);
        // SAFETY: The inode is new and set up.
        unsafe { bindings::unlock_new_inode(raw.as_ptr()) };
        Ok(set_up)
    }
}

impl Drop for NewInode {
    fn drop(&mut self) {
        // SAFETY: The inode is new and locked; `iget_failed` drops our
        // reference (type invariant).
        unsafe { bindings::iget_failed(self.0.as_ptr()) };
    }
}

/// A reference to an inode, dropped with `iput`.
///
/// # Invariants
///
/// The pointer is a live toyfs inode on which this value holds a reference.
pub(crate) struct InodeRef(NonNull<bindings::inode>);

impl InodeRef {
    /// # Safety
    ///
    /// `inode` is a live toyfs inode; the caller hands its reference over.
    pub(crate) unsafe fn from_raw(inode: NonNull<bindings::inode>) -> Self {
        // INVARIANT: the caller's guarantee.
        Self(inode)
    }

    /// Gives the reference away to a VFS call that consumes it.
    pub(crate) fn into_raw(self) -> *mut bindings::inode {
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
