// SPDX-License-Identifier: GPL-2.0

//! A file's page cache (`struct address_space`) and the folio lookups
//! vm_mvc makes in it: AIX's memory object behind a sid.

use crate::{
    folio::{Folio, FolioGuard, LockedPage},
    sys,
};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings,
    error::from_err_ptr,
    page::PAGE_SIZE,
    prelude::*,
    sync::aref::ARef, //
};

/// A file's page cache whose memory stays valid for `'a`.
///
/// The inode may be under eviction: a sid's lookup runs under the RCU read
/// lock, which keeps the memory of an inode evicted meanwhile (see
/// [`crate::sid`]).  Lookups are safe then; creating a folio and reading
/// the inode's file operations are not: they are [`HeldMapping`]'s.
///
/// # Invariants
///
/// `ptr` points to the `address_space` of an inode (and the inode to its
/// super block) whose memory stays valid for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct Mapping<'a> {
    ptr: NonNull<bindings::address_space>,
    _alive: PhantomData<&'a bindings::address_space>,
}

impl Mapping<'_> {
    /// Borrows a page cache.
    ///
    /// # Safety
    ///
    /// `ptr` points to the `address_space` of an inode whose memory stays
    /// valid for `'a`.
    pub(crate) unsafe fn from_raw(ptr: NonNull<bindings::address_space>) -> Self {
        // INVARIANT: the caller's guarantee.
        Self {
            ptr,
            _alive: PhantomData,
        }
    }

    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::address_space {
        self.ptr.as_ptr()
    }

    /// Whether page `index` lies below the filesystem's maximum file size.
    pub(crate) fn index_in_range(&self, index: usize) -> bool {
        // SAFETY: The memory of the mapping, its host inode and that inode's
        // super block is valid (type invariant); `s_maxbytes` is set at
        // mount.
        let max_bytes = unsafe { (*(*(*self.as_ptr()).host).i_sb).s_maxbytes };
        // CAST: `s_maxbytes` is a positive `loff_t`.
        let max_pages = (max_bytes as u64).div_ceil(PAGE_SIZE as u64);
        (index as u64) < max_pages
    }

    /// Whether the page cache is shmem's (tmpfs, `shmem_file_setup`), which
    /// creates its folios only through `shmem_get_folio`.
    pub(crate) fn is_shmem(&self) -> bool {
        // SAFETY: The mapping's memory is valid (type invariant);
        // `shmem_mapping` only compares its `a_ops`.
        unsafe { sys::shmem_mapping(self.as_ptr()) }
    }

    /// Whether the page cache is DAX (`dax_mapping`): its entries are the
    /// device's memory, not folios, and a folio added to it would be taken
    /// for a DAX entry.  Never on a kernel without `CONFIG_FS_DAX`
    /// (`S_DAX` is 0 there).
    pub(crate) fn is_dax(&self) -> bool {
        // SAFETY: The mapping's memory and its host inode's are valid (type
        // invariant); `dax_mapping` tests `IS_DAX(mapping->host)`.
        unsafe { sys::vm_mvc_dax_mapping(self.as_ptr()) }
    }

    /// Whether the page cache is inaccessible (`mapping_inaccessible`,
    /// `AS_INACCESSIBLE`): guest_memfd's, whose folios belong to a guest
    /// and may be out of the kernel's direct map.
    pub(crate) fn is_inaccessible(&self) -> bool {
        // SAFETY: The mapping's memory is valid (type invariant); the test
        // is one `test_bit` of its flags.
        unsafe { sys::vm_mvc_mapping_inaccessible(self.as_ptr()) }
    }

    /// Whether the page cache is secretmem's (`memfd_secret`), whose folios
    /// are taken out of the kernel's direct map.
    ///
    /// The kernel's `secretmem_mapping` compares `a_ops` with
    /// `secretmem_aops`, which is not exported to modules; secretmem files
    /// all live on its own pseudo filesystem (`init_pseudo(fc,
    /// SECRETMEM_MAGIC)` in mm/secretmem.c), whose magic is tested instead.
    pub(crate) fn is_secretmem(&self) -> bool {
        // SAFETY: The memory of the mapping, its host inode and that inode's
        // super block is valid (type invariant); `s_magic` is set at mount.
        let magic = unsafe { (*(*(*self.as_ptr()).host).i_sb).s_magic };
        // CAST: a filesystem magic is a 32-bit number.
        magic == sys::VM_MVC_SECRETMEM_MAGIC as kernel::ffi::c_ulong
    }

    /// Looks up the folio holding page `index`, without creating it and
    /// without sleeping (so also under the RCU read lock).
    ///
    /// `ENOENT` if the page is not in the page cache (AIX: "not mapped to a
    /// real frame"); shadow, swap and DAX entries count as absent.
    pub(crate) fn find_folio(&self, index: usize) -> Result<ARef<Folio>> {
        // SAFETY: The mapping's memory is valid (type invariant); without
        // FGP flags `__filemap_get_folio_mpol` is `filemap_get_folio`, an
        // RCU lookup that takes a folio reference and never sleeps.
        let folio = unsafe {
            bindings::__filemap_get_folio_mpol(self.as_ptr(), index, 0, 0, core::ptr::null_mut())
        };
        let folio = folio_or_error(folio)?;
        // SAFETY: The lookup returned a reference, which moves in.
        Ok(unsafe { ARef::from_raw(folio.cast::<Folio>()) })
    }

    /// Looks up the folio holding page `index` and locks it if its lock is
    /// free, without sleeping (so also under the RCU read lock): one
    /// `__filemap_get_folio` with `FGP_LOCK | FGP_NOWAIT`, which checks
    /// under the lock that truncation did not take the folio away.
    ///
    /// `ENOENT` if the page is not in the page cache, `EAGAIN` if somebody
    /// holds the folio's lock.
    #[inline]
    pub(crate) fn trylock_folio(&self, index: usize) -> Result<LockedPage> {
        // CAST: `FGP_LOCK | FGP_NOWAIT`, a small `fgf_t` bit mask.
        const TRYLOCK: bindings::fgf_t = sys::VM_MVC_FGP_TRYLOCK as bindings::fgf_t;
        // SAFETY: The mapping's memory is valid (type invariant); with these
        // flags `__filemap_get_folio_mpol` neither creates a folio nor
        // sleeps, and returns the folio referenced and locked.
        let folio = unsafe {
            bindings::__filemap_get_folio_mpol(
                self.as_ptr(),
                index,
                TRYLOCK,
                0,
                core::ptr::null_mut(),
            )
        };
        let folio = folio_or_error(folio)?;
        // SAFETY: The lock and the reference move in.
        let folio = unsafe { FolioGuard::from_raw_locked(folio) };
        // SAFETY: With `FGP_LOCK` the lookup returns the folio that holds
        // `index`, checked under the lock (`folio->mapping` still this
        // mapping; mm/filemap.c asserts `folio_contains`).
        Ok(unsafe { LockedPage::new(folio, index) })
    }
}

/// An inode that is alive and not evicted for `'a`: the caller of
/// `vm_mvc_sid_create` holds a reference on it, or otherwise keeps eviction
/// away, for the call (include/vm_mvc.h).
///
/// # Invariants
///
/// `ptr` points to an inode that is alive, set up (handed to the
/// filesystem's users), and not evicted for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct HeldInode<'a> {
    ptr: NonNull<bindings::inode>,
    _alive: PhantomData<&'a bindings::inode>,
}

impl<'a> HeldInode<'a> {
    /// Borrows an inode its caller keeps from eviction.
    ///
    /// # Safety
    ///
    /// `ptr` points to a set-up inode that is alive and not evicted (it is
    /// referenced, or eviction is excluded) for `'a`.
    pub(crate) unsafe fn from_raw(ptr: NonNull<bindings::inode>) -> Self {
        // INVARIANT: the caller's guarantee.
        Self {
            ptr,
            _alive: PhantomData,
        }
    }

    /// The inode number.
    pub(crate) fn ino(&self) -> u64 {
        // SAFETY: The inode is alive (type invariant); `i_ino` is set
        // before an inode is handed to a filesystem's users.
        unsafe { (*self.ptr.as_ptr()).i_ino }
    }

    /// The inode's own page cache (`i_data`), if it is the one the inode
    /// uses (`i_mapping`); `EINVAL` if the inode uses another inode's (a
    /// block device's, a coda file's): that one's lifetime is not the
    /// inode's.
    pub(crate) fn own_mapping(&self) -> Result<HeldMapping<'a>> {
        // SAFETY: The inode is alive (type invariant); `i_mapping` is set
        // before an inode is handed to a filesystem's users.
        let mapping = unsafe { (*self.ptr.as_ptr()).i_mapping };
        // SAFETY: As above; only the field's address is taken.
        let own = unsafe { &raw mut (*self.ptr.as_ptr()).i_data };
        if mapping != own {
            return Err(EINVAL);
        }
        let mapping = NonNull::new(mapping).ok_or(EINVAL)?;
        // SAFETY: `i_data` is part of the inode, alive and not evicted for
        // `'a` (type invariant).
        Ok(unsafe { HeldMapping::from_raw(Mapping::from_raw(mapping)) })
    }
}

/// A file's page cache whose host inode is alive and not evicted for `'a`,
/// so that its file operations may be read and folios created in it.
///
/// # Invariants
///
/// The host inode of `mapping` is alive and not evicted for `'a` (it is
/// referenced, or eviction is excluded).
#[derive(Clone, Copy)]
pub(crate) struct HeldMapping<'a> {
    mapping: Mapping<'a>,
}

impl<'a> HeldMapping<'a> {
    /// Wraps a page cache whose inode the caller keeps from eviction.
    ///
    /// # Safety
    ///
    /// The host inode of `mapping` is alive and not evicted for `'a`.
    pub(crate) unsafe fn from_raw(mapping: Mapping<'a>) -> Self {
        // INVARIANT: the caller's guarantee.
        Self { mapping }
    }

    /// The page cache, for the lookups that need no more than its memory.
    pub(crate) fn mapping(&self) -> Mapping<'a> {
        self.mapping
    }

    /// Whether the page cache is hugetlbfs's (`is_file_hugepages` on the
    /// inode's file operations): its folios are hugetlb folios, which only
    /// hugetlbfs creates, and which the kernel never hands to
    /// `folio_mkclean` (they are never written back).  Never on a kernel
    /// without `CONFIG_HUGETLBFS`, as `is_file_hugepages` there.
    fn is_hugetlbfs(&self) -> bool {
        if !cfg!(CONFIG_HUGETLBFS) {
            return false;
        }
        // `i_fop` is set when the inode is set up and points to static
        // file operations.  It shares a union with `free_inode`, which
        // `destroy_inode` stores only after eviction, which the type
        // invariant excludes.
        // SAFETY: The mapping and its host inode are valid (`Mapping`'s
        // invariant), and `i_fop` is not yet `free_inode` (above).
        let fop = unsafe { (*(*self.mapping.as_ptr()).host).__bindgen_anon_3.i_fop };
        // SAFETY: A non-null `i_fop` points to valid file operations.
        !fop.is_null() && unsafe { (*fop).fop_flags } & sys::VM_MVC_FOP_HUGE_PAGES != 0
    }

    /// Why vm_mvc must not name this page cache at all, if it must not:
    /// a DAX, hugetlbfs, inaccessible (guest_memfd) or secretmem file, whose
    /// memory is not ordinary page-cache folios in the kernel's direct map
    /// (Documentation/vm_mvc.rst, "Files vm_mvc refuses").
    /// `vm_mvc_sid_create` and `vm_mvc_makep` refuse them with `EOPNOTSUPP`.
    pub(crate) fn refused(&self) -> bool {
        let mapping = &self.mapping;
        self.is_hugetlbfs()
            || mapping.is_dax()
            || mapping.is_inaccessible()
            || mapping.is_secretmem()
    }

    /// Finds or creates the folio holding page `index`, locked
    /// (`filemap_grab_folio`: FGP_LOCK | FGP_ACCESSED | FGP_CREAT).  A
    /// folio created here cannot outlive the inode: eviction, which
    /// `truncate_inode_pages_final` would miss it after, is excluded (type
    /// invariant).
    pub(crate) fn grab_folio(&self, index: usize) -> Result<FolioGuard> {
        // SAFETY: The mapping is valid (`Mapping`'s invariant) and not torn
        // down (type invariant).
        let folio = unsafe { sys::vm_mvc_filemap_grab_folio(self.mapping.as_ptr(), index) };
        let folio = NonNull::new(from_err_ptr(folio)?).ok_or(ENOMEM)?;
        // SAFETY: `filemap_grab_folio` returned the folio locked and with a
        // reference, both of which move in.
        Ok(unsafe { FolioGuard::from_raw_locked(folio) })
    }
}

/// The folio a page-cache lookup returned, or its error: `IS_ERR` and
/// `PTR_ERR` inline (`kernel::error::from_err_ptr` makes two calls), and
/// `ENOENT` for null.
#[inline]
fn folio_or_error(ptr: *mut bindings::folio) -> Result<NonNull<bindings::folio>> {
    // CAST: `MAX_ERRNO` is 4095.
    let errno = (ptr as isize).wrapping_neg();
    if (1..=bindings::MAX_ERRNO as isize).contains(&errno) {
        // CAST: an error pointer is `-errno`, with `1 <= errno <=
        // MAX_ERRNO`.
        return Err(Error::from_errno(-(errno as i32)));
    }
    NonNull::new(ptr).ok_or(ENOENT)
}
