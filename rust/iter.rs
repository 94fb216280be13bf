// SPDX-License-Identifier: GPL-2.0

//! `vm_mvc_iter`: READ and WRITE between a page of a file and a
//! `struct iov_iter`, the Linux-native buffer (m2).
//!
//! A filesystem already holds an `iov_iter` in `->read_iter` and
//! `->write_iter`, for user memory (UBUF, IOVEC) or kernel memory (KVEC,
//! BVEC), and the kernel's copy routines fault user pages in as they go.
//! So nothing is pinned, and the direction is the iterator's own
//! (`ITER_DEST` for READ, `ITER_SOURCE` for WRITE).  The one hazard is a
//! fault under the folio lock: a user buffer that maps the very page being
//! copied would fault into `filemap_fault`, which waits for that lock.
//! Hence the discipline of `filemap_read` and `generic_perform_write`:
//!
//! - READ by sid takes no lock, as `filemap_read`: a folio reference, the
//!   uptodate check, then `copy_page_to_iter`, which may fault.
//! - WRITE by sid faults the source in first
//!   (`fault_in_iov_iter_readable`), then copies under the lock with
//!   page faults disabled (`copy_folio_from_iter_atomic`); a short copy
//!   (the source was unmapped meanwhile) unlocks and starts over.
//! - On a folio the caller holds locked, both copies run with page faults
//!   disabled (`copy_page_to_iter_nofault`, `copy_folio_from_iter_atomic`):
//!   the caller faults the buffer in before it locks the folio, and a
//!   buffer that is not resident makes a short copy, never a deadlock.
//!
//! A call returns the bytes copied, `count` unless a user buffer faulted
//! part-way (then fewer, as `read(2)` and `write(2)` return), and advances
//! the iterator by as many; an error is returned only when nothing was
//! copied.

use crate::{
    command::{Cmd, Command, PageRange},
    folio::LockedFolio,
    iov::{self, IovIterSourceExt},
    sid,
};
use kernel::{
    bindings,
    iov::{IovIterDest, IovIterSource},
    page::PAGE_SIZE,
    prelude::*, //
};

/// A caller's iterator as the FFI hands it in, made once into the typed
/// reference of its direction; not yet checked against the command.
pub(crate) enum CallerIter<'a, 'data> {
    /// An `ITER_DEST` iterator.
    Dest(&'a mut IovIterDest<'data>),
    /// An `ITER_SOURCE` iterator.
    Source(&'a mut IovIterSource<'data>),
}

impl CallerIter<'_, '_> {
    /// Types a raw iterator by its direction; `EINVAL` for null.
    ///
    /// # Safety
    ///
    /// `iter` is null or a valid iterator, not used by anybody else for
    /// `'a`, whose buffers stay valid for `'data`.
    pub(crate) unsafe fn from_raw(iter: *mut bindings::iov_iter) -> Result<Self> {
        if iter.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: `iter` is valid (the caller's guarantee).
        Ok(if unsafe { (*iter).data_source } {
            // SAFETY: A valid `ITER_SOURCE` iterator, the caller's for `'a`.
            CallerIter::Source(unsafe { IovIterSource::from_raw(iter) })
        } else {
            // SAFETY: A valid `ITER_DEST` iterator, the caller's for `'a`.
            CallerIter::Dest(unsafe { IovIterDest::from_raw(iter) })
        })
    }
}

/// A caller's iterator, checked against the command.
enum Iter<'a, 'data> {
    /// READ copies into it.
    Dest(&'a mut IovIterDest<'data>),
    /// WRITE copies from it; `dirty` unless `VM_MVC_NODIRTY`.
    Source(&'a mut IovIterSource<'data>, bool),
}

impl<'a, 'data> Iter<'a, 'data> {
    /// Checks `cmd` (READ or WRITE, and the flags) and the iterator:
    /// `EINVAL` for another command, a null iterator (`iter`'s error), or
    /// one whose direction is not the command's (`ITER_DEST` for READ,
    /// `ITER_SOURCE` for WRITE); `EFAULT` if it holds fewer than `count`
    /// bytes.
    fn new(cmd: i32, iter: Result<CallerIter<'a, 'data>>, count: usize) -> Result<Self> {
        kernel::task::might_sleep();
        let cmd = Cmd::from_raw(cmd)?;
        let this = match (cmd.command, iter?) {
            (Command::Read, CallerIter::Dest(dest)) => Iter::Dest(dest),
            (Command::Write, CallerIter::Source(source)) => Iter::Source(source, cmd.dirty),
            _ => return Err(EINVAL),
        };
        if this.len() < count {
            return Err(EFAULT);
        }
        Ok(this)
    }

    /// Bytes left in the iterator.
    fn len(&self) -> usize {
        match self {
            Iter::Dest(iter) => iter.len(),
            Iter::Source(iter, _) => iter.len(),
        }
    }
}

/// Bytes copied, or `EFAULT` when a copy of `count > 0` bytes copied none.
fn copied_or_efault(copied: usize, count: usize) -> Result<usize> {
    if copied == 0 && count > 0 {
        Err(EFAULT)
    } else {
        Ok(copied)
    }
}

/// `vm_mvc_iter`: READ or WRITE of `count` bytes at `pgoffs` of page `pno`
/// of the file `sid` names, into or out of `iter`.
///
/// The errors of `vm_mvc` by sid (`EINVAL`, `EBADF`, `ENOENT`, `ENODATA`)
/// and of [`Iter::new`]; `EFAULT` if a user buffer faulted before any byte
/// was copied; `EINTR` if a fatal signal stopped a WRITE before any byte.
pub(crate) fn by_sid(
    sid: isize,
    pno: isize,
    pgoffs: i32,
    count: i32,
    cmd: i32,
    iter: Result<CallerIter<'_, '_>>,
) -> Result<usize> {
    let range = PageRange::new(pgoffs, count)?;
    let index = usize::try_from(pno).map_err(|_| EINVAL)?;
    let iter = Iter::new(cmd, iter, range.len())?;
    if range.len() == 0 {
        return sid::check(sid).map(|()| 0);
    }
    match iter {
        Iter::Dest(dest) => {
            // As `filemap_read`: no lock, so the copy may fault, even on a
            // mapping of this very page.
            let found = sid::find_folio(sid, index)?;
            let folio = found.folio();
            if !folio.is_uptodate() {
                return Err(ENODATA);
            }
            // `filemap_read` flushes here if the file is mapped shared and
            // writable; without the folio lock nor an inode reference the
            // page cache may not be looked at after the sid's lookup, so
            // this flushes whenever the architecture's flush does anything.
            folio.flush_dcache();
            let copied = found.range(range).copy_to_iter(dest);
            copied_or_efault(copied, range.len())
        }
        Iter::Source(source, dirty) => write_by_sid(sid, index, range, source, dirty),
    }
}

/// WRITE by sid with `generic_perform_write`'s discipline: fault the source
/// in, copy under the lock without faulting, start over after a short copy.
fn write_by_sid(
    sid: isize,
    index: usize,
    range: PageRange,
    source: &mut IovIterSource<'_>,
    dirty: bool,
) -> Result<usize> {
    let mut done = 0;
    while done < range.len() {
        let bytes = range.len() - done;
        if iov::fatal_signal_pending() {
            return if done > 0 { Ok(done) } else { Err(EINTR) };
        }
        if source.fault_in_readable(bytes) == bytes {
            return copied_or_efault(done, range.len());
        }
        let folio = match sid::lock_folio(sid, index) {
            Ok(folio) => folio,
            Err(err) if done == 0 => return Err(err),
            Err(_) => return Ok(done),
        };
        if !folio.is_uptodate() {
            return if done > 0 { Ok(done) } else { Err(ENODATA) };
        }
        folio.wait_stable();
        // As `generic_perform_write`.
        folio.flush_dcache_if_writably_mapped();
        let copied = folio.range(range).skip(done).copy_from_iter_atomic(source);
        if copied > 0 {
            folio.flush_dcache();
            if dirty {
                folio.mark_dirty();
            }
        }
        done += copied;
    }
    Ok(done)
}

/// `vm_mvc_folio_iter`: READ or WRITE of bytes `offset..offset + count`
/// of a folio the caller holds locked, into or out of `iter`, with page
/// faults disabled.
///
/// `EINVAL` if the range passes the folio's end, and
/// the errors of [`Iter::new`]; `EFAULT` if a user buffer is not resident
/// at its first byte.  No uptodate requirement: the caller may be filling
/// the folio; a folio that is not uptodate is never dirtied.
pub(crate) fn on_locked_folio(
    folio: &LockedFolio,
    offset: usize,
    count: usize,
    cmd: i32,
    iter: Result<CallerIter<'_, '_>>,
) -> Result<usize> {
    let bytes = folio.range(offset, count)?;
    let iter = Iter::new(cmd, iter, count)?;
    if count == 0 {
        return Ok(0);
    }
    // As `filemap_read` and `generic_perform_write`, before either copy.
    folio.flush_dcache_if_writably_mapped();
    let copied = match iter {
        Iter::Dest(dest) => bytes.copy_to_iter_nofault(dest),
        Iter::Source(source, dirty) => {
            folio.wait_stable();
            let copied = bytes.copy_from_iter_atomic(source);
            if copied > 0 {
                folio.flush_dcache();
                if dirty && folio.is_uptodate() {
                    folio.mark_dirty();
                }
            }
            copied
        }
    };
    copied_or_efault(copied, count)
}

#[kunit_tests(vm_mvc_iter)]
mod tests {
    use super::*;
    use crate::{
        sys,
        test_fixture::{file_with_pages, pattern, IterDir, TestFile, TestIter, UserMemory},
    };
    use kernel::page::Page;

    // CAST: the AIX command values and the flag are small.
    const READ: i32 = sys::VM_MVC_READ as i32;
    const WRITE: i32 = sys::VM_MVC_WRITE as i32;
    const ZERO: i32 = sys::VM_MVC_ZERO as i32;
    const NODIRTY: i32 = sys::VM_MVC_NODIRTY as i32;

    /// `by_sid` with a test iterator.
    fn call(
        sid: isize,
        pno: isize,
        off: usize,
        n: usize,
        cmd: i32,
        it: &mut TestIter,
    ) -> Result<usize> {
        // CAST: test offsets and counts are within a page.
        by_sid(sid, pno, off as i32, n as i32, cmd, caller(it))
    }

    /// A test iterator as the FFI would hand it in.
    fn caller(it: &mut TestIter) -> Result<CallerIter<'_, '_>> {
        // SAFETY: The iterator and its memory are the test's, alive and
        // not used otherwise while the result is borrowed.
        unsafe { CallerIter::from_raw(it.as_raw()) }
    }

    /// Bytes `pos..pos + len` of the file, read through the filesystem.
    fn file_bytes(file: &TestFile, pos: usize, len: usize) -> Result<KVec<u8>> {
        let mut buf = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        file.read(pos, &mut buf)?;
        Ok(buf)
    }

    /// Whether `bytes` are the pattern from file position `pos` on.
    fn is_pattern(bytes: &[u8], pos: usize) -> bool {
        bytes
            .iter()
            .enumerate()
            .all(|(i, &b)| b == pattern(pos + i))
    }

    #[test]
    fn read_by_sid_into_every_iterator_type() -> Result {
        let (_fs, _file, sid) = file_with_pages(2, pattern)?;
        // KVEC, two segments.
        let (mut a, mut b) = (
            KVec::from_elem(0u8, 30, GFP_KERNEL)?,
            KVec::from_elem(0u8, 70, GFP_KERNEL)?,
        );
        let mut it = TestIter::kvec(&mut [&mut a, &mut b], IterDir::Dest)?;
        assert_eq!(call(sid.0, 1, 50, 100, READ, &mut it), Ok(100));
        assert_eq!(it.count(), 0);
        drop(it);
        assert!(is_pattern(&a, PAGE_SIZE + 50) && is_pattern(&b, PAGE_SIZE + 80));
        // BVEC: part of a page.
        let page = Page::alloc_page(GFP_KERNEL)?;
        let mut it = TestIter::bvec(&[(&page, 100, 200)], IterDir::Dest)?;
        assert_eq!(call(sid.0, 0, 1000, 200, READ, &mut it), Ok(200));
        let mut got = [0u8; 200];
        // SAFETY: `got` has room for 200 bytes.
        unsafe { page.read_raw(got.as_mut_ptr(), 100, 200) }?;
        assert!(is_pattern(&got, 1000));
        // IOVEC across two user pages, and UBUF.
        let user = UserMemory::anonymous(2)?;
        let ranges = [(user.addr(10), 50), (user.addr(PAGE_SIZE + 5), 50)];
        let mut it = TestIter::iovec(&ranges, IterDir::Dest)?;
        assert_eq!(call(sid.0, 0, 7, 100, READ, &mut it), Ok(100));
        let mut seen = [0u8; 50];
        user.load(10, &mut seen)?;
        assert!(is_pattern(&seen, 7));
        user.load(PAGE_SIZE + 5, &mut seen)?;
        assert!(is_pattern(&seen, 57));
        let mut it = TestIter::ubuf(user.addr(300), 64, IterDir::Dest)?;
        assert_eq!(call(sid.0, 1, 0, 64, READ, &mut it), Ok(64));
        let mut seen = [0u8; 64];
        user.load(300, &mut seen)?;
        assert!(is_pattern(&seen, PAGE_SIZE));
        Ok(())
    }

    #[test]
    fn write_by_sid_from_every_iterator_type() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        let mut a = KVec::from_elem(0xa1u8, 40, GFP_KERNEL)?;
        let mut it = TestIter::kvec(&mut [&mut a], IterDir::Source)?;
        assert_eq!(call(sid.0, 0, 10, 40, WRITE, &mut it), Ok(40));
        let page = Page::alloc_page(GFP_KERNEL)?;
        let data = [0xb2u8; 50];
        // SAFETY: `data` holds 50 bytes.
        unsafe { page.write_raw(data.as_ptr(), 0, 50) }?;
        let mut it = TestIter::bvec(&[(&page, 0, 50)], IterDir::Source)?;
        assert_eq!(call(sid.0, 0, 100, 50, WRITE, &mut it), Ok(50));
        let user = UserMemory::anonymous(2)?;
        user.store(PAGE_SIZE - 20, &[0xc3; 40])?;
        let mut it = TestIter::iovec(&[(user.addr(PAGE_SIZE - 20), 40)], IterDir::Source)?;
        assert_eq!(call(sid.0, 0, 200, 40, WRITE, &mut it), Ok(40));
        let mut it = TestIter::ubuf(user.addr(PAGE_SIZE - 20), 40, IterDir::Source)?;
        assert_eq!(call(sid.0, 1, 0, 40, WRITE, &mut it), Ok(40));
        let page0 = file_bytes(&file, 0, PAGE_SIZE)?;
        assert!(page0.iter().enumerate().all(|(i, &b)| b
            == match i {
                10..50 => 0xa1,
                100..150 => 0xb2,
                200..240 => 0xc3,
                _ => pattern(i),
            }));
        assert_eq!(&file_bytes(&file, PAGE_SIZE, 40)?[..], &[0xc3; 40]);
        assert!(file.folio(0).ok_or(ENOENT)?.is_dirty());
        Ok(())
    }

    #[test]
    fn write_with_nodirty_leaves_the_folio_clean() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        file.clean(0)?;
        let mut a = KVec::from_elem(0x11u8, 16, GFP_KERNEL)?;
        let mut it = TestIter::kvec(&mut [&mut a], IterDir::Source)?;
        assert_eq!(call(sid.0, 0, 0, 16, WRITE | NODIRTY, &mut it), Ok(16));
        assert!(!file.folio(0).ok_or(ENOENT)?.is_dirty());
        assert_eq!(&file_bytes(&file, 0, 16)?[..], &[0x11; 16]);
        let folio = file.lock(0)?;
        let mut it = TestIter::kvec(&mut [&mut a], IterDir::Source)?;
        let copied = on_locked_folio(&folio, 16, 16, WRITE | NODIRTY, caller(&mut it));
        assert_eq!(copied, Ok(16));
        assert!(!folio.is_dirty());
        Ok(())
    }

    #[test]
    fn bad_calls_change_nothing_and_advance_nothing() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        file.clean(0)?;
        let mut a = KVec::from_elem(0xeeu8, 64, GFP_KERNEL)?;
        let mut dest = TestIter::kvec(&mut [&mut a], IterDir::Dest)?;
        let mut b = KVec::from_elem(0x77u8, 64, GFP_KERNEL)?;
        let mut source = TestIter::kvec(&mut [&mut b], IterDir::Source)?;
        // The direction is the iterator's; ZERO and PROTZERO use vm_mvc.
        assert_eq!(call(sid.0, 0, 0, 64, WRITE, &mut dest), Err(EINVAL));
        assert_eq!(call(sid.0, 0, 0, 64, READ, &mut source), Err(EINVAL));
        assert_eq!(call(sid.0, 0, 0, 64, ZERO, &mut source), Err(EINVAL));
        assert_eq!(call(sid.0, 0, 0, 64, READ | 0x200, &mut dest), Err(EINVAL));
        // SAFETY: A null iterator is refused before use.
        let null = by_sid(sid.0, 0, 0, 64, READ, unsafe {
            CallerIter::from_raw(core::ptr::null_mut())
        });
        assert_eq!(null, Err(EINVAL));
        // More than the iterator holds; a range crossing the page.
        assert_eq!(call(sid.0, 0, 0, 65, READ, &mut dest), Err(EFAULT));
        assert_eq!(
            call(sid.0, 0, PAGE_SIZE - 10, 20, WRITE, &mut source),
            Err(EINVAL)
        );
        // No such sid, no such page, a page not uptodate.
        assert_eq!(call(0, 0, 0, 64, READ, &mut dest), Err(EBADF));
        assert_eq!(call(sid.0, 7, 0, 64, WRITE, &mut source), Err(ENOENT));
        // SAFETY: The test's file stays open.
        let held = unsafe { crate::sid::HeldSid::new(sid.0) };
        drop(crate::mvc::make_page(held, 3)?);
        assert_eq!(call(sid.0, 3, 0, 64, READ, &mut dest), Err(ENODATA));
        assert_eq!(call(sid.0, 3, 0, 64, WRITE, &mut source), Err(ENODATA));
        assert_eq!((dest.count(), source.count()), (64, 64));
        drop((dest, source));
        assert!(a.iter().all(|&x| x == 0xee));
        assert!(is_pattern(&file_bytes(&file, 0, PAGE_SIZE)?, 0));
        assert!(!file.folio(0).ok_or(ENOENT)?.is_dirty());
        Ok(())
    }

    #[test]
    fn a_user_buffer_mapping_the_very_page_by_sid() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        // Fresh mappings: nothing is faulted in, so a copy that faulted
        // under the folio lock would wait on it forever.
        let user = UserMemory::shared(&file, 1)?;
        // READ bytes 600..700 onto 550..650 of the same page.
        let mut it = TestIter::ubuf(user.addr(550), 100, IterDir::Dest)?;
        assert_eq!(call(sid.0, 0, 600, 100, READ, &mut it), Ok(100));
        drop(user);
        let user = UserMemory::shared(&file, 1)?;
        // WRITE bytes 1000..1900 onto 2000..2900.
        let mut it = TestIter::ubuf(user.addr(1000), 900, IterDir::Source)?;
        assert_eq!(call(sid.0, 0, 2000, 900, WRITE, &mut it), Ok(900));
        let page = file_bytes(&file, 0, PAGE_SIZE)?;
        assert!(page.iter().enumerate().all(|(i, &b)| b
            == match i {
                550..650 => pattern(i + 50),
                2000..2900 => pattern(i - 1000),
                _ => pattern(i),
            }));
        Ok(())
    }

    #[test]
    fn copies_on_a_locked_folio_never_fault() -> Result {
        let (_fs, file, _sid) = file_with_pages(1, pattern)?;
        // A mapping of the very page, not faulted in: faulting it under the
        // lock would deadlock; the copy stops instead.
        let user = UserMemory::shared(&file, 1)?;
        let folio = file.lock(0)?;
        for (cmd, dir) in [(READ, IterDir::Dest), (WRITE, IterDir::Source)] {
            let mut it = TestIter::ubuf(user.addr(100), 64, dir)?;
            let copied = on_locked_folio(&folio, 0, 64, cmd, caller(&mut it));
            assert_eq!(copied, Err(EFAULT));
            assert_eq!(it.count(), 64);
        }
        drop(folio);
        // Faulted in (for writing) before locking, as the caller must.
        user.store(100, &[0x42; 64])?;
        let folio = file.lock(0)?;
        let mut it = TestIter::ubuf(user.addr(100), 64, IterDir::Dest)?;
        let copied = on_locked_folio(&folio, 0, 64, READ, caller(&mut it));
        assert_eq!(copied, Ok(64));
        drop(folio);
        let mut seen = [0u8; 64];
        user.load(100, &mut seen)?;
        assert!(is_pattern(&seen, 0));
        Ok(())
    }

    #[test]
    fn copies_at_pages_past_the_first_of_a_large_folio() -> Result {
        // One order-4 folio over pages 0 to 15: by sid, page 9 is bytes
        // 9 * PAGE_SIZE.. of the folio; on the locked folio, the offset is
        // the folio's own, across a page boundary.
        let Some((_fs, file)) = crate::test_fixture::large_folio_file(4)? else {
            return Ok(());
        };
        let sid = file.create_sid()?;
        let mut got = KVec::from_elem(0u8, 300, GFP_KERNEL)?;
        let mut it = TestIter::kvec(&mut [&mut got], IterDir::Dest)?;
        assert_eq!(call(sid.0, 9, 100, 300, READ, &mut it), Ok(300));
        drop(it);
        assert!(is_pattern(&got, 9 * PAGE_SIZE + 100));
        let mut data = KVec::from_elem(0x5au8, 200, GFP_KERNEL)?;
        let mut it = TestIter::kvec(&mut [&mut data], IterDir::Source)?;
        assert_eq!(
            call(sid.0, 12, PAGE_SIZE - 200, 200, WRITE, &mut it),
            Ok(200)
        );
        drop(it);
        let user = UserMemory::anonymous(1)?;
        user.store(0, &[0x6b; 64])?;
        let mut it = TestIter::ubuf(user.addr(0), 64, IterDir::Source)?;
        assert_eq!(call(sid.0, 15, 8, 64, WRITE, &mut it), Ok(64));
        let folio = file.lock(0)?;
        let at = 3 * PAGE_SIZE - 50;
        let mut back = KVec::from_elem(0u8, 100, GFP_KERNEL)?;
        let mut it = TestIter::kvec(&mut [&mut back], IterDir::Dest)?;
        let copied = on_locked_folio(&folio, at, 100, READ, caller(&mut it));
        assert_eq!(copied, Ok(100));
        drop(it);
        let mut ones = KVec::from_elem(0x7cu8, 100, GFP_KERNEL)?;
        let mut it = TestIter::kvec(&mut [&mut ones], IterDir::Source)?;
        let copied = on_locked_folio(&folio, 7 * PAGE_SIZE - 50, 100, WRITE, caller(&mut it));
        assert_eq!(copied, Ok(100));
        drop((it, folio));
        assert!(is_pattern(&back, at));
        let whole = file_bytes(&file, 0, 16 * PAGE_SIZE)?;
        assert!(whole.iter().enumerate().all(|(i, &b)| b
            == match i {
                i if (13 * PAGE_SIZE - 200..13 * PAGE_SIZE).contains(&i) => 0x5a,
                i if (15 * PAGE_SIZE + 8..15 * PAGE_SIZE + 72).contains(&i) => 0x6b,
                i if (7 * PAGE_SIZE - 50..7 * PAGE_SIZE + 50).contains(&i) => 0x7c,
                i => pattern(i),
            }));
        Ok(())
    }

    #[test]
    fn a_fault_part_way_gives_a_short_copy() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        let user = UserMemory::anonymous(2)?;
        user.store(PAGE_SIZE - 40, &[0x99; 40])?;
        user.unmap_page(1)?;
        let ranges = [(user.addr(PAGE_SIZE - 40), 40), (user.addr(PAGE_SIZE), 40)];
        let mut it = TestIter::iovec(&ranges, IterDir::Source)?;
        assert_eq!(call(sid.0, 0, 0, 80, WRITE, &mut it), Ok(40));
        assert_eq!(it.count(), 40);
        let mut it = TestIter::iovec(&ranges, IterDir::Dest)?;
        assert_eq!(call(sid.0, 0, 1000, 80, READ, &mut it), Ok(40));
        assert_eq!(it.count(), 40);
        // Nothing reachable at all: EFAULT.
        let mut it = TestIter::ubuf(user.addr(PAGE_SIZE), 40, IterDir::Source)?;
        assert_eq!(call(sid.0, 0, 0, 40, WRITE, &mut it), Err(EFAULT));
        let page = file_bytes(&file, 0, 80)?;
        assert!(page[..40].iter().all(|&b| b == 0x99) && is_pattern(&page[40..], 40));
        let mut seen = [0u8; 40];
        user.load(PAGE_SIZE - 40, &mut seen)?;
        assert!(is_pattern(&seen, 1000));
        Ok(())
    }
}
