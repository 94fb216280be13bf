// SPDX-License-Identifier: GPL-2.0

//! The four vm_mvc commands, for both entry points.
//!
//! [`by_sid`] is AIX's `vm_mvc`: it looks the page up without creating it,
//! locks its folio, checks after locking that truncation did not take the
//! folio away, requires READ's source to be uptodate, and unlocks.
//! [`on_locked_folio`] is the same work on a folio the caller holds locked,
//! for a filesystem filling a !uptodate folio in `read_folio` or
//! `write_begin`: no lookup, no locking, no uptodate requirement.
//!
//! Every argument is checked before anything is touched, so a call that
//! fails changes neither the page nor the buffer.

use crate::{
    command::{Command, PageRange},
    folio::{Folio, LockedFolio},
    sid, stats,
    xmem::{Attachment, Direction},
};
use kernel::{page::PAGE_SIZE, prelude::*};

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

/// A checked request: the command, its bytes in the folio and in the buffer.
struct Request<'a> {
    cmd: Command,
    len: usize,
    /// The buffer and the offset in it, for READ and WRITE.
    buffer: Option<(&'a Attachment, usize)>,
}

impl<'a> Request<'a> {
    /// Checks the buffer against the command: READ and WRITE need one
    /// (`EINVAL` without), with `addr..addr + len` inside it (`EFAULT`), and
    /// READ needs one that may receive data (`EACCES`).  ZERO and PROTZERO
    /// ignore the buffer.
    fn new(cmd: Command, len: usize, buffer: Result<Buffer<'a>>) -> Result<Self> {
        let buffer = match cmd {
            Command::Zero | Command::ProtZero => None,
            Command::Read | Command::Write => {
                let Buffer { attachment, addr } = buffer?;
                let offset = attachment.locate(addr, len)?;
                if cmd == Command::Read && !attachment.can_receive() {
                    return Err(EACCES);
                }
                Some((attachment, offset))
            }
        };
        Ok(Self { cmd, len, buffer })
    }

    /// Does the work on `offset..offset + len` of a locked folio.
    fn run(&self, folio: &LockedFolio, offset: usize) -> Result {
        if self.len == 0 {
            return Ok(());
        }
        if self.cmd != Command::Read {
            folio.wait_stable();
        }
        match (self.cmd, self.buffer) {
            (Command::Zero, _) => folio.zero(offset, self.len)?,
            (Command::ProtZero, _) => {
                // Protect first: a store through a mapping after this point
                // faults, and `page_mkwrite` waits for the folio lock, so no
                // store slips in between zeroing and protecting.
                let cleaned = folio.mkclean();
                stats::write_protected(cleaned);
                folio.zero(offset, self.len)?;
            }
            (Command::Read, Some((buffer, at))) => {
                folio.for_each_piece(offset, self.len, |piece, done| {
                    buffer.copy(at + done, piece, Direction::ToBuffer)
                })?;
            }
            (Command::Write, Some((buffer, at))) => {
                folio.for_each_piece(offset, self.len, |piece, done| {
                    buffer.copy(at + done, piece, Direction::FromBuffer)
                })?;
                folio.flush_dcache();
            }
            (Command::Read | Command::Write, None) => return Err(EINVAL),
        }
        if self.cmd != Command::Read {
            // The filesystem marks the folio uptodate when all of it is
            // valid; vm_mvc only changed some bytes.
            folio.mark_dirty();
        }
        Ok(())
    }
}

/// Byte offset of page `index`, byte `pgoffs`, in a folio containing it.
///
/// For a large folio the page is one of several; the AIX boundary rule is
/// the base page's, checked by [`PageRange`].
fn offset_in_folio(folio: &Folio, index: usize, range: PageRange) -> usize {
    (index - folio.index()) * PAGE_SIZE + range.offset()
}

/// Page-cache index of AIX page number `pno`; `EINVAL` if negative.
fn page_index(pno: isize) -> Result<usize> {
    usize::try_from(pno).map_err(|_| EINVAL)
}

/// AIX `vm_mvc`: runs `cmd` on `count` bytes at `pgoffs` of page `pno` of
/// the file attached as `sid`.
///
/// Errors, all before anything changes: `EINVAL` for an unknown command, a
/// negative `pno`, `pgoffs` or `count`, a range crossing the end of the
/// page, or no attached buffer for READ/WRITE; `EFAULT` if the buffer range
/// is not inside the attached buffer; `EACCES` for READ into a read-only
/// buffer; `EBADF` if `sid` is not attached; `ENOENT` if the page is not in
/// the page cache or was truncated while vm_mvc waited for its lock;
/// `ENODATA` for READ of a folio that is not uptodate.  A count of 0 checks
/// all of that except the page lookup and returns 0.
pub(crate) fn by_sid(
    sid: isize,
    pno: isize,
    pgoffs: i32,
    count: i32,
    cmd: i32,
    buffer: Result<Buffer<'_>>,
) -> Result {
    kernel::task::might_sleep();
    let cmd = Command::from_raw(cmd)?;
    let range = PageRange::new(pgoffs, count)?;
    let index = page_index(pno)?;
    let request = Request::new(cmd, range.len(), buffer)?;
    let file = sid::lookup(sid)?;
    if range.len() == 0 {
        return Ok(());
    }
    loop {
        let folio = Folio::lock(file.find_folio(index)?);
        if folio.mapping() != file.mapping() {
            // Truncated (or invalidated) while we slept on the lock.
            return Err(ENOENT);
        }
        if !folio.contains(index) {
            // Split while we slept: look the page up again.
            continue;
        }
        if cmd == Command::Read && !folio.is_uptodate() {
            return Err(ENODATA);
        }
        return request.run(&folio, offset_in_folio(&folio, index, range));
    }
}

/// [`by_sid`] on a folio the caller holds locked, page `pno` of which is
/// addressed.
///
/// No uptodate requirement: the caller may be filling the folio.  `EINVAL`
/// if the folio is not locked or `pno` is not in it, otherwise the argument
/// errors of [`by_sid`].
pub(crate) fn on_locked_folio_page(
    folio: &LockedFolio,
    pno: isize,
    pgoffs: i32,
    count: i32,
    cmd: i32,
    buffer: Result<Buffer<'_>>,
) -> Result {
    kernel::task::might_sleep();
    let cmd = Command::from_raw(cmd)?;
    let range = PageRange::new(pgoffs, count)?;
    let index = page_index(pno)?;
    let request = Request::new(cmd, range.len(), buffer)?;
    if !folio.is_locked() || !folio.contains(index) {
        return Err(EINVAL);
    }
    request.run(folio, offset_in_folio(folio, index, range))
}

/// Runs `cmd` on any byte range of a locked folio: the folio-wide entry
/// point for large folios.  `EINVAL` if the range passes the folio's end or
/// the folio is not locked, otherwise the argument errors of [`by_sid`].
pub(crate) fn on_locked_folio(
    folio: &LockedFolio,
    offset: usize,
    count: usize,
    cmd: i32,
    buffer: Result<Buffer<'_>>,
) -> Result {
    kernel::task::might_sleep();
    let cmd = Command::from_raw(cmd)?;
    let end = offset.checked_add(count).ok_or(EINVAL)?;
    if end > folio.size() || !folio.is_locked() {
        return Err(EINVAL);
    }
    let request = Request::new(cmd, count, buffer)?;
    request.run(folio, offset)
}

/// AIX `vm_makep`: the folio of page `pno` of `sid`, found or created, and
/// returned locked with a reference.  A created folio is not uptodate; the
/// caller fills it (e.g. with [`on_locked_folio_page`]) and marks it.
///
/// `EINVAL` for a negative `pno`, `EFBIG` past the filesystem's maximum file
/// size, `EBADF` for a bad sid, `ENOMEM`.
pub(crate) fn make_page(sid: isize, pno: isize) -> Result<crate::folio::FolioLock> {
    kernel::task::might_sleep();
    let index = page_index(pno)?;
    let file = sid::lookup(sid)?;
    if !file.index_in_range(index) {
        return Err(EFBIG);
    }
    let folio = file.grab_folio(index)?;
    // FGP_STABLE: the caller is about to write the bytes.
    folio.wait_stable();
    Ok(folio)
}
