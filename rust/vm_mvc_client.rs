// SPDX-License-Identifier: GPL-2.0

//! Safe Rust access to vm_mvc from another module.
//!
//! Kernel modules cannot share Rust types, so a Rust filesystem reaches
//! vm_mvc through its C ABI (include/vm_mvc.h), like a C one.  This file is
//! that ABI wrapped once: include it in the client crate with
//!
//! ```ignore
//! #[path = "../../rust/vm_mvc_client.rs"]
//! mod vm_mvc_client;
//! ```
//!
//! and build the client in the same Kbuild pass as vm_mvc (so that modpost
//! sees the exports).  The vm_mvc module compiles this file too, and checks
//! the layout of [`RawXmem`] and every declaration below against bindgen's
//! reading of the header; see Documentation/vm_mvc.rst.

use core::marker::PhantomData;
use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    ffi::{c_int, c_long, c_void},
    prelude::*,
};

/// `struct xmem` of include/vm_mvc.h.
#[repr(C)]
pub struct RawXmem {
    /// `XMEM_INVAL`, `XMEM_PROC` or `XMEM_GLOBAL`.
    pub aspace_id: c_long,
    /// First byte of the attached buffer.
    pub uaddr: usize,
    /// Length of the attached buffer.
    pub len: usize,
    /// vm_mvc's record of the attachment.
    pub priv_: *mut c_void,
}

/// `XMEM_INVAL`: a descriptor that is not attached.
const XMEM_INVAL: c_long = -2;
/// The raw commands, `VM_MVC_ZERO` to `VM_MVC_PROTZERO`.
const ZERO: c_int = 1;
const READ: c_int = 2;
const WRITE: c_int = 3;
const PROTZERO: c_int = 4;
/// `VM_MVC_NODIRTY`.
const NODIRTY: c_int = 0x100;
/// `USER_ADSPACE`.
const USER_ADSPACE: c_int = 0;
/// `SYS_ADSPACE`.
const SYS_ADSPACE: c_int = 1;
/// `VM_MVC_XMEM_READONLY`.
const XMEM_READONLY: c_int = 2;

// The C ABI; the vm_mvc crate compiles these next to bindgen's own
// declarations, and `clashing_extern_declarations` fails its warning-free
// build if they differ.  `struct folio` and `struct inode` contain types
// that are zero-sized on some configurations, hence the config-dependent
// `improper_ctypes` (as in rust/bindings).
#[allow(improper_ctypes)]
extern "C" {
    fn vm_mvc(
        sid: c_long,
        pno: c_long,
        pgoffs: c_int,
        count: c_int,
        cmd: c_int,
        xmemdp: *mut RawXmem,
        ptr: *mut c_void,
    ) -> c_int;
    fn vm_mvc_folio(
        folio: *mut bindings::folio,
        pno: c_long,
        pgoffs: c_int,
        count: c_int,
        cmd: c_int,
        xmemdp: *mut RawXmem,
        ptr: *mut c_void,
    ) -> c_int;
    fn vm_mvc_folio_range(
        folio: *mut bindings::folio,
        offset: usize,
        count: usize,
        cmd: c_int,
        xmemdp: *mut RawXmem,
        ptr: *mut c_void,
    ) -> c_int;
    fn vm_mvc_makep(sid: c_long, pno: c_long) -> *mut bindings::folio;
    fn vm_mvc_sid_create(inode: *mut bindings::inode) -> c_long;
    fn vm_mvc_sid_delete(sid: c_long) -> c_int;
    fn vm_mvc_xmattach(addr: *mut c_void, len: usize, dp: *mut RawXmem, flags: c_int) -> c_int;
    fn vm_mvc_xmdetach(dp: *mut RawXmem) -> c_int;
}

/// A vm_mvc command with its operands.
#[derive(Clone, Copy)]
pub enum Op<'a> {
    /// Zero the bytes (`VM_MVC_ZERO`).
    Zero,
    /// Zero the bytes and write-protect the page's user mappings
    /// (`VM_MVC_PROTZERO`).
    ProtZero,
    /// Copy the bytes to the buffer, from byte `at` of it (`VM_MVC_READ`).
    Read {
        /// The receiving buffer.
        to: &'a dyn Buffer,
        /// Offset in the buffer.
        at: usize,
    },
    /// Copy the bytes from the buffer, from byte `at` of it
    /// (`VM_MVC_WRITE`).
    Write {
        /// The source buffer.
        from: &'a dyn Buffer,
        /// Offset in the buffer.
        at: usize,
    },
}

impl<'a> Op<'a> {
    /// The same command with `VM_MVC_NODIRTY`: the folio's dirty state is
    /// left to the caller (PROTZERO still keeps the dirty bits it takes
    /// from the page tables).
    pub fn nodirty(self) -> Cmd<'a> {
        Cmd {
            op: self,
            nodirty: true,
        }
    }
}

/// An [`Op`] and its flags; an `Op` alone is a `Cmd` that dirties.
#[derive(Clone, Copy)]
pub struct Cmd<'a> {
    op: Op<'a>,
    nodirty: bool,
}

impl<'a> From<Op<'a>> for Cmd<'a> {
    fn from(op: Op<'a>) -> Self {
        Self { op, nodirty: false }
    }
}

impl Cmd<'_> {
    /// The raw command, descriptor and buffer address for the C call.
    fn raw(&self) -> (c_int, *mut RawXmem, *mut c_void) {
        let (no_xmem, no_ptr) = (core::ptr::null_mut(), core::ptr::null_mut());
        let (cmd, xmem, ptr) = match self.op {
            Op::Zero => (ZERO, no_xmem, no_ptr),
            Op::ProtZero => (PROTZERO, no_xmem, no_ptr),
            Op::Read { to, at } => (READ, to.descriptor(), to.address(at)),
            Op::Write { from, at } => (WRITE, from.descriptor(), from.address(at)),
        };
        let flags = if self.nodirty { NODIRTY } else { 0 };
        (cmd | flags, xmem, ptr)
    }
}

/// A buffer attached for vm_mvc (m2).
///
/// # Safety
///
/// vm_mvc dereferences what [`Buffer::descriptor`] returns, so an
/// implementation must return a pointer to a descriptor attached with
/// `vm_mvc_xmattach` that stays attached, and is not detached by anybody
/// else, for as long as the implementing value is borrowed.
pub unsafe trait Buffer {
    /// The attached descriptor.
    fn descriptor(&self) -> *mut RawXmem;
    /// The address of byte `at` of the buffer (checked by vm_mvc).
    fn address(&self, at: usize) -> *mut c_void;
}

/// An attached descriptor, detached on drop.
struct Descriptor(RawXmem);

impl Descriptor {
    /// Attaches `len` bytes at `addr` with vm_mvc_xmattach `flags`.
    ///
    /// # Safety
    ///
    /// For `SYS_ADSPACE`, the memory stays allocated until the descriptor
    /// is dropped.
    unsafe fn attach(addr: *mut c_void, len: usize, flags: c_int) -> Result<Self> {
        let mut raw = RawXmem {
            aspace_id: XMEM_INVAL,
            uaddr: 0,
            len: 0,
            priv_: core::ptr::null_mut(),
        };
        // SAFETY: `raw` is a fresh descriptor; the caller keeps a kernel
        // buffer allocated.  vm_mvc does not keep the descriptor's address,
        // so it may move once attached.
        to_result(unsafe { vm_mvc_xmattach(addr, len, &mut raw, flags) })?;
        Ok(Self(raw))
    }

    /// The descriptor for a vm_mvc call, which only reads it.
    fn raw(&self) -> *mut RawXmem {
        core::ptr::from_ref(&self.0).cast_mut()
    }

    /// Address of byte `at` of the buffer.
    fn address(&self, at: usize) -> *mut c_void {
        self.0.uaddr.wrapping_add(at) as *mut c_void
    }
}

impl Drop for Descriptor {
    fn drop(&mut self) {
        // SAFETY: The descriptor is attached and no call uses it (every
        // `Op` borrowing it has ended).
        unsafe { vm_mvc_xmdetach(&mut self.0) };
    }
}

/// A kernel buffer attached for the lifetime `'a` of its borrow.
pub struct KernelBuffer<'a> {
    descriptor: Descriptor,
    _buffer: PhantomData<&'a mut [u8]>,
}

impl<'a> KernelBuffer<'a> {
    /// Attaches `buf` (kmalloc or vmalloc memory).
    pub fn attach(buf: &'a mut [u8]) -> Result<Self> {
        let (addr, len) = (buf.as_mut_ptr().cast(), buf.len());
        // SAFETY: `buf` is borrowed for `'a`, as long as the descriptor.
        let descriptor = unsafe { Descriptor::attach(addr, len, SYS_ADSPACE) }?;
        Ok(Self {
            descriptor,
            _buffer: PhantomData,
        })
    }
}

// SAFETY: `descriptor` is attached from `attach` until drop.
unsafe impl Buffer for KernelBuffer<'_> {
    fn descriptor(&self) -> *mut RawXmem {
        self.descriptor.raw()
    }

    fn address(&self, at: usize) -> *mut c_void {
        self.descriptor.address(at)
    }
}

/// A pinned buffer of the current process, unpinned on drop.
pub struct UserBuffer {
    descriptor: Descriptor,
}

impl UserBuffer {
    /// Pins `len` bytes at user address `addr`; `read_only` buffers can
    /// only be the source of [`Op::Write`].
    pub fn attach(addr: usize, len: usize, read_only: bool) -> Result<Self> {
        let flags = if read_only {
            USER_ADSPACE | XMEM_READONLY
        } else {
            USER_ADSPACE
        };
        // SAFETY: User memory is pinned by vm_mvc, not borrowed.
        let descriptor = unsafe { Descriptor::attach(addr as *mut c_void, len, flags) }?;
        Ok(Self { descriptor })
    }
}

// SAFETY: `descriptor` is attached from `attach` until drop.
unsafe impl Buffer for UserBuffer {
    fn descriptor(&self) -> *mut RawXmem {
        self.descriptor.raw()
    }

    fn address(&self, at: usize) -> *mut c_void {
        self.descriptor.address(at)
    }
}

/// A sid: names a file's page cache (AIX `vms_create`), without holding a
/// reference on the inode.
///
/// A filesystem creates one when it sets an inode up, keeps it in its
/// inode info, and deletes it in `->evict_inode` before the page cache is
/// truncated ([`Sid::delete`]).  A call with a deleted sid fails with
/// `EBADF`; a call racing the eviction is safe (Documentation/vm_mvc.rst).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sid(c_long);

impl Sid {
    /// Creates a sid naming `inode`'s page cache (`vm_mvc_sid_create`).
    ///
    /// # Safety
    ///
    /// `inode` is alive for the call, and the caller deletes the sid (with
    /// [`Sid::delete`]) before the inode's page cache is truncated for
    /// eviction.
    pub unsafe fn create(inode: *mut bindings::inode) -> Result<Self> {
        // SAFETY: The caller's guarantee.
        let sid = unsafe { vm_mvc_sid_create(inode) };
        if sid < 0 {
            // CAST: a negative errno.
            return Err(Error::from_errno(sid as c_int));
        }
        Ok(Self(sid))
    }

    /// The sid of a raw value (as kept in an inode's private field).  A
    /// value that names no live sid makes every call fail with `EBADF`.
    pub fn from_raw(raw: c_long) -> Self {
        Self(raw)
    }

    /// The raw sid, for C code or an inode's private field.
    pub fn raw(&self) -> c_long {
        self.0
    }

    /// Deletes the sid (`vm_mvc_sid_delete`); `EBADF` if it is not live.
    /// Never sleeps.
    ///
    /// # Safety
    ///
    /// The caller created the sid and nobody else deletes it.
    pub unsafe fn delete(self) -> Result {
        // SAFETY: The caller owns the sid.
        to_result(unsafe { vm_mvc_sid_delete(self.0) })
    }

    /// `vm_mvc(sid, pno, offset, len, cmd)`: works on `len` bytes at
    /// `offset` of page `pno` if it is in the page cache and uptodate.
    pub fn mvc<'a>(
        &self,
        pno: usize,
        offset: usize,
        len: usize,
        cmd: impl Into<Cmd<'a>>,
    ) -> Result {
        let pno = c_long::try_from(pno).map_err(|_| EINVAL)?;
        let offset = c_int::try_from(offset).map_err(|_| EINVAL)?;
        let len = c_int::try_from(len).map_err(|_| EINVAL)?;
        let (cmd, xmem, ptr) = cmd.into().raw();
        // SAFETY: Process context; the descriptor, if any, is attached and
        // borrowed by `cmd` for the call.
        to_result(unsafe { vm_mvc(self.0, pno, offset, len, cmd, xmem, ptr) })
    }

    /// `vm_mvc_makep`: the folio of page `pno`, found or created, locked
    /// and referenced.  The caller owns the lock and the reference.
    ///
    /// # Safety
    ///
    /// The caller keeps the inode alive and away from eviction for the
    /// call.
    pub unsafe fn make_page(&self, pno: usize) -> Result<*mut bindings::folio> {
        let pno = c_long::try_from(pno).map_err(|_| EINVAL)?;
        // SAFETY: Process context; the caller's guarantee on the inode.
        from_err_ptr(unsafe { vm_mvc_makep(self.0, pno) })
    }
}

/// `vm_mvc` with every argument exactly as the caller got it, for a test
/// harness that forwards untrusted values (samples/vm_mvc_testdev forwards
/// user space's) so that vm_mvc itself checks each one and returns its own
/// errno: any `sid`, negative `pno`, `pgoffs` and `count`, unknown `cmd`,
/// and a buffer address `ptr` that need not lie inside `buffer`.
pub fn mvc_raw(
    sid: c_long,
    pno: c_long,
    pgoffs: c_int,
    count: c_int,
    cmd: c_int,
    buffer: Option<&dyn Buffer>,
    ptr: usize,
) -> Result {
    let xmem = buffer.map_or(core::ptr::null_mut(), |buffer| buffer.descriptor());
    // SAFETY: Process context; the descriptor, if any, is attached and
    // borrowed for the call (`Buffer`'s guarantee).  vm_mvc checks the
    // other arguments, `ptr` against the descriptor's range among them.
    to_result(unsafe { vm_mvc(sid, pno, pgoffs, count, cmd, xmem, ptr as *mut c_void) })
}

/// `vm_mvc_folio`: [`Sid::mvc`] on page `pno` of a folio the caller holds
/// locked, with no uptodate requirement.
///
/// # Safety
///
/// `folio` is a folio the caller holds locked and referenced for the call.
pub unsafe fn mvc_locked_folio<'a>(
    folio: *mut bindings::folio,
    pno: usize,
    offset: usize,
    len: usize,
    cmd: impl Into<Cmd<'a>>,
) -> Result {
    let pno = c_long::try_from(pno).map_err(|_| EINVAL)?;
    let offset = c_int::try_from(offset).map_err(|_| EINVAL)?;
    let len = c_int::try_from(len).map_err(|_| EINVAL)?;
    let (cmd, xmem, ptr) = cmd.into().raw();
    // SAFETY: The caller holds the folio locked; the descriptor, if any, is
    // attached and borrowed by `cmd` for the call.
    to_result(unsafe { vm_mvc_folio(folio, pno, offset, len, cmd, xmem, ptr) })
}

/// `vm_mvc_folio_range`: `op` on bytes `offset..offset + len` of a folio
/// the caller holds locked, bounded by the folio's size rather than a
/// base page's (for working on a whole large folio at once).
///
/// # Safety
///
/// `folio` is a folio the caller holds locked and referenced for the call.
pub unsafe fn mvc_locked_folio_range<'a>(
    folio: *mut bindings::folio,
    offset: usize,
    len: usize,
    cmd: impl Into<Cmd<'a>>,
) -> Result {
    let (cmd, xmem, ptr) = cmd.into().raw();
    // SAFETY: The caller holds the folio locked; the descriptor, if any, is
    // attached and borrowed by `cmd` for the call.
    to_result(unsafe { vm_mvc_folio_range(folio, offset, len, cmd, xmem, ptr) })
}
