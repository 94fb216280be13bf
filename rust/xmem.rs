// SPDX-License-Identifier: GPL-2.0

//! Cross-memory descriptors (AIX `struct xmem`): the buffer m2 of vm_mvc.
//!
//! Attaching says which way data flows: the buffer is a source (of WRITE),
//! a destination (of READ), or both.  A call in a direction the buffer was
//! not attached for is `EACCES`.
//!
//! A user buffer is pinned when it is attached (`pin_user_pages_fast`, the
//! AIX `xmattach` plus `xmempin`), with `FOLL_WRITE` only for a
//! destination: a source may be a `PROT_READ` mapping, and pinning it
//! breaks no copy-on-write and runs no `page_mkwrite`.  Copies under the
//! folio lock then never fault: a buffer that is an mmap of the very page
//! being copied cannot deadlock on the folio lock, and the copy goes
//! through the kernel mapping of the pinned page.  Detaching unpins with
//! `unpin_user_pages_dirty_lock`, dirtying the pages only if vm_mvc copied
//! data into the buffer (then all of them: the record is per descriptor).
//!
//! Pins are short-term by default, for a descriptor attached and detached
//! within one system call.  `VM_MVC_XMEM_LONGTERM` asks for
//! `FOLL_LONGTERM` for descriptors kept across system calls; such pins are
//! charged to the process's `RLIMIT_MEMLOCK` in its `locked_vm`
//! (`account_locked_vm`, as VFIO and iommufd do; io_uring and RDMA charge
//! `pinned_vm`) and refused beyond it with `ENOMEM`, as `mlock` refuses.  The kernel refuses a writable long-term pin of a shared
//! mapping of a file that needs dirty tracking (mm/gup.c
//! `writable_file_mapping_allowed`), and so does attach, with `EFAULT`.
//!
//! A kernel buffer (kmalloc or vmalloc, AIX `SYS_ADSPACE`) is used through
//! its kernel address: attaching it checks the address once and writes the
//! descriptor, with no pin and no allocation, so it never sleeps.

use crate::{
    folio::{self, FolioRange, MappedPiece, Order, PagePieces},
    stats, sys,
};
use core::{mem::ManuallyDrop, ops::Deref, ptr};
use kernel::{
    bindings,
    ffi::{c_int, c_void},
    mm::Mm,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
    }, //
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

// CAST: the flags of include/vm_mvc.h, small positive `#define`s.
const KERNEL_FLAG: c_int = sys::SYS_ADSPACE as c_int;
const SOURCE_FLAG: c_int = sys::VM_MVC_XMEM_SOURCE as c_int;
const DEST_FLAG: c_int = sys::VM_MVC_XMEM_DEST as c_int;
const LONGTERM_FLAG: c_int = sys::VM_MVC_XMEM_LONGTERM as c_int;

/// The largest buffer one descriptor can describe, as AIX's `int count`.
const MAX_LEN: usize = i32::MAX as usize;

/// Which ways data may flow through an attached buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Access {
    /// The buffer may be read: the source of a WRITE.
    source: bool,
    /// The buffer may be written: the destination of a READ.
    dest: bool,
}

impl Access {
    /// Both ways.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) const BOTH: Self = Self {
        source: true,
        dest: true,
    };

    /// Whether a copy in direction `dir` may use the buffer.
    pub(crate) fn allows(self, dir: Direction) -> bool {
        match dir {
            Direction::ToBuffer => self.dest,
            Direction::FromBuffer => self.source,
        }
    }
}

/// How an attach should treat the buffer (`vm_mvc_xmattach` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AttachFlags {
    kernel: bool,
    access: Access,
    long_term: bool,
}

impl AttachFlags {
    /// Decodes the flags of include/vm_mvc.h: `EINVAL` for unknown bits,
    /// for neither `VM_MVC_XMEM_SOURCE` nor `VM_MVC_XMEM_DEST`, and for
    /// `VM_MVC_XMEM_LONGTERM` on a kernel buffer.
    #[inline]
    pub(crate) fn from_raw(flags: c_int) -> Result<Self> {
        if flags & !(KERNEL_FLAG | SOURCE_FLAG | DEST_FLAG | LONGTERM_FLAG) != 0 {
            return Err(EINVAL);
        }
        let this = Self {
            kernel: flags & KERNEL_FLAG != 0,
            access: Access {
                source: flags & SOURCE_FLAG != 0,
                dest: flags & DEST_FLAG != 0,
            },
            long_term: flags & LONGTERM_FLAG != 0,
        };
        if !(this.access.source || this.access.dest) || (this.kernel && this.long_term) {
            return Err(EINVAL);
        }
        Ok(this)
    }

    /// A kernel buffer, both ways.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) const KERNEL: Self = Self {
        kernel: true,
        access: Access {
            source: true,
            dest: true,
        },
        long_term: false,
    };

    /// A user buffer, pinned both ways (`FOLL_WRITE`) for a short time.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) const USER: Self = Self {
        kernel: false,
        access: Access {
            source: true,
            dest: true,
        },
        long_term: false,
    };

    /// A user buffer that is only a source, pinned without `FOLL_WRITE`.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) const USER_SOURCE: Self = Self {
        kernel: false,
        access: Access {
            source: true,
            dest: false,
        },
        long_term: false,
    };

    /// A user buffer that is only a destination.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) const USER_DEST: Self = Self {
        kernel: false,
        access: Access {
            source: false,
            dest: true,
        },
        long_term: false,
    };
}

/// Pinned user pages.
///
/// # Invariants
///
/// Every entry of `pages` is a page pinned by this value; `charged` is the
/// address space charged `charged_pages` pages of `RLIMIT_MEMLOCK` by it,
/// if any.  Both are released on drop.
struct Pinned {
    pages: KVVec<*mut bindings::page>,
    charged: Option<ARef<Mm>>,
    charged_pages: usize,
    /// Data was copied into the pages, so they are dirty on detach.
    received: Atomic<bool>,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if !self.pages.is_empty() {
            let received = self.received.load(Relaxed);
            // SAFETY: Every entry of `pages` is a page pinned by this value
            // (type invariant), unpinned once, here.
            unsafe {
                bindings::unpin_user_pages_dirty_lock(
                    self.pages.as_mut_ptr(),
                    self.pages.len(),
                    received,
                )
            };
            stats::pages_unpinned(self.pages.len());
        }
        if let Some(mm) = &self.charged {
            // SAFETY: `mm` was charged `charged_pages` by this value (type
            // invariant) and is kept alive by the reference; the charge
            // goes back once, here.
            unsafe { bindings::account_locked_vm(mm.as_raw(), self.charged_pages, false) };
        }
    }
}

/// The memory behind an attachment.
enum Memory {
    /// A kernel buffer, addressed directly.
    Kernel,
    /// Pinned user pages, covering the buffer from its first page on.
    User(Pinned),
}

/// An attached buffer.
///
/// # Invariants
///
/// - For `Memory::Kernel`, `start..start + len` is kernel memory (linear
///   map, vmalloc or module space) that the attacher keeps allocated until
///   detach.
/// - For `Memory::User`, page `i` of the pinned pages holds user bytes
///   `(start & PAGE_MASK) + i * PAGE_SIZE ..`, and there are enough pages
///   to cover `start..start + len`.
pub(crate) struct Attachment {
    start: usize,
    len: usize,
    access: Access,
    memory: Memory,
}

// SAFETY: The pinned pages and the kernel buffer may be used from any
// thread; `received` is atomic.
unsafe impl Send for Attachment {}
// SAFETY: See `Send`; copies only read the fields.
unsafe impl Sync for Attachment {}

impl Attachment {
    /// Describes `len` bytes of kernel memory at `start`.
    ///
    /// `EINVAL` for a length of 0 or above `INT_MAX`; `EFAULT` unless the
    /// first and last bytes are both in the kernel's linear map (kmalloc,
    /// and on x86-64 the kernel image's static data), or the whole range is
    /// mapped vmalloc or module space (vmalloc, a module's static data).
    /// Allocates nothing and never sleeps.
    ///
    /// # Safety
    ///
    /// The buffer stays allocated, and nobody else accesses it while vm_mvc
    /// copies, until the attachment is dropped.
    pub(crate) unsafe fn kernel(start: usize, len: usize, access: Access) -> Result<Self> {
        let last = check_extent(start, len)?;
        let (first_ptr, last_ptr) = (start as *const c_void, last as *const c_void);
        // SAFETY: Classifying addresses reads no memory.
        let linear = unsafe {
            sys::vm_mvc_virt_addr_valid(first_ptr) && sys::vm_mvc_virt_addr_valid(last_ptr)
        };
        // A linear-map buffer (kmalloc) is accepted without the vmalloc
        // checks' two out-of-line calls.
        if !linear {
            // Module memory counts as vmalloc space: it is where User-Mode
            // Linux (and most architectures) load modules, and x86-64's
            // module area is mapped the same way (`vmalloc_to_page` walks
            // it), so a module's static buffer is accepted everywhere, as
            // the kernel image's static data is (in the linear map).
            // SAFETY: As above.
            let vmalloc = unsafe {
                bindings::is_vmalloc_or_module_addr(first_ptr) != 0
                    && bindings::is_vmalloc_or_module_addr(last_ptr) != 0
            };
            if !(vmalloc && vmalloc_range_mapped(start, last)) {
                return Err(EFAULT);
            }
        }
        // INVARIANT: the caller keeps the buffer allocated.
        Ok(Self {
            start,
            len,
            access,
            memory: Memory::Kernel,
        })
    }

    /// Pins `len` bytes of the current process's memory at `start`, for
    /// writing only if the buffer is a destination.
    ///
    /// `EFAULT` if there is no user address space, if any page of the range
    /// is not mapped (or, for a destination, not writable), or for a
    /// long-term writable pin of a dirty-tracked shared file mapping;
    /// `ENOMEM` without memory, or for a long-term pin beyond
    /// `RLIMIT_MEMLOCK`; `EINTR` if a fatal signal stopped the pinning.
    /// Nothing stays pinned or charged on failure.
    pub(crate) fn user(start: usize, len: usize, flags: AttachFlags) -> Result<Self> {
        kernel::task::might_sleep();
        check_extent(start, len)?;
        let current = kernel::current!();
        let mm = current.mm().ok_or(EFAULT)?;
        let first_page = start & !(PAGE_SIZE - 1);
        let nr_pages = (start - first_page + len).div_ceil(PAGE_SIZE);
        // GUP fails a range whose page-rounded end wraps with `EOVERFLOW`;
        // like any range that is not user memory, it is `EFAULT` here.
        first_page.checked_add(nr_pages * PAGE_SIZE).ok_or(EFAULT)?;
        let mut pinned = Pinned {
            pages: KVVec::new(),
            charged: None,
            charged_pages: 0,
            received: Atomic::new(false),
        };
        let mut gup_flags = 0;
        if flags.access.dest {
            gup_flags |= bindings::FOLL_WRITE;
        }
        if flags.long_term {
            gup_flags |= bindings::FOLL_LONGTERM;
            let mm: ARef<Mm> = ARef::from(&**mm);
            // SAFETY: `mm` is referenced; `account_locked_vm` takes its
            // mmap lock itself.
            let ret = unsafe { bindings::account_locked_vm(mm.as_raw(), nr_pages, true) };
            kernel::error::to_result(ret)?;
            // INVARIANT: charged here, uncharged by `Pinned::drop`.
            pinned.charged = Some(mm);
            pinned.charged_pages = nr_pages;
        }
        // Up to 2^19 + 1 pointers: kvmalloc, not kmalloc.
        pinned.pages.reserve(nr_pages, GFP_KERNEL)?;
        // A pin that stops part-way returns the pages it pinned and drops
        // the error that stopped it (mm/gup.c `gup_fast_fallback`: GUP-fast
        // pins the resident pages, then the slow path fails): the next
        // round, from the first page not pinned, returns that error itself
        // (`EINTR` for a fatal signal, `ENOMEM`, `EFAULT`).  Each round
        // pins at least one page or ends the loop.
        let mut got = 0;
        while got < nr_pages {
            // CAST: `len <= MAX_LEN` so `nr_pages` fits in an int.
            let wanted = (nr_pages - got) as c_int;
            // SAFETY: `pages` has room for `nr_pages` pointers, `got` of
            // them written; GUP checks that the range is user memory of
            // `current->mm`, which exists.
            let ret = unsafe {
                bindings::pin_user_pages_fast(
                    first_page + got * PAGE_SIZE,
                    wanted,
                    gup_flags,
                    pinned.pages.as_mut_ptr().add(got),
                )
            };
            let n = match usize::try_from(ret) {
                Ok(0) => return Err(EFAULT),
                Ok(n) => n,
                Err(_) => return Err(Error::from_errno(ret)),
            };
            // INVARIANT: they are pinned, and unpinned when `pinned` drops,
            // at once if the loop returns an error.
            //
            // SAFETY: `pin_user_pages_fast` wrote `n <= nr_pages - got`
            // entries after the `got` already there.
            unsafe { pinned.pages.inc_len(n) };
            stats::pages_pinned(n);
            got += n;
        }
        // INVARIANT: the pages cover the buffer from its first page on.
        Ok(Self {
            start,
            len,
            access: flags.access,
            memory: Memory::User(pinned),
        })
    }

    /// First byte of the buffer.
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// The bytes `addr..addr + count` of the buffer, for a copy in
    /// direction `dir`: `EFAULT` if they are not inside the buffer,
    /// `EACCES` if the buffer was not attached for that direction.
    #[inline]
    pub(crate) fn locate(
        &self,
        addr: usize,
        count: usize,
        dir: Direction,
    ) -> Result<BufferRange<'_>> {
        let offset = addr.checked_sub(self.start).ok_or(EFAULT)?;
        let end = offset.checked_add(count).ok_or(EFAULT)?;
        if end > self.len {
            return Err(EFAULT);
        }
        if !self.access.allows(dir) {
            return Err(EACCES);
        }
        // INVARIANT: `end <= self.len` was checked above.
        Ok(BufferRange {
            attachment: self,
            offset,
            len: count,
            dir,
        })
    }

    /// Copies between a mapped piece of a folio and the bytes from `offset`
    /// on of a user buffer, pinned as `pinned`, in direction `dir`, one
    /// pinned page at a time, taking the pages in `order`.
    ///
    /// Source and destination may overlap: a user buffer may be an mmap of
    /// the folio itself.  A pinned page that is the piece's own page is
    /// reached through the piece's mapping (on highmem, a second
    /// `kmap_local_page` of it would be another address), and each
    /// overlapping part is a `memmove`; [`BufferRange::copy_user`] chooses
    /// the order that makes the whole copy one.
    ///
    /// # Safety
    ///
    /// `pinned` is this attachment's memory, and `offset + piece.len() <=
    /// self.len`.
    unsafe fn copy_user_piece(
        &self,
        pinned: &Pinned,
        offset: usize,
        piece: &MappedPiece<'_>,
        dir: Direction,
        order: Order,
    ) {
        let first_page = self.start & !(PAGE_SIZE - 1);
        // Position of the piece's first buffer byte from `first_page`.
        let base = self.start - first_page + offset;
        for (pos, n) in PagePieces::new(base, piece.len(), order) {
            let (done, in_page) = (pos - base, pos % PAGE_SIZE);
            // SAFETY: `pos < start - first_page + len` (the caller's
            // guarantee), and the pinned pages of this attachment
            // cover that (type invariant).
            let page = unsafe { *pinned.pages.get_unchecked(pos / PAGE_SIZE) };
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
            if dir == Direction::ToBuffer && folio::ARCH_FLUSHES_DCACHE {
                // The user reads the bytes through its own mapping of
                // the page: flush the kernel alias, as
                // `memcpy_to_page` does.
                //
                // SAFETY: `page` is pinned until the attachment drops.
                unsafe { sys::vm_mvc_flush_dcache_page(page) };
            }
        }
    }
}

/// Bytes of an attached buffer that a call copies, checked once by
/// [`Attachment::locate`].
///
/// # Invariants
///
/// `offset + len <= attachment.len`, and the attachment was attached for
/// direction `dir`.
#[derive(Clone, Copy)]
pub(crate) struct BufferRange<'a> {
    attachment: &'a Attachment,
    offset: usize,
    len: usize,
    dir: Direction,
}

impl BufferRange<'_> {
    /// Whether the copy writes the folio (WRITE).
    pub(crate) fn changes_folio(&self) -> bool {
        self.dir == Direction::FromBuffer
    }

    /// Copies between the buffer bytes and the bytes of `range`, in the
    /// buffer range's direction, and flushes the data cache of what it
    /// wrote.  Nothing is checked again: `EINVAL` if the two lengths
    /// differ, which no caller does.
    ///
    /// A kernel buffer is copied as `memcpy_{from,to}_folio` copy it: if it
    /// overlaps the folio bytes, they are moved as `memmove` would where the
    /// folio's address is computed inline, and get `memcpy`'s result
    /// through the C helpers.  A pinned user buffer may be a mapping of the
    /// very page and is copied piece by piece as `memmove` would.
    #[inline(always)]
    pub(crate) fn copy(&self, range: FolioRange<'_>) -> Result {
        if range.len() != self.len {
            return Err(EINVAL);
        }
        let attachment = self.attachment;
        match &attachment.memory {
            Memory::Kernel => {
                // The bytes lie in the attached kernel buffer: `self.offset +
                // self.len <= attachment.len` (type invariant).
                let buffer = attachment.start.wrapping_add(self.offset) as *mut u8;
                match self.dir {
                    // SAFETY: `buffer` is valid for `len` bytes of the kernel
                    // buffer, which its attacher keeps allocated and does not
                    // touch while vm_mvc copies (`Attachment` invariant).
                    Direction::ToBuffer => unsafe { range.copy_to_kernel(buffer) },
                    // SAFETY: As above.
                    Direction::FromBuffer => unsafe { range.copy_from_kernel(buffer) },
                }
            }
            Memory::User(pinned) => self.copy_user(pinned, range)?,
        }
        Ok(())
    }

    /// [`BufferRange::copy`] of a pinned user buffer, `pinned`: page by
    /// page, out of line (the kernel buffer's copy is the fast path).
    ///
    /// The buffer may map pages of the folio itself (a shared mapping of
    /// the file, m2 aliasing m1), then the bytes are moved as one `memmove`
    /// would move them: page by page back to front when the destination
    /// lies after the source ([`BufferRange::order`]), front to back
    /// otherwise.
    #[inline(never)]
    fn copy_user(&self, pinned: &Pinned, range: FolioRange<'_>) -> Result {
        let attachment = self.attachment;
        let order = self.order(pinned, range);
        range.for_each_piece_in(order, |piece, done| {
            // SAFETY: `done + piece.len() <= self.len` (`for_each_piece_in`),
            // and `self.offset + self.len <= attachment.len` (type
            // invariant).
            unsafe {
                attachment.copy_user_piece(pinned, self.offset + done, piece, self.dir, order)
            };
            Ok(())
        })?;
        match self.dir {
            Direction::ToBuffer => pinned.received.store(true, Relaxed),
            Direction::FromBuffer => range.folio().flush_dcache(),
        }
        Ok(())
    }

    /// The order in which a copy between these buffer bytes (pinned as
    /// `pinned`) and `range` moves its pages so that it is a `memmove`.
    ///
    /// The two overlap only where a pinned page of the buffer is a page of
    /// the folio itself.  Byte `i` of the copy is then, on the buffer's
    /// side, byte `in_page` of the folio's page `n`, and on the folio's side
    /// byte `range.offset() + i` of the folio.  The distance between the
    /// two is the same for every byte of a mapping of the file, and when
    /// the destination's byte lies after the source's, a front-to-back copy
    /// would overwrite source bytes before it reads them: back to front.
    fn order(&self, pinned: &Pinned, range: FolioRange<'_>) -> Order {
        let first_page = self.attachment.start & !(PAGE_SIZE - 1);
        let base = self.attachment.start - first_page + self.offset;
        for (pos, _) in PagePieces::new(base, self.len, Order::Forward) {
            let Some(&page) = pinned.pages.get(pos / PAGE_SIZE) else {
                break;
            };
            let Some(n) = range.folio().page_index(page) else {
                continue;
            };
            let in_buffer = n * PAGE_SIZE + pos % PAGE_SIZE;
            let in_range = range.offset() + (pos - base);
            let dest_after_source = match self.dir {
                Direction::ToBuffer => in_buffer > in_range,
                Direction::FromBuffer => in_range > in_buffer,
            };
            return if dest_after_source {
                Order::Backward
            } else {
                Order::Forward
            };
        }
        Order::Forward
    }
}

/// Whether every page of vmalloc space from `start` to `last` is mapped:
/// two vmalloc areas are apart by an unmapped guard page, so a range with
/// its ends in two areas is not one buffer.
fn vmalloc_range_mapped(start: usize, last: usize) -> bool {
    let mut page = start & !(PAGE_SIZE - 1);
    while page <= last {
        // SAFETY: `page` is in vmalloc or module space; the walk reads page tables
        // only, under their own locking, and never sleeps.
        if unsafe { bindings::vmalloc_to_page(page as *const c_void) }.is_null() {
            return false;
        }
        match page.checked_add(PAGE_SIZE) {
            Some(next) => page = next,
            None => break,
        }
    }
    true
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
    // Only a buffer that maps the folio itself can overlap it.
    // SAFETY: The caller guarantees both ranges.
    unsafe { folio::copy_bytes(from, to, len) };
}

/// Attaches a buffer to a C descriptor (`vm_mvc_xmattach`).
///
/// `EBUSY` unless the descriptor is `XMEM_INVAL` (AIX requires it): already
/// attached, or never set to `XMEM_INIT`; `EINVAL` for a null descriptor, and the errors of
/// [`AttachFlags::from_raw`], [`Attachment::user`] and
/// [`Attachment::kernel`].  The descriptor is unchanged on failure.  A
/// kernel buffer allocates nothing: the descriptor is the whole record.
///
/// # Safety
///
/// `dp` is null or points to a `struct xmem` that the caller owns for the
/// call.  For a kernel buffer, the memory at `addr` stays allocated until
/// detach.
pub(crate) unsafe fn attach(
    dp: *mut sys::xmem,
    addr: usize,
    len: usize,
    raw_flags: c_int,
) -> Result {
    // SAFETY: The caller owns `*dp`.
    let descriptor = unsafe { dp.as_mut() }.ok_or(EINVAL)?;
    let flags = AttachFlags::from_raw(raw_flags)?;
    if descriptor.aspace_id != XMEM_INVAL {
        return Err(EBUSY);
    }
    let (aspace_id, record) = if flags.kernel {
        // SAFETY: The caller keeps the kernel buffer allocated.
        unsafe { Attachment::kernel(addr, len, flags.access) }?;
        (XMEM_GLOBAL, ptr::null_mut())
    } else {
        let attachment = KBox::new(Attachment::user(addr, len, flags)?, GFP_KERNEL)?;
        (XMEM_PROC, KBox::into_raw(attachment).cast())
    };
    *descriptor = sys::xmem {
        aspace_id,
        uaddr: addr,
        len,
        flags: raw_flags,
        priv_: record,
    };
    Ok(())
}

/// The attachment behind a C descriptor, for one call.
pub(crate) enum Attached<'a> {
    /// A kernel buffer, described by the descriptor alone.  Its memory is
    /// `Memory::Kernel`, which owns nothing: not dropping it leaks nothing,
    /// and spares every call the drop glue's test for pinned pages.
    Kernel(ManuallyDrop<Attachment>),
    /// A user buffer, recorded by [`attach`].
    User(&'a Attachment),
}

impl Deref for Attached<'_> {
    type Target = Attachment;

    fn deref(&self) -> &Attachment {
        match self {
            Attached::Kernel(attachment) => attachment,
            Attached::User(attachment) => attachment,
        }
    }
}

/// The attachment behind a C descriptor; `EINVAL` if it is not attached.
///
/// # Safety
///
/// `dp` is null or points to a `struct xmem` that is either not attached or
/// was attached by [`attach`], not detached since and not changed by the
/// caller, and is not detached during `'a`.
#[inline]
pub(crate) unsafe fn attachment<'a>(dp: *const sys::xmem) -> Result<Attached<'a>> {
    // SAFETY: The caller guarantees `dp` is null or valid.
    let descriptor = unsafe { dp.as_ref() }.ok_or(EINVAL)?;
    match descriptor.aspace_id {
        XMEM_GLOBAL => {
            let flags = AttachFlags::from_raw(descriptor.flags)?;
            // INVARIANT: `attach` checked the extent, the caller keeps the
            // buffer allocated until detach, and the descriptor unchanged.
            Ok(Attached::Kernel(ManuallyDrop::new(Attachment {
                start: descriptor.uaddr,
                len: descriptor.len,
                access: flags.access,
                memory: Memory::Kernel,
            })))
        }
        XMEM_PROC if !descriptor.priv_.is_null() => {
            // SAFETY: An attached user descriptor's `priv` is the
            // attachment box made by `attach`, alive until `detach` (the
            // caller's guarantee).
            Ok(Attached::User(unsafe {
                &*descriptor.priv_.cast::<Attachment>()
            }))
        }
        _ => Err(EINVAL),
    }
}

/// Detaches a C descriptor (`vm_mvc_xmdetach`): unpins a user buffer and
/// resets the descriptor to `XMEM_INVAL`.  `EINVAL` if it is not attached.
/// A kernel buffer's detach frees nothing and never sleeps.
///
/// # Safety
///
/// As for [`attachment`], and no vm_mvc call uses the descriptor
/// concurrently.
pub(crate) unsafe fn detach(dp: *mut sys::xmem) -> Result {
    // SAFETY: The caller's guarantee, as for `attachment`.
    let attached = unsafe { attachment(dp) }?;
    if let Attached::User(attachment) = attached {
        // SAFETY: The box was made by `attach`; the descriptor gives it up
        // here, and nothing else refers to it.
        drop(unsafe { KBox::from_raw(ptr::from_ref(attachment).cast_mut()) });
    }
    // SAFETY: `attachment` checked that `dp` is non-null and attached.
    unsafe {
        *dp = sys::xmem {
            aspace_id: XMEM_INVAL,
            ..Default::default()
        }
    };
    Ok(())
}

#[kunit_tests(vm_mvc_xmem)]
mod tests {
    use super::*;
    use crate::test_fixture::{kernel_attachment, pattern, RamFs, UserMemory};

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

    /// An attach stopped by a fatal signal while pinning is `EINTR`, with
    /// nothing left pinned, also when some pages were pinned before the
    /// signal was seen: GUP-fast pins the resident first page, and only the
    /// slow path, for the second, sees the signal (without GUP-fast, User-
    /// Mode Linux, the slow path sees it before any page).
    /// Runs `f` with a SIGKILL pending on the test's own kernel thread,
    /// which then drops it and ignores SIGKILL again, as before.
    fn with_fatal_signal_pending<T>(f: impl FnOnce() -> T) -> T {
        let task = kernel::current!().as_ptr();
        // CAST: a small signal number.
        let sigkill = bindings::SIGKILL as c_int;
        // SAFETY: The test's own kernel thread takes SIGKILL and gets one;
        // it is dropped and ignored again below.
        unsafe {
            sys::vm_mvc_allow_signal(sigkill);
            bindings::send_sig(sigkill, task, 1);
        }
        let result = f();
        // SAFETY: As above; ignoring SIGKILL again also drops it.
        unsafe { sys::vm_mvc_disallow_signal(sigkill) };
        result
    }

    #[test]
    fn attach_stopped_by_a_fatal_signal_is_eintr_and_unpinned() -> Result {
        let baseline = pins_live();
        let user = UserMemory::anonymous(2)?;
        user.store(0, &[1])?;
        let attached =
            with_fatal_signal_pending(|| user.attach(0, 2 * PAGE_SIZE, AttachFlags::USER));
        assert_eq!(attached.err(), Some(EINTR));
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
        let long_term = AttachFlags::from_raw(LONGTERM_FLAG | SOURCE_FLAG | DEST_FLAG)?;
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
        // A source's long-term pin writes nothing, so it is allowed.
        let flags = AttachFlags::from_raw(LONGTERM_FLAG | SOURCE_FLAG)?;
        drop(shared.attach(0, PAGE_SIZE, flags)?);
        assert_eq!(pins_live(), baseline);
        Ok(())
    }

    /// Drops `CAP_IPC_LOCK` from this test's kthread and sets its
    /// `RLIMIT_MEMLOCK` to `pages` pages: a KUnit case runs in a kthread of
    /// its own, which ends with the case.
    fn limit_memlock(pages: usize) -> Result {
        // SAFETY: Copies the current task's credentials.
        let new = unsafe { bindings::prepare_creds() };
        if new.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `new` is ours until `commit_creds` takes it.
        unsafe { (*new).cap_effective.val &= !(1u64 << bindings::CAP_IPC_LOCK) };
        // SAFETY: `new` came from `prepare_creds` on this task.
        unsafe { bindings::commit_creds(new) };
        let task = kernel::current!().as_ptr();
        // SAFETY: A kthread has a signal struct of its own, and this one
        // is the only thread using it.
        unsafe {
            (*(*task).signal).rlim[bindings::RLIMIT_MEMLOCK as usize].rlim_cur = pages * PAGE_SIZE
        };
        Ok(())
    }

    /// Pages charged to this task's address space's `locked_vm`.
    fn locked_vm() -> usize {
        let mm = kernel::current!()
            .mm()
            .map_or(ptr::null_mut(), |mm| mm.as_raw());
        if mm.is_null() {
            return 0;
        }
        // SAFETY: The task's address space is alive; the counter is read
        // once (it changes under the mmap lock, not ours to take).
        unsafe { ptr::read_volatile(&(*mm).__bindgen_anon_1.locked_vm) }
    }

    #[test]
    fn long_term_pins_are_charged_to_rlimit_memlock() -> Result {
        let baseline = pins_live();
        let user = UserMemory::anonymous(8)?;
        limit_memlock(4)?;
        let before = locked_vm();
        let long_term = AttachFlags::from_raw(LONGTERM_FLAG | SOURCE_FLAG | DEST_FLAG)?;
        let held = user.attach(100, 2 * PAGE_SIZE, long_term)?;
        assert_eq!(locked_vm(), before + 3);
        // 3 + 2 pages would pass the limit of 4: refused, nothing pinned.
        assert_eq!(user.attach(0, 2 * PAGE_SIZE, long_term).err(), Some(ENOMEM));
        assert_eq!((locked_vm(), pins_live()), (before + 3, baseline + 3));
        let one_more = user.attach(0, PAGE_SIZE, long_term)?;
        assert_eq!(locked_vm(), before + 4);
        // Short-term pins are not charged.
        let short = user.attach(0, 8 * PAGE_SIZE, AttachFlags::USER)?;
        assert_eq!(locked_vm(), before + 4);
        drop((held, one_more, short));
        assert_eq!((locked_vm(), pins_live()), (before, baseline));
        Ok(())
    }

    #[test]
    fn a_long_term_attach_that_fails_after_charging_gives_the_charge_back() -> Result {
        let baseline = pins_live();
        let user = UserMemory::anonymous(4)?;
        user.store(0, &[1])?;
        user.unmap_page(2)?;
        limit_memlock(16)?;
        let before = locked_vm();
        let long_term = AttachFlags::from_raw(LONGTERM_FLAG | SOURCE_FLAG | DEST_FLAG)?;
        // Charged for 4 pages, page 0 pinned, then the hole: EFAULT, and
        // neither pins nor charge stay.
        assert_eq!(user.attach(0, 4 * PAGE_SIZE, long_term).err(), Some(EFAULT));
        assert_eq!((locked_vm(), pins_live()), (before, baseline));
        // The same stopped by a fatal signal: EINTR, nothing left either.
        // Fresh memory, page 1 never touched: the first attach faulted in
        // every page before the hole, which GUP-fast would pin with no
        // look at signals.
        let fresh = UserMemory::anonymous(2)?;
        fresh.store(0, &[1])?;
        let attached = with_fatal_signal_pending(|| fresh.attach(0, 2 * PAGE_SIZE, long_term));
        assert_eq!(attached.err(), Some(EINTR));
        assert_eq!((locked_vm(), pins_live()), (before, baseline));
        // And the charge is there to take again.
        drop(fresh.attach(0, 2 * PAGE_SIZE, long_term)?);
        assert_eq!((locked_vm(), pins_live()), (before, baseline));
        Ok(())
    }

    /// `Attachment::kernel`, keeping only the error.
    fn kernel_error(start: usize, len: usize) -> Option<Error> {
        // SAFETY: The tests pass a buffer they keep alive, or extents that
        // are refused before any memory is touched; the attachment is
        // dropped at once.
        unsafe { Attachment::kernel(start, len, Access::BOTH) }.err()
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
    fn a_kernel_range_past_a_vmalloc_area_is_efault() -> Result {
        let area = VVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
        let start = area.as_ptr() as usize;
        assert_eq!(kernel_error(start, PAGE_SIZE), None);
        // One page more runs into the area's guard page: both ends are
        // vmalloc addresses, but not every page between them is mapped.
        assert_eq!(kernel_error(start, 2 * PAGE_SIZE), Some(EFAULT));
        Ok(())
    }

    #[test]
    fn a_kernel_buffer_in_a_modules_static_data_is_accepted() -> Result {
        // This module's `.bss`: in vmalloc space on User-Mode Linux, in the
        // module area on x86-64, which is neither the linear map nor
        // vmalloc space (`is_vmalloc_addr` is false there).
        static BUF: [core::sync::atomic::AtomicU8; 64] =
            [const { core::sync::atomic::AtomicU8::new(0) }; 64];
        let start = BUF.as_ptr() as usize;
        let (_fs, _file, sid) = crate::test_fixture::file_with_pages(1, pattern)?;
        // SAFETY: `BUF` is static, and this case alone uses it.
        let attachment = unsafe { Attachment::kernel(start, BUF.len(), Access::BOTH) }?;
        let buffer = Ok(crate::mvc::Buffer::new(&attachment, start));
        // CAST: the AIX command value 2.
        crate::mvc::by_sid(sid.0, 0, 100, 64, sys::VM_MVC_READ as i32, buffer)?;
        drop(attachment);
        assert!(BUF
            .iter()
            .enumerate()
            .all(|(i, b)| b.load(core::sync::atomic::Ordering::Relaxed) == pattern(100 + i)));
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
        let dir = Direction::ToBuffer;
        let at = |addr: usize, count: usize| attachment.locate(addr, count, dir).map(|r| r.offset);
        assert_eq!(at(start, 100), Ok(0));
        assert_eq!(at(start + 99, 1), Ok(99));
        assert_eq!(at(start + 100, 0), Ok(100));
        assert_eq!(at(start + 100, 1), Err(EFAULT));
        assert_eq!(at(start - 1, 1), Err(EFAULT));
        assert_eq!(at(start + 1, usize::MAX), Err(EFAULT));
        Ok(())
    }

    #[test]
    fn locate_refuses_the_direction_not_attached_for() -> Result {
        let user = UserMemory::anonymous(1)?;
        let source = user.attach(0, 64, AttachFlags::USER_SOURCE)?;
        let dest = user.attach(0, 64, AttachFlags::USER_DEST)?;
        let addr = user.addr(0);
        let refused = |a: &Attachment, dir| a.locate(addr, 8, dir).err();
        assert_eq!(refused(&source, Direction::ToBuffer), Some(EACCES));
        assert_eq!(refused(&source, Direction::FromBuffer), None);
        assert_eq!(refused(&dest, Direction::FromBuffer), Some(EACCES));
        assert_eq!(refused(&dest, Direction::ToBuffer), None);
        // The range is checked first: EFAULT wins.
        let far = source.locate(addr + 64, 8, Direction::ToBuffer).err();
        assert_eq!(far, Some(EFAULT));
        Ok(())
    }

    #[test]
    fn attach_flags_are_checked() {
        assert_eq!(
            AttachFlags::from_raw(SOURCE_FLAG | DEST_FLAG),
            Ok(AttachFlags::USER)
        );
        assert_eq!(
            AttachFlags::from_raw(SOURCE_FLAG),
            Ok(AttachFlags::USER_SOURCE)
        );
        assert_eq!(AttachFlags::from_raw(DEST_FLAG), Ok(AttachFlags::USER_DEST));
        let kernel = KERNEL_FLAG | SOURCE_FLAG | DEST_FLAG;
        assert_eq!(AttachFlags::from_raw(kernel), Ok(AttachFlags::KERNEL));
        assert!(AttachFlags::from_raw(LONGTERM_FLAG | SOURCE_FLAG).is_ok());
        // No direction, unknown bits, a long-term kernel buffer.
        for bad in [
            0,
            KERNEL_FLAG,
            LONGTERM_FLAG,
            16 | SOURCE_FLAG,
            -1,
            kernel | LONGTERM_FLAG,
        ] {
            assert_eq!(AttachFlags::from_raw(bad), Err(EINVAL));
        }
    }
}
