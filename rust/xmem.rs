// SPDX-License-Identifier: GPL-2.0

//! Cross-memory descriptors (AIX `struct xmem`): the buffer m2 of vm_mvc.
//!
//! A user buffer is pinned when it is attached (`pin_user_pages_fast`, the
//! AIX `xmattach` plus `xmempin`), so copies under the folio lock never
//! fault: a buffer that is an mmap of the very page being copied cannot
//! deadlock on the folio lock, and the copy goes through the kernel mapping
//! of the pinned page.  Detaching unpins with
//! `unpin_user_pages_dirty_lock`, dirtying the pages only if vm_mvc copied
//! data into them.
//!
//! Pins are short-term by default, for a descriptor attached and detached
//! within one system call.  `VM_MVC_XMEM_LONGTERM` asks for `FOLL_LONGTERM`
//! for descriptors kept across system calls; the kernel refuses such a
//! writable pin of a shared mapping of a file that needs dirty tracking
//! (mm/gup.c `writable_file_mapping_allowed`), and so does attach, with
//! `EFAULT`.
//!
//! A kernel buffer (kmalloc or vmalloc, AIX `SYS_ADSPACE`) is used through
//! its kernel address without pinning.

use crate::{folio, folio::MappedPiece, stats, sys};
use core::ptr;
use kernel::{
    bindings,
    ffi::{c_int, c_void},
    page::PAGE_SIZE,
    prelude::*,
    sync::atomic::{Atomic, Relaxed}, //
};

/// Which way a copy goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// From the folio into the buffer (VM_MVC_READ).
    ToBuffer,
    /// From the buffer into the folio (VM_MVC_WRITE).
    FromBuffer,
}

// CAST: the `aspace_id` values of include/vm_mvc.h, small `#define`s that
// bindgen types by their sign.
const XMEM_PROC: isize = sys::XMEM_PROC as isize;
const XMEM_GLOBAL: isize = sys::XMEM_GLOBAL as isize;
const XMEM_INVAL: isize = sys::XMEM_INVAL as isize;

/// The largest buffer one descriptor can describe, as AIX's `int count`.
const MAX_LEN: usize = i32::MAX as usize;

/// How an attach should treat the buffer (`vm_mvc_xmattach` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AttachFlags {
    kernel: bool,
    read_only: bool,
    long_term: bool,
}

impl AttachFlags {
    /// Decodes the flags of include/vm_mvc.h; `EINVAL` for unknown bits and
    /// for the user-only bits on a kernel buffer.
    pub(crate) fn from_raw(flags: c_int) -> Result<Self> {
        let known = sys::SYS_ADSPACE | sys::VM_MVC_XMEM_READONLY | sys::VM_MVC_XMEM_LONGTERM;
        // CAST: the flag constants are small positive `#define`s.
        let known = known as c_int;
        if flags & !known != 0 {
            return Err(EINVAL);
        }
        let has = |bit: u32| flags & bit as c_int != 0;
        let this = Self {
            kernel: has(sys::SYS_ADSPACE),
            read_only: has(sys::VM_MVC_XMEM_READONLY),
            long_term: has(sys::VM_MVC_XMEM_LONGTERM),
        };
        if this.kernel && (this.read_only || this.long_term) {
            return Err(EINVAL);
        }
        Ok(this)
    }

    /// A kernel buffer.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) const KERNEL: Self = Self {
        kernel: true,
        read_only: false,
        long_term: false,
    };

    /// A user buffer, pinned for reading and writing for a short time.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) const USER: Self = Self {
        kernel: false,
        read_only: false,
        long_term: false,
    };
}

/// The memory behind an attachment.
enum Memory {
    /// A kernel buffer, addressed directly.
    Kernel,
    /// Pinned user pages, covering the buffer from its first page on.
    User {
        pages: KVVec<*mut bindings::page>,
        writable: bool,
    },
}

/// An attached buffer.
///
/// # Invariants
///
/// - For `Memory::Kernel`, `start..start + len` is kernel memory (linear
///   map or vmalloc) that the attacher keeps allocated until detach.
/// - For `Memory::User`, `pages[i]` is the pinned page holding user bytes
///   `(start & PAGE_MASK) + i * PAGE_SIZE ..`, and there are enough pages to
///   cover `start..start + len`; they stay pinned until drop.
pub(crate) struct Attachment {
    start: usize,
    len: usize,
    memory: Memory,
    /// Data was copied into the user pages, so they are dirty on detach.
    received: Atomic<bool>,
}

// SAFETY: The pinned pages and the kernel buffer may be used from any
// thread; `received` is atomic.
unsafe impl Send for Attachment {}
// SAFETY: See `Send`; `copy` only reads the fields.
unsafe impl Sync for Attachment {}

impl Attachment {
    /// Describes `len` bytes of kernel memory at `start`.
    ///
    /// `EFAULT` unless the first and last bytes are both in the kernel's
    /// linear map or both in vmalloc space (what kmalloc and vmalloc hand
    /// out).
    ///
    /// # Safety
    ///
    /// The buffer stays allocated, and nobody else accesses it while vm_mvc
    /// copies, until the attachment is dropped.
    pub(crate) unsafe fn kernel(start: usize, len: usize) -> Result<Self> {
        let last = check_extent(start, len)?;
        let (first_ptr, last_ptr) = (start as *const c_void, last as *const c_void);
        // SAFETY: Classifying addresses reads no memory.
        let linear = unsafe {
            sys::vm_mvc_virt_addr_valid(first_ptr) && sys::vm_mvc_virt_addr_valid(last_ptr)
        };
        // SAFETY: As above.
        let vmalloc =
            unsafe { bindings::is_vmalloc_addr(first_ptr) && bindings::is_vmalloc_addr(last_ptr) };
        if !linear && !vmalloc {
            return Err(EFAULT);
        }
        // INVARIANT: the caller keeps the buffer allocated.
        Ok(Self {
            start,
            len,
            memory: Memory::Kernel,
            received: Atomic::new(false),
        })
    }

    /// Pins `len` bytes of the current process's memory at `start`.
    ///
    /// `EFAULT` if there is no user address space, if any page of the range
    /// is not mapped (or not writable, unless read-only), or for a long-term
    /// writable pin of a dirty-tracked shared file mapping; `ENOMEM` without
    /// memory.  Nothing stays pinned on failure.
    pub(crate) fn user(start: usize, len: usize, flags: AttachFlags) -> Result<Self> {
        check_extent(start, len)?;
        if kernel::current!().mm().is_none() {
            return Err(EFAULT);
        }
        let first_page = start & !(PAGE_SIZE - 1);
        let nr_pages = (start - first_page + len).div_ceil(PAGE_SIZE);
        // GUP fails a range whose page-rounded end wraps with `EOVERFLOW`;
        // like any range that is not user memory, it is `EFAULT` here.
        first_page.checked_add(nr_pages * PAGE_SIZE).ok_or(EFAULT)?;
        // Up to 2^19 + 1 pointers: kvmalloc, not kmalloc.
        let mut pages = KVVec::with_capacity(nr_pages, GFP_KERNEL)?;
        let mut gup_flags = 0;
        if !flags.read_only {
            gup_flags |= bindings::FOLL_WRITE;
        }
        if flags.long_term {
            gup_flags |= bindings::FOLL_LONGTERM;
        }
        // CAST: `len <= MAX_LEN` so `nr_pages` fits in an int.
        let wanted = nr_pages as c_int;
        // SAFETY: `pages` has room for `nr_pages` pointers; GUP checks that
        // the range is user memory of `current->mm`, which exists.
        let ret = unsafe {
            bindings::pin_user_pages_fast(first_page, wanted, gup_flags, pages.as_mut_ptr())
        };
        let pinned = usize::try_from(ret).map_err(|_| Error::from_errno(ret))?;
        // SAFETY: `pin_user_pages_fast` wrote `pinned <= nr_pages` entries.
        unsafe { pages.inc_len(pinned) };
        stats::pages_pinned(pinned);
        let memory = Memory::User {
            pages,
            writable: !flags.read_only,
        };
        // INVARIANT: if fewer pages than needed were pinned, the value is
        // dropped at once, which unpins what was pinned.
        let this = Self {
            start,
            len,
            memory,
            received: Atomic::new(false),
        };
        if pinned < nr_pages {
            return Err(EFAULT);
        }
        Ok(this)
    }

    /// First byte of the buffer.
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// Length of the buffer in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer is kernel memory.
    pub(crate) fn is_kernel(&self) -> bool {
        matches!(self.memory, Memory::Kernel)
    }

    /// Whether vm_mvc may copy data into the buffer (it is not a read-only
    /// pin).
    pub(crate) fn can_receive(&self) -> bool {
        match &self.memory {
            Memory::Kernel => true,
            Memory::User { writable, .. } => *writable,
        }
    }

    /// Offset in the buffer of address `addr` for a copy of `count` bytes;
    /// `EFAULT` if `addr..addr + count` is not inside the buffer.
    pub(crate) fn locate(&self, addr: usize, count: usize) -> Result<usize> {
        let offset = addr.checked_sub(self.start).ok_or(EFAULT)?;
        let end = offset.checked_add(count).ok_or(EFAULT)?;
        if end > self.len {
            return Err(EFAULT);
        }
        Ok(offset)
    }

    /// Copies between a mapped piece of a folio and the buffer bytes from
    /// `offset` on, in direction `dir`.
    ///
    /// Source and destination may overlap: a user buffer may be an mmap of
    /// the folio itself.  A pinned page that is the piece's own page is
    /// reached through the piece's mapping, and overlapping copies are `memmove`s.
    pub(crate) fn copy(&self, offset: usize, piece: &MappedPiece<'_>, dir: Direction) -> Result {
        let end = offset.checked_add(piece.len()).ok_or(EFAULT)?;
        if end > self.len {
            return Err(EFAULT);
        }
        if dir == Direction::ToBuffer {
            if !self.can_receive() {
                return Err(EACCES);
            }
            self.received.store(true, Relaxed);
        }
        match &self.memory {
            Memory::Kernel => {
                let buffer = (self.start + offset) as *mut u8;
                // SAFETY: `offset + len <= self.len`, so the bytes are in the
                // attached kernel buffer (type invariant), and the piece is
                // mapped for `len` bytes (its invariant).
                unsafe { move_bytes(piece.addr(), buffer, piece.len(), dir) };
            }
            Memory::User { pages, .. } => {
                let first_page = self.start & !(PAGE_SIZE - 1);
                let mut done = 0;
                while done < piece.len() {
                    let pos = self.start - first_page + offset + done;
                    let in_page = pos % PAGE_SIZE;
                    let n = (PAGE_SIZE - in_page).min(piece.len() - done);
                    let page = *pages.get(pos / PAGE_SIZE).ok_or(EFAULT)?;
                    // SAFETY: `done + n <= piece.len()`, inside the mapping.
                    let folio_bytes = unsafe { piece.addr().add(done) };
                    if page == piece.page() {
                        // The buffer is this very page: use the piece's
                        // mapping so that `memmove` sees the overlap.
                        let page_base = piece.addr().wrapping_sub(piece.offset());
                        // SAFETY: `in_page + n <= PAGE_SIZE` in the mapped page.
                        let buffer = unsafe { page_base.add(in_page) };
                        // SAFETY: both ranges lie in the mapped page.
                        unsafe { move_bytes(folio_bytes, buffer, n, dir) };
                    } else {
                        // SAFETY: `page` is pinned until the attachment drops.
                        unsafe {
                            folio::with_page_mapped(page, |base| {
                                move_bytes(folio_bytes, base.add(in_page), n, dir)
                            })
                        };
                    }
                    if dir == Direction::ToBuffer {
                        // The user reads the bytes through its own mapping of
                        // the page: flush the kernel alias, as
                        // `memcpy_to_page` does.
                        //
                        // SAFETY: `page` is pinned until the attachment drops.
                        unsafe { sys::vm_mvc_flush_dcache_page(page) };
                    }
                    done += n;
                }
            }
        }
        Ok(())
    }
}

/// Checks a buffer's extent and returns the address of its last byte.
fn check_extent(start: usize, len: usize) -> Result<usize> {
    if len == 0 || len > MAX_LEN {
        return Err(EINVAL);
    }
    if start == 0 {
        return Err(EFAULT);
    }
    start.checked_add(len - 1).ok_or(EFAULT)
}

/// Moves `len` bytes between `folio_bytes` and `buffer` in direction `dir`.
///
/// # Safety
///
/// Both ranges are mapped kernel memory valid for `len` bytes; they may
/// overlap.
unsafe fn move_bytes(folio_bytes: *mut u8, buffer: *mut u8, len: usize, dir: Direction) {
    let (from, to) = match dir {
        Direction::ToBuffer => (folio_bytes, buffer),
        Direction::FromBuffer => (buffer, folio_bytes),
    };
    // Only a buffer that maps the folio itself can overlap it; every other
    // copy takes `memcpy`, faster than `memmove` (which checks direction and
    // copies in a loop on x86).
    if (from as usize).abs_diff(to as usize) >= len {
        // SAFETY: The caller guarantees both ranges, which are `len` or more
        // bytes apart: they do not overlap.
        unsafe { ptr::copy_nonoverlapping(from, to, len) };
    } else {
        // SAFETY: The caller guarantees both ranges; `ptr::copy` is `memmove`.
        unsafe { ptr::copy(from, to, len) };
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if let Memory::User { pages, .. } = &mut self.memory {
            let received = self.received.load(Relaxed);
            // SAFETY: Every entry of `pages` is a page pinned by this
            // attachment (type invariant), unpinned once, here.
            unsafe {
                bindings::unpin_user_pages_dirty_lock(pages.as_mut_ptr(), pages.len(), received)
            };
            stats::pages_unpinned(pages.len());
        }
    }
}

/// Attaches a buffer to a C descriptor (`vm_mvc_xmattach`).
///
/// `EBUSY` if the descriptor is already attached (AIX requires
/// `XMEM_INVAL`), `EINVAL` for bad flags or a length of 0 or above
/// `INT_MAX`, and the errors of [`Attachment::user`] and
/// [`Attachment::kernel`].  The descriptor is unchanged on failure.
///
/// # Safety
///
/// `dp` points to a `struct xmem` that the caller owns for the call.  For a
/// kernel buffer, the memory at `addr` stays allocated until detach.
pub(crate) unsafe fn attach(
    dp: *mut sys::xmem,
    addr: usize,
    len: usize,
    flags: AttachFlags,
) -> Result {
    // SAFETY: The caller owns `*dp`.
    let descriptor = unsafe { dp.as_mut() }.ok_or(EINVAL)?;
    if descriptor.aspace_id != XMEM_INVAL {
        return Err(EBUSY);
    }
    let attachment = if flags.kernel {
        // SAFETY: The caller keeps the kernel buffer allocated.
        unsafe { Attachment::kernel(addr, len) }?
    } else {
        Attachment::user(addr, len, flags)?
    };
    let aspace_id = if attachment.is_kernel() {
        XMEM_GLOBAL
    } else {
        XMEM_PROC
    };
    let attachment = KBox::new(attachment, GFP_KERNEL)?;
    descriptor.aspace_id = aspace_id;
    descriptor.uaddr = attachment.start();
    descriptor.len = attachment.len();
    descriptor.priv_ = KBox::into_raw(attachment).cast();
    Ok(())
}

/// The attachment behind a C descriptor; `EINVAL` if it is not attached.
///
/// # Safety
///
/// `dp` is null or points to a `struct xmem` that is either not attached or
/// was attached by [`attach`] and not detached since, and is not detached
/// during `'a`.
pub(crate) unsafe fn attachment<'a>(dp: *const sys::xmem) -> Result<&'a Attachment> {
    // SAFETY: The caller guarantees `dp` is null or valid.
    let descriptor = unsafe { dp.as_ref() }.ok_or(EINVAL)?;
    if ![XMEM_PROC, XMEM_GLOBAL].contains(&descriptor.aspace_id) || descriptor.priv_.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: An attached descriptor's `priv` is the attachment box made by
    // `attach`, alive until `detach` (caller's guarantee).
    Ok(unsafe { &*descriptor.priv_.cast::<Attachment>() })
}

/// Detaches a C descriptor (`vm_mvc_xmdetach`): unpins a user buffer and
/// resets the descriptor to `XMEM_INVAL`.  `EINVAL` if it is not attached.
///
/// # Safety
///
/// As for [`attachment`], and no vm_mvc call uses the descriptor
/// concurrently.
pub(crate) unsafe fn detach(dp: *mut sys::xmem) -> Result {
    // SAFETY: The caller's guarantee, as for `attachment`.
    unsafe { attachment(dp) }?;
    // SAFETY: `attachment` checked that `dp` is non-null and attached.
    let descriptor = unsafe { &mut *dp };
    // SAFETY: The box was made by `attach`; the descriptor gives it up here.
    drop(unsafe { KBox::from_raw(descriptor.priv_.cast::<Attachment>()) });
    *descriptor = sys::xmem {
        aspace_id: XMEM_INVAL,
        ..Default::default()
    };
    Ok(())
}

#[kunit_tests(vm_mvc_xmem)]
mod tests {
    use super::*;
    use crate::test_fixture::{kernel_attachment, RamFs, UserMemory};

    fn pins_live() -> u64 {
        stats::get().pins_live()
    }

    #[test]
    fn pins_go_back_to_baseline_after_detach() -> Result {
        let baseline = pins_live();
        let user = UserMemory::anonymous(4)?;
        // 100 bytes into page 0 up to 100 bytes into page 3: four pages.
        let attachment = user.attach(100, 3 * PAGE_SIZE, AttachFlags::USER)?;
        assert_eq!(pins_live(), baseline + 4);
        drop(attachment);
        assert_eq!(pins_live(), baseline);
        Ok(())
    }

    #[test]
    fn buffer_with_unmapped_page_is_efault_and_unpinned() -> Result {
        let baseline = pins_live();
        let user = UserMemory::anonymous(3)?;
        user.unmap_page(1)?;
        assert!(user
            .attach(10, 3 * PAGE_SIZE - 20, AttachFlags::USER)
            .is_err());
        assert_eq!(pins_live(), baseline);
        // The page before the hole alone still attaches.
        drop(user.attach(0, PAGE_SIZE, AttachFlags::USER)?);
        assert_eq!(pins_live(), baseline);
        Ok(())
    }

    #[test]
    fn failed_attach_leaves_no_page_pinned() -> Result {
        // The same as above, seen on the pages themselves rather than on
        // vm_mvc's own counter: file pages 0 and 2 around a hole.
        let fs = RamFs::new()?;
        let file = fs.create(c"holed")?;
        file.fill_pages(3, |_| 3)?;
        let user = UserMemory::shared(&file, 3)?;
        user.unmap_page(1)?;
        let folios = [file.folio(0).ok_or(ENOENT)?, file.folio(2).ok_or(ENOENT)?];
        let attached = user.attach(0, PAGE_SIZE, AttachFlags::USER)?;
        assert!(folios[0].maybe_dma_pinned());
        drop(attached);
        // Page 0 is pinned before GUP stops at the hole, then unpinned.
        assert_eq!(
            user.attach(10, 3 * PAGE_SIZE - 20, AttachFlags::USER).err(),
            Some(EFAULT)
        );
        assert!(folios.iter().all(|folio| !folio.maybe_dma_pinned()));
        Ok(())
    }

    #[test]
    fn shared_file_page_is_pinned_only_while_attached() -> Result {
        let fs = RamFs::new()?;
        let file = fs.create(c"pinned")?;
        file.fill_pages(1, |_| 1)?;
        let user = UserMemory::shared(&file, 1)?;
        let folio = file.folio(0).ok_or(ENOENT)?;
        let attachment = user.attach(0, 64, AttachFlags::USER)?;
        assert!(folio.maybe_dma_pinned());
        drop(attachment);
        assert!(!folio.maybe_dma_pinned());
        Ok(())
    }

    #[test]
    fn long_term_pins_refuse_dirty_tracked_shared_file_mappings() -> Result {
        let baseline = pins_live();
        let long_term = AttachFlags::from_raw(sys::VM_MVC_XMEM_LONGTERM as c_int)?;
        // Anonymous memory: a long-term pin is fine.
        let anon = UserMemory::anonymous(2)?;
        drop(anon.attach(0, 2 * PAGE_SIZE, long_term)?);
        // ramfs mappings have page_mkwrite, so writes need dirty tracking:
        // a long-term writable pin is refused, a short-term one is not.
        let fs = RamFs::new()?;
        let file = fs.create(c"shared")?;
        file.fill_pages(2, |_| 2)?;
        let shared = UserMemory::shared(&file, 2)?;
        assert_eq!(
            shared.attach(0, 2 * PAGE_SIZE, long_term).err(),
            Some(EFAULT)
        );
        assert_eq!(pins_live(), baseline);
        drop(shared.attach(0, 2 * PAGE_SIZE, AttachFlags::USER)?);
        // A read-only long-term pin writes nothing, so it is allowed.
        let flags = (sys::VM_MVC_XMEM_LONGTERM | sys::VM_MVC_XMEM_READONLY) as c_int;
        drop(shared.attach(0, PAGE_SIZE, AttachFlags::from_raw(flags)?)?);
        assert_eq!(pins_live(), baseline);
        Ok(())
    }

    /// `Attachment::kernel`, keeping only the error.
    fn kernel_error(start: usize, len: usize) -> Option<Error> {
        // SAFETY: The tests pass a buffer they keep alive, or extents that
        // are refused before any memory is touched; the attachment is
        // dropped at once.
        unsafe { Attachment::kernel(start, len) }.err()
    }

    #[test]
    fn kernel_buffers_must_be_kernel_memory() -> Result {
        let buf = KVec::from_elem(0u8, 64, GFP_KERNEL)?;
        let start = buf.as_ptr() as usize;
        assert_eq!(kernel_error(start, 0), Some(EINVAL));
        assert_eq!(kernel_error(0, 64), Some(EFAULT));
        assert_eq!(kernel_error(0x10000, 64), Some(EFAULT));
        assert_eq!(kernel_error(usize::MAX - 8, 64), Some(EFAULT));
        assert_eq!(kernel_error(start, MAX_LEN + 1), Some(EINVAL));
        assert_eq!(kernel_error(start, 64), None);
        Ok(())
    }

    #[test]
    fn user_buffers_outside_user_space_are_efault() -> Result {
        let buf = KVec::from_elem(0u8, 64, GFP_KERNEL)?;
        let _user = UserMemory::anonymous(1)?;
        let kernel_address = buf.as_ptr() as usize;
        assert_eq!(
            Attachment::user(kernel_address, 64, AttachFlags::USER).err(),
            Some(EFAULT)
        );
        // The last page of the address space: its page-rounded end wraps.
        let top = usize::MAX - PAGE_SIZE + 1;
        for (start, len) in [(top, 16), (top + 100, PAGE_SIZE - 100)] {
            let attached = Attachment::user(start, len, AttachFlags::USER);
            assert_eq!(attached.err(), Some(EFAULT));
        }
        Ok(())
    }

    #[test]
    fn locate_accepts_exactly_the_attached_bytes() -> Result {
        let mut buf = KVec::from_elem(0u8, 100, GFP_KERNEL)?;
        let attachment = kernel_attachment(&mut buf)?;
        let start = attachment.start();
        assert_eq!(attachment.locate(start, 100), Ok(0));
        assert_eq!(attachment.locate(start + 99, 1), Ok(99));
        assert_eq!(attachment.locate(start + 100, 0), Ok(100));
        assert_eq!(attachment.locate(start + 100, 1), Err(EFAULT));
        assert_eq!(attachment.locate(start - 1, 1), Err(EFAULT));
        assert_eq!(attachment.locate(start + 1, usize::MAX), Err(EFAULT));
        Ok(())
    }

    #[test]
    fn attach_flags_are_checked() {
        let user_only = (sys::VM_MVC_XMEM_READONLY | sys::VM_MVC_XMEM_LONGTERM) as c_int;
        assert_eq!(AttachFlags::from_raw(0), Ok(AttachFlags::USER));
        assert_eq!(
            AttachFlags::from_raw(sys::SYS_ADSPACE as c_int),
            Ok(AttachFlags::KERNEL)
        );
        assert!(AttachFlags::from_raw(user_only).is_ok());
        assert_eq!(AttachFlags::from_raw(8), Err(EINVAL));
        assert_eq!(AttachFlags::from_raw(-1), Err(EINVAL));
        let kernel_long_term = (sys::SYS_ADSPACE | sys::VM_MVC_XMEM_LONGTERM) as c_int;
        assert_eq!(AttachFlags::from_raw(kernel_long_term), Err(EINVAL));
    }
}
