// SPDX-License-Identifier: GPL-2.0

//! The address-space operations of regular files: reading, writing and
//! writing back their folios, and the life of each folio's block state.

use super::raw::inode;
use crate::{
    read::Reader,
    sys,
    vfs::{detach_state, plugged, state_of, InvalidateGuard, LockedFolio},
    write::{self, Refitted},
    writeback::{Outcome, Writer},
};
use kernel::{
    bindings,
    error::{
        code::{EINVAL, ENOMEM},
        from_result, Result,
    },
    ffi::{c_int, c_uint, c_void},
};

pub(crate) const ADDRESS_SPACE_OPS: bindings::address_space_operations =
    bindings::address_space_operations {
        read_folio: Some(read_folio),
        readahead: Some(readahead),
        writepages: Some(writepages),
        dirty_folio: Some(dirty_folio),
        write_begin: Some(write_begin),
        write_end: Some(write_end),
        invalidate_folio: Some(invalidate_folio),
        release_folio: Some(release_folio),
        migrate_folio: Some(bindings::filemap_migrate_folio),
        is_partially_uptodate: Some(is_partially_uptodate),
        error_remove_folio: Some(bindings::generic_error_remove_folio),
        bmap: Some(bmap),
        ..pin_init::zeroed()
    };

/// The VFS's `bmap` for toyfs (`FIBMAP`, `swapon`): `file::bmap`.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `bmap`.
unsafe extern "C" fn bmap(
    mapping: *mut bindings::address_space,
    block: bindings::sector_t,
) -> bindings::sector_t {
    // SAFETY: `bmap()` passes the mapping of one of our live inodes
    // (regular files and symbolic links have these operations).
    let inode = unsafe { inode((*mapping).host) };
    crate::file::bmap(inode, block)
}

/// The VFS's `read_folio` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `read_folio`.
unsafe extern "C" fn read_folio(_file: *mut bindings::file, folio: *mut bindings::folio) -> c_int {
    // SAFETY: The page cache passes a locked, referenced, !uptodate folio
    // of one of our files; its lock goes to the read, which ends it.
    let (locked, inode) = unsafe {
        (
            LockedFolio::from_raw(folio),
            inode(sys::toyfs_folio_inode(folio)),
        )
    };
    let mut reader = Reader::new(inode);
    from_result(|| reader.read_folio(locked).map(|()| 0))
}

/// The VFS's `readahead` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `readahead`.
unsafe extern "C" fn readahead(rac: *mut bindings::readahead_control) {
    // SAFETY: Readahead of one of our files.
    let inode = unsafe { inode((*(*rac).mapping).host) };
    let mut reader = Reader::new(inode);
    loop {
        // SAFETY: `readahead_folio` hands out the folios to read, locked
        // (the page cache holds their references), null at the end.
        let folio = unsafe { sys::toyfs_readahead_folio(rac) };
        if folio.is_null() {
            break;
        }
        // SAFETY: As above; the read ends each folio, unlocking it.
        // Readahead is a hint: a folio that fails is left !uptodate, and
        // `read_folio` reports the error when it is needed.
        let _ = reader.read_folio(unsafe { LockedFolio::from_raw(folio) });
    }
}

/// `dirty_folio`: marks every block of the folio dirty, then the folio
/// (`iomap_dirty_folio`): a store through a mapping, or vm_mvc changing an
/// uptodate folio, may have touched any of its blocks.  (Writeback zeroes
/// the bytes past the end of the file with `VM_MVC_NODIRTY`, which does
/// not come here.)
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `dirty_folio`.
unsafe extern "C" fn dirty_folio(
    mapping: *mut bindings::address_space,
    folio: *mut bindings::folio,
) -> bool {
    // The state is attached only under the folio lock and freed only by
    // `release_folio` (clean folios) or a whole-folio `invalidate_folio`
    // (folios no longer mapped), as iomap's `iomap_dirty_folio` relies on.
    // SAFETY: The caller holds the folio locked, or a reference to a folio
    // that is or was mapped (`zap_pte_range`), so the state outlives this.
    if let Some(state) = unsafe { state_of(folio) } {
        state.set_dirty(0, state.blocks());
    }
    // SAFETY: As above.
    unsafe { bindings::filemap_dirty_folio(mapping, folio) }
}

/// `invalidate_folio`: a whole folio leaving the page cache loses its
/// block state (`iomap_invalidate_folio`); blocks wholly invalidated in
/// part of a folio (a hole punched, a truncation) are no longer dirty.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `invalidate_folio`.
unsafe extern "C" fn invalidate_folio(folio: *mut bindings::folio, offset: usize, len: usize) {
    // SAFETY: The folio is locked and referenced by the caller.
    let size = unsafe { sys::toyfs_folio_size(folio) };
    if offset == 0 && len == size {
        // SAFETY: As above; writeback has been waited for.
        unsafe {
            sys::toyfs_folio_cancel_dirty(folio);
            detach_state(folio);
        }
        return;
    }
    // SAFETY: As above.
    if let Some(state) = unsafe { state_of(folio) } {
        let block_size = size / state.blocks();
        let first = offset.div_ceil(block_size);
        let end = (offset + len) / block_size;
        if first < end {
            state.clear_dirty(first, end - first);
        }
    }
}

/// `release_folio`: a clean folio's block state goes (`iomap_release_folio`).
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `release_folio`.
unsafe extern "C" fn release_folio(folio: *mut bindings::folio, _gfp: bindings::gfp_t) -> bool {
    // SAFETY: The folio is locked and referenced by the caller, and not
    // under writeback.
    unsafe {
        if sys::toyfs_folio_test_dirty(folio) {
            return false;
        }
        detach_state(folio);
    }
    true
}

/// `is_partially_uptodate`: whether bytes `from..from + count` of the
/// folio are in uptodate blocks, so that `read` may copy them from a
/// folio that is not wholly uptodate.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `is_partially_uptodate`.
unsafe extern "C" fn is_partially_uptodate(
    folio: *mut bindings::folio,
    from: usize,
    count: usize,
) -> bool {
    // SAFETY: The folio is locked by the caller.
    let (state, size) = unsafe { (state_of(folio), sys::toyfs_folio_size(folio)) };
    let Some(state) = state else {
        return false;
    };
    let block_size = size / state.blocks();
    let to = (from + count).min(size);
    if from >= to {
        return false;
    }
    let first = from / block_size;
    state.is_uptodate(first, (to - 1) / block_size + 1 - first)
}

/// The VFS's `write_begin` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `write_begin`.
unsafe extern "C" fn write_begin(
    iocb: *const bindings::kiocb,
    mapping: *mut bindings::address_space,
    pos: i64,
    len: c_uint,
    foliop: *mut *mut bindings::folio,
    fsdata: *mut *mut c_void,
) -> c_int {
    // SAFETY: `generic_perform_write` passes our mapping, inode locked.
    let inode = unsafe { inode((*mapping).host) };
    let result = write::retry_after_writeback(inode, || {
        // SAFETY: As above; a failed attempt leaves no folio locked.
        unsafe { begin(iocb, mapping, pos, len) }
    });
    match result {
        Ok((folio, flags)) => {
            // SAFETY: Handed to `write_end` locked and referenced, with
            // what it has to finish (`fsdata` is the caller's, for this
            // write; flags as ext4's `FALL_BACK_TO_NONDELALLOC`).
            unsafe {
                *foliop = folio;
                *fsdata = core::ptr::without_provenance_mut(flags);
            }
            0
        }
        Err(err) => err.to_errno(),
    }
}

/// A flag of the `fsdata` `write_begin` gives `write_end`: the file's tail
/// was grown for more bytes than the folio it got holds, and `write_end`
/// fits the tail to the size again if the write stops before it.
const TAIL_GROWN_PAST_FOLIO: usize = 1;
/// A flag of the `fsdata`: the write grows the file (`write::Growth`,
/// noted by `write_begin`), and `write_end` ends that once `i_size` grew.
const GROWING: usize = 2;
/// A flag of the `fsdata`: `write_begin` holds the `invalidate_lock`
/// exclusive (the file's last block a hole, `write::Refitted::Hole`),
/// and `write_end` releases it once `i_size` grew.
const FAULTS_HELD: usize = 4;

/// One attempt of `write_begin`: the folio, locked and referenced, and
/// the `fsdata` flags for `write_end` (`TAIL_GROWN_PAST_FOLIO`,
/// `GROWING`, `FAULTS_HELD`), or an error with everything undone.
///
/// # Safety
///
/// The arguments of `write_begin`.
unsafe fn begin(
    iocb: *const bindings::kiocb,
    mapping: *mut bindings::address_space,
    pos: i64,
    len: c_uint,
) -> Result<(*mut bindings::folio, usize)> {
    // SAFETY: `generic_perform_write` passes our mapping, inode locked.
    let inode = unsafe { inode((*mapping).host) };
    let end = pos as u64 + u64::from(len);
    // A write past the end grows the file from before its tail gets a
    // new run until `write_end` raised `i_size`.
    let growing = end > inode.size();
    if growing {
        write::Growth::note(inode);
    }
    // SAFETY: The arguments of `write_begin`.
    let result = unsafe { begin_growing(iocb, mapping, pos, len) };
    match result {
        Ok((folio, grown, faults)) => {
            let held = faults.is_some();
            // Released by `write_end`, which `generic_perform_write` calls
            // after every `write_begin` that succeeded.
            if let Some(faults) = faults {
                faults.keep();
            }
            Ok((
                folio,
                if grown { TAIL_GROWN_PAST_FOLIO } else { 0 }
                    | if growing { GROWING } else { 0 }
                    | if held { FAULTS_HELD } else { 0 },
            ))
        }
        Err(err) => {
            if growing {
                write::Growth::end(inode);
            }
            Err(err)
        }
    }
}

/// [`begin`] once a growth is noted: the folio, locked and referenced,
/// whether the tail was grown for more than the folio holds, and the
/// `invalidate_lock` if taken (the last block a hole), or an error with
/// everything undone.
///
/// # Safety
///
/// The arguments of `write_begin`.
unsafe fn begin_growing<'a>(
    iocb: *const bindings::kiocb,
    mapping: *mut bindings::address_space,
    pos: i64,
    len: c_uint,
) -> Result<(*mut bindings::folio, bool, Option<InvalidateGuard<'a>>)> {
    // SAFETY: `generic_perform_write` passes our mapping, inode locked.
    let inode = unsafe { inode((*mapping).host) };
    // Proved once: a file offset is never negative (the VFS checked it
    // against `s_maxbytes`), so `pos + len` below `2^63 + 2^32` cannot
    // overflow, and needs no overflow branch.
    let pos = u64::try_from(pos).map_err(|_| EINVAL)?;
    // A write past the end: what a mapping stored past the old end must be
    // zero before the file grows over it.
    write::zero_post_eof(inode, inode.size(), pos)?;
    // A tail the write grows (FRAGMENTS) gets its new run first, its
    // folio locked alone.  For all `len` bytes: the folio, not known yet,
    // may hold fewer (large folios), and the write stop before the tail.
    let (from, to) = (inode.size(), pos + u64::from(len));
    let mut refitted = write::grow_tail(inode, from, to)?;
    // A last block that is a hole has no run to grow, but a store through
    // a mapping gives it one sized by the size `page_mkwrite` reads, the
    // old one until `write_end` raises it: too short for the bytes the
    // new size gives the block, which writeback then refuses (`EUCLEAN`).
    // The `invalidate_lock`, which `page_mkwrite` takes shared, keeps such
    // stores out until `i_size` grew, as a truncation up or `fallocate`
    // holds it across their growth; one that came first left a run, which
    // the look again grows.  The map tells a hole only here, without
    // FRAGMENTS never: other writes take no lock.
    let faults = if refitted == Refitted::Hole {
        let held = inode.lock_invalidate();
        refitted = write::grow_tail(inode, from, to)?;
        Some(held)
    } else {
        None
    };
    let grew = refitted == Refitted::NewRun;
    let index = pos / bindings::PAGE_SIZE as u64;
    // SAFETY: As above.
    let folio =
        unsafe { sys::toyfs_write_begin_get_folio(iocb, mapping, index as usize, len as usize) };
    if let Err(err) = kernel::error::from_err_ptr(folio) {
        // No folio (`ENOMEM`): the tail grown above for this write goes
        // back to the size's fewest fragments, as on the error below.
        write::after_write(
            inode,
            inode.size(),
            pos,
            pos + u64::from(len),
            grew,
            &write::NewInFolio::default(),
        );
        inode.mark_dirty();
        return Err(err);
    }
    // SAFETY: `write_begin_get_folio` returns the folio locked and
    // referenced; on error we release both below.
    let locked = unsafe { LockedFolio::from_raw(folio) };
    // The write stays inside the folio: its bytes there proved once
    // (`EINVAL` for a folio without `pos`, which the VFS never returns).
    let asked = len as usize;
    let bytes = write::FolioBytes::clipped(&locked, pos, asked);
    let len = bytes.map_or(0, |bytes| bytes.len());
    let grown = grew && len < asked;
    match bytes.and_then(|bytes| write::prepare_write(inode, &locked, pos, bytes)) {
        Ok(()) => Ok((folio, grown, faults)),
        Err(err) => {
            let new = write::abandon_new_blocks(&locked);
            // SAFETY: Ours, see above.
            unsafe {
                bindings::folio_unlock(folio);
                sys::toyfs_folio_put(folio);
            }
            // Blocks allocated past the end of the file go back; the map's
            // roots may have changed without reaching the inode table
            // (`write_inode` stores them).
            write::after_write(inode, inode.size(), pos, pos + len as u64, grown, &new);
            inode.mark_dirty();
            Err(err)
        }
    }
}

/// The VFS's `write_end` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `write_end`.
unsafe extern "C" fn write_end(
    _iocb: *const bindings::kiocb,
    mapping: *mut bindings::address_space,
    pos: i64,
    len: c_uint,
    copied: c_uint,
    folio: *mut bindings::folio,
    fsdata: *mut c_void,
) -> c_int {
    // SAFETY: `generic_perform_write` passes the folio `write_begin`
    // returned, locked and referenced, of our mapping, inode locked.
    let (inode, locked) = unsafe { (inode((*mapping).host), LockedFolio::from_raw(folio)) };
    let old_size = inode.size();
    let (copied, new) =
        write::finish_write(inode, &locked, pos as u64, len as usize, copied as usize);
    // SAFETY: Ours since `write_begin`.
    unsafe {
        bindings::folio_unlock(folio);
        sys::toyfs_folio_put(folio);
    }
    let flags = fsdata.addr();
    if flags & GROWING != 0 {
        // `i_size` grew under the folio lock, if it did.
        write::Growth::end(inode);
    }
    let grown = flags & TAIL_GROWN_PAST_FOLIO != 0;
    write::after_write(
        inode,
        old_size,
        pos as u64,
        pos as u64 + u64::from(len),
        grown,
        &new,
    );
    if flags & FAULTS_HELD != 0 {
        // SAFETY: Taken exclusive and kept by this write's `write_begin`
        // (`FAULTS_HELD`), released only here.
        drop(unsafe { inode.resume_invalidate() });
    }
    // CAST: at most `len`.
    copied as c_int
}

/// The VFS's `writepages` for toyfs: the dirty folios, with the task's
/// block I/O plugged (`vfs::plugged`) until the last bio is submitted, as
/// `mpage_writepages` does for ext2.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `writepages`.
unsafe extern "C" fn writepages(
    mapping: *mut bindings::address_space,
    wbc: *mut bindings::writeback_control,
) -> c_int {
    // SAFETY: The VFS's arguments, passed on.
    plugged(|| unsafe { write_dirty_folios(mapping, wbc) })
}

/// `writepages`'s pass over the dirty folios of `mapping`; the last bio
/// is submitted when the [`Writer`] drops, before it returns.
///
/// # Safety
///
/// `mapping` and `wbc` are the arguments of a call of toyfs's
/// `writepages`.
unsafe fn write_dirty_folios(
    mapping: *mut bindings::address_space,
    wbc: *mut bindings::writeback_control,
) -> c_int {
    // SAFETY: Writeback of our mapping.
    let inode = unsafe { inode((*mapping).host) };
    // SAFETY: `wbc` is valid for the call.
    let integrity = unsafe { (*wbc).sync_mode } == bindings::writeback_sync_modes_WB_SYNC_ALL;
    let mut writer = Writer::new(inode);
    let mut folio = core::ptr::null_mut();
    let mut error: c_int = 0;
    loop {
        // SAFETY: The iteration protocol of `writeback_iter`: it returns
        // each dirty folio locked, with its dirty bit cleared for I/O, and
        // records the `error` of the previous one.
        folio = unsafe { bindings::writeback_iter(mapping, wbc, folio, &mut error) };
        if folio.is_null() {
            return error;
        }
        // SAFETY: As above; unlocked below.
        let locked = unsafe { LockedFolio::from_raw(folio) };
        error = match writer.write_folio(&locked) {
            Ok(Outcome::Written) => 0,
            Ok(Outcome::Redirty) => {
                // No memory: the folio stays dirty and nothing is lost, so
                // the mapping records no error.  Writeback that promises
                // nothing (`WB_SYNC_NONE`) goes on.  Data-integrity
                // writeback (`WB_SYNC_ALL`: `fsync`, `sync`, the
                // writeback before a direct I/O) must not end as if the
                // folio were written: `ENOMEM`, which `writeback_iter`
                // returns once it went through the other folios, and on
                // which `do_writepages` waits (`reclaim_throttle`) and
                // runs the pass again until it writes the folio, as it
                // does for ext4's writeback.
                // SAFETY: Locked, its dirty bit cleared by `writeback_iter`.
                unsafe { bindings::folio_redirty_for_writepage(wbc, folio) };
                if integrity {
                    ENOMEM.to_errno()
                } else {
                    0
                }
            }
            Err(err) => {
                // SAFETY: The mapping is ours.
                unsafe { sys::toyfs_mapping_set_error(mapping, err.to_errno()) };
                // The folio's bytes are not on the disk: `write_inode`
                // names no moved run among them (`InodeInfo::failed`).
                let start = locked.pos();
                inode
                    .info()
                    .failed
                    .record_failed(start..start + locked.size() as u64);
                err.to_errno()
            }
        };
        // SAFETY: Locked by `writeback_iter`.
        unsafe { bindings::folio_unlock(folio) };
    }
}
