// SPDX-License-Identifier: GPL-2.0

//! The four vm_mvc commands, for every entry point.
//!
//! [`by_sid`] is AIX's `vm_mvc`: it looks the page up without creating it,
//! locks its folio (the sid registry checks, under the lock, that
//! truncation did not take the folio away), requires the folio to be
//! uptodate, does the work and unlocks.  [`on_locked_folio_page`] and
//! [`on_locked_folio`] do the same work on a folio the caller holds locked,
//! for a filesystem filling a !uptodate folio in `read_folio` or
//! `write_begin`: no lookup, no locking, no uptodate requirement.
//!
//! Every argument is checked before anything is touched, so a call that
//! fails changes neither the page nor the buffer.

use crate::{
    command::{Cmd, Command, PageRange},
    folio::{FolioGuard, FolioRange, LockedFolio},
    sid,
    stats,
    xmem::{Attachment, BufferRange, Direction}, //
};
use kernel::{
    page::PAGE_SIZE,
    prelude::*, //
};

/// The buffer (m2) of a call: an attached descriptor and the address in it.
#[derive(Clone, Copy)]
pub(crate) struct Buffer<'a> {
    attachment: &'a Attachment,
    addr: usize,
}

impl<'a> Buffer<'a> {
    /// The bytes at `addr` of an attached buffer.
    pub(crate) fn new(attachment: &'a Attachment, addr: usize) -> Self {
        Self { attachment, addr }
    }
}

/// What a checked call does to its bytes.
#[derive(Clone, Copy)]
enum Work<'a> {
    /// ZERO.
    Zero,
    /// PROTZERO.
    ProtZero,
    /// READ or WRITE, between the bytes and these of the buffer, in the
    /// direction the buffer range was checked for.
    Copy(BufferRange<'a>),
}

/// A checked call: what it does, to how many bytes, and whether it dirties.
struct Request<'a> {
    work: Work<'a>,
    len: usize,
    /// The command changes the page's bytes and its caller wants the folio
    /// dirtied for it (the default; `VM_MVC_NODIRTY` clears it).
    dirty: bool,
}

impl<'a> Request<'a> {
    /// The prologue of every entry point: decodes `cmd` and checks the
    /// buffer against it (the entry point checks the context first).  READ and WRITE need a buffer
    /// (`EINVAL` without), with `addr..addr + len` inside it (`EFAULT`),
    /// attached for their direction (`EACCES`).  ZERO and PROTZERO ignore
    /// the buffer.
    #[inline(always)]
    fn new(cmd: i32, len: usize, buffer: Result<Buffer<'a>>) -> Result<Self> {
        let cmd = Cmd::from_raw(cmd)?;
        let copy = |dir| -> Result<Work<'a>> {
            let Buffer { attachment, addr } = buffer?;
            Ok(Work::Copy(attachment.locate(addr, len, dir)?))
        };
        let work = match cmd.command {
            Command::Zero => Work::Zero,
            Command::ProtZero => Work::ProtZero,
            Command::Read => copy(Direction::ToBuffer)?,
            Command::Write => copy(Direction::FromBuffer)?,
        };
        Ok(Self {
            work,
            len,
            dirty: cmd.command.changes_page() && cmd.dirty,
        })
    }

    /// Does the work on the bytes of `range` of a locked folio, which are
    /// as many as the request's.
    #[inline(always)]
    fn run(&self, range: FolioRange<'_>) -> Result {
        if self.len == 0 {
            return Ok(());
        }
        let folio = range.folio();
        // Whether the page-table entries reported stores (PROTZERO).
        let mut stored_through_mappings = false;
        match self.work {
            Work::Copy(buffer) => {
                if buffer.changes_folio() {
                    folio.wait_stable();
                }
                // As `filemap_read` before it copies out and
                // `generic_perform_write` before it copies in.
                folio.flush_dcache_if_writably_mapped();
                buffer.copy(range)?;
            }
            Work::Zero => {
                folio.wait_stable();
                range.zero();
            }
            Work::ProtZero => {
                folio.wait_stable();
                // Protect first: a store through a mapping after this point
                // faults, and a `page_mkwrite` that takes the folio lock
                // waits for it (Documentation/vm_mvc.rst, PROTZERO).
                let cleaned = folio.mkclean();
                stats::write_protected(cleaned);
                stored_through_mappings = cleaned > 0;
                range.zero();
            }
        }
        // The filesystem marks the folio uptodate when all of it is valid;
        // vm_mvc only changed some bytes.  A folio that is not uptodate is
        // being filled (`read_folio`, `write_begin`): it holds nothing to
        // write back yet, `__folio_mark_dirty` warns about dirtying it, and
        // the filesystem dirties it once it is uptodate (`write_end`).
        // `folio_mkclean` moved the dirty bits of the page-table entries
        // out of them: they are kept even with VM_MVC_NODIRTY, as
        // `folio_clear_dirty_for_io` and `pagecache_isize_extended` do.
        if (self.dirty || stored_through_mappings) && folio.is_uptodate() {
            folio.mark_dirty();
        }
        Ok(())
    }
}

/// The context check of the entry points on a caller's locked folio: a
/// sleep in atomic context is reported on a kernel with
/// `CONFIG_DEBUG_ATOMIC_SLEEP`, as at every entry.
///
/// Elsewhere `might_sleep()` is only a voluntary preemption point
/// (`__cond_resched`), which the C helpers these entries replace
/// (`memcpy_to_folio`, `folio_zero_range`) do not have, and which would
/// cost more than the rest of a short call (three out-of-line calls on
/// User-Mode Linux).  What may sleep below waits itself: the wait for
/// writeback, the rmap locks of `folio_mkclean`.  [`by_sid`] keeps it
/// wherever it does something (`might_sleep_as_folio_lock`): its lookup
/// stands for `folio_lock`, which has it.
#[inline(always)]
fn might_sleep_if_debug() {
    #[cfg(CONFIG_DEBUG_ATOMIC_SLEEP)]
    kernel::task::might_sleep();
}

/// The context check of [`by_sid`], whose lookup stands for `folio_lock`:
/// `might_sleep()`, as `folio_lock` has, where it does something.
///
/// Without `CONFIG_DEBUG_ATOMIC_SLEEP` `might_sleep()` is `might_resched()`,
/// which is a voluntary preemption point only in the kernels that
/// `include/linux/kernel.h` gives one (`CONFIG_PREEMPT_VOLUNTARY_BUILD`,
/// `CONFIG_PREEMPT_DYNAMIC`) and empty in the others (`CONFIG_PREEMPT_LAZY`,
/// `CONFIG_PREEMPT`, `CONFIG_PREEMPT_NONE`), where Rust would still make an
/// out-of-line call of the empty `rust_helper_might_resched`.
#[inline(always)]
fn might_sleep_as_folio_lock() {
    #[cfg(any(
        CONFIG_DEBUG_ATOMIC_SLEEP,
        CONFIG_PREEMPT_VOLUNTARY_BUILD,
        CONFIG_PREEMPT_DYNAMIC
    ))]
    kernel::task::might_sleep();
}

/// Page-cache index of AIX page number `pno`; `EINVAL` if negative.
#[inline]
fn page_index(pno: isize) -> Result<usize> {
    usize::try_from(pno).map_err(|_| EINVAL)
}

/// AIX `vm_mvc`: runs `cmd` on `count` bytes at `pgoffs` of page `pno` of
/// the file named by `sid`.
///
/// Errors, all before anything changes: `EINVAL` for an unknown command or
/// flag, a negative `pno`, `pgoffs` or `count`, a range crossing the end of
/// the page, or no attached buffer for READ/WRITE; `EFAULT` if the buffer
/// range is not inside the attached buffer; `EACCES` for READ into a
/// read-only buffer; `EBADF` if `sid` is not live; `ENOENT` if the page is
/// not in the page cache or was truncated while vm_mvc waited for its lock;
/// `ENODATA` if its folio is not uptodate (somebody is filling it, or
/// filling it failed: bytes written now would be lost to the next
/// `read_folio`).  A count of 0 checks all of that except the page lookup
/// and returns 0.
#[inline(always)]
pub(crate) fn by_sid(
    sid: isize,
    pno: isize,
    pgoffs: i32,
    count: i32,
    cmd: i32,
    buffer: Result<Buffer<'_>>,
) -> Result {
    might_sleep_as_folio_lock();
    let range = PageRange::new(pgoffs, count)?;
    let index = page_index(pno)?;
    let request = Request::new(cmd, range.len(), buffer)?;
    if range.len() == 0 {
        return sid::check(sid);
    }
    let folio = sid::lock_folio(sid, index)?;
    let result = if folio.is_uptodate() {
        request.run(folio.range(range))
    } else {
        Err(ENODATA)
    };
    folio.release();
    result
}

/// [`by_sid`] on a folio the caller holds locked, page `pno` of which is
/// addressed.
///
/// No uptodate requirement: the caller may be filling the folio.  `EINVAL`
/// if `pno` is not in the folio, otherwise the argument errors of
/// [`by_sid`].
#[inline(always)]
pub(crate) fn on_locked_folio_page(
    folio: &LockedFolio,
    pno: isize,
    pgoffs: i32,
    count: i32,
    cmd: i32,
    buffer: Result<Buffer<'_>>,
) -> Result {
    might_sleep_if_debug();
    let range = PageRange::new(pgoffs, count)?;
    let index = page_index(pno)?;
    let request = Request::new(cmd, range.len(), buffer)?;
    request.run(folio.page_range(index, range)?)
}

/// Runs `cmd` on any byte range of a locked folio: the folio-wide entry
/// point for large folios.  `EINVAL` if the range passes the folio's end,
/// otherwise the argument errors of [`by_sid`].
pub(crate) fn on_locked_folio(
    folio: &LockedFolio,
    offset: usize,
    count: usize,
    cmd: i32,
    buffer: Result<Buffer<'_>>,
) -> Result {
    might_sleep_if_debug();
    let range = folio.range(offset, count)?;
    Request::new(cmd, count, buffer)?.run(range)
}

/// AIX-like `vm_makep`: the folio of page `pno` of `sid`, found or created,
/// and returned locked with a reference.  A created folio is not uptodate;
/// the caller fills it (e.g. with [`on_locked_folio_page`]) and marks it.
///
/// `EINVAL` for a negative `pno`, `EBADF` for a sid that is not live,
/// `EOPNOTSUPP` for a shmem (tmpfs) file, whose folios only shmem may
/// create, and for the files `vm_mvc_sid_create` refuses
/// ([`crate::mapping::HeldMapping::refused`]: DAX, hugetlbfs, inaccessible,
/// secretmem), checked again here because creating a folio in them would
/// corrupt their page cache and the check costs nothing beside the
/// allocation; `EFBIG` past the filesystem's maximum file size, `ENOMEM`.
///
/// The caller keeps the inode of a live `sid` alive and away from eviction
/// for the call ([`sid::HeldSid`]).
pub(crate) fn make_page(sid: sid::HeldSid<'_>, pno: isize) -> Result<FolioGuard> {
    kernel::task::might_sleep();
    let index = page_index(pno)?;
    let held = sid.mapping()?;
    if held.mapping().is_shmem() || held.refused() {
        return Err(EOPNOTSUPP);
    }
    if !held.mapping().index_in_range(index) {
        return Err(EFBIG);
    }
    let folio = held.grab_folio(index)?;
    // FGP_STABLE: the caller is about to write the bytes.
    folio.wait_stable();
    Ok(folio)
}

#[kunit_tests(vm_mvc_service)]
mod tests {
    use super::*;
    use crate::{
        sys,
        test_fixture::{
            file_with_pages, kernel_attachment, large_folio_file, pattern, sleep_ms, KThread,
            UserMemory,
        },
        xmem::AttachFlags,
    };
    use kernel::{
        sync::atomic::{Atomic, Relaxed},
        uaccess::{UserPtr, UserSlice},
    };

    // CAST: the AIX command values are 1 to 4.
    const ZERO: i32 = sys::VM_MVC_ZERO as i32;
    const READ: i32 = sys::VM_MVC_READ as i32;
    const WRITE: i32 = sys::VM_MVC_WRITE as i32;
    const PROTZERO: i32 = sys::VM_MVC_PROTZERO as i32;
    const NODIRTY: i32 = sys::VM_MVC_NODIRTY as i32;
    const PAGE: i32 = PAGE_SIZE as i32;

    /// [`make_page`] on a test file, which the test keeps open.
    fn makep(sid: isize, pno: isize) -> Result<FolioGuard> {
        // SAFETY: The test's open file keeps the inode alive.
        make_page(unsafe { sid::HeldSid::new(sid) }, pno)
    }

    /// A kernel buffer of `len` bytes, each `fill`.
    fn filled(len: usize, fill: u8) -> Result<KVec<u8>> {
        Ok(KVec::from_elem(fill, len, GFP_KERNEL)?)
    }

    /// Page `pno` of the test file, read through the filesystem.
    fn page_of(file: &crate::test_fixture::TestFile, pno: usize) -> Result<KVec<u8>> {
        let mut page = filled(PAGE_SIZE, 0)?;
        file.read(pno * PAGE_SIZE, &mut page)?;
        Ok(page)
    }

    /// Whether `page` holds `pattern` at `pno` everywhere except `hole`,
    /// where it holds `inside(i)`.
    fn page_is(
        page: &[u8],
        pno: usize,
        hole: core::ops::Range<usize>,
        inside: impl Fn(usize) -> u8,
    ) -> bool {
        page.iter().enumerate().all(|(i, &b)| {
            if hole.contains(&i) {
                b == inside(i)
            } else {
                b == pattern(pno * PAGE_SIZE + i)
            }
        })
    }

    /// Zeroes (or protect-zeroes) `len` bytes at `off` of page 1 and checks
    /// the bytes and the dirty bit.
    fn zeroes(cmd: i32, off: usize, len: usize) -> Result {
        let (_fs, file, sid) = file_with_pages(3, pattern)?;
        file.clean(1)?;
        by_sid(sid.0, 1, off as i32, len as i32, cmd, Err(EINVAL))?;
        assert!(page_is(&page_of(&file, 1)?, 1, off..off + len, |_| 0));
        assert!(page_is(&page_of(&file, 0)?, 0, 0..0, |_| 0));
        assert!(page_is(&page_of(&file, 2)?, 2, 0..0, |_| 0));
        assert!(file.folio(1).ok_or(ENOENT)?.is_dirty());
        Ok(())
    }

    /// Reads `len` bytes at `off` of page 1 into the middle of a kernel
    /// buffer and checks the buffer, its guard bytes and the page.
    fn reads(off: usize, len: usize) -> Result {
        let (_fs, file, sid) = file_with_pages(3, pattern)?;
        file.clean(1)?;
        let mut buf = filled(len + 64, 0xee)?;
        let attachment = kernel_attachment(&mut buf)?;
        let at = attachment.start() + 32;
        by_sid(
            sid.0,
            1,
            off as i32,
            len as i32,
            READ,
            Ok(Buffer::new(&attachment, at)),
        )?;
        drop(attachment);
        assert!(buf[..32].iter().all(|&b| b == 0xee));
        assert!(buf[32 + len..].iter().all(|&b| b == 0xee));
        let expected = (0..len).map(|i| pattern(PAGE_SIZE + off + i));
        assert!(buf[32..32 + len].iter().copied().eq(expected));
        assert!(page_is(&page_of(&file, 1)?, 1, 0..0, |_| 0));
        assert!(!file.folio(1).ok_or(ENOENT)?.is_dirty());
        Ok(())
    }

    /// Writes `len` bytes from a kernel buffer to `off` of page 1 and checks
    /// the page, its neighbours and the dirty bit.
    fn writes(off: usize, len: usize) -> Result {
        let (_fs, file, sid) = file_with_pages(3, pattern)?;
        file.clean(1)?;
        let mut buf = KVec::with_capacity(len, GFP_KERNEL)?;
        for i in 0..len {
            buf.push((i % 7) as u8 + 0x80, GFP_KERNEL)?;
        }
        let attachment = kernel_attachment(&mut buf)?;
        let at = attachment.start();
        by_sid(
            sid.0,
            1,
            off as i32,
            len as i32,
            WRITE,
            Ok(Buffer::new(&attachment, at)),
        )?;
        let page = page_of(&file, 1)?;
        assert!(page_is(&page, 1, off..off + len, |i| ((i - off) % 7) as u8 + 0x80));
        assert!(page_is(&page_of(&file, 2)?, 2, 0..0, |_| 0));
        assert!(file.folio(1).ok_or(ENOENT)?.is_dirty());
        Ok(())
    }

    #[test]
    fn zero_one_byte_at_start() -> Result {
        zeroes(ZERO, 0, 1)
    }

    #[test]
    fn zero_odd_count_in_middle() -> Result {
        zeroes(ZERO, 1001, 333)
    }

    #[test]
    fn zero_tail_of_page() -> Result {
        zeroes(ZERO, PAGE_SIZE - 77, 77)
    }

    #[test]
    fn zero_whole_page() -> Result {
        zeroes(ZERO, 0, PAGE_SIZE)
    }

    #[test]
    fn protzero_one_byte_at_start() -> Result {
        zeroes(PROTZERO, 0, 1)
    }

    #[test]
    fn protzero_odd_count_in_middle() -> Result {
        zeroes(PROTZERO, 2049, 511)
    }

    #[test]
    fn protzero_tail_of_page() -> Result {
        zeroes(PROTZERO, PAGE_SIZE - 1, 1)
    }

    #[test]
    fn protzero_whole_page() -> Result {
        zeroes(PROTZERO, 0, PAGE_SIZE)
    }

    #[test]
    fn read_one_byte_at_start() -> Result {
        reads(0, 1)
    }

    #[test]
    fn read_odd_count_in_middle() -> Result {
        reads(777, 1231)
    }

    #[test]
    fn read_tail_of_page() -> Result {
        reads(PAGE_SIZE - 13, 13)
    }

    #[test]
    fn read_whole_page() -> Result {
        reads(0, PAGE_SIZE)
    }

    #[test]
    fn write_one_byte_at_start() -> Result {
        writes(0, 1)
    }

    #[test]
    fn write_odd_count_in_middle() -> Result {
        writes(99, 3001)
    }

    #[test]
    fn write_tail_of_page() -> Result {
        writes(PAGE_SIZE - 1, 1)
    }

    #[test]
    fn write_whole_page() -> Result {
        writes(0, PAGE_SIZE)
    }

    /// Calls every command with bad arguments and checks that the call
    /// fails with `err` and changes neither page 1 nor the buffer.
    fn rejects(err: Error, call: impl Fn(isize, i32, Result<Buffer<'_>>) -> Result) -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        file.clean(1)?;
        let mut buf = filled(PAGE_SIZE, 0xee)?;
        let attachment = kernel_attachment(&mut buf)?;
        for cmd in [ZERO, READ, WRITE, PROTZERO] {
            let buffer = Ok(Buffer::new(&attachment, attachment.start()));
            assert_eq!(call(sid.0, cmd, buffer), Err(err));
        }
        drop(attachment);
        assert!(buf.iter().all(|&b| b == 0xee));
        assert!(page_is(&page_of(&file, 1)?, 1, 0..0, |_| 0));
        assert!(!file.folio(1).ok_or(ENOENT)?.is_dirty());
        Ok(())
    }

    #[test]
    fn range_crossing_the_page_is_einval() -> Result {
        rejects(EINVAL, |sid, cmd, buf| by_sid(sid, 1, 1, PAGE, cmd, buf))?;
        rejects(EINVAL, |sid, cmd, buf| by_sid(sid, 1, PAGE, 1, cmd, buf))
    }

    #[test]
    fn negative_offset_count_or_page_is_einval() -> Result {
        rejects(EINVAL, |sid, cmd, buf| by_sid(sid, 1, -1, 10, cmd, buf))?;
        rejects(EINVAL, |sid, cmd, buf| by_sid(sid, 1, 0, -10, cmd, buf))?;
        rejects(EINVAL, |sid, cmd, buf| by_sid(sid, -1, 0, 10, cmd, buf))
    }

    #[test]
    fn unknown_command_is_einval() -> Result {
        rejects(EINVAL, |sid, _, buf| by_sid(sid, 1, 0, 10, 0, buf))?;
        rejects(EINVAL, |sid, _, buf| by_sid(sid, 1, 0, 10, 5, buf))
    }

    #[test]
    fn never_issued_sids_are_ebadf() -> Result {
        for bad in [0, -1, 1 << 20, isize::MAX] {
            rejects(EBADF, |_, cmd, buf| by_sid(bad, 1, 0, 10, cmd, buf))?;
        }
        Ok(())
    }

    #[test]
    fn deleted_sid_is_ebadf() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        let old = sid.0;
        sid::delete(old)?;
        assert_eq!(by_sid(old, 1, 0, 10, ZERO, Err(EINVAL)), Err(EBADF));
        assert!(page_is(&page_of(&file, 1)?, 1, 0..0, |_| 0));
        Ok(())
    }

    #[test]
    fn buffer_range_outside_the_attachment_is_efault() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        file.clean(1)?;
        let mut buf = filled(256, 0xee)?;
        let attachment = kernel_attachment(&mut buf)?;
        let start = attachment.start();
        for cmd in [READ, WRITE] {
            for (addr, count) in [(start - 1, 10), (start + 250, 10), (start + 256, 1)] {
                let buffer = Ok(Buffer::new(&attachment, addr));
                assert_eq!(by_sid(sid.0, 1, 0, count, cmd, buffer), Err(EFAULT));
            }
        }
        drop(attachment);
        assert!(buf.iter().all(|&b| b == 0xee));
        assert!(page_is(&page_of(&file, 1)?, 1, 0..0, |_| 0));
        assert!(!file.folio(1).ok_or(ENOENT)?.is_dirty());
        Ok(())
    }

    #[test]
    fn read_or_write_without_buffer_is_einval() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        file.clean(1)?;
        for cmd in [READ, WRITE] {
            assert_eq!(by_sid(sid.0, 1, 0, 10, cmd, Err(EINVAL)), Err(EINVAL));
        }
        assert!(!file.folio(1).ok_or(ENOENT)?.is_dirty());
        Ok(())
    }

    #[test]
    fn count_zero_checks_arguments_and_changes_nothing() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        file.clean(1)?;
        let mut buf = filled(16, 0xee)?;
        let attachment = kernel_attachment(&mut buf)?;
        for cmd in [ZERO, READ, WRITE, PROTZERO] {
            let at = attachment.start();
            by_sid(sid.0, 1, 100, 0, cmd, Ok(Buffer::new(&attachment, at)))?;
            // Not cached: count 0 does not look the page up.
            by_sid(sid.0, 9, 0, 0, cmd, Ok(Buffer::new(&attachment, at)))?;
            let buffer = Ok(Buffer::new(&attachment, at));
            assert_eq!(by_sid(0, 1, 0, 0, cmd, buffer), Err(EBADF));
            let buffer = Ok(Buffer::new(&attachment, at));
            assert_eq!(by_sid(sid.0, 1, PAGE + 1, 0, cmd, buffer), Err(EINVAL));
        }
        drop(attachment);
        assert!(buf.iter().all(|&b| b == 0xee));
        assert!(page_is(&page_of(&file, 1)?, 1, 0..0, |_| 0));
        assert!(!file.folio(1).ok_or(ENOENT)?.is_dirty());
        assert!(file.folio(9).is_none());
        Ok(())
    }

    #[test]
    fn page_not_in_cache_is_enoent_and_not_created() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        let mut buf = filled(64, 0xee)?;
        let attachment = kernel_attachment(&mut buf)?;
        for cmd in [ZERO, READ, WRITE, PROTZERO] {
            let buffer = Ok(Buffer::new(&attachment, attachment.start()));
            assert_eq!(by_sid(sid.0, 5, 0, 64, cmd, buffer), Err(ENOENT));
        }
        drop(attachment);
        assert!(file.folio(5).is_none());
        assert!(buf.iter().all(|&b| b == 0xee));
        Ok(())
    }

    #[test]
    fn calls_give_back_every_folio_reference_they_take() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        // A folio past the data, not uptodate: the calls on it fail.
        drop(makep(sid.0, 3)?);
        let mut buf = filled(64, 0xee)?;
        let attachment = kernel_attachment(&mut buf)?;
        for pno in [1, 3] {
            let folio = file.folio(pno).ok_or(ENOENT)?;
            let before = folio.ref_count();
            for cmd in [ZERO, READ, WRITE, PROTZERO] {
                let buffer = Ok(Buffer::new(&attachment, attachment.start()));
                // CAST: small page numbers.
                let result = by_sid(sid.0, pno as isize, 0, 64, cmd, buffer);
                assert_eq!(result.err(), if pno == 1 { None } else { Some(ENODATA) });
                assert_eq!(folio.ref_count(), before);
            }
        }
        Ok(())
    }

    #[test]
    fn by_sid_every_command_on_a_folio_not_uptodate_is_enodata() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        // A folio past the data, created locked and !uptodate and left so,
        // as after a failed `read_folio`, or AIX's vm_makep and unlock:
        // bytes written now would be lost to the next `read_folio`.
        drop(makep(sid.0, 3)?);
        let mut before = filled(64, 0)?;
        file.peek(3, 0, &mut before)?;
        let mut buf = filled(64, 0xee)?;
        let attachment = kernel_attachment(&mut buf)?;
        for cmd in [ZERO, READ, WRITE, PROTZERO] {
            for cmd in [cmd, cmd | NODIRTY] {
                let buffer = Ok(Buffer::new(&attachment, attachment.start()));
                assert_eq!(by_sid(sid.0, 3, 0, 64, cmd, buffer), Err(ENODATA));
            }
        }
        drop(attachment);
        assert!(buf.iter().all(|&b| b == 0xee));
        let mut after = filled(64, 0)?;
        file.peek(3, 0, &mut after)?;
        assert!(before == after);
        let folio = file.folio(3).ok_or(ENOENT)?;
        assert!(!folio.is_uptodate() && !folio.is_dirty());
        Ok(())
    }

    #[test]
    fn locked_folio_entry_fills_a_new_folio_and_leaves_it_not_uptodate() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        let folio = makep(sid.0, 2)?;
        assert!(!folio.is_uptodate());
        let mut data = filled(100, 0x5a)?;
        let attachment = kernel_attachment(&mut data)?;
        let at = attachment.start();
        on_locked_folio_page(&folio, 2, 10, 100, WRITE, Ok(Buffer::new(&attachment, at)))?;
        on_locked_folio_page(&folio, 2, 110, PAGE - 110, ZERO, Err(EINVAL))?;
        on_locked_folio_page(&folio, 2, 0, 10, ZERO, Err(EINVAL))?;
        // READ needs no uptodate folio here: the caller is filling it.
        let mut back = filled(100, 0)?;
        let readback = kernel_attachment(&mut back)?;
        let at = readback.start();
        on_locked_folio_page(&folio, 2, 10, 100, READ, Ok(Buffer::new(&readback, at)))?;
        drop(readback);
        assert!(back.iter().all(|&b| b == 0x5a));
        // Neither marked uptodate nor dirtied: a folio being filled is the
        // filesystem's to mark (and dirtying it warns in the page cache).
        assert!(!folio.is_uptodate() && !folio.is_dirty());
        let mut page = filled(PAGE_SIZE, 0xff)?;
        drop(folio);
        file.peek(2, 0, &mut page)?;
        assert!(page
            .iter()
            .enumerate()
            .all(|(i, &b)| b == if (10..110).contains(&i) { 0x5a } else { 0 }));
        Ok(())
    }

    #[test]
    fn locked_folio_entry_rejects_pages_outside_the_folio() -> Result {
        let (_fs, _file, sid) = file_with_pages(1, pattern)?;
        let folio = makep(sid.0, 2)?;
        for pno in [1, 3, -1] {
            assert_eq!(
                on_locked_folio_page(&folio, pno, 0, 1, ZERO, Err(EINVAL)),
                Err(EINVAL)
            );
        }
        assert!(!folio.is_dirty());
        Ok(())
    }

    #[test]
    fn folio_range_entry_checks_the_folio_size() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        let folio = makep(sid.0, 2)?;
        let size = folio.size();
        assert_eq!(
            on_locked_folio(&folio, 0, size + 1, ZERO, Err(EINVAL)),
            Err(EINVAL)
        );
        assert_eq!(
            on_locked_folio(&folio, size, 1, ZERO, Err(EINVAL)),
            Err(EINVAL)
        );
        assert_eq!(
            on_locked_folio(&folio, usize::MAX, 2, ZERO, Err(EINVAL)),
            Err(EINVAL)
        );
        assert!(!folio.is_dirty());
        on_locked_folio(&folio, 0, size, ZERO, Err(EINVAL))?;
        // Zeroed, but not uptodate, so not dirtied.
        assert!(!folio.is_dirty() && !folio.is_uptodate());
        drop(folio);
        // An uptodate folio is.
        file.clean(0)?;
        let folio = file.lock(0)?;
        on_locked_folio(&folio, 0, folio.size(), ZERO, Err(EINVAL))?;
        assert!(folio.is_dirty());
        Ok(())
    }

    #[test]
    fn locked_entries_fill_a_folio_not_uptodate_without_dirtying_it() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        // A folio created locked and !uptodate, as `read_folio` gets it.
        drop(makep(sid.0, 3)?);
        let mut buf = filled(16, 0x42)?;
        let attachment = kernel_attachment(&mut buf)?;
        let at = attachment.start();
        let mut back = filled(16, 0)?;
        let readback = kernel_attachment(&mut back)?;
        let back_at = readback.start();
        for (cmd, attached, at) in [
            (ZERO, &attachment, at),
            (PROTZERO, &attachment, at),
            (WRITE, &attachment, at),
            (READ, &readback, back_at),
        ] {
            let folio = file.lock(3)?;
            on_locked_folio_page(&folio, 3, 8, 16, cmd, Ok(Buffer::new(attached, at)))?;
            on_locked_folio(&folio, 8, 16, cmd, Ok(Buffer::new(attached, at)))?;
            // `__folio_mark_dirty` warns about a dirty !uptodate folio.
            assert!(!folio.is_dirty() && !folio.is_uptodate());
        }
        drop((attachment, readback));
        // The bytes did change: the filesystem filling the folio sees them,
        // and READ got them.
        let mut seen = filled(16, 0)?;
        file.peek(3, 8, &mut seen)?;
        assert!(seen.iter().all(|&b| b == 0x42));
        assert!(back.iter().all(|&b| b == 0x42));
        Ok(())
    }

    #[test]
    fn only_modifying_commands_dirty_the_folio() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        let mut buf = filled(8, 0x11)?;
        let attachment = kernel_attachment(&mut buf)?;
        for (cmd, dirties) in [(READ, false), (WRITE, true), (ZERO, true), (PROTZERO, true)] {
            file.clean(0)?;
            let at = attachment.start();
            by_sid(sid.0, 0, 8, 8, cmd, Ok(Buffer::new(&attachment, at)))?;
            let folio = file.folio(0).ok_or(ENOENT)?;
            assert_eq!(folio.is_dirty(), dirties);
            assert!(folio.is_uptodate());
        }
        Ok(())
    }

    #[test]
    fn nodirty_changes_the_bytes_and_leaves_the_dirty_state_alone() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        let mut buf = filled(8, 0x11)?;
        let attachment = kernel_attachment(&mut buf)?;
        let at = attachment.start();
        for (cmd, byte) in [(WRITE, 0x11), (ZERO, 0), (PROTZERO, 0)] {
            for (entry, off) in [(0, 8), (1, 16), (2, 24)] {
                file.write(off, &[0x77; 8])?;
                file.clean(0)?;
                let buffer = Ok(Buffer::new(&attachment, at));
                let cmd = cmd | NODIRTY;
                match entry {
                    0 => by_sid(sid.0, 0, off as i32, 8, cmd, buffer)?,
                    1 => on_locked_folio_page(&*file.lock(0)?, 0, off as i32, 8, cmd, buffer)?,
                    _ => on_locked_folio(&*file.lock(0)?, off, 8, cmd, buffer)?,
                }
                assert!(!file.folio(0).ok_or(ENOENT)?.is_dirty());
                let mut seen = [0xeeu8; 8];
                file.read(off, &mut seen)?;
                assert_eq!(seen, [byte; 8]);
            }
        }
        // Nor does it clean a dirty folio.
        file.write(0, &[1])?;
        by_sid(sid.0, 0, 0, 8, ZERO | NODIRTY, Err(EINVAL))?;
        assert!(file.folio(0).ok_or(ENOENT)?.is_dirty());
        Ok(())
    }

    #[test]
    fn large_folio_is_addressed_per_base_page() -> Result {
        // One order-4 folio (64 KiB) over pages 0 to 15.
        let Some((_fs, file)) = large_folio_file(4)? else {
            return Ok(());
        };
        let sid = file.create_sid()?;
        let folio = file.folio(5).ok_or(ENOENT)?;
        assert!(folio.order() >= 2);
        assert!(folio.index() == 0 && folio.contains(5) && folio.contains(6));
        drop(folio);
        file.clean(5)?;
        // Zero the end of page 5 and write the start of page 6: bytes land in
        // the right base pages of the one folio.
        by_sid(sid.0, 5, PAGE - 100, 100, ZERO, Err(EINVAL))?;
        let mut buf = filled(50, 0xab)?;
        let attachment = kernel_attachment(&mut buf)?;
        let at = attachment.start();
        by_sid(sid.0, 6, 0, 50, WRITE, Ok(Buffer::new(&attachment, at)))?;
        // The AIX boundary is the base page's, not the folio's.
        let buffer = Ok(Buffer::new(&attachment, at));
        assert_eq!(by_sid(sid.0, 5, PAGE - 10, 20, WRITE, buffer), Err(EINVAL));
        let mut got = filled(2 * PAGE_SIZE, 0)?;
        file.read(5 * PAGE_SIZE, &mut got)?;
        assert!(got.iter().enumerate().all(|(i, &b)| {
            b == match i {
                i if (PAGE_SIZE - 100..PAGE_SIZE).contains(&i) => 0,
                i if (PAGE_SIZE..PAGE_SIZE + 50).contains(&i) => 0xab,
                i => pattern(5 * PAGE_SIZE + i),
            }
        }));
        assert!(file.folio(5).ok_or(ENOENT)?.is_dirty());
        // READ of page 15, the folio's last, from its last byte.
        let mut last = filled(1, 0)?;
        let one = kernel_attachment(&mut last)?;
        by_sid(
            sid.0,
            15,
            PAGE - 1,
            1,
            READ,
            Ok(Buffer::new(&one, one.start())),
        )?;
        drop(one);
        assert_eq!(last[0], pattern(16 * PAGE_SIZE - 1));
        // The folio-wide entry covers several base pages in one call.
        let folio = file.lock(5)?;
        on_locked_folio(
            &folio,
            5 * PAGE_SIZE + PAGE_SIZE / 2,
            2 * PAGE_SIZE,
            ZERO,
            Err(EINVAL),
        )?;
        drop(folio);
        file.read(5 * PAGE_SIZE, &mut got)?;
        assert!(got[PAGE_SIZE / 2..].iter().all(|&b| b == 0));
        let mut head = got[..PAGE_SIZE / 2].iter().enumerate();
        assert!(head.all(|(i, &b)| b == pattern(5 * PAGE_SIZE + i)));
        Ok(())
    }

    #[test]
    fn truncating_into_a_large_folio_leaves_only_pages_below_the_size() -> Result {
        let Some((_fs, file)) = large_folio_file(4)? else {
            return Ok(());
        };
        let sid = file.create_sid()?;
        // Clean first, as writeback would: ramfs never accounts a dirty
        // folio (noop_dirty_folio), but the split below "cleans" the dirty
        // pages past the new size with accounting (mm/huge_memory.c,
        // folio_account_cleaned), which would leave the global nr_dirty at
        // -10 for the rest of the boot.
        file.clean(0)?;
        // Cut the file in the middle of page 5: the folio is split or kept
        // and zeroed past the new size, as truncate_inode_partial_folio does.
        file.truncate(5 * PAGE_SIZE + 100)?;
        let mut buf = filled(PAGE_SIZE, 0)?;
        let attachment = kernel_attachment(&mut buf)?;
        for pno in 0..16 {
            let buffer = Ok(Buffer::new(&attachment, attachment.start()));
            match by_sid(sid.0, pno, 0, PAGE, READ, buffer) {
                Ok(()) => {
                    // A page past the new size is there only if the folio
                    // holding the new last page was kept whole.
                    let kept = file.folio(5).is_some_and(|f| f.contains(pno as usize));
                    assert!(pno <= 5 || kept);
                    let page = pno as usize * PAGE_SIZE;
                    let valid = (0..PAGE_SIZE).filter(|i| page + i < 5 * PAGE_SIZE + 100);
                    assert!(valid.into_iter().all(|i| buf[i] == pattern(page + i)));
                    let past = (0..PAGE_SIZE).filter(|i| page + i >= 5 * PAGE_SIZE + 100);
                    assert!(past.into_iter().all(|i| buf[i] == 0));
                }
                Err(e) => assert!(e == ENOENT && pno > 5),
            }
        }
        Ok(())
    }

    #[test]
    fn protzero_write_protects_a_live_shared_mapping() -> Result {
        if crate::test_fixture::skip_without_gup_fast() {
            return Ok(());
        }
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        let user = UserMemory::shared(&file, 2)?;
        user.store(PAGE_SIZE + 8, b"stored by user")?;
        assert!(user.writable_now(PAGE_SIZE));
        let before = crate::stats::get().write_protected_total();
        // A count of 0 protects nothing.
        by_sid(sid.0, 1, 0, 0, PROTZERO, Err(EINVAL))?;
        assert!(user.writable_now(PAGE_SIZE));
        by_sid(sid.0, 1, 0, 8, PROTZERO, Err(EINVAL))?;
        assert!(!user.writable_now(PAGE_SIZE));
        assert!(crate::stats::get().write_protected_total() > before);
        // The user still sees the data, zeroes included.
        let mut seen = [0xffu8; 22];
        user.load(PAGE_SIZE, &mut seen)?;
        assert_eq!(&seen[..8], &[0; 8]);
        assert_eq!(&seen[8..], b"stored by user");
        // The next store faults and makes the page writable again.
        user.store(PAGE_SIZE, b"again")?;
        assert!(user.writable_now(PAGE_SIZE));
        // Page 0 was never touched by PROTZERO.
        let mut page0 = [0u8; 4];
        user.load(0, &mut page0)?;
        assert!(page0.iter().enumerate().all(|(i, &b)| b == pattern(i)));
        Ok(())
    }

    #[test]
    fn protzero_nodirty_keeps_the_dirty_bits_of_the_page_tables() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        let user = UserMemory::shared(&file, 2)?;
        // A store through the mapping: its page-table entry is dirty.
        // Cleaning ramfs's folio (no writeback, so no `folio_mkclean`)
        // leaves that the only record of the store.
        user.store(PAGE_SIZE + 100, b"stored")?;
        file.clean(1)?;
        by_sid(sid.0, 1, 0, 8, PROTZERO | NODIRTY, Err(EINVAL))?;
        // `folio_mkclean` took the dirty bit out of the entry: it moved to
        // the folio, or the store would be lost to writeback.
        assert!(file.folio(1).ok_or(ENOENT)?.is_dirty());
        assert!(!user.writable_now(PAGE_SIZE));
        // No store since: nothing to keep, and NODIRTY dirties nothing.
        file.clean(1)?;
        by_sid(sid.0, 1, 8, 8, PROTZERO | NODIRTY, Err(EINVAL))?;
        assert!(!file.folio(1).ok_or(ENOENT)?.is_dirty());
        let mut seen = [0xffu8; 16];
        user.load(PAGE_SIZE, &mut seen)?;
        assert_eq!(seen, [0; 16]);
        Ok(())
    }

    /// Stores `data` at `addr` of the test thread's address space from a
    /// kthread, while `main` runs; returns what `main` returned and whether
    /// the store succeeded.
    fn store_from_kthread<R>(
        addr: usize,
        data: &'static [u8],
        main: impl FnOnce(&Atomic<bool>) -> R,
    ) -> Result<(R, bool)> {
        let mm = kernel::current!().mm().ok_or(EINVAL)?.as_raw() as usize;
        let (started, stored, ok) = (Atomic::new(false), Atomic::new(false), Atomic::new(false));
        let result = KThread::run(
            || {
                if started.xchg(true, Relaxed) {
                    sleep_ms(1);
                    return;
                }
                let mm = mm as *mut kernel::bindings::mm_struct;
                // SAFETY: The test thread's address space outlives the
                // kthread, which has none of its own.
                unsafe { kernel::bindings::kthread_use_mm(mm) };
                let mut writer = UserSlice::new(UserPtr::from_addr(addr), data.len()).writer();
                ok.store(writer.write_slice(data).is_ok(), Relaxed);
                // SAFETY: Taken just above.
                unsafe { kernel::bindings::kthread_unuse_mm(mm) };
                stored.store(true, Relaxed);
            },
            || main(&stored),
        )?;
        Ok((result, ok.load(Relaxed)))
    }

    /// Waits (a bounded while) for `cond`.
    fn wait_until(cond: impl Fn() -> bool) -> bool {
        for _ in 0..2000 {
            if cond() {
                return true;
            }
            sleep_ms(1);
        }
        cond()
    }

    /// Reads `buf.len()` bytes at `offset` of a folio the caller holds
    /// locked.
    fn peek_locked(folio: &crate::folio::LockedFolio, offset: usize, buf: &mut [u8]) -> Result {
        folio.for_each_piece(offset, buf.len(), |piece, done| {
            for (i, byte) in buf[done..done + piece.len()].iter_mut().enumerate() {
                // SAFETY: The piece is mapped for `piece.len()` bytes.
                *byte = unsafe { piece.addr().add(i).read_volatile() };
            }
            Ok(())
        })
    }

    /// Where pages must stay stable under I/O (`AS_STABLE_WRITES`, as on a
    /// device with integrity checksums), WRITE, ZERO and PROTZERO wait for
    /// the folio's writeback to end before they change its bytes; vm_mvc
    /// tests `PG_writeback` itself before it calls `folio_wait_stable`.
    #[test]
    fn modifying_commands_wait_for_writeback_where_pages_must_be_stable() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        // SAFETY: The test's file, which it keeps open.
        unsafe { sys::vm_mvc_mapping_set_stable_writes(file.mapping()) };
        let mut buf = filled(8, 0x11)?;
        let attachment = kernel_attachment(&mut buf)?;
        let at = attachment.start();
        for cmd in [WRITE, ZERO, PROTZERO, WRITE | NODIRTY] {
            file.clean(0)?;
            let folio = file.folio(0).ok_or(ENOENT)?;
            {
                let locked = file.lock(0)?;
                // SAFETY: The folio is locked, clean and not under
                // writeback, as `__folio_start_writeback` requires.
                unsafe { kernel::bindings::__folio_start_writeback(locked.as_ptr(), false) };
            }
            // CAST: the address crosses to the kthread; the test holds a
            // reference on the folio until the thread has stopped.
            let raw = folio.as_ptr() as usize;
            let (started, ended) = (Atomic::new(false), Atomic::new(false));
            let result = KThread::run(
                || {
                    if started.xchg(true, Relaxed) {
                        sleep_ms(1);
                        return;
                    }
                    // Long enough for a call that does not wait to return
                    // first; no timing is asserted.
                    sleep_ms(50);
                    ended.store(true, Relaxed);
                    // SAFETY: The folio was put under writeback above and
                    // is referenced by the test.
                    unsafe { kernel::bindings::folio_end_writeback(raw as *mut _) };
                },
                || by_sid(sid.0, 0, 0, 8, cmd, Ok(Buffer::new(&attachment, at))),
            )?;
            assert_eq!(result, Ok(()));
            // The call returned only after the writeback ended.
            assert!(ended.load(Relaxed));
            assert!(!file.folio(0).ok_or(ENOENT)?.is_writeback());
        }
        Ok(())
    }

    #[test]
    fn protzero_holds_stores_off_with_a_page_mkwrite_that_locks() -> Result {
        // ramfs's mappings use `filemap_page_mkwrite`, which locks the folio.
        let (_fs, file, _sid) = file_with_pages(1, pattern)?;
        let user = UserMemory::shared(&file, 1)?;
        user.store(0, b"x")?;
        let folio = file.lock(0)?;
        on_locked_folio_page(&folio, 0, 0, 8, PROTZERO, Err(EINVAL))?;
        let ((waited, writable, unchanged), ok) =
            store_from_kthread(user.addr(0), b"late", |stored| {
                // The store faults into `page_mkwrite`, which waits for the
                // folio lock with the entry still read-only.
                let waited = wait_until(|| folio.has_waiters()) && !stored.load(Relaxed);
                let writable = user.writable_now(0);
                let mut seen = [0xffu8; 8];
                let unchanged = peek_locked(&folio, 0, &mut seen).is_ok() && seen == [0; 8];
                drop(folio);
                wait_until(|| stored.load(Relaxed));
                (waited, writable, unchanged)
            })?;
        assert!(waited && !writable && unchanged && ok);
        let mut seen = [0u8; 8];
        user.load(0, &mut seen)?;
        assert_eq!(&seen, b"late\0\0\0\0");
        Ok(())
    }

    #[test]
    fn protzero_without_page_mkwrite_lets_stores_through() -> Result {
        if crate::test_fixture::skip_without_gup_fast() {
            return Ok(());
        }
        // shmem has no `page_mkwrite`: the write fault makes the entry
        // writable before it waits for the folio lock (mm/memory.c,
        // wp_page_shared), so PROTZERO holds no store off.
        let file = crate::test_fixture::TestFile::shmem(1)?;
        file.write(0, &[0x5a; 64])?;
        let sid = file.create_sid()?;
        let user = UserMemory::shared(&file, 1)?;
        user.store(0, b"x")?;
        let folio = file.lock(0)?;
        on_locked_folio_page(&folio, 0, 0, 8, PROTZERO, Err(EINVAL))?;
        assert!(!user.writable_now(0));
        let ((waited, writable, landed), ok) =
            store_from_kthread(user.addr(0), b"late", |stored| {
                let waited = wait_until(|| folio.has_waiters());
                let writable = user.writable_now(0);
                // A second store lands at once, the folio lock still held.
                let landed = writable && user.store(4, b"now!").is_ok() && {
                    let mut seen = [0u8; 4];
                    peek_locked(&folio, 4, &mut seen).is_ok() && &seen == b"now!"
                };
                drop(folio);
                wait_until(|| stored.load(Relaxed));
                (waited, writable, landed)
            })?;
        assert!(waited && writable && landed && ok);
        drop(sid);
        Ok(())
    }

    #[test]
    fn protzero_write_protects_a_pmd_mapped_shmem_thp() -> Result {
        #[cfg(not(CONFIG_TRANSPARENT_HUGEPAGE))]
        crate::test_fixture::skip(c"no transparent huge pages");
        #[cfg(CONFIG_TRANSPARENT_HUGEPAGE)]
        {
            const ORDER: u32 = kernel::bindings::HPAGE_PMD_ORDER;
            const PAGES: usize = 1 << ORDER;
            const LAST: usize = (PAGES - 1) * PAGE_SIZE;
            let fs = crate::test_fixture::HugeTmpfs::new()?;
            let file = fs.file(PAGES)?;
            // shmem's `get_unmapped_area` aligns the mapping for a PMD.
            let user = UserMemory::shared(&file, PAGES)?;
            // A store at the folio's first page faults one PMD-size folio
            // in (`huge=always`) and maps it whole by a writable PMD
            // (`do_set_pmd`); the store at page 5 goes through it.
            user.store(0, &[0x5a; 64])?;
            user.store(5 * PAGE_SIZE, &[0x5a; 512])?;
            let folio = file.folio(5).ok_or(ENOENT)?;
            if folio.order() != ORDER || folio.entire_mapcount() != 1 {
                crate::test_fixture::skip(c"no PMD-mapped shmem THP (no huge page to allocate)");
                return Ok(());
            }
            assert!(user.writable_now(0) && user.writable_now(5 * PAGE_SIZE));
            let sid = file.create_sid()?;
            by_sid(sid.0, 5, 100, 200, PROTZERO, Err(EINVAL))?;
            // The PMD is write-protected, not split: every page of the
            // folio, far from page 5 too, takes a write fault now.
            assert_eq!(folio.entire_mapcount(), 1);
            for at in [0, 5 * PAGE_SIZE, LAST] {
                assert!(!user.writable_now(at));
            }
            let mut seen = [0u8; 512];
            user.load(5 * PAGE_SIZE, &mut seen)?;
            assert!(seen[..100].iter().all(|&b| b == 0x5a));
            assert!(seen[100..300].iter().all(|&b| b == 0));
            assert!(seen[300..].iter().all(|&b| b == 0x5a));
            // shmem has no `page_mkwrite`: the next store faults (the PMD
            // is split, `wp_huge_pmd`) and goes through.
            user.store(5 * PAGE_SIZE + 100, b"again")?;
            let mut back = [0u8; 5];
            file.read(5 * PAGE_SIZE + 100, &mut back)?;
            assert_eq!(&back, b"again");
            drop(sid);
        }
        Ok(())
    }

    #[test]
    fn protzero_does_not_stop_a_pin_taken_before() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        let user = UserMemory::shared(&file, 2)?;
        // A writable pin of page 0, taken before PROTZERO (as a driver's
        // DMA buffer or an O_DIRECT read would hold one).
        let pinned = user.attach(0, 64, AttachFlags::USER_DEST)?;
        by_sid(sid.0, 0, 0, 64, PROTZERO, Err(EINVAL))?;
        assert!(!user.writable_now(0));
        // Writing through the pin still changes the page.
        by_sid(
            sid.0,
            1,
            0,
            64,
            READ,
            Ok(Buffer::new(&pinned, user.addr(0))),
        )?;
        assert!(!user.writable_now(0));
        drop(pinned);
        let mut page = [0u8; 64];
        file.read(0, &mut page)?;
        assert!(page
            .iter()
            .enumerate()
            .all(|(i, &b)| b == pattern(PAGE_SIZE + i)));
        Ok(())
    }

    #[test]
    fn protzero_write_protects_every_page_of_a_large_folio() -> Result {
        let Some((_fs, file)) = large_folio_file(4)? else {
            return Ok(());
        };
        if crate::test_fixture::skip_without_gup_fast() {
            return Ok(());
        }
        let sid = file.create_sid()?;
        let user = UserMemory::shared(&file, 16)?;
        user.store(3 * PAGE_SIZE, b"three")?;
        user.store(10 * PAGE_SIZE, b"ten")?;
        assert!(user.writable_now(3 * PAGE_SIZE) && user.writable_now(10 * PAGE_SIZE));
        // Zero 16 bytes of page 10: the whole folio loses write permission,
        // while only page 10's bytes change.
        by_sid(sid.0, 10, 0, 16, PROTZERO, Err(EINVAL))?;
        assert!(!user.writable_now(3 * PAGE_SIZE) && !user.writable_now(10 * PAGE_SIZE));
        let mut seen = [0u8; 16];
        user.load(10 * PAGE_SIZE, &mut seen)?;
        assert_eq!(seen, [0; 16]);
        user.load(3 * PAGE_SIZE, &mut seen[..5])?;
        assert_eq!(&seen[..5], b"three");
        Ok(())
    }

    #[test]
    fn user_buffer_spanning_three_pages_unaligned() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        let user = UserMemory::anonymous(4)?;
        let len = 3 * PAGE_SIZE - 200;
        let attachment = user.attach(100, len, AttachFlags::USER)?;
        // Three READs whose destinations cross the user page boundaries.
        for (k, at) in [
            (0usize, 100),
            (0, PAGE_SIZE - 1000),
            (1, 2 * PAGE_SIZE - 150),
        ]
        .iter()
        {
            let buffer = Ok(Buffer::new(&attachment, user.addr(*at)));
            by_sid(sid.0, *k as isize, 0, PAGE, READ, buffer)?;
            let mut got = filled(PAGE_SIZE, 0)?;
            user.load(*at, &mut got)?;
            assert!(got
                .iter()
                .enumerate()
                .all(|(i, &b)| b == pattern(k * PAGE_SIZE + i)));
        }
        // And a WRITE back from across a boundary, of the copy of page 0
        // that the second READ left at PAGE_SIZE - 1000.
        let buffer = Ok(Buffer::new(&attachment, user.addr(PAGE_SIZE - 1000)));
        by_sid(sid.0, 1, 0, PAGE, WRITE, buffer)?;
        assert!(page_is(&page_of(&file, 1)?, 1, 0..PAGE_SIZE, pattern));
        Ok(())
    }

    #[test]
    fn kmalloc_and_vmalloc_buffers() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        let mut kbuf = filled(PAGE_SIZE, 0)?;
        let katt = kernel_attachment(&mut kbuf)?;
        by_sid(
            sid.0,
            0,
            0,
            PAGE,
            READ,
            Ok(Buffer::new(&katt, katt.start())),
        )?;
        drop(katt);
        assert!(kbuf.iter().enumerate().all(|(i, &b)| b == pattern(i)));
        // A vmalloc buffer of three pages, used across a page boundary.
        let mut vbuf = VVec::from_elem(0x3cu8, 3 * PAGE_SIZE, GFP_KERNEL)?;
        // SAFETY: `vbuf` stays alive and untouched while attached.
        let vatt = unsafe {
            Attachment::kernel(
                vbuf.as_mut_ptr() as usize,
                vbuf.len(),
                crate::xmem::Access::BOTH,
            )
        }?;
        let at = vatt.start() + PAGE_SIZE + 100;
        by_sid(sid.0, 0, 0, PAGE, WRITE, Ok(Buffer::new(&vatt, at)))?;
        drop(vatt);
        assert!(page_of(&file, 0)?.iter().all(|&b| b == 0x3c));
        Ok(())
    }

    /// A kernel buffer that is the folio's own memory, where the copies
    /// go through the folio's address in the linear map (x86-64, User-Mode
    /// Linux): a WRITE and a READ whose destination lies 0x80 bytes after
    /// their source, in the same page, are moved as `memmove` would move
    /// them.  A front-to-back copy (x86's `memcpy`, which `memcpy_orig`
    /// picks here by the addresses' low bytes, and `rep movsb`) overwrites
    /// source bytes before it reads them; and an overlapping
    /// `copy_nonoverlapping` is undefined behaviour, a panic with
    /// `CONFIG_RUST_DEBUG_ASSERTIONS`.
    #[test]
    fn a_kernel_buffer_overlapping_the_folio_is_copied_as_memmove() -> Result {
        if !crate::folio::copies_inline() {
            crate::test_fixture::skip(c"kernel-buffer copies go through the C helpers here");
            return Ok(());
        }
        let (_fs, file, _sid) = file_with_pages(1, pattern)?;
        let folio = file.lock(0)?;
        // SAFETY: Page 0 of the locked, referenced folio.
        let page = unsafe { sys::vm_mvc_folio_page(folio.as_ptr(), 0) };
        // SAFETY: As above; without highmem (`copies_inline`) the address
        // stays the page's after the unmap: its place in the linear map.
        let base = unsafe { sys::vm_mvc_kmap_local_page(page) } as usize;
        // SAFETY: `base` came from `kmap_local_page` just above.
        unsafe { sys::vm_mvc_kunmap_local(base as *const _) };
        // SAFETY: The folio's own bytes, which stay allocated while it is
        // locked and referenced, beyond the detach below.
        let att = unsafe { Attachment::kernel(base, PAGE_SIZE, crate::xmem::Access::BOTH) }?;
        // WRITE bytes 0x10..0x210 of the page onto 0x90..0x290.
        on_locked_folio(
            &folio,
            0x90,
            0x200,
            WRITE,
            Ok(Buffer::new(&att, base + 0x10)),
        )?;
        // READ bytes 0x810..0xa10 onto 0x890..0xa90.
        on_locked_folio(
            &folio,
            0x810,
            0x200,
            READ,
            Ok(Buffer::new(&att, base + 0x890)),
        )?;
        drop(att);
        drop(folio);
        let page = page_of(&file, 0)?;
        let expected = |i: usize| match i {
            0x90..0x290 | 0x890..0xa90 => pattern(i - 0x80),
            _ => pattern(i),
        };
        assert!(page.iter().enumerate().all(|(i, &b)| b == expected(i)));
        Ok(())
    }

    #[test]
    fn buffer_that_maps_the_page_itself() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        let user = UserMemory::shared(&file, 1)?;
        let attachment = user.attach(0, PAGE_SIZE, AttachFlags::USER)?;
        // WRITE bytes 0..1000 of the page onto bytes 500..1500 of itself:
        // overlapping ranges of one page, copied as memmove would.
        by_sid(
            sid.0,
            0,
            500,
            1000,
            WRITE,
            Ok(Buffer::new(&attachment, user.addr(0))),
        )?;
        // READ bytes 600..700 onto 550..650 of the same page.
        by_sid(
            sid.0,
            0,
            600,
            100,
            READ,
            Ok(Buffer::new(&attachment, user.addr(550))),
        )?;
        drop(attachment);
        let page = page_of(&file, 0)?;
        let expected = |i: usize| match i {
            550..650 => pattern(i + 50 - 500),
            500..1500 => pattern(i - 500),
            _ => pattern(i),
        };
        assert!(page.iter().enumerate().all(|(i, &b)| b == expected(i)));
        Ok(())
    }

    /// Whether the file's first `len` bytes are the pattern, moved by
    /// `moved(i)` (the pattern position byte `i` now holds, if it moved).
    fn file_is(
        file: &crate::test_fixture::TestFile,
        len: usize,
        moved: impl Fn(usize) -> Option<usize>,
    ) -> Result<bool> {
        let mut bytes = filled(len, 0)?;
        file.read(0, &mut bytes)?;
        Ok(bytes
            .iter()
            .enumerate()
            .all(|(i, &b)| b == pattern(moved(i).unwrap_or(i))))
    }

    #[test]
    fn a_buffer_mapping_its_own_page_and_a_neighbour_is_copied_as_memmove() -> Result {
        const P: usize = PAGE_SIZE;
        let (_fs, file, sid) = file_with_pages(4, pattern)?;
        let user = UserMemory::shared(&file, 4)?;
        let attachment = user.attach(0, 4 * P, AttachFlags::USER)?;
        let at = |pos| Ok(Buffer::new(&attachment, user.addr(pos)));
        // READ bytes 3000..4000 of page 1 onto file bytes P + 3500..2P + 404:
        // the end of page 1 and the start of page 2, after the source.
        by_sid(sid.0, 1, 3000, 1000, READ, at(P + 3500))?;
        // WRITE onto bytes 200..1200 of page 1 from file bytes
        // P - 300..P + 700: the end of page 0 and the start of page 1, before
        // the destination.
        by_sid(sid.0, 1, 200, 1000, WRITE, at(P - 300))?;
        // READ bytes 100..1100 of page 3 onto file bytes 3P - 300..3P + 700:
        // before the source, so front to back.
        by_sid(sid.0, 3, 100, 1000, READ, at(3 * P - 300))?;
        drop(attachment);
        let moved = |i: usize| match i {
            i if (P + 200..P + 1200).contains(&i) => Some(i - 500),
            i if (P + 3500..2 * P + 404).contains(&i) => Some(i - 500),
            i if (3 * P - 300..3 * P + 700).contains(&i) => Some(i + 400),
            _ => None,
        };
        assert!(file_is(&file, 4 * P, moved)?);
        Ok(())
    }

    #[test]
    fn a_buffer_mapping_other_pages_of_a_large_folio_is_copied_as_memmove() -> Result {
        // One order-2 folio over pages 0 to 3, mapped whole as the buffer.
        let Some((_fs, file)) = large_folio_file(2)? else {
            return Ok(());
        };
        let user = UserMemory::shared(&file, 4)?;
        let attachment = user.attach(0, 4 * PAGE_SIZE, AttachFlags::USER)?;
        let folio = file.lock(0)?;
        // Folio bytes 1000..6000 onto 1600..6600, and 8200..13200 onto
        // 9000..14000: each crosses a page boundary, the destination after
        // the source.
        let at = |pos| Ok(Buffer::new(&attachment, user.addr(pos)));
        on_locked_folio(&folio, 1000, 5000, READ, at(1600))?;
        on_locked_folio(&folio, 9000, 5000, WRITE, at(8200))?;
        drop(folio);
        drop(attachment);
        let moved = |i: usize| match i {
            1600..6600 => Some(i - 600),
            9000..14000 => Some(i - 800),
            _ => None,
        };
        assert!(file_is(&file, 4 * PAGE_SIZE, moved)?);
        Ok(())
    }

    #[test]
    fn pinned_user_pages_are_dirtied_on_detach_only_after_receiving_data() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        // The user buffer is a shared mapping of page 1 of the file itself.
        let user = UserMemory::shared(&file, 2)?;
        for (cmd, receives) in [(WRITE, false), (READ, true)] {
            let attachment = user.attach(PAGE_SIZE, 64, AttachFlags::USER)?;
            // Pinned both ways, so for writing: that faulted the page
            // writable and dirtied it.
            file.clean(1)?;
            let buffer = Ok(Buffer::new(&attachment, user.addr(PAGE_SIZE)));
            by_sid(sid.0, 0, 0, 64, cmd, buffer)?;
            assert!(!file.folio(1).ok_or(ENOENT)?.is_dirty());
            drop(attachment);
            assert_eq!(file.folio(1).ok_or(ENOENT)?.is_dirty(), receives);
        }
        Ok(())
    }

    #[test]
    fn a_buffer_is_used_only_in_the_direction_attached_for() -> Result {
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        let user = UserMemory::anonymous(1)?;
        user.store(0, &[0x77; 16])?;
        let source = user.attach(0, 16, AttachFlags::USER_SOURCE)?;
        let buffer = Ok(Buffer::new(&source, user.addr(0)));
        assert_eq!(by_sid(sid.0, 0, 0, 16, READ, buffer), Err(EACCES));
        by_sid(
            sid.0,
            0,
            0,
            16,
            WRITE,
            Ok(Buffer::new(&source, user.addr(0))),
        )?;
        let dest = user.attach(0, 16, AttachFlags::USER_DEST)?;
        let buffer = Ok(Buffer::new(&dest, user.addr(0)));
        assert_eq!(by_sid(sid.0, 0, 16, 16, WRITE, buffer), Err(EACCES));
        by_sid(sid.0, 0, 32, 16, READ, Ok(Buffer::new(&dest, user.addr(0))))?;
        drop((source, dest));
        let mut seen = [0u8; 16];
        user.load(0, &mut seen)?;
        assert!(seen.iter().enumerate().all(|(i, &b)| b == pattern(32 + i)));
        let mut page = [0u8; 32];
        file.read(0, &mut page)?;
        assert_eq!(&page[..16], &[0x77; 16]);
        assert!(page[16..]
            .iter()
            .enumerate()
            .all(|(i, &b)| b == pattern(16 + i)));
        Ok(())
    }

    #[test]
    fn a_read_only_mapping_is_a_source() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        let user = UserMemory::shared_read_only(&file, 2)?;
        // FOLL_WRITE would fail on a PROT_READ mapping: only a source pins.
        assert_eq!(user.attach(0, 64, AttachFlags::USER).err(), Some(EFAULT));
        let source = user.attach(PAGE_SIZE, 64, AttachFlags::USER_SOURCE)?;
        // Page 1's first bytes onto page 0.
        by_sid(
            sid.0,
            0,
            0,
            64,
            WRITE,
            Ok(Buffer::new(&source, user.addr(PAGE_SIZE))),
        )?;
        drop(source);
        let mut page = [0u8; 64];
        file.read(0, &mut page)?;
        assert!(page
            .iter()
            .enumerate()
            .all(|(i, &b)| b == pattern(PAGE_SIZE + i)));
        Ok(())
    }

    #[test]
    fn a_source_pin_breaks_no_cow_and_dirties_nothing() -> Result {
        let (_fs, file, _sid) = file_with_pages(1, pattern)?;
        // A private mapping maps the file's own page until a write copies
        // it: pinning a source must not be that write.
        let private = UserMemory::private(&file, 1)?;
        let mut byte = [0u8; 1];
        private.load(0, &mut byte)?;
        let folio = file.folio(0).ok_or(ENOENT)?;
        let source = private.attach(0, 64, AttachFlags::USER_SOURCE)?;
        assert!(folio.maybe_dma_pinned());
        drop(source);
        // A destination does break it: the pin lands on the private copy.
        let dest = private.attach(0, 64, AttachFlags::USER_DEST)?;
        assert!(!folio.maybe_dma_pinned());
        drop(dest);
        // A shared mapping pinned as a source runs no `page_mkwrite`.
        file.clean(0)?;
        let shared = UserMemory::shared(&file, 1)?;
        let source = shared.attach(0, 64, AttachFlags::USER_SOURCE)?;
        assert!(!folio.is_dirty());
        drop(source);
        assert!(!folio.is_dirty());
        drop(shared.attach(0, 64, AttachFlags::USER_DEST)?);
        assert!(folio.is_dirty());
        Ok(())
    }

    #[test]
    fn folio_truncated_while_waiting_for_its_lock_is_enoent() -> Result {
        let (_fs, file, sid) = file_with_pages(2, pattern)?;
        let folio = file.folio(1).ok_or(ENOENT)?;
        let locked = file.lock(1)?;
        // 0 until the call returned, then 1 for success or the errno.
        let result = Atomic::new(0i32);
        let started = Atomic::new(false);
        let (result_ref, mapping) = (&result, file.mapping());
        let (waited, removed) = KThread::run(
            || {
                if started.xchg(true, Relaxed) {
                    sleep_ms(1);
                    return;
                }
                let ret = by_sid(sid.0, 1, 0, 16, ZERO, Err(EINVAL));
                result.store(ret.map_or_else(|e| e.to_errno(), |()| 1), Relaxed);
            },
            move || {
                // Let the kthread find the folio and sleep on its lock.
                for _ in 0..2000 {
                    if locked.has_waiters() {
                        break;
                    }
                    sleep_ms(1);
                }
                let waited = locked.has_waiters() && result_ref.load(Relaxed) == 0;
                // Truncate the folio out of the page cache under its lock,
                // as truncate_inode_pages does, then let the call go on.
                // SAFETY: The folio is locked and belongs to `mapping`.
                let removed = unsafe {
                    kernel::bindings::generic_error_remove_folio(mapping, locked.as_ptr())
                };
                drop(locked);
                (waited, removed)
            },
        )?;
        assert!(waited);
        assert_eq!(removed, 0);
        assert_eq!(result.load(Relaxed), ENOENT.to_errno());
        assert!(file.folio(1).is_none());
        // The call left the truncated folio alone: nothing zeroed.
        let orphan = crate::folio::Folio::lock(folio);
        orphan.for_each_piece(0, 16, |piece, done| {
            for i in 0..piece.len() {
                // SAFETY: The piece is mapped for `piece.len()` bytes.
                let b = unsafe { piece.addr().add(i).read_volatile() };
                assert_eq!(b, pattern(PAGE_SIZE + done + i));
            }
            Ok(())
        })?;
        Ok(())
    }

    #[test]
    fn concurrent_truncate_gives_the_data_or_enoent() -> Result {
        let (_fs, file, sid) = file_with_pages(4, pattern)?;
        let failures = Atomic::new(0u32);
        let (mut ok, mut enoent, mut other, mut wrong_data) = (0u32, 0u32, 0u32, 0u32);
        let mut buf = filled(PAGE_SIZE, 0)?;
        let attachment = kernel_attachment(&mut buf)?;
        let at = attachment.start();
        KThread::run(
            || {
                if file.truncate(0).is_err() || file.fill_pages(4, pattern).is_err() {
                    failures.add(1, Relaxed);
                }
            },
            || {
                // Until both outcomes were seen: the race did happen.
                for i in 0..200_000usize {
                    if i >= 2000 && ok > 0 && enoent > 0 {
                        break;
                    }
                    let pno = (i / 2) % 4;
                    let result = if i % 2 == 0 {
                        by_sid(sid.0, pno as isize, 0, 64, ZERO, Err(EINVAL))
                    } else {
                        let buffer = Ok(Buffer::new(&attachment, at));
                        by_sid(sid.0, pno as isize, 0, PAGE, READ, buffer).inspect(|()| {
                            // SAFETY: The buffer is this thread's; the READ
                            // that wrote it has returned.
                            let got =
                                unsafe { core::slice::from_raw_parts(at as *const u8, PAGE_SIZE) };
                            // Bytes 0..64 may have been zeroed since the
                            // page was written; the rest is the page's.
                            let expect = |i: usize| pattern(pno * PAGE_SIZE + i);
                            let bad = got
                                .iter()
                                .enumerate()
                                .any(|(i, &b)| b != expect(i) && (i >= 64 || b != 0));
                            wrong_data += u32::from(bad);
                        })
                    };
                    match result {
                        Ok(()) => ok += 1,
                        Err(e) if e == ENOENT => enoent += 1,
                        Err(_) => other += 1,
                    }
                }
            },
        )?;
        assert_eq!((other, wrong_data), (0, 0));
        assert_eq!(failures.load(Relaxed), 0);
        assert!(ok > 0 && enoent > 0);
        Ok(())
    }

    #[test]
    fn calls_racing_eviction_reach_the_page_or_fail_cleanly() -> Result {
        let fs = crate::test_fixture::RamFs::new()?;
        // The sid the kthread calls with: a live one, then the stale one
        // of the file just evicted; 0 before the first.
        let current = Atomic::new(0isize);
        let (ok, enoent, ebadf, other) = (
            Atomic::new(0u32),
            Atomic::new(0u32),
            Atomic::new(0u32),
            Atomic::new(0u32),
        );
        let mut buf = filled(64, 0)?;
        let attachment = kernel_attachment(&mut buf)?;
        let wait_for = |counter: &Atomic<u32>, from: u32| {
            for _ in 0..1000 {
                if counter.load(Relaxed) > from {
                    break;
                }
                sleep_ms(1);
            }
        };
        let rounds = KThread::run(
            || {
                let sid = current.load(Relaxed);
                if sid == 0 {
                    sleep_ms(1);
                    return;
                }
                for cmd in [ZERO, READ, WRITE, PROTZERO] {
                    let buffer = Ok(Buffer::new(&attachment, attachment.start()));
                    let counter = match by_sid(sid, 1, 0, 64, cmd, buffer) {
                        Ok(()) => &ok,
                        Err(e) if e == ENOENT => &enoent,
                        Err(e) if e == EBADF => &ebadf,
                        Err(_) => &other,
                    };
                    counter.add(1, Relaxed);
                }
            },
            || -> Result<u32> {
                let mut rounds = 0;
                for _ in 0..100 {
                    let victim = fs.tmpfile()?;
                    victim.fill_pages(2, pattern)?;
                    current.store(victim.create_inode_sid()?, Relaxed);
                    wait_for(&ok, ok.load(Relaxed));
                    // The last reference: evicted now, while the kthread
                    // calls; `evict_inode` deletes the sid first.
                    drop(victim);
                    // The slot is free: the next file likely gets it, and
                    // the stale sid must not reach that file.
                    let bystander = fs.tmpfile()?;
                    bystander.fill_pages(2, |i| pattern(i + 1))?;
                    let _bystander_sid = bystander.create_inode_sid()?;
                    wait_for(&ebadf, ebadf.load(Relaxed));
                    let mut page = filled(2 * PAGE_SIZE, 0)?;
                    bystander.read(0, &mut page)?;
                    if page.iter().enumerate().any(|(i, &b)| b != pattern(i + 1)) {
                        return Err(EUCLEAN);
                    }
                    rounds += 1;
                }
                Ok(rounds)
            },
        )??;
        assert_eq!(rounds, 100);
        assert_eq!(other.load(Relaxed), 0);
        assert!(ok.load(Relaxed) > 0 && ebadf.load(Relaxed) > 0);
        Ok(())
    }
}
