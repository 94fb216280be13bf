// SPDX-License-Identifier: GPL-2.0

//! The four vm_mvc commands and the byte range of one page they act on.

use kernel::page::PAGE_SIZE;
use kernel::prelude::*;

/// What a vm_mvc call does to the page (m1) and the buffer (m2).
///
/// The raw values are AIX's, from `<sys/vmuser.h>`, and those of
/// `include/vm_mvc.h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// Zero bytes of the page (`VM_MVC_ZERO`).
    Zero,
    /// Copy bytes of the page to the buffer (`VM_MVC_READ`).
    Read,
    /// Copy bytes of the buffer to the page (`VM_MVC_WRITE`).
    Write,
    /// Zero bytes of the page and write-protect its user mappings (`VM_MVC_PROTZERO`).
    ProtZero,
}

impl Command {
    /// Decodes a raw command; anything but the four AIX values is `EINVAL`.
    pub(crate) fn from_raw(cmd: i32) -> Result<Self> {
        match cmd {
            1 => Ok(Self::Zero),
            2 => Ok(Self::Read),
            3 => Ok(Self::Write),
            4 => Ok(Self::ProtZero),
            _ => Err(EINVAL),
        }
    }
}

/// A byte range inside one base page.
///
/// # Invariants
///
/// `offset + len <= PAGE_SIZE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageRange {
    offset: usize,
    len: usize,
}

impl PageRange {
    /// Validates AIX's `pgoffs` and `count`.
    ///
    /// Negative values and ranges that cross the end of the page are `EINVAL`,
    /// as AIX says for an m1 object that "crosses page boundary".  An empty
    /// range is valid.
    pub(crate) fn new(pgoffs: i32, count: i32) -> Result<Self> {
        let offset = usize::try_from(pgoffs).map_err(|_| EINVAL)?;
        let len = usize::try_from(count).map_err(|_| EINVAL)?;
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > PAGE_SIZE {
            return Err(EINVAL);
        }
        // INVARIANT: `end <= PAGE_SIZE` was checked above.
        Ok(Self { offset, len })
    }

    /// First byte of the range, from the start of the page.
    pub(crate) fn offset(&self) -> usize {
        self.offset
    }

    /// Number of bytes in the range.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[kunit_tests(vm_mvc_command)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_four_aix_commands() {
        assert_eq!(Command::from_raw(1), Ok(Command::Zero));
        assert_eq!(Command::from_raw(2), Ok(Command::Read));
        assert_eq!(Command::from_raw(3), Ok(Command::Write));
        assert_eq!(Command::from_raw(4), Ok(Command::ProtZero));
    }

    #[test]
    fn rejects_unknown_commands() {
        for cmd in [0, 5, -1, i32::MIN, i32::MAX] {
            assert_eq!(Command::from_raw(cmd), Err(EINVAL));
        }
    }

    #[test]
    fn accepts_ranges_inside_the_page() {
        let page = i32::try_from(PAGE_SIZE).unwrap_or(i32::MAX);
        let whole = PageRange::new(0, page);
        assert_eq!(whole.map(|r| (r.offset(), r.len())), Ok((0, PAGE_SIZE)));
        let last = PageRange::new(page - 1, 1);
        assert_eq!(last.map(|r| (r.offset(), r.len())), Ok((PAGE_SIZE - 1, 1)));
        let empty_at_end = PageRange::new(page, 0);
        assert_eq!(empty_at_end.map(|r| r.len()), Ok(0));
    }

    #[test]
    fn rejects_ranges_crossing_the_page_or_negative() {
        let page = i32::try_from(PAGE_SIZE).unwrap_or(i32::MAX);
        assert_eq!(PageRange::new(1, page), Err(EINVAL));
        assert_eq!(PageRange::new(page, 1), Err(EINVAL));
        assert_eq!(PageRange::new(-1, 1), Err(EINVAL));
        assert_eq!(PageRange::new(0, -1), Err(EINVAL));
        assert_eq!(PageRange::new(i32::MAX, i32::MAX), Err(EINVAL));
    }
}
