// SPDX-License-Identifier: GPL-2.0

//! The C ABI of include/vm_mvc.h.
//!
//! Each function converts raw arguments, calls the safe implementation and
//! returns a negative errno on failure (`from_result`).  The exports are in
//! vm_mvc_helpers.c (modpost reads C objects only), and each definition is
//! checked against bindgen's reading of the header: a differing type fails
//! the build.

use crate::{mvc, mvc::Buffer, sid, stats, sys, xmem, xmem::AttachFlags};
use core::ptr::NonNull;
use kernel::{
    bindings,
    error::from_result,
    ffi::{c_int, c_void},
    prelude::*,
};

/// Fails the build unless a definition has the type the header declares.
macro_rules! check_signature {
    ($name:ident) => {
        const _: () = {
            let _ = if true { sys::$name } else { $name };
        };
    };
}

check_signature!(vm_mvc);
check_signature!(vm_mvc_folio);
check_signature!(vm_mvc_folio_range);
check_signature!(vm_makep);
check_signature!(vm_mvc_sid_attach);
check_signature!(vm_mvc_sid_detach);
check_signature!(vm_mvc_xmattach);
check_signature!(vm_mvc_xmdetach);

/// The buffer a call names, or why it cannot be used.
///
/// # Safety
///
/// `xmemdp` is null or a descriptor that is not attached, or attached and
/// not detached during `'a`.
unsafe fn buffer<'a>(xmemdp: *mut sys::xmem, ptr: *mut c_void) -> Result<Buffer<'a>> {
    // SAFETY: The caller's guarantee.
    let attachment = unsafe { xmem::attachment(xmemdp) }?;
    Ok(Buffer::new(attachment, ptr as usize))
}

/// Counts a call in debugfs and converts its result for C.
fn finish(cmd: c_int, count: usize, result: Result) -> c_int {
    stats::record_call(cmd, count, &result);
    from_result(|| result.map(|()| 0))
}

/// AIX `vm_mvc`; see [`mvc::by_sid`] and Documentation/vm_mvc.rst.
///
/// # Safety
///
/// Process context.  `xmemdp` is null or a descriptor owned by the caller
/// that no other thread detaches during the call.
#[no_mangle]
pub unsafe extern "C" fn vm_mvc(
    sid: sys::vmid_t,
    pno: sys::vpn_t,
    pgoffs: c_int,
    count: c_int,
    cmd: c_int,
    xmemdp: *mut sys::xmem,
    ptr: *mut c_void,
) -> c_int {
    // SAFETY: The caller's guarantee on `xmemdp`.
    let buffer = unsafe { buffer(xmemdp, ptr) };
    let result = mvc::by_sid(sid, pno, pgoffs, count, cmd, buffer);
    finish(cmd, usize::try_from(count).unwrap_or(0), result)
}

/// `vm_mvc` on page `pno` of a folio the caller holds locked.
///
/// # Safety
///
/// Process context.  `folio` is a folio the caller holds locked and
/// referenced for the call; `xmemdp` as for [`vm_mvc`].
#[no_mangle]
pub unsafe extern "C" fn vm_mvc_folio(
    folio: *mut bindings::folio,
    pno: sys::vpn_t,
    pgoffs: c_int,
    count: c_int,
    cmd: c_int,
    xmemdp: *mut sys::xmem,
    ptr: *mut c_void,
) -> c_int {
    let result = if folio.is_null() {
        Err(EINVAL)
    } else {
        // SAFETY: The caller holds the folio locked and referenced.
        let folio = unsafe { crate::folio::LockedFolio::from_raw(folio) };
        // SAFETY: The caller's guarantee on `xmemdp`.
        let buffer = unsafe { buffer(xmemdp, ptr) };
        mvc::on_locked_folio_page(folio, pno, pgoffs, count, cmd, buffer)
    };
    finish(cmd, usize::try_from(count).unwrap_or(0), result)
}

/// `vm_mvc` on bytes `offset..offset + count` of a locked folio of any size.
///
/// # Safety
///
/// As for [`vm_mvc_folio`].
#[no_mangle]
pub unsafe extern "C" fn vm_mvc_folio_range(
    folio: *mut bindings::folio,
    offset: usize,
    count: usize,
    cmd: c_int,
    xmemdp: *mut sys::xmem,
    ptr: *mut c_void,
) -> c_int {
    let result = if folio.is_null() {
        Err(EINVAL)
    } else {
        // SAFETY: The caller holds the folio locked and referenced.
        let folio = unsafe { crate::folio::LockedFolio::from_raw(folio) };
        // SAFETY: The caller's guarantee on `xmemdp`.
        let buffer = unsafe { buffer(xmemdp, ptr) };
        mvc::on_locked_folio(folio, offset, count, cmd, buffer)
    };
    finish(cmd, count, result)
}

/// AIX `vm_makep`; see [`mvc::make_page`].  Returns the folio locked and
/// referenced, or `ERR_PTR(-errno)`.
///
/// # Safety
///
/// Process context.
#[no_mangle]
pub unsafe extern "C" fn vm_makep(sid: sys::vmid_t, pno: sys::vpn_t) -> *mut bindings::folio {
    match mvc::make_page(sid, pno) {
        Ok(folio) => folio.into_raw(),
        Err(err) => err.to_ptr(),
    }
}

/// Attaches `inode`'s page cache and returns its sid, or a negative errno
/// (`EINVAL` for a null inode).
///
/// # Safety
///
/// Process context.  `inode` is null or an inode the caller holds a
/// reference on for the call.
#[no_mangle]
pub unsafe extern "C" fn vm_mvc_sid_attach(inode: *mut bindings::inode) -> sys::vmid_t {
    from_result(|| {
        let inode = NonNull::new(inode).ok_or(EINVAL)?;
        // SAFETY: The caller holds a reference on the inode.
        unsafe { sid::attach(inode) }
    })
}

/// Detaches `sid`; 0, or `-EBADF` if it is not attached.
///
/// # Safety
///
/// Process context (it waits for an RCU grace period and may drop the last
/// inode reference).
#[no_mangle]
pub unsafe extern "C" fn vm_mvc_sid_detach(sid: sys::vmid_t) -> c_int {
    from_result(|| sid::detach(sid).map(|()| 0))
}

/// Attaches `len` bytes at `addr` to `dp`; see [`xmem::attach`].
///
/// # Safety
///
/// Process context.  `dp` is null or a descriptor the caller owns; a kernel
/// buffer (`SYS_ADSPACE`) stays allocated until detach.
#[no_mangle]
pub unsafe extern "C" fn vm_mvc_xmattach(
    addr: *mut c_void,
    len: usize,
    dp: *mut sys::xmem,
    flags: c_int,
) -> c_int {
    from_result(|| {
        let flags = AttachFlags::from_raw(flags)?;
        // SAFETY: The caller's guarantees on `dp` and the kernel buffer.
        unsafe { xmem::attach(dp, addr as usize, len, flags) }?;
        Ok(0)
    })
}

/// Detaches `dp`, unpinning a user buffer; `-EINVAL` if not attached.
///
/// # Safety
///
/// Process context.  `dp` is null or a descriptor the caller owns and no
/// vm_mvc call uses concurrently.
#[no_mangle]
pub unsafe extern "C" fn vm_mvc_xmdetach(dp: *mut sys::xmem) -> c_int {
    // SAFETY: The caller's guarantee.
    from_result(|| unsafe { xmem::detach(dp) }.map(|()| 0))
}
