// SPDX-License-Identifier: GPL-2.0

//! Page-cache folios: a counted reference, the folio lock, and the byte-range
//! operations vm_mvc performs on a locked folio.
//!
//! Linux 7.3's Rust has no folio type, so this file wraps `struct folio` once
//! and keeps every raw call in one place.  Byte ranges are checked against
//! the folio's size here, before the C helpers (`folio_zero_range` and
//! `kmap_local_page` on `folio_page`) see them: those `BUG` on bad input.
//!
//! C header: [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h)

use crate::{command::PageRange, sys};
use core::{
    mem::ManuallyDrop,
    ops::Deref,
    ptr::NonNull,
    sync::atomic::{AtomicI32, AtomicUsize, Ordering}, //
};
use kernel::{
    bindings,
    iov::{IovIterDest, IovIterSource},
    page::PAGE_SIZE,
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque, //
};

/// A folio of a file's page cache.
///
/// # Invariants
///
/// Instances are only created from pointers to live folios (see
/// [`Folio::from_raw`]), so `self.0` is a valid `struct folio`.
#[repr(transparent)]
pub(crate) struct Folio(Opaque<bindings::folio>);

// SAFETY: The folio reference count is atomic; `folio_get` and `folio_put`
// may be called from any thread, and a `Folio` is only reachable while a
// reference is held (type invariant).
unsafe impl AlwaysRefCounted for Folio {
    fn inc_ref(&self) {
        // SAFETY: `self` is a valid folio with a reference held (type invariant).
        unsafe { sys::vm_mvc_folio_get(self.as_ptr()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up the reference it holds on `obj`.
        unsafe { put(obj.cast().as_ptr()) };
    }
}

/// The reference count of `folio` (`folio->_refcount`), as an atomic.
///
/// # Safety
///
/// `folio` is a valid folio for `'a`.
#[inline(always)]
unsafe fn ref_count_word<'a>(folio: *mut bindings::folio) -> &'a AtomicI32 {
    // SAFETY: `folio` is valid (the caller's guarantee); only the address
    // of its reference count is taken.
    let count = unsafe { &raw mut (*folio).__bindgen_anon_1.__bindgen_anon_1._refcount.counter };
    // SAFETY: The count is valid and aligned for `'a`; `AtomicI32` has the
    // layout of the `int` in `atomic_t`, which the kernel changes only
    // atomically, so atomic accesses do not race.
    unsafe { &*count.cast::<AtomicI32>() }
}

/// Drops a folio reference: `folio_put`, written out where it is an
/// atomic decrement and, for the last reference, `__folio_put`, so that
/// every call by sid does not pay a forwarder call for it.  Kernels whose
/// `folio_put` does more (`CONFIG_DEBUG_VM` asserts the count was not
/// zero, `CONFIG_DEBUG_PAGE_REF` traces it) get the C inline through its
/// forwarder.
///
/// # Safety
///
/// `folio` is a valid folio on which the caller holds a reference, which
/// it gives up.
#[inline(always)]
unsafe fn put(folio: *mut bindings::folio) {
    #[cfg(not(any(CONFIG_DEBUG_VM, CONFIG_DEBUG_PAGE_REF)))]
    {
        // SAFETY: The caller holds a reference, so the folio stays valid
        // until this decrement gives it up.
        let count = unsafe { ref_count_word(folio) };
        // `atomic_dec_and_test` is fully ordered: the caller's accesses to
        // the folio happen before whoever frees it sees the count reach zero.
        if count.fetch_sub(1, Ordering::SeqCst) == 1 {
            // SAFETY: That was the last reference: the folio is the
            // caller's to free, as `folio_put` does.
            unsafe { bindings::__folio_put(folio) };
        }
    }
    #[cfg(any(CONFIG_DEBUG_VM, CONFIG_DEBUG_PAGE_REF))]
    // SAFETY: The caller's guarantee.
    unsafe {
        sys::vm_mvc_folio_put(folio)
    };
}

/// The memory map's base (the address of page frame 0's `struct page`)
/// and the direct map's (the address of page frame 0), where the kernel
/// maps all memory linearly and `folio_address` is arithmetic on these two
/// values, set during boot before any module is loaded: x86-64
/// (`SPARSEMEM_VMEMMAP`: `vmemmap_base` and `page_offset_base`) and
/// User-Mode Linux (`FLATMEM`, no `ARCH_PFN_OFFSET`: `mem_map` and
/// `uml_physmem`), each without highmem or forced local mappings.  On
/// both, `kunmap_local` and `flush_dcache_folio` do nothing
/// (`ARCH_HAS_FLUSH_ON_KUNMAP` unset, `ARCH_IMPLEMENTS_FLUSH_DCACHE_PAGE`
/// 0).  `None` elsewhere: the copies then go through the C forwarders.
/// `vm_mvc_folio.linear_address_is_where_the_kernel_maps_every_page`
/// checks the arithmetic against `kmap_local_page`.
// The trailing `None` is unreachable where an architecture's bases are
// known.
#[allow(unreachable_code)]
#[inline(always)]
fn linear_map() -> Option<(usize, usize)> {
    if cfg!(any(CONFIG_HIGHMEM, CONFIG_KMAP_LOCAL)) {
        return None;
    }
    #[cfg(all(CONFIG_UML, CONFIG_FLATMEM))]
    // SAFETY: Both are set during boot, before any module is loaded, and
    // never change afterwards; they are read by value.  CAST: an address.
    return Some(unsafe { (bindings::mem_map as usize, bindings::uml_physmem) });
    #[cfg(all(CONFIG_X86_64, not(CONFIG_UML), CONFIG_SPARSEMEM_VMEMMAP))]
    // SAFETY: As for User-Mode Linux's.
    return Some(unsafe { (bindings::vmemmap_base, bindings::page_offset_base) });
    None
}

/// Whether `flush_dcache_folio` and `flush_dcache_page` do anything here
/// (`ARCH_IMPLEMENTS_FLUSH_DCACHE_PAGE`): not on x86 and User-Mode Linux,
/// where the flushes are empty inlines and the calls that would only reach
/// them through a forwarder are compiled out.  Where they do, vm_mvc
/// flushes as the kernel's own paths do (Documentation/vm_mvc.rst, "The
/// data cache").
pub(crate) const ARCH_FLUSHES_DCACHE: bool = sys::VM_MVC_ARCH_FLUSHES_DCACHE != 0;

/// `size_of::<bindings::page>()` is `PAGE_STRUCT_ODD << PAGE_STRUCT_SHIFT`.
const PAGE_STRUCT_SHIFT: u32 = size_of::<bindings::page>().trailing_zeros();
/// The odd factor of `size_of::<bindings::page>()`.
const PAGE_STRUCT_ODD: usize = size_of::<bindings::page>() >> PAGE_STRUCT_SHIFT;
/// The inverse of [`PAGE_STRUCT_ODD`] modulo 2^`usize::BITS`, by Newton's
/// iteration (each step doubles the correct low bits; an odd number is its
/// own inverse to 3 bits); the build fails if it is not one.
const PAGE_STRUCT_INVERSE: usize = {
    let mut inverse = PAGE_STRUCT_ODD;
    let mut bits = 3;
    while bits < usize::BITS {
        inverse = inverse.wrapping_mul(2usize.wrapping_sub(PAGE_STRUCT_ODD.wrapping_mul(inverse)));
        bits *= 2;
    }
    assert!(PAGE_STRUCT_ODD.wrapping_mul(inverse) == 1);
    inverse
};

/// `bytes / size_of::<bindings::page>()` for a whole number of `struct
/// page`s, as C's pointer difference divides (exactly): a shift and a
/// multiplication by [`PAGE_STRUCT_INVERSE`], where a division by a
/// constant that is not a power of two (56 bytes on User-Mode Linux) is a
/// 128-bit multiplication and more shifts.  For any other `bytes` the
/// result is meaningless.
#[inline(always)]
fn exact_pages(bytes: usize) -> usize {
    (bytes >> PAGE_STRUCT_SHIFT).wrapping_mul(PAGE_STRUCT_INVERSE)
}

/// Whether kernel-buffer copies and ZERO go through the folio's address
/// in the linear map, computed inline ([`linear_map`]), rather than
/// through the C helpers.
#[cfg(CONFIG_KUNIT)]
pub(crate) fn copies_inline() -> bool {
    linear_map().is_some()
}

// SAFETY: A folio is a kernel object that any thread may use; every method
// that reads or changes state either uses atomic flags or requires the
// folio lock, which is not tied to a thread.
unsafe impl Send for Folio {}
// SAFETY: See `Send`; shared use is what the page cache does all day.
unsafe impl Sync for Folio {}

impl Folio {
    /// Borrows a folio.
    ///
    /// # Safety
    ///
    /// `ptr` points to a folio on which the caller holds a reference for
    /// `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::folio) -> &'a Self {
        // SAFETY: `Folio` is a transparent wrapper of `struct folio`; the
        // caller keeps it referenced.
        unsafe { &*ptr.cast() }
    }

    /// The raw `struct folio` pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::folio {
        self.0.get()
    }

    /// The first page of the folio, as the page-based copy routines take
    /// it (`&folio->page`); they walk on to the page holding their offset.
    fn head_page(&self) -> *mut bindings::page {
        // `struct folio` begins with its first `struct page`.
        self.as_ptr().cast()
    }

    /// Bytes `range` of page-cache page `index`, which lies in the folio,
    /// for a copy without the folio lock.
    ///
    /// # Safety
    ///
    /// Page-cache index `index` lies in the folio, and the caller's
    /// reference keeps it there for `'a` (a referenced folio is not split).
    #[inline]
    pub(crate) unsafe fn page_range(&self, index: usize, range: PageRange) -> ReferencedRange<'_> {
        // The page lies in the folio (the caller's guarantee): `index >=
        // first` and `(index - first) * PAGE_SIZE < folio_size`, so neither
        // operation wraps.
        let page = index.wrapping_sub(self.index()).wrapping_mul(PAGE_SIZE);
        // INVARIANT: the page lies in the folio and `range` in the page
        // (`PageRange`'s invariant), so the range ends inside the folio.
        ReferencedRange {
            folio: self,
            offset: page + range.offset(),
            len: range.len(),
        }
    }

    /// Page-cache index of the folio's first page (`folio->index`, which
    /// unlike `folio_pos` does not overflow on 32-bit).
    pub(crate) fn index(&self) -> usize {
        // The index changes only under the folio lock or while the
        // reference count is frozen (a split, impossible while referenced);
        // a mere comparison also tolerates a stale value.
        let folio = self.as_ptr();
        // SAFETY: `self` is a valid folio (type invariant).
        unsafe {
            (*folio)
                .__bindgen_anon_1
                .__bindgen_anon_1
                .__bindgen_anon_2
                .index
        }
    }

    /// Size of the folio in bytes (`PAGE_SIZE << order`).
    pub(crate) fn size(&self) -> usize {
        // SAFETY: `self` is a valid folio (type invariant).
        unsafe { sys::vm_mvc_folio_size(self.as_ptr()) }
    }

    /// Allocation order of the folio; 0 for a single page.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn order(&self) -> u32 {
        // SAFETY: `self` is a valid folio (type invariant).
        unsafe { sys::vm_mvc_folio_order(self.as_ptr()) }
    }

    /// The kernel address of the folio's first byte, computed inline where
    /// [`linear_map`] knows the direct map (`folio_address`); the folio's
    /// pages follow it there.
    #[inline(always)]
    fn linear_address(&self) -> Option<*mut u8> {
        let (memmap, direct) = linear_map()?;
        // A folio is its first page's `struct page`, in the memory map: its
        // distance from the map's start is a whole number of them.
        let frame = exact_pages((self.as_ptr() as usize).wrapping_sub(memmap));
        // CAST: an address in the direct map.
        Some(direct.wrapping_add(frame.wrapping_mul(PAGE_SIZE)) as *mut u8)
    }

    /// Which page of this folio `page` is, if it is one of them: a folio's
    /// `struct page`s follow each other (`folio_page` is `&folio->page +
    /// n`), so this is pointer arithmetic, with nothing dereferenced.
    pub(crate) fn page_index(&self, page: *const bindings::page) -> Option<usize> {
        let bytes = (page as usize).wrapping_sub(self.as_ptr() as usize);
        let n = bytes / size_of::<bindings::page>();
        (bytes % size_of::<bindings::page>() == 0 && n < self.size() / PAGE_SIZE).then_some(n)
    }

    /// Whether page-cache index `index` lies in this folio.
    pub(crate) fn contains(&self, index: usize) -> bool {
        let first = self.index();
        index >= first && index - first < self.size() / PAGE_SIZE
    }

    /// Whether the folio holds valid data for all its bytes
    /// (`folio_test_uptodate`): an acquire load, so that the bytes read
    /// after it are those `folio_mark_uptodate` published (its `smp_wmb`
    /// pairs with the `smp_rmb` after the C test, which an acquire load
    /// implies).
    #[inline]
    pub(crate) fn is_uptodate(&self) -> bool {
        self.flags(Ordering::Acquire) & (1 << bindings::pageflags_PG_uptodate) != 0
    }

    /// How many times the folio is mapped whole by a PMD (or larger)
    /// page-table entry (`folio_entire_mapcount`); 0 for a small folio.
    #[cfg(all(CONFIG_KUNIT, CONFIG_TRANSPARENT_HUGEPAGE))]
    pub(crate) fn entire_mapcount(&self) -> i32 {
        if self.order() == 0 {
            return 0;
        }
        // SAFETY: `self` is a valid large folio (type invariant).
        unsafe { sys::vm_mvc_folio_entire_mapcount(self.as_ptr()) }
    }

    /// Whether the folio is dirty (must be written back).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn is_dirty(&self) -> bool {
        // SAFETY: `self` is a valid folio (type invariant).
        unsafe { sys::vm_mvc_folio_test_dirty(self.as_ptr()) }
    }

    /// Whether a task sleeps waiting for the folio (its lock, writeback).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn has_waiters(&self) -> bool {
        // SAFETY: `self` is a valid folio (type invariant).
        unsafe { sys::vm_mvc_folio_test_waiters(self.as_ptr()) }
    }

    /// The folio's flags word, loaded once with `order`: the flags are
    /// changed only by atomic bit operations, and a relaxed load is the
    /// `READ_ONCE` of `test_bit`.  Tested inline here, where a forwarder
    /// would be one more out-of-line call per vm_mvc call.
    #[inline]
    fn flags(&self, order: Ordering) -> usize {
        // SAFETY: `self` is a valid folio (type invariant); only the
        // address of its flags word is taken.
        let flags = unsafe { &raw mut (*self.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.flags.f };
        // A cast, not `AtomicUsize::from_ptr`, which rustc leaves out of
        // line at `opt-level=s`.
        // SAFETY: The word is valid and aligned (type invariant);
        // `AtomicUsize` has the layout of `unsigned long`; the kernel
        // changes the word only atomically, so atomic loads do not race.
        let word = unsafe { &*flags.cast::<AtomicUsize>() };
        word.load(order)
    }

    /// `flush_dcache_folio`: makes the kernel's and user space's views of
    /// the folio's bytes agree on architectures whose data cache may alias
    /// them; nothing where the flush is empty ([`ARCH_FLUSHES_DCACHE`]).
    #[inline(always)]
    pub(crate) fn flush_dcache(&self) {
        if ARCH_FLUSHES_DCACHE {
            // SAFETY: `self` is a valid folio (type invariant).
            unsafe { sys::vm_mvc_flush_dcache_folio(self.as_ptr()) };
        }
    }

    /// Whether flag `bit` (a `pageflags` value) is set: `folio_test_*` of a
    /// flag that needs no barrier.
    #[inline]
    fn test_flag(&self, bit: bindings::pageflags) -> bool {
        self.flags(Ordering::Relaxed) & (1 << bit) != 0
    }

    /// Whether the folio is under writeback (`folio_test_writeback`).
    #[inline]
    pub(crate) fn is_writeback(&self) -> bool {
        self.test_flag(bindings::pageflags_PG_writeback)
    }

    /// Whether somebody holds the folio lock (`folio_test_locked`).
    #[inline]
    pub(crate) fn is_locked(&self) -> bool {
        self.test_flag(bindings::pageflags_PG_locked)
    }

    /// The folio's reference count now (`folio_ref_count`).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn ref_count(&self) -> i32 {
        // SAFETY: `self` is a valid folio (type invariant) for the borrow.
        unsafe { ref_count_word(self.as_ptr()) }.load(Ordering::Relaxed)
    }

    /// Whether the folio may be pinned by `pin_user_pages` (FOLL_PIN).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn maybe_dma_pinned(&self) -> bool {
        // SAFETY: `self` is a valid folio (type invariant).
        unsafe { sys::vm_mvc_folio_maybe_dma_pinned(self.as_ptr()) }
    }

    /// Takes the folio lock, sleeping until it is free.
    pub(crate) fn lock(this: ARef<Self>) -> FolioGuard {
        // SAFETY: `this` is a valid folio with a reference held.
        unsafe { sys::vm_mvc_folio_lock(this.as_ptr()) };
        // INVARIANT: The lock was just taken and the reference moves in.
        FolioGuard {
            folio: ManuallyDrop::new(this),
        }
    }
}

/// A folio whose lock is held for as long as the borrow lasts.
///
/// Under the folio lock, `folio->mapping` cannot change and truncation
/// cannot remove the folio from its mapping.
///
/// # Invariants
///
/// The folio lock is held by the current context for the lifetime of every
/// `&LockedFolio`.
#[repr(transparent)]
pub(crate) struct LockedFolio(Folio);

impl Deref for LockedFolio {
    type Target = Folio;

    fn deref(&self) -> &Folio {
        &self.0
    }
}

/// Where a page-sized piece of a locked folio is mapped into the kernel.
///
/// # Invariants
///
/// `addr` is the kernel address of byte `offset` of `page`, valid for
/// reading and writing `len` bytes for the lifetime `'a` of the mapping,
/// and `offset + len <= PAGE_SIZE`.
pub(crate) struct MappedPiece<'a> {
    page: *mut bindings::page,
    addr: *mut u8,
    offset: usize,
    len: usize,
    _mapping: core::marker::PhantomData<&'a LockedFolio>,
}

impl MappedPiece<'_> {
    /// The `struct page` this piece belongs to.
    pub(crate) fn page(&self) -> *mut bindings::page {
        self.page
    }

    /// Kernel address of the piece's first byte.
    pub(crate) fn addr(&self) -> *mut u8 {
        self.addr
    }

    /// Offset of the piece's first byte in its page.
    pub(crate) fn offset(&self) -> usize {
        self.offset
    }

    /// Length of the piece in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl LockedFolio {
    /// Borrows a folio that the caller holds locked.
    ///
    /// # Safety
    ///
    /// `ptr` points to a folio on which the caller holds a reference and the
    /// lock for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::folio) -> &'a Self {
        // SAFETY: `LockedFolio` is a transparent wrapper of `Folio`, itself
        // one of `struct folio`; the caller guarantees lock and reference.
        unsafe { &*ptr.cast() }
    }

    /// The address space the folio belongs to; null once truncated.
    ///
    /// Stable while the folio is locked (type invariant): truncation clears
    /// it only under the lock.
    pub(crate) fn mapping(&self) -> *mut bindings::address_space {
        // SAFETY: `self` is a valid folio; the field is not written while
        // the lock is held, so the read does not race.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.mapping }
    }

    /// Bytes `offset..offset + len` of the folio, checked once here;
    /// `EINVAL` if they pass the folio's end.
    #[inline]
    pub(crate) fn range(&self, offset: usize, len: usize) -> Result<FolioRange<'_>> {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > self.size() {
            return Err(EINVAL);
        }
        // INVARIANT: `offset + len <= folio_size` was checked above.
        Ok(FolioRange {
            folio: self,
            offset,
            len,
        })
    }

    /// Bytes `range` of page-cache page `index`; `EINVAL` if the page is
    /// not in the folio.
    #[inline]
    pub(crate) fn page_range(&self, index: usize, range: PageRange) -> Result<FolioRange<'_>> {
        let first = self.index();
        // A folio's first page is in it whatever its size: only another
        // page needs the size (an out-of-line `folio_size`).
        if index != first && !self.contains(index) {
            return Err(EINVAL);
        }
        // The page is in the folio, so neither operation wraps.
        let page_offset = index.wrapping_sub(first).wrapping_mul(PAGE_SIZE);
        // INVARIANT: the page lies in the folio and `range` in the page.
        Ok(FolioRange {
            folio: self,
            offset: page_offset + range.offset(),
            len: range.len(),
        })
    }

    /// Waits until writeback of the folio has finished if the backing device
    /// needs stable pages, so that bytes are not changed under the I/O.
    ///
    /// `folio_wait_stable` waits only while the folio is under writeback,
    /// and writeback starts only under the folio lock
    /// (`__folio_start_writeback` asserts it), which is held: a folio not
    /// under writeback now stays so for as long as the lock is held, and
    /// the out-of-line call is made only for one that is.
    #[inline]
    pub(crate) fn wait_stable(&self) {
        if self.is_writeback() {
            // SAFETY: `self` is a valid, locked folio (type invariant).
            unsafe { bindings::folio_wait_stable(self.as_ptr()) };
        }
    }

    /// Marks the folio dirty so that writeback saves the bytes changed.
    pub(crate) fn mark_dirty(&self) {
        // SAFETY: `self` is a valid, locked folio (type invariant); its
        // mapping cannot be released while it is locked.
        unsafe { bindings::folio_mark_dirty(self.as_ptr()) };
    }

    /// Flushes the data cache *before* the kernel copies bytes of the folio
    /// (in or out) if its file is mapped shared and writable, so that the
    /// copy sees what user space stored through an alias of the kernel's
    /// mapping: `filemap_read` and `generic_perform_write` do this with
    /// `mapping_writably_mapped`.  Nothing where the architecture's flush
    /// is empty ([`ARCH_FLUSHES_DCACHE`]).
    #[inline(always)]
    pub(crate) fn flush_dcache_if_writably_mapped(&self) {
        if !ARCH_FLUSHES_DCACHE {
            return;
        }
        // SAFETY: `self` is a valid, locked folio (type invariant):
        // `folio_mapping` gives its file's page cache (or null), which
        // truncation and eviction cannot take away while the lock is held.
        let mapping = unsafe { bindings::folio_mapping(self.as_ptr()) };
        // SAFETY: As above.
        if !mapping.is_null() && unsafe { sys::vm_mvc_mapping_writably_mapped(mapping) } {
            self.flush_dcache();
        }
    }

    /// Write-protects and cleans every shared user mapping of the folio.
    ///
    /// Returns how many page-table entries were writable or dirty.  Their
    /// dirty bits are gone after this, so a non-zero result must be kept by
    /// marking the folio dirty, as `pagecache_isize_extended` does.
    pub(crate) fn mkclean(&self) -> usize {
        // SAFETY: `folio_mkclean` requires the folio lock, held by the type
        // invariant.
        let cleaned = unsafe { sys::folio_mkclean(self.as_ptr()) };
        // CAST: a count of page-table entries; never negative.
        cleaned.max(0) as usize
    }

    /// [`FolioRange::for_each_piece`] of bytes `offset..offset + len`;
    /// `EINVAL` if they pass the folio's end.
    pub(crate) fn for_each_piece(
        &self,
        offset: usize,
        len: usize,
        f: impl FnMut(&MappedPiece<'_>, usize) -> Result,
    ) -> Result {
        self.range(offset, len)?.for_each_piece(f)
    }
}

/// A byte range of a referenced folio, maybe not locked: what `filemap_read`
/// copies from.  Truncation may take the folio out of its file meanwhile;
/// its memory stays the folio's while referenced.
///
/// # Invariants
///
/// `offset + len <= folio_size(folio)`, and the folio is referenced for
/// `'a`.
pub(crate) struct ReferencedRange<'a> {
    folio: &'a Folio,
    offset: usize,
    len: usize,
}

impl ReferencedRange<'_> {
    /// Copies the bytes to `dest`, which it advances (`copy_page_to_iter`):
    /// the copy may fault, so the folio lock must not be held by the
    /// caller (a `&Folio` that is not a [`LockedFolio`] says nothing of it:
    /// the lock only matters to a fault on this very page, never to
    /// memory safety).  Returns the bytes copied.
    #[inline]
    pub(crate) fn copy_to_iter(&self, dest: &mut IovIterDest<'_>) -> usize {
        // SAFETY: The folio is referenced and the range lies inside it
        // (type invariants); the routine walks from the folio's first page
        // to the one holding `offset`; `dest` is a valid `ITER_DEST`
        // iterator (its type's invariant) borrowed mutably for the call.
        unsafe {
            bindings::copy_page_to_iter(
                self.folio.head_page(),
                self.offset,
                self.len,
                dest.as_raw(),
            )
        }
    }
}

/// A byte range of a locked folio, checked against the folio's size once,
/// when it is made; the operations on it check nothing again.
///
/// # Invariants
///
/// `offset + len <= folio_size(folio)`.
#[derive(Clone, Copy)]
pub(crate) struct FolioRange<'a> {
    folio: &'a LockedFolio,
    offset: usize,
    len: usize,
}

impl<'a> FolioRange<'a> {
    /// The folio.
    pub(crate) fn folio(&self) -> &'a LockedFolio {
        self.folio
    }

    /// Offset of the range's first byte in the folio.
    pub(crate) fn offset(&self) -> usize {
        self.offset
    }

    /// Number of bytes in the range.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The range's first byte in the kernel's direct map, where
    /// [`Folio::linear_address`] computes it inline: `memcpy_from_folio`,
    /// `memcpy_to_folio` and `folio_zero_range` are then one `memcpy` or
    /// `memset` without a forwarder call around it.
    #[inline(always)]
    fn linear_address(&self) -> Option<*mut u8> {
        Some(self.folio.linear_address()?.wrapping_add(self.offset))
    }

    /// The range without its first `skip` bytes (empty if `skip >= len`).
    #[inline]
    pub(crate) fn skip(&self, skip: usize) -> Self {
        let skip = skip.min(self.len);
        // INVARIANT: a tail of a range inside the folio is inside it.
        Self {
            folio: self.folio,
            offset: self.offset + skip,
            len: self.len - skip,
        }
    }

    /// Copies the bytes from `source`, which it advances, with page faults
    /// disabled (`copy_folio_from_iter_atomic`): a user buffer that is not
    /// resident makes a short copy, never a fault under the folio lock.
    /// Returns the bytes copied.
    #[inline]
    pub(crate) fn copy_from_iter_atomic(&self, source: &mut IovIterSource<'_>) -> usize {
        // SAFETY: The folio is locked and the range lies inside it (type
        // invariants); `source` is a valid `ITER_SOURCE` iterator (its
        // type's invariant) borrowed mutably for the call; the copy does
        // not fault.
        unsafe {
            bindings::copy_folio_from_iter_atomic(
                self.folio.as_ptr(),
                self.offset,
                self.len,
                source.as_raw(),
            )
        }
    }

    /// Copies the bytes to `dest`, which it advances, with page faults
    /// disabled (`copy_page_to_iter_nofault`).  Returns the bytes copied.
    #[inline]
    pub(crate) fn copy_to_iter_nofault(&self, dest: &mut IovIterDest<'_>) -> usize {
        // CAST: folio sizes, and so offsets inside one, fit an `unsigned
        // int`.
        let offset = self.offset as u32;
        // SAFETY: The folio is locked and the range lies inside it (type
        // invariants); the routine walks from the folio's first page to
        // the one holding `offset`; `dest` is a valid `ITER_DEST` iterator
        // (its type's invariant) borrowed mutably for the call.
        unsafe {
            bindings::copy_page_to_iter_nofault(
                self.folio.head_page(),
                offset,
                self.len,
                dest.as_raw(),
            )
        }
    }

    /// Zeroes the bytes and flushes the data cache (`folio_zero_range`).
    #[inline]
    pub(crate) fn zero(&self) {
        match self.linear_address() {
            // SAFETY: The range lies inside the locked folio (type
            // invariants), which the direct map maps whole at its address.
            // Other CPUs may read the bytes meanwhile (as `filemap_read`
            // does, unlocked), as they may while C's `memset` writes them.
            Some(to) => unsafe { to.write_bytes(0, self.len) },
            // SAFETY: The folio is locked and the range lies inside it (type
            // invariants), so `zero_user_segments` does not BUG.
            None => unsafe {
                sys::vm_mvc_folio_zero_range(self.folio.as_ptr(), self.offset, self.len)
            },
        }
    }

    /// Copies the bytes into kernel memory at `to` (`memcpy_from_folio`).
    ///
    /// Where the folio's address is computed inline, `to` may overlap the
    /// bytes (a kernel buffer that is the folio's own memory): they are
    /// moved as `memmove` moves them.  Through the C helper an overlap
    /// gives `memcpy`'s result.
    ///
    /// # Safety
    ///
    /// `to` is kernel memory valid for writing `len` bytes.
    #[inline]
    pub(crate) unsafe fn copy_to_kernel(&self, to: *mut u8) {
        match self.linear_address() {
            // SAFETY: The range lies inside the locked folio (type
            // invariants), mapped whole at `from`; the caller guarantees
            // `to`.  User mappings may write the bytes meanwhile, as they
            // may while C's `memcpy` reads them.
            Some(from) => unsafe { copy_bytes(from, to, self.len) },
            // SAFETY: The range lies inside the locked folio (type
            // invariants); the caller guarantees `to`.
            None => unsafe {
                sys::vm_mvc_memcpy_from_folio(to.cast(), self.folio.as_ptr(), self.offset, self.len)
            },
        }
    }

    /// Copies kernel memory at `from` into the bytes and flushes the data
    /// cache (`memcpy_to_folio`); an overlap as in
    /// [`FolioRange::copy_to_kernel`].
    ///
    /// # Safety
    ///
    /// `from` is kernel memory valid for reading `len` bytes.
    #[inline]
    pub(crate) unsafe fn copy_from_kernel(&self, from: *const u8) {
        match self.linear_address() {
            // SAFETY: As in `copy_to_kernel`, the other way.
            Some(to) => unsafe { copy_bytes(from, to, self.len) },
            // SAFETY: The range lies inside the locked folio (type
            // invariants); the caller guarantees `from`.
            None => unsafe {
                sys::vm_mvc_memcpy_to_folio(self.folio.as_ptr(), self.offset, from.cast(), self.len)
            },
        }
    }

    /// Maps each base page of the range in turn and calls `f` with the
    /// mapped piece and the piece's position in the range.
    ///
    /// A large folio is mapped one page at a time, since `kmap_local_page`
    /// maps a single page on configurations with highmem.
    pub(crate) fn for_each_piece(
        &self,
        f: impl FnMut(&MappedPiece<'_>, usize) -> Result,
    ) -> Result {
        self.for_each_piece_in(Order::Forward, f)
    }

    /// [`FolioRange::for_each_piece`], the pieces taken in `order`.
    pub(crate) fn for_each_piece_in(
        &self,
        order: Order,
        mut f: impl FnMut(&MappedPiece<'_>, usize) -> Result,
    ) -> Result {
        for (pos, piece_len) in PagePieces::new(self.offset, self.len, order) {
            // SAFETY: `pos < offset + len <= folio_size` (type invariant),
            // so page `pos / PAGE_SIZE` is inside the folio, which stays
            // alive and locked for `'a`.
            let page = unsafe { sys::vm_mvc_folio_page(self.folio.as_ptr(), pos / PAGE_SIZE) };
            // SAFETY: `page` belongs to the live folio; the mapping is undone
            // below, in reverse order of any mapping `f` makes.
            let base = unsafe { sys::vm_mvc_kmap_local_page(page) }.cast::<u8>();
            let in_page = pos % PAGE_SIZE;
            // INVARIANT: `base` maps the whole page and `in_page + piece_len
            // <= PAGE_SIZE` (`PagePieces`); the piece only lives during the
            // call to `f`.
            let piece = MappedPiece {
                page,
                // SAFETY: `in_page < PAGE_SIZE`, inside the mapped page.
                addr: unsafe { base.add(in_page) },
                offset: in_page,
                len: piece_len,
                _mapping: core::marker::PhantomData,
            };
            let result = f(&piece, pos - self.offset);
            // SAFETY: `base` came from `kmap_local_page` just above, and `f`
            // has returned, so its own local mappings are gone.
            unsafe { sys::vm_mvc_kunmap_local(base.cast()) };
            result?;
        }
        Ok(())
    }
}

/// Copies `len` bytes from `from` to `to`, which may overlap: `memcpy`
/// where they do not (faster than `memmove`, which checks the direction
/// and copies in a loop on x86), `memmove` where they do.
/// `copy_nonoverlapping` on overlapping bytes would be undefined behaviour
/// (a panic with `CONFIG_RUST_DEBUG_ASSERTIONS`), not `memcpy`'s result.
///
/// # Safety
///
/// `from` is valid for reading and `to` for writing `len` bytes.
#[inline(always)]
pub(crate) unsafe fn copy_bytes(from: *const u8, to: *mut u8, len: usize) {
    if (from as usize).abs_diff(to as usize) >= len {
        // SAFETY: The caller guarantees both ranges, which are `len` or more
        // bytes apart: they do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(from, to, len) };
    } else {
        // SAFETY: The caller guarantees both ranges; `ptr::copy` is `memmove`.
        unsafe { core::ptr::copy(from, to, len) };
    }
}

/// Which end a walk over a range starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    /// From the first byte to the last.
    Forward,
    /// From the last byte to the first, as `memmove` copies when the
    /// destination lies after the source.
    Backward,
}

/// The pieces of bytes `start..start + len` cut at every multiple of
/// `PAGE_SIZE`, as `(position, length)`, in a given [`Order`]: each piece
/// lies in one page, and the pieces cover the bytes once.
pub(crate) struct PagePieces {
    /// First byte not yet handed out.
    low: usize,
    /// One past the last byte not yet handed out.
    high: usize,
    order: Order,
}

impl PagePieces {
    /// The pieces of `start..start + len`, which must not wrap.
    pub(crate) fn new(start: usize, len: usize, order: Order) -> Self {
        Self {
            low: start,
            high: start + len,
            order,
        }
    }
}

impl Iterator for PagePieces {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        if self.low >= self.high {
            return None;
        }
        let (start, end) = match self.order {
            Order::Forward => {
                let page_end = (self.low - self.low % PAGE_SIZE).saturating_add(PAGE_SIZE);
                (self.low, page_end.min(self.high))
            }
            Order::Backward => {
                let last = self.high - 1;
                ((last - last % PAGE_SIZE).max(self.low), self.high)
            }
        };
        match self.order {
            Order::Forward => self.low = end,
            Order::Backward => self.high = start,
        }
        Some((start, end - start))
    }
}

/// Owns the folio lock and a reference to the folio, and releases both on
/// drop; derefs to the [`LockedFolio`] it guards.
///
/// # Invariants
///
/// The current context holds the lock of `folio` and the reference `folio`
/// carries.
pub(crate) struct FolioGuard {
    folio: ManuallyDrop<ARef<Folio>>,
}

impl FolioGuard {
    /// Takes over a folio returned locked and referenced by the kernel.
    ///
    /// # Safety
    ///
    /// `ptr` points to a folio whose lock and one reference the caller owns
    /// and hands over.
    pub(crate) unsafe fn from_raw_locked(ptr: NonNull<bindings::folio>) -> Self {
        // SAFETY: The caller hands over one reference.
        let folio = unsafe { ARef::from_raw(ptr.cast::<Folio>()) };
        // INVARIANT: The caller hands over the lock as well.
        Self {
            folio: ManuallyDrop::new(folio),
        }
    }

    /// Gives the lock and the reference to the caller, as a raw pointer.
    pub(crate) fn into_raw(self) -> *mut bindings::folio {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the reference is
        // moved out exactly once.
        let folio = unsafe { ManuallyDrop::take(&mut this.folio) };
        ARef::into_raw(folio).as_ptr().cast()
    }
}

impl Deref for FolioGuard {
    type Target = LockedFolio;

    fn deref(&self) -> &LockedFolio {
        // SAFETY: The lock and a reference are held for as long as `self`
        // lives (type invariant).
        unsafe { LockedFolio::from_raw(self.folio.as_ptr()) }
    }
}

impl FolioGuard {
    /// Unlocks the folio and puts the reference, as dropping the guard
    /// does, without the drop glue: at `opt-level=s` rustc keeps
    /// `drop_in_place::<FolioGuard>` out of line, one more call on the path
    /// of every call by sid.
    #[inline(always)]
    pub(crate) fn release(self) {
        let mut this = ManuallyDrop::new(self);
        this.unlock_and_put();
    }

    /// Unlocks the folio, then puts the reference.
    #[inline(always)]
    fn unlock_and_put(&mut self) {
        // SAFETY: The lock is held (type invariant) and released once: by
        // the drop or by `release`, which forgets the guard.
        unsafe { bindings::folio_unlock(self.folio.as_ptr()) };
        // SAFETY: `self.folio` is not used after this; dropping it puts the
        // reference after the unlock, as C callers do.
        unsafe { ManuallyDrop::drop(&mut self.folio) };
    }
}

impl Drop for FolioGuard {
    // Inline: on every call's path, where it is an unlock and a put.
    #[inline(always)]
    fn drop(&mut self) {
        self.unlock_and_put();
    }
}

/// A locked folio found by a page-cache lookup of one of its pages.
///
/// The lookup proves that the page lies in the folio, so the page's byte
/// offset in it needs no check; derefs to the [`LockedFolio`].
///
/// # Invariants
///
/// Page-cache index `index` lies in `folio`.  It stays there while the
/// folio is locked and referenced: a split needs the lock and freezes the
/// reference count, and truncation does not move a folio.
pub(crate) struct LockedPage {
    folio: FolioGuard,
    index: usize,
}

impl LockedPage {
    /// Pairs a locked folio with one of its pages.
    ///
    /// # Safety
    ///
    /// Page-cache index `index` lies in `folio`.
    pub(crate) unsafe fn new(folio: FolioGuard, index: usize) -> Self {
        // INVARIANT: the caller's guarantee.
        Self { folio, index }
    }

    /// Unlocks the folio and puts the reference: [`FolioGuard::release`].
    #[inline(always)]
    pub(crate) fn release(self) {
        self.folio.release();
    }

    /// Byte offset of the page in the folio.
    #[inline]
    pub(crate) fn offset_in_folio(&self) -> usize {
        // The page lies in the folio (type invariant): `index >= first` and
        // `(index - first) * PAGE_SIZE < folio_size`, so neither operation
        // wraps.
        self.index
            .wrapping_sub(self.folio.index())
            .wrapping_mul(PAGE_SIZE)
    }

    /// Bytes `range` of the page: inside the folio by construction, with
    /// no check.
    #[inline]
    pub(crate) fn range(&self, range: PageRange) -> FolioRange<'_> {
        // INVARIANT: the page lies in the folio (type invariant) and `range`
        // in the page (`PageRange`'s), so the range ends inside the folio.
        FolioRange {
            folio: &self.folio,
            offset: self.offset_in_folio() + range.offset(),
            len: range.len(),
        }
    }
}

impl Deref for LockedPage {
    type Target = LockedFolio;

    fn deref(&self) -> &LockedFolio {
        &self.folio
    }
}

/// Maps `page` into the kernel for the duration of `f`.
///
/// # Safety
///
/// `page` is a valid page on which the caller holds a reference or pin for
/// the duration of the call.
pub(crate) unsafe fn with_page_mapped<R>(
    page: *mut bindings::page,
    f: impl FnOnce(*mut u8) -> R,
) -> R {
    // SAFETY: The caller keeps `page` alive; unmapped below.
    let base = unsafe { sys::vm_mvc_kmap_local_page(page) }.cast::<u8>();
    let result = f(base);
    // SAFETY: `base` came from `kmap_local_page` above and `f` has returned.
    unsafe { sys::vm_mvc_kunmap_local(base.cast()) };
    result
}

#[kunit_tests(vm_mvc_folio)]
mod tests {
    use super::*;

    /// Allocates a folio of `1 << order` pages, not in any page cache.
    fn alloc(order: u32) -> Result<ARef<Folio>> {
        // SAFETY: Allocating a folio has no preconditions.
        let folio = unsafe { sys::vm_mvc_folio_alloc(bindings::GFP_KERNEL, order) };
        let folio = NonNull::new(folio).ok_or(ENOMEM)?;
        // SAFETY: The allocation's reference moves into the `ARef`.
        Ok(unsafe { ARef::from_raw(folio.cast::<Folio>()) })
    }

    /// Where the kernel maps page `n` of `folio` (`kmap_local_page`).
    fn kernel_address(folio: &Folio, n: usize) -> *mut u8 {
        // SAFETY: `n` is a page of the live folio, which the caller holds.
        let page = unsafe { sys::vm_mvc_folio_page(folio.as_ptr(), n) };
        // SAFETY: As above; the mapping is undone at once.
        let addr = unsafe { sys::vm_mvc_kmap_local_page(page) };
        // SAFETY: `addr` came from `kmap_local_page` just above.
        unsafe { sys::vm_mvc_kunmap_local(addr) };
        addr.cast()
    }

    /// The exact division of `linear_address` gives `n` for `n` page
    /// structs' bytes, up to the largest count that fits in a `usize`.
    #[test]
    fn exact_pages_divides_whole_numbers_of_page_structs() {
        let size = size_of::<bindings::page>();
        for n in [
            0,
            1,
            2,
            7,
            8,
            9,
            56,
            4095,
            1 << 20,
            (1 << 30) + 3,
            usize::MAX / size,
        ] {
            assert_eq!(exact_pages(n * size), n);
        }
    }

    /// The folio address computed inline (used by the kernel-buffer copies
    /// and ZERO) is where the kernel maps every page of folios of several
    /// orders, allocated wherever the page allocator puts them.
    #[test]
    fn linear_address_is_where_the_kernel_maps_every_page() -> Result {
        if linear_map().is_none() {
            crate::test_fixture::skip(c"folio addresses are not computed inline on this kernel");
            return Ok(());
        }
        let mut folios = KVec::new();
        for order in [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 9] {
            folios.push(alloc(order)?, GFP_KERNEL)?;
        }
        for folio in folios.iter() {
            let first = folio.linear_address().ok_or(EINVAL)?;
            for n in 0..folio.size() / PAGE_SIZE {
                assert_eq!(first.wrapping_add(n * PAGE_SIZE), kernel_address(folio, n));
            }
        }
        Ok(())
    }
}
