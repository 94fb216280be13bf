// SPDX-License-Identifier: GPL-2.0

//! Counters for what vm_mvc did, shown in debugfs as `vm_mvc/stats`.
//!
//! Per command: calls, bytes moved or zeroed by successful calls, and
//! failures by error number; plus the live sids and the pages pinned for
//! attached user buffers, so that a leak shows as a number that does not go
//! back to zero.  The counters are relaxed atomics: they are statistics,
//! not synchronisation.

use crate::command::{Cmd, Command};
use core::fmt;
use kernel::{
    prelude::*,
    sync::atomic::{Atomic, Relaxed}, //
};

/// The error numbers vm_mvc returns, in the order they are counted.
const ERRNOS: [(Error, &str); 8] = [
    (EINVAL, "EINVAL"),
    (EBADF, "EBADF"),
    (ENOENT, "ENOENT"),
    (ENODATA, "ENODATA"),
    (EFAULT, "EFAULT"),
    (EACCES, "EACCES"),
    (ENOMEM, "ENOMEM"),
    (EFBIG, "EFBIG"),
];

/// Counters of one command.
struct CommandStats {
    calls: Atomic<u64>,
    bytes: Atomic<u64>,
    /// Failures by error number; the last slot counts any other error.
    errors: [Atomic<u64>; ERRNOS.len() + 1],
}

impl CommandStats {
    const fn new() -> Self {
        Self {
            calls: Atomic::new(0),
            bytes: Atomic::new(0),
            errors: [const { Atomic::new(0) }; ERRNOS.len() + 1],
        }
    }
}

/// Every counter of the module.
pub(crate) struct Stats {
    /// ZERO, READ, WRITE, PROTZERO, then calls with an unknown command.
    commands: [CommandStats; 5],
    write_protected: Atomic<u64>,
    sids_created: Atomic<u64>,
    sids_deleted: Atomic<u64>,
    pages_pinned: Atomic<u64>,
    pages_unpinned: Atomic<u64>,
}

static STATS: Stats = Stats {
    commands: [const { CommandStats::new() }; 5],
    write_protected: Atomic::new(0),
    sids_created: Atomic::new(0),
    sids_deleted: Atomic::new(0),
    pages_pinned: Atomic::new(0),
    pages_unpinned: Atomic::new(0),
};

/// The module's counters, for the debugfs file.
pub(crate) fn get() -> &'static Stats {
    &STATS
}

/// Slot of a raw command value (flags included) in `Stats::commands`.
fn command_slot(cmd: i32) -> usize {
    match Cmd::from_raw(cmd).map(|cmd| cmd.command) {
        Ok(Command::Zero) => 0,
        Ok(Command::Read) => 1,
        Ok(Command::Write) => 2,
        Ok(Command::ProtZero) => 3,
        Err(_) => 4,
    }
}

/// Slot of `err` in `CommandStats::errors`: its place in [`ERRNOS`], or
/// the last slot for any other error.
fn errno_slot(err: Error) -> usize {
    ERRNOS
        .iter()
        .position(|(known, _)| *known == err)
        .unwrap_or(ERRNOS.len())
}

/// Counts one call of raw command `cmd` over `bytes` bytes and its result.
pub(crate) fn record_call(cmd: i32, bytes: usize, result: &Result) {
    let stats = &STATS.commands[command_slot(cmd)];
    stats.calls.add(1, Relaxed);
    match result {
        // CAST: `usize` is 64 bits on every Linux target with Rust, or less.
        Ok(()) => stats.bytes.add(bytes as u64, Relaxed),
        Err(err) => stats.errors[errno_slot(*err)].add(1, Relaxed),
    }
}

/// Counts user page-table entries write-protected by PROTZERO.
pub(crate) fn write_protected(entries: usize) {
    // CAST: see `record_call`.
    STATS.write_protected.add(entries as u64, Relaxed);
}

/// Counts a created sid.
pub(crate) fn sid_created() {
    STATS.sids_created.add(1, Relaxed);
}

/// Counts a deleted sid.
pub(crate) fn sid_deleted() {
    STATS.sids_deleted.add(1, Relaxed);
}

/// Counts user pages pinned for an xmem descriptor.
pub(crate) fn pages_pinned(pages: usize) {
    // CAST: see `record_call`.
    STATS.pages_pinned.add(pages as u64, Relaxed);
}

/// Counts user pages unpinned.
pub(crate) fn pages_unpinned(pages: usize) {
    // CAST: see `record_call`.
    STATS.pages_unpinned.add(pages as u64, Relaxed);
}

impl Stats {
    /// User pages pinned now (pinned minus unpinned).
    pub(crate) fn pins_live(&self) -> u64 {
        let unpinned = self.pages_unpinned.load(Relaxed);
        self.pages_pinned.load(Relaxed).wrapping_sub(unpinned)
    }

    /// Sids live now.
    pub(crate) fn sids_live(&self) -> u64 {
        let deleted = self.sids_deleted.load(Relaxed);
        self.sids_created.load(Relaxed).wrapping_sub(deleted)
    }

    /// Page-table entries write-protected by PROTZERO so far.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn write_protected_total(&self) -> u64 {
        self.write_protected.load(Relaxed)
    }

    /// Calls of command slot `slot` and failures with `err` among them.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn calls_and_errors(&self, cmd: i32, err: Error) -> (u64, u64) {
        let stats = &self.commands[command_slot(cmd)];
        let errors = stats.errors[errno_slot(err)].load(Relaxed);
        (stats.calls.load(Relaxed), errors)
    }
}

/// The text of `/sys/kernel/debug/vm_mvc/stats`.
impl fmt::Debug for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 5] = ["zero", "read", "write", "protzero", "invalid_cmd"];
        for (name, stats) in NAMES.iter().zip(self.commands.iter()) {
            write!(
                f,
                "{name}: calls {} bytes {}",
                stats.calls.load(Relaxed),
                stats.bytes.load(Relaxed)
            )?;
            for (i, count) in stats.errors.iter().enumerate() {
                let count = count.load(Relaxed);
                if count != 0 {
                    let errno = ERRNOS.get(i).map_or("other", |(_, name)| name);
                    write!(f, " {errno} {count}")?;
                }
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "protzero_ptes_write_protected: {}",
            self.write_protected.load(Relaxed)
        )?;
        writeln!(
            f,
            "sids: created {} deleted {} live {}",
            self.sids_created.load(Relaxed),
            self.sids_deleted.load(Relaxed),
            self.sids_live()
        )?;
        writeln!(
            f,
            "user_pages: pinned {} unpinned {} live {}",
            self.pages_pinned.load(Relaxed),
            self.pages_unpinned.load(Relaxed),
            self.pins_live()
        )
    }
}

#[kunit_tests(vm_mvc_stats)]
mod tests {
    use super::*;
    use kernel::{prelude::fmt, str::CString};

    /// The debugfs text of the counters now.
    fn text() -> Result<CString> {
        CString::try_from_fmt(fmt!("{:?}", get()))
    }

    #[test]
    fn calls_bytes_and_errors_are_counted_per_command() -> Result {
        let (calls, enoent) = get().calls_and_errors(2, ENOENT);
        record_call(2, 100, &Ok(()));
        record_call(2, 7, &Err(ENOENT));
        record_call(2, 7, &Err(EIO));
        assert_eq!(get().calls_and_errors(2, ENOENT), (calls + 3, enoent + 1));
        let (_, other) = get().calls_and_errors(2, EIO);
        assert!(other >= 1);
        Ok(())
    }

    #[test]
    fn debugfs_text_names_every_counter() -> Result {
        record_call(1, 5, &Err(EINVAL));
        let text = text()?;
        let text = core::str::from_utf8(text.to_bytes()).map_err(|_| EINVAL)?;
        for name in [
            "zero: calls ",
            "read: calls ",
            "write: calls ",
            "protzero: calls ",
            "invalid_cmd: calls ",
            " EINVAL ",
            "protzero_ptes_write_protected: ",
            "sids: created ",
            "user_pages: pinned ",
        ] {
            assert!(text.contains(name));
        }
        Ok(())
    }
}
