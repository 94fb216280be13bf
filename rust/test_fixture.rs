// SPDX-License-Identifier: GPL-2.0

//! Files, sids and user memory for the KUnit suites.
//!
//! Test files live on a private ramfs mount: ramfs is the plain page cache
//! (`simple_write_begin`, `noop_dirty_folio`, pages never evicted), so a
//! folio found, created, dirtied or cleaned by a test stays as the test
//! left it, and `vm_mvc_makep`'s `FGP_CREAT` is how ramfs itself creates
//! folios.  The mount's `evict_inode` deletes the sid a test keeps in
//! `i_private`, as a filesystem using vm_mvc does.
//! User memory comes from a user address space attached to the test thread
//! (`kunit_attach_mm`, as `kunit_vm_mmap` does).

use crate::{
    folio::{Folio, FolioGuard},
    mapping::{HeldInode, Mapping},
    sid, sys,
    xmem::{Access, AttachFlags, Attachment},
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    ffi::c_void,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
    },
    uaccess::{UserPtr, UserSlice}, //
};

/// The `evict_inode` of the test mounts: deletes the sid kept in
/// `i_private` (if any) before the page cache goes, as the rule for
/// filesystems says, then does what `evict` does without one.
///
/// # Safety
///
/// Called only by the VFS, for an inode being evicted.
unsafe extern "C" fn evict_deleting_sid(inode: *mut bindings::inode) {
    // SAFETY: The VFS evicts a live inode; nobody else uses it now.
    let sid = unsafe { (*inode).i_private } as isize;
    if sid != 0 {
        // A test may have deleted it already: then `EBADF`.
        let _ = sid::delete(sid);
    }
    // SAFETY: As above: what `evict` does for a filesystem without
    // `evict_inode`.
    unsafe {
        bindings::truncate_inode_pages_final(&mut (*inode).i_data);
        bindings::clear_inode(inode);
    }
}

/// ramfs's super operations plus [`evict_deleting_sid`].
static EVICTING_OPS: bindings::super_operations = bindings::super_operations {
    statfs: Some(bindings::simple_statfs),
    drop_inode: Some(bindings::inode_just_drop),
    evict_inode: Some(evict_deleting_sid),
    ..pin_init::zeroed()
};

/// The super blocks of live test mounts, whose `s_op` is
/// [`EVICTING_OPS`], and ramfs's own operations (the same for every ramfs
/// mount).  A test that fails an assertion ends its kthread at once,
/// without dropping its mount; module exit ([`restore_leaked_mounts`])
/// gives those mounts ramfs's operations back, which do not live in this
/// module.
static EVICTING_SBS: [Atomic<usize>; 64] = [const { Atomic::new(0) }; 64];
static RAMFS_OPS: Atomic<usize> = Atomic::new(0);

/// Gives every test mount still alive ramfs's operations back; called from
/// module exit, when no test runs.
pub(crate) fn restore_leaked_mounts() {
    let ramfs_ops = RAMFS_OPS.load(Relaxed) as *const bindings::super_operations;
    for slot in EVICTING_SBS.iter() {
        let sb = slot.xchg(0, Relaxed) as *mut bindings::super_block;
        if !sb.is_null() {
            // SAFETY: A mount still registered was leaked by a failed test,
            // so it and its super block are alive forever.
            unsafe { (*sb).s_op = ramfs_ops };
        }
    }
}

/// A private ramfs mount, unmounted on drop.
///
/// # Invariants
///
/// `mnt` is a mount made by `kern_mount` that this instance owns, and
/// `ramfs_ops` the super operations it had before [`EVICTING_OPS`].
pub(crate) struct RamFs {
    mnt: NonNull<bindings::vfsmount>,
    ramfs_ops: *const bindings::super_operations,
}

impl RamFs {
    /// Mounts a new ramfs instance whose `evict_inode` deletes the sid a
    /// test keeps in `i_private`.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: The name is a NUL-terminated string; ramfs is built in,
        // so the reference `get_fs_type` takes is on no module.
        let fs_type = unsafe { sys::get_fs_type(c"ramfs".as_char_ptr()) };
        if fs_type.is_null() {
            return Err(ENODEV);
        }
        // SAFETY: `fs_type` is a registered filesystem type.
        let mnt = kernel::error::from_err_ptr(unsafe { sys::kern_mount(fs_type) })?;
        let mnt = NonNull::new(mnt).ok_or(ENOMEM)?;
        // SAFETY: The mount is alive.
        let sb = unsafe { (*mnt.as_ptr()).mnt_sb };
        let registered = EVICTING_SBS
            .iter()
            .any(|slot| slot.cmpxchg(0, sb as usize, Relaxed).is_ok());
        if !registered {
            // SAFETY: The mount is ours and unused.
            unsafe { sys::kern_unmount(mnt.as_ptr()) };
            return Err(EBUSY);
        }
        // SAFETY: The mount is alive.
        let s_op = unsafe { &raw mut (*sb).s_op };
        // SAFETY: The mount is new and private: no inode but the root's
        // exists, and nothing but `sync` (which reads `s_op` once) looks at
        // the super block; the operations are ramfs's plus an `evict_inode`
        // that ends as `evict` would.
        let ramfs_ops = unsafe { s_op.replace(&EVICTING_OPS) };
        RAMFS_OPS.store(ramfs_ops as usize, Relaxed);
        // INVARIANT: `kern_mount` returned a mount, now ours.
        Ok(Self { mnt, ramfs_ops })
    }

    /// Creates and opens `name` for reading and writing.
    pub(crate) fn create(&self, name: &CStr) -> Result<TestFile> {
        // CAST: open flags are small constants.
        self.open((sys::O_RDWR | sys::O_CREAT | sys::O_EXCL) as i32, name)
    }

    /// Creates and opens an unnamed file (`O_TMPFILE`), evicted when the
    /// returned file is dropped.
    pub(crate) fn tmpfile(&self) -> Result<TestFile> {
        // CAST: open flags are small constants.
        self.open((sys::O_RDWR | sys::O_TMPFILE) as i32, c".")
    }

    /// Opens `name` in the root with `flags`, mode 0600.
    fn open(&self, flags: i32, name: &CStr) -> Result<TestFile> {
        let root = bindings::path {
            mnt: self.mnt.as_ptr(),
            // SAFETY: The mount is alive (type invariant).
            dentry: unsafe { (*self.mnt.as_ptr()).mnt_root },
        };
        // SAFETY: `root` names the mount's root; `name` is NUL-terminated.
        let file = unsafe { sys::file_open_root(&root, name.as_char_ptr(), flags, 0o600) };
        let file = kernel::error::from_err_ptr(file)?;
        // INVARIANT: `file_open_root` returned an open file, now ours.
        Ok(TestFile {
            file: NonNull::new(file).ok_or(ENOMEM)?,
        })
    }
}

impl Drop for RamFs {
    fn drop(&mut self) {
        // The super block dies after the unmount, in a work item when the
        // caller is a kthread (`mntput`): give it ramfs's operations back,
        // which do not live in this module, before it may be unloaded.
        // The test files are gone, and their sids with them.
        //
        // SAFETY: The mount is ours and alive (type invariant).
        let sb = unsafe { (*self.mnt.as_ptr()).mnt_sb };
        // SAFETY: As above.
        unsafe { (*sb).s_op = self.ramfs_ops };
        for slot in EVICTING_SBS.iter() {
            let _ = slot.cmpxchg(sb as usize, 0, Relaxed);
        }
        // SAFETY: The mount is ours (type invariant); open files keep the
        // super block alive until they are released.
        unsafe { sys::kern_unmount(self.mnt.as_ptr()) };
    }
}

/// A private tmpfs mount with `huge=always`: its files get PMD-size
/// folios where the kernel has transparent huge pages and can allocate
/// them.
#[cfg(CONFIG_TRANSPARENT_HUGEPAGE)]
pub(crate) struct HugeTmpfs {
    mnt: NonNull<bindings::vfsmount>,
}

#[cfg(CONFIG_TRANSPARENT_HUGEPAGE)]
impl HugeTmpfs {
    /// Mounts it (`vfs_kern_mount` with the option string, as a driver's
    /// private huge tmpfs is mounted).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: The name is a NUL-terminated string; tmpfs is built in.
        let fs_type = unsafe { sys::get_fs_type(c"tmpfs".as_char_ptr()) };
        if fs_type.is_null() {
            return Err(ENODEV);
        }
        let mut options = *b"huge=always\0";
        // SAFETY: `fs_type` is registered; both strings are NUL-terminated
        // and the options are writable, as `parse_monolithic_mount_data`
        // may cut them up.  CAST: a small flag.
        let mnt = unsafe {
            bindings::vfs_kern_mount(
                fs_type,
                sys::VM_MVC_SB_KERNMOUNT as i32,
                c"tmpfs".as_char_ptr(),
                options.as_mut_ptr().cast(),
            )
        };
        let mnt = kernel::error::from_err_ptr(mnt)?;
        // INVARIANT: `vfs_kern_mount` returned a mount, now ours.
        Ok(Self {
            mnt: NonNull::new(mnt).ok_or(ENOMEM)?,
        })
    }

    /// A new unlinked file of `pages` pages on the mount
    /// (`shmem_file_setup_with_mnt`).
    pub(crate) fn file(&self, pages: usize) -> Result<TestFile> {
        // CAST: test sizes are small.
        let size = (pages * PAGE_SIZE) as bindings::loff_t;
        // SAFETY: The mount is alive (type invariant); the name is a
        // NUL-terminated string.
        let file = unsafe {
            sys::shmem_file_setup_with_mnt(
                self.mnt.as_ptr(),
                c"vm_mvc_thp".as_char_ptr(),
                size,
                Default::default(),
            )
        };
        let file = kernel::error::from_err_ptr(file)?;
        // INVARIANT: an open file, now ours.
        Ok(TestFile {
            file: NonNull::new(file).ok_or(ENOMEM)?,
        })
    }
}

#[cfg(CONFIG_TRANSPARENT_HUGEPAGE)]
impl Drop for HugeTmpfs {
    fn drop(&mut self) {
        // SAFETY: The mount is ours (type invariant); open files keep the
        // super block alive until they are released.
        unsafe { bindings::mntput(self.mnt.as_ptr()) };
    }
}

/// An open test file, released on drop.
///
/// # Invariants
///
/// `file` is an open file this instance holds a reference on.
pub(crate) struct TestFile {
    file: NonNull<bindings::file>,
}

// SAFETY: A `struct file` may be used from any thread; the race test
// truncates from a second one.
unsafe impl Send for TestFile {}
// SAFETY: See `Send`; the methods go through the VFS, which locks.
unsafe impl Sync for TestFile {}

impl TestFile {
    /// A new shmem file of `pages` pages (`shmem_file_setup`, as a C driver
    /// gets one): a page cache with no `page_mkwrite`.
    pub(crate) fn shmem(pages: usize) -> Result<Self> {
        // CAST: test sizes are small.
        let size = (pages * PAGE_SIZE) as bindings::loff_t;
        // SAFETY: The name is a NUL-terminated string.
        let file = unsafe {
            sys::shmem_file_setup(c"vm_mvc_test".as_char_ptr(), size, Default::default())
        };
        let file = kernel::error::from_err_ptr(file)?;
        // INVARIANT: `shmem_file_setup` returned an open file, now ours.
        Ok(Self {
            file: NonNull::new(file).ok_or(ENOMEM)?,
        })
    }

    /// The raw file pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::file {
        self.file.as_ptr()
    }

    /// The file's inode.
    pub(crate) fn inode(&self) -> NonNull<bindings::inode> {
        // SAFETY: The file is open (type invariant); `f_inode` is fixed.
        let inode = unsafe { (*self.as_ptr()).f_inode };
        // SAFETY: An open file always has an inode.
        unsafe { NonNull::new_unchecked(inode) }
    }

    /// The file's inode, kept from eviction by the open file.
    pub(crate) fn held_inode(&self) -> HeldInode<'_> {
        // SAFETY: The open file holds a reference on its inode for as long
        // as `self` is borrowed: the inode is alive and not evicted.
        unsafe { HeldInode::from_raw(self.inode()) }
    }

    /// The file's page cache.
    pub(crate) fn mapping(&self) -> *mut bindings::address_space {
        // SAFETY: The inode is alive while the file is open.
        unsafe { (*self.inode().as_ptr()).i_mapping }
    }

    /// The file's page cache, for lookups.
    pub(crate) fn page_cache(&self) -> Mapping<'_> {
        // SAFETY: The open file keeps the inode, and so its page cache,
        // alive for the borrow; an open regular file has a page cache.
        unsafe { Mapping::from_raw(NonNull::new_unchecked(self.mapping())) }
    }

    /// Lets the page cache use large folios for this (still empty) file.
    pub(crate) fn enable_large_folios(&self) {
        // SAFETY: The mapping is alive; no folio has been added yet, as
        // `mapping_set_large_folios` requires.
        unsafe { sys::vm_mvc_mapping_set_large_folios(self.mapping()) };
    }

    /// Makes the file's page cache inaccessible (`mapping_set_inaccessible`,
    /// as guest_memfd does when it creates a file) until the guard drops,
    /// which clears `AS_INACCESSIBLE` and the `AS_UNEVICTABLE` that comes
    /// with it.
    pub(crate) fn inaccessible(&self) -> Inaccessible<'_> {
        // SAFETY: The mapping is alive while the file is open; setting the
        // two flags is a pair of atomic bit operations.
        unsafe { sys::vm_mvc_mapping_set_inaccessible(self.mapping()) };
        Inaccessible { file: self }
    }

    /// Puts one folio of `1 << order` pages at index 0 of the (empty) file,
    /// filled by `fill(byte_index)` and uptodate, and sets the file size to
    /// its end: a large folio as `__filemap_get_folio` would create it with
    /// `fgf_set_order`, which ramfs's `simple_write_begin` does not ask for.
    pub(crate) fn insert_large_folio(&self, order: u32, fill: impl Fn(usize) -> u8) -> Result {
        self.enable_large_folios();
        self.truncate(PAGE_SIZE << order)?;
        // SAFETY: Allocating a folio has no preconditions.
        let folio = unsafe { sys::vm_mvc_folio_alloc(bindings::GFP_KERNEL, order) };
        let folio = NonNull::new(folio).ok_or(ENOMEM)?;
        // SAFETY: The allocation reference moves in.
        let folio = unsafe { ARef::from_raw(folio.cast::<Folio>()) };
        // SAFETY: The folio is new and not in any mapping; on success
        // `filemap_add_folio` returns it locked and in the page cache.
        let ret = unsafe {
            bindings::filemap_add_folio(self.mapping(), folio.as_ptr(), 0, bindings::GFP_KERNEL)
        };
        kernel::error::to_result(ret)?;
        // SAFETY: `filemap_add_folio` locked the folio; the lock is ours,
        // and a second reference (the page cache holds its own) goes with it.
        let locked = unsafe { FolioGuard::from_raw_locked(ARef::into_raw(folio).cast()) };
        locked.for_each_piece(0, locked.size(), |piece, done| {
            for i in 0..piece.len() {
                // SAFETY: the piece is mapped for `piece.len()` bytes.
                unsafe { piece.addr().add(i).write_volatile(fill(done + i)) };
            }
            Ok(())
        })?;
        locked.flush_dcache();
        // SAFETY: Every byte of the locked folio was just written.
        unsafe { sys::vm_mvc_folio_mark_uptodate(locked.as_ptr()) };
        locked.mark_dirty();
        Ok(())
    }

    /// Checks the result of a `kernel_write` or `kernel_read` of `len` bytes.
    fn transferred(n: isize, len: usize) -> Result {
        if n < 0 {
            // CAST: a negative errno.
            return Err(Error::from_errno(n as i32));
        }
        if n.unsigned_abs() != len {
            return Err(EIO);
        }
        Ok(())
    }

    /// Writes `data` at byte `pos` through the filesystem (`kernel_write`).
    pub(crate) fn write(&self, pos: usize, data: &[u8]) -> Result {
        // CAST: test offsets are small.
        let mut pos = pos as bindings::loff_t;
        let (ptr, len) = (data.as_ptr().cast(), data.len());
        // SAFETY: The file is open for writing; `data` is readable.
        let n = unsafe { bindings::kernel_write(self.as_ptr(), ptr, len, &mut pos) };
        Self::transferred(n, len)
    }

    /// Reads `buf.len()` bytes at byte `pos` through the filesystem
    /// (`kernel_read`), an oracle independent of vm_mvc's folio code.
    pub(crate) fn read(&self, pos: usize, buf: &mut [u8]) -> Result {
        // CAST: test offsets are small.
        let mut pos = pos as bindings::loff_t;
        let (ptr, len) = (buf.as_mut_ptr().cast(), buf.len());
        // SAFETY: The file is open for reading; `buf` is writable.
        let n = unsafe { bindings::kernel_read(self.as_ptr(), ptr, len, &mut pos) };
        Self::transferred(n, len)
    }

    /// Sets the file size, dropping the page cache past it (`vfs_truncate`).
    pub(crate) fn truncate(&self, len: usize) -> Result {
        // SAFETY: The file is open, so `f_path` is valid.
        let ret = unsafe {
            bindings::vfs_truncate(
                &(*self.as_ptr()).__bindgen_anon_1.f_path,
                len as bindings::loff_t,
            )
        };
        kernel::error::to_result(ret)
    }

    /// Writes `pages` pages filled by `fill(byte_index)` from page 0 on.
    pub(crate) fn fill_pages(&self, pages: usize, fill: impl Fn(usize) -> u8) -> Result {
        let mut data = KVec::with_capacity(PAGE_SIZE, GFP_KERNEL)?;
        for page in 0..pages {
            data.clear();
            for i in 0..PAGE_SIZE {
                data.push(fill(page * PAGE_SIZE + i), GFP_KERNEL)?;
            }
            self.write(page * PAGE_SIZE, &data)?;
        }
        Ok(())
    }

    /// The folio holding page `index`, if cached; never creates one.
    pub(crate) fn folio(&self, index: usize) -> Option<ARef<Folio>> {
        self.page_cache().find_folio(index).ok()
    }

    /// Reads `buf.len()` bytes of page `index` at `offset` straight from
    /// the page cache, for folios that are not uptodate (which a read
    /// through the filesystem would fill first).
    pub(crate) fn peek(&self, index: usize, offset: usize, buf: &mut [u8]) -> Result {
        let folio = Folio::lock(self.page_cache().find_folio(index)?);
        let start = (index - folio.index()) * PAGE_SIZE + offset;
        folio.for_each_piece(start, buf.len(), |piece, done| {
            for (i, byte) in buf[done..done + piece.len()].iter_mut().enumerate() {
                // SAFETY: the piece is mapped for `piece.len()` bytes.
                *byte = unsafe { piece.addr().add(i).read_volatile() };
            }
            Ok(())
        })
    }

    /// Locks the folio of page `index` (which must be cached).
    pub(crate) fn lock(&self, index: usize) -> Result<FolioGuard> {
        Ok(Folio::lock(self.page_cache().find_folio(index)?))
    }

    /// Cleans the folio of page `index`, as writeback would.
    pub(crate) fn clean(&self, index: usize) -> Result {
        let folio = self.lock(index)?;
        // SAFETY: The folio is locked, as `folio_clear_dirty_for_io` needs.
        unsafe { sys::folio_clear_dirty_for_io(folio.as_ptr()) };
        Ok(())
    }

    /// Creates a sid for the file, deleted on drop.
    pub(crate) fn create_sid(&self) -> Result<TestSid> {
        // SAFETY: The open file keeps its inode alive; `TestSid` deletes
        // the sid, and it is dropped before the file it was made from (or
        // the test deletes it), so before the inode can be evicted.
        let sid = unsafe { sid::create(self.held_inode()) }?;
        Ok(TestSid(sid))
    }

    /// Creates a sid kept in the inode's `i_private`, as a filesystem keeps
    /// one in its inode info: eviction deletes it.
    pub(crate) fn create_inode_sid(&self) -> Result<isize> {
        // SAFETY: The open file keeps its inode alive; the mount's
        // `evict_inode` deletes the sid before the page cache goes.
        let sid = unsafe { sid::create(self.held_inode()) }?;
        // SAFETY: The inode is alive; the test owns `i_private` of its
        // files, which ramfs does not use.
        unsafe { (*self.inode().as_ptr()).i_private = sid as *mut c_void };
        Ok(sid)
    }
}

impl Drop for TestFile {
    fn drop(&mut self) {
        // SAFETY: This instance holds a reference (type invariant); the
        // test thread is a kernel thread, which must release synchronously
        // for the unmount that follows.
        unsafe { bindings::__fput_sync(self.as_ptr()) };
    }
}

/// A test file whose page cache is inaccessible until drop
/// ([`TestFile::inaccessible`]).
pub(crate) struct Inaccessible<'a> {
    file: &'a TestFile,
}

impl Drop for Inaccessible<'_> {
    fn drop(&mut self) {
        let mask = (1usize << bindings::mapping_flags_AS_INACCESSIBLE)
            | (1usize << bindings::mapping_flags_AS_UNEVICTABLE);
        // SAFETY: The mapping is alive while the file is open; only the
        // address of its flags word is taken.
        let flags = unsafe { &raw mut (*self.file.mapping()).flags };
        // SAFETY: The word is valid and aligned; `AtomicUsize` has the
        // layout of `unsigned long`, which the kernel changes only
        // atomically (`set_bit`, `clear_bit`), so this `clear_bit` of two
        // bits does not race them.
        let word = unsafe { &*flags.cast::<core::sync::atomic::AtomicUsize>() };
        word.fetch_and(!mask, core::sync::atomic::Ordering::Relaxed);
    }
}

/// A sid deleted on drop.
pub(crate) struct TestSid(pub(crate) isize);

impl Drop for TestSid {
    fn drop(&mut self) {
        // A test may have deleted it already; then this is `EBADF`.
        let _ = sid::delete(self.0);
    }
}

/// A private ramfs with one file of `pages` pages filled by `fill`, and its
/// sid.
pub(crate) fn file_with_pages(
    pages: usize,
    fill: impl Fn(usize) -> u8,
) -> Result<(RamFs, TestFile, TestSid)> {
    let fs = RamFs::new()?;
    let file = fs.create(c"data")?;
    file.fill_pages(pages, fill)?;
    let sid = file.create_sid()?;
    Ok((fs, file, sid))
}

/// A private ramfs with one file whose pages `0..1 << order` are one folio
/// of that order, filled by [`pattern`] ([`TestFile::insert_large_folio`]);
/// `None`, with the running case skipped, where the page cache has no
/// large folios ([`skip_without_large_folios`]).
pub(crate) fn large_folio_file(order: u32) -> Result<Option<(RamFs, TestFile)>> {
    if skip_without_large_folios() {
        return Ok(None);
    }
    let fs = RamFs::new()?;
    let file = fs.create(c"large")?;
    file.insert_large_folio(order, pattern)?;
    Ok(Some((fs, file)))
}

/// Marks the running KUnit case skipped, `reason` after `# SKIP` in its KTAP
/// line; the case then returns `Ok(())` at once.  For what the kernel under
/// test cannot do (User-Mode Linux: no large folios, no GUP-fast).
pub(crate) fn skip(reason: &CStr) {
    // SAFETY: No preconditions; NULL outside a KUnit case.
    let test = unsafe { bindings::kunit_get_current_test() };
    if test.is_null() {
        return;
    }
    // SAFETY: `test` is the case running on this thread, alive until it
    // returns; KUnit reads its status and comment only after that.
    let (status, comment) = unsafe { (&mut (*test).status, &mut (*test).status_comment) };
    let reason = reason.to_bytes();
    let len = reason.len().min(comment.len() - 1);
    for (to, &from) in comment.iter_mut().zip(&reason[..len]) {
        // CAST: a C string's bytes as the C `char` of the field.
        *to = from as kernel::ffi::c_char;
    }
    comment[len] = 0;
    *status = bindings::kunit_status_KUNIT_SKIPPED;
}

/// Skips the running case when the page cache has no large folios
/// (`mapping_set_large_folios` does nothing without THP; inserting one
/// anyway would later BUG in `xas_set_order`).  Returns whether it skipped.
pub(crate) fn skip_without_large_folios() -> bool {
    let skipped = !cfg!(CONFIG_TRANSPARENT_HUGEPAGE);
    if skipped {
        skip(c"no large folios: CONFIG_TRANSPARENT_HUGEPAGE is off (User-Mode Linux)");
    }
    skipped
}

/// Skips the running case when [`UserMemory::writable_now`] cannot see a
/// PTE: without GUP-fast, `get_user_pages_fast_only` finds nothing.
/// Returns whether it skipped.
pub(crate) fn skip_without_gup_fast() -> bool {
    let skipped = !cfg!(CONFIG_HAVE_GUP_FAST);
    if skipped {
        skip(c"no GUP-fast to see a PTE without faulting (User-Mode Linux)");
    }
    skipped
}

/// The byte pattern most tests write: never zero, differs per page.
pub(crate) fn pattern(i: usize) -> u8 {
    // CAST: keeps the low bits on purpose.
    (i % 251) as u8 + 1
}

/// A range of the test thread's user address space, unmapped on drop.
pub(crate) struct UserMemory {
    addr: usize,
    len: usize,
}

impl UserMemory {
    fn map(file: *mut bindings::file, pages: usize, flags: u32) -> Result<Self> {
        Self::map_prot(file, pages, sys::PROT_READ | sys::PROT_WRITE, flags)
    }

    fn map_prot(file: *mut bindings::file, pages: usize, prot: u32, flags: u32) -> Result<Self> {
        // SAFETY: Gives the kernel test thread a user address space if it
        // has none; it is torn down when the thread exits.
        kernel::error::to_result(unsafe { bindings::kunit_attach_mm() })?;
        let len = pages * PAGE_SIZE;
        // CAST: small constants.
        let prot = prot as usize;
        // SAFETY: `file` is null or an open file; the mm is the thread's.
        let addr = unsafe { bindings::vm_mmap(file, 0, len, prot, flags as usize, 0) };
        if addr > usize::MAX - 4095 {
            // CAST: `IS_ERR_VALUE`: a negative errno.
            return Err(Error::from_errno(addr as isize as i32));
        }
        Ok(Self { addr, len })
    }

    /// `pages` pages of private anonymous memory.
    pub(crate) fn anonymous(pages: usize) -> Result<Self> {
        Self::map(
            core::ptr::null_mut(),
            pages,
            sys::MAP_PRIVATE | sys::MAP_ANONYMOUS,
        )
    }

    /// A shared mapping of the first `pages` pages of `file`.
    pub(crate) fn shared(file: &TestFile, pages: usize) -> Result<Self> {
        Self::map(file.as_ptr(), pages, sys::MAP_SHARED)
    }

    /// A shared `PROT_READ` mapping of the first `pages` pages of `file`.
    pub(crate) fn shared_read_only(file: &TestFile, pages: usize) -> Result<Self> {
        Self::map_prot(file.as_ptr(), pages, sys::PROT_READ, sys::MAP_SHARED)
    }

    /// A private (copy-on-write) mapping of the first `pages` pages of
    /// `file`.
    pub(crate) fn private(file: &TestFile, pages: usize) -> Result<Self> {
        Self::map(file.as_ptr(), pages, sys::MAP_PRIVATE)
    }

    /// Address of byte `offset` of the range.
    pub(crate) fn addr(&self, offset: usize) -> usize {
        self.addr + offset
    }

    /// Stores `data` at `offset` as the user would (`copy_to_user`).
    pub(crate) fn store(&self, offset: usize, data: &[u8]) -> Result {
        UserSlice::new(UserPtr::from_addr(self.addr(offset)), data.len())
            .writer()
            .write_slice(data)
    }

    /// Loads `buf.len()` bytes at `offset` as the user would.
    pub(crate) fn load(&self, offset: usize, buf: &mut [u8]) -> Result {
        UserSlice::new(UserPtr::from_addr(self.addr(offset)), buf.len())
            .reader()
            .read_slice(buf)
    }

    /// Unmaps one page of the range (to make a hole in it).
    pub(crate) fn unmap_page(&self, page: usize) -> Result {
        // SAFETY: The range is this test's mapping.
        let ret = unsafe { bindings::vm_munmap(self.addr(page * PAGE_SIZE), PAGE_SIZE) };
        kernel::error::to_result(ret)
    }

    /// Whether the page at `offset` is mapped writable right now, without
    /// faulting (`get_user_pages_fast_only` with FOLL_WRITE).
    pub(crate) fn writable_now(&self, offset: usize) -> bool {
        let mut page: *mut bindings::page = core::ptr::null_mut();
        // SAFETY: One page pointer of room; GUP-fast only walks the tables.
        let got = unsafe {
            bindings::get_user_pages_fast_only(
                self.addr(offset) & !(PAGE_SIZE - 1),
                1,
                bindings::FOLL_WRITE,
                &mut page,
            )
        };
        if got == 1 {
            // SAFETY: GUP took a page reference, dropped here.
            unsafe { sys::vm_mvc_put_page(page) };
        }
        got == 1
    }

    /// Attaches `len` bytes at `offset` as a user buffer.
    pub(crate) fn attach(
        &self,
        offset: usize,
        len: usize,
        flags: AttachFlags,
    ) -> Result<Attachment> {
        Attachment::user(self.addr(offset), len, flags)
    }
}

impl Drop for UserMemory {
    fn drop(&mut self) {
        // SAFETY: The range is this test's mapping; a failure leaves it to
        // the address space's teardown.
        let _ = unsafe { bindings::vm_munmap(self.addr, self.len) };
    }
}

/// A kernel buffer attachment over `buf`.
pub(crate) fn kernel_attachment(buf: &mut [u8]) -> Result<Attachment> {
    // SAFETY: The test keeps `buf` alive and untouched while it copies.
    unsafe { Attachment::kernel(buf.as_mut_ptr() as usize, buf.len(), Access::BOTH) }
}

/// A kernel thread running `body` until it is stopped.
///
/// # Invariants
///
/// `task` is a started kthread whose function only returns once
/// `kthread_should_stop()`, so `kthread_stop` may be called on it.
pub(crate) struct KThread {
    task: NonNull<bindings::task_struct>,
}

/// What a [`KThread`] runs: `body` again and again until stopped.
struct ThreadBody<F> {
    body: F,
}

/// The kthread function of [`KThread`].
///
/// # Safety
///
/// `data` points to a `ThreadBody<F>` that stays alive until the thread is
/// stopped.
unsafe extern "C" fn thread_main<F: FnMut()>(data: *mut c_void) -> i32 {
    // SAFETY: `data` is the `ThreadBody` that `KThread::run` keeps alive
    // until `kthread_stop` has returned.
    let body = unsafe { &mut *data.cast::<ThreadBody<F>>() };
    // SAFETY: Called from the kthread itself.
    while !unsafe { bindings::kthread_should_stop() } {
        (body.body)();
        kernel::task::might_sleep();
    }
    0
}

impl KThread {
    /// Runs `body` again and again in a new kthread while `main` runs in
    /// the caller, then stops the thread and returns what `main` returned;
    /// the thread borrows `body` for that long.
    pub(crate) fn run<F: FnMut() + Send, R>(body: F, main: impl FnOnce() -> R) -> Result<R> {
        let mut body = ThreadBody { body };
        // SAFETY: `thread_main::<F>` matches `body`'s type; the format is a
        // plain NUL-terminated name.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(thread_main::<F>),
                (&raw mut body).cast(),
                bindings::NUMA_NO_NODE,
                c"vm_mvc_test".as_char_ptr(),
            )
        };
        let task = NonNull::new(kernel::error::from_err_ptr(task)?).ok_or(ENOMEM)?;
        // INVARIANT: the task was created, is started now, and its function
        // loops until asked to stop.
        let thread = KThread { task };
        // SAFETY: A new kthread waits to be woken once.
        unsafe { bindings::wake_up_process(thread.task.as_ptr()) };
        let result = main();
        drop(thread);
        // `body` outlives the thread: `drop(thread)` waited for it to end.
        drop(body);
        Ok(result)
    }
}

impl Drop for KThread {
    fn drop(&mut self) {
        // SAFETY: The thread runs until stopped (type invariant).
        unsafe { bindings::kthread_stop(self.task.as_ptr()) };
    }
}

/// Which way a test iterator goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum IterDir {
    /// `ITER_DEST`: vm_mvc copies into it (READ).
    Dest,
    /// `ITER_SOURCE`: vm_mvc copies from it (WRITE).
    Source,
}

impl IterDir {
    fn raw(self) -> u32 {
        match self {
            IterDir::Dest => bindings::ITER_DEST,
            IterDir::Source => bindings::ITER_SOURCE,
        }
    }
}

/// An `iov_iter` over test memory, with the segment array it points to
/// (on the heap, so the value may move).
pub(crate) struct TestIter {
    iter: bindings::iov_iter,
    dir: IterDir,
    _kvecs: KVec<bindings::kvec>,
    _bvecs: KVec<bindings::bio_vec>,
    _iovecs: KVec<bindings::iovec>,
}

impl TestIter {
    fn empty(dir: IterDir) -> Self {
        Self {
            // SAFETY: `iov_iter` is plain data, and all zeroes is a valid
            // (empty) one; the constructors initialise it.
            iter: unsafe { core::mem::zeroed() },
            dir,
            _kvecs: KVec::new(),
            _bvecs: KVec::new(),
            _iovecs: KVec::new(),
        }
    }

    /// ITER_KVEC over kernel buffers, which the test keeps alive and
    /// untouched while the iterator is used.
    pub(crate) fn kvec(bufs: &mut [&mut [u8]], dir: IterDir) -> Result<Self> {
        let mut this = Self::empty(dir);
        let mut count = 0;
        for buf in bufs.iter_mut() {
            count += buf.len();
            let seg = bindings::kvec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            this._kvecs.push(seg, GFP_KERNEL)?;
        }
        let (segs, nr) = (this._kvecs.as_ptr(), this._kvecs.len());
        // SAFETY: The segments live on the heap as long as `this`.
        unsafe { bindings::iov_iter_kvec(&mut this.iter, dir.raw(), segs, nr, count) };
        Ok(this)
    }

    /// ITER_BVEC over `(page, offset, len)` pieces of pages the test keeps.
    pub(crate) fn bvec(
        pieces: &[(&kernel::page::Page, usize, usize)],
        dir: IterDir,
    ) -> Result<Self> {
        let mut this = Self::empty(dir);
        let mut count = 0;
        for &(page, offset, len) in pieces {
            count += len;
            // CAST: offsets and lengths inside a page.
            let seg = bindings::bio_vec {
                bv_page: page.as_ptr(),
                bv_len: len as u32,
                bv_offset: offset as u32,
            };
            this._bvecs.push(seg, GFP_KERNEL)?;
        }
        let (segs, nr) = (this._bvecs.as_ptr(), this._bvecs.len());
        // SAFETY: The segments live on the heap as long as `this`.
        unsafe { bindings::iov_iter_bvec(&mut this.iter, dir.raw(), segs, nr, count) };
        Ok(this)
    }

    /// ITER_IOVEC over `(address, len)` ranges of the test's user memory.
    pub(crate) fn iovec(ranges: &[(usize, usize)], dir: IterDir) -> Result<Self> {
        let mut this = Self::empty(dir);
        let mut count = 0;
        for &(addr, len) in ranges {
            count += len;
            let seg = bindings::iovec {
                iov_base: addr as *mut c_void,
                iov_len: len,
            };
            this._iovecs.push(seg, GFP_KERNEL)?;
        }
        let (segs, nr) = (this._iovecs.as_ptr(), this._iovecs.len());
        // SAFETY: The segments live on the heap as long as `this`; user
        // addresses are checked by the copies.
        unsafe { bindings::iov_iter_init(&mut this.iter, dir.raw(), segs, nr, count) };
        Ok(this)
    }

    /// ITER_UBUF over `len` bytes of user memory at `addr`.
    pub(crate) fn ubuf(addr: usize, len: usize, dir: IterDir) -> Result<Self> {
        let mut this = Self::empty(dir);
        // CAST: the direction constants are 0 and 1.
        let dir_raw = dir.raw() as i32;
        // SAFETY: `this.iter` is ours; the address is checked by access_ok.
        let ret =
            unsafe { bindings::import_ubuf(dir_raw, addr as *mut c_void, len, &mut this.iter) };
        kernel::error::to_result(ret)?;
        Ok(this)
    }

    /// The iterator, for a vm_mvc call.
    pub(crate) fn as_raw(&mut self) -> *mut bindings::iov_iter {
        &mut self.iter
    }

    /// Bytes left in the iterator.
    pub(crate) fn count(&mut self) -> usize {
        let raw = self.as_raw();
        match self.dir {
            // SAFETY: Built above as an `ITER_DEST` iterator.
            IterDir::Dest => unsafe { kernel::iov::IovIterDest::from_raw(raw) }.len(),
            // SAFETY: Built above as an `ITER_SOURCE` iterator.
            IterDir::Source => unsafe { kernel::iov::IovIterSource::from_raw(raw) }.len(),
        }
    }
}

/// Sleeps `ms` milliseconds (`msleep`): in a test's thread or kthread,
/// process context.
pub(crate) fn sleep_ms(ms: u32) {
    kernel::task::might_sleep();
    // SAFETY: `msleep` only sleeps; KUnit cases and their kthreads run in
    // process context.
    unsafe { kernel::bindings::msleep(ms) };
}
