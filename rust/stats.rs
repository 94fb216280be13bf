// SPDX-License-Identifier: GPL-2.0

//! Counters for what vm_mvc did, shown in debugfs as `vm_mvc/stats`.
//!
//! Per command: calls, bytes moved or zeroed by successful calls, and
//! failures by error number; plus the live sids and the pages pinned for
//! attached user buffers, so that a leak shows as a number that does not go
//! back to zero.
//!
//! A successful call is counted per CPU, with preemption disabled around
//! two plain adds (`get_cpu_ptr` .. `put_cpu_ptr`): no locked instruction
//! and no cache line shared between CPUs on the fast path.  Not
//! `this_cpu_add`: where the architecture has no per-CPU instructions
//! (User-Mode Linux) it saves and restores interrupts around every add,
//! which costs 0.4 to 2 us there.
//!
//! Successes are counted only once somebody has read the counters: the
//! first sum of the per-CPU counters (a read of the debugfs file, or a
//! KUnit case) switches their counting on, for good.  Until then a
//! successful call pays one relaxed load and a branch instead of the
//! three out-of-line calls of `get_cpu_ptr` and `put_cpu_ptr`, so the
//! counters cost nothing where nobody looks at them, and every count read
//! as a difference between two reads is exact.
//! The rest are rare and stay relaxed global atomics: failures (a call's
//! count is its successes plus its failures), sids and pins.  They are
//! statistics, not synchronisation; a read of debugfs sums the CPUs.

use crate::{
    command::{Cmd, Command},
    sys,
};
use core::{
    cell::UnsafeCell,
    fmt,
    ptr,
    sync::atomic::{AtomicBool, Ordering}, //
};
use kernel::{
    bindings,
    cpu::{nr_cpu_ids, CpuId},
    cpumask::Cpumask,
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

/// Command slots: ZERO, READ, WRITE, PROTZERO, then an unknown command.
const SLOTS: usize = 5;

/// Failures of one command by error number; the last slot counts any
/// other error.
struct CommandErrors([Atomic<u64>; ERRNOS.len() + 1]);

impl CommandErrors {
    const fn new() -> Self {
        Self([const { Atomic::new(0) }; ERRNOS.len() + 1])
    }

    /// Failures of every kind.
    fn total(&self) -> u64 {
        self.0.iter().map(|count| count.load(Relaxed)).sum()
    }
}

/// Where a successful call of command slot `slot` is counted, and its
/// bytes, in the per-CPU block of [`CpuCounts`]: `u64` counters, calls
/// first.
const fn calls_counter(slot: usize) -> usize {
    slot
}

/// See [`calls_counter`].
const fn bytes_counter(slot: usize) -> usize {
    SLOTS + slot
}

/// `u64` counters in each CPU's block.
const CPU_COUNTERS: usize = 2 * SLOTS;

/// The per-CPU counters of successful calls.
///
/// # Invariants
///
/// In [`STATS`]: between [`init`] and the drop of its [`Registration`],
/// `block` is a per-CPU allocation of [`CPU_COUNTERS`] zeroed `u64`s (a
/// `__percpu` address, never dereferenced as such); null before and after.
/// It is written only then, when no vm_mvc call can run: module init,
/// before the exports can be called and before the KUnit suites run, and
/// module exit, after every user of the exports is gone.  (A KUnit case's
/// own instance holds its allocation for its whole life.)
///
/// `counting` goes from `false` to `true` at the first [`CpuCounts::sum`]
/// and never back.
struct CpuCounts {
    block: UnsafeCell<*mut u64>,
    /// Whether successes are counted: somebody has read the counters.
    counting: AtomicBool,
}

// SAFETY: The pointer is written only while no other thread can read it
// (type invariant); each CPU's counters are written only by that CPU with
// preemption disabled, and read elsewhere with volatile loads.
unsafe impl Sync for CpuCounts {}

impl CpuCounts {
    /// Counters with no block and counting off, as before [`init`].
    const fn new() -> Self {
        Self {
            block: UnsafeCell::new(ptr::null_mut()),
            counting: AtomicBool::new(false),
        }
    }

    /// The per-CPU block, or null outside init..exit.
    fn get(&self) -> *mut u64 {
        // SAFETY: Nothing writes the pointer while vm_mvc can be called or
        // debugfs read (type invariant).
        unsafe { *self.block.get() }
    }

    /// Whether successes are counted: the counters have been read (see the
    /// module documentation).
    #[inline(always)]
    fn is_counting(&self) -> bool {
        // Relaxed: a reader that switched counting on and then made (or
        // waited for, through any lock or wake-up) a call has ordered its
        // store before this load, which therefore sees it.
        self.counting.load(Ordering::Relaxed)
    }

    /// Counts, on this CPU, a successful call of command slot `slot` over
    /// `bytes` bytes, if the counters have been read.
    fn count_success(&self, slot: usize, bytes: u64) {
        if !self.is_counting() {
            return;
        }
        let block = self.get();
        if block.is_null() || slot >= SLOTS {
            return;
        }
        // SAFETY: `block` is a per-CPU allocation (type invariant);
        // preemption stays disabled until the `put_cpu_ptr` below.
        let mine = unsafe { sys::vm_mvc_get_cpu_ptr(block) };
        // Two adds written out: a loop over an array of the two made
        // three out-of-line calls of `IndexRange::len` at `opt-level=s`.
        //
        // vm_mvc runs in process context, never in an interrupt; other
        // CPUs only read with volatile loads (C's `READ_ONCE`).
        //
        // SAFETY: `mine` is this CPU's block of `CPU_COUNTERS` `u64`s, both
        // counters are below `CPU_COUNTERS` (`slot < SLOTS`), and only this
        // context writes them.
        unsafe {
            add_to(mine.add(calls_counter(slot)), 1);
            add_to(mine.add(bytes_counter(slot)), bytes);
        }
        // SAFETY: Ends the section `get_cpu_ptr` began.
        unsafe { sys::vm_mvc_put_cpu_ptr(block) };
    }

    /// Counter `counter` summed over the possible CPUs; switches the
    /// counting of successes on from now on.
    fn sum(&self, counter: usize) -> u64 {
        if !self.counting.load(Ordering::Relaxed) {
            // INVARIANT: `false` to `true`, never back.
            self.counting.store(true, Ordering::Relaxed);
        }
        let block = self.get();
        if block.is_null() || counter >= CPU_COUNTERS {
            return 0;
        }
        // SAFETY: `__cpu_possible_mask` is a valid cpumask for the kernel's
        // lifetime; it is only read.
        let possible = unsafe { Cpumask::from_raw(&raw const bindings::__cpu_possible_mask) };
        let mut total: u64 = 0;
        for cpu in 0..nr_cpu_ids() {
            let Some(cpu) = CpuId::from_u32(cpu) else {
                break;
            };
            if !possible.test(cpu) {
                continue;
            }
            // Another CPU may be adding to it: one volatile load, like C's
            // `READ_ONCE` in `percpu_counter_sum`.
            // SAFETY: `block` is a per-CPU allocation and `cpu` a possible
            // CPU, so this is that CPU's block of `CPU_COUNTERS` `u64`s.
            let count = unsafe {
                ptr::read_volatile(sys::vm_mvc_per_cpu_ptr(
                    block.wrapping_add(counter),
                    cpu.as_u32(),
                ))
            };
            total = total.wrapping_add(count);
        }
        total
    }
}

/// Adds `n` to the counter at `counter`, with volatile accesses.
///
/// # Safety
///
/// `counter` is a counter of this CPU's block that only the current
/// context writes (preemption disabled).
#[inline(always)]
unsafe fn add_to(counter: *mut u64, n: u64) {
    // SAFETY: The caller's guarantee.
    unsafe { ptr::write_volatile(counter, ptr::read_volatile(counter).wrapping_add(n)) };
}

/// A zeroed per-CPU block of [`CPU_COUNTERS`] `u64`s, to be freed with
/// `free_percpu`; `ENOMEM` without memory.
fn alloc_block() -> Result<*mut u64> {
    // CAST: a small array of `u64`s.
    let size = CPU_COUNTERS * core::mem::size_of::<u64>();
    // SAFETY: Allocating has no precondition; the memory is zeroed.
    let block = unsafe { sys::vm_mvc_alloc_percpu(size, core::mem::align_of::<u64>()) };
    if block.is_null() {
        return Err(ENOMEM);
    }
    Ok(block.cast())
}

/// Keeps the per-CPU counters allocated: made by [`init`] in module init,
/// dropped at module exit after the debugfs file that reads them.
pub(crate) struct Registration(());

/// Allocates the per-CPU counters; called once from module init, before
/// any user.  `ENOMEM` without memory.
pub(crate) fn init() -> Result<Registration> {
    let block = alloc_block()?;
    // SAFETY: Module init, before any vm_mvc call or debugfs read can run.
    //
    // INVARIANT: the allocation is published for init..exit.
    unsafe { *STATS.cpu.block.get() = block };
    Ok(Registration(()))
}

impl Drop for Registration {
    fn drop(&mut self) {
        let block = STATS.cpu.get();
        // SAFETY: Module exit, after the debugfs file is gone and with no
        // user of the exports left.
        //
        // INVARIANT: null again before the memory goes.
        unsafe { *STATS.cpu.block.get() = ptr::null_mut() };
        // SAFETY: `block` came from the per-CPU allocator in `init` and
        // nothing can use it any more.
        unsafe { bindings::free_percpu(block.cast()) };
    }
}

/// Every counter of the module.
pub(crate) struct Stats {
    /// Successful calls and their bytes, per CPU, by command slot.
    cpu: CpuCounts,
    /// Failures by command slot (ZERO, READ, WRITE, PROTZERO, unknown).
    errors: [CommandErrors; SLOTS],
    write_protected: Atomic<u64>,
    sids_created: Atomic<u64>,
    sids_deleted: Atomic<u64>,
    pages_pinned: Atomic<u64>,
    pages_unpinned: Atomic<u64>,
}

static STATS: Stats = Stats {
    cpu: CpuCounts::new(),
    errors: [const { CommandErrors::new() }; SLOTS],
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

/// Slot of a raw command value (flags included).
fn command_slot(cmd: i32) -> usize {
    match Cmd::from_raw(cmd).map(|cmd| cmd.command) {
        Ok(Command::Zero) => 0,
        Ok(Command::Read) => 1,
        Ok(Command::Write) => 2,
        Ok(Command::ProtZero) => 3,
        Err(_) => 4,
    }
}

/// Slot of `err` in a [`CommandErrors`]: its place in [`ERRNOS`], or
/// the last slot for any other error.
fn errno_slot(err: Error) -> usize {
    ERRNOS
        .iter()
        .position(|(known, _)| *known == err)
        .unwrap_or(ERRNOS.len())
}

/// Slot of the command of a call that succeeded, whose `cmd` therefore
/// decoded: the command bits alone say which.
#[inline]
fn success_slot(cmd: i32) -> usize {
    // CAST: small positive `#define`s of include/vm_mvc.h.
    const MASK: i32 = sys::VM_MVC_CMD_MASK as i32;
    const ZERO: i32 = sys::VM_MVC_ZERO as i32;
    const READ: i32 = sys::VM_MVC_READ as i32;
    const WRITE: i32 = sys::VM_MVC_WRITE as i32;
    const PROTZERO: i32 = sys::VM_MVC_PROTZERO as i32;
    match cmd & MASK {
        ZERO => 0,
        READ => 1,
        WRITE => 2,
        PROTZERO => 3,
        _ => 4,
    }
}

/// Counts one call of raw command `cmd` over `bytes` bytes and its result.
///
/// Until the counters are first read, a success costs the caller one load
/// and a branch: the command is decoded only out of line, after that test.
#[inline(always)]
pub(crate) fn record_call(cmd: i32, bytes: usize, result: &Result) {
    match result {
        Ok(()) => {
            if STATS.cpu.is_counting() {
                record_success(cmd, bytes);
            }
        }
        Err(err) => record_failure(cmd, *err),
    }
}

/// Counts a successful call of raw command `cmd` over `bytes` bytes, once
/// the counters have been read: out of the hot path.
#[cold]
#[inline(never)]
fn record_success(cmd: i32, bytes: usize) {
    // CAST: `usize` is 64 bits on every Linux target with Rust, or less.
    STATS.cpu.count_success(success_slot(cmd), bytes as u64);
}

/// Counts a failed call of raw command `cmd`.
#[cold]
fn record_failure(cmd: i32, err: Error) {
    STATS.errors[command_slot(cmd)].0[errno_slot(err)].add(1, Relaxed);
}

/// Counts user page-table entries write-protected by PROTZERO.
pub(crate) fn write_protected(entries: usize) {
    if entries != 0 {
        // CAST: see `record_call`.
        STATS.write_protected.add(entries as u64, Relaxed);
    }
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

    /// Calls of command slot `slot`: its successes and its failures.
    fn calls(&self, slot: usize) -> u64 {
        let failures = self.errors.get(slot).map_or(0, CommandErrors::total);
        self.cpu.sum(calls_counter(slot)).wrapping_add(failures)
    }

    /// Calls of the command of raw `cmd` and failures with `err` among them.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn calls_and_errors(&self, cmd: i32, err: Error) -> (u64, u64) {
        let slot = command_slot(cmd);
        let errors = self.errors[slot].0[errno_slot(err)].load(Relaxed);
        (self.calls(slot), errors)
    }

    /// Bytes of the successful calls of raw command `cmd`.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn bytes(&self, cmd: i32) -> u64 {
        self.cpu.sum(bytes_counter(command_slot(cmd)))
    }
}

/// The text of `/sys/kernel/debug/vm_mvc/stats`.
impl fmt::Debug for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; SLOTS] = ["zero", "read", "write", "protzero", "invalid_cmd"];
        for (slot, (name, errors)) in NAMES.iter().zip(self.errors.iter()).enumerate() {
            write!(
                f,
                "{name}: calls {} bytes {}",
                self.calls(slot),
                self.cpu.sum(bytes_counter(slot))
            )?;
            for (i, count) in errors.0.iter().enumerate() {
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
        let bytes = get().bytes(2);
        record_call(2, 100, &Ok(()));
        record_call(2, 7, &Err(ENOENT));
        record_call(2, 7, &Err(EIO));
        assert_eq!(get().calls_and_errors(2, ENOENT), (calls + 3, enoent + 1));
        assert_eq!(get().bytes(2), bytes + 100);
        let (_, other) = get().calls_and_errors(2, EIO);
        assert!(other >= 1);
        Ok(())
    }

    #[test]
    fn a_success_with_flags_counts_for_its_command() -> Result {
        // PROTZERO | NODIRTY is a PROTZERO call, counted on this CPU and
        // found in the sum over the CPUs.
        let (calls, _) = get().calls_and_errors(4, EINVAL);
        let bytes = get().bytes(4);
        for _ in 0..1000 {
            record_call(4 | 0x100, 3, &Ok(()));
        }
        assert_eq!(get().calls_and_errors(4, EINVAL).0, calls + 1000);
        assert_eq!(get().bytes(4), bytes + 3000);
        Ok(())
    }

    #[test]
    fn successes_are_counted_from_the_first_read_on() -> Result {
        // Counters of their own: the module's were read long ago.
        let block = alloc_block()?;
        let (first, second, other) = {
            // INVARIANT: the block is this instance's for its whole life.
            let counts = CpuCounts {
                block: UnsafeCell::new(block),
                counting: AtomicBool::new(false),
            };
            counts.count_success(1, 10);
            let first = (counts.sum(calls_counter(1)), counts.sum(bytes_counter(1)));
            counts.count_success(1, 10);
            counts.count_success(3, 5);
            let second = (counts.sum(calls_counter(1)), counts.sum(bytes_counter(1)));
            let other = (counts.sum(calls_counter(3)), counts.sum(bytes_counter(3)));
            (first, second, other)
        };
        // SAFETY: `block` came from `alloc_block` and its only user is gone.
        unsafe { bindings::free_percpu(block.cast()) };
        assert_eq!(first, (0, 0));
        assert_eq!(second, (1, 10));
        assert_eq!(other, (1, 5));
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
