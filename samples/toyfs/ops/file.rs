// SPDX-License-Identifier: GPL-2.0

//! The operations of regular files: attributes, reads and writes, fsync
//! and mmap.

use super::raw::inode;
use crate::{
    file::{self, Stored},
    inode::{sync_file, write_inode_waited, Moves},
    sys, tails,
    vfs::{allow_direct_io, fill_iomap, Inode, IomapOps, Kiocb, LockedFolio},
    write,
};
use kernel::{
    bindings,
    error::{from_result, to_result},
    ffi::{c_int, c_uint},
    prelude::*,
};

pub(crate) const FILE_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
    setattr: Some(setattr),
    fiemap: Some(fiemap),
    fileattr_get: Some(fileattr_get),
    fileattr_set: Some(fileattr_set),
    ..pin_init::zeroed()
};

/// The VFS's `setattr` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `setattr`.
pub(crate) unsafe extern "C" fn setattr(
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    attr: *mut bindings::iattr,
) -> c_int {
    // SAFETY: The VFS passes a dentry of ours with its inode locked.
    let raw = unsafe { (*dentry).d_inode };
    // SAFETY: As above.
    let inode = unsafe { inode(raw) };
    from_result(|| {
        // SAFETY: As above; `attr` is valid for the call.
        to_result(unsafe { bindings::setattr_prepare(idmap, dentry, attr) })?;
        // SAFETY: As above.
        let (valid, size) = unsafe { ((*attr).ia_valid, (*attr).ia_size) };
        // To the same size only an image with PREALLOC has anything to
        // do: free the blocks preallocated past the end.
        let resized = if valid & bindings::ATTR_SIZE != 0
            && (size as u64 != inode.size() || inode.sb().info().geometry_now().has_prealloc())
        {
            // CAST: `setattr_prepare` checked the size against s_maxbytes.
            file::set_size(inode, size as u64)?
        } else {
            Ok(())
        };
        // The size changed even if freeing past it failed (`resized`):
        // the other attributes of the call too (a write's `ATTR_KILL_SUID`
        // among them), then the error.
        // SAFETY: As above.
        unsafe { bindings::setattr_copy(idmap, raw, attr) };
        inode.mark_dirty();
        resized.map(|()| 0)
    })
}

/// The VFS's `fsync` for toyfs: the file's dirty data is written and
/// waited for (an I/O error on it is reported here, from the file's own
/// mapping), in the range asked for and in every block given a new run
/// since the last `fsync` (`InodeInfo::moved`), then what the file needs on disk to be read back
/// (`inode::sync_file`: its tail, its bitmap blocks, its indirect blocks,
/// and its inode if it changed since an `fsync` last wrote it, for
/// `fdatasync` only if its size or its block map changed, as ext2's
/// `simple_fsync` tests `I_DIRTY_SYNC` and `I_DIRTY_DATASYNC`; a failed
/// write in the background of its tail or of one of its indirect blocks
/// is reported from its mapping too), and the device's write cache is
/// flushed, always: what writeback wrote before may still be in it.  The map is written only after the
/// bytes of every run it names: if an append moved the tail after the
/// moved blocks were read, `sync_file` writes no map and the moved
/// blocks are written again: from the second round on with the inode
/// lock shared, which keeps `write`, truncations and `fallocate` out,
/// and from the third on with the mapping's `invalidate_lock` held
/// exclusive too, which keeps stores through a shared mapping out
/// (`page_mkwrite`), so that no writer can keep `fsync` from ending.
/// A directory's `fsync` writes every dirty metadata
/// block of the device (`sync_blockdev`): its entries' blocks are not on
/// its own list; then its inode, which names those blocks.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `fsync`.
pub(crate) unsafe extern "C" fn fsync(
    file: *mut bindings::file,
    start: i64,
    end: i64,
    datasync: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: The VFS passes an open file of ours.
        let raw = unsafe { sys::toyfs_file_inode(file) };
        // SAFETY: As above.
        let inode = unsafe { inode(raw) };
        // A failed write of the file's data that this reports (the
        // file's `errseq`, and `AS_EIO`, which it clears) no longer keeps
        // `write_inode` from writing a map naming the failed bytes' run
        // (`InodeInfo::failed`), as before when `AS_EIO` did: those
        // noted before it looked (`FailedWrites::forget_reported`; a
        // write failing meanwhile stays noted, review of the eiofix
        // merge).
        // A failed write of its indirect blocks is judged by their
        // buffers (`InodeInfo::indirect`), written again before a map.
        let noted = inode.info().failed.noted();
        let reported = |written: Result| {
            if written.is_err() {
                inode.info().failed.forget_reported(noted);
            }
            written
        };
        // SAFETY: As above.
        reported(to_result(unsafe {
            bindings::file_write_and_wait_range(file, start, end)
        }))?;
        let bdev = inode.sb().bdev();
        if inode.is_dir() {
            // What the directory's inode names first, the inode last: a
            // pointer reaches the disk only after what it points to.
            // The device's dirty metadata (the bitmap, the new entries'
            // inodes, the directory's blocks and indirect blocks) is
            // written and waited for before the inode with the size and
            // pointers of a block the directory grew by; the other order
            // left, after a crash between the two, a directory whose last
            // block was free in the bitmap and held no chain of entries
            // (review rev10).
            // SAFETY: The device of a mounted filesystem is open.
            to_result(unsafe { bindings::sync_blockdev(bdev) })?;
            // Its blocks kept getting new runs (entries added under its
            // lock): once more with the lock held, shared, every change
            // of its blocks waiting.
            if !write_inode_waited(inode, Moves::MayGoOn)? {
                let _locked = inode.lock_shared();
                write_inode_waited(inode, Moves::Stopped)?;
            }
        } else {
            let mut locked = None;
            let mut invalidate = None;
            let synced = loop {
                // Blocks given a new run since the last fsync (an append
                // that moved the old tail to a whole block) are written
                // first, inside the range asked for or not: the map
                // `sync_file` writes names their new runs.  A run moved
                // after `moved` is read (a concurrent append) has its
                // pointer in the map at once and its bytes only when its
                // folio is written: `sync_file` sees it under the map
                // lock and writes no map then (a crash would find the
                // pointer without the bytes, and the old run, holding
                // what an earlier fsync made durable, freed), and the
                // loop writes the moved folios again.
                let moved = inode.info().moved();
                let range = &moved.bytes;
                let written = if range.is_empty() {
                    Ok(())
                } else {
                    // SAFETY: As above.  CAST: offsets below `s_maxbytes`.
                    reported(to_result(unsafe {
                        bindings::file_write_and_wait_range(
                            file,
                            range.start as i64,
                            range.end as i64 - 1,
                        )
                    }))
                };
                match written.and_then(|()| sync_file(inode, &moved, datasync != 0)) {
                    // The second round: `write` (an append that moves the
                    // tail), a truncation and `fallocate` wait for the
                    // inode lock, held shared.
                    Ok(false) if locked.is_none() => locked = Some(inode.lock_shared()),
                    // The third: a store through a shared mapping takes
                    // no inode lock, and on a compressed file each one
                    // into a folio that writeback cleaned gives its block
                    // a new run again (`page_mkwrite` makes the block
                    // plain, writeback compresses it again), so a process
                    // storing all the time kept every round from ending
                    // (fsrev #2).  With the `invalidate_lock` exclusive,
                    // `page_mkwrite` (which takes it shared) waits, and
                    // no folio of the file is dirtied: what is left to
                    // move runs is writeback of the folios dirty already
                    // (ours, the flusher's, a direct read's), each
                    // written once and then clean for good, so the
                    // rounds end.  The order is the VFS's (a
                    // truncation's): inode lock, `invalidate_lock`, folio
                    // locks; writeback under it is what a truncation's
                    // `ENOSPC` retry does (`write::retry_after_writeback`),
                    // and no path takes the inode lock or the
                    // `invalidate_lock` with a folio locked or with
                    // toyfs's map lock held.  Only from the third round,
                    // so that faults wait only for an `fsync` that
                    // something kept from ending twice.
                    Ok(false) if invalidate.is_none() => invalidate = Some(inode.lock_invalidate()),
                    Ok(false) => {}
                    done => break done,
                }
            };
            // In the reverse order.
            drop(invalidate);
            drop(locked);
            if let Err(err) = synced {
                // This call reports a failure: errors recorded on the
                // file's mapping meanwhile (a failed write of one of its
                // own buffers, `mark_buffer_write_io_error`) are seen
                // with it, as `generic_buffers_fsync_noflush` checks
                // again whatever it returns.  Left unseen, the next
                // descriptor opened got them once more (`errseq_sample`),
                // its `fsync` failing with the device well (review
                // 2026-12-07, keptfix2 1).
                // SAFETY: As above.
                let _ = reported(to_result(unsafe {
                    bindings::file_check_and_advance_wb_err(file)
                }));
                return Err(err);
            }
        }
        // SAFETY: As above: errors recorded on the file's mapping since
        // the last check (a failed write of one of its own buffers).
        reported(to_result(unsafe {
            bindings::file_check_and_advance_wb_err(file)
        }))?;
        // SAFETY: The device of a mounted filesystem is open.
        to_result(unsafe { bindings::blkdev_issue_flush(bdev) })?;
        Ok(0)
    })
}

pub(crate) const FILE_OPS: bindings::file_operations = bindings::file_operations {
    llseek: Some(llseek),
    read_iter: Some(read_iter),
    fallocate: Some(fallocate),
    write_iter: Some(write_iter),
    mmap: Some(mmap),
    open: Some(open),
    fsync: Some(fsync),
    splice_read: Some(bindings::filemap_splice_read),
    splice_write: Some(bindings::iter_file_splice_write),
    ..pin_init::zeroed()
};

/// The VFS's `open` for toyfs files: `generic_file_open` (`O_LARGEFILE`),
/// and the file may take `O_DIRECT` (`FMODE_CAN_ODIRECT`), which
/// `read_iter` and `write_iter` do (Documentation/toyfs.rst, "Direct
/// I/O").  Opened for writing, a file whose last block is a packed tail
/// gets it in fragments of its own first ([`move_packed_tail`]): every
/// write, store through a mapping, `fallocate` and truncation through
/// the file then finds a file without one.  If that fails for want of
/// room, the open succeeds all the same, the tail still packed: what
/// changes the file moves it first, and fails with `ENOSPC` itself (a
/// write, `fallocate`; a store through a mapping into the tail's folio
/// gets `SIGBUS`), but a truncation down needs no room
/// (`file::set_size`), and opening an existing file is no allocation
/// (review rev10: `ftruncate` needs an open for writing, which failed
/// with `ENOSPC` on a full image).  The VFS takes no freeze protection
/// for an open without `O_CREAT` or `O_TRUNC`: the move takes it
/// (`sb_start_write`), so on a frozen filesystem such an open of a file
/// with a packed tail waits for the thaw, as a write would: uninterruptibly
/// (a signal does not end the wait, `O_NONBLOCK` does not avoid it).
/// Another error (`EIO`, `EUCLEAN`)
/// fails the open, with nothing changed.  With `O_TRUNC` the tail is
/// not moved at all: the VFS truncates the file right after this
/// (`handle_truncate`), or, if that fails, closes it unused.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `open`.
unsafe extern "C" fn open(raw: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: The VFS's arguments, passed on.
    let opened = unsafe { bindings::generic_file_open(raw, file) };
    if opened != 0 {
        return opened;
    }
    // SAFETY: The file being opened, during its `open`.
    unsafe { allow_direct_io(file) };
    // SAFETY: As above.
    let writing = unsafe { (*file).f_mode } & sys::TOYFS_FMODE_WRITE != 0;
    // SAFETY: The VFS opens an inode of ours, referenced by the file.
    let inode = unsafe { inode(raw) };
    // SAFETY: As above.
    let truncating = unsafe { (*file).f_flags } & bindings::O_TRUNC != 0;
    if writing && !truncating && tails::has_packed_tail(inode) {
        // The VFS opens without freeze protection: the move waits for a
        // frozen filesystem's thaw, as a write would (a frozen image
        // changes not at all until it is thawed), uninterruptibly
        // (`sb_start_write`), `O_NONBLOCK` or not.
        let _unfrozen = inode.sb().start_write();
        match move_packed_tail(inode) {
            Err(err) if err != ENOSPC => return err.to_errno(),
            _ => {}
        }
    }
    0
}

/// Moves the packed tail of `inode`, if it has one, into fragments of
/// its own (`tails::unpack`, under the inode's lock and its
/// `invalidate_lock`, as a truncation), before the file changes.  Only a
/// file that has one takes those locks (`tails::has_packed_tail`: the
/// kernel never packs a tail, so a file without one never gets one): an
/// open for writing does not wait for a write or a fault of the file
/// under way, as no open on ext2 does (review rev10).
fn move_packed_tail(inode: &Inode) -> Result {
    if !tails::has_packed_tail(inode) {
        return Ok(());
    }
    let _locked = inode.lock();
    let _invalidate = inode.lock_invalidate();
    tails::unpack(inode)
}

/// The VFS's `read_iter` for toyfs files.  A direct read (`O_DIRECT`)
/// marks the access time, then takes the inode lock shared; whole plain blocks inside the file go by
/// bio straight into the caller's pages (`file::direct_io_fits`,
/// iomap's direct I/O, which writes back the range's dirty folios
/// first); anything else, and what is left of a short one, first has
/// the dirty folios of its range written back and waited for (reporting
/// their write errors, as the kernel's direct reads do), then is read
/// through the page cache like any read: it sees what buffered writes
/// and mappings stored, and needs no alignment.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `read_iter`.
unsafe extern "C" fn read_iter(iocb: *mut bindings::kiocb, to: *mut bindings::iov_iter) -> isize {
    // SAFETY: The VFS's arguments for this call.
    let mut io = unsafe { Kiocb::from_raw(iocb, to) };
    if !io.is_direct() {
        return io.read_buffered();
    }
    let count = io.count();
    if count == 0 {
        // No atime update, as `generic_file_read_iter`.
        return 0;
    }
    // As XFS's and ext4's direct reads: iomap does not mark it, and a
    // read it does in full reaches no `filemap_read`, which would.
    io.accessed();
    if io.is_nowait() {
        // Not the lock nor iomap, which may wait: the page cache, which
        // answers `EAGAIN` where it would.
        return match io.write_back(count) {
            Ok(()) => io.read_cached(0),
            Err(err) => err.to_errno() as isize,
        };
    }
    let inode = io.inode();
    let locked = inode.lock_shared();
    let fits = file::direct_io_fits(inode, io.position(), count as u64, io.buffer_alignment());
    let done = match fits {
        Ok(true) => io.direct_rw(&IOMAP_OPS, &locked),
        Ok(false) => 0,
        Err(err) => err.to_errno() as isize,
    };
    let left = io.count();
    if done == ENOTBLK.to_errno() as isize {
        // Nothing read: the page cache does it all.
    } else if done < 0 || left == 0 || io.position() >= inode.size() {
        return done;
    }
    let done = done.max(0) as usize;
    match io.write_back(left) {
        Ok(()) => io.read_cached(done),
        Err(_) if done > 0 => done as isize,
        Err(err) => err.to_errno() as isize,
    }
}

/// The VFS's `write_iter` for toyfs files.  A direct write (`O_DIRECT`),
/// under the inode lock, with any alignment: whole plain blocks already
/// allocated inside the file go by bio straight from the caller's pages
/// (`file::direct_io_fits`, iomap's direct I/O); anything else (tails,
/// compressed blocks, holes, past the end, unaligned), and what is left
/// of a short one, is a buffered write whose bytes are on the device when
/// it returns (`Kiocb::write_through_cache`, the kernel's
/// `direct_write_fallback`).  `O_SYNC`/`O_DSYNC` then as for any write.
/// A direct write stamps the file modified (`file_modified`) only once its
/// block map is read: a damaged one fails it with nothing changed.
///
/// With `IOCB_NOWAIT` any write, buffered or direct, is `EAGAIN` at once:
/// it would wait for the inode lock, allocations and I/O.  toyfs sets no
/// `FMODE_NOWAIT`, so `RWF_NOWAIT` (`pwritev2`, aio, io_uring's
/// `rw_flags`) never gets here: the VFS refuses it with `EOPNOTSUPP`
/// (`kiocb_set_rw_flags`).  What does get here is io_uring's first try
/// of a direct write to a file opened `O_NONBLOCK`: io_uring counts such
/// a file as one that may be asked not to wait (`io_file_get_flags`:
/// `O_NONBLOCK` or `FMODE_NOWAIT`) and sets `IOCB_NOWAIT` itself
/// (`io_write`); answered `EAGAIN`, it does the write again from a worker
/// that may wait (`toyfs-probe nowait`).  A buffered write io_uring
/// answers `EAGAIN` itself, before this, since toyfs sets no
/// `FOP_BUFFER_WASYNC`: the rule is toyfs's own all the same, whoever
/// the caller, as ext4 refuses a buffered one (`EOPNOTSUPP`, which
/// io_uring takes as `EAGAIN`).
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `write_iter`.
unsafe extern "C" fn write_iter(
    iocb: *mut bindings::kiocb,
    from: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: The VFS's arguments for this call.
    let mut io = unsafe { Kiocb::from_raw(iocb, from) };
    if io.is_nowait() {
        return EAGAIN.to_errno() as isize;
    }
    // A packed tail left by an open without room moves first (`open`),
    // for a write of some bytes: one of none returns 0 and changes
    // nothing (`generic_write_checks`), as on ext2, where moving the tail
    // failed it with `ENOSPC` on a full image.
    if io.count() > 0 && tails::has_packed_tail(io.inode()) {
        if let Err(err) = move_packed_tail(io.inode()) {
            return err.to_errno() as isize;
        }
    }
    if !io.is_direct() {
        return io.write_buffered();
    }
    let inode = io.inode();
    let locked = inode.lock();
    let written = io.write_checks(&locked).and_then(|count| {
        if count == 0 {
            return Ok(0);
        }
        // The block map is read before the file is stamped modified: a
        // damaged one (`EUCLEAN`) fails the write with nothing changed,
        // not its times nor its set-id bits.  The set-id bits still go
        // before a byte is written, either way.
        let fits = file::direct_io_fits(inode, io.position(), count as u64, io.buffer_alignment())?;
        io.file_modified(&locked)?;
        let done = if fits {
            match io.direct_rw(&IOMAP_OPS, &locked) {
                done if done == ENOTBLK.to_errno() as isize => 0,
                done if done < 0 => return Ok(done),
                done => done,
            }
        } else {
            0
        };
        if io.count() == 0 {
            return Ok(done);
        }
        Ok(match io.write_through_cache(&locked) {
            buffered if buffered < 0 && done > 0 => done,
            buffered if buffered < 0 => buffered,
            buffered => done + buffered,
        })
    });
    drop(locked);
    match written {
        Ok(written) if written > 0 => io.write_sync(written),
        Ok(written) => written,
        Err(err) => err.to_errno() as isize,
    }
}

/// iomap's operations for toyfs's direct I/O.
static IOMAP_OPS: IomapOps = IomapOps::new(iomap_begin);

/// iomap's `iomap_begin` for toyfs's direct I/O: the extent at `pos`
/// (`file::direct_extent`).
///
/// # Safety
///
/// Called only by iomap, during `iomap_dio_rw` on one of our files, with
/// the arguments its operation table documents for `iomap_begin`.
unsafe extern "C" fn iomap_begin(
    raw: *mut bindings::inode,
    pos: i64,
    length: i64,
    _flags: c_uint,
    iomap: *mut sys::iomap,
    _srcmap: *mut sys::iomap,
) -> c_int {
    // SAFETY: iomap passes the inode of the request, one of ours.
    let inode = unsafe { inode(raw) };
    // CAST: iomap's positions and lengths are not negative.
    match file::direct_extent(inode, pos as u64, length as u64) {
        Ok(extent) => {
            // SAFETY: The `iomap` of this call.
            unsafe { fill_iomap(iomap, inode.sb(), extent) };
            0
        }
        Err(err) => err.to_errno(),
    }
}

/// The VFS's `mmap` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `mmap`.
unsafe extern "C" fn mmap(file: *mut bindings::file, vma: *mut bindings::vm_area_struct) -> c_int {
    // SAFETY: The VFS maps an open file of ours into a new vma.
    unsafe {
        sys::toyfs_file_accessed(file);
        (*vma).vm_ops = &VM_OPS;
    }
    0
}

const VM_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
    fault: Some(bindings::filemap_fault),
    map_pages: Some(bindings::filemap_map_pages),
    page_mkwrite: Some(page_mkwrite),
    ..pin_init::zeroed()
};

/// The VFS's `page_mkwrite` for toyfs: under the `invalidate_lock`
/// (shared), so that a truncation or a hole punched cannot free the
/// blocks it gives the folio before the store lands.  With LZ4 an
/// `ENOSPC` is retried once after the file is written back, as in
/// `write_begin` (`write::retry_after_writeback`).
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `page_mkwrite`.
unsafe extern "C" fn page_mkwrite(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // SAFETY: The fault handler passes a write fault on a page of a
    // shared mapping of one of our files; the page is referenced.
    let (file, page) = unsafe { ((*(*vmf).__bindgen_anon_1.vma).vm_file, (*vmf).page) };
    // SAFETY: As above.
    let raw = unsafe { sys::toyfs_file_inode(file) };
    // SAFETY: As above.
    let inode = unsafe { inode(raw) };
    // SAFETY: As above; ended below on every path.
    unsafe {
        sys::toyfs_sb_start_pagefault((*raw).i_sb);
        bindings::file_update_time(file);
    }
    let invalidate = inode.lock_invalidate_shared();
    // SAFETY: The page is referenced by the fault.
    let folio = unsafe { sys::toyfs_page_folio(page) };
    // With LZ4, an `ENOSPC` is tried again once the file is written back,
    // the folio unlocked meanwhile.  `Ok(false)`: truncated while we
    // waited for the lock or wholly past the end, the fault retries.
    let made = write::retry_after_writeback(inode, || {
        // SAFETY: As above; unlocked below unless handed locked to the
        // fault.
        unsafe { sys::toyfs_folio_lock(folio) };
        // SAFETY: Locked above.
        let still_ours = unsafe { bindings::folio_mapping(folio) == (*raw).i_mapping };
        let made = if still_ours {
            // SAFETY: Locked and referenced until we return.
            let locked = unsafe { LockedFolio::from_raw(folio) };
            write::page_mkwrite(inode, &locked)
        } else {
            Ok(false)
        };
        if !matches!(made, Ok(true)) {
            // SAFETY: Locked above and not handed on.
            unsafe { bindings::folio_unlock(folio) };
            // An allocation that failed part-way may have changed the
            // map's roots without storing them (`write_inode` does).
            inode.mark_dirty();
        }
        made
    });
    let ret = match made {
        Ok(true) => {
            // SAFETY: Locked; stable pages must be waited for before the
            // store.
            unsafe { bindings::folio_wait_stable(folio) };
            bindings::vm_fault_reason_VM_FAULT_LOCKED
        }
        Ok(false) => bindings::vm_fault_reason_VM_FAULT_NOPAGE,
        Err(err) if err == ENOMEM => bindings::vm_fault_reason_VM_FAULT_OOM,
        Err(_) => bindings::vm_fault_reason_VM_FAULT_SIGBUS,
    };
    drop(invalidate);
    // SAFETY: Started above.
    unsafe { sys::toyfs_sb_end_pagefault((*raw).i_sb) };
    ret
}

/// The VFS's `llseek` for toyfs files: `SEEK_DATA` and `SEEK_HOLE` follow
/// the block map, the rest is `generic_file_llseek`.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `llseek`.
unsafe extern "C" fn llseek(file: *mut bindings::file, offset: i64, whence: c_int) -> i64 {
    let data = match whence as u32 {
        bindings::SEEK_DATA => true,
        bindings::SEEK_HOLE => false,
        // SAFETY: The VFS's arguments, passed on.
        _ => return unsafe { bindings::generic_file_llseek(file, offset, whence) },
    };
    if offset < 0 {
        return ENXIO.to_errno().into();
    }
    // SAFETY: The VFS passes an open file of ours.
    let raw = unsafe { sys::toyfs_file_inode(file) };
    // SAFETY: As above.
    let inode = unsafe { inode(raw) };
    // SAFETY: As above; unlocked below.
    unsafe { sys::toyfs_inode_lock_shared(raw) };
    // CAST: `offset` is not negative.
    let found = file::seek_hole_data(inode, offset as u64, data);
    // SAFETY: Locked above.
    unsafe { sys::toyfs_inode_unlock_shared(raw) };
    match found {
        // SAFETY: The file is open; `s_maxbytes` bounds the position.
        // CAST: positions below the largest file.
        Ok(pos) => unsafe { bindings::vfs_setpos(file, pos as i64, (*(*raw).i_sb).s_maxbytes) },
        Err(err) => err.to_errno().into(),
    }
}

/// The VFS's `fallocate` for toyfs.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `fallocate`.
unsafe extern "C" fn fallocate(
    file: *mut bindings::file,
    mode: c_int,
    offset: i64,
    len: i64,
) -> isize {
    // SAFETY: The VFS passes an open file of ours, checked for writing.
    let raw = unsafe { sys::toyfs_file_inode(file) };
    // SAFETY: As above.
    let inode = unsafe { inode(raw) };
    // SAFETY: As above; unlocked below.
    unsafe { sys::toyfs_inode_lock(raw) };
    // CAST: `vfs_fallocate` checked both for negative values.
    let (mode, offset, len) = (mode as u32, offset as u64, len as u64);
    let result = (|| {
        // A refused call changes nothing: not the times, nor the set-id
        // bits `file_modified` clears (nor does a damaged map or want
        // of room, found before `fallocate` calls it).
        file::check_fallocate(inode, mode, offset, len)?;
        file::fallocate(inode, mode, offset, len, || {
            // SAFETY: The inode is locked, as `file_modified` needs.
            to_result(unsafe { bindings::file_modified(file) })
        })
    })();
    // SAFETY: Locked above.
    unsafe { sys::toyfs_inode_unlock(raw) };
    match result {
        Ok(()) => 0,
        Err(err) => err.to_errno() as isize,
    }
}

/// The VFS's `fiemap` for toyfs: one extent a run of contiguous blocks,
/// or a tail (`FIEMAP_EXTENT_DATA_TAIL`, with which the kernel sets
/// `FIEMAP_EXTENT_NOT_ALIGNED`), or a compressed block
/// (`FIEMAP_EXTENT_ENCODED | FIEMAP_EXTENT_NOT_ALIGNED`).
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `fiemap`.
unsafe extern "C" fn fiemap(
    raw: *mut bindings::inode,
    info: *mut bindings::fiemap_extent_info,
    start: u64,
    mut len: u64,
) -> c_int {
    // SAFETY: The VFS passes our inode and the caller's extent buffer.
    let inode = unsafe { inode(raw) };
    let info = info.cast::<sys::fiemap_extent_info>();
    from_result(|| {
        // SAFETY: As above.
        to_result(unsafe { sys::fiemap_prep(raw, info, start, &mut len, 0) })?;
        // SAFETY: As above; unlocked below.
        unsafe { sys::toyfs_inode_lock_shared(raw) };
        let result = file::fiemap(inode, start, len, |mapped, last| {
            let stored = match mapped.stored {
                Stored::Plain => 0,
                Stored::Tail => sys::FIEMAP_EXTENT_DATA_TAIL,
                // At a fragment's offset, and fewer bytes on disk than
                // the block it stands for: not aligned, which the kernel
                // adds for tails and inline data only.
                Stored::Compressed => sys::FIEMAP_EXTENT_ENCODED | sys::FIEMAP_EXTENT_NOT_ALIGNED,
            };
            let flags = stored | if last { sys::FIEMAP_EXTENT_LAST } else { 0 };
            // SAFETY: As above.
            let full = unsafe {
                sys::fiemap_fill_next_extent(
                    info,
                    mapped.logical,
                    mapped.physical,
                    mapped.length,
                    flags,
                )
            };
            to_result(full.min(0))?;
            Ok(full == 1)
        });
        // SAFETY: Locked above.
        unsafe { sys::toyfs_inode_unlock_shared(raw) };
        result.map(|()| 0)
    })
}

/// The VFS's `fileattr_get` for toyfs, of regular files and directories:
/// `FS_IOC_GETFLAGS` (`lsattr`) shows `FS_COMPR_FL` on a compressed file.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `fileattr_get`.
pub(crate) unsafe extern "C" fn fileattr_get(
    dentry: *mut bindings::dentry,
    fa: *mut bindings::file_kattr,
) -> c_int {
    // SAFETY: The VFS passes a dentry of ours with its inode.
    let inode = unsafe { inode((*dentry).d_inode) };
    from_result(|| {
        let flags = file::flags(inode)?;
        // SAFETY: `fa` is the caller's `struct file_kattr`, valid for the
        // call (the kernel's bindings know the type only by name).
        unsafe { sys::fileattr_fill_flags(fa.cast(), flags) };
        Ok(0)
    })
}

/// The VFS's `fileattr_set` for toyfs, of regular files and directories:
/// `FS_IOC_SETFLAGS` (`chattr`), with `FS_COMPR_FL` the one flag it
/// takes, of a regular file (`file::set_flags`).  The VFS checked the
/// caller's right to change the file's flags.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its operation table
/// documents for `fileattr_set` (the inode locked).
pub(crate) unsafe extern "C" fn fileattr_set(
    _idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    fa: *mut bindings::file_kattr,
) -> c_int {
    // SAFETY: As in `fileattr_get`.
    let inode = unsafe { inode((*dentry).d_inode) };
    let fa = fa.cast::<sys::file_kattr>();
    // SAFETY: As in `fileattr_get`.
    let (flags, fsx) = unsafe { ((*fa).flags, (*fa).fsx_valid()) };
    from_result(|| {
        // `FS_IOC_FSSETXATTR` carries no flag toyfs keeps.
        if fsx {
            return Err(EOPNOTSUPP);
        }
        file::set_flags(inode, flags).map(|()| 0)
    })
}
