// SPDX-License-Identifier: GPL-2.0

//! Safe Rust access to vm_mvc from another module.
//!
//! Kernel modules cannot share Rust types, so a Rust filesystem reaches
//! vm_mvc through its C ABI (include/vm_mvc.h), like a C one.  This file is
//! that ABI wrapped once.  Every prototype, constant and the layout of
//! `struct xmem` come from the header through bindgen: the client's Kbuild
//! includes rust/vm_mvc_client.mk, and its crate root has
//!
//! ```ignore
//! /// include/vm_mvc.h as bindgen reads it (rust/vm_mvc_client.mk).
//! #[allow(dead_code, improper_ctypes, missing_docs, non_camel_case_types,
//!     non_upper_case_globals, unreachable_pub, clippy::all,
//!     clippy::undocumented_unsafe_blocks)]
//! mod vm_mvc_abi {
//!     use kernel::bindings::*;
//!     use kernel::ffi;
//!     include!("vm_mvc_abi_generated.rs");
//! }
//! #[path = "../../rust/vm_mvc_client.rs"]
//! mod vm_mvc_client;
//! ```
//!
//! The client is built in the same Kbuild pass as vm_mvc (so that modpost
//! sees the exports).  The vm_mvc module compiles this file too, against
//! its own bindgen output; see Documentation/vm_mvc.rst.

use crate::vm_mvc_abi as abi;
use core::marker::PhantomData;
use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    ffi::{c_int, c_long, c_void},
    iov::{IovIterDest, IovIterSource},
    prelude::*,
};

/// `struct xmem` of include/vm_mvc.h.
pub type RawXmem = abi::xmem;

// CAST: small `#define`s of include/vm_mvc.h, typed by bindgen as `u32`
// or `i32`.
const ZERO: c_int = abi::VM_MVC_ZERO as c_int;
const READ: c_int = abi::VM_MVC_READ as c_int;
const WRITE: c_int = abi::VM_MVC_WRITE as c_int;
const PROTZERO: c_int = abi::VM_MVC_PROTZERO as c_int;
const NODIRTY: c_int = abi::VM_MVC_NODIRTY as c_int;
const USER_ADSPACE: c_int = abi::USER_ADSPACE as c_int;
const SYS_ADSPACE: c_int = abi::SYS_ADSPACE as c_int;
const SOURCE: c_int = abi::VM_MVC_XMEM_SOURCE as c_int;
const DEST: c_int = abi::VM_MVC_XMEM_DEST as c_int;
const XMEM_INVAL: c_long = abi::XMEM_INVAL as c_long;

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
            ..Default::default()
        };
        // SAFETY: `raw` is a fresh descriptor; the caller keeps a kernel
        // buffer allocated.  vm_mvc does not keep the descriptor's address,
        // so it may move once attached.
        to_result(unsafe { abi::vm_mvc_xmattach(addr, len, &mut raw, flags) })?;
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
        unsafe { abi::vm_mvc_xmdetach(&mut self.0) };
    }
}

/// A kernel buffer attached for the lifetime `'a` of its borrow.  Attaching
/// allocates nothing and never sleeps.
pub struct KernelBuffer<'a> {
    descriptor: Descriptor,
    _buffer: PhantomData<&'a mut [u8]>,
}

impl<'a> KernelBuffer<'a> {
    /// Attaches `buf` (kmalloc or vmalloc memory) both ways: the source of
    /// [`Op::Write`] and the destination of [`Op::Read`].
    pub fn attach(buf: &'a mut [u8]) -> Result<Self> {
        let (addr, len) = (buf.as_mut_ptr().cast(), buf.len());
        // SAFETY: `buf` is borrowed mutably for `'a`, as long as the
        // descriptor.
        let descriptor = unsafe { Descriptor::attach(addr, len, SYS_ADSPACE | SOURCE | DEST) }?;
        Ok(Self {
            descriptor,
            _buffer: PhantomData,
        })
    }

    /// Attaches `buf` as a source only: vm_mvc never writes it.
    pub fn source(buf: &'a [u8]) -> Result<Self> {
        let (addr, len) = (buf.as_ptr().cast_mut().cast(), buf.len());
        // SAFETY: `buf` is borrowed for `'a`, as long as the descriptor, and
        // a source is only read.
        let descriptor = unsafe { Descriptor::attach(addr, len, SYS_ADSPACE | SOURCE) }?;
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

/// Which ways vm_mvc may move data through a user buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Only read: the source of [`Op::Write`], pinned without
    /// `FOLL_WRITE` (a `PROT_READ` mapping works, no copy-on-write breaks).
    Source,
    /// Only written: the destination of [`Op::Read`].
    Dest,
    /// Both.
    Both,
}

/// A pinned buffer of the current process, unpinned on drop.
pub struct UserBuffer {
    descriptor: Descriptor,
}

impl UserBuffer {
    /// Pins `len` bytes at user address `addr` for `access`.
    pub fn attach(addr: usize, len: usize, access: Access) -> Result<Self> {
        let direction = match access {
            Access::Source => SOURCE,
            Access::Dest => DEST,
            Access::Both => SOURCE | DEST,
        };
        let (addr, flags) = (addr as *mut c_void, USER_ADSPACE | direction);
        // SAFETY: User memory is pinned by vm_mvc, not borrowed.
        let descriptor = unsafe { Descriptor::attach(addr, len, flags) }?;
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
        let sid = unsafe { abi::vm_mvc_sid_create(inode) };
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
        to_result(unsafe { abi::vm_mvc_sid_delete(self.0) })
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
        let (pno, offset, len) = c_operands(pno, offset, len)?;
        let (cmd, xmem, ptr) = cmd.into().raw();
        // SAFETY: Process context; the descriptor, if any, is attached and
        // borrowed by `cmd` for the call.
        to_result(unsafe { abi::vm_mvc(self.0, pno, offset, len, cmd, xmem, ptr) })
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
        from_err_ptr(unsafe { abi::vm_mvc_makep(self.0, pno) })
    }
}

/// Whether a WRITE through an iterator dirties the folio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dirtying {
    /// Mark the (uptodate) folio dirty, the default.
    Dirty,
    /// `VM_MVC_NODIRTY`: leave the dirty state to the caller.
    Leave,
}

impl Dirtying {
    /// The raw WRITE command.
    fn write_cmd(self) -> c_int {
        match self {
            Dirtying::Dirty => WRITE,
            Dirtying::Leave => WRITE | NODIRTY,
        }
    }
}

/// `pno`, `offset` and `len` as the C API takes them; `EINVAL` if one
/// does not fit, as the C API itself answers for a value out of range.
fn c_operands(pno: usize, offset: usize, len: usize) -> Result<(c_long, c_int, c_int)> {
    let convert = |_| EINVAL;
    Ok((
        c_long::try_from(pno).map_err(convert)?,
        c_int::try_from(offset).map_err(convert)?,
        c_int::try_from(len).map_err(convert)?,
    ))
}

/// The bytes copied of an iterator call, or its error.
fn copied(ret: isize) -> Result<usize> {
    // CAST: a negative errno, or a count of at most a folio's bytes.
    usize::try_from(ret).map_err(|_| Error::from_errno(ret as c_int))
}

impl Sid {
    /// `vm_mvc_iter` READ: copies `len` bytes at `offset` of page `pno`
    /// into `dest`, which advances, with no folio lock (a user buffer may
    /// map the very page).  The bytes copied: fewer than `len` only if a
    /// user buffer faulted part-way.
    pub fn read_iter(
        &self,
        pno: usize,
        offset: usize,
        len: usize,
        dest: &mut IovIterDest<'_>,
    ) -> Result<usize> {
        let (pno, offset, len) = c_operands(pno, offset, len)?;
        // SAFETY: Process context; `dest` is a valid `ITER_DEST` iterator,
        // borrowed for the call.
        copied(unsafe { abi::vm_mvc_iter(self.0, pno, offset, len, READ, dest.as_raw()) })
    }

    /// `vm_mvc_iter` WRITE: copies `len` bytes of `source`, which advances,
    /// to `offset` of page `pno`, faulting the source in before it locks
    /// the folio.  The bytes copied, as for [`Sid::read_iter`].
    pub fn write_iter(
        &self,
        pno: usize,
        offset: usize,
        len: usize,
        source: &mut IovIterSource<'_>,
        dirtying: Dirtying,
    ) -> Result<usize> {
        let (pno, offset, len) = c_operands(pno, offset, len)?;
        let cmd = dirtying.write_cmd();
        // SAFETY: Process context; `source` is a valid `ITER_SOURCE`
        // iterator, borrowed for the call.
        copied(unsafe { abi::vm_mvc_iter(self.0, pno, offset, len, cmd, source.as_raw()) })
    }
}

/// `vm_mvc_folio_iter` READ: bytes `offset..offset + len` of a folio the
/// caller holds locked into `dest`, with page faults disabled (fault a user
/// buffer in before locking); the bytes copied.
///
/// # Safety
///
/// `folio` is a folio the caller holds locked and referenced for the call.
pub unsafe fn locked_folio_read_iter(
    folio: *mut bindings::folio,
    offset: usize,
    len: usize,
    dest: &mut IovIterDest<'_>,
) -> Result<usize> {
    // SAFETY: The caller holds the folio; `dest` is a valid `ITER_DEST`
    // iterator, borrowed for the call.
    copied(unsafe { abi::vm_mvc_folio_iter(folio, offset, len, READ, dest.as_raw()) })
}

/// `vm_mvc_folio_iter` WRITE: `len` bytes of `source` to `offset` of a
/// folio the caller holds locked, with page faults disabled; the bytes
/// copied.
///
/// # Safety
///
/// `folio` is a folio the caller holds locked and referenced for the call.
pub unsafe fn locked_folio_write_iter(
    folio: *mut bindings::folio,
    offset: usize,
    len: usize,
    source: &mut IovIterSource<'_>,
    dirtying: Dirtying,
) -> Result<usize> {
    let cmd = dirtying.write_cmd();
    // SAFETY: The caller holds the folio; `source` is a valid
    // `ITER_SOURCE` iterator, borrowed for the call.
    copied(unsafe { abi::vm_mvc_folio_iter(folio, offset, len, cmd, source.as_raw()) })
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
    to_result(unsafe { abi::vm_mvc(sid, pno, pgoffs, count, cmd, xmem, ptr as *mut c_void) })
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
    let (pno, offset, len) = c_operands(pno, offset, len)?;
    let (cmd, xmem, ptr) = cmd.into().raw();
    // SAFETY: The caller holds the folio locked; the descriptor, if any, is
    // attached and borrowed by `cmd` for the call.
    to_result(unsafe { abi::vm_mvc_folio(folio, pno, offset, len, cmd, xmem, ptr) })
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
    to_result(unsafe { abi::vm_mvc_folio_range(folio, offset, len, cmd, xmem, ptr) })
}
