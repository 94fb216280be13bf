// SPDX-License-Identifier: GPL-2.0

//! The four vm_mvc commands, their flags, and the byte range of one page
//! they act on.

use crate::sys;
use kernel::{
    page::PAGE_SIZE,
    prelude::*, //
};

// CAST: small positive `#define`s of include/vm_mvc.h.
const NODIRTY: i32 = sys::VM_MVC_NODIRTY as i32;

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
    /// Decodes a raw `cmd` without its flags; anything but the four AIX
    /// values is `EINVAL`.
    #[inline]
    fn from_bits(cmd: i32) -> Result<Self> {
        // CAST: the AIX values of include/vm_mvc.h, small `#define`s.
        const ZERO: i32 = sys::VM_MVC_ZERO as i32;
        const READ: i32 = sys::VM_MVC_READ as i32;
        const WRITE: i32 = sys::VM_MVC_WRITE as i32;
        const PROTZERO: i32 = sys::VM_MVC_PROTZERO as i32;
        match cmd {
            ZERO => Ok(Self::Zero),
            READ => Ok(Self::Read),
            WRITE => Ok(Self::Write),
            PROTZERO => Ok(Self::ProtZero),
            _ => Err(EINVAL),
        }
    }

    /// Whether the command changes the page's bytes.
    pub(crate) fn changes_page(self) -> bool {
        self != Self::Read
    }
}

/// A decoded `cmd` argument: the command and its flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cmd {
    /// What to do.
    pub(crate) command: Command,
    /// Whether a command that changes the page dirties its folio (the
    /// default; `VM_MVC_NODIRTY` clears it).
    pub(crate) dirty: bool,
}

impl Cmd {
    /// Decodes a raw `cmd`: a command in the low byte, `VM_MVC_NODIRTY`
    /// above it; anything else is `EINVAL`.
    #[inline]
    pub(crate) fn from_raw(cmd: i32) -> Result<Self> {
        // Without `VM_MVC_NODIRTY`, any bit outside the command byte leaves
        // a value that is no command: one test covers both.
        Ok(Self {
            command: Command::from_bits(cmd & !NODIRTY)?,
            dirty: cmd & NODIRTY == 0,
        })
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
    #[inline]
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

    /// The command of a raw `cmd`, if it decodes.
    fn command(cmd: i32) -> Result<Command> {
        Cmd::from_raw(cmd).map(|cmd| cmd.command)
    }

    #[test]
    fn decodes_the_four_aix_commands() {
        assert_eq!(command(1), Ok(Command::Zero));
        assert_eq!(command(2), Ok(Command::Read));
        assert_eq!(command(3), Ok(Command::Write));
        assert_eq!(command(4), Ok(Command::ProtZero));
        assert!((1..=4).all(|cmd| Cmd::from_raw(cmd).is_ok_and(|cmd| cmd.dirty)));
    }

    #[test]
    fn nodirty_is_a_flag_on_any_command() {
        for cmd in 1..=4 {
            let flagged = Cmd::from_raw(cmd | NODIRTY);
            assert_eq!(flagged.map(|c| c.dirty), Ok(false));
            assert_eq!(flagged.map(|c| c.command), command(cmd));
        }
    }

    #[test]
    fn rejects_unknown_commands_and_flags() {
        for cmd in [
            0,
            5,
            0xff,
            -1,
            i32::MIN,
            i32::MAX,
            NODIRTY,
            1 | 0x200,
            1 | 0x1000_0000,
            3 | NODIRTY | 0x200,
            2 | NODIRTY | i32::MIN,
            4 | NODIRTY | 0x1_0000,
        ] {
            assert_eq!(Cmd::from_raw(cmd), Err(EINVAL));
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
