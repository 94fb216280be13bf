// SPDX-License-Identifier: GPL-2.0

//! The C ABI of include/vm_mvc.h.
//!
//! Each function converts raw arguments, calls the safe implementation and
//! returns a negative errno on failure (`from_result`).  The exports are in
//! vm_mvc_helpers.c (modpost reads C objects only), and each definition is
//! checked against bindgen's reading of the header: a differing type fails
//! the build.

use crate::{
    folio::{Folio, LockedFolio},
    iter,
    mapping::HeldInode,
    mvc,
    mvc::Buffer,
    sid,
    stats,
    sys,
    xmem, //
};
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
check_signature!(vm_mvc_iter);
check_signature!(vm_mvc_folio_iter);
check_signature!(vm_mvc_makep);
check_signature!(vm_mvc_sid_create);
check_signature!(vm_mvc_sid_delete);
check_signature!(vm_mvc_xmattach);
check_signature!(vm_mvc_xmdetach);

/// Runs `f` with the buffer a call names, or why it cannot be used.
///
/// # Safety
///
/// `xmemdp` is null or a descriptor that is not attached, or attached and
/// not detached during the call.
#[inline(always)]
unsafe fn with_buffer<R>(
    xmemdp: *mut sys::xmem,
    ptr: *mut c_void,
    f: impl FnOnce(Result<Buffer<'_>>) -> R,
) -> R {
    // SAFETY: The caller's guarantee.
    let attached = unsafe { xmem::attachment(xmemdp) };
    f(match &attached {
        Ok(attachment) => Ok(Buffer::new(attachment, ptr as usize)),
        Err(err) => Err(*err),
    })
}

/// The folio a `vm_mvc_folio*` call names: `EINVAL` if it is null or
/// unlocked.  That somebody holds the lock is all that can be checked; that
/// the caller does is its contract.
///
/// # Safety
///
/// `folio` is null or a folio the caller holds locked and referenced for
/// `'a`.
#[inline(always)]
unsafe fn locked_folio<'a>(folio: *mut bindings::folio) -> Result<&'a LockedFolio> {
    if folio.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: The caller holds a reference.
    if !unsafe { Folio::from_raw(folio) }.is_locked() {
        return Err(EINVAL);
    }
    // SAFETY: The caller holds the lock and a reference for `'a`.
    Ok(unsafe { LockedFolio::from_raw(folio) })
}

/// Runs `f` on a caller's locked folio and the buffer a call names;
/// `EINVAL` for a null folio.
///
/// # Safety
///
/// `folio` is null or a folio the caller holds locked and referenced for
/// the call; `xmemdp` as for [`with_buffer`].
#[inline(always)]
unsafe fn with_locked_folio(
    folio: *mut bindings::folio,
    xmemdp: *mut sys::xmem,
    ptr: *mut c_void,
    f: impl FnOnce(&LockedFolio, Result<Buffer<'_>>) -> Result,
) -> Result {
    // SAFETY: The caller holds the folio locked and referenced.
    let folio = unsafe { locked_folio(folio) }?;
    // SAFETY: The caller's guarantee on `xmemdp`.
    unsafe { with_buffer(xmemdp, ptr, |buffer| f(folio, buffer)) }
}

/// Counts a call in debugfs and converts its result for C.
#[inline(always)]
fn finish(cmd: c_int, count: usize, result: Result) -> c_int {
    stats::record_call(cmd, count, &result);
    match result {
        Ok(()) => 0,
        Err(err) => err.to_errno(),
    }
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
    let result = unsafe {
        with_buffer(xmemdp, ptr, |buffer| {
            mvc::by_sid(sid, pno, pgoffs, count, cmd, buffer)
        })
    };
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
    // SAFETY: The caller's guarantees on `folio` and `xmemdp`.
    let result = unsafe {
        with_locked_folio(folio, xmemdp, ptr, |folio, buffer| {
            mvc::on_locked_folio_page(folio, pno, pgoffs, count, cmd, buffer)
        })
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
    // SAFETY: The caller's guarantees on `folio` and `xmemdp`.
    let result = unsafe {
        with_locked_folio(folio, xmemdp, ptr, |folio, buffer| {
            mvc::on_locked_folio(folio, offset, count, cmd, buffer)
        })
    };
    finish(cmd, count, result)
}

/// Counts an iterator call in debugfs and converts its result for C.
fn finish_iter(cmd: c_int, result: Result<usize>) -> isize {
    let copied = *result.as_ref().unwrap_or(&0);
    stats::record_call(cmd, copied, &result.map(|_| ()));
    match result {
        // CAST: at most a folio's size.
        Ok(copied) => copied as isize,
        Err(err) => err.to_errno() as isize,
    }
}

/// `vm_mvc_iter`; see [`iter::by_sid`].
///
/// # Safety
///
/// Process context.  `iter` is null or a valid iterator that nobody else
/// uses during the call, whose buffers are valid.
#[no_mangle]
pub unsafe extern "C" fn vm_mvc_iter(
    sid: sys::vmid_t,
    pno: sys::vpn_t,
    pgoffs: c_int,
    count: c_int,
    cmd: c_int,
    iter: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: The caller's guarantee.
    let iter = unsafe { iter::CallerIter::from_raw(iter) };
    finish_iter(cmd, iter::by_sid(sid, pno, pgoffs, count, cmd, iter))
}

/// `vm_mvc_folio_iter`; see [`iter::on_locked_folio`].
///
/// # Safety
///
/// Process context.  `folio` is null or a folio the caller holds locked
/// and referenced for the call; `iter` as for [`vm_mvc_iter`].
#[no_mangle]
pub unsafe extern "C" fn vm_mvc_folio_iter(
    folio: *mut bindings::folio,
    offset: usize,
    count: usize,
    cmd: c_int,
    iter: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: The caller holds the folio locked and referenced.
    let result = unsafe { locked_folio(folio) }.and_then(|folio| {
        // SAFETY: The caller's guarantee on `iter`.
        let iter = unsafe { iter::CallerIter::from_raw(iter) };
        iter::on_locked_folio(folio, offset, count, cmd, iter)
    });
    finish_iter(cmd, result)
}

/// `vm_mvc_makep`; see [`mvc::make_page`].  Returns the folio locked and
/// referenced, or `ERR_PTR(-errno)`.
///
/// # Safety
///
/// Process context.  If `sid` is live, the caller keeps its inode alive and
/// away from eviction for the call.
#[no_mangle]
pub unsafe extern "C" fn vm_mvc_makep(sid: sys::vmid_t, pno: sys::vpn_t) -> *mut bindings::folio {
    // SAFETY: The caller's guarantee.
    let sid = unsafe { sid::HeldSid::new(sid) };
    match mvc::make_page(sid, pno) {
        Ok(folio) => folio.into_raw(),
        Err(err) => err.to_ptr(),
    }
}

/// Creates a sid naming `inode`'s page cache and returns it, or a negative
/// errno (`EINVAL` for a null inode); see [`sid::create`].
///
/// # Safety
///
/// Process context.  `inode` is null or an inode alive for the call, and
/// the caller deletes the sid before the inode's page cache is truncated
/// for eviction.
#[no_mangle]
pub unsafe extern "C" fn vm_mvc_sid_create(inode: *mut bindings::inode) -> sys::vmid_t {
    kernel::task::might_sleep();
    from_result(|| {
        let inode = NonNull::new(inode).ok_or(EINVAL)?;
        // SAFETY: The caller's guarantee: a non-null `inode` is alive and
        // not evicted for the call.
        let inode = unsafe { HeldInode::from_raw(inode) };
        // SAFETY: The caller deletes the sid before the inode's page cache
        // is truncated for eviction.
        unsafe { sid::create(inode) }
    })
}

/// Deletes `sid`; 0, or `-EBADF` if it is not live.  Never sleeps.
///
/// # Safety
///
/// Process context, spinlocks may be held; not a hard or soft interrupt
/// (the registry's lock is not interrupt-safe).
#[no_mangle]
pub unsafe extern "C" fn vm_mvc_sid_delete(sid: sys::vmid_t) -> c_int {
    from_result(|| sid::delete(sid).map(|()| 0))
}

/// Attaches `len` bytes at `addr` to `dp`; see [`xmem::attach`].
///
/// # Safety
///
/// `dp` is null or a descriptor the caller owns.  A user buffer
/// (`USER_ADSPACE`): process context.  A kernel buffer (`SYS_ADSPACE`):
/// any context; it stays allocated until detach.
#[no_mangle]
pub unsafe extern "C" fn vm_mvc_xmattach(
    addr: *mut c_void,
    len: usize,
    dp: *mut sys::xmem,
    flags: c_int,
) -> c_int {
    // SAFETY: The caller's guarantees on `dp` and the kernel buffer.
    from_result(|| unsafe { xmem::attach(dp, addr as usize, len, flags) }.map(|()| 0))
}

/// Detaches `dp`, unpinning a user buffer; `-EINVAL` if not attached.
///
/// # Safety
///
/// `dp` is null or a descriptor the caller owns and no vm_mvc call uses
/// concurrently.  A user buffer: process context (unpinning may lock the
/// pages).  A kernel buffer: any context.
#[no_mangle]
pub unsafe extern "C" fn vm_mvc_xmdetach(dp: *mut sys::xmem) -> c_int {
    // SAFETY: The caller's guarantee.
    from_result(|| unsafe { xmem::detach(dp) }.map(|()| 0))
}

#[kunit_tests(vm_mvc_abi)]
mod tests {
    use super::*;
    use crate::{
        folio::FolioGuard,
        test_fixture::{file_with_pages, pattern, UserMemory},
    };
    use core::ptr::null_mut;
    use kernel::page::PAGE_SIZE;

    // CAST: small `#define`s of include/vm_mvc.h.
    const READ: c_int = sys::VM_MVC_READ as c_int;
    const WRITE: c_int = sys::VM_MVC_WRITE as c_int;
    const ZERO: c_int = sys::VM_MVC_ZERO as c_int;
    const BOTH_WAYS: c_int = (sys::VM_MVC_XMEM_SOURCE | sys::VM_MVC_XMEM_DEST) as c_int;
    const USER: c_int = sys::USER_ADSPACE as c_int | BOTH_WAYS;
    const KERNEL: c_int = sys::SYS_ADSPACE as c_int | BOTH_WAYS;
    const INVAL: isize = sys::XMEM_INVAL as isize;

    /// A descriptor as `XMEM_INIT` makes it.
    fn descriptor() -> sys::xmem {
        sys::xmem {
            aspace_id: INVAL,
            ..Default::default()
        }
    }

    /// `vm_mvc_xmattach` of `len` bytes at `addr`, as a C caller would.
    fn xmattach(addr: usize, len: usize, dp: Option<&mut sys::xmem>, flags: c_int) -> c_int {
        let dp = dp.map_or(null_mut(), core::ptr::from_mut);
        // SAFETY: The tests pass kernel buffers that outlive the descriptor
        // and detach before dropping them; `dp` is null or the test's own.
        unsafe { vm_mvc_xmattach(addr as *mut c_void, len, dp, flags) }
    }

    /// `vm_mvc_xmdetach`, as a C caller would.
    fn xmdetach(dp: Option<&mut sys::xmem>) -> c_int {
        let dp = dp.map_or(null_mut(), core::ptr::from_mut);
        // SAFETY: `dp` is null or the test's own descriptor, not in use.
        unsafe { vm_mvc_xmdetach(dp) }
    }

    /// `vm_mvc` with an optional descriptor, as a C caller would.
    fn call(
        sid: isize,
        pno: isize,
        off: c_int,
        n: c_int,
        cmd: c_int,
        dp: Option<&mut sys::xmem>,
        ptr: usize,
    ) -> c_int {
        let dp = dp.map_or(null_mut(), core::ptr::from_mut);
        // SAFETY: Process context; `dp` is null or the test's own.
        unsafe { vm_mvc(sid, pno, off, n, cmd, dp, ptr as *mut c_void) }
    }

    /// `vm_mvc_makep`, with the folio taken over on success.
    fn makep(sid: isize, pno: isize) -> Result<FolioGuard> {
        // SAFETY: Process context; the tests keep their files open.
        let folio = kernel::error::from_err_ptr(unsafe { vm_mvc_makep(sid, pno) })?;
        let folio = NonNull::new(folio).ok_or(ENOMEM)?;
        // SAFETY: `vm_mvc_makep` returned the folio locked and referenced.
        Ok(unsafe { FolioGuard::from_raw_locked(folio) })
    }

    #[test]
    fn descriptor_goes_from_inval_to_attached_and_back() -> Result {
        let buf = KVec::from_elem(0u8, 64, GFP_KERNEL)?;
        let addr = buf.as_ptr() as usize;
        let mut dp = descriptor();
        assert_eq!(xmattach(addr, 64, Some(&mut dp), KERNEL), 0);
        assert_eq!(dp.aspace_id, sys::XMEM_GLOBAL as isize);
        assert_eq!((dp.uaddr, dp.len, dp.flags), (addr, 64, KERNEL));
        // A kernel buffer needs no record: the descriptor is all of it.
        assert!(dp.priv_.is_null());
        assert_eq!(xmattach(addr, 64, Some(&mut dp), KERNEL), EBUSY.to_errno());
        assert_eq!(xmdetach(Some(&mut dp)), 0);
        assert_eq!(dp.aspace_id, INVAL);
        assert!(dp.priv_.is_null());
        assert_eq!(xmdetach(Some(&mut dp)), EINVAL.to_errno());
        Ok(())
    }

    #[test]
    fn a_zeroed_descriptor_is_neither_attachable_nor_attached() -> Result {
        let (_fs, _file, sid) = file_with_pages(1, pattern)?;
        let buf = KVec::from_elem(0u8, 64, GFP_KERNEL)?;
        let addr = buf.as_ptr() as usize;
        // Never set to XMEM_INIT: its aspace_id reads as XMEM_PROC.
        let mut dp = sys::xmem::default();
        assert_eq!(xmattach(addr, 64, Some(&mut dp), KERNEL), EBUSY.to_errno());
        assert_eq!(
            call(sid.0, 0, 0, 8, READ, Some(&mut dp), addr),
            EINVAL.to_errno()
        );
        assert_eq!(xmdetach(Some(&mut dp)), EINVAL.to_errno());
        assert_eq!((dp.aspace_id, dp.uaddr, dp.len), (0, 0, 0));
        assert!(dp.priv_.is_null());
        Ok(())
    }

    #[test]
    fn bad_attach_arguments_leave_the_descriptor_unattached() -> Result {
        let buf = KVec::from_elem(0u8, 64, GFP_KERNEL)?;
        let addr = buf.as_ptr() as usize;
        let mut dp = descriptor();
        let cases = [
            (64, KERNEL | 16, EINVAL),
            (64, sys::SYS_ADSPACE as c_int, EINVAL),
            (0, KERNEL, EINVAL),
            (64, KERNEL | 4, EINVAL),
        ];
        for (len, flags, err) in cases {
            assert_eq!(xmattach(addr, len, Some(&mut dp), flags), err.to_errno());
            assert_eq!(dp.aspace_id, INVAL);
        }
        assert_eq!(xmattach(addr, 64, None, KERNEL), EINVAL.to_errno());
        assert_eq!(xmdetach(None), EINVAL.to_errno());
        Ok(())
    }

    #[test]
    fn kernel_buffers_attach_and_detach_in_atomic_context() -> Result {
        let (_fs, _file, sid) = file_with_pages(1, pattern)?;
        let mut buf = KVec::from_elem(0u8, 64, GFP_KERNEL)?;
        let addr = buf.as_mut_ptr() as usize;
        let mut dp = descriptor();
        // An allocation or a sleep here is a "sleeping function called from
        // invalid context" splat with CONFIG_DEBUG_ATOMIC_SLEEP.
        let rcu = kernel::sync::rcu::read_lock();
        let attached = xmattach(addr, 64, Some(&mut dp), KERNEL);
        drop(rcu);
        assert_eq!(attached, 0);
        assert_eq!(call(sid.0, 0, 0, 64, READ, Some(&mut dp), addr), 0);
        let rcu = kernel::sync::rcu::read_lock();
        let detached = xmdetach(Some(&mut dp));
        drop(rcu);
        assert_eq!(detached, 0);
        assert!(buf.iter().enumerate().all(|(i, &b)| b == pattern(i)));
        Ok(())
    }

    #[test]
    fn user_descriptor_round_trip_through_the_c_abi() -> Result {
        let (_fs, _file, sid) = file_with_pages(1, pattern)?;
        let baseline = stats::get().pins_live();
        let user = UserMemory::anonymous(2)?;
        let mut dp = descriptor();
        let addr = user.addr(PAGE_SIZE - 10);
        assert_eq!(xmattach(addr, 100, Some(&mut dp), USER), 0);
        assert_eq!(dp.aspace_id, sys::XMEM_PROC as isize);
        assert_eq!(call(sid.0, 0, 7, 100, READ, Some(&mut dp), addr), 0);
        let past_the_end = call(sid.0, 0, 0, 100, WRITE, Some(&mut dp), addr + 1);
        assert_eq!(past_the_end, EFAULT.to_errno());
        assert_eq!(xmdetach(Some(&mut dp)), 0);
        assert_eq!(stats::get().pins_live(), baseline);
        let mut seen = [0u8; 100];
        user.load(PAGE_SIZE - 10, &mut seen)?;
        assert!(seen.iter().enumerate().all(|(i, &b)| b == pattern(7 + i)));
        // A detached descriptor names no buffer.
        let ret = call(sid.0, 0, 0, 1, READ, Some(&mut dp), addr);
        assert_eq!(ret, EINVAL.to_errno());
        Ok(())
    }

    #[test]
    fn errors_come_back_as_negative_errnos_and_are_counted() -> Result {
        let (_fs, _file, sid) = file_with_pages(1, pattern)?;
        let (calls, einval) = stats::get().calls_and_errors(9, EINVAL);
        assert_eq!(call(sid.0, 0, 0, 1, 9, None, 0), -22);
        assert_eq!(
            stats::get().calls_and_errors(9, EINVAL),
            (calls + 1, einval + 1)
        );
        assert_eq!(call(0, 0, 0, 1, ZERO, None, 0), -9);
        assert_eq!(call(sid.0, 3, 0, 1, ZERO, None, 0), -2);
        assert_eq!(call(sid.0, 0, 0, 1, READ, None, 0), -22);
        // SAFETY: A null inode is refused before use.
        assert_eq!(unsafe { vm_mvc_sid_create(null_mut()) }, -22);
        // SAFETY: Process context.
        assert_eq!(unsafe { vm_mvc_sid_delete(0) }, -9);
        assert_eq!(call(sid.0, 0, 0, 1, ZERO | 0x200, None, 0), -22);
        Ok(())
    }

    #[test]
    fn sid_create_refuses_an_inode_whose_mapping_is_borrowed() -> Result {
        let (fs, host, _sid) = file_with_pages(1, pattern)?;
        let stacked = fs.create(c"stacked")?;
        let inode = stacked.inode().as_ptr();
        // SAFETY: The open file keeps the inode alive; nothing else uses
        // it while the test points its `i_mapping` at the host file's
        // cache, as coda does at open, and puts it back below.
        let own = unsafe { core::mem::replace(&mut (*inode).i_mapping, host.mapping()) };
        // SAFETY: Process context; the inode is alive for the call.
        let ret = unsafe { vm_mvc_sid_create(inode) };
        // SAFETY: As above.
        unsafe { (*inode).i_mapping = own };
        assert_eq!(ret, EINVAL.to_errno() as isize);
        // Its own cache is accepted, and the test deletes the sid.
        let sid = stacked.create_sid()?;
        assert!(sid.0 > 0);
        Ok(())
    }

    #[test]
    fn sid_create_refuses_an_inaccessible_mapping() -> Result {
        let fs = crate::test_fixture::RamFs::new()?;
        let file = fs.create(c"guest_memfd")?;
        let inode = file.inode().as_ptr();
        let inaccessible = file.inaccessible();
        // SAFETY: Process context; the open file keeps the inode alive.
        let ret = unsafe { vm_mvc_sid_create(inode) };
        assert_eq!(ret, EOPNOTSUPP.to_errno() as isize);
        drop(inaccessible);
        // The same inode with the flag cleared is accepted.
        assert!(file.create_sid()?.0 > 0);
        Ok(())
    }

    #[test]
    fn makep_refuses_an_inaccessible_mapping_and_inserts_nothing() -> Result {
        // The sid was created before the flag was set (guest_memfd sets it
        // when it creates the file, so no sid can come first there).
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        let inaccessible = file.inaccessible();
        assert_eq!(makep(sid.0, 3).err(), Some(EOPNOTSUPP));
        assert_eq!(makep(sid.0, 0).err(), Some(EOPNOTSUPP));
        assert!(file.folio(3).is_none());
        let existing = file.folio(0).ok_or(ENOENT)?;
        assert!(!existing.is_locked());
        drop(inaccessible);
        drop(makep(sid.0, 3)?);
        assert!(file.folio(3).is_some());
        Ok(())
    }

    #[test]
    fn folio_entries_refuse_null_and_unlocked_folios() -> Result {
        let (_fs, file, _sid) = file_with_pages(1, pattern)?;
        file.clean(0)?;
        let folio = file.folio(0).ok_or(ENOENT)?;
        for raw in [null_mut(), folio.as_ptr()] {
            // SAFETY: Null or a referenced folio; vm_mvc checks null and the
            // lock before anything else.
            let page = unsafe { vm_mvc_folio(raw, 0, 0, 1, ZERO, null_mut(), null_mut()) };
            assert_eq!(page, -22);
            // SAFETY: As above.
            let range = unsafe { vm_mvc_folio_range(raw, 0, 1, ZERO, null_mut(), null_mut()) };
            assert_eq!(range, -22);
        }
        assert!(!folio.is_dirty());
        Ok(())
    }

    #[test]
    fn makep_finds_or_creates_a_locked_folio() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        let created = makep(sid.0, 4)?;
        assert!(!created.is_uptodate() && created.is_locked() && created.contains(4));
        drop(created);
        let existing = makep(sid.0, 0)?;
        assert!(existing.is_uptodate() && existing.is_locked());
        drop(existing);
        let mut page = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
        file.read(0, &mut page)?;
        assert!(page.iter().enumerate().all(|(i, &b)| b == pattern(i)));
        assert_eq!(makep(sid.0, -1).err(), Some(EINVAL));
        assert_eq!(makep(0, 0).err(), Some(EBADF));
        assert_eq!(makep(sid.0, isize::MAX).err(), Some(EFBIG));
        assert!(file.folio(5).is_none());
        Ok(())
    }
}
